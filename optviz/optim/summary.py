"""The end-of-run table: how each optimizer fared from each start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optviz.optim import window
from optviz.optim.runner import REACH_RADIUS, Status, Trajectory
from optviz.surfaces import Minimum


@dataclass(frozen=True)
class Row:
    label: str
    start: tuple[float, float]
    status: str
    iterations: int  # the iteration it stopped at (Trajectory.stopped_at)
    reached: int | None  # first iteration within REACH_RADIUS of a known minimum
    final: tuple[float, float]
    loss: float
    # The first iteration outside the view the video shows (None: never), and
    # whether the last point is back inside it.
    left_view: int | None = None
    ends_in_view: bool = True


def first_reach(
    trajectory: Trajectory, minima: Sequence[Minimum], radius: float = REACH_RADIUS
) -> int | None:
    """The first iteration at which ``trajectory`` is within ``radius`` of any of
    ``minima``, or None (:meth:`Trajectory.first_reach`, as the legend says)."""
    return trajectory.first_reach([m.point for m in minima], radius)


def rows(
    trajectories: Sequence[Trajectory],
    minima: Sequence[Minimum],
    view: tuple[window.Limits, window.Limits] | None = None,
) -> list[Row]:
    """One row per trajectory; with ``view`` (the video's ``(xlim, ylim)``),
    each says where it left it."""
    out = []
    for t in trajectories:
        x, y = t.points[-1]
        start = t.points[0]
        left, back = None, True
        if view is not None:
            left = window.first_outside(t, *view)
            back = left is None or not window.outside(t.points[-1:], *view)[0]
        out.append(
            Row(
                label=t.label,
                start=(float(start[0]), float(start[1])),
                status=t.status.value,
                iterations=t.iterations,
                reached=first_reach(t, minima),
                final=(float(x), float(y)),
                loss=float(t.loss[-1]),
                left_view=left,
                ends_in_view=bool(back),
            )
        )
    return out


def view_warnings(summary: Sequence[Row], fitted: bool = False) -> list[str]:
    """One line per optimizer and start whose path leaves the video's view:
    which, from where, at which iteration, and whether it comes back.
    ``fitted``: the view is already ``view: auto``'s, so the advice differs."""
    out = []
    for r in summary:
        if r.left_view is None:
            continue
        if r.status == Status.DIVERGED.value:
            how = "and diverges"
        elif r.ends_in_view:
            how = "and comes back"
        else:
            how = "and ends outside it"
        out.append(
            f"warning: {r.label} from ({r.start[0]:g}, {r.start[1]:g}) leaves "
            f"the view at iteration {r.left_view} {how}"
        )
    if out:
        out.append(
            f"(view: auto fits the view to points up to {window.FIT_SPANS:g} "
            "window spans past its edges; these go further)"
            if fitted
            else "(view: auto fits the view to the paths; or give view: {x: [min, "
            "max], y: [min, max]})"
        )
    return out


def table(summary: Sequence[Row]) -> str:
    """A plain-text table, one line per optimizer and start."""
    header = ("optimizer", "start", "status", "iterations", "reached", "final", "loss")
    lines = [header]
    for r in summary:
        lines.append(
            (
                r.label,
                f"({r.start[0]:g}, {r.start[1]:g})",
                r.status,
                str(r.iterations),
                "—" if r.reached is None else str(r.reached),
                f"({r.final[0]:.4f}, {r.final[1]:.4f})",
                f"{r.loss:.4g}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {3, 4, 6}
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths))
        ).rstrip()
        for line in lines
    )
