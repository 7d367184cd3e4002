"""The Rust extension (``bbtok._native``) on its own: it reads ``vocab.json`` and
``merges.txt`` with the pure-Python readers' errors and warnings word for word (so the fast
tokenizer never parses a file twice), it is BlenderBot-small's tokenizer on its own (its
special tokens and unknown token set by the Rust builder), and it takes any
Python ``str``, lone surrogates included.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer as Pure
from bbtok import BlenderbotSmallTokenizerFast as Fast
from bbtok import _native
from bbtok.blenderbot_small import tokenizer_fast
from bbtok.tokenization import vocabulary_files

from conftest import SAMPLE_DIR, TINY_VOCAB_DIR

TINY_VOCAB = (TINY_VOCAB_DIR / "vocab.json").read_bytes()
TINY_MERGES = (TINY_VOCAB_DIR / "merges.txt").read_bytes()


def load_native(directory: Path, vocab: bytes, merges: bytes) -> tuple[Any, ...]:
    """("ok" or the exception's type and message, [the warnings' (category, message)])."""
    vocab_path, merges_path = directory / "vocab.json", directory / "merges.txt"
    vocab_path.write_bytes(vocab)
    merges_path.write_bytes(merges)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _native.NativeTokenizer.from_files(
                str(vocab_path), str(merges_path), str(vocab_path), str(merges_path)
            )
            result: Any = "ok"
        except Exception as error:
            result = (type(error), str(error))
    return result, [(w.category, str(w.message)) for w in caught]


def load_pure(directory: Path) -> tuple[Any, ...]:
    """As :func:`load_native`, with the pure-Python readers."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            vocabulary_files.read_vocab(directory / "vocab.json")
            vocabulary_files.read_merges(directory / "merges.txt")
            result: Any = "ok"
        except Exception as error:
            result = (type(error), str(error))
    return result, [(w.category, str(w.message)) for w in caught]


WORDED_BY_THE_CORE = {
    "not an object": (b"null", TINY_MERGES),
    "a string id": (b'{"it\'s": "1"}', TINY_MERGES),
    "a float id": (b'{"a": 1e400}', TINY_MERGES),
    "an id beyond 64 bits": (b'{"a": 18446744073709551616}', TINY_MERGES),
    "a shared id after a repeat": (b'{"a": 0, "b": 1, "a": 1}', TINY_MERGES),
    "a repeat that rescues a bad id": (b'{"a\\n": "x", "b": 1, "a\\n": 0}', TINY_MERGES),
    "invalid UTF-8": (b'{"a": 0, "\xe9": 1}', TINY_MERGES),
    "truncated UTF-8": (b'{"a": 0}\xe2\x82', TINY_MERGES),
    "a non-ASCII token": ('{"日本\\u0085": 0, "b": 0}'.encode(), TINY_MERGES),
    "no header, no final newline, odd lines": (
        TINY_VOCAB,
        "été\u2028 line\nx\ny z w\n" + "q\n" * 6 + "a b",
    ),
    "a long first line": (TINY_VOCAB, "x" * 100 + "\na p\n"),
    "merges not UTF-8": (TINY_VOCAB, b"#version: 0.2\na \xc0\n"),
}


@pytest.mark.parametrize(
    ("vocab", "merges"),
    [pytest.param(v, m, id=name) for name, (v, m) in WORDED_BY_THE_CORE.items()],
)
def test_the_core_raises_and_warns_in_the_pure_readers_words(
    tmp_path: Path, vocab: bytes, merges: bytes | str
) -> None:
    merges_bytes = merges.encode() if isinstance(merges, str) else merges
    native = load_native(tmp_path, vocab, merges_bytes)
    assert native == load_pure(tmp_path)


