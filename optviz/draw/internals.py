"""Optimizer internals at the heads, drawn to a stated scale: on the 2-D view
(:class:`HeadInternals`) and lifted onto the surface of the 3-D view
(:class:`HeadInternals3D`), to the same scales.

A run asked for its internals carries them (:attr:`Trajectory.internals
<optviz.optim.runner.Trajectory>`, :mod:`optviz.optim.internals`); at
iteration k, every head θ_k of such a run gets

- ``gradient``: an arrow of −∇f(θ_k) × :attr:`Scales.gradient`;
- ``velocity``: an arrow of v_k, the velocity carried into the next step,
  × :attr:`Scales.displacement`;
- ``step``: an arrow of θ_{k+1} − θ_k, the step the method takes from θ_k
  (where the head will be one iteration on), × :attr:`Scales.displacement`;
- ``lookahead``: a ring on the point where that step's gradient is taken
  (Nesterov's θ_k + αv_k, at its true place: no scale), a dotted line to it
  from the head, and the arrow of −∇f there, × :attr:`Scales.gradient`;
- ``scaling``: an ellipse round the head whose semi-axes are that step's
  per-coordinate factor ε/√(a + ν) (x and y) × :attr:`Scales.scaling`.

The scales are the config's (``animation.internals_scale``,
:class:`~optviz.draw.scene.InternalScales`) or round numbers (1, 2 or 5
times a power of ten) chosen once for the video from all its runs
(:func:`scales`): v and the step share one, so that they can be compared,
and it is 1 (arrows are the true displacements) unless the steps are too
small or too large to see; the legend states every scale. With the −∇f
scale ε times the step's, the step arrow of momentum is α times the v arrow
plus the −∇f arrow, tip to tail. Each artist is one collection for all heads,
updated every frame like the heads (the fast path draws it over the kept
pixels; nothing of it is static).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.collections import EllipseCollection, LineCollection
from matplotlib.lines import Line2D

from optviz.draw.scene import InternalScales

if TYPE_CHECKING:
    from optviz.optim.runner import Trajectory

# The colours of the kinds (the heads keep their optimizer's colour): far
# from the optimizers' Okabe–Ito palette, and from each other.
COLOURS = {
    "gradient": "#D81B60",  # magenta
    "velocity": "#00ACC1",  # cyan
    "step": "#212121",  # near black (white on a dark theme)
    "scaling": "#7E57C2",  # light violet
}
# What the ellipse's semi-axes are, as the legend names them: the lecture's
# factor ε/√(a + ν) (Adam's with its bias corrections), for its adaptive
# methods; torch's Adam kind applies ε/(1 − β1ᵗ)/(√â + ν) (RAdam, Adamax
# their own), so a legend with any of those says what all have in common.
LECTURE_FACTOR = "ε/√(a + ν)"
LECTURE_SCALING = frozenset({"adagrad", "rmsprop", "adam"})
OTHER_FACTOR = "step factor"


def scaling_factor(methods: Sequence[str]) -> str:
    """The name of the ellipses' semi-axes for runs of ``methods`` (those
    drawing a scaling; none known: the lecture's)."""
    return LECTURE_FACTOR if set(methods) <= LECTURE_SCALING else OTHER_FACTOR


# An automatic scale draws this quantile of the lengths of a kind (over
# every point of every run) at most TYPICAL of the view's shorter side: the
# round number at or below the scale that makes it so.
QUANTILE = 0.9
TYPICAL = 0.15
# An ellipse's semi-axes there, as a fraction of the view's shorter side.
WIDEST = 0.08
# The true displacements (scale 1) are drawn when their quantile is at
# least this fraction of the view's shorter side (and at most TYPICAL).
VISIBLE = 0.03
# Points: arrows' shaft width; the look-ahead ring's diameter.
_SHAFT = 1.6
_RING = 7.0
_Z = {  # above the landmarks' fills (6), under the heads (7)
    "scaling": 6.2,
    "lookahead_line": 6.3,
    "velocity": 6.4,
    "step": 6.5,
    "gradient": 6.6,
    "lookahead_gradient": 6.6,
    "lookahead": 6.7,
}


@dataclass(frozen=True)
class Scales:
    """What an arrow's or ellipse's length in data units is, per unit of the
    quantity it shows."""

    gradient: float = 1.0  # −∇f, at the head and at the look-ahead point
    displacement: float = 1.0  # v and the step
    scaling: float = 1.0  # the semi-axes: ε/√(a + ν) per coordinate


