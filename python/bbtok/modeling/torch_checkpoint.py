"""Reading ``pytorch_model.bin`` (``torch.save``'s zip format) with numpy alone, running no code.

Since torch 1.6, ``torch.save`` writes a zip archive: ``<name>/data.pkl`` is a pickle of the
state dict in which each tensor is a call of ``torch._utils._rebuild_tensor_v2(storage, offset,
shape, strides, ...)`` and each storage a persistent id ``('storage', torch.FloatStorage, key,
location, numel)`` whose bytes are the member ``<name>/data/<key>``; ``<name>/byteorder`` says
``little`` or ``big``. torch stores the members uncompressed, so a storage is a slice of the
memory-mapped file (``mmap=True``) or one read of its bytes (``mmap=False``).

A pickle is a program: ``torch.load(weights_only=False)`` of a hostile file can call
``os.system``. Here the unpickler resolves no global but the few a state dict is made of, and
those to functions of this module that only record what they were given; a tensor becomes an
array only after its shape, strides and offset are checked against its storage's real bytes.
The pickle is run by Python's pure-Python unpickler, whose memo is a dict and whose reads are
bounded by the data, so no number in the file sizes an allocation (the C unpickler allocates a
counted byte string, or a memo list up to its index, before reading).

The work is bounded too, since deflate lets a small file expand a thousandfold: the unpickler
runs at most :data:`OPCODES_PER_PICKLE_BYTE` opcodes per byte ``data.pkl`` occupies in the file,
reads no integer outside int64 (torch's own sizes; a million-digit one would make every product
of shapes and strides slow), and hashes nothing but strings (a tuple nested in itself through the
memo has a hash that takes exponential time).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, NamedTuple, NoReturn

import numpy as np

from bbtok.modeling.weights import (
    MAX_ARRAY_BYTES,
    MAX_RANK,
    NamedTensors,
    _is_size,
    file_data,
    widen_bfloat16,
)
from bbtok.storage import files
from bbtok.storage.files import quoted

# torch's storage classes and the numpy dtype of their elements (little-endian; a big-endian
# checkpoint swaps them). bfloat16 is read as its bit pattern and widened to float32.
STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    "UntypedStorage": np.dtype("u1"),
}
# torch < 1.6's format starts with a pickle of its magic number: PROTO n, then LONG1 of 10 bytes.
LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
# data.pkl holds names and shapes only: about 100 bytes a tensor, some 100 KB for Blenderbot-3B's
# thousand tensors. The bound keeps the pure-Python unpickler's work under some seconds (it runs
# at most one opcode a byte of a stored pickle), with a hundredfold room above real checkpoints.
MAX_PICKLE_BYTES = 16 * 2**20
# deflate's largest ratio is 1032:1; a compressed member claiming more is not what it says.
MAX_DEFLATE_RATIO = 1032
# torch's pickle of a state dict takes about four bytes an opcode (thirty-odd opcodes a tensor),
# and deflate shrinks one about fourfold: one opcode per byte it occupies in the file. A stored
# pickle can never exceed this bound; a deflated one may compress four times better than that.
OPCODES_PER_PICKLE_BYTE = 16
# Every number torch writes into a state dict (sizes, strides, offsets, element counts) is an
# int64; pickle writes an int64 in at most 8 bytes (LONG1) or 20 characters (INT, LONG) and a
# protocol-0 "L" suffix.
INT64 = range(-(2**63), 2**63)
MAX_LONG_BYTES = 8
MAX_INT_TEXT = 24


# The records below are named tuples: pickle's BUILD opcode, which sets an object's attributes
# (through its __dict__ or __setstate__, which a frozen dataclass with slots has), cannot change
# a tuple, so a tensor's shape stays the one checked.
class _StorageType(NamedTuple):
    name: str


class _Storage(NamedTuple):
    """A storage as the pickle names it: its member's key, element type and element count."""

    key: str
    dtype: np.dtype[Any]
    numel: int


class _Tensor(NamedTuple):
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: object,
    size: object,
    stride: object,
    requires_grad: object = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _Tensor:
    if not isinstance(storage, _Storage):
        raise ValueError(f"a tensor's storage is {quoted(storage)}, not a storage record")
    if not (
        isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride) <= MAX_RANK
        and all(_is_size(n) for n in (storage_offset, *size, *stride))
    ):
        raise ValueError(
            f"a tensor has offset {quoted(storage_offset)}, shape {quoted(size)} and strides "
            f"{quoted(stride)}; they must be sizes, with as many strides as dimensions"
        )
    if metadata:  # torch's extra tensor state (none for a plain tensor): its meaning is unknown
        raise ValueError(f"a tensor carries metadata {quoted(metadata)} this reader cannot apply")
    assert isinstance(storage_offset, int)
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data: object, requires_grad: object, backward_hooks: object) -> object:
    return data  # an nn.Parameter is its tensor here


