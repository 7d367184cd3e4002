"""Where the commands find their tokenizer and model: a local directory or a hub model id, and
the sample checkpoint shipped in the package by default."""

from __future__ import annotations

import os
import sys
from typing import Any

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.config import CONFIG_FILE, MODEL_FILES
from bbtok.storage import files, hub
from bbtok.tokenizer_auto import TOKENIZER_FILES

# The checkpoint shipped in the package: the commands work from any directory out of the box.
DEFAULT_TOKENIZER_DIR = str(SAMPLE_CHECKPOINT)
DEFAULT_MODEL_DIR = str(SAMPLE_CHECKPOINT)
# The suffix of the classes that generate: the encoder-decoder with its output layer.
CONDITIONAL_GENERATION = "ForConditionalGeneration"
RANDOM_WEIGHTS_NOTE = (
    "bbtok: note: the sample checkpoint shipped with bbtok has random weights, so its replies are "
    "nonsense; point --model at a real BlenderbotSmall checkpoint for real ones (a hub model id "
    "such as facebook/blenderbot_small-90M, or a directory with config.json, the weights, "
    "vocab.json and merges.txt)"
)


def _resolve(name: str, wanted: hub.FileSet, not_found: str) -> str:
    """The directory of a --tokenizer or --model: a local one, or a hub model id's snapshot in
    huggingface_hub's cache (downloaded when online). ``not_found`` is the error for a path."""
    if not os.path.isdir(name) and not (hub.is_model_id(name) and not os.path.lexists(name)):
        raise SystemExit(not_found)
    return hub.pretrained_directory(name, wanted)


def tokenizer_directory(name: str) -> str:
    return _resolve(
        name,
        TOKENIZER_FILES,
        f"bbtok: error: no tokenizer directory at {name!r}; pass --tokenizer DIR (a directory "
        "with vocab.json and merges.txt, or a hub model id), or leave it out for the sample "
        "vocabulary",
    )


def model_directory(name: str) -> str:
    """Where the checkpoint is, with its tokenizer: both are read from the same directory."""
    return _resolve(
        name,
        TOKENIZER_FILES | MODEL_FILES,
        f"bbtok: error: no model directory at {name!r}; pass --model DIR (a checkpoint directory "
        "with config.json, model.safetensors, vocab.json and merges.txt, or a hub model id), or "
        "leave it out for the sample checkpoint",
    )


def load_model(directory: str, dtype: str) -> Any:
    """The encoder-decoder with its output layer that the checkpoint's config.json names: a
    Blenderbot or a BlenderbotSmall one (the runner's own messages for anything it cannot
    load); a bare model or a causal LM is refused, since only these generate replies."""
    try:
        from bbtok.modeling.auto import model_class
        from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration
    except ImportError as error:
        raise SystemExit(
            f"bbtok: error: the model runner needs numpy ({error}); pip install 'bbtok[model]'"
        ) from None
    model_type, architectures = _named_architecture(directory)
    runner: Any = BlenderbotSmallForConditionalGeneration
    if model_type is not None:
        config_path = os.path.join(directory, CONFIG_FILE)
        runner = model_class(model_type, architectures, config_path)
        if not runner.__name__.endswith(CONDITIONAL_GENERATION):
            raise ValueError(
                f"{config_path}: {runner.__name__} has no output layer to generate replies with; "
                f"generate and chat need a ...{CONDITIONAL_GENERATION} checkpoint"
            )
    model = runner.from_pretrained(directory, dtype=dtype)
    if os.path.abspath(directory) == os.path.abspath(DEFAULT_MODEL_DIR):
        print(RANDOM_WEIGHTS_NOTE, file=sys.stderr)
    return model


def _named_architecture(directory: str) -> tuple[str | None, object]:
    """``model_type`` and ``architectures`` of the directory's config.json, the model type
    ``None`` when it names none bbtok knows or the file cannot be read: the BlenderbotSmall
    runner then loads it, or says why it cannot, in its own words."""
    from bbtok.modeling.architectures import ARCHITECTURES

    try:
        values = files.read_json(os.path.join(directory, CONFIG_FILE))
    except (OSError, ValueError):
        return None, None
    if not isinstance(values, dict) or values.get("model_type") not in ARCHITECTURES:
        return None, None
    return str(values["model_type"]), values.get("architectures")
