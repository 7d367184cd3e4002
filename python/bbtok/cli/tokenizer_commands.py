"""The tokenizer's commands: ``encode`` (files to ids, streaming), ``tokenize``, ``decode`` and
``train``."""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Sequence

from bbtok.cli.checkpoints import tokenizer_directory
from bbtok.cli.process import INTERRUPTED, Terminated
from bbtok.corpus.file_encoder import encode_files
from bbtok.corpus.progress import plural
from bbtok.corpus.records import READ_BYTES, STDIN, Source, check_input, input_format
from bbtok.corpus.sinks import is_stream, output_name
from bbtok.tokenization.threads import thread_count
from bbtok.tokenizer_auto import auto_tokenizer

# The vocabulary size ``bbtok train`` learns by default (the sample checkpoint's).
SMALL_VOCAB_SIZE = 16384
# A text argument that stands for all of standard input.
STANDARD_INPUT = "-"


def run_encode(args: argparse.Namespace) -> int:
    """Tokenize text files into a .jsonl or .parquet file of ids, streaming."""
    for path in args.inputs:
        check_input(path)  # "no such file" before "cannot tell its format"
    sources = [Source(path, input_format(path, args.format)) for path in args.inputs]
    if sum(source.path == STDIN for source in sources) > 1:
        raise ValueError("standard input ('-') can be read only once")
    directory = tokenizer_directory(args.tokenizer)
    tok = auto_tokenizer(directory)
    show_progress = not args.quiet and sys.stderr.isatty()
    try:
        summary = encode_files(
            sources,
            args.output,
            tok,
            threads=args.workers if args.workers is not None else thread_count(),
            batch_size=args.batch_size,
            max_length=args.max_length,
            field=args.field,
            on_error=args.on_error,
            output_format=args.output_format,
            max_record_bytes=args.max_record_bytes,
            progress=sys.stderr if show_progress else None,
        )
    except (KeyboardInterrupt, Terminated) as stop:
        if isinstance(stop, Terminated):
            what, status = f"terminated ({stop})", stop.exit_status
        else:
            what, status = "interrupted", INTERRUPTED
        if is_stream(args.output):
            outcome = f"the output to {output_name(args.output)} is incomplete"
        else:
            outcome = f"{args.output} was not written"
        print(f"bbtok: {what}; {outcome}", file=sys.stderr)
        return status
    skipped = summary.skipped
    if skipped.count:
        # Shown even with --quiet: records are missing from the output.
        print(
            f"bbtok: skipped {plural(skipped.count, 'record')} (first: {skipped.first})",
            file=sys.stderr,
        )
    if not args.quiet:
        print(summary.line(), file=sys.stderr)
    return 0


def run_tokenize(args: argparse.Namespace) -> int:
    """Show each token of each text with its id and (start, end) character offsets."""
    if args.text.count(STANDARD_INPUT) > 1:
        raise ValueError("standard input ('-') can be read only once")
    tok = auto_tokenizer(tokenizer_directory(args.tokenizer))
    texts = [
        _read_standard_input(args.max_record_bytes) if text == STANDARD_INPUT else text
        for text in args.text
    ]
    for number, text in enumerate(texts):
        if number:
            print()
        encoded = tok(text, return_offsets_mapping=True)
        ids: list[int] = encoded["input_ids"]
        offsets: list[tuple[int, int]] = encoded["offset_mapping"]
        # tokenize() gives the pieces behind the ids, one each (an id of __unk__ shows which
        # piece was unknown).
        tokens = tok.tokenize(text)
        if len(tokens) != len(ids):
            tokens = tok.convert_ids_to_tokens(ids)
        rows = [
            (_shown(token), str(index), str(start), str(end), _shown(text[start:end]))
            for token, index, (start, end) in zip(tokens, ids, offsets)
        ]
        header = ("token", "id", "start", "end", "text")
        widths = [max(map(_width, column)) for column in zip(header, *rows)]
        print(f"text: {_shown(text)} ({plural(len(ids), 'token')})")
        for row in [header, *rows]:
            cells = []
            for column, (cell, width) in enumerate(zip(row, widths)):
                padding = " " * (width - _width(cell))
                cells.append(padding + cell if column in (1, 2, 3) else cell + padding)
            print("  ".join(cells).rstrip())
    return 0


def _read_standard_input(max_bytes: int) -> str:
    """All of standard input, as UTF-8 text (its line ends included: they are tokens too); more
    than ``max_bytes`` is an error, raised once they are read (/dev/zero never ends)."""
    parts: list[bytes] = []
    size = 0
    while part := sys.stdin.buffer.read(min(READ_BYTES, max_bytes + 1 - size)):
        parts.append(part)
        size += len(part)
        if size > max_bytes:
            raise ValueError(
                f"standard input: longer than {max_bytes:,} bytes (the limit of --max-record-bytes)"
            )
    data = b"".join(parts)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"standard input: invalid UTF-8: byte 0x{data[error.start]:02x} at byte "
            f"{error.start + 1}"
        ) from None


def _shown(text: str) -> str:
    """``repr(text)`` with combining marks escaped too: alone in a cell (the second token of
    a lowercased İ is U+0307) one would sit on the quote before it and shift the columns."""
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char).startswith("M") else char
        for char in repr(text)
    )


def _width(cell: str) -> int:
    """Terminal columns of ``cell``: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in cell)


def parse_ids(words: Sequence[str]) -> list[int]:
    """Token ids from the command line: whole numbers, separated by spaces or commas, with or
    without the brackets of a list (so that a list printed by ``bbtok encode`` pastes in)."""
    ids: list[int] = []
    for word in words:
        for item in re.split(r"[\s,\[\]]+", word):
            if not item:
                continue
            try:
                ids.append(int(item))
            except ValueError:
                raise ValueError(f"not a token id: {item!r} (ids are whole numbers)") from None
    if not ids:
        raise ValueError("no token id given")
    return ids


def run_decode(args: argparse.Namespace) -> int:
    """Print the text of token ids."""
    ids = parse_ids(args.ids)
    tok = auto_tokenizer(tokenizer_directory(args.tokenizer))
    print(tok.decode(ids, skip_special_tokens=args.skip_special_tokens))
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Learn merges on text files and write vocab.json + merges.txt (and, for a byte-level
    vocabulary, tokenizer_config.json naming its class)."""
    show_progress = not args.quiet and sys.stderr.isatty()
    if args.byte_level:
        from bbtok.blenderbot.family import DISTILL_400M_VOCAB_SIZE
        from bbtok.blenderbot.train import train_byte_level

        written: tuple[str, ...] = train_byte_level(
            args.output,
            files=args.files,
            vocab_size=DISTILL_400M_VOCAB_SIZE if args.vocab_size is None else args.vocab_size,
            min_frequency=args.min_frequency,
            show_progress=show_progress,
            overwrite=args.overwrite,
        )
    else:
        from bbtok.blenderbot_small.train import train

        written = train(
            args.output,
            files=args.files,
            vocab_size=SMALL_VOCAB_SIZE if args.vocab_size is None else args.vocab_size,
            min_frequency=args.min_frequency,
            show_progress=show_progress,
            overwrite=args.overwrite,
        )
    if not args.quiet:
        print(f"bbtok: wrote {', '.join(written[:-1])} and {written[-1]}", file=sys.stderr)
    return 0
