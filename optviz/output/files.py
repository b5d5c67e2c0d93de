"""Outputs appear under their final name only when complete."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def for_subprocess(path: Path) -> str:
    """``path`` as an argument for another program: absolute, so that a name
    the user chose, such as ``-y`` or ``-f null``, can never be read as one of
    its options."""
    return str(Path(path).absolute())


def partial_name(path: Path) -> Path:
    """Where ``path`` is written until it is complete: a hidden sibling, so that
    a rename onto the final name is atomic (same folder, same file system),
    named after this process, so that two renders of one video into one
    folder never write into each other's file."""
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def sweep_partials(folder: Path) -> None:
    """Remove the temporary files (:func:`partial_name`) that a killed optviz
    left in ``folder``, whatever their names: one killed outright (SIGKILL,
    a power cut) cannot clean up after itself. A file whose process still
    runs is another render's, and is left alone."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            name = entry.name
            if not (name.startswith(".") and name.endswith(".part")):
                continue
            pid = name[: -len(".part")].rpartition(".")[2]
            if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False):
                        os.unlink(entry.path)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (when in doubt: yes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, OSError):  # someone else's, or no way to tell: keep
        return True
    return True


@contextlib.contextmanager
def replace_when_done(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto
    ``path``, on any failure (Ctrl-C included) remove it. An existing ``path``
    is only ever replaced by a complete new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_partials(path.parent)
    tmp = partial_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class Session:
    """A writer's context: ``with`` starts it, a clean exit finishes it and
    an exception (Ctrl-C included) aborts it, leaving nothing behind."""

    def start(self) -> Any:
        raise NotImplementedError

    def finish(self) -> list[Path]:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()
