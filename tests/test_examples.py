"""Every example config runs and draws, and its ``Watch:`` comment is true.

Each example opens with a comment saying what its video shows. The tests
below turn those sentences, clause by clause, into assertions on the
example's run (one run per config, shared by the module; no video): where a
path first comes near a point, which minimum it ends at, which arrives
first, which paths stay in the view. A comment that stops being true fails
here. Numbers the comments state ("in 5 steps", "about 30") are asserted
with the tolerance given next to them.
"""

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
import runs

import optviz
from optviz import api, story
from optviz.config import load
from optviz.optim import runner

EVERY = sorted(
    (Path(__file__).resolve().parent.parent / "configs" / "examples").glob("*.yaml")
)
# The stories (a list of configs each, drawn by their own tests) and the configs.
STORIES = [p for p in EVERY if story.is_story_file(p)]
EXAMPLES = [p for p in EVERY if p not in STORIES]
BY_STEM = {p.stem: p for p in EVERY}


def test_the_stories_are_found():
    assert [p.stem for p in STORIES] == ["opt2_story"]


@pytest.mark.render
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_draws(path, tmp_path):
    text = path.read_text(encoding="utf-8")
    assert "Watch:" in text, "an example says what to watch"
    config = load(path)
    small = dataclasses.replace(config.animation, size=(240, 180), dpi=30)
    result = optviz.run(dataclasses.replace(config, animation=small))
    assert len(result.trajectories) == len(config.optimizers) * len(config.starts)
    still = optviz.still(result, tmp_path / "last.png")
    assert still.stat().st_size > 1000


def test_the_readme_lists_every_example():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for path in EVERY:
        assert path.name in readme or path.stem in readme, path.name


def test_every_example_has_its_watch_sentence_tested():
    """Each example has at least one claim test below (``test_<stem>__...``)."""
    assert runs.without_claim_tests(BY_STEM, globals()) == []


# --- helpers ---------------------------------------------------------------


RUNS = runs.ConfigRuns(BY_STEM)
run, trajectory, path = RUNS.run, RUNS.trajectory, RUNS.path


def reach(points: np.ndarray, target, r: float = 0.05) -> int | None:
    """The first iteration within ``r`` of ``target``; None if never."""
    near = np.linalg.norm(points - np.asarray(target, dtype=float), axis=1) < r
    return int(np.argmax(near)) if near.any() else None


def minimum(stem: str, kind: str | None = None, near=None):
    """The listed minimum of the example's surface closest to ``near``
    (of ``kind``, 'global' or 'local', if given), as (x, y)."""
    minima = [m for m in run(stem).surface.minima if kind in (None, m.kind)]
    points = np.array([(m.x, m.y) for m in minima])
    if near is None:
        assert len(points) == 1
        return points[0]
    return points[np.argmin(np.linalg.norm(points - near, axis=1))]


def ends_at(points: np.ndarray, target, r: float = 1e-3) -> bool:
    """Whether the last of ``points`` is within ``r`` of ``target``."""
    return bool(np.linalg.norm(points[-1] - np.asarray(target, dtype=float)) < r)


def inside(stem: str, points: np.ndarray) -> np.ndarray:
    """Which points lie inside the config's view window."""
    c = run(stem).config
    x, y = points[:, 0], points[:, 1]
    return (c.xlim[0] <= x) & (x <= c.xlim[1]) & (c.ylim[0] <= y) & (y <= c.ylim[1])


def assert_in_view(stem: str, *labels: str) -> None:
    """Every point of the named paths (all paths if none named), from every
    start, lies inside the config's view window."""
    for t in run(stem).trajectories:
        if labels and t.label not in labels:
            continue
        outside = np.flatnonzero(~inside(stem, t.points))
        assert not outside.size, (
            f"{t.label} from start {t.start} leaves the view at iteration "
            f"{outside[0]}: {t.points[outside[0]]}"
        )


def local_minimum(stem: str, point) -> bool:
    """Whether ``point`` is a local minimum of the example's surface: the
    gradient vanishes there and the Hessian is positive definite."""
    s = run(stem).surface
    p = np.asarray(point, dtype=float)[None]
    grad = np.linalg.norm(s.grad(p)[0])
    return bool(grad < 1e-6 and np.all(np.linalg.eigvalsh(s.hessian(p)[0]) > 0))


def steps(points: np.ndarray) -> np.ndarray:
    """The length of each step, (n,)."""
    return np.linalg.norm(np.diff(points, axis=0), axis=1)


def across(points: np.ndarray, degrees: float) -> np.ndarray:
    """The across-valley coordinate of points on a bowl whose long axis is
    turned by ``degrees`` (the quadratic surface's ``angle``)."""
    a = np.radians(degrees)
    return -np.sin(a) * points[:, 0] + np.cos(a) * points[:, 1]


def crossings(v: np.ndarray, visible: float) -> int:
    """How often ``v`` changes sign between two points both at least
    ``visible`` from 0 (a crossing of the valley's axis a viewer can see)."""
    big = np.abs(v) >= visible
    flips = np.sign(v[1:]) != np.sign(v[:-1])
    return int(np.sum(flips & big[1:] & big[:-1]))


def variant(stem: str, label: str, **hyperparameters: float) -> api.Result:
    """The example's run with optimizer ``label``'s hyperparameters changed
    (for the comments' claims that the settings are not a knife edge)."""
    config = run(stem).config
    specs = [
        dataclasses.replace(
            o, hyperparameters=tuple({**o.params, **hyperparameters}.items())
        )
        if o.label == label
        else o
        for o in config.optimizers
    ]
    return optviz.run(dataclasses.replace(config, optimizers=tuple(specs)))


def pixels(stem: str, points: np.ndarray) -> np.ndarray:
    """Points in pixels of the example's default frame (its size and dpi)."""
    from optviz.draw.figure import Renderer

    renderer = Renderer(api.scene(run(stem)))
    renderer.figure.canvas.draw()  # lays the axes out (equal aspect, panels)
    return renderer.axes.transData.transform(points)


# --- adam_bias_correction --------------------------------------------------
# "without the correction the moments start near zero, so the first step is
# (1 − β1)/√(1 − β2) ≈ 3.2 times as long as the corrected Adam's, and the
# next few longer still (up to about 4.6 times): the uncorrected Adam lurches
# off much further at the start, 4 times as far after 10 steps"

ADAM, RAW = "adam", "adam, no bias correction"


def test_adam_bias_correction__first_step_3_2_times_as_long():
    ratio = (
        steps(path("adam_bias_correction", RAW))[0]
        / steps(path("adam_bias_correction", ADAM))[0]
    )
    assert ratio == pytest.approx((1 - 0.9) / np.sqrt(1 - 0.999), rel=1e-3)
    assert ratio == pytest.approx(3.2, abs=0.05)


def test_adam_bias_correction__next_steps_longer_still_up_to_4_6_times():
    ratios = (
        steps(path("adam_bias_correction", RAW))[:10]
        / steps(path("adam_bias_correction", ADAM))[:10]
    )
    assert ratios[1] > ratios[0]
    assert ratios.max() == pytest.approx(4.6, abs=0.1)
    assert ratios.min() > 3  # the README: "the first ten steps are 3 to 4.6× longer"


def test_adam_bias_correction__4_times_as_far_after_10_steps():
    far = [
        np.linalg.norm(path("adam_bias_correction", label)[10] - [-3, 3])
        for label in (RAW, ADAM)
    ]
    assert far[0] / far[1] == pytest.approx(4, abs=0.3)


def test_adam_bias_correction__both_stay_in_view():
    assert_in_view("adam_bias_correction")


# --- batch_vs_minibatch ----------------------------------------------------
# "the full-batch gradient walks a smooth path to the least-squares solution;
# a minibatch of 10 takes a noisy path around it; one example at a time
# (stochastic) is noisier still and keeps jittering near the minimum"

BATCH, MINI, SGD = "batch (m = 100)", "minibatch (10)", "stochastic (1)"


def turns(points: np.ndarray) -> np.ndarray:
    """The cosine of the angle between successive steps (1: straight on)."""
    d = np.diff(points, axis=0)
    d = d[np.linalg.norm(d, axis=1) > 1e-9]
    norms = np.linalg.norm(d[1:], axis=1) * np.linalg.norm(d[:-1], axis=1)
    return np.sum(d[1:] * d[:-1], axis=1) / norms


def test_batch_vs_minibatch__batch_walks_a_smooth_path_to_the_solution():
    points = path("batch_vs_minibatch", BATCH)
    assert ends_at(points, minimum("batch_vs_minibatch"), 1e-6)
    assert turns(points).min() > 0.9  # never turns by more than 26°


