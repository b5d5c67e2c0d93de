"""The surface and the trajectories on one axes: a view.

A view draws what never moves on its axes (the contours, or the surface in
3-D) and makes the artists that do — a line per trajectory, the landmarks
(starts and minima), one collection of heads — which the renderer
(:mod:`optviz.draw.figure`) animates. :class:`View` is the 2-D contour plot,
:class:`View3D` the surface in 3-D; a figure may hold one of each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from optviz.draw import themes
from optviz.draw.backdrop import (
    draw_contours,
    draw_gradient_field,
    fill_map,
    grid_shift,
    surface_grid,
)

if TYPE_CHECKING:  # only read from, so no import-time coupling
    from optviz.draw.scene import Camera, Look
    from optviz.optim.runner import Trajectory
    from optviz.surfaces import Surface


# Equal x and y units may narrow the axes to no less than 1/this of their
# slot (in width or height); a view that would need more is stretched.
_MAX_SQUEEZE = 2.0

# How each kind of landmark is drawn, and named in the legend's key.
MARKERS: dict[str, dict[str, Any]] = {
    "global minimum": dict(marker="*", markersize=22, markerfacecolor="#FFD23F",
                           markeredgecolor="black", markeredgewidth=1.0),
    "local minimum": dict(marker="*", markersize=15, markerfacecolor="white",
                          markeredgecolor="black", markeredgewidth=1.0),
    "saddle point": dict(marker="X", markersize=12, markerfacecolor="white",
                         markeredgecolor="black", markeredgewidth=1.0),
    "start": dict(marker="o", markersize=10, markerfacecolor="white",
                  markeredgecolor="black", markeredgewidth=1.8),
}  # fmt: skip
# The order of the legend's key.
KEY = ("start", "global minimum", "local minimum", "saddle point")


def landmarks(
    surface: Surface, trajectories: Sequence[Trajectory]
) -> list[tuple[str, list[tuple[float, float]]]]:
    """Each kind of :data:`MARKERS` with its points: the surface's global and
    local minima and saddles, and the trajectories' starts (each once)."""
    minima = [(m.x, m.y) for m in surface.minima if m.kind == "global"]
    local = [(m.x, m.y) for m in surface.minima if m.kind != "global"]
    saddles = [(m.x, m.y) for m in surface.saddles]
    starts = sorted(
        {(float(t.points[0][0]), float(t.points[0][1])) for t in trajectories}
    )
    return [
        ("global minimum", minima),
        ("local minimum", local),
        ("saddle point", saddles),
        ("start", starts),
    ]


LINE_WIDTH = 2.0  # points: a trajectory's line
HEAD_SIZE = 7.0  # points: the diameter of a head
# A line that lies under a later one for at least this share of its length is
# drawn this much wider than the widest of them, and a head under another
# optimizer's head this much wider than it: coincident paths and heads show
# as nested bands and rings of their colours instead of hiding each other.
_COVERED_SHARE = 0.6
_WIDER = 2.0  # points, for lines
_RING = 6.0  # points, for heads


def stacked_widths(
    paths: Sequence[np.ndarray],
    groups: Sequence[int],
    shape: tuple[int, int],
    px_per_pt: float,
) -> list[float]:
    """The line width (points) of each of ``paths``, drawn in order, later on
    top: :data:`LINE_WIDTH`, or wider than the lines of other ``groups``
    (optimizers) drawn over it where they hide a share of it.

    ``paths`` are (n, 2) in pixels of a ``shape`` (width, height) canvas.
    Gradient descent with momentum and Nesterov's on Beale's function run
    2e-4 apart, a hundredth of a pixel: the one drawn first would vanish.
    """
    w, h = shape
    centres = [centreline(p, w, h) for p in paths]
    widths = [LINE_WIDTH] * len(paths)
    masks: dict[int, np.ndarray] = {}
    for i in reversed(range(len(paths))):
        own = centres[i]
        if own.size:
            for j in range(i + 1, len(paths)):
                if groups[j] == groups[i] or not centres[j].size:
                    continue
                if j not in masks:
                    masks[j] = cover(centres[j], w, h, widths[j] * px_per_pt / 2)
                if masks[j][own].mean() >= _COVERED_SHARE:
                    widths[i] = max(widths[i], widths[j] + _WIDER)
    return widths


