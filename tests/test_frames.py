import warnings

import numpy as np
import pytest

from optviz.draw.schedules import (
    adaptive_iterations,
    frame_iterations,
    linear_iterations,
)


def check_schedule(k, last, frames):
    assert k.dtype.kind == "i"
    assert k[0] == 0
    assert k[-1] == last
    assert np.all(np.diff(k) > 0), "iterations must strictly increase"
    assert len(k) == min(frames, last + 1)


@pytest.mark.parametrize("frames", [2, 3, 7, 60, 299, 300, 301, 1000])
@pytest.mark.parametrize(
    "last", [0, 1, 2, 5, 59, 60, 61, 298, 299, 300, 301, 999, 1234, 10_000, 10**6]
)
def test_schedule_is_strictly_increasing_from_zero_to_last(last, frames):
    check_schedule(frame_iterations(last, frames), last, frames)


def test_every_iteration_gets_a_frame_when_there_are_fewer_than_frames():
    assert frame_iterations(5, 300).tolist() == [0, 1, 2, 3, 4, 5]
    assert frame_iterations(299, 300).tolist() == list(range(300))
    assert frame_iterations(0, 1).tolist() == [0]


def test_ten_thousand_iterations_start_at_one_per_frame_and_end_fast():
    k = frame_iterations(10_000, 300)
    check_schedule(k, 10_000, 300)
    steps = np.diff(k)
    # The early motion is visible: the first frames advance one iteration.
    assert k[:6].tolist() == [0, 1, 2, 3, 4, 5]
    assert steps[:20].max() <= 2
    # ... and the end goes fast: the last frames skip over a hundred each.
    assert steps[-10:].min() > 100
    # The pace only grows (up to one iteration of rounding).
    assert np.all(np.diff(steps) >= -1)


def test_one_step_more_than_frames_is_nearly_one_per_frame():
    k = frame_iterations(300, 300)
    check_schedule(k, 300, 300)
    assert np.diff(k).max() == 2  # exactly one frame skips one iteration


def test_huge_iteration_counts_do_not_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-cast warnings
        for last in (10**9, 10**15, 2**53):
            check_schedule(frame_iterations(last, 300), last, 300)


def test_two_frames_are_the_ends():
    assert frame_iterations(10_000, 2).tolist() == [0, 10_000]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        frame_iterations(-1, 300)
    with pytest.raises(ValueError):
        frame_iterations(10, 1)
    with pytest.raises(ValueError):
        frame_iterations(10, 0)


# --- linear and adaptive schedules ---------------------------------------


@pytest.mark.parametrize("frames", [2, 3, 60, 300])
@pytest.mark.parametrize("last", [0, 5, 299, 300, 301, 10_000])
def test_linear_schedule_is_strictly_increasing_from_zero_to_last(last, frames):
    k = linear_iterations(last, frames)
    check_schedule(k, last, frames)
    if last >= frames:
        assert np.diff(k).max() - np.diff(k).min() <= 1  # evenly spread


def fast_then_creeping(last=10_000):
    """A path that covers most of its way in its first 200 iterations, then
    creeps, with a sudden jump at iteration 6000."""
    t = np.arange(last + 1, dtype=float)
    x = 1 - np.exp(-t / 50) + 0.001 * t / last
    x[6000:] += 0.5
    return np.stack((x, np.zeros_like(x)), axis=1)


SCALE = (400.0, 400.0)  # pixels per unit


@pytest.mark.parametrize("frames", [2, 3, 60, 300])
@pytest.mark.parametrize("last", [0, 5, 299, 300, 301, 10_000])
def test_adaptive_schedule_is_strictly_increasing_from_zero_to_last(last, frames):
    k = adaptive_iterations([fast_then_creeping()[: last + 1]], last, frames, SCALE)
    check_schedule(k, last, frames)


def test_adaptive_schedule_puts_frames_where_the_motion_is():
    k = adaptive_iterations([fast_then_creeping()], 10_000, 300, SCALE)
    check_schedule(k, 10_000, 300)
    early = np.count_nonzero(k < 300)
    # log gives the first 300 iterations fewer frames than motion needs, and
    # linear about 9; here most of the frames go where the path moves.
    assert early > 150
    assert early > 2 * np.count_nonzero(frame_iterations(10_000, 300) < 300)
    # The jump at 6000 is not skipped: a frame lands on it.
    assert 6000 in k
    # The creep in between is compressed: few frames per 1,000 iterations.
    assert np.count_nonzero((k > 2000) & (k < 5000)) < 30


def test_adaptive_schedule_ignores_jitter_on_the_spot():
    """A head that jitters by 2 pixels forever does not take the frames from
    one that moves."""
    mover = fast_then_creeping()
    jitter = np.zeros_like(mover)
    jitter[1::2, 0] = 2 / SCALE[0]
    k = adaptive_iterations([mover, jitter], 10_000, 300, SCALE)
    alone = adaptive_iterations([mover], 10_000, 300, SCALE)
    check_schedule(k, 10_000, 300)
    assert np.count_nonzero(k < 300) > 0.8 * np.count_nonzero(alone < 300)


def test_adaptive_schedule_of_paths_that_stop_or_never_move():
    short = fast_then_creeping()[:100]  # stops at 99: the rest is still
    for paths in ([short], [np.zeros((1, 2))], [], [np.full((50, 2), np.inf)]):
        check_schedule(adaptive_iterations(paths, 10_000, 300, SCALE), 10_000, 300)
