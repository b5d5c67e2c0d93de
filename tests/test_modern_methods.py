"""The methods beyond the lecture (optviz.optim.modern): Lion against its
paper, first steps by hand, what ``optviz list methods`` says about torch's
Nesterov and momentum, and their hyperparameters' checks.

Their agreement with torch.optim at every step is tests/test_torch_reference.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optviz.optim import lr_schedules
from optviz.optim.methods import METHODS
from optviz.optim.runner import step_all
from optviz.surfaces import SURFACES

NEW = ("sgd", "adam_torch", "adamw", "nadam", "radam", "adamax", "adadelta", "lion")
STARTS = {"beale": [(2.0, -2.0), (-3.0, 3.0)], "rosenbrock": [(-1.2, 1.0), (1.5, -0.5)]}


def run(method, params, surface, starts, n):
    hp = METHODS[method].build(params)
    grad = SURFACES[surface].grad
    return step_all(grad, [hp], np.array(starts, dtype=float), n)[:, 0]


# --- Lion against the paper's pseudocode -----------------------------------------


def sign(x: float) -> float:
    return (x > 0) - (x < 0)


def lion_paper(grad, theta0, n, eta, beta1, beta2, lam):
    """Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms",
    Algorithm 2 (Lion), transcribed for one start in Python floats:

        g_t ← ∇f(θ_{t−1})
        c_t ← β1 m_{t−1} + (1 − β1) g_t
        θ_t ← θ_{t−1} − η_t (sign(c_t) + λ θ_{t−1})
        m_t ← β2 m_{t−1} + (1 − β2) g_t
    """
    theta, m = list(theta0), [0.0, 0.0]
    out = [theta]
    for t in range(1, n + 1):
        g = [float(v) for v in grad(np.array([theta]))[0]]
        c = [beta1 * m[i] + (1 - beta1) * g[i] for i in range(2)]
        theta = [theta[i] - eta(t) * (sign(c[i]) + lam * theta[i]) for i in range(2)]
        m = [beta2 * m[i] + (1 - beta2) * g[i] for i in range(2)]
        out.append(theta)
    return np.array(out)


LION_CASES = [
    ("beale", {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.1}),
    ("rosenbrock", {"lr": 0.004, "beta1": 0.95, "beta2": 0.98, "weight_decay": 0.5}),
    ("beale", {"lr": {"schedule": "cosine", "from": 0.02, "to": 0.001, "steps": 300,
                      "warmup": 20}, "beta1": 0.9, "beta2": 0.9}),
]  # fmt: skip


@pytest.mark.parametrize(
    "surface, params", LION_CASES, ids=["beale", "rosenbrock", "cosine-warmup"]
)
def test_lion_is_its_papers_pseudocode(surface, params):
    n = 300
    lr = params["lr"]
    if isinstance(lr, dict):
        settings = dict(lr)
        lr = lr_schedules.make(settings.pop("schedule"), settings)
    hp = {**params, "lr": lr}
    ours = run("lion", hp, surface, STARTS[surface], n)
    eta = lr.at if not isinstance(lr, float) else (lambda t: lr)
    for j, start in enumerate(STARTS[surface]):
        lam = params.get("weight_decay", 0.0)
        paper = lion_paper(SURFACES[surface].grad, start, n, eta, params["beta1"],
                           params["beta2"], lam)  # fmt: skip
        np.testing.assert_allclose(ours[:, j], paper, rtol=1e-12, atol=0)
        assert np.linalg.norm(paper[-1] - paper[0]) > 0.1  # it moved


def test_lion_first_step_by_hand():
    # m0 = 0, so c1 = (1 − β1) g: the step is ε·sign(g) plus the decay ελθ0
    theta = run("lion", {"lr": 0.1, "weight_decay": 0.5}, "rosenbrock", [(1.5, -0.5)],
                1)[1, 0]  # fmt: skip
    g = SURFACES["rosenbrock"].grad(np.array([1.5, -0.5]))  # (+, −)
    assert g[0] > 0 > g[1]
    np.testing.assert_allclose(
        theta, (1.5 - 0.1 * (1 + 0.75), -0.5 - 0.1 * (-1 - 0.25))
    )


# --- first steps by hand ---------------------------------------------------------


def bowl(p):
    return 2.0 * np.asarray(p)  # ∇(x² + y²)


def steps(method, params, n, start=(1.0, -2.0)):
    hp = METHODS[method].build(params)
    return step_all(bowl, [hp], np.array([start]), n)[:, 0, 0]


def test_sgd_momentum_and_dampening_by_hand():
    # b1 = g0 (no dampening on the first update), b2 = μ b1 + (1 − τ) g1
    theta = steps("sgd", {"lr": 0.1, "momentum": 0.5, "dampening": 0.2}, 2)
    g0 = np.array([2.0, -4.0])
    theta1 = np.array([1.0, -2.0]) - 0.1 * g0
    b2 = 0.5 * g0 + 0.8 * 2 * theta1
    np.testing.assert_allclose(theta[1:], [theta1, theta1 - 0.1 * b2], rtol=1e-15)


def test_sgd_nesterov_first_step_is_one_plus_mu_times_the_gradient():
    theta = steps("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, 1)
    np.testing.assert_allclose(theta[1], np.array([1.0, -2.0]) - 0.1 * 1.9 * np.array(
        [2.0, -4.0]), rtol=1e-15)  # fmt: skip


def test_adam_torch_first_step_has_eps_outside_the_root():
    # t = 1: m̂ = g, â = g², so the step is ε g/(|g| + ν)
    eps = 0.5
    theta = steps("adam_torch", {"lr": 0.1, "eps": eps}, 1)
    g = np.array([2.0, -4.0])
    np.testing.assert_allclose(theta[1], [1.0, -2.0] - 0.1 * g / (np.abs(g) + eps))
    # the lecture's adam puts ν inside: ε g/√(g² + ν)
    lecture = steps("adam", {"lr": 0.1, "eps": eps}, 1)
    np.testing.assert_allclose(lecture[1], [1.0, -2.0] - 0.1 * g / np.sqrt(g * g + eps))


def test_adamw_decays_before_the_step_and_adam_torch_through_the_gradient():
    wd = 0.5
    adamw = steps("adamw", {"lr": 0.1, "eps": 0.0, "weight_decay": wd}, 1)
    l2 = steps("adam_torch", {"lr": 0.1, "eps": 0.0, "weight_decay": wd}, 1)
    theta0 = np.array([1.0, -2.0])
    # AdamW: θ(1 − ελ), then ε·sign(g); Adam's L2: g + λθ has g's signs here
    np.testing.assert_allclose(adamw[1], theta0 * (1 - 0.05) - 0.1 * np.sign(theta0))
    np.testing.assert_allclose(l2[1], theta0 - 0.1 * np.sign(theta0))


def test_amsgrad_keeps_the_largest_second_moment():
    # a rising then falling gradient: AMSGrad's denominator does not shrink
    def grad(p):
        return np.where(p > 0.95, 10.0, 0.1) * np.ones_like(p)

    start = np.array([[1.0, 1.0]])
    params = {"lr": 0.01, "beta2": 0.9}
    plain = step_all(grad, [METHODS["adam_torch"].build(params)], start, 60)
    ams = step_all(grad, [METHODS["adam_torch"].build({**params, "amsgrad": True})],
                   start, 60)  # fmt: skip
    steps_plain = -np.diff(plain[:, 0, 0, 0])
    steps_ams = -np.diff(ams[:, 0, 0, 0])
    assert np.allclose(steps_plain[:5], steps_ams[:5])  # the same while g is 10
    assert steps_ams[-1] < steps_plain[-1] / 3  # then smaller: a stayed large


def test_radam_takes_plain_momentum_steps_until_rho_exceeds_5():
    # β2 = 0.9: ρ∞ = 19, ρ_t ≤ 5 for t ≤ 5, so the first five updates are ε m̂
    lr, beta1 = 0.01, 0.8
    theta = steps("radam", {"lr": lr, "beta1": beta1, "beta2": 0.9}, 6)
    m, x = np.zeros(2), np.array([1.0, -2.0])
    for t in range(1, 6):
        m = beta1 * m + (1 - beta1) * 2 * x
        x = x - lr * m / (1 - beta1**t)
        np.testing.assert_allclose(theta[t], x, rtol=1e-13)
    m = beta1 * m + (1 - beta1) * 2 * x
    assert not np.allclose(theta[6], x - lr * m / (1 - beta1**6), rtol=1e-6)


def test_adadelta_first_step_by_hand():
    rho, eps = 0.9, 1e-6
    theta = steps("adadelta", {"rho": rho, "eps": eps}, 1)  # lr 1 (torch's)
    g = np.array([2.0, -4.0])
    a = (1 - rho) * g * g
    np.testing.assert_allclose(theta[1], [1.0, -2.0] - math.sqrt(eps) / np.sqrt(a + eps)
                               * g)  # fmt: skip


# --- what `optviz list methods` says of torch's conventions ---------------------


def test_torchs_nesterov_path_is_the_lectures_look_ahead_point():
    """sgd with nesterov: true shows θ + αv of the lecture's nesterov (same
    ε and α = μ), not its θ: the summary's claim, on Beale's function."""
    lr, mu, n = 5e-6, 0.9, 400
    starts = STARTS["beale"]
    torch_style = run("sgd", {"lr": lr, "momentum": mu, "nesterov": True}, "beale",
                      starts, n)  # fmt: skip
    lecture = run("nesterov", {"lr": lr, "momentum": mu}, "beale", starts, n)
    v = np.diff(lecture, axis=0)  # θ ← θ + v
    look_ahead = np.concatenate([lecture[:1], lecture[1:] + mu * v])
    np.testing.assert_allclose(torch_style, look_ahead, rtol=1e-9)
    assert np.max(np.abs(torch_style - lecture)) > 1e-2  # not the lecture's θ


def test_sgd_momentum_is_the_lectures_momentum_at_a_constant_rate():
    lr, mu, n = 5e-6, 0.9, 400
    starts = STARTS["beale"]
    torch_style = run("sgd", {"lr": lr, "momentum": mu}, "beale", starts, n)
    lecture = run("momentum", {"lr": lr, "momentum": mu}, "beale", starts, n)
    np.testing.assert_allclose(torch_style, lecture, rtol=1e-9)


def test_the_summaries_say_where_eps_goes():
    for name in ("adam_torch", "nadam", "radam"):
        assert "ν outside the root" in METHODS[name].summary
    eps = {h.key: h for h in METHODS["adamw"].hyperparameters}["eps"]
    assert "outside the square root" in eps.help
    assert "inside" in METHODS["adadelta"].summary
    nesterov = {h.key: h for h in METHODS["sgd"].hyperparameters}["nesterov"]
    assert "look-ahead points θ + αv" in nesterov.help
    assert "its path is the lecture's look-ahead θ + αv" in METHODS["sgd"].summary


# --- hyperparameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "method, params, message",
    [
        ("sgd", {"nesterov": True}, "nesterov: true needs momentum > 0 and "
         "dampening 0"),
        ("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
         "nesterov: true needs momentum > 0"),
        ("sgd", {"dampening": 1.5}, "dampening must be in [0, 1]; got 1.5"),
        ("adam_torch", {"beta1": 1.0}, "beta1 must be in [0, 1); got 1"),
        ("adamw", {"weight_decay": -0.1}, "weight_decay must be >= 0; got -0.1"),
        ("nadam", {"momentum_decay": -1}, "momentum_decay must be >= 0; got -1"),
        ("adadelta", {"rho": 1.5}, "rho must be in [0, 1]; got 1.5"),
        ("lion", {"lr": 0}, "lr must be > 0; got 0"),
        ("radam", {"amsgrad": True}, "radam has no hyperparameter 'amsgrad'"),
    ],
    ids=["nesterov-no-momentum", "nesterov-dampening", "dampening", "beta1",
         "weight-decay", "momentum-decay", "rho", "lr-0", "unknown"],
)  # fmt: skip
def test_bad_hyperparameters_are_refused(method, params, message):
    with pytest.raises(ValueError) as e:
        METHODS[method].build(params)
    assert str(e.value).startswith(message)


def test_what_torch_allows_is_allowed():
    METHODS["adam_torch"].build({"eps": 0.0, "beta1": 0.0})
    METHODS["sgd"].build({"momentum": 1.5})  # torch checks only momentum >= 0
    METHODS["adadelta"].build({"rho": 1.0})
    METHODS["lion"].build({"beta1": 1.0, "beta2": 0.0})


@pytest.mark.parametrize("method", NEW)
def test_every_new_method_runs_on_its_defaults(method):
    theta = run(method, {}, "rosenbrock", STARTS["rosenbrock"], 50)
    assert np.all(np.isfinite(theta)) and not np.array_equal(theta[-1], theta[0])
