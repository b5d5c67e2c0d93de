"""YAML configs → validated, typed, frozen objects.

Every problem is a :class:`~optviz.errors.ConfigError` that names the file, the
key path (``optimizers[1].lr``), what is allowed, and a did-you-mean for
near-miss names. Nothing past this module sees unchecked input.

    title: "Beale's function, opt 1"     # optional
    surface: beale
    starts: [[2, -2]]                   # optional: the surface's own starts
    iterations: 10000
    tolerance: 0                        # optional: stop when ‖∇f‖ < tolerance
    view: {x: [-4.5, 4.5], y: [-4.5, 4.5]}   # optional: the surface's window,
                                        # or auto: that window fitted to the paths
    optimizers:
      - {label: gd, method: gd, lr: 1.0e-4}
      - {label: gd+p, method: momentum, lr: 5.0e-6, momentum: 0.9}
      - {method: adamw, lr: {schedule: cosine, from: 0.1, to: 0.001, steps: 2000}}
    animation: {frames: 300, fps: 30, hold: 1, size: [800, 600], formats: [mp4, gif]}
    output: out/1gd                     # optional: out/<config file stem>
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optviz import explore
from optviz.draw.panels import PANELS
from optviz.draw.scene import (
    FONT_SIZE,
    LEGEND_POSITIONS,
    SCRUBBERS,
    SPEEDS,
    Camera,
    CameraKey,
    CameraPath,
    InternalScales,
    Layout,
    Look,
    Player,
    Timeline,
)
from optviz.draw.schedules import SCHEDULES
from optviz.draw.themes import THEMES
from optviz.errors import ConfigError, join_path
from optviz.explore import MapSpec, SweepSpec, parse_map, parse_sweep
from optviz.optim import budget
from optviz.optim.internals import KINDS, NEEDS
from optviz.output.writers import DEFAULT as DEFAULT_FORMATS
from optviz.output.writers import WRITERS
from optviz.surfaces import Surface, probe
from optviz.validate import (
    MAX_COORDINATE,
    NUMBER_TEXT,
    TOO_DEEP,
    choice,
    did_you_mean,
    drawn_text,
    integer,
    kind,
    known_keys,
    list_of,
    mapping,
    number,
    pair,
    quoted,
    quoted_path,
    read_bytes,
    read_yaml,
    show,
    sized_list,
)

if TYPE_CHECKING:
    from optviz.optim.methods import Method

# A run is refused before anything runs if its estimate (optviz.optim.budget:
# every point is kept, with its loss, gradient norm and CSV row, about 500
# bytes in all; each iteration steps every block of rows) is beyond these.
MAX_MEMORY = 1 << 30  # bytes
MAX_SECONDS = 600.0
MAX_POINTS = MAX_MEMORY // budget.BYTES_PER_POINT  # points a run may keep
# Text the figure draws: a title wraps to two or three lines at most; a label
# stands in the legend beside its badge.
MAX_TITLE = 200
MAX_LABEL = 80
MAX_STARTS = 100
MAX_OPTIMIZERS = 20


@dataclass(frozen=True)
class OptimizerSpec:
    """One entry of ``optimizers:``: a label, a method and its hyperparameters."""

    label: str
    method: str  # as the config names it: adam, ./mine.py:signum, torch:AdamW
    # all, defaults filled (a torch: method's: those given, lists as tuples);
    # a learning-rate schedule is an LRSchedule
    hyperparameters: tuple[tuple[str, Any], ...]
    color: str | None = None  # any matplotlib colour; None: the palette's next
    batch_size: int | None = None  # data surfaces: minibatch size; None: all
    clip_norm: float = 0.0  # gradient clipping by norm (0: none)
    noise: float = 0.0  # std of Gaussian noise added to the gradient (0: none)
    # a method from outside the registry (optviz.optim.plugins), loaded when
    # the config was read; None: the registered method named ``method``
    plugin: Method | None = None
    # lr: auto: the run searches the learning rate (optviz.optim.tune); until
    # then lr holds a stand-in
    auto_lr: bool = False
    # what is drawn at its heads (optviz.optim.internals.KINDS): its own
    # internals: entry, else those of animation.internals its method has
    internals: tuple[str, ...] = ()

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.hyperparameters)

    def resolved(self) -> Method:
        """The method that steps this optimizer."""
        if self.plugin is not None:
            return self.plugin
        from optviz.optim.methods import METHODS

        return METHODS[self.method]

    def describe(self) -> str:
        """``adam(lr=0.22, beta1=0.9, ...)``: the method with every hyperparameter."""
        return f"{self.method}({self.settings()})"

    def settings(self) -> str:
        """``lr=0.22, beta1=0.9``: every hyperparameter as YAML writes it."""
        return ", ".join(f"{k}={_yaml_word(v)}" for k, v in self.hyperparameters)


def _yaml_word(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_yaml_word, value)) + "]"
    return value if isinstance(value, str) else format(value, "g")


_FIXED = CameraPath()  # the camera matplotlib sets


@dataclass(frozen=True)
class Animation:
    """The ``animation:`` settings as written, every one with its default (so
    ``animation:`` is optional); the drawing reads them as the typed
    :class:`~optviz.draw.scene.Look`, :class:`~optviz.draw.scene.Layout` and
    :class:`~optviz.draw.scene.Timeline` (:attr:`look`, :attr:`layout`,
    :attr:`timeline`), the writers read ``formats``."""

    frames: int = 300  # frames that show motion (the held last frame is extra)
    fps: int = 30
    hold: float = 1.0  # seconds the last frame stays on screen
    size: tuple[int, int] = (800, 600)  # with view: both and no size, BOTH_SIZE
    dpi: int | None = None  # None: Layout.figure_dpi
    formats: tuple[str, ...] = DEFAULT_FORMATS  # names of optviz.output.writers
    schedule: str = "log"  # which iteration each frame shows: optviz.draw.schedules
    title_card: float = 0.0  # seconds of title and settings before the motion
    panels: tuple[str, ...] = ()  # names of optviz.draw.panels.PANELS
    theme: str = "light"  # a name of optviz.draw.themes.THEMES
    hyperparameters_in_legend: bool = False  # "adam (ε=0.22, β2=0.99)"
    contour_labels: bool = False  # the value on some of the contour lines
    view: str = "2d"  # or "3d": the surface in 3-D; "both": the two side by side
    gradient_field: bool = False  # arrows of −∇f under the contours (2-D)
    aspect: str = "equal"  # x and y units of one length where the frame allows
    font_size: float = FONT_SIZE  # points of the base font, all text sized from it
    legend: str = "auto"  # legend: {position: ...}, one of LEGEND_POSITIONS
    camera: CameraPath = _FIXED  # the 3-D view's camera, fixed or moving
    backdrop: str = "none"  # or "basins": the basin map under the contour lines
    html: Player = dataclasses.field(default_factory=Player)  # the html player
    # optimizer internals at the heads for every optimizer that has them
    # (optviz.optim.internals.KINDS); OptimizerSpec.internals says whose
    internals: tuple[str, ...] = ()
    # None in it: auto
    internals_scale: InternalScales = dataclasses.field(default_factory=InternalScales)

    @property
    def look(self) -> Look:
        return Look(
            self.theme,
            self.contour_labels,
            self.gradient_field,
            self.font_size,
            internal_scales=self.internals_scale,
        )

    @property
    def layout(self) -> Layout:
        return Layout(
            self.size,
            self.dpi,
            self.view,
            self.aspect,
            self.panels,
            self.legend,
            self.camera,
        )

    @property
    def timeline(self) -> Timeline:
        return Timeline(
            self.frames, self.fps, self.hold, self.schedule, self.title_card
        )

    @property
    def total_frames(self) -> int:
        """Every frame of the video (:attr:`Timeline.total_frames`)."""
        return self.timeline.total_frames


@dataclass(frozen=True)
class EventRef:
    """A caption's ``at: {event: KIND, optimizer: LABEL}``: the first event of
    that kind (:data:`optviz.optim.events.KINDS`) of that optimizer (None:
    of any), found once the run is done."""

    kind: str
    optimizer: str | None = None


@dataclass(frozen=True)
class CaptionSpec:
    """One entry of ``captions:``: ``text`` from iteration (or event) ``at``
    for ``seconds``; ``path`` is its key path, for an error the run finds
    (an event that never happens)."""

    at: int | EventRef
    text: str
    seconds: float
    path: str


CAPTION_SECONDS = 3.0  # a caption's default time on screen
# in the contours' axes; auto: the bottom, or the top when the legend is low
CAPTION_POSITIONS = ("auto", "bottom", "top")


@dataclass(frozen=True)
class CaptionsSpec:
    """The ``captions:`` block: timed captions, automatic event captions
    (``events``), whether they are drawn in the frame (``draw``; the
    ``.vtt`` subtitle file is written either way) and where."""

    cues: tuple[CaptionSpec, ...] = ()
    events: bool = False
    draw: bool = True
    position: str = "auto"
    seconds: float = CAPTION_SECONDS


@dataclass(frozen=True)
class Config:
    source: str  # the file it came from, for messages
    stem: str  # names the outputs: <stem>.mp4, <stem>.gif
    title: str | None
    surface: Surface  # compiled, with its parameters
    starts: tuple[tuple[float, float], ...]
    iterations: int
    tolerance: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    optimizers: tuple[OptimizerSpec, ...]
    animation: Animation
    output: Path
    seed: int = 0  # minibatch sampling
    # view: auto: xlim × ylim (the surface's window) is widened to the paths
    # after the run (optviz.optim.window.fit); the run itself is the same.
    fit_view: bool = False
    map: MapSpec | None = None  # the map: block (optviz.explore)
    # the sweep: block; its variants are already among the optimizers
    sweep: SweepSpec | None = None
    # lr: auto's choices (optimizer index, label, optviz.optim.tune.Choice),
    # once the pipeline has searched them
    tuned: tuple[tuple[int, str, Any], ...] = ()
    # the captions: block (None: no captions, no .vtt, no events.csv)
    captions: CaptionsSpec | None = None


def load(path: str | Path) -> Config:
    """Read and validate one YAML config file."""
    path = Path(path)
    return parse(read_yaml(path), source=str(path), stem=path.stem, base=path.parent)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # a key's default that YAML cannot write (see Key)


@dataclass(frozen=True)
class Key:
    """A key of the config: its name, a line on what it takes and does, and
    its default as the parser uses it (:data:`UNSET`: none that can be
    written, such as the surface's own starts; ``example`` is then a value
    to show). ``children``: the keys of a mapping under it. ``optviz init``
    writes the starter config from these tables, so it cannot drift from
    what the parser takes."""

    name: str
    help: str
    default: Any = UNSET
    example: Any = UNSET
    children: tuple[Key, ...] = ()
    required: bool = False
    # The names the key takes (a registry, or a fixed tuple), given after
    # ``help`` when the starter is written: a name registered later shows.
    choices: Callable[[], Iterable[str]] | None = None
    # False: written commented out even with a default (the camera, which
    # the default 2-D view refuses).
    active: bool = True


_A = Animation()
_VIEW_NAMES = ("2d", "3d", "both")
ASPECTS = ("equal", "auto")
BACKDROPS = ("none", "basins")  # what the 2-D view shows under its contour lines
# The player's settings (animation.html), as optviz.draw.scene.Player has them.
HTML_KEYS = (
    Key(
        "tolerance",
        "pixels: a point of a path closer to the last kept is dropped, 0.01 to 10",
        _A.html.tolerance,
    ),
    Key("autoplay", "the player starts playing", _A.html.autoplay),
    Key(
        "speed",
        "times the video's frame rate",
        _A.html.speed,
        choices=lambda: (f"{v:g}" for v in SPEEDS),
    ),
    Key(
        "scrubber",
        "what the slider steps through",
        _A.html.scrubber,
        choices=lambda: SCRUBBERS,
    ),
)
CAMERA_KEYS = (
    Key("elevation", "degrees above the x-y plane, -90 to 90", Camera().elevation),
    Key("azimuth", "degrees round the z axis, -360 to 360", Camera().azimuth),
    Key(
        "orbit",
        "degrees the azimuth turns over the motion, -3600 to 3600; or path:",
        example=60,
    ),
    Key(
        "path",
        "keys [{at: 0 to 1 of the motion, elevation, azimuth}], linear between",
        example=[{"at": 0, "azimuth": -60}, {"at": 1, "azimuth": 30}],
    ),
)
INTERNALS_SCALE_KEYS = (
    Key(
        "gradient",
        "data units of a −∇f arrow per unit of ∇f, > 0; default auto: a "
        "round number from the runs (the legend says it)",
        "auto",
    ),
    Key(
        "step",
        "data units of the v and step arrows per unit of θ (1: true size), "
        "> 0; default auto: 1 where the steps are visible",
        "auto",
    ),
    Key(
        "scaling",
        "data units of an ellipse's semi-axis per unit of ε/√(a + ν), > 0; "
        "default auto",
        "auto",
    ),
)
LEGEND_KEYS = (
    Key(
        "position",
        "auto: a corner that covers no data, or outside; or a place",
        _A.legend,
        choices=lambda: LEGEND_POSITIONS,
    ),
)
FONT_SIZES = (5.0, 30.0)  # the range of animation.font_size, in points
ANIMATION_KEYS = (
    Key("frames", "frames of motion, 2 to 20000 (the hold is extra)", _A.frames),
    Key(
        "duration",
        "seconds of motion, instead of frames (frames = duration × fps)",
        example=10,
    ),
    Key("fps", "frames per second, 1 to 120", _A.fps),
    Key("hold", "seconds the last frame stays on screen, 0 to 60", _A.hold),
    Key(
        "size",
        "[width, height] in pixels, 16 to 4096; with view: both [1280, 600]",
        _A.size,
    ),
    Key(
        "dpi",
        "matplotlib's dpi; default: 100 × min(width/800, height/600)",
        example=100,
    ),
    Key("formats", "the files written", _A.formats, choices=lambda: WRITERS),
    Key(
        "schedule",
        "which iteration each frame shows",
        _A.schedule,
        choices=lambda: SCHEDULES,
    ),
    Key(
        "title_card",
        "seconds of title and settings before the motion, 0 to 60",
        _A.title_card,
    ),
    Key(
        "panels",
        "beside the contours, against the iteration",
        _A.panels,
        choices=lambda: PANELS,
    ),
    Key("theme", "the colours", _A.theme, choices=lambda: THEMES),
    Key(
        "hyperparameters_in_legend",
        "each optimizer's settings after its label",
        _A.hyperparameters_in_legend,
    ),
    Key(
        "contour_labels",
        "the value of f on every third contour (2-D)",
        _A.contour_labels,
    ),
    Key(
        "view",
        "the contours (2d), the surface (3d), or both side by side",
        _A.view,
        choices=lambda: _VIEW_NAMES,
    ),
    Key("gradient_field", "arrows of −∇f under the contours (2-D)", _A.gradient_field),
    Key(
        "internals",
        "drawn at every head whose optimizer has them (2-D and 3-D): arrows of −∇f, "
        "the velocity v and the step, Nesterov's look-ahead point, an adaptive "
        "method's scaling ε/√(a + ν); an optimizer's own internals: wins",
        list(_A.internals),
        choices=lambda: KINDS,
    ),
    Key(
        "internals_scale",
        "how long the internals are drawn (the legend states each scale)",
        children=INTERNALS_SCALE_KEYS,
    ),
    Key(
        "aspect",
        "x and y units one length (equal) or the room filled (auto)",
        _A.aspect,
        choices=lambda: ASPECTS,
    ),
    Key(
        "font_size",
        f"points of the base font, {FONT_SIZES[0]:g} to {FONT_SIZES[1]:g}: "
        "all text is sized from it",
        _A.font_size,
    ),
    Key(
        "backdrop",
        "under the contour lines (2-D): nothing, or the basin map",
        _A.backdrop,
        choices=lambda: BACKDROPS,
    ),
    Key("html", "the html player (formats: [html])", children=HTML_KEYS),
    Key("legend", "where the legend goes", children=LEGEND_KEYS),
    Key(
        "camera",
        "the 3-D view's camera (view: 3d or both); default: fixed as below",
        children=CAMERA_KEYS,
        active=False,
    ),
)
CAPTION_KEYS = (
    Key(
        "cues",
        "[{at: ITERATION or {event: KIND, optimizer: LABEL}, text, seconds}]",
        example=[{"at": 100, "text": "momentum overshoots"}],
    ),
    Key(
        "events",
        "captions of the run's events (a minimum reached, a run stopped), "
        "and events.csv",
        False,
    ),
    Key("draw", "draw the captions in the frame (the .vtt is written anyway)", True),
    Key(
        "position",
        "where in the contours the captions go (auto: away from the legend)",
        "auto",
        choices=lambda: CAPTION_POSITIONS,
    ),
    Key("seconds", "a caption's default time on screen, 0.1 to 60", CAPTION_SECONDS),
)
TOP_KEYS = (
    Key(
        "title",
        "drawn above the contours; default: none",
        example="Gradient descent and Adam on Beale's function",
    ),
    Key(
        "surface",
        "a built-in surface (optviz list surfaces), a surface .yaml file, "
        "or {formula: ..., domain: ...}",
        example="beale",
        required=True,
    ),
    Key(
        "starts",
        "[x, y] points each optimizer starts from; default: the surface's own",
        example=[[2, -2]],
    ),
    Key("iterations", "updates of each optimizer from each start", 1000),
    Key("tolerance", "stop a start once ‖∇f‖ < tolerance (0: never)", 0.0),
    Key(
        "view",
        "{x: [min, max], y: [min, max]}, or auto: fitted to the paths; "
        "default: the surface's window",
        example="auto",
    ),
    Key(
        "optimizers",
        "each a method and its hyperparameters (optviz list methods)",
        required=True,
    ),
    Key("animation", "how the video looks", children=ANIMATION_KEYS),
    Key(
        "output",
        "the folder written to; default: out/<config file name>",
        example="out/starter",
    ),
    Key("seed", "seeds minibatch shuffles and gradient noise", 0),
    Key(
        "captions",
        "timed captions in the frame and as <name>.vtt beside the video; "
        "a list of cues, or these keys",
        children=CAPTION_KEYS,
        active=False,
    ),
    Key(
        "map",
        "optviz map: a basin map (a grid of starts) or a phase map (a grid "
        "of two hyperparameters) of one optimizer",
        example={
            "optimizer": "gd",
            "grid": {"x": [-4.5, 4.5, 256], "y": [-4.5, 4.5, 256]},
        },
    ),
    Key(
        "sweep",
        "one optimizer with lists or ranges of its hyperparameters: a grid "
        "of cells, an overlay, the loss curves",
        example={"optimizer": "gd", "lr": [1.0e-4, 1.0e-3]},
    ),
)
_TOP_KEYS = tuple(k.name for k in TOP_KEYS)
_ANIMATION_KEYS = tuple(k.name for k in ANIMATION_KEYS)
_HTML_KEYS = tuple(k.name for k in HTML_KEYS)
# What every optimizer entry takes besides its method's hyperparameters, as
# ``optviz list methods`` prints it.
ENTRY_OPTIONS = (
    ("label", "its name in the legend and the table; default: the method's name"),
    ("color", "any matplotlib colour; default: the next of the palette"),
    (
        "batch_size",
        "data surfaces only: the gradient on this many examples at a time, "
        "reshuffled every epoch; 1 to the number of examples; default: all",
    ),
    ("clip_norm", "clip the gradient to this norm (0: no clipping); >= 0; default 0"),
    (
        "noise",
        "standard deviation of Gaussian noise added to the gradient, seeded by "
        "the config's seed; >= 0; default 0",
    ),
    (
        "internals",
        "drawn at its heads (2-D and 3-D): a list of gradient, step (any method), "
        "velocity (momentum > 0), lookahead (Nesterov), scaling (adagrad, "
        "rmsprop, adam, adam_torch, adamw, radam, adamax); default: "
        "animation.internals",
    ),
)
# The dpi a frame is drawn at follows its size (Animation.figure_dpi): below
# this its smallest text is under a pixel, which FreeType refuses (measured:
# 32x24 fails, 40x30 draws).
MIN_DPI = 5.0
MIN_FRAME = (40, 30)
VIEWS = _VIEW_NAMES
ASPECTS = ("equal", "auto")
BACKDROPS = ("none", "basins")  # what the 2-D view shows under its contour lines
# Side by side, the two views need a wider frame than one (unless given).
BOTH_SIZE = (1280, 600)


def parse(
    data: Any,
    source: str = "<config>",
    stem: str = "config",
    base: str | Path | None = None,
) -> Config:
    """Validate an already-loaded mapping (what ``yaml.safe_load`` gives).

    A notebook can build a config as a dict and call this directly. ``base``
    is the folder that relative surface file paths start from (default: the
    current folder).
    """
    try:
        config = _parse(data, stem, Path(base) if base is not None else Path())
    except ConfigError as e:
        raise e.at(source=source) from None
    except RecursionError:  # a self-referencing structure built in Python
        raise ConfigError(TOO_DEEP, source=source) from None
    return dataclasses.replace(config, source=source)


def _parse(data: Any, stem: str, base: Path) -> Config:

    if data is None:
        raise ConfigError(
            "the config is empty; it needs at least 'surface' and 'optimizers'"
        )
    top = mapping(data, "", "the config")
    if "story" in top:  # optviz.story reads it
        raise ConfigError(
            "is a story (a list of configs under 'story:'), not a config; "
            "optviz run and optviz validate take it"
        )
    _misplaced(top)
    known_keys(top, _TOP_KEYS, "")
    for key in ("surface", "optimizers"):
        if key not in top:
            raise ConfigError(f"missing required key {key!r}", path="")

    surface = _surface(top["surface"], base)
    fit_view = top.get("view") == "auto"
    xlim, ylim = _view(None if fit_view else top.get("view"), surface)
    if "starts" in top:
        starts = _starts(top["starts"])
    elif surface.starts:
        starts = surface.starts
    else:
        raise ConfigError(
            f"missing required key 'starts': the surface {surface.name!r} has no "
            "default starts",
            path="",
        )
    iterations = integer(top.get("iterations", 1000), "iterations", low=1)
    tolerance = number(top.get("tolerance", 0.0), "tolerance", low=0.0)
    optimizers = _optimizers(top["optimizers"], surface, base)
    sweep = None
    if "sweep" in top:
        sweep, optimizers, starts = parse_sweep(top["sweep"], optimizers, starts)
    _affordable(iterations, optimizers, len(starts))
    try:  # what validate accepts, run runs: the surface on its view
        probe.check(surface, xlim, ylim, starts, _uses_hessian(optimizers))
    except ConfigError as e:
        where = "view" if isinstance(top.get("view"), Mapping) else "surface"
        raise e.at(path=where) from None
    title = top.get("title")
    if title is not None:
        title = drawn_text(title, "title", MAX_TITLE)
    output = top.get("output")
    output_path = Path("out") / stem if output is None else _folder(output)
    animation = _animation(top.get("animation") or {})
    if sweep is not None and "html" in animation.formats:
        explore.check_player(sweep)
    written = (top.get("animation") or {}).get("internals", ())
    optimizers = _internals(animation, optimizers, written)
    _affordable_internals(iterations, optimizers, len(starts), bool(written))
    return Config(
        source="",
        stem=stem,
        title=None if title is None else str(title),
        surface=surface,
        starts=starts,
        iterations=iterations,
        tolerance=tolerance,
        xlim=xlim,
        ylim=ylim,
        optimizers=optimizers,
        animation=animation,
        output=output_path,
        seed=integer(top.get("seed", 0), "seed", 0, 2**32 - 1),
        fit_view=fit_view,
        map=parse_map(top["map"], optimizers, iterations) if "map" in top else None,
        sweep=sweep,
        captions=_captions_of(top, optimizers, iterations),
    )


MAX_PATH = 1000  # characters of the output folder's path


def _folder(value: Any) -> Path:
    """``output:``: a folder path the file system can take and an error
    message can show on one line."""
    if not (isinstance(value, str) and value.strip()):
        got = show(value) if isinstance(value, str) else kind(value)
        raise ConfigError(f"must be a folder path as text; got {got}", path="output")
    if not value.isprintable():
        raise ConfigError(
            f"must be a path of printable characters; got {show(value)}",
            path="output",
        )
    if len(value) > MAX_PATH:
        raise ConfigError(
            f"must be at most {MAX_PATH} characters; got {len(value):,}", path="output"
        )
    for part in Path(value).parts:
        size = len(os.fsencode(part))
        if size > 255:  # NAME_MAX of the common file systems
            raise ConfigError(
                f"{show(part)} is {size} bytes long; a folder's name may have at "
                "most 255",
                path="output",
            )
    return Path(value)


def _misplaced(top: Mapping[str, Any]) -> None:
    """An animation setting written at the top level (``theme: dark``, or
    ``view: 3d``, which is not a window): say where it belongs."""
    for key in top:
        if key not in _TOP_KEYS and key in _ANIMATION_KEYS:
            raise ConfigError(
                f"unknown key {key!r} at the top level; it is an animation "
                f"setting: did you mean 'animation.{key}'?",
                path=key,
            )
    view = top.get("view")
    if isinstance(view, str) and view != "auto":
        hint = (
            f"; {view!r} is a way to draw the surface: did you mean 'animation.view'?"
            if view in VIEWS
            else did_you_mean(view, ("auto",))
        )
        raise ConfigError(
            f"{show(view)} is not a view window; supported values are 'auto' (the "
            "surface's window fitted to the paths) or {x: [min, max], y: [min, max]}"
            + hint,
            path="view",
        )


def _optimizers(
    value: Any, surface: Surface, base: Path = Path()
) -> tuple[OptimizerSpec, ...]:
    from optviz.optim.methods import METHODS

    items = sized_list(
        value, "optimizers", "a list of optimizers", "optimizer", MAX_OPTIMIZERS
    )
    specs: list[OptimizerSpec] = []
    for i, item in enumerate(items):
        path = f"optimizers[{i}]"
        entry = mapping(item, path, "an optimizer")
        if "method" not in entry:
            raise ConfigError(
                "missing required key 'method'; supported values are "
                + quoted(METHODS),
                path=path,
            )
        at = join_path(path, "method")
        reference, method, plugin = _method(entry["method"], at, base)
        name = method.name
        options = (
            "label",
            "method",
            *(key for key, _ in ENTRY_OPTIONS if key != "label"),
        )
        auto = False
        if getattr(method, "passthrough", False):
            ordered = _passed_through(method, entry, options, path)
        else:
            auto = entry.get("lr") == "auto"
            if auto:
                entry = _auto_lr(method, entry, join_path(path, "lr"), surface)
                auto = entry.get("lr") != "auto"
            ordered = _hyperparameters(method, entry, options, path)
        label = drawn_text(entry.get("label", name), join_path(path, "label"),
                           MAX_LABEL)  # fmt: skip
        if any(s.label == label for s in specs):
            raise ConfigError(
                f"label {show(label)} is used twice; give each optimizer its own label",
                path=join_path(path, "label"),
            )
        color = (
            _color(entry["color"], join_path(path, "color"))
            if "color" in entry
            else None
        )
        clip = number(entry.get("clip_norm", 0.0), join_path(path, "clip_norm"), 0.0)
        noise = number(entry.get("noise", 0.0), join_path(path, "noise"), 0.0)
        batch = None
        if "batch_size" in entry:
            batch = _batch_size(
                entry["batch_size"], join_path(path, "batch_size"), surface
            )
        spec = OptimizerSpec(
            label, reference, ordered, color, batch, clip, noise, plugin, auto
        )
        if "internals" in entry:
            at = join_path(path, "internals")
            kinds = _kinds(entry["internals"], at)
            has = _has_kinds(spec)
            for name in kinds:
                if name not in has:
                    raise ConfigError(
                        f"{spec.label} ({spec.method}) has no {name}: it needs "
                        f"{NEEDS[name]}; {spec.label} can show " + quoted(has),
                        path=f"{at}[{entry['internals'].index(name)}]",
                    )
            spec = dataclasses.replace(spec, internals=kinds)
        specs.append(spec)
    return tuple(specs)


def _kinds(value: Any, path: str) -> tuple[str, ...]:
    """A list of :data:`~optviz.optim.internals.KINDS`, in their order."""
    names = list_of(value, path, "a list of internals")
    chosen = {choice(n, f"{path}[{i}]", KINDS) for i, n in enumerate(names)}
    return tuple(k for k in KINDS if k in chosen)


def _has_kinds(spec: OptimizerSpec) -> tuple[str, ...]:
    """The internals ``spec``'s optimizer can show, in the order of KINDS."""
    from optviz.optim.internals import EVERY_METHOD
    from optviz.optim.methods import internal_kinds

    method = spec.resolved()
    has = EVERY_METHOD
    if not getattr(method, "passthrough", False):
        has = internal_kinds(method.build(spec.params))
    return tuple(k for k in KINDS if k in has)


