"""The numpy model runner: configuration, weights (safetensors, torch zip files, shards), the
layers, each architecture's tensor names, the encoder-decoder (with its output layer or bare),
the decoder alone as a language model, the loader that picks the class from ``config.json``,
and the conversion to safetensors.

The runner's names are imported on first use: the configuration (and so ``import bbtok``)
needs no numpy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bbtok.modeling.config import BlenderbotConfig, BlenderbotSmallConfig

if TYPE_CHECKING:
    from bbtok.modeling.architectures import BLENDERBOT, BLENDERBOT_SMALL, Architecture
    from bbtok.modeling.auto import auto_model
    from bbtok.modeling.causal_lm import (
        BlenderbotForCausalLM,
        BlenderbotSmallForCausalLM,
        CausalLMOutput,
    )
    from bbtok.modeling.loading import open_weights
    from bbtok.modeling.seq2seq import (
        BlenderbotForConditionalGeneration,
        BlenderbotModel,
        BlenderbotSmallForConditionalGeneration,
        BlenderbotSmallModel,
        DecoderCache,
        DecoderLMOutput,
        DecoderOutput,
        EncoderOutput,
        IncrementalDecoder,
        Seq2SeqLMOutput,
        Seq2SeqModelOutput,
    )

# Each public name and the module that owns it.
_OWNERS = {
    "Architecture": "bbtok.modeling.architectures",
    "BLENDERBOT": "bbtok.modeling.architectures",
    "BLENDERBOT_SMALL": "bbtok.modeling.architectures",
    "BlenderbotForCausalLM": "bbtok.modeling.causal_lm",
    "BlenderbotForConditionalGeneration": "bbtok.modeling.seq2seq",
    "BlenderbotModel": "bbtok.modeling.seq2seq",
    "BlenderbotSmallForCausalLM": "bbtok.modeling.causal_lm",
    "BlenderbotSmallForConditionalGeneration": "bbtok.modeling.seq2seq",
    "BlenderbotSmallModel": "bbtok.modeling.seq2seq",
    "CausalLMOutput": "bbtok.modeling.causal_lm",
    "DecoderCache": "bbtok.modeling.seq2seq",
    "DecoderLMOutput": "bbtok.modeling.seq2seq",
    "DecoderOutput": "bbtok.modeling.seq2seq",
    "EncoderOutput": "bbtok.modeling.seq2seq",
    "IncrementalDecoder": "bbtok.modeling.seq2seq",
    "Seq2SeqLMOutput": "bbtok.modeling.seq2seq",
    "Seq2SeqModelOutput": "bbtok.modeling.seq2seq",
    "auto_model": "bbtok.modeling.auto",
    "open_weights": "bbtok.modeling.loading",
}

__all__ = [
    "BLENDERBOT",
    "BLENDERBOT_SMALL",
    "Architecture",
    "BlenderbotConfig",
    "BlenderbotForCausalLM",
    "BlenderbotForConditionalGeneration",
    "BlenderbotModel",
    "BlenderbotSmallConfig",
    "BlenderbotSmallForCausalLM",
    "BlenderbotSmallForConditionalGeneration",
    "BlenderbotSmallModel",
    "CausalLMOutput",
    "DecoderCache",
    "DecoderLMOutput",
    "DecoderOutput",
    "EncoderOutput",
    "IncrementalDecoder",
    "Seq2SeqLMOutput",
    "Seq2SeqModelOutput",
    "auto_model",
    "open_weights",
]


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'bbtok.modeling' has no attribute {name!r}")
    return getattr(importlib.import_module(owner), name)
