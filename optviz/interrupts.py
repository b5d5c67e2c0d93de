"""Ctrl-C and SIGTERM as exceptions, so that every cleanup runs.

The default SIGTERM ends a process on the spot and leaves its temporary
files; here both signals raise where the program is, and every ``finally``
and ``with`` on the way out removes what it made.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is (a KeyboardInterrupt, so that
    what cleans up after Ctrl-C cleans up after it too)."""


def terminate(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler: raise :class:`Terminated`."""
    raise Terminated


# The signals that stop optviz cleanly; the terminal's hang-up (its window
# closed, an SSH session lost) is one of them.
STOPS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Interrupts:
    """While active (``with Interrupts() as caught``), SIGTERM and SIGHUP
    raise :class:`Terminated` and SIGINT KeyboardInterrupt, and
    ``caught.signals`` lists the signals that arrived.

    Only the first signal raises: the cleanup it starts (workers stopped,
    partial files removed) is short and must run to its end, so a second
    Ctrl-C, or a SIGTERM sent to the whole process group after it, is noted
    and otherwise ignored.

    The exception a handler raises can come out as another: raised inside a
    C extension's callback, it may be replaced by that extension's own error
    (matplotlib's transforms turn it into "ValueError: Invalid affine
    transformation matrix"). Whatever the error, once a signal is in
    ``signals`` it is an interrupt, and is reported as one. Raised where
    Python can only print an exception (a weakref's callback, a fork hook),
    it would be printed as "Exception ignored" with a traceback and lost, the
    program going on: such an interrupt is not printed, and the first signal
    is sent again a moment later, to raise where it can stop the program.
    Outside the main thread, where handlers cannot be set, nothing is changed.
    """

    def __init__(self, exiting: bool = False) -> None:
        # exiting: the process ends when this does (the command line), so a
        # signal after the first must not kill it between the end of the
        # block and its exit status: stopped, the signals stay ignored
        self.exiting = exiting
        self.signals: list[int] = []
        self._previous: dict[int, object] = {}
        self._lost = False  # the last exception raised was only printed
        self._unraisable = sys.unraisablehook

    def _caught(self, signum: int, frame: FrameType | None) -> None:
        first = not self.signals
        self.signals.append(signum)
        if first or self._lost:
            self._lost = False
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    def _unraisable_hook(self, unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and self.signals:
            self._lost = True
            again = threading.Timer(0.01, os.kill, (os.getpid(), self.signals[0]))
            again.daemon = True
            again.start()
            return
        self._unraisable(unraisable)

    def __enter__(self) -> Interrupts:
        try:
            for signum in STOPS:
                self._previous[signum] = signal.signal(signum, self._caught)
        except ValueError:  # not the main thread: leave signals alone
            return self
        self._unraisable = sys.unraisablehook
        sys.unraisablehook = self._unraisable_hook
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            stopping = signal.SIG_IGN if self.signals and self.exiting else handler
            signal.signal(signum, stopping)  # type: ignore[arg-type]
        if self._previous:
            sys.unraisablehook = self._unraisable

    @property
    def first(self) -> int | None:
        """The signal that stopped the program (None: none came)."""
        return self.signals[0] if self.signals else None
