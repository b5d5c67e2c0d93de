"""The themes (``animation.theme``): every colour a theme sets, as data.

A theme is one :class:`Theme` value registered by name in :data:`THEMES`;
the config validates ``animation.theme`` against it, ``optviz list themes``
prints it, and the drawing reads its colours from it (nothing else names a
theme). This module imports no matplotlib, so the config can read it on a
``--no-video`` run that never draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from optviz.registry import Registry

CONTOURS = ("filled", "lines")  # the ways a theme may draw the contours


@dataclass(frozen=True)
class Theme:
    """The colours of one look of the frames."""

    name: str
    summary: str  # what ``optviz list themes`` prints
    fill: tuple[str, ...]  # the contours' fill, from low to high values
    line: str  # contour lines, and the 3-D mesh's edges
    label: str  # the values written on contour lines
    arrows: str  # the gradient field's arrows
    legend_edge: str
    card: Mapping[str, str]  # the title card's "face", "edge" and "text"
    panes: tuple[float, float, float, float]  # the 3-D view's panes, RGBA
    # The 3-D mesh shades with the fill reversed (light: high is dark, so the
    # surface stands out against a light sky) or as it is.
    mesh_reversed: bool = False
    # Black is invisible on a dark background: optimizers drawn black are
    # drawn white instead.
    no_black: bool = False
    # matplotlib settings for everything it colours by itself (text, ticks,
    # axes, the figure's and the legend's face).
    rc: Mapping[str, str] = field(default_factory=dict)
    # How the contours are drawn: "filled" (bands shaded by ``fill``, thin
    # lines in ``line``) or "lines" (lines only, each coloured by ``fill`` at
    # its level, on the axes' own face).
    contours: str = "filled"
    levels: int = 25  # contour levels in the view, on the surface's spacing
    line_width: float = 0.5  # points, of the contour lines
    line_alpha: float = 0.45
    # A colour bar of the levels beside the contours: on linear levels always
    # (it tells a bump from a dimple); on log levels where this is set.
    colour_bar: bool = False
    mesh_edges: bool = True  # the 3-D mesh's facets edged in ``line``


THEMES: Registry[Theme] = Registry("theme")
"""Every theme by name, in the order ``optviz list`` shows them."""


def register(theme: Theme) -> Theme:
    """Add a theme; its name must be new."""
    if theme.contours not in CONTOURS:
        raise ValueError(f"contours must be one of {CONTOURS}; got {theme.contours!r}")
    if theme.levels < 2:
        raise ValueError(f"a theme needs at least 2 levels; got {theme.levels}")
    return THEMES.add(theme.name, theme)


def get(name: str) -> Theme:
    """The theme of ``name``; a KeyError that lists the valid names."""
    return THEMES.lookup(name)


register(
    Theme(
        name="light",
        summary="grey contours on white (the default)",
        # The contours carry no hue, so that only the trajectories are coloured.
        fill=("#ffffff", "#e4e9ef", "#b3bcc8"),
        line="#5a6472",
        label="#3a4350",
        arrows="#7d8896",
        legend_edge="#444444",
        card={"face": "white", "edge": "#444444", "text": "black"},
        panes=(0.95, 0.95, 0.95, 0.5),
        mesh_reversed=True,
    )
)
_DARK = "#15191f"
register(
    Theme(
        name="dark",
        summary="dark contours on near-black, for dark slides",
        fill=("#0e1116", "#1c232c", "#323d4b"),
        line="#8a96a6",
        label="#c8ced6",
        arrows="#76828f",
        legend_edge="#8a96a6",
        card={"face": "#222831", "edge": "#8a96a6", "text": "#e6e9ee"},
        panes=(0.13, 0.16, 0.2, 0.9),
        no_black=True,
        rc={
            "figure.facecolor": _DARK,
            "axes.facecolor": _DARK,
            "axes.edgecolor": "#c8ced6",
            "axes.labelcolor": "#e6e9ee",
            "text.color": "#e6e9ee",
            "xtick.color": "#c8ced6",
            "ytick.color": "#c8ced6",
            "legend.facecolor": "#222831",
            "legend.edgecolor": "#8a96a6",
        },
    )
)
# Louis Tiao's notes on animating optimizers with matplotlib, which the
# lecture credits for its animations: coloured contour lines on white, log
# spaced, in matplotlib's "jet" (sampled here at 17 even stops).
_JET = (
    "#000080", "#0000c8", "#0000ff", "#0040ff", "#0080ff", "#00c0ff",
    "#16ffe1", "#49ffad", "#7dff7a", "#b1ff46", "#e4ff13", "#ffd000",
    "#ff9400", "#ff5900", "#ff1e00", "#c40000", "#800000",
)  # fmt: skip
register(
    Theme(
        name="classic",
        summary="coloured contour lines on white with a colour bar (Tiao's notes)",
        fill=_JET,
        line="#5a6472",
        label="#3a4350",
        arrows="#9aa3ad",
        legend_edge="#444444",
        card={"face": "white", "edge": "#444444", "text": "black"},
        panes=(0.95, 0.95, 0.95, 0.5),
        contours="lines",
        levels=35,
        line_width=0.9,
        line_alpha=1.0,
        colour_bar=True,
        mesh_edges=False,
    )
)
