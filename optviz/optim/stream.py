"""Run many rows and keep no history: where each ends, and when it got there.

:func:`optviz.optim.runner.trajectories` keeps every point of every row, which
a video needs; a map of 262,144 starts does not. :func:`outcomes` steps the
rows through the same protocol (:mod:`optviz.optim.protocol`) and keeps, per
row, only its outcome:

- ``reached``: it came within ``radius`` of one of ``targets`` (the known
  minima) — the first such iteration, and which target; the row stops there;
- ``diverged``: it left the divergence box or stopped being finite — the
  iteration it did; the row stops there;
- ``none``: neither, after every iteration (or its method could not go on:
  a singular Hessian, a failed line search).

Rows that stop are dropped from the batch (every array of the state whose
first axis is the rows is cut to the rows still running), so a map whose
starts mostly arrive early costs little more than its slowest rows. Memory is
O(rows): the state, and a few updates' points at a time.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz.optim import methods, second_order

Array = np.ndarray

# Points held at once while a chunk of updates is checked (each row's θ
# after each update of the chunk): about 32 MB.
_CHUNK_POINTS = 2_000_000
_MAX_CHUNK = 64


class Outcome(enum.IntEnum):
    """How a row of a streaming run ended (the CSV writes their names)."""

    NONE = 0
    REACHED = 1
    DIVERGED = 2

    @property
    def word(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Outcomes:
    """Per row (in the order of the rows asked for), ``(R,)`` each."""

    outcome: Array  # int8, an Outcome
    target: Array  # int, the index into the targets reached (−1: none)
    iteration: Array  # int, the update it reached or diverged at (−1: none)
    final: Array  # (R, 2) where it stopped (NaN where it diverged)

    def __len__(self) -> int:
        return len(self.outcome)


def outcomes(
    grad: Callable[[Array], Array],
    rules: Sequence[Any],
    starts: Array,
    iterations: int,
    box: tuple[Array, Array],
    targets: Sequence[Sequence[float]],
    radius: float,
    problem: second_order.Problem | None = None,
) -> Outcomes:
    """Row ``i`` is ``rules[i]`` (a method's ``hp``) from ``starts[i]``: every
    row has a start of its own (a map of starts repeats one rule, a phase map
    one start). ``problem`` (f, ∇f, ∇²f) for methods that evaluate the
    surface themselves."""
    starts = np.asarray(starts, dtype=float).reshape(-1, 2)
    r = len(starts)
    if len(rules) != r:
        raise ValueError(f"{len(rules)} rules for {r} starts")
    goals = np.asarray(targets, dtype=float).reshape(-1, 2)
    result = Outcomes(
        np.zeros(r, dtype=np.int8),
        np.full(r, -1),
        np.full(r, -1),
        starts.copy(),
    )
    groups: dict[Any, list[int]] = {}
    families: dict[int, Any] = {}  # by the rule's id: most maps have one rule
    for i, hp in enumerate(rules):
        family = families.get(id(hp))
        if family is None:
            family = families[id(hp)] = methods.family_of(hp)
        key = family if family.stack is not None else (family, id(hp))
        groups.setdefault(key, []).append(i)
    with np.errstate(all="ignore"):  # diverging rows overflow: an outcome
        for rows in groups.values():
            index = np.array(rows)
            _run(grad, [rules[i] for i in rows], starts[index], index, iterations,
                 box, goals, radius, problem, result)  # fmt: skip
    return result


def _run(grad, rules, starts, index, iterations, box, goals, radius, problem, out):
    """One family's rows: fused ones stacked into one batch, any other
    method's rows (one rule each, or one rule for all) as one block."""
    family = methods.family_of(rules[0])
    if family.stack is not None and all(h is rules[0] for h in rules):
        hp = family.stack([rules[0]], 1)  # one row that every row broadcasts
    elif family.stack is not None:
        hp = family.stack(list(rules), 1)
    else:
        hp = rules[0]
        if family.bind is not None:
            hp = family.bind(hp, problem)
    state = family.init(hp, starts.copy())
    lo, hi = box
    n = len(starts)
    alive = np.arange(n)  # positions (into this group) of the running rows
    r2 = radius * radius
    t = 1
    while t <= iterations and len(alive):
        count = int(min(_MAX_CHUNK, max(1, _CHUNK_POINTS // len(alive)),
                        iterations - t + 1))  # fmt: skip
        if family.run is not None:
            state, points = family.run(grad, state, t, count, hp)
        else:
            points = np.empty((count, len(alive), 2))
            for i in range(count):
                g = None if family.bind is not None else grad(family.where(state, hp))
                state = family.update(g, state, t + i, hp)
                points[i] = state.theta
        bad = ~np.all(np.isfinite(points) & (points >= lo) & (points <= hi), axis=-1)
        near = np.full(points.shape[:2], -1)
        x, y = points[..., 0], points[..., 1]
        for j, (gx, gy) in enumerate(goals):  # a few minima: one pass each
            hit = (x - gx) ** 2 + (y - gy) ** 2 < r2
            near[hit & (near < 0)] = j
        near[bad] = -1
        first_bad = _first(bad)
        first_hit = _first(near >= 0)
        reached = first_hit < np.minimum(first_bad, count)
        diverged = ~reached & (first_bad < count)
        rows = index[alive]
        k = np.arange(len(alive))
        if reached.any():
            j = rows[reached]
            at = first_hit[reached]
            out.outcome[j] = Outcome.REACHED
            out.target[j] = near[at, k[reached]]
            out.iteration[j] = t + at
            out.final[j] = points[at, k[reached]]
        if diverged.any():
            j = rows[diverged]
            out.outcome[j] = Outcome.DIVERGED
            out.iteration[j] = t + first_bad[diverged]
            out.final[j] = np.nan
        code = getattr(state, "code", None)
        halted = np.zeros(len(alive), bool) if code is None else code != 0
        done = reached | diverged | halted
        out.final[rows[~done]] = points[-1, ~done]
        if done.any():
            keep = ~done
            state = _take(state, keep, len(alive))
            if family.stack is not None:
                hp = _take(hp, keep, len(alive))
            alive = alive[keep]
        t += count
    return out


def _first(mask: Array) -> Array:
    """Per column of ``mask`` (count, R), the first row that is True, or
    ``count`` where none is."""
    count = mask.shape[0]
    return np.where(mask.any(axis=0), np.argmax(mask, axis=0), count)


def _take(value: Any, keep: Array, rows: int) -> Any:
    """``value`` (a state or stacked hyperparameters) cut to the rows
    ``keep``: every array whose first axis is the ``rows`` rows."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)._make(  # type: ignore[attr-defined]
            _take(v, keep, rows) for v in value
        )
    if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == rows:
        return value[keep]
    return value
