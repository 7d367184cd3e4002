"""The ``bbtok`` command as a whole: its options, what goes to standard output (results) and to
standard error (notes, warnings, summaries), and how it reports Python's warnings and log."""

from __future__ import annotations

import io
import json
import logging
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizerFast, __version__
from bbtok.cli import main, model_commands
from bbtok.cli.checkpoints import RANDOM_WEIGHTS_NOTE, load_model
from bbtok.data import SAMPLE_CHECKPOINT, TINY_BLENDERBOT
from bbtok.tokenization.threads import max_threads

from conftest import FIXTURES, MULTILINGUAL_TEXT, SAMPLE_DIR, run_python_child

TOKENIZER = ["--tokenizer", str(SAMPLE_DIR)]
BYTE_LEVEL_DIR = FIXTURES / "byte_level"


def run(*arguments: str | Path) -> int:
    return main([str(argument) for argument in arguments])


def standard_input(monkeypatch: pytest.MonkeyPatch, data: bytes, terminal: bool = False) -> None:
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    if terminal:
        monkeypatch.setattr(stream, "isatty", lambda: True)
    monkeypatch.setattr(sys, "stdin", stream)


# -- options ------------------------------------------------------------------------------------


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run("--version")
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"bbtok {__version__}\n"


def test_bench_help_shows_the_usage_of_bbtok_bench(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run("bench", "--help")
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: bbtok bench [-h]")


def help_text(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    with pytest.raises(SystemExit):
        run(*arguments, "--help")
    return " ".join(capsys.readouterr().out.split())  # argparse's line breaks undone


def test_the_help_names_both_families_and_their_models(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    assert "BlenderbotSmall and the byte-level Blenderbot" in text
    assert "runner for their models" in text
    assert "generate reply to each text with a Blenderbot or BlenderbotSmall model" in text
    assert "chat talk with a Blenderbot or BlenderbotSmall model" in text


@pytest.mark.parametrize("command", ["generate", "chat", "tokenize", "encode", "demo"])
def test_tokenizer_help_names_the_byte_level_tokenizer_json(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert "or a byte-level one's tokenizer.json" in help_text(capsys, command)


@pytest.mark.parametrize("command", ["generate", "chat"])
def test_generate_and_chat_help_says_what_dtype_is(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert "the dtype the model computes in (default: float32)" in help_text(capsys, command)


def test_convert_help_calls_its_output_output(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "convert")
    assert "write OUTPUT with one model.safetensors" in text
    assert "DIR" not in text


# -- tokenize -----------------------------------------------------------------------------------


def test_tokenize_dash_reads_all_of_standard_input_as_one_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standard_input(monkeypatch, b"Hello\nWorld")
    assert run("tokenize", *TOKENIZER, "-") == 0
    assert capsys.readouterr().out.startswith("text: 'Hello\\nWorld' (3 tokens)\n")


def test_tokenize_reads_standard_input_only_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standard_input(monkeypatch, b"Hello")
    assert run("tokenize", *TOKENIZER, "-", "-") == 1
    assert capsys.readouterr().err == "bbtok: error: standard input ('-') can be read only once\n"


def test_tokenize_reads_standard_input_up_to_max_record_bytes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standard_input(monkeypatch, b"0123456789")
    assert run("tokenize", *TOKENIZER, "--max-record-bytes", "10", "-") == 0
    assert capsys.readouterr().out.startswith("text: '0123456789' ")
    standard_input(monkeypatch, b"0123456789!")
    assert run("tokenize", *TOKENIZER, "--max-record-bytes", "10", "-") == 1
    assert capsys.readouterr().err == (
        "bbtok: error: standard input: longer than 10 bytes (the limit of --max-record-bytes)\n"
    )


def test_tokenize_names_invalid_utf8_on_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standard_input(monkeypatch, b"caf\xe9")
    assert run("tokenize", *TOKENIZER, "-") == 1
    assert capsys.readouterr().err == (
        "bbtok: error: standard input: invalid UTF-8: byte 0xe9 at byte 4\n"
    )


def test_tokenize_counts_one_token_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tokenize", *TOKENIZER, "x") == 0
    assert capsys.readouterr().out.startswith("text: 'x' (1 token)\n")


# -- errors no one foresaw -----------------------------------------------------------------------

# A command-line argument that is not UTF-8 reaches Python as a lone surrogate, which the
# byte-level tokenizer cannot encode.
NOT_UTF8_ARGUMENT = b"a\xffb"


def test_an_argument_that_is_not_utf8_is_one_line_naming_the_surrogate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argument = NOT_UTF8_ARGUMENT.decode("utf-8", "surrogateescape")
    assert run("tokenize", "--tokenizer", BYTE_LEVEL_DIR, argument) == 1
    assert capsys.readouterr().err == (
        "bbtok: error: text holds a lone surrogate at character 1, which is not text: the "
        "byte-level tokenizer encodes text as UTF-8\n"
    )


def _fail_unforeseen(args: object) -> int:
    return 1 // 0


def test_an_unforeseen_error_is_one_line_naming_its_type(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bbtok.cli.tokenizer_commands.run_tokenize", _fail_unforeseen)
    assert run("tokenize", "--tokenizer", SAMPLE_DIR, "hello") == 1
    assert capsys.readouterr().err == (
        "bbtok: error: ZeroDivisionError: integer division or modulo by zero (PYTHONDEVMODE=1 "
        "shows the traceback)\n"
    )


def test_python_dev_mode_shows_the_traceback_of_an_unforeseen_error(tmp_path: Path) -> None:
    script = (
        "import sys, bbtok.cli.tokenizer_commands as commands; "
        "commands.run_tokenize = lambda args: 1 // 0; from bbtok.cli import main; "
        "sys.exit(main(['tokenize', '--tokenizer', sys.argv[1], 'hello']))"
    )
    finished = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script, str(SAMPLE_DIR)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1
    assert finished.stderr.startswith("Traceback (most recent call last):\n")
    assert finished.stderr.endswith("ZeroDivisionError: integer division or modulo by zero\n")


# -- warnings and log messages ------------------------------------------------------------------


@pytest.fixture
def tokenizer_losing_a_merge(tmp_path: Path) -> Path:
    """A tokenizer directory whose merges.txt lacks its final newline: loading it warns."""
    shutil.copy(SAMPLE_DIR / "vocab.json", tmp_path / "vocab.json")
    merges = (SAMPLE_DIR / "merges.txt").read_bytes()
    (tmp_path / "merges.txt").write_bytes(merges.rstrip(b"\n"))
    return tmp_path


def test_python_warnings_read_as_bbtok_warnings(
    tokenizer_losing_a_merge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("tokenize", "--tokenizer", tokenizer_losing_a_merge, "hi") == 0
    error = capsys.readouterr().err
    assert error.startswith(f"bbtok: warning: {tokenizer_losing_a_merge / 'merges.txt'}: ")
    assert error.count("\n") == 1  # no "UserWarning", no line of bbtok's source


def test_warnings_are_shown_as_before_once_the_command_returns(
    tokenizer_losing_a_merge: Path,
) -> None:
    shown_before = warnings.showwarning
    assert run("tokenize", "--tokenizer", tokenizer_losing_a_merge, "hi") == 0
    assert warnings.showwarning is shown_before


def test_log_warnings_read_as_bbtok_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(SAMPLE_DIR / name, tmp_path / name)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 4}))
    assert run("tokenize", "--tokenizer", tmp_path, "one two three four five") == 0
    assert capsys.readouterr().err.startswith(
        "bbtok: warning: Token indices sequence length is longer than the specified maximum"
    )


def test_the_log_goes_where_it_went_once_the_command_returns() -> None:
    logger = logging.getLogger("bbtok")
    handlers, propagate = list(logger.handlers), logger.propagate
    assert run("decode", *TOKENIZER, "10") == 0
    assert (logger.handlers, logger.propagate) == (handlers, propagate)


def test_signal_handlers_are_restored_once_the_command_returns() -> None:
    handler = signal.getsignal(signal.SIGTERM)
    assert run("decode", *TOKENIZER, "10") == 0
    assert signal.getsignal(signal.SIGTERM) is handler


# -- generate and chat --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "what"), [("", "empty"), (" \n ", "only white space")])
def test_generate_names_a_text_without_tokens(
    capsys: pytest.CaptureFixture[str], text: str, what: str
) -> None:
    assert run("generate", "Hello!", text) == 1
    # Before the model is loaded: no note about its weights.
    assert capsys.readouterr().err == (
        f"bbtok: error: text 2 is {what}: there is nothing to reply to\n"
    )


def test_chat_with_piped_input_writes_only_replies_to_standard_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standard_input(monkeypatch, b"Hello!\n\nHow are you?\n")
    assert run("chat", "--max-new-tokens", "3") == 0
    captured = capsys.readouterr()
    replies = captured.out.splitlines()
    assert len(replies) == 2 and all(reply.startswith("bot> ") for reply in replies)
    assert captured.err == RANDOM_WEIGHTS_NOTE + "\n"


@pytest.mark.parametrize("sample", ["blenderbot_small", "blenderbot"])
def test_generate_on_a_shipped_sample_notes_its_random_weights_and_on_a_copy_does_not(
    sample: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = SAMPLE_CHECKPOINT if sample == "blenderbot_small" else TINY_BLENDERBOT
    copy = shutil.copytree(shipped, tmp_path / "copy")
    for directory, note in ((shipped, RANDOM_WEIGHTS_NOTE + "\n"), (copy, "")):
        assert run("generate", "--model", directory, "--max-new-tokens", "2", "Hello!") == 0
        captured = capsys.readouterr()
        assert captured.out.strip()
        assert captured.err == note, directory


def test_chat_on_a_terminal_prompts_on_standard_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    standard_input(monkeypatch, b"Hello!\n", terminal=True)
    assert run("chat", "--max-new-tokens", "3") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("bot> ") and captured.out.count("\n") == 1
    assert captured.err.endswith("\nyou> you> \n")  # a prompt for each line, the last at Ctrl-D


# -- train --------------------------------------------------------------------------------------


def test_train_reports_what_it_wrote_on_standard_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello there friend\nhow are you doing\n", encoding="utf-8")
    output = tmp_path / "vocab"
    assert run("train", corpus, "-o", output, "--vocab-size", "50", "--min-frequency", "1") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"bbtok: wrote {output / 'vocab.json'} and {output / 'merges.txt'}\n"


def test_train_refuses_an_output_that_is_not_empty_and_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello there friend\nhow are you doing\n", encoding="utf-8")
    output = tmp_path / "vocab"
    output.mkdir()
    (output / "vocab.json").write_text("my vocabulary")
    assert run("train", corpus, "-o", output, "--vocab-size", "50", "--min-frequency", "1") == 1
    assert "is not empty (pass --overwrite" in capsys.readouterr().err
    assert [path.name for path in output.iterdir()] == ["vocab.json"]
    assert (output / "vocab.json").read_text() == "my vocabulary"


def test_train_overwrite_replaces_the_vocabulary_files_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello there friend\nhow are you doing\n", encoding="utf-8")
    output = tmp_path / "vocab"
    output.mkdir()
    (output / "vocab.json").write_text("my vocabulary")
    (output / "notes.txt").write_text("mine")
    options = ["--vocab-size", "50", "--min-frequency", "1", "--overwrite"]
    assert run("train", corpus, "-o", output, *options) == 0
    assert "wrote" in capsys.readouterr().err
    assert sorted(path.name for path in output.iterdir()) == [
        "merges.txt",
        "notes.txt",
        "vocab.json",
    ]
    assert (output / "notes.txt").read_text() == "mine"
    assert "hello" in json.loads((output / "vocab.json").read_text(encoding="utf-8"))


def test_train_writes_exactly_the_vocab_size_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "vocab"
    assert run("train", MULTILINGUAL_TEXT, "-o", output, "--vocab-size", "2000") == 0
    assert len(json.loads((output / "vocab.json").read_text(encoding="utf-8"))) == 2000
    assert "warning" not in capsys.readouterr().err


def test_train_warns_when_the_corpus_cannot_fill_the_vocabulary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello there friend\nhow are you doing\n", encoding="utf-8")
    output = tmp_path / "vocab"
    assert run("train", corpus, "-o", output, "--vocab-size", "100", "--min-frequency", "1") == 0
    # Every word is one token: no pair is left to merge.
    assert len(json.loads((output / "vocab.json").read_text(encoding="utf-8"))) == 56
    assert capsys.readouterr().err.startswith(
        "bbtok: warning: the vocabulary learnt has 56 of the 100 entries asked for: no other "
        "pair of symbols is seen at least 1 time in the corpus (a larger corpus gives more)\n"
    )


def test_train_names_a_missing_corpus_file_in_the_command_lines_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.txt"
    assert run("train", missing, "-o", tmp_path / "vocab") == 1
    assert capsys.readouterr().err == f"bbtok: error: corpus file not found: {str(missing)!r}\n"


def test_too_many_workers_are_refused_while_the_arguments_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("hello\n", encoding="utf-8")
    too_many = max_threads() + 1
    with pytest.raises(SystemExit) as stop:
        main(["encode", str(source), "-o", str(tmp_path / "out.jsonl"), "--workers", str(too_many)])
    assert stop.value.code == 2
    assert f"--workers {too_many} is more than the {max_threads()} threads allowed" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out.jsonl").exists()


# A template unlike the family's own joining, with a generation prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message.role }}: {{ message.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def test_chat_renders_the_turns_with_the_checkpoints_chat_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(SAMPLE_DIR, checkpoint)
    tok = BlenderbotSmallTokenizerFast.from_pretrained(checkpoint)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(checkpoint)
    given: list[list[int]] = []

    def recording_model(directory: str, dtype: str) -> Any:
        model = load_model(directory, dtype)
        generate = model.generate

        def recording_generate(input_ids: Any, *args: Any, **kwargs: Any) -> Any:
            given.append(input_ids[0].tolist())
            return generate(input_ids, *args, **kwargs)

        monkeypatch.setattr(model, "generate", recording_generate)
        return model

    monkeypatch.setattr(model_commands, "load_model", recording_model)
    standard_input(monkeypatch, b"Hello!\nHow are you?\n")
    assert run("chat", "--model", checkpoint, "--max-new-tokens", "3") == 0
    replies = [line.removeprefix("bot> ") for line in capsys.readouterr().out.splitlines()]
    reloaded = BlenderbotSmallTokenizerFast.from_pretrained(checkpoint)
    conversations = [
        [{"role": "user", "content": "Hello!"}],
        [
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": replies[0]},
            {"role": "user", "content": "How are you?"},
        ],
    ]
    expected = [
        reloaded.apply_chat_template(chat, add_generation_prompt=True, return_dict=False)
        for chat in conversations
    ]
    assert given == expected
    assert expected[0] != reloaded("Hello!")["input_ids"]


def test_chat_without_a_chat_template_joins_the_turns_with_line_breaks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    assert tok.chat_template is None
    context = model_commands.conversation_inputs(tok, ["Hello!", "Hi.", "How are you?"], False, 64)
    assert context["input_ids"].tolist() == [tok("Hello!\nHi.\nHow are you?")["input_ids"]]


def test_chat_help_says_when_the_chat_template_is_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        run("chat", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "has a chat template" in help_text
    assert "otherwise they are joined as the family was trained" in help_text


def test_bbtok_version_loads_no_rust_extension(tmp_path: Path) -> None:
    code = (
        "import contextlib, sys\n"
        "from bbtok.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        "    main(['--version'])\n"
        "print('bbtok._native' in sys.modules)\n"
    )
    child = run_python_child(["-c", code], tmp_path, 60)
    assert child.stdout.split()[-1:] == ["False"], child.stderr
