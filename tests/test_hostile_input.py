"""Hostile input where it enters: files the config names, huge values, alias
bombs, text matplotlib cannot draw. Each ends in one line naming the file and
key, exit 2, without echoing more than a few dozen characters of what was
given, and what ``validate`` accepts, ``run`` draws."""

import os
import time
from pathlib import Path

import pytest

from optviz.cli import main
from optviz.validate import MAX_FILE_BYTES, MAX_VALUES, expanded_size, show

GD = "optimizers: [{method: gd, lr: 0.1}]\n"


def validate(capsys, path):
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert err.startswith("optviz: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return err


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config(folder, text, name="c.yaml"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- files named by a config --------------------------------------------------


def test_a_surface_file_that_does_not_exist_is_named_with_its_key(folder, capsys):
    path = config(folder, "surface: ../no/such.yaml\n" + GD)
    code, _, err = validate(capsys, path)
    assert code == 2
    assert one_line_error(err) == (
        f"optviz: error: {path}: surface: cannot read '../no/such.yaml': "
        "No such file or directory\n"
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_before_it_is_read(folder, capsys, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    start = time.perf_counter()
    code, _, err = validate(capsys, config(folder, f"surface: {device}\n" + GD))
    assert time.perf_counter() - start < 5  # /dev/zero is never read
    assert code == 2
    assert "surface: cannot read" in one_line_error(err)
    assert "not a regular file" in err


def test_a_fifo_is_refused_and_does_not_hang(folder, capsys):
    os.mkfifo(folder / "pipe.yaml")  # opening it for reading would block
    code, _, err = validate(capsys, config(folder, "surface: pipe.yaml\n" + GD))
    assert code == 2 and "not a regular file" in one_line_error(err)


def test_a_folder_is_refused(folder, capsys):
    (folder / "dir.yaml").mkdir()
    code, _, err = validate(capsys, config(folder, "surface: dir.yaml\n" + GD))
    assert code == 2 and "it is a folder" in one_line_error(err)


def test_a_file_too_large_to_be_a_surface_is_refused_unread(folder, capsys):
    big = folder / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    code, _, err = validate(capsys, config(folder, "surface: big.yaml\n" + GD))
    assert code == 2
    assert f"{MAX_FILE_BYTES + 1:,} bytes" in one_line_error(err)


SECRET = "root:$6$saltsalt$averysecrethash:20228:0:99999:7:::"


@pytest.mark.parametrize(
    "content",
    [SECRET + "\n", f"{SECRET}\ndaemon:*:20228:0:99999:7:::\n", f"- {SECRET}\n"],
    ids=["one-line", "two-lines", "a-list"],
)
def test_a_file_that_is_not_a_surface_is_not_echoed(folder, capsys, content):
    (folder / "shadow").write_text(content)
    code, _, err = validate(capsys, config(folder, "surface: ./shadow\n" + GD))
    assert code == 2
    assert "not a surface file" in one_line_error(err)
    assert "averysecrethash" not in err and "daemon" not in err


def test_a_surface_file_with_a_formula_still_gets_its_detailed_errors(folder, capsys):
    (folder / "s.yaml").write_text("formula: x^2\ndomian: 1\n")
    code, _, err = validate(capsys, config(folder, "surface: s.yaml\n" + GD))
    assert code == 2 and "unknown key 'domian'" in one_line_error(err)


# --- values echoed in errors --------------------------------------------------


def test_a_megabyte_value_is_echoed_in_a_few_dozen_characters(folder, capsys):
    huge = "a" * 1_000_000
    path = config(folder, f"iterations: {huge}\nsurface: beale\n" + GD)
    code, _, err = validate(capsys, path)
    assert code == 2
    one_line_error(err)
    assert len(err) < 200 and "(1,000,000 characters)" in err


def test_a_long_unknown_key_is_shortened_in_the_path_and_the_message(folder, capsys):
    key = "k" * 10_000
    code, _, err = validate(capsys, config(folder, f"{key}: 1\nsurface: beale\n" + GD))
    assert code == 2
    assert len(one_line_error(err)) < 400


def test_show_never_builds_the_whole_repr():
    nested: list = [0] * 10
    for _ in range(30):  # 10^30 leaves if expanded: a repr would never end
        nested = [nested] * 10
    text = show(nested)  # returns at all: the full repr would never end
    assert len(text) <= 80 and text.endswith("...")


# --- alias bombs --------------------------------------------------------------


def bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["1"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join("    " + line for line in lines)


def test_a_yaml_alias_bomb_is_refused_before_anything_is_built(folder, capsys):
    text = (
        "surface:\n  formula: x^2 + y^2\n  domain: {x: [-1, 1], y: [-1, 1]}\n"
        f"  bomb:\n{bomb(9, 9)}\n" + GD
    )
    start = time.perf_counter()
    code, _, err = validate(capsys, config(folder, text))
    assert time.perf_counter() - start < 5
    assert code == 2
    assert f"expand to more than {MAX_VALUES:,} values" in one_line_error(err)


def test_aliases_that_expand_modestly_are_fine(folder, capsys):
    text = (
        "surface: beale\n"
        "optimizers: [{method: gd, lr: &lr 0.1}, {method: momentum, lr: *lr, "
        "momentum: 0.9}]\n"
    )
    code, out, _ = validate(capsys, config(folder, text))
    assert code == 0 and "ok" in out


def test_expanded_size_counts_shared_nodes_each_time():
    import yaml

    node = yaml.compose("a: &x [1, 2]\nb: [*x, *x]\n")
    # mapping 1 + keys 2 + [1, 2] (3) + [*x, *x] (1 + 3 + 3)
    assert expanded_size(node) == 1 + 2 + 3 + 7


# --- text the figure draws ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("title: '$\\frac{$'\n", "title"),
        ("title: '$x^$'\n", "title"),
        ("optimizers: [{method: gd, lr: 0.1, label: '$\\sqrt{$'}]\n", "label"),
    ],
    ids=["frac", "superscript", "label"],
)
def test_mathtext_that_cannot_be_drawn_is_refused_at_validate(
    folder, capsys, text, key
):
    body = text + "surface: beale\n" + ("" if "optimizers" in text else GD)
    code, _, err = validate(capsys, config(folder, body))
    assert code == 2
    assert f"{key}: " in one_line_error(err)
    assert "not mathtext matplotlib can draw" in err and "\\$" in err


def test_text_that_validate_accepts_is_drawn_by_run(folder, capsys):
    body = (
        "title: 'cost of $\\alpha$ and \\$5'\nsurface: beale\niterations: 20\n"
        "optimizers: [{method: gd, lr: 1.0e-4, label: '$\\epsilon$ small'}]\n"
    )
    path = config(folder, body)
    assert validate(capsys, path)[0] == 0
    code = main(["run", str(path), "--no-video", "--still", "-q", "-o", "out"])
    capsys.readouterr()
    assert code == 0 and (folder / "out" / "c.png").stat().st_size > 1000


def test_a_title_longer_than_a_frame_holds_is_refused(folder, capsys):
    path = config(folder, f"title: {'word ' * 100}\nsurface: beale\n" + GD)
    code, _, err = validate(capsys, path)
    assert code == 2 and "title: must be at most 200 characters" in one_line_error(err)


# --- names handed to ffmpeg ---------------------------------------------------


@pytest.mark.render
@pytest.mark.parametrize("name", ["-y", "-f null", "-0"])
def test_an_output_named_like_an_ffmpeg_option_is_written_as_a_file(
    folder, capsys, name
):
    """ffmpeg read ``-0/.c.mp4.part`` as an option (exit 8, 'Unrecognized
    option'); every path it is handed is absolute now."""
    body = (
        f"surface: beale\niterations: 30\noutput: '{name}'\n" + GD + "animation: "
        "{frames: 12, fps: 12, hold: 0, size: [96, 72], formats: [mp4, gif]}\n"
    )
    code = main(["run", str(config(folder, body)), "-q", "-j", "1"])
    _, err = capsys.readouterr()
    assert code == 0, err
    made = sorted(p.name for p in (folder / name).iterdir())
    assert made == ["c.gif", "c.mp4", "trajectories.csv"]
    assert (folder / name / "c.mp4").read_bytes()[4:8] == b"ftyp"
    assert (folder / name / "c.gif").read_bytes()[:6] == b"GIF89a"


# --- temporary files ----------------------------------------------------------


def test_temporary_names_are_unique_per_process(tmp_path):
    import subprocess
    import sys

    from optviz.output.files import partial_name

    child = subprocess.run(
        [sys.executable, "-c", "from pathlib import Path; from optviz.output.files"
         " import partial_name; print(partial_name(Path('v.mp4')))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ours = partial_name(Path("v.mp4"))
    assert ours.name.startswith(".v.mp4.") and ours.name.endswith(".part")
    assert child.stdout.strip() != str(ours)


SMALL = (
    "surface: beale\niterations: 30\n" + GD + "animation: "
    "{frames: 12, fps: 12, hold: 0, size: [96, 72], formats: [mp4, gif]}\n"
)


@pytest.mark.render
def test_a_killed_renders_temporary_files_are_swept_whatever_their_names(
    folder, capsys
):
    out = folder / "out"
    out.mkdir()
    dead = [out / ".other.mp4.99999999.part", out / ".trajectories.csv.99999999.part"]
    live = out / f".other.gif.{os.getppid()}.part"  # a render at work: kept
    unrelated = out / ".notes.part"  # not optviz's name: kept
    for path in (*dead, live, unrelated):
        path.write_bytes(b"half")
    code = main(["run", str(config(folder, SMALL)), "-q", "-j", "1", "-o", "out"])
    capsys.readouterr()
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["c.mp4", "c.gif", "trajectories.csv", live.name, unrelated.name]
    )


@pytest.mark.render
def test_two_renders_of_one_video_into_one_folder_both_install_whole_files(folder):
    import subprocess
    import sys

    import imageio.v3 as iio

    path = config(folder, SMALL)
    command = [sys.executable, "-m", "optviz", "run", str(path), "-q", "-j", "1",
               "-o", "out"]  # fmt: skip
    runs = [subprocess.Popen(command, cwd=folder, stderr=subprocess.PIPE)
            for _ in range(2)]  # fmt: skip
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    frames = iio.imread(folder / "out" / "c.mp4", plugin="FFMPEG", index=None)
    assert len(frames) == 12
    assert not list((folder / "out").glob(".*.part"))
