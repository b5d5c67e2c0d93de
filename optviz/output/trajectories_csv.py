"""Write a run's trajectories as CSV, under a temporary name until complete."""

from __future__ import annotations

import csv
import io
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optviz.errors import OptvizError
from optviz.optim.runner import Trajectory
from optviz.output.files import replace_when_done

COLUMNS = ("optimizer", "start", "iteration", "x", "y", "loss", "grad_norm")

# The text of a trajectory's numbers, by its points array, for arrays that
# cannot change (read-only: the rows api.run shares between the configs of one
# process). Float formatting is most of a CSV's cost, and ``optviz run
# configs/lecture/*.yaml`` writes the same rows in up to 14 files.
# id(points) -> weak references to (points, loss, grad_norm), and the lines.
_TEXT: dict[int, tuple[tuple[weakref.ref[np.ndarray], ...], list[str]]] = {}


def write_csv(trajectories: Sequence[Trajectory], path: Path) -> Path:
    """One row per iteration per optimizer per start; iteration 0 is the start.

    Floats are written with Python's shortest round-tripping repr, so reading
    the file back gives the very same float64 values.
    """
    try:
        with replace_when_done(path) as tmp, open(tmp, "w", newline="") as out:
            out.write(",".join(COLUMNS) + "\n")
            for t in trajectories:
                out.write(_text(t))
    except OSError as e:  # a full disk, a read-only folder
        raise OptvizError(f"cannot write {path}: {e.strerror or e}") from e
    return path


def _text(t: Trajectory) -> str:
    """The CSV lines of ``t``: the label and start (quoted as the csv module
    quotes them) before each line of numbers, joined in one call."""
    if not len(t.points):
        return ""
    fields = io.StringIO()
    csv.writer(fields, lineterminator="").writerow((t.label, t.start))
    prefix = fields.getvalue() + ","
    return prefix + ("\n" + prefix).join(_numbers(t)) + "\n"


def _numbers(t: Trajectory) -> list[str]:
    """``k,x,y,loss,grad_norm`` for each iteration k, each float its repr
    (what the csv module writes)."""
    arrays = (t.points, t.loss, t.grad_norm)
    frozen = not any(a.flags.writeable for a in arrays)
    if frozen and id(t.points) in _TEXT:
        refs, lines = _TEXT[id(t.points)]
        if all(ref() is a for ref, a in zip(refs, arrays)):
            return lines
    columns = [t.points[:, 0].tolist(), t.points[:, 1].tolist()]
    columns += [t.loss.tolist(), t.grad_norm.tolist()]
    lines = list(map("%d,%r,%r,%r,%r".__mod__, zip(range(len(t.points)), *columns)))
    if frozen:
        _TEXT[id(t.points)] = (tuple(map(weakref.ref, arrays)), lines)
        weakref.finalize(t.points, _TEXT.pop, id(t.points), None)
    return lines
