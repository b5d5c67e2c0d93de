"""Snapshot tests: the lecture's videos have not changed, and ``optviz snapshot``
says what has when something does.

``tests/snapshots/`` holds the snapshots of the 14 lecture configs, written by

    optviz snapshot configs/lecture/*.yaml --dir tests/snapshots --update

If a change to optviz, NumPy or matplotlib changes a lecture video on purpose,
run that again, look at the new frames, and commit them.
"""

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optviz import snapshot
from optviz.cli import cli, main
from optviz.config import load, parse

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "configs" / "lecture"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
STEMS = sorted(p.stem for p in LECTURE.glob("*.yaml"))
FILES = ["frame-first.png", "frame-last.png", "frame-middle.png", "trajectories.txt"]
# Two optimizers, one of them changed below: fast, and the report must tell
# them apart.
COPIED = "1gd_gd+p"


def call(capsys, *args):
    """Run through ``main`` as the console script does: (code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def small_config(**changes):
    """A quick config: Beale, two optimizers, one start, 300 iterations."""
    data = {
        "title": "small",
        "surface": "beale",
        "starts": [[2, -2]],
        "iterations": 300,
        "optimizers": [
            {"label": "gd", "method": "gd", "lr": 1e-3},
            {"label": "adam", "method": "adam", "lr": 0.1},
        ],
        "animation": {"frames": 40},
    }
    data.update(changes)
    return parse(data, source="small.yaml", stem="small")


@pytest.fixture(scope="module")
def small():
    return snapshot.take(small_config())


# --- the project's own snapshots --------------------------------------------


def test_every_lecture_config_has_a_snapshot():
    assert len(STEMS) == 14
    assert sorted(p.name for p in SNAPSHOTS.iterdir() if p.is_dir()) == STEMS


@pytest.mark.parametrize("stem", STEMS)
def test_lecture_video_matches_its_snapshot(stem):
    outcome = snapshot.check(load(LECTURE / f"{stem}.yaml"), SNAPSHOTS)
    assert outcome.ok, "\n".join(map(str, outcome.differences))
    assert sorted(p.name for p in (SNAPSHOTS / stem).iterdir()) == FILES


def test_snapshot_rows_are_a_sample_of_every_path():
    stem = "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam"
    text = (SNAPSHOTS / stem / "trajectories.txt").read_text(encoding="utf-8")
    parsed = snapshot.parse(text)
    assert parsed.header["rows"] == "every 100th iteration and each path's last"
    labels = ["gd", "gd+p", "gd+np", "adagrad", "rmsprop+p", "adam"]
    assert list(parsed.paths) == [(label, 0) for label in labels]
    for key, (status, iterations) in parsed.paths.items():
        rows = parsed.rows[key]
        assert 100 <= len(rows) <= 201
        assert min(rows) == 0 and max(rows) == iterations
        assert status in ("max_iter", "converged", "diverged")


# --- the command, on a copy of a lecture config and its snapshot ------------


@pytest.fixture
def copied(tmp_path):
    """(config, snapshots folder): a lecture config and its snapshot, copied."""
    config = tmp_path / f"{COPIED}.yaml"
    shutil.copy(LECTURE / config.name, config)
    shutil.copytree(SNAPSHOTS / COPIED, tmp_path / "snapshots" / COPIED)
    return config, tmp_path / "snapshots"


def change_lr(config, label, lr):
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    (entry,) = [o for o in data["optimizers"] if o["label"] == label]
    entry["lr"] = lr
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def snapshot_files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_unchanged_copy_passes(copied, capsys):
    config, snapshots = copied
    code, out, err = call(capsys, "snapshot", config, "--dir", snapshots)
    assert (code, err) == (0, "")
    assert out == f"{snapshots / COPIED}: ok\n"


def test_a_changed_hyperparameter_fails_naming_the_optimizer(copied, capsys):
    config, snapshots = copied
    folder = snapshots / COPIED
    before = snapshot_files(folder)
    change_lr(config, "gd+p", 1e-5)  # was 5e-6

    code, out, err = call(capsys, "snapshot", config, "--dir", snapshots)

    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[-1] == (
        "optviz: error: 1 of 1 snapshot differs (if that is intended, run again "
        "with --update)"
    )
    report = lines[:-1]
    text = f"{folder / 'trajectories.txt'}: "
    for column in ("x", "y", "loss"):
        assert any(
            line.startswith(f"{text}gd+p start 0: {column} at iteration ")
            for line in report
        ), err
    assert not any(line.startswith(f"{text}gd start 0") for line in report), err
    # the middle and last frames differ (RMS 1.8 and 2.3), the first does not;
    # each line names the new frame and the diff image it wrote
    assert not any(line.startswith(f"{folder}/frame-first.png") for line in report)
    for which in ("middle", "last"):
        failed = folder / f"frame-{which}.failed.png"
        diff = folder / f"frame-{which}.diff.png"
        (line,) = [x for x in report if x.startswith(f"{folder}/frame-{which}.png: ")]
        assert line.endswith(f"; see {failed} and {diff}")
        new = snapshot.load_png(failed)
        old = snapshot.load_png(folder / f"frame-{which}.png")
        assert new.shape == old.shape == (270, 360, 3)
        assert snapshot.rms(old, new) > snapshot.DEFAULT_IMAGE_TOL
        assert snapshot.load_png(diff).shape == new.shape
    # the snapshot itself is untouched
    now = snapshot_files(folder)
    assert {name: now[name] for name in before} == before


def test_update_accepts_a_change_and_then_it_passes(copied, capsys):
    config, snapshots = copied
    folder = snapshots / COPIED
    change_lr(config, "gd+p", 1e-5)
    assert call(capsys, "snapshot", config, "--dir", snapshots)[0] == 1
    old_text = (folder / "trajectories.txt").read_text(encoding="utf-8")

    code, out, err = call(capsys, "snapshot", config, "--dir", snapshots, "--update")
    assert (code, err) == (0, "")
    # what differed is rewritten; the first frame, the same, is not
    assert out == (
        f"{folder}: wrote trajectories.txt, frame-middle.png, frame-last.png\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == FILES  # no leftovers
    new_text = (folder / "trajectories.txt").read_text(encoding="utf-8")
    assert new_text != old_text

    code, out, err = call(capsys, "snapshot", config, "--dir", snapshots)
    assert (code, out, err) == (0, f"{folder}: ok\n", "")


def test_a_missing_snapshot_fails_and_says_how_to_write_it(tmp_path, capsys):
    config = tmp_path / f"{COPIED}.yaml"
    shutil.copy(LECTURE / config.name, config)
    code, out, err = call(capsys, "snapshot", config, "--dir", tmp_path / "none")
    assert (code, out) == (1, "")
    first, last = err.splitlines()
    assert first == (
        f"{tmp_path / 'none' / COPIED}: no snapshot here; run "
        "`optviz snapshot --update` to write it"
    )
    assert last.startswith("optviz: error: 1 of 1 snapshot differs")
    assert not (tmp_path / "none").exists()  # checking never writes a snapshot


def test_a_missing_frame_is_a_difference(copied, capsys):
    config, snapshots = copied
    (snapshots / COPIED / "frame-middle.png").unlink()
    code, _, err = call(capsys, "snapshot", config, "--dir", snapshots)
    assert code == 1
    assert f"{snapshots / COPIED / 'frame-middle.png'}: missing; run " in err


def test_two_configs_with_one_name_are_refused(tmp_path, capsys):
    one, two = tmp_path / "a" / "x.yaml", tmp_path / "b" / "x.yaml"
    for path in (one, two):
        path.parent.mkdir()
        shutil.copy(LECTURE / "1gd.yaml", path)
    code, out, err = call(capsys, "snapshot", one, two, "--dir", tmp_path / "s")
    assert (code, out) == (2, "")
    assert err.startswith(f"optviz: error: {two}: its snapshot would be ")
    assert err.count("\n") == 1


def test_a_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("surface: beale\noptimizers: [{method: adamm, lr: 1}]\n")
    code, out, err = call(capsys, "snapshot", bad, "--dir", tmp_path / "s")
    assert (code, out) == (2, "")
    assert err.startswith(f"optviz: error: {bad}: optimizers[0].method: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "option, value",
    [("--rtol", "-1"), ("--image-tol", "x"), ("--scale", "0")],
    ids=["negative-rtol", "text-image-tol", "zero-scale"],
)
def test_bad_options_are_usage_errors(tmp_path, capsys, option, value):
    config = LECTURE / "1gd.yaml"
    code, _, err = call(capsys, "snapshot", config, "--dir", tmp_path, option, value)
    assert code == 2
    assert f"Invalid value for '{option}'" in err


def test_help_has_examples_and_the_librarys_defaults():
    result = CliRunner().invoke(cli, ["snapshot", "--help"], prog_name="optviz")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: optviz snapshot ")
    assert "optviz snapshot configs/lecture/*.yaml --dir tests/snapshots" in (
        result.output
    )
    text = " ".join(result.output.split("Options:")[1].split())
    for option, value in [
        ("--rtol", snapshot.DEFAULT_RTOL),
        ("--atol", snapshot.DEFAULT_ATOL),
        ("--image-tol", snapshot.DEFAULT_IMAGE_TOL),
        ("--scale", snapshot.SCALE),
    ]:
        shown = re.search(rf"{option} \S+ .*?\(default ([0-9.e-]+)[;)]", text)
        assert shown and float(shown.group(1)) == value, option


# --- the library: determinism and what counts as a difference ----------------


def test_two_runs_give_identical_snapshots(small):
    again = snapshot.take(small_config())
    assert again.text == small.text
    assert again.frame_iterations == small.frame_iterations
    for which in snapshot.FRAMES:
        assert np.array_equal(again.frames[which], small.frames[which])


def test_written_snapshot_reads_back_without_differences(small, tmp_path):
    written = snapshot.write(small, tmp_path)
    assert sorted(p.name for p in written) == FILES
    assert snapshot.compare(small, tmp_path, rtol=0, atol=0, image_tol=0) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == FILES


def test_frames_are_the_videos_first_middle_and_last(small):
    # 300 iterations over 40 frames: the schedule's frames 0, 20 and 39
    from optviz.draw.schedules import frame_iterations

    schedule = frame_iterations(300, 40)
    assert small.frame_iterations == (0, int(schedule[20]), 300)
    header = snapshot.parse(small.text).header
    assert header["frame iterations"] == (f"first 0, middle {schedule[20]}, last 300")
    assert header["frames drawn at"].startswith("360x270 pixels at dpi 45 ")
    for image in small.frames.values():
        assert image.shape == (270, 360, 3) and image.dtype == np.uint8
    assert not np.array_equal(small.frames["first"], small.frames["last"])


def replace_number(text, label, iteration, column, factor):
    """``text`` with one number of one row multiplied by ``factor``."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        row = line[:1] != "#" and len(fields) == 6
        if row and fields[0] == label and fields[2] == str(iteration):
            i = 3 + snapshot.COLUMNS.index(column)
            fields[i] = repr(float(fields[i]) * factor)
            line = " ".join(fields)
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    "factor, differs",
    [(1 + 1e-8, False), (1 + 5e-7, False), (1 + 2e-6, True), (0.9, True)],
    ids=["1e-8", "5e-7", "2e-6", "-10%"],
)
def test_numbers_differ_beyond_the_relative_tolerance(small, factor, differs):
    changed = replace_number(small.text, "adam", 200, "y", factor)
    assert changed != small.text
    found = snapshot.compare_text(small.text, changed, Path("t.txt"), rtol=1e-6, atol=0)
    if not differs:
        assert found == []
        return
    (d,) = found
    assert d.what == "adam start 0: y at iteration 200"
    assert float(d.got) == pytest.approx(float(d.expected) * factor, rel=1e-9)
    assert str(d).startswith("t.txt: adam start 0: y at iteration 200: expected ")


