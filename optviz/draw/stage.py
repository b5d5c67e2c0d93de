"""What an interactive player draws of a scene: a :class:`Stage`.

A video's frames are pixels; a player in a browser draws each frame
itself, over pictures the :class:`~optviz.draw.figure.Renderer` drew once.
:func:`stage` takes them from the very figure that draws the video, laid
out as for the video, so that the player's frames land on the video's
pixels:

- the pictures (RGBA): ``backdrop``, the static layer (contours, axes, title,
  the panels' axes, the gradient field: everything a frame starts from);
  ``under``, the landmarks' fills and the starts' rings (drawn over the
  lines, under the heads); ``over``, the outlines of minima and saddles
  (over the heads); ``legend``, the legend cropped to its box (it sits on
  top of everything);
- the transform from data to pixels of the 2-D view: its axes' pixel box and
  data limits (linear on both axes: a 2-D view has no other scale), in canvas
  pixels (origin at the top left, y down);
- each run's points, decimated (:func:`decimate`), with f and ‖∇f‖ there;
  each panel's curves in its own pixels (panels have log and symlog scales:
  the curves are mapped here, not in the browser);
- the optimizers' internals at the heads (:mod:`optviz.draw.internals`),
  at the same kept points as the heads: each :class:`Mark` (an arrow, the
  look-ahead ring and its dotted line, the scaling ellipse) with its colour
  and widths read off the artist that draws it in the frames, and each
  run's values of it; the decimation keeps a point wherever any of them
  moves, so heads and internals are never out of step;
- the sizes and colours of lines and heads, the iteration counter's place
  and font, each legend entry's box, the frame schedule;
- the captions drawn in the frame (``captions.draw``), as :class:`Caption`
  boxes: each set of captions that some frame of the video shows at once,
  drawn once by the frame's own :meth:`~optviz.draw.figure.Renderer.caption`
  onto a transparent canvas and cut to its box, with the motion frames that
  show it.

:meth:`Stage.to_json` gives the numbers as JSON values, the player's
schema; the pictures stay arrays for a writer to encode.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from optviz.draw.backdrop import styled
from optviz.draw.internals import geometry
from optviz.draw.scene import Player
from optviz.draw.views import _RING, HEAD_SIZE

if TYPE_CHECKING:
    from optviz.draw.figure import Renderer

# Heads' white rims (points), as View.add_heads draws them.
_HEAD_EDGE = 1.2


@dataclass(frozen=True)
class Box:
    """A rectangle in canvas pixels: origin at the top left, y down."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def of(cls, bbox, height: float) -> Box:
        """The box of a matplotlib display ``bbox`` (origin bottom left) on a
        canvas ``height`` pixels high."""
        return cls(bbox.x0, height - bbox.y1, bbox.x1, height - bbox.y0)

    def to_json(self) -> list[float]:
        return [_px(self.left), _px(self.top), _px(self.right), _px(self.bottom)]


@dataclass(frozen=True)
class Run:
    """One optimizer from one start, at its kept iterations ``kept``."""

    optimizer: int
    start: int
    kept: np.ndarray  # (m,) int, increasing, from 0 to the last index
    points: np.ndarray  # (m, 2) data coordinates
    loss: np.ndarray  # (m,)
    grad_norm: np.ndarray  # (m,)
    width: float  # line width, pixels
    status: str
    iterations: int  # the iteration it stopped at (Trajectory.stopped_at)
    # what the internals' marks are drawn to at each kept point, by the
    # names of Mark.at and Mark.to: an arrow's tip, the look-ahead point, an
    # ellipse's semi-axes (data units); each (m, 2), NaN where nothing is
    internals: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Curve:
    """One run's curve on a panel, in canvas pixels, at iterations ``kept``."""

    panel: int
    optimizer: int
    kept: np.ndarray  # (m,) int
    pixels: np.ndarray  # (m, 2), NaN where the curve has a gap
    width: float  # pixels


