"""What every model class shares: its architecture, its dtype, and ``from_pretrained``
(a checkpoint directory or hub model id: ``config.json`` and the weights)."""

from __future__ import annotations

import abc
import os
from typing import TYPE_CHECKING

import numpy as np

from bbtok.modeling.architectures import BLENDERBOT_SMALL, Architecture
from bbtok.modeling.config import MODEL_FILES, Seq2SeqConfig
from bbtok.modeling.loading import open_weights
from bbtok.modeling.weights import TensorSource
from bbtok.storage.hub import HubOptions, pretrained_directory

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

# The dtypes a model computes in.
DTYPES: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}


class PretrainedModel(abc.ABC):
    """A model of one architecture, loaded from a checkpoint; a subclass names its
    ``architecture`` and reads the tensors it needs in ``_load``."""

    architecture: Architecture = BLENDERBOT_SMALL

    def __init__(self, config: Seq2SeqConfig, weights: TensorSource, dtype: str) -> None:
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
    ) -> Self:
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
        config = cls.architecture.config_class.from_pretrained(directory)
        return cls(config, open_weights(directory, mmap), dtype)

    @abc.abstractmethod
    def _load(self, weights: TensorSource) -> None:
        """Read the tensors of the checkpoint this class needs."""
