"""What a moving 3-D camera costs. Run: python benchmarks/camera_bench.py

A fixed camera lets the renderer keep the surface as pixels and draw only
what moves (the lines since a checkpoint, the heads, the counter); a camera
that moves turns the surface, its box and its tick labels every frame, so the
3-D axes are drawn whole, every frame, and their lines from the start. This
times, in one process and one run (the machine is shared: compare the
ratios), the drawing of every frame of ``configs/examples/camera_path.yaml``
(300 frames at 800×600, six-hump camel in 3-D, 3,000 iterations) as the
video draws them (:class:`optviz.pipeline.FrameRanges`, frames thrown away,
no encoding):

1. ``view: 3d`` with its camera fixed where the path starts, then on the
   example's path;
2. ``view: both`` the same two ways (the contours beside the surface stay
   in the static layer: only the 3-D side is drawn whole);

each way in turns (``--repeat`` rounds, the best kept), with the time to
build the figure (a moving camera fits the tick labels and places the
legend for cameras along its path). It prints each per-frame time and the
ratio moving / fixed.

``--baseline DIR`` also times the lecture's last opt-2 video (2-D, no
camera: the features off) drawn by this checkout and by the optviz of the
checkout in ``DIR``, in turns, each in a process of its own, and prints the
ratio: that the lecture videos draw as fast as before. On a shared machine
the times swing by more than any difference, so it also counts the Python
function calls of the frames (cProfile), which no other process changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "configs" / "examples" / "camera_path.yaml"
LECTURE = ROOT / "configs" / "lecture" / "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml"


def draw_frames(scene) -> tuple[float, float, int]:
    """Build the figure and draw every frame of ``scene``'s video in order;
    (seconds to build, seconds for the frames, frames)."""
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer
    from optviz.pipeline import FrameRanges

    start = time.perf_counter()
    renderer = Renderer(scene)
    built = time.perf_counter() - start
    try:
        frames = scene.timeline.sequence(renderer.schedule())
        draw = FrameRanges(scene, frames, renderer)
        start = time.perf_counter()
        with house_style():
            draw(0, len(frames), lambda image: None, lambda: None)
        return built, time.perf_counter() - start, len(frames)
    finally:
        renderer.close()


def scenes():
    """The four ways, by name: (scene, its camera moves)."""
    from optviz import api
    from optviz.draw.scene import CameraKey, CameraPath

    result = api.run(api.load_config(EXAMPLE))
    path = result.config.animation.camera
    fixed = CameraPath((CameraKey(0.0, path.at(0.0)),))
    out = {}
    for view in ("3d", "both"):
        size = (1280, 600) if view == "both" else (800, 600)
        for name, camera in (("fixed", fixed), ("moving", path)):
            animation = dataclasses.replace(
                result.config.animation, view=view, camera=camera, size=size
            )
            out[f"{view}, camera {name}"] = api.scene(result, animation)
    return out


def camera_costs(rounds: int) -> None:
    ways = scenes()
    best: dict[str, tuple[float, float, int]] = {}
    for _ in range(rounds):
        for name, scene in ways.items():
            built, seconds, frames = draw_frames(scene)
            old = best.get(name)
            if old is None or seconds < old[1]:
                best[name] = (built, seconds, frames)
    print(
        f"camera_path.yaml, every frame drawn as the video draws it, best of {rounds}:"
    )
    print(f"{'way':<22} {'build s':>8} {'frames s':>9} {'ms/frame':>9}")
    for name, (built, seconds, frames) in best.items():
        print(f"{name:<22} {built:8.2f} {seconds:9.2f} {1000 * seconds / frames:9.1f}")
    for view in ("3d", "both"):
        fixed = best[f"{view}, camera fixed"]
        moving = best[f"{view}, camera moving"]
        ratio = (moving[1] / moving[2]) / (fixed[1] / fixed[2])
        print(f"view {view}: a moving camera costs {ratio:.1f}× a fixed one per frame")


_CHILD = """
import cProfile, json, pstats, sys, time
sys.path.insert(0, sys.argv[1])
from optviz import api
from optviz.draw.backdrop import house_style
from optviz.draw.figure import Renderer
from optviz.pipeline import FrameRanges
assert api.__file__.startswith(sys.argv[1]), api.__file__
result = api.run(api.load_config(sys.argv[2]))
scene = api.scene(result)

def frames_drawn(profile=None):
    renderer = Renderer(scene)
    frames = scene.timeline.sequence(renderer.schedule())
    draw = FrameRanges(scene, frames, renderer)
    start = time.perf_counter()
    with house_style():
        if profile is not None:
            profile.enable()
        draw(0, len(frames), lambda image: None, lambda: None)
        if profile is not None:
            profile.disable()
    return time.perf_counter() - start, len(frames)

seconds, frames = frames_drawn()
profile = cProfile.Profile()
frames_drawn(profile)
calls = pstats.Stats(profile).total_calls
print(json.dumps([seconds, frames, calls]))
"""


def lecture_against(baseline: Path, rounds: int) -> None:
    """The lecture video's frames drawn by this checkout and by ``baseline``'s
    optviz, in turns, one process each time."""
    trees = {"this checkout": ROOT, "baseline": baseline.resolve()}
    best: dict[str, float] = {}
    calls: dict[str, int] = {}
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(rounds):
        for name, tree in trees.items():
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(tree), str(LECTURE)],
                capture_output=True, text=True, check=True, env=env,
            ).stdout  # fmt: skip
            seconds, frames, calls[name] = json.loads(out.splitlines()[-1])
            best[name] = min(best.get(name, seconds), seconds)
    print(f"\n{LECTURE.name} ({frames} frames, 2-D, no camera), best of {rounds}:")
    print(f"{'':<14} {'s':>6} {'ms/frame':>9} {'calls/frame':>12}")
    for name, seconds in best.items():
        per_frame = 1000 * seconds / frames
        print(
            f"{name:<14} {seconds:6.2f} {per_frame:9.1f} {calls[name] / frames:12.0f}"
        )
    ratio = best["this checkout"] / best["baseline"]
    print(
        f"this checkout / baseline: {ratio:.2f} in time (the machine's noise "
        f"included), {calls['this checkout'] / calls['baseline']:.3f} in Python "
        "function calls (none of it)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="rounds (best kept)")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout to compare the lecture video with"
    )
    args = parser.parse_args()
    camera_costs(args.repeat)
    if args.baseline is not None:
        lecture_against(args.baseline, max(3, args.repeat))


if __name__ == "__main__":
    main()
