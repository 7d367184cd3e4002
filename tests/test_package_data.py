"""The checkpoints shipped in the package are whole: each tokenizer's ids fit its model, and
the model reads every text the tokenizer lets through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbtok import BlenderbotTokenizer
from bbtok.data import SAMPLE_CHECKPOINT, TINY_BLENDERBOT
from bbtok.tokenizer_auto import auto_tokenizer

from conftest import REPOSITORY


def config(directory: Path) -> dict[str, object]:
    return json.loads((directory / "config.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("directory", [SAMPLE_CHECKPOINT, TINY_BLENDERBOT], ids=lambda d: d.name)
def test_the_model_has_a_row_for_every_id_of_its_tokenizer(directory: Path) -> None:
    assert len(auto_tokenizer(directory)) == config(directory)["vocab_size"]


def test_the_tiny_blenderbot_reads_as_many_positions_as_its_tokenizer_gives() -> None:
    tokenizer = BlenderbotTokenizer.from_pretrained(TINY_BLENDERBOT)
    assert tokenizer.model_max_length == config(TINY_BLENDERBOT)["max_position_embeddings"] == 128


def test_the_tiny_blenderbot_is_the_byte_level_family() -> None:
    assert isinstance(auto_tokenizer(TINY_BLENDERBOT), BlenderbotTokenizer)
    assert config(TINY_BLENDERBOT)["model_type"] == "blenderbot"


def test_the_installed_package_holds_every_file_of_the_data_folder() -> None:
    import bbtok.data

    sources = REPOSITORY / "python" / "bbtok" / "data"
    installed = Path(bbtok.data.__file__).parent

    def files(folder: Path) -> set[str]:
        return {
            str(path.relative_to(folder))
            for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }

    assert files(sources) <= files(installed)
    assert len(files(sources)) > 10
