"""tokenizer_config.json and special_tokens_map.json with settings of the wrong shape: each is
a ValueError naming the file and the setting, for every tokenizer class, instead of a KeyError,
TypeError or unpacking error from deep inside the constructor."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.tokenizer_auto import is_byte_level

from conftest import FIXTURES, TINY_VOCAB_DIR

CLASSES = {
    "BlenderbotSmallTokenizer": (BlenderbotSmallTokenizer, TINY_VOCAB_DIR),
    "BlenderbotSmallTokenizerFast": (BlenderbotSmallTokenizerFast, TINY_VOCAB_DIR),
    "BlenderbotTokenizer": (BlenderbotTokenizer, FIXTURES / "byte_level"),
}
TOKEN = {"content": "<x>", "lstrip": False, "normalized": False, "rstrip": False,
         "single_word": False, "special": True}  # fmt: skip
# name: (settings, the key the message must name)
MALFORMED_SETTINGS: dict[str, tuple[dict[str, Any], str]] = {
    "added_tokens_decoder as a list": ({"added_tokens_decoder": [TOKEN]}, "added_tokens_decoder"),
    "added_tokens_decoder with a key that is no id": (
        {"added_tokens_decoder": {"five": TOKEN}},
        "added_tokens_decoder key 'five'",
    ),
    "added_tokens_decoder with a negative id": (
        {"added_tokens_decoder": {"-1": TOKEN}},
        "added_tokens_decoder key '-1'",
    ),
    "an added token without content": (
        {"added_tokens_decoder": {"5": {"special": True}}},
        "added_tokens_decoder['5']",
    ),
    "an added token whose content is a number": (
        {"added_tokens_decoder": {"5": {**TOKEN, "content": 5}}},
        "added_tokens_decoder['5']",
    ),
    "an added token with a flag as a string": (
        {"added_tokens_decoder": {"5": {**TOKEN, "special": "yes"}}},
        "added_tokens_decoder['5']",
    ),
    "an added token with an unknown field": (
        {"added_tokens_decoder": {"5": {**TOKEN, "colour": "red"}}},
        "added_tokens_decoder['5']",
    ),
    "an added token that is a number": (
        {"added_tokens_decoder": {"5": 7}},
        "added_tokens_decoder['5']",
    ),
    "model_input_names as a number": ({"model_input_names": 5}, "model_input_names"),
    "model_input_names of numbers": ({"model_input_names": [1, 2]}, "model_input_names"),
    "a special token as a number": ({"unk_token": 5}, "unk_token"),
    "a special token as a list": ({"eos_token": ["</s>"]}, "eos_token"),
    "extra_special_tokens as a string": ({"extra_special_tokens": "<x>"}, "extra_special_tokens"),
    "extra_special_tokens holding a number": (
        {"extra_special_tokens": ["<x>", 5]},
        "extra_special_tokens",
    ),
    "model_max_length as a string": ({"model_max_length": "512"}, "model_max_length"),
    "model_max_length negative": ({"model_max_length": -1}, "model_max_length"),
    "padding_side as a number": ({"padding_side": 1}, "padding_side"),
    "truncation_side misspelt": ({"truncation_side": "lft"}, "truncation_side"),
    "a flag as a string": (
        {"clean_up_tokenization_spaces": "false"},
        "clean_up_tokenization_spaces",
    ),
}


def directory_with(tmp_path: Path, source: Path, name: str, settings: dict[str, Any]) -> Path:
    directory = tmp_path / "tokenizer"
    shutil.copytree(source, directory)
    (directory / name).write_text(json.dumps(settings))
    return directory


@pytest.mark.parametrize("class_name", sorted(CLASSES))
@pytest.mark.parametrize("case", sorted(MALFORMED_SETTINGS))
def test_a_malformed_tokenizer_config_is_a_value_error_naming_file_and_key(
    tmp_path: Path, class_name: str, case: str
) -> None:
    cls, source = CLASSES[class_name]
    settings, key = MALFORMED_SETTINGS[case]
    directory = directory_with(tmp_path, source, "tokenizer_config.json", settings)
    message = re.escape(f"{directory / 'tokenizer_config.json'}: {key}")
    with pytest.raises(ValueError, match=message):
        cls.from_pretrained(directory)


@pytest.mark.parametrize("class_name", sorted(CLASSES))
@pytest.mark.parametrize(
    "case", ["a special token as a number", "extra_special_tokens as a string"]
)
def test_a_malformed_special_tokens_map_is_a_value_error_naming_file_and_key(
    tmp_path: Path, class_name: str, case: str
) -> None:
    cls, source = CLASSES[class_name]
    settings, key = MALFORMED_SETTINGS[case]
    directory = directory_with(tmp_path, source, "special_tokens_map.json", settings)
    (directory / "tokenizer_config.json").unlink(missing_ok=True)
    message = re.escape(f"{directory / 'special_tokens_map.json'}: {key}")
    with pytest.raises(ValueError, match=message):
        cls.from_pretrained(directory)


def test_a_well_formed_added_tokens_decoder_is_read(tmp_path: Path) -> None:
    settings = {"added_tokens_decoder": {"5": TOKEN}}
    directory = directory_with(tmp_path, TINY_VOCAB_DIR, "tokenizer_config.json", settings)
    assert BlenderbotSmallTokenizer.from_pretrained(directory).added_tokens_decoder[5].special


def test_a_tokenizer_class_that_is_no_name_is_a_value_error_naming_the_file(
    tmp_path: Path,
) -> None:
    settings = {"tokenizer_class": ["BlenderbotTokenizer"]}
    directory = directory_with(tmp_path, TINY_VOCAB_DIR, "tokenizer_config.json", settings)
    message = re.escape(f"{directory / 'tokenizer_config.json'}: tokenizer_class")
    with pytest.raises(ValueError, match=message):
        is_byte_level(directory)
