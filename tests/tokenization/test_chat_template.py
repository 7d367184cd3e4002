"""Chat templates: apply_chat_template and the template files of a directory, compared live with
transformers 5.23.0's own tokenizers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.data import SAMPLE_CHECKPOINT

from conftest import FIXTURES, reference_class, run_python_child

BYTE_LEVEL_DIR = FIXTURES / "byte_level"
# (bbtok's class, transformers' class, directory); transformers' BlenderbotSmallTokenizerFast
# is its BlenderbotSmallTokenizer.
CLASSES = {
    "small": (BlenderbotSmallTokenizer, "BlenderbotSmallTokenizer", SAMPLE_CHECKPOINT),
    "small-fast": (BlenderbotSmallTokenizerFast, "BlenderbotSmallTokenizer", SAMPLE_CHECKPOINT),
    "byte-level": (BlenderbotTokenizer, "BlenderbotTokenizer", BYTE_LEVEL_DIR),
}

# facebook/blenderbot-400M-distill's tokenizer_config.json template.
BLENDERBOT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ ' ' }}{% endif %}"
    "{{ message['content'] }}{% if not loop.last %}{{ '  ' }}{% endif %}{% endfor %}"
    "{{ eos_token }}"
)
# The example of transformers' chat templating guide.
GUIDE_CHAT = [
    {"role": "user", "content": "Hello, how are you?"},
    {"role": "assistant", "content": "I'm doing great. How can I help you today?"},
    {"role": "user", "content": "I'd like to show off how chat templating works!"},
]
GUIDE_TEXT = (
    " Hello, how are you?  I'm doing great. How can I help you today?   I'd like to show off "
    "how chat templating works!</s>"
)
# A template with a header per role, a generation prompt and assistant blocks marked.
ROLE_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: "
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] }}"
    "{% endgeneration %}{% else %}{{ message['content'] }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


@pytest.fixture(scope="module", params=sorted(CLASSES))
def pair(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(bbtok's tokenizer, transformers'), both with the Blenderbot template."""
    ours_class, reference_name, directory = CLASSES[request.param]
    ours = ours_class.from_pretrained(directory)
    reference = reference_class(reference_name).from_pretrained(str(directory))
    ours.chat_template = reference.chat_template = BLENDERBOT_TEMPLATE
    return ours, reference


def byte_level_pair() -> tuple[Any, Any]:
    ours = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    reference = reference_class("BlenderbotTokenizer").from_pretrained(str(BYTE_LEVEL_DIR))
    return ours, reference


def as_lists(encoding: Any) -> dict[str, Any]:
    return {key: getattr(value, "tolist", lambda v=value: v)() for key, value in encoding.items()}


def test_the_blenderbot_template_renders_the_guide_example() -> None:
    tokenizer = BlenderbotTokenizer.from_pretrained(BYTE_LEVEL_DIR)
    tokenizer.chat_template = BLENDERBOT_TEMPLATE
    assert tokenizer.apply_chat_template(GUIDE_CHAT, tokenize=False) == GUIDE_TEXT


