"""From a checkpoint to layers: open a directory's weights, and read each tensor an architecture
names with the shape its configuration gives, refusing missing tensors, wrong shapes and
tensors with no place."""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bbtok.modeling.architectures import Architecture
from bbtok.modeling.config import Seq2SeqConfig
from bbtok.modeling.flax_checkpoint import FlaxCheckpoint, flax_pytorch_name
from bbtok.modeling.layers import (
    ACTIVATIONS,
    Array,
    Attention,
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    LayerNorm,
    Linear,
)
from bbtok.modeling.tf_checkpoint import TFCheckpoint, tf_pytorch_name
from bbtok.modeling.torch_checkpoint import TorchCheckpoint
from bbtok.modeling.weights import SafetensorsFile, ShardedWeights, TensorSource
from bbtok.storage.hub import WEIGHT_FILES
from bbtok.storage.shard_index import INDEX_SUFFIX


def open_weights(directory: str | os.PathLike[str], mmap: bool = True) -> TensorSource:
    """The weights of a checkpoint directory: the first of
    ``bbtok.storage.hub.WEIGHT_FILES`` present (transformers' order: safetensors, torch's
    ``.bin``, TensorFlow's ``tf_model.h5``, Flax's ``flax_model.msgpack``), an index with the
    shards it names; every format's tensors under transformers' PyTorch names."""
    # Each format's reader, and the shards' name of a tensor its index lists.
    readers: dict[str, tuple[Callable[[Path], TensorSource], Callable[[str], str] | None]] = {
        ".safetensors": (functools.partial(SafetensorsFile, mmap=mmap), None),
        ".bin": (functools.partial(TorchCheckpoint, mmap=mmap), None),
        ".h5": (functools.partial(TFCheckpoint, mmap=mmap), _tf_index_name),
        ".msgpack": (functools.partial(FlaxCheckpoint, mmap=mmap), flax_pytorch_name),
    }
    for name in WEIGHT_FILES:
        path = Path(directory) / name
        if path.exists():
            whole = name.removesuffix(INDEX_SUFFIX)  # an index's shards are in its format
            reader, index_name = readers[Path(whole).suffix]
            return reader(path) if whole == name else ShardedWeights(path, reader, index_name)
    raise FileNotFoundError(
        errno.ENOENT,
        f"No weights: none of {', '.join(WEIGHT_FILES)} is in the directory",
        os.fspath(directory),
    )


def _tf_index_name(variable: str) -> str:
    # tf_model.h5.index.json lists the variables by their full names.
    return tf_pytorch_name(variable)[0]


