"""The ``tokenizers`` pipeline of the Blenderbot tokenizer, built from a directory's files:
``merges.txt`` and ``tokenizer.json`` read, and the pipeline (the *core*) set up as transformers
5.23.0 sets it up: BPE with no continuation prefix or word suffix, the GPT-2 byte-level
pre-tokenizer and decoder, no normalizer; the post-processor of ``X </s>``.

The inputs the core is given for a call are made here too (:func:`core_batch`); the rows it
makes of them, overflowing windows included, are made in :mod:`bbtok.blenderbot.overflow_windows`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
    pipeline is the family's own). What is not what ``tokenizers`` writes there is a
    ValueError naming the file and the key (the post-processor is checked where it is read,
    :meth:`~bbtok.blenderbot.post_processor.SpecialTokenLayout.from_post_processor`)."""
    source = os.fspath(path)
    spec = files.read_json(path, files.MAX_VOCAB_BYTES)
    model = spec.get("model") if isinstance(spec, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE":
        raise ValueError(f"{source}: expected a tokenizer with a BPE model")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict):
        raise ValueError(
            f"{source}: model.vocab must be a JSON object of token -> id, found "
            f"{type(vocab).__name__}"
        )
    vocabulary_files.check_vocab(vocab, f"{source}: model.vocab")
    merges = model.get("merges")
    if not isinstance(merges, list):
        raise ValueError(
            f"{source}: model.merges must be a JSON array of merges, found {type(merges).__name__}"
        )
    pairs = [
        _merge_pair(merge, f"{source}: model.merges[{rank}]") for rank, merge in enumerate(merges)
    ]
    added_tokens = spec.get("added_tokens")
    if added_tokens is None:
        added_tokens = []
    if not isinstance(added_tokens, list):
        raise ValueError(
            f"{source}: added_tokens must be a JSON array, found {type(added_tokens).__name__}"
        )
    decoder: dict[int, AddedToken] = {}
    for number, entry in enumerate(added_tokens):
        index, token = _added_token(entry, f"{source}: added_tokens[{number}]")
        decoder[index] = token
    post_processor = spec.get("post_processor")
    if post_processor is not None and not isinstance(post_processor, dict):
        raise ValueError(
            f"{source}: post_processor must be a JSON object or null, found "
            f"{type(post_processor).__name__}"
        )
    return vocab, pairs, post_processor, decoder


# The special tokens of the vocabulary a constructor given none makes, by id.
MINIMAL_VOCABULARY_ROLES = ("bos_token", "pad_token", "eos_token", "unk_token", "mask_token")


def given_vocabulary(
    vocab: object, merges: object, special_tokens: Mapping[str, object]
) -> tuple[str, dict[str, int], list[tuple[str, str]]]:
    """Where errors say the vocabulary comes from, the vocabulary and the merges, of a
    constructor's ``vocab`` and ``merges``, as transformers 5.23.0 takes them: a dict of token
    -> id and a list of pairs of symbols (no merges: none), or the paths of ``vocab.json`` and
    ``merges.txt``; no ``vocab``: the special tokens of ``special_tokens`` (the constructor's
    settings) at ids 0 to 4, as in :data:`MINIMAL_VOCABULARY_ROLES`. Anything else is a
    ValueError naming the argument.

    >>> given_vocabulary({"a": 0, "b": 1, "ab": 2}, [("a", "b")], {})
    ('vocab', {'a': 0, 'b': 1, 'ab': 2}, [('a', 'b')])
    """
    paths = [isinstance(value, (str, os.PathLike)) for value in (vocab, merges)]
    if any(paths):
        if not all(paths):
            raise ValueError(
                "vocab and merges must both be paths (of vocab.json and merges.txt) or both be "
                "in memory (a dict of token -> id and a list of pairs of symbols)"
            )
        assert isinstance(vocab, (str, os.PathLike)) and isinstance(merges, (str, os.PathLike))
        source = os.fspath(merges)
        return source, vocabulary_files.read_vocab(vocab), read_byte_level_merges(merges)
    if vocab is None:
        # Quirk: a special token that is None is the token "None", as str() makes it.
        vocab = {
            str(special_tokens.get(role)): index
            for index, role in enumerate(MINIMAL_VOCABULARY_ROLES)
        }
    if not isinstance(vocab, dict):
        raise ValueError(
            f"vocab must be a dict of token -> id or the path of vocab.json, got a "
            f"{type(vocab).__name__}"
        )
    vocabulary_files.check_vocab(vocab, "vocab")
    if merges is not None and not isinstance(merges, (list, tuple)):
        raise ValueError(
            f"merges must be a list of pairs of symbols or the path of merges.txt, got a "
            f"{type(merges).__name__}"
        )
    return "vocab", dict(vocab), check_merges(list(merges or []), "merges")


def check_merges(merges: object, source: str) -> list[tuple[str, str]]:
    """``merges`` (a list of pairs of symbols, as a tokenizer holds them) checked, or a
    ValueError starting with ``source`` (where they come from: a pickle)."""
    if not isinstance(merges, list):
        raise ValueError(f"{source}: the merges are a {type(merges).__name__}, not a list")
    return [
        _merge_pair(list(merge) if isinstance(merge, tuple) else merge, f"{source}: merge {rank}")
        for rank, merge in enumerate(merges)
    ]