def test_batch_vs_minibatch__minibatch_noisy_around_it_stochastic_noisier():
    solution = minimum("batch_vs_minibatch")
    spread = {
        label: np.linalg.norm(path("batch_vs_minibatch", label)[-100:] - solution)
        for label in (BATCH, MINI, SGD)
    }
    assert spread[BATCH] < 1e-6 < spread[MINI] < spread[SGD]
    batch = path("batch_vs_minibatch", BATCH)
    off = {  # the mean distance from the batch path, iteration by iteration
        label: np.linalg.norm(path("batch_vs_minibatch", label) - batch, axis=1).mean()
        for label in (MINI, SGD)
    }
    assert 0.01 < off[MINI] < off[SGD] / 3


@pytest.mark.render
def test_batch_vs_minibatch__stochastic_keeps_jittering_near_the_minimum():
    last = path("batch_vs_minibatch", SGD)[-50:]
    assert np.linalg.norm(last - minimum("batch_vs_minibatch"), axis=1).max() < 0.5
    mini = steps(path("batch_vs_minibatch", MINI)[-50:]).mean()
    assert steps(last).mean() > 2 * mini
    in_pixels = steps(pixels("batch_vs_minibatch", last))
    assert np.median(in_pixels) > 2  # visibly, to the end


def test_batch_vs_minibatch__all_stay_in_view():
    assert_in_view("batch_vs_minibatch")


# --- branin_three_minima ---------------------------------------------------
# "from two starts the optimizers find two different ones, the one whose
# basin each start lies in: (0, 14) goes to (−π, 12.3), (7, 13) to (3π, 2.5)"


def basin(stem: str, start: int):
    """The minimum whose basin start ``start`` lies in: where gradient flow
    (gradient descent with a step far smaller than any example's) ends."""
    flow = runs.run(
        run(stem).surface, [("gd", {"lr": 1e-3})], run(stem).config.starts, 20_000
    )[start]
    return minimum(stem, near=flow.points[-1])


@pytest.mark.parametrize("label", ["momentum", "adam"])
def test_branin_three_minima__each_start_finds_its_own_minimum(label):
    stem = "branin_three_minima"
    assert ends_at(path(stem, label, 0), (-np.pi, 12.275))
    assert ends_at(path(stem, label, 1), (3 * np.pi, 2.475))
    for start in (0, 1):
        assert ends_at(path(stem, label, start), basin(stem, start))


def test_branin_three_minima__all_stay_in_view():
    assert_in_view("branin_three_minima")


# --- camera_path -----------------------------------------------------------
# "it starts high above six-hump camel, looking almost straight down as the
# contours do, then sinks and turns a quarter round, to end looking from the
# side. Watch: gradient descent stops in the dimple next to its start, high
# up the wall, while heavy momentum rolls past it and down into a global
# minimum"


def test_camera_path__starts_above_sinks_and_turns_a_quarter_round():
    stem = "camera_path"
    camera = run(stem).config.animation.camera
    assert camera.moves
    seen = [camera.at(p) for p in np.linspace(0, 1, 101)]
    assert seen[0].elevation >= 70  # almost straight down
    assert seen[-1].elevation <= 20  # from the side
    assert np.all(np.diff([c.elevation for c in seen]) <= 0)  # it sinks
    assert seen[-1].azimuth - seen[0].azimuth == pytest.approx(90)
    assert run(stem).config.animation.view == "3d"


def test_camera_path__gd_stops_in_the_dimple_momentum_rolls_past_to_a_global():
    stem = "camera_path"
    gd, mom = path(stem, "gd"), path(stem, "momentum")
    dimple = minimum(stem, "local", near=gd[-1])
    assert ends_at(gd, dimple)
    assert np.linalg.norm(dimple - gd[0]) < 0.5  # next to its start
    drop = trajectory(stem, "gd").loss[-1] - trajectory(stem, "momentum").loss[-1]
    assert drop > 0.8  # high up the wall
    assert np.linalg.norm(mom - dimple, axis=1).min() < 0.1  # rolls past it
    assert ends_at(mom, minimum(stem, "global", near=mom[-1]))
    assert_in_view(stem)


# --- classic_look ----------------------------------------------------------
# "Adam reaches the minimum first (at about iteration 500); Adagrad swings
# out to the upper left, past x = −2, and arrives much later (at about
# 1,800); gradient descent, with or without momentum, is still on the valley
# floor after 10,000 iterations, at f above 0.3"


def test_classic_look__adam_first_adagrad_after_a_swing_to_the_upper_left():
    stem = "classic_look"
    star = minimum(stem)
    adam, adagrad = reach(path(stem, "adam"), star), reach(path(stem, "adagrad"), star)
    assert adam == pytest.approx(500, rel=0.1)
    assert adagrad == pytest.approx(1800, rel=0.1)
    swing = path(stem, "adagrad")[:adagrad]
    assert swing[:, 0].min() < -2 and swing[:, 1].max() > 2  # the upper left
    assert_in_view(stem)


def test_classic_look__gd_with_or_without_momentum_still_on_the_floor():
    stem = "classic_look"
    for label in ("gd", "gd+p"):
        t = trajectory(stem, label)
        assert reach(t.points, minimum(stem)) is None
        assert t.iterations == 10_000 and 0.3 < t.loss[-1] < 1.0


@pytest.mark.render
def test_classic_look__coloured_lines_and_a_colour_bar():
    from matplotlib.contour import ContourSet

    from optviz.draw.figure import Renderer

    renderer = Renderer(api.scene(run("classic_look")))
    try:
        (lines,) = [c for c in renderer.axes.collections if isinstance(c, ContourSet)]
        assert not lines.filled
        (bar,) = [a for a in renderer.figure.axes if hasattr(a, "_colorbar")]
        assert bar.get_ylabel() == "f − f*"
    finally:
        renderer.close()


# --- cliff_jump ------------------------------------------------------------
# "the step taken there flings gradient descent far across the basin and out
# of view, to fall back into the basin two steps later; the same learning
# rate with the gradient clipped to norm 1 steps over the edge, walks into the
# basin and reaches the minimum first; a smaller learning rate survives too
# but crawls on the plateau and arrives last"

BIG, SMALL, CLIPPED = "gd, ε = 0.5", "gd, ε = 0.05", "gd, ε = 0.5, clipped"


def test_cliff_jump__the_edge_flings_gd_out_of_view_for_two_steps():
    points = path("cliff_jump", BIG)
    outside = np.flatnonzero(~inside("cliff_jump", points))
    assert len(outside) == 2 and outside[1] == outside[0] + 1
    assert points[outside, 0].min() > run("cliff_jump").config.xlim[1]  # across
    assert reach(points, minimum("cliff_jump")) is not None  # falls back


def test_cliff_jump__clipped_walks_in_and_reaches_first_small_rate_last():
    first = {
        label: reach(path("cliff_jump", label), minimum("cliff_jump"))
        for label in (BIG, SMALL, CLIPPED)
    }
    assert None not in first.values()
    assert first[CLIPPED] < first[BIG] < first[SMALL]
    assert_in_view("cliff_jump", CLIPPED, SMALL)


def test_cliff_jump__small_rate_crawls_on_the_plateau():
    # The plateau is x < 0: the small rate takes 5 times as many steps there.
    on_plateau = {
        label: int(np.sum(path("cliff_jump", label)[:, 0] < 0))
        for label in (SMALL, CLIPPED)
    }
    assert on_plateau[SMALL] > 5 * on_plateau[CLIPPED]


# --- custom_formula --------------------------------------------------------
# "the ripple's local minima stop gradient descent; Adam's momentum rolls
# over them"


def lowest_on_grid(stem: str) -> float:
    """The lowest value of the surface on a fine grid over the view."""
    c = run(stem).config
    x, y = np.meshgrid(np.linspace(*c.xlim, 801), np.linspace(*c.ylim, 601))
    return float(run(stem).surface.f(np.stack([x, y], axis=-1)).min())


def test_custom_formula__a_local_minimum_stops_gd():
    t = trajectory("custom_formula", "gd")
    assert local_minimum("custom_formula", t.points[-1])
    assert t.loss[-1] > lowest_on_grid("custom_formula") + 0.3


def test_custom_formula__adam_rolls_over_them_to_the_lowest_point():
    t = trajectory("custom_formula", "adam")
    assert local_minimum("custom_formula", t.points[-1])
    assert t.loss[-1] <= lowest_on_grid("custom_formula") + 1e-4
    assert_in_view("custom_formula")


# --- easom_flat_plain ------------------------------------------------------
# "from the hole's rim both optimizers fall in; from the plain at (0.5, 5.5)
# the gradient is about 1e-5, so gradient descent does not visibly move, and
# Adam ... walks a unit towards the hole but stops at (1.3, 5.0), in a dimple
# of the plain (f ≈ −8e−5) far too shallow for any contour to show"


