"""Every example in bbtok's docstrings runs, in the bbtok that is imported (installed or in
place), as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bbtok

# Running these runs a program.
ENTRY_POINTS = {"bbtok.__main__", "bbtok.bench.__main__"}
MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(bbtok.__path__, "bbtok.")
    if module.name not in ENTRY_POINTS
)


def test_every_module_is_found() -> None:
    assert {"bbtok.tokenization.base", "bbtok.corpus.progress", "bbtok.storage.hub"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_of_a_module_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