def centreline(path: np.ndarray, w: int, h: int) -> np.ndarray:
    """The flat indices of the pixels a path's centre runs through."""
    path = np.asarray(path, dtype=float)
    path = path[np.all(np.isfinite(path), axis=1)]
    if len(path) < 2:
        return dots(path, w, h)
    # Outside the canvas nothing is drawn: clipping keeps segments short.
    path = np.clip(path, (-2.0, -2.0), (w + 1.0, h + 1.0))
    steps = np.hypot(*np.diff(path, axis=0).T)
    spacing = max(0.5, float(steps.sum()) / 2e6)  # at most ~2e6 samples
    counts = np.maximum(1, np.ceil(steps / spacing).astype(int))
    seg = np.repeat(np.arange(len(steps)), counts)
    t = (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ) / np.repeat(counts, counts)
    points = path[seg] + (path[seg + 1] - path[seg]) * t[:, None]
    return dots(np.vstack([points, path[-1:]]), w, h)


def dots(points: np.ndarray, w: int, h: int) -> np.ndarray:
    """The flat indices of the pixels that ``points`` (n, 2) fall in."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    points = points[np.all(np.isfinite(points), axis=1)]
    col, row = np.floor(points[:, 0]).astype(int), np.floor(points[:, 1]).astype(int)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    return np.unique(row[inside] * w + col[inside])


def cover(centre: np.ndarray, w: int, h: int, radius: float) -> np.ndarray:
    """A flat (h·w,) mask of the pixels within ``radius`` of ``centre``'s."""
    mask = np.zeros((h, w), dtype=bool)
    rows, cols = np.divmod(centre, w)
    reach = max(0, int(np.floor(radius)))
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if dx * dx + dy * dy <= radius * radius:
                r, c = rows + dy, cols + dx
                ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
                mask[r[ok], c[ok]] = True
    return mask.ravel()


