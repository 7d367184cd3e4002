"""encode_arrow: Arrow string arrays in, list<int32> ids out, the same ids as transformers'
tokenizer (BlenderbotSmall) and as ``tok(texts)`` (byte-level); and the compact pickled state
that makes pickling and datasets' fingerprinting cheap, unpickled as strictly as files load."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.tokenization.arrow_ids import ids_array, list_needs_large_offsets

from conftest import MULTILINGUAL_TEXT, SAMPLE_DIR, reference_class, run_python_child

pa = pytest.importorskip("pyarrow")

BYTE_LEVEL_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "byte_level"
TEXTS = [*MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1][:300], "", " "]
SMALL_CLASSES = [BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast]
ALL_CLASSES = [*SMALL_CLASSES, BlenderbotTokenizer]
# string_view keeps a text of at most 12 bytes inside its view, a longer one in a data buffer.
VIEW_TEXTS = [
    "",
    "hi",
    "twelve bytes",
    "thirteen byte",
    "héllo wörld",  # 13 bytes, 11 characters
    "日本語",  # 9 bytes
    "a much longer text, past any view's inline bytes, with ünïcode in it",
    " ",
    "Hello there!",
]


@pytest.fixture(scope="module")
def reference_ids() -> list[list[int]]:
    reference = reference_class().from_pretrained(str(SAMPLE_DIR))
    ids: list[list[int]] = reference(TEXTS)["input_ids"]
    return ids


@pytest.mark.parametrize("cls", SMALL_CLASSES)
def test_blenderbot_small_ids_are_the_references(cls: type[Any], reference_ids: Any) -> None:
    tok = cls.from_pretrained(SAMPLE_DIR)
    ids = tok.encode_arrow(pa.array(TEXTS))
    assert ids.type == pa.list_(pa.int32())
    assert ids.to_pylist() == reference_ids


def test_byte_level_ids_are_those_of_a_call_truncation_included() -> None:
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    assert tok.encode_arrow(pa.array(TEXTS)).to_pylist() == tok(TEXTS)["input_ids"]
    truncated = tok(TEXTS, truncation=True, max_length=5)["input_ids"]
    assert tok.encode_arrow(pa.array(TEXTS), max_length=5).to_pylist() == truncated


@pytest.mark.parametrize("cls", SMALL_CLASSES)
def test_chunked_large_string_arrays_give_one_array_of_every_row(
    cls: type[Any], reference_ids: Any
) -> None:
    tok = cls.from_pretrained(SAMPLE_DIR)
    chunked = pa.chunked_array([TEXTS[:100], TEXTS[100:], []], type=pa.large_string())
    assert tok.encode_arrow(chunked).to_pylist() == reference_ids


def test_a_sliced_array_is_read_from_its_offset(reference_ids: Any) -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    assert tok.encode_arrow(pa.array(TEXTS).slice(7, 20)).to_pylist() == reference_ids[7:27]


def test_truncation_follows_the_truncation_side(reference_ids: Any) -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR, truncation_side="left")
    expected = [row[-4:] for row in reference_ids]
    assert tok.encode_arrow(pa.array(TEXTS), max_length=4).to_pylist() == expected


@pytest.mark.parametrize("cls", [*SMALL_CLASSES, BlenderbotTokenizer])
def test_a_null_text_is_refused_with_its_row(cls: type[Any]) -> None:
    tok = cls.from_pretrained(BYTE_LEVEL_DIR if cls is BlenderbotTokenizer else SAMPLE_DIR)
    with pytest.raises(ValueError, match=r"texts\[2\] is null"):
        tok.encode_arrow(pa.chunked_array([["a"], ["b", None]]))


@pytest.mark.parametrize("cls", [*SMALL_CLASSES, BlenderbotTokenizer])
def test_an_empty_array_gives_an_empty_list_array(cls: type[Any]) -> None:
    tok = cls.from_pretrained(BYTE_LEVEL_DIR if cls is BlenderbotTokenizer else SAMPLE_DIR)
    ids = tok.encode_arrow(pa.array([], pa.string()))
    assert (len(ids), ids.type) == (0, pa.list_(pa.int32()))


def test_an_array_of_another_type_is_refused_by_name() -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    with pytest.raises(TypeError, match="string, large_string or string_view"):
        tok.encode_arrow(pa.array([1, 2]))
    with pytest.raises(TypeError, match="__arrow_c_array__"):
        tok.encode_arrow(["a list"])


@pytest.mark.parametrize("cls", SMALL_CLASSES)
def test_polars_series_are_read_through_the_capsule_interface(
    cls: type[Any], reference_ids: Any
) -> None:
    pl = pytest.importorskip("polars")
    tok = cls.from_pretrained(SAMPLE_DIR)
    assert tok.encode_arrow(pl.Series(TEXTS)).to_pylist() == reference_ids


def tokenizer_of(cls: type[Any]) -> Any:
    return cls.from_pretrained(BYTE_LEVEL_DIR if cls is BlenderbotTokenizer else SAMPLE_DIR)


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_string_view_arrays_give_the_ids_of_a_call(cls: type[Any]) -> None:
    assert {0, 12, 13} <= {len(text.encode()) for text in VIEW_TEXTS}
    tok = tokenizer_of(cls)
    ids = tok.encode_arrow(pa.array(VIEW_TEXTS, pa.string_view()))
    assert ids.to_pylist() == tok(VIEW_TEXTS)["input_ids"]


@pytest.mark.parametrize("cls", SMALL_CLASSES)
def test_chunked_string_view_arrays_give_one_array_of_every_row(
    cls: type[Any], reference_ids: Any
) -> None:
    tok = cls.from_pretrained(SAMPLE_DIR)
    chunked = pa.chunked_array([TEXTS[:100], [], TEXTS[100:]], type=pa.string_view())
    assert tok.encode_arrow(chunked).to_pylist() == reference_ids


def test_a_sliced_string_view_array_is_read_from_its_offset(reference_ids: Any) -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    sliced = pa.array(TEXTS, pa.string_view()).slice(7, 20)
    assert tok.encode_arrow(sliced).to_pylist() == reference_ids[7:27]


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_a_null_string_view_text_is_refused_with_its_row(cls: type[Any]) -> None:
    tok = tokenizer_of(cls)
    texts = pa.chunked_array([["a"], ["a text past twelve bytes", None]], type=pa.string_view())
    with pytest.raises(ValueError, match=r"texts\[2\] is null"):
        tok.encode_arrow(texts)


def test_a_binary_view_array_is_refused_by_name() -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    with pytest.raises(TypeError, match=r"string_view array, got one of format \"vz\""):
        tok.encode_arrow(pa.array([b"a"], pa.binary_view()))


# A string_view array whose view points past its data buffer (pyarrow builds it without
# checking): reading it must refuse the row, not read past the buffer.
HOSTILE_VIEW = f"""
import struct, pyarrow as pa
from bbtok import BlenderbotSmallTokenizerFast
views = struct.pack("=i4sii", 100, b"abcd", 0, 0) + struct.pack("=i4sii", 13, b"abcd", 5, 0)
tok = BlenderbotSmallTokenizerFast.from_pretrained({str(SAMPLE_DIR)!r})
for view in (views[:16], views[16:]):
    array = pa.Array.from_buffers(
        pa.string_view(), 1, [None, pa.py_buffer(view), pa.py_buffer(b"abcdefghijklmnop")]
    )
    try:
        tok.encode_arrow(array)
    except ValueError as error:
        print(error)
