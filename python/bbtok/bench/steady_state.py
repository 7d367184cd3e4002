"""The steady state of a corpus pipeline: the fast tokenizer on the text in batches, pass after
pass, and ``bbtok encode`` on a file, all in one run.

Usage (from the repository root)::

    python -m bbtok.bench --steady [--megabytes 4] [--passes 4] [--batch-records 5000]
        [--vocab-size 30000] [--encode-megabytes 40] [--repeats 3]

The text is the default mode's (:func:`bbtok.bench.texts.corpus`). A vocabulary of
``--vocab-size`` entries is trained on it at run time, so that no figure depends on a
vocabulary the project shipped. Three ways of encoding a batch are timed, each on 1 thread, on
every core this process may use, and on 2 when there are more:

- ``tok.encode_batch_flat(batch, threads)``: the Rust core, ids in one flat buffer;
- ``tok._core.encode_batch(batch, threads)``: the Rust core, a Python list of ids a record;
- ``tok(batch)["input_ids"]`` with ``BBTOK_NUM_THREADS`` set: the public call.

A pass streams the whole text through one of them in batches of ``--batch-records`` records.
Each repeat loads a fresh tokenizer for every variant and makes ``--passes`` passes: the first
is "cold" (empty word caches), the best later one "warm" (the steady state of a pipeline that
has seen its words). The variants take turns within each repeat, in an order that shifts from
repeat to repeat, so that a change in the machine's load hits them all alike; figures are the
best over ``--repeats``. Before any figure is printed, every variant's ids, cold and warm, are
checked to be identical on the whole text.

Then ``bbtok encode`` runs as a command of its own on the text repeated to
``--encode-megabytes`` (a ``.txt``, one record a line, to ``.jsonl``), timed from the start of
its process to its exit, against ``tok(lines)["input_ids"]`` in this process on the same
records (warm, every core); its output is checked against the ids above. Its peak memory is
the ``ru_maxrss`` of its process, read by a small launcher process that starts it and waits
for it: Linux carries the memory peak of whatever process ``exec`` replaces into the new
program's ``ru_maxrss``, so the command is not started from this (large) process, whose peak
would show instead. The launcher's own peak, a floor under the figure, is printed beside it.
The same command on half the text shows whether memory grows with the input.

Last come the two figures the default mode also gives: one short text, and the load of a
55k-entry vocabulary.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import textwrap
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbtok.bench.measuring import bbtok_threads, first_difference, timed
from bbtok.bench.run_context import (
    DEFAULT_TOKENIZER_DIR,
    RunContext,
    add_repeats_option,
    progress,
    require_positive,
    timed_thread_counts,
)
from bbtok.bench.texts import Text, corpus, repeated_lines, write_records
from bbtok.bench.tokenizer_speed import (
    LOAD_VOCAB_SIZE,
    TARGET_LOAD_MS,
    TARGET_SHORT_US,
    TARGET_TWO_CORES,
    Classes,
    big_vocabulary,
    call,
    measure_load,
    measure_short_text,
    print_short_and_load,
)

DEFAULT_VOCAB_SIZE = 30_000
DEFAULT_BATCH_RECORDS = 5_000

# The targets; the measured figures are printed next to them.
TARGET_CALL_VS_CORE = 0.85  # tok(lines)["input_ids"], warm, 1 thread >= 85% of the flat core
TARGET_COMMAND_VS_CALL = 0.80  # bbtok encode >= 80% of tok(lines)["input_ids"] in-process

# Started with the command line to time; prints what it measured as one JSON object. It waits
# for the command itself, so the command's ru_maxrss is its own peak and at least the
# launcher's (see the module's docstring). ru_maxrss is in KiB on Linux.
LAUNCHER = """\
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
seconds = time.perf_counter() - start
launcher_kib = 0
try:
    with open("/proc/self/status") as status:
        launcher_kib = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "peak_kib": peak_kib,
                  "launcher_kib": launcher_kib}))
