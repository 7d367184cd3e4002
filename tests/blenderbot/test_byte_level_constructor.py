"""BlenderbotTokenizer made from a vocabulary and merges given to its constructor (``vocab=``,
``merges=``: in memory or as paths; neither: five special tokens alone), live against
transformers 5.23.0's class made the same way: the same ids, tokens and saved files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from blenderbot_fixtures import BYTE_LEVEL_DIR, blenderbot_reference_class

from bbtok import BlenderbotTokenizer

VOCAB = {
    "<s>": 0,
    "<pad>": 1,
    "</s>": 2,
    "<unk>": 3,
    "Ġ": 4,
    "h": 5,
    "i": 6,
    "Ġh": 7,
    "hi": 8,
    "Ġhi": 9,
    "<mask>": 10,
    "a": 11,
}
MERGES = [("Ġ", "h"), ("h", "i"), ("Ġh", "i")]
CONSTRUCTIONS = {
    "in memory": {"vocab": VOCAB, "merges": MERGES},
    "without special tokens in the vocabulary": {
        "vocab": {"a": 0, "b": 1, "ab": 2},
        "merges": [("a", "b")],
    },
    "no merges": {"vocab": VOCAB},
    "nothing": {},
    "as paths": {
        "vocab": str(BYTE_LEVEL_DIR / "vocab.json"),
        "merges": str(BYTE_LEVEL_DIR / "merges.txt"),
    },
    "a special token of its own": {"vocab": {"a": 0}, "eos_token": "[E]"},
}
TEXTS = ["hi hi", "hi a <mask> b", "Hello world", "</s><s> ab a"]


def observed(tokenizer: Any) -> dict[str, Any]:
    return {
        "ids": [tokenizer(text)["input_ids"] for text in TEXTS],
        "pairs": [tokenizer(text, "hi <mask> a")["input_ids"] for text in TEXTS],
        "padded": tokenizer(TEXTS, padding=True)["input_ids"],
        "tokens": [tokenizer.tokenize(text) for text in TEXTS],
        "vocab": tokenizer.get_vocab(),
        "len": len(tokenizer),
        "vocab_size": tokenizer.vocab_size,
        "special_tokens": tokenizer.special_tokens_map,
        "added_tokens": {
            index: (str(token), token.lstrip, token.rstrip, token.normalized, token.special)
            for index, token in tokenizer.added_tokens_decoder.items()
        },
    }


@pytest.mark.parametrize("arguments", CONSTRUCTIONS.values(), ids=list(CONSTRUCTIONS))
def test_a_tokenizer_made_from_a_given_vocabulary_encodes_as_the_reference(
    arguments: dict[str, Any],
) -> None:
    reference = blenderbot_reference_class()(**arguments)
    assert observed(BlenderbotTokenizer(**arguments)) == observed(reference)


def test_no_vocabulary_gives_the_five_special_tokens_and_encodes_text_to_nothing() -> None:
    blenderbot_reference_class()  # a skip without transformers
    tokenizer = BlenderbotTokenizer()
    assert tokenizer.get_vocab() == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    assert tokenizer("hello")["input_ids"] == []
    assert tokenizer("a <mask>", "b")["input_ids"] == [4]


@pytest.mark.parametrize("saved_by", ["ours", "reference"])
@pytest.mark.parametrize("arguments", CONSTRUCTIONS.values(), ids=list(CONSTRUCTIONS))
def test_a_tokenizer_made_from_a_given_vocabulary_saves_what_both_classes_load(
    arguments: dict[str, Any], saved_by: str, tmp_path: Path
) -> None:
    reference_class = blenderbot_reference_class()
    saver = BlenderbotTokenizer(**arguments) if saved_by == "ours" else reference_class(**arguments)
    expected = observed(saver)
    saver.save_pretrained(tmp_path)
    assert observed(BlenderbotTokenizer.from_pretrained(tmp_path)) == expected
    assert observed(reference_class.from_pretrained(str(tmp_path))) == expected


def test_a_merge_of_a_symbol_the_vocabulary_lacks_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"vocab: merge 0 \('a' 'c'\): 'c' is not in"):
        BlenderbotTokenizer(vocab={"a": 0, "b": 1, "ab": 2}, merges=[("a", "c")])


def test_a_merge_that_is_not_two_symbols_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"merges: merge 1: a merge is two symbols"):
        BlenderbotTokenizer(vocab={"a": 0, "b": 1, "ab": 2}, merges=[("a", "b"), ("a",)])


def test_a_vocabulary_path_with_merges_in_memory_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must both be paths"):
        BlenderbotTokenizer(vocab=str(BYTE_LEVEL_DIR / "vocab.json"), merges=MERGES)


def test_a_vocabulary_that_is_neither_a_dict_nor_a_path_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="vocab must be a dict of token -> id"):
        BlenderbotTokenizer(vocab=[("a", 0)], merges=[])


def test_a_vocabulary_given_in_memory_is_not_changed_by_added_tokens() -> None:
    vocab = {"a": 0}
    tokenizer = BlenderbotTokenizer(vocab=vocab)
    tokenizer.add_tokens(["zzq"])
    assert vocab == {"a": 0}
