"""Every update rule against the lecture's formula.

Three layers: first steps worked out by hand on the bowl f = x² + y²
(∇f = 2θ); twenty steps on Beale's function against a literal, one-start,
scalar transcription of the lecture's pseudocode; and batched runs against
one-start runs.
"""

import math

import numpy as np
import pytest

from optviz.optim import methods as optimizers
from optviz.optim.methods import METHODS
from optviz.optim.runner import step_all
from optviz.surfaces import SURFACES


def bowl_grad(p):
    return 2.0 * np.asarray(p, dtype=float)


def steps(method, params, start, n, grad=bowl_grad):
    rule = METHODS[method].build(params)
    return step_all(grad, [rule], np.array([start], dtype=float), n)[:, 0, 0]


# θ0 = (1, −2) on the bowl, so g0 = (2, −4). Each expectation is the lecture's
# rule worked by hand; the arithmetic is spelled out rather than typed as
# decimals so that it can be checked against the formula at a glance.
R = math.sqrt
HAND = [
    # gd, ε = 0.1: θ1 = θ0 − 0.1 (2, −4)
    ("gd", {"lr": 0.1}, [(0.8, -1.6)]),
    # momentum, ε = 0.1, α = 0.9: v1 = (−0.2, 0.4), θ1 = (0.8, −1.6);
    # g1 = (1.6, −3.2), v2 = 0.9 v1 − 0.1 g1 = (−0.34, 0.68), θ2 = (0.46, −0.92)
    ("momentum", {"lr": 0.1, "momentum": 0.9}, [(0.8, -1.6), (0.46, -0.92)]),
    # nesterov: v0 = 0 so step 1 is gd's; the look-ahead θ1 + 0.9 v1 =
    # (0.62, −1.24) gives g = (1.24, −2.48), v2 = (−0.18 − 0.124, 0.36 + 0.248)
    (
        "nesterov",
        {"lr": 0.1, "momentum": 0.9},
        [(0.8, -1.6), (0.8 - 0.304, -1.6 + 0.608)],
    ),
    # adagrad, ε = 0.5: a1 = (4, 16), θ1 = θ0 − 0.5 g0/√a1 = (0.5, −1.5);
    # g1 = (1, −3), a2 = (5, 25), θ2 = (0.5 − 0.5/√5, −1.5 + 0.5·3/5)
    (
        "adagrad",
        {"lr": 0.5, "eps": 1e-12},
        [(0.5, -1.5), (0.5 - 0.5 / R(5), -1.2)],
    ),
    # rmsprop, ε = 0.1, β = 0.9: a1 = 0.1 g0² = (0.4, 1.6); the first step is
    # ε g/√(0.1 g²) = ε/√0.1 per coordinate, against the gradient's sign
    (
        "rmsprop",
        {"lr": 0.1, "beta": 0.9, "eps": 1e-12},
        [(1 - 0.1 / R(0.1), -2 + 0.1 / R(0.1))],
    ),
    # adam, ε = 0.1: the bias-corrected moments at t = 1 are g and g², so the
    # first step is ε·sign(g)
    ("adam", {"lr": 0.1, "eps": 1e-12}, [(0.9, -1.9)]),
]


@pytest.mark.parametrize("method, params, expected", HAND, ids=[h[0] for h in HAND])
def test_first_steps_by_hand(method, params, expected):
    theta = steps(method, params, (1.0, -2.0), len(expected))
    np.testing.assert_allclose(theta[0], (1.0, -2.0))
    np.testing.assert_allclose(theta[1:], expected, rtol=1e-9, atol=1e-9)


def test_rmsprop_with_momentum_second_step_by_hand():
    lr, beta, alpha = 0.1, 0.9, 0.5
    theta = steps("rmsprop", {"lr": lr, "beta": beta, "momentum": alpha,
                              "eps": 1e-12}, (1.0, -2.0), 2)  # fmt: skip
    s = 0.1 / R(0.1)
    v1 = np.array([-s, s])
    theta1 = np.array([1.0, -2.0]) + v1
    g1 = 2 * theta1
    a2 = beta * 0.1 * np.array([4.0, 16.0]) + (1 - beta) * g1**2
    v2 = alpha * v1 - lr / np.sqrt(a2) * g1
    np.testing.assert_allclose(theta[2], theta1 + v2, rtol=1e-9)


# --- the lecture's pseudocode, transcribed literally for one start ---------


def lecture_gd(grad, theta, n, lr):
    out = [theta]
    for _ in range(n):
        g = grad(theta)
        theta = [theta[i] - lr * g[i] for i in range(2)]
        out.append(theta)
    return out


