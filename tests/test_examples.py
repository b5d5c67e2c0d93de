"""Every example config runs and draws, and says what to watch."""

import dataclasses
from pathlib import Path

import pytest

import optviz
from optviz.config import load

EXAMPLES = sorted(
    (Path(__file__).resolve().parent.parent / "configs" / "examples").glob("*.yaml")
)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_draws(path, tmp_path):
    text = path.read_text(encoding="utf-8")
    assert "Watch:" in text, "an example says what to watch"
    config = load(path)
    small = dataclasses.replace(config.animation, size=(240, 180), dpi=30)
    result = optviz.run(dataclasses.replace(config, animation=small))
    assert len(result.trajectories) == len(config.optimizers) * len(config.starts)
    still = optviz.still(result, tmp_path / "last.png")
    assert still.stat().st_size > 1000


def test_the_readme_lists_every_example():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for path in EXAMPLES:
        assert path.name in readme or path.stem in readme, path.name