def test_the_absolute_tolerance_covers_numbers_near_zero():
    text = small_text_with_a_row("gd 0 0 1e-12 2 3")
    near = small_text_with_a_row("gd 0 0 -1e-12 2 3")
    assert snapshot.compare_text(text, near, Path("t"), rtol=1e-6, atol=1e-9) == []
    (d,) = snapshot.compare_text(text, near, Path("t"), rtol=1e-6, atol=0)
    assert d.what == "gd start 0: x at iteration 0"


def small_text_with_a_row(row):
    return (
        "# rows: every iteration and each path's last\n"
        "# optimizer start status iterations\ngd 0 max_iter 0\n"
        f"# optimizer start iteration x y loss\n{row}\n"
    )


def test_a_changed_status_or_iteration_count_always_differs(small):
    lines = small.text.splitlines()
    i = lines.index("adam 0 max_iter 300")
    for changed_line, what in [
        ("adam 0 converged 300", "adam start 0: status"),
        ("adam 0 max_iter 299", "adam start 0: iterations"),
    ]:
        changed = "\n".join([*lines[:i], changed_line, *lines[i + 1 :]]) + "\n"
        found = snapshot.compare_text(
            small.text, changed, Path("t"), rtol=np.inf, atol=np.inf
        )
        assert [d.what for d in found] == [what]


