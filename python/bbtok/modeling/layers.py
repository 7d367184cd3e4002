"""The transformer's building blocks in numpy: activations, Linear, LayerNorm, attention, and the
encoder and decoder layers, in transformers' order of operations.

A layer normalizes either after each residual sum (post-LayerNorm, as BlenderbotSmall:
``x = norm(x + block(x))``) or before each block (pre-LayerNorm, as Blenderbot 400M-3B:
``x = x + block(norm(x))``); ``pre_layer_norm`` chooses. The layers compute the same numpy
operations either way: the switch only decides where the norm is applied.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which transformers uses here
Array = np.ndarray
# Receives the keys and values of the positions being computed, [batch, heads, new, head_dim],
# and returns those to attend to (the cached ones before them included).
KeyValueStore = Callable[[Array, Array], tuple[Array, Array]]


# -- activations ----------------------------------------------------------------------------


def _erf_series(z: Array) -> Array:
    """erf to float64 precision: 2/sqrt(pi) * exp(-z^2) * sum 2^n z^(2n+1) / (2n+1)!!.

    All terms have the sign of ``z``, so nothing cancels; past |z| = 6, erf is +-1 in float64.
    """
    z64 = np.clip(z.astype(np.float64), -6.0, 6.0)
    square2 = 2.0 * z64 * z64
    term = z64.copy()
    total = z64.copy()
    n = 0
    while True:
        n += 1
        term *= square2 / (2 * n + 1)
        total += term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total * np.exp(-z64 * z64) * (2.0 / math.sqrt(math.pi))


def _erf_float32(z: Array) -> Array:
    """erf within 1.5e-7 (Abramowitz and Stegun 7.1.26): about float32's own rounding."""
    x = np.abs(z).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (np.sign(z) * (1.0 - poly * np.exp(-x * x))).astype(z.dtype)


def gelu(x: Array) -> Array:
    """x * Phi(x) with the exact erf (torch's default gelu)."""
    if x.dtype == np.float64:
        erf = _erf_series(x * (1 / math.sqrt(2)))
    else:
        erf = _erf_float32(x * np.float32(1 / math.sqrt(2)))
    return (x * 0.5 * (1.0 + erf)).astype(x.dtype)


def gelu_new(x: Array) -> Array:
    """The tanh approximation of gelu (transformers' ``gelu_new``)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * np.power(x, 3.0))))


def silu(x: Array) -> Array:
    """x * sigmoid(x) (transformers' ``silu`` and ``swish``)."""
    return x / (1.0 + np.exp(-x))


def relu(x: Array) -> Array:
    """max(x, 0)."""
    return np.maximum(x, 0)


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "gelu": gelu,
    "gelu_new": gelu_new,
    "silu": silu,
    "swish": silu,
    "relu": relu,
}


# -- building blocks ------------------------------------------------------------------------


@dataclass
class Linear:
    """y = x @ weight.T + bias, with torch's [out, in] weight layout."""

    weight: Array
    bias: Array | None

    def __call__(self, x: Array) -> Array:
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y


@dataclass
class LayerNorm:
    """torch.nn.LayerNorm over the last axis, with its epsilon."""

    weight: Array
    bias: Array

    def __call__(self, x: Array) -> Array:
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=-1, keepdims=True)
        eps = x.dtype.type(LAYER_NORM_EPS)
        return centered / np.sqrt(variance + eps) * self.weight + self.bias


def softmax(scores: Array) -> Array:
    """Softmax over the last axis, shifted by the row's maximum."""
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def additive_mask(allowed: Array, dtype: type[np.floating]) -> Array:
    """A boolean "may attend" mask as transformers' eager attention adds it to the scores: 0
    where allowed, the dtype's lowest value elsewhere (so a row with every key masked attends
    to all of them evenly, as there)."""
    return np.where(allowed, dtype(0), np.finfo(dtype).min).astype(dtype)


