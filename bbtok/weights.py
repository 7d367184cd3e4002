"""Reading ``model.safetensors`` into memory-mapped numpy arrays, with errors that name the tensor.

The safetensors format is an 8-byte little-endian header length, a JSON header (name -> dtype,
shape, byte range) and the data. The ``safetensors`` package's numpy loader copies every tensor
out of its memory map and keeps the map open while it does, so loading takes twice the weights'
size at its peak. Here each tensor is a view of one ``numpy.memmap`` of the file when it already
has the dtype asked for (no copy: the operating system pages the weights in and can drop them),
and a converted copy otherwise; the header is checked against the file first, so a truncated
or inconsistent file fails with the tensor's name instead of reading past the end.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

WEIGHTS_FILE = "model.safetensors"
# The largest header the safetensors package itself accepts.
MAX_HEADER_BYTES = 100_000_000
STORED_DTYPES: dict[str, np.dtype[np.generic]] = {
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "BF16": np.dtype("<u2"),  # bfloat16: the high half of a float32, widened on reading
}


class SafetensorsFile:
    """The tensors of one ``.safetensors`` file, read on demand as arrays of one dtype.

    >>> weights = SafetensorsFile("path/to/model.safetensors")  # doctest: +SKIP
    >>> weights.get("model.shared.weight", np.float32).shape  # doctest: +SKIP
    (16388, 16)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(2, "No such file", str(self.path))
        size = self.path.stat().st_size
        with open(self.path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise ValueError(f"{self.path}: not a safetensors file (only {size} bytes)")
            (header_bytes,) = struct.unpack("<Q", head)
            if header_bytes > min(MAX_HEADER_BYTES, size - 8):
                raise ValueError(
                    f"{self.path}: not a safetensors file (header of {header_bytes} bytes in a "
                    f"file of {size} bytes)"
                )
            raw = handle.read(header_bytes)
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{self.path}: the safetensors header is not JSON: {error}") from None
        if not isinstance(header, dict):
            raise ValueError(f"{self.path}: the safetensors header is not a JSON object")
        self.metadata: dict[str, str] = header.pop("__metadata__", None) or {}
        self._data_start = 8 + header_bytes
        self._data_bytes = size - self._data_start
        self._entries: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
        for name, entry in header.items():
            self._entries[name] = self._checked(name, entry)
        self._map: np.memmap | None = None

    def _checked(self, name: str, entry: object) -> tuple[str, tuple[int, ...], int, int]:
        where = f"{self.path}: tensor {name!r}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: header entry is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in STORED_DTYPES:
            raise ValueError(
                f"{where}: dtype {dtype!r} is not supported (supported: {', '.join(STORED_DTYPES)})"
            )
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise ValueError(f"{where}: bad shape {shape!r}")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(n, int) for n in offsets)
            and 0 <= offsets[0] <= offsets[1]
        ):
            raise ValueError(f"{where}: bad data_offsets {offsets!r}")
        begin, end = offsets
        expected = int(np.prod(shape, dtype=np.int64)) * STORED_DTYPES[dtype].itemsize
        if end - begin != expected:
            raise ValueError(
                f"{where}: {end - begin} bytes of data for shape {tuple(shape)} in {dtype} "
                f"(which needs {expected})"
            )
        if end > self._data_bytes:
            raise ValueError(
                f"{where}: its data ends at byte {end} of the data section, which has only "
                f"{self._data_bytes} bytes (the file is truncated)"
            )
        return dtype, tuple(shape), begin, end

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entries[name][1]

    def get(self, name: str, dtype: type[np.floating]) -> np.ndarray:
        """Tensor ``name`` as ``dtype``: a read-only view of the file when stored in that dtype,
        else a converted copy."""
        stored, shape, begin, end = self._entries[name]
        if self._map is None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        raw = self._map[self._data_start + begin : self._data_start + end]
        kind = STORED_DTYPES[stored]
        if (self._data_start + begin) % kind.itemsize == 0:
            array = raw.view(kind)
        else:  # unaligned in the file: numpy needs an aligned copy
            array = np.frombuffer(raw.tobytes(), dtype=kind)
        if stored == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        array = array.reshape(shape)
        if array.dtype != np.dtype(dtype):
            array = array.astype(dtype)
        return array
