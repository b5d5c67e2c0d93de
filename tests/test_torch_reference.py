"""optviz's torch-convention methods and learning-rate schedules give
torch.optim's numbers, at every step, without torch installed.

``tests/data/torch_reference.npz`` holds trajectories recorded once from
``torch.optim`` (and ``torch.optim.lr_scheduler``) by
``benchmarks/record_torch_reference.py``: float64, 300 updates, Beale's and
Rosenbrock's functions, two starts each, non-default hyperparameters, every
method torch has, with torch given optviz's own gradient. Each case is run
here through optviz's registry as a config would name it, and must match at
every step within 1e-12, relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optviz.optim import lr_schedules
from optviz.optim.methods import METHODS
from optviz.optim.runner import step_all
from optviz.surfaces import SURFACES

DATA = Path(__file__).parent / "data" / "torch_reference.npz"
REFERENCE = np.load(DATA)
META = json.loads(str(REFERENCE["cases"]))
CASES = {c["name"]: c for c in META["cases"]}
RTOL = 1e-12
# the methods that follow a torch.optim class, and the class
TORCH_METHODS = {"sgd": "SGD", "adam_torch": "Adam", "adamw": "AdamW",
                 "nadam": "NAdam", "radam": "RAdam", "adamax": "Adamax",
                 "adadelta": "Adadelta"}  # fmt: skip


def schedule(value):
    """``lr`` as the case (a config) writes it: a number or a schedule."""
    if not isinstance(value, dict):
        return value
    settings = dict(value)
    return lr_schedules.make(settings.pop("schedule"), settings)


def run(case: dict) -> np.ndarray:
    params = {**case["params"], "lr": schedule(case["params"]["lr"])}
    hp = METHODS[case["method"]].build(params)
    starts = np.array(case["starts"], dtype=float)
    grad = SURFACES[case["surface"]].grad
    return step_all(grad, [hp], starts, META["iterations"])[:, 0]


@pytest.mark.parametrize("name", CASES)
def test_every_step_matches_torch(name):
    case = CASES[name]
    ours, theirs = run(case), REFERENCE[f"{name}:theta"]
    assert ours.shape == theirs.shape == (META["iterations"] + 1, 2, 2)
    error = np.abs(ours - theirs) / np.abs(theirs)
    worst = np.unravel_index(np.argmax(error), error.shape)
    assert error[worst] <= RTOL, f"update {worst[0]}: {ours[worst]} vs {theirs[worst]}"
    # and the run goes somewhere: a path that stood still would match anything
    assert np.min(np.linalg.norm(ours[-1] - ours[0], axis=-1)) > 1e-3


@pytest.mark.parametrize(
    "name", [n for n, c in CASES.items() if isinstance(c["params"]["lr"], dict)]
)
def test_every_learning_rate_matches_torch_scheduler(name):
    rate = schedule(CASES[name]["params"]["lr"])
    ours, theirs = rate.values(1, META["iterations"]), REFERENCE[f"{name}:lr"]
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=0)
    np.testing.assert_array_equal(ours, [rate.at(t) for t in range(1, len(ours) + 1)])
    assert len(set(theirs)) > 2  # it does change


def test_the_cases_cover_every_torch_method_variant_and_schedule():
    cases = list(CASES.values())
    by_surface = {}
    for c in cases:
        by_surface.setdefault(c["method"], set()).add(c["surface"])
        assert len(c["starts"]) == 2
    assert META["iterations"] >= 200
    for method in TORCH_METHODS:
        assert by_surface[method] == {"beale", "rosenbrock"}, method

    def has(method, **flags):
        return any(
            c["method"] == method
            and all(
                {**METHODS[method].defaults(), **c["params"]}[k] == v
                for k, v in flags.items()
            )
            for c in cases
        )

    assert has("adam_torch", amsgrad=True) and has("adamw", amsgrad=True)
    assert has("sgd", nesterov=True) and has("sgd", nesterov=False)
    assert has("nadam", decoupled_weight_decay=True)
    assert has("radam", decoupled_weight_decay=True)
    schedules = {
        c["params"]["lr"]["schedule"]
        for c in cases
        if isinstance(c["params"]["lr"], dict)
    }
    # every schedule torch has too (constant is no scheduler at all)
    assert schedules == set(lr_schedules.LR_SCHEDULES) - {"constant"}
    warmed = [c for c in cases if isinstance(c["params"]["lr"], dict)
              and c["params"]["lr"].get("warmup")]  # fmt: skip
    assert {c["params"]["lr"]["schedule"] for c in warmed} >= {
        "cosine",
        "linear",
        "step",
    }
    # on the fused lecture family too (gd is torch's plain SGD step)
    assert has("gd")


def test_every_case_sets_hyperparameters_away_from_their_defaults():
    for c in CASES.values():
        defaults = METHODS[c["method"]].defaults()
        changed = [k for k, v in c["params"].items() if k != "lr" and v != defaults[k]]
        assert changed or c["method"] == "gd", c["name"]


def test_defaults_and_keys_are_torchs():
    """The registry's defaults are those of the torch classes' signatures (as
    recorded), every key is torch's, and what torch has beyond them is how it
    computes (foreach, fused, ...), not what."""
    how = {"maximize", "foreach", "capturable", "differentiable", "fused"}
    for method, torch_defaults in META["defaults"].items():
        ours = METHODS[method].defaults()
        assert set(ours) <= set(torch_defaults), method
        for key, value in ours.items():
            assert value == torch_defaults[key], (method, key)
        left = set(torch_defaults) - set(ours) - how
        # torch.optim.Adam's decoupled_weight_decay is AdamW, its own method here
        assert left == ({"decoupled_weight_decay"} if method == "adam_torch" else set())
    assert set(META["defaults"]) == set(TORCH_METHODS)


def test_the_reference_is_small():
    assert DATA.stat().st_size < 1_000_000
