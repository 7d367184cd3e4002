"""The encoder-decoders in numpy (BlenderbotSmall and the pre-LayerNorm Blenderbot 400M-3B, with
their output layer or bare): load a transformers checkpoint, run it, and generate with
transformers' semantics (greedy and beam search), without torch.

One implementation serves both: what differs is the ``Architecture`` entry (where the layer
norms are, whether the decoder scales its embeddings) and the configuration. For BlenderbotSmall
the computation follows transformers 5's ``modeling_blenderbot_small`` step by step, in the same
order of operations, so that float64 runs agree with transformers in float64 to the last bits
that matter (identical generations) and float32 runs agree to float32 rounding (Blenderbot:
``modeling_blenderbot``, pre-LayerNorm with final layer norms, both embeddings scaled):

- post-layer-norm encoder and decoder layers (attention, residual, layer norm; feed-forward,
  residual, layer norm), learned positions without offset, ``layernorm_embedding``;
- the encoder adds positions and then normalizes; the decoder normalizes its token embeddings
  and then adds positions. transformers 5 scales the encoder's token embeddings by
  ``sqrt(d_model)`` when ``scale_embedding`` is set but never the decoder's (it computes the
  scale and does not use it); we do the same;
- attention scores are ``(q @ k^T) * head_dim**-0.5``; masked positions get the dtype's lowest
  value added (transformers' eager attention), so a row whose keys are all masked attends to
  all of them evenly, as there;
- the output projection is the shared embeddings (tied) plus ``final_logits_bias``
  (zeros when the checkpoint has none, as transformers allows).

The layers are in ``bbtok.modeling.layers``, the tensor names in
``bbtok.modeling.architectures``. Decoding keeps a key/value cache: the encoder runs once, its
cross-attention keys and values are computed once, and each step computes one position per row.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bbtok.generation.search import generate
from bbtok.generation.settings import GenerationSettings
from bbtok.modeling.architectures import BLENDERBOT, BLENDERBOT_SMALL
from bbtok.modeling.inputs import attention_mask, default_attention_mask, token_ids
from bbtok.modeling.layers import (
    Array,
    DecoderLayer,
    EncoderLayer,
    KeyValueStore,
    LayerNorm,
    additive_mask,
)
from bbtok.modeling.loading import LayerReader, open_weights
from bbtok.modeling.pretrained_model import PretrainedModel
from bbtok.modeling.weights import TensorSource

if TYPE_CHECKING:
    pass

__all__ = [
    "BlenderbotForConditionalGeneration",
    "BlenderbotModel",
    "BlenderbotSmallForConditionalGeneration",
    "BlenderbotSmallModel",
    "Decoder",
    "Encoder",
    "IncrementalDecoder",
    "Seq2SeqLMOutput",
    "Seq2SeqModelOutput",
    "open_weights",
]


@dataclass
class Seq2SeqModelOutput:
    """What the bare model's forward pass returns: the decoder's last hidden state
    [batch, target, d_model] and the encoder's [batch, source, d_model]."""

    last_hidden_state: Array
    encoder_last_hidden_state: Array


@dataclass
class Seq2SeqLMOutput:
    """What a forward pass returns: ``logits`` [batch, target, vocab] and the encoder's output."""

    logits: Array
    encoder_last_hidden_state: Array


# -- encoder and decoder --------------------------------------------------------------------


@dataclass
class Encoder:
    """Token embeddings (scaled) plus positions, their layer norm, the layers, a final norm."""

    embed_tokens: Array
    embed_positions: Array
    embed_scale: float
    layernorm_embedding: LayerNorm | None
    layers: list[EncoderLayer]
    layer_norm: LayerNorm | None

    def __call__(self, ids: Array, mask: Array) -> Array:
        """[batch, source] ids and an additive [batch, 1, 1, source] mask: the last hidden
        state [batch, source, d_model]."""
        scale = self.embed_tokens.dtype.type(self.embed_scale)
        x = self.embed_tokens[ids] * scale + self.embed_positions[: ids.shape[1]]
        if self.layernorm_embedding is not None:
            x = self.layernorm_embedding(x)
        for layer in self.layers:
            x = layer(x, mask)
        return x if self.layer_norm is None else self.layer_norm(x)