def _internals(
    animation: Animation, optimizers: tuple[OptimizerSpec, ...], written: Any
) -> tuple[OptimizerSpec, ...]:
    """Every optimizer without an ``internals:`` of its own given those of
    ``animation.internals`` it has; a kind no optimizer has is refused."""
    asked = animation.internals
    out = []
    for spec in optimizers:
        if not spec.internals and asked:
            has = _has_kinds(spec)
            spec = dataclasses.replace(
                spec, internals=tuple(k for k in asked if k in has)
            )
        out.append(spec)
    for name in asked:
        if not any(name in _has_kinds(s) for s in optimizers):
            raise ConfigError(
                f"no optimizer of this config has a {name}: it needs {NEEDS[name]}",
                path=f"animation.internals[{list(written).index(name)}]",
            )
    return tuple(out)


def _rate(value: Mapping[str, Any], path: str, key: str, method: str,
          schedulable: bool) -> Any:  # fmt: skip
    """A learning-rate schedule, ``{schedule: NAME, <setting>: value, ...}``
    (:mod:`optviz.optim.lr_schedules`)."""
    from optviz.optim import lr_schedules

    names = tuple(lr_schedules.LR_SCHEDULES)
    if not schedulable:
        raise ConfigError(
            f"{key} of {method} must be a number; learning-rate schedules are "
            "for the lr of first-order methods",
            path=path,
        )
    entry = mapping(value, path, "a learning-rate schedule")
    if "schedule" not in entry:
        raise ConfigError(
            "missing required key 'schedule'; supported values are " + quoted(names),
            path=path,
        )
    name = choice(entry["schedule"], join_path(path, "schedule"), names)
    kind = lr_schedules.LR_SCHEDULES[name]
    keys = tuple(h.key for h in kind.all_settings())
    known_keys(entry, ("schedule", *keys), path, what=f"for the {name} schedule")
    settings = {k: number(entry[k], join_path(path, k)) for k in keys if k in entry}
    try:
        return lr_schedules.make(name, settings)
    except ValueError as e:
        at = getattr(e, "key", None)
        raise ConfigError(str(e), path=join_path(path, at) if at else path) from None


