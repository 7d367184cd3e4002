"""The ``bbtok`` command line: ``demo``, ``encode``, ``tokenize``, ``decode``, ``train``,
``generate``, ``chat``, ``convert`` and ``bench``."""

from bbtok.cli.run import main

__all__ = ["main"]