@dataclass(frozen=True)
class Mark:
    """One kind of the internals as the frames draw it (one artist for all
    heads): from the point ``at`` (``head``, or a run's internals of that
    name) to ``to`` (an arrow, a dotted line), or round ``at`` with the
    semi-axes ``to`` (an ellipse), or a ring on ``at``. Sizes in pixels."""

    kind: str  # the artist's kind (HeadInternals.arrows)
    shape: str  # "arrow", "dots", "ring" or "ellipse"
    at: str
    to: str
    colour: str | None  # #rrggbb; None: the optimizer's colour
    width: float  # an arrow's shaft; the line of the others
    # an arrow's head (width, length, length at the shaft) and its shortest
    # shaft, as multiples of the shaft's width (matplotlib's quiver)
    head: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    edge: str = "#ffffff"  # an arrow's rim
    edge_width: float = 0.0
    size: float = 0.0  # a ring's diameter
    dash: tuple[float, ...] = ()  # the dotted line's dashes and gaps
    # Whether an arrow that fits in the frame is drawn from the centre of
    # the pixel ``at`` is in (canvas x and y: floor(v + 0.5) + 0.5):
    # matplotlib draws a collection of one path with one face and one edge
    # colour, smaller than the figure, as a marker, and Agg puts markers
    # there (measured: a quiver of one rimmed arrow moves by whole pixels,
    # one of two arrows does not).
    snap: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": self.shape,
            "at": self.at,
            "to": self.to,
            "colour": self.colour,
            "width": _px(self.width),
            "head": [_px(v) for v in self.head],
            "edge": self.edge,
            "edge_width": _px(self.edge_width),
            "size": _px(self.size),
            "dash": [_px(v) for v in self.dash],
            "snap": self.snap,
        }


@dataclass(frozen=True)
class Caption:
    """The captions that motion frames ``first`` to ``stop - 1`` of the video
    show (indices into :attr:`Stage.frames`), in their order, as the frame
    draws them in one box: ``pieces``, each a picture's name among
    :attr:`Stage.pictures` and the canvas pixel of its top left corner,
    drawn in order (the box, then the ink of its lines)."""

    first: int
    stop: int
    texts: tuple[str, ...]
    pieces: tuple[tuple[str, int, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "stop": self.stop,
            "texts": list(self.texts),
            "pieces": [list(p) for p in self.pieces],
        }


@dataclass(frozen=True)
class Entry:
    """An optimizer: its legend label, colour, and its entry's box in the
    legend (None when the legend does not show it)."""

    label: str
    colour: str  # #rrggbb
    box: Box | None


@dataclass(frozen=True)
class Counter:
    """Where and how the iteration counter is written: its text's right
    end and baseline, in canvas pixels, and its glyphs as matplotlib draws
    them (None: a browser font writes it)."""

    x: float
    y: float
    size: float  # font size, pixels
    family: str
    colour: str
    align: str  # "right", "left" or "center"
    glyphs: Glyphs | None = None


@dataclass(frozen=True)
class Glyphs:
    """The counter ``prefix + digits`` as matplotlib lays it out, from
    pictures of its pieces: the prefix, and each character of ``chars``
    (digits and the thousands comma), cut out of matplotlib's own drawing.

    With hinting, every advance is a whole number of pixels, so a text is
    the pieces side by side: the prefix's ink starts at column ``left``
    less the text's width beyond ``width`` (the counter is right-aligned;
    the width is what matplotlib aligns by: ``end[c]`` for a prefix and
    one character ``c``, plus ``advance`` of every character before the
    last); each character's picture starts ``offset`` columns on, plus the
    advances before it. The pictures share rows ``top`` to ``top + height``.
    :meth:`compose` does this in Python; the player does the same.
    """

    prefix: str
    chars: str
    atlas: np.ndarray  # (height, n, 4) RGBA: the prefix, then each character
    spans: tuple[
        tuple[int, int], ...
    ]  # (first column in the atlas, width), prefix first
    offset: int  # columns from the prefix's first to a character's picture
    advance: tuple[int, ...]  # per character of chars
    end: tuple[int, ...]  # per character: the width of prefix + it
    left: int
    width: int
    top: int

    def layout(self, text: str) -> list[tuple[int, int]] | None:
        """Where each piece of ``prefix + digits`` goes: (its index in
        :attr:`spans`, its first column), or None if it holds another
        character."""
        digits = text[len(self.prefix) :]
        if not text.startswith(self.prefix) or not digits:
            return None
        index = [self.chars.find(c) for c in digits]
        if min(index) < 0:
            return None
        width = self.end[index[-1]] + sum(self.advance[i] for i in index[:-1])
        start = self.left - (width - self.width)
        pieces, pen = [(0, start)], start + self.offset
        for i in index:
            pieces.append((i + 1, pen))
            pen += self.advance[i]
        return pieces

    def compose(self, text: str, size: tuple[int, int]) -> np.ndarray:
        """``text`` drawn from the pieces onto a transparent (h, w, 4) canvas
        (pieces do not overlap: each is copied as it is)."""
        w, h = size
        out = np.zeros((h, w, 4), dtype=np.uint8)
        pieces = self.layout(text)
        if pieces is None:
            raise ValueError(f"{text!r} is not the prefix and digits")
        rows = slice(self.top, self.top + self.atlas.shape[0])
        for i, column in pieces:
            first, width = self.spans[i]
            piece = self.atlas[:, first : first + width]
            ink = piece[..., 3] > 0
            out[rows, column : column + width][ink] = piece[ink]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "chars": self.chars,
            "spans": [list(s) for s in self.spans],
            "offset": self.offset,
            "advance": list(self.advance),
            "end": list(self.end),
            "left": self.left,
            "width": self.width,
            "top": self.top,
            "height": int(self.atlas.shape[0]),
        }


