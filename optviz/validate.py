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

# A config or surface file is a few kilobytes; anything near this is not one
# (or is an attack: /dev/zero, a log file, a YAML bomb written out).
MAX_FILE_BYTES = 1 << 20
# Aliases (``*name``) let a few lines stand for a huge tree: nine levels of
# nine aliases each expand to 9⁹ values. The tree a file stands for, aliases
# expanded, is counted before anything is built from it.
MAX_VALUES = 100_000
# A view (or a surface's domain) lies within ±this: the drawing computes
# with a hundred times the view's width (where a path has diverged), and
# nothing a contour plot shows needs more.
MAX_COORDINATE = 1e100


def read_bytes(path: Path, name: str | None = None) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`; a
    missing or unreadable file, a folder, a device or a FIFO (whose reading
    would block for ever) is a :class:`ConfigError` without a source: the
    caller names the file and the key that named it. ``name``: how the
    message calls the file (default: its path, quoted)."""
    import os
    import stat

    shown = quoted_path(str(path)) if name is None else name

    try:
        info = os.stat(path)
    except OSError as e:
        raise ConfigError(f"cannot read {shown}: {_reason(e)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"cannot read {shown}: it is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"cannot read {shown}: not a regular file (a device, a FIFO "
            "or a socket); name a .yaml file"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigError(
            f"cannot read {shown}: {info.st_size:,} bytes, more than the "
            f"{MAX_FILE_BYTES:,} a config or surface file may have"
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"cannot read {shown}: {_reason(e)}") from None
    if len(raw) > MAX_FILE_BYTES:  # it grew after the stat
        raise ConfigError(f"cannot read {shown}: more than {MAX_FILE_BYTES:,} bytes")
    return raw


def quoted_path(path: str) -> str:
    """A path as written, quoted, for a message (cut short if absurd)."""
    return repr(path) if len(path) <= 300 else show(path)


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def read_yaml(path: Path) -> Any:
    """The data in a YAML file, through ``yaml.safe_load`` only."""
    import yaml

    source = str(path)
    try:
        raw = read_bytes(Path(path), "the file")
    except ConfigError as e:
        raise e.at(source=source) from None
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
    except ConfigError as e:  # from the loader: too many values
        raise e.at(source=source) from None
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
        def construct_yaml_int(self, node):
            try:
                return super().construct_yaml_int(node)
            except ValueError:  # more digits than Python converts (4,300)
                return LongInteger(sum(c.isdigit() for c in node.value))

        def construct_document(self, node):
            values = expanded_size(node)
            if values > MAX_VALUES:
                raise ConfigError(TOO_MANY)
            return super().construct_document(node)

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
                            problem=f"the key {show(key)} is given twice in one "
                            f"mapping (first on line {earlier.line + 1}); keep one",
                            problem_mark=key_node.start_mark,
                        )
            return super().construct_mapping(node, deep=deep)

    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    return Loader


class LongInteger:
    """A whole number written with more digits than Python turns into an
    int (4,300; ``int()`` raises): what the YAML loader gives for one, so
    that the checker of its key refuses it with the key path."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<a number of {self.digits:,} digits>"


def expanded_size(root: Any) -> int:
    """How many values the YAML node tree ``root`` stands for with every
    alias expanded (a node reached twice counts twice), counted in one pass
    over the distinct nodes, stopping once past :data:`MAX_VALUES`."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[id(node)] = min(total, MAX_VALUES + 1)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


TOO_MANY = (
    f"its aliases (*name) expand to more than {MAX_VALUES:,} values; a config "
    "needs far fewer"
)
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
    if isinstance(value, LongInteger):
        raise ConfigError(
            f"must be a finite number; got one with {value.digits:,} digits", path=path
        )
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"must be a number; got {kind(value)}", path=path)
    if isinstance(value, str):
        if not NUMBER_TEXT.fullmatch(value.strip()):
            raise ConfigError(f"must be a number; got {show(value)}", path=path)
        value = float(value)
    try:
        number = float(value)
    except OverflowError:  # an int with hundreds of digits
        raise ConfigError(
            f"must be a finite number; got one with {_digits(int(value)):,} digits",
            path=path,
        ) from None
    if not math.isfinite(number):
        raise ConfigError(f"must be a finite number; got {number}", path=path)
    if not low <= number <= high:
        raise ConfigError(f"must be {range_text(low, high)}; got {number:g}", path=path)
    return number


def _digits(value: int) -> int:
    """How many decimal digits ``value`` has, without making its text (which
    Python refuses beyond 4,300 digits)."""
    bits = abs(value).bit_length()
    if bits < 4000:
        return len(str(abs(value)))
    return int(bits * math.log10(2)) + 1


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
            raise ConfigError(
                f"keys must be text; got {kind(key)} {show(key)}", path=path
            )
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
                f"unknown key {show(key)}{' ' + what if what else ''}; "
                f"allowed keys are {quoted(allowed)}" + did_you_mean(key, allowed),
                # the key goes into the path as written, unless that would
                # break the one-line message (newlines, control characters)
                path=join_path(
                    path, key if key.isprintable() and len(key) <= _SHOWN else show(key)
                ),
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
        LongInteger: "a number",
    }.get(type(value), type(value).__name__)


def drawn_text(value: Any, path: str, most: int) -> str:
    """Text that the figure will draw (a title, a label): at most ``most``
    characters, one line, and if matplotlib would read it as mathtext (an
    even number of unescaped ``$``), mathtext that it can draw; checked here,
    where it enters, so that ``run`` cannot fail on what ``validate``
    accepted."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"must be text; got {kind(value)}", path=path)
    if isinstance(value, int) and _digits(value) > most:
        raise ConfigError(
            f"must be at most {most} characters; got a number of "
            f"{_digits(value):,} digits",
            path=path,
        )
    text = str(value)
    if len(text) > most:
        raise ConfigError(
            f"must be at most {most} characters; got {len(text):,}", path=path
        )
    if not text.isprintable():
        raise ConfigError(
            f"must be one line of printable text; got {show(text)}", path=path
        )
    missing = [c for c in text if not (" " <= c <= "~") and ord(c) not in _glyphs()]
    if missing:  # matplotlib would warn, and draw a box
        raise ConfigError(
            f"the character {missing[0]!r} (U+{ord(missing[0]):04X}) cannot be "
            f"drawn: {FONT}, the font of the figures, has no glyph for it",
            path=path,
        )
    if "$" in text:
        from matplotlib import cbook

        if cbook.is_math_text(text):
            _mathtext(text, path)
    return text


FONT = "DejaVu Sans"  # the house style's font (optviz.draw.backdrop.house_style)


@functools.cache
def _glyphs() -> frozenset[int]:
    """The characters :data:`FONT`, as matplotlib ships it, has glyphs for."""
    import os

    import matplotlib
    from matplotlib import ft2font

    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    return frozenset(ft2font.FT2Font(path).get_charmap())


def _mathtext(text: str, path: str) -> None:
    """Refuse ``text`` unless matplotlib parses it as mathtext in the house
    style (its fonts), without a warning."""
    import warnings

    import matplotlib as mpl
    from matplotlib.mathtext import MathTextParser

    style = mpl.rc_context({"font.family": [FONT], "mathtext.fontset": "dejavusans"})
    with style, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            MathTextParser("path").parse(text)
            problem = str(caught[0].message) if caught else ""
        except ValueError as e:
            problem = str(e).strip().splitlines()[-1].strip() or "cannot be parsed"
    if problem:
        raise ConfigError(
            f"{show(text)} is not mathtext matplotlib can draw "
            f"({problem.splitlines()[0][:80]}); "
            r"write \$ for a dollar sign",
            path=path,
        )


_SHOWN = 40  # characters of a user's value an error echoes


def show(value: Any) -> str:
    """``value`` for an error message: at most about :data:`_SHOWN`
    characters, built without making the whole repr (a value may be a
    megabyte of text or an alias bomb), with the length of long text."""
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = _SHOWN
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 4
    short.maxlevel = 2
    if isinstance(value, int) and value.bit_length() > 4000:  # beyond repr()
        return f"<a number of {_digits(value):,} digits>"
    text = short.repr(value)  # bounded: nested containers stop at 4 × 4
    if len(text) > 2 * _SHOWN:
        text = text[: 2 * _SHOWN - 3] + "..."
    if isinstance(value, str) and len(value) > _SHOWN:
        text += f" ({len(value):,} characters)"
    return text
