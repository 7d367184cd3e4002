"""The ``bbtok`` command line: ``demo``, ``train``, ``generate`` and ``chat``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .fast import BlenderbotSmallTokenizerFast
from .tokenizer import BlenderbotSmallTokenizer

DEFAULT_TOKENIZER_DIR = os.path.join("fixtures", "realistic")
DEFAULT_MODEL_DIR = os.path.join("fixtures", "tiny-model")
RANDOM_WEIGHTS_NOTE = (
    "note: fixtures/tiny-model has random weights, so its replies are nonsense; point --model at "
    "a real BlenderbotSmall checkpoint directory (config.json, model.safetensors, vocab.json, "
    "merges.txt) for real ones"
)
# Turns of a conversation are joined with a line break, which the tokenizer turns into the
# __newln__ token: the way BlenderBot-small's training data separated them.
TURN_SEPARATOR = "\n"
QUIT_WORDS = {"quit", "exit"}
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
            f"bbtok: no model directory at {directory!r}; run from the repository root or pass "
            "--model DIR (a checkpoint directory with config.json, model.safetensors, vocab.json "
            "and merges.txt)"
        )
    model = BlenderbotSmallForConditionalGeneration.from_pretrained(directory, dtype=dtype)
    return model, BlenderbotSmallTokenizerFast.from_pretrained(directory)


def _generate_and_show(
    directory: str, texts: list[str], settings: dict[str, Any], dtype: str
) -> list[str]:
    model, tok = _load_model(directory, dtype)
    if os.path.abspath(directory) == os.path.abspath(DEFAULT_MODEL_DIR):
        print(RANDOM_WEIGHTS_NOTE)
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
    if os.path.abspath(args.model) == os.path.abspath(DEFAULT_MODEL_DIR):
        print(RANDOM_WEIGHTS_NOTE)
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
    demo.add_argument(
        "--model",
        default=DEFAULT_MODEL_DIR,
        help="checkpoint to run the tokenized text through ('' to skip; default: %(default)s)",
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
            help="checkpoint directory with its tokenizer files (default: %(default)s)",
        )
        command.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        command.add_argument("--max-new-tokens", type=int, help="(default: the checkpoint's)")
        command.add_argument("--min-new-tokens", type=int, help="(default: the checkpoint's)")
        command.add_argument("--num-beams", type=int, help="(default: the checkpoint's)")
        command.add_argument("--no-repeat-ngram-size", type=int, help="(default: the checkpoint's)")
        if name == "generate":
            command.add_argument("text", nargs="+", help="texts to reply to")
        command.set_defaults(run=run)

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
