"""What the legend and the markers tell, and whether every optimizer can be seen.

Every optimizer named in the legend must show on screen (no path hidden under
another, no head under another head, no legend over the data), the markers
must be explained, the legend must say what the summary table says, and the
colours must be one per method and tell the optimizers of a video apart.
"""

import csv
import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from runs import run

from optviz import api, backdrop, core, summary
from optviz.config import Animation
from optviz.drawing import Renderer
from optviz.export import write_csv
from optviz.surfaces import SURFACES

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "configs" / "lecture"
CONFIGS = sorted((ROOT / "configs").glob("*/*.yaml"))
BEALE = SURFACES["beale"]
MAGENTA = (255, 0, 255)  # no optimizer's default colour


def small(surface, trajectories, labels, size=(400, 300), dpi=50, **kw):
    return Renderer(
        surface, trajectories, labels, xlim=surface.xlim, ylim=surface.ylim,
        animation=Animation(size=size, dpi=dpi), **kw,
    )  # fmt: skip


def legend_texts(renderer):
    return [t.get_text() for t in renderer.legend.get_texts()]


def lecture(stem):
    return api.run(api.load_config(LECTURE / f"{stem}.yaml"))


def himmelblau_25():
    """25 starts on a grid over Himmelblau's function: paths everywhere."""
    c = api.load_config(ROOT / "configs" / "examples" / "himmelblau_four_starts.yaml")
    grid = [(float(x), float(y)) for x in range(-4, 5, 2) for y in range(-4, 5, 2)]
    c = dataclasses.replace(c, starts=tuple(grid), iterations=1000)
    return api.run(c)


# -- colours -----------------------------------------------------------------------


def test_colour_distance_is_ciede2000():
    # Sharma, Wu and Dalal (2005), the reference pairs for CIEDE2000.
    pairs = [
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, -1.3802, -84.2814), (50, 0, -82.7485), 1.0000),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ]
    for a, b, expected in pairs:
        assert backdrop.lab_distance(a, b) == pytest.approx(expected, abs=1e-4)


def test_the_minimum_distance_tells_two_oranges_apart():
    # Momentum's orange and the vermillion rmsprop had next to it in a lecture
    # video: two oranges, closer than any two optimizers of one video may be.
    assert backdrop.colour_distance("#E69F00", "#D55E00") < backdrop.MIN_DISTANCE
    assert backdrop.colour_distance("#0072B2", "#E69F00") > backdrop.MIN_DISTANCE


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_method_has_one_colour_and_no_two_optimizers_look_alike(path):
    c = api.load_config(path)
    colours = api.figure(api.Result(c, c.surface, ()))["colors"]
    assert len(colours) == len(c.optimizers)
    seen = set()
    for o, colour in zip(c.optimizers, colours):
        if o.color is None and o.method not in seen:
            assert colour == backdrop.METHOD_COLOURS[o.method], o.label
        seen.add(o.method)
    for (a, ca), (b, cb) in itertools.combinations(zip(c.optimizers, colours), 2):
        distance = backdrop.colour_distance(ca, cb)
        assert distance >= backdrop.MIN_DISTANCE, (a.label, ca, b.label, cb)


def test_the_method_colours_are_told_apart_on_the_contours():
    first_order = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    for a, b in itertools.combinations(first_order, 2):
        ca, cb = backdrop.METHOD_COLOURS[a], backdrop.METHOD_COLOURS[b]
        assert backdrop.colour_distance(ca, cb) >= backdrop.MIN_DISTANCE, (a, b)
    for colour in backdrop.METHOD_COLOURS.values():  # none fades into the fill
        for fill in ("#ffffff", "#e4e9ef", "#b3bcc8"):
            assert backdrop.colour_distance(colour, fill) >= backdrop.MIN_DISTANCE


def test_a_users_colour_wins_and_the_defaults_keep_clear_of_it():
    blue = backdrop.METHOD_COLOURS["gd"]
    got = backdrop.optimizer_colours(3, [blue, None, None], ["adam", "gd", "gd"])
    assert got[0] == blue
    assert len(set(got)) == 3
    for a, b in itertools.combinations(got, 2):
        assert backdrop.colour_distance(a, b) >= backdrop.MIN_DISTANCE


def test_the_renderer_uses_the_configs_colours():
    result = lecture("1gd_gd+p_gd+np_adagrad_rmsprop")
    figure = api.figure(result, Animation(size=(300, 200), dpi=40))
    r = Renderer(**figure)
    try:
        assert r.colours == list(figure["colors"])
        assert r.colours[4] == backdrop.METHOD_COLOURS["rmsprop"]
    finally:
        r.close()


# -- the legend says what the table says ------------------------------------------


