"""Which frames of a video show each caption.

A caption starts on the first frame that shows its iteration (the frame
schedule decides which iteration each frame shows: :mod:`optviz.draw.schedules`,
held frames and the title card included) and lasts its seconds at the
video's frame rate, cut at the video's end. The subtitle file and the frames
both read these :class:`Cue` values, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optviz.draw.scene import Caption


@dataclass(frozen=True)
class Cue:
    """``text`` on frames ``first`` to ``stop - 1`` of the video."""

    first: int
    stop: int
    text: str

    def start_seconds(self, fps: float) -> float:
        return self.first / fps

    def end_seconds(self, fps: float) -> float:
        return self.stop / fps


def cues(
    captions: Sequence[Caption], frames: Sequence[int | None], fps: float
) -> tuple[Cue, ...]:
    """Each caption's frames, in the order of their first frame (then as
    given). ``frames[i]`` is what frame ``i`` of the video shows
    (:meth:`optviz.draw.scene.Timeline.sequence`: None for the title card).
    A ValueError names a caption whose iteration no frame shows."""
    shown = np.array([-1 if k is None else k for k in frames], dtype=np.int64)
    # The iterations only grow along the video, so the first frame at or
    # past an iteration is found by bisection.
    out = []
    for c in captions:
        first = int(np.searchsorted(shown, c.iteration, side="left"))
        if first >= len(shown):
            raise ValueError(
                f"no frame shows iteration {c.iteration}; the last shows "
                f"{int(shown.max(initial=0))}"
            )
        stop = min(len(shown), first + max(1, round(c.seconds * fps)))
        out.append(Cue(first, stop, c.text))
    return tuple(sorted(out, key=lambda q: q.first))


def shown_on(cues: Sequence[Cue], frame: int) -> tuple[str, ...]:
    """The texts of the cues on frame ``frame``, in order."""
    return tuple(q.text for q in cues if q.first <= frame < q.stop)