def lecture_momentum(grad, theta, n, lr, momentum, nesterov=False):
    v = [0.0, 0.0]
    out = [theta]
    for _ in range(n):
        at = [theta[i] + momentum * v[i] for i in range(2)] if nesterov else theta
        g = grad(at)
        v = [momentum * v[i] - lr * g[i] for i in range(2)]
        theta = [theta[i] + v[i] for i in range(2)]
        out.append(theta)
    return out


def lecture_adagrad(grad, theta, n, lr, eps):
    a = [0.0, 0.0]
    out = [theta]
    for _ in range(n):
        g = grad(theta)
        a = [a[i] + g[i] * g[i] for i in range(2)]
        theta = [theta[i] - lr / math.sqrt(a[i] + eps) * g[i] for i in range(2)]
        out.append(theta)
    return out


def lecture_rmsprop(grad, theta, n, lr, beta, eps, momentum=0.0):
    a = [0.0, 0.0]
    v = [0.0, 0.0]
    out = [theta]
    for _ in range(n):
        g = grad(theta)
        a = [beta * a[i] + (1 - beta) * g[i] * g[i] for i in range(2)]
        v = [momentum * v[i] - lr / math.sqrt(a[i] + eps) * g[i] for i in range(2)]
        theta = [theta[i] + v[i] for i in range(2)]
        out.append(theta)
    return out


def lecture_adam(grad, theta, n, lr, beta1, beta2, eps):
    v = [0.0, 0.0]
    a = [0.0, 0.0]
    out = [theta]
    for t in range(1, n + 1):
        g = grad(theta)
        v = [beta1 * v[i] + (1 - beta1) * g[i] for i in range(2)]
        a = [beta2 * a[i] + (1 - beta2) * g[i] * g[i] for i in range(2)]
        vt = [v[i] / (1 - beta1**t) for i in range(2)]
        at = [a[i] / (1 - beta2**t) for i in range(2)]
        theta = [theta[i] - lr / math.sqrt(at[i] + eps) * vt[i] for i in range(2)]
        out.append(theta)
    return out


def beale_grad_scalar(p):
    x, y = p
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    return [
        2 * t1 * (y - 1) + 2 * t2 * (y**2 - 1) + 2 * t3 * (y**3 - 1),
        2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y**2,
    ]


LECTURE = [
    ("gd", {"lr": 1e-4}, lambda g, s, n: lecture_gd(g, s, n, 1e-4)),
    (
        "momentum",
        {"lr": 5e-6, "momentum": 0.9},
        lambda g, s, n: lecture_momentum(g, s, n, 5e-6, 0.9),
    ),
    (
        "nesterov",
        {"lr": 5e-6, "momentum": 0.9},
        lambda g, s, n: lecture_momentum(g, s, n, 5e-6, 0.9, nesterov=True),
    ),
    ("adagrad", {"lr": 4.0}, lambda g, s, n: lecture_adagrad(g, s, n, 4.0, 1e-7)),
    (
        "rmsprop",
        {"lr": 0.25},
        lambda g, s, n: lecture_rmsprop(g, s, n, 0.25, 0.99, 1e-7),
    ),
    (
        "rmsprop",
        {"lr": 0.05, "momentum": 0.9},
        lambda g, s, n: lecture_rmsprop(g, s, n, 0.05, 0.99, 1e-7, 0.9),
    ),
    (
        "adam",
        {"lr": 0.22, "beta2": 0.99},
        lambda g, s, n: lecture_adam(g, s, n, 0.22, 0.9, 0.99, 1e-7),
    ),
]


@pytest.mark.parametrize("start", [(2.0, -2.0), (-3.0, 3.0)], ids=["opt1", "opt2"])
@pytest.mark.parametrize(
    "method, params, reference",
    LECTURE,
    ids=["gd", "momentum", "nesterov", "adagrad", "rmsprop", "rmsprop+p", "adam"],
)
def test_matches_lecture_pseudocode_on_beale(method, params, reference, start):
    n = 20
    ours = steps(method, params, start, n, grad=SURFACES["beale"].grad)
    expected = np.array(reference(beale_grad_scalar, list(start), n))
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


def test_batched_run_equals_one_start_runs():
    grad = SURFACES["beale"].grad
    rules = [METHODS[m].build(p) for m, p, _ in LECTURE]
    starts = np.array([[2.0, -2.0], [-3.0, 3.0], [1.0, 1.0]])
    batched = step_all(grad, rules, starts, 300)
    for i, rule in enumerate(rules):
        for j, start in enumerate(starts):
            alone = step_all(grad, [rule], start[None], 300)[:, 0, 0]
            np.testing.assert_array_equal(batched[:, i, j], alone)


