"""Learning-rate schedules: ε per update, for every first-order method, as data.

In a config the learning rate ``lr`` of any first-order method is a number or
a mapping that names a schedule and its settings::

    lr: {schedule: cosine, from: 0.1, to: 0.001, steps: 2000, warmup: 100}

Each schedule is one :class:`Kind` in the registry :data:`LR_SCHEDULES`: its
settings (validated like hyperparameters, with the same one-line errors) and
its rule, a function of ``k``, the number of updates before this one (the
first update uses ``k = 0``, as ``torch.optim.lr_scheduler`` does when
``scheduler.step()`` follows ``optimizer.step()``). An :class:`LRSchedule`
is one schedule with its settings; it is a :class:`~optviz.optim.protocol.Rate`
(``at(t)``, ``values(first, count)``), which every first-order method takes
as its ``lr``.

Every schedule but ``warmup`` also takes a linear warm-up, ``warmup: W``
updates rising from ``warmup_from`` (default 0) to the schedule's start,
after which the schedule runs as it would from its first update. ``linear``
and ``cosine`` count their ``steps`` from the first update, warm-up included
(as the ``*_with_warmup`` schedules of Hugging Face transformers and optax's
``warmup_cosine_decay_schedule`` do): they reach ``to`` at ``k = steps``.

The values are computed per update in Python floats, the operations in the
order of ``torch.optim.lr_scheduler``'s closed forms, so that the same
schedule gives the same numbers on every machine (NumPy's vectorized ``cos``
and ``power`` may differ in the last bit between CPUs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz.optim.methods import Hyperparameter, HyperparameterError
from optviz.registry import Registry

Array = np.ndarray

Settings = Mapping[str, float]


@dataclass(frozen=True)
class Kind:
    """One schedule: its name in YAML, its settings and its rule."""

    name: str
    summary: str  # the rule, as ``optviz list methods`` prints it
    settings: tuple[Hyperparameter, ...]  # besides the warm-up's
    # rate(settings, k) -> ε for k ≥ 0 updates after the warm-up (every
    # setting given, the warm-up's too)
    rate: Callable[[Settings, int], float]
    torch: str = ""  # the torch.optim.lr_scheduler that gives the same values
    warmup: bool = True  # takes the warm-up settings
    # check(settings) -> (key, reason) or None, for what one range cannot say
    check: Callable[[Settings], tuple[str, str] | None] | None = None

    def all_settings(self) -> tuple[Hyperparameter, ...]:
        return self.settings + (WARMUP if self.warmup else ())


LR_SCHEDULES: Registry[Kind] = Registry("learning-rate schedule")
"""Every schedule by name, in the order ``optviz list methods`` shows them."""


def register(kind: Kind) -> Kind:
    """Add a schedule; its name must be new."""
    return LR_SCHEDULES.add(kind.name, kind)


@dataclass(frozen=True)
class LRSchedule:
    """A schedule with its settings: ε for each update (a ``Rate``)."""

    kind: str  # a name in LR_SCHEDULES
    settings: tuple[tuple[str, float], ...]  # (key, value); missing: defaults

    def _values(self) -> dict[str, float]:
        """Every setting's value, the defaults filled in."""
        given = dict(self.settings)
        values = {}
        for h in LR_SCHEDULES.lookup(self.kind).all_settings():
            value = given.get(h.key, h.default)
            if value is None:
                raise ValueError(f"the {self.kind} schedule needs {h.key!r}")
            values[h.key] = float(value)
        return values

    def at(self, t: int) -> float:
        """ε for update ``t`` (from 1)."""
        return float(self.values(t, 1)[0])

    def values(self, first: int, count: int) -> Array:
        """ε for updates ``first`` .. ``first + count - 1``, (count,) float64."""
        kind = LR_SCHEDULES.lookup(self.kind)
        s = self._values()
        warmup = int(s.get("warmup") or 0)
        start = kind.rate(s, 0)
        out = np.empty(count)
        for i in range(count):
            k = first - 1 + i
            if k < warmup:
                out[i] = _ramp(s["warmup_from"], start, warmup, k)
            else:
                out[i] = kind.rate(s, k - warmup)
        return out

    def __str__(self) -> str:
        """``cosine(from=0.1, to=0.001, steps=2000, warmup=100)``: the given
        settings, as the legend and ``optviz list`` show them."""
        kind = LR_SCHEDULES.lookup(self.kind)
        given = dict(self.settings)
        shown = [
            f"{h.key}={given[h.key]:g}"
            for h in kind.all_settings()
            if h.key in given and given[h.key] != h.default
        ]
        return f"{self.kind}({', '.join(shown)})"

    def __format__(self, spec: str) -> str:
        """As :meth:`__str__` whatever ``spec``: a schedule stands where a
        number would, and is written where a number is (``f"{lr:g}"``)."""
        return str(self)


