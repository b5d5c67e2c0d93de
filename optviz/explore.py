"""The ``map:`` block of a config: many runs of one optimizer, as one picture.

A map steps one of the config's optimizers from a grid of starts (a
**basin map**: which known minimum each start reaches, and how soon) or with
a grid of two of its hyperparameters from the config's first start (a
**phase map**: how soon it reaches a minimum, or whether it diverges)::

    map: {optimizer: gd, grid: {x: [-5, 5, 512], y: [-5, 5, 512]}, radius: 0.05}
    map: {optimizer: gd+p, grid: {lr: [1.0e-4, 1, 64, log], momentum: [0, 0.99, 64]}}

Each axis is ``[min, max, count]``, with ``log`` for a geometric grid. The
runs keep no history (:mod:`optviz.optim.stream`); the config's
``iterations`` bound them. Parsed here, where the config is read, so that a
bad map is the usual one-line error with its key path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz.errors import ConfigError, join_path
from optviz.validate import (
    choice,
    integer,
    known_keys,
    list_of,
    mapping,
    number,
    show,
)

# Rows of one map at most: its state (θ and the method's moments) takes a few
# hundred bytes a row, so this bounds a map's memory at about a gigabyte.
MAX_MAP_ROWS = 4_194_304  # 2048 × 2048
# Rows × iterations at most: about the work of a 2048 × 2048 map of 2,500
# iterations (minutes, not hours, on one core).
MAX_MAP_WORK = 10_000_000_000
DEFAULT_COUNT = 256  # per axis, for a map the config does not describe
RADIUS = 0.05  # "reached": as in the summary table


@dataclass(frozen=True)
class Axis:
    """One axis of a map's grid: ``count`` values from ``low`` to ``high``."""

    key: str  # x or y (starts), or a hyperparameter's key
    low: float
    high: float
    count: int
    log: bool = False

    def values(self) -> np.ndarray:
        if self.log:
            return np.geomspace(self.low, self.high, self.count)
        return np.linspace(self.low, self.high, self.count)


@dataclass(frozen=True)
class MapSpec:
    """A validated ``map:`` block."""

    optimizer: int  # index into the config's optimizers
    x: Axis
    y: Axis
    radius: float = RADIUS

    @property
    def kind(self) -> str:
        """``basins`` (a grid of starts) or ``phase`` (of hyperparameters)."""
        return "basins" if self.x.key == "x" else "phase"

    @property
    def rows(self) -> int:
        return self.x.count * self.y.count


def basins(
    optimizer: int,
    xlim: Sequence[float],
    ylim: Sequence[float],
    count: int = DEFAULT_COUNT,
) -> MapSpec:
    """The basin map of ``optimizer`` over the window, ``count`` per axis:
    what ``optviz map`` draws for a config without a ``map:`` block."""
    return MapSpec(
        optimizer,
        Axis("x", float(xlim[0]), float(xlim[1]), count),
        Axis("y", float(ylim[0]), float(ylim[1]), count),
    )


def parse_map(
    value: Any,
    optimizers: Sequence[Any],
    iterations: int,
    path: str = "map",
) -> MapSpec:
    """``map:`` against the config's ``optimizers`` (their labels, methods
    and hyperparameters) and ``iterations``."""
    entry = mapping(value, path, "a map: {optimizer, grid, radius}")
    known_keys(entry, ("optimizer", "grid", "radius"), path)
    index = _chosen(entry, optimizers, path, "map")
    spec = optimizers[index]
    method = spec.resolved()
    at = join_path(path, "grid")
    if "grid" not in entry:
        raise ConfigError(
            "missing required key 'grid': {x: [min, max, count], y: [min, max, "
            "count]} for starts, or two hyperparameters such as {lr: [1e-4, 1, 64, "
            "log], momentum: [0, 0.99, 64]}",
            path=path,
        )
    grid = mapping(entry["grid"], at, "a grid of two axes")
    keys = list(grid)
    numeric = [h.key for h in method.hyperparameters if not (h.boolean or h.choices)]
    if len(keys) != 2:
        raise ConfigError(
            f"needs two axes, x and y (a map of starts) or two of {spec.method}'s "
            f"hyperparameters ({', '.join(numeric)}); got {len(keys)}",
            path=at,
        )
    if set(keys) == {"x", "y"}:
        keys = ["x", "y"]
    elif "x" in keys or "y" in keys:
        raise ConfigError(
            "a grid is of starts (x and y) or of two hyperparameters, not both",
            path=at,
        )
    else:
        for key in keys:
            if key not in numeric:
                raise ConfigError(
                    f"{show(key)} is not a numeric hyperparameter of {spec.method}; "
                    f"supported values are {', '.join(numeric)} (or x and y)",
                    path=join_path(at, str(key)),
                )
    axes = [_axis(grid[k], join_path(at, str(k)), str(k)) for k in keys]
    if axes[0].key != "x":
        for axis in axes:
            h = next(h for h in method.hyperparameters if h.key == axis.key)
            for end in (axis.low, axis.high):
                problem = h.check(end)
                if problem:
                    raise ConfigError(problem, path=join_path(at, axis.key))
    radius = number(entry.get("radius", RADIUS), join_path(path, "radius"), 0.0)
    if not radius > 0:
        raise ConfigError("must be > 0", path=join_path(path, "radius"))
    made = MapSpec(index, axes[0], axes[1], radius)
    check_size(made.rows, iterations, path)
    return made


