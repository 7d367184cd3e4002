"""Hub model ids (``org/name``) in every ``from_pretrained`` and in the CLI's --tokenizer and
--model, read from a huggingface_hub cache laid out in a temporary directory, offline: any
attempt to open a network connection fails the test."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from huggingface_hub import constants

from bbtok.blenderbot.tokenizer import BlenderbotTokenizer
from bbtok.blenderbot_small.family import TOKENIZER_FILES
from bbtok.blenderbot_small.tokenizer import BlenderbotSmallTokenizer
from bbtok.blenderbot_small.tokenizer_fast import BlenderbotSmallTokenizerFast
from bbtok.cli import main as run_command
from bbtok.cli.checkpoints import model_directory, tokenizer_directory
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling.config import MODEL_FILES, BlenderbotSmallConfig
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration as Model
from bbtok.storage import hub

from conftest import cached_snapshot

MODEL_ID = "facebook/blenderbot_small-90M"
MAIN_COMMIT = "1" * 40
DEV_COMMIT = "2" * 40
TOKENIZER_NAMES = ("vocab.json", "merges.txt", "tokenizer_config.json")
CHECKPOINT_NAMES = tuple(path.name for path in sorted(SAMPLE_CHECKPOINT.iterdir()))
TEXT = "Hello! How are you doing today?"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every attempt to open a connection, refused and recorded; the test fails if any."""
    attempts: list[object] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    assert attempts == []


@pytest.fixture
def cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connections: list[object]
) -> Iterator[Path]:
    """An empty hub cache, the default one, with HF_HUB_OFFLINE=1 (huggingface_hub reads its
    environment when first imported, so its constants are set too)."""
    directory = tmp_path / "hub-cache"
    directory.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(directory))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(directory))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    yield directory


def snapshot(
    cache: Path, commit: str, names: tuple[str, ...] = CHECKPOINT_NAMES, ref: str | None = "main"
) -> Path:
    return cached_snapshot(cache, commit, names, ref, MODEL_ID)


