"""Reading and writing ``vocab.json`` / ``merges.txt`` exactly as the reference does.

Every reader here accepts what transformers' ``BlenderbotSmallTokenizer`` accepts and gives the
same result; where the reference would crash later with an unhelpful error we raise a clear one
now, and where it silently loses data we say so with a warning.

Every file bbtok reads from a tokenizer or checkpoint directory is opened by :func:`open_regular`
(the Rust core reads through the descriptor it opened): only a regular file is read, so a FIFO
cannot block a load and ``/dev/zero`` cannot fill memory, and files are refused above a size
bound (:data:`MAX_VOCAB_BYTES`, :data:`MAX_CONFIG_BYTES`).

Writers never leave a half-written file behind: :func:`write_file_set` writes and fsyncs a
temporary file beside each target, and renames them only when all are written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO

# One fact in one place: the file names of a tokenizer directory.
VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
MERGES_HEADER = "#version: 0.2"
# Ids index embedding rows; a larger one is a corrupt file (the reference would accept it).
MAX_TOKEN_ID = 2**31 - 1
# Size bounds, far above real files, so that a wrong file is refused before it is read into
# memory. The largest vocab.json and merges.txt of public BPE tokenizers are a few MB (250k
# tokens: about 5 MB), and parsing them takes several times their size in Python objects.
MAX_VOCAB_BYTES = 256 * 2**20
# tokenizer_config.json, special_tokens_map.json, added_tokens.json, config.json,
# generation_config.json: kilobytes, or a few MB for a tokenizer with 100k added tokens.
MAX_CONFIG_BYTES = 64 * 2**20

Merge = tuple[str, ...]
"""One line of ``merges.txt`` split on white space: a pair, or (quirk) any other length."""


def local_directory(path: str | os.PathLike[str], holding: str) -> str:
    """``path`` as a string if it is a directory; else ``FileNotFoundError`` naming it (or
    ``NotADirectoryError`` when it is a file). ``holding`` says what the directory should hold,
    for the message. (``hub.pretrained_directory`` tries a hub model id first.)
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        return name
    if os.path.exists(name):
        raise NotADirectoryError(
            errno.ENOTDIR, f"Expected a directory holding {holding}, found a file", name
        )
    raise FileNotFoundError(
        errno.ENOENT, f"Nothing exists at this path: it is not a directory holding {holding}", name
    )


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# Opening never waits (a FIFO without a writer would block open() itself) and never makes a
# terminal ours; 0 where the platform has no such flag.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _check_regular(path: str, info: os.stat_result, max_bytes: int | None) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Expected a file, found a directory", path)
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "of another kind")
        raise ValueError(f"{path!r} is not a regular file ({kind})")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ValueError(
            f"{path!r} is {info.st_size:,} bytes, more than the {max_bytes:,} bytes bbtok reads "
            "from a file of this kind (real ones are far smaller): is it the right file?"
        )


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str], max_bytes: int | None = None) -> Iterator[BinaryIO]:
    """Open ``path`` for binary reading if it is a regular file of at most ``max_bytes`` bytes.

    The one gate every reader of bbtok's input files goes through. A FIFO, a device or a socket
    is refused with ``ValueError`` (``'<path>' is not a regular file (a FIFO)``) before it is
    opened, and checked again on the opened descriptor, so a path swapped between the two can
    neither block nor be read; a missing file is ``FileNotFoundError`` naming the path.

    >>> with open_regular("/dev/null") as handle:
    ...     pass
    Traceback (most recent call last):
    ...
    ValueError: '/dev/null' is not a regular file (a character device)
    """
    path = os.fspath(path)
    try:
        # Checked before opening: opening some devices acts on them (a tape rewinds).
        _check_regular(path, os.stat(path), max_bytes)
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such file", path) from None
    try:
        _check_regular(path, os.fstat(descriptor), max_bytes)
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle


def descriptor_path(handle: BinaryIO, path: str | os.PathLike[str]) -> str:
    """A path that opens the very file ``handle`` has open, for code that takes a path (the
    Rust core): ``/proc/self/fd/N`` on Linux, ``/dev/fd/N`` on the BSDs and macOS, else
    ``path`` itself (where a path swapped after :func:`open_regular` checked it would be
    followed)."""
    for directory in ("/proc/self/fd", "/dev/fd"):
        candidate = f"{directory}/{handle.fileno()}"
        if os.path.exists(candidate):
            return candidate
    return os.fspath(path)


