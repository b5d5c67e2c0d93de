"""Encode raw frames into MP4 and/or GIF with one ffmpeg process.

Frames go to ffmpeg's stdin as raw RGBA; a ``split`` filter graph feeds both
encoders, so each frame is drawn once whatever the formats. The GIF's palette
is computed from one *palette frame* that is sent ahead of the video (the
caller's final frame, which holds every colour the animation will show);
without it the first frame serves. Taking the palette from a single frame
rather than from the whole stream keeps ffmpeg from buffering every frame
until the end of the input, as a whole-stream ``palettegen`` has to.

Outputs are written under hidden temporary names in the output folder and
renamed onto the final names only when ffmpeg succeeds; on any failure,
exception or interrupt, ffmpeg is killed and the temporary files removed, so a
final name only ever holds a complete file. Every ffmpeg is watched
(:mod:`optviz.output.watchdog`): one that takes no frame, or does not finish
after the last, for the watchdog's bound is killed, and that is an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from optviz.errors import RenderError
from optviz.output import watchdog
from optviz.output.files import Session, for_subprocess, partial_name, sweep_partials

# GIF delays are whole centiseconds: 30 fps would need 3.33 cs, which players
# round to 3 and so play 11 % fast. The GIF gets its own rate instead, at most
# 25 fps, which also keeps it small.
_GIF_MIN_DELAY_CS = 4
# x264's veryfast at CRF 17 matches fast at CRF 20 (SSIM 0.9930 vs 0.9933
# against the drawn frames of the lecture's benchmark video) for about half
# the encoder's CPU time, and the encoder shares the machine with the drawing.
PRESET = "veryfast"
CRF = 17
# Global options of every ffmpeg run: errors only, on stderr, which is kept.
_QUIET = ("-hide_banner", "-nostats", "-loglevel", "error")
_EXIT_GRACE_S = 5.0  # how long ffmpeg may take to exit after closing its input


def gif_fps(fps: float) -> float:
    """The GIF frame rate for a video at ``fps``: 100 / a whole centisecond."""
    delay = max(_GIF_MIN_DELAY_CS, round(100.0 / fps))
    return 100.0 / delay


def ffmpeg_exe() -> str:
    """The ffmpeg binary that ships with imageio-ffmpeg."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # ImportError, RuntimeError: not found for platform
        raise RenderError(f"no ffmpeg binary available: {e}") from e


