"""The Hugging Face-style surface, compared with transformers' BlenderbotSmallTokenizer.

Every expected value comes from the reference, run on the same files, or from
docs/reference-behaviour.md.
Most tests use a small generated vocabulary ("words", below) whose merges build whole words, so
that real-looking sentences give short, readable id lists; a few use ``fixtures/tiny``.
Tokenizers that are changed (tokens added, attributes set) are built fresh in the test.
"""

from __future__ import annotations

import json
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tokenizers

from bbtok import BatchEncoding, BlenderbotSmallTokenizer
from bbtok.blenderbot_small.family import DEFAULT_SPECIAL_TOKENS, MERGES_FILE, VOCAB_FILE

from conftest import TINY_VOCAB_DIR, TOKENIZER_DIRS, reference_class

# Whole words of the generated vocabulary ("i", "m", "t" make "I'm" and "don't" known).
WORDS = ("hello", "world", "the", "cat", "sat", "on", "mat", "how", "are", "you")
WORDS += ("don", "fine", "thanks", "good", "dog", "i", "m", "t")
SPECIALS = ("__start__", "__end__", "__unk__", "__null__", "__newln__")
PUNCTUATION = tuple(".,!?'()")
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")

TEXTS = [
    "Hello world!",
    "How are you?",
    "The cat sat on the mat.",
    "I'm fine, thanks",
    "don't\nstop",
    "x__null__y and __start__ hello __end__",
    "zebra 123 \u00e9t\u00e9",
    "",
    "   ",
    "hello hello hello hello hello hello hello hello",
]
LONG = "the cat sat on the mat and the dog sat on the cat"
SHORT = "hello world"
PAIRS = [("Hello world!", "How are you?"), (LONG, SHORT), (SHORT, LONG), ("", "the dog")]


def word_merges(word: str) -> list[str]:
    """Merges that build ``word`` left to right into one end-of-word symbol."""
    symbols = [*word[:-1], word[-1] + "</w>"]
    merges = []
    built = symbols[0]
    for symbol in symbols[1:]:
        merges.append(f"{built} {symbol}")
        built += symbol
    return merges


@pytest.fixture(scope="module")
def words_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("words")
    tokens = [*SPECIALS, *PUNCTUATION, *LETTERS, *(c + "@@" for c in LETTERS), *WORDS]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    merges = list(dict.fromkeys(m for word in WORDS if len(word) > 1 for m in word_merges(word)))
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(m + "\n" for m in merges), encoding="utf-8"
    )
    return directory


@pytest.fixture(scope="module")
def ours(words_dir: Path) -> BlenderbotSmallTokenizer:
    """Shared: never change it."""
    return BlenderbotSmallTokenizer.from_pretrained(words_dir)


@pytest.fixture(scope="module")
def ref(words_dir: Path) -> Any:
    """Shared: never change it."""
    return reference_class().from_pretrained(str(words_dir))


@pytest.fixture
def fresh(words_dir: Path) -> tuple[BlenderbotSmallTokenizer, Any]:
    """(ours, reference), new for a test that changes them."""
    return (
        BlenderbotSmallTokenizer.from_pretrained(words_dir),
        reference_class().from_pretrained(str(words_dir)),
    )


def plain(value: Any) -> Any:
    """A comparable form: arrays become (kind, dtype, shape, values), mappings plain dicts."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("ragged", [plain(row) for row in value])
        return ("ndarray", str(value.dtype), value.shape, value.tolist())
    if isinstance(value, dict) or hasattr(value, "keys"):
        return {key: plain(value[key]) for key in value}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def call_both(ours: Any, ref: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Call both tokenizers; each side is its result or ('raises', exception type)."""
    results = []
    for tokenizer in (ours, ref):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                results.append(plain(tokenizer(*args, **kwargs)))
            except Exception as error:
                results.append(("raises", type(error).__name__))
    return results[0], results[1]


def assert_call_matches(ours: Any, ref: Any, *args: Any, **kwargs: Any) -> Any:
    ours_result, ref_result = call_both(ours, ref, *args, **kwargs)
    assert ours_result == ref_result
    return ours_result


# -- __call__: inputs and return types ------------------------------------------------------


def test_call_on_a_string_returns_a_batch_encoding(ours: Any, ref: Any) -> None:
    encoding = ours("Hello world!")
    assert isinstance(encoding, BatchEncoding)
    assert isinstance(encoding, dict)
    assert plain(encoding) == plain(ref("Hello world!"))


def test_batch_encoding_fields_are_attributes(ours: Any) -> None:
    encoding = ours(["Hello world!", "How are you?"])
    assert encoding.input_ids is encoding["input_ids"]
    assert encoding.attention_mask is encoding["attention_mask"]
    with pytest.raises(AttributeError):
        _ = encoding.token_type_ids


def test_call_returns_input_ids_and_attention_mask_by_default(ours: Any, ref: Any) -> None:
    assert list(ours("Hello world!").keys()) == list(ref("Hello world!").keys())
    assert set(ours("Hello world!")) == {"input_ids", "attention_mask"}


@pytest.mark.parametrize("text", TEXTS)
def test_call_on_a_string_matches_the_reference(ours: Any, ref: Any, text: str) -> None:
    assert_call_matches(ours, ref, text)


def test_call_on_a_list_of_strings_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, TEXTS)


