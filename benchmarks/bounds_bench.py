"""Do a run's up-front estimates hold? Run: python benchmarks/bounds_bench.py

A config is refused before it runs when its estimated memory or time is
beyond the bounds (``optviz.config.MAX_MEMORY``, ``MAX_SECONDS``), estimated
by ``optviz.optim.budget`` from per-step costs. This measures those costs on
this machine, in one run, and prints each beside the one the estimate
assumes, with their ratio: a ratio below 1 means the estimate is high (as it
should be: it refuses a run that would have fitted, never lets through one
that does not).

- each method family's cost per iteration of one block and per row of it
  (``optviz.run`` of 1 start and of 50, on Rosenbrock's function);
- one minibatch example (least squares, 100,000 examples, batches of 10,000);
- one point kept, written to the CSV (``write_csv`` of 300,000 points);
- the bytes per point: the peak resident memory of a fresh process running
  and writing the CSV of 300,000 points, less that of one of 3,000.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

import optviz
from optviz import api, config
from optviz.optim import budget

ITERATIONS = 2_000
MANY = 50


def seconds(data: dict, repeat: int = 2) -> float:
    """The best of ``repeat`` runs of the config ``data``, rows uncached."""
    parsed = config.parse(data)
    best = float("inf")
    for _ in range(repeat):
        api._ROWS.clear()
        start = time.perf_counter()
        optviz.run(parsed)
        best = min(best, time.perf_counter() - start)
    return best


def per_iteration(optimizer: dict, starts: int) -> float:
    data = {
        "surface": "rosenbrock",
        "starts": [[-1.2 + 1e-3 * i, 1.0] for i in range(starts)],
        "iterations": ITERATIONS,
        "optimizers": [optimizer],
    }
    return seconds(data) / ITERATIONS


def row(name: str, measured: float, assumed: float, unit: float, what: str) -> None:
    print(
        f"{name:<28} {measured / unit:10.2f} {assumed / unit:10.2f} "
        f"{measured / assumed:7.2f}  {what}"
    )


# The child's own peak: VmHWM starts afresh at exec, where ru_maxrss keeps
# the parent's (this process's, after the timings above).
PROBE = """
import json, resource, sys
import optviz
data = json.loads(sys.argv[1])
result = optviz.run(optviz.config.parse(data))
optviz.api.write_csv(result, sys.argv[2])
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    print(int(status.split()[0]) * 1024)
except (OSError, IndexError):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def peak_bytes(iterations: int, folder: str) -> int:
    data = {
        "surface": "rosenbrock",
        "starts": [[-1.2, 1.0]],
        "iterations": iterations,
        "optimizers": [{"method": "gd", "lr": 1e-4}],
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(data), folder],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[-1])


def main() -> None:
    print(f"{'cost':<28} {'measured':>10} {'assumed':>10} {'ratio':>7}")
    first_order = {"method": "adam", "lr": 1e-3}
    methods = [("first-order (fused)", first_order, budget.FUSED)]
    for name, (step, each) in budget.SECOND_ORDER.items():
        methods.append((name, {"method": name}, (step, each)))
    for name, optimizer, (step, each) in methods:
        one = per_iteration(optimizer, 1)
        many = per_iteration(optimizer, MANY)
        per_row = max(0.0, (many - one) / (MANY - 1))
        # the estimate charges each point kept separately (POINT): not here
        row(f"{name}, per block", one, step + each, 1e-6, "µs per iteration")
        row(f"{name}, per row", per_row, each, 1e-6, "µs per iteration")
    batch, steps = 10_000, 200
    data = {
        "surface": {"name": "least_squares", "examples": 100_000},
        "starts": [[0.0, 0.0]],
        "iterations": steps,
        "optimizers": [{"method": "gd", "lr": 0.1, "batch_size": batch}],
    }
    example = seconds(data) / steps / batch
    row("minibatch example", example, budget.EXAMPLE, 1e-9, "ns")
    with tempfile.TemporaryDirectory() as folder:
        data = {
            "surface": "rosenbrock",
            "starts": [[-1.2, 1.0]],
            "iterations": 300_000,
            "optimizers": [{"method": "gd", "lr": 1e-4}],
        }
        result = optviz.run(config.parse(data))
        start = time.perf_counter()
        api.write_csv(result, folder)
        point = (time.perf_counter() - start) / 300_001
        row("point kept (CSV row)", point, budget.POINT, 1e-6, "µs")
        small, large = peak_bytes(3_000, folder), peak_bytes(300_000, folder)
        print(f"  peak resident memory: {small / 2**20:.0f} MiB for 3,001 points, "
              f"{large / 2**20:.0f} MiB for 300,001")  # fmt: skip
        grown = large - small
        row("memory per point", grown / 297_000, budget.BYTES_PER_POINT, 1, "bytes")


if __name__ == "__main__":
    main()
