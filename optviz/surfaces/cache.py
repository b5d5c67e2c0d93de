"""A small user cache of text that is slow to make and cheap to check.

Where it lives: ``$OPTVIZ_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/optviz``,
else ``~/.cache/optviz``. Each entry is one JSON file named by the SHA-256 of
its key; it holds the key and a digest of its text, and is used only when both
match, so a truncated, edited or colliding file is ignored (and rewritten).
A folder that cannot be created or written only costs the time the cache
would have saved: nothing is ever raised.

Before the user's folder, the formulas look in the entries shipped with
optviz (:func:`load_shipped`; :data:`SHIPPED`, the generated code of the
built-in surfaces, written by ``benchmarks/record_builtin_code.py``):
read-only, in the same form and under the same checks as a user entry, key
and digest. Their keys hold the optviz and printer versions, so an entry of
another optviz is not found rather than wrongly used (SymPy's version they
leave out: see :func:`optviz.surfaces.formula._cache_key`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

# The shipped entries: {"entries": [{"kind", "key", "sha256", "text"}, ...]},
# package data beside this module.
SHIPPED = "builtin_code.json"


def folder() -> Path:
    """Where the cache is kept (see the module's docstring)."""
    if os.environ.get("OPTVIZ_CACHE_DIR"):
        return Path(os.environ["OPTVIZ_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "optviz"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _path(kind: str, key: str) -> Path:
    return folder() / f"{kind}-{_digest(key)}.json"


def load_shipped(kind: str, key: str) -> str | None:
    """The text shipped under ``key``, or None (absent or corrupt)."""
    return _checked(shipped().get((kind, key)), key)


def load(kind: str, key: str) -> str | None:
    """The text stored under ``key`` in the user's folder, or None (absent,
    unreadable or corrupt)."""
    try:
        return _checked(json.loads(_path(kind, key).read_text(encoding="utf-8")), key)
    except (OSError, ValueError):
        return None


def _checked(entry: Any, key: str) -> str | None:
    """An entry's text if it is an entry, under ``key``, matching its digest."""
    try:
        text = entry["text"]
        if entry["key"] == key and entry["sha256"] == _digest(text):
            return text
    except (KeyError, TypeError, AttributeError):
        pass
    return None


@functools.cache
def shipped() -> dict[tuple[str, str], Any]:
    """The shipped entries by kind and key (none if the file is missing or
    unreadable: then only the user's folder is used)."""
    import importlib.resources

    try:
        data = json.loads(
            importlib.resources.files("optviz.surfaces")
            .joinpath(SHIPPED)
            .read_text("utf-8")
        )
        return {(e["kind"], e["key"]): e for e in data["entries"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def store(kind: str, key: str, text: str) -> None:
    """Keep ``text`` under ``key``; silently nothing if the folder is not
    writable. Written beside the entry and renamed onto it, so that a reader
    in another process never sees half an entry."""
    path = _path(kind, key)
    entry = json.dumps({"key": key, "sha256": _digest(text), "text": text})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(entry)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
