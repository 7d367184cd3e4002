"""The ``bbtok`` command on the byte-level family: ``generate`` and ``chat`` on a tiny Blenderbot
checkpoint, ``tokenize``/``decode`` on a byte-level tokenizer, ``train --byte-level``, and the
refusals (a checkpoint that cannot generate)."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from bbtok import BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.cli import main
from bbtok.cli.model_commands import conversation_text
from bbtok.modeling import BlenderbotForConditionalGeneration
from bbtok.modeling.weights import write_safetensors
from bbtok.tokenizer_auto import auto_tokenizer, is_byte_level

from conftest import FIXTURES, SAMPLE_DIR

BYTE_LEVEL_DIR = FIXTURES / "byte_level"
BYTE_LEVEL_VOCAB_SIZE = 8008


def run(*arguments: str | Path) -> int:
    return main([str(argument) for argument in arguments])


def _model_maker() -> ModuleType:
    """fixtures/make_blenderbot_model.py, imported by path (fixtures is not a package)."""
    path = FIXTURES / "make_blenderbot_model.py"
    spec = importlib.util.spec_from_file_location("make_blenderbot_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random pre-LayerNorm Blenderbot whose vocabulary is fixtures/byte_level's."""
    directory = tmp_path_factory.mktemp("tiny_byte_level_blenderbot")
    maker = _model_maker()
    maker.VOCAB_SIZE = BYTE_LEVEL_VOCAB_SIZE  # read by parameter_specs() when called
    weights = maker.make_weights()
    write_safetensors(
        directory / "model.safetensors",
        {name: ("F32", array.shape) for name, array in weights.items()},
        weights.__getitem__,
    )
    config = dict(maker.CONFIG, vocab_size=BYTE_LEVEL_VOCAB_SIZE)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    generation = dict(maker.GENERATION_CONFIG, max_length=12)
    (directory / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        shutil.copy(BYTE_LEVEL_DIR / name, directory / name)
    return directory


def _generated(output: str) -> list[list[int]]:
    return [
        json.loads(line.removeprefix("generated: "))
        for line in output.splitlines()
        if line.startswith("generated: ")
    ]


# -- choosing the tokenizer ---------------------------------------------------------------------


def test_the_tokenizer_class_comes_from_the_directory(tmp_path: Path) -> None:
    assert is_byte_level(BYTE_LEVEL_DIR)
    assert isinstance(auto_tokenizer(BYTE_LEVEL_DIR), BlenderbotTokenizer)
    assert not is_byte_level(SAMPLE_DIR)
    assert isinstance(auto_tokenizer(SAMPLE_DIR), BlenderbotSmallTokenizerFast)
    # Without a tokenizer_config.json, tokenizer.json means byte-level.
    BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR).save_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").unlink()
    assert (tmp_path / "tokenizer.json").exists()
    assert isinstance(auto_tokenizer(tmp_path), BlenderbotTokenizer)


