"""The engine of ``bbtok encode``: text files of any size to token ids, streaming.

One thread reads the inputs and cuts them into batches of records, the calling thread tokenizes
each batch with the Rust core (which releases the GIL and runs on ``threads`` cores), and one
thread formats and writes the ids. Bounded queues link the three, so reading, tokenizing and
writing overlap, records keep their order, and memory stays flat whatever the size of the input.
An error or an interruption in any of them stops the others and leaves a file output as it was.

The stages: :mod:`bbtok.corpus.records` (inputs to batches of records),
:mod:`bbtok.corpus.sinks` (ids to a file, renamed over the output at the end, or to a stream)
and :mod:`bbtok.corpus.progress` (the progress line and the summary).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Generic, TypeVar

from bbtok.corpus.defaults import DEFAULT_BATCH_SIZE, DEFAULT_MAX_RECORD_BYTES
from bbtok.corpus.encoders import FlatEncoder
from bbtok.corpus.progress import Counters, ProgressLine, Summary, progress_text
from bbtok.corpus.records import (
    STDIN,
    Batch,
    OnError,
    RecordReader,
    Source,
    check_input,
    describe_failure,
    input_size,
)
from bbtok.corpus.sinks import (
    STDOUT,
    Encoded,
    Sink,
    is_stream,
    load_pyarrow,
    output_format,
    output_name,
    output_sink,
)
from bbtok.tokenization.padding import ID_BYTES

# Batches waiting between two threads: one being worked on and one ready is enough to keep
# every thread busy; more would only hold more memory.
QUEUE_BATCHES = 2
# How often a thread blocked on a queue looks whether the run was abandoned.
POLL_SECONDS = 0.1
READER_NAME = "bbtok-read"

T = TypeVar("T")


def tokenize_batch(
    tokenizer: FlatEncoder, texts: list[str], threads: int, max_length: int | None = None
) -> tuple[bytes, list[int]]:
    """The ids of ``texts`` as ``tokenizer(texts, truncation=True, max_length=max_length)
    ["input_ids"]`` gives them (no truncation when ``max_length`` is None): all of them one
    after another (native uint32), and the count of each record (see
    :meth:`~bbtok.blenderbot_small.tokenizer_fast.BlenderbotSmallTokenizerFast.encode_batch_flat`).
    The tokenizer truncates: where it adds special tokens, they stay.
    """
    return tokenizer.encode_batch_flat(texts, threads, max_length)


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
    tokenizer: FlatEncoder,
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
    progress line on while the run goes on (None: none). Raises
    :class:`~bbtok.corpus.records.InputError` for a bad record (with ``on_error="fail"``),
    ``OSError`` for a file that cannot be read or written; then, as on KeyboardInterrupt or any
    other exception, an output file is left as it was (a stream, see
    :func:`~bbtok.corpus.sinks.is_stream`, keeps what was written to it).

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
    started = time.perf_counter()
    total_bytes = input_size(sources)
    reader = RecordReader(
        sources,
        field=field,
        on_error=on_error,
        batch_size=batch_size,
        max_record_bytes=max_record_bytes,
    )
    counters = Counters()
    display = (
        None
        if progress is None
        else ProgressLine(progress, lambda seconds: progress_text(counters, seconds, total_bytes))
    )
    try:
        with output_sink(output, fmt) as sink:
            _run_threads(
                reader, tokenizer, sink, counters, display, threads=threads, max_length=max_length
            )
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


def _encode(
    tokenizer: FlatEncoder, batch: Batch, reader: RecordReader, threads: int, max_length: int | None
) -> Encoded:
    """The ids of a batch's records. A failure of the tokenizer (a text it cannot encode, memory
    running out) is found out by encoding the batch again one record at a time: the records it
    fails on are bad records (raised, or skipped), the others keep their ids."""
    try:
        ids, lengths = tokenize_batch(tokenizer, batch.texts, threads, max_length)
    except Exception:  # KeyboardInterrupt and the like are no record's fault: they go on
        return _encode_one_by_one(tokenizer, batch, reader, threads, max_length)
    return Encoded(ids, lengths, batch.records, batch.size)


def _encode_one_by_one(
    tokenizer: FlatEncoder, batch: Batch, reader: RecordReader, threads: int, max_length: int | None
) -> Encoded:
    ids: list[bytes] = []
    lengths: list[int] = []
    records: list[int] = []
    for index, text in enumerate(batch.texts):
        try:
            record_ids, record_lengths = tokenize_batch(tokenizer, [text], threads, max_length)
        except Exception as error:
            reason = _surrogate(text) or f"the tokenizer failed on it ({describe_failure(error)})"
            reader.bad_record(batch.records[index], batch.where(index), reason)
            continue
        ids.append(record_ids)
        lengths += record_lengths
        records.append(batch.records[index])
    return Encoded(b"".join(ids), lengths, records, batch.size)


def _surrogate(text: str) -> str:
    """Where ``text`` holds a lone surrogate, which a JSON escape (``"\\ud800"``) can put in a
    record and a tokenizer working on UTF-8 bytes cannot encode ("" if it holds none): the
    reason the tokenizer failed, said in the record's terms."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        surrogate = ord(text[error.start])
        return (
            f"it holds a lone surrogate, U+{surrogate:04X} at character {error.start + 1}, which "
            "this tokenizer cannot encode (it works on UTF-8)"
        )
    return ""


def _run_threads(
    reader: RecordReader,
    tokenizer: FlatEncoder,
    sink: Sink,
    counters: Counters,
    display: ProgressLine | None,
    *,
    threads: int,
    max_length: int | None,
) -> None:
    """Read, tokenize and write every record: ``reader`` and ``sink`` each in a thread of its
    own, linked to this one by bounded channels. On any exception both threads are stopped
    before it goes on (to :func:`~bbtok.corpus.sinks.output_sink`, which discards the sink)."""
    batches: _Channel[Batch] = _Channel(QUEUE_BATCHES)
    encoded_batches: _Channel[Encoded] = _Channel(QUEUE_BATCHES)
    workers: list[_Worker] = []
    try:
        reading = _Worker(READER_NAME, lambda: _produce(reader, batches))
        writing = _Worker("bbtok-write", lambda: _consume(sink, encoded_batches, counters))
        workers = [reading, writing]
        for worker in workers:
            worker.start()
        if display is not None:
            display.start()
        while (batch := batches.get()) is not None:
            encoded = _encode(tokenizer, batch, reader, threads, max_length)
            if not encoded_batches.put(encoded):
                writing.join()  # it stopped on an error, and abandoned the channel
                raise writing.error or RuntimeError("the writing thread stopped")
        reading.join()
        if reading.error is not None:
            raise reading.error
        encoded_batches.put(None)
        writing.join()
        if writing.error is not None:
            raise writing.error
    except BaseException:
        # A second Ctrl-C or signal while the threads stop goes on to output_sink all the same,
        # which removes the temporary file.
        batches.abandon()
        encoded_batches.abandon()
        for worker in workers:
            # Both stop within POLL_SECONDS, but a reader blocked on a terminal or a pipe stays
            # blocked: it is a daemon thread, left behind. The writer is always waited for, so
            # that no write goes on while its file is closed and removed.
            worker.join(timeout=5 * POLL_SECONDS if worker.name == READER_NAME else None)
        raise
