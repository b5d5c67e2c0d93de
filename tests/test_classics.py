"""The classics: Radford's three animations as configs, and his captions true.

``configs/classics/`` reproduces Alec Radford's animations of six optimizers
(SGD, Momentum, NAG, Adagrad, Adadelta, RMSProp) on Beale's function, a long
valley and a saddle point. Each config opens with a comment whose ``Watch:``
sentence is the caption; the tests below turn each clause into an assertion
on the config's run (one run per config, shared by the module; no video),
with the measure it is made of written next to it: how far along the valley
a path has come, how often it swings across it, the angle of a step to the
saddle's escape axis, how near a path comes to a point and for how long.
"""

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
import runs

import optviz
from optviz.cli import main
from optviz.config import load

ROOT = Path(__file__).resolve().parent.parent
CLASSICS = sorted((ROOT / "configs" / "classics").glob("*.yaml"))
BY_STEM = {p.stem: p for p in CLASSICS}

# The six methods of Radford's captions, as each config labels them.
SIX = {
    "sgd": "gd",
    "momentum": "momentum",
    "nag": "nesterov",
    "adagrad": "adagrad",
    "adadelta": "adadelta",
    "rmsprop": "rmsprop",
}
VELOCITY = ["momentum", "nag"]  # "velocity based techniques"
SCALED = ["adagrad", "adadelta", "rmsprop"]  # scale the step by the gradients


# --- every classic ---------------------------------------------------------


def test_the_three_classics_are_there():
    assert sorted(BY_STEM) == ["beale", "long_valley", "saddle_point"]


@pytest.mark.parametrize("stem", sorted(BY_STEM))
def test_each_classic_cites_radford_and_says_what_to_watch(stem):
    text = BY_STEM[stem].read_text(encoding="utf-8")
    comment = text[: text.index("\ntitle:")]
    assert all(line.startswith("#") for line in comment.splitlines())
    assert "Radford" in comment and "Watch:" in comment


@pytest.mark.parametrize("stem", sorted(BY_STEM))
def test_each_classic_races_the_six_methods_of_the_captions(stem):
    c = load(BY_STEM[stem])
    assert {o.label: o.method for o in c.optimizers} == SIX
    assert len(c.starts) == 1  # all six from one start, as in the animations


@pytest.mark.parametrize("stem", sorted(BY_STEM))
def test_each_classic_passes_optviz_validate(stem, capsys):
    assert main(["validate", str(BY_STEM[stem])]) == 0
    out, err = capsys.readouterr()
    assert ": ok (" in out and not err


@pytest.mark.render
@pytest.mark.parametrize("path", CLASSICS, ids=[p.stem for p in CLASSICS])
def test_classic_runs_and_draws(path, tmp_path):
    config = load(path)
    small = dataclasses.replace(config.animation, size=(240, 180), dpi=30)
    result = optviz.run(dataclasses.replace(config, animation=small))
    assert len(result.trajectories) == len(config.optimizers)
    still = optviz.still(result, tmp_path / "last.png")
    assert still.stat().st_size > 1000


def test_the_readme_lists_every_classic():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The classics") :]
    section = section[: section.index("\n## ")]
    for path in CLASSICS:
        assert f"configs/classics/{path.name}" in section, path.name


def test_every_classic_has_its_watch_sentence_tested():
    """Each classic has at least one claim test below (``test_<stem>__...``)."""
    assert runs.without_claim_tests(BY_STEM, globals()) == []


# --- helpers ---------------------------------------------------------------


RUNS = runs.ConfigRuns(BY_STEM)
run, trajectory, path = RUNS.run, RUNS.trajectory, RUNS.path


def the_minimum(stem: str) -> np.ndarray:
    (m,) = [(m.x, m.y) for m in run(stem).surface.minima if m.kind == "global"]
    return np.array(m)


def reach(points: np.ndarray, target, r: float = 0.05) -> float:
    """The first iteration within ``r`` of ``target``; inf if never."""
    near = np.linalg.norm(points - np.asarray(target, dtype=float), axis=1) < r
    return float(np.argmax(near)) if near.any() else np.inf


