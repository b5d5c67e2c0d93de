"""Run optimizers on a surface: one Python loop over iterations, nothing else.

Every optimizer is stepped by its method's family (the protocol of
:mod:`optviz.optim.protocol`): the rows of every optimizer of a fused family
(the lecture's first-order rule, :mod:`optviz.optim.methods`) form one batch,
so each iteration is one gradient call and one update for all of them; every
other optimizer (second-order, :mod:`optviz.optim.second_order`, or a method
registered as an ``init``/``update`` pair) steps its own block of rows, one
per start. Rows never interact, so a row that has
stopped (converged or diverged) keeps being stepped harmlessly; where it
stopped is read off the stored trajectory afterwards, vectorized, and a
row whose state has a status code (singular Hessian, failed line search)
reports the update at which it stopped. That keeps the loop free of per-row
bookkeeping.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz.optim import internals as internals_module
from optviz.optim import methods as optimizers
from optviz.optim import second_order
from optviz.optim.internals import Internals, StateInternals
from optviz.optim.protocol import Family
from optviz.surfaces import minibatch

Array = np.ndarray

# Iterations per chunk: the schedule is computed, and the loop checks whether
# every row has stopped so that it can end early, once a chunk.
_CHUNK = 256
# A point further than this many view spans outside the view has diverged.
DIVERGENCE_SPANS = 100.0
# "Reached" means first came this close to a known minimum: about what a viewer
# can tell apart on a lecture-sized contour plot.
REACH_RADIUS = 0.05


class Status(str, enum.Enum):
    """Why a run of one optimizer from one start ended."""

    MAX_ITER = "max_iter"
    CONVERGED = "converged"
    DIVERGED = "diverged"
    SINGULAR = "singular_hessian"
    LINE_SEARCH = "line_search_failed"


_CODES = {
    second_order.SINGULAR: Status.SINGULAR,
    second_order.LINE_SEARCH: Status.LINE_SEARCH,
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
    # (n + 1,) ε_k, the learning rate of the update after θ_k (its schedule's
    # value); None for a method without one (second-order)
    lr: Array | None = None
    # what the optimizer did at each point (optviz.optim.internals), kept
    # only for a run asked to draw it; None: not asked
    internals: Internals | None = None

    @property
    def stopped_at(self) -> int:
        """The iteration the run stopped at: its last point, the last row of
        its CSV, where its line ends. The legend, the summary table and the
        CSV all use this one number: a run that converged stopped at the
        first point with ‖∇f‖ < tolerance; one that diverged, or could not
        take a step (singular Hessian, failed line search), at its last good
        point (the update after it is the one that failed)."""
        return max(0, len(self.points) - 1)

    @property
    def iterations(self) -> int:
        """Updates taken to the point it stopped at (:attr:`stopped_at`)."""
        return self.stopped_at

    def first_reach(
        self, points: Sequence[Sequence[float]], radius: float = REACH_RADIUS
    ) -> int | None:
        """The first iteration at which θ is within ``radius`` of any of
        ``points`` (known minima), or None: what "reached" means in the
        legend and in the summary table."""
        hits = [self.first_within(p, radius) for p in points]
        found = [k for k in hits if k is not None]
        return min(found) if found else None

    def first_within(self, point: Sequence[float], radius: float) -> int | None:
        """The first iteration at which θ is within ``radius`` of ``point``."""
        d = np.hypot(*(self.points - np.asarray(point, dtype=float)).T)
        hits = np.flatnonzero(d < radius)
        return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class Perturbations:
    """Per optimizer: gradient clipping by norm and Gaussian gradient noise
    (first-order methods); 0 means off."""

    clip_norm: tuple[float, ...]
    noise: tuple[float, ...]
    seed: int = 0


@dataclass(frozen=True)
class Minibatches:
    """Which optimizers take minibatch gradients, on which examples."""

    examples: minibatch.Examples
    sizes: tuple[int | None, ...]  # per optimizer; None: the full batch
    seed: int = 0


def step_all(
    grad: Callable[[Array], Array],
    rules: Sequence[Any],  # each method's hp, from Method.build
    starts: Array,
    iterations: int,
    stop: Callable[[Array], Array] | None = None,
    batches: Minibatches | None = None,
    problem: second_order.Problem | None = None,
    perturb: Perturbations | None = None,
) -> Array:
    """Step every optimizer from every start; return θ of shape (K+1, M, N, 2).

    ``M`` optimizers, ``N`` starts, ``K`` the iterations actually taken: the
    loop ends early once ``stop(theta)`` (an (M, N, 2) array in, an (M, N)
    boolean out) holds for every row. Row ``i * N + j`` of the batch is
    optimizer ``i`` from start ``j``. With ``batches``, the rows of optimizers
    that have a batch size get minibatch gradients instead of ``grad``'s.
    ``rules`` are the methods' ``hp`` (:meth:`~optviz.optim.methods.Method.build`);
    second-order ones need ``problem`` (f, ∇f and ∇²f).
    """
    history, _, _, _ = _step(
        grad, rules, starts, iterations, stop, batches, problem, perturb
    )
    return history


def _step(
    grad, rules, starts, iterations, stop, batches, problem, perturb=None, record=()
):
    """:func:`step_all`, plus each row's status code and the iteration it was
    set at (−1: none), and the internals read off the states of the
    optimizers ``record`` names (indices), a :class:`StateInternals` of
    (K + 1, M·N, 2) arrays (NaN in other rows; None: none asked)."""
    starts = np.asarray(starts, dtype=float)
    m, n = len(rules), len(starts)
    history = np.empty((iterations + 1, m * n, 2))
    recorded = None
    if record:
        recorded = StateInternals(
            *(np.full((iterations + 1, m * n, 2), np.nan) for _ in range(3))
        )
    codes = np.zeros(m * n, dtype=np.int8)
    code_at = np.full(m * n, -1)
    fused: dict[Family, list[int]] = {}
    blocks: list[_Block | _Fused] = []
    with np.errstate(all="ignore"):  # a family's init may evaluate f and ∇f
        for i, rule in enumerate(rules):
            family = optimizers.family_of(rule)
            if family.stack is not None:
                fused.setdefault(family, []).append(i)
            else:
                rows = np.arange(i * n, (i + 1) * n)
                block = _Block(
                    i, family, rule, rows, starts, grad, problem, batches, perturb
                )
                if i in record and family.internals is not None:
                    block.recorded = recorded
                    block.keep(0)
                blocks.append(block)
        for k, (family, indices) in enumerate(fused.items()):
            chosen = [rules[i] for i in indices]
            fused_block = _Fused(family, chosen, starts, batches, indices, perturb, k)
            if any(i in record for i in indices) and family.internals is not None:
                fused_block.recorded = recorded
                fused_block.keep(0)
            blocks.insert(k, fused_block)
    history[0] = np.tile(starts, (m, 1))
    k = 0
    with np.errstate(all="ignore"):  # diverging rows overflow; that is a status
        for first in range(1, iterations + 1, _CHUNK):
            count = min(_CHUNK, iterations + 1 - first)
            for block in blocks:
                if isinstance(block, _Fused):
                    history[first : first + count, block.rows] = block.run(
                        grad, first, count
                    )
                    continue
                for i in range(count):
                    block.step(first + i)
                    history[first + i, block.rows] = block.state.theta
                    if block.recorded is not None:
                        block.keep(first + i)
                    code = getattr(block.state, "code", None)
                    if code is not None:
                        new = (code != 0) & (code_at[block.rows] < 0)
                        code_at[block.rows[new]] = first + i
                code = getattr(block.state, "code", None)
                if code is not None:
                    codes[block.rows] = code
            k = first + count - 1
            done = history[k].reshape(m, n, 2)
            halted = (codes != 0).reshape(m, n)
            if stop is not None and np.all(stop(done) | halted):
                break
    if recorded is not None:
        recorded = StateInternals(*(a[: k + 1] for a in recorded))
    return history[: k + 1].reshape(-1, m, n, 2), codes, code_at, recorded


class _Recorder:
    """A block whose state's internals are kept (``recorded`` set by
    :func:`_step`), in its rows of the run's arrays."""

    recorded: StateInternals | None = None
    family: Family
    rows: Array
    state: Any

    def keep(self, t: int) -> None:
        """Keep the internals of the state after ``t`` updates."""
        assert self.recorded is not None and self.family.internals is not None
        found = self.family.internals(self.state, t, self._hp)
        for kept, value in zip(self.recorded, found):
            if kept is not None and value is not None:
                kept[t, self.rows] = value

    @property
    def _hp(self) -> Any:
        raise NotImplementedError


