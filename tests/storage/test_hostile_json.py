"""JSON files built to break a parser: nesting 100,000 deep, integers of 5,000 digits. Every
JSON file bbtok reads goes through one reader (``bbtok.storage.files.parse_json``), so each
must fail with a ValueError that names the file and says where."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.config import BlenderbotSmallConfig
from bbtok.modeling.weights import SafetensorsFile
from bbtok.storage import files
from bbtok.storage.shard_index import read_weight_map

from conftest import FIXTURES, TINY_VOCAB_DIR

DEEP_LIST = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a": ' * 100_000 + b"1" + b"}" * 100_000
LONG_INTEGER = b'{"a": ' + b"9" * 5000 + b"}"
DEEP = "arrays and objects nested more than 128 deep"
LONG = "an integer of 5,000 digits (at most 4,300)"


def small_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "small"
    shutil.copytree(TINY_VOCAB_DIR, directory)
    return directory


def byte_level_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "byte_level"
    BlenderbotTokenizer.from_pretrained(FIXTURES / "byte_level").save_pretrained(directory)
    return directory


def checkpoint_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "checkpoint"
    shutil.copytree(SAMPLE_CHECKPOINT, directory)
    return directory


def safetensors_with_header(path: Path, header: bytes) -> None:
    path.write_bytes(len(header).to_bytes(8, "little") + header)


# name: (the directory to make, the file to replace in it, how to load it)
READERS: dict[str, tuple[Callable[[Path], Path], str, Callable[[Path], object]]] = {
    "config.json": (checkpoint_directory, "config.json", BlenderbotSmallConfig.from_pretrained),
    "generation_config.json": (
        checkpoint_directory,
        "generation_config.json",
        BlenderbotSmallConfig.from_pretrained,
    ),
    "tokenizer_config.json, BlenderbotSmallTokenizer": (
        small_directory,
        "tokenizer_config.json",
        BlenderbotSmallTokenizer.from_pretrained,
    ),
    "tokenizer_config.json, BlenderbotSmallTokenizerFast": (
        small_directory,
        "tokenizer_config.json",
        BlenderbotSmallTokenizerFast.from_pretrained,
    ),
    "tokenizer_config.json, BlenderbotTokenizer": (
        byte_level_directory,
        "tokenizer_config.json",
        BlenderbotTokenizer.from_pretrained,
    ),
    "vocab.json, BlenderbotSmallTokenizer": (
        small_directory,
        "vocab.json",
        BlenderbotSmallTokenizer.from_pretrained,
    ),
    "vocab.json, BlenderbotSmallTokenizerFast": (
        small_directory,
        "vocab.json",
        BlenderbotSmallTokenizerFast.from_pretrained,
    ),
    "tokenizer.json, BlenderbotTokenizer": (
        byte_level_directory,
        "tokenizer.json",
        BlenderbotTokenizer.from_pretrained,
    ),
    "special_tokens_map.json": (
        small_directory,
        "special_tokens_map.json",
        BlenderbotSmallTokenizer.from_pretrained,
    ),
    "added_tokens.json": (
        small_directory,
        "added_tokens.json",
        BlenderbotSmallTokenizer.from_pretrained,
    ),
    "model.safetensors.index.json": (
        checkpoint_directory,
        "model.safetensors.index.json",
        lambda directory: read_weight_map(directory / "model.safetensors.index.json"),
    ),
}


@pytest.fixture(autouse=True)
def _pythons_default_digit_limit() -> Iterator[None]:
    # Python's own limit is what these files meet by default; a test changing it restores it.
    limit = sys.get_int_max_str_digits()
    yield
    sys.set_int_max_str_digits(limit)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize(
    ("content", "problem"),
    [(DEEP_LIST, DEEP), (DEEP_OBJECT, DEEP), (LONG_INTEGER, LONG)],
    ids=["deep arrays", "deep objects", "an integer of 5,000 digits"],
)
def test_a_hostile_json_file_is_a_value_error_naming_it(
    tmp_path: Path, reader: str, content: bytes, problem: str
) -> None:
    make_directory, name, load = READERS[reader]
    directory = make_directory(tmp_path)
    (directory / name).write_bytes(content)
    # The index's reader says what the file should have been.
    role = "not a checkpoint index: " if name.endswith(".index.json") else ""
    where = r" at line \d+, column \d+"
    message = re.escape(f"{directory / name}: {role}{problem}") + where
    with pytest.raises(ValueError, match=message):
        load(directory)


@pytest.mark.parametrize(
    ("header", "problem"),
    [(b'{"a": ' + DEEP_LIST + b"}", DEEP), (LONG_INTEGER, LONG)],
    ids=["deep arrays", "an integer of 5,000 digits"],
)
def test_a_hostile_safetensors_header_is_a_value_error_naming_the_file(
    tmp_path: Path, header: bytes, problem: str
) -> None:
    path = tmp_path / "model.safetensors"
    safetensors_with_header(path, header)
    message = f"{path}: the safetensors header is not JSON: {problem}"
    with pytest.raises(ValueError, match=re.escape(message)):
        SafetensorsFile(path)


def test_the_error_names_the_line_and_column_of_the_bracket_past_the_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.json"
    # The object is the first level: the 128th bracket of the array is the 129th.
    path.write_bytes(b'{\n  "a": ' + b"[" * 200 + b"]" * 200 + b"\n}")
    with pytest.raises(ValueError, match=re.escape(f"{path}: {DEEP} at line 2, column 135")):
        files.read_json(path)


def test_nesting_up_to_the_bound_is_read() -> None:
    depth = files.MAX_JSON_DEPTH
    assert files.parse_json(b"[" * depth + b"]" * depth, "x.json") is not None


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    document = b'{"a": "' + b"[" * 1000 + b'", "b": ["\\"[", "\\\\"]}'
    assert files.parse_json(document, "x.json")["b"] == ['"[', "\\"]


def test_long_digit_runs_inside_strings_and_long_fractions_are_read() -> None:
    document = b'{"a": "' + b"9" * 5000 + b'", "b": 1.' + b"5" * 5000 + b"}"
    assert files.parse_json(document, "x.json")["b"] == 1.5555555555555556


def test_the_integer_bound_holds_when_python_lifts_its_own(tmp_path: Path) -> None:
    sys.set_int_max_str_digits(0)
    path = tmp_path / "config.json"
    path.write_bytes(LONG_INTEGER)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {LONG}")):
        files.read_json(path)


def test_a_lower_limit_set_by_the_process_is_named(tmp_path: Path) -> None:
    sys.set_int_max_str_digits(1000)
    path = tmp_path / "config.json"
    path.write_bytes(b'{"a": ' + b"9" * 2000 + b"}")
    with pytest.raises(ValueError, match=re.escape("an integer of 2,000 digits (at most 1,000)")):
        files.read_json(path)