@dataclass(frozen=True)
class Stage:
    """Everything a player draws, as the video draws it."""

    size: tuple[int, int]
    title: str
    fps: int
    frames: tuple[int, ...]  # the iteration each motion frame of the video shows
    last: int  # the last iteration of any run
    axes: Box  # the 2-D view's axes, with limits xlim and ylim
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    panels: tuple[Box, ...]
    runs: tuple[Run, ...]
    curves: tuple[Curve, ...]
    optimizers: tuple[Entry, ...]
    head: float  # a head's diameter, pixels
    ring: float  # how much wider a head under another optimizer's is, pixels
    edge: float  # a head's white rim, pixels
    counter: Counter
    legend: Box | None  # where the legend picture goes
    legend_face: str  # the legend's face colour (#rrggbb), to grey out entries
    background: str  # the figure's face colour
    player: Player
    pictures: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)
    marks: tuple[Mark, ...] = ()  # the internals, in the order drawn
    captions: tuple[Caption, ...] = ()  # in the order of their frames

    def to_json(self) -> dict[str, Any]:
        """The numbers of the stage as JSON values: the player's data.

        Data coordinates and values keep 7 significant digits (a
        ten-millionth of the window: far below a pixel), pixels two decimals;
        a missing value (a gap, NaN or ±∞) is null.
        """
        return {
            "version": 1,
            "size": list(self.size),
            "title": self.title,
            "fps": self.fps,
            "frames": list(self.frames),
            "last": self.last,
            "axes": {
                "box": self.axes.to_json(),
                "xlim": _numbers(self.xlim),
                "ylim": _numbers(self.ylim),
            },
            "panels": [p.to_json() for p in self.panels],
            "runs": [
                {
                    "optimizer": r.optimizer,
                    "start": r.start,
                    "k": r.kept.tolist(),
                    "x": _numbers(r.points[:, 0]),
                    "y": _numbers(r.points[:, 1]),
                    "f": _numbers(r.loss),
                    "g": _numbers(r.grad_norm),
                    "width": _px(r.width),
                    "status": r.status,
                    "iterations": r.iterations,
                    **(
                        {
                            "internals": {
                                name: {
                                    "x": _numbers(values[:, 0]),
                                    "y": _numbers(values[:, 1]),
                                }
                                for name, values in r.internals.items()
                            }
                        }
                        if r.internals
                        else {}
                    ),
                }
                for r in self.runs
            ],
            "curves": [
                {
                    "panel": c.panel,
                    "optimizer": c.optimizer,
                    "k": c.kept.tolist(),
                    "x": _pixels(c.pixels[:, 0]),
                    "y": _pixels(c.pixels[:, 1]),
                    "width": _px(c.width),
                }
                for c in self.curves
            ],
            "optimizers": [
                {
                    "label": e.label,
                    "colour": e.colour,
                    "box": e.box.to_json() if e.box else None,
                }
                for e in self.optimizers
            ],
            "head": {"size": _px(self.head), "ring": _px(self.ring)},
            "edge": _px(self.edge),
            "counter": {
                "x": _px(self.counter.x),
                "y": _px(self.counter.y),
                "size": _px(self.counter.size),
                "family": self.counter.family,
                "colour": self.counter.colour,
                "align": self.counter.align,
                "glyphs": (
                    self.counter.glyphs.to_json() if self.counter.glyphs else None
                ),
            },
            "legend": self.legend.to_json() if self.legend else None,
            "legend_face": self.legend_face,
            "background": self.background,
            "marks": [m.to_json() for m in self.marks],
            "captions": [c.to_json() for c in self.captions],
            "tolerance": self.player.tolerance,
            "options": {
                "autoplay": self.player.autoplay,
                "speed": self.player.speed,
                "scrubber": self.player.scrubber,
            },
        }


def _numbers(values, digits: int = 7) -> list[float | None]:
    """``values`` rounded to ``digits`` significant digits (shortest repr
    that keeps them), None where not finite."""
    return [
        float(f"{v:.{digits}g}") if math.isfinite(v) else None
        for v in np.asarray(values, dtype=float).ravel().tolist()
    ]


def _pixels(values) -> list[float | None]:
    return [
        round(v, 2) if math.isfinite(v) else None
        for v in np.asarray(values, dtype=float).ravel().tolist()
    ]