def check_merges_in_vocab(
    merges: list[tuple[str, str]], vocab: dict[str, int], source: str
) -> None:
    """Raise a ValueError starting with ``source`` unless both symbols of every merge and
    their merge are in the vocabulary: ``tokenizers`` refuses a BPE model otherwise."""
    for rank, (first, second) in enumerate(merges):
        for symbol in (first, second, first + second):
            if symbol not in vocab:
                raise ValueError(
                    f"{source}: merge {rank} ({first!r} {second!r}): {symbol!r} is not in the "
                    "vocabulary"
                )


def _merge_pair(merge: object, where: str) -> tuple[str, str]:
    # Written as "a b" by older versions of tokenizers, as ["a", "b"] by newer ones.
    parts = merge.split(" ", 1) if isinstance(merge, str) else merge
    if (
        not isinstance(parts, list)
        or len(parts) != 2
        or not all(isinstance(part, str) and part for part in parts)
    ):
        raise ValueError(f'{where}: a merge is two symbols ("a b" or ["a", "b"]), got {merge!r}')
    for part in parts:
        vocabulary_files.check_text(part, where)
    return parts[0], parts[1]


# The keys of an added token in tokenizer.json besides its id and content.
ADDED_TOKEN_FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")


def _added_token(entry: object, where: str) -> tuple[int, AddedToken]:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: an added token is a JSON object, found {type(entry).__name__}")
    for key in ("id", "content", *ADDED_TOKEN_FLAGS):
        if key not in entry:
            raise ValueError(f"{where}: the added token has no {key!r}")
    content = entry["content"]
    if not isinstance(content, str):
        raise ValueError(f"{where}.content: must be a string, found {type(content).__name__}")
    vocabulary_files.check_text(content, where)
    vocabulary_files.check_token_id(content, entry["id"], where)
    flags = {}
    for key in ADDED_TOKEN_FLAGS:
        if not isinstance(entry[key], bool):
            raise ValueError(f"{where}.{key}: must be true or false, found {entry[key]!r}")
        flags[key] = entry[key]
    return entry["id"], AddedToken(content, **flags)


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


def no_special_tokens_template() -> dict[str, Any]:
    """The post-processor transformers 5.23.0 gives a pipeline that has none: ``X`` and
    ``A B``, the second sequence of type 1."""
    return {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {},
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


# -- the core's input -------------------------------------------------------------------------


def is_text_input(value: object) -> bool:
    """Whether ``value`` is text as transformers 5.23.0's ``tokenizers``-backed tokenizers take
    it: a str, or lists (of lists (of lists)) whose first item is a str; an empty list at any of
    those levels passes.

    >>> is_text_input([["a", "b"]]), is_text_input([1, 2])
    (True, False)
    """
    for _ in range(4):
        if isinstance(value, str):
            return True
        if not isinstance(value, (list, tuple)):
            return False
        if not value:
            return True
        value = value[0]
    return False


def core_batch(text: Any, text_pair: Any, pretokenized: bool) -> list[Any]:
    """The inputs of ``Tokenizer.encode_batch`` for a call's ``text`` and ``text_pair``, as
    transformers 5.23.0 makes them: a batch of texts or of (text, pair) tuples, or one of
    them for a single text. Its checks are made, with its exception types.

    >>> core_batch(["a", "b"], ["x", "y"], pretokenized=False)
    [('a', 'x'), ('b', 'y')]
    """
    for name, value in (("text", text), ("text_pair", text_pair)):
        if value is not None and not is_text_input(value):
            raise ValueError(
                f"`{name}` must be a str, a list of str (a batch, or one text split into words "
                "with is_split_into_words=True), a list of lists of str, or a list of pairs of "
                f"them; got {type(value).__name__}"
            )
    if not is_batched(text, pretokenized):
        # Quirk: an empty text_pair ("" or []) is dropped, so the text is encoded alone.
        return [(text, text_pair)] if text_pair else [text]
    if isinstance(text_pair, str):
        raise TypeError("`text` is a batch, so `text_pair` must be a list or tuple, not a str")
    if text_pair is None:
        return list(text)
    if len(text) != len(text_pair):
        raise ValueError(
            f"`text` is a batch of {len(text)} but `text_pair` a batch of {len(text_pair)}"
        )
    return list(zip(text, text_pair, strict=True))


def is_batched(text: Any, pretokenized: bool) -> bool:
    """Whether a call's ``text`` is a batch, as transformers 5.23.0 tells: a list of texts, or
    (``is_split_into_words``) a list of lists of words.

    >>> is_batched(["a", "b"], False), is_batched(["a", "b"], True)
    (True, False)
    """
    if pretokenized:
        return isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
    return isinstance(text, (list, tuple))


def split_input(item: Any, pretokenized: bool) -> tuple[Any, Any] | None:
    """An input of ``encode_batch`` as the ``tokenizers`` library reads it: (first sequence,
    second sequence or None), or None when the library will refuse it.

    >>> split_input(["a b", "c"], pretokenized=False), split_input(("a", "b"), pretokenized=True)
    (('a b', 'c'), (('a', 'b'), None))
    """
    if pretokenized:
        if isinstance(item, (list, tuple)) and all(isinstance(word, str) for word in item):
            return item, None
    elif isinstance(item, str):
        return item, None
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return item[0], item[1]
    return None