"""


def test_a_view_outside_the_data_buffers_is_refused_with_its_row(tmp_path: Path) -> None:
    child = run_python_child(["-c", HOSTILE_VIEW], tmp_path, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert (
        child.stdout.splitlines()
        == ["texts: row 0 has a view outside the array's data buffers"] * 2
    )


def test_large_list_offsets_start_one_id_past_int32() -> None:
    assert not list_needs_large_offsets(2**31 - 1)
    assert list_needs_large_offsets(2**31)


def test_ids_array_of_a_flat_buffer_keeps_its_rows() -> None:
    flat = pa.array([3, 4, 5], pa.uint32()).buffers()[1].to_pybytes()
    assert ids_array(flat, [1, 0, 2]).to_pylist() == [[3], [], [4, 5]]


# -- pickling -------------------------------------------------------------------------------


class CountingPickler(pickle.Pickler):
    """Counts the objects pickled (each goes through persistent_id once)."""

    count = 0

    def persistent_id(self, obj: Any) -> None:
        self.count += 1
        return None


def pickled_objects(tok: Any) -> int:
    import io

    pickler = CountingPickler(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dump(tok)
    return pickler.count


@pytest.mark.parametrize("cls", [*SMALL_CLASSES, BlenderbotTokenizer])
def test_a_pickle_is_a_few_hundred_objects_not_one_per_token(cls: type[Any]) -> None:
    tok = cls.from_pretrained(BYTE_LEVEL_DIR if cls is BlenderbotTokenizer else SAMPLE_DIR)
    # The sample vocabulary has 16,000 entries: one object each would be tens of thousands.
    assert pickled_objects(tok) < 1000


@pytest.mark.parametrize("cls", [*SMALL_CLASSES, BlenderbotTokenizer])
def test_an_unpickled_tokenizer_encodes_as_the_original(cls: type[Any]) -> None:
    tok = cls.from_pretrained(BYTE_LEVEL_DIR if cls is BlenderbotTokenizer else SAMPLE_DIR)
    tok.add_tokens(["zqxv"])
    copy = pickle.loads(pickle.dumps(tok))
    texts = [*TEXTS[:50], "a zqxv b"]
    assert copy(texts)["input_ids"] == tok(texts)["input_ids"]


@pytest.mark.parametrize("cls", [*SMALL_CLASSES, BlenderbotTokenizer])
def test_the_datasets_fingerprint_is_stable_and_follows_added_tokens(cls: type[Any]) -> None:
    hasher = pytest.importorskip("datasets.fingerprint").Hasher
    directory = BYTE_LEVEL_DIR if cls is BlenderbotTokenizer else SAMPLE_DIR
    first, second = cls.from_pretrained(directory), cls.from_pretrained(directory)
    assert hasher.hash(first) == hasher.hash(second)
    second.add_tokens(["zqxv"])
    assert hasher.hash(first) != hasher.hash(second)


# Each class's pickle, tokens added, as a digest: what datasets' fingerprint is made of.
PICKLE_DIGESTS = f"""
import hashlib, pickle
from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
for cls, directory in [
    (BlenderbotSmallTokenizer, {str(SAMPLE_DIR)!r}),
    (BlenderbotSmallTokenizerFast, {str(SAMPLE_DIR)!r}),
    (BlenderbotTokenizer, {str(BYTE_LEVEL_DIR)!r}),
]:
    tok = cls.from_pretrained(directory)
    tok.add_tokens(["zqxv", "<3", "two words"])
    print(hashlib.sha256(pickle.dumps(tok, protocol=4)).hexdigest())
