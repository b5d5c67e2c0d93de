import warnings

import numpy as np
import pytest

from optviz.frames import frame_iterations


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
