"""Directories and pickles of the byte-level Blenderbot tokenizer: both directory forms load,
save_pretrained round trips in both directions give identical output, and pickles keep
everything."""

from __future__ import annotations

import json
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

import blenderbot_fixtures
import pytest
from blenderbot_fixtures import BYTE_LEVEL_DIR, blenderbot_reference_class

from bbtok import BlenderbotTokenizer, BlenderbotTokenizerFast

# The shared fixtures, made visible to pytest in this module.
tokenizer_json_dir = blenderbot_fixtures.tokenizer_json_dir

TEXTS = [
    "Hello world",
    "Hello  <mask> world",
    "x</s>y<s>z newtok",
    "Héllo  wörld 😀\n\n  tabs\t",
    "",
]


def outputs(tokenizer: Any) -> list[Any]:
    """Everything compared between two tokenizers: per text, the ids (with and without special
    tokens), tokens, offsets, word ids and decoded text; then a padded pair batch."""
    seen: list[Any] = []
    for text in TEXTS:
        encoding = tokenizer(text, return_offsets_mapping=True)
        seen.append(
            (
                encoding["input_ids"],
                tokenizer(text, add_special_tokens=False)["input_ids"],
                tokenizer.tokenize(text),
                [tuple(span) for span in encoding["offset_mapping"]],
                encoding.word_ids(),
                tokenizer.decode(encoding["input_ids"]),
                tokenizer.decode(encoding["input_ids"], skip_special_tokens=True),
            )
        )
    pairs = tokenizer(TEXTS[:3], TEXTS[1:4], padding=True)
    seen.append((pairs["input_ids"], pairs["attention_mask"], len(tokenizer)))
    return seen


def test_the_fast_name_is_the_same_class() -> None:
    assert BlenderbotTokenizerFast is BlenderbotTokenizer
    assert BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR).is_fast


def test_our_save_loads_in_transformers_with_identical_output(tmp_path: Path) -> None:
    ours = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    ours.add_tokens(["newtok"])
    written = ours.save_pretrained(tmp_path)
    assert sorted(Path(path).name for path in written) == [
        "merges.txt",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
    ]
    reference = blenderbot_reference_class().from_pretrained(str(tmp_path))
    assert outputs(reference) == outputs(ours)
    assert outputs(BlenderbotTokenizer.from_pretrained(tmp_path)) == outputs(ours)


def test_transformers_save_loads_here_with_identical_output(tmp_path: Path) -> None:
    reference = blenderbot_reference_class().from_pretrained(str(BYTE_LEVEL_DIR))
    reference.add_tokens(["newtok"])
    reference.save_pretrained(tmp_path)
    ours = BlenderbotTokenizer.from_pretrained(tmp_path)
    assert outputs(ours) == outputs(reference)
    # and back again
    ours.save_pretrained(tmp_path / "again")
    again = blenderbot_reference_class().from_pretrained(str(tmp_path / "again"))
    assert outputs(again) == outputs(reference)


def test_saved_vocabulary_files_are_the_hubs(tmp_path: Path) -> None:
    BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR).save_pretrained(tmp_path)
    saved_vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert saved_vocab == json.loads((BYTE_LEVEL_DIR / "vocab.json").read_text(encoding="utf-8"))
    assert (tmp_path / "merges.txt").read_text(encoding="utf-8") == (
        BYTE_LEVEL_DIR / "merges.txt"
    ).read_text(encoding="utf-8")
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "BlenderbotTokenizer"
    assert config["add_prefix_space"] is True


def test_add_prefix_space_false_is_honoured_as_in_transformers(tokenizer_json_dir: Path) -> None:
    ours = BlenderbotTokenizer.from_pretrained(tokenizer_json_dir, add_prefix_space=False)
    reference = blenderbot_reference_class().from_pretrained(
        str(tokenizer_json_dir), add_prefix_space=False
    )
    assert outputs(ours) == outputs(reference)
    assert ours.tokenize("Hello") != BlenderbotTokenizer.from_pretrained(
        tokenizer_json_dir
    ).tokenize("Hello")


@pytest.mark.parametrize("form", ["vocab", "tokenizer_json"])
def test_a_pickle_gives_the_same_tokenizer(form: str, tokenizer_json_dir: Path) -> None:
    directory = BYTE_LEVEL_DIR if form == "vocab" else tokenizer_json_dir
    tokenizer = BlenderbotTokenizer.from_pretrained(directory)
    tokenizer.add_tokens(["newtok"])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<x>"]})
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert outputs(copy) == outputs(tokenizer)
    assert copy.added_tokens_decoder == tokenizer.added_tokens_decoder
    assert copy.tokenize("a<x>b") == tokenizer.tokenize("a<x>b") == ["Ġa", "<x>", "Ġb"]


def test_a_missing_directory_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        BlenderbotTokenizer.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.json"):
        BlenderbotTokenizer.from_pretrained(tmp_path)


def test_a_bad_merge_line_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_text('{"<s>": 0, "a": 1}', encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges.txt:2: a merge is two symbols"):
        BlenderbotTokenizer.from_pretrained(tmp_path)


def test_tokens_added_while_other_threads_encode_break_no_call() -> None:
    tokenizer = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    texts = ["Hello there friend, how are you?"] * 200
    expected = tokenizer(texts)["input_ids"]
    failures: list[BaseException] = []

    def encode() -> None:
        try:
            for _ in range(20):
                assert tokenizer(texts)["input_ids"] == expected
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    workers = [threading.Thread(target=encode) for _ in range(3)]
    for worker in workers:
        worker.start()
    added = [tokenizer.add_tokens([f"<new{i}>"]) for i in range(30)]
    for worker in workers:
        worker.join()
    assert not failures
    assert added == [1] * 30
    assert tokenizer.convert_tokens_to_ids("<new29>") == 8008 + 29
    assert tokenizer.tokenize("x<new7>y") == ["Ġx", "<new7>", "Ġy"]


def test_a_hub_model_id_is_read_from_the_cache(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--facebook--blenderbot-400M-distill"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        shutil.copy(BYTE_LEVEL_DIR / name, snapshot / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    tokenizer = BlenderbotTokenizer.from_pretrained(
        "facebook/blenderbot-400M-distill", cache_dir=tmp_path, local_files_only=True
    )
    assert outputs(tokenizer) == outputs(BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR))
    assert tokenizer.name_or_path == "facebook/blenderbot-400M-distill"
    with pytest.raises(FileNotFoundError, match=r"vocab\.json"):
        BlenderbotTokenizer.from_pretrained(
            "facebook/blenderbot-3B", cache_dir=tmp_path, local_files_only=True
        )