def test_call_on_an_empty_list_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, [])


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_call_with_text_pair_matches_the_reference(
    ours: Any, ref: Any, first: str, second: str
) -> None:
    assert_call_matches(ours, ref, first, text_pair=second)
    assert_call_matches(ours, ref, first, second)


def test_call_on_a_batch_of_pair_tuples_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, PAIRS)


def test_call_on_batched_text_and_text_pair_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, [a for a, _ in PAIRS], text_pair=[b for _, b in PAIRS])


def test_call_on_pretokenized_words_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, ["Hello", "world!"], is_split_into_words=True)
    assert_call_matches(ours, ref, [["Hello", "world!"], ["the", "cat"]], is_split_into_words=True)


def test_token_type_ids_only_when_asked(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, LONG, SHORT, return_token_type_ids=True)
    assert result["token_type_ids"] == [0] * len(ours(LONG).input_ids) + [1] * len(
        ours(SHORT).input_ids
    )
    assert "token_type_ids" not in assert_call_matches(ours, ref, LONG, SHORT)


def test_add_special_tokens_false_changes_nothing(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, PAIRS, add_special_tokens=False)
    assert ours(PAIRS, add_special_tokens=False) == ours(PAIRS)


# -- padding and truncation -----------------------------------------------------------------


@pytest.mark.parametrize("padding", [True, "longest", "max_length", False, "do_not_pad"])
@pytest.mark.parametrize("max_length", [None, 12])
def test_padding_matches_the_reference(
    ours: Any, ref: Any, padding: Any, max_length: int | None
) -> None:
    assert_call_matches(ours, ref, TEXTS, padding=padding, max_length=max_length)


def test_padding_a_single_text_to_max_length_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, SHORT, padding="max_length", max_length=6)


@pytest.mark.parametrize("truncation", [True, "only_first", "only_second", "longest_first", False])
@pytest.mark.parametrize("max_length", [3, 7, 12])
def test_truncating_pairs_matches_the_reference(
    ours: Any, ref: Any, truncation: Any, max_length: int
) -> None:
    for first, second in PAIRS:
        assert_call_matches(ours, ref, first, second, truncation=truncation, max_length=max_length)
    assert_call_matches(ours, ref, PAIRS, truncation=truncation, max_length=max_length)


@pytest.mark.parametrize("truncation", [True, "only_first", "longest_first"])
def test_truncating_a_single_text_matches_the_reference(
    ours: Any, ref: Any, truncation: Any
) -> None:
    result = assert_call_matches(ours, ref, LONG, truncation=truncation, max_length=5)
    assert len(result["input_ids"]) == 5


def test_max_length_alone_truncates_like_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, LONG, max_length=4)
    assert_call_matches(ours, ref, [LONG, SHORT], max_length=4)


def test_truncation_without_a_model_max_length_changes_nothing(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, [LONG, SHORT], truncation=True)


@pytest.mark.parametrize("stride", [0, 1, 3])
@pytest.mark.parametrize("truncation", ["only_first", "longest_first", True])
def test_overflowing_tokens_with_stride_of_a_single_text_match_the_reference(
    ours: Any, ref: Any, stride: int, truncation: Any
) -> None:
    result = assert_call_matches(
        ours,
        ref,
        LONG,
        truncation=truncation,
        max_length=5,
        stride=stride,
        return_overflowing_tokens=True,
    )
    assert "overflowing_tokens" in result


@pytest.mark.parametrize("stride", [0, 2])
@pytest.mark.parametrize("truncation", ["only_first", "only_second"])
def test_overflowing_tokens_of_a_pair_match_the_reference(
    ours: Any, ref: Any, stride: int, truncation: str
) -> None:
    assert_call_matches(
        ours,
        ref,
        LONG,
        LONG,
        truncation=truncation,
        max_length=15,
        stride=stride,
        return_overflowing_tokens=True,
    )


def test_overflowing_tokens_of_a_pair_with_longest_first_fail_like_the_reference(
    ours: Any, ref: Any
) -> None:
    result = assert_call_matches(
        ours,
        ref,
        LONG,
        SHORT,
        truncation="longest_first",
        max_length=4,
        return_overflowing_tokens=True,
    )
    assert result == ("raises", "ValueError")


def test_overflowing_tokens_of_a_batch_match_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(
        ours,
        ref,
        [LONG, "the dog sat on the mat"],
        truncation=True,
        max_length=3,
        stride=1,
        return_overflowing_tokens=True,
        padding=True,
    )


@pytest.mark.parametrize("multiple", [1, 4, 5])
@pytest.mark.parametrize("padding", [True, "max_length", False])
def test_pad_to_multiple_of_matches_the_reference(
    ours: Any, ref: Any, multiple: int, padding: Any
) -> None:
    assert_call_matches(
        ours, ref, TEXTS, padding=padding, max_length=10, pad_to_multiple_of=multiple
    )
    assert_call_matches(ours, ref, SHORT, padding=padding, pad_to_multiple_of=multiple)


def test_pad_to_multiple_of_that_does_not_divide_max_length_fails_like_the_reference(
    ours: Any, ref: Any
) -> None:
    result = assert_call_matches(
        ours, ref, TEXTS, padding=True, truncation=True, max_length=10, pad_to_multiple_of=4
    )
    assert result == ("raises", "ValueError")


def test_padding_side_left_as_an_argument_matches_the_reference(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, TEXTS, padding=True, padding_side="left")
    assert result["attention_mask"][0][0] == 0


