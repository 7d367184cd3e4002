"""``python -m bbtok.bench --pipelines`` runs on tiny texts and prints every row of its table and
every target, worded for users; no figure is checked (timings are not tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPOSITORY

pytest.importorskip("datasets")
pytest.importorskip("pyarrow")

TINY = ["--megabytes", "0.05", "--encode-megabytes", "0.1", "--repeats", "1"]
ROWS = [
    "| `encode_batch_flat` (the yardstick) |",
    "| `encode_batch_flat`, cold (a new tokenizer's first pass) |",
    "| `encode_arrow` (Arrow slices) |",
    "| `tokenize_dataset` (datasets, in memory) |",
    "| `bbtok encode`, 0.1 MB .txt -> .jsonl, start-up included |",
    "| Ray Data, 1 local worker, start-up excluded |",
]
TARGETS = [
    "`encode_arrow` (Arrow slices) >= 0.9x encode_batch_flat",
    "`tokenize_dataset` (datasets, in memory) >= 0.6x encode_batch_flat",
    "`bbtok encode`, 0.1 MB .txt -> .jsonl, start-up included >= 0.7x encode_batch_flat",
    "Ray Data, 1 local worker, start-up excluded >= 0.5x encode_batch_flat",
    "holding a tokenizer in a map call (10 records) <= 0.05 s",
]
# A tiny run takes seconds; Ray's local cluster adds tens of them on a busy machine.
TIMEOUT_SECONDS = 600


def run_pipelines(*options: str) -> str:
    try:
        child = subprocess.run(
            [sys.executable, "-m", "bbtok.bench", "--pipelines", *TINY, *options],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            cwd=REPOSITORY,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the benchmark still ran after {TIMEOUT_SECONDS} s")
    assert child.returncode == 0, child.stderr[-3000:]
    return child.stdout


def table_row(output: str, row: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(row)]
    assert len(lines) == 1, f"no row {row!r} in:\n{output}"
    return lines[0]


def target_line(output: str, target: str) -> str:
    lines = [line for line in output.splitlines() if line.strip().startswith(target)]
    assert len(lines) == 1, f"no target {target!r} in:\n{output}"
    return lines[0]


def test_every_row_and_target_is_printed_without_ray() -> None:
    output = run_pipelines("--no-ray")
    assert "check: `encode_batch_flat`, `encode_arrow`, `tokenize_dataset`" in output
    for row in ROWS[:-1]:
        # Two texts by two thread counts (or one, on a 1-core machine), and the target.
        assert table_row(output, row).count("|") >= 5
    assert table_row(output, ROWS[-1]).count("| - |") >= 2
    assert "Ray Data: not measured, left out (--no-ray)." in output
    for target in TARGETS[:-2] + TARGETS[-1:]:
        assert target_line(output, target).endswith(("met", "missed"))
    assert target_line(output, TARGETS[-2]).endswith("not measured: left out (--no-ray)")
    assert "issue" not in output.lower()


@pytest.mark.distributed
def test_the_ray_row_is_measured_when_ray_is_installed() -> None:
    pytest.importorskip("ray.data")
    output = run_pipelines()
    assert "Ray Data give the ids of" in output
    assert table_row(output, ROWS[-1]).count("×") >= 3
    assert target_line(output, TARGETS[-2]).endswith(("met", "missed"))
