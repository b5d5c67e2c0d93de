"""A story: several configs played one after another as one chaptered MP4.

A story file is YAML with a ``story:`` list of chapters::

    title: "Optimization for neural networks, part 2"   # optional: on each card
    card_seconds: 2                    # optional: each chapter's card, 0 to 60
    story:
      - {config: ../lecture/2gd.yaml, title: "Gradient descent"}
      - {config: ../lecture/2gd_gd+p.yaml, title: "... with momentum",
         card_seconds: 3}              # this chapter's own card
    output: out/opt2                   # optional: out/<story file name>

Config paths are relative to the story file. Each chapter is its config's
video exactly as ``optviz run`` renders it alone (the same frames: it is
drawn by :func:`optviz.pipeline.write_video`), preceded by a title card held
for ``card_seconds``: the chapter's first frame under a box with the story's
title, "Chapter k of n", the chapter's title and its optimizers. A chapter
marker starts at each card. Every chapter must have the same frame size and
frame rate (the pieces are joined without re-encoding,
:mod:`optviz.output.chapters`): a story that mixes them is refused.

The story writes ``<output>/<story file name>.mp4`` and nothing else.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optviz import config as config_module
from optviz.config import MAX_TITLE, Config, Key
from optviz.errors import ConfigError
from optviz.validate import (
    drawn_text,
    known_keys,
    mapping,
    number,
    read_bytes,
    read_yaml,
    show,
    sized_list,
)

MAX_CHAPTERS = 50
CARD_SECONDS = 2.0  # a chapter's title card, unless the story says otherwise
MAX_CARD_SECONDS = 60.0

CHAPTER_KEYS = (
    Key(
        "config", "the chapter's config file, relative to the story file", required=True
    ),
    Key("title", "the chapter's title; default: its config's title, else its name"),
    Key(
        "card_seconds",
        f"seconds of this chapter's title card, 0 to {MAX_CARD_SECONDS:g}",
        example=3,
    ),
)
STORY_KEYS = (
    Key("title", "on every title card; default: none", example="Part 2"),
    Key(
        "card_seconds",
        f"seconds of each chapter's title card, 0 to {MAX_CARD_SECONDS:g}",
        CARD_SECONDS,
    ),
    Key("story", "the chapters, in order", required=True, children=CHAPTER_KEYS),
    Key(
        "output",
        "the folder the MP4 goes to; default: out/<story file name>",
        example="out/opt2",
    ),
)
_STORY_KEYS = tuple(k.name for k in STORY_KEYS)
_CHAPTER_KEYS = tuple(k.name for k in CHAPTER_KEYS)


@dataclass(frozen=True)
class Chapter:
    config: Config
    title: str
    card_seconds: float

    @property
    def card_frames(self) -> int:
        return max(0, round(self.card_seconds * self.config.animation.fps))

    @property
    def frames(self) -> int:
        """Its frames in the story: the card's, then its video's."""
        return self.card_frames + self.config.animation.total_frames


@dataclass(frozen=True)
class Story:
    source: str  # the story file, for messages
    stem: str  # names the output: <stem>.mp4
    title: str | None
    chapters: tuple[Chapter, ...]
    output: Path

    @property
    def size(self) -> tuple[int, int]:
        return self.chapters[0].config.animation.size

    @property
    def fps(self) -> int:
        return self.chapters[0].config.animation.fps

    @property
    def total_frames(self) -> int:
        return sum(c.frames for c in self.chapters)


def is_story(data: Any) -> bool:
    """Whether loaded YAML is a story (a mapping with ``story:``)."""
    return isinstance(data, Mapping) and "story" in data


def is_story_file(path: str | Path) -> bool:
    """Whether the file at ``path`` is a story; False for anything that
    cannot be read (loading it as a config says why).

    A file without the word ``story`` in it is none, and is not parsed
    here: ``optviz run`` asks this of every file before it loads them, and
    a config is parsed once, as before (parsing one takes about 10 ms)."""
    path = Path(path)
    try:
        if b"story" not in read_bytes(path):
            return False
        return is_story(read_yaml(path))
    except ConfigError:
        return False


def load(path: str | Path) -> Story:
    """Read and validate a story file and every config it names."""
    path = Path(path)
    data = read_yaml(path)
    try:
        return _parse(data, path)
    except ConfigError as e:
        raise e.at(source=str(path)) from None


def _parse(data: Any, path: Path) -> Story:
    top = mapping(data, "", "the story")
    known_keys(top, _STORY_KEYS, "")
    if "story" not in top:
        raise ConfigError("missing required key 'story'", path="")
    title = top.get("title")
    if title is not None:
        title = drawn_text(title, "title", MAX_TITLE)
    card = _seconds(top.get("card_seconds", CARD_SECONDS), "card_seconds")
    items = sized_list(
        top["story"], "story", "a list of chapters", "chapter", MAX_CHAPTERS
    )
    chapters: list[Chapter] = []
    for i, item in enumerate(items):
        at = f"story[{i}]"
        entry = mapping(item, at, "a chapter ({config: file.yaml, title: ...})")
        known_keys(entry, _CHAPTER_KEYS, at)
        if "config" not in entry:
            raise ConfigError("missing required key 'config'", path=at)
        config = _chapter_config(entry["config"], path.parent, f"{at}.config")
        if "title" in entry:
            name = drawn_text(entry["title"], f"{at}.title", MAX_TITLE)
        else:
            name = config.title or config.stem
        seconds = card
        if "card_seconds" in entry:
            seconds = _seconds(entry["card_seconds"], f"{at}.card_seconds")
        chapters.append(Chapter(config, str(name), seconds))
        _same_video(chapters, at)
    output = top.get("output")
    folder = (
        Path("out") / path.stem if output is None else config_module._folder(output)
    )
    return Story(
        source=str(path),
        stem=path.stem,
        title=None if title is None else str(title),
        chapters=tuple(chapters),
        output=folder,
    )


def _seconds(value: Any, path: str) -> float:
    return number(value, path, low=0.0, high=MAX_CARD_SECONDS)


def _chapter_config(value: Any, base: Path, at: str) -> Config:
    """The config a chapter names: its file's errors, whole, under ``at``."""
    if not (isinstance(value, str) and value.strip()):
        got = show(value) if isinstance(value, str) else type(value).__name__
        raise ConfigError(f"must be a config file's path as text; got {got}", path=at)
    where = Path(os.path.normpath(base / value))  # no a/../b in messages
    if is_story_file(where):
        raise ConfigError(
            f"{value} is a story; a chapter is a config (a story may not hold one)",
            path=at,
        )
    try:
        config = config_module.load(where)
    except ConfigError as e:
        raise ConfigError(str(e), path=at) from None
    if config.sweep is not None:
        raise ConfigError(
            f"{value} is a sweep (a grid of videos); a chapter is one video",
            path=at,
        )
    return config


