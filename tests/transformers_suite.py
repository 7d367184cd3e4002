"""transformers' own tokenizer test suite (``TokenizerTesterMixin`` of its
``tests/test_tokenization_common.py``), taken from the 5.23.0 source distribution at test time and
pointed at bbtok's tokenizers and, in the very same setup, at transformers' own classes.

The mixin is never copied into this repository: ``pip download`` fetches the sdist into a cache
directory outside the repository (``$XDG_CACHE_HOME/bbtok-tests``, reused across runs), the three
files the mixin needs are extracted from it and imported as a package of their own.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
import unittest
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRANSFORMERS_VERSION = "5.23.0"
SDIST_NAME = f"transformers-{TRANSFORMERS_VERSION}.tar.gz"
# What test_tokenization_common.py imports from the sdist's tests/ folder.
MIXIN_FILES = (
    "test_tokenization_common.py",
    "test_tokenizers_backend_mixin.py",
    "test_sentencepiece_backend_mixin.py",
)
# The imported folder's package name: its own, so that it meets no other ``tests`` package.
PACKAGE = "transformers_5_23_0_tests"
OFFLINE_VARIABLE = "BBTOK_TESTS_OFFLINE"
# The mixin reads ``tests/fixtures/sample_text.txt`` in setUpClass and uses it for nothing else;
# the sdist does not ship tests/fixtures/, so the extracted folder gets this text instead.
SAMPLE_TEXT = (
    "This is a sample text for the tokenizer tests.\n"
    "It holds a few sentences, some numbers like 12 and 345, and punctuation!\n"
)


class SuiteUnavailable(Exception):
    """The sdist could not be had (no registry, a wrong version): the suite cannot run."""


def cache_directory() -> Path:
    """Where the sdist and its extracted tests live: outside the repository, kept across runs."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bbtok-tests"


def _download_sdist(directory: Path) -> Path:
    sdist = directory / SDIST_NAME
    if sdist.is_file():
        return sdist
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as download:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            download,
            f"transformers=={TRANSFORMERS_VERSION}",
        ]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as error:
            raise SuiteUnavailable(f"`{' '.join(command)}` still ran after 600 s") from error
        downloaded = Path(download) / SDIST_NAME
        if completed.returncode != 0 or not downloaded.is_file():
            raise SuiteUnavailable(
                f"`{' '.join(command)}` did not give {SDIST_NAME} "
                f"(exit {completed.returncode}): {completed.stderr.strip()[-2000:]}"
            )
        # A rename, so that a run stopped mid-download leaves no partial archive behind.
        os.replace(downloaded, sdist)
    return sdist


def _extract_tests(sdist: Path, directory: Path) -> Path:
    """The sdist's mixin files in ``directory/transformers-VERSION/tests``: a folder named
    ``tests``, as transformers' ``get_tests_dir()`` looks for one above the calling file."""
    tests = directory / f"transformers-{TRANSFORMERS_VERSION}" / "tests"
    if all((tests / name).is_file() for name in MIXIN_FILES):
        return tests
    prefix = f"transformers-{TRANSFORMERS_VERSION}/"
    with tarfile.open(sdist) as archive:
        version = _read_member(archive, prefix + "PKG-INFO").decode()
        if f"\nVersion: {TRANSFORMERS_VERSION}\n" not in version:
            raise SuiteUnavailable(f"{sdist} is not transformers {TRANSFORMERS_VERSION}")
        sources = {name: _read_member(archive, prefix + "tests/" + name) for name in MIXIN_FILES}
    staging = Path(tempfile.mkdtemp(dir=directory))
    (staging / "tests" / "fixtures").mkdir(parents=True)
    (staging / "tests" / "__init__.py").write_text("")
    (staging / "tests" / "fixtures" / "sample_text.txt").write_text(SAMPLE_TEXT)
    for name, source in sources.items():
        (staging / "tests" / name).write_bytes(source)
    shutil.rmtree(tests, ignore_errors=True)
    tests.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / "tests", tests)
    shutil.rmtree(staging, ignore_errors=True)
    return tests


