"""The registry of methods, and the lecture's first-order family as one rule.

Every method is registered here under the name users write in YAML, with its
hyperparameters, in one :func:`register` call. A method is a pair of pure
functions over batched ``(R, 2)`` rows, ``init(hp, rows) -> state`` and
``update(grad, state, t, hp) -> state`` (the protocol of
:mod:`optviz.optim.protocol`), ``hp`` its validated hyperparameters as one
frozen, typed value that :meth:`Method.build` makes from the YAML.

The lecture's first-order family (gd, momentum, nesterov, adagrad, rmsprop,
adam) is one implementation of that protocol, fused for speed: each of its
methods is a factory that turns the hyperparameters into the coefficients
(:class:`Rule`) of one rule that covers the whole family (see :func:`update`),
so all its optimizers and all starts are stepped together as the rows of one
``(M, 2)`` float64 array, with one gradient call per iteration. The rule is
pure functions over a batch of rows, ``c`` the stacked coefficients:

- ``init(theta0) -> State``
- ``query(state, c) -> points``: where the gradient is taken (θ, or θ + αv for
  Nesterov momentum);
- ``update(grad, state, c, lr, scale2) -> State``: the gradient at
  ``query(state, c)`` in, the next state out; ``lr`` and ``scale2`` are the
  coefficients that change with the iteration (learning-rate schedules, bias
  corrections), from :func:`schedule`.

Second-order methods (newton, bfgs, lbfgs, cg) are another implementation;
they register here too, and their steps live in
:mod:`optviz.optim.second_order`. The methods beyond the lecture (sgd,
adam_torch, adamw, nadam, radam, adamax, adadelta, lion) are function pairs
in :mod:`optviz.optim.modern`, registered when this module is imported.

The learning rate ``lr`` of every first-order method may be a schedule
(:mod:`optviz.optim.lr_schedules`, any :class:`~optviz.optim.protocol.Rate`):
the fused rule reads it into its per-update step sizes, and a function pair
is stepped with ``hp.lr`` set to the update's value (:class:`Scheduled`).

Symbols are the lecture's: ε learning rate (``lr``), α momentum (``momentum``),
β decay (``beta``), ν small constant (``eps``, added *inside* the square root).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from optviz.optim import internals, second_order
from optviz.optim.protocol import Family, Rate
from optviz.optim.second_order import SecondOrder

Array = np.ndarray


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter as users write it in YAML, with its allowed range."""

    key: str
    symbol: str
    help: str
    default: float | bool | str | None = None  # None: the user must give it
    low: float = -math.inf
    high: float = math.inf
    low_inclusive: bool = True
    high_inclusive: bool = True
    boolean: bool = False  # true/false in YAML
    integer: bool = False  # a whole number
    choices: tuple[str, ...] = ()  # one of these words
    # a number or a Rate (a value per update: a learning-rate schedule)
    schedulable: bool = False

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``> 0`` or ``in [0, 1)``."""
        if self.schedulable:
            return self._range() + ", or a schedule {schedule: NAME, ...}"
        return self._range()

    def _range(self) -> str:
        if self.boolean:
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if math.isinf(self.high):
            return f"{'>=' if self.low_inclusive else '>'} {_num(self.low)}"
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"in {left}{_num(self.low)}, {_num(self.high)}{right}"

    def convert(self, value):
        """The checked value as the factory takes it."""
        if self.boolean or self.choices or isinstance(value, Rate):
            return value
        return int(value) if self.integer else float(value)

    def check(self, value: Any) -> str | None:
        """None if ``value`` is allowed, else the reason in one sentence."""
        if isinstance(value, Rate):
            if self.schedulable:
                return None
            return f"{self.key} takes a number, not a schedule"
        if self.boolean:
            if isinstance(value, bool):
                return None
            return f"{self.key} must be true or false; got {value!r}"
        if self.choices:
            if value in self.choices:
                return None
            return f"{self.key} must be {self._range()}; got {value!r}"
        if isinstance(value, bool):
            return f"{self.key} must be a number, not true/false"
        value = float(value)
        if self.integer and math.isfinite(value) and value != int(value):
            return f"{self.key} must be a whole number; got {_num(value)}"
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        if math.isfinite(value) and above and below:
            return None
        return f"{self.key} must be {self._range()}; got {_num(value)}"


def _num(x: float) -> str:
    return f"{x:g}"


class HyperparameterError(ValueError):
    """A bad or missing hyperparameter; ``key`` names it (None: the entry)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Method:
    """A registered optimizer: its name in YAML, its hyperparameters, and the
    factory that turns their checked values into the ``hp`` its family's
    functions take."""

    name: str
    summary: str
    hyperparameters: tuple[Hyperparameter, ...]
    factory: Callable[..., Any]
    # check(values) -> (key, reason) or None: what no single range can say
    # (sgd's nesterov needs a momentum); values are every hyperparameter's
    check: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None

    def defaults(self) -> dict[str, float | bool | str]:
        return {h.key: h.default for h in self.hyperparameters if h.default is not None}

    def build(self, params: Mapping[str, Any]) -> Any:
        """Validate ``params`` (defaults filled in) and build the optimizer's
        ``hp`` (its :class:`~optviz.optim.protocol.Family` is
        :func:`family_of` it).

        A schedulable hyperparameter (``lr``) may be a
        :class:`~optviz.optim.protocol.Rate`: the factory is given its value
        for the first update, and the ``hp`` it returns follows the rate.

        Raises :class:`HyperparameterError` (a ``ValueError``) naming the first
        bad or missing hyperparameter; the config layer adds the key path.
        """
        known = {h.key: h for h in self.hyperparameters}
        for key in params:
            if key not in known:
                raise HyperparameterError(
                    f"{self.name} has no hyperparameter {key!r}", key
                )
        values = {**self.defaults(), **params}
        for h in self.hyperparameters:
            if h.key not in values:
                raise HyperparameterError(
                    f"{self.name} needs {h.key} ({h.symbol}, {h.help})"
                )
            problem = h.check(values[h.key])
            if problem:
                raise HyperparameterError(problem, h.key)
        if self.check is not None:
            found = self.check(values)
            if found is not None:
                raise HyperparameterError(found[1], found[0])
        converted = {h.key: h.convert(values[h.key]) for h in self.hyperparameters}
        rates = {k: v for k, v in converted.items() if isinstance(v, Rate)}
        first = {k: v.at(1) if isinstance(v, Rate) else v for k, v in converted.items()}
        hp = self.factory(**first)
        return _follow(self.name, hp, rates) if rates else hp


