"""How fast is the renderer? Run: python benchmarks/render_bench.py

Times, in one process and one run (the machine is shared, so compare the
ratios, not the seconds), the same video — 300 frames at 800×600 of the 7
lecture optimizers on Beale's function from (−3, 3), 10,000 iterations — drawn
in these ways:

1. the recipe everyone copies: matplotlib's ``FuncAnimation(blit=True)`` saved
   through ``FFMpegWriter`` (H.264, yuv420p), drawing the same contours,
   lines, heads, legend and counter (``save`` redraws the whole figure for
   every frame: blitting only helps on screen);
2. a bare loop: ``restore_region`` + ``draw_artist`` of the moving artists,
   raw RGBA piped to one ffmpeg (MP4 only), and the same loop at its leanest,
   drawing only each frame's new steps on the lines so far and no legend (a
   floor for the time, not a way to draw: see ``bare_incremental``);
3. optviz's ``pipeline.write_video`` with formats [mp4] (its lines, landmarks, legend
   and counter, as in the lecture videos);
4. the same with [mp4, gif];
5. and 6. the same two with ``jobs=2`` (``optviz run --jobs 2``): the
   frames cut in two runs, drawn and encoded by two processes and joined.

The bare loop draws each line whole in every frame; optviz keeps the lines
drawn so far as pixels every 500 iterations, which is why it can beat it.
It encodes with optviz's x264 settings, so that only the drawing differs.
The fast ways run in turns (one round of each, ``--repeat`` rounds, the best
of each kept), so that a busy spell of the shared machine hits them alike.

Then, end to end, the 14 lecture videos (MP4 + GIF) through
``optviz run configs/lecture/*.yaml`` in a subprocess, and their GIF sizes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from optviz import api
from optviz.draw.backdrop import draw_contours, house_style, optimizer_colours
from optviz.draw.figure import _LEGEND
from optviz.draw.schedules import frame_iterations
from optviz.output.encode import CRF, PRESET, ffmpeg_exe
from optviz.pipeline import write_video

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "configs" / "lecture"
BASE = LECTURE / "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml"
RMSPROP = {
    "label": "rmsprop",
    "method": "rmsprop",
    "lr": 0.25,
    "beta": 0.99,
    "eps": 1.0e-7,
    "color": "#D55E00",
}


def seven_optimizer_config(folder: Path, frames: int):
    """The lecture's last opt-2 config with rmsprop put back: 7 optimizers."""
    data = yaml.safe_load(BASE.read_text())
    data["optimizers"].insert(4, RMSPROP)
    data["animation"] = {"frames": frames, "fps": 30, "hold": 0, "size": [800, 600]}
    data["animation"]["formats"] = ["mp4"]
    path = folder / "beale7.yaml"
    path.write_text(yaml.safe_dump(data))
    return api.load_config(path)


def timed(fn, repeat: int = 1) -> float:
    """The best of ``repeat`` runs of ``fn``, in seconds."""
    return min(in_turns([fn], repeat)[0])


