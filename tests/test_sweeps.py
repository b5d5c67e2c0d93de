"""Sweeps: one optimizer's hyperparameters (and starts) as lists or ranges,
crossed or zipped, run as rows of one batch; a grid of cells with one clock,
an overlay coloured by the swept value, and the loss curves."""

import dataclasses

import numpy as np
import pytest
from PIL import Image
from runs import SWEEP_BASE

from optviz import api, pipeline
from optviz import config as config_module
from optviz.errors import ConfigError

BASE = SWEEP_BASE


def parse(**sweep):
    return config_module.parse({**BASE, "sweep": sweep}, source="s.yaml", stem="s")


def test_a_range_becomes_one_optimizer_per_value_in_place():
    c = parse(optimizer="gd", lr={"geomspace": [0.001, 0.1, 3]})
    assert [o.label for o in c.optimizers] == [
        "gd ε=0.001", "gd ε=0.01", "gd ε=0.1", "adam",
    ]  # fmt: skip
    assert [o.params["lr"] for o in c.optimizers[:3]] == pytest.approx(
        [0.001, 0.01, 0.1]
    )
    assert c.sweep.first == 0 and len(c.sweep.variants) == 3


def test_cross_and_zip():
    crossed = parse(optimizer="adam", lr=[0.01, 0.1], beta1=[0.5, 0.9, 0.99])
    assert len(crossed.sweep.variants) == 6
    assert crossed.optimizers[0].label == "gd"  # the one not swept keeps its place
    assert crossed.optimizers[1].label == "adam ε=0.01, β1=0.5"
    zipped = parse(optimizer="adam", lr=[0.01, 0.1], beta1=[0.5, 0.9], combine="zip")
    assert [o.label for o in zipped.optimizers[1:]] == [
        "adam ε=0.01, β1=0.5",
        "adam ε=0.1, β1=0.9",
    ]


def test_swept_starts_zipped_give_each_variant_its_own_start():
    c = parse(optimizer="gd", lr=[0.01, 0.1], starts=[[1, 1], [-2, 2]], combine="zip")
    assert c.starts == ((1.0, 1.0), (-2.0, 2.0))
    result = api.run(c)
    gd = [t for t in result.trajectories if t.optimizer in (0, 1)]
    assert [(t.optimizer, t.start) for t in gd] == [(0, 0), (1, 1)]
    assert [tuple(t.points[0]) for t in gd] == [(1.0, 1.0), (-2.0, 2.0)]
    # the optimizer not swept runs from every start
    assert sorted(t.start for t in result.trajectories if t.optimizer == 2) == [0, 1]


def test_each_variant_is_the_run_it_would_be_alone():
    c = parse(optimizer="gd", lr=[0.01, 0.05])
    swept = api.run(c)
    alone = api.run(
        config_module.parse(
            {**BASE, "optimizers": [{"label": "x", "method": "gd", "lr": 0.05}]},
            source="a.yaml",
        )
    )
    assert np.array_equal(swept.trajectories[1].points, alone.trajectories[0].points)


