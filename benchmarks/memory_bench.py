"""How much memory does optviz take? Run: python benchmarks/memory_bench.py

Each figure is the peak resident memory of one fresh Python process (ffmpeg,
a separate process, is not counted), so imports are included; the baseline
line shows what the imports alone cost.

- a 1,000,000-iteration run of one optimizer (the limit on a run is
  about 2,100,000 points: iterations × optimizers × starts), with and without
  writing its CSV and a 300-frame video;
- a 300-frame and a 3,000-frame video of the same lecture config: frames are
  streamed to ffmpeg, never all held, so the two should be about equal; and
  the same with ``jobs=2`` (two forked workers each encoding half).

"largest child" is the peak of the largest process the probe waited for: a
worker, or an ffmpeg. Both are forks, whose resident memory starts as the
parent's at the fork (shared pages count in both), so it is an upper bound:
an ffmpeg started after a 1,000,000-iteration run shows that run's size.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap

CONFIG = """
surface: rosenbrock
starts: [[-1.2, 1]]
iterations: 1000000
optimizers:
  - {method: adam, lr: 1.0e-3}
animation: {frames: 300}
"""

PROBE = """
import resource, sys, time
from pathlib import Path
t = time.perf_counter()
{body}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{{peak:.0f}} {{child:.0f}} {{time.perf_counter() - t:.1f}}")
"""


def measure(body: str) -> tuple[float, float, float]:
    code = PROBE.format(body=textwrap.dedent(body))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[-3]), float(out[-2]), float(out[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = f"{tmp}/million.yaml"
        with open(config, "w") as f:
            f.write(CONFIG)
        lecture = "configs/lecture/2gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml"
        cases = [
            ("imports only (baseline)", "import optviz.api, optviz.draw.figure"),
            (
                "1,000,000 iterations, core only",
                f"import optviz; optviz.run(optviz.load_config({config!r}))",
            ),
            (
                "1,000,000 iterations + CSV + 300-frame video",
                f"""
                import optviz
                r = optviz.run(optviz.load_config({config!r}))
                optviz.write_outputs(r, {tmp + "/a"!r})
                """,
            ),
        ]
        for frames, jobs in ((300, 1), (3000, 1), (300, 2), (3000, 2)):
            cases.append(
                (
                    f"lecture video, {frames:,} frames (MP4 + GIF), jobs={jobs}",
                    f"""
                    import dataclasses, optviz
                    c = optviz.load_config({lecture!r})
                    c = dataclasses.replace(
                        c, animation=dataclasses.replace(c.animation, frames={frames})
                    )
                    optviz.render(
                        optviz.run(c), {tmp + f"/v{frames}-{jobs}"!r}, jobs={jobs}
                    )
                    """,
                )
            )
        print(f"{'':<58} {'peak MiB':>9} {'largest child':>14} {'seconds':>8}")
        for name, body in cases:
            peak, child, seconds = measure(body)
            print(f"{name:<58} {peak:9.0f} {child:14.0f} {seconds:8.1f}")
        internals(tmp)


def internals(tmp: str) -> None:
    """What the internals kept cost a point: 2 starts × 500,000 iterations of
    nesterov, with one kind more at a time, against the bytes a kind is
    assumed to take (optviz.optim.budget.BYTES_PER_INTERNAL)."""
    from optviz.optim import budget

    points = 2 * 500_001
    peaks = []
    asked: list[str] = []
    for kind in ("gradient", "velocity", "step", "lookahead", "scaling"):
        asked.append(kind)
        if kind == "scaling":  # nesterov has none: rmsprop with momentum
            method = "{method: rmsprop, lr: 1.0e-4, momentum: 0.9, nesterov: true"
        else:
            method = "{method: nesterov, lr: 1.0e-4, momentum: 0.9"
        config = f"{tmp}/internals-{len(asked)}.yaml"
        with open(config, "w") as f:
            f.write(
                "surface: rosenbrock\n"
                "starts: [[-1.2, 1], [-1, 1]]\n"
                "iterations: 500000\n"
                f"optimizers:\n  - {method}, internals: [{', '.join(asked)}]}}\n"
            )
        peak, _, _ = measure(
            f"import optviz; optviz.run(optviz.load_config({config!r}))"
        )
        peaks.append((budget.internal_kinds_kept(asked), peak))
    print(
        f"\ninternals kept, {points:,} points (assumed: "
        f"{budget.BYTES_PER_INTERNAL} bytes a kind a point):"
    )
    (n0, p0), *more = peaks
    for n, peak in more:
        per = (peak - p0) * (1 << 20) / (points * (n - n0))
        print(
            f"  {n} arrays a point: {peak:6.0f} MiB, {per:5.1f} bytes an array "
            f"a point beyond the gradient's"
        )


if __name__ == "__main__":
    main()
