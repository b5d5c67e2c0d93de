"""No child process is waited on forever.

optviz waits on other processes: the ffmpeg that encodes a video (while it
takes the frames, and while it finishes after the last one), the ffmpegs that
join a video's pieces and check a finished video, and, with ``--jobs``, the
worker processes that draw the pieces. Each wait is watched: a process that
makes no progress for :func:`seconds` is killed, every temporary file is
removed, and one line says so (a :class:`~optviz.errors.RenderError`, exit
status 1), such as ``ffmpeg made no progress for 60 s taking frames; ...``.

Progress is work done for us, not words: bytes of frames taken from the pipe,
an output file that grows or is rewritten, frames counted by ffmpeg's check
of a video, a worker's messages and its CPU time. A process that only writes
on stderr makes none, and its stderr is drained and kept to a bounded tail,
so that it can neither block on a full pipe nor fill the memory.

The bound is :data:`SECONDS` (60 s; the environment variable
``OPTVIZ_WATCHDOG_SECONDS`` sets another), grown in proportion for frames
larger than :data:`REFERENCE_PIXELS` (a 4K frame), whose encoding takes
longer. It bounds the time *without progress*: a long video that keeps moving
is never cut short, and a process that is busy for ever without doing what it
should (an endless loop that writes its output again and again) is not
caught.

Every child is started in a session of its own (Ctrl-C in a terminal reaches
only optviz, which stops it and cleans up) and, on Linux, is killed by the
kernel if optviz dies, even by SIGKILL (:func:`die_with_parent`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from optviz.errors import OptvizError, RenderError
from optviz.validate import show

SECONDS = 60.0
"""How long a child process may make no progress (frames of up to
:data:`REFERENCE_PIXELS`)."""
ENV = "OPTVIZ_WATCHDOG_SECONDS"
"""The environment variable that sets :data:`SECONDS` (a test lowers it)."""
REFERENCE_PIXELS = 3840 * 2160
"""Frames larger than this (4K) get a bound grown in proportion."""
_SAMPLE_S = 0.25  # how often a waiting process's progress is looked at
_KILL_WAIT_S = 5.0  # how long a SIGKILLed process may take to be gone
_TAIL_BYTES = 8192  # of a child's stderr, kept from its start and its end
_LINE_CHARS = 200  # of each line of it that an error may carry


def seconds(pixels: int = 0) -> float:
    """The watchdog's bound for a process handling frames of ``pixels``.

    :data:`SECONDS`, or the number of seconds in ``OPTVIZ_WATCHDOG_SECONDS``,
    times the frame's size in 4K frames where that is more than one.
    """
    base = SECONDS
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            base = float(text)
        except ValueError:
            base = math.nan
        if not (math.isfinite(base) and base > 0):
            raise OptvizError(
                f"{ENV} must be a number of seconds > 0, got {show(text)}"
            )
    return base * max(1.0, pixels / REFERENCE_PIXELS)


def workers_seconds(bound: float) -> float:
    """How long a worker process may report nothing: half as long again as
    the ``bound`` of its own ffmpeg (and a second), so that a stalled ffmpeg
    is reported by its worker, in its own words, before the worker is."""
    return bound * 1.5 + 1.0


def stalled(who: str, bound: float, doing: str) -> str:
    """The one line that says ``who`` was stopped for making no progress."""
    return (
        f"{who} made no progress for {bound:g} s {doing}; it was stopped "
        f"({ENV} sets how long to wait)"
    )


def die_with_parent(parent: int | None = None) -> None:
    """In a child process before it does anything (Linux): be killed by the
    kernel when the process that started it dies, even by SIGKILL, so that no
    child is ever left running behind optviz. ``parent``: that process's pid;
    if it has died already (before this call), end at once."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died between the fork and the prctl


def _children_die_with_us() -> Callable[[], None]:
    """``preexec_fn`` for a child of this process: :func:`die_with_parent`."""
    parent = os.getpid()
    return lambda: die_with_parent(parent)


