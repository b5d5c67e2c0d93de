"""What lies under the trajectories, and the house look.

The palette the optimizers are coloured from, the contours of a surface on
its level spacing (log or linear) and the gradient field, in the colours of a
theme of :mod:`optviz.draw.themes`, and :func:`house_style`: matplotlib's own
defaults, so that a config draws the same pixels whatever the user's
matplotlib settings. Each layer is
drawn once per figure, never per frame.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, LogNorm, Normalize
from matplotlib.ticker import MaxNLocator

from optviz.draw import themes
from optviz.errors import RenderError

if TYPE_CHECKING:  # only read from, so no import-time coupling
    from optviz.surfaces import Surface

# Each method's own colour, the same in every video: Okabe & Ito's
# colour-blind-safe palette for the lecture's methods (its yellow nearly
# vanishes on the contours; its vermillion and sky blue are too close to its
# orange and blue to share a video with them), then darker hues for the
# second-order methods, which meet the first-order ones less often. The six
# first-order colours are pairwise at least MIN_DISTANCE apart, and the
# second-order ones from each other and from gd's and adam's.
METHOD_COLOURS = {
    "gd": "#0072B2",  # blue
    "momentum": "#E69F00",  # orange
    "nesterov": "#009E73",  # bluish green
    "adagrad": "#CC79A7",  # reddish purple
    "rmsprop": "#E41A1C",  # red
    "adam": "#000000",  # black
    "newton": "#8C510A",  # brown
    "bfgs": "#762A83",  # violet
    "lbfgs": "#00441B",  # dark green
    "cg": "#8BC34A",  # light green
}
# Where a method's colour is taken or too close to one in the video (a second
# optimizer of the same method, a user's own colour), the first of these that
# is far enough from every colour already in it; then the other methods'.
SPARE_COLOURS = (
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#999933",  # olive
    "#882255",  # wine
    "#777777",  # grey
    "#332288",  # indigo
    "#44AA99",  # teal
    "#A50026",  # dark red
)
PALETTE = (*METHOD_COLOURS.values(), *SPARE_COLOURS)
# Two optimizers of one video are at least this far apart in CIEDE2000 ΔE:
# Okabe & Ito's orange and vermillion ("two oranges") are 22.2 apart, and its
# blue and sky blue 22.3; easily told apart are 30 and more.
MIN_DISTANCE = 25.0


@functools.cache
def fill_map(name: str, reverse: bool = False) -> LinearSegmentedColormap:
    """The contour fill of the theme ``name`` as a colour map."""
    cmap = LinearSegmentedColormap.from_list(
        f"optviz_{name}_fill", themes.get(name).fill
    )
    return cmap.reversed() if reverse else cmap


_LEVELS = 25
_GRID = 400  # contour samples along the longer side of the view
# Log levels start at this quantile of the values above the minimum: the
# lowest values sit in a sliver around the minimum, and levels there would
# only stack rings around the star.
_LOW_QUANTILE = 0.002
_MAX_DECADES = 9.0
# The gradient field: an arrow about every this many pixels (at dpi 100), each this
# fraction of the spacing long, in a grey between the fill's light and dark
# ends on either theme (so it reads on both without competing with the paths).
_FIELD_SPACING = 40
_FIELD_LENGTH = 0.55


def optimizer_colours(
    count: int, colors: Sequence[str | None] = (), methods: Sequence[str] = ()
) -> list[str]:
    """One colour per optimizer, all at least :data:`MIN_DISTANCE` apart
    where the palette allows: ``colors[i]`` where given (a user's own colour
    always wins), else its method's colour (``methods[i]``, see
    :data:`METHOD_COLOURS`) unless that is too close to one already chosen,
    else the first colour of :data:`SPARE_COLOURS` and then the other
    methods' that is far enough from all chosen (without a method: of
    :data:`PALETTE`; past the palette's end, the one furthest from them).
    Optimizers whose method has a colour choose first, so that one without
    (a plug-in) does not take the colour of a method later in the list; a
    plug-in takes the spare colours first, so as not to look like a
    built-in method."""
    chosen: list[str | None] = [
        colors[i] if i < len(colors) else None for i in range(count)
    ]
    taken = [c for c in chosen if c is not None]

    def own_colour(i: int) -> str | None:
        return METHOD_COLOURS.get(methods[i]) if i < len(methods) else None

    order = sorted(range(count), key=lambda i: own_colour(i) is None)
    for i in order:
        if chosen[i] is not None:
            continue
        own = own_colour(i)
        if own:
            pool = [own, *SPARE_COLOURS, *METHOD_COLOURS.values()]
        elif i < len(methods):  # a plug-in: not a built-in's colour if it can
            pool = [*SPARE_COLOURS, *METHOD_COLOURS.values()]
        else:
            pool = list(PALETTE)

        def room(c: str) -> float:
            return min((colour_distance(c, t) for t in taken), default=np.inf)

        free = [c for c in pool if room(c) >= MIN_DISTANCE]
        colour = free[0] if free else max(pool, key=room)
        chosen[i] = colour
        taken.append(colour)
    return [c for c in chosen if c is not None]


def lab(colour: str | tuple) -> np.ndarray:
    """CIELAB (D65) coordinates of a matplotlib colour."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = _SRGB_TO_XYZ @ linear / _D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65 = np.array([0.95047, 1.0, 1.08883])


