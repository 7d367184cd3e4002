"""The model runner given hostile input: generation settings that would allocate without bound or
name tokens the model does not have, inputs that are not ids or masks, and safetensors headers
built to overflow, overlap or crash the parser. Each must end in a ``ValueError`` that names the
argument (or the file and the tensor), never an IndexError, OverflowError, MemoryError or a hang.

A test whose failure would be a huge allocation runs its work in a child process with a timeout
and an address-space limit, so that it fails instead of stopping the test run.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.generation import GenerationSettings, generate
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration
from bbtok.modeling.weights import SafetensorsFile

from conftest import run_python_child

Model = BlenderbotSmallForConditionalGeneration
VOCAB = 16388  # the sample checkpoint's vocabulary; it has 64 positions
INPUT = [[5, 6, 7, 2]]
# Long enough for a child to import numpy and load the sample checkpoint on a loaded 2-core
# machine; far shorter than a run sized by max_length=10**9 would take.
CHILD_TIMEOUT = 120
# The child needs under 200 MB; the buffers of the runs below, sized by their max_length, would
# take from 2.5 GB (num_beams=4, max_length=10**7) to 15 GiB (max_new_tokens=10**9).
CHILD_ADDRESS_SPACE = 2**30

# Each child loads the sample checkpoint in float64 under the address-space limit (argv[1]).
CHILD_PRELUDE = """
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling import BlenderbotSmallForConditionalGeneration as Model, IncrementalDecoder
model = Model.from_pretrained(SAMPLE_CHECKPOINT, dtype="float64")
"""
GENERATE = """
settings, ids = json.loads(sys.argv[2]), json.loads(sys.argv[3])
try:
    output = model.generate(np.array(ids), **settings)
except Exception as error:
    print(f"{type(error).__name__}: {error}")
else:
    print(json.dumps(output.tolist()))
"""


def run_in_a_child(tmp_path: Path, code: str, *arguments: str) -> str:
    """What CHILD_PRELUDE then ``code`` print, run in a child that may not exceed its limits."""
    command = ["-c", CHILD_PRELUDE + code, str(CHILD_ADDRESS_SPACE), *arguments]
    child = run_python_child(command, tmp_path, CHILD_TIMEOUT)
    assert child.returncode == 0, child.stderr
    return child.stdout.strip()


def generate_in_a_child(tmp_path: Path, **settings: Any) -> str:
    """What the sample checkpoint generates for INPUT in float64: the ids as JSON, or the error."""
    return run_in_a_child(tmp_path, GENERATE, json.dumps(settings), json.dumps(INPUT))


# -- generation: buffers sized by what the model can reach -----------------------------------------


def test_a_huge_max_new_tokens_allocates_only_what_generation_reaches(tmp_path: Path) -> None:
    # transformers 5.23.0 (float64, eager attention) with max_new_tokens=1000, which it can
    # allocate for; the run ends at EOS long before either bound matters.
    expected = [[1, 6101, 12874, 4715, 10715, 3086, 2835, 11698, 2]]
    output = generate_in_a_child(tmp_path, num_beams=2, max_new_tokens=10**9)
    assert output == json.dumps(expected)


def test_four_beams_and_a_huge_max_length_stop_at_eos_as_in_transformers(tmp_path: Path) -> None:
    # transformers 5.23.0 (float64, eager) with max_length=10**5 and with max_length=100.
    expected = [[1, 1177, 16193, 16193, 16193, 12593, 16193, 7834, 2]]
    assert generate_in_a_child(tmp_path, num_beams=4, max_length=10**7) == json.dumps(expected)


def test_a_beam_search_that_reaches_the_last_position_is_refused_there(tmp_path: Path) -> None:
    # Without an end-of-sequence token the search runs to max_length; transformers fails with an
    # IndexError when it feeds position 64, so do we, with a ValueError that says why.
    output = generate_in_a_child(
        tmp_path, num_beams=2, max_length=10**9, eos_token_id=None, forced_eos_token_id=None
    )
    assert output.startswith("ValueError: cannot generate past 64 positions")
    assert "max_position_embeddings" in output


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_beams": 2**40}, rf"`num_beams` is {2**40}, more than the {VOCAB} tokens"),
        ({"num_beams": VOCAB + 1}, rf"`num_beams` is {VOCAB + 1}, more than the {VOCAB} tokens"),
        (
            {"num_beams": 2**40, "num_return_sequences": 2**40 + 1},
            r"`num_return_sequences` \(1099511627777\) must not exceed `num_beams`",
        ),
    ],
    ids=["2**40 beams", "one beam more than tokens", "more sequences than beams"],
)
def test_absurd_beam_counts_are_refused_before_anything_is_allocated(
    tmp_path: Path, settings: dict[str, int], message: str
) -> None:
    output = generate_in_a_child(tmp_path, **settings)
    assert output.startswith("ValueError: ")
    assert re.search(message, output), output


def test_the_decoder_cache_has_no_more_room_than_the_model_has_positions(tmp_path: Path) -> None:
    code = """
