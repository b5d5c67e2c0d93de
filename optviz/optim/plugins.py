"""Methods from outside optviz: a Python file a config names, an installed
plug-in, or a PyTorch optimizer.

A config's ``method:`` is a registered name (:data:`~optviz.optim.methods.METHODS`),
or one of

- ``./my_optimizers.py:signum``: the object ``signum`` of that file (the path
  relative to the config's folder), made by :func:`method`;
- ``signum``, when no registered method has that name: an installed plug-in,
  the entry point ``signum`` of the group ``optviz.methods`` (its object made
  by :func:`method` too);
- ``torch:AdamW``, ``torch:package.module.Class``: a PyTorch optimizer
  (:mod:`optviz.optim.pytorch`).

Naming a file or a plug-in runs its code, as ``pytest`` runs a
``conftest.py``: that is the config author's explicit choice. Nothing else
reaches this module (a formula or a surface file cannot name a method).

A plug-in file declares its method as one function pair of the protocol
(:mod:`optviz.optim.protocol`) with its hyperparameters::

    from optviz.optim.plugins import LR, Hyperparameter, method

    signum = method(
        LR,
        Hyperparameter("beta", "β", "momentum", default=0.9, low=0.0, high=1.0,
                       high_inclusive=False),
        init=init,
        update=update,
    )

Its hyperparameters are validated as the built-in methods' are. Every problem
with the file is one line naming the file and the line: a syntax error, an
exception while it is imported, a missing name or something that is not a
method there, functions of the wrong shape (raised as a
:class:`~optviz.errors.ConfigError`, exit code 2); and while it runs, an
exception in its functions, a state without ``theta`` of shape ``(R, 2)``, or
a NaN computed from finite numbers (a :class:`~optviz.errors.PluginError`).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optviz.errors import ConfigError, PluginError
from optviz.optim import methods
from optviz.optim.internals import EVERY_METHOD, StateInternals
from optviz.optim.methods import (
    BETA,
    BETA1,
    BETA2,
    ENTRY_KEYS,
    EPS,
    FAMILIES,
    LR,
    MOMENTUM,
    Hyperparameter,
    Method,
)
from optviz.optim.protocol import Family
from optviz.validate import did_you_mean, read_bytes, show

__all__ = [
    "BETA",
    "BETA1",
    "BETA2",
    "EPS",
    "GROUP",
    "LR",
    "MOMENTUM",
    "Declaration",
    "Hyperparameter",
    "method",
    "resolve",
]

Array = np.ndarray

# The entry point group of installed plug-ins.
GROUP = "optviz.methods"
# An error message quotes at most this much of an exception's text.
_MAX_TEXT = 300


@dataclass(frozen=True)
class Declaration:
    """A method as a plug-in declares it (see :func:`method`)."""

    hyperparameters: tuple[Hyperparameter, ...]
    init: Callable[..., Any]
    update: Callable[..., Any]
    query: Callable[..., Array] | None = None
    summary: str | None = None
    velocity: Callable[..., Array] | None = None
    scaling: Callable[..., Array] | None = None


def method(
    *hyperparameters: Hyperparameter,
    init: Callable[..., Any],
    update: Callable[..., Any],
    query: Callable[..., Array] | None = None,
    summary: str | None = None,
    velocity: Callable[..., Array] | None = None,
    scaling: Callable[..., Array] | None = None,
) -> Declaration:
    """A method for a plug-in file or package: ``init(hp, rows) -> state``,
    ``update(grad, state, t, hp) -> state`` and optionally ``query(state, hp)
    -> points`` (see :mod:`optviz.optim.protocol`), ``hp`` one attribute per
    hyperparameter. ``summary`` (default: the first line of ``update``'s
    docstring) says what it is, as a registered method's summary does.

    What a video can draw at its heads (``internals:``,
    :mod:`optviz.optim.internals`): the gradient and the step always; the
    look-ahead point where ``query`` is given (it is where the next gradient
    is taken); ``velocity(state, hp) -> (R, 2)``, the displacement the state
    carries into its next step; ``scaling(state, t, hp) -> (R, 2)``, the
    per-coordinate factor update ``t`` applied (from t = 1)."""
    keys = []
    for h in hyperparameters:
        if not isinstance(h, Hyperparameter):
            raise TypeError(
                f"hyperparameters are Hyperparameter(...) values; got {h!r}"
            )
        if not h.key.isidentifier():
            raise ValueError(f"{h.key!r} must be a Python name")
        if h.key in keys:
            raise ValueError(f"the hyperparameter {h.key!r} is declared twice")
        if h.key in ENTRY_KEYS:
            raise ValueError(
                f"{h.key!r} is a key of every optimizer entry; name the "
                "hyperparameter otherwise (taken: " + ", ".join(ENTRY_KEYS) + ")"
            )
        keys.append(h.key)
    roles = {"init": init, "update": update, "query": query,
             "velocity": velocity, "scaling": scaling}  # fmt: skip
    for role, fn in roles.items():
        if fn is not None and not callable(fn):
            raise TypeError(f"{role} must be a function; got {fn!r}")
    return Declaration(
        tuple(hyperparameters), init, update, query, summary, velocity, scaling
    )


# The positional arguments each function of the protocol is called with.
_ARGUMENTS = {
    "init": ("hp", "rows"),
    "update": ("grad", "state", "t", "hp"),
    "query": ("state", "hp"),
    "velocity": ("state", "hp"),
    "scaling": ("state", "t", "hp"),
}


def resolve(value: str, base: Path) -> Method:
    """The :class:`Method` a config's ``method: value`` names, when it is no
    registered name: a file's method, an installed plug-in or a PyTorch
    optimizer. ``base`` is the config's folder. Raises
    :class:`ConfigError` (without a key path: the caller adds it)."""
    if value.startswith("torch:"):
        from optviz.optim import pytorch

        return pytorch.method(value.removeprefix("torch:"))
    file, colon, name = value.rpartition(":")
    if colon and file.endswith(".py"):
        return _from_file(file, name, base)
    if value.endswith(".py"):
        raise ConfigError(
            f"name the method in the file after a colon: '{value}:NAME' (the "
            "name the file gives its method(...))"
        )
    found = _entry_points().get(value)
    if found is not None:
        return _from_entry_point(value, found)
    choices = (*methods.METHODS, *_entry_points())
    raise ConfigError(
        f"{show(value)} is not a valid value; supported values are "
        + ", ".join(repr(c) for c in choices)
        + ", a method in a Python file ('./my_optimizers.py:NAME') or a "
        "PyTorch optimizer ('torch:AdamW')" + did_you_mean(value, choices)
    )


def installed() -> dict[str, str]:
    """The installed plug-ins: name -> where (``module:object``, distribution)."""
    return {
        name: f"{ep.value} ({_distribution(ep)})"
        for name, ep in _entry_points().items()
    }


# --- files --------------------------------------------------------------------

# A file's module and the methods made of it, by its resolved path, with the
# size and time it was read at: the same file gives the same methods (rows
# computed once per process), an edited one is read again.
_FILES: dict[Path, tuple[tuple[int, int], Any, dict[str, Method]]] = {}


def _from_file(file: str, name: str, base: Path) -> Method:
    shown = str(base / file) if not Path(file).is_absolute() else file
    path = (base / file).resolve()
    source = read_bytes(path, repr(shown))
    stat = os.stat(path)
    key = (stat.st_size, stat.st_mtime_ns)
    cached = _FILES.get(path)
    if cached is None or cached[0] != key:
        _FILES[path] = cached = (key, _exec(source, path, shown), {})
    _, module, made = cached
    if name in made:
        return made[name]
    home = _Home(shown, (str(path),), alias=True)
    if not name.isidentifier():
        raise ConfigError(f"{shown}: {name!r} is not a Python name")
    if not hasattr(module, name):
        defined = [
            n
            for n, v in vars(module).items()
            if isinstance(v, Declaration) and not n.startswith("_")
        ]
        listing = ", ".join(defined) if defined else "none"
        raise ConfigError(
            f"{shown}: there is no {name!r} in the file; the methods it "
            f"declares with method(...) are: {listing}"
            + did_you_mean(name, tuple(defined))
        )
    made[name] = found = _method(
        getattr(module, name), name, home, _assigned(source, name)
    )
    return found


def _exec(source: bytes, path: Path, shown: str) -> Any:
    """Run the file as a module of its own (like an imported one)."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_loader(
        f"optviz_plugin_{digest}", loader=None, origin=str(path)
    )
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as e:
        where = f"{shown}:{e.lineno}" if e.lineno else shown
        raise ConfigError(f"{where}: SyntaxError: {e.msg}") from None
    except ValueError as e:  # null bytes, a bad encoding declaration
        raise ConfigError(f"{shown}: cannot be read as Python: {e}") from None
    sys.modules[spec.name] = module
    try:
        exec(code, module.__dict__)
    except BaseException as e:
        sys.modules.pop(spec.name, None)
        if not isinstance(e, Exception | SystemExit):
            raise
        home = _Home(shown, (str(path),), alias=True)
        raise ConfigError(
            f"{home.where(e)}: {_exception(e)} (while the file was imported)"
        ) from None
    return module


