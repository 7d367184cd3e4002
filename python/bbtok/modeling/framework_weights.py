"""What the TensorFlow (``tf_model.h5``) and Flax (``flax_model.msgpack``) readers share: the
renaming of their tensors into transformers' PyTorch names, which the architectures
(``bbtok.modeling.architectures``) are written in, and the table the renamed tensors live in.

transformers 4.x converted between the frameworks by name (``modeling_tf_pytorch_utils``,
``modeling_flax_pytorch_utils``): the path of a weight in the other framework, its parts joined
by ``.``, is the PyTorch name once its last part is renamed (``kernel``, ``embeddings``,
``embedding``, ``gamma``, ``scale`` -> ``weight``; ``beta`` -> ``bias``). A dense layer's
``kernel`` is [inputs, outputs], the transpose of PyTorch's ``Linear.weight``: it is handed out
transposed and copied into row-major order, so a checkpoint of either framework reads as
transformers' PyTorch one, shapes and memory layout included. The layout matters to the results:
BLAS picks its kernel by the operands' layout, and two kernels may sum in different orders, so a
transposed view could give logits a few float32 ulps away from the same weights read from
safetensors (seen with OpenBLAS on AMD EPYC).

Both readers need a package of their own, imported when such a file is first read:
``h5py`` (``pip install 'bbtok[tf]'``) and ``msgpack`` (``pip install 'bbtok[flax]'``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import numpy as np

from bbtok.modeling.weights import NamedTensors, widen_bfloat16
from bbtok.storage.files import quoted

# Last parts of a weight's path in TensorFlow or Flax, and PyTorch's names for them.
_LAST_PART_NAMES = {
    "kernel": "weight",
    "embeddings": "weight",
    "embedding": "weight",
    "gamma": "weight",
    "scale": "weight",
    "beta": "bias",
}
# The stored dtypes read, under the names TensorSource.stored_dtype gives them; bfloat16 (which
# Flax stores) is kept as its uint16 bit patterns and widened on reading.
STORED_KINDS = {
    np.dtype("<f2"): "F16",
    np.dtype("<f4"): "F32",
    np.dtype("<f8"): "F64",
    np.dtype("<u2"): "BF16",
}


def optional_module(name: str, extra: str, what: str) -> ModuleType:
    """Import ``name``, a package only some checkpoints need: ``ImportError`` saying which
    extra of bbtok installs it when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(
            f"reading {what} needs the {name} package ({error}); pip install 'bbtok[{extra}]'"
        ) from None


def pytorch_name(parts: list[str]) -> tuple[str, bool]:
    """transformers' PyTorch name of a weight at path ``parts`` in TensorFlow or Flax, and
    whether it is a kernel (stored transposed when it is a matrix).

    >>> pytorch_name(["model", "encoder", "layers.0", "fc1", "kernel"])
    ('model.encoder.layers.0.fc1.weight', True)
    >>> pytorch_name(["model", "shared", "embedding"])
    ('model.shared.weight', False)
    """
    last = parts[-1]
    return ".".join([*parts[:-1], _LAST_PART_NAMES.get(last, last)]), last == "kernel"


class StoredTensor(NamedTuple):
    """A tensor as the file stores it, and whether PyTorch's is its transpose."""

    array: np.ndarray
    transposed: bool


class RenamedTensors(NamedTensors):
    """Tensors under their PyTorch names (a ``TensorSource``): each a stored array, handed out
    transposed when it is a dense layer's kernel, in the dtype asked for."""

    path: Path
    _tensors: dict[str, StoredTensor]

    def _add(self, name: str, array: np.ndarray, transposed: bool, where: str) -> None:
        """Record ``array`` as tensor ``name``; ``where`` is the weight's path in the file."""
        if name in self._tensors:
            raise ValueError(f"{self.path}: {where} is tensor {quoted(name)}, which is there twice")
        if transposed and array.ndim != 2:
            transposed = False  # only a matrix is stored transposed
        self._tensors[name] = StoredTensor(array, transposed)

    def shape(self, name: str) -> tuple[int, ...]:
        array, transposed = self._tensors[name]
        return tuple(reversed(array.shape)) if transposed else tuple(array.shape)

    def stored_dtype(self, name: str) -> str:
        return STORED_KINDS[self._tensors[name].array.dtype.newbyteorder("<")]

    def get(self, name: str, dtype: type[np.floating]) -> np.ndarray:
        array, transposed = self._tensors[name]
        if self.stored_dtype(name) == "BF16":
            array = widen_bfloat16(array)
        if not transposed:
            return array if array.dtype == np.dtype(dtype) else array.astype(dtype)
        # One copy, into the dtype and the layout at once.
        kernel = np.ascontiguousarray(array.T, dtype=dtype)
        if kernel.dtype == array.dtype == self._tensors[name].array.dtype:
            # The copy replaces the stored array, which no one else holds: a model read from the
            # file keeps one copy of its kernels in memory, not two.
            self._tensors[name] = StoredTensor(kernel, transposed=False)
        return kernel