def _chosen(
    entry: Mapping[str, Any], optimizers: Sequence[Any], path: str, verb: str
) -> int:
    """The index of the optimizer a block names by its label (``optimizer``;
    it may be left out when there is only one)."""
    labels = tuple(o.label for o in optimizers)
    if "optimizer" in entry:
        label = choice(entry["optimizer"], join_path(path, "optimizer"), labels)
    elif len(labels) == 1:
        label = labels[0]
    else:
        raise ConfigError(
            f"missing required key 'optimizer': the label of the optimizer to "
            f"{verb}, one of " + ", ".join(repr(x) for x in labels),
            path=path,
        )
    return labels.index(label)


def check_size(rows: int, iterations: int, path: str) -> None:
    """Refuse a map too large for memory or time, before anything runs."""
    if rows > MAX_MAP_ROWS:
        raise ConfigError(
            f"{rows:,} grid points are more than the {MAX_MAP_ROWS:,} a map may have "
            "(about a gigabyte of state); use fewer points per axis",
            path=path,
        )
    if rows * iterations > MAX_MAP_WORK:
        raise ConfigError(
            f"{rows:,} grid points × {iterations:,} iterations = "
            f"{rows * iterations:,} updates, more than the {MAX_MAP_WORK:,} a map "
            "may take (hours); use fewer points or iterations",
            path=path,
        )


def _axis(value: Any, path: str, key: str) -> Axis:
    items = list_of(value, path, "[min, max, count] or [min, max, count, log]")
    if len(items) not in (3, 4) or (len(items) == 4 and items[3] != "log"):
        raise ConfigError(
            f"must be [min, max, count] or [min, max, count, log]; got {show(value)}",
            path=path,
        )
    low = number(items[0], f"{path}[0]")
    high = number(items[1], f"{path}[1]")
    count = integer(items[2], f"{path}[2]", 2, 2048)
    log = len(items) == 4
    if not math.isfinite(low) or not math.isfinite(high) or not low < high:
        raise ConfigError(
            f"needs min < max, both finite; got {show(items[0])} and {show(items[1])}",
            path=path,
        )
    if log and not low > 0:
        raise ConfigError(
            f"a log axis needs min > 0; got {show(items[0])}", path=f"{path}[0]"
        )
    return Axis(key, float(low), float(high), count, log)