def make(name: str, settings: Mapping[str, Any]) -> LRSchedule:
    """The schedule ``name`` with ``settings`` (numbers, defaults filled in).

    Raises :class:`~optviz.optim.methods.HyperparameterError` naming the
    unknown schedule or the first bad, missing or unknown setting (its
    ``key``); the config layer adds the key path.
    """
    if name not in LR_SCHEDULES:
        valid = ", ".join(repr(n) for n in LR_SCHEDULES)
        raise HyperparameterError(
            f"no learning-rate schedule {name!r}; supported are {valid}", "schedule"
        )
    kind = LR_SCHEDULES[name]
    known = {h.key: h for h in kind.all_settings()}
    for key in settings:
        if key not in known:
            raise HyperparameterError(
                f"unknown key {key!r} for the {name} schedule; allowed keys are "
                + ", ".join(repr(k) for k in known),
                key,
            )
    values: dict[str, float] = {}
    for h in kind.all_settings():
        if h.key not in settings:
            if h.default is None:
                raise HyperparameterError(
                    f"missing required key {h.key!r} ({h.help}) for the {name} schedule"
                )
            values[h.key] = float(h.default)
            continue
        problem = h.check(settings[h.key])
        if problem:
            raise HyperparameterError(problem, h.key)
        values[h.key] = h.convert(settings[h.key])
    for check in (kind.check, _steps_after_warmup if kind.warmup else None):
        found = check(values) if check is not None else None
        if found is not None:
            raise HyperparameterError(found[1], found[0])
    return LRSchedule(name, tuple(values.items()))


def _ramp(start: float, end: float, steps: float, k: int) -> float:
    """The lecture's linear decay (1 − k/τ)·start + (k/τ)·end for k ≤ τ, then
    end: the one straight line of ``linear``, ``warmup`` and every warm-up."""
    frac = min(k, steps) / steps
    return (1.0 - frac) * start + frac * end


def _steps_after_warmup(s: Settings) -> tuple[str, str] | None:
    if "steps" in s and s["warmup"] and not s["steps"] > s["warmup"]:
        return ("steps", f"steps counts the warm-up too: must be more than "
                f"warmup ({s['warmup']:g}); got {s['steps']:g}")  # fmt: skip
    return None


# --- the settings ------------------------------------------------------------


def _lr(key: str, help: str, default: float | None = None, zero: bool = False):
    return Hyperparameter(key, "", help, default=default, low=0.0,
                          low_inclusive=zero)  # fmt: skip


def _count(key: str, help: str, default: float | None = None, low: float = 1.0):
    return Hyperparameter(key, "", help, default=default, low=low, integer=True)


FROM = _lr("from", "the learning rate of the first update")
WARMUP = (
    _count("warmup", "updates of linear warm-up before the schedule (0: none)",
           default=0.0, low=0.0),
    _lr("warmup_from", "the learning rate the warm-up starts at", default=0.0,
        zero=True),
)  # fmt: skip
GAMMA = Hyperparameter("gamma", "γ", "factor per step", low=0.0,
                       low_inclusive=False)  # fmt: skip


