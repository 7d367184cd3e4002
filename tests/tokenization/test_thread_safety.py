"""One tokenizer shared by threads that add tokens while others read it.

Every change to the special and added tokens is applied whole, one change at a time, and a
reader sees the state before a change or after it, never half of one (see
``bbtok.tokenization.added_tokens``).
Each test starts its threads at one ``threading.Barrier`` and lets Python switch threads as
often as it can, so that the interleavings that would break a non-atomic change happen in
every run: with changes that are not atomic, each of these tests fails on every run.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import IMPLEMENTATIONS, TINY_VOCAB_DIR

WRITERS = 4
ADDS_PER_WRITER = 120
READERS = 2


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every few bytecodes (instead of every 5 ms): races show in every run."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def fresh(request: pytest.FixtureRequest) -> Any:
    """A new tokenizer of each class: these tests change it."""
    return IMPLEMENTATIONS[request.param].from_pretrained(TINY_VOCAB_DIR)


def token_name(writer: int, number: int) -> str:
    return f"t{writer}_{number}"


ALL_TOKENS = [token_name(w, n) for w in range(WRITERS) for n in range(ADDS_PER_WRITER)]


def run_together(
    writers: Sequence[Callable[[], None]], readers: Sequence[Callable[[], None]] = ()
) -> list[BaseException]:
    """Run ``writers`` once each and ``readers`` over and over until the writers are done, all
    starting at one barrier; returns what any of them raised."""
    barrier = threading.Barrier(len(writers) + len(readers))
    writing = threading.Event()
    writing.set()
    errors: list[BaseException] = []

    def write(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as error:  # a thread would only print it
            errors.append(error)

    def read(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            while writing.is_set():
                work()
            work()  # once more on the final state
        except BaseException as error:  # a thread would only print it
            errors.append(error)

    writer_threads = [threading.Thread(target=write, args=(work,)) for work in writers]
    reader_threads = [threading.Thread(target=read, args=(work,)) for work in readers]
    for thread in [*writer_threads, *reader_threads]:
        thread.start()
    for thread in writer_threads:
        thread.join()
    writing.clear()
    for thread in reader_threads:
        thread.join()
    return errors


def adding(tok: Any, writer: int, counts: list[int]) -> Callable[[], None]:
    """A writer: adds its tokens one call at a time and keeps what each call returned."""

    def work() -> None:
        for number in range(ADDS_PER_WRITER):
            counts.append(tok.add_tokens([token_name(writer, number)]))

    return work


def assert_every_token_has_its_own_id(tok: Any, tokens: list[str], first_id: int) -> None:
    vocab = tok.get_vocab()
    ids = [vocab[token] for token in tokens]
    assert sorted(ids) == list(range(first_id, first_id + len(tokens)))
    assert len(tok) == first_id + len(tokens)
    for token, index in zip(tokens, ids):
        assert (tok(token)["input_ids"], tok.decode([index])) == ([index], token)


def test_tokens_added_from_many_threads_each_get_their_own_contiguous_id(fresh: Any) -> None:
    first_id = len(fresh)
    counts: list[int] = []
    writers = [adding(fresh, writer, counts) for writer in range(WRITERS)]
    assert run_together(writers) == []
    assert counts == [1] * len(ALL_TOKENS)
    assert_every_token_has_its_own_id(fresh, ALL_TOKENS, first_id)


def test_readers_beside_writers_never_raise_and_never_see_half_a_change(fresh: Any) -> None:
    counts: list[int] = []
    writers = [adding(fresh, writer, counts) for writer in range(WRITERS)]

    def read_sizes() -> None:
        # Nothing is ever removed, so a later look never sees fewer tokens than an earlier one.
        before = len(fresh)
        vocab = fresh.get_vocab()
        after = len(fresh)
        assert before <= len(vocab) <= after

    def read_tokens() -> None:
        added = fresh.get_added_vocab()
        newest = sorted(added.items(), key=lambda item: item[1])[-8:]
        for token, index in newest:
            # A token that the tokenizer shows is one it encodes, decodes and converts.
            assert fresh.decode([index]) == token
            assert fresh.convert_ids_to_tokens(index) == token
            assert fresh.encode(f"a {token} b")[1:-1] == [index]
            assert fresh.tokenize(token) == [token]

    readers = [read_sizes, read_tokens][:READERS]
    assert run_together(writers, readers) == []
    assert_every_token_has_its_own_id(fresh, ALL_TOKENS, len(fresh) - len(ALL_TOKENS))


def test_saving_after_concurrent_adds_keeps_every_token(fresh: Any, tmp_path: Path) -> None:
    first_id = len(fresh)
    counts: list[int] = []
    assert run_together([adding(fresh, writer, counts) for writer in range(WRITERS)]) == []
    fresh.save_pretrained(tmp_path)
    reloaded = type(fresh).from_pretrained(tmp_path)
    assert reloaded.get_vocab() == fresh.get_vocab()
    assert_every_token_has_its_own_id(reloaded, ALL_TOKENS, first_id)


def test_saving_and_pickling_while_tokens_are_added_capture_one_whole_state(
    fresh: Any, tmp_path: Path
) -> None:
    counts: list[int] = []
    writers = [adding(fresh, writer, counts) for writer in range(WRITERS)]
    copies: list[Any] = []

    def save_and_pickle() -> None:
        directory = tmp_path / str(len(copies))
        fresh.save_pretrained(directory)
        copies.append(type(fresh).from_pretrained(directory))
        copies.append(pickle.loads(pickle.dumps(fresh)))

    assert run_together(writers, [save_and_pickle]) == []
    assert len(copies) > 2
    for copy in copies:
        added = {t: i for t, i in copy.get_added_vocab().items() if t.startswith("t")}
        assert sorted(added.values()) == list(range(len(copy) - len(added), len(copy)))
        for token, index in added.items():
            assert (copy.convert_ids_to_tokens(index), copy(token)["input_ids"]) == (token, [index])


def test_special_tokens_added_from_many_threads_each_get_their_own_id(fresh: Any) -> None:
    first_id = len(fresh)
    counts: list[int] = []

    def adding_special(writer: int) -> Callable[[], None]:
        def work() -> None:
            for number in range(ADDS_PER_WRITER):
                token = token_name(writer, number)
                counts.append(
                    fresh.add_special_tokens(
                        {"extra_special_tokens": [token]}, replace_extra_special_tokens=False
                    )
                )

        return work

    assert run_together([adding_special(writer) for writer in range(WRITERS)]) == []
    assert counts == [1] * len(ALL_TOKENS)
    assert sorted(fresh.extra_special_tokens) == sorted(ALL_TOKENS)
    assert set(ALL_TOKENS) <= set(fresh.all_special_tokens)
    assert_every_token_has_its_own_id(fresh, ALL_TOKENS, first_id)
    ids = fresh.convert_tokens_to_ids(ALL_TOKENS)
    assert fresh.decode([*ids, 1], skip_special_tokens=True) == "adapt"


def test_setting_special_token_attributes_while_adding_tokens_loses_neither(fresh: Any) -> None:
    first_id = len(fresh)
    counts: list[int] = []
    writers = [adding(fresh, writer, counts) for writer in range(WRITERS - 1)]
    names = [f"<cls{number}>" for number in range(ADDS_PER_WRITER)]

    def set_attributes() -> None:
        for name in names:
            # Setting a special token names it; it does not add it.
            fresh.cls_token = name
            fresh.sep_token = name

    writers.append(set_attributes)
    assert run_together(writers) == []
    tokens = [token_name(w, n) for w in range(WRITERS - 1) for n in range(ADDS_PER_WRITER)]
    assert_every_token_has_its_own_id(fresh, tokens, first_id)
    assert (fresh.cls_token, fresh.sep_token) == (names[-1], names[-1])
    assert [t for t in fresh.all_special_tokens if t.startswith("<cls")] == [names[-1]]
    assert names[-1] not in fresh.get_added_vocab()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_forked_during_a_change_can_change_its_copy(fresh: Any) -> None:
    # The parent's lock is held (as by a thread in the middle of add_tokens) when it forks; the
    # child must not wait for a release that can never come in its copy.
    with fresh._tokens_lock:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit status
            signal.alarm(20)  # a hang ends the child, and the test sees a failure
            added = fresh.add_tokens(["forked_child_token"])
            os._exit(0 if added == 1 and "forked_child_token" in fresh.get_vocab() else 1)
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
