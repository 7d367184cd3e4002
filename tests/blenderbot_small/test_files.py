"""Bad files and arguments: what loading and saving a tokenizer directory does when it goes wrong.

Expected values come from the reference (transformers' ``BlenderbotSmallTokenizer``, built from the
same files with its constructor, so that nothing is ever looked up on a model hub) or from the
docs/reference-behaviour.md. Where the reference crashes late or loses data silently,
the spec asks for a clear error at once or a warning, and that is what these tests check.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer

from conftest import TOKENIZER_DIRS, reference_class

VOCAB = {
    "__start__": 0,
    "__end__": 1,
    "__unk__": 2,
    "__null__": 3,
    "a": 4,
    "p": 5,
    "t": 6,
    "e": 7,
    "a@@": 8,
    "p@@": 9,
    "t@@": 10,
    "ap@@": 11,
    "ap": 12,
    "apt": 13,
    "te": 14,
    "pt": 15,
    "apte": 16,
    "tap": 17,
}
MERGES = ["a p", "t e</w>", "ap t</w>", "ap te</w>", "t ap</w>", "p t</w>"]
# Words whose tokens show which merges exist and which one ranks first.
PROBE_TEXT = "apt apte tap ap pt te at pa a p t e tapte apapt"


def write_files(directory: Path, vocab: Any = None, merges: Any = None) -> Path:
    """Write vocab.json and merges.txt: bytes as they are, anything else as JSON or text."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = VOCAB if vocab is None else vocab
    if not isinstance(vocab, bytes):
        vocab = json.dumps(vocab, ensure_ascii=False).encode("utf-8")
    if merges is None:
        merges = "#version: 0.2\n" + "".join(line + "\n" for line in MERGES)
    if isinstance(merges, str):
        merges = merges.encode("utf-8")
    (directory / "vocab.json").write_bytes(vocab)
    (directory / "merges.txt").write_bytes(merges)
    return directory


def ours_from(directory: Path) -> BlenderbotSmallTokenizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BlenderbotSmallTokenizer(directory / "vocab.json", directory / "merges.txt")


def reference_from(directory: Path) -> Any:
    return reference_class()(str(directory / "vocab.json"), str(directory / "merges.txt"))


def reference_error(directory: Path) -> BaseException:
    try:
        reference_from(directory)
    except Exception as error:
        return error
    raise AssertionError("the reference accepted these files")


def message_without(error: BaseException, path: Path) -> str:
    """The error's message with the path taken out, so that numbers in the path do not count."""
    message = str(error)
    assert str(path) in message, f"the message does not name {path}: {message!r}"
    return message.replace(str(path), "<path>")


