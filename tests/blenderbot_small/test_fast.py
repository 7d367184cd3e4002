"""BlenderbotSmallTokenizerFast is BlenderbotSmallTokenizer, in Rust.

The specification: for every Python ``str`` on the Python that runs these tests -- lone
surrogates included -- the fast tokenizer gives the same tokens and ids as the pure-Python one,
or raises the same exception (same type, same message). White space is the ``regex`` package's
``\\s``; lowercasing is this Python's ``str.lower()``. Proven here by:

1. every code point, alone and in context (inside a word, after a capital letter, on both
   sides of a capital sigma), on the sample vocabulary; ``str.lower()`` idempotence and the
   white-space set checked directly;
2. the lowercasing tables derived at run time (what a Python of another Unicode version gets);
3. hypothesis: arbitrary and targeted text, generated vocabularies and merges, batch calls with
   every option, decode of arbitrary ids, id <-> token conversions, added tokens;
4. batches equal one-by-one encoding on 1 and 2 threads;
5. offsets point at the text (the law is stated at ``check_offsets_law``);
6. pickling, and one instance shared between Python threads;
7. words of 10,000 and 1,000,000 characters;
8. malformed files raise the same errors and warn the same warnings;
9. ``return_tensors="np"`` gives identical arrays.

No test here asserts a duration.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import pickle
import random
import subprocess
import sys
import tempfile
import textwrap
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import AddedToken

import bbtok.blenderbot_small.tokenizer_fast
from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast
from bbtok.blenderbot_small.tokenizer import NEWLINE_MARKER, PIECE_PATTERN, WORD_PATTERN, bpe
from bbtok.blenderbot_small.tokenizer_fast import _use_running_pythons_lowercase
from bbtok.blenderbot_small.unicode_tables import case_tables

from conftest import SAMPLE_DIR, TINY_VOCAB_DIR

Pure = BlenderbotSmallTokenizer
Fast = BlenderbotSmallTokenizerFast
LAST_CODE_POINT = 0x10FFFF
# BBTOK_PARITY_SCALE=20 multiplies every example count (as in test_parity.py), for a deeper
# search than the default, which keeps this file within a few minutes on two cores.
SCALE = float(os.environ.get("BBTOK_PARITY_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, int(count * SCALE))


SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.fixture(scope="module")
def sample_pair() -> tuple[Pure, Fast]:
    """(pure, fast) on the sample vocabulary; tests that change a tokenizer make their own."""
    return Pure.from_pretrained(SAMPLE_DIR), Fast.from_pretrained(SAMPLE_DIR)


@pytest.fixture(scope="module")
def tiny_pair() -> tuple[Pure, Fast]:
    return Pure.from_pretrained(TINY_VOCAB_DIR), Fast.from_pretrained(TINY_VOCAB_DIR)


# -- comparing outcomes ---------------------------------------------------------------------


def plain(value: Any) -> Any:
    """An output as comparable data: arrays keep dtype and shape, mappings keep key order."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("object array", value.shape, [plain(item) for item in value])
        return ("array", str(value.dtype), value.shape, value.tolist())
    if isinstance(value, np.generic):
        return ("numpy scalar", str(value.dtype), value.item())
    if isinstance(value, Mapping):
        return ("mapping", [(key, plain(item)) for key, item in value.items()])
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    return value


def outcome(call: Callable[[Any], Any], tokenizer: Any) -> tuple[Any, ...]:
    """("ok", value, warnings) or ("raised", type, message, warnings); each warning as
    (category, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call(tokenizer)
        except Exception as error:
            return ("raised", type(error), str(error), _warned(caught))
    return ("ok", plain(value), _warned(caught))


def _warned(caught: list[warnings.WarningMessage]) -> list[tuple[type, str]]:
    return [(w.category, str(w.message)) for w in caught]


def assert_alike(call: Callable[[Any], Any], pure: Any, fast: Any) -> None:
    expected = outcome(call, pure)
    assert outcome(call, fast) == expected


def saved_files(tokenizer: Any, prefix: str | None = None) -> dict[str, bytes]:
    """The bytes ``save_vocabulary`` writes."""
    return _saved(lambda directory: tokenizer.save_vocabulary(directory, filename_prefix=prefix))


def saved_directory(tokenizer: Any) -> dict[str, bytes]:
    """The bytes ``save_pretrained`` writes."""
    return _saved(tokenizer.save_pretrained)


def _saved(save: Callable[[str], Any]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as directory:
        try:
            paths = save(directory)
        except ValueError as error:  # the message names the (random) directory
            raise ValueError(str(error).replace(directory, "<directory>")) from None
        return {Path(path).name: Path(path).read_bytes() for path in paths}


# -- strategies -----------------------------------------------------------------------------

# Every code point, lone surrogates included (hypothesis leaves out category Cs by default).
ANY_CHARACTER = st.characters(exclude_categories=())
ALL_CHARACTERS = "".join(map(chr, range(LAST_CODE_POINT + 1)))
REGEX_WHITE_SPACE = regex.findall(r"\s", ALL_CHARACTERS)
# White space of one kind and not the other, and characters that look like white space.
WHITE_SPACE_VARIANTS = [
    *REGEX_WHITE_SPACE,
    *"\x1c\x1d\x1e\x1f",
    *"\u180e\u200b\u200c\u200d\u2060\ufeff",
    "\r\n",
    "\n\n",
    "  ",
]
PUNCTUATION = [*".,!?()'", "...", "?!", "((", "'\n", "’", "-", ":", ";", '"', "@", "@@", "</w>"]
CASE_TRAPS = [
    *"İIıiΣσςΑαßẞǄǅǆﬁΩKÅ",
    "\u0307",
    "\u0301",
    "\u0345",
    "ᾼ",
    "ΑΣ",
    "ΣΑ",
    "Α'Σ",
    "Α.Σ",
    "Α:Σ",
    "Α\u0301Σ",
    "ΑΣ\u0301",
    "ΟΔΟΣ",
]
SPECIAL_FRAGMENTS = [
    "__start__",
    "__end__",
    "__unk__",
    "__null__",
    "__newln__",
    "__NULL__",
    "__nu",
    "ll__",
    "_",
    "__",
]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00"]
WORDS = ["a", "b", "hello", "World", "don", "t", "apte", "adapt", "act", "日本", "😀", "\x00", "3"]
FRAGMENTS = st.sampled_from(
    WHITE_SPACE_VARIANTS + PUNCTUATION + CASE_TRAPS + SPECIAL_FRAGMENTS + SURROGATES + WORDS
)
ARBITRARY_TEXT = st.text(ANY_CHARACTER, max_size=40)
TARGETED_TEXT = st.lists(
    st.one_of(FRAGMENTS, FRAGMENTS, st.text(ANY_CHARACTER, max_size=3)), max_size=25
).map("".join)
TEXT = st.one_of(ARBITRARY_TEXT, TARGETED_TEXT)


def random_text(rng: random.Random, size: int) -> str:
    """A deterministic text of `size` fragments (for tests that are not hypothesis tests)."""
    pool = WHITE_SPACE_VARIANTS + PUNCTUATION + CASE_TRAPS + SPECIAL_FRAGMENTS + SURROGATES
    return "".join(rng.choice(pool + WORDS * 8) for _ in range(size))


def long_word(seed: int, length: int, alphabet: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choices(alphabet, k=length))


# Long words the pure-Python BPE still handles quickly: few distinct pairs, or many pieces.
LONG_WORD = st.builds(
    long_word,
    st.integers(0, 2**32),
    st.integers(10_000, 12_000),
    st.sampled_from(["ab", "aeiost", "abcΣΑİσ'.,!?()", "xy.", "ΣΑ", "İi\u0307", "ab\ud800"]),
)


# == 1. every code point ====================================================================

# (prefix, suffix) around each code point: alone; inside a word; after a capital letter;
# before a capital sigma (final exactly when the code point is cased, or case-ignorable with
# the cased "Α" before it); after a capital sigma (final unless the code point is cased).
CODE_POINT_CONTEXTS = {
    "alone": ("", ""),
    "inside a word": ("a", "b"),
    "after a capital": ("A", ""),
    "before a capital sigma": ("Α", "Σ"),
    "after a capital sigma": ("ΑΣ", ""),
}
CHUNK = 50_000
# Texts are tokenized together, separated by a word that is one token of the sample
# vocabulary: white space keeps each text's words apart, and no text of three characters can
# make a nine-letter token, so it marks where each text's tokens end. (A special token would
# do too, but cutting 50,000 of them out in Python costs more than the tokenizing.)
SEPARATOR = "something"


def _split_at(tokens: list[str], separator: str) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for token in tokens:
        if token == separator:
            groups.append([])
        else:
            groups[-1].append(token)
    return groups


def code_point_mismatches(pure: Pure, fast: Fast, texts: list[str]) -> list[tuple[str, Any, Any]]:
    """(text, pure (tokens, ids), fast (tokens, ids)) for each text where the two differ.

    Fast ids come from one batch call (``tok(texts)["input_ids"]``); the tokens of both from
    one ``tokenize`` call on all the texts joined by the separator; pure ids from the pure
    tokenizer's ``convert_tokens_to_ids`` (what its encoding does to each token)."""
    joined = f" {SEPARATOR} ".join(texts)
    assert pure.tokenize(SEPARATOR) == [SEPARATOR]
    pure_tokens = _split_at(pure.tokenize(joined), SEPARATOR)
    fast_tokens = _split_at(fast.tokenize(joined), SEPARATOR)
    fast_ids = fast(texts)["input_ids"]
    assert len(pure_tokens) == len(fast_tokens) == len(fast_ids) == len(texts)
    id_of: dict[str, int] = {}  # the pure tokenizer's token -> id, asked once per token
    found = []
    for text, expected, tokens, ids in zip(texts, pure_tokens, fast_tokens, fast_ids):
        for token in expected:
            if token not in id_of:
                id_of[token] = pure.convert_tokens_to_ids(token)
        expected_ids = [id_of[token] for token in expected]
        if tokens != expected or ids != expected_ids:
            found.append((text, (expected, expected_ids), (tokens, ids)))
    return found


