"""The ``bbtok`` command line."""

from bbtok.cli.commands import main

__all__ = ["main"]
