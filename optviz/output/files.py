"""Outputs appear under their final name only when complete."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def partial_name(path: Path) -> Path:
    """Where ``path`` is written until it is complete: a hidden sibling, so that
    a rename onto the final name is atomic (same folder, same file system)."""
    return path.with_name(f".{path.name}.part")


@contextlib.contextmanager
def replace_when_done(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto
    ``path``, on any failure (Ctrl-C included) remove it. An existing ``path``
    is only ever replaced by a complete new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
