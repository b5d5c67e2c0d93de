"""The one path every output takes: config → run → scene → frames → writers.

- **run**: :func:`run_all` steps every config's optimizers from its starts
  (:mod:`optviz.optim.runner`) into a :class:`Result`; rows that several
  configs share are computed once.
- **scene**: :func:`scene` turns a result into the typed
  :class:`~optviz.draw.scene.Scene` the drawing reads (labels, colours, the
  window, :class:`~optviz.draw.scene.Look`, ``Layout``, ``Timeline``).
- **frames → writers**: :func:`write_video` has a
  :class:`~optviz.draw.figure.Renderer` draw the frames and the writers of
  :mod:`optviz.output.writers` encode them, in one process or cut into
  pieces drawn by several (:mod:`optviz.output.segments`);
  :func:`write_stills` writes single frames as PNGs.
- **many configs**: :func:`run_many` runs configs in worker processes.

The Python API (:mod:`optviz.api`) and the command line (:mod:`optviz.cli`)
both call this module and nothing below it.

Worker processes are started by ``fork`` where it is safe (the platform has
it and this process runs no thread of its own) and by ``spawn`` otherwise;
``OPTVIZ_START_METHOD`` (``fork``, ``spawn`` or ``forkserver``) chooses. A
forked worker starts with the figure the parent has built; any other builds
its own from the scene, which holds only picklable values.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

import numpy as np

from optviz import config as config_module
from optviz import explore
from optviz.config import Animation, Config
from optviz.draw.scene import Backdrop, Caption, Captions, ColourScale, Scene
from optviz.errors import ConfigError, OptvizError, RenderError
from optviz.explore import MapSpec, SweepSpec
from optviz.optim import events as run_events
from optviz.optim import runner, second_order, stream, summary, window
from optviz.optim import tune as tuner
from optviz.output import subtitles, trajectories_csv, watchdog, writers
from optviz.output.events_csv import write_events
from optviz.output.maps_csv import write_map_csv
from optviz.output.watchdog import die_with_parent
from optviz.surfaces import Surface

Progress = Callable[[int, int], None]

# ---------------------------------------------------------------------------
# run


@dataclass(frozen=True)
class Result:
    config: Config
    surface: Surface
    trajectories: tuple[runner.Trajectory, ...]
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

    def _repr_html_(self) -> str:
        """A notebook shows a result as its player (the ``html`` format),
        or, for a view the player does not draw (3-D), as its video."""
        if self.config.animation.view != "2d":
            return video_html(self)
        from optviz.output.player import inline

        return inline(player_page(self), self.config.animation.size)


def run_all(configs: Sequence[Config]) -> list[Result]:
    """Every optimizer of each config from every start, each row computed
    once per process.

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
    configs = [tune(c) for c in configs]  # lr: auto, searched first
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
        rows = list(keys)
        for first in range(0, len(rows), size):
            _run_rows(config, rows[first : first + size], list(starts.values()))
    return [_result(c) for c in configs]


def tune(config: Config) -> Config:
    """``config`` with every ``lr: auto`` replaced by the learning rate
    :func:`optviz.optim.tune.search` finds (each optimizer on its own, from
    every start, with the config's iterations); ``config.tuned`` says what
    was chosen."""
    if not any(o.auto_lr for o in config.optimizers):
        return config
    s = config.surface
    minima = np.array([m.point for m in s.minima], dtype=float)
    starts = np.array(config.starts, dtype=float)
    box = runner.divergence_box(config.xlim, config.ylim)
    specs = list(config.optimizers)
    chosen = []
    for i, spec in enumerate(specs):
        if not spec.auto_lr:
            continue
        method = spec.resolved()

        def score(rates: Sequence[float], method: Any = method, spec: Any = spec):
            rules = [method.build({**spec.params, "lr": r}) for r in rates]
            alike = dataclasses.replace(config, optimizers=(spec,) * len(rules))
            rows = runner.trajectories(
                s.f, s.grad, rules, [spec.label] * len(rules), starts,
                config.iterations, config.tolerance, box, hessian=s.hessian,
                perturb=_perturbations(alike),
            )  # fmt: skip
            n = len(starts)
            out = []
            for k in range(len(rates)):
                found = [
                    tuner.settles(t.points, minima) for t in rows[k * n : (k + 1) * n]
                ]
                out.append(
                    None if None in found else max(f for f in found if f is not None)
                )
            return out

        best = tuner.search(score)
        if best is None:
            raise ConfigError(
                f"lr: auto found no learning rate from {tuner.LOW:g} to "
                f"{tuner.HIGH:g} with which {spec.label} reaches a known minimum and "
                f"stays there from every start within {config.iterations:,} "
                "iterations; give lr a number",
                path=f"optimizers[{i}].lr",
                source=config.source,
            )
        params = dict(spec.hyperparameters)
        params["lr"] = best.lr
        specs[i] = dataclasses.replace(
            spec, hyperparameters=tuple(params.items()), auto_lr=False
        )
        chosen.append((i, spec.label, best))
    return dataclasses.replace(config, optimizers=tuple(specs), tuned=tuple(chosen))


def tuned_text(config: Config) -> list[str]:
    """What ``optviz run`` prints of the learning rates ``lr: auto`` chose."""
    return [
        f"lr: auto chose ε = {c.lr:g} for {label}: it reaches a minimum and stays "
        f"there from every start by iteration {c.settled:,} ({c.tried} rates tried)"
        for _, label, c in config.tuned
    ]


