"""How fast is bbtok? Every contender on the same real multilingual text, in one run.

Usage (from the repository root, after ``pip install -e ".[test]"``)::

    python -m bbtok.bench [--tokenizer DIR] [--megabytes 4] [--repeats 3]
    python -m bbtok.bench --steady [--megabytes 4] [--passes 4] [--batch-records 5000]
        [--vocab-size 30000] [--encode-megabytes 40] [--repeats 3]
    python -m bbtok.bench --pipelines [--megabytes 16] [--encode-megabytes 40] [--no-ray]

``--steady`` measures the steady state of a corpus pipeline instead (the fast tokenizer on the
text in batches, pass after pass, and ``bbtok encode``): see :mod:`bbtok.bench.steady_state`.
``--pipelines`` measures Arrow, ``datasets``, ``bbtok encode`` and Ray Data against the core:
see :mod:`bbtok.bench.pipelines`.

The text is real: Python's own documentation (``pydoc_data.topics``, one line a record),
``fixtures/multilingual.txt``, and when they are installed the Debian fortune files under
``/usr/share/games/fortunes*`` (one fortune a record, its lines joined by a space; English,
German, Russian, Polish, Italian, Czech, Spanish, Portuguese), put in a fixed shuffled order and
repeated if needed to reach the size asked for. The contenders, each called on the list of
records the way users call them:

- ``BlenderbotSmallTokenizerFast``: ``tok(lines)["input_ids"]`` with ``BBTOK_NUM_THREADS=1``,
  then with every core this process may use (and with 2, when there are more than 2);
- HF ``tokenizers`` built as the nearest pipeline it can express (lowercase, white-space and
  punctuation splits, BPE with ``</w>``) from the same files: ``encode_batch(lines)`` on one
  thread. It does not agree with the reference on every line; it is a speed yardstick only;
- the pure-Python ``BlenderbotSmallTokenizer`` and transformers' ``BlenderbotSmallTokenizer``:
  ``tok(lines)["input_ids"]``, on the first ``--slow-megabytes`` of the text only (they run at
  well under 1 MB/s); every other contender is timed on that slice too, so that each ratio
  compares two figures measured on the same text.

Every timing is the best of ``--repeats`` runs, each on a tokenizer loaded just before (empty
caches: "cold"); for the fast tokenizer a second call on the same tokenizer is timed too
("warm"). Loading is not part of these timings; it is timed on its own, on a 55k-entry
vocabulary trained from the text at run time. Nothing is printed before the fast, pure-Python
and transformers tokenizers are checked to give identical ids.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbtok.bench.measuring import bbtok_threads, best_seconds, first_difference, per_call_us, timed
from bbtok.bench.run_context import (
    RunContext,
    add_repeats_option,
    add_tokenizer_option,
    progress,
    require_positive,
    timed_thread_counts,
)
from bbtok.bench.texts import Text, corpus

SHORT_TEXT = "How are you doing today?"
LOAD_VOCAB_SIZE = 55_000

# The targets; the measured figures are printed next to them.
TARGET_VS_HF = 10.0  # fast, 1 thread, >= 10x HF tokenizers on 1 thread
TARGET_VS_PURE = 100.0  # fast, 1 thread, >= 100x the pure-Python tokenizer
TARGET_TWO_CORES = 1.7  # fast, 2 threads, >= 1.7x fast on 1 thread
TARGET_SHORT_US = 3.0  # tok("How are you doing today?") <= 3 us
TARGET_LOAD_MS = 50.0  # from_pretrained of a 55k-entry vocabulary and its merges <= 50 ms


# -- timing -----------------------------------------------------------------------------------


@dataclass
class Timing:
    """Best cold and warm seconds over the repeats, and the ids of the last cold run."""

    cold: float = float("inf")
    warm: float = float("inf")
    ids: Any = None


def time_batches(
    load: Callable[[], Any],
    encode: Callable[[Any, list[str]], Any],
    lines: list[str],
    repeats: int,
    warm: bool = False,
) -> Timing:
    """Best of ``repeats``: ``encode(fresh tokenizer, lines)``, and a second call when ``warm``."""
    timing = Timing()
    for _ in range(repeats):
        tokenizer = load()
        seconds, timing.ids = timed(encode, tokenizer, lines)
        timing.cold = min(timing.cold, seconds)
        if warm:
            seconds, _ = timed(encode, tokenizer, lines)
            timing.warm = min(timing.warm, seconds)
    return timing


# -- the HF tokenizers yardstick ----------------------------------------------------------------


def hf_tokenizers_yardstick(directory: Path) -> Any:
    """HF ``tokenizers`` as the nearest pipeline it can express, from our vocab.json/merges.txt.

    Our vocabulary marks a continuing piece with ``@@`` and a final one with nothing, while the
    merges mark the final symbol with ``</w>``; a ``tokenizers`` BPE with
    ``end_of_word_suffix="</w>"`` wants the merges' form in its vocabulary too, so ``x@@``
    becomes ``x`` and ``x`` becomes ``x</w>``, each keeping its id (so ids compare with ours).
    It is not the reference in every corner (line breaks give no ``__newln__``, white space is
    Rust's, merges it cannot express get ids of their own), so it is a speed yardstick only;
    the benchmark prints on how many records it agrees with the reference.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers

    from bbtok.blenderbot_small.family import (
        CONTINUATION,
        DEFAULT_SPECIAL_TOKENS,
        MERGES_FILE,
        VOCAB_FILE,
    )
    from bbtok.blenderbot_small.tokenizer import END_OF_WORD
    from bbtok.tokenization.vocabulary_files import read_merges, read_vocab

    specials = list(DEFAULT_SPECIAL_TOKENS.values())
    vocab: dict[str, int] = {}
    for token, index in read_vocab(directory / VOCAB_FILE).items():
        if token in specials:
            symbol = token
        elif token.endswith(CONTINUATION):
            symbol = token[: -len(CONTINUATION)]
        else:
            symbol = token + END_OF_WORD
        vocab.setdefault(symbol, index)
    ranks = read_merges(directory / MERGES_FILE)
    merges = [
        (merge[0], merge[1])
        for merge, _ in sorted(ranks.items(), key=lambda item: item[1])
        if len(merge) == 2
    ]
    # tokenizers refuses a merge whose parts or result are not in the vocabulary (ours accepts
    # one, and gives the result the unknown id): give them ids of their own.
    next_id = max(vocab.values(), default=-1) + 1
    for first, second in merges:
        for symbol in (first, second, first + second):
            if symbol not in vocab:
                vocab[symbol] = next_id
                next_id += 1
    tokenizer = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            unk_token=DEFAULT_SPECIAL_TOKENS["unk_token"],
            end_of_word_suffix=END_OF_WORD,
        )
    )
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            # The reference puts a space before each of . , ! ? ( ) and around each '.
            pre_tokenizers.Split(Regex(r"[.,!?()]"), behavior="merged_with_next"),
            pre_tokenizers.Split("'", behavior="isolated"),
        ]
    )
    tokenizer.add_special_tokens([AddedToken(token, normalized=False) for token in specials])
    return tokenizer


