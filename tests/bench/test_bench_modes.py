"""``python -m bbtok.bench``: the mode option picks the benchmark, and the other arguments go to
that benchmark's own options, with a usage line that names the mode."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from bbtok.bench import __main__ as bench
from bbtok.bench import pipelines, steady_state, tokenizer_speed

Call = tuple[str, list[str], str | None]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Each benchmark's ``main``, replaced by one that notes its arguments and its prog."""
    received: list[Call] = []
    for name, module in (
        ("tokenizer speed", tokenizer_speed),
        ("steady state", steady_state),
        ("pipelines", pipelines),
    ):

        def fake_main(
            argv: Sequence[str], prog: str | None = None, name: str = name, **_: Any
        ) -> None:
            received.append((name, list(argv), prog))

        monkeypatch.setattr(module, "main", fake_main)
    return received


def test_without_a_mode_option_the_tokenizer_speed_benchmark_runs(calls: list[Call]) -> None:
    bench.main(["--megabytes", "2"], prog="bbtok bench")
    assert calls == [("tokenizer speed", ["--megabytes", "2"], "bbtok bench")]


def test_steady_anywhere_runs_the_steady_state_benchmark_with_the_other_arguments(
    calls: list[Call],
) -> None:
    bench.main(["--megabytes", "2", "--steady", "--passes", "3"])
    assert calls == [
        ("steady state", ["--megabytes", "2", "--passes", "3"], "python -m bbtok.bench --steady")
    ]


def test_pipelines_runs_the_pipelines_benchmark_under_the_callers_name(calls: list[Call]) -> None:
    bench.main(["--pipelines", "--no-ray"], prog="bbtok bench")
    assert calls == [("pipelines", ["--no-ray"], "bbtok bench --pipelines")]


def test_the_default_benchmarks_help_lists_the_mode_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        bench.main(["-h"], prog="bbtok bench")
    usage = capsys.readouterr().out
    assert usage.startswith("usage: bbtok bench [-h]")
    assert "--steady" in usage and "--pipelines" in usage


@pytest.mark.parametrize("missing", ["transformers", "tokenizers"])
def test_without_transformers_the_benchmark_says_what_to_install(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # what `import` then finds: not installed
    for name in ("TOKENIZERS_PARALLELISM", "RAYON_RS_NUM_CPUS"):  # set by main: restored after
        monkeypatch.setenv(name, os.environ.get(name, ""))
    with pytest.raises(SystemExit, match="pip install transformers") as stopped:
        tokenizer_speed.main(["--megabytes", "0.01"], prog="bbtok bench")
    assert missing in str(stopped.value)