METHODS: dict[str, Method] = {}
# Keys an optimizer's entry in a config has whatever its method: no
# hyperparameter may take one of these names.
ENTRY_KEYS = (
    "label", "method", "color", "batch_size", "clip_norm", "noise", "internals",
)  # fmt: skip
# The family that steps an ``hp``, by the type of the ``hp``.
FAMILIES: dict[type, Family] = {}


def family_of(hp: Any) -> Family:
    """The :class:`~optviz.optim.protocol.Family` that steps ``hp``'s rows."""
    try:
        return FAMILIES[type(hp)]
    except KeyError:
        raise TypeError(f"{type(hp).__name__} is not a registered method's "
                        "hyperparameters") from None  # fmt: skip


def register(
    name: str,
    *hyperparameters: Hyperparameter,
    init: Callable[[Any, np.ndarray], Any] | None = None,
    update: Callable[[np.ndarray, Any, int, Any], Any] | None = None,
    query: Callable[[Any, Any], np.ndarray] | None = None,
    summary: str | None = None,
    check: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None,
    kinds: Callable[[Any], frozenset[str]] | None = None,
    internals: Callable[[Any, int, Any], Any] | None = None,
):
    """Add a method to :data:`METHODS` under ``name``.

    With ``init`` and ``update`` (and, for a look-ahead, ``query``), the
    method is that function pair (see :mod:`optviz.optim.protocol`); its
    ``hp`` is a frozen dataclass with one typed field per hyperparameter, and
    ``summary`` (default: the first line of ``update``'s docstring) is what
    ``optviz list`` prints. ``check(values)`` may refuse a combination of
    values (every hyperparameter's, defaults filled in) with ``(key, reason)``.
    ``kinds`` and ``internals`` say what of the internals a video can draw the
    pair's state holds (:class:`~optviz.optim.protocol.Family`).
    Returns the :class:`Method`.

    Without them, ``register`` decorates a factory of one of the package's
    families, returning a :class:`Rule` (fused first-order) or a
    :class:`SecondOrder`; the factory's docstring gives the summary.
    """
    if name in METHODS:
        raise ValueError(f"a method named {name!r} is registered already")
    keys = [h.key for h in hyperparameters]
    for key in keys:
        if not key.isidentifier() or keys.count(key) > 1:
            raise ValueError(f"{name}: {key!r} must be a distinct Python name")
        if key in ENTRY_KEYS:
            raise ValueError(
                f"{name}: {key!r} is a key of every optimizer entry; name the "
                "hyperparameter otherwise (taken: " + ", ".join(ENTRY_KEYS) + ")"
            )

    def add(factory: Callable[..., Any], doc: str | None) -> Method:
        text = summary or (doc or "").strip().splitlines()[0]
        METHODS[name] = method = Method(name, text, hyperparameters, factory, check)
        return method

    if init is None and update is None:

        def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
            add(factory, factory.__doc__)
            return factory

        return decorate
    if init is None or update is None:
        raise ValueError(f"{name}: a method needs both init and update")
    hp = _hyperparameter_type(name, hyperparameters)
    if (kinds is None) != (internals is None):
        raise ValueError(f"{name}: a method's internals need both kinds and internals")
    FAMILIES[hp] = Family(init, update, query, kinds=kinds, internals=internals)
    return add(hp, update.__doc__)


