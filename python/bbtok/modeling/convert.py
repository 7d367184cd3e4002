"""``bbtok convert``: any checkpoint the model loads, rewritten as transformers saves one.

The source is a hub model id or a directory with ``model.safetensors``, sharded safetensors,
``pytorch_model.bin`` or sharded ``.bin`` files, or the TensorFlow (``tf_model.h5``) or Flax
(``flax_model.msgpack``) files transformers 4.x saved, sharded or not (their kernels transposed
back to PyTorch's layout); the result is one directory holding a single
``model.safetensors`` (named as transformers 5 saves the ``...ForConditionalGeneration`` class of
the architecture ``config.json`` names, Blenderbot or BlenderbotSmall: ``model.`` in front of the
base model's tensors, the tied embeddings once, as ``model.shared.weight``, and no
``lm_head.weight`` when it is tied), ``config.json``, ``generation_config.json`` when the source
has one, and the tokenizer's files, copied byte for byte (its vocabulary, transformers' files
beside it, its chat templates: :func:`bbtok.tokenizer_auto.tokenizer_files_held`).

Each tensor keeps its stored dtype unless one is asked for: float16 and float32 values are read
as float32 and bfloat16 ones widened to float32, all exactly, so narrowing them back gives the
same bits. float32 becomes float16 with numpy's rounding (to nearest, ties to even) and bfloat16
with round-to-nearest-even on its bit pattern. float64 tensors (which ``--dtype`` does not
offer) stay float64; asked for bfloat16, they are rounded to float32 first.

A new output is built in a temporary directory beside it and renamed into place only when every
file is written and fsynced: a failure or an interruption leaves no output and no temporary. An
existing one (``overwrite``) gets the new files only once all are written, and keeps every file
that is not part of a checkpoint (:func:`bbtok.storage.files.write_directory`).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bbtok.modeling.architectures import Architecture
from bbtok.modeling.auto import MODEL_CLASSES, model_class
from bbtok.modeling.config import CONFIG_FILE, GENERATION_CONFIG_FILE, MODEL_FILES
from bbtok.modeling.loading import open_weights
from bbtok.modeling.seq2seq import Seq2SeqBase
from bbtok.modeling.weights import (
    STORED_DTYPES,
    WEIGHTS_FILE,
    NamedTensors,
    TensorSource,
    write_safetensors,
)
from bbtok.storage import files, hub
from bbtok.tokenizer_auto import TOKENIZER_FILES, is_tokenizer_file, tokenizer_files_held

if TYPE_CHECKING:
    from typing_extensions import Unpack

# --dtype's names and the safetensors dtypes they are stored as.
TARGET_DTYPES = {"float16": "F16", "bfloat16": "BF16", "float32": "F32"}
_DTYPE_NAMES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
# The stored dtypes a reader hands out unconverted (bfloat16 it widens to float32).
_AS_STORED: dict[str, type[np.floating]] = {"F16": np.float16, "F32": np.float32, "F64": np.float64}
_BFLOAT16_SLICE = 1 << 20  # elements rounded at a time


class _ShapesOnly(NamedTensors):
    """A TensorSource's names and shapes, with every tensor a zero-sized broadcast of 0: the
    model's loader checks them (names, shapes, tensors with no place) without reading or
    converting any weight."""

    _tensors: TensorSource

    def __init__(self, source: TensorSource) -> None:
        self._tensors = source
        self.path = source.path

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensors.shape(name)

    def stored_dtype(self, name: str) -> str:
        return self._tensors.stored_dtype(name)

    def get(self, name: str, dtype: type[np.floating]) -> np.ndarray:
        return np.broadcast_to(np.zeros((), dtype=dtype), self._tensors.shape(name))


def to_bfloat16(values: np.ndarray) -> np.ndarray:
    """float32 values as bfloat16 bit patterns (uint16), rounded to nearest, ties to even; a NaN
    stays a (quiet) NaN, with its sign, instead of rounding into infinity."""
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    result = np.empty(flat.shape, dtype=np.uint16)
    # In slices: the rounding takes a few uint32 temporaries, which for a whole embedding
    # matrix would be several times its size.
    for start in range(0, flat.size, _BFLOAT16_SLICE):
        part = flat[start : start + _BFLOAT16_SLICE]
        bits = part.view(np.uint32)
        # Adding 0x7FFF, plus 1 when the kept half is odd, carries into the kept half exactly
        # when the dropped half is above one half, or equal to it with an odd kept half.
        rounded = (bits + (0x7FFF + ((bits >> 16) & 1))) >> 16
        quiet_nan = (bits >> 16) | 0x0040
        result[start : start + _BFLOAT16_SLICE] = np.where(np.isnan(part), quiet_nan, rounded)
    return result.reshape(np.shape(values))


def encoded(values: np.ndarray, stored: str) -> np.ndarray:
    """Float values as a safetensors dtype stores them (bfloat16 as its bit patterns)."""
    if stored == "BF16":
        return to_bfloat16(values.astype(np.float32, copy=False))
    return values.astype(STORED_DTYPES[stored], copy=False)


def output_names(
    source: TensorSource, architecture: Architecture, tie_word_embeddings: bool
) -> dict[str, str]:
    """Output tensor name -> source tensor name, as transformers 5 saves ``architecture``'s
    encoder-decoder with its output layer: the base model under its prefix (``model.``), the
    shared embeddings once, tied copies left out."""
    base_prefix = architecture.base_prefix
    shared = base_prefix + architecture.shared_embeddings[0]
    prefix = base_prefix if any(name.startswith(base_prefix) for name in source) else ""
    names: dict[str, str] = {}
    for name in source:
        if name in architecture.unprefixed:
            if name == architecture.lm_head and tie_word_embeddings:
                continue
            names[name] = name
            continue
        base = name.removeprefix(prefix)
        if base in architecture.tied_embeddings:
            continue
        names[base_prefix + base] = name
    if shared not in names:
        # Quirk: a checkpoint may hold the embeddings only as encoder.embed_tokens (the loader
        # reads them from there too); transformers stores them as the shared ones.
        embeddings = prefix + architecture.tied_embeddings[0]
        if embeddings not in source:
            raise ValueError(f"{source.path}: the checkpoint has no shared embeddings")
        names[shared] = embeddings
    return names


def generating_class(directory: Path) -> type[Seq2SeqBase[Any]]:
    """The ``...ForConditionalGeneration`` class of the architecture ``config.json`` names: the
    layout written. A decoder-only checkpoint (``...ForCausalLM``) is a ``ValueError``."""
    source = str(directory / CONFIG_FILE)
    values = files.read_json(directory / CONFIG_FILE)
    if not isinstance(values, dict):
        raise ValueError(f"{source}: expected a JSON object, got {type(values).__name__}")
    named = model_class(values.get("model_type"), values.get("architectures"), source)
    if not issubclass(named, Seq2SeqBase):
        raise ValueError(
            f"{source}: {named.__name__} is a decoder alone; convert writes encoder-decoder "
            "checkpoints"
        )
    generating = MODEL_CLASSES[f"{named.architecture.class_prefix}ForConditionalGeneration"]
    assert issubclass(generating, Seq2SeqBase)
    return generating


# The files a checkpoint set consists of: what --overwrite replaces in the output, and removes
# when the new set lacks them (old shards and their index would make a loader pick them).
_CHECKPOINT_FILE_PATTERNS = (
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    WEIGHTS_FILE,
    "model-*-of-*.safetensors",
    "*.index.json",
    "pytorch_model*.bin",
    "tf_model*.h5",
    "flax_model*.msgpack",
)


def is_checkpoint_file(name: str) -> bool:
    """Whether a file named ``name`` belongs to a checkpoint set (configuration, weights,
    shards, indexes, tokenizer files).

    >>> is_checkpoint_file("model-00001-of-00002.safetensors"), is_checkpoint_file("notes.txt")
    (True, False)
    """
    return is_tokenizer_file(name) or any(
        fnmatch.fnmatchcase(name, pattern) for pattern in _CHECKPOINT_FILE_PATTERNS
    )


def _check_apart(source: str | os.PathLike[str], directory: Path, output: Path) -> None:
    """Refuse an output that is the source directory, holds it or lies inside it (after
    symlinks): writing it would replace or mix with the files being read."""
    source_path, output_path = os.path.realpath(directory), os.path.realpath(output)
    common = os.path.commonpath([source_path, output_path])
    if common == source_path == output_path:
        relation = "is"
    elif common == output_path:
        relation = "contains"
    elif common == source_path:
        relation = "lies inside"
    else:
        return
    shown = os.fspath(source)
    if os.path.abspath(shown) != source_path:  # a hub model id, or a path through a symlink
        shown = f"{shown} ({source_path})"
    raise ValueError(
        f"the output {os.fspath(output)} {relation} the source checkpoint {shown}: "
        "write to a directory apart from it"
    )


def convert(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    dtype: str | None = None,
    overwrite: bool = False,
    **hub_options: Unpack[hub.HubOptions],
) -> Path:
    """Write checkpoint ``source`` (a directory or a hub model id) into directory ``output``
    as one ``model.safetensors`` with its configuration and tokenizer; ``dtype`` (``float16``,
    ``bfloat16``, ``float32``) converts the weights, None keeps each tensor's stored dtype.
    An output that is the source, holds it or lies inside it is refused (``ValueError``); so is
    an existing non-empty ``output`` unless ``overwrite``. With it, only the checkpoint's files
    there (:func:`is_checkpoint_file`) are replaced, once the new set is complete; files of
    the old set the new one lacks (old shards, an index) are removed after, and other files
    are kept. Returns the output directory.

    >>> convert("path/to/pytorch_checkpoint", "converted", dtype="float16")  # doctest: +SKIP
    PosixPath('converted')
    """
    if dtype is not None and dtype not in TARGET_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(TARGET_DTYPES)}, got {dtype!r}")
    output = Path(output)
    # Checked before the source is looked for (a hub model id may be downloaded), and again
    # once its files are known.
    files.check_output_directory(output, overwrite, is_checkpoint_file)
    directory = Path(hub.pretrained_directory(source, TOKENIZER_FILES | MODEL_FILES, **hub_options))
    _check_apart(source, directory, output)
    source_files = [entry.path for entry in os.scandir(directory) if entry.is_file()]
    files.check_output_directory(output, overwrite, is_checkpoint_file, source_files)
    model = generating_class(directory)
    config = model.architecture.config_class.from_pretrained(directory)
    tokenizer_files = tokenizer_files_held(directory)
    weights = open_weights(directory)
    # Only what the model loads is converted: its loader's errors, before anything is written.
    model(config, _ShapesOnly(weights), "float32")
    names = output_names(weights, model.architecture, config.tie_word_embeddings)
    stored = {name: weights.stored_dtype(source_name) for name, source_name in names.items()}
    target = {
        name: TARGET_DTYPES[dtype] if dtype is not None else kind for name, kind in stored.items()
    }
    layout = {name: (target[name], weights.shape(names[name])) for name in names}

    def read(name: str) -> np.ndarray:
        if target[name] == stored[name] in _AS_STORED:  # a view of the source, no copy
            return weights.get(names[name], _AS_STORED[stored[name]])
        wide = np.float64 if stored[name] == "F64" else np.float32
        return encoded(weights.get(names[name], wide), target[name])

    config_values = files.read_json(directory / CONFIG_FILE)
    kinds = set(target.values())
    if len(kinds) == 1:  # what transformers loads the weights as by default
        config_values.pop("torch_dtype", None)
        config_values["dtype"] = _DTYPE_NAMES[kinds.pop()]

    def write(building: str) -> list[str]:
        write_safetensors(os.path.join(building, WEIGHTS_FILE), layout, read)
        contents = [
            (name, files.read_bytes(directory / name, files.MAX_VOCAB_BYTES))
            for name in tokenizer_files
        ]
        if config.generation_config is not None:
            contents.append(
                (
                    GENERATION_CONFIG_FILE,
                    files.json_bytes(config.generation_config, GENERATION_CONFIG_FILE),
                )
            )
        contents.append((CONFIG_FILE, files.json_bytes(config_values, CONFIG_FILE)))
        for name, _ in contents:
            os.makedirs(os.path.join(building, os.path.dirname(name)), exist_ok=True)
        files.write_file_set([(os.path.join(building, name), data) for name, data in contents])
        # The weights first (a loader takes model.safetensors before any old index or .bin),
        # the configuration last.
        return [WEIGHTS_FILE, *(name for name, _ in contents)]

    files.write_directory(output, overwrite, is_checkpoint_file, write)
    return output
