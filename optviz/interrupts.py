"""Ctrl-C and SIGTERM as exceptions, so that every cleanup runs.

The default SIGTERM ends a process on the spot and leaves its temporary
files; here both signals raise where the program is, and every ``finally``
and ``with`` on the way out removes what it made.
"""

from __future__ import annotations

import signal
from types import FrameType, TracebackType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is (a KeyboardInterrupt, so that
    what cleans up after Ctrl-C cleans up after it too)."""


def terminate(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler: raise :class:`Terminated`."""
    raise Terminated


class Interrupts:
    """While active (``with Interrupts() as caught``), SIGTERM raises
    :class:`Terminated` and SIGINT KeyboardInterrupt, and ``caught.signals``
    lists the signals that arrived.

    The exception a handler raises can come out as another: raised inside a
    C extension's callback, it may be replaced by that extension's own error
    (matplotlib's transforms turn it into "ValueError: Invalid affine
    transformation matrix"). Whatever the error, once a signal is in
    ``signals`` it is an interrupt, and is reported as one. Outside the main
    thread, where handlers cannot be set, nothing is changed.
    """

    def __init__(self) -> None:
        self.signals: list[int] = []
        self._previous: dict[int, object] = {}

    def _caught(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    def __enter__(self) -> Interrupts:
        try:
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._caught)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    @property
    def terminated(self) -> bool:
        """Whether the last signal was SIGTERM."""
        return self.signals[-1:] == [signal.SIGTERM]
