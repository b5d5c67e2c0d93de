"""The output formats: one :class:`Writer` class each, registered by name.

A format is what a user writes under ``animation.formats``. Its writer says
everything the rest of optviz asks about it: its file suffix, whether it is
written from the last frame alone (``png``), from the scene's stage (``html``:
a player that draws its frames itself, see :mod:`optviz.output.player`) or
encoded from the stream of frames (``mp4``, ``gif``), whether that stream
wants the last frame ahead of it (the GIF's palette), where a piece of a
video cut for ``--jobs`` may start, and how the pieces are joined. The
config validates names against :data:`WRITERS`, ``optviz list formats``
prints it, the drawing and :mod:`optviz.output.segments` ask it; nothing
else names a format.

A new format is one class::

    @register
    class Frames(Writer):
        '''Every frame, as one .npy array.'''
        name = suffix = "npy"
        def open(self, out_dir, stem, size, fps, *, last=None, threads=None): ...
        def join(self, pieces, dest): ...

The two ffmpeg formats are encoded by one ffmpeg process between them (each
frame crosses one pipe once, whatever the formats): their writers add their
branch to that process's filter graph (:meth:`FFmpegWriter.output`) rather
than open a sink of their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from optviz.output.files import Session, for_subprocess
from optviz.registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from optviz.output.encode import Encoder
    from optviz.output.player import Stage


class Sink(Protocol):
    """Where the frames of one video go: ``write`` each, then ``finish``
    (the finished paths) or ``abort`` (nothing left behind)."""

    def write(self, frame) -> None: ...
    def finish(self) -> list[Path]: ...
    def abort(self) -> None: ...


class Writer:
    """One output format. Subclasses set the class attributes and implement
    :meth:`still` (``from_last_frame``) or :meth:`open` and :meth:`join`."""

    name: ClassVar[str]
    suffix: ClassVar[str]
    from_last_frame: ClassVar[bool] = False  # a still of the last frame
    wants_last_frame: ClassVar[bool] = False  # the stream needs it ahead
    from_scene: ClassVar[bool] = False  # written from the scene's stage, no frames

    @classmethod
    def summary(cls) -> str:
        """What ``optviz list formats`` prints: the docstring's first line."""
        return (cls.__doc__ or "").strip().splitlines()[0].rstrip(".")

    def path(self, out_dir: Path, stem: str) -> Path:
        return Path(out_dir) / f"{stem}.{self.suffix}"

    def check_size(self, width: int, height: int) -> None:
        """Raise ValueError for a frame size this format cannot hold."""

    def joint_multiple(self, fps: float) -> int:
        """Pieces of a video cut for ``--jobs`` start at multiples of this
        frame index, so that joining them gives what one pass gives."""
        return 1

    def still(self, path: Path, image: np.ndarray) -> Path:
        raise NotImplementedError(f"{self.name} is not written from one frame")

    def scene(self, path: Path, stage: Stage) -> Path:
        """Write ``path`` from ``stage``: the video's pictures and numbers
        (:class:`optviz.output.player.Stage`), for a format that draws its
        frames itself."""
        raise NotImplementedError(f"{self.name} is not written from the scene")

    def open(
        self,
        out_dir: Path,
        stem: str,
        size: tuple[int, int],
        fps: float,
        *,
        last: np.ndarray | None = None,
        threads: int | None = None,
    ) -> Sink:
        """A sink for the frames of ``<out_dir>/<stem>.<suffix>``."""
        raise NotImplementedError(f"{self.name} is not encoded from frames")

    def join(self, pieces: Sequence[Path], dest: Path) -> Path:
        """Join the files of consecutive pieces of one video into ``dest``."""
        raise NotImplementedError(f"{self.name} pieces cannot be joined")

    def verify(self, path: Path, frames: int, size: tuple[int, int]) -> str | None:
        """Why the file an encoder wrote at ``path`` (``frames`` frames of
        ``size`` sent) is not a whole one of this format, or None: checked
        before it is renamed onto its final name, so that an encoder that
        wrote junk and said it was fine installs nothing."""
        return None


WRITERS: Registry[Writer] = Registry("output format", "an")
"""Every output format by name, in the order ``optviz list`` shows them."""


def register(cls: type[Writer]) -> type[Writer]:
    """Add a format (a class decorator); its ``name`` must be new."""
    WRITERS.add(cls.name, cls())
    return cls


def get(name: str) -> Writer:
    """The writer of ``name``; a KeyError that lists the valid names."""
    return WRITERS.lookup(name)


def joint_multiple(fps: float, formats: Sequence[str]) -> int:
    """Where a piece may start for all of ``formats`` together."""
    return math.lcm(1, *(get(f).joint_multiple(fps) for f in formats))


class FFmpegWriter(Writer):
    """A format encoded by the one ffmpeg process of
    :class:`optviz.output.encode.Encoder`; ``branches`` of the split stream
    of raw frames go to it."""

    branches: ClassVar[int] = 1

    def output(self, ffmpeg, streams: list, video, part: Path, encoder: Encoder):
        """The ffmpeg-python output of this format from its ``streams`` (the
        split's branches); ``video(stream)`` drops the palette frame."""
        raise NotImplementedError

    def open(self, out_dir, stem, size, fps, *, last=None, threads=None) -> Sink:
        from optviz.output.encode import Encoder

        return Encoder(
            out_dir, stem, size, fps, [self.name], palette=last, threads=threads
        )


