"""The byte-level vocabulary trainer and the fixture it made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from blenderbot_fixtures import BYTE_LEVEL_DIR, blenderbot_reference_class

from bbtok import BlenderbotTokenizer
from bbtok.blenderbot.train import train_byte_level

CORPUS = [
    "Hello there! How are you doing today?",
    "I'm doing well, thanks. And you?",
    "Über café naïve 😀 日本語 text, with some repeats: hello hello hello.",
] * 20


def read_files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_training_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    train_byte_level(tmp_path / "one", texts=CORPUS, vocab_size=300)
    train_byte_level(tmp_path / "two", texts=CORPUS, vocab_size=300)
    assert read_files(tmp_path / "one") == read_files(tmp_path / "two")


def test_a_trained_vocabulary_has_the_hubs_layout(tmp_path: Path) -> None:
    paths = train_byte_level(tmp_path, texts=CORPUS, vocab_size=300)
    assert [Path(path).name for path in paths] == [
        "vocab.json",
        "merges.txt",
        "tokenizer_config.json",
    ]
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    by_id = sorted(vocab, key=vocab.__getitem__)
    assert by_id[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert by_id[-1] == "<mask>"
    assert sorted(vocab.values()) == list(range(len(vocab)))
    assert (tmp_path / "merges.txt").read_text(encoding="utf-8").startswith("#version: 0.2\n")


def test_a_trained_vocabulary_loads_here_and_in_transformers(tmp_path: Path) -> None:
    train_byte_level(tmp_path, texts=CORPUS, vocab_size=300)
    ours = BlenderbotTokenizer.from_pretrained(tmp_path)
    reference = blenderbot_reference_class().from_pretrained(str(tmp_path))
    for text in CORPUS[:3]:
        assert ours(text, add_special_tokens=False)["input_ids"] == reference(text)["input_ids"]
        assert ours.decode(ours(text)["input_ids"], skip_special_tokens=True) == " " + text


def test_files_are_read_as_one_text_each(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS), encoding="utf-8")
    train_byte_level(tmp_path / "file", files=[corpus], vocab_size=300)
    train_byte_level(tmp_path / "text", texts=["\n".join(CORPUS)], vocab_size=300)
    assert read_files(tmp_path / "file") == read_files(tmp_path / "text")


def test_vocab_size_counts_every_entry(tmp_path: Path) -> None:
    train_byte_level(tmp_path, texts=CORPUS, vocab_size=300)
    assert len(json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))) == 300


def test_a_corpus_that_cannot_fill_the_vocabulary_is_warned_of(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="of the 5,000 entries asked for"):
        train_byte_level(tmp_path, texts=CORPUS, vocab_size=5000)


def test_a_path_given_as_a_text_is_refused_by_type(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"texts\[0\] is a PosixPath"):
        train_byte_level(tmp_path, texts=[tmp_path / "corpus.txt"], vocab_size=300)  # type: ignore[list-item]


def test_a_directory_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        train_byte_level(tmp_path, texts=CORPUS, vocab_size=300)
    assert (tmp_path / "tokenizer_config.json").read_text() == "mine"


def test_overwrite_replaces_the_three_files_and_keeps_the_others(tmp_path: Path) -> None:
    train_byte_level(tmp_path / "fresh", texts=CORPUS, vocab_size=300)
    output = tmp_path / "out"
    output.mkdir()
    (output / "vocab.json").write_text("old")
    (output / "notes.txt").write_text("mine")
    train_byte_level(output, texts=CORPUS, vocab_size=300, overwrite=True)
    assert read_files(output) == {**read_files(tmp_path / "fresh"), "notes.txt": b"mine"}


def test_too_small_a_vocabulary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vocab_size must be at least 261"):
        train_byte_level(tmp_path, texts=CORPUS, vocab_size=100)


def test_the_fixture_has_the_400m_distill_size_and_layout() -> None:
    vocab = json.loads((BYTE_LEVEL_DIR / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == 8008
    assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 8007]
