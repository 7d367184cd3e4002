"""``bbtok convert``: every checkpoint form rewritten as the one ``model.safetensors`` transformers
saves, read back by bbtok, by the ``safetensors`` package and by transformers; dtype
conversions checked against numpy's and torch's own rounding."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_tf_flax import INPUTS, TINY_BLENDERBOT, WRITERS

import bbtok.modeling.convert
from bbtok.cli import main
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.convert import convert
from bbtok.modeling.seq2seq import BlenderbotForConditionalGeneration
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration as Model
from bbtok.modeling.weights import SafetensorsFile

from conftest import FIXTURES, run_python_child

TORCH_CHECKPOINTS = FIXTURES / "torch_checkpoints"
FORMS = ["single", "sharded_bin", "sharded_safetensors"]
SAMPLE_FILES = ("config.json", "generation_config.json", "vocab.json", "merges.txt")
BYTE_LEVEL = FIXTURES / "byte_level"
BYTE_LEVEL_FILES = ("vocab.json", "merges.txt", "tokenizer_config.json")
IDS, TARGETS = np.array([[5, 6, 7, 2], [9, 10, 2, 0]]), np.array([[1, 9, 10], [1, 5, 6]])
MASK = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])


def full_checkpoint(tmp_path: Path, form: str) -> Path:
    """A fixture's weights with the sample checkpoint's configuration and tokenizer files."""
    directory = tmp_path / form
    shutil.copytree(TORCH_CHECKPOINTS / form, directory)
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLE_CHECKPOINT / name, directory)
    return directory


def logits(directory: Path) -> np.ndarray:
    model = Model.from_pretrained(directory)
    return model(IDS, MASK, decoder_input_ids=TARGETS).logits


def safetensors_numpy() -> Any:
    return pytest.importorskip("safetensors.numpy", reason="the safetensors package is the oracle")


def float32_checkpoint(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """The sample's files with random float32 weights (most not representable in float16 or
    bfloat16), written by the safetensors package; and those weights."""
    save_file = safetensors_numpy().save_file
    directory = tmp_path / "float32"
    directory.mkdir()
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLE_CHECKPOINT / name, directory)
    sample = SafetensorsFile(SAMPLE_CHECKPOINT / "model.safetensors")
    generator = np.random.default_rng(0)
    weights = {
        name: (generator.standard_normal(sample.shape(name)) * 0.1).astype(np.float32)
        for name in sample
    }
    # Halfway cases, where the rounding rule decides: 1 + 2**-8 lies halfway between the
    # bfloat16 numbers 1 and 1 + 2**-7 (ties to even: 1), 1 + 3 * 2**-8 between 1 + 2**-7 and
    # 1 + 2**-6 (ties to even: the latter); 1 + 2**-11 likewise for float16. And the specials.
    edge = [1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-11, 1 + 3 * 2**-11, np.inf, -np.inf, np.nan, -0.0]
    bias = weights["final_logits_bias"]
    bias[0, : len(edge)] = edge
    save_file(weights, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory, weights


# -- every form converts to the checkpoint transformers saves ---------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_every_checkpoint_form_converts_to_the_logits_of_the_sample_checkpoint(
    tmp_path: Path, form: str
) -> None:
    output = convert(full_checkpoint(tmp_path, form), tmp_path / "out")
    np.testing.assert_array_equal(logits(output), logits(SAMPLE_CHECKPOINT))


@pytest.mark.parametrize("form", FORMS)
def test_the_converted_file_holds_the_tensors_transformers_saved_in_the_sample(
    tmp_path: Path, form: str
) -> None:
    # The sample's model.safetensors was written by transformers' save_pretrained: the same
    # names (tied embeddings once, as model.shared.weight), dtypes and values.
    load_file = safetensors_numpy().load_file
    output = convert(full_checkpoint(tmp_path, form), tmp_path / "out")
    written = load_file(str(output / "model.safetensors"))
    saved = load_file(str(SAMPLE_CHECKPOINT / "model.safetensors"))
    assert sorted(written) == sorted(saved)
    for name, array in saved.items():
        assert written[name].dtype == array.dtype, name
        np.testing.assert_array_equal(written[name], array, err_msg=name)


def test_the_configuration_and_tokenizer_files_are_written_beside_the_weights(
    tmp_path: Path,
) -> None:
    output = convert(full_checkpoint(tmp_path, "single"), tmp_path / "out")
    for name in ("config.json", "generation_config.json"):
        assert json.loads((output / name).read_text()) == json.loads(
            (SAMPLE_CHECKPOINT / name).read_text()
        )
    for name in ("vocab.json", "merges.txt"):
        assert (output / name).read_bytes() == (SAMPLE_CHECKPOINT / name).read_bytes()


def test_the_tokenizer_files_are_copied_and_none_is_added(tmp_path: Path) -> None:
    output = convert(full_checkpoint(tmp_path, "single"), tmp_path / "out")
    assert sorted(path.name for path in output.iterdir()) == [
        "config.json",
        "generation_config.json",
        "merges.txt",
        "model.safetensors",
        "vocab.json",
    ]


def test_a_source_without_generation_config_gives_none(tmp_path: Path) -> None:
    source = full_checkpoint(tmp_path, "single")
    (source / "generation_config.json").unlink()
    output = convert(source, tmp_path / "out")
    assert not (output / "generation_config.json").exists()


def test_the_safetensors_package_reads_what_bbtok_reads(tmp_path: Path) -> None:
    load_file = safetensors_numpy().load_file
    source, _ = float32_checkpoint(tmp_path)
    for dtype, kind in [("float32", np.float32), ("float16", np.float16)]:
        output = convert(source, tmp_path / f"as-{dtype}", dtype=dtype)
        theirs = load_file(str(output / "model.safetensors"))
        ours = SafetensorsFile(output / "model.safetensors")
        assert sorted(theirs) == sorted(ours)
        for name, array in theirs.items():
            assert array.dtype == kind
            np.testing.assert_array_equal(ours.get(name, kind), array, err_msg=name)


# -- transformers loads the result ------------------------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("form", FORMS)
def test_transformers_loads_the_result_with_no_missing_or_unexpected_keys(
    tmp_path: Path, form: str
) -> None:
    torch = pytest.importorskip("torch", reason="loading in transformers needs torch")
    transformers = pytest.importorskip("transformers")
    output = convert(full_checkpoint(tmp_path, form), tmp_path / "out")
    reference, info = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(
        output, dtype=torch.float32, attn_implementation="eager", output_loading_info=True
    )
    assert not info["missing_keys"]
    assert not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    reference.eval()
    with torch.no_grad():
        expected = reference(
            input_ids=torch.tensor(IDS),
            attention_mask=torch.tensor(MASK),
            decoder_input_ids=torch.tensor(TARGETS),
        ).logits.numpy()
    np.testing.assert_allclose(logits(output), expected, atol=1e-4, rtol=0)


# -- dtypes -----------------------------------------------------------------------------------


def test_float32_converts_to_float16_with_numpys_rounding(tmp_path: Path) -> None:
    source, weights = float32_checkpoint(tmp_path)
    written = SafetensorsFile(
        convert(source, tmp_path / "out", dtype="float16") / "model.safetensors"
    )
    for name, array in weights.items():
        np.testing.assert_array_equal(written.get(name, np.float16), array.astype(np.float16))


@pytest.mark.live
def test_float32_converts_to_bfloat16_as_torch_rounds_it(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch's bfloat16 is the oracle")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    source, weights = float32_checkpoint(tmp_path)
    output = convert(source, tmp_path / "out", dtype="bfloat16")
    written = safetensors_torch.load_file(str(output / "model.safetensors"))
    assert sorted(written) == sorted(weights)
    for name, array in weights.items():
        assert written[name].dtype == torch.bfloat16
        expected = torch.from_numpy(array).to(torch.bfloat16)
        # Bit patterns, so that -0.0 differs from 0.0; torch writes every NaN as 0xFFFF, bbtok
        # keeps the float32 NaN's sign and payload (as truncation would): NaN is all that counts.
        nan = torch.isnan(expected)
        assert torch.equal(torch.isnan(written[name]), nan), name
        bits, expected_bits = written[name].view(torch.int16), expected.view(torch.int16)
        assert torch.equal(bits[~nan], expected_bits[~nan]), name
    assert json.loads((output / "config.json").read_text())["dtype"] == "bfloat16"


def test_bfloat16_weights_keep_their_bits_by_default(tmp_path: Path) -> None:
    source, _ = float32_checkpoint(tmp_path)
    first = convert(source, tmp_path / "bfloat16", dtype="bfloat16")
    again = convert(first, tmp_path / "again")
    assert (again / "model.safetensors").read_bytes() == (first / "model.safetensors").read_bytes()


def test_float16_round_trips_through_float32_to_the_same_bits(tmp_path: Path) -> None:
    wide = convert(SAMPLE_CHECKPOINT, tmp_path / "float32", dtype="float32")
    narrow = convert(wide, tmp_path / "float16", dtype="float16")
    assert json.loads((wide / "config.json").read_text())["dtype"] == "float32"
    assert (narrow / "model.safetensors").read_bytes() == (
        SAMPLE_CHECKPOINT / "model.safetensors"
    ).read_bytes()


def test_float32_weights_stay_float32_by_default(tmp_path: Path) -> None:
    source, weights = float32_checkpoint(tmp_path)
    written = SafetensorsFile(convert(source, tmp_path / "out") / "model.safetensors")
    for name, array in weights.items():
        np.testing.assert_array_equal(written.get(name, np.float32), array)


# -- writing as a set -------------------------------------------------------------------------


def test_an_interrupted_conversion_leaves_no_output_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = bbtok.modeling.convert.encoded

    def failing(values: np.ndarray, stored: str) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise KeyboardInterrupt
        return real(values, stored)

    monkeypatch.setattr(bbtok.modeling.convert, "encoded", failing)
    parent = tmp_path / "parent"
    parent.mkdir()
    with pytest.raises(KeyboardInterrupt):
        convert(SAMPLE_CHECKPOINT, parent / "out", dtype="bfloat16")
    assert calls == 20
    assert list(parent.iterdir()) == []


def test_an_existing_directory_is_refused_and_kept_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    assert main(["convert", str(SAMPLE_CHECKPOINT), "-o", str(output)]) == 1
    assert "bbtok: error:" in capsys.readouterr().err
    assert [path.name for path in output.iterdir()] == ["keep.txt"]
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_overwrite_replaces_the_checkpoint_files_and_keeps_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "config.json").write_text("{}")
    (output / "notes.txt").write_text("mine")
    (output / "runs").mkdir()
    code = main(["convert", str(SAMPLE_CHECKPOINT), "-o", str(output), "--overwrite"])
    assert code == 0
    assert capsys.readouterr().out == f"{output}\n"
    assert (output / "notes.txt").read_text() == "mine"
    assert (output / "runs").is_dir()
    assert [path.name for path in tmp_path.iterdir()] == ["out"]
    np.testing.assert_array_equal(logits(output), logits(SAMPLE_CHECKPOINT))


def test_overwrite_removes_the_old_shards_and_index_the_new_set_lacks(tmp_path: Path) -> None:
    output = full_checkpoint(tmp_path, "sharded_safetensors")
    (output / "pytorch_model.bin").write_bytes(b"old")
    convert(SAMPLE_CHECKPOINT, output, overwrite=True)
    assert sorted(path.name for path in output.iterdir()) == sorted(
        ["model.safetensors", "tokenizer_config.json", *SAMPLE_FILES]
    )


def test_a_failed_overwrite_leaves_the_old_checkpoint_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = full_checkpoint(tmp_path, "sharded_safetensors")
    before = {path.name: path.read_bytes() for path in output.iterdir()}

    def full_disk(*arguments: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bbtok.modeling.convert, "write_safetensors", full_disk)
    with pytest.raises(OSError, match="No space left"):
        convert(SAMPLE_CHECKPOINT, output, overwrite=True)
    assert {path.name: path.read_bytes() for path in output.iterdir()} == before


def test_overwriting_the_working_directory_leaves_no_stray_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    monkeypatch.chdir(output)
    convert(SAMPLE_CHECKPOINT, ".", overwrite=True)
    assert (output / "notes.txt").read_text() == "mine"
    assert (output / "model.safetensors").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_a_failed_conversion_leaves_no_parent_directory_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*arguments: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bbtok.modeling.convert, "write_safetensors", full_disk)
    with pytest.raises(OSError, match="No space left"):
        convert(SAMPLE_CHECKPOINT, tmp_path / "new" / "parents" / "out")
    assert list(tmp_path.iterdir()) == []


# -- the source is never written ---------------------------------------------------------------


def copied_sample(directory: Path) -> dict[str, bytes]:
    """The sample checkpoint copied to ``directory``, with a file of the user's; their bytes."""
    shutil.copytree(SAMPLE_CHECKPOINT, directory)
    (directory / "notes.txt").write_text("mine")
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def test_an_output_that_holds_the_source_is_refused_and_nothing_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "checkpoint"
    files = copied_sample(source)
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["convert", str(source), "-o", str(tmp_path), "--overwrite"]) == 1
    assert capsys.readouterr().err == (
        f"bbtok: error: the output {tmp_path} contains the source checkpoint {source}: "
        "write to a directory apart from it\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint", "notes.txt"]
    assert {path.name: path.read_bytes() for path in source.iterdir()} == files


