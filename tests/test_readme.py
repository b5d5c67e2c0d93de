"""The README's promises: two commands up front, and CI runs the second."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from optviz.config import load

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_section() -> str:
    return README.split("\n## ", 2)[1]


def commands(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", text, flags=re.S)


def test_first_section_holds_exactly_two_commands():
    install_and_render, install_and_test = commands(first_section())
    assert "pip install ." in install_and_render
    assert " run " in install_and_render
    assert 'pip install ".[test,browser]"' in install_and_test
    assert "pytest" in install_and_test


def test_the_render_command_names_a_lecture_config_that_exists():
    install_and_render = commands(first_section())[0]
    words = shlex.split(install_and_render)
    config = ROOT / words[words.index("run") + 1]
    assert config.parent.name == "lecture" and load(config).surface.name == "beale"


def test_ci_runs_the_readmes_test_command():
    install_and_test = commands(first_section())[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_test in ci.splitlines()


@pytest.mark.parametrize("image", re.findall(r"\]\((docs/[^)]+\.png)\)", README))
def test_every_still_the_readme_shows_exists(image):
    assert (ROOT / image).is_file()


def python_snippet() -> str:
    section = README.split("\n## Python API\n", 1)[1]
    (snippet,) = re.findall(r"```python\n(.*?)\n```", section, flags=re.S)[:1]
    return snippet


@pytest.mark.render
def test_the_python_snippet_writes_only_under_out(tmp_path, monkeypatch):
    # the snippet as it stands, in a checkout whose lecture config is cut
    # down to a few iterations and frames so that it runs in seconds
    name = "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml"
    data = yaml.safe_load((ROOT / "configs" / "lecture" / name).read_text())
    data["iterations"] = 30
    data["animation"] = {"frames": 6, "hold": 0, "size": [96, 64], "dpi": 20}
    (tmp_path / "configs" / "lecture").mkdir(parents=True)
    (tmp_path / "configs" / "lecture" / name).write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    exec(compile(python_snippet(), "README.md", "exec"), {"print": lambda *a: None})
    made = {
        p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()
    }
    assert made == {"configs", "out"}
    assert (tmp_path / "out" / "mine" / "last-frame.png").is_file()