"""


# -- the variants -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodePath:
    """One way of encoding a batch: its names in the table, and the call
    ``encode(tokenizer, batch, threads)``."""

    name: str
    short_name: str
    encode: Callable[[Any, list[str], int], Any]


def encode_flat(tokenizer: Any, batch: list[str], threads: int) -> Any:
    """The core, all the ids in one buffer: ``tok.encode_batch_flat(batch, threads)``."""
    return tokenizer.encode_batch_flat(batch, threads)


def encode_lists(tokenizer: Any, batch: list[str], threads: int) -> Any:
    """The core, a list of ids a record, without the public call's layers around it."""
    return tokenizer._core.encode_batch(batch, threads)


def encode_call(tokenizer: Any, batch: list[str], threads: int) -> Any:
    """The public call, ``tok(batch)["input_ids"]``; its threads come from
    ``BBTOK_NUM_THREADS``, set around each pass."""
    return call(tokenizer, batch)


CORE_FLAT = EncodePath("core, flat ids (`encode_batch_flat`)", "core, flat", encode_flat)
CORE_LISTS = EncodePath("core, lists of ids (`encode_batch`)", "core, lists", encode_lists)
PUBLIC_CALL = EncodePath('`tok(lines)["input_ids"]`', '`tok(lines)["input_ids"]`', encode_call)
PATHS = (CORE_FLAT, CORE_LISTS, PUBLIC_CALL)

Variant = tuple[EncodePath, int]  # a path and its thread count


def batches_of(lines: list[str], size: int) -> list[list[str]]:
    """``lines`` cut into batches of ``size`` records (the last one may be smaller).

    >>> batches_of(["a", "b", "c"], 2)
    [['a', 'b'], ['c']]
    """
    return [lines[start : start + size] for start in range(0, len(lines), size)]


def one_pass(tokenizer: Any, path: EncodePath, batches: list[list[str]], threads: int) -> None:
    """Every batch through ``path``, each result dropped as a pipeline would after writing it."""
    for batch in batches:
        path.encode(tokenizer, batch, threads)


def flat_ids(output: Any) -> tuple[bytes, bytes]:
    """A batch's ids and the count of each record, both native uint32, from either form
    (``encode_batch_flat``'s buffer and counts, or lists of ids).

    >>> flat_ids([[5, 6], [7]]) == flat_ids((array("I", [5, 6, 7]).tobytes(), [2, 1]))
    True
    """
    if isinstance(output, tuple):
        ids, counts = output
        return bytes(ids), array("I", counts).tobytes()
    rows: list[list[int]] = output
    return (
        array("I", itertools.chain.from_iterable(rows)).tobytes(),
        array("I", map(len, rows)).tobytes(),
    )


def rows_of(ids: bytes, counts: bytes) -> list[list[int]]:
    """The lists of ids that :func:`flat_ids` flattened.

    >>> rows_of(*flat_ids([[5, 6], [], [7]]))
    [[5, 6], [], [7]]
    """
    flat, lengths = array("I", ids).tolist(), array("I", counts).tolist()
    ends = itertools.accumulate(lengths)
    return [flat[end - length : end] for length, end in zip(lengths, ends)]


def variant_name(path: EncodePath, threads: int, state: str) -> str:
    """How a variant is named in messages.

    >>> variant_name(CORE_FLAT, 2, "warm")
    'core, flat on 2 threads, warm'
    """
    return f"{path.short_name} on {threads} thread{'s' if threads > 1 else ''}, {state}"