def test_a_diverged_run_stops_at_the_same_iteration_in_legend_table_and_csv(tmp_path):
    ts = run(BEALE, [("gd", {"lr": 0.01})], [(-3.0, 3.0)], 1000, labels=["gd"])
    (t,) = ts
    assert t.status is core.Status.DIVERGED
    (row,) = summary.rows(ts, BEALE.minima)
    with open(write_csv(ts, tmp_path / "t.csv"), newline="") as f:
        last = int(list(csv.DictReader(f))[-1]["iteration"])
    r = small(BEALE, ts, ["gd"])
    try:
        (name,) = legend_texts(r)[:1]
    finally:
        r.close()
    assert row.iterations == last == t.stopped_at
    assert name == f"gd ✗ diverged after {row.iterations:,}"


def test_a_converged_run_stops_at_the_same_iteration_in_legend_and_table():
    ts = run(BEALE, [("adam", {"lr": 0.1})], [(2.0, -2.0)], 3000, 1e-3)
    (row,) = summary.rows(ts, BEALE.minima)
    r = small(BEALE, ts, ["adam"])
    try:
        (name,) = legend_texts(r)[:1]
    finally:
        r.close()
    assert row.status == "converged"
    assert f"✓ converged at {row.iterations:,}" in name


def test_every_run_that_reaches_a_minimum_says_when_as_the_table_does():
    specs = [("adam", {"lr": 0.22, "beta2": 0.99}), ("gd", {"lr": 1e-4})]
    ts = run(BEALE, specs, [(2.0, -2.0)], 1500)
    rows = summary.rows(ts, BEALE.minima)
    assert rows[0].reached is not None and rows[1].reached is None
    r = small(BEALE, ts, ["adam", "gd"])
    try:
        names = legend_texts(r)[:2]
    finally:
        r.close()
    assert names == [f"adam ✓ reached at {rows[0].reached:,}", "gd"]


def test_reach_from_several_starts_is_counted():
    ts = run(BEALE, [("adam", {"lr": 0.22, "beta2": 0.99})], [(2, -2), (-3, 3)], 600)
    reached = [row.reached for row in summary.rows(ts, BEALE.minima)]
    assert reached[0] is not None and reached[1] is None  # (-3, 3): not by 600
    r = small(BEALE, ts, ["adam"])
    try:
        assert legend_texts(r)[0] == "adam ✓ reached from 1 of 2 starts"
    finally:
        r.close()


# -- the markers have a key, saddles are drawn ---------------------------------------


def test_the_legend_explains_the_markers_shown():
    ts = run(BEALE, [("gd", {"lr": 1e-4})], [(2.0, -2.0)], 50)
    r = small(BEALE, ts, ["gd"])
    try:
        assert legend_texts(r) == ["gd", "start", "global minimum", "saddle point"]
    finally:
        r.close()
    camel = SURFACES["six_hump_camel"]
    ts = run(camel, [("gd", {"lr": 1e-2})], [(1.0, 1.0)], 50)
    r = small(camel, ts, ["gd"])
    try:
        assert legend_texts(r)[1:] == ["start", "global minimum", "local minimum"]
    finally:
        r.close()


def test_saddles_are_drawn_in_videos():
    ts = run(BEALE, [("gd", {"lr": 1e-4})], [(2.0, -2.0)], 50)
    plain = dataclasses.replace(BEALE, saddles=())
    with_saddle, without = small(BEALE, ts, ["gd"]), small(plain, ts, ["gd"])
    try:
        a, b = with_saddle.frame(0), without.frame(0)
        x, y = with_saddle.axes.transData.transform((0.0, 1.0))
        row, col = round(300 - y), round(x)
        near = (slice(row - 6, row + 7), slice(col - 6, col + 7))
        changed = np.abs(a[near].astype(int) - b[near].astype(int)).max(-1) > 60
        assert changed.sum() > 20  # an ✕ of white and black at (0, 1)
    finally:
        with_saddle.close()
        without.close()


def test_heads_never_hide_the_stars_outline():
    # Three runs end on the star: one at its centre, two on its outline.
    ts = run(BEALE, [("gd", {"lr": 1e-4})] * 3, [(2.0, -2.0)], 20)
    ends = [(3.0, 0.5), (3.05, 0.5), (3.0, 0.56)]
    ts = [
        dataclasses.replace(t, points=np.vstack([t.points, end]))
        for t, end in zip(ts, ends)
    ]
    r = small(BEALE, ts, ["a", "b", "c"], size=(800, 600), dpi=100)
    try:
        alone, last = r.frame(0), r.frame(r.last)
        x, y = r.axes.transData.transform((3.0, 0.5))
        row, col = round(600 - y), round(x)
        near = (slice(row - 16, row + 17), slice(col - 16, col + 17))
        outline = alone[near][..., :3].max(-1) < 60  # the star's black edge
        assert outline.sum() > 40
        kept = last[near][..., :3].max(-1) < 100  # anti-aliased over a head
        assert (kept & outline).sum() >= 0.95 * outline.sum()
    finally:
        r.close()