def inside(stem: str, points: np.ndarray) -> np.ndarray:
    """Which points lie inside the config's view window."""
    c = run(stem).config
    x, y = points[:, 0], points[:, 1]
    return (c.xlim[0] <= x) & (x <= c.xlim[1]) & (c.ylim[0] <= y) & (y <= c.ylim[1])


def leaves_view(stem: str, label: str) -> float:
    """The first iteration outside the view; inf if it stays in."""
    out = np.flatnonzero(~inside(stem, path(stem, label)))
    return float(out[0]) if out.size else np.inf


def assert_in_view(stem: str) -> None:
    for t in run(stem).trajectories:
        outside = np.flatnonzero(~inside(stem, t.points))
        assert not outside.size, (
            f"{t.label} leaves the view at iteration {outside[0]}: "
            f"{t.points[outside[0]]}"
        )


def distance_to(points: np.ndarray, route: np.ndarray) -> np.ndarray:
    """Each of ``points``' distance to the nearest point of ``route``."""
    out = np.empty(len(points))
    for i in range(0, len(points), 50):  # 50 × len(route) distances at a time
        chunk = points[i : i + 50, None, :] - route[None, :, :]
        out[i : i + 50] = np.linalg.norm(chunk, axis=2).min(axis=1)
    return out


def sign_changes(v: np.ndarray, visible: float) -> int:
    """How often ``v`` changes sign, counting only its values at least
    ``visible`` from 0 (a swing across the axis a viewer can see; small
    wobbles around 0 count for nothing)."""
    signs = np.sign(v[np.abs(v) >= visible])
    return int(np.sum(signs[1:] != signs[:-1]))


# --- beale -----------------------------------------------------------------
# "momentum and NAG, pushed by the large first gradient, are led off-track:
# they shoot past the valley floor, far below the minimum, and swing back
# (NAG less far, and it reaches the minimum first of all six); Adagrad,
# Adadelta and RMSProp head into the valley and along it without
# overshooting, keeping to the route SGD takes, faster than SGD, which is
# still well short of the minimum at the end"
#
# "far below the minimum": their lowest y more than 1.5 under the minimum's
# (y = 0.5); "without overshooting": the scaled three never go more than 0.5
# under it. "The route SGD takes": SGD's own path with 20 times the
# iterations (it gets there in the end); "keeping to" it: every point within
# 0.4 of it, where momentum and NAG swing more than 1.2 off it.


@functools.cache
def sgd_route() -> np.ndarray:
    config = run("beale").config
    (sgd,) = [o for o in config.optimizers if o.label == "sgd"]
    long = dataclasses.replace(
        config, optimizers=(sgd,), iterations=20 * config.iterations
    )
    (t,) = optviz.run(long).trajectories
    assert reach(t.points, the_minimum("beale")) < np.inf
    return t.points


@pytest.mark.parametrize("label", VELOCITY)
def test_beale__momentum_and_nag_shoot_far_below_the_minimum(label):
    assert path("beale", label)[:, 1].min() < the_minimum("beale")[1] - 1.5


@pytest.mark.parametrize("label", VELOCITY)
def test_beale__momentum_and_nag_are_led_off_the_route_sgd_takes(label):
    assert distance_to(path("beale", label), sgd_route()).max() > 1.2


@pytest.mark.parametrize("label", VELOCITY)
def test_beale__momentum_and_nag_swing_back_to_the_minimum(label):
    points = path("beale", label)
    lowest = int(np.argmin(points[:, 1]))
    assert lowest < reach(points, the_minimum("beale")) < len(points)


def test_beale__nag_swings_less_far():
    assert path("beale", "nag")[:, 1].min() > path("beale", "momentum")[:, 1].min()


def test_beale__nag_reaches_the_minimum_first_of_all_six():
    arrivals = {
        label: reach(path("beale", label), the_minimum("beale")) for label in SIX
    }
    assert arrivals["nag"] < np.inf
    assert all(arrivals["nag"] < t for label, t in arrivals.items() if label != "nag")


