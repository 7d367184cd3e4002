"""The Rust core under hostile use: word-cache bounds that are absurd, words of tens of MB, memory
that runs out, thousands of threads.

Each of these could end the process (an allocation failure aborts a Rust program), run it out
of memory or start thousands of threads, so each runs in a child process with a timeout and an
address-space limit: an abort, a hang or a runaway allocation fails the test instead of
stopping the test run.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import textwrap
from pathlib import Path

import pytest

from bbtok import BlenderbotSmallTokenizerFast as Fast
from bbtok.blenderbot_small.tokenizer_fast import MAX_CACHE_WORDS
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.tokenization.threads import checked_thread_count, max_threads, thread_count

from conftest import run_python_child

# Generous for a loaded 2-core machine: the 40 MB word alone takes about 15 s.
CHILD_TIMEOUT = 300
# docs/limits.md promises a 40 MB word tokenizes under 2 GB; Python, numpy and the core take about
# 200 MB of it.
TWO_GB = 2 << 30
# The most address space a long word may take beyond the text itself, per byte of the word
# (measured: 25 to 28).
BYTES_PER_BYTE = 40

PRELUDE = """
import os, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
import numpy
from bbtok import BlenderbotSmallTokenizerFast
from bbtok.data import SAMPLE_CHECKPOINT
tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)
tok("warm up")

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

def bbtok_threads():
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:  # a thread of a pool let go may end between the listing and the read
            with open(f"/proc/self/task/{task}/comm") as comm:
                count += comm.read().startswith("bbtok-")
        except FileNotFoundError:
            pass
    return count