@pytest.mark.parametrize("label", ["gd", "adam"])
def test_easom_flat_plain__from_the_rim_both_fall_in(label):
    assert ends_at(path("easom_flat_plain", label, 0), minimum("easom_flat_plain"))


def test_easom_flat_plain__the_gradient_on_the_plain_is_about_1e_5():
    g = trajectory("easom_flat_plain", "gd", 1).grad_norm[0]
    assert 0.5e-5 < g < 2e-5


@pytest.mark.render
def test_easom_flat_plain__gd_does_not_visibly_move():
    points = pixels("easom_flat_plain", path("easom_flat_plain", "gd", 1))
    assert np.linalg.norm(points - points[0], axis=1).max() < 1


def test_easom_flat_plain__adam_walks_a_unit_and_stops_in_a_dimple():
    t = trajectory("easom_flat_plain", "adam", 1)
    assert np.linalg.norm(t.points[-1] - t.points[0]) == pytest.approx(1, abs=0.1)
    hole = minimum("easom_flat_plain")
    assert np.linalg.norm(t.points[-1] - hole) < np.linalg.norm(t.points[0] - hole)
    assert np.allclose(t.points[-1], (1.3, 5.0), atol=0.05)
    assert local_minimum("easom_flat_plain", t.points[-1])
    assert t.loss[-1] == pytest.approx(-8e-5, rel=0.1)


def test_easom_flat_plain__the_dimple_is_too_shallow_for_a_contour():
    # No contour level of the drawn backdrop separates the dimple from the
    # plain around it: both lie in one band of the filled contours.
    from optviz.draw.backdrop import contour_levels, surface_grid

    stem = "easom_flat_plain"
    c, s = run(stem).config, run(stem).surface
    levels = contour_levels(surface_grid(s, c.xlim, c.ylim)[2], s.levels)
    dimple = path(stem, "adam", 1)[-1]
    x, y = np.meshgrid(*(np.linspace(v - 0.5, v + 0.5, 101) for v in dimple))
    around = s.f(np.stack([x, y], axis=-1))
    assert not np.any((around.min() <= levels) & (levels <= around.max()))


def test_easom_flat_plain__all_stay_in_view():
    assert_in_view("easom_flat_plain")


# --- himmelblau_four_starts ------------------------------------------------
# "from four starts, gradient descent ends in all four, one per basin; Adam's
# momentum carries the start at (1, -1) out of its basin into the one at
# (3, 2)"


def test_himmelblau_four_starts__gd_ends_in_all_four_one_per_start():
    ends = [path("himmelblau_four_starts", "gd", k)[-1] for k in range(4)]
    found = {tuple(minimum("himmelblau_four_starts", near=e)) for e in ends}
    assert len(found) == 4
    for e in ends:
        assert ends_at(e[None], minimum("himmelblau_four_starts", near=e))


def test_himmelblau_four_starts__adam_carries_1_m1_out_of_its_basin_to_3_2():
    assert run("himmelblau_four_starts").config.starts[3] == (1, -1)
    gd_end = path("himmelblau_four_starts", "gd", 3)[-1]
    assert not np.allclose(gd_end, (3, 2), atol=0.1)  # its own basin's minimum
    assert ends_at(path("himmelblau_four_starts", "adam", 3), (3, 2))


def test_himmelblau_four_starts__all_stay_in_view():
    assert_in_view("himmelblau_four_starts")


# --- lr_decay --------------------------------------------------------------
# "the large constant rate bounces across the valley and never settles: the
# noise keeps it jumping around the minimum to the end; the same start rate
# decayed to a small one over 100 updates bounces at first, then settles near
# the minimum, its steps some 30 times shorter"

CONSTANT, DECAYED = "constant ε = 0.09", "ε 0.09 → 0.005 over 100"


def test_lr_decay__the_constant_rate_bounces_across_the_valley_to_the_end():
    points = path("lr_decay", CONSTANT)
    last = across(points[-75:], 30)
    assert crossings(last, 0.02) > 20  # of 74 steps
    assert steps(points[-75:]).mean() > 0.1  # 7.6 pixels or more a step


def test_lr_decay__the_decayed_rate_bounces_at_first():
    first = across(path("lr_decay", DECAYED)[:11], 30)
    assert crossings(first, 0.05) >= 5


def test_lr_decay__the_decayed_rate_settles_near_the_minimum():
    last = path("lr_decay", DECAYED)[-75:]
    assert np.linalg.norm(last, axis=1).max() < 0.2
    ratio = steps(path("lr_decay", CONSTANT)[-75:]).mean() / steps(last).mean()
    assert 20 < ratio < 45  # "some 30 times shorter"


def test_lr_decay__both_stay_in_view():
    assert_in_view("lr_decay")


# --- newton_beale_saddle ---------------------------------------------------
# "plain Newton converges to the saddle at (0, 1), not to the minimum
# (3, 0.5), from both starts, after jumps out of view to the left (two from
# (2, −2), one from (−3, 3)) ...
# Damped Newton, (H + αI)⁻¹g with α = 8, goes downhill at every step and never
# comes near the saddle: from (2, −2) it reaches the minimum, from (−3, 3) it
# slides into the valley at x < 0, y > 1"

SADDLE, DAMPED = (0, 1), "newton, α = 8"


@pytest.mark.parametrize("start", [0, 1], ids=["opt1", "opt2"])
def test_newton_beale_saddle__plain_newton_converges_to_the_saddle(start):
    points = path("newton_beale_saddle", "newton", start)
    assert ends_at(points, SADDLE, 1e-9)
    assert reach(points, minimum("newton_beale_saddle")) is None
    assert (0, 1) in [(m.x, m.y) for m in run("newton_beale_saddle").surface.saddles]


@pytest.mark.parametrize(("start", "jumps"), [(0, 2), (1, 1)], ids=["opt1", "opt2"])
def test_newton_beale_saddle__plain_newton_jumps_out_of_view_to_the_left(start, jumps):
    points = path("newton_beale_saddle", "newton", start)
    outside = np.flatnonzero(~inside("newton_beale_saddle", points))
    assert 1 + np.sum(np.diff(outside) > 1) == jumps
    assert np.all(points[outside, 0] < run("newton_beale_saddle").config.xlim[0])


@pytest.mark.parametrize("start", [0, 1], ids=["opt1", "opt2"])
def test_newton_beale_saddle__damped_newton_goes_downhill_at_every_step(start):
    t = trajectory("newton_beale_saddle", DAMPED, start)
    assert np.all(np.diff(t.loss) <= 0)
    assert np.linalg.norm(t.points - SADDLE, axis=1).min() > 0.5
    assert_in_view("newton_beale_saddle", DAMPED)


@pytest.mark.parametrize("alpha", [5.5, 13])
def test_newton_beale_saddle__any_alpha_from_5_5_to_13_does_the_same(alpha):
    damped = variant("newton_beale_saddle", DAMPED, damping=alpha).trajectories[2:]
    assert [t.label for t in damped] == [DAMPED, DAMPED]
    for t in damped:
        assert np.all(np.diff(t.loss) <= 0)
        assert np.linalg.norm(t.points - SADDLE, axis=1).min() > 0.5
    assert reach(damped[0].points, minimum("newton_beale_saddle")) is not None
    assert damped[1].points[-1, 0] < 0 < damped[1].points[-1, 1] - 1


def test_newton_beale_saddle__alpha_1_jumps_uphill():
    damped = variant("newton_beale_saddle", DAMPED, damping=1).trajectories[2]
    assert np.diff(damped.loss).max() > 1e6


def test_newton_beale_saddle__damped_newton_reaches_the_minimum_from_2_m2():
    points = path("newton_beale_saddle", DAMPED, 0)
    assert reach(points, minimum("newton_beale_saddle")) is not None
    assert ends_at(points, minimum("newton_beale_saddle"), 0.05)


def test_newton_beale_saddle__damped_newton_slides_into_the_valley_from_m3_3():
    points = path("newton_beale_saddle", DAMPED, 1)
    x, y = points[-1]
    assert x < 0 and y > 1
    assert 0 < np.linalg.norm(points[-1] - points[-2]) < 0.02  # still, slowly


# --- newton_saddle ---------------------------------------------------------
# "plain Newton jumps straight to the saddle point in one step and stays
# there; damped Newton, (H + αI)⁻¹g with α = 3, makes the Hessian positive
# definite, so it slides off the saddle downhill along y ... and on out of
# view: marked diverged"