def round_down(x: float) -> float:
    """The largest of 1, 2, 5 times a power of ten that is ≤ ``x`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    for m in (5.0, 2.0, 1.0):
        if m * power <= x * (1 + 1e-12):
            return m * power
    return power  # pragma: no cover - x / power >= 1 always


def _typical(arrays: Sequence[np.ndarray | None]) -> float:
    """The :data:`QUANTILE` of the lengths of the finite rows of ``arrays``
    (0: none): what a long arrow of the video is, the few longest (the first
    steps, often) left out so that the rest are not drawn too small to see."""
    lengths = [np.hypot(a[:, 0], a[:, 1]) for a in arrays if a is not None]
    flat = np.concatenate(lengths) if lengths else np.zeros(0)
    flat = flat[np.isfinite(flat)]
    return float(np.quantile(flat, QUANTILE)) if flat.size else 0.0


def scales(
    trajectories: Sequence[Trajectory],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    given: InternalScales | None = None,
) -> Scales:
    """The scales of a video's internals: those ``given``, the others round
    numbers chosen from the runs (see the module docstring)."""
    given = given or InternalScales()
    span = min(abs(xlim[1] - xlim[0]), abs(ylim[1] - ylim[0]))
    runs = [t.internals for t in trajectories if t.internals is not None]

    def fit(typical: float, room: float) -> float:
        return round_down(room * span / typical) if typical > 0 else 1.0

    grads = [a for i in runs for a in (i.gradient, i.lookahead_gradient)]
    moves = [a for i in runs for a in (i.velocity, i.step)]
    move = _typical(moves)
    displacement = 1.0
    if move > 0 and not VISIBLE * span <= move <= TYPICAL * span:
        displacement = fit(move, TYPICAL)
    ellipse = _typical([i.scaling for i in runs])
    return Scales(
        gradient=given.gradient or fit(_typical(grads), TYPICAL),
        displacement=given.step or displacement,
        scaling=given.scaling or fit(ellipse, WIDEST / math.sqrt(2)),
    )


def _number(x: float) -> str:
    """A scale as the legend writes it: 0.01, 1, 200, 5e-05."""
    return f"{x:g}"


class HeadInternals:
    """The internals of every run that has them, on one 2-D axes: one
    collection per kind, moved to iteration k by :meth:`show` (the 3-D view's
    are :class:`HeadInternals3D`)."""

    def __init__(
        self,
        axes,
        trajectories: Sequence[Trajectory],
        colours: Sequence[str],
        scales: Scales,
        dark: bool = False,
    ) -> None:
        self.axes, self.scales = axes, scales
        self.runs = [t for t in trajectories if t.internals is not None]
        colour = dict(COLOURS)
        if dark:
            colour["step"] = "#F5F5F5"
        self.colour = colour
        held = {k for t in self.runs for k in t.internals.kinds}  # type: ignore[union-attr]
        self.kinds = tuple(k for k in _Z if k in held or _needs(k) in held)
        self.arrows: dict[str, Any] = {}
        self._with: dict[str, list[Trajectory]] = {}
        self.artists: list[Any] = []
        for kind in sorted(self.kinds, key=_Z.__getitem__):
            source = _source(kind)
            runs = [t for t in self.runs if getattr(t.internals, source) is not None]
            self._with[kind] = runs
            if not runs:
                continue
            made = self._make(kind, runs, colours)
            self.arrows[kind] = made[0]
            for n, artist in enumerate(made):  # an arrow's head over its shaft
                artist.set_zorder(_Z[kind] + 0.01 * n)
                self.artists.append(artist)
        # The fast path draws them in this order, a full draw by zorder.
        self.artists.sort(key=lambda artist: artist.get_zorder())
        self.show([len(t.points) - 1 for t in trajectories], trajectories)

    def _make(
        self, kind: str, runs: list[Trajectory], colours: Sequence[str]
    ) -> tuple[Any, ...]:
        return (self._make_one(kind, runs, colours),)

    def _make_one(self, kind: str, runs: list[Trajectory], colours: Sequence[str]):
        n = len(runs)
        origin = np.zeros((n, 2))
        if kind == "scaling":
            return self.axes.add_collection(
                EllipseCollection(
                    np.zeros(n), np.zeros(n), np.zeros(n), units="xy",
                    offsets=origin, offset_transform=self.axes.transData,
                    facecolors="none", edgecolors=self.colour["scaling"],
                    linewidths=1.4,
                ),
                autolim=False,
            )  # fmt: skip
        if kind == "lookahead_line":
            return self.axes.add_collection(
                LineCollection(
                    [np.zeros((2, 2)) for _ in range(n)],
                    colors=[colours[t.optimizer] for t in runs],
                    linewidths=1.0,
                    linestyles=(0, (1.5, 1.5)),
                ),
                autolim=False,
            )
        if kind == "lookahead":
            return self.axes.scatter(
                origin[:, 0], origin[:, 1], s=_RING**2, facecolors="none",
                edgecolors=[colours[t.optimizer] for t in runs], linewidths=1.6,
            )  # fmt: skip
        colour = self.colour["gradient" if "gradient" in kind else kind]
        dpi = self.axes.figure.dpi
        width = _SHAFT * dpi / 72
        return self.axes.quiver(
            origin[:, 0], origin[:, 1], np.zeros(n), np.zeros(n), angles="xy",
            scale_units="xy", scale=1.0, units="dots", width=width,
            headwidth=3.5, headlength=4.0, headaxislength=3.5, minlength=0.0,
            color=colour, edgecolor="white", linewidth=0.5,
        )  # fmt: skip

    def drawn(self, kind: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """What the runs having ``kind`` show at iteration ``k`` (each at
        its last point if it stopped before): for an arrow, its tails and
        its vectors in data coordinates (NaN, no step after the last point,
        drawn as nothing); for the look-ahead rings, their centres (twice);
        for the dotted lines, the heads and the offsets to the rings; for
        the ellipses, their centres and semi-axes. Each (runs, 2)."""
        runs = self._with.get(kind, [])
        return self._at(kind, [(t, min(k, len(t.points) - 1)) for t in runs])

    def _at(self, kind: str, where) -> tuple[np.ndarray, np.ndarray]:
        pieces = [geometry(kind, t, [i], self.scales) for t, i in where]
        tails = [p[0] for p in pieces if p is not None]
        vectors = [p[1] for p in pieces if p is not None]
        if not tails:
            return np.zeros((0, 2)), np.zeros((0, 2))
        return np.concatenate(tails), np.concatenate(vectors)

    def show(self, ends: Sequence[int], trajectories: Sequence[Trajectory]) -> None:
        """Move every artist to where the heads are: ``ends[i]`` is the
        index trajectory ``i`` of ``trajectories`` is at."""
        at = {id(t): n for t, n in zip(trajectories, ends)}
        for kind, artist in self.arrows.items():
            runs = self._with[kind]
            tails, vectors = self._at(kind, [(t, at[id(t)]) for t in runs])
            vectors = np.where(np.isfinite(vectors), vectors, 0.0)
            if kind == "scaling":
                artist.set_offsets(tails)
                artist.set_widths(2 * vectors[:, 0])
                artist.set_heights(2 * vectors[:, 1])
            elif kind == "lookahead":
                artist.set_offsets(tails)
            elif kind == "lookahead_line":
                artist.set_segments(np.stack([tails, tails + vectors], axis=1))
            else:
                artist.set_offsets(tails)
                artist.set_UVC(vectors[:, 0], vectors[:, 1])

    def legend_entries(self, factor: str = LECTURE_FACTOR) -> tuple[list, list[str]]:
        """The key: each kind drawn, with its scale; ``factor`` names what
        the ellipses' semi-axes are (:func:`scaling_factor`)."""
        s = self.scales
        handles: list[Any] = []
        names: list[str] = []

        def line(colour: str, **style) -> Line2D:
            return Line2D([], [], color=colour, linewidth=2.0, **style)

        kinds = set(self.arrows)
        if "gradient" in kinds or "lookahead_gradient" in kinds:
            handles.append(line(self.colour["gradient"]))
            names.append(f"arrow −∇f × {_number(s.gradient)}")
        if "velocity" in kinds:
            handles.append(line(self.colour["velocity"]))
            names.append(f"arrow velocity v × {_number(s.displacement)}")
        if "step" in kinds:
            handles.append(line(self.colour["step"]))
            names.append(f"arrow next step × {_number(s.displacement)}")
        if "lookahead" in kinds:
            handles.append(line("#757575", linestyle="none", marker="o",
                                markerfacecolor="none", markersize=_RING))  # fmt: skip
            names.append("look-ahead θ + αv (−∇f there)")
        if "scaling" in kinds:
            handles.append(line(self.colour["scaling"], linestyle="none",
                                marker="o", markerfacecolor="none",
                                markersize=9))  # fmt: skip
            names.append(f"ellipse {factor} per axis × {_number(s.scaling)}")
        return handles, names


