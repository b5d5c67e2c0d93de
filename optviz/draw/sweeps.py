"""Pictures of a sweep: a grid of cells with one clock, and the loss curves.

A sweep's small-multiples video is one :class:`~optviz.draw.figure.Renderer`
per cell (each variant on the surface, titled with its values, without a
counter of its own), composed under a :class:`Header` that holds the title
and the one iteration counter they share; every cell shows the same
iteration in every frame. The loss still draws every variant's loss against
the iteration, coloured like the overlay video (the lecture's "Interpreting
the cost").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from optviz.draw.backdrop import house_style
from optviz.draw.scene import ColourScale

Array = np.ndarray


def grid_shape(cells: int) -> tuple[int, int]:
    """(columns, rows) of a grid for ``cells``: as square as it can be,
    wider than tall."""
    columns = int(np.ceil(np.sqrt(cells)))
    rows = int(np.ceil(cells / columns))
    return columns, rows


class Header:
    """A strip above the cells: the title at the left, the iteration counter
    at the right (one for every cell)."""

    def __init__(self, width: int, height: int, title: str, dpi: float, theme):
        self.figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.patch.set_facecolor(theme.rc.get("figure.facecolor", "white"))
        colour = theme.rc.get("text.color", "black")
        self.figure.text(0.01, 0.5, title, ha="left", va="center", fontsize="large",
                         color=colour)  # fmt: skip
        self.counter = self.figure.text(0.99, 0.5, "", ha="right", va="center",
                                        fontsize="large", color=colour)  # fmt: skip
        self.size = (width, height)

    def image(self, k: int) -> Array:
        self.counter.set_text(f"iteration {k:,}")
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())


def compose(cells: Sequence[Array], columns: int, header: Array, fill) -> Array:
    """The cells in rows of ``columns`` under ``header``, one RGBA frame;
    places without a cell take ``fill`` (RGBA)."""
    h, w = cells[0].shape[:2]
    rows = -(-len(cells) // columns)
    top = header.shape[0]
    frame = np.empty((top + rows * h, columns * w, 4), dtype=np.uint8)
    frame[...] = fill
    frame[:top, : header.shape[1]] = header[:, : columns * w]
    for i, cell in enumerate(cells):
        r, c = divmod(i, columns)
        frame[top + r * h : top + (r + 1) * h, c * w : (c + 1) * w] = cell
    return frame


@dataclass(frozen=True)
class LossCurves:
    """What the loss still draws: per run its losses (from iteration 0) and
    colour, and the lowest known value of f (its curves show f − f*)."""

    losses: tuple[Array, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]  # one per run; "" keeps a run out of the legend
    title: str = ""
    f_min: float | None = None
    scale: ColourScale | None = None


def loss_picture(c: LossCurves, size=(800, 600), dpi: float = 100) -> Array:
    """Loss against the iteration, one curve per run, on a log axis of
    f − f* where every value is above f* (else linear), as RGBA."""
    w, h = size
    with house_style():
        fig = Figure(figsize=((w + 0.01) / dpi, (h + 0.01) / dpi), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        values = [np.asarray(v, dtype=float) for v in c.losses]
        finite = np.concatenate([v[np.isfinite(v)] for v in values] or [np.zeros(1)])
        shift = c.f_min if c.f_min is not None else 0.0
        log = c.f_min is not None and finite.size and bool((finite - shift > 0).all())
        for v, colour, label in zip(values, c.colours, c.labels):
            y = v - shift if log else v
            ax.plot(np.arange(len(v)), y, color=colour, linewidth=1.6,
                    label=label or None)  # fmt: skip
        if log:
            ax.set_yscale("log")
            ax.set_ylabel("f − f*")
        else:
            ax.set_ylabel("f")
        ax.set_xlabel("iteration")
        if c.title:
            ax.set_title(c.title, loc="left", fontsize="large")
        if c.scale is not None:
            import matplotlib as mpl

            mappable = mpl.cm.ScalarMappable(c.scale.norm(), c.scale.colormap())
            fig.colorbar(mappable, ax=ax, pad=0.02).set_label(c.scale.label)
        if any(c.labels):
            ax.legend(fontsize="small")
        canvas.draw()
        return np.array(canvas.buffer_rgba(), dtype=np.uint8, copy=True)