def test_newton_saddle__plain_newton_jumps_to_the_saddle_in_one_step_and_stays():
    points = path("newton_saddle", "newton")
    assert np.allclose(points[1:], 0, atol=1e-12)


def test_newton_saddle__damped_newton_slides_off_downhill_along_y_and_diverges():
    t = trajectory("newton_saddle", "newton, α = 3")
    assert np.all(np.diff(t.loss) < 0)
    x, y = np.abs(t.points).T
    assert np.all(np.diff(x) < 0) and np.all(np.diff(y) > 0)  # off the ridge x = 0
    assert x[-1] < x[0] / 10 and y[-1] > 100 * y[0]
    assert not inside("newton_saddle", t.points[-1:])[0]
    assert t.status.value == "diverged"


# --- quadratic_zigzag ------------------------------------------------------
# "gradient descent zigzags across the narrow valley at every step, for some
# 30 steps; momentum averages the zigzag away ...: it swings across a few
# times, each swing about half the last, is on the valley floor after about
# 12 steps with over a third of the way still ahead, and runs along it to the
# minimum, arriving first"

VISIBLE = 0.05  # across the valley: about 4 pixels in the default frame


def along(points: np.ndarray, degrees: float) -> np.ndarray:
    """The along-valley coordinate (see :func:`across`)."""
    a = np.radians(degrees)
    return np.cos(a) * points[:, 0] + np.sin(a) * points[:, 1]


def swings(v: np.ndarray, smallest: float) -> np.ndarray:
    """The peaks of |v| between its sign changes, down to ``smallest``."""
    cuts = np.flatnonzero(np.sign(v[1:]) != np.sign(v[:-1])) + 1
    peaks = np.array([np.abs(part).max() for part in np.split(v, cuts) if part.size])
    return peaks[peaks >= smallest]


def test_quadratic_zigzag__gd_zigzags_across_the_valley_at_every_step():
    v = across(path("quadratic_zigzag", "gd"), 30)
    visible = np.flatnonzero(np.abs(v) >= VISIBLE)
    assert len(visible) == pytest.approx(30, abs=3)  # "for some 30 steps"
    zigzag = v[: visible[-1] + 1]
    assert np.all(np.sign(zigzag[1:]) != np.sign(zigzag[:-1]))


def test_quadratic_zigzag__momentum_swings_a_few_times_each_about_half_the_last():
    v = across(path("quadratic_zigzag", "momentum"), 30)
    peaks = swings(v, VISIBLE)
    assert 2 <= len(peaks) - 1 <= 5  # the swings after the start's offset
    ratios = peaks[1:] / peaks[:-1]
    assert np.all((ratios > 0.35) & (ratios < 0.7)), ratios
    gd = path("quadratic_zigzag", "gd")
    assert crossings(v, VISIBLE) <= 5
    assert crossings(across(gd, 30), VISIBLE) > 25
    assert steps(path("quadratic_zigzag", "momentum")).sum() < steps(gd).sum() / 3


def test_quadratic_zigzag__momentum_on_the_floor_after_12_steps_a_third_to_go():
    points = path("quadratic_zigzag", "momentum")
    v, u = across(points, 30), along(points, 30)
    floor = np.flatnonzero(np.abs(v) >= VISIBLE).max() + 1  # for good
    assert floor == pytest.approx(12, abs=2)
    assert abs(u[floor]) > abs(u[0]) / 3


@pytest.mark.parametrize("alpha", [0.55, 0.65])
@pytest.mark.parametrize("lr", [0.018, 0.022])
def test_quadratic_zigzag__nearby_settings_swing_and_arrive_alike(alpha, lr):
    result = variant("quadratic_zigzag", "momentum", lr=lr, momentum=alpha)
    gd, momentum = (t.points for t in result.trajectories)
    ratios = (lambda p: p[1:] / p[:-1])(swings(across(momentum, 30), VISIBLE))
    assert 2 <= len(ratios) <= 6
    assert np.all((ratios > 0.35) & (ratios < 0.75)), ratios
    assert reach(momentum, (0, 0)) < reach(gd, (0, 0))


def test_quadratic_zigzag__momentum_runs_along_the_floor_and_arrives_first():
    first = {
        label: reach(path("quadratic_zigzag", label), (0, 0))
        for label in ("gd", "momentum")
    }
    assert first["momentum"] < 0.8 * first["gd"]


def test_quadratic_zigzag__both_stay_in_view():
    assert_in_view("quadratic_zigzag")


# --- rastrigin_trapped -----------------------------------------------------
# "gradient descent drops into the nearest dimple, at (4, 4), and stays;
# momentum with a larger step hops over one ridge into the next, lower
# dimple, at (3, 4), and stays there, far from the global minimum"


def test_rastrigin_trapped__gd_drops_into_the_nearest_dimple_and_stays():
    points = path("rastrigin_trapped", "gd")
    assert np.allclose(points[-1], (4, 4), atol=0.05)
    assert local_minimum("rastrigin_trapped", points[-1])
    assert np.all(np.abs(points - (4, 4)) < 0.5)  # never leaves its cell


def test_rastrigin_trapped__momentum_hops_one_ridge_to_a_lower_dimple_and_stays():
    t = trajectory("rastrigin_trapped", "momentum")
    assert np.allclose(t.points[-1], (3, 4), atol=0.05)
    assert local_minimum("rastrigin_trapped", t.points[-1])
    assert t.loss[-1] < trajectory("rastrigin_trapped", "gd").loss[-1]
    settled = reach(t.points, t.points[-1], 0.05)
    assert settled < len(t.points) / 2  # and stays for the second half
    assert np.all(np.linalg.norm(t.points[settled:] - t.points[-1], axis=1) < 0.05)
    assert np.linalg.norm(t.points[-1]) > 4  # far from the global minimum


@pytest.mark.parametrize("lr", [0.0075, 0.0082])
def test_rastrigin_trapped__every_step_from_0_0075_to_0_0082_ends_at_3_4(lr):
    t = variant("rastrigin_trapped", "momentum", lr=lr).trajectories[1]
    assert t.label == "momentum"
    assert np.allclose(t.points[-1], (3, 4), atol=0.05)


@pytest.mark.parametrize("lr", [0.0072, 0.0084])
def test_rastrigin_trapped__but_0_0072_or_0_0084_ends_elsewhere(lr):
    t = variant("rastrigin_trapped", "momentum", lr=lr).trajectories[1]
    assert not np.allclose(t.points[-1], (3, 4), atol=0.05)


def test_rastrigin_trapped__both_stay_in_view():
    assert_in_view("rastrigin_trapped")


# --- rosenbrock_gradient_field ---------------------------------------------
# "the arrows point down the walls and hardly along the valley floor.
# Gradient descent follows them, falls into the valley at once and then
# crawls along it; momentum adds up the small along-the-floor part of many
# steps and reaches the minimum"


def floor_gap(points: np.ndarray) -> np.ndarray:
    """How far above or below Rosenbrock's valley floor y = x² points are."""
    return np.abs(points[:, 1] - points[:, 0] ** 2)


def test_rosenbrock_gradient_field__arrows_point_down_the_walls():
    from optviz.draw.backdrop import gradient_field

    c = run("rosenbrock_gradient_field").config
    x, y, u, v = gradient_field(c.surface, c.xlim, c.ylim, 24, 24)
    wall = np.abs(y - x**2) >= 0.2  # the arrows off the valley floor
    tangent = np.stack([np.ones_like(x), 2 * x], axis=1)  # along the floor
    cos = (u + 2 * x * v) / np.linalg.norm(tangent, axis=1)  # (u, v) is a unit
    assert wall.sum() > 400
    assert np.abs(cos[wall]).max() < 0.1  # within 6° of straight across


def test_rosenbrock_gradient_field__gd_falls_in_at_once_then_crawls():
    points = path("rosenbrock_gradient_field", "gd")
    fallen = int(np.argmax(floor_gap(points) < 0.05))
    assert 0 < fallen < 50
    assert reach(points, minimum("rosenbrock_gradient_field")) is None
    assert steps(points[fallen + 100 :]).max() < 0.05 * steps(points[: fallen + 1])[0]


def test_rosenbrock_gradient_field__momentum_reaches_the_minimum():
    points = path("rosenbrock_gradient_field", "momentum")
    assert reach(points, minimum("rosenbrock_gradient_field")) is not None
    assert ends_at(points, minimum("rosenbrock_gradient_field"), 0.01)


def test_rosenbrock_gradient_field__both_stay_in_view():
    assert_in_view("rosenbrock_gradient_field")


# --- rosenbrock_race -------------------------------------------------------
# "every method finds the valley quickly, then crawls along its curved, flat
# floor; momentum and Adam keep their speed along it, plain gradient descent
# does not"