def _ordered_dict(*items: object) -> OrderedDict[str, object]:
    # torch pickles an OrderedDict as a call with no arguments, then sets its items, whose keys
    # the unpickler checks; arguments would be hashed unchecked.
    if items:
        raise ValueError("OrderedDict is called with arguments; torch pickles one empty")
    return OrderedDict()


# Every global a state dict's pickle may name, and what it becomes.
ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): _ordered_dict,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage"),
}


class _Refused(Exception):
    """A refusal whose message is the whole error (it names the file)."""


_PICKLE_OPCODES: dict[int, Callable[[Any], None]] = dict(pickle._Unpickler.dispatch)


def _kind(value: object) -> str:
    return {_Tensor: "tensor", _Storage: "storage"}.get(type(value), type(value).__name__)


class _StateDictUnpickler(pickle._Unpickler):
    """Python's own unpickler, with globals limited to :data:`ALLOWED_GLOBALS`, storages recorded
    instead of loaded, and its work bounded: ``max_opcodes`` opcodes (so as many memo entries and
    objects at most), int64 integers, string dict keys, no sets and no state set but a dict's."""

    # The pure-Python unpickler's own state, which typeshed does not declare.
    stack: list[Any]
    read: Callable[[int], bytes]
    readline: Callable[[], bytes]
    append: Callable[[Any], None]

    def __init__(
        self, data: bytes, path: Path, storage_members: set[str], max_opcodes: int
    ) -> None:
        super().__init__(io.BytesIO(data))
        self.path = path
        self.storage_members = storage_members
        self.storages: dict[str, _Storage] = {}
        self.max_opcodes = max_opcodes

    def refuse(self, reason: str) -> NoReturn:
        raise _Refused(f"{self.path}: data.pkl {reason}")

    def find_class(self, module: str, name: str) -> Any:
        found = ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise _Refused(
                f"{self.path}: refused to load global {quoted(f'{module}.{name}')}: a state dict "
                "needs only tensors"
            )
        return found

    def persistent_load(self, pid: Any) -> _Storage:
        if not (
            isinstance(pid, tuple)
            and len(pid) == 5
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
            and isinstance(pid[2], str)
            and _is_size(pid[4])
        ):
            raise ValueError(f"persistent id {quoted(pid)} is not a storage reference")
        _, storage_type, key, _, numel = pid
        if key not in self.storage_members:
            raise ValueError(f"storage {quoted(key)} has no data/{quoted(key)} member")
        storage = _Storage(key, STORAGE_DTYPES[storage_type.name], numel)
        if self.storages.setdefault(key, storage) != storage:
            raise ValueError(f"storage {quoted(key)} is named with two types or sizes")
        return storage

    # Integers: their length is checked before they are converted.

    def _int64(self, value: int) -> int:
        if value not in INT64:
            self.refuse(f"holds the integer {value}, outside int64 (a state dict's numbers)")
        return value

    def _integer_text(self) -> bytes:
        line = self.readline()
        if len(line) > MAX_INT_TEXT:  # int() of a long decimal text takes quadratic time
            self.refuse(
                f"holds an integer written in {len(line):,} characters, longer than any int64 "
                "(a state dict's numbers)"
            )
        return line.strip()

    def load_int(self) -> None:
        text = self._integer_text()
        if text in (b"00", b"01"):  # protocol 0's False and True
            self.append(text == b"01")
        else:
            self.append(self._int64(int(text, 0)))

    def load_long(self) -> None:
        self.append(self._int64(int(self._integer_text().removesuffix(b"L"), 0)))

    def _load_long_bytes(self, length: int) -> None:
        if length > MAX_LONG_BYTES:
            self.refuse(
                f"holds an integer of {length:,} bytes, more than an int64's 8 (a state dict's "
                "numbers)"
            )
        self.append(int.from_bytes(self.read(length), "little", signed=True))

    def load_long1(self) -> None:
        self._load_long_bytes(self.read(1)[0])

    def load_long4(self) -> None:
        self._load_long_bytes(int.from_bytes(self.read(4), "little", signed=True))

    # Dicts and sets: only strings are hashed, as a tuple nested in itself through the memo takes
    # exponential time to hash.

    def _check_keys(self, keys: list[Any]) -> None:
        for key in keys:
            if type(key) is not str:
                self.refuse(f"has a dict key that is a {_kind(key)}, not a name")

    def load_setitem(self) -> None:
        self._check_keys(self.stack[-2:-1])
        _PICKLE_OPCODES[pickle.SETITEM[0]](self)

    def load_setitems(self) -> None:
        self._check_keys(self.stack[::2])  # the items since the MARK: key, value, key, ...
        _PICKLE_OPCODES[pickle.SETITEMS[0]](self)

    def load_dict(self) -> None:
        self._check_keys(self.stack[::2])
        _PICKLE_OPCODES[pickle.DICT[0]](self)

    def load_set(self) -> None:
        self.refuse("builds a set, which a state dict has none of")

    def load_build(self) -> None:
        # torch gives a state dict its modules' versions as attribute _metadata, which this
        # reader does not need; anything else BUILD could change is a tensor already checked,
        # or one of this module's functions.
        self.stack.pop()
        target = self.stack[-1] if self.stack else None
        if type(target) is not OrderedDict:
            self.refuse(
                f"sets attributes of a {_kind(target)}; only an OrderedDict (torch's state dict) "
                "has any"
            )

    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = {
        **_PICKLE_OPCODES,
        pickle.INT[0]: load_int,
        pickle.LONG[0]: load_long,
        pickle.LONG1[0]: load_long1,
        pickle.LONG4[0]: load_long4,
        pickle.SETITEM[0]: load_setitem,
        pickle.SETITEMS[0]: load_setitems,
        pickle.DICT[0]: load_dict,
        pickle.EMPTY_SET[0]: load_set,
        pickle.FROZENSET[0]: load_set,
        pickle.BUILD[0]: load_build,
    }

    def load(self) -> Any:
        # pickle._Unpickler.load, its loop bounded: counting in each opcode's handler instead
        # would cost a Python call an opcode, a sixth of the time a state dict takes.
        self._unframer = pickle._Unframer(self._file_read, self._file_readline)  # type: ignore[attr-defined]
        self.read = self._unframer.read
        self.readinto = self._unframer.readinto
        self.readline = self._unframer.readline
        self.metastack: list[list[Any]] = []
        self.stack = []
        self.append = self.stack.append
        self.proto = 0
        read, dispatch = self.read, self.dispatch
        try:
            for _ in range(self.max_opcodes):
                key = read(1)
                if not key:
                    raise EOFError
                dispatch[key[0]](self)
        except pickle._Stop as stop:  # type: ignore[attr-defined]
            return stop.value
        self.refuse(
            f"runs more than {self.max_opcodes:,} opcodes, {OPCODES_PER_PICKLE_BYTE} per byte "
            "it takes in the file (a state dict runs about one)"
        )