def write_tuned(config: Config, folder: Path) -> Path:
    """``<stem>.tuned.yaml`` in ``folder``: the config as written, with the
    chosen learning rates in place of ``auto`` (so the video can be made
    again without the search)."""
    import yaml

    from optviz.output.files import replace_when_done
    from optviz.validate import read_yaml

    data = read_yaml(Path(config.source))
    for i, _, c in config.tuned:
        data["optimizers"][i]["lr"] = c.lr
    path = folder / f"{config.stem}.tuned.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_when_done(path) as tmp:
        tmp.write_text(
            f"# {config.source} with lr: auto's choices filled in by optviz\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
    return path


# (group, optimizer key, start key) -> its trajectory, with read-only arrays
# (shared by every config that has the row). A per-process cache: a notebook
# that runs a config again gets it at once.
_ROWS: dict[tuple[Any, ...], runner.Trajectory] = {}
_MAX_POINTS = 2_000_000  # points kept at most; the oldest rows go first


def _shares_rows(config: Config) -> bool:
    """Whether its rows are the shared, cached ones: not with random draws,
    nor with internals kept (a run of its own keeps them)."""
    return not any(o.noise or o.batch_size or o.internals for o in config.optimizers)


def _group(config: Config) -> tuple[Any, ...]:
    """What a batch of rows shares; the surface by its functions (a surface
    is compiled once per process, so equal surfaces have the same ones)."""
    s = config.surface
    lo, hi = runner.divergence_box(config.xlim, config.ylim)
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
) -> dict[tuple[Any, ...], runner.Trajectory]:
    """Run the optimizers ``keys`` from ``starts`` on ``config``'s surface,
    iterations, tolerance and box in one batch, and keep the rows not kept
    yet (a kept row keeps its arrays, whose CSV text may be kept too); the
    rows, by key (kept or not: the oldest go when there are too many)."""
    surface, group = config.surface, _group(config)
    rules = [method.build(dict(h)) for _, h, _, method in keys]
    clip = tuple(c for _, _, c, _ in keys)
    perturb = runner.Perturbations(clip, (0.0,) * len(keys)) if any(clip) else None
    rows = runner.trajectories(
        surface.f,
        surface.grad,
        rules,
        [str(i) for i in range(len(keys))],
        np.array(starts, dtype=float),
        config.iterations,
        config.tolerance,
        runner.divergence_box(config.xlim, config.ylim),
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
            rows = list(dict.fromkeys(map(_row_key, config.optimizers)))
            found = _run_rows(config, rows, list(config.starts))
        trajectories = [
            dataclasses.replace(found[k], label=o.label, optimizer=i, start=j)
            for i, (o, row) in enumerate(zip(config.optimizers, keys))
            for j, k in enumerate(row)
        ]
    else:
        trajectories = _run_alone(config)
    if config.sweep is not None:  # a variant with a start of its own runs from it
        trajectories = [t for t in trajectories if _runs_from(config.sweep, t)]
    view = (config.xlim, config.ylim)
    if config.fit_view:
        view = window.fit(trajectories, config.xlim, config.ylim)
    return Result(config, config.surface, tuple(trajectories), view)


def _runs_from(sweep: SweepSpec, t: runner.Trajectory) -> bool:
    """Whether a run belongs to the result: a swept start (zipped, or crossed)
    ties each variant to its own."""
    i = t.optimizer - sweep.first
    if not 0 <= i < len(sweep.variants):
        return True
    start = sweep.variants[i].start
    return start is None or start == t.start


def _run_alone(config: Config) -> list[runner.Trajectory]:
    surface = config.surface
    rules = [o.resolved().build(o.params) for o in config.optimizers]
    return runner.trajectories(
        surface.f,
        surface.grad,
        rules,
        [o.label for o in config.optimizers],
        np.array(config.starts, dtype=float),
        config.iterations,
        config.tolerance,
        runner.divergence_box(config.xlim, config.ylim),
        _minibatches(config),
        hessian=surface.hessian,
        perturb=_perturbations(config),
        internals=[frozenset(o.internals) for o in config.optimizers],
    )


def _perturbations(config: Config) -> runner.Perturbations | None:
    clip = tuple(o.clip_norm for o in config.optimizers)
    noise = tuple(o.noise for o in config.optimizers)
    if not any(clip) and not any(noise):
        return None
    return runner.Perturbations(clip, noise, config.seed)


def _minibatches(config: Config) -> runner.Minibatches | None:
    sizes = tuple(o.batch_size for o in config.optimizers)
    if config.surface.examples is None or not any(sizes):
        return None
    return runner.Minibatches(config.surface.examples, sizes, config.seed)


# ---------------------------------------------------------------------------
# scene


def scene(result: Result, animation: Animation | None = None) -> Scene:
    """What the drawing draws of ``result``: its surface and trajectories,
    the legend's labels and colours, the title and title card, the window,
    and the looks, layout and timeline of ``animation`` (default: the
    config's)."""
    from optviz.draw.backdrop import optimizer_colours  # matplotlib: only to draw

    c = result.config
    animation = c.animation if animation is None else animation
    colours = optimizer_colours(
        len(c.optimizers),
        [o.color for o in c.optimizers],
        [o.method for o in c.optimizers],
    )
    look = animation.look
    if animation.backdrop == "basins":
        look = dataclasses.replace(look, backdrop=basins_backdrop(result))
    return Scene(
        surface=result.surface,
        trajectories=result.trajectories,
        labels=tuple(legend_labels(result, animation)),
        xlim=result.xlim,
        ylim=result.ylim,
        title=c.title,
        colours=tuple(colours),
        methods=tuple(o.method for o in c.optimizers),
        card=tuple(title_card(result)) if animation.title_card else (),
        look=look,
        layout=animation.layout,
        timeline=animation.timeline,
        player=animation.html,
        captions=captions(result),
    )


# The last few basin backdrops, by the result they were made for (kept with
# it, so that its id is not another's): the video and the stills of one run
# draw the same map, which takes most of a second to make.
_BACKDROPS: dict[int, tuple[Result, Backdrop]] = {}
_MAX_BACKDROPS = 4


def basins_backdrop(result: Result) -> Backdrop:
    """The basin map under a video (``animation.backdrop: basins``): the
    config's map of starts if it has one, else the basins of its first
    optimizer over the view the video shows, 256 × 256; made once per
    result."""
    kept = _BACKDROPS.get(id(result))
    if kept is not None and kept[0] is result:
        return kept[1]
    backdrop = _basins_backdrop(result)
    while len(_BACKDROPS) >= _MAX_BACKDROPS:
        del _BACKDROPS[next(iter(_BACKDROPS))]
    _BACKDROPS[id(result)] = (result, backdrop)
    return backdrop


def _basins_backdrop(result: Result) -> Backdrop:
    from optviz.draw.maps import colours, edges

    c = result.config
    spec = c.map
    if spec is None or spec.kind != "basins":
        spec = explore.basins(0, result.xlim, result.ylim)
    picture = map_picture(run_map(c, spec))
    ex, ey = edges(picture.x, False), edges(picture.y, False)
    extent = (float(ex[0]), float(ex[-1]), float(ey[0]), float(ey[-1]))
    # a pale tint of the map's colours: the paths over it keep their own
    return Backdrop(0.45 * colours(picture) + 0.55, extent, alpha=0.9)


def legend_labels(result: Result, animation: Animation | None = None) -> list[str]:
    """The optimizers' labels, with their settings when
    ``animation.hyperparameters_in_legend`` (default: the config's) asks."""
    c = result.config
    animation = c.animation if animation is None else animation
    if not animation.hyperparameters_in_legend:
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
    set away from their defaults, in the lecture's symbols (a ``torch:``
    method's, which declares none: those given, by their keys)."""
    method = spec.resolved()
    if not method.hyperparameters:
        return spec.settings()
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


# ---------------------------------------------------------------------------
# frames → writers


def start_method() -> str | None:
    """How worker processes start here: ``OPTVIZ_START_METHOD`` if set, else
    ``fork`` where it is safe (the platform has it and this process runs no
    thread of its own: a fork copies only the calling thread, so a lock
    another thread held stays locked in the child), else None: one process
    does the work (building the figure again in each worker would cost
    what the workers save on all but long videos)."""
    chosen = os.environ.get("OPTVIZ_START_METHOD", "")
    allowed = multiprocessing.get_all_start_methods()
    if chosen:
        if chosen not in allowed:
            raise OptvizError(
                f"OPTVIZ_START_METHOD={chosen!r} is not a start method of this "
                f"platform; use one of {', '.join(allowed)}"
            )
        return chosen
    if "fork" in allowed and threading.active_count() == 1:
        return "fork"
    return None


class FrameRanges:
    """Draws any range of a video's frames: what each worker of
    :func:`optviz.output.segments.encode` runs (``frames[i]`` is what frame
    ``i`` shows: an iteration, or None for the title card).

    Pickled for a worker that was not forked, it leaves its figure behind
    and the worker builds its own from the scene; a forked worker inherits
    the one already built."""

    def __init__(
        self,
        scene: Scene,
        frames: Sequence[int | None],
        renderer=None,
        cues: Sequence[Any] = (),
    ):
        self.scene = scene
        self.frames = list(frames)
        self.renderer = renderer
        self.cues = tuple(cues)  # captions drawn in the frame (draw.captions.Cue)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "renderer": None}

    def __call__(
        self, start: int, stop: int, write: Callable, tick: Callable[[], None]
    ) -> None:
        """Frames ``start`` to ``stop - 1`` into ``write``, ``tick`` after each."""
        if self.renderer is None:
            from optviz.draw.figure import Renderer

            self.renderer = Renderer(self.scene)
        renderer, frames, scene = self.renderer, self.frames, self.scene
        renderer.seek(frames[:start])
        shown: object = _NOTHING
        lines = scene.card_lines
        image: Any = None
        cues = self.cues
        words: tuple[str, ...] = ()
        for i in range(start, stop):
            # The camera is a function of the frame's index alone.
            f, camera = frames[i], scene.camera(i)
            if cues:
                words = _shown_on(cues, i)
            # A held frame is written again, not redrawn.
            if (f, camera, words) != shown:
                image = (
                    renderer.card(lines) if f is None else renderer.buffer(f, camera)
                )
                if words:
                    image = renderer.caption(words)
                shown = (f, camera, words)
            write(image)
            tick()


_NOTHING = object()  # no frame drawn yet (None stands for the title card)


def write_video(
    scene: Scene,
    formats: Sequence[str],
    out_dir: Path,
    stem: str,
    progress: Progress | None = None,
    jobs: int = 1,
    renderer: Any = None,
) -> list[Path]:
    """``out_dir/<stem>.<format>`` for each of ``formats``; the paths.

    ``scene.timeline.frames`` frames follow its schedule (see
    :mod:`optviz.draw.schedules`), then the last one stays for its ``hold``
    seconds. With ``title_card`` seconds, the first frame is shown that long
    first under a box with the scene's card lines. A format written from
    the last frame (``png``) is a still of it. ``progress(done, total)`` is
    called after each frame.

    ``jobs`` > 1 cuts a long enough video into that many contiguous ranges of
    frames, drawn and encoded in worker processes and joined losslessly
    (:mod:`optviz.output.segments`); the frames are the same either way.

    ``renderer``: a :class:`~optviz.draw.figure.Renderer` of ``scene``
    already built (a story has drawn its chapter's title card with it),
    used and closed here; default: one built here.
    """
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer

    out_dir = Path(out_dir)
    timeline = scene.timeline
    chosen = [writers.get(f) for f in formats]
    videos = [w.name for w in chosen if not (w.from_last_frame or w.from_scene)]
    renderer = Renderer(scene) if renderer is None else renderer
    try:
        with house_style():  # once around the whole loop, not per frame
            paths = []
            # A player draws its own frames from the figure's layers, taken
            # before any frame is drawn.
            staged = [w for w in chosen if w.from_scene]
            captioned = scene.captions is not None and scene.captions.drawn
            wanted = staged or videos or captioned
            schedule = renderer.schedule() if wanted else []
            if staged:
                shown = _stage(renderer, schedule)
                for w in staged:
                    paths.append(w.scene(w.path(out_dir, stem), shown))
            frames = timeline.sequence(schedule)
            cues = _cues(scene, frames) if len(schedule) else ()
            drawn = cues if captioned else ()
            # The stills and a stream's palette (the GIF's) are all the last
            # frame, which holds every line: drawn once for them all (with
            # the captions the video's last frame shows).
            last = None
            if any(w.from_last_frame or w.wants_last_frame for w in chosen):
                end = scene.camera(timeline.total_frames - 1)
                last = renderer.frame(renderer.last, end)
                words = _shown_on(drawn, len(frames) - 1)
                if words:
                    last = np.array(renderer.caption(words), copy=True)
            for w in chosen:
                if w.from_last_frame:
                    assert last is not None
                    paths.append(w.still(w.path(out_dir, stem), last))
            if not videos:
                if progress is not None:  # nothing to count: all done
                    progress(timeline.total_frames, timeline.total_frames)
                return paths
            draw = FrameRanges(scene, frames, renderer, drawn)
            wants = any(writers.get(f).wants_last_frame for f in videos)
            written = encode_frames(
                draw, frames, renderer.size, timeline.fps, videos, out_dir, stem,
                palette=last if wants else None, progress=progress, jobs=jobs,
            )  # fmt: skip
            if scene.captions is not None:
                written.append(write_subtitles(cues, timeline.fps, out_dir, stem))
            # The still last, as a video's files are listed in their format order.
            return [*written, *paths]
    except OverflowError as e:  # Agg: "Exceeded cell block limit" and the like
        raise RenderError(f"matplotlib could not draw a frame: {e}") from e
    finally:
        renderer.close()


def encode_frames(
    draw: Callable[[int, int, Callable, Callable[[], None]], None],
    frames: Sequence[int | None],
    size: tuple[int, int],
    fps: float,
    formats: Sequence[str],
    out_dir: Path,
    stem: str,
    palette: np.ndarray | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
) -> list[Path]:
    """The video ``out_dir/<stem>.<format>`` of the stream formats
    ``formats``, ``draw(start, stop, write, tick)`` making its frames
    (``frames[i]``: what frame ``i`` shows), in one process or, with ``jobs``
    > 1, cut into pieces drawn by that many (``draw`` is then pickled for a
    worker not forked)."""
    method = start_method() if jobs > 1 else None
    cuts = [(0, len(frames))]
    if method is not None:
        from optviz.output import segments

        # A held frame costs its encoding only, not its drawing.
        previous = [_NOTHING, *frames]
        costs = [1.0 if f != g else 0.3 for f, g in zip(frames, previous)]
        multiple = segments.joint_multiple(fps, formats)
        cuts = segments.ranges(costs, jobs, multiple)
    if len(cuts) > 1:
        assert method is not None
        return segments.encode(
            draw,
            cuts,
            out_dir=out_dir,
            stem=stem,
            size=size,
            fps=fps,
            formats=formats,
            palette=palette,
            progress=progress,
            start_method=method,
        )
    encoder = writers.Streams(out_dir, stem, size, fps, formats, last=palette)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(frames))

    with encoder:
        draw(0, len(frames), encoder.write, tick)
    return list(encoder.paths)


