"""The decoder alone as a language model (transformers' ``BlenderbotForCausalLM`` and
``BlenderbotSmallForCausalLM``): the same decoder as the encoder-decoder's, without
cross-attention, and its output layer.

transformers names the tensors of these checkpoints ``model.decoder.…`` with the token
embeddings at ``model.decoder.embed_tokens.weight`` and ``lm_head.weight`` tied to them; there is
no ``final_logits_bias``. The decoder layers still hold cross-attention weights (transformers
builds them), which are read and not used: without encoder states transformers skips them too.
Positions count from 0 at the first token of each row, padding or not, as transformers counts
them when no ``position_ids`` are given.

Only the forward pass is here: ``generate`` for a decoder-only model (a prompt of any length
instead of the decoder start token) is not implemented.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bbtok.modeling import inputs
from bbtok.modeling.architectures import BLENDERBOT, BLENDERBOT_SMALL, Architecture
from bbtok.modeling.layers import Array, additive_mask
from bbtok.modeling.loading import LayerReader
from bbtok.modeling.pretrained_model import PretrainedModel
from bbtok.modeling.seq2seq import Decoder
from bbtok.modeling.weights import TensorSource

if TYPE_CHECKING:
    pass

__all__ = ["BlenderbotForCausalLM", "BlenderbotSmallForCausalLM", "CausalLMOutput"]


@dataclass
class CausalLMOutput:
    """What a forward pass returns: ``logits`` [batch, length, vocab]."""

    logits: Array


def decoder_only(architecture: Architecture) -> Architecture:
    """``architecture``'s names in a ``...ForCausalLM`` checkpoint: the token embeddings are the
    decoder's own, and there is no logits bias."""
    return dataclasses.replace(
        architecture,
        shared_embeddings=("decoder.embed_tokens.weight",),
        tied_embeddings=(),
    )


class CausalLMBase(PretrainedModel):
    """A ``...ForCausalLM`` checkpoint in numpy; a subclass names its ``architecture``."""

    def _load(self, weights: TensorSource) -> None:
        config, names = self.config, decoder_only(self.architecture)
        read = LayerReader(names, config, weights, self.dtype)
        embeddings = read.shared_embeddings()
        self.lm_head = read.lm_head(embeddings)
        scale = config.scale_embedding and names.scale_decoder_embeddings
        self.decoder = Decoder(
            embeddings,
            read.positions("decoder"),
            math.sqrt(config.d_model) if scale else 1.0,
            read.side_norm(names.embedding_norm, "decoder"),
            [read.decoder_layer(i) for i in range(config.decoder_layers)],
            read.side_norm(names.final_norm, "decoder"),
        )
        read.refuse_unused()

    def __call__(self, input_ids: Any, attention_mask: Any = None) -> CausalLMOutput:
        """One forward pass: ``.logits`` [batch, length, vocab]; each position sees itself and
        the positions before it that ``attention_mask`` keeps."""
        ids = inputs.token_ids(input_ids, "input_ids", self.config)
        mask = inputs.attention_mask(attention_mask, ids, "attention_mask")
        length = ids.shape[1]
        causal = np.tril(np.ones((length, length), dtype=bool))
        self_mask = additive_mask(causal[None, None] & mask[:, None, None, :], self.dtype)
        hidden = self.decoder(ids, 0, self_mask, None, None)
        return CausalLMOutput(logits=hidden @ self.lm_head.T)


class BlenderbotSmallForCausalLM(CausalLMBase):
    """BlenderbotSmall's decoder as a language model (transformers'
    ``BlenderbotSmallForCausalLM``)."""

    architecture = BLENDERBOT_SMALL


class BlenderbotForCausalLM(CausalLMBase):
    """Blenderbot's decoder as a language model (transformers' ``BlenderbotForCausalLM``)."""

    architecture = BLENDERBOT