def test_an_unknown_tokenizer_class_is_named(tmp_path: Path) -> None:
    config = tmp_path / "tokenizer_config.json"
    config.write_text('{"tokenizer_class": "GPT2Tokenizer"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"tokenizer_class 'GPT2Tokenizer' is not a tokenizer"):
        is_byte_level(tmp_path)


# -- generate and chat --------------------------------------------------------------------------


def test_generate_replies_as_the_model_does_directly(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["Hello there!", "What do you do for a living?"]
    assert run("generate", "--model", checkpoint, *texts) == 0
    shown = _generated(capsys.readouterr().out)
    tok = BlenderbotTokenizer.from_pretrained(checkpoint)
    model = BlenderbotForConditionalGeneration.from_pretrained(checkpoint)
    batch = tok(texts, padding=True, return_tensors="np")
    expected = model.generate(batch["input_ids"], batch["attention_mask"]).tolist()
    # Each row up to its end token (2), without the padding of the batch after it.
    assert shown == [row[: row.index(2, 1) + 1] if 2 in row[1:] else row for row in expected]
    assert shown[0][0] == 1  # the decoder start token, then the reply


def test_generate_refuses_an_empty_text(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its end token alone is no input (white space is: byte-level tokens keep spaces).
    assert run("generate", "--model", checkpoint, "Hi", "") == 1
    assert capsys.readouterr().err == (
        "bbtok: error: text 2 is empty: there is nothing to reply to\n"
    )


def test_chat_joins_turns_as_blenderbot_was_trained(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"Hi there!\nDo you like dogs?\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stream)
    assert run("chat", "--model", checkpoint, "--max-new-tokens", "5") == 0
    replies = [line.removeprefix("bot> ") for line in capsys.readouterr().out.splitlines()]
    assert len(replies) == 2
    tok = BlenderbotTokenizer.from_pretrained(checkpoint)
    model = BlenderbotForConditionalGeneration.from_pretrained(checkpoint)
    history: list[str] = []
    for message, shown in zip(["Hi there!", "Do you like dogs?"], replies):
        history.append(message)
        context = tok(conversation_text(history, byte_level=True), return_tensors="np")
        output = model.generate(context["input_ids"], context["attention_mask"], max_new_tokens=5)
        reply = tok.decode(output[0], skip_special_tokens=True)
        assert shown == reply
        history.append(reply)


def test_turns_are_joined_per_family() -> None:
    turns = ["Hi!", "Hello.", "How are you?"]
    assert conversation_text(turns, byte_level=False) == "Hi!\nHello.\nHow are you?"
    assert conversation_text(turns, byte_level=True) == " Hi!  Hello.   How are you?"


@pytest.mark.parametrize("architecture", ["BlenderbotModel", "BlenderbotForCausalLM"])
def test_a_checkpoint_that_cannot_generate_is_refused(
    checkpoint: Path, tmp_path: Path, architecture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for item in checkpoint.iterdir():
        shutil.copy(item, tmp_path / item.name)
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    config["architectures"] = [architecture]
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert run("generate", "--model", tmp_path, "Hello") == 1
    what = {
        "BlenderbotModel": "has no output layer",
        "BlenderbotForCausalLM": "is a decoder alone (a causal language model)",
    }[architecture]
    assert capsys.readouterr().err == (
        f"bbtok: error: {tmp_path / 'config.json'}: {architecture} {what}; generate and chat "
        "reply with an encoder-decoder, a ...ForConditionalGeneration checkpoint\n"
    )


# -- tokenize, decode, encode -------------------------------------------------------------------


def test_tokenize_and_decode_a_byte_level_tokenizer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tokenize", "--tokenizer", BYTE_LEVEL_DIR, "Hello, World!") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "text: 'Hello, World!' (6 tokens)"
    assert [line.split()[:2] for line in lines[2:]] == [
        ["'ĠH'", "421"],
        ["'ello'", "1087"],
        ["','", "15"],
        ["'ĠWorld'", "5420"],
        ["'!'", "4"],
        ["'</s>'", "2"],
    ]
    assert run("decode", "--tokenizer", BYTE_LEVEL_DIR, "421 1087 15 5420 4 2") == 0
    assert capsys.readouterr().out == " Hello, World!</s>\n"
    assert run("decode", "--tokenizer", BYTE_LEVEL_DIR, "--skip-special-tokens", "421,2") == 0
    assert capsys.readouterr().out == " H\n"


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_encode_streams_a_byte_level_tokenizer_as_its_batch_call(
    tmp_path: Path, suffix: str
) -> None:
    records = ["Hello, World!", "", "  two  spaces", "caf\u00e9 \U0001f600 <mask> end", "x" * 300]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(records) + "\n", encoding="utf-8")
    output = tmp_path / f"out{suffix}"
    arguments = ["--batch-size", "2", "--max-length", "64", "-q"]
    assert run("encode", source, "-o", output, "--tokenizer", BYTE_LEVEL_DIR, *arguments) == 0
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    expected = tok(records, truncation=True, max_length=64)["input_ids"]
    if suffix == ".jsonl":
        rows = [json.loads(line)["input_ids"] for line in output.read_text().splitlines()]
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(output).column("input_ids").to_pylist()
    assert rows == expected
    assert all(row[-1] == tok.eos_token_id for row in rows)  # X </s>, as the family adds


# -- train --------------------------------------------------------------------------------------


def test_demo_runs_a_byte_level_checkpoint(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "Hello there, how are you?"
    assert run("demo", "--tokenizer", checkpoint, "--model", checkpoint, text) == 0
    output = capsys.readouterr().out
    tok = BlenderbotTokenizer.from_pretrained(checkpoint)
    assert "(BlenderbotTokenizer, 8,008 tokens)" in output
    assert f"ids:     {tok(text)['input_ids']}" in output
    assert "pure-Python" not in output  # BlenderbotSmall's check only
    model = BlenderbotForConditionalGeneration.from_pretrained(checkpoint)
    expected = model.generate(np.array([tok(text)["input_ids"]]), max_new_tokens=12)
    assert _generated(output) == expected.tolist()


def test_train_byte_level_writes_a_tokenizer_bbtok_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello there friend\nhow are you doing\n" * 3, encoding="utf-8")
    output = tmp_path / "vocab"
    arguments = ["--vocab-size", "280", "--min-frequency", "1"]
    assert run("train", "--byte-level", corpus, "-o", output, *arguments) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"bbtok: wrote {output / 'vocab.json'}, {output / 'merges.txt'} and "
        f"{output / 'tokenizer_config.json'}\n"
    )
    tok = auto_tokenizer(output)
    assert isinstance(tok, BlenderbotTokenizer)
    # The specials, the 256 bytes and <mask>, then 19 merges.
    assert len(tok) == 280
    ids = tok("hello there")["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == " hello there"
    assert np.all(np.array(ids) < 280)


def test_a_blenderbot_small_checkpoint_that_cannot_generate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for item in Path(SAMPLE_DIR).iterdir():
        shutil.copy(item, tmp_path / item.name)
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    config["architectures"] = ["BlenderbotSmallModel"]
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert run("generate", "--model", tmp_path, "Hello") == 1
    assert capsys.readouterr().err == (
        f"bbtok: error: {tmp_path / 'config.json'}: BlenderbotSmallModel has no output layer; "
        "generate and chat reply with an encoder-decoder, a ...ForConditionalGeneration "
        "checkpoint\n"
    )
