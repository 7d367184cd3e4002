"""Files and directories that are not what they claim to be: FIFOs, devices, huge files, mistyped
paths, a disk that fills up halfway through a save, a tampered pickle, a checkpoint truncated
while it is loaded.

A test whose failure would be a hang or an exhausted memory runs its work in a child process
with a timeout (and, where memory is at stake, an address-space limit), so that it fails instead
of stopping the test run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.config import BlenderbotSmallConfig
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration
from bbtok.modeling.weights import SafetensorsFile
from bbtok.storage import files
from bbtok.tokenization.base import AddedToken

from conftest import TINY_VOCAB_DIR, run_python_child

Model = BlenderbotSmallForConditionalGeneration
# Long enough for a child to import bbtok and numpy on a loaded 2-core machine; a FIFO that
# blocks never returns, so any bound fails it.
CHILD_TIMEOUT = 120
# Enough address space for Python, numpy and the Rust core; far less than reading /dev/zero
# until memory runs out would take.
CHILD_ADDRESS_SPACE = 3 * 2**30

LOADER = textwrap.dedent(
    """
    import resource, sys
    kind, directory, address_space = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    if kind == "python":
        from bbtok import BlenderbotSmallTokenizer as loader
    elif kind == "fast":
        from bbtok import BlenderbotSmallTokenizerFast as loader
    elif kind == "config":
        from bbtok.modeling.config import BlenderbotSmallConfig as loader
    else:
        from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration as loader
    try:
        loader.from_pretrained(directory)
    except Exception as error:
        print(f"{type(error).__name__}: {error}")
    else:
        print("loaded")
    """
)


def run_child(
    tmp_path: Path, *args: str, address_space: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run LOADER (or other code given as ``-c CODE``) in a child; a timeout fails the test."""
    command = list(args) if args[0] == "-c" else ["-c", LOADER, *args, str(address_space)]
    return run_python_child(command, tmp_path, CHILD_TIMEOUT, {"BBTOK_NUM_THREADS": "1"})


def copy_of(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=False)
    return target


def replace_with_fifo(path: Path) -> Path:
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    return path


TOKENIZER_FILES = [
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
]
CHECKPOINT_FILES = [
    ("config", "config.json"),
    ("config", "generation_config.json"),
    ("model", "model.safetensors"),
]


# -- FIFOs and devices are refused, without blocking ------------------------------------------


@pytest.mark.parametrize("name", TOKENIZER_FILES)
@pytest.mark.parametrize("kind", ["python", "fast"])
def test_a_fifo_in_a_tokenizer_directory_is_refused_without_blocking(
    tmp_path: Path, kind: str, name: str
) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    fifo = replace_with_fifo(directory / name)
    result = run_child(tmp_path, kind, str(directory))
    assert f"ValueError: {str(fifo)!r} is not a regular file (a FIFO)" in result.stdout, result


@pytest.mark.parametrize(("kind", "name"), CHECKPOINT_FILES)
def test_a_fifo_in_a_checkpoint_directory_is_refused_without_blocking(
    tmp_path: Path, kind: str, name: str
) -> None:
    directory = copy_of(SAMPLE_CHECKPOINT, tmp_path / "model")
    fifo = replace_with_fifo(directory / name)
    result = run_child(tmp_path, kind, str(directory))
    assert f"ValueError: {str(fifo)!r} is not a regular file (a FIFO)" in result.stdout, result


def test_a_path_swapped_for_a_fifo_after_its_check_is_refused_without_blocking(
    tmp_path: Path,
) -> None:
    regular = TINY_VOCAB_DIR / "vocab.json"
    fifo = replace_with_fifo(tmp_path / "vocab.json")
    # os.stat says "regular file" (as it did before the swap); opening and fstat see the FIFO.
    code = textwrap.dedent(
        """
        import os, sys
        from bbtok.tokenization import vocabulary_files
        fifo, regular = sys.argv[1], sys.argv[2]
        real_stat = os.stat
        def stat(path, *args, **kwargs):
            return real_stat(regular if os.fspath(path) == fifo else path, *args, **kwargs)
        os.stat = stat
        try:
            vocabulary_files.read_vocab(fifo)
        except ValueError as error:
            print(error)
        """
    )
    result = run_child(tmp_path, "-c", code, str(fifo), str(regular))
    assert f"{str(fifo)!r} is not a regular file (a FIFO)" in result.stdout, result


