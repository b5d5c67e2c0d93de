"""What happens in a run, as events: who reaches a minimum, and when a run
stops (converged, diverged, singular Hessian, failed line search).

:func:`events` is a pure function of the trajectories, the surface's known
minima and the window the video shows. It reads the very numbers the legend's
badges and the summary table read (:meth:`Trajectory.first_reach`,
:attr:`Trajectory.stopped_at`), so the captions, ``events.csv``, the legend
and the table cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optviz.optim import window
from optviz.optim.runner import REACH_RADIUS, Status, Trajectory
from optviz.surfaces import Minimum

# The kinds of event, in the order two at one iteration are listed; the
# names a caption's ``at: {event: ...}`` takes.
REACHED = "reached"
KINDS = (
    REACHED,
    Status.CONVERGED.value,
    Status.DIVERGED.value,
    Status.SINGULAR.value,
    Status.LINE_SEARCH.value,
)
# What a run that stopped early says, after its label.
_STOPPED = {
    Status.CONVERGED: "converged",
    Status.DIVERGED: "diverged",
    Status.SINGULAR: "stopped: singular Hessian",
    Status.LINE_SEARCH: "stopped: line search failed",
}


@dataclass(frozen=True)
class Event:
    """One thing that happened to one run (optimizer ``optimizer`` from start
    ``start``) at ``iteration``; ``text`` is its caption."""

    iteration: int
    kind: str  # one of KINDS
    optimizer: int  # index into the config's optimizers
    label: str  # that optimizer's label
    start: int  # index into the config's starts
    text: str  # "adam reaches the global minimum (3, 0.5)"


def events(
    trajectories: Sequence[Trajectory],
    minima: Sequence[Minimum],
    view: tuple[window.Limits, window.Limits] | None = None,
    radius: float = REACH_RADIUS,
) -> tuple[Event, ...]:
    """Every event of the runs, by iteration (then optimizer, start, kind).

    - ``reached``: the first iteration within ``radius`` of a known minimum,
      naming which (the first listed, of several reached at one iteration);
    - ``converged``, ``singular_hessian``, ``line_search_failed``: the
      iteration the run stopped at;
    - ``diverged``: the first iteration outside ``view`` (where its line
      leaves the frame), or where it stopped if it never left it in sight;
      nothing of that run after it (the video no longer shows it).

    A start is named after the label only when the runs have several.
    """
    several = len({t.start for t in trajectories}) > 1
    out = []
    for t in trajectories:
        who = t.label
        if several and len(t.points):
            x, y = t.points[0]
            who = f"{t.label} from ({x:g}, {y:g})"
        if len(t.points):
            hit = _first_minimum(t, minima, radius)
            if hit is not None:
                k, m = hit
                text = f"{who} reaches the {m.kind} minimum ({m.x:g}, {m.y:g})"
                out.append(Event(k, REACHED, t.optimizer, t.label, t.start, text))
        if t.status in _STOPPED:
            k = t.stopped_at
            if t.status is Status.DIVERGED and view is not None and len(t.points):
                left = window.first_outside(t, *view)
                k = k if left is None else min(k, left)
            text = f"{who} {_STOPPED[t.status]}"
            kind = t.status.value
            out.append(Event(k, kind, t.optimizer, t.label, t.start, text))
        if t.status is Status.DIVERGED:  # nothing after it leaves the picture
            end = out[-1].iteration
            out = [e for e in out if not (e.iteration > end and e.start == t.start
                                          and e.optimizer == t.optimizer)]  # fmt: skip
    order = {kind: i for i, kind in enumerate(KINDS)}
    out.sort(key=lambda e: (e.iteration, e.optimizer, e.start, order[e.kind]))
    return tuple(out)


def _first_minimum(
    t: Trajectory, minima: Sequence[Minimum], radius: float
) -> tuple[int, Minimum] | None:
    """The first iteration ``t`` is within ``radius`` of one of ``minima``,
    and which (as :meth:`Trajectory.first_reach` finds it)."""
    found = [(t.first_within(m.point, radius), i) for i, m in enumerate(minima)]
    hits = [(k, i) for k, i in found if k is not None]
    if not hits:
        return None
    k, i = min(hits)
    return k, minima[i]
