"""The ``bbtok`` command line: ``demo``, ``encode``, ``tokenize``, ``decode``, ``train``,
``generate``, ``chat``, ``convert`` and ``bench``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, TextIO

from bbtok import __version__
from bbtok.blenderbot_small.tokenizer import BlenderbotSmallTokenizer
from bbtok.blenderbot_small.tokenizer_fast import (
    BlenderbotSmallTokenizerFast,
    checked_thread_count,
    thread_count,
)
from bbtok.corpus import file_encoder as encode
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.config import MODEL_FILES
from bbtok.storage import hub

# The checkpoint shipped in the package: the commands work from any directory out of the box.
DEFAULT_TOKENIZER_DIR = str(SAMPLE_CHECKPOINT)
DEFAULT_MODEL_DIR = str(SAMPLE_CHECKPOINT)
RANDOM_WEIGHTS_NOTE = (
    "bbtok: note: the sample checkpoint shipped with bbtok has random weights, so its replies are "
    "nonsense; point --model at a real BlenderbotSmall checkpoint for real ones (a hub model id "
    "such as facebook/blenderbot_small-90M, or a directory with config.json, the weights, "
    "vocab.json and merges.txt)"
)
# Turns of a conversation are joined with a line break, which the tokenizer turns into the
# __newln__ token: the way BlenderBot-small's training data separated them.
TURN_SEPARATOR = "\n"
QUIT_WORDS = {"quit", "exit"}
# A text argument that stands for all of standard input.
STANDARD_INPUT = "-"
# The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
# Standard output closed early (`bbtok encode ... -o - | head`): quietly, with the status of a
# process killed by SIGPIPE, as the other programs of a pipeline end.
BROKEN_PIPE = 128 + 13
# Signals that ask the command to end: turned into an exception while it runs, so that it
# cleans up (an unfinished output file) as it does on Ctrl-C, and exits with 128 + the signal.
ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
DEMO_TEXTS = (
    "Hello! How are you doing today?",
    "I'm fine, thanks (mostly).\nAnd you?",
    "__start__ Les élèves n'ont pas révisé. ΟΔΟΣ İstanbul Straße 日本語 😀 __end__",
)


class Terminated(BaseException):
    """A signal asked the command to end (SIGTERM, SIGHUP). A BaseException, as
    KeyboardInterrupt is: code that handles errors must not swallow it."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(signal.Signals(signal_number).name)

    @property
    def exit_status(self) -> int:
        return 128 + self.signal_number


def _resolve(name: str, wanted: hub.FileSet, not_found: str) -> str:
    """The directory of a --tokenizer or --model: a local one, or a hub model id's snapshot in
    huggingface_hub's cache (downloaded when online). ``not_found`` is the error for a path."""
    if not os.path.isdir(name) and not (hub.is_model_id(name) and not os.path.lexists(name)):
        raise SystemExit(not_found)
    try:
        return hub.pretrained_directory(name, wanted)
    except FileNotFoundError as error:
        raise SystemExit(f"bbtok: error: {name!r}: {error.strerror}") from None


def _tokenizer_directory(name: str) -> str:
    return _resolve(
        name,
        hub.TOKENIZER_FILES,
        f"bbtok: error: no tokenizer directory at {name!r}; pass --tokenizer DIR (a directory "
        "with vocab.json and merges.txt, or a hub model id), or leave it out for the sample "
        "vocabulary",
    )


def _model_directory(name: str) -> str:
    """Where the checkpoint is, with its tokenizer: both are read from the same directory."""
    return _resolve(
        name,
        hub.TOKENIZER_FILES | MODEL_FILES,
        f"bbtok: error: no model directory at {name!r}; pass --model DIR (a checkpoint directory "
        "with config.json, model.safetensors, vocab.json and merges.txt, or a hub model id), or "
        "leave it out for the sample checkpoint",
    )