def _method(value: Any, path: str, base: Path) -> tuple[str, Method, Method | None]:
    """``method:`` as (the name as written, its method, the method again if
    it comes from outside the registry: a file, a plug-in, PyTorch)."""
    from optviz.optim.methods import METHODS

    if isinstance(value, str) and value in METHODS:
        return value, METHODS[value], None
    if not isinstance(value, str) or not value.strip():
        choice(value, path, tuple(METHODS))  # raises, listing the names
    from optviz.optim import plugins

    try:
        plugin = plugins.resolve(value, base)
    except ConfigError as e:
        raise e.at(path=path) from None
    return value, plugin, plugin


AUTO_STAND_IN = 1e-3  # lr: auto's value until the search replaces it


def _auto_lr(
    method: Method, entry: Mapping[str, Any], path: str, surface: Surface
) -> dict[str, Any]:
    """``lr: auto``: allowed for a method with a learning rate, on a surface
    with known minima (the search needs somewhere to arrive)."""
    keys = {h.key: h for h in method.hyperparameters}
    if "lr" not in keys:
        return dict(entry)  # an unknown key: the usual error, listing the keys
    if not keys["lr"].schedulable:
        raise ConfigError(
            f"'auto' is for the learning rate of first-order methods; {method.name} "
            "takes a number here",
            path=path,
        )
    if not surface.minima:
        raise ConfigError(
            f"lr: auto looks for the rate that reaches a known minimum soonest, and "
            f"{surface.name!r} lists none; give lr a number",
            path=path,
        )
    return {**entry, "lr": AUTO_STAND_IN}


