"""The optimizer protocol: a method added from outside the package in one call.

Each toy method below is one ``register(...)`` call with one function pair,
``init(hp, rows) -> state`` and ``update(grad, state, t, hp) -> state``, as a
user would write it in their own module; the tests run them through a config
file, ``optviz.run`` and the command line, and check their steps by hand.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import yaml

import optviz
from optviz import config as config_module
from optviz.cli import main
from optviz.optim import methods
from optviz.optim.methods import FUSED, LR, METHODS, Hyperparameter, register
from optviz.optim.runner import Perturbations, step_all
from optviz.surfaces import SURFACES

Array = np.ndarray


# --- signSGD: θ ← θ − ε·sign(g) ---------------------------------------------


class SignState(NamedTuple):
    theta: Array  # (R, 2) the points


def sign_init(hp, rows: Array) -> SignState:
    return SignState(rows)


def sign_update(grad: Array, state: SignState, t: int, hp) -> SignState:
    """signSGD: θ ← θ − ε·sign(g)."""
    return SignState(state.theta - hp.lr * np.sign(grad))


# --- AdamW: Adam with decoupled weight decay (a user's own; optviz ships adamw) ---


class AdamWState(NamedTuple):
    theta: Array  # (R, 2) the points
    m: Array  # (R, 2) first moment
    a: Array  # (R, 2) second moment


def adamw_init(hp, rows: Array) -> AdamWState:
    return AdamWState(rows, np.zeros_like(rows), np.zeros_like(rows))


def adamw_update(grad: Array, s: AdamWState, t: int, hp) -> AdamWState:
    """AdamW: Adam's step, then θ ← θ − ελθ (decay not through the moments)."""
    m = hp.beta1 * s.m + (1 - hp.beta1) * grad
    a = hp.beta2 * s.a + (1 - hp.beta2) * grad * grad
    m_hat, a_hat = m / (1 - hp.beta1**t), a / (1 - hp.beta2**t)
    step = m_hat / (np.sqrt(a_hat) + hp.eps) + hp.weight_decay * s.theta
    return AdamWState(s.theta - hp.lr * step, m, a)


# --- Nesterov again, to show where the gradient is taken ---------------------


class VelocityState(NamedTuple):
    theta: Array  # (R, 2) the points
    v: Array  # (R, 2) velocity


def nag_init(hp, rows: Array) -> VelocityState:
    return VelocityState(rows, np.zeros_like(rows))


def nag_query(s: VelocityState, hp) -> Array:
    return s.theta + hp.momentum * s.v  # the look-ahead point


def nag_update(grad: Array, s: VelocityState, t: int, hp) -> VelocityState:
    """Nesterov momentum, outside the fused rule: v ← αv − ε∇J(θ + αv)."""
    v = hp.momentum * s.v - hp.lr * grad
    return VelocityState(s.theta + v, v)


UNIT = dict(low=0.0, high=1.0, high_inclusive=False)


@pytest.fixture(scope="module")
def toys():
    """The three toy methods, registered as a user's module would, and
    removed again so that the rest of the suite sees the package's own."""
    made = [
        register("signsgd", LR, init=sign_init, update=sign_update),
        register(
            "my_adamw",
            LR,
            Hyperparameter("beta1", "β1", "first-moment decay", 0.9, **UNIT),
            Hyperparameter("beta2", "β2", "second-moment decay", 0.999, **UNIT),
            Hyperparameter("eps", "ν", "added to √a", 1e-8, low=0.0),
            Hyperparameter("weight_decay", "λ", "decoupled decay", 0.01, low=0.0),
            init=adamw_init,
            update=adamw_update,
        ),
        register(
            "nag",
            LR,
            Hyperparameter("momentum", "α", "momentum", 0.9, **UNIT),
            init=nag_init,
            update=nag_update,
            query=nag_query,
        ),
    ]
    yield {m.name: m for m in made}
    for m in made:
        methods.FAMILIES.pop(type(m.build({"lr": 0.1})))
        del METHODS[m.name]


