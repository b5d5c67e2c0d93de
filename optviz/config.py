"""YAML configs → validated, typed, frozen objects.

Every problem is a :class:`~optviz.errors.ConfigError` that names the file, the
key path (``optimizers[1].lr``), what is allowed, and a did-you-mean for
near-miss names. Nothing past this module sees unchecked input.

    title: "Beale's function, opt 1"     # optional
    surface: beale
    starts: [[2, -2]]                   # optional: the surface's own starts
    iterations: 10000
    tolerance: 0                        # optional: stop when ‖∇f‖ < tolerance
    view: {x: [-4.5, 4.5], y: [-4.5, 4.5]}   # optional: the surface's window
    optimizers:
      - {label: gd, method: gd, lr: 1.0e-4}
      - {label: gd+p, method: momentum, lr: 5.0e-6, momentum: 0.9}
    animation: {frames: 300, fps: 30, hold: 1, size: [800, 600], formats: [mp4, gif]}
    output: out/1gd                     # optional: out/<config file stem>
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optviz.encode import FORMATS
from optviz.errors import ConfigError, join_path

# iterations × optimizers × starts beyond this is refused before anything runs:
# every point is kept (16 bytes, plus its loss and gradient norm), so this
# bounds a run's memory at roughly half a gigabyte.
MAX_POINTS = 10_000_000
MAX_STARTS = 100
MAX_OPTIMIZERS = 20


@dataclass(frozen=True)
class Animation:
    """How a run is drawn: every field has a default, so ``animation:`` is optional."""

    frames: int = 300  # frames that show motion (the held last frame is extra)
    fps: int = 30
    hold: float = 1.0  # seconds the last frame stays on screen
    size: tuple[int, int] = (800, 600)  # pixels, width × height
    dpi: int = 100
    formats: tuple[str, ...] = FORMATS


@dataclass(frozen=True)
class OptimizerSpec:
    """One entry of ``optimizers:``: a label, a method and its hyperparameters."""

    label: str
    method: str
    hyperparameters: tuple[tuple[str, float], ...]  # all of them, defaults filled
    color: str | None = None  # any matplotlib colour; None: the palette's next

    @property
    def params(self) -> dict[str, float]:
        return dict(self.hyperparameters)

    def describe(self) -> str:
        """``adam(lr=0.22, beta1=0.9, ...)``: the method with every hyperparameter."""
        inner = ", ".join(f"{k}={v:g}" for k, v in self.hyperparameters)
        return f"{self.method}({inner})"


@dataclass(frozen=True)
class Config:
    source: str  # the file it came from, for messages
    stem: str  # names the outputs: <stem>.mp4, <stem>.gif
    title: str | None
    surface: str
    starts: tuple[tuple[float, float], ...]
    iterations: int
    tolerance: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    optimizers: tuple[OptimizerSpec, ...]
    animation: Animation
    output: Path


def load(path: str | Path) -> Config:
    """Read and validate one YAML config file."""
    import yaml

    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the file: {e.strerror}", source=source) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"not UTF-8 text (byte {e.start}); save the file as UTF-8", source=source
        ) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(_yaml_message(e), source=source) from e
    except RecursionError:
        raise ConfigError(_TOO_DEEP, source=source) from None
    return parse(data, source=source, stem=path.stem)


_TOO_DEEP = "nested too deeply to be a config (lists or mappings inside each other)"
_NO_CONSTRUCTOR = re.compile(r"could not determine a constructor for the tag '(.*)'")


def _yaml_message(e: Exception) -> str:
    """One line: where in the file and what is wrong."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
    tag = _NO_CONSTRUCTOR.fullmatch(problem)
    if tag:  # safe_load refuses !!python/object and other non-data tags
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return (
            f"{_where(mark)}the tag {name!r} is not allowed; "
            "a config holds plain YAML data only"
        )
    return f"not valid YAML: {_where(mark)}{problem}"


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


_TOP_KEYS = (
    "title",
    "surface",
    "starts",
    "iterations",
    "tolerance",
    "view",
    "optimizers",
    "animation",
    "output",
)
_ANIMATION_KEYS = ("frames", "fps", "hold", "size", "dpi", "formats")


def parse(data: Any, source: str = "<config>", stem: str = "config") -> Config:
    """Validate an already-loaded mapping (what ``yaml.safe_load`` gives).

    A notebook can build a config as a dict and call this directly.
    """
    try:
        config = _parse(data, stem)
    except ConfigError as e:
        raise e.at(source=source) from None
    except RecursionError:  # a self-referencing structure built in Python
        raise ConfigError(_TOO_DEEP, source=source) from None
    return dataclasses.replace(config, source=source)