def _is_legacy(head: bytes) -> bool:
    """Whether a file starts as torch < 1.6 wrote one: PROTO, a FRAME from protocol 4 on, then
    the magic number."""
    if head[:1] != pickle.PROTO:
        return False
    start = 11 if head[2:3] == pickle.FRAME else 2
    return head[start : start + len(LEGACY_MAGIC)] == LEGACY_MAGIC


def _data_offset(handle: BinaryIO, info: zipfile.ZipInfo, size: int, path: Path) -> int:
    """Where a member's bytes start in the file: after its local header, whose name and extra
    field lengths may differ from the central directory's."""
    handle.seek(info.header_offset)
    header = handle.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise ValueError(f"{path}: member {info.filename!r} has no local header (a damaged zip)")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start: int = info.header_offset + 30 + name_length + extra_length
    if info.compress_size != info.file_size:
        raise ValueError(f"{path}: member {info.filename!r} is stored with two different sizes")
    if start + info.file_size > size:
        raise ValueError(
            f"{path}: member {info.filename!r} ends past the end of the file (it is truncated)"
        )
    return start


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    """A member's bytes through zipfile (which checks its CRC), no more than its real size
    allows: a compressed member cannot claim more than deflate can expand it to."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # zipfile decompresses bzip2 and LZMA a whole chunk at a time, which a few kilobytes of
        # bzip2 can make gigabytes; torch stores its members.
        raise ValueError(
            f"{path}: member {info.filename!r} is compressed with method {info.compress_type}; "
            "bbtok reads stored or deflated members"
        )
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_DEFLATE_RATIO * (
        info.compress_size + 1
    ):
        raise ValueError(
            f"{path}: member {info.filename!r} claims {info.file_size} bytes from "
            f"{info.compress_size} compressed ones"
        )
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except Exception as error:
        # A damaged zip makes zipfile raise many things: BadZipFile, zlib.error, EOFError,
        # RuntimeError (encryption), NotImplementedError, UnicodeDecodeError (a name), OSError
        # (an offset before the file's start).
        raise ValueError(f"{path}: member {info.filename!r} cannot be read: {error}") from None
    if len(data) != info.file_size:
        raise ValueError(f"{path}: member {info.filename!r} is not the size its header says")
    return data


class TorchCheckpoint(NamedTensors):
    """The tensors of a ``torch.save`` zip checkpoint (``pytorch_model.bin``), read without torch.

    >>> weights = TorchCheckpoint("path/to/pytorch_model.bin")  # doctest: +SKIP
    >>> weights.get("model.shared.weight", np.float32).shape  # doctest: +SKIP
    (16388, 16)
    """

    _tensors: dict[str, np.ndarray]

    def __init__(self, path: str | os.PathLike[str], mmap: bool = True) -> None:
        """``mmap=False`` reads each storage into memory instead of mapping the file (see
        :mod:`bbtok.modeling.weights` for when that is needed)."""
        self.path = Path(path)
        with files.open_regular(self.path) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(32)
            handle.seek(0)
            if _is_legacy(head):
                raise ValueError(
                    f"{self.path}: a PyTorch checkpoint in the legacy format of torch < 1.6, "
                    "which bbtok does not read: re-save it with a recent torch (torch.save("
                    "torch.load(path), path)) or convert it to safetensors"
                )
            try:
                archive = zipfile.ZipFile(handle)
            except Exception as error:  # zipfile's many errors, as in _read_member
                raise ValueError(
                    f"{self.path}: not a PyTorch checkpoint (not a whole zip archive: {error}); "
                    "a truncated download?"
                ) from None
            with archive:
                self._tensors = self._read(archive, handle, size, mmap)

    def _read(
        self, archive: zipfile.ZipFile, handle: BinaryIO, size: int, mmap: bool
    ) -> dict[str, np.ndarray]:
        members = {info.filename: info for info in archive.infolist()}
        for info in members.values():
            # zipfile places members by where the directory says it starts and where it is.
            if info.header_offset < 0:
                raise ValueError(
                    f"{self.path}: member {info.filename!r} starts before the file (a damaged "
                    "zip: its directory is not where it says)"
                )
        pickles = [name for name in members if name.count("/") == 1 and name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError(
                f"{self.path}: a zip archive, but not a PyTorch checkpoint (no <name>/data.pkl)"
            )
        prefix = pickles[0].removesuffix("data.pkl")
        order = members.get(prefix + "byteorder")
        byteorder = b"little" if order is None else _read_member(archive, order, self.path)
        if byteorder not in (b"little", b"big"):
            raise ValueError(f"{self.path}: unknown byte order {quoted(byteorder)}")
        pickle_info = members[pickles[0]]
        if pickle_info.file_size > MAX_PICKLE_BYTES:
            raise ValueError(
                f"{self.path}: {pickles[0]} is {pickle_info.file_size:,} bytes, more than the "
                f"{MAX_PICKLE_BYTES:,} a state dict's names and shapes take"
            )
        storage_members = {
            name.removeprefix(prefix + "data/")
            for name in members
            if name.startswith(prefix + "data/")
        }
        unpickler = _StateDictUnpickler(
            _read_member(archive, pickle_info, self.path),
            self.path,
            storage_members,
            max_opcodes=OPCODES_PER_PICKLE_BYTE * pickle_info.compress_size,
        )
        try:
            state = unpickler.load()
        except _Refused as refused:
            raise ValueError(str(refused)) from None
        except Exception as error:  # a damaged or hostile pickle: anything it can raise
            raise ValueError(
                f"{self.path}: data.pkl is not a state dict of tensors: "
                f"{type(error).__name__}: {quoted(str(error))}"
            ) from None
        if not isinstance(state, dict):
            raise ValueError(
                f"{self.path}: holds a {type(state).__name__}, not a state dict (a dict of tensors)"
            )
        mapped = file_data(handle, size, mmap=True, path=self.path) if mmap else None
        storages: dict[str, np.ndarray] = {}
        for key, storage in unpickler.storages.items():
            info = members[prefix + "data/" + key]
            dtype = storage.dtype if byteorder == b"little" else storage.dtype.newbyteorder(">")
            needed = storage.numel * dtype.itemsize
            if info.file_size != needed:
                raise ValueError(
                    f"{self.path}: storage {quoted(key)} has {info.file_size} bytes, its "
                    f"{storage.numel} elements need {needed}"
                )
            raw = self._member_bytes(archive, info, handle, size, mapped)
            if raw.ctypes.data % dtype.itemsize:  # numpy views need aligned elements
                raw = raw.copy()
            storages[key] = raw.view(dtype)
        tensors: dict[str, np.ndarray] = {}
        for name, tensor in state.items():
            if not isinstance(name, str) or not isinstance(tensor, _Tensor):
                raise ValueError(
                    f"{self.path}: entry {quoted(name)} is {type(tensor).__name__}, not a tensor "
                    "(a state dict maps names to tensors)"
                )
            tensors[name] = self._view(name, tensor, storages[tensor.storage.key])
        return tensors

    def _member_bytes(
        self,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        handle: BinaryIO,
        size: int,
        mapped: np.ndarray | None,
    ) -> np.ndarray:
        """A storage member's bytes: a slice of the mapped file, or one read of them, for a
        stored member (as torch writes them); a decompressed copy otherwise."""
        if info.flag_bits & 1:
            raise ValueError(f"{self.path}: member {info.filename!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            return np.frombuffer(_read_member(archive, info, self.path), dtype=np.uint8)
        start = _data_offset(handle, info, size, self.path)
        if mapped is not None:
            return mapped[start : start + info.file_size]
        handle.seek(start)
        raw = np.frombuffer(handle.read(info.file_size), dtype=np.uint8)
        if raw.size != info.file_size:
            raise ValueError(f"{self.path}: the file shrank while it was being read")
        return raw

    def _view(self, name: str, tensor: _Tensor, storage: np.ndarray) -> np.ndarray:
        """The tensor as a read-only strided view of its storage, once its last element is known
        to lie inside it: as_strided itself reads wherever it is told."""
        if 0 in tensor.shape:
            if math.prod(n for n in tensor.shape if n) * storage.itemsize > MAX_ARRAY_BYTES:
                raise ValueError(
                    f"{self.path}: tensor {quoted(name)} has shape {tensor.shape}, larger than a "
                    "numpy array can be"
                )
            return np.zeros(tensor.shape, dtype=storage.dtype)
        last = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.strides))
        if last >= storage.size:
            raise ValueError(
                f"{self.path}: tensor {quoted(name)} (offset {tensor.offset}, shape "
                f"{tensor.shape}, strides {tensor.strides}) reaches element {last} of a storage "
                f"of {storage.size}"
            )
        if math.prod(tensor.shape) > storage.size:
            # Strides of 0 repeat elements; converting such a tensor would allocate memory
            # sized by its shape alone, which the file does not bound.
            raise ValueError(
                f"{self.path}: tensor {quoted(name)} of shape {tensor.shape} has more elements "
                f"than its storage ({storage.size}): an expanded tensor, which bbtok does not read"
            )
        itemsize = storage.itemsize
        return np.lib.stride_tricks.as_strided(
            storage[tensor.offset :],
            shape=tensor.shape,
            strides=tuple(s * itemsize for s in tensor.strides),
            writeable=False,
        )

    def shape(self, name: str) -> tuple[int, ...]:
        return self._tensors[name].shape

    def stored_dtype(self, name: str) -> str:
        """The safetensors name of the tensor's stored dtype (``BF16`` for bfloat16's bits)."""
        kind = self._tensors[name].dtype
        if kind.kind == "u" and kind.itemsize == 2:  # bfloat16's bit patterns
            return "BF16"
        found = {"f2": "F16", "f4": "F32", "f8": "F64"}.get(f"{kind.kind}{kind.itemsize}")
        if found is None:
            raise ValueError(f"{self.path}: tensor {name!r} is {kind}, not floating point")
        return found

    def get(self, name: str, dtype: type[np.generic] | None = None) -> np.ndarray:
        """Tensor ``name`` as ``dtype`` (default: as stored, bfloat16 as float32): a read-only
        view of the file (or of its storage's copy in memory) when stored in that dtype, else a
        converted copy."""
        array = self._tensors[name]
        if array.dtype.kind == "u" and array.dtype.itemsize == 2:  # bfloat16's bit patterns
            array = widen_bfloat16(array)
        if dtype is not None and array.dtype != np.dtype(dtype):
            array = array.astype(dtype)
        elif not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        return array
