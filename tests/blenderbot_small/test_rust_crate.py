"""The Rust crate on its own, with no Python in it, gives the ids Python gives: its example
program ``tokenize_file`` encodes every line of fixtures/multilingual.txt, and lines holding
special and unknown tokens, with the sample vocabulary; transformers' BlenderbotSmallTokenizer
and bbtok's BlenderbotSmallTokenizerFast give the same ids line by line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bbtok import BlenderbotSmallTokenizerFast

from conftest import MULTILINGUAL_TEXT, REPOSITORY, SAMPLE_DIR, reference_class

# The family's special tokens, whole and glued to words, and characters the vocabulary lacks.
SPECIAL_LINES = [
    "__start__ Hello there! __end__",
    "x__null__y __unk__",
    "Hello \u2603 \U0001d518",
]


@pytest.fixture(scope="module")
def lines() -> list[str]:
    text = MULTILINGUAL_TEXT.read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line] + SPECIAL_LINES


@pytest.fixture(scope="module")
def rust_ids(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> list[list[int]]:
    """The ids the crate's example prints, one list per line."""
    cargo = shutil.which("cargo")
    if cargo is None:  # pragma: no cover - CI has cargo
        pytest.skip("cargo is not installed")
    corpus: Path = tmp_path_factory.mktemp("corpus") / "lines.txt"
    corpus.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="")
    command = [cargo, "run", "--quiet", "--example", "tokenize_file", "--"]
    finished = subprocess.run(
        [*command, str(SAMPLE_DIR), str(corpus)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return [json.loads(row) for row in finished.stdout.splitlines()]


def test_the_rust_crate_alone_encodes_like_transformers(
    lines: list[str], rust_ids: list[list[int]]
) -> None:
    reference = reference_class()(
        vocab_file=str(SAMPLE_DIR / "vocab.json"), merges_file=str(SAMPLE_DIR / "merges.txt")
    )
    assert rust_ids == [reference(line)["input_ids"] for line in lines]


def test_the_rust_crate_alone_encodes_like_the_fast_tokenizer(
    lines: list[str], rust_ids: list[list[int]]
) -> None:
    tokenizer = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    assert rust_ids == tokenizer(lines)["input_ids"]
