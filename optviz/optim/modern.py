"""The methods beyond the lecture, as their authors and ``torch.optim`` define them.

Each is one function pair of the protocol (:mod:`optviz.optim.protocol`),
``init(hp, rows)`` and ``update(grad, state, t, hp)`` over batched ``(R, 2)``
float64 rows, registered with its hyperparameters, whose keys, defaults and
ranges are ``torch.optim``'s (one scalar each: ``betas=(β1, β2)`` is ``beta1``
and ``beta2``; ``lr`` must be > 0 here, where torch also takes 0). The
arithmetic follows ``torch.optim``'s single-tensor code (PyTorch 2.13)
operation for operation, so that a run gives torch's numbers; the tests
check every method against trajectories recorded from ``torch.optim``
(``benchmarks/record_torch_reference.py``), and Lion, which torch lacks,
against the pseudocode of its paper.

Where the lecture adds its small constant ν inside the square root (its
``adam``, ``rmsprop``, ``adagrad``), torch adds ``eps`` outside it,
ε·m̂/(√â + ν), and so do these methods (Adadelta, which adds it inside in
torch too, excepted). ``adam`` stays the lecture's; ``adam_torch`` is
``torch.optim.Adam``. ``sgd``'s Nesterov is torch's, which differs from the
lecture's ``nesterov`` (see :func:`sgd_update`).

What a video can draw at the heads (:mod:`optviz.optim.internals`) beyond
the gradient and the step: ``sgd`` with momentum has a velocity, the
displacement −εb its buffer carries (the lecture's v, θ ← θ + v); the Adam
kind (``adam_torch``, ``adamw``, ``radam``, ``adamax``) has a per-coordinate
scaling, the factor its update applies to the first moment m. NAdam (whose
step mixes g and m), Adadelta and Lion show the gradient and the step alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from optviz.optim.internals import EVERY_METHOD, StateInternals
from optviz.optim.methods import Hyperparameter, register

Array = np.ndarray


def _lr(default: float) -> Hyperparameter:
    return Hyperparameter("lr", "ε", "learning rate", default=default, low=0.0,
                          low_inclusive=False, schedulable=True)  # fmt: skip


def _unit(key, symbol, help, default, closed=False) -> Hyperparameter:
    return Hyperparameter(key, symbol, help, default=default, low=0.0, high=1.0,
                          high_inclusive=closed)  # fmt: skip


BETA1 = _unit("beta1", "β1", "decay of the first moment (torch: betas[0])", 0.9)
BETA2 = _unit("beta2", "β2", "decay of the second moment (torch: betas[1])", 0.999)
EPS = Hyperparameter("eps", "ν", "small constant added outside the square root, "
                     "as torch adds it", default=1e-8, low=0.0)  # fmt: skip
L2 = Hyperparameter("weight_decay", "λ", "L2 penalty: λθ added to the gradient",
                    default=0.0, low=0.0)  # fmt: skip
AMSGRAD = Hyperparameter(
    "amsgrad", "", "AMSGrad: the running maximum of the second moment in the "
    "denominator", default=False, boolean=True,
)  # fmt: skip
DECOUPLED = Hyperparameter(
    "decoupled_weight_decay", "", "weight_decay as AdamW's, θ ← θ(1 − ελ) before "
    "the step, instead of L2 in the gradient", default=False, boolean=True,
)  # fmt: skip


def _lerp(start: Array, end: Array, weight: float) -> Array:
    """torch.lerp: start + w(end − start), computed from the nearer end."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _decay(g: Array, theta: Array, hp: Any, decoupled: bool) -> tuple[Array, Array]:
    """Weight decay, torch's two ways: decoupled, θ ← θ(1 − ελ) before the
    step; else L2, g ← g + λθ."""
    if hp.weight_decay == 0:
        return g, theta
    if decoupled:
        return g, theta * (1 - hp.lr * hp.weight_decay)
    return g + hp.weight_decay * theta, theta


# --- SGD ----------------------------------------------------------------------


class SGDState(NamedTuple):
    theta: Array  # (R, 2) the points
    buf: Array  # (R, 2) the momentum buffer b


