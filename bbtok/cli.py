"""The ``bbtok`` command line: ``bbtok demo`` and ``bbtok train``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .fast import BlenderbotSmallTokenizerFast
from .tokenizer import BlenderbotSmallTokenizer

DEFAULT_TOKENIZER_DIR = os.path.join("fixtures", "realistic")
DEMO_TEXTS = (
    "Hello! How are you doing today?",
    "I'm fine, thanks (mostly).\nAnd you?",
    "__start__ Les élèves n'ont pas révisé. ΟΔΟΣ İstanbul Straße 日本語 😀 __end__",
)


def _check_directory(directory: str) -> None:
    if not os.path.isdir(directory):
        raise SystemExit(
            f"bbtok: no tokenizer directory at {directory!r}; run from the repository root or "
            "pass --tokenizer DIR (a directory with vocab.json and merges.txt)"
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
        help="directory with vocab.json and merges.txt (default: %(default)s)",
    )
    demo.add_argument("text", nargs="*", help="text to tokenize (default: built-in samples)")
    demo.set_defaults(run=run_demo)

    train = commands.add_parser("train", help="learn a vocabulary in this tokenizer's format")
    train.add_argument("files", nargs="+", help="UTF-8 text files to learn from")
    train.add_argument("-o", "--output", required=True, help="directory to write to")
    train.add_argument("--vocab-size", type=int, default=16384, help="(default: %(default)s)")
    train.add_argument("--min-frequency", type=int, default=2, help="(default: %(default)s)")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bbtok`` command."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (OSError, ValueError) as error:
        print(f"bbtok: error: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
