"""The errors optviz raises; the CLI turns each into one line on stderr."""

from __future__ import annotations


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
        """The same error, located in ``source`` under ``path``."""
        return ConfigError(
            self.message,
            path=join_path(path, self.path) if path else self.path,
            source=source or self.source,
        )


class RenderError(OptvizError):
    """Drawing or encoding failed (ffmpeg's own words are in the message)."""


def join_path(parent: str, child: str) -> str:
    """``optimizers[1]`` + ``lr`` -> ``optimizers[1].lr``; indices attach directly."""
    if not parent:
        return child
    if not child:
        return parent
    return parent + child if child.startswith("[") else f"{parent}.{child}"
