"""``bbtok generate``, ``chat`` and ``demo``: a tokenizer from elsewhere than the model's
directory, what is shown of the ids generated, the refusal of a model that cannot reply, and
line editing for a person typing."""

from __future__ import annotations

import io
import json
import sys
import warnings
from pathlib import Path

import pytest

from bbtok.blenderbot_small.train import train
from bbtok.cli import main
from bbtok.modeling import BlenderbotForConditionalGeneration
from bbtok.tokenizer_auto import auto_tokenizer

from conftest import FIXTURES

TINY_BLENDERBOT = FIXTURES / "tiny_blenderbot"  # weights and config only: 64 ids
CAUSAL_LM = FIXTURES / "tiny_blenderbot_small_causal"
END = 2  # the end token of the sample checkpoint and of tiny_blenderbot


def run(*arguments: str | Path) -> int:
    return main([str(argument) for argument in arguments])


def generated(output: str) -> list[list[int]]:
    return [
        json.loads(line.removeprefix("generated: "))
        for line in output.splitlines()
        if line.startswith("generated: ")
    ]


@pytest.fixture(scope="module")
def tokenizer_of_64_ids(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BlenderbotSmall vocabulary of exactly tiny_blenderbot's 64 ids."""
    directory = tmp_path_factory.mktemp("tokenizer64")
    texts = ["hello there, how are you doing today? i am fine, thanks."] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the corpus fills the vocabulary
        train(directory, texts=texts, vocab_size=64, min_frequency=1)
    return directory


def test_generate_takes_a_tokenizer_from_another_directory(
    tokenizer_of_64_ids: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["hello there", "how are you?"]
    options = ["--model", TINY_BLENDERBOT, "--tokenizer", tokenizer_of_64_ids]
    assert run("generate", *options, "--max-new-tokens", "4", *texts) == 0
    tok = auto_tokenizer(tokenizer_of_64_ids)
    model = BlenderbotForConditionalGeneration.from_pretrained(TINY_BLENDERBOT)
    batch = tok(texts, padding=True, return_tensors="np")
    expected = model.generate(batch["input_ids"], batch["attention_mask"], max_new_tokens=4)
    rows = expected.tolist()
    assert generated(capsys.readouterr().out) == [
        row[: row.index(END, 1) + 1] if END in row[1:] else row for row in rows
    ]


def test_chat_takes_a_tokenizer_from_another_directory(
    tokenizer_of_64_ids: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", _lines("hello there\n"))
    options = ["--model", TINY_BLENDERBOT, "--tokenizer", tokenizer_of_64_ids]
    assert run("chat", *options, "--max-new-tokens", "4") == 0
    assert capsys.readouterr().out.startswith("bot> ")


def test_a_model_without_tokenizer_files_asks_for_tokenizer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("generate", "--model", TINY_BLENDERBOT, "hello") == 1
    assert capsys.readouterr().err == (
        f"bbtok: error: {TINY_BLENDERBOT}: no tokenizer files beside the model (vocab.json and "
        "merges.txt, or tokenizer.json); pass --tokenizer DIR or a hub model id\n"
    )


def test_a_causal_lm_is_refused_as_a_decoder_alone_before_its_tokenizer_is_looked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert not (CAUSAL_LM / "vocab.json").exists()
    assert run("generate", "--model", CAUSAL_LM, "hello") == 1
    assert capsys.readouterr().err == (
        f"bbtok: error: {CAUSAL_LM / 'config.json'}: BlenderbotSmallForCausalLM is a decoder "
        "alone (a causal language model); generate and chat reply with an encoder-decoder, a "
        "...ForConditionalGeneration checkpoint\n"
    )


def test_generate_shows_each_reply_without_the_batchs_padding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # On the sample checkpoint, these replies end after 6, 8 and 22 tokens.
    assert run("generate", "Hello there", "How are you doing today?", "hi") == 0
    rows = generated(capsys.readouterr().out)
    assert [len(row) for row in rows] == [8, 10, 24]
    assert all(row.index(END, 1) == len(row) - 1 for row in rows)


def test_demo_replies_to_every_text_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("demo", "one", "two", "three") == 0
    replied = [line for line in capsys.readouterr().out.splitlines() if line.startswith("input:")]
    assert replied == ["input:     'one'", "input:     'two'", "input:     'three'"]


def test_chat_on_a_terminal_imports_readline_for_line_editing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("readline")
    monkeypatch.delitem(sys.modules, "readline", raising=False)
    stream = _lines("")
    monkeypatch.setattr(stream, "isatty", lambda: True)
    monkeypatch.setattr(sys, "stdin", stream)
    assert run("chat") == 0
    assert "readline" in sys.modules


def test_chat_from_a_pipe_leaves_readline_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("readline")
    monkeypatch.delitem(sys.modules, "readline", raising=False)
    monkeypatch.setattr(sys, "stdin", _lines(""))
    assert run("chat") == 0
    assert "readline" not in sys.modules


def _lines(text: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