def _hyperparameter_type(name: str, hyperparameters: Sequence[Hyperparameter]):
    """A frozen dataclass with one typed field per hyperparameter."""

    def kind(h: Hyperparameter) -> type:
        if h.boolean:
            return bool
        if h.choices:
            return str
        return int if h.integer else float

    title = "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
    cls = dataclasses.make_dataclass(
        f"{title}Hyperparameters",
        [(h.key, kind(h)) for h in hyperparameters],
        frozen=True,
    )
    cls.__doc__ = f"The hyperparameters of {name}: " + (
        ", ".join(f"{h.key} ({h.symbol or h.help})" for h in hyperparameters) or "none"
    )
    return cls


LR = Hyperparameter(
    "lr", "ε", "learning rate", low=0.0, low_inclusive=False, schedulable=True
)
MOMENTUM = Hyperparameter(
    "momentum", "α", "momentum", default=0.9, low=0.0, high=1.0, high_inclusive=False
)
EPS = Hyperparameter(
    "eps",
    "ν",
    "small constant inside the square root",
    default=1e-7,
    low=0.0,
    low_inclusive=False,
)
BETA = Hyperparameter(
    "beta", "β", "decay of the squared-gradient average", default=0.99, low=0.0,
    high=1.0, high_inclusive=False,
)  # fmt: skip
BETA1 = Hyperparameter(
    "beta1", "β1", "decay of the first moment", default=0.9, low=0.0, high=1.0,
    high_inclusive=False,
)  # fmt: skip
BETA2 = Hyperparameter(
    "beta2", "β2", "decay of the second moment", default=0.999, low=0.0, high=1.0,
    high_inclusive=False,
)  # fmt: skip


class Rule(NamedTuple):
    """Coefficients of the family rule for one optimizer (scalars).

    The defaults leave every feature off, so that ``Rule(lr=ε)`` is plain
    gradient descent: no look-ahead, no momentum, no accumulator (ρ = κ = 0
    and ν = 1 make the denominator exactly 1), first moment m = g, no bias
    correction (b = 0 makes 1 − bᵗ exactly 1), a constant learning rate.
    """

    lr: float  # ε
    momentum: float = 0.0  # α in v ← αv − ε m̂/√(â + ν)
    lookahead: float = 0.0  # λ in g = ∇J(θ + λv)
    decay: float = 0.0  # ρ in a ← ρa + κ g⊙g
    gain: float = 0.0  # κ
    nu: float = 1.0  # ν
    beta1: float = 0.0  # β1 in m ← β1 m + (1 − β1) g
    correct1: float = 0.0  # b1 in m̂ = m / (1 − b1ᵗ)
    correct2: float = 0.0  # b2 in â = a / (1 − b2ᵗ)
    rate: Rate | None = None  # ε_t per update (a schedule); None: ε throughout