def _hyperparameters(
    method: Method, entry: Mapping[str, Any], options: tuple[str, ...], path: str
) -> tuple[tuple[str, Any], ...]:
    """A declared method's hyperparameters, checked, defaults filled in."""
    name = method.name
    keys = (*options, *(h.key for h in method.hyperparameters))
    known_keys(entry, keys, path, what=f"for {name}")
    params: dict[str, Any] = {}
    for h in method.hyperparameters:
        if h.key in entry:
            at = join_path(path, h.key)
            value = entry[h.key]
            raw = h.boolean or bool(h.choices)
            if isinstance(value, Mapping) and not raw:
                params[h.key] = _rate(value, at, h.key, name, h.schedulable)
                continue
            if h.schedulable and (
                isinstance(value, bool) or not isinstance(value, int | float | str)
            ):
                raise ConfigError(
                    f"must be a number; got {kind(value)} (or a learning-rate "
                    "schedule: {schedule: NAME, ...})",
                    path=at,
                )
            params[h.key] = value if raw else number(value, at)
            problem = h.check(params[h.key])
            if problem and raw:  # the method echoes the value whole
                problem = problem.split("; got ")[0] + f"; got {show(value)}"
            if problem:
                raise ConfigError(problem, path=at)
        elif h.default is None:
            raise ConfigError(
                f"missing required key {h.key!r} ({h.symbol}, {h.help}) for {name}",
                path=path,
            )
    try:
        method.build(params)
    except ValueError as e:  # a combination of values (nesterov: true, ...)
        key = getattr(e, "key", None)
        raise ConfigError(str(e), path=join_path(path, key) if key else path) from None
    full = {**method.defaults(), **params}
    return tuple((h.key, full[h.key]) for h in method.hyperparameters)


