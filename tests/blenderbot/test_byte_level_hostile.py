"""The byte-level tokenizer given what no tool writes: a ``tokenizer.json`` edited by hand, a
tampered pickle, text holding a lone surrogate. Each is a ValueError that names what is wrong,
never a raw KeyError, TypeError or a wrapped-around id."""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from blenderbot_fixtures import BYTE_LEVEL_DIR

from bbtok import BlenderbotTokenizer
from bbtok.blenderbot.pipeline import eos_template

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def saved_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture vocabulary saved with tokenizer.json (whose post-processor adds ``</s>``)."""
    directory = tmp_path_factory.mktemp("saved")
    BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR).save_pretrained(directory)
    return directory


def edited_copy(saved_dir: Path, target: Path, edit: Edit) -> Path:
    target.mkdir()
    for path in saved_dir.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    pipeline = json.loads((target / "tokenizer.json").read_text(encoding="utf-8"))
    edit(pipeline)
    (target / "tokenizer.json").write_text(json.dumps(pipeline), encoding="utf-8")
    return target


def set_key(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(pipeline: dict[str, Any]) -> None:
        container = pipeline
        for key in path[:-1]:
            container = container[key]
        container[path[-1]] = value

    return edit


def delete_key(path: tuple[Any, ...]) -> Edit:
    def edit(pipeline: dict[str, Any]) -> None:
        container = pipeline
        for key in path[:-1]:
            container = container[key]
        del container[path[-1]]

    return edit


def test_a_post_processor_id_beyond_two_to_the_31_is_refused_naming_the_file_and_token(
    saved_dir: Path, tmp_path: Path
) -> None:
    directory = edited_copy(
        saved_dir, tmp_path / "bad", set_key(("post_processor",), eos_template("</s>", 4 * 10**9))
    )
    with pytest.raises(ValueError) as caught:
        BlenderbotTokenizer.from_pretrained(directory)
    message = str(caught.value)
    assert str(directory / "tokenizer.json") in message
    assert "special_tokens['</s>'].ids[0]: 4000000000 is not an id" in message


MALFORMED_PIPELINES: dict[str, tuple[Edit, str]] = {
    "no model.vocab": (delete_key(("model", "vocab")), "model.vocab must be a JSON object"),
    "vocab a list": (set_key(("model", "vocab"), ["a", "b"]), "model.vocab must be a JSON object"),
    "vocab id too large": (
        set_key(("model", "vocab", "<s>"), 2**32 + 5),
        "model.vocab: token '<s>' has id 4294967301",
    ),
    "merges a number": (set_key(("model", "merges"), 7), "model.merges must be a JSON array"),
    "a merge of one symbol": (
        set_key(("model", "merges", 0), ["Ġ"]),
        "model.merges[0]: a merge is two symbols",
    ),
    "a merge string of one symbol": (
        set_key(("model", "merges", 0), "Ġt"),
        "model.merges[0]: a merge is two symbols",
    ),
    "a merge outside the vocabulary": (
        set_key(("model", "merges", 0), ["Ġ", "no-such-symbol"]),
        "merge 0 ('Ġ' 'no-such-symbol'): 'no-such-symbol' is not in the vocabulary",
    ),
    "added_tokens an object": (set_key(("added_tokens",), {}), "added_tokens must be a JSON array"),
    "an added token without content": (
        delete_key(("added_tokens", 0, "content")),
        "added_tokens[0]: the added token has no 'content'",
    ),
    "an added token without lstrip": (
        delete_key(("added_tokens", 0, "lstrip")),
        "added_tokens[0]: the added token has no 'lstrip'",
    ),
    "an added token id as a string": (
        set_key(("added_tokens", 0, "id"), "0"),
        "added_tokens[0]: token '<s>' has id '0'",
    ),
    "an added token id of 2**31": (
        set_key(("added_tokens", 0, "id"), 2**31),
        "added_tokens[0]: token '<s>' has id 2147483648",
    ),
    "an added token flag as a string": (
        set_key(("added_tokens", 0, "special"), "yes"),
        "added_tokens[0].special: must be true or false",
    ),
    "post_processor a list": (set_key(("post_processor",), []), "post_processor must be"),
    "template single a number": (
        set_key(("post_processor", "single"), 3),
        "post_processor.single: must be a JSON array",
    ),
    "template ids a string": (
        set_key(("post_processor", "special_tokens", "</s>", "ids"), "2"),
        "post_processor.special_tokens['</s>']: must hold 'ids' and 'tokens'",
    ),
    "template of an unknown special token": (
        set_key(("post_processor", "single", 1, "SpecialToken", "id"), "<nope>"),
        "post_processor.single[1].SpecialToken.id: '<nope>' is not one of the special_tokens",
    ),
    "template type id negative": (
        set_key(("post_processor", "single", 0, "Sequence", "type_id"), -1),
        "post_processor.single[0].Sequence.type_id: -1 is not an id",
    ),
    "roberta cls not a pair": (
        set_key(("post_processor",), {"type": "RobertaProcessing", "cls": 0, "sep": ["</s>", 2]}),
        "post_processor.cls: must be [token, id]",
    ),
    "bert sep id too large": (
        set_key(
            ("post_processor",),
            {"type": "BertProcessing", "cls": ["<s>", 0], "sep": ["</s>", 2**31]},
        ),
        "post_processor.sep[1]: 2147483648 is not an id",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_PIPELINES)
def test_a_malformed_tokenizer_json_is_a_value_error_naming_the_file_and_key(
    case: str, saved_dir: Path, tmp_path: Path
) -> None:
    edit, expected = MALFORMED_PIPELINES[case]
    directory = edited_copy(saved_dir, tmp_path / "bad", edit)
    with pytest.raises(ValueError) as caught:
        BlenderbotTokenizer.from_pretrained(directory)
    assert str(caught.value).startswith(f"{directory / 'tokenizer.json'}: ")
    assert expected in str(caught.value)


# -- tampered pickles ------------------------------------------------------------------------


def tampered(tok: BlenderbotTokenizer, **changes: Any) -> BlenderbotTokenizer:
    """What pickle.loads gives for ``tok``'s state with ``changes`` made (None removes)."""
    state = tok.__getstate__()
    for name, value in changes.items():
        if value is None:
            del state[name]
        else:
            state[name] = value
    restored = BlenderbotTokenizer.__new__(BlenderbotTokenizer)
    restored.__setstate__(state)  # what pickle.loads calls
    return restored