def check_variants(
    load: Callable[[], Any],
    batches: list[list[str]],
    variants: list[Variant],
    batch_records: int,
) -> list[tuple[bytes, bytes]]:
    """Stop unless every variant gives the same ids, cold and warm; the ids (a pair of flat
    ids and counts a batch). Also starts the thread pools outside the timings."""
    reference: list[tuple[bytes, bytes]] = []
    reference_name = ""
    for path, threads in variants:
        tokenizer = load()
        with bbtok_threads(threads):
            for state in ("cold", "warm"):
                ids = [flat_ids(path.encode(tokenizer, batch, threads)) for batch in batches]
                if not reference:
                    reference, reference_name = ids, variant_name(path, threads, state)
                    continue
                for number, (got, expected) in enumerate(zip(ids, reference)):
                    if got != expected:
                        index = first_difference(rows_of(*got), rows_of(*expected))
                        record = number * batch_records + index
                        line = batches[number][index][:200] if index < len(batches[number]) else ""
                        raise SystemExit(
                            f"{variant_name(path, threads, state)} and {reference_name} "
                            f"disagree on record {record} ({line!r}): no figure is printed"
                        )
    return reference


# -- the passes -------------------------------------------------------------------------------


@dataclass
class PassTimes:
    """Best seconds of a first pass (cold) and of a later one (warm), over the repeats."""

    cold: float = float("inf")
    warm: float = float("inf")


def measure_passes(
    load: Callable[[], Any],
    batches: list[list[str]],
    variants: list[Variant],
    passes: int,
    repeats: int,
) -> dict[Variant, PassTimes]:
    """Best cold and warm seconds of a pass for every variant: each repeat gives each variant a
    fresh tokenizer and ``passes`` passes, the variants taking turns in an order shifted by one
    at every repeat (so that no variant always runs first)."""
    best = {variant: PassTimes() for variant in variants}
    for repeat in range(repeats):
        progress(f"passes, repeat {repeat + 1}/{repeats}")
        shift = repeat % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            path, threads = variant
            tokenizer = load()
            with bbtok_threads(threads):
                seconds = [
                    timed(one_pass, tokenizer, path, batches, threads)[0] for _ in range(passes)
                ]
            best[variant].cold = min(best[variant].cold, seconds[0])
            best[variant].warm = min(best[variant].warm, *seconds[1:])
    return best


# -- bbtok encode -----------------------------------------------------------------------------


@dataclass
class CommandRun:
    """One ``bbtok encode``: seconds from process start to exit, its peak memory and the
    launcher's (KiB)."""

    seconds: float
    peak_kib: int
    launcher_kib: int


