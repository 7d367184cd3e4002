"""``return_overflowing_tokens=True`` of bbtok's BlenderbotTokenizer against transformers
5.23.0's, loaded from the same directory: each overflowing window a row of its own, with
``overflow_to_sample_mapping``, ``word_ids()`` and ``sequence_ids()`` per row.

The directories differ in their post-processor, which decides how many special tokens the
truncation leaves room for: none (what 5.23.0 saves), ``X </s>`` / ``A </s> B </s>``, and
RoBERTa's ``<s> X </s>`` / ``<s> A </s></s> B </s>``.

Where the reference's ``tokenizers`` library panics (a ``PanicException``, which is not an
``Exception``) or raises a bare ``Exception``, ours raises a ValueError
(docs/reference-behaviour.md, "Blenderbot (byte-level)").
"""

from __future__ import annotations

import itertools
import json
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

import blenderbot_fixtures
import numpy as np
import pytest
from blenderbot_fixtures import blenderbot_reference_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbtok import BlenderbotTokenizer

tokenizer_json_dir = blenderbot_fixtures.tokenizer_json_dir

SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
EOS_PROCESSOR = {
    "type": "TemplateProcessing",
    "single": [
        {"Sequence": {"id": "A", "type_id": 0}},
        {"SpecialToken": {"id": "</s>", "type_id": 0}},
    ],
    "pair": [
        {"Sequence": {"id": "A", "type_id": 0}},
        {"SpecialToken": {"id": "</s>", "type_id": 0}},
        {"Sequence": {"id": "B", "type_id": 1}},
        {"SpecialToken": {"id": "</s>", "type_id": 1}},
    ],
    "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}},
}
ROBERTA_PROCESSOR = {
    "type": "RobertaProcessing",
    "sep": ["</s>", 2],
    "cls": ["<s>", 0],
    "trim_offsets": True,
    "add_prefix_space": True,
}
# None: the post-processor 5.23.0's save_pretrained writes (it adds no special token).
POST_PROCESSORS: dict[str, Any] = {
    "saved": None,
    "eos": EOS_PROCESSOR,
    "roberta": ROBERTA_PROCESSOR,
}

LONG = "Hello world, this is a long text to split into windows"
SHORT = "and a pair"
INPUTS: dict[str, tuple[Any, Any, bool]] = {
    # name: (text, text_pair, is_split_into_words)
    "single": (LONG, None, False),
    "short single": (SHORT, None, False),
    "batch": ([LONG, SHORT, "", "one"], None, False),
    "pair": (LONG, SHORT, False),
    "pair of long texts": (LONG, LONG[::-1], False),
    "batch of pairs": ([LONG, SHORT], [SHORT, LONG], False),
    "batch of tuples": ([(LONG, SHORT), ("x y z", LONG)], None, False),
    "pre-split words": (LONG.split(), None, True),
    "batch of pre-split pairs": ([(LONG.split(), SHORT.split())], None, True),
}
GRID = list(
    itertools.product(
        (0, 1, 3, 7),  # max_length
        (0, 1, 3),  # stride
        (True, "only_first", "only_second"),  # truncation
        (False, True, "max_length"),  # padding
    )
)
ALL_FIELDS = {
    "return_offsets_mapping": True,
    "return_special_tokens_mask": True,
    "return_length": True,
    "return_token_type_ids": True,
}


def result(tokenizer: Any, text: Any, text_pair: Any = None, **options: Any) -> Any:
    """What a call with return_overflowing_tokens=True gives: ("value", its fields as lists,
    with each row's word and sequence ids and the dtype and shape of arrays), or ("raises",
    the exception's type name)."""
    try:
        encoding = tokenizer(text, text_pair, return_overflowing_tokens=True, **options)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # the library's PanicException is a BaseException
        return ("raises", type(error).__name__)
    fields: dict[str, Any] = {"keys": list(encoding.keys())}
    for key, value in encoding.items():
        if isinstance(value, np.ndarray):
            fields[key + " array"] = (value.dtype.str, value.shape)
            ragged = value.dtype == object
            value = [row.tolist() for row in value] if ragged else value.tolist()
        fields[key] = value
    rows = range(len(encoding["input_ids"]))
    fields["word_ids"] = [encoding.word_ids(i) for i in rows]
    fields["sequence_ids"] = [encoding.sequence_ids(i) for i in rows]
    return ("value", fields)


