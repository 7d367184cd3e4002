"""PyTorch zip checkpoints and sharded checkpoints: read with numpy alone, identical to the
safetensors original, and a hostile or damaged file refused without running anything.

The fixtures are written by ``fixtures/make_torch_checkpoints.py`` (torch, by hand); the hostile
checkpoints are crafted here, opcode by opcode, so no test needs torch but the live one.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration as Model
from bbtok.modeling.seq2seq import open_weights
from bbtok.modeling.torch_checkpoint import TorchCheckpoint
from bbtok.modeling.weights import SafetensorsFile

from conftest import FIXTURES, run_python_child

TORCH_CHECKPOINTS = FIXTURES / "torch_checkpoints"
FORMS = ["single", "sharded_bin", "sharded_safetensors"]
SHARED = "model.shared.weight"
IDS, TARGETS = np.array([[5, 6, 7, 2], [9, 10, 2, 0]]), np.array([[1, 9, 10], [1, 5, 6]])
MASK = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])


def model_directory(tmp_path: Path, form: str) -> Path:
    """A checkpoint directory: the sample's configuration beside a fixture's weights."""
    directory = tmp_path / form
    shutil.copytree(TORCH_CHECKPOINTS / form, directory)
    for name in ("config.json", "generation_config.json"):
        shutil.copy(SAMPLE_CHECKPOINT / name, directory)
    return directory


def logits(model: Model) -> np.ndarray:
    return model(IDS, MASK, decoder_input_ids=TARGETS).logits


# -- the fixtures load as the original --------------------------------------------------------


@pytest.mark.parametrize("mmap", [True, False])
@pytest.mark.parametrize("form", FORMS)
def test_every_checkpoint_form_gives_the_logits_of_the_safetensors_original(
    tmp_path: Path, form: str, mmap: bool
) -> None:
    original = logits(Model.from_pretrained(SAMPLE_CHECKPOINT))
    loaded = Model.from_pretrained(model_directory(tmp_path, form), mmap=mmap)
    np.testing.assert_array_equal(logits(loaded), original)


def test_float16_checkpoints_compute_in_the_dtype_asked_for(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "single")
    for dtype, expected in [("float32", np.float32), ("float64", np.float64)]:
        model = Model.from_pretrained(directory, dtype=dtype)
        assert model.shared.dtype == expected
        assert logits(model).dtype == expected


def test_transposed_and_shared_storage_tensors_equal_the_original_ones() -> None:
    ours = TorchCheckpoint(TORCH_CHECKPOINTS / "single" / "pytorch_model.bin")
    original = SafetensorsFile(SAMPLE_CHECKPOINT / "model.safetensors")
    transposed = ours.get("model.encoder.layers.0.fc1.weight")
    assert not transposed.flags.c_contiguous  # the fixture's point: it is stored transposed
    for name in original:
        np.testing.assert_array_equal(ours.get(name), original.get(name, np.float16), name)
    for tied in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"):
        np.testing.assert_array_equal(ours.get(tied), original.get(SHARED, np.float16))


def test_every_dtype_reads_as_the_values_saved() -> None:
    weights = TorchCheckpoint(TORCH_CHECKPOINTS / "dtypes.bin")
    f32 = np.array([[1.5, -2.0, 3.25], [0.0, 0.125, -7.0]], dtype=np.float32)
    expected: dict[str, np.ndarray] = {
        "f32": f32,
        "f32_transposed": f32.T,
        "f32_row": f32[1],
        "f64": np.array([0.1, -0.2], dtype=np.float64),
        "f16": np.array([0.5, -1.25, 65504.0], dtype=np.float16),
        # bfloat16 comes out as float32; these values are exact in both.
        "bf16": np.array([1.0, -2.5, 3.140625, 2.0**-100, 2.0**127], dtype=np.float32),
        "i64": np.array([0, -1, 2**40], dtype=np.int64),
        "bool": np.array([True, False]),
        "scalar": np.array(4.0, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    assert sorted(weights) == sorted(expected)
    for name, values in expected.items():
        found = weights.get(name)
        assert (found.dtype, found.shape) == (values.dtype, values.shape), name
        np.testing.assert_array_equal(found, values, name)
        assert weights.shape(name) == values.shape
    np.testing.assert_array_equal(weights.get("bf16", np.float64), expected["bf16"])


def test_a_recompressed_checkpoint_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "deflated.bin"
    with (
        zipfile.ZipFile(TORCH_CHECKPOINTS / "dtypes.bin") as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    original, deflated = TorchCheckpoint(TORCH_CHECKPOINTS / "dtypes.bin"), TorchCheckpoint(path)
    for name in original:
        np.testing.assert_array_equal(deflated.get(name), original.get(name), name)


def memmap_behind(array: np.ndarray) -> bool:
    # Through views and as_strided's wrapper object, which is no array but has a base.
    base: Any = array
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None)
    return False


def test_mmap_maps_the_storages_and_mmap_false_reads_them() -> None:
    path = TORCH_CHECKPOINTS / "single" / "pytorch_model.bin"
    mapped, read = TorchCheckpoint(path), TorchCheckpoint(path, mmap=False)
    assert memmap_behind(mapped.get(SHARED, np.float16))
    assert not memmap_behind(read.get(SHARED, np.float16))
    np.testing.assert_array_equal(read.get(SHARED), mapped.get(SHARED))


# -- which file is loaded ---------------------------------------------------------------------


def test_weights_are_looked_for_in_transformers_order(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "sharded_safetensors")
    for name in ("pytorch_model.bin", "pytorch_model.bin.index.json"):
        (directory / name).write_bytes(b"not these")
    assert type(open_weights(directory)).__name__ == "ShardedWeights"
    (directory / "model.safetensors").write_bytes(b"broken")  # first in line, so it is read
    with pytest.raises(ValueError, match=r"model\.safetensors: not a safetensors file"):
        open_weights(directory)
    (directory / "model.safetensors").unlink()
    (directory / "model.safetensors.index.json").unlink()
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: not a PyTorch checkpoint"):
        open_weights(directory)
    (directory / "pytorch_model.bin").unlink()
    with pytest.raises(ValueError, match=r"pytorch_model\.bin\.index\.json: not a checkpoint"):
        open_weights(directory)


def test_a_directory_without_weights_names_every_file_looked_for(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        open_weights(tmp_path)
    for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"):
        assert name in str(raised.value)


# -- refused files ----------------------------------------------------------------------------


def test_the_legacy_format_is_refused_with_advice() -> None:
    with pytest.raises(ValueError, match=r"legacy.bin: .*legacy format of torch < 1\.6") as raised:
        TorchCheckpoint(TORCH_CHECKPOINTS / "legacy.bin")
    assert "re-save it with a recent torch" in str(raised.value)
    assert "safetensors" in str(raised.value)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_the_legacy_format_is_recognised_in_every_pickle_protocol(
    tmp_path: Path, protocol: int
) -> None:
    # torch < 1.6 began with pickle.dump of torch.serialization.MAGIC_NUMBER, then the protocol
    # version 1001; from protocol 4 on, pickle puts a FRAME before the number.
    path = tmp_path / "old.bin"
    magic_number = 0x1950A86A20F9469CFC6C
    path.write_bytes(pickle.dumps(magic_number, protocol) + pickle.dumps(1001, protocol))
    with pytest.raises(ValueError, match=r"legacy format of torch < 1\.6"):
        TorchCheckpoint(path)


@pytest.mark.parametrize("keep", [0, 100, 300_000, -22, -1])
def test_a_truncated_checkpoint_is_refused_naming_the_file(tmp_path: Path, keep: int) -> None:
    whole = (TORCH_CHECKPOINTS / "single" / "pytorch_model.bin").read_bytes()
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(whole[:keep])
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: not a PyTorch checkpoint"):
        TorchCheckpoint(path)


def test_a_zip_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes/readme.txt", "hello")
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: a zip archive, but not a PyTorch"):
        TorchCheckpoint(path)


# -- hostile pickles, crafted opcode by opcode ------------------------------------------------


class Global:
    """A reference to ``module.name``, written as pickle's GLOBAL opcode without importing it."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self) -> None:  # pickle saves only callables as functions
        raise AssertionError("never called")


