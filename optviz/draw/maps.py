"""Pictures of maps: which minimum each start reaches (basins), or how soon
each pair of hyperparameters reaches one (phase).

The colours, as the legend of each picture says:

- basins: one hue per known minimum; lighter the sooner the start got there
  (iterations on a log scale); near-black for a start that diverged, mid
  grey for one that reached no minimum;
- phase: iterations to reach a minimum on a log colour scale (a colour bar
  gives the numbers); near-black where the run diverged, light grey where it
  reached no minimum in the iterations it had.

The config's own starts (basins) or settings (phase) are marked with white
rings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from optviz.draw.backdrop import house_style

Array = np.ndarray

# One hue per minimum (Okabe–Ito, colour-blind safe), then matplotlib's tab10.
HUES = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
    "#F0E442", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
)  # fmt: skip
DIVERGED = "#1b1b1b"
NOWHERE = "#9a9a9a"  # basins: reached no minimum
NOT_REACHED = "#d9d9d9"  # phase: reached no minimum in the iterations given
OUTCOME_NONE, OUTCOME_REACHED, OUTCOME_DIVERGED = 0, 1, 2


@dataclass(frozen=True)
class MapPicture:
    """What a map shows: the grid's axes and, per point (ny, nx), its outcome
    (0 none, 1 reached, 2 diverged), the minimum reached (−1: none) and the
    iterations it took (−1: none)."""

    kind: str  # "basins" or "phase"
    x: Array  # (nx,) the grid's values along x
    y: Array  # (ny,)
    outcome: Array  # (ny, nx)
    target: Array  # (ny, nx)
    iteration: Array  # (ny, nx)
    iterations: int  # the most a run had
    x_label: str = "x"
    y_label: str = "y"
    x_log: bool = False
    y_log: bool = False
    title: str = ""
    minima: tuple[tuple[float, float], ...] = ()  # drawn as stars (basins)
    marks: tuple[tuple[float, float], ...] = ()  # the config's own
    minimum_names: tuple[str, ...] = field(default=())


def colours(picture: MapPicture) -> Array:
    """RGB per grid point, (ny, nx, 3), as the module's docstring says."""
    shape = picture.outcome.shape
    rgb = np.empty((*shape, 3))
    reached = picture.outcome == OUTCOME_REACHED
    most = max(2, picture.iterations)
    k = np.clip(picture.iteration, 1, most).astype(float)
    speed = 1.0 - np.log(k) / np.log(most)  # 1: at once, 0: at the last update
    if picture.kind == "basins":
        rgb[...] = to_rgb(NOWHERE)
        for j in range(int(picture.target.max(initial=-1)) + 1):
            here = reached & (picture.target == j)
            hue = np.array(to_rgb(HUES[j % len(HUES)]))
            # from the full hue (slow) to a light tint of it (fast)
            mix = (0.7 * speed[here])[:, None]
            rgb[here] = hue * (1 - mix) + mix
    else:
        import matplotlib as mpl

        rgb[...] = to_rgb(NOT_REACHED)
        cmap = mpl.colormaps["viridis_r"]
        norm = LogNorm(1, most)
        rgb[reached] = cmap(norm(k[reached]))[:, :3]
    rgb[picture.outcome == OUTCOME_DIVERGED] = to_rgb(DIVERGED)
    return rgb


def edges(values: Array, log: bool) -> Array:
    """Cell edges around grid values (geometric midpoints on a log axis)."""
    v = np.log(values) if log else values
    mid = (v[1:] + v[:-1]) / 2
    edges = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(edges) if log else edges


def picture(p: MapPicture, size: tuple[int, int] = (800, 600), dpi: int = 100) -> Array:
    """The map as an RGBA image, ``size`` pixels."""
    w, h = size
    with house_style():
        fig = Figure(figsize=((w + 0.01) / dpi, (h + 0.01) / dpi), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        rgb = colours(p)
        ax.pcolormesh(
            edges(p.x, p.x_log), edges(p.y, p.y_log), rgb, shading="flat",
            rasterized=True,
        )  # fmt: skip
        if p.x_log:
            ax.set_xscale("log")
        if p.y_log:
            ax.set_yscale("log")
        ex, ey = edges(p.x, p.x_log), edges(p.y, p.y_log)
        ax.set_xlim(float(ex[0]), float(ex[-1]))
        ax.set_ylim(float(ey[0]), float(ey[-1]))
        ax.set_xlabel(p.x_label)
        ax.set_ylabel(p.y_label)
        if p.title:
            ax.set_title(p.title, loc="left", fontsize="large")
        handles = []
        if p.kind == "basins":
            for j, (mx, my) in enumerate(p.minima):
                hue = HUES[j % len(HUES)]
                ax.plot(
                    mx, my, marker="*", markersize=16, linestyle="none",
                    markerfacecolor=hue, markeredgecolor="white", zorder=4,
                )  # fmt: skip
                name = p.minimum_names[j] if j < len(p.minimum_names) else f"{j}"
                handles.append(Patch(color=hue, label=f"→ minimum {name}"))
            handles.append(Patch(color=NOWHERE, label="no minimum"))
            title: str | None = "lighter: sooner"
        else:
            import matplotlib as mpl

            mappable = mpl.cm.ScalarMappable(
                LogNorm(1, max(2, p.iterations)), mpl.colormaps["viridis_r"]
            )
            bar = fig.colorbar(mappable, ax=ax, pad=0.02)
            bar.set_label("iterations to reach a minimum")
            handles.append(Patch(color=NOT_REACHED, label="not reached"))
            title = None
        handles.append(Patch(color=DIVERGED, label="diverged"))
        if p.marks:
            mx, my = np.array(p.marks, dtype=float).T
            ax.plot(mx, my, marker="o", markersize=9, linestyle="none",
                    markerfacecolor="none", markeredgecolor="white",
                    markeredgewidth=2.2, zorder=5)  # fmt: skip
            ax.plot(mx, my, marker="o", markersize=9, linestyle="none",
                    markerfacecolor="none", markeredgecolor="black",
                    markeredgewidth=0.8, zorder=6)  # fmt: skip
        where = "outside right upper" if p.kind == "basins" else "outside lower center"
        columns = 1 if p.kind == "basins" else len(handles)
        legend: Any = fig.legend  # matplotlib's stubs miss the "outside" spots
        legend(handles=handles, title=title, loc=where, fontsize="small", ncols=columns)
        canvas.draw()
        return np.array(canvas.buffer_rgba(), dtype=np.uint8, copy=True)


def named(minima: Sequence[tuple[float, float]]) -> tuple[str, ...]:
    """``0 (3, 2)``: each minimum's index and place, as the legend names it."""
    return tuple(f"{j} ({x:.3g}, {y:.3g})" for j, (x, y) in enumerate(minima))