RACERS = ["gd", "momentum", "nesterov", "rmsprop", "adam"]


@pytest.mark.parametrize("label", RACERS)
def test_rosenbrock_race__every_method_finds_the_valley_quickly(label):
    gap = floor_gap(path("rosenbrock_race", label))
    fallen = int(np.argmax(gap < 0.05))
    assert fallen < 100  # of 5,000 iterations
    assert gap[fallen + 20 :].max() < 0.15  # and then stays near its floor


@pytest.mark.parametrize("label", ["momentum", "adam"])
def test_rosenbrock_race__momentum_and_adam_keep_their_speed(label):
    first = reach(path("rosenbrock_race", label), minimum("rosenbrock_race"))
    assert first is not None  # within the 5,000 iterations: gd is not


def test_rosenbrock_race__gd_does_not():
    assert reach(path("rosenbrock_race", "gd"), minimum("rosenbrock_race")) is None


def test_rosenbrock_race__all_stay_in_view():
    assert_in_view("rosenbrock_race")


# --- signum_own_optimizer ----------------------------------------------------
# "every signum step moves exactly lr in each coordinate, however steep or
# flat the slope, so it keeps its pace along Rosenbrock's flat valley floor
# where gd's steps shrink to a tenth, and it ends less than half as far from
# the minimum at (1, 1) as gd."


def test_signum_own_optimizer__every_step_is_lr_in_each_coordinate():
    lr = run("signum_own_optimizer").config.optimizers[0].params["lr"]
    steps = np.abs(np.diff(path("signum_own_optimizer", "signum"), axis=0))
    assert len(steps) == 3000
    np.testing.assert_allclose(steps, lr, rtol=1e-9)


def test_signum_own_optimizer__gd_steps_shrink_to_a_tenth_on_the_floor():
    points = path("signum_own_optimizer", "gd")
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    on_floor = int(np.argmax(floor_gap(points) < 0.05))
    assert steps[-1] < steps[on_floor:].max() / 10


def test_signum_own_optimizer__ends_less_than_half_as_far_as_gd():
    target = minimum("signum_own_optimizer")
    far = {
        label: np.linalg.norm(path("signum_own_optimizer", label)[-1] - target)
        for label in ("signum", "gd")
    }
    assert far["signum"] < far["gd"] / 2


# --- saddle_escape ---------------------------------------------------------
# "gradient descent first rushes towards the saddle point and slows to a
# crawl near it, because the gradient vanishes there; it escapes along y only
# slowly. RMSProp and Adam rescale the tiny y-gradient and leave much sooner,
# never coming near the saddle point. ... all three run off the top of the
# view: RMSProp first, then Adam, gradient descent last."


def test_saddle_escape__gd_rushes_to_the_saddle_and_crawls_near_it():
    points = path("saddle_escape", "gd")
    near = np.flatnonzero(np.linalg.norm(points, axis=1) < 0.1)
    assert len(near) > 30  # iterations spent within 0.1 of the saddle point
    assert steps(points)[near[:-1]].max() < steps(points)[0] / 10


def test_saddle_escape__rmsprop_and_adam_leave_much_sooner_never_near():
    def left(label):  # the first iteration more than 1 from the ridge y = 0
        return int(np.argmax(np.abs(path("saddle_escape", label)[:, 1]) > 1))

    for label in ("rmsprop", "adam"):
        assert left(label) < left("gd") / 3
        assert np.linalg.norm(path("saddle_escape", label), axis=1).min() > 1


def test_saddle_escape__all_run_off_the_top_rmsprop_first_gd_last():
    out = {}
    for label in ("gd", "rmsprop", "adam"):
        points = path("saddle_escape", label)
        outside = np.flatnonzero(~inside("saddle_escape", points))
        assert np.all(points[outside, 1] > run("saddle_escape").config.ylim[1])
        out[label] = outside[0]
    assert out["rmsprop"] < out["adam"] < out["gd"]


# --- second_order_race -----------------------------------------------------
# "Newton is there in 5 steps, BFGS and L-BFGS in about 30 ..., Fletcher-Reeves
# CG in about 130, and after 300 Adam is still crawling along the valley floor.
# Newton's second step and CG's steps around 60 overshoot out of view and come
# back."


def race(label: str) -> int | None:
    return reach(path("second_order_race", label), minimum("second_order_race"))


def test_second_order_race__newton_in_5_steps():
    assert race("newton") == 5


@pytest.mark.parametrize("label", ["bfgs", "l-bfgs"])
def test_second_order_race__bfgs_and_lbfgs_in_about_30(label):
    assert race(label) == pytest.approx(30, rel=0.2)


def test_second_order_race__cg_in_about_130():
    assert race("cg") == pytest.approx(130, rel=0.1)


def test_second_order_race__adam_still_crawling_along_the_floor_after_300():
    points = path("second_order_race", "adam")
    assert race("adam") is None
    assert floor_gap(points[-100:]).max() < 0.05
    assert 0 < steps(points[-100:]).mean() < 0.01


@pytest.mark.parametrize(("label", "when"), [("newton", (2, 2)), ("cg", (50, 70))])
def test_second_order_race__newton_and_cg_overshoot_out_of_view_and_back(label, when):
    outside = np.flatnonzero(
        ~inside("second_order_race", path("second_order_race", label))
    )
    assert when[0] <= outside.min() and outside.max() <= when[1]
    assert_in_view("second_order_race", "bfgs", "l-bfgs", "adam")


# --- slides_big_type -------------------------------------------------------
# "every text half as big again ... Watch: from (−3, 3) RMSProp with
# momentum reaches the minimum first (at about iteration 2,000) and Adam
# soon after (about 2,400), while gradient descent with momentum is still
# left of the saddle after 10,000 iterations; the legend beside the contours
# covers none of it"


def test_slides_big_type__rmsprop_first_adam_soon_after_momentum_left():
    stem = "slides_big_type"
    star = minimum(stem)
    first = {label: reach(path(stem, label), star) for label in ("rmsprop+p", "adam")}
    assert first["rmsprop+p"] == pytest.approx(2000, rel=0.05)
    assert first["adam"] == pytest.approx(2400, rel=0.05)
    assert first["rmsprop+p"] < first["adam"]
    momentum = path(stem, "gd+p")
    assert reach(momentum, star) is None and len(momentum) == 10_001
    (saddle,) = run(stem).surface.saddles
    assert momentum[-1, 0] < saddle.x
    assert_in_view(stem)


@pytest.mark.render
def test_slides_big_type__type_half_as_big_again_legend_beside_the_contours():
    from optviz.draw.figure import Renderer
    from optviz.draw.scene import FONT_SIZE

    config = run("slides_big_type").config
    assert config.animation.font_size == 1.5 * FONT_SIZE
    renderer = Renderer(api.scene(run("slides_big_type")))
    try:
        renderer.frame(renderer.last)
        legend = renderer.legend.get_window_extent()
        axes = renderer.axes.get_window_extent()
        assert legend.x0 > axes.x1  # beside the contours: covers no path
        assert legend.x1 <= renderer.size[0]  # and in the frame
        tick = renderer.axes.get_xticklabels()[0]
        assert tick.get_fontsize() == 1.5 * FONT_SIZE  # ticks: the base size
        assert renderer.counter.get_fontsize() == 1.5 * 1.2 * FONT_SIZE  # large
    finally:
        renderer.close()


# --- six_hump_camel_local_minima -------------------------------------------
# "from (-1.9, 1.2) gradient descent stops in the nearest, local minimum;
# heavy momentum carries past it and ends in a global one"


def test_six_hump_camel_local_minima__gd_stops_in_the_nearest_local_minimum():
    stem = "six_hump_camel_local_minima"
    start = np.array(run(stem).config.starts[0])
    nearest = minimum(stem, near=start)
    assert ends_at(path(stem, "gd"), nearest)
    assert tuple(nearest) in [
        (m.x, m.y) for m in run(stem).surface.minima if m.kind == "local"
    ]


def test_six_hump_camel_local_minima__momentum_carries_past_it_to_a_global_one():
    stem = "six_hump_camel_local_minima"
    points = path(stem, "momentum")
    local = minimum(stem, near=np.array(run(stem).config.starts[0]))
    assert np.linalg.norm(points - local, axis=1).min() < 0.3  # passes by
    assert ends_at(points, minimum(stem, "global", near=points[-1]))
    assert_in_view(stem)


# --- six_hump_camel_two_views ----------------------------------------------
# "on the contours gradient descent and heavy momentum each end in a ring of
# contour lines, and only the stars (filled: global) tell them apart; on the
# surface gd sits in a dimple high up the wall while momentum rolls past it
# down into a global minimum, and the loss panel says how much lower that is"