def test_converting_a_checkpoint_into_itself_is_refused_and_it_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "checkpoint"
    files = copied_sample(source)
    arguments = ["-o", str(source), "--overwrite", "--dtype", "float16"]
    assert main(["convert", str(source), *arguments]) == 1
    assert f"the output {source} is the source checkpoint {source}" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in source.iterdir()} == files


def test_an_output_inside_the_source_is_refused_and_not_made(tmp_path: Path) -> None:
    source = tmp_path / "checkpoint"
    files = copied_sample(source)
    with pytest.raises(ValueError, match="lies inside the source checkpoint"):
        convert(source, source / "converted")
    assert {path.name: path.read_bytes() for path in source.iterdir()} == files


def test_a_source_reached_through_a_symlink_is_still_the_source(tmp_path: Path) -> None:
    source = tmp_path / "checkpoint"
    files = copied_sample(source)
    (tmp_path / "link").symlink_to(source)
    shown = f"is the source checkpoint {tmp_path / 'link'} ({source})"
    with pytest.raises(ValueError, match=re.escape(shown)):
        convert(tmp_path / "link", source, overwrite=True)
    assert {path.name: path.read_bytes() for path in source.iterdir()} == files


def test_an_output_file_the_source_links_to_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out"
    copied_sample(output)
    source = tmp_path / "checkpoint"
    source.mkdir()
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLE_CHECKPOINT / name, source)
    (source / "model.safetensors").symlink_to(output / "model.safetensors")
    weights = (output / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match=r"model\.safetensors is a file this run reads"):
        convert(source, output, overwrite=True, dtype="float16")
    assert (output / "model.safetensors").read_bytes() == weights


