"""The ``tokenizers`` pipeline of the Blenderbot tokenizer, built from a directory's files:
``merges.txt`` and ``tokenizer.json`` read, and the pipeline (the *core*) set up as transformers
5.23.0 sets it up: BPE with no continuation prefix or word suffix, the GPT-2 byte-level
pre-tokenizer and decoder, no normalizer; the post-processor of ``X </s>``.
"""

from __future__ import annotations

import os
from typing import Any

from tokenizers import AddedToken as CoreAddedToken

from bbtok.storage import files
from bbtok.tokenization import vocabulary_files
from bbtok.tokenization.added_tokens import AddedToken


def read_byte_level_merges(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The merges of a byte-level ``merges.txt``, in rank order: a ``#version`` header and
    empty lines are skipped (as ``tokenizers`` reads the file); any other line must be two
    symbols, else a ValueError names the file and line."""
    merges: list[tuple[str, str]] = []
    text = files.read_text(path, files.MAX_VOCAB_BYTES)
    for number, line in enumerate(text.split("\n"), start=1):
        if not line or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise ValueError(f"{os.fspath(path)}:{number}: a merge is two symbols, got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def read_pipeline_file(
    path: str | os.PathLike[str],
) -> tuple[dict[str, int], list[tuple[str, str]], dict[str, Any] | None, dict[int, AddedToken]]:
    """What this tokenizer takes from a ``tokenizer.json``, as transformers 5.23.0 does: the
    BPE vocabulary and merges, the post-processor and the added tokens (the rest of the
    pipeline is the family's own)."""
    spec = files.read_json(path, files.MAX_VOCAB_BYTES)
    model = spec.get("model") if isinstance(spec, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE":
        raise ValueError(f"{os.fspath(path)}: expected a tokenizer with a BPE model")
    vocab = dict(model["vocab"])
    vocabulary_files.check_vocab(vocab, os.fspath(path))
    merges: list[tuple[str, str]] = []
    for merge in model["merges"]:
        # Written as "a b" by older versions of tokenizers, as ["a", "b"] by newer ones.
        first, second = merge if isinstance(merge, list) else merge.split(" ", 1)
        merges.append((first, second))
    added_tokens = {
        int(token["id"]): AddedToken(
            token["content"],
            single_word=token["single_word"],
            lstrip=token["lstrip"],
            rstrip=token["rstrip"],
            normalized=token["normalized"],
            special=token["special"],
        )
        for token in spec.get("added_tokens") or []
    }
    return vocab, merges, spec.get("post_processor"), added_tokens


def core_spec(
    vocab: dict[str, int],
    merges: list[tuple[str, str]],
    add_prefix_space: bool,
) -> dict[str, Any]:
    """The core's pipeline, as transformers 5.23.0's constructor sets it up (no post-processor
    yet: it is set once the special tokens have their ids)."""
    byte_level = {"add_prefix_space": add_prefix_space, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [list(merge) for merge in merges],
        },
    }


def eos_template(eos: str, eos_id: int) -> dict[str, Any]:
    """The post-processor of ``X </s>`` and ``A </s> B </s>``."""
    sequence_a = {"Sequence": {"id": "A", "type_id": 0}}
    sequence_b = {"Sequence": {"id": "B", "type_id": 1}}
    return {
        "type": "TemplateProcessing",
        "single": [sequence_a, {"SpecialToken": {"id": eos, "type_id": 0}}],
        "pair": [
            sequence_a,
            {"SpecialToken": {"id": eos, "type_id": 0}},
            sequence_b,
            {"SpecialToken": {"id": eos, "type_id": 1}},
        ],
        "special_tokens": {eos: {"id": eos, "ids": [eos_id], "tokens": [eos]}},
    }


def core_token(token: AddedToken) -> CoreAddedToken:
    """An added token of the shared registry as the ``tokenizers`` library takes it."""
    return CoreAddedToken(
        token.content,
        single_word=token.single_word,
        lstrip=token.lstrip,
        rstrip=token.rstrip,
        normalized=token.normalized,
        special=token.special,
    )
