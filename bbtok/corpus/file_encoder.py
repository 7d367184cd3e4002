"""The engine of ``bbtok encode``: text files of any size to token ids, streaming.

One thread reads the inputs and cuts them into batches of records, the calling thread tokenizes
each batch with the Rust core (which releases the GIL and runs on ``threads`` cores), and one
thread formats and writes the ids. Bounded queues link the three, so reading, tokenizing and
writing overlap, records keep their order, and memory stays flat whatever the size of the input:
a line longer than ``max_record_bytes`` is a bad record, read past without being held.
A file output is written to a temporary file beside it and renamed over it only when every
record has been written: an error or an interruption (any exception: KeyboardInterrupt, the
command line's SIGTERM) leaves the output as it was. Standard
output (``"-"``), a descriptor (``/dev/stdout``, ``/dev/fd/3``) and anything that is not a
regular file (a FIFO, ``/dev/null``) cannot be renamed over: they are written straight to.

Records: a ``txt`` input has one record a line (split on ``"\\n"`` only, so ``"\\x85"`` or
``"\\u2028"`` stay inside their record; a ``"\\r"`` before the ``"\\n"`` is dropped too); a
``jsonl`` input has one JSON object a line, the text in one of its fields, and its blank lines
(JSON white space only) are no records at all. A UTF-8 byte order mark at the start of an input
is not part of its first record. Records are numbered from 0 over all the inputs in order; a
skipped record (``on_error="skip"``) keeps its number, so the parquet output's ``record`` column
still points at the input's records (and, with none skipped, at the output's rows).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import queue
import re
import stat
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import IO, Any, Generic, Literal, TypeVar

STDIN = "-"
STDOUT = "-"
INPUT_FORMATS = ("txt", "jsonl")
OUTPUT_FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}
# Paths that name an open descriptor of this process rather than a file: a temporary file
# cannot be put beside them and renamed over them, so they are written to as they are.
DESCRIPTOR_PATH = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/(self|\d+)/fd/\d+")
# White space of JSON: a .jsonl line of only these is blank, and no record.
JSON_WHITE_SPACE = " \t\r"
OnError = Literal["fail", "skip"]

# Records per batch: enough for the core's threads to share the work evenly and for the
# per-batch costs (thread hand-offs, one write) to vanish, small enough to keep memory low.
DEFAULT_BATCH_SIZE = 5000
# A batch also ends at this many bytes of input, so that long records keep batches small.
BATCH_BYTES = 4 << 20
# Inputs are read in blocks of about this size, cut at the last line end.
READ_BYTES = 1 << 20
# The longest line kept as a record: far beyond any real text record, and a bound on the memory
# a run needs (a few times this) when an input has no line ends at all (/dev/zero, a binary).
DEFAULT_MAX_RECORD_BYTES = 64 << 20
# Batches waiting between two threads: one being worked on and one ready is enough to keep
# every thread busy; more would only hold more memory.
QUEUE_BATCHES = 2
# How often a thread blocked on a queue looks whether the run was abandoned.
POLL_SECONDS = 0.1
# Parquet row groups: readers work best with large ones; a batch is far too small for one.
ROW_GROUP_ROWS = 100_000
ROW_GROUP_IDS = 8 << 20
# Ids are formatted through a table of their decimal strings (3x faster than str() per id);
# a vocabulary with larger ids gets str() for those.
ID_TABLE_LIMIT = 1 << 18
ID_BYTES = 4  # the core's ids are native uint32
UTF8_BOM = b"\xef\xbb\xbf"
PROGRESS_SECONDS = 0.25
READER_NAME = "bbtok-read"

T = TypeVar("T")


class InputError(ValueError):
    """A record that cannot be read; the message starts with ``FILE:LINE:``."""


class _BadRecord(Exception):
    """Why one line is not a record (turned into an :class:`InputError` or a skip)."""


# -- what flows through the pipeline ----------------------------------------------------------


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
    """Records read, the number of each (0-based over all inputs) and the bytes they took."""

    texts: list[str]
    records: list[int]
    size: int


@dataclass
class Encoded:
    """A batch's ids: all records' ids one after another (native uint32) and each one's count."""

    ids: bytes
    lengths: list[int]
    records: list[int]
    size: int