class Encoder(Session):
    """One ffmpeg process writing ``<out_dir>/<stem>.<format>`` per format.

    Use as a context manager::

        with Encoder(out, "beale", (800, 600), 30, palette=last_frame) as enc:
            for frame in frames:
                enc.write(frame)
        enc.paths  # the finished files

    Leaving the block normally finishes the files; leaving it by an exception
    aborts and deletes them. ``start``/``write``/``finish``/``abort`` can be
    called directly too.
    """

    def __init__(
        self,
        out_dir: Path,
        stem: str,
        size: tuple[int, int],
        fps: float,
        formats: Sequence[str] = ("mp4", "gif"),
        *,
        palette: np.ndarray | bytes | None = None,
        crf: int = CRF,
        preset: str = PRESET,
        ffmpeg: str | None = None,
        threads: int | None = None,
    ) -> None:
        from optviz.output.writers import WRITERS, FFmpegWriter

        self.formats = tuple(dict.fromkeys(formats))
        ours = [n for n, w in WRITERS.items() if isinstance(w, FFmpegWriter)]
        unknown = [f for f in self.formats if f not in ours]
        if unknown or not self.formats:
            raise ValueError(f"formats must be some of {tuple(ours)}, got {formats}")
        self.writers = [
            w for f in self.formats if isinstance(w := WRITERS[f], FFmpegWriter)
        ]
        self.width, self.height = (int(v) for v in size)
        for writer in self.writers:
            writer.check_size(self.width, self.height)
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.fps = fps
        self.out_dir = Path(out_dir)
        self.final = {f: self.out_dir / f"{stem}.{f}" for f in self.formats}
        self.parts = {f: partial_name(p) for f, p in self.final.items()}
        self.paths: list[Path] = []  # filled in by finish()
        # A copy: the caller may hand over a drawing buffer it will reuse.
        self._palette = (
            bytes(self._bytes(palette))
            if palette is not None and any(w.wants_last_frame for w in self.writers)
            else None
        )
        self.crf = crf
        self.preset = preset
        self._ffmpeg = ffmpeg
        self.threads = threads  # None: ffmpeg's choice (about 1.5 a core)
        self._proc: subprocess.Popen | None = None
        self._frames = 0  # sent by write(): what the files must hold
        self._stderr: watchdog.Tail | None = None
        self._bound = 0.0  # the watchdog's, set by start()

    # -- the command --------------------------------------------------------

    def _outputs(self) -> list:
        """The filter graph and the outputs, as ffmpeg-python streams: the raw
        frames → ``split`` → palette and GIF, and/or the MP4."""
        # ffmpeg-python: the graph as objects (labels, escaping) instead of text
        import ffmpeg

        frames = ffmpeg.input(
            "pipe:0",
            format="rawvideo",
            pix_fmt="rgba",
            video_size=(self.width, self.height),
            framerate=f"{self.fps:g}",
        ).video

        def video(stream):
            """Drop the palette frame and restart the clock at the first real
            frame."""
            if self._palette is None:
                return stream
            return stream.trim(start_frame=1).setpts("PTS-STARTPTS")

        # Each format takes its branches of one split of the frames, the
        # last format the first branches; the outputs in format order.
        needed = sum(w.branches for w in self.writers)
        split = frames.filter_multi_output("split", needed) if needed > 1 else None
        taken = 0
        outputs: list = []
        for writer in reversed(self.writers):
            if split is None:
                streams = [frames]
            else:
                streams = [split[taken + i] for i in range(writer.branches)]
            taken += writer.branches
            part = self.parts[writer.name]
            outputs.insert(0, writer.output(ffmpeg, streams, video, part, self))
        return outputs

    def command(self) -> list[str]:
        """The ffmpeg command line (outputs go to the temporary names)."""
        import ffmpeg

        start = [self._ffmpeg or ffmpeg_exe(), *_QUIET, "-y"]
        if self.threads:  # a global option: before the outputs
            start += ["-filter_complex_threads", str(self.threads)]
        return ffmpeg.merge_outputs(*self._outputs()).compile(cmd=start)

    # -- the process --------------------------------------------------------

    def start(self) -> Encoder:
        """Start ffmpeg (and send the palette frame, if any)."""
        if self._proc is not None:
            raise RuntimeError("encoder already started")
        self._bound = watchdog.seconds(self.width * self.height)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        sweep_partials(self.out_dir)
        cmd = self.command()
        try:
            # A session of its own: Ctrl-C in a terminal reaches only us, and
            # we end ffmpeg ourselves (and clean up after it).
            self._proc = watchdog.popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as e:
            raise RenderError(f"cannot run ffmpeg ({cmd[0]}): {e}") from e
        assert self._proc.stdin is not None and self._proc.stderr is not None
        watchdog.nonblocking(self._proc.stdin)
        # Drained by a thread: an error-chatty ffmpeg could otherwise fill the
        # stderr pipe and block while we block writing frames to it.
        self._stderr = watchdog.Tail(self._proc.stderr)
        if self._palette is not None:
            self._send(self._palette)
        return self

    def _bytes(self, frame) -> memoryview:
        """``frame`` as flat bytes, checked against the frame size."""
        if isinstance(frame, np.ndarray):
            if frame.dtype != np.uint8:
                raise ValueError(f"frames must be uint8 RGBA, got {frame.dtype}")
            frame = np.ascontiguousarray(frame)
        view = memoryview(frame)
        if not view.c_contiguous:
            view = memoryview(bytes(view))
        expected = self.width * self.height * 4
        if view.nbytes != expected:
            raise ValueError(
                f"a {self.width}×{self.height} RGBA frame has {expected} bytes, "
                f"got {view.nbytes}"
            )
        return view.cast("B")

    def _stdin(self) -> IO[bytes]:
        """ffmpeg's input, between ``start`` and ``finish``."""
        assert self._proc is not None and self._proc.stdin is not None
        return self._proc.stdin

    def _send(self, data: memoryview | bytes) -> None:
        try:
            taken = watchdog.write(self._stdin(), data, self._bound)
        except OSError:  # BrokenPipeError: ffmpeg has closed its input
            self._fail("ffmpeg stopped reading frames", wait=True)
        if not taken:
            self._stalled("taking frames" if self._frames else "taking the first frame")

    def write(self, frame: np.ndarray | bytes | memoryview) -> None:
        """Send one (height, width, 4) RGBA frame."""
        if self._proc is None:
            raise RuntimeError("encoder not started")
        self._send(self._bytes(frame))
        self._frames += 1

    def finish(self) -> list[Path]:
        """Close the input, wait for ffmpeg, and move the outputs into place."""
        if self._proc is None:
            raise RuntimeError("encoder not started")
        try:
            try:
                self._stdin().close()
            except OSError:
                self._fail("ffmpeg stopped reading frames", wait=True)
            # ffmpeg encodes what it holds and writes the files out: each
            # change to them is progress.
            outputs = list(self.parts.values())
            if not watchdog.wait(
                self._proc, self._bound, lambda: watchdog.files(outputs)
            ):
                self._stalled("finishing after the last frame")
            if self._proc.returncode != 0:
                self._fail("encoding failed")
            if self._stderr is not None:
                self._stderr.join()
            missing = [n for n, p in self.parts.items() if not p.is_file()]
            if missing:
                names = ", ".join(self.final[n].name for n in missing)
                self._fail(f"ffmpeg exited without writing {names}")
            size = (self.width, self.height)
            for writer in self.writers:
                wrong = writer.verify(self.parts[writer.name], self._frames, size)
                if wrong:
                    self._fail(f"ffmpeg wrote a broken {writer.name}: {wrong}")
            for fmt in self.formats:
                os.replace(self.parts[fmt], self.final[fmt])
        except BaseException:
            self.abort()
            raise
        self.paths = [self.final[f] for f in self.formats]
        self._proc = None
        return self.paths

    def _fail(self, what: str, wait: bool = False):
        """Clean up and raise a RenderError with ffmpeg's exit and last words.

        ``wait``: ffmpeg closed its input, so it is on its way out; give it a
        moment to exit by itself so that its exit code and errors are known.
        """
        proc = self._proc
        if wait and proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # abort() kills
                proc.wait(timeout=min(_EXIT_GRACE_S, self._bound))
        self.abort()
        code = proc.returncode if proc is not None else None
        if code is not None and code < 0:
            what += f" (ffmpeg was killed by signal {-code})"
        elif code:
            what += f" (ffmpeg exited with code {code})"
        said = self._stderr.lines() if self._stderr is not None else ""
        raise RenderError(what, details=said)

    def _stalled(self, doing: str):
        """Kill ffmpeg, which made no progress ``doing`` this, clean up, and
        raise the watchdog's RenderError."""
        self.abort()
        said = self._stderr.lines() if self._stderr is not None else ""
        raise RenderError(watchdog.stalled("ffmpeg", self._bound, doing), details=said)

    def abort(self) -> None:
        """Kill ffmpeg and delete the temporary outputs; safe to call twice."""
        proc = self._proc
        if proc is not None:
            watchdog.kill(proc)  # and what it started; gone already: no harm
            # A broken pipe is what we are cleaning up after.
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            if self._stderr is not None:
                self._stderr.join()
        for part in self.parts.values():
            part.unlink(missing_ok=True)

    @property
    def process(self) -> subprocess.Popen | None:
        """The running ffmpeg (None before start and after finish)."""
        return self._proc