@pytest.mark.parametrize("label", SCALED)
def test_beale__adagrad_adadelta_rmsprop_do_not_overshoot(label):
    assert path("beale", label)[:, 1].min() > the_minimum("beale")[1] - 0.5


@pytest.mark.parametrize("label", SCALED)
def test_beale__adagrad_adadelta_rmsprop_keep_to_the_route_sgd_takes(label):
    assert distance_to(path("beale", label), sgd_route()).max() < 0.4


@pytest.mark.parametrize("label", SCALED)
def test_beale__adagrad_adadelta_rmsprop_are_faster_than_sgd(label):
    """Nearer the minimum than SGD at every quarter of the run, and at the
    end within 0.2 of it."""
    target = the_minimum("beale")
    sgd, points = path("beale", "sgd"), path("beale", label)
    for k in np.linspace(0, len(points) - 1, 5)[1:].astype(int):
        assert np.linalg.norm(points[k] - target) < np.linalg.norm(sgd[k] - target)
    assert np.linalg.norm(points[-1] - target) < 0.2


def test_beale__sgd_is_still_well_short_of_the_minimum_at_the_end():
    assert np.linalg.norm(path("beale", "sgd")[-1] - the_minimum("beale")) > 0.5


def test_beale__all_stay_in_view():
    assert_in_view("beale")


# --- long_valley -----------------------------------------------------------
# "SGD gets nowhere, and NAG and Momentum oscillate across the valley while
# they slowly build up speed along it, to cover three quarters of the way by
# the end; Adagrad, Adadelta and RMSProp, which scale each step by the size of
# the gradients, head down the valley at once and reach the minimum while SGD
# has covered less than 5 % of the way"
#
# The valley runs along x (y = 0 is its floor). "The way": from the start's x
# to the minimum's; "covered": the fraction of it behind a path. "Oscillate
# across": y changes sign, counting only |y| ≥ 0.05 (a visible swing);
# "speed along it": the fraction of the way covered per iteration.


def covered(label: str) -> np.ndarray:
    """The fraction of the way along the valley behind ``label``, per
    iteration."""
    x0 = run("long_valley").config.starts[0][0]
    x = path("long_valley", label)[:, 0]
    return (x - x0) / (the_minimum("long_valley")[0] - x0)


def test_long_valley__the_surface_is_a_long_narrow_nearly_flat_valley():
    s = run("long_valley").surface
    h = s.hessian(the_minimum("long_valley")[None])[0]
    assert h[0, 1] == 0 and h[1, 1] / h[0, 0] == pytest.approx(600)


def test_long_valley__sgd_gets_nowhere():
    assert covered("sgd")[-1] < 0.05


@pytest.mark.parametrize("label", VELOCITY)
def test_long_valley__momentum_and_nag_oscillate_across_the_valley(label):
    """At least six visible swings across the floor, in the first 400
    iterations (while they build up speed)."""
    assert sign_changes(path("long_valley", label)[:400, 1], 0.05) >= 6


@pytest.mark.parametrize("label", VELOCITY)
def test_long_valley__while_they_slowly_build_up_speed_along_it(label):
    """Their speed along the valley grows for over 100 iterations, to more
    than 3 times their first step's; under a tenth of the way in 100
    iterations."""
    speed = np.diff(covered(label))
    assert np.all(np.diff(speed[:100]) > 0)
    assert speed[100] > 3 * speed[0]
    assert covered(label)[100] < 0.1


@pytest.mark.parametrize("label", VELOCITY)
def test_long_valley__momentum_and_nag_cover_three_quarters_by_the_end(label):
    assert covered(label)[-1] > 0.75


@pytest.mark.parametrize("label", SCALED)
def test_long_valley__the_scaled_three_step_100_times_further_along_than_sgd(label):
    """ "Which scale each step by the size of the gradients": on the same
    tiny slope along the floor their first step along it is over 100 times
    SGD's."""
    assert np.diff(covered(label))[0] > 100 * np.diff(covered("sgd"))[0]