def _px(v: float) -> float:
    return round(float(v), 3)


def decimate(
    pixels: np.ndarray, tolerance: float, keep: Sequence[int] = ()
) -> np.ndarray:
    """The indices of the points of a path to keep, in increasing order.

    ``pixels`` is the path, (n, 2), where it is drawn, or (n, m, 2): m
    points drawn at each point of the path (a head, and the tips of its
    arrows), a point of the path being far when any of them is. The first and the
    last point are kept, every index of ``keep`` (the frames' own
    iterations), and each point that is not finite or comes right before
    one (where the line breaks); after each kept point, the next one kept
    is the first that lies more than ``tolerance`` pixels from it (or is
    one of those). So every dropped point lies within ``tolerance`` of the kept
    point before it: the line through the kept points runs within
    ``tolerance`` of the path, and a head drawn at the last kept point at or
    before an iteration is within ``tolerance`` of where that iteration
    has it.
    """
    p = np.asarray(pixels, dtype=float)
    p = p.reshape(len(p), -1, 2) if p.ndim > 1 else p.reshape(-1, 1, 2)
    n = len(p)
    if n <= 2:
        return np.arange(n)
    forced = np.zeros(n, dtype=bool)
    index = np.asarray(keep, dtype=int)
    forced[index[(index >= 0) & (index < n)]] = True
    forced[[0, n - 1]] = True
    finite = np.all(np.isfinite(p), axis=(1, 2))
    forced |= ~finite
    forced[:-1] |= ~finite[1:]  # a line ends before a gap where the path does
    kept = [0]
    i = 0
    limit = tolerance * tolerance
    while i < n - 1:
        if not finite[i]:
            j = i + 1  # after a gap, the next point starts the line again
        else:
            lo, size, j = i + 1, 8, -1
            while j < 0:
                hi = min(n, lo + size)
                step = p[lo:hi] - p[i]
                with np.errstate(invalid="ignore"):
                    far = (step * step).sum(axis=2).max(axis=1) > limit
                hits = np.flatnonzero(far | forced[lo:hi])
                if hits.size:
                    j = lo + int(hits[0])
                lo, size = hi, size * 2
        kept.append(j)
        i = j
    return np.asarray(kept, dtype=int)


@styled
def stage(renderer: Renderer, frames: Sequence[int], player: Player) -> Stage:
    """The :class:`Stage` of ``renderer``'s scene, whose video shows the
    iterations ``frames`` (its motion frames), decimated to
    ``player.tolerance`` pixels.

    Call it on a renderer that has drawn nothing yet, or between frames: it
    draws into the figure's buffer and leaves it as the static layer.
    """
    import matplotlib as mpl

    if len(renderer.views) != 1 or renderer.views[0].depth:
        raise ValueError("a player shows the 2-D view only")
    with mpl.rc_context(dict(renderer.look.rc)):  # type: ignore[arg-type]
        return _stage(renderer, frames, player)


