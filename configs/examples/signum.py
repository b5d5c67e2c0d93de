"""Signum (Bernstein et al., 2018, "signSGD: compressed optimisation for
non-convex problems"): momentum, then only its sign.

A method of one's own for optviz: one function pair over the rows (one row
per start, an (R, 2) float64 array) and its hyperparameters, declared with
``method(...)``. A config names it as ``method: ./signum.py:signum``, the path
relative to the config. Naming it runs this file, as pytest runs a
conftest.py.
"""

from typing import NamedTuple

import numpy as np

from optviz.optim.plugins import LR, Hyperparameter, method


class State(NamedTuple):
    theta: np.ndarray  # (R, 2) the points
    m: np.ndarray  # (R, 2) the momentum


def init(hp, rows):
    """The state before the first update: the starts, no momentum."""
    return State(rows, np.zeros_like(rows))


def update(grad, state, t, hp):
    """Signum: m ← βm + (1 − β)g; θ ← θ − ε·sign(m)."""
    m = hp.beta * state.m + (1 - hp.beta) * grad
    return State(state.theta - hp.lr * np.sign(m), m)


signum = method(
    LR,  # lr: ε, required, > 0
    Hyperparameter(
        "beta", "β", "momentum", default=0.9, low=0.0, high=1.0, high_inclusive=False
    ),
    init=init,
    update=update,
)