def _parse(data: Any, stem: str) -> Config:
    from optviz.surfaces import SURFACES

    if data is None:
        raise ConfigError(
            "the config is empty; it needs at least 'surface' and 'optimizers'"
        )
    top = _mapping(data, "", "the config")
    _known_keys(top, _TOP_KEYS, "")
    for key in ("surface", "optimizers"):
        if key not in top:
            raise ConfigError(f"missing required key {key!r}", path="")

    surface_name = _choice(top["surface"], "surface", tuple(SURFACES))
    surface = SURFACES[surface_name]
    xlim, ylim = _view(top.get("view"), surface)
    starts = _starts(top["starts"]) if "starts" in top else surface.starts
    iterations = _integer(top.get("iterations", 1000), "iterations", low=1)
    tolerance = _number(top.get("tolerance", 0.0), "tolerance", low=0.0)
    optimizers = _optimizers(top["optimizers"])
    points = iterations * len(optimizers) * len(starts)
    if points > MAX_POINTS:
        raise ConfigError(
            f"iterations × optimizers × starts = {iterations:,} × {len(optimizers)} "
            f"× {len(starts)} = {points:,} points, more than the {MAX_POINTS:,} a "
            "run may keep; use fewer iterations, optimizers or starts",
            path="iterations",
        )
    title = top.get("title")
    if title is not None and (
        isinstance(title, bool) or not isinstance(title, str | int | float)
    ):
        raise ConfigError(f"must be text; got {_kind(title)}", path="title")
    output = top.get("output")
    if output is None:
        output_path = Path("out") / stem
    elif isinstance(output, str) and output.strip():
        output_path = Path(output)
    else:
        raise ConfigError(
            f"must be a folder path as text; got {_kind(output)}", path="output"
        )
    return Config(
        source="",
        stem=stem,
        title=None if title is None else str(title),
        surface=surface_name,
        starts=starts,
        iterations=iterations,
        tolerance=tolerance,
        xlim=xlim,
        ylim=ylim,
        optimizers=optimizers,
        animation=_animation(top.get("animation") or {}),
        output=output_path,
    )


def _optimizers(value: Any) -> tuple[OptimizerSpec, ...]:
    from optviz.optimizers import METHODS

    items = _list(value, "optimizers", "a list of optimizers")
    if not items:
        raise ConfigError("needs at least one optimizer", path="optimizers")
    if len(items) > MAX_OPTIMIZERS:
        raise ConfigError(
            f"at most {MAX_OPTIMIZERS} optimizers; got {len(items)}", path="optimizers"
        )
    specs: list[OptimizerSpec] = []
    for i, item in enumerate(items):
        path = f"optimizers[{i}]"
        entry = _mapping(item, path, "an optimizer")
        if "method" not in entry:
            raise ConfigError(
                "missing required key 'method'; supported values are "
                + _quoted(METHODS),
                path=path,
            )
        name = _choice(entry["method"], join_path(path, "method"), tuple(METHODS))
        method = METHODS[name]
        keys = ("label", "method", "color", *(h.key for h in method.hyperparameters))
        _known_keys(entry, keys, path, what=f"for {name}")
        params: dict[str, float] = {}
        for h in method.hyperparameters:
            if h.key in entry:
                at = join_path(path, h.key)
                params[h.key] = _number(entry[h.key], at)
                problem = h.check(params[h.key])
                if problem:
                    raise ConfigError(problem, path=at)
            elif h.default is None:
                raise ConfigError(
                    f"missing required key {h.key!r} ({h.symbol}, {h.help}) for {name}",
                    path=path,
                )
        try:
            method.build(params)
        except ValueError as e:  # the checks above should have caught it
            raise ConfigError(str(e), path=path) from None
        label = entry.get("label", name)
        if not isinstance(label, str | int | float) or isinstance(label, bool):
            raise ConfigError(
                f"must be text; got {_kind(label)}", path=join_path(path, "label")
            )
        label = str(label)
        if any(s.label == label for s in specs):
            raise ConfigError(
                f"label {label!r} is used twice; give each optimizer its own label",
                path=join_path(path, "label"),
            )
        full = {**method.defaults(), **params}
        ordered = tuple((h.key, full[h.key]) for h in method.hyperparameters)
        color = (
            _color(entry["color"], join_path(path, "color"))
            if "color" in entry
            else None
        )
        specs.append(OptimizerSpec(label, name, ordered, color))
    return tuple(specs)


def _animation(value: Any) -> Animation:
    path = "animation"
    entry = _mapping(value, path, "the animation settings")
    _known_keys(entry, _ANIMATION_KEYS, path)
    default = Animation()

    def at(key: str) -> str:
        return join_path(path, key)

    size = default.size
    if "size" in entry:
        pair = _pair(entry["size"], at("size"), "[width, height] in pixels")
        size = tuple(
            _integer(v, f"{at('size')}[{i}]", 16, 4096) for i, v in enumerate(pair)
        )
    formats = default.formats
    if "formats" in entry:
        names = _list(entry["formats"], at("formats"), "a list of formats")
        if not names:
            raise ConfigError(
                "needs at least one format; supported values are " + _quoted(FORMATS),
                path=at("formats"),
            )
        chosen = [
            _choice(n, f"{at('formats')}[{i}]", FORMATS) for i, n in enumerate(names)
        ]
        formats = tuple(dict.fromkeys(chosen))
    return Animation(
        frames=_integer(entry.get("frames", default.frames), at("frames"), 2, 20_000),
        fps=_integer(entry.get("fps", default.fps), at("fps"), 1, 120),
        hold=_number(entry.get("hold", default.hold), at("hold"), 0.0, 60.0),
        size=size,  # type: ignore[arg-type]
        dpi=_integer(entry.get("dpi", default.dpi), at("dpi"), 20, 600),
        formats=formats,
    )


