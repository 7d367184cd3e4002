"""The numpy model runner against transformers: goldens recorded by
``fixtures/make_model_goldens.py`` (transformers + torch) on ``fixtures/tiny-model``, checked
here without torch; and a live comparison when torch and transformers' model classes import.

float32 logits must agree with the goldens within 1e-4; live, float64 logits agree with
transformers' within 1e-9 and float32 ones are as accurate as transformers' (conftest.py says
why); generations are compared in float64 on both sides, where they must be identical (on random
weights, beam search meets near-ties that float32 rounding decides either way).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from bbtok import BlenderbotSmallTokenizerFast
from bbtok.cli import main
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration, IncrementalDecoder

from conftest import (
    FLOAT64_TOLERANCE,
    MODEL_GOLDENS,
    assert_float32_as_accurate_as_transformers,
)

TINY_MODEL = SAMPLE_CHECKPOINT
GOLDENS = json.loads(MODEL_GOLDENS.read_text(encoding="utf-8"))
LOGITS_TOLERANCE = 1e-4
Model = BlenderbotSmallForConditionalGeneration


@pytest.fixture(scope="module")
def model32() -> Model:
    return Model.from_pretrained(TINY_MODEL, dtype="float32")


@pytest.fixture(scope="module")
def model64() -> Model:
    return Model.from_pretrained(TINY_MODEL, dtype="float64")


@pytest.fixture(scope="module")
def tok() -> BlenderbotSmallTokenizerFast:
    return BlenderbotSmallTokenizerFast.from_pretrained(TINY_MODEL)


@pytest.mark.parametrize("case", GOLDENS["logits"], ids=["padded", "decoder-mask"])
def test_float32_logits_match_the_goldens(
    case: dict[str, Any], model32: Model, tok: BlenderbotSmallTokenizerFast
) -> None:
    batch = tok(case["texts"], padding=True, return_tensors="np")
    np.testing.assert_array_equal(batch["input_ids"], case["input_ids"])
    np.testing.assert_array_equal(batch["attention_mask"], case["attention_mask"])
    logits = model32(
        case["input_ids"],
        case["attention_mask"],
        case["decoder_input_ids"],
        case.get("decoder_attention_mask"),
    ).logits
    assert logits.dtype == np.float32
    assert logits.shape == (*np.shape(case["decoder_input_ids"]), 16388)
    picked = logits[:, :, GOLDENS["logit_ids"]]
    assert np.abs(picked - np.array(case["logits"])).max() <= LOGITS_TOLERANCE
    assert np.abs(logits.max(axis=-1) - np.array(case["max"])).max() <= LOGITS_TOLERANCE
    np.testing.assert_array_equal(logits.argmax(axis=-1), case["argmax"])
    sums = logits.astype(np.float64).sum(axis=-1)
    assert np.abs(sums - np.array(case["sum"])).max() <= 1e-2  # 16,388 float32 terms


SETTINGS = GOLDENS["generations"]["settings"]


@pytest.mark.parametrize("setting", SETTINGS, ids=[json.dumps(s["kwargs"]) for s in SETTINGS])
def test_float64_generations_match_the_goldens(setting: dict[str, Any], model64: Model) -> None:
    inputs = GOLDENS["generations"]["inputs"]
    for part in ("batch", "single"):
        output = model64.generate(
            np.array(inputs[part]["input_ids"]),
            np.array(inputs[part]["attention_mask"]),
            **setting["kwargs"],
        )
        assert output.dtype == np.int64
        assert output.tolist() == setting[part], part


def test_the_tokenizer_gives_the_goldens_inputs(tok: BlenderbotSmallTokenizerFast) -> None:
    generations = GOLDENS["generations"]
    batch = tok(generations["texts"], padding=True, return_tensors="np")
    assert batch["input_ids"].tolist() == generations["inputs"]["batch"]["input_ids"]
    single = tok([generations["single_text"]], return_tensors="np")
    assert single["input_ids"].tolist() == generations["inputs"]["single"]["input_ids"]


def test_incremental_decoding_equals_the_full_pass(model64: Model) -> None:
    """The key/value cache (buffers that grow past 16 positions included) gives the logits of
    one full forward pass, step by step."""
    rng = np.random.default_rng(1)
    ids = rng.integers(5, 16388, size=(2, 9))
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    targets = rng.integers(5, 16388, size=(2, 40))
    targets[:, 0] = 1
    full = model64(ids, mask, targets).logits
    encoded = model64.encode(ids, mask).last_hidden_state
    decoder = IncrementalDecoder(model64, encoded, mask.astype(bool))
    steps = np.stack([decoder.step(targets[:, i]) for i in range(targets.shape[1])], axis=1)
    np.testing.assert_allclose(steps, full, rtol=0, atol=1e-10)


def test_reordering_beams_reorders_their_caches(model64: Model) -> None:
    """Two beams of one input that have seen different tokens: after keeping beam 1 twice,
    both rows continue as beam 1 would."""
    ids = np.array([[56, 1891, 1060, 23]])
    mask = np.ones(ids.shape, dtype=bool)
    encoded = model64.encode(ids, mask).last_hidden_state
    decoder = IncrementalDecoder(model64, np.repeat(encoded, 2, axis=0), np.repeat(mask, 2, axis=0))
    decoder.step(np.array([1, 1]))
    decoder.step(np.array([40, 41]))
    alone = IncrementalDecoder(model64, encoded, mask)
    alone.step(np.array([1]))
    alone.step(np.array([41]))
    decoder.reorder(np.array([1, 1]))
    after = decoder.step(np.array([7, 7]))
    np.testing.assert_array_equal(after[0], after[1])
    np.testing.assert_allclose(after[0], alone.step(np.array([7]))[0], rtol=0, atol=1e-12)


def test_generation_settings_errors_are_named(model64: Model) -> None:
    ids = np.array([[5, 6, 7]])
    with pytest.raises(TypeError, match="temprature"):
        model64.generate(ids, temprature=0.5)
    with pytest.raises(ValueError, match="num_beams"):
        model64.generate(ids, num_beams=0)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model64.generate(ids, max_new_tokens=80, min_new_tokens=80)


def test_default_attention_mask_treats_pad_ids_as_padding(model64: Model) -> None:
    padded = np.array([[56, 1891, 1060, 0, 0], [56, 1891, 1060, 6429, 23]])
    mask = (padded != 0).astype(int)
    assert model64.generate(padded).tolist() == model64.generate(padded, mask).tolist()


def test_cli_generate_and_chat(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    model = str(TINY_MODEL)
    assert main(["generate", "--model", model, "--max-new-tokens", "6", "hello there"]) == 0
    captured = capsys.readouterr()
    assert "reply:" in captured.out and "generated: [1, " in captured.out
    # The note is not a result: it goes to stderr, so `bbtok generate ... > out.txt` holds replies.
    assert "random weights" in captured.err and "random weights" not in captured.out

    monkeypatch.setattr("sys.stdin", io.StringIO("hi!\nhow are you?\nquit\nnot read\n"))
    assert main(["chat", "--model", model, "--max-new-tokens", "5"]) == 0
    out = capsys.readouterr().out
    assert out.count("bot> ") == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("one turn, then end of input"))
    assert main(["chat", "--model", model, "--max-new-tokens", "5"]) == 0
    assert capsys.readouterr().out.count("bot> ") == 1


def test_chat_keeps_the_end_of_a_long_history(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """A history longer than the model's 64 positions is cut from the left, not refused."""
    turns = "\n".join(f"turn number {i} says something rather long" for i in range(12))
    monkeypatch.setattr("sys.stdin", io.StringIO(turns + "\nquit\n"))
    assert main(["chat", "--model", str(TINY_MODEL), "--max-new-tokens", "4"]) == 0
    assert capsys.readouterr().out.count("bot> ") == 12