def geometry(
    kind: str, trajectory: Trajectory, index: Sequence[int] | np.ndarray, s: Scales
) -> tuple[np.ndarray, np.ndarray] | None:
    """What ``kind`` is drawn as at the points ``index`` of ``trajectory``
    (as :meth:`HeadInternals.drawn` says), each (len(index), 2) in data
    coordinates: the tails and the vectors; None where the run does not
    hold it. The one place the 2-D geometry of the internals is made: the
    frames and the html player both draw it."""
    d = trajectory.internals
    if d is None or getattr(d, _source(kind)) is None:
        return None
    i = np.asarray(index, dtype=int)
    head = np.asarray(trajectory.points, dtype=float)[i].reshape(-1, 2)

    def at(name: str) -> np.ndarray:
        return np.asarray(getattr(d, name), dtype=float)[i].reshape(-1, 2)

    if kind == "gradient":
        return head, -at("gradient") * s.gradient
    if kind in ("velocity", "step"):
        return head, at(kind) * s.displacement
    if kind == "lookahead_gradient":
        return at("lookahead"), -at("lookahead_gradient") * s.gradient
    if kind == "lookahead":
        ahead = at("lookahead")
        return ahead, ahead.copy()
    if kind == "lookahead_line":
        return head, at("lookahead") - head
    return head, at("scaling") * s.scaling