def grid_rows(
    spec: MapSpec,
    optimizers: Sequence[Any],
    starts: Sequence[Sequence[float]],
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """The rows of ``spec``: each row's ``hp`` and start, and its (x, y) on
    the map's axes; rows go along x first (row ``i * nx + j`` is
    ``y[i], x[j]``)."""
    spec_o = optimizers[spec.optimizer]
    method = spec_o.resolved()
    xs, ys = spec.x.values(), spec.y.values()
    gx, gy = np.meshgrid(xs, ys)
    where = np.column_stack([gx.ravel(), gy.ravel()])
    if spec.kind == "basins":
        hp = method.build(spec_o.params)
        return [hp] * len(where), where, where
    start = np.asarray(starts[0], dtype=float)
    rules = []
    for a, b in where:
        params: Mapping[str, Any] = {**spec_o.params, spec.x.key: a, spec.y.key: b}
        try:
            rules.append(method.build(params))
        except ValueError as e:  # a combination the method refuses
            raise ConfigError(str(e), path="map.grid") from None
    return rules, np.tile(start, (len(where), 1)), where


# ---------------------------------------------------------------------------
# sweeps

MAX_VARIANTS = 256  # rows of one sweep, before starts
MAX_CELLS = 16  # a grid of cells beyond this is too small to read
# Variants of one sweep's html player: each carries its runs and its legend's
# picture (about 36 KB for a lecture path of 10,000 iterations), and a slider
# of more positions than this is hard to set to one.
MAX_PLAYER_VARIANTS = 32
SHOWS = ("cells", "overlay", "loss")


@dataclass(frozen=True)
class Variant:
    """One setting of a sweep: the swept keys' values, and its start (an
    index into the config's starts; None: every start)."""

    values: tuple[tuple[str, float], ...]
    start: int | None = None


@dataclass(frozen=True)
class SweepSpec:
    """A validated ``sweep:`` block. The config's optimizer ``optimizer``
    is replaced by one optimizer per variant (``first`` to ``first +
    len(variants) - 1`` of the expanded config's optimizers)."""

    optimizer: str  # the swept optimizer's label
    keys: tuple[str, ...]  # the swept hyperparameters (and "starts")
    variants: tuple[Variant, ...]
    combine: str = "cross"
    show: tuple[str, ...] = SHOWS
    first: int = 0
    symbols: tuple[str, ...] = ()  # each key as the legend writes it

    @property
    def coloured_by(self) -> str | None:
        """The one numeric key the overlay colours by (None: several)."""
        numeric = [k for k in self.keys if k != "starts"]
        return numeric[0] if len(numeric) == 1 else None


def parse_sweep(
    value: Any,
    optimizers: Sequence[Any],
    starts: tuple[tuple[float, float], ...],
    path: str = "sweep",
) -> tuple[SweepSpec, tuple[Any, ...], tuple[tuple[float, float], ...]]:
    """``sweep:`` against the config's optimizers and starts: the spec, the
    expanded optimizers (the swept one replaced by its variants, in place)
    and the starts (the swept ones, if ``starts`` is swept)."""
    import dataclasses as dc

    entry = mapping(value, path, "a sweep: {optimizer, KEY: values, ..., combine}")
    index = _chosen(entry, optimizers, path, "sweep")
    label = optimizers[index].label
    spec = optimizers[index]
    method = spec.resolved()
    numeric = {h.key: h for h in method.hyperparameters if not (h.boolean or h.choices)}
    keys = [k for k in entry if k not in ("optimizer", "combine", "show")]
    for k in keys:
        if k != "starts" and k not in numeric:
            raise ConfigError(
                f"unknown key {show(k)}: a sweep takes 'optimizer', 'combine', "
                f"'show', 'starts' and {spec.method}'s numeric hyperparameters "
                f"({', '.join(numeric)})",
                path=join_path(path, str(k)),
            )
    if not keys:
        raise ConfigError(
            f"sweeps nothing: give lists or ranges for some of {spec.method}'s "
            f"hyperparameters ({', '.join(numeric)}) or for 'starts'",
            path=path,
        )
    combine = choice(entry.get("combine", "cross"), join_path(path, "combine"),
                     ("cross", "zip"))  # fmt: skip
    shown: tuple[str, ...] = SHOWS
    if "show" in entry:
        items = list_of(entry["show"], join_path(path, "show"), "a list of outputs")
        shown = tuple(
            dict.fromkeys(
                choice(v, f"{join_path(path, 'show')}[{i}]", SHOWS)
                for i, v in enumerate(items)
            )
        )
    columns: list[list[Any]] = []
    swept_starts: tuple[tuple[float, float], ...] = ()
    for k in keys:
        at = join_path(path, str(k))
        if k == "starts":
            swept_starts = _sweep_starts(entry[k], at)
            columns.append(list(range(len(swept_starts))))
            continue
        values = _values(entry[k], at)
        h = numeric[k]
        for v in values:
            problem = h.check(v)
            if problem:
                raise ConfigError(problem, path=at)
        columns.append(values)
    if combine == "zip":
        sizes = {len(c) for c in columns}
        if len(sizes) > 1:
            raise ConfigError(
                "combine: zip needs lists of one length; got "
                + ", ".join(f"{k}: {len(c)}" for k, c in zip(keys, columns)),
                path=path,
            )
        rows = list(zip(*columns))
    else:
        rows = [()]
        for c in columns:
            rows = [(*r, v) for r in rows for v in c]
    if len(rows) > MAX_VARIANTS:
        raise ConfigError(
            f"{len(rows):,} variants are more than the {MAX_VARIANTS} a sweep may "
            "have; use fewer values",
            path=path,
        )
    symbols = tuple("from" if k == "starts" else (numeric[k].symbol or k) for k in keys)
    variants = []
    expanded = []
    for row in rows:
        pairs = tuple((k, v) for k, v in zip(keys, row) if k != "starts")
        start = next((int(v) for k, v in zip(keys, row) if k == "starts"), None)
        variants.append(Variant(pairs, start))
        params = {**spec.params, **dict(pairs)}
        try:
            method.build(params)
        except ValueError as e:
            raise ConfigError(str(e), path=path) from None
        full = {**method.defaults(), **params}
        ordered = tuple((h.key, full[h.key]) for h in method.hyperparameters)
        named = dict(zip(keys, symbols))
        words = [f"{named[k]}={v:g}" for k, v in pairs]
        if start is not None:
            x, y = swept_starts[start]
            words.append(f"from ({x:g}, {y:g})")
        expanded.append(
            dc.replace(
                spec,
                label=f"{label} {', '.join(words)}",
                hyperparameters=ordered,
                color=None,
            )
        )
    made = SweepSpec(label, tuple(keys), tuple(variants), combine, shown, index,
                     symbols)  # fmt: skip
    optimizers = (*optimizers[:index], *expanded, *optimizers[index + 1 :])
    return made, tuple(optimizers), swept_starts or starts


def _values(value: Any, path: str) -> list[float]:
    """A list of numbers, or ``{geomspace: [a, b, n]}`` / ``{linspace: ...}``."""
    if isinstance(value, Mapping):
        known_keys(value, ("geomspace", "linspace"), path)
        if len(value) != 1:
            raise ConfigError(
                "give one of {geomspace: [min, max, count]} or {linspace: [min, "
                "max, count]}",
                path=path,
            )
        ((how, spec),) = value.items()
        items = list_of(spec, join_path(path, how), "[min, max, count]")
        if len(items) != 3:
            raise ConfigError(
                f"must be [min, max, count]; got {show(spec)}",
                path=join_path(path, how),
            )
        low = number(items[0], f"{join_path(path, how)}[0]")
        high = number(items[1], f"{join_path(path, how)}[1]")
        count = integer(items[2], f"{join_path(path, how)}[2]", 1, MAX_VARIANTS)
        if how == "geomspace" and not (low > 0 and high > 0):
            raise ConfigError(
                "geomspace needs min and max > 0", path=join_path(path, how)
            )
        made = (np.geomspace if how == "geomspace" else np.linspace)(low, high, count)
        return [float(v) for v in made]
    items = list_of(value, path, "a list of values, or {geomspace: [min, max, count]}")
    if not items:
        raise ConfigError("needs at least one value", path=path)
    return [number(v, f"{path}[{i}]") for i, v in enumerate(items)]


def _sweep_starts(value: Any, path: str) -> tuple[tuple[float, float], ...]:
    items = list_of(value, path, "a list of [x, y] starts")
    if not items:
        raise ConfigError("needs at least one start", path=path)
    out = []
    for i, item in enumerate(items):
        point = list_of(item, f"{path}[{i}]", "[x, y]")
        if len(point) != 2:
            raise ConfigError(f"must be [x, y]; got {show(item)}", path=f"{path}[{i}]")
        out.append(
            (number(point[0], f"{path}[{i}][0]"), number(point[1], f"{path}[{i}][1]"))
        )
    return tuple(out)


def check_player(sweep: SweepSpec, path: str = "sweep") -> None:
    """Refuse a sweep too large for one player page."""
    count = len(sweep.variants)
    if count > MAX_PLAYER_VARIANTS:
        raise ConfigError(
            f"the html player shows at most {MAX_PLAYER_VARIANTS} variants of a "
            f"sweep; this one has {count}: sweep fewer values, or drop html",
            path=path,
        )