@pytest.mark.parametrize(
    ("sweep", "where", "said"),
    [
        ({"optimizer": "sgd", "lr": [1]}, "sweep.optimizer", "'gd', 'adam'"),
        ({"lr": [0.1]}, "sweep", "missing required key 'optimizer'"),
        ({"optimizer": "gd"}, "sweep", "sweeps nothing"),
        ({"optimizer": "gd", "beta1": [0.5]}, "sweep.beta1", "lr"),
        ({"optimizer": "gd", "lr": [0.1, -1]}, "sweep.lr", "> 0"),
        ({"optimizer": "gd", "lr": {"geomspace": [0, 1, 3]}}, "sweep.lr.geomspace",
         "> 0"),
        ({"optimizer": "gd", "lr": {"range": [0, 1]}}, "sweep.lr.range", "geomspace"),
        ({"optimizer": "gd", "lr": []}, "sweep.lr", "at least one"),
        ({"optimizer": "adam", "lr": [0.1, 0.2], "beta1": [0.5], "combine": "zip"},
         "sweep", "lr: 2, beta1: 1"),
        ({"optimizer": "gd", "lr": {"geomspace": [1e-4, 1, 300]}},
         "sweep.lr.geomspace[2]", "256"),
        ({"optimizer": "gd", "lr": [0.1], "show": ["cells", "film"]}, "sweep.show[1]",
         "'overlay'"),
        ({"optimizer": "gd", "starts": [[1, 2, 3]]}, "sweep.starts[0]", "[x, y]"),
    ],
)  # fmt: skip
def test_a_bad_sweep_is_one_line_with_its_key_path(sweep, where, said):
    with pytest.raises(ConfigError) as e:
        parse(**sweep)
    text = str(e.value)
    assert text.startswith(f"s.yaml: {where}: "), text
    assert said in text and "\n" not in text


@pytest.mark.render
def test_a_sweep_writes_its_cells_its_overlay_and_its_loss(tmp_path):
    c = parse(optimizer="gd", lr={"geomspace": [0.003, 0.3, 4]})
    result = api.run(c)
    paths = api.write_outputs(result, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        [
            "trajectories.csv",
            "s.mp4", "s.gif",
            "s-overlay.mp4", "s-overlay.gif",
            "s-loss.png",
        ]
    )  # fmt: skip
    cells = pipeline.cell_scenes(result)
    assert len(cells) == 4 and [s.title for s in cells] == [
        "ε=0.003", "ε=0.0139248", "ε=0.064633", "ε=0.3",
    ]  # fmt: skip
    # a 2 × 2 grid of 320 × 240 cells under a header
    with Image.open(tmp_path / "s.gif") as gif:
        w, h = gif.size
    assert w == 2 * 320 and h > 2 * 240
    overlay = pipeline.overlay_scene(result)
    scale = overlay.colour_scale
    assert scale is not None and scale.log and (scale.low, scale.high) == (0.003, 0.3)
    assert len(set(overlay.colours[:4])) == 4  # one colour per value
    assert overlay.in_legend == (False, False, False, False, True)


@pytest.mark.render
def test_every_cell_shows_the_same_iteration_as_its_own_still(tmp_path):
    """One clock: frame k of the grid is each cell's own frame at the
    iteration the grid's counter says."""
    from optviz.draw.figure import Renderer

    c = parse(optimizer="gd", lr=[0.01, 0.05, 0.1])
    result = api.run(c)
    cells = pipeline.cell_scenes(result)
    draw = pipeline.CellRanges(cells, [0, 5, 20, 40], "t")
    try:
        frame = draw.frame(20)
        top = draw.header.size[1]
        for i, cell in enumerate(cells):
            alone = Renderer(cell)
            try:
                own = np.asarray(alone.frame(20))
            finally:
                alone.close()
            h, w = own.shape[:2]
            r, col = divmod(i, 2)
            part = frame[top + r * h : top + (r + 1) * h, col * w : (col + 1) * w]
            assert np.array_equal(part, own), i
    finally:
        draw.close()


@pytest.mark.render
def test_the_loss_still_draws_one_curve_per_run(tmp_path):
    c = parse(optimizer="gd", lr=[0.01, 0.3], show=["loss"])
    result = api.run(c)
    paths = api.write_outputs(result, tmp_path)
    assert [p.name for p in paths] == ["trajectories.csv", "s-loss.png"]
    with Image.open(tmp_path / "s-loss.png") as image:
        assert image.size == (320, 240)


def test_a_sweep_with_many_variants_has_no_grid():
    c = parse(optimizer="gd", lr={"geomspace": [1e-3, 0.1, 17]}, show=["cells"])
    small = dataclasses.replace(c, iterations=5)
    assert len(small.sweep.variants) == 17  # above MAX_CELLS: no grid is drawn