class _Block(_Recorder):
    """One optimizer's rows (every start) and state, stepped by its family:
    the second-order methods and every method registered as a function pair."""

    def __init__(
        self, i, family, hp, rows, starts, grad, problem, batches=None, perturb=None
    ):
        n = len(rows)
        self.family, self.rows = family, rows
        if family.bind is not None:
            if problem is not None:
                grad = _block_gradient(i, n, problem.grad, batches, perturb)
                problem = problem._replace(grad=grad)
            hp = family.bind(hp, problem)
            self.grad = None
        else:
            self.grad = _block_gradient(i, n, grad, batches, perturb)
        self.hp = hp
        self.state = family.init(hp, starts.copy())

    @property
    def _hp(self) -> Any:
        return self.hp

    def step(self, t: int) -> None:
        family, hp, state = self.family, self.hp, self.state
        g = None if self.grad is None else self.grad(family.where(state, hp))
        self.state = family.update(g, state, t, hp)


def _block_gradient(i, n, grad, batches, perturb):
    """The gradient a second-order optimizer ``i`` sees on its ``n`` rows:
    ``grad``, or minibatch gradients (a new batch at every call), then noise
    and clipping; f and the Hessian stay the full, exact ones (the lecture's
    "quasi-Newton methods usually require a full batch" can be watched)."""
    size = batches.sizes[i] if batches is not None else None
    clip = perturb.clip_norm[i] if perturb is not None else 0.0
    sigma = perturb.noise[i] if perturb is not None else 0.0
    if not size and not clip and not sigma:
        return grad
    sampler = (
        minibatch.Sampler(batches.examples.m, [size] * n, batches.seed + 1 + i)
        if size
        else None
    )
    rng = np.random.default_rng([perturb.seed, 2, i]) if sigma else None
    clip_rows = np.full((n, 1), clip)

    def block_grad(points):
        if sampler is not None:
            index, weight = sampler.take(1)
            g = minibatch.gradient(batches.examples, points, index[0], weight[0])
        else:
            g = grad(points)
        if rng is not None:
            g = g + sigma * rng.standard_normal(g.shape)
        if clip:
            g = optimizers.clip_by_norm(g, clip_rows)
        return g

    return block_grad