def test_an_empty_existing_directory_is_filled(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    convert(SAMPLE_CHECKPOINT, output)
    assert (output / "model.safetensors").exists()


def test_the_command_converts_to_the_dtype_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert main(["convert", str(SAMPLE_CHECKPOINT), "-o", str(output), "--dtype", "float32"]) == 0
    assert capsys.readouterr().out == f"{output}\n"
    load_file = safetensors_numpy().load_file
    written = load_file(str(output / "model.safetensors"))
    for name, array in load_file(str(SAMPLE_CHECKPOINT / "model.safetensors")).items():
        assert written[name].dtype == np.float32
        np.testing.assert_array_equal(written[name], array.astype(np.float32))


def test_a_checkpoint_the_model_would_refuse_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    save_file = safetensors_numpy().save_file
    source, weights = float32_checkpoint(tmp_path)
    weights["model.encoder.surplus.weight"] = np.zeros(3, dtype=np.float32)
    save_file(weights, str(source / "model.safetensors"))
    with pytest.raises(ValueError, match="no place for"):
        convert(source, tmp_path / "out")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["float32"]


def test_a_base_model_checkpoint_is_renamed_to_the_file_transformers_saved(tmp_path: Path) -> None:
    # BlenderbotSmallModel's names have no "model."; here the embeddings are only under
    # encoder.embed_tokens, which the loader also reads. The sample was saved by transformers.
    numpy_safetensors = safetensors_numpy()
    sample = numpy_safetensors.load_file(str(SAMPLE_CHECKPOINT / "model.safetensors"))
    renamed = {
        name.removeprefix("model.").replace("shared.weight", "encoder.embed_tokens.weight"): array
        for name, array in sample.items()
    }
    source = tmp_path / "base"
    source.mkdir()
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLE_CHECKPOINT / name, source)
    numpy_safetensors.save_file(renamed, str(source / "model.safetensors"))
    output = convert(source, tmp_path / "out")
    written = (output / "model.safetensors").read_bytes()
    assert written == (SAMPLE_CHECKPOINT / "model.safetensors").read_bytes()


