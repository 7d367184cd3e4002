"""Where the commands find their tokenizer and model: a local directory or a hub model id, and
the sample checkpoint shipped in the package by default."""

from __future__ import annotations

import os
import sys
from typing import Any

from bbtok.data import SAMPLE_CHECKPOINT, TINY_BLENDERBOT
from bbtok.modeling.config import CONFIG_FILE, MODEL_FILES
from bbtok.storage import files, hub
from bbtok.tokenization.pretrained import PIPELINE_FILE
from bbtok.tokenizer_auto import TOKENIZER_FILES

# The suffix of the classes that generate: the encoder-decoder with its output layer.
CONDITIONAL_GENERATION = "ForConditionalGeneration"
CAUSAL_LM = "ForCausalLM"
RANDOM_WEIGHTS_NOTE = (
    "bbtok: note: this sample checkpoint shipped with bbtok has random weights, so its replies are "
    "nonsense; point --model at a real checkpoint for real ones (a hub model id such as "
    "facebook/blenderbot_small-90M or facebook/blenderbot-400M-distill, or a directory with "
    "config.json, the weights and the tokenizer files)"
)

# The checkpoints shipped in the package (the default --model and the byte-level sample), whose
# weights are random.
SHIPPED_SAMPLES = frozenset(os.path.abspath(path) for path in (SAMPLE_CHECKPOINT, TINY_BLENDERBOT))


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
        "with vocab.json and merges.txt or tokenizer.json, or a hub model id), or leave it out "
        "for the default",
    )


def model_directory(name: str, wanted: hub.FileSet = TOKENIZER_FILES | MODEL_FILES) -> str:
    """Where the checkpoint is (for a hub model id, with its tokenizer unless ``wanted`` says
    otherwise: both are then read from the same snapshot)."""
    return _resolve(
        name,
        wanted,
        f"bbtok: error: no model directory at {name!r}; pass --model DIR (a checkpoint directory "
        "with config.json and model.safetensors, or a hub model id), or leave it out for the "
        "sample checkpoint",
    )


def generating_checkpoint(model: str, tokenizer: str | None) -> tuple[str, str]:
    """The directories of --model, a checkpoint that generates replies (one that cannot is
    refused first: :func:`generating_model_class`), and of --tokenizer, the model's when not
    given."""
    if tokenizer is not None:
        directory = model_directory(model, MODEL_FILES)
        generating_model_class(directory)
        return directory, tokenizer_directory(tokenizer)
    directory = model_directory(model)
    generating_model_class(directory)
    if not _holds_a_tokenizer(directory):
        raise ValueError(
            f"{directory}: no tokenizer files beside the model ({TOKENIZER_FILES.holding}, or "
            "tokenizer.json); pass --tokenizer DIR or a hub model id"
        )
    return directory, directory


def _holds_a_tokenizer(directory: str) -> bool:
    names = (*TOKENIZER_FILES.required, PIPELINE_FILE)
    return any(os.path.lexists(os.path.join(directory, name)) for name in names)


def load_model(directory: str, dtype: str) -> Any:
    """The encoder-decoder with its output layer that the checkpoint's config.json names (see
    :func:`generating_model_class`), loaded."""
    model = generating_model_class(directory).from_pretrained(directory, dtype=dtype)
    if os.path.abspath(directory) in SHIPPED_SAMPLES:
        print(RANDOM_WEIGHTS_NOTE, file=sys.stderr)
    return model


def generating_model_class(directory: str) -> Any:
    """The runner of the checkpoint's config.json when it generates replies: a Blenderbot or a
    BlenderbotSmall encoder-decoder with its output layer (the runner's own messages for
    anything it cannot load). A bare model or a decoder alone (a causal LM) is refused, before
    anything else is read."""
    try:
        from bbtok.modeling.auto import model_class
        from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration
    except ImportError as error:
        raise SystemExit(
            f"bbtok: error: the model runner needs numpy ({error}); pip install 'bbtok[model]'"
        ) from None
    model_type, architectures = _named_architecture(directory)
    if model_type is None:
        return BlenderbotSmallForConditionalGeneration
    config_path = os.path.join(directory, CONFIG_FILE)
    runner = model_class(model_type, architectures, config_path)
    name = runner.__name__
    if name.endswith(CONDITIONAL_GENERATION):
        return runner
    if name.endswith(CAUSAL_LM):
        what = f"{name} is a decoder alone (a causal language model)"
    else:
        what = f"{name} has no output layer"
    raise ValueError(
        f"{config_path}: {what}; generate and chat reply with an encoder-decoder, a "
        f"...{CONDITIONAL_GENERATION} checkpoint"
    )


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
