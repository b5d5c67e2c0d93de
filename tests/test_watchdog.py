"""The watchdog's parts: its bound, a pipe write that gives up, a wait that
gives up, a bounded stderr, a command killed with what it started; and an
encoder that is slow but keeps going, which it must leave alone.

The faults of whole runs are in tests/test_faults.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from optviz.errors import OptvizError, RenderError
from optviz.output import watchdog


@pytest.fixture
def bound(monkeypatch):
    """Set OPTVIZ_WATCHDOG_SECONDS for the test."""

    def set_to(seconds: float) -> float:
        monkeypatch.setenv(watchdog.ENV, str(seconds))
        return seconds

    return set_to


def test_the_bound_is_a_minute_set_by_the_environment_and_grows_with_4k_frames(
    monkeypatch,
):
    monkeypatch.delenv(watchdog.ENV, raising=False)
    assert watchdog.seconds() == watchdog.SECONDS == 60
    assert watchdog.seconds(800 * 600) == 60
    assert watchdog.seconds(2 * 3840 * 2160) == 120
    monkeypatch.setenv(watchdog.ENV, " 2.5 ")
    assert watchdog.seconds() == 2.5
    assert watchdog.workers_seconds(2.5) == 2.5 * 1.5 + 1


@pytest.mark.parametrize("text", ["abc", "0", "-1", "nan", "inf", "1e999", "x" * 500])
def test_a_bad_bound_is_one_short_line(monkeypatch, text):
    monkeypatch.setenv(watchdog.ENV, text)
    with pytest.raises(OptvizError) as error:
        watchdog.seconds()
    message = str(error.value)
    assert message.startswith(f"{watchdog.ENV} must be a number of seconds > 0, got ")
    assert "\n" not in message and len(message) < 150


def test_the_stall_message_names_who_what_and_the_setting():
    assert watchdog.stalled("ffmpeg", 60, "taking frames") == (
        "ffmpeg made no progress for 60 s taking frames; it was stopped "
        "(OPTVIZ_WATCHDOG_SECONDS sets how long to wait)"
    )


# -- writing to a pipe ---------------------------------------------------------


def pipe() -> tuple[int, object]:
    """A pipe: its reading end, and its writing end as a file, made ready for
    watchdog.write."""
    r, w = os.pipe()
    writer = os.fdopen(w, "wb", buffering=0)
    watchdog.nonblocking(writer)
    return r, writer


@pytest.mark.parametrize("polled", [True, False], ids=["poll", "thread"])
def test_a_write_nobody_reads_gives_up_after_the_bound(monkeypatch, polled):
    monkeypatch.setattr(watchdog, "_POLL", polled)
    r, writer = pipe() if polled else (lambda r, w: (r, os.fdopen(w, "wb")))(*os.pipe())
    try:
        began = time.monotonic()
        assert watchdog.write(writer, bytes(4 << 20), 0.3) is False
        assert 0.3 <= time.monotonic() - began < 3
    finally:
        os.close(r)  # a blocked writer thread ends with a broken pipe
        with contextlib.suppress(OSError):
            writer.close()


def test_a_write_to_a_slow_reader_goes_on_as_long_as_it_reads():
    r, writer = pipe()
    got = []

    def slow_reader() -> None:  # 64 KiB every 0.05 s: 2 MiB in about 1.6 s
        while chunk := os.read(r, 65536):
            got.append(len(chunk))
            time.sleep(0.05)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    began = time.monotonic()
    assert watchdog.write(writer, bytes(2 << 20), 0.4) is True
    assert time.monotonic() - began > 0.4  # longer than the bound, in all
    writer.close()
    reader.join()
    os.close(r)
    assert sum(got) == 2 << 20


def test_a_write_to_a_closed_pipe_is_a_broken_pipe():
    r, writer = pipe()
    os.close(r)
    with pytest.raises(BrokenPipeError):
        watchdog.write(writer, b"frame", 1.0)
    writer.close()


# -- waiting for a process -------------------------------------------------------


def python(code: str, **options) -> subprocess.Popen:
    return watchdog.popen([sys.executable, "-c", code], **options)


def test_a_wait_goes_on_while_the_process_changes_its_file(tmp_path):
    out = tmp_path / "out"
    code = (
        "import time\n"
        "for i in range(12):\n"
        f"    open({str(out)!r}, 'a').write('x')\n"
        "    time.sleep(0.1)\n"
    )
    proc = python(code)
    began = time.monotonic()
    assert watchdog.wait(proc, 0.4, lambda: watchdog.files([out])) is True
    assert time.monotonic() - began > 0.4 and proc.returncode == 0


def test_a_wait_gives_up_on_a_process_that_does_nothing(tmp_path):
    proc = python("import time; time.sleep(60)")
    began = time.monotonic()
    try:
        assert watchdog.wait(proc, 0.3, lambda: watchdog.files([tmp_path])) is False
        assert 0.3 <= time.monotonic() - began < 3 and proc.poll() is None
    finally:
        watchdog.kill(proc)
    assert proc.returncode is not None


def test_a_stalled_command_is_killed_with_what_it_started(tmp_path):
    mark = f"{time.time_ns() % 10**9}.25"  # a sleep no other process runs
    script = f"sleep {mark} & sleep {mark}; wait"
    with pytest.raises(RenderError) as error:
        watchdog.run(["sh", "-c", script], "sleeping", lambda _: None, bound=0.3)
    assert str(error.value).startswith("ffmpeg made no progress for 0.3 s sleeping;")

    def sleeping() -> list[str]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if mark.encode() in cmdline and b"sleep" in cmdline:
                found.append(entry.name)
        return found

    end = time.monotonic() + 5
    while sleeping() and time.monotonic() < end:
        time.sleep(0.05)
    assert sleeping() == []  # the background one too: its group was killed


def test_stderr_is_kept_to_its_head_and_tail_however_much_is_written():
    code = (
        "import sys\n"
        "sys.stderr.write('the first line\\n')\n"
        "for i in range(5000):\n"
        "    sys.stderr.write('x' * 999 + '\\n')\n"
        "sys.stderr.write('y' * 3_000_000)\n"
        "sys.stderr.write('\\nthe last line\\n')\n"
        "sys.exit(3)\n"
    )
    done = watchdog.run([sys.executable, "-c", code], "", lambda tail: tail.text())
    assert done.returncode == 3
    assert len(done.stderr) < 3 * watchdog._TAIL_BYTES
    assert done.stderr.startswith("the first line\n")
    assert done.stderr.rstrip().endswith("the last line")
    lines = done.details.splitlines()
    assert len(lines) <= 30 and max(map(len, lines)) <= watchdog._LINE_CHARS


# -- an encoder that is slow, but moves ---------------------------------------------


@pytest.mark.render
def test_a_slow_encoder_that_keeps_reading_is_left_alone(tmp_path, bound):
    """An ffmpeg that takes a frame every 0.1 s, 20 frames: twice the bound
    in all, but never a bound without progress: the video is written."""
    from optviz.output.encode import Encoder, ffmpeg_exe, probe_video

    relay = tmp_path / "slow-ffmpeg"
    relay.write_text(
        f"#!{sys.executable}\n"
        "import os, subprocess, sys, time\n"
        f"real = subprocess.Popen([{ffmpeg_exe()!r}, *sys.argv[1:]],"
        " stdin=subprocess.PIPE)\n"
        "size = sys.argv[sys.argv.index('-video_size') + 1]\n"
        "w, h = map(int, size.split('x'))\n"
        "while True:\n"
        "    frame = b''\n"
        "    while len(frame) < w * h * 4:\n"
        "        chunk = os.read(0, w * h * 4 - len(frame))\n"
        "        if not chunk:\n"
        "            break\n"
        "        frame += chunk\n"
        "    if not frame:\n"
        "        break\n"
        "    real.stdin.write(frame)\n"
        "    time.sleep(0.1)\n"
        "real.stdin.close()\n"
        "sys.exit(real.wait())\n"
    )
    relay.chmod(0o755)
    bound(1.0)
    frame = bytes(96 * 64 * 4)
    began = time.monotonic()
    with Encoder(tmp_path, "slow", (96, 64), 30, ("mp4",), ffmpeg=str(relay)) as enc:
        for _ in range(20):
            enc.write(frame)
    assert time.monotonic() - began > 2.0  # twice the bound, in all
    assert probe_video(enc.paths[0]) == ("h264", "yuv420p", (96, 64), 20)
