"""Whole-process times: what a user waits for. Run: python benchmarks/process_bench.py

Prints, in one run (the machine is shared: compare the ratios, and the CPU
seconds, which a busy neighbour disturbs less than the wall clock):

1. one video — 300 frames at 800×600 of the 7 lecture optimizers on Beale's
   function, 10,000 iterations, MP4, with its trajectories.csv — as
   ``optviz run`` in a fresh process, against a fresh process running the
   recipe everyone copies (the same run and CSV, then matplotlib's
   ``FuncAnimation`` saved through ``FFMpegWriter``: see render_bench.py);
2. the 14 lecture configs with ``--no-video`` (trajectories.csv only), in a
   fresh process, with an empty user cache of generated surface code (cold:
   Beale's code is the one shipped with optviz), with the cache filled (warm),
   and cold without the shipped code (SymPy imported, deriving Beale's
   function: what every first run was before the code shipped).

Every process is timed from its start to its exit, imports included.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LECTURE = sorted(str(p) for p in (ROOT / "configs" / "lecture").glob("*.yaml"))

# The recipe, as a script of its own: run the config, write the CSV with the
# csv module, draw with FuncAnimation + FFMpegWriter (render_bench's recipe).
RECIPE = """
import csv, sys
from pathlib import Path
sys.path.insert(0, {benchmarks!r})
from optviz import api
from optviz.draw.schedules import frame_iterations
from render_bench import funcanimation
config_path, out = sys.argv[1], Path(sys.argv[2])
result = api.run(api.load_config(config_path))
out.mkdir(parents=True, exist_ok=True)
with open(out / "trajectories.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(("optimizer", "start", "iteration", "x", "y", "loss", "grad_norm"))
    for t in result.trajectories:
        for k, ((x, y), loss, g) in enumerate(zip(t.points.tolist(),
                                                  t.loss.tolist(),
                                                  t.grad_norm.tolist())):
            w.writerow((t.label, t.start, k, x, y, loss, g))
last = max(t.iterations for t in result.trajectories)
schedule = frame_iterations(last, result.config.animation.frames)
funcanimation(result, schedule, out / "fa.mp4")
"""


# optviz's command with the shipped code of the built-in surfaces left out
UNSHIPPED = """
from optviz.surfaces import cache
cache.shipped = dict
from optviz.cli import program
program()
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``cmd`` in a fresh process, its children included
    (ffmpeg's CPU counts too)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (best kept)")
    parser.add_argument(
        "--skip-recipe", action="store_true", help="only the --no-video figure"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from render_bench import seven_optimizer_config

    optviz = [sys.executable, "-m", "optviz.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        env = {**os.environ, "OPTVIZ_CACHE_DIR": str(cache)}
        seven_optimizer_config(tmp, 300)
        config = str(tmp / "beale7.yaml")

        arguments = ["run", *LECTURE, "--no-video", "-q", "-o"]
        lecture = [*optviz, *arguments]
        unshipped = [sys.executable, "-c", UNSHIPPED, *arguments]
        cold, warm, sympy = [], [], []

        def empty() -> None:
            for name in os.listdir(cache) if cache.exists() else []:
                os.unlink(cache / name)

        for i in range(args.repeat):  # in turns, so that a busy spell hits all
            empty()
            cold.append(timed([*lecture, str(tmp / f"cold{i}")], env))
            if cache.exists() and os.listdir(cache):
                raise SystemExit("a cold run derived code the shipped layer has")
            warm.append(timed([*lecture, str(tmp / f"warm{i}")], env))
            empty()
            sympy.append(timed([*unshipped, str(tmp / f"sympy{i}")], env))
        rows = [
            ("cold cache", *best(cold)),
            ("warm cache", *best(warm)),
            ("cold, no shipped code (SymPy)", *best(sympy)),
        ]
        print("The 14 lecture configs, --no-video, whole process:")
        for label, wall, cpu in rows:
            print(f"  {label:<30}{wall:5.2f} s wall  {cpu:5.2f} s CPU")
        (_, cold_wall, cold_cpu), (_, warm_wall, warm_cpu) = rows[0], rows[1]
        print(
            f"  (target: cold < 1.5 s; cold/warm {cold_wall / warm_wall:.2f}× wall, "
            f"{cold_cpu / warm_cpu:.2f}× CPU; SymPy's cold/warm "
            f"{rows[2][2] / warm_cpu:.2f}× CPU)"
        )
        if args.skip_recipe:
            return

        video = [*optviz, "run", config, "-q", "-j", "1", "-o"]
        ours = best(
            [timed([*video, str(tmp / f"v{i}")], env) for i in range(args.repeat)]
        )
        script = tmp / "recipe.py"
        script.write_text(RECIPE.format(benchmarks=str(Path(__file__).parent)))
        recipe = timed([sys.executable, str(script), config, str(tmp / "fa")], env)
        print(
            "One video (300 frames, 800×600, 7 optimizers, MP4 + CSV), whole process:"
        )
        print(f"  FuncAnimation + FFMpegWriter  {recipe[0]:6.2f} s wall  "
              f"{recipe[1]:6.2f} s CPU")  # fmt: skip
        print(f"  optviz run -j 1               {ours[0]:6.2f} s wall  "
              f"{ours[1]:6.2f} s CPU")  # fmt: skip
        print(
            f"  optviz is {recipe[0] / ours[0]:.1f}× faster in wall time, "
            f"{recipe[1] / ours[1]:.1f}× in CPU time (target: ≥ 10×)"
        )


if __name__ == "__main__":
    main()