def test_six_hump_camel_two_views__gd_sits_in_a_local_dimple_momentum_global():
    stem = "six_hump_camel_two_views"
    gd, mom = path(stem, "gd"), path(stem, "momentum")
    assert ends_at(gd, minimum(stem, "local", near=gd[-1]))
    assert ends_at(mom, minimum(stem, "global", near=mom[-1]))
    drop = trajectory(stem, "gd").loss[-1] - trajectory(stem, "momentum").loss[-1]
    assert drop > 0.8  # high up the wall: most of the way from f = 0 down
    assert "loss" in run(stem).config.animation.panels
    assert_in_view(stem)


# --- himmelblau_basins -----------------------------------------------------
# "each of gd's four paths stays in the basin it starts in and ends at that
# basin's minimum; Adam, from (4.5, 0.5) in the basin of (3, 2), is carried
# across the boundary and ends at (3.58, -1.85)"


@functools.cache
def basins(stem: str):
    from optviz import pipeline

    return pipeline.run_map(optviz.load_config(BY_STEM[stem]))


def basin_of(stem: str, point) -> int:
    """The minimum the map says ``point``'s grid cell goes to (−1: none)."""
    m = basins(stem)
    spec = m.spec
    x, y = spec.x.values(), spec.y.values()
    i, j = int(np.abs(y - point[1]).argmin()), int(np.abs(x - point[0]).argmin())
    return int(m.outcomes.target[i * spec.x.count + j])


def test_himmelblau_basins__gd_stays_in_its_basin_and_ends_at_its_minimum():
    minima = [m.point for m in run("himmelblau_basins").surface.minima]
    seen = set()
    for k in range(4):
        points = path("himmelblau_basins", "gd", k)
        start = basin_of("himmelblau_basins", points[0])
        assert {basin_of("himmelblau_basins", p) for p in points[::10]} == {start}
        assert ends_at(points, minima[start])
        seen.add(start)
    assert seen == {0, 1, 2, 3}


def test_himmelblau_basins__adam_crosses_from_3_2s_basin_to_3_58_m1_85():
    minima = [m.point for m in run("himmelblau_basins").surface.minima]
    assert run("himmelblau_basins").config.starts[3] == (4.5, 0.5)
    assert minima[basin_of("himmelblau_basins", (4.5, 0.5))] == (3, 2)
    assert ends_at(path("himmelblau_basins", "adam", 3), (3.58443, -1.84813))


# --- momentum_phase ----------------------------------------------------------
# "every setting with ε > (1 + α)/5 (by 5 %) diverges and none below it does;
# the fastest settings use momentum: the best with α = 0 needs over three
# times the iterations of the best overall"


def phase_rows():
    m = basins("momentum_phase")
    return m.where, m.outcomes


def test_momentum_phase__above_the_bound_diverges_and_below_it_does_not():
    where, o = phase_rows()
    from optviz.optim.stream import Outcome

    bound = (1 + where[:, 1]) / 5
    above, below = where[:, 0] > 1.05 * bound, where[:, 0] < 0.95 * bound
    assert above.sum() > 500 and below.sum() > 3000
    assert (o.outcome[above] == Outcome.DIVERGED).all()
    assert (o.outcome[below] != Outcome.DIVERGED).all()


def test_momentum_phase__momentum_is_over_three_times_faster_at_its_best():
    from optviz.optim.stream import Outcome

    where, o = phase_rows()
    reached = o.outcome == Outcome.REACHED
    plain = reached & (where[:, 1] == 0)
    best, best_plain = o.iteration[reached].min(), o.iteration[plain].min()
    assert best_plain > 3 * best
    fastest = where[reached & (o.iteration == best)]
    assert (fastest[:, 1] > 0.2).all()


# --- interpreting_the_cost -------------------------------------------------
# "the cost falls slower the lower the learning rate, up to the best of them,
# 0.11, which brings it lowest; the one above 2/λmax = 0.2, 0.25, makes it grow
# without bound"


def test_interpreting_the_cost__lower_rates_fall_slower_up_to_the_best():
    runs_ = sorted(run("interpreting_the_cost").trajectories, key=lambda t: t.label)
    by_lr = {
        float(t.label.split("=")[1]): t
        for t in run("interpreting_the_cost").trajectories
    }
    rates = sorted(by_lr)
    assert len(runs_) == 7 and rates[-2] == pytest.approx(0.111803, rel=1e-5)
    good = rates[:-1]
    for k in (10, 30, 60):  # at every point of the race, not only the end
        costs = [by_lr[r].loss[k] for r in good]
        assert costs == sorted(costs, reverse=True), k
    assert min(t.loss[-1] for t in by_lr.values()) == by_lr[rates[-2]].loss[-1]


def test_interpreting_the_cost__above_two_over_lambda_max_it_grows():
    by_lr = {
        float(t.label.split("=")[1]): t
        for t in run("interpreting_the_cost").trajectories
    }
    high = by_lr[max(by_lr)]
    assert max(by_lr) > 2 / 10
    assert high.status is runner.Status.DIVERGED
    assert np.all(np.diff(high.loss) > 0)  # grows at every step
    assert high.loss[-1] > 1e4 * high.loss[0]


# --- beale_lr_slider -------------------------------------------------------
# "move ε: at the lecture's 4e-5 gd crawls down the valley and is still more
# than 1 from the minimum (3, 0.5) at iteration 10,000, and at ten times that,
# 4e-4, it ends closer but not there; at 3e-3 the first step overshoots across
# the valley (to the left of x = 1), yet gd reaches the minimum by iteration
# 2,300; at 5e-3 the first step throws it up the far slope (above y = 2) and
# it ends in the valley's left arm, never near the minimum; at 7e-3 it leaves
# the view at its second step. The slider keeps the iteration"


def slider_run(lr: str) -> runner.Trajectory:
    return trajectory("beale_lr_slider", f"gd ε={lr}")


def test_beale_lr_slider__the_lectures_rate_crawls_and_ten_times_it_ends_closer():
    goal = minimum("beale_lr_slider", "global")
    assert tuple(goal) == (3.0, 0.5)
    slow, faster = slider_run("4e-05"), slider_run("0.0004")
    assert slow.iterations == faster.iterations == 10_000
    assert np.all(np.diff(slow.loss) <= 0)  # down the valley, every step
    assert_in_view("beale_lr_slider", "gd ε=4e-05", "gd ε=0.0004")
    far = np.linalg.norm(slow.points[-1] - goal)
    closer = np.linalg.norm(faster.points[-1] - goal)
    assert far > 1 and closer < far
    assert reach(faster.points, goal) is None  # not there


def test_beale_lr_slider__3e_3_overshoots_yet_reaches_the_minimum_by_2300():
    t = slider_run("0.003")
    assert t.points[1][0] < 1 < t.points[0][0]  # across the valley, to its left
    k = reach(t.points, minimum("beale_lr_slider", "global"))
    assert k is not None and k <= 2_300
    assert ends_at(t.points, (3.0, 0.5))


def test_beale_lr_slider__5e_3_is_thrown_up_the_far_slope_and_ends_in_the_left_arm():
    t = slider_run("0.005")
    assert t.points[1][1] > 2
    assert reach(t.points, minimum("beale_lr_slider", "global"), r=0.5) is None
    assert t.points[-1][0] < -2  # the valley's left arm
    assert t.status is runner.Status.MAX_ITER


def test_beale_lr_slider__7e_3_leaves_the_view_at_its_second_step():
    t = slider_run("0.007")
    assert inside("beale_lr_slider", t.points[:2]).all()
    assert not inside("beale_lr_slider", t.points[2:3]).any()
    assert t.status is runner.Status.DIVERGED and t.stopped_at == 2


@pytest.mark.render
def test_beale_lr_slider__one_slider_over_the_five_rates_keeps_the_iteration():
    """The page's data: one slider, ε, over the five rates in order (that
    moving it keeps the iteration is checked in a browser on this page by
    tests/test_player_sweep.py)."""
    from optviz import pipeline

    stage = pipeline.sweep_stage(run("beale_lr_slider"))
    (slider,) = stage.sliders
    assert slider.name == "ε (lr)"
    assert slider.values == ("4e-05", "0.0004", "0.003", "0.005", "0.007")
    data = stage.to_json()
    assert len(data["sweep"]["variants"]) == 5
    assert len(data["frames"]) == 300 and data["last"] == 10_000


# --- momentum_internals ----------------------------------------------------
# "gradient descent's −∇f arrow (drawn × 0.02) flips from one side of the
# valley to the other at every step for some 30 steps, while momentum's
# velocity arrow v turns to lie along the valley, within 20° of its axis
# from step 16 on"


