"""``method: torch:AdamW``: any PyTorch optimizer, each row one float64 tensor.

Skipped without PyTorch (``pip install "optviz[torch]"``); CI installs the CPU
wheel so that these run. What a config without torch gets is tested in
``tests/test_plugins.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import optviz
from optviz.cli import main
from optviz.surfaces import SURFACES

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
STARTS = [[2.0, -2.0], [-3.0, 3.0]]


def config(folder, optimizers, iterations=200, **changes):
    data = {"surface": "beale", "starts": STARTS, "iterations": iterations,
            "optimizers": optimizers, **changes}  # fmt: skip
    path = folder / "torch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def points(folder, optimizers, iterations=200):
    result = optviz.run(optviz.load_config(config(folder, optimizers, iterations)))
    return {(t.label, t.start): t.points for t in result.trajectories}


def by_hand(cls, kwargs, start, iterations):
    """The optimizer stepped as a user of PyTorch would: one parameter, the
    surface's gradient written into ``.grad``, ``step()``."""
    grad = SURFACES["beale"].grad
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    out = [p.detach().numpy().copy()]
    for _ in range(iterations):
        p.grad = torch.from_numpy(grad(p.detach().numpy()[None])[0])
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def test_adamw_takes_the_steps_pytorch_takes(tmp_path):
    kwargs = {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True}
    entry = {"method": "torch:AdamW", **kwargs, "betas": [0.8, 0.99]}
    ran = points(tmp_path, [entry])
    for j, start in enumerate(STARTS):
        expected = by_hand(torch.optim.AdamW, kwargs, start, 200)
        np.testing.assert_array_equal(ran[("AdamW", j)], expected)
        assert ran[("AdamW", j)].dtype == np.float64


def test_torch_sgd_is_optviz_gd_and_momentum(tmp_path):
    ran = points(
        tmp_path,
        [{"label": "sgd", "method": "torch:SGD", "lr": 1e-3},
         {"label": "gd", "method": "gd", "lr": 1e-3},
         {"label": "sgd+p", "method": "torch:SGD", "lr": 1e-4, "momentum": 0.9},
         {"label": "gd+p", "method": "momentum", "lr": 1e-4, "momentum": 0.9}],
    )  # fmt: skip
    for j in range(len(STARTS)):
        # θ − εg, rounded in another order: within an ulp or so per step
        np.testing.assert_allclose(ran[("sgd", j)], ran[("gd", j)], rtol=1e-13)
        assert not np.array_equal(ran[("sgd", j)][1], ran[("sgd", j)][0])
        # b ← μb + g, θ ← θ − εb is v ← αv − εg, θ ← θ + v with v = −εb
        np.testing.assert_allclose(ran[("sgd+p", j)], ran[("gd+p", j)], rtol=1e-12)


def test_each_start_is_stepped_alone(tmp_path):
    together = points(tmp_path, [{"method": "torch:Adam", "lr": 0.05}])
    for j, start in enumerate(STARTS):
        alone = by_hand(torch.optim.Adam, {"lr": 0.05}, start, 200)
        np.testing.assert_array_equal(together[("Adam", j)], alone)


def test_the_config_shows_what_it_passed_through(tmp_path):
    entry = {"method": "torch:Adam", "lr": 0.1, "betas": [0.9, 0.99], "foreach": None}
    spec = optviz.load_config(config(tmp_path, [entry])).optimizers[0]
    assert spec.label == "Adam"
    assert spec.params == {"lr": 0.1, "betas": (0.9, 0.99), "foreach": None}
    assert spec.describe() == "torch:Adam(lr=0.1, betas=[0.9, 0.99], foreach=null)"