# -- Blenderbot, with its byte-level tokenizer ------------------------------------------------


def blenderbot_checkpoint(tmp_path: Path, weights: str = "safetensors") -> Path:
    """The tiny Blenderbot (pre-LayerNorm) checkpoint with a byte-level tokenizer beside it, its
    weights as safetensors or in the TensorFlow or Flax layout of transformers 4.x."""
    directory = tmp_path / f"blenderbot-{weights}"
    if weights == "safetensors":
        shutil.copytree(TINY_BLENDERBOT, directory)
    else:
        WRITERS[weights](TINY_BLENDERBOT, directory)
    for name in BYTE_LEVEL_FILES:
        shutil.copy(BYTE_LEVEL / name, directory / name)
    return directory


def blenderbot_logits(directory: Path) -> np.ndarray:
    return BlenderbotForConditionalGeneration.from_pretrained(directory)(**INPUTS).logits


@pytest.mark.parametrize("weights", ["safetensors", "tf", "flax"])
def test_a_blenderbot_checkpoint_converts_to_the_logits_of_its_source(
    tmp_path: Path, weights: str
) -> None:
    output = convert(blenderbot_checkpoint(tmp_path, weights), tmp_path / "out")
    np.testing.assert_array_equal(blenderbot_logits(output), blenderbot_logits(TINY_BLENDERBOT))