def in_turns(fns, rounds: int) -> list[list[float]]:
    """Each of ``fns`` once a round for ``rounds`` rounds; their times."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times):
            t = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - t)
    return times


def _figure(result):
    """The video's figure drawn the plain matplotlib way (pyplot-free)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    c = result.config
    w, h = c.animation.size
    dpi = c.animation.layout.figure_dpi  # as the renderer: dpi None follows size
    fig = Figure(figsize=((w + 0.01) / dpi, (h + 0.01) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    ax.set_xlim(c.xlim)
    ax.set_ylim(c.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(c.title, loc="left", fontsize="large")
    draw_contours(ax, result.surface, c.xlim, c.ylim)
    colours = optimizer_colours(
        len(c.optimizers),
        [o.color for o in c.optimizers],
        [o.method for o in c.optimizers],
    )
    trajectories = result.trajectories
    lines = [
        ax.plot([], [], color=colours[t.optimizer], linewidth=2.0, zorder=5)[0]
        for t in trajectories
    ]
    ax.plot(3, 0.5, marker="*", markersize=22, markerfacecolor="#FFD23F",
            markeredgecolor="black", linestyle="none", zorder=6)  # fmt: skip
    heads = ax.scatter(
        [t.points[0, 0] for t in trajectories],
        [t.points[0, 1] for t in trajectories],
        s=49,
        c=[colours[t.optimizer] for t in trajectories],
        edgecolors="white",
        zorder=7,
    )
    counter = ax.set_title("iteration 0", loc="right")
    legend = ax.legend(lines, result.labels, loc="upper right", **_LEGEND)
    legend.set_zorder(10)
    return fig, ax, lines, heads, counter, legend


def _show(result, lines, heads, counter, k):
    for t, line in zip(result.trajectories, lines):
        n = min(k, len(t.points) - 1)
        line.set_data(t.points[: n + 1, 0], t.points[: n + 1, 1])
    heads.set_offsets(
        [t.points[min(k, len(t.points) - 1)] for t in result.trajectories]
    )
    counter.set_text(f"iteration {k:,}")


def funcanimation(result, schedule, out: Path) -> None:
    import matplotlib
    from matplotlib.animation import FFMpegWriter, FuncAnimation

    with house_style():  # (which resets every rcParam: set the path inside)
        matplotlib.rcParams["animation.ffmpeg_path"] = ffmpeg_exe()
        fig, _, lines, heads, counter, _ = _figure(result)

        def update(k):
            _show(result, lines, heads, counter, int(k))
            return [*lines, heads, counter]

        anim = FuncAnimation(fig, update, frames=schedule, blit=True)
        writer = FFMpegWriter(
            fps=result.config.animation.fps,
            codec="libx264",
            extra_args=["-pix_fmt", "yuv420p"],
        )
        anim.save(out, writer=writer, dpi=result.config.animation.dpi)


def _bare_figure(result, out: Path):
    """The figure with its moving artists animated and drawn out of the
    static picture, and an ffmpeg encoding raw frames to ``out`` as optviz
    does: (fig, lines, heads, counter, legend, ffmpeg)."""
    fig, _, lines, heads, counter, legend = _figure(result)
    canvas = fig.canvas
    canvas.draw()
    fig.set_layout_engine("none")
    for artist in [*lines, heads, counter, legend]:
        artist.set_animated(True)
    canvas.draw()
    w, h = canvas.get_width_height()
    cmd = [
        ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "rawvideo",
        "-pix_fmt", "rgba", "-video_size", f"{w}x{h}",
        "-framerate", str(result.config.animation.fps), "-i", "pipe:0",
        "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF),
        "-pix_fmt", "yuv420p", str(out),
    ]  # fmt: skip
    ffmpeg = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    return fig, lines, heads, counter, legend, ffmpeg


def _finish(ffmpeg) -> None:
    ffmpeg.stdin.close()
    if ffmpeg.wait():
        raise RuntimeError("ffmpeg failed")


def bare_loop(result, schedule, out: Path) -> None:
    with house_style():
        fig, lines, heads, counter, legend, ffmpeg = _bare_figure(result, out)
        canvas = fig.canvas
        background = canvas.copy_from_bbox(fig.bbox)
        for k in schedule:
            canvas.restore_region(background)
            _show(result, lines, heads, counter, int(k))
            for artist in [*lines, heads, counter, legend]:
                fig.draw_artist(artist)
            ffmpeg.stdin.write(canvas.buffer_rgba())
        _finish(ffmpeg)


def bare_incremental(result, schedule, out: Path) -> None:
    """The bare loop at its leanest: each frame draws only the steps taken
    since the last one on top of the lines so far, kept as pixels, then the
    heads and the counter, and no legend at all (drawing one costs about 20
    ms a frame). A floor for the time, not a way to draw: the short strokes
    blend their anti-aliased ends into heavier, jagged lines, which is why
    optviz draws whole stretches, and a video needs its legend."""
    with house_style():
        fig, lines, heads, counter, _, ffmpeg = _bare_figure(result, out)
        canvas = fig.canvas
        trails = canvas.copy_from_bbox(fig.bbox)
        drawn = [0] * len(lines)
        for k in schedule:
            canvas.restore_region(trails)
            for i, (t, line) in enumerate(zip(result.trajectories, lines)):
                n = min(int(k), len(t.points) - 1)
                if n > drawn[i]:
                    line.set_data(t.points[drawn[i] : n + 1].T)
                    fig.draw_artist(line)
                    drawn[i] = n
            trails = canvas.copy_from_bbox(fig.bbox)
            heads.set_offsets(
                [t.points[min(int(k), len(t.points) - 1)] for t in result.trajectories]
            )
            counter.set_text(f"iteration {int(k):,}")
            for artist in (heads, counter):
                fig.draw_artist(artist)
            ffmpeg.stdin.write(canvas.buffer_rgba())
        _finish(ffmpeg)


def optviz_video(result, out: Path, formats, jobs: int = 1) -> None:
    write_video(api.scene(result), tuple(formats), out, "beale7", jobs=jobs)


def lecture_end_to_end(out: Path, jobs: int | None) -> tuple[float, list[Path]]:
    configs = sorted(str(p) for p in LECTURE.glob("*.yaml"))
    optviz = Path(sys.executable).with_name("optviz")
    cmd = [str(optviz), "run", *configs, "-o", str(out), "-q"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    seconds = timed(lambda: subprocess.run(cmd, check=True))
    return seconds, sorted(out.glob("*/*.gif"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of the fast ways (best kept)"
    )
    parser.add_argument(
        "--jobs", type=int, help="optviz run --jobs for the lecture figure"
    )
    parser.add_argument(
        "--skip-lecture", action="store_true", help="only the one-video figure"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result = api.run(seven_optimizer_config(tmp, args.frames))
        last = max(t.iterations for t in result.trajectories)
        schedule = frame_iterations(last, args.frames)
        print(
            f"One video: {len(schedule)} frames, 800×600, 7 optimizers, "
            f"{last:,} iterations, Beale:"
        )
        # FuncAnimation once (it is slow); the others best of --repeat.
        n = args.repeat
        t_fa = timed(lambda: funcanimation(result, schedule, tmp / "fa.mp4"))
        ways = [
            ("bare restore_region/draw_artist loop, MP4",
             lambda: bare_loop(result, schedule, tmp / "bare.mp4")),
            ("floor: new steps only, no legend, MP4",
             lambda: bare_incremental(result, schedule, tmp / "floor.mp4")),
            ("optviz write_video, MP4",
             lambda: optviz_video(result, tmp / "mp4", ["mp4"])),
            ("optviz write_video, MP4 + GIF",
             lambda: optviz_video(result, tmp / "both", ["mp4", "gif"])),
            ("optviz write_video, MP4, --jobs 2",
             lambda: optviz_video(result, tmp / "mp4j", ["mp4"], jobs=2)),
            ("optviz write_video, MP4 + GIF, --jobs 2",
             lambda: optviz_video(result, tmp / "bothj", ["mp4", "gif"], jobs=2)),
        ]  # fmt: skip
        best = [min(t) for t in in_turns([fn for _, fn in ways], n)]
        t_bare, t_floor, t_mp4, t_both, t_mp4_j2, t_both_j2 = best
        gif = (tmp / "both" / "beale7.gif").stat().st_size
        gif_j2 = (tmp / "bothj" / "beale7.gif").stat().st_size
        rows = [("FuncAnimation(blit=True) + FFMpegWriter", t_fa)]
        rows += [(name, t) for (name, _), t in zip(ways, best)]
        for name, seconds in rows:
            print(f"  {name:<44} {seconds:6.2f} s  {len(schedule) / seconds:6.0f} fps")
        print(
            f"  optviz MP4 vs FuncAnimation: {t_fa / t_mp4:5.1f}× faster (target: ≥ 8×)"
        )
        print(
            f"  optviz MP4 vs the bare loop: {t_mp4 / t_bare:5.2f}× its time, "
            f"vs its floor: {t_mp4 / t_floor:5.2f}× (target: ≤ 1.3×)"
        )
        print(
            f"  --jobs 2 vs one process: MP4 {t_mp4 / t_mp4_j2:4.2f}× faster, "
            f"MP4 + GIF {t_both / t_both_j2:4.2f}× faster (target: > 1×)"
        )
        print(f"  GIF: {gif / 1e6:.2f} MB (with --jobs 2: {gif_j2 / 1e6:.2f} MB)")
        if args.skip_lecture:
            return
        seconds, gifs = lecture_end_to_end(tmp / "lecture", args.jobs)
        sizes = np.array([p.stat().st_size for p in gifs]) / 1e6
        print(
            f"The {len(gifs)} lecture videos (MP4 + GIF), optviz run end to end: "
            f"{seconds:.1f} s (target: < 120 s)"
        )
        print(
            f"  GIF sizes: {sizes.min():.2f}–{sizes.max():.2f} MB, "
            f"median {np.median(sizes):.2f} MB (target: < 2 MB)"
        )


if __name__ == "__main__":
    main()
