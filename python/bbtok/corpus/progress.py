"""What a long command tells a person: one progress line on a terminal while it runs (``bbtok
encode``'s, and the vocabulary trainers' :class:`TrainingProgress`), ``bbtok encode``'s summary
line at the end, and the counts, sizes and durations they are written in (the command line's
other messages count things with :func:`plural` too).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from bbtok.corpus.records import Skipped

PROGRESS_SECONDS = 0.25


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


def _duration(seconds: float) -> str:
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


def progress_text(
    counters: Counters, seconds: float, total_bytes: int | None, doing: str = "encoding"
) -> str:
    """The progress line of reading records: what is being ``doing``, records, records/s, MB/s,
    and with a known total, % and ETA."""
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
    return f"{doing}: " + "  ".join(parts)


class ProgressLine:
    """One line on a terminal, ``describe(seconds since start)``, redrawn every
    PROGRESS_SECONDS, erased at the end."""

    def __init__(self, stream: IO[str], describe: Callable[[float], str]) -> None:
        self._stream = stream
        self._describe = describe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bbtok-progress", daemon=True)
        self._started = time.perf_counter()

    def start(self) -> None:
        """Draw the line from now on, its rates timed from now."""
        self._started = time.perf_counter()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(PROGRESS_SECONDS):
            text = self._describe(time.perf_counter() - self._started)
            # Cut to the terminal's width: a wrapped line could not be redrawn in place.
            width = _terminal_width(self._stream)
            self._stream.write("\r" + text[: width - 1] + "\x1b[K")
            self._stream.flush()

    def stop(self) -> None:
        """Stop drawing and erase the line (nothing to do if it never started)."""
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


class TrainingProgress:
    """The progress line of a vocabulary trainer: the corpus read (as ``bbtok encode``'s line),
    then the time spent learning merges, which the ``tokenizers`` trainer does without telling
    (its own bars are turned off: they count its input chunks, not the corpus). Shown on
    ``stream`` while used as a context manager; with no stream, nothing is shown.

    >>> with TrainingProgress(None, total_bytes=None) as progress:
    ...     list(progress.read(["some text", "more"]))
    ['some text', 'more']
    """

    def __init__(self, stream: IO[str] | None, total_bytes: int | None) -> None:
        self.counters = Counters()
        self._total = total_bytes
        self._learning_since: float | None = None
        self._line = None if stream is None else ProgressLine(stream, self.text)

    def __enter__(self) -> TrainingProgress:
        if self._line is not None:
            self._line.start()
        return self

    def __exit__(self, *exception: object) -> None:
        if self._line is not None:
            self._line.stop()

    def read(self, records: Iterable[str]) -> Iterator[str]:
        """``records``, counted as they are read; once they end, the line says that merges are
        being learnt."""
        for record in records:
            self.counters.records += 1
            self.counters.bytes += len(record.encode("utf-8", "surrogatepass"))
            yield record
        self._learning_since = time.perf_counter()

    def text(self, seconds: float) -> str:
        """The line ``seconds`` after the start: the corpus read so far, or once it is all
        read, how long merges have been learnt for."""
        if self._learning_since is None:
            return progress_text(self.counters, seconds, self._total, "reading")
        learning = _duration(time.perf_counter() - self._learning_since)
        return f"learning merges: {learning} (read {plural(self.counters.records, 'record')})"
