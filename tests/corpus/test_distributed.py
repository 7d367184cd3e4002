"""``bbtok.corpus.ray_data.tokenize_dataset`` on a local Ray cluster of 2 CPUs: the ids are those of
a direct ``tok(texts)`` call for both families, as Arrow ``list<int32>`` columns, each record
keeps its own ids, each worker unpickles the tokenizer once however many batches it encodes, the
documented example (docs/pipelines.md) runs as written, and a pool that would leave no CPU for
reading fails at once instead of waiting forever."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.corpus.ray_data import _workers_leaving_a_cpu_free, tokenize_dataset
from bbtok.tokenizer_auto import auto_tokenizer

from conftest import FIXTURES, MULTILINGUAL_TEXT, REPOSITORY, SAMPLE_DIR

TEXTS = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1][:300]
PIPELINES_PAGE = REPOSITORY / "docs" / "pipelines.md"
# The example's lines that write a sample corpus.txt: the tests write their own.
SAMPLE_CORPUS = re.compile(r'^with open\("corpus.txt", "w"\).*\n(?:    .*\n)+', re.MULTILINE)
# A laptop's, whatever machine runs the tests: fewer than the documented concurrency=4.
CLUSTER_CPUS = 2
WORKERS = 2
# Far above the few seconds a snippet takes, and below CI's patience: a hang fails the test.
SNIPPET_TIMEOUT_SECONDS = 240
# Small batches, so that each worker gets several: a tokenizer made per batch would show.
BATCH_SIZE = 25


class CountingUnpickling:
    """Appends its process id to ``count_file`` each time it is unpickled."""

    count_file: str

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        with open(self.count_file, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()}\n")


class CountingSmallTokenizer(CountingUnpickling, BlenderbotSmallTokenizerFast):
    pass


class CountingByteLevelTokenizer(CountingUnpickling, BlenderbotTokenizer):
    pass


# Each family: its directory, its class, and that class counting its unpicklings.
FAMILIES = {
    "small": (SAMPLE_DIR, BlenderbotSmallTokenizerFast, CountingSmallTokenizer),
    "byte_level": (FIXTURES / "byte_level", BlenderbotTokenizer, CountingByteLevelTokenizer),
}


@pytest.fixture(scope="module")
def workers_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory of the cluster's workers, whatever script joins the cluster."""
    return tmp_path_factory.mktemp("ray-workers")


@pytest.fixture(scope="module")
def ray(workers_directory: Path) -> Iterator[Any]:
    """A Ray cluster of this machine alone, for this module (starting one takes seconds)."""
    module = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    cloudpickle = pytest.importorskip("ray.cloudpickle")
    # Ray's workers start in the working directory of the driver that starts the cluster: one
    # of this module's own, which they may write to.
    before = os.getcwd()
    os.chdir(workers_directory)
    # address="local": a new cluster even when RAY_ADDRESS points at a real one.
    module.init(
        address="local",
        num_cpus=CLUSTER_CPUS,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    module.data.DataContext.get_current().enable_progress_bars = False
    # The workers cannot import this test module: the counting classes travel by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield module
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        module.shutdown()
        os.chdir(before)


@pytest.fixture(scope="module")
def tok() -> BlenderbotSmallTokenizerFast:
    return BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)


def records(ray: Any, *columns: str) -> Any:
    """TEXTS with their ids, in the "text" column and in each of ``columns``."""
    items = [
        {"id": index, "text": text, **dict.fromkeys(columns, text)}
        for index, text in enumerate(TEXTS)
    ]
    return ray.data.from_items(items, override_num_blocks=4)


