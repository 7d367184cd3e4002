"""bbtok.modeling.layers: the encoder and decoder layers compute what transformers' layers
compute, with the layer norm after each residual sum (BlenderbotSmall) or before each block
(Blenderbot), given the same random weights.

The layers are compared one by one, in float64, against transformers' eager attention; the
whole BlenderbotSmall model is compared in test_model.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bbtok.modeling.layers import (
    ACTIVATIONS,
    Attention,
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    LayerNorm,
    Linear,
    additive_mask,
    residual,
)

WIDTH, HEADS, FFN = 16, 4, 24
TOLERANCE = 1e-12


def test_post_layer_norm_normalizes_the_residual_sum() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, WIDTH))
    norm = LayerNorm(np.full(WIDTH, 2.0), np.full(WIDTH, 0.5))
    np.testing.assert_array_equal(residual(x, norm, np.tanh, False), norm(x + np.tanh(x)))


def test_pre_layer_norm_normalizes_the_block_input() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, WIDTH))
    norm = LayerNorm(np.full(WIDTH, 2.0), np.full(WIDTH, 0.5))
    np.testing.assert_array_equal(residual(x, norm, np.tanh, True), x + np.tanh(norm(x)))


# -- live: transformers' layers with the same weights -----------------------------------------


def _config(family: str) -> Any:
    transformers = pytest.importorskip("transformers")
    config_class = {
        "blenderbot": transformers.BlenderbotConfig,
        "blenderbot_small": transformers.BlenderbotSmallConfig,
    }[family]
    config = config_class(
        d_model=WIDTH,
        encoder_attention_heads=HEADS,
        decoder_attention_heads=HEADS,
        encoder_ffn_dim=FFN,
        decoder_ffn_dim=FFN,
        activation_function="gelu",
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    config._attn_implementation = "eager"
    return config


def _reference_class(family: str, name: str) -> Any:
    """transformers' ``Blenderbot<name>`` or ``BlenderbotSmall<name>``."""
    transformers = pytest.importorskip("transformers")
    if family == "blenderbot":
        return getattr(transformers.models.blenderbot.modeling_blenderbot, f"Blenderbot{name}")
    small = transformers.models.blenderbot_small.modeling_blenderbot_small
    return getattr(small, f"BlenderbotSmall{name}")


def _randomized(layer: Any, seed: int) -> Any:
    """The layer in float64 with every parameter drawn at random (layer norms included)."""
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(seed)
    layer = layer.double().eval()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return layer


def _ours(module: Any) -> Any:
    """A torch module's parameters as numpy arrays of the matching bbtok block."""
    if type(module).__name__ == "LayerNorm":
        return LayerNorm(module.weight.detach().numpy(), module.bias.detach().numpy())
    if type(module).__name__ == "Linear":
        return Linear(module.weight.detach().numpy(), module.bias.detach().numpy())
    return Attention(
        _ours(module.q_proj),
        _ours(module.k_proj),
        _ours(module.v_proj),
        _ours(module.out_proj),
        HEADS,
    )


def _feed_forward(layer: Any) -> FeedForward:
    return FeedForward(_ours(layer.fc1), _ours(layer.fc2), ACTIVATIONS["gelu"])


def _masks(rows: int, target: int, source: int) -> tuple[np.ndarray, np.ndarray]:
    """A causal mask over the targets and a source mask with padding in every row but the
    first, additive as transformers' eager attention takes them."""
    source_allowed = np.ones((rows, source), dtype=bool)
    for row in range(1, rows):
        source_allowed[row, source - row :] = False
    causal = np.tril(np.ones((target, target), dtype=bool))
    self_mask = additive_mask(np.broadcast_to(causal, (rows, 1, target, target)), np.float64)
    cross_mask = additive_mask(source_allowed[:, None, None, :], np.float64)
    return self_mask, cross_mask


@pytest.mark.live
@pytest.mark.parametrize(
    ("family", "pre_layer_norm"), [("blenderbot", True), ("blenderbot_small", False)]
)
def test_live_encoder_layer_matches_transformers(family: str, pre_layer_norm: bool) -> None:
    torch = pytest.importorskip("torch")
    layer_class = _reference_class(family, "EncoderLayer")
    reference = _randomized(layer_class(_config(family)), seed=1)
    ours = EncoderLayer(
        _ours(reference.self_attn),
        _ours(reference.self_attn_layer_norm),
        _feed_forward(reference),
        _ours(reference.final_layer_norm),
        pre_layer_norm,
    )
    x = np.random.default_rng(2).normal(size=(3, 5, WIDTH))
    _, mask = _masks(3, 5, 5)
    with torch.no_grad():
        expected = reference(torch.tensor(x), torch.tensor(mask))
    expected = expected[0] if isinstance(expected, tuple) else expected
    np.testing.assert_allclose(ours(x, mask), expected.numpy(), rtol=0, atol=TOLERANCE)


@pytest.mark.live
@pytest.mark.parametrize(
    ("family", "pre_layer_norm"), [("blenderbot", True), ("blenderbot_small", False)]
)
def test_live_decoder_layer_matches_transformers(family: str, pre_layer_norm: bool) -> None:
    torch = pytest.importorskip("torch")
    layer_class = _reference_class(family, "DecoderLayer")
    reference = _randomized(layer_class(_config(family), layer_idx=0), seed=3)
    ours = DecoderLayer(
        _ours(reference.self_attn),
        _ours(reference.self_attn_layer_norm),
        _ours(reference.encoder_attn),
        _ours(reference.encoder_attn_layer_norm),
        _feed_forward(reference),
        _ours(reference.final_layer_norm),
        pre_layer_norm,
    )
    rng = np.random.default_rng(4)
    x, encoded = rng.normal(size=(3, 4, WIDTH)), rng.normal(size=(3, 6, WIDTH))
    self_mask, cross_mask = _masks(3, 4, 6)
    with torch.no_grad():
        expected = reference(
            torch.tensor(x),
            torch.tensor(self_mask),
            torch.tensor(encoded),
            encoder_attention_mask=torch.tensor(cross_mask),
            past_key_values=None,
            use_cache=False,
        )
    expected = expected[0] if isinstance(expected, tuple) else expected
    cross = ours.encoder_attn.keys_values(encoded)
    found = ours(x, self_mask, cross, cross_mask)
    np.testing.assert_allclose(found, expected.numpy(), rtol=0, atol=TOLERANCE)
    # One position at a time, with the earlier positions' keys and values in a cache.
    keys = np.zeros((3, HEADS, 0, WIDTH // HEADS))
    values = keys.copy()
    for at in range(x.shape[1]):

        def store(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            nonlocal keys, values
            keys = np.concatenate([keys, key], axis=2)
            values = np.concatenate([values, value], axis=2)
            return keys, values

        step = ours(x[:, at : at + 1], None, cross, cross_mask, store)
        np.testing.assert_allclose(step[:, 0], found[:, at], rtol=0, atol=TOLERANCE)
