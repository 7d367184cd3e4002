"""What every benchmark run starts and ends with: the options they share and their checks, the
machine the run is on (its usable cores, its load, the versions), progress lines, and the
closing lines (a note when the machine was busy, the whole run's time)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from dataclasses import dataclass

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.tokenization.threads import usable_cores

DEFAULT_TOKENIZER_DIR = SAMPLE_CHECKPOINT


# -- options ----------------------------------------------------------------------------------


def add_tokenizer_option(parser: argparse.ArgumentParser) -> None:
    """``--tokenizer DIR``, the sample checkpoint by default."""
    parser.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER_DIR), help="a directory")


def add_repeats_option(parser: argparse.ArgumentParser) -> None:
    """``--repeats N``: every timing is the best of N runs."""
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of these")


def require_positive(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *options: str
) -> None:
    """Stop with a usage error naming ``options`` unless each of them is above zero.

    >>> parser = argparse.ArgumentParser(prog="bench")
    >>> require_positive(parser, argparse.Namespace(repeats=1, batch_records=2), "--repeats",
    ...                  "--batch-records")
    """
    values = [getattr(args, option.lstrip("-").replace("-", "_")) for option in options]
    if all(value > 0 for value in values):
        return
    names = ", ".join(options[:-1]) + " and " + options[-1] if len(options) > 1 else options[0]
    parser.error(f"{names} must be positive")


# -- the machine ------------------------------------------------------------------------------


def timed_thread_counts(cores: int) -> list[int]:
    """The thread counts timed: 1, every core, and 2 when there are more than 2 cores.

    >>> timed_thread_counts(1), timed_thread_counts(2), timed_thread_counts(8)
    ([1], [1, 2], [1, 2, 8])
    """
    return sorted({1, min(2, cores), cores})


def load_average() -> float:
    """The 1-minute load average; 0 where the system does not give it."""
    try:
        return os.getloadavg()[0]
    except OSError:  # not available here
        return 0.0


def busy_note(before: float, after: float, cores: int) -> str:
    """A warning when other processes were using the cores (figures are then low and noisy).

    >>> busy_note(0.1, 0.2, 2)
    ''
    """
    if max(before, after) < 0.25 * cores:
        return ""
    return (
        f"note: the machine was busy (1-minute load average {before:.1f} before the run, "
        f"{after:.1f} after, on {cores} cores): the figures are lower and noisier than on an "
        "idle machine"
    )


def progress(message: str) -> None:
    """A line on standard error while the run goes on (the figures go to standard output)."""
    print(f"  ... {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunContext:
    """When a run started, on how many cores, and how loaded the machine was then."""

    started: float
    cores: int
    load_before: float

    @classmethod
    def start(cls) -> RunContext:
        """The context of a run starting now."""
        return cls(time.perf_counter(), usable_cores(), load_average())

    def machine(self, *libraries: tuple[str, str]) -> str:
        """The cores and the versions of bbtok, of ``libraries`` (name, version) and of Python.

        >>> RunContext(0.0, 2, 0.0).machine(("pyarrow", "1.0"))  # doctest: +ELLIPSIS
        '2 usable cores; bbtok ..., pyarrow 1.0, Python ...'
        """
        from bbtok import __version__

        versions = [("bbtok", __version__), *libraries, ("Python", sys.version.split()[0])]
        named = ", ".join(f"{name} {version}" for name, version in versions)
        return f"{self.cores} usable cores; {named}"

    def finish(self) -> None:
        """Print the closing lines: a note if the machine was busy, the whole run's time."""
        note = busy_note(self.load_before, load_average(), self.cores)
        if note:
            print(textwrap.fill(note, 100))
        print(f"(whole run: {time.perf_counter() - self.started:.0f} s)")