def run_encode_command(
    tokenizer_dir: str, source: Path, target: Path, workers: int, batch_records: int
) -> CommandRun:
    """``bbtok encode`` from ``source`` to ``target``, started and waited for by the launcher;
    stops the benchmark with the command's error output if it fails."""
    command = [
        sys.executable,
        "-m",
        "bbtok",
        "encode",
        "-q",
        "--tokenizer",
        tokenizer_dir,
        "--workers",
        str(workers),
        "--batch-size",
        str(batch_records),
        "-o",
        str(target),
        str(source),
    ]
    # -I -S: the launcher is a bare interpreter, so that its own peak stays small.
    launched = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAUNCHER, *command],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(launched.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        report = {"code": launched.returncode}
    if launched.returncode != 0 or report["code"] != 0:
        raise SystemExit(
            f"`bbtok encode` failed (exit status {report['code']}): {' '.join(command)}\n"
            f"{launched.stderr.strip()}"
        )
    return CommandRun(report["seconds"], report["peak_kib"], report["launcher_kib"])


def check_command_output(output: Path, reference: list[tuple[bytes, bytes]], records: int) -> None:
    """Stop unless ``output`` holds the reference ids of the records, repeated in order."""
    ids = memoryview(b"".join(flat for flat, _ in reference))
    counts = array("I", b"".join(count for _, count in reference))
    offsets = [4 * offset for offset in itertools.accumulate(counts, initial=0)]
    lines = 0
    with open(output, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            index = number % len(counts)
            got = array("I", json.loads(line)["input_ids"]).tobytes()
            if got != ids[offsets[index] : offsets[index + 1]]:
                raise SystemExit(
                    f"`bbtok encode` and the tokenizer disagree on record {number} of {output} "
                    "(the records of the text, repeated): no figure is printed"
                )
            lines += 1
    if lines != records:
        raise SystemExit(f"`bbtok encode` wrote {lines} lines for {records} records")


@dataclass
class CommandFigures:
    """``bbtok encode`` over the repeats: the best time, the highest peaks of memory."""

    megabytes: float
    records: int
    half_megabytes: float
    seconds: float = float("inf")
    peak_kib: int = 0
    launcher_kib: int = 0
    half_peak_kib: int = 0
    in_process: float = float("inf")  # best seconds of the batch call on the same records


def measure_encode_command(
    load: Callable[[], Any],
    tokenizer_dir: str,
    text: Text,
    reference: list[tuple[bytes, bytes]],
    megabytes: float,
    batch_records: int,
    threads: int,
    repeats: int,
) -> CommandFigures:
    """``bbtok encode`` on ``megabytes`` MB of the text repeated and on half as much, and the
    in-process call on the same records (its caches warmed by a pass over the text first), on
    ``threads`` threads; each repeat runs all three in turn. The first output is checked
    against ``reference``."""
    lines = repeated_lines(text, megabytes)
    half_lines = repeated_lines(text, megabytes / 2)
    text_batches, batches = batches_of(text.lines, batch_records), batches_of(lines, batch_records)
    with tempfile.TemporaryDirectory(prefix="bbtok-bench-encode-") as scratch:
        source, half_source = Path(scratch, "records.txt"), Path(scratch, "half.txt")
        output = Path(scratch, "ids.jsonl")
        figures = CommandFigures(
            write_records(lines, source), len(lines), write_records(half_lines, half_source)
        )
        for repeat in range(repeats):
            progress(f"bbtok encode on {figures.megabytes:.1f} MB, repeat {repeat + 1}/{repeats}")
            run = run_encode_command(tokenizer_dir, source, output, threads, batch_records)
            if repeat == 0:
                check_command_output(output, reference, len(lines))
            output.unlink()
            figures.seconds = min(figures.seconds, run.seconds)
            figures.peak_kib = max(figures.peak_kib, run.peak_kib)
            figures.launcher_kib = max(figures.launcher_kib, run.launcher_kib)
            run = run_encode_command(tokenizer_dir, half_source, output, threads, batch_records)
            output.unlink()
            figures.half_peak_kib = max(figures.half_peak_kib, run.peak_kib)
            tokenizer = load()
            with bbtok_threads(threads):
                one_pass(tokenizer, PUBLIC_CALL, text_batches, threads)  # its caches warm
                seconds, _ = timed(one_pass, tokenizer, PUBLIC_CALL, batches, threads)
            figures.in_process = min(figures.in_process, seconds)
    return figures


# -- printing ---------------------------------------------------------------------------------


def thread_label(threads: int, cores: int) -> str:
    """A column's name.

    >>> thread_label(1, 8), thread_label(2, 8), thread_label(8, 8)
    ('1 thread', '2 threads', '8 threads (all)')
    """
    label = "1 thread" if threads == 1 else f"{threads} threads"
    return label + (" (all)" if threads == cores > 2 else "")


def print_table(
    times: dict[Variant, PassTimes], megabytes: float, counts: list[int], cores: int
) -> None:
    """MB/s of every variant as a Markdown table: warm rows, then cold rows."""
    print()
    print("| path | " + " | ".join(thread_label(count, cores) for count in counts) + " |")
    print("|---" * (len(counts) + 1) + "|")
    for state in ("warm", "cold"):
        for path in PATHS:
            name = f"{path.name}, warm" if state == "warm" else f"{path.short_name}, cold"
            if state == "cold":
                name += " (new tokenizer)"
            one = getattr(times[path, 1], state)
            cells = [f"{megabytes / one:.1f} MB/s"]
            for count in counts[1:]:
                seconds = getattr(times[path, count], state)
                cells.append(f"{megabytes / seconds:.1f} MB/s ({one / seconds:.2f}×)")
            print(f"| {name} | " + " | ".join(cells) + " |")


def print_command(figures: CommandFigures, cores: int, batch_records: int) -> float:
    """The ``bbtok encode`` lines; returns its speed as a share of the in-process call's."""
    command_speed = figures.megabytes / figures.seconds
    call_speed = figures.megabytes / figures.in_process
    peak, half_peak = figures.peak_kib / 1024, figures.half_peak_kib / 1024
    print()
    print(
        f"`bbtok encode` on {figures.megabytes:.2f} MB ({figures.records:,} records, the text "
        f"repeated; .txt -> .jsonl, --workers {cores} --batch-size {batch_records}), from "
        "process start to exit:"
    )
    print(
        f"  {'bbtok encode':<44} {command_speed:8.1f} MB/s   peak RSS {peak:7.1f} MiB "
        f"(launcher {figures.launcher_kib / 1024:.1f} MiB: a floor)"
    )
    name = f'tok(lines)["input_ids"], warm, {thread_label(cores, cores)}'
    print(f"  {name:<44} {call_speed:8.1f} MB/s   (in this process, same records)")
    print(f"  {'ratio':<44} {command_speed / call_speed:8.2f}")
    print(
        f"  bbtok encode on {figures.half_megabytes:.2f} MB: peak RSS {half_peak:.1f} MiB "
        f"(on {figures.megabytes:.2f} MB: {peak:.1f} MiB, {peak / half_peak:.2f}x)"
    )
    return command_speed / call_speed


def print_targets(
    times: dict[Variant, PassTimes],
    counts: list[int],
    command_ratio: float,
    short_us: float,
    load_ms: float,
) -> None:
    """Each target, the measured figure, and whether it is met."""
    versus_core = times[CORE_FLAT, 1].warm / times[PUBLIC_CALL, 1].warm
    targets = [
        (
            f'tok(lines)["input_ids"], warm, 1 thread >= {TARGET_CALL_VS_CORE:.0%} of core flat',
            versus_core,
            "",
            versus_core >= TARGET_CALL_VS_CORE,
        )
    ]
    all_cores = counts[-1]
    if all_cores > 1:
        for state in ("warm", "cold"):
            one = getattr(times[PUBLIC_CALL, 1], state)
            ratio = one / getattr(times[PUBLIC_CALL, all_cores], state)
            goal = (
                f'tok(lines)["input_ids"], {state}, {all_cores} threads >= '
                f"{TARGET_TWO_CORES:g}x 1 thread"
            )
            targets.append((goal, ratio, "x", ratio >= TARGET_TWO_CORES))
    targets += [
        (
            f"bbtok encode >= {TARGET_COMMAND_VS_CALL:.0%} of the in-process call",
            command_ratio,
            "",
            command_ratio >= TARGET_COMMAND_VS_CALL,
        ),
        (f"one short text <= {TARGET_SHORT_US:g} us", short_us, " us", short_us <= TARGET_SHORT_US),
        (
            f"load {LOAD_VOCAB_SIZE // 1000}k entries + merges <= {TARGET_LOAD_MS:g} ms",
            load_ms,
            " ms",
            load_ms <= TARGET_LOAD_MS,
        ),
    ]
    print()
    print("targets:")
    for goal, measured, unit, ok in targets:
        print(f"  {goal:<60} {measured:8.2f}{unit:<3}  {'met' if ok else 'missed'}")
    if all_cores == 1:
        print(f"  all cores >= {TARGET_TWO_CORES:g}x 1 thread: not measured (1 core)")


# -- the run ----------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None, prog: str | None) -> argparse.Namespace:
    """The mode's options, checked."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="the fast tokenizer in a corpus pipeline, cold and warm, and bbtok encode",
    )
    parser.add_argument("--megabytes", type=float, default=4.0, help="size of the text")
    parser.add_argument("--passes", type=int, default=4, help="passes over the text (>= 2)")
    parser.add_argument(
        "--batch-records", type=int, default=DEFAULT_BATCH_RECORDS, help="records per batch"
    )
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=DEFAULT_VOCAB_SIZE,
        help="entries of the vocabulary trained on the text",
    )
    parser.add_argument(
        "--encode-megabytes",
        type=float,
        default=40.0,
        help="size of the file bbtok encode is timed on (the text repeated)",
    )
    add_repeats_option(parser)
    args = parser.parse_args(argv)
    if args.passes < 2:
        parser.error("--passes must be at least 2 (a cold pass, then warm ones)")
    require_positive(parser, args, "--repeats", "--batch-records", "--vocab-size")
    require_positive(parser, args, "--megabytes", "--encode-megabytes")
    return args


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    """``python -m bbtok.bench --steady``; ``prog``: the name its usage shows."""
    args = parse_arguments(argv, prog)
    context = RunContext.start()
    cores = context.cores

    from bbtok import BlenderbotSmallTokenizerFast

    counts = timed_thread_counts(cores)
    variants = [(path, count) for count in counts for path in PATHS]
    text = corpus(args.megabytes)
    batches = batches_of(text.lines, args.batch_records)

    with tempfile.TemporaryDirectory(prefix="bbtok-bench-vocab-") as tokenizer_dir:
        progress(f"training a {args.vocab_size:,}-entry vocabulary on {text.megabytes:.1f} MB")
        entries, merges = big_vocabulary(text, tokenizer_dir, args.vocab_size)

        def load() -> Any:
            return BlenderbotSmallTokenizerFast.from_pretrained(tokenizer_dir)

        print(
            f"text: {text.megabytes:.2f} MB of real text, {len(text.lines):,} records (one a "
            f"line), in {len(batches):,} batch{'es' if len(batches) > 1 else ''} of "
            f"{args.batch_records:,} records"
        )
        print(f"  from: {text.describe()}")
        print(
            f"tokenizer: trained on the text at run time, {entries:,} entries and {merges:,} "
            f"merges; {context.machine()}"
        )
        progress("checking that every variant gives the same ids")
        reference = check_variants(load, batches, variants, args.batch_records)
        tokens = sum(sum(array("I", batch_counts)) for _, batch_counts in reference)
        print(
            f"check: the {len(variants)} variants give identical ids on the whole text, cold "
            f"and warm ({tokens:,} tokens)."
        )
        times = measure_passes(load, batches, variants, args.passes, args.repeats)
        command = measure_encode_command(
            load,
            tokenizer_dir,
            text,
            reference,
            args.encode_megabytes,
            args.batch_records,
            cores,
            args.repeats,
        )
        print(f"check: `bbtok encode` writes the same ids, on {command.megabytes:.2f} MB.")

    classes = Classes(BlenderbotSmallTokenizerFast)
    short = measure_short_text(classes, DEFAULT_TOKENIZER_DIR)
    loaded, loads = measure_load(classes, text, args.repeats)

    later = "pass 2" if args.passes == 2 else f"passes 2 to {args.passes}"
    print()
    print(
        textwrap.fill(
            f"MB/s on the text ({text.megabytes:.2f} MB), a pass streaming it in batches of "
            f"{args.batch_records:,} records. warm: the best of {later} of a "
            "tokenizer; cold: its first pass, just after loading. Best of "
            f"{args.repeats} fresh tokenizer{'s' if args.repeats > 1 else ''}; in parentheses, "
            "the ratio to 1 thread.",
            100,
        )
    )
    print_table(times, text.megabytes, counts, cores)
    command_ratio = print_command(command, cores, args.batch_records)
    print()
    print_short_and_load(short, loaded, loads, ", on the sample vocabulary")
    print_targets(times, counts, command_ratio, short[0][1], loads[0][1] * 1e3)
    context.finish()


if __name__ == "__main__":
    main(prog="python -m bbtok.bench.steady_state")
