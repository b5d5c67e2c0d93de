"""What the lecture says its videos show, as predicates on trajectories.

One definition of each remark, used by ``tests/test_lecture.py`` on the CSVs
that ``optviz run`` writes and by ``benchmarks/lecture_search.py``, which
searched the hyperparameters that make every remark hold. A run is a mapping
``{(start, label): points}``: start 1 is (2, −2) ("opt 1"), start 2 is (−3, 3)
("opt 2"), ``points`` the (n + 1, 2) array θ_0 .. θ_n.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

MINIMUM = np.array([3.0, 0.5])
REACH = 0.05  # what a viewer can see: "reaches" is first within this
STAY = 0.1  # after settling, every point stays within this
ITERATIONS = 10_000
# Two paths that end this close "find the same local minimum" (the valley
# floor is nearly flat; the lecture's videos show two heads side by side).
SAME_PLACE = 0.5
ADAM_SLOWER = 1.5  # "just slightly slower": at most this many times as long

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
# Every optimizer the lecture says "proceeds to the global minimum".
PROCEEDS = [(2, "adagrad"), (1, "rmsprop"), (2, "rmsprop"), (1, "rmsprop+p"),
            (2, "rmsprop+p"), (1, "adam"), (2, "adam")]  # fmt: skip

Run = Mapping[tuple[int, str], np.ndarray]


def labels(stem: str) -> list[str]:
    return stem[1:].split("_")


def distance(points: np.ndarray) -> np.ndarray:
    return np.hypot(*(points - MINIMUM).T)


def reach(points: np.ndarray, radius: float = REACH) -> int | None:
    """The first iteration within ``radius`` of the minimum, or None."""
    hits = np.flatnonzero(distance(points) < radius)
    return int(hits[0]) if hits.size else None


def settled_from(k: int, iterations: int = ITERATIONS) -> int:
    """The iteration from which a path that reached at ``k`` must stay: a
    fifth of the remaining iterations later."""
    return k + (iterations - k) // 5


def reaches_and_stays(points: np.ndarray) -> bool:
    """First within 0.05 at k; every point from k + (10,000 − k)/5 on within
    0.1; the last point within 0.05. What the last frames show."""
    k = reach(points)
    if k is None or len(points) != ITERATIONS + 1:
        return False
    d = distance(points)
    return bool(d[settled_from(k) :].max() < STAY and d[-1] < REACH)


def in_the_valley(point: np.ndarray) -> bool:
    """Beale's valley in x < 0, y > 1, fenced off by x = 0 and y = 1 (the
    lines through the saddle at (0, 1))."""
    return bool(point[0] < 0 and point[1] > 1)


def excursion(points: np.ndarray) -> float:
    """The largest distance from the straight line start → minimum, up to
    arrival (the whole path if it never arrives)."""
    k = reach(points)
    path = points if k is None else points[: k + 1]
    d = MINIMUM - path[0]
    normal = np.array([-d[1], d[0]]) / np.linalg.norm(d)
    return float(np.abs((path - path[0]) @ normal).max())


def soonest(k: int | None) -> float:
    return np.inf if k is None else k


def not_slower(fast: np.ndarray, slow: np.ndarray) -> bool:
    """``fast`` is never further from the minimum than ``slow`` after the
    first 1 % of the iterations, and ends nearer: momentum does not look
    slower than plain gradient descent."""
    begin = ITERATIONS // 100
    d_fast, d_slow = distance(fast)[begin:], distance(slow)[begin:]
    return bool(np.all(d_fast <= d_slow) and d_fast[-1] < d_slow[-1])


def claims(run: Run) -> dict[str, bool]:
    """Every remark, by name: True where it holds on ``run``."""
    out: dict[str, bool] = {}
    for start in (1, 2):
        out[f"gd does not reach from opt {start}"] = reach(run[(start, "gd")]) is None
    p, np_ = run[(2, "gd+p")], run[(2, "gd+np")]
    out["opt 2: gd+p and gd+np end in the valley, side by side"] = (
        in_the_valley(p[-1])
        and in_the_valley(np_[-1])
        and reach(p) is None
        and reach(np_) is None
        and float(np.hypot(*(p[-1] - np_[-1]))) < SAME_PLACE
    )
    for start, label in PROCEEDS:
        out[f"opt {start}: {label} reaches and stays"] = reaches_and_stays(
            run[(start, label)]
        )
    out["opt 2: rmsprop reaches sooner than adagrad"] = soonest(
        reach(run[(2, "rmsprop")])
    ) < soonest(reach(run[(2, "adagrad")]))
    others = ["gd", "gd+p", "gd+np", "adagrad", "adam"]  # in the rmsprop+p videos
    for start in (1, 2):
        fastest = soonest(reach(run[(start, "rmsprop+p")]))
        out[f"opt {start}: rmsprop+p reaches sooner than every other"] = all(
            fastest < soonest(reach(run[(start, o)])) for o in others
        )
    ours = excursion(run[(2, "rmsprop+p")])
    out["opt 2: rmsprop+p takes the largest excursion"] = all(
        ours > excursion(run[(2, o)]) for o in others
    )
    for start in (1, 2):
        adam, ours_k = reach(run[(start, "adam")]), reach(run[(start, "rmsprop+p")])
        out[f"opt {start}: adam is slightly slower than rmsprop+p"] = (
            adam is not None and ours_k is not None and 1 < adam / ours_k <= ADAM_SLOWER
        )
    out["opt 1: gd+p does not look slower than gd"] = not_slower(
        run[(1, "gd+p")], run[(1, "gd")]
    )
    return out


def failing(run: Run) -> list[str]:
    return [name for name, holds in claims(run).items() if not holds]