@functools.cache
def _sample_pair_in_this_process() -> tuple[Pure, Fast]:
    return Pure.from_pretrained(SAMPLE_DIR), Fast.from_pretrained(SAMPLE_DIR)


def _code_point_chunk(prefix: str, suffix: str, start: int, stop: int) -> list[Any]:
    """Worker: mismatches of one context over code points start..stop-1."""
    pure, fast = _sample_pair_in_this_process()
    texts = [prefix + chr(code) + suffix for code in range(start, stop)]
    return code_point_mismatches(pure, fast, texts)


def _one_thread_per_worker() -> None:
    # The workers already use every core; the fast tokenizer's own pool would only compete.
    os.environ["BBTOK_NUM_THREADS"] = "1"


@pytest.mark.slow
def test_every_code_point_alone_and_in_context() -> None:
    # 5.5 million texts; the pure-Python side is the slow one, so the work is spread over
    # worker processes (spawned: no state of this process is inherited).
    tasks = [
        (prefix, suffix, start, min(start + CHUNK, LAST_CODE_POINT + 1))
        for prefix, suffix in CODE_POINT_CONTEXTS.values()
        for start in range(0, LAST_CODE_POINT + 1, CHUNK)
    ]
    workers = max(1, min(4, os.cpu_count() or 1))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_one_thread_per_worker
    ) as pool:
        results = [pool.submit(_code_point_chunk, *task) for task in tasks]
        mismatches = [found for result in results for found in result.result()]
    shown = "\n".join(
        f"{text!r}: pure {want!r}, fast {got!r}" for text, want, got in mismatches[:20]
    )
    assert not mismatches, f"{len(mismatches)} texts differ, first ones:\n{shown}"


def test_str_lower_is_idempotent_on_this_python() -> None:
    # The core looks BPE tokens up without lowercasing them again: every code point that
    # str.lower() produces must lowercase to itself.
    produced = {char for code in range(LAST_CODE_POINT + 1) for char in chr(code).lower()}
    assert sorted(char for char in produced if char.lower() != char) == []


