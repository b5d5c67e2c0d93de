"""Killing a render midway leaves nothing behind.

optviz runs in a subprocess, exactly as a user would start it, on a video long
enough to be interrupted while frames are being encoded; it is then stopped
with SIGINT (Ctrl-C) or SIGTERM, rendering in one process or in two (each
encoding its piece of the video). Afterwards no video exists under its final
name, no temporary file is left, and no ffmpeg or worker is still running.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

CONFIG = """
surface: beale
starts: [[-3, 3]]
iterations: 2000
optimizers:
  - {method: adam, lr: 0.22}
animation: {frames: 20000, fps: 30, formats: [mp4, gif]}
"""


def ffmpeg_processes_writing_to(folder: Path) -> list[int]:
    """PIDs of processes whose command line names ``folder`` (ffmpeg does)."""
    return processes_naming(folder, b"ffmpeg")


def processes_naming(path: Path, program: bytes = b"") -> list[int]:
    """PIDs of processes (of ``program``) whose command line names ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if program in cmdline and str(path).encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_for(condition, seconds=60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find ffmpeg")
@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hung up"),  # the terminal closed
    ],
    ids=["ctrl-c", "sigterm", "sighup"],
)
@pytest.mark.parametrize("burst", [1, 6], ids=["once", "again-during-cleanup"])
@pytest.mark.parametrize("jobs", [1, 2], ids=["one-process", "two-workers"])
def test_a_killed_render_leaves_no_partial_output_and_no_ffmpeg(
    tmp_path, sig, code, word, jobs, burst
):
    """Stopped once, or by the same signal again and again while it cleans up
    (an impatient Ctrl-C): the cleanup still runs to its end."""
    config = tmp_path / "long.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "optviz.cli", "run", str(config), "-o", str(out)]
    proc = subprocess.Popen(
        [*command, "--jobs", str(jobs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # frames are flowing once ffmpeg has begun the MP4 (the CSV, written
        # first, has a .part of its own: not that one); with two workers,
        # once the second worker's piece has begun
        mp4 = ".long.mp4.*.part"
        if jobs == 2:
            mp4 = ".long.*.segments/.segment-001.mp4.*.part"
        started = wait_for(
            lambda: any(p.stat().st_size > 0 for p in out.glob(mp4) if p.is_file())
        )
        assert started, "the render never got going"
        assert ffmpeg_processes_writing_to(out), "ffmpeg should be running now"
        for _ in range(burst):
            if proc.poll() is None:
                proc.send_signal(sig)
                time.sleep(0.02)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert word in err and "Traceback" not in err
    # after the progress bar, one line: nothing of a second signal's
    assert (
        err.strip().splitlines()[-1]
        == f"optviz: {word}; no output was left half-written"
    )
    leftovers = sorted(p.name for p in out.iterdir())
    assert leftovers == ["trajectories.csv"]  # complete, written before the video
    assert wait_for(lambda: not ffmpeg_processes_writing_to(out), seconds=10)
    assert wait_for(lambda: not processes_naming(config), seconds=10)  # workers


def test_an_existing_video_survives_a_failed_new_render(tmp_path, monkeypatch):
    """Only a complete new file replaces an old one."""
    from optviz.cli import main

    config = tmp_path / "v.yaml"
    config.write_text(CONFIG.replace("frames: 20000", "frames: 10"))
    out = tmp_path / "out"
    assert main(["run", "-q", str(config), "-o", str(out)]) == 0
    before = (out / "v.mp4").read_bytes()
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "missing-ffmpeg"))
    assert main(["run", "-q", str(config), "-o", str(out)]) == 1
    assert (out / "v.mp4").read_bytes() == before
    assert not list(out.glob(".*.part"))


def test_a_full_disk_while_writing_the_csv_leaves_no_file(
    tmp_path, monkeypatch, capsys
):
    import errno
    import io

    from optviz.cli import main
    from optviz.output import trajectories_csv as export

    class Full(io.StringIO):
        """A file on a disk that fills up after the header."""

        def write(self, text):
            if self.tell():
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(text)

    def full_open(path, *args, **kwargs):
        Path(path).write_text("")  # the partial file exists, as on a real disk
        return Full()

    monkeypatch.setattr(export, "open", full_open, raising=False)
    config = tmp_path / "v.yaml"
    config.write_text(CONFIG.replace("frames: 20000", "frames: 10"))
    out = tmp_path / "out"
    assert main(["run", "--no-video", str(config), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    csv_path = out / "trajectories.csv"
    assert (
        err.strip()
        == f"optviz: error: cannot write {csv_path}: No space left on device"
    )
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_signal_that_a_c_extension_turned_into_another_error_is_still_a_stop(
    tmp_path, monkeypatch, capsys, sig, code, word
):
    """A signal handler's exception raised inside a C extension's callback can
    come out as that extension's own error (matplotlib's transforms make it
    "ValueError: Invalid affine transformation matrix"): seen once in CI as
    an "internal error" after SIGTERM. A stop is reported as a stop."""
    from optviz.cli import main
    from optviz.draw import figure as drawing

    buffer = drawing.Renderer.buffer
    calls = []

    def mangled(self, k, camera=None):
        calls.append(k)
        if len(calls) == 5:
            try:
                os.kill(os.getpid(), sig)  # the handler raises right here
                time.sleep(5)
            except BaseException as e:  # as matplotlib's C++ does
                raise ValueError("Invalid affine transformation matrix") from e
        return buffer(self, k, camera)

    monkeypatch.setattr(drawing.Renderer, "buffer", mangled)
    config = tmp_path / "v.yaml"
    config.write_text(CONFIG.replace("frames: 20000", "frames: 40"))
    out = tmp_path / "out"
    assert main(["run", "-q", str(config), "-o", str(out), "--jobs", "1"]) == code
    err = capsys.readouterr().err
    assert err.strip() == f"optviz: {word}; no output was left half-written"
    assert sorted(p.name for p in out.iterdir()) == ["trajectories.csv"]
    # and the handlers are put back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid``, and theirs."""
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *children_of(kid)]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGKILL, -9)], ids=["term", "kill"]
)
def test_configs_side_by_side_stop_with_their_parent(tmp_path, sig, code):
    """``optviz run a.yaml b.yaml -j 2``: stopped, its workers and their
    ffmpegs end too — cleaned up after SIGTERM, and gone even when the
    parent is killed outright (they get SIGKILL when it dies)."""
    configs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(CONFIG)
        configs.append(str(path))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "optviz", "run", *configs, "-o", str(out)]
    proc = subprocess.Popen(
        [*command, "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        started = wait_for(
            lambda: all(
                any(p.stat().st_size > 0 for p in (out / n).glob(f".{n}.mp4.*.part"))
                for n in ("a", "b")
            )
        )
        assert started, "the renders never got going"
        family = children_of(proc.pid)
        assert len(family) >= 4  # two workers, each with its ffmpeg
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert wait_for(lambda: not any(alive(p) for p in family), seconds=10)
    if sig == signal.SIGTERM:
        assert "terminated" in err and "Traceback" not in err
        for n in ("a", "b"):
            assert sorted(p.name for p in (out / n).iterdir()) == ["trajectories.csv"]
