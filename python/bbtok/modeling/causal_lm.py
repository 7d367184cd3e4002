"""The decoder alone as a language model (transformers' ``BlenderbotForCausalLM`` and
``BlenderbotSmallForCausalLM``): the same decoder as the encoder-decoder's, without
cross-attention, and its output layer.

transformers names the tensors of these checkpoints ``model.decoder.…`` with the token
embeddings at ``model.decoder.embed_tokens.weight`` and ``lm_head.weight`` tied to them; there is
no ``final_logits_bias``. The decoder layers still hold cross-attention weights (transformers
builds them), which are read and not used: without encoder states transformers skips them too.
Positions count from 0 at the first token of each row, padding or not, as transformers counts
them when no ``position_ids`` are given.

``generate`` continues a prompt (``input_ids``) with the search of ``bbtok.generation.search``,
as transformers' ``generate`` does for a decoder-only model: the returned rows start with the
prompt, ``max_length`` counts it and ``max_new_tokens`` does not. ``PromptDecoder`` runs the
prompt but its last token in one pass, then one position a step, with a key/value cache.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bbtok.generation.search import generate
from bbtok.generation.settings import GenerationSettings
from bbtok.modeling import inputs
from bbtok.modeling.architectures import BLENDERBOT, BLENDERBOT_SMALL, Architecture
from bbtok.modeling.layers import Array, KeyValueStore, additive_mask
from bbtok.modeling.loading import LayerReader
from bbtok.modeling.pretrained_model import PretrainedModel
from bbtok.modeling.seq2seq import Decoder
from bbtok.modeling.weights import TensorSource

if TYPE_CHECKING:
    pass

__all__ = ["BlenderbotForCausalLM", "BlenderbotSmallForCausalLM", "CausalLMOutput", "PromptDecoder"]


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
    """A ``...ForCausalLM`` checkpoint in numpy; a subclass names its ``architecture``.

    Left-padded prompts generate as in transformers: the padding is masked out, and the
    positions still count from the first column (see ``generate``)."""

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

    def generate(self, input_ids: Any, attention_mask: Any = None, **settings: Any) -> Array:
        """Continue each prompt, as transformers' ``generate`` does for a decoder-only model
        (greedy or beam search, see ``bbtok.generation.search``); settings default to the
        checkpoint's. Returns int64 ids [batch * num_return_sequences, length], each row
        starting with its prompt (``input_ids``); ``max_length`` counts the prompt,
        ``max_new_tokens`` does not.

        A batch of prompts of different lengths is padded on the left, with ``attention_mask``
        (or, without one, the pad token) telling the padding. Quirk: as in transformers, the
        positions count from the first column, padding included (these models' learned
        positions are indexed by column, not by the mask), so a left-padded prompt generates
        what the same prompt would after as many leading tokens that nothing attends to, which
        is not always what it generates unpadded. ``encoder_no_repeat_ngram_size`` bans the
        n-grams of the prompt, as transformers does when the model has no encoder.

        >>> from bbtok.modeling import BlenderbotSmallForCausalLM
        >>> model = BlenderbotSmallForCausalLM.from_pretrained("my-causal-lm")  # doctest: +SKIP
        >>> model.generate(np.array([[5, 6, 7]]), max_new_tokens=4)  # doctest: +SKIP
        """
        ids = inputs.token_ids(input_ids, "input_ids", self.config)
        prompt_length = ids.shape[1]
        resolved = GenerationSettings.resolve(
            self.config.to_dict(), self.config.generation_config, settings, prompt_length
        )
        if prompt_length >= resolved.max_total_length:
            # transformers' refusal, word for word.
            raise ValueError(
                f"Input length of input_ids is {prompt_length}, but `max_length` is set to"
                f" {resolved.max_total_length}. This can lead to unexpected behavior. You should"
                " consider increasing `max_length` or, better yet, setting `max_new_tokens`."
            )
        # Before anything is allocated: the cache below grows with num_beams.
        resolved.check_vocabulary(self.config.vocab_size)
        if attention_mask is None:
            mask = inputs.default_attention_mask(ids, resolved)
        else:
            mask = inputs.attention_mask(attention_mask, ids, "attention_mask")
        beams = resolved.num_beams
        decoder = PromptDecoder(
            self,
            np.repeat(ids, beams, axis=0),
            np.repeat(mask, beams, axis=0),
            capacity=resolved.max_total_length,
        )
        return generate(decoder, ids.shape[0], resolved, ids, prompt=ids)


class PromptDecoder:
    """A decoder-only model one position at a time, with its key/value cache
    (``bbtok.generation.search``'s ``StepModel``): built with the prompt, it runs every prompt
    token but the last in one pass, which the first ``step`` feeds. Padding keeps being masked
    out of every later position's attention."""

    def __init__(self, model: CausalLMBase, prompt: Array, mask: Array, capacity: int) -> None:
        """``prompt`` and ``mask`` [rows, prompt length]; ``capacity``: the positions the
        generation may reach (no more than the model has are made room for)."""
        self.model = model
        self.length = 0
        rows, prompt_length = prompt.shape
        self.positions = model.config.max_position_embeddings
        capacity = max(prompt_length, min(capacity, self.positions))
        # The positions each row attends to: the prompt's unpadded ones and every generated one.
        self.mask = np.ones((rows, capacity), dtype=bool)
        self.mask[:, :prompt_length] = mask
        heads = model.config.decoder_attention_heads
        head_dim = model.config.decoder_head_dim
        layers = len(model.decoder.layers)
        self.keys = [
            np.zeros((rows, heads, capacity, head_dim), dtype=model.dtype) for _ in range(layers)
        ]
        self.values = [np.zeros_like(k) for k in self.keys]
        if prompt_length > 1:
            self._run(np.asarray(prompt[:, :-1], dtype=np.int64))

    def step(self, tokens: Array) -> Array:
        """Feed one token per row; the next token's logits [rows, vocab]."""
        hidden = self._run(np.asarray(tokens, dtype=np.int64)[:, None])
        return hidden[:, -1] @ self.model.lm_head.T

    def reorder(self, rows: Array) -> None:
        """Keep the cache of ``rows`` only, in that order (beam search)."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]
        self.mask = self.mask[rows]

    def _run(self, tokens: Array) -> Array:
        """Feed ``tokens`` [rows, count] at the next positions; their hidden states."""
        start, count = self.length, tokens.shape[1]
        end = start + count
        if end > self.positions:
            raise ValueError(
                f"cannot generate past {self.positions} positions (max_position_embeddings); "
                "lower max_length or max_new_tokens"
            )
        # Within capacity: the search stops at max_length, which capacity covers.
        assert end <= self.keys[0].shape[2]
        causal = np.arange(start, end)[:, None] >= np.arange(end)[None, :]
        allowed = causal[None, None] & self.mask[:, None, None, :end]
        self_mask = additive_mask(allowed, self.model.dtype)
        stores = [self._store(i, start, end) for i in range(len(self.keys))]
        hidden = self.model.decoder(tokens, start, self_mask, None, None, stores)
        self.length = end
        return hidden

    def _store(self, layer: int, start: int, end: int) -> KeyValueStore:
        """Layer ``layer``'s cache: writes positions ``start:end``, gives those up to ``end``."""

        def store(key: Array, value: Array) -> tuple[Array, Array]:
            self.keys[layer][:, :, start:end] = key
            self.values[layer][:, :, start:end] = value
            return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

        return store


class BlenderbotSmallForCausalLM(CausalLMBase):
    """BlenderbotSmall's decoder as a language model (transformers'
    ``BlenderbotSmallForCausalLM``)."""

    architecture = BLENDERBOT_SMALL


class BlenderbotForCausalLM(CausalLMBase):
    """Blenderbot's decoder as a language model (transformers' ``BlenderbotForCausalLM``)."""

    architecture = BLENDERBOT
