"""The Python API: what a script or a notebook calls. The command line is a
thin layer over the same :mod:`optviz.pipeline`.

import optviz
config = optviz.load_config("configs/lecture/2gd_gd+p.yaml")
result = optviz.run(config)
optviz.write_outputs(result)          # trajectories.csv, <stem>.mp4, <stem>.gif
print(optviz.summary_table(result))
result                                # in a notebook: the interactive player
optviz.show(result, video=True)       # in a notebook: the video
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from optviz import config as config_module
from optviz import pipeline
from optviz.config import Config
from optviz.pipeline import (
    MapResult,
    Outputs,
    Progress,
    Result,
    hyperparameter_text,
    legend_labels,
    player_page,
    render,
    report,
    run_all,
    run_map,
    scene,
    stills,
    summary_rows,
    summary_table,
    timeline_note,
    title_card,
    video_html,
    view_warnings,
    write_csv,
    write_map,
)

__all__ = [
    "Inline",
    "MapResult",
    "Outputs",
    "Result",
    "hyperparameter_text",
    "legend_labels",
    "load_config",
    "player_page",
    "render",
    "report",
    "run",
    "run_all",
    "run_map",
    "scene",
    "show",
    "still",
    "stills",
    "summary_rows",
    "summary_table",
    "timeline_note",
    "title_card",
    "video_html",
    "view_warnings",
    "write_csv",
    "write_map",
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


@dataclass(frozen=True)
class Inline:
    """HTML that a notebook displays as it is (``_repr_html_``); ``save``
    writes it as a page."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str | Path) -> Path:
        from optviz.output.files import replace_when_done

        path = Path(path)
        with replace_when_done(path) as tmp:
            tmp.write_text(self.html, encoding="utf-8")
        return path


def show(result: Result, video: bool = False) -> Inline | None:
    """Show ``result`` in a notebook: its interactive player (what the cell's
    value ``result`` shows too), or with ``video`` its MP4 as an HTML5
    ``<video>``. In IPython it is displayed and None returned; elsewhere the
    :class:`Inline` HTML is returned (``.save(path)`` writes it)."""
    shown = Inline(video_html(result) if video else result._repr_html_())
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return shown
    if get_ipython() is None:
        return shown
    display(shown)
    return None
