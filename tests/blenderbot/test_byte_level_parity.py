"""bbtok's BlenderbotTokenizer against transformers 5.23.0's, loaded from the same directory.

The tokenizer.json form must match in everything. The vocab.json + merges.txt form differs in
one documented way (docs/reference-behaviour.md, "Blenderbot (byte-level)"): we add ``</s>``
(``X </s>``, ``A </s> B </s>``) where 5.23.0 adds nothing; everything else matches.
"""

from __future__ import annotations

import json
import logging
import shutil
from functools import partial
from typing import Any

import blenderbot_fixtures
import numpy as np
import pytest
from blenderbot_fixtures import blenderbot_reference_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbtok import BlenderbotTokenizer

# The shared fixtures, made visible to pytest in this module.
tokenizer_json_dir = blenderbot_fixtures.tokenizer_json_dir
json_pair = blenderbot_fixtures.json_pair
vocab_pair = blenderbot_fixtures.vocab_pair

EOS_ID = 2
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}

# Every code point, lone surrogates included (hypothesis leaves out category Cs by default).
ANY_CHARACTER = st.characters(exclude_categories=())
FRAGMENTS = st.sampled_from(
    [
        *" \t\n\r\x0b\x0c\x85\xa0\u2028\u3000",
        "     ",
        "\n\n\n",
        " \t \n ",
        "<mask>",
        " <mask>",
        "  <mask> ",
        "</s>",
        "<s>",
        "<pad>",
        "<unk>",
        "<mas",
        "😀",
        "👨\u200d👩\u200d👧",
        "🇫🇷",
        "e\u0301",
        "\u0301",
        "\u0300\u0316",
        "\x00",
        "\x1b[0m",
        "\x7f",
        "\ud800",
        "\udfff",
        "日本語",
        "İstanbul",
        "Hello",
        "world",
        "don't",
        "it's",
        "'ll",
        "123",
        "...",
        "?!",
        "def",
        "__init__",
    ]
)
ARBITRARY_TEXT = st.text(ANY_CHARACTER, max_size=40)
TARGETED_TEXT = st.lists(
    st.one_of(FRAGMENTS, FRAGMENTS, st.text(ANY_CHARACTER, max_size=3)), max_size=20
).map("".join)
TEXTS = st.one_of(ARBITRARY_TEXT, TARGETED_TEXT)

EXAMPLES = [
    "Hello world",
    " Hello world",
    "Hello  <mask> world",
    "a<mask>b",
    "x</s>y<s>z",
    "Héllo  wörld 😀\n\n  tabs\t",
    "   leading and trailing   ",
    "e\u0301\u0301 combining",
    "control \x00\x01\x1b chars",
    "",
    " ",
    "\n",
    "It's a test, isn't it? Yes: it's 2024!",
]


def outcome(call: Any) -> tuple[str, Any]:
    """What a call gives: its value, or the type of what it raised."""
    try:
        return ("value", call())
    except Exception as error:  # the reference's exception types are part of its behaviour
        return ("raises", type(error).__name__)


def expected_outcome(call: Any, text: Any) -> tuple[str, Any]:
    """The reference's outcome, as ours should be: a text holding a lone surrogate, which the
    reference refuses with the tokenizers library's TypeError (that it must be a str), is a
    ValueError naming the text here."""
    result = outcome(call)
    if result == ("raises", "TypeError") and any("\ud800" <= char <= "\udfff" for char in text):
        return ("raises", "ValueError")
    return result


def call_fields(tokenizer: Any, text: Any, **kwargs: Any) -> dict[str, Any]:
    encoding = tokenizer(text, **kwargs)
    fields = {
        key: value.tolist() if isinstance(value, np.ndarray) else value
        for key, value in encoding.items()
    }
    if kwargs.get("return_offsets_mapping"):
        rows = len(text) if isinstance(text, list) else 1
        fields["word_ids"] = [encoding.word_ids(i) for i in range(rows)]
    return fields


