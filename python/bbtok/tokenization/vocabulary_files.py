"""Reading, checking and writing ``vocab.json`` / ``merges.txt`` exactly as the reference does.

Every reader here accepts what transformers' ``BlenderbotSmallTokenizer`` accepts and gives the
same result; where the reference would crash later with an unhelpful error we raise a clear one
at load time, and where it silently loses data we say so with a warning. The files are opened
through :func:`bbtok.storage.files.open_regular` and written as one set by
:func:`bbtok.storage.files.write_file_set`; their names belong to the tokenizer family (see
:mod:`bbtok.blenderbot_small.family`) and are passed in.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

from bbtok.storage import files

MERGES_HEADER = "#version: 0.2"
# Ids index embedding rows; a larger one is a corrupt file (the reference would accept it).
MAX_TOKEN_ID = 2**31 - 1

Merge = tuple[str, ...]
"""One line of ``merges.txt`` split on white space: a pair, or (quirk) any other length."""

# (vocabulary file, merges file): the names a tokenizer family gives them.
FileNames = tuple[str, str]


def _warn_duplicate_keys(path: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                warnings.warn(
                    f"{path}: token {key!r} appears twice; the later id {value!r} wins, as in the "
                    "reference",
                    stacklevel=5,
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
    return parse_vocab(files.read_bytes(path, files.MAX_VOCAB_BYTES), path)


def parse_vocab(raw: bytes, name: str) -> dict[str, int]:
    """The vocabulary in ``raw``, the bytes of a ``vocab.json`` named ``name`` in errors and
    warnings, read and checked as :func:`read_vocab` reads a file.

    >>> parse_vocab(b'{"a": 0}', "vocab.json")
    {'a': 0}
    """
    path = name
    vocab = files.parse_json(raw, path, object_pairs_hook=_warn_duplicate_keys(path))
    if not isinstance(vocab, dict):
        raise ValueError(
            f"{path}: a vocabulary must be a JSON object of token -> id, found "
            f"{type(vocab).__name__}"
        )
    check_vocab(vocab, path)
    return vocab


def check_token_id(token: object, token_id: object, source: str) -> None:
    """Raise ``ValueError`` (``source: token ... has id ...``) unless ``token_id`` is an integer
    from 0 to :data:`MAX_TOKEN_ID`."""
    # bool is an int in Python but not an id.
    if (
        not isinstance(token_id, int)
        or isinstance(token_id, bool)
        or not 0 <= token_id <= MAX_TOKEN_ID
    ):
        raise ValueError(
            f"{source}: token {token!r} has id {token_id!r}; ids must be integers from 0 to "
            f"{MAX_TOKEN_ID}"
        )


def check_text(token: str, source: str) -> None:
    """Raise ``ValueError`` (``source: token ... holds a lone surrogate``) unless ``token`` is
    text that UTF-8 can encode."""
    if not token.isascii():
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{source}: token {token!r} holds a lone surrogate (a JSON escape such as "
                "\\ud800), which is not text"
            ) from None


def _is_plain_vocab(vocab: Mapping[Any, Any]) -> bool:
    """Whether every token is text UTF-8 can encode and the ids are distinct ints in range: the
    usual vocabulary, checked with a few passes in C rather than a Python call a token."""
    tokens = list(vocab)
    ids = list(vocab.values())
    if not (set(map(type, tokens)) <= {str} and set(map(type, ids)) <= {int}):
        return False
    if ids and not (min(ids) >= 0 and max(ids) <= MAX_TOKEN_ID):
        return False
    if len(set(ids)) != len(ids):
        return False
    text = "".join(tokens)
    if text.isascii():
        return True
    try:
        text.encode("utf-8")  # a lone surrogate stays one when joined: it fails here too
    except UnicodeEncodeError:
        return False
    return True


def check_vocab(vocab: Mapping[Any, Any], source: str) -> None:
    """What a vocabulary must be, wherever it comes from (a file, a pickle): text tokens, each
    with its own id from 0 to :data:`MAX_TOKEN_ID`. Errors start with ``source``."""
    if _is_plain_vocab(vocab):
        return
    # Something is wrong: find the first entry at fault, in the file's order, for the message.
    token_of_id: dict[int, str] = {}
    for token, token_id in vocab.items():
        if not isinstance(token, str):
            raise ValueError(f"{source}: token {token!r} is not a string")
        check_token_id(token, token_id, source)
        check_text(token, source)
        if token_id in token_of_id:
            raise ValueError(
                f"{source}: tokens {token_of_id[token_id]!r} and {token!r} share the id {token_id}"
            )
        token_of_id[token_id] = token


def read_merges(path: str | os.PathLike[str]) -> dict[Merge, int]:
    """Read ``merges.txt`` into merge ranks, with every quirk of the reference.

    The first line is dropped whatever it says (it is normally ``#version: 0.2``). The file is
    split on ``"\\n"`` and the last element dropped: empty when the file ends with a newline,
    otherwise the last merge, which is lost. Each remaining line is split on white space and
    ranked by its index; a line that is not two symbols keeps its rank but can never match, and a
    repeated pair keeps the rank of its last occurrence. We warn where data is lost.
    """
    path = os.fspath(path)
    return parse_merges(files.read_bytes(path, files.MAX_VOCAB_BYTES), path)


def parse_merges(raw: bytes, name: str) -> dict[Merge, int]:
    """The merge ranks in ``raw``, the bytes of a ``merges.txt`` named ``name`` in errors and
    warnings, read as :func:`read_merges` reads a file.

    >>> parse_merges(b"#version: 0.2\\na b\\n", "merges.txt")
    {('a', 'b'): 0}
    """
    path = name
    lines = files.decode_text(raw, path).split("\n")
    if lines and lines[0] and not lines[0].startswith("#version"):
        warnings.warn(
            f"{path}: line 1 ({lines[0][:40]!r}) is not a '#version' header; it is ignored, as in "
            "the reference",
            stacklevel=3,
        )
    if len(lines) > 1 and lines[-1]:
        warnings.warn(
            f"{path}: the file does not end with a newline, so its last line "
            f"({lines[-1][:40]!r}) is ignored, as in the reference",
            stacklevel=3,
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
            stacklevel=3,
        )
    return ranks


def vocab_json(vocab: Mapping[str, int]) -> str:
    """Serialize a vocabulary byte-for-byte as the reference's ``save_vocabulary`` does."""
    return json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def merges_text(ranks: Mapping[Merge, int]) -> str:
    """Serialize merge ranks as the reference does: header, then one merge a line by rank."""
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    return MERGES_HEADER + "\n" + "".join(" ".join(merge) + "\n" for merge, _ in ordered)


def save_vocab_files(
    directory: str | os.PathLike[str],
    vocab: Mapping[str, int],
    ranks: Mapping[Merge, int],
    names: FileNames,
    filename_prefix: str | None = None,
) -> tuple[str, str]:
    """Write ``[PREFIX-]vocab.json`` and ``[PREFIX-]merges.txt`` (``names``) into ``directory``.

    >>> import tempfile
    >>> save_vocab_files(tempfile.mkdtemp(), {"a": 0}, {}, ("v.json", "m.txt"))  # doctest: +SKIP
    ('/tmp/.../v.json', '/tmp/.../m.txt')
    """
    return save_vocab_texts(
        directory, vocab_json(vocab), merges_text(ranks), names, filename_prefix
    )


def save_vocab_texts(
    directory: str | os.PathLike[str],
    vocab_text: str,
    merges: str,
    names: FileNames,
    filename_prefix: str | None = None,
) -> tuple[str, str]:
    """Write the texts of ``vocab.json`` and ``merges.txt`` (``names``) into ``directory``.

    Both are encoded before either is written, so an unencodable token leaves the directory
    untouched.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise NotADirectoryError(20, "Vocabulary path should be an existing directory", directory)
    vocab_path, merges_path = files.write_file_set(
        vocab_file_contents(directory, vocab_text, merges, names, filename_prefix)
    )
    return vocab_path, merges_path


def vocab_file_contents(
    directory: str,
    vocab_text: str,
    merges: str,
    names: FileNames,
    filename_prefix: str | None = None,
) -> list[tuple[str, bytes]]:
    """The paths and bytes of ``[PREFIX-]vocab.json`` and ``[PREFIX-]merges.txt`` (``names``),
    for :func:`~bbtok.storage.files.write_file_set` (both encoded first, so an unencodable token
    writes nothing)."""
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    vocab_name, merges_name = names
    return [
        (
            os.path.join(directory, prefix + vocab_name),
            files.encode_utf8(vocab_text, "the vocabulary"),
        ),
        (os.path.join(directory, prefix + merges_name), files.encode_utf8(merges, "the merges")),
    ]