class _Fused(_Recorder):
    """The rows of every optimizer of one fused family (the lecture's
    first-order rule), stepped as one block: state kept between chunks."""

    def __init__(self, family, rules, starts, batches, indices, perturb=None, k=0):
        n = len(starts)
        self.family = family
        self.rows = np.array([i * n + j for i in indices for j in range(n)])
        self.c = family.stack(rules, n)
        self.clip = self.noise = None
        if perturb is not None:
            clip = np.repeat([perturb.clip_norm[i] for i in indices], n)[:, None]
            noise = np.repeat([perturb.noise[i] for i in indices], n)[:, None]
            self.clip = clip if np.any(clip > 0) else None
            self.noise = noise if np.any(noise > 0) else None
            self.rng = np.random.default_rng([perturb.seed, 1, *([k] if k else [])])
        self.state = family.init(self.c, np.tile(starts, (len(rules), 1)))
        if batches is not None:  # sizes of this block's optimizers only
            sizes = tuple(batches.sizes[i] for i in indices)
            batches = Minibatches(batches.examples, sizes, batches.seed)
        self.batches = batches
        self.sampled, self.sampler = _minibatch_rows(batches, n)

    def run(self, grad, first: int, count: int) -> Array:
        """``count`` updates from update ``first``; θ after each, (count, R, 2)."""
        if self.sampler is not None:  # minibatch gradients first, then
            grad = self._sampled(grad, count)
        if self.clip is not None or self.noise is not None:  # noise and clipping
            grad = self._perturbed(grad, count)
        family, c, state = self.family, self.c, self.state
        if family.run is not None and self.recorded is None:
            state, out = family.run(grad, state, first, count, c)
        elif family.run is not None:  # the same numbers, keeping the internals
            state, out, kept = family.run(grad, state, first, count, c, keep=True)
            assert self.recorded is not None
            for into, values in zip(self.recorded, kept):
                if into is not None and values is not None:
                    into[first : first + count, self.rows] = values
        else:  # update by update
            out = np.empty((count, len(state.theta), 2))
            for i in range(count):
                state = family.update(grad(family.where(state, c)), state, first + i, c)
                out[i] = state.theta
                if self.recorded is not None:
                    self.state = state
                    self.keep(first + i)
        self.state = state
        return out

    @property
    def _hp(self) -> Any:
        return self.c

    def _sampled(self, grad, count):
        """``grad`` with the minibatch rows' gradients taken on this chunk's
        batches, one batch per call."""
        batches = _batches(self.sampler, count)
        rows, examples = self.sampled, self.batches.examples

        def sampled(q):
            g = grad(q)
            i, w = next(batches)
            g[rows] = minibatch.gradient(examples, q[rows], i, w)
            return g

        return sampled

    def _perturbed(self, grad, count):
        """``grad`` with this chunk's noise added, then clipped by norm."""
        noise = None
        if self.noise is not None:
            draws = self.rng.standard_normal((count, len(self.state.theta), 2))
            noise = iter(draws * self.noise)
        clip = self.clip

        def perturbed(q):
            g = grad(q)
            if noise is not None:
                g = g + next(noise)
            if clip is not None:
                g = optimizers.clip_by_norm(g, clip)
            return g

        return perturbed