@dataclass
class Decoder:
    """Token embeddings (scaled), their layer norm, plus positions; the layers; a final norm."""

    embed_tokens: Array
    embed_positions: Array
    embed_scale: float
    layernorm_embedding: LayerNorm | None
    layers: list[DecoderLayer]
    layer_norm: LayerNorm | None

    def cross_keys_values(self, encoded: Array) -> list[tuple[Array, Array]]:
        """Each layer's cross-attention keys and values of the encoder's output."""
        return [layer.encoder_attn.keys_values(encoded) for layer in self.layers]

    def __call__(
        self,
        tokens: Array,
        start: int,
        self_mask: Array | None,
        cross: list[tuple[Array, Array]] | None,
        cross_mask: Array | None,
        stores: list[KeyValueStore] | None = None,
    ) -> Array:
        """[batch, target] tokens at positions ``start``... -> [batch, target, d_model].
        ``cross``: ``cross_keys_values`` (None without an encoder: no cross-attention);
        ``stores``: each layer's key/value cache, holding the positions before ``start``."""
        # Quirk: BlenderbotSmall never scales them (embed_scale 1 whatever scale_embedding
        # says), and normalizes them before adding the positions.
        x = self.embed_tokens[tokens]
        if self.embed_scale != 1.0:
            x = x * self.embed_tokens.dtype.type(self.embed_scale)
        if self.layernorm_embedding is not None:
            x = self.layernorm_embedding(x)
        x = x + self.embed_positions[start : start + tokens.shape[1]]
        for i, layer in enumerate(self.layers):
            layer_cross = None if cross is None else cross[i]
            x = layer(x, self_mask, layer_cross, cross_mask, None if stores is None else stores[i])
        return x if self.layer_norm is None else self.layer_norm(x)


# -- the model ------------------------------------------------------------------------------


class Seq2SeqBase(PretrainedModel):
    """What the encoder-decoder models of an architecture share: loading, input checks and
    the encoder and decoder passes. A subclass names its ``architecture`` and adds its head."""

    def _load(self, weights: TensorSource) -> None:
        """Read every tensor the architecture names, in transformers' layout."""
        config, names = self.config, self.architecture
        read = LayerReader(names, config, weights, self.dtype)
        self.shared = read.shared_embeddings()
        self._load_head(read)
        encoder_positions, decoder_positions = read.positions("encoder"), read.positions("decoder")
        encoder_norm = read.side_norm(names.embedding_norm, "encoder")
        decoder_norm = read.side_norm(names.embedding_norm, "decoder")
        encoder_layers = [read.encoder_layer(i) for i in range(config.encoder_layers)]
        decoder_layers = [read.decoder_layer(i) for i in range(config.decoder_layers)]
        self.encoder = Encoder(
            self.shared,
            encoder_positions,
            math.sqrt(config.d_model) if config.scale_embedding else 1.0,
            encoder_norm,
            encoder_layers,
            read.side_norm(names.final_norm, "encoder"),
        )
        decoder_scale = config.scale_embedding and names.scale_decoder_embeddings
        self.decoder = Decoder(
            self.shared,
            decoder_positions,
            math.sqrt(config.d_model) if decoder_scale else 1.0,
            decoder_norm,
            decoder_layers,
            read.side_norm(names.final_norm, "decoder"),
        )
        read.refuse_unused()

    @abc.abstractmethod
    def _load_head(self, read: LayerReader) -> None:
        """Read what the model puts after the decoder (or count it as read, when unused)."""

    # -- inputs --

    def _ids(self, values: Any, argument: str) -> Array:
        return token_ids(values, argument, self.config)

    def _mask(self, values: Any, ids: Array, argument: str) -> Array:
        return attention_mask(values, ids, argument)

    # -- running --

    def encode(self, input_ids: Array, attention_mask: Array) -> Array:
        """The encoder's last hidden state [batch, source, d_model]."""
        return self.encoder(input_ids, additive_mask(attention_mask[:, None, None, :], self.dtype))

    def _forward(
        self,
        input_ids: Any,
        attention_mask: Any,
        decoder_input_ids: Any,
        decoder_attention_mask: Any,
    ) -> tuple[Array, Array]:
        """The decoder's and the encoder's last hidden states."""
        if decoder_input_ids is None:
            raise ValueError(
                f"decoder_input_ids is required (transformers' {self.architecture.class_prefix} "
                "does not derive it from input_ids either)"
            )
        ids = self._ids(input_ids, "input_ids")
        mask = self._mask(attention_mask, ids, "attention_mask")
        targets = self._ids(decoder_input_ids, "decoder_input_ids")
        if targets.shape[0] != ids.shape[0]:
            raise ValueError(
                f"decoder_input_ids has {targets.shape[0]} rows, input_ids {ids.shape[0]}"
            )
        target_mask = self._mask(decoder_attention_mask, targets, "decoder_attention_mask")
        encoded = self.encode(ids, mask)
        length = targets.shape[1]
        causal = np.tril(np.ones((length, length), dtype=bool))
        self_mask = additive_mask(causal[None, None] & target_mask[:, None, None, :], self.dtype)
        cross_mask = additive_mask(mask[:, None, None, :], self.dtype)
        cross = self.decoder.cross_keys_values(encoded)
        return self.decoder(targets, 0, self_mask, cross, cross_mask), encoded


