"""The fast tokenizer in each kind of pipeline, against its own core in the same run.

Usage (from the repository root)::

    python -m bbtok.bench --pipelines [--megabytes 16] [--encode-megabytes 40]
        [--batch-records 10000] [--repeats 3] [--tokenizer DIR] [--no-ray]

Two texts of ``--megabytes`` MB each: short lines (the default mode's records,
:func:`bbtok.bench.texts.corpus`, about 150 bytes each) and long ones (the same
lines joined, by a space, into records of about 4,000 bytes). Each path runs on 1 thread and
on every core this process may use, and every figure is a ratio to
``tok.encode_batch_flat(batch, threads)`` (the Rust core, ids in one flat buffer) on the same
text and thread count, measured in the same run:

- ``encode_batch_flat`` itself on a new tokenizer, its first pass (its word caches empty, as
  in a new process), for context: ``bbtok encode`` and Ray's worker start that way;
- ``tok.encode_arrow(batch)`` on slices of one Arrow string array;
- ``tokenize_dataset(dataset, tok)`` (:mod:`bbtok.corpus.datasets`) on an in-memory
  ``datasets.Dataset``, its threads set by ``BBTOK_NUM_THREADS``;
- ``bbtok encode`` on ``--encode-megabytes`` MB of the text repeated (``.txt`` to
  ``.jsonl``, ``--workers`` the thread count), timed from the start of its process to its exit;
- ``tokenize_dataset(ray_dataset, tok, concurrency=1, num_cpus=threads)``
  (:mod:`bbtok.corpus.ray_data`) on a local Ray cluster started once, with one worker (its
  own tokenizer, cold), timed from the worker's first batch to the last block's arrival, so
  that starting the worker is left out.

The in-process paths take turns within each repeat, in an order that shifts from repeat to
repeat; each figure is the best of ``--repeats``. Every batch goes through one tokenizer, warm
after the check (the yardstick is warm too), except those of the cold row, of ``bbtok
encode`` and of Ray's worker, which load their own.

Then the cost of holding a tokenizer in a ``datasets`` ``map`` call (hashing it for the cache's
fingerprint): ``tokenize_dataset`` on 10 records, minus the same call with a stand-in that
holds no vocabulary, in seconds.

Before anything is timed, each path's ids are checked to be ``tok(texts)["input_ids"]`` on the
whole text, record for record.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbtok.bench.measuring import bbtok_threads, best_seconds, first_difference, timed
from bbtok.bench.run_context import (
    RunContext,
    add_repeats_option,
    add_tokenizer_option,
    progress,
    require_positive,
)
from bbtok.bench.steady_state import (
    batches_of,
    check_command_output,
    flat_ids,
    rows_of,
    run_encode_command,
    thread_label,
)
from bbtok.bench.texts import Text, corpus, repeated_lines, write_records

DEFAULT_MEGABYTES = 16.0
DEFAULT_ENCODE_MEGABYTES = 40.0
# tokenize_dataset's own default batch size, used by every path.
DEFAULT_BATCH_RECORDS = 10_000
LONG_RECORD_BYTES = 4_000
MAP_RECORDS = 10
MAP_REPEATS = 7

# The targets: each path's speed as a share of encode_batch_flat's, on every text and thread
# count (the map call's cost in seconds).
TARGET_ARROW = 0.9
TARGET_DATASET = 0.6
TARGET_COMMAND = 0.7
TARGET_RAY = 0.5
TARGET_MAP_SECONDS = 0.05

FlatIds = tuple[bytes, bytes]  # all the ids (native uint32) and each record's count


# -- the texts --------------------------------------------------------------------------------


def long_records(lines: list[str], record_bytes: int) -> list[str]:
    """``lines`` joined by a space, in order, into records of at least ``record_bytes`` bytes
    (the last one may be shorter).

    >>> long_records(["ab", "cd", "ef", "g"], 5)
    ['ab cd', 'ef g']
    """
    records: list[str] = []
    parts: list[str] = []
    size = 0
    for line in lines:
        parts.append(line)
        size += len(line.encode("utf-8")) + 1
        if size > record_bytes:
            records.append(" ".join(parts))
            parts, size = [], 0
    if parts:
        records.append(" ".join(parts))
    return records


@dataclass
class Workload:
    """One text in every form a path reads it in, and the ids a direct call gives."""

    name: str
    text: Text
    batches: list[list[str]]
    arrow_batches: list[Any]
    dataset: Any
    expected: FlatIds

    @property
    def megabytes(self) -> float:
        return self.text.megabytes

    def describe(self) -> str:
        records = len(self.text.lines)
        return (
            f"{self.name}: {self.megabytes:.2f} MB, {records:,} records "
            f"(about {self.megabytes * 1e6 / max(1, records):,.0f} bytes each)"
        )


def workload(name: str, lines: list[str], tokenizer: Any, batch_records: int) -> Workload:
    """``lines`` as lists, Arrow slices and a ``datasets.Dataset``, with their expected ids."""
    import datasets
    import pyarrow

    array = pyarrow.array(lines, pyarrow.string())
    arrow_batches = [
        array.slice(start, batch_records) for start in range(0, len(lines), batch_records)
    ]
    progress(f"{name}: the ids of tok(texts)")
    expected = flat_ids(tokenizer(lines)["input_ids"])
    return Workload(
        name,
        Text(lines, [name] * len(lines)),
        batches_of(lines, batch_records),
        arrow_batches,
        datasets.Dataset.from_dict({"text": lines}),
        expected,
    )


# -- the in-process paths ---------------------------------------------------------------------


def arrow_flat_ids(ids: Any) -> FlatIds:
    """The ids of a pyarrow list array (or chunked array, or list of either) in
    :func:`bbtok.bench.steady_state.flat_ids`' form.

    >>> import pyarrow as pa
    >>> arrow_flat_ids([pa.array([[5, 6]]), pa.array([[], [7]])]) == flat_ids([[5, 6], [], [7]])
    True
    """
    import numpy
    import pyarrow
    import pyarrow.compute

    if isinstance(ids, list):
        ids = pyarrow.chunked_array(ids)
    if isinstance(ids, pyarrow.ChunkedArray):
        ids = ids.combine_chunks()
    values = ids.flatten().to_numpy(zero_copy_only=False).astype(numpy.uint32)
    counts = pyarrow.compute.list_value_length(ids).to_numpy(zero_copy_only=False)
    return values.tobytes(), counts.astype(numpy.uint32).tobytes()


@dataclass(frozen=True)
class InProcessPath:
    """A path timed in this process: ``run(tokenizer, workload, threads)`` encodes the whole
    text and returns the ids in whatever form the path gives; ``flat`` reads them."""

    name: str
    run: Callable[[Any, Workload, int], Any]
    flat: Callable[[Any], FlatIds]


def run_flat(tokenizer: Any, work: Workload, threads: int) -> list[tuple[bytes, list[int]]]:
    return [tokenizer.encode_batch_flat(batch, threads) for batch in work.batches]


def joined_flat(outputs: list[tuple[bytes, list[int]]]) -> FlatIds:
    pairs = [flat_ids(output) for output in outputs]
    return b"".join(ids for ids, _ in pairs), b"".join(counts for _, counts in pairs)


def run_arrow(tokenizer: Any, work: Workload, threads: int) -> list[Any]:
    return [tokenizer.encode_arrow(batch, threads=threads) for batch in work.arrow_batches]


def run_dataset(tokenizer: Any, work: Workload, threads: int) -> Any:
    from bbtok.corpus.datasets import tokenize_dataset

    return tokenize_dataset(work.dataset, tokenizer, batch_size=len(work.batches[0]))


def dataset_flat(dataset: Any) -> FlatIds:
    return arrow_flat_ids(dataset.data.column("input_ids"))


FLAT = InProcessPath("`encode_batch_flat`", run_flat, joined_flat)
ARROW = InProcessPath("`encode_arrow`", run_arrow, arrow_flat_ids)
DATASET = InProcessPath("`tokenize_dataset` (datasets, in memory)", run_dataset, dataset_flat)
IN_PROCESS = (FLAT, ARROW, DATASET)
# encode_batch_flat's first pass on a new tokenizer, its word caches empty, as in a new process.
COLD_FLAT = "`encode_batch_flat`, cold"
# The paths timed in processes of their own.
COMMAND = "`bbtok encode`"
RAY = "Ray Data"


def check_ids(name: str, got: FlatIds, work: Workload) -> None:
    """Stop, naming the first record that differs, unless ``got`` is the expected ids."""
    if got == work.expected:
        return
    index = first_difference(rows_of(*got), rows_of(*work.expected))
    line = work.text.lines[index][:200] if index < len(work.text.lines) else ""
    raise SystemExit(
        f"{name} and tok(texts) disagree on record {index} of the {work.name} ({line!r}): no "
        "figure is printed"
    )


def measure_in_process(
    tokenizer: Any, load: Callable[[], Any], work: Workload, counts: list[int], repeats: int
) -> dict[tuple[str, int], float]:
    """Best seconds of each in-process path on each thread count, the paths taking turns; and
    of ``encode_batch_flat`` on a new tokenizer from ``load`` (its caches empty), under
    :data:`COLD_FLAT`."""
    best: dict[tuple[str, int], float] = {}
    paths = [*IN_PROCESS, None]  # None: the first pass of a new tokenizer
    for repeat in range(repeats):
        progress(f"{work.name}, in-process paths, repeat {repeat + 1}/{repeats}")
        shift = repeat % len(paths)
        for path in paths[shift:] + paths[:shift]:
            for threads in counts:
                fresh = load() if path is None else tokenizer
                with bbtok_threads(threads):
                    seconds, _ = timed((path or FLAT).run, fresh, work, threads)
                key = (COLD_FLAT if path is None else path.name, threads)
                best[key] = min(best.get(key, float("inf")), seconds)
    return best


# -- bbtok encode -----------------------------------------------------------------------------


def check_command(tokenizer_dir: str, work: Workload, batch_records: int, threads: int) -> None:
    """Stop unless ``bbtok encode`` writes the expected ids of the text."""
    with tempfile.TemporaryDirectory(prefix="bbtok-bench-pipelines-") as scratch:
        source, output = Path(scratch, "text.txt"), Path(scratch, "ids.jsonl")
        write_records(work.text.lines, source)
        run_encode_command(tokenizer_dir, source, output, threads, batch_records)
        check_command_output(output, [work.expected], len(work.text.lines))


def measure_command(
    tokenizer_dir: str,
    work: Workload,
    megabytes: float,
    batch_records: int,
    counts: list[int],
    repeats: int,
) -> tuple[float, dict[int, float]]:
    """``bbtok encode`` on ``megabytes`` MB of the text repeated: its size in MB, and its best
    seconds on each thread count."""
    lines = repeated_lines(work.text, megabytes)
    best: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bbtok-bench-pipelines-") as scratch:
        source, output = Path(scratch, "records.txt"), Path(scratch, "ids.jsonl")
        size = write_records(lines, source)
        for repeat in range(repeats):
            progress(f"{work.name}, bbtok encode on {size:.1f} MB, repeat {repeat + 1}/{repeats}")
            for threads in counts:
                run = run_encode_command(tokenizer_dir, source, output, threads, batch_records)
                output.unlink()
                best[threads] = min(best.get(threads, float("inf")), run.seconds)
    return size, best


# -- Ray Data ---------------------------------------------------------------------------------


def start_ray(cores: int) -> Any:
    """A local Ray cluster for this run, with a CPU beside a worker of every core for Ray
    Data's own tasks; None when Ray Data is not installed."""
    try:
        import ray
        import ray.data
    except ImportError:
        return None
    progress("starting a local Ray cluster")
    ray.init(
        address="local",
        num_cpus=cores + 1,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    # Ray Data logs each execution plan; the table is this run's output.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    # The rows in the input's order, so that the ids compare with the direct call's.
    context.execution_options.preserve_order = True
    return ray


def run_ray(ray: Any, tokenizer: Any, table: Any, threads: int, batch_records: int) -> Any:
    """``table`` through one worker of ``threads`` CPUs, every block materialized."""
    from bbtok.corpus.ray_data import tokenize_dataset

    dataset = ray.data.from_arrow(table)
    return tokenize_dataset(
        dataset, tokenizer, batch_size=batch_records, concurrency=1, num_cpus=threads
    ).materialize()


def ray_flat(ray: Any, result: Any) -> FlatIds:
    import pyarrow

    tables = ray.get(result.to_arrow_refs())
    return arrow_flat_ids(pyarrow.concat_tables(tables).column("input_ids"))


def ray_table(work: Workload) -> Any:
    import pyarrow

    return pyarrow.table({"text": pyarrow.array(work.text.lines, pyarrow.string())})


def check_ray(ray: Any, tokenizer: Any, work: Workload, batch_records: int) -> None:
    """Stop unless Ray Data gives the expected ids of the text."""
    result = run_ray(ray, tokenizer, ray_table(work), 1, batch_records)
    check_ids(RAY, ray_flat(ray, result), work)


class FirstBatchClock:
    """A tokenizer for Ray's worker that notes in ``clock_file`` the time (``time.time()``, one
    clock for the whole machine) it starts on its first batch: the end of the worker's
    start-up, fetching the tokenizer included."""

    def __init__(self, tokenizer: Any, clock_file: str) -> None:
        self.tokenizer = tokenizer
        self.clock_file = clock_file
        self.started = False

    def encode_arrow(self, texts: Any, max_length: int | None = None) -> Any:
        if not self.started:
            self.started = True
            with open(self.clock_file, "a", encoding="utf-8") as clock:
                clock.write(f"{time.time()!r}\n")
        return self.tokenizer.encode_arrow(texts, max_length)


def measure_ray(
    ray: Any, tokenizer: Any, work: Workload, counts: list[int], batch_records: int, repeats: int
) -> dict[int, float]:
    """Best seconds from the worker's first batch to the last block's arrival, on each thread
    count."""
    table = ray_table(work)
    best: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bbtok-bench-ray-") as scratch:
        for repeat in range(repeats):
            progress(f"{work.name}, Ray Data, repeat {repeat + 1}/{repeats}")
            for threads in counts:
                clock_file = Path(scratch, f"clock-{repeat}-{threads}.txt")
                run_ray(
                    ray, FirstBatchClock(tokenizer, str(clock_file)), table, threads, batch_records
                )
                finished = time.time()
                started = min(map(float, clock_file.read_text(encoding="utf-8").split()))
                best[threads] = min(best.get(threads, float("inf")), finished - started)
    return best


# -- a map call's cost ------------------------------------------------------------------------


class NoVocabulary:
    """A stand-in for a tokenizer in :func:`bbtok.corpus.datasets.tokenize_dataset`: an
    empty list of ids a record, and nothing to hash but its class."""

    def encode_arrow(
        self, texts: Any, max_length: int | None = None, threads: int | None = None
    ) -> Any:
        import pyarrow

        return pyarrow.array([[]] * len(texts), pyarrow.list_(pyarrow.int32()))


def measure_map_cost(tokenizer: Any, lines: list[str]) -> float:
    """Seconds ``tokenize_dataset`` on ``MAP_RECORDS`` records takes beyond the same call
    with :class:`NoVocabulary`: the tokenizer's hashing, and its encoding of a few records."""
    import datasets

    from bbtok.corpus.datasets import tokenize_dataset

    progress(f"a map call on {MAP_RECORDS} records")
    dataset = datasets.Dataset.from_dict({"text": lines[:MAP_RECORDS]})
    stand_in = NoVocabulary()
    with_tokenizer = without = float("inf")
    for _ in range(MAP_REPEATS):
        with_tokenizer = min(
            with_tokenizer, best_seconds(lambda: tokenize_dataset(dataset, tokenizer), 1)
        )
        without = min(without, best_seconds(lambda: tokenize_dataset(dataset, stand_in), 1))
    return with_tokenizer - without


def check_every_path(
    tokenizer: Any,
    tokenizer_dir: str,
    works: list[Workload],
    counts: list[int],
    batch_records: int,
    ray: Any,
) -> None:
    """Stop unless every path gives the ids of ``tok(texts)`` on both texts; print so."""
    for work in works:
        progress(f"{work.name}: checking the ids of every path")
        for path in IN_PROCESS:
            for threads in counts:
                with bbtok_threads(threads):
                    check_ids(path.name, path.flat(path.run(tokenizer, work, threads)), work)
        check_command(tokenizer_dir, work, batch_records, counts[-1])
        if ray is not None:
            check_ray(ray, tokenizer, work, batch_records)
    paths = [FLAT.name, ARROW.name, DATASET.name, COMMAND]
    if ray is not None:
        paths.append(RAY)
    print(
        f'check: {", ".join(paths)} give the ids of `tok(texts)["input_ids"]` on both texts, '
        "record for record."
    )


@dataclass(frozen=True)
class Run:
    """A path's best time on a text."""

    megabytes: float
    seconds: float

    @property
    def speed(self) -> float:
        return self.megabytes / self.seconds


def measure_every_path(
    tokenizer: Any, args: argparse.Namespace, works: list[Workload], counts: list[int], ray: Any
) -> dict[tuple[str, str, int], Run]:
    """Every path's best run on every text and thread count, by (path, text, threads)."""

    def load() -> Any:
        return type(tokenizer).from_pretrained(args.tokenizer)

    runs: dict[tuple[str, str, int], Run] = {}
    for work in works:
        measured = measure_in_process(tokenizer, load, work, counts, args.repeats)
        for (path, threads), seconds in measured.items():
            runs[path, work.name, threads] = Run(work.megabytes, seconds)
    for work in works:
        megabytes, by_threads = measure_command(
            args.tokenizer, work, args.encode_megabytes, args.batch_records, counts, args.repeats
        )
        for threads, seconds in by_threads.items():
            runs[COMMAND, work.name, threads] = Run(megabytes, seconds)
    if ray is not None:
        for work in works:
            by_threads = measure_ray(ray, tokenizer, work, counts, args.batch_records, args.repeats)
            for threads, seconds in by_threads.items():
                runs[RAY, work.name, threads] = Run(work.megabytes, seconds)
    return runs


# -- printing ---------------------------------------------------------------------------------


@dataclass
class Row:
    """A row of the table: the ratio of ``path``'s speed to ``encode_batch_flat``'s, by text
    and thread count; ``note`` says why there is none."""

    path: str
    name: str
    target: float | None  # None: a figure for context, held to no target
    ratios: dict[tuple[str, int], float] = field(default_factory=dict)
    note: str = ""


def print_table(
    works: list[Workload],
    counts: list[int],
    cores: int,
    flat_speed: dict[tuple[str, int], float],
    rows: list[Row],
) -> None:
    columns = [(work.name, threads) for work in works for threads in counts]
    print()
    print(
        "| path | "
        + " | ".join(f"{name}, {thread_label(threads, cores)}" for name, threads in columns)
        + " | target |"
    )
    print("|---" * (len(columns) + 2) + "|")
    cells = [f"{flat_speed[column]:.1f} MB/s" for column in columns]
    print(f"| {FLAT.name} (the yardstick) | " + " | ".join(cells) + " | |")
    for row in rows:
        shown = [
            f"{row.ratios[column]:.2f}×" if column in row.ratios else "-" for column in columns
        ]
        target = "" if row.target is None else f"≥ {row.target:g}×"
        print(f"| {row.name} | " + " | ".join(shown) + f" | {target} |")


def print_targets(rows: list[Row], map_seconds: float) -> None:
    """Each target, the lowest figure measured for it, and whether that figure meets it."""
    print()
    print("targets (the lowest figure of each path, over both texts and thread counts):")
    for row in rows:
        if row.target is None:
            continue
        goal = f"{row.name} >= {row.target:g}x encode_batch_flat"
        if not row.ratios:
            print(f"  {goal:<70} not measured: {row.note}")
            continue
        (name, threads), lowest = min(row.ratios.items(), key=lambda item: item[1])
        where = f"{name}, {threads} thread{'s' if threads > 1 else ''}"
        verdict = "met" if lowest >= row.target else "missed"
        print(f"  {goal:<70} {lowest:6.3f}x ({where})  {verdict}")
    goal = f"holding a tokenizer in a map call (10 records) <= {TARGET_MAP_SECONDS:g} s"
    verdict = "met" if map_seconds <= TARGET_MAP_SECONDS else "missed"
    print(f"  {goal:<70} {map_seconds:6.3f} s  {verdict}")


# -- the run ----------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None, prog: str | None) -> argparse.Namespace:
    """The mode's options, checked."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="the fast tokenizer through Arrow, datasets, bbtok encode and Ray Data, "
        "each as a share of its core's speed",
    )
    add_tokenizer_option(parser)
    parser.add_argument(
        "--megabytes", type=float, default=DEFAULT_MEGABYTES, help="size of each text"
    )
    parser.add_argument(
        "--encode-megabytes",
        type=float,
        default=DEFAULT_ENCODE_MEGABYTES,
        help="size of the file bbtok encode is timed on (each text repeated)",
    )
    parser.add_argument(
        "--batch-records",
        type=int,
        default=DEFAULT_BATCH_RECORDS,
        help="records per batch, on every path",
    )
    add_repeats_option(parser)
    parser.add_argument("--no-ray", action="store_true", help="leave Ray Data out")
    args = parser.parse_args(argv)
    require_positive(parser, args, "--repeats", "--batch-records")
    require_positive(parser, args, "--megabytes", "--encode-megabytes")
    return args


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    """``python -m bbtok.bench --pipelines``; ``prog``: the name its usage shows."""
    args = parse_arguments(argv, prog)
    context = RunContext.start()
    cores = context.cores
    try:
        import datasets
        import pyarrow
    except ImportError as error:
        raise SystemExit(
            f"--pipelines needs datasets and pyarrow: pip install datasets ({error})"
        ) from None

    from bbtok import BlenderbotSmallTokenizerFast

    datasets.disable_progress_bars()
    counts = sorted({1, cores})
    tokenizer = BlenderbotSmallTokenizerFast.from_pretrained(args.tokenizer)
    text = corpus(args.megabytes)
    works = [
        workload("short lines", text.lines, tokenizer, args.batch_records),
        workload(
            "long lines",
            long_records(text.lines, LONG_RECORD_BYTES),
            tokenizer,
            args.batch_records,
        ),
    ]
    machine = context.machine(("datasets", datasets.__version__), ("pyarrow", pyarrow.__version__))
    print(f"tokenizer: {args.tokenizer} ({len(tokenizer):,} entries); {machine}")
    for work in works:
        print(work.describe())
    print(f"  from: {text.describe()}")
    print(f"batches of {args.batch_records:,} records on every path")

    ray = None if args.no_ray else start_ray(cores)
    try:
        check_every_path(tokenizer, args.tokenizer, works, counts, args.batch_records, ray)
        runs = measure_every_path(tokenizer, args, works, counts, ray)
    finally:
        if ray is not None:
            ray.shutdown()
    map_seconds = measure_map_cost(tokenizer, text.lines)

    rows = [
        Row(COLD_FLAT, f"{COLD_FLAT} (a new tokenizer's first pass)", None),
        Row(ARROW.name, f"{ARROW.name} (Arrow slices)", TARGET_ARROW),
        Row(DATASET.name, DATASET.name, TARGET_DATASET),
        Row(
            COMMAND,
            f"{COMMAND}, {args.encode_megabytes:g} MB .txt -> .jsonl, start-up included",
            TARGET_COMMAND,
        ),
        Row(RAY, f"{RAY}, 1 local worker, start-up excluded", TARGET_RAY),
    ]
    if args.no_ray:
        rows[-1].note = "left out (--no-ray)"
    elif ray is None:
        rows[-1].note = 'Ray Data is not installed (pip install "ray[data]")'
    flat_speed = {
        (work.name, threads): runs[FLAT.name, work.name, threads].speed
        for work in works
        for threads in counts
    }
    for row in rows:
        for (path, text_name, threads), run in runs.items():
            if path == row.path:
                row.ratios[text_name, threads] = run.speed / flat_speed[text_name, threads]

    print()
    print(
        textwrap.fill(
            "Each path's speed as a share of encode_batch_flat's on the same text and thread "
            f"count, in this run; the first row is encode_batch_flat's own speed. Best of "
            f"{args.repeats}.",
            100,
        )
    )
    print_table(works, counts, cores, flat_speed, rows)
    if rows[-1].note:
        print(f"{RAY}: not measured, {rows[-1].note}.")
    print(
        f"holding a tokenizer in a `map` call ({MAP_RECORDS} records): {map_seconds:+.3f} s "
        "over the same call with a stand-in that holds no vocabulary"
    )
    print_targets(rows, map_seconds)
    context.finish()


if __name__ == "__main__":
    main(prog="python -m bbtok.bench.pipelines")