def test_a_blenderbot_checkpoint_keeps_its_byte_level_tokenizer_byte_for_byte(
    tmp_path: Path,
) -> None:
    output = convert(blenderbot_checkpoint(tmp_path), tmp_path / "out")
    for name in BYTE_LEVEL_FILES:
        assert (output / name).read_bytes() == (BYTE_LEVEL / name).read_bytes(), name


def test_the_chat_templates_are_copied_byte_for_byte(tmp_path: Path) -> None:
    source = blenderbot_checkpoint(tmp_path)
    (source / "chat_template.jinja").write_bytes(b"{{ messages[0]['content'] }}\n")
    (source / "additional_chat_templates").mkdir()
    (source / "additional_chat_templates" / "tool_use.jinja").write_bytes(b"{{ tools }}")
    output = convert(source, tmp_path / "out")
    assert (output / "chat_template.jinja").read_bytes() == b"{{ messages[0]['content'] }}\n"
    assert (output / "additional_chat_templates" / "tool_use.jinja").read_bytes() == b"{{ tools }}"


def test_overwrite_puts_the_new_chat_templates_in_place_and_removes_the_old_ones(
    tmp_path: Path,
) -> None:
    source = blenderbot_checkpoint(tmp_path)
    (source / "additional_chat_templates").mkdir()
    (source / "additional_chat_templates" / "tool_use.jinja").write_bytes(b"new")
    output = tmp_path / "out"
    (output / "additional_chat_templates").mkdir(parents=True)
    (output / "additional_chat_templates" / "tool_use.jinja").write_bytes(b"old")
    (output / "additional_chat_templates" / "stale.jinja").write_bytes(b"old")
    (output / "additional_chat_templates" / "notes.txt").write_bytes(b"mine")
    convert(source, output, overwrite=True)
    assert sorted(path.name for path in (output / "additional_chat_templates").iterdir()) == [
        "notes.txt",
        "tool_use.jinja",
    ]
    assert (output / "additional_chat_templates" / "tool_use.jinja").read_bytes() == b"new"


def test_a_decoder_only_checkpoint_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    source = tmp_path / "causal"
    shutil.copytree(FIXTURES / "tiny_blenderbot_small_causal", source)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(SAMPLE_CHECKPOINT / name, source)
    with pytest.raises(ValueError, match="BlenderbotSmallForCausalLM is a decoder alone"):
        convert(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# With the Rust extension unimportable (an install without it), as the byte-level tokenizer and
# the model need none.
WITHOUT_EXTENSION = """
import sys
sys.modules["bbtok._native"] = None
from bbtok.cli import main
status = main(["convert", sys.argv[1], "-o", sys.argv[2]])
assert "bbtok._native" not in sys.modules or sys.modules["bbtok._native"] is None
sys.exit(status)
"""


@pytest.mark.parametrize("family", ["blenderbot", "blenderbot-small"])
def test_the_command_converts_without_the_rust_extension(tmp_path: Path, family: str) -> None:
    source = blenderbot_checkpoint(tmp_path) if family == "blenderbot" else SAMPLE_CHECKPOINT
    output = tmp_path / "out"
    child = run_python_child(["-c", WITHOUT_EXTENSION, str(source), str(output)], tmp_path, 120)
    assert child.returncode == 0, child.stderr
    assert (output / "model.safetensors").exists()
