"""The lecture's second-order and quasi-Newton methods, batched like the rest.

Each method steps a block of rows, one optimizer from every start, as pure
functions of a state: ``init(theta, problem) -> state`` and
``step(state, problem) -> state``, where ``problem`` gives f, ∇f and ∇²f over
``(..., 2)`` arrays. Nothing loops over rows; the line search tries all its
step lengths at once (one f call on an (R, T, 2) array).

A row that cannot go on gets a status code and stays where it is:
``SINGULAR`` when H + αI cannot be inverted (Newton), ``LINE_SEARCH`` when no
step length decreases f along a descent direction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from optviz.optim.protocol import Family

Array = np.ndarray

RUNNING, SINGULAR, LINE_SEARCH = 0, 1, 2

# Backtracking line search: α = 1, ½, ¼, ... (40 halvings reach 1e-12) until
# f(θ + αd) ≤ f(θ) + c₁ α ∇fᵀd (Armijo's sufficient decrease).
_SHRINK = 0.5
_TRIES = 40
_C1 = 1e-4
# A gradient this small is as good as zero: the row has converged, and its
# line search failing there is rounding (f cannot decrease in the last bits),
# not a failure. Genuine failures come with large gradients.
_FLAT = 1e-8


class Problem(NamedTuple):
    f: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    hessian: Callable[[Array], Array]


class SecondOrder(NamedTuple):
    """A second-order optimizer: which method, and its settings."""

    method: str
    lr: float = 1.0
    damping: float = 0.0
    memory: int = 10
    variant: str = "pr"


def _freeze(new: Array, old: Array, moving: Array) -> Array:
    """``new`` where the row moves, else ``old`` (rows on the first axis)."""
    shape = (-1,) + (1,) * (new.ndim - 1)
    return np.where(moving.reshape(shape), new, old)


def armijo(problem: Problem, theta: Array, fx: Array, g: Array, d: Array):
    """Backtracking line search for every row at once.

    Returns the step lengths (0 where none was found), a mask of rows where one
    was found, and f at the new points. A direction that is not a descent
    direction (∇fᵀd ≥ 0) finds none.
    """
    alphas = _SHRINK ** np.arange(_TRIES)
    slope = np.sum(g * d, axis=-1)
    trial = theta[:, None, :] + alphas[None, :, None] * d[:, None, :]
    with np.errstate(all="ignore"):
        ft = problem.f(trial)
        ok = ft <= fx[:, None] + _C1 * alphas[None, :] * slope[:, None]
    ok &= (slope < 0)[:, None]
    found = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    rows = np.arange(len(theta))
    alpha = np.where(found, alphas[first], 0.0)
    return alpha, found, np.where(found, ft[rows, first], fx)


# --- Newton ------------------------------------------------------------------


class NewtonState(NamedTuple):
    theta: Array  # (R, 2)
    code: Array  # (R,) status: RUNNING, or why the row stopped


def newton_init(theta: Array, problem: Problem, opt: SecondOrder) -> NewtonState:
    return NewtonState(theta, np.zeros(len(theta), dtype=np.int8))


def newton_step(s: NewtonState, problem: Problem, opt: SecondOrder) -> NewtonState:
    """θ ← θ − ε (H + αI)⁻¹ g, batched with ``np.linalg.solve``.

    α = 0 is the lecture's plain Newton, which goes to whichever critical point
    is near (saddles included); α > 0 regularizes it, and as α grows the step
    tends to gradient descent with learning rate 1/α. A row whose H + αI is
    singular (or nearly: condition number beyond 1e12) stops with status
    SINGULAR instead of taking a wild step.
    """
    g = problem.grad(s.theta)
    h = problem.hessian(s.theta) + opt.damping * np.eye(2)
    running = s.code == RUNNING
    # LAPACK's SVD fails on a matrix with NaN or inf (∇²f overflowing far
    # out): such a row cannot take a step either
    finite = np.asarray(np.isfinite(h).all(axis=(-2, -1)))
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(np.where(finite[:, None, None], h, np.eye(2)))
    invertible = finite & np.isfinite(cond) & (cond < 1e12)
    singular = running & ~invertible
    safe = np.where(invertible[:, None, None], h, np.eye(2))  # solve all rows
    step = np.linalg.solve(safe, g[..., None])[..., 0]
    moving = running & invertible
    theta = _freeze(s.theta - opt.lr * step, s.theta, moving)
    code = np.where(singular, SINGULAR, s.code).astype(np.int8)
    return NewtonState(theta, code)


# --- BFGS --------------------------------------------------------------------


class BFGSState(NamedTuple):
    theta: Array  # (R, 2)
    h_inv: Array  # (R, 2, 2) the inverse-Hessian estimate
    g: Array  # (R, 2) ∇f(θ)
    fx: Array  # (R,) f(θ)
    code: Array  # (R,) status


def bfgs_init(theta: Array, problem: Problem, opt: SecondOrder) -> BFGSState:
    eye = np.broadcast_to(np.eye(2), (len(theta), 2, 2)).copy()
    code = np.zeros(len(theta), dtype=np.int8)
    return BFGSState(theta, eye, problem.grad(theta), problem.f(theta), code)


def bfgs_update(h_inv: Array, s: Array, y: Array) -> tuple[Array, Array]:
    """The lecture's BFGS update of the inverse Hessian, for every row:

        H⁻¹ ← (I − s yᵀ/yᵀs) H⁻¹ (I − y sᵀ/yᵀs) + s sᵀ/yᵀs

    Rows with yᵀs ≤ 0 keep H⁻¹: the update needs positive curvature along s
    to stay positive definite, which an Armijo-only line search does not
    guarantee, so such pairs are skipped (as L-BFGS skips storing them).
    Returns the new H⁻¹ and the mask of rows that were updated.
    """
    ys = np.sum(y * s, axis=-1)
    accept = ys > 1e-12 * np.linalg.norm(y, axis=-1) * np.linalg.norm(s, axis=-1)
    rho = np.where(accept, 1.0 / np.where(accept, ys, 1.0), 0.0)[:, None, None]
    eye = np.eye(2)
    left = eye - rho * s[:, :, None] * y[:, None, :]
    right = eye - rho * y[:, :, None] * s[:, None, :]
    new = left @ h_inv @ right + rho * s[:, :, None] * s[:, None, :]
    return _freeze(new, h_inv, accept), accept


def _descend(g: Array, d: Array) -> Array:
    """``d`` where it points downhill, else the steepest descent −g (a restart)."""
    return _freeze(d, -g, np.sum(g * d, axis=-1) < 0)


def _line_step(problem: Problem, theta, fx, g, d, code):
    """Take the Armijo step along ``d`` for running rows; mark line-search
    failures (unless the gradient is already as good as zero)."""
    running = code == RUNNING
    alpha, found, f_new = armijo(problem, theta, fx, g, d)
    flat = np.linalg.norm(g, axis=-1) <= _FLAT
    failed = running & ~found & ~flat
    moving = running & found
    theta_new = _freeze(theta + alpha[:, None] * d, theta, moving)
    code = np.where(failed, LINE_SEARCH, code).astype(np.int8)
    return theta_new, np.where(moving, f_new, fx), moving, code


def bfgs_step(s: BFGSState, problem: Problem, opt: SecondOrder) -> BFGSState:
    """d = −H⁻¹g, an Armijo backtracking line search along d, then the BFGS
    update of H⁻¹ with s = θ_k − θ_{k−1}, y = ∇f(θ_k) − ∇f(θ_{k−1})."""
    d = _descend(s.g, -np.einsum("rij,rj->ri", s.h_inv, s.g))
    theta, fx, moving, code = _line_step(problem, s.theta, s.fx, s.g, d, s.code)
    g = _freeze(problem.grad(theta), s.g, moving)
    h_inv, _ = bfgs_update(s.h_inv, theta - s.theta, g - s.g)
    return BFGSState(theta, _freeze(h_inv, s.h_inv, moving), g, fx, code)


# --- L-BFGS ------------------------------------------------------------------


class LBFGSState(NamedTuple):
    theta: Array  # (R, 2)
    s: Array  # (R, m, 2) the last m steps, oldest first
    y: Array  # (R, m, 2) the matching gradient changes
    valid: Array  # (R, m) which slots hold a pair
    g: Array  # (R, 2)
    fx: Array  # (R,)
    code: Array  # (R,)


def lbfgs_init(theta: Array, problem: Problem, opt: SecondOrder) -> LBFGSState:
    r, m = len(theta), opt.memory
    return LBFGSState(
        theta,
        np.zeros((r, m, 2)),
        np.zeros((r, m, 2)),
        np.zeros((r, m), dtype=bool),
        problem.grad(theta),
        problem.f(theta),
        np.zeros(r, dtype=np.int8),
    )


def two_loop(g: Array, s: Array, y: Array, valid: Array) -> Array:
    """H⁻¹g from the stored pairs by the two-loop recursion, with H₀ = I (the
    lecture's choice; many libraries scale H₀ by sᵀy/yᵀy instead). Invalid
    slots contribute nothing."""
    m = s.shape[1]
    ys = np.sum(y * s, axis=-1)
    rho = np.where(valid, 1.0 / np.where(valid, ys, 1.0), 0.0)
    q = g.copy()
    a = np.zeros(valid.shape)
    for i in range(m - 1, -1, -1):  # newest to oldest
        a[:, i] = rho[:, i] * np.sum(s[:, i] * q, axis=-1)
        q = q - a[:, i, None] * y[:, i]
    r = q
    for i in range(m):  # oldest to newest
        b = rho[:, i] * np.sum(y[:, i] * r, axis=-1)
        r = r + s[:, i] * (a[:, i] - b)[:, None]
    return r


def lbfgs_step(st: LBFGSState, problem: Problem, opt: SecondOrder) -> LBFGSState:
    """BFGS with the inverse Hessian never formed: H⁻¹g from the last m pairs
    (s, y) by the two-loop recursion; pairs with yᵀs ≤ 0 are not stored."""
    d = _descend(st.g, -two_loop(st.g, st.s, st.y, st.valid))
    theta, fx, moving, code = _line_step(problem, st.theta, st.fx, st.g, d, st.code)
    g = _freeze(problem.grad(theta), st.g, moving)
    step, change = theta - st.theta, g - st.g
    ys = np.sum(step * change, axis=-1)
    norms = np.linalg.norm(step, axis=-1) * np.linalg.norm(change, axis=-1)
    store = moving & (ys > 1e-12 * norms)
    s = _freeze(np.concatenate((st.s[:, 1:], step[:, None]), axis=1), st.s, store)
    y = _freeze(np.concatenate((st.y[:, 1:], change[:, None]), axis=1), st.y, store)
    shifted = np.concatenate((st.valid[:, 1:], np.ones((len(g), 1), bool)), axis=1)
    valid = _freeze(shifted, st.valid, store)
    return LBFGSState(theta, s, y, valid, g, fx, code)


# --- nonlinear conjugate gradients -------------------------------------------


class CGState(NamedTuple):
    theta: Array  # (R, 2)
    d: Array  # (R, 2) the search direction
    g: Array  # (R, 2)
    fx: Array  # (R,)
    code: Array  # (R,)


def cg_init(theta: Array, problem: Problem, opt: SecondOrder) -> CGState:
    g = problem.grad(theta)
    return CGState(theta, -g, g, problem.f(theta), np.zeros(len(theta), np.int8))


def cg_step(st: CGState, problem: Problem, opt: SecondOrder) -> CGState:
    """Nonlinear conjugate gradients: an Armijo line search along d, then
    d ← −g + βd with Polak–Ribière β = max(0, gᵀ(g − g_prev)/g_prevᵀg_prev)
    (``variant: pr``) or Fletcher–Reeves β = gᵀg/g_prevᵀg_prev (``fr``). A
    direction that does not descend is reset to −g (a restart)."""
    d = _descend(st.g, st.d)
    theta, fx, moving, code = _line_step(problem, st.theta, st.fx, st.g, d, st.code)
    g = _freeze(problem.grad(theta), st.g, moving)
    old = np.maximum(np.sum(st.g * st.g, axis=-1), 1e-300)
    if opt.variant == "fr":
        beta = np.sum(g * g, axis=-1) / old
    else:
        beta = np.maximum(0.0, np.sum(g * (g - st.g), axis=-1) / old)
    d_new = _freeze(-g + beta[:, None] * d, d, moving)
    return CGState(theta, d_new, g, fx, code)


STEPS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "newton": (newton_init, newton_step),
    "bfgs": (bfgs_init, bfgs_step),
    "lbfgs": (lbfgs_init, lbfgs_step),
    "cg": (cg_init, cg_step),
}


class Bound(NamedTuple):
    """A second-order optimizer's settings with the problem it runs on."""

    opt: SecondOrder
    problem: Problem


def _bind(opt: SecondOrder, problem: Problem | None) -> Bound:
    if problem is None:
        raise ValueError("second-order methods need f, the gradient and Hessian")
    return Bound(opt, problem)


def _init(b: Bound, rows: Array) -> Any:
    return STEPS[b.opt.method][0](rows, b.problem, b.opt)


def _update(grad: None, state: Any, t: int, b: Bound) -> Any:
    return STEPS[b.opt.method][1](state, b.problem, b.opt)


# The second-order methods as one implementation of the protocol: each steps
# its own block of rows and evaluates f, ∇f and ∇²f itself.
FAMILY = Family(_init, _update, bind=_bind)
