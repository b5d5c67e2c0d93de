"""The Python API the CLI is a thin layer over; a notebook can call it too.

import optviz
config = optviz.load_config("configs/lecture/2gd_gd+p.yaml")
result = optviz.run(config)
optviz.write_outputs(result)          # trajectories.csv, <stem>.mp4, <stem>.gif
print(optviz.summary_table(result))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optviz import config as config_module
from optviz.config import Config
from optviz.optim import runner as core
from optviz.optim import summary, window
from optviz.output import trajectories_csv as export
from optviz.surfaces import Surface


@dataclass(frozen=True)
class Result:
    config: Config
    surface: Surface
    trajectories: tuple[core.Trajectory, ...]
    # The window the video shows, (xlim, ylim): the config's, or with
    # view: auto, that window fitted to the paths (None: the config's).
    view: tuple[window.Limits, window.Limits] | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(o.label for o in self.config.optimizers)

    @property
    def xlim(self) -> window.Limits:
        return self.view[0] if self.view is not None else self.config.xlim

    @property
    def ylim(self) -> window.Limits:
        return self.view[1] if self.view is not None else self.config.ylim


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config (raises ConfigError with the key path)."""
    return config_module.load(path)


def run(config: Config) -> Result:
    """Run every optimizer of ``config`` from every start."""
    return run_all([config])[0]


