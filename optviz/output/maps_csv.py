"""Write a map as CSV, one row per grid point, under a temporary name until
complete.

The columns begin with the grid point's coordinates, named by their axes
(``x,y`` for a map of starts, the two hyperparameters' keys for a phase map),
then ``outcome`` (``reached``, ``diverged`` or ``none``), ``minimum`` (the
0-based index into the surface's listed minima, empty when none was
reached) and ``iterations`` (to the first arrival, empty when none), and end
with where the run stopped (``final_x,final_y``: empty where it diverged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optviz.errors import OptvizError
from optviz.optim.stream import Outcome, Outcomes
from optviz.output.files import replace_when_done

WORDS = {int(o): o.word for o in Outcome}


def write_map_csv(
    path: Path, keys: tuple[str, str], where: np.ndarray, outcomes: Outcomes
) -> Path:
    """``where`` (R, 2): each row's coordinates on the map's two axes."""
    head = f"{keys[0]},{keys[1]},outcome,minimum,iterations,final_x,final_y\n"
    reached = outcomes.outcome == Outcome.REACHED
    minimum = [str(m) if r else "" for m, r in zip(outcomes.target.tolist(), reached)]
    iterations = [
        str(k) if r else "" for k, r in zip(outcomes.iteration.tolist(), reached)
    ]
    words = [WORDS[o] for o in outcomes.outcome.tolist()]
    finals = [
        ("", "") if not np.isfinite(fx) else (repr(fx), repr(fy))
        for fx, fy in outcomes.final.tolist()
    ]
    lines = [
        f"{a!r},{b!r},{w},{m},{k},{fx},{fy}\n"
        for (a, b), w, m, k, (fx, fy) in zip(
            where.tolist(), words, minimum, iterations, finals
        )
    ]
    try:
        with replace_when_done(path) as tmp, open(tmp, "w", newline="") as out:
            out.write(head)
            out.writelines(lines)
    except OSError as e:  # a full disk, a read-only folder
        raise OptvizError(f"cannot write {path}: {e.strerror or e}") from e
    return path
