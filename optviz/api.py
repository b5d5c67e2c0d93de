"""The Python API: what a script or a notebook calls. The command line is a
thin layer over the same :mod:`optviz.pipeline`.

import optviz
config = optviz.load_config("configs/lecture/2gd_gd+p.yaml")
result = optviz.run(config)
optviz.write_outputs(result)          # trajectories.csv, <stem>.mp4, <stem>.gif
print(optviz.summary_table(result))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from optviz import config as config_module
from optviz import pipeline
from optviz.config import Config
from optviz.pipeline import (
    Outputs,
    Progress,
    Result,
    hyperparameter_text,
    legend_labels,
    render,
    report,
    run_all,
    scene,
    stills,
    summary_rows,
    summary_table,
    timeline_note,
    title_card,
    view_warnings,
    write_csv,
)

__all__ = [
    "Outputs",
    "Result",
    "hyperparameter_text",
    "legend_labels",
    "load_config",
    "render",
    "report",
    "run",
    "run_all",
    "scene",
    "still",
    "stills",
    "summary_rows",
    "summary_table",
    "timeline_note",
    "title_card",
    "view_warnings",
    "write_csv",
    "write_outputs",
]


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config (raises ConfigError with the key path)."""
    return config_module.load(path)


def run(config: Config) -> Result:
    """Run every optimizer of ``config`` from every start."""
    return run_all([config])[0]


def still(result: Result, path: str | Path, iteration: int | None = None) -> Path:
    """The frame at ``iteration`` (default: the last) as a PNG at ``path``."""
    (written,) = pipeline.write_stills(scene(result), [(Path(path), iteration)])
    return written


def write_outputs(
    result: Result,
    output: str | Path | None = None,
    video: bool = True,
    progress: Progress | None = None,
    still: bool = False,
    frames: Sequence[int] = (),
    jobs: int = 1,
) -> list[Path]:
    """The CSV and, unless ``video`` is false, the animation (``jobs`` > 1:
    drawn by that many processes, see :func:`optviz.pipeline.write_video`);
    ``still`` and ``frames`` add PNGs as :func:`stills` draws them."""
    outputs = Outputs(video=video, still=still, frames=tuple(frames), jobs=jobs)
    return pipeline.write_outputs(result, output, outputs, progress)