def nested_sizes(
    points: np.ndarray, groups: Sequence[int], px_per_pt: float
) -> np.ndarray:
    """Each head's diameter (points): :data:`HEAD_SIZE`, or a ring wider than
    every head of another group (optimizer) drawn over it that would hide
    it, so that two optimizers at one spot (on the minimum, at the start)
    show as a dot in a ring. ``points`` are the heads in pixels, (n, 2), in
    drawing order."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    group = np.asarray(groups)
    sizes = np.full(len(points), HEAD_SIZE)
    close = HEAD_SIZE / 2 * px_per_pt
    for i in range(len(points) - 2, -1, -1):
        later = slice(i + 1, None)
        with np.errstate(invalid="ignore"):
            d = np.hypot(*(points[later] - points[i]).T)
        over = (d < close) & (group[later] != group[i])
        if over.any():
            sizes[i] = sizes[later][over].max() + _RING
    return sizes


class View:
    """The surface and the trajectories on one axes: here the contours (2-D).

    A view draws what never moves (its background) and makes the artists that
    do (a line per trajectory, the landmarks, one collection of heads); the
    renderer animates those. :class:`View3D` draws the same in 3-D.
    """

    def __init__(
        self,
        trajectories: Sequence[Trajectory],
        colours: Sequence[str],
        theme: str,
        fig,
        spec,
        xlim,
        ylim,
    ):
        self.trajectories = trajectories
        self.colours = colours
        self.theme = theme
        self.axes = self.new_axes(fig, spec)
        self.axes.set_xlim(xlim)
        self.axes.set_ylim(ylim)
        self.axes.set_xlabel("x")
        self.axes.set_ylabel("y")
        self.lines: list[Line2D] = []  # one per trajectory, by add_lines()
        self.heads: Any = None  # one collection for all, by add_heads()

    @staticmethod
    def new_axes(fig, spec):
        return fig.add_subplot() if spec is None else fig.add_subplot(spec)

    def draw_background(self, surface: Surface, xlim, ylim, look: Look) -> None:
        draw_contours(self.axes, surface, xlim, ylim, self.theme, look.contour_labels)
        if look.backdrop is not None:  # over the filled contours, under the lines
            b = look.backdrop
            self.axes.imshow(
                b.image, extent=b.extent, origin="lower", interpolation="nearest",
                aspect="auto", alpha=b.alpha, zorder=0.5,
            )  # fmt: skip
            self.axes.set_xlim(xlim)  # imshow sets the limits to its extent
            self.axes.set_ylim(ylim)

    def draw_field(self, surface: Surface, xlim, ylim, look: Look) -> None:
        """What needs the laid-out axes: the gradient field, if asked for."""
        if look.gradient_field:
            draw_gradient_field(self.axes, surface, xlim, ylim, self.theme)

    def fit_aspect(self) -> None:
        """Make x and y units one length on the axes as laid out, unless that
        leaves them under 1/:data:`_MAX_SQUEEZE` of their slot's width or
        height (a long, thin view): then the view fills its slot."""
        box = self.axes.get_position(original=True)
        width, height = self.axes.figure.get_size_inches()
        slot = (box.height * height) / (box.width * width)
        (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
        data = abs(y1 - y0) / abs(x1 - x0)
        if max(slot / data, data / slot) <= _MAX_SQUEEZE:
            self.axes.set_aspect("equal", adjustable="box")

    def fit_labels(
        self, right: float, renderer, cameras: Sequence[Camera] = ()
    ) -> None:
        pass  # constrained layout places a 2-D axes' labels

    def path(self, t: Trajectory) -> np.ndarray:
        """The points a trajectory's line runs through, (n, 2) or (n, 3)."""
        return t.points

    def add_lines(self) -> list[Line2D]:
        lines = []
        for t in self.trajectories:
            (line,) = self.axes.plot(
                t.points[:, 0],
                t.points[:, 1],
                color=self.colours[t.optimizer],
                linewidth=LINE_WIDTH,
                solid_joinstyle="round",
                solid_capstyle="round",
                zorder=5,
            )
            lines.append(line)
        self.lines = lines
        return lines

    def add_landmarks(self, surface: Surface) -> tuple[list, list]:
        """The markers (see :data:`MARKERS`): a star on each minimum (hollow
        if local), a cross on each saddle, a ring on each start; as the
        artists drawn under the heads and those drawn over them.

        They sit above the lines, which start and end on them. A head that
        arrives on a minimum or a saddle covers its fill but never its
        outline, which is drawn again over the heads.
        """
        under, over = [], []
        for kind, points in landmarks(surface, self.trajectories):
            if not points:
                continue
            style = MARKERS[kind]
            x, y = np.array(points, dtype=float).T
            coords = [x, y, self.heights(kind, points)] if self.depth else [x, y]
            under += self.axes.plot(*coords, linestyle="none", zorder=6, **style)
            if kind != "start":
                over += self.axes.plot(
                    *coords, linestyle="none", zorder=8,
                    **dict(style, markerfacecolor="none"),
                )  # fmt: skip
        return under, over

    depth = False  # 3-D views give landmarks a height

    def heights(self, kind: str, points) -> list[float]:
        return []

    def add_heads(self):
        """One dot per trajectory where it is now: one artist for all."""
        ends = np.array([t.points[-1] for t in self.trajectories]).reshape(-1, 2)
        self.heads = self.axes.scatter(
            ends[:, 0],
            ends[:, 1],
            s=HEAD_SIZE**2,
            c=[self.colours[t.optimizer] for t in self.trajectories] or None,
            edgecolors="white",
            linewidths=1.2,
            zorder=7,
        )
        return self.heads

    def pixels(self, points: np.ndarray) -> np.ndarray:
        """(n, 2) points of the plane where the axes draw them, in pixels."""
        return self.axes.transData.transform(np.asarray(points, dtype=float))

    def show_heads(self, ends: Sequence[int], sizes: np.ndarray | None = None) -> None:
        """Move the heads to index ``ends[i]`` of trajectory ``i`` (with
        diameters ``sizes`` in points)."""
        points = [t.points[n] for t, n in zip(self.trajectories, ends)]
        self.heads.set_offsets(np.array(points, dtype=float).reshape(-1, 2))
        if sizes is not None:
            self.heads.set_sizes(np.asarray(sizes) ** 2)


