"""Arguments too large for any length: each is a ValueError naming it, raised with the other
arguments' checks, before any text is encoded; never an OverflowError or numpy's error."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer

from conftest import FIXTURES, TINY_VOCAB_DIR

TOKENIZERS = {
    "python": (BlenderbotSmallTokenizer, TINY_VOCAB_DIR),
    "fast": (BlenderbotSmallTokenizerFast, TINY_VOCAB_DIR),
    "byte-level": (BlenderbotTokenizer, FIXTURES / "byte_level"),
}
TOO_LARGE = 2**64
CALLS: dict[str, dict[str, Any]] = {
    "pad_to_multiple_of": {"padding": True, "pad_to_multiple_of": TOO_LARGE},
    "max_length": {"padding": "max_length", "max_length": TOO_LARGE},
    "stride": {"truncation": True, "max_length": 2, "stride": TOO_LARGE},
}


def load(kind: str) -> Any:
    implementation, directory = TOKENIZERS[kind]
    return implementation.from_pretrained(directory)


@pytest.mark.parametrize("return_tensors", [None, "np"])
@pytest.mark.parametrize("argument", CALLS)
@pytest.mark.parametrize("kind", TOKENIZERS)
def test_a_length_argument_of_two_to_the_64_is_a_value_error_naming_it(
    kind: str, argument: str, return_tensors: str | None
) -> None:
    pytest.importorskip("numpy")
    tok = load(kind)
    with pytest.raises(ValueError, match=re.escape(f"{argument}={TOO_LARGE} is not valid")):
        tok(["a b", "c"], return_tensors=return_tensors, **CALLS[argument])


@pytest.mark.parametrize("argument", CALLS)
def test_a_too_large_argument_is_refused_before_the_texts_are_read(argument: str) -> None:
    tok = load("byte-level")
    with pytest.raises(ValueError, match=re.escape(f"{argument}={TOO_LARGE}")):
        tok(["a", "\ud800"], return_overflowing_tokens=True, **CALLS[argument])


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_pad_with_a_multiple_of_two_to_the_64_is_a_value_error(kind: str) -> None:
    tok = load(kind)
    with pytest.raises(ValueError, match=re.escape(f"pad_to_multiple_of={TOO_LARGE}")):
        tok.pad({"input_ids": [[5], [5, 6]]}, pad_to_multiple_of=TOO_LARGE)


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_a_model_max_length_too_large_for_a_length_is_named_when_it_is_used(kind: str) -> None:
    tok = load(kind)
    tok.model_max_length = TOO_LARGE
    with pytest.raises(ValueError, match=re.escape(f"model_max_length={TOO_LARGE}")):
        tok(["a b", "c"], padding="max_length")


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_the_largest_length_still_means_no_truncation(kind: str) -> None:
    tok = load(kind)
    texts = ["a b", "c"]
    assert tok(texts, truncation=True, max_length=sys.maxsize) == tok(texts)