def _stage(renderer: Renderer, frames: Sequence[int], player: Player) -> Stage:
    from matplotlib.colors import to_hex

    w, h = renderer.size
    view = renderer.views[0]
    axes = view.axes
    px_per_pt = renderer.figure.dpi / 72
    schedule = np.asarray(list(frames), dtype=int)
    tol = player.tolerance

    runs = []
    marks = _marks(renderer)
    for t, line in zip(renderer.trajectories, view.lines):
        last = len(t.points) - 1
        shown = np.minimum(schedule, last)
        held = _drawn(renderer, t)
        moving, breaks = _moving(view, t.points, held, marks)
        kept = decimate(moving, tol, np.concatenate([shown, breaks]).tolist())
        runs.append(
            Run(
                optimizer=t.optimizer,
                start=t.start,
                kept=kept,
                points=np.asarray(t.points, dtype=float)[kept],
                loss=np.asarray(t.loss, dtype=float)[kept],
                grad_norm=np.asarray(t.grad_norm, dtype=float)[kept],
                width=line.get_linewidth() * px_per_pt,
                status=t.status.value,
                iterations=t.stopped_at,
                internals={name: values[kept] for name, values in held.items()},
            )
        )

    curves = []
    panel_axes = list(renderer.panels)
    for line, curve, t in renderer.panel_tracks():
        i = panel_axes.index(line.axes)
        drawn = line.axes.transData.transform(np.asarray(curve, dtype=float))
        drawn = np.column_stack((drawn[:, 0], h - drawn[:, 1]))
        shown = np.minimum(schedule, len(curve) - 1)
        kept = decimate(drawn, tol, shown)
        curves.append(
            Curve(
                panel=i,
                optimizer=t.optimizer,
                kept=kept,
                pixels=drawn[kept],
                width=line.get_linewidth() * px_per_pt,
            )
        )

    legend = renderer.legend
    boxes: dict[int, Box] = {}
    shown_optimizers = sorted({t.optimizer for t in renderer.trajectories})
    legend_box = None
    face = "#ffffff"
    if legend is not None:
        legend_box = Box.of(legend.get_window_extent().padded(2), h)
        face = to_hex(legend.get_frame().get_facecolor(), keep_alpha=False)
        for i, text, handle in zip(
            shown_optimizers, legend.get_texts(), legend.legend_handles
        ):
            a, b = text.get_window_extent(), handle.get_window_extent()
            boxes[i] = Box(
                min(a.x0, b.x0) - 2,
                h - max(a.y1, b.y1) - 2,
                max(a.x1, b.x1) + 2,
                h - min(a.y0, b.y0) + 2,
            )
    labels = renderer.scene.labels
    optimizers = tuple(
        Entry(
            labels[i] if i < len(labels) else f"optimizer {i}",
            to_hex(renderer.colours[i]),
            boxes.get(i),
        )
        for i in range(len(renderer.colours))
    )

    text = renderer.counter
    anchor = text.get_transform().transform(text.get_position())
    glyphs = counter_glyphs(renderer)
    counter = Counter(
        x=float(anchor[0]),
        y=float(h - anchor[1]),
        size=text.get_fontsize() * px_per_pt,
        family=text.get_fontfamily()[0],
        colour=to_hex(text.get_color()),
        align=text.get_horizontalalignment(),
        glyphs=glyphs,
    )
    pictures = renderer.layers()
    captions, boxes_drawn = caption_boxes(renderer, schedule.tolist())
    pictures.update(boxes_drawn)
    if glyphs is not None:
        pictures["glyphs"] = glyphs.atlas
    if legend_box is not None:
        top, left = (
            max(0, math.floor(legend_box.top)),
            max(0, math.floor(legend_box.left)),
        )
        bottom = min(h, math.ceil(legend_box.bottom))
        right = min(w, math.ceil(legend_box.right))
        pictures["legend"] = pictures["legend"][top:bottom, left:right]
        legend_box = Box(left, top, right, bottom)
    (x0, x1), (y0, y1) = axes.get_xlim(), axes.get_ylim()
    return Stage(
        size=(w, h),
        title=renderer.scene.title or "",
        fps=renderer.scene.timeline.fps,
        frames=tuple(int(k) for k in schedule),
        last=renderer.last,
        axes=Box.of(axes.bbox, h),
        xlim=(float(x0), float(x1)),
        ylim=(float(y0), float(y1)),
        panels=tuple(Box.of(p.bbox, h) for p in panel_axes),
        runs=tuple(runs),
        curves=tuple(curves),
        optimizers=optimizers,
        head=HEAD_SIZE * px_per_pt,
        ring=_RING * px_per_pt,
        edge=_HEAD_EDGE * px_per_pt,
        counter=counter,
        legend=legend_box,
        legend_face=face,
        background=to_hex(renderer.figure.get_facecolor(), keep_alpha=False),
        player=player,
        pictures=pictures,
        marks=marks,
        captions=captions,
    )


_SHAPES = {"lookahead": "ring", "lookahead_line": "dots", "scaling": "ellipse"}


def _marks(renderer: Renderer) -> tuple[Mark, ...]:
    """The internals' marks, in the order the frames draw them, each styled
    as its artist is (so that the page draws what the frames draw)."""
    from matplotlib.colors import to_hex

    internals = renderer.internals
    if internals is None:
        return ()
    pt = renderer.figure.dpi / 72
    out = []
    artists = sorted(internals.arrows.items(), key=lambda a: a[1].get_zorder())
    for kind, artist in artists:
        shape = _SHAPES.get(kind, "arrow")
        width = float(artist.get_linewidth()[0]) * pt
        if shape == "arrow":
            face, edge = artist.get_facecolor(), artist.get_edgecolor()
            mark = Mark(
                kind,
                shape,
                at="lookahead" if kind == "lookahead_gradient" else "head",
                to=kind,
                colour=to_hex(face[0], keep_alpha=False),
                width=float(artist.width),  # units="dots": pixels
                head=(
                    artist.headwidth,
                    artist.headlength,
                    artist.headaxislength,
                    artist.minshaft,
                ),
                edge=to_hex(edge[0], keep_alpha=False),
                edge_width=width,
                snap=len(artist.get_offsets()) == 1 and _filled(face) and _filled(edge),
            )
        elif shape == "ring":
            size = math.sqrt(float(artist.get_sizes()[0])) * pt
            mark = Mark(kind, shape, "lookahead", "lookahead", None, width, size=size)
        elif shape == "dots":
            _, dashes = artist.get_linestyle()[0]
            dash = tuple(float(d) * pt for d in dashes or ())
            mark = Mark(kind, shape, "head", "lookahead", None, width, dash=dash)
        else:
            colour = to_hex(artist.get_edgecolor()[0], keep_alpha=False)
            mark = Mark(kind, shape, "head", kind, colour, width)
        out.append(mark)
    return tuple(out)