def _stage(renderer, schedule: Sequence[int]):
    """What a player draws of ``renderer``'s scene, whose video shows
    ``schedule``: :class:`optviz.draw.stage.Stage`."""
    from optviz.draw.stage import stage

    try:
        return stage(renderer, schedule, renderer.scene.player)
    except ValueError as e:  # a view the player does not draw
        raise OptvizError(f"cannot write the html player: {e}") from e


def player_page(result: Result) -> str:
    """The ``html`` format's page of ``result`` as text: what a notebook
    shows (:meth:`Result._repr_html_`)."""
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer
    from optviz.output import player

    check_player(result.config)
    if result.config.sweep is not None:
        return player.page(sweep_stage(result), result.config.stem)
    renderer = Renderer(scene(result))
    try:
        with house_style():
            shown = _stage(renderer, renderer.schedule())
    finally:
        renderer.close()
    return player.page(shown, result.config.stem)


def video_html(result: Result) -> str:
    """``result``'s MP4 inside an HTML5 ``<video>`` (the file embedded)."""
    import base64
    import tempfile

    c = result.config
    with tempfile.TemporaryDirectory(prefix="optviz-video-") as folder:
        (path,) = write_video(scene(result), ["mp4"], Path(folder), c.stem)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    w, h = c.animation.size
    return (
        f'<video controls loop muted playsinline width="{w}" height="{h}" '
        f'style="max-width:100%;height:auto" src="data:video/mp4;base64,{data}">'
        "</video>"
    )


