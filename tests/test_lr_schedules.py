"""Learning-rate schedules (optviz.optim.lr_schedules): each one's values by
hand, every first-order method following one (the fused lecture rule and the
function pairs alike), gd's old decay keys as the linear schedule, the
config's one-line errors, and the README's table.

That the values are torch.optim.lr_scheduler's at every step, and runs with
them torch's, is tests/test_torch_reference.py.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import yaml

import optviz
from optviz.cli import main
from optviz.config import parse
from optviz.errors import ConfigError
from optviz.optim import lr_schedules, methods
from optviz.optim.lr_schedules import LR_SCHEDULES, make
from optviz.optim.methods import LR, METHODS, register
from optviz.optim.runner import step_all
from optviz.surfaces import SURFACES

README = Path(__file__).resolve().parent.parent / "README.md"


def eps(name, n, **settings):
    """ε for updates 1 .. n (ε_0 .. ε_{n−1})."""
    return make(name, settings).values(1, n)


# --- each schedule by hand ---------------------------------------------------------


def test_constant():
    assert list(eps("constant", 3, **{"from": 0.3})) == [0.3, 0.3, 0.3]


def test_linear_is_the_lectures_decay_and_holds_after():
    # τ = 4: ε_k = (1 − k/4)·0.1 + (k/4)·0.02, then 0.02
    expected = [0.1, 0.08, 0.06, 0.04, 0.02, 0.02, 0.02]
    np.testing.assert_allclose(
        eps("linear", 7, **{"from": 0.1, "to": 0.02, "steps": 4}), expected, rtol=1e-15
    )


def test_step_and_exponential():
    np.testing.assert_allclose(
        eps("step", 7, **{"from": 1.0, "gamma": 0.5, "every": 3}),
        [1, 1, 1, 0.5, 0.5, 0.5, 0.25],
    )
    np.testing.assert_allclose(
        eps("exponential", 4, **{"from": 2.0, "gamma": 0.5}), [2, 1, 0.5, 0.25]
    )


def test_cosine_halfway_end_and_after():
    values = eps("cosine", 12, **{"from": 0.1, "to": 0.02, "steps": 10})
    assert values[0] == 0.1
    assert values[5] == pytest.approx(0.06, rel=1e-15)  # halfway: the mean
    assert values[10] == pytest.approx(0.02, rel=1e-15)
    assert values[11] == 0.02  # held, where torch's would rise again
    assert np.all(np.diff(values[:11]) < 0)


def test_warmup_rises_then_holds():
    np.testing.assert_allclose(
        eps("warmup", 6, to=0.4, steps=4), [0, 0.1, 0.2, 0.3, 0.4, 0.4], rtol=1e-15
    )


def test_cyclic_triangle_up_and_down():
    values = eps("cyclic", 11, **{"from": 0.1, "to": 0.5, "up": 2, "down": 3})
    expected = [0.1, 0.3, 0.5, 0.5 - 0.4 / 3, 0.5 - 0.8 / 3, 0.1, 0.3, 0.5]
    np.testing.assert_allclose(values[:8], expected, rtol=1e-14)
    # down: 0 is as many updates down as up
    same = eps("cyclic", 5, **{"from": 0.1, "to": 0.5, "up": 2})
    np.testing.assert_allclose(same, [0.1, 0.3, 0.5, 0.3, 0.1], rtol=1e-14)


def test_warmup_before_a_schedule_and_steps_counting_it():
    # 2 updates of warm-up from 0.01, then cosine from 0.1 reaching 0.02 at k = 6
    values = eps("cosine", 8, **{"from": 0.1, "to": 0.02, "steps": 6, "warmup": 2,
                                 "warmup_from": 0.01})  # fmt: skip
    assert values[0] == 0.01 and values[1] == pytest.approx(0.055)
    assert values[2] == 0.1
    assert values[4] == pytest.approx(0.06, rel=1e-15)  # halfway through cosine
    assert values[6] == pytest.approx(0.02, rel=1e-15) and values[7] == 0.02
    # the step schedule after a warm-up starts its count when the warm-up ends
    stepped = eps("step", 6, **{"from": 1.0, "every": 2, "warmup": 2})
    np.testing.assert_allclose(stepped, [0, 0.5, 1, 1, 0.1, 0.1])


def test_at_is_values():
    s = make("cyclic", {"from": 0.1, "to": 0.5, "up": 3, "warmup": 4})
    np.testing.assert_array_equal(s.values(1, 30), [s.at(t) for t in range(1, 31)])
    np.testing.assert_array_equal(s.values(7, 5), s.values(1, 11)[6:])


# --- every first-order method follows one ----------------------------------------

FIRST_ORDER = [
    name
    for name, m in METHODS.items()
    if any(h.key == "lr" and h.schedulable for h in m.hyperparameters)
]


def test_the_first_order_methods_are_those_with_a_schedulable_lr():
    assert set(FIRST_ORDER) == {
        "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "sgd",
        "adam_torch", "adamw", "nadam", "radam", "adamax", "adadelta", "lion",
    }  # fmt: skip
    for name in ("newton", "bfgs", "lbfgs", "cg"):
        assert not any(h.schedulable for h in METHODS[name].hyperparameters)


def defaults_with(name, lr):
    return {"lr": lr, **({"momentum": 0.5} if name == "sgd" else {})}


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_a_constant_schedule_is_the_number_and_a_schedule_changes_the_path(name):
    grad, starts = SURFACES["rosenbrock"].grad, np.array([[-1.2, 1.0], [1.5, -0.5]])
    lr = 1e-4 if name in ("gd", "momentum", "nesterov", "sgd") else 1e-2
    number = METHODS[name].build(defaults_with(name, lr))
    constant = METHODS[name].build(defaults_with(name, make("constant", {"from": lr})))
    cosine = make("cosine", {"from": lr, "to": lr / 10, "steps": 100, "warmup": 10})
    scheduled = METHODS[name].build(defaults_with(name, cosine))
    a, b, c = (step_all(grad, [h], starts, 120) for h in (number, constant, scheduled))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def lecture_momentum(grad, theta, rates, alpha):
    """The lecture's momentum, v ← αv − ε_k g; θ ← θ + v, for one start."""
    v = np.zeros(2)
    out = [theta]
    for lr in rates:
        v = alpha * v - lr * grad(theta)
        theta = theta + v
        out.append(theta)
    return np.array(out)