def _linear(s: Settings, k: int) -> float:
    steps = s["steps"] - s.get("warmup", 0.0)
    return _ramp(s["from"], s["to"], steps, k)


def _cosine(s: Settings, k: int) -> float:
    steps = s["steps"] - s["warmup"]
    if k >= steps:
        return s["to"]
    # torch's CosineAnnealingLR closed form, operation for operation
    return s["to"] + (s["from"] - s["to"]) * (1 + math.cos(math.pi * k / steps)) / 2


def _cyclic(s: Settings, k: int) -> float:
    # torch's CyclicLR (mode triangular), operation for operation
    up = float(s["up"])
    total = up + (float(s["down"]) or up)
    ratio = up / total
    cycle = math.floor(1 + k / total)
    x = 1.0 + k / total - cycle
    scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    return s["from"] + (s["to"] - s["from"]) * scale


register(Kind(
    "constant", "ε_k = from", (FROM,), lambda s, k: s["from"],
    torch="no scheduler",
))  # fmt: skip
register(Kind(
    "linear",
    "ε_k = (1 − k/τ)·from + (k/τ)·to for k ≤ τ = steps, then to (the lecture's "
    "decay; gd's lr_final/decay_steps)",
    (FROM, _lr("to", "the learning rate from update steps on", zero=True),
     _count("steps", "updates until to (warm-up included)")),
    _linear,
    torch="LinearLR(start_factor=1, end_factor=to/from, total_iters=steps)",
))  # fmt: skip
register(Kind(
    "step",
    "ε_k = from·γ^⌊k/every⌋",
    (FROM, Hyperparameter("gamma", "γ", "factor every `every` updates",
                          default=0.1, low=0.0, low_inclusive=False),
     _count("every", "updates between two steps down")),
    lambda s, k: s["from"] * s["gamma"] ** (k // int(s["every"])),
    torch="StepLR(step_size=every, gamma=gamma)",
))  # fmt: skip
register(Kind(
    "exponential",
    "ε_k = from·γ^k",
    (FROM, GAMMA),
    lambda s, k: s["from"] * s["gamma"] ** k,
    torch="ExponentialLR(gamma=gamma)",
))  # fmt: skip
register(Kind(
    "cosine",
    "ε_k = to + (from − to)(1 + cos(πk/τ))/2 for k ≤ τ = steps, then to",
    (FROM, _lr("to", "the learning rate from update steps on", default=0.0,
               zero=True),
     _count("steps", "updates until to (warm-up included)")),
    _cosine,
    torch="CosineAnnealingLR(T_max=steps, eta_min=to) for k ≤ steps (torch's "
    "then rises again)",
))  # fmt: skip
register(Kind(
    "warmup",
    "ε_k = (1 − k/τ)·from + (k/τ)·to for k ≤ τ = steps, then to: a linear "
    "warm-up, then constant",
    (_lr("from", "the learning rate of the first update", default=0.0, zero=True),
     _lr("to", "the learning rate after the warm-up"),
     _count("steps", "updates of the warm-up")),
    lambda s, k: _ramp(s["from"], s["to"], s["steps"], k),
    torch="LinearLR(start_factor=from/to, end_factor=1, total_iters=steps), lr=to",
    warmup=False,
))  # fmt: skip
register(Kind(
    "cyclic",
    "triangular: ε from `from` to `to` in `up` updates, back in `down`, again",
    (FROM, _lr("to", "the learning rate at the other end of the cycle", zero=True),
     _count("up", "updates from `from` to `to`"),
     _count("down", "updates back (0: as many as up)", default=0.0, low=0.0)),
    _cyclic,
    torch="CyclicLR(base_lr=from, max_lr=to, step_size_up=up, step_size_down="
    "down, cycle_momentum=False)",
))  # fmt: skip