class Coefficients(NamedTuple):
    """:class:`Rule` fields stacked per row, each of shape (M, 1); the rows
    whose learning rate follows a schedule, with it, in ``rates``."""

    lr: Array
    momentum: Array
    lookahead: Array
    decay: Array
    gain: Array
    nu: Array
    beta1: Array
    correct1: Array
    correct2: Array
    gain1: Array  # 1 − β1, kept so that the loop need not recompute it
    rates: tuple[tuple[slice, Rate], ...] = ()  # rows → their ε_t


_NUMBERS = len(Rule._fields) - 1  # every field but ``rate``


def stack(rules: list[Rule], repeat: int = 1) -> Coefficients:
    """One row of coefficients per rule, each repeated ``repeat`` times (starts)."""
    table = np.array([r[:_NUMBERS] for r in rules], dtype=float)
    table = np.repeat(table.reshape(len(rules), _NUMBERS), repeat, axis=0)
    columns = [col[:, None] for col in table.T]
    gain1 = 1.0 - columns[Rule._fields.index("beta1")]
    rates = tuple(
        (slice(i * repeat, (i + 1) * repeat), r.rate)
        for i, r in enumerate(rules)
        if r.rate is not None
    )
    return Coefficients._make([*columns, gain1, rates])


class Schedule(NamedTuple):
    """The coefficients that change with the iteration, for a run of iterations."""

    lr: Array  # (K, M, 1) ε_t / (1 − b1ᵗ): the step size with m's bias correction
    scale2: Array  # (K, M, 1) 1 / (1 − b2ᵗ): a's bias correction


def schedule(c: Coefficients, first: int, count: int) -> Schedule:
    """The :class:`Schedule` of updates ``first`` .. ``first + count - 1`` (t ≥ 1).

    Computed a chunk at a time, vectorized, so that the loop pays one index
    instead of a power, a subtraction and a division per coefficient.
    """
    t = np.arange(first, first + count)[:, None, None]
    return Schedule(
        _row_rates(c, first, count) / (1.0 - _power(c.correct1, t)),
        1.0 / (1.0 - _power(c.correct2, t)),
    )


def _row_rates(c: Coefficients, first: int, count: int) -> Array:
    """ε_t of every row for updates ``first`` .. ``first + count - 1``,
    (count, M, 1): ε, or the row's schedule's value for the update."""
    lr = np.repeat(c.lr[None], count, axis=0)
    for rows, rate in c.rates:
        lr[:, rows] = rate.values(first, count)[:, None, None]
    return lr


def _power(base: Array, t: Array) -> Array:
    """base ** t for whole t ≥ 1 by square-and-multiply.

    NumPy's float power takes SIMD paths whose last bit differs between CPUs;
    multiplications are correctly rounded everywhere, so the same run gives
    the same numbers on every machine (snapshot tests rely on it).
    """
    result = np.ones(np.broadcast_shapes(base.shape, t.shape))
    square = base
    e = t
    while np.any(e):
        result = np.where(e & 1, result * square, result)
        square = square * square
        e = e >> 1
    return result


class State(NamedTuple):
    theta: Array  # (M, 2) the points
    v: Array  # (M, 2) velocity
    m: Array  # (M, 2) first moment
    a: Array  # (M, 2) squared-gradient accumulator


def init(theta: Array) -> State:
    zeros = np.zeros_like(theta)
    return State(theta, zeros, zeros, zeros)


