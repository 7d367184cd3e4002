"""transformers 5.23.0's own ``TokenizerTesterMixin`` run against bbtok's three tokenizer classes.

Each mixin test runs first on transformers' class, then on ours, both loaded from the same files
(the sample checkpoint for BlenderbotSmall, fixtures/byte_level for the byte-level Blenderbot).
Ours must pass wherever transformers' class passes; where transformers' class fails or skips the
test in this setup, ours is marked xfail or skipped with transformers' own reason, computed here
at test time and never kept by hand.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import bbtok

from conftest import FIXTURES, SAMPLE_DIR
from transformers_suite import (
    OFFLINE_VARIABLE,
    Outcome,
    SuiteUnavailable,
    exception_line,
    load_mixin_module,
    make_case_class,
    run_case,
)

TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer_config.json")


def _copier(source: Path) -> Callable[[Path], None]:
    def copy_files(destination: Path) -> None:
        for name in TOKENIZER_FILES:
            if (source / name).is_file():
                shutil.copy(source / name, destination / name)

    return copy_files


@dataclass(frozen=True)
class Family:
    """One of bbtok's classes, transformers' class it stands in for, and their shared files."""

    name: str
    reference_name: str
    files: Path


FAMILIES = (
    Family("BlenderbotSmallTokenizer", "BlenderbotSmallTokenizer", SAMPLE_DIR),
    Family("BlenderbotSmallTokenizerFast", "BlenderbotSmallTokenizerFast", SAMPLE_DIR),
    Family("BlenderbotTokenizer", "BlenderbotTokenizer", FIXTURES / "byte_level"),
)


def _load_mixin() -> tuple[type[Any] | None, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = load_mixin_module()
    except SuiteUnavailable as error:
        return None, str(error)
    return module.TokenizerTesterMixin, ""


MIXIN, UNAVAILABLE = _load_mixin()
# The mixin's test methods; some ``test_*`` attributes are settings (``test_seq2seq = True``),
# and a parameterized test's original name is left as None beside its numbered expansions.
MIXIN_TESTS = sorted(
    name for name in dir(MIXIN) if name.startswith("test_") and callable(getattr(MIXIN, name))
)


@cache
def _case_class(family: Family, ours: bool) -> type[Any]:
    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    reference_class = getattr(transformers, family.reference_name)
    if not ours:
        name = f"Reference{family.name}Test"
        return make_case_class(MIXIN, name, reference_class, _copier(family.files))
    return make_case_class(
        MIXIN,
        f"{family.name}Test",
        getattr(bbtok, family.name),
        _copier(family.files),
        # bbtok logs transformers' messages under its own logger's name.
        logger_name="bbtok",
        tokenizers_backed=issubclass(reference_class, transformers.TokenizersBackend),
    )


@cache
def _reference_outcome(reference_name: str, files: Path, test_name: str) -> Outcome:
    family = next(f for f in FAMILIES if f.reference_name == reference_name and f.files == files)
    return run_case(_case_class(family, ours=False), test_name)


def test_the_transformers_suite_is_available() -> None:
    if MIXIN is not None:
        return
    if os.environ.get(OFFLINE_VARIABLE) == "1":
        pytest.skip(f"{OFFLINE_VARIABLE}=1: transformers' tokenizer suite not run ({UNAVAILABLE})")
    pytest.fail(
        f"transformers' tokenizer suite could not be had: {UNAVAILABLE}. "
        f"Set {OFFLINE_VARIABLE}=1 to run the other tests offline."
    )


@pytest.mark.parametrize("test_name", MIXIN_TESTS)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_ours_passes_each_mixin_test_that_transformers_class_passes(
    family: Family, test_name: str
) -> None:
    reference = _reference_outcome(family.reference_name, family.files, test_name)
    if reference.status == "skipped":
        pytest.skip(f"skipped on transformers' {family.reference_name} too: {reference.reason}")
    ours = run_case(_case_class(family, ours=True), test_name)
    if reference.status == "failed":
        if ours.status == "passed":
            return
        why = exception_line(reference.reason)
        pytest.xfail(f"fails on transformers' {family.reference_name} too: {why}")
    if ours.status == "skipped":
        pytest.fail(f"skipped on ours but passes on transformers' class: {ours.reason}")
    if ours.status == "failed":
        pytest.fail(ours.reason, pytrace=False)