def _passed_through(
    method: Method, entry: Mapping[str, Any], options: tuple[str, ...], path: str
) -> tuple[tuple[str, Any], ...]:
    """A ``torch:`` method's hyperparameters: every other key of the entry,
    checked by the optimizer's constructor (lists as tuples)."""
    params = {}
    for key, value in entry.items():
        if key in options:
            continue
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(
                f"{show(key)} is not a keyword argument's name", path=path
            )
        params[key] = value
    try:
        hp = method.build(params)
    except ValueError as e:
        key = getattr(e, "key", "")
        raise ConfigError(str(e), path=join_path(path, key)) from None
    return tuple(hp.kwargs)


def _affordable(iterations: int, specs: tuple[OptimizerSpec, ...], starts: int) -> None:
    """Refuse a run whose estimated memory or time is beyond the bounds."""
    points = iterations * len(specs) * starts
    sizes = f"{iterations:,} × {len(specs)} × {starts}"
    if points > MAX_POINTS:
        raise ConfigError(
            f"iterations × optimizers × starts = {sizes} = {points:,} points, more "
            f"than the {MAX_POINTS:,} a run may keep: about "
            f"{budget.size(points * budget.BYTES_PER_POINT)} of memory, with their "
            f"losses and CSV rows, where a run may take {budget.size(MAX_MEMORY)}; "
            "use fewer iterations, optimizers or starts",
            path="iterations",
        )
    cost = budget.estimate(
        [_rule(spec) for spec in specs],
        starts,
        iterations,
        [spec.batch_size for spec in specs],
    )
    if cost.seconds > MAX_SECONDS:
        raise ConfigError(
            f"iterations × optimizers × starts = {sizes} would take about "
            f"{budget.duration(cost.seconds)} to run (estimated from the methods' "
            f"measured step costs), more than the {budget.duration(MAX_SECONDS)} "
            "a run may take; use fewer iterations, optimizers, starts or smaller "
            "batches",
            path="iterations",
        )