def drawn_scales(stem: str):
    """The scales the example's video draws its internals at."""
    from optviz.draw.internals import scales

    result = run(stem)
    look = result.config.animation.look
    return scales(result.trajectories, result.xlim, result.ylim, look.internal_scales)


def test_momentum_internals__gds_gradient_arrow_flips_at_every_step_for_30():
    scale = drawn_scales("momentum_internals")
    assert scale.gradient == 0.02  # as the config gives it
    assert scale.displacement == 1  # auto: the true velocity
    arrow = -trajectory("momentum_internals", "gd").internals.gradient * 0.02
    v = across(arrow, 30)
    visible = np.flatnonzero(np.abs(v) >= VISIBLE)
    assert len(visible) == pytest.approx(30, abs=3)  # "for some 30 steps"
    assert np.array_equal(visible, np.arange(len(visible)))  # from the start
    shown = v[: visible[-1] + 1]
    assert np.all(np.sign(shown[1:]) != np.sign(shown[:-1]))


def angle_to_axis(vectors: np.ndarray, degrees: float) -> np.ndarray:
    """Each vector's angle to the valley's axis, either way along it, in
    degrees (0: along the valley, 90: across it)."""
    along_ = np.abs(along(vectors, degrees))
    return np.degrees(np.arctan2(np.abs(across(vectors, degrees)), along_))


def test_momentum_internals__velocity_lies_along_the_valley_from_step_16():
    t = trajectory("momentum_internals", "momentum")
    angles = angle_to_axis(t.internals.velocity, 30)
    assert np.all(angles[16:] <= 20), angles[16:]
    assert angles[15] > 20  # "from step 16 on", not before
    # while its −∇f arrow still points more across the valley than along
    assert np.median(angle_to_axis(-t.internals.gradient[1:16], 30)) > 45


def test_momentum_internals__the_velocity_is_the_step_just_taken():
    """v_k = θ_k − θ_{k−1}: the arrow shows where the head came from."""
    t = trajectory("momentum_internals", "momentum")
    v, steps_ = t.internals.velocity, np.diff(t.points, axis=0)
    np.testing.assert_allclose(v[1:], steps_, atol=1e-12)
    assert np.all(v[0] == 0)


# --- momentum_internals_3d -------------------------------------------------
# "momentum runs through the dimple next to its start at its first step,
# where gradient descent stops (gd's −∇f arrow, drawn × 0.2, is under 1 % of
# the view's height from step 16 on), and its velocity arrow v carries it on
# up the wall beyond, against its −∇f arrow, which points back down: three
# steps uphill, from f = −0.14 to 2.47, the arrows climbing the surface with
# it in 3-D. At each of the 17 steps of its first 40 where its loss rises, v
# points uphill, against −∇f; it ends in a global minimum."

CLIMB = "momentum_internals_3d"


def uphill_against_the_gradient(t: runner.Trajectory) -> np.ndarray:
    """Per point: −∇f · v < 0, the velocity pointing up the slope."""
    return np.sum(-t.internals.gradient * t.internals.velocity, axis=1) < 0


def test_momentum_internals_3d__momentum_runs_through_the_dimple_where_gd_stops():
    dimple = minimum(CLIMB, "local", near=(-1.7, 0.8))
    momentum, gd = trajectory(CLIMB, "momentum"), trajectory(CLIMB, "gd")
    assert reach(momentum.points, dimple, r=0.1) == 1
    assert np.linalg.norm(momentum.points[2:] - dimple, axis=1).min() > 0.3
    assert np.linalg.norm(gd.points[-1] - dimple) < 1e-6
    scale = drawn_scales(CLIMB)
    assert scale.gradient == 0.2
    result = run(CLIMB)
    height = abs(result.ylim[1] - result.ylim[0])
    arrow = np.hypot(*gd.internals.gradient.T) * scale.gradient
    small = arrow < 0.01 * height
    assert np.all(small[16:]) and not small[15]


def test_momentum_internals_3d__three_steps_up_the_wall_against_the_gradient():
    t = trajectory(CLIMB, "momentum")
    np.testing.assert_allclose(t.loss[[1, 4]], [-0.14, 2.47], atol=0.005)
    assert np.all(np.diff(t.loss[1:5]) > 0) and t.loss[5] < t.loss[4]
    assert np.all(uphill_against_the_gradient(t)[1:4])


def test_momentum_internals_3d__at_each_rise_of_its_first_40_v_points_uphill():
    t = trajectory(CLIMB, "momentum")
    rises = np.flatnonzero(np.diff(t.loss[:41]) > 0)
    assert len(rises) == 17
    assert np.all(uphill_against_the_gradient(t)[rises])
    assert reach(t.points[-1:], minimum(CLIMB, "global", near=(0.1, -0.7))) == 0


@pytest.mark.render
def test_momentum_internals_3d__the_arrows_climb_the_surface_with_it():
    """On the 3-D half at step 2 (the head on the wall): momentum's v arrow
    ends higher on the surface than it starts, its −∇f arrow lower."""
    from optviz.draw.figure import Renderer

    result = run(CLIMB)
    small = dataclasses.replace(result.config.animation, size=(480, 240), dpi=40)
    renderer = Renderer(api.scene(result, small))
    try:
        renderer.frame(2)
        _, solid = renderer._internals
        assert solid.axes is renderer.views[1].axes
        runs = {kind: [t.label for t in solid._with[kind]] for kind in solid.arrows}
        pieces = {
            kind: {runs[kind][i]: p for i, p in solid.pieces[kind]}
            for kind in ("velocity", "gradient")
        }
        v, down = pieces["velocity"]["momentum"], pieces["gradient"]["momentum"]
        assert v[-1, 2] > v[0, 2]
        assert down[-1, 2] < down[0, 2]
    finally:
        renderer.close()


# --- nesterov_lookahead ----------------------------------------------------
# "on each of its first three swings across the valley, Nesterov's look-ahead
# point θ + αv lands on the far wall while the head is still on the near
# one, and the −∇f arrow there already points back; ... each swing is under
# a quarter of the last (1.14, 0.23, 0.05), while momentum's shrink by under
# a fifth (1.14, 0.96, 0.78)"


def test_nesterov_lookahead__the_look_ahead_point_is_theta_plus_alpha_v():
    t = trajectory("nesterov_lookahead", "nesterov")
    i = t.internals
    np.testing.assert_allclose(i.lookahead, t.points + 0.9 * i.velocity, atol=1e-12)


def test_nesterov_lookahead__on_three_swings_it_looks_past_the_floor_and_back():
    t = trajectory("nesterov_lookahead", "nesterov")
    i = t.internals
    surface = run("nesterov_lookahead").surface
    head, ahead = across(t.points, 30), across(i.lookahead, 30)
    v = across(i.velocity, 30)
    push_here = across(-surface.grad(t.points), 30)
    push_there = across(-i.lookahead_gradient, 30)
    looks = (
        (np.sign(ahead) != np.sign(head))  # the far wall, the head on the near
        & (np.sign(push_here) == np.sign(v))  # at the head −∇f still pushes on
        & (np.sign(push_there) != np.sign(v))  # there it already points back
    )
    swings_ = np.flatnonzero(np.diff(np.sign(head)) != 0)  # the head crosses
    first_three = swings_[:3]
    # each of the first three crossings is foreseen the step before it
    assert np.all(looks[first_three]), (np.flatnonzero(looks), first_three)


def test_nesterov_lookahead__it_brakes_early_and_momentum_does_not():
    def peaks(label):
        return swings(across(path("nesterov_lookahead", label), 30), 0.01)

    nesterov, momentum = peaks("nesterov")[:3], peaks("momentum")[:3]
    np.testing.assert_allclose(nesterov, [1.14, 0.23, 0.05], atol=0.01)
    np.testing.assert_allclose(momentum, [1.14, 0.96, 0.78], atol=0.01)
    assert np.all(nesterov[1:] / nesterov[:-1] < 0.25)
    assert np.all(momentum[1:] / momentum[:-1] > 0.8)


