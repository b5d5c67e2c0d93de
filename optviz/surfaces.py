"""Two-dimensional test surfaces: value, gradient, view window and known minima.

Every function takes an array of shape ``(..., 2)`` (x and y on the last axis),
so the contour grid and the optimizer batch go through the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Minimum:
    x: float
    y: float
    value: float
    kind: str = "global"  # "global" or "local"

    @property
    def point(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class Surface:
    name: str
    description: str
    formula: str
    f: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[Minimum, ...]
    starts: tuple[tuple[float, float], ...]
    levels: str = "log"  # contour spacing: "log" or "linear"

    @property
    def f_min(self) -> float:
        """The lowest known value (the shift that makes log levels work)."""
        return min((m.value for m in self.minima), default=0.0)


SURFACES: dict[str, Surface] = {}


def register(surface: Surface) -> Surface:
    SURFACES[surface.name] = surface
    return surface


def _xy(p: Array) -> tuple[Array, Array]:
    p = np.asarray(p, dtype=float)
    return p[..., 0], p[..., 1]


def _beale(p: Array) -> Array:
    x, y = _xy(p)
    return (
        (1.5 - x + x * y) ** 2
        + (2.25 - x + x * y**2) ** 2
        + (2.625 - x + x * y**3) ** 2
    )


def _beale_grad(p: Array) -> Array:
    x, y = _xy(p)
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    return np.stack((gx, gy), axis=-1)


register(
    Surface(
        name="beale",
        description="Beale's function: a flat valley with steep walls (the lecture's)",
        formula="(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
        f=_beale,
        grad=_beale_grad,
        xlim=(-4.5, 4.5),
        ylim=(-4.5, 4.5),
        minima=(Minimum(3.0, 0.5, 0.0),),
        starts=((2.0, -2.0), (-3.0, 3.0)),
    )
)


def _rosenbrock(p: Array) -> Array:
    x, y = _xy(p)
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(p: Array) -> Array:
    x, y = _xy(p)
    r = y - x * x
    return np.stack((-2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r), axis=-1)


register(
    Surface(
        name="rosenbrock",
        description="Rosenbrock's banana: a curved, narrow valley",
        formula="(1 - x)^2 + 100 (y - x^2)^2",
        f=_rosenbrock,
        grad=_rosenbrock_grad,
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        minima=(Minimum(1.0, 1.0, 0.0),),
        starts=((-1.2, 1.0),),
    )
)


def _himmelblau(p: Array) -> Array:
    x, y = _xy(p)
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


def _himmelblau_grad(p: Array) -> Array:
    x, y = _xy(p)
    u = x * x + y - 11.0
    w = x + y * y - 7.0
    return np.stack((4.0 * x * u + 2.0 * w, 2.0 * u + 4.0 * y * w), axis=-1)


register(
    Surface(
        name="himmelblau",
        description="Himmelblau's function: four global minima of equal value",
        formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        f=_himmelblau,
        grad=_himmelblau_grad,
        xlim=(-5.0, 5.0),
        ylim=(-5.0, 5.0),
        minima=(
            Minimum(3.0, 2.0, 0.0),
            Minimum(-2.805118086952745, 3.131312518250573, 0.0),
            Minimum(-3.779310253377747, -3.283185991286170, 0.0),
            Minimum(3.584428340330492, -1.848126526964404, 0.0),
        ),
        starts=((0.0, 0.0),),
    )
)


def _saddle(p: Array) -> Array:
    x, y = _xy(p)
    return x * x - y * y


def _saddle_grad(p: Array) -> Array:
    x, y = _xy(p)
    return np.stack((2.0 * x, -2.0 * y), axis=-1)


register(
    Surface(
        name="saddle",
        description="A saddle, x² − y²: unbounded below, a critical point at 0",
        formula="x^2 - y^2",
        f=_saddle,
        grad=_saddle_grad,
        xlim=(-2.0, 2.0),
        ylim=(-2.0, 2.0),
        minima=(),
        starts=((-1.5, 0.01),),
        levels="linear",
    )
)
