"""Safe file access for everything bbtok reads and writes: tokenizer and checkpoint directories.

Every file bbtok reads from a tokenizer or checkpoint directory is opened by :func:`open_regular`
(the Rust core reads through the descriptor it opened): only a regular file is read, so a FIFO
cannot block a load and ``/dev/zero`` cannot fill memory, and files are refused above a size
bound (:data:`MAX_VOCAB_BYTES`, :data:`MAX_CONFIG_BYTES`).

Writers never leave a half-written file behind: :func:`write_file_set` writes and fsyncs a
temporary file beside each target, and renames them only when all are written.
:func:`write_directory` writes a whole set (a checkpoint, a vocabulary) into a directory that may
hold other files: it replaces only the set's own files, once the new ones are complete.

What the files of a tokenizer hold (``vocab.json``, ``merges.txt``) is read and written by
:mod:`bbtok.tokenization.vocabulary_files`.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import re
import reprlib
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, NoReturn

# Size bounds, far above real files, so that a wrong file is refused before it is read into
# memory. The largest vocab.json and merges.txt of public BPE tokenizers are a few MB (250k
# tokens: about 5 MB), and parsing them takes several times their size in Python objects.
MAX_VOCAB_BYTES = 256 * 2**20
# tokenizer_config.json, special_tokens_map.json, added_tokens.json, config.json,
# generation_config.json: kilobytes, or a few MB for a tokenizer with 100k added tokens.
MAX_CONFIG_BYTES = 64 * 2**20


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
    return decode_text(read_bytes(path, max_bytes), os.fspath(path))


def decode_text(raw: bytes, name: str) -> str:
    """The text of a file's bytes ``raw`` as :func:`read_text` reads it; a ValueError naming
    ``name`` and the offset of the first byte that is not UTF-8.

    >>> decode_text(b"a\\r\\nb", "f.txt")
    'a\\nb'
    """
    try:
        return _decoded(raw)
    except UnicodeDecodeError as error:
        raise ValueError(f"{name}: {_invalid_utf8(error)}") from None


def _invalid_utf8(error: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 at byte offset {error.start} ({error.reason})"


def _decoded(raw: bytes) -> str:
    text = raw.decode("utf-8")
    # The reference opens files in text mode, which turns "\r\n" and a lone "\r" into "\n".
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# Bounds on a JSON document, far beyond real files, so that a hostile one fails with its name
# instead of a bare RecursionError (Python's json recurses once per level) or a conversion of
# a huge integer. Real files nest a few levels (tokenizer.json: 5); 128 is where serde_json,
# which the Rust core and the tokenizers library read JSON with, stops too, and it keeps code
# that walks a parsed value recursively (copy.deepcopy, json.dumps) far from Python's
# recursion limit, which a depth check by catching RecursionError would not.
MAX_JSON_DEPTH = 128
# Python's own default (sys.get_int_max_str_digits), held whatever the process sets: real
# integers are ids and sizes of at most 31 digits (transformers writes int(1e30)).
MAX_JSON_INTEGER_DIGITS = 4300
JsonHook = Callable[..., Any] | None
# The bytes that can change the nesting depth: brackets, and the quotes around strings.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_DEPTH_STEP = [0] * 256
for _byte in b"[{":
    _DEPTH_STEP[_byte] = 1
for _byte in b"]}":
    _DEPTH_STEP[_byte] = -1
# Rounds of removing the innermost pairs at once: real files are empty after a few; a file
# still nested after these is measured bracket by bracket (linear in any file).
_PEELING_ROUNDS = 16
# The JSON tokens that matter to the bounds (a string skipped whole, an unterminated one to
# the end of the text), for finding where a document breaks one.
_BOUND_TOKENS = re.compile(
    r'"(?:[^"\\]|\\.)*"?|[\[{]|[\]}]|-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?', re.DOTALL
)


def _nests_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether a JSON document (UTF-8) may nest arrays and objects more than ``limit`` deep,
    in a few passes of C over its bytes: a file of at most ``limit`` opening brackets cannot
    (nearly every config and vocab.json); else the brackets outside strings are measured.
    Exact for valid JSON; :func:`_bound_broken` then tells where, for invalid JSON too."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:
        # An escaped backslash or quote neither opens nor closes a string.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:  # strings holding brackets: keep what lies between strings
        structure = b"".join(structure.split(b'"')[::2])
    for _ in range(_PEELING_ROUNDS):
        if not structure:
            return False
        structure = structure.replace(b"[]", b"").replace(b"{}", b"")
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, structure)), default=0) > limit


def _bound_broken(text: str, max_digits: int) -> tuple[int, str] | None:
    """The offset and description of the first bracket nested deeper than
    :data:`MAX_JSON_DEPTH`, or integer of more than ``max_digits`` digits, in the order
    Python's json meets them; None when there is none."""
    depth = 0
    for token in _BOUND_TOKENS.finditer(text):
        value = token.group()
        if value in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return token.start(), f"arrays and objects nested more than {MAX_JSON_DEPTH} deep"
        elif value in ("]", "}"):
            depth -= 1
        elif value[0] != '"' and not any(mark in value for mark in ".eE"):
            digits = len(value.lstrip("-"))
            if digits > max_digits:
                return token.start(), f"an integer of {digits:,} digits (at most {max_digits:,})"
    return None