def test_the_fast_tokenizer_reads_its_files_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Errors and warnings come from the core: the pure-Python readers are never called.
    (tmp_path / "vocab.json").write_bytes(b'{"a": 0, "b": 1, "a": 2}')
    (tmp_path / "merges.txt").write_bytes(b"a b")
    expected = load_pure(tmp_path)[1]

    def refuse(path: object) -> Any:
        raise AssertionError(f"{path} read again in Python")

    monkeypatch.setattr(vocabulary_files, "read_vocab", refuse)
    monkeypatch.setattr(vocabulary_files, "read_merges", refuse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Fast(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert [(w.category, str(w.message)) for w in caught] == expected


def test_json_only_python_can_word_is_left_to_python(tmp_path: Path) -> None:
    for vocab in [b"{", b'{"a": NaN}', b'{"\\ud800": 0}', b'{"a": {"x": 1}}', b"[]"]:
        (tmp_path / "vocab.json").write_bytes(vocab)
        (tmp_path / "merges.txt").write_bytes(TINY_MERGES)
        result, warned = load_native(tmp_path, vocab, TINY_MERGES)
        assert result[0] is _native.JsonForPythonError, vocab
        assert issubclass(_native.JsonForPythonError, ValueError)
        assert warned == []
        # ... and the fast tokenizer raises Python's own words for it.
        with pytest.raises(Exception) as fast_error:
            Fast(tmp_path / "vocab.json", tmp_path / "merges.txt")
        with pytest.raises(Exception) as pure_error:
            Pure(tmp_path / "vocab.json", tmp_path / "merges.txt")
        assert (type(fast_error.value), str(fast_error.value)) == (
            type(pure_error.value),
            str(pure_error.value),
        )


def test_the_core_names_the_files_as_given(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_bytes(b'{"a": -1}')
    (tmp_path / "merges.txt").write_bytes(TINY_MERGES)
    with pytest.raises(ValueError, match=r"^my vocab: token 'a' has id -1;"):
        _native.NativeTokenizer.from_files(
            str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"), "my vocab", "m"
        )


def core_from_files(directory: Path) -> Any:
    return _native.NativeTokenizer.from_files(
        str(directory / "vocab.json"), str(directory / "merges.txt"), "v", "m"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The ids of transformers' BlenderbotSmallTokenizer on the sample checkpoint: special
        # tokens whole at their vocabulary ids, unknown characters as __unk__ (3).
        ("__start__ hi __end__", [1, 4882, 2]),
        ("Hello \u2603 \U0001d518", [10770, 3, 3]),
    ],
)
def test_a_core_read_from_files_encodes_as_the_pure_python_tokenizer(
    text: str, expected: list[int]
) -> None:
    assert Pure.from_pretrained(SAMPLE_DIR).encode(text) == expected
    assert core_from_files(SAMPLE_DIR).encode(text) == expected


def test_a_core_read_from_files_appends_missing_special_tokens_and_maps_unknowns() -> None:
    # The tiny vocabulary lacks __null__: the pure-Python tokenizer appends it at id 7, after
    # the 7 entries, and maps "x" and "y" to __unk__ (6).
    assert Pure.from_pretrained(TINY_VOCAB_DIR).encode("x__null__y") == [6, 7, 6]
    core = core_from_files(TINY_VOCAB_DIR)
    assert core.encode("x__null__y") == [6, 7, 6]
    assert core.unknown() == ("__unk__", 6)
    encoder, decoder, units = core.added_tokens()
    expected = {"__start__": 0, "__end__": 5, "__unk__": 6, "__null__": 7}
    assert (dict(encoder), units) == (expected, [])
    assert dict(decoder) == {index: token for token, index in expected.items()}


def test_the_core_and_the_pure_python_tokenizer_append_special_tokens_alike(
    tmp_path: Path,
) -> None:
    # With a hole in the ids: appended ids count the entries (3), and 5 is taken already.
    (tmp_path / "vocab.json").write_text('{"hi": 0, "__end__": 1, "yo": 5}')
    (tmp_path / "merges.txt").write_text("#version: 0.2\nh i</w>\n")
    for directory in (tmp_path, TINY_VOCAB_DIR, SAMPLE_DIR):
        pure, core = Pure.from_pretrained(directory), core_from_files(directory)
        by_core = dict(core.added_tokens()[1])
        assert by_core == {i: t.content for i, t in pure.added_tokens_decoder.items()}
        assert core.unknown() == (pure.unk_token, pure.unk_token_id)
    assert by_core != {}


class RecordingCore:
    """A core that records the changes the Python layer sends it."""

    def __init__(self, core: Any, sent: list[str]) -> None:
        self._core, self._sent = core, sent

    def __getattr__(self, name: str) -> Any:
        if name.startswith("set_"):
            self._sent.append(name)
        return getattr(self._core, name)


def test_the_fast_tokenizer_sends_the_core_only_special_tokens_a_caller_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []
    load_core = tokenizer_fast._load_core
    monkeypatch.setattr(
        tokenizer_fast, "_load_core", lambda *files: RecordingCore(load_core(*files), sent)
    )
    Fast.from_pretrained(TINY_VOCAB_DIR)
    assert sent == []
    Fast.from_pretrained(TINY_VOCAB_DIR, unk_token="<x>")
    assert sent == ["set_added_tokens", "set_unknown"]


def test_the_fast_tokenizer_hands_the_core_the_special_tokens_its_caller_chose() -> None:
    def encode(cls: type) -> Any:
        tok = cls.from_pretrained(TINY_VOCAB_DIR, unk_token="<x>")
        tok.add_tokens(["apt"])
        return tok.encode("x __unk__ <x> apte __null__ apt"), tok.unk_token_id

    assert encode(Fast) == encode(Pure)


def test_lone_surrogates_cross_into_the_core() -> None:
    pure, fast = Pure.from_pretrained(TINY_VOCAB_DIR), Fast.from_pretrained(TINY_VOCAB_DIR)
    for text in ["\ud800", "a\udfff act", "x\ud83d\ude00\ud800y"]:
        assert fast.encode(text) == pure.encode(text)
        assert fast.tokenize(text) == pure.tokenize(text)
    fast.add_tokens(["\udc00z"])
    pure.add_tokens(["\udc00z"])
    assert fast.encode("a\udc00zb") == pure.encode("a\udc00zb")