def test_the_fused_rule_follows_its_rows_schedules():
    """Three lecture optimizers in one fused block, two with a schedule:
    each row takes its own ε_k (momentum transcribed with it by hand)."""
    grad = SURFACES["beale"].grad
    starts = np.array([[2.0, -2.0], [-3.0, 3.0]])
    step = make("step", {"from": 5e-6, "gamma": 0.5, "every": 40})
    rules = [
        METHODS["momentum"].build({"lr": step, "momentum": 0.9}),
        METHODS["gd"].build({"lr": 1e-4}),
        METHODS["adam"].build({"lr": make("warmup", {"to": 0.2, "steps": 30})}),
    ]
    theta = step_all(grad, rules, starts, 150)
    rates = step.values(1, 150)
    for j, start in enumerate(starts):
        np.testing.assert_allclose(
            theta[:, 0, j], lecture_momentum(grad, start, rates, 0.9), rtol=1e-12
        )
    # the unscheduled gd beside them is gd alone, bit for bit
    alone = step_all(grad, [rules[1]], starts, 150)
    np.testing.assert_array_equal(theta[:, 1], alone[:, 0])
    # adam's first update has ε = 0 (the warm-up's start): it stays put
    np.testing.assert_array_equal(theta[1, 2], starts)


def test_gds_decay_keys_are_the_linear_schedule_bit_for_bit(tmp_path):
    base = {"surface": "beale", "starts": [[2, -2], [-3, 3]], "iterations": 400}
    keys = {"method": "gd", "lr": 2e-4, "lr_final": 1e-5, "decay_steps": 300}
    linear = {"schedule": "linear", "from": 2e-4, "to": 1e-5, "steps": 300}
    old = parse({**base, "optimizers": [keys]})
    new = parse({**base, "optimizers": [{"method": "gd", "lr": linear}]})
    a, b = (optviz.run(c).trajectories for c in (old, new))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.points, y.points)


class ProbeState(NamedTuple):
    theta: np.ndarray


