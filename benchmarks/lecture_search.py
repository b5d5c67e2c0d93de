"""The search behind the lecture configs' hyperparameters, and their window.

Every variant of every optimizer is one more row of the batched core, so
thousands of settings from both lecture starts run in seconds.

``python benchmarks/lecture_search.py`` runs the settings of the lecture
configs, says which of the lecture's remarks (``tests/lecture_claims.py``)
hold, and prints each learning rate's window: the factors, one ε changed at a
time, over which every remark still holds (tested in 1 % steps from ×0.75 to
×1.33).

``--search`` also reruns the grid search that chose the adaptive methods'
settings: learning rates on a geometric grid with ratio 1.1^(1/4) (so four grid
steps are ×1.1), a few values of each decay and momentum, and for every
combination the smallest number of grid steps any one ε can move before a
remark fails; it prints the ten best combinations.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import lecture_claims as claims  # noqa: E402

from optviz import surfaces  # noqa: E402
from optviz.config import load  # noqa: E402
from optviz.optim import runner as core  # noqa: E402
from optviz.optim.methods import METHODS  # noqa: E402

STARTS = np.array([[2.0, -2.0], [-3.0, 3.0]])
Spec = tuple[str, dict]


def lecture_settings() -> dict[str, Spec]:
    """{label: (method, hyperparameters)} of the lecture configs."""
    out: dict[str, Spec] = {}
    for stem in claims.STEMS:
        for o in load(ROOT / "configs" / "lecture" / f"{stem}.yaml").optimizers:
            out[o.label] = (o.method, dict(o.hyperparameters))
    return out


def paths(specs: list[Spec]) -> np.ndarray:
    """θ of every spec from both starts: (10,001, len(specs), 2, 2)."""
    beale = surfaces.get("beale")
    out = []
    for chunk in range(0, len(specs), 250):
        rules = [METHODS[m].build(p) for m, p in specs[chunk : chunk + 250]]
        out.append(core.step_all(beale.grad, rules, STARTS, claims.ITERATIONS))
    return np.concatenate(out, axis=1)


def scaled(spec: Spec, factor: float) -> Spec:
    method, params = spec
    return method, {**params, "lr": params["lr"] * factor}


def windows(settings: dict[str, Spec], factors: np.ndarray) -> dict[str, tuple]:
    """Per label, the smallest and largest factor of its ε alone, contiguous
    around ×1, at which every remark holds; None where one fails at ×1."""
    specs = [scaled(settings[label], f) for label in settings for f in factors]
    theta = paths(list(settings.values()) + specs)
    base = {
        (start + 1, label): theta[:, i, start]
        for i, label in enumerate(settings)
        for start in (0, 1)
    }
    one = int(np.argmin(abs(factors - 1)))
    out: dict[str, tuple] = {}
    for i, label in enumerate(settings):
        holds = []
        for j in range(len(factors)):
            column = len(settings) + i * len(factors) + j
            run = dict(base)
            for start in (0, 1):
                run[(start + 1, label)] = theta[:, column, start]
            holds.append(not claims.failing(run))
        if not holds[one]:
            out[label] = (None, None)
            continue
        lo = hi = one
        while lo > 0 and holds[lo - 1]:
            lo -= 1
        while hi < len(factors) - 1 and holds[hi + 1]:
            hi += 1
        out[label] = (factors[lo], factors[hi])
    return out


# --- the grid search ---------------------------------------------------------

Q = 1.1 ** (1 / 4)


def _geo(lo: float, hi: float) -> list[float]:
    return [lo * Q**i for i in range(math.ceil(math.log(hi / lo) / math.log(Q)) + 1)]


def _metrics(specs: list[Spec]) -> list[dict]:
    theta = paths(specs)
    out = []
    for i in range(len(specs)):
        p1, p2 = theta[:, i, 0], theta[:, i, 1]
        out.append(
            {
                "r1": claims.soonest(claims.reach(p1)),
                "r2": claims.soonest(claims.reach(p2)),
                "s1": claims.reaches_and_stays(p1),
                "s2": claims.reaches_and_stays(p2),
                "e2": claims.excursion(p2),
            }
        )
    return out


def search(settings: dict[str, Spec]) -> None:
    """Grid search of adagrad, rmsprop, rmsprop+p and adam, with gd, gd+p
    and gd+np as in ``settings``; prints the ten widest combinations."""
    eps = {"eps": 1e-7}
    rms = {"momentum": 0.0, "nesterov": False}
    families: dict[str, dict[tuple, list[Spec]]] = {
        "adagrad": {(): [("adagrad", {"lr": lr, **eps}) for lr in _geo(3, 7)]},
        "rmsprop": {
            (b,): [
                ("rmsprop", {"lr": lr, "beta": b, **eps, **rms})
                for lr in _geo(0.04, 0.2)
            ]
            for b in (0.99, 0.999, 0.9993, 0.9995, 0.9997)
        },
        "rmsprop+p": {
            (b, a): [
                ("rmsprop", {**rms, "lr": lr, "beta": b, **eps, "momentum": a})
                for lr in _geo(0.003, 0.06)
            ]
            for b in (0.99, 0.995, 0.998, 0.999)
            for a in (0.9, 0.95)
        },
        "adam": {
            (b2,): [
                (
                    "adam",
                    {
                        "lr": lr,
                        "beta1": 0.9,
                        "beta2": b2,
                        **eps,
                        "bias_correction": True,
                    },
                )
                for lr in _geo(0.1, 1.0)
            ]
            for b2 in (0.99, 0.995, 0.999)
        },
    }
    grid = {
        name: {key: _metrics(specs) for key, specs in groups.items()}
        for name, groups in families.items()
    }
    fixed = _metrics([settings[label] for label in ("gd", "gd+p", "gd+np")])

    def holds(ag, rm, rp, ad) -> bool:
        if not (ag["s2"] and rm["s1"] and rm["s2"] and rp["s1"] and rp["s2"]):
            return False
        if not (ad["s1"] and ad["s2"] and rm["r2"] < ag["r2"]):
            return False
        others = [*fixed, ag, ad]
        for r in ("r1", "r2"):
            if not all(rp[r] < o[r] for o in others):
                return False
            if not 1 < ad[r] / rp[r] <= claims.ADAM_SLOWER:
                return False
        return all(rp["e2"] > o["e2"] for o in others)

    def margin(pick: dict[str, tuple], most: int = 8) -> int:
        """Grid steps every ε alone can move, both ways, with all holding."""
        smallest = most
        for name, (key, i) in pick.items():
            column = grid[name][key]
            for s in range(1, most + 1):
                fine = True
                for j in (i - s, i + s):
                    if not 0 <= j < len(column):
                        fine = False
                        break
                    row = {n: grid[n][k][x] for n, (k, x) in pick.items()}
                    row[name] = column[j]
                    if not holds(*row.values()):
                        fine = False
                        break
                if not fine:
                    smallest = min(smallest, s - 1)
                    break
        return smallest

    picks = []
    names = ("adagrad", "rmsprop", "rmsprop+p", "adam")
    candidates = {
        n: [(k, i) for k, col in grid[n].items() for i in range(len(col))]
        for n in names
    }

    # rmsprop meets the others only in "sooner than adagrad": take the
    # setting whose own "reaches and stays" has the widest margin.
    def own(n, k, i):
        col, s = grid[n][k], 0
        while (
            i - s - 1 >= 0 and i + s + 1 < len(col)
            and all(col[j]["s1"] and col[j]["s2"] for j in (i - s - 1, i + s + 1))
        ):  # fmt: skip
            s += 1
        return s if col[i]["s1"] and col[i]["s2"] else -1

    rm = max(candidates["rmsprop"], key=lambda c: own("rmsprop", *c))
    for ag in candidates["adagrad"]:
        for rp in candidates["rmsprop+p"]:
            for ad in candidates["adam"]:
                pick = {"adagrad": ag, "rmsprop": rm, "rmsprop+p": rp, "adam": ad}
                row = [grid[n][k][i] for n, (k, i) in pick.items()]
                if holds(*row):
                    picks.append((margin(pick), pick))
    picks.sort(key=lambda p: -p[0])
    for m, pick in picks[:10]:
        text = ", ".join(
            f"{n} {families[n][k][i][1]['lr']:.4g} {k}" for n, (k, i) in pick.items()
        )
        print(f"±{m} grid steps (×{Q**-m:.3f} … ×{Q**m:.3f}): {text}")


def main() -> None:
    settings = lecture_settings()
    t = time.perf_counter()
    theta = paths(list(settings.values()))
    run = {
        (start + 1, label): theta[:, i, start]
        for i, label in enumerate(settings)
        for start in (0, 1)
    }
    for name, holds in claims.claims(run).items():
        print(f"{'holds' if holds else 'FAILS'}  {name}")
    print("\nEach ε alone, ×0.75 … ×1.33 in 1 % steps: every remark holds")
    steps = np.arange(0.75, 1.0, 0.01)
    factors = np.unique(np.round(np.r_[steps, 1 / steps, 1.0], 4))
    for label, (lo, hi) in windows(settings, factors).items():
        lr = settings[label][1]["lr"]
        if lo is None:
            print(f"  {label:10s} ε = {lr:.4g}: a remark fails at the setting itself")
        else:
            print(f"  {label:10s} ε = {lr:.4g}: from ×{lo:.2f} to ×{hi:.2f}")
    print(f"({time.perf_counter() - t:.1f} s)")
    if "--search" in sys.argv:
        print()
        search(settings)


if __name__ == "__main__":
    main()