def test_white_space_is_the_regex_packages(sample_pair: tuple[Pure, Fast]) -> None:
    _, fast = sample_pair
    # "a" + c + "b" is two words exactly when regex's \s matches c. Each text takes 4
    # characters of the joined text, so a token's start says which text it comes from.
    texts = ["a" + chr(code) + "b" for code in range(LAST_CODE_POINT + 1)]
    encoding = fast(" ".join(texts), return_offsets_mapping=True)
    words_of_text: dict[int, set[int | None]] = {}
    for (start, _), word in zip(encoding["offset_mapping"], encoding.word_ids()):
        words_of_text.setdefault(start // 4, set()).add(word)
    # Word ids count pieces: these marks start a piece inside a word, "'" is a piece of its own
    # and a word's "\n" is its __newln__ piece.
    for mark in ".,!?()'\n":
        del words_of_text[ord(mark)]
    assert None not in set().union(*words_of_text.values())
    split = {chr(index) for index, words in words_of_text.items() if len(words) == 2}
    assert all(len(words) in (1, 2) for words in words_of_text.values())
    assert split == set(REGEX_WHITE_SPACE) - {"\n"}
    # ... which is not str.isspace(): U+001C..U+001F are Python white space, not regex's.
    assert {c for c in ALL_CHARACTERS if c.isspace()} - split - {"\n"} == set("\x1c\x1d\x1e\x1f")


# == 2. the Unicode-version fallback ========================================================


def test_lowercase_tables_derived_at_run_time_agree_with_pure(
    sample_pair: tuple[Pure, Fast],
) -> None:
    pure, _ = sample_pair
    fast = Fast.from_pretrained(SAMPLE_DIR)
    _use_running_pythons_lowercase(fast._core)
    assert fast._core.unicode_version == unicodedata.unidata_version
    tables = case_tables()
    sample = sorted(
        {*tables.lowercase, *tables.cased, *tables.case_ignorable, 0x3A3, 0x130, 0x41, 0x61}
    )
    contexts = [*CODE_POINT_CONTEXTS.values(), ("", "Σ"), ("Σ", ""), ("Α", "ΣΑ"), ("ΑΣ", "Σ")]
    texts = [prefix + chr(code) + suffix for prefix, suffix in contexts for code in sample]
    # And the sample's characters next to each other, around sigmas.
    rng = random.Random(14)
    texts += [
        "".join(rng.choice([chr(rng.choice(sample)), "Σ", "Α", ":", "\u0301"]) for _ in range(8))
        for _ in range(20_000)
    ]
    assert code_point_mismatches(pure, fast, texts) == []


# == 3. hypothesis: fast == pure-Python =====================================================


@settings(max_examples=examples(300), **SETTINGS)
@given(text=TEXT)
def test_any_text_tokenizes_alike(sample_pair: tuple[Pure, Fast], text: str) -> None:
    pure, fast = sample_pair
    assert_alike(lambda tok: tok.tokenize(text), pure, fast)
    assert_alike(lambda tok: tok.tokenize(text, split_special_tokens=True), pure, fast)
    assert_alike(lambda tok: tok(text), pure, fast)
    assert_alike(lambda tok: tok(text, split_special_tokens=True), pure, fast)
    assert_alike(lambda tok: tok.encode(text), pure, fast)


@settings(max_examples=examples(150), **SETTINGS)
@given(text=TEXT)
def test_any_text_tokenizes_alike_on_tiny(tiny_pair: tuple[Pure, Fast], text: str) -> None:
    # tiny's vocabulary lacks __null__ (appended after it) and most characters (unknown ids).
    pure, fast = tiny_pair
    assert_alike(lambda tok: tok.tokenize(text), pure, fast)
    assert_alike(lambda tok: tok([text, text + "x"]), pure, fast)


@settings(max_examples=examples(8), **SETTINGS)
@given(word=LONG_WORD, glue=st.sampled_from(["", " ", "\n", "__null__", "'"]))
def test_words_of_ten_thousand_characters_tokenize_alike(
    sample_pair: tuple[Pure, Fast], word: str, glue: str
) -> None:
    pure, fast = sample_pair
    text = word + glue + word[::-1].upper()
    assert_alike(lambda tok: tok.tokenize(text), pure, fast)
    assert_alike(lambda tok: tok(text)["input_ids"], pure, fast)


@dataclass(frozen=True)
class GeneratedFiles:
    vocab: bytes
    merges: bytes
    letters: str


SYMBOL_LETTERS = "abcxσςΣıi\u0307ß<>/w@_."


@st.composite
def generated_files(draw: st.DrawFn) -> GeneratedFiles:
    """A small vocabulary and merge list over a few letters, with the quirks of real files:
    merges whose results are not in the vocabulary, repeated merges, lines that are not two
    symbols, other white space, missing final newline, CRLF, ids with holes."""
    letters = "".join(
        draw(st.lists(st.sampled_from(SYMBOL_LETTERS), min_size=1, max_size=5, unique=True))
    )
    part = st.text(st.sampled_from(letters), min_size=1, max_size=3)
    right = st.tuples(part, st.booleans()).map(lambda p: p[0] + ("</w>" if p[1] else ""))
    pairs = draw(st.lists(st.tuples(part, right), max_size=30))
    lines = [f"{left} {right}" for left, right in pairs]
    odd = st.sampled_from(["", "a", "a b c", "a\tb", "a\x1cb", "a\xa0b", " a  b ", "a\x85b"])
    for line in draw(st.lists(odd, max_size=3)):
        lines.insert(draw(st.integers(0, len(lines))), line)
    if lines:
        lines += draw(st.lists(st.sampled_from(lines), max_size=3))
    header = draw(st.sampled_from(["#version: 0.2", "#version: 0.2 x", "", "a b"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    ends_with_newline = draw(st.booleans())
    merges = newline.join([header, *lines]) + (newline if ends_with_newline else "")

    merged = [left + right for left, right in pairs]
    candidates = sorted(
        {
            *letters,
            *(m.removesuffix("</w>") for m in merged),
            *(m + "@@" for m in merged if not m.endswith("</w>")),
            *(c + "@@" for c in letters),
            "__start__",
            "__end__",
            "__unk__",
            "__null__",
            "__newln__",
            "A",
        }
    )
    tokens = draw(st.lists(st.sampled_from(candidates), unique=True, max_size=len(candidates)))
    ids = draw(
        st.lists(
            st.integers(0, 3 * len(tokens) + 3),
            min_size=len(tokens),
            max_size=len(tokens),
            unique=True,
        )
    )
    vocab = json.dumps(dict(zip(tokens, ids)), ensure_ascii=draw(st.booleans()))
    return GeneratedFiles(vocab.encode(), merges.encode(), letters)


def texts_over(letters: str) -> st.SearchStrategy[str]:
    pieces = st.one_of(
        st.text(st.sampled_from(letters), max_size=8),
        st.text(st.sampled_from(letters.upper() + letters), max_size=4),
        st.sampled_from([" ", "\n", ".", "'", "İ", "Σ", "Α", "__null__", "__unk__", "\ud800"]),
        # Pieces long enough for the core's heap-based merge loop.
        st.builds(long_word, st.integers(0, 2**32), st.integers(40, 300), st.just(letters)),
    )
    return st.lists(pieces, max_size=8).map("".join)


def load_both(vocab: bytes, merges: bytes) -> tuple[Any, Any, tuple[Any, Any]]:
    """Write the files, load both tokenizers: (pure or None, fast or None, (outcomes))."""
    with tempfile.TemporaryDirectory() as directory:
        vocab_path = Path(directory, "vocab.json")
        merges_path = Path(directory, "merges.txt")
        vocab_path.write_bytes(vocab)
        merges_path.write_bytes(merges)
        made: dict[type, Any] = {}

        def load(cls: type) -> str:
            made[cls] = cls(vocab_path, merges_path)
            return "loaded"

        outcomes = (outcome(load, Pure), outcome(load, Fast))
    return made.get(Pure), made.get(Fast), outcomes


def assert_behave_alike(pure: Any, fast: Any, texts: list[str]) -> None:
    for text in texts:
        assert_alike(lambda tok, t=text: tok.tokenize(t), pure, fast)
        assert_alike(lambda tok, t=text: tok(t), pure, fast)
    assert_alike(lambda tok: tok(texts, padding=True), pure, fast)
    size = len(pure)
    ids = [*range(-2, size + 3), 2**31, 2**32 + 1]
    for skip in (False, True):
        assert_alike(lambda tok, s=skip: tok.decode(ids, skip_special_tokens=s), pure, fast)
        assert_alike(lambda tok, s=skip: tok.convert_ids_to_tokens(ids, s), pure, fast)
    assert_alike(lambda tok: sorted(tok.get_vocab().items()), pure, fast)
    assert_alike(lambda tok: (len(tok), tok.vocab_size, tok.all_special_ids), pure, fast)
    # (The two keep merge ranks in different dict orders: not part of the public surface.)
    assert_alike(lambda tok: sorted(tok._merge_ranks().items(), key=lambda m: m[1]), pure, fast)
    assert_alike(lambda tok: saved_files(tok), pure, fast)
    assert_alike(lambda tok: saved_directory(tok), pure, fast)


@settings(max_examples=examples(120), **SETTINGS)
@given(files=generated_files(), data=st.data())
def test_generated_vocabularies_and_merges_behave_alike(
    files: GeneratedFiles, data: st.DataObject
) -> None:
    pure, fast, (loaded_pure, loaded_fast) = load_both(files.vocab, files.merges)
    assert loaded_fast == loaded_pure
    texts = data.draw(st.lists(texts_over(files.letters), min_size=1, max_size=5))
    assert_behave_alike(pure, fast, texts)


CALL_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "padding": st.sampled_from([False, True, "longest", "max_length", "do_not_pad"]),
        "truncation": st.sampled_from(
            [None, False, True, "longest_first", "only_first", "only_second", "do_not_truncate"]
        ),
        "max_length": st.none() | st.integers(0, 12),
        "pad_to_multiple_of": st.none() | st.integers(1, 5),
        "padding_side": st.sampled_from(["left", "right"]),
        "return_tensors": st.sampled_from([None, "np"]),
        "return_attention_mask": st.booleans(),
        "return_token_type_ids": st.booleans(),
        "return_special_tokens_mask": st.booleans(),
        "return_length": st.booleans(),
        "return_overflowing_tokens": st.booleans(),
        "stride": st.integers(0, 3),
        "split_special_tokens": st.booleans(),
    },
)


@settings(max_examples=examples(200), **SETTINGS)
@given(texts=st.lists(TEXT, min_size=1, max_size=6), options=CALL_OPTIONS)
def test_calls_with_padding_truncation_and_tensors_alike(
    sample_pair: tuple[Pure, Fast], texts: list[str], options: dict[str, Any]
) -> None:
    pure, fast = sample_pair
    assert_alike(lambda tok: tok(texts, **options), pure, fast)
    assert_alike(lambda tok: tok(texts[0], **options), pure, fast)
    assert_alike(lambda tok: tok(texts, texts[::-1], **options), pure, fast)
    assert_alike(lambda tok: tok(texts[0], texts[-1], **options), pure, fast)
    assert_alike(lambda tok: tok(text=texts, text_target=texts[::-1], **options), pure, fast)


IDS_IN_INT64 = st.one_of(
    st.integers(-3, 16_400), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1, 2, 3])
)
DECODE_MODES = [(skip, clean) for skip in (False, True) for clean in (None, True, False)]


@settings(max_examples=examples(150), **SETTINGS)
@given(ids=st.lists(IDS_IN_INT64, max_size=25), batch=st.lists(st.lists(IDS_IN_INT64), max_size=3))
def test_decode_of_arbitrary_ids_alike(
    sample_pair: tuple[Pure, Fast], ids: list[int], batch: list[list[int]]
) -> None:
    pure, fast = sample_pair
    for skip, clean in DECODE_MODES:
        mode = {"skip_special_tokens": skip, "clean_up_tokenization_spaces": clean}
        assert_alike(lambda tok, m=mode: tok.decode(ids, **m), pure, fast)
        assert_alike(lambda tok, m=mode: tok.decode(np.array(ids, dtype=np.int64), **m), pure, fast)
        assert_alike(lambda tok, m=mode: tok.batch_decode(batch, **m), pure, fast)
        assert_alike(lambda tok, m=mode: tok.decode(batch, **m), pure, fast)


@settings(max_examples=examples(150), **SETTINGS)
@given(
    tokens=st.lists(st.one_of(ARBITRARY_TEXT, FRAGMENTS), max_size=10),
    ids=st.lists(IDS_IN_INT64, max_size=10),
    skip=st.booleans(),
)
def test_token_id_conversions_alike(
    sample_pair: tuple[Pure, Fast], tokens: list[str], ids: list[int], skip: bool
) -> None:
    pure, fast = sample_pair
    vocabulary = sorted(pure.get_vocab())
    known = [vocabulary[i % len(vocabulary)] for i in ids]
    for batch in (tokens, known, [t.upper() for t in known]):
        assert_alike(lambda tok, b=batch: tok.convert_tokens_to_ids(b), pure, fast)
        for token in batch[:3]:
            assert_alike(lambda tok, t=token: tok.convert_tokens_to_ids(t), pure, fast)
    assert_alike(lambda tok: tok.convert_ids_to_tokens(ids, skip_special_tokens=skip), pure, fast)
    for index in ids[:3]:
        assert_alike(lambda tok, i=index: tok.convert_ids_to_tokens(i), pure, fast)


