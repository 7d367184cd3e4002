"""bbtok's log messages shown as the command's own while a command runs. Apart from
``bbtok.cli.process`` so that only a command that runs imports ``logging`` (and the modules it
imports): ``bbtok --help`` and ``--version`` log nothing."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator


class _CommandLineLogHandler(logging.Handler):
    """bbtok's log messages (a too-long sequence, ...) as ``bbtok: warning: ...``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"bbtok: {record.levelname.lower()}: {record.getMessage()}\n")
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def log_for_the_command_line() -> Iterator[None]:
    """bbtok's log read as the command's other messages while it runs; a library user's
    settings are back as they were afterwards."""
    logger = logging.getLogger("bbtok")
    handler = _CommandLineLogHandler()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