# --- adagrad_scaling -------------------------------------------------------
# "the ellipse round Adagrad's head, its per-coordinate scaling ε/√(a + ν),
# is six to nine times wider (x) than tall (y), so its step heads nearly
# straight at the minimum (within 25° of it from the first step on, within
# 6° from the fourth) while −∇f at the same point is 39° to 65° off it for
# the first four steps"


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Degrees between the rows of ``a`` and ``b``."""
    cos = np.sum(a * b, axis=1) / (np.hypot(*a.T) * np.hypot(*b.T))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_adagrad_scaling__the_ellipse_is_six_to_nine_times_wider_than_tall():
    t = trajectory("adagrad_scaling", "adagrad")
    s = t.internals.scaling[: reach(t.points, (0, 0))]
    ratio = s[:, 0] / s[:, 1]
    assert np.all((ratio > 6 * 0.99) & (ratio < 9)), ratio
    # the ellipse the video draws: those semi-axes × the stated scale
    assert drawn_scales("adagrad_scaling").scaling == 2


def test_adagrad_scaling__its_step_heads_at_the_minimum_and_the_gradient_not():
    t = trajectory("adagrad_scaling", "adagrad")
    arrived = reach(t.points, (0, 0))
    to_minimum = -t.points[:arrived]
    step = angle_between(t.internals.step[:arrived], to_minimum)
    gradient = angle_between(-t.internals.gradient[:arrived], to_minimum)
    assert np.all(step < 25), step
    assert np.all(step[3:] < 6), step
    assert np.all((gradient[:4] > 39) & (gradient[:4] < 65)), gradient[:4]


# --- captions_and_events -----------------------------------------------------
# "the caption 'momentum overshoots' appears as momentum passes the minimum at
# (1, 3) and runs on past it; gd with ε = 0.115, above 2/λmax = 1/9, swings out
# of the view and its event caption says it diverged; then the event captions
# announce who reaches the minimum, momentum first, Adam next, plain gd long
# after. The same captions are written as captions_and_events.vtt beside the
# video (cue times from the frame schedule) and the events as events.csv."


def captions_of(stem: str):
    from optviz import pipeline

    return pipeline.captions(run(stem))


def test_captions_and_events__the_overshoot_caption_is_where_momentum_passes_it():
    (cue,) = [q for q in run("captions_and_events").config.captions.cues
              if q.text == "momentum overshoots"]  # fmt: skip
    points = path("captions_and_events", "momentum")
    target = minimum("captions_and_events")
    along = target - points[0]
    along /= np.linalg.norm(along)
    beyond = (points - target) @ along  # > 0: past the minimum, seen from the start
    passed = int(np.argmax(beyond > 0))
    assert cue.at == passed  # the caption comes on as it passes
    turn = passed + int(np.argmax(np.diff(beyond[passed:]) < 0))
    assert beyond[turn] > 2  # runs on well past it (units of x and y)
    (caption,) = [c for c in captions_of("captions_and_events").items
                  if c.text == "momentum overshoots"]  # fmt: skip
    assert caption.iteration == passed


def test_captions_and_events__gd_above_two_over_lambda_max_diverges_and_says_so():
    from optviz import pipeline
    from optviz.optim import window

    label = "gd, ε=0.115"
    result = run("captions_and_events")
    h = result.surface.hessian(np.array([[0.0, 0.0]]))[0]
    top = np.linalg.eigvalsh(h).max()
    assert 2 / top == pytest.approx(1 / 9)
    lr = dict(result.config.optimizers[3].hyperparameters)["lr"]
    assert result.config.optimizers[3].label == label and lr > 2 / top
    t = trajectory("captions_and_events", label)
    assert t.status is runner.Status.DIVERGED
    # it swings: across the valley and back, further every step
    stiff = np.linalg.eigh(h)[1][:, -1]
    across = (t.points - minimum("captions_and_events")) @ stiff
    assert np.all(np.sign(across[1:20]) != np.sign(across[:19]))
    assert np.all(np.abs(across[1:20]) > np.abs(across[:19]))
    left = window.first_outside(t, result.xlim, result.ylim)
    (event,) = [e for e in pipeline.events(result) if e.label == label]
    assert (event.kind, event.iteration) == ("diverged", left)
    texts = {c.text: c.iteration for c in captions_of("captions_and_events").items}
    assert texts[f"{label} diverged"] == left
    assert texts["ε = 0.115 > 2/λmax = 1/9: each step overshoots more"] == left


def test_captions_and_events__momentum_first_adam_next_gd_long_after():
    from optviz import pipeline

    reached = [e for e in pipeline.events(run("captions_and_events"))
               if e.kind == "reached"]  # fmt: skip
    assert [e.label for e in reached] == ["momentum", "adam", "gd"]
    momentum, adam, gd = (e.iteration for e in reached)
    assert momentum < adam < gd and gd > 2 * adam
    for e in reached:  # the iteration each path first comes within reach
        assert e.iteration == reach(
            path("captions_and_events", e.label), minimum("captions_and_events")
        )
    shown = [c.text for c in captions_of("captions_and_events").items]
    for e in reached:
        assert e.text in shown


@pytest.mark.render
def test_captions_and_events__vtt_and_events_csv_beside_the_video(tmp_path):
    from optviz import pipeline

    result = run("captions_and_events")
    small = dataclasses.replace(
        result.config.animation, size=(240, 180), dpi=30, formats=("mp4",)
    )
    result = dataclasses.replace(
        result, config=dataclasses.replace(result.config, animation=small)
    )
    paths = pipeline.write_outputs(result, tmp_path)
    names = {p.name for p in paths}
    assert {"captions_and_events.mp4", "captions_and_events.vtt", "events.csv"} <= names
    text = (tmp_path / "captions_and_events.vtt").read_text(encoding="utf-8")
    from optviz.output.subtitles import escaped

    for caption in captions_of("captions_and_events").items:
        assert f"\n{escaped(caption.text)}\n" in text
    rows = (tmp_path / "events.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(pipeline.events(result))


# --- opt2_story --------------------------------------------------------------
# "seven chapters in the lecture's order, each after a 2 s title card that
# names it and its optimizers; each chapter adds one optimizer to the one
# before, except the sixth, which puts rmsprop+p in rmsprop's place; a
# player's chapter menu (VLC, mpv) jumps to each card, and each chapter then
# shows exactly the frames of its lecture video"


@functools.cache
def opt2_story() -> story.Story:
    return story.load(BY_STEM["opt2_story"])


def test_opt2_story__seven_chapters_in_the_lectures_order():
    from lecture_claims import SEQUENCE

    stems = [Path(c.config.source).stem for c in opt2_story().chapters]
    assert stems == [f"2{name}" for name in SEQUENCE]


def test_opt2_story__each_after_a_2_s_card_naming_it_and_its_optimizers():
    s = opt2_story()
    for i, chapter in enumerate(s.chapters):
        assert chapter.card_seconds == 2 and chapter.card_frames == 2 * s.fps
        lines = story.card_lines(s, i)
        assert lines[1:3] == [f"Chapter {i + 1} of 7", chapter.title]
        assert lines[-1] == ", ".join(o.label for o in chapter.config.optimizers)


def test_opt2_story__the_second_chapter_starts_at_14_s_as_the_readme_says():
    # the README's "Chapter #0:1: start 14.000000, end 28.000000"
    s = opt2_story()
    (_, start, end) = story.schedule(s)[1]
    assert (start / s.fps, end / s.fps) == (14.0, 28.0)
    assert s.total_frames == 2940 and s.total_frames / s.fps == 98


def test_opt2_story__each_adds_one_optimizer_the_sixth_swaps_rmsprop_for_rmsprop_p():
    chapters = opt2_story().chapters
    labels = [[o.label for o in c.config.optimizers] for c in chapters]
    assert labels[0] == ["gd"]
    for k in range(1, 7):
        before, now = labels[k - 1], labels[k]
        if k == 5:  # the sixth
            assert before[-1] == "rmsprop" and now == [*before[:-1], "rmsprop+p"]
        else:
            assert now[:-1] == before and now[-1] not in before
    for chapter, names in zip(chapters, labels):  # its title names what it brings
        assert names[-1] in chapter.title.lower(), chapter.title


@pytest.mark.render
def test_opt2_story__a_chapter_marker_at_each_card_then_its_videos_frames(tmp_path):
    from test_story import decoded, reported_chapters

    from optviz import pipeline

    size = (160, 120)  # the story made small and short: the same schedule
    s = story.with_animation(opt2_story(), size=size, dpi=20, frames=6, hold=0.2)
    video = story.render(s, tmp_path)
    fps, at = s.fps, 0
    frames = decoded(video, size)
    found = reported_chapters(video)
    assert [t for t, _, _ in found] == [c.title for c in s.chapters]
    results = pipeline.run_all([c.config for c in s.chapters])
    for (_, start, end), chapter, result in zip(found, s.chapters, results):
        length = chapter.card_frames + 6 + 6  # card, motion, hold
        assert (
            abs(start - at / fps) < 1 / fps and abs(end - (at + length) / fps) < 1 / fps
        )
        (alone,) = pipeline.write_video(
            pipeline.scene(result), ["mp4"], tmp_path / "alone", f"{at}"
        )
        first = at + chapter.card_frames
        assert np.array_equal(frames[first : at + length], decoded(alone, size))
        at += length
    assert at == len(frames)