def sgd_init(hp: Any, rows: Array) -> SGDState:
    return SGDState(rows, np.zeros_like(rows))


def sgd_update(g: Array, s: SGDState, t: int, hp: Any) -> SGDState:
    """SGD as torch.optim.SGD: b ← μb + (1 − τ)g (b = g at first); θ ← θ − εb.

    With ``nesterov: true``, θ ← θ − ε(g + μb), the gradient taken at θ
    itself. That is the lecture's Nesterov written for its look-ahead point:
    torch's path is the lecture's θ + αv (with α = μ, v = −εb), one momentum
    step ahead of the θ that the lecture's ``nesterov`` shows (which takes
    the gradient at θ + αv), and its first step is ε(1 + μ)g, not εg. The
    lecture's ``momentum`` is this with τ = 0 and a constant ε (torch scales
    the whole buffer by ε of the update, the lecture folds each ε into v).
    """
    g, theta = _decay(g, s.theta, hp, decoupled=False)
    buf = s.buf
    if hp.momentum != 0:
        buf = g if t == 1 else buf * hp.momentum + (1 - hp.dampening) * g
        g = g + hp.momentum * buf if hp.nesterov else buf
    return SGDState(theta + (-hp.lr) * g, buf)


def _with(kind: str, has: bool) -> frozenset[str]:
    """What every method shows, and ``kind`` if the method ``has`` it."""
    return EVERY_METHOD | {kind} if has else EVERY_METHOD


def _scaling(factor: Any, theta: Array) -> StateInternals:
    return StateInternals(None, None, np.broadcast_to(factor, theta.shape))


def _nesterov_needs_momentum(values: Mapping[str, Any]) -> tuple[str, str] | None:
    if values["nesterov"] and (values["momentum"] <= 0 or values["dampening"] != 0):
        return ("nesterov", "nesterov: true needs momentum > 0 and dampening 0 "
                "(as torch.optim.SGD)")  # fmt: skip
    return None


register(
    "sgd",
    _lr(1e-3),
    Hyperparameter("momentum", "μ", "momentum factor (0: plain SGD)", default=0.0,
                   low=0.0),
    Hyperparameter("dampening", "τ", "dampening: b ← μb + (1 − τ)g", default=0.0,
                   low=0.0, high=1.0),
    L2,
    Hyperparameter(
        "nesterov", "", "torch's Nesterov: θ ← θ − ε(g + μb), g at θ; its path is "
        "the lecture's look-ahead points θ + αv, not the lecture's nesterov θ",
        default=False, boolean=True,
    ),
    init=sgd_init,
    update=sgd_update,
    check=_nesterov_needs_momentum,
    kinds=lambda hp: _with("velocity", hp.momentum != 0),
    internals=lambda s, t, hp: StateInternals(-hp.lr * s.buf, None, None),
    summary="SGD as torch.optim.SGD: b ← μb + (1 − τ)g (b = g at first); "
    "θ ← θ − εb; nesterov: θ ← θ − ε(g + μb) with g at θ, so its path is the "
    "lecture's look-ahead θ + αv, not the θ of the lecture's nesterov (which "
    "takes g at θ + αv); weight_decay adds λθ to g",
)  # fmt: skip


# --- Adam, AdamW (AMSGrad) -------------------------------------------------------


class AdamState(NamedTuple):
    theta: Array  # (R, 2) the points
    m: Array  # (R, 2) first moment
    a: Array  # (R, 2) second moment
    a_max: Array  # (R, 2) its running maximum (amsgrad)


def adam_init(hp: Any, rows: Array) -> AdamState:
    zeros = np.zeros_like(rows)
    return AdamState(rows, zeros, zeros, zeros)


def _adam(g: Array, s: AdamState, t: int, hp: Any, decoupled: bool) -> AdamState:
    g, theta = _decay(g, s.theta, hp, decoupled)
    m = _lerp(s.m, g, 1 - hp.beta1)
    a = s.a * hp.beta2 + (1 - hp.beta2) * g * g
    bias1 = 1 - hp.beta1**t
    bias2 = 1 - hp.beta2**t
    step = hp.lr / bias1
    a_max = np.maximum(s.a_max, a) if hp.amsgrad else s.a_max
    denom = np.sqrt(a_max if hp.amsgrad else a) / bias2**0.5 + hp.eps
    return AdamState(theta + (-step) * m / denom, m, a, a_max)


