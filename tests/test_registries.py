"""One registry per kind: a toy of each kind added from outside the package is
validated, listed and used like the built-in ones, and the README's tables of
names agree with the registries."""

import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import yaml

from optviz import api, surfaces
from optviz.cli import main
from optviz.config import parse
from optviz.draw import panels, schedules, themes
from optviz.draw.figure import Renderer
from optviz.errors import ConfigError
from optviz.optim.methods import METHODS
from optviz.output import writers
from optviz.output.files import replace_when_done

README = Path(__file__).resolve().parent.parent / "README.md"

SMALL = {
    "title": "toy",
    "surface": "beale",
    "starts": [[2, -2]],
    "iterations": 300,
    "optimizers": [
        {"label": "gd", "method": "gd", "lr": 4e-5},
        {"label": "adam", "method": "adam", "lr": 0.05},
    ],
}


# -- a third output format, from outside the package ---------------------------


class _FramesSink:
    """Collects the frames of one video; saves them as one .npy on finish."""

    def __init__(self, path: Path):
        self.path, self.frames = path, []

    def write(self, frame) -> None:
        self.frames.append(np.array(frame, dtype=np.uint8))  # a copy: reused buffer

    def finish(self) -> list[Path]:
        with replace_when_done(self.path) as tmp, open(tmp, "wb") as out:
            np.save(out, np.stack(self.frames))
        return [self.path]

    def abort(self) -> None:
        self.frames = []


class Frames(writers.Writer):
    """Every frame of the video as one (frames, height, width, 4) .npy array."""

    name = "frames"
    suffix = "npy"
    joins: ClassVar[list[int]] = []  # how many pieces each join was given

    def open(self, out_dir, stem, size, fps, *, last=None, threads=None):
        return _FramesSink(self.path(out_dir, stem))

    def join(self, pieces, dest):
        Frames.joins.append(len(pieces))
        with open(dest, "wb") as out:
            np.save(out, np.concatenate([np.load(p) for p in pieces]))
        return dest


@pytest.fixture
def frames_format():
    writers.register(Frames)
    Frames.joins.clear()
    yield Frames
    del writers.WRITERS["frames"]


def write_config(tmp_path, **animation) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "animation": animation}))
    return path


@pytest.mark.render
def test_a_format_registered_from_outside_is_one_new_class(frames_format, tmp_path):
    """formats: [frames, mp4] writes the toy's .npy beside the MP4; cut in two
    pieces by --jobs 2 and joined by the toy's own join, the frames are the
    same as in one pass, and they are the frames the MP4 was encoded from."""
    animation = dict(frames=130, fps=30, hold=1, size=[160, 120],
                     formats=["frames", "mp4"])  # fmt: skip
    config = write_config(tmp_path, **animation)
    assert main(["run", str(config), "-o", str(tmp_path / "one"), "-j", "1", "-q"]) == 0
    assert Frames.joins == []
    assert main(["run", str(config), "-o", str(tmp_path / "two"), "-j", "2", "-q"]) == 0
    assert Frames.joins == [2]  # really cut, and joined by the writer
    one = np.load(tmp_path / "one" / "toy.npy")
    two = np.load(tmp_path / "two" / "toy.npy")
    assert one.shape == (130 + 30, 120, 160, 4)
    assert np.array_equal(one, two)
    # The frames the renderer draws, one by one: the toy saw exactly those.
    result = api.run(parse({**SMALL, "animation": animation}))
    renderer = Renderer(api.scene(result))
    try:
        schedule = renderer.schedule()
        for index in (0, 64, 129):
            drawn = np.asarray(renderer.frame(int(schedule[index])))
            assert np.array_equal(one[index], drawn)
    finally:
        renderer.close()
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "toy.mp4",
        "toy.npy",
        "trajectories.csv",
    ]


def test_an_unknown_format_lists_the_registered_ones(frames_format, tmp_path):
    with pytest.raises(ConfigError) as e:
        parse({**SMALL, "animation": {"formats": ["frams"]}})
    assert e.value.path == "animation.formats[0]"
    valid = "'mp4', 'gif', 'png', 'html', 'frames'"
    assert f"supported values are {valid}" in e.value.message
    assert "did you mean 'frames'?" in e.value.message


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="registered already"):
        writers.register(writers.MP4)
    with pytest.raises(ValueError, match="registered already"):
        panels.register(panels.PANELS["loss"])
    with pytest.raises(ValueError, match="registered already"):
        themes.register(themes.THEMES["dark"])
    with pytest.raises(ValueError, match="registered already"):
        schedules.register("log", "again")(lambda *a: None)


# -- a third panel, from outside the package -------------------------------------


def _distance(t, surface):
    """Distance from each point to the nearest global minimum."""
    minima = np.array([m.point for m in surface.minima if m.kind == "global"])
    gaps = t.points[:, None, :] - minima[None, :, :]
    return np.hypot(gaps[..., 0], gaps[..., 1]).min(axis=1)


DISTANCE = panels.Panel(
    name="distance",
    summary="distance to the nearest global minimum",
    symbol="‖θ − θ*‖",
    values=_distance,
    lowest=lambda surface: 0.0,
    shifted=False,
)


@pytest.fixture
def distance_panel():
    panels.register(DISTANCE)
    yield DISTANCE
    del panels.PANELS["distance"]


