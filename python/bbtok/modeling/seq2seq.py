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
  scale and does not use it); we do the same. transformers 4.x (PyTorch, TF and Flax) scaled
  the decoder's as well; the layer norm that follows undoes the scale but for its epsilon
  (``LN(s * x, eps) = LN(x, eps / s**2)``), so a BlenderbotSmall computes slightly different
  outputs here than it did there (1e-4 on a tiny model of d_model 16);
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
import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
    "DecoderCache",
    "DecoderLMOutput",
    "DecoderOutput",
    "Encoder",
    "EncoderOutput",
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


@dataclass
class EncoderOutput:
    """What ``encode`` returns, as transformers' Flax classes did: the encoder's
    ``last_hidden_state`` [batch, source, d_model], also ``output[0]``."""

    last_hidden_state: Array

    def __getitem__(self, index: int) -> Array:
        return (self.last_hidden_state,)[index]


@dataclass(frozen=True)
class DecoderCache:
    """``past_key_values`` of ``decode``: each decoder layer's self-attention keys and values of
    the positions fed so far [batch, heads, length, head_dim], the cross-attention keys and
    values of the encoder output it was made for (``init_cache``), and ``max_length``, the
    positions it may hold. ``decode`` returns a new cache and leaves the one given as it was."""

    keys: tuple[Array, ...]
    values: tuple[Array, ...]
    cross: tuple[tuple[Array, Array], ...]
    encoder_hidden_state: Array
    max_length: int

    @property
    def length(self) -> int:
        """The positions fed so far."""
        return int(self.keys[0].shape[2]) if self.keys else 0


@dataclass
class DecoderOutput:
    """What the bare model's ``decode`` returns: the decoder's ``last_hidden_state`` [batch,
    target, d_model], and the cache extended by these positions when one was given."""

    last_hidden_state: Array
    past_key_values: DecoderCache | None = None


@dataclass
class DecoderLMOutput:
    """What ``decode`` of the model with its output layer returns: ``logits`` [batch, target,
    vocab], and the cache extended by these positions when one was given."""

    logits: Array
    past_key_values: DecoderCache | None = None


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


# What ``decode`` returns: the bare model's ``DecoderOutput`` or, with the output layer,
# ``DecoderLMOutput``.
DecodedT = TypeVar("DecodedT", DecoderOutput, DecoderLMOutput)