@register
class MP4(FFmpegWriter):
    """H.264 video (yuv420p, x264 veryfast at CRF 17), for slides and players."""

    name = suffix = "mp4"

    def check_size(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"H.264 needs an even frame size, got {(width, height)}")

    def output(self, ffmpeg, streams, video, part, encoder):
        (stream,) = streams
        x264 = {"threads": encoder.threads} if encoder.threads else {}
        return ffmpeg.output(
            video(stream).filter("format", "yuv420p"),
            for_subprocess(part),
            format="mp4",
            vcodec="libx264",
            preset=encoder.preset,
            crf=encoder.crf,
            pix_fmt="yuv420p",
            movflags="+faststart",
            **x264,
        )

    def join(self, pieces, dest):
        from optviz.output.encode import join_mp4

        return join_mp4(pieces, dest)

    def verify(self, path, frames, size):
        from optviz.output.encode import probe_video

        found = probe_video(path)
        if found is None:
            return "ffmpeg cannot read it"
        codec, pixels, width_height, count = found
        wanted = ("h264", "yuv420p", tuple(size), frames)
        got = (codec, pixels, width_height, count)
        if got != wanted:
            return f"it holds {_video(got)}, not {_video(wanted)}"
        return None


@register
class GIF(FFmpegWriter):
    """Looping GIF at whole-centisecond delays, palette from the last frame."""

    name = suffix = "gif"
    wants_last_frame = True
    branches = 2  # the palette's and the picture's

    def joint_multiple(self, fps: float) -> int:
        # A piece starts where a GIF frame and a video frame begin together
        # (at 30 fps and a GIF at 25, every 6th video frame).
        from optviz.output.encode import gif_fps

        per_frame = Fraction(gif_fps(fps)).limit_denominator(1000) / Fraction(
            fps
        ).limit_denominator(1000)
        return per_frame.denominator

    def output(self, ffmpeg, streams, video, part, encoder):
        from optviz.output.encode import gif_fps

        palette = streams[0].trim(end_frame=1).filter("palettegen", stats_mode="full")
        gif = video(streams[1]).filter("fps", fps=f"{gif_fps(encoder.fps):g}")
        # Ordered (Bayer) dithering is a function of position only, so
        # pixels that do not change between frames keep their palette
        # index and the GIF stores just the changed rectangle per frame.
        gif = ffmpeg.filter(
            [gif, palette],
            "paletteuse",
            dither="bayer",
            bayer_scale=4,
            diff_mode="rectangle",
        )
        return ffmpeg.output(gif, for_subprocess(part), loop=0, format="gif")

    def join(self, pieces, dest):
        from optviz.output.encode import join_gifs

        return join_gifs(pieces, dest)

    def verify(self, path, frames, size):
        from optviz.output.encode import gif_problem

        return gif_problem(path, size)


@register
class PNG(Writer):
    """The last frame as a still picture."""

    name = suffix = "png"
    from_last_frame = True

    def still(self, path, image):
        return save_png(path, image)


@register
class HTML(Writer):
    """A player in one self-contained web page: play, scrub, hide, read θ and f."""

    name = suffix = "html"
    from_scene = True

    def scene(self, path, stage):
        from optviz.output import player

        return player.write(path, stage)


def save_png(path: Path, image: np.ndarray) -> Path:
    """Write an (height, width, 3|4) uint8 image as PNG, atomically.

    The picture goes to a temporary file in the same folder first and is
    renamed into place (with the user's usual permissions), so ``path``
    never holds half a file.
    """
    import numpy as np
    from PIL import Image  # matplotlib's own dependency

    from optviz.errors import RenderError
    from optviz.output.files import replace_when_done

    image = np.asarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 4 and np.all(image[..., 3] == 255):
        image = image[..., :3]  # opaque: a quarter smaller without alpha
    try:
        with replace_when_done(Path(path)) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
    except OSError as e:
        raise RenderError(f"cannot write {path}: {e}") from e
    return path


DEFAULT = ("mp4", "gif")
"""The formats of a config that names none."""


class Streams(Session):
    """Every frame-stream format of one video at once: one :class:`Encoder`
    for the ffmpeg formats together, and a sink of its own for each other
    one. A context manager like the encoder; ``paths`` in ``formats`` order."""

    def __init__(self, out_dir, stem, size, fps, formats, *, last=None, threads=None):
        from optviz.output.encode import Encoder

        self.formats = tuple(dict.fromkeys(formats))
        chosen = [get(f) for f in self.formats]
        ffmpeg = [w.name for w in chosen if isinstance(w, FFmpegWriter)]
        self.sinks: list[Sink] = []
        if ffmpeg:
            wanted = any(get(f).wants_last_frame for f in ffmpeg)
            self.sinks.append(
                Encoder(
                    out_dir,
                    stem,
                    size,
                    fps,
                    ffmpeg,
                    palette=last if wanted else None,
                    threads=threads,
                )
            )
        for w in chosen:
            if not isinstance(w, FFmpegWriter):
                self.sinks.append(
                    w.open(out_dir, stem, size, fps, last=last, threads=threads)
                )
        self.paths: list[Path] = []

    def start(self) -> Streams:
        for sink in self.sinks:
            start = getattr(sink, "start", None)
            if start is not None:
                start()
        return self

    def write(self, frame) -> None:
        for sink in self.sinks:
            sink.write(frame)

    def finish(self) -> list[Path]:
        try:
            found = [p for sink in self.sinks for p in sink.finish()]
        except BaseException:
            self.abort()
            raise
        by_suffix = {p.name.rsplit(".", 1)[-1]: p for p in found}
        self.paths = [by_suffix[get(f).suffix] for f in self.formats]
        return self.paths

    def abort(self) -> None:
        for sink in self.sinks:
            sink.abort()


def _video(facts: tuple) -> str:
    codec, pixels, (w, h), count = facts
    return f"{count} frames of {w}×{h} {codec} {pixels}"
