"""The model's commands: ``generate``, ``chat`` and ``convert``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from bbtok.blenderbot import family as byte_level_family
from bbtok.blenderbot_small import family as small_family
from bbtok.cli.checkpoints import generating_checkpoint, load_model
from bbtok.tokenizer_auto import AnyTokenizer, auto_tokenizer, is_byte_level

QUIT_WORDS = {"quit", "exit"}
# The longest message read from a pipe or a file: far more than the model's positions hold, and
# a bound on memory when standard input has no line ends (/dev/zero). A terminal bounds what a
# person types itself.
MAX_MESSAGE_CHARACTERS = 1 << 20


def _check_texts(tok: AnyTokenizer, texts: list[str]) -> None:
    """A text without a token would reach the model as an input of length 0 (or of its end
    token alone): name it instead."""
    encoded = tok(texts, add_special_tokens=False)["input_ids"]
    for number, (text, ids) in enumerate(zip(texts, encoded), 1):
        if not ids:
            what = "empty" if not text else "only white space"
            raise ValueError(f"text {number} is {what}: there is nothing to reply to")


def generate_and_show(
    model_name: str,
    tokenizer_name: str | None,
    texts: list[str],
    settings: dict[str, Any],
    dtype: str,
) -> list[str]:
    """Reply to each text, printing it, the ids generated and the reply; ``tokenizer_name``
    None reads the tokenizer beside the model."""
    model_dir, tokenizer_dir = generating_checkpoint(model_name, tokenizer_name)
    tok = auto_tokenizer(tokenizer_dir)
    _check_texts(tok, texts)
    model = load_model(model_dir, dtype)
    batch = tok(texts, padding=True, return_tensors="np")
    output = model.generate(batch["input_ids"], batch["attention_mask"], **settings)
    replies = tok.batch_decode(output, skip_special_tokens=True)
    ends = _end_ids(model, settings)
    for text, ids, reply in zip(texts, output.tolist(), replies):
        print(f"input:     {text!r}")
        print(f"generated: {without_padding(ids, ends)}")
        print(f"reply:     {reply!r}")
    return replies


def _end_ids(model: Any, settings: dict[str, Any]) -> set[int]:
    """The ids that end a reply, as the model's generate resolves them."""
    from bbtok.generation.settings import GenerationSettings

    resolved = GenerationSettings.resolve(
        model.config.to_dict(), model.config.generation_config, settings
    )
    ends = resolved.eos_token_id
    return set() if ends is None else {ends} if isinstance(ends, int) else set(ends)


def without_padding(ids: list[int], ends: set[int]) -> list[int]:
    """A row of a batch's output up to its end token: the rest is the padding that makes the
    batch's rows one length (its first id, the decoder's start, is never an end).

    >>> without_padding([1, 7, 8, 2, 0, 0], {2})
    [1, 7, 8, 2]
    >>> without_padding([1, 7, 8, 9], {2})
    [1, 7, 8, 9]
    """
    for position in range(1, len(ids)):
        if ids[position] in ends:
            return ids[: position + 1]
    return ids


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The generation settings given on the command line (the rest: the checkpoint's)."""
    names = ("max_new_tokens", "num_beams", "min_new_tokens", "no_repeat_ngram_size")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run_generate(args: argparse.Namespace) -> int:
    """Reply to each text given."""
    generate_and_show(args.model, args.tokenizer, args.text, _settings(args), args.dtype)
    return 0


def run_chat(args: argparse.Namespace) -> int:
    """A conversation: each reply sees the turns so far, cut from the left to what the model's
    positions hold. Only the replies (``bot> ...``) are results, on standard output; the
    greeting and the prompts are shown, on standard error, when the input is a terminal."""
    model_dir, tokenizer_dir = generating_checkpoint(args.model, args.tokenizer)
    tok = auto_tokenizer(tokenizer_dir)
    byte_level = is_byte_level(tokenizer_dir)
    model = load_model(model_dir, args.dtype)
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing()
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
        context = conversation_inputs(
            tok, history, byte_level, model.config.max_position_embeddings
        )
        output = model.generate(context["input_ids"], context["attention_mask"], **_settings(args))
        reply = tok.decode(output[0], skip_special_tokens=True)
        print(f"bot> {reply}", flush=True)
        history.append(reply)
    return 0


def conversation_inputs(
    tok: AnyTokenizer, turns: list[str], byte_level: bool, max_length: int
) -> Any:
    """The model's input (``input_ids`` and ``attention_mask``, numpy, cut to ``max_length``
    from the tokenizer's truncation side) for a conversation whose turns alternate, the
    person's first: rendered by the checkpoint's chat template, with its generation prompt,
    when the tokenizer has one; else joined as the family expects them
    (:func:`conversation_text`)."""
    if tok.chat_template is None:
        return tok(
            conversation_text(turns, byte_level),
            truncation=True,
            max_length=max_length,
            return_tensors="np",
        )
    roles = ("user", "assistant")
    messages = [{"role": roles[number % 2], "content": turn} for number, turn in enumerate(turns)]
    return tok.apply_chat_template(
        messages,
        add_generation_prompt=True,
        truncation=True,
        max_length=max_length,
        return_tensors="np",
        return_dict=True,
    )


def conversation_text(turns: list[str], byte_level: bool) -> str:
    """The model's input for a conversation whose turns alternate, the person's first, joined
    as the checkpoint's family expects them."""
    if not byte_level:
        return small_family.TURN_SEPARATOR.join(turns)
    return byte_level_family.TURN_SEPARATOR.join(
        byte_level_family.USER_TURN_PREFIX + turn if number % 2 == 0 else turn
        for number, turn in enumerate(turns)
    )


def _enable_line_editing() -> None:
    """Arrow keys, history and Ctrl-A/E for the person typing: importing ``readline`` gives them
    to ``input()`` (where the platform has it: not on Windows)."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401


def _read_message(interactive: bool) -> str:
    """The next line of input, after a ``you>`` prompt when a person is typing it."""
    if not interactive:
        line = sys.stdin.readline(MAX_MESSAGE_CHARACTERS + 1)
        if not line:
            raise EOFError
        if line.endswith("\n"):
            return line[:-1]
        if len(line) > MAX_MESSAGE_CHARACTERS:
            raise ValueError(
                f"standard input: a message longer than {MAX_MESSAGE_CHARACTERS:,} characters "
                "(one message a line)"
            )
        return line
    if sys.stdout.isatty():
        return input("you> ")  # input() draws its prompt itself, for line editing
    # Standard output goes to a file or a pipe: the prompt is for the person, not the results.
    sys.stderr.write("you> ")
    sys.stderr.flush()
    return input()


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
