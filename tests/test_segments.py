"""One video drawn and encoded by several processes (``--jobs``), joined
losslessly: the same frames as one process, and nothing left behind when a
piece fails or the run is stopped."""

import itertools
import multiprocessing
import os
import time
from fractions import Fraction

import imageio.v3 as iio
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from optviz import api, pipeline
from optviz.draw.figure import Renderer
from optviz.draw.scene import Camera, CameraPath
from optviz.errors import OptvizError, RenderError
from optviz.output import segments
from optviz.output.encode import Encoder, gif_fps, join_gifs, join_mp4

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)

CONFIG = """
title: pieces
surface: beale
starts: [[-3, 3], [2, -2]]
iterations: 3000
optimizers:
  - {label: gd+p, method: momentum, lr: 5.0e-6, momentum: 0.9}
  - {label: rmsprop, method: rmsprop, lr: 0.25, beta: 0.99}
  - {label: adam, method: adam, lr: 0.22, beta2: 0.99}
animation:
  frames: 150
  fps: 30
  hold: 1
  title_card: 0.5
  size: [320, 240]
  dpi: 40
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "pieces.yaml"
    path.write_text(CONFIG)
    return api.run(api.load_config(path))


def gif_frames(path) -> list[np.ndarray]:
    """Every frame of a GIF as a player shows it (disposal applied), RGB."""
    return list(iio.imread(path, index=None, mode="RGB"))


def mp4_frames(path, size) -> np.ndarray:
    """Every frame of an MP4 decoded to RGB: (frames, height, width, 3)."""
    frames = iio.imread(path, plugin="FFMPEG", index=None)
    w, h = size
    assert frames.shape[1:] == (h, w, 3)
    return frames


# -- where the video is cut -----------------------------------------------


def test_an_even_video_is_cut_in_halves_on_the_gif_grid():
    assert segments.ranges([1.0] * 300, 2, 6) == [(0, 150), (150, 300)]
    assert segments.ranges([1.0] * 300, 3, 6) == [(0, 102), (102, 198), (198, 300)]


def test_cheap_frames_weigh_less():
    # 100 drawn frames, then 200 held ones at a tenth of the cost
    cuts = segments.ranges([1.0] * 100 + [0.1] * 200, 2, 1)
    assert cuts == [(0, 60), (60, 300)]


def test_a_short_video_stays_in_one_piece():
    assert segments.ranges([1.0] * 100, 4, 1, least=60) == [(0, 100)]
    assert segments.ranges([1.0] * 130, 4, 1, least=60) == [(0, 65), (65, 130)]
    assert segments.ranges([], 4) == [(0, 0)]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    costs=st.lists(st.sampled_from([1.0, 0.3]), max_size=1500),
    parts=st.integers(1, 8),
    multiple=st.integers(1, 30),
    least=st.integers(1, 120),
)
def test_ranges_cover_every_frame_once_and_start_on_the_grid(
    costs, parts, multiple, least
):
    cuts = segments.ranges(costs, parts, multiple, least)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(costs)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))  # contiguous
    assert 1 <= len(cuts) <= parts
    if len(cuts) > 1:
        assert all(start % multiple == 0 for start, _ in cuts)
        assert all(stop - start >= least for start, stop in cuts)


@pytest.mark.parametrize(
    ("fps", "multiple"), [(30, 6), (24, 24), (25, 1), (60, 12), (10, 1)]
)
def test_pieces_start_where_a_gif_frame_and_a_video_frame_begin(fps, multiple):
    assert segments.joint_multiple(fps, ["mp4", "gif"]) == multiple
    assert segments.joint_multiple(fps, ["mp4"]) == 1


@pytest.mark.parametrize("fps", range(1, 121))
def test_the_grid_holds_for_every_frame_rate(fps):
    multiple = segments.joint_multiple(fps, ["gif"])
    gif_frames_per_piece = multiple * Fraction(gif_fps(fps)).limit_denominator(1000)
    assert (gif_frames_per_piece / fps).denominator == 1


# -- the frames are those of one process ----------------------------------


def renderer_for(result):
    return Renderer(api.scene(result))


@pytest.mark.render
def test_seek_leaves_the_figure_as_drawing_every_earlier_frame_would(result):
    animation = result.config.animation
    drawn = renderer_for(result)
    frames = animation.timeline.sequence(drawn.schedule())
    assert max(f for f in frames if f is not None) > 4 * 500  # several checkpoints
    drawn.frame(drawn.last)  # as render_video does first, for the GIF's palette
    single = [drawn.frame(f) if f is not None else None for f in frames]
    differs_without_seek = 0
    for j in (40, 90, 130, 170):
        fresh = renderer_for(result)
        fresh.frame(fresh.last)
        plain = fresh.frame(frames[j])  # straight there: another checkpoint
        differs_without_seek += not np.array_equal(plain, single[j])
        fresh = renderer_for(result)
        fresh.frame(fresh.last)
        fresh.seek(frames[:j])
        assert np.array_equal(fresh.frame(frames[j]), single[j]), j
    assert differs_without_seek  # so this test can tell a missing seek


@pytest.fixture
def cuts_used(monkeypatch):
    """The ranges each multi-process render was cut into."""
    used = []
    encode = segments.encode

    def spy(write_range, cuts, **kw):
        used.append(cuts)
        return encode(write_range, cuts, **kw)

    monkeypatch.setattr(segments, "encode", spy)
    return used


@pytest.mark.render
def test_two_workers_write_the_gif_of_one_and_an_mp4_of_the_same_frames(
    result, tmp_path, cuts_used
):
    one = api.render(result, tmp_path / "one", jobs=1)
    calls = []
    two = api.render(
        result, tmp_path / "two", jobs=2, progress=lambda *a: calls.append(a)
    )
    assert len(cuts_used) == 1 and len(cuts_used[0]) == 2  # really in two pieces
    names = ["pieces.mp4", "pieces.gif"]
    assert [p.name for p in one] == [p.name for p in two] == names
    assert sorted(os.listdir(tmp_path / "two")) == ["pieces.gif", "pieces.mp4"]
    total = 15 + 150 + 30  # title card, motion, hold
    assert calls[-1] == (total, total) and len(calls) == total

    gif_one, gif_two = gif_frames(one[1]), gif_frames(two[1])
    assert len(gif_one) == len(gif_two)
    assert abs(len(gif_one) - total * gif_fps(30) / 30) <= 1
    assert all(np.array_equal(a, b) for a, b in zip(gif_one, gif_two))

    size = tuple(result.config.animation.size)
    mp4_one, mp4_two = mp4_frames(one[0], size), mp4_frames(two[0], size)
    assert len(mp4_one) == len(mp4_two) == total
    # the same pictures, up to x264's own error (each piece has an encoder of
    # its own, which sees other frames ahead): well under a grey level
    error = np.abs(mp4_one.astype(int) - mp4_two).mean(axis=(1, 2, 3))
    assert error.max() < 1.0


LOOKS = [
    pytest.param({"formats": ("gif",)}, id="gif-only"),
    pytest.param({"formats": ("mp4",), "fps": 24}, id="mp4-only-24fps"),
    pytest.param(
        {
            "formats": ("gif",),
            "view": "both",
            "panels": ("loss",),
            "theme": "dark",
            "size": (480, 240),
            "fps": 24,
        },
        id="both-views-panel-dark-24fps",
    ),
    pytest.param(
        {
            "formats": ("gif",),
            "view": "3d",
            "camera": CameraPath.orbit(Camera(40, -80), 90),
        },
        id="3d-camera-orbit",
    ),
]


@pytest.mark.render
@pytest.mark.parametrize("looks", LOOKS)
def test_any_look_and_format_is_cut_and_joined_alike(
    result, tmp_path, looks, cuts_used
):
    """Every view keeps its lines' checkpoints, and a GIF at 24 fps (25 in
    the GIF) is cut on its own grid; a moving camera is the frame index's:
    one process and three agree."""
    import dataclasses

    animation = dataclasses.replace(result.config.animation, **looks)
    config = dataclasses.replace(result.config, animation=animation)
    changed = dataclasses.replace(result, config=config)
    one = api.render(changed, tmp_path / "one", jobs=1)
    three = api.render(changed, tmp_path / "three", jobs=3)
    assert len(cuts_used) == 1 and len(cuts_used[0]) >= 2
    assert [p.name for p in one] == [p.name for p in three]
    assert sorted(os.listdir(tmp_path / "three")) == sorted(p.name for p in three)
    for a, b in zip(one, three):
        if a.suffix == ".gif":
            frames_a, frames_b = gif_frames(a), gif_frames(b)
            assert len(frames_a) == len(frames_b)
            assert all(np.array_equal(x, y) for x, y in zip(frames_a, frames_b))
        else:
            size = tuple(animation.size)
            frames_a, frames_b = mp4_frames(a, size), mp4_frames(b, size)
            assert len(frames_a) == len(frames_b)
            error = np.abs(frames_a.astype(int) - frames_b).mean(axis=(1, 2, 3))
            assert error.max() < 1.0


@pytest.mark.render
def test_a_program_with_threads_of_its_own_renders_in_one_process(
    result, tmp_path, cuts_used
):
    """Forking a threaded process can deadlock the child on a lock another
    thread held: with a thread running, jobs=2 quietly stays in one process."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert pipeline.start_method() is None
        paths = api.render(result, tmp_path, jobs=2)
    finally:
        stop.set()
        thread.join()
    assert cuts_used == []
    assert [p.name for p in paths] == ["pieces.mp4", "pieces.gif"]
    assert pipeline.start_method() == "fork"


