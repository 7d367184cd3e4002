"""How a command meets its process: exit statuses, signals that end it, and warnings shown as
the command's own (its log messages: ``bbtok.cli.log``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

# The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
# Standard output closed early (`bbtok encode ... -o - | head`): quietly, with the status of a
# process killed by SIGPIPE, as the other programs of a pipeline end.
BROKEN_PIPE = 128 + 13
# Signals that ask the command to end: turned into an exception while it runs, so that it
# cleans up (an unfinished output file) as it does on Ctrl-C, and exits with 128 + the signal.
ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(BaseException):
    """A signal asked the command to end (SIGTERM, SIGHUP). A BaseException, as
    KeyboardInterrupt is: code that handles errors must not swallow it."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(signal.Signals(signal_number).name)

    @property
    def exit_status(self) -> int:
        return 128 + self.signal_number


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """warnings.showwarning for the command line: the message, not the library's source line."""
    with contextlib.suppress(OSError, ValueError):  # as warnings' own: a closed stderr is no error
        (sys.stderr if file is None else file).write(f"bbtok: warning: {message}\n")


@contextlib.contextmanager
def warnings_for_the_command_line() -> Iterator[None]:
    """Python warnings read as the command's other messages while it runs; a library user's
    setting is back as it was afterwards."""
    show_warning = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        yield
    finally:
        warnings.showwarning = show_warning


def _raise_terminated(signal_number: int, frame: FrameType | None) -> None:
    raise Terminated(signal_number)


@contextlib.contextmanager
def ending_signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread while the command runs,
    so that it cleans up as on Ctrl-C. Not when called off the main thread (Python allows signal
    handlers only there), and not for a signal ignored by whoever started us (nohup)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in ENDING_SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, _raise_terminated)
    try:
        yield
    finally:
        for number, handler in previous.items():
            # None: a handler not set from Python, which leaves the default one.
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def silence_standard_output() -> None:
    """Point standard output at /dev/null: its reader is gone, and Python's flush of it at exit
    would otherwise fail again, with a message."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        descriptor = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)
        os.close(devnull)
