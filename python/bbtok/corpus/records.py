"""The inputs of ``bbtok encode``, cut into batches of records.

Records: a ``txt`` input has one record a line (split on ``"\\n"`` only, so ``"\\x85"`` or
``"\\u2028"`` stay inside their record; a ``"\\r"`` before the ``"\\n"`` is dropped too); a
``jsonl`` input has one JSON object a line, the text in one of its fields, and its blank lines
(JSON white space only) are no records at all. A UTF-8 byte order mark at the start of an input
is not part of its first record. Records are numbered from 0 over all the inputs in order; a
skipped record (``on_error="skip"``) keeps its number, so the parquet output's ``record`` column
still points at the input's records (and, with none skipped, at the output's rows).

Memory stays flat whatever the size of an input: it is read in blocks of whole lines, and a line
longer than ``max_record_bytes`` is a bad record, read past without being held. So is a record the
tokenizer then fails on (:mod:`bbtok.corpus.file_encoder` reports it through
:meth:`RecordReader.bad_record`), each batch carrying every record's input and line.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal

from bbtok.corpus.defaults import DEFAULT_BATCH_SIZE, DEFAULT_MAX_RECORD_BYTES, INPUT_FORMATS

STDIN = "-"
# White space of JSON: a .jsonl line of only these is blank, and no record.
JSON_WHITE_SPACE = " \t\r"
OnError = Literal["fail", "skip"]

# A batch also ends (before DEFAULT_BATCH_SIZE records) at this many bytes of input, so that long
# records keep batches small.
BATCH_BYTES = 4 << 20
# Inputs are read in blocks of about this size, cut at the last line end.
READ_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"
# The most digits of a JSON integer: Python's own limit (sys.get_int_max_str_digits), checked
# here so that a longer one is a bad record with a reason (Python's ValueError tells neither
# where nor that it is a JSON number) and int() never works on it (its time grows with the square
# of the digits where the interpreter sets no limit).
MAX_NUMBER_DIGITS = 4300


class InputError(ValueError):
    """A record that cannot be read; the message starts with ``FILE:LINE:``."""


class _BadRecord(Exception):
    """Why one line is not a record (turned into an :class:`InputError` or a skip)."""


@dataclass(frozen=True)
class Source:
    """One input: a path, or ``"-"`` for standard input, and its format."""

    path: str
    format: str

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == STDIN else self.path


@dataclass
class Batch:
    """Records read, the number of each (0-based over all inputs), the bytes they took, and
    where each is: the name of its input and its line there (from 1)."""

    texts: list[str]
    records: list[int]
    size: int
    inputs: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def where(self, index: int) -> str:
        """``FILE:LINE`` of record ``index`` of the batch."""
        return f"{self.inputs[index]}:{self.lines[index]}"


@dataclass
class Skipped:
    """Records skipped with ``on_error="skip"``: how many, and the reason of the first one in
    the inputs' order (the reader and the tokenizer find bad records in threads of their own)."""

    count: int = 0
    first: str = ""
    _first_record: int = field(default=-1, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def add(self, record: int, reason: str) -> None:
        """Count record number ``record``, skipped for ``reason``."""
        with self._lock:
            if not self.count or record < self._first_record:
                self.first, self._first_record = reason, record
            self.count += 1


def describe_failure(error: BaseException) -> str:
    """An unexpected exception in a few words: its type, and its message when it has one."""
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def check_input(path: str) -> None:
    """Raise the error a run would meet opening input ``path`` (``"-"``: standard input), before
    anything is read or written."""
    if path == STDIN:
        return
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such input file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a text file")


def input_format(path: str, forced: str | None) -> str:
    """The format of an input: ``forced`` if given, else by its extension (stdin: txt)."""
    if forced is not None:
        if forced not in INPUT_FORMATS:
            raise ValueError(f"unknown input format {forced!r} (txt or jsonl)")
        return forced
    if path == STDIN:
        return "txt"
    extension = os.path.splitext(path)[1].lower()
    if extension in (".txt", ".jsonl"):
        return extension[1:]
    raise ValueError(
        f"{path}: cannot tell its format from its name: name it .txt or .jsonl, or pass --format"
    )


def input_size(sources: Sequence[Source]) -> int | None:
    """Total bytes of the inputs, or None when one is not a regular file (stdin, a pipe)."""
    total = 0
    for source in sources:
        if source.path == STDIN:
            return None
        info = os.stat(source.path)
        if not stat.S_ISREG(info.st_mode):
            return None
        total += info.st_size
    return total


@dataclass(frozen=True)
class _LongLine:
    """Bytes of a line longer than the limit, read past without being kept: the first part of
    such a line (``starts``: it counts as a line) as soon as it is seen, then each further part."""

    size: int
    starts: bool


def _blocks(handle: IO[bytes], max_line_bytes: int) -> Iterator[bytes | _LongLine]:
    """The bytes of ``handle`` in blocks of whole lines of about READ_BYTES (the last block may
    end without a line end), and :class:`_LongLine` parts in place of a line that does not fit in
    ``max_line_bytes``: memory stays bounded on an input without line ends (a caller that stops
    at the first _LongLine stops reading there). Lines inside one read, shorter than READ_BYTES,
    are left to the caller to measure."""
    pending: list[bytes] = []  # the start of a line that began in an earlier read
    pending_size = 0
    in_long_line = False
    while chunk := handle.read(READ_BYTES):
        while chunk:
            end = chunk.find(b"\n")
            if in_long_line:
                if end < 0:
                    yield _LongLine(len(chunk), starts=False)
                    break
                yield _LongLine(end + 1, starts=False)
                in_long_line = False
                chunk = chunk[end + 1 :]
                continue
            if pending_size + (len(chunk) if end < 0 else end) > max_line_bytes:
                yield _LongLine(pending_size, starts=True)
                in_long_line = True  # and this chunk is read again as its next part
                pending, pending_size = [], 0
                continue
            if end < 0:
                # Part of a line longer than a read: collected in a list, joined once, so that
                # a long line costs linear time.
                pending.append(chunk)
                pending_size += len(chunk)
                break
            cut = chunk.rfind(b"\n") + 1
            pending.append(chunk[:cut])
            yield b"".join(pending)
            pending, pending_size = [], 0
            chunk = chunk[cut:]
    if pending:
        yield b"".join(pending)


@contextlib.contextmanager
def _open_input(source: Source) -> Iterator[IO[bytes]]:
    """The bytes of an input, unbuffered: blocks are read whole, so a buffer would only copy
    them; and a reader left blocked on a terminal or pipe after Ctrl-C must hold no lock of a
    buffered stdin, or the interpreter aborts when it shuts down and flushes that."""
    if source.path != STDIN:
        with open(source.path, "rb", buffering=0) as handle:
            yield handle
        return
    try:
        descriptor = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an in-memory stream
        yield sys.stdin.buffer
        return
    with open(descriptor, "rb", buffering=0, closefd=False) as handle:
        yield handle


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class RecordReader:
    """Cuts the inputs, in order, into batches of records."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        field: str = "text",
        on_error: OnError = "fail",
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_bytes: int = BATCH_BYTES,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self.sources = list(sources)
        self.field = field
        self.on_error = on_error
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.max_record_bytes = max_record_bytes
        self.skipped = Skipped()
        self._next_record = 0

    def batches(self) -> Iterator[Batch]:
        """The records of every input in order, in batches of at most ``batch_size`` records
        that end once they hold ``batch_bytes`` bytes; a bad record raises :class:`InputError`
        (``on_error="fail"``) or is counted in :attr:`skipped`."""
        pending = Batch([], [], 0)
        for source in self.sources:
            for block in self._read(source):
                pending.texts += block.texts
                pending.records += block.records
                pending.inputs += block.inputs
                pending.lines += block.lines
                pending.size += block.size
                texts = pending.texts
                while len(texts) >= self.batch_size or (texts and pending.size >= self.batch_bytes):
                    count = min(len(texts), self.batch_size)
                    # The bytes are counted with the batch that completes them: the total is
                    # exact, and the progress display needs no more.
                    yield Batch(
                        texts[:count],
                        pending.records[:count],
                        pending.size,
                        pending.inputs[:count],
                        pending.lines[:count],
                    )
                    del texts[:count], pending.records[:count]
                    del pending.inputs[:count], pending.lines[:count]
                    pending.size = 0
        if pending.texts or pending.size:
            yield pending

    def _read(self, source: Source) -> Iterator[Batch]:
        """The records of each block of ``source``, with their numbers and lines, and the
        block's bytes."""
        with _open_input(source) as handle:
            lines_before = 0
            for block in _blocks(handle, self.max_record_bytes):
                if isinstance(block, _LongLine):
                    if block.starts:
                        lines_before += 1
                        self._next_record += 1
                        self._bad(source, lines_before, self._next_record - 1, self._too_long)
                    yield Batch([], [], block.size)
                    continue
                size = len(block)
                if lines_before == 0 and block.startswith(UTF8_BOM):
                    block = block[len(UTF8_BOM) :]
                    if not block:  # a file of nothing but the mark has no record
                        yield Batch([], [], size)
                        continue
                texts, kept, count = self._records(source, block, lines_before)
                first = self._next_record
                self._next_record += count
                if kept is None:
                    numbers = list(range(first, first + count))
                    lines = list(range(lines_before + 1, lines_before + 1 + count))
                else:
                    numbers = [first + position for position, _ in kept]
                    lines = [lines_before + 1 + index for _, index in kept]
                lines_before += block.count(b"\n") + (not block.endswith(b"\n"))
                yield Batch(texts, numbers, size, [source.name] * len(texts), lines)

    @property
    def _too_long(self) -> str:
        return f"record longer than {self.max_record_bytes:,} bytes"

    def _records(
        self, source: Source, block: bytes, lines_before: int
    ) -> tuple[list[str], list[tuple[int, int]] | None, int]:
        """The records of a block of whole lines; the position of each among the block's records
        and its line among the block's lines, from 0 (None: each line is a record, all of them
        kept); and the number of records in the block, bad ones included (every line of a txt
        input, the lines of a jsonl input that are not blank)."""
        if len(block) > self.max_record_bytes and any(
            len(line) > self.max_record_bytes for line in block.split(b"\n")
        ):
            return self._records_line_by_line(source, block, lines_before)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._records_line_by_line(source, block, lines_before)
        if source.format == "txt" and "\r" in text:
            text = text.replace("\r\n", "\n")
        # Split on "\n" only: str.splitlines would also cut at \x85, \u2028, \x1c, ...
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        if source.format == "txt":
            return lines, None, len(lines)
        texts: list[str] = []
        kept: list[tuple[int, int]] = []
        count = 0
        for index, line in enumerate(lines):
            if not line.strip(JSON_WHITE_SPACE):
                continue
            try:
                texts.append(self._json_text(line))
                kept.append((count, index))
            except _BadRecord as problem:
                self._bad(source, lines_before + index + 1, self._next_record + count, str(problem))
            count += 1
        return texts, (None if len(texts) == len(lines) else kept), count

    def _records_line_by_line(
        self, source: Source, block: bytes, lines_before: int
    ) -> tuple[list[str], list[tuple[int, int]], int]:
        """As :meth:`_records`, for a block with invalid UTF-8 or an over-long line: each line on
        its own, so that the first problem in the file is the one reported, wherever it is."""
        raw_lines = block.split(b"\n")
        terminated = len(raw_lines) - 1
        if block.endswith(b"\n"):
            raw_lines.pop()
        texts: list[str] = []
        kept: list[tuple[int, int]] = []
        count = 0
        for index, raw in enumerate(raw_lines):
            if source.format == "jsonl" and not raw.strip(JSON_WHITE_SPACE.encode("ascii")):
                continue
            count += 1
            try:
                if len(raw) > self.max_record_bytes:
                    raise _BadRecord(self._too_long)
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise _BadRecord(
                        f"invalid UTF-8: byte 0x{raw[error.start]:02x} at byte {error.start + 1} "
                        "of the line"
                    ) from None
                if source.format == "jsonl":
                    line = self._json_text(line)
                elif index < terminated and line.endswith("\r"):
                    line = line[:-1]
            except _BadRecord as problem:
                line_number = lines_before + index + 1
                self._bad(source, line_number, self._next_record + count - 1, str(problem))
                continue
            texts.append(line)
            kept.append((count - 1, index))
        return texts, kept, count

    def _json_text(self, line: str) -> str:
        try:
            value = _JSON_DECODER.decode(line)
        except json.JSONDecodeError as error:
            raise _BadRecord(f"invalid JSON: {error.msg} (column {error.colno})") from None
        except RecursionError:
            # Python's JSON parser recurses once per level of nesting.
            raise _BadRecord("JSON nested too deeply") from None
        except _BadRecord:
            raise
        except Exception as error:  # out of memory, or a limit of the interpreter
            raise _BadRecord(f"cannot read its JSON: {describe_failure(error)}") from None
        if not isinstance(value, dict):
            raise _BadRecord(f"expected a JSON object, got {_json_kind(value)}")
        if self.field not in value:
            raise _BadRecord(f"no field {self.field!r}")
        text = value[self.field]
        if not isinstance(text, str):
            raise _BadRecord(f"field {self.field!r} is {_json_kind(text)}, not a string")
        return text

    def _bad(self, source: Source, line: int, record: int, reason: str) -> None:
        self.bad_record(record, f"{source.name}:{line}", reason)

    def bad_record(self, record: int, where: str, reason: str) -> None:
        """Record number ``record``, at ``where`` (``FILE:LINE``), is bad for ``reason``: raise
        :class:`InputError` (``on_error="fail"``) or count it in :attr:`skipped`. Safe to call
        from any thread: the tokenizing stage finds bad records too."""
        message = f"{where}: {reason}"
        if self.on_error == "fail":
            raise InputError(message)
        self.skipped.add(record, message)


def _bounded_int(digits: str) -> int:
    """A JSON integer, refused beyond MAX_NUMBER_DIGITS digits."""
    count = len(digits) - digits.startswith("-")
    if count > MAX_NUMBER_DIGITS:
        raise _BadRecord(f"a number of {count:,} digits (at most {MAX_NUMBER_DIGITS:,} are read)")
    return int(digits)


_JSON_DECODER = json.JSONDecoder(parse_int=_bounded_int)