def run_all(configs: Sequence[Config]) -> list[Result]:
    """:func:`run` of each config, each row computed once per process.

    A row (one optimizer from one start) is fixed by the surface, the method,
    its hyperparameters, the clipping, the start, the iterations, the tolerance
    and the divergence box, and rows never interact (:mod:`optviz.optim.runner`), so
    configs that share rows — the lecture's 14 add one optimizer at a time,
    from two starts — share them: the missing rows of all configs with the
    same surface, iterations, tolerance and box are run as one batch (their
    optimizers from their starts), one loop over the iterations instead of
    one per config, with the very same numbers. A config with gradient noise
    or minibatches is run on its own, as it is: its random draws depend on the
    other rows of its batch.
    """
    wanted: dict[tuple[Any, ...], tuple[Config, dict, dict]] = {}
    for config in configs:
        if not _shares_rows(config):
            continue
        group = _group(config)
        _, keys, starts = wanted.setdefault(group, (config, {}, {}))
        for o in config.optimizers:
            for start in config.starts:
                if (group, _row_key(o), _start_key(start)) not in _ROWS:
                    keys[_row_key(o)] = None
                    starts[_start_key(start)] = start
    for config, keys, starts in wanted.values():
        # no batch bigger than the largest config may be
        per_row = (config.iterations + 1) * max(1, len(starts))
        size = max(1, config_module.MAX_POINTS // per_row)
        methods = list(keys)
        for first in range(0, len(methods), size):
            _run_rows(config, methods[first : first + size], list(starts.values()))
    return [_result(c) for c in configs]


# (group, optimizer key, start key) -> its trajectory, with read-only arrays
# (shared by every config that has the row). A per-process cache: a notebook
# that runs a config again gets it at once.
_ROWS: dict[tuple[Any, ...], core.Trajectory] = {}
_MAX_POINTS = 2_000_000  # points kept at most; the oldest rows go first


def _shares_rows(config: Config) -> bool:
    return not any(o.noise or o.batch_size for o in config.optimizers)


def _group(config: Config) -> tuple[Any, ...]:
    """What a batch of rows shares; the surface by its functions (a surface
    is compiled once per process, so equal surfaces have the same ones)."""
    s = config.surface
    lo, hi = core.divergence_box(config.xlim, config.ylim)
    box = (lo.tobytes(), hi.tobytes())
    return (s.f, s.grad, s.hessian, config.iterations, config.tolerance, box)


def _row_key(spec: config_module.OptimizerSpec) -> tuple[Any, ...]:
    """What fixes an optimizer's rows; the registered method itself too, so
    that a method registered again under its name is run again."""
    method = spec.resolved()
    return (spec.method, spec.hyperparameters, spec.clip_norm, method)


def _start_key(start: Sequence[float]) -> bytes:
    """A start by its bits: −0.0 is not 0.0 here, and NaN is itself."""
    return np.asarray(start, dtype=float).tobytes()


def _run_rows(
    config: Config, keys: list[tuple[Any, ...]], starts: list[Sequence[float]]
) -> dict[tuple[Any, ...], core.Trajectory]:
    """Run the optimizers ``keys`` from ``starts`` on ``config``'s surface,
    iterations, tolerance and box in one batch, and keep the rows not kept
    yet (a kept row keeps its arrays, whose CSV text may be kept too); the
    rows, by key (kept or not: the oldest go when there are too many)."""
    surface, group = config.surface, _group(config)
    rules = [method.build(dict(h)) for _, h, _, method in keys]
    clip = tuple(c for _, _, c, _ in keys)
    perturb = core.Perturbations(clip, (0.0,) * len(keys)) if any(clip) else None
    rows = core.trajectories(
        surface.f,
        surface.grad,
        rules,
        [str(i) for i in range(len(keys))],
        np.array(starts, dtype=float),
        config.iterations,
        config.tolerance,
        core.divergence_box(config.xlim, config.ylim),
        None,
        hessian=surface.hessian,
        perturb=perturb,
    )
    n = len(starts)
    made = {}
    for i, key in enumerate(keys):
        for j, start in enumerate(starts):
            t = rows[i * n + j]
            for a in (t.points, t.loss, t.grad_norm):
                a.flags.writeable = False
            row = (group, key, _start_key(start))
            made[row] = _ROWS.setdefault(row, t)
    while sum(len(t.points) for t in _ROWS.values()) > _MAX_POINTS:
        del _ROWS[next(iter(_ROWS))]
    return made


def _result(config: Config) -> Result:
    if _shares_rows(config):
        group = _group(config)
        keys = [
            [(group, _row_key(o), _start_key(s)) for s in config.starts]
            for o in config.optimizers
        ]
        found = {k: _ROWS[k] for row in keys for k in row if k in _ROWS}
        if not all(k in found for row in keys for k in row):
            methods = list(dict.fromkeys(map(_row_key, config.optimizers)))
            found = _run_rows(config, methods, list(config.starts))
        trajectories = [
            dataclasses.replace(found[k], label=o.label, optimizer=i, start=j)
            for i, (o, row) in enumerate(zip(config.optimizers, keys))
            for j, k in enumerate(row)
        ]
    else:
        trajectories = _run_alone(config)
    view = (config.xlim, config.ylim)
    if config.fit_view:
        view = window.fit(trajectories, config.xlim, config.ylim)
    return Result(config, config.surface, tuple(trajectories), view)


def _run_alone(config: Config) -> list[core.Trajectory]:
    surface = config.surface
    rules = [o.resolved().build(o.params) for o in config.optimizers]
    return core.trajectories(
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
    jobs: int = 1,
) -> list[Path]:
    """Draw the animation in every format the config asks for; ``jobs`` > 1
    draws and encodes parts of it in that many forked processes at once (not
    in a program running threads of its own, such as a notebook kernel:
    there one process draws, see :mod:`optviz.output.segments`)."""
    from optviz.draw.figure import render_video  # matplotlib only when drawing

    c = result.config
    return render_video(
        **figure(result),
        out_dir=output_dir(result, output),
        stem=c.stem,
        progress=progress,
        card=title_card(result),
        jobs=jobs,
    )


def figure(result: Result, animation: Any = None) -> dict[str, Any]:
    """What the drawing functions need to draw ``result``: the surface, the
    trajectories, the legend's labels and colours, the title, the view and the
    animation settings (``animation`` overrides the config's)."""
    from optviz.draw.backdrop import optimizer_colours  # matplotlib: only to draw

    c = result.config
    colours = optimizer_colours(
        len(c.optimizers),
        [o.color for o in c.optimizers],
        [o.method for o in c.optimizers],
    )
    return {
        "surface": result.surface,
        "trajectories": result.trajectories,
        "labels": legend_labels(result),
        "title": c.title,
        "xlim": result.xlim,
        "ylim": result.ylim,
        "animation": c.animation if animation is None else animation,
        "colors": colours,
    }


def legend_labels(result: Result) -> list[str]:
    """The optimizers' labels, with their settings when the config's
    ``animation.hyperparameters_in_legend`` asks for them."""
    c = result.config
    if not c.animation.hyperparameters_in_legend:
        return list(result.labels)
    out = []
    for o in c.optimizers:
        settings = hyperparameter_text(o)
        out.append(f"{o.label} ({settings})" if settings else o.label)
    return out


def title_card(result: Result) -> list[str]:
    """The lines of the title card: the title, the run, each optimizer."""
    c = result.config
    starts = ", ".join(f"({x:g}, {y:g})" for x, y in c.starts)
    lines = [c.title] if c.title else []
    lines.append(f"{c.surface.name} from {starts}, {c.iterations:,} iterations")
    for o in c.optimizers:
        name = o.label if o.label == o.method else f"{o.label} ({o.method})"
        settings = hyperparameter_text(o)
        lines.append(f"{name}: {settings}" if settings else name)
    return lines


def hyperparameter_text(spec: config_module.OptimizerSpec) -> str:
    """``ε=0.22, β2=0.99``: the hyperparameters a user must give, and those
    set away from their defaults, in the lecture's symbols."""
    method = spec.resolved()
    given = spec.params
    parts = []
    for h in method.hyperparameters:
        value = given.get(h.key)
        if value is None or (h.default is not None and value == h.default):
            continue
        if h.boolean:
            shown = "true" if value else "false"
        else:
            shown = value if isinstance(value, str) else f"{value:g}"
        parts.append(f"{h.symbol or h.key}={shown}")
    return ", ".join(parts)


def stills(
    result: Result,
    output: str | Path | None = None,
    last: bool = True,
    frames: Sequence[int] = (),
) -> list[Path]:
    """PNGs in the output folder, drawn with one figure: ``<stem>.png`` (the
    last frame) if ``last``, and ``<stem>-frame-K.png`` for each K of
    ``frames`` (an index into the animation's frames, 0 first)."""
    from optviz.draw.figure import render_stills

    c = result.config
    folder = output_dir(result, output)
    shots: list[tuple[Path, int | None]] = (
        [(folder / f"{c.stem}.png", None)] if last else []
    )
    shots += [(folder / f"{c.stem}-frame-{k}.png", k) for k in dict.fromkeys(frames)]
    if not shots:
        return []
    return render_stills(**figure(result), shots=shots, frames=True)


def still(result: Result, path: str | Path, iteration: int | None = None) -> Path:
    """The frame at ``iteration`` (default: the last) as a PNG at ``path``."""
    from optviz.draw.figure import render_still

    return render_still(
        **figure(result),
        path=Path(path),
        iteration=iteration,
    )


def write_outputs(
    result: Result,
    output: str | Path | None = None,
    video: bool = True,
    progress: Callable[[int, int], None] | None = None,
    still: bool = False,
    frames: Sequence[int] = (),
    jobs: int = 1,
) -> list[Path]:
    """The CSV and, unless ``video`` is false, the animation (``jobs``: see
    :func:`render`); ``still`` and ``frames`` add PNGs as :func:`stills`
    draws them."""
    paths = [write_csv(result, output)]
    if video:
        paths += render(result, output, progress, jobs=jobs)
    if still or frames:
        paths += stills(result, output, last=still, frames=frames)
    return paths


def render_config(
    path: str | Path,
    output: str | Path | None,
    video: bool = True,
    still: bool = False,
    frames: Sequence[int] = (),
    jobs: int = 1,
) -> tuple[str, list[Path]]:
    """Load, run and write one config file: its summary table and the paths.

    What a worker process of ``optviz run --jobs`` does (it takes a path, not
    a config: a compiled surface does not cross process boundaries).
    """
    result = run(load_config(path))
    paths = write_outputs(
        result, output, video=video, still=still, frames=frames, jobs=jobs
    )
    return report(result, video), paths


def report(result: Result, video: bool = True) -> str:
    """What ``optviz run`` prints after a run: :func:`summary_table`, and with
    a ``video``, :func:`timeline_note` when there is one."""
    note = timeline_note(result) if video else None
    return summary_table(result) + (f"\n{note}" if note else "")


def timeline_note(result: Result) -> str | None:
    """How a run with fewer iterations than frames fills them (each iteration
    is held for several frames: the video lasts what the config asks), or
    None when there are iterations enough."""
    animation = result.config.animation
    drawn = [
        window.drawn_iterations(t, result.xlim, result.ylim)
        for t in result.trajectories
        if len(t.points)
    ]
    points = max(drawn, default=0) + 1  # iterations 0 .. last
    frames = animation.frames
    if points >= frames:
        return None
    fewest, most = frames // points, -(-frames // points)
    each = f"{fewest}" if fewest == most else f"{fewest} or {most}"
    return (
        f"note: {points - 1} iterations are fewer than the {frames} frames: each "
        f"iteration is held for {each} frames ({frames / animation.fps:g} s of "
        "motion)"
    )


def summary_rows(result: Result) -> list[summary.Row]:
    """One row per optimizer and start; ``left_view`` is the first iteration
    outside the video's view (None: it stays in)."""
    view = (result.xlim, result.ylim)
    return summary.rows(result.trajectories, result.surface.minima, view)


def view_warnings(result: Result) -> list[str]:
    """A line for each path that leaves the video's view (and one of advice),
    or nothing when every path stays in it."""
    return summary.view_warnings(summary_rows(result), result.config.fit_view)


def summary_table(result: Result) -> str:
    """The table, then :func:`view_warnings`' lines."""
    rows = summary_rows(result)
    lines = [summary.table(rows)]
    lines += summary.view_warnings(rows, result.config.fit_view)
    return "\n".join(lines)
