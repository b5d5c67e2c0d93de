"""A compiled surface evaluated once on its view, where the config is read.

What ``validate`` accepts, ``run`` must run: a formula the whitelist accepts
can still be useless on the view it is drawn in — NaN or infinite at every
point (``log(-x^2-1)``), or finite but beyond what the contour plot can draw
(``exp(x^2)`` on [-30, 30] reaches 1e308; matplotlib's filled contours take
levels within ±1e250 only). :func:`check` evaluates f, ∇f and, when an
optimizer uses it, ∇²f on a coarse grid over the view and at the starts, and
computes the contour levels the drawing would (the rules of
:func:`optviz.draw.backdrop.contour_levels`, which imports matplotlib; a test
keeps the two the same). Every problem is a one-line
:class:`~optviz.errors.ConfigError`; the caller adds the key path.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from optviz.errors import ConfigError

Array = np.ndarray

GRID = 41  # points along each side of the view: 1,681 in all
# Contour levels are drawn between these sizes: matplotlib extends filled
# contours with levels at ±1e250 (and 1e-250 on log levels), which every
# level must lie within, and the colour scale of linear levels divides those
# by the levels' spread (which overflows below 1e-58); the margins cover the
# finer grid the drawing samples.
LARGEST = 1e200
SMALLEST = {"log": 1e-200, "linear": 1e-50}
# The rules of optviz.draw.backdrop.contour_levels.
LEVELS = 25
LOW_QUANTILE = 0.002
MAX_DECADES = 9.0


def check(
    surface, xlim, ylim, starts: Sequence[Sequence[float]] = (), hessian: bool = False
) -> None:
    """Refuse ``surface`` on the view ``xlim`` × ``ylim`` (ConfigError) if
    f, ∇f or (``hessian``) ∇²f is finite nowhere on it, or the contour levels
    cannot be drawn."""
    x = np.linspace(xlim[0], xlim[1], GRID)
    y = np.linspace(ylim[0], ylim[1], GRID)
    grid = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    points = np.concatenate((grid, np.asarray(starts, dtype=float).reshape(-1, 2)))
    where = f"x in [{xlim[0]:.6g}, {xlim[1]:.6g}], y in [{ylim[0]:.6g}, {ylim[1]:.6g}]"
    parts = [("f", surface.f), ("its gradient", surface.grad)]
    if hessian:
        parts.append(("its Hessian", surface.hessian))
    values = {}
    for name, function in parts:
        z = _evaluated(function, points, name)
        finite = np.isfinite(z).reshape(len(points), -1).all(axis=1)
        if not finite.any():
            raise ConfigError(
                f"{name} is not finite anywhere in the view ({where}: NaN or "
                f"infinite at all {len(points):,} points sampled); check the "
                "formula and the view"
            )
        values[name] = z
    levels(values["f"][: len(grid)], surface.levels, surface.f_min, where)


def _evaluated(function, points: Array, name: str) -> Array:
    """``function`` at ``points``, with no warning reaching the terminal."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            z = np.asarray(function(points))
        except (ArithmeticError, ValueError, TypeError) as e:
            raise ConfigError(
                f"{name} cannot be evaluated: {type(e).__name__}: "
                + (str(e).splitlines() or [""])[0][:80]
            ) from None
    if np.iscomplexobj(z):
        raise ConfigError(f"{name} takes complex values on the view")
    return z.astype(float, copy=False)


def levels(z: Array, spacing: str, f_min: float = 0.0, where: str = "") -> Array:
    """The contour levels the drawing would take for the values ``z`` on the
    view (``spacing`` "log" or "linear"), or a ConfigError saying why there
    are none it can draw."""
    z = np.asarray(z, dtype=float).ravel()
    z = z[np.isfinite(z)]
    view = f" ({where})" if where else ""
    if not z.size:
        raise ConfigError(f"f is not finite anywhere in the view{view}")
    top = float(np.abs(z).max())
    if top > LARGEST:
        raise ConfigError(
            f"f reaches {_size(top)} in the view{view}; contours are drawn for "
            f"values up to {LARGEST:.0e} in size: narrow the view or scale the "
            "formula down"
        )
    with np.errstate(all="ignore"):
        if spacing == "log":
            z = z - min(f_min, float(z.min()))
            z = z[z > 0]
            if not z.size:
                raise ConfigError(
                    f"f is constant in the view{view}: log contour levels need "
                    "values above its lowest; use levels: linear, or a wider view"
                )
            hi = float(z.max())
            if hi > LARGEST:  # shifted by a far lower listed minimum
                raise ConfigError(
                    f"f rises {_size(hi)} above the lowest minimum listed "
                    f"({_size(f_min)}) in the view{view}; contours are drawn for "
                    f"values up to {LARGEST:.0e} in size: check the minima's values"
                )
            lo = max(float(np.quantile(z, LOW_QUANTILE)), hi * 10.0**-MAX_DECADES)
            out = np.geomspace(lo, hi, LEVELS) if lo < hi else np.array([hi / 2, hi])
            spread = hi
        else:
            lo, hi = float(z.min()), float(z.max())
            out = np.linspace(lo, hi, LEVELS) if lo < hi else np.array([lo - 1, lo + 1])
            spread = hi - lo if lo < hi else 2.0
    if spread < SMALLEST[spacing]:
        raise ConfigError(
            f"f varies by only {_size(spread)} in the view{view}; {spacing} "
            f"contours are drawn for differences of at least "
            f"{SMALLEST[spacing]:.0e}: scale the formula up or widen the view"
        )
    if not (np.all(np.isfinite(out)) and np.all(np.diff(out) > 0)):
        raise ConfigError(
            f"f varies too little for its size in the view{view} (between "
            f"{_size(float(lo))} and {_size(float(hi))}): its contour levels "
            "cannot be told apart; subtract a constant from the formula or "
            "widen the view"
        )
    return out


def _size(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)