def run_demo(args: argparse.Namespace) -> int:
    """Tokenize sample text with the fast tokenizer and show tokens, ids, offsets, the decoded
    text, a padded batch, and whether the pure-Python tokenizer agrees."""
    directory = _tokenizer_directory(args.tokenizer)
    fast = BlenderbotSmallTokenizerFast.from_pretrained(directory)
    pure = BlenderbotSmallTokenizer.from_pretrained(directory)
    texts = args.text or list(DEMO_TEXTS)
    print(f"tokenizer: {args.tokenizer} ({encode.plural(len(fast), 'token')})")
    for text in texts:
        encoded = fast(text, return_offsets_mapping=True)
        ids = encoded["input_ids"]
        print()
        print(f"text:    {text!r}")
        print(f"tokens:  {fast.tokenize(text)}")
        print(f"ids:     {ids}")
        print(f"offsets: {encoded['offset_mapping']}")
        print(f"decoded: {fast.decode(ids)!r}")
        skipped = fast.decode(ids, skip_special_tokens=True)
        print(f"decoded, special tokens skipped: {skipped!r}")
        print(f"pure-Python tokenizer gives the same ids: {pure(text)['input_ids'] == ids}")
    batch = fast(texts, padding=True, return_tensors="np")
    print()
    print("batch for the model (padding=True, return_tensors='np'):")
    print(f"input_ids {batch['input_ids'].shape}:\n{batch['input_ids']}")
    print(f"attention_mask:\n{batch['attention_mask']}")
    if args.model:
        print()
        print(f"the whole pipeline, text -> ids -> model -> ids -> text, on {args.model}:")
        _generate_and_show(args.model, texts[:2], {"max_new_tokens": 12}, "float32")
    return 0


def _load_model(directory: str, dtype: str) -> Any:
    try:
        from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration
    except ImportError as error:
        raise SystemExit(
            f"bbtok: error: the model runner needs numpy ({error}); pip install 'bbtok[model]'"
        ) from None
    model = BlenderbotSmallForConditionalGeneration.from_pretrained(directory, dtype=dtype)
    if os.path.abspath(directory) == os.path.abspath(DEFAULT_MODEL_DIR):
        print(RANDOM_WEIGHTS_NOTE, file=sys.stderr)
    return model


def _check_texts(tok: BlenderbotSmallTokenizerFast, texts: list[str]) -> None:
    """A text without a token would reach the model as an input of length 0: name it instead."""
    for number, (text, ids) in enumerate(zip(texts, tok(texts)["input_ids"]), 1):
        if not ids:
            what = "empty" if not text else "only white space"
            raise ValueError(f"text {number} is {what}: there is nothing to reply to")


