"""Runs of the optimizer core for tests: one call from names to trajectories,
the runs of a folder's configs, and a small config to sweep."""

from collections.abc import Mapping
from pathlib import Path

import numpy as np

import optviz
from optviz import api, surfaces
from optviz.optim import runner
from optviz.optim.methods import METHODS


def run(surface, specs, starts, iterations, tolerance=0.0, labels=None):
    """``runner.trajectories`` of the methods ``specs`` — ``[(method, params),
    ...]``, labelled by ``labels`` (default: the method names) — from
    ``starts`` on ``surface`` (a Surface or a built-in name)."""
    s = surfaces.get(surface) if isinstance(surface, str) else surface
    rules = [METHODS[m].build(p) for m, p in specs]
    return runner.trajectories(
        s.f,
        s.grad,
        rules,
        list(labels) if labels is not None else [m for m, _ in specs],
        np.array(starts, dtype=float),
        iterations,
        tolerance,
        runner.divergence_box(s.xlim, s.ylim),
        hessian=s.hessian,
    )


class ConfigRuns:
    """The runs of configs by stem, as ``optviz run`` computes them, each run
    once per session."""

    def __init__(self, by_stem: Mapping[str, Path]):
        self.by_stem = by_stem
        self._runs: dict[str, api.Result] = {}

    def run(self, stem: str) -> api.Result:
        if stem not in self._runs:
            self._runs[stem] = optviz.run(optviz.load_config(self.by_stem[stem]))
        return self._runs[stem]

    def trajectory(self, stem: str, label: str, start: int = 0) -> runner.Trajectory:
        """Optimizer ``label``'s run from start ``start`` (index into
        ``starts``)."""
        (t,) = [
            t
            for t in self.run(stem).trajectories
            if t.label == label and t.start == start
        ]
        return t

    def path(self, stem: str, label: str, start: int = 0) -> np.ndarray:
        """The points (n + 1, 2) of optimizer ``label`` from start ``start``."""
        return self.trajectory(stem, label, start).points


def without_claim_tests(stems, names) -> list[str]:
    """The ``stems`` without a test of their claims among ``names`` (a test
    module's globals): one named ``test_<stem>__...``."""
    tests = [n for n in names if n.startswith("test_") and "__" in n]
    return [s for s in stems if not any(n.startswith(f"test_{s}__") for n in tests)]


# A small config for sweeps (tests/test_sweeps.py, tests/test_player_sweep.py).
SWEEP_BASE = {
    "title": "sweep",
    "surface": {"name": "quadratic", "condition": 10, "angle": 30},
    "starts": [[-2.5, 1.5]],
    "iterations": 40,
    "optimizers": [
        {"label": "gd", "method": "gd", "lr": 0.1},
        {"label": "adam", "method": "adam", "lr": 0.1},
    ],
    "animation": {"frames": 12, "fps": 10, "hold": 0, "size": [320, 240]},
}
