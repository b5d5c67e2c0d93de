"""The ``optviz`` command: a thin layer over :mod:`optviz.api`.

Every optviz error becomes one line on stderr and a non-zero exit (2 for a bad
config, 1 for anything else); no traceback reaches the user, unless they ask
for it with ``--debug`` or ``OPTVIZ_DEBUG=1``: then the traceback comes first
and the one line still last. Heavy imports (NumPy, matplotlib) happen inside
the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import TypedDict, cast

import click

from optviz.catalogue import LISTS
from optviz.errors import ConfigError, OptvizError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Tolerances(TypedDict, total=False):
    """The tolerances ``optviz snapshot`` was given (``snapshot.check``)."""

    rtol: float
    atol: float
    image_tol: float
    scale: float


@click.group(context_settings=CONTEXT, invoke_without_command=True)
@click.version_option(package_name="optviz")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the traceback behind an error (also: OPTVIZ_DEBUG=1).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Watch optimizers move: contour-plot animations of gradient descent and
    its variants on 2-D surfaces, from a YAML config.

    \b
    Examples:
      optviz run configs/lecture/2gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml
      optviz run configs/lecture/*.yaml
      optviz run configs/examples/
      optviz validate my-config.yaml
      optviz list
    """
    if debug:
        _debug.append(True)
    if ctx.invoked_subcommand is None:  # a bare "optviz" asks what it can do
        click.echo(ctx.get_help())


@cli.command(context_settings=CONTEXT)
@click.argument("configs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: the config's 'output', else out/<config name>). "
    "With several configs, each goes to OUTPUT/<config name>.",
)
@click.option(
    "--no-video", is_flag=True, help="Compute and write trajectories.csv only."
)
@click.option(
    "--still",
    is_flag=True,
    help="Also write the last frame as <name>.png (with --no-video: instead).",
)
@click.option(
    "--html",
    is_flag=True,
    help="Also write the interactive player as <name>.html: one self-contained "
    "page (with --no-video: instead of the video).",
)
@click.option(
    "--frame",
    "frames",
    multiple=True,
    type=click.IntRange(min=0),
    metavar="K",
    help="Also write frame K of the animation (0 is the first) as "
    "<name>-frame-K.png; repeat for more.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes (default: the number of CPUs): several configs are "
    "rendered side by side, and one video is cut into this many runs of "
    "frames, drawn at once and joined losslessly. A run that draws nothing "
    "(--no-video without --still or --frame) computes in one process, where "
    "rows that several configs share are computed once.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no table.")
def run(
    configs: tuple[Path, ...],
    output: Path | None,
    no_video: bool,
    still: bool,
    html: bool,
    frames: tuple[int, ...],
    jobs: int | None,
    quiet: bool,
):
    """Run each CONFIG and write its video(s) and trajectories.csv.

    A CONFIG that is a folder stands for every *.yaml file in it, in name
    order. A CONFIG with a 'story:' list is a story: its chapters' configs
    played one after another as one <name>.mp4 with a title card and a
    chapter marker per chapter (see the README's Stories). Outputs go to the
    output folder: <name>.<format> for each of the
    config's animation.formats (by default mp4 and gif; 'optviz list formats'
    shows them all) and trajectories.csv (one row per iteration per optimizer
    per start). At the
    end a table shows, per optimizer and start, the status, the iterations
    used, the first iteration within 0.05 of a known minimum, and where it
    ended. Several configs are rendered side by side (--jobs); their tables
    still come in the order given.

    \b
    Examples:
      optviz run configs/lecture/1gd.yaml
      optviz run configs/lecture/*.yaml -o videos/
      optviz run configs/examples/              # every config in the folder
      optviz run my-config.yaml --no-video      # just the numbers
      optviz run my-config.yaml --no-video --still --frame 0 --frame 150
      optviz run my-config.yaml --html          # and <name>.html, the player
      optviz run configs/examples/opt2_story.yaml   # one chaptered MP4
    """
    from optviz import pipeline

    paths = _expand(configs)
    stories = _stories(paths, output, no_video, still, html, frames)  # checked first
    paths = tuple(p for p in paths if p not in stories)
    tasks = pipeline.plan(paths, output, frames, html) if paths else []
    if output and stories and len(tasks) == 1:  # one config among stories
        tasks = [dataclasses.replace(tasks[0], folder=output / tasks[0].config.stem)]
    jobs = jobs or os.cpu_count() or 1
    if tasks:
        _run_configs(tasks, no_video, still, html, frames, jobs, quiet)
    _run_stories(stories, jobs, quiet)