def _generate_and_show(
    name: str, texts: list[str], settings: dict[str, Any], dtype: str
) -> list[str]:
    directory = _model_directory(name)
    tok = BlenderbotSmallTokenizerFast.from_pretrained(directory)
    _check_texts(tok, texts)
    model = _load_model(directory, dtype)
    batch = tok(texts, padding=True, return_tensors="np")
    output = model.generate(batch["input_ids"], batch["attention_mask"], **settings)
    replies = tok.batch_decode(output, skip_special_tokens=True)
    for text, ids, reply in zip(texts, output.tolist(), replies):
        print(f"input:     {text!r}")
        print(f"generated: {ids}")
        print(f"reply:     {reply!r}")
    return replies


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The generation settings given on the command line (the rest: the checkpoint's)."""
    names = ("max_new_tokens", "num_beams", "min_new_tokens", "no_repeat_ngram_size")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run_generate(args: argparse.Namespace) -> int:
    """Reply to each text given."""
    _generate_and_show(args.model, args.text, _settings(args), args.dtype)
    return 0


def run_chat(args: argparse.Namespace) -> int:
    """A conversation: each reply sees the turns so far, cut from the left to what the model's
    positions hold. Only the replies (``bot> ...``) are results, on standard output; the
    greeting and the prompts are shown, on standard error, when the input is a terminal."""
    directory = _model_directory(args.model)
    tok = BlenderbotSmallTokenizerFast.from_pretrained(directory)
    model = _load_model(directory, args.dtype)
    interactive = sys.stdin.isatty()
    if interactive:
        print(
            "bbtok: type a message; 'quit' or end of input (Ctrl-D) ends the chat", file=sys.stderr
        )
    tok.truncation_side = "left"  # a long history keeps its latest turns
    history: list[str] = []
    while True:
        try:
            message = _read_message(interactive)
        except EOFError:
            if interactive:
                print(file=sys.stderr)  # off the prompt's line
            break
        if message.strip().lower() in QUIT_WORDS:
            break
        if not message.strip():
            continue
        history.append(message)
        context = tok(
            TURN_SEPARATOR.join(history),
            truncation=True,
            max_length=model.config.max_position_embeddings,
            return_tensors="np",
        )
        output = model.generate(context["input_ids"], context["attention_mask"], **_settings(args))
        reply = tok.decode(output[0], skip_special_tokens=True)
        print(f"bot> {reply}", flush=True)
        history.append(reply)
    return 0


def _read_message(interactive: bool) -> str:
    """The next line of input, after a ``you>`` prompt when a person is typing it."""
    if not interactive:
        return input()
    if sys.stdout.isatty():
        return input("you> ")  # input() draws its prompt itself, for line editing
    # Standard output goes to a file or a pipe: the prompt is for the person, not the results.
    sys.stderr.write("you> ")
    sys.stderr.flush()
    return input()


def run_train(args: argparse.Namespace) -> int:
    """Learn merges on text files and write vocab.json + merges.txt."""
    from bbtok.blenderbot_small.train import train

    vocab_path, merges_path = train(
        args.files,
        args.output,
        vocab_size=args.vocab_size,
        min_frequency=args.min_frequency,
        show_progress=not args.quiet and sys.stderr.isatty(),
        files=True,
    )
    if not args.quiet:
        print(f"bbtok: wrote {vocab_path} and {merges_path}", file=sys.stderr)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Rewrite a checkpoint as one model.safetensors with its config and tokenizer files."""
    try:
        from bbtok.modeling.convert import convert
    except ImportError as error:
        raise SystemExit(
            f"bbtok: error: convert needs numpy ({error}); pip install 'bbtok[model]'"
        ) from None
    output = convert(args.source, args.output, dtype=args.dtype, overwrite=args.overwrite)
    print(output)
    return 0


def run_encode(args: argparse.Namespace) -> int:
    """Tokenize text files into a .jsonl or .parquet file of ids, streaming."""
    for path in args.inputs:
        encode.check_input(path)  # "no such file" before "cannot tell its format"
    sources = [encode.Source(path, encode.input_format(path, args.format)) for path in args.inputs]
    if sum(source.path == encode.STDIN for source in sources) > 1:
        raise ValueError("standard input ('-') can be read only once")
    tok = BlenderbotSmallTokenizerFast.from_pretrained(_tokenizer_directory(args.tokenizer))
    show_progress = not args.quiet and sys.stderr.isatty()
    try:
        summary = encode.encode_files(
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
        if encode.is_stream(args.output):
            outcome = f"the output to {encode.output_name(args.output)} is incomplete"
        else:
            outcome = f"{args.output} was not written"
        print(f"bbtok: {what}; {outcome}", file=sys.stderr)
        return status
    skipped = summary.skipped
    if skipped.count:
        # Shown even with --quiet: records are missing from the output.
        print(
            f"bbtok: skipped {encode.plural(skipped.count, 'record')} (first: {skipped.first})",
            file=sys.stderr,
        )
    if not args.quiet:
        print(summary.line(), file=sys.stderr)
    return 0


def run_tokenize(args: argparse.Namespace) -> int:
    """Show each token of each text with its id and (start, end) character offsets."""
    if args.text.count(STANDARD_INPUT) > 1:
        raise ValueError("standard input ('-') can be read only once")
    tok = BlenderbotSmallTokenizerFast.from_pretrained(_tokenizer_directory(args.tokenizer))
    texts = [_read_standard_input() if text == STANDARD_INPUT else text for text in args.text]
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
        print(f"text: {_shown(text)} ({encode.plural(len(ids), 'token')})")
        for row in [header, *rows]:
            cells = []
            for column, (cell, width) in enumerate(zip(row, widths)):
                padding = " " * (width - _width(cell))
                cells.append(padding + cell if column in (1, 2, 3) else cell + padding)
            print("  ".join(cells).rstrip())
    return 0


def _read_standard_input() -> str:
    """All of standard input, as UTF-8 text (its line ends included: they are tokens too)."""
    data = sys.stdin.buffer.read()
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
    tok = BlenderbotSmallTokenizerFast.from_pretrained(_tokenizer_directory(args.tokenizer))
    print(tok.decode(ids, skip_special_tokens=args.skip_special_tokens))
    return 0


def run_bench(arguments: Sequence[str]) -> int:
    """The throughput benchmark (``python -m bbtok.bench``) with its own arguments."""
    from bbtok.bench import tokenizer_speed as bench

    bench.main(list(arguments), prog="bbtok bench")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bbtok`` command."""
    parser = argparse.ArgumentParser(
        prog="bbtok", description="The BlenderBot-small tokenizer, exactly."
    )
    parser.add_argument("--version", action="version", version=f"bbtok {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="tokenize sample text and show the steps")
    demo.add_argument(
        "--tokenizer",
        default=DEFAULT_TOKENIZER_DIR,
        help="directory with vocab.json and merges.txt, or a hub model id such as "
        "facebook/blenderbot_small-90M (default: the sample vocabulary)",
    )
    demo.add_argument(
        "--model",
        default=DEFAULT_MODEL_DIR,
        help="checkpoint to run the tokenized text through ('' to skip; default: the sample)",
    )
    demo.add_argument("text", nargs="*", help="text to tokenize (default: built-in samples)")
    demo.set_defaults(run=run_demo)

    for name, run, about in (
        ("generate", run_generate, "reply to each text with a BlenderbotSmall checkpoint"),
        ("chat", run_chat, "talk with a BlenderbotSmall checkpoint, turn by turn"),
    ):
        command = commands.add_parser(name, help=about)
        command.add_argument(
            "--model",
            default=DEFAULT_MODEL_DIR,
            help="checkpoint directory with its tokenizer files, or a hub model id "
            "(default: the sample checkpoint)",
        )
        command.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        command.add_argument("--max-new-tokens", type=int, help="(default: the checkpoint's)")
        command.add_argument("--min-new-tokens", type=int, help="(default: the checkpoint's)")
        command.add_argument("--num-beams", type=int, help="(default: the checkpoint's)")
        command.add_argument("--no-repeat-ngram-size", type=int, help="(default: the checkpoint's)")
        if name == "generate":
            command.add_argument("text", nargs="+", help="texts to reply to")
        else:
            command.description = (
                "Talk with a checkpoint: one message a line; each reply sees the turns so far. "
                "The replies ('bot> ...') go to standard output; on a terminal, a greeting and "
                "'you>' prompts go to standard error."
            )
        command.set_defaults(run=run)

    encoder = commands.add_parser(
        "encode",
        help="tokenize text files into a .jsonl or .parquet file of ids",
        description=(
            "Tokenize every record of the inputs, in order, into OUTPUT: .jsonl (one "
            '{"input_ids":[...]} line per record) or .parquet (columns input_ids, list<int32>, '
            "and record, the record's 0-based number over all inputs; needs pyarrow). A .txt "
            "input has one record a line (split on \\n only; a \\r before it is dropped), a "
            ".jsonl input one JSON object a line with the text in --field (blank lines are no "
            "records); '-' reads standard input. The inputs are streamed in batches, and OUTPUT "
            "is written to a temporary file renamed at the end: after an error, Ctrl-C or "
            "SIGTERM it is left as it was. '-o -' writes JSON lines to standard output; "
            "/dev/stdout, /dev/fd/N, a FIFO or a device are written to straight as well (an "
            "error then leaves what was already written)."
        ),
    )
    _add_tokenizer_option(encoder)
    encoder.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt, .jsonl, or - (stdin)")
    encoder.add_argument(
        "-o",
        "--output",
        required=True,
        help="a .jsonl or .parquet file, or - for JSON lines on standard output",
    )
    encoder.add_argument(
        "--format",
        choices=encode.INPUT_FORMATS,
        help="format of every input (default: by extension; txt for stdin)",
    )
    encoder.add_argument(
        "--output-format",
        choices=sorted(set(encode.OUTPUT_FORMATS.values())),
        help="format of OUTPUT (default: by extension; jsonl for - and /dev/stdout)",
    )
    encoder.add_argument(
        "--field", default="text", help="field of a JSON record holding the text (default: text)"
    )
    encoder.add_argument(
        "--max-length",
        type=_positive_int,
        metavar="N",
        help="keep the first N ids of each record (as truncation=True, max_length=N)",
    )
    encoder.add_argument(
        "--max-record-bytes",
        type=_positive_int,
        default=encode.DEFAULT_MAX_RECORD_BYTES,
        metavar="N",
        help="a longer line (its \\n not counted) is a bad record, read past without being held "
        f"in memory (default: {encode.DEFAULT_MAX_RECORD_BYTES}, 64 MiB)",
    )
    encoder.add_argument(
        "--workers",
        type=_thread_count,
        metavar="N",
        help="threads tokenizing each batch (default: BBTOK_NUM_THREADS, else all cores)",
    )
    encoder.add_argument(
        "--batch-size",
        type=_positive_int,
        default=encode.DEFAULT_BATCH_SIZE,
        metavar="N",
        help="records per batch; a batch also ends after 4 MiB of text (default: %(default)s)",
    )
    encoder.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="a bad record (invalid UTF-8, invalid JSON, no text field, too long): stop with an "
        "error naming FILE:LINE, an output file left as it was (fail, the default), or leave the "
        "record out and count it (skip: a .jsonl output then has no line for it, and the record "
        "column of a .parquet output keeps the input's numbering)",
    )
    encoder.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line (shown when standard error is a terminal) and no summary line "
        "(shown at the end, to standard error); skipped records are still reported",
    )
    encoder.set_defaults(run=run_encode)

    tokenize = commands.add_parser(
        "tokenize", help="show the tokens of a text with their ids and character offsets"
    )
    _add_tokenizer_option(tokenize)
    tokenize.add_argument(
        "text",
        nargs="+",
        help="text to tokenize; - reads all of standard input as one text, line ends included "
        "(to tokenize a lone '-': printf - | bbtok tokenize -)",
    )
    tokenize.set_defaults(run=run_tokenize)

    decode = commands.add_parser("decode", help="print the text of token ids")
    _add_tokenizer_option(decode)
    decode.add_argument(
        "--skip-special-tokens", action="store_true", help="leave out special tokens"
    )
    decode.add_argument(
        "ids", nargs="+", metavar="ID", help="token ids (also '1,2,3' or '[1, 2, 3]')"
    )
    decode.set_defaults(run=run_decode)

    # Only listed here: main() hands every argument after "bench" to the benchmark's own parser.
    commands.add_parser(
        "bench",
        help="run the throughput benchmark (python -m bbtok.bench; bbtok bench -h for options)",
        add_help=False,
    )

    train = commands.add_parser("train", help="learn a vocabulary in this tokenizer's format")
    train.add_argument("files", nargs="+", help="UTF-8 text files to learn from")
    train.add_argument("-o", "--output", required=True, help="directory to write to")
    train.add_argument("--vocab-size", type=int, default=16384, help="(default: %(default)s)")
    train.add_argument("--min-frequency", type=int, default=2, help="(default: %(default)s)")
    train.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no 'wrote ...' line"
    )
    train.set_defaults(run=run_train)

    converter = commands.add_parser(
        "convert",
        help="rewrite a checkpoint as one model.safetensors (optionally in another dtype)",
        description="Read a checkpoint (a directory with model.safetensors, sharded safetensors, "
        "pytorch_model.bin or sharded .bin files, or a hub model id) and write DIR with one "
        "model.safetensors as transformers saves it, config.json, generation_config.json (when "
        "the source has one) and the tokenizer files. DIR is built beside itself and renamed "
        "into place when complete, so a failure leaves no DIR. Prints DIR.",
    )
    converter.add_argument("source", help="checkpoint directory or hub model id")
    converter.add_argument("-o", "--output", required=True, help="directory to write")
    converter.add_argument(
        "--dtype",
        choices=("float16", "bfloat16", "float32"),
        help="store the weights in this dtype (default: each tensor's dtype in the source)",
    )
    converter.add_argument(
        "--overwrite",
        action="store_true",
        help="replace DIR when it exists and is not empty (it is replaced only once the new "
        "one is complete)",
    )
    converter.set_defaults(run=run_convert)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _thread_count(text: str) -> int:
    """A thread count within the binding's bound, refused while the arguments are read."""
    count = _positive_int(text)
    try:
        return checked_thread_count(count, f"--workers {count}")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_tokenizer_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--tokenizer",
        default=DEFAULT_TOKENIZER_DIR,
        help="directory with vocab.json and merges.txt, or a hub model id such as "
        "facebook/blenderbot_small-90M (default: the sample vocabulary)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbtok`` command: its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    with _messages_for_the_command_line(), _ending_signals_raise():
        try:
            if arguments[:1] == ["bench"]:
                # argparse would take the benchmark's options (--megabytes ...) for bbtok's own.
                return run_bench(arguments[1:])
            args = build_parser().parse_args(arguments)
            code: int = args.run(args)
        except BrokenPipeError:
            _silence_standard_output()
            return BROKEN_PIPE
        except (OSError, ValueError) as error:
            print(f"bbtok: error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bbtok: interrupted", file=sys.stderr)
            return INTERRUPTED
        except Terminated as stop:
            print(f"bbtok: terminated ({stop})", file=sys.stderr)
            return stop.exit_status
    return code


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """warnings.showwarning for the command line: the message, not the library's source line."""
    with contextlib.suppress(OSError, ValueError):  # as warnings' own: a closed stderr is no error
        (sys.stderr if file is None else file).write(f"bbtok: warning: {message}\n")


