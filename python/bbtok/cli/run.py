"""The ``bbtok`` command's entry point: runs a subcommand and turns its outcome into an exit
status and messages on standard error."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from bbtok.cli.parser import build_parser
from bbtok.cli.process import (
    BROKEN_PIPE,
    INTERRUPTED,
    Terminated,
    ending_signals_raise,
    messages_for_the_command_line,
    silence_standard_output,
)
from bbtok.corpus.records import describe_failure


def error_text(error: Exception) -> str:
    """An error as the command line says it: an ``OSError`` as ``'FILE': what happened``,
    without Python's ``[Errno N]``; any other error as its message.

    >>> error_text(FileNotFoundError(2, "No such file", "vocab.json"))
    "'vocab.json': No such file"
    >>> error_text(ValueError("text 1 is empty"))
    'text 1 is empty'
    """
    if isinstance(error, OSError) and error.strerror:
        names = [name for name in (error.filename, error.filename2) if name is not None]
        shown = " -> ".join(repr(os.fsdecode(name)) for name in names)
        return f"{shown}: {error.strerror}" if shown else str(error.strerror)
    return str(error)


def run_bench(arguments: Sequence[str]) -> int:
    """The throughput benchmark (``python -m bbtok.bench``) with its own arguments."""
    from bbtok.bench import tokenizer_speed as bench

    bench.main(list(arguments), prog="bbtok bench")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbtok`` command: its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    with messages_for_the_command_line(), ending_signals_raise():
        try:
            if arguments[:1] == ["bench"]:
                # argparse would take the benchmark's options (--megabytes ...) for bbtok's own.
                return run_bench(arguments[1:])
            args = build_parser().parse_args(arguments)
            code: int = args.run(args)
        except BrokenPipeError:
            silence_standard_output()
            return BROKEN_PIPE
        except (OSError, ValueError) as error:
            print(f"bbtok: error: {error_text(error)}", file=sys.stderr)
            return 1
        except Exception as error:  # unforeseen: one line all the same, its type named
            if sys.flags.dev_mode:
                raise  # python -X dev: the traceback, for whoever debugs it
            print(
                f"bbtok: error: {describe_failure(error)} (PYTHONDEVMODE=1 shows the traceback)",
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            print("bbtok: interrupted", file=sys.stderr)
            return INTERRUPTED
        except Terminated as stop:
            print(f"bbtok: terminated ({stop})", file=sys.stderr)
            return stop.exit_status
    return code
