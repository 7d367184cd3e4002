"""Chat templates: ``apply_chat_template`` and the template files of a pretrained directory, as
transformers 5.23.0 has them.

A chat template is a Jinja template that turns a conversation (a list of ``{"role": ...,
"content": ...}`` messages) into the one text a chat model was trained on. A tokenizer holds
one in ``chat_template`` (a str), or several by name (a dict; ``"default"`` and ``"tool_use"``
are chosen on their own). Templates come from the Hub, so they are untrusted code: they run in
Jinja's immutable sandbox and see only plain data (str, numbers, lists, dicts) built from the
caller's inputs.

What a template can use beyond Jinja's own: ``raise_exception(message)`` (an error for the
caller), ``strftime_now(format)`` (today's date), ``tojson`` without HTML escaping,
``{% break %}``/``{% continue %}``, and the ``{% generation %}...{% endgeneration %}`` block,
which marks the text of assistant messages for ``return_assistant_tokens_mask``.

jinja2 (3.1.6 or later, the first without known sandbox escapes) is imported only when a
template is rendered: ``pip install jinja2``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bbtok.storage import files

if TYPE_CHECKING:
    from bbtok.tokenization.batch_encoding import BatchEncoding

logger = logging.getLogger("bbtok")

# The files of a pretrained directory, as transformers names them.
CHAT_TEMPLATE_FILE = "chat_template.jinja"
CHAT_TEMPLATE_DIR = "additional_chat_templates"
# The tokenizer_config.json key holding templates in the layout without .jinja files, which
# transformers reads too when a directory has no template files.
CONFIG_KEY = "chat_template"

ChatTemplate = str | dict[str, str]

NO_TEMPLATE_MESSAGE = (
    "Cannot use chat template functions because tokenizer.chat_template is not set and no "
    "template argument was passed! For information about writing templates and setting the "
    "tokenizer.chat_template attribute, please see the documentation at "
    "https://huggingface.co/docs/transformers/main/en/chat_templating"
)
# Appended to the message to continue, so that its end can be found in the rendered text.
CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "
# The names a message's reasoning is passed under; templates read the first.
REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")
# Private-use characters put around the control tokens found in the caller's strings, so that
# sanitize_control_tokens can encode those as text and the template's own as tokens.
CONTROL_START = "\U000f0000"
CONTROL_END = "\U000f0001"
MINIMUM_JINJA = (3, 1, 6)
_GENERATION_TAG = re.compile(r"\{\%-?\s*generation\s*-?\%\}")

# (blocks rendered so far, (start, end) character spans of {% generation %} blocks) of the
# render in progress in this context; None when the spans are not wanted.
_generation_spans: contextvars.ContextVar[tuple[list[str], list[tuple[int, int]]] | None] = (
    contextvars.ContextVar("bbtok_generation_spans", default=None)
)


def _jinja2() -> Any:
    try:
        import jinja2
    except ImportError:
        raise ImportError(
            "apply_chat_template requires jinja2 to be installed. Please install it using "
            "`pip install jinja2`."
        ) from None
    version = tuple(int(part) for part in re.findall(r"\d+", jinja2.__version__)[:3])
    if version < MINIMUM_JINJA:
        raise ImportError(
            f"apply_chat_template requires jinja2>=3.1.6 to be installed. Your version is "
            f"{jinja2.__version__}. You can upgrade it with `pip install -U jinja2`."
        )
    return jinja2


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    """The one sandboxed environment every template is compiled in."""
    jinja2 = _jinja2()
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.utils import Namespace as JinjaNamespace

    class GenerationBlock(Extension):
        """``{% generation %}...{% endgeneration %}``: renders its body, and records where in
        the output the body is when the caller asked for the spans."""

        tags = {"generation"}  # noqa: RUF012 - Jinja's own class attribute

        def parse(self, parser: Any) -> Any:
            line = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            call = self.call_method("_render_generation")
            return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(line)

        def _render_generation(self, caller: Any) -> str:
            text: str = caller()
            tracked = _generation_spans.get()
            if tracked is not None:
                # Quirk: the start is counted in the blocks the template has yielded so far,
                # which is the text before the block unless the block is inside a macro or a
                # filter (as transformers counts it).
                blocks, spans = tracked
                start = sum(map(len, blocks))
                spans.append((start, start + len(text)))
            return text

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def strftime_now(format: str) -> str:
        return datetime.now().strftime(format)

    def tojson(
        value: Any,
        ensure_ascii: bool = False,
        indent: int | str | None = None,
        separators: tuple[str, str] | None = None,
        sort_keys: bool = False,
    ) -> str:
        # Jinja's own tojson escapes <, >, & and ' for HTML, which a prompt must not have.
        return json.dumps(
            value,
            ensure_ascii=ensure_ascii,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    class DictConstructor:
        """``dict(...)`` and ``dict.fromkeys(...)`` in a template, without the class itself
        (whose attributes reach Python's internals)."""

        def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
            return dict(*args, **kwargs)

        def fromkeys(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
            return dict.fromkeys(*args, **kwargs)

    def check_namespace_name(name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(
                "Chat templates cannot store underscore-prefixed attributes on a namespace, but "
                f"got {name!r}. Please rename the attribute."
            )

    class Namespace(JinjaNamespace):
        """Jinja's ``namespace()``, refusing underscore names (``__class__`` and the like)."""

        def __init__(*args: Any, **kwargs: Any) -> None:
            # As Jinja's: no named self, so that namespace(self=...) still works.
            namespace, rest = args[0], args[1:]
            attributes = dict(*rest, **kwargs)
            for name in attributes:
                check_namespace_name(name)
            JinjaNamespace.__init__(namespace, attributes)

        def __setitem__(self, name: Any, value: Any) -> None:
            check_namespace_name(name)
            JinjaNamespace.__setitem__(self, name, value)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[GenerationBlock, "jinja2.ext.loopcontrols"],
    )
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = strftime_now
    environment.globals["dict"] = DictConstructor()
    environment.globals["namespace"] = Namespace
    return environment


@functools.lru_cache(maxsize=64)
def compile_template(source: str) -> Any:
    """The compiled Jinja template of ``source`` (cached: a template is compiled once)."""
    return _environment().from_string(source)


def select_template(templates: ChatTemplate | None, chat_template: str | None, tools: Any) -> str:
    """The template ``apply_chat_template`` renders: ``chat_template`` (a template, or the name
    of one of ``templates``) if given; else the tokenizer's (of several: ``"tool_use"`` when
    there are tools, else ``"default"``). ``ValueError`` when there is none."""
    if isinstance(templates, dict):
        if chat_template is not None and chat_template in templates:
            return templates[chat_template]
        if chat_template is None:
            if tools is not None and "tool_use" in templates:
                return templates["tool_use"]
            if "default" in templates:
                return templates["default"]
            raise ValueError(
                "This model has multiple chat templates with no default specified! Please either "
                "pass a chat template or the name of the template you wish to use to the "
                f"`chat_template` argument. Available template names are {sorted(templates)}."
            )
    elif chat_template is None:
        if templates is None:
            raise ValueError(NO_TEMPLATE_MESSAGE)
        return templates
    return chat_template


def as_template_setting(value: Any) -> ChatTemplate | None:
    """A ``chat_template`` setting as a tokenizer holds it: tokenizer_config.json's list of
    ``{"name": ..., "template": ...}`` becomes a dict by name."""
    if isinstance(value, (list, tuple)):
        try:
            return {entry["name"]: entry["template"] for entry in value}
        except (TypeError, KeyError) as error:
            raise ValueError(
                "chat_template: a list of templates must hold objects with 'name' and "
                f"'template' keys ({type(error).__name__}: {error})"
            ) from None
    return value  # type: ignore[no-any-return]


# -- what a template sees ---------------------------------------------------------------------


def plain_data(value: Any) -> Any:
    """``value`` rebuilt from plain JSON types, which have no methods the sandbox would have to
    know are dangerous: str, int and float subclasses become the base type, mappings dicts,
    dataclasses and pydantic models their fields; anything else an inert placeholder naming its
    type (``"<ndarray>"``), as templates only test whether such keys are present."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, Mapping):
        return {plain_data(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_data(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_data(item) for item in value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        # np.bool_(False) would otherwise become a placeholder, which is true.
        return plain_data(value.item())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain_data(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if callable(getattr(value, "model_dump", None)):
        return plain_data(value.model_dump())
    return f"<{kind.__name__}>"


def _with_reasoning_aliases(messages: list[Any]) -> list[Any]:
    """Each message with its reasoning (under any of :data:`REASONING_FIELDS`) also under
    ``reasoning_content``, and under ``thinking`` unless it has that (gpt-oss templates read
    it)."""
    aliased = []
    for message in messages:
        if isinstance(message, dict):
            reasoning = next(
                (message[key] for key in REASONING_FIELDS if message.get(key) is not None), None
            )
            if reasoning is not None:
                message = {"thinking": reasoning, **message, "reasoning_content": reasoning}
        aliased.append(message)
    return aliased


def _tool_schemas(tools: Any) -> list[Any] | None:
    if tools is None:
        return None
    schemas = []
    for tool in tools:
        if not isinstance(tool, dict):
            raise ValueError(
                "Tools should be JSON schemas (dicts): bbtok does not convert Python functions "
                "to schemas (transformers.utils.get_json_schema does), got "
                f"{type(tool).__name__}"
            )
        schemas.append(tool)
    return schemas


def _mark_final_message(chat: list[Any], field: str, template: str) -> str:
    """Append :data:`CONTINUE_TAG` to the final message's ``field`` (in place); the text
    continued."""
    if not chat:
        raise ValueError("continue_final_message is set but the conversation is empty!")
    final = chat[-1].get(field)
    if final is None:
        raise ValueError(
            f'continue_final_message is set but the final message has no "{field}" to continue!'
        )
    fields = [field]
    if field in REASONING_FIELDS:
        # The reasoning is under several names: tag each copy, whichever the template reads.
        fields = [name for name in REASONING_FIELDS if chat[-1].get(name) == final]
    if not any(name in template for name in fields):
        raise ValueError(
            f'continue_final_message is set to "{field}" but this is not an accepted field in '
            "the chat_template"
        )
    if isinstance(final, (list, tuple)):
        for block in reversed(final):
            if "text" in block:
                final = block["text"]
                block["text"] = block["text"] + CONTINUE_TAG
                break
        else:
            raise ValueError(
                "continue_final_message is set but we could not find any text to continue in "
                "the final message!"
            )
    else:
        for name in fields:
            chat[-1][name] = chat[-1][name] + CONTINUE_TAG
    return str(final)


def _cut_at_continue_tag(rendered: str, final: str) -> str:
    tag = CONTINUE_TAG.strip()
    if final.strip() not in rendered or tag not in rendered:
        raise ValueError(
            "continue_final_message is set but the final message does not appear in the chat "
            "after applying the chat template! This can happen if the chat template deletes "
            "portions of the final message. Please verify the chat template and final message "
            "in your chat to ensure they are compatible."
            f"Final message to continue: {final.strip()}\nRendered chat:\n{rendered}"
        )
    at = rendered.rindex(tag)
    if rendered[at : at + len(CONTINUE_TAG)] == CONTINUE_TAG:
        return rendered[:at]
    # The template trimmed the space after the tag, and maybe the message's own trailing space.
    return rendered[:at].rstrip()


def render_conversations(
    conversations: list[list[Any]],
    template: str,
    tools: Any = None,
    documents: Any = None,
    add_generation_prompt: bool = False,
    continue_final_message: bool | str = False,
    with_generation_spans: bool = False,
    **template_variables: Any,
) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Render each conversation with ``template``; the texts, and for each the (start, end)
    character spans of its ``{% generation %}`` blocks (when ``with_generation_spans``)."""
    if with_generation_spans and not _GENERATION_TAG.search(template):
        logger.warning(
            "return_assistant_tokens_mask==True but chat template does not contain "
            "`{% generation %}` keyword."
        )
    compiled = compile_template(template)
    tool_schemas = plain_data(_tool_schemas(tools))
    if documents is not None:
        for document in documents:
            if not isinstance(document, dict):
                raise TypeError("Documents should be a list of dicts with 'title' and 'text' keys!")
    documents = plain_data(documents)
    template_variables = plain_data(template_variables)
    continued_field = (
        continue_final_message if isinstance(continue_final_message, str) else "content"
    )
    texts: list[str] = []
    all_spans: list[list[tuple[int, int]]] = []
    for conversation in conversations:
        # A fresh copy: the edits below never reach the caller's messages.
        chat = plain_data(getattr(conversation, "messages", conversation))
        for message in chat:
            if not isinstance(message, dict):
                raise TypeError(
                    "Chat messages should be dicts, dataclasses or pydantic models, but got "
                    f"{message!r}."
                )
        chat = _with_reasoning_aliases(chat)
        final = None
        if continue_final_message:
            final = _mark_final_message(chat, continued_field, template)
        variables = {
            "messages": chat,
            "tools": tool_schemas,
            "documents": documents,
            "add_generation_prompt": add_generation_prompt,
            **template_variables,
        }
        if with_generation_spans:
            blocks: list[str] = []
            spans: list[tuple[int, int]] = []
            token = _generation_spans.set((blocks, spans))
            try:
                for block in compiled.generate(**variables):
                    blocks.append(block)
            finally:
                _generation_spans.reset(token)
            text = "".join(blocks)
            all_spans.append(spans)
        else:
            text = compiled.render(**variables)
        if final is not None:
            text = _cut_at_continue_tag(text, final)
        texts.append(text)
    return texts, all_spans


# -- sanitize_control_tokens --------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def template_literal_text(template: str) -> str:
    """The literal text of ``template`` (its raw text and its string constants), joined by NUL
    characters so that a search cannot match across two of them."""
    jinja2 = _jinja2()
    tree = _environment().parse(template)
    literals = {node.data for node in tree.find_all(jinja2.nodes.TemplateData)}
    literals |= {
        node.value for node in tree.find_all(jinja2.nodes.Const) if isinstance(node.value, str)
    }
    return "\0".join(literals)


@functools.lru_cache(maxsize=64)
def control_token_patterns(tokens: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A pattern matching any of ``tokens`` (longest first, so a token wins over the tokens it
    contains), and one matching a marked token or a lone marker."""
    longest_first = sorted(tokens, key=len, reverse=True)
    # (?!) matches nothing: no control tokens.
    any_token = re.compile("|".join(map(re.escape, longest_first)) or "(?!)")
    marked = re.compile(
        f"{CONTROL_START}({any_token.pattern}){CONTROL_END}|[{CONTROL_START}{CONTROL_END}]"
    )
    return any_token, marked


def mark_control_tokens(value: Any, control_tokens: re.Pattern[str]) -> Any:
    """``value`` with each control token in its strings (dict values, list items) put between
    the markers; markers already there are dropped first, so none can be forged."""
    if isinstance(value, str):
        value = value.replace(CONTROL_START, "").replace(CONTROL_END, "")
        return control_tokens.sub(f"{CONTROL_START}\\g<0>{CONTROL_END}", value)
    if isinstance(value, dict):
        return {key: mark_control_tokens(item, control_tokens) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mark_control_tokens(item, control_tokens) for item in value]
    return value


def encode_marked_chat(tokenizer: Any, chat: str) -> list[int]:
    """The ids of a chat rendered from marked inputs: a marked control token is encoded as
    plain text, the rest (with the template's own control tokens) as usual. A lone marker
    (a template's ``split()`` can cut a pair) is dropped but still separates the text around
    it, so the two sides cannot join into a control token."""
    _, markers = control_token_patterns(tuple(tokenizer.added_tokens_encoder))
    # [text, marked token, text, ...]; None for the token of a lone marker.
    pieces = markers.split(chat)
    newline_ids = tokenizer.encode("\n", add_special_tokens=False)
    ids: list[int] = tokenizer.encode(pieces[0], add_special_tokens=False)
    for index, piece in enumerate(pieces[1:], start=1):
        if not piece:
            continue
        as_text = index % 2 == 1
        piece_ids = _encode_piece(tokenizer, piece, as_text, newline_ids)
        if as_text and tokenizer.convert_tokens_to_ids(piece) in piece_ids:
            raise ValueError(f"Can't sanitize {piece!r}: the tokenizer produces it from plain text")
        ids += piece_ids
    return ids


def _encode_piece(tokenizer: Any, piece: str, as_text: bool, newline_ids: list[int]) -> list[int]:
    def encode(text: str) -> list[int]:
        if as_text:
            return tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)  # type: ignore[no-any-return]
        return tokenizer.encode(text, add_special_tokens=False)  # type: ignore[no-any-return]

    # Encoded after a newline, then the newline's ids removed, as transformers does (for
    # tokenizers that treat the start of a text differently).
    piece_ids = encode("\n" + piece)
    if piece_ids[: len(newline_ids)] == newline_ids:
        return piece_ids[len(newline_ids) :]
    return encode(piece)


# -- pretrained directories ---------------------------------------------------------------------


def read_chat_templates(directory: str) -> dict[str, Any]:
    """``{"chat_template": ...}`` from the template files of ``directory``, or {} when it has
    none: ``chat_template.jinja`` is the ``"default"`` template, each
    ``additional_chat_templates/NAME.jinja`` the template NAME. One default alone is a str,
    else a dict by name. The files take priority over tokenizer_config.json's entry, which
    the caller keeps when this returns {}. (transformers' tokenizers do not read
    ``chat_template.json``, its processors' older file, and neither does this.)"""
    templates: dict[str, str] = {}
    default_path = os.path.join(directory, CHAT_TEMPLATE_FILE)
    if os.path.lexists(default_path):
        templates["default"] = files.read_text(default_path, files.MAX_CONFIG_BYTES)
    additional = os.path.join(directory, CHAT_TEMPLATE_DIR)
    if os.path.isdir(additional):
        for name in sorted(os.listdir(additional)):
            if name.endswith(".jinja"):
                path = os.path.join(additional, name)
                templates[name.removesuffix(".jinja")] = files.read_text(
                    path, files.MAX_CONFIG_BYTES
                )
    if not templates:
        return {}
    if list(templates) == ["default"]:
        return {CONFIG_KEY: templates["default"]}
    return {CONFIG_KEY: templates}


def chat_template_files(
    save_directory: str, prefix: str, templates: ChatTemplate | None, save_jinja_files: bool = True
) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    """The files ``save_pretrained`` writes for ``templates``, and what it puts in
    tokenizer_config.json for them. As transformers: one template is ``chat_template.jinja``;
    of several, ``"default"`` is that file and each other NAME
    ``additional_chat_templates/NAME.jinja`` (the folder is created here). With
    ``save_jinja_files=False`` the templates go in tokenizer_config.json instead (the older
    layout: a str, or a list of ``{"name", "template"}``). A name that would put a file outside
    that folder is a ``ValueError``, before anything is written."""
    if templates is None:
        return [], {}
    if not save_jinja_files:
        if isinstance(templates, dict):
            return [], {CONFIG_KEY: [{"name": k, "template": v} for k, v in templates.items()]}
        return [], {CONFIG_KEY: templates}
    default_path = os.path.join(save_directory, prefix + CHAT_TEMPLATE_FILE)
    if not isinstance(templates, dict):
        return [(default_path, files.encode_utf8(templates, default_path))], {}
    folder = os.path.join(save_directory, prefix + CHAT_TEMPLATE_DIR)
    planned: list[tuple[str, str]] = []
    for name, template in templates.items():
        if name == "default":
            planned.append((default_path, template))
            continue
        file_name = f"{name}.jinja"
        if (
            os.sep in file_name
            or (os.altsep is not None and os.altsep in file_name)
            or "\0" in file_name
            or file_name in (".", "..")
        ):
            raise ValueError(
                f"Invalid chat template name: {name!r} (it would be saved outside {folder})"
            )
        planned.append((os.path.join(folder, file_name), template))
    if any(path != default_path for path, _ in planned):
        os.makedirs(folder, exist_ok=True)
    return [(path, files.encode_utf8(text, path)) for path, text in planned], {}


def chat_files_to_save(
    tokenizer: Any, save_directory: str, prefix: str, save_jinja_files: bool
) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    """The template files ``tokenizer.save_pretrained`` writes (:func:`chat_template_files`),
    and the tokenizer_config.json entries of its chat settings."""
    written, config = chat_template_files(
        save_directory, prefix, tokenizer.chat_template, save_jinja_files
    )
    if tokenizer.chat_control_tokens is not None:
        config["chat_control_tokens"] = list(tokenizer.chat_control_tokens)
    return written, config


# -- the tokenizer's methods --------------------------------------------------------------------


class ChatTemplateMixin:
    """``apply_chat_template``, ``get_chat_template`` and ``encode_message_with_chat_template``
    for :class:`~bbtok.tokenization.base.TokenizerBase`, with the ``chat_template`` and
    ``chat_control_tokens`` settings."""

    chat_template: ChatTemplate | None
    chat_control_tokens: list[str] | tuple[str, ...] | None

    def _pop_chat_settings(self, kwargs: dict[str, Any]) -> None:
        """Take ``chat_template`` and ``chat_control_tokens`` out of the constructor's
        ``kwargs``."""
        self.chat_template = as_template_setting(kwargs.pop(CONFIG_KEY, None))
        control_tokens = kwargs.pop("chat_control_tokens", None)
        if control_tokens is not None and not isinstance(control_tokens, (list, tuple)):
            raise TypeError(
                f"`chat_control_tokens` should be a list of strings, got {control_tokens!r}"
            )
        self.chat_control_tokens = control_tokens

    def get_chat_template(self, chat_template: str | None = None, tools: Any = None) -> str:
        """The template ``apply_chat_template`` would render: ``chat_template`` (a template or
        the name of one of several), else the tokenizer's own (of several: ``"tool_use"`` when
        ``tools`` are given and there is one, else ``"default"``).

        >>> from bbtok import BlenderbotSmallTokenizer
        >>> from bbtok.data import SAMPLE_CHECKPOINT
        >>> tok = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)
        >>> tok.chat_template = {"default": "{{ messages }}", "tool_use": "{{ tools }}"}
        >>> tok.get_chat_template(tools=[])
        '{{ tools }}'
        """
        return select_template(self.chat_template, chat_template, tools)

    def apply_chat_template(
        self,
        conversation: Any,
        tools: list[Any] | None = None,
        documents: list[dict[str, Any]] | None = None,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool | str = False,
        tokenize: bool = True,
        sanitize_control_tokens: bool = False,
        padding: bool | str = False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_dict: bool = True,
        return_assistant_tokens_mask: bool = False,
        tokenizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Render a conversation (a list of ``{"role", "content"}`` messages), or a batch of
        them, with the chat template, and tokenize it (without the tokenizer's own special
        tokens: the template writes them).

        Returns the text when ``tokenize=False``; else a :class:`BatchEncoding`
        (``input_ids``, ``attention_mask``, and ``assistant_masks`` with
        ``return_assistant_tokens_mask``), or only the ids with ``return_dict=False``.
        ``kwargs`` are variables for the template, besides ``messages``, ``tools``,
        ``documents``, ``add_generation_prompt`` and the special tokens (``eos_token``...).
        ``continue_final_message`` leaves the last message open for the model to continue;
        ``sanitize_control_tokens`` encodes control tokens found in the inputs as text.

        >>> from bbtok import BlenderbotSmallTokenizer
        >>> from bbtok.data import SAMPLE_CHECKPOINT
        >>> tok = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)
        >>> tok.chat_template = "{% for m in messages %}{{ m.content }} {% endfor %}{{ eos_token }}"
        >>> chat = [{"role": "user", "content": "Hi there!"}]
        >>> tok.apply_chat_template(chat, tokenize=False)
        'Hi there! __end__'
        >>> tok.apply_chat_template(chat, return_dict=False)
        [...]
        """
        tokenizer: Any = self
        if not tokenize:
            return_dict = False
        if return_assistant_tokens_mask and not (return_dict and tokenize):
            raise ValueError(
                "`return_assistant_tokens_mask=True` requires `return_dict=True` and "
                "`tokenize=True`"
            )
        tokenizer_kwargs = dict(tokenizer_kwargs or {})
        template = self.get_chat_template(chat_template, tools)
        if isinstance(conversation, (list, tuple)) and len(conversation) == 0:
            raise ValueError(
                "Cannot apply chat template to an empty conversation. Provide at least one message."
            )
        is_batched = isinstance(conversation, (list, tuple)) and (
            isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages")
        )
        conversations = list(conversation) if is_batched else [conversation]
        # Keys whose value is None are dropped: some APIs send content=None, which templates
        # render as "None", where they handle a missing key.
        conversations = [
            [_without_none_values(message) for message in getattr(chat, "messages", chat)]
            for chat in conversations
        ]
        if continue_final_message:
            if add_generation_prompt:
                raise ValueError(
                    "continue_final_message and add_generation_prompt are not compatible. Use "
                    "continue_final_message when you want the model to continue the final "
                    "message, and add_generation_prompt when you want to add a header that will "
                    "prompt it to start a new assistant message instead."
                )
            if return_assistant_tokens_mask:
                raise ValueError(
                    "continue_final_message is not compatible with return_assistant_tokens_mask."
                )
        if sanitize_control_tokens:
            if not tokenize or return_assistant_tokens_mask:
                raise ValueError(
                    "`sanitize_control_tokens=True` requires `tokenize=True` and is not "
                    "compatible with `return_assistant_tokens_mask=True`."
                )
            control_tokens, _ = control_token_patterns(self._chat_control_tokens(template))
            conversations = [mark_control_tokens(chat, control_tokens) for chat in conversations]
            tools = mark_control_tokens(tools, control_tokens)
            documents = mark_control_tokens(documents, control_tokens)
            kwargs = mark_control_tokens(kwargs, control_tokens)
        # The caller's variables win over the special tokens of the same name.
        variables = {**tokenizer.special_tokens_map, **kwargs}
        texts, spans = render_conversations(
            conversations,
            template,
            tools=tools,
            documents=documents,
            add_generation_prompt=add_generation_prompt,
            continue_final_message=continue_final_message,
            with_generation_spans=return_assistant_tokens_mask,
            **variables,
        )
        if not tokenize:
            return texts if is_batched else texts[0]
        inputs: Any = texts if is_batched else texts[0]
        if sanitize_control_tokens:
            marked_ids = [encode_marked_chat(tokenizer, text) for text in texts]
            inputs = marked_ids if is_batched else marked_ids[0]
        call_options = {
            "padding": padding,
            "truncation": truncation,
            "max_length": max_length,
            "add_special_tokens": False,
            **tokenizer_kwargs,
        }
        if not return_assistant_tokens_mask:
            encoded = tokenizer(inputs, return_tensors=return_tensors, **call_options)
            return encoded if return_dict else encoded["input_ids"]
        return self._with_assistant_masks(inputs, spans, is_batched, return_tensors, call_options)

    def _with_assistant_masks(
        self,
        inputs: Any,
        spans: list[list[tuple[int, int]]],
        is_batched: bool,
        return_tensors: str | None,
        call_options: dict[str, Any],
    ) -> BatchEncoding:
        """The encoding of ``inputs`` with ``assistant_masks``: 1 for each token of a
        ``{% generation %}`` block (found by the tokens' character offsets)."""
        tokenizer: Any = self
        keeps_offsets = bool(call_options.get("return_offsets_mapping"))
        if tokenizer.is_fast:
            call_options = {**call_options, "return_offsets_mapping": True}
        encoded = tokenizer(inputs, **call_options)
        rows = encoded["input_ids"] if is_batched else [encoded["input_ids"]]
        offsets = encoded.get("offset_mapping")
        offset_rows = None if offsets is None else (offsets if is_batched else [offsets])
        masks = []
        for index, row in enumerate(rows):
            mask = [0] * len(row)
            for start_char, end_char in spans[index]:
                if offset_rows is None:
                    raise ValueError(
                        "char_to_token() is not available when using Python based tokenizers"
                    )
                start = _char_to_token(offset_rows[index], start_char)
                end = _char_to_token(offset_rows[index], end_char - 1)
                if start is None:
                    # The block's start was truncated away.
                    break
                # Quirk: an end at token 0 counts as no end, so the mask runs to the row's end.
                for position in range(start, end + 1 if end else len(row)):
                    mask[position] = 1
            masks.append(mask)
        if offsets is not None and not keeps_offsets:
            del encoded["offset_mapping"]
        encoded["assistant_masks"] = masks if is_batched else masks[0]
        converted: BatchEncoding = encoded.convert_to_tensors(
            return_tensors, prepend_batch_axis=not is_batched
        )
        return converted

    def _chat_control_tokens(self, template: str) -> tuple[str, ...]:
        """The tokens ``sanitize_control_tokens`` encodes as text in the caller's inputs: the
        special added tokens, and the added tokens named in ``chat_control_tokens``, or else
        those the template's literal text holds (but whitespace, ordinary text in templates)."""
        tokenizer: Any = self
        added = tokenizer.added_tokens_decoder.values()
        if self.chat_control_tokens is not None:
            named = set(self.chat_control_tokens)
            return tuple(
                token.content for token in added if token.special or token.content in named
            )
        literal = template_literal_text(template)
        return tuple(
            token.content
            for token in added
            if token.special or (token.content in literal and not token.content.isspace())
        )

    def encode_message_with_chat_template(
        self,
        message: dict[str, Any],
        conversation_history: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> list[int]:
        """The ids of one message as it continues ``conversation_history``: the ids of the
        whole conversation from the first place they differ from the history's alone.

        >>> from bbtok import BlenderbotSmallTokenizer
        >>> from bbtok.data import SAMPLE_CHECKPOINT
        >>> tok = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)
        >>> tok.chat_template = "{% for m in messages %}{{ m.content }} {% endfor %}"
        >>> history = [{"role": "user", "content": "hello"}]
        >>> reply = {"role": "assistant", "content": "hi"}
        >>> tok.encode_message_with_chat_template(reply, history) == tok.encode("hi")
        True
        """
        if "add_generation_prompt" in kwargs:
            raise ValueError(
                "`encode_message_with_chat_template` does not support `add_generation_prompt`. "
                "Please add the generation prompt separately."
            )
        options: dict[str, Any] = {
            "add_generation_prompt": False,
            "tokenize": True,
            "return_dict": False,
        }
        if not conversation_history:
            return self.apply_chat_template([message], **options, **kwargs)  # type: ignore[no-any-return]
        ids = self.apply_chat_template([*conversation_history, message], **options, **kwargs)
        history_ids = self.apply_chat_template(conversation_history, **options, **kwargs)
        for position, (history_id, full_id) in enumerate(zip(history_ids, ids)):
            if history_id != full_id:
                return ids[position:]  # type: ignore[no-any-return]
        return ids[min(len(history_ids), len(ids)) :]  # type: ignore[no-any-return]


def _char_to_token(offsets: list[tuple[int, int]], position: int) -> int | None:
    """The index of the first token whose (start, end) offsets hold ``position``, as the
    tokenizers library's ``Encoding.char_to_token`` finds it; padding's (0, 0) holds none."""
    for index, (start, end) in enumerate(offsets):
        if start <= position < end:
            return index
    return None


def _without_none_values(message: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise TypeError(f"Chat messages should be dicts, but got {message!r}.")
    return {key: value for key, value in message.items() if value is not None}