@pytest.mark.parametrize(
    "entry, where, message",
    [
        ({"method": "torch:AdamW", "lr": -1}, "optimizers[0].lr",
         "torch:AdamW refused it: ValueError: Invalid learning rate: -1"),
        ({"method": "torch:Adam", "betas": [0.9]}, "optimizers[0].betas",
         "torch:Adam refused it: IndexError: tuple index out of range"),
        ({"method": "torch:Adam", "betaz": [0.9, 0.9]}, "optimizers[0].betaz",
         "Adam has no hyperparameter 'betaz'; it takes 'lr', 'betas', "),
        ({"method": "torch:Adam", "betas": {"a": 1}}, "optimizers[0].betas",
         "betas must be a number, true/false, text, null or a list of them"),
        ({"method": "torch:AdamWW"}, "optimizers[0].method",
         "torch:AdamWW: 'AdamWW' in torch.optim is nothing, not a "
         "torch.optim.Optimizer; its optimizers are "),
        ({"method": "torch:AdamWW"}, "optimizers[0].method", "did you mean 'AdamW'?"),
        ({"method": "torch:os.system"}, "optimizers[0].method",
         "torch:os.system: 'system' in os is a builtin_function_or_method, not a "
         "torch.optim.Optimizer"),
        ({"method": "torch:no_such_package.Opt"}, "optimizers[0].method",
         "cannot import 'no_such_package' (No module named 'no_such_package'); "
         "is the package that has it installed?"),
        ({"method": "torch:LBFGS"}, "optimizers[0].method",
         "torch:LBFGS: its step() needs a closure"),
    ],
    ids=["refused", "refused-shape", "unknown-key", "a-mapping", "no-class",
         "near-miss", "not-an-optimizer", "no-package", "closure"],
)  # fmt: skip
def test_what_pytorch_refuses_is_one_line_at_its_key(
    tmp_path, capsys, entry, where, message
):
    cfg = config(tmp_path, [entry])
    assert main(["run", str(cfg), "--no-video"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"optviz: error: {cfg}: {where}: ")
    assert message in err, err


BROKEN = '''\
import torch


class Broken(torch.optim.Optimizer):
    """SGD that fails at its third step."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        if self.steps == 3:
            raise RuntimeError("third step")
        for group in self.param_groups:
            for p in group["params"]:
                p.data.add_(p.grad, alpha=-group["lr"])
'''


def test_a_third_party_optimizer_that_fails_is_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "broken_optim.py").write_text(BROKEN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = config(tmp_path, [{"method": "torch:broken_optim.Broken", "lr": 1e-3}])
    try:
        assert main(["run", str(cfg), "--no-video", "-o", str(tmp_path / "o")]) == 1
    finally:
        sys.modules.pop("broken_optim", None)
    err = capsys.readouterr().err
    assert err == (
        f"optviz: error: {tmp_path / 'broken_optim.py'}:14: RuntimeError: third "
        "step (in torch:broken_optim.Broken's step(), update 3)\n"
    )


def test_the_readmes_third_party_optimizer_runs_as_it_says(tmp_path):
    pytest.importorskip("pytorch_optimizer")
    import pytorch_optimizer

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Any PyTorch optimizer", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "third.yaml"
    path.write_text(block, encoding="utf-8")
    result = optviz.run(optviz.load_config(path))
    (spec,) = [o for o in result.config.optimizers if "pytorch_optimizer" in o.method]
    cls = getattr(pytorch_optimizer, spec.method.rpartition(".")[2])
    (ours,) = [t for t in result.trajectories if t.label == spec.label]
    start = list(result.config.starts[0])
    expected = by_hand(cls, spec.params, start, result.config.iterations)
    np.testing.assert_array_equal(ours.points, expected)
    # "AdaBelief reaches Beale's minimum ... at iteration N, where torch:Adam
    # and optviz's adam have not arrived after 2,000"
    claimed = int(re.search(r"at iteration (\d+)", section).group(1))
    minimum = [(3.0, 0.5)]
    assert ours.first_reach(minimum) == claimed
    assert result.config.iterations == 2000
    others = [t for t in result.trajectories if t.label != spec.label]
    assert [t.label for t in others] == ["Adam", "adam"]
    assert all(t.first_reach(minimum) is None for t in others)


@pytest.mark.render
@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_worker_processes_step_torch_optimizers_too(tmp_path, start):
    """``-j 2`` over two configs with a ``torch:`` method: each worker imports
    torch for its config (forked after the parent used it, or spawned)."""
    import csv
    import os
    import subprocess

    small = {"frames": 4, "hold": 0, "title_card": 0, "size": [96, 64], "dpi": 20,
             "formats": ["gif"]}  # fmt: skip
    entry = {"label": "adamw", "method": "torch:AdamW", "lr": 0.05}
    for stem, start_point in (("a", STARTS[0]), ("b", STARTS[1])):
        data = {"surface": "beale", "starts": [start_point], "iterations": 50,
                "optimizers": [entry], "animation": small}  # fmt: skip
        (tmp_path / f"{stem}.yaml").write_text(yaml.safe_dump(data))
    env = {**os.environ, "PYTHONPATH": "", "OPTVIZ_START_METHOD": start}
    run = [sys.executable, "-m", "optviz", "run", "a.yaml", "b.yaml", "-j", "2",
           "-q", "-o", "out"]  # fmt: skip
    done = subprocess.run(
        run, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for stem, start_point in (("a", STARTS[0]), ("b", STARTS[1])):
        with open(tmp_path / "out" / stem / "trajectories.csv", newline="") as f:
            got = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(f)]
        expected = by_hand(torch.optim.AdamW, {"lr": 0.05}, start_point, 50)
        np.testing.assert_array_equal(got, expected)


def test_the_title_card_and_legend_show_what_was_passed_through(tmp_path):
    from optviz import pipeline

    entry = {"method": "torch:AdamW", "lr": 0.05, "betas": [0.8, 0.99]}
    cfg = config(tmp_path, [entry, {"method": "bfgs"}], iterations=5)
    result = optviz.run(optviz.load_config(cfg))
    card = pipeline.title_card(result)
    assert "AdamW (torch:AdamW): lr=0.05, betas=[0.8, 0.99]" in card
    assert "bfgs" in card  # a built-in without hyperparameters: its name alone