class Seq2SeqModel(Seq2SeqBase):
    """The bare encoder-decoder (transformers' ``...Model``): hidden states, no output layer.
    Reads a checkpoint of the bare model or of the whole ``...ForConditionalGeneration`` (whose
    output layer it leaves unread)."""

    def _load_head(self, read: LayerReader) -> None:
        for name in self.architecture.unprefixed:
            read.skip(name, prefixed=False)

    def __call__(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        decoder_input_ids: Any = None,
        decoder_attention_mask: Any = None,
    ) -> Seq2SeqModelOutput:
        """One forward pass: ``.last_hidden_state`` [batch, target, d_model] (the decoder's)
        and ``.encoder_last_hidden_state`` [batch, source, d_model]."""
        hidden, encoded = self._forward(
            input_ids, attention_mask, decoder_input_ids, decoder_attention_mask
        )
        return Seq2SeqModelOutput(last_hidden_state=hidden, encoder_last_hidden_state=encoded)


class Seq2SeqForConditionalGeneration(Seq2SeqBase):
    """The encoder-decoder with its output layer: logits, and ``generate``."""

    def _load_head(self, read: LayerReader) -> None:
        self.lm_head = read.lm_head(self.shared)
        self.final_logits_bias = read.final_logits_bias()

    def _logits(self, hidden: Array) -> Array:
        return hidden @ self.lm_head.T + self.final_logits_bias

    def __call__(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        decoder_input_ids: Any = None,
        decoder_attention_mask: Any = None,
    ) -> Seq2SeqLMOutput:
        """One forward pass: ``.logits`` [batch, target, vocab]."""
        hidden, encoded = self._forward(
            input_ids, attention_mask, decoder_input_ids, decoder_attention_mask
        )
        return Seq2SeqLMOutput(logits=self._logits(hidden), encoder_last_hidden_state=encoded)

    def generate(self, input_ids: Any, attention_mask: Any = None, **settings: Any) -> Array:
        """Generate replies, as transformers' ``generate`` does (greedy or beam search, see
        ``bbtok.generation.search``); settings default to the checkpoint's. Returns int64 ids
        [batch * num_return_sequences, length], each row starting with the decoder start token.
        """
        resolved = GenerationSettings.resolve(
            self.config.to_dict(), self.config.generation_config, settings
        )
        # Before anything is allocated: the buffers below grow with num_beams.
        resolved.check_vocabulary(self.config.vocab_size)
        ids = self._ids(input_ids, "input_ids")
        if attention_mask is None:
            mask = default_attention_mask(ids, resolved)
        else:
            mask = self._mask(attention_mask, ids, "attention_mask")
        beams = resolved.num_beams
        encoded = self.encode(ids, mask)
        decoder = IncrementalDecoder(
            self,
            np.repeat(encoded, beams, axis=0),
            np.repeat(mask, beams, axis=0),
            capacity=min(resolved.max_total_length, self.config.max_position_embeddings),
        )
        return generate(decoder, ids.shape[0], resolved, ids)