def adam_internals(s: AdamState, t: int, hp: Any) -> StateInternals:
    """The factor update ``t`` applied to m, ε/(1 − β1ᵗ)/(√â + ν) (NaN
    before the first)."""
    if t < 1:
        return _scaling(np.nan, s.theta)
    a = s.a_max if hp.amsgrad else s.a
    denom = np.sqrt(a) / (1 - hp.beta2**t) ** 0.5 + hp.eps
    return _scaling(hp.lr / (1 - hp.beta1**t) / denom, s.theta)


def _scales(hp: Any) -> frozenset[str]:
    return _with("scaling", True)


def adam_torch_update(g: Array, s: AdamState, t: int, hp: Any) -> AdamState:
    """Adam as torch.optim.Adam: θ ← θ − ε m̂/(√â + ν), ν outside the root."""
    return _adam(g, s, t, hp, decoupled=False)


def adamw_update(g: Array, s: AdamState, t: int, hp: Any) -> AdamState:
    """AdamW as torch.optim.AdamW: θ ← θ(1 − ελ), then Adam's step."""
    return _adam(g, s, t, hp, decoupled=True)


register(
    "adam_torch", _lr(1e-3), BETA1, BETA2, EPS, L2, AMSGRAD,
    init=adam_init, update=adam_torch_update,
    kinds=_scales, internals=adam_internals,
    summary="Adam as torch.optim.Adam: m ← β1m + (1 − β1)g; a ← β2a + (1 − β2)g⊙g; "
    "θ ← θ − ε m̂/(√â + ν), m̂ = m/(1 − β1ᵗ), â = a/(1 − β2ᵗ): ν outside the root "
    "(the lecture's adam: inside), weight_decay adds λθ to g, amsgrad: â from "
    "the running max of a",
)  # fmt: skip
register(
    "adamw", _lr(1e-3), BETA1, BETA2, EPS,
    Hyperparameter("weight_decay", "λ", "decoupled weight decay: θ ← θ(1 − ελ) "
                   "before the step", default=1e-2, low=0.0),
    AMSGRAD,
    init=adam_init, update=adamw_update,
    kinds=_scales, internals=adam_internals,
    summary="AdamW (Loshchilov & Hutter) as torch.optim.AdamW: θ ← θ(1 − ελ), then "
    "adam_torch's step, ν outside the root (the decay not through the moments)",
)  # fmt: skip


# --- NAdam, RAdam, Adamax ------------------------------------------------------


class NAdamState(NamedTuple):
    theta: Array  # (R, 2) the points
    m: Array  # (R, 2) first moment
    a: Array  # (R, 2) second moment
    mu_product: float  # μ_1 ⋯ μ_t


def nadam_init(hp: Any, rows: Array) -> NAdamState:
    return NAdamState(rows, np.zeros_like(rows), np.zeros_like(rows), 1.0)


