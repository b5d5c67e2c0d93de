"""Encode one video in several processes, and join the pieces losslessly.

The video's frames are cut into contiguous ranges, one per worker process.
Each worker draws its range and encodes it with an ffmpeg of its own into
segment files — H.264 with the same settings, and a GIF with the same
palette — and each format's writer then joins its segments
(:meth:`optviz.output.writers.Writer.join`) without re-encoding: the MP4s by
ffmpeg's concat demuxer with ``-c copy``, the GIFs by splicing their frame
blocks (:func:`optviz.output.encode.join_gifs`).

Workers are started by the method the caller names: forked, each starts
with the figure the parent has already drawn; spawned (where ``fork`` does
not exist, or in a program that runs threads of its own, such as a notebook
kernel), each is handed the picklable function that draws its range and
builds its own figure (:class:`optviz.pipeline.FrameRanges`). A video too
short to share is drawn by one process.

Why the joints are invisible:

- a worker first puts its figure in the state drawing every earlier frame
  would have left it in (``seek``), so each frame is drawn pixel for pixel
  as a single process draws it;
- the GIF has fewer frames per second than the video (whole centiseconds),
  so each range starts where a GIF frame and a video frame begin together:
  every piece then picks the same frames a single pass picks.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import math
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

import numpy as np

from optviz.errors import RenderError
from optviz.output import watchdog, writers
from optviz.output.files import alive, partial_name

# Fewer frames than this a worker are not worth its start (fork, ffmpeg, and
# the joining afterwards take about a tenth of a second).
LEAST_FRAMES = 60

WriteRange = Callable[[int, int, Callable, Callable[[], None]], None]
"""``write_range(start, stop, write, tick)``: draw frames ``start`` to
``stop - 1`` of the video, hand each to ``write`` and call ``tick`` after it."""


def joint_multiple(fps: float, formats: Sequence[str]) -> int:
    """The frame indices where a range may start: multiples of this, as the
    writers of ``formats`` ask (with a GIF among them, where a GIF frame
    starts: at 30 fps and a GIF at 25, every 6th video frame)."""
    return writers.joint_multiple(fps, formats)


def ranges(
    costs: Sequence[float], parts: int, multiple: int = 1, least: int = LEAST_FRAMES
) -> list[tuple[int, int]]:
    """Cut frames of the given ``costs`` into at most ``parts`` contiguous
    ``(start, stop)`` ranges of about equal cost; each range starts at a
    multiple of ``multiple`` and has at least ``least`` frames (so there may
    be fewer ranges, down to one)."""
    count = len(costs)
    parts = max(1, min(parts, count // max(least, 1)))
    if parts == 1 or count == 0:
        return [(0, count)]
    cumulative = np.cumsum(costs, dtype=float)
    total = cumulative[-1]
    cuts = [0]
    for i in range(1, parts):
        # Where the frames before the cut cost the i-th share: on the grid.
        at = int(np.searchsorted(cumulative, total * i / parts)) + 1
        at = int(at / multiple + 0.5) * multiple
        if at - cuts[-1] >= least and count - at >= least:
            cuts.append(at)
    cuts.append(count)
    return list(itertools.pairwise(cuts))


def encode(
    write_range: WriteRange,
    cuts: Sequence[tuple[int, int]],
    *,
    out_dir: Path,
    stem: str,
    size: tuple[int, int],
    fps: float,
    formats: Sequence[str],
    palette: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    start_method: str = "fork",
) -> list[Path]:
    """Encode the video ``out_dir/<stem>.<format>`` from the frame ranges
    ``cuts``, one worker process each, started by ``start_method`` (any but
    ``fork`` pickles ``write_range``); the paths, in ``formats`` order.

    Nothing appears under a final name unless every worker and both joins
    succeeded; on any failure or interrupt the workers are killed (their
    ffmpegs die with them) and every temporary file is removed. A worker's
    error is raised here, as the :class:`RenderError` it would have been in
    one process. Workers that make no progress for
    :func:`watchdog.workers_seconds` are an error too: each watches its own
    ffmpeg, and the workers are watched here.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = cuts[-1][1] if cuts else 0
    _sweep(out_dir, stem)
    folder = out_dir / f".{stem}.{os.getpid()}.segments"
    shutil.rmtree(folder, ignore_errors=True)  # a dead namesake's (pid reused)
    folder.mkdir()
    # any of the start methods: BaseContext does not declare Process
    context: Any = multiprocessing.get_context(start_method)
    workers = []
    finals = {f: writers.get(f).path(out_dir, stem) for f in formats}
    parts = {f: partial_name(p) for f, p in finals.items()}
    # Each worker draws on a core of its own and its ffmpeg takes what is
    # left: x264's own choice, threads for every core, would have each of N
    # encoders fight the others and the drawing for the same cores.
    threads = max(1, (os.cpu_count() or 1) // len(cuts) - 1)
    bound = watchdog.workers_seconds(watchdog.seconds(size[0] * size[1]))
    try:
        for index, (start, stop) in enumerate(cuts):
            receive, send = context.Pipe(duplex=False)
            encoder = writers.Streams(
                folder,
                f"segment-{index:03d}",
                size,
                fps,
                formats,
                last=palette,
                threads=threads,
            )
            process = context.Process(
                target=_worker,
                args=(write_range, start, stop, encoder, send, os.getpid()),
                name=f"optviz-segment-{index}",
                daemon=True,
            )
            with watchdog.forking():
                process.start()
                workers.append((process, receive))
            send.close()  # the parent's copy: EOF reaches us when the worker ends
        _collect(workers, total, progress, bound, folder)
        for fmt in formats:
            # The writer of each format says how its pieces are joined.
            writer = writers.get(fmt)
            pieces = [writer.path(folder, f"segment-{i:03d}") for i in range(len(cuts))]
            try:
                writer.join(pieces, parts[fmt])
            except OSError as e:  # a full disk, for one
                raise RenderError(
                    f"cannot write {finals[fmt]}: {e.strerror or e}"
                ) from e
            wrong = writer.verify(parts[fmt], total, size)
            if wrong:
                raise RenderError(
                    f"joining the {fmt} pieces gave a broken file: {wrong}"
                )
        for fmt in formats:
            os.replace(parts[fmt], finals[fmt])
    finally:
        for process, receive in workers:
            if process.is_alive():
                process.kill()
            process.join()
            receive.close()
        _remove(folder)
        for part in parts.values():
            part.unlink(missing_ok=True)
    return [finals[f] for f in formats]


def _remove(folder: Path) -> None:
    """Remove the pieces folder. A killed worker's ffmpeg is killed by the
    kernel a moment after it, and may still write in the folder meanwhile:
    try again for a while."""
    for _ in range(20):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)