def check_player(config: Config) -> None:
    """A ConfigError (one line, the config's file) if ``config`` has a view
    the html player does not draw."""
    view = config.animation.view
    if view != "2d":
        raise ConfigError(
            f"the html player shows the 2-D view only; this config has view: {view}",
            path="animation.view",
            source=config.source,
        )
    if config.sweep is not None:
        try:
            explore.check_player(config.sweep)
        except ConfigError as e:
            raise e.at(source=config.source) from None


def write_stills(
    scene: Scene,
    shots: Sequence[tuple[Path, int | None]],
    frames: bool = False,
) -> list[Path]:
    """Several frames drawn with one figure: each ``(path, which)`` of
    ``shots`` becomes a PNG; ``which`` is an iteration (None: the last), or,
    with ``frames``, an index into the animation's frame schedule."""
    from optviz.draw.figure import stills

    images = stills(scene, [which for _, which in shots], frames=frames)
    return [writers.save_png(path, image) for (path, _), image in zip(shots, images)]


def show_surface(
    name: str, parameters: dict[str, str], output: Path | None = None
) -> Path:
    """``optviz show``: the surface ``name`` (built-in, or a surface file)
    with ``parameters`` set, drawn alone to ``output`` (default:
    ``out/<surface>.png``)."""
    spec: Any = {"name": name, **parameters} if parameters else name
    built = config_module.parse_surface(spec, source="optviz show")
    path = output if output is not None else Path("out") / f"{built.name}.png"
    return surface_still(built, path)


def surface_still(
    surface: Surface, path: Path, size: tuple[int, int] = (800, 600), dpi: int = 100
) -> Path:
    """A PNG of ``surface`` alone: contours, minima, saddles and starts."""
    from optviz.draw.figure import surface_picture

    return writers.save_png(path, surface_picture(surface, size, dpi))


# ---------------------------------------------------------------------------
# captions and events


def events(result: Result) -> tuple[run_events.Event, ...]:
    """What happened in ``result``'s runs (:func:`optviz.optim.events.events`:
    a diverged run leaves the view the video shows)."""
    view = (result.xlim, result.ylim)
    return run_events.events(result.trajectories, result.surface.minima, view)


def captions(result: Result) -> Captions | None:
    """The captions of ``result``'s video (None: its config has none): the
    config's cues, an event's at the iteration it happened, then with
    ``events: true`` every event's own. A ConfigError (its key path) names a
    cue whose event never happens, listing those that do, and one after the
    last iteration any run reached."""
    spec = result.config.captions
    if spec is None:
        return None
    if not result.trajectories:  # a scene made for its colours or legend alone
        return Captions((), spec.draw, spec.position)
    c = result.config
    happened = events(result) if spec.events or _refers_to_events(spec) else ()
    last = max((t.stopped_at for t in result.trajectories if len(t.points)), default=0)
    items = []
    for cue in spec.cues:
        if isinstance(cue.at, config_module.EventRef):
            ref = cue.at
            found = [
                e
                for e in happened
                if e.kind == ref.kind and ref.optimizer in (None, e.label)
            ]
            if not found:
                whose = f" of {ref.optimizer}" if ref.optimizer else ""
                kinds = sorted({f"{e.kind} ({e.label})" for e in happened})
                raise ConfigError(
                    f"no event {ref.kind!r}{whose} happens in this run; those that "
                    f"do: {', '.join(kinds) if kinds else 'none'}",
                    path=f"{cue.path}.at",
                    source=c.source,
                )
            at = found[0].iteration
        else:
            at = cue.at
            if at > last:
                raise ConfigError(
                    f"iteration {at:,} is after the last one the video shows, "
                    f"{last:,} (every run has stopped by then)",
                    path=f"{cue.path}.at",
                    source=c.source,
                )
        items.append(Caption(at, cue.text, cue.seconds))
    if spec.events:
        items += [Caption(e.iteration, e.text, spec.seconds) for e in happened]
    return Captions(tuple(items), spec.draw, spec.position)


def _refers_to_events(spec: config_module.CaptionsSpec) -> bool:
    return any(isinstance(q.at, config_module.EventRef) for q in spec.cues)


def _cues(scene: Scene, frames: Sequence[int | None]) -> tuple[Any, ...]:
    """The frames of each of ``scene``'s captions in the video whose frame
    ``i`` shows ``frames[i]`` (:mod:`optviz.draw.captions`)."""
    if scene.captions is None or not scene.captions.items:
        return ()
    from optviz.draw.captions import cues

    return cues(scene.captions.items, frames, scene.timeline.fps)


def _shown_on(cues: Sequence[Any], frame: int) -> tuple[str, ...]:
    if not cues:
        return ()
    from optviz.draw.captions import shown_on

    return shown_on(cues, frame)


def write_subtitles(cues: Sequence[Any], fps: float, out_dir: Path, stem: str) -> Path:
    """``out_dir/<stem>.vtt``: each cue from its first frame's time to its
    last frame's end."""
    timed = [
        subtitles.Cue(q.start_seconds(fps), q.end_seconds(fps), q.text) for q in cues
    ]
    return subtitles.write_vtt(timed, Path(out_dir) / f"{stem}.vtt")


def write_events_csv(result: Result, output: str | Path | None = None) -> Path:
    """``events.csv`` in the output folder."""
    return write_events(events(result), output_dir(result, output) / "events.csv")


# ---------------------------------------------------------------------------
# a config's outputs


