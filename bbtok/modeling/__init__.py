"""The numpy model runner: configuration, weights (safetensors, torch zip files, shards), the
encoder-decoder and its conversion to safetensors.

The runner's names are imported on first use: the configuration (and so ``import bbtok``)
needs no numpy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bbtok.modeling.config import BlenderbotSmallConfig

if TYPE_CHECKING:
    from bbtok.modeling.seq2seq import (
        BlenderbotSmallForConditionalGeneration,
        IncrementalDecoder,
        Seq2SeqLMOutput,
        open_weights,
    )

# Each public name and the module that owns it.
_OWNERS = {
    "BlenderbotSmallForConditionalGeneration": "bbtok.modeling.seq2seq",
    "IncrementalDecoder": "bbtok.modeling.seq2seq",
    "Seq2SeqLMOutput": "bbtok.modeling.seq2seq",
    "open_weights": "bbtok.modeling.seq2seq",
}

__all__ = [
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
