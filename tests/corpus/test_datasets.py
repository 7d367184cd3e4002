"""Hugging Face ``datasets``: ``Dataset.map`` with the fast tokenizer gives what ``tok(texts)``
gives, in one process and in several (``num_proc``), and the tokenizer hashes to a stable
fingerprint so that ``map``'s cache is reused instead of silently recomputed; and
``bbtok.corpus.datasets.tokenize_dataset`` gives every kind of dataset back as the same kind,
with the ids of a direct call added, for both families, cached by ``datasets``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.corpus.datasets import tokenize_dataset

from conftest import FIXTURES, MULTILINGUAL_TEXT, SAMPLE_DIR

datasets = pytest.importorskip("datasets")

# Real text, several hundred records: enough for the batch path to use its thread pool
# (64 texts and more) in the parent process and in each worker.
TEXTS = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1][:400]
PADDED = {"padding": "max_length", "max_length": 24, "truncation": True}
# A healthy forked child encodes its batch in well under a second; this only bounds a hang.
FORK_TIMEOUT_SECONDS = 20.0
# One directory and class a family: BlenderbotSmall on the Rust core, byte-level on tokenizers.
FAMILIES = {
    "small": (BlenderbotSmallTokenizerFast, SAMPLE_DIR),
    "byte_level": (BlenderbotTokenizer, FIXTURES / "byte_level"),
}
# Several batches a split, so that the batches' ids must come back in order.
BATCH_SIZE = 64


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


# -- tokenize_dataset -------------------------------------------------------------------------


def load_family(family: str) -> Any:
    cls, directory = FAMILIES[family]
    return cls.from_pretrained(directory)


@pytest.fixture(params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest) -> str:
    datasets.disable_progress_bars()
    name: str = request.param
    return name


def records(texts: list[str]) -> dict[str, list[Any]]:
    return {"text": texts, "id": list(range(len(texts)))}


def test_a_dataset_gets_the_ids_of_a_call_and_keeps_its_columns(family: str) -> None:
    tok = load_family(family)
    ds = datasets.Dataset.from_dict(records(TEXTS))
    out = tokenize_dataset(ds, tok, batch_size=BATCH_SIZE)
    assert isinstance(out, datasets.Dataset)
    assert out.column_names == ["text", "id", "input_ids"]
    assert out["text"] == TEXTS
    assert out["id"] == list(range(len(TEXTS)))
    assert out["input_ids"] == tok(TEXTS)["input_ids"]
    assert out.features["input_ids"] == datasets.Sequence(datasets.Value("int32"))


def test_max_length_truncates_as_a_call_does(family: str) -> None:
    tok = load_family(family)
    ds = datasets.Dataset.from_dict(records(TEXTS))
    out = tokenize_dataset(ds, tok, max_length=8, batch_size=BATCH_SIZE)
    expected = tok(TEXTS, truncation=True, max_length=8)["input_ids"]
    assert out["input_ids"] == expected
    assert max(map(len, expected)) == 8


def test_the_output_column_can_be_named_and_the_format_is_kept(family: str) -> None:
    tok = load_family(family)
    ds = datasets.Dataset.from_dict({"body": TEXTS[:10]}).with_format("numpy")
    out = tokenize_dataset(ds, tok, column="body", output_column="ids")
    assert out.format["type"] == "numpy"
    assert [row.tolist() for row in out["ids"]] == tok(TEXTS[:10])["input_ids"]


def test_a_dataset_dict_gets_the_ids_in_every_split(family: str) -> None:
    tok = load_family(family)
    splits = {"train": TEXTS[:300], "test": TEXTS[300:]}
    dataset_dict = datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(records(texts)) for name, texts in splits.items()}
    )
    out = tokenize_dataset(dataset_dict, tok, batch_size=BATCH_SIZE)
    assert isinstance(out, datasets.DatasetDict)
    assert sorted(out) == ["test", "train"]
    for name, texts in splits.items():
        assert out[name].column_names == ["text", "id", "input_ids"]
        assert out[name]["id"] == list(range(len(texts)))
        assert out[name]["input_ids"] == tok(texts)["input_ids"]


def iterable(texts: list[str]) -> Any:
    return datasets.Dataset.from_dict(records(texts)).to_iterable_dataset(num_shards=2)


def test_an_iterable_dataset_stays_iterable_with_the_ids_added(family: str) -> None:
    tok = load_family(family)
    out = tokenize_dataset(iterable(TEXTS), tok, max_length=12, batch_size=BATCH_SIZE)
    assert isinstance(out, datasets.IterableDataset)
    rows = list(out)
    assert [sorted(row) for row in rows[:1]] == [["id", "input_ids", "text"]]
    assert [row["id"] for row in rows] == list(range(len(TEXTS)))
    expected = tok(TEXTS, truncation=True, max_length=12)["input_ids"]
    assert [row["input_ids"] for row in rows] == expected


def test_an_iterable_dataset_dict_gets_the_ids_in_every_split(family: str) -> None:
    tok = load_family(family)
    splits = {"train": TEXTS[:250], "test": TEXTS[250:]}
    dataset_dict = datasets.IterableDatasetDict(
        {name: iterable(texts) for name, texts in splits.items()}
    )
    out = tokenize_dataset(dataset_dict, tok, batch_size=BATCH_SIZE)
    assert isinstance(out, datasets.IterableDatasetDict)
    for name, texts in splits.items():
        assert isinstance(out[name], datasets.IterableDataset)
        assert [row["input_ids"] for row in out[name]] == tok(texts)["input_ids"]


def test_a_null_text_fails_naming_its_row(family: str) -> None:
    ds = datasets.Dataset.from_dict({"text": ["Hello", None, "there"]})
    with pytest.raises(ValueError, match="1"):
        tokenize_dataset(ds, load_family(family))


def test_a_missing_column_fails_naming_it(family: str) -> None:
    ds = datasets.Dataset.from_dict({"body": ["Hello"]})
    with pytest.raises(ValueError, match="no column 'text'"):
        tokenize_dataset(ds, load_family(family))


@pytest.fixture
def dataset_on_disk(tmp_path: Any) -> Any:
    """A dataset read from its Arrow file, as ``load_dataset`` gives them: ``map`` caches its
    results in files beside it (an in-memory dataset has nowhere to cache them)."""
    datasets.Dataset.from_dict(records(TEXTS)).save_to_disk(str(tmp_path / "saved"))
    return datasets.load_from_disk(str(tmp_path / "saved"))


def test_a_second_call_reads_the_cache_of_the_first(family: str, dataset_on_disk: Any) -> None:
    first = tokenize_dataset(dataset_on_disk, load_family(family), batch_size=BATCH_SIZE)
    cache = [entry["filename"] for entry in first.cache_files]
    assert cache and all("saved" in name for name in cache)
    written = {name: os.stat(name).st_mtime_ns for name in cache}
    # Another tokenizer loaded from the same files: the same fingerprint, the same cache.
    second = tokenize_dataset(dataset_on_disk, load_family(family), batch_size=BATCH_SIZE)
    assert second._fingerprint == first._fingerprint
    assert [entry["filename"] for entry in second.cache_files] == cache
    assert {name: os.stat(name).st_mtime_ns for name in cache} == written
    assert second["input_ids"] == load_family(family)(TEXTS)["input_ids"]


def test_the_fingerprint_changes_with_the_tokenizer_and_the_arguments(family: str) -> None:
    ds = datasets.Dataset.from_dict(records(TEXTS[:20]))
    fingerprint = tokenize_dataset(ds, load_family(family))._fingerprint
    assert tokenize_dataset(ds, load_family(family))._fingerprint == fingerprint
    changed = load_family(family)
    changed.add_tokens(["zzqx"])
    assert tokenize_dataset(ds, changed)._fingerprint != fingerprint
    assert tokenize_dataset(ds, load_family(family), max_length=5)._fingerprint != fingerprint
    assert tokenize_dataset(ds, load_family(family), column="text")._fingerprint == fingerprint


def test_the_fingerprint_is_the_same_in_another_process(family: str, tmp_path: Path) -> None:
    # Caches are reused across runs, so the hash must not depend on the process: not on a
    # random fallback (datasets' when hashing fails), nor on the order of a set of strings.
    tests = Path(__file__).parents[1]
    code = (
        "import datasets, sys\n"
        "from bbtok.corpus.datasets import tokenize_dataset\n"
        f"sys.path[:0] = [{str(tests)!r}, {str(tests / 'corpus')!r}]\n"
        "from test_datasets import TEXTS, load_family, records\n"
        "datasets.disable_progress_bars()\n"
        "ds = datasets.Dataset.from_dict(records(TEXTS[:20]))\n"
        f"print(tokenize_dataset(ds, load_family({family!r}))._fingerprint)\n"
    )
    ds = datasets.Dataset.from_dict(records(TEXTS[:20]))
    here = tokenize_dataset(ds, load_family(family))._fingerprint
    child = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        # Outside the clone, the child imports the package this process imports: the sample
        # checkpoint's path, which the tokenizer keeps as name_or_path, is the same.
        cwd=tmp_path,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split()[-1] == here