def clip_by_norm(g: Array, clip: Array) -> Array:
    """Gradient clipping: rows with ‖g‖ > c scaled back to norm c (rows with
    c = 0 untouched). The lecture's remedy for exploding gradients."""
    norm = np.sqrt(np.sum(g * g, axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where((clip > 0) & (norm > clip), clip / norm, 1.0)
    return g * scale


def query(s: State, c: Coefficients) -> Array:
    """Where the gradient is taken: θ + λv."""
    return s.theta + c.lookahead * s.v


def update(g: Array, s: State, c: Coefficients, lr: Array, scale2: Array) -> State:
    """One step of every row; ``g`` is the gradient at ``query(s, c)``.

    The lecture's first-order family as one rule, t counting updates from 1:

        a ← ρ a + κ g⊙g
        m ← β1 m + (1 − β1) g
        v ← α v − ε/(1 − b1ᵗ) · m / √(a/(1 − b2ᵗ) + ν)
        θ ← θ + v

    ``lr`` and ``scale2`` are this update's rows of :func:`schedule`. Each
    method's factory below says which coefficients make it the lecture's rule;
    with the defaults of :class:`Rule` every line but the last two is the
    identity.
    """
    a = c.decay * s.a + c.gain * (g * g)
    m = c.beta1 * s.m + c.gain1 * g
    v = c.momentum * s.v - lr * m / np.sqrt(a * scale2 + c.nu)
    return State(s.theta + v, v, m, a)


def _fused_init(c: Coefficients, rows: Array) -> State:
    return init(rows)


def _fused_update(g: Array, s: State, t: int, c: Coefficients) -> State:
    """Update ``t`` of every row, its schedule computed for that update alone."""
    lr, scale2 = schedule(c, t, 1)
    return update(g, s, c, lr[0], scale2[0])


def _fused_run(
    grad, state: State, first: int, count: int, c: Coefficients, keep: bool = False
):
    """``count`` updates from ``first`` with the schedule computed once: the
    numbers of :func:`_fused_update`, at the speed the lecture's runs need.
    With ``keep``, also the internals after each update (those of
    :func:`_fused_internals`, each (count, M, 2)), in a loop of its own so
    that the lecture's stays as it was."""
    out = np.empty((count, len(state.theta), 2))
    lrs, scales = schedule(c, first, count)
    if keep:
        return _fused_run_keeping(grad, state, c, lrs, scales, out)
    for i in range(count):
        state = update(grad(query(state, c)), state, c, lrs[i], scales[i])
        out[i] = state.theta
    return state, out


def _fused_run_keeping(grad, state: State, c, lrs, scales, out):
    kept = internals.StateInternals(*(np.empty_like(out) for _ in range(3)))
    for i in range(len(out)):
        state = update(grad(query(state, c)), state, c, lrs[i], scales[i])
        out[i] = state.theta
        kept.velocity[i] = state.v  # type: ignore[index]
        kept.lookahead[i] = query(state, c)  # type: ignore[index]
        kept.scaling[i] = lrs[i] / np.sqrt(state.a * scales[i] + c.nu)  # type: ignore[index]
    return state, out, kept


def _stack(rules: Sequence[Rule], repeat: int) -> Coefficients:
    return stack(list(rules), repeat)


def _fused_kinds(rule: Rule) -> frozenset[str]:
    """What a rule's state holds of :data:`optviz.optim.internals.KINDS`: a
    velocity with momentum (for adam, whose v is its step, none), a
    look-ahead point with Nesterov's, a scaling where a accumulates g⊙g."""
    kinds = set(internals.EVERY_METHOD)
    if rule.momentum > 0:
        kinds.add("velocity")
    if rule.lookahead > 0:
        kinds.add("lookahead")
    if rule.gain > 0:
        kinds.add("scaling")
    return frozenset(kinds)


def _fused_internals(s: State, t: int, c: Coefficients) -> internals.StateInternals:
    """v, the look-ahead point θ + λv, and the factor update ``t`` applied
    per coordinate, ε_t/(1 − b1ᵗ) / √(a/(1 − b2ᵗ) + ν) (NaN before the
    first update), of every row."""
    if t < 1:
        scaling = np.full_like(s.theta, np.nan)
    else:
        lr, scale2 = schedule(c, t, 1)
        scaling = np.broadcast_to(lr[0] / np.sqrt(s.a * scale2[0] + c.nu), s.a.shape)
    return internals.StateInternals(s.v, query(s, c), scaling)


# The lecture's first-order family, as one implementation of the protocol: the
# rows of all its optimizers stepped together.
FUSED = FAMILIES[Rule] = Family(
    _fused_init,
    _fused_update,
    query,
    stack=_stack,
    run=_fused_run,
    kinds=_fused_kinds,
    internals=_fused_internals,
)


def internal_kinds(hp: Any) -> frozenset[str]:
    """The kinds of :data:`optviz.optim.internals.KINDS` the optimizer ``hp``
    can show: the gradient and the step always, the rest if its family's
    state holds them."""
    family = FAMILIES.get(type(hp))
    kinds = None if family is None else family.kinds
    return internals.EVERY_METHOD if kinds is None else kinds(hp)


# --- learning-rate schedules for every first-order method --------------------


@dataclass(frozen=True)
class Scheduled:
    """A function pair's ``hp`` whose schedulable hyperparameters follow their
    rates: at update t the pair is called with ``at(t)``, the ``hp`` with each
    of those hyperparameters set to its rate's value for t."""

    hp: Any  # the method's own hp (its values for the first update)
    rates: tuple[tuple[str, Rate], ...]  # (key, rate)

    def at(self, t: int) -> Any:
        return dataclasses.replace(
            self.hp, **{key: rate.at(t) for key, rate in self.rates}
        )


class ScheduledState(NamedTuple):
    theta: Array  # the method's own state's θ
    code: Array | None  # and its status code, if it has one
    inner: Any  # the method's own state
    t: int  # updates taken


def _scheduled_init(hp: Scheduled, rows: Array) -> ScheduledState:
    inner = family_of(hp.hp).init(hp.at(1), rows)
    return ScheduledState(inner.theta, getattr(inner, "code", None), inner, 0)


def _scheduled_query(s: ScheduledState, hp: Scheduled) -> Array:
    return family_of(hp.hp).where(s.inner, hp.at(s.t + 1))


def _scheduled_update(g: Array, s: ScheduledState, t: int, hp: Scheduled):
    inner = family_of(hp.hp).update(g, s.inner, t, hp.at(t))
    return ScheduledState(inner.theta, getattr(inner, "code", None), inner, t)


def _scheduled_kinds(hp: Scheduled) -> frozenset[str]:
    return internal_kinds(hp.hp)


def _scheduled_internals(s: ScheduledState, t: int, hp: Scheduled):
    """The method's own internals after ``t`` updates, read with the values
    of update ``t`` (of the first before any)."""
    read = family_of(hp.hp).internals
    if read is None:
        return internals.StateInternals(None, None, None)
    return read(s.inner, t, hp.at(max(t, 1)))


FAMILIES[Scheduled] = Family(
    _scheduled_init,
    _scheduled_update,
    _scheduled_query,
    kinds=_scheduled_kinds,
    internals=_scheduled_internals,
)


def learning_rates(hp: Any, count: int) -> Array | None:
    """ε of updates 1 .. ``count`` of the optimizer ``hp`` (entry k: the
    learning rate of the update after k updates), (count,); None for a method
    without one (second-order, or a function pair with no ``lr``)."""
    if isinstance(hp, Rule):
        return hp.rate.values(1, count) if hp.rate else np.full(count, hp.lr)
    if isinstance(hp, Scheduled):
        rates = dict(hp.rates)
        if "lr" in rates:
            return rates["lr"].values(1, count)
        hp = hp.hp
    lr = getattr(hp, "lr", None) if dataclasses.is_dataclass(hp) else None
    if isinstance(lr, int | float) and not isinstance(lr, bool):
        return np.full(count, float(lr))
    return None


def _follow(name: str, hp: Any, rates: dict[str, Rate]) -> Any:
    """``hp`` (a method's values for the first update) made to follow
    ``rates``: the fused rule reads its ``lr``'s rate into its coefficients,
    a function pair is wrapped in :class:`Scheduled`."""
    if isinstance(hp, Rule) and set(rates) == {"lr"}:
        return hp._replace(rate=rates["lr"])
    family = FAMILIES.get(type(hp))
    if dataclasses.is_dataclass(hp) and family is not None and family.bind is None:
        return Scheduled(hp, tuple(rates.items()))
    keys = ", ".join(rates)
    raise HyperparameterError(f"{name} cannot follow a schedule for {keys}", keys)


def _one_decay(values: Mapping[str, Any]) -> tuple[str, str] | None:
    if isinstance(values["lr"], Rate) and values["decay_steps"]:
        return ("decay_steps", "give either lr a schedule or decay_steps (the "
                "lecture's linear decay, also lr: {schedule: linear, ...}), "
                "not both")  # fmt: skip
    return None


@register(
    "gd",
    LR,
    Hyperparameter(
        "lr_final", "ε_τ", "learning rate the decay ends at, kept after it "
        "(used only with decay_steps)", default=0.0, low=0.0,
    ),
    Hyperparameter(
        "decay_steps", "τ", "updates over which lr decays linearly to lr_final "
        "(0: no decay)", default=0.0, low=0.0,
    ),
    check=_one_decay,
)  # fmt: skip
def gd(lr: float, lr_final: float, decay_steps: float) -> Rule:
    """Gradient descent: θ ← θ − ε_k g, ε_k = (1 − k/τ) ε₀ + (k/τ) ε_τ, then ε_τ.

    Without ``decay_steps`` the learning rate is constant, ε_k = ε₀. With it,
    the lecture's linear decay: update k (from 0) uses ε_k until k = τ and
    ε_τ after. Config: ε₀ = ``lr``, ε_τ = ``lr_final``, τ = ``decay_steps``;
    the same as ``lr: {schedule: linear, from: ε₀, to: ε_τ, steps: τ}``.
    """
    if decay_steps == 0:
        return Rule(lr=lr)
    from optviz.optim.lr_schedules import LRSchedule

    linear = (("from", lr), ("to", lr_final), ("steps", decay_steps))
    return Rule(lr=lr, rate=LRSchedule("linear", linear))


@register("momentum", LR, MOMENTUM)
def momentum(lr: float, momentum: float) -> Rule:
    """Momentum: v ← αv − εg; θ ← θ + v (v starts at 0).

    Config: ε = ``lr``, α = ``momentum``.
    """
    return Rule(lr=lr, momentum=momentum)


@register("nesterov", LR, MOMENTUM)
def nesterov(lr: float, momentum: float) -> Rule:
    """Nesterov momentum: v ← αv − ε∇J(θ + αv); θ ← θ + v.

    The lecture's first form: the gradient is taken at the look-ahead point
    θ + αv, and the trajectory shown is θ itself (not the shifted variable of
    the equivalent second form). Config: ε = ``lr``, α = ``momentum``.
    """
    return Rule(lr=lr, momentum=momentum, lookahead=momentum)


@register("adagrad", LR, EPS)
def adagrad(lr: float, eps: float) -> Rule:
    """Adagrad: a ← a + g⊙g; θ ← θ − ε/√(a + ν) ⊙ g.

    Config: ε = ``lr``, ν = ``eps``.
    """
    return Rule(lr=lr, decay=1.0, gain=1.0, nu=eps)


@register(
    "rmsprop",
    LR,
    BETA,
    EPS,
    Hyperparameter(
        "momentum", "α", "momentum (0: plain RMSProp)", default=0.0, low=0.0,
        high=1.0, high_inclusive=False,
    ),
    Hyperparameter(
        "nesterov", "", "take the gradient at θ + αv (Nesterov momentum)",
        default=False, boolean=True,
    ),
)  # fmt: skip
def rmsprop(
    lr: float, beta: float, eps: float, momentum: float, nesterov: bool
) -> Rule:
    """RMSProp: a ← βa + (1 − β) g⊙g; v ← αv − ε/√(a + ν) ⊙ g; θ ← θ + v.

    With α = 0 (the default) this is the lecture's plain RMSProp,
    θ ← θ − ε/√(a + ν) ⊙ g; with α > 0 it is "RMSProp with momentum"
    (rmsprop+p). With ``nesterov: true`` the gradient is taken at the
    look-ahead point θ + αv, "RMSProp with Nesterov momentum". Config:
    ε = ``lr``, β = ``beta``, ν = ``eps``, α = ``momentum``.
    """
    return Rule(
        lr=lr,
        momentum=momentum,
        lookahead=momentum if nesterov else 0.0,
        decay=beta,
        gain=1.0 - beta,
        nu=eps,
    )


@register(
    "adam",
    LR,
    BETA1,
    BETA2,
    EPS,
    Hyperparameter(
        "bias_correction", "", "divide the moments by 1 − βᵗ (false: the "
        "lecture's Adam without bias correction)", default=True, boolean=True,
    ),
)  # fmt: skip
def adam(
    lr: float, beta1: float, beta2: float, eps: float, bias_correction: bool
) -> Rule:
    """Adam: v ← β1 v + (1 − β1) g; a ← β2 a + (1 − β2) g⊙g; θ ← θ − ε/√(ã + ν) ⊙ ṽ.

    ṽ = v / (1 − β1ᵗ) and ã = a / (1 − β2ᵗ) are the bias-corrected moments, t
    the number of updates including this one. ν sits inside the square root as
    in the lecture (most libraries add it outside). The lecture's first moment
    v is ``m`` in :func:`update`, whose ``v`` is the (here unused) velocity.
    With ``bias_correction: false`` the moments are used as they are (the
    lecture's "Adam without bias correction"). Config: ε = ``lr``,
    β1 = ``beta1``, β2 = ``beta2``, ν = ``eps``.
    """
    return Rule(
        lr=lr,
        decay=beta2,
        gain=1.0 - beta2,
        nu=eps,
        beta1=beta1,
        correct1=beta1 if bias_correction else 0.0,
        correct2=beta2 if bias_correction else 0.0,
    )


# The second-order family steps its own blocks of rows (optim.second_order);
# it registers here so that there is one registry of methods.
FAMILIES[SecondOrder] = second_order.FAMILY
LR_ONE = Hyperparameter(
    "lr", "ε", "step size along the Newton direction", default=1.0, low=0.0,
    low_inclusive=False,
)  # fmt: skip


@register(
    "newton",
    Hyperparameter(
        "damping", "α", "regularization: (H + αI)⁻¹ (0: plain Newton)",
        default=0.0, low=0.0,
    ),
    LR_ONE,
)  # fmt: skip
def newton(damping: float, lr: float) -> SecondOrder:
    """Newton's method: θ ← θ − ε (H + αI)⁻¹ g.

    Plain Newton (α = 0) goes to the critical point its quadratic model
    points at, a saddle as readily as a minimum; damping α > 0 tends to gradient
    descent with learning rate 1/α as α grows. A singular H + αI stops the run
    with that status. Config: α = ``damping``, ε = ``lr``.
    """
    return SecondOrder("newton", lr=lr, damping=damping)


@register("bfgs")
def bfgs() -> SecondOrder:
    """BFGS: d = −H⁻¹g, a backtracking (Armijo) line search, the lecture's H⁻¹ update.

    H⁻¹ ← (I − syᵀ/yᵀs) H⁻¹ (I − ysᵀ/yᵀs) + ssᵀ/yᵀs from H₀⁻¹ = I, with
    s = θ_k − θ_{k−1}, y = ∇f(θ_k) − ∇f(θ_{k−1}); skipped when yᵀs ≤ 0.
    """
    return SecondOrder("bfgs")


@register(
    "lbfgs",
    Hyperparameter(
        "memory", "m", "how many (s, y) pairs to keep", default=10.0, low=1.0,
        high=1000.0, integer=True,
    ),
)  # fmt: skip
def lbfgs(memory: int) -> SecondOrder:
    """L-BFGS: BFGS from the last m pairs (two-loop recursion, H₀ = I), Armijo line search.

    Config: m = ``memory``.
    """  # noqa: E501
    return SecondOrder("lbfgs", memory=int(memory))


@register(
    "cg",
    Hyperparameter(
        "variant", "", "pr: Polak–Ribière (β clipped at 0), fr: Fletcher–Reeves",
        default="pr", choices=("pr", "fr"),
    ),
)  # fmt: skip
def cg(variant: str) -> SecondOrder:
    """Nonlinear conjugate gradients: d ← −g + βd, Armijo line search along d.

    β is Polak–Ribière's max(0, gᵀ(g − g_prev)/g_prevᵀg_prev) or
    Fletcher–Reeves' gᵀg/g_prevᵀg_prev; a direction that does not descend
    restarts from −g. Config: ``variant`` (pr or fr).
    """
    return SecondOrder("cg", variant=variant)


# The methods beyond the lecture register themselves (they use this module's
# register, so they come after it; the registry is whole once it is imported).
from optviz.optim import modern  # noqa: E402, F401
