"""The attributes and checks of transformers 5.23.0's tokenizer surface that its shared test suite
(tests/tokenization/test_transformers_suite.py) relies on, one behaviour per test, on each of
bbtok's classes beside transformers' class it stands in for."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import pytest

import bbtok

from conftest import FIXTURES, SAMPLE_DIR, reference_class

CLASSES = [
    pytest.param(("BlenderbotSmallTokenizer", SAMPLE_DIR), id="small-python"),
    pytest.param(("BlenderbotSmallTokenizerFast", SAMPLE_DIR), id="small-fast"),
    pytest.param(("BlenderbotTokenizer", FIXTURES / "byte_level"), id="byte-level"),
]


@pytest.fixture(params=CLASSES)
def ours_and_reference_class(request: pytest.FixtureRequest) -> tuple[Any, Any, Path]:
    """(ours, transformers' class of the same name, their directory), for each class."""
    name, directory = request.param
    return getattr(bbtok, name), reference_class(name), directory


@pytest.mark.parametrize("keyword", ["add_special_tokens", "get_vocab"])
def test_a_constructor_keyword_named_like_a_method_is_refused(
    ours_and_reference_class: tuple[Any, Any, Path], keyword: str
) -> None:
    ours, reference, directory = ours_and_reference_class
    for tokenizer_class in (ours, reference):
        with pytest.raises(AttributeError, match=f"{keyword} conflicts with the method"):
            tokenizer_class.from_pretrained(str(directory), **{keyword: True})


def test_init_kwargs_hold_every_constructor_option_with_a_default(
    ours_and_reference_class: tuple[Any, Any, Path],
) -> None:
    ours, _, directory = ours_and_reference_class
    tokenizer = ours.from_pretrained(directory)
    options = [
        name
        for name, parameter in inspect.signature(ours.__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
        # What the vocabulary is made of, which transformers does not record either.
        and name not in ("vocab_file", "merges_file", "tokenizer_file", "vocab", "merges")
    ]
    assert options
    assert all(name in tokenizer.init_kwargs for name in options)
    assert tokenizer.init_inputs == ()


def test_init_kwargs_are_not_changed_by_later_changes_to_the_tokenizer(
    ours_and_reference_class: tuple[Any, Any, Path],
) -> None:
    ours, _, directory = ours_and_reference_class
    tokenizer = ours.from_pretrained(directory, model_max_length=64)
    tokenizer.model_max_length = 32
    tokenizer.pad_token = "act"
    assert tokenizer.init_kwargs["model_max_length"] == 64
    assert tokenizer.init_kwargs.get("pad_token") != "act"


def test_backend_is_what_transformers_reports_for_its_class(
    ours_and_reference_class: tuple[Any, Any, Path],
) -> None:
    ours, reference, directory = ours_and_reference_class
    assert ours.from_pretrained(directory).backend == reference.from_pretrained(directory).backend


def test_token_type_ids_are_padded_with_pad_token_type_id(
    ours_and_reference_class: tuple[Any, Any, Path],
) -> None:
    ours, _, directory = ours_and_reference_class
    tokenizer = ours.from_pretrained(directory)
    encoded = tokenizer(
        ["hello there", "hi"], padding=True, return_token_type_ids=True, add_special_tokens=False
    )
    assert tokenizer.pad_token_type_id == 0
    assert encoded["token_type_ids"][1][-1] == tokenizer.pad_token_type_id


def test_extra_special_tokens_can_be_set_by_their_ids(
    ours_and_reference_class: tuple[Any, Any, Path],
) -> None:
    ours, reference, directory = ours_and_reference_class
    for tokenizer in (ours.from_pretrained(directory), reference.from_pretrained(directory)):
        tokenizer.extra_special_tokens_ids = [5, 7]
        assert tokenizer.extra_special_tokens == tokenizer.convert_ids_to_tokens([5, 7])
        assert tokenizer.extra_special_tokens_ids == [5, 7]
        tokenizer.extra_special_tokens_ids = []
        assert tokenizer.extra_special_tokens == []


def test_the_too_long_warning_is_given_once_until_deprecation_warnings_is_emptied(
    ours_and_reference_class: tuple[Any, Any, Path], caplog: pytest.LogCaptureFixture
) -> None:
    ours, _, directory = ours_and_reference_class
    tokenizer = ours.from_pretrained(directory, model_max_length=4)
    text = "hello there " * 10
    with caplog.at_level(logging.WARNING, logger="bbtok"):
        tokenizer(text)
        tokenizer(text)
        assert len(caplog.records) == 1
        tokenizer.deprecation_warnings = {}
        tokenizer(text)
    assert len(caplog.records) == 2
    assert all(record.name == "bbtok" for record in caplog.records)
    assert (
        caplog.records[1]
        .getMessage()
        .startswith(
            "Token indices sequence length is longer than the specified maximum sequence length"
        )
    )


def test_another_models_language_option_is_ignored_as_transformers_ignores_it(
    ours_and_reference_class: tuple[Any, Any, Path],
) -> None:
    ours, _, directory = ours_and_reference_class
    tokenizer = ours.from_pretrained(directory)
    assert tokenizer("hello", src_lang="en_XX", tgt_lang="ro_RO") == tokenizer("hello")
    with pytest.raises(TypeError, match="src_langg"):
        tokenizer("hello", src_langg="en_XX")


SETTINGS_WITH_FLAGS = [
    "set",
    "set, then added",
    "add_special_tokens",
    "added, then add_special_tokens",
]


def _set_eos_with_flags(tokenizer: Any, added_token_class: Any, how: str) -> None:
    token = added_token_class("[E]", lstrip=True)
    if how == "set":
        tokenizer.eos_token = token
    elif how == "set, then added":
        tokenizer.eos_token = token
        tokenizer.add_tokens(["[E]"])
    elif how == "add_special_tokens":
        tokenizer.add_special_tokens({"eos_token": token})
    else:
        tokenizer.add_tokens(["[E]"])
        tokenizer.add_special_tokens(
            {"eos_token": added_token_class("[E]", lstrip=True, rstrip=True)}
        )


def _eos_observed(tokenizer: Any) -> dict[str, Any]:
    # Without special tokens: from vocab.json + merges.txt bbtok's BlenderbotTokenizer ends a
    # sequence with </s> where transformers' adds none (see README.md).
    return {
        "ids": tokenizer("hello [E] there  [E]x", add_special_tokens=False)["input_ids"],
        "eos": (tokenizer.eos_token, tokenizer.eos_token_id),
        "added_tokens": {
            index: (str(token), token.lstrip, token.rstrip, token.normalized, token.special)
            for index, token in tokenizer.added_tokens_decoder.items()
        },
        "len": len(tokenizer),
    }


@pytest.mark.parametrize("how", SETTINGS_WITH_FLAGS)
def test_a_special_token_set_with_flags_is_as_in_the_reference_also_once_saved(
    ours_and_reference_class: tuple[Any, Any, Path], how: str, tmp_path: Path
) -> None:
    import transformers

    ours, reference, directory = ours_and_reference_class
    observed = []
    for tokenizer_class, library in ((ours, bbtok), (reference, transformers)):
        tokenizer = tokenizer_class.from_pretrained(str(directory))
        _set_eos_with_flags(tokenizer, library.AddedToken, how)
        saved = tmp_path / library.__name__
        tokenizer.save_pretrained(saved)
        observed.append(
            [
                _eos_observed(tokenizer),
                _eos_observed(ours.from_pretrained(str(saved))),
                _eos_observed(reference.from_pretrained(str(saved))),
            ]
        )
    assert observed[0] == observed[1]
