"""``optviz init``: the starter config holds every key with its default and
a line on it, loads as written, and is made from the config's own tables."""

import dataclasses
import re

import pytest
import yaml

from optviz import config, starter
from optviz.cli import main
from optviz.config import Animation
from optviz.optim.methods import METHODS


@pytest.fixture
def written(tmp_path, capsys):
    path = tmp_path / "start.yaml"
    assert main(["init", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    return path


def test_the_starter_validates(written, capsys):
    assert main(["validate", str(written)]) == 0
    assert "ok (beale" in capsys.readouterr().out


def test_every_top_level_and_animation_key_is_in_it_with_a_comment(written):
    text = written.read_text(encoding="utf-8")
    found = starter.keys_written(text)
    for key in config.TOP_KEYS:
        assert key.name in found, key.name
    for key in config.ANIMATION_KEYS:
        assert key.name in found, key.name
        for child in key.children:
            assert child.name in found, f"{key.name}.{child.name}"
    for name, _ in config.ENTRY_OPTIONS:
        assert name in found, name
    # One line per key, at its depth, each with its explanation after a '#'.
    keys = [("", k) for k in config.TOP_KEYS] + [
        ("  ", k) for k in config.ANIMATION_KEYS
    ]
    for indent, key in keys:
        (line,) = re.findall(rf"^{indent}(?:# )?{key.name}:.*$", text, flags=re.M)
        assert re.search(r"\S\s+# \S", line), line
        assert key.help in line


def test_every_animation_setting_has_its_key_in_the_table():
    keys = {k.name for k in config.ANIMATION_KEYS}
    assert {f.name for f in dataclasses.fields(Animation)} <= keys
    assert keys - {f.name for f in dataclasses.fields(Animation)} == {"duration"}


def test_the_written_defaults_are_the_parsers(written):
    loaded = config.load(written)
    assert loaded.animation == Animation()
    defaults = {k.name: k.default for k in config.TOP_KEYS}
    assert loaded.iterations == defaults["iterations"]
    assert loaded.tolerance == defaults["tolerance"]
    assert loaded.seed == defaults["seed"]
    # The surface's own starts and window, the output folder: as left out.
    assert loaded.starts == loaded.surface.starts
    assert (loaded.xlim, loaded.ylim) == (loaded.surface.xlim, loaded.surface.ylim)
    assert str(loaded.output) == f"out/{written.stem}"


def test_every_hyperparameter_of_its_methods_is_there_with_its_default(written):
    text = written.read_text(encoding="utf-8")
    for name in ("gd", "adam"):
        for h in METHODS[name].hyperparameters:
            assert re.search(rf"^\s*(?:#\s*)?{h.key}: ", text, flags=re.M), h.key
    assert re.search(r"^\s*# beta1: 0\.9 .*default 0\.9$", text, flags=re.M)


def uncomment(text: str, *keys: str) -> str:
    """``text`` with the commented-out lines of ``keys`` made live."""
    for key in keys:
        text = re.sub(rf"^(\s*)# ({key}:)", r"\1\2", text, flags=re.M)
    return text


def test_the_commented_lines_are_live_config_once_uncommented(written):
    """Every commented-out line is a valid setting: the camera (with a 3-D
    view), the optional keys, an optimizer's options."""
    text = written.read_text(encoding="utf-8").replace("view: 2d", "view: 3d")
    live = uncomment(text, "title", "starts", "view", "output", "dpi", "camera",
                     "elevation", "azimuth", "orbit", "beta1", "eps", "color",
                     "clip_norm", "noise")  # fmt: skip
    loaded = config.parse(yaml.safe_load(live))
    assert loaded.animation.camera.moves and loaded.animation.dpi == 100
    assert loaded.fit_view and loaded.title
    assert loaded.optimizers[0].color == "tab:blue"
    with_path = uncomment(text, "camera", "path")
    assert config.parse(yaml.safe_load(with_path)).animation.camera.moves
    mapped = config.parse(yaml.safe_load(uncomment(text, "map")))
    assert mapped.map is not None
    swept = config.parse(yaml.safe_load(uncomment(text, "sweep")))
    assert swept.sweep is not None and len(swept.optimizers) == 3
    with_duration = uncomment(text, "duration").replace("  frames: 300", "")
    assert config.parse(yaml.safe_load(with_duration)).animation.frames == 300


def test_a_new_registry_name_shows_in_the_starter():
    from optviz.draw import themes

    theme = themes.register(dataclasses.replace(themes.get("light"), name="chalkboard"))
    try:
        assert re.search(r"theme: light .*chalkboard", starter.text())
    finally:
        del themes.THEMES[theme.name]


def test_init_does_not_replace_a_file_unless_forced(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("surface: beale\n")
    assert main(["init", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists; give another path, or --force" in err
    assert path.read_text() == "surface: beale\n"
    assert main(["init", str(path), "--force"]) == 0
    assert config.load(path).animation == Animation()


def test_init_writes_optviz_yaml_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert config.load(tmp_path / "optviz.yaml").surface.name == "beale"
    assert "optviz validate optviz.yaml" in (tmp_path / "optviz.yaml").read_text()