def assert_same_text_behaviour(ours: BlenderbotTokenizer, reference: Any, text: str) -> None:
    """tokens, ids, offsets, word ids and decoding of one text, without special tokens."""
    assert outcome(lambda: ours.tokenize(text)) == expected_outcome(
        lambda: reference.tokenize(text), text
    )
    options = {"add_special_tokens": False, "return_offsets_mapping": True}
    ours_fields = outcome(lambda: call_fields(ours, text, **options))
    assert ours_fields == expected_outcome(lambda: call_fields(reference, text, **options), text)
    if ours_fields[0] == "value":
        ids = ours_fields[1]["input_ids"]
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == reference.decode(
                ids, skip_special_tokens=skip
            )


# -- the tokenizer.json form: everything as transformers ---------------------------------------


@pytest.mark.parametrize("text", EXAMPLES)
def test_json_form_encodes_each_example_as_transformers(json_pair: Any, text: str) -> None:
    ours, reference = json_pair
    assert_same_text_behaviour(ours, reference, text)
    options = {"return_offsets_mapping": True, "return_special_tokens_mask": True}
    assert call_fields(ours, text, **options) == call_fields(reference, text, **options)


@settings(max_examples=300, **SETTINGS)
@given(text=TEXTS)
def test_json_form_matches_transformers_on_any_unicode(json_pair: Any, text: str) -> None:
    ours, reference = json_pair
    assert_same_text_behaviour(ours, reference, text)
    assert outcome(lambda: call_fields(ours, text)) == expected_outcome(
        lambda: call_fields(reference, text), text
    )


@settings(max_examples=60, **SETTINGS)
@given(texts=st.lists(TARGETED_TEXT.filter(lambda t: "\ud800" not in t), min_size=1, max_size=6))
def test_json_form_batches_pads_and_truncates_as_transformers(
    json_pair: Any, texts: list[str]
) -> None:
    ours, reference = json_pair
    surrogate_free = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
    for options in (
        {"padding": True},
        {"padding": "max_length", "max_length": 12, "truncation": True},
        {"padding": True, "truncation": True, "max_length": 5, "return_tensors": "np"},
        {"return_offsets_mapping": True, "padding": True},
        {"padding": True, "padding_side": "left", "return_offsets_mapping": True},
    ):
        assert call_fields(ours, surrogate_free, **options) == call_fields(
            reference, surrogate_free, **options
        )
    ids = call_fields(reference, surrogate_free)["input_ids"]
    assert ours.batch_decode(ids) == reference.batch_decode(ids)


def test_json_form_encodes_pairs_as_transformers(json_pair: Any) -> None:
    ours, reference = json_pair
    for options in ({}, {"padding": True}, {"return_token_type_ids": True}):
        assert call_fields(ours, "Hello there", **options, text_pair="General Kenobi") == (
            call_fields(reference, "Hello there", **options, text_pair="General Kenobi")
        )
        firsts, seconds = ["a b", "Hello"], ["c", "world  x"]
        assert call_fields(ours, firsts, **options, text_pair=seconds) == call_fields(
            reference, firsts, **options, text_pair=seconds
        )


def test_lone_surrogates_are_refused_as_the_reference_does_but_with_a_value_error(
    json_pair: Any,
) -> None:
    ours, reference = json_pair
    assert outcome(lambda: reference("a\ud800b")) == ("raises", "TypeError")
    with pytest.raises(ValueError, match="text holds a lone surrogate at character 1"):
        ours("a\ud800b")


def test_added_tokens_behave_as_in_transformers(tokenizer_json_dir: Any) -> None:
    ours = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir)
    reference = blenderbot_reference_class().from_pretrained(str(tokenizer_json_dir))
    for tokenizer in (ours, reference):
        assert tokenizer.add_tokens(["newtok", "Hello"]) == 2
        assert tokenizer.add_special_tokens({"additional_special_tokens": ["<x>"]}) == 1
    text = "anewtokHello<x> z <mask>"
    assert ours.tokenize(text) == reference.tokenize(text)
    assert call_fields(ours, text) == call_fields(reference, text)
    assert len(ours) == len(reference)
    assert ours.get_vocab() == reference.get_vocab()
    ids = ours(text)["input_ids"]
    for skip in (False, True):
        assert ours.decode(ids, skip_special_tokens=skip) == reference.decode(
            ids, skip_special_tokens=skip
        )


