"""Parity with transformers on real text that neither fixture was chosen for.

Python's own documentation (``pydoc_data``, always installed) line by line and whole, plus any
Debian ``fortunes*`` files present on the machine; compared through the public call on the
sample vocabulary (the ids, the padded batch and the decoded text).
"""

from __future__ import annotations

import pydoc_data.topics
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer

# Sweeps of whole corpora through transformers' pure-Python tokenizer: minutes on 2 cores.
pytestmark = pytest.mark.slow

FORTUNE_DIRS = sorted(Path("/usr/share/games").glob("fortunes*"))
# Evenly spaced records, enough for every language and oddity while the reference stays quick.
FORTUNE_SAMPLE = 3000


def pydoc_records() -> list[str]:
    return list(pydoc_data.topics.topics.values())


def fortune_records() -> list[str]:
    records: list[str] = []
    for directory in FORTUNE_DIRS:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.suffix):
            raw = path.read_bytes()
            text = raw.decode("utf-8", errors="replace")
            records.extend(r for r in text.split("\n%\n") if r.strip())
    step = max(1, len(records) // FORTUNE_SAMPLE)
    return records[::step]


def assert_same_encoding(
    ours: BlenderbotSmallTokenizer, reference: Any, records: list[str]
) -> None:
    lines = [line for record in records for line in record.splitlines()]
    assert ours(lines)["input_ids"] == reference(lines)["input_ids"]
    for record in records:
        ids = ours(record)["input_ids"]
        assert ids == reference(record)["input_ids"], record[:80]
        assert ours.decode(ids) == reference.decode(ids), record[:80]


def test_python_documentation_encodes_like_the_reference(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    assert_same_encoding(sample_tokenizer, reference_sample_tokenizer, pydoc_records())


def test_python_documentation_batch_pads_like_the_reference(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    records = pydoc_records()[:64]
    ours = sample_tokenizer(
        records, padding=True, truncation=True, max_length=200, return_tensors="np"
    )
    theirs = reference_sample_tokenizer(
        records, padding=True, truncation=True, max_length=200, return_tensors="np"
    )
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert (ours[key] == theirs[key]).all() and ours[key].shape == theirs[key].shape


@pytest.mark.skipif(not FORTUNE_DIRS, reason="no Debian fortunes* package is installed")
def test_fortunes_encode_like_the_reference(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    assert_same_encoding(sample_tokenizer, reference_sample_tokenizer, fortune_records())
