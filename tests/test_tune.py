"""lr: auto: a deterministic search for the learning rate that reaches a known
minimum soonest and stays there, from every start."""

import numpy as np
import pytest
import yaml

from optviz import api, pipeline
from optviz import config as config_module
from optviz.cli import main
from optviz.errors import ConfigError
from optviz.optim import methods, runner
from optviz.optim import tune as tuner

BOWL = {
    "surface": {"name": "quadratic", "condition": 10, "angle": 30},
    "starts": [[-2.5, 1.5], [2, 2]],
    "iterations": 300,
    "optimizers": [{"label": "gd", "method": "gd", "lr": "auto"}],
}


def parse(data, source="t.yaml"):
    return config_module.parse(data, source=source)


def test_settling_means_arriving_and_staying():
    minima = np.array([[0.0, 0.0]])
    stays = np.array([[1, 1], [0.5, 0.5], [0.03, 0], [0.06, 0], [0.01, 0]], float)
    assert tuner.settles(stays, minima) == 2
    leaves = np.array([[1, 1], [0.01, 0], [0.5, 0], [0.01, 0]], float)
    assert tuner.settles(leaves, minima) == 3  # from its second arrival on
    ends_away = np.array([[1, 1], [0.01, 0], [0.08, 0]], float)
    assert tuner.settles(ends_away, minima) is None
    assert tuner.settles(np.array([[1.0, 1.0]]), minima) is None


def test_gd_on_a_bowl_gets_the_rate_theory_says_is_fastest():
    """For gd on a quadratic with curvatures 1 and 10 the fastest constant
    rate is 2/(λmin + λmax) = 0.18; the search lands next to it, and no
    nearby rate settles sooner from both starts."""
    c = pipeline.tune(parse(BOWL))
    ((_, label, choice),) = c.tuned
    assert label == "gd" and c.optimizers[0].params["lr"] == choice.lr
    assert 0.16 <= choice.lr <= 0.19
    s = c.surface
    box = runner.divergence_box(c.xlim, c.ylim)
    minima = np.array([m.point for m in s.minima])

    def latest(lr):
        hp = methods.METHODS["gd"].build({"lr": lr})
        rows = runner.trajectories(s.f, s.grad, [hp], ["gd"], np.array(c.starts),
                                   300, 0.0, box)  # fmt: skip
        found = [tuner.settles(t.points, minima) for t in rows]
        return None if None in found else max(found)

    assert latest(choice.lr) == choice.settled
    for other in (choice.lr * 0.9, choice.lr * 0.97, choice.lr * 1.03):
        k = latest(tuner.rounded(other))
        assert k is None or k >= choice.settled, other


def test_the_same_config_gives_the_same_choice():
    a = pipeline.tune(parse(BOWL)).tuned
    b = pipeline.tune(parse(BOWL)).tuned
    assert a == b


def test_the_written_config_makes_the_same_run_without_the_search(tmp_path):
    path = tmp_path / "auto.yaml"
    path.write_text(yaml.safe_dump(BOWL))
    out = tmp_path / "out"
    assert main(["run", str(path), "--no-video", "-q", "-o", str(out)]) == 0
    tuned = out / "auto.tuned.yaml"
    again = api.load_config(tuned)
    assert again.optimizers[0].auto_lr is False
    first = (out / "trajectories.csv").read_bytes()
    assert main(["run", str(tuned), "--no-video", "-q", "-o", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "trajectories.csv").read_bytes() == first


def test_the_choice_is_printed(tmp_path, capsys):
    path = tmp_path / "auto.yaml"
    path.write_text(yaml.safe_dump(BOWL))
    assert main(["run", str(path), "--no-video", "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    # as the README quotes it
    said = "lr: auto chose ε = 0.174 for gd: it reaches a minimum and stays there"
    assert said + " from every start by iteration 21" in out
    assert f"wrote {tmp_path / 'o' / 'auto.tuned.yaml'}" in out


@pytest.mark.parametrize(
    ("change", "where", "said"),
    [
        ({"optimizers": [{"method": "newton", "lr": "auto"}]}, "optimizers[0].lr",
         "newton takes a number here"),
        ({"optimizers": [{"method": "momentum", "lr": "auto", "momentum": "auto"}]},
         "optimizers[0].momentum", "number"),
        ({"surface": {"formula": "x^2 + y^2", "domain": {"x": [-2, 2], "y": [-2, 2]}},
          "starts": [[1, 1]]}, "optimizers[0].lr", "lists none"),
    ],
)  # fmt: skip
def test_bad_auto_is_one_line(change, where, said):
    with pytest.raises(ConfigError) as e:
        parse({**BOWL, **change})
    text = str(e.value)
    assert text.startswith(f"t.yaml: {where}"), text
    assert said in text and "\n" not in text


def test_no_rate_that_settles_is_one_line():
    c = parse({**BOWL, "iterations": 2})
    with pytest.raises(ConfigError) as e:
        pipeline.tune(c)
    text = str(e.value)
    assert text.startswith("t.yaml: optimizers[0].lr: lr: auto found no learning rate")
    assert "give lr a number" in text
