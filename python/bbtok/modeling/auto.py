"""``auto_model``: the runner class a checkpoint's ``config.json`` names, loaded.

The class is found from ``model_type`` (which architecture) and ``architectures`` (which of its
classes: the encoder-decoder with its output layer, the bare model, or the decoder alone), as
transformers' ``AutoModel...`` classes find theirs; a configuration without ``architectures``
gets the encoder-decoder with its output layer, the class ``generate`` needs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bbtok.modeling.architectures import ARCHITECTURES
from bbtok.modeling.causal_lm import BlenderbotForCausalLM, BlenderbotSmallForCausalLM, CausalLMBase
from bbtok.modeling.config import CONFIG_FILE, MODEL_FILES
from bbtok.modeling.seq2seq import (
    BlenderbotForConditionalGeneration,
    BlenderbotModel,
    BlenderbotSmallForConditionalGeneration,
    BlenderbotSmallModel,
    Seq2SeqBase,
)
from bbtok.storage import files
from bbtok.storage.hub import HubOptions, pretrained_directory

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["MODEL_CLASSES", "auto_model", "model_class"]

# Every runner class, under transformers' name for it.
MODEL_CLASSES: dict[str, type[Seq2SeqBase[Any]] | type[CausalLMBase]] = {
    model.__name__: model
    for model in (
        BlenderbotSmallForConditionalGeneration,
        BlenderbotSmallModel,
        BlenderbotSmallForCausalLM,
        BlenderbotForConditionalGeneration,
        BlenderbotModel,
        BlenderbotForCausalLM,
    )
}


def model_class(
    model_type: object, architectures: object, source: str = "<config>"
) -> type[Seq2SeqBase[Any]] | type[CausalLMBase]:
    """The runner class for a configuration's ``model_type`` and ``architectures`` (the first
    one bbtok has for that model type); ``ValueError`` naming ``source`` when there is none.

    >>> model_class("blenderbot", ["BlenderbotModel"]).__name__
    'BlenderbotModel'
    >>> model_class("blenderbot-small", None).__name__
    'BlenderbotSmallForConditionalGeneration'
    """
    architecture = ARCHITECTURES.get(model_type) if isinstance(model_type, str) else None
    if architecture is None:
        raise ValueError(
            f"{source}: model_type {model_type!r} is not supported "
            f"(supported: {', '.join(ARCHITECTURES)})"
        )
    if architectures is None:
        return MODEL_CLASSES[f"{architecture.class_prefix}ForConditionalGeneration"]
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ValueError(f"{source}: architectures must be a list of class names")
    for name in architectures:
        found = MODEL_CLASSES.get(name)
        if found is not None and found.architecture is architecture:
            return found
    known = [name for name, model in MODEL_CLASSES.items() if model.architecture is architecture]
    raise ValueError(
        f"{source}: none of architectures {architectures} is a {model_type} class bbtok runs "
        f"(it runs {', '.join(known)})"
    )


def auto_model(
    directory: str | os.PathLike[str],
    dtype: str = "float32",
    mmap: bool = True,
    **hub_options: Unpack[HubOptions],
) -> Seq2SeqBase[Any] | CausalLMBase:
    """Load a checkpoint directory (or hub model id) with the class its ``config.json`` names:
    ``model_class(model_type, architectures)``'s ``from_pretrained`` with the same arguments.

    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> type(auto_model(SAMPLE_CHECKPOINT)).__name__
    'BlenderbotSmallForConditionalGeneration'
    """
    path = Path(pretrained_directory(directory, MODEL_FILES, **hub_options))
    values = files.read_json(path / CONFIG_FILE)
    source = str(path / CONFIG_FILE)
    if not isinstance(values, dict):
        raise ValueError(f"{source}: expected a JSON object, got {type(values).__name__}")
    model = model_class(values.get("model_type"), values.get("architectures"), source)
    return model.from_pretrained(path, dtype=dtype, mmap=mmap)
