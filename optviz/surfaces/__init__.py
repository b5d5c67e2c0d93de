"""Two-dimensional test surfaces, held as data.

A surface is a YAML file (the built-in ones are in the top-level ``surfaces/``
folder and ship in the package as ``optviz.builtin_surfaces``)::

    name: beale
    description: "Beale's function: a flat valley between steep walls"
    reference: "Surjanovic & Bingham, Virtual Library of Simulation Experiments"
    formula: "(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2"
    parameters: {}                       # optional: name: default value
    domain: {x: [-4.5, 4.5], y: [-4.5, 4.5]}   # the default view window
    minima:                              # global, local, or notable saddles
      - {x: 3, y: 0.5, value: 0}
      - {x: 0, y: 1, value: 14.203125, kind: saddle}
    starts: [[2, -2], [-3, 3]]           # default starts
    levels: log                          # contour spacing: log or linear
    nondifferentiable: "at the origin"   # optional: where ∇f has kinks

The formula is parsed by whitelist and differentiated symbolically
(:mod:`optviz.surfaces.formula`); f, ∇f and ∇²f take any ``(..., 2)`` array, so the
contour grid and the optimizer batch share one code path. A surface is
compiled once per set of parameter values and cached, in the process and (its
generated code) on disk: see :mod:`optviz.surfaces.cache`, which also holds the
code of the built-in surfaces, shipped with optviz.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optviz.errors import ConfigError, join_path
from optviz.surfaces import minibatch
from optviz.validate import (
    MAX_COORDINATE,
    choice,
    did_you_mean,
    drawn_text,
    integer,
    known_keys,
    list_of,
    mapping,
    number,
    pair,
    quoted,
    read_yaml,
    show,
)

Array = np.ndarray

KINDS = ("global", "local", "saddle")
MAX_NAME = 80  # characters of a surface's name, as of an optimizer's label
LEVELS = ("log", "linear")
_KEYS = (
    "data",
    "name",
    "description",
    "reference",
    "formula",
    "parameters",
    "domain",
    "minima",
    "starts",
    "levels",
    "nondifferentiable",
)


@dataclass(frozen=True)
class Minimum:
    """A known critical point: a global or local minimum, or a notable saddle."""

    x: float
    y: float
    value: float
    kind: str = "global"

    @property
    def point(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class Definition:
    """A surface as its file says, validated but not compiled."""

    name: str
    formula: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    description: str = ""
    reference: str = ""
    parameters: tuple[tuple[str, float], ...] = ()  # name, default
    minima: tuple[Minimum, ...] = ()
    starts: tuple[tuple[float, float], ...] = ()
    levels: str = "log"
    nondifferentiable: str = ""
    data: bool = False  # least squares over generated examples (parameters)


@dataclass(frozen=True)
class Surface:
    """A compiled surface: f, ∇f and ∇²f over ``(..., 2)`` arrays, and its facts."""

    name: str
    description: str
    formula: str
    f: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    hessian: Callable[[Array], Array]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[Minimum, ...]  # the minima only (global and local)
    starts: tuple[tuple[float, float], ...]
    levels: str = "log"
    reference: str = ""
    parameters: tuple[tuple[str, float], ...] = ()  # the values in use
    saddles: tuple[Minimum, ...] = ()
    nondifferentiable: str = ""
    examples: minibatch.Examples | None = None  # a data surface's examples

    @property
    def f_min(self) -> float:
        """The lowest known value (the shift that makes log levels work)."""
        return min((m.value for m in self.minima), default=0.0)


# --- built-in surfaces ------------------------------------------------------


def _data_dir() -> Any:
    """Where the built-in surface files are: inside the installed package, or
    the surfaces/ folder of a source checkout."""
    import importlib.resources

    try:
        return importlib.resources.files("optviz.builtin_surfaces")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent.parent / "surfaces"


@functools.cache
def builtin_names() -> tuple[str, ...]:
    files = (p.name for p in _data_dir().iterdir())
    return tuple(sorted(n[: -len(".yaml")] for n in files if n.endswith(".yaml")))


@functools.cache
def builtin(name: str) -> Definition:
    """The definition of a built-in surface (ConfigError for an unknown name)."""
    names = builtin_names()
    if name not in names:
        raise ConfigError(
            f"{show(name)} is not a built-in surface; supported values are "
            f"{quoted(names)}, a path to a surface .yaml file, or {{formula: ...}}"
            + did_you_mean(name, names)
        )
    path = _data_dir() / f"{name}.yaml"
    definition = read_definition(Path(str(path)))
    if definition.name != name:
        raise ConfigError(
            f"the file is {name}.yaml but names itself {definition.name!r}",
            source=str(path),
        )
    return definition


def read_definition(path: Path) -> Definition:
    """Read and validate a surface file."""
    try:
        data = read_yaml(path)
        if not (isinstance(data, Mapping) and ("formula" in data or "data" in data)):
            # Say nothing of what it holds: it may be any file (/etc/shadow).
            raise ConfigError(
                "not a surface file: a surface file is a YAML mapping with a "
                "'formula' (see the files in surfaces/)"
            )
        return parse_definition(data, default_name=Path(path).stem)
    except ConfigError as e:
        raise e.at(source=e.source or str(path)) from None


def get(name: str, **parameters: float) -> Surface:
    """A built-in surface, compiled, with any parameters overridden."""
    return build(builtin(name), tuple(sorted(parameters.items())))


class _Registry(Mapping[str, Surface]):
    """The built-in surfaces by name; each compiled on first use."""

    def __getitem__(self, name: str) -> Surface:
        if name not in builtin_names():
            raise KeyError(name)
        return get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(builtin_names())

    def __len__(self) -> int:
        return len(builtin_names())


SURFACES: Mapping[str, Surface] = _Registry()


# --- validation -------------------------------------------------------------


def parse_definition(
    data: Any, default_name: str = "custom", path: str = ""
) -> Definition:
    """Validate a surface's mapping (a file's content or an inline config entry).

    ``path`` is the key path of the mapping inside a config, for messages.
    """
    from optviz.surfaces import formula as formulas

    entry = mapping(data, path, "a surface: formula, domain, minima, ...")
    known_keys(entry, _KEYS, path)
    if "formula" not in entry and "data" not in entry:
        raise ConfigError("missing required key 'formula' (f in x and y)", path=path)

    def at(key: str) -> str:
        return join_path(path, key)

    # drawn on the title card and by optviz show
    name = drawn_text(
        _text(entry.get("name", default_name), at("name")), at("name"), MAX_NAME
    )
    if "data" in entry:  # least squares: the data settings are the parameters
        if "formula" in entry or "parameters" in entry:
            raise ConfigError(
                "a data surface has no formula or parameters: its formula comes "
                "from the examples, and 'data' holds their settings",
                path=at("data"),
            )
        parameters = _data_settings(entry["data"], at("data"))
        text = ""
    else:
        parameters = tuple(
            (key, number(value, join_path(at("parameters"), key)))
            for key, value in mapping(
                entry.get("parameters") or {}, at("parameters"), "name: default value"
            ).items()
        )
        text = _text(entry["formula"], at("formula"))
        try:  # the full check; it leaves the compiled code in the cache
            formulas.source(text, dict(parameters))
        except formulas.FormulaError as e:
            raise ConfigError(str(e), path=at("formula")) from None
    xlim, ylim = _domain(entry.get("domain"), at("domain"))
    return Definition(
        name=name,
        formula=text,
        xlim=xlim,
        ylim=ylim,
        description=_text(entry.get("description", ""), at("description")),
        reference=_text(entry.get("reference", ""), at("reference")),
        parameters=parameters,
        minima=_minima(entry.get("minima") or [], at("minima")),
        starts=_points(entry.get("starts") or [], at("starts")),
        levels=choice(entry.get("levels", "log"), at("levels"), LEVELS),
        nondifferentiable=_text(
            entry.get("nondifferentiable", ""), at("nondifferentiable")
        ),
        data="data" in entry,
    )


_DATA_RANGES = {  # setting: (low, high, whole number)
    "examples": (2, 100_000, True),
    "slope": (-1e6, 1e6, False),
    "intercept": (-1e6, 1e6, False),
    "noise": (0.0, 1e6, False),
    "seed": (0, 2**32 - 1, True),
}


def _data_settings(value: Any, path: str) -> tuple[tuple[str, float], ...]:
    entry = mapping(value, path, "the examples' settings")
    known_keys(entry, tuple(_DATA_RANGES), path)
    settings = dict(minibatch.DEFAULTS)
    for key, raw in entry.items():
        settings[key] = _data_setting(key, raw, join_path(path, key))
    return tuple(settings.items())


def _data_setting(key: str, value: Any, where: str) -> float:
    """One setting of a data surface's examples, checked against its range."""
    low, high, whole = _DATA_RANGES[key]
    if whole:
        return integer(value, where, int(low), int(high))
    return number(value, where, low, high)