def test_padding_side_left_as_an_attribute_matches_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    ours.padding_side = ref.padding_side = "left"
    assert_call_matches(ours, ref, TEXTS, padding=True)
    assert_call_matches(ours, ref, TEXTS, padding="max_length", max_length=14)


def test_padding_and_truncation_sides_from_from_pretrained_match_the_reference(
    words_dir: Path,
) -> None:
    kwargs = {"padding_side": "left", "truncation_side": "left"}
    ours = BlenderbotSmallTokenizer.from_pretrained(words_dir, **kwargs)
    ref = reference_class().from_pretrained(str(words_dir), **kwargs)
    assert (ours.padding_side, ours.truncation_side) == ("left", "left")
    assert_call_matches(ours, ref, [LONG, SHORT], padding=True, truncation=True, max_length=6)
    assert_call_matches(
        ours, ref, LONG, truncation=True, max_length=4, stride=1, return_overflowing_tokens=True
    )


def test_asking_to_pad_without_a_pad_token_fails_like_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    ours.pad_token = ref.pad_token = None
    assert ours.pad_token is None
    assert assert_call_matches(ours, ref, TEXTS, padding=True) == ("raises", "ValueError")


# -- tensors and optional fields ------------------------------------------------------------


def test_return_tensors_np_gives_int64_arrays_like_the_reference(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, TEXTS, padding=True, return_tensors="np")
    kind, dtype, shape, _ = result["input_ids"]
    assert (kind, dtype) == ("ndarray", "int64")
    assert shape == (len(TEXTS), max(len(ids) for ids in ours(TEXTS).input_ids))


def test_return_tensors_np_on_a_string_adds_a_batch_axis(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, SHORT, return_tensors="np")
    assert result["input_ids"][2] == (1, 2)


def test_return_tensors_np_with_every_field_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(
        ours,
        ref,
        [a for a, _ in PAIRS],
        [b for _, b in PAIRS],
        padding="max_length",
        truncation="only_second",
        max_length=16,
        return_tensors="np",
        return_token_type_ids=True,
        return_special_tokens_mask=True,
        return_length=True,
    )


def test_return_tensors_np_of_unpadded_rows_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, [LONG, SHORT], return_tensors="np")