def assert_same(ours: Any, reference: Any, text: Any, text_pair: Any = None, **options: Any) -> Any:
    """Ours gives what the reference gives; where the reference's library panics or raises a
    bare Exception, ours raises a ValueError. Returns the reference's fields (None when it
    raised)."""
    expected = result(reference, text, text_pair, **options)
    got = result(ours, text, text_pair, **options)
    if expected[0] == "raises" and expected[1] in ("PanicException", "Exception"):
        assert got == ("raises", "ValueError"), (text, text_pair, options)
    else:
        assert got == expected, (text, text_pair, options)
    return expected[1] if expected[0] == "value" else None


@pytest.fixture(scope="session")
def pairs(
    tokenizer_json_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[BlenderbotTokenizer, Any]]:
    """(ours, reference) for each post-processor, loaded from the same directory."""
    loaded = {}
    pipeline = json.loads((tokenizer_json_dir / "tokenizer.json").read_text(encoding="utf-8"))
    for name, processor in POST_PROCESSORS.items():
        directory = tmp_path_factory.mktemp(f"overflow_{name}")
        (directory / "tokenizer.json").write_text(
            json.dumps({**pipeline, "post_processor": processor}), encoding="utf-8"
        )
        shutil.copy(tokenizer_json_dir / "tokenizer_config.json", directory)
        loaded[name] = (
            BlenderbotTokenizer.from_pretrained(directory),
            blenderbot_reference_class().from_pretrained(str(directory)),
        )
    return loaded


@pytest.mark.parametrize("processor", sorted(POST_PROCESSORS))
@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_windows_match_transformers_over_lengths_strides_strategies_and_padding(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]], processor: str, kind: str
) -> None:
    ours, reference = pairs[processor]
    text, text_pair, split = INPUTS[kind]
    rows = 0
    for max_length, stride, truncation, padding in GRID:
        expected = assert_same(
            ours,
            reference,
            text,
            text_pair,
            is_split_into_words=split,
            max_length=max_length,
            stride=stride,
            truncation=truncation,
            padding=padding,
            **ALL_FIELDS,
        )
        if expected is not None:
            rows = max(rows, len(expected["input_ids"]))
    assert rows > 1  # the grid reaches overflowing windows for every input


@pytest.mark.parametrize("processor", sorted(POST_PROCESSORS))
def test_windows_as_numpy_arrays_match_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]], processor: str
) -> None:
    ours, reference = pairs[processor]
    for text, text_pair, padding in (
        (LONG, None, False),
        ([LONG, SHORT], None, False),
        ([LONG, SHORT], None, True),
        ([LONG, SHORT], None, "max_length"),
        ([LONG, LONG], [SHORT, SHORT], True),
    ):
        for options in ({}, ALL_FIELDS):
            assert_same(
                ours,
                reference,
                text,
                text_pair,
                max_length=6,
                stride=2,
                truncation="only_first",
                padding=padding,
                return_tensors="np",
                **options,
            )


@pytest.mark.live
def test_windows_as_torch_tensors_match_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    torch = pytest.importorskip("torch", reason="return_tensors='pt' needs torch")
    ours, reference = pairs["eos"]
    options: dict[str, Any] = {
        "max_length": 5,
        "stride": 1,
        "truncation": True,
        "return_tensors": "pt",
        "return_offsets_mapping": True,
    }
    got = ours([LONG, SHORT], padding=True, return_overflowing_tokens=True, **options)
    expected = reference([LONG, SHORT], padding=True, return_overflowing_tokens=True, **options)
    assert list(got) == list(expected)
    for key, tensor in expected.items():
        assert got[key].dtype == tensor.dtype
        assert torch.equal(got[key], tensor)
    # Rows of different lengths make no tensor, in either.
    assert result(reference, [LONG, SHORT], **options) == ("raises", "ValueError")
    assert result(ours, [LONG, SHORT], **options) == ("raises", "ValueError")


