"""The panels beside the contours (``animation.panels``), by name.

A panel plots one quantity of each run against the iteration. It is one
:class:`Panel` value registered in :data:`PANELS`: its label, what it plots
from a trajectory, and the lowest value the quantity can take (from which
:func:`optviz.draw.figure.panel_scale` picks the scale: a log scale of the
distance to it where the values allow). The config validates names against
the registry and ``optviz list panels`` prints it. No matplotlib here: the
config reads this module on runs that never draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from optviz.registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from optviz.optim.runner import Trajectory
    from optviz.surfaces import Surface


@dataclass(frozen=True)
class Panel:
    """One quantity against the iteration, a curve per run."""

    name: str
    summary: str  # what ``optviz list panels`` prints
    symbol: str  # the quantity on the axis label: "f", "‖∇f‖"
    # One value per iteration of the run, (n + 1,), from its trajectory.
    values: Callable[[Trajectory, Surface], np.ndarray]
    # The lowest value the quantity can take on the surface, None if unknown.
    lowest: Callable[[Surface], float | None]
    # The label says "symbol − f*" on a log scale (the lowest is not 0).
    shifted: bool = True


PANELS: Registry[Panel] = Registry("panel")
"""Every panel by name, in the order ``optviz list`` shows them."""


def register(panel: Panel) -> Panel:
    """Add a panel; its name must be new."""
    return PANELS.add(panel.name, panel)


def get(name: str) -> Panel:
    """The panel of ``name``; a KeyError that lists the valid names."""
    return PANELS.lookup(name)


def _global_minimum(surface: Surface) -> float | None:
    known = [m.value for m in surface.minima if m.kind == "global"]
    return min(known) if known else None


register(
    Panel(
        name="loss",
        summary="the loss f, as f − f* on a log scale where f* is known",
        symbol="f",
        values=lambda t, surface: t.loss,
        lowest=_global_minimum,
    )
)


def _learning_rate(t: Trajectory, surface: Surface) -> np.ndarray:
    """ε_k of the run (nothing drawn for a method without one), as far as
    its points go (a trajectory cut for drawing keeps its whole ``lr``)."""
    import numpy as np

    if t.lr is None:
        return np.full(len(t.points), np.nan)
    return t.lr[: len(t.points)]


register(
    Panel(
        name="grad_norm",
        summary="the gradient's norm ‖∇f‖",
        symbol="‖∇f‖",
        values=lambda t, surface: t.grad_norm,
        lowest=lambda surface: 0.0,
        shifted=False,
    )
)
register(
    Panel(
        name="lr",
        summary="the learning rate ε_k of the update after iteration k (its "
        "schedule); none for second-order methods",
        symbol="ε",
        values=_learning_rate,
        lowest=lambda surface: 0.0,
        shifted=False,
    )
)