ids = np.array([[5, 6, 7, 2]])
mask = np.ones(ids.shape, dtype=bool)
decoder = IncrementalDecoder(model, model.encode(ids, mask)[0], mask, capacity=2**40)
for _ in range(64):
    decoder.step(np.array([5]))
print(decoder.keys[0].shape[2])
try:
    decoder.step(np.array([5]))
except ValueError as error:
    print(error)
"""
    room, refusal = run_in_a_child(tmp_path, code).splitlines()
    assert room == "64"
    assert refusal.startswith("cannot generate past 64 positions (max_position_embeddings)")


# -- generation: token ids and lengths the model does not have ------------------------------------


@pytest.fixture(scope="module")
def model() -> Model:
    return Model.from_pretrained(SAMPLE_CHECKPOINT)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"decoder_start_token_id": VOCAB}, rf"`decoder_start_token_id` is {VOCAB}, not a token"),
        (
            {"decoder_start_token_id": None, "bos_token_id": 99999},
            r"`bos_token_id` is 99999, not a token",
        ),
        ({"forced_bos_token_id": 99999}, r"`forced_bos_token_id` is 99999, not a token"),
        ({"forced_eos_token_id": [2, VOCAB]}, rf"`forced_eos_token_id` holds {VOCAB}, not a token"),
        ({"eos_token_id": VOCAB}, rf"`eos_token_id` is {VOCAB}, not a token"),
        ({"num_beams": 3, "eos_token_id": [2, 20000]}, r"`eos_token_id` holds 20000, not a token"),
        ({"pad_token_id": VOCAB}, rf"`pad_token_id` is {VOCAB}, not a token"),
        ({"decoder_start_token_id": 2**63}, rf"`decoder_start_token_id` .* got {2**63}"),
        ({"eos_token_id": [2, 2**64]}, rf"`eos_token_id` .* got {2**64}"),
        ({"pad_token_id": 2**63}, rf"`pad_token_id` .* got {2**63}"),
        ({"max_length": 2**63}, rf"`max_length` must be at most 2\*\*63 - 1, got {2**63}"),
        ({"max_new_tokens": 2**64}, rf"`max_new_tokens` must be at most 2\*\*63 - 1, got {2**64}"),
        ({"num_beams": 2, "length_penalty": 400.0}, r"`length_penalty`=400.0 is too large"),
    ],
)
def test_token_ids_and_lengths_the_model_cannot_use_are_named(
    model: Model, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        model.generate(np.array(INPUT), **settings)


class UniformTen:
    """A decoder over a vocabulary of ten tokens, all equally likely at every step."""

    def step(self, tokens: np.ndarray) -> np.ndarray:
        return np.zeros((len(tokens), 10))

    def reorder(self, rows: np.ndarray) -> None:
        pass


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"forced_bos_token_id": 10}, r"`forced_bos_token_id` is 10, not a token"),
        ({"pad_token_id": 12, "eos_token_id": 3}, r"`pad_token_id` is 12, not a token"),
        ({"num_beams": 11}, r"`num_beams` is 11, more than the 10 tokens"),
    ],
)
def test_any_step_model_has_its_vocabulary_checked_at_the_first_step(
    settings: dict[str, int], message: str
) -> None:
    resolved = GenerationSettings(decoder_start_token_id=1, max_length=5, **settings)
    with pytest.raises(ValueError, match=message):
        generate(UniformTen(), 1, resolved)


# -- model inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"input_ids": [[5, VOCAB]]}, rf"input_ids holds ids outside \[0, {VOCAB}\): {VOCAB} at"),
        ({"input_ids": [[5, 6], [-3, 7]]}, r"input_ids holds ids outside .*: -3 at \[1, 0\]"),
        ({"input_ids": [[2**63, 5]]}, rf"input_ids holds ids outside .*: {2**63} at \[0, 0\]"),
        ({"input_ids": [[5], [6, 7]]}, r"input_ids must be a \[batch, length\] array"),
        ({"input_ids": np.zeros((0, 3), dtype=np.int64)}, r"input_ids must hold at least one row"),
        ({"input_ids": [[5, 6]], "attention_mask": [[1, 2]]}, r"0/1 mask, got 2 at \[0, 1\]"),
        ({"input_ids": [[5, 6]], "attention_mask": [[0.5, 1]]}, r"0/1 mask, got 0.5 at \[0, 0\]"),
        ({"input_ids": [[5, 6]], "attention_mask": [[1], [1, 1]]}, r"attention_mask must be a"),
    ],
)
def test_bad_generation_inputs_are_named_with_the_offending_value(
    model: Model, call: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        model.generate(**call)


def test_bad_decoder_inputs_of_a_forward_pass_are_named(model: Model) -> None:
    with pytest.raises(ValueError, match=rf"decoder_input_ids holds .*: {VOCAB + 5} at \[0, 1\]"):
        model([[5, 6]], decoder_input_ids=[[1, VOCAB + 5]])
    with pytest.raises(ValueError, match=r"decoder_attention_mask must be a 0/1 mask, got 3 at"):
        model([[5, 6]], decoder_input_ids=[[1, 5]], decoder_attention_mask=[[1, 3]])


# -- live: runs that reach past the positions, as transformers runs them ---------------------------


BEYOND_THE_POSITIONS: list[dict[str, Any]] = [
    {"max_length": 65, "eos_token_id": None, "forced_eos_token_id": None},
    {"max_length": 66, "eos_token_id": None, "forced_eos_token_id": None},
    {"max_length": 65, "eos_token_id": None, "forced_eos_token_id": 2},
    {"num_beams": 3, "max_length": 65, "eos_token_id": None, "forced_eos_token_id": None},
    {"num_beams": 3, "max_length": 66, "eos_token_id": None, "forced_eos_token_id": None},
    {"max_new_tokens": 10_000},
    {"num_beams": 4, "max_length": 10_000},
    {"num_beams": 2, "max_new_tokens": 10_000, "early_stopping": "never"},
    {"num_beams": 3, "max_length": 10_000, "early_stopping": "never", "length_penalty": -1.0},
    {"num_beams": 5, "max_length": 10_000, "early_stopping": True, "num_return_sequences": 3},
    {"num_beams": 2, "max_length": 10_000, "min_new_tokens": 40},
]


@pytest.fixture(scope="module")
def reference64() -> Any:
    torch = pytest.importorskip("torch", reason="the live comparison needs torch")
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    return transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(
        SAMPLE_CHECKPOINT, dtype=torch.float64, attn_implementation="eager"
    ).eval()


@pytest.fixture(scope="module")
def model64() -> Model:
    return Model.from_pretrained(SAMPLE_CHECKPOINT, dtype="float64")


@pytest.mark.live
@pytest.mark.parametrize("settings", BEYOND_THE_POSITIONS, ids=json.dumps)
def test_live_max_length_beyond_the_positions_as_transformers(
    settings: dict[str, Any], reference64: Any, model64: Model
) -> None:
    """Every run transformers completes gives its ids; every run it cannot (an IndexError at the
    position embeddings) is refused with a ValueError naming max_position_embeddings."""
    import torch

    inputs = [
        (np.array(INPUT), np.ones((1, 4), dtype=np.int64)),
        (np.array([[56, 1891, 1060, 2], [301, 2, 0, 0]]), np.array([[1, 1, 1, 1], [1, 1, 0, 0]])),
    ]
    for ids, mask in inputs:
        try:
            with torch.no_grad():
                expected = reference64.generate(
                    torch.tensor(ids), attention_mask=torch.tensor(mask), **settings
                ).tolist()
        except IndexError as error:
            assert "index out of range" in str(error)
            with pytest.raises(ValueError, match="max_position_embeddings"):
                model64.generate(ids, mask, **settings)
        else:
            assert model64.generate(ids, mask, **settings).tolist() == expected


# -- safetensors headers ---------------------------------------------------------------------------


def write_safetensors(path: Path, header: bytes | object, data: bytes = b"") -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)
    return path


def f32(shape: object, offsets: object, dtype: object = "F32") -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


HOSTILE_HEADERS: dict[str, tuple[bytes | object, int, str]] = {
    # name: (header, bytes of data after it, what the error says after the file's name)
    "a JSON array": ([], 0, "is not a JSON object"),
    "JSON null": (None, 0, "is not a JSON object"),
    "a JSON string": ("model", 0, "is not a JSON object"),
    "arrays nested 100,000 deep": (
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        0,
        "not JSON",
    ),
    "a number of 5,000 digits": (b'{"a": ' + b"9" * 5000 + b"}", 0, "not JSON"),
    "NaN, which JSON does not have": (b'{"a": NaN}', 0, "not JSON"),
    "metadata that is a list": ({"__metadata__": [1]}, 0, "__metadata__ must map"),
    "metadata that is not text": ({"__metadata__": {"format": 1}}, 0, "__metadata__ must map"),
    "an entry that is a list": ({"a": [1]}, 0, "tensor 'a': header entry is not an object"),
    "a dtype that is a list": ({"a": f32([1], [0, 4], ["F32"])}, 4, "tensor 'a': dtype"),
    "a dtype that is an object": ({"a": f32([1], [0, 4], {"F32": 1})}, 4, "tensor 'a': dtype"),
    "a shape that is a number": ({"a": f32(4, [0, 4])}, 4, "tensor 'a': bad shape"),
    "a shape of booleans": ({"a": f32([True], [0, 4])}, 4, "tensor 'a': bad shape"),
    "a shape of floats": ({"a": f32([1.0], [0, 4])}, 4, "tensor 'a': bad shape"),
    "a negative dimension": ({"a": f32([-1, -1], [0, 4])}, 4, "tensor 'a': bad shape"),
    "a dimension of 10**30": ({"a": f32([10**30], [0, 4])}, 4, "tensor 'a': shape"),
    "2**64 elements in no bytes": ({"a": f32([2**32, 2**32], [0, 0])}, 0, "tensor 'a': shape"),
    "2**62 floats of 4 bytes": ({"a": f32([0, 2**62], [0, 0])}, 0, "tensor 'a': shape"),
    "65 dimensions": ({"a": f32([1] * 65, [0, 4])}, 4, "tensor 'a': shape has 65 dimensions"),
    "boolean offsets": ({"a": f32([1], [False, 4])}, 4, "tensor 'a': bad data_offsets"),
    "float offsets": ({"a": f32([1], [0, 4.0])}, 4, "tensor 'a': bad data_offsets"),
    "three offsets": ({"a": f32([1], [0, 4, 4])}, 4, "tensor 'a': bad data_offsets"),
    "offsets that run backwards": ({"a": f32([1], [4, 0])}, 4, "tensor 'a': bad data_offsets"),
    "-0, a float to JSON readers": (
        b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-0, 4]}}',
        4,
        "tensor 'a': bad data_offsets",
    ),
    "two tensors on the same bytes": (
        {"a": f32([2], [0, 8]), "b": f32([2], [0, 8])},
        8,
        "tensor '[ab]': its data .* overlaps tensor '[ab]'",
    ),
    "one tensor inside another": (
        {"a": f32([4], [0, 16]), "b": f32([1], [4, 8])},
        16,
        "tensor 'b': its data .* overlaps tensor 'a'",
    ),
    "a gap between tensors": (
        {"a": f32([1], [0, 4]), "b": f32([1], [8, 12])},
        12,
        "tensor 'b': its data starts at byte 8 .* leaving bytes 4 to 8 to no tensor",
    ),
    "data that does not start at byte 0": (
        {"a": f32([1], [4, 8])},
        8,
        "tensor 'a': its data starts",
    ),
    "bytes after the last tensor": ({"a": f32([1], [0, 4])}, 8, "4 bytes after the last tensor"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_HEADERS))
def test_hostile_headers_raise_a_value_error_naming_the_file(tmp_path: Path, case: str) -> None:
    header, data_bytes, message = HOSTILE_HEADERS[case]
    path = write_safetensors(tmp_path / "hostile.safetensors", header, b"\0" * data_bytes)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + message):
        SafetensorsFile(path)
    # Not a rule of our own: the safetensors package refuses the file too (when installed).
    safetensors = pytest.importorskip("safetensors")
    assert not package_reads(path, safetensors.safe_open)


@pytest.mark.parametrize("declared", [2**64 - 1, 2**63, 100_000_001, 3])
def test_a_header_length_beyond_the_file_or_the_limit_is_refused(
    tmp_path: Path, declared: int
) -> None:
    path = tmp_path / "long.safetensors"
    path.write_bytes(declared.to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": not a safetensors file"):
        SafetensorsFile(path)


def test_zero_sized_tensors_may_share_an_offset(tmp_path: Path) -> None:
    # The one way two tensors start at the same byte that the format allows.
    header = {"a": f32([0], [4, 4]), "b": f32([1], [0, 4]), "c": f32([3, 0], [4, 4])}
    path = write_safetensors(tmp_path / "empty.safetensors", header, np.float32(2.5).tobytes())
    weights = SafetensorsFile(path)
    assert [weights.get(name, np.float32).shape for name in "abc"] == [(0,), (1,), (3, 0)]
    assert weights.get("b", np.float32).tolist() == [2.5]


def package_reads(path: Path, safe_open: Any) -> bool:
    """Whether the safetensors package opens the file and reads every tensor into numpy."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            for name in handle.keys():  # noqa: SIM118 - a safe_open handle is not a mapping
                handle.get_tensor(name)
    except Exception:  # SafetensorError, or numpy's ValueError for shapes no array can have
        return False
    return True