def join_mp4(segments: Sequence[Path], dest: Path, ffmpeg: str | None = None) -> Path:
    """Join H.264 MP4 ``segments`` (encoded with the same settings) into
    ``dest`` without re-encoding: ffmpeg's concat demuxer with ``-c copy``.

    Each segment starts with a key frame, so the joined stream decodes to
    exactly the frames of the segments, in order, with one clock.
    """
    dest = Path(dest)
    listing = dest.with_name(f".{dest.name}.segments.txt")
    # The concat demuxer reads single-quoted names: a quote is written '\''.
    lines = ["file '" + str(Path(s).resolve()).replace("'", "'\\''") + "'"
             for s in segments]  # fmt: skip
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # ffmpeg-python, by another name: ``ffmpeg`` is the binary's path here
    import ffmpeg as ffmpeg_python

    joined = ffmpeg_python.input(
        for_subprocess(listing), format="concat", safe=0
    ).output(for_subprocess(dest), format="mp4", c="copy", movflags="+faststart")
    cmd = joined.compile(cmd=[ffmpeg or ffmpeg_exe(), *_QUIET, "-y"])
    try:
        # Copying packets: the joined file grows as it goes.
        done = watchdog.run(
            cmd, "joining the video's pieces", lambda _: watchdog.files([dest])
        )
    except OSError as e:
        raise RenderError(f"cannot run ffmpeg ({cmd[0]}): {e}") from e
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        listing.unlink(missing_ok=True)
    if done.returncode != 0:
        dest.unlink(missing_ok=True)
        raise RenderError(
            f"joining the video's segments failed ({_ended(done.returncode)})",
            details=done.details,
        )
    return dest


def _ended(code: int) -> str:
    """How ffmpeg ended, from its exit status."""
    if code < 0:
        return f"ffmpeg was killed by signal {-code}"
    return f"ffmpeg exited with code {code}"


