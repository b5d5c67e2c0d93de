"""A video's captions as a WebVTT subtitle file, ``<stem>.vtt`` beside it.

A player that opens subtitles beside a video shows it (``tests/test_captions.py``
plays one with mpv); its cue
times are the frames' own (first frame / fps to the frame after the last /
fps), so a cue starts on the very frame that shows its caption drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from optviz.errors import OptvizError
from optviz.output.files import replace_when_done


@dataclass(frozen=True)
class Cue:
    """``text`` from ``start`` to ``end`` seconds into the video."""

    start: float
    end: float
    text: str


def timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm``, rounded to the millisecond, as WebVTT writes time."""
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def escaped(text: str) -> str:
    """``text`` as a cue's payload: ``&``, ``<`` and ``>`` as entities (the
    rest of WebVTT's syntax, ``-->`` included, cannot then appear)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_text(cues: Sequence[Cue]) -> str:
    """The file's text: the header, then each cue numbered from 1."""
    blocks = ["WEBVTT"]
    for i, cue in enumerate(cues, 1):
        blocks.append(
            f"{i}\n{timestamp(cue.start)} --> {timestamp(cue.end)}\n{escaped(cue.text)}"
        )
    return "\n\n".join(blocks) + "\n"


def write_vtt(cues: Sequence[Cue], path: Path) -> Path:
    """``path`` with ``cues``, under a temporary name until complete."""
    try:
        with replace_when_done(path) as tmp:
            tmp.write_text(vtt_text(cues), encoding="utf-8")
    except OSError as e:
        raise OptvizError(f"cannot write {path}: {e.strerror or e}") from e
    return path