def parameter_values(
    definition: Definition, values: Mapping[str, Any], path: str = ""
) -> tuple[tuple[str, float], ...]:
    """Check parameter overrides against ``definition``; all values, sorted."""
    declared = dict(definition.parameters)
    out = dict(declared)
    for key, value in values.items():
        if key not in declared:
            allowed = tuple(declared) or ("(none)",)
            raise ConfigError(
                f"{definition.name} has no parameter {key!r}; its parameters are "
                + quoted(allowed)
                + did_you_mean(key, tuple(declared)),
                path=join_path(path, key),
            )
        if definition.data:
            out[key] = _data_setting(key, value, join_path(path, key))
        else:
            out[key] = number(value, join_path(path, key))
    return tuple(sorted(out.items()))


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"must be text; got {show(value)}", path=path)
    return value


def _domain(value: Any, path: str) -> tuple[tuple[float, float], tuple[float, float]]:
    if value is None:
        raise ConfigError(
            "missing required key 'domain' ({x: [min, max], y: [min, max]})",
            path=path.rpartition(".")[0],
        )
    entry = mapping(value, path, "{x: [min, max], y: [min, max]}")
    known_keys(entry, ("x", "y"), path)
    limits = []
    for axis in ("x", "y"):
        where = join_path(path, axis)
        if axis not in entry:
            raise ConfigError(f"missing required key {axis!r} ([min, max])", path=path)
        lo, hi = (
            number(v, f"{where}[{i}]", -MAX_COORDINATE, MAX_COORDINATE)
            for i, v in enumerate(pair(entry[axis], where, "[min, max]"))
        )
        if not lo < hi:
            raise ConfigError(
                f"min must be below max; got [{lo:g}, {hi:g}]", path=where
            )
        limits.append((lo, hi))
    return limits[0], limits[1]


