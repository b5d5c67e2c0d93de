"""``lr: auto``: the learning rate that reaches a known minimum soonest and
stays there, from every start, found by a deterministic search.

A run *settles* at iteration k when it has come within :data:`REACH` of a
known minimum and from k on never leaves :data:`STAY` of it, ending within
:data:`REACH` (what the last frames of a video show). A learning rate's
score is the latest settling iteration over the starts (no score if any
start never settles or diverges). The search tries a geometric grid, then
refines twice around the best on a finer one; every candidate is rounded to
three significant digits first, so the number written into the config is
the very one that was scored. Same input, same result, on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

REACH = 0.05  # as the summary table's "reached"
STAY = 0.1
LOW, HIGH = 1e-6, 10.0  # the range searched
COUNT = 36  # the first grid: a factor of about 1.58 between neighbours
REFINE = 9  # each refinement: this many between the best's two neighbours
ROUNDS = 2


def settles(points: np.ndarray, minima: np.ndarray) -> int | None:
    """The iteration from which ``points`` stays near one of ``minima``
    (see the module's docstring), or None."""
    if not len(points) or not len(minima):
        return None
    d = np.min(
        np.hypot(points[:, None, 0] - minima[None, :, 0],
                 points[:, None, 1] - minima[None, :, 1]),
        axis=1,
    )  # fmt: skip
    near = np.flatnonzero(d < REACH)
    if not near.size or not d[-1] < REACH:
        return None
    # the first index from which every later point is within STAY
    worst_after = np.maximum.accumulate(d[::-1])[::-1]
    staying = np.flatnonzero(worst_after < STAY)
    return int(max(near[0], staying[0]))


def rounded(value: float) -> float:
    """``value`` to three significant digits."""
    return float(f"{value:.3g}")


@dataclass(frozen=True)
class Choice:
    lr: float
    settled: int  # the latest settling iteration over the starts
    tried: int  # learning rates scored


def search(
    score: Callable[[Sequence[float]], Sequence[int | None]],
    low: float = LOW,
    high: float = HIGH,
) -> Choice | None:
    """The best learning rate by ``score`` (a batch of rates in, each one's
    latest settling iteration out, None: it does not settle from some
    start); None when no rate settles."""
    seen: dict[float, float] = {}

    def scored(rates: Sequence[float]) -> None:
        new = sorted({rounded(r) for r in rates} - set(seen))
        for r, s in zip(new, score(new)):
            seen[r] = math.inf if s is None else s

    scored(np.geomspace(low, high, COUNT).tolist())
    for _ in range(ROUNDS):
        best = min(seen, key=lambda r: (seen[r], r))
        if math.isinf(seen[best]):
            return None
        ordered = sorted(seen)
        i = ordered.index(best)
        below = ordered[max(0, i - 1)]
        above = ordered[min(len(ordered) - 1, i + 1)]
        scored(np.geomspace(below, above, REFINE + 2)[1:-1].tolist())
    best = min(seen, key=lambda r: (seen[r], r))
    if math.isinf(seen[best]):
        return None
    return Choice(best, int(seen[best]), len(seen))