def test_the_rendered_text_is_the_reference_text(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    text = ours.apply_chat_template(GUIDE_CHAT, tokenize=False)
    assert text == reference.apply_chat_template(GUIDE_CHAT, tokenize=False)


def test_the_default_output_is_the_reference_encoding(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    encoded = ours.apply_chat_template(GUIDE_CHAT)
    assert type(encoded).__name__ == "BatchEncoding"
    assert dict(encoded) == dict(reference.apply_chat_template(GUIDE_CHAT))


def test_return_dict_false_gives_the_reference_ids(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    ids = ours.apply_chat_template(GUIDE_CHAT, return_dict=False)
    assert ids == reference.apply_chat_template(GUIDE_CHAT, return_dict=False)
    assert isinstance(ids, list) and all(isinstance(i, int) for i in ids)


def test_a_batch_of_conversations_gives_the_reference_texts_and_ids(
    pair: tuple[Any, Any],
) -> None:
    ours, reference = pair
    batch = [GUIDE_CHAT, GUIDE_CHAT[:1]]
    assert ours.apply_chat_template(batch, tokenize=False) == reference.apply_chat_template(
        batch, tokenize=False
    )
    assert dict(ours.apply_chat_template(batch)) == dict(reference.apply_chat_template(batch))


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_a_padded_batch_as_numpy_is_the_reference_batch(
    pair: tuple[Any, Any], padding_side: str
) -> None:
    ours, reference = pair
    batch = [GUIDE_CHAT, GUIDE_CHAT[1:2]]
    options = {"padding": True, "return_tensors": "np"}
    ours.padding_side = reference.padding_side = padding_side
    try:
        ours_encoded = ours.apply_chat_template(batch, **options)
        reference_encoded = reference.apply_chat_template(batch, **options)
    finally:
        ours.padding_side = reference.padding_side = "right"
    assert ours_encoded["input_ids"].shape == reference_encoded["input_ids"].shape
    assert as_lists(ours_encoded) == as_lists(reference_encoded)


def test_truncation_to_max_length_is_the_reference_truncation(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    options = {"truncation": True, "max_length": 5, "return_dict": False}
    ids = ours.apply_chat_template(GUIDE_CHAT, **options)
    assert ids == reference.apply_chat_template(GUIDE_CHAT, **options)
    assert len(ids) == 5


def test_a_single_conversation_as_numpy_has_a_batch_axis(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    ours_ids = ours.apply_chat_template(GUIDE_CHAT, return_tensors="np", return_dict=False)
    reference_ids = reference.apply_chat_template(
        GUIDE_CHAT, return_tensors="np", return_dict=False
    )
    assert ours_ids.shape == reference_ids.shape == (1, len(reference_ids[0]))
    assert ours_ids.tolist() == reference_ids.tolist()


def test_add_generation_prompt_renders_the_reference_prompt(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    for flag in (False, True):
        options = {"chat_template": ROLE_TEMPLATE, "add_generation_prompt": flag}
        text = ours.apply_chat_template(GUIDE_CHAT, tokenize=False, **options)
        assert text == reference.apply_chat_template(GUIDE_CHAT, tokenize=False, **options)
        assert text.endswith("assistant: ") == flag


def test_continue_final_message_leaves_the_last_message_open(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    chat = [*GUIDE_CHAT[:2], {"role": "assistant", "content": "Sure, here  "}]
    for template in (ROLE_TEMPLATE, BLENDERBOT_TEMPLATE):
        options = {"chat_template": template, "continue_final_message": True}
        text = ours.apply_chat_template(chat, tokenize=False, **options)
        assert text == reference.apply_chat_template(chat, tokenize=False, **options)
        assert text.endswith("Sure, here  ")
        ids = ours.apply_chat_template(chat, return_dict=False, **options)
        assert ids == reference.apply_chat_template(chat, return_dict=False, **options)


def test_continue_final_message_and_add_generation_prompt_together_are_refused(
    pair: tuple[Any, Any],
) -> None:
    ours, reference = pair
    for tokenizer in (ours, reference):
        with pytest.raises(ValueError, match="are not compatible"):
            tokenizer.apply_chat_template(
                GUIDE_CHAT, continue_final_message=True, add_generation_prompt=True
            )


def test_raise_exception_in_a_template_raises_its_message(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    template = (
        "{% if messages[0]['role'] != 'system' %}{{ raise_exception('System first!') }}{% endif %}"
    )
    for tokenizer in (ours, reference):
        with pytest.raises(jinja2.exceptions.TemplateError, match=r"^System first!$"):
            tokenizer.apply_chat_template(GUIDE_CHAT, chat_template=template)


def test_no_template_is_the_reference_value_error(pair: tuple[Any, Any]) -> None:
    ours_class = type(pair[0])
    ours = ours_class.from_pretrained(pair[0].name_or_path)
    reference = type(pair[1]).from_pretrained(pair[1].name_or_path)
    with pytest.raises(ValueError) as reference_error:
        reference.apply_chat_template(GUIDE_CHAT)
    with pytest.raises(ValueError) as our_error:
        ours.apply_chat_template(GUIDE_CHAT)
    assert str(our_error.value) == str(reference_error.value)
    assert "tokenizer.chat_template is not set" in str(our_error.value)


def test_an_empty_conversation_is_refused(pair: tuple[Any, Any]) -> None:
    with pytest.raises(ValueError, match="empty conversation"):
        pair[0].apply_chat_template([])


def test_template_variables_and_special_tokens_reach_the_template(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    template = "{{ bos_token }}|{{ eos_token }}|{{ greeting }}|{{ messages | tojson }}"
    chat = [{"role": "user", "content": "<b>&'é", "extra": None}]
    options = {"chat_template": template, "greeting": "hé", "tokenize": False}
    text = ours.apply_chat_template(chat, **options)
    assert text == reference.apply_chat_template(chat, **options)
    assert "<b>&'é" in text and "extra" not in text


def test_the_assistant_mask_marks_the_generation_blocks_as_the_reference() -> None:
    ours, reference = byte_level_pair()
    options = {"chat_template": ROLE_TEMPLATE, "return_assistant_tokens_mask": True}
    encoded = ours.apply_chat_template(GUIDE_CHAT, **options)
    assert dict(encoded) == dict(reference.apply_chat_template(GUIDE_CHAT, **options))
    assert 0 < sum(encoded["assistant_masks"]) < len(encoded["input_ids"])


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_assistant_masks_of_a_padded_batch_are_the_reference_masks(padding_side: str) -> None:
    ours, reference = byte_level_pair()
    ours.padding_side = reference.padding_side = padding_side
    batch = [GUIDE_CHAT, GUIDE_CHAT[:2]]
    options = {
        "chat_template": ROLE_TEMPLATE,
        "return_assistant_tokens_mask": True,
        "padding": True,
        "return_tensors": "np",
    }
    encoded = ours.apply_chat_template(batch, **options)
    assert "offset_mapping" not in encoded
    assert as_lists(encoded) == as_lists(reference.apply_chat_template(batch, **options))


def test_the_python_tokenizer_refuses_assistant_masks_as_the_reference() -> None:
    ours = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)
    reference = reference_class().from_pretrained(str(SAMPLE_CHECKPOINT))
    for tokenizer in (ours, reference):
        with pytest.raises(ValueError, match="Python based tokenizers"):
            tokenizer.apply_chat_template(
                GUIDE_CHAT, chat_template=ROLE_TEMPLATE, return_assistant_tokens_mask=True
            )


def test_assistant_masks_need_tokenized_dict_output(pair: tuple[Any, Any]) -> None:
    with pytest.raises(ValueError, match="requires `return_dict=True` and `tokenize=True`"):
        pair[0].apply_chat_template(
            GUIDE_CHAT, return_assistant_tokens_mask=True, return_dict=False
        )


def test_sanitized_control_tokens_are_the_reference_ids(pair: tuple[Any, Any]) -> None:
    ours, reference = pair
    eos = ours.eos_token
    chat = [{"role": "user", "content": f"say {eos} now"}, *GUIDE_CHAT[1:]]
    for sanitize in (False, True):
        options = {"return_dict": False, "sanitize_control_tokens": sanitize}
        ids = ours.apply_chat_template(chat, **options)
        assert ids == reference.apply_chat_template(chat, **options)
        assert ids.count(ours.eos_token_id) == (1 if sanitize else 2)


def test_a_dict_of_templates_is_chosen_by_name_tools_and_default(pair: tuple[Any, Any]) -> None:
    ours, _ = pair
    ours_templates = {"default": "default", "tool_use": "tools", "other": "other"}
    ours.chat_template = ours_templates
    try:
        assert ours.apply_chat_template(GUIDE_CHAT, tokenize=False) == "default"
        assert ours.apply_chat_template(GUIDE_CHAT, tools=[], tokenize=False) == "tools"
        assert ours.apply_chat_template(GUIDE_CHAT, chat_template="other", tokenize=False) == (
            "other"
        )
        ours.chat_template = {"other": "other"}
        with pytest.raises(ValueError, match=r"no default specified.*\['other'\]"):
            ours.apply_chat_template(GUIDE_CHAT)
    finally:
        ours.chat_template = BLENDERBOT_TEMPLATE


def test_a_template_cannot_reach_python_internals(pair: tuple[Any, Any]) -> None:
    template = "{{ messages.__class__.__mro__ }}"
    with pytest.raises(jinja2.exceptions.SecurityError):
        pair[0].apply_chat_template(GUIDE_CHAT, chat_template=template, tokenize=False)
    with pytest.raises(jinja2.exceptions.SecurityError):
        pair[0].apply_chat_template(
            GUIDE_CHAT, chat_template="{% set ns = namespace(_x=1) %}", tokenize=False
        )


def test_tools_given_as_functions_are_refused_with_a_clear_error(pair: tuple[Any, Any]) -> None:
    with pytest.raises(ValueError, match="JSON schemas"):
        pair[0].apply_chat_template(GUIDE_CHAT, tools=[len], tokenize=False)


def test_without_jinja2_rendering_asks_for_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['jinja2'] = None\n"
        "from bbtok import BlenderbotSmallTokenizer\nfrom bbtok.data import SAMPLE_CHECKPOINT\n"
        "tok = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)\n"
        "try:\n    tok.apply_chat_template([{'role': 'user', 'content': 'hi'}],"
        " chat_template='x')\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = run_python_child(["-c", code], tmp_path, timeout=120)
    assert "pip install jinja2" in result.stdout, result.stderr


# -- any conversation ---------------------------------------------------------------------------

ROLES = st.one_of(st.sampled_from(["user", "assistant", "system"]), st.text(max_size=8))
MESSAGES = st.lists(
    st.fixed_dictionaries({"role": ROLES, "content": st.text(max_size=40)}),
    min_size=1,
    max_size=4,
)


@given(chat=MESSAGES)
def test_any_conversation_renders_and_encodes_as_the_reference(
    pair: tuple[Any, Any], chat: list[dict[str, str]]
) -> None:
    ours, reference = pair
    for template in (BLENDERBOT_TEMPLATE, ROLE_TEMPLATE):
        options = {"chat_template": template}
        text = ours.apply_chat_template(chat, tokenize=False, **options)
        assert text == reference.apply_chat_template(chat, tokenize=False, **options)
        ids = ours.apply_chat_template(chat, return_dict=False, **options)
        assert ids == reference.apply_chat_template(chat, return_dict=False, **options)


# -- pretrained directories ---------------------------------------------------------------------


def template_files(directory: Path) -> dict[str, str]:
    """The chat template files of a saved directory, by path inside it."""
    return {
        str(path.relative_to(directory)): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*.jinja"))
    }


TEMPLATE_SETTINGS = {
    "one": BLENDERBOT_TEMPLATE,
    "several": {"default": BLENDERBOT_TEMPLATE, "tool_use": ROLE_TEMPLATE, "short": "{{ 1 }}"},
    "no-default": {"roles": ROLE_TEMPLATE},
}


@pytest.mark.parametrize("setting", sorted(TEMPLATE_SETTINGS))
def test_transformers_loads_the_templates_bbtok_saves(
    pair: tuple[Any, Any], setting: str, tmp_path: Path
) -> None:
    ours, reference = pair
    ours.chat_template = TEMPLATE_SETTINGS[setting]
    try:
        written = ours.save_pretrained(tmp_path / "ours")
        reference.chat_template = TEMPLATE_SETTINGS[setting]
        reference.save_pretrained(tmp_path / "reference")
    finally:
        ours.chat_template = reference.chat_template = BLENDERBOT_TEMPLATE
    assert template_files(tmp_path / "ours") == template_files(tmp_path / "reference")
    config = json.loads((tmp_path / "ours" / "tokenizer_config.json").read_text())
    assert "chat_template" not in config
    assert all(os.path.exists(path) for path in written)
    loaded = type(reference).from_pretrained(str(tmp_path / "ours"))
    assert loaded.chat_template == TEMPLATE_SETTINGS[setting]
    name = None if setting != "no-default" else "roles"
    ours_loaded = type(ours).from_pretrained(tmp_path / "ours")
    assert dict(loaded.apply_chat_template(GUIDE_CHAT, chat_template=name)) == (
        ours_loaded.apply_chat_template(GUIDE_CHAT, chat_template=name)
    )


@pytest.mark.parametrize("setting", sorted(TEMPLATE_SETTINGS))
def test_bbtok_loads_the_templates_transformers_saves(
    pair: tuple[Any, Any], setting: str, tmp_path: Path
) -> None:
    ours, reference = pair
    reference.chat_template = TEMPLATE_SETTINGS[setting]
    try:
        reference.save_pretrained(tmp_path)
    finally:
        reference.chat_template = BLENDERBOT_TEMPLATE
    loaded = type(ours).from_pretrained(tmp_path)
    assert loaded.chat_template == TEMPLATE_SETTINGS[setting]
    name = None if setting != "no-default" else "roles"
    reference_loaded = type(reference).from_pretrained(str(tmp_path))
    assert loaded.apply_chat_template(GUIDE_CHAT, chat_template=name) == dict(
        reference_loaded.apply_chat_template(GUIDE_CHAT, chat_template=name)
    )


@pytest.mark.parametrize("setting", sorted(TEMPLATE_SETTINGS))
def test_the_older_layout_keeps_templates_in_tokenizer_config(
    pair: tuple[Any, Any], setting: str, tmp_path: Path
) -> None:
    ours, reference = pair
    ours.chat_template = reference.chat_template = TEMPLATE_SETTINGS[setting]
    try:
        ours.save_pretrained(tmp_path / "ours", save_jinja_files=False)
        reference.save_pretrained(tmp_path / "reference", save_jinja_files=False)
    finally:
        ours.chat_template = reference.chat_template = BLENDERBOT_TEMPLATE
    ours_config = json.loads((tmp_path / "ours" / "tokenizer_config.json").read_text())
    reference_config = json.loads((tmp_path / "reference" / "tokenizer_config.json").read_text())
    assert ours_config["chat_template"] == reference_config["chat_template"]
    assert not (tmp_path / "ours" / "chat_template.jinja").exists()
    for loader in (type(ours), type(reference)):
        assert (
            loader.from_pretrained(str(tmp_path / "ours")).chat_template
            == (TEMPLATE_SETTINGS[setting])
        )


def test_template_files_take_priority_over_tokenizer_config(
    pair: tuple[Any, Any], tmp_path: Path
) -> None:
    ours, reference = pair
    ours.save_pretrained(tmp_path, save_jinja_files=False)
    (tmp_path / "additional_chat_templates").mkdir()
    (tmp_path / "additional_chat_templates" / "extra.jinja").write_text("extra")
    for loader in (type(ours), type(reference)):
        assert loader.from_pretrained(str(tmp_path)).chat_template == {"extra": "extra"}
    (tmp_path / "chat_template.jinja").write_text("file\r\nline")
    for loader in (type(ours), type(reference)):
        assert loader.from_pretrained(str(tmp_path)).chat_template == {
            "default": "file\nline",
            "extra": "extra",
        }


def test_a_template_given_to_from_pretrained_wins_over_the_files(
    pair: tuple[Any, Any], tmp_path: Path
) -> None:
    ours, _ = pair
    ours.save_pretrained(tmp_path)
    assert type(ours).from_pretrained(tmp_path, chat_template="given").chat_template == "given"


@pytest.mark.parametrize("name", ["../escape", "a/b", "/absolute"])
def test_a_template_name_that_would_write_outside_the_directory_is_refused(
    pair: tuple[Any, Any], name: str, tmp_path: Path
) -> None:
    ours, _ = pair
    ours.chat_template = {"default": "d", name: "x"}
    try:
        with pytest.raises(ValueError, match="Invalid chat template name"):
            ours.save_pretrained(tmp_path / "saved")
    finally:
        ours.chat_template = BLENDERBOT_TEMPLATE
    assert not (tmp_path / "escape.jinja").exists()
    assert not list((tmp_path / "saved").iterdir())


def test_chat_control_tokens_round_trip_through_tokenizer_config(
    pair: tuple[Any, Any], tmp_path: Path
) -> None:
    ours, reference = pair
    loaded = type(ours).from_pretrained(ours.name_or_path, chat_control_tokens=[ours.eos_token])
    loaded.save_pretrained(tmp_path)
    for loader in (type(ours), type(reference)):
        assert list(loader.from_pretrained(str(tmp_path)).chat_control_tokens) == [ours.eos_token]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_template_file_that_is_a_fifo_is_refused_by_name(
    pair: tuple[Any, Any], tmp_path: Path
) -> None:
    ours, _ = pair
    ours.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink()
    os.mkfifo(tmp_path / "chat_template.jinja")
    with pytest.raises(ValueError, match=r"chat_template\.jinja.*not a regular file"):
        type(ours).from_pretrained(tmp_path)