@contextlib.contextmanager
def forking() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back while this process forks, and
    deliver them after: Python runs functions of its own in the parent around a fork
    (``os.register_at_fork``; ``logging`` has one), and an interrupt raised
    inside one of them is printed as "Exception ignored" with a traceback and
    then lost, so that the render would go on as if nothing had happened."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread only
        return
    caught: list[int] = []

    def hold(signum, frame) -> None:
        caught.append(signum)

    stops = [getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP")]
    before = {s: signal.signal(s, hold) for s in stops if s is not None}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        for held in dict.fromkeys(caught):
            signal.raise_signal(held)  # the handler we held it from runs now


def popen(cmd: Sequence[str], **options) -> subprocess.Popen:
    """Start a child that dies with us, in a session of its own."""
    if os.name == "posix":  # Windows has neither sessions nor preexec_fn
        options.update(start_new_session=True, preexec_fn=_children_die_with_us())
    proc = None
    try:
        with forking():
            proc = subprocess.Popen(list(cmd), **options)
    except BaseException:
        if proc is not None:  # an interrupt, held back while it started
            kill(proc)
        raise
    return proc


def kill(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and everything it started in its session, and reap it.

    Children of :func:`popen` lead a process group of their own: a shell
    script standing in for ffmpeg dies with the programs it started."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):  # gone, or not ours to signal
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_KILL_WAIT_S)


# -- progress ----------------------------------------------------------------


def files(paths: Sequence[Path]) -> tuple[tuple[int, int] | None, ...]:
    """What changes when any of ``paths`` grows, shrinks, is written or
    appears: their sizes and modification times."""
    found: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            found.append(None)
            continue
        found.append((stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def folder(path: Path) -> object:
    """:func:`files` of every file in the folder ``path``."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return tuple(zip(names, files([Path(path) / n for n in names])))


def cpu(pid: int) -> int | None:
    """The CPU time process ``pid`` has used, in clock ticks (Linux's
    ``/proc``); None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return None
    try:
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (IndexError, ValueError):
        return None


def wait(proc: subprocess.Popen, bound: float, progress: Callable[[], object]) -> bool:
    """Wait for ``proc`` to end: True when it has; False (and it still runs)
    once ``progress()`` has returned the same for ``bound`` seconds."""
    last, since = progress(), time.monotonic()
    step = min(_SAMPLE_S, bound / 10)
    while True:
        try:
            proc.wait(timeout=step)
            return True
        except subprocess.TimeoutExpired:
            pass
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= bound:
            return False


def nonblocking(pipe: IO[bytes]) -> None:
    """Prepare ``pipe`` (a child's stdin) for :func:`write`."""
    if _POLL:
        os.set_blocking(pipe.fileno(), False)


_POLL = hasattr(select, "poll") and os.name == "posix"


def write(pipe: IO[bytes], data: memoryview | bytes, bound: float) -> bool:
    """Write all of ``data`` to ``pipe``: True when it is written; False when
    the reader took nothing for ``bound`` seconds. OSError (a broken pipe)
    when the reader has gone.

    Where pipes can be polled (POSIX; the pipe made :func:`nonblocking`),
    every byte the reader takes is progress. Elsewhere the write happens in a
    thread, and the whole of ``data`` must go within ``bound``; a write still
    blocked then ends with the reader, when it is killed."""
    if not _POLL:
        return _write_in_thread(pipe, data, bound)
    fd = pipe.fileno()
    view = memoryview(data).cast("B")
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    since = time.monotonic()
    while view.nbytes:
        try:
            sent = os.write(fd, view)
        except BlockingIOError:
            sent = 0
        if sent:
            view = view[sent:]
            since = time.monotonic()
            continue
        left = bound - (time.monotonic() - since)
        if left <= 0:
            return False
        poller.poll(left * 1000)  # writable, broken (the write says), or late
    return True


def _write_in_thread(pipe: IO[bytes], data: memoryview | bytes, bound: float) -> bool:
    failed: list[BaseException] = []

    def send() -> None:
        try:
            pipe.write(data)
        except BaseException as e:  # handed to the waiting thread
            failed.append(e)

    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    writer.join(bound)
    if writer.is_alive():
        return False
    if failed:
        raise failed[0]
    return True


# -- stderr --------------------------------------------------------------------


class Tail:
    """A child's stderr, drained by a thread of its own: the first and the
    last :data:`_TAIL_BYTES` bytes are kept, however much it writes."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._head = bytearray()
        self._tail = bytearray()
        self._cut = False  # bytes were dropped between head and tail
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        fd = self._stream.fileno()
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                with self._lock:
                    room = _TAIL_BYTES - len(self._head)
                    self._head += chunk[:room]
                    self._tail += chunk[room:] if room > 0 else chunk
                    if len(self._tail) > _TAIL_BYTES:
                        del self._tail[: len(self._tail) - _TAIL_BYTES]
                        self._cut = True
        with contextlib.suppress(OSError):
            self._stream.close()

    def join(self, timeout: float = _KILL_WAIT_S) -> None:
        """Wait until the child's end of the pipe is closed (all of it read)."""
        self._thread.join(timeout)

    def text(self) -> str:
        """What was kept, as text; ``...`` where bytes were dropped."""
        with self._lock:
            head, tail, cut = bytes(self._head), bytes(self._tail), self._cut
        joint = b"\n...\n" if cut else b""
        return (head + joint + tail).decode("utf-8", "replace")

    def lines(self, most: int = 30) -> str:
        """The last ``most`` lines, each cut to :data:`_LINE_CHARS`
        characters: the details of an error."""
        found = []
        for line in re.split(r"[\r\n]+", self.text())[-most:]:
            line = line.rstrip()
            if len(line) > _LINE_CHARS:
                line = line[: _LINE_CHARS - 3] + "..."
            found.append(line)
        return "\n".join(found).strip()


@dataclass(frozen=True)
class Ended:
    """How a watched command ended: its exit status and its stderr."""

    returncode: int
    stderr: str  # the kept head and tail (see :class:`Tail`)
    details: str  # its last lines, short, for an error


def run(
    cmd: Sequence[str],
    doing: str,
    progress: Callable[[Tail], object],
    bound: float | None = None,
    who: str = "ffmpeg",
) -> Ended:
    """Run ``cmd`` (no input, output ignored, stderr kept) and wait for it,
    watched: when ``progress(stderr)`` stays the same for ``bound`` seconds
    (default :func:`seconds`), the command is killed and a RenderError says
    that ``who`` made no progress ``doing`` this. OSError when it cannot be
    started."""
    bound = seconds() if bound is None else bound
    proc = popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    tail = Tail(proc.stderr)
    try:
        ended = wait(proc, bound, lambda: progress(tail))
    finally:
        if proc.poll() is None:  # a stall, or an interrupt
            kill(proc)
        tail.join()
    if not ended:
        raise RenderError(stalled(who, bound, doing), details=tail.lines())
    return Ended(proc.returncode, tail.text(), tail.lines())
