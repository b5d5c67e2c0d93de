"""The view window: fitted to the paths (``view: auto``), and where a path
leaves it.

A path that runs off the frame shows nothing of where it went, and a viewer
cannot tell a head that left from one that stopped. Two remedies, both pure
functions of the trajectories: :func:`fit` widens the window until it holds
the paths, and :func:`first_outside` finds the iteration at which a path
leaves a window, for the summary's warning.

The fit is bounded: a run that goes far away (diverging, or escaping a
saddle towards −∞) would otherwise shrink the surface to a dot in a corner.
Only points within :data:`FIT_SPANS` window spans past each edge of the
window are fitted; a path that goes further still leaves the fitted view,
and the summary says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optviz.optim.runner import Status, Trajectory

Limits = tuple[float, float]

# How far past the window's edges (in window widths or heights) a point may
# lie and still be fitted: the fitted view is at most 1 + 2·FIT_SPANS times
# the window's width and height.
FIT_SPANS = 2.0
# Room left between the outermost fitted point and the frame's edge, as a
# fraction of the window's width or height, so that no head sits on it.
MARGIN = 0.05


def fit(
    trajectories: Sequence[Trajectory], xlim: Limits, ylim: Limits
) -> tuple[Limits, Limits]:
    """The window ``xlim`` × ``ylim``, widened to hold every finite point of
    ``trajectories`` that lies within :data:`FIT_SPANS` spans of it, with
    :data:`MARGIN` to spare.

    The window is never shrunk (its minima, starts and the contours around
    them stay in view), and a side that no path goes past stays where it
    was: when every path stays in the window, the fit is the window itself.
    """
    lo = np.array([xlim[0], ylim[0]], dtype=float)
    hi = np.array([xlim[1], ylim[1]], dtype=float)
    span = hi - lo
    points = [t.points for t in trajectories if len(t.points)]
    if points:
        xy = np.concatenate(points)
        near = np.all(
            np.isfinite(xy)
            & (xy >= lo - FIT_SPANS * span)
            & (xy <= hi + FIT_SPANS * span),
            axis=1,
        )
        xy = xy[near]
        if len(xy):
            lo = np.minimum(lo, xy.min(axis=0) - MARGIN * span)
            hi = np.maximum(hi, xy.max(axis=0) + MARGIN * span)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def outside(points: np.ndarray, xlim: Limits, ylim: Limits) -> np.ndarray:
    """Which of ``points`` (n, 2) lie outside the window (non-finite ones
    included), (n,) booleans; a point on an edge is inside."""
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"):
        inside = (x >= xlim[0]) & (x <= xlim[1]) & (y >= ylim[0]) & (y <= ylim[1])
    return ~inside


def first_outside(trajectory: Trajectory, xlim: Limits, ylim: Limits) -> int | None:
    """The first iteration at which ``trajectory`` is outside the window, or
    None when it never leaves it."""
    hits = np.flatnonzero(outside(trajectory.points, xlim, ylim))
    return int(hits[0]) if hits.size else None


def drawn_iterations(trajectory: Trajectory, xlim: Limits, ylim: Limits) -> int:
    """The last iteration of ``trajectory`` the video draws: all of it, but a
    diverged path only up to its first point outside the window (its line
    runs to the frame's edge and stops)."""
    n = trajectory.iterations
    if trajectory.status is Status.DIVERGED:
        left = first_outside(trajectory, xlim, ylim)
        if left is not None:
            n = min(n, left)
    return n