class Call:
    """``function(*args)`` when unpickled."""

    def __init__(self, function: Global, *args: Any, state: Any = None) -> None:
        self.function, self.args, self.state = function, args, state

    def __reduce__(self) -> tuple[Any, ...]:
        # A state makes pickle write BUILD after the call: it sets attributes of the result.
        return (
            (self.function, self.args)
            if self.state is None
            else (self.function, self.args, self.state)
        )


class Storage:
    """A storage reference, saved as torch saves one: a persistent id."""

    def __init__(self, kind: str, key: str, numel: int) -> None:
        self.pid = ("storage", Global("torch", kind), key, "cpu", numel)


class CraftingPickler(pickle._Pickler):
    dispatch: ClassVar[dict[type, Callable[..., None]]] = dict(pickle._Pickler.dispatch)

    def save_reference(self, reference: Global) -> None:
        self.write(pickle.GLOBAL + f"{reference.module}\n{reference.name}\n".encode())

    dispatch[Global] = save_reference

    def persistent_id(self, obj: Any) -> Any:
        return obj.pid if isinstance(obj, Storage) else None


def crafted_pickle(obj: Any) -> bytes:
    out = io.BytesIO()
    CraftingPickler(out, protocol=2).dump(obj)
    return out.getvalue()


def tensor(
    storage: Storage,
    offset: int,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    state: Any = None,
) -> Call:
    rebuild = Global("torch._utils", "_rebuild_tensor_v2")
    hooks = Call(Global("collections", "OrderedDict"))
    return Call(rebuild, storage, offset, shape, strides, False, hooks, state=state)


