"""A basin map at scale. Run: python benchmarks/map_bench.py [--lr 0.001]

Prints, in one run (the machine is shared: compare the ratio):

1. the 512 × 512 basin map of Himmelblau's function with gd, 1,000
   iterations (262,144 rows, each stopping when it comes within 0.05 of a
   minimum or diverges), as ``optviz map`` computes it (no history), in a
   fresh process, with the process's peak memory;
2. the obvious alternative: each start stepped on its own by a NumPy loop
   (the same gradient, the same stopping rule), timed on a sample of starts
   spread over the grid and extrapolated to all of them;
3. the same map through the history-keeping runner would hold
   262,144 × 1,001 points: refused by the config (10,000,000 at most), so it
   is not timed; its memory is stated.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = """
import json, resource, sys, time
import numpy as np
t0 = time.perf_counter()
from optviz import config, pipeline
c = config.parse({{
    "surface": "himmelblau", "starts": [[-4, 4]], "iterations": 1000,
    "optimizers": [{{"label": "gd", "method": "gd", "lr": {lr}}}],
    "map": {{"grid": {{"x": [-5, 5, 512], "y": [-5, 5, 512]}}}},
}})
t1 = time.perf_counter()
r = pipeline.run_map(c)
t2 = time.perf_counter()
o = r.outcomes
print(json.dumps({{
    "setup": t1 - t0, "map": t2 - t1,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "reached": int((o.outcome == 1).sum()), "median": float(np.median(o.iteration)),
}}))
"""

BASELINE = """
import json, resource
import numpy as np
from optviz import config, pipeline
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_mb": peak}))
"""


def per_start(lr: float, sample: int) -> tuple[float, int]:
    """Seconds for ``sample`` starts of the grid stepped one by one."""
    import numpy as np

    from optviz.surfaces import SURFACES

    s = SURFACES["himmelblau"]
    minima = np.array([m.point for m in s.minima])
    axis = np.linspace(-5, 5, 512)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, 512, (sample, 2))
    began = time.perf_counter()
    steps = 0
    for i, j in picks:
        theta = np.array([[axis[j], axis[i]]])
        for _ in range(1000):
            theta = theta - lr * s.grad(theta)
            steps += 1
            if not np.all(np.isfinite(theta)):
                break
            if (np.hypot(*(theta - minima).T) < 0.05).any():
                break
    return time.perf_counter() - began, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--sample", type=int, default=400)
    args = parser.parse_args()
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(lr=args.lr)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    whole = time.perf_counter() - began
    got = json.loads(out.stdout)
    base = json.loads(
        subprocess.run(
            [sys.executable, "-c", BASELINE], capture_output=True, text=True, check=True
        ).stdout
    )
    loop, steps = per_start(args.lr, args.sample)
    estimate = loop / args.sample * 512 * 512
    print(f"512 × 512 basin map of himmelblau, gd lr={args.lr:g}, 1,000 iterations:")
    print(f"  optviz map (streaming)      {got['map']:7.2f} s  (target: < 15 s)")
    print(f"    whole process             {whole:7.2f} s  (imports and config "
          f"{got['setup']:.2f} s)")  # fmt: skip
    print(f"    reached a minimum         {got['reached']:,} of 262,144 starts, "
          f"median {got['median']:.0f} iterations")  # fmt: skip
    print(f"    peak memory               {got['peak_mb']:7.0f} MB  (imports alone "
          f"{base['peak_mb']:.0f} MB)")  # fmt: skip
    print(f"  one start at a time (NumPy) {estimate:7.0f} s  estimated from "
          f"{args.sample} starts ({steps:,} steps) in {loop:.2f} s")  # fmt: skip
    print(f"  ratio                       {estimate / got['map']:7.0f}×")
    history = 262_144 * 1001 * 4 * 8 / 2**30
    print(
        f"  with history: {262_144 * 1001:,} points, about {history:.1f} GiB "
        "(points, loss, gradient norm): refused"
    )


if __name__ == "__main__":
    main()