def _run_configs(tasks, no_video, still, html, frames, jobs, quiet) -> None:
    """``optviz run`` of the configs among its arguments."""
    from optviz import pipeline

    workers = min(jobs, len(tasks))
    outputs = pipeline.Outputs(
        video=not no_video, still=still, frames=tuple(frames), jobs=1, html=html
    )
    if not outputs.draws:
        # Nothing to draw: one process, where configs share their rows
        # (pipeline.run_all), beats workers that would each compute theirs.
        workers = 1
    # Processes left over after one per config cut each video into pieces.
    outputs = dataclasses.replace(outputs, jobs=max(1, jobs // workers))
    if workers > 1:
        shown = not (quiet or no_video)
        bar = click.progressbar(
            length=len(tasks),
            label=f"rendering {len(tasks)} configs in {workers} processes",
            file=sys.stderr,
            show_pos=True,
        )
        with bar if shown else contextlib.nullcontext():
            done = pipeline.run_many(
                tasks, workers, outputs, (lambda i: bar.update(1)) if shown else None
            )
        for task, (table, paths) in zip(tasks, done):
            if not quiet:
                _report(task.config, table, paths)
        return
    results = pipeline.run_all([t.config for t in tasks])  # shared rows once
    for task, result in zip(tasks, results):
        config = task.config
        if quiet or no_video:
            paths = pipeline.write_outputs(result, task.folder, outputs)
        else:
            with click.progressbar(
                length=config.animation.total_frames,
                label=f"{config.stem}: rendering",
                file=sys.stderr,
                show_pos=True,
                show_eta=False,  # click's counts the setup before the first frame
                item_show_func=lambda left: left,
            ) as frames_bar:
                progress = FrameProgress(frames_bar)
                paths = pipeline.write_outputs(result, task.folder, outputs, progress)
        if not quiet:
            _report(config, pipeline.report(result, outputs.video), paths)


def _stories(paths, output, no_video, still, html, frames) -> dict:
    """The stories among ``paths``, loaded (every chapter's config checked)
    before anything runs, each with its folder: ``output`` for a lone
    story, ``output/<story name>`` among several files."""
    from optviz import story

    found = [p for p in paths if story.is_story_file(p)]
    if not found:
        return {}
    asked = [name for name, on in (("--no-video", no_video), ("--still", still),
             ("--html", html), ("--frame", frames)) if on]  # fmt: skip
    if asked:
        raise ConfigError(
            f"is a story, which writes one chaptered MP4; {asked[0]} is for "
            "configs (run a chapter's config for it)",
            source=str(found[0]),
        )
    loaded = {}
    for p in found:
        s = story.load(p)
        folder = (output / s.stem if len(paths) > 1 else output) if output else None
        loaded[p] = (s, folder)
    return loaded


def _run_stories(stories: dict, jobs: int, quiet: bool) -> None:
    """Render each story: its chapters one after another, each video cut
    into ``jobs`` pieces drawn at once."""
    from optviz import story

    for s, folder in stories.values():
        if quiet:
            path = story.render(s, folder, jobs=jobs)
            continue
        with click.progressbar(
            length=s.total_frames,
            label=f"{s.stem}: rendering {len(s.chapters)} chapters",
            file=sys.stderr,
            show_pos=True,
            show_eta=False,
            item_show_func=lambda left: left,
        ) as bar:
            path = story.render(s, folder, FrameProgress(bar), jobs=jobs)
        click.echo(story.summary(s, path))


def _report(config, table: str, paths) -> None:
    click.echo(f"\n{config.stem} ({config.surface.name}):")
    click.echo(table)
    for path in paths:
        click.echo(f"wrote {path}")


def _expand(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """The config files: each folder among ``paths`` stands for the
    ``*.yaml`` files in it, sorted by name."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        found = sorted(path.glob("*.yaml"))
        if not found:
            raise ConfigError(
                "is a folder with no *.yaml config in it; give config files, or "
                "a folder that holds some",
                source=str(path),
            )
        out += found
    return tuple(out)


# The clock the time left is measured with (a test sets its own).
_clock = time.monotonic
# Frames drawn before the time left is estimated: the first frames come just
# after the figure is set up, and their pace is no measure of the rest.
ESTIMATE_AFTER = 5


class FrameProgress:
    """``progress(done, total)`` for a click progress bar over a video's
    frames, which shows the time left as the bar's item.

    Click's own estimate divides the time since the bar appeared by the
    frames done, so the run and the figure's setup before the first frame
    inflate it (7 minutes for a 7-second render). This one times the frames
    from the first one on and says nothing until :data:`ESTIMATE_AFTER`
    more are done.
    """

    def __init__(self, bar) -> None:
        self.bar = bar
        self.first: tuple[float, int] | None = None  # (time, done) at frame 1

    def __call__(self, done: int, total: int) -> None:
        now = _clock()
        if self.first is None:
            self.first = (now, done)
        began, before = self.first
        text = ""
        if done - before >= ESTIMATE_AFTER and done < total:
            left = (now - began) / (done - before) * (total - done)
            minutes, seconds = divmod(round(left), 60)
            text = f"{minutes}:{seconds:02d} left"
        self.bar.update(done - self.bar.pos, current_item=text)


@cli.command("map", context_settings=CONTEXT)
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: the config's 'output', else out/<config name>).",
)
def map_(config: Path, output: Path | None) -> None:
    """Map CONFIG's 'map:' block: where each start of a grid goes (basins),
    or how soon each pair of hyperparameters reaches a minimum (phase).

    Writes map.png and map.csv (one row per grid point: its coordinates,
    outcome reached/diverged/none, the minimum's index into the surface's
    minima, iterations to the first arrival). Without a 'map:' block, the
    basins of the config's first optimizer over its view, 256 × 256.

    \b
    Examples:
      optviz map configs/examples/himmelblau_basins.yaml
      optviz map my-config.yaml -o maps/
    """
    from optviz import pipeline

    (task,) = pipeline.plan([config], output)
    result = pipeline.run_map(task.config)
    for path in pipeline.write_map(result, task.folder):
        click.echo(f"wrote {path}")
    click.echo(pipeline.map_summary(result))


@cli.command(context_settings=CONTEXT)
@click.argument("configs", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(configs: tuple[Path, ...]) -> None:
    """Check each CONFIG (or every *.yaml in a folder) without running anything
    (a story: every chapter's config).

    Prints one line per valid config; the first problem ends the command with
    its file, key path and what is allowed.

    \b
    Example:
      optviz validate configs/lecture/*.yaml
    """
    from optviz import api, story

    for path in _expand(configs):
        if story.is_story_file(path):
            s = story.load(path)
            click.echo(
                f"{path}: ok (story, {len(s.chapters)} chapters, "
                f"{s.total_frames / s.fps:g} s: "
                + ", ".join(c.title for c in s.chapters)
                + ")"
            )
            continue
        config = api.load_config(path)
        names = ", ".join(o.label for o in config.optimizers)
        click.echo(
            f"{path}: ok ({config.surface.name}, {len(config.starts)} start(s), "
            f"{config.iterations} iterations, optimizers: {names})"
        )


def _finite(value: float | None, param: click.Parameter) -> float | None:
    """A number option that is not NaN or infinite (click's ranges let both
    through)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param=param)
    return value


@cli.command(context_settings=CONTEXT)
@click.argument("configs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The snapshots' folder: CONFIG's snapshot is DIR/<config name>/.",
)
@click.option(
    "--update",
    is_flag=True,
    help="Write the snapshots that are missing or differ instead of failing.",
)
@click.option(
    "--rtol",
    type=click.FloatRange(min=0),
    help="Relative tolerance on x, y and loss (default 1e-6).",
)
@click.option(
    "--atol",
    type=click.FloatRange(min=0),
    help="Absolute tolerance on x, y and loss (default 1e-9).",
)
@click.option(
    "--image-tol",
    type=click.FloatRange(min=0),
    help="Largest RMS difference of a frame, in grey levels of 0-255 (default 1).",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, v: _finite(v, param),
    help="Draw the frames at the video's size and dpi times this "
    "(default 0.45; 1 is the video's own size).",
)
def snapshot(
    configs: tuple[Path, ...],
    directory: Path,
    update: bool,
    rtol: float | None,
    atol: float | None,
    image_tol: float | None,
    scale: float | None,
) -> None:
    """Check that each CONFIG still gives the video its snapshot in DIR shows.

    The snapshot of a config is the folder DIR/<config name>/: trajectories.txt
    (each optimizer's path from each start, every k-th iteration and the last,
    with its status and iteration count) and the first, middle and last frame
    of the animation as frame-first.png, frame-middle.png and frame-last.png.

    Numbers may differ by --rtol and --atol, frames by --image-tol. Every
    difference is one line; a frame that differs leaves the new picture as
    frame-<which>.failed.png and the difference, amplified, as
    frame-<which>.diff.png beside it. Exit status 0 when everything matches, 1
    when anything differs or a snapshot is missing. --update writes what is
    missing or differs instead (review it, then commit it).

    \b
    Examples:
      optviz snapshot configs/lecture/*.yaml --dir tests/snapshots --update
      optviz snapshot configs/lecture/*.yaml --dir tests/snapshots
      optviz snapshot my-config.yaml --dir snapshots --image-tol 2
    """
    from optviz import api
    from optviz import snapshot as snapshots

    configs = _expand(configs)
    loaded = [api.load_config(path) for path in configs]  # all checked up front
    seen: dict[str, Path] = {}
    for path, config in zip(configs, loaded):
        other = seen.setdefault(config.stem, path)
        if other != path:
            raise ConfigError(
                f"its snapshot would be {directory / config.stem} like {other}'s; "
                "give one of them another name, or check them separately",
                source=str(path),
            )
    given = dict(rtol=rtol, atol=atol, image_tol=image_tol, scale=scale)
    options = cast(Tolerances, {k: v for k, v in given.items() if v is not None})
    differ = 0
    for config in loaded:
        outcome = snapshots.check(config, directory, update=update, **options)
        if update:
            names = ", ".join(p.name for p in outcome.written)
            click.echo(
                f"{outcome.folder}: {f'wrote {names}' if names else 'unchanged'}"
            )
        elif outcome.ok:
            click.echo(f"{outcome.folder}: ok")
        else:
            differ += 1
            for difference in outcome.differences:
                click.echo(str(difference), err=True)
    if differ:
        total = len(loaded)
        raise OptvizError(
            f"{differ} of {total} snapshot{'s' if total > 1 else ''} "
            f"differ{'s' if differ == 1 else ''} (if that is intended, run again "
            "with --update)"
        )


@cli.command(context_settings=CONTEXT)
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def init(path: Path | None, force: bool) -> None:
    """Write a starter config to PATH (default: optviz.yaml): every key with
    its default and a line on what it does, ready for 'optviz run'.

    \b
    Examples:
      optviz init
      optviz init my-first.yaml
    """
    from optviz import starter

    written = starter.write(path or starter.DEFAULT_PATH, force=force)
    click.echo(f"wrote {written}; try: optviz run {written}")


@cli.command("list", context_settings=CONTEXT)
@click.argument("what", required=False, type=click.Choice(LISTS), default=None)
def list_(what: str | None) -> None:
    """Show the surfaces, the methods with their hyperparameters, and the
    output formats, panels, schedules and themes of the animation settings.

    \b
    Examples:
      optviz list
      optviz list methods
      optviz list formats
    """
    from optviz import catalogue

    click.echo(catalogue.text(what))


@cli.command(context_settings=CONTEXT)
@click.argument("surface")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The PNG to write (default: out/<surface>.png).",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set one of the surface's parameters; repeat for more.",
)
def show(surface: str, output: Path | None, params: tuple[str, ...]) -> None:
    """Draw SURFACE alone as a still: contours, minima, saddles and starts.

    SURFACE is a built-in name (see 'optviz list surfaces') or a surface
    .yaml file. Use it to check a surface of your own before animating it.

    \b
    Examples:
      optviz show himmelblau
      optviz show quadratic -p condition=50 -p angle=0 -o bowl.png
      optviz show my-surface.yaml
    """
    from optviz import pipeline

    values: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(
                f"{item!r} is not NAME=VALUE", param_hint="'-p' / '--param'"
            )
        values[name.strip()] = value.strip()
    path = pipeline.show_surface(surface, values, output)
    click.echo(f"wrote {path}")


def program() -> None:
    """The ``optviz`` command: :func:`main` on the process's arguments, and
    its exit status."""
    sys.exit(main(exiting=True))


def main(argv: list[str] | None = None, *, exiting: bool = False) -> int:
    """Run the CLI on ``argv`` and turn every failure into one line; its exit
    status. ``exiting``: the process ends right after (see
    :class:`optviz.interrupts.Interrupts`)."""
    from optviz.interrupts import Interrupts

    _debug.clear()
    with Interrupts(exiting) as caught:
        try:
            code = _run(argv, caught.signals)
        except BaseException as e:
            if not (caught.signals or isinstance(e, KeyboardInterrupt)):
                raise
            return _stop(caught.first, e)
        if caught.signals:  # its exception lost where Python could only print it
            return _stop(caught.first, None)
        return code


def _stop(first: int | None, error: BaseException | None) -> int:
    """Say which signal stopped the run (``first``, or the ``error`` it
    raised); its exit status."""
    from optviz.interrupts import Terminated

    if first == signal.SIGHUP:
        return _stopped("hung up", 129)
    if first == signal.SIGTERM or isinstance(error, Terminated):
        return _stopped("terminated", 143)
    return _stopped("interrupted", 130)


def _run(argv: list[str] | None, signals: list[int]) -> int:
    """The CLI with every failure as one line on stderr and an exit code;
    interrupts, and any error that came of a signal (``signals``), go on to
    :func:`main`."""
    try:
        # without standalone mode, click returns the code of a ctx.exit(code)
        # (--help, --version, help for a bare "optviz") instead of exiting
        code = cli.main(args=argv, prog_name="optviz", standalone_mode=False)
    except click.exceptions.Abort as e:  # click's form of KeyboardInterrupt
        raise KeyboardInterrupt from e
    except click.UsageError as e:  # a bad option or argument: one line too
        where = e.ctx.command_path if e.ctx is not None else "optviz"
        click.echo(
            f"optviz: error: {e.format_message()} (see '{where} --help')", err=True
        )
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except OptvizError as e:
        if signals:
            raise
        _fail(e, f"optviz: error: {e}")
        return e.exit_code
    except OSError as e:  # an output folder that cannot be written, a full disk
        if signals:
            raise
        where = f"{e.filename}: " if e.filename else ""
        _fail(e, f"optviz: error: {where}{e.strerror or e}")
        return 1
    except Exception as e:  # a bug: still one line, and a way to report it
        if signals:
            raise
        _fail(
            e,
            f"optviz: internal error: {type(e).__name__}: {e} "
            "(please report this with the config that caused it; OPTVIZ_DEBUG=1 "
            "shows where it happened)",
        )
        return 1
    return code if isinstance(code, int) else 0


# Set by --debug for one call of main (a list: no global
# statement, and main clears it).
_debug: list[bool] = []


def debugging() -> bool:
    """Whether tracebacks are wanted: --debug, or OPTVIZ_DEBUG set to anything
    but empty or 0."""
    return bool(_debug) or os.environ.get("OPTVIZ_DEBUG", "") not in ("", "0")


def _fail(error: BaseException, line: str) -> None:
    """``line`` on stderr; in debug mode after the traceback of ``error``."""
    if debugging():
        traceback.print_exception(error, file=sys.stderr)
    click.echo(line, err=True)


def _stopped(how: str, code: int) -> int:
    click.echo(f"optviz: {how}; no output was left half-written", err=True)
    return code


if __name__ == "__main__":
    program()
