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


THEMES: Registry[Theme] = Registry("theme")
"""Every theme by name, in the order ``optviz list`` shows them."""


def register(theme: Theme) -> Theme:
    """Add a theme; its name must be new."""
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