# Minibatch indices are drawn at most this many at a time (with their
# weights, 16 bytes each): a chunk of 256 steps of 100,000-example batches
# would take 400 MB per row at once.
_MAX_DRAWN = 1 << 20


def _batches(sampler: minibatch.Sampler, count: int):
    """The indices and weights of ``count`` steps, one step at a time, drawn
    from ``sampler`` a few steps at a time (the same draws as all at once:
    each row's examples are dealt from its own shuffled epochs in order)."""
    steps = max(1, _MAX_DRAWN // (len(sampler.sizes) * sampler.width))
    for first in range(0, count, steps):
        index, weight = sampler.take(min(steps, count - first))
        yield from zip(index, weight)


def _minibatch_rows(
    batches: Minibatches | None, n: int
) -> tuple[Array, minibatch.Sampler | None]:
    if batches is None or not any(batches.sizes):
        return np.empty(0, dtype=np.intp), None
    rows: list[int] = []
    sizes: list[int] = []
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
    rules: Sequence[Any],  # each method's hp, from Method.build
    labels: Sequence[str],
    starts: Array,
    iterations: int,
    tolerance: float,
    box: tuple[Array, Array],
    batches: Minibatches | None = None,
    hessian: Callable[[Array], Array] | None = None,
    perturb: Perturbations | None = None,
    internals: Sequence[frozenset[str]] = (),
) -> list[Trajectory]:
    """Run the optimizers and cut each row where its status was decided.

    ``internals[i]`` names the kinds of :data:`optviz.optim.internals.KINDS`
    to keep for optimizer ``i`` (each among
    :func:`optviz.optim.methods.internal_kinds` of its ``hp``; none given:
    none kept, the fused run at full speed); its trajectories hold them as
    :attr:`Trajectory.internals`."""
    lo, hi = box
    asked = [frozenset(internals[i]) if i < len(internals) else frozenset()
             for i in range(len(rules))]  # fmt: skip
    for i, kinds in enumerate(asked):
        missing = kinds - optimizers.internal_kinds(rules[i])
        if missing:
            raise ValueError(
                f"optimizer {i} ({labels[i]}) has no {', '.join(sorted(missing))}"
            )
    record = frozenset(
        i for i, kinds in enumerate(asked) if kinds - internals_module.EVERY_METHOD
    )

    def bad(theta: Array) -> Array:
        return ~np.all(np.isfinite(theta) & (theta >= lo) & (theta <= hi), axis=-1)

    def stopped(theta: Array) -> Array:
        done = bad(theta)
        if tolerance > 0:
            with np.errstate(all="ignore"):
                done |= np.linalg.norm(grad(theta), axis=-1) < tolerance
        return done

    problem = second_order.Problem(f, grad, hessian) if hessian is not None else None
    history, codes, code_at, recorded = _step(
        grad, rules, starts, iterations, stopped, batches, problem, perturb, record
    )
    n = len(starts)
    out = []
    for i, label in enumerate(labels):
        rates = optimizers.learning_rates(rules[i], len(history))
        for j in range(n):
            event = (_CODES.get(int(codes[i * n + j])), int(code_at[i * n + j]))
            t = _cut(f, grad, label, i, j, history[:, i, j], tolerance, bad, event)
            if rates is not None:
                t = dataclasses.replace(t, lr=rates[: len(t.points)])
            if asked[i]:
                row = None
                if recorded is not None:
                    row = StateInternals(*(a[:, i * n + j] for a in recorded))
                kept = internals_module.from_run(t.points, grad, asked[i], row)
                t = dataclasses.replace(t, internals=kept)
            out.append(t)
    return out


def _cut(f, grad, label, i, j, points, tolerance, bad, event=(None, -1)):
    """Trim one row to where its status was decided: the first point with a
    gradient norm below the tolerance (kept), the first bad point (dropped:
    non-finite, outside the divergence box, or where f overflows), or the
    update at which a second-order method could not go on (``event``: its
    status and that update; θ stayed put from there, so only the points
    before it are kept)."""
    with np.errstate(all="ignore"):
        loss = f(points)
        grad_norm = np.linalg.norm(grad(points), axis=-1)
    broken = bad(points) | ~np.isfinite(loss) | ~np.isfinite(grad_norm)
    end = int(np.argmax(broken)) if broken.any() else len(points)
    status = Status.MAX_ITER
    if end < len(points):
        status = Status.DIVERGED
    if tolerance > 0:
        hits = np.flatnonzero(grad_norm[:end] < tolerance)
        if hits.size:
            end = int(hits[0]) + 1
            status = Status.CONVERGED
    code, at = event
    if code is not None and 0 < at < end:
        end, status = at, code
    return Trajectory(label, i, j, points[:end], loss[:end], grad_norm[:end], status)
