import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from optviz.errors import RenderError
from optviz.output.encode import Encoder, ffmpeg_exe, gif_fps

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

W, H = 160, 120


def frames(n, w=W, h=H):
    """A square moving across a gradient: every frame different."""
    out = []
    for i in range(n):
        a = np.empty((h, w, 4), dtype=np.uint8)
        a[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        a[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
        a[..., 2] = 128
        a[..., 3] = 255
        a[40:60, 10 * i : 10 * i + 20, :3] = (0, 0, 255)
        out.append(a)
    return out


def probe(path):
    """ffmpeg's description of a file and its decoded frame count."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    counts = re.findall(r"frame=\s*(\d+)", result.stderr)
    return result.stderr, int(counts[-1])


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def encode(folder, n=10, **kw):
    with Encoder(folder, "clip", (W, H), 30, **kw) as enc:
        for frame in frames(n):
            enc.write(frame)
    return enc.paths


def test_one_pass_writes_an_h264_mp4_and_a_gif(tmp_path):
    paths = encode(tmp_path, palette=frames(10)[-1])
    assert paths == [tmp_path / "clip.mp4", tmp_path / "clip.gif"]
    assert leftovers(tmp_path) == ["clip.gif", "clip.mp4"]

    info, count = probe(tmp_path / "clip.mp4")
    stream = next(line for line in info.splitlines() if "Video:" in line)
    assert "h264" in stream and "yuv420p" in stream and f"{W}x{H}" in stream
    assert "30 fps" in stream
    assert count == 10  # the palette frame is not in the video

    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.size == (W, H)
        assert gif.info["loop"] == 0  # plays forever
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    # 10 frames at 30 fps = 333 ms, resampled to 25 fps: whole 40 ms delays.
    assert set(durations) == {40}
    assert abs(sum(durations) - 1000 * 10 / 30) <= 40


def test_mp4_is_faststart(tmp_path):
    encode(tmp_path, formats=("mp4",))
    data = (tmp_path / "clip.mp4").read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize("formats", [("mp4",), ("gif",)])
def test_one_format_alone(tmp_path, formats):
    paths = encode(tmp_path, formats=formats)
    assert [p.name for p in paths] == [f"clip.{formats[0]}"]
    assert leftovers(tmp_path) == [f"clip.{formats[0]}"]
    _, count = probe(paths[0])
    assert count in ((10,) if formats == ("mp4",) else (8, 9))  # 333 ms at 25 fps


def test_gif_without_palette_frame_uses_the_first_frame(tmp_path):
    encode(tmp_path, formats=("gif",))
    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.n_frames in (8, 9)
        assert gif.info["duration"] == 40


@pytest.mark.parametrize(
    "fps, expected", [(30, 25), (25, 25), (60, 25), (24, 25), (20, 20), (10, 10)]
)
def test_gif_rate_has_whole_centisecond_delays(fps, expected):
    rate = gif_fps(fps)
    assert rate == pytest.approx(expected)
    assert (100 / rate) == pytest.approx(round(100 / rate))


# -- failures leave nothing behind -------------------------------------------------


def test_bad_encoder_option_raises_with_ffmpegs_words(tmp_path):
    with pytest.raises(RenderError) as err:
        encode(tmp_path, preset="no-such-preset")
    assert "no-such-preset" in str(err.value)  # from ffmpeg's stderr
    assert leftovers(tmp_path) == []


def test_killed_ffmpeg_raises_and_cleans_up(tmp_path):
    enc = Encoder(tmp_path, "clip", (W, H), 30).start()
    enc.write(frames(1)[0])
    enc.process.kill()
    with pytest.raises(RenderError, match="signal"):
        for frame in frames(10):
            enc.write(frame)
        enc.finish()
    assert enc.process.poll() is not None
    assert leftovers(tmp_path) == []


def test_interrupt_kills_ffmpeg_and_cleans_up(tmp_path):
    enc = Encoder(tmp_path, "clip", (W, H), 30)
    with pytest.raises(KeyboardInterrupt), enc:
        for frame in frames(5):
            enc.write(frame)
        raise KeyboardInterrupt
    assert enc.process.poll() is not None
    assert leftovers(tmp_path) == []


def test_failure_keeps_an_earlier_good_file(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"an earlier video")
    with pytest.raises(RenderError):
        encode(tmp_path, formats=("mp4",), crf=-100)  # out of range for x264
    assert (tmp_path / "clip.mp4").read_bytes() == b"an earlier video"
    assert leftovers(tmp_path) == ["clip.mp4"]


def test_wrong_frame_size_aborts(tmp_path):
    enc = Encoder(tmp_path, "clip", (W, H), 30)
    with pytest.raises(ValueError, match="bytes"), enc:
        enc.write(frames(1, w=W + 2)[0])
    assert leftovers(tmp_path) == []


def test_missing_ffmpeg_is_a_render_error(tmp_path):
    with pytest.raises(RenderError, match="cannot run ffmpeg"):
        Encoder(tmp_path, "clip", (W, H), 30, ffmpeg=str(tmp_path / "nope")).start()
    assert leftovers(tmp_path) == []


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        Encoder(tmp_path, "clip", (W + 1, H), 30)
    with pytest.raises(ValueError, match="formats"):
        Encoder(tmp_path, "clip", (W, H), 30, formats=("webm",))
    with pytest.raises(ValueError, match="uint8"):
        Encoder(tmp_path, "clip", (W, H), 30, palette=np.zeros((H, W, 4)))
    Encoder(tmp_path, "clip", (W + 1, H), 30, formats=("gif",))  # odd is fine


def test_a_failed_encode_is_one_line_naming_the_cause(tmp_path):
    with pytest.raises(RenderError) as err:
        encode(tmp_path, preset="no-such-preset")
    message = str(err.value)
    assert "\n" not in message
    assert "invalid preset 'no-such-preset'" in message
    assert "Nothing was written" in err.value.details  # the rest is kept


def test_threads_limit_the_encoder_and_the_filters(tmp_path):
    chosen = Encoder(tmp_path, "v", (64, 48), 25, ["mp4", "gif"]).command()
    assert "-threads" not in chosen and "-filter_complex_threads" not in chosen
    cmd = Encoder(tmp_path, "v", (64, 48), 25, ["mp4", "gif"], threads=1).command()
    assert cmd[cmd.index("-filter_complex_threads") + 1] == "1"
    assert cmd.index("-filter_complex_threads") < cmd.index("-map")  # global
    # -threads is one of the MP4 output's options (between its -map and its
    # file), where it limits x264, not the filters or the GIF encoder
    mp4_options = cmd[
        cmd.index("-map") : cmd.index(str(tmp_path / f".v.mp4.{os.getpid()}.part"))
    ]
    assert "libx264" in mp4_options
    threads = mp4_options.index("-threads")
    assert mp4_options[threads + 1] == "1"
    assert cmd.count("-threads") == 1


# --- an encoder that lies: every file is checked before it is installed --------


def lying_ffmpeg(tmp_path, what: str) -> str:
    """A stand-in for ffmpeg that reads every frame, writes ``what`` ('junk',
    'short': a real video with one frame fewer, 'small': a real video of
    another size) to each output, and exits 0."""
    script = tmp_path / "ffmpeg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        "sys.stdin.buffer.read()\n"
        "outs = [a for a in sys.argv[1:] if a.endswith('.part')]\n"
        f"what = {what!r}\n"
        "for out in outs:\n"
        "    if what == 'junk':\n"
        "        open(out, 'wb').write(b'not a video at all')\n"
        "        continue\n"
        "    n, size = (9, '160x120') if what == 'short' else (10, '80x60')\n"
        "    fmt = 'gif' if '.gif.' in out else 'mp4'\n"
        f"    subprocess.run([{ffmpeg_exe()!r}, '-v', 'error', '-y', '-f', 'lavfi',"
        " '-i', f'testsrc=size={size}:rate=30', '-frames:v', str(n), '-pix_fmt',"
        " 'yuv420p' if fmt == 'mp4' else 'rgb8', '-f', fmt, out], check=True)\n"
    )
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("what", "formats", "says"),
    [
        ("junk", ("mp4",), "ffmpeg wrote a broken mp4: ffmpeg cannot read it"),
        ("junk", ("gif",), "ffmpeg wrote a broken gif: not a whole GIF"),
        ("short", ("mp4",), "it holds 9 frames of 160×120 h264 yuv420p, not 10"),
        ("small", ("mp4", "gif"), "broken mp4: it holds 10 frames of 80×60"),
    ],
    ids=["junk-mp4", "junk-gif", "a-frame-short", "wrong-size"],
)  # fmt: skip
def test_an_encoder_that_lies_installs_nothing(tmp_path, what, formats, says):
    out = tmp_path / "out"
    out.mkdir()
    for fmt in formats:
        (out / f"clip.{fmt}").write_bytes(b"an earlier video")
    fake = lying_ffmpeg(tmp_path, what)
    with pytest.raises(RenderError) as error:
        encode(out, formats=formats, ffmpeg=fake)
    assert says in str(error.value) and "\n" not in str(error.value)
    for fmt in formats:
        assert (out / f"clip.{fmt}").read_bytes() == b"an earlier video"
    assert leftovers(out) == sorted(f"clip.{fmt}" for fmt in formats)


def test_a_truthful_encoder_passes_the_check(tmp_path):
    from optviz.output.encode import gif_problem, probe_video

    paths = encode(tmp_path)
    assert probe_video(paths[0]) == ("h264", "yuv420p", (W, H), 10)
    assert gif_problem(paths[1], (W, H)) is None