def test_the_rust_core_reads_the_file_that_was_checked_not_a_fifo_swapped_in_after(
    tmp_path: Path,
) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    code = textwrap.dedent(
        """
        import contextlib, os, sys
        from bbtok import BlenderbotSmallTokenizerFast
        from bbtok.storage import files
        checked = files.open_regular
        @contextlib.contextmanager
        def then_swapped(path, max_bytes=None):
            with checked(path, max_bytes) as handle:
                os.rename(path, f"{path}.moved")  # the open file lives on
                os.mkfifo(path)
                yield handle
        files.open_regular = then_swapped
        directory = sys.argv[1]
        tok = BlenderbotSmallTokenizerFast(f"{directory}/vocab.json", f"{directory}/merges.txt")
        print("loaded", tok.tokenize("apte"))
        """
    )
    result = run_child(tmp_path, "-c", code, str(directory))
    assert "loaded ['ap@@', 'te']" in result.stdout, result


@pytest.mark.parametrize("kind", ["python", "fast"])
def test_a_vocab_json_linked_to_dev_zero_is_refused_before_it_is_read(
    tmp_path: Path, kind: str
) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    (directory / "vocab.json").unlink()
    (directory / "vocab.json").symlink_to("/dev/zero")
    result = run_child(tmp_path, kind, str(directory), address_space=CHILD_ADDRESS_SPACE)
    expected = f"{str(directory / 'vocab.json')!r} is not a regular file (a character device)"
    assert f"ValueError: {expected}" in result.stdout, result


def test_a_merges_txt_linked_to_dev_zero_is_refused_by_the_fast_tokenizer(tmp_path: Path) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    (directory / "merges.txt").unlink()
    (directory / "merges.txt").symlink_to("/dev/zero")
    result = run_child(tmp_path, "fast", str(directory), address_space=CHILD_ADDRESS_SPACE)
    assert "is not a regular file (a character device)" in result.stdout, result


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_a_directory_where_vocab_json_should_be_is_an_is_a_directory_error(
    tmp_path: Path, implementation: Any
) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    (directory / "vocab.json").unlink()
    (directory / "vocab.json").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        implementation.from_pretrained(directory)
    assert caught.value.filename == str(directory / "vocab.json")


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_symlinked_files_as_in_the_hugging_face_cache_still_load(
    tmp_path: Path, implementation: Any
) -> None:
    blobs = copy_of(TINY_VOCAB_DIR, tmp_path / "blobs")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    for name in ("vocab.json", "merges.txt"):
        (snapshot / name).symlink_to(blobs / name)
    tok = implementation.from_pretrained(snapshot)
    assert tok.get_vocab() == implementation.from_pretrained(TINY_VOCAB_DIR).get_vocab()


def test_a_missing_vocab_json_is_still_file_not_found_naming_it(tmp_path: Path) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    (directory / "vocab.json").unlink()
    for implementation in (BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast):
        with pytest.raises(FileNotFoundError) as caught:
            implementation.from_pretrained(directory)
        assert caught.value.filename == str(directory / "vocab.json")


def test_a_fifo_model_safetensors_is_refused_by_the_weights_reader(tmp_path: Path) -> None:
    fifo = replace_with_fifo(tmp_path / "model.safetensors")
    code = (
        "import sys\nfrom bbtok.modeling.weights import SafetensorsFile\n"
        "try:\n    SafetensorsFile(sys.argv[1])\n"
        "except ValueError as error:\n    print(error)\n"
    )
    result = run_child(tmp_path, "-c", code, str(fifo))
    assert f"{str(fifo)!r} is not a regular file (a FIFO)" in result.stdout, result


# -- sizes are bounded --------------------------------------------------------------------------


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (and no time to write)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_config_json_larger_than_the_limit_is_refused_with_the_limit_named(
    tmp_path: Path,
) -> None:
    directory = copy_of(SAMPLE_CHECKPOINT, tmp_path / "model")
    sparse_file(directory / "config.json", files.MAX_CONFIG_BYTES + 1)
    with pytest.raises(ValueError) as caught:
        BlenderbotSmallConfig.from_pretrained(directory)
    message = str(caught.value)
    assert str(directory / "config.json") in message
    assert f"{files.MAX_CONFIG_BYTES:,} bytes" in message