_FACETS = 80  # the 3-D surface's mesh, a side


class View3D(View):
    """The surface in 3-D with the trajectories running on it, at the height
    of their loss (on a log scale for surfaces with log contour levels). A
    camera that does not move lets the surface be drawn once like the
    contours; one that moves makes the renderer draw the axes every frame.
    Every layer keeps its 2-D stacking order: lines and heads stay visible in
    front of the surface."""

    @staticmethod
    def new_axes(fig, spec):
        kw = dict(projection="3d", computed_zorder=False)
        return fig.add_subplot(**kw) if spec is None else fig.add_subplot(spec, **kw)

    def draw_background(self, surface: Surface, xlim, ylim, look: Look) -> None:
        self._surface = surface
        x, y, z = surface_grid(surface, xlim, ylim)
        self._log = surface.levels == "log"
        self._shift = grid_shift(surface, xlim, ylim) if self._log else 0.0
        # 80 facets a side draw in a blink; the view's edges stay in.
        ix = np.unique(np.linspace(0, len(x) - 1, min(len(x), _FACETS + 1)).round())
        iy = np.unique(np.linspace(0, len(y) - 1, min(len(y), _FACETS + 1)).round())
        ix, iy = ix.astype(int), iy.astype(int)
        x, y, z = x[ix], y[iy], z[np.ix_(iy, ix)]
        finite = z[np.isfinite(z) & (z > 0)] if self._log else z[np.isfinite(z)]
        # On log heights f − f* → 0 would sink a path to −∞: the lowest point
        # of the surface as drawn is the floor, so that a path ends on the
        # mesh, with the minimum's star, not in a spike below it.
        self._floor = float(finite.min()) if finite.size else 1e-12
        zz = self._height(z + self._shift)
        xx, yy = np.meshgrid(x, y)
        theme = themes.get(self.theme)
        self.axes.plot_surface(
            xx, yy, zz,
            cmap=fill_map(self.theme, reverse=theme.mesh_reversed),
            linewidth=0.2 if theme.mesh_edges else 0.0,
            edgecolor=theme.line if theme.mesh_edges else "none",
            alpha=0.85, antialiased=True, zorder=0,
        )  # fmt: skip
        for axis in (self.axes.xaxis, self.axes.yaxis, self.axes.zaxis):
            axis.set_pane_color(theme.panes)
        # Heights are log10(f − f*) on log levels: ticked and labelled in
        # f − f* itself (10⁻², 10⁰, 10²), which is what a viewer reads.
        self.axes.set_zlabel("f − f*" if self._log else "f")
        low, high = np.nanmin(zz), np.nanmax(zz)
        if np.isfinite(low) and np.isfinite(high) and high > low:
            self.axes.set_zlim(low, high)
            if self._log:
                self.axes.set_zticks(decade_ticks(low, high))
                self.axes.zaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        self._box = (xlim, ylim, self.axes.get_zlim())

    def draw_field(self, surface: Surface, xlim, ylim, look: Look) -> None:
        pass  # the gradient field lies in the plane: the config allows it in 2-D

    def fit_aspect(self) -> None:
        pass  # a 3-D box has its own proportions

    def fit_labels(
        self, right: float, renderer, cameras: Sequence[Camera] = ()
    ) -> None:
        """Shrink the box in its axes until its tick labels and z label end
        left of ``right`` (pixels), seen from each of ``cameras`` (none: the
        camera as it is): constrained layout does not see where a 3-D axes'
        labels go, and would let them run into a panel or off the frame."""
        # A legend beside the box stays where it is as the box shrinks (and
        # is not drawn for nothing).
        legend = self.axes.get_legend()
        if legend is not None:
            legend.set_visible(False)
        try:
            zoom = 1.0
            for _ in range(6):
                over = -math.inf
                turns: list[Camera | None] = [*cameras] or [None]
                for camera in turns:
                    if camera is not None:
                        self.aim(camera)
                    self.axes.draw(renderer)  # places the labels; pixels redrawn
                    over = max(over, self.axes.get_tightbbox(renderer).x1 - right)
                if over <= 0:
                    return
                zoom *= max(0.7, 1 - 1.5 * over / self.axes.bbox.width)
                self.axes.set_box_aspect(None, zoom=zoom)
        finally:
            if legend is not None:
                legend.set_visible(True)

    def label_boxes(self, renderer) -> list:
        """Where the tick labels and axis labels are drawn as the camera is
        now, in pixels (the axes are drawn to place them)."""
        legend = self.axes.get_legend()
        if legend is not None:
            legend.set_visible(False)
        try:
            self.axes.draw(renderer)
        finally:
            if legend is not None:
                legend.set_visible(True)
        boxes = []
        for axis in (self.axes.xaxis, self.axes.yaxis, self.axes.zaxis):
            # The ticks drawn (in the view), not stale ones beyond it.
            texts = [tick.label1 for tick in axis._update_ticks()] + [axis.label]
            boxes += [
                t.get_window_extent(renderer)
                for t in texts
                if t.get_visible() and t.get_text()
            ]
        return boxes

    def aim(self, camera: Camera) -> None:
        """Look at the surface from ``camera``."""
        if (self.axes.elev, self.axes.azim) != (camera.elevation, camera.azimuth):
            self.axes.view_init(elev=camera.elevation, azim=camera.azimuth)

    def _height(self, f) -> np.ndarray:
        """The height at which a value ``f`` of the surface is drawn."""
        f = np.asarray(f, dtype=float)
        if not self._log:
            return f
        with np.errstate(all="ignore"):
            return np.log10(np.maximum(f - self._shift, self._floor))

    def path(self, t: Trajectory) -> np.ndarray:
        """The trajectory in 3-D, with NaN where it is outside the box (which
        breaks the line there): 3-D axes do not clip what they draw, and a
        path running off a saddle would run on down the figure."""
        path = np.column_stack((t.points, self._height(t.loss)))
        path[self._outside(path)] = np.nan
        return path

    def _outside(self, points: np.ndarray) -> np.ndarray:
        """Which points (..., 3) are outside the box (with a little slack in
        height: the drawn surface is a sample of f)."""
        (x0, x1), (y0, y1), (z0, z1) = self._box
        slack = 0.01 * (z1 - z0)
        x, y, z = points[..., 0], points[..., 1], points[..., 2]
        with np.errstate(invalid="ignore"):
            outside = (x < x0) | (x > x1) | (y < y0) | (y > y1)
            return outside | (z < z0 - slack) | (z > z1 + slack)

    def lift(self, points: np.ndarray, above: float = 0.0) -> np.ndarray:
        """Points of the plane, (..., 2), on the surface: (..., 3) at the
        height a path there is drawn at, raised by ``above`` times the box's
        height; NaN where outside the box (as :meth:`path`)."""
        p = np.asarray(points, dtype=float)
        with np.errstate(all="ignore"):
            z = self._height(np.asarray(self._surface.f(p), dtype=float))
        out = np.stack([p[..., 0], p[..., 1], z], axis=-1)
        outside = self._outside(out) | ~np.isfinite(z)
        (z0, z1) = self._box[2]
        out[..., 2] += above * (z1 - z0)
        out[outside] = np.nan
        return out

    _paths: list[np.ndarray] | None = None  # each trajectory's path, by show_heads

    def add_lines(self) -> list:
        lines = []
        for t in self.trajectories:
            path = self.path(t)
            (line,) = self.axes.plot(
                path[:, 0], path[:, 1], path[:, 2], color=self.colours[t.optimizer],
                linewidth=LINE_WIDTH, solid_joinstyle="round", solid_capstyle="round",
                zorder=5,
            )  # fmt: skip
            lines.append(line)
        self.lines = lines
        return lines

    depth = True

    def heights(self, kind: str, points) -> list[float]:
        """Minima and saddles at the height of their value, starts at the
        height of their path's first point."""
        if kind == "start":
            firsts = {tuple(t.points[0]): self.path(t)[0, 2] for t in self.trajectories}
            return [float(firsts[tuple(p)]) for p in points]
        values = {
            (m.x, m.y): m.value for m in (*self._surface.minima, *self._surface.saddles)
        }
        return [float(self._height(values[tuple(p)])) for p in points]

    def add_heads(self):
        ends = np.array([self.path(t)[-1] for t in self.trajectories]).reshape(-1, 3)
        # A 3-D scatter drops its non-finite points when it is made, and their
        # colours with them; a path that diverged ends outside the box (NaN),
        # and the heads later moved with every point would index past the
        # colours left. Made at finite places, then put where they are.
        placed = np.where(np.isfinite(ends), ends, 0.0)
        self.heads = self.axes.scatter(
            placed[:, 0], placed[:, 1], placed[:, 2], s=HEAD_SIZE**2,
            c=[self.colours[t.optimizer] for t in self.trajectories] or None,
            edgecolors="white", linewidths=1.2, zorder=7, depthshade=False,
        )  # fmt: skip
        self.heads._offsets3d = tuple(ends.T)
        return self.heads

    def pixels(self, points: np.ndarray) -> np.ndarray:
        """Points of the plane, on the surface (at the height of f there), in
        pixels as the camera sees them; NaN where outside the box."""
        from mpl_toolkits.mplot3d import proj3d  # type: ignore[import-untyped]

        p = np.asarray(points, dtype=float).reshape(-1, 2)
        with np.errstate(all="ignore"):
            z = self._height(np.asarray(self._surface.f(p), dtype=float))
        (x0, x1), (y0, y1), (z0, z1) = self._box
        x, y = p.T
        outside = (x < x0) | (x > x1) | (y < y0) | (y > y1) | ~np.isfinite(z)
        z = np.clip(np.where(np.isfinite(z), z, z0), z0, z1)
        px, py, _ = proj3d.proj_transform(x, y, z, self.axes.get_proj())
        out = self.axes.transData.transform(np.column_stack((px, py)))
        out[outside] = np.nan
        return out

    def show_heads(self, ends: Sequence[int], sizes: np.ndarray | None = None) -> None:
        if sizes is not None:
            self.heads.set_sizes(np.asarray(sizes) ** 2)
        if self._paths is None:  # computed once: this runs every frame
            self._paths = [self.path(t) for t in self.trajectories]
        points = [path[n] for path, n in zip(self._paths, ends)]
        x, y, z = np.array(points, dtype=float).reshape(-1, 3).T
        self.heads._offsets3d = (x, y, z)
        # A full draw projects 3-D collections before drawing them; a lone
        # draw_artist does not, and would draw the heads where they were.
        self.heads.do_3d_projection()