class LayerReader:
    """Reads an architecture's tensors from ``weights`` in ``dtype``, each checked against the
    shape ``config`` gives it, and remembers which it read (``refuse_unused``)."""

    def __init__(
        self,
        architecture: Architecture,
        config: Seq2SeqConfig,
        weights: TensorSource,
        dtype: type[np.floating],
    ) -> None:
        self.names = architecture
        self.config = config
        self.weights = weights
        self.dtype = dtype
        self.used: set[str] = set()
        # A checkpoint of the whole model prefixes the base model's tensors; one of the base
        # model alone does not. Accept both.
        prefix = architecture.base_prefix
        self.prefix = prefix if any(name.startswith(prefix) for name in weights) else ""

    def tensor(self, name: str, shape: tuple[int, ...], prefixed: bool = True) -> Array:
        """Tensor ``name`` (under the base model's prefix when ``prefixed``) in the dtype."""
        full = (self.prefix if prefixed else "") + name
        weights = self.weights
        if full not in weights:
            raise ValueError(
                f"{weights.path}: tensor {full!r} (shape {shape}) is missing from the checkpoint"
            )
        found = weights.shape(full)
        if found != shape:
            raise ValueError(
                f"{weights.path}: tensor {full!r} has shape {found}, the configuration "
                f"needs {shape}"
            )
        self.used.add(full)
        return weights.get(full, self.dtype)

    def holds(self, name: str, prefixed: bool = True) -> bool:
        return (self.prefix if prefixed else "") + name in self.weights

    def skip(self, name: str, prefixed: bool = True) -> None:
        """Count ``name`` as read when the checkpoint holds it (a tied copy, not read again)."""
        full = (self.prefix if prefixed else "") + name
        if full in self.weights:
            self.used.add(full)

    def shared_embeddings(self) -> Array:
        """The embeddings shared by encoder and decoder, [vocab, d_model]."""
        names = self.names.shared_embeddings
        found = next((name for name in names if self.holds(name)), names[0])
        shared = self.tensor(found, (self.config.vocab_size, self.config.d_model))
        for tied in self.names.tied_embeddings:
            self.skip(tied)  # tied to the shared embeddings, as in transformers
        return shared

    def lm_head(self, shared: Array) -> Array:
        """The output projection [vocab, d_model]: the shared embeddings when tied."""
        if self.config.tie_word_embeddings:
            self.skip(self.names.lm_head, prefixed=False)
            return shared
        shape = (self.config.vocab_size, self.config.d_model)
        return self.tensor(self.names.lm_head, shape, prefixed=False)

    def final_logits_bias(self) -> Array:
        """The bias added to the logits [vocab]: zeros when the checkpoint has none, as
        transformers starts it."""
        vocab, name = self.config.vocab_size, self.names.final_logits_bias
        if self.holds(name, prefixed=False):
            return self.tensor(name, (1, vocab), prefixed=False)[0]
        return np.zeros(vocab, dtype=self.dtype)

    def positions(self, side: str) -> Array:
        """The learned positions of ``side``, [max_position_embeddings, d_model]."""
        shape = (self.config.max_position_embeddings, self.config.d_model)
        return self.tensor(self.names.positions.format(side=side), shape)

    def side_norm(self, name: str | None, side: str) -> LayerNorm | None:
        """``side``'s embedding or final layer norm, None when the architecture has none."""
        return None if name is None else self.layer_norm(name.format(side=side))

    def encoder_layer(self, index: int) -> EncoderLayer:
        name = self.names.layer.format(side="encoder", index=index)
        self_attn, self_attn_norm, feed_forward, final_norm = self._common_parts(name, "encoder")
        return EncoderLayer(
            self_attn, self_attn_norm, feed_forward, final_norm, self.names.pre_layer_norm
        )

    def decoder_layer(self, index: int) -> DecoderLayer:
        names = self.names
        name = names.layer.format(side="decoder", index=index)
        self_attn, self_attn_norm, feed_forward, final_norm = self._common_parts(name, "decoder")
        heads = self.config.decoder_attention_heads
        return DecoderLayer(
            self_attn,
            self_attn_norm,
            self.attention(f"{name}.{names.cross_attention}", heads),
            self.layer_norm(f"{name}.{names.cross_attention_norm}"),
            feed_forward,
            final_norm,
            names.pre_layer_norm,
        )

    def _common_parts(
        self, name: str, side: str
    ) -> tuple[Attention, LayerNorm, FeedForward, LayerNorm]:
        """What encoder and decoder layers share: self-attention, the feed-forward block and
        their layer norms, read in that order."""
        names, config = self.names, self.config
        heads: int = getattr(config, f"{side}_attention_heads")
        ffn: int = getattr(config, f"{side}_ffn_dim")
        self_attn = self.attention(f"{name}.{names.self_attention}", heads)
        self_attn_norm = self.layer_norm(f"{name}.{names.self_attention_norm}")
        fc1 = self.linear(f"{name}.{names.feed_forward_in}", ffn, config.d_model)
        fc2 = self.linear(f"{name}.{names.feed_forward_out}", config.d_model, ffn)
        final_norm = self.layer_norm(f"{name}.{names.feed_forward_norm}")
        feed_forward = FeedForward(fc1, fc2, ACTIVATIONS[config.activation_function])
        return self_attn, self_attn_norm, feed_forward, final_norm

    def linear(self, name: str, out: int, inputs: int) -> Linear:
        return Linear(
            self.tensor(f"{name}.weight", (out, inputs)), self.tensor(f"{name}.bias", (out,))
        )

    def layer_norm(self, name: str) -> LayerNorm:
        width = self.config.d_model
        return LayerNorm(
            self.tensor(f"{name}.weight", (width,)), self.tensor(f"{name}.bias", (width,))
        )

    def attention(self, name: str, heads: int) -> Attention:
        width = self.config.d_model
        q, k, v, out = (
            self.linear(f"{name}.{part}", width, width) for part in self.names.attention_projections
        )
        return Attention(q, k, v, out, heads)

    def refuse_unused(self) -> None:
        """Refuse a checkpoint holding tensors nothing read (a config.json of another model)."""
        unused = sorted(set(self.weights) - self.used)
        if unused:
            raise ValueError(
                f"{self.weights.path}: {len(unused)} tensors the configuration has no place for, "
                f"e.g. {unused[:3]} (is config.json the one of this checkpoint?)"
            )
