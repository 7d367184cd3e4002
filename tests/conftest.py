"""Shared test fixtures: the shipped tokenizer directories and the reference tokenizer."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast
from bbtok.data import SAMPLE_CHECKPOINT

# "ci": no example database (a fresh clone has none to learn from), no deadline (a shared
# 2-core machine has noisy timings); select with HYPOTHESIS_PROFILE=ci (.ci/run does).
settings.register_profile(
    "ci", deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURES = REPOSITORY / "fixtures"
TINY_VOCAB_DIR = FIXTURES / "tiny"
# The sample vocabulary is the tokenizer of the sample checkpoint shipped in the package.
SAMPLE_DIR = SAMPLE_CHECKPOINT
# transformers' outputs for the sample checkpoint's random model (fixtures/make_model_goldens.py).
MODEL_GOLDENS = FIXTURES / "sample_checkpoint_goldens.json"
MULTILINGUAL_TEXT = FIXTURES / "multilingual.txt"
TOKENIZER_DIRS = {"tiny": TINY_VOCAB_DIR, "sample": SAMPLE_DIR}
# Both tokenizers answer to the same tests: the pure-Python one and the Rust one.
IMPLEMENTATIONS: dict[str, type[BlenderbotSmallTokenizer | BlenderbotSmallTokenizerFast]] = {
    "python": BlenderbotSmallTokenizer,
    "fast": BlenderbotSmallTokenizerFast,
}


def reference_class(name: str = "BlenderbotSmallTokenizer") -> Any:
    """transformers' tokenizer class ``name`` (BlenderbotSmallTokenizer by default), or a skip
    when transformers is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import transformers

            Reference = getattr(transformers, name)
    except ImportError as error:  # pragma: no cover - CI installs transformers
        pytest.skip(f"transformers is not installed ({error}); parity tests need the reference")
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    return Reference


# The test running now (set before its fixtures, module-scoped ones included, are set up).
RUNNING_TEST: pytest.Item | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global RUNNING_TEST
    RUNNING_TEST = item


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    global RUNNING_TEST
    RUNNING_TEST = None


LIVE_MARK_MISSING = (
    "{test} {does} without @pytest.mark.live: mark it (or its module: pytestmark = "
    "pytest.mark.live) so that the default tier, which runs without torch, leaves it out"
)


# The start of the skip reason of a transformers test that skips on transformers' own class too
# (tests/tokenization/test_transformers_suite.py): the reference's verdict, not a missing torch.
MIRRORED_SKIP = "skipped on transformers' "


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test without the ``live`` mark that skips for want of torch (``importorskip("torch")``)
    fails instead: the default tier runs where torch is not installed, and the live tier leaves
    the test out, so its skip would hide that it never runs anywhere."""
    report: pytest.TestReport = yield
    if report.skipped and call.excinfo is not None and item.get_closest_marker("live") is None:
        reason = str(call.excinfo.value)
        if "torch" in reason.lower() and not reason.startswith(MIRRORED_SKIP):
            report.outcome = "failed"
            report.longrepr = LIVE_MARK_MISSING.format(
                test=item.nodeid, does=f"skips for want of torch ({reason})"
            )
    return report


def live_torch_and_transformers() -> tuple[Any, Any]:
    """torch and transformers for a live comparison of models, or a skip when either is
    missing (CI installs both). Only a test marked ``live`` may call it: any other fails."""
    if RUNNING_TEST is not None and RUNNING_TEST.get_closest_marker("live") is None:
        pytest.fail(
            LIVE_MARK_MISSING.format(
                test=RUNNING_TEST.nodeid, does="calls live_torch_and_transformers()"
            ),
            pytrace=False,
        )
    torch = pytest.importorskip(
        "torch", reason="the live comparison needs torch and transformers' model classes"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import transformers
    except ImportError as error:  # pragma: no cover - CI installs transformers
        pytest.skip(f"the live comparison needs transformers ({error})")
    logging_module: Any = transformers.logging
    logging_module.set_verbosity_error()
    return torch, transformers


# Two float32 implementations of a model differ by their rounding, and a small model with random
# weights can amplify it to 1e-4 (a layer norm over nearly equal values): which of the two lands
# nearer the float64 result changes from input to input and with the machine's BLAS kernels, so a
# fixed bound on their difference fails on one machine and passes on another. The float64 outputs
# are compared instead (they agree to FLOAT64_TOLERANCE: the same arithmetic), and the float32
# ones are held to transformers' accuracy: over a set of inputs, ours are at most
# FLOAT32_ACCURACY_FACTOR times farther from transformers' float64 outputs than transformers'
# float32 ones are, or within FLOAT32_STEPS float32 steps of the outputs' scale.
FLOAT64_TOLERANCE = 1e-9
FLOAT32_ACCURACY_FACTOR = 4.0
FLOAT32_STEPS = 64


def assert_float32_as_accurate_as_transformers(
    ours: Sequence[np.ndarray], theirs: Sequence[np.ndarray], exact: Sequence[np.ndarray]
) -> None:
    """``ours`` and ``theirs``: float32 outputs (numpy arrays) of the same inputs, one per input;
    ``exact``: transformers' float64 outputs of those inputs."""
    assert len(ours) == len(theirs) == len(exact) > 0
    for our, their in zip(ours, theirs, strict=True):
        assert our.dtype == their.dtype == np.float32, (our.dtype, their.dtype)
    our_error = max(float(np.abs(o - e).max()) for o, e in zip(ours, exact, strict=True))
    their_error = max(float(np.abs(t - e).max()) for t, e in zip(theirs, exact, strict=True))
    scale = max(float(np.abs(e).max()) for e in exact)
    bound = max(
        FLOAT32_ACCURACY_FACTOR * their_error,
        FLOAT32_STEPS * float(np.finfo(np.float32).eps) * scale,
    )
    assert our_error <= bound, (
        f"float32 outputs {our_error:.3g} from the float64 ones, transformers' {their_error:.3g}"
    )