@pytest.fixture
def requested(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names asked of huggingface_hub, in order."""
    names: list[str] = []
    download = huggingface_hub.hf_hub_download

    def recording(repo_id: str, filename: str, **kwargs: Any) -> Any:
        names.append(filename)
        return download(repo_id, filename, **kwargs)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", recording)
    return names


def set_dropout(directory: Path, dropout: float) -> None:
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "dropout": dropout}))


# -- loading a model id from the cache ----------------------------------------------------------


@pytest.mark.parametrize("implementation", [BlenderbotSmallTokenizerFast, BlenderbotSmallTokenizer])
def test_both_tokenizers_load_a_model_id_from_the_cache(cache: Path, implementation: Any) -> None:
    snapshot(cache, MAIN_COMMIT)
    tok = implementation.from_pretrained(MODEL_ID)
    local = implementation.from_pretrained(SAMPLE_CHECKPOINT)
    assert tok(TEXT)["input_ids"] == local(TEXT)["input_ids"]
    assert tok.name_or_path == MODEL_ID


def test_the_config_loads_a_model_id_from_the_cache_with_its_generation_config(
    cache: Path,
) -> None:
    snapshot(cache, MAIN_COMMIT)
    config = BlenderbotSmallConfig.from_pretrained(MODEL_ID)
    assert config == BlenderbotSmallConfig.from_pretrained(SAMPLE_CHECKPOINT)
    assert config.generation_config is not None


def test_the_model_loads_a_model_id_from_the_cache(cache: Path) -> None:
    snapshot(cache, MAIN_COMMIT)
    model = Model.from_pretrained(MODEL_ID)
    local = Model.from_pretrained(SAMPLE_CHECKPOINT)
    assert model.config == local.config
    assert (model.shared == local.shared).all()


def test_cache_dir_names_a_cache_other_than_the_default(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot(cache, MAIN_COMMIT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    tok = BlenderbotSmallTokenizerFast.from_pretrained(MODEL_ID, cache_dir=cache)
    assert len(tok) == len(BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT))


def test_a_revision_by_branch_name_reads_that_branchs_snapshot(cache: Path) -> None:
    snapshot(cache, MAIN_COMMIT)
    set_dropout(snapshot(cache, DEV_COMMIT, ref="dev"), 0.25)
    assert BlenderbotSmallConfig.from_pretrained(MODEL_ID, revision="dev").dropout == 0.25
    assert BlenderbotSmallConfig.from_pretrained(MODEL_ID).dropout != 0.25


def test_a_revision_by_commit_hash_reads_that_snapshot(cache: Path) -> None:
    snapshot(cache, MAIN_COMMIT)
    set_dropout(snapshot(cache, DEV_COMMIT, ref=None), 0.25)
    config = BlenderbotSmallConfig.from_pretrained(MODEL_ID, revision=DEV_COMMIT)
    assert config.dropout == 0.25


def test_all_files_come_from_the_snapshot_of_the_first_one_found(cache: Path) -> None:
    snapshot(cache, MAIN_COMMIT)
    directory = hub.pretrained_directory(MODEL_ID, TOKENIZER_FILES | MODEL_FILES)
    assert Path(directory) == cache / "models--facebook--blenderbot_small-90M/snapshots" / (
        MAIN_COMMIT
    )


# -- only the files the loader needs -------------------------------------------------------------


def test_a_tokenizer_loads_from_a_snapshot_holding_only_the_tokenizer_files(
    cache: Path, requested: list[str]
) -> None:
    snapshot(cache, MAIN_COMMIT, TOKENIZER_NAMES)
    BlenderbotSmallTokenizerFast.from_pretrained(MODEL_ID)
    optional = {"special_tokens_map.json", "added_tokens.json", "chat_template.jinja"}
    assert set(requested) == {*TOKENIZER_NAMES, *optional}


def test_a_tokenizer_reads_the_chat_template_of_a_snapshot(cache: Path) -> None:
    directory = snapshot(cache, MAIN_COMMIT, TOKENIZER_NAMES)
    (directory / "chat_template.jinja").write_text("{{ messages[0]['content'] }}")
    tokenizer = BlenderbotSmallTokenizerFast.from_pretrained(MODEL_ID)
    assert tokenizer.chat_template == "{{ messages[0]['content'] }}"


def test_the_config_asks_for_config_json_and_generation_config_json_only(
    cache: Path, requested: list[str]
) -> None:
    snapshot(cache, MAIN_COMMIT)
    BlenderbotSmallConfig.from_pretrained(MODEL_ID)
    assert requested == ["config.json", "generation_config.json"]


def test_the_model_stops_at_the_first_weights_found(cache: Path, requested: list[str]) -> None:
    snapshot(cache, MAIN_COMMIT)
    hub.pretrained_directory(MODEL_ID, MODEL_FILES)
    assert requested == ["config.json", "generation_config.json", "model.safetensors"]


def test_an_index_of_shards_fetches_every_shard_it_names(cache: Path, requested: list[str]) -> None:
    directory = snapshot(cache, MAIN_COMMIT, ("config.json",))
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {"shared.weight": shards[0], "lm_head.weight": shards[1], "a": shards[0]}
    (directory / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    for shard in shards:
        (directory / shard).write_bytes(b"")
    assert hub.pretrained_directory(MODEL_ID, MODEL_FILES) == str(directory)
    assert requested[-3:] == ["model.safetensors.index.json", *shards]


def test_a_model_without_cached_weights_is_an_error_naming_the_weight_files(cache: Path) -> None:
    snapshot(cache, MAIN_COMMIT, ("config.json", *TOKENIZER_NAMES))
    with pytest.raises(FileNotFoundError) as caught:
        Model.from_pretrained(MODEL_ID)
    assert caught.value.filename == MODEL_ID
    assert "model.safetensors, model.safetensors.index.json, pytorch_model.bin" in str(caught.value)


# -- offline: an immediate, clear error -----------------------------------------------------------


@pytest.mark.parametrize(
    "load",
    [
        BlenderbotSmallTokenizerFast.from_pretrained,
        BlenderbotSmallTokenizer.from_pretrained,
        BlenderbotSmallConfig.from_pretrained,
        Model.from_pretrained,
    ],
)
def test_a_model_id_not_cached_offline_is_an_immediate_error_naming_it_its_revision_and_cache(
    cache: Path, load: Any
) -> None:
    started = time.monotonic()
    with pytest.raises(FileNotFoundError) as caught:
        load(MODEL_ID, revision="v2")
    assert time.monotonic() - started < 2
    assert caught.value.filename == MODEL_ID
    message = str(caught.value)
    assert "revision 'v2'" in message
    assert repr(str(cache)) in message
    assert "HF_HUB_OFFLINE=1" in message


def test_local_files_only_reads_the_cache_and_nothing_else(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    snapshot(cache, MAIN_COMMIT, TOKENIZER_NAMES)
    BlenderbotSmallTokenizerFast.from_pretrained(MODEL_ID, local_files_only=True)
    started = time.monotonic()
    with pytest.raises(FileNotFoundError, match="local_files_only=True"):
        BlenderbotSmallConfig.from_pretrained(MODEL_ID, local_files_only=True)
    assert time.monotonic() - started < 2


def test_a_misspelt_hub_option_is_a_type_error(cache: Path) -> None:
    snapshot(cache, MAIN_COMMIT)
    with pytest.raises(TypeError, match="revison"):
        BlenderbotSmallConfig.from_pretrained(MODEL_ID, revison="dev")  # type: ignore[call-arg]


# -- revisions are git ref names --------------------------------------------------------------


@pytest.mark.parametrize(
    "load",
    [
        BlenderbotSmallTokenizerFast.from_pretrained,
        BlenderbotSmallTokenizer.from_pretrained,
        BlenderbotTokenizer.from_pretrained,
        BlenderbotSmallConfig.from_pretrained,
        Model.from_pretrained,
    ],
)
def test_a_revision_climbing_out_of_the_cache_is_refused_before_the_cache_is_read(
    cache: Path, tmp_path: Path, requested: list[str], load: Any
) -> None:
    # huggingface_hub would read refs/../../../outside, that is tmp_path / "outside", as a ref,
    # and load the snapshot it names.
    snapshot(cache, MAIN_COMMIT)
    snapshot(cache, DEV_COMMIT, ref=None)
    (tmp_path / "outside").write_text(DEV_COMMIT)
    with pytest.raises(ValueError, match=r"^revision='\.\./\.\./\.\./outside' is not a branch"):
        load(MODEL_ID, revision="../../../outside")
    assert requested == []


@pytest.mark.parametrize(
    "revision",
    [
        "a/../b",
        "/main",
        "main/",
        "a//b",
        "a\\b",
        "a b",
        "a\x00b",
        "a\nb",
        "a\x7fb",
        "main~1",
        "main^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "main@{1}",
        "@",
        ".hidden",
        "a/.b",
        "a.lock",
        "a.",
    ],
)
def test_a_revision_git_would_refuse_is_a_value_error_naming_it(revision: str) -> None:
    with pytest.raises(ValueError, match=r"^revision=.* is not a branch, tag or commit name: "):
        hub.check_revision(revision)


@pytest.mark.parametrize(
    "revision", [None, "", "main", "v1.0", "refs/pr/1", "feature/x-y_z", "été", "a@b", DEV_COMMIT]
)
def test_branch_tag_and_commit_names_are_revisions(revision: str | None) -> None:
    hub.check_revision(revision)


# -- mistyped local paths stay paths -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "./my-tok",
        "../my-tok",
        "/data/tok",
        "~/tok",
        "org/name/extra",
        "org\\name",
        "org/na me",
        ".org/name",
        "org/name-",
        "org--x/name",
        "my-tok",
    ],
)
def test_a_mistyped_path_is_file_not_found_naming_it_without_asking_the_hub(
    cache: Path, requested: list[str], path: str
) -> None:
    for load in (BlenderbotSmallTokenizerFast.from_pretrained, Model.from_pretrained):
        with pytest.raises(FileNotFoundError) as caught:
            load(path)
        assert caught.value.filename == path
        assert "Nothing exists at this path" in str(caught.value)
    assert requested == []


def test_an_existing_directory_named_like_a_model_id_is_read_as_a_directory(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, requested: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SAMPLE_CHECKPOINT, tmp_path / MODEL_ID)
    BlenderbotSmallTokenizerFast.from_pretrained(MODEL_ID)
    assert requested == []


# -- the command line ----------------------------------------------------------------------------


def test_bbtok_tokenize_takes_a_model_id_as_its_tokenizer(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot(cache, MAIN_COMMIT, TOKENIZER_NAMES)
    assert run_command(["tokenize", "--tokenizer", MODEL_ID, "Hi"]) == 0
    from_cache = capsys.readouterr().out
    assert run_command(["tokenize", "--tokenizer", str(SAMPLE_CHECKPOINT), "Hi"]) == 0
    assert from_cache == capsys.readouterr().out != ""


def test_bbtok_generate_takes_a_model_id_as_its_model(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot(cache, MAIN_COMMIT)
    arguments = ["--max-new-tokens", "3", "Hi there"]
    assert run_command(["generate", "--model", MODEL_ID, *arguments]) == 0
    from_cache = capsys.readouterr().out
    assert run_command(["generate", "--model", str(SAMPLE_CHECKPOINT), *arguments]) == 0
    assert from_cache == capsys.readouterr().out != ""


def test_bbtok_with_a_model_id_not_cached_offline_says_so(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_command(["generate", "--model", MODEL_ID, "Hi"]) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"bbtok: error: {MODEL_ID!r}: ")
    assert "revision 'main'" in message and str(cache) in message


def test_a_model_id_for_the_command_line_brings_its_tokenizer_json_when_it_has_one(
    cache: Path, requested: list[str]
) -> None:
    directory = snapshot(cache, MAIN_COMMIT)
    (directory / "tokenizer.json").write_text("{}", encoding="utf-8")  # only its fetching counts
    assert model_directory(MODEL_ID) == str(directory)
    assert "tokenizer.json" in requested
    requested.clear()
    assert tokenizer_directory(MODEL_ID) == str(directory)
    assert "tokenizer.json" in requested


def test_a_model_id_without_a_tokenizer_json_still_loads_for_the_command_line(
    cache: Path, requested: list[str]
) -> None:
    directory = snapshot(cache, MAIN_COMMIT)
    assert model_directory(MODEL_ID) == str(directory)
    assert "tokenizer.json" in requested  # asked for, found missing, and not needed