def test_vocabulary_views_alike(sample_pair: tuple[Pure, Fast]) -> None:
    pure, fast = sample_pair
    assert_alike(lambda tok: sorted(tok.get_vocab().items()), pure, fast)
    assert_alike(lambda tok: (len(tok), tok.vocab_size), pure, fast)
    assert_alike(lambda tok: tok.get_added_vocab(), pure, fast)
    assert_alike(lambda tok: saved_files(tok), pure, fast)
    assert_alike(lambda tok: saved_files(tok, "prefix"), pure, fast)


ADDED_CONTENT = st.one_of(
    st.text(st.sampled_from("ab_-.' xΣİ<>\n"), min_size=1, max_size=6),
    st.sampled_from(["__null__", "<3", "hello", " ", "A", "ap", "te", "apte", "Σ"]),
)
ADDED_TOKEN = st.one_of(
    ADDED_CONTENT,
    st.sampled_from(["\ud800", "a\udfff"]),  # a str may hold a lone surrogate
    st.builds(
        AddedToken,  # tokenizers.AddedToken cannot
        ADDED_CONTENT,
        single_word=st.booleans(),
        lstrip=st.booleans(),
        rstrip=st.booleans(),
        normalized=st.booleans(),
        special=st.booleans(),
    ),
)


@settings(max_examples=examples(80), **SETTINGS)
@given(
    additions=st.lists(st.tuples(st.lists(ADDED_TOKEN, max_size=4), st.booleans()), max_size=3),
    data=st.data(),
)
def test_added_tokens_alike_on_fresh_instances(
    additions: list[tuple[list[Any], bool]], data: st.DataObject
) -> None:
    pure, fast = Pure.from_pretrained(TINY_VOCAB_DIR), Fast.from_pretrained(TINY_VOCAB_DIR)
    for tokens, special in additions:
        assert_alike(
            lambda tok, t=tokens, s=special: tok.add_tokens(t, special_tokens=s), pure, fast
        )
    contents = [str(token) for tokens, _ in additions for token in tokens] or ["x"]
    text_strategy = st.lists(
        st.one_of(st.sampled_from(contents), FRAGMENTS, st.sampled_from(["a", " ", "apte"])),
        max_size=12,
    ).map("".join)
    texts = data.draw(st.lists(text_strategy, min_size=1, max_size=4))
    assert_behave_alike(pure, fast, texts)
    for text in texts:
        assert_alike(lambda tok, t=text: tok.tokenize(t, split_special_tokens=True), pure, fast)
    assert_alike(lambda tok: (tok.added_tokens_encoder, tok.all_special_tokens), pure, fast)


# == 4. batches ==============================================================================


@pytest.mark.parametrize("threads", [None, "1", "2"], ids=["unset", "1", "2"])
@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[*SETTINGS["suppress_health_check"], HealthCheck.function_scoped_fixture],
)
@given(texts=st.lists(TEXT, min_size=64, max_size=120))
def test_batch_equals_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
    sample_pair: tuple[Pure, Fast],
    threads: str | None,
    texts: list[str],
) -> None:
    if threads is None:
        monkeypatch.delenv("BBTOK_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("BBTOK_NUM_THREADS", threads)
    pure, fast = sample_pair
    one_by_one = [fast(text)["input_ids"] for text in texts]
    assert fast(texts)["input_ids"] == one_by_one
    assert fast.encode(texts[0]) == one_by_one[0]
    assert one_by_one == [pure(text)["input_ids"] for text in texts]
    padded = {"padding": True, "return_tensors": "np"}
    assert plain(fast(texts, **padded)) == plain(pure(texts, **padded))


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "two"])
def test_invalid_thread_count_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, sample_pair: tuple[Pure, Fast], value: str
) -> None:
    monkeypatch.setenv("BBTOK_NUM_THREADS", value)
    _, fast = sample_pair
    with pytest.raises(ValueError, match=r"BBTOK_NUM_THREADS=.*(whole number|at least 1)"):
        fast(["some text"] * 64)


class RouteCountingFast(Fast):
    """The fast tokenizer, counting the batches its plain-batch route encodes."""

    plain_batches = 0

    def _encode_plain_batch(self, texts: list[str], options: Any) -> Any:
        self.plain_batches += 1
        return super()._encode_plain_batch(texts, options)


class Word(str):
    """A str subclass: not a plain text."""


@pytest.mark.parametrize(
    "options",
    [{}, {"padding": True, "return_tensors": "np"}, {"truncation": True, "max_length": 2}],
    ids=["lists", "numpy", "truncated"],
)
def test_a_batch_of_plain_texts_takes_the_plain_batch_route_once(
    sample_pair: tuple[Pure, Fast], options: dict[str, Any]
) -> None:
    pure, _ = sample_pair
    texts = ["Hello there!", "How are you today?"]
    fast = RouteCountingFast.from_pretrained(SAMPLE_DIR)
    assert plain(fast(texts, **options)) == plain(pure(texts, **options))
    assert fast.plain_batches == 1
    # The model's input names as a tuple, as a caller may assign them, are the same names.
    fast.model_input_names = tuple(fast.model_input_names)
    assert plain(fast(texts, **options)) == plain(pure(texts, **options))
    assert fast.plain_batches == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda tok: tok("Hello there!", padding=True),
        lambda tok: tok(["Hello", "there"], ["How are", "you"]),
        lambda tok: tok([["Hello", "there"]], is_split_into_words=True),
        lambda tok: tok(["Hello", Word("there")]),
        lambda tok: tok(("Hello", "there")),
        lambda tok: tok(["Hello", "there"], split_special_tokens=True),
        lambda tok: tok([[1, 2], [3]]),
    ],
    ids=["single", "pairs", "words", "str-subclass", "tuple", "split-special", "ids"],
)
def test_any_other_call_takes_the_shared_path(
    sample_pair: tuple[Pure, Fast], call: Callable[[Any], Any]
) -> None:
    pure, _ = sample_pair
    fast = RouteCountingFast.from_pretrained(SAMPLE_DIR)
    assert outcome(call, fast) == outcome(call, pure)
    assert fast.plain_batches == 0


def test_a_batch_with_strip_rule_tokens_takes_the_shared_path() -> None:
    pure = Pure.from_pretrained(SAMPLE_DIR)
    fast = RouteCountingFast.from_pretrained(SAMPLE_DIR)
    for tok in (pure, fast):
        tok.add_tokens([AddedToken("<x>", lstrip=True)])
    texts = ["Hello <x> there", "hi"]
    assert plain(fast(texts)) == plain(pure(texts))
    assert fast.plain_batches == 0


def test_a_batch_for_other_model_input_names_takes_the_shared_path() -> None:
    pure = Pure.from_pretrained(SAMPLE_DIR, model_input_names=["input_ids", "token_type_ids"])
    fast = RouteCountingFast.from_pretrained(
        SAMPLE_DIR, model_input_names=["input_ids", "token_type_ids"]
    )
    texts = ["Hello there!", "hi"]
    assert plain(fast(texts)) == plain(pure(texts))
    assert plain(fast(texts[0])) == plain(pure(texts[0]))
    assert fast.plain_batches == 0


# == 5. offsets ==============================================================================


@dataclass(frozen=True)
class Part:
    """Where a token (or a run of tokens) of the pure tokenizer's pipeline comes from: an added
    token (text[start:end]), a piece of a word (text[start:end], lowercased), or a word's
    newline marker (text[start] is the "\\n")."""

    kind: str  # "added", "piece" or "newline"
    start: int
    end: int
    word: int | None


def pure_layout(pure: Pure, text: str) -> list[Part]:
    """The pure tokenizer's pipeline, step by step, with positions in ``text``."""
    parts = []
    words = 0
    at = 0
    for segment, is_added in pure._split_added(text):
        if is_added:
            parts.append(Part("added", at, at + len(segment), None))
        else:
            for match in WORD_PATTERN.finditer(segment):
                word_start = at + match.start()
                body = match.group().removesuffix("\n")
                # Word ids count pieces (the __newln__ marker is one), as word_ids() does.
                for piece in PIECE_PATTERN.finditer(body):
                    parts.append(
                        Part("piece", word_start + piece.start(), word_start + piece.end(), words)
                    )
                    words += 1
                if match.group().endswith("\n") and not body.endswith("'"):
                    end = word_start + len(body)
                    parts.append(Part("newline", end, end + 1, words))
                    words += 1
        at += len(segment)
    return parts


