"""Stories: several configs as one chaptered MP4 (``optviz.story``).

The chapters of a written story are read back with the bundled ffmpeg's own
report (``ffmpeg -i``: its "Chapter #0:k: start …, end …" lines), not with
the code that wrote them, and compared with the frame schedule worked out
here from the configs: each chapter's card (``card_seconds`` × fps frames),
then its video's frames (motion and hold).
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from optviz import config as config_module
from optviz import story
from optviz.cli import main
from optviz.errors import ConfigError, RenderError
from optviz.output import chapters
from optviz.output.encode import ffmpeg_exe

SIZE = (120, 90)
FPS = 10


def write_config(folder, name, labels=("gd",), **animation):
    """A tiny config: ``labels`` of gd and momentum on Beale, 40 iterations."""
    methods = {
        "gd": {"method": "gd", "lr": 4.0e-5},
        "gd+p": {"method": "momentum", "lr": 5.0e-6, "momentum": 0.9},
        "adam": {"method": "adam", "lr": 0.3},
    }
    data = {
        "surface": "beale",
        "starts": [[-3, 3]],
        "iterations": 40,
        "optimizers": [{"label": k, **methods[k]} for k in labels],
        "animation": {
            "frames": 8,
            "fps": FPS,
            "hold": 0.3,
            "size": list(SIZE),
            "formats": ["mp4"],
            **animation,
        },
    }
    path = Path(folder) / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_story(folder, entries, name="tale", **top):
    data = {**top, "story": entries}
    path = Path(folder) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def three_chapters(folder):
    """A story of three tiny chapters; the last has a card of its own."""
    write_config(folder / "configs", "one", ("gd",))
    write_config(folder / "configs", "two", ("gd", "gd+p"), hold=0.5)
    write_config(folder / "configs", "three", ("gd", "gd+p", "adam"), frames=12)
    return write_story(
        folder,
        [
            {"config": "configs/one.yaml", "title": "Plain"},
            {"config": "configs/two.yaml", "title": "Momentum: α = 0.9"},
            {"config": "configs/three.yaml", "title": "Adam", "card_seconds": 0.5},
        ],
        title="A tiny story",
        card_seconds=1,
    )


def call(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def ffmpeg_says(path: Path) -> str:
    """What ``ffmpeg -i path`` prints about the file (it exits 1: no output)."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def reported_chapters(path: Path) -> list[tuple[str, float, float]]:
    """(title, start, end) of each chapter ffmpeg reports."""
    text = ffmpeg_says(path)
    found = re.findall(
        r"Chapter #0:\d+: start ([\d.]+), end ([\d.]+)\s*\n\s*Metadata:\s*\n"
        r"\s*title\s*: ([^\n]*)",
        text,
    )
    return [(title, float(s), float(e)) for s, e, title in found]