def _affordable_internals(
    iterations: int, specs: tuple[OptimizerSpec, ...], starts: int, shared: bool
) -> None:
    """Refuse a run whose points with the internals they keep
    (:data:`budget.BYTES_PER_INTERNAL` for each kind at each point) are
    beyond :data:`MAX_MEMORY`."""
    points = (iterations + 1) * starts
    kept = [
        (i, budget.internal_kinds_kept(spec.internals))
        for i, spec in enumerate(specs)
        if spec.internals
    ]
    extra = sum(points * n * budget.BYTES_PER_INTERNAL for _, n in kept)
    total = points * len(specs) * budget.BYTES_PER_POINT + extra
    if not kept or total <= MAX_MEMORY:
        return
    raise ConfigError(
        f"the internals kept at every point of {iterations:,} iterations × "
        f"{starts} starts for {len(kept)} optimizer{'s' * (len(kept) > 1)} take about "
        f"{budget.size(extra)} beside the {budget.size(total - extra)} of the "
        f"points, where a run may take {budget.size(MAX_MEMORY)}; ask for fewer "
        "internals, iterations or starts",
        path="animation.internals" if shared else f"optimizers[{kept[0][0]}].internals",
    )


def _rule(spec: OptimizerSpec) -> Any:
    return spec.resolved().build(dict(spec.hyperparameters))


def _uses_hessian(specs: tuple[OptimizerSpec, ...]) -> bool:
    """Whether one of the optimizers may evaluate ∇²f: Newton's method, or a
    method registered with its own binding to f, ∇f and ∇²f."""
    from optviz.optim.methods import family_of
    from optviz.optim.second_order import SecondOrder

    for spec in specs:
        hp = _rule(spec)
        newton = not isinstance(hp, SecondOrder) or hp.method == "newton"
        if family_of(hp).bind is not None and newton:
            return True
    return False


def _batch_size(value: Any, path: str, surface: Surface) -> int:
    if surface.examples is None:
        raise ConfigError(
            f"batch_size needs a data surface such as 'least_squares'; "
            f"{surface.name!r} has no examples to sample",
            path=path,
        )
    return integer(value, path, 1, surface.examples.m)


def _animation(value: Any) -> Animation:
    path = "animation"
    entry = mapping(value, path, "the animation settings")
    known_keys(entry, _ANIMATION_KEYS, path)
    default = Animation()

    def at(key: str) -> str:
        return join_path(path, key)

    size = default.size
    if "size" in entry:
        wh = pair(entry["size"], at("size"), "[width, height] in pixels")
        size = (
            integer(wh[0], f"{at('size')}[0]", 16, 4096),
            integer(wh[1], f"{at('size')}[1]", 16, 4096),
        )
    if "dpi" not in entry:  # the dpi follows the size, and so does the text
        dpi = Animation(size=size).layout.figure_dpi
        if dpi < MIN_DPI:  # FreeType cannot size a glyph of under a pixel
            raise ConfigError(
                f"a {size[0]}x{size[1]} frame is drawn at {dpi:.2g} dpi, too small "
                f"for its text; frames are at least {MIN_FRAME[0]}x{MIN_FRAME[1]} "
                "(or give animation.dpi)",
                path=at("size"),
            )
    formats = default.formats
    if "formats" in entry:
        names = list_of(entry["formats"], at("formats"), "a list of formats")
        if not names:
            raise ConfigError(
                "needs at least one format; supported values are " + quoted(WRITERS),
                path=at("formats"),
            )
        chosen = [
            choice(n, f"{at('formats')}[{i}]", tuple(WRITERS))
            for i, n in enumerate(names)
        ]
        formats = tuple(dict.fromkeys(chosen))
    fps = integer(entry.get("fps", default.fps), at("fps"), 1, 120)
    if "frames" in entry and "duration" in entry:
        raise ConfigError(
            "give either 'frames' or 'duration' (seconds of motion), not both",
            path=at("duration"),
        )
    if "duration" in entry:
        seconds = number(entry["duration"], at("duration"), 0.1, 600.0)
        frames = round(seconds * fps)
        if not 2 <= frames <= 20_000:
            raise ConfigError(
                f"{show(entry['duration'])} s at {fps} fps is {frames} frames; "
                "must be between 2 and 20000 frames",
                path=at("duration"),
            )
    else:
        frames = integer(entry.get("frames", default.frames), at("frames"), 2, 20_000)
    view = choice(entry.get("view", default.view), at("view"), VIEWS)
    if view == "both" and "size" not in entry:
        size = BOTH_SIZE
    if view == "3d" and entry.get("backdrop", "none") != "none":
        raise ConfigError(
            "a backdrop is drawn on the 2-D view only (view: 2d or both)",
            path=at("backdrop"),
        )
    for key, what in (
        ("contour_labels", "contour labels are"),
        ("gradient_field", "the gradient field is"),
    ):
        if view == "3d" and entry.get(key) is True:
            raise ConfigError(
                f"{what} drawn on the 2-D view only (view: 2d or both)",
                path=at(key),
            )
    camera = default.camera
    if "camera" in entry:
        if view == "2d":
            raise ConfigError(
                "the camera looks at the 3-D view only (view: 3d or both)",
                path=at("camera"),
            )
        camera = _camera(entry["camera"], at("camera"))
    if "html" in formats and view != "2d":
        raise ConfigError(
            f"the html player shows the 2-D view only; this config has view: {view} "
            "(use view: 2d for the player, or drop html)",
            path=at("formats"),
        )
    return Animation(
        frames=frames,
        fps=fps,
        hold=number(entry.get("hold", default.hold), at("hold"), 0.0, 60.0),
        size=size,
        dpi=integer(entry["dpi"], at("dpi"), 20, 600) if "dpi" in entry else None,
        formats=formats,
        schedule=choice(
            entry.get("schedule", default.schedule), at("schedule"), tuple(SCHEDULES)
        ),
        title_card=number(
            entry.get("title_card", default.title_card), at("title_card"), 0.0, 60.0
        ),
        panels=_panels(entry.get("panels", []), at("panels")),
        theme=choice(entry.get("theme", default.theme), at("theme"), tuple(THEMES)),
        hyperparameters_in_legend=_flag(
            entry.get("hyperparameters_in_legend", False),
            at("hyperparameters_in_legend"),
        ),
        contour_labels=_flag(entry.get("contour_labels", False), at("contour_labels")),
        view=view,
        gradient_field=_flag(entry.get("gradient_field", False), at("gradient_field")),
        aspect=choice(entry.get("aspect", default.aspect), at("aspect"), ASPECTS),
        font_size=number(
            entry.get("font_size", default.font_size), at("font_size"), *FONT_SIZES
        ),
        legend=_legend(entry.get("legend", {}), at("legend")),
        camera=camera,
        backdrop=choice(
            entry.get("backdrop", default.backdrop), at("backdrop"), BACKDROPS
        ),
        html=_player({} if entry.get("html") is None else entry["html"], at("html")),
        internals=_kinds(entry.get("internals", []), at("internals")),
        internals_scale=_internals_scale(
            entry.get("internals_scale", {}), at("internals_scale")
        ),
    )