def saved_bytes(tokenizer: Any, directory: Path, prefix: str | None = None) -> dict[str, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = tokenizer.save_vocabulary(str(directory), filename_prefix=prefix)
    return {os.path.basename(path): Path(path).read_bytes() for path in paths}


def assert_same_as_reference(directory: Path, tmp_path: Path) -> None:
    """Ours and the reference tokenize alike and save the same bytes from these files."""
    ours, reference = ours_from(directory), reference_from(directory)
    assert ours.bpe_ranks == reference.bpe_ranks
    assert ours.tokenize(PROBE_TEXT) == reference.tokenize(PROBE_TEXT)
    assert ours(PROBE_TEXT)["input_ids"] == reference(PROBE_TEXT)["input_ids"]
    assert saved_bytes(ours, tmp_path / "saved-ours") == saved_bytes(
        reference, tmp_path / "saved-reference"
    )


def leftover_files(directory: Path, expected: set[str]) -> set[str]:
    return set(os.listdir(directory)) - expected


# -- missing files ----------------------------------------------------------------------------


def test_missing_vocab_file_raises_file_not_found_naming_the_path(tmp_path: Path) -> None:
    write_files(tmp_path)
    (tmp_path / "vocab.json").unlink()
    with pytest.raises(FileNotFoundError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert str(tmp_path / "vocab.json") in f"{caught.value} {caught.value.filename}"


def test_missing_merges_file_raises_file_not_found_naming_the_path(tmp_path: Path) -> None:
    write_files(tmp_path)
    (tmp_path / "merges.txt").unlink()
    with pytest.raises(FileNotFoundError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert str(tmp_path / "merges.txt") in f"{caught.value} {caught.value.filename}"


@pytest.mark.parametrize("missing", ["vocab.json", "merges.txt"])
def test_from_pretrained_on_a_directory_missing_a_file_names_it(
    tmp_path: Path, missing: str
) -> None:
    write_files(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(FileNotFoundError) as caught:
        BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    assert str(tmp_path / missing) in f"{caught.value} {caught.value.filename}"


# -- vocab.json that is not a vocabulary ------------------------------------------------------

# (file bytes, line, column) of the first syntax error, in characters as json reports them.
INVALID_JSON = {
    "missing colon": (b'{\n  "a": 0,\n  "b" 1\n}', 3, 7),
    "CRLF line ends": (b'{\r\n  "a": 0,\r\n  "b" 1\r\n}', 3, 7),
    "lone CR line ends": (b'{\r  "a": 0,\r  "b" 1\r}', 3, 7),
    "columns count characters": ('{"\u00e9\u00e9\u00e9": 0, "b": }'.encode(), 1, 17),
    "trailing comma": (b'{"a": 0,\n}', 2, 1),
    "truncated": (b'{"a": 0, "b": 1', 1, 16),
    "empty file": (b"", 1, 1),
}


@pytest.mark.parametrize("case", sorted(INVALID_JSON))
def test_invalid_json_raises_value_error_naming_file_line_and_column(
    tmp_path: Path, case: str
) -> None:
    content, line, column = INVALID_JSON[case]
    write_files(tmp_path, vocab=content)
    reference = reference_error(tmp_path)
    assert isinstance(reference, json.JSONDecodeError)
    assert (reference.lineno, reference.colno) == (line, column)

    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    message = message_without(caught.value, tmp_path / "vocab.json")
    assert re.search(rf"\bline\D{{0,3}}{line}\b", message), message
    assert re.search(rf"\bcolumn\D{{0,3}}{column}\b", message), message


@pytest.mark.parametrize("content", ["[1, 2]", '"vocab"', "42", "null", "true"])
def test_vocabulary_that_is_not_a_json_object_is_a_value_error_naming_the_file(
    tmp_path: Path, content: str
) -> None:
    write_files(tmp_path, vocab=content.encode())
    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    message_without(caught.value, tmp_path / "vocab.json")


@pytest.mark.parametrize(
    "bad_id", [-1, 1.0, 2.5, "3", True, False, None, [1]], ids=lambda v: repr(v)
)
def test_an_id_that_is_not_a_non_negative_integer_is_a_value_error_naming_the_token(
    tmp_path: Path, bad_id: Any
) -> None:
    write_files(tmp_path, vocab={"a": 0, "wrongly_numbered": bad_id, "p": 5})
    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert "wrongly_numbered" in message_without(caught.value, tmp_path / "vocab.json")


def test_two_tokens_on_one_id_is_a_value_error_naming_the_tokens(tmp_path: Path) -> None:
    write_files(tmp_path, vocab={"a": 0, "first_owner": 7, "p": 1, "second_owner": 7})
    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    message = message_without(caught.value, tmp_path / "vocab.json")
    assert "second_owner" in message
    assert "first_owner" in message


DUPLICATE_KEYS = {
    "later id wins": b'{"a": 0, "p": 1, "a": 2}',
    "earlier id freed for another token": b'{"a": 0, "b": 1, "a": 2, "c": 0}',
    "same id twice": b'{"a": 0, "a": 0}',
}


@pytest.mark.parametrize("case", sorted(DUPLICATE_KEYS))
def test_a_token_listed_twice_keeps_its_last_id_like_the_reference(
    tmp_path: Path, case: str
) -> None:
    write_files(tmp_path, vocab=DUPLICATE_KEYS[case])
    ours, reference = ours_from(tmp_path), reference_from(tmp_path)
    assert ours.encoder == reference.encoder
    assert ours.get_vocab() == reference.get_vocab()
    assert ours.convert_ids_to_tokens(list(range(6))) == reference.convert_ids_to_tokens(
        list(range(6))
    )


def test_a_token_listed_twice_with_different_ids_warns(tmp_path: Path) -> None:
    write_files(tmp_path, vocab=DUPLICATE_KEYS["later id wins"])
    with pytest.warns(UserWarning, match="vocab.json"):
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")


def test_a_large_id_is_accepted(tmp_path: Path) -> None:
    # Ids need not be dense: the reference accepts holes, and so do we.
    write_files(tmp_path, vocab={**VOCAB, "zzz": 10**6})
    assert ours_from(tmp_path).convert_tokens_to_ids("zzz") == 10**6
    assert reference_from(tmp_path).convert_tokens_to_ids("zzz") == 10**6


# -- bytes that are not UTF-8 -----------------------------------------------------------------

# (file bytes, offset of the first byte that is not valid UTF-8)
INVALID_UTF8 = {
    "invalid start byte": (b'{"a\xff": 0}', 3),
    "after multi-byte characters": ('{"\u00e9\u20ac\U0001f600'.encode() + b'\xfe": 0}', 11),
    "bad continuation": (b'{"ab\xc3(": 0}', 4),
    "encoded surrogate": (b'{"a": 0, "\xed\xa0\x80": 1}', 10),
    "overlong encoding": (b'{"a": 0, "\xc0\xaf": 1}', 10),
    "truncated at the end": (b'{"a": 0}\xe2\x82', 8),
}


@pytest.mark.parametrize("case", sorted(INVALID_UTF8))
def test_invalid_utf8_in_vocab_names_the_file_and_byte_offset(tmp_path: Path, case: str) -> None:
    content, offset = INVALID_UTF8[case]
    write_files(tmp_path, vocab=content)
    reference = reference_error(tmp_path)
    assert isinstance(reference, UnicodeDecodeError)
    assert reference.start == offset

    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    message = message_without(caught.value, tmp_path / "vocab.json")
    assert re.findall(r"\d+", message).count(str(offset)) >= 1, message
    assert re.search(rf"\b{offset}\b", message), message


@pytest.mark.parametrize("case", sorted(INVALID_UTF8))
def test_invalid_utf8_in_merges_names_the_file_and_byte_offset(tmp_path: Path, case: str) -> None:
    bad, offset_in_bad = INVALID_UTF8[case]
    prefix = "#version: 0.2\n\u00e9 p\n".encode()
    write_files(tmp_path, merges=prefix + bad + b"\n")
    offset = len(prefix) + offset_in_bad
    reference = reference_error(tmp_path)
    assert isinstance(reference, UnicodeDecodeError)
    assert reference.start == offset

    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    message = message_without(caught.value, tmp_path / "merges.txt")
    assert re.search(rf"\b{offset}\b", message), message


def test_utf8_bom_in_vocab_fails_with_a_value_error_like_the_reference(tmp_path: Path) -> None:
    write_files(tmp_path, vocab=b"\xef\xbb\xbf" + json.dumps(VOCAB).encode())
    reference = reference_error(tmp_path)
    assert isinstance(reference, ValueError)
    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")
    message_without(caught.value, tmp_path / "vocab.json")


def test_utf8_bom_in_merges_goes_with_the_dropped_first_line(tmp_path: Path) -> None:
    merges = "\ufeff#version: 0.2\n" + "".join(line + "\n" for line in MERGES)
    write_files(tmp_path, merges=merges)
    assert_same_as_reference(tmp_path, tmp_path)


# -- merges.txt quirks: accepted like the reference, with a warning where data is lost ---------

HEADER = "#version: 0.2\n"


def merges_file(*lines: str, final_newline: bool = True) -> str:
    return HEADER + "\n".join(lines) + ("\n" if final_newline else "")


def test_merges_without_final_newline_lose_the_last_merge_like_the_reference(
    tmp_path: Path,
) -> None:
    write_files(tmp_path, merges=merges_file("p t</w>", "a p", final_newline=False))
    assert_same_as_reference(tmp_path, tmp_path)
    assert ("a", "p") not in ours_from(tmp_path).bpe_ranks


def test_merges_without_final_newline_warn(tmp_path: Path) -> None:
    write_files(tmp_path, merges=merges_file("p t</w>", "a p", final_newline=False))
    with pytest.warns(UserWarning, match="merges.txt"):
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")


def test_well_formed_merges_do_not_warn(tmp_path: Path) -> None:
    write_files(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")


ODD_LINES = {
    "blank line": ["a p", "", "t e</w>"],
    "white space only": ["a p", " \t ", "t e</w>"],
    "one symbol": ["a", "a p", "t e</w>"],
    "three symbols": ["a p t</w>", "t e</w>", "a p"],
    "two blank lines share a rank": ["", "a p", "", "t e</w>"],
}


@pytest.mark.parametrize("case", sorted(ODD_LINES))
def test_merge_lines_that_are_not_two_symbols_take_a_rank_like_the_reference(
    tmp_path: Path, case: str
) -> None:
    write_files(tmp_path, merges=merges_file(*ODD_LINES[case]))
    assert_same_as_reference(tmp_path, tmp_path)


@pytest.mark.parametrize("case", sorted(ODD_LINES))
def test_merge_lines_that_are_not_two_symbols_warn(tmp_path: Path, case: str) -> None:
    write_files(tmp_path, merges=merges_file(*ODD_LINES[case]))
    with pytest.warns(UserWarning, match="merges.txt"):
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")


def test_first_line_is_dropped_even_when_it_is_a_merge(tmp_path: Path) -> None:
    write_files(tmp_path, merges="a p\nt e</w>\nap t</w>\n")
    assert_same_as_reference(tmp_path, tmp_path)
    assert ("a", "p") not in ours_from(tmp_path).bpe_ranks


def test_first_line_that_is_not_a_version_header_warns(tmp_path: Path) -> None:
    write_files(tmp_path, merges="a p\nt e</w>\nap t</w>\n")
    with pytest.warns(UserWarning, match="merges.txt"):
        BlenderbotSmallTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")


NEWLINE_VARIANTS = {
    "CRLF": HEADER.replace("\n", "\r\n") + "".join(line + "\r\n" for line in MERGES),
    "lone CR": HEADER.replace("\n", "\r") + "".join(line + "\r" for line in MERGES),
    "mixed": "#version: 0.2\r\na p\rt e</w>\nap t</w>\r\n\rap te</w>\r",
    "CR inside a line": HEADER + "a\rp\nt e</w>\n",
    "CRLF, no final newline": HEADER.replace("\n", "\r\n") + "a p\r\nt e</w>",
    "ends with a lone CR": HEADER + "a p\nt e</w>\r",
}


@pytest.mark.parametrize("case", sorted(NEWLINE_VARIANTS))
def test_carriage_returns_in_merges_behave_like_the_reference(tmp_path: Path, case: str) -> None:
    write_files(tmp_path, merges=NEWLINE_VARIANTS[case])
    assert_same_as_reference(tmp_path, tmp_path)


WHITE_SPACE_SEPARATORS = {
    "tab": "\t",
    "several spaces": "   ",
    "no-break space": "\u00a0",
    "ideographic space": "\u3000",
    "next line (not a line break in text mode)": "\x85",
    "line separator (not a line break in text mode)": "\u2028",
    "information separator (str.split white space)": "\x1c",
    "vertical tab": "\x0b",
    "form feed": "\x0c",
}


@pytest.mark.parametrize("case", sorted(WHITE_SPACE_SEPARATORS))
def test_merge_lines_split_on_python_white_space_like_the_reference(
    tmp_path: Path, case: str
) -> None:
    separator = WHITE_SPACE_SEPARATORS[case]
    write_files(tmp_path, merges=merges_file(f" a{separator}p ", f"t{separator}e</w>", "ap t</w>"))
    assert_same_as_reference(tmp_path, tmp_path)


def test_duplicate_merges_keep_the_last_rank_like_the_reference(tmp_path: Path) -> None:
    # ("a", "p") first outranks ("p", "t</w>"), but its repeat ranks below it.
    write_files(tmp_path, merges=merges_file("a p", "p t</w>", "t e</w>", "a p"))
    ours, reference = ours_from(tmp_path), reference_from(tmp_path)
    assert reference.tokenize("apt") == ["a@@", "pt"]
    assert ours.tokenize("apt") == ["a@@", "pt"]
    assert ours.bpe_ranks == reference.bpe_ranks
    assert_same_as_reference(tmp_path, tmp_path)


@pytest.mark.parametrize("content", ["", "#version: 0.2", "#version: 0.2\n", "\n", "a p"])
def test_merges_with_no_merge_lines_behave_like_the_reference(tmp_path: Path, content: str) -> None:
    write_files(tmp_path, merges=content)
    assert_same_as_reference(tmp_path, tmp_path)


# -- from_pretrained on something that is not a directory ------------------------------------


def test_from_pretrained_on_a_file_is_an_os_error(tmp_path: Path) -> None:
    write_files(tmp_path)
    with pytest.raises(OSError) as caught:
        BlenderbotSmallTokenizer.from_pretrained(tmp_path / "vocab.json")
    assert str(tmp_path / "vocab.json") in str(caught.value)


# -- saving never leaves a half-written file -------------------------------------------------

VOCAB_NAMES = {"vocab.json", "merges.txt"}


def previous_save(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A directory holding a saved vocabulary, and the bytes of its files."""
    target = tmp_path / "saved"
    target.mkdir()
    ours_from(write_files(tmp_path / "old")).save_vocabulary(target)
    return target, {name: (target / name).read_bytes() for name in os.listdir(target)}


def different_tokenizer(tmp_path: Path) -> BlenderbotSmallTokenizer:
    return ours_from(
        write_files(tmp_path / "new", vocab={**VOCAB, "new": 99}, merges=merges_file("n e"))
    )


def test_save_vocabulary_whose_rename_fails_leaves_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, before = previous_save(tmp_path)
    tokenizer = different_tokenizer(tmp_path)

    def failing_replace(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    monkeypatch.setattr(os, "rename", failing_replace)
    with pytest.raises(OSError):
        tokenizer.save_vocabulary(target)
    monkeypatch.undo()
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before


def test_save_vocabulary_failing_on_the_second_file_leaves_no_mixed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, before = previous_save(tmp_path)
    tokenizer = different_tokenizer(tmp_path)
    after = saved_bytes(tokenizer, tmp_path / "expected")
    real_replace = os.replace
    calls = []

    def replace_once(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) > 1:
            raise OSError(28, "No space left on device (simulated)")
        real_replace(*args, **kwargs)

    monkeypatch.setattr(os, "replace", replace_once)
    with pytest.raises(OSError):
        tokenizer.save_vocabulary(target)
    monkeypatch.undo()
    assert set(os.listdir(target)) == VOCAB_NAMES
    for name in VOCAB_NAMES:
        assert (target / name).read_bytes() in (before[name], after[name])


class _FailingWriter:
    """A binary or text file that writes half of what it is given, then fails."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def write(self, data: Any) -> int:
        self._handle.write(data[: max(1, len(data) // 2)])
        self._handle.flush()
        raise OSError(28, "No space left on device (simulated)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FailingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def _fail_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open, real_fdopen = builtins.open, os.fdopen

    def is_write(mode: str) -> bool:
        return any(flag in mode for flag in "wax+")

    def failing_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        return _FailingWriter(handle) if is_write(mode) else handle

    def failing_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return _FailingWriter(handle) if is_write(mode) else handle

    monkeypatch.setattr(builtins, "open", failing_open)
    monkeypatch.setattr(os, "fdopen", failing_fdopen)


def test_save_vocabulary_whose_write_fails_midway_leaves_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, before = previous_save(tmp_path)
    tokenizer = different_tokenizer(tmp_path)
    _fail_writes(monkeypatch)
    with pytest.raises(OSError):
        tokenizer.save_vocabulary(target)
    monkeypatch.undo()
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before


def test_a_token_with_a_lone_surrogate_is_refused_when_loading(tmp_path: Path) -> None:
    # A JSON escape can put a lone surrogate in a token. The reference loads it and fails only
    # when saving (UnicodeEncodeError); we refuse the file at once, naming file and token.
    vocab = json.dumps({**VOCAB, "\ud800": 99}).encode()
    assert b"\\ud800" in vocab
    directory = write_files(tmp_path / "surrogate", vocab=vocab)
    with pytest.raises(ValueError) as caught:
        ours_from(directory)
    assert "surrogate" in message_without(caught.value, directory / "vocab.json")
    (tmp_path / "reference").mkdir()
    with pytest.raises(UnicodeEncodeError):
        reference_from(directory).save_vocabulary(str(tmp_path / "reference"))


def test_an_id_beyond_two_to_the_31_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, vocab={**VOCAB, "huge_id": 2**31})
    with pytest.raises(ValueError) as caught:
        ours_from(tmp_path)
    assert "huge_id" in message_without(caught.value, tmp_path / "vocab.json")
    write_files(tmp_path, vocab={**VOCAB, "largest_id": 2**31 - 1})
    assert ours_from(tmp_path).convert_tokens_to_ids("largest_id") == 2**31 - 1


def pretrained_save(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    target = tmp_path / "pretrained"
    tokenizer = ours_from(write_files(tmp_path / "old"))
    tokenizer.add_tokens(["<old>"])
    tokenizer.save_pretrained(target)
    return target, {name: (target / name).read_bytes() for name in os.listdir(target)}


def test_save_pretrained_with_an_unencodable_added_token_leaves_the_previous_files(
    tmp_path: Path,
) -> None:
    target, before = pretrained_save(tmp_path)
    tokenizer = ours_from(write_files(tmp_path / "new"))
    tokenizer.add_tokens(["<new \ud800>"])
    with pytest.raises(ValueError):
        tokenizer.save_pretrained(target)
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before


def test_save_pretrained_whose_rename_fails_leaves_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, before = pretrained_save(tmp_path)
    tokenizer = different_tokenizer(tmp_path)
    tokenizer.add_tokens(["<new>"])

    def failing_replace(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    monkeypatch.setattr(os, "rename", failing_replace)
    with pytest.raises(OSError):
        tokenizer.save_pretrained(target)
    monkeypatch.undo()
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before


def test_save_pretrained_whose_write_fails_midway_leaves_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, before = pretrained_save(tmp_path)
    tokenizer = different_tokenizer(tmp_path)
    tokenizer.add_tokens(["<new>"])
    _fail_writes(monkeypatch)
    with pytest.raises(OSError):
        tokenizer.save_pretrained(target)
    monkeypatch.undo()
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before


def test_save_pretrained_into_a_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_bytes(b"keep me")
    tokenizer = ours_from(write_files(tmp_path / "files"))
    with pytest.raises((OSError, ValueError)):
        tokenizer.save_pretrained(target)
    assert target.read_bytes() == b"keep me"
    assert leftover_files(tmp_path, {"a-file", "files"}) == set()


def test_save_vocabulary_into_a_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_bytes(b"keep me")
    tokenizer = ours_from(write_files(tmp_path / "files"))
    with pytest.raises((OSError, ValueError)):
        tokenizer.save_vocabulary(target)
    assert target.read_bytes() == b"keep me"


# -- save_vocabulary writes what the reference writes ----------------------------------------


@pytest.mark.parametrize("prefix", [None, "", "my-model"])
@pytest.mark.parametrize("name", sorted(TOKENIZER_DIRS))
def test_save_vocabulary_bytes_and_paths_match_the_reference(
    tmp_path: Path, name: str, prefix: str | None
) -> None:
    directory = TOKENIZER_DIRS[name]
    ours = BlenderbotSmallTokenizer.from_pretrained(directory)
    reference = reference_from(directory)
    (tmp_path / "ours").mkdir()
    (tmp_path / "reference").mkdir()
    ours_paths = ours.save_vocabulary(str(tmp_path / "ours"), filename_prefix=prefix)
    reference_paths = reference.save_vocabulary(str(tmp_path / "reference"), filename_prefix=prefix)
    assert [os.path.relpath(p, tmp_path / "ours") for p in ours_paths] == [
        os.path.relpath(p, tmp_path / "reference") for p in reference_paths
    ]
    assert sorted(os.listdir(tmp_path / "ours")) == sorted(os.listdir(tmp_path / "reference"))
    for ours_path, reference_path in zip(ours_paths, reference_paths):
        assert Path(ours_path).read_bytes() == Path(reference_path).read_bytes()


def test_save_vocabulary_of_unusual_tokens_matches_the_reference(tmp_path: Path) -> None:
    vocab = {
        **VOCAB,
        "caf\u00e9": 20,
        "\u00c9t\u00e9": 21,
        '"quoted"': 22,
        "back\\slash": 23,
        "tab\there": 24,
        "line\u2028sep": 25,
        "\U0001f600": 26,
        "\x00nul": 27,
        "\x7f": 28,
        "Z": 29,
        "\ufeff": 30,
    }
    write_files(tmp_path / "files", vocab=vocab)
    ours, reference = ours_from(tmp_path / "files"), reference_from(tmp_path / "files")
    assert saved_bytes(ours, tmp_path / "ours") == saved_bytes(reference, tmp_path / "reference")


QUIRKY_MERGES = {
    "no final newline": merges_file("a p", "t e</w>", "ap t</w>", final_newline=False),
    "odd lines": merges_file("a p", "", "x", "a b c", "t e</w>"),
    "duplicates": merges_file("a p", "p t</w>", "a p", "t e</w>", "p t</w>"),
    "not a header": "a p\nt e</w>\n",
    "CRLF": "#version: 0.2\r\na p\r\nt e</w>\r\n",
    "tabs and extra spaces": merges_file("  a\tp  ", "t   e</w>"),
    "non-ASCII symbols": merges_file("\u00e9 t</w>", "\u00e9t\u00e9 s</w>", "\U0001f600 a"),
}


@pytest.mark.parametrize("case", sorted(QUIRKY_MERGES))
def test_save_vocabulary_after_quirky_merges_matches_the_reference(
    tmp_path: Path, case: str
) -> None:
    write_files(tmp_path / "files", merges=QUIRKY_MERGES[case])
    ours, reference = ours_from(tmp_path / "files"), reference_from(tmp_path / "files")
    for prefix in (None, "p"):
        assert saved_bytes(ours, tmp_path / "ours", prefix) == saved_bytes(
            reference, tmp_path / "reference", prefix
        )


def test_saved_vocabulary_loads_back_to_the_same_tokenizer(tmp_path: Path) -> None:
    write_files(tmp_path / "files", merges=QUIRKY_MERGES["duplicates"])
    ours = ours_from(tmp_path / "files")
    ours.save_vocabulary(tmp_path / "files")
    again = BlenderbotSmallTokenizer(tmp_path / "files/vocab.json", tmp_path / "files/merges.txt")
    assert again.tokenize(PROBE_TEXT) == ours.tokenize(PROBE_TEXT)
    assert again.get_vocab() == ours.get_vocab()