# A bowl where every sign step lands on a multiple of 1/4: exact arithmetic.
BOWL = {"name": "bowl", "formula": "x^2 + 4*y^2", "domain": {"x": [-2, 2],
        "y": [-2, 2]}, "minima": [{"x": 0, "y": 0, "value": 0}]}  # fmt: skip


def write(folder, optimizers, **changes):
    data = {"surface": BOWL, "starts": [[1, -0.5], [-0.75, 0.5]], "iterations": 6,
            "tolerance": 0, "optimizers": optimizers, **changes}  # fmt: skip
    path = folder / "toy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_method_registered_outside_runs_from_a_config(tmp_path, toys):
    config = optviz.load_config(
        write(
            tmp_path, [{"method": "signsgd", "lr": 0.25}, {"method": "gd", "lr": 0.1}]
        )
    )
    result = optviz.run(config)
    sign = [t for t in result.trajectories if t.label == "signsgd"]
    # by hand: each coordinate moves 1/4 toward 0 and stays there (sign 0 = 0)
    np.testing.assert_array_equal(
        sign[0].points,
        [(1, -0.5), (0.75, -0.25), (0.5, 0), (0.25, 0), (0, 0), (0, 0), (0, 0)],
    )
    np.testing.assert_array_equal(
        sign[1].points,
        [(-0.75, 0.5), (-0.5, 0.25), (-0.25, 0), (0, 0), (0, 0), (0, 0), (0, 0)],
    )
    assert [t.status.value for t in sign] == ["max_iter", "max_iter"]
    # the fused rows beside it keep their numbers: gd's factors 1 − 0.2, 1 − 0.8
    gd = next(t for t in result.trajectories if t.label == "gd")
    expected = np.array([1.0, -0.5]) * np.array([0.8, 0.2]) ** np.arange(7)[:, None]
    np.testing.assert_allclose(gd.points, expected, rtol=1e-12, atol=1e-15)


