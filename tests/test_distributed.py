"""``bbtok.distributed.tokenize_dataset`` on a local Ray cluster: the ids are those of a direct
``tok(texts)`` call, each record keeps its own ids, and each worker unpickles the tokenizer once
however many batches it encodes."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizerFast
from bbtok.distributed import tokenize_dataset

from conftest import MULTILINGUAL_TEXT, REALISTIC_DIR

TEXTS = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1][:300]
WORKERS = 2
# Small batches, so that each worker gets several: a tokenizer made per batch would show.
BATCH_SIZE = 25


class CountingTokenizer(BlenderbotSmallTokenizerFast):
    """Appends its process id to ``count_file`` each time it is unpickled."""

    count_file: str

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        with open(self.count_file, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()}\n")


@pytest.fixture(scope="module")
def ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Ray cluster of this machine alone, for this module (starting one takes seconds)."""
    module = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    cloudpickle = pytest.importorskip("ray.cloudpickle")
    # Ray's workers start in the driver's working directory and import from it: outside the
    # source tree, they import the installed bbtok (with its built extension), not the sources.
    before = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray-workers"))
    # address="local": a new cluster even when RAY_ADDRESS points at a real one.
    module.init(
        address="local",
        num_cpus=WORKERS,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    module.data.DataContext.get_current().enable_progress_bars = False
    # The workers cannot import this test module: CountingTokenizer travels by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield module
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        module.shutdown()
        os.chdir(before)


@pytest.fixture(scope="module")
def tok() -> BlenderbotSmallTokenizerFast:
    return BlenderbotSmallTokenizerFast.from_pretrained(REALISTIC_DIR)


def records(ray: Any, *columns: str) -> Any:
    """TEXTS with their ids, in the "text" column and in each of ``columns``."""
    items = [
        {"id": index, "text": text, **dict.fromkeys(columns, text)}
        for index, text in enumerate(TEXTS)
    ]
    return ray.data.from_items(items, override_num_blocks=4)


def by_id(rows: list[dict[str, Any]], column: str) -> list[list[int]]:
    """The output column in the order of the input, each row matched by its id."""
    ordered = sorted(rows, key=lambda row: row["id"])
    assert [row["id"] for row in ordered] == list(range(len(TEXTS)))
    assert [row["text"] for row in ordered] == TEXTS
    return [[int(i) for i in row[column]] for row in ordered]


@pytest.mark.distributed
def test_ids_match_and_each_worker_unpickles_the_tokenizer_once(
    ray: Any, tok: BlenderbotSmallTokenizerFast, tmp_path: Path
) -> None:
    counting = CountingTokenizer.from_pretrained(REALISTIC_DIR)
    counting.count_file = str(tmp_path / "unpickled.txt")
    result = tokenize_dataset(
        records(ray), counting, batch_size=BATCH_SIZE, concurrency=WORKERS
    ).materialize()
    assert by_id(result.take_all(), "input_ids") == tok(TEXTS)["input_ids"]
    assert str(result.schema().base_schema.field("input_ids").type) == "list<item: int32>"
    unpickled = (tmp_path / "unpickled.txt").read_text(encoding="utf-8").split()
    # Once per worker process (never in this one), so at most once per worker, while each
    # worker encoded several batches.
    assert 1 <= len(unpickled) == len(set(unpickled)) <= WORKERS
    assert str(os.getpid()) not in unpickled
    assert math.ceil(len(TEXTS) / BATCH_SIZE) > 2 * WORKERS


@pytest.mark.distributed
def test_directory_truncation_and_column_names(ray: Any, tok: BlenderbotSmallTokenizerFast) -> None:
    result = tokenize_dataset(
        records(ray, "body"),
        REALISTIC_DIR,
        column="body",
        output_column="ids",
        max_length=8,
        concurrency=1,
    )
    expected = tok(TEXTS, truncation=True, max_length=8)["input_ids"]
    assert by_id(result.take_all(), "ids") == expected
    assert max(map(len, expected)) == 8


def test_bad_arguments_fail_before_any_work(tok: BlenderbotSmallTokenizerFast) -> None:
    pytest.importorskip("ray")
    with pytest.raises(ValueError, match="max_length"):
        tokenize_dataset(None, tok, max_length=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        tokenize_dataset(None, tok, batch_size=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="BlenderbotSmallTokenizerFast"):
        tokenize_dataset(None, object())  # type: ignore[arg-type]


def test_without_ray_the_error_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import ray` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(ImportError, match=r'pip install "ray\[data\]"'):
        tokenize_dataset(None, REALISTIC_DIR)  # type: ignore[arg-type]