def documented_ray_snippet() -> str:
    """The Python block of the documentation's section on Ray Data, as a user would copy it,
    but for the lines that write its sample corpus."""
    page = PIPELINES_PAGE.read_text(encoding="utf-8")
    section = page.split("\n## Ray Data: tokenizing on a cluster\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None, "docs/pipelines.md's Ray Data section has no Python block"
    code, removed = SAMPLE_CORPUS.subn("", block.group(1))
    assert removed == 1, "the example no longer writes its sample corpus as expected"
    return code


def run_on_the_cluster(ray: Any, code: str, cwd: Path) -> None:
    """Run ``code`` as a user's script in ``cwd``, joined to the module's 2-CPU cluster (as
    ``ray.init()`` joins the one RAY_ADDRESS names), which saves starting another. Its
    relative paths are opened by the workers: ``cwd`` must be theirs, as on a laptop, where
    the script starts the cluster."""
    address = ray.get_runtime_context().gcs_address
    prelude = f"import ray\nray.init(address={address!r}, log_to_driver=False)\n"
    try:
        child = subprocess.run(
            [sys.executable, "-c", prelude + code],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=SNIPPET_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {SNIPPET_TIMEOUT_SECONDS} s: Ray waits forever")
    assert child.returncode == 0, child.stderr[-3000:]


def written_ids(directory: Path) -> list[tuple[str, list[int]]]:
    """Each record's text with its ids, from the Parquet files of ``directory``, sorted."""
    import pyarrow.parquet

    rows = pyarrow.parquet.read_table(directory).to_pylist()
    return sorted((row["text"], row["input_ids"]) for row in rows)


def by_id(rows: list[dict[str, Any]], column: str) -> list[list[int]]:
    """The output column in the order of the input, each row matched by its id."""
    ordered = sorted(rows, key=lambda row: row["id"])
    assert [row["id"] for row in ordered] == list(range(len(TEXTS)))
    assert [row["text"] for row in ordered] == TEXTS
    return [[int(i) for i in row[column]] for row in ordered]


@pytest.mark.distributed
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_ids_match_and_each_worker_unpickles_the_tokenizer_once(
    ray: Any, family: str, tmp_path: Path
) -> None:
    directory, cls, counting_cls = FAMILIES[family]
    counting = counting_cls.from_pretrained(directory)
    counting.count_file = str(tmp_path / "unpickled.txt")
    result = tokenize_dataset(
        records(ray), counting, batch_size=BATCH_SIZE, concurrency=WORKERS
    ).materialize()
    assert (
        by_id(result.take_all(), "input_ids") == cls.from_pretrained(directory)(TEXTS)["input_ids"]
    )
    assert str(result.schema().base_schema.field("input_ids").type) == "list<item: int32>"
    unpickled = (tmp_path / "unpickled.txt").read_text(encoding="utf-8").split()
    # Once per worker process (never in this one), so at most once per worker, while each
    # worker encoded several batches.
    assert 1 <= len(unpickled) == len(set(unpickled)) <= WORKERS
    assert str(os.getpid()) not in unpickled
    assert math.ceil(len(TEXTS) / BATCH_SIZE) > 2 * WORKERS


@pytest.mark.distributed
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_truncation_and_column_names_with_either_familys_loaded_tokenizer(
    ray: Any, family: str
) -> None:
    directory, cls, _ = FAMILIES[family]
    result = tokenize_dataset(
        records(ray, "body"),
        auto_tokenizer(directory),
        column="body",
        output_column="ids",
        max_length=8,
        concurrency=1,
    )
    tok = cls.from_pretrained(directory)
    expected = tok(TEXTS, truncation=True, max_length=8)["input_ids"]
    assert by_id(result.take_all(), "ids") == expected
    assert max(map(len, expected)) == 8


@pytest.mark.distributed
@pytest.mark.parametrize("concurrency", ["concurrency=4", "default"])
def test_the_documented_example_writes_the_ids_on_a_2_cpu_cluster(
    ray: Any, tok: BlenderbotSmallTokenizerFast, workers_directory: Path, concurrency: str
) -> None:
    snippet = documented_ray_snippet()
    assert ", concurrency=4)" in snippet
    if concurrency == "default":
        snippet = snippet.replace(", concurrency=4)", ")")
    assert ray.cluster_resources()["CPU"] == CLUSTER_CPUS
    (workers_directory / "corpus.txt").write_text(
        "".join(f"{text}\n" for text in TEXTS), encoding="utf-8"
    )
    # Ray adds files to a directory that exists: only this run's ids must be there.
    shutil.rmtree(workers_directory / "ids", ignore_errors=True)
    run_on_the_cluster(ray, snippet, workers_directory)
    expected = tok(TEXTS, truncation=True, max_length=512)["input_ids"]
    assert written_ids(workers_directory / "ids") == sorted(zip(TEXTS, expected))


@pytest.mark.distributed
@pytest.mark.parametrize(
    ("concurrency", "num_cpus", "message"),
    [
        (
            (2, 2),
            1,
            r"concurrency=\(2, 2\) asks for 3 CPUs and the cluster has 2 CPUs: .* holds at most 1",
        ),
        (None, 2, r"concurrency=None asks for 3 CPUs and the cluster has 2 CPUs: .* not one"),
    ],
)
def test_a_pool_that_leaves_no_cpu_to_read_with_fails_before_anything_runs(
    ray: Any,
    tok: BlenderbotSmallTokenizerFast,
    concurrency: tuple[int, int] | None,
    num_cpus: float,
    message: str,
) -> None:
    # Ray would start the pool, then wait forever for a CPU to read with.
    with pytest.raises(ValueError, match=message):
        tokenize_dataset(records(ray), tok, concurrency=concurrency, num_cpus=num_cpus)


@pytest.mark.parametrize(
    ("node_cpus", "cpus_per_worker", "workers"),
    [
        ([2], 1, 1),
        ([1], 0.5, 0),
        # A head node without CPUs, as on large clusters, holds none and reads nothing.
        ([0, 4], 1, 3),
        ([8, 8], 2, 7),
        # Four CPUs in all, but a 1.5-CPU worker beside a read task needs a node of its own.
        ([2, 2], 1.5, 1),
        ([3], 0.1, 20),
    ],
)
def test_room_for_workers_beside_a_read_task_is_counted_node_by_node(
    node_cpus: list[float], cpus_per_worker: float, workers: int
) -> None:
    assert _workers_leaving_a_cpu_free(node_cpus, cpus_per_worker) == workers


def test_bad_arguments_fail_before_any_work(tok: BlenderbotSmallTokenizerFast) -> None:
    pytest.importorskip("ray")
    with pytest.raises(ValueError, match="max_length"):
        tokenize_dataset(None, tok, max_length=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        tokenize_dataset(None, tok, batch_size=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="encode_arrow"):
        tokenize_dataset(None, object())  # type: ignore[arg-type]
    for concurrency in (0, True, (2, 1), (0, 2), (1, 2, 3), [1, 2]):
        with pytest.raises(ValueError, match="concurrency must be"):
            tokenize_dataset(None, tok, concurrency=concurrency)  # type: ignore[arg-type]


def test_a_directory_is_refused_with_the_loader_to_use() -> None:
    pytest.importorskip("ray")
    with pytest.raises(TypeError, match=r"got the path .*auto_tokenizer\(path\)"):
        tokenize_dataset(None, SAMPLE_DIR)  # type: ignore[arg-type]


def test_without_ray_the_error_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import ray` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(ImportError, match=r'pip install "ray\[data\]"'):
        tokenize_dataset(None, SAMPLE_DIR)  # type: ignore[arg-type]