def test_cli_demo_runs_the_whole_pipeline(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TINY_MODEL.parent.parent)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "text -> ids -> model -> ids -> text" in out and "reply:" in out


# -- live: transformers + torch, when installed ---------------------------------------------


def live_model(dtype: str) -> Any:
    torch = pytest.importorskip("torch", reason="live comparison needs torch")
    transformers = pytest.importorskip("transformers")
    return transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(
        TINY_MODEL, dtype=getattr(torch, dtype), attn_implementation="eager"
    ).eval()


def random_batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, length = int(rng.integers(1, 4)), int(rng.integers(2, 20))
    ids = rng.integers(5, 16388, size=(rows, length))
    mask = np.ones_like(ids)
    for row in range(1, rows):
        mask[row, int(rng.integers(1, length + 1)) :] = 0
    ids[mask == 0] = 0
    return ids, mask


@pytest.mark.live
def test_live_logits(model32: Model, model64: Model) -> None:
    reference32, reference64 = live_model("float32"), live_model("float64")
    import torch

    ours, theirs, exact = [], [], []
    for seed in range(10):
        ids, mask = random_batch(seed)
        targets = np.random.default_rng(seed + 100).integers(5, 16388, size=(ids.shape[0], 7))
        targets[:, 0] = 1
        tensors = {
            "input_ids": torch.tensor(ids),
            "attention_mask": torch.tensor(mask),
            "decoder_input_ids": torch.tensor(targets),
        }
        with torch.no_grad():
            theirs.append(reference32(**tensors).logits.numpy())
            exact.append(reference64(**tensors).logits.numpy())
        ours.append(model32(ids, mask, targets).logits)
        np.testing.assert_allclose(
            model64(ids, mask, targets).logits, exact[-1], rtol=0, atol=FLOAT64_TOLERANCE
        )
    assert_float32_as_accurate_as_transformers(ours, theirs, exact)


LIVE_SETTINGS: list[dict[str, Any]] = [
    {},
    {"num_beams": 1, "max_new_tokens": 15},
    {"num_beams": 1, "no_repeat_ngram_size": 2, "min_new_tokens": 5},
    {"num_beams": 3, "length_penalty": 1.5},
    {"num_beams": 4, "early_stopping": True, "no_repeat_ngram_size": 0},
    {"num_beams": 5, "early_stopping": "never", "num_return_sequences": 3},
]


@pytest.mark.live
def test_live_generations_float64(model64: Model) -> None:
    reference = live_model("float64")
    import torch

    for seed in range(6):
        ids, mask = random_batch(seed)
        for settings in LIVE_SETTINGS:
            with torch.no_grad():
                expected = reference.generate(
                    torch.tensor(ids), attention_mask=torch.tensor(mask), **settings
                ).tolist()
            assert model64.generate(ids, mask, **settings).tolist() == expected, (seed, settings)
