"""BlenderbotSmallForConditionalGeneration in numpy: load a transformers checkpoint, run it, and
generate with transformers' semantics (greedy and beam search), without torch.

The computation follows transformers 5's ``modeling_blenderbot_small`` step by step, in the same
order of operations, so that float64 runs agree with transformers in float64 to the last bits
that matter (identical generations) and float32 runs agree to float32 rounding:

- post-layer-norm encoder and decoder layers (attention, residual, layer norm; feed-forward,
  residual, layer norm), learned positions without offset, ``layernorm_embedding``;
- the encoder adds positions and then normalizes; the decoder normalizes its token embeddings
  and then adds positions. transformers 5 scales the encoder's token embeddings by
  ``sqrt(d_model)`` when ``scale_embedding`` is set but never the decoder's (it computes the
  scale and does not use it); we do the same;
- attention scores are ``(q @ k^T) * head_dim**-0.5``; masked positions get the dtype's lowest
  value added (transformers' eager attention), so a row whose keys are all masked attends to
  all of them evenly, as there;
- the output projection is the shared embedding matrix (tied) plus ``final_logits_bias``
  (zeros when the checkpoint has none, as transformers allows).

Decoding keeps a key/value cache: the encoder runs once, its cross-attention keys and values are
computed once, and each step computes one position per row.
"""

from __future__ import annotations

import errno
import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bbtok.generation.search import GenerationSettings, generate
from bbtok.modeling.config import MODEL_FILES, BlenderbotSmallConfig
from bbtok.modeling.torch_checkpoint import TorchCheckpoint
from bbtok.modeling.weights import SafetensorsFile, ShardedWeights, TensorSource
from bbtok.storage.hub import WEIGHT_FILES, HubOptions, pretrained_directory

if TYPE_CHECKING:
    from typing_extensions import Unpack

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which transformers uses here
DTYPES: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}
Array = np.ndarray


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
    return x / (1.0 + np.exp(-x))


def relu(x: Array) -> Array:
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
    weight: Array
    bias: Array

    def __call__(self, x: Array) -> Array:
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=-1, keepdims=True)
        eps = x.dtype.type(LAYER_NORM_EPS)
        return centered / np.sqrt(variance + eps) * self.weight + self.bias


def softmax(scores: Array) -> Array:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass
class Attention:
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


@dataclass
class EncoderLayer:
    self_attn: Attention
    self_attn_layer_norm: LayerNorm
    fc1: Linear
    fc2: Linear
    final_layer_norm: LayerNorm
    activation: Callable[[Array], Array]

    def __call__(self, x: Array, mask: Array | None) -> Array:
        keys, values = self.self_attn.keys_values(x)
        x = self.self_attn_layer_norm(x + self.self_attn.attend(x, keys, values, mask))
        return self.final_layer_norm(x + self.fc2(self.activation(self.fc1(x))))


@dataclass
class DecoderLayer:
    self_attn: Attention
    self_attn_layer_norm: LayerNorm
    encoder_attn: Attention
    encoder_attn_layer_norm: LayerNorm
    fc1: Linear
    fc2: Linear
    final_layer_norm: LayerNorm
    activation: Callable[[Array], Array]

    def __call__(
        self,
        x: Array,
        self_keys: Array,
        self_values: Array,
        self_mask: Array | None,
        cross_keys: Array,
        cross_values: Array,
        cross_mask: Array | None,
    ) -> Array:
        x = self.self_attn_layer_norm(
            x + self.self_attn.attend(x, self_keys, self_values, self_mask)
        )
        cross = self.encoder_attn.attend(x, cross_keys, cross_values, cross_mask)
        x = self.encoder_attn_layer_norm(x + cross)
        return self.final_layer_norm(x + self.fc2(self.activation(self.fc1(x))))


@dataclass
class Seq2SeqLMOutput:
    """What a forward pass returns: ``logits`` [batch, target, vocab] and the encoder's output."""

    logits: Array
    encoder_last_hidden_state: Array


