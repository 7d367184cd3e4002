"""The ``bbtok`` command's arguments: one subcommand each, with its options and help."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from bbtok.cli.defaults import DEFAULT_MODEL_DIR, DEFAULT_TOKENIZER_DIR
from bbtok.corpus.defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_RECORD_BYTES,
    INPUT_FORMATS,
    OUTPUT_FORMATS,
)

# What --tokenizer names, for every command that has it.
TOKENIZER_HELP = (
    "tokenizer directory (vocab.json and merges.txt, or a byte-level one's tokenizer.json), or "
    "a hub model id such as facebook/blenderbot_small-90M"
)


class Command:
    """The function ``name`` of ``bbtok.cli.<module>``, imported only when its command runs: the
    parser imports no tokenizer or model code, so ``bbtok --help`` and ``--version`` start at
    once."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def function(self) -> Callable[[argparse.Namespace], int]:
        """The command's function, its module imported."""
        function: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(f"bbtok.cli.{self.module}"), self.name
        )
        return function

    def __call__(self, args: argparse.Namespace) -> int:
        return self.function()(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bbtok`` command."""
    parser = argparse.ArgumentParser(
        prog="bbtok",
        description="BlenderBot's tokenizers (BlenderbotSmall and the byte-level Blenderbot), "
        "exactly as transformers tokenizes, and a torch-free runner for their models.",
    )
    parser.add_argument(
        "--version", action=_PrintVersion, nargs=0, help="show the version and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="tokenize sample text and show the steps")
    _add_tokenizer_option(demo)
    demo.add_argument(
        "--model",
        default=DEFAULT_MODEL_DIR,
        help="checkpoint to run the tokenized text through ('' to skip; default: the sample)",
    )
    demo.add_argument("text", nargs="*", help="text to tokenize (default: built-in samples)")
    demo.set_defaults(run=Command("demo", "run_demo"))

    for name, run, about in (
        (
            "generate",
            Command("model_commands", "run_generate"),
            "reply to each text with a Blenderbot or BlenderbotSmall model",
        ),
        (
            "chat",
            Command("model_commands", "run_chat"),
            "talk with a Blenderbot or BlenderbotSmall model, turn by turn",
        ),
    ):
        command = commands.add_parser(name, help=about)
        command.add_argument(
            "--model",
            default=DEFAULT_MODEL_DIR,
            help="checkpoint directory (config.json and the weights), or a hub model id "
            "(default: the sample checkpoint)",
        )
        command.add_argument(
            "--tokenizer",
            help=f"{TOKENIZER_HELP} (default: the tokenizer files beside the model)",
        )
        command.add_argument(
            "--dtype",
            choices=("float32", "float64"),
            default="float32",
            help="the dtype the model computes in (default: %(default)s)",
        )
        for option, about in (
            ("--max-new-tokens", "the most tokens a reply has"),
            ("--min-new-tokens", "the fewest tokens a reply has"),
            ("--num-beams", "beams of the beam search (1: greedy)"),
            ("--no-repeat-ngram-size", "no n-gram of this size twice in a reply (0: any)"),
        ):
            command.add_argument(option, type=int, help=f"{about} (default: the checkpoint's)")
        if name == "generate":
            command.add_argument("text", nargs="+", help="texts to reply to")
        else:
            command.description = (
                "Talk with a checkpoint: one message a line; each reply sees the turns so far, "
                "cut from the left to what the model's positions hold. When the checkpoint's "
                "tokenizer has a chat template (chat_template.jinja, or chat_template in "
                "tokenizer_config.json), the turns are rendered by it as messages of the "
                "roles user and assistant, with its generation prompt; otherwise they are "
                "joined as the family was trained (BlenderbotSmall: a line break between "
                "turns; Blenderbot: two spaces, and a space before each of yours). "
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
        choices=INPUT_FORMATS,
        help="format of every input (default: by extension; txt for stdin)",
    )
    encoder.add_argument(
        "--output-format",
        choices=sorted(set(OUTPUT_FORMATS.values())),
        help="format of OUTPUT (default: by extension; jsonl for - and /dev/stdout)",
    )
    encoder.add_argument(
        "--field", default="text", help="field of a JSON record holding the text (default: text)"
    )
    encoder.add_argument(
        "--max-length",
        type=_max_length,
        metavar="N",
        help="keep the first N ids of each record (as truncation=True, max_length=N)",
    )
    _add_max_record_bytes_option(
        encoder,
        "a longer line (its \\n not counted) is a bad record, read past without being held in "
        "memory",
    )
    encoder.add_argument(
        "--workers",
        type=_thread_count,
        metavar="N",
        help="threads tokenizing each batch (default: BBTOK_NUM_THREADS, else all cores; a "
        "byte-level tokenizer runs on the tokenizers library's own threads)",
    )
    encoder.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help="records per batch; a batch also ends after 4 MiB of text (default: %(default)s)",
    )
    encoder.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="a bad record (invalid UTF-8, invalid JSON, no text field, too long, one the "
        "tokenizer fails on): stop with an error naming FILE:LINE, an output file left as it was "
        "(fail, the default), or leave the record out and count it (skip: a .jsonl output then "
        "has no line for it, and the record column of a .parquet output keeps the input's "
        "numbering)",
    )
    encoder.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line (shown when standard error is a terminal) and no summary line "
        "(shown at the end, to standard error); skipped records are still reported",
    )
    encoder.set_defaults(run=Command("tokenizer_commands", "run_encode"))

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
    _add_max_record_bytes_option(tokenize, "a longer standard input ('-') is an error")
    tokenize.set_defaults(run=Command("tokenizer_commands", "run_tokenize"))

    decode = commands.add_parser("decode", help="print the text of token ids")
    _add_tokenizer_option(decode)
    decode.add_argument(
        "--skip-special-tokens", action="store_true", help="leave out special tokens"
    )
    decode.add_argument(
        "ids", nargs="+", metavar="ID", help="token ids (also '1,2,3' or '[1, 2, 3]')"
    )
    decode.set_defaults(run=Command("tokenizer_commands", "run_decode"))

    # Only listed here: main() hands every argument after "bench" to the benchmark's own parser.
    commands.add_parser(
        "bench",
        help="run the throughput benchmark (python -m bbtok.bench; bbtok bench -h for options)",
        add_help=False,
    )

    train = commands.add_parser(
        "train", help="learn a vocabulary: BlenderbotSmall's, or Blenderbot's byte-level one"
    )
    train.add_argument("files", nargs="+", help="UTF-8 text files to learn from")
    train.add_argument("-o", "--output", required=True, help="directory to write to")
    train.add_argument(
        "--vocab-size",
        type=int,
        help="entries of the vocabulary, special tokens included: exactly these, unless the "
        "corpus runs out of pairs seen --min-frequency times first (a warning says so) "
        "(default: 16384; 8008 with --byte-level, as facebook/blenderbot-400M-distill)",
    )
    train.add_argument(
        "--byte-level",
        action="store_true",
        help="learn a byte-level vocabulary for Blenderbot (bbtok.BlenderbotTokenizer) instead "
        "of a BlenderbotSmall one; writes tokenizer_config.json too",
    )
    train.add_argument(
        "--min-frequency",
        type=int,
        default=2,
        help="the fewest times a pair must be seen to be merged (default: %(default)s)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an output directory that is not empty: the tokenizer files there are "
        "replaced once the new ones are complete; other files are kept",
    )
    train.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line (shown when standard error is a terminal) and no 'wrote ...' line",
    )
    train.set_defaults(run=Command("tokenizer_commands", "run_train"))

    converter = commands.add_parser(
        "convert",
        help="rewrite a checkpoint as one model.safetensors (optionally in another dtype)",
        description="Read a checkpoint (a directory with model.safetensors, sharded safetensors, "
        "pytorch_model.bin or sharded .bin files, or a hub model id) and write OUTPUT with one "
        "model.safetensors as transformers saves it, config.json, generation_config.json (when "
        "the source has one) and the tokenizer files. OUTPUT is built beside itself and renamed "
        "into place when complete, so a failure leaves no OUTPUT. Prints OUTPUT.",
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
        help="write into an OUTPUT directory that is not empty: the checkpoint's files there "
        "(configuration, weights, shards, indexes, tokenizer files) are replaced once the new "
        "ones are complete; other files are kept",
    )
    converter.set_defaults(run=Command("model_commands", "run_convert"))
    return parser


class _PrintVersion(argparse.Action):
    """--version: the installed version, looked up only when asked for (the lookup costs more
    than starting any command)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import bbtok

        print(f"bbtok {bbtok.__version__}")  # to standard output, as argparse's version action
        parser.exit()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _max_length(text: str) -> int:
    """A length a tokenizer call takes as max_length, refused while the arguments are read."""
    # Imported here: the tokenizer layer loads only when a command is given --max-length.
    from bbtok.tokenization.options import MAX_LENGTH_ARGUMENT

    value = _positive_int(text)
    if value > MAX_LENGTH_ARGUMENT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LENGTH_ARGUMENT}, got {value}")
    return value


def _thread_count(text: str) -> int:
    """A thread count within the binding's bound, refused while the arguments are read."""
    # Imported here: the tokenizer layer loads only when a command is given --workers.
    from bbtok.tokenization.threads import checked_thread_count

    count = _positive_int(text)
    try:
        return checked_thread_count(count, f"--workers {count}")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_tokenizer_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--tokenizer",
        default=DEFAULT_TOKENIZER_DIR,
        help=f"{TOKENIZER_HELP} (default: the sample vocabulary)",
    )


def _add_max_record_bytes_option(command: argparse.ArgumentParser, about: str) -> None:
    """--max-record-bytes: the most bytes of one text a command holds, ``about`` saying what a
    longer one does."""
    command.add_argument(
        "--max-record-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_RECORD_BYTES,
        metavar="N",
        help=f"{about} (default: {DEFAULT_MAX_RECORD_BYTES}, 64 MiB)",
    )