def test_a_tokenizer_config_json_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    sparse_file(directory / "tokenizer_config.json", files.MAX_CONFIG_BYTES + 1)
    with pytest.raises(ValueError, match="more than the"):
        BlenderbotSmallTokenizer.from_pretrained(directory)


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
@pytest.mark.parametrize("name", ["vocab.json", "merges.txt"])
def test_a_vocabulary_file_larger_than_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, implementation: Any, name: str
) -> None:
    # The real limit is hundreds of MB; a small one shows the check without writing that much.
    monkeypatch.setattr(files, "MAX_VOCAB_BYTES", 1000)
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "tok")
    (directory / name).write_bytes(b" " * 1001)
    with pytest.raises(ValueError) as caught:
        implementation.from_pretrained(directory)
    message = str(caught.value)
    assert f"{str(directory / name)!r} is 1,001 bytes, more than the 1,000 bytes" in message


# -- a directory that is not there ------------------------------------------------------------


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_a_mistyped_local_directory_is_file_not_found_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, implementation: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as caught:
        implementation.from_pretrained("./my-tok")
    assert caught.value.filename == "./my-tok"
    assert "hub" not in str(caught.value).lower()


def test_a_missing_checkpoint_directory_is_file_not_found_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "my-model"
    for loader in (BlenderbotSmallConfig, Model):
        with pytest.raises(FileNotFoundError) as caught:
            loader.from_pretrained(missing)
        assert caught.value.filename == str(missing)


def test_a_file_given_as_the_directory_is_not_a_directory_error(tmp_path: Path) -> None:
    vocab = copy_of(TINY_VOCAB_DIR, tmp_path / "tok") / "vocab.json"
    with pytest.raises(NotADirectoryError) as caught:
        BlenderbotSmallTokenizer.from_pretrained(vocab)
    assert caught.value.filename == str(vocab)


# -- a save is written as a set ---------------------------------------------------------------


def contents(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def fail_fsync_number(monkeypatch: pytest.MonkeyPatch, failing_call: int) -> None:
    """Make the ``failing_call``-th ``os.fsync`` fail as a full disk does (each file written is
    fsynced once before it is renamed)."""
    real_fsync = os.fsync
    calls = 0

    def fsync(descriptor: int) -> None:
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise OSError(28, "No space left on device (simulated)")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)


def test_save_pretrained_failing_on_the_third_file_leaves_every_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "saved"
    old = BlenderbotSmallTokenizer.from_pretrained(TINY_VOCAB_DIR)
    old.add_tokens(["<old>"])
    old.save_pretrained(target)
    before = contents(target)
    assert len(before) == 4  # config, vocab, merges, added tokens: the third is mid-set
    new = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)
    new.add_tokens(["<new>"])
    fail_fsync_number(monkeypatch, 3)
    with pytest.raises(OSError, match="simulated"):
        new.save_pretrained(target)
    monkeypatch.undo()
    assert contents(target) == before


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_save_vocabulary_failing_on_the_second_file_leaves_both_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, implementation: Any
) -> None:
    target = tmp_path / "saved"
    target.mkdir()
    implementation.from_pretrained(TINY_VOCAB_DIR).save_vocabulary(target)
    before = contents(target)
    fail_fsync_number(monkeypatch, 2)
    with pytest.raises(OSError, match="simulated"):
        implementation.from_pretrained(SAMPLE_CHECKPOINT).save_vocabulary(target)
    monkeypatch.undo()
    assert contents(target) == before


def test_save_pretrained_renames_only_after_every_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append("fsync")
        real_fsync(descriptor)

    def replace(source: Any, target: Any) -> None:
        events.append("rename")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    tok = BlenderbotSmallTokenizer.from_pretrained(TINY_VOCAB_DIR)
    tok.add_tokens(["<new>"])
    written = tok.save_pretrained(tmp_path / "saved")
    monkeypatch.undo()
    assert events[: 2 * len(written)] == ["fsync"] * len(written) + ["rename"] * len(written)
    assert sorted(contents(tmp_path / "saved")) == sorted(Path(path).name for path in written)


