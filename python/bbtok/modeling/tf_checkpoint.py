"""Reading ``tf_model.h5`` (transformers 4.x's TensorFlow checkpoints) with h5py and numpy,
without TensorFlow.

transformers 4.x saved a TF model with Keras' ``save_weights``: the file's ``layer_names``
attribute lists the model's top layers (``model``, ``final_logits_bias``), each a group whose
``weight_names`` attribute lists its variables by their full TensorFlow names
(``tf_blenderbot_small_for_conditional_generation/model/encoder/layers.0/fc1/kernel:0``), each
stored as a dataset at that path inside the group. A shard of a sharded checkpoint
(``tf_model-00001-of-00002.h5``, listed by ``tf_model.h5.index.json``) has the datasets at its
root instead, named as its ``layer_names`` lists them: the variable's name without its first
part, unless the name holds ``model.`` (the shared embeddings, made in the root scope
``model.shared``). Either way the PyTorch name is the variable's name without its first part
(the Keras model's own name), ``/`` read as ``.``, ``:0`` dropped and the last part renamed
(``bbtok.modeling.framework_weights``). Keras hands its lists of names to h5py as Python lists,
which h5py 3 stores as variable-length strings (h5py 2: fixed-length), and the pieces of a split
list as numpy arrays of fixed-length strings; an empty list becomes an empty float array.

h5py parses the file's structure (libhdf5, a C library: a crafted file can crash it, as it can
crash TensorFlow); the data is read by numpy from the byte range each dataset occupies, checked
against the file's size first. Only what Keras writes is read: contiguous, uncompressed float
datasets reached by hard links, and lists of names no larger than the file; a soft or external
link, a virtual, chunked, compressed or externally stored dataset, or another dtype is refused
with a ``ValueError`` naming the file and the tensor. libhdf5 reads a variable-length name into
as many bytes as the file declares for it (up to 4 GiB) before it finds the name shorter: a
``ValueError`` then, or when that allocation fails. With ``mmap=True`` each tensor is a view of
the memory-mapped file (see ``bbtok.modeling.weights`` on files rewritten in place).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from bbtok.modeling.framework_weights import RenamedTensors, optional_module, pytorch_name
from bbtok.modeling.weights import MAX_RANK, file_data
from bbtok.storage import files
from bbtok.storage.files import quoted

TF_WEIGHTS_FILE = "tf_model.h5"
# The float dtypes Keras stores weights in (its bfloat16 has no HDF5 type).
_FLOAT_SIZES = (2, 4, 8)
# A variable-length string in an HDF5 attribute: its length (4 bytes) and the global heap
# object holding it (an 8-byte address and a 4-byte index).
_VARIABLE_STRING_REFERENCE_SIZE = 16


def tf_pytorch_name(variable: str, has_model_name: bool = True) -> tuple[str, bool]:
    """The PyTorch name of TensorFlow variable ``variable`` and whether it is a kernel;
    ``has_model_name``: whether its first part is the Keras model's name (which goes).

    >>> tf_pytorch_name("tf_blenderbot_small_model/model/encoder/layers.0/fc1/kernel:0")
    ('model.encoder.layers.0.fc1.weight', True)
    >>> tf_pytorch_name("model.shared/model.shared/embeddings:0")
    ('model.shared.weight', False)
    >>> tf_pytorch_name("final_logits_bias:0")
    ('final_logits_bias', False)
    """
    parts = [part for part in variable.removesuffix(":0").split("/") if part]
    if not parts:
        raise ValueError(f"{quoted(variable)} is no variable name")
    # Quirk: checkpoints made before the shared embeddings' scope was doubled hold them as
    # model.shared/weight, whose first part is then the layer's, not the model's.
    keep_first = len(parts) == 2 and parts[0].endswith(".shared")
    if has_model_name and len(parts) > 1 and not keep_first:
        parts = parts[1:]
    return pytorch_name(parts)


def tf_shard_pytorch_name(stored: str) -> tuple[str, bool]:
    """The PyTorch name of a dataset at the root of a shard, named as transformers 4.x's
    sharded save names it: without the model's name, unless the name holds ``model.`` or has
    a single part."""
    return tf_pytorch_name(stored, has_model_name="model." in stored or "/" not in stored)


class TFCheckpoint(RenamedTensors):
    """The tensors of a ``tf_model.h5`` (or one of its shards) under transformers' PyTorch names.

    >>> weights = TFCheckpoint("path/to/tf_model.h5")  # doctest: +SKIP
    >>> weights.shape("model.encoder.layers.0.fc1.weight")  # doctest: +SKIP
    (32, 16)
    """

    def __init__(self, path: str | os.PathLike[str], mmap: bool = True) -> None:
        h5py = optional_module("h5py", "tf", "a TensorFlow checkpoint (.h5)")
        self.path = Path(path)
        self._tensors = {}
        with files.open_regular(self.path) as handle:
            self._size = os.fstat(handle.fileno()).st_size
            self._data = file_data(handle, self._size, mmap, self.path)
            try:
                h5 = h5py.File(handle, "r")
            except (OSError, ValueError) as error:
                raise ValueError(f"{self.path}: not an HDF5 file ({error})") from None
            with h5:
                try:
                    self._read(h5py, h5)
                except (OSError, KeyError, TypeError, RuntimeError) as error:
                    raise ValueError(f"{self.path}: unreadable HDF5 structure ({error})") from None

    def _read(self, h5py: Any, h5: Any) -> None:
        for layer in self._names(h5py, h5, "layer_names", "the file"):
            node = self._node(h5py, h5, layer, f"layer {quoted(layer)}")
            if isinstance(node, h5py.Dataset):  # a shard: the dataset is the variable
                name, kernel = tf_shard_pytorch_name(layer)
                self._add(name, self._array(h5py, node, layer), kernel, quoted(layer))
                continue
            for variable in self._names(h5py, node, "weight_names", f"layer {quoted(layer)}"):
                where = quoted(f"{layer}/{variable}")
                dataset = self._node(h5py, node, variable, f"variable {where}")
                if not isinstance(dataset, h5py.Dataset):
                    raise ValueError(f"{self.path}: variable {where} is not a dataset")
                name, kernel = tf_pytorch_name(variable)
                self._add(name, self._array(h5py, dataset, where), kernel, f"variable {where}")

    def _names(self, h5py: Any, node: Any, attribute: str, owner: str) -> list[str]:
        """The strings of attribute ``attribute`` of ``node``, or of its pieces ``attribute0``,
        ``attribute1``... (Keras splits one that outgrows an object header); each checked to
        be a list of strings no larger than the file before it is read."""
        if attribute in node.attrs:
            keys = [attribute]
        else:
            keys = []
            while f"{attribute}{len(keys)}" in node.attrs:
                keys.append(f"{attribute}{len(keys)}")
        if not keys:
            raise ValueError(
                f"{self.path}: {owner} has no {attribute!r} attribute (not a Keras weights file "
                "as transformers 4.x saves tf_model.h5)"
            )
        names: list[str] = []
        for key in keys:
            attribute_id = node.attrs.get_id(key)
            shape, dtype = attribute_id.shape, attribute_id.dtype
            count = math.prod(shape) if shape is not None and len(shape) <= 1 else -1
            if count == 0:  # Keras writes an empty list of names as an empty float array
                continue
            stored_size = self._stored_string_size(h5py, dtype)
            if count < 0 or stored_size is None:
                raise ValueError(
                    f"{self.path}: {owner}'s attribute {key!r} is not a list of strings "
                    f"(dtype {dtype}, shape {shape})"
                )
            if count * stored_size > self._size:
                raise ValueError(
                    f"{self.path}: {owner}'s attribute {key!r} declares {count} strings of "
                    f"{stored_size} bytes, more than the file holds"
                )
            for raw in np.atleast_1d(node.attrs[key]):
                names.append(self._name(raw, f"{owner}'s attribute {key!r}"))
        return names

    @staticmethod
    def _stored_string_size(h5py: Any, dtype: np.dtype[Any]) -> int | None:
        """The bytes one string of ``dtype`` takes in an attribute at least, or ``None`` if
        ``dtype`` is no string type. h5py reads variable-length strings as an object array; the
        file holds each as a reference into its global heap."""
        if dtype.kind == "S":
            return max(dtype.itemsize, 1)
        string_info = h5py.check_string_dtype(dtype)
        if string_info is not None and string_info.length is None:
            return _VARIABLE_STRING_REFERENCE_SIZE
        return None

    def _name(self, raw: object, where: str) -> str:
        """One name of a ``layer_names`` or ``weight_names`` attribute, as text."""
        if not isinstance(raw, (bytes, str)):
            raise ValueError(f"{self.path}: {where} holds {quoted(raw)}, which is no string")
        if len(raw) > self._size:
            raise ValueError(
                f"{self.path}: {where} holds a name of {len(raw)} characters, more than the "
                f"file holds ({self._size} bytes)"
            )
        if isinstance(raw, str):
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{self.path}: {where} holds a name that is not UTF-8: {quoted(raw)}"
            ) from None

    def _node(self, h5py: Any, group: Any, path: str, what: str) -> Any:
        """The object at ``path`` under ``group``, reached through hard links only."""
        node = group
        for part in (part for part in path.split("/") if part):
            if not isinstance(node, h5py.Group):
                raise ValueError(f"{self.path}: {what}: {quoted(part)} is under a dataset")
            link = node.get(part, getlink=True)
            if link is None:
                raise ValueError(f"{self.path}: {what} is missing from the file")
            if not isinstance(link, h5py.HardLink):
                raise ValueError(
                    f"{self.path}: {what} is reached through a {type(link).__name__}, which is "
                    "not followed (only what the file itself holds is read)"
                )
            node = node[part]
        return node

    def _array(self, h5py: Any, dataset: Any, where: str) -> np.ndarray:
        """The dataset's values: a view of the file's bytes, checked before any is read."""
        what = f"{self.path}: tensor {where}"
        if dataset.is_virtual or dataset.external:
            raise ValueError(f"{what} is stored outside the file (a virtual or external dataset)")
        layout = dataset.id.get_create_plist().get_layout()
        if layout != h5py.h5d.CONTIGUOUS or dataset.compression is not None:
            raise ValueError(
                f"{what} is stored in chunks or compressed; only contiguous datasets, as Keras "
                "writes them, are read"
            )
        dtype, shape = dataset.dtype, dataset.shape
        if dtype.kind != "f" or dtype.itemsize not in _FLOAT_SIZES:
            raise ValueError(f"{what} has dtype {dtype}; weights are float16, float32 or float64")
        if shape is None or len(shape) > MAX_RANK:
            raise ValueError(f"{what} has no shape numpy can hold ({shape})")
        size = math.prod(shape) * dtype.itemsize
        offset = dataset.id.get_offset()
        if offset is None:
            if size:
                raise ValueError(f"{what}: its data was never written")
            return np.zeros(shape, dtype=dtype)
        if offset + size > self._size:
            raise ValueError(
                f"{what}: its {size} bytes of data at byte {offset} run past the end of the "
                f"file ({self._size} bytes: it is truncated)"
            )
        raw = self._data[offset : offset + size]
        if offset % dtype.itemsize:  # unaligned: numpy needs an aligned copy
            raw = np.frombuffer(raw.tobytes(), dtype=np.uint8)
        return raw.view(dtype).reshape(shape)
