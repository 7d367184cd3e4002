"""Reading ``model.safetensors`` into memory-mapped numpy arrays, with errors that name the tensor.

The safetensors format is an 8-byte little-endian header length, a JSON header (name -> dtype,
shape, byte range) and the data. The ``safetensors`` package's numpy loader copies every tensor
out of its memory map and keeps the map open while it does, so loading takes twice the weights'
size at its peak. Here each tensor is a view of one ``numpy.memmap`` of the file when it already
has the dtype asked for (no copy: the operating system pages the weights in and can drop them),
and a converted copy otherwise; the header is checked against the file first, so a truncated
or inconsistent file fails with the tensor's name instead of reading past the end.

A mapped file must not shrink while its tensors are in use: a file truncated or rewritten in
place after loading (not replaced by a rename, which keeps the old file alive) makes the next
read of a page past its new end a SIGBUS, which kills Python without an exception.
``mmap=False`` reads the file into memory instead (one copy, the tensors views of it), the way
``safetensors.numpy.load`` works: use it when the checkpoint may be rewritten while a process
uses it (a training job saving in place, a sync tool, a network file system).
"""

from __future__ import annotations

import errno
import json
import math
import os
import struct
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from bbtok.storage import files
from bbtok.storage.files import quoted
from bbtok.storage.shard_index import read_weight_map

WEIGHTS_FILE = "model.safetensors"
# The largest header the safetensors package itself accepts.
MAX_HEADER_BYTES = 100_000_000
# numpy's limits, which a shape must keep even when it has no elements: 64 dimensions, and the
# non-zero ones times the item size within intp.
MAX_RANK = 64
MAX_ARRAY_BYTES = 2**63 - 1
STORED_DTYPES: dict[str, np.dtype[np.generic]] = {
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "BF16": np.dtype("<u2"),  # bfloat16: the high half of a float32, widened on reading
}
# A tensor as the header gives it: stored dtype, shape, begin and end in the data section.
_Entry = tuple[str, tuple[int, ...], int, int]


def _is_size(value: object) -> bool:
    """A count or an offset: a non-negative integer, and not a bool (JSON's true is no number)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _json_int(text: str) -> int | float:
    # serde_json, which the safetensors package reads headers with, reads "-0" as a float, so
    # it is no size there; it is a float here too. int() refuses past 4300 digits (ValueError).
    return -0.0 if text == "-0" else int(text)


class TensorSource(Protocol):
    """What the model reads weights from: a safetensors file, a PyTorch checkpoint
    (:class:`~bbtok.modeling.torch_checkpoint.TorchCheckpoint`) or a sharded one
    (:class:`ShardedWeights`).
    """

    path: Path

    def __contains__(self, name: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def shape(self, name: str) -> tuple[int, ...]: ...
    def stored_dtype(self, name: str) -> str:
        """The safetensors name of the dtype ``name`` is stored in (``F16``, ``BF16``, ...):
        ``get`` hands bfloat16 out as float32, so it cannot tell."""
        ...

    def get(self, name: str, dtype: type[np.floating]) -> np.ndarray: ...


def widen_bfloat16(bits: np.ndarray) -> np.ndarray:
    """bfloat16 values, given as their uint16 bit patterns, as float32: bfloat16 is the high half
    of a float32, so the conversion is exact."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


class NamedTensors:
    """What every reader answers alike: ``in``, iteration and ``len`` over ``_tensors``, its
    table keyed by tensor name (what the table holds per name is the reader's own)."""

    _tensors: Collection[str]

    def __contains__(self, name: object) -> bool:
        return name in self._tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)