def _color(value: Any, path: str) -> str:
    from matplotlib.colors import is_color_like

    if not isinstance(value, str) or not is_color_like(value):
        raise ConfigError(
            f"{_show(value)} is not a colour; use a name like 'tab:blue' or "
            "'black', or hex like '#0072B2'",
            path=path,
        )
    return value


def _view(value: Any, surface: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    if value is None:
        return surface.xlim, surface.ylim
    entry = _mapping(value, "view", "{x: [min, max], y: [min, max]}")
    _known_keys(entry, ("x", "y"), "view")
    limits = []
    for axis, default in (("x", surface.xlim), ("y", surface.ylim)):
        if axis not in entry:
            limits.append(default)
            continue
        path = f"view.{axis}"
        lo, hi = (
            _number(v, f"{path}[{i}]")
            for i, v in enumerate(_pair(entry[axis], path, "[min, max]"))
        )
        if not lo < hi:
            raise ConfigError(f"min must be below max; got [{lo:g}, {hi:g}]", path=path)
        limits.append((lo, hi))
    return limits[0], limits[1]


def _starts(value: Any) -> tuple[tuple[float, float], ...]:
    items = _list(value, "starts", "a list of [x, y] points")
    if not items:
        raise ConfigError("needs at least one [x, y] point", path="starts")
    if len(items) > MAX_STARTS:
        raise ConfigError(
            f"at most {MAX_STARTS} starts; got {len(items)}", path="starts"
        )
    starts = []
    for i, item in enumerate(items):
        path = f"starts[{i}]"
        x, y = _pair(item, path, "an [x, y] point")
        starts.append((_number(x, f"{path}[0]"), _number(y, f"{path}[1]")))
    return tuple(starts)


# --- small validators: each raises ConfigError(path=...) or returns the value ---

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _number(
    value: Any, path: str, low: float = -math.inf, high: float = math.inf
) -> float:
    """A finite float; also accepts text like ``1e-3``, which YAML 1.1 reads as a
    string (it wants ``1.0e-3``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"must be a number; got {_kind(value)}", path=path)
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value.strip()):
            raise ConfigError(f"must be a number; got {value!r}", path=path)
        value = float(value)
    try:
        number = float(value)
    except OverflowError:  # an int with hundreds of digits
        raise ConfigError(
            f"must be a finite number; got one with {len(str(abs(value)))} digits",
            path=path,
        ) from None
    if not math.isfinite(number):
        raise ConfigError(f"must be a finite number; got {number}", path=path)
    if not low <= number <= high:
        raise ConfigError(f"must be {_range(low, high)}; got {number:g}", path=path)
    return number


def _integer(value: Any, path: str, low: int = 0, high: int = 10**12) -> int:
    number = _number(value, path)
    if number != int(number):
        raise ConfigError(f"must be a whole number; got {number:g}", path=path)
    if not low <= number <= high:
        raise ConfigError(f"must be {_range(low, high)}; got {number:g}", path=path)
    return int(number)


def _range(low: float, high: float) -> str:
    if math.isinf(high):
        return f">= {low:g}"
    if math.isinf(low):
        return f"<= {high:g}"
    return f"between {low:g} and {high:g}"


def _mapping(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a mapping ({what}); got {_kind(value)}", path=path)
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be text; got {_kind(key)} {key!r}", path=path)
    return value


def _list(value: Any, path: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"must be {what}; got {_kind(value)}", path=path)
    return value


def _pair(value: Any, path: str, what: str) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"must be {what}; got {_show(value)}", path=path)
    return value[0], value[1]


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    message = f"{_show(value)} is not a valid value; supported values are " + _quoted(
        choices
    )
    raise ConfigError(message + _did_you_mean(value, choices), path=path)


def _known_keys(
    entry: Mapping[str, Any], allowed: tuple[str, ...], path: str, what: str = ""
) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r}{' ' + what if what else ''}; "
                f"allowed keys are {_quoted(allowed)}" + _did_you_mean(key, allowed),
                # the key goes into the path as written, unless that would
                # break the one-line message (newlines, control characters)
                path=join_path(path, key if key.isprintable() else repr(key)),
            )


def _did_you_mean(value: Any, choices: tuple[str, ...] | Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value.lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _quoted(choices: Any) -> str:
    return ", ".join(repr(c) for c in choices)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