@pytest.mark.render
def test_spawned_workers_draw_the_frames_of_one_process(
    result, tmp_path, cuts_used, monkeypatch
):
    """With the spawn start method (no fork: Windows, macOS's default, a
    notebook), each worker is handed the scene, pickled, and builds its own
    figure: the GIF is frame for frame the one of one process."""
    one = api.render(result, tmp_path / "one", jobs=1)
    monkeypatch.setenv("OPTVIZ_START_METHOD", "spawn")
    two = api.render(result, tmp_path / "two", jobs=2)
    assert len(cuts_used) == 1 and len(cuts_used[0]) == 2  # really in two pieces
    assert sorted(os.listdir(tmp_path / "two")) == ["pieces.gif", "pieces.mp4"]
    gif_one, gif_two = gif_frames(one[1]), gif_frames(two[1])
    assert len(gif_one) == len(gif_two) > 100
    assert all(np.array_equal(a, b) for a, b in zip(gif_one, gif_two))


def test_an_unknown_start_method_is_one_line(monkeypatch):
    monkeypatch.setenv("OPTVIZ_START_METHOD", "fork-bomb")
    with pytest.raises(OptvizError, match=r"OPTVIZ_START_METHOD='fork-bomb' .*spawn"):
        pipeline.start_method()


# -- joining --------------------------------------------------------------