class BlenderbotSmallForConditionalGeneration(Seq2SeqForConditionalGeneration):
    """A BlenderbotSmall checkpoint in numpy.

    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> model = BlenderbotSmallForConditionalGeneration.from_pretrained(SAMPLE_CHECKPOINT)
    >>> ids = model.generate(np.array([[5, 6, 7, 2]]), max_new_tokens=5)  # doctest: +SKIP
    """

    architecture = BLENDERBOT_SMALL


class BlenderbotForConditionalGeneration(Seq2SeqForConditionalGeneration):
    """A Blenderbot checkpoint (the pre-LayerNorm 400M-3B models) in numpy, run by the same code
    as BlenderbotSmall's with its own architecture entry.

    >>> model = BlenderbotForConditionalGeneration.from_pretrained("fixtures/tiny_blenderbot")
    ... # doctest: +SKIP
    """

    architecture = BLENDERBOT


class BlenderbotSmallModel(Seq2SeqModel):
    """The bare BlenderbotSmall encoder-decoder (transformers' ``BlenderbotSmallModel``)."""

    architecture = BLENDERBOT_SMALL


class BlenderbotModel(Seq2SeqModel):
    """The bare Blenderbot encoder-decoder (transformers' ``BlenderbotModel``)."""

    architecture = BLENDERBOT


class IncrementalDecoder:
    """The decoder one position at a time, with its key/value cache (``bbtok.generation.search``'s
    ``StepModel``). Cross-attention keys and values are computed once; self-attention keys and
    values go into buffers that double when full, so a step costs the same at any position
    apart from attention itself."""

    def __init__(
        self,
        model: Seq2SeqForConditionalGeneration,
        encoded: Array,
        mask: Array,
        capacity: int = 16,
    ) -> None:
        """``capacity``: positions to make room for at once (more are made as needed)."""
        self.model = model
        self.length = 0
        rows = encoded.shape[0]
        self.cross = model.decoder.cross_keys_values(encoded)
        self.cross_mask = additive_mask(mask[:, None, None, :], model.dtype)
        heads = model.config.decoder_attention_heads
        head_dim = model.config.decoder_head_dim
        # No more room than the model has positions: step refuses to go past them.
        self.positions = model.config.max_position_embeddings
        capacity = max(1, min(capacity, self.positions))
        layers = len(model.decoder.layers)
        self.keys = [
            np.zeros((rows, heads, capacity, head_dim), dtype=model.dtype) for _ in range(layers)
        ]
        self.values = [np.zeros_like(k) for k in self.keys]

    def step(self, tokens: Array) -> Array:
        """Feed one token per row; the next token's logits [rows, vocab]."""
        model, at = self.model, self.length
        if at >= model.config.max_position_embeddings:
            raise ValueError(
                f"cannot generate past {model.config.max_position_embeddings} positions "
                "(max_position_embeddings); lower max_length or max_new_tokens"
            )
        if at == self.keys[0].shape[2]:
            self._grow()
        stores = [self._store(i, at) for i in range(len(self.keys))]
        tokens = np.asarray(tokens, dtype=np.int64)[:, None]
        x = model.decoder(tokens, at, None, self.cross, self.cross_mask, stores)
        self.length += 1
        return model._logits(x[:, 0])

    def _store(self, layer: int, at: int) -> KeyValueStore:
        """Layer ``layer``'s cache: writes position ``at``, gives the positions up to it."""

        def store(key: Array, value: Array) -> tuple[Array, Array]:
            self.keys[layer][:, :, at : at + 1] = key
            self.values[layer][:, :, at : at + 1] = value
            return self.keys[layer][:, :, : at + 1], self.values[layer][:, :, : at + 1]

        return store

    def reorder(self, rows: Array) -> None:
        """Keep the cache of ``rows`` only, in that order (beam search)."""
        self.keys = [k[rows] for k in self.keys]
        self.values = [v[rows] for v in self.values]
        # Beam search only moves rows between the beams of one input, whose encoder outputs are
        # the same: the cross-attention keys and values need no reordering.

    def _grow(self) -> None:
        def doubled(buffer: Array) -> Array:
            room = min(2 * buffer.shape[2], self.positions)
            bigger = np.zeros((*buffer.shape[:2], room, buffer.shape[3]), dtype=buffer.dtype)
            bigger[:, :, : buffer.shape[2]] = buffer
            return bigger

        self.keys = [doubled(k) for k in self.keys]
        self.values = [doubled(v) for v in self.values]