def _same_video(chapters: Sequence[Chapter], at: str) -> None:
    """The last of ``chapters`` has the frame size and rate of the first
    (the pieces are joined without re-encoding)."""
    first, last = chapters[0].config.animation, chapters[-1].config.animation
    if (first.size, first.fps) != (last.size, last.fps):
        (w, h), (fw, fh) = last.size, first.size
        raise ConfigError(
            f"is {w}×{h} at {last.fps} fps, but story[0] is {fw}×{fh} at "
            f"{first.fps} fps; every chapter must have the same animation.size "
            "and animation.fps",
            path=f"{at}.config",
        )


# ---------------------------------------------------------------------------
# rendering


def card_lines(story: Story, index: int) -> list[str]:
    """The text of chapter ``index``'s title card."""
    chapter = story.chapters[index]
    lines = [story.title] if story.title else []
    lines.append(f"Chapter {index + 1} of {len(story.chapters)}")
    lines.append(chapter.title)
    lines.append(", ".join(o.label for o in chapter.config.optimizers))
    return lines


def schedule(story: Story) -> list[tuple[str, int, int]]:
    """Each chapter's (title, first frame, one past its last frame) in the
    story's MP4: what its chapter markers say."""
    from optviz.output.chapters import marks

    found = marks([c.title for c in story.chapters], [c.frames for c in story.chapters])
    return [(m.title, m.start, m.end) for m in found]