def write_checkpoint(
    path: Path,
    data_pkl: bytes,
    storages: dict[str, bytes] | None = None,
    byteorder: bytes = b"little",
    pickle_compression: int = zipfile.ZIP_STORED,
) -> Path:
    """A zip laid out as ``torch.save`` lays one out (its pickle deflated if asked)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl, compress_type=pickle_compression)
        archive.writestr("archive/byteorder", byteorder)
        for key, raw in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
        archive.writestr("archive/version", "3\n")
    return path


def test_the_crafting_helpers_make_what_the_reader_reads(tmp_path: Path) -> None:
    values = np.arange(6, dtype=np.float32)
    storage = Storage("FloatStorage", "0", 6)
    state = {"w": tensor(storage, 0, (2, 3), (3, 1)), "column": tensor(storage, 1, (2,), (3,))}
    path = write_checkpoint(tmp_path / "w.bin", crafted_pickle(state), {"0": values.tobytes()})
    weights = TorchCheckpoint(path)
    np.testing.assert_array_equal(weights.get("w"), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(weights.get("column"), [1, 4])


def test_a_big_endian_checkpoint_reads_the_same_values(tmp_path: Path) -> None:
    state = {"w": tensor(Storage("FloatStorage", "0", 3), 0, (3,), (1,))}
    raw = np.array([1.5, -2.0, 1e-3], dtype=">f4").tobytes()
    path = write_checkpoint(tmp_path / "w.bin", crafted_pickle(state), {"0": raw}, b"big")
    found = TorchCheckpoint(path).get("w")
    assert found.dtype == np.dtype("=f4")
    np.testing.assert_array_equal(found, np.array([1.5, -2.0, 1e-3], dtype=np.float32))


@pytest.mark.parametrize(
    "module, name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("builtins", "eval"),
        ("subprocess", "getoutput"),
        ("torch", "load"),
        ("torch._utils", "_rebuild_tensor"),
    ],
)
def test_a_pickle_that_would_run_a_command_is_refused_and_runs_nothing(
    tmp_path: Path, module: str, name: str
) -> None:
    marker = tmp_path / "marker"
    command = f"touch {marker}"
    if (module, name) == ("builtins", "eval"):
        command = f"__import__('os').system('touch {marker}')"
    payload = crafted_pickle({"w": Call(Global(module, name), command)})
    path = write_checkpoint(tmp_path / "pytorch_model.bin", payload)
    with pytest.raises(
        ValueError,
        match=rf"pytorch_model\.bin: refused to load global '{module}\.{name}': a state dict "
        "needs only tensors",
    ):
        TorchCheckpoint(path)
    assert not marker.exists()


def test_the_crafted_command_does_run_under_plain_pickle(tmp_path: Path) -> None:
    """The test above would notice: unrestricted unpickling of the same bytes runs the command."""
    marker = tmp_path / "marker"
    pickle.loads(crafted_pickle({"w": Call(Global("os", "system"), f"touch {marker}")}))
    assert marker.exists()


def short_storage() -> tuple[bytes, dict[str, bytes]]:
    state = {"w": tensor(Storage("FloatStorage", "0", 4), 1, (2, 2), (2, 1))}
    return crafted_pickle(state), {"0": bytes(16)}


HOSTILE: dict[str, tuple[Callable[[], tuple[bytes, dict[str, bytes]]], str]] = {
    "a tensor reaching past its storage": (
        short_storage,
        r"tensor 'w' \(offset 1, shape \(2, 2\), strides \(2, 1\)\) reaches element 4 of a "
        "storage of 4",
    ),
    "a storage shorter than its element count": (
        lambda: (
            crafted_pickle({"w": tensor(Storage("FloatStorage", "0", 4), 0, (4,), (1,))}),
            {"0": bytes(12)},
        ),
        r"storage '0' has 12 bytes, its 4 elements need 16",
    ),
    "an expanded tensor larger than its storage": (
        lambda: (
            crafted_pickle(
                {"w": tensor(Storage("FloatStorage", "0", 1), 0, (2**40, 2**40), (0, 0))}
            ),
            {"0": bytes(4)},
        ),
        r"more elements than its storage \(1\)",
    ),
    "a storage without its member": (
        lambda: (crafted_pickle({"w": tensor(Storage("FloatStorage", "9", 1), 0, (1,), (1,))}), {}),
        r"storage '9' has no data/'9' member",
    ),
    "negative strides": (
        lambda: (
            crafted_pickle({"w": tensor(Storage("FloatStorage", "0", 2), 1, (2,), (-1,))}),
            {"0": bytes(8)},
        ),
        r"they must be sizes",
    ),
    "a tensor whose strides are changed after it was checked": (
        lambda: (
            crafted_pickle(
                {"w": tensor(Storage("FloatStorage", "0", 2), 0, (2,), (1,), {"strides": (-9,)})}
            ),
            {"0": bytes(8)},
        ),
        r"data\.pkl sets attributes of a tensor; only an OrderedDict",
    ),
    "a value that is no tensor": (
        lambda: (crafted_pickle({"epoch": 3}), {}),
        r"entry 'epoch' is int, not a tensor",
    ),
    "a pickle that is no dict": (
        lambda: (crafted_pickle([1, 2]), {}),
        r"holds a list, not a state dict",
    ),
    "a persistent id that is no storage": (
        lambda: (crafted_pickle({"w": Storage("FloatStorage", "0", 1)})[:-1] + b".", {}),
        r"data\.pkl is not a state dict of tensors",
    ),
    "a truncated pickle": (
        lambda: (crafted_pickle({"w": 1})[:-3], {}),
        r"data\.pkl is not a state dict of tensors",
    ),
    "a byte string longer than the pickle": (
        lambda: (b"\x80\x03B\xff\xff\xff\x7f" + b"x" * 10, {}),
        r"data\.pkl is not a state dict of tensors",
    ),
    # EMPTY_DICT (the state dict), EMPTY_DICT (a state), BUILD.
    "attributes set on a plain dict": (
        lambda: (b"\x80\x02}}b.", {}),
        r"data\.pkl sets attributes of a dict; only an OrderedDict \(torch's state dict\) has",
    ),
    "an OrderedDict made from items": (
        lambda: (crafted_pickle({"w": Call(Global("collections", "OrderedDict"), [("a", 1)])}), {}),
        r"OrderedDict is called with arguments",
    ),
    # Protocol 4: EMPTY_DICT, "w", EMPTY_SET, MARK, 1, ADDITEMS, SETITEM.
    "a set": (
        lambda: (b"\x80\x04}X\x01\x00\x00\x00w\x8f(K\x01\x90s.", {}),
        r"data\.pkl builds a set, which a state dict has none of",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_damaged_or_hostile_state_dict_is_refused_naming_the_file(
    tmp_path: Path, case: str
) -> None:
    make, message = HOSTILE[case]
    data_pkl, storages = make()
    path = write_checkpoint(tmp_path / "pytorch_model.bin", data_pkl, storages)
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: .*" + message):
        TorchCheckpoint(path)


class StateDictWithAttributes:
    """An OrderedDict pickled as torch pickles a state dict: a call, its items, then BUILD with
    its attributes (torch's ``_metadata``)."""

    def __init__(self, items: dict[str, Any], attributes: dict[str, Any]) -> None:
        self.items, self.attributes = items, attributes

    def __reduce__(self) -> tuple[Any, ...]:
        ordered_dict = Global("collections", "OrderedDict")
        return (ordered_dict, (), self.attributes, None, iter(self.items.items()))


def test_attributes_pickled_on_a_state_dict_are_ignored(tmp_path: Path) -> None:
    # An attribute named items or keys would hide the dict's own method from the reader.
    state = StateDictWithAttributes(
        {"w": tensor(Storage("FloatStorage", "0", 2), 0, (2,), (1,))},
        {"_metadata": {"": {"version": 1}}, "items": 5, "keys": None},
    )
    values = np.array([1.5, -2.0], dtype=np.float32)
    path = write_checkpoint(tmp_path / "w.bin", crafted_pickle(state), {"0": values.tobytes()})
    weights = TorchCheckpoint(path)
    assert list(weights) == ["w"]
    np.testing.assert_array_equal(weights.get("w"), values)


def test_a_directory_placing_members_before_the_file_is_refused(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "pytorch_model.bin", crafted_pickle({}))
    raw = bytearray(path.read_bytes())
    end_record = raw.rindex(b"PK\x05\x06")
    # The directory's offset, 16 bytes into the end record (zipfile writes no zip64 one here):
    # zipfile places every member by how far the directory lies from where this says, so a
    # larger one moves them before byte 0.
    (offset,) = struct.unpack_from("<I", raw, end_record + 16)
    struct.pack_into("<I", raw, end_record + 16, offset + 100_000)
    path.write_bytes(raw)
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(path))}: member '.*' starts before the file"
    ):
        TorchCheckpoint(path)