def read_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes (see :func:`open_regular`)."""
    with open_regular(path, max_bytes) as handle:
        # A file that grew after the check is still read no further than the bound.
        raw = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    if max_bytes is not None and len(raw) > max_bytes:
        raise ValueError(
            f"{os.fspath(path)!r} grew beyond {max_bytes:,} bytes while it was being read"
        )
    return raw


def read_text(path: str | os.PathLike[str], max_bytes: int | None = None) -> str:
    """Read a UTF-8 text file the way Python's text mode does (universal newlines).

    Raises ``FileNotFoundError`` naming the path, ``ValueError`` naming the path when it is not
    a regular file or is larger than ``max_bytes``, and ``ValueError`` naming the path and the
    byte offset of the first byte that is not valid UTF-8.
    """
    path = os.fspath(path)
    raw = read_bytes(path, max_bytes)
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


def read_json(path: str | os.PathLike[str], max_bytes: int | None = MAX_CONFIG_BYTES) -> Any:
    """Parse a JSON file of at most ``max_bytes`` bytes; a syntax error becomes a ``ValueError``
    naming file, line and column."""
    text = read_text(path, max_bytes)
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
    text = read_text(path, MAX_VOCAB_BYTES)
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


def check_vocab(vocab: Mapping[Any, Any], source: str) -> None:
    """What a vocabulary must be, wherever it comes from (a file, a pickle): text tokens, each
    with its own id from 0 to :data:`MAX_TOKEN_ID`. Errors start with ``source``."""
    token_of_id: dict[int, str] = {}
    for token, token_id in vocab.items():
        if not isinstance(token, str):
            raise ValueError(f"{source}: token {token!r} is not a string")
        check_token_id(token, token_id, source)
        if not token.isascii():
            try:
                token.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{source}: token {token!r} holds a lone surrogate (a JSON escape such as "
                    "\\ud800), which is not text"
                ) from None
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
    lines = read_text(path, MAX_VOCAB_BYTES).split("\n")
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


def _write_temporary(path: str, data: bytes) -> str:
    """Write ``data`` to a new temporary file beside ``path`` and fsync it; its name. Nothing is
    left behind when this fails."""
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return temporary


def _fsync_directory(directory: str) -> None:
    """Make the renames in ``directory`` durable; a no-op where directories cannot be opened
    (Windows)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on a directory
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_file_set(contents: Sequence[tuple[str | os.PathLike[str], bytes]]) -> list[str]:
    """Write files that belong together (a tokenizer directory) so that readers see the old set
    or the new one, as far as POSIX allows; the paths written, in order.

    Every file is first written to a temporary file beside its target and fsynced; only when
    all are written are they renamed over the targets, in the order given (put the file that
    says what the others are last), and the directories fsynced. A failure while writing (a
    full disk) removes the temporaries and leaves every old file untouched.

    What remains possible: POSIX renames one file at a time, so a crash, or a rename that
    fails, between two renames leaves the first files new and the rest old, and a reader that
    opens the files during the renames may see such a mix. Each file on its own is always
    whole, old or new.
    """
    targets = [os.fspath(path) for path, _ in contents]
    temporaries: list[str] = []
    try:
        for path, (_, data) in zip(targets, contents):
            temporaries.append(_write_temporary(path, data))
        for index, (temporary, path) in enumerate(zip(temporaries, targets)):
            os.replace(temporary, path)
            temporaries[index] = ""  # renamed: no longer ours to remove
    finally:
        for temporary in temporaries:
            if temporary:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
    for directory in dict.fromkeys(os.path.dirname(os.path.abspath(p)) for p in targets):
        _fsync_directory(directory)
    return targets


def write_atomic(path: str | os.PathLike[str], data: bytes) -> str:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    A crash or an error leaves either the old file or the new one, never a mix.
    """
    return write_file_set([(path, data)])[0]


def json_bytes(obj: Any, what: str) -> bytes:
    """A JSON object as transformers writes it (indent 2, sorted keys, UTF-8); ``what`` names it
    in the error for a lone surrogate."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return encode_utf8(text, what)


def write_json(path: str | os.PathLike[str], obj: Any) -> str:
    """Write a JSON object as transformers does (indent 2, sorted keys, UTF-8), atomically."""
    return write_atomic(path, json_bytes(obj, os.fspath(path)))


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
    vocab_path, merges_path = write_file_set(
        vocab_file_contents(directory, vocab_text, merges, filename_prefix)
    )
    return vocab_path, merges_path


def vocab_file_contents(
    directory: str, vocab_text: str, merges: str, filename_prefix: str | None = None
) -> list[tuple[str, bytes]]:
    """The paths and bytes of ``[PREFIX-]vocab.json`` and ``[PREFIX-]merges.txt``, for
    :func:`write_file_set` (both encoded first, so an unencodable token writes nothing)."""
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    return [
        (os.path.join(directory, prefix + VOCAB_FILE), encode_utf8(vocab_text, "the vocabulary")),
        (os.path.join(directory, prefix + MERGES_FILE), encode_utf8(merges, "the merges")),
    ]
