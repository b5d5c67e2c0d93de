"""How fast is the optimizer core? Run: python benchmarks/core_bench.py

Times, in one process and one run (the machine is shared, so compare the
ratios, not the seconds), the 14 lecture runs — 7 optimizers × 2 starts ×
10,000 iterations on Beale's function — four ways:

1. optviz: all 14 rows in one batch, one gradient call per iteration;
2. the same rules stepped one start and one optimizer at a time with NumPy
   (a loop per start: what most visualizers do);
3. torch.optim, one start at a time (only if torch is installed; it is not an
   optviz dependency);
4. the 14 lecture configs one after another through ``optviz.api.run``, the
   realistic figure for ``optviz run configs/lecture/*.yaml``.

Then the methods beyond the lecture (function pairs, each stepped as one
block of its 2 starts, 10,000 iterations on Beale's function), one line each,
with a learning-rate schedule too, and torch.optim's time for the same if
torch is installed.

Each figure is the best of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from optviz import api, pipeline
from optviz.optim.methods import METHODS
from optviz.optim.runner import step_all
from optviz.surfaces import SURFACES

ROOT = Path(__file__).resolve().parent.parent
ITERATIONS = 10_000
STARTS = np.array([[2.0, -2.0], [-3.0, 3.0]])
# The lecture configs' hyperparameters (configs/lecture/*.yaml).
LECTURE = [
    ("gd", {"lr": 1e-4}),
    ("momentum", {"lr": 5e-6, "momentum": 0.9}),
    ("nesterov", {"lr": 5e-6, "momentum": 0.9}),
    ("adagrad", {"lr": 4.0, "eps": 1e-7}),
    ("rmsprop", {"lr": 0.25, "beta": 0.99, "eps": 1e-7}),
    ("rmsprop", {"lr": 0.05, "beta": 0.99, "momentum": 0.9, "eps": 1e-7}),
    ("adam", {"lr": 0.22, "beta1": 0.9, "beta2": 0.99, "eps": 1e-7}),
]


# The methods beyond the lecture, with settings that move on Beale's function.
MODERN = [
    ("sgd", {"lr": 1e-5, "momentum": 0.9, "nesterov": True}),
    ("adam_torch", {"lr": 0.05, "amsgrad": True}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.05}),
    ("nadam", {"lr": 0.02}),
    ("radam", {"lr": 2e-5, "beta2": 0.9}),
    ("adamax", {"lr": 0.05}),
    ("adadelta", {"lr": 0.5, "rho": 0.8}),
    ("lion", {"lr": 0.01, "weight_decay": 0.1}),
    ("adamw", {"lr": {"schedule": "cosine", "from": 0.08, "to": 1e-3,
                      "steps": ITERATIONS, "warmup": 100}}),
]  # fmt: skip
TORCH_CLASSES = {"sgd": "SGD", "adam_torch": "Adam", "adamw": "AdamW",
                 "nadam": "NAdam", "radam": "RAdam", "adamax": "Adamax",
                 "adadelta": "Adadelta"}  # fmt: skip


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def optviz_batched():
    grad = SURFACES["beale"].grad
    rules = [METHODS[m].build(p) for m, p in LECTURE]
    return step_all(grad, rules, STARTS, ITERATIONS)


def optviz_internals():
    """The same batch keeping every internal each optimizer has: the cost of
    asking (a loop of its own that reads the state after each update)."""
    from optviz.optim.methods import internal_kinds
    from optviz.optim.runner import divergence_box, trajectories

    beale = SURFACES["beale"]
    rules = [METHODS[m].build(p) for m, p in LECTURE]
    return trajectories(
        beale.f, beale.grad, rules, [m for m, _ in LECTURE], STARTS, ITERATIONS,
        0.0, divergence_box(beale.xlim, beale.ylim),
        internals=[internal_kinds(r) for r in rules],
    )  # fmt: skip


def optviz_plain_rows():
    """The batch as trajectories, as a config without internals runs it."""
    from optviz.optim.runner import divergence_box, trajectories

    beale = SURFACES["beale"]
    rules = [METHODS[m].build(p) for m, p in LECTURE]
    return trajectories(
        beale.f, beale.grad, rules, [m for m, _ in LECTURE], STARTS, ITERATIONS,
        0.0, divergence_box(beale.xlim, beale.ylim),
    )  # fmt: skip


def numpy_per_start():
    """Each optimizer from each start on its own, as plain NumPy on (2,) arrays."""
    grad = SURFACES["beale"].grad
    out = []
    for method, p in LECTURE:
        for start in STARTS:
            theta, v, m, a = start.copy(), np.zeros(2), np.zeros(2), np.zeros(2)
            path = [theta]
            for t in range(1, ITERATIONS + 1):
                if method == "nesterov":
                    g = grad(theta + p["momentum"] * v)
                else:
                    g = grad(theta)
                if method == "gd":
                    theta = theta - p["lr"] * g
                elif method in ("momentum", "nesterov"):
                    v = p["momentum"] * v - p["lr"] * g
                    theta = theta + v
                elif method == "adagrad":
                    a = a + g * g
                    theta = theta - p["lr"] / np.sqrt(a + p["eps"]) * g
                elif method == "rmsprop":
                    a = p["beta"] * a + (1 - p["beta"]) * g * g
                    v = p.get("momentum", 0.0) * v - p["lr"] / np.sqrt(a + p["eps"]) * g
                    theta = theta + v
                else:
                    m = p["beta1"] * m + (1 - p["beta1"]) * g
                    a = p["beta2"] * a + (1 - p["beta2"]) * g * g
                    mh, ah = m / (1 - p["beta1"] ** t), a / (1 - p["beta2"] ** t)
                    theta = theta - p["lr"] / np.sqrt(ah + p["eps"]) * mh
                path.append(theta)
            out.append(np.array(path))
    return out


def torch_per_start():
    import torch

    def beale(xy):
        x, y = xy[0], xy[1]
        return (
            (1.5 - x + x * y) ** 2
            + (2.25 - x + x * y**2) ** 2
            + (2.625 - x + x * y**3) ** 2
        )

    make = {
        "gd": lambda ps, p: torch.optim.SGD(ps, lr=p["lr"]),
        "momentum": lambda ps, p: torch.optim.SGD(
            ps, lr=p["lr"], momentum=p["momentum"]
        ),
        "nesterov": lambda ps, p: torch.optim.SGD(
            ps, lr=p["lr"], momentum=p["momentum"], nesterov=True
        ),
        "adagrad": lambda ps, p: torch.optim.Adagrad(ps, lr=p["lr"], eps=p["eps"]),
        "rmsprop": lambda ps, p: torch.optim.RMSprop(
            ps, lr=p["lr"], alpha=p["beta"], momentum=p.get("momentum", 0.0)
        ),
        "adam": lambda ps, p: torch.optim.Adam(
            ps, lr=p["lr"], betas=(p["beta1"], p["beta2"]), eps=p["eps"]
        ),
    }
    for method, p in LECTURE:
        for start in STARTS:
            xy = torch.tensor(start, dtype=torch.float64, requires_grad=True)
            opt = make[method]([xy], p)
            for _ in range(ITERATIONS):
                opt.zero_grad()
                beale(xy).backward()
                opt.step()


def modern_run(method, params):
    from optviz.optim import lr_schedules

    params = dict(params)
    if isinstance(params.get("lr"), dict):
        settings = dict(params["lr"])
        params["lr"] = lr_schedules.make(settings.pop("schedule"), settings)
    hp = METHODS[method].build(params)
    grad = SURFACES["beale"].grad
    return lambda: step_all(grad, [hp], STARTS, ITERATIONS)


def modern_torch(method, params):
    """The same in torch.optim, one start at a time (constant lr only)."""
    import torch

    if method not in TORCH_CLASSES or isinstance(params.get("lr"), dict):
        return None
    p = dict(params)
    b1, b2 = p.pop("beta1", 0.9), p.pop("beta2", 0.999)
    if method != "sgd" and method != "adadelta":
        p["betas"] = (b1, b2)
    cls = getattr(torch.optim, TORCH_CLASSES[method])
    grad = SURFACES["beale"].grad

    def go():
        for start in STARTS:
            xy = torch.tensor(start, dtype=torch.float64, requires_grad=True)
            opt = cls([xy], foreach=False, **p)
            for _ in range(ITERATIONS):
                xy.grad = torch.from_numpy(grad(xy.detach().numpy()[None])[0])
                opt.step()

    return go


def lecture_configs():
    configs = [
        api.load_config(p) for p in sorted((ROOT / "configs/lecture").glob("*.yaml"))
    ]

    def go():
        # api keeps the rows it computed for the process; a repeat must not
        # time the lookups
        pipeline._ROWS.clear()
        for c in configs:
            api.run(c)

    return go, len(configs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()

    ours = best(optviz_batched, args.repeat)
    loop = best(numpy_per_start, 1)
    print(f"14 lecture runs (7 optimizers × 2 starts × {ITERATIONS:,} iterations):")
    print(f"  optviz, one batch:           {ours:7.3f} s   (target: < 0.5 s)")
    print(
        f"  NumPy loop per start:        {loop:7.3f} s   ({loop / ours:5.1f}× optviz)"
    )
    have_torch = False
    if not args.no_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("  torch.optim per start:       (torch not installed; skipped)")
        else:
            have_torch = True
            slow = best(torch_per_start, 1)
            print(
                f"  torch.optim per start:       {slow:7.3f} s   "
                f"({slow / ours:5.1f}× optviz)"
            )
    plain, kept = best(optviz_plain_rows, args.repeat), best(optviz_internals, 1)
    print(f"  as trajectories, no internals: {plain:7.3f} s   (what a lecture "
          "config runs)")  # fmt: skip
    print(f"  keeping every internal:      {kept:7.3f} s   "
          f"({kept / plain:5.1f}× without: paid only when asked)")  # fmt: skip
    go, n = lecture_configs()
    whole = best(go, args.repeat)
    print(f"  the {n} lecture configs, each run on its own via optviz.api.run: "
          f"{whole:.3f} s")  # fmt: skip
    print(f"Beyond the lecture (one block of 2 starts × {ITERATIONS:,} iterations "
          "each):")  # fmt: skip
    for method, params in MODERN:
        seconds = best(modern_run(method, params), args.repeat)
        lr = params.get("lr")
        name = method + (f" + {lr['schedule']} lr" if isinstance(lr, dict) else "")
        line = f"  {name:<28} {seconds:7.3f} s"
        theirs = modern_torch(method, params) if have_torch else None
        if theirs is not None:
            slow = best(theirs, 1)
            line += f"   torch.optim per start {slow:7.3f} s ({slow / seconds:4.1f}×)"
        print(line)


if __name__ == "__main__":
    main()