class SafetensorsFile(NamedTensors):
    """The tensors of one ``.safetensors`` file, read on demand as arrays of one dtype.

    >>> weights = SafetensorsFile("path/to/model.safetensors")  # doctest: +SKIP
    >>> weights.get("model.shared.weight", np.float32).shape  # doctest: +SKIP
    (16388, 16)
    """

    _tensors: dict[str, _Entry]

    def __init__(self, path: str | os.PathLike[str], mmap: bool = True) -> None:
        """``mmap=False`` reads the file into memory instead of mapping it (see the module
        docstring for when that is needed)."""
        self.path = Path(path)
        # The one place the file is opened: a FIFO or device is refused, and the data is taken
        # from this descriptor, so the file checked is the file read.
        with files.open_regular(self.path) as handle:
            size = os.fstat(handle.fileno()).st_size
            self._map: np.ndarray = file_data(handle, size, mmap, self.path)
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
        self._data_start = 8 + header_bytes
        self._data_bytes = size - self._data_start
        self.metadata, self._tensors = self._parsed_header(raw)

    def _parsed_header(self, raw: bytes) -> tuple[dict[str, str], dict[str, _Entry]]:
        """The header's metadata and tensors, held to the safetensors package's rules; anything
        else is a ValueError naming the file (and the tensor, when there is one)."""
        header = files.parse_json(
            raw,
            str(self.path),
            parse_int=_json_int,
            parse_constant=files.refuse_json_constant,
            context="the safetensors header is not JSON",
        )
        if not isinstance(header, dict):
            raise ValueError(f"{self.path}: the safetensors header is not a JSON object")
        metadata = header.pop("__metadata__", None)
        if metadata is None:
            metadata = {}
        if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
            raise ValueError(
                f"{self.path}: __metadata__ must map names to strings, got {quoted(metadata)}"
            )
        entries = {name: self._checked(name, entry) for name, entry in header.items()}
        self._check_layout(entries)
        return metadata, entries

    def _checked(self, name: str, entry: object) -> _Entry:
        where = f"{self.path}: tensor {quoted(name)}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: header entry is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not (isinstance(dtype, str) and dtype in STORED_DTYPES):
            raise ValueError(
                f"{where}: dtype {quoted(dtype)} is not supported (supported: "
                f"{', '.join(STORED_DTYPES)})"
            )
        if not (isinstance(shape, list) and all(_is_size(n) for n in shape)):
            raise ValueError(f"{where}: bad shape {quoted(shape)} (not a list of sizes)")
        if len(shape) > MAX_RANK:
            raise ValueError(
                f"{where}: shape has {len(shape)} dimensions; numpy arrays have at most {MAX_RANK}"
            )
        itemsize = STORED_DTYPES[dtype].itemsize
        # Python's integers, so that no product wraps around as an int64 one does ([2**32,
        # 2**32] made 0 elements); numpy leaves zero dimensions out of its own bound.
        if math.prod(n for n in shape if n) * itemsize > MAX_ARRAY_BYTES:
            raise ValueError(
                f"{where}: shape {quoted(shape)} in {dtype} is larger than a numpy array can be"
            )
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(_is_size(n) for n in offsets)
            and offsets[0] <= offsets[1]
        ):
            raise ValueError(
                f"{where}: bad data_offsets {quoted(offsets)} (not [begin, end] with begin <= end)"
            )
        begin, end = offsets
        expected = math.prod(shape) * itemsize
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

    def _check_layout(self, entries: dict[str, _Entry]) -> None:
        """The tensors' bytes must tile the data section, as the safetensors package requires:
        in the order of their offsets each starts where the one before ends, the first at 0,
        the last at the end of the file. No two tensors then share a byte (a tensor of no bytes
        aside), and no bytes hide between or after them."""
        covered, before = 0, ""
        for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
            where = f"{self.path}: tensor {quoted(name)}"
            if begin < covered:
                raise ValueError(
                    f"{where}: its data (bytes {begin} to {end} of the data section) overlaps "
                    f"tensor {quoted(before)}'s, which ends at byte {covered}"
                )
            if begin > covered:
                raise ValueError(
                    f"{where}: its data starts at byte {begin} of the data section, leaving bytes "
                    f"{covered} to {begin} to no tensor"
                )
            covered, before = end, name
        if covered != self._data_bytes:
            raise ValueError(
                f"{self.path}: {self._data_bytes - covered} bytes after the last tensor's data "
                "(a safetensors file ends where its last tensor does)"
            )

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensors[name][1]

    def stored_dtype(self, name: str) -> str:
        return self._tensors[name][0]

    def get(self, name: str, dtype: type[np.floating]) -> np.ndarray:
        """Tensor ``name`` as ``dtype``: a read-only view of the file (or, with ``mmap=False``,
        of its copy in memory) when stored in that dtype, else a converted copy."""
        stored, shape, begin, end = self._tensors[name]
        raw = self._map[self._data_start + begin : self._data_start + end]
        kind = STORED_DTYPES[stored]
        if (self._data_start + begin) % kind.itemsize == 0:
            array = raw.view(kind)
        else:  # unaligned in the file: numpy needs an aligned copy
            array = np.frombuffer(raw.tobytes(), dtype=kind)
        if stored == "BF16":
            array = widen_bfloat16(array)
        array = array.reshape(shape)
        if array.dtype != np.dtype(dtype):
            array = array.astype(dtype)
        return array


def file_data(handle: BinaryIO, size: int, mmap: bool, path: Path) -> np.ndarray:
    """The ``size`` bytes of an open file, mapped or read into memory; read-only either way,
    and the file position left at the start."""
    if size == 0:
        data = np.zeros(0, dtype=np.uint8)  # numpy cannot map an empty file
    elif mmap:
        data = np.memmap(handle, dtype=np.uint8, mode="r", shape=(size,))
    else:
        data = np.fromfile(handle, dtype=np.uint8, count=size)
        if data.size != size:
            raise ValueError(f"{path}: the file shrank while it was being read")
    handle.seek(0)
    data.flags.writeable = False
    return data


