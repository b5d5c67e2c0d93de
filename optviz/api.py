"""The Python API the CLI is a thin layer over; a notebook can call it too.

import optviz
config = optviz.load_config("configs/lecture/2gd_gd+p.yaml")
result = optviz.run(config)
optviz.write_outputs(result)          # trajectories.csv, <stem>.mp4, <stem>.gif
print(optviz.summary_table(result))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optviz import config as config_module
from optviz import core, export, optimizers, summary
from optviz.config import Config
from optviz.surfaces import Surface


@dataclass(frozen=True)
class Result:
    config: Config
    surface: Surface
    trajectories: tuple[core.Trajectory, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.config.optimizers)


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config (raises ConfigError with the key path)."""
    return config_module.load(path)


def run(config: Config) -> Result:
    """Run every optimizer of ``config`` from every start."""
    surface = config.surface
    rules = [optimizers.METHODS[o.method].build(o.params) for o in config.optimizers]
    trajectories = core.trajectories(
        surface.f,
        surface.grad,
        rules,
        [o.label for o in config.optimizers],
        np.array(config.starts, dtype=float),
        config.iterations,
        config.tolerance,
        core.divergence_box(config.xlim, config.ylim),
        _minibatches(config),
        hessian=surface.hessian,
        perturb=_perturbations(config),
    )
    return Result(config, surface, tuple(trajectories))


def _perturbations(config: Config) -> core.Perturbations | None:
    clip = tuple(o.clip_norm for o in config.optimizers)
    noise = tuple(o.noise for o in config.optimizers)
    if not any(clip) and not any(noise):
        return None
    return core.Perturbations(clip, noise, config.seed)


def _minibatches(config: Config) -> core.Minibatches | None:
    sizes = tuple(o.batch_size for o in config.optimizers)
    if config.surface.examples is None or not any(sizes):
        return None
    return core.Minibatches(config.surface.examples, sizes, config.seed)


def output_dir(result: Result, output: str | Path | None = None) -> Path:
    return Path(output) if output is not None else result.config.output


def write_csv(result: Result, output: str | Path | None = None) -> Path:
    """``trajectories.csv`` in the output folder."""
    return export.write_csv(
        result.trajectories, output_dir(result, output) / "trajectories.csv"
    )


def render(
    result: Result,
    output: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Draw the animation in every format the config asks for."""
    from optviz.drawing import render_video  # matplotlib only when drawing

    c = result.config
    return render_video(
        result.surface,
        result.trajectories,
        result.labels,
        title=c.title,
        xlim=c.xlim,
        ylim=c.ylim,
        animation=c.animation,
        out_dir=output_dir(result, output),
        stem=c.stem,
        progress=progress,
        colors=[o.color for o in c.optimizers],
    )


def still(result: Result, path: str | Path, iteration: int | None = None) -> Path:
    """The frame at ``iteration`` (default: the last) as a PNG at ``path``."""
    from optviz.drawing import render_still

    c = result.config
    return render_still(
        result.surface,
        result.trajectories,
        result.labels,
        title=c.title,
        xlim=c.xlim,
        ylim=c.ylim,
        animation=c.animation,
        path=Path(path),
        iteration=iteration,
        colors=[o.color for o in c.optimizers],
    )


def write_outputs(
    result: Result,
    output: str | Path | None = None,
    video: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """The CSV and, unless ``video`` is false, the animation."""
    paths = [write_csv(result, output)]
    if video:
        paths += render(result, output, progress)
    return paths


def summary_rows(result: Result) -> list[summary.Row]:
    return summary.rows(result.trajectories, result.surface.minima)


def summary_table(result: Result) -> str:
    return summary.table(summary_rows(result))
