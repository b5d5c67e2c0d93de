"""The optimizer protocol: what the runner needs from a method, as pure functions.

A method is a :class:`Family` of functions over a batch of rows, every array
of shape ``(R, 2)`` float64 (``R`` rows: one per start), and a state that is an
immutable ``NamedTuple`` with a field ``theta`` (the points, ``(R, 2)``):

- ``init(hp, rows) -> state``: the state before the first update, ``rows``
  the starts;
- ``update(grad, state, t, hp) -> state``: update ``t`` (from 1), ``grad`` the
  gradient at ``query(state, hp)``; the runner records ``state.theta``;
- ``query(state, hp) -> points`` (optional): where the gradient is taken,
  e.g. Nesterov's look-ahead θ + αv; without it, at ``state.theta``.

``hp`` is the method's validated hyperparameters as one typed, frozen value
(built by :meth:`optviz.optim.methods.Method.build`). ``update`` returns the
new state rather than optax's ``(updates, state)``: the runner needs θ itself,
and methods such as Nesterov's or the line searches compute θ, not a step to
add to it.

A state may also have a field ``code``, ``(R,)`` int8: 0 while the row runs,
else why it stopped (``SINGULAR`` or ``LINE_SEARCH`` of
:mod:`optviz.optim.second_order`, reported as that status); a row that
stopped must keep its θ.

Two families of the package use the optional fields: the lecture's
first-order family is fused (``stack`` turns the hyperparameters of several
optimizers into one ``hp`` for all their rows, which are stepped together, and
``run`` takes many updates at once for speed), and the second-order family
evaluates f, ∇f and ∇²f itself (``bind`` hands it the problem; its ``update``
gets no gradient). The fused family also says what its state holds of the
optimizer internals a video can draw at the heads (``kinds`` and
``internals``, :mod:`optviz.optim.internals`); a run reads them only when
asked (its ``run`` then keeps them after every update, ``keep=True``).

A hyperparameter declared ``schedulable`` (the learning rate ``lr`` of every
first-order method) may be a :class:`Rate` instead of a number: a value per
update. The method never sees it: its ``hp`` holds the number for the update
at hand (:mod:`optviz.optim.methods` steps it with ``lr`` replaced at every
update; the fused family reads the rates into its per-update coefficients).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Family:
    """How rows of one kind of method are stepped (see the module docstring)."""

    init: Callable[..., Any]  # init(hp, rows) -> state
    update: Callable[..., Any]  # update(grad, state, t, hp) -> state
    query: Callable[..., Array] | None = None  # query(state, hp) -> points
    # stack(hps, repeat) -> hp: the optimizers of this family stepped as one
    # block, each hp repeated for ``repeat`` starts (None: a block each)
    stack: Callable[[Sequence[Any], int], Any] | None = None
    # run(grad, state, first, count, hp) -> (state, θ after each update,
    # (count, R, 2)): ``count`` updates at once, the same numbers as ``update``;
    # with keep=True (a family that has ``internals``) it returns a third
    # value, the StateInternals after each update, each (count, R, 2)
    run: Callable[..., tuple[Any, ...]] | None = None
    # bind(hp, problem) -> hp: for methods that evaluate the surface
    # themselves; their ``update`` is called with ``grad=None``
    bind: Callable[[Any, Any], Any] | None = None
    # kinds(hp) -> the kinds of optviz.optim.internals.KINDS that rows of
    # ``hp`` have in their state (velocity, lookahead, scaling); None: none
    kinds: Callable[[Any], frozenset[str]] | None = None
    # internals(state, t, hp) -> StateInternals: those read off the state
    # after ``t`` updates; asked for only by a run that draws them
    internals: Callable[[Any, int, Any], Any] | None = None

    def where(self, state: Any, hp: Any) -> Array:
        """Where the gradient of the next update is taken."""
        return state.theta if self.query is None else self.query(state, hp)


@runtime_checkable
class Rate(Protocol):
    """A hyperparameter that changes with the update, such as a learning-rate
    schedule (:mod:`optviz.optim.lr_schedules`)."""

    def at(self, t: int) -> float:
        """The value for update ``t`` (from 1)."""
        ...

    def values(self, first: int, count: int) -> Array:
        """The values for updates ``first`` .. ``first + count - 1``, (count,)
        float64: :meth:`at` of each, the same numbers."""
        ...
