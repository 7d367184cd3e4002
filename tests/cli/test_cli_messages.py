"""What the ``bbtok`` command says when it cannot go on: in its own words (no Python argument
names, no ``[Errno N]``), one wording for one failure whichever command meets it, and how to
go on without the hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants
from huggingface_hub.errors import LocalEntryNotFoundError

from bbtok.cli import main

from conftest import SAMPLE_MODEL_ID, cached_snapshot

SAMPLE_PATH_COMMAND = (
    'python -c "from bbtok.data import SAMPLE_CHECKPOINT; print(SAMPLE_CHECKPOINT)"'
)


def run(*arguments: str | Path) -> int:
    return main([str(argument) for argument in arguments])


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty hub cache with HF_HUB_OFFLINE=1 (huggingface_hub reads its environment when
    first imported, so its constants are set too): nothing is asked of the network."""
    directory = tmp_path / "hub-cache"
    directory.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(directory))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(directory))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    yield directory


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if "bbtok: error:" in line]
    assert len(lines) == 1
    return lines[0]


def test_a_missing_tokenizer_file_is_named_without_an_errno(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    assert run("tokenize", "--tokenizer", tmp_path, "Hi") == 1
    vocab = str(tmp_path / "vocab.json")
    assert capsys.readouterr().err == f"bbtok: error: {vocab!r}: No such file\n"


def test_convert_names_a_missing_source_without_an_errno(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("convert", tmp_path / "missing", "-o", tmp_path / "out") == 1
    assert error_line(capsys).startswith(f"bbtok: error: {str(tmp_path / 'missing')!r}: ")
    assert "Errno" not in capsys.readouterr().err


def test_generate_and_convert_word_a_model_id_missing_offline_alike(
    tmp_path: Path, offline_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("generate", "--model", SAMPLE_MODEL_ID, "Hi") == 1
    from_generate = error_line(capsys)
    assert run("convert", SAMPLE_MODEL_ID, "-o", tmp_path / "out") == 1
    assert error_line(capsys) == from_generate
    assert from_generate.startswith(f"bbtok: error: {SAMPLE_MODEL_ID!r}: Not a local directory")


def test_a_model_id_missing_offline_says_to_give_a_local_directory(
    offline_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cached_snapshot(offline_cache, "1" * 40, ("vocab.json", "merges.txt"))
    assert run("generate", "--model", SAMPLE_MODEL_ID, "Hi") == 1
    message = error_line(capsys)
    assert "config.json (revision 'main') is not in the cache" in message
    assert "nothing is downloaded (HF_HUB_OFFLINE=1); give a local directory instead" in message
    assert SAMPLE_PATH_COMMAND in message


def test_a_hub_out_of_reach_says_how_to_work_offline(
    offline_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def unreachable(repo_id: str, filename: str, **options: object) -> str:
        assert options["local_files_only"] is False  # the hub would have been asked
        raise LocalEntryNotFoundError("cannot reach the hub")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    assert run("tokenize", "--tokenizer", SAMPLE_MODEL_ID, "Hi") == 1
    message = error_line(capsys)
    assert "the hub could not be reached (cannot reach the hub)" in message
    assert "To work offline, set HF_HUB_OFFLINE=1" in message
    assert "or give a local directory instead" in message
    assert SAMPLE_PATH_COMMAND in message
