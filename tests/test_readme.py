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


def when_things_go_wrong() -> str:
    return README.split("\n## When things go wrong\n", 1)[1].split("\n## ", 1)[0]


def test_the_watchdogs_figures_are_its_own():
    from optviz.output import watchdog

    text = " ".join(when_things_go_wrong().split())
    assert f"no progress for {watchdog.SECONDS:g} s is killed" in text
    assert watchdog.REFERENCE_PIXELS == 3840 * 2160 and "4K (3840×2160)" in text
    assert watchdog.workers_seconds(10) == 10 * 1.5 + 1
    assert "1.5 times the bound and 1 s" in text
    assert f"last {watchdog._TAIL_BYTES // 1024} KiB are kept" in text


def test_the_fault_figures_are_the_fault_modules():
    import test_faults

    text = " ".join(when_things_go_wrong().split())
    cases = test_faults.CASES
    fakes = [c for c in cases if c.fault in test_faults.FAULTS]
    full = [c for c in cases if c.fault.startswith(("enospc", "tmpfs"))]
    signals = [c for c in cases if c.signal is not None]
    assert len(fakes) + len(full) + len(signals) == len(cases)
    assert f"runs {len(cases)} cases" in text
    faults = len(test_faults.FAULTS)
    assert f"{faults} faults of a fake ffmpeg in {len(fakes)} cases" in text
    assert f"a full disk in {len(full)}" in text
    assert f"at seeded random moments in {len(signals)}" in text
    assert {c.jobs for c in cases} == {1, 2}
    assert "processes left behind: 0; temporary files left: 0" in text