def _filled(colours) -> bool:
    """Whether any of an artist's RGBA ``colours`` is drawn (not transparent)."""
    c = np.asarray(colours, dtype=float).reshape(-1, 4)
    return bool(c.size and np.any(c[:, 3] > 0))


def _drawn(renderer: Renderer, t) -> dict[str, np.ndarray]:
    """What run ``t``'s marks are drawn to at each of its points (the names
    of :attr:`Mark.to`; :attr:`Run.internals`), each (n, 2)."""
    internals = renderer.internals
    if internals is None or t.internals is None:
        return {}
    every = np.arange(len(t.points))
    out = {}
    for kind in internals.arrows:
        if _SHAPES.get(kind) == "dots":  # to the look-ahead point
            continue
        made = geometry(kind, t, every, internals.scales)
        if made is None:
            continue
        tails, vectors = made
        out[kind] = vectors if kind in ("scaling", "lookahead") else tails + vectors
    return out


def _moving(
    view, points, drawn: Mapping[str, np.ndarray], marks: Sequence[Mark]
) -> tuple[np.ndarray, np.ndarray]:
    """What moves on screen at each point of a path, (n, m, 2) pixels: the
    head and every point its marks are drawn through (an ellipse's, its
    centre plus its semi-axes); a mark not drawn (NaN) counts as the head.
    And the points where a mark appears or goes, which the page must keep."""
    head = view.pixels(points)
    moving, shown = [head], []
    for mark in marks:
        if mark.to not in drawn or (mark.at != "head" and mark.at not in drawn):
            continue
        to = np.asarray(drawn[mark.to], dtype=float)
        if mark.shape == "ellipse":
            at, to = head, view.pixels(np.asarray(points, dtype=float) + to)
        else:
            at = head if mark.at == "head" else view.pixels(drawn[mark.at])
            to = view.pixels(to)
        ok = np.all(np.isfinite(at), axis=1) & np.all(np.isfinite(to), axis=1)
        moving += [np.where(ok[:, None], at, head), np.where(ok[:, None], to, head)]
        shown.append(ok)
    breaks = np.zeros(len(head), dtype=bool)
    for ok in shown:
        breaks[1:] |= ok[1:] != ok[:-1]
    return np.stack(moving, axis=1), np.flatnonzero(breaks)


def caption_boxes(
    renderer: Renderer, frames: Sequence[int]
) -> tuple[tuple[Caption, ...], dict[str, np.ndarray]]:
    """The captions that the video of ``renderer``'s scene draws in its motion
    frames (which show the iterations ``frames``), as :class:`Caption` boxes,
    and their pictures by name (``caption.0``, ...). Each distinct set of
    captions on a frame is drawn by :meth:`Renderer.caption` onto a
    transparent canvas twice, its box alone and its text alone (Agg's
    pixels are not premultiplied: drawn over a frame, box then text, they
    give the frame's pixels), each cut to its ink; the text is cut again
    into its rows of ink, a line each, so that a line shown in several boxes
    is kept once (hinted text sits on whole pixels: the same line is the
    same pixels in every box). None where the captions are not drawn in the
    frame (``captions.draw: false``)."""
    from optviz.draw.captions import cues, shown_on

    scene = renderer.scene
    captions = scene.captions
    if captions is None or not captions.drawn or not captions.items:
        return (), {}
    timeline = scene.timeline
    motion = [int(k) for k in frames]
    placed = cues(captions.items, timeline.sequence(motion), timeline.fps)
    intro = timeline.intro_frames
    # Runs of consecutive motion frames that show the same captions.
    spans: list[tuple[int, int, tuple[str, ...]]] = []
    for f in range(len(motion)):
        texts = shown_on(placed, intro + f)
        if spans and spans[-1][1] == f and spans[-1][2] == texts:
            spans[-1] = (spans[-1][0], f + 1, texts)
        elif texts:
            spans.append((f, f + 1, texts))
    canvas = renderer.canvas
    pixels = np.asarray(canvas.buffer_rgba())
    images: dict[str, np.ndarray] = {}
    named: dict[tuple[tuple[int, ...], bytes], str] = {}

    def kept(image: np.ndarray, top: int, left: int) -> tuple[str, int, int]:
        key = (image.shape, image.tobytes())
        if key not in named:
            named[key] = f"caption.{len(named)}"
            images[named[key]] = image
        return named[key], left, top

    def drawn(texts: tuple[str, ...], box: bool) -> np.ndarray:
        pixels[...] = 0
        return np.array(renderer.caption(texts, box=box, text=not box), copy=True)

    pieces: dict[tuple[str, ...], tuple[tuple[str, int, int], ...]] = {}
    try:
        for _, _, texts in spans:
            if texts in pieces:
                continue
            face = drawn(texts, box=True)
            (top, bottom), (left, right) = _ink(face[..., 3] > 0)
            made = [kept(face[top:bottom, left:right], top, left)]
            ink = drawn(texts, box=False)
            rows = ink[..., 3].any(axis=1)
            # each run of rows with ink: a line of text
            edges = np.flatnonzero(np.diff(np.concatenate([[0], rows, [0]])))
            for top, bottom in zip(edges[::2], edges[1::2]):
                band = ink[top:bottom]
                _, (left, right) = _ink(band[..., 3] > 0)
                made.append(kept(band[:, left:right], int(top), left))
            pieces[texts] = tuple(made)
    finally:
        canvas.restore_region(renderer.static_layer)
    out = tuple(Caption(a, b, texts, pieces[texts]) for a, b, texts in spans)
    return out, images


