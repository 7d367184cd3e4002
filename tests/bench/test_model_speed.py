"""The model benchmark's random checkpoints are complete checkpoints of their architecture: bbtok
loads them (refusing missing and unread tensors) and so does transformers, with no tensor left
out or left over, so the two libraries time the same model."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bbtok.bench.model_speed import SHAPES, step_weights, write_checkpoint
from bbtok.modeling.auto import auto_model
from bbtok.modeling.seq2seq import Seq2SeqForConditionalGeneration

from conftest import live_torch_and_transformers

# Each shape's architecture at a size a test can afford.
SMALL = {
    "d_model": 16,
    "encoder_layers": 2,
    "decoder_layers": 3,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 24,
    "decoder_ffn_dim": 24,
    "vocab_size": 40,
    "max_position_embeddings": 20,
}


@pytest.fixture(params=sorted(SHAPES))
def small_checkpoint(request: Any, tmp_path: Path) -> tuple[Path, int]:
    shape = SHAPES[request.param]
    small = dataclasses.replace(shape, config={**shape.config, **SMALL})
    return tmp_path, write_checkpoint(tmp_path, small)


def test_bbtok_loads_every_tensor_of_the_checkpoint(small_checkpoint: tuple[Path, int]) -> None:
    directory, weight_bytes = small_checkpoint
    model = auto_model(directory)
    assert isinstance(model, Seq2SeqForConditionalGeneration)
    assert weight_bytes == (directory / "model.safetensors").stat().st_size - _header(directory)
    logits = model(np.array([[5, 6, 7, 2]]), decoder_input_ids=np.array([[1, 5]])).logits
    assert logits.shape == (1, 2, SMALL["vocab_size"])


def test_a_step_touches_the_decoder_but_not_the_cross_attention_keys_and_values(
    small_checkpoint: tuple[Path, int],
) -> None:
    model = auto_model(small_checkpoint[0])
    assert isinstance(model, Seq2SeqForConditionalGeneration)
    touched = {id(array) for array in step_weights(model)}
    layer = model.decoder.layers[0]
    assert id(layer.self_attn.k_proj.weight) in touched
    assert id(layer.encoder_attn.q_proj.weight) in touched
    assert id(layer.encoder_attn.k_proj.weight) not in touched
    assert id(layer.encoder_attn.v_proj.weight) not in touched
    width, ffn, layers = SMALL["d_model"], SMALL["decoder_ffn_dim"], SMALL["decoder_layers"]
    per_layer = 6 * (width * width + width) + 2 * ffn * width + ffn + width + 3 * 2 * width
    vocab = SMALL["vocab_size"]
    expected = (layers * per_layer + vocab * width + vocab) * 4
    assert sum(array.nbytes for array in step_weights(model)) == expected


@pytest.mark.live
def test_transformers_loads_the_checkpoint_with_no_tensor_missing_or_left_over(
    small_checkpoint: tuple[Path, int],
) -> None:
    torch, transformers = live_torch_and_transformers()
    directory = small_checkpoint[0]
    model = auto_model(directory)
    their_class = getattr(transformers, type(model).__name__)
    theirs, info = their_class.from_pretrained(directory, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    ids, decoder_ids = [[5, 6, 7, 2]], [[1, 5]]
    with torch.no_grad():
        expected = theirs.eval()(
            input_ids=torch.tensor(ids), decoder_input_ids=torch.tensor(decoder_ids)
        ).logits.numpy()
    ours = model(np.array(ids), decoder_input_ids=np.array(decoder_ids)).logits
    np.testing.assert_allclose(ours, expected, atol=1e-4)


def _header(directory: Path) -> int:
    """The bytes of a safetensors file that are not tensor data: the length and the header."""
    with open(directory / "model.safetensors", "rb") as f:
        return 8 + int.from_bytes(f.read(8), "little")
