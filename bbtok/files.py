"""Reading and writing ``vocab.json`` / ``merges.txt`` exactly as the reference does.

Every reader here accepts what transformers' ``BlenderbotSmallTokenizer`` accepts and gives the
same result; where the reference would crash later with an unhelpful error we raise a clear one
now, and where it silently loses data we say so with a warning. Writers never leave a
half-written file behind: they write a temporary file beside the target and rename it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from typing import Any

# One fact in one place: the file names of a tokenizer directory.
VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
MERGES_HEADER = "#version: 0.2"
# Ids index embedding rows; a larger one is a corrupt file (the reference would accept it).
MAX_TOKEN_ID = 2**31 - 1

Merge = tuple[str, ...]
"""One line of ``merges.txt`` split on white space: a pair, or (quirk) any other length."""


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text file the way Python's text mode does (universal newlines).

    Raises ``FileNotFoundError`` naming the path, and ``ValueError`` naming the path and the byte
    offset of the first byte that is not valid UTF-8.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file", path) from None
    except IsADirectoryError:
        raise IsADirectoryError(21, "Expected a file, found a directory", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: invalid UTF-8 at byte offset {error.start} ({error.reason})"
        ) from None
    # The reference opens files in text mode, which turns "\r\n" and a lone "\r" into "\n".
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a syntax error becomes a ``ValueError`` naming file, line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{os.fspath(path)}: invalid JSON at line {error.lineno}, column {error.colno}: "
            f"{error.msg}"
        ) from None


def _warn_duplicate_keys(path: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                warnings.warn(
                    f"{path}: token {key!r} appears twice; the later id {value!r} wins, as in the "
                    "reference",
                    stacklevel=4,
                )
            result[key] = value
        return result

    return hook


def read_vocab(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read ``vocab.json``: a JSON object mapping each token to a distinct non-negative integer.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "vocab.json"
    >>> _ = p.write_text('{"a": 0, "b@@": 1}')
    >>> read_vocab(p)
    {'a': 0, 'b@@': 1}
    """
    path = os.fspath(path)
    text = read_text(path)
    try:
        vocab = json.loads(text, object_pairs_hook=_warn_duplicate_keys(path))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(vocab, dict):
        raise ValueError(
            f"{path}: a vocabulary must be a JSON object of token -> id, found "
            f"{type(vocab).__name__}"
        )
    token_of_id: dict[int, str] = {}
    for token, token_id in vocab.items():
        # bool is an int in Python but not an id.
        if (
            not isinstance(token_id, int)
            or isinstance(token_id, bool)
            or not 0 <= token_id <= MAX_TOKEN_ID
        ):
            raise ValueError(
                f"{path}: token {token!r} has id {token_id!r}; ids must be integers from 0 to "
                f"{MAX_TOKEN_ID}"
            )
        if not token.isascii():
            try:
                token.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{path}: token {token!r} holds a lone surrogate (a JSON escape such as "
                    "\\ud800), which is not text"
                ) from None
        if token_id in token_of_id:
            raise ValueError(
                f"{path}: tokens {token_of_id[token_id]!r} and {token!r} share the id {token_id}"
            )
        token_of_id[token_id] = token
    return vocab


def read_merges(path: str | os.PathLike[str]) -> dict[Merge, int]:
    """Read ``merges.txt`` into merge ranks, with every quirk of the reference.

    The first line is dropped whatever it says (it is normally ``#version: 0.2``). The file is
    split on ``"\\n"`` and the last element dropped: empty when the file ends with a newline,
    otherwise the last merge, which is lost. Each remaining line is split on white space and
    ranked by its index; a line that is not two symbols keeps its rank but can never match, and a
    repeated pair keeps the rank of its last occurrence. We warn where data is lost.
    """
    path = os.fspath(path)
    lines = read_text(path).split("\n")
    if lines and lines[0] and not lines[0].startswith("#version"):
        warnings.warn(
            f"{path}: line 1 ({lines[0][:40]!r}) is not a '#version' header; it is ignored, as in "
            "the reference",
            stacklevel=2,
        )
    if len(lines) > 1 and lines[-1]:
        warnings.warn(
            f"{path}: the file does not end with a newline, so its last line "
            f"({lines[-1][:40]!r}) is ignored, as in the reference",
            stacklevel=2,
        )
    body = lines[1:-1]
    ranks: dict[Merge, int] = {}
    odd_lines: list[int] = []
    for rank, line in enumerate(body):
        merge = tuple(line.split())
        if len(merge) != 2:
            odd_lines.append(rank + 2)
        ranks[merge] = rank
    if odd_lines:
        shown = ", ".join(map(str, odd_lines[:5])) + (", ..." if len(odd_lines) > 5 else "")
        warnings.warn(
            f"{path}: {len(odd_lines)} line(s) are not two symbols (line {shown}); they take "
            "a rank but never match, as in the reference",
            stacklevel=2,
        )
    return ranks


def vocab_json(vocab: Mapping[str, int]) -> str:
    """Serialize a vocabulary byte-for-byte as the reference's ``save_vocabulary`` does."""
    return json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def merges_text(ranks: Mapping[Merge, int]) -> str:
    """Serialize merge ranks as the reference does: header, then one merge a line by rank."""
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    return MERGES_HEADER + "\n" + "".join(" ".join(merge) + "\n" for merge, _ in ordered)


def encode_utf8(text: str, what: str) -> bytes:
    """Encode ``text`` as UTF-8, naming ``what`` if it holds a lone surrogate."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start : error.end]
        raise ValueError(
            f"cannot write {what}: it contains {bad!r}, a lone surrogate that UTF-8 cannot encode"
        ) from None


def write_atomic(path: str | os.PathLike[str], data: bytes) -> str:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    A crash or an error leaves either the old file or the new one, never a mix.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates files readable by the owner only; give the file the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def write_json(path: str | os.PathLike[str], obj: Any) -> str:
    """Write a JSON object as transformers does (indent 2, sorted keys, UTF-8), atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return write_atomic(path, encode_utf8(text, os.fspath(path)))


def save_vocab_files(
    directory: str | os.PathLike[str],
    vocab: Mapping[str, int],
    ranks: Mapping[Merge, int],
    filename_prefix: str | None = None,
) -> tuple[str, str]:
    """Write ``[PREFIX-]vocab.json`` and ``[PREFIX-]merges.txt`` into ``directory``."""
    return save_vocab_texts(directory, vocab_json(vocab), merges_text(ranks), filename_prefix)


def save_vocab_texts(
    directory: str | os.PathLike[str],
    vocab_text: str,
    merges: str,
    filename_prefix: str | None = None,
) -> tuple[str, str]:
    """Write the texts of ``vocab.json`` and ``merges.txt`` into ``directory``.

    Both are encoded before either is written, so an unencodable token leaves the directory
    untouched.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise NotADirectoryError(20, "Vocabulary path should be an existing directory", directory)
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    vocab_path = os.path.join(directory, prefix + VOCAB_FILE)
    merges_path = os.path.join(directory, prefix + MERGES_FILE)
    vocab_bytes = encode_utf8(vocab_text, "the vocabulary")
    merges_bytes = encode_utf8(merges, "the merges")
    write_atomic(vocab_path, vocab_bytes)
    write_atomic(merges_path, merges_bytes)
    return vocab_path, merges_path
