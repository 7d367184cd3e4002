"""TensorFlow (``tf_model.h5``) and Flax (``flax_model.msgpack``) checkpoints, read without
TensorFlow or JAX.

The files here are written in the layouts transformers 4.x writes (Keras' ``save_weights`` h5
and its sharded variant; flax.serialization's msgpack and its shards) from the weights of the
safetensors checkpoints of the repository, under the TensorFlow and Flax names transformers 4.x's
TF and Flax classes give them; a model loaded from them must compute exactly what the safetensors
one does. Checkpoints saved by transformers 4.x itself, and its outputs on them, are in
``fixtures/tf_flax`` and ``fixtures/tf_flax_goldens.json`` when present.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import h5py
import msgpack
import numpy as np
import pytest
from safetensors.numpy import load_file

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling import (
    BlenderbotForConditionalGeneration,
    BlenderbotModel,
    BlenderbotSmallForConditionalGeneration,
    BlenderbotSmallModel,
    auto_model,
    open_weights,
)
from bbtok.modeling.flax_checkpoint import FlaxCheckpoint
from bbtok.modeling.tf_checkpoint import TFCheckpoint

from conftest import FIXTURES, run_python_child

TINY_BLENDERBOT = FIXTURES / "tiny_blenderbot"
SMALL = Path(SAMPLE_CHECKPOINT)
COPIED = (
    "config.json",
    "generation_config.json",
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
)
INPUTS = {
    "input_ids": np.array([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]]),
    "attention_mask": np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    "decoder_input_ids": np.array([[1, 11, 12], [1, 13, 14]]),
}
TF_MODEL_NAMES = {
    SMALL: "tf_blenderbot_small_for_conditional_generation",
    TINY_BLENDERBOT: "tf_blenderbot_for_conditional_generation",
}


# -- the layouts transformers 4.x writes ----------------------------------------------------


def _is_norm(name: str) -> bool:
    return "layer_norm" in name or "layernorm" in name


def tf_variable(name: str, model_name: str) -> str:
    """The full TensorFlow name transformers 4.x's TF classes give PyTorch tensor ``name``."""
    if name == "model.shared.weight":
        return "model.shared/model.shared/embeddings:0"
    if name == "final_logits_bias":
        return "final_logits_bias:0"
    parts = name.split(".")
    last = parts.pop()
    scopes: list[str] = []
    for part in parts:  # a layer's number belongs to its scope: layers.0
        if part.isdigit():
            scopes[-1] += f".{part}"
        else:
            scopes.append(part)
    if last == "weight":
        if scopes[-1] == "embed_positions":
            last = "embeddings"
        else:
            last = "gamma" if _is_norm(scopes[-1]) else "kernel"
    elif last == "bias" and _is_norm(scopes[-1]):
        last = "beta"
    return "/".join([model_name, *scopes, f"{last}:0"])