def test_a_single_text_gives_rows_and_the_fields_of_transformers_by_default(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["eos"]
    expected = assert_same(ours, reference, LONG, max_length=5, stride=1)
    assert expected is not None
    assert expected["keys"] == ["input_ids", "attention_mask", "overflow_to_sample_mapping"]
    assert len(expected["input_ids"]) > 2
    assert expected["overflow_to_sample_mapping"] == [0] * len(expected["input_ids"])
    # Without truncation nothing overflows: one row, still in a batch.
    whole = assert_same(ours, reference, LONG)
    assert whole is not None
    assert len(whole["input_ids"]) == 1


def test_a_stride_as_long_as_the_window_is_a_value_error_where_the_library_panics(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["saved"]
    assert result(reference, LONG, max_length=6, stride=6) == ("raises", "PanicException")
    with pytest.raises(ValueError, match=r"stride=6 must be below 6"):
        ours(LONG, max_length=6, stride=6, return_overflowing_tokens=True)
    # A stride above max_length less the special tokens: the library's own ValueError.
    assert result(reference, LONG, max_length=6, stride=7) == ("raises", "ValueError")
    assert result(ours, LONG, max_length=6, stride=7) == ("raises", "ValueError")


def test_a_stride_as_long_as_a_pairs_window_is_a_value_error_where_the_library_panics(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["roberta"]
    # max_length 9 less 4 special tokens leaves 5; "and a pair" (3 tokens) leaves 2 to LONG.
    options = {"max_length": 9, "stride": 2, "truncation": "only_first"}
    assert result(reference, LONG, SHORT, **options) == ("raises", "PanicException")
    with pytest.raises(ValueError, match=r"stride=2 must be below 2"):
        ours(LONG, SHORT, return_overflowing_tokens=True, **options)
    assert_same(ours, reference, LONG, SHORT, **{**options, "stride": 1})


def test_truncation_errors_of_the_library_are_value_errors(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["saved"]
    # only_second without a second text; a pair whose first text cannot shrink enough.
    assert result(reference, LONG, max_length=3, truncation="only_second")[1] == "Exception"
    with pytest.raises(ValueError, match="Second sequence not provided"):
        ours(LONG, max_length=3, truncation="only_second", return_overflowing_tokens=True)
    assert result(reference, "a", LONG, max_length=3, truncation="only_first")[1] == "Exception"
    with pytest.raises(ValueError, match="too short"):
        ours("a", LONG, max_length=3, truncation="only_first", return_overflowing_tokens=True)


def test_pairs_cut_longest_first_give_every_combination_of_windows_as_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["saved"]
    # Quirk: no warning and no error (the slow tokenizers refuse this); both texts are cut
    # and each window of one is paired with each of the other's.
    expected = assert_same(ours, reference, LONG, LONG, max_length=8, stride=1)
    assert expected is not None
    assert len(expected["input_ids"]) > 4
    assert {tuple(ids) for ids in expected["sequence_ids"]} >= {(0,) * 4 + (1,) * 4}


def test_max_length_below_the_special_tokens_cuts_nothing_as_in_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["roberta"]
    # Quirk: the library's unsigned max_length - 2 wraps around, and nothing is cut; at
    # exactly 2 every token goes to the overflow, leaving a first row of special tokens.
    for max_length in (0, 1, 2):
        assert assert_same(ours, reference, LONG, max_length=max_length) is not None
    assert len(result(reference, LONG, max_length=1)[1]["input_ids"]) == 1
    assert result(reference, LONG, max_length=2)[1]["input_ids"][0] == [0, 2]


def test_truncation_and_padding_on_the_left_match_transformers(
    tokenizer_json_dir: Path,
) -> None:
    ours = BlenderbotTokenizer.from_pretrained(
        tokenizer_json_dir, truncation_side="left", padding_side="left"
    )
    reference = blenderbot_reference_class().from_pretrained(
        str(tokenizer_json_dir), truncation_side="left", padding_side="left"
    )
    for stride in (0, 2):
        assert_same(
            ours,
            reference,
            [LONG, SHORT],
            max_length=5,
            stride=stride,
            truncation=True,
            padding=True,
        )
    assert_same(ours, reference, LONG, SHORT, max_length=6, truncation="only_first", stride=1)


def test_the_odd_inputs_of_transformers_behave_as_there(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["eos"]
    options = {"max_length": 5, "stride": 1}
    # An empty second text is dropped (the text is encoded alone); an empty list of words is
    # one empty text.
    assert_same(ours, reference, LONG, "", **options)
    assert_same(ours, reference, [], **options, is_split_into_words=True)
    # Refused with the reference's exception types.
    for text, text_pair in (
        ([1, 2, 3], None),  # ids
        ([LONG, LONG], "a str"),  # a batch with one second text
        ([LONG, LONG], [SHORT]),  # batches of different lengths
        ([[LONG, SHORT, "third"]], None),  # not a pair
        ({"text": LONG}, None),
    ):
        assert assert_same(ours, reference, text, text_pair, **options) is None


def test_an_empty_batch_is_a_value_error_where_transformers_fails_on_an_index(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["eos"]
    assert result(reference, [], max_length=5) == ("raises", "IndexError")
    assert result(ours, [], max_length=5) == ("raises", "ValueError")


def test_split_special_tokens_and_no_special_tokens_match_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["eos"]
    text = "a <mask> b </s> c d e f g"
    for options in (
        {"split_special_tokens": True},
        {"split_special_tokens": False},
        {"add_special_tokens": False},
    ):
        assert_same(ours, reference, text, max_length=4, stride=1, **ALL_FIELDS, **options)


def test_targets_get_their_windows_as_labels_as_in_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["eos"]
    options = {"max_length": 5, "stride": 1, "truncation": True, "padding": True}
    assert_same(ours, reference, LONG, text_target=LONG[::-1], **options)
    assert_same(ours, reference, None, text_target=[LONG, SHORT], **options)


def test_a_call_with_windows_leaves_other_calls_untruncated(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["eos"]
    whole = ours(LONG)["input_ids"]
    ours(LONG, max_length=4, stride=1, padding="max_length", return_overflowing_tokens=True)
    assert ours(LONG)["input_ids"] == whole == reference(LONG)["input_ids"]
    assert ours([LONG, SHORT])["input_ids"] == reference([LONG, SHORT])["input_ids"]


def test_tokens_added_after_a_call_with_windows_are_in_the_next_one(
    tokenizer_json_dir: Path,
) -> None:
    ours = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir)
    reference = blenderbot_reference_class().from_pretrained(str(tokenizer_json_dir))
    text = "one newword two newword three"
    assert_same(ours, reference, text, max_length=3, stride=1)
    for tokenizer in (ours, reference):
        tokenizer.add_tokens(["newword"])
    assert "newword" in ours.convert_ids_to_tokens(
        ours(text, max_length=3, return_overflowing_tokens=True)["input_ids"][0]
    )
    assert_same(ours, reference, text, max_length=3, stride=1)


def test_threads_with_different_settings_get_their_own_windows(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, _ = pairs["eos"]
    settings_by_thread = [
        {"max_length": 3 + i % 4, "stride": i % 2, "truncation": True, "padding": bool(i % 3)}
        for i in range(8)
    ]
    expected = [
        ours([LONG, SHORT], return_overflowing_tokens=True, **options)
        for options in settings_by_thread
    ]
    failures: list[str] = []

    def encode(index: int) -> None:
        options = settings_by_thread[index]
        for _ in range(30):
            got = ours([LONG, SHORT], return_overflowing_tokens=True, **options)
            if got != expected[index]:
                failures.append(f"thread {index}: {got} != {expected[index]}")
                return

    threads = [threading.Thread(target=encode, args=(i,)) for i in range(len(settings_by_thread))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_pickled_tokenizer_still_cuts_windows(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
) -> None:
    ours, reference = pairs["roberta"]
    ours(LONG, max_length=6, return_overflowing_tokens=True)
    copied = pickle.loads(pickle.dumps(ours))
    assert_same(
        copied, reference, [LONG, SHORT], max_length=6, stride=2, truncation=True, padding=True
    )
    encoding = copied(LONG, max_length=6, return_overflowing_tokens=True)
    assert pickle.loads(pickle.dumps(encoding)).sequence_ids(1) == encoding.sequence_ids(1)


ANY_CHARACTER = st.characters(exclude_categories=("Cs",))
FRAGMENTS = st.sampled_from(
    [
        *(" ", "  ", "\n", "\t", "<mask>", " <mask>", "</s>", "<s>", "😀", "e\u0301", "日本語"),
        *("Hello", " world", "don't", "123", "...", "__init__"),
    ]
)
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(ANY_CHARACTER, max_size=4)), max_size=12).map("".join)


@pytest.mark.filterwarnings("ignore:`max_length` is ignored when `padding`=`True`")
@settings(max_examples=150, **SETTINGS)
@given(
    processor=st.sampled_from(sorted(POST_PROCESSORS)),
    text=TEXT,
    text_pair=st.none() | TEXT,
    max_length=st.integers(0, 12),
    stride=st.integers(0, 5),
    truncation=st.sampled_from([True, "only_first", "only_second", False]),
    padding=st.sampled_from([False, True, "max_length"]),
    add_special_tokens=st.booleans(),
    batch=st.booleans(),
)
def test_any_text_with_windows_matches_transformers(
    pairs: dict[str, tuple[BlenderbotTokenizer, Any]],
    processor: str,
    text: str,
    text_pair: str | None,
    max_length: int,
    stride: int,
    truncation: Any,
    padding: Any,
    add_special_tokens: bool,
    batch: bool,
) -> None:
    ours, reference = pairs[processor]
    if batch:
        texts: Any = [text, text[::-1]]
        pair_texts: Any = None if text_pair is None else [text_pair, text]
    else:
        texts, pair_texts = text, text_pair
    assert_same(
        ours,
        reference,
        texts,
        pair_texts,
        max_length=max_length,
        stride=stride,
        truncation=truncation,
        padding=padding,
        add_special_tokens=add_special_tokens,
        **ALL_FIELDS,
    )