class ShardedWeights(NamedTensors):
    """The tensors of a sharded checkpoint, found through its index file; each shard is opened
    by ``open_shard`` (a :class:`SafetensorsFile` or a PyTorch checkpoint reader).

    >>> index = "path/to/model.safetensors.index.json"
    >>> ShardedWeights(index, SafetensorsFile).shape("model.shared.weight")  # doctest: +SKIP
    (16388, 16)
    """

    # Each tensor's name and the shard that holds it.
    _tensors: dict[str, TensorSource]

    def __init__(
        self,
        index_path: str | os.PathLike[str],
        open_shard: Callable[[Path], TensorSource],
        index_name: Callable[[str], str] | None = None,
    ) -> None:
        """``index_name``: the shards' name of a tensor the index lists (TensorFlow and Flax
        indexes name them in their framework, their shards' readers in PyTorch's)."""
        self.path = Path(index_path)
        weight_map = read_weight_map(self.path)
        if index_name is not None:
            weight_map = self._renamed(weight_map, index_name)
        shards: dict[str, TensorSource] = {}
        for shard in dict.fromkeys(weight_map.values()):
            shard_path = self.path.parent / shard
            if not shard_path.exists():
                raise FileNotFoundError(
                    errno.ENOENT, f"a shard listed in {self.path} is missing", str(shard_path)
                )
            shards[shard] = open_shard(shard_path)
        holders: dict[str, list[str]] = {}
        for shard, source in shards.items():
            for name in source:
                holders.setdefault(name, []).append(shard)
        self._tensors = {}
        for name, found_in in holders.items():
            if len(found_in) > 1:
                raise ValueError(
                    f"{self.path}: tensor {quoted(name)} is in more than one shard "
                    f"({', '.join(found_in)})"
                )
            if weight_map.get(name) != found_in[0]:
                raise ValueError(
                    f"{self.path}: tensor {quoted(name)} is in shard {found_in[0]}, but the index "
                    f"places it in {quoted(weight_map.get(name))}"
                )
            self._tensors[name] = shards[found_in[0]]
        for name, shard in weight_map.items():
            if name not in self._tensors:
                raise ValueError(
                    f"{self.path}: tensor {quoted(name)} is listed in shard {shard}, which does "
                    "not hold it"
                )

    def _renamed(
        self, weight_map: dict[str, str], index_name: Callable[[str], str]
    ) -> dict[str, str]:
        renamed: dict[str, str] = {}
        for listed, shard in weight_map.items():
            try:
                name = index_name(listed)
            except ValueError as error:
                raise ValueError(f"{self.path}: tensor {quoted(listed)}: {error}") from None
            if name in renamed:
                raise ValueError(
                    f"{self.path}: tensor {quoted(listed)} is tensor {quoted(name)}, which is "
                    "listed twice"
                )
            renamed[name] = shard
        return renamed

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensors[name].shape(name)

    def stored_dtype(self, name: str) -> str:
        return self._tensors[name].stored_dtype(name)

    def get(self, name: str, dtype: type[np.floating]) -> np.ndarray:
        return self._tensors[name].get(name, dtype)


def write_safetensors(
    path: str | os.PathLike[str],
    tensors: dict[str, tuple[str, tuple[int, ...]]],
    read: Callable[[str], np.ndarray],
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a ``.safetensors`` file at ``path`` (in place: write into a temporary directory or
    name and rename it to publish it), tensor by tensor, and fsync it.

    ``tensors`` maps each name to its stored dtype (a key of :data:`STORED_DTYPES`; bfloat16 is
    given as its uint16 bit patterns) and shape; the header comes first, so the shapes are
    declared up front, and ``read(name)`` is called once per tensor, in name order, while the
    file is written: only one tensor is in memory at a time, never the whole file. The header
    lists the tensors sorted by name with ``__metadata__`` (``{"format": "pt"}`` unless given,
    as transformers writes it) and is padded with spaces to a multiple of 8 bytes, as the format
    allows, so that every tensor's data starts 8-byte aligned.

    >>> write_safetensors("out.safetensors", {"bias": ("F32", (2,))},
    ...                   lambda name: np.zeros(2, np.float32))  # doctest: +SKIP
    """
    path = Path(path)
    header: dict[str, object] = {"__metadata__": dict(metadata or {"format": "pt"})}
    offset = 0
    for name in sorted(tensors):
        stored, shape = tensors[name]
        size = math.prod(shape) * STORED_DTYPES[stored].itemsize
        header[name] = {
            "dtype": stored,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for name in sorted(tensors):
            stored, shape = tensors[name]
            array = np.ascontiguousarray(read(name))
            if array.dtype != STORED_DTYPES[stored] or array.shape != tuple(shape):
                raise ValueError(
                    f"{path}: tensor {quoted(name)} was declared {stored} {tuple(shape)}, but "
                    f"its data is {array.dtype} {array.shape}"
                )
            out.write(array.reshape(-1).view(np.uint8).data)
        out.flush()
        os.fsync(out.fileno())
    return path