def test_a_member_compressed_with_bzip2_is_refused(tmp_path: Path) -> None:
    # zipfile decompresses bzip2 a chunk at a time with no bound on its output.
    path = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("archive/data.pkl", crafted_pickle({}))
    with pytest.raises(
        ValueError, match=r"'archive/data\.pkl' is compressed with method 12; bbtok reads stored"
    ):
        TorchCheckpoint(path)


# -- work bounded by the file's size ----------------------------------------------------------

# Long enough for a child to import numpy and bbtok on a loaded 2-core machine; far shorter than
# the minutes an unbounded load of the files below takes.
CHILD_TIMEOUT = 120
LOAD_IN_A_CHILD = """
import sys
from bbtok.modeling.torch_checkpoint import TorchCheckpoint
try:
    TorchCheckpoint(sys.argv[1])
except ValueError as error:
    print(error)
"""


def refusal_in_a_child(tmp_path: Path, path: Path) -> str:
    """The ValueError that loading ``path`` ends with, in a child that may not run for long."""
    child = run_python_child(["-c", LOAD_IN_A_CHILD, str(path)], tmp_path, CHILD_TIMEOUT)
    assert child.returncode == 0, child.stderr
    return child.stdout.strip()


def test_an_integer_of_millions_of_digits_is_refused_before_any_arithmetic(tmp_path: Path) -> None:
    # About six million digits from a few kilobytes of deflated 0xff bytes: a product of shapes
    # and strides that size takes minutes.
    huge = int.from_bytes(b"\xff" * 2_500_000, "little")
    state = {"w": tensor(Storage("FloatStorage", "0", 1), 0, (huge,), (huge,))}
    path = write_checkpoint(
        tmp_path / "pytorch_model.bin",
        crafted_pickle(state),
        {"0": bytes(4)},
        pickle_compression=zipfile.ZIP_DEFLATED,
    )
    assert path.stat().st_size < 10_000
    assert refusal_in_a_child(tmp_path, path) == (
        f"{path}: data.pkl holds an integer of 2,500,001 bytes, more than an int64's 8 (a state "
        "dict's numbers)"
    )