ITEM_SIZES = {"F16": 2, "F32": 4, "F64": 8}
TENSORS = st.lists(
    st.tuples(st.sampled_from(sorted(ITEM_SIZES)), st.lists(st.integers(0, 3), max_size=3)),
    max_size=4,
)
# Sizes that overflow int64 or uint64 products, or sit at numpy's bound for an empty array.
HUGE = st.sampled_from([2**31, 2**32, 2**60, 2**61 - 1, 2**61, 2**62, 2**63, 2**64])
DISTURBANCES = ["none", "move", "copy", "random", "huge", "dtype", "length", "metadata"]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """A header and a data size: tensors laid end to end, then perhaps one thing changed."""
    header: dict[str, Any] = {}
    offset = 0
    for index, (dtype, shape) in enumerate(draw(TENSORS)):
        end = offset + math.prod(shape) * ITEM_SIZES[dtype]
        header[f"t{index}"] = f32(shape, [offset, end], dtype)
        offset = end
    data_bytes = offset
    names = sorted(header)
    disturbance = draw(st.sampled_from(DISTURBANCES if names else ["none", "length", "metadata"]))
    entry = header[draw(st.sampled_from(names))] if names else {}
    if disturbance == "move":  # overlaps, gaps, a start past 0, an end past the data
        delta = draw(st.integers(-8, 8))
        entry["data_offsets"] = [max(0, n + delta) for n in entry["data_offsets"]]
    elif disturbance == "copy":  # two names for the same bytes
        entry.update(header[draw(st.sampled_from(names))])
        header[f"t{len(names)}"] = dict(entry)
    elif disturbance == "random":
        entry["data_offsets"] = sorted(draw(st.lists(st.integers(0, 70), min_size=2, max_size=2)))
    elif disturbance == "huge":
        entry["shape"] = [*entry["shape"], draw(HUGE)]
    elif disturbance == "dtype":
        # Names no safetensors reader knows (I32 and the like are real, only not read here).
        entry["dtype"] = draw(st.sampled_from(["F33", "f32", "float32", ""]))
    elif disturbance == "length":
        data_bytes = max(0, data_bytes + draw(st.integers(-4, 4)))
    elif disturbance == "metadata":
        header["__metadata__"] = draw(
            st.sampled_from([None, {"format": "pt"}, {"format": 1}, [], "pt"])
        )
    return header, data_bytes


