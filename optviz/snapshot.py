"""Snapshot tests: has a change to a config, to optviz or to a library changed
a video?

A snapshot of a config is a folder ``DIR/<config stem>/`` holding

- ``trajectories.txt``: every optimizer's path from every start, every k-th
  iteration and the last, to 10 significant digits, with each path's status
  and iteration count, and a header that describes the video;
- ``frame-first.png``, ``frame-middle.png``, ``frame-last.png``: the first,
  middle and last frame of the animation, drawn smaller than the video.

:func:`check` runs the config and compares what it gets with the folder,
number by number within a relative and absolute tolerance and picture by
picture within an RMS tolerance; with ``update=True`` it rewrites the files
that differ instead. Every difference is a :class:`Difference` that names the
file, what differs, and both values.

The defaults are measured on the 14 lecture configs. Run to run and process
to process every file is byte-identical. Where the arithmetic is the same on
every CPU, NumPy's AVX-512, AVX2 and baseline code paths agree on the points
to 3e-15 and on the losses to 5e-13, while changing any one learning rate by
0.01 % moves its path by at least 8e-6 (relative): ``rtol`` 1e-6 sits far
above the first and below the second. ``atol`` 1e-9 only matters near zero
(a coordinate crossing an axis, the loss at a minimum), where a relative
tolerance means nothing. The frames then differ by rounding alone: at most
one grey level in a pixel (the contour levels come from ``np.geomspace``,
whose last bits depend on the CPU too), 0.14 RMS as measured, and never more
than 1 RMS however many pixels it touches; hence ``image_tol`` 1.0. What a
viewer could see and the numbers do not show costs more: one letter of the
title 1.6, one digit of the iteration counter 1.5, halving or doubling a
learning rate 1.6 to 2.3 (thin lines move few pixels, which is why the
numbers, not the pictures, are the sharp test).

No tolerance helps a path that keeps circling a minimum (the lecture's
rmsprop+p and adam after about 1,500 iterations): it turns a difference in
the last bit into one of 1e-2 within a few hundred iterations, so such paths
only reproduce where the arithmetic does (``x**3`` in NumPy, for one, is not
the same on AVX-512 and AVX2 machines).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optviz import api
from optviz.config import Animation, Config
from optviz.errors import ConfigError, OptvizError, RenderError
from optviz.output.files import replace_when_done
from optviz.validate import read_bytes

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9
DEFAULT_IMAGE_TOL = 1.0  # RMS over all pixels and channels, in 0..255 levels
# Snapshot frames are drawn at the video's size and dpi times this: the same
# layout in a fifth of the pixels (360×270 at dpi 45 for the default 800×600
# video), which keeps the PNGs small enough to commit (about 55 kB each).
SCALE = 0.45

TRAJECTORIES = "trajectories.txt"
FRAMES = ("first", "middle", "last")
DIGITS = 10
MAX_ROWS = 100  # rows per trajectory at most (plus its last)
DIFF_GAIN = 10  # the diff image shows |new − old| × this, as matplotlib's
_HIGHLIGHT = (255, 0, 255)  # magenta: no optimizer's default colour
UPDATE_HINT = "run `optviz snapshot --update` to write it"
COLUMNS = ("x", "y", "loss")
# The header lines ("# key: value") that are compared.
HEADER = ("rows", "numbers", "video", "frames drawn at", "frame iterations")


@dataclass(frozen=True)
class Difference:
    """One way a run differs from its snapshot.

    ``file`` is the snapshot file (or folder), ``what`` says what differs in
    it, ``expected`` is the snapshot's value and ``got`` this run's; ``see``
    lists files written to show the difference (the new frame, a diff image).
    """

    file: Path
    what: str
    expected: str = ""
    got: str = ""
    see: tuple[Path, ...] = ()

    def __str__(self) -> str:
        text = f"{self.file}: {self.what}"
        if self.expected or self.got:
            text += f": expected {self.expected}, got {self.got}"
        if self.see:
            text += "; see " + " and ".join(str(p) for p in self.see)
        return text


@dataclass(frozen=True)
class Outcome:
    """What :func:`check` found for one config.

    ``ok``: the run matches its snapshot, or it was updated to. ``written``:
    the files an update rewrote (the ones that differed or were missing).
    """

    name: str
    folder: Path
    differences: tuple[Difference, ...]
    written: tuple[Path, ...] = ()
    updated: bool = False

    @property
    def ok(self) -> bool:
        return self.updated or not self.differences


@dataclass(frozen=True)
class Snapshot:
    """A snapshot in memory: the text and the three key frames (RGB arrays)."""

    text: str
    frames: dict[str, np.ndarray]  # "first" | "middle" | "last" -> (H, W, 3)
    frame_iterations: tuple[int, ...]


def check(
    config: Config,
    directory: str | Path,
    *,
    update: bool = False,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    image_tol: float = DEFAULT_IMAGE_TOL,
    scale: float = SCALE,
) -> Outcome:
    """Run ``config`` and compare it with ``directory/<config stem>/``.

    With ``update``, write the files that differ or are missing instead (the
    others are left untouched, so that sub-tolerance noise never churns
    them). Without, every difference is reported; a frame that differs gets
    its new picture as ``frame-<which>.failed.png`` and an amplified
    difference as ``frame-<which>.diff.png`` beside it. The frames are drawn
    at the video's size and dpi times ``scale``.
    """
    folder = Path(directory) / config.stem
    if not update and not (folder / TRAJECTORIES).is_file():
        missing = Difference(folder, f"no snapshot here; {UPDATE_HINT}")
        return Outcome(config.stem, folder, (missing,))
    snap = take(config, scale=scale)
    differences = compare(
        snap, folder, rtol=rtol, atol=atol, image_tol=image_tol, keep_failed=not update
    )
    if not update:
        if not differences:
            _remove_failed(folder)
        return Outcome(config.stem, folder, tuple(differences))
    # Rewrite what differs; everything if the folder itself is the problem.
    stale = {d.file.name for d in differences}
    everything = not folder.is_dir() or any(d.file == folder for d in differences)
    written = write(snap, folder, only=None if everything else stale)
    _remove_failed(folder)
    return Outcome(config.stem, folder, tuple(differences), tuple(written), True)


# Frames are drawn at most this many pixels a side, as a video may be.
MAX_FRAME = 4096


def take(config: Config, *, scale: float = SCALE) -> Snapshot:
    """Run ``config`` and draw its key frames at ``scale`` times the video's
    size and dpi (ValueError for a scale that is not a number above 0;
    OptvizError for one that makes frames larger than a video may be)."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a number above 0; got {scale}")
    video = config.animation
    if max(video.size) * scale > MAX_FRAME + 0.5:
        raise OptvizError(
            f"scale {scale:g} draws the {video.size[0]}x{video.size[1]} video's "
            f"frames {max(video.size) * scale:.4g} pixels wide; frames may be at "
            f"most {MAX_FRAME} a side"
        )
    width, height = (max(1, round(side * scale)) for side in video.size)
    drawn = dataclasses.replace(
        video,
        size=(width, height),
        # Unset, the dpi follows the size: the same layout at either size.
        dpi=None if video.dpi is None else max(1, round(video.dpi * scale)),
    )
    result = api.run(config)
    frames, iterations = key_frames(result, drawn)
    text = trajectories_text(result, drawn, iterations, scale)
    return Snapshot(text, frames, iterations)