def render(
    story: Story,
    output: str | Path | None = None,
    progress: Any = None,
    jobs: int = 1,
) -> Path:
    """``<output>/<stem>.mp4`` (default: the story's folder): every chapter's
    card and video, joined with a chapter marker at each card; the path.
    ``progress(done, total)`` counts the story's frames; ``jobs`` cuts each
    chapter's video into that many pieces drawn at once (as ``optviz run``
    does for one config)."""
    from optviz import pipeline
    from optviz.draw.figure import Renderer
    from optviz.output import chapters as chapters_out

    folder = Path(output) if output is not None else story.output
    dest = folder / f"{story.stem}.mp4"
    results = pipeline.run_all([c.config for c in story.chapters])  # shared rows once
    work = folder / f".{story.stem}.{os.getpid()}.story"
    _sweep(folder, story.stem)
    shutil.rmtree(work, ignore_errors=True)  # a dead namesake's (pid reused)
    work.mkdir(parents=True)
    total, before = story.total_frames, 0

    def counted(offset: int):
        if progress is None:
            return None
        return lambda done, _: progress(offset + done, total)

    try:
        pieces: list[Path] = []
        for i, (chapter, result) in enumerate(zip(story.chapters, results)):
            scene = pipeline.scene(result)
            # One figure draws the card and then the video: building a
            # figure takes longer than encoding the card (3.1 s against 0.7 s
            # for a lecture chapter, measured).
            renderer = Renderer(scene)
            if chapter.card_frames:
                try:
                    pieces.append(
                        _write_card(renderer, card_lines(story, i), chapter, work, i)
                    )
                except BaseException:
                    renderer.close()
                    raise
                before += chapter.card_frames
                if progress is not None:
                    progress(before, total)
            (video,) = pipeline.write_video(
                scene, ["mp4"], work, f"{i:03d}-video", counted(before), jobs, renderer
            )
            pieces.append(video)
            before += chapter.config.animation.total_frames
        marks = [chapters_out.Mark(t, s, e) for t, s, e in schedule(story)]
        return chapters_out.join(
            pieces, marks, story.fps, story.size, dest, story.title
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sweep(folder: Path, stem: str) -> None:
    """Remove the pieces folders (``.<stem>.<pid>.story``) that a story
    killed outright (SIGKILL) left in ``folder``; one whose process still
    runs is another render's, and is left alone."""
    from optviz.output.files import alive

    for old in folder.glob(f".{glob.escape(stem)}.*.story"):
        pid = old.name[len(stem) + 2 : -len(".story")]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _write_card(
    renderer: Any, lines: list[str], chapter: Chapter, folder: Path, index: int
) -> Path:
    """The card: the chapter's first frame under ``lines``, held for its
    frames, as ``<folder>/<index>-card.mp4``."""
    from optviz.draw.backdrop import house_style
    from optviz.output.encode import Encoder

    with house_style():
        image = renderer.card(lines)
    a = chapter.config.animation
    stem = f"{index:03d}-card"
    with Encoder(folder, stem, a.size, a.fps, ["mp4"]) as sink:
        for _ in range(chapter.card_frames):
            sink.write(image)
    return folder / f"{stem}.mp4"


def card_image(scene: Any, lines: Sequence[str]) -> Any:
    """A chapter's title card as an RGBA array: its scene's first frame
    under a box with ``lines``."""
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer

    renderer = Renderer(scene)
    try:
        with house_style():
            return renderer.card(lines)
    finally:
        renderer.close()


def summary(story: Story, path: Path | None = None) -> str:
    """What ``optviz run`` prints of a story: a line per chapter."""
    fps = story.fps
    lines = [f"\n{story.stem} (story, {len(story.chapters)} chapters):"]
    for k, (title, start, end) in enumerate(schedule(story)):
        config = story.chapters[k].config
        lines.append(
            f"  {k + 1}. {start / fps:7.2f} s to {end / fps:7.2f} s  {title}  "
            f"({config.source})"
        )
    if path is not None:
        lines.append(f"wrote {path}")
    return "\n".join(lines)


def with_animation(story: Story, **changes: Any) -> Story:
    """The story with ``changes`` made to every chapter's animation (a
    smaller size, fewer frames: how a test or a preview renders it fast)."""
    chapters = tuple(
        dataclasses.replace(
            c,
            config=dataclasses.replace(
                c.config, animation=dataclasses.replace(c.config.animation, **changes)
            ),
        )
        for c in story.chapters
    )
    return dataclasses.replace(story, chapters=chapters)