def test_defaults_are_the_lectures():
    assert METHODS["momentum"].defaults()["momentum"] == 0.9
    assert METHODS["rmsprop"].defaults() == {
        "beta": 0.99,
        "eps": 1e-7,
        "momentum": 0,
        "nesterov": False,
    }
    assert METHODS["adam"].defaults() == {
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-7,
        "bias_correction": True,
    }
    assert METHODS["adagrad"].defaults() == {"eps": 1e-7}


@pytest.mark.parametrize(
    "method, params, message",
    [
        ("gd", {}, "gd needs lr"),
        ("gd", {"lr": -0.01}, "lr must be > 0; got -0.01"),
        ("momentum", {"lr": 0.1, "momentum": 1.0}, "momentum must be in [0, 1); got 1"),
        ("adam", {"lr": 0.1, "beta2": -0.5}, "beta2 must be in [0, 1); got -0.5"),
        ("adagrad", {"lr": 0.1, "eps": 0.0}, "eps must be > 0; got 0"),
        ("gd", {"lr": float("nan")}, "lr must be > 0; got nan"),
        ("gd", {"lr": 0.1, "momentum": 0.9}, "gd has no hyperparameter 'momentum'"),
    ],
    ids=["missing", "negative", "momentum-1", "beta2", "eps-0", "nan", "unknown"],
)
def test_bad_hyperparameters_are_refused_when_built(method, params, message):
    with pytest.raises(ValueError) as e:
        METHODS[method].build(params)
    assert str(e.value).startswith(message)


def test_schedule_is_the_identity_without_bias_correction():
    c = optimizers.stack([METHODS["rmsprop"].build({"lr": 0.3})])
    lr, scale2 = optimizers.schedule(c, 1, 5)
    assert np.all(lr == 0.3) and np.all(scale2 == 1.0)


def test_gd_linear_decay_by_hand():
    # ε0 = 0.1, ε_τ = 0.01, τ = 2 on the bowl: the factor per update is 1 − 2ε_k
    # with ε_0 = 0.1, ε_1 = (1 − 1/2)·0.1 + (1/2)·0.01 = 0.055, then 0.01 on
    theta = steps("gd", {"lr": 0.1, "lr_final": 0.01, "decay_steps": 2},
                  (1.0, -2.0), 4)  # fmt: skip
    factors = [1 - 2 * 0.1, 1 - 2 * 0.055, 1 - 2 * 0.01, 1 - 2 * 0.01]
    expected = np.array([1.0, -2.0]) * np.cumprod(factors)[:, None]
    np.testing.assert_allclose(theta[1:], expected, rtol=1e-12)


def test_gd_without_decay_steps_keeps_its_learning_rate():
    theta = steps("gd", {"lr": 0.1, "lr_final": 0.01}, (1.0, -2.0), 3)
    np.testing.assert_allclose(theta[3], np.array([1.0, -2.0]) * 0.8**3)


def test_adam_without_bias_correction_by_hand():
    # t = 1: v = 0.1 g, a = 0.001 g², so the step is ε·0.1/√0.001 per
    # coordinate against the gradient's sign, not ε as with the correction
    theta = steps("adam", {"lr": 0.1, "eps": 1e-12, "bias_correction": False},
                  (1.0, -2.0), 1)  # fmt: skip
    s = 0.1 * 0.1 / R(0.001)
    np.testing.assert_allclose(theta[1], (1 - s, -2 + s), rtol=1e-9)


def test_rmsprop_with_nesterov_momentum_takes_the_gradient_ahead():
    lr, beta, alpha = 0.1, 0.9, 0.5
    params = {"lr": lr, "beta": beta, "momentum": alpha, "nesterov": True}
    theta = steps("rmsprop", {**params, "eps": 1e-12}, (1.0, -2.0), 2)
    s = 0.1 / R(0.1)
    v1 = np.array([-s, s])  # v0 = 0: the first step is plain RMSProp's
    theta1 = np.array([1.0, -2.0]) + v1
    g1 = 2 * (theta1 + alpha * v1)  # at the look-ahead point
    a2 = beta * 0.1 * np.array([4.0, 16.0]) + (1 - beta) * g1**2
    v2 = alpha * v1 - lr / np.sqrt(a2) * g1
    np.testing.assert_allclose(theta[2], theta1 + v2, rtol=1e-9)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lr": 0.1, "nesterov": 1}, "nesterov must be true or false; got 1"),
        ({"lr": 0.1, "momentum": True}, "momentum must be a number"),
    ],
    ids=["not-bool", "bool-for-number"],
)
def test_booleans_are_booleans(params, message):
    with pytest.raises(ValueError) as e:
        METHODS["rmsprop"].build(params)
    assert str(e.value).startswith(message)