# A dict {"w": <number>} in protocol 2, the number written by the opcodes given.
NUMBER_OPCODES = {
    "LONG1 of 2**63": (
        pickle.dumps(2**63, 2)[2:-1],
        r"holds an integer of 9 bytes, more than an int64's 8",
    ),
    "INT of 5,000 digits": (
        b"I" + b"9" * 5000 + b"\n",
        r"holds an integer written in 5,001 characters, longer than any int64",
    ),
    "LONG of 30 digits": (
        b"L" + b"1" * 30 + b"L\n",
        r"holds an integer written in 32 characters, longer than any int64",
    ),
    "INT of 2**63": (
        f"I{2**63}\n".encode(),
        rf"holds the integer {2**63}, outside int64",
    ),
}


@pytest.mark.parametrize("case", sorted(NUMBER_OPCODES))
def test_integers_outside_int64_are_refused_as_they_are_read(tmp_path: Path, case: str) -> None:
    number, message = NUMBER_OPCODES[case]
    data_pkl = b"\x80\x02}X\x01\x00\x00\x00w" + number + b"s."
    path = write_checkpoint(tmp_path / "pytorch_model.bin", data_pkl)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: data\.pkl {message}"):
        TorchCheckpoint(path)


@pytest.mark.parametrize("where", ["numel", "offset", "shape", "strides"])
def test_a_number_of_over_4300_digits_is_refused_naming_the_file(
    tmp_path: Path, where: str
) -> None:
    # Python converts integers of more than 4,300 digits to text only when asked to.
    values = {"numel": 1, "offset": 0, "shape": 1, "strides": 1, where: 10**5000}
    storage = Storage("FloatStorage", "0", values["numel"])
    state = {"w": tensor(storage, values["offset"], (values["shape"],), (values["strides"],))}
    path = write_checkpoint(tmp_path / "pytorch_model.bin", crafted_pickle(state), {"0": bytes(4)})
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(path))}: data\.pkl holds an integer of 2,077 bytes"
    ):
        TorchCheckpoint(path)


