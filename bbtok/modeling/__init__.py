"""The numpy model runner: configuration, weights (safetensors, torch zip files, shards), the
layers, each architecture's tensor names, the encoder-decoder and its conversion to
safetensors.

The runner's names are imported on first use: the configuration (and so ``import bbtok``)
needs no numpy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bbtok.modeling.config import BlenderbotSmallConfig

if TYPE_CHECKING:
    from bbtok.modeling.architectures import BLENDERBOT_SMALL, Architecture
    from bbtok.modeling.loading import open_weights
    from bbtok.modeling.seq2seq import (
        BlenderbotSmallForConditionalGeneration,
        IncrementalDecoder,
        Seq2SeqLMOutput,
    )

# Each public name and the module that owns it.
_OWNERS = {
    "Architecture": "bbtok.modeling.architectures",
    "BLENDERBOT_SMALL": "bbtok.modeling.architectures",
    "BlenderbotSmallForConditionalGeneration": "bbtok.modeling.seq2seq",
    "IncrementalDecoder": "bbtok.modeling.seq2seq",
    "Seq2SeqLMOutput": "bbtok.modeling.seq2seq",
    "open_weights": "bbtok.modeling.loading",
}

__all__ = [
    "BLENDERBOT_SMALL",
    "Architecture",
    "BlenderbotSmallConfig",
    "BlenderbotSmallForConditionalGeneration",
    "IncrementalDecoder",
    "Seq2SeqLMOutput",
    "open_weights",
]


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'bbtok.modeling' has no attribute {name!r}")
    return getattr(importlib.import_module(owner), name)
