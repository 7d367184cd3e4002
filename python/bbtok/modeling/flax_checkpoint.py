"""Reading ``flax_model.msgpack`` (transformers 4.x's Flax checkpoints) with msgpack and numpy,
without JAX or Flax.

transformers 4.x saved a Flax model's parameters with ``flax.serialization.to_bytes``: one
msgpack map nesting maps by module (``{"model": {"encoder": {"layers": {"0": {"fc1":
{"kernel": ..., "bias": ...}}}}}}``), each array an extension object of type 1 whose payload is
itself msgpack: the shape, the dtype's name (``float32``, ``bfloat16``...) and the C-order bytes.
An array larger than 1 GiB is split into a map ``{"__msgpack_chunked_array__": true, "shape":
{"0": ...}, "chunks": {"0": ..., "1": ...}}`` of one-dimensional pieces. A sharded checkpoint
(``flax_model.msgpack.index.json``) names each parameter by its path joined with ``/``. The
PyTorch name is the path joined with ``.``, its last part renamed
(``bbtok.modeling.framework_weights``).

The file is read into memory (its size in RAM while it is parsed, then the weights' size) and
parsed by msgpack with every length bounded: keys of at most :data:`MAX_KEY_BYTES` bytes, maps of
at most :data:`MAX_ENTRIES` entries, shapes of at most 64 dimensions, and nothing longer than the
file; msgpack refuses nesting deeper than its stack. An array's shape and dtype are checked
against its bytes before it becomes an array. Anything but nested maps of float arrays (a
number, a list, another extension type) is refused with a ``ValueError`` naming the file and the
parameter's path.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from bbtok.modeling.framework_weights import RenamedTensors, optional_module, pytorch_name
from bbtok.modeling.weights import MAX_RANK, _is_size
from bbtok.storage import files
from bbtok.storage.files import quoted

FLAX_WEIGHTS_FILE = "flax_model.msgpack"
MAX_KEY_BYTES = 1024
MAX_ENTRIES = 1 << 20
# A parameter's path is a few module names deep; a deeper map is no checkpoint of these models.
MAX_PATH_PARTS = 32
# flax.serialization's extension type of an array, and the dtype names it writes.
_NDARRAY_EXT = 1
_DTYPES: dict[bytes, np.dtype[Any]] = {
    b"float16": np.dtype("<f2"),
    b"float32": np.dtype("<f4"),
    b"float64": np.dtype("<f8"),
    b"bfloat16": np.dtype("<u2"),  # kept as bit patterns, widened to float32 on reading
}
_CHUNKED = "__msgpack_chunked_array__"


def flax_pytorch_name(path: str) -> str:
    """The PyTorch name of the Flax parameter at ``path`` (its keys joined by ``/``, as a sharded
    checkpoint's index names it).

    >>> flax_pytorch_name("model/encoder/layers/0/self_attn_layer_norm/scale")
    'model.encoder.layers.0.self_attn_layer_norm.weight'
    """
    return pytorch_name(path.split("/"))[0]


class FlaxCheckpoint(RenamedTensors):
    """The parameters of a ``flax_model.msgpack`` (or one of its shards) under transformers'
    PyTorch names. ``mmap`` is accepted for the loader's sake; the file is always read.

    >>> weights = FlaxCheckpoint("path/to/flax_model.msgpack")  # doctest: +SKIP
    >>> weights.shape("model.shared.weight")  # doctest: +SKIP
    (16388, 16)
    """

    def __init__(self, path: str | os.PathLike[str], mmap: bool = True) -> None:
        self._msgpack = optional_module("msgpack", "flax", "a Flax checkpoint (.msgpack)")
        self.path = Path(path)
        self._tensors = {}
        raw = files.read_bytes(self.path)
        tree = self._unpacked(
            raw,
            "the file",
            raw=False,
            max_str_len=MAX_KEY_BYTES,
            max_bin_len=0,
            max_array_len=MAX_RANK,  # no list is a parameter, but one is named as such
            max_map_len=MAX_ENTRIES,
            max_ext_len=len(raw),
        )
        del raw
        if not isinstance(tree, dict):
            raise ValueError(f"{self.path}: not a Flax checkpoint (no map of parameters)")
        if list(tree) == ["params"]:  # variables saved whole: the parameters are one collection
            tree = tree["params"]
        self._walk(tree, [])

    def _unpacked(self, data: bytes, what: str, **limits: Any) -> Any:
        try:
            return self._msgpack.unpackb(data, strict_map_key=True, **limits)
        except (ValueError, TypeError, self._msgpack.exceptions.UnpackException) as error:
            raise ValueError(f"{self.path}: {what} is not valid msgpack ({error})") from None

    def _walk(self, tree: dict[Any, Any], parts: list[str]) -> None:
        if len(parts) >= MAX_PATH_PARTS:
            raise ValueError(
                f"{self.path}: parameters nested deeper than {MAX_PATH_PARTS} levels at "
                f"{quoted('/'.join(parts))}"
            )
        for key, value in tree.items():
            if not isinstance(key, str) or not key or "/" in key:
                raise ValueError(
                    f"{self.path}: key {quoted(key)} under {quoted('/'.join(parts))} is no "
                    "module or parameter name"
                )
            path = [*parts, key]
            where = "/".join(path)
            if isinstance(value, dict) and _CHUNKED not in value:
                self._walk(value, path)
                continue
            if isinstance(value, dict):
                array = self._chunked(value, where)
            else:
                array = self._array(value, where)
            name, kernel = pytorch_name(path)
            self._add(name, array, kernel, f"parameter {quoted(where)}")

    def _array(self, value: object, where: str) -> np.ndarray:
        """An array from flax.serialization's extension object, checked before it is made."""
        what = f"{self.path}: parameter {quoted(where)}"
        ext_type = self._msgpack.ExtType
        if not (isinstance(value, ext_type) and value.code == _NDARRAY_EXT):
            kind = f"extension type {value.code}" if isinstance(value, ext_type) else None
            raise ValueError(f"{what} is {kind or type(value).__name__}, not an array")
        fields = self._unpacked(
            value.data,
            f"parameter {quoted(where)}",
            raw=True,
            max_str_len=64,
            max_bin_len=len(value.data),
            max_array_len=MAX_RANK,
            max_map_len=0,
            max_ext_len=0,
        )
        if not (isinstance(fields, list) and len(fields) == 3):
            raise ValueError(f"{what} is not (shape, dtype, bytes)")
        shape, dtype_name, data = fields
        if not (isinstance(shape, list) and all(_is_size(n) for n in shape)):
            raise ValueError(f"{what} has no shape: {quoted(shape)}")
        dtype = _DTYPES.get(dtype_name) if isinstance(dtype_name, bytes) else None
        if dtype is None:
            raise ValueError(
                f"{what} has dtype {quoted(dtype_name)}; weights are float16, bfloat16, "
                "float32 or float64"
            )
        if not isinstance(data, bytes) or len(data) != math.prod(shape) * dtype.itemsize:
            size = len(data) if isinstance(data, bytes) else quoted(data)
            raise ValueError(
                f"{what}: {size} bytes of data for shape {tuple(shape)} in "
                f"{dtype_name.decode()} (which needs {math.prod(shape) * dtype.itemsize})"
            )
        return np.frombuffer(data, dtype=dtype).reshape(shape)

    def _chunked(self, value: dict[Any, Any], where: str) -> np.ndarray:
        """An array split into one-dimensional chunks (flax.serialization does so above 1 GiB)."""
        what = f"{self.path}: parameter {quoted(where)}"
        shape_map, chunk_map = value.get("shape"), value.get("chunks")
        if not (isinstance(shape_map, dict) and isinstance(chunk_map, dict)):
            raise ValueError(f"{what} is a chunked array without its shape and chunks")
        listed = [shape_map.get(str(i)) for i in range(len(shape_map))]
        if len(listed) > MAX_RANK or not all(_is_size(n) for n in listed):
            raise ValueError(f"{what} has no shape: {quoted(shape_map)}")
        shape = [int(n) for n in listed if isinstance(n, int)]
        chunks = [self._array(chunk_map.get(str(i)), f"{where}/{i}") for i in range(len(chunk_map))]
        if not chunks or any(chunk.ndim != 1 or chunk.dtype != chunks[0].dtype for chunk in chunks):
            raise ValueError(f"{what}: its chunks are not pieces of one flat array")
        count = sum(chunk.size for chunk in chunks)
        if count != math.prod(shape):
            raise ValueError(f"{what}: {count} values in its chunks for shape {tuple(shape)}")
        return np.concatenate(chunks).reshape(shape)