def _assigned(source: bytes, name: str) -> int | None:
    """The line where the file's top level binds ``name``, if it can tell."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    line = None
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                line = node.lineno
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            line = node.lineno
    return line


# --- installed plug-ins -------------------------------------------------------


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    found: dict[str, Any] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)  # the first on sys.path, as import does
    return found


def _distribution(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "?"


def _from_entry_point(name: str, ep: Any) -> Method:
    module_name = ep.value.partition(":")[0].strip()
    shown = f"plug-in {name!r} ({ep.value}, from {_distribution(ep)})"
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    files: tuple[str, ...] = ()
    if spec is not None and spec.origin:
        origin = Path(spec.origin)
        # a package's files are its folder; a module's its file
        home_of = origin.parent if origin.name == "__init__.py" else origin
        files = (str(home_of),)
    home = _Home(shown, files)
    try:
        declared = ep.load()
    except SyntaxError as e:
        where = f"{e.filename}:{e.lineno}" if e.filename else shown
        raise ConfigError(
            f"{where}: SyntaxError: {e.msg} (while loading {shown})"
        ) from None
    except Exception as e:
        raise ConfigError(
            f"{home.where(e)}: {_exception(e)} (while loading {shown})"
        ) from None
    known = _INSTALLED.get(name)
    if known is not None and known[0] is declared:
        return known[1]
    found = _method(declared, name, home, None)
    _INSTALLED[name] = (declared, found)
    return found


# An installed plug-in's method by its name, with the object it was made of:
# the same object (imported once per process) gives the same method.
_INSTALLED: dict[str, tuple[Any, Method]] = {}


# --- the method, checked ------------------------------------------------------


@dataclass(frozen=True)
class _Home:
    """Where a plug-in's code lives: its name in messages and its files (a
    file, or a package's folder), to find its line in a traceback. ``alias``:
    a plug-in file is called as the config wrote it, not by its full path."""

    shown: str
    files: tuple[str, ...]
    alias: bool = False

    def owns(self, filename: str) -> bool:
        return any(
            filename == f or filename.startswith(f.rstrip(os.sep) + os.sep)
            for f in self.files
        )

    def where(self, error: BaseException) -> str:
        """``file:line`` of the deepest frame of the plug-in's own code in
        ``error``'s traceback (the plug-in's name if none is)."""
        frames = traceback.extract_tb(error.__traceback__)
        mine = [f for f in frames if self.owns(f.filename)]
        if not mine:
            return self.shown
        return f"{self._display(mine[-1].filename)}:{mine[-1].lineno}"

    def at(self, fn: Any) -> str:
        """``file:line`` where the function ``fn`` is defined."""
        code = getattr(inspect.unwrap(fn), "__code__", None)
        if code is None or not self.owns(code.co_filename):
            return self.shown
        return f"{self._display(code.co_filename)}:{code.co_firstlineno}"

    def _display(self, filename: str) -> str:
        return self.shown if self.alias and filename == self.files[0] else filename


def _method(declared: Any, name: str, home: _Home, line: int | None) -> Method:
    where = f"{home.shown}:{line}" if line else home.shown
    if not isinstance(declared, Declaration):
        what = "a function" if inspect.isfunction(declared) else type(declared).__name__
        raise ConfigError(
            f"{where}: {name} is {what}, not a method; declare it with "
            "optviz.optim.plugins.method(<hyperparameters>, init=..., update=...)"
        )
    for role, args in _ARGUMENTS.items():
        fn = getattr(declared, role)
        if fn is None:
            continue
        try:
            inspect.signature(fn).bind(*args)
        except TypeError:
            shape = ", ".join(args)
            raise ConfigError(
                f"{home.at(fn)}: {role} must take ({shape}); it is "
                f"{getattr(fn, '__name__', 'it')}{_signature(fn)}"
            ) from None
        except ValueError:  # no signature to read (a builtin): call and see
            pass
    doc = (inspect.getdoc(declared.update) or "").strip().splitlines()
    summary = declared.summary or (doc[0] if doc else name)
    hp_type = methods._hyperparameter_type(name, declared.hyperparameters)
    checked = _Checked(name, home, declared)
    FAMILIES[hp_type] = Family(
        checked.init,
        checked.update,
        checked.query if declared.query is not None else None,
        kinds=checked.kinds,
        internals=checked.internals,
    )
    return Method(name, summary, declared.hyperparameters, hp_type)


def _signature(fn: Any) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


class _Checked:
    """A plug-in's functions, called with their failures as one-line
    :class:`PluginError` values naming the file and the line."""

    def __init__(self, name: str, home: _Home, declared: Declaration) -> None:
        self.name, self.home, self.declared = name, home, declared

    def init(self, hp: Any, rows: Array) -> Any:
        with self._calling("init", None):
            state = self.declared.init(hp, rows)
        self._check_state(state, "init", None, len(rows))
        return state

    def update(self, grad: Array, state: Any, t: int, hp: Any) -> Any:
        with self._calling("update", t):
            new = self.declared.update(grad, state, t, hp)
        rows = len(state.theta)
        self._check_state(new, "update", t, rows)
        if np.isnan(new.theta).any():
            self._check_nan(grad, state, new, t)
        return new

    def query(self, state: Any, hp: Any) -> Array:
        assert self.declared.query is not None
        with self._calling("query", None):
            points = self.declared.query(state, hp)
        self._check_points(points, "query", None, len(state.theta), "its points")
        return points

    def kinds(self, hp: Any) -> frozenset[str]:
        d = self.declared
        has = {"velocity": d.velocity, "lookahead": d.query, "scaling": d.scaling}
        return EVERY_METHOD | {kind for kind, fn in has.items() if fn is not None}

    def internals(self, state: Any, t: int, hp: Any) -> StateInternals:
        """The declared internals of ``state`` after ``t`` updates, each
        checked to be (R, 2) floats (the scaling NaN before the first)."""
        rows = len(state.theta)
        found: dict[str, Array | None] = {}
        for role, args in (("velocity", (state, hp)), ("scaling", (state, t, hp))):
            fn = getattr(self.declared, role)
            if fn is None or (role == "scaling" and t < 1):
                found[role] = None
                continue
            with self._calling(role, t):
                value = fn(*args)
            self._check_points(value, role, t, rows, f"its {role}")
            found[role] = value
        if self.declared.scaling is not None and t < 1:
            found["scaling"] = np.full((rows, 2), np.nan)
        ahead = self.query(state, hp) if self.declared.query is not None else None
        return StateInternals(found["velocity"], ahead, found["scaling"])

    @contextlib.contextmanager
    def _calling(self, role: str, t: int | None) -> Iterator[None]:
        try:
            yield
        except Exception as e:
            raise PluginError(
                f"{self.home.where(e)}: {_exception(e)} (in {self._of(role, t)})"
            ) from e

    def _of(self, role: str, t: int | None) -> str:
        when = (
            "" if t is None else f", update {t}" if t else ", before the first update"
        )
        return f"{self.name}'s {role}{when}"

    def _fail(self, role: str, t: int | None, problem: str) -> PluginError:
        fn = getattr(self.declared, role)
        when = (
            "" if t is None else f" (update {t})" if t else " (before the first update)"
        )
        return PluginError(f"{self.home.at(fn)}: {self.name}'s {role} {problem}{when}")

    def _check_state(self, state: Any, role: str, t: int | None, rows: int) -> None:
        theta = getattr(state, "theta", None)
        if theta is None:
            raise self._fail(
                role,
                t,
                f"returned {_kind(state)}, not a state with the points "
                "'theta' (a NamedTuple with a field theta)",
            )
        self._check_points(theta, role, t, rows, "state.theta")

    def _check_points(
        self, points: Any, role: str, t: int | None, rows: int, what: str
    ) -> None:
        if not isinstance(points, np.ndarray) or points.dtype.kind not in "fiu":
            raise self._fail(
                role, t, f"returned {_kind(points)} as {what}, not a float array"
            )
        if points.shape != (rows, 2):
            raise self._fail(
                role,
                t,
                f"returned {what} of shape {points.shape}, not (R, 2) = ({rows}, 2)",
            )

    def _check_nan(self, grad: Array, state: Any, new: Any, t: int) -> None:
        """A NaN in θ that finite numbers made (not an overflow's infinity
        turned NaN, which is a diverging row) is the method's own error."""
        rows = len(new.theta)
        finite = np.isfinite(grad).reshape(rows, -1).all(axis=-1)
        for value in _arrays(state, rows):
            finite &= np.isfinite(value).all(axis=-1)
        for value in _arrays(new, rows):  # an infinity: an overflow, diverging
            finite &= ~np.isinf(value).any(axis=-1)
        bad = np.flatnonzero(finite & np.isnan(new.theta).any(axis=-1))
        if bad.size:
            raise self._fail(
                "update",
                t,
                f"returned NaN in state.theta (row {bad[0]}) from a finite "
                "gradient and state",
            )


def _arrays(state: Any, rows: int) -> list[Array]:
    """The state's float arrays of one row per row, flattened per row."""
    fields = state if isinstance(state, tuple) else (state.theta,)
    return [
        v.reshape(rows, -1)
        for v in fields
        if isinstance(v, np.ndarray)
        and v.ndim
        and len(v) == rows
        and v.dtype.kind == "f"
    ]


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    return "None" if value is None else f"a {type(value).__name__}"


def _exception(e: BaseException) -> str:
    """``Type: message`` on one line, cut short if long."""
    text = re.sub(r"\s*\n\s*", " ", str(e)).strip()
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 3] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