def decade_ticks(low: float, high: float) -> np.ndarray:
    """Tick heights between the log10 heights ``low`` and ``high``: whole
    decades, every other one or more if there are many, or 1, 2, 5 times
    a decade if under two fit."""
    whole = np.arange(np.ceil(low), np.floor(high) + 1)
    if whole.size >= 2:
        return whole[:: max(1, int(np.ceil(whole.size / 7)))]
    decades = np.arange(np.floor(low), np.ceil(high) + 1)
    heights = (decades[:, None] + np.log10([1, 2, 5])).ravel()
    return heights[(heights >= low) & (heights <= high)]


def _power_of_ten(height: float, _position=None) -> str:
    """The value at log10 height ``height``: 10^k, or m×10^k."""
    k = int(np.floor(height + 1e-9))
    mantissa = 10 ** (height - k)
    if abs(mantissa - 1) < 1e-6:
        return f"$\\mathdefault{{10^{{{k}}}}}$"
    return f"$\\mathdefault{{{mantissa:.2g}\\times10^{{{k}}}}}$"


def set_line(line, points: np.ndarray) -> None:
    if points.shape[1] == 3:
        line.set_data_3d(points[:, 0], points[:, 1], points[:, 2])
    else:
        line.set_data(points[:, 0], points[:, 1])
