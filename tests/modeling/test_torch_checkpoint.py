"""PyTorch zip checkpoints and sharded checkpoints: read with numpy alone, identical to the
safetensors original, and a hostile or damaged file refused without running anything.

The fixtures are written by ``fixtures/make_torch_checkpoints.py`` (torch, by hand); the hostile
checkpoints are crafted here, opcode by opcode, so no test needs torch but the live one.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
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

from conftest import FIXTURES

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
) -> Path:
    """A zip laid out as ``torch.save`` lays one out."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
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
        r"data\.pkl is not a state dict of tensors",
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
