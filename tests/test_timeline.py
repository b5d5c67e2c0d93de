"""A video lasts what its config asks for, and the progress bar says how long.

A run with fewer iterations than frames holds each iteration for several
frames (never a point the optimizer did not visit), and ``optviz run`` says
so; the progress bar counts every frame (title card and hold included) from
the start, and estimates the time left from the frames drawn, not from the
setup before them.
"""

from typing import ClassVar

import imageio_ffmpeg
import numpy as np
import pytest
import yaml

from optviz import api, cli
from optviz.cli import main
from optviz.config import parse
from optviz.draw.figure import Renderer
from optviz.draw.schedules import SCHEDULES, held

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

SHORT = {
    "surface": "beale",
    "starts": [[2, -2]],
    "iterations": 40,
    "optimizers": [{"label": "adam", "method": "adam", "lr": 0.1}],
}


def short(**animation):
    return api.run(parse({**SHORT, "animation": animation}))


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize(
    ("animation", "frames"),
    [({"frames": 300}, 300), ({"duration": 10, "fps": 30}, 300), ({"frames": 7}, 7)],
    ids=["frames", "duration", "fewer-frames"],
)
def test_a_short_run_fills_the_frames_it_asks_for(schedule, animation, frames):
    result = short(schedule=schedule, **animation)
    renderer = Renderer(api.scene(result))
    try:
        k = renderer.schedule()
    finally:
        renderer.close()
    assert len(k) == frames
    assert k[0] == 0 and k[-1] == 40 and np.all(np.diff(k) >= 0)
    if frames > 41:
        # every iteration in turn, each held for 7 or 8 frames: nothing
        # between two iterations is made up
        values, counts = np.unique(k, return_counts=True)
        assert values.tolist() == list(range(41))
        assert set(counts.tolist()) == {7, 8}


def test_held_spreads_the_longer_holds_and_keeps_long_schedules():
    k = held(np.array([0, 1, 2]), 8)
    assert k.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    long = np.arange(10)
    assert held(long, 10).tolist() == long.tolist()
    assert held(long, 4).tolist() == long.tolist()


def test_the_video_lasts_the_duration_asked_for(tmp_path):
    # 40 iterations, 3 s of motion and a 0.5 s hold at 30 fps: 105 frames
    result = short(duration=3, hold=0.5, size=[96, 64], dpi=20, formats=["mp4"])
    assert result.config.animation.total_frames == 105
    (mp4,) = api.render(result, tmp_path)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert frames == 105
    assert seconds == pytest.approx(3.5, abs=1 / 30)


def test_the_frame_sequence_counts_title_card_motion_and_hold():
    animation = parse(
        {**SHORT, "animation": {"frames": 50, "title_card": 1, "hold": 2, "fps": 10}}
    ).animation
    frames = animation.timeline.sequence(held(np.arange(41), animation.frames))
    assert len(frames) == animation.total_frames == 10 + 50 + 20
    assert frames[:10] == [None] * 10 and frames[-21:] == [40] * 21


def write(tmp_path, **animation):
    path = tmp_path / "short.yaml"
    data = {**SHORT, "animation": {"size": [96, 64], "dpi": 20, **animation}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_run_says_how_a_short_run_fills_its_frames(tmp_path, capsys):
    path = write(tmp_path, frames=100, formats=["mp4"], hold=0)
    code = main(["run", str(path), "-o", str(tmp_path / "out"), "-j", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        "note: 40 iterations are fewer than the 100 frames: each iteration is "
        "held for 2 or 3 frames (3.33333 s of motion)\n"
    ) in out
    # without a video there is nothing to say about frames
    code = main(["run", str(path), "--no-video", "-o", str(tmp_path / "csv")])
    assert code == 0 and "note:" not in capsys.readouterr().out


def test_no_note_when_there_are_iterations_enough(tmp_path, capsys):
    path = write(tmp_path, frames=20, formats=["mp4"], hold=0)
    assert main(["run", str(path), "-o", str(tmp_path / "out"), "-j", "1"]) == 0
    assert "note:" not in capsys.readouterr().out


class Bar:
    """Stands in for click's progress bar and records what it is told."""

    made: ClassVar[list["Bar"]] = []

    def __init__(self, length, **options):
        self.length, self.first_length, self.pos = length, length, 0
        self.items: list[str] = []
        self.show = options.get("item_show_func", lambda item: None)
        Bar.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n, current_item=None):
        self.pos += n
        self.items.append(self.show(current_item))


def test_progress_counts_every_frame_from_the_start(tmp_path, monkeypatch, capsys):
    # a title card, the motion and the hold: 5 + 20 + 5 frames at 10 fps
    path = write(tmp_path, frames=20, fps=10, title_card=0.5, hold=0.5)
    monkeypatch.setattr(cli.click, "progressbar", Bar)
    Bar.made.clear()
    assert main(["run", str(path), "-o", str(tmp_path / "out"), "-j", "1"]) == 0
    capsys.readouterr()
    (bar,) = Bar.made
    assert bar.first_length == bar.length == bar.pos == 30


def test_time_left_is_measured_from_the_first_frame(monkeypatch):
    # 1.5 s of setup before the first frame, then 20 ms a frame, 300 frames:
    # about 6 s left after 5 frames, never the 7 minutes the setup suggests
    clock = iter([1.5 + 0.02 * i for i in range(300)])
    monkeypatch.setattr(cli, "_clock", lambda: next(clock))
    bar = Bar(300, item_show_func=lambda item: item)
    progress = cli.FrameProgress(bar)
    for done in range(1, 301):
        progress(done, 300)
    assert bar.pos == 300
    assert bar.items[: cli.ESTIMATE_AFTER] == [""] * cli.ESTIMATE_AFTER
    assert bar.items[cli.ESTIMATE_AFTER] == "0:06 left"
    assert bar.items[150] == "0:03 left"
    assert bar.items[-1] == ""  # done: nothing left to estimate