def _minima(value: Any, path: str) -> tuple[Minimum, ...]:
    out = []
    for i, item in enumerate(list_of(value, path, "a list of {x, y, value}")):
        where = f"{path}[{i}]"
        entry = mapping(item, where, "{x: ..., y: ..., value: ..., kind: ...}")
        known_keys(entry, ("x", "y", "value", "kind"), where)
        for key in ("x", "y", "value"):
            if key not in entry:
                raise ConfigError(f"missing required key {key!r}", path=where)
        out.append(
            Minimum(
                number(entry["x"], join_path(where, "x")),
                number(entry["y"], join_path(where, "y")),
                number(entry["value"], join_path(where, "value")),
                choice(entry.get("kind", "global"), join_path(where, "kind"), KINDS),
            )
        )
    return tuple(out)


def _points(value: Any, path: str) -> tuple[tuple[float, float], ...]:
    out = []
    for i, item in enumerate(list_of(value, path, "a list of [x, y] points")):
        where = f"{path}[{i}]"
        x, y = pair(item, where, "an [x, y] point")
        out.append((number(x, f"{where}[0]"), number(y, f"{where}[1]")))
    return tuple(out)


# --- compiling ----------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def build(
    definition: Definition, parameters: tuple[tuple[str, float], ...] = ()
) -> Surface:
    """Compile ``definition`` with ``parameters`` (sorted name/value pairs that
    override the defaults)."""
    from optviz.surfaces import formula as formulas

    values = {**dict(definition.parameters), **dict(parameters)}
    text, symbols, examples = formula_of(definition, parameters)
    listed = definition.minima
    if examples is not None:
        w, b, loss = minibatch.minimum(examples)
        listed = (Minimum(w, b, loss),)
    compiled = formulas.compile_formula(
        text, symbols, guard_nan=bool(definition.nondifferentiable)
    )
    minima = tuple(m for m in listed if m.kind != "saddle")
    saddles = tuple(m for m in listed if m.kind == "saddle")
    return Surface(
        name=definition.name,
        description=definition.description,
        formula=text,
        f=compiled.f,
        grad=compiled.grad,
        hessian=compiled.hessian,
        xlim=definition.xlim,
        ylim=definition.ylim,
        minima=minima,
        starts=definition.starts,
        levels=definition.levels,
        reference=definition.reference,
        parameters=tuple(sorted(values.items())),
        saddles=saddles,
        nondifferentiable=definition.nondifferentiable,
        examples=examples,
    )


def formula_of(
    definition: Definition, parameters: tuple[tuple[str, float], ...] = ()
) -> tuple[str, dict[str, float], minibatch.Examples | None]:
    """The formula ``definition`` compiles with ``parameters`` (overriding the
    defaults), the parameters it names, and a data surface's examples."""
    values = {**dict(definition.parameters), **dict(parameters)}
    if not definition.data:
        return definition.formula, values, None
    examples = minibatch.generate(**values)  # type: ignore[arg-type]
    # the settings are already in the formula's numbers: it names none
    return minibatch.formula(examples), {}, examples