def expected_encoding(pure: Pure, text: str) -> list[tuple[int, tuple[int, int], int | None]]:
    """(id, (start, end), word) of each token, from the pure tokenizer's pipeline: a token's
    span covers the characters whose lowercase it holds (a character lowercasing to several code
    points, like İ, can be shared by two tokens)."""
    encoded = []
    for part in pure_layout(pure, text):
        if part.kind == "added":
            token = text[part.start : part.end]
            encoded.append((pure.convert_tokens_to_ids(token), (part.start, part.end), None))
            continue
        if part.kind == "newline":
            for token in bpe(NEWLINE_MARKER, pure.bpe_ranks):
                encoded.append(
                    (pure.convert_tokens_to_ids(token), (part.start, part.end), part.word)
                )
            continue
        piece = text[part.start : part.end]
        lowered = piece.lower()
        # str.lower() is context-free in length (only the capital sigma has a context, and it
        # lowercases to one code point either way).
        origin = [i for i, char in enumerate(piece) for _ in char.lower()]
        assert len(origin) == len(lowered)
        tokens = bpe(lowered, pure.bpe_ranks)
        at = 0
        for index, token in enumerate(tokens):
            size = len(token) - (2 if index < len(tokens) - 1 else 0)
            span = (part.start + origin[at], part.start + origin[at + size - 1] + 1)
            encoded.append((pure.convert_tokens_to_ids(token), span, part.word))
            at += size
    return encoded


def _fold_sigma(text: str) -> str:
    return text.replace("ς", "σ")


def check_offsets_law(
    text: str,
    layout: list[Part],
    tokens: list[str],
    offsets: list[tuple[int, int]],
    words: list[int | None],
) -> None:
    """The offsets law, on the fast tokenizer's output alone (the pure pipeline only says where
    words and pieces are):

    * an added or special token has word None and its span is exactly its text;
    * the tokens of a piece of a word are consecutive, carry the word's index (0, 1, 2, ... in
      text order), lie within the piece, all but the last end with the continuation mark "@@",
      and without those marks they concatenate to the piece lowercased;
    * each such token's text is contained in its span lowercased -- with "ς" and "σ" taken as
      one letter, since lowercasing a span out of its context cannot tell a final sigma; a
      character that lowercases to several code points (İ -> i + U+0307) may be shared by two
      tokens, each containing part of it;
    * the newline marker's tokens concatenate (without "@@") to "__newln__" and point at the
      word's "\\n".
    """
    assert len(tokens) == len(offsets) == len(words)
    i = 0
    for part in layout:
        if part.kind == "added":
            assert words[i] is None
            assert offsets[i] == (part.start, part.end)
            assert tokens[i] == text[part.start : part.end]
            i += 1
            continue
        group = []
        while i < len(tokens) and words[i] == part.word and part.start <= offsets[i][0] < part.end:
            group.append(i)
            i += 1
        assert group, (part, tokens[i:], offsets[i:])
        pieces = [tokens[j] for j in group]
        assert all(token.endswith("@@") for token in pieces[:-1])
        stripped = [token[:-2] for token in pieces[:-1]] + pieces[-1:]
        if part.kind == "newline":
            assert "".join(stripped) == NEWLINE_MARKER
            assert all(offsets[j] == (part.start, part.end) for j in group)
            assert text[part.start] == "\n"
            continue
        assert "".join(stripped) == text[part.start : part.end].lower()
        for j, token in zip(group, stripped):
            start, end = offsets[j]
            assert part.start <= start < end <= part.end
            assert _fold_sigma(token) in _fold_sigma(text[start:end].lower()), (token, start, end)
    assert i == len(tokens)


@settings(max_examples=examples(250), **SETTINGS)
@given(text=TEXT)
def test_offsets_point_at_the_text(sample_pair: tuple[Pure, Fast], text: str) -> None:
    pure, fast = sample_pair
    encoding = fast(text, return_offsets_mapping=True)
    ids, offsets, words = encoding["input_ids"], encoding["offset_mapping"], encoding.word_ids()
    assert ids == pure(text)["input_ids"]
    check_offsets_law(text, pure_layout(pure, text), fast.tokenize(text), offsets, words)
    # Exactly where the pure tokenizer's pipeline says each token comes from.
    expected = expected_encoding(pure, text)
    assert [i for i, _, _ in expected] == ids
    assert list(zip(ids, offsets, words)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # İ lowercases to i + U+0307: two tokens can point at the same character.
        ("İ x", [("i@@", (0, 1)), ("̇", (0, 1)), ("x", (2, 3))]),
        ("a__null__b", [("a", (0, 1)), ("__null__", (1, 9)), ("b", (9, 10))]),
        ("hi\nthere", [("hi", (0, 2)), ("__newln__", (2, 3)), ("there", (3, 8))]),
        ("hi\r\nthere", [("hi", (0, 2)), ("there", (4, 9))]),
        ("ΟΔΟΣ", [("ο@@", (0, 1)), ("δ@@", (1, 2)), ("ο@@", (2, 3)), ("ς", (3, 4))]),
        ("can'\nt", [("can", (0, 3)), ("'", (3, 4)), ("t", (5, 6))]),
        ("Hello, World!", [("hello", (0, 5)), (",", (5, 6)), ("world", (7, 12)), ("!", (12, 13))]),
    ],
)
def test_offsets_of_special_tokens_newlines_and_expanding_characters(
    sample_pair: tuple[Pure, Fast], text: str, expected: list[tuple[str, tuple[int, int]]]
) -> None:
    _, fast = sample_pair
    encoding = fast(text, return_offsets_mapping=True)
    tokens = fast.tokenize(text)
    assert list(zip(tokens, encoding["offset_mapping"])) == expected
    words = encoding.word_ids()
    for token, word in zip(tokens, words):
        assert (word is None) == (token == "__null__")


def test_word_ids_without_offsets_say_how_to_get_them(sample_pair: tuple[Pure, Fast]) -> None:
    _, fast = sample_pair
    with pytest.raises(ValueError, match="return_offsets_mapping=True"):
        fast("Hello there!").word_ids()


def test_word_ids_count_the_pieces_bpe_runs_on(sample_pair: tuple[Pure, Fast]) -> None:
    # docs/tokenizers.md's example: the pieces are İstanbul , I ' m here ! and İstanbul's BPE tokens
    # share its word id, as the tokens of one pre-tokenized word do in Hugging Face tokenizers.
    _, fast = sample_pair
    text = "İstanbul, I'm here!"
    encoding = fast(text, return_offsets_mapping=True)
    pieces = ["İstanbul", ",", "I", "'", "m", "here", "!"]
    spans = [(text.index(piece), text.index(piece) + len(piece)) for piece in pieces]
    words = encoding.word_ids()
    assert sorted(set(words)) == list(range(len(pieces)))
    for (start, end), word in zip(encoding["offset_mapping"], words):
        assert word is not None
        piece_start, piece_end = spans[word]
        assert piece_start <= start < end <= piece_end


@settings(max_examples=examples(60), **SETTINGS)
@given(
    texts=st.lists(TEXT, min_size=1, max_size=5),
    max_length=st.none() | st.integers(0, 10),
    padding=st.sampled_from([True, "max_length"]),
    side=st.sampled_from(["left", "right"]),
)
def test_offsets_of_padded_and_truncated_batches(
    sample_pair: tuple[Pure, Fast],
    texts: list[str],
    max_length: int | None,
    padding: Any,
    side: str,
) -> None:
    pure, fast = sample_pair
    options = {"padding": padding, "truncation": True, "max_length": max_length}
    batch = fast(texts, return_offsets_mapping=True, padding_side=side, **options)
    assert batch["input_ids"] == pure(texts, padding_side=side, **options)["input_ids"]
    for row, text in enumerate(texts):
        alone = fast(text, return_offsets_mapping=True)
        kept = max_length or len(alone["input_ids"])  # max_length=0 does not truncate
        offsets = alone["offset_mapping"][:kept]
        words = alone.word_ids()[:kept]
        mask = batch["attention_mask"][row]
        padded = [(0, 0)] * mask.count(0)
        unused: list[int | None] = [None] * mask.count(0)
        if side == "right":
            assert batch["offset_mapping"][row] == offsets + padded
            assert batch.word_ids(row) == words + unused
        else:
            assert batch["offset_mapping"][row] == padded + offsets
            assert batch.word_ids(row) == unused + words


def test_offsets_of_pairs_and_pre_split_words_are_not_implemented(
    sample_pair: tuple[Pure, Fast],
) -> None:
    _, fast = sample_pair
    with pytest.raises(NotImplementedError):
        fast("a b", "c", return_offsets_mapping=True)
    with pytest.raises(NotImplementedError):
        fast(["a b"], ["c"], return_offsets_mapping=True)
    with pytest.raises(NotImplementedError):
        fast(["a", "b"], is_split_into_words=True, return_offsets_mapping=True)
    stripping = Fast.from_pretrained(TINY_VOCAB_DIR)
    stripping.add_tokens([AddedToken("<3", lstrip=True)])
    with pytest.raises(NotImplementedError):
        stripping("a <3 b", return_offsets_mapping=True)


