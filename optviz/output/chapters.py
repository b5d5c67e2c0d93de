"""One MP4 from several, with a chapter marker at the start of each.

The pieces are H.264 MP4s encoded with the same settings, size and frame
rate (:class:`optviz.output.encode.Encoder`), so they are joined as
:func:`optviz.output.encode.join_mp4` joins the pieces of one video: ffmpeg's
concat demuxer with ``-c copy``, nothing re-encoded. The chapters come from
an ffmetadata file given as a second input (``-map_chapters 1``), in a time
base of one frame (``TIMEBASE=1/fps``), so each marker falls exactly on the
first frame of its chapter. ffmpeg writes them as MP4 chapters (a QuickTime
chapter track and a Nero ``chpl`` box), which players read as their chapter
list (``tests/test_story.py`` asks mpv for it).

The joined file is written under a temporary name, checked (its frame count,
and its chapters as the bundled ffmpeg reads them back) and only then renamed
onto its final name.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from optviz.errors import RenderError
from optviz.output import watchdog
from optviz.output.encode import _QUIET, ffmpeg_exe, probe_video
from optviz.output.files import for_subprocess, replace_when_done


@dataclass(frozen=True)
class Mark:
    """A chapter of the joined video: its title and its frames
    ``start`` to ``end - 1``."""

    title: str
    start: int  # first frame
    end: int  # one past the last frame


@dataclass(frozen=True)
class ReadMark:
    """A chapter as ffmpeg reads it back from a file: seconds."""

    title: str
    start: float
    end: float


def marks(titles: Sequence[str], counts: Sequence[int]) -> list[Mark]:
    """Consecutive chapters of ``counts`` frames each, titled ``titles``."""
    out, at = [], 0
    for title, count in zip(titles, counts, strict=True):
        out.append(Mark(title, at, at + count))
        at += count
    return out


def _escape(value: str) -> str:
    """A value of an ffmetadata file: ``=``, ``;``, ``#``, ``\\`` and a
    newline are escaped with a backslash."""
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value, flags=re.S)


def metadata(chapters: Sequence[Mark], fps: float, title: str | None = None) -> str:
    """The ffmetadata text of ``chapters`` (frames at ``fps``), and the
    file's ``title``."""
    rate = Fraction(fps).limit_denominator(1001)
    lines = [";FFMETADATA1"]
    if title:
        lines.append(f"title={_escape(title)}")
    for c in chapters:
        # START and END count time-base units: one frame each (a frame rate
        # such as 30000/1001 is one of 1001/30000 s)
        lines += [
            "[CHAPTER]",
            f"TIMEBASE={rate.denominator}/{rate.numerator}",
            f"START={c.start * rate.denominator}",
            f"END={c.end * rate.denominator}",
            f"title={_escape(c.title)}",
        ]
    return "\n".join(lines) + "\n"


def parse_metadata(text: str) -> list[ReadMark]:
    """The chapters of an ffmetadata text (what ``ffmpeg -f ffmetadata``
    writes), in seconds."""
    found: list[ReadMark] = []
    blocks = re.split(r"^\[CHAPTER\]\s*$", text, flags=re.M)[1:]
    for block in blocks:
        block = re.split(r"^\[\w+\]\s*$", block, flags=re.M)[0]  # up to [STREAM]
        values: dict[str, str] = {}
        for line in re.split(r"(?<!\\)\n", block):
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = _unescape(value)
        num, _, den = values.get("TIMEBASE", "1/1000").partition("/")
        base = Fraction(int(num), int(den))
        found.append(
            ReadMark(
                values.get("title", ""),
                float(int(values["START"]) * base),
                float(int(values["END"]) * base),
            )
        )
    return found