class Seq2SeqBase(PretrainedModel, Generic[DecodedT]):
    """What the encoder-decoder models of an architecture share: loading, input checks and
    the encoder and decoder passes. A subclass names its ``architecture``, adds its head and
    says what ``decode`` makes of the decoder's output."""

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

    @abc.abstractmethod
    def _decoder_output(self, hidden: Array, cache: DecoderCache | None) -> DecodedT:
        """What ``decode`` returns of the decoder's last hidden state and the extended cache."""

    # -- inputs --

    def _ids(self, values: Any, argument: str) -> Array:
        return token_ids(values, argument, self.config)

    def _mask(self, values: Any, ids: Array, argument: str) -> Array:
        return attention_mask(values, ids, argument)

    # -- running --

    def _encoded(self, input_ids: Array, attention_mask: Array) -> Array:
        """The encoder's last hidden state [batch, source, d_model] of checked inputs."""
        return self.encoder(input_ids, additive_mask(attention_mask[:, None, None, :], self.dtype))

    def encode(self, input_ids: Any, attention_mask: Any = None) -> EncoderOutput:
        """The encoder alone, as transformers' Flax classes had it: ``.last_hidden_state``
        [batch, source, d_model], to hand to ``decode`` any number of times.

        >>> from bbtok.data import SAMPLE_CHECKPOINT
        >>> model = BlenderbotSmallForConditionalGeneration.from_pretrained(SAMPLE_CHECKPOINT)
        >>> encoder_outputs = model.encode(np.array([[5, 6, 7, 2]]))
        >>> encoder_outputs.last_hidden_state.shape
        (1, 4, 16)
        >>> model.decode(np.array([[1]]), encoder_outputs).logits.shape
        (1, 1, 16388)
        """
        ids = self._ids(input_ids, "input_ids")
        return EncoderOutput(self._encoded(ids, self._mask(attention_mask, ids, "attention_mask")))

    def _encoder_hidden_state(self, encoder_outputs: Any) -> Array:
        """The encoder's last hidden state out of ``encode``'s output (or anything whose item
        0 it is, or the array itself), checked against the model."""
        hidden = encoder_outputs
        if not isinstance(hidden, Array):
            try:
                hidden = hidden[0]
            except (TypeError, IndexError, KeyError):
                hidden = None
        width = self.config.d_model
        if not (isinstance(hidden, Array) and hidden.ndim == 3 and hidden.shape[2] == width):
            raise ValueError(
                f"encoder_outputs must be encode()'s output (or its last_hidden_state, "
                f"[batch, source, {width}])"
            )
        if hidden.shape[0] == 0 or hidden.shape[1] == 0:
            raise ValueError(f"encoder_outputs is empty: shape {hidden.shape}")
        return hidden.astype(self.dtype, copy=False)

    def init_cache(self, batch_size: int, max_length: int, encoder_outputs: Any) -> DecoderCache:
        """An empty ``past_key_values`` for ``decode``, as transformers' Flax classes made it:
        room for ``max_length`` positions of ``batch_size`` rows decoding ``encoder_outputs``
        (whose cross-attention keys and values it computes once).

        >>> from bbtok.data import SAMPLE_CHECKPOINT
        >>> model = BlenderbotSmallForConditionalGeneration.from_pretrained(SAMPLE_CHECKPOINT)
        >>> encoder_outputs = model.encode(np.array([[5, 6, 7, 2]]))
        >>> past = model.init_cache(1, 8, encoder_outputs)
        >>> step = model.decode(np.array([[1]]), encoder_outputs, past_key_values=past)
        >>> step.past_key_values.length
        1
        """
        encoded = self._encoder_hidden_state(encoder_outputs)
        if batch_size != encoded.shape[0]:
            raise ValueError(
                f"batch_size is {batch_size}, but encoder_outputs has {encoded.shape[0]} rows"
            )
        positions = self.config.max_position_embeddings
        if not (isinstance(max_length, int) and 1 <= max_length <= positions):
            raise ValueError(
                f"max_length must be an integer in [1, {positions}] (max_position_embeddings), "
                f"got {max_length!r}"
            )
        config = self.config
        empty = np.zeros(
            (batch_size, config.decoder_attention_heads, 0, config.decoder_head_dim), self.dtype
        )
        layers = len(self.decoder.layers)
        cross = tuple(self.decoder.cross_keys_values(encoded))
        return DecoderCache((empty,) * layers, (empty,) * layers, cross, encoded, max_length)

    def decode(
        self,
        decoder_input_ids: Any,
        encoder_outputs: Any,
        encoder_attention_mask: Any = None,
        decoder_attention_mask: Any = None,
        past_key_values: DecoderCache | None = None,
    ) -> DecodedT:
        """The decoder over ``encode``'s output, as transformers' Flax classes had it: the bare
        model's (``...Model``) ``DecoderOutput`` has its ``.last_hidden_state`` [batch, target,
        d_model]; the model with its output layer (``...ForConditionalGeneration``) goes on
        through it, and its ``DecoderLMOutput`` has the ``.logits`` [batch, target, vocab].
        Masks default to all ones. With ``past_key_values`` (``init_cache``'s, or a previous
        ``decode``'s) the ids continue the positions it holds, and the output's
        ``past_key_values`` holds them too."""
        hidden, cache = self._decode(
            decoder_input_ids,
            encoder_outputs,
            encoder_attention_mask,
            decoder_attention_mask,
            past_key_values,
        )
        return self._decoder_output(hidden, cache)

    def _decode(
        self,
        decoder_input_ids: Any,
        encoder_outputs: Any,
        encoder_attention_mask: Any,
        decoder_attention_mask: Any,
        past_key_values: DecoderCache | None,
    ) -> tuple[Array, DecoderCache | None]:
        """The decoder's last hidden state, and the cache extended by its positions."""
        encoded = self._encoder_hidden_state(encoder_outputs)
        rows, source = encoded.shape[:2]
        targets = self._ids(decoder_input_ids, "decoder_input_ids")
        if targets.shape[0] != rows:
            raise ValueError(
                f"decoder_input_ids has {targets.shape[0]} rows, encoder_outputs {rows}"
            )
        source_ids = np.zeros((rows, source), dtype=np.int64)
        cross_mask = self._mask(encoder_attention_mask, source_ids, "encoder_attention_mask")
        cross_additive = additive_mask(cross_mask[:, None, None, :], self.dtype)
        start = 0 if past_key_values is None else past_key_values.length
        end = start + targets.shape[1]
        if past_key_values is None:
            cross = self.decoder.cross_keys_values(encoded)
            target_mask = self._mask(decoder_attention_mask, targets, "decoder_attention_mask")
        else:
            cross = list(self._checked_cache(past_key_values, encoded, end))
            target_mask = self._cached_mask(decoder_attention_mask, rows, end, past_key_values)
        causal = np.arange(start, end)[:, None] >= np.arange(end)[None, :]
        self_mask = additive_mask(causal[None, None] & target_mask[:, None, None, :], self.dtype)
        if past_key_values is None:
            return self.decoder(targets, 0, self_mask, cross, cross_additive), None
        keys, values = list(past_key_values.keys), list(past_key_values.values)

        def store(layer: int) -> KeyValueStore:
            def extend(key: Array, value: Array) -> tuple[Array, Array]:
                keys[layer] = np.concatenate([keys[layer], key], axis=2)
                values[layer] = np.concatenate([values[layer], value], axis=2)
                return keys[layer], values[layer]

            return extend

        stores = [store(i) for i in range(len(keys))]
        hidden = self.decoder(targets, start, self_mask, cross, cross_additive, stores)
        extended = dataclasses.replace(past_key_values, keys=tuple(keys), values=tuple(values))
        return hidden, extended

    def _checked_cache(
        self, cache: DecoderCache, encoded: Array, end: int
    ) -> tuple[tuple[Array, Array], ...]:
        if not isinstance(cache, DecoderCache):
            raise ValueError(
                f"past_key_values must be a DecoderCache (init_cache's or decode's), got "
                f"{type(cache).__name__}"
            )
        if len(cache.keys) != len(self.decoder.layers) or cache.keys[0].shape[0] != len(encoded):
            raise ValueError("past_key_values was made for another model or batch")
        if cache.encoder_hidden_state is not encoded and not np.array_equal(
            cache.encoder_hidden_state, encoded
        ):
            raise ValueError(
                "past_key_values was made for other encoder_outputs (init_cache computes their "
                "cross-attention once)"
            )
        if end > cache.max_length:
            raise ValueError(
                f"past_key_values holds {cache.length} positions of at most {cache.max_length} "
                f"(init_cache's max_length): {end - cache.length} more do not fit"
            )
        return cache.cross

    def _cached_mask(self, values: Any, rows: int, end: int, cache: DecoderCache) -> Array:
        """The decoder's mask over the cached and new positions: as wide as them, or, as
        transformers' Flax classes took it, as the cache (its columns past them unused)."""
        if values is None:
            return np.ones((rows, end), dtype=bool)
        width = np.shape(values)[-1] if np.ndim(values) else 0
        if width not in (end, cache.max_length):
            raise ValueError(
                f"decoder_attention_mask must cover the {end} positions fed so far (or the "
                f"cache's {cache.max_length}), got shape {np.shape(values)}"
            )
        mask = self._mask(values, np.zeros((rows, width), dtype=np.int64), "decoder_attention_mask")
        return mask[:, :end]

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
        encoded = self._encoded(ids, mask)
        length = targets.shape[1]
        causal = np.tril(np.ones((length, length), dtype=bool))
        self_mask = additive_mask(causal[None, None] & target_mask[:, None, None, :], self.dtype)
        cross_mask = additive_mask(mask[:, None, None, :], self.dtype)
        cross = self.decoder.cross_keys_values(encoded)
        return self.decoder(targets, 0, self_mask, cross, cross_mask), encoded


