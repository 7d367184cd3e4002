"""The ``bbtok`` command's entry point: runs a subcommand and turns its outcome into an exit
status and messages on standard error."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence

from bbtok.cli.parser import build_parser
from bbtok.cli.process import (
    BROKEN_PIPE,
    INTERRUPTED,
    Terminated,
    ending_signals_raise,
    silence_standard_output,
    warnings_for_the_command_line,
)


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
    """The benchmarks (``python -m bbtok.bench``) with their own arguments."""
    from bbtok.bench.__main__ import main as bench

    bench(list(arguments), prog="bbtok bench")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbtok`` command: its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    with warnings_for_the_command_line(), ending_signals_raise():
        try:
            if arguments[:1] == ["bench"]:
                # argparse would take the benchmark's options (--megabytes ...) for bbtok's own.
                command = functools.partial(run_bench, arguments[1:])
            else:
                args = build_parser().parse_args(arguments)
                command = functools.partial(args.run, args)
            # Imported once a command runs: the parser logs nothing (--help, --version).
            from bbtok.cli.log import log_for_the_command_line

            with log_for_the_command_line():
                code: int = command()
        except BrokenPipeError:
            silence_standard_output()
            return BROKEN_PIPE
        except (OSError, ValueError) as error:
            print(f"bbtok: error: {error_text(error)}", file=sys.stderr)
            return 1
        except Exception as error:  # unforeseen: one line all the same, its type named
            if sys.flags.dev_mode:
                raise  # python -X dev: the traceback, for whoever debugs it
            # Imported here, as the commands' own modules are: --help and --version need none.
            from bbtok.corpus.records import describe_failure

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
