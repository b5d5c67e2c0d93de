"""Write a run's trajectories as CSV, under a temporary name until complete."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from optviz.errors import OptvizError
from optviz.optim.runner import Trajectory
from optviz.output.files import replace_when_done

COLUMNS = ("optimizer", "start", "iteration", "x", "y", "loss", "grad_norm")


def write_csv(trajectories: Sequence[Trajectory], path: Path) -> Path:
    """One row per iteration per optimizer per start; iteration 0 is the start.

    Floats are written with Python's shortest round-tripping repr, so reading
    the file back gives the very same float64 values.
    """
    try:
        with replace_when_done(path) as tmp, open(tmp, "w", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(COLUMNS)
            for t in trajectories:
                xs, ys = t.points[:, 0].tolist(), t.points[:, 1].tolist()
                writer.writerows(
                    (t.label, t.start, k, x, y, loss, g)
                    for k, (x, y, loss, g) in enumerate(
                        zip(xs, ys, t.loss.tolist(), t.grad_norm.tolist())
                    )
                )
    except OSError as e:  # a full disk, a read-only folder
        raise OptvizError(f"cannot write {path}: {e.strerror or e}") from e
    return path