def test_an_optimizer_added_or_removed_is_a_difference(small):
    fewer = "\n".join(
        line for line in small.text.splitlines() if not line.startswith("adam ")
    )
    found = snapshot.compare_text(small.text, fewer, Path("t"), rtol=0, atol=0)
    assert [(d.what, d.expected) for d in found] == [("adam start 0", "a path")]
    found = snapshot.compare_text(fewer, small.text, Path("t"), rtol=0, atol=0)
    assert [(d.what, d.expected) for d in found] == [("adam start 0", "none")]


def test_a_change_to_the_video_settings_is_a_difference():
    config = small_config()
    slower = dataclasses.replace(
        config, animation=dataclasses.replace(config.animation, fps=24)
    )
    a = snapshot.take(config).text
    b = snapshot.take(slower).text
    (d,) = snapshot.compare_text(a, b, Path("t"), rtol=0, atol=0)
    assert d.what == "video" and "30 fps" in d.expected and "24 fps" in d.got


def test_labels_with_spaces_and_quotes_round_trip():
    config = small_config(
        optimizers=[
            {"label": 'my "gd" 1', "method": "gd", "lr": 1e-3},
            {"label": "adam", "method": "adam", "lr": 0.1},
        ],
        iterations=20,
    )
    text = snapshot.take(config).text
    assert '"my \\"gd\\" 1" 0 max_iter 20' in text.splitlines()
    parsed = snapshot.parse(text)
    assert set(parsed.paths) == {('my "gd" 1', 0), ("adam", 0)}
    assert len(parsed.rows['my "gd" 1', 0]) == 21


