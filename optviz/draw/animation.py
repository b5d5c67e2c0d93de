"""How a run is drawn: the ``animation:`` settings as the drawing reads them.

They live in the drawing layer, not in :mod:`optviz.config`, so that drawing
never imports the config; the config parses into them (and re-exports
:class:`Animation`, so ``optviz.config.Animation`` keeps working).
"""

from __future__ import annotations

from dataclasses import dataclass

from optviz.output.writers import DEFAULT as DEFAULT_FORMATS

# The frame whose proportions every size keeps (unless a dpi is given).
BASE_SIZE = (800, 600)
BASE_DPI = 100


@dataclass(frozen=True)
class Animation:
    """How a run is drawn: every field has a default, so ``animation:`` is optional."""

    frames: int = 300  # frames that show motion (the held last frame is extra)
    fps: int = 30
    hold: float = 1.0  # seconds the last frame stays on screen
    # Pixels, width × height; with view: both and no size, config.BOTH_SIZE.
    size: tuple[int, int] = (800, 600)
    # None: text, lines and markers keep their proportion to the frame (see
    # figure_dpi); a number fixes matplotlib's dpi whatever the size.
    dpi: int | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS  # names of optviz.output.writers
    schedule: str = "log"  # which iteration each frame shows: see optviz.draw.schedules
    title_card: float = 0.0  # seconds of title and settings before the motion
    panels: tuple[str, ...] = ()  # names of optviz.draw.panels.PANELS
    theme: str = "light"  # a name of optviz.draw.themes.THEMES
    hyperparameters_in_legend: bool = False  # "adam (ε=0.22, β2=0.99)"
    contour_labels: bool = False  # the value on some of the contour lines
    view: str = "2d"  # or "3d": the surface in 3-D; "both": the two side by side
    gradient_field: bool = False  # arrows of −∇f under the contours (2-D)
    aspect: str = "equal"  # x and y units of one length where the frame allows

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
