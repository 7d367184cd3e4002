"""The ``bbtok`` command line: ``demo``, ``encode``, ``tokenize``, ``decode``, ``train``,
``generate``, ``chat`` and ``bench``."""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from . import encode
from .data import SAMPLE_CHECKPOINT
from .fast import BlenderbotSmallTokenizerFast, thread_count
from .tokenizer import BlenderbotSmallTokenizer

# The checkpoint shipped in the package: the commands work from any directory out of the box.
DEFAULT_TOKENIZER_DIR = str(SAMPLE_CHECKPOINT)
DEFAULT_MODEL_DIR = str(SAMPLE_CHECKPOINT)
RANDOM_WEIGHTS_NOTE = (
    "bbtok: note: the sample checkpoint shipped with bbtok has random weights, so its replies are "
    "nonsense; point --model at a real BlenderbotSmall checkpoint directory (config.json, "
    "model.safetensors, vocab.json, merges.txt) for real ones"
)
# Turns of a conversation are joined with a line break, which the tokenizer turns into the
# __newln__ token: the way BlenderBot-small's training data separated them.
TURN_SEPARATOR = "\n"
QUIT_WORDS = {"quit", "exit"}
# The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
DEMO_TEXTS = (
    "Hello! How are you doing today?",
    "I'm fine, thanks (mostly).\nAnd you?",
    "__start__ Les élèves n'ont pas révisé. ΟΔΟΣ İstanbul Straße 日本語 😀 __end__",
)


def _check_directory(directory: str) -> None:
    if not os.path.isdir(directory):
        raise SystemExit(
            f"bbtok: no tokenizer directory at {directory!r}; pass --tokenizer DIR (a directory "
            "with vocab.json and merges.txt), or leave it out for the sample vocabulary"
        )


def run_demo(args: argparse.Namespace) -> int:
    """Tokenize sample text with the fast tokenizer and show tokens, ids, offsets, the decoded
    text, a padded batch, and whether the pure-Python tokenizer agrees."""
    _check_directory(args.tokenizer)
    fast = BlenderbotSmallTokenizerFast.from_pretrained(args.tokenizer)
    pure = BlenderbotSmallTokenizer.from_pretrained(args.tokenizer)
    texts = args.text or list(DEMO_TEXTS)
    print(f"tokenizer: {args.tokenizer} ({len(fast)} tokens)")
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


def _load_model(directory: str, dtype: str) -> tuple[Any, BlenderbotSmallTokenizerFast]:
    try:
        from .model import BlenderbotSmallForConditionalGeneration
    except ImportError as error:
        raise SystemExit(
            f"bbtok: the model runner needs numpy ({error}); pip install 'bbtok[model]'"
        ) from None

    if not os.path.isdir(directory):
        raise SystemExit(
            f"bbtok: no model directory at {directory!r}; pass --model DIR (a checkpoint "
            "directory with config.json, model.safetensors, vocab.json and merges.txt), or leave "
            "it out for the sample checkpoint"
        )
    model = BlenderbotSmallForConditionalGeneration.from_pretrained(directory, dtype=dtype)
    if os.path.abspath(directory) == os.path.abspath(DEFAULT_MODEL_DIR):
        print(RANDOM_WEIGHTS_NOTE, file=sys.stderr)
    return model, BlenderbotSmallTokenizerFast.from_pretrained(directory)


def _generate_and_show(
    directory: str, texts: list[str], settings: dict[str, Any], dtype: str
) -> list[str]:
    model, tok = _load_model(directory, dtype)
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
    positions hold."""
    model, tok = _load_model(args.model, args.dtype)
    print("type a message; 'quit' or end of input (Ctrl-D) ends the chat")
    tok.truncation_side = "left"  # a long history keeps its latest turns
    history: list[str] = []
    while True:
        try:
            message = input("you> ")
        except EOFError:
            print()
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
        print(f"bot> {reply}")
        history.append(reply)
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Learn merges on text files and write vocab.json + merges.txt."""
    from .train import train

    vocab_path, merges_path = train(
        args.files,
        args.output,
        vocab_size=args.vocab_size,
        min_frequency=args.min_frequency,
        show_progress=not args.quiet and sys.stderr.isatty(),
        files=True,
    )
    print(f"wrote {vocab_path} and {merges_path}")
    return 0


def run_encode(args: argparse.Namespace) -> int:
    """Tokenize text files into a .jsonl or .parquet file of ids, streaming."""
    _check_directory(args.tokenizer)
    sources = [encode.Source(path, encode.input_format(path, args.format)) for path in args.inputs]
    if sum(source.path == encode.STDIN for source in sources) > 1:
        raise ValueError("standard input ('-') can be read only once")
    tok = BlenderbotSmallTokenizerFast.from_pretrained(args.tokenizer)
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
            progress=sys.stderr if show_progress else None,
        )
    except KeyboardInterrupt:
        print(f"bbtok: interrupted; {args.output} was not written", file=sys.stderr)
        return INTERRUPTED
    skipped = summary.skipped
    if skipped.count:
        # Shown even with --quiet: records are missing from the output.
        print(f"bbtok: skipped {skipped.count:,} records (first: {skipped.first})", file=sys.stderr)
    if not args.quiet:
        print(summary.line(), file=sys.stderr)
    return 0


