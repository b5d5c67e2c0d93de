"""Runs of the optimizer core for tests: one call from names to trajectories."""

import numpy as np

from optviz import surfaces
from optviz.optim import runner as core
from optviz.optim.methods import METHODS


def run(surface, specs, starts, iterations, tolerance=0.0, labels=None):
    """``core.trajectories`` of the methods ``specs`` — ``[(method, params),
    ...]``, labelled by ``labels`` (default: the method names) — from
    ``starts`` on ``surface`` (a Surface or a built-in name)."""
    s = surfaces.get(surface) if isinstance(surface, str) else surface
    rules = [METHODS[m].build(p) for m, p in specs]
    return core.trajectories(
        s.f,
        s.grad,
        rules,
        list(labels) if labels is not None else [m for m, _ in specs],
        np.array(starts, dtype=float),
        iterations,
        tolerance,
        core.divergence_box(s.xlim, s.ylim),
        hessian=s.hessian,
    )