@pytest.mark.parametrize("split_special_tokens", [False, True])
def test_offsets_give_the_ids_of_the_same_call_without_them(
    sample_pair: tuple[Pure, Fast], split_special_tokens: bool
) -> None:
    _, fast = sample_pair
    text = "x__null__y __start__ hello"
    options = {"split_special_tokens": split_special_tokens}
    with_offsets = fast(text, return_offsets_mapping=True, **options)["input_ids"]
    assert with_offsets == fast(text, **options)["input_ids"]


# == 6. pickling and threads =================================================================


def assert_same_outputs(first: Any, second: Any, texts: list[str]) -> None:
    for text in texts:
        assert second.tokenize(text) == first.tokenize(text)
        assert second(text) == first(text)
    assert second(texts, padding=True) == first(texts, padding=True)
    ids = list(range(-2, len(first) + 3))
    assert second.decode(ids) == first.decode(ids)
    assert second.decode(ids, skip_special_tokens=True) == first.decode(
        ids, skip_special_tokens=True
    )
    assert second.get_vocab() == first.get_vocab()
    assert saved_files(second) == saved_files(first)
    assert (len(second), second.all_special_tokens) == (len(first), first.all_special_tokens)


PICKLE_TEXTS = [random_text(random.Random(seed), 30) for seed in range(40)]


def test_pickle_round_trip(sample_pair: tuple[Pure, Fast]) -> None:
    pure, fast = sample_pair
    restored = pickle.loads(pickle.dumps(fast))
    assert_same_outputs(fast, restored, PICKLE_TEXTS)
    assert_same_outputs(pure, restored, PICKLE_TEXTS)


def test_pickle_round_trip_after_add_tokens() -> None:
    pure, fast = Pure.from_pretrained(SAMPLE_DIR), Fast.from_pretrained(SAMPLE_DIR)
    for tok in (pure, fast):
        tok.add_tokens(["<3", "hello", AddedToken("x y", single_word=True, rstrip=True)])
        tok.add_special_tokens({"extra_special_tokens": ["[SEP]"], "cls_token": "[CLS]"})
        tok.add_tokens(["\ud800"])
    texts = [*PICKLE_TEXTS, "hello<3 x y [SEP][CLS]\ud800 hello"]
    restored = pickle.loads(pickle.dumps(fast))
    assert_same_outputs(fast, restored, texts)
    assert_same_outputs(pickle.loads(pickle.dumps(pure)), restored, texts)


def test_the_word_cache_bound_is_a_setting_kept_by_pickle(sample_pair: tuple[Pure, Fast]) -> None:
    pure = sample_pair[0]
    fast = Fast.from_pretrained(SAMPLE_DIR)
    assert fast.cache_words == 1 << 20
    texts = [*PICKLE_TEXTS, " ".join(PICKLE_TEXTS)]
    for words in (0, 1, 7, 100_000):
        fast.cache_words = words
        assert fast.cache_words == words
        assert [fast(t)["input_ids"] for t in texts] == [pure(t)["input_ids"] for t in texts]
        assert fast(texts)["input_ids"] == pure(texts)["input_ids"]
    assert pickle.loads(pickle.dumps(fast)).cache_words == 100_000
    for bad in (-1, 1.5, "10", True, None):
        with pytest.raises(ValueError, match="cache_words must be an int >= 0"):
            fast.cache_words = bad  # type: ignore[assignment]
    assert fast.cache_words == 100_000


def test_added_tokens_that_bpe_also_makes_take_their_added_ids() -> None:
    """An added token equal to a piece BPE cuts from a word (``ab@@``, or a word's last piece)
    is looked up before the vocabulary, as in the reference: a piece that was unknown takes the
    added id. Upper case keeps the added (lowercase) tokens from being cut out of the text."""
    text = "ADAPT APTE ACT ADAPTER APT"
    pure, fast = Pure.from_pretrained(TINY_VOCAB_DIR), Fast.from_pretrained(TINY_VOCAB_DIR)
    tokens = pure.tokenize(text)
    assert tokens == ["adapt", "ap@@", "te", "act", "ad@@", "ap@@", "t@@", "e@@", "r", "apt"]
    assert fast(text)["input_ids"] == [1, 3, 4, 2, 6, 3, 6, 6, 6, 6]
    for tok in (pure, fast):
        tok.add_tokens(["ad@@", "r", "te"])  # "te" is in the vocabulary: it keeps its id
        tok.add_special_tokens({"extra_special_tokens": ["apt", "e@@"]})
    added = pure.get_added_vocab()
    assert [added[t] for t in ["__null__", "ad@@", "r", "te", "apt", "e@@"]] == [7, 8, 9, 4, 10, 11]
    assert fast.tokenize(text) == pure.tokenize(text) == tokens
    assert fast(text)["input_ids"] == pure(text)["input_ids"] == [1, 3, 4, 2, 8, 3, 6, 11, 9, 10]
    assert_same_outputs(pure, fast, [text, text.lower(), *PICKLE_TEXTS])


def test_one_instance_is_safe_to_share_between_threads() -> None:
    fast = Fast.from_pretrained(SAMPLE_DIR)
    texts = [random_text(random.Random(seed), 20) for seed in range(300)]

    def job(n: int) -> Any:
        text = texts[n % len(texts)]
        kind = n % 5
        if kind == 0:
            return fast(text)["input_ids"]
        if kind == 1:
            return fast.tokenize(text)
        if kind == 2:
            return fast.decode(fast(text)["input_ids"])
        if kind == 3:  # a batch big enough for the core's thread pool
            return fast(texts[n % 200 : n % 200 + 70])["input_ids"]
        return plain(fast(text, return_offsets_mapping=True))

    sequential = [job(n) for n in range(600)]
    fast._core.set_cache_capacity(64)  # a small cache: entries come and go under contention
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(job, range(600)))
    assert concurrent == sequential