@dataclass
class Skipped:
    """Records skipped with ``on_error="skip"``: how many, and the first one's reason."""

    count: int = 0
    first: str = ""


@dataclass
class Counters:
    """What has been written so far (read by the progress display while the run goes on)."""

    records: int = 0
    tokens: int = 0
    bytes: int = 0


@dataclass
class Summary:
    """The outcome of a run."""

    output: str
    records: int
    tokens: int
    bytes: int
    seconds: float
    skipped: Skipped = field(default_factory=Skipped)

    def line(self) -> str:
        """``bbtok: 1,200 records, 35,117 tokens, 181.4 kB in 0.21 s (863.8 kB/s) -> ids.jsonl``.

        >>> Summary("ids.jsonl", records=1, tokens=1, bytes=6, seconds=0.004).line()
        'bbtok: 1 record, 1 token, 6 bytes in 0.00 s -> ids.jsonl'
        """
        # The speed of a run shorter than this would be mostly start-up and timer noise.
        rate = f" ({byte_size(self.bytes / self.seconds)}/s)" if self.seconds >= 0.1 else ""
        return (
            f"bbtok: {plural(self.records, 'record')}, {plural(self.tokens, 'token')}, "
            f"{byte_size(self.bytes)} in {_seconds(self.seconds)}{rate} -> {self.output}"
        )


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, in the plural unless ``count`` is 1.

    >>> plural(1, "record"), plural(12000, "record")
    ('1 record', '12,000 records')
    """
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def byte_size(count: float) -> str:
    """A number of bytes, in the decimal unit that keeps it readable (as MB/s is 10**6 B/s).

    >>> byte_size(1), byte_size(999), byte_size(1234), byte_size(56_700_000), byte_size(2e12)
    ('1 byte', '999 bytes', '1.2 kB', '56.7 MB', '2,000.0 GB')
    """
    if round(count) < 1000:
        return plural(round(count), "byte")
    for unit, scale in (("kB", 1e3), ("MB", 1e6)):
        if round(count / scale, 1) < 1000:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1e9:,.1f} GB"


def _seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2f} s"
    return f"{seconds:.1f} s" if seconds < 60 else _duration(seconds)


# -- reading ----------------------------------------------------------------------------------


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


def is_stream(path: str) -> bool:
    """Whether output ``path`` is written to as it is, without a temporary file renamed over it:
    standard output (``"-"``), a descriptor (``/dev/stdout``, ``/dev/fd/N``), or an existing
    file that is not a regular one (a FIFO, a device such as ``/dev/null``)."""
    if path == STDOUT or DESCRIPTOR_PATH.fullmatch(os.path.abspath(path)):
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


def output_format(path: str, forced: str | None) -> str:
    """The format of output ``path``: ``forced`` if given, else by its extension; JSON lines for
    a stream without one (``"-"``, ``/dev/stdout``)."""
    if forced is not None:
        if forced not in OUTPUT_FORMATS.values():
            raise ValueError(f"unknown output format {forced!r} (jsonl or parquet)")
        return forced
    by_extension = OUTPUT_FORMATS.get(os.path.splitext(path)[1].lower())
    if by_extension is not None:
        return by_extension
    if is_stream(path):
        return "jsonl"
    raise ValueError(
        f"{path}: cannot tell the output format from its name: name it .jsonl or .parquet, or "
        "pass --output-format"
    )


def output_name(path: str) -> str:
    return "<stdout>" if path == STDOUT else path


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
        texts: list[str] = []
        records: list[int] = []
        size = 0
        for source in self.sources:
            for block_texts, block_records, block_size in self._read(source):
                texts += block_texts
                records += block_records
                size += block_size
                while len(texts) >= self.batch_size or (texts and size >= self.batch_bytes):
                    count = min(len(texts), self.batch_size)
                    # The bytes are counted with the batch that completes them: the total is
                    # exact, and the progress display needs no more.
                    yield Batch(texts[:count], records[:count], size)
                    del texts[:count], records[:count]
                    size = 0
        if texts or size:
            yield Batch(texts, records, size)

    def _read(self, source: Source) -> Iterator[tuple[list[str], list[int], int]]:
        """(records, their numbers, bytes) of each block of ``source``."""
        with _open_input(source) as handle:
            lines_before = 0
            for block in _blocks(handle, self.max_record_bytes):
                if isinstance(block, _LongLine):
                    if block.starts:
                        lines_before += 1
                        self._next_record += 1
                        self._bad(source, lines_before, self._too_long)
                    yield [], [], block.size
                    continue
                size = len(block)
                if lines_before == 0 and block.startswith(UTF8_BOM):
                    block = block[len(UTF8_BOM) :]
                    if not block:  # a file of nothing but the mark has no record
                        yield [], [], size
                        continue
                texts, positions, count = self._records(source, block, lines_before)
                first = self._next_record
                self._next_record += count
                if positions is None:
                    numbers = list(range(first, first + count))
                else:
                    numbers = [first + position for position in positions]
                lines_before += block.count(b"\n") + (not block.endswith(b"\n"))
                yield texts, numbers, size

    @property
    def _too_long(self) -> str:
        return f"record longer than {self.max_record_bytes:,} bytes"

    def _records(
        self, source: Source, block: bytes, lines_before: int
    ) -> tuple[list[str], list[int] | None, int]:
        """The records of a block of whole lines; the position of each among the block's records
        (None: all of them, in order); and the number of records in the block, bad ones
        included (every line of a txt input, the lines of a jsonl input that are not blank)."""
        if len(block) > self.max_record_bytes and any(
            len(line) > self.max_record_bytes for line in block.split(b"\n")
        ):
            return self._records_line_by_line(source, block, lines_before)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._records_line_by_line(source, block, lines_before)
        if source.format == "txt":
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            # Split on "\n" only: str.splitlines would also cut at \x85, \u2028, \x1c, ...
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            return lines, None, len(lines)
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        texts: list[str] = []
        positions: list[int] = []
        count = 0
        for index, line in enumerate(lines):
            if not line.strip(JSON_WHITE_SPACE):
                continue
            try:
                texts.append(self._json_text(line))
                positions.append(count)
            except _BadRecord as problem:
                self._bad(source, lines_before + index + 1, str(problem))
            count += 1
        return texts, (None if len(texts) == len(lines) else positions), count

    def _records_line_by_line(
        self, source: Source, block: bytes, lines_before: int
    ) -> tuple[list[str], list[int], int]:
        """As :meth:`_records`, for a block with invalid UTF-8 or an over-long line: each line on
        its own, so that the first problem in the file is the one reported, wherever it is."""
        raw_lines = block.split(b"\n")
        terminated = len(raw_lines) - 1
        if block.endswith(b"\n"):
            raw_lines.pop()
        texts: list[str] = []
        positions: list[int] = []
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
                self._bad(source, lines_before + index + 1, str(problem))
                continue
            texts.append(line)
            positions.append(count - 1)
        return texts, positions, count

    def _json_text(self, line: str) -> str:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise _BadRecord(f"invalid JSON: {error.msg} (column {error.colno})") from None
        except RecursionError:
            # Python's JSON parser recurses once per level of nesting.
            raise _BadRecord("JSON nested too deeply") from None
        if not isinstance(value, dict):
            raise _BadRecord(f"expected a JSON object, got {_json_kind(value)}")
        if self.field not in value:
            raise _BadRecord(f"no field {self.field!r}")
        text = value[self.field]
        if not isinstance(text, str):
            raise _BadRecord(f"field {self.field!r} is {_json_kind(text)}, not a string")
        return text

    def _bad(self, source: Source, line: int, reason: str) -> None:
        where = f"{source.name}:{line}: {reason}"
        if self.on_error == "fail":
            raise InputError(where)
        if not self.skipped.count:
            self.skipped.first = where
        self.skipped.count += 1


# -- tokenizing -------------------------------------------------------------------------------


def tokenize_batch(tokenizer: Any, texts: list[str], threads: int) -> tuple[bytes, list[int]]:
    """The ids of ``texts`` as ``tokenizer(texts)["input_ids"]`` gives them: all of them one
    after another (native uint32), and the count of each record."""
    if not texts:
        return b"", []
    if not tokenizer._strip_rules and not tokenizer.split_special_tokens:
        # The core call of tok(texts) itself, minus the Python lists (and attention masks)
        # that this engine would only take apart again.
        flat: tuple[bytes, list[int]] = tokenizer._core.encode_batch_flat(texts, threads)
        return flat
    # Added tokens with lstrip/rstrip rules or split_special_tokens: the shared code path.
    rows: list[list[int]] = tokenizer(texts)["input_ids"]
    ids = array("I", itertools.chain.from_iterable(rows))
    return ids.tobytes(), [len(row) for row in rows]


def truncate(
    ids: bytes, lengths: list[int], max_length: int, from_left: bool = False
) -> tuple[bytes, list[int]]:
    """Keep ``max_length`` ids of each record: the first ones (the last with ``from_left``), as
    ``truncation=True, max_length=max_length`` does."""
    if max(lengths, default=0) <= max_length:
        return ids, lengths
    view = memoryview(ids)
    parts: list[memoryview] = []
    kept: list[int] = []
    start = 0
    for length in lengths:
        keep = min(length, max_length)
        first = start + length - keep if from_left else start
        parts.append(view[first * ID_BYTES : (first + keep) * ID_BYTES])
        kept.append(keep)
        start += length
    return b"".join(parts), kept


# -- writing ----------------------------------------------------------------------------------


class JsonlSink:
    """Writes one ``{"input_ids":[...]}`` line per record: to a new file, or with ``stream``
    straight to standard output (``"-"``) or a path that is not a regular file, each batch
    flushed as it comes so that a reader at the other end of a pipe sees it."""

    def __init__(self, path: str, largest_id: int, *, stream: bool = False) -> None:
        self._table = [str(index) for index in range(min(largest_id + 1, ID_TABLE_LIMIT))]
        self._stream = stream
        self._owned = path != STDOUT
        self._file: IO[bytes]
        if not self._owned:
            sys.stdout.flush()  # anything printed before goes first
            self._file = sys.stdout.buffer
        else:
            # A stream is opened to append: /dev/stdout or /dev/fd/N may be a regular file the
            # shell opened (and truncated, or not: >>) for us, whose content must stay.
            mode = "ab" if stream else "wb"
            self._file = open(path, mode)  # noqa: SIM115 - closed by close() or discard()

    def write(self, encoded: Encoded) -> None:
        view = memoryview(encoded.ids).cast("I")
        try:
            strings = list(map(self._table.__getitem__, view))
        except IndexError:  # an id beyond the table
            strings = list(map(str, view))
        lines: list[str] = []
        start = 0
        for length in encoded.lengths:
            end = start + length
            lines.append('{"input_ids":[' + ",".join(strings[start:end]) + "]}\n")
            start = end
        self._file.write("".join(lines).encode("ascii"))
        if self._stream:
            self._file.flush()

    def close(self) -> None:
        self._file.flush()
        if not self._stream:
            os.fsync(self._file.fileno())  # a pipe or a terminal cannot be synced
        if self._owned:
            self._file.close()

    def discard(self) -> None:
        if self._owned:
            self._file.close()


def load_pyarrow() -> tuple[ModuleType, ModuleType]:
    """pyarrow and pyarrow.parquet, or an error that says how to install them."""
    try:
        # Imported by name: pyarrow is optional, and has no type information anyway.
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError as error:
        raise ValueError(
            f"writing .parquet needs pyarrow, which is not installed ({error}): pip install pyarrow"
        ) from None


class ParquetSink:
    """Writes a parquet file with a ``list<int32>`` column ``input_ids`` and an ``int64``
    column ``record``, in row groups of about ROW_GROUP_ROWS records as batches come."""

    def __init__(self, path: str) -> None:
        self._pa, parquet = load_pyarrow()
        pa = self._pa
        self._path = path
        self._schema = pa.schema(
            [pa.field("input_ids", pa.list_(pa.int32())), pa.field("record", pa.int64())]
        )
        self._writer = parquet.ParquetWriter(path, self._schema)
        self._pending: list[Any] = []
        self._rows = 0
        self._ids = 0

    def write(self, encoded: Encoded) -> None:
        pa = self._pa
        total = len(encoded.ids) // ID_BYTES
        # Ids are below 2**31 (vocab.json is checked for it), so their uint32 bytes are their
        # int32 bytes: the column is built on the core's buffer without converting an id.
        values = pa.Array.from_buffers(pa.int32(), total, [None, pa.py_buffer(encoded.ids)])
        offsets = array("i", itertools.accumulate(encoded.lengths, initial=0))
        rows = len(encoded.lengths)
        offsets_array = pa.Array.from_buffers(pa.int32(), rows + 1, [None, pa.py_buffer(offsets)])
        numbers = array("q", encoded.records)
        records = pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(numbers)])
        ids = pa.ListArray.from_arrays(offsets_array, values, type=self._schema[0].type)
        self._pending.append(pa.RecordBatch.from_arrays([ids, records], schema=self._schema))
        self._rows += rows
        self._ids += total
        if self._rows >= ROW_GROUP_ROWS or self._ids >= ROW_GROUP_IDS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = self._pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=self._rows)
        self._pending, self._rows, self._ids = [], 0, 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
        descriptor = os.open(self._path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def discard(self) -> None:
        self._pending = []
        with contextlib.suppress(Exception):
            self._writer.close()


Sink = JsonlSink | ParquetSink


# -- the pipeline -----------------------------------------------------------------------------


class _Channel(Generic[T]):
    """A bounded queue from one thread to another that either side can abandon: ``put`` and
    ``get`` give up (within POLL_SECONDS) once ``abandon`` was called, instead of waiting
    forever for a thread that stopped."""

    def __init__(self, size: int) -> None:
        self._queue: queue.Queue[T | None] = queue.Queue(size)
        self._abandoned = threading.Event()

    def abandon(self) -> None:
        self._abandoned.set()

    def put(self, item: T | None) -> bool:
        """Queue ``item`` (None: the end); False if the channel was abandoned."""
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def get(self) -> T | None:
        """The next item; None at the end or once the channel is abandoned."""
        while not self._abandoned.is_set():
            try:
                return self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
        return None


class _Worker(threading.Thread):
    """A thread that runs ``work`` and keeps what it raised for the main thread to re-raise."""

    def __init__(self, name: str, work: Callable[[], None]) -> None:
        # Daemon: a reader blocked on a terminal's stdin must not keep the process alive after
        # Ctrl-C.
        super().__init__(name=name, daemon=True)
        self._work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as error:  # handed to the main thread, which re-raises it
            self.error = error


def _produce(reader: RecordReader, channel: _Channel[Batch]) -> None:
    try:
        for batch in reader.batches():
            if not channel.put(batch):
                return
    finally:
        channel.put(None)


def _consume(sink: Sink, channel: _Channel[Encoded], counters: Counters) -> None:
    try:
        while (encoded := channel.get()) is not None:
            sink.write(encoded)
            counters.records += len(encoded.lengths)
            counters.tokens += len(encoded.ids) // ID_BYTES
            counters.bytes += encoded.size
    except BaseException:
        channel.abandon()  # the main thread's next put fails, and it re-raises our error
        raise


def _temporary_beside(path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no directory {directory!r} to write {path} in")
    handle, temporary = tempfile.mkstemp(
        dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    os.close(handle)
    return temporary


def _finish_file(temporary: str, path: str) -> None:
    # mkstemp creates files readable by the owner only; give the file the usual mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)


def _input_size(sources: Sequence[Source]) -> int | None:
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


def _check_paths(sources: Sequence[Source], output: str, forced_format: str | None) -> str:
    """The output's format, once the inputs and output are known to make sense."""
    for source in sources:
        check_input(source.path)
    fmt = output_format(output, forced_format)
    if fmt == "parquet" and is_stream(output):
        raise ValueError(
            f"{output_name(output)}: parquet cannot be written to standard output, a pipe or a "
            "device (a parquet file ends with its index, which readers seek to): write it to a "
            "file, or write JSON lines"
        )
    if os.path.isdir(output):
        raise IsADirectoryError(f"{output} is a directory: name a file to write")
    if output != STDOUT and os.path.exists(output):
        for source in sources:
            if source.path != STDIN and os.path.samefile(source.path, output):
                raise ValueError(f"{output} is also an input: write to another file")
    return fmt


