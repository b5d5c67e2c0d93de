"""Draw the animation: a contour plot of the surface with every trajectory on it.

One :class:`Renderer` owns one Agg figure. What never moves (contours, axes,
title) is drawn once and kept as a pixel buffer; each frame restores that
buffer and draws only the layers above it, in the order a full draw stacks
them: the trajectory lines, the markers of starts, minima and saddles (so
that lines run under them), the moving heads, the outlines of the minima and
saddles again (so that no head hides them), the iteration counter, and
finally the legend, pre-rendered once and composited on top. That is what makes hundreds
of frames of a 10,000-iteration run cheap (a few milliseconds each). Optional
panels beside the contours (loss and gradient norm against the iteration)
are drawn the same way: their axes are static, their curves grow like the
lines. The surface can be shown in 3-D instead of as contours, or both ways
side by side: each is a view of one axes (:mod:`optviz.draw.views`), and every
view's layers are animated alike. The layers under the trajectories and the
house look are :mod:`optviz.draw.backdrop`'s.

matplotlib is imported by these three modules alone; the CLI imports them
lazily so that ``optviz --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D

from optviz.draw import panels as panel_registry
from optviz.draw import schedules, themes
from optviz.draw.backdrop import (
    draw_contours,
    on_dark,
    optimizer_colours,
    styled,
)
from optviz.draw.internals import HeadInternals, HeadInternals3D, scaling_factor
from optviz.draw.internals import scales as internal_scales
from optviz.draw.scene import LEGEND_OUTSIDE as _LEGEND_OUTSIDE
from optviz.draw.scene import (
    LEGEND_SPOTS,
    Camera,
    ColourScale,
    Layout,
    Scene,
    Timeline,
)
from optviz.draw.schedules import held
from optviz.draw.views import (
    HEAD_SIZE,
    KEY,
    MARKERS,
    View,
    View3D,
    centreline,
    cover,
    dots,
    landmarks,
    nested_sizes,
    set_line,
    stacked_widths,
)
from optviz.errors import RenderError
from optviz.optim.runner import Status

if TYPE_CHECKING:  # only read from, so no import-time coupling
    from optviz.optim.runner import Trajectory
    from optviz.surfaces import Surface

# Lines drawn so far are kept as pixels every this many iterations, which
# bounds the path each frame draws (see Renderer.buffer).
_CHECKPOINT = 500


def _forget_mathtext() -> None:
    """In a forked child: drop matplotlib's cache of parsed mathtext.

    A font reads its file through a descriptor, whose offset a forked child
    shares with its parent. matplotlib opens fonts anew in a child (it clears
    its font cache at a fork), but mathtext's cache of parsed text keeps the
    parent's fonts in its glyphs: a child drawing the same text (the 3-D
    view's 10⁻² ticks, every frame of a moving camera) reads the file at the
    offsets the parent moves, and FreeType fails on what it gets ("invalid
    outline", "too many hints"), in the child and in the parent.
    """
    from matplotlib.mathtext import MathTextParser

    MathTextParser._parse_cached.cache_clear()  # type: ignore[attr-defined]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_mathtext)


def even_size(size: Sequence[int]) -> tuple[int, int]:
    """``size`` rounded down to even numbers (H.264's 4:2:0 chroma needs it)."""
    w, h = (int(v) - int(v) % 2 for v in size)
    if w < 16 or h < 16:
        raise RenderError(f"frame size {size[0]}×{size[1]} is too small to draw")
    return w, h


@styled
def surface_picture(
    surface: Surface,
    size: tuple[int, int] = (800, 600),
    dpi: int = 100,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> np.ndarray:
    """A picture (RGBA) of ``surface`` alone, to check a surface before
    animating it: contours, its minima (filled stars global, hollow stars
    local), saddles (crosses) and default starts (rings), titled with its
    name and formula."""
    w, h = even_size(size)
    fig = Figure(figsize=((w + 0.01) / dpi, (h + 0.01) / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    xlim, ylim = xlim or surface.xlim, ylim or surface.ylim
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(surface.name, loc="left", fontsize="large")
    ax.set_title(_ellipsis(surface.formula, 70), loc="right", fontsize="small")
    draw_contours(ax, surface, xlim, ylim)
    for m in surface.minima:
        glob = m.kind == "global"
        ax.plot(
            m.x, m.y, linestyle="none", marker="*", markersize=22 if glob else 15,
            markerfacecolor="#FFD23F" if glob else "white", markeredgecolor="black",
            zorder=6,
        )  # fmt: skip
    for m in surface.saddles:
        ax.plot(m.x, m.y, linestyle="none", marker="X", markersize=12,
                markerfacecolor="white", markeredgecolor="black", zorder=6)  # fmt: skip
    if surface.starts:
        sx, sy = np.array(surface.starts).T
        ax.plot(sx, sy, linestyle="none", marker="o", markersize=10,
                markerfacecolor="white", markeredgecolor="black",
                markeredgewidth=1.8, zorder=6)  # fmt: skip
    canvas.draw()
    return np.array(canvas.buffer_rgba(), dtype=np.uint8, copy=True)


def _ellipsis(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


# How the legend names a status that ended a run before the iteration cap
# (shown from the first frame, as a promise of what the video will show), and
# the word before the iteration it stopped at (``Trajectory.stopped_at``, the
# summary table's iterations): a diverged run's last point is the one before
# the update that diverged.
_BADGES = {
    Status.CONVERGED: ("✓", "converged", "at"),
    Status.DIVERGED: ("✗", "diverged", "after"),
    Status.SINGULAR: ("✗", "singular Hessian", "at"),
    Status.LINE_SEARCH: ("✗", "line search failed", "at"),
}


def _statuses(
    trajectories: Sequence[Trajectory], minima: Sequence[Sequence[float]] = ()
) -> dict[int, list[tuple[Status, int, int | None]]]:
    """Per optimizer, each start's (status, iteration it stopped at, first
    iteration within reach of a known minimum or None)."""
    out: dict[int, list[tuple[Status, int, int | None]]] = {}
    for t in trajectories:
        reached = t.first_reach(minima) if len(t.points) else None
        out.setdefault(t.optimizer, []).append((t.status, t.stopped_at, reached))
    return out


def _in_view(t: Trajectory, xlim, ylim) -> Trajectory:
    """A diverged path up to its first point outside the view (kept, so that
    the line runs to the frame's edge); others as they are: a path may leave
    the view and come back."""
    if t.status is not Status.DIVERGED:
        return t
    x, y = t.points[:, 0], t.points[:, 1]
    outside = (x < xlim[0]) | (x > xlim[1]) | (y < ylim[0]) | (y > ylim[1])
    hits = np.flatnonzero(outside)
    if not hits.size:
        return t
    end = int(hits[0]) + 1
    return dataclasses.replace(
        t, points=t.points[:end], loss=t.loss[:end], grad_norm=t.grad_norm[:end]
    )


class Renderer:
    """One figure that can be drawn at any iteration of the trajectories.

    ``labels[i]`` names optimizer ``i`` (``Trajectory.optimizer``); all
    trajectories of one optimizer share its colour and legend entry. Colours
    come from ``colors[i]`` where given, else from the method ``methods[i]``
    (see :func:`optimizer_colours`).

    ``animation`` gives the size, dpi and looks (``panels``, ``theme``,
    ``contour_labels``, ``gradient_field``, ``view``);
    ``animation.schedule`` is used by :meth:`schedule`.

    The surface and the trajectories on it are drawn by one view per axes
    (:class:`View`: the contours, or :class:`View3D`: the surface in 3-D);
    ``animation.view`` picks the subclass that has the right ones. Every
    view's lines, landmarks and heads are animated alike.

    Frames are cheapest in increasing order of iteration: lines only grow, so
    the pixels of the lines up to a recent checkpoint are kept and each frame
    draws only the lines' paths since then. Asking for an iteration before
    the checkpoint redraws the lines from the start.
    """

    _VIEWS: tuple[type[View], ...]  # set below the view classes

    def __new__(cls, scene: Scene):
        if cls is Renderer:
            views = {"3d": Renderer3D, "both": RendererBoth}
            cls = views.get(scene.layout.view, cls)
        return super().__new__(cls)

    @styled
    def __init__(self, scene: Scene):
        import matplotlib as mpl

        self.scene = scene
        self.theme = scene.look.theme
        self.look = themes.get(self.theme)
        # matplotlib sizes every text from font.size when it is made: the
        # title, labels, ticks, legend, counter (and the title card, made
        # later, from self.font_size).
        self.font_size = scene.look.font_size
        self._rc = {**self.look.rc, "font.size": self.font_size}
        # The camera of the video's first frame; a camera that moves makes
        # the 3-D views part of every frame instead of the static layer.
        self._camera = scene.camera(0)
        self._moves = scene.layout.camera.moves and any(
            v is View3D for v in self._VIEWS
        )
        with mpl.rc_context(self._rc):  # type: ignore[arg-type]
            self._build(scene)

    def _build(self, scene: Scene) -> None:
        surface, trajectories, labels = scene.surface, scene.trajectories, scene.labels
        xlim, ylim, title, layout = scene.xlim, scene.ylim, scene.title, scene.layout
        # A run that diverged at its start has no points and nothing to show;
        # one that diverged later is drawn up to where it left the view.
        self._statuses = _statuses(trajectories, [m.point for m in surface.minima])
        self._runs = [t for t in trajectories if len(t.points)]  # for panels
        self.trajectories = [_in_view(t, xlim, ylim) for t in self._runs]
        count = max((t.optimizer + 1 for t in self.trajectories), default=0)
        self.colours = optimizer_colours(
            max(count, len(labels)), scene.colours, scene.methods
        )
        if self.look.no_black:  # black lines would vanish: draw them white
            self.colours = [on_dark(c) for c in self.colours]
        self.size = even_size(layout.size)
        self.last = max((t.iterations for t in self._runs), default=0)
        w, h = self.size
        # Text, lines and markers are sized in points: at this dpi they keep
        # their proportion to the frame at any size (Layout.figure_dpi).
        dpi = dataclasses.replace(layout, size=self.size).figure_dpi
        # A hair over the size: Agg truncates width·dpi, which would land on
        # w − 1 whenever w / dpi is not exact in binary.
        fig = Figure(figsize=((w + 0.01) / dpi, (h + 0.01) / dpi), dpi=dpi)
        self.figure = fig
        self.canvas = FigureCanvasAgg(fig)
        fig.set_layout_engine("constrained")
        panels = tuple(layout.panels)
        # The views side by side, then a column of panels.
        columns = len(self._VIEWS)
        if panels or columns > 1:
            widths = (2.2,) * columns + (1,) * bool(panels)
            grid = fig.add_gridspec(
                max(1, len(panels)), len(widths), width_ratios=widths
            )
            specs: list[Any] = [grid[:, i] for i in range(columns)]
            if panels and columns > 1:
                # The 3-D view's z ticks stick out to its right: keep them
                # clear of the panels' labels.
                engine = fig.get_layout_engine()
                assert isinstance(engine, ConstrainedLayoutEngine)
                engine.set(wspace=0.05)
        else:
            specs = [None]  # a view on the whole figure
        self.views = [
            view(self.trajectories, self.colours, self.theme, fig, spec, xlim, ylim)
            for view, spec in zip(self._VIEWS, specs)
        ]
        self._solids = [v for v in self.views if isinstance(v, View3D)]
        self._aim(self._camera)
        ax = self.axes = self.views[0].axes
        self.title = (
            ax.set_title(title, loc="left", fontsize="large") if title else None
        )
        self._title_text = title or ""  # as given: _lay_out wraps a copy
        for view in self.views:
            view.draw_background(surface, xlim, ylim, scene.look)
        for view in self.views:
            view.add_lines()
        self._lines = self.views[0].lines
        # Each track is a line that grows with the frames and the points it
        # runs through: the paths on each view, then the panels' curves.
        self._tracks = [
            (line, view.path(t), t)
            for view in self.views
            for line, t in zip(view.lines, self.trajectories)
        ]
        self.panels = [
            self._add_panel(fig.add_subplot(grid[i, columns]), name, surface)
            for i, name in enumerate(panels)
        ]
        # The landmarks' fills and rings go under the heads, the outlines of
        # minima and saddles over them.
        marks = [view.add_landmarks(surface) for view in self.views]
        self._landmarks = [a for under, _ in marks for a in under]
        self._outlines = [a for _, over in marks for a in over]
        (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
        shown = {
            kind
            for kind, points in landmarks(surface, self.trajectories)
            if any(x0 <= x <= x1 and y0 <= y <= y1 for x, y in points)
        }
        self._marker_kinds = [kind for kind in KEY if kind in shown]
        self._heads = [view.add_heads() for view in self.views]
        # The optimizers' internals at the heads, on every view, to one set
        # of scales (the legend's); the first view's name the legend's key.
        self._internals: list[HeadInternals] = []
        if any(t.internals is not None for t in self.trajectories):
            scale = internal_scales(
                self.trajectories, xlim, ylim, scene.look.internal_scales
            )
            for view in self.views:
                if isinstance(view, View3D):
                    drawing: HeadInternals = HeadInternals3D(
                        view, self.trajectories, self.colours, scale,
                        dark=self.look.no_black,
                    )  # fmt: skip
                else:
                    drawing = HeadInternals(
                        view.axes, self.trajectories, self.colours, scale,
                        dark=self.look.no_black,
                    )  # fmt: skip
                self._internals.append(drawing)
        self.internals = self._internals[0] if self._internals else None
        self._internal_artists = [a for i in self._internals for a in i.artists]
        # Above the top right corner of the views, whether one or two.
        counter_axes = self.views[-1].axes
        self.counter = counter_axes.set_title(_count(self.last), loc="right")
        if not scene.counter:  # empty, not invisible: the layout measures it
            self.counter.set_text("")
        if scene.colour_scale is not None:
            self._colour_bar(scene.colour_scale)
        handles, names = self._legend_entries(labels)
        # layout.legend names a spot, or auto: the first that covers nothing.
        given = layout.legend
        first_spot = given if given in _SPOTS else _SPOTS[0]
        self.legend = self._place_legend(handles, names, first_spot)
        # Where the legend went: a name of LEGEND_SPOTS, or "outside" (a
        # sweep's player puts every variant's legend where this one went).
        self.legend_spot = first_spot
        self._lay_out(layout)
        # One full draw of the final state lays the figure out; the legend
        # goes to the first spot in the axes that no path, head or marker of
        # any frame touches, or outside them (laid out again); then both are
        # frozen so that no frame can move them.
        self.canvas.draw()
        if self.legend is not None:
            if given == "auto":
                spot = self._legend_spot(surface)
            else:
                spot = given if given in _SPOTS else _OUTSIDE
            self.legend_spot = spot
            if spot != first_spot:
                self.legend = self._place_legend(handles, names, spot)
            if spot == _OUTSIDE:  # the axes make room for it
                fig.set_layout_engine(self._layout)
                self._lay_out(layout)
                self.canvas.draw()
            if not (spot == _OUTSIDE and self._legend_below()):
                box = self.legend.get_window_extent()
                box = box.transformed(ax.transAxes.inverted())
                self.legend = self._place_legend(handles, names, (box.x0, box.y0))
        # Laid out, the lines know their pixels: a line hidden under others
        # is widened to show around them, on every view alike.
        first = self.views[0]
        line_widths = stacked_widths(
            [first.pixels(t.points) for t in self.trajectories],
            [t.optimizer for t in self.trajectories],
            self.canvas.get_width_height(),
            fig.dpi / 72,
        )
        for view in self.views:
            for line, width in zip(view.lines, line_widths):
                line.set_linewidth(width)
        # Only now, laid out, do the axes know how many arrows fit; and the
        # legend did not try to dodge them.
        for view in self.views:
            view.draw_field(surface, xlim, ylim, scene.look)
        fig.set_layout_engine("none")
        self._moving = [
            *(line for line, _, _ in self._tracks),
            *self._landmarks,
            *self._internal_artists,
            *self._heads,
            *self._outlines,
            self.counter,
        ]
        if self.legend is not None:
            self._moving.append(self.legend)
        # A camera that moves: the 3-D views are drawn every frame, whole,
        # and the static layer is what lies around them.
        self._solid_tracks = []
        if self._moves:
            solid = {id(v.axes) for v in self._solids}
            self._moving += [v.axes for v in self._solids]
            self._solid_tracks = [tr for tr in self._tracks if id(tr[0].axes) in solid]
            self._tracks = [tr for tr in self._tracks if id(tr[0].axes) not in solid]
        for artist in self._moving:
            artist.set_animated(True)
        self.canvas.draw()
        if self.canvas.get_width_height() != self.size:
            raise RenderError(
                f"matplotlib drew {self.canvas.get_width_height()} pixels, "
                f"not {self.size}"
            )
        self._static = self.canvas.copy_from_bbox(fig.bbox)
        self._legend_layer = self._capture_legend()
        self._trails = self._static  # static layer + lines up to _trails_at
        self._trails_at = 0
        self._wraps: dict[str, str] = {}  # each caption's line, wrapped to fit

    # -- building the figure -----------------------------------------------

    def _lay_out(self, layout: Layout) -> None:
        """Lay the figure out once and for all, with equal units on x and y
        where the frame allows (``layout.aspect``), the title fitted to
        the width the iteration counter leaves it, and 3-D labels clear of
        the panels and the frame's edge."""
        fig = self.figure
        engine = fig.get_layout_engine()
        assert engine is not None  # constrained, from _build
        self._layout = engine  # to lay out again round an outside legend
        renderer = self.canvas.get_renderer()
        text = self._title_text
        if self.title is not None:
            # One letter for now: a long title would squeeze the axes aside.
            self.title.set_text(text[:1])
        engine.execute(fig)
        if layout.aspect == "equal":
            for view in self.views:
                view.fit_aspect()
            engine.execute(fig)
        if self.title is not None:
            # A wrapped title is taller, which narrows equal-aspect axes: fit
            # again until the room holds still.
            width = None
            for _ in range(3):
                room = self._title_room()
                if width is not None and room >= width - 0.5:
                    break
                width = room
                fit_text(self.title, text, width, renderer)
                engine.execute(fig)
        # From here on nothing moves the axes (a layout would undo this).
        fig.set_layout_engine("none")
        gap = 4 * fig.dpi / 72
        right = min((p.get_tightbbox(renderer).x0 for p in self.panels), default=None)
        for view in self.views:
            view.fit_labels(
                (self.size[0] if right is None else right) - gap,
                renderer,
                self._camera_samples(),
            )
        self._aim(self._camera)

    def _title_room(self) -> float:
        """Pixels from the title's left end to the counter (less a gap) or
        the figure's edge, whichever is nearer."""
        renderer = self.canvas.get_renderer()
        for view in self.views:
            view.axes.apply_aspect()
        left = self.axes.get_position().x0 * self.size[0]
        gap = self.counter.get_fontsize() * self.figure.dpi / 72
        right = self.size[0] - gap / 2
        if self.counter.get_text():
            right = min(right, self.counter.get_window_extent(renderer).x0 - gap)
        return max(0.0, right - left)

    def _add_panel(self, axes, name: str, surface: Surface):
        """The panel ``name`` of :data:`optviz.draw.panels.PANELS` against
        the iteration, with one curve per run, to the run's last point (not
        only as far as its line stays in view), on the scale
        :func:`panel_scale` picks for the values."""
        runs = self._runs
        panel = panel_registry.get(name)
        values = [panel.values(t, surface) for t in runs]
        lowest = panel.lowest(surface)
        how = panel_scale(values, lowest, panel.symbol, shifted=panel.shifted)
        axes.set_yscale(how.scale, **how.options)
        # The frames' iterations grow about exponentially (the ``log``
        # schedule), so the iteration axis is logarithmic past 10.
        axes.set_xscale("symlog", linthresh=10)
        axes.set_xlim(0, max(10, self.last))
        axes.set_xlabel("iteration")
        axes.set_ylabel(how.label)
        axes.grid(True, which="major", alpha=0.3)
        for t, v in zip(runs, values):
            curve = np.column_stack((np.arange(len(v), dtype=float), how.drawn(v)))
            (line,) = axes.plot(*curve.T, color=self.colours[t.optimizer],
                                linewidth=1.5, zorder=5)  # fmt: skip
            self._tracks.append((line, curve, t))
        axes.set_ylim(*how.limits)
        return axes

    def _colour_bar(self, scale: ColourScale) -> None:
        """The bar that says which colour is which swept value."""
        import matplotlib as mpl

        mappable = mpl.cm.ScalarMappable(scale.norm(), scale.colormap())
        bar = self.figure.colorbar(
            mappable, ax=self.views[0].axes, fraction=0.05, pad=0.02
        )
        bar.set_label(scale.label)
        bar.outline.set_linewidth(0.5)

    def _legend_entries(self, labels: Sequence[str]) -> tuple[list, list[str]]:
        listed = self.scene.in_legend
        shown = sorted(
            i
            for i in {t.optimizer for t in self.trajectories}
            if not listed or (i < len(listed) and listed[i])
        )
        handles = [
            Line2D(
                [],
                [],
                color=self.colours[i],
                linewidth=2.5,
                marker="o",
                markersize=7,
                markeredgecolor="white",
            )
            for i in shown
        ]
        names = [labels[i] + self._badge(i) for i in shown]
        # The key to the markers shown, once, under the optimizers.
        for kind in self._marker_kinds:
            style = dict(MARKERS[kind])
            style["markersize"] = min(style["markersize"], 14)
            handles.append(Line2D([], [], linestyle="none", **style))
            names.append(kind)
        if self.internals is not None:  # and to the internals, with their scales
            methods = self.scene.methods
            scaled = [
                methods[t.optimizer]
                for t in self.trajectories
                if t.internals is not None
                and t.internals.scaling is not None
                and t.optimizer < len(methods)
            ]
            more, words = self.internals.legend_entries(scaling_factor(scaled))
            handles += more
            names += words
        return handles, names

    def _badge(self, optimizer: int) -> str:
        """After an optimizer's label, whether its runs reached a known minimum
        (as the summary table's ``reached``) and how they ended when not at
        the iteration cap: ' ✓ reached at 728', ' ✓ converged at 812',
        ' ✗ diverged after 6', ' ✗ singular Hessian at 0', ' ✗ line search
        failed at 69'; with several starts ' ✗ diverged' (all of them) or
        ' ✓ reached from 1 of 2 starts'."""
        runs = self._statuses.get(optimizer, [])
        ends = [("✓", "reached", "at", [r for _, _, r in runs if r is not None])]
        for status, (mark, words, at) in _BADGES.items():
            ends.append((mark, words, at, [k for s, k, _ in runs if s is status]))
        badges = []
        for mark, words, at, ended in ends:
            if len(runs) == 1 and ended:
                badges.append(f" {mark} {words} {at} {ended[0]:,}")
            elif ended and len(ended) == len(runs):
                badges.append(f" {mark} {words}")
            elif ended:
                badges.append(
                    f" {mark} {words} from {len(ended)} of {len(runs)} starts"
                )
        return "".join(badges)

    def _legend_spot(self, surface: Surface) -> str:
        """Where the legend covers nothing: the first of :data:`_SPOTS` whose
        box stays clear of every path (over all frames: the whole paths, and
        seen from every camera of a moving one), with a head's radius around
        it, and of every marker; else :data:`_OUTSIDE`, to the right of the
        axes."""
        view, legend = self.views[0], self.legend
        w, h = self.canvas.get_width_height()
        px_per_pt = self.figure.dpi / 72
        busy = np.zeros(h * w, dtype=bool)
        reach = HEAD_SIZE / 2 * px_per_pt + 2  # a head, its white rim, a margin
        turns = self._camera_samples() if view in self._solids else [self._camera]
        for camera in turns:
            self._aim(camera)
            if self._moves and view in self._solids:
                # The tick labels turn with the box: keep clear of them too.
                for box in view.label_boxes(self.canvas.get_renderer()):
                    rows = slice(
                        max(0, math.floor(box.y0) - 2), min(h, math.ceil(box.y1) + 2)
                    )
                    cols = slice(max(0, math.floor(box.x0) - 2),
                                 min(w, math.ceil(box.x1) + 2))  # fmt: skip
                    busy.reshape(h, w)[rows, cols] = True
            for t in self.trajectories:
                busy |= cover(centreline(view.pixels(t.points), w, h), w, h, reach)
            for kind, points in landmarks(surface, self.trajectories):
                if points:
                    marks = dots(view.pixels(np.array(points, dtype=float)), w, h)
                    radius = MARKERS[kind]["markersize"] / 2 * px_per_pt + 2
                    busy |= cover(marks, w, h, radius)
        self._aim(self._camera)
        grid = busy.reshape(h, w)
        for spot in _SPOTS:
            legend.set_loc(spot)
            box = legend.get_window_extent()
            rows = slice(max(0, math.floor(box.y0)), min(h, math.ceil(box.y1)))
            cols = slice(max(0, math.floor(box.x0)), min(w, math.ceil(box.x1)))
            if not grid[rows, cols].any():
                return spot
        return _OUTSIDE

    def _legend_below(self) -> bool:
        """Whether a legend outside the axes goes below them: where asked
        (``outside bottom``), or, unless asked to go right, when panels or a
        second view take the room to the right."""
        given = self.scene.layout.legend
        if given in _LEGEND_OUTSIDE:
            return given == "outside bottom"
        return bool(self.panels) or len(self.views) > 1

    # -- the camera ---------------------------------------------------------

    def _aim(self, camera: Camera) -> None:
        """Turn every 3-D view to ``camera``."""
        for view in self._solids:
            view.aim(camera)

    def _camera_samples(self) -> list[Camera]:
        """Cameras along the path, its keys among them: enough to see where
        a moving camera takes the paths and the tick labels (one if it does
        not move)."""
        path = self.scene.layout.camera
        if not self._moves:
            return [self._camera]
        at = {*np.linspace(0.0, 1.0, _CAMERA_SAMPLES).tolist(), 1.0}
        at |= {key.at for key in path.keys}
        return [path.at(p) for p in sorted(at)]

    def _place_legend(self, handles: list, names: list[str], loc):
        if not handles:
            return None
        style = dict(_LEGEND, edgecolor=self.look.legend_edge)
        if loc == _OUTSIDE and self._legend_below():
            # Along the bottom of the frame, in columns, it costs the views
            # least; the layout makes room for it and it stays put.
            columns = min(3, len(handles))
            if self.axes.get_legend() is not None:  # the first try, in the axes
                self.axes.get_legend().remove()
            legend = self.figure.legend(
                handles, names, loc="outside lower center", ncol=columns, **style
            )
            legend.set_zorder(10)
            return legend
        if loc == _OUTSIDE:
            style = dict(style, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                         borderaxespad=0.0)  # fmt: skip
        else:
            style = dict(style, loc=loc)
        legend = self.axes.legend(handles, names, **style)
        # Above lines, markers and heads in a full draw, as in the fast path.
        legend.set_zorder(10)
        return legend

    def _capture_legend(self) -> tuple | None:
        """The legend as a pre-rendered layer: where, its colour, and coverage.

        Laying out and drawing the legend's labels costs more than everything
        else in a frame, yet it never changes. Drawn once over black and once
        over white, the two results give its premultiplied colour (over black)
        and how much of what lies below shows through (white − black), pixel
        by pixel, anti-aliased edges included; each frame then composites it
        with integer arithmetic (see :meth:`_paste_legend`).
        """
        if self.legend is None:
            return None
        w, h = self.size
        box = self.legend.get_window_extent().padded(2)
        rows = slice(max(0, math.floor(h - box.y1)), min(h, math.ceil(h - box.y0)))
        cols = slice(max(0, math.floor(box.x0)), min(w, math.ceil(box.x1)))
        region = np.asarray(self.canvas.buffer_rgba())[rows, cols, :3]
        drawn = []
        for fill in (0, 255):
            region[...] = fill
            self.figure.draw_artist(self.legend)
            drawn.append(region.astype(np.int16))
        black, white = drawn
        self.canvas.restore_region(self._static)
        cover = np.clip(white - black, 0, 255).astype(np.uint16)
        return rows, cols, black.astype(np.uint16), cover

    def _paste_legend(self, pixels: np.ndarray) -> None:
        """Composite the pre-rendered legend over ``pixels`` (the live buffer)."""
        if self._legend_layer is None:
            return
        rows, cols, colour, cover = self._legend_layer
        below = pixels[rows, cols, :3]
        # colour + cover·below/255, rounded; the product fits in uint16.
        below[...] = colour + (cover * below + 127) // 255

    # -- drawing ------------------------------------------------------------

    @staticmethod
    def _end(t: Trajectory, k: int) -> int:
        return min(k, len(t.points) - 1)

    def _ends(self, k: int) -> list[int]:
        """The index each trajectory is at on iteration ``k``."""
        return [min(k, len(t.points) - 1) for t in self.trajectories]

    def positions(self, k: int) -> np.ndarray:
        """Where each trajectory is on iteration ``k``, (n, 2): its head."""
        ends = self._ends(k)
        points = [t.points[n] for t, n in zip(self.trajectories, ends)]
        return np.array(points, dtype=float).reshape(-1, 2)

    def schedule(self, timeline: Timeline | None = None) -> np.ndarray:
        """The iteration each motion frame of ``timeline`` (default: the
        scene's) shows, by its ``schedule`` (``adaptive`` measures motion in
        this figure's pixels): always ``timeline.frames`` of them, a run with
        fewer iterations holding each for several frames
        (:func:`optviz.draw.schedules.held`)."""
        timeline = timeline or self.scene.timeline
        frames = timeline.frames

        def pixels() -> tuple[float, float]:
            box = self.axes.get_window_extent()
            (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
            return (box.width / abs(x1 - x0), box.height / abs(y1 - y0))

        paths = [t.points for t in self.trajectories]
        k = schedules.get(timeline.schedule).iterations(
            paths, self.last, frames, pixels
        )
        return held(k, frames)

    def card(self, lines: Sequence[str]) -> np.ndarray:
        """The first frame under a box with ``lines`` of text (the title card)."""
        buffer = np.asarray(self.buffer(0))
        look = self.look.card
        text = self.figure.text(
            0.5,
            0.5,
            "\n".join(lines),
            ha="center",
            va="center",
            fontsize=self.font_size * 1.2,  # matplotlib's "large"
            linespacing=1.6,
            color=look["text"],
            bbox=dict(boxstyle="round,pad=0.8", facecolor=look["face"], alpha=0.92,
                      edgecolor=look["edge"]),
        )  # fmt: skip
        try:
            self.figure.draw_artist(text)
            return np.array(buffer, dtype=np.uint8, copy=True)
        finally:
            text.remove()

    def caption(
        self, lines: Sequence[str], box: bool = True, text: bool = True
    ) -> memoryview:
        """Draw ``lines`` (the captions on this frame) in a box at the
        bottom or top of the contours (:attr:`Scene.captions`' position; auto:
        away from the legend), over
        the frame just drawn; the live pixel buffer, as :meth:`buffer`. The
        next frame's draw starts from the kept layers, which never hold it.
        ``box`` or ``text`` False leaves that part out (the player keeps
        each line's ink once, apart from the boxes)."""
        look = self.look.card
        ax = self.axes
        top = self._captions_on_top()
        size = self.font_size * 1.1
        drawn = self.figure.text(  # not ax.text: a 3-D axes takes x, y, z
            0.5,
            0.97 if top else 0.03,
            "\n".join(self._wrapped(line, size) for line in lines),
            transform=ax.transAxes,
            ha="center",
            va="top" if top else "bottom",
            fontsize=size,
            linespacing=1.4,
            color=look["text"] if text else (0, 0, 0, 0),
            zorder=11,
            bbox=dict(boxstyle="round,pad=0.5", facecolor=look["face"], alpha=0.88,
                      edgecolor=look["edge"]),
        )  # fmt: skip
        patch = drawn.get_bbox_patch()
        if patch is not None:
            patch.set_visible(box)
        try:
            self.figure.draw_artist(drawn)
        finally:
            drawn.remove()
        return self.canvas.buffer_rgba()

    def _wrapped(self, line: str, size: float) -> str:
        """``line`` broken between words into lines that fit 90 % of the
        contours' width at ``size`` points (measured once per line: a
        caption stays on screen for many frames)."""
        cache = self._wraps
        if line not in cache:
            renderer = self.canvas.get_renderer()
            room = self.axes.get_window_extent().width * 0.9
            probe = self.figure.text(0, 0, "", fontsize=size)
            try:

                def fits(words: str) -> bool:
                    probe.set_text(words)
                    return probe.get_window_extent(renderer).width <= room

                rows: list[str] = []
                for word in line.split():
                    if rows and fits(f"{rows[-1]} {word}"):
                        rows[-1] += f" {word}"
                    else:
                        rows.append(word)
                cache[line] = "\n".join(rows)
            finally:
                probe.remove()
        return cache[line]

    def _captions_on_top(self) -> bool:
        """Whether captions go at the top of the contours: where asked, or
        (``auto``) when the legend sits in the lower half of them."""
        captions = self.scene.captions
        position = captions.position if captions is not None else "auto"
        if position != "auto":
            return position == "top"
        if self.legend is None:
            return False
        legend = self.legend.get_window_extent()
        box = self.axes.get_window_extent()
        inside = box.x0 <= (legend.x0 + legend.x1) / 2 <= box.x1
        return inside and (legend.y0 + legend.y1) / 2 < (box.y0 + box.y1) / 2

    def _show_heads(self, k: int) -> None:
        ends = self._ends(k)
        sizes = nested_sizes(
            self.views[0].pixels(self.positions(k)),
            [t.optimizer for t in self.trajectories],
            self.figure.dpi / 72,
        )
        for view in self.views:
            view.show_heads(ends, sizes)
        for drawing in self._internals:
            drawing.show(ends, self.trajectories)
        if self.scene.counter:
            self.counter.set_text(_count(k))

    def buffer(self, k: int, camera: Camera | None = None) -> memoryview:
        """Draw iteration ``k`` seen from ``camera`` (the 3-D views'; None:
        the camera of the video's first frame); the live (height, width, 4)
        RGBA pixel buffer.

        The buffer is overwritten by the next draw: copy it to keep it.
        """
        if k < 0:
            raise ValueError(f"iteration must be >= 0, got {k}")
        k = int(k)
        draw = self.figure.draw_artist
        self._advance(k)
        if self._moves:
            import matplotlib as mpl

            self._aim(self._camera if camera is None else camera)
            # Ticks made as the view turns take the theme's colours and sizes.
            with mpl.rc_context(self._rc):  # type: ignore[arg-type]
                for view in self._solids:
                    draw(view.axes)
            for line, xy, t in self._solid_tracks:  # whole: the camera moved
                set_line(line, xy[: self._end(t, k) + 1])
                draw(line)
        self._show_heads(k)
        for artist in (
            *self._landmarks,
            *self._internal_artists,
            *self._heads,
            *self._outlines,
            self.counter,
        ):
            draw(artist)
        buffer = self.canvas.buffer_rgba()
        self._paste_legend(np.asarray(buffer))
        return buffer

    def _advance(self, k: int) -> None:
        """Restore the lines kept as pixels and draw them on to iteration
        ``k`` (not the 3-D views of a moving camera, which are not kept),
        keeping them again every :data:`_CHECKPOINT` iterations."""
        if k < self._trails_at:
            self._trails, self._trails_at = self._static, 0
        self.canvas.restore_region(self._trails)
        # Each line is drawn as one path from the checkpoint on. Drawing only
        # each frame's new steps would be cheaper still, but a thousand short
        # overlapping strokes blend their anti-aliased edges over and over
        # into jagged, heavier lines.
        for line, xy, t in self._tracks:
            a, b = self._end(t, self._trails_at), self._end(t, k)
            if b > a:
                set_line(line, xy[a : b + 1])
                self.figure.draw_artist(line)
        if k - self._trails_at >= _CHECKPOINT:
            self._trails = self.canvas.copy_from_bbox(self.figure.bbox)
            self._trails_at = k

    def seek(self, before: Sequence[int | None]) -> None:
        """Leave the figure as drawing the frames ``before`` in order would
        have left it (None, the title card, draws iteration 0), without
        drawing them all: only those that move or drop the lines' checkpoint.

        A frame's pixels depend on where the checkpoint is (a line drawn as
        one path or as two joined ones differs in its anti-aliased edge), so
        a process that starts in the middle of a video seeks to draw the same
        pixels as one that drew the video from the start.
        """
        at = self._trails_at
        for k in before:
            k = 0 if k is None else int(k)
            if k < at or k - at >= _CHECKPOINT:
                self._advance(k)
                at = self._trails_at

    @property
    def static_layer(self):
        """The pixels every frame starts from (a saved region of the canvas)."""
        return self._static

    def panel_tracks(self) -> list[tuple[Any, np.ndarray, Trajectory]]:
        """The panels' curves: each (line, its (n, 2) iterations and drawn
        values, its run)."""
        return [track for track in self._tracks if track[0].axes in self.panels]

    @styled
    def layers(self) -> dict[str, np.ndarray]:
        """What a frame is drawn from, each as an RGBA picture of the whole
        frame: ``backdrop``, the static layer (opaque); ``under``, the
        landmarks drawn over the lines and under the heads; ``over``, the
        outlines drawn over the heads; ``legend``, the legend (the last
        three on a transparent canvas: Agg's pixels are not premultiplied,
        so drawn over a frame they give that frame's pixels). The figure is
        left as its static layer."""
        canvas, draw = self.canvas, self.figure.draw_artist
        canvas.restore_region(self._static)
        pixels = np.asarray(canvas.buffer_rgba())
        out = {"backdrop": np.array(pixels, dtype=np.uint8, copy=True)}
        groups = {
            "under": self._landmarks,
            "over": self._outlines,
            "legend": [self.legend] if self.legend is not None else [],
        }
        for name, artists in groups.items():
            pixels[...] = 0
            for artist in artists:
                draw(artist)
            out[name] = np.array(pixels, dtype=np.uint8, copy=True)
        canvas.restore_region(self._static)
        self._trails, self._trails_at = self._static, 0
        return out

    @styled
    def frame(self, k: int, camera: Camera | None = None) -> np.ndarray:
        """The (height, width, 4) RGBA picture at iteration ``k`` (seen from
        ``camera``, as :meth:`buffer`)."""
        return np.array(self.buffer(k, camera), dtype=np.uint8, copy=True)

    @styled
    def full_draw_frame(self, k: int, camera: Camera | None = None) -> np.ndarray:
        """The same picture from one plain full draw (to check the fast path)."""
        if self._moves:
            self._aim(self._camera if camera is None else camera)
        for line, xy, t in (*self._tracks, *self._solid_tracks):
            n = self._end(t, k)
            set_line(line, xy[: n + 1])
        self._show_heads(k)
        for artist in self._moving:
            artist.set_animated(False)
        try:
            import matplotlib as mpl

            # As the figure was built: ticks made now take the theme's rc.
            with mpl.rc_context(self._rc):  # type: ignore[arg-type]
                self.canvas.draw()
            return np.array(self.canvas.buffer_rgba(), dtype=np.uint8, copy=True)
        finally:
            for artist in self._moving:
                artist.set_animated(True)

    def close(self) -> None:
        """Let go of the figure and its pixel buffers (several megabytes)."""
        self.figure.clear()
        self._static = self._trails = self._legend_layer = None


Renderer._VIEWS = (View,)


class Renderer3D(Renderer):
    """The same animation over the surface in 3-D (``animation.view: 3d``)."""

    _VIEWS = (View3D,)


class RendererBoth(Renderer):
    """The contours and the surface in 3-D side by side (``animation.view:
    both``): the same lines, landmarks and heads on both, one legend (on the
    contours) and one iteration counter."""

    _VIEWS = (View, View3D)


# Where the legend may go in the axes, in order of preference.
_SPOTS = LEGEND_SPOTS
_OUTSIDE = "outside"  # right of the axes, when every spot covers something
# Cameras sampled along a moving camera's path (besides its keys) to keep
# the legend off the paths and the tick labels in the frame.
_CAMERA_SAMPLES = 7
_LEGEND = dict(
    framealpha=0.9,
    fancybox=False,  # edged in the theme's legend_edge
    fontsize="medium",
    borderpad=0.6,
    handlelength=2.2,
)


@dataclasses.dataclass(frozen=True)
class PanelScale:
    """How a panel draws its values: ``value − shift`` on a ``scale`` axis,
    values below ``floor`` (log scale) drawn at it, between ``limits``."""

    scale: str  # "log", "symlog" or "linear"
    shift: float
    floor: float  # log: the lowest height drawn (0 elsewhere)
    limits: tuple[float, float]
    label: str  # what is plotted, and on which scale
    options: dict  # for set_yscale (symlog: linthresh)

    def drawn(self, values: np.ndarray) -> np.ndarray:
        """The heights of ``values``: NaN (a gap) where not finite."""
        v = np.asarray(values, dtype=float) - self.shift
        with np.errstate(invalid="ignore"):
            v = np.where(np.isfinite(v), v, np.nan)
            return np.maximum(v, self.floor) if self.scale == "log" else v


# A log panel draws no lower than this fraction of its largest value.
_LOG_RANGE = 1e-16


def panel_scale(
    values: Sequence[np.ndarray], f_star: float | None, name: str, shifted=True
) -> PanelScale:
    """The scale of a panel of ``values`` (one array per run) of a quantity
    ``name`` whose lowest possible value is ``f_star`` (None: unknown).

    A log scale of ``name − f*`` where f* is known and no value is below it
    (rounding aside): zeros, a run that reached f* exactly, are drawn at a
    floor, and the label says at what. Otherwise the values themselves: on a
    linear scale where they span under three decades, on a symmetric-log
    one (linear near 0, log beyond) where they span more, as a loss falling
    without bound does. ``shifted``: the label names ``name − f*``.
    """
    flat = np.concatenate([np.ravel(v) for v in values] or [np.zeros(0)])
    flat = flat[np.isfinite(flat)]
    if not flat.size:
        flat = np.ones(1)
    if f_star is not None:
        slack = 1e-12 * max(1.0, abs(f_star))
        above = flat - f_star
        if above.min() >= -slack and above.max() > 0:
            hi = float(above.max())
            positive = above[above > 0]
            # A decade under the smallest value, within the panel's range.
            floor = max(float(positive.min()) / 10, hi * _LOG_RANGE)
            label = f"{name} − f*, log scale" if shifted else f"{name}, log scale"
            low = above[above < floor]
            if low.size:  # on a second line: a panel is not tall
                label += (
                    f"\n(0 drawn at {floor:.0e})"
                    if not low.any()
                    else (f"\n(floor {floor:.0e})")
                )
            top = hi * 2 if hi > floor else floor * 10
            return PanelScale("log", f_star, floor, (floor / 2, top), label, {})
    lo, hi = float(flat.min()), float(flat.max())
    pad = 0.05 * (hi - lo) if hi > lo else max(1.0, abs(hi))
    size = np.abs(flat[flat != 0])
    if size.size and size.max() / size.min() > 1e3:
        # Linear up to the decade of a ten-thousandth of the largest value:
        # four decades of log either way, and a run at 0 told from one near.
        thresh = 10.0 ** np.floor(np.log10(max(size.min(), size.max() * 1e-4)))
        # Half a decade of head room either way on the log part.
        room = 10**0.5
        limits = (lo * room if lo < -thresh else lo - thresh,
                  hi * room if hi > thresh else hi + thresh)  # fmt: skip
        return PanelScale(
            "symlog", 0.0, 0.0, limits, f"{name}, symmetric log scale",
            {"linthresh": thresh},
        )  # fmt: skip
    return PanelScale(
        "linear", 0.0, 0.0, (lo - pad, hi + pad), f"{name}, linear scale", {}
    )


def _count(k: int) -> str:
    return f"iteration {k:,}"


# The title's font sizes, largest first, as a multiple of the base font.
_TITLE_SIZES = (1.2, 1.1, 1.0, 0.9, 0.8)


def fit_text(text, words: str, width: float, renderer) -> None:
    """Set ``text`` (an artist) to ``words`` in the largest of
    :data:`_TITLE_SIZES` at which they fit ``width`` pixels in one or two
    lines, wrapped between words; at the smallest, in three lines, the last
    one cut short with an ellipsis where it must be."""
    import matplotlib as mpl

    base = mpl.rcParams["font.size"]

    def fits(line: str) -> bool:
        text.set_text(line)
        return text.get_window_extent(renderer).width <= width

    for i, size in enumerate(_TITLE_SIZES):
        text.set_fontsize(base * size)
        most = 3 if i == len(_TITLE_SIZES) - 1 else 2
        lines: list[str] = []
        for word in words.split():
            if lines and fits(f"{lines[-1]} {word}"):
                lines[-1] += f" {word}"
            else:
                lines.append(word)
        if len(lines) <= most and all(fits(line) for line in lines):
            text.set_text("\n".join(lines))
            return
    kept = lines[:most]
    for j, line in enumerate(kept):
        cut = j == len(kept) - 1 and len(lines) > most
        while line and not fits(line + ("…" if cut else "")):
            line, cut = line[:-1], True
        kept[j] = line + ("…" if cut else "")
    text.set_text("\n".join(kept))


def stills(scene: Scene, which: Sequence[int | None], frames: bool = False) -> list:
    """Several frames of ``scene`` drawn with one figure, as RGBA arrays:
    each of ``which`` is an iteration (None: the last), or, with ``frames``,
    an index into the animation's frame schedule. Each is seen from the
    camera of its frame in the video: the last from the last frame's, an
    iteration from that of the first frame that shows it."""
    renderer = Renderer(scene)
    try:
        timeline = scene.timeline
        schedule = renderer.schedule() if frames or renderer._moves else None
        shots: list[tuple[int, Camera]] = []
        for k in which:
            if k is None:
                shot = (renderer.last, scene.camera(timeline.total_frames - 1))
            elif schedule is None or not frames:
                # The first frame that shows k (a fixed camera: any frame).
                index = timeline.frames - 1
                if schedule is not None and np.any(schedule >= k):
                    index = int(np.argmax(schedule >= k))
                shot = (k, scene.camera(timeline.intro_frames + index))
            elif not 0 <= k < len(schedule):
                raise RenderError(
                    f"frame {k} does not exist: the animation's frames are "
                    f"0 to {len(schedule) - 1}"
                )
            else:
                shot = (int(schedule[k]), scene.camera(timeline.intro_frames + k))
            shots.append(shot)
        words = _still_captions(scene, renderer, which, frames)
        # In increasing order: each frame then draws only the lines' new part.
        order = sorted(range(len(which)), key=lambda i: shots[i][0])
        drawn: dict[int, np.ndarray] = {}
        for i in order:
            drawn[i] = np.array(renderer.frame(*shots[i]), copy=True)
            if words[i]:  # on the frame just drawn, still in the buffer
                drawn[i] = np.array(renderer.caption(words[i]), copy=True)
        return [drawn[i] for i in range(len(which))]
    finally:
        renderer.close()


def _still_captions(
    scene: Scene, renderer: Renderer, which: Sequence[int | None], frames: bool
) -> list[tuple[str, ...]]:
    """The captions on each still of :func:`stills`: those of its frame of
    the video (the last: the video's last frame; an iteration: the first
    frame that shows it)."""
    captions = scene.captions
    if captions is None or not captions.drawn or not captions.items:
        return [() for _ in which]
    from optviz.draw.captions import cues, shown_on

    timeline = scene.timeline
    sequence = timeline.sequence(renderer.schedule().tolist())
    placed = cues(captions.items, sequence, timeline.fps)
    motion = np.array([-1 if k is None else k for k in sequence])
    out = []
    for k in which:
        if k is None:
            index = len(sequence) - 1
        elif frames:
            index = timeline.intro_frames + k
        else:
            index = min(len(sequence) - 1, int(np.searchsorted(motion, k)))
        out.append(shown_on(placed, index))
    return out