def test_an_unreadable_snapshot_is_a_difference_not_a_crash(small, tmp_path):
    snapshot.write(small, tmp_path)
    (tmp_path / "trajectories.txt").write_text("just some text\n")
    (tmp_path / "frame-last.png").write_bytes(b"not a png")
    found = snapshot.compare(small, tmp_path)
    assert [d.file.name for d in found] == ["trajectories.txt", "frame-last.png"]
    assert all("--update" in d.what for d in found)


@pytest.mark.parametrize(
    "count, by, differs",
    [(1, 255, False), (2, 255, True), (200, 20, False), (300, 255, True)],
    ids=["1-pixel-inverted", "2-pixels-inverted", "200-pixels-by-20", "300-inverted"],
)
def test_frames_differ_beyond_the_rms_tolerance(small, tmp_path, count, by, differs):
    # RMS over the 360 × 270 pixels: 255·√(1/97200) = 0.82 for one pixel turned
    # from white to black, 1.16 for two, 20·√(200/97200) = 0.91 for 200 pixels a
    # shade darker; the tolerance is 1.
    snapshot.write(small, tmp_path)
    old = small.frames["last"]
    new = old.copy()
    flat = new.reshape(-1, 3)
    assert np.all(flat[:count] == 255)  # the top row: white margin
    flat[:count] -= by
    found = snapshot.compare_frame(tmp_path / "frame-last.png", new, 300, image_tol=1)
    failed, diff = tmp_path / "frame-last.failed.png", tmp_path / "frame-last.diff.png"
    if not differs:
        assert found == [] and not failed.exists() and not diff.exists()
        return
    (d,) = found
    assert d.see == (failed, diff)
    assert float(d.got) == pytest.approx(snapshot.rms(old, new), abs=0.01)
    assert float(d.got) > 1
    assert np.array_equal(snapshot.load_png(failed), new)
    # magenta exactly where the pixels changed, a pale grey picture elsewhere
    highlight = snapshot.load_png(diff).reshape(-1, 3)
    magenta = np.all(highlight == (255, 0, 255), axis=-1)
    assert np.array_equal(magenta, np.arange(len(flat)) < count)
    assert highlight[~magenta].min() >= 191  # 255 − 255 / 4


def test_a_frame_of_another_size_is_a_difference(small, tmp_path):
    snapshot.write(small, tmp_path)
    bigger = np.zeros((300, 400, 3), dtype=np.uint8)
    (d,) = snapshot.compare_frame(
        tmp_path / "frame-first.png", bigger, 0, image_tol=0.5
    )
    assert (d.expected, d.got) == ("360x270 pixels", "400x300 pixels")


def test_update_writes_only_what_differs(tmp_path):
    config = small_config()
    first = snapshot.check(config, tmp_path, update=True)
    assert first.ok and [p.name for p in first.written] == [
        "trajectories.txt",
        "frame-first.png",
        "frame-middle.png",
        "frame-last.png",
    ]
    again = snapshot.check(config, tmp_path, update=True)
    assert again.ok and again.written == () and again.differences == ()


@pytest.mark.parametrize(
    "iterations, every",
    [(1, 1), (100, 1), (101, 2), (300, 5), (1000, 10), (10_000, 100), (25_000, 500)],
)
def test_stride_keeps_at_most_100_rows_at_a_round_step(iterations, every):
    assert snapshot.stride(iterations) == every
    assert iterations / every <= 100