def encode_files(
    sources: Sequence[Source],
    output: str,
    tokenizer: Any,
    *,
    threads: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_length: int | None = None,
    field: str = "text",
    on_error: OnError = "fail",
    output_format: str | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    progress: IO[str] | None = None,
) -> Summary:
    """Tokenize every record of ``sources`` into ``output`` (.jsonl or .parquet; ``"-"``:
    JSON lines on standard output).

    ``output_format``: ``"jsonl"`` or ``"parquet"`` (None: by the output's extension).
    ``max_record_bytes``: a longer line is a bad record. ``progress``: a terminal to show a
    progress line on while the run goes on (None: none). Raises :class:`InputError` for a bad
    record (with ``on_error="fail"``), ``OSError`` for a file that cannot be read or written;
    then, as on KeyboardInterrupt or any other exception, an output file is left as it was (a
    stream, see :func:`is_stream`, keeps what was written to it).

    >>> import pathlib, tempfile
    >>> from bbtok import BlenderbotSmallTokenizerFast
    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)
    >>> directory = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (directory / "in.txt").write_text("Hello there!\\n")
    >>> sources = [Source(str(directory / "in.txt"), "txt")]
    >>> encode_files(sources, str(directory / "ids.jsonl"), tok, threads=1).records
    1
    >>> (directory / "ids.jsonl").read_text()
    '{"input_ids":[10770,1742,10]}\\n'
    """
    if batch_size < 1:
        raise ValueError(f"the batch size must be at least 1, got {batch_size}")
    if threads < 1:
        raise ValueError(f"the number of workers must be at least 1, got {threads}")
    if max_length is not None and max_length < 1:
        raise ValueError(f"the maximum length must be at least 1, got {max_length}")
    if max_record_bytes < 1:
        raise ValueError(f"the maximum record size must be at least 1, got {max_record_bytes}")
    fmt = _check_paths(sources, output, output_format)
    if fmt == "parquet":
        load_pyarrow()  # before anything is written
    streamed = is_stream(output)
    started = time.perf_counter()
    total_bytes = _input_size(sources)
    reader = RecordReader(
        sources,
        field=field,
        on_error=on_error,
        batch_size=batch_size,
        max_record_bytes=max_record_bytes,
    )
    from_left = tokenizer.truncation_side == "left"
    counters = Counters()
    temporary: str | None = None
    sink: Sink | None = None
    batches: _Channel[Batch] = _Channel(QUEUE_BATCHES)
    encoded_batches: _Channel[Encoded] = _Channel(QUEUE_BATCHES)
    workers: list[_Worker] = []
    display = _ProgressLine(progress, counters, total_bytes) if progress is not None else None
    try:
        if not streamed:
            temporary = _temporary_beside(output)
        if fmt == "jsonl":
            largest_id = max(tokenizer.get_vocab().values(), default=0)
            sink = JsonlSink(temporary or output, largest_id, stream=streamed)
        else:
            assert temporary is not None  # parquet is never streamed (checked above)
            sink = ParquetSink(temporary)
        reading = _Worker(READER_NAME, lambda: _produce(reader, batches))
        writing = _Worker("bbtok-write", lambda: _consume(sink, encoded_batches, counters))
        workers = [reading, writing]
        for worker in workers:
            worker.start()
        if display is not None:
            display.start()
        while (batch := batches.get()) is not None:
            ids, lengths = tokenize_batch(tokenizer, batch.texts, threads)
            if max_length is not None:
                ids, lengths = truncate(ids, lengths, max_length, from_left)
            if not encoded_batches.put(Encoded(ids, lengths, batch.records, batch.size)):
                writing.join()  # it stopped on an error, and abandoned the channel
                raise writing.error or RuntimeError("the writing thread stopped")
        reading.join()
        if reading.error is not None:
            raise reading.error
        encoded_batches.put(None)
        writing.join()
        if writing.error is not None:
            raise writing.error
        sink.close()
        if temporary is not None:
            _finish_file(temporary, output)
    except BaseException:
        # In a finally: a second Ctrl-C or signal while the threads stop must not leave the
        # temporary file behind.
        try:
            batches.abandon()
            encoded_batches.abandon()
            for worker in workers:
                # Both stop within POLL_SECONDS, but a reader blocked on a terminal or a pipe
                # stays blocked: it is a daemon thread, left behind. The writer is always waited
                # for, so that no write goes on while its file is closed and removed.
                worker.join(timeout=5 * POLL_SECONDS if worker.name == READER_NAME else None)
        finally:
            if sink is not None:
                with contextlib.suppress(Exception):  # the error being raised says more
                    sink.discard()
            if temporary is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
        raise
    finally:
        if display is not None:
            display.stop()
    return Summary(
        output=output_name(output),
        records=counters.records,
        tokens=counters.tokens,
        bytes=counters.bytes,
        seconds=time.perf_counter() - started,
        skipped=reader.skipped,
    )


