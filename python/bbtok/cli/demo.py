"""``bbtok demo``: the whole pipeline on sample text, step by step."""

from __future__ import annotations

import argparse

from bbtok.blenderbot_small.tokenizer import BlenderbotSmallTokenizer
from bbtok.cli.checkpoints import tokenizer_directory
from bbtok.cli.model_commands import generate_and_show
from bbtok.corpus.progress import plural
from bbtok.tokenizer_auto import auto_tokenizer, is_byte_level

DEMO_TEXTS = (
    "Hello! How are you doing today?",
    "I'm fine, thanks (mostly).\nAnd you?",
    "__start__ Les élèves n'ont pas révisé. ΟΔΟΣ İstanbul Straße 日本語 😀 __end__",
)


def run_demo(args: argparse.Namespace) -> int:
    """Tokenize sample text with the tokenizer of the directory's family (the fast one of
    BlenderbotSmall, or the byte-level Blenderbot one) and show tokens, ids, offsets, the
    decoded text, a padded batch, and for BlenderbotSmall whether the pure-Python tokenizer
    agrees; then run the model when there is one."""
    directory = tokenizer_directory(args.tokenizer)
    fast = auto_tokenizer(directory)
    pure = None if is_byte_level(directory) else BlenderbotSmallTokenizer.from_pretrained(directory)
    texts = args.text or list(DEMO_TEXTS)
    print(f"tokenizer: {args.tokenizer} ({type(fast).__name__}, {plural(len(fast), 'token')})")
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
        if pure is not None:
            agrees = pure(text)["input_ids"] == ids
            print(f"pure-Python tokenizer gives the same ids: {agrees}")
    batch = fast(texts, padding=True, return_tensors="np")
    print()
    print("batch for the model (padding=True, return_tensors='np'):")
    print(f"input_ids {batch['input_ids'].shape}:\n{batch['input_ids']}")
    print(f"attention_mask:\n{batch['attention_mask']}")
    if args.model:
        print()
        print(f"the whole pipeline, text -> ids -> model -> ids -> text, on {args.model}:")
        generate_and_show(args.model, None, texts, {"max_new_tokens": 12}, "float32")
    return 0
