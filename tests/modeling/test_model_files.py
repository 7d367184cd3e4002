"""Loading checkpoints: config.json as transformers reads it, model.safetensors with errors that
name the tensor, and nothing read past what the file holds."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.architectures import BLENDERBOT_SMALL
from bbtok.modeling.config import DEFAULTS, BlenderbotSmallConfig
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration
from bbtok.modeling.weights import SafetensorsFile

safetensors_numpy = pytest.importorskip("safetensors.numpy")

TINY_MODEL = SAMPLE_CHECKPOINT
Model = BlenderbotSmallForConditionalGeneration


def copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(TINY_MODEL, target)
    return target


def test_config_defaults_are_transformers_ones() -> None:
    config = BlenderbotSmallConfig()
    assert (config.d_model, config.encoder_layers, config.vocab_size) == (512, 8, 50265)
    assert config.to_diff_dict() == {"model_type": "blenderbot-small"}
    assert config.to_dict()["forced_eos_token_id"] == 2
    assert BlenderbotSmallConfig.from_dict(config.to_dict()) == config
    aliased = BlenderbotSmallConfig(hidden_size=64, num_attention_heads=4)
    assert (aliased.d_model, aliased.encoder_attention_heads) == (64, 4)


def test_config_of_the_tiny_checkpoint(tmp_path: Path) -> None:
    config = BlenderbotSmallConfig.from_pretrained(TINY_MODEL)
    written = json.loads((TINY_MODEL / "config.json").read_text(encoding="utf-8"))
    for key in DEFAULTS:
        if key in written:
            assert getattr(config, key) == written[key], key
    assert config.generation_config is not None
    assert config.generation_config["num_beams"] == 2
    # save_pretrained writes the differences, which read back to the same configuration.
    config.save_pretrained(tmp_path)
    again = BlenderbotSmallConfig.from_pretrained(tmp_path)
    assert again == config and again.generation_config is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"d_model": 10, "encoder_attention_heads": 4}, "divisible by encoder_attention_heads"),
        ({"decoder_layers": 0}, "decoder_layers must be a positive int"),
        ({"vocab_size": "big"}, "vocab_size must be a positive int"),
        ({"activation_function": "tanh"}, "activation_function 'tanh' is not supported"),
    ],
)
def test_bad_configs_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BlenderbotSmallConfig(**values)


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="not a directory"):
        BlenderbotSmallConfig.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text('{"d_model": 16,\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"config\.json: invalid JSON at line 2"):
        BlenderbotSmallConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "bart"}', encoding="utf-8")
    with pytest.raises(ValueError, match="model_type is 'bart'"):
        BlenderbotSmallConfig.from_pretrained(tmp_path)


def test_weights_read_as_the_safetensors_package_reads_them() -> None:
    path = TINY_MODEL / "model.safetensors"
    expected = safetensors_numpy.load_file(path)
    ours = SafetensorsFile(path)
    assert set(ours) == set(expected)
    for name, array in expected.items():
        view = ours.get(name, array.dtype.type)
        np.testing.assert_array_equal(view, array)
        assert not view.flags.writeable  # a view of the memory-mapped file, not a copy
        np.testing.assert_array_equal(ours.get(name, np.float64), array.astype(np.float64))


def test_bfloat16_and_unaligned_tensors(tmp_path: Path) -> None:
    values = np.array([[1.5, -2.25], [3.0, 0.1]], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype(np.uint16)
    header = {
        "odd": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]},
        "b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [2, 10]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (1 - len(raw) % 2)  # an odd header length: "b" starts on an odd byte
    data = np.float16(7).tobytes() + bf16.tobytes()
    path = tmp_path / "w.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)
    weights = SafetensorsFile(path)
    np.testing.assert_array_equal(weights.get("odd", np.float32), [7.0])
    truncated = (bf16.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(weights.get("b", np.float32), truncated)


def test_truncated_or_inconsistent_weights_name_the_tensor(tmp_path: Path) -> None:
    directory = copy_model(tmp_path)
    path = directory / "model.safetensors"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 100])
    with pytest.raises(
        ValueError, match=r"tensor '.*': its data ends .* \(the file is truncated\)"
    ):
        Model.from_pretrained(directory)
    path.write_bytes(whole[:5])
    with pytest.raises(ValueError, match="not a safetensors file"):
        Model.from_pretrained(directory)
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        Model.from_pretrained(directory)


def save_weights(directory: Path, tensors: dict[str, np.ndarray]) -> None:
    safetensors_numpy.save_file(tensors, directory / "model.safetensors", {"format": "pt"})


def test_missing_mismatched_and_unexpected_tensors(tmp_path: Path) -> None:
    directory = copy_model(tmp_path)
    tensors = safetensors_numpy.load_file(TINY_MODEL / "model.safetensors")
    name = "model.decoder.layers.1.fc2.weight"
    assert name in tensors

    save_weights(directory, {k: v for k, v in tensors.items() if k != name})
    with pytest.raises(ValueError, match=rf"tensor '{name}' \(shape \(16, 32\)\) is missing"):
        Model.from_pretrained(directory)

    save_weights(directory, {**tensors, name: tensors[name][:, :30].copy()})
    with pytest.raises(ValueError, match=rf"'{name}' has shape \(16, 30\), .* needs \(16, 32\)"):
        Model.from_pretrained(directory)

    extra = {**tensors, "model.decoder.layers.2.fc2.weight": tensors[name]}
    save_weights(directory, extra)
    with pytest.raises(ValueError, match="1 tensors the configuration has no place for"):
        Model.from_pretrained(directory)


def test_names_without_the_model_prefix_and_without_final_logits_bias(tmp_path: Path) -> None:
    directory = copy_model(tmp_path)
    tensors = safetensors_numpy.load_file(TINY_MODEL / "model.safetensors")
    renamed = {k.removeprefix("model."): v for k, v in tensors.items() if k != "final_logits_bias"}
    save_weights(directory, renamed)
    model = Model.from_pretrained(directory, dtype="float64")
    original = Model.from_pretrained(TINY_MODEL, dtype="float64")
    ids, targets = np.array([[5, 6, 7, 2]]), np.array([[1, 9, 10]])
    bias = tensors["final_logits_bias"][0].astype(np.float64)
    np.testing.assert_array_equal(
        model(ids, decoder_input_ids=targets).logits + bias,
        original(ids, decoder_input_ids=targets).logits,
    )


def test_an_architecture_entry_is_all_the_loader_needs_for_other_tensor_names(
    tmp_path: Path,
) -> None:
    # Another layout of the same model: the weights renamed, and an Architecture naming them.
    renames = {".self_attn.": ".attention.", ".fc1.": ".mlp_in.", "layernorm_embedding": "ln_emb"}
    renamed_architecture = dataclasses.replace(
        BLENDERBOT_SMALL,
        self_attention="attention",
        feed_forward_in="mlp_in",
        embedding_norm="{side}.ln_emb",
    )

    class RenamedModel(Model):
        architecture = renamed_architecture

    directory = copy_model(tmp_path)
    tensors = safetensors_numpy.load_file(TINY_MODEL / "model.safetensors")
    renamed = {}
    for name, tensor in tensors.items():
        for old, new in renames.items():
            name = name.replace(old, new)
        renamed[name] = tensor
    save_weights(directory, renamed)
    ids, targets = np.array([[5, 6, 7, 2]]), np.array([[1, 9, 10]])
    np.testing.assert_array_equal(
        RenamedModel.from_pretrained(directory)(ids, decoder_input_ids=targets).logits,
        Model.from_pretrained(TINY_MODEL)(ids, decoder_input_ids=targets).logits,
    )
    missing = re.escape("'model.encoder.layernorm_embedding.weight'")
    with pytest.raises(ValueError, match=f"{missing} .* is missing"):
        Model.from_pretrained(directory)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"input_ids": [[1.5, 2.0]], "decoder_input_ids": [[1]]}, "input_ids must be integer"),
        ({"input_ids": [[5, 99999]], "decoder_input_ids": [[1]]}, r"outside \[0, 16388\)"),
        ({"input_ids": [[5] * 65], "decoder_input_ids": [[1]]}, "65 positions"),
        ({"input_ids": [[5, 6]], "attention_mask": [[1]], "decoder_input_ids": [[1]]}, "0/1"),
        ({"input_ids": [[5, 6]]}, "decoder_input_ids is required"),
        ({"input_ids": [[5, 6]], "decoder_input_ids": [[1], [1]]}, "2 rows, input_ids 1"),
    ],
)
def test_bad_model_inputs_are_named(call: dict[str, object], message: str) -> None:
    model = Model.from_pretrained(TINY_MODEL)
    with pytest.raises(ValueError, match=message):
        model(**call)


def test_bad_dtype() -> None:
    with pytest.raises(ValueError, match="dtype must be one of float32, float64"):
        Model.from_pretrained(TINY_MODEL, dtype="float16")
