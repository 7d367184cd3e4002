"""Hugging Face ``datasets``: ``Dataset.map`` with the fast tokenizer gives what ``tok(texts)``
gives, in one process and in several (``num_proc``), and the tokenizer hashes to a stable
fingerprint so that ``map``'s cache is reused instead of silently recomputed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizerFast

from conftest import MULTILINGUAL_TEXT, SAMPLE_DIR

datasets = pytest.importorskip("datasets")

# Real text, several hundred records: enough for the batch path to use its thread pool
# (64 texts and more) in the parent process and in each worker.
TEXTS = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1][:400]
PADDED = {"padding": "max_length", "max_length": 24, "truncation": True}
# A healthy forked child encodes its batch in well under a second; this only bounds a hang.
FORK_TIMEOUT_SECONDS = 20.0


@pytest.fixture(scope="module")
def tok() -> BlenderbotSmallTokenizerFast:
    datasets.disable_progress_bars()
    return BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)


@pytest.fixture(scope="module")
def forked_child_can_batch(tok: BlenderbotSmallTokenizerFast) -> bool:
    """Whether a process forked after this one ran a threaded batch can run one too.

    ``datasets.map(num_proc=N)`` forks its workers on Linux. A fork copies the native thread
    pool's bookkeeping but none of its threads, so a core that reuses that pool in the child
    waits forever. Probing once with a bounded wait lets the ``num_proc`` tests report the bug
    instead of hanging the whole test run."""
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    expected = tok(TEXTS)["input_ids"]  # a batch this size runs on the pool, starting it
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns into pytest
        code = 1
        try:
            code = 0 if tok(TEXTS)["input_ids"] == expected else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + FORK_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return False


def tokenize_with(tok: BlenderbotSmallTokenizerFast, **kwargs: Any) -> Callable[[Any], Any]:
    # One code object for every mapper, so two mappers differ only by what they capture: the
    # fingerprint test then compares the tokenizers' hashes and nothing else.
    return lambda batch: tok(batch["text"], **kwargs)


def test_batch_encoding_in_a_forked_child(forked_child_can_batch: bool) -> None:
    assert forked_child_can_batch, (
        "a process forked after a threaded batch hangs on its own next threaded batch: "
        "the native thread pools must be made anew in a new process"
    )


def test_tokenizer_fingerprint_is_stable(tok: BlenderbotSmallTokenizerFast) -> None:
    hasher = datasets.fingerprint.Hasher
    other = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    before = hasher.hash(tok)
    tok(TEXTS)  # fills the word cache, which must not be part of the hash
    assert hasher.hash(tok) == before == hasher.hash(other)
    # A tokenizer that encodes differently must not reuse the other's cached results.
    changed = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    changed.add_tokens(["zzqx"])
    assert hasher.hash(changed) != before
    # datasets falls back to a random fingerprint (and a warning) when hashing fails: equal
    # fingerprints from two separately loaded tokenizers show that it did not.
    ds = datasets.Dataset.from_dict({"text": TEXTS[:8]})
    first = ds.map(tokenize_with(tok), batched=True)
    second = ds.map(tokenize_with(other), batched=True)
    assert first._fingerprint == second._fingerprint


# None runs in this process; datasets runs any num_proc, 1 included, in a pool of forked workers.
@pytest.mark.parametrize("num_proc", [None, 1, 2])
@pytest.mark.parametrize("options", [{}, PADDED], ids=["plain", "padded"])
def test_map_matches_direct_call(
    tok: BlenderbotSmallTokenizerFast,
    forked_child_can_batch: bool,
    num_proc: int | None,
    options: dict[str, Any],
) -> None:
    if num_proc is not None and not forked_child_can_batch:
        # Fail at once instead of hanging in datasets' worker pool.
        pytest.fail("forked workers would hang on the inherited thread pool (see the fork test)")
    expected = tok(TEXTS, **options)
    ds = datasets.Dataset.from_dict({"text": TEXTS})
    mapped = ds.map(tokenize_with(tok, **options), batched=True, num_proc=num_proc)
    assert mapped.num_rows == len(TEXTS)
    assert mapped["text"] == TEXTS  # the shards come back in order
    assert mapped["input_ids"] == expected["input_ids"]
    assert mapped["attention_mask"] == expected["attention_mask"]
    if options:
        assert {len(ids) for ids in mapped["input_ids"]} == {PADDED["max_length"]}