# Error messages quote values read from a file, which a hostile file can make megabytes long.
_QUOTED = reprlib.Repr()
_QUOTED.maxstring = 120
_QUOTED.maxother = 120
_QUOTED.maxlong = 60


def quoted(value: object) -> str:
    """``repr(value)`` cut to about a line, for a message quoting what a file holds.

    >>> quoted("x" * 1000)[:12], len(quoted("x" * 1000))
    ("'xxxxxxxxxxx", 120)
    """
    return _QUOTED.repr(value)


def refuse_json_constant(constant: str) -> NoReturn:
    """``parse_constant`` for :func:`parse_json`: refuse ``NaN`` and ``Infinity``, which
    Python's json reads but JSON (and the Rust readers of the same files) has not."""
    raise ValueError(f"{constant} is not JSON")


def _json_error(source: str, context: str, problem: str) -> ValueError:
    return ValueError(f"{source}: {context}: {problem}" if context else f"{source}: {problem}")


def _raise_if_bound_broken(text: str, source: str, context: str, max_digits: int) -> None:
    broken = _bound_broken(text, max_digits)
    if broken is not None:
        offset, problem = broken
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        raise _json_error(source, context, f"{problem} at line {line}, column {column}")


def parse_json(
    raw: bytes,
    source: str,
    *,
    object_pairs_hook: JsonHook = None,
    parse_int: JsonHook = None,
    parse_constant: JsonHook = None,
    context: str = "",
) -> Any:
    """Parse a UTF-8 JSON document, named ``source`` in messages, with :mod:`json`'s hooks.

    The one JSON reader of bbtok's files: every error is a ``ValueError`` starting with
    ``source`` (then ``context``, when given: what the file failed to be) and naming the line
    and column where known: invalid UTF-8 or JSON, arrays and objects nested more than
    :data:`MAX_JSON_DEPTH` deep, an integer of more than :data:`MAX_JSON_INTEGER_DIGITS` digits
    (or the fewer the process allows), a ``ValueError`` of a hook.

    >>> parse_json(b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}", "deep.json")
    Traceback (most recent call last):
    ...
    ValueError: deep.json: arrays and objects nested more than 128 deep at line 1, column 134
    """
    try:
        text = _decoded(raw)
    except UnicodeDecodeError as error:
        raise _json_error(source, context, _invalid_utf8(error)) from None
    python_digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    max_digits = min(python_digits or MAX_JSON_INTEGER_DIGITS, MAX_JSON_INTEGER_DIGITS)
    # Within Python's own limit int() refuses a longer integer itself (a ValueError, handled
    # below, at no cost to a good file); a process without it has its digit runs looked for.
    unlimited = python_digits != max_digits and re.search(b"[0-9]{%d}" % (max_digits + 1), raw)
    if unlimited or _nests_deeper_than(raw, MAX_JSON_DEPTH):
        _raise_if_bound_broken(text, source, context, max_digits)
    try:
        return json.loads(
            text,
            object_pairs_hook=object_pairs_hook,
            parse_int=parse_int,
            parse_constant=parse_constant,
        )
    except json.JSONDecodeError as error:
        problem = f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        raise _json_error(source, context, problem) from None
    except ValueError as error:
        # int()'s digit limit, or a hook's own refusal.
        _raise_if_bound_broken(text, source, context, max_digits)
        raise _json_error(source, context, str(error)) from None


def read_json(
    path: str | os.PathLike[str],
    max_bytes: int | None = MAX_CONFIG_BYTES,
    *,
    object_pairs_hook: JsonHook = None,
    parse_int: JsonHook = None,
    parse_constant: JsonHook = None,
    context: str = "",
) -> Any:
    """Parse a JSON file of at most ``max_bytes`` bytes with :func:`parse_json` (``json``'s
    hooks passed on): every error a ``ValueError`` naming the file, and the line and column
    where known."""
    return parse_json(
        read_bytes(path, max_bytes),
        os.fspath(path),
        object_pairs_hook=object_pairs_hook,
        parse_int=parse_int,
        parse_constant=parse_constant,
        context=context,
    )


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
        _put_in_place(temporaries, targets)
    finally:
        for temporary in temporaries:
            if temporary:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
    return targets


def _put_in_place(written: list[str], targets: Sequence[str]) -> None:
    """Rename each finished file of ``written`` over its target, in order, then make the renames
    durable. A renamed file's entry in ``written`` becomes ``""``: the caller removes the
    others when a rename fails."""
    for index, (path, target) in enumerate(zip(written, targets)):
        os.replace(path, target)
        written[index] = ""  # renamed: no longer ours to remove
    for directory in dict.fromkeys(os.path.dirname(os.path.abspath(t)) for t in targets):
        _fsync_directory(directory)


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