def read_chapters(path: Path) -> list[ReadMark]:
    """The chapters of the video at ``path``, read by the bundled ffmpeg
    (``ffmpeg -i path -f ffmetadata``)."""
    with tempfile.TemporaryDirectory(prefix="optviz-chapters-") as folder:
        out = Path(folder) / "chapters.txt"
        cmd = [ffmpeg_exe(), *_QUIET, "-nostdin", "-y", "-i", for_subprocess(path),
               "-f", "ffmetadata", for_subprocess(out)]  # fmt: skip
        try:
            done = watchdog.run(cmd, "reading the chapters", lambda _: None)
        except OSError as e:
            raise RenderError(f"cannot run ffmpeg ({cmd[0]}): {e}") from e
        if done.returncode != 0 or not out.is_file():
            raise RenderError(
                f"ffmpeg cannot read the chapters of {Path(path).name}",
                details=done.details,
            )
        return parse_metadata(out.read_text(encoding="utf-8"))


def join(
    pieces: Sequence[Path],
    chapters: Sequence[Mark],
    fps: float,
    size: tuple[int, int],
    dest: Path,
    title: str | None = None,
) -> Path:
    """``pieces`` joined into the MP4 ``dest`` with ``chapters`` (which
    count the joined video's frames), titled ``title``; checked before it
    takes its final name: every frame there, every chapter read back where
    it was put."""
    dest = Path(dest)
    total = chapters[-1].end if chapters else 0
    with replace_when_done(dest) as tmp:
        listing = tmp.with_name(f"{tmp.name}.segments.txt")
        meta = tmp.with_name(f"{tmp.name}.chapters.txt")
        try:
            # The concat demuxer reads single-quoted names: a quote is '\''.
            listing.write_text(
                "".join(
                    "file '" + str(Path(p).resolve()).replace("'", "'\\''") + "'\n"
                    for p in pieces
                ),
                encoding="utf-8",
            )
            meta.write_text(metadata(chapters, fps, title), encoding="utf-8")
            # By hand, not with ffmpeg-python: it adds only the inputs its
            # streams come from, and the chapters' input has no stream.
            cmd = [ffmpeg_exe(), *_QUIET, "-nostdin", "-y",
                   "-f", "concat", "-safe", "0", "-i", for_subprocess(listing),
                   "-i", for_subprocess(meta),
                   "-map", "0:v", "-map_metadata", "1", "-map_chapters", "1",
                   "-c", "copy", "-movflags", "+faststart",
                   "-f", "mp4", for_subprocess(tmp)]  # fmt: skip
            try:
                done = watchdog.run(
                    cmd, "joining the chapters", lambda _: watchdog.files([tmp])
                )
            except OSError as e:
                raise RenderError(f"cannot run ffmpeg ({cmd[0]}): {e}") from e
            if done.returncode != 0:
                raise RenderError("joining the chapters failed", details=done.details)
        finally:
            listing.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
        wrong = problem(tmp, chapters, fps, size, total)
        if wrong:
            raise RenderError(f"ffmpeg wrote a broken {dest.name}: {wrong}")
    return dest


def problem(
    path: Path,
    chapters: Sequence[Mark],
    fps: float,
    size: tuple[int, int],
    frames: int,
) -> str | None:
    """Why the video at ``path`` is not ``frames`` frames of ``size`` H.264
    with ``chapters`` (each within half a frame of where it was put), or
    None."""
    found = probe_video(path)
    if found is None:
        return "ffmpeg cannot read it"
    codec, pixels, got_size, count = found
    if (codec, pixels, got_size, count) != ("h264", "yuv420p", tuple(size), frames):
        w, h = got_size
        return f"it holds {count} frames of {w}×{h} {codec} {pixels}, not {frames}"
    read = read_chapters(path)
    half = 0.5 / fps
    wanted = [(c.title, c.start / fps, c.end / fps) for c in chapters]
    ok = len(read) == len(wanted) and all(
        r.title == t and abs(r.start - s) < half and abs(r.end - e) < half
        for r, (t, s, e) in zip(read, wanted)
    )
    if not ok:
        said = "; ".join(f"{r.title!r} {r.start:g}-{r.end:g} s" for r in read)
        return f"its chapters read back as {said or 'none'}"
    return None
