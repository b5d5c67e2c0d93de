"""Which iteration each animation frame shows.

Optimizers move fast early and crawl late, so showing iterations at an even
stride would spend the first seconds of a 10,000-iteration video on a jump of
dozens of updates per frame. The schedule is exponential instead: the first
frames advance about one iteration each and later ones many,

    k(u) = last · (e^{s·u} − 1) / (e^s − 1),   u = 0 .. 1 over the frames,

with ``s`` chosen so that the first step is one iteration.
"""

from __future__ import annotations

import math

import numpy as np

# Bisection on s: the first step shrinks monotonically as s grows, and at
# s = 700 it is below one for any iteration count a float can hold.
_S_MAX = 700.0
_BISECTIONS = 200


def frame_iterations(last: int, frames: int) -> np.ndarray:
    """Strictly increasing iterations, one per frame, from 0 to ``last``.

    When there are fewer iterations than frames every iteration gets its own
    frame (and the result is shorter than ``frames``); otherwise the result
    has exactly ``frames`` entries.
    """
    if last < 0:
        raise ValueError(f"last must be >= 0, got {last}")
    if last < frames:
        return np.arange(last + 1, dtype=np.int64)
    if frames < 2:
        raise ValueError(f"need at least 2 frames to show {last} iterations")
    steps = frames - 1
    s = _rate(last, steps)
    u = np.arange(frames, dtype=float) / steps
    # The ratio first: e^s alone can be ~1e304, times ``last`` overflows.
    k = np.rint(last * (np.expm1(s * u) / math.expm1(s))).astype(np.int64)
    # Rounding can make neighbours equal where the curve is flatter than one
    # iteration per frame; push each frame at least one past the previous.
    # The curve is convex and ends with a slope above one, so this never
    # pushes the last frame past ``last``.
    i = np.arange(frames, dtype=np.int64)
    k = np.maximum.accumulate(k - i) + i
    k[0], k[-1] = 0, last
    return k


def _first_step(s: float, last: int, steps: int) -> float:
    """Iterations between the first two frames for growth rate ``s``."""
    return last * math.expm1(s / steps) / math.expm1(s)


def _rate(last: int, steps: int) -> float:
    """The growth rate whose first step is one iteration.

    Only called with ``last > steps``, where evenly spaced frames (s → 0)
    would step more than one iteration, so the root lies in (0, _S_MAX].
    """
    lo, hi = 0.0, _S_MAX
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if _first_step(mid, last, steps) > 1.0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)