# -- vocabularies trained at run time ----------------------------------------------------------


def big_vocabulary(
    text: Text, directory: str, vocab_size: int = LOAD_VOCAB_SIZE
) -> tuple[int, int]:
    """Train a vocabulary of about ``vocab_size`` entries (55k by default) on ``text`` into
    ``directory``; (entries, merges).

    Load time depends on the sizes, not on what the entries are; training one from the text
    gives real sizes of tokens, and a vocabulary no release shipped. If the text is too small
    to give enough merges seen twice, merges seen once are taken too.
    """
    from bbtok.blenderbot_small.train import train

    for min_frequency in (2, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vocab_file, merges_file = train(
                directory,
                texts=text.lines,
                vocab_size=vocab_size,
                min_frequency=min_frequency,
                overwrite=True,
            )
        with open(vocab_file, encoding="utf-8") as handle:
            entries = len(json.load(handle))
        if entries >= vocab_size:
            break
    with open(merges_file, encoding="utf-8") as handle:
        merges = handle.read().count("\n") - 1
    return entries, merges


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Classes:
    """The three tokenizer classes of the contest (imported late: see ``main``). Without the
    pure-Python and transformers ones, the fast tokenizer is timed alone (the steady-state
    mode), and HF tokenizers is left out too."""

    fast: Any
    pure: Any = None
    reference: Any = None

    @property
    def fast_only(self) -> bool:
        """True when only the fast tokenizer is timed."""
        return self.pure is None and self.reference is None


@dataclass
class Throughput:
    """Every batch timing: the fast tokenizer by thread count, on the whole text and the slice."""

    fast_whole: dict[int, Timing]
    fast_part: dict[int, Timing]
    hf_whole: Timing
    hf_part: Timing
    pure: Timing
    reference: Timing


def call(tokenizer: Any, lines: list[str]) -> Any:
    """The public call, as users make it."""
    return tokenizer(lines)["input_ids"]


def hf_call(tokenizer: Any, lines: list[str]) -> Any:
    return [encoding.ids for encoding in tokenizer.encode_batch(lines)]


def measure_throughput(
    classes: Classes,
    directory: Path,
    text: Text,
    part: Text,
    thread_counts: list[int],
    repeats: int,
) -> Throughput:
    def load_fast() -> Any:
        return classes.fast.from_pretrained(directory)

    def load_hf() -> Any:
        return hf_tokenizers_yardstick(directory)

    progress(f"pure-Python and transformers on {part.megabytes:.2f} MB")
    pure = time_batches(lambda: classes.pure.from_pretrained(directory), call, part.lines, repeats)
    reference = time_batches(
        lambda: classes.reference.from_pretrained(directory), call, part.lines, repeats
    )
    fast_whole: dict[int, Timing] = {}
    fast_part: dict[int, Timing] = {}
    for threads in thread_counts:
        progress(f"fast, BBTOK_NUM_THREADS={threads}")
        with bbtok_threads(threads):
            call(load_fast(), part.lines[:1000])  # start the thread pool outside the timings
            fast_whole[threads] = time_batches(load_fast, call, text.lines, repeats, warm=True)
            fast_part[threads] = time_batches(load_fast, call, part.lines, repeats, warm=True)
    progress("HF tokenizers")
    hf_whole = time_batches(load_hf, hf_call, text.lines, repeats)
    hf_part = time_batches(load_hf, hf_call, part.lines, repeats)
    return Throughput(fast_whole, fast_part, hf_whole, hf_part, pure, reference)


def check_ids(results: Throughput, text: Text, thread_counts: list[int]) -> list[str]:
    """Stop unless fast, pure-Python and transformers agree; the lines that say they do."""
    checks = [
        ("pure-Python", "transformers", results.pure.ids, results.reference.ids),
        ("fast (1 thread)", "pure-Python", results.fast_part[1].ids, results.pure.ids),
    ]
    for threads in thread_counts[1:]:
        whole = results.fast_whole
        checks.append((f"fast ({threads} threads)", "fast", whole[threads].ids, whole[1].ids))
    for name, other, ids, other_ids in checks:
        if ids != other_ids:
            index = first_difference(ids, other_ids)
            line = text.lines[index][:200] if index < len(text.lines) else ""
            raise SystemExit(
                f"{name} and {other} disagree on record {index} ({line!r}): no figure is printed"
            )
    reference_ids = results.pure.ids
    agreeing = sum(x == y for x, y in zip(results.hf_part.ids, reference_ids))
    counts = "/".join(map(str, thread_counts))
    return [
        f"check: fast, pure-Python and transformers give identical ids on the slice "
        f"({sum(map(len, reference_ids)):,} tokens); fast on {counts} threads the same on the "
        "whole text.",
        f"(HF tokenizers, a yardstick only, agrees with them on "
        f"{agreeing / max(1, len(reference_ids)):.1%} of the slice's records.)",
    ]


def measure_short_text(classes: Classes, directory: Path) -> list[tuple[str, float]]:
    """Microseconds for one short text, each contender warm (as a server would call it)."""
    progress("one short text")
    fast = classes.fast.from_pretrained(directory)
    with bbtok_threads(1):
        timings = [("bbtok fast, tok(text)", per_call_us(lambda: fast(SHORT_TEXT)))]
        if classes.fast_only:
            return timings
        hf = hf_tokenizers_yardstick(directory)
        pure = classes.pure.from_pretrained(directory)
        reference = classes.reference.from_pretrained(directory)
        timings += [
            ("HF tokenizers, encode(text).ids", per_call_us(lambda: hf.encode(SHORT_TEXT).ids)),
            ("bbtok pure-Python, tok(text)", per_call_us(lambda: pure(SHORT_TEXT))),
            ("transformers, tok(text)", per_call_us(lambda: reference(SHORT_TEXT))),
        ]
        return timings


def print_short_and_load(
    short: list[tuple[str, float]], loaded: str, loads: list[tuple[str, float]], vocabulary: str
) -> None:
    """The short-text and load rows of a report; ``vocabulary`` names the short text's."""
    print(f"one short text, {SHORT_TEXT!r}{vocabulary}, best of many calls (warm):")
    for name, microseconds in short:
        print(f"  {name:<34} {microseconds:9.2f} us")
    print(f"load, from_pretrained of {loaded}, best of several:")
    for name, seconds in loads:
        print(f"  {name:<34} {seconds * 1e3:9.1f} ms")


def measure_load(classes: Classes, text: Text, repeats: int) -> tuple[str, list[tuple[str, float]]]:
    """Seconds to load a ~55k-entry vocabulary and its merges; and what was loaded."""
    # Trained on at least 4 MB, so that a small --megabytes still gives 55k entries.
    source = text if text.megabytes >= 4 else corpus(4.0)
    progress(f"training a {LOAD_VOCAB_SIZE:,}-entry vocabulary on {source.megabytes:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="bbtok-bench-") as directory:
        start = time.perf_counter()
        entries, merges = big_vocabulary(source, directory)
        training = time.perf_counter() - start
        progress("load times")
        loads = [("bbtok fast", best_seconds(lambda: classes.fast.from_pretrained(directory), 7))]
        if not classes.fast_only:
            loads += [
                (
                    "bbtok pure-Python",
                    best_seconds(lambda: classes.pure.from_pretrained(directory), 3),
                ),
                (
                    "transformers",
                    best_seconds(lambda: classes.reference.from_pretrained(directory), 3),
                ),
            ]
    what = (
        f"{entries:,} entries and {merges:,} merges (trained on {source.megabytes:.1f} MB of the "
        f"text in {training:.1f} s)"
    )
    if entries < LOAD_VOCAB_SIZE:
        what += f": fewer than {LOAD_VOCAB_SIZE:,}, the text is too small"
    return what, loads


def print_table(results: Throughput, text: Text, part: Text, thread_counts: list[int]) -> None:
    whole_mb, part_mb = text.megabytes, part.megabytes
    # Rows: name, MB/s on the whole text (None: not run there), MB/s on the slice.
    rows: list[tuple[str, float | None, float]] = []
    for threads in thread_counts:
        label = "1 thread" if threads == 1 else f"{threads} threads"
        if threads == thread_counts[-1] > 1:
            label += " (all)"
        for state in ("cold", "warm"):
            whole = getattr(results.fast_whole[threads], state)
            sliced = getattr(results.fast_part[threads], state)
            rows.append((f"bbtok fast, {label}, {state}", whole_mb / whole, part_mb / sliced))
    hf_whole, hf_part = whole_mb / results.hf_whole.cold, part_mb / results.hf_part.cold
    pure = part_mb / results.pure.cold
    rows.append(("HF tokenizers, 1 thread, cold", hf_whole, hf_part))
    rows.append(("bbtok pure-Python, cold", None, pure))
    rows.append(("transformers, cold", None, part_mb / results.reference.cold))

    print()
    print(
        textwrap.fill(
            f'MB/s of tok(lines)["input_ids"] (HF tokenizers: encode_batch(lines), ids taken '
            f"out) on the whole text ({whole_mb:.2f} MB) and on its slice ({part_mb:.2f} MB). "
            "cold: the best of fresh tokenizers' first calls; warm: their second calls. Ratios "
            "are to the cold figures of the pure-Python tokenizer (on the slice) and of HF "
            "tokenizers (on the whole text; on the slice for rows run only there): each "
            "compares two runs on the same text.",
            100,
        )
    )
    header = (
        f"{'contender':<34} {'MB/s whole':>10} {'MB/s slice':>10} {'x pure-Python':>13} "
        f"{'x HF tokenizers':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, whole, sliced in rows:
        shown = f"{whole:10.2f}" if whole is not None else f"{'-':>10}"
        versus_hf = whole / hf_whole if whole is not None else sliced / hf_part
        print(f"{name:<34} {shown} {sliced:10.2f} {sliced / pure:12.1f}x {versus_hf:14.2f}x")


def print_targets(results: Throughput, short_us: float, load_ms: float, cores: int) -> None:
    one = results.fast_whole[1].cold
    versus_hf = results.hf_whole.cold / one
    versus_pure = results.pure.cold / results.fast_part[1].cold
    targets = [
        (f"fast 1 thread >= {TARGET_VS_HF:g}x HF tokenizers 1 thread", versus_hf, "x"),
        (f"fast 1 thread >= {TARGET_VS_PURE:g}x pure-Python (slice)", versus_pure, "x"),
    ]
    passed = [versus_hf >= TARGET_VS_HF, versus_pure >= TARGET_VS_PURE]
    if 2 in results.fast_whole:
        two = one / results.fast_whole[2].cold
        targets.append((f"fast 2 threads >= {TARGET_TWO_CORES:g}x 1 thread", two, "x"))
        passed.append(two >= TARGET_TWO_CORES)
    targets.append((f"one short text <= {TARGET_SHORT_US:g} us", short_us, " us"))
    passed.append(short_us <= TARGET_SHORT_US)
    targets.append(
        (
            f"load {LOAD_VOCAB_SIZE // 1000}k entries + merges <= {TARGET_LOAD_MS:g} ms",
            load_ms,
            " ms",
        )
    )
    passed.append(load_ms <= TARGET_LOAD_MS)

    print()
    print("targets (the fast tokenizer's cold figures, whole text unless said):")
    for (goal, measured, unit), ok in zip(targets, passed):
        print(f"  {goal:<48} {measured:9.2f}{unit:<3}  {'met' if ok else 'missed'}")
    if 2 not in results.fast_whole:
        print(f"  fast 2 threads >= {TARGET_TWO_CORES:g}x 1 thread: not measured ({cores} core)")


def parse_arguments(
    argv: Sequence[str] | None, prog: str | None, other_modes: Sequence[tuple[str, str]] = ()
) -> argparse.Namespace:
    """The options, checked; ``other_modes`` (option, help) are listed in the help beside them,
    for the options that pick another benchmark (:mod:`bbtok.bench.__main__`)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="bbtok fast vs pure-Python vs transformers vs HF tokenizers: MB/s and ratios",
    )
    add_tokenizer_option(parser)
    parser.add_argument("--megabytes", type=float, default=4.0, help="size of the text")
    parser.add_argument(
        "--slow-megabytes",
        type=float,
        default=0.5,
        help="head of the text the pure-Python and transformers tokenizers are timed on",
    )
    add_repeats_option(parser)
    for option, help_text in other_modes:
        parser.add_argument(option, action="store_true", help=help_text)
    args = parser.parse_args(argv)
    require_positive(parser, args, "--repeats", "--megabytes", "--slow-megabytes")
    return args


def main(
    argv: Sequence[str] | None = None,
    prog: str | None = None,
    other_modes: Sequence[tuple[str, str]] = (),
) -> None:
    """The tokenizer throughput benchmark; ``prog``: the name its usage shows (``bbtok
    bench``); ``other_modes``: see :func:`parse_arguments`."""
    args = parse_arguments(argv, prog, other_modes)
    context = RunContext.start()

    # HF tokenizers on one thread: both are read before it first uses its thread pool.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["RAYON_RS_NUM_CPUS"] = "1"
    warnings.simplefilter("ignore")
    try:
        import tokenizers
        import transformers
        from transformers import BlenderbotSmallTokenizer as Reference
    except ImportError as error:
        raise SystemExit(
            "the benchmark compares with transformers and HF tokenizers: pip install "
            f"transformers, or install bbtok with its test extras ({error})"
        ) from None

    from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    classes = Classes(BlenderbotSmallTokenizerFast, BlenderbotSmallTokenizer, Reference)

    directory = Path(args.tokenizer)
    text = corpus(args.megabytes)
    part = text.head(args.slow_megabytes)
    thread_counts = timed_thread_counts(context.cores)

    print(
        f"text: {text.megabytes:.2f} MB of real text, {len(text.lines):,} records (one a line), "
        "in a fixed shuffled order"
    )
    print(f"  from: {text.describe()}")
    print(
        f"slice: its first {part.megabytes:.2f} MB ({len(part.lines):,} records), where the "
        "pure-Python and transformers tokenizers are timed"
    )
    entries = len(classes.fast.from_pretrained(directory))
    machine = context.machine(
        ("transformers", transformers.__version__), ("tokenizers", tokenizers.__version__)
    )
    print(f"tokenizer: {directory} ({entries:,} entries); {machine}")

    results = measure_throughput(classes, directory, text, part, thread_counts, args.repeats)
    for line in check_ids(results, text, thread_counts):
        print(line)
    short = measure_short_text(classes, directory)
    loaded, loads = measure_load(classes, text, args.repeats)

    print_table(results, text, part, thread_counts)
    print()
    print_short_and_load(short, loaded, loads, "")
    print_targets(results, short[0][1], loads[0][1] * 1e3, context.cores)
    context.finish()


if __name__ == "__main__":
    main(prog="python -m bbtok.bench.tokenizer_speed")
