"""The rendering options: stills, frame schedules, title cards and --jobs.

Videos here are tiny (a few frames at 160×120) so that the file stays fast.
"""

import dataclasses
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from optviz import api
from optviz.cli import cli, main
from optviz.config import Animation
from optviz.draw import figure as drawing
from optviz.errors import ConfigError
from optviz.output import encode

SMALL = {"frames": 6, "hold": 0, "size": [160, 120], "dpi": 40}


def write_config(folder, name="cfg", animation=None, **changes):
    data = {
        "title": "small",
        "surface": "beale",
        "starts": [[2, -2]],
        "iterations": 40,
        "optimizers": [
            {"label": "plain", "method": "gd", "lr": "1e-3"},
            {"label": "adam", "method": "adam", "lr": 0.1, "beta2": 0.99},
        ],
        # None drops a key of SMALL
        "animation": {
            k: v for k, v in {**SMALL, **(animation or {})}.items() if v is not None
        },
    }
    data.update(changes)
    path = Path(folder) / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def call(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def rms(a, b):
    return float(np.sqrt(np.mean((a.astype(float) - b.astype(float)) ** 2)))


# --- config keys ------------------------------------------------------------


def load(tmp_path, animation):
    return api.load_config(write_config(tmp_path, animation=animation))


def test_defaults_are_unchanged():
    a = Animation()
    assert (a.frames, a.schedule, a.title_card) == (300, "log", 0.0)
    assert a.formats == ("mp4", "gif")


def test_duration_gives_the_frame_count(tmp_path):
    c = load(tmp_path, {"duration": 2.5, "fps": 24, "frames": None})
    assert c.animation.frames == 60


@pytest.mark.parametrize(
    ("animation", "key_path", "fragment"),
    [
        pytest.param(
            {"duration": 2},
            "animation.duration",
            "give either 'frames' or 'duration' (seconds of motion), not both",
            id="frames-and-duration",
        ),
        pytest.param(
            {"frames": None, "duration": 0.01},
            "animation.duration",
            "must be between 0.1 and 600",
            id="duration-too-short",
        ),
        pytest.param(
            {"frames": None, "duration": 500, "fps": 60},
            "animation.duration",
            "500 s at 60 fps is 30000 frames; must be between 2 and 20000 frames",
            id="duration-too-many-frames",
        ),
        pytest.param(
            {"schedule": "adaptve"},
            "animation.schedule",
            "'adaptve' is not a valid value; supported values are 'log', 'linear', "
            "'adaptive'; did you mean 'adaptive'?",
            id="schedule-typo",
        ),
        pytest.param(
            {"title_card": -1},
            "animation.title_card",
            "must be between 0 and 60",
            id="negative-title-card",
        ),
        pytest.param(
            {"formats": ["pgn"]},
            "animation.formats[0]",
            "supported values are 'mp4', 'gif', 'png', 'html'; did you mean 'png'?",
            id="format-typo",
        ),
        pytest.param(
            {"title-card": 1},
            "animation.title-card",
            "did you mean 'title_card'?",
            id="unknown-key",
        ),
    ],
)
def test_bad_animation_keys_name_the_key(tmp_path, animation, key_path, fragment):
    path = write_config(tmp_path, animation=animation)
    with pytest.raises(ConfigError) as info:
        api.load_config(path)
    assert info.value.path == key_path
    assert fragment in info.value.message, info.value.message


def test_png_format_and_schedules_are_accepted(tmp_path):
    c = load(tmp_path, {"formats": ["png", "mp4"], "schedule": "adaptive"})
    assert c.animation.formats == ("png", "mp4")
    assert c.animation.schedule == "adaptive"


# --- stills -------------------------------------------------------------------


@pytest.mark.render
def test_still_and_frames_from_the_command_line(tmp_path, capsys):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    code, stdout, _ = call(
        capsys, "run", config, "--no-video", "--still", "--frame", 0,
        "--frame", 3, "-o", out,
    )  # fmt: skip
    assert code == 0
    assert names(out) == [
        "cfg-frame-0.png",
        "cfg-frame-3.png",
        "cfg.png",
        "trajectories.csv",
    ]
    assert f"wrote {out / 'cfg-frame-3.png'}" in stdout
    result = api.run(api.load_config(config))
    renderer = drawing.Renderer(api.scene(result))
    schedule = renderer.schedule()
    for name, k in [("cfg.png", renderer.last), ("cfg-frame-3.png", schedule[3])]:
        image = np.asarray(Image.open(out / name).convert("RGB"))
        assert image.shape == (120, 160, 3)
        assert rms(image, renderer.frame(int(k))[..., :3]) < 0.5, name
    # Frame 3 is not the last frame: the test can tell them apart.
    first = np.asarray(Image.open(out / "cfg-frame-0.png"))
    assert rms(first, np.asarray(Image.open(out / "cfg.png"))) > 1
    renderer.close()


@pytest.mark.render
def test_png_in_formats_writes_the_last_frame_beside_the_video(tmp_path, capsys):
    config = write_config(tmp_path, animation={"formats": ["mp4", "png"]})
    code, _, _ = call(capsys, "run", config, "-q", "-o", tmp_path / "out")
    assert code == 0
    assert names(tmp_path / "out") == ["cfg.mp4", "cfg.png", "trajectories.csv"]


def test_a_frame_past_the_end_is_a_usage_error(tmp_path, capsys):
    config = write_config(tmp_path)
    code, _, err = call(capsys, "run", config, "--frame", 6, "-o", tmp_path / "o")
    assert code == 2
    assert "has 6 frames (0 to 5); got 6" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.render
def test_a_failed_still_leaves_no_file(tmp_path, monkeypatch):
    result = api.run(api.load_config(write_config(tmp_path)))

    def broken(self, fp, format=None, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(Exception, match="No space left"):
        api.stills(result, tmp_path / "out", frames=[1])
    assert not (tmp_path / "out").exists() or names(tmp_path / "out") == []


# --- title card and schedules in the video ----------------------------------


class CountingEncoder(encode.Encoder):
    images: ClassVar[list] = []

    def write(self, frame):
        CountingEncoder.images.append(np.array(frame, copy=True))
        super().write(frame)


def frames_sent(tmp_path, monkeypatch, **animation):
    CountingEncoder.images = []
    monkeypatch.setattr(encode, "Encoder", CountingEncoder)  # as the writers open it
    config = api.load_config(write_config(tmp_path, animation=animation))
    result = api.run(config)
    api.render(result, tmp_path / "video")
    return result, CountingEncoder.images


@pytest.mark.render
def test_title_card_comes_first_for_its_seconds(tmp_path, monkeypatch):
    _, plain = frames_sent(tmp_path, monkeypatch, formats=["mp4"], fps=10)
    _, carded = frames_sent(
        tmp_path, monkeypatch, formats=["mp4"], fps=10, title_card=0.5
    )
    assert len(carded) == len(plain) + 5
    # The card covers part of the first frame; the motion that follows is the
    # same as without it.
    assert rms(carded[0], plain[0]) > 5
    assert all(rms(a, b) == 0 for a, b in zip(carded[5:], plain))


@pytest.mark.render
@pytest.mark.parametrize("schedule", ["log", "linear", "adaptive"])
def test_each_schedule_draws_its_frames(tmp_path, monkeypatch, schedule):
    _, images = frames_sent(
        tmp_path, monkeypatch, formats=["mp4"], schedule=schedule, frames=8
    )
    assert len(images) == 8
    assert (tmp_path / "video" / "cfg.mp4").is_file()


def test_title_card_names_the_optimizers_and_their_settings(tmp_path):
    result = api.run(api.load_config(write_config(tmp_path)))
    assert api.title_card(result) == [
        "small",
        "beale from (2, -2), 40 iterations",
        "plain (gd): ε=0.001",
        "adam: ε=0.1, β2=0.99",
    ]


# --- --jobs -------------------------------------------------------------------


@pytest.mark.render
def test_jobs_render_several_configs_and_print_tables_in_order(tmp_path):
    paths = [write_config(tmp_path, f"c{i}", iterations=30 + i) for i in range(3)]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["run", *map(str, paths), "--jobs", "2", "--still", "-o", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    heads = [stdout.index(f"c{i} (beale):") for i in range(3)]
    assert heads == sorted(heads)
    for i in range(3):
        assert names(out / f"c{i}") == [
            f"c{i}.gif", f"c{i}.mp4", f"c{i}.png", "trajectories.csv",
        ]  # fmt: skip
        assert f"wrote {out / f'c{i}' / f'c{i}.mp4'}" in stdout
        assert not list((out / f"c{i}").glob(".*.part"))


@pytest.mark.render
def test_jobs_report_a_workers_error_in_one_line(tmp_path, capsys):
    good = write_config(tmp_path, "good")
    blocked = write_config(tmp_path, "blocked", output=str(tmp_path / "file" / "x"))
    (tmp_path / "file").write_text("not a folder")
    code, _, err = call(
        capsys, "run", good, blocked, "--no-video", "--still", "--jobs", "2"
    )  # (a still: a run that draws nothing does not start workers)
    assert code == 1
    assert err.count("\n") == 1
    # the config whose worker failed is named first (there were two)
    assert err.startswith(f"optviz: error: {blocked}: cannot write ")
    assert "Not a directory" in err


@pytest.mark.render
def test_jobs_gives_the_same_files_as_one_at_a_time(tmp_path, capsys):
    paths = [write_config(tmp_path, f"c{i}", iterations=30 + i) for i in range(2)]
    for jobs in ("1", "2"):
        code, _, _ = call(
            capsys,
            "run",
            *paths,
            "--no-video",
            "--still",
            "-q",
            "-j",
            jobs,
            "-o",
            tmp_path / jobs,
        )  # fmt: skip (a still: a run that draws nothing starts no workers)
        assert code == 0
    for i in range(2):
        one = (tmp_path / "1" / f"c{i}" / "trajectories.csv").read_bytes()
        two = (tmp_path / "2" / f"c{i}" / "trajectories.csv").read_bytes()
        assert one == two


def test_dataclass_fields_are_documented_in_the_readme():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for field in dataclasses.fields(Animation):
        spelled = (f"`{field.name}`", f"`animation.{field.name}`", f"{field.name}:")
        assert any(s in readme for s in spelled), field.name
    for option in ("--still", "--frame", "--jobs"):
        assert option in readme


def test_interrupting_parallel_renders_leaves_no_partial_file(tmp_path):
    """Ctrl-C reaches the parent only (as when it is sent to its pid): the
    workers are stopped, clean up, and no ffmpeg is left."""
    import glob
    import signal
    import subprocess
    import sys
    import time

    long = {"frames": 20000, "size": [320, 240], "dpi": 40}
    paths = [
        write_config(tmp_path, f"c{i}", animation=long, iterations=3000)
        for i in range(3)
    ]
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "optviz.cli", "run", *map(str, paths), "-j", "2",
         "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        end = time.monotonic() + 60
        while len(glob.glob(f"{out}/*/.*.mp4.*.part")) < 2:
            assert time.monotonic() < end, "the renders never got going"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().endswith("optviz: interrupted; no output was left half-written")
    left = sorted(p.name for p in out.glob("*/*")) + sorted(
        p.name for p in out.glob("*/.*")
    )
    assert left == ["trajectories.csv", "trajectories.csv"]


@pytest.mark.render
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_jobs_run_configs_side_by_side_by_either_start_method(
    tmp_path, capsys, monkeypatch, method
):
    """A spawned worker has nothing of the parent's: it reads its config
    again and builds everything itself; its files are those of one process."""
    monkeypatch.setenv("OPTVIZ_START_METHOD", method)
    configs = [write_config(tmp_path, name) for name in ("one", "two")]
    alone = tmp_path / "alone"
    code, _, _ = call(capsys, "run", configs[0], "--still", "-q", "-o", alone)
    assert code == 0
    side = tmp_path / "side"
    code, out, err = call(capsys, "run", *configs, "--still", "-j", "2", "-o", side)
    assert code == 0, err
    assert out.index("one (beale)") < out.index("two (beale)")  # in the order given
    for name in ("one", "two"):
        assert names(side / name) == sorted(
            [f"{name}.gif", f"{name}.mp4", f"{name}.png", "trajectories.csv"]
        )
    csv = (side / "one" / "trajectories.csv").read_bytes()
    assert csv == (alone / "trajectories.csv").read_bytes()
    still = np.asarray(Image.open(side / "one" / "one.png"))
    assert rms(still, np.asarray(Image.open(alone / "one.png"))) == 0