# -- unpickling checks what loading checks --------------------------------------------------


def vocab_error_without_source(vocab: dict[str, int], tmp_path: Path) -> str:
    """What from_pretrained says of ``vocab``, with the file name taken out."""
    directory = copy_of(TINY_VOCAB_DIR, tmp_path / "bad")
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        BlenderbotSmallTokenizer.from_pretrained(directory)
    return str(caught.value).split(": ", 1)[1]


def test_unpickling_a_pure_tokenizer_with_an_id_beyond_two_to_the_31_fails_as_loading_does(
    tmp_path: Path,
) -> None:
    tok = BlenderbotSmallTokenizer.from_pretrained(TINY_VOCAB_DIR)
    tok.encoder["huge"] = 2**31
    pickled = pickle.dumps(tok)
    with pytest.raises(ValueError) as caught:
        pickle.loads(pickled)
    expected = vocab_error_without_source({**tok.encoder}, tmp_path)
    assert str(caught.value).split(": ", 2)[2] == expected


def test_unpickling_a_fast_tokenizer_with_an_id_beyond_two_to_the_31_fails_as_loading_does(
    tmp_path: Path,
) -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(TINY_VOCAB_DIR)
    state = tok.__getstate__()
    vocab = {**tok.get_vocab(), "huge": 2**31}
    _, merges, cache_words = state["_core_files"]
    state["_core_files"] = (json.dumps(vocab).encode(), merges, cache_words)
    restored = BlenderbotSmallTokenizerFast.__new__(BlenderbotSmallTokenizerFast)
    with pytest.raises(ValueError) as caught:
        restored.__setstate__(state)  # what pickle.loads calls
    expected = vocab_error_without_source(vocab, tmp_path)
    assert str(caught.value).split(": ", 2)[2] == expected


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_unpickling_an_added_token_with_an_id_beyond_two_to_the_31_fails(
    implementation: Any,
) -> None:
    tok = implementation.from_pretrained(TINY_VOCAB_DIR)
    state = dict(tok.__getstate__())
    tokens = state["_tokens"]
    state["_tokens"] = dataclasses.replace(
        tokens,
        added_tokens_decoder={**tokens.added_tokens_decoder, 2**31: AddedToken("<huge>")},
        added_tokens_encoder={**tokens.added_tokens_encoder, "<huge>": 2**31},
    )
    restored = implementation.__new__(implementation)
    with pytest.raises(ValueError, match=r"'<huge>' has id 2147483648; ids must be integers"):
        restored.__setstate__(state)


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_a_valid_tokenizer_still_pickles(implementation: Any) -> None:
    tok = implementation.from_pretrained(TINY_VOCAB_DIR)
    tok.add_tokens(["<new>"])
    assert pickle.loads(pickle.dumps(tok)).get_vocab() == tok.get_vocab()


# -- copy-on-load weights survive the file changing on disk ---------------------------------


def test_weights_loaded_without_mmap_equal_the_mapped_ones_and_are_not_a_map() -> None:
    path = SAMPLE_CHECKPOINT / "model.safetensors"
    mapped, copied = SafetensorsFile(path), SafetensorsFile(path, mmap=False)
    for name in mapped:
        in_memory = copied.get(name, np.float32)
        np.testing.assert_array_equal(in_memory, mapped.get(name, np.float32))
        base = in_memory
        while isinstance(base, np.ndarray):
            assert not isinstance(base, np.memmap), name
            base = base.base