def tf_values(source: Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors under their TensorFlow names, kernels transposed."""
    values = {}
    for name, value in load_file(source / "model.safetensors").items():
        variable = tf_variable(name, TF_MODEL_NAMES[source])
        values[variable] = value.T if variable.endswith("kernel:0") else value
    return values


def _names_attribute(names: list[str]) -> np.ndarray:
    return np.array([name.encode("utf-8") for name in names])


def write_tf_h5(path: Path, values: dict[str, np.ndarray]) -> None:
    """Keras' save_weights layout: top layers as groups, each variable at its full name."""
    layers: dict[str, list[str]] = {}
    for variable in values:
        layer = "final_logits_bias" if variable.startswith("final_logits_bias") else "model"
        layers.setdefault(layer, []).append(variable)
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = _names_attribute(list(layers))
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["keras_version"] = b"2.15.0"
        for layer, variables in layers.items():
            group = h5.create_group(layer)
            group.attrs["weight_names"] = _names_attribute(variables)
            for variable in variables:
                group.create_dataset(variable, data=values[variable])


def write_tf_shards(directory: Path, values: dict[str, np.ndarray], count: int) -> None:
    """transformers 4.x's sharded layout: datasets at each shard's root, named without the model
    name unless the name holds ``model.``; the index maps full names to shards."""
    variables = sorted(values)
    weight_map = {}
    for index in range(count):
        shard = f"tf_model-{index + 1:05d}-of-{count:05d}.h5"
        names = []
        with h5py.File(directory / shard, "w") as h5:
            for variable in variables[index::count]:
                stored = variable
                if "model." not in variable and "/" in variable:
                    stored = variable.split("/", 1)[1]
                h5.create_dataset(stored, data=values[variable])
                names.append(stored)
                weight_map[variable] = shard
            h5.attrs["layer_names"] = _names_attribute(names)
    index_json = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (directory / "tf_model.h5.index.json").write_text(json.dumps(index_json), encoding="utf-8")


def flax_path(name: str) -> list[str]:
    """The path transformers 4.x's Flax classes give PyTorch tensor ``name``."""
    parts = name.split(".")
    last = parts.pop()
    if last == "weight":
        if parts[-1] in ("shared", "embed_positions"):
            last = "embedding"
        else:
            last = "scale" if _is_norm(parts[-1]) else "kernel"
    return [*parts, last]


def _packed_array(value: np.ndarray) -> msgpack.ExtType:
    dtype = "bfloat16" if value.dtype == np.uint16 else value.dtype.name
    payload = msgpack.packb((value.shape, dtype, value.tobytes("C")), use_bin_type=True)
    return msgpack.ExtType(1, payload)


def flax_tree(source: Path) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in load_file(source / "model.safetensors").items():
        path = flax_path(name)
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value.T if path[-1] == "kernel" else value
    return tree


def _packable(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {key: _packable(value) for key, value in tree.items()}
    return _packed_array(np.ascontiguousarray(tree))


def write_flax_msgpack(path: Path, tree: dict[str, Any]) -> None:
    path.write_bytes(msgpack.packb(_packable(tree), use_bin_type=True))


def _flatten(tree: dict[str, Any], parts: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, (*parts, key)))
        else:
            flat[(*parts, key)] = value
    return flat


def write_flax_shards(directory: Path, tree: dict[str, Any], count: int) -> None:
    flat = _flatten(tree)
    paths = sorted(flat)
    weight_map = {}
    for index in range(count):
        shard = f"flax_model-{index + 1:05d}-of-{count:05d}.msgpack"
        shard_tree: dict[str, Any] = {}
        for path in paths[index::count]:
            node = shard_tree
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = flat[path]
            weight_map["/".join(path)] = shard
        write_flax_msgpack(directory / shard, shard_tree)
    index_json = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (directory / "flax_model.msgpack.index.json").write_text(json.dumps(index_json), "utf-8")


def checkpoint_without_weights(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in COPIED:
        if (source / name).exists():
            shutil.copy(source / name, target / name)
    if not (target / "vocab.json").exists():
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(SMALL / name, target / name)
    return target


def tf_checkpoint(source: Path, target: Path, shards: int = 0) -> Path:
    checkpoint_without_weights(source, target)
    if shards:
        write_tf_shards(target, tf_values(source), shards)
    else:
        write_tf_h5(target / "tf_model.h5", tf_values(source))
    return target


def flax_checkpoint(source: Path, target: Path, shards: int = 0) -> Path:
    checkpoint_without_weights(source, target)
    if shards:
        write_flax_shards(target, flax_tree(source), shards)
    else:
        write_flax_msgpack(target / "flax_model.msgpack", flax_tree(source))
    return target


MODEL_CLASSES = {
    SMALL: (BlenderbotSmallForConditionalGeneration, BlenderbotSmallModel),
    TINY_BLENDERBOT: (BlenderbotForConditionalGeneration, BlenderbotModel),
}
WRITERS = {"tf": tf_checkpoint, "flax": flax_checkpoint}


# -- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shards", [0, 2], ids=["one file", "sharded"])
@pytest.mark.parametrize("framework", ["tf", "flax"])
@pytest.mark.parametrize("source", [SMALL, TINY_BLENDERBOT], ids=["small", "blenderbot"])
def test_a_tf_or_flax_checkpoint_computes_the_safetensors_logits(
    source: Path, framework: str, shards: int, tmp_path: Path
) -> None:
    directory = WRITERS[framework](source, tmp_path / "checkpoint", shards)
    model_class = MODEL_CLASSES[source][0]
    expected = model_class.from_pretrained(source)(**INPUTS).logits
    logits = model_class.from_pretrained(directory)(**INPUTS).logits
    np.testing.assert_array_equal(logits, expected)


@pytest.mark.parametrize("framework", ["tf", "flax"])
@pytest.mark.parametrize("source", [SMALL, TINY_BLENDERBOT], ids=["small", "blenderbot"])
def test_the_bare_model_reads_a_tf_or_flax_checkpoint(
    source: Path, framework: str, tmp_path: Path
) -> None:
    directory = WRITERS[framework](source, tmp_path / "checkpoint")
    bare = MODEL_CLASSES[source][1]
    expected = bare.from_pretrained(source)(**INPUTS).last_hidden_state
    hidden = bare.from_pretrained(directory)(**INPUTS).last_hidden_state
    np.testing.assert_array_equal(hidden, expected)


def test_kernels_read_as_pytorch_linear_weights(tmp_path: Path) -> None:
    directory = tf_checkpoint(SMALL, tmp_path / "checkpoint")
    weights = TFCheckpoint(directory / "tf_model.h5")
    expected = load_file(SMALL / "model.safetensors")["model.encoder.layers.0.fc1.weight"]
    name = "model.encoder.layers.0.fc1.weight"
    assert weights.shape(name) == expected.shape == (32, 16)
    np.testing.assert_array_equal(weights.get(name, np.float16), expected)


@pytest.mark.parametrize("framework", ["tf", "flax"])
def test_auto_model_loads_a_directory_with_only_tf_or_flax_weights(
    framework: str, tmp_path: Path
) -> None:
    directory = WRITERS[framework](TINY_BLENDERBOT, tmp_path / "checkpoint")
    assert type(auto_model(directory)).__name__ == "BlenderbotForConditionalGeneration"


def test_safetensors_come_before_the_tf_and_flax_files(tmp_path: Path) -> None:
    directory = tf_checkpoint(SMALL, tmp_path / "checkpoint")
    write_flax_msgpack(directory / "flax_model.msgpack", flax_tree(SMALL))
    shutil.copy(SMALL / "model.safetensors", directory)
    assert type(open_weights(directory)).__name__ == "SafetensorsFile"


def test_the_tf_file_comes_before_the_flax_file(tmp_path: Path) -> None:
    directory = tf_checkpoint(SMALL, tmp_path / "checkpoint")
    write_flax_msgpack(directory / "flax_model.msgpack", flax_tree(SMALL))
    assert isinstance(open_weights(directory), TFCheckpoint)


def test_flax_bfloat16_parameters_are_widened_exactly(tmp_path: Path) -> None:
    bits = np.array([0x3F80, 0xC000, 0x0001], dtype=np.uint16)  # 1.0, -2.0, a subnormal
    path = tmp_path / "flax_model.msgpack"
    write_flax_msgpack(path, {"final_logits_bias": bits.reshape(1, 3)})
    weights = FlaxCheckpoint(path)
    assert weights.stored_dtype("final_logits_bias") == "BF16"
    expected = np.array([[1.0, -2.0, np.float32(2.0**-133)]], dtype=np.float32)
    np.testing.assert_array_equal(weights.get("final_logits_bias", np.float32), expected)