def test_a_deflated_pickle_running_more_opcodes_than_its_size_allows_is_refused(
    tmp_path: Path,
) -> None:
    # Five million opcodes that do nothing (NONE, POP) deflated to kilobytes: a thousandfold
    # more work than the file's size (minutes for a 250 KB file), where a state dict's pickle
    # runs about one opcode per byte it takes.
    data_pkl = b"\x80\x02" + b"N0" * 2_500_000 + b"}."
    path = write_checkpoint(
        tmp_path / "pytorch_model.bin", data_pkl, pickle_compression=zipfile.ZIP_DEFLATED
    )
    with zipfile.ZipFile(path) as archive:
        compressed = archive.getinfo("archive/data.pkl").compress_size
    assert refusal_in_a_child(tmp_path, path) == (
        f"{path}: data.pkl runs more than {16 * compressed:,} opcodes, 16 per byte it takes in "
        "the file (a state dict runs about one)"
    )


def test_a_dict_key_that_takes_exponential_time_to_hash_is_refused(tmp_path: Path) -> None:
    # EMPTY_DICT, EMPTY_TUPLE, then a hundred times DUP and TUPLE2, each tuple holding the one
    # before twice: 200 bytes whose hash visits 2**100 tuples. Then NONE, SETITEM.
    data_pkl = b"\x80\x02})" + b"2\x86" * 100 + b"Ns."
    path = write_checkpoint(tmp_path / "pytorch_model.bin", data_pkl)
    assert refusal_in_a_child(tmp_path, path) == (
        f"{path}: data.pkl has a dict key that is a tuple, not a name"
    )