# -- progress ---------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


def progress_text(counters: Counters, seconds: float, total_bytes: int | None) -> str:
    """The progress line: records, records/s, MB/s, and with a known total, % and ETA."""
    seconds = max(seconds, 1e-9)
    byte_rate = counters.bytes / seconds
    parts = [
        plural(counters.records, "record"),
        f"{counters.records / seconds:,.0f} records/s",
        f"{byte_rate / 1e6:.1f} MB/s",
    ]
    if total_bytes:
        done = min(counters.bytes / total_bytes, 1.0)
        parts.insert(0, f"{done:4.0%}")
        if byte_rate > 0:
            parts.append(f"ETA {_duration((total_bytes - counters.bytes) / byte_rate)}")
    return "encoding: " + "  ".join(parts)


class _ProgressLine:
    """One line on a terminal, redrawn every PROGRESS_SECONDS, erased at the end."""

    def __init__(self, stream: IO[str], counters: Counters, total_bytes: int | None) -> None:
        self._stream = stream
        self._counters = counters
        self._total = total_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bbtok-progress", daemon=True)
        self._started = time.perf_counter()

    def start(self) -> None:
        self._started = time.perf_counter()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(PROGRESS_SECONDS):
            text = progress_text(self._counters, time.perf_counter() - self._started, self._total)
            # Cut to the terminal's width: a wrapped line could not be redrawn in place.
            width = _terminal_width(self._stream)
            self._stream.write("\r" + text[: width - 1] + "\x1b[K")
            self._stream.flush()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join()
        self._stream.write("\r\x1b[K")
        self._stream.flush()


def _terminal_width(stream: IO[str]) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80
    return columns if columns > 0 else 80  # 0: a terminal that never said its size
