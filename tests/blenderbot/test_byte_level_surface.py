"""The byte-level BlenderbotTokenizer's surface beyond ids, live against transformers 5.23.0's
own class: added tokens' flags (given to from_pretrained, add_tokens, add_special_tokens, and
through save_pretrained both ways)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import blenderbot_fixtures
import pytest
from blenderbot_fixtures import BYTE_LEVEL_DIR, blenderbot_reference_class

from bbtok import BlenderbotTokenizer
from bbtok.tokenization.added_tokens import AddedToken

# The shared fixture, made visible to pytest in this module.
tokenizer_json_dir = blenderbot_fixtures.tokenizer_json_dir

FLAG_NAMES = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")
FLAG_SETS: list[dict[str, bool]] = [
    {"lstrip": True},
    {"rstrip": True},
    {"lstrip": True, "rstrip": True},
    {"single_word": True},
    {"normalized": True},
    {"special": True},
    {"single_word": True, "normalized": False, "special": False},
]
TEXTS = ["a   [T]b", "x [T]  y", "a [T] b[T]c", "[T]", " [T] ", "a[T]"]


def flags(token: Any) -> tuple[object, ...]:
    return tuple(getattr(token, name) for name in FLAG_NAMES)


def added_tokens(tokenizer: Any) -> dict[int, tuple[object, ...]]:
    return {index: flags(token) for index, token in tokenizer.added_tokens_decoder.items()}


def encoded(tokenizer: Any, text: str) -> list[int]:
    """The ids of ``text`` without special tokens (from vocab.json + merges.txt, bbtok adds
    ``</s>`` where 5.23.0 adds none; see docs/reference-behaviour.md)."""
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids


def both(**special_tokens: tuple[str, dict[str, bool]]) -> tuple[BlenderbotTokenizer, Any]:
    from transformers import AddedToken as ReferenceAddedToken

    ours = BlenderbotTokenizer.from_pretrained(
        BYTE_LEVEL_DIR,
        **{name: AddedToken(text, **given) for name, (text, given) in special_tokens.items()},
    )
    reference = blenderbot_reference_class().from_pretrained(
        str(BYTE_LEVEL_DIR),
        **{
            name: ReferenceAddedToken(text, **given)
            for name, (text, given) in special_tokens.items()
        },
    )
    return ours, reference


@pytest.mark.parametrize("given", FLAG_SETS)
@pytest.mark.parametrize("text", ["[NEW_EOS]", "</s>", "<s>", "Ġcon"])
def test_a_special_token_given_with_flags_joins_as_the_reference_adds_it(
    text: str, given: dict[str, bool]
) -> None:
    ours, reference = both(eos_token=(text, given))
    assert added_tokens(ours) == added_tokens(reference)
    for sample in ["a   [NEW_EOS]b", "x </s>  y", "a <s>b", "con  Ġcon"]:
        assert encoded(ours, sample) == encoded(reference, sample)


def test_an_eos_token_that_strips_white_space_swallows_it() -> None:
    ours, reference = both(eos_token=("[NEW_EOS]", {"lstrip": True}))
    assert encoded(ours, "a   [NEW_EOS]b") == encoded(reference, "a   [NEW_EOS]b")
    assert encoded(ours, "a   [NEW_EOS]b") == [261, 8008, 288]


@pytest.mark.parametrize("given", FLAG_SETS)
@pytest.mark.parametrize("how", ["add_tokens", "add_tokens as special", "add_special_tokens"])
def test_tokens_added_with_flags_keep_them_as_in_the_reference(
    how: str, given: dict[str, bool]
) -> None:
    from transformers import AddedToken as ReferenceAddedToken

    ours, reference = both()
    for tokenizer, token_class in ((ours, AddedToken), (reference, ReferenceAddedToken)):
        token = token_class("[T]", **given)
        if how == "add_tokens":
            tokenizer.add_tokens([token])
        elif how == "add_tokens as special":
            tokenizer.add_tokens([token], special_tokens=True)
        else:
            tokenizer.add_special_tokens({"extra_special_tokens": [token]})
    assert added_tokens(ours) == added_tokens(reference)
    for sample in TEXTS:
        assert encoded(ours, sample) == encoded(reference, sample)


@pytest.mark.parametrize("saved_by", ["ours", "reference"])
def test_flags_survive_save_pretrained_into_either_class(saved_by: str, tmp_path: Path) -> None:
    ours, reference = both(
        eos_token=("[NEW_EOS]", {"lstrip": True}), pad_token=("[P]", {"rstrip": True})
    )
    ours.add_tokens([AddedToken("[T]", single_word=True)])
    from transformers import AddedToken as ReferenceAddedToken

    reference.add_tokens([ReferenceAddedToken("[T]", single_word=True)])
    (ours if saved_by == "ours" else reference).save_pretrained(tmp_path)
    loaded_ours = BlenderbotTokenizer.from_pretrained(tmp_path)
    loaded_reference = blenderbot_reference_class().from_pretrained(str(tmp_path))
    assert added_tokens(loaded_ours) == added_tokens(loaded_reference) == added_tokens(reference)
    for sample in ["a   [NEW_EOS]b", "a [P]  b", "a [T] b[T]c"]:
        assert loaded_ours(sample)["input_ids"] == loaded_reference(sample)["input_ids"]
        assert encoded(loaded_ours, sample) == encoded(reference, sample)


# -- BatchEncoding's alignment methods ---------------------------------------------------------

ACCESSORS = (
    "tokens",
    "word_ids",
    "sequence_ids",
    "token_to_chars",
    "token_to_word",
    "token_to_sequence",
    "char_to_token",
    "char_to_word",
    "word_to_tokens",
    "word_to_chars",
)


def answer(method: Any, *arguments: int) -> object:
    """What a call gives, or the type of what it raises."""
    try:
        return method(*arguments)
    except Exception as error:
        return type(error)


def alignment(encoded: Any) -> list[object]:
    """Every alignment answer of every row of ``encoded``."""
    answers: list[object] = [encoded.is_fast, encoded.n_sequences, len(encoded.encodings)]
    for row, encoding in enumerate(encoded.encodings):
        answers += [encoding.ids, encoded.tokens(row), encoded.word_ids(row)]
        answers.append(encoded.sequence_ids(row))
        for index in range(-1, len(encoding.ids) + 1):
            answers += [
                answer(encoded.token_to_chars, row, index),
                answer(encoded.token_to_word, row, index),
                answer(encoded.token_to_sequence, row, index),
            ]
        for sequence in (0, 1):
            for index in range(0, 12):
                answers += [
                    answer(encoded.char_to_token, row, index, sequence),
                    answer(encoded.char_to_word, row, index, sequence),
                    answer(encoded.word_to_tokens, row, index, sequence),
                    answer(encoded.word_to_chars, row, index, sequence),
                ]
    return answers


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SHORT_TEXTS = st.text(alphabet="ab <>/s\u00e9 \n", max_size=12)


@pytest.fixture(scope="module")
def vocab_pair() -> tuple[BlenderbotTokenizer, Any]:
    return both()


@given(text=SHORT_TEXTS, pair=st.none() | SHORT_TEXTS, truncate=st.booleans())
def test_alignment_methods_answer_as_the_reference_on_texts_and_pairs(
    vocab_pair: tuple[BlenderbotTokenizer, Any], text: str, pair: str | None, truncate: bool
) -> None:
    ours, reference = vocab_pair
    options: dict[str, Any] = {"add_special_tokens": False, "return_offsets_mapping": True}
    if truncate:
        options.update(truncation=True, max_length=3)
    for call in (
        lambda tok: tok(text, pair, **options),
        lambda tok: tok(
            [text, "ab"], [pair or "", "s"] if pair is not None else None, padding=True, **options
        ),
    ):
        mine, theirs = call(ours), call(reference)
        assert dict(mine) == dict(theirs)
        assert alignment(mine) == alignment(theirs)


def test_single_text_alignment_matches_the_reference(
    vocab_pair: tuple[BlenderbotTokenizer, Any],
) -> None:
    ours, reference = vocab_pair
    mine = ours("Hello world", add_special_tokens=False)
    theirs = reference("Hello world", add_special_tokens=False)
    assert mine.tokens() == theirs.tokens()
    assert mine.word_ids() == theirs.word_ids()
    assert mine.char_to_token(3) == theirs.char_to_token(3)
    assert mine.token_to_chars(1) == theirs.token_to_chars(1)
    assert type(mine[0]).__name__ == "Encoding"


def test_offsets_of_a_pair_match_the_reference(
    vocab_pair: tuple[BlenderbotTokenizer, Any],
) -> None:
    ours, reference = vocab_pair
    mine = ours("Hello world", "a pair", return_offsets_mapping=True, add_special_tokens=False)
    theirs = reference(
        "Hello world", "a pair", return_offsets_mapping=True, add_special_tokens=False
    )
    assert mine["offset_mapping"] == theirs["offset_mapping"]
    assert mine.sequence_ids() == theirs.sequence_ids()


@pytest.mark.parametrize("method", ACCESSORS)
def test_alignment_methods_without_encodings_raise_the_references_value_error(
    method: str,
) -> None:
    from bbtok.tokenization.batch_encoding import BatchEncoding

    encoded = BatchEncoding({"input_ids": [[1, 2]]})
    with pytest.raises(ValueError, match=f"{method}\\(\\) is not available"):
        getattr(encoded, method)(0, 0) if method not in ACCESSORS[:3] else getattr(encoded, method)(
            0
        )
    assert not encoded.is_fast and encoded.encodings is None and encoded.n_sequences is None


def test_an_encoding_survives_pickling(vocab_pair: tuple[BlenderbotTokenizer, Any]) -> None:
    import pickle

    ours, _ = vocab_pair
    encoded = ours(["Hello world", "a b"], padding=True)
    copied = pickle.loads(pickle.dumps(encoded))
    assert copied.tokens(1) == encoded.tokens(1)
    assert dict(copied) == dict(encoded)


# -- a token added again -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    ["add_tokens", "add_tokens as special", "add_special_tokens", "add_tokens with a str"],
)
def test_a_special_token_added_again_with_other_flags_takes_them_as_in_the_reference(
    tokenizer_json_dir: Path, how: str
) -> None:
    from transformers import AddedToken as ReferenceAddedToken

    ours = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir)
    reference = blenderbot_reference_class().from_pretrained(str(tokenizer_json_dir))
    answers = []
    for tokenizer, token_class in ((ours, AddedToken), (reference, ReferenceAddedToken)):
        token = token_class("<mask>", rstrip=True, special=True, normalized=False)
        if how == "add_tokens":
            answers.append(tokenizer.add_tokens([token, "zzq"]))
        elif how == "add_tokens as special":
            answers.append(tokenizer.add_tokens([token], special_tokens=True))
        elif how == "add_special_tokens":
            answers.append(tokenizer.add_special_tokens({"mask_token": token}))
        else:
            answers.append(tokenizer.add_tokens(["<mask>", "</s>"]))
    assert answers[0] == answers[1]
    assert added_tokens(ours) == added_tokens(reference)
    for sample in ["a <mask>  b", "x  <mask>zzq y </s> z", "<mask>"]:
        assert ours(sample)["input_ids"] == reference(sample)["input_ids"]
        ids = ours(sample)["input_ids"]
        assert ours.decode(ids, skip_special_tokens=True) == reference.decode(
            ids, skip_special_tokens=True
        )


def test_the_flags_a_token_takes_again_are_the_ones_tokenizer_json_keeps(
    tokenizer_json_dir: Path, tmp_path: Path
) -> None:
    ours = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir)
    ours.add_tokens([AddedToken("<mask>", rstrip=True, special=True, normalized=False)])
    ours.save_pretrained(tmp_path)
    pipeline = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    (mask,) = [token for token in pipeline["added_tokens"] if token["content"] == "<mask>"]
    assert mask == {
        "id": 8007,
        "content": "<mask>",
        "single_word": False,
        "lstrip": False,
        "rstrip": True,
        "normalized": False,
        "special": True,
    }


def test_a_special_token_added_by_add_tokens_is_not_an_extra_special_token(
    tokenizer_json_dir: Path,
) -> None:
    from transformers import AddedToken as ReferenceAddedToken

    ours = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir)
    reference = blenderbot_reference_class().from_pretrained(str(tokenizer_json_dir))
    ours.add_tokens([AddedToken("[Z]", special=True)])
    reference.add_tokens([ReferenceAddedToken("[Z]", special=True)])
    assert ours.extra_special_tokens == reference.extra_special_tokens == []
    ids = ours("a [Z] b")["input_ids"]
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == (
        reference.convert_ids_to_tokens(ids, skip_special_tokens=True)
    )