def gray_frames(count, size=(64, 48), first=0):
    w, h = size
    for i in range(first, first + count):
        frame = np.full((h, w, 4), 255, dtype=np.uint8)
        frame[:, : (i * 3) % w, :3] = (i * 37) % 200  # never near white
        yield frame


@pytest.mark.render
def test_joined_gifs_play_every_frame_of_every_piece(tmp_path):
    palette = np.zeros((48, 64, 4), dtype=np.uint8)
    palette[..., 3] = 255
    palette[:, :, 0] = np.arange(64) * 4  # a palette of many reds
    pieces = []
    for index, first in enumerate((0, 30)):
        gif = Encoder(tmp_path, f"p{index}", (64, 48), 25, ["gif"], palette=palette)
        with gif as e:
            for frame in gray_frames(30, first=first):
                e.write(frame)
        pieces.append(tmp_path / f"p{index}.gif")
    with Encoder(tmp_path, "whole", (64, 48), 25, ["gif"], palette=palette) as e:
        for frame in gray_frames(60):
            e.write(frame)
    join_gifs(pieces, tmp_path / "joined.gif")
    joined = gif_frames(tmp_path / "joined.gif")
    whole = gif_frames(tmp_path / "whole.gif")
    assert len(joined) == len(whole) == 60
    assert all(np.array_equal(a, b) for a, b in zip(joined, whole))
    with Image.open(tmp_path / "joined.gif") as image:
        assert image.info.get("loop") == 0  # the header's loop count is kept


@pytest.mark.render
def test_gifs_with_other_palettes_are_not_joined(tmp_path):
    for name, red in (("a", 0), ("b", 200)):
        palette = np.full((48, 64, 4), 255, dtype=np.uint8)
        palette[..., 0] = red
        with Encoder(tmp_path, name, (64, 48), 25, ["gif"], palette=palette) as e:
            for frame in gray_frames(3):
                e.write(frame)
    with pytest.raises(RenderError, match="another size, palette or loop count"):
        join_gifs([tmp_path / "a.gif", tmp_path / "b.gif"], tmp_path / "j.gif")
    (tmp_path / "c.gif").write_bytes(b"not a gif")
    with pytest.raises(RenderError, match=r"c\.gif is not a GIF"):
        join_gifs([tmp_path / "a.gif", tmp_path / "c.gif"], tmp_path / "j.gif")


@pytest.mark.render
def test_joined_mp4_has_the_frames_of_its_pieces(tmp_path):
    for index, first in enumerate((0, 20)):
        with Encoder(tmp_path, f"p{index}", (64, 48), 25, ["mp4"]) as e:
            for frame in gray_frames(20, first=first):
                e.write(frame)
    pieces = [tmp_path / "p0.mp4", tmp_path / "p1.mp4"]
    join_mp4(pieces, tmp_path / "joined.mp4")
    joined = mp4_frames(tmp_path / "joined.mp4", (64, 48))
    apart = np.concatenate([mp4_frames(p, (64, 48)) for p in pieces])
    assert np.array_equal(joined, apart)
    assert not list(tmp_path.glob(".*"))  # the list of pieces is gone