@pytest.mark.parametrize("label", SCALED)
def test_long_valley__the_scaled_three_head_down_the_valley_at_once(label):
    """A quarter of the way in 100 iterations, every step of it forwards,
    while momentum and NAG have covered under a tenth and SGD under 1 %."""
    along = covered(label)
    assert along[100] > 0.25 and np.all(np.diff(along[:101]) > 0)
    assert max(covered(v)[100] for v in VELOCITY) < 0.1
    assert covered("sgd")[100] < 0.01


@pytest.mark.parametrize("label", SCALED)
def test_long_valley__the_scaled_three_reach_the_minimum(label):
    arrived = reach(path("long_valley", label), the_minimum("long_valley"))
    assert arrived < len(covered("sgd"))
    assert covered("sgd")[-1] < 0.05  # the run's end: SGD under 5 % by then


def test_long_valley__all_stay_in_view():
    assert_in_view("long_valley")


# --- saddle_point ----------------------------------------------------------
# "Adadelta, Adagrad and RMSProp head off immediately in the right direction,
# down the slope in y, and never come near the saddle point; SGD, Momentum
# and NAG roll straight down into it and stay near it for longer: Momentum
# and NAG overshoot it, swing back and slide off much later, and SGD is still
# on the surface at the end"
#
# f = x² − y²: the escape axis is y. "Heads off in the right direction": |y|
# grows at every step until the path leaves the view, and from the 10th step
# on each step is within 45° of the y axis; the others' 10th step is within
# 5° of the x axis (towards the saddle). "Near the saddle point": within 0.5
# of (0, 0); "slide off": leave the view.

FIRST_ORDER = ["sgd", "momentum", "nag"]


def step_angle_to_escape(label: str) -> np.ndarray:
    """Each step's angle to the y axis, in degrees (0: straight down the
    escape direction, 90: along x)."""
    d = np.diff(path("saddle_point", label), axis=0)
    return np.degrees(np.arctan2(np.abs(d[:, 0]), np.abs(d[:, 1])))


def near_saddle(label: str, r: float = 0.5) -> np.ndarray:
    return np.linalg.norm(path("saddle_point", label), axis=1) < r


def test_saddle_point__is_drawn_in_3d():
    assert run("saddle_point").config.animation.view == "3d"


@pytest.mark.parametrize("label", SCALED)
def test_saddle_point__adadelta_adagrad_rmsprop_head_off_down_the_slope_in_y(label):
    points = path("saddle_point", label)
    out = int(leaves_view("saddle_point", label))
    assert out <= 30  # "immediately": out of the view within 30 iterations
    assert np.all(np.diff(np.abs(points[: out + 1, 1])) > 0)
    assert np.all(step_angle_to_escape(label)[9:out] < 45)


@pytest.mark.parametrize("label", FIRST_ORDER)
def test_saddle_point__sgd_momentum_nag_roll_straight_down_into_it(label):
    assert step_angle_to_escape(label)[9] > 85
    assert near_saddle(label, 0.1).any()


@pytest.mark.parametrize("label", SCALED)
def test_saddle_point__adadelta_adagrad_rmsprop_never_come_near_it(label):
    assert not near_saddle(label).any()
    assert np.linalg.norm(path("saddle_point", label), axis=1).min() > 1


@pytest.mark.parametrize("label", FIRST_ORDER)
def test_saddle_point__sgd_momentum_nag_stay_near_it_for_longer(label):
    """At least 40 iterations within 0.5 of the saddle, and in the view at
    least twice as long as the last of the scaled three."""
    assert near_saddle(label).sum() >= 40
    last = max(leaves_view("saddle_point", s) for s in SCALED)
    assert leaves_view("saddle_point", label) >= 2 * last


@pytest.mark.parametrize("label", VELOCITY)
def test_saddle_point__momentum_and_nag_overshoot_it_swing_back_and_slide_off(label):
    x = path("saddle_point", label)[:, 0]
    past = np.flatnonzero(x > 0.05)  # beyond the saddle, on the far x wall
    assert past.size and np.any(x[past[0] :] < -0.05)  # and back across it
    assert leaves_view("saddle_point", label) < np.inf


def test_saddle_point__sgd_is_still_on_the_surface_at_the_end():
    assert leaves_view("saddle_point", "sgd") == np.inf
