"""A run's events (:mod:`optviz.optim.events`) as ``events.csv``."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from optviz.errors import OptvizError
from optviz.optim.events import Event
from optviz.output.files import replace_when_done

COLUMNS = ("iteration", "event", "optimizer", "start", "text")


def write_events(events: Sequence[Event], path: Path) -> Path:
    """One row per event, in order; ``optimizer`` is its label and ``start``
    the index into the config's starts (as in ``trajectories.csv``)."""
    try:
        with replace_when_done(path) as tmp, open(tmp, "w", newline="") as out:
            rows = csv.writer(out, lineterminator="\n")
            rows.writerow(COLUMNS)
            for e in events:
                rows.writerow((e.iteration, e.kind, e.label, e.start, e.text))
    except OSError as e:
        raise OptvizError(f"cannot write {path}: {e.strerror or e}") from e
    return path