def _read_member(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        member = archive.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise SuiteUnavailable(f"the transformers {TRANSFORMERS_VERSION} sdist has no {name}")
    return member.read()


def load_mixin_module() -> types.ModuleType:
    """transformers' ``test_tokenization_common`` module, from its 5.23.0 sdist; raises
    SuiteUnavailable when the sdist cannot be had."""
    if f"{PACKAGE}.test_tokenization_common" in sys.modules:
        return sys.modules[f"{PACKAGE}.test_tokenization_common"]
    directory = cache_directory()
    tests = _extract_tests(_download_sdist(directory), directory)
    spec = importlib.util.spec_from_file_location(
        PACKAGE, tests / "__init__.py", submodule_search_locations=[str(tests)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.test_tokenization_common")


@dataclass(frozen=True)
class Outcome:
    """How one unittest test ended: "passed", "failed" or "skipped", and why."""

    status: str
    reason: str = ""


def run_case(case_class: type[unittest.TestCase], test_name: str) -> Outcome:
    """Runs one test of ``case_class`` with its class set-up and tear-down, as unittest would."""
    result = unittest.TestResult()
    unittest.TestSuite([case_class(test_name)]).run(result)
    problems = result.errors + result.failures
    if problems:
        return Outcome("failed", "\n".join(text for _, text in problems))
    if result.skipped:
        return Outcome("skipped", "; ".join(reason for _, reason in result.skipped))
    if result.expectedFailures:
        return Outcome("skipped", "an expected failure in transformers' own suite")
    if result.testsRun != 1:
        return Outcome("failed", f"{test_name} did not run")
    return Outcome("passed")


def exception_line(report: str) -> str:
    """The exception line of a traceback report (the first unindented line after the last
    frame), for a short reason."""
    lines = report.strip().splitlines()
    frames = [index for index, line in enumerate(lines) if line.startswith("  File ")]
    after_frames = lines[frames[-1] + 1 :] if frames else lines
    return next((line for line in after_frames if line and not line[0].isspace()), report)


def make_case_class(
    mixin: type[Any],
    name: str,
    tokenizer_class: type[Any],
    copy_files: Callable[[Path], None],
    logger_name: str = "transformers",
    tokenizers_backed: bool = False,
) -> type[unittest.TestCase]:
    """A test class of ``mixin`` for ``tokenizer_class``, whose temporary directory holds the
    files ``copy_files`` puts there (in place of the hub id transformers' own classes save).

    For a class that stands in for one of transformers' (bbtok's subclass none of them):
    the mixin's ``assertLogs("transformers")`` listens to ``logger_name``, where the class logs
    what transformers logs; with ``tokenizers_backed`` the mixin's
    ``isinstance(tokenizer, TokenizersBackend)`` holds for it, so that it is checked as the
    tokenizers-backed class it stands in for (overflowing windows as rows, not the pure-Python
    ``overflowing_tokens``)."""
    module = sys.modules[mixin.__module__]

    class Case(mixin, unittest.TestCase):  # type: ignore[misc, valid-type]
        from_pretrained_id = None

        @classmethod
        def setUpClass(cls) -> None:
            super().setUpClass()
            copy_files(Path(cls.tmpdirname))

        def setUp(self) -> None:
            super().setUp()
            if tokenizers_backed:
                tokenizers_backend = module.TokenizersBackend
                module.TokenizersBackend = (tokenizers_backend, tokenizer_class)
                self.addCleanup(setattr, module, "TokenizersBackend", tokenizers_backend)

        def assertLogs(self, logger: Any = None, level: Any = None) -> Any:
            if logger == "transformers":
                logger = logger_name
            return super().assertLogs(logger, level)

    Case.tokenizer_class = tokenizer_class
    Case.__name__ = Case.__qualname__ = name
    return Case
