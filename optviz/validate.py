"""Reading YAML safely and checking its values, for configs and surface files.

Each checker returns the value or raises :class:`ConfigError` with the key
path; the caller adds the file. Messages say what was found and what is
allowed, with a did-you-mean for near-miss names.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optviz.errors import ConfigError, join_path


def read_yaml(path: Path) -> Any:
    """The data in a YAML file, through ``yaml.safe_load`` only."""
    import yaml

    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the file: {e.strerror}", source=source) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"not UTF-8 text (byte {e.start}); save the file as UTF-8", source=source
        ) from e
    try:
        return yaml.load(text, Loader=_unique_keys_loader())
    except yaml.YAMLError as e:
        raise ConfigError(_yaml_message(e), source=source) from e
    except RecursionError:
        raise ConfigError(TOO_DEEP, source=source) from None


@functools.cache
def _unique_keys_loader():
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    PyYAML keeps the last of two equal keys without a word, so a config with
    ``lr`` written twice would run with one of them silently dropped; YAML
    itself says keys are unique. Keys merged in with ``<<`` may still be
    overridden: that is what merging is for.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                first: dict = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        earlier = first.setdefault(key, key_node.start_mark)
                    except TypeError:  # unhashable: the base class says so
                        continue
                    if earlier is not key_node.start_mark:
                        raise yaml.constructor.ConstructorError(
                            problem=f"the key {key!r} is given twice in one "
                            f"mapping (first on line {earlier.line + 1}); keep one",
                            problem_mark=key_node.start_mark,
                        )
            return super().construct_mapping(node, deep=deep)

    return Loader


TOO_DEEP = "nested too deeply to be a config (lists or mappings inside each other)"
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


# --- small validators: each raises ConfigError(path=...) or returns the value ---

NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def number(
    value: Any, path: str, low: float = -math.inf, high: float = math.inf
) -> float:
    """A finite float; also accepts text like ``1e-3``, which YAML 1.1 reads as a
    string (it wants ``1.0e-3``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"must be a number; got {kind(value)}", path=path)
    if isinstance(value, str):
        if not NUMBER_TEXT.fullmatch(value.strip()):
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
        raise ConfigError(f"must be {range_text(low, high)}; got {number:g}", path=path)
    return number


def integer(value: Any, path: str, low: int = 0, high: int = 10**12) -> int:
    value = number(value, path)
    if value != int(value):
        raise ConfigError(f"must be a whole number; got {value:g}", path=path)
    if not low <= value <= high:
        raise ConfigError(f"must be {range_text(low, high)}; got {value:g}", path=path)
    return int(value)


def range_text(low: float, high: float) -> str:
    if math.isinf(high):
        return f">= {low:g}"
    if math.isinf(low):
        return f"<= {high:g}"
    return f"between {low:g} and {high:g}"


def mapping(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a mapping ({what}); got {kind(value)}", path=path)
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be text; got {kind(key)} {key!r}", path=path)
    return value


def list_of(value: Any, path: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"must be {what}; got {kind(value)}", path=path)
    return value


def sized_list(value: Any, path: str, what: str, one: str, most: int) -> list[Any]:
    """A list of 1 to ``most`` items: ``what`` names the list, ``one`` an item."""
    items = list_of(value, path, what)
    if not items:
        raise ConfigError(f"needs at least one {one}", path=path)
    if len(items) > most:
        raise ConfigError(f"at most {most} {path}; got {len(items)}", path=path)
    return items


def pair(value: Any, path: str, what: str) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(f"must be {what}; got {show(value)}", path=path)
    return value[0], value[1]


def choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    message = f"{show(value)} is not a valid value; supported values are " + quoted(
        choices
    )
    raise ConfigError(message + did_you_mean(value, choices), path=path)


def known_keys(
    entry: Mapping[str, Any], allowed: tuple[str, ...], path: str, what: str = ""
) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r}{' ' + what if what else ''}; "
                f"allowed keys are {quoted(allowed)}" + did_you_mean(key, allowed),
                # the key goes into the path as written, unless that would
                # break the one-line message (newlines, control characters)
                path=join_path(path, key if key.isprintable() else repr(key)),
            )


def did_you_mean(value: Any, choices: tuple[str, ...] | Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value.lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def quoted(choices: Any) -> str:
    return ", ".join(repr(c) for c in choices)


def kind(value: Any) -> str:
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


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