def nadam_update(g: Array, s: NAdamState, t: int, hp: Any) -> NAdamState:
    """NAdam (Dozat 2016) as torch.optim.NAdam, with its momentum schedule μ_t."""
    bias2 = 1 - hp.beta2**t
    g, theta = _decay(g, s.theta, hp, hp.decoupled_weight_decay)
    mu = hp.beta1 * (1.0 - 0.5 * (0.96 ** (t * hp.momentum_decay)))
    mu_next = hp.beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * hp.momentum_decay)))
    mu_product = s.mu_product * mu
    m = _lerp(s.m, g, 1 - hp.beta1)
    a = s.a * hp.beta2 + (1 - hp.beta2) * g * g
    denom = np.sqrt(a / bias2) + hp.eps
    theta = theta + (-hp.lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
    product_next = mu_product * mu_next
    theta = theta + ((-hp.lr * mu_next) / (1.0 - product_next)) * m / denom
    return NAdamState(theta, m, a, mu_product)


register(
    "nadam", _lr(2e-3), BETA1, BETA2, EPS, L2,
    Hyperparameter("momentum_decay", "ψ", "momentum decay: μ_t = β1(1 − ½·0.96^(tψ))",
                   default=4e-3, low=0.0),
    DECOUPLED,
    init=nadam_init, update=nadam_update,
    summary="NAdam (Dozat 2016) as torch.optim.NAdam: Adam with Nesterov momentum, "
    "μ_t = β1(1 − ½·0.96^(tψ)); θ ← θ − ε[(1 − μ_t)/(1 − Πμ) g + μ_{t+1}/(1 − "
    "Πμ·μ_{t+1}) m]/(√â + ν), ν outside the root",
)  # fmt: skip


class MomentsState(NamedTuple):
    theta: Array  # (R, 2) the points
    m: Array  # (R, 2) first moment
    a: Array  # (R, 2) second moment (Adamax: the infinity norm u)


def moments_init(hp: Any, rows: Array) -> MomentsState:
    return MomentsState(rows, np.zeros_like(rows), np.zeros_like(rows))


def radam_update(g: Array, s: MomentsState, t: int, hp: Any) -> MomentsState:
    """RAdam (Liu et al. 2020) as torch.optim.RAdam: Adam's step rectified by r_t
    once ρ_t > 5, plain momentum SGD before."""
    g, theta = _decay(g, s.theta, hp, hp.decoupled_weight_decay)
    m = _lerp(s.m, g, 1 - hp.beta1)
    a = s.a * hp.beta2 + (1 - hp.beta2) * g * g
    bias1 = 1 - hp.beta1**t
    bias2 = 1 - hp.beta2**t
    m_hat = m / bias1
    rect = _rectification(t, hp.beta2)
    if rect is not None:
        adaptive = (bias2**0.5) / (np.sqrt(a) + hp.eps)
        return MomentsState(theta - m_hat * hp.lr * adaptive * rect, m, a)
    return MomentsState(theta - m_hat * hp.lr, m, a)


def _rectification(t: int, beta2: float) -> float | None:
    """RAdam's r_t, None while ρ_t ≤ 5 (no adaptive step yet)."""
    bias2 = 1 - beta2**t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2**t) / bias2
    if rho_t <= 5.0:
        return None
    return (
        (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    ) ** 0.5


def radam_internals(s: MomentsState, t: int, hp: Any) -> StateInternals:
    """The factor update ``t`` applied to m: ε r_t √(1 − β2ᵗ)/(√a + ν)/(1 −
    β1ᵗ), or ε/(1 − β1ᵗ) alike for both coordinates before ρ_t > 5."""
    if t < 1:
        return _scaling(np.nan, s.theta)
    factor = hp.lr / (1 - hp.beta1**t)
    rect = _rectification(t, hp.beta2)
    if rect is None:
        return _scaling(factor, s.theta)
    adaptive = (1 - hp.beta2**t) ** 0.5 / (np.sqrt(s.a) + hp.eps)
    return _scaling(factor * adaptive * rect, s.theta)


register(
    "radam", _lr(1e-3), BETA1, BETA2, EPS, L2, DECOUPLED,
    init=moments_init, update=radam_update,
    kinds=_scales, internals=radam_internals,
    summary="RAdam (Liu et al. 2020) as torch.optim.RAdam: θ ← θ − ε m̂·r_t·√(1 − "
    "β2ᵗ)/(√a + ν) once ρ_t > 5 (r_t the variance rectification), θ ← θ − ε m̂ "
    "before; ν outside the root",
)  # fmt: skip


def adamax_internals(s: MomentsState, t: int, hp: Any) -> StateInternals:
    """The factor update ``t`` applied to m, ε/(1 − β1ᵗ)/u."""
    if t < 1:
        return _scaling(np.nan, s.theta)
    return _scaling(hp.lr / (1 - hp.beta1**t) / s.a, s.theta)


def adamax_update(g: Array, s: MomentsState, t: int, hp: Any) -> MomentsState:
    """Adamax (Kingma & Ba 2015) as torch.optim.Adamax: Adam with the infinity norm."""
    g, theta = _decay(g, s.theta, hp, decoupled=False)
    m = _lerp(s.m, g, 1 - hp.beta1)
    u = np.maximum(s.a * hp.beta2, np.abs(g) + hp.eps)
    step = hp.lr / (1 - hp.beta1**t)
    return MomentsState(theta + (-step) * m / u, m, u)


register(
    "adamax", _lr(2e-3), BETA1, BETA2,
    Hyperparameter("eps", "ν", "small constant added to |g| (torch's place)",
                   default=1e-8, low=0.0),
    L2,
    init=moments_init, update=adamax_update,
    kinds=_scales, internals=adamax_internals,
    summary="Adamax (Kingma & Ba 2015) as torch.optim.Adamax: m ← β1m + (1 − β1)g; "
    "u ← max(β2u, |g| + ν); θ ← θ − ε/(1 − β1ᵗ)·m/u",
)  # fmt: skip


# --- Adadelta --------------------------------------------------------------------


class AdadeltaState(NamedTuple):
    theta: Array  # (R, 2) the points
    a: Array  # (R, 2) running average of g⊙g
    u: Array  # (R, 2) running average of Δ⊙Δ


def adadelta_init(hp: Any, rows: Array) -> AdadeltaState:
    return AdadeltaState(rows, np.zeros_like(rows), np.zeros_like(rows))


def adadelta_update(g: Array, s: AdadeltaState, t: int, hp: Any) -> AdadeltaState:
    """Adadelta (Zeiler 2012) as torch.optim.Adadelta."""
    g, theta = _decay(g, s.theta, hp, decoupled=False)
    a = s.a * hp.rho + (1 - hp.rho) * g * g
    std = np.sqrt(a + hp.eps)
    delta = np.sqrt(s.u + hp.eps) / std * g
    u = s.u * hp.rho + (1 - hp.rho) * delta * delta
    return AdadeltaState(theta + (-hp.lr) * delta, a, u)


register(
    "adadelta", _lr(1.0),
    _unit("rho", "ρ", "decay of both running averages", 0.9, closed=True),
    Hyperparameter("eps", "ν", "small constant inside both square roots (where "
                   "torch adds it for Adadelta)", default=1e-6, low=0.0),
    L2,
    init=adadelta_init, update=adadelta_update,
    summary="Adadelta (Zeiler 2012) as torch.optim.Adadelta: a ← ρa + (1 − ρ)g⊙g; "
    "Δ = √(u + ν)/√(a + ν) ⊙ g; u ← ρu + (1 − ρ)Δ⊙Δ; θ ← θ − εΔ (ν inside the "
    "roots, as torch)",
)  # fmt: skip


# --- Lion --------------------------------------------------------------------


class LionState(NamedTuple):
    theta: Array  # (R, 2) the points
    m: Array  # (R, 2) the momentum


def lion_init(hp: Any, rows: Array) -> LionState:
    return LionState(rows, np.zeros_like(rows))


def lion_update(g: Array, s: LionState, t: int, hp: Any) -> LionState:
    """Lion (Chen et al. 2023, arXiv:2302.06675, Algorithm 2), not in torch.optim.

    c ← β1 m + (1 − β1) g; θ ← θ − ε(sign(c) + λθ); m ← β2 m + (1 − β2) g:
    the sign of an interpolated momentum, with decoupled weight decay.
    """
    c = hp.beta1 * s.m + (1 - hp.beta1) * g
    theta = s.theta - hp.lr * (np.sign(c) + hp.weight_decay * s.theta)
    m = hp.beta2 * s.m + (1 - hp.beta2) * g
    return LionState(theta, m)


register(
    "lion", _lr(1e-4),
    _unit("beta1", "β1", "interpolation of momentum and gradient for the step",
          0.9, closed=True),
    _unit("beta2", "β2", "decay of the momentum", 0.99, closed=True),
    Hyperparameter("weight_decay", "λ", "decoupled weight decay: ελθ off each step",
                   default=0.0, low=0.0),
    init=lion_init, update=lion_update,
    summary="Lion (Chen et al. 2023, Algorithm 2; not in torch.optim): c ← β1m + "
    "(1 − β1)g; θ ← θ − ε(sign(c) + λθ); m ← β2m + (1 − β2)g",
)  # fmt: skip