"""


def run_child(
    tmp_path: Path, body: str, *, address_space: int = TWO_GB, threads: str = "1"
) -> subprocess.CompletedProcess[str]:
    """Run ``body`` after PRELUDE (``tok`` is the sample tokenizer) in a fresh Python limited to
    ``address_space`` bytes; a timeout fails the test."""
    script = PRELUDE + textwrap.dedent(body)
    # Few malloc arenas: their reserved address space would otherwise grow with the cores.
    environment = {"MALLOC_ARENA_MAX": "2", "BBTOK_NUM_THREADS": threads}
    return run_python_child(
        ["-c", script, str(address_space)], tmp_path, CHILD_TIMEOUT, environment
    )


def lines_of(child: subprocess.CompletedProcess[str]) -> list[str]:
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-3000:]}"
    return child.stdout.splitlines()


# == 1. the word cache's bound ================================================================

ABSURD_BOUNDS = [2**40, 10**18, 2**63, 2**64, MAX_CACHE_WORDS + 1, -1]


def test_the_cache_bound_is_documented_as_four_times_the_default() -> None:
    assert MAX_CACHE_WORDS == 4_194_304 == 4 * Fast.from_pretrained(SAMPLE_CHECKPOINT).cache_words
    assert f"{MAX_CACHE_WORDS:,}" in (Fast.cache_words.__doc__ or "")


def test_an_absurd_cache_bound_is_a_value_error_naming_the_limit(tmp_path: Path) -> None:
    # Setting 10**18 aborted the process, 2**40 aborted it at the next call, 2**63 panicked.
    child = run_child(
        tmp_path,
        f"""
        for words in {ABSURD_BOUNDS!r}:
            try:
                tok.cache_words = words
            except ValueError as error:
                print(error)
            print(tok("hello there")["input_ids"], tok.cache_words)
        """,
    )
    limit = str(MAX_CACHE_WORDS)
    expected = []
    for words in ABSURD_BOUNDS:
        expected.append(f"cache_words must be an int >= 0 and at most {limit}, got {words}")
        expected.append("[10770, 1742] 1048576")
    assert lines_of(child) == expected


def test_an_absurd_cache_bound_in_pickled_state_is_a_value_error(tmp_path: Path) -> None:
    child = run_child(
        tmp_path,
        f"""
        import pickle
        for words in {ABSURD_BOUNDS!r}:
            state = tok.__getstate__()
            vocab, merges, _ = state["_core_files"]
            state["_core_files"] = (vocab, merges, words)
            restored = object.__new__(BlenderbotSmallTokenizerFast)
            try:
                restored.__setstate__(state)
            except ValueError as error:
                print(error)
        """,
    )
    assert lines_of(child) == [
        "unpickled tokenizer: cache_words must be an int >= 0 and at most "
        f"{MAX_CACHE_WORDS}, got {words}"
        for words in ABSURD_BOUNDS
    ]


def test_the_largest_cache_bound_takes_memory_only_as_words_are_cached(tmp_path: Path) -> None:
    # An index sized from the bound up front would take 20 MB at this bound.
    child = run_child(
        tmp_path,
        f"""
        before = status("VmSize")
        tok.cache_words = {MAX_CACHE_WORDS}
        tok("hello there, how are you?")
        print((status("VmSize") - before) // 2**20)
        """,
    )
    assert int(lines_of(child)[0]) < 4


def test_the_cache_bound_round_trips_through_pickle_up_to_the_limit() -> None:
    fast = Fast.from_pretrained(SAMPLE_CHECKPOINT)
    fast.cache_words = MAX_CACHE_WORDS
    restored = pickle.loads(pickle.dumps(fast))
    assert restored.cache_words == MAX_CACHE_WORDS
    assert restored("hello there")["input_ids"] == fast("hello there")["input_ids"]


# == 2. long words ===========================================================================


def test_a_40_mb_word_tokenizes_in_2_gb_of_address_space(tmp_path: Path) -> None:
    # It took 80 bytes of memory (120 of address space) a byte: 3.2 GB, and an abort.
    child = run_child(
        tmp_path,
        """
        word = "ab" * 20_000_000
        ids = tok(word)["input_ids"]
        middle, last = tok("ab" * 100)["input_ids"][-2:]  # "ab@@" ... "ab"
        print(len(ids), ids.count(middle), ids[-1] == last)
        """,
    )
    assert lines_of(child) == ["20000000 19999999 True"]


@pytest.mark.parametrize("kind", ["ab", "one letter", "random letters", "Greek"])
def test_a_long_word_takes_a_small_constant_of_memory_per_byte(tmp_path: Path, kind: str) -> None:
    child = run_child(
        tmp_path,
        f"""
        import random
        size = 4_000_000
        kind = {kind!r}
        if kind == "ab":
            word = "ab" * (size // 2)
        elif kind == "one letter":
            word = "a" * size
        elif kind == "random letters":
            word = "".join(random.Random(0).choices("abcdefghijklmnopqrstuvwxyz", k=size))
        else:
            word = "ΑΣ" * (size // 4)  # two bytes a character: 4 MB of UTF-8
        before = status("VmSize")
        ids = tok(word)["input_ids"]
        print((status("VmPeak") - before) / size)
        """,
    )
    assert float(lines_of(child)[0]) < BYTES_PER_BYTE


def test_running_out_of_memory_on_a_long_word_is_a_memory_error(tmp_path: Path) -> None:
    # Each call either finishes or raises MemoryError, with the address space cut anywhere from
    # nothing to about what the word needs; the tokenizer keeps working afterwards.
    child = run_child(
        tmp_path,
        """
        word = "ab" * 2_500_000
        calls = {
            "call": lambda: tok(word),
            "encode": lambda: tok.encode(word),
            "batch": lambda: tok([word, "x"]),
            "numpy": lambda: tok([word], return_tensors="np"),
            "tokenize": lambda: tok.tokenize(word),
            "offsets": lambda: tok(word, return_offsets_mapping=True),
        }
        base = status("VmSize")
        outcomes = set()
        for extra in range(0, 200 << 20, 20 << 20):
            for name, call in calls.items():
                resource.setrlimit(resource.RLIMIT_AS, (base + extra, resource.RLIM_INFINITY))
                try:
                    call()
                    outcomes.add("finished")
                except MemoryError:
                    outcomes.add("MemoryError")
                resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        print(sorted(outcomes))
        print(tok("hello there")["input_ids"])
        """,
    )
    assert lines_of(child) == ["['MemoryError', 'finished']", "[10770, 1742]"]


def test_long_outputs_are_the_same_as_short_ones() -> None:
    # Outputs of 16,384 items or more are made another way (one that can raise MemoryError);
    # 1,100 added tokens put the last one's id past the table of shared ints.
    fast = Fast.from_pretrained(SAMPLE_CHECKPOINT)
    fast.add_tokens([f"<t{i}>" for i in range(1_100)])
    unit = "hello <t1099> there, "
    ids, offsets, words = fast._core.encode_with_offsets(unit, True)
    assert ids[1] >= fast.vocab_size + 1_024
    text = unit * 6_000
    long_ids, long_offsets, long_words = fast._core.encode_with_offsets(text, True)
    assert len(long_ids) >= 16_384
    assert long_ids == ids * 6_000 == fast._core.encode(text)
    shift = len(unit)
    assert long_offsets == [
        (start + k * shift, end + k * shift) for k in range(6_000) for start, end in offsets
    ]
    word_count = max(w for w in words if w is not None) + 1
    assert long_words == [
        None if w is None else w + k * word_count for k in range(6_000) for w in words
    ]
    assert fast.tokenize(text) == fast.tokenize(unit) * 6_000


# == 3. threads ===============================================================================


def test_the_thread_limit_is_four_times_the_cores() -> None:
    cores = len(os.sched_getaffinity(0))
    assert max_threads() <= 4 * cores
    assert 1 <= thread_count() <= max_threads()


def test_thousands_of_threads_are_refused_naming_the_variable_and_the_limit(
    tmp_path: Path,
) -> None:
    # BBTOK_NUM_THREADS=3000 started 3,820 threads.
    child = run_child(
        tmp_path,
        """
        from bbtok.tokenization.threads import max_threads
        before = bbtok_threads()
        try:
            tok(["some text"] * 64)
        except ValueError as error:
            print(error)
        print(max_threads(), bbtok_threads() - before)
        """,
        threads="3000",
    )
    limit = max_threads()
    assert lines_of(child) == [
        f"BBTOK_NUM_THREADS='3000' is more than the {limit} threads allowed "
        "(4 times the cores this process may use)",
        f"{limit} 0",
    ]


def test_the_core_refuses_more_threads_than_the_limit(tmp_path: Path) -> None:
    child = run_child(
        tmp_path,
        """
        from bbtok.tokenization.threads import max_threads
        for method in (tok._core.encode_batch, tok._core.encode_batch_flat):
            try:
                method(["some text"] * 64, max_threads() + 1)
            except ValueError as error:
                print(error)
        print(bbtok_threads())
        """,
    )
    limit = max_threads()
    message = (
        f"threads={limit + 1} is more than the {limit} threads allowed "
        "(4 times the cores this process may use)"
    )
    assert lines_of(child) == [message, message, "0"]


def test_a_thread_count_over_the_limit_is_refused_by_its_name() -> None:
    limit = max_threads()
    assert checked_thread_count(limit, "--workers") == limit
    with pytest.raises(ValueError, match=rf"^--workers 9999 is more than the {limit} threads"):
        checked_thread_count(9999, "--workers 9999")
    with pytest.raises(ValueError, match=r"^--workers 0 must be at least 1"):
        checked_thread_count(0, "--workers 0")


def test_only_the_pool_of_the_latest_thread_count_is_kept(tmp_path: Path) -> None:
    child = run_child(
        tmp_path,
        """
        import time
        texts = ["some text to encode"] * 64
        expected = tok._core.encode_batch(texts, 1)
        for threads in (2, 3, 4, 3, 2):
            assert tok._core.encode_batch(texts, threads) == expected
        # A pool let go ends its threads soon after, not at once; and a thread of the new pool
        # carries its name only once it runs (until then it has its parent's), so the count
        # may be below 2 for a moment too: wait for exactly the latest pool's threads.
        deadline = time.monotonic() + 30
        while bbtok_threads() != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        print(bbtok_threads())
        """,
    )
    assert lines_of(child) == ["2"]