@dataclass(frozen=True)
class Outputs:
    """What is written of a run besides ``trajectories.csv``."""

    video: bool = True  # the config's animation.formats
    still: bool = False  # the last frame as <stem>.png
    frames: tuple[int, ...] = ()  # frame K as <stem>-frame-K.png
    jobs: int = 1  # processes for one video
    html: bool = False  # the player as <stem>.html, whatever the formats

    @property
    def draws(self) -> bool:
        """Whether anything is drawn (else only numbers are written)."""
        return self.video or self.still or bool(self.frames) or self.html

    def formats(self, config: Config) -> tuple[str, ...]:
        """The formats written of ``config``: its own with ``video``, and
        ``html`` with ``html``."""
        chosen = config.animation.formats if self.video else ()
        if self.html and "html" not in chosen:
            chosen = (*chosen, "html")
        return chosen


def output_dir(result: Result, output: str | Path | None = None) -> Path:
    return Path(output) if output is not None else result.config.output


def write_csv(result: Result, output: str | Path | None = None) -> Path:
    """``trajectories.csv`` in the output folder."""
    path = output_dir(result, output) / "trajectories.csv"
    return trajectories_csv.write_csv(result.trajectories, path)


def render(
    result: Result,
    output: str | Path | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    formats: Sequence[str] | None = None,
) -> list[Path]:
    """The animation in every format the config asks for, or in
    ``formats`` (see :func:`write_video`)."""
    c = result.config
    chosen = c.animation.formats if formats is None else tuple(formats)
    if "html" in chosen:
        check_player(c)
    return write_video(
        scene(result),
        chosen,
        output_dir(result, output),
        c.stem,
        progress=progress,
        jobs=jobs,
    )


def stills(
    result: Result,
    output: str | Path | None = None,
    last: bool = True,
    frames: Sequence[int] = (),
) -> list[Path]:
    """PNGs in the output folder, drawn with one figure: ``<stem>.png`` (the
    last frame) if ``last``, and ``<stem>-frame-K.png`` for each K of
    ``frames`` (an index into the animation's frames, 0 first)."""
    c = result.config
    folder = output_dir(result, output)
    shots: list[tuple[Path, int | None]] = (
        [(folder / f"{c.stem}.png", None)] if last else []
    )
    shots += [(folder / f"{c.stem}-frame-{k}.png", k) for k in dict.fromkeys(frames)]
    if not shots:
        return []
    return write_stills(scene(result), shots, frames=True)


def write_outputs(
    result: Result,
    output: str | Path | None = None,
    outputs: Outputs = Outputs(),
    progress: Progress | None = None,
) -> list[Path]:
    """The CSV, then what ``outputs`` asks for: the video, the stills."""
    captions(result)  # a cue at an event that never happens: before any file
    paths = [write_csv(result, output)]
    spec = result.config.captions
    if spec is not None and spec.events:
        paths.append(write_events_csv(result, output))
    if result.config.tuned and result.config.source:
        paths.append(write_tuned(result.config, output_dir(result, output)))
    formats = outputs.formats(result.config)
    if formats and result.config.sweep is not None:
        paths += write_sweep(result, output, progress, outputs.jobs, formats)
    elif formats:
        paths += render(result, output, progress, jobs=outputs.jobs, formats=formats)
    if outputs.still or outputs.frames:
        paths += stills(result, output, last=outputs.still, frames=outputs.frames)
    return paths


# ---------------------------------------------------------------------------
# what a run reports


def report(result: Result, video: bool = True) -> str:
    """What ``optviz run`` prints after a run: :func:`summary_table`, and with
    a ``video``, :func:`timeline_note` when there is one."""
    note = timeline_note(result) if video else None
    lines = [summary_table(result), *tuned_text(result.config)]
    return "\n".join(lines) + (f"\n{note}" if note else "")