def test_special_tokens_and_vocabulary_are_those_of_transformers(json_pair: Any) -> None:
    ours, reference = json_pair
    assert ours.all_special_tokens == reference.all_special_tokens
    assert ours.all_special_ids == reference.all_special_ids
    assert ours.mask_token_id == reference.mask_token_id == 8007
    assert (ours.bos_token_id, ours.pad_token_id, ours.eos_token_id, ours.unk_token_id) == (
        0,
        1,
        2,
        3,
    )
    assert {i: str(t) for i, t in ours.added_tokens_decoder.items()} == {
        i: str(t) for i, t in reference.added_tokens_decoder.items()
    }
    assert ours.added_tokens_decoder[8007].lstrip
    assert ours.get_vocab() == reference.get_vocab()
    assert ours.vocab_size == reference.vocab_size == 8008
    tokens = reference.tokenize("Hello there, <mask>!")
    assert ours.convert_tokens_to_ids(tokens) == reference.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_string(tokens) == reference.convert_tokens_to_string(tokens)
    assert ours.convert_ids_to_tokens([0, 421, 8007]) == reference.convert_ids_to_tokens(
        [0, 421, 8007]
    )


def test_decode_ignores_clean_up_as_transformers_does_for_bpe(
    json_pair: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ours, reference = json_pair
    ids = ours.encode("Hello , world ' s .")
    with caplog.at_level(logging.WARNING, logger="bbtok"):
        cleaned = ours.decode(ids, clean_up_tokenization_spaces=True)
    assert cleaned == reference.decode(ids, clean_up_tokenization_spaces=True)
    assert cleaned == ours.decode(ids)
    assert "clean_up_tokenization_spaces_for_bpe" in caplog.text


def test_a_single_id_decodes_as_in_transformers(json_pair: Any) -> None:
    ours, reference = json_pair
    for index in (2, 421, 8007):
        for skip in (False, True):
            assert ours.decode(index, skip_special_tokens=skip) == reference.decode(
                index, skip_special_tokens=skip
            )


# -- the vocab.json + merges.txt form: the documented difference ---------------------------------


def test_vocab_form_adds_eos_where_transformers_adds_nothing(vocab_pair: Any) -> None:
    ours, reference = vocab_pair
    reference_ids = reference("Hello world")["input_ids"]
    assert ours("Hello world")["input_ids"] == [*reference_ids, EOS_ID]
    pair = ours("Hello", "world")["input_ids"]
    assert pair == (
        reference("Hello", add_special_tokens=False)["input_ids"]
        + [EOS_ID]
        + reference("world", add_special_tokens=False)["input_ids"]
        + [EOS_ID]
    )
    assert {i: str(t) for i, t in ours.added_tokens_decoder.items()} == {
        i: str(t) for i, t in reference.added_tokens_decoder.items()
    }
    assert ours.get_vocab() == reference.get_vocab()
    encoded = ours("Hi <mask>", return_offsets_mapping=True, return_special_tokens_mask=True)
    assert encoded["offset_mapping"][-1] == (0, 0)
    assert encoded["special_tokens_mask"][-1] == 1
    assert encoded.word_ids()[-1] is None


@settings(max_examples=150, **SETTINGS)
@given(text=TEXTS)
def test_vocab_form_matches_transformers_on_any_unicode_but_for_eos(
    vocab_pair: Any, text: str
) -> None:
    ours, reference = vocab_pair
    assert_same_text_behaviour(ours, reference, text)
    ours_ids = outcome(lambda: ours(text)["input_ids"])
    reference_ids = expected_outcome(lambda: reference(text)["input_ids"], text)
    if reference_ids[0] == "value":
        assert ours_ids == ("value", reference_ids[1] + [EOS_ID])
    else:
        assert ours_ids == reference_ids


def test_vocab_form_batches_on_the_core_with_eos(vocab_pair: Any) -> None:
    ours, reference = vocab_pair
    texts = ["a b", "Hello there friend", ""] * 30
    ours_ids = ours(texts)["input_ids"]
    assert ours_ids == [[*ids, EOS_ID] for ids in reference(texts)["input_ids"]]
    padded = ours(texts, padding=True, return_tensors="np")
    assert padded["input_ids"].shape == (len(texts), max(len(ids) for ids in ours_ids))


def test_split_special_tokens_per_call_and_per_tokenizer_as_transformers(
    json_pair: Any, tokenizer_json_dir: Any
) -> None:
    ours, reference = json_pair
    text = "a <mask> </s>b"
    assert call_fields(ours, text, split_special_tokens=True) == call_fields(
        reference, text, split_special_tokens=True
    )
    assert ours.tokenize(text, split_special_tokens=True) == reference.tokenize(
        text, split_special_tokens=True
    )
    splitting = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir, split_special_tokens=True)
    splitting_reference = blenderbot_reference_class().from_pretrained(
        str(tokenizer_json_dir), split_special_tokens=True
    )
    assert call_fields(splitting, text) == call_fields(splitting_reference, text)
    assert call_fields(ours, text) != call_fields(splitting, text)


