"""What to draw: a :class:`Scene`, typed, and nothing else.

The drawing layer reads one value: the surface, the trajectories on it, the
names and colours of their optimizers, the window, and three groups of
settings, each a frozen dataclass:

- :class:`Look` — what the figure looks like (theme, contour labels, arrows
  of −∇f, the size of its text);
- :class:`Layout` — where things go on the frame (size, dpi, the views, the
  aspect, the panels beside them, the legend, the 3-D view's camera);
- :class:`Timeline` — which iteration each frame shows and for how long
  (frames, fps, the schedule, the title card, the hold).

The config's ``animation:`` block is parsed into these
(:attr:`optviz.config.Animation.look` and its siblings); a program that
draws without a config builds them itself. A scene holds only picklable
values, so a worker process of another start method than ``fork`` can be
handed one and draw from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only read from, so no import-time coupling
    from optviz.optim.runner import Trajectory
    from optviz.surfaces import Surface

# The frame whose proportions every size keeps (unless a dpi is given).
BASE_SIZE = (800, 600)
BASE_DPI = 100

Limits = tuple[float, float]

# The base font size in points (matplotlib's own): titles, labels, ticks and
# the legend are sized relative to it.
FONT_SIZE = 10.0
# Where the legend may be put (Layout.legend): "auto" finds a spot that
# covers no data; the rest are named places, in the axes or outside them.
LEGEND_SPOTS = (
    "upper right", "upper left", "lower right", "lower left",
    "upper center", "lower center", "center right", "center left",
)  # fmt: skip
LEGEND_OUTSIDE = ("outside right", "outside bottom")
LEGEND_POSITIONS = ("auto", *LEGEND_SPOTS, *LEGEND_OUTSIDE)


@dataclass(frozen=True, eq=False)
class Backdrop:
    """A picture under the contour lines of the 2-D view (a basin map):
    ``image`` (ny, nx, 3) RGB in [0, 1], its cells spanning ``extent``
    (x0, x1, y0, y1)."""

    image: np.ndarray
    extent: tuple[float, float, float, float]
    alpha: float = 0.8


@dataclass(frozen=True)
class InternalScales:
    """How long the optimizer internals at the heads are drawn
    (:mod:`optviz.draw.internals`), data units per unit of what they show;
    None: a round number chosen from the runs."""

    gradient: float | None = None  # the −∇f arrows
    step: float | None = None  # the v and step arrows
    scaling: float | None = None  # the ellipses' semi-axes, ε/√(a + ν)


@dataclass(frozen=True)
class Look:
    """What the figure looks like."""

    theme: str = "light"  # a name of optviz.draw.themes.THEMES
    contour_labels: bool = False  # the value on some of the contour lines
    gradient_field: bool = False  # arrows of −∇f under the contours (2-D)
    font_size: float = FONT_SIZE  # points of the base font (at 800×600)
    backdrop: Backdrop | None = None  # under the contour lines (2-D)
    # of the internals at the heads (the runs carry those asked for)
    internal_scales: InternalScales = field(default_factory=InternalScales)


@dataclass(frozen=True)
class Camera:
    """Where the 3-D view is seen from, in degrees: ``elevation`` above the
    x-y plane, ``azimuth`` round the z axis (matplotlib's ``view_init``;
    the default is its own)."""

    elevation: float = 30.0
    azimuth: float = -60.0


@dataclass(frozen=True)
class CameraKey:
    """The camera at a point of the motion: ``at`` 0 is its first frame, 1
    its last."""

    at: float
    camera: Camera


@dataclass(frozen=True)
class CameraPath:
    """The camera over the video: its keys in increasing ``at``, the angles
    linear in between and held before the first and after the last. One
    key is a camera that does not move."""

    keys: tuple[CameraKey, ...] = (CameraKey(0.0, Camera()),)

    @property
    def moves(self) -> bool:
        """Whether any two keys differ (else every frame has one camera)."""
        return any(k.camera != self.keys[0].camera for k in self.keys)

    def at(self, progress: float) -> Camera:
        """The camera at ``progress`` (0: the motion's first frame, 1: its
        last): a pure function of it."""
        keys = self.keys
        if progress <= keys[0].at:
            return keys[0].camera
        for a, b in itertools.pairwise(keys):
            if progress <= b.at:
                t = (progress - a.at) / (b.at - a.at)
                return Camera(
                    a.camera.elevation + t * (b.camera.elevation - a.camera.elevation),
                    a.camera.azimuth + t * (b.camera.azimuth - a.camera.azimuth),
                )
        return keys[-1].camera

    @classmethod
    def orbit(cls, start: Camera, degrees: float) -> CameraPath:
        """From ``start``, the azimuth turning ``degrees`` over the motion."""
        end = Camera(start.elevation, start.azimuth + degrees)
        return cls((CameraKey(0.0, start), CameraKey(1.0, end)))


FIXED_CAMERA = CameraPath()  # matplotlib's own camera, not moving


@dataclass(frozen=True)
class Layout:
    """Where things go on the frame."""

    size: tuple[int, int] = BASE_SIZE  # pixels, width × height
    # None: text, lines and markers keep their proportion to the frame (see
    # figure_dpi); a number fixes matplotlib's dpi whatever the size.
    dpi: int | None = None
    view: str = "2d"  # or "3d": the surface in 3-D; "both": the two side by side
    aspect: str = "equal"  # x and y units of one length where the frame allows
    panels: tuple[str, ...] = ()  # names of optviz.draw.panels.PANELS
    legend: str = "auto"  # one of LEGEND_POSITIONS
    camera: CameraPath = FIXED_CAMERA  # of the 3-D view

    @property
    def figure_dpi(self) -> float:
        """The dpi the frame is drawn at: ``dpi`` if given, else
        :data:`BASE_DPI` times how much larger than :data:`BASE_SIZE` the
        frame is, so that 1080p or 4K shows what 800×600 shows, only sharper
        (and 800×600 itself is drawn as ever)."""
        if self.dpi is not None:
            return float(self.dpi)
        w, h = self.size
        return BASE_DPI * min(w / BASE_SIZE[0], h / BASE_SIZE[1])


@dataclass(frozen=True)
class Timeline:
    """Which iteration each frame shows, and for how long."""

    frames: int = 300  # frames that show motion (the held last frame is extra)
    fps: int = 30
    hold: float = 1.0  # seconds the last frame stays on screen
    schedule: str = "log"  # a name of optviz.draw.schedules.SCHEDULES
    title_card: float = 0.0  # seconds of title and settings before the motion

    @property
    def intro_frames(self) -> int:
        """Frames of the title card, before the motion."""
        return max(0, round(self.title_card * self.fps))

    @property
    def hold_frames(self) -> int:
        """Frames the last one is held for, after the motion."""
        return max(0, round(self.hold * self.fps))

    @property
    def total_frames(self) -> int:
        """Every frame of the video: title card, motion (always ``frames``:
        a short run holds each iteration for several) and hold."""
        return self.intro_frames + self.frames + self.hold_frames

    def progress(self, frame: int) -> float:
        """How far into the motion frame ``frame`` of the video is: 0 on its
        first frame of motion (and the title card's), 1 on its last (and
        the hold's)."""
        k = frame - self.intro_frames
        return min(1.0, max(0.0, k / max(1, self.frames - 1)))

    def sequence(self, schedule: Sequence[int]) -> list[int | None]:
        """What each frame of the video shows: None for the title card's
        frames, then the iteration of each frame of ``schedule``, then the
        last of them again for the hold."""
        motion = [int(k) for k in schedule]
        hold = self.hold_frames if motion else 0
        return [None] * self.intro_frames + motion + motion[-1:] * hold


@dataclass(frozen=True)
class ColourScale:
    """Optimizers coloured by a number (a sweep's value): a colour bar beside
    the view says which colour is which value."""

    label: str  # e.g. "ε (lr)"
    low: float
    high: float
    log: bool = False
    cmap: str = "viridis"

    # The part of the colour map used: its lightest end would vanish on the
    # light theme's pale contours.
    span: tuple[float, float] = (0.0, 0.85)

    def colormap(self):
        """The colour map, cut to :attr:`span`."""
        import matplotlib as mpl
        from matplotlib.colors import ListedColormap

        full = mpl.colormaps[self.cmap]
        return ListedColormap(full(np.linspace(*self.span, 256)), name=self.cmap)

    def norm(self):
        from matplotlib.colors import LogNorm, Normalize

        return (LogNorm if self.log else Normalize)(self.low, self.high)

    def colours(self, values: Sequence[float]) -> tuple[str, ...]:
        """The hex colour of each of ``values``."""
        from matplotlib.colors import to_hex

        cmap, norm = self.colormap(), self.norm()
        return tuple(to_hex(cmap(norm(v))) for v in values)


@dataclass(frozen=True)
class Player:
    """How the interactive player (the ``html`` format) starts and how
    finely it keeps the paths."""

    # Pixels: a point of a path closer than this to the last point kept is
    # dropped (optviz.draw.stage.decimate); the frames' own points never are.
    tolerance: float = 0.25
    autoplay: bool = False
    speed: float = 1.0  # times the video's frame rate
    scrubber: str = "frames"  # the slider steps through "frames" or "iterations"


SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
SCRUBBERS = ("frames", "iterations")


@dataclass(frozen=True)
class Caption:
    """A line of text shown from the first frame that shows ``iteration``,
    for ``seconds`` (:mod:`optviz.draw.captions` places it on the frames)."""

    iteration: int
    text: str
    seconds: float


@dataclass(frozen=True)
class Captions:
    """A video's captions; ``drawn``: in the frame too (else only the
    subtitle file has them), at the ``position`` ("bottom" or "top") of the
    contours, or "auto": at the bottom unless the legend is there."""

    items: tuple[Caption, ...] = ()
    drawn: bool = True
    position: str = "auto"


@dataclass(frozen=True)
class Scene:
    """Everything one figure draws.

    ``labels[i]`` names optimizer ``i`` (``Trajectory.optimizer``); all
    trajectories of one optimizer share its colour and legend entry, taken
    from ``colours[i]`` where given, else from the method ``methods[i]``
    (:func:`optviz.draw.backdrop.optimizer_colours`). ``card`` holds the
    lines of the title card (empty: the title alone).
    """

    surface: Surface
    trajectories: tuple[Trajectory, ...]
    labels: tuple[str, ...]
    xlim: Limits
    ylim: Limits
    title: str | None = None
    colours: tuple[str | None, ...] = ()
    methods: tuple[str, ...] = ()
    card: tuple[str, ...] = ()
    look: Look = field(default_factory=Look)
    layout: Layout = field(default_factory=Layout)
    timeline: Timeline = field(default_factory=Timeline)
    # Which optimizers the legend lists (empty: all); a colour scale says the
    # rest. counter: the iteration counter above the view (a grid of cells
    # shows one for all).
    in_legend: tuple[bool, ...] = ()
    colour_scale: ColourScale | None = None
    counter: bool = True
    player: Player = field(default_factory=Player)
    captions: Captions | None = None  # None: no captions, no subtitle file

    def camera(self, frame: int) -> Camera:
        """The 3-D view's camera on frame ``frame`` of the video (title card
        and hold included): a pure function of the index, so that a process
        that draws a piece of the video draws what one process would."""
        return self.layout.camera.at(self.timeline.progress(frame))

    @property
    def card_lines(self) -> tuple[str, ...]:
        """The title card's lines: ``card``, else the title, else none."""
        return self.card or ((self.title,) if self.title else ())