def timeline_note(result: Result) -> str | None:
    """How a run with fewer iterations than frames fills them (each iteration
    is held for several frames: the video lasts what the config asks), or
    None when there are iterations enough."""
    timeline = result.config.animation.timeline
    drawn = [
        window.drawn_iterations(t, result.xlim, result.ylim)
        for t in result.trajectories
        if len(t.points)
    ]
    points = max(drawn, default=0) + 1  # iterations 0 .. last
    frames = timeline.frames
    if points >= frames:
        return None
    fewest, most = frames // points, -(-frames // points)
    each = f"{fewest}" if fewest == most else f"{fewest} or {most}"
    return (
        f"note: {points - 1} iterations are fewer than the {frames} frames: each "
        f"iteration is held for {each} frames ({frames / timeline.fps:g} s of "
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


# ---------------------------------------------------------------------------
# sweeps


def _swept(result: Result) -> tuple[SweepSpec, range]:
    spec = result.config.sweep
    assert spec is not None
    return spec, range(spec.first, spec.first + len(spec.variants))


def sweep_scale(result: Result) -> ColourScale | None:
    """The colour scale of a sweep over one number (None: several, or only
    starts): log where the values are positive and span a factor of 10."""
    spec, _ = _swept(result)
    key = spec.coloured_by
    if key is None:
        return None
    values = [dict(v.values)[key] for v in spec.variants]
    low, high = min(values), max(values)
    if low == high:
        return None
    log = low > 0 and high / low >= 10
    symbol = spec.symbols[spec.keys.index(key)]
    return ColourScale(f"{symbol} ({key})" if symbol != key else key, low, high, log)


def overlay_scene(result: Result) -> Scene:
    """Every variant in one plot, coloured by the swept value (a colour bar
    says which), the optimizers not swept in their own colours."""
    spec, variants = _swept(result)
    base = scene(result)
    scale = sweep_scale(result)
    if scale is None:
        return base
    key = spec.coloured_by
    assert key is not None  # else no scale
    values = [dict(v.values)[key] for v in spec.variants]
    colours = list(base.colours)
    colours[variants.start : variants.stop] = scale.colours(values)
    listed = tuple(i not in variants for i in range(len(colours)))
    return dataclasses.replace(
        base, colours=tuple(colours), in_legend=listed, colour_scale=scale
    )


GRID_WIDTH = 1280  # pixels: a sweep's grid of cells at most this wide


def cell_scenes(result: Result, overlay: Scene | None = None) -> list[Scene]:
    """One scene per variant: its runs and those of the optimizers not
    swept, titled with its values, with no counter (the grid has one)."""
    spec, variants = _swept(result)
    overlay = overlay or overlay_scene(result)
    columns, _ = explore_grid(len(variants))
    # Each cell the video's frame, shrunk so that the grid is at most
    # GRID_WIDTH pixels wide; its text shrinks less than its size (by the
    # square root), so that it stays readable.
    w, h = overlay.layout.size
    scale = min(1.0, GRID_WIDTH / (columns * w))
    width, height = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2
    dpi = max(20, round(overlay.layout.figure_dpi * scale**0.5))
    layout = dataclasses.replace(overlay.layout, size=(width, height), dpi=dpi)
    cells = []
    for i in variants:
        keep = tuple(
            t
            for t in result.trajectories
            if t.optimizer == i or t.optimizer not in variants
        )
        label = result.config.optimizers[i].label
        words = label[len(spec.optimizer) + 1 :]
        listed = tuple(j == i or j not in variants for j in range(len(overlay.colours)))
        cells.append(
            dataclasses.replace(
                overlay,
                trajectories=keep,
                title=words,
                layout=layout,
                counter=False,
                in_legend=listed,
                colour_scale=None,
                card=(),
            )
        )
    return cells


def explore_grid(count: int) -> tuple[int, int]:
    """(columns, rows) of a sweep's grid (:func:`optviz.draw.sweeps.grid_shape`:
    imported when drawing, as matplotlib is)."""
    from optviz.draw.sweeps import grid_shape

    return grid_shape(count)


class CellRanges:
    """Draws any range of a sweep's grid video: every cell at the frame's
    iteration under one header (like :class:`FrameRanges`, picklable)."""

    def __init__(self, cells: Sequence[Scene], frames: Sequence[int], title: str):
        self.cells = list(cells)
        self.frames = list(frames)
        self.title = title
        self.renderers: list[Any] | None = None
        self.header: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "renderers": None, "header": None}

    def build(self) -> None:
        from optviz.draw import themes
        from optviz.draw.figure import Renderer
        from optviz.draw.sweeps import Header

        self.renderers = [Renderer(c) for c in self.cells]
        first = self.renderers[0]
        columns, _ = explore_grid(len(self.cells))
        dpi = first.figure.dpi
        height = max(2, round(first.size[1] * 0.14) // 2 * 2)
        look = themes.get(self.cells[0].look.theme)
        self.header = Header(columns * first.size[0], height, self.title, dpi, look)
        self.fill = np.asarray(first.buffer(0))[0, 0].copy()

    @property
    def size(self) -> tuple[int, int]:
        if self.renderers is None:
            self.build()
        assert self.renderers is not None
        columns, rows = explore_grid(len(self.cells))
        w, h = self.renderers[0].size
        return columns * w, self.header.size[1] + rows * h

    def frame(self, k: int) -> np.ndarray:
        from optviz.draw.sweeps import compose

        if self.renderers is None:
            self.build()
        assert self.renderers is not None
        columns, _ = explore_grid(len(self.cells))
        cells = [np.asarray(r.buffer(k)) for r in self.renderers]
        return compose(cells, columns, self.header.image(k), self.fill)

    def __call__(
        self, start: int, stop: int, write: Callable, tick: Callable[[], None]
    ) -> None:
        if self.renderers is None:
            self.build()
        assert self.renderers is not None
        for r in self.renderers:
            r.seek(self.frames[:start])
        shown: object = _NOTHING
        image: Any = None
        for f in self.frames[start:stop]:
            if f != shown:
                image = self.frame(f)
                shown = f
            write(image)
            tick()

    def close(self) -> None:
        for r in self.renderers or ():
            r.close()


def write_sweep(
    result: Result,
    output: str | Path | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    formats: Sequence[str] | None = None,
) -> list[Path]:
    """A sweep's outputs in ``formats`` (default: the config's): with
    ``html``, ``<stem>.html`` the player, a slider over the variants; with
    any other, as its ``show`` asks: ``<stem>.<format>`` the grid of cells
    (up to :data:`optviz.explore.MAX_CELLS` variants),
    ``<stem>-overlay.<format>`` every variant in one plot, and
    ``<stem>-loss.png`` the loss curves."""
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer

    spec, variants = _swept(result)
    c = result.config
    out = output_dir(result, output)
    chosen = tuple(c.animation.formats if formats is None else formats)
    paths: list[Path] = []
    if "html" in chosen:
        paths.append(write_sweep_player(result, writers.get("html").path(out, c.stem)))
    chosen = tuple(f for f in chosen if f != "html")
    if not chosen:
        return paths
    formats = [f for f in chosen if not writers.get(f).from_last_frame]
    overlay = overlay_scene(result)
    schedule_of = Renderer(overlay)
    try:
        frames = [
            k if k is not None else 0
            for k in dataclasses.replace(overlay.timeline, title_card=0.0).sequence(
                schedule_of.schedule()
            )
        ]
    finally:
        schedule_of.close()
    if "cells" in spec.show and len(variants) <= explore.MAX_CELLS and formats:
        cells = cell_scenes(result, overlay)
        draw = CellRanges(cells, frames, c.title or spec.optimizer)
        try:
            with house_style():
                last = draw.frame(frames[-1])
                paths += encode_frames(
                    draw, frames, draw.size, overlay.timeline.fps, formats, out,
                    c.stem, palette=last, progress=progress, jobs=jobs,
                )  # fmt: skip
        finally:
            draw.close()
    if "overlay" in spec.show:
        paths += write_video(overlay, chosen, out, f"{c.stem}-overlay", progress, jobs)
    if "loss" in spec.show:
        paths.append(write_loss(result, out / f"{c.stem}-loss.png", overlay))
    return paths


def write_loss(result: Result, path: Path, overlay: Scene | None = None) -> Path:
    """The loss of every run against the iteration, as a PNG."""
    from optviz.draw.sweeps import LossCurves, loss_picture

    overlay = overlay or overlay_scene(result)
    spec, _ = _swept(result)
    c = result.config
    runs = [t for t in result.trajectories if len(t.loss)]
    labels = tuple(
        c.optimizers[t.optimizer].label
        if (not overlay.in_legend or overlay.in_legend[t.optimizer])
        and t.start == min(u.start for u in runs if u.optimizer == t.optimizer)
        else ""
        for t in runs
    )
    minima = [m.value for m in c.surface.minima]
    curves = LossCurves(
        tuple(t.loss for t in runs),
        tuple(overlay.colours[t.optimizer] or "black" for t in runs),
        labels,
        title=f"{spec.optimizer}: the cost against the iteration",
        f_min=min(minima) if minima else None,
        scale=overlay.colour_scale,
    )
    layout = c.animation.layout
    image = loss_picture(curves, size=layout.size, dpi=layout.figure_dpi)
    return writers.save_png(path, image)


# ---------------------------------------------------------------------------
# a sweep's player


def sweep_player_scenes(result: Result) -> tuple[list[Scene], list[int]]:
    """What a sweep's player shows: one scene per variant (its runs and those
    of the optimizers not swept, in the overlay's colours, the legend naming
    it) and the iterations the page's frames show. Every variant's legend
    goes where a scene of all the variants puts it (unless the config names
    a place), so that it covers no variant's path and the view is laid out
    alike under every variant; the schedule is that scene's too."""
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer
    from optviz.draw.scene import LEGEND_SPOTS

    _, variants = _swept(result)
    overlay = overlay_scene(result)

    def of(i: int, trajectories: Sequence[runner.Trajectory], layout) -> Scene:
        listed = tuple(j == i or j not in variants for j in range(len(overlay.colours)))
        return dataclasses.replace(
            overlay,
            trajectories=tuple(trajectories),
            in_legend=listed,
            colour_scale=None,
            layout=layout,
        )

    others = [j for j in range(len(overlay.colours)) if j not in variants]
    every = of(variants.start, result.trajectories, overlay.layout)
    with house_style():
        renderer = Renderer(every)
        try:
            spot = renderer.legend_spot
            schedule = [int(k) for k in renderer.schedule()]
        finally:
            renderer.close()
    layout = overlay.layout
    if layout.legend == "auto":
        if spot not in LEGEND_SPOTS:  # outside: as auto puts it
            spot = "outside bottom" if layout.panels else "outside right"
        layout = dataclasses.replace(layout, legend=spot)
    scenes = []
    for i in variants:
        own = [t for t in result.trajectories if t.optimizer in (i, *others)]
        scenes.append(of(i, own, layout))
    return scenes, schedule


def sweep_sliders(result: Result) -> tuple[Any, ...]:
    """The sliders of a sweep's player (:class:`optviz.draw.stage.Slider`):
    one per swept key when the sweep crosses them, else one over the
    variants naming every key."""
    from optviz.draw.stage import Slider

    spec, _ = _swept(result)
    starts = result.config.starts

    def name(key: str) -> str:
        if key == "starts":
            return "start"
        symbol = spec.symbols[spec.keys.index(key)]
        return f"{symbol} ({key})" if symbol != key else key

    def text(v: explore.Variant, key: str) -> str:
        if key == "starts":
            assert v.start is not None
            x, y = starts[v.start]
            return f"({x:g}, {y:g})"
        return f"{dict(v.values)[key]:g}"

    columns = [
        list(dict.fromkeys(text(v, k) for v in spec.variants)) for k in spec.keys
    ]
    crossed = spec.combine == "cross" or len(spec.keys) == 1
    if crossed and math.prod(len(c) for c in columns) == len(spec.variants):
        return tuple(Slider(name(k), tuple(c)) for k, c in zip(spec.keys, columns))
    return (
        Slider(
            ", ".join(name(k) for k in spec.keys),
            tuple(", ".join(text(v, k) for k in spec.keys) for v in spec.variants),
        ),
    )


def sweep_stage(result: Result) -> Any:
    """A sweep's player (:class:`optviz.draw.stage.SweepStage`): a stage of
    each of :func:`sweep_player_scenes`, on their one schedule."""
    from optviz.draw.backdrop import house_style
    from optviz.draw.figure import Renderer
    from optviz.draw.stage import SweepStage

    check_player(result.config)
    _, variants = _swept(result)
    scenes, schedule = sweep_player_scenes(result)
    stages = []
    with house_style():
        for s in scenes:
            renderer = Renderer(s)
            try:
                stages.append(_stage(renderer, schedule))
            finally:
                renderer.close()
    return SweepStage(tuple(stages), variants, sweep_sliders(result))


def write_sweep_player(result: Result, path: Path) -> Path:
    """``path``: a sweep's player, a slider over its variants."""
    from optviz.output import player

    return player.write(path, sweep_stage(result))


# ---------------------------------------------------------------------------
# maps


@dataclass(frozen=True)
class MapResult:
    """A map of one optimizer of ``config``: the grid's points (R, 2) on the
    map's axes, and each row's outcome (:mod:`optviz.optim.stream`)."""

    config: Config
    spec: MapSpec
    where: np.ndarray
    outcomes: stream.Outcomes

    @property
    def minima(self) -> tuple[tuple[float, float], ...]:
        """The targets, in the order ``outcomes.target`` indexes them."""
        return tuple(m.point for m in self.config.surface.minima)


def run_map(config: Config, spec: MapSpec | None = None) -> MapResult:
    """The config's ``map:`` (or ``spec``; default: the basins of its first
    optimizer over its window), run without history."""
    if spec is None:
        spec = config.map or explore.basins(0, config.xlim, config.ylim)
    explore.check_size(spec.rows, config.iterations, "map")
    rules, starts, where = explore.grid_rows(spec, config.optimizers, config.starts)
    s = config.surface
    problem = second_order.Problem(s.f, s.grad, s.hessian)
    found = stream.outcomes(
        s.grad,
        rules,
        starts,
        config.iterations,
        runner.divergence_box(config.xlim, config.ylim),
        [m.point for m in s.minima],
        spec.radius,
        problem,
    )
    return MapResult(config, spec, where, found)


def map_picture(result: MapResult) -> Any:
    """What :mod:`optviz.draw.maps` draws of ``result``."""
    from optviz.draw.maps import MapPicture, named

    spec, c = result.spec, result.config
    nx, ny = spec.x.count, spec.y.count
    o = result.outcomes
    label = c.optimizers[spec.optimizer].label
    if spec.kind == "basins":
        marks = tuple((float(x), float(y)) for x, y in c.starts)
        title = f"{label} on {c.surface.name}: where each start goes"
    else:
        params = c.optimizers[spec.optimizer].params
        marks = ((float(params[spec.x.key]), float(params[spec.y.key])),)
        start = ", ".join(f"{v:g}" for v in c.starts[0])
        title = f"{label} on {c.surface.name} from ({start})"
    return MapPicture(
        kind=spec.kind,
        x=spec.x.values(),
        y=spec.y.values(),
        outcome=o.outcome.reshape(ny, nx),
        target=o.target.reshape(ny, nx),
        iteration=o.iteration.reshape(ny, nx),
        iterations=c.iterations,
        x_label=spec.x.key,
        y_label=spec.y.key,
        x_log=spec.x.log,
        y_log=spec.y.log,
        title=title,
        minima=result.minima,
        marks=marks,
        minimum_names=named(result.minima),
    )


MAP_LEAST = (480, 360)  # pixels: a map picture at least this large


def map_summary(result: MapResult) -> str:
    """One line: how many grid points reached each minimum, diverged, or
    neither."""
    o = result.outcomes
    total = len(o)
    reached = o.outcome == stream.Outcome.REACHED
    parts = []
    for j, (x, y) in enumerate(result.minima):
        count = int(np.count_nonzero(reached & (o.target == j)))
        if count:
            parts.append(f"{count:,} reached minimum {j} ({x:.3g}, {y:.3g})")
    diverged = int(np.count_nonzero(o.outcome == stream.Outcome.DIVERGED))
    neither = total - int(reached.sum()) - diverged
    parts += [f"{diverged:,} diverged", f"{neither:,} reached none"]
    return f"{total:,} points: " + ", ".join(parts)


def write_map(result: MapResult, folder: str | Path | None = None) -> list[Path]:
    """``map.png`` and ``map.csv`` in the output folder."""
    from optviz.draw.maps import picture

    c = result.config
    out = Path(folder) if folder is not None else c.output
    # the video's size, but never too small for the legend and colour bar
    w, h = c.animation.size
    size = (max(w, MAP_LEAST[0]), max(h, MAP_LEAST[1]))
    image = picture(map_picture(result), size=size)
    keys = (result.spec.x.key, result.spec.y.key)
    csv_path = write_map_csv(out / "map.csv", keys, result.where, result.outcomes)
    return [writers.save_png(out / "map.png", image), csv_path]


# ---------------------------------------------------------------------------
# many configs


@dataclass(frozen=True)
class Task:
    """One config of a command line: where it comes from, and its folder."""

    path: Path
    config: Config
    folder: Path


def plan(
    paths: Sequence[Path],
    output: Path | None,
    frames: Sequence[int] = (),
    html: bool = False,
) -> list[Task]:
    """Load every config up front (the first bad one stops everything before
    anything runs) and give each its folder: ``output`` for one config,
    ``output/<config name>`` for several, else the config's own. Two
    configs that would write the same files, a frame index past a
    config's last, or ``html`` (the player) for a view it does not draw,
    are errors."""
    loaded = [config_module.load(path) for path in paths]
    tasks = [
        Task(
            path,
            c,
            (output / c.stem if len(loaded) > 1 else output) if output else c.output,
        )
        for path, c in zip(paths, loaded)
    ]
    seen: dict[Path, Path] = {}
    for task in tasks:
        other = seen.setdefault(task.folder.resolve() / task.config.stem, task.path)
        if other != task.path:
            raise ConfigError(
                f"would write {task.folder / task.config.stem}.* like {other}; give "
                "one of them another output folder, or run them separately",
                source=str(task.path),
            )
    for task in tasks:
        if html:
            check_player(task.config)
        count = task.config.animation.frames
        if frames and max(frames) >= count:
            raise ConfigError(
                f"has {count} frames (0 to {count - 1}); got {max(frames)} for --frame",
                source=str(task.path),
            )
    return tasks


def render_config(path: Path, folder: Path, outputs: Outputs) -> tuple[str, list[Path]]:
    """Load, run and write one config file: its report and the paths (what a
    worker of :func:`run_many` does: it takes a path, and reads the config
    again, as plug-ins and caches are per process)."""
    result = run_all([config_module.load(path)])[0]
    paths = write_outputs(result, folder, outputs)
    return report(result, outputs.video), paths


STOP_SECONDS = 10.0  # a worker told to stop may clean up this long


def run_many(
    tasks: Sequence[Task],
    workers: int,
    outputs: Outputs,
    done: Callable[[int], None] | None = None,
) -> list[tuple[str, list[Path]]]:
    """:func:`render_config` of every task in up to ``workers`` processes
    at once; each task's (report, paths), in the order given. ``done(i)`` is
    called as task ``i`` finishes.

    The first task (in that order) that fails stops the run with its error,
    naming its config, as it would one config at a time: later tasks are
    not started, or stopped if running (SIGTERM: a worker cleans up its
    partial files and ends); earlier ones still finish. Workers never
    outlive the parent (on Linux they get SIGKILL when it dies).
    """
    method = start_method() or "spawn"
    # any of the start methods: BaseContext does not declare Process
    context: Any = multiprocessing.get_context(method)
    results: list[tuple[str, list[Path]] | None] = [None] * len(tasks)
    waiting = list(range(len(tasks)))
    running: dict[Connection, tuple[int, Any]] = {}
    failed: tuple[int, OptvizError] | None = None
    try:
        while waiting or running:
            while waiting and len(running) < workers and failed is None:
                i = waiting.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=_work,
                    args=(tasks[i].path, tasks[i].folder, outputs, send, os.getpid()),
                    name=f"optviz-config-{i}",
                    daemon=False,  # a worker may start segment workers of its own
                )
                with watchdog.forking():  # signals held until it is started
                    process.start()
                send.close()  # ours: EOF comes when the worker ends
                running[receive] = (i, process)
            if failed is not None:
                waiting.clear()
                for i, process in list(running.values()):
                    if i > failed[0]:
                        process.terminate()
            if not running:
                break
            for ready in wait(list(running)):
                receive = cast(Connection, ready)
                i, process = running.pop(receive)
                try:
                    outcome = receive.recv()
                except EOFError:
                    outcome = None
                process.join()
                receive.close()
                if outcome is not None and outcome[0] == "ok":
                    results[i] = (outcome[1], outcome[2])
                    if done is not None:
                        done(i)
                    continue
                if failed is not None and i > failed[0]:
                    continue  # stopped by us
                if outcome is None:
                    code = process.exitcode
                    how = f"signal {-code}" if code and code < 0 else f"code {code}"
                    message, code, trace = f"its worker ended ({how})", 1, ""
                else:
                    _, message, code, trace = outcome
                source = str(tasks[i].path)
                if not message.startswith(source):  # name the config
                    message = f"{source}: {message}"
                error = OptvizError(message)
                error.exit_code = code
                error.__cause__ = WorkerTraceback(trace)
                if failed is None or i < failed[0]:
                    failed = (i, error)
        if failed is not None:
            raise failed[1]
        return [r for r in results if r is not None]
    finally:
        for _, process in running.values():
            if process.is_alive():
                process.terminate()
        for receive, (_, process) in running.items():
            process.join(STOP_SECONDS)  # its cleanup: then it is killed
            if process.is_alive():
                process.kill()
                process.join()
            receive.close()