# Each case changes a fixture's data.pkl (odd cases) or the whole zip (even cases) in one to
# four places: a byte set, pickle opcodes inserted, bytes deleted or repeated, a 32-bit field
# made extreme, or the rest cut off. Prints what ended otherwise than loaded or refused with a
# ValueError (OSError) naming the file.
LOAD_MUTATIONS = """
import io, json, random, sys, zipfile
from pathlib import Path
from bbtok.modeling.torch_checkpoint import TorchCheckpoint

source, work, cases = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
whole = source.read_bytes()
with zipfile.ZipFile(source) as archive:
    members = [(info.filename, archive.read(info)) for info in archive.infolist()]
pickle_name = next(name for name, _ in members if name.endswith("/data.pkl"))
data_pkl = dict(members)[pickle_name]
EXTREMES = [b"\\xff\\xff\\xff\\x7f", b"\\0\\0\\0\\x80", b"\\xff" * 4, b"\\0" * 4]

def mutate(raw, rng):
    raw = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        at, kind = rng.randrange(len(raw) + 1), rng.randrange(6)
        if kind == 0 and raw:
            raw[min(at, len(raw) - 1)] = rng.randrange(256)
        elif kind == 1:
            raw[at:at] = bytes(rng.randrange(0x20, 0x96) for _ in range(rng.randint(1, 8)))
        elif kind == 2:
            del raw[at : at + rng.randint(1, 16)]
        elif kind == 3:
            raw[at:at] = raw[rng.randrange(len(raw) + 1) :][: rng.randint(1, 64)]
        elif kind == 4:
            raw[at : at + 4] = rng.choice(EXTREMES)
        else:
            del raw[at:]
    return bytes(raw)

def with_pickle(mutated_pkl):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, raw in members:
            archive.writestr(name, mutated_pkl if name == pickle_name else raw)
    return out.getvalue()

rng = random.Random(6)
path = work / "pytorch_model.bin"
for case in range(cases):
    mutated = with_pickle(mutate(data_pkl, rng)) if case % 2 else mutate(whole, rng)
    path.write_bytes(mutated)
    try:
        weights = TorchCheckpoint(path)
        for name in weights:
            weights.get(name)
    except (ValueError, OSError) as error:
        if str(error).startswith(f"{path}: "):
            continue
        print(f"case {case}: {type(error).__name__}: {str(error)[:200]}")
    except Exception as error:
        print(f"case {case}: {type(error).__name__}: {str(error)[:200]}")
"""


@pytest.mark.parametrize("fixture", ["dtypes.bin", "sharded_bin/pytorch_model-00001-of-00002.bin"])
def test_a_mutated_checkpoint_is_loaded_or_refused_naming_the_file(
    tmp_path: Path, fixture: str
) -> None:
    arguments = [str(TORCH_CHECKPOINTS / fixture), str(tmp_path), "1000"]
    child = run_python_child(["-c", LOAD_MUTATIONS, *arguments], tmp_path, CHILD_TIMEOUT)
    assert child.returncode == 0, child.stderr
    assert child.stdout == ""


# -- bad index files ----------------------------------------------------------------------------