@pytest.mark.render
def test_a_panel_registered_from_outside_is_drawn(distance_panel, tmp_path):
    """panels: [distance] draws the toy's curves against the iteration: one per
    run, through the distances of its points, on a log scale to 0."""
    config = {**SMALL, "iterations": 3000, "animation": {"panels": ["distance"]}}
    config["optimizers"] = [*SMALL["optimizers"][:1], dict(method="adam", lr=0.32)]
    result = api.run(parse(config))
    renderer = Renderer(api.scene(result))
    try:
        (axes,) = renderer.panels
        assert axes.get_ylabel().startswith("‖θ − θ*‖, log scale")
        assert axes.get_yscale() == "log"
        renderer.frame(renderer.last)
        curves = [line.get_ydata() for line in axes.get_lines()]
        assert len(curves) == 2
        minimum = np.array([3.0, 0.5])  # Beale's
        for t, y in zip(result.trajectories, curves):
            expected = np.hypot(*(t.points - minimum).T)
            assert np.allclose(y, expected, rtol=1e-12)
        assert np.hypot(*(result.trajectories[-1].points[-1] - minimum)) < 0.1
    finally:
        renderer.close()
    # And the still: the panel's column is drawn (it differs from none).
    with_panel = api.still(result, tmp_path / "distance.png")
    plain = api.run(parse({**config, "animation": {}}))
    without = api.still(plain, tmp_path / "plain.png")
    assert with_panel.read_bytes() != without.read_bytes()


def test_an_unknown_panel_lists_the_registered_ones(distance_panel):
    with pytest.raises(ConfigError) as e:
        parse({**SMALL, "animation": {"panels": ["loss", "distnce"]}})
    assert e.value.path == "animation.panels[1]"
    listed = "supported values are 'loss', 'grad_norm', 'lr', 'distance'"
    assert listed in e.value.message
    assert "did you mean 'distance'?" in e.value.message


@pytest.mark.parametrize(
    ("key", "value", "valid"),
    [
        ("schedule", "lin", "'log', 'linear', 'adaptive'; did you mean 'linear'?"),
        ("theme", "drak", "'light', 'dark', 'classic'; did you mean 'dark'?"),
    ],
)
def test_schedules_and_themes_list_their_names(key, value, valid):
    with pytest.raises(ConfigError) as e:
        parse({**SMALL, "animation": {key: value}})
    assert e.value.path == f"animation.{key}"
    assert e.value.message.endswith("supported values are " + valid)


def test_optviz_list_prints_every_registry(distance_panel, frames_format, capsys):
    assert main(["list", "panels"]) == 0
    out = capsys.readouterr().out
    assert "  distance     distance to the nearest global minimum" in out
    assert main(["list", "formats"]) == 0
    out = capsys.readouterr().out
    for name in ("mp4", "gif", "png", "html", "frames"):
        assert f"  {name:<12} " in out
    assert "Every frame of the video as one (frames, height, width, 4) .npy" in out
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for heading in ("Surfaces", "Methods", "Output formats", "Panels", "Schedules",
                    "Themes"):  # fmt: skip
        assert f"\n{heading} (" in "\n" + out


# -- the README's tables against the registries --------------------------------


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def first_table(text: str) -> list[list[str]]:
    """The rows of the first table in ``text``, without header and rule: the
    table ends at the first line that is not a row (a blank line ends it)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_methods_table_names_every_method_and_its_hyperparameters():
    text = section("Methods")
    rows = first_table(text)
    assert [names(row[0])[0] for row in rows] == list(METHODS)
    # "More hyperparameters: `gd` takes ... `lr_final` ...; `adam` takes ..."
    more = text[text.index("More hyperparameters") :]
    more = more[: more.index("Every method also takes")]
    takes = list(re.finditer(r"`(\w+)` takes", more))
    extra = {
        m.group(1): set(re.findall(r"`(\w+)[`:]", more[m.end() : n.start()]))
        for m, n in zip(takes, [*takes[1:], re.search(r"$", more)])
    }
    for row in rows:
        method = METHODS[names(row[0])[0]]
        keys = {h.key: h for h in method.hyperparameters}
        # The table's column and the paragraph after it name every key.
        named = set(names(row[2])) | extra.get(method.name, set())
        assert named & set(keys) == set(keys), method.name
        # A default in parentheses after a key is the registry's default.
        pattern = r"`(\w+)`(?: [^\s`,(]+)? \((-?[\d.e+-]+)"
        for key, default in re.findall(pattern, row[2]):
            assert keys[key].default == float(default), (method.name, key)


def test_the_surfaces_table_names_every_builtin_surface():
    rows = first_table(section("Surfaces"))
    listed = [name for row in rows for name in names(row[0])]
    assert sorted(listed) == sorted(surfaces.builtin_names())
    assert len(listed) == len(set(listed))


def test_the_animation_names_table_matches_the_registries():
    text = section("Configs")
    text = text[text.index("| setting | names |") :]
    rows = {row[0].strip("`"): names(row[1]) for row in first_table(text)}
    assert rows == {
        "animation.formats": list(writers.WRITERS),
        "animation.panels": list(panels.PANELS),
        "animation.schedule": list(schedules.SCHEDULES),
        "animation.theme": list(themes.THEMES),
    }