POST_PROCESSORS: dict[str, Any] = {
    "none": None,
    "roberta": {
        "type": "RobertaProcessing",
        "sep": ["</s>", 2],
        "cls": ["<s>", 0],
        "trim_offsets": True,
        "add_prefix_space": True,
    },
    "bert": {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]},
    "byte_level_then_template": {
        "type": "Sequence",
        "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True},
            {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": "<s>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                ],
                "pair": [
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                    {"SpecialToken": {"id": "</s>", "type_id": 1}},
                ],
                "special_tokens": {
                    "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                    "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
                },
            },
        ],
    },
}


@pytest.mark.parametrize("kind", sorted(POST_PROCESSORS))
def test_the_post_processor_of_tokenizer_json_decides_the_special_tokens(
    kind: str, tokenizer_json_dir: Any, tmp_path: Any
) -> None:
    pipeline = json.loads((tokenizer_json_dir / "tokenizer.json").read_text(encoding="utf-8"))
    pipeline["post_processor"] = POST_PROCESSORS[kind]
    (tmp_path / "tokenizer.json").write_text(json.dumps(pipeline), encoding="utf-8")
    shutil.copy(tokenizer_json_dir / "tokenizer_config.json", tmp_path)
    ours = BlenderbotTokenizer.from_pretrained(tmp_path)
    reference = blenderbot_reference_class().from_pretrained(str(tmp_path))
    options = {"return_offsets_mapping": True, "return_special_tokens_mask": True}
    for text in EXAMPLES:
        assert call_fields(ours, text, **options) == call_fields(reference, text, **options)
    pair_options = {"return_token_type_ids": True, "return_special_tokens_mask": True}
    assert call_fields(ours, "Hello there", text_pair="  you <mask>", **pair_options) == (
        call_fields(reference, "Hello there", text_pair="  you <mask>", **pair_options)
    )


def test_ids_convert_to_tokens_as_in_transformers(json_pair: Any) -> None:
    ours, reference = json_pair
    for ids in ([99999, 5, 421], [0, 2, 8007, 421], [], 421, 99999, -1):
        for skip in (False, True):
            assert outcome(partial(ours.convert_ids_to_tokens, ids, skip)) == outcome(
                partial(reference.convert_ids_to_tokens, ids, skip)
            )
    tokens = ["nonexistent", "ĠHello", "<mask>", "</s>"]
    assert ours.convert_tokens_to_ids(tokens) == reference.convert_tokens_to_ids(tokens)