def test_return_tensors_pt_without_torch_raises_a_clear_import_error(
    ours: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import torch` fail as it does where torch is not installed.
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"(?i)torch"):
        ours(SHORT, return_tensors="pt")


def test_return_attention_mask_false_matches_the_reference(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, TEXTS, padding=True, return_attention_mask=False)
    assert "attention_mask" not in result
    assert_call_matches(ours, ref, SHORT, return_attention_mask=False)


def test_return_special_tokens_mask_matches_the_reference(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, TEXTS, padding=True, return_special_tokens_mask=True)
    assert "special_tokens_mask" in result
    assert_call_matches(ours, ref, LONG, SHORT, return_special_tokens_mask=True)


def test_return_length_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, TEXTS, return_length=True)
    assert_call_matches(ours, ref, TEXTS, padding=True, return_length=True)
    assert_call_matches(ours, ref, SHORT, return_length=True)


def test_text_target_becomes_labels_like_the_reference(ours: Any, ref: Any) -> None:
    result = assert_call_matches(ours, ref, TEXTS[:3], text_target=TEXTS[3:6])
    assert "labels" in result
    assert_call_matches(ours, ref, SHORT, text_target=LONG)
    assert_call_matches(ours, ref, TEXTS[:3], text_target=TEXTS[3:6], padding=True)


def test_text_target_alone_matches_the_reference(ours: Any, ref: Any) -> None:
    assert_call_matches(ours, ref, text_target=TEXTS)


def test_call_without_text_fails_like_the_reference(ours: Any, ref: Any) -> None:
    assert assert_call_matches(ours, ref) == ("raises", "ValueError")


# -- encode, tokenize, decode ---------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS)
def test_encode_matches_the_reference(ours: Any, ref: Any, text: str) -> None:
    assert ours.encode(text) == ref.encode(text)
    assert ours.encode(text, SHORT) == ref.encode(text, SHORT)


def test_encode_with_truncation_and_tensors_matches_the_reference(ours: Any, ref: Any) -> None:
    assert ours.encode(LONG, max_length=3, truncation=True) == ref.encode(
        LONG, max_length=3, truncation=True
    )
    assert plain(ours.encode(LONG, return_tensors="np")) == plain(
        ref.encode(LONG, return_tensors="np")
    )
    assert ours.encode(LONG, padding="max_length", max_length=20) == ref.encode(
        LONG, padding="max_length", max_length=20
    )


@pytest.mark.parametrize("text", TEXTS)
def test_tokenize_matches_the_reference(ours: Any, ref: Any, text: str) -> None:
    assert ours.tokenize(text) == ref.tokenize(text)


def test_decode_of_a_list_matches_the_reference(ours: Any, ref: Any) -> None:
    for text in TEXTS:
        ids = ref.encode(text)
        assert ours.decode(ids) == ref.decode(ids)
        assert ours.decode(ids, skip_special_tokens=True) == ref.decode(
            ids, skip_special_tokens=True
        )
        for clean in (True, False):
            assert ours.decode(ids, clean_up_tokenization_spaces=clean) == ref.decode(
                ids, clean_up_tokenization_spaces=clean
            )


def test_decode_of_a_numpy_array_matches_the_reference(ours: Any, ref: Any) -> None:
    ids = np.array(ref.encode(TEXTS[3]), dtype=np.int64)
    assert ours.decode(ids) == ref.decode(ids)
    assert ours.decode(ids.astype(np.int32)) == ref.decode(ids.astype(np.int32))


def test_decode_of_a_numpy_integer_matches_the_reference(ours: Any, ref: Any) -> None:
    index = np.int64(ref.convert_tokens_to_ids("hello"))
    assert ours.decode(index) == ref.decode(index) == "hello"
    assert ours.decode(int(index)) == ref.decode(int(index))


def test_decode_of_a_list_of_numpy_integers_matches_the_reference(ours: Any, ref: Any) -> None:
    ids = [np.int64(i) for i in ref.encode(TEXTS[0])]
    assert ours.decode(ids) == ref.decode(ids)


def test_decode_of_out_of_range_ids_matches_the_reference(ours: Any, ref: Any) -> None:
    ids = [ref.convert_tokens_to_ids("hello"), 10_000, ref.unk_token_id]
    assert ours.decode(ids) == ref.decode(ids)
    assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)


def test_batch_decode_matches_the_reference(ours: Any, ref: Any) -> None:
    batch = ref(TEXTS, padding=True)["input_ids"]
    assert ours.batch_decode(batch) == ref.batch_decode(batch)
    assert ours.batch_decode(batch, skip_special_tokens=True) == ref.batch_decode(
        batch, skip_special_tokens=True
    )
    array = np.array(batch)
    assert ours.batch_decode(array) == ref.batch_decode(array)
    assert ours.batch_decode(list(array)) == ref.batch_decode(list(array))


@pytest.mark.parametrize("bad", [[1.5, 2.5], 1.5, ["hello"], [None], np.array([1.0, 2.0])])
def test_decode_refuses_an_id_that_is_not_an_integer(
    words_dir: Path, implementation: type[Any], bad: Any
) -> None:
    # Deliberate difference: the reference truncates 1.5 to the id 1; a float is never an id.
    tok = implementation.from_pretrained(words_dir)
    with pytest.raises(TypeError, match="token ids must be integers, got"):
        tok.decode(bad)
    with pytest.raises(TypeError, match="token ids must be integers, got"):
        tok.convert_ids_to_tokens(bad)


def test_decode_takes_ints_numpy_integers_and_zero_dimensional_integer_arrays(
    words_dir: Path, implementation: type[Any], ref: Any
) -> None:
    tok = implementation.from_pretrained(words_dir)
    hello = ref.convert_tokens_to_ids("hello")
    for index in (hello, np.int32(hello), np.uint16(hello), np.array(hello)):
        assert tok.decode(index) == "hello"
        assert tok.decode([index, index]) == "hello hello"


# -- tokens <-> ids and the vocabulary ------------------------------------------------------


def test_convert_tokens_to_ids_matches_the_reference(ours: Any, ref: Any) -> None:
    tokens = ["hello", "HELLO", "h@@", "nope", "__null__", "__NULL__", "", "__newln__"]
    assert ours.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
    for token in tokens:
        assert ours.convert_tokens_to_ids(token) == ref.convert_tokens_to_ids(token)


def test_convert_ids_to_tokens_matches_the_reference(ours: Any, ref: Any) -> None:
    ids = [*range(len(ref) + 2), 10_000]
    assert ours.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == ref.convert_ids_to_tokens(
        ids, skip_special_tokens=True
    )
    assert ours.convert_ids_to_tokens(5) == ref.convert_ids_to_tokens(5)
    # The reference's convert_ids_to_tokens fails on a numpy integer; ours takes it as an int.
    assert ours.convert_ids_to_tokens(np.int64(5)) == ref.convert_ids_to_tokens(5)
    assert ours.convert_ids_to_tokens(np.array(ids[:9])) == ref.convert_ids_to_tokens(
        np.array(ids[:9])
    )


def test_convert_tokens_to_string_matches_the_reference(ours: Any, ref: Any) -> None:
    for text in TEXTS:
        tokens = ref.tokenize(text)
        assert ours.convert_tokens_to_string(tokens) == ref.convert_tokens_to_string(tokens)


def test_vocabulary_size_and_length_match_the_reference(ours: Any, ref: Any) -> None:
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.vocab_size == ref.vocab_size
    assert len(ours) == len(ref)


def test_vocabulary_of_tiny_with_an_appended_pad_token_matches_the_reference(
    tiny_tokenizer: Any, reference_tiny_tokenizer: Any
) -> None:
    assert tiny_tokenizer.get_vocab() == reference_tiny_tokenizer.get_vocab()
    assert (tiny_tokenizer.vocab_size, len(tiny_tokenizer)) == (
        reference_tiny_tokenizer.vocab_size,
        len(reference_tiny_tokenizer),
    )
    assert tiny_tokenizer.pad_token_id == reference_tiny_tokenizer.pad_token_id == 7


# -- added tokens ---------------------------------------------------------------------------


def test_add_tokens_returns_the_number_of_new_ids_like_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    new = ["<3", "brand-new", "hello", "<3", "__null__"]
    assert ours.add_tokens(new) == ref.add_tokens(new) == 2
    assert ours.add_tokens("<3") == ref.add_tokens("<3") == 0
    assert ours.add_tokens([]) == ref.add_tokens([]) == 0


def test_added_tokens_get_ids_after_the_vocabulary(fresh: Any) -> None:
    ours, ref = fresh
    size = len(ours)
    ours.add_tokens(["<3", "brand-new"])
    ref.add_tokens(["<3", "brand-new"])
    assert ours.convert_tokens_to_ids(["<3", "brand-new"]) == [size, size + 1]
    assert ours.get_vocab() == ref.get_vocab()
    assert len(ours) == len(ref) == size + 2
    assert ours.vocab_size == ref.vocab_size


def test_added_tokens_are_cut_out_of_text_like_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    for tokenizer in fresh:
        tokenizer.add_tokens(["<3", "Brand-New"])
    for text in ["i <3 cats", "x<3y", "Brand-New brand-new BRAND-NEW", "<3<3"]:
        assert ours.tokenize(text) == ref.tokenize(text)
        assert_call_matches(ours, ref, text)
        ids = ref.encode(text)
        assert ours.decode(ids) == ref.decode(ids)


def test_add_tokens_accepts_tokenizers_added_token_like_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    tokens = [
        tokenizers.AddedToken("<l>", lstrip=True),
        tokenizers.AddedToken("<r>", rstrip=True),
        tokenizers.AddedToken("<both>", lstrip=True, rstrip=True),
        tokenizers.AddedToken("word", single_word=True),
    ]
    assert ours.add_tokens(tokens) == ref.add_tokens(tokens) == 4
    for text in ["a <l> b <r> c", "x  <both>  y", "word swordfish word", "a<l>b<r>c"]:
        assert ours.tokenize(text) == ref.tokenize(text)
        assert_call_matches(ours, ref, text)


def test_add_tokens_as_special_tokens_matches_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    assert ours.add_tokens(["<sp>"], special_tokens=True) == ref.add_tokens(
        ["<sp>"], special_tokens=True
    )
    assert ours.all_special_tokens == ref.all_special_tokens
    ids = ref.encode("hello <sp> world")
    assert ours.encode("hello <sp> world") == ids
    assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)


def test_add_special_tokens_sets_a_named_token_like_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    assert ours.add_special_tokens({"cls_token": "__cls__"}) == ref.add_special_tokens(
        {"cls_token": "__cls__"}
    )
    assert ours.cls_token == ref.cls_token == "__cls__"
    assert ours.cls_token_id == ref.cls_token_id == len(ref) - 1
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    assert ours.tokenize("a__cls__b") == ref.tokenize("a__cls__b")


def test_add_special_tokens_with_extra_special_tokens_matches_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    extra = {"extra_special_tokens": ["<e1>", "<e2>"]}
    assert ours.add_special_tokens(extra) == ref.add_special_tokens(extra) == 2
    assert list(ours.extra_special_tokens) == list(ref.extra_special_tokens)
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    ids = ref.encode("<e1> hello <e2>")
    assert ours.encode("<e1> hello <e2>") == ids
    assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)


def test_extra_special_tokens_from_from_pretrained_match_the_reference(words_dir: Path) -> None:
    ours = BlenderbotSmallTokenizer.from_pretrained(words_dir, extra_special_tokens=["<e1>"])
    ref = reference_class().from_pretrained(str(words_dir), extra_special_tokens=["<e1>"])
    assert list(ours.extra_special_tokens) == list(ref.extra_special_tokens)
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.tokenize("a<e1>b") == ref.tokenize("a<e1>b")


# -- special tokens -------------------------------------------------------------------------

SPECIAL_NAMES = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
]


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_special_token_attributes_and_ids_match_the_reference(
    ours: Any, ref: Any, name: str
) -> None:
    assert getattr(ours, name) == getattr(ref, name)
    assert getattr(ours, name + "_id") == getattr(ref, name + "_id")


def test_special_tokens_are_the_blenderbot_ones(ours: Any) -> None:
    assert (ours.bos_token, ours.eos_token, ours.unk_token, ours.pad_token) == (
        "__start__",
        "__end__",
        "__unk__",
        "__null__",
    )


def test_all_special_tokens_and_ids_match_the_reference(ours: Any, ref: Any) -> None:
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    assert ours.special_tokens_map == ref.special_tokens_map


def test_setting_a_special_token_matches_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    ours.pad_token = ref.pad_token = "__end__"
    assert ours.pad_token_id == ref.pad_token_id
    assert_call_matches(ours, ref, TEXTS, padding=True)
    ours.sep_token = ref.sep_token = "hello"
    assert ours.sep_token_id == ref.sep_token_id
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids


def test_setting_a_special_token_id_matches_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    index = ref.convert_tokens_to_ids("hello")
    ours.bos_token_id = ref.bos_token_id = index
    assert ours.bos_token == ref.bos_token == "hello"
    assert ours.bos_token_id == ref.bos_token_id == index


def test_setting_a_special_token_to_a_new_string_matches_the_reference(fresh: Any) -> None:
    ours, ref = fresh
    ours.mask_token = ref.mask_token = "<mask>"
    assert ours.mask_token_id == ref.mask_token_id
    assert len(ours) == len(ref)
    assert ours.tokenize("a <mask> b") == ref.tokenize("a <mask> b")


def test_build_inputs_with_special_tokens_matches_the_reference(ours: Any, ref: Any) -> None:
    a, b = [5, 6, 7], [8, 9]
    assert ours.build_inputs_with_special_tokens(a) == ref.build_inputs_with_special_tokens(a)
    assert ours.build_inputs_with_special_tokens(a, b) == ref.build_inputs_with_special_tokens(a, b)
    assert ours.build_inputs_with_special_tokens(a, b) == a + b


def test_get_special_tokens_mask_matches_the_reference(ours: Any, ref: Any) -> None:
    a, b = [5, 6, 7], [8, 9]
    assert ours.get_special_tokens_mask(a) == ref.get_special_tokens_mask(a) == [0, 0, 0]
    assert ours.get_special_tokens_mask(a, b) == ref.get_special_tokens_mask(a, b)


def test_get_special_tokens_mask_of_ids_with_special_tokens_matches_the_reference(
    ours: Any, ref: Any
) -> None:
    ids = [ref.bos_token_id, 40, ref.unk_token_id, 41, ref.eos_token_id, ref.pad_token_id]
    expected = ref.get_special_tokens_mask(ids, already_has_special_tokens=True)
    assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == expected


def test_create_token_type_ids_from_sequences_matches_the_reference(ours: Any, ref: Any) -> None:
    a, b = [5, 6, 7], [8, 9]
    assert ours.create_token_type_ids_from_sequences(a) == ref.create_token_type_ids_from_sequences(
        a
    )
    assert ours.create_token_type_ids_from_sequences(
        a, b
    ) == ref.create_token_type_ids_from_sequences(a, b)


def test_num_special_tokens_to_add_matches_the_reference(ours: Any, ref: Any) -> None:
    assert ours.num_special_tokens_to_add() == ref.num_special_tokens_to_add() == 0
    assert ours.num_special_tokens_to_add(pair=True) == ref.num_special_tokens_to_add(pair=True)


# -- pad() ----------------------------------------------------------------------------------


def pad_both(ours: Any, ref: Any, make_inputs: Any, **kwargs: Any) -> Any:
    """pad() each side on its own copy of the inputs and compare."""
    results = []
    for tokenizer in (ours, ref):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                results.append(plain(tokenizer.pad(make_inputs(), **kwargs)))
            except Exception as error:
                results.append(("raises", type(error).__name__))
    assert results[0] == results[1]
    return results[0]


def test_pad_on_a_list_of_dicts_matches_the_reference(ours: Any, ref: Any) -> None:
    def make() -> Any:
        return [{"input_ids": [5, 6]}, {"input_ids": [7]}, {"input_ids": [8, 9, 10]}]

    pad_both(ours, ref, make)
    pad_both(ours, ref, make, padding="max_length", max_length=5)
    pad_both(ours, ref, make, pad_to_multiple_of=4)
    pad_both(ours, ref, make, padding_side="left")
    pad_both(ours, ref, make, return_attention_mask=False)
    pad_both(ours, ref, make, return_tensors="np")


def test_pad_on_a_list_of_encodings_with_masks_matches_the_reference(ours: Any, ref: Any) -> None:
    def make() -> Any:
        return [
            ref(text, return_special_tokens_mask=True, return_token_type_ids=True)
            for text in TEXTS[:4]
        ]

    pad_both(ours, ref, make)
    pad_both(ours, ref, make, padding_side="left", return_tensors="np")


def test_pad_on_a_dict_of_lists_matches_the_reference(ours: Any, ref: Any) -> None:
    def make() -> Any:
        return {"input_ids": [[5, 6], [7], [8, 9, 10]], "attention_mask": [[1, 1], [1], [1, 1, 1]]}

    pad_both(ours, ref, make)
    pad_both(ours, ref, make, padding="max_length", max_length=6)
    pad_both(ours, ref, make, padding=False)


def test_pad_on_a_single_encoding_matches_the_reference(ours: Any, ref: Any) -> None:
    pad_both(ours, ref, lambda: {"input_ids": [5, 6]}, padding="max_length", max_length=4)
    pad_both(ours, ref, lambda: ref(SHORT), padding="max_length", max_length=4)


def test_pad_on_numpy_input_matches_the_reference(ours: Any, ref: Any) -> None:
    def rows() -> Any:
        return [{"input_ids": np.array([5, 6])}, {"input_ids": np.array([7, 8, 9, 10])}]

    result = pad_both(ours, ref, rows)
    assert result["input_ids"][0] == "ndarray"
    pad_both(ours, ref, lambda: {"input_ids": np.array([[5, 6], [7, 8]])})
    pad_both(ours, ref, rows, padding="max_length", max_length=6, return_tensors="np")


def test_pad_on_an_empty_batch_matches_the_reference(ours: Any, ref: Any) -> None:
    pad_both(ours, ref, lambda: {"input_ids": []})


# -- pickling -------------------------------------------------------------------------------


def test_pickle_round_trip_gives_a_tokenizer_with_identical_output(words_dir: Path) -> None:
    tokenizer = BlenderbotSmallTokenizer.from_pretrained(words_dir, model_max_length=20)
    tokenizer.add_tokens(["<3", tokenizers.AddedToken("<l>", lstrip=True)])
    tokenizer.add_special_tokens({"cls_token": "__cls__"})
    tokenizer.padding_side = "left"
    tokenizer.tokenize(LONG)  # warm any cache
    again = pickle.loads(pickle.dumps(tokenizer))
    texts = [*TEXTS, "i <3 cats <l> x __cls__"]
    assert again.tokenize(texts[-1]) == tokenizer.tokenize(texts[-1])
    assert plain(again(texts, padding=True, truncation=True)) == plain(
        tokenizer(texts, padding=True, truncation=True)
    )
    ids = tokenizer(texts)["input_ids"]
    assert again.batch_decode(ids) == tokenizer.batch_decode(ids)
    assert again.get_vocab() == tokenizer.get_vocab()
    assert again.all_special_tokens == tokenizer.all_special_tokens
    assert again.add_tokens(["<new>"]) == 1


# -- the unknown token missing from the vocabulary (docs: the appended id) --------------


def test_unknown_token_missing_from_the_vocabulary_uses_its_appended_id(tmp_path: Path) -> None:
    vocab = {"__start__": 0, "__end__": 1, "a": 2, "p": 3, "ap": 4}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na p</w>\n", encoding="utf-8")
    tokenizer = BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    # Specials absent from vocab.json are appended in the order bos, eos, unk, pad.
    assert tokenizer.unk_token_id == 5
    assert tokenizer.pad_token_id == 6
    assert tokenizer.convert_tokens_to_ids("nope") == 5
    # "zz" is "z@@ z": two tokens, neither in the vocabulary.
    assert tokenizer.tokenize("ap zz a") == ["ap", "z@@", "z", "a"]
    assert tokenizer.encode("ap zz a") == [4, 5, 5, 2]
    assert tokenizer.decode([4, 5, 2]) == "ap __unk__ a"
    assert tokenizer.decode([4, 5, 2], skip_special_tokens=True) == "ap a"
    assert tokenizer(["ap zz", "a"], padding=True)["input_ids"] == [[4, 5, 5], [2, 6, 6]]


# -- round trips through transformers -------------------------------------------------------

PROBES = [*TEXTS, "i <3 cats", "x <l>  y", "a__cls__b <e1>", LONG]


def behaviour(tokenizer: Any) -> dict[str, Any]:
    """Everything a round trip must keep, in a comparable form."""
    ids = [tokenizer.encode(text) for text in PROBES]
    added = {
        index: (t.content, t.lstrip, t.rstrip, t.single_word, t.normalized, t.special)
        for index, t in tokenizer.added_tokens_decoder.items()
    }
    return {
        "tokens": [tokenizer.tokenize(text) for text in PROBES],
        "ids": ids,
        "decoded": [tokenizer.decode(i) for i in ids],
        "decoded_skipping": [tokenizer.decode(i, skip_special_tokens=True) for i in ids],
        "truncated": tokenizer(PROBES, truncation=True, padding=True)["input_ids"],
        "len": len(tokenizer),
        "vocab_size": tokenizer.vocab_size,
        "vocab": tokenizer.get_vocab(),
        "specials": {name: getattr(tokenizer, name) for name in SPECIAL_NAMES},
        "special_ids": {name: getattr(tokenizer, name + "_id") for name in SPECIAL_NAMES},
        "all_special_tokens": tokenizer.all_special_tokens,
        "all_special_ids": tokenizer.all_special_ids,
        "extra_special_tokens": list(tokenizer.extra_special_tokens),
        "added": added,
        "model_max_length": tokenizer.model_max_length,
    }


def customise(tokenizer: Any) -> Any:
    tokenizer.add_tokens(["<3", tokenizers.AddedToken("<l>", lstrip=True)])
    tokenizer.add_special_tokens({"cls_token": "__cls__", "extra_special_tokens": ["<e1>"]})
    tokenizer.model_max_length = 12
    return tokenizer


def test_saved_by_bbtok_loads_identically_in_transformers(fresh: Any, tmp_path: Path) -> None:
    ours, ref = (customise(t) for t in fresh)
    ours.save_pretrained(tmp_path)
    loaded = reference_class().from_pretrained(str(tmp_path))
    assert behaviour(loaded) == behaviour(ref)
    assert behaviour(loaded) == behaviour(ours)


def test_saved_by_bbtok_loads_identically_in_bbtok(fresh: Any, tmp_path: Path) -> None:
    ours, _ = fresh
    customise(ours).save_pretrained(tmp_path)
    assert behaviour(BlenderbotSmallTokenizer.from_pretrained(tmp_path)) == behaviour(ours)


def test_saved_by_transformers_loads_identically_in_bbtok(fresh: Any, tmp_path: Path) -> None:
    ours, ref = (customise(t) for t in fresh)
    ref.save_pretrained(str(tmp_path))
    loaded = BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    assert behaviour(loaded) == behaviour(reference_class().from_pretrained(str(tmp_path)))
    assert behaviour(loaded) == behaviour(ours)


def test_plain_directory_saved_by_transformers_loads_identically_in_bbtok(
    tmp_path: Path, reference_tiny_tokenizer: Any
) -> None:
    reference_tiny_tokenizer.save_pretrained(str(tmp_path))
    loaded = BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    assert behaviour(loaded) == behaviour(reference_tiny_tokenizer)


def test_plain_directory_saved_by_bbtok_loads_identically_in_transformers(
    tmp_path: Path, tiny_tokenizer: Any, reference_tiny_tokenizer: Any
) -> None:
    tiny_tokenizer.save_pretrained(tmp_path)
    loaded = reference_class().from_pretrained(str(tmp_path))
    assert behaviour(loaded) == behaviour(reference_tiny_tokenizer)


def write_legacy_layout(
    source: Path, target: Path, extra_key: str = "additional_special_tokens"
) -> Path:
    """A directory as older transformers wrote it: special_tokens_map.json + added_tokens.json."""
    target.mkdir()
    for name in ("vocab.json", "merges.txt"):
        (target / name).write_bytes((source / name).read_bytes())
    size = len(json.loads((source / "vocab.json").read_text(encoding="utf-8")))
    special_map = {
        "bos_token": "__start__",
        "eos_token": "__end__",
        "unk_token": "__unk__",
        "pad_token": "__null__",
        "cls_token": "__cls__",
        extra_key: ["<e1>"],
    }
    (target / "special_tokens_map.json").write_text(json.dumps(special_map), encoding="utf-8")
    added = {"<3": size, "__cls__": size + 1, "<e1>": size + 2}
    (target / "added_tokens.json").write_text(json.dumps(added), encoding="utf-8")
    config = {"model_max_length": 12, "tokenizer_class": "BlenderbotSmallTokenizer"}
    (target / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


# The two names transformers' special_tokens_map.json files give the unnamed special tokens
# (which one depends on the version that wrote the file).
EXTRA_KEYS = ["additional_special_tokens", "extra_special_tokens"]


def without_flags(summary: dict[str, Any]) -> dict[str, Any]:
    """A behaviour summary with the added tokens' flags left out (their ids and text stay)."""
    return dict(summary, added={index: flags[0] for index, flags in summary["added"].items()})


@pytest.mark.parametrize("extra_key", EXTRA_KEYS)
def test_legacy_layout_loads_identically_in_both(
    words_dir: Path, tmp_path: Path, extra_key: str
) -> None:
    legacy = write_legacy_layout(words_dir, tmp_path / "legacy", extra_key)
    ours = BlenderbotSmallTokenizer.from_pretrained(legacy)
    ref = reference_class().from_pretrained(str(legacy))
    assert without_flags(behaviour(ours)) == without_flags(behaviour(ref))


@pytest.mark.parametrize("extra_key", EXTRA_KEYS)
def test_legacy_layout_without_a_config_loads_identically_in_both(
    words_dir: Path, tmp_path: Path, extra_key: str
) -> None:
    legacy = write_legacy_layout(words_dir, tmp_path / "legacy", extra_key)
    (legacy / "tokenizer_config.json").unlink()
    ours = BlenderbotSmallTokenizer.from_pretrained(legacy)
    ref = reference_class().from_pretrained(str(legacy))
    assert without_flags(behaviour(ours)) == without_flags(behaviour(ref))


@pytest.mark.parametrize("extra_key", EXTRA_KEYS)
def test_legacy_layout_added_token_flags_match_the_reference(
    words_dir: Path, tmp_path: Path, extra_key: str
) -> None:
    legacy = write_legacy_layout(words_dir, tmp_path / "legacy", extra_key)
    ours = BlenderbotSmallTokenizer.from_pretrained(legacy)
    ref = reference_class().from_pretrained(str(legacy))
    assert behaviour(ours)["added"] == behaviour(ref)["added"]


def test_from_pretrained_kwargs_override_the_config(fresh: Any, tmp_path: Path) -> None:
    ours, _ = fresh
    customise(ours).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["model_max_length"] == 12
    loaded_ours = BlenderbotSmallTokenizer.from_pretrained(tmp_path, model_max_length=8)
    loaded_ref = reference_class().from_pretrained(str(tmp_path), model_max_length=8)
    assert loaded_ours.model_max_length == loaded_ref.model_max_length == 8
    assert_call_matches(loaded_ours, loaded_ref, LONG, truncation=True)
    assert len(loaded_ours(LONG, truncation=True)["input_ids"]) == 8
    assert behaviour(loaded_ours) == behaviour(loaded_ref)


def test_from_pretrained_special_token_kwargs_override_the_config(
    fresh: Any, tmp_path: Path
) -> None:
    ours, _ = fresh
    customise(ours).save_pretrained(tmp_path)
    kwargs = {"pad_token": "__end__", "padding_side": "left"}
    loaded_ours = BlenderbotSmallTokenizer.from_pretrained(tmp_path, **kwargs)
    loaded_ref = reference_class().from_pretrained(str(tmp_path), **kwargs)
    assert loaded_ours.pad_token_id == loaded_ref.pad_token_id
    assert_call_matches(loaded_ours, loaded_ref, TEXTS, padding=True)
    assert behaviour(loaded_ours) == behaviour(loaded_ref)


@pytest.mark.parametrize("name", sorted(TOKENIZER_DIRS))
def test_from_pretrained_on_each_fixture_matches_the_reference(name: str) -> None:
    directory = TOKENIZER_DIRS[name]
    ours = BlenderbotSmallTokenizer.from_pretrained(directory)
    ref = reference_class().from_pretrained(str(directory))
    assert behaviour(ours) == behaviour(ref)


# -- the family -------------------------------------------------------------------------------


def test_the_default_special_tokens_are_the_familys(implementation: type[Any]) -> None:
    tok = implementation(TINY_VOCAB_DIR / VOCAB_FILE, TINY_VOCAB_DIR / MERGES_FILE)
    assert tok.special_tokens_map == dict(DEFAULT_SPECIAL_TOKENS)
