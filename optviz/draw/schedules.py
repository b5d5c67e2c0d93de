"""Which iteration each animation frame shows.

Optimizers move fast early and crawl late, so showing iterations at an even
stride would spend the first seconds of a 10,000-iteration video on a jump of
dozens of updates per frame. The schedule is exponential instead: the first
frames advance about one iteration each and later ones many,

    k(u) = last · (e^{s·u} − 1) / (e^s − 1),   u = 0 .. 1 over the frames,

with ``s`` chosen so that the first step is one iteration. That is the
default schedule, ``log``. ``linear`` spreads the frames evenly over the
iterations; ``adaptive`` spreads them evenly over the *visible motion*: a
frame whenever the fastest head has moved about the same number of pixels
since the last one, so slow creeping is compressed and fast motion (a jump off
a cliff, a late escape from a saddle) gets as many frames as it needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from optviz.registry import Registry

Pixels = Callable[[], tuple[float, float]]
"""Pixels per data unit along x and y in the figure, asked for only by a
schedule that measures motion on screen (the figure must be laid out)."""


@dataclass(frozen=True)
class Schedule:
    """A named way of choosing the iteration each frame shows.

    ``iterations(paths, last, frames, pixels)`` returns increasing iterations
    from 0 to ``last``, ``frames`` of them (or every iteration when there are
    fewer); ``paths`` are the trajectories' (n_i, 2) points in data units.
    """

    name: str
    summary: str  # what ``optviz list schedules`` prints
    iterations: Callable[[Sequence[np.ndarray], int, int, Pixels], np.ndarray]


SCHEDULES: Registry[Schedule] = Registry("schedule")
"""Every schedule by name (``animation.schedule``), in ``optviz list`` order."""


def register(name: str, summary: str):
    """Add the decorated ``iterations`` function as the schedule ``name``."""

    def add(iterations):
        SCHEDULES.add(name, Schedule(name, summary, iterations))
        return iterations

    return add


def get(name: str) -> Schedule:
    """The schedule of ``name``; a KeyError that lists the valid names."""
    return SCHEDULES.lookup(name)


# Bisection on s: the first step shrinks monotonically as s grows, and at
# s = 700 it is below one for any iteration count a float can hold.
_S_MAX = 700.0
_BISECTIONS = 200


def _one_per_iteration(last: int, frames: int) -> np.ndarray | None:
    """Every iteration, when there are fewer iterations than frames (each gets
    its own frame); None when a schedule must choose. Checks the arguments
    every schedule shares."""
    if last < 0:
        raise ValueError(f"last must be >= 0, got {last}")
    if last < frames:
        return np.arange(last + 1, dtype=np.int64)
    if frames < 2:
        raise ValueError(f"need at least 2 frames to show {last} iterations")
    return None


def frame_iterations(last: int, frames: int) -> np.ndarray:
    """Strictly increasing iterations, one per frame, from 0 to ``last``.

    When there are fewer iterations than frames every iteration gets its own
    frame (and the result is shorter than ``frames``); otherwise the result
    has exactly ``frames`` entries.
    """
    every = _one_per_iteration(last, frames)
    if every is not None:
        return every
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


def linear_iterations(last: int, frames: int) -> np.ndarray:
    """Iterations evenly spread from 0 to ``last`` (as :func:`frame_iterations`
    when there are fewer iterations than frames)."""
    every = _one_per_iteration(last, frames)
    if every is not None:
        return every
    # Evenly spaced reals more than one apart round to distinct integers.
    return np.rint(np.linspace(0, last, frames)).astype(np.int64)


def adaptive_iterations(
    paths: Sequence[np.ndarray],
    last: int,
    frames: int,
    scale: tuple[float, float],
) -> np.ndarray:
    """Frames where the picture visibly changes, from 0 to ``last``.

    ``paths`` are the trajectories' points, each (n_i, 2) in data units (a
    path shorter than ``last + 1`` stands still after its end); ``scale`` is
    pixels per data unit along x and y. A frame is due as soon as some head
    is a threshold number of pixels away from where it was on the previous
    frame; the threshold is the smallest that gives at most ``frames``
    frames. Distance from the previous frame, not the path's length, is what
    counts: an optimizer that jitters on the spot around a minimum does not
    move the picture. When that leaves frames over (motion that stops, or a
    jump that one frame covers), they split the longest gaps between frames
    in half, so that there are exactly ``frames`` (every iteration gets one
    when there are fewer iterations than frames).
    """
    every = _one_per_iteration(last, frames)
    if every is not None:
        return every
    heads = _heads_in_pixels(paths, last, scale)
    # The count only shrinks as the threshold grows: bisect on its logarithm
    # for the smallest threshold whose frames fit.
    lo, hi = -3.0, math.log2(1e6)  # 1/8 pixel .. a million
    best = np.array([0, last], dtype=np.int64)
    if len(k := _frames_at(heads, 2.0**lo, frames)) <= frames:
        best = k
    else:
        for _ in range(_THRESHOLD_BISECTIONS):
            mid = 0.5 * (lo + hi)
            k = _frames_at(heads, 2.0**mid, frames)
            if len(k) <= frames:
                hi, best = mid, k
            else:
                lo = mid
    return _fill(best, frames)


_THRESHOLD_BISECTIONS = 14  # 23 octaves to within 0.002 of one
_FIRST_CHUNK = 64


def _heads_in_pixels(
    paths: Sequence[np.ndarray], last: int, scale: tuple[float, float]
) -> np.ndarray:
    """Every head's position at every iteration in pixels, (last + 1, m, 2)."""
    heads = np.zeros((last + 1, max(1, len(paths)), 2), dtype=np.float32)
    for i, points in enumerate(paths):
        points = np.asarray(points, dtype=float)[: last + 1]
        if not len(points):
            continue
        with np.errstate(all="ignore"):
            heads[: len(points), i] = points * scale
            heads[len(points) :, i] = points[-1] * scale
    return heads