class _CommandLineLogHandler(logging.Handler):
    """bbtok's log messages (a too-long sequence, ...) as ``bbtok: warning: ...``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"bbtok: {record.levelname.lower()}: {record.getMessage()}\n")
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def _messages_for_the_command_line() -> Iterator[None]:
    """Python warnings and bbtok's log read as the command's other messages while it runs; a
    library user's settings are back as they were afterwards."""
    show_warning = warnings.showwarning
    logger = logging.getLogger("bbtok")
    handler = _CommandLineLogHandler()
    propagate = logger.propagate
    warnings.showwarning = _show_warning
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        warnings.showwarning = show_warning
        logger.removeHandler(handler)
        logger.propagate = propagate


def _raise_terminated(signal_number: int, frame: FrameType | None) -> None:
    raise Terminated(signal_number)


@contextlib.contextmanager
def _ending_signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread while the command runs,
    so that it cleans up as on Ctrl-C. Not when called off the main thread (Python allows signal
    handlers only there), and not for a signal ignored by whoever started us (nohup)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in ENDING_SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, _raise_terminated)
    try:
        yield
    finally:
        for number, handler in previous.items():
            # None: a handler not set from Python, which leaves the default one.
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def _silence_standard_output() -> None:
    """Point standard output at /dev/null: its reader is gone, and Python's flush of it at exit
    would otherwise fail again, with a message."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        descriptor = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
