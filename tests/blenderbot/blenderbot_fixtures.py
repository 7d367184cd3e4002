"""Fixtures of the byte-level Blenderbot tests: the fixture vocabulary in both directory forms,
and transformers 5.23.0's BlenderbotTokenizer loaded from the same directory.

Its test modules import them: a conftest.py here would hide tests/conftest.py, which other tests
import as ``conftest``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotTokenizer

from conftest import FIXTURES, reference_class

# The hub's form: vocab.json + merges.txt + tokenizer_config.json (fixtures/make_byte_level.py).
BYTE_LEVEL_DIR = FIXTURES / "byte_level"


def blenderbot_reference_class() -> Any:
    """transformers' BlenderbotTokenizer, or a skip when transformers is not installed."""
    return reference_class("BlenderbotTokenizer")


@pytest.fixture(scope="session")
def tokenizer_json_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture vocabulary as transformers 5.23.0's save_pretrained writes it
    (tokenizer.json + tokenizer_config.json)."""
    directory = tmp_path_factory.mktemp("tokenizer_json")
    blenderbot_reference_class().from_pretrained(str(BYTE_LEVEL_DIR)).save_pretrained(directory)
    assert (directory / "tokenizer.json").is_file()
    assert not (directory / "vocab.json").exists()
    return directory


@pytest.fixture(scope="session")
def json_pair(tokenizer_json_dir: Path) -> tuple[BlenderbotTokenizer, Any]:
    """(ours, reference) loaded from the tokenizer.json directory."""
    return (
        BlenderbotTokenizer.from_pretrained(tokenizer_json_dir),
        blenderbot_reference_class().from_pretrained(str(tokenizer_json_dir)),
    )


@pytest.fixture(scope="session")
def vocab_pair() -> tuple[BlenderbotTokenizer, Any]:
    """(ours, reference) loaded from the vocab.json + merges.txt directory."""
    return (
        BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR),
        blenderbot_reference_class().from_pretrained(str(BYTE_LEVEL_DIR)),
    )
