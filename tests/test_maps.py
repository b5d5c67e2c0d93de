"""Maps: many runs of one optimizer without history, as one picture and one
CSV (``optviz map``): basins of attraction and phase maps."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optviz import config as config_module
from optviz import pipeline
from optviz.cli import main
from optviz.errors import ConfigError
from optviz.optim import methods, runner, stream
from optviz.surfaces import SURFACES

HIMMELBLAU = {
    "surface": "himmelblau",
    "starts": [[-4, 4]],
    "iterations": 1000,
    "optimizers": [{"label": "gd", "method": "gd", "lr": 0.005}],
    "map": {"optimizer": "gd", "grid": {"x": [-5, 5, 64], "y": [-5, 5, 64]}},
}
# a bowl with curvatures 1 and 10: heavy-ball momentum diverges exactly when
# ε λmax > 2 (1 + α), here ε > (1 + α) / 5
BOWL = {
    "surface": {"name": "quadratic", "condition": 10, "angle": 0},
    "starts": [[1.5, 1.5]],
    "iterations": 400,
    "optimizers": [{"label": "hb", "method": "momentum", "lr": 0.05}],
    "map": {"grid": {"lr": [0.01, 1, 60, "log"], "momentum": [0, 0.9, 10]}},
}


def parse(data, **changes):
    return config_module.parse({**data, **changes}, source="test.yaml")


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_basin_map_of_himmelblau_sends_each_neighbourhood_to_its_minimum(
    tmp_path,
):
    result = pipeline.run_map(parse(HIMMELBLAU))
    png, table = pipeline.write_map(result, tmp_path)
    rows = read(table)
    assert len(rows) == 64 * 64
    assert list(rows[0])[:5] == ["x", "y", "outcome", "minimum", "iterations"]
    minima = [m.point for m in SURFACES["himmelblau"].minima]
    near = 0
    for row in rows:
        x, y = float(row["x"]), float(row["y"])
        assert row["outcome"] == "reached"  # gd at this ε reaches one from anywhere
        for j, (mx, my) in enumerate(minima):
            if math.hypot(x - mx, y - my) < 1.0:
                assert int(row["minimum"]) == j, (x, y)
                near += 1
    assert near > 4 * 30  # every neighbourhood was checked, with points to spare
    assert {int(r["minimum"]) for r in rows} == {0, 1, 2, 3}
    with Image.open(png) as image:
        assert image.size == (800, 600)


def test_each_streamed_outcome_is_what_the_full_history_says():
    """The streaming run keeps no history; its outcomes are those read off
    the stored trajectories of the same rows, iteration for iteration."""
    s = SURFACES["himmelblau"]
    rng = np.random.default_rng(3)
    starts = rng.uniform(-5, 5, (40, 2))
    # a lr that diverges from the far corners, and one that crawls
    for lr in (0.03, 0.0005):
        hp = methods.METHODS["gd"].build({"lr": lr})
        box = runner.divergence_box(s.xlim, s.ylim)
        minima = [m.point for m in s.minima]
        got = stream.outcomes(s.grad, [hp] * 40, starts, 300, box, minima, 0.05)
        full = runner.trajectories(
            s.f, s.grad, [hp], ["gd"], starts, 300, 0.0, box, hessian=s.hessian
        )
        kinds = set()
        for i, t in enumerate(full):
            reach = t.first_reach(minima, 0.05)
            if reach is not None:
                assert got.outcome[i] == stream.Outcome.REACHED
                assert got.iteration[i] == reach
                hit = np.hypot(*(t.points[reach] - np.array(minima)).T) < 0.05
                assert got.target[i] == int(np.argmax(hit))
                assert np.array_equal(got.final[i], t.points[reach])
            elif t.status is runner.Status.DIVERGED:
                assert got.outcome[i] == stream.Outcome.DIVERGED
                assert got.iteration[i] == len(t.points)  # the first bad update
            else:
                assert got.outcome[i] == stream.Outcome.NONE
                assert np.array_equal(got.final[i], t.points[-1])
            kinds.add(int(got.outcome[i]))
        assert len(kinds) >= 2, lr  # the test saw more than one outcome


def test_a_phase_map_diverges_where_the_theory_says(tmp_path):
    result = pipeline.run_map(parse(BOWL))
    _, table = pipeline.write_map(result, tmp_path)
    rows = read(table)
    assert list(rows[0])[:5] == ["lr", "momentum", "outcome", "minimum", "iterations"]
    checked = 0
    for row in rows:
        lr, alpha = float(row["lr"]), float(row["momentum"])
        bound = (1 + alpha) / 5
        if lr > 1.05 * bound:
            assert row["outcome"] == "diverged", (lr, alpha)
            checked += 1
        elif lr < 0.95 * bound:
            assert row["outcome"] != "diverged", (lr, alpha)
            checked += 1
    assert checked > 0.8 * len(rows)
    # and faster with a larger step, up to the edge: at α = 0, ε = 0.05 takes
    # more iterations than ε = 0.15
    by = {
        (round(float(r["lr"]), 4), float(r["momentum"])): r
        for r in rows
        if float(r["momentum"]) == 0
    }
    lrs = sorted(k[0] for k in by)
    slow = min(lrs, key=lambda v: abs(v - 0.05))
    fast = min(lrs, key=lambda v: abs(v - 0.15))
    assert int(by[slow, 0.0]["iterations"]) > int(by[fast, 0.0]["iterations"])


def test_optviz_map_writes_the_picture_and_the_table(tmp_path, capsys):
    path = tmp_path / "basins.yaml"
    import yaml

    data = {**HIMMELBLAU, "map": {"grid": {"x": [-5, 5, 16], "y": [-5, 5, 12]}}}
    path.write_text(yaml.safe_dump(data))
    assert main(["map", str(path), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "map.csv",
        "map.png",
    ]
    assert "192 points: " in out and "0 diverged, 0 reached none" in out
    # without a map: block, the basins of the first optimizer, 256 × 256
    del data["map"]
    path.write_text(yaml.safe_dump(data))
    assert main(["map", str(path), "-o", str(tmp_path / "default")]) == 0
    assert len(read(tmp_path / "default" / "map.csv")) == 256 * 256


GRID = {"x": [-5, 5, 8], "y": [-5, 5, 8]}


@pytest.mark.parametrize(
    ("base", "block", "where", "said"),
    [
        (HIMMELBLAU, {"optimizer": "sgd", "grid": GRID}, "map.optimizer", "'gd'"),
        (HIMMELBLAU, {"grid": {"x": [-5, 5, 8]}}, "map.grid", "needs two axes"),
        (HIMMELBLAU, {"grid": {**GRID, "x": [5, -5, 8]}}, "map.grid.x", "min < max"),
        (HIMMELBLAU, {"grid": {**GRID, "x": [-5, 5, 8, "log"]}}, "map.grid.x[0]",
         "min > 0"),
        (HIMMELBLAU, {"grid": {**GRID, "x": [-5, 5, 1]}}, "map.grid.x[2]", "2"),
        (HIMMELBLAU, {"grid": {"x": [-5, 5, 8], "lr": [0.1, 1, 8]}}, "map.grid",
         "not both"),
        (HIMMELBLAU, {"grid": GRID, "radius": 0}, "map.radius", "> 0"),
        (HIMMELBLAU, {"grid": GRID, "size": 3}, "map.size", "unknown key 'size'"),
        (HIMMELBLAU, {"grid": {"x": [-5, 5, 2048], "y": [-5, 5, 2049]}},
         "map.grid.y[2]", "2048"),
        (BOWL, {"grid": {"lr": [0.1, 1, 8], "beta": [0, 1, 8]}}, "map.grid.beta",
         "lr, momentum"),
        (BOWL, {"grid": {"lr": [-1, 1, 8], "momentum": [0, 0.5, 8]}}, "map.grid.lr",
         "> 0"),
        (BOWL, {"grid": {"lr": [0.1, 1, 8], "momentum": [0, 1.5, 8]}},
         "map.grid.momentum", "[0, 1)"),
    ],
)  # fmt: skip
def test_a_bad_map_is_one_line_with_its_key_path(base, block, where, said):
    with pytest.raises(ConfigError) as e:
        parse(base, map=block)
    text = str(e.value)
    assert text.startswith(f"test.yaml: {where}: "), text
    assert said in text and "\n" not in text


def test_the_size_bound_names_its_figures():
    grid = {"x": [-5, 5, 2048], "y": [-5, 5, 2048]}
    with pytest.raises(ConfigError, match=r"4,194,304 grid points × 5,000 iterations"):
        parse(HIMMELBLAU, iterations=5000, map={"grid": grid})


def test_a_map_without_history_keeps_memory_per_row(monkeypatch):
    """The streaming run never holds more than a chunk of points: the
    largest array it makes for 20,000 rows × 2,000 iterations is far below
    the 40,000,000 points a history would take."""
    s = SURFACES["himmelblau"]
    largest = []
    empty = np.empty

    def spy(shape, *args, **kwargs):
        size = int(np.prod(shape))
        largest.append(size)
        return empty(shape, *args, **kwargs)

    monkeypatch.setattr(stream.np, "empty", spy)
    hp = methods.METHODS["gd"].build({"lr": 1e-5})  # too slow to arrive
    starts = np.random.default_rng(0).uniform(-5, 5, (20_000, 2))
    box = runner.divergence_box(s.xlim, s.ylim)
    got = stream.outcomes(s.grad, [hp] * 20_000, starts, 2000, box, [], 0.05)
    assert (got.outcome == stream.Outcome.NONE).all()
    assert largest and max(largest) <= stream._CHUNK_POINTS * 2


def test_the_readme_shows_both_maps():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "optviz map" in readme


def test_the_basin_backdrop_is_made_once_for_a_run(monkeypatch):
    """The video's scene and the stills' draw the same map: made once per
    result, again for another."""
    from optviz import api, pipeline

    data = {
        "surface": "himmelblau",
        "starts": [[-0.5, 4.5]],
        "iterations": 50,
        "optimizers": [{"method": "gd", "lr": 5e-3}],
        "map": {"optimizer": "gd", "grid": {"x": [-5, 5, 16], "y": [-5, 5, 16]}},
        "animation": {"backdrop": "basins"},
    }
    made = []
    original = pipeline.run_map
    monkeypatch.setattr(
        pipeline, "run_map", lambda *a, **k: made.append(1) or original(*a, **k)
    )
    config = parse(data)
    first = api.run(config)
    looks = [pipeline.scene(first).look.backdrop for _ in range(3)]
    assert len(made) == 1 and looks[0] is looks[1] is looks[2]
    assert pipeline.scene(api.run(config)).look.backdrop is not looks[0]
    assert len(made) == 2
