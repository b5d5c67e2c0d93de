"""Run optimizers on a surface: one Python loop over iterations, nothing else.

Every optimizer from every start is one row of a single ``(M·N, 2)`` batch
(see :mod:`optviz.optimizers`), so each iteration is one gradient call and one
update.
Rows never interact, so a row that has stopped (converged or diverged) keeps
being stepped harmlessly; where it stopped is read off the stored trajectory
afterwards, vectorized. That keeps the loop free of per-row bookkeeping.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from optviz import minibatch, optimizers

Array = np.ndarray

# Iterations per chunk: the schedule is computed, and the loop checks whether
# every row has stopped so that it can end early, once a chunk.
_CHUNK = 256
# A point further than this many view spans outside the view has diverged.
DIVERGENCE_SPANS = 100.0


class Status(str, enum.Enum):
    """Why a run of one optimizer from one start ended."""

    MAX_ITER = "max_iter"
    CONVERGED = "converged"
    DIVERGED = "diverged"

    @property
    def message(self) -> str:
        return _STATUS_MESSAGES[self]


_STATUS_MESSAGES = {
    Status.MAX_ITER: "reached the iteration cap",
    Status.CONVERGED: "gradient norm fell below the tolerance",
    Status.DIVERGED: "diverged (non-finite or far outside the view)",
}


@dataclass(frozen=True)
class Trajectory:
    """θ_0 .. θ_n of one optimizer from one start (row k: θ after k updates)."""

    label: str
    optimizer: int  # index into the config's optimizers
    start: int  # index into the config's starts
    points: Array  # (n + 1, 2)
    loss: Array  # (n + 1,) f(θ_k)
    grad_norm: Array  # (n + 1,) ‖∇f(θ_k)‖
    status: Status
    stopped_at: int  # the iteration at which the status was decided

    @property
    def iterations(self) -> int:
        """Updates taken (diverged runs: up to the last good point)."""
        return len(self.points) - 1

    def first_within(self, point: Sequence[float], radius: float) -> int | None:
        """The first iteration at which θ is within ``radius`` of ``point``."""
        d = np.hypot(*(self.points - np.asarray(point, dtype=float)).T)
        hits = np.flatnonzero(d < radius)
        return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class Minibatches:
    """Which optimizers take minibatch gradients, on which examples."""

    examples: minibatch.Examples
    sizes: tuple[int | None, ...]  # per optimizer; None: the full batch
    seed: int = 0


def step_all(
    grad: Callable[[Array], Array],
    rules: Sequence[optimizers.Rule],
    starts: Array,
    iterations: int,
    stop: Callable[[Array], Array] | None = None,
    batches: Minibatches | None = None,
) -> Array:
    """Step every optimizer from every start; return θ of shape (K+1, M, N, 2).

    ``M`` optimizers, ``N`` starts, ``K`` the iterations actually taken: the
    loop ends early once ``stop(theta)`` (an (M, N, 2) array in, an (M, N)
    boolean out) holds for every row. Row ``i * N + j`` of the batch is
    optimizer ``i`` from start ``j``. With ``batches``, the rows of optimizers
    that have a batch size get minibatch gradients instead of ``grad``'s.
    """
    starts = np.asarray(starts, dtype=float)
    m, n = len(rules), len(starts)
    c = optimizers.stack(list(rules), repeat=n)
    state = optimizers.init(np.tile(starts, (m, 1)))
    update, query = optimizers.update, optimizers.query
    rows, sampler = _minibatch_rows(batches, n)
    # Preallocated: 16 bytes a point, where a list of small arrays costs ~200.
    history = np.empty((iterations + 1, m * n, 2))
    history[0] = state.theta
    k = 0
    with np.errstate(all="ignore"):  # diverging rows overflow; that is a status
        for first in range(1, iterations + 1, _CHUNK):
            count = min(_CHUNK, iterations + 1 - first)
            lrs, scales = optimizers.schedule(c, first, count)
            if sampler is None:
                for k, lr, scale2 in zip(range(first, first + count), lrs, scales):
                    state = update(grad(query(state, c)), state, c, lr, scale2)
                    history[k] = state.theta
            else:
                index, weight = sampler.take(count)
                for i in range(count):
                    q = query(state, c)
                    g = grad(q)
                    g[rows] = minibatch.gradient(
                        batches.examples, q[rows], index[i], weight[i]
                    )
                    state = update(g, state, c, lrs[i], scales[i])
                    k = first + i
                    history[k] = state.theta
            if stop is not None and np.all(stop(state.theta.reshape(m, n, 2))):
                break
    return history[: k + 1].reshape(-1, m, n, 2)


def _minibatch_rows(
    batches: Minibatches | None, n: int
) -> tuple[Array, minibatch.Sampler | None]:
    if batches is None or not any(batches.sizes):
        return np.empty(0, dtype=np.intp), None
    rows, sizes = [], []
    for i, size in enumerate(batches.sizes):
        if size:
            rows += range(i * n, (i + 1) * n)
            sizes += [size] * n
    sampler = minibatch.Sampler(batches.examples.m, sizes, batches.seed)
    return np.array(rows, dtype=np.intp), sampler


def divergence_box(
    xlim: tuple[float, float], ylim: tuple[float, float]
) -> tuple[Array, Array]:
    """Lower and upper corners of the box outside which a point has diverged."""
    lo = np.array([xlim[0], ylim[0]], dtype=float)
    hi = np.array([xlim[1], ylim[1]], dtype=float)
    span = hi - lo
    return lo - DIVERGENCE_SPANS * span, hi + DIVERGENCE_SPANS * span


def trajectories(
    f: Callable[[Array], Array],
    grad: Callable[[Array], Array],
    rules: Sequence[optimizers.Rule],
    labels: Sequence[str],
    starts: Array,
    iterations: int,
    tolerance: float,
    box: tuple[Array, Array],
    batches: Minibatches | None = None,
) -> list[Trajectory]:
    """Run the optimizers and cut each row where its status was decided."""
    lo, hi = box

    def bad(theta: Array) -> Array:
        return ~np.all(np.isfinite(theta) & (theta >= lo) & (theta <= hi), axis=-1)

    def stopped(theta: Array) -> Array:
        done = bad(theta)
        if tolerance > 0:
            with np.errstate(all="ignore"):
                done |= np.linalg.norm(grad(theta), axis=-1) < tolerance
        return done

    history = step_all(grad, rules, starts, iterations, stopped, batches)
    out = []
    for i, label in enumerate(labels):
        for j in range(len(starts)):
            out.append(_cut(f, grad, label, i, j, history[:, i, j], tolerance, bad))
    return out


def _cut(f, grad, label, i, j, points, tolerance, bad) -> Trajectory:
    """Trim one row to where its status was decided: the first point with a
    gradient norm below the tolerance (kept), or the first bad point (dropped:
    non-finite, outside the divergence box, or where f overflows)."""
    with np.errstate(all="ignore"):
        loss = f(points)
        grad_norm = np.linalg.norm(grad(points), axis=-1)
    broken = bad(points) | ~np.isfinite(loss) | ~np.isfinite(grad_norm)
    end = int(np.argmax(broken)) if broken.any() else len(points)
    status, stopped_at = Status.MAX_ITER, len(points) - 1
    if end < len(points):
        status, stopped_at = Status.DIVERGED, end
    if tolerance > 0:
        hits = np.flatnonzero(grad_norm[:end] < tolerance)
        if hits.size:
            end = int(hits[0]) + 1
            status, stopped_at = Status.CONVERGED, end - 1
    return Trajectory(
        label, i, j, points[:end], loss[:end], grad_norm[:end], status, stopped_at
    )