def _ink(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """The rows and columns (first, past the last) where ``mask`` is set."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1)


COUNTER_PREFIX = "iteration "  # what figure._count writes before the number
COUNTER_CHARS = "0123456789,"


def counter_glyphs(renderer: Renderer) -> Glyphs | None:
    """The counter's :class:`Glyphs`, cut out of matplotlib's drawings of
    ``iteration 0`` to ``iteration 9`` and ``iteration ,`` with the
    counter's own artist; None where that text is not laid out piece by
    piece (not right-aligned, advances not whole pixels, pieces touching),
    so that a browser font writes it instead."""
    text = renderer.counter
    if text.get_horizontalalignment() != "right" or text.get_rotation() % 360:
        return None
    canvas, draw = renderer.canvas, renderer.figure.draw_artist
    props = text.get_fontproperties()
    measure = canvas.get_renderer().get_text_width_height_descent
    pixels = np.asarray(canvas.buffer_rgba())
    before = text.get_text()

    def width(s: str) -> float:
        return measure(s, props, ismath=False)[0]

    def drawn(s: str) -> np.ndarray:
        text.set_text(s)
        pixels[...] = 0
        draw(text)
        return np.array(pixels, dtype=np.uint8, copy=True)

    try:
        prefix, chars = COUNTER_PREFIX, COUNTER_CHARS
        bare = drawn(prefix.rstrip())[..., 3]
        cols = np.flatnonzero(bare.any(axis=0))
        if not cols.size:
            return None
        ink = int(cols[-1] - cols[0] + 1)  # the prefix's ink, columns
        shots = [drawn(prefix + c) for c in chars]
        widths = [width(prefix + c) for c in chars]
        advance = [width(prefix + c + "0") - width(prefix + "0") for c in chars]
        numbers = [*widths, *advance]
        if any(v != round(v) for v in numbers):
            return None
        rows = np.flatnonzero(np.any([s[..., 3].any(axis=1) for s in shots], axis=0))
        top, bottom = int(rows[0]), int(rows[-1]) + 1
        lefts = []
        pieces: list[np.ndarray] = []
        for shot in shots:
            alpha = shot[..., 3]
            cols = np.flatnonzero(alpha.any(axis=0))
            left = int(cols[0])
            lefts.append(left)
            if not pieces:
                pieces.append(shot[top:bottom, left : left + ink])
            gap = alpha[:, left + ink : left + ink + 1]
            if gap.any():  # the character's ink touches the prefix's
                return None
            pieces.append(shot[top:bottom, left + ink : int(cols[-1]) + 1])
        # Right-aligned: each text starts its width further left.
        if any(lf - lefts[0] != widths[0] - wd for lf, wd in zip(lefts, widths)):
            return None
        spans, first = [], 0
        for piece in pieces:
            spans.append((first, piece.shape[1]))
            first += piece.shape[1]
        return Glyphs(
            prefix=prefix,
            chars=chars,
            atlas=np.concatenate(pieces, axis=1),
            spans=tuple(spans),
            offset=ink,
            advance=tuple(int(v) for v in advance),
            end=tuple(int(v) for v in widths),
            left=lefts[0],
            width=int(widths[0]),
            top=top,
        )
    finally:
        text.set_text(before)
        canvas.restore_region(renderer.static_layer)


# ---------------------------------------------------------------------------
# a sweep's player: one stage per variant, one page

# What differs from one variant's stage to another's (the rest is shared).
_VARYING = ("runs", "curves", "optimizers", "legend", "legend_face", "axes",
            "panels", "counter", "marks")  # fmt: skip


@dataclass(frozen=True)
class Slider:
    """One slider of a sweep's player: its name (``ε (lr)``) and the text of
    each of its positions (``0.01``)."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SweepStage:
    """A sweep's player: one :class:`Stage` per variant, on one frame
    schedule, and the sliders that pick a variant.

    ``swept`` holds the indices of the variants among the optimizers: on the
    page they are one optimizer (what the legend hides, it hides in every
    variant). With several sliders, variant ``i`` is their positions in
    mixed radix, the last slider's fastest (a crossed sweep's order). The
    pictures are kept once however many variants share them: the contours,
    landmarks and counter's glyphs are the same for all where the layout is.
    """

    stages: tuple[Stage, ...]
    swept: range
    sliders: tuple[Slider, ...]
    variant: int = 0  # the one the page opens on

    def __post_init__(self) -> None:
        count = math.prod(len(s.values) for s in self.sliders)
        if count != len(self.stages):
            raise ValueError(
                f"{len(self.stages)} variants, but sliders for {count} of them"
            )
        if len(self.swept) != len(self.stages):
            raise ValueError(f"{len(self.stages)} stages for {len(self.swept)} swept")
        if len({s.frames for s in self.stages}) != 1:
            raise ValueError("the variants' stages have different frame schedules")

    @property
    def size(self) -> tuple[int, int]:
        return self.stages[0].size

    @property
    def title(self) -> str:
        return self.stages[0].title

    def _pool(self) -> tuple[dict[str, np.ndarray], list[dict[str, str]]]:
        """The distinct pictures, by name, and each variant's names for its
        ``backdrop``, ``under``... among them."""
        pool: dict[str, np.ndarray] = {}
        names: list[dict[str, str]] = []
        for j, s in enumerate(self.stages):
            mine = {}
            for role, image in s.pictures.items():
                same = next(
                    (
                        name
                        for name, other in pool.items()
                        if other.shape == image.shape and np.array_equal(other, image)
                    ),
                    None,
                )
                if same is None:
                    same = role if role not in pool else f"{role}.{j}"
                    pool[same] = image
                mine[role] = same
            names.append(mine)
        return pool, names

    @property
    def pictures(self) -> Mapping[str, np.ndarray]:
        return self._pool()[0]

    def _page_index(self, optimizer: int) -> int:
        """An optimizer's index on the page: the variants are one."""
        first, n = self.swept.start, len(self.swept)
        if optimizer < first:
            return optimizer
        if optimizer < first + n:
            return first
        return optimizer - (n - 1)

    def to_json(self) -> dict[str, Any]:
        """The first variant's data (:meth:`Stage.to_json`) less what varies,
        on the shared schedule, and ``sweep``: the sliders and, per variant,
        what varies (its runs, curves, legend and the names of its
        pictures), the optimizers numbered as on the page."""
        first, n = self.swept.start, len(self.swept)
        _, names = self._pool()
        data = self.stages[0].to_json()
        data["last"] = max(s.last for s in self.stages)
        # The runs and curves of the optimizers not swept are the same in
        # every variant: each distinct one is kept once, a variant lists
        # its own by their indices.
        shared: dict[str, list[Any]] = {"runs": [], "curves": []}
        seen: dict[str, dict[str, int]] = {"runs": {}, "curves": {}}
        variants = []
        for j, s in enumerate(self.stages):
            own = s.to_json()
            for kind in ("runs", "curves"):
                listed = []
                for item in own[kind]:
                    item["optimizer"] = self._page_index(item["optimizer"])
                    key = json.dumps(item, sort_keys=True)
                    if key not in seen[kind]:
                        seen[kind][key] = len(shared[kind])
                        shared[kind].append(item)
                    listed.append(seen[kind][key])
                own[kind] = listed
            entries = own["optimizers"]
            own["optimizers"] = [
                *entries[:first],
                entries[first + j],
                *entries[first + n :],
            ]
            variants.append(
                {**{key: own[key] for key in _VARYING}, "pictures": names[j]}
            )
        for key in _VARYING:
            del data[key]
        data["sweep"] = {
            "sliders": [
                {"name": s.name, "values": list(s.values)} for s in self.sliders
            ],
            "variant": self.variant,
            "runs": shared["runs"],
            "curves": shared["curves"],
            "variants": variants,
        }
        return data