def key_frames(
    result: api.Result, animation: Animation
) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """The first, middle and last frame of the animation, and their iterations.

    The iterations are the video's (the same schedule); each frame is drawn
    directly, in increasing order, rather than after every frame before it as
    the video does, which can change a few pixels where lines cross (the
    renderer keeps the lines drawn so far between frames).
    """
    from optviz.draw.figure import Renderer  # matplotlib only when drawing

    renderer = Renderer(api.scene(result, animation))
    try:
        schedule = renderer.schedule()
        n = len(schedule)
        # With a single frame (nothing moved) all three are the same.
        iterations = tuple(int(schedule[i]) for i in (0, n // 2, n - 1))
        frames = {
            name: np.ascontiguousarray(renderer.frame(k)[..., :3])
            for name, k in zip(FRAMES, iterations)
        }
        return frames, iterations
    except OverflowError as e:  # Agg: "Exceeded cell block limit" and the like
        raise RenderError(f"matplotlib could not draw a frame: {e}") from e
    finally:
        renderer.close()


# -- trajectories.txt --------------------------------------------------------


def stride(iterations: int, rows: int = MAX_ROWS) -> int:
    """Every how many iterations a row is kept: the smallest of 1, 2, 5, 10,
    20, 50, ... that keeps at most ``rows`` rows (plus the last) for a path of
    ``iterations`` updates. It depends on the config's cap only, so that a
    path that stops earlier keeps the same rows."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if math.ceil(iterations / (step * m)) <= rows:
                return step * m
        step *= 10


def _number(v: float) -> str:
    return f"{float(v):.{DIGITS}g}"


def _label(label: str) -> str:
    """A label as one token: as is, or JSON-quoted if it has spaces or quotes."""
    if re.fullmatch(r'[^\s"#]+', label):
        return label
    return json.dumps(label, ensure_ascii=False)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')


def _tokens(line: str) -> list[str]:
    return [json.loads(t) if t[0] == '"' else t for t in _TOKEN.findall(line)]


def trajectories_text(
    result: api.Result,
    drawn: Animation,
    frames: Sequence[int],
    scale: float = SCALE,
) -> str:
    """``trajectories.txt`` for ``result``; ``drawn`` is the animation the key
    frames were drawn with (``scale`` times the video), ``frames`` their
    iterations."""
    c = result.config
    every = stride(c.iterations)
    video = c.animation
    w, h = video.size
    dw, dh = drawn.size
    nth = {1: "", 2: "2nd "}.get(every, f"{every}th ")
    kept = f"every {nth}iteration"
    lines = [
        f"# optviz snapshot of {c.stem} on {result.surface.name}: check it with "
        "`optviz snapshot`, rewrite it with `optviz snapshot --update`",
        f"# rows: {kept} and each path's last",
        f"# numbers: {DIGITS} significant digits",
        f"# video: {w}x{h} pixels at dpi {video.layout.figure_dpi:.3g}, "
        f"{video.frames} frames at {video.fps} fps, last held {video.hold:g} s, "
        + " ".join(video.formats),
        f"# frames drawn at: {dw}x{dh} pixels at dpi {drawn.layout.figure_dpi:.3g} "
        f"(the video's size and dpi × {scale:g})",
        "# frame iterations: "
        + ", ".join(f"{name} {k}" for name, k in zip(FRAMES, frames)),
        "#",
        "# optimizer start status iterations",
    ]
    for t in result.trajectories:
        lines.append(f"{_label(t.label)} {t.start} {t.status.value} {t.iterations}")
    lines += ["#", "# optimizer start iteration " + " ".join(COLUMNS)]
    for t in result.trajectories:
        n = t.iterations
        for k in sorted({*range(0, n + 1, every), n} - {-1}):
            x, y = t.points[k]
            numbers = " ".join(_number(v) for v in (x, y, t.loss[k]))
            lines.append(f"{_label(t.label)} {t.start} {k} {numbers}")
    return "\n".join(lines) + "\n"


@dataclass
class Parsed:
    """``trajectories.txt`` read back."""

    header: dict[str, str]
    paths: dict[tuple[str, int], tuple[str, int]]  # -> (status, iterations)
    rows: dict[tuple[str, int], dict[int, tuple[float, ...]]]


def parse(text: str) -> Parsed:
    """Read ``trajectories.txt`` back (ValueError if it is not one)."""
    parsed = Parsed({}, {}, {})
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            key, colon, value = line[1:].partition(":")
            if colon and key.strip() in HEADER:
                parsed.header[key.strip()] = value.strip()
            continue
        try:
            fields = _tokens(line)
            if len(fields) == 4:
                label, start, status, n = fields
                parsed.paths[label, int(start)] = (status, int(n))
            elif len(fields) == 3 + len(COLUMNS):
                label, start, k, *numbers = fields
                row = tuple(float(v) for v in numbers)
                parsed.rows.setdefault((label, int(start)), {})[int(k)] = row
            elif fields:
                raise ValueError(f"{len(fields)} fields")
        except ValueError as e:
            raise ValueError(f"line {number} cannot be read ({e})") from None
    if "rows" not in parsed.header:
        raise ValueError("no '# rows:' line: not an optviz snapshot")
    return parsed


def compare_text(
    expected: str, got: str, file: Path, *, rtol: float, atol: float
) -> list[Difference]:
    """Every difference between two ``trajectories.txt`` beyond the tolerances.

    Per path and column, one difference names the first row that is off and
    how many more are; a changed status or iteration count is always one.
    """
    try:
        old = parse(expected)
    except ValueError as e:
        return [Difference(file, f"unreadable snapshot: {e}; {UPDATE_HINT}")]
    new = parse(got)
    out = []
    for field in HEADER:
        if old.header.get(field) != new.header.get(field):
            was = old.header.get(field, "nothing")
            out.append(Difference(file, field, was, new.header.get(field, "nothing")))
    for path_key in [*old.paths, *(k for k in new.paths if k not in old.paths)]:
        label, start = path_key
        name = f"{label} start {start}"
        if path_key not in new.paths:
            out.append(Difference(file, name, "a path", "none (no such optimizer)"))
            continue
        if path_key not in old.paths:
            out.append(Difference(file, name, "none", "a path (new optimizer)"))
            continue
        (s0, n0), (s1, n1) = old.paths[path_key], new.paths[path_key]
        if s0 != s1:
            out.append(Difference(file, f"{name}: status", s0, s1))
        if n0 != n1:
            out.append(Difference(file, f"{name}: iterations", str(n0), str(n1)))
        a, b = old.rows.get(path_key, {}), new.rows.get(path_key, {})
        common = sorted(a.keys() & b.keys())
        for i, column in enumerate(COLUMNS):
            off = [k for k in common if not _close(a[k][i], b[k][i], rtol, atol)]
            if off:
                k = off[0]
                more = f" (and {len(off) - 1} more rows)" if len(off) > 1 else ""
                out.append(
                    Difference(
                        file,
                        f"{name}: {column} at iteration {k}{more}",
                        _number(a[k][i]),
                        _number(b[k][i]),
                    )
                )
        if (s0, n0) == (s1, n1) and a.keys() != b.keys():
            out.append(
                Difference(
                    file,
                    f"{name}: rows",
                    _iterations(a.keys() - b.keys()),
                    _iterations(b.keys() - a.keys()),
                )
            )
    return out


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    # numpy.isclose's rule, with 0 · inf counted as 0 (rtol=inf: anything goes)
    return a == b or abs(b - a) <= atol + (rtol * abs(a) if a else 0.0)


def _iterations(ks) -> str:
    ks = sorted(ks)
    if not ks:
        return "no other rows"
    shown = ", ".join(map(str, ks[:5])) + (", ..." if len(ks) > 5 else "")
    return f"rows at iterations {shown}"


# -- frames ------------------------------------------------------------------


def rms(expected: np.ndarray, actual: np.ndarray) -> float:
    """Root mean square difference in grey levels (0..255), over every pixel
    and channel: matplotlib.testing.compare.calculate_rms."""
    diff = expected.astype(float) - actual.astype(float)
    return float(np.sqrt(np.mean(diff * diff)))


def diff_image(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Where ``actual`` differs from ``expected``: magenta, as strong as the
    largest channel difference × DIFF_GAIN, over a pale grey copy of
    ``actual`` that shows where on the plot that is."""
    diff = np.abs(expected.astype(np.int16) - actual.astype(np.int16)).max(axis=-1)
    weight = np.clip(diff * DIFF_GAIN, 0, 255)[..., None] / 255.0
    grey = actual.astype(float).mean(axis=-1, keepdims=True)
    pale = 255.0 - (255.0 - grey) / 4.0
    out = (1.0 - weight) * pale + weight * np.array(_HIGHLIGHT, dtype=float)
    return np.rint(out).astype(np.uint8)


def load_png(path: Path) -> np.ndarray:
    """A stored frame, as (height, width, 3) RGB (any alpha dropped)."""
    import imageio.v3 as iio

    return np.asarray(iio.imread(path, plugin="pillow", mode="RGB"))


# A stored frame is tens of kilobytes; the largest a video may be (4096 ×
# 4096, incompressible) is 50 MB as a PNG.
MAX_PNG_BYTES = 64 << 20
_PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of the PNG at ``path``, from its header: nothing is
    decoded, so a file that claims a billion pixels (a decompression bomb)
    costs 24 bytes. ValueError if it is not a PNG; OSError if unreadable."""
    import struct

    size = path.stat().st_size
    if size > MAX_PNG_BYTES:
        raise ValueError(f"{size:,} bytes, more than a frame can take")
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != _PNG or head[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def compare_frame(
    expected_path: Path,
    actual: np.ndarray,
    iteration: int,
    *,
    image_tol: float,
    keep_failed: bool = True,
) -> list[Difference]:
    """The frame at ``expected_path`` against ``actual``; on a difference the
    new frame and a diff image are written beside it (if ``keep_failed``)."""
    if not expected_path.is_file():
        return [Difference(expected_path, f"missing; {UPDATE_HINT}")]
    failed = expected_path.with_suffix(".failed.png")
    diff = expected_path.with_suffix(".diff.png")
    shown = f"frame at iteration {iteration:,}"
    try:  # its size first, from the header: only a frame of ours is decoded
        width, height = png_size(expected_path)
        if (height, width) == actual.shape[:2]:
            expected = load_png(expected_path)
    except Exception as e:  # whatever the decoder says of a broken file
        why = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        return [Difference(expected_path, f"unreadable ({why}); {UPDATE_HINT}")]
    if (height, width) != actual.shape[:2] or expected.shape != actual.shape:
        kept: tuple[Path, ...] = (_save(failed, actual),) if keep_failed else ()
        what = f"{shown}: size"
        return [
            Difference(
                expected_path, what, f"{width}x{height} pixels", _size(actual), kept
            )
        ]
    off = rms(expected, actual)
    if off <= image_tol:
        return []
    see: tuple[Path, ...] = ()
    if keep_failed:
        see = (_save(failed, actual), _save(diff, diff_image(expected, actual)))
    return [
        Difference(
            expected_path,
            f"{shown}: RMS difference in grey levels",
            f"<= {image_tol:g}",
            f"{off:.2f}",
            see,
        )
    ]


def _size(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]} pixels"


def _save(path: Path, image: np.ndarray) -> Path:
    from optviz.output.writers import save_png

    return save_png(path, image)


def _remove_failed(folder: Path) -> None:
    for which in FRAMES:
        for suffix in (".failed.png", ".diff.png"):
            (folder / f"frame-{which}{suffix}").unlink(missing_ok=True)


# -- the folder --------------------------------------------------------------


def compare(
    snap: Snapshot,
    folder: Path,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    image_tol: float = DEFAULT_IMAGE_TOL,
    keep_failed: bool = True,
) -> list[Difference]:
    """Every difference between ``snap`` and the snapshot in ``folder``."""
    text = folder / TRAJECTORIES
    if not text.is_file():
        return [Difference(folder, f"no snapshot here; {UPDATE_HINT}")]
    try:  # a regular file of at most a megabyte (about 40 kB as written)
        expected = read_bytes(text, TRAJECTORIES).decode("utf-8")
    except ConfigError as e:
        return [Difference(text, f"{e.message}; {UPDATE_HINT}")]
    except UnicodeDecodeError as e:
        return [Difference(text, f"unreadable ({e}); {UPDATE_HINT}")]
    out = compare_text(expected, snap.text, text, rtol=rtol, atol=atol)
    for which, k in zip(FRAMES, snap.frame_iterations):
        out += compare_frame(
            folder / f"frame-{which}.png",
            snap.frames[which],
            k,
            image_tol=image_tol,
            keep_failed=keep_failed,
        )
    return out


def write(snap: Snapshot, folder: Path, only: set[str] | None = None) -> list[Path]:
    """Write the snapshot's files into ``folder`` (only the names in ``only``,
    if given), each atomically; the paths written."""
    written = []
    text = folder / TRAJECTORIES
    if only is None or text.name in only:
        with replace_when_done(text) as tmp:
            tmp.write_text(snap.text, encoding="utf-8")
        written.append(text)
    for which in FRAMES:
        path = folder / f"frame-{which}.png"
        if only is None or path.name in only:
            written.append(_save(path, snap.frames[which]))
    return written