def run_tokenize(args: argparse.Namespace) -> int:
    """Show each token of each text with its id and (start, end) character offsets."""
    _check_directory(args.tokenizer)
    tok = BlenderbotSmallTokenizerFast.from_pretrained(args.tokenizer)
    for number, text in enumerate(args.text):
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
        print(f"text: {_shown(text)} ({len(ids)} tokens)")
        for row in [header, *rows]:
            cells = []
            for column, (cell, width) in enumerate(zip(row, widths)):
                padding = " " * (width - _width(cell))
                cells.append(padding + cell if column in (1, 2, 3) else cell + padding)
            print("  ".join(cells).rstrip())
    return 0


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
    _check_directory(args.tokenizer)
    tok = BlenderbotSmallTokenizerFast.from_pretrained(args.tokenizer)
    print(tok.decode(ids, skip_special_tokens=args.skip_special_tokens))
    return 0


def run_bench(arguments: Sequence[str]) -> int:
    """The throughput benchmark (``python -m bbtok.bench``) with its own arguments."""
    from . import bench

    bench.main(list(arguments))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bbtok`` command."""
    parser = argparse.ArgumentParser(
        prog="bbtok", description="The BlenderBot-small tokenizer, exactly."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="tokenize sample text and show the steps")
    demo.add_argument(
        "--tokenizer",
        default=DEFAULT_TOKENIZER_DIR,
        help="directory with vocab.json and merges.txt (default: the sample vocabulary)",
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
            help="checkpoint directory with its tokenizer files (default: the sample checkpoint)",
        )
        command.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        command.add_argument("--max-new-tokens", type=int, help="(default: the checkpoint's)")
        command.add_argument("--min-new-tokens", type=int, help="(default: the checkpoint's)")
        command.add_argument("--num-beams", type=int, help="(default: the checkpoint's)")
        command.add_argument("--no-repeat-ngram-size", type=int, help="(default: the checkpoint's)")
        if name == "generate":
            command.add_argument("text", nargs="+", help="texts to reply to")
        command.set_defaults(run=run)

    encoder = commands.add_parser(
        "encode",
        help="tokenize text files into a .jsonl or .parquet file of ids",
        description=(
            "Tokenize every record of the inputs, in order, into OUTPUT: .jsonl (one "
            '{"input_ids":[...]} line per record) or .parquet (columns input_ids, list<int32>, '
            "and record, the record's 0-based number over all inputs; needs pyarrow). A .txt "
            "input has one record a line (split on \\n only; a \\r before it is dropped), a "
            ".jsonl input one JSON object a line with the text in --field; '-' reads standard "
            "input. The inputs are streamed in batches, and OUTPUT is written to a temporary "
            "file renamed at the end: after an error or Ctrl-C it is left as it was."
        ),
    )
    _add_tokenizer_option(encoder)
    encoder.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt, .jsonl, or - (stdin)")
    encoder.add_argument("-o", "--output", required=True, help="a .jsonl or .parquet file")
    encoder.add_argument(
        "--format",
        choices=("txt", "jsonl"),
        help="format of every input (default: by extension; txt for stdin)",
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
        "--workers",
        type=_positive_int,
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
        help="a bad record (invalid UTF-8, invalid JSON, no text field): stop with an error "
        "naming FILE:LINE and write nothing (fail, the default), or leave the record out and "
        "count it (skip: a .jsonl output then has no line for it, and the record column of a "
        ".parquet output keeps the input's numbering)",
    )
    encoder.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line and no summary line (skipped records are still counted)",
    )
    encoder.set_defaults(run=run_encode)

    tokenize = commands.add_parser(
        "tokenize", help="show the tokens of a text with their ids and character offsets"
    )
    _add_tokenizer_option(tokenize)
    tokenize.add_argument("text", nargs="+", help="text to tokenize")
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
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_tokenizer_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--tokenizer",
        default=DEFAULT_TOKENIZER_DIR,
        help="directory with vocab.json and merges.txt (default: the sample vocabulary)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbtok`` command."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["bench"]:
            # argparse would take the benchmark's options (--megabytes ...) for bbtok's own.
            return run_bench(arguments[1:])
        args = build_parser().parse_args(arguments)
        code: int = args.run(args)
    except (OSError, ValueError) as error:
        print(f"bbtok: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bbtok: interrupted", file=sys.stderr)
        return INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
