"""Least squares over generated examples: a surface whose gradient can be taken
on the full batch or on a sampled minibatch (the lecture's batch vs minibatch
vs stochastic gradient descent).

The two parameters are the plot's axes: x is the slope w and y the intercept b
of the model ŷ = w·u + b fitted to m examples (u_i, v_i), with

    f(w, b) = 1/(2m) Σ_i (w·u_i + b − v_i)²

Over the full batch f is a quadratic in (w, b) whose coefficients are moments
of the data, so the full-batch surface is written as an ordinary formula and
compiled like any other; only minibatch gradients need the examples
themselves (:func:`gradient`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

DEFAULTS = {"examples": 100, "slope": 2.0, "intercept": -1.0, "noise": 0.5, "seed": 0}


@dataclass(frozen=True)
class Examples:
    u: Array  # (m,) inputs
    v: Array  # (m,) targets

    @property
    def m(self) -> int:
        return len(self.u)


def generate(
    examples: int, slope: float, intercept: float, noise: float, seed: int
) -> Examples:
    """m examples v = slope·u + intercept + noise·N(0, 1), u ~ N(0, 1), seeded."""
    rng = np.random.default_rng(int(seed))
    u = rng.standard_normal(int(examples))
    v = slope * u + intercept + noise * rng.standard_normal(int(examples))
    return Examples(u, v)


def formula(data: Examples) -> str:
    """The full-batch loss as a formula in x = w and y = b."""
    u, v = data.u, data.v
    suu, su, suv, sv, svv = (float(np.mean(a)) for a in (u * u, u, u * v, v, v * v))
    return f"({suu!r}*x^2 + 2*{su!r}*x*y + y^2 - 2*{suv!r}*x - 2*{sv!r}*y + {svv!r})/2"


def minimum(data: Examples) -> tuple[float, float, float]:
    """The least-squares solution (w*, b*) and the loss there."""
    design = np.stack((data.u, np.ones_like(data.u)), axis=1)
    (w, b), *_ = np.linalg.lstsq(design, data.v, rcond=None)
    residual = w * data.u + b - data.v
    return float(w), float(b), float(np.mean(residual**2) / 2)


def gradient(data: Examples, points: Array, index: Array, weight: Array) -> Array:
    """∇f on minibatches: row r of ``points`` (R, 2) uses examples
    ``index[r]`` (R, B) weighted by ``weight[r]`` (1/b for the b examples of
    its batch, 0 for padding)."""
    u, v = data.u[index], data.v[index]
    w, b = points[:, :1], points[:, 1:]
    r = weight * (w * u + b - v)
    return np.stack(((r * u).sum(axis=1), r.sum(axis=1)), axis=-1)


class Sampler:
    """Minibatch indices for rows with their own batch sizes, shuffled afresh
    each epoch from a seeded generator per row.

    An epoch is a random permutation of the m examples cut into batches of b;
    a last, incomplete batch is dropped, so every batch has exactly b
    examples and every example is seen at most once per epoch.
    """

    def __init__(self, m: int, batch_sizes: Sequence[int], seed: int) -> None:
        self.m = m
        self.sizes = [int(b) for b in batch_sizes]
        self.width = max(self.sizes)
        self._rngs = [
            np.random.default_rng([int(seed), r]) for r in range(len(self.sizes))
        ]
        self._queues = [np.empty(0, dtype=np.intp) for _ in self.sizes]

    def take(self, count: int) -> tuple[Array, Array]:
        """Indices (count, R, B) and weights (count, R, B) for ``count`` steps."""
        index = np.zeros((count, len(self.sizes), self.width), dtype=np.intp)
        weight = np.zeros((count, len(self.sizes), self.width))
        for r, b in enumerate(self.sizes):
            need = count * b
            queue = self._queues[r]
            while len(queue) < need:
                per_epoch = (self.m // b) * b  # drop the incomplete last batch
                epoch = self._rngs[r].permutation(self.m)[:per_epoch]
                queue = np.concatenate((queue, epoch))
            index[:, r, :b] = queue[:need].reshape(count, b)
            weight[:, r, :b] = 1.0 / b
            self._queues[r] = queue[need:]
        return index, weight