def _as_array(values: Any, argument: str, what: str) -> Array:
    try:
        return np.asarray(values)
    except ValueError as error:  # numpy's refusal of ragged nested lists, which names nothing
        raise ValueError(f"{argument} must be {what}: {error}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _first(found: Array) -> tuple[int, int]:
    """The [row, column] of the first True of a 2-D boolean array."""
    row, column = np.argwhere(found)[0]
    return int(row), int(column)


def _additive(allowed: Array, dtype: type[np.floating]) -> Array:
    """A boolean "may attend" mask as transformers' eager attention adds it to the scores."""
    return np.where(allowed, dtype(0), np.finfo(dtype).min).astype(dtype)


# -- the model ------------------------------------------------------------------------------


class BlenderbotSmallForConditionalGeneration:
    """A BlenderbotSmall checkpoint in numpy.

    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> model = BlenderbotSmallForConditionalGeneration.from_pretrained(SAMPLE_CHECKPOINT)
    >>> ids = model.generate(np.array([[5, 6, 7, 2]]), max_new_tokens=5)  # doctest: +SKIP
    """

    def __init__(self, config: BlenderbotSmallConfig, weights: TensorSource, dtype: str) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.config = config
        self.dtype: type[np.floating] = DTYPES[dtype]
        self._load(weights)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike[str],
        dtype: str = "float32",
        mmap: bool = True,
        **hub_options: Unpack[HubOptions],
    ) -> BlenderbotSmallForConditionalGeneration:
        """Load ``config.json`` (+ ``generation_config.json``) and the weights: the first of
        ``model.safetensors``, ``model.safetensors.index.json`` (shards), ``pytorch_model.bin``
        (``torch.save``'s zip format, read without torch and without running its pickle's
        code) and ``pytorch_model.bin.index.json``, as transformers looks for them. Weights
        stored in float16 or bfloat16 are computed in ``dtype``.

        With ``mmap=True`` (the default) the weights stored in ``dtype`` are not copied: they are
        pages of the memory-mapped file, read when first used and shared between processes. The
        file must then keep its size while the model lives: truncating or rewriting it in place
        (replacing it by a rename is safe) makes the next forward pass die of SIGBUS, with no
        Python exception. ``mmap=False`` reads the file into memory at load (as
        ``safetensors.numpy.load`` does; it takes the file's size in RAM per process): use it
        when the checkpoint may be rewritten while the model runs, or lives on a network file
        system.
        """
        # A hub model id (org/name) is read from huggingface_hub's cache (downloaded when
        # online): hub_options are revision, cache_dir, token, local_files_only, force_download.
        directory = pretrained_directory(directory, MODEL_FILES, **hub_options)
        config = BlenderbotSmallConfig.from_pretrained(directory)
        return cls(config, open_weights(directory, mmap), dtype)

    # -- loading --

    def _load(self, weights: TensorSource) -> None:
        config, used = self.config, set()
        # transformers saves the model with "model." in front of the base model's parameters;
        # a BlenderbotSmallModel checkpoint has no prefix. Accept both.
        prefix = "model." if any(name.startswith("model.") for name in weights) else ""

        def tensor(name: str, shape: tuple[int, ...], prefixed: bool = True) -> Array:
            full = (prefix if prefixed else "") + name
            if full not in weights:
                raise ValueError(
                    f"{weights.path}: tensor {full!r} (shape {shape}) is missing from the "
                    "checkpoint"
                )
            found = weights.shape(full)
            if found != shape:
                raise ValueError(
                    f"{weights.path}: tensor {full!r} has shape {found}, the configuration "
                    f"needs {shape}"
                )
            used.add(full)
            return weights.get(full, self.dtype)

        width, vocab = config.d_model, config.vocab_size
        shared_name = next(
            (
                name
                for name in ("shared.weight", "encoder.embed_tokens.weight")
                if prefix + name in weights
            ),
            "shared.weight",
        )
        self.shared = tensor(shared_name, (vocab, width))
        for tied in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            if prefix + tied in weights:
                used.add(prefix + tied)  # tied to the shared embeddings, as in transformers
        if config.tie_word_embeddings:
            self.lm_head = self.shared
            if "lm_head.weight" in weights:
                used.add("lm_head.weight")
        else:
            self.lm_head = tensor("lm_head.weight", (vocab, width), prefixed=False)
        if "final_logits_bias" in weights:
            self.final_logits_bias = tensor("final_logits_bias", (1, vocab), prefixed=False)[0]
        else:  # transformers also starts it at zero when a checkpoint lacks it
            self.final_logits_bias = np.zeros(vocab, dtype=self.dtype)

        positions = (config.max_position_embeddings, width)
        self.encoder_positions = tensor("encoder.embed_positions.weight", positions)
        self.decoder_positions = tensor("decoder.embed_positions.weight", positions)
        self.encoder_embedding_norm = self._layer_norm(tensor, "encoder.layernorm_embedding")
        self.decoder_embedding_norm = self._layer_norm(tensor, "decoder.layernorm_embedding")
        self.encoder_layers = [
            EncoderLayer(**self._layer_parts(tensor, f"encoder.layers.{i}", "encoder"))
            for i in range(config.encoder_layers)
        ]
        heads = config.decoder_attention_heads
        self.decoder_layers = [
            DecoderLayer(
                **self._layer_parts(tensor, f"decoder.layers.{i}", "decoder"),
                encoder_attn=self._attention(tensor, f"decoder.layers.{i}.encoder_attn", heads),
                encoder_attn_layer_norm=self._layer_norm(
                    tensor, f"decoder.layers.{i}.encoder_attn_layer_norm"
                ),
            )
            for i in range(config.decoder_layers)
        ]
        unused = sorted(set(weights) - used)
        if unused:
            raise ValueError(
                f"{weights.path}: {len(unused)} tensors the configuration has no place for, "
                f"e.g. {unused[:3]} (is config.json the one of this checkpoint?)"
            )

    def _layer_parts(self, tensor: Any, name: str, side: str) -> dict[str, Any]:
        """What encoder and decoder layers share: self-attention, the feed-forward block, their
        layer norms and the activation."""
        width, config = self.config.d_model, self.config
        heads, ffn = getattr(config, f"{side}_attention_heads"), getattr(config, f"{side}_ffn_dim")
        return {
            "self_attn": self._attention(tensor, f"{name}.self_attn", heads),
            "self_attn_layer_norm": self._layer_norm(tensor, f"{name}.self_attn_layer_norm"),
            "fc1": self._linear(tensor, f"{name}.fc1", ffn, width),
            "fc2": self._linear(tensor, f"{name}.fc2", width, ffn),
            "final_layer_norm": self._layer_norm(tensor, f"{name}.final_layer_norm"),
            "activation": ACTIVATIONS[config.activation_function],
        }

    def _linear(self, tensor: Any, name: str, out: int, inputs: int) -> Linear:
        return Linear(tensor(f"{name}.weight", (out, inputs)), tensor(f"{name}.bias", (out,)))

    def _layer_norm(self, tensor: Any, name: str) -> LayerNorm:
        width = self.config.d_model
        return LayerNorm(tensor(f"{name}.weight", (width,)), tensor(f"{name}.bias", (width,)))

    def _attention(self, tensor: Any, name: str, heads: int) -> Attention:
        width = self.config.d_model
        q, k, v, out = (
            self._linear(tensor, f"{name}.{part}", width, width)
            for part in ("q_proj", "k_proj", "v_proj", "out_proj")
        )
        return Attention(q, k, v, out, heads)

    # -- inputs --

    def _ids(self, values: Any, argument: str) -> Array:
        array = _as_array(values, argument, "a [batch, length] array of integer ids")
        if array.ndim == 1:
            array = array[None, :]
        python_ints = False
        if array.dtype == object or (array.dtype.kind == "f" and not isinstance(values, Array)):
            # An id beyond int64 makes numpy hold a list as float64 or objects: look at the
            # list's own integers, so that the error below can name the id.
            exact = np.asarray(values, dtype=object).reshape(array.shape)
            python_ints = all(_is_int(value) for value in exact.flat)
            if python_ints:
                array = exact
        integer = python_ints or np.issubdtype(array.dtype, np.integer)
        if array.ndim != 2 or array.shape[1] == 0 or not integer:
            raise ValueError(
                f"{argument} must be integer ids of shape [batch, length] with length >= 1, got "
                f"{array.dtype} of shape {array.shape}"
            )
        if array.shape[0] == 0:
            raise ValueError(f"{argument} must hold at least one row, got shape {array.shape}")
        outside = (array < 0) | (array >= self.config.vocab_size)
        if outside.any():
            row, column = _first(outside)
            raise ValueError(
                f"{argument} holds ids outside [0, {self.config.vocab_size}): "
                f"{int(array[row, column])} at [{row}, {column}]"
            )
        if array.shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"{argument} has {array.shape[1]} positions; this model has "
                f"{self.config.max_position_embeddings} (max_position_embeddings)"
            )
        return array.astype(np.int64)

    def _mask(self, values: Any, ids: Array, argument: str) -> Array:
        if values is None:
            return np.ones(ids.shape, dtype=bool)
        mask = _as_array(values, argument, f"a 0/1 mask of the ids' shape {ids.shape}")
        if mask.ndim == 1:
            mask = mask[None, :]
        if mask.shape != ids.shape:
            raise ValueError(
                f"{argument} must be a 0/1 mask of the ids' shape {ids.shape}, got shape "
                f"{mask.shape}"
            )
        outside = ~np.isin(mask, (0, 1))
        if outside.any():
            row, column = _first(outside)
            value = mask[row, column]
            shown = value.item() if isinstance(value, np.generic) else value
            raise ValueError(f"{argument} must be a 0/1 mask, got {shown!r} at [{row}, {column}]")
        return mask.astype(bool)

    # -- running --

    def encode(self, input_ids: Array, attention_mask: Array) -> Array:
        """The encoder's last hidden state [batch, source, d_model]."""
        length = input_ids.shape[1]
        scale = math.sqrt(self.config.d_model) if self.config.scale_embedding else 1.0
        x = self.shared[input_ids] * self.dtype(scale) + self.encoder_positions[:length]
        x = self.encoder_embedding_norm(x)
        mask = _additive(attention_mask[:, None, None, :], self.dtype)
        for layer in self.encoder_layers:
            x = layer(x, mask)
        return x

    def _decoder_embeddings(self, tokens: Array, start: int) -> Array:
        # transformers 5 does not scale the decoder's embeddings, even with scale_embedding.
        x = self.decoder_embedding_norm(self.shared[tokens])
        return x + self.decoder_positions[start : start + tokens.shape[1]]

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
        if decoder_input_ids is None:
            raise ValueError(
                "decoder_input_ids is required (transformers' BlenderbotSmall does not derive it "
                "from input_ids either)"
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
        self_mask = _additive(causal[None, None] & target_mask[:, None, None, :], self.dtype)
        cross_mask = _additive(mask[:, None, None, :], self.dtype)
        x = self._decoder_embeddings(targets, 0)
        for layer in self.decoder_layers:
            keys, values = layer.self_attn.keys_values(x)
            cross_keys, cross_values = layer.encoder_attn.keys_values(encoded)
            x = layer(x, keys, values, self_mask, cross_keys, cross_values, cross_mask)
        return Seq2SeqLMOutput(logits=self._logits(x), encoder_last_hidden_state=encoded)

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
            mask = self._default_mask(ids, resolved)
        else:
            mask = self._mask(attention_mask, ids, "attention_mask")
        beams = resolved.num_beams
        encoded = self.encode(ids, mask)
        longest = (
            resolved.max_length
            if resolved.max_new_tokens is None
            else resolved.max_new_tokens + 1  # the decoder start token, then the new ones
        )
        decoder = IncrementalDecoder(
            self,
            np.repeat(encoded, beams, axis=0),
            np.repeat(mask, beams, axis=0),
            capacity=min(longest, self.config.max_position_embeddings),
        )
        return generate(decoder, ids.shape[0], resolved)

    @staticmethod
    def _default_mask(ids: Array, settings: GenerationSettings) -> Array:
        """transformers' mask when none is given: padding is where the pad id is, unless the pad
        id is also an end-of-sequence id (then nothing is padding)."""
        pad = settings.pad_token_id
        eos = settings.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        if pad is None or pad in eos_ids or not np.any(ids == pad):
            return np.ones(ids.shape, dtype=bool)
        return np.asarray(ids != pad)


def open_weights(directory: str | os.PathLike[str], mmap: bool = True) -> TensorSource:
    """The weights of a checkpoint directory: the first of
    ``bbtok.storage.hub.WEIGHT_FILES`` present
    (transformers' order), an index with the shards it names."""
    readers: dict[str, Callable[[Path], TensorSource]] = {
        ".safetensors": functools.partial(SafetensorsFile, mmap=mmap),
        ".bin": functools.partial(TorchCheckpoint, mmap=mmap),
    }
    for name in WEIGHT_FILES:
        path = Path(directory) / name
        if path.exists():
            whole = name.removesuffix(".index.json")  # an index's shards are in its format
            reader = readers[Path(whole).suffix]
            return reader(path) if whole == name else ShardedWeights(path, reader)
    raise FileNotFoundError(
        errno.ENOENT,
        f"No weights: none of {', '.join(WEIGHT_FILES)} is in the directory",
        os.fspath(directory),
    )


class IncrementalDecoder:
    """The decoder one position at a time, with its key/value cache (``bbtok.generation.search``'s
    ``StepModel``). Cross-attention keys and values are computed once; self-attention keys and
    values go into buffers that double when full, so a step costs the same at any position
    apart from attention itself."""

    def __init__(
        self,
        model: BlenderbotSmallForConditionalGeneration,
        encoded: Array,
        mask: Array,
        capacity: int = 16,
    ) -> None:
        """``capacity``: positions to make room for at once (more are made as needed)."""
        self.model = model
        self.length = 0
        rows = encoded.shape[0]
        self.cross = [layer.encoder_attn.keys_values(encoded) for layer in model.decoder_layers]
        self.cross_mask = _additive(mask[:, None, None, :], model.dtype)
        heads = model.config.decoder_attention_heads
        head_dim = model.config.decoder_head_dim
        # No more room than the model has positions: step refuses to go past them.
        self.positions = model.config.max_position_embeddings
        capacity = max(1, min(capacity, self.positions))
        self.keys = [
            np.zeros((rows, heads, capacity, head_dim), dtype=model.dtype)
            for _ in model.decoder_layers
        ]
        self.values = [np.zeros_like(k) for k in self.keys]

    def step(self, tokens: Array) -> Array:
        model, at = self.model, self.length
        if at >= model.config.max_position_embeddings:
            raise ValueError(
                f"cannot generate past {model.config.max_position_embeddings} positions "
                "(max_position_embeddings); lower max_length or max_new_tokens"
            )
        if at == self.keys[0].shape[2]:
            self._grow()
        x = model._decoder_embeddings(np.asarray(tokens, dtype=np.int64)[:, None], at)
        for i, layer in enumerate(model.decoder_layers):
            key, value = layer.self_attn.keys_values(x)
            self.keys[i][:, :, at : at + 1] = key
            self.values[i][:, :, at : at + 1] = value
            keys = self.keys[i][:, :, : at + 1]
            values = self.values[i][:, :, : at + 1]
            cross_keys, cross_values = self.cross[i]
            x = layer(x, keys, values, None, cross_keys, cross_values, self.cross_mask)
        self.length += 1
        return model._logits(x[:, 0])

    def reorder(self, rows: Array) -> None:
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