def colour_distance(a: str | tuple, b: str | tuple) -> float:
    """How different two colours look: CIEDE2000 ΔE (1: just noticeable)."""
    return lab_distance(lab(a), lab(b))


def lab_distance(
    first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray
) -> float:
    """CIEDE2000 ΔE between two CIELAB colours (Sharma, Wu & Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = first, second
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1 = math.degrees(math.atan2(b1, a1)) % 360
    h2 = math.degrees(math.atan2(b2, a2)) % 360
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    d_l, d_c = l2 - l1, c2 - c1
    d_h = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + (360 if h1 + h2 < 360 else -360)) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    r_c = 2 * math.sqrt(c_mean**7 / (c_mean**7 + 25**7))
    r_t = -math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2)))) * r_c
    return math.sqrt(
        (d_l / s_l) ** 2
        + (d_c / s_c) ** 2
        + (d_h / s_h) ** 2
        + r_t * (d_c / s_c) * (d_h / s_h)
    )


def contour_levels(z: np.ndarray, spacing: str, count: int = _LEVELS) -> np.ndarray:
    """``count`` increasing contour levels for the values ``z`` on the grid.

    ``"log"``: ``z`` must already be shifted so that its minimum is about
    zero; levels are log-spaced from a low quantile of the positive values to
    the largest, so that they show both the valley floor and the walls.
    ``"linear"``: evenly spaced between the extremes.
    """
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    if spacing == "log":
        z = z[z > 0]
    if z.size == 0:
        raise RenderError("the surface has no finite values to contour in the view")
    hi = float(z.max())
    if spacing == "log":
        lo = max(float(np.quantile(z, _LOW_QUANTILE)), hi * 10.0**-_MAX_DECADES)
        return np.geomspace(lo, hi, count) if lo < hi else np.array([hi / 2, hi])
    lo = float(z.min())
    return np.linspace(lo, hi, count) if lo < hi else np.array([lo - 1, lo + 1])


def surface_grid(surface: Surface, xlim, ylim) -> tuple[np.ndarray, ...]:
    """The view sampled on a grid: x (n,), y (m,) and the values (m, n) to contour.

    With log spacing the values are ``f − f*``: the grid can dip a hair below
    a known f* by rounding, and it is the lowest of the two that is subtracted.
    """
    dx, dy = xlim[1] - xlim[0], ylim[1] - ylim[0]
    x = np.linspace(xlim[0], xlim[1], max(2, round(_GRID * min(1.0, dx / dy))))
    y = np.linspace(ylim[0], ylim[1], max(2, round(_GRID * min(1.0, dy / dx))))
    xx, yy = np.meshgrid(x, y)
    with np.errstate(all="ignore"):
        z = np.asarray(surface.f(np.stack((xx, yy), axis=-1)), dtype=float)
    if surface.levels == "log":
        finite = z[np.isfinite(z)]
        if finite.size:
            z = z - min(surface.f_min, float(finite.min()))
    return x, y, z


def house_style():
    """matplotlib's own defaults with its bundled DejaVu fonts, whatever the
    user's matplotlibrc or style says: the same config draws the same pixels
    on every machine (snapshot tests rely on it)."""
    import matplotlib as mpl

    rc = dict(mpl.rcParamsDefault)
    rc.update({"font.family": ["DejaVu Sans"], "mathtext.fontset": "dejavusans"})
    rc.pop("backend", None)
    return mpl.rc_context(rc)


def styled(method):
    """Run ``method`` in :func:`house_style` (costs ~2 ms: not per video frame)."""

    @functools.wraps(method)
    def in_style(*args, **kwargs):
        with house_style():
            return method(*args, **kwargs)

    return in_style


def draw_contours(
    axes, surface: Surface, xlim, ylim, theme: str = "light", labels: bool = False
):
    """The contours on the surface's level spacing, as the theme draws them:
    filled bands with thin lines, or coloured lines alone; ``labels`` writes
    the value of f on every third line. On linear levels a colour scale
    beside the axes tells a bump from a dimple (log levels rise from the
    minimum, and their rings already say which way is down); a theme with
    ``colour_bar`` gives log levels one too, ticked in decades of f − f*.
    Lines are solid, below zero too (matplotlib would dash those)."""
    x, y, z = surface_grid(surface, xlim, ylim)
    look = themes.get(theme)
    levels = contour_levels(z, surface.levels, look.levels)
    norm_type = LogNorm if surface.levels == "log" else Normalize
    # On log levels the grid's lowest point (f − f* = 0) cannot be drawn:
    # mask it here rather than have matplotlib warn about it on stderr.
    z = np.ma.masked_invalid(np.where(z > 0, z, np.nan) if norm_type is LogNorm else z)
    norm = norm_type(levels[0], levels[-1])
    line_style = dict(
        linewidths=look.line_width, linestyles="solid", alpha=look.line_alpha,
        zorder=1,
    )  # fmt: skip
    if look.contours == "lines":
        lines = axes.contour(
            x, y, z, levels=levels, norm=norm, cmap=fill_map(theme), **line_style
        )
        # The colour bar shows the colours continuously, not as lines.
        from matplotlib.cm import ScalarMappable

        scale = ScalarMappable(norm=norm, cmap=fill_map(theme))
    else:
        scale = axes.contourf(
            x, y, z, levels=levels, norm=norm, cmap=fill_map(theme), extend="both",
            zorder=0,
        )  # fmt: skip
        lines = axes.contour(x, y, z, levels=levels, colors=look.line, **line_style)
    if surface.levels == "linear":
        bar = axes.figure.colorbar(scale, ax=axes, fraction=0.05, pad=0.02)
        # Round values, not the levels' own; none on the extension ends.
        lo, hi = levels[0], levels[-1]
        ticks = MaxNLocator(6).tick_values(lo, hi)
        slack = 1e-9 * (hi - lo)
        bar.set_ticks(ticks[(ticks >= lo - slack) & (ticks <= hi + slack)])
        bar.set_label("f")
        bar.outline.set_linewidth(0.5)
    elif look.colour_bar:
        _log_colour_bar(axes, norm, theme)
    if labels:
        # The grid holds f − f* on log levels: label f itself.
        shift = grid_shift(surface, xlim, ylim) if surface.levels == "log" else 0.0
        axes.clabel(
            lines,
            levels[::3],
            fontsize="x-small",
            colors=look.label,
            fmt=lambda v: f"{v + shift:.3g}",
        )


def _log_colour_bar(axes, norm, theme: str):
    """A continuous colour bar of log levels beside ``axes``, labelled
    f − f* and ticked at whole decades (every other one or more where there
    are many)."""
    from matplotlib.cm import ScalarMappable

    mappable = ScalarMappable(norm=norm, cmap=fill_map(theme))
    bar = axes.figure.colorbar(mappable, ax=axes, fraction=0.05, pad=0.02)
    bar.ax.minorticks_off()
    lo, hi = math.log10(norm.vmin), math.log10(norm.vmax)
    decades = np.arange(math.ceil(lo), math.floor(hi) + 1)
    if decades.size >= 2:
        bar.set_ticks(10.0 ** decades[:: max(1, math.ceil(decades.size / 7))])
    bar.set_label("f − f*")
    bar.outline.set_linewidth(0.5)
    return bar


def gradient_field(
    surface: Surface, xlim, ylim, columns: int, rows: int
) -> tuple[np.ndarray, ...]:
    """−∇f, normalised to unit length, at the centres of a ``columns`` × ``rows``
    grid over the view: x, y, u, v, each (n,).

    Where ∇f is zero or not finite there is no direction to show, and no
    arrow: those points are left out.
    """
    x = xlim[0] + (np.arange(columns) + 0.5) * (xlim[1] - xlim[0]) / columns
    y = ylim[0] + (np.arange(rows) + 0.5) * (ylim[1] - ylim[0]) / rows
    points = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        g = np.asarray(surface.grad(points), dtype=float).reshape(-1, 2)
        # Scaled by its largest component first: the norm of a huge but
        # finite gradient would overflow.
        big = np.abs(g).max(axis=1)
        keep = np.isfinite(big) & (big > 0)
        g = g[keep] / big[keep, None]
        g /= np.hypot(g[:, 0], g[:, 1])[:, None]
    return points[keep, 0], points[keep, 1], -g[:, 0], -g[:, 1]


def draw_gradient_field(axes, surface: Surface, xlim, ylim, theme: str = "light"):
    """Arrows of −∇f, all the same length, about every :data:`_FIELD_SPACING`
    pixels of ``axes`` (which must be laid out already), under the contour
    lines; the quiver, or None where no point has a gradient to show.

    An arrow points where a gradient step goes in the picture: along −∇f in
    data coordinates (``angles="xy"``), so across contour lines at right
    angles only where the axes' scales are equal.
    """
    box = axes.get_window_extent()
    # Pixels at dpi 100: in proportion to the frame at any size.
    zoom = axes.figure.dpi / 100
    columns = max(2, round(box.width / (_FIELD_SPACING * zoom)))
    rows = max(2, round(box.height / (_FIELD_SPACING * zoom)))
    x, y, u, v = gradient_field(surface, xlim, ylim, columns, rows)
    if not x.size:
        return None
    spacing = min(box.width / columns, box.height / rows)
    return axes.quiver(
        x, y, u, v, angles="xy", pivot="middle",
        scale_units="dots", scale=1 / (_FIELD_LENGTH * spacing),
        units="dots", width=1.4 * zoom,
        headwidth=4.0, headlength=4.5, headaxislength=4.0,
        color=themes.get(theme).arrows, linewidth=0, zorder=0.5,
    )  # fmt: skip


def grid_shift(surface: Surface, xlim, ylim) -> float:
    """What :func:`surface_grid` subtracted from f on log levels."""
    x, y, z = surface_grid(surface, xlim, ylim)
    with np.errstate(all="ignore"):
        raw = surface.f(np.array([[x[0], y[0]]]))
    return float(np.asarray(raw).ravel()[0] - z[0, 0])


def on_dark(colour: str) -> str:
    """``colour``, or white where it is black (invisible on the dark theme)."""
    from matplotlib.colors import to_rgb

    return "#FFFFFF" if to_rgb(colour) == (0.0, 0.0, 0.0) else colour