"""


def test_a_pickle_is_the_same_bytes_whatever_the_process_string_hashes() -> None:
    # datasets names a map's cache files after the tokenizer's pickle: one that changed with
    # the process's string hashes would never be found again by the next run.
    digests = []
    for seed in ("1", "2", "3"):
        child = subprocess.run(
            [sys.executable, "-c", PICKLE_DIGESTS],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
        )
        assert child.returncode == 0, child.stderr[-2000:]
        digests.append(child.stdout.split())
    assert len(digests[0]) == 3
    assert digests[0] == digests[1] == digests[2]


def tampered(tok: Any, name: str, value: Any) -> Any:
    state = tok.__getstate__()
    state[name] = value
    copy = object.__new__(type(tok))
    return lambda: copy.__setstate__(state)


def test_a_tampered_fast_vocabulary_is_refused_as_a_file_would_be() -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    merges = tok.__getstate__()["_core_files"][1]
    unpickle = tampered(tok, "_core_files", (b'{"a": 0, "b": 0}', merges, 10))
    with pytest.raises(ValueError, match=r"unpickled tokenizer: vocab\.json: tokens 'a' and 'b'"):
        unpickle()


def test_a_tampered_python_vocabulary_is_refused_as_a_file_would_be() -> None:
    tok = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_DIR)
    merges = tok.__getstate__()["_vocabulary_files"][1]
    unpickle = tampered(tok, "_vocabulary_files", (b'{"a": -1}', merges))
    with pytest.raises(ValueError, match=r"unpickled tokenizer: vocab\.json: token 'a' has id -1"):
        unpickle()


def test_tampered_byte_level_merges_are_refused() -> None:
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    unpickle = tampered(tok, "_merges", b'[["a"]]')
    with pytest.raises(ValueError, match="unpickled tokenizer: merge 0"):
        unpickle()


def test_vocabulary_bytes_that_are_not_utf8_are_refused() -> None:
    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_DIR)
    merges = tok.__getstate__()["_core_files"][1]
    unpickle = tampered(tok, "_core_files", (b"\xff", merges, 10))
    with pytest.raises(ValueError, match=r"unpickled tokenizer: vocab\.json: invalid UTF-8"):
        unpickle()