def join_gifs(segments: Sequence[Path], dest: Path) -> Path:
    """Join GIF ``segments`` that share one palette into the GIF ``dest``.

    A GIF is a header (size, global palette, loop count) and then its frames,
    each a graphic-control block (delay, transparency) and an image block,
    then a one-byte trailer. The joined file is the first segment's header
    followed by every segment's frames, byte for byte: nothing is decoded or
    re-quantised. (Concatenating the files, as ffmpeg's concat demuxer with
    ``-c copy`` does for GIF, leaves a second header inside the file, and
    browsers stop at the first trailer.) Each later segment's first frame is
    a whole frame rather than the changed rectangle, which costs one frame's
    bytes per joint and shows the same picture.
    """
    head = None
    bodies = []
    for path in segments:
        data = Path(path).read_bytes()
        try:
            this_head, body = _gif_split(data)
        except (IndexError, ValueError) as e:
            name = Path(path).name
            raise RenderError(f"{name} is not a GIF this can join: {e}") from None
        if head is None:
            head = this_head
        elif this_head != head:
            raise RenderError(
                f"{Path(path).name} has another size, palette or loop count than "
                f"{Path(segments[0]).name}; GIFs are joined only when they share them"
            )
        bodies.append(body)
    if head is None:
        raise ValueError("no GIF segments to join")
    with open(dest, "wb") as out:
        out.write(head)
        for body in bodies:
            out.write(body)
        out.write(b"\x3b")
    return Path(dest)


# "Video: h264 (High) (avc1 / ...), yuv420p(tv, progressive), 800x600, ..."
_STREAM = re.compile(
    r"Stream #0:0[^\n]*?: Video: (\w+)[^\n]*?, (\w+)(?:\([^)\n]*\))?, (\d+)x(\d+)"
)
_COUNT = re.compile(r"frame=\s*(\d+)")


def probe_video(path: Path) -> tuple[str, str, tuple[int, int], int] | None:
    """(codec, pixel format, (width, height), frames) of the video at
    ``path``, read by the bundled ffmpeg without decoding (its packets are
    copied to nowhere); None where ffmpeg cannot read it. A RenderError when
    ffmpeg makes no progress (counts no more frames) for the watchdog's
    bound."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", for_subprocess(path),
           "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]  # fmt: skip

    def counted(stderr: watchdog.Tail) -> object:
        """The frames ffmpeg has counted so far (its stats, twice a second)."""
        return _COUNT.findall(stderr.text())[-1:]

    try:
        done = watchdog.run(cmd, "checking the new video", counted)
    except OSError:
        return None
    stream, counts = _STREAM.search(done.stderr), _COUNT.findall(done.stderr)
    if done.returncode != 0 or stream is None or not counts:
        return None
    codec, pixels, w, h = stream.groups()
    return codec, pixels, (int(w), int(h)), int(counts[-1])


def gif_problem(path: Path, size: tuple[int, int]) -> str | None:
    """Why the file at ``path`` is not a whole GIF of ``size``, or None."""
    data = Path(path).read_bytes()
    try:
        _gif_split(data)
    except (IndexError, ValueError) as e:
        return f"not a whole GIF ({e or 'cut short'})"
    width, height = (
        int.from_bytes(data[6:8], "little"),
        int.from_bytes(data[8:10], "little"),
    )
    if (width, height) != tuple(size):
        return f"it is {width}×{height}, not {size[0]}×{size[1]}"
    return None


def _gif_split(data: bytes) -> tuple[bytes, bytes]:
    """A GIF's header (signature, screen descriptor, global palette and the
    application blocks before the first frame: the loop count) and its frames
    (every block after that, up to but without the trailer)."""
    if data[:6] not in (b"GIF89a", b"GIF87a"):
        raise ValueError("no GIF signature")
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    first_frame = None
    while data[pos] != 0x3B:  # the trailer
        start = pos
        if data[pos] == 0x21:  # an extension: label, then sub-blocks
            label = data[pos + 1]
            pos = _skip_sub_blocks(data, pos + 2)
            if label != 0xFF and first_frame is None:  # not an application block
                first_frame = start
        elif data[pos] == 0x2C:  # an image: descriptor, local palette, LZW data
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)  # after the LZW code size
            if first_frame is None:
                first_frame = start
        else:
            raise ValueError(f"unexpected block 0x{data[pos]:02x} at byte {pos}")
    if first_frame is None:
        raise ValueError("no frames")
    return data[:first_frame], data[first_frame:pos]


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """The position after the chain of sub-blocks starting at ``pos``."""
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1