class WorkerTraceback(Exception):
    """Where a worker's error came from, as the worker's traceback text."""

    def __str__(self) -> str:
        return f"\n\n(in a worker process)\n{self.args[0]}"


def _work(
    path: Path, folder: Path, outputs: Outputs, send: Connection, parent: int
) -> None:
    """In a worker process: one config, its outcome sent as data (one line
    and an exit code for an error), never a traceback on the terminal.
    ``parent``: the process that started it, whose death ends it (checked
    once more after the death signal is set: the parent may have died
    already)."""
    from optviz.interrupts import Interrupts

    # Ctrl-C and a hang-up reach the whole process group: the parent too,
    # which stops us with SIGTERM; that is raised here as an interrupt (once:
    # a second one does not cut the cleanup short), so every cleanup runs.
    try:
        with Interrupts():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            die_with_parent()
            _work_on(path, folder, outputs, send)
    except KeyboardInterrupt:  # stopped while reporting: the parent knows why
        os._exit(143)
    except BaseException:  # nothing of a worker's end reaches the terminal
        os._exit(1)


def _work_on(path: Path, folder: Path, outputs: Outputs, send: Connection) -> None:
    try:
        table, paths = render_config(path, folder, outputs)
        send.send(("ok", table, paths))
    except KeyboardInterrupt:  # SIGTERM: cleaned up; the parent knows why
        os._exit(143)
    except OptvizError as e:
        send.send(("error", str(e), e.exit_code, traceback.format_exc()))
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        text = f"{where}{e.strerror or e}"
        send.send(("error", text, 1, traceback.format_exc()))
    except Exception as e:  # a bug: one line in the parent, with the traceback
        text = f"internal error: {type(e).__name__}: {e}"
        send.send(("error", text, 1, traceback.format_exc()))
    finally:
        send.close()