@given(layout=layouts())
def test_a_header_of_float_tensors_is_accepted_exactly_when_the_safetensors_package_is(
    tmp_path_factory: pytest.TempPathFactory, layout: tuple[dict[str, Any], int]
) -> None:
    safe_open = pytest.importorskip("safetensors").safe_open
    header, data_bytes = layout
    data = bytes(range(256)) * (data_bytes // 256 + 1)
    path = write_safetensors(
        tmp_path_factory.mktemp("layout") / "w.safetensors", header, data[:data_bytes]
    )
    try:
        weights = SafetensorsFile(path)
    except ValueError as error:
        assert str(path) in str(error)
        assert not package_reads(path, safe_open), error
        return
    assert package_reads(path, safe_open)
    with safe_open(str(path), framework="numpy") as handle:
        assert sorted(handle.keys()) == sorted(weights)
        for name in weights:
            expected = handle.get_tensor(name)
            np.testing.assert_array_equal(weights.get(name, expected.dtype.type), expected)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(
    value=JSON_VALUES,
    where=st.sampled_from(["header", "entry", "dtype", "shape", "data_offsets", "__metadata__"]),
)
def test_any_json_in_a_header_gives_a_tensor_or_a_value_error(
    tmp_path_factory: pytest.TempPathFactory, value: object, where: str
) -> None:
    entry = f32([1], [0, 4])
    if where == "header":
        header: object = value
    elif where == "entry":
        header = {"a": value}
    elif where == "__metadata__":
        header = {"__metadata__": value, "a": entry}
    else:
        header = {"a": {**entry, where: value}}
    path = write_safetensors(tmp_path_factory.mktemp("json") / "w.safetensors", header, bytes(4))
    try:
        weights = SafetensorsFile(path)
    except ValueError as error:
        assert str(path) in str(error)
    else:
        for name in weights:
            weights.get(name, np.float64)


@given(raw=st.binary(max_size=64))
def test_any_bytes_as_a_header_give_a_value_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    path = write_safetensors(tmp_path_factory.mktemp("bytes") / "w.safetensors", raw, bytes(8))
    try:
        SafetensorsFile(path)
    except ValueError as error:
        assert str(path) in str(error)