def test_a_function_pair_sees_each_updates_rate_in_update_and_query():
    """A pair's ``update`` and ``query`` get ``hp.lr`` of the update at hand:
    here θ moves by ε_t, and the gradient is asked for at θ + ε_t."""
    asked = []

    def grad(points):
        asked.append(points.copy())
        return np.zeros_like(points)

    probe = register(
        "lr_probe",
        LR,
        init=lambda hp, rows: ProbeState(rows),
        update=lambda g, s, t, hp: ProbeState(s.theta + hp.lr),
        query=lambda s, hp: s.theta + hp.lr,
        summary="moves every coordinate by ε",
    )
    try:
        rate = make("linear", {"from": 1.0, "to": 0.25, "steps": 3})
        theta = step_all(grad, [probe.build({"lr": rate})], np.zeros((1, 2)), 5)
    finally:
        methods.FAMILIES.pop(type(probe.build({"lr": 1.0})))
        del METHODS["lr_probe"]
    rates = [1.0, 0.75, 0.5, 0.25, 0.25]
    np.testing.assert_allclose(theta[1:, 0, 0, 0], np.cumsum(rates))
    np.testing.assert_allclose(
        [a[0, 0] for a in asked], np.cumsum([0.0, *rates[:-1]]) + rates
    )


# --- the config ----------------------------------------------------------------------

BASE = {"surface": "beale", "iterations": 10}


def error(entry) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        parse({**BASE, "optimizers": [entry]})
    return e.value


@pytest.mark.parametrize(
    "lr, path, message",
    [
        ({"schedule": "cosin", "from": 1, "steps": 3}, "optimizers[0].lr.schedule",
         "'cosin' is not a valid value; supported values are 'constant', 'linear', "
         "'step', 'exponential', 'cosine', 'warmup', 'cyclic'; did you mean 'cosine'?"),
        ({"from": 0.1}, "optimizers[0].lr", "missing required key 'schedule'"),
        ({"schedule": "cosine", "from": 0.1}, "optimizers[0].lr",
         "missing required key 'steps' (updates until to (warm-up included)) for the "
         "cosine schedule"),
        ({"schedule": "cosine", "from": 0.1, "step": 9}, "optimizers[0].lr.step",
         "unknown key 'step' for the cosine schedule; allowed keys are 'schedule', "
         "'from', 'to', 'steps', 'warmup', 'warmup_from'; did you mean 'steps'?"),
        ({"schedule": "warmup", "to": 0.1, "steps": 5, "warmup": 2},
         "optimizers[0].lr.warmup", "for the warmup schedule"),
        ({"schedule": "linear", "from": -1, "to": 0, "steps": 5},
         "optimizers[0].lr.from", "from must be > 0; got -1"),
        ({"schedule": "linear", "from": 1, "to": 0, "steps": 2.5},
         "optimizers[0].lr.steps", "steps must be a whole number; got 2.5"),
        ({"schedule": "cosine", "from": 1, "steps": 10, "warmup": 10},
         "optimizers[0].lr.steps", "steps counts the warm-up too: must be more than "
         "warmup (10); got 10"),
        ({"schedule": "exponential", "from": 1, "gamma": "x"},
         "optimizers[0].lr.gamma", "must be a number"),
        ({"schedule": "step", "from": 1, "every": 0}, "optimizers[0].lr.every",
         "every must be >= 1; got 0"),
        ([0.1], "optimizers[0].lr", "must be a number; got a list (or a "
         "learning-rate schedule: {schedule: NAME, ...})"),
    ],
    ids=["unknown", "no-schedule", "missing", "typo", "warmup-of-warmup", "negative",
         "fraction", "warmup-too-long", "text", "every-0", "list"],
)  # fmt: skip
def test_a_bad_schedule_is_one_error_at_its_key(lr, path, message):
    e = error({"method": "adamw", "lr": lr})
    assert e.path == path and message in e.message, (e.path, e.message)


def test_schedules_are_for_first_order_methods_only():
    e = error({"method": "newton", "lr": {"schedule": "constant", "from": 1}})
    assert e.path == "optimizers[0].lr"
    assert "lr of newton must be a number; learning-rate schedules are for" in e.message


def test_gd_takes_its_decay_keys_or_a_schedule_not_both():
    e = error({"method": "gd", "lr": {"schedule": "constant", "from": 1e-4},
               "lr_final": 1e-5, "decay_steps": 10})  # fmt: skip
    assert e.path == "optimizers[0].decay_steps" and "not both" in e.message


def test_a_combination_of_values_is_refused_at_its_key():
    e = error({"method": "sgd", "nesterov": True})
    assert e.path == "optimizers[0].nesterov"
    assert "needs momentum > 0 and dampening 0" in e.message