def check_output_directory(
    output: str | os.PathLike[str],
    overwrite: bool,
    is_member: Callable[[str], bool],
    reads: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse, before any work is done, a directory that :func:`write_directory` may not write
    a set of files into (``is_member(name)`` says which names belong to the set).

    ``FileExistsError`` naming ``output`` when it exists and is not a directory, or is a
    directory holding anything without ``overwrite``; ``IsADirectoryError`` when a member's
    name is taken by a directory there; ``ValueError`` when a member there is one of the files
    ``reads`` names (itself or through a symlink or hard link), which replacing would destroy.
    """
    path = os.fspath(output)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(errno.EEXIST, "The output exists and is not a directory", path)
    if not os.path.isdir(path):
        return
    names = os.listdir(path)
    if names and not overwrite:
        raise FileExistsError(
            errno.EEXIST,
            "The output directory exists and is not empty (pass --overwrite, or overwrite=True, "
            "to replace the files it would write there)",
            path,
        )
    read = {_identity(os.stat(name)) for name in reads if os.path.exists(name)}
    for name in filter(is_member, names):
        member = os.path.join(path, name)
        info = os.lstat(member)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(
                errno.EISDIR, f"The output holds a directory named {name}, a file it writes", member
            )
        if _identity(info) in read:
            raise ValueError(
                f"{member} is a file this run reads, and writing the output would replace it: "
                "write to another directory"
            )


def _identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def write_directory(
    output: str | os.PathLike[str],
    overwrite: bool,
    is_member: Callable[[str], bool],
    write: Callable[[str], Sequence[str]],
) -> list[str]:
    """Write a set of files into directory ``output``: ``write(building)`` writes them into the
    empty directory it is given and returns their names (relative paths: a file may be in a
    folder), in the order to put them in place (the one that says what the others are, last).
    Returns their paths in ``output``. Check ``output`` first with
    :func:`check_output_directory`.

    A new ``output`` is the building directory, made beside it and renamed to it when complete
    (a failure leaves nothing, not even the missing parents it made). Into an existing one (it
    must be empty without ``overwrite``) the files are built in a hidden directory inside it and
    renamed over their namesakes only once all are written; then the members of the old set
    (``is_member``; in a folder, ``"folder/name"``) the new one lacks are removed. Files that
    are not members are never touched.
    """
    path = os.path.abspath(output)
    if not os.path.lexists(path):
        names = _write_new_directory(path, write)
    else:
        check_output_directory(path, overwrite, is_member)  # anything added since the check
        real = os.path.realpath(path)
        building = tempfile.mkdtemp(dir=real, prefix=".bbtok-", suffix=".tmp")
        try:
            names = list(write(building))
            folders = sorted({os.path.dirname(name) for name in names} - {""})
            for folder in folders:
                os.makedirs(os.path.join(real, folder), exist_ok=True)
            written = [os.path.join(building, name) for name in names]
            _put_in_place(written, [os.path.join(real, name) for name in names])
            for name in set(_names_in(real)) - set(names):
                if is_member(name):
                    os.unlink(os.path.join(real, name))
            for folder in reversed(folders):
                os.rmdir(os.path.join(building, folder))
            os.rmdir(building)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _fsync_directory(real)
    return [os.path.join(os.fspath(output), name) for name in names]


def _names_in(directory: str) -> Iterator[str]:
    """The files of ``directory`` and of its folders (one level down, not through a symlink),
    as relative names."""
    for entry in os.scandir(directory):
        if not entry.is_dir(follow_symlinks=False):
            yield entry.name
        elif not entry.name.startswith(".bbtok-"):  # a building directory, ours or another run's
            # A folder this run cannot read holds nothing it wrote.
            inner: list[str] = []
            with contextlib.suppress(OSError), os.scandir(entry.path) as inner_entries:
                inner = [e.name for e in inner_entries if not e.is_dir(follow_symlinks=False)]
            for name in inner:
                yield f"{entry.name}/{name}"


def _write_new_directory(path: str, write: Callable[[str], Sequence[str]]) -> list[str]:
    parent = os.path.dirname(path)
    made = _make_directories(parent)
    try:
        building = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        try:
            names = list(write(building))
            # mkdtemp makes the directory private to its owner; give it the usual mode.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(building, 0o777 & ~umask)
            os.replace(building, path)  # fails if a non-empty one was made since the check
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    except BaseException:
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        raise
    _fsync_directory(parent)
    return names


def _make_directories(path: str) -> list[str]:
    """Make directory ``path`` and its missing parents; the ones made, outermost first."""
    missing: list[str] = []
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    made: list[str] = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
            continue  # made by someone else meanwhile: not ours to remove
        made.append(directory)
    return made