def _frames_at(heads: np.ndarray, threshold: float, most: int) -> np.ndarray:
    """Greedy: from each frame, the first iteration some head is at least
    ``threshold`` pixels away from where it was on that frame (stopping once
    there are more than ``most``: all the caller needs to know)."""
    last = len(heads) - 1
    out = [0]
    k0 = 0
    while k0 < last and len(out) <= most:
        a, chunk, found = k0 + 1, _FIRST_CHUNK, None
        while a <= last:
            b = min(last + 1, a + chunk)
            with np.errstate(invalid="ignore"):
                moved = np.abs(heads[a:b] - heads[k0]).max(axis=(1, 2))
            # Non-finite (a diverged head) is a change worth a frame.
            hits = np.flatnonzero(~(moved < threshold))
            if hits.size:
                found = a + int(hits[0])
                break
            a, chunk = b, chunk * 2
        if found is None:
            break
        out.append(found)
        k0 = found
    if out[-1] != last:
        out.append(last)
    return np.array(out, dtype=np.int64)


def _fill(k: np.ndarray, frames: int) -> np.ndarray:
    """``k`` with frames added in the middle of its longest gaps until it has
    ``frames`` entries (it must span more than ``frames`` iterations)."""
    while len(k) < frames:
        gaps = np.diff(k)
        splittable = np.flatnonzero(gaps >= 2)
        need = frames - len(k)
        # The longest gaps first; stable, so that ties go to the earliest.
        chosen = splittable[np.argsort(-gaps[splittable], kind="stable")[:need]]
        k = np.sort(np.concatenate((k, k[chosen] + gaps[chosen] // 2)))
    return k.astype(np.int64)


@register("log", "exponential: one iteration a frame at first, many later")
def _log(paths, last: int, frames: int, pixels: Pixels) -> np.ndarray:
    return frame_iterations(last, frames)


@register("linear", "iterations evenly spread over the frames")
def _linear(paths, last: int, frames: int, pixels: Pixels) -> np.ndarray:
    return linear_iterations(last, frames)


@register("adaptive", "frames evenly spread over the visible motion")
def _adaptive(paths, last: int, frames: int, pixels: Pixels) -> np.ndarray:
    return adaptive_iterations(paths, last, frames, pixels())


def held(schedule: np.ndarray, frames: int) -> np.ndarray:
    """``schedule`` stretched to ``frames`` entries by holding each of its
    iterations for several frames (in order, the extra frames spread evenly),
    so that a run with fewer iterations than frames still lasts as long as
    the frames ask. Nothing is interpolated: every frame shows a point the
    optimizer visited. A schedule with ``frames`` entries or more is
    returned as it is."""
    schedule = np.asarray(schedule, dtype=np.int64)
    if len(schedule) >= frames or not len(schedule):
        return schedule
    # Frame j shows entry ⌊j·n/frames⌋: each entry gets ⌊frames/n⌋ or one
    # more frames, the longer holds spread over the video.
    index = np.arange(frames, dtype=np.int64) * len(schedule) // frames
    return schedule[index]
