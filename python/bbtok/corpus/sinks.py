"""Where ``bbtok encode`` writes its ids: a ``.jsonl`` or ``.parquet`` file, or a stream.

A file output is written to a temporary file beside it and renamed over it only when every
record has been written: an error or an interruption (any exception: KeyboardInterrupt, the
command line's SIGTERM) leaves the output as it was. Standard output (``"-"``), a descriptor
(``/dev/stdout``, ``/dev/fd/3``) and anything that is not a regular file (a FIFO,
``/dev/null``) cannot be renamed over: they are written straight to.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import re
import stat
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import IO, Any

from bbtok.corpus.defaults import OUTPUT_FORMATS
from bbtok.tokenization.padding import ID_BYTES

STDOUT = "-"
# Paths that name an open descriptor of this process rather than a file: a temporary file
# cannot be put beside them and renamed over them, so they are written to as they are.
DESCRIPTOR_PATH = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/(self|\d+)/fd/\d+")
# Parquet row groups: readers work best with large ones; a batch is far too small for one.
ROW_GROUP_ROWS = 100_000
ROW_GROUP_IDS = 8 << 20
# The largest id the parquet column (list<int32>) holds.
INT32_MAX = 2**31 - 1


@dataclass
class Encoded:
    """A batch's ids, as a sink writes them: all records' ids one after another (native uint32),
    each one's count, the records' numbers and the bytes of input they took."""

    ids: bytes
    lengths: list[int]
    records: list[int]
    size: int


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
    """How output ``path`` is named in messages (``"-"``: ``<stdout>``)."""
    return "<stdout>" if path == STDOUT else path


def python_jsonl_lines(ids: bytes, counts: list[int]) -> bytes:
    """The JSON lines (``{"input_ids":[...]}`` and a line break) of the records whose ids are
    ``ids`` (native uint32, one record after another) and whose counts are ``counts``, formatted
    in Python: the lines the Rust extension's ``jsonl_lines`` writes, where it is not installed.

    >>> python_jsonl_lines(array("I", [5, 6, 7]).tobytes(), [2, 1])
    b'{"input_ids":[5,6]}\\n{"input_ids":[7]}\\n'
    """
    if len(ids) % ID_BYTES:
        raise ValueError(f"ids: {len(ids)} bytes is not a whole number of uint32 ids")
    values = array("I")
    values.frombytes(ids)
    if sum(counts) != len(values):
        raise ValueError(
            f"the record counts add up to {sum(counts)} ids, but {len(values)} were given"
        )
    lines = []
    start = 0
    for count in counts:
        row = ",".join(map(str, values[start : start + count]))
        lines.append(f'{{"input_ids":[{row}]}}\n')
        start += count
    return "".join(lines).encode("ascii")


def jsonl_formatter() -> Callable[[bytes, list[int]], bytes]:
    """The Rust extension's ``jsonl_lines`` (it formats with the GIL released: id by id in
    Python, the writer thread took longer than the tokenizer), or :func:`python_jsonl_lines`
    without it (a byte-level tokenizer needs no extension)."""
    try:
        from bbtok.native import _native
    except ImportError:
        return python_jsonl_lines
    formatter: Callable[[bytes, list[int]], bytes] = _native.jsonl_lines
    return formatter


class JsonlSink:
    """Writes one ``{"input_ids":[...]}`` line per record: to a new file, or with ``stream``
    straight to standard output (``"-"``) or a path that is not a regular file, each batch
    flushed as it comes so that a reader at the other end of a pipe sees it."""

    def __init__(self, path: str, *, stream: bool = False) -> None:
        self._stream = stream
        self._owned = path != STDOUT
        self._lines = jsonl_formatter()
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
        """Write a line for each record of ``encoded``."""
        self._file.write(self._lines(encoded.ids, encoded.lengths))
        if self._stream:
            self._file.flush()

    def close(self) -> None:
        """Flush what was written (and sync a file), and close what this sink opened."""
        self._file.flush()
        if not self._stream:
            os.fsync(self._file.fileno())  # a pipe or a terminal cannot be synced
        if self._owned:
            self._file.close()

    def discard(self) -> None:
        """Close what this sink opened, after an error (its file is the caller's to remove)."""
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
        """Add the records of ``encoded``, written out once they fill a row group."""
        pa = self._pa
        total = len(encoded.ids) // ID_BYTES
        _check_int32_ids(pa, encoded)
        # Ids below 2**31 have the same uint32 and int32 bytes: the column is built on the
        # core's buffer without converting an id.
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
        """Write the last row group and the file's index, and sync the file."""
        self._flush()
        self._writer.close()
        descriptor = os.open(self._path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def discard(self) -> None:
        """Drop what is not written yet and close the writer, after an error."""
        self._pending = []
        with contextlib.suppress(Exception):
            self._writer.close()


def _check_int32_ids(pa: ModuleType, encoded: Encoded) -> None:
    """Raise a ValueError naming the record unless every id of ``encoded`` fits an int32
    column. Every tokenizer's ids are checked to be below 2**31 when it loads; this is the
    writer's own check, so that no id is ever written as another."""
    total = len(encoded.ids) // ID_BYTES
    values = pa.Array.from_buffers(pa.uint32(), total, [None, pa.py_buffer(encoded.ids)])
    largest = importlib.import_module("pyarrow.compute").max(values).as_py()
    if largest is None or largest <= INT32_MAX:
        return
    ids = array("I", encoded.ids)
    position = next(i for i, value in enumerate(ids) if value > INT32_MAX)
    ends = itertools.accumulate(encoded.lengths)
    row = next(row for row, end in enumerate(ends) if end > position)
    raise ValueError(
        f"record {encoded.records[row]}: id {ids[position]} does not fit the int32 column "
        "input_ids of parquet (ids must be below 2**31)"
    )


Sink = JsonlSink | ParquetSink


@contextlib.contextmanager
def output_sink(output: str, fmt: str) -> Iterator[Sink]:
    """A sink that writes ``output`` in format ``fmt`` (``"jsonl"`` or ``"parquet"``), finished
    when the block ends: closed, synced, and a file renamed over ``output``. An exception in the
    block (or in finishing) closes it and removes the temporary file, leaving a file output as
    it was; a stream (see :func:`is_stream`) keeps what was written to it."""
    streamed = is_stream(output)
    temporary: str | None = None
    sink: Sink | None = None
    try:
        if not streamed:
            temporary = _temporary_beside(output)
        if fmt == "jsonl":
            sink = JsonlSink(temporary or output, stream=streamed)
        else:
            assert temporary is not None  # parquet is never streamed (checked by the caller)
            sink = ParquetSink(temporary)
        yield sink
        sink.close()
        if temporary is not None:
            _finish_file(temporary, output)
    except BaseException:
        if sink is not None:
            with contextlib.suppress(Exception):  # the error being raised says more
                sink.discard()
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
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
