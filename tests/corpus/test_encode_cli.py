"""``bbtok encode``, ``tokenize``, ``decode`` and ``bench``: run in-process through
``bbtok.cli.main`` (and once as ``python -m bbtok``), checked against ``tok(records)``."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path
from typing import Any

import pytest

from bbtok import AddedToken, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.bench import __main__ as bench
from bbtok.cli import demo, model_commands, tokenizer_commands
from bbtok.cli import main as run_command
from bbtok.cli.parser import build_parser
from bbtok.corpus import file_encoder as encode
from bbtok.corpus import progress as report
from bbtok.corpus import records as inputs
from bbtok.corpus import sinks as outputs
from bbtok.corpus.defaults import DEFAULT_MAX_RECORD_BYTES
from bbtok.native import _native
from bbtok.tokenization.padding import truncate_flat

from conftest import (
    FEW_THREADS,
    FIXTURES,
    MULTILINGUAL_TEXT,
    SAMPLE_DIR,
    limited_bbtok,
    run_python_child,
)

TOKENIZER = ["--tokenizer", str(SAMPLE_DIR)]
BYTE_LEVEL_DIR = FIXTURES / "byte_level"

# Records that a careless reader would cut, merge or change: line separators other than "\n"
# inside a record, white space only, special tokens, an empty record, a long one.
EDGE_RECORDS = [
    "",
    "   ",
    "next\x85line inside one record",
    "paragraph\u2029and line\u2028separators stay",
    "file\x1cgroup\x1drecord\x1eunit\x1fseparators",
    "vertical\x0btab and form\x0cfeed",
    "a lone \r inside",
    "__start__ Hello__null__there __end__",
    "",
    "İstanbul ΟΔΟΣ Straße 日本語 😀",
    "word " * 2000,
]


@pytest.fixture(scope="module")
def tok() -> BlenderbotSmallTokenizerFast:
    return BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)


@pytest.fixture(scope="module")
def records() -> list[str]:
    lines = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:300]
    return lines[:150] + EDGE_RECORDS + lines[150:]


def expected_ids(tok: BlenderbotSmallTokenizerFast, texts: list[str], **options: Any) -> Any:
    return [tok(text, **options)["input_ids"] for text in texts] if texts else []


def write_txt(path: Path, texts: list[str], newline: str = "\n", final: bool = True) -> Path:
    data = newline.join(texts) + (newline if final else "")
    path.write_bytes(data.encode("utf-8"))
    return path


def write_jsonl(path: Path, texts: list[str], field: str = "text") -> Path:
    lines = [json.dumps({"id": number, field: text}) for number, text in enumerate(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl_ids(path: Path) -> list[list[int]]:
    lines = path.read_text(encoding="ascii").split("\n")
    assert lines.pop() == ""
    rows = [json.loads(line) for line in lines]
    assert all(list(row) == ["input_ids"] for row in rows)
    return [row["input_ids"] for row in rows]


def run(*arguments: str | Path) -> int:
    return run_command([str(argument) for argument in arguments])


def leftovers(directory: Path) -> list[str]:
    """Temporary files left in ``directory``."""
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


# -- outputs match the API ----------------------------------------------------------------------


def test_txt_to_jsonl_gives_the_ids_of_the_api(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast, records: list[str]
) -> None:
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--quiet") == 0
    assert read_jsonl_ids(output) == tok(records)["input_ids"]
    assert read_jsonl_ids(output) == expected_ids(tok, records)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("batch_size", "read_bytes", "workers"), [(1, 5, 1), (7, 300, 2)])
def test_batches_and_blocks_do_not_change_the_ids(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tok: BlenderbotSmallTokenizerFast,
    records: list[str],
    batch_size: int,
    read_bytes: int,
    workers: int,
) -> None:
    # Tiny read blocks: lines longer than a block, blocks of several lines, batches that cut
    # blocks and blocks that cut batches.
    monkeypatch.setattr(inputs, "READ_BYTES", read_bytes)
    source = write_txt(tmp_path / "in.txt", records[:80] + EDGE_RECORDS, final=False)
    output = tmp_path / "out.jsonl"
    arguments = ["--batch-size", str(batch_size), "--workers", str(workers), "--quiet"]
    assert run("encode", *TOKENIZER, source, "-o", output, *arguments) == 0
    assert read_jsonl_ids(output) == expected_ids(tok, records[:80] + EDGE_RECORDS)


def test_line_ends(tmp_path: Path, tok: BlenderbotSmallTokenizerFast) -> None:
    texts = ["first line", "", "a\rb", "ends in two\r", "last"]
    # "\r\n" ends a line; any other "\r" is text; the last line may have no line end.
    source = write_txt(tmp_path / "in.txt", texts, newline="\r\n", final=False)
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--quiet") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, texts)

    # "\n" only: a file ending in "\n" has no extra empty record; "\n\n" ends with one.
    for data, expected in [
        (b"", []),
        (b"\n", [""]),
        (b"a\n\n", ["a", ""]),
        (b"a\nb", ["a", "b"]),
        (b"\xef\xbb\xbfa\nb\n", ["a", "b"]),  # a byte order mark is not text
        (b"\xef\xbb\xbf", []),
    ]:
        source.write_bytes(data)
        assert run("encode", *TOKENIZER, source, "-o", output, "--quiet") == 0
        assert read_jsonl_ids(output) == expected_ids(tok, expected), data


def test_jsonl_input_and_field(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast, records: list[str]
) -> None:
    texts = records[:50] + EDGE_RECORDS
    source = write_jsonl(tmp_path / "in.jsonl", texts, field="content")
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "--field", "content", "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, texts)
    # JSON escapes: a lone surrogate cannot be in a UTF-8 file, but it can be in JSON.
    source.write_text('{"text": "x\\ud800y"}\r\n{"text": "\\u2028"}\n', encoding="utf-8")
    assert run("encode", *TOKENIZER, source, "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, ["x\ud800y", "\u2028"])


def test_several_inputs_are_read_in_order(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast, records: list[str]
) -> None:
    first = write_txt(tmp_path / "a.txt", records[:30])
    second = write_jsonl(tmp_path / "b.jsonl", records[30:60])
    third = write_txt(tmp_path / "c.TXT", records[60:70], final=False)
    output = tmp_path / "out.jsonl"
    arguments = [first, second, third, first, "-o", output, "--batch-size", "8", "-q"]
    assert run("encode", *TOKENIZER, *arguments) == 0
    assert read_jsonl_ids(output) == expected_ids(tok, records[:70] + records[:30])


def test_stdin(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tok: BlenderbotSmallTokenizerFast,
    records: list[str],
) -> None:
    texts = records[:40] + EDGE_RECORDS
    data = "\n".join(texts).encode("utf-8")
    output = tmp_path / "out.jsonl"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run("encode", *TOKENIZER, "-", "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, texts)

    data = "\n".join(json.dumps({"text": text}) for text in texts).encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run("encode", *TOKENIZER, "--format", "jsonl", "-", "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, texts)


def test_max_length(tmp_path: Path, tok: BlenderbotSmallTokenizerFast, records: list[str]) -> None:
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--max-length", "5", "-q") == 0
    assert read_jsonl_ids(output) == tok(records, truncation=True, max_length=5)["input_ids"]
    assert max(map(len, read_jsonl_ids(output))) == 5


def test_truncate_from_the_left() -> None:
    ids = bytes(array("I", [1, 2, 3, 4, 5, 6]))  # records [1, 2, 3], [], [4, 5, 6]
    kept, lengths = truncate_flat(ids, [3, 0, 3], 2, from_left=True)
    assert (list(array("I", kept)), lengths) == ([2, 3, 5, 6], [2, 0, 2])
    kept, lengths = truncate_flat(ids, [3, 0, 3], 2)
    assert (list(array("I", kept)), lengths) == ([1, 2, 4, 5], [2, 0, 2])
    assert truncate_flat(ids, [3, 0, 3], 3) == (ids, [3, 0, 3])


def test_tokenizers_with_strip_rules_take_the_shared_path(
    tok: BlenderbotSmallTokenizerFast, records: list[str]
) -> None:
    stripping = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    stripping.add_tokens([AddedToken("<l>", lstrip=True)])
    texts = [*records[:20], "a <l> b", "<l>x", "  <l>  "]
    for tokenizer in (tok, stripping):
        ids, lengths = encode.tokenize_batch(tokenizer, texts, 2)
        flat = list(array("I", ids))
        rows = [flat[sum(lengths[:i]) : sum(lengths[: i + 1])] for i in range(len(texts))]
        assert rows == tokenizer(texts)["input_ids"]


def test_parquet_output(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast, records: list[str]
) -> None:
    parquet = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.parquet"
    assert run("encode", *TOKENIZER, source, source, "-o", output, "--batch-size", "64") == 0
    table = parquet.read_table(output)
    assert table.schema.field("input_ids").type == pa.list_(pa.int32())
    assert table.schema.field("record").type == pa.int64()
    assert table.column("input_ids").to_pylist() == expected_ids(tok, records * 2)
    assert table.column("record").to_pylist() == list(range(2 * len(records)))

    assert run("encode", *TOKENIZER, source, "-o", output, "--max-length", "3", "-q") == 0
    truncated = parquet.read_table(output).column("input_ids").to_pylist()
    assert truncated == expected_ids(tok, records, truncation=True, max_length=3)
    assert leftovers(tmp_path) == []


def test_the_parquet_writer_refuses_an_id_its_int32_column_cannot_hold(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    ids = array("I", [5, 6, 7, 2**31]).tobytes()
    encoded = outputs.Encoded(ids, [2, 2], [10, 11], 0)
    with (
        pytest.raises(ValueError, match=r"record 11: id 2147483648 does not fit the int32 column"),
        outputs.output_sink(str(tmp_path / "out.parquet"), "parquet") as sink,
    ):
        sink.write(encoded)
    assert leftovers(tmp_path) == []


def test_a_max_length_too_large_for_a_length_is_refused_with_the_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_txt(tmp_path / "in.txt", ["hello"])
    with pytest.raises(SystemExit):
        run("encode", *TOKENIZER, source, "-o", tmp_path / "out.jsonl", "--max-length", 2**64)
    assert "--max-length: must be at most 9223372036854775807" in capsys.readouterr().err


def test_parquet_row_groups_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records: list[str]
) -> None:
    parquet = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(outputs, "ROW_GROUP_ROWS", 100)
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.parquet"
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "30", "-q") == 0
    metadata = parquet.ParquetFile(output).metadata
    assert metadata.num_rows == len(records)
    assert metadata.num_row_groups == -(-len(records) // 120)  # 4 batches of 30 per group


def test_missing_pyarrow_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    source = write_txt(tmp_path / "in.txt", ["hello"])
    assert run("encode", *TOKENIZER, source, "-o", tmp_path / "out.parquet") == 1
    assert "pip install pyarrow" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


# -- bad input ------------------------------------------------------------------------------


def test_invalid_utf8_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], records: list[str]
) -> None:
    lines = [text.encode("utf-8") for text in records[:30]]
    lines[16] = b"caf\xe9 latin-1"
    source = tmp_path / "bad.txt"
    source.write_bytes(b"\n".join(lines))
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output) == 1
    error = capsys.readouterr().err
    assert error == f"bbtok: error: {source}:17: invalid UTF-8: byte 0xe9 at byte 4 of the line\n"
    assert sorted(os.listdir(tmp_path)) == ["bad.txt"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"text": "unclosed}', "invalid JSON: Unterminated string starting at (column 10)"),
        ('{"text": "a"} {"text": "b"}', "invalid JSON: Extra data (column 15)"),
        ('["text"]', "expected a JSON object, got an array"),
        ('{"title": "x"}', "no field 'text'"),
        ('{"text": 17}', "field 'text' is a number, not a string"),
        ('{"text": null}', "field 'text' is null, not a string"),
        # Hostile: Python's JSON parser recurses once per level.
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        ('{"text": ' * 100_000, "JSON nested too deeply"),
    ],
)
def test_bad_json_names_file_and_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    reason: str,
) -> None:
    lines = [json.dumps({"text": f"record {number}"}) for number in range(30)]
    lines[16] = line
    Path(tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run("encode", *TOKENIZER, "data.jsonl", "-o", "out.jsonl") == 1
    error = capsys.readouterr().err
    assert error.startswith(f"bbtok: error: data.jsonl:17: {reason}"), error
    assert error.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["data.jsonl"]


def test_the_first_problem_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Bad JSON on line 3, bad UTF-8 on line 5 of the same block: line 3 is the one named.
    source = tmp_path / "data.jsonl"
    source.write_bytes(b'{"text": "a"}\n{"text": "b"}\n{oops\n{"text": "d"}\n{"text": "\xff"}\n')
    assert run("encode", *TOKENIZER, source, "-o", tmp_path / "out.jsonl") == 1
    assert f"{source}:3: invalid JSON" in capsys.readouterr().err


def test_on_error_skip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tok: BlenderbotSmallTokenizerFast
) -> None:
    texts = [f"record number {number}" for number in range(40)]
    lines = [json.dumps({"text": text}).encode("utf-8") for text in texts]
    bad = {5: b'{"text": 5}', 6: b"not json", 20: b'{"text": "\xc3("}', 39: b"[" * 100_000}
    for index, line in bad.items():
        lines[index] = line
    source = tmp_path / "data.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    kept = [text for index, text in enumerate(texts) if index not in bad]
    numbers = [index for index in range(len(texts)) if index not in bad]

    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--on-error", "skip", "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, kept)
    error = capsys.readouterr().err
    assert error == (
        f"bbtok: skipped 4 records (first: {source}:6: field 'text' is a number, not a string)\n"
    )

    # Without --quiet: the count, then the summary of what was written.
    assert run("encode", *TOKENIZER, source, source, "-o", output, "--on-error", "skip") == 0
    lines_out = capsys.readouterr().err.splitlines()
    assert lines_out[0].startswith("bbtok: skipped 8 records (first: ")
    assert lines_out[1].startswith(f"bbtok: {2 * len(kept)} records, ")

    pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    table_path = tmp_path / "out.parquet"
    arguments = ["--on-error", "skip", "--batch-size", "3", "-q"]
    assert run("encode", *TOKENIZER, source, source, "-o", table_path, *arguments) == 0
    table = parquet.read_table(table_path)
    # Skipped records keep their numbers: the column still points into the input.
    assert table.column("record").to_pylist() == numbers + [n + len(texts) for n in numbers]
    assert table.column("input_ids").to_pylist() == expected_ids(tok, kept * 2)


def test_blank_lines_of_a_jsonl_input_are_no_records(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast
) -> None:
    source = tmp_path / "data.jsonl"
    source.write_bytes(b'\n{"text": "a"}\n \t\r\n\r\n{"text": "b"}\n\n')
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, ["a", "b"])


def test_blank_lines_take_no_record_number(tmp_path: Path) -> None:
    parquet = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "data.jsonl"
    # A bad record keeps its number; a blank line gets none; invalid UTF-8 sends the block
    # through the line-by-line reader, which must number the same way.
    source.write_bytes(b'{"text": "a"}\n\n{"text": 1}\n  \n{"text": "b"}\n\xff\n\n{"text": "c"}\n')
    output = tmp_path / "out.parquet"
    assert run("encode", *TOKENIZER, source, "-o", output, "--on-error", "skip", "-q") == 0
    assert parquet.read_table(output).column("record").to_pylist() == [0, 2, 4]


def test_a_line_of_white_space_is_still_a_txt_record(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast
) -> None:
    source = write_txt(tmp_path / "in.txt", ["a", " ", "", "b"])
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, ["a", " ", "", "b"])


@pytest.mark.parametrize("read_bytes", [4, inputs.READ_BYTES])  # across reads, within one
def test_a_record_longer_than_the_limit_names_file_and_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    read_bytes: int,
) -> None:
    monkeypatch.setattr(inputs, "READ_BYTES", read_bytes)
    source = write_txt(tmp_path / "in.txt", ["short", "ten bytes!", "eleven byte", "short"])
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--max-record-bytes", "10") == 1
    assert capsys.readouterr().err == (f"bbtok: error: {source}:3: record longer than 10 bytes\n")
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


@pytest.mark.parametrize("read_bytes", [4, inputs.READ_BYTES])
@pytest.mark.parametrize("input_format", ["txt", "jsonl"])
def test_a_record_longer_than_the_limit_can_be_skipped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tok: BlenderbotSmallTokenizerFast,
    read_bytes: int,
    input_format: str,
) -> None:
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(inputs, "READ_BYTES", read_bytes)
    texts = ["first", "x" * 200, "third", "y" * 50, "fifth"]
    if input_format == "txt":
        source = write_txt(tmp_path / "in.txt", texts, final=False)
    else:
        source = write_jsonl(tmp_path / "in.jsonl", texts)
    output = tmp_path / "out.parquet"
    arguments = ["--max-record-bytes", "40", "--on-error", "skip", "-q"]
    assert run("encode", *TOKENIZER, source, "-o", output, *arguments) == 0
    table = pyarrow_parquet.read_table(output)
    assert table.column("input_ids").to_pylist() == expected_ids(tok, ["first", "third", "fifth"])
    assert table.column("record").to_pylist() == [0, 2, 4]
    assert capsys.readouterr().err == (
        f"bbtok: skipped 2 records (first: {source}:2: record longer than 40 bytes)\n"
    )


def test_a_line_without_an_end_longer_than_the_limit_is_one_skipped_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tok: BlenderbotSmallTokenizerFast
) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"ok\n" + b"z" * 5000)
    output = tmp_path / "out.jsonl"
    arguments = ["--max-record-bytes", "100", "--on-error", "skip", "-q"]
    assert run("encode", *TOKENIZER, source, "-o", output, *arguments) == 0
    assert read_jsonl_ids(output) == expected_ids(tok, ["ok"])
    assert capsys.readouterr().err.startswith("bbtok: skipped 1 record (first: ")


# A lone surrogate escape is valid JSON; a byte-level tokenizer (the tokenizers library) cannot
# encode the text it gives, and raises TypeError.
SURROGATE_RECORD = '{"text": "a\\ud800b"}'
SURROGATE_REASON = (
    "it holds a lone surrogate, U+D800 at character 2, which this tokenizer cannot encode (it "
    "works on UTF-8)"
)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_record_the_tokenizer_fails_on_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [json.dumps({"text": f"record {number}"}) for number in range(5)]
    source = write_lines(tmp_path / "in.jsonl", [*good[:3], SURROGATE_RECORD, *good[3:]])
    output = tmp_path / "out.jsonl"
    assert run("encode", "--tokenizer", BYTE_LEVEL_DIR, source, "-o", output) == 1
    assert capsys.readouterr().err == f"bbtok: error: {source}:4: {SURROGATE_REASON}\n"
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl"]


def test_a_record_the_tokenizer_fails_on_can_be_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = [f"record {number}" for number in range(5)]
    good = [json.dumps({"text": text}) for text in texts]
    source = write_lines(tmp_path / "in.jsonl", [*good[:3], SURROGATE_RECORD, *good[3:]])
    output = tmp_path / "out.jsonl"
    arguments = ["--on-error", "skip", "-q"]
    assert run("encode", "--tokenizer", BYTE_LEVEL_DIR, source, "-o", output, *arguments) == 0
    byte_level = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    assert read_jsonl_ids(output) == [byte_level(text)["input_ids"] for text in texts]
    assert capsys.readouterr().err == (
        f"bbtok: skipped 1 record (first: {source}:4: {SURROGATE_REASON})\n"
    )


def test_the_first_skipped_record_named_is_the_first_in_the_input_whoever_found_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reader finds line 5 bad before the tokenizer gets to line 2.
    lines = ['{"text": "a"}', SURROGATE_RECORD, '{"text": "c"}', '{"text": "d"}', "not json"]
    source = write_lines(tmp_path / "in.jsonl", lines)
    arguments = ["-o", tmp_path / "out.jsonl", "--on-error", "skip", "-q"]
    assert run("encode", "--tokenizer", BYTE_LEVEL_DIR, source, *arguments) == 0
    assert capsys.readouterr().err == (
        f"bbtok: skipped 2 records (first: {source}:2: {SURROGATE_REASON})\n"
    )


def test_a_batch_the_tokenizer_fails_on_as_a_whole_loses_no_record(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tok: BlenderbotSmallTokenizerFast,
    records: list[str],
) -> None:
    real_tokenize = encode.tokenize_batch

    def out_of_memory_beyond_one_record(
        tokenizer: Any, texts: list[str], threads: int, max_length: int | None = None
    ) -> tuple[bytes, list[int]]:
        if len(texts) > 1:
            raise MemoryError
        return real_tokenize(tokenizer, texts, threads, max_length)

    monkeypatch.setattr(encode, "tokenize_batch", out_of_memory_beyond_one_record)
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "50", "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, records)


def test_a_number_of_more_digits_than_python_reads_is_a_bad_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "in.jsonl", ['{"text": "a", "id": ' + "7" * 5000 + "}"])
    assert run("encode", *TOKENIZER, source, "-o", tmp_path / "out.jsonl") == 1
    assert capsys.readouterr().err == (
        f"bbtok: error: {source}:1: a number of 5,000 digits (at most 4,300 are read)\n"
    )


def test_an_existing_output_is_untouched_by_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records: list[str]
) -> None:
    monkeypatch.setattr(inputs, "READ_BYTES", 256)  # so that the bad line is read late
    lines = [text.encode("utf-8") for text in records]
    lines[-5] = b"\xff"
    source = tmp_path / "in.txt"
    source.write_bytes(b"\n".join(lines))
    output = tmp_path / "out.jsonl"
    output.write_text("precious\n")
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "10", "-q") == 1
    assert output.read_text() == "precious\n"
    assert leftovers(tmp_path) == []


def test_a_write_error_leaves_no_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    records: list[str],
) -> None:
    real_write = outputs.JsonlSink.write
    calls = []

    def failing_write(self: outputs.JsonlSink, encoded: outputs.Encoded) -> None:
        calls.append(len(encoded.lengths))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_write(self, encoded)

    monkeypatch.setattr(outputs.JsonlSink, "write", failing_write)
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "10") == 1
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


def test_an_output_file_appears_whole_when_its_sink_is_finished(tmp_path: Path) -> None:
    output = tmp_path / "ids.jsonl"
    output.write_text("the old output\n")
    ids = bytes(array("I", [1, 2, 3]))
    with outputs.output_sink(str(output), "jsonl") as sink:
        sink.write(outputs.Encoded(ids, lengths=[2, 1], records=[0, 1], size=8))
        assert output.read_text() == "the old output\n"
        assert len(leftovers(tmp_path)) == 1
    assert output.read_text() == '{"input_ids":[1,2]}\n{"input_ids":[3]}\n'
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "rows",
    [[], [[]], [[0], [], [9, 10, 99, 100, 65535, 65536]], [[2**32 - 1, 2**31, 1_000_000_000]]],
)
def test_json_lines_are_what_json_writes_for_each_record(rows: list[list[int]]) -> None:
    ids = bytes(array("I", [id_ for row in rows for id_ in row]))
    expected = "".join(json.dumps({"input_ids": row}, separators=(",", ":")) + "\n" for row in rows)
    assert _native.jsonl_lines(ids, [len(row) for row in rows]) == expected.encode("ascii")


@pytest.mark.parametrize(
    ("ids", "counts", "message"),
    [
        (b"\x01\x00\x00", [1], "3 bytes is not a whole number of uint32 ids"),
        (bytes(array("I", [1, 2])), [1], "add up to 1 ids, but 2 were given"),
        (bytes(array("I", [1])), [1, 1], "add up to 2 ids, but 1 were given"),
    ],
)
def test_json_lines_refuse_counts_that_do_not_match_the_ids(
    ids: bytes, counts: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _native.jsonl_lines(ids, counts)


def test_an_error_while_finishing_an_output_file_leaves_it_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_close(self: outputs.JsonlSink) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(outputs.JsonlSink, "close", failing_close)
    output = tmp_path / "ids.jsonl"
    output.write_text("the old output\n")
    with (
        pytest.raises(OSError, match="Input/output error"),
        outputs.output_sink(str(output), "jsonl") as sink,
    ):
        sink.write(outputs.Encoded(bytes(array("I", [1])), lengths=[1], records=[0], size=2))
    assert output.read_text() == "the old output\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_ctrl_c_leaves_no_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    records: list[str],
    suffix: str,
) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    real_tokenize = encode.tokenize_batch
    calls = []

    def interrupted(
        tokenizer: Any, texts: list[str], threads: int, max_length: int | None = None
    ) -> tuple[bytes, list[int]]:
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_tokenize(tokenizer, texts, threads, max_length)

    monkeypatch.setattr(encode, "tokenize_batch", interrupted)
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / f"out{suffix}"
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "50") == 130
    assert capsys.readouterr().err == f"bbtok: interrupted; {output} was not written\n"
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]

    output.write_bytes(b"the old output")
    calls.clear()
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "50") == 130
    assert output.read_bytes() == b"the old output"
    assert leftovers(tmp_path) == []


def test_paths_are_checked_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_txt(tmp_path / "in.txt", ["hello"])
    csv = write_txt(tmp_path / "in.csv", ["hello"])
    cases = [
        ([source, "-o", tmp_path / "out.csv"], "cannot tell the output format from its name"),
        ([csv, "-o", tmp_path / "o.jsonl"], "cannot tell its format"),
        ([tmp_path / "none.txt", "-o", tmp_path / "o.jsonl"], "no such input file"),
        ([source, "-o", tmp_path / "no" / "o.jsonl"], "no directory"),
        ([source, "-o", tmp_path], "is a directory: name a file to write"),
        (["-", "-", "-o", tmp_path / "o.jsonl"], "standard input ('-') can be read only once"),
    ]
    for arguments, message in cases:
        assert run("encode", *TOKENIZER, *arguments) == 1
        assert message in capsys.readouterr().err
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "x"}\n')
    assert run("encode", *TOKENIZER, source, jsonl, "-o", jsonl) == 1
    assert "is also an input" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["in.csv", "in.jsonl", "in.txt"]


def test_a_missing_input_is_named_before_its_format_is_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_txt(tmp_path / "in.txt", ["hello"])
    missing = tmp_path / "corpus.csv"
    assert run("encode", *TOKENIZER, source, missing, "-o", tmp_path / "o.jsonl") == 1
    assert capsys.readouterr().err == f"bbtok: error: no such input file: {missing}\n"
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]
    with pytest.raises(SystemExit):
        run("encode", *TOKENIZER, source, "-o", tmp_path / "o.jsonl", "--max-length", "0")


def test_default_tokenizer_is_the_shipped_one_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tok: BlenderbotSmallTokenizerFast
) -> None:
    source = write_txt(tmp_path / "in.txt", ["Hello there!"])
    output = tmp_path / "out.jsonl"
    monkeypatch.chdir(tmp_path)
    assert run("encode", source, "-o", output, "-q") == 0
    assert read_jsonl_ids(output) == [tok("Hello there!")["input_ids"]]
    with pytest.raises(SystemExit, match="no tokenizer directory at 'missing'"):
        run("encode", "--tokenizer", "missing", source, "-o", output)


# -- outputs that are streams ------------------------------------------------------------------


def test_output_dash_writes_json_lines_to_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tok: BlenderbotSmallTokenizerFast
) -> None:
    source = write_txt(tmp_path / "in.txt", ["Hello there!", "", "Fine."])
    assert run("encode", *TOKENIZER, source, "-o", "-") == 0
    captured = capsys.readouterr()
    rows = [json.loads(line)["input_ids"] for line in captured.out.splitlines()]
    assert rows == expected_ids(tok, ["Hello there!", "", "Fine."])
    assert captured.err.startswith("bbtok: 3 records, ")  # the summary stays off the results
    assert captured.err.endswith(" -> <stdout>\n")
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


def test_parquet_to_standard_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_txt(tmp_path / "in.txt", ["hello"])
    assert run("encode", *TOKENIZER, source, "-o", "-", "--output-format", "parquet") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "bbtok: error: <stdout>: parquet cannot be written to standard output, a pipe or a device"
    )


def test_output_format_overrides_the_extension(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast
) -> None:
    source = write_txt(tmp_path / "in.txt", ["hello"])
    output = tmp_path / "ids.out"
    assert run("encode", *TOKENIZER, source, "-o", output, "--output-format", "jsonl", "-q") == 0
    assert read_jsonl_ids(output) == expected_ids(tok, ["hello"])


def test_a_fifo_output_is_written_straight_to(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast
) -> None:
    source = write_txt(tmp_path / "in.txt", ["Hello there!", "Fine."])
    fifo = tmp_path / "ids.jsonl"
    os.mkfifo(fifo)
    received: list[bytes] = []
    # Opening a FIFO to write waits for a reader: one in a thread, which ends at the end.
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert run("encode", *TOKENIZER, source, "-o", fifo, "-q") == 0
    reader.join(timeout=60)
    rows = [json.loads(line)["input_ids"] for line in received[0].decode().splitlines()]
    assert rows == expected_ids(tok, ["Hello there!", "Fine."])
    assert sorted(os.listdir(tmp_path)) == ["ids.jsonl", "in.txt"]  # no temporary file


def test_dev_stdout_is_appended_to_where_the_shell_points_it(
    tmp_path: Path, tok: BlenderbotSmallTokenizerFast
) -> None:
    source = write_txt(tmp_path / "in.txt", ["hello"])
    results = tmp_path / "results.jsonl"
    results.write_bytes(b"earlier line\n")
    with results.open("ab") as standard_output:  # as `>> results.jsonl`
        finished = subprocess.run(
            [sys.executable, "-m", "bbtok", "encode", *TOKENIZER, str(source), "-o", "/dev/stdout"],
            stdout=standard_output,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
    assert finished.returncode == 0, finished.stderr
    earlier, line = results.read_text().splitlines()
    assert (earlier, json.loads(line)["input_ids"]) == ("earlier line", tok("hello")["input_ids"])
    assert leftovers(tmp_path) == []


# -- what is shown ------------------------------------------------------------------------------


def test_summary_and_no_progress_when_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], records: list[str]
) -> None:
    source = write_txt(tmp_path / "in.txt", records)
    output = tmp_path / "out.jsonl"
    assert run("encode", *TOKENIZER, source, "-o", output, "--batch-size", "20") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "\r" not in captured.err and "encoding:" not in captured.err
    assert captured.err.startswith(f"bbtok: {len(records)} records, ")
    assert captured.err.endswith(f" -> {output}\n")
    assert captured.err.count("\n") == 1

    assert run("encode", *TOKENIZER, source, "-o", output, "--quiet") == 0
    assert capsys.readouterr() == ("", "")


def test_the_summary_counts_one_record_and_one_token_in_the_singular() -> None:
    summary = report.Summary("ids.jsonl", records=1, tokens=1, bytes=2_000_000, seconds=1.0)
    assert summary.line().startswith("bbtok: 1 record, 1 token, ")


def test_the_summary_counts_many_records_and_tokens_in_the_plural() -> None:
    summary = report.Summary("ids.jsonl", records=0, tokens=12_345, bytes=0, seconds=1.0)
    assert summary.line().startswith("bbtok: 0 records, 12,345 tokens, ")


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (181_400, "181.4 kB"),
        (999_960, "1.0 MB"),
        (56_700_000, "56.7 MB"),
        (1_100_000_000_000, "1,100.0 GB"),
    ],
)
def test_sizes_are_shown_in_a_unit_that_suits_them(size: int, shown: str) -> None:
    assert report.byte_size(size) == shown


def test_the_summary_shows_the_speed_of_a_run_long_enough_to_time() -> None:
    summary = report.Summary("ids.jsonl", records=9, tokens=90, bytes=3_000_000, seconds=2.0)
    assert summary.line().endswith(" 3.0 MB in 2.00 s (1.5 MB/s) -> ids.jsonl")


def test_the_summary_leaves_out_the_speed_of_a_run_too_short_to_time() -> None:
    summary = report.Summary("ids.jsonl", records=1, tokens=1, bytes=6, seconds=0.0)
    assert summary.line() == "bbtok: 1 record, 1 token, 6 bytes in 0.00 s -> ids.jsonl"


def test_one_skipped_record_is_reported_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "data.jsonl"
    source.write_text('{"text": "a"}\n{"text": 1}\n', encoding="utf-8")
    arguments = ["-o", tmp_path / "out.jsonl", "--on-error", "skip", "-q"]
    assert run("encode", *TOKENIZER, source, *arguments) == 0
    assert capsys.readouterr().err.startswith("bbtok: skipped 1 record (first: ")


def test_progress_text() -> None:
    counters = report.Counters(records=12_000, tokens=0, bytes=3_000_000)
    assert report.progress_text(counters, 2.0, None) == (
        "encoding: 12,000 records  6,000 records/s  1.5 MB/s"
    )
    assert report.progress_text(counters, 2.0, 12_000_000) == (
        "encoding:  25%  12,000 records  6,000 records/s  1.5 MB/s  ETA 0:06"
    )
    counters.bytes = 30_000
    assert report.progress_text(counters, 2.0, 12_000_000_000).endswith("0.0 MB/s  ETA 222:13:18")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records: list[str]
) -> None:
    monkeypatch.setattr(report, "PROGRESS_SECONDS", 0.001)
    real_tokenize = encode.tokenize_batch

    def slow(
        tokenizer: Any, texts: list[str], threads: int, max_length: int | None = None
    ) -> tuple[bytes, list[int]]:
        encode.time.sleep(0.01)  # time for the progress line to be drawn
        return real_tokenize(tokenizer, texts, threads, max_length)

    monkeypatch.setattr(encode, "tokenize_batch", slow)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    source = write_txt(tmp_path / "in.txt", records)
    assert run("encode", *TOKENIZER, source, "-o", tmp_path / "o.jsonl", "--batch-size", "20") == 0
    shown = terminal.getvalue()
    assert "\rencoding: " in shown and "%" in shown and "ETA" in shown
    progress, summary = shown.rsplit("\r\x1b[K", 1)  # the line is erased before the summary
    assert "\n" not in progress
    assert summary.startswith(f"bbtok: {len(records)} records") and summary.count("\n") == 1

    terminal.seek(0)
    terminal.truncate()
    assert run("encode", *TOKENIZER, source, "-o", tmp_path / "o.jsonl", "--quiet") == 0
    assert terminal.getvalue() == ""


def test_python_m_bbtok_encode(tmp_path: Path, tok: BlenderbotSmallTokenizerFast) -> None:
    texts = ["Hello there!", "", "How are you?\u2028Fine."]
    output = tmp_path / "out.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "bbtok", "encode", *TOKENIZER, "-", "-o", str(output)],
        input="\r\n".join(texts).encode("utf-8"),
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().startswith("bbtok: 3 records, ")
    assert read_jsonl_ids(output) == expected_ids(tok, texts)


# -- hostile use, each in a process of its own ---------------------------------------------------


def test_reading_dev_zero_stops_at_the_record_limit(tmp_path: Path) -> None:
    finished = subprocess.run(
        limited_bbtok("encode", *TOKENIZER, "--format", "txt", "/dev/zero", "-o", "ids.jsonl"),
        capture_output=True,
        cwd=tmp_path,
        env=FEW_THREADS,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 1
    limit = f"{DEFAULT_MAX_RECORD_BYTES:,}"
    assert finished.stderr.decode() == (
        f"bbtok: error: /dev/zero:1: record longer than {limit} bytes\n"
    )
    assert os.listdir(tmp_path) == []


def test_skipping_a_huge_line_does_not_hold_it(tmp_path: Path) -> None:
    # 512 MiB without a line end, then a record: held and joined, the line would not fit.
    skipping_at_one_mebibyte = ["--max-record-bytes", "1048576", "--on-error", "skip"]
    producer = subprocess.Popen(
        ["sh", "-c", "head -c 536870912 /dev/zero; printf '\\nHello there!\\n'"],
        stdout=subprocess.PIPE,
    )
    try:
        finished = subprocess.run(
            limited_bbtok("encode", *TOKENIZER, "-", "-o", "-", *skipping_at_one_mebibyte),
            stdin=producer.stdout,
            capture_output=True,
            cwd=tmp_path,
            env=FEW_THREADS,
            timeout=120,
            check=False,
        )
    finally:
        assert producer.stdout is not None
        producer.stdout.close()
        producer.kill()
        producer.wait()
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == b'{"input_ids":[10770,1742,10]}\n'
    assert finished.stderr.decode().startswith(
        "bbtok: skipped 1 record (first: <stdin>:1: record longer than 1,048,576 bytes)\n"
    )


def test_sigterm_leaves_neither_output_nor_temporary_file(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bbtok", "encode", *TOKENIZER, "-", "-o", "out.jsonl"]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=FEW_THREADS
    )
    try:
        assert process.stdin is not None
        process.stdin.write(b"a first record\n")
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while not leftovers(tmp_path):  # the run has begun once its temporary file is there
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # while it waits for more of standard input
        returncode = process.wait(timeout=60)
    finally:
        process.kill()
        _, error = process.communicate()
    assert returncode == 128 + signal.SIGTERM
    assert error.decode() == "bbtok: terminated (SIGTERM); out.jsonl was not written\n"
    assert os.listdir(tmp_path) == []


def test_a_closed_standard_output_ends_the_run_quietly(tmp_path: Path) -> None:
    source = write_txt(tmp_path / "in.txt", ["some words to write"] * 100_000)
    command = [sys.executable, "-m", "bbtok", "encode", *TOKENIZER, str(source), "-o", "-"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=FEW_THREADS
    )
    try:
        assert process.stdout is not None
        assert process.stdout.read(10) == b'{"input_id'
        process.stdout.close()  # as `| head` does
        returncode = process.wait(timeout=60)
    finally:
        process.kill()
        _, error = process.communicate()
    assert (returncode, error) == (128 + signal.SIGPIPE, b"")


# -- tokenize, decode, bench ----------------------------------------------------------------


def test_tokenize_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("tokenize", *TOKENIZER, "Hello, World!", "İx\nzzqx") == 0
    out = capsys.readouterr().out
    first, second = out.split("\n\n")
    assert first.splitlines() == [
        "text: 'Hello, World!' (4 tokens)",
        "token       id  start  end  text",
        "'hello'  10770      0    5  'Hello'",
        "','         21      5    6  ','",
        "'world'   2748      7   12  'World'",
        "'!'         10     12   13  '!'",
    ]
    rows = [line.split() for line in second.splitlines()[2:]]
    # Both pieces of a lowercased İ point at it; the unknown piece "zz@@" keeps its name.
    assert rows[0][2:] == ["0", "1", "'İ'"] and rows[1][2:] == ["0", "1", "'İ'"]
    assert ["'__newln__'", "4", "2", "3", "'\\n'"] in rows


def test_decode_command(
    capsys: pytest.CaptureFixture[str], tok: BlenderbotSmallTokenizerFast
) -> None:
    ids = tok("__start__ Hello there, friend! __end__")["input_ids"]
    assert run("decode", *TOKENIZER, *map(str, ids)) == 0
    assert capsys.readouterr().out == tok.decode(ids) + "\n"
    assert run("decode", *TOKENIZER, "--skip-special-tokens", json.dumps(ids)) == 0
    assert capsys.readouterr().out == tok.decode(ids, skip_special_tokens=True) + "\n"
    assert run("decode", *TOKENIZER, "12,", "x7", "3") == 1
    assert capsys.readouterr().err == "bbtok: error: not a token id: 'x7' (ids are whole numbers)\n"


def test_bench_gets_its_own_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[list[str] | None] = []

    def fake_main(argv: list[str] | None = None, prog: str | None = None) -> None:
        received.append(argv)

    monkeypatch.setattr(bench, "main", fake_main)
    assert run("bench", "--megabytes", "0.5", "--repeats", "1") == 0
    assert received == [["--megabytes", "0.5", "--repeats", "1"]]


def test_existing_commands_still_parse() -> None:
    parser = build_parser()
    command = parser.parse_args(["train", "a.txt", "-o", "out"]).run
    assert command.function() is tokenizer_commands.run_train
    assert parser.parse_args(["demo"]).run.function() is demo.run_demo
    assert parser.parse_args(["generate", "hi"]).run.function() is model_commands.run_generate


# -- without the Rust extension ---------------------------------------------------------------


def test_json_lines_formatted_in_python_are_the_extensions_own() -> None:
    ids = array("I", [0, 7, 2**31, 2**32 - 1, 42, 9, 10, 100_000]).tobytes()
    for counts in ([3, 0, 5], [8], [0, 0, 8, 0], []):
        if sum(counts) == 8:
            assert outputs.python_jsonl_lines(ids, counts) == _native.jsonl_lines(ids, counts)
    assert outputs.python_jsonl_lines(b"", []) == _native.jsonl_lines(b"", []) == b""


def test_json_lines_whose_counts_do_not_add_up_are_refused_as_by_the_extension() -> None:
    ids = array("I", [1, 2, 3]).tobytes()
    with pytest.raises(ValueError, match=r"^the record counts add up to 2 ids, but 3 were given$"):
        outputs.python_jsonl_lines(ids, [2])
    with pytest.raises(ValueError, match=r"^the record counts add up to 2 ids, but 3 were given$"):
        _native.jsonl_lines(ids, [2])


# The extension made unimportable, as in an install without it.
ENCODE_WITHOUT_EXTENSION = """
import sys
sys.modules["bbtok._native"] = None
from bbtok.cli import main
sys.exit(main(["encode", "-q", "--tokenizer", *sys.argv[1:]]))
"""


def test_a_byte_level_tokenizer_encodes_to_json_lines_without_the_rust_extension(
    tmp_path: Path,
) -> None:
    texts = ["Hello there!", "a second record"]
    source = write_lines(tmp_path / "in.txt", texts)
    output = tmp_path / "out.jsonl"
    arguments = [str(BYTE_LEVEL_DIR), str(source), "-o", str(output)]
    child = run_python_child(["-c", ENCODE_WITHOUT_EXTENSION, *arguments], tmp_path, 120)
    assert child.returncode == 0, child.stderr
    byte_level = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    assert read_jsonl_ids(output) == [byte_level(text)["input_ids"] for text in texts]