@pytest.fixture(scope="session", params=sorted(TOKENIZER_DIRS))
def tokenizer_dir(request: pytest.FixtureRequest) -> Path:
    """Each shipped tokenizer directory in turn."""
    return TOKENIZER_DIRS[request.param]


@pytest.fixture(scope="session", params=sorted(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest) -> type[Any]:
    """Each tokenizer class in turn."""
    return IMPLEMENTATIONS[request.param]


@pytest.fixture(scope="session")
def tiny_tokenizer(implementation: type[Any]) -> Any:
    return implementation.from_pretrained(TINY_VOCAB_DIR)


@pytest.fixture(scope="session")
def sample_tokenizer(implementation: type[Any]) -> Any:
    return implementation.from_pretrained(SAMPLE_DIR)


@pytest.fixture(scope="session")
def reference_tiny_tokenizer() -> Any:
    return reference_class().from_pretrained(str(TINY_VOCAB_DIR))


@pytest.fixture(scope="session")
def reference_sample_tokenizer() -> Any:
    return reference_class().from_pretrained(str(SAMPLE_DIR))


@pytest.fixture(scope="session")
def ours_and_reference(tokenizer_dir: Path, implementation: type[Any]) -> tuple[Any, Any]:
    """(ours, reference) loaded from the same directory, for each directory and each class."""
    return (
        implementation.from_pretrained(tokenizer_dir),
        reference_class().from_pretrained(str(tokenizer_dir)),
    )


def run_python_child(
    arguments: list[str],
    cwd: Path,
    timeout: float,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python ARGUMENTS`` in ``cwd``, for what could crash or hang the test process; a timeout
    fails the test instead of hanging CI. One OpenBLAS thread: its per-thread reservations would
    otherwise make a child's address-space limit depend on the machine's cores."""
    try:
        return subprocess.run(
            [sys.executable, *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(environment or {})},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s: {arguments[-3:]}")


# Starts `python -m bbtok ARGS...` with its address space limited to LIMIT bytes: a run whose
# memory grows without bound dies of MemoryError instead of taking the machine with it.
LIMITED_BBTOK = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'bbtok', *sys.argv[2:]])"
)
BBTOK_ADDRESS_SPACE = 768 << 20
# Few threads and malloc arenas: their reserved (not used) address space would otherwise grow
# with the cores of the machine running the tests.
FEW_THREADS = {
    **os.environ,
    "BBTOK_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    "OPENBLAS_NUM_THREADS": "1",
}


def limited_bbtok(*arguments: str) -> list[str]:
    """The command line of ``bbtok ARGUMENTS...`` in BBTOK_ADDRESS_SPACE bytes (run it with
    FEW_THREADS as its environment)."""
    return [sys.executable, "-c", LIMITED_BBTOK, str(BBTOK_ADDRESS_SPACE), *arguments]


SAMPLE_MODEL_ID = "facebook/blenderbot_small-90M"


def cached_snapshot(
    cache: Path,
    commit: str,
    names: tuple[str, ...] | None = None,
    ref: str | None = "main",
    model_id: str = SAMPLE_MODEL_ID,
) -> Path:
    """A snapshot of ``model_id`` in a Hugging Face cache laid out as huggingface_hub documents
    it (``models--org--name/{refs,snapshots}``), holding the sample checkpoint's files ``names``
    (all by default) placed directly in it, with ``refs/<ref>`` naming it."""
    repo = cache / ("models--" + model_id.replace("/", "--"))
    directory = repo / "snapshots" / commit
    directory.mkdir(parents=True)
    for name in names or tuple(path.name for path in sorted(SAMPLE_CHECKPOINT.iterdir())):
        shutil.copy(SAMPLE_CHECKPOINT / name, directory / name)
    if ref is not None:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    return directory