def rewrite_index(directory: Path, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    index_path = directory / "pytorch_model.bin.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"] = change(index["weight_map"])
    index_path.write_text(json.dumps(index))


FIRST_SHARD = "pytorch_model-00001-of-00002.bin"
SECOND_SHARD = "pytorch_model-00002-of-00002.bin"


@pytest.mark.parametrize("shard", ["../pytorch_model.bin", "/etc/passwd", "a/../../b.bin", ""])
def test_an_index_naming_a_shard_outside_the_directory_is_refused(
    tmp_path: Path, shard: str
) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    rewrite_index(directory, lambda weights: {**weights, SHARED: shard})
    with pytest.raises(ValueError, match=r"is not a file name inside the checkpoint's directory"):
        Model.from_pretrained(directory)


def test_a_missing_shard_is_named(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    (directory / SECOND_SHARD).unlink()
    with pytest.raises(FileNotFoundError, match=rf"a shard listed in .*: '.*{SECOND_SHARD}'"):
        Model.from_pretrained(directory)


def test_a_tensor_listed_twice_in_the_index_is_refused(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    index_path = directory / "pytorch_model.bin.index.json"
    text = index_path.read_text()
    line = f'"{SHARED}": "{SECOND_SHARD}"'
    assert line in text
    index_path.write_text(text.replace(line, f'{line}, "{SHARED}": "{FIRST_SHARD}"'))
    with pytest.raises(ValueError, match=rf"tensor '{SHARED}' is listed twice"):
        Model.from_pretrained(directory)


def test_a_tensor_in_two_shards_is_refused(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    shutil.copy(directory / SECOND_SHARD, directory / "extra.bin")
    rewrite_index(directory, lambda weights: {**weights, "extra": "extra.bin"})
    with pytest.raises(ValueError, match=rf"tensor '{SHARED}' is in more than one shard"):
        Model.from_pretrained(directory)


def test_an_index_placing_a_tensor_in_the_wrong_shard_is_refused(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    bias = "final_logits_bias"
    rewrite_index(directory, lambda weights: {**weights, bias: SECOND_SHARD})
    with pytest.raises(
        ValueError, match=rf"'{bias}' is in shard {FIRST_SHARD}, but the index places it in "
    ):
        Model.from_pretrained(directory)


def test_an_index_listing_a_tensor_no_shard_holds_is_refused(tmp_path: Path) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    rewrite_index(directory, lambda weights: {**weights, "ghost": FIRST_SHARD})
    with pytest.raises(ValueError, match=rf"'ghost' is listed in shard {FIRST_SHARD}, which does"):
        Model.from_pretrained(directory)


@pytest.mark.parametrize("text", ["[]", '{"weight_map": []}', '{"weight_map": {"a": 1}}', "{"])
def test_an_index_that_is_no_weight_map_is_refused(tmp_path: Path, text: str) -> None:
    directory = model_directory(tmp_path, "sharded_bin")
    (directory / "pytorch_model.bin.index.json").write_text(text)
    with pytest.raises(
        ValueError, match=r"pytorch_model\.bin\.index\.json: not a checkpoint index"
    ):
        Model.from_pretrained(directory)


# -- against torch itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "dtypes.bin",
        "single/pytorch_model.bin",
        f"sharded_bin/{FIRST_SHARD}",
        f"sharded_bin/{SECOND_SHARD}",
    ],
)
@pytest.mark.live
def test_every_tensor_equals_what_torch_load_reads(relative: str) -> None:
    torch = pytest.importorskip("torch")
    path = TORCH_CHECKPOINTS / relative
    expected = torch.load(path, weights_only=True)
    ours = TorchCheckpoint(path)
    assert list(ours) == list(expected)
    for name, value in expected.items():
        if value.dtype == torch.bfloat16:
            value = value.float()
        found = ours.get(name)
        assert found.shape == tuple(value.shape), name
        assert found.dtype == value.numpy().dtype, name
        np.testing.assert_array_equal(found, value.numpy(), name)