def test_adding_tokens_while_another_thread_encodes_does_not_deadlock(tmp_path: Path) -> None:
    # One thread encodes (the core works with the GIL released); the main thread adds a token
    # meanwhile. Run in a child process, which faulthandler ends if it hangs: a deadlock would
    # hold the GIL and stop this process too. The time limit only tells a hang from a finish.
    script = textwrap.dedent(
        """
        import faulthandler, sys, threading, time
        faulthandler.dump_traceback_later(20, exit=True)
        from bbtok import BlenderbotSmallTokenizerFast
        tok = BlenderbotSmallTokenizerFast.from_pretrained(sys.argv[1])
        word = "ab" * 500_000
        encoding = threading.Thread(target=lambda: [tok.encode(word) for _ in range(3)])
        encoding.start()
        time.sleep(0.2)  # let the encoding thread enter the core
        tok.add_tokens(["<3"])
        encoding.join()
        print("finished")
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(SAMPLE_DIR)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (child.returncode, child.stdout.strip()) == (0, "finished"), child.stderr[-3000:]


# == 7. long words ===========================================================================


@pytest.mark.parametrize(
    "word",
    [
        "ab" * 5_000,
        long_word(1, 10_000, "abcdefghijklmnopqrstuvwxyz"),
        long_word(2, 10_500, "aeiost"),
        long_word(3, 10_000, "abcΣΑİσ'.,!?()"),
        "Σ" + "\u0301" * 10_000 + "Σ",
        "ΑΣ" * 5_000,
    ],
    ids=["ab-repeated", "random-letters", "few-letters", "mixed", "sigma-ignorables", "ΑΣ"],
)
def test_word_of_ten_thousand_characters_like_pure(
    sample_pair: tuple[Pure, Fast], word: str
) -> None:
    pure, fast = sample_pair
    assert fast.tokenize(word) == pure.tokenize(word)
    assert fast(word)["input_ids"] == pure(word)["input_ids"]


@pytest.mark.parametrize(
    "word",
    [
        "ab" * 500_000,
        long_word(4, 1_000_000, "abcdefghijklmnopqrstuvwxyz"),
        "ΑΣ" * 500_000,
    ],
    ids=["ab-repeated", "random-letters", "ΑΣ"],
)
def test_word_of_a_million_characters(sample_pair: tuple[Pure, Fast], word: str) -> None:
    _, fast = sample_pair
    tokens = fast.tokenize(word)
    assert all(token.endswith("@@") for token in tokens[:-1])
    assert "".join(token[:-2] for token in tokens[:-1]) + tokens[-1] == word.lower()
    ids = fast(word)["input_ids"]
    assert len(ids) == len(tokens)
    assert ids == fast.convert_tokens_to_ids(tokens)
    encoding = fast(word, return_offsets_mapping=True)
    assert encoding["input_ids"] == ids
    assert encoding["offset_mapping"][0][0] == 0
    assert encoding["offset_mapping"][-1][1] == len(word)


# == 8. malformed files ======================================================================

TINY_VOCAB = Path(TINY_VOCAB_DIR, "vocab.json").read_bytes()
TINY_MERGES = Path(TINY_VOCAB_DIR, "merges.txt").read_bytes()
MISSING = b"<missing>"
DIRECTORY = b"<directory>"

MALFORMED_VOCABULARIES = {
    "missing": MISSING,
    "directory": DIRECTORY,
    "empty": b"",
    "invalid JSON": b"{",
    "single quotes": b"{'a': 0}",
    "trailing comma": b'{"a": 0,}',
    "trailing garbage": b'{"a": 0} x',
    "a list": b"[]",
    "a number": b"1",
    "null": b"null",
    "a string": b'"vocab"',
    "negative id": b'{"a": -1}',
    "minus zero": b'{"a": -0, "b": 1}',
    "float id": b'{"a": 1.5}',
    "integral float id": b'{"a": 1.0}',
    "exponent id": b'{"a": 1e2}',
    "huge float id": b'{"a": 1e400}',
    "NaN id": b'{"a": NaN}',
    "true id": b'{"a": true}',
    "false id": b'{"a": false}',
    "null id": b'{"a": null}',
    "string id": b'{"a": "1"}',
    "object id": b'{"a": {"x": 1, "x": 2}}',
    "id 2**31": b'{"a": 2147483648}',
    "id 2**31 - 1": b'{"a": 2147483647}',
    "id 2**63": b'{"a": 9223372036854775808}',
    "id 2**64": b'{"a": 18446744073709551616}',
    "id of 5000 digits": b'{"a": ' + b"9" * 5000 + b"}",
    "two tokens on one id": b'{"a": 0, "b": 1, "c": 0}',
    "lone surrogate escape": b'{"ok": 0, "a\\ud800": 1}',
    "lone low surrogate escape": b'{"\\udc00": 0}',
    "escaped surrogate pair": b'{"\\ud83d\\ude00": 0, "a": 1}',
    "invalid UTF-8": b'{"abc": 0, "d\xffe": 1}',
    "truncated UTF-8": b'{"a": 0}\xc3',
    "overlong UTF-8": b'{"\xc0\xaf": 0}',
    "UTF-8 surrogate": b'{"\xed\xa0\x80": 0}',
    "BOM": b'\xef\xbb\xbf{"a": 0}',
    "control character": b'{"a\x01": 0}',
    "CR in a string": b'{"a\rb": 0}',
    "CRLF around": b'{\r\n"a": 0,\r\n"b": 1\r\n}\r\n',
    "duplicate key": b'{"a": 0, "b": 1, "a": 2}',
    "duplicate key, same id": b'{"a": 0, "a": 0}',
    "duplicate key rescues a bad id": b'{"a": "x", "b": 1, "a": 0}',
    "duplicate key makes a shared id": b'{"a": 0, "b": 1, "a": 1}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "empty object": b"{}",
    "empty token": b'{"": 0, "a": 1}',
    "upper-case token": b'{"A": 0, "a": 1}',
    "ids with holes": b'{"a": 7, "b": 3, "__unk__": 100}',
    "escapes saved back": b'{"\\u0001\\b\\f\\t\\"\\\\/": 0, "a\\u007f\\u2028\\u0085\\u0000": 1}',
    "raw non-ASCII": '{"été": 0, "日本": 1, "😀": 2}'.encode(),
}
MALFORMED_MERGES = {
    "missing": MISSING,
    "directory": DIRECTORY,
    "empty": b"",
    "header only": b"#version: 0.2",
    "header and newline": b"#version: 0.2\n",
    "no final newline": b"#version: 0.2\na p\nt e</w>",
    "no header": b"a p\nt e</w>\n",
    "BOM": b"\xef\xbb\xbf#version: 0.2\na p\n",
    "odd lines": b"#version: 0.2\na\n\na p x\n a  p \nt e</w>\n",
    "CRLF": b"#version: 0.2\r\na p\r\nt e</w>\r\n",
    "lone CR": b"#version: 0.2\ra p\rt e</w>\r",
    "duplicates": b"#version: 0.2\nt e</w>\na p\nt e</w>\n",
    "tab and other separators": b"#version: 0.2\na\tp\nt\x0be</w>\na\x1cd\nad\xc2\x85apt</w>\n",
    "separators that are not white space": b"#version: 0.2\na\xe2\x80\x8bp\nt\xef\xbb\xbfe</w>\n",
    "line separator U+2028": b"#version: 0.2\na\xe2\x80\xa8p\n",
    "invalid UTF-8": b"#version: 0.2\na p\nt \xffe</w>\n",
    "UTF-8 surrogate": b"#version: 0.2\n\xed\xa0\x80 p\n",
    "long first line": b"x" * 100 + b"\na p\n",
}


def write_file(path: Path, content: bytes) -> None:
    if content == DIRECTORY:
        path.mkdir()
    elif content != MISSING:
        path.write_bytes(content)


def load_outcomes(directory: Path, vocab: bytes, merges: bytes) -> tuple[Any, Any, Any, Any]:
    vocab_path, merges_path = directory / "vocab.json", directory / "merges.txt"
    write_file(vocab_path, vocab)
    write_file(merges_path, merges)
    made: dict[type, Any] = {}

    def load(cls: type) -> str:
        made[cls] = cls(vocab_path, merges_path)
        return "loaded"

    return outcome(load, Pure), outcome(load, Fast), made.get(Pure), made.get(Fast)


FILE_TEXTS = ["adapt act apte", "a b ab x__null__y", "A\u0130Σ é \ud800 d\xffe", "ok a p te"]


@pytest.mark.parametrize(
    ("vocab", "merges"),
    [
        pytest.param(v, TINY_MERGES, id=f"vocab: {name}")
        for name, v in MALFORMED_VOCABULARIES.items()
    ]
    + [pytest.param(TINY_VOCAB, m, id=f"merges: {name}") for name, m in MALFORMED_MERGES.items()],
)
def test_malformed_files_fail_and_warn_alike(tmp_path: Path, vocab: bytes, merges: bytes) -> None:
    pure_outcome, fast_outcome, pure, fast = load_outcomes(tmp_path, vocab, merges)
    assert fast_outcome == pure_outcome
    if pure_outcome[0] == "raised" and "invalid UTF-8" in pure_outcome[2]:
        assert "byte offset" in pure_outcome[2]
    if pure is not None:
        assert_behave_alike(pure, fast, FILE_TEXTS)


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    pure_outcome, fast_outcome, _, _ = load_outcomes(
        tmp_path, b'{"abc": 0, "d\xffe": 1}', TINY_MERGES
    )
    assert fast_outcome == pure_outcome
    assert pure_outcome[:2] == ("raised", ValueError)
    assert "invalid UTF-8 at byte offset 13" in pure_outcome[2]


def test_merges_are_split_on_pythons_white_space(tmp_path: Path) -> None:
    # A merge line is split with str.split(): every character either predicate might count.
    candidates = [
        char
        for char in ALL_CHARACTERS
        if char.isspace()
        or char in REGEX_WHITE_SPACE
        or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf")
    ]
    candidates = [c for c in candidates if c not in "\n\r" and not "\ud800" <= c <= "\udfff"]
    lines = [f"a{char}b" for char in candidates] + [f"a{char}{char}b{char}" for char in candidates]
    merges = ("#version: 0.2\n" + "\n".join(lines) + "\n").encode()
    pure_outcome, fast_outcome, pure, fast = load_outcomes(tmp_path, TINY_VOCAB, merges)
    assert fast_outcome == pure_outcome
    assert fast._merge_ranks() == pure._merge_ranks()
    assert saved_files(fast) == saved_files(pure)


def test_decode_strips_pythons_white_space() -> None:
    candidates = [
        char
        for char in ALL_CHARACTERS
        if char.isspace()
        or char in REGEX_WHITE_SPACE
        or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf", "Cs")
    ]
    pure, fast = Pure.from_pretrained(TINY_VOCAB_DIR), Fast.from_pretrained(TINY_VOCAB_DIR)
    for tok in (pure, fast):
        tok.add_tokens(candidates)
    ids = pure.convert_tokens_to_ids(candidates)
    assert fast.convert_tokens_to_ids(candidates) == ids
    for index in ids:
        for sequence in ([index], [index, 1, index], [index, index, 3, index]):
            assert fast.decode(sequence) == pure.decode(sequence), repr(pure.decode(sequence))


def test_files_only_python_accepts_still_lowercase_like_the_running_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a Python whose Unicode version is not the core's, every fast tokenizer must get the
    # running Python's lowercasing tables -- including one built from files the core refused
    # and the pure-Python readers accepted. Simulated by pretending the core is older.
    given_tables: list[Any] = []

    def record(core: Any) -> None:
        given_tables.append(core)
        _use_running_pythons_lowercase(core)

    monkeypatch.setattr(bbtok.blenderbot_small.tokenizer_fast._native, "UNICODE_VERSION", "1.1.0")
    monkeypatch.setattr(
        bbtok.blenderbot_small.tokenizer_fast, "_use_running_pythons_lowercase", record
    )
    cases = {
        "files the core reads": TINY_VOCAB,
        "a duplicate key that rescues a bad id (the core refuses)": (
            b'{"a": "x", "adapt": 1, "a": 0}'
        ),
        "minus zero (the core may refuse)": b'{"a": -0, "adapt": 1}',
    }
    missing = []
    for number, (name, vocab) in enumerate(cases.items()):
        directory = tmp_path / str(number)
        directory.mkdir()
        before = len(given_tables)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, _, fast = load_outcomes(directory, vocab, TINY_MERGES)
        if fast is None or len(given_tables) == before or given_tables[-1] is not fast._core:
            missing.append(name)
    restored = pickle.loads(pickle.dumps(Fast.from_pretrained(TINY_VOCAB_DIR)))
    if given_tables[-1] is not restored._core:
        missing.append("unpickling")
    assert missing == []


def test_added_tokens_json_with_ids_beyond_32_bits_loads_alike(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_bytes(TINY_VOCAB)
    (tmp_path / "merges.txt").write_bytes(TINY_MERGES)
    (tmp_path / "added_tokens.json").write_text(json.dumps({"xyz": 2**40, "big": 2**32}))

    def load_and_use(cls: type) -> Any:
        tok = cls.from_pretrained(tmp_path)
        return tok.encode("adapt xyz big"), tok.decode([2**40, 1, 2**32])

    assert outcome(load_and_use, Fast) == outcome(load_and_use, Pure)


# == 9. numpy tensors ========================================================================


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (["hello there", "a"], {"padding": True}),
        (["hello there, how are you?", "a", ""], {"padding": "max_length", "max_length": 9}),
        (["hello there", "a b c d"], {"padding": True, "truncation": True, "max_length": 3}),
        (["hello there", "a"], {"padding": True, "pad_to_multiple_of": 4, "padding_side": "left"}),
        (["hello there", "a"], {"padding": True, "return_special_tokens_mask": True}),
        (["hello there", "a"], {"padding": True, "return_length": True}),
        (["hello there", "a"], {}),  # ragged: an object array of rows
        (["", ""], {"padding": True}),
        (["x"] * 70, {"padding": True}),
        ("hello there", {}),
        ("", {}),
        ("hello there", {"padding": "max_length", "max_length": 6}),
        ("x__null__y \ud800", {"truncation": True, "max_length": 2}),
    ],
)
def test_numpy_tensors_identical(
    sample_pair: tuple[Pure, Fast], text: Any, options: dict[str, Any]
) -> None:
    pure, fast = sample_pair
    assert_alike(lambda tok: tok(text, return_tensors="np", **options), pure, fast)
    assert_alike(lambda tok: tok(text, text, return_tensors="np", **options), pure, fast)


# == mismatches found while writing these tests, each as its own law =======================


def test_decode_of_a_single_id_skips_special_tokens_alike(tiny_pair: tuple[Pure, Fast]) -> None:
    pure, fast = tiny_pair
    for index in (0, 1, 5, 6, 99):
        assert_alike(lambda tok, i=index: tok.decode(i, skip_special_tokens=True), pure, fast)
        assert_alike(
            lambda tok, i=index: tok.decode(np.int64(i), skip_special_tokens=True), pure, fast
        )


@pytest.mark.parametrize("index", [2**63, 2**64, 2**70, -(2**63) - 1, -(2**64)])
def test_ids_beyond_64_bits_convert_and_decode_alike(
    tiny_pair: tuple[Pure, Fast], index: int
) -> None:
    pure, fast = tiny_pair
    assert_alike(lambda tok: tok.convert_ids_to_tokens(index), pure, fast)
    assert_alike(lambda tok: tok.convert_ids_to_tokens([1, index]), pure, fast)
    assert_alike(lambda tok: tok.decode([1, index]), pure, fast)
    assert_alike(lambda tok: tok.decode([1, index], skip_special_tokens=True), pure, fast)


def test_unknown_token_without_an_id_raises_the_same_error() -> None:
    def encode_unknown_word(cls: type) -> Any:
        tok = cls.from_pretrained(TINY_VOCAB_DIR)
        tok.unk_token = "zzz"  # set by name only: not added, not in the vocabulary
        return tok.encode("qqq")

    assert outcome(encode_unknown_word, Fast) == outcome(encode_unknown_word, Pure)


def test_decode_of_an_id_shared_by_two_added_tokens(tmp_path: Path) -> None:
    # With a hole in the ids, __null__ is appended at an id that "b" already has; adding "b"
    # and then __null__ again leaves two added tokens on that id, the later one decoding it.
    (tmp_path / "vocab.json").write_text('{"a": 0, "b": 5}')
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n")

    def add_and_decode(cls: type) -> Any:
        tok = cls(tmp_path / "vocab.json", tmp_path / "merges.txt")
        tok.add_tokens(["b"])
        tok.add_tokens([AddedToken("__null__")])
        return tok.convert_ids_to_tokens([5]), tok.decode([5]), tok.encode("b __null__")

    assert outcome(add_and_decode, Fast) == outcome(add_and_decode, Pure)


def test_decode_of_ids_that_share_one_added_token() -> None:
    # A configuration (tokenizer_config.json's added_tokens_decoder) may give one token two ids:
    # decoding either id gives the token.
    def load_and_decode(cls: type) -> Any:
        tok = cls(
            Path(TINY_VOCAB_DIR, "vocab.json"),
            Path(TINY_VOCAB_DIR, "merges.txt"),
            added_tokens_decoder={20: AddedToken("x"), 21: AddedToken("x")},
        )
        return tok.convert_ids_to_tokens([20, 21]), tok.decode([20, 21]), tok.encode("x")

    assert outcome(load_and_decode, Fast) == outcome(load_and_decode, Pure)


def test_get_vocab_keeps_the_pure_tokenizers_order(tiny_pair: tuple[Pure, Fast]) -> None:
    pure, fast = tiny_pair
    assert list(fast.get_vocab().items()) == list(pure.get_vocab().items())


@pytest.mark.parametrize(
    "names",
    [
        ["input_ids", "token_type_ids", "attention_mask"],
        ["token_type_ids", "input_ids"],
        ["attention_mask", "input_ids"],
        ["input_ids"],
    ],
)
@pytest.mark.parametrize(
    "options", [{}, {"padding": True, "return_tensors": "np"}], ids=["lists", "numpy"]
)
def test_batch_calls_follow_model_input_names(names: list[str], options: dict[str, Any]) -> None:
    def call(cls: type) -> Any:
        tok = cls.from_pretrained(TINY_VOCAB_DIR, model_input_names=names)
        return tok(["adapt act", "apte"], **options), tok(["act", "apte x"], **options)

    assert outcome(call, Fast) == outcome(call, Pure)


@pytest.mark.parametrize(
    "options", [{}, {"padding": True, "return_tensors": "np"}], ids=["lists", "numpy"]
)
def test_too_long_sequences_are_logged_alike(
    caplog: pytest.LogCaptureFixture, options: dict[str, Any]
) -> None:
    logged = {}
    for cls in (Pure, Fast):
        tok = cls.from_pretrained(TINY_VOCAB_DIR, model_max_length=2)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bbtok"):
            tok(["adapt act apte", "act"], **options)
        logged[cls] = [record.getMessage() for record in caplog.records]
    assert logged[Fast] == logged[Pure]


# -- the flat batch ---------------------------------------------------------------------------


@pytest.mark.parametrize("strip_rules", [False, True])
def test_encode_batch_flat_gives_the_ids_of_a_call_one_after_another(strip_rules: bool) -> None:
    fast = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    if strip_rules:
        # lstrip/rstrip rules are cut by the shared layer: the flat batch falls back to it.
        fast.add_tokens([AddedToken("<l>", lstrip=True)])
    texts = ["Hello there!", "", "a <l> b", "How are you doing today?"]
    flat, counts = fast.encode_batch_flat(texts)
    ids = np.frombuffer(flat, dtype=np.uint32).tolist()
    rows = fast(texts)["input_ids"]
    assert counts == [len(row) for row in rows]
    assert ids == [i for row in rows for i in row]
    assert fast.encode_batch_flat([]) == (b"", [])
