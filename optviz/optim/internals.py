"""What an optimizer does at its head, kept per iteration when asked.

A run normally keeps θ alone (:class:`~optviz.optim.runner.Trajectory`); the
lecture's pictures "momentum averages away the zigzag" and "Nesterov looks
ahead" need more: the gradient at the head, the velocity the method carries,
the step it takes, the point where it takes its next gradient, the
per-coordinate scaling of an adaptive method. These are the *kinds* of
:data:`KINDS`, asked for per optimizer (``internals: [gradient, velocity]``).

Two of them every method has, read off the trajectory: the gradient ∇f(θ_k)
and the step θ_{k+1} − θ_k. The rest live in a method's state: a family
declares which of them an ``hp`` has (:attr:`Family.kinds
<optviz.optim.protocol.Family>`) and reads them off a state
(:attr:`Family.internals <optviz.optim.protocol.Family>`, a
:class:`StateInternals`). The runner asks for them only for the optimizers
that want them, so that a run without them is the fused run it always was.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Array = np.ndarray

# The kinds, in the order they are drawn and listed.
KINDS = ("gradient", "velocity", "step", "lookahead", "scaling")
# What any method has: read off the trajectory and the surface.
EVERY_METHOD = frozenset({"gradient", "step"})
# What each kind needs of a method, for messages.
NEEDS = {
    "velocity": "a velocity (momentum > 0)",
    "lookahead": "a look-ahead point (Nesterov momentum)",
    "scaling": "a per-coordinate scaling (adagrad, rmsprop, adam, adam_torch, "
    "adamw, radam, adamax)",
}


class StateInternals(NamedTuple):
    """What a family reads off a state after ``t`` updates, each (R, 2) or
    None where its ``hp`` has no such thing."""

    velocity: Array | None  # v_t
    lookahead: Array | None  # where the next gradient is taken, e.g. θ + αv
    # the per-coordinate factor of update t, ε_t/√(a_t + ν) (NaN for t = 0)
    scaling: Array | None


class Internals(NamedTuple):
    """One run's internals at each of its points θ_0 .. θ_n, each (n + 1, 2),
    None where not asked for.

    At point k: ``gradient`` ∇f(θ_k); ``velocity`` v_k, the velocity the
    method carries into its next step; ``step`` θ_{k+1} − θ_k, the step it
    takes from there (NaN at the last point: no step follows); ``lookahead``
    the point where that step's gradient is taken (θ_k + αv_k for Nesterov)
    and ``lookahead_gradient`` ∇f there; ``scaling`` the per-coordinate
    factor of that step, ε/√(a + ν) with a including its gradient (NaN at the
    last point)."""

    gradient: Array | None = None
    velocity: Array | None = None
    step: Array | None = None
    lookahead: Array | None = None
    lookahead_gradient: Array | None = None
    scaling: Array | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds held, in the order of :data:`KINDS`."""
        return tuple(k for k in KINDS if getattr(self, k) is not None)


def from_run(
    points: Array,
    grad,
    kinds: frozenset[str],
    recorded: StateInternals | None,
) -> Internals:
    """The :class:`Internals` of one run, cut to its ``points`` (n + 1, 2):
    ``recorded`` holds the state's internals after 0 .. K updates (K ≥ n),
    each (K + 1, 2); ``grad`` is the surface's full gradient."""
    n = len(points)
    nan = np.full((1, 2), np.nan)
    out: dict[str, Array] = {}
    with np.errstate(all="ignore"):
        if "gradient" in kinds:
            out["gradient"] = np.asarray(grad(points), dtype=float)
        if "step" in kinds:
            out["step"] = np.concatenate([np.diff(points, axis=0), nan])[:n]
        if recorded is not None:
            if "velocity" in kinds and recorded.velocity is not None:
                out["velocity"] = recorded.velocity[:n].copy()
            if "lookahead" in kinds and recorded.lookahead is not None:
                ahead = recorded.lookahead[:n].copy()
                out["lookahead"] = ahead
                out["lookahead_gradient"] = np.asarray(grad(ahead), dtype=float)
            if "scaling" in kinds and recorded.scaling is not None:
                # point k shows the factor of update k + 1, the step it takes
                scaling = np.concatenate([recorded.scaling[1:n], nan])
                out["scaling"] = scaling[:n]
    return Internals(**out)
