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
from scenes import renderer

from optviz import api
from optviz.config import Animation
from optviz.draw import backdrop
from optviz.draw.figure import Renderer
from optviz.optim import runner, summary
from optviz.output.trajectories_csv import write_csv
from optviz.story import is_story_file
from optviz.surfaces import SURFACES

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "configs" / "lecture"
# every config (a story, which only lists configs, is none)
CONFIGS = [
    p for p in sorted((ROOT / "configs").glob("*/*.yaml")) if not is_story_file(p)
]
BEALE = SURFACES["beale"]
MAGENTA = (255, 0, 255)  # no optimizer's default colour


def small(surface, trajectories, labels, size=(400, 300), dpi=50, **kw):
    return renderer(
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
    colours = api.scene(api.Result(c, c.surface, ())).colours
    assert len(colours) == len(c.optimizers)
    seen = set()
    for o, colour in zip(c.optimizers, colours):
        # a lecture method has a colour of its own (the torch-style methods,
        # adadelta, adamw..., and plug-ins take the palette's)
        own = o.plugin is None and o.method in backdrop.METHOD_COLOURS
        if o.color is None and o.method not in seen and own:
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
    figure = api.scene(result, Animation(size=(300, 200), dpi=40))
    r = Renderer(figure)
    try:
        assert r.colours == list(figure.colours)
        assert r.colours[4] == backdrop.METHOD_COLOURS["rmsprop"]
    finally:
        r.close()


# -- the legend says what the table says ------------------------------------------


def test_a_diverged_run_stops_at_the_same_iteration_in_legend_table_and_csv(tmp_path):
    ts = run(BEALE, [("gd", {"lr": 0.01})], [(-3.0, 3.0)], 1000, labels=["gd"])
    (t,) = ts
    assert t.status is runner.Status.DIVERGED
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


# -- every optimizer can be seen -------------------------------------------------------


def visible_pixels(result, i, k=None):
    """Pixels of optimizer ``i``'s colour in the axes (outside the legend) at
    iteration ``k`` (default: the last), with ``i`` drawn in magenta."""
    figure = api.scene(result)
    colours = list(figure.colours)
    colours[i] = "#FF00FF"
    r = Renderer(dataclasses.replace(figure, colours=tuple(colours)))
    try:
        image = r.frame(r.last if k is None else k)[..., :3].astype(int)
        inside = np.zeros(image.shape[:2], dtype=bool)
        h = image.shape[0]
        box = r.axes.get_window_extent()
        inside[int(h - box.y1) + 1 : int(h - box.y0), int(box.x0) + 1 : int(box.x1)] = 1
        if r.legend is not None:
            box = r.legend.get_window_extent()
            inside[
                int(h - box.y1) : int(h - box.y0) + 1, int(box.x0) : int(box.x1) + 1
            ] = 0
        magenta = np.abs(image - MAGENTA).max(-1) <= 40
        return int((magenta & inside).sum())
    finally:
        r.close()


@pytest.mark.parametrize(
    "stem",
    ["1gd_gd+p_gd+np", "1gd_gd+p_gd+np_adagrad_rmsprop+p_adam",
     "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam"],
)  # fmt: skip
def test_every_optimizer_of_a_lecture_video_shows_in_its_last_frame(stem):
    result = lecture(stem)
    counts = {label: visible_pixels(result, i) for i, label in enumerate(result.labels)}
    assert min(counts.values()) >= 100, counts  # pixels of its colour on screen


def test_every_optimizer_shows_in_an_early_frame_too():
    result = lecture("1gd_gd+p_gd+np")
    counts = {
        label: visible_pixels(result, i, 30) for i, label in enumerate(result.labels)
    }
    assert min(counts.values()) >= 30, counts  # at iteration 30


def test_every_head_on_the_minimum_shows():
    # From (-3, 3), three optimizers end on the star, one head on another.
    result = lecture("2gd_gd+p_gd+np_adagrad_rmsprop+p_adam")
    ends = {
        t.optimizer
        for t in result.trajectories
        if np.hypot(*(t.points[-1] - (3.0, 0.5))) < 0.05
    }
    assert len(ends) >= 3
    for i in sorted(ends):
        figure = api.scene(result)
        colours = list(figure.colours)
        colours[i] = "#FF00FF"
        r = Renderer(dataclasses.replace(figure, colours=tuple(colours)))
        try:
            image = r.frame(r.last)[..., :3].astype(int)
            x, y = r.axes.transData.transform((3.0, 0.5))
            row, col = round(r.size[1] - y), round(x)
            near = image[row - 15 : row + 16, col - 15 : col + 16]
            magenta = np.abs(near - MAGENTA).max(-1) <= 40
            assert magenta.sum() >= 20, (result.labels[i], int(magenta.sum()))
        finally:
            r.close()


def obstacles_under_legend(r, surface):
    """Path samples and markers of ``r`` under its legend (in pixels, with
    the line's half width and each marker's radius around them)."""
    box = r.legend.get_window_extent()
    to_px = r.axes.transData.transform
    px_per_pt = r.figure.dpi / 72
    hits = []
    for t in r.trajectories:
        xy = to_px(t.points)
        # Every pixel along the path, not just its vertices.
        steps = np.maximum(1, np.ceil(np.hypot(*np.diff(xy, axis=0).T)).astype(int))
        dense = np.concatenate(
            [a + (b - a) * np.linspace(0, 1, n + 1)[:, None]
             for a, b, n in zip(xy[:-1], xy[1:], steps)] or [xy]
        )  # fmt: skip
        pad = 3.5 * px_per_pt  # a head's radius
        inside = (
            (dense[:, 0] > box.x0 - pad) & (dense[:, 0] < box.x1 + pad)
            & (dense[:, 1] > box.y0 - pad) & (dense[:, 1] < box.y1 + pad)
        )  # fmt: skip
        if inside.any():
            hits.append((t.label, t.start))
    marks = [(m.x, m.y, 11) for m in surface.minima]
    marks += [(m.x, m.y, 6) for m in surface.saddles]
    marks += [(*t.points[0], 6) for t in r.trajectories]
    for x, y, radius in marks:
        px, py = to_px((x, y))
        pad = radius * px_per_pt
        if box.x0 - pad < px < box.x1 + pad and box.y0 - pad < py < box.y1 + pad:
            hits.append(("marker", (x, y)))
    return hits


@pytest.mark.parametrize(
    "make",
    [himmelblau_25, lambda: lecture("1gd_gd+p_gd+np_adagrad_rmsprop+p_adam"),
     lambda: lecture("2gd_gd+p_gd+np_adagrad_rmsprop+p_adam")],
    ids=["himmelblau_25", "1..._adam", "2..._adam"],
)  # fmt: skip
def test_the_legend_covers_no_path_and_no_marker(make):
    result = make()
    r = Renderer(api.scene(result))
    try:
        assert obstacles_under_legend(r, result.surface) == []
    finally:
        r.close()


def test_the_legend_check_sees_a_legend_over_the_data():
    result = himmelblau_25()
    r = Renderer(api.scene(result))
    try:
        handles, names = r.legend.legend_handles, legend_texts(r)
        r.legend = r.axes.legend(handles, names, loc="upper right")
        r.figure.canvas.draw()
        assert obstacles_under_legend(
            r, result.surface
        )  # the start at (4, 4) and its paths
    finally:
        r.close()


def test_coincident_lecture_paths_are_nested_bands():
    # From (2, -2) gd+np runs on gd+p (2e-4 apart) and gd along both: the
    # one drawn first is the widest.
    result = lecture("1gd_gd+p_gd+np")
    r = Renderer(api.scene(result))
    try:
        widths = [line.get_linewidth() for line in r._lines]
    finally:
        r.close()
    assert widths[0] > widths[1] > widths[2]


def test_with_no_room_in_the_axes_the_legend_goes_outside():
    r = Renderer(api.scene(himmelblau_25()))
    try:
        assert r.legend.get_window_extent().x0 > r.axes.get_window_extent().x1
        assert r.legend.get_window_extent().x1 <= r.size[0]
    finally:
        r.close()


def test_two_optimizers_of_one_method_get_told_apart():
    first, second = backdrop.optimizer_colours(2, methods=["rmsprop", "rmsprop"])
    assert first == backdrop.METHOD_COLOURS["rmsprop"]
    assert second == backdrop.SPARE_COLOURS[0]  # sky blue


@pytest.mark.parametrize(
    "look", [{"panels": ("loss",)}, {"view": "both"}], ids=["panels", "both"]
)
def test_with_no_room_and_panels_or_two_views_the_legend_goes_below(look):
    """Beside the axes the panels (or the 3-D view) leave it no room: it goes
    along the bottom of the frame, overlapping no axes and inside the frame."""
    result = himmelblau_25()
    c = result.config
    result = dataclasses.replace(
        result,
        config=dataclasses.replace(
            c, animation=dataclasses.replace(c.animation, **look)
        ),
    )
    r = Renderer(api.scene(result))
    try:
        legend = r.legend.get_window_extent()
        assert legend.x0 >= 0 and legend.x1 <= r.size[0] and legend.y0 >= 0
        for axes in r.figure.axes:
            assert not legend.overlaps(axes.get_tightbbox()), axes
        # the views keep most of the frame's height
        assert r.axes.get_window_extent().height > 0.5 * r.size[1]
    finally:
        r.close()


def test_a_plug_in_first_in_the_list_leaves_the_methods_their_colours():
    methods = ["./mine.py:signum", "gd", "adam"]
    colours = backdrop.optimizer_colours(3, methods=methods)
    assert colours[1:] == [backdrop.METHOD_COLOURS[m] for m in methods[1:]]
    assert colours[0] not in backdrop.METHOD_COLOURS.values()
    assert min(backdrop.colour_distance(colours[0], c) for c in colours[1:]) >= (
        backdrop.MIN_DISTANCE
    )