def test_a_model_loaded_with_mmap_false_survives_its_file_being_truncated(tmp_path: Path) -> None:
    directory = copy_of(SAMPLE_CHECKPOINT, tmp_path / "model")
    code = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration as Model
        directory = sys.argv[1]
        model = Model.from_pretrained(directory, mmap=False)
        os.truncate(os.path.join(directory, "model.safetensors"), 16)
        ids = np.array([[5, 6, 7, 2]])
        logits = model(ids, np.ones_like(ids), np.array([[1, 5]])).logits
        print("forward pass", logits.shape, bool(np.isfinite(logits).all()))
        """
    )
    result = run_child(tmp_path, "-c", code, str(directory))
    assert result.returncode == 0, result
    assert "forward pass" in result.stdout and "True" in result.stdout, result


TAMPERED_STATES: dict[str, tuple[dict[str, Any], str]] = {
    "padding_side not a side": ({"padding_side": "up"}, "padding_side='up' is not valid"),
    "model_max_length a string": ({"model_max_length": "512"}, "model_max_length is a str"),
    "model_input_names of numbers": ({"model_input_names": [1]}, "model_input_names must be"),
    "no split_special_tokens": ({"split_special_tokens": None}, "no 'split_special_tokens'"),
    "tokens not a registry": ({"_tokens": []}, "its tokens are a list, not a TokenRegistry"),
}


@pytest.mark.parametrize("case", TAMPERED_STATES)
@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_a_tampered_pickle_is_a_value_error(implementation: Any, case: str) -> None:
    changes, expected = TAMPERED_STATES[case]
    state = dict(implementation.from_pretrained(TINY_VOCAB_DIR).__getstate__())
    for name, value in changes.items():
        if value is None:
            del state[name]
        else:
            state[name] = value
    restored = implementation.__new__(implementation)
    with pytest.raises(ValueError, match=re.escape(expected)):
        restored.__setstate__(state)  # what pickle.loads calls


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_a_pickled_added_token_with_flags_that_are_not_bools_is_refused(
    implementation: Any,
) -> None:
    state = dict(implementation.from_pretrained(TINY_VOCAB_DIR).__getstate__())
    tokens = state["_tokens"]
    odd = AddedToken("<odd>", lstrip="yes")  # type: ignore[arg-type]
    state["_tokens"] = dataclasses.replace(
        tokens,
        added_tokens_decoder={**tokens.added_tokens_decoder, 99: odd},
        added_tokens_encoder={**tokens.added_tokens_encoder, "<odd>": 99},
    )
    restored = implementation.__new__(implementation)
    with pytest.raises(ValueError, match="is not an AddedToken of a str and flags"):
        restored.__setstate__(state)


def test_unpickling_pure_vocabulary_files_that_are_not_bytes_fails() -> None:
    state = dict(BlenderbotSmallTokenizer.from_pretrained(TINY_VOCAB_DIR).__getstate__())
    state["_vocabulary_files"] = (b'{"a": 0}', "not bytes")
    restored = BlenderbotSmallTokenizer.__new__(BlenderbotSmallTokenizer)
    with pytest.raises(ValueError, match=re.escape("_vocabulary_files is not (vocab.json bytes")):
        restored.__setstate__(state)


@pytest.mark.parametrize(
    ("core_parts", "expected"),
    [
        ((b"{}",), "_core_files is not (vocab.json bytes, merges.txt bytes, cache_words)"),
        (({"a": 0}, b"", 0), "_core_files is not (vocab.json bytes"),
        ((b'{"a": [0]}', b"", 0), "unpickled tokenizer: vocab.json"),
        ((b'{"a": 0}', b"#version: 0.2\n", -1), "cache_words must be an int >= 0"),
    ],
)
def test_unpickling_fast_core_parts_that_are_not_a_core_fails(
    core_parts: tuple[Any, ...], expected: str
) -> None:
    state = dict(BlenderbotSmallTokenizerFast.from_pretrained(TINY_VOCAB_DIR).__getstate__())
    state["_core_files"] = core_parts
    restored = BlenderbotSmallTokenizerFast.__new__(BlenderbotSmallTokenizerFast)
    with pytest.raises(ValueError, match=re.escape(expected)):
        restored.__setstate__(state)


@pytest.mark.parametrize("index", ["1.5", "x", True, -1, 2**31])
@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast])
def test_an_added_tokens_decoder_key_that_is_not_an_id_is_a_value_error(
    implementation: Any, index: object
) -> None:
    with pytest.raises(ValueError, match=rf"added_tokens_decoder.*{re.escape(repr(index))}"):
        implementation.from_pretrained(
            TINY_VOCAB_DIR, added_tokens_decoder={index: AddedToken("<x>")}
        )
