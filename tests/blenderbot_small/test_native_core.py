"""The Rust extension (``bbtok._native``) on its own: it reads ``vocab.json`` and
``merges.txt`` with the pure-Python readers' errors and warnings word for word (so the fast
tokenizer never parses a file twice), it knows no family's special tokens, and it takes any
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
from bbtok.tokenization import vocabulary_files

from conftest import TINY_VOCAB_DIR

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


def test_the_core_knows_no_special_tokens() -> None:
    # The family's special tokens come from the Python layer: the core alone has none.
    core = _native.NativeTokenizer.from_files(
        str(TINY_VOCAB_DIR / "vocab.json"), str(TINY_VOCAB_DIR / "merges.txt"), "v", "m"
    )
    assert core.vocab_id("__null__") is None
    with pytest.raises(ValueError, match="no unk_token"):
        core.encode("__null__")
    assert core.encode("adapt act apte") == [1, 2, 3, 4]


def test_lone_surrogates_cross_into_the_core() -> None:
    pure, fast = Pure.from_pretrained(TINY_VOCAB_DIR), Fast.from_pretrained(TINY_VOCAB_DIR)
    for text in ["\ud800", "a\udfff act", "x\ud83d\ude00\ud800y"]:
        assert fast.encode(text) == pure.encode(text)
        assert fast.tokenize(text) == pure.tokenize(text)
    fast.add_tokens(["\udc00z"])
    pure.add_tokens(["\udc00z"])
    assert fast.encode("a\udc00zb") == pure.encode("a\udc00zb")