def test_the_command_line_runs_schedules_and_prints_them(tmp_path, capsys):
    cfg = tmp_path / "s.yaml"
    cfg.write_text(yaml.safe_dump({**BASE, "iterations": 50, "optimizers": [
        {"method": "adamw", "lr": {"schedule": "cosine", "from": "1e-1",
                                   "steps": 50, "warmup": 5}},
        {"method": "momentum", "lr": {"schedule": "exponential", "from": 5e-6,
                                      "gamma": 0.99}},
    ], "animation": {"hyperparameters_in_legend": True}}))  # fmt: skip
    assert main(["run", str(cfg), "--no-video", "-o", str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "trajectories.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["optimizer"] for r in rows} == {"adamw", "momentum"}
    assert len(rows) == 2 * 2 * 51
    capsys.readouterr()
    legend = optviz.api.hyperparameter_text(parse(yaml.safe_load(cfg.read_text()))
                                            .optimizers[0])  # fmt: skip
    assert legend == "ε=cosine(from=0.1, steps=50, warmup=5)"
    assert main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    listed = out[out.index("Learning-rate schedules") :]
    for kind in LR_SCHEDULES.values():
        assert f"  {kind.name:<12} {kind.summary}" in listed
        for h in kind.all_settings():
            assert re.search(rf"\n +{h.key} ", listed), (kind.name, h.key)


# --- the README -------------------------------------------------------------------


def test_the_readme_table_lists_every_schedule_and_its_settings():
    text = README.read_text(encoding="utf-8")
    text = text[text.index("### Learning-rate schedules") :]
    lines = text[text.index("| schedule |") :].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    assert [re.findall(r"`(\w+)`", r[0])[0] for r in rows] == list(LR_SCHEDULES)
    for row in rows:
        kind = LR_SCHEDULES[re.findall(r"`(\w+)`", row[0])[0]]
        named = set(re.findall(r"`(\w+)`", row[2]))
        assert named == {h.key for h in kind.settings}, kind.name
        for key, default in re.findall(r"`(\w+)` \(([\d.e+-]+)\)", row[2]):
            h = {h.key: h for h in kind.settings}[key]
            assert float(h.default) == float(default), (kind.name, key)
    assert all(f"`{h.key}`" in text for h in lr_schedules.WARMUP)


def test_a_schedule_reads_as_its_settings():
    s = make("cosine", {"from": 0.1, "to": 0.0, "steps": 20})
    assert str(s) == f"{s:g}" == "cosine(from=0.1, steps=20)"
    assert s == make("cosine", {"from": 0.1, "steps": 20.0})  # defaults filled
    assert math.isclose(s.at(11), 0.05)


# --- the learning rate on the trajectory, and its panel ---------------------------


def lr_runs():
    from runs import run

    cosine = make("cosine", {"from": 0.08, "to": 1e-3, "steps": 150, "warmup": 20})
    specs = [("adamw", {"lr": cosine}), ("gd", {"lr": 1e-4}), ("newton", {})]
    return cosine, run("beale", specs, [(2.0, -2.0)], 200, tolerance=1e-9)


def test_every_trajectory_carries_its_learning_rate():
    cosine, (adamw, gd, newton) = lr_runs()
    assert len(adamw.lr) == len(adamw.points) == 201
    np.testing.assert_array_equal(adamw.lr, cosine.values(1, 201))
    np.testing.assert_array_equal(gd.lr, np.full(len(gd.points), 1e-4))
    assert newton.status.value == "converged" and newton.lr is None


@pytest.mark.render
def test_the_lr_panel_draws_each_runs_schedule():
    from scenes import renderer

    from optviz.config import Animation

    cosine, runs = lr_runs()
    surface = SURFACES["beale"]
    r = renderer(surface, runs, ["adamw", "gd", "newton"], title="lr",
                 xlim=surface.xlim, ylim=surface.ylim,
                 animation=Animation(panels=("lr",), size=(480, 360)))  # fmt: skip
    try:
        (panel,) = r.panels
        r.frame(r.last)
        lines = [line for line in panel.get_lines() if len(line.get_xdata())]
        adamw, gd, newton = (np.asarray(line.get_ydata(), float) for line in lines)
        assert panel.get_yscale() == "log" and panel.get_ylabel().startswith("ε, log")
        np.testing.assert_allclose(adamw[1:], cosine.values(1, 201)[1:])
        assert np.all(gd == 1e-4) and np.all(np.isnan(newton))
    finally:
        r.close()