def _internals_scale(value: Any, path: str) -> InternalScales:
    """``internals_scale: {gradient, step, scaling}``: each > 0, or auto."""
    entry = mapping(value, path, "{gradient: ..., step: ..., scaling: ...}")
    keys = tuple(k.name for k in INTERNALS_SCALE_KEYS)
    known_keys(entry, keys, path)
    given: dict[str, float | None] = {}
    for key in keys:
        written = entry.get(key, "auto")
        if written == "auto":
            given[key] = None
            continue
        if isinstance(written, str) and not NUMBER_TEXT.fullmatch(written.strip()):
            raise ConfigError(
                f"must be a number > 0, or auto; got {show(written)}"
                + did_you_mean(written, ("auto",)),
                path=join_path(path, key),
            )
        scale = number(written, join_path(path, key))
        if scale <= 0:
            raise ConfigError(
                f"must be > 0, or auto; got {scale:g}", path=join_path(path, key)
            )
        given[key] = scale
    return InternalScales(**given)


def _player(value: Any, path: str) -> Player:
    """``animation.html``: how the player starts, and how finely it keeps the
    paths (pixels)."""
    entry = mapping(value, path, "the html player's settings")
    known_keys(entry, _HTML_KEYS, path)
    default = Player()

    def at(key: str) -> str:
        return join_path(path, key)

    speed = number(entry.get("speed", default.speed), at("speed"))
    if speed not in SPEEDS:
        raise ConfigError(
            f"must be one of the player's speeds {', '.join(f'{v:g}' for v in SPEEDS)}"
            f" (times the video's frame rate); got {speed:g}",
            path=at("speed"),
        )
    return Player(
        tolerance=number(
            entry.get("tolerance", default.tolerance), at("tolerance"), 0.01, 10.0
        ),
        autoplay=_flag(entry.get("autoplay", default.autoplay), at("autoplay")),
        speed=speed,
        scrubber=choice(
            entry.get("scrubber", default.scrubber), at("scrubber"), SCRUBBERS
        ),
    )


def _legend(value: Any, path: str) -> str:
    """``legend: {position: ...}``: the position's name."""
    if isinstance(value, str):
        raise ConfigError(
            f"must be a mapping such as {{position: {show(value)}}}; got text",
            path=path,
        )
    entry = mapping(value, path, "{position: ...}")
    known_keys(entry, tuple(k.name for k in LEGEND_KEYS), path)
    return choice(
        entry.get("position", "auto"), join_path(path, "position"), LEGEND_POSITIONS
    )


_ELEVATION = (-90.0, 90.0)
_AZIMUTH = (-360.0, 360.0)
MAX_CAMERA_KEYS = 100


def _camera(value: Any, path: str) -> CameraPath:
    """``camera: {elevation, azimuth}``, turning by ``orbit`` degrees of
    azimuth over the motion or along ``path``'s keys."""
    entry = mapping(value, path, "{elevation: ..., azimuth: ...}")
    known_keys(entry, tuple(k.name for k in CAMERA_KEYS), path)
    if "orbit" in entry and "path" in entry:
        raise ConfigError(
            "give either 'orbit' (degrees of azimuth) or 'path' (keys), not both",
            path=join_path(path, "path"),
        )
    start = _angles(entry, path, Camera())
    if "orbit" in entry:
        degrees = number(entry["orbit"], join_path(path, "orbit"), -3600.0, 3600.0)
        return CameraPath.orbit(start, degrees)
    if "path" not in entry:
        return CameraPath((CameraKey(0.0, start),))
    where = join_path(path, "path")
    items = sized_list(
        entry["path"], where, "a list of keys {at, elevation, azimuth}", "key",
        MAX_CAMERA_KEYS,
    )  # fmt: skip
    keys: list[CameraKey] = []
    camera = start
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        key = mapping(item, here, "a key {at, elevation, azimuth}")
        known_keys(key, ("at", "elevation", "azimuth"), here)
        if "at" not in key:
            raise ConfigError(
                "missing required key 'at' (0: the motion's first frame, 1: its last)",
                path=here,
            )
        at = number(key["at"], join_path(here, "at"), 0.0, 1.0)
        if keys and at <= keys[-1].at:
            raise ConfigError(
                f"must be after the key before it (at {keys[-1].at:g}); keys go "
                "in increasing 'at'",
                path=join_path(here, "at"),
            )
        if "elevation" not in key and "azimuth" not in key:
            raise ConfigError("a key sets 'elevation', 'azimuth' or both", path=here)
        camera = _angles(key, here, camera)  # an angle left out is kept
        keys.append(CameraKey(at, camera))
    return CameraPath(tuple(keys))


def _angles(entry: Mapping[str, Any], path: str, before: Camera) -> Camera:
    """The ``elevation`` and ``azimuth`` of ``entry``, each ``before``'s where
    left out."""
    return Camera(
        number(entry.get("elevation", before.elevation),
               join_path(path, "elevation"), *_ELEVATION),
        number(entry.get("azimuth", before.azimuth),
               join_path(path, "azimuth"), *_AZIMUTH),
    )  # fmt: skip


def _panels(value: Any, path: str) -> tuple[str, ...]:
    names = list_of(value, path, "a list of panels")
    chosen = [choice(n, f"{path}[{i}]", tuple(PANELS)) for i, n in enumerate(names)]
    return tuple(dict.fromkeys(chosen))


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false; got {show(value)}", path=path)
    return value


# #RGB, #RRGGBB, #RRGGBBAA, #RGBA: what matplotlib takes as hex, checked
# without importing it (0.13 s that a --no-video run would spend for nothing).
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def _color(value: Any, path: str) -> str:
    if isinstance(value, str) and _HEX_COLOR.fullmatch(value):
        return value
    from matplotlib.colors import is_color_like

    if not isinstance(value, str) or not is_color_like(value):
        raise ConfigError(
            f"{show(value)} is not a colour; use a name like 'tab:blue' or "
            "'black', or hex like '#0072B2'",
            path=path,
        )
    return value


_PATH_SUFFIXES = (".yaml", ".yml")


def parse_surface(value: Any, source: str = "", base: str | Path = ".") -> Surface:
    """A surface as ``surface:`` in a config would give it (for ``optviz show``
    and notebooks): a name, a file, ``{name, parameters}`` or ``{formula, ...}``."""
    try:
        surface = _surface(value, Path(base))
        try:  # drawn on its own window
            probe.check(surface, surface.xlim, surface.ylim, surface.starts)
        except ConfigError as e:
            raise e.at(path="surface") from None
        return surface
    except ConfigError as e:
        raise e.at(source=source) from None