TAMPERED_STATES: dict[str, tuple[dict[str, Any], str]] = {
    "a post-processor id beyond 2**31": (
        {"_post_processor": eos_template("</s>", 4 * 10**9)},
        "4000000000 is not an id",
    ),
    "a post-processor of the wrong shape": (
        {"_post_processor": {"type": "TemplateProcessing", "single": 1}},
        "post_processor.special_tokens: must be a JSON object",
    ),
    "a vocabulary id beyond 2**31": (
        {"_vocab": b'{"a": 2147483648}'},
        "token 'a' has id 2147483648",
    ),
    "a vocabulary that is a list": ({"_vocab": b'["a"]'}, "_vocab is a list"),
    "a vocabulary that is not JSON": ({"_vocab": b"{"}, "unpickled tokenizer: _vocab"),
    "a vocabulary that is not bytes": ({"_vocab": {"a": 0}}, "_vocab is a dict"),
    "merges of one symbol": ({"_merges": '[["Ġ"]]'.encode()}, "merge 0: a merge is two symbols"),
    "no merges": ({"_merges": None}, "its state has no '_merges'"),
    "add_prefix_space not a bool": ({"add_prefix_space": "yes"}, "add_prefix_space is a str"),
    "padding_side not a side": ({"padding_side": "up"}, "padding_side='up' is not valid"),
    "model_max_length negative": ({"model_max_length": -1}, "model_max_length=-1 is not valid"),
    "tokens not a registry": ({"_tokens": {}}, "its tokens are a dict, not a TokenRegistry"),
}


@pytest.mark.parametrize("case", TAMPERED_STATES)
def test_a_tampered_pickle_is_a_value_error(case: str) -> None:
    changes, expected = TAMPERED_STATES[case]
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    with pytest.raises(ValueError, match=re.escape(expected)):
        tampered(tok, **changes)


def test_an_added_token_beyond_two_to_the_31_in_a_pickle_is_refused() -> None:
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    tokens = tok.__getstate__()["_tokens"]
    decoder = {**tokens.added_tokens_decoder, 2**31: tokens.added_tokens_decoder[0]}
    changed = dataclasses.replace(tokens, added_tokens_decoder=decoder)
    with pytest.raises(ValueError, match=r"unpickled tokenizer: token '<s>' has id 2147483648"):
        tampered(tok, _tokens=changed)


def test_a_pickled_byte_level_tokenizer_with_added_tokens_encodes_as_the_original() -> None:
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    tok.add_tokens(["<new>", "hello world"])
    restored = pickle.loads(pickle.dumps(tok))
    text = ["say <new> hello world", "plain"]
    assert restored(text, text)["input_ids"] == tok(text, text)["input_ids"]
    assert restored.get_vocab() == tok.get_vocab()


# -- lone surrogates ------------------------------------------------------------------------

SURROGATE_CALLS: dict[str, tuple[Callable[[BlenderbotTokenizer], Any], str]] = {
    "a text": (lambda tok: tok("a\ud800b"), "text holds a lone surrogate at character 1"),
    "a batch": (lambda tok: tok(["ok", "a\ud800b"]), "text[1] holds a lone surrogate"),
    "a pair": (lambda tok: tok("ok", "\ud800"), "text_pair holds a lone surrogate at character 0"),
    "a batch of pairs": (
        lambda tok: tok(["ok", "ok"], ["fine", "a\udfffb"]),
        "text_pair[1] holds a lone surrogate",
    ),
    "a batch of pair tuples": (
        lambda tok: tok([("ok", "x"), ("y", "a\ud800")]),
        "text[1][1] holds a lone surrogate",
    ),
    "windows": (
        lambda tok: tok(
            ["ok", "a\ud800b"], truncation=True, max_length=3, return_overflowing_tokens=True
        ),
        "text[1] holds a lone surrogate",
    ),
    "offsets": (
        lambda tok: tok(["ok", "a\ud800b"], return_offsets_mapping=True),
        "text[1] holds a lone surrogate",
    ),
    "tokenize": (lambda tok: tok.tokenize("a\ud800b"), "text holds a lone surrogate"),
}


@pytest.mark.parametrize("case", SURROGATE_CALLS)
def test_a_lone_surrogate_in_the_input_is_a_value_error_naming_its_text(case: str) -> None:
    call, expected = SURROGATE_CALLS[case]
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    with pytest.raises(ValueError, match=re.escape(expected)):
        call(tok)


def test_adding_a_token_with_a_lone_surrogate_is_a_value_error_that_adds_nothing() -> None:
    tok = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    before = tok.get_vocab()
    with pytest.raises(
        ValueError, match=re.escape("added token 'x\\ud800' holds a lone surrogate")
    ):
        tok.add_tokens(["<fine>", "x\ud800"])
    assert tok.get_vocab() == before
    assert tok.add_tokens(["<fine>"]) == 1