def decoded(path: Path, size=SIZE) -> np.ndarray:
    """Every frame of the video, decoded to RGB: (frames, height, width, 3)."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    w, h = size
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


# --- the chapters ------------------------------------------------------------


@pytest.mark.render
def test_a_story_mp4_has_the_chapters_ffmpeg_reports(tmp_path, capsys):
    path = three_chapters(tmp_path)
    code, out, err = call(capsys, "run", path, "-o", tmp_path / "out")
    assert code == 0, err
    video = tmp_path / "out" / "tale.mp4"
    configs = tmp_path / "configs"
    assert out.strip().splitlines() == [
        "tale (story, 3 chapters):",
        f"  1.    0.00 s to    2.10 s  Plain  ({configs}/one.yaml)",
        f"  2.    2.10 s to    4.40 s  Momentum: α = 0.9  ({configs}/two.yaml)",
        f"  3.    4.40 s to    6.40 s  Adam  ({configs}/three.yaml)",
        f"wrote {video}",
    ]
    assert "tale: rendering 3 chapters" in err  # the progress bar
    # cards: 1 s, 1 s, 0.5 s; videos: 8 + 3 (hold 0.3 s), 8 + 5, 12 + 3 frames
    frames = [10 + 11, 10 + 13, 5 + 15]
    ends = np.cumsum(frames) / FPS
    starts = np.concatenate([[0], ends[:-1]])
    found = reported_chapters(video)
    assert [t for t, _, _ in found] == ["Plain", "Momentum: α = 0.9", "Adam"]
    for (_, s, e), want_s, want_e in zip(found, starts, ends):
        assert abs(s - want_s) < 1 / FPS and abs(e - want_e) < 1 / FPS
    assert len(decoded(video)) == sum(frames)
    assert "title           : A tiny story" in ffmpeg_says(video)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tale.mp4"]


@pytest.mark.render
def test_a_player_lists_the_chapters_with_their_titles_and_times(tmp_path, mpv):
    """What the README says mpv does with them: its chapter list is the
    story's, each chapter at its card's first frame."""
    path = three_chapters(tmp_path)
    assert main(["run", str(path), "-o", str(tmp_path / "out"), "-q"]) == 0
    video = tmp_path / "out" / "tale.mp4"
    count = mpv(video, "${chapter-list/count}")
    assert count == "3"
    titles = [mpv(video, f"${{chapter-list/{i}/title}}") for i in range(3)]
    assert titles == ["Plain", "Momentum: α = 0.9", "Adam"]
    times = [float(mpv(video, f"${{=chapter-list/{i}/time}}")) for i in range(3)]
    starts = np.concatenate([[0], np.cumsum([10 + 11, 10 + 13]) / FPS])
    np.testing.assert_allclose(times, starts, atol=1 / FPS)


@pytest.mark.render
def test_each_chapter_is_its_config_alone_after_its_card(tmp_path, capsys):
    path = three_chapters(tmp_path)
    assert call(capsys, "run", path, "-o", tmp_path / "out", "-q")[0] == 0
    frames = decoded(tmp_path / "out" / "tale.mp4")
    at = 0
    for stem, card in (("one", 10), ("two", 10), ("three", 5)):
        config = tmp_path / "configs" / f"{stem}.yaml"
        assert call(capsys, "run", config, "-o", tmp_path / stem, "-q")[0] == 0
        alone = decoded(tmp_path / stem / f"{stem}.mp4")
        cards, video = (
            frames[at : at + card],
            frames[at + card : at + card + len(alone)],
        )
        # the same frames as the config renders alone (joined, not re-encoded)
        assert np.array_equal(video, alone), stem
        # the card: one picture held (as H.264 keeps it: within a few levels),
        # not the chapter's first frame
        drift = [np.abs(c.astype(int) - cards[0]).mean() for c in cards]
        away = np.abs(cards[0].astype(int) - alone[0]).mean()
        assert max(drift) < 0.2 and away > 1.5, (drift, away)
        # ... and the chapter's first frame around the box, which is in the
        # middle: the top rows are the frame's (as H.264 keeps it), the
        # middle ones are not
        rows = np.abs(cards[0].astype(int) - alone[0]).mean(axis=(1, 2))
        top, middle = rows[:12].mean(), rows[40:50].mean()
        assert top < 2 < 5 < middle, (top, middle)
        at += card + len(alone)
    assert at == len(frames)


@pytest.mark.render
def test_a_broken_join_leaves_nothing_behind(tmp_path, monkeypatch):
    path = three_chapters(tmp_path)
    monkeypatch.setattr(chapters, "problem", lambda *a: "its chapters read back wrong")
    out = tmp_path / "out"
    # what a story killed outright left, and one that still runs (ours)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / f".tale.{dead.pid}.story").mkdir(parents=True)
    (out / f".tale.{dead.pid}.story" / "000-card.mp4").write_bytes(b"x")
    running = out / ".tale.1.story"  # pid 1 runs
    running.mkdir()
    with pytest.raises(RenderError, match=r"broken tale\.mp4: its chapters read back"):
        story.render(story.load(path), out)
    # no video, no part, no work folder, and the dead story's swept
    assert list(out.iterdir()) == [running]


def test_metadata_escapes_what_ffmetadata_reserves():
    marks = chapters.marks(["a=b; #c \\ d", "two"], [3, 4])
    text = chapters.metadata(marks, 30, title="t=1")
    assert "title=a\\=b\\; \\#c \\\\ d" in text and "title=t\\=1" in text
    assert "TIMEBASE=1/30\nSTART=3\nEND=7" in text
    read = chapters.parse_metadata(text)
    assert [(r.title, r.start, r.end) for r in read] == [
        ("a=b; #c \\ d", 0.0, 0.1),
        ("two", 0.1, pytest.approx(7 / 30)),
    ]


def test_a_frame_rate_like_29_97_counts_whole_frames():
    text = chapters.metadata(chapters.marks(["a"], [300]), 30000 / 1001)
    assert "TIMEBASE=1001/30000\nSTART=0\nEND=300300" in text


def test_the_schedule_counts_each_card_then_each_video(tmp_path):
    s = story.load(three_chapters(tmp_path))
    assert story.schedule(s) == [
        ("Plain", 0, 21),
        ("Momentum: α = 0.9", 21, 44),
        ("Adam", 44, 64),
    ]
    assert s.total_frames == 64 and s.size == SIZE and s.fps == FPS
    assert story.card_lines(s, 1) == [
        "A tiny story",
        "Chapter 2 of 3",
        "Momentum: α = 0.9",
        "gd, gd+p",
    ]


def test_a_chapter_title_defaults_to_its_configs_title_else_its_name(tmp_path):
    write_config(tmp_path, "plain")
    titled = write_config(tmp_path, "titled")
    data = yaml.safe_load(titled.read_text())
    titled.write_text(yaml.safe_dump({"title": "Beale, opt 2", **data}))
    s = story.load(write_story(tmp_path, [{"config": "plain.yaml"},
                                          {"config": "titled.yaml"}]))  # fmt: skip
    assert [c.title for c in s.chapters] == ["plain", "Beale, opt 2"]
    assert [c.card_seconds for c in s.chapters] == [story.CARD_SECONDS] * 2
    assert s.output == Path("out") / "tale"


# --- bad stories: one line, exit 2, nothing written ----------------------------


def bad(tmp_path, capsys, path, *extra):
    out = tmp_path / "out"
    code, _, err = call(capsys, "run", path, "-o", out, *extra)
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1, err
    assert not out.exists()
    return line


def test_a_missing_config_names_the_story_the_chapter_and_the_file(tmp_path, capsys):
    write_config(tmp_path, "one")
    path = write_story(tmp_path, [{"config": "one.yaml"}, {"config": "gone.yaml"}])
    line = bad(tmp_path, capsys, path)
    assert line.startswith(f"optviz: error: {path}: story[1].config: ")
    assert "gone.yaml: cannot read the file: No such file or directory" in line


def test_a_bad_chapter_config_gives_its_own_error_inside(tmp_path, capsys):
    write_config(tmp_path, "one")
    broken = write_config(tmp_path, "broken")
    data = yaml.safe_load(broken.read_text())
    data["optimizers"][0]["method"] = "adamm"
    broken.write_text(yaml.safe_dump(data))
    path = write_story(tmp_path, [{"config": "one.yaml"}, {"config": "broken.yaml"}])
    line = bad(tmp_path, capsys, path)
    assert f"{path}: story[1].config: {broken}: optimizers[0].method: " in line
    assert "'adamm' is not a valid value" in line and "did you mean 'adam'?" in line


def test_chapters_of_another_size_or_rate_are_refused(tmp_path, capsys):
    write_config(tmp_path, "one")
    write_config(tmp_path, "big", size=[160, 120])
    write_config(tmp_path, "fast", fps=20)
    for name, said in (
        ("big", "is 160×120 at 10 fps"),
        ("fast", "is 120×90 at 20 fps"),
    ):
        path = write_story(
            tmp_path, [{"config": "one.yaml"}, {"config": f"{name}.yaml"}]
        )
        line = bad(tmp_path, capsys, path)
        assert f"story[1].config: {said}, but story[0] is 120×90 at 10 fps" in line
        assert "same animation.size and animation.fps" in line


@pytest.mark.parametrize(
    "entries, top, path, said",
    [
        ([{"config": "one.yaml", "titel": "x"}], {}, "story[0].titel",
         "unknown key 'titel'; allowed keys are 'config', 'title', 'card_seconds'; "
         "did you mean 'title'?"),
        ([{"config": "one.yaml"}], {"card_second": 1}, "card_second",
         "did you mean 'card_seconds'?"),
        ([{"title": "x"}], {}, "story[0]", "missing required key 'config'"),
        ([], {}, "story", "needs at least one chapter"),
        ("one.yaml", {}, "story", "must be a list of chapters"),
        ([{"config": "one.yaml", "card_seconds": 61}], {}, "story[0].card_seconds",
         "60"),
        ([{"config": "one.yaml"}], {"card_seconds": -1}, "card_seconds",
         "must be between 0 and 60; got -1"),
        ([{"config": 3}], {}, "story[0].config", "must be a config file's path"),
        ([{"config": "tale.yaml"}], {}, "story[0].config", "is a story"),
    ],
    ids=["chapter-typo", "top-typo", "no-config", "empty", "not-a-list",
         "card-too-long", "card-negative", "config-not-text", "nested"],
)  # fmt: skip
def test_bad_story_keys(tmp_path, capsys, entries, top, path, said):
    write_config(tmp_path, "one")
    story_path = write_story(tmp_path, entries, **top)
    line = bad(tmp_path, capsys, story_path)
    assert f"{story_path}: {path}: " in line, line
    assert said in line, line


def test_a_sweep_is_no_chapter(tmp_path, capsys):
    sweep = write_config(tmp_path, "sweep")
    data = yaml.safe_load(sweep.read_text())
    data["sweep"] = {"optimizer": "gd", "lr": [1.0e-5, 4.0e-5]}
    sweep.write_text(yaml.safe_dump(data))
    line = bad(tmp_path, capsys, write_story(tmp_path, [{"config": "sweep.yaml"}]))
    assert "story[0].config: sweep.yaml is a sweep" in line


@pytest.mark.parametrize("option", ["--still", "--no-video", "--html", "--frame"])
def test_options_for_configs_are_refused_for_a_story(tmp_path, capsys, option):
    write_config(tmp_path, "one")
    path = write_story(tmp_path, [{"config": "one.yaml"}])
    line = bad(tmp_path, capsys, path, option, *(["0"] if option == "--frame" else []))
    assert (
        f"is a story, which writes one chaptered MP4; {option} is for configs" in line
    )


def test_a_story_loaded_as_a_config_says_what_it_is(tmp_path):
    write_config(tmp_path, "one")
    path = write_story(tmp_path, [{"config": "one.yaml"}])
    with pytest.raises(ConfigError, match=r"is a story .*optviz run"):
        config_module.load(path)


def test_validate_checks_every_chapter(tmp_path, capsys):
    path = three_chapters(tmp_path)
    code, out, _ = call(capsys, "validate", path)
    assert code == 0
    assert out.strip() == (
        f"{path}: ok (story, 3 chapters, 6.4 s: Plain, Momentum: α = 0.9, Adam)"
    )


@pytest.mark.render
def test_the_check_before_the_rename_catches_a_chapter_a_frame_off(tmp_path, capsys):
    """The check :func:`chapters.problem` runs on the joined file (a test of
    the test above, which replaces it)."""
    s = story.load(three_chapters(tmp_path))
    video = story.render(s, tmp_path / "out")
    right = [chapters.Mark(t, a, b) for t, a, b in story.schedule(s)]
    assert chapters.problem(video, right, FPS, SIZE, s.total_frames) is None
    off = [right[0], chapters.Mark(right[1].title, 22, 44), right[2]]
    said = chapters.problem(video, off, FPS, SIZE, s.total_frames)
    assert said and said.startswith("its chapters read back as 'Plain' 0-2.1 s;")
    short = chapters.problem(video, right, FPS, SIZE, s.total_frames + 1)
    assert short and "it holds 64 frames of 120×90 h264 yuv420p, not 65" in short


@pytest.mark.render
def test_a_story_among_configs_and_in_a_folder(tmp_path, capsys):
    three_chapters(tmp_path)
    lone = write_config(tmp_path / "more", "lone")
    out = tmp_path / "out"
    code, _, err = call(capsys, "run", tmp_path / "tale.yaml", lone, "-o", out, "-q")
    assert code == 0, err
    assert (out / "tale" / "tale.mp4").is_file() and (
        out / "lone" / "lone.mp4"
    ).is_file()
    (tmp_path / "more" / "tale.yaml").write_text(
        (tmp_path / "tale.yaml").read_text().replace("configs/", "../configs/")
    )
    code, _, err = call(capsys, "run", tmp_path / "more", "-o", tmp_path / "out2", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["lone", "tale"]
    assert len(reported_chapters(tmp_path / "out2" / "tale" / "tale.mp4")) == 3


def test_a_config_is_not_parsed_twice_to_tell_it_from_a_story(tmp_path, monkeypatch):
    config = write_config(tmp_path, "one")
    tale = write_story(tmp_path, [{"config": "one.yaml"}])
    config.write_text("# a story of gd\n" + config.read_text())
    parsed = []
    real = story.read_yaml
    monkeypatch.setattr(story, "read_yaml", lambda p: parsed.append(p) or real(p))
    plain = write_config(tmp_path, "plain")
    assert not story.is_story_file(plain) and parsed == []
    assert not story.is_story_file(config) and parsed == [config]  # the word: parsed
    assert story.is_story_file(tale)
    assert not story.is_story_file(tmp_path / "gone.yaml")


def test_the_readmes_story_is_a_story_with_every_key():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Stories\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load(block)
    # where the demo is: its paths are relative to configs/examples/
    s = story._parse(data, root / "configs" / "examples" / "readme.yaml")
    assert [c.card_seconds for c in s.chapters] == [2, 3]
    for key in (*story.STORY_KEYS, *story.CHAPTER_KEYS):
        assert f"{key.name}:" in block, key.name
    assert set(data) == {k.name for k in story.STORY_KEYS}