@pytest.mark.render
def test_a_broken_piece_fails_the_join_with_ffmpegs_words(tmp_path):
    (tmp_path / "p0.mp4").write_bytes(b"not a video at all")
    with pytest.raises(RenderError, match="joining the video's segments failed"):
        join_mp4([tmp_path / "p0.mp4"], tmp_path / "joined.mp4")
    assert not (tmp_path / "joined.mp4").exists()


# -- failures and interrupts ----------------------------------------------


def encode_gray(tmp_path, write_range, progress=None, cuts=((0, 60), (60, 120))):
    return segments.encode(
        write_range,
        list(cuts),
        out_dir=tmp_path / "out",
        stem="v",
        size=(64, 48),
        fps=25,
        formats=["mp4", "gif"],
        palette=next(gray_frames(1)),
        progress=progress,
    )


def writes_gray(start, stop, write, tick):
    for frame in gray_frames(stop - start, first=start):
        write(frame)
        tick()


@pytest.mark.render
def test_gray_pieces_are_joined_in_order(tmp_path):
    paths = encode_gray(tmp_path, writes_gray)
    assert [p.name for p in paths] == ["v.mp4", "v.gif"]
    assert sorted(os.listdir(tmp_path / "out")) == ["v.gif", "v.mp4"]
    decoded = mp4_frames(paths[0], (64, 48))
    assert len(decoded) == 120
    # frame i has its first (i·3 mod 64) columns grey: the order is kept
    filled = (np.abs(decoded[:, 24, :, 0].astype(int) - 255) > 40).sum(axis=1)
    assert np.all(np.abs(filled - (np.arange(120) * 3) % 64) <= 2)


def fails_in_the_second_piece(start, stop, write, tick):
    if start:
        raise RenderError("the second piece failed", details="Error: disk on fire")
    writes_gray(start, stop, write, tick)


def dies_in_the_second_piece(start, stop, write, tick):
    if start:
        os._exit(3)
    writes_gray(start, stop, write, tick)


@pytest.mark.render
def test_a_failing_piece_fails_the_video_and_leaves_nothing(tmp_path):
    with pytest.raises(RenderError) as error:
        encode_gray(tmp_path, fails_in_the_second_piece)
    said = "the second piece failed; ffmpeg said: Error: disk on fire"
    assert str(error.value) == said
    assert error.value.details == "Error: disk on fire"
    assert os.listdir(tmp_path / "out") == []


def test_a_worker_that_dies_fails_the_video_and_leaves_nothing(tmp_path):
    ended = r"ended without finishing its frames \(code 3\)"
    with pytest.raises(RenderError, match=ended):
        encode_gray(tmp_path, dies_in_the_second_piece)
    assert os.listdir(tmp_path / "out") == []


def test_an_interrupt_kills_the_workers_and_leaves_nothing(tmp_path):
    def stop(done, total):
        raise KeyboardInterrupt

    def slow(start, stop_, write, tick):
        write(next(gray_frames(1)))
        tick()
        time.sleep(120)  # unless killed

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        encode_gray(tmp_path, slow, progress=stop)
    assert time.monotonic() - began < 60  # the workers were killed, not awaited
    assert os.listdir(tmp_path / "out") == []
    assert multiprocessing.active_children() == []


@pytest.mark.render
@pytest.mark.parametrize(("jobs", "pieces"), [("1", 0), ("2", 2)])
def test_optviz_run_jobs_cuts_one_config_video(tmp_path, cuts_used, jobs, pieces):
    from optviz.cli import main

    config = tmp_path / "pieces.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    assert main(["run", str(config), "-o", str(out), "-q", "--jobs", jobs]) == 0
    assert [len(cuts) for cuts in cuts_used] == ([pieces] if pieces else [])
    assert sorted(os.listdir(out)) == ["pieces.gif", "pieces.mp4", "trajectories.csv"]


@pytest.mark.render
def test_a_killed_renders_pieces_folder_is_swept_and_a_live_ones_kept(tmp_path):
    """SIGKILL leaves a pieces folder behind; the next render of that video
    removes it, unless its process still runs (another render at work)."""
    out = tmp_path / "out"
    out.mkdir()
    dead, live = out / ".v.99999999.segments", out / f".v.{os.getppid()}.segments"
    other = out / ".w.99999999.segments"  # another video's: not this render's
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / ".segment-000.mp4.part").write_bytes(b"half a video")
    encode_gray(tmp_path, writes_gray)
    assert sorted(os.listdir(out)) == sorted(["v.mp4", "v.gif", live.name, other.name])