@dataclass
class Attention:
    """Multi-head attention; scores are ``(q @ k^T) * head_dim**-0.5`` plus the additive mask."""

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    out_proj: Linear
    heads: int

    def split_heads(self, x: Array) -> Array:
        """[batch, time, d_model] -> [batch, heads, time, head_dim]."""
        batch, time, width = x.shape
        return x.reshape(batch, time, self.heads, width // self.heads).transpose(0, 2, 1, 3)

    def keys_values(self, x: Array) -> tuple[Array, Array]:
        """The keys and values of ``x``'s positions, [batch, heads, time, head_dim] each."""
        return self.split_heads(self.k_proj(x)), self.split_heads(self.v_proj(x))

    def attend(self, x: Array, keys: Array, values: Array, mask: Array | None) -> Array:
        """Queries from ``x`` [batch, time, d_model] over keys/values [batch, heads, s, hd];
        ``mask`` is added to the scores (0 or the dtype's lowest value)."""
        query = self.split_heads(self.q_proj(x))
        scaling = x.dtype.type((query.shape[-1]) ** -0.5)
        scores = (query @ keys.transpose(0, 1, 3, 2)) * scaling
        if mask is not None:
            scores = scores + mask
        context = softmax(scores) @ values
        batch, _, time, _ = context.shape
        return self.out_proj(context.transpose(0, 2, 1, 3).reshape(batch, time, -1))

    def self_attend(self, x: Array, mask: Array | None, store: KeyValueStore | None) -> Array:
        """``x`` attending to itself; ``store``, when given, adds the positions a cache holds."""
        keys, values = self.keys_values(x)
        if store is not None:
            keys, values = store(keys, values)
        return self.attend(x, keys, values, mask)


@dataclass
class FeedForward:
    """fc2(activation(fc1(x)))."""

    fc1: Linear
    fc2: Linear
    activation: Callable[[Array], Array]

    def __call__(self, x: Array) -> Array:
        return self.fc2(self.activation(self.fc1(x)))


def residual(
    x: Array, norm: LayerNorm, block: Callable[[Array], Array], pre_layer_norm: bool
) -> Array:
    """One residual block: ``x + block(norm(x))`` before the block (pre-LayerNorm), else
    ``norm(x + block(x))`` after the sum (post-LayerNorm)."""
    if pre_layer_norm:
        return x + block(norm(x))
    return norm(x + block(x))


@dataclass
class EncoderLayer:
    """Self-attention, then the feed-forward block, each a residual block with its layer norm."""

    self_attn: Attention
    self_attn_layer_norm: LayerNorm
    feed_forward: FeedForward
    final_layer_norm: LayerNorm
    pre_layer_norm: bool

    def __call__(self, x: Array, mask: Array | None) -> Array:
        def self_attention(h: Array) -> Array:
            return self.self_attn.self_attend(h, mask, None)

        pre = self.pre_layer_norm
        x = residual(x, self.self_attn_layer_norm, self_attention, pre)
        return residual(x, self.final_layer_norm, self.feed_forward, pre)


@dataclass
class DecoderLayer:
    """Self-attention (over the cache's positions too), cross-attention over the encoder's
    output, then the feed-forward block, each a residual block with its layer norm."""

    self_attn: Attention
    self_attn_layer_norm: LayerNorm
    encoder_attn: Attention
    encoder_attn_layer_norm: LayerNorm
    feed_forward: FeedForward
    final_layer_norm: LayerNorm
    pre_layer_norm: bool

    def __call__(
        self,
        x: Array,
        self_mask: Array | None,
        cross: tuple[Array, Array] | None,
        cross_mask: Array | None,
        store: KeyValueStore | None = None,
    ) -> Array:
        """``cross``: the encoder output's keys and values for ``encoder_attn`` (None in a
        decoder-only model, which skips cross-attention, as transformers does without encoder
        states); ``store``: the key/value cache of the positions before ``x``'s (None when ``x``
        holds them all)."""

        def self_attention(h: Array) -> Array:
            return self.self_attn.self_attend(h, self_mask, store)

        pre = self.pre_layer_norm
        x = residual(x, self.self_attn_layer_norm, self_attention, pre)
        if cross is not None:
            keys, values = cross

            def cross_attention(h: Array) -> Array:
                return self.encoder_attn.attend(h, keys, values, cross_mask)

            x = residual(x, self.encoder_attn_layer_norm, cross_attention, pre)
        return residual(x, self.final_layer_norm, self.feed_forward, pre)
