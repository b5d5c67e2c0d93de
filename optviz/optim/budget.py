"""What a run will cost, estimated before it starts.

The loop over iterations is Python: each iteration steps every block of rows
once (:mod:`optviz.optim.runner`: one block for all the optimizers of the
fused first-order family, one per optimizer of any other family), so a run's
time is the iterations times the blocks' costs, plus what every row and
every minibatch example adds, plus what each point kept costs afterwards
(its loss and gradient norm, its CSV row). Its memory is the points it
keeps. The figures are upper ones measured by ``benchmarks/bounds_bench.py``
(on a 2-core machine shared with other work; it prints each measured cost
beside the one assumed here), so that the estimate is rather high than low.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optviz.optim import methods, second_order

# Seconds per iteration: (per block, per row of the block).
FUSED = (60e-6, 1e-6)
SECOND_ORDER = {
    "newton": (200e-6, 4e-6),
    "bfgs": (350e-6, 6e-6),
    "lbfgs": (750e-6, 10e-6),
    "cg": (250e-6, 8e-6),
}
PAIR = (300e-6, 10e-6)  # a method registered as a function pair
EXAMPLE = 150e-9  # one example of one row's minibatch gradient
POINT = 12e-6  # one point kept: its loss, gradient norm and CSV row
# One point kept: θ (16 bytes) in the history and in its trajectory, its
# loss and gradient norm, the temporaries that compute them, and its row of
# CSV text, kept as a line for the configs that share the row (most of it).
BYTES_PER_POINT = 500
# One internal of one point (optviz.optim.internals): the (2,) float64 the
# run records, the copy its trajectory keeps, and the temporaries; measured
# at 51 to 57 bytes a kind (benchmarks/memory_bench.py).
BYTES_PER_INTERNAL = 64


def internal_kinds_kept(kinds: Sequence[str]) -> int:
    """How many (2,) arrays a point keeps for the internals ``kinds``: one
    a kind, and the look-ahead's gradient beside its point."""
    return len(kinds) + ("lookahead" in kinds)


@dataclass(frozen=True)
class Estimate:
    points: int  # θ kept: (iterations + 1) × optimizers × starts
    seconds: float
    bytes: int


def estimate(
    rules: Sequence[Any],
    starts: int,
    iterations: int,
    batch_sizes: Sequence[int | None] = (),
) -> Estimate:
    """The cost of running the methods ``rules`` (each method's ``hp``, from
    :meth:`~optviz.optim.methods.Method.build`) from ``starts`` starts for
    ``iterations`` iterations, every row running to the end (no tolerance
    stops it early); ``batch_sizes`` per optimizer (None: the full batch)."""
    sizes = list(batch_sizes) + [None] * (len(rules) - len(batch_sizes))
    fused = 0
    per_iteration = 0.0
    for hp, size in zip(rules, sizes):
        family = methods.family_of(hp)
        if family.stack is not None:
            fused += 1
            per_iteration += starts * FUSED[1]
        else:
            step, row = (
                SECOND_ORDER.get(hp.method, PAIR)
                if isinstance(hp, second_order.SecondOrder)
                else PAIR
            )
            per_iteration += step + starts * row
        if size:
            per_iteration += starts * size * EXAMPLE
    if fused:
        per_iteration += FUSED[0]
    points = (iterations + 1) * len(rules) * starts
    return Estimate(
        points=points,
        seconds=iterations * per_iteration + points * POINT,
        bytes=points * BYTES_PER_POINT,
    )


def duration(seconds: float) -> str:
    """``seconds`` as a person says it: 40 s, 17 minutes, 3.2 hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


def size(count: int) -> str:
    """``count`` bytes in MiB or GiB."""
    if count < 1 << 30:
        return f"{count / (1 << 20):.0f} MiB"
    return f"{count / (1 << 30):.1f} GiB"
