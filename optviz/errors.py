"""The errors optviz raises; the CLI turns each into one line on stderr."""

from __future__ import annotations

import re


class OptvizError(Exception):
    """Base class: anything a user can cause and fix."""

    exit_code = 1


class ConfigError(OptvizError):
    """A config file that cannot be used, with where and why.

    ``source`` is the file (or "<string>"), ``path`` the key path inside it such as
    ``optimizers[1].lr``; both are optional so that the same error can be raised
    deep in validation and located by the caller.
    """

    exit_code = 2

    def __init__(self, message: str, path: str = "", source: str = "") -> None:
        self.message = message
        self.path = path
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.path) if part)
        return f"{where}: {self.message}" if where else self.message

    def at(self, path: str = "", source: str = "") -> ConfigError:
        """The same error, located under ``path`` in ``source``; an error that
        already names its file (a surface file a config refers to) keeps it."""
        if self.source:
            return self
        return ConfigError(
            self.message,
            path=join_path(path, self.path) if path else self.path,
            source=source,
        )


class RenderError(OptvizError):
    """Drawing or encoding failed.

    ``str(error)`` is one line ending in the line of ffmpeg's stderr that names
    the cause; ``details`` keeps the tail of its stderr for the whole story.
    """

    def __init__(self, message: str, details: str = "") -> None:
        self.details = details
        cause = _first_complaint(details)
        super().__init__(f"{message}; ffmpeg said: {cause}" if cause else message)


# ffmpeg reports the root cause first and then the fallout of every stream
# ("Nothing was written ..."), so the first line that complains is the one.
_COMPLAINT = re.compile(
    r"error|invalid|unknown|unrecognized|no such|not found|unable|cannot|"
    r"could not|failed|denied|no space",
    re.IGNORECASE,
)


def _first_complaint(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next(
        (line for line in lines if _COMPLAINT.search(line)),
        lines[-1] if lines else "",
    )


def join_path(parent: str, child: str) -> str:
    """``optimizers[1]`` + ``lr`` -> ``optimizers[1].lr``; indices attach directly."""
    if not parent:
        return child
    if not child:
        return parent
    return parent + child if child.startswith("[") else f"{parent}.{child}"


class PluginError(OptvizError):
    """A method from outside optviz (a plug-in file or package, a PyTorch
    optimizer) failed while it ran: one line naming its file and line."""
