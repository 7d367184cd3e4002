"""``BlenderbotSmallConfig`` and ``BlenderbotConfig``: a checkpoint's ``config.json`` (and
``generation_config.json``), read as transformers reads them.

Missing keys take transformers' defaults for the model type (for BlenderbotSmall those of
``facebook/blenderbot_small-90M``'s architecture, for Blenderbot those of
``facebook/blenderbot-3B``); keys transformers does not define are kept as attributes, as
transformers keeps them (older checkpoints put generation settings such as ``num_beams`` in
``config.json``). Both read and check their values with ``Seq2SeqConfig``'s code; they differ in
their defaults and in the knobs of older configurations they can honour.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bbtok.storage import files, hub

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

CONFIG_FILE = "config.json"
GENERATION_CONFIG_FILE = "generation_config.json"
# What from_pretrained fetches for a hub model id: the configuration, and for the model the
# weights too (kept here, with the file names, as model.py imports numpy).
CONFIG_FILES = hub.FileSet(CONFIG_FILE, (CONFIG_FILE,), (GENERATION_CONFIG_FILE,))
MODEL_FILES = hub.FileSet(
    f"{CONFIG_FILE} and the weights", (CONFIG_FILE,), (GENERATION_CONFIG_FILE,), weights=True
)
MODEL_TYPE = "blenderbot-small"

# transformers' BlenderbotSmallConfig defaults.
DEFAULTS: dict[str, Any] = {
    "vocab_size": 50265,
    "max_position_embeddings": 512,
    "encoder_layers": 8,
    "encoder_ffn_dim": 2048,
    "encoder_attention_heads": 16,
    "decoder_layers": 8,
    "decoder_ffn_dim": 2048,
    "decoder_attention_heads": 16,
    "encoder_layerdrop": 0.0,
    "decoder_layerdrop": 0.0,
    "use_cache": True,
    "is_encoder_decoder": True,
    "activation_function": "gelu",
    "d_model": 512,
    "dropout": 0.1,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "init_std": 0.02,
    "decoder_start_token_id": 1,
    "scale_embedding": False,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "forced_eos_token_id": 2,
    "is_decoder": False,
    "tie_word_embeddings": True,
}
BLENDERBOT_MODEL_TYPE = "blenderbot"
# transformers' BlenderbotConfig defaults: BlenderbotSmall's, with the 3B model's sizes.
BLENDERBOT_DEFAULTS: dict[str, Any] = {
    **DEFAULTS,
    "vocab_size": 8008,
    "max_position_embeddings": 128,
    "encoder_layers": 2,
    "encoder_ffn_dim": 10240,
    "encoder_attention_heads": 32,
    "decoder_layers": 24,
    "decoder_ffn_dim": 10240,
    "decoder_attention_heads": 32,
    "d_model": 2560,
    "encoder_no_repeat_ngram_size": 3,
}
# Knobs of configurations written by transformers 3 and 4 (the BART-based Blenderbot) that
# transformers 5.23 keeps as plain attributes, each with the values that describe what 5.23 runs
# for Blenderbot (pre-LayerNorm with a final layer norm, no embedding layer norm, learned
# positions without offset, no logits bias layer). Another value asks for a model 5.23 does not
# build, so it is refused. ``scale_embedding`` and ``force_bos_token_to_be_generated`` are not
# here: 5.23 honours every value of both.
BLENDERBOT_LEGACY_KNOBS: dict[str, tuple[Any, ...]] = {
    "normalize_before": (True,),
    "add_final_layer_norm": (True,),
    "do_blenderbot_90_layernorm": (False,),
    "normalize_embedding": (False,),
    "static_position_embeddings": (False,),
    "add_bias_logits": (False,),
    "extra_pos_embeddings": (0,),
}
# Other names transformers accepts for some of them.
ALIASES = {
    "num_attention_heads": "encoder_attention_heads",
    "hidden_size": "d_model",
    "num_hidden_layers": "encoder_layers",
}
ACTIVATIONS = ("gelu", "relu", "silu", "swish", "gelu_new")
_POSITIVE_INTS = (
    "vocab_size",
    "max_position_embeddings",
    "encoder_layers",
    "encoder_ffn_dim",
    "encoder_attention_heads",
    "decoder_layers",
    "decoder_ffn_dim",
    "decoder_attention_heads",
    "d_model",
)


class Seq2SeqConfig:
    """What the configurations of the family share: reading, checking and writing
    ``config.json``. A subclass gives its ``model_type``, its ``defaults`` and the
    ``legacy_knobs`` it can honour."""

    model_type: ClassVar[str]
    defaults: ClassVar[dict[str, Any]]
    # A knob of older configurations -> the values that describe what transformers 5.23 runs.
    legacy_knobs: ClassVar[dict[str, tuple[Any, ...]]] = {}

    vocab_size: int
    max_position_embeddings: int
    encoder_layers: int
    encoder_ffn_dim: int
    encoder_attention_heads: int
    decoder_layers: int
    decoder_ffn_dim: int
    decoder_attention_heads: int
    activation_function: str
    d_model: int
    scale_embedding: bool
    decoder_start_token_id: int | None
    pad_token_id: int | None
    bos_token_id: int | None
    eos_token_id: int | list[int] | None
    forced_eos_token_id: int | list[int] | None
    tie_word_embeddings: bool

    def __init__(self, source: str = "<arguments>", **values: Any) -> None:
        """Build from keyword values (missing ones take transformers' defaults). ``source`` names
        where the values come from, for error messages."""
        self._given: dict[str, Any] = {}
        for key, value in values.items():
            self._given[ALIASES.get(key, key)] = value
        self._given.pop("model_type", None)
        for key, value in {**self.defaults, **self._given}.items():
            setattr(self, key, value)
        self._check(source)
        # generation_config.json's values, when read from a directory that has one.
        self.generation_config: dict[str, Any] | None = None

    def _check(self, source: str) -> None:
        for knob, honoured in self.legacy_knobs.items():
            if knob in self._given and not _among(self._given[knob], honoured):
                raise ValueError(
                    f"{source}: {knob}={self._given[knob]!r} is not supported: transformers "
                    f"5.23 runs {self.model_type} models as {knob}="
                    f"{' or '.join(repr(value) for value in honoured)} whatever this says"
                )
        for key in _POSITIVE_INTS:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{source}: {key} must be a positive int, got {value!r}")
        for prefix in ("encoder", "decoder"):
            heads = getattr(self, f"{prefix}_attention_heads")
            if self.d_model % heads:
                raise ValueError(
                    f"{source}: d_model ({self.d_model}) must be divisible by "
                    f"{prefix}_attention_heads ({heads})"
                )
        if self.activation_function not in ACTIVATIONS:
            raise ValueError(
                f"{source}: activation_function {self.activation_function!r} is not supported "
                f"(supported: {', '.join(ACTIVATIONS)})"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "<dict>") -> Self:
        return cls(source=source, **values)

    @classmethod
    def from_pretrained(
        cls, directory: str | os.PathLike[str], **hub_options: Unpack[hub.HubOptions]
    ) -> Self:
        """Read ``config.json`` from a checkpoint directory, and ``generation_config.json`` when
        it is there; or from a hub model id (``org/name``) through huggingface_hub's cache,
        fetching only those two files (``hub_options``: ``revision``, ``cache_dir``, ``token``,
        ``local_files_only``, ``force_download``).

        A directory that does not exist is ``FileNotFoundError`` naming it; a configuration file
        that is not a regular file (a FIFO) or is larger than ``files.MAX_CONFIG_BYTES`` is
        ``ValueError`` naming it."""
        path = Path(hub.pretrained_directory(directory, CONFIG_FILES, **hub_options))
        values = _read_object(path / CONFIG_FILE)
        model_type = values.get("model_type", cls.model_type)
        if model_type != cls.model_type:
            raise ValueError(
                f"{path / CONFIG_FILE}: model_type is {model_type!r}, not {cls.model_type!r}"
            )
        config = cls(source=str(path / CONFIG_FILE), **values)
        generation = path / GENERATION_CONFIG_FILE
        # Whatever is at the path is read: a FIFO or a dangling link is an error, not "absent".
        if os.path.lexists(generation):
            config.generation_config = _read_object(generation)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Every setting, defaults included, with ``model_type``."""
        values = {key: getattr(self, key) for key in {**self.defaults, **self._given}}
        return {"model_type": self.model_type, **values}

    def to_diff_dict(self) -> dict[str, Any]:
        """The settings that differ from transformers' defaults, with ``model_type`` (what
        transformers writes to ``config.json``)."""
        values = self.to_dict()
        return {
            key: value
            for key, value in values.items()
            if key == "model_type" or key not in self.defaults or self.defaults[key] != value
        }

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` (the differences from the defaults) into ``directory``."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        target = path / CONFIG_FILE
        text = json.dumps(self.to_diff_dict(), indent=2, sort_keys=True, ensure_ascii=False)
        files.write_atomic(target, (text + "\n").encode("utf-8"))
        return target

    @property
    def decoder_head_dim(self) -> int:
        return self.d_model // self.decoder_attention_heads

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self.to_diff_dict(), sort_keys=True)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Seq2SeqConfig) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like transformers' configs


class BlenderbotSmallConfig(Seq2SeqConfig):
    """The architecture and token ids of a BlenderbotSmall checkpoint.

    >>> config = BlenderbotSmallConfig(d_model=16, encoder_attention_heads=4)
    >>> config.d_model, config.decoder_layers, config.to_diff_dict()["d_model"]
    (16, 8, 16)
    """

    model_type = MODEL_TYPE
    defaults = DEFAULTS


class BlenderbotConfig(Seq2SeqConfig):
    """The architecture and token ids of a Blenderbot checkpoint (the pre-LayerNorm models,
    400M to 3B). Knobs of older configurations are accepted where they describe what
    transformers 5.23 runs, and refused naming the knob and the file where they do not.

    >>> config = BlenderbotConfig(d_model=16, encoder_attention_heads=4, decoder_attention_heads=4)
    >>> config.decoder_layers, config.encoder_no_repeat_ngram_size
    (24, 3)
    >>> BlenderbotConfig(normalize_before=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: <arguments>: normalize_before=False is not supported: ...
    """

    model_type = BLENDERBOT_MODEL_TYPE
    defaults = BLENDERBOT_DEFAULTS
    legacy_knobs = BLENDERBOT_LEGACY_KNOBS


def _among(value: Any, allowed: tuple[Any, ...]) -> bool:
    """``value`` is one of ``allowed``, a bool matching only a bool (``0`` is not ``False``)."""
    return any(type(value) is type(option) and value == option for option in allowed)


def _read_object(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, with errors naming the file (and line, for bad JSON)."""
    values = files.read_json(path)
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(values).__name__}")
    return values
