"""The commands fed what no one should feed them: standard input without end. Each runs in a
process of its own with its address space limited, so that memory growing without bound fails
the test instead of stopping the test run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bbtok.cli.model_commands import MAX_MESSAGE_CHARACTERS
from bbtok.corpus.defaults import DEFAULT_MAX_RECORD_BYTES

from conftest import FEW_THREADS, SAMPLE_DIR, limited_bbtok

CHILD_TIMEOUT = 120


def bbtok_reading_dev_zero(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    with open("/dev/zero", "rb") as zeros:
        return subprocess.run(
            limited_bbtok(*arguments),
            stdin=zeros,
            capture_output=True,
            cwd=tmp_path,
            env=FEW_THREADS,
            timeout=CHILD_TIMEOUT,
            check=False,
        )


def test_tokenize_reading_dev_zero_stops_at_the_record_limit(tmp_path: Path) -> None:
    finished = bbtok_reading_dev_zero(tmp_path, "tokenize", "--tokenizer", str(SAMPLE_DIR), "-")
    assert (finished.returncode, finished.stdout) == (1, b"")
    assert finished.stderr.decode() == (
        f"bbtok: error: standard input: longer than {DEFAULT_MAX_RECORD_BYTES:,} bytes (the "
        "limit of --max-record-bytes)\n"
    )


def test_chat_reading_a_line_without_end_stops_at_the_message_limit(tmp_path: Path) -> None:
    finished = bbtok_reading_dev_zero(tmp_path, "chat", "--model", str(SAMPLE_DIR))
    assert (finished.returncode, finished.stdout) == (1, b"")
    assert finished.stderr.decode().endswith(
        f"bbtok: error: standard input: a message longer than {MAX_MESSAGE_CHARACTERS:,} "
        "characters (one message a line)\n"
    )