def _surface(value: Any, base: Path) -> Surface:
    """``surface:`` as a built-in name, a path to a surface file (relative to
    the config's folder), ``{name: ..., <parameter>: value}``, or an inline
    ``{formula: ..., domain: ..., ...}``."""
    from optviz import surfaces

    path = "surface"
    overrides: dict[str, Any] = {}
    if isinstance(value, str):
        definition = _named_surface(value, base, path)
    elif isinstance(value, Mapping) and "formula" in value:
        definition = surfaces.parse_definition(value, path=path)
    elif isinstance(value, Mapping) and "name" in value:
        entry = mapping(value, path, "a surface")
        definition = _named_surface(entry["name"], base, join_path(path, "name"))
        overrides = {k: v for k, v in entry.items() if k != "name"}
    else:
        raise ConfigError(
            f"must be a surface name such as 'beale', a path to a surface .yaml "
            f"file, {{name: ..., <parameter>: value}} or {{formula: ..., domain: "
            f"...}}; got {show(value)}",
            path=path,
        )
    values = surfaces.parameter_values(definition, overrides, path)
    return surfaces.build(definition, values)


def _named_surface(value: Any, base: Path, path: str) -> Any:
    from optviz import surfaces

    if not isinstance(value, str):
        raise ConfigError(
            f"must be a surface name or file; got {show(value)}", path=path
        )
    if value.endswith(_PATH_SUFFIXES) or "/" in value:
        try:  # a file that cannot be read is the config's error, at its key
            read_bytes(base / value, quoted_path(value))
        except ConfigError as e:
            raise e.at(path=path) from None
        try:
            return surfaces.read_definition(base / value)
        except ConfigError as e:
            if e.path:  # at a key of the surface file, which it names
                raise
            # about the file as a whole: the config's key names it
            raise ConfigError(f"{quoted_path(value)}: {e.message}", path=path) from None
    try:
        return surfaces.builtin(value)
    except ConfigError as e:
        raise e.at(path=path) from None


def _view(value: Any, surface: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    if value is None:
        return surface.xlim, surface.ylim
    entry = mapping(value, "view", "{x: [min, max], y: [min, max]}, or auto")
    known_keys(entry, ("x", "y"), "view")
    limits = []
    for axis, default in (("x", surface.xlim), ("y", surface.ylim)):
        if axis not in entry:
            limits.append(default)
            continue
        path = f"view.{axis}"
        lo, hi = (
            number(v, f"{path}[{i}]", -MAX_COORDINATE, MAX_COORDINATE)
            for i, v in enumerate(pair(entry[axis], path, "[min, max]"))
        )
        if not lo < hi:
            raise ConfigError(f"min must be below max; got [{lo:g}, {hi:g}]", path=path)
        limits.append((lo, hi))
    return limits[0], limits[1]


def _starts(value: Any) -> tuple[tuple[float, float], ...]:
    items = sized_list(
        value, "starts", "a list of [x, y] points", "[x, y] point", MAX_STARTS
    )
    starts = []
    for i, item in enumerate(items):
        path = f"starts[{i}]"
        x, y = pair(item, path, "an [x, y] point")
        starts.append((number(x, f"{path}[0]"), number(y, f"{path}[1]")))
    return tuple(starts)


# ---------------------------------------------------------------------------
# captions:


MAX_CAPTIONS = 100
MAX_CAPTION = 120  # characters of one caption: one line across the frame
_CAPTION_KEYS = tuple(k.name for k in CAPTION_KEYS)
_CUE_KEYS = ("at", "text", "seconds")
_EVENT_KEYS = ("event", "optimizer")


def _captions_of(
    top: Mapping[str, Any], optimizers: tuple[OptimizerSpec, ...], iterations: int
) -> CaptionsSpec | None:
    """The ``captions:`` block of the config ``top`` (None: none)."""
    if top.get("captions") is None:
        return None
    if "sweep" in top:
        raise ConfigError(
            "captions are for a video of one run; a sweep's grid and overlay "
            "take none (drop 'captions' or 'sweep')",
            path="captions",
        )
    return _captions(top["captions"], tuple(o.label for o in optimizers), iterations)


def _captions(value: Any, labels: tuple[str, ...], iterations: int) -> CaptionsSpec:
    """``captions:`` as a list of cues, or ``{cues: [...], events, draw,
    position, seconds}``."""
    path = "captions"
    listed = isinstance(value, list)  # the cues alone: their path is captions[i]
    if listed:
        value = {"cues": value}
    entry = mapping(value, path, "a list of cues, or {cues: [...], events: true}")
    known_keys(entry, _CAPTION_KEYS, path)
    default = CaptionsSpec()

    def at(key: str) -> str:
        return join_path(path, key)

    seconds = number(entry.get("seconds", default.seconds), at("seconds"), 0.1, 60.0)
    where = path if listed else at("cues")
    items = []  # {events: true} alone has none
    if "cues" in entry:
        items = sized_list(
            entry["cues"], where, "a list of cues {at, text, seconds}", "cue",
            MAX_CAPTIONS,
        )  # fmt: skip
    cues = tuple(
        _cue(item, f"{where}[{i}]", labels, iterations, seconds)
        for i, item in enumerate(items)
    )
    return CaptionsSpec(
        cues=cues,
        events=_flag(entry.get("events", default.events), at("events")),
        draw=_flag(entry.get("draw", default.draw), at("draw")),
        position=choice(
            entry.get("position", default.position), at("position"), CAPTION_POSITIONS
        ),
        seconds=seconds,
    )


def _cue(
    value: Any, path: str, labels: tuple[str, ...], iterations: int, seconds: float
) -> CaptionSpec:
    """One cue ``{at, text, seconds}``; ``at`` an iteration from 0 to
    ``iterations``, or ``{event: KIND, optimizer: LABEL}``."""
    from optviz.optim.events import KINDS

    entry = mapping(value, path, "a cue {at, text, seconds}")
    known_keys(entry, _CUE_KEYS, path)
    for key in ("at", "text"):
        if key not in entry:
            raise ConfigError(
                f"missing required key {key!r} of a cue {{at, text, seconds}}",
                path=path,
            )
    text = drawn_text(entry["text"], join_path(path, "text"), MAX_CAPTION)
    if not text.strip():
        raise ConfigError("must not be empty", path=join_path(path, "text"))
    where = join_path(path, "at")
    moment: int | EventRef
    if isinstance(entry["at"], Mapping):
        ref = mapping(entry["at"], where, "{event: KIND, optimizer: LABEL}")
        known_keys(ref, _EVENT_KEYS, where)
        if "event" not in ref:
            raise ConfigError(
                "missing required key 'event'; supported values are " + quoted(KINDS),
                path=where,
            )
        kind = choice(ref["event"], join_path(where, "event"), KINDS)
        label = None
        if "optimizer" in ref:
            label = ref["optimizer"]
            if label not in labels:
                choice(label, join_path(where, "optimizer"), labels)  # raises
        moment = EventRef(kind, label)
    elif isinstance(entry["at"], str):
        raise ConfigError(
            f"must be an iteration or {{event: KIND, optimizer: LABEL}}; got "
            f"{show(entry['at'])}",
            path=where,
        )
    else:
        moment = integer(entry["at"], where, 0, iterations)
    own = number(entry.get("seconds", seconds), join_path(path, "seconds"), 0.1, 60.0)
    return CaptionSpec(moment, text, own, path)