def test_the_command_line_runs_and_lists_it(tmp_path, capsys, toys):
    cfg = write(tmp_path, [{"label": "sign", "method": "signsgd", "lr": 0.25}])
    code = main(["run", str(cfg), "--no-video", "-o", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    with open(tmp_path / "out" / "trajectories.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    first = [(float(r["x"]), float(r["y"])) for r in rows if r["start"] == "0"]
    assert {r["optimizer"] for r in rows} == {"sign"}
    assert first == [(1, -0.5), (0.75, -0.25), (0.5, 0), (0.25, 0), (0, 0), (0, 0),
                     (0, 0)]  # fmt: skip
    capsys.readouterr()
    assert main(["list", "methods"]) == 0
    text = capsys.readouterr().out
    assert "  signsgd " in text and "signSGD: θ ← θ − ε·sign(g)." in text


def test_adamw_first_steps_by_hand(toys):
    hp = toys["my_adamw"].build({"lr": 0.1, "weight_decay": 0.5, "eps": 0.0})
    theta = step_all(lambda p: 2 * p, [hp], np.array([[1.0, -2.0]]), 2)[:, 0, 0]
    # t = 1: the corrected moments are g and g², so Adam's step is ε·sign(g);
    # the decay then takes ελθ0 = 0.05·(1, −2) on top
    theta1 = np.array([1 - 0.1 - 0.05, -2 + 0.1 + 0.1])
    np.testing.assert_allclose(theta[1], theta1, rtol=1e-15)
    # t = 2, worked from the moments: m = 0.09 g0 + 0.1 g1, a likewise in g²
    g0, g1 = np.array([2.0, -4.0]), 2 * theta1
    m = (0.9 * 0.1 * g0 + 0.1 * g1) / (1 - 0.81)
    a = (0.999 * 0.001 * g0**2 + 0.001 * g1**2) / (1 - 0.999**2)
    theta2 = theta1 - 0.1 * (m / np.sqrt(a) + 0.5 * theta1)
    np.testing.assert_allclose(theta[2], theta2, rtol=1e-12)


def test_query_takes_the_gradient_ahead_as_the_fused_nesterov_does(toys):
    grad, starts = SURFACES["beale"].grad, np.array([[2.0, -2.0], [-3.0, 3.0]])
    params = {"lr": 5e-6, "momentum": 0.9}
    ours = step_all(grad, [toys["nag"].build(params)], starts, 300)
    fused = step_all(grad, [METHODS["nesterov"].build(params)], starts, 300)
    np.testing.assert_array_equal(ours, fused)


def test_the_hyperparameters_are_a_typed_frozen_value(toys):
    hp = toys["my_adamw"].build({"lr": 1})
    assert (hp.lr, hp.beta1, hp.weight_decay) == (1.0, 0.9, 0.01)
    assert type(hp.lr) is float
    with pytest.raises(AttributeError):
        hp.lr = 2.0


@pytest.mark.parametrize(
    "entry, where, message",
    [
        ({"method": "signsgd"}, "optimizers[0]",
         "missing required key 'lr' (ε, learning rate) for signsgd"),
        ({"method": "signsgd", "lr": -1}, "optimizers[0].lr", "lr must be > 0; got -1"),
        ({"method": "my_adamw", "lr": 1, "beta2": 1}, "optimizers[0].beta2",
         "beta2 must be in [0, 1); got 1"),
        ({"method": "signsdg", "lr": 1}, "optimizers[0].method",
         "did you mean 'signsgd'"),
        ({"method": "signsgd", "lr": 1, "momentum": 0.9}, "optimizers[0].momentum",
         "for signsgd"),
    ],
    ids=["missing", "out-of-range", "beta2", "near-miss", "unknown-key"],
)  # fmt: skip
def test_bad_hyperparameters_are_one_line(
    tmp_path, capsys, toys, entry, where, message
):
    cfg = write(tmp_path, [entry])
    assert main(["run", str(cfg), "--no-video"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"optviz: error: {cfg}: {where}: ")
    assert message in err


def test_a_name_is_registered_once_and_a_method_needs_both_functions(toys):
    with pytest.raises(ValueError, match="registered already"):
        register("signsgd", LR, init=sign_init, update=sign_update)
    with pytest.raises(ValueError, match="needs both init and update"):
        register("half", LR, init=sign_init)
    assert "half" not in METHODS


def test_a_hyperparameter_cannot_take_a_key_every_entry_has():
    for key, _ in config_module.ENTRY_OPTIONS:
        noisy = Hyperparameter(key, "σ", "clashes", 0.0, low=0.0)
        with pytest.raises(ValueError, match="key of every optimizer entry"):
            register("clash", LR, noisy, init=sign_init, update=sign_update)
    assert "clash" not in METHODS


def test_clipping_reaches_a_function_pair_as_it_reaches_the_fused_rows():
    """gd as a function pair, clipped by norm, takes the fused gd's steps."""
    gd = register(
        "pair-gd",
        LR,
        init=sign_init,
        update=lambda g, s, t, hp: SignState(s.theta - hp.lr * g),
        summary="gd as a function pair",
    )
    try:
        grad, starts = SURFACES["beale"].grad, np.array([[2.0, -2.0], [-3.0, 3.0]])
        rules = [gd.build({"lr": 1e-3}), METHODS["gd"].build({"lr": 1e-3})]
        clipped = Perturbations(clip_norm=(0.5, 0.5), noise=(0.0, 0.0))
        theta = step_all(grad, rules, starts, 200, perturb=clipped)
        np.testing.assert_array_equal(theta[:, 0], theta[:, 1])
        plain = step_all(grad, rules[1:], starts, 200)
        assert not np.array_equal(theta[:, 1], plain[:, 0])  # clipping did act
    finally:
        methods.FAMILIES.pop(type(rules[0]))
        del METHODS["pair-gd"]


def test_the_fused_family_steps_as_its_protocol_update_does():
    """The lecture family's fast path (a chunk of updates, its schedule
    computed once) gives the numbers of its protocol ``update``, bit for bit."""
    rules = [METHODS["gd"].build({"lr": 1e-3, "lr_final": 1e-4, "decay_steps": 5}),
             METHODS["nesterov"].build({"lr": 1e-3}),
             METHODS["adam"].build({"lr": 0.1})]  # fmt: skip
    grad, starts = SURFACES["beale"].grad, np.array([[2.0, -2.0], [-1.0, 1.0]])
    c = FUSED.stack(rules, len(starts))
    rows = np.tile(starts, (len(rules), 1))
    _, fast = FUSED.run(grad, FUSED.init(c, rows), 1, 40, c)
    state = FUSED.init(c, rows)
    for t in range(1, 41):
        state = FUSED.update(grad(FUSED.where(state, c)), state, t, c)
        np.testing.assert_array_equal(state.theta, fast[t - 1])


ROOT = Path(__file__).parent.parent
DOCS = {
    "architecture": (ROOT / "docs" / "ARCHITECTURE.md", r"```python\n(.*?)```"),
    "readme": (ROOT / "README.md", r"### Your own method.*?```python\n(.*?)```"),
}


@pytest.mark.parametrize("doc", DOCS)
def test_the_docs_example_registers_a_method_that_runs(tmp_path, doc):
    path, pattern = DOCS[doc]
    block = re.search(pattern, path.read_text(encoding="utf-8"), re.S).group(1)
    code = "\n".join(line.removeprefix("  ") for line in block.splitlines())
    cfg = write(tmp_path, [{"method": "signsgd", "lr": 0.25}])
    code = code.replace('"signsgd.yaml"', repr(str(cfg)))
    before = METHODS.pop("signsgd", None)  # the module's toy, if registered
    try:
        namespace: dict = {}
        exec(code, namespace)
        result = namespace.get("result") or optviz.run(optviz.load_config(cfg))
        np.testing.assert_array_equal(result.trajectories[0].points[:3],
                                      [(1, -0.5), (0.75, -0.25), (0.5, 0)])  # fmt: skip
    finally:
        added = METHODS.pop("signsgd", None)
        if added is not None:
            methods.FAMILIES.pop(type(added.build({"lr": 1})), None)
        if before is not None:
            METHODS["signsgd"] = before


def test_a_method_registered_again_is_run_again(tmp_path, toys):
    """``optviz.run`` keeps the rows it computed, by method: a method removed
    and registered again (a notebook cell run twice, edited) is run anew."""
    cfg = write(tmp_path, [{"method": "signsgd", "lr": 0.25}])
    first = optviz.run(optviz.load_config(cfg)).trajectories[0].points
    before = METHODS.pop("signsgd")
    try:
        twice = register(
            "signsgd",
            LR,
            init=sign_init,
            update=lambda g, s, t, hp: SignState(s.theta - 2 * hp.lr * np.sign(g)),
            summary="signSGD at twice the step",
        )
        again = optviz.run(optviz.load_config(cfg)).trajectories[0].points
        methods.FAMILIES.pop(type(twice.build({"lr": 1})))
    finally:
        METHODS["signsgd"] = before
    np.testing.assert_array_equal(first[1], (0.75, -0.25))
    np.testing.assert_array_equal(again[1], (0.5, 0.0))


def test_noise_and_minibatches_reach_a_function_pair(tmp_path, toys):
    """``noise`` and ``batch_size`` change a pair method's gradients as they
    change gd's: seeded, so the same config gives the same path."""
    data = yaml.safe_load(
        (ROOT / "configs" / "examples" / "batch_vs_minibatch.yaml").read_text()
    )
    entries = [
        {"label": "full", "method": "signsgd", "lr": 0.01},
        {"label": "minibatch", "method": "signsgd", "lr": 0.01, "batch_size": 1},
        {"label": "noisy", "method": "signsgd", "lr": 0.01, "noise": 5.0},
    ]
    data.update(optimizers=entries, iterations=40)
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    runs = [optviz.run(optviz.load_config(path)).trajectories for _ in range(2)]
    points = {t.label: t.points for t in runs[0] if t.start == 0}
    assert not np.array_equal(points["full"], points["minibatch"])
    assert not np.array_equal(points["full"], points["noisy"])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a.points, b.points)
    # every step is ±ε per coordinate, whatever the gradient
    for p in points.values():
        assert np.allclose(np.abs(np.diff(p, axis=0)), 0.01)