def _source(kind: str) -> str:
    """The field of Internals a drawn kind reads."""
    return "lookahead" if kind == "lookahead_line" else kind


def _needs(kind: str) -> str:
    """The kind asked for that brings a drawn one."""
    return {"lookahead_line": "lookahead", "lookahead_gradient": "lookahead"}.get(
        kind, kind
    )


# -- on the surface in 3-D ---------------------------------------------------

# What is drawn on the surface floats this share of the box's height above
# it (the heads' path runs on it), so that the mesh does not cut it.
LIFT = 0.01
# Points along a shaft or a dotted line (it follows the surface), round an
# ellipse.
_ALONG = 12
_ROUND = 48
# An arrowhead: a triangle on the surface, as long as this share of the
# view's shorter side (at most _HEAD_SHARE of its arrow) and as wide as the
# 2-D arrows' heads for their length (quiver's 3.5 shaft widths to 4).
_HEAD = 0.035
_HEAD_SHARE = 0.4
_HEAD_WIDTH = 3.5 / 8  # half the width, to the length


class HeadInternals3D(HeadInternals):
    """The same internals on a 3-D view, lying on the surface: each point
    of the 2-D drawing (:meth:`HeadInternals.drawn`, the same stated scales)
    lifted to the height the surface is drawn at there, :data:`LIFT` above
    it. An arrow is a shaft sampled along its length (a
    :class:`~mpl_toolkits.mplot3d.art3d.Line3DCollection` for all heads) and a
    triangle at its tip (a ``Poly3DCollection``); the look-ahead rings a 3-D
    scatter; the dotted lines and the ellipses, closed, polylines. Every
    frame projects them with the camera of the frame, like the heads; what
    leaves the box is cut off there, and a piece with a non-finite point is
    dropped before matplotlib sees it."""

    def __init__(
        self,
        view,
        trajectories: Sequence[Trajectory],
        colours: Sequence[str],
        scales: Scales,
        dark: bool = False,
    ) -> None:
        self.view = view
        (x0, x1), (y0, y1), _ = view._box
        self.span = min(abs(x1 - x0), abs(y1 - y0))
        # What each kind drew at the last show: its pieces of polyline (n, 3)
        # and, for arrows, the triangles of their heads (3, 3), each with
        # the index of its run in the runs having the kind.
        self.pieces: dict[str, list[tuple[int, np.ndarray]]] = {}
        self.tips: dict[str, list[tuple[int, np.ndarray]]] = {}
        self._colours: dict[str, np.ndarray] = {}
        self._heads: dict[str, Any] = {}
        super().__init__(view.axes, trajectories, colours, scales, dark)

    def _make(
        self, kind: str, runs: list[Trajectory], colours: Sequence[str]
    ) -> tuple[Any, ...]:
        from matplotlib import colors as mcolors
        from matplotlib import patheffects
        from mpl_toolkits.mplot3d.art3d import (  # type: ignore[import-untyped]
            Line3DCollection,
            Poly3DCollection,
        )

        own = mcolors.to_rgba_array([colours[t.optimizer] for t in runs])
        if kind == "lookahead":
            self._colours[kind] = own
            # At finite places: a 3-D scatter drops the others when made.
            ring = self.axes.scatter(
                np.zeros(len(runs)), np.zeros(len(runs)), np.zeros(len(runs)),
                s=_RING**2, facecolors="none", edgecolors=own, linewidths=1.6,
                depthshade=False,
            )  # fmt: skip
            return (ring,)
        if kind == "lookahead_line":
            self._colours[kind] = own
            line = Line3DCollection(
                [], colors=own, linewidths=1.0, linestyles=(0, (1.5, 1.5))
            )
            return (self.axes.add_collection3d(line, autolim=False),)
        if kind == "scaling":
            line = Line3DCollection([], colors=self.colour["scaling"], linewidths=1.4)
            return (self.axes.add_collection3d(line, autolim=False),)
        colour = self.colour["gradient" if "gradient" in kind else kind]
        # A white rim, as the 2-D arrows have, keeps them apart from the mesh.
        rim = [patheffects.Stroke(linewidth=_SHAFT + 1.0, foreground="white"),
               patheffects.Normal()]  # fmt: skip
        shaft = Line3DCollection(
            [], colors=colour, linewidths=_SHAFT, path_effects=rim,
            capstyle="butt",
        )  # fmt: skip
        # No white edge on the head: it would cut across the shaft's end.
        head = Poly3DCollection(
            [], facecolors=colour, edgecolors=colour, linewidths=0.5
        )
        self._heads[kind] = self.axes.add_collection3d(head, autolim=False)
        return (self.axes.add_collection3d(shaft, autolim=False), self._heads[kind])

    def show(self, ends: Sequence[int], trajectories: Sequence[Trajectory]) -> None:
        at = {id(t): n for t, n in zip(trajectories, ends)}
        for kind, artist in self.arrows.items():
            runs = self._with[kind]
            tails, vectors = self._at(kind, [(t, at[id(t)]) for t in runs])
            if kind == "lookahead":
                points = self.view.lift(tails, LIFT)
                keep = np.flatnonzero(np.isfinite(points).all(axis=1))
                self.pieces[kind] = [(int(i), points[i : i + 1]) for i in keep]
                artist._offsets3d = tuple(points[keep].T)
                artist.set_edgecolors(self._colours[kind][keep])
            elif kind == "scaling":
                turn = np.linspace(0.0, 2 * np.pi, _ROUND + 1)
                ring = np.column_stack((np.cos(turn), np.sin(turn)))
                rims = tails[:, None, :] + vectors[:, None, :] * ring
                self._lines(kind, artist, self.view.lift(rims, LIFT))
            elif kind == "lookahead_line":
                lines = self._along(tails, vectors)
                lines[~np.any(vectors != 0, axis=1)] = np.nan  # no line: v = 0
                self._lines(kind, artist, lines)
            else:
                self._arrows(kind, artist, tails, vectors)
        if self.axes.M is not None:  # projected: drawn once before
            for artist in self.artists:
                artist.do_3d_projection()

    def _along(self, tails: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """(runs, :data:`_ALONG`, 3): from each tail along its vector, on
        the surface."""
        t = np.linspace(0.0, 1.0, _ALONG)[None, :, None]
        return self.view.lift(tails[:, None, :] + t * vectors[:, None, :], LIFT)

    def _lines(self, kind: str, artist, polylines: np.ndarray) -> None:
        """Set ``artist``'s lines to the finite pieces of ``polylines``
        (runs, points, 3), each in its run's colour."""
        pieces = [(i, p) for i, line in enumerate(polylines) for p in _finite(line)]
        self.pieces[kind] = pieces
        artist.set_segments([p for _, p in pieces])
        if kind in self._colours:
            artist.set_color(self._colours[kind][[i for i, _ in pieces]])

    def _arrows(self, kind: str, shafts, tails, vectors) -> None:
        """Arrows from ``tails`` along ``vectors`` (runs, 2): the shaft to
        the base of the head, the head's tip at the tail plus the vector."""
        length = np.hypot(vectors[:, 0], vectors[:, 1])
        with np.errstate(all="ignore"):
            unit = vectors / length[:, None]
        head = np.minimum(_HEAD * self.span, _HEAD_SHARE * length)[:, None]
        base = tails + vectors - head * unit
        across = np.column_stack((-unit[:, 1], unit[:, 0])) * head * _HEAD_WIDTH
        drawn = np.isfinite(length) & (length > 0)
        lines = self._along(tails, base - tails)
        lines[~drawn] = np.nan
        self._lines(kind, shafts, lines)
        corners = self.view.lift(
            np.stack([tails + vectors, base + across, base - across], axis=1), LIFT
        )
        keep = drawn & np.isfinite(corners).all(axis=(1, 2))
        self.tips[kind] = [(int(i), corners[i]) for i in np.flatnonzero(keep)]
        self._heads[kind].set_verts([c for _, c in self.tips[kind]])


def _finite(line: np.ndarray) -> list[np.ndarray]:
    """The runs of at least two finite points of a polyline (n, 3)."""
    ok = np.isfinite(line).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(int), [0]))))
    return [line[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]