class Seq2SeqModel(Seq2SeqBase[DecoderOutput]):
    """The bare encoder-decoder (transformers' ``...Model``): hidden states, no output layer.
    Reads a checkpoint of the bare model or of the whole ``...ForConditionalGeneration`` (whose
    output layer it leaves unread)."""

    def _load_head(self, read: LayerReader) -> None:
        for name in self.architecture.unprefixed:
            read.skip(name, prefixed=False)

    def _decoder_output(self, hidden: Array, cache: DecoderCache | None) -> DecoderOutput:
        return DecoderOutput(last_hidden_state=hidden, past_key_values=cache)

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


class Seq2SeqForConditionalGeneration(Seq2SeqBase[DecoderLMOutput]):
    """The encoder-decoder with its output layer: logits, and ``generate``."""

    def _load_head(self, read: LayerReader) -> None:
        self.lm_head = read.lm_head(self.shared)
        self.final_logits_bias = read.final_logits_bias()

    def _logits(self, hidden: Array) -> Array:
        return hidden @ self.lm_head.T + self.final_logits_bias

    def _decoder_output(self, hidden: Array, cache: DecoderCache | None) -> DecoderLMOutput:
        return DecoderLMOutput(logits=self._logits(hidden), past_key_values=cache)

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
        encoded = self._encoded(ids, mask)
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