def _sweep(out_dir: Path, stem: str) -> None:
    """Remove the pieces folders of ``stem`` that a killed optviz left.

    An interrupted render cleans up after itself; one killed outright
    (SIGKILL, a power cut) cannot. Its folder names its process: a folder
    whose process is gone is stale, one whose process runs is another
    render's, and is left alone.
    """
    for folder in out_dir.glob(f".{glob.escape(stem)}.*.segments"):
        pid = folder.name[len(stem) + 2 : -len(".segments")]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _collect(
    workers: Sequence[tuple[Any, Connection]],
    total: int,
    progress: Callable[[int, int], None] | None,
    bound: float = math.inf,
    folder: Path | None = None,
) -> None:
    """Wait for every worker, passing their frame counts on to ``progress``;
    the first failure is raised, and so is a RenderError when for ``bound``
    seconds no worker has sent a word, used CPU time (where ``/proc`` tells)
    or changed a file in the pieces ``folder``."""
    done = 0
    waiting: dict[Connection, Any] = {receive: process for process, receive in workers}
    finished = set()

    def moving() -> object:
        return (
            [watchdog.cpu(p.pid) for p in waiting.values()],
            watchdog.folder(folder) if folder is not None else None,
        )

    last, since = moving(), time.monotonic()
    step = min(0.25, bound / 10)
    while waiting:
        ready_ones = wait(list(waiting), timeout=step)
        if ready_ones:
            since = time.monotonic()
        else:
            now = moving()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= bound:
                raise RenderError(
                    watchdog.stalled("a rendering process", bound, "drawing its frames")
                )
        for ready in ready_ones:
            receive = cast(Connection, ready)
            try:
                message = receive.recv()
            except EOFError:  # the worker has ended
                process = waiting.pop(receive)
                if receive not in finished:
                    # It closed its pipe: it is on its way out (the caller
                    # kills one that is not).
                    process.join(min(bound, 5.0))
                    code = process.exitcode
                    how = (
                        "it did not exit"
                        if code is None
                        else f"signal {-code}"
                        if code < 0
                        else f"code {code}"
                    )
                    raise RenderError(
                        f"a rendering process ended without finishing its frames "
                        f"({how})"
                    ) from None
                continue
            kind = message[0]
            if kind == "frames":
                done += message[1]
                if progress is not None:
                    progress(done, total)
            elif kind == "done":
                finished.add(receive)
            else:  # "error"
                _, text, details = message
                error = RenderError(str(text))  # already one line, with the cause
                error.details = str(details)
                raise error


def _worker(
    write_range: WriteRange, start: int, stop: int, encoder, send, parent: int
) -> None:
    """In a worker: frames ``start`` to ``stop - 1`` into ``encoder``;
    reports ``("frames", n)`` as it goes, then ``("done",)`` or
    ``("error", message, details)`` — never a traceback on the terminal.
    ``parent``: the process that forked it, whose death ends it."""
    # Ctrl-C reaches the whole process group: the parent, which kills us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # so does a hang-up
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watchdog.die_with_parent(parent)
    try:
        with encoder:
            write_range(start, stop, encoder.write, lambda: send.send(("frames", 1)))
        send.send(("done",))
    except RenderError as e:
        send.send(("error", str(e), e.details))
    except OverflowError as e:  # Agg: "Exceeded cell block limit" and the like
        send.send(("error", f"matplotlib could not draw a frame: {e}", ""))
    except Exception as e:  # a bug: reported by the parent as one line
        text = f"a rendering process failed: {type(e).__name__}: {e}"
        send.send(("error", text, ""))
    finally:
        with contextlib.suppress(OSError):
            send.close()
