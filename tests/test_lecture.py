"""The lecture's remarks about its videos, checked from trajectories.csv.

The 14 lecture configs are run through the command line exactly as a user
would (without video), and every statement the lecture makes about what its
videos show is asserted on the CSV they write.
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from optviz.cli import main
from optviz.config import load

LECTURE = Path(__file__).resolve().parent.parent / "configs" / "lecture"
MINIMUM = np.array([3.0, 0.5])
REACH = 0.05  # what a viewer can see
SEQUENCE = [
    "gd",
    "gd_gd+p",
    "gd_gd+p_gd+np",
    "gd_gd+p_gd+np_adagrad",
    "gd_gd+p_gd+np_adagrad_rmsprop",
    "gd_gd+p_gd+np_adagrad_rmsprop+p",
    "gd_gd+p_gd+np_adagrad_rmsprop+p_adam",
]
STEMS = [f"{start}{name}" for start in (1, 2) for name in SEQUENCE]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{(start, label): (N, 2) points} from every lecture config's CSV."""
    out = tmp_path_factory.mktemp("lecture")
    configs = [str(LECTURE / f"{stem}.yaml") for stem in STEMS]
    assert main(["run", "--no-video", "-q", "-o", str(out), *configs]) == 0
    points: dict[tuple[int, str], np.ndarray] = {}
    for stem in STEMS:
        with open(out / stem / "trajectories.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for label in {r["optimizer"] for r in rows}:
            mine = [r for r in rows if r["optimizer"] == label]
            assert [int(r["iteration"]) for r in mine] == list(range(len(mine)))
            xy = np.array([[float(r["x"]), float(r["y"])] for r in mine])
            key = (int(stem[0]), label)
            if key in points:  # the same optimizer in another video: same path
                np.testing.assert_array_equal(points[key], xy)
            points[key] = xy
    return points


def reach(points, radius=REACH):
    d = np.linalg.norm(points - MINIMUM, axis=1)
    hits = np.flatnonzero(d < radius)
    return int(hits[0]) if hits.size else None


def test_the_fourteen_videos_exist_with_the_lectures_names():
    assert sorted(p.stem for p in LECTURE.glob("*.yaml")) == sorted(STEMS)
    for stem in STEMS:
        labels = [o.label for o in load(LECTURE / f"{stem}.yaml").optimizers]
        assert "_".join(labels) == stem[1:]


def test_one_set_of_hyperparameters_in_every_video():
    seen = {}
    for stem in STEMS:
        config = load(LECTURE / f"{stem}.yaml")
        assert config.surface.name == "beale" and config.iterations == 10_000
        assert config.starts == (((2.0, -2.0),) if stem[0] == "1" else ((-3.0, 3.0),))
        for o in config.optimizers:
            assert seen.setdefault(o.label, (o.method, o.hyperparameters)) == (
                o.method,
                o.hyperparameters,
            )
    assert set(seen) == {"gd", "gd+p", "gd+np", "adagrad", "rmsprop", "rmsprop+p",
                         "adam"}  # fmt: skip


@pytest.mark.parametrize("start", [1, 2])
def test_gd_does_not_reach_the_minimum_in_10000_iterations(runs, start):
    assert len(runs[(start, "gd")]) == 10_001
    assert reach(runs[(start, "gd")]) is None


def in_the_valley(point):
    """Beale's valley in x < 0, y > 1, fenced off by x = 0 and y = 1."""
    return point[0] < 0 and point[1] > 1


@pytest.mark.parametrize("label", ["gd+p", "gd+np"])
def test_from_opt2_momentum_methods_end_in_the_valley_not_the_minimum(runs, label):
    end = runs[(2, label)][-1]
    assert in_the_valley(end)
    assert reach(runs[(2, label)]) is None


def test_from_opt2_momentum_and_nesterov_end_in_the_same_basin(runs):
    p, np_ = runs[(2, "gd+p")][-1], runs[(2, "gd+np")][-1]
    assert in_the_valley(p) and in_the_valley(np_)


def test_from_opt2_adagrad_reaches_and_rmsprop_is_faster(runs):
    adagrad, rmsprop = reach(runs[(2, "adagrad")]), reach(runs[(2, "rmsprop")])
    assert adagrad is not None and rmsprop is not None
    assert rmsprop < adagrad


def test_from_opt2_rmsprop_with_momentum_is_fastest_of_all(runs):
    fastest = reach(runs[(2, "rmsprop+p")])
    assert fastest is not None
    for label in ("gd", "gd+p", "gd+np", "adagrad", "rmsprop", "adam"):
        other = reach(runs[(2, label)])
        assert other is None or fastest < other, label


def excursion(points):
    """Largest distance from the straight line start → minimum before reaching."""
    k = reach(points)
    path = points[: k + 1]
    d = MINIMUM - path[0]
    normal = np.array([-d[1], d[0]]) / np.linalg.norm(d)
    return np.abs((path - path[0]) @ normal).max()


def test_from_opt2_rmsprop_with_momentum_takes_a_visibly_larger_excursion(runs):
    ours = excursion(runs[(2, "rmsprop+p")])
    for label in ("adagrad", "rmsprop", "adam"):
        assert ours > 1.25 * excursion(runs[(2, label)]), label


@pytest.mark.parametrize("start", [1, 2])
def test_adam_is_slightly_slower_than_rmsprop(runs, start):
    adam, rmsprop = reach(runs[(start, "adam")]), reach(runs[(start, "rmsprop")])
    assert rmsprop < adam <= 1.5 * rmsprop
