"""Pretrained directories: ``save_pretrained``, ``from_pretrained`` (a local directory or a hub
model id) and ``save_vocabulary``, with the ``tokenizer_config.json`` transformers reads.

The vocabulary files are the family's (their names: ``vocabulary_file_names``); the other
files of a directory are transformers' own, named here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from typing import Any, ClassVar, TypeVar

from bbtok.storage import files, hub
from bbtok.tokenization import chat_template, vocabulary_files
from bbtok.tokenization.added_tokens import (
    SPECIAL_TOKEN_NAMES,
    AddedToken,
    TokenRegistry,
    added_tokens_decoder_from,
    extra_special_token_texts,
    token_text,
)
from bbtok.tokenization.hooks import TokenizerHooks
from bbtok.tokenization.options import check_length, check_side, checked_input_names

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
# The single file of a tokenizer of transformers' fast kind: its whole pipeline.
PIPELINE_FILE = "tokenizer.json"
# transformers' own files of a tokenizer directory, besides the vocabulary.
TRANSFORMERS_TOKENIZER_FILES = (
    TOKENIZER_CONFIG_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    ADDED_TOKENS_FILE,
    chat_template.CHAT_TEMPLATE_FILE,
    PIPELINE_FILE,
)
# tokenizer itself (transformers writes some of them back; we do not).
TRANSIENT_CONFIG_KEYS = frozenset(
    {
        "name_or_path",
        "is_local",
        "local_files_only",
        "files_loaded",
        "special_tokens_map_file",
        "tokenizer_file",
        "vocab_file",
        "merges_file",
        "tokenizer_config_file",
        "tokenizer_class",
        "init_inputs",
        "device_map",
        "slow_tokenizer_class",
        "auto_map",
    }
)

TokenizerT = TypeVar("TokenizerT", bound="PretrainedMixin")


def read_tokenizer_config(directory: str) -> dict[str, Any]:
    """The ``tokenizer_config.json`` of a directory ({} when there is none), without the class
    name it was saved by (the class loading it is the caller's)."""
    config_path = os.path.join(directory, TOKENIZER_CONFIG_FILE)
    # Whatever is at the path is read: a FIFO or a dangling link is an error, not "absent".
    if not os.path.lexists(config_path):
        return {}
    config = files.read_json(config_path)
    if not isinstance(config, dict):
        raise ValueError(f"{config_path}: expected a JSON object")
    config.pop("tokenizer_class", None)
    return checked_settings(config, config_path)


def _flag(name: str, value: object) -> object:
    # bool("false") is True: a flag written as a string would be read as set.
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not valid; use true or false")
    return value


def _length(name: str, value: object) -> object:
    check_length(name, value)
    return value


def _token(name: str, value: object) -> object:
    token_text(value)
    return value


def _extra_tokens(name: str, value: object) -> object:
    extra_special_token_texts(value)
    return value


# The settings of tokenizer_config.json and special_tokens_map.json that the tokenizers read,
# each with the constructor's own check; what a check returns replaces the value.
_SETTING_CHECKS: dict[str, Callable[[str, Any], object]] = {
    "added_tokens_decoder": lambda _, value: added_tokens_decoder_from(value),
    **dict.fromkeys(SPECIAL_TOKEN_NAMES, _token),
    "extra_special_tokens": _extra_tokens,
    "additional_special_tokens": _extra_tokens,
    "model_max_length": _length,
    "max_len": _length,
    "padding_side": check_side,
    "truncation_side": check_side,
    "model_input_names": lambda _, value: checked_input_names(value),
    **dict.fromkeys(
        ("clean_up_tokenization_spaces", "split_special_tokens", "add_prefix_space"), _flag
    ),
}


def checked_settings(settings: dict[str, Any], path: str) -> dict[str, Any]:
    """``settings`` read from the file ``path``, each one a tokenizer reads held to what its
    constructor takes (``added_tokens_decoder`` made id -> token); else a ``ValueError``
    naming the file and the key.

    >>> checked_settings({"model_input_names": 5}, "tokenizer_config.json")
    Traceback (most recent call last):
    ...
    ValueError: tokenizer_config.json: model_input_names=5 is not valid; use a list of strings
    """
    for key, check in _SETTING_CHECKS.items():
        if key not in settings:
            continue
        try:
            settings[key] = check(key, settings[key])
        except (TypeError, ValueError) as error:
            problem = str(error)
            if not problem.startswith(key):
                problem = f"{key}: {problem}"
            raise ValueError(f"{path}: {problem}") from None
    return settings


def tokenizer_file_set(vocabulary_file_names: tuple[str, ...]) -> hub.FileSet:
    """The files ``from_pretrained`` reads from the directory of a tokenizer whose vocabulary is
    in ``vocabulary_file_names``: those, and transformers' own files when present."""
    return hub.FileSet(
        " and ".join(vocabulary_file_names),
        vocabulary_file_names,
        (
            TOKENIZER_CONFIG_FILE,
            SPECIAL_TOKENS_MAP_FILE,
            ADDED_TOKENS_FILE,
            chat_template.CHAT_TEMPLATE_FILE,
        ),
    )


def is_tokenizer_file(name: str, vocabulary_file_names: Collection[str]) -> bool:
    """Whether ``name`` (a path relative to the directory, ``/``-separated) is a file of the
    directory of a tokenizer whose vocabulary is in ``vocabulary_file_names``: those,
    transformers' own files, and the templates of ``additional_chat_templates/``. What writing a
    new tokenizer over an old one replaces, or removes when the new one lacks it (an old
    ``tokenizer.json`` or template would be loaded with the new vocabulary).

    >>> names = ("vocab.json", "merges.txt")
    >>> [is_tokenizer_file(name, names) for name in ("tokenizer.json", "notes.txt")]
    [True, False]
    >>> is_tokenizer_file("additional_chat_templates/tool_use.jinja", names)
    True
    """
    if name in vocabulary_file_names or name in TRANSFORMERS_TOKENIZER_FILES:
        return True
    folder, _, file_name = name.partition("/")
    return (
        folder == chat_template.CHAT_TEMPLATE_DIR
        and file_name.endswith(".jinja")
        and "/" not in file_name
    )


class PretrainedMixin(TokenizerHooks):
    """Saving and loading the directories of :class:`~bbtok.tokenization.base.TokenizerBase`."""

    # Whether save_pretrained writes the whole pipeline (tokenizer.json) besides the
    # vocabulary files, so that legacy_format=False can be honoured.
    saves_pipeline_file: ClassVar[bool] = False

    def _vocabulary_texts(self) -> tuple[str, str]:
        """The texts of ``vocab.json`` and ``merges.txt``, as the reference writes them."""
        return (
            vocabulary_files.vocab_json(self._base_vocab()),
            vocabulary_files.merges_text(self._merge_ranks()),
        )

    def save_vocabulary(
        self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None
    ) -> tuple[str, str]:
        """Write ``vocab.json`` and ``merges.txt`` byte-for-byte as the reference does, as one
        set (see :func:`bbtok.storage.files.write_file_set`)."""
        return vocabulary_files.save_vocab_texts(
            save_directory, *self._vocabulary_texts(), self.vocabulary_file_names, filename_prefix
        )

    def _config_for_saving(self, tokens: TokenRegistry) -> dict[str, Any]:
        config: dict[str, Any] = dict(self.unread_settings)
        config.update(
            {
                "added_tokens_decoder": {
                    str(index): token.to_dict()
                    for index, token in sorted(tokens.added_tokens_decoder.items())
                },
                "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
                "model_max_length": self.model_max_length,
                "padding_side": self.padding_side,
                "truncation_side": self.truncation_side,
                "tokenizer_class": self.reference_class_name,
            }
        )
        if self.split_special_tokens:
            config["split_special_tokens"] = True
        if tuple(self.model_input_names) != self.default_model_input_names:
            config["model_input_names"] = list(self.model_input_names)
        for name in SPECIAL_TOKEN_NAMES:
            config.pop(name, None)
        config.update(
            {name: text for name, text in tokens.special_tokens.items() if text is not None}
        )
        config.pop("extra_special_tokens", None)
        config.pop("additional_special_tokens", None)
        if tokens.extra_special_tokens:
            config["extra_special_tokens"] = list(tokens.extra_special_tokens)
        return config

    def save_pretrained(
        self,
        save_directory: str | os.PathLike[str],
        legacy_format: bool | None = None,
        filename_prefix: str | None = None,
        push_to_hub: bool = False,
        **kwargs: Any,
    ) -> tuple[str, ...]:
        """Save a directory that this class and transformers' ``from_pretrained`` both load.

        Writes ``tokenizer_config.json``, ``vocab.json``, ``merges.txt`` and the family's other
        files (:meth:`_more_files_to_save`: ``added_tokens.json`` when tokens were added beyond
        the vocabulary; ``tokenizer.json`` for the byte-level family); returns the paths
        written, ``tokenizer_config.json`` first. The files are written as one set
        (:func:`~bbtok.storage.files.write_file_set`): all are written and fsynced beside their
        targets before any is renamed, ``tokenizer_config.json`` last, so a full disk leaves the
        previous files as they were. Only a crash between two renames can leave some files new
        and the others old.
        """
        if push_to_hub:
            raise ValueError("push_to_hub is not supported: bbtok works with local directories")
        if legacy_format is False and not self.saves_pipeline_file:
            raise ValueError("this tokenizer only saves the vocab.json/merges.txt format")
        save_directory = os.fspath(save_directory)
        if os.path.isfile(save_directory):
            raise NotADirectoryError(
                20, "Provided path should be a directory, not a file", save_directory
            )
        os.makedirs(save_directory, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        # One registry for all files, so they agree however other threads add tokens.
        tokens = self._tokens
        # Every file is encoded before any is written: an unencodable token writes nothing.
        contents = vocabulary_files.vocab_file_contents(
            save_directory, *self._vocabulary_texts(), self.vocabulary_file_names, filename_prefix
        )
        contents.extend(self._more_files_to_save(save_directory, prefix, tokens))
        # The chat templates are listed right after tokenizer_config.json, as transformers does.
        template_files, chat_settings = chat_template.chat_files_to_save(
            self, save_directory, prefix, kwargs.get("save_jinja_files", True)
        )
        contents[:0] = template_files
        # The file that says what the others are is renamed last.
        config_path = os.path.join(save_directory, prefix + TOKENIZER_CONFIG_FILE)
        config = self._config_for_saving(tokens)
        config.update(chat_settings)
        contents.append((config_path, files.json_bytes(config, config_path)))
        written = files.write_file_set(contents)
        return (written[-1], *written[:-1])

    def _more_files_to_save(
        self, save_directory: str, prefix: str, tokens: TokenRegistry
    ) -> list[tuple[str, bytes]]:
        """The files ``save_pretrained`` writes besides the vocabulary files and
        ``tokenizer_config.json``: ``added_tokens.json`` when tokens were added beyond the
        vocabulary."""
        beyond_vocab = {
            token.content: index
            for index, token in sorted(tokens.added_tokens_decoder.items())
            if index >= self.vocab_size
        }
        if not beyond_vocab:
            return []
        added_path = os.path.join(save_directory, prefix + ADDED_TOKENS_FILE)
        return [(added_path, files.json_bytes(beyond_vocab, added_path))]

    @classmethod
    def from_pretrained(
        cls: type[TokenizerT], pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any
    ) -> TokenizerT:
        """Load a local directory as transformers writes it (``vocab.json``, ``merges.txt``,
        ``tokenizer_config.json``, ``special_tokens_map.json``, ``added_tokens.json``), or a hub
        model id (``org/name``) through huggingface_hub's cache, downloading only those files
        when online; ``revision``, ``cache_dir``, ``token``, ``local_files_only`` and
        ``force_download`` are passed on to it (see :mod:`bbtok.storage.hub`).

        >>> tok = BlenderbotSmallTokenizer.from_pretrained("path/to/tokenizer")  # doctest: +SKIP
        >>> tok = BlenderbotSmallTokenizer.from_pretrained(
        ...     "facebook/blenderbot_small-90M", revision="main"
        ... )  # doctest: +SKIP
        """
        directory = hub.pretrained_directory(
            pretrained_model_name_or_path,
            tokenizer_file_set(cls.vocabulary_file_names),
            **hub.pop_options(kwargs),
        )
        kwargs.pop("trust_remote_code", None)
        config = read_tokenizer_config(directory)
        # Template files take priority over tokenizer_config.json's chat_template.
        config.update(chat_template.read_chat_templates(directory))
        if "added_tokens_decoder" not in config:
            config.update(cls._legacy_token_files(directory, config, kwargs))
        # The files of the directory are used unless the caller names others; paths written in
        # a configuration file are never followed.
        vocab_name, merges_name = cls.vocabulary_file_names
        vocab_file = kwargs.pop("vocab_file", None) or os.path.join(directory, vocab_name)
        merges_file = kwargs.pop("merges_file", None) or os.path.join(directory, merges_name)
        config.update(kwargs)
        # As in transformers: the name given (a hub id stays one), not the snapshot directory.
        config["name_or_path"] = os.fspath(pretrained_model_name_or_path)
        for key in ("vocab_file", "merges_file"):
            config.pop(key, None)
        # Every tokenizer class takes (vocab_file, merges_file, **options).
        factory: Any = cls
        return factory(  # type: ignore[no-any-return]
            vocab_file,
            merges_file,
            **config,
        )

    @staticmethod
    def _legacy_token_files(
        directory: str, config: dict[str, Any], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """Read ``special_tokens_map.json`` and ``added_tokens.json`` (older layouts)."""
        merged = {**config, **kwargs}
        if "additional_special_tokens" in merged and not merged.get("extra_special_tokens"):
            merged["extra_special_tokens"] = merged.pop("additional_special_tokens")
        found: dict[str, Any] = {}
        special_map_path = os.path.join(directory, SPECIAL_TOKENS_MAP_FILE)
        if os.path.lexists(special_map_path):
            special_map = files.read_json(special_map_path)
            if not isinstance(special_map, dict):
                raise ValueError(f"{special_map_path}: expected a JSON object")
            checked_settings(special_map, special_map_path)
            for key, value in special_map.items():
                if kwargs.get(key):
                    continue
                if key == "extra_special_tokens" and isinstance(value, list):
                    value = [*(merged.get(key) or []), *value]
                merged[key] = found[key] = value
        added_path = os.path.join(directory, ADDED_TOKENS_FILE)
        if os.path.lexists(added_path):
            added = files.read_json(added_path)
            if not isinstance(added, dict):
                raise ValueError(f"{added_path}: expected a JSON object of token -> id")
            # Quirk: which added tokens are special is decided by the named tokens and
            # extra_special_tokens only; "additional_special_tokens" from special_tokens_map.json
            # still makes them special tokens of the tokenizer, but not special added tokens.
            specials = {
                text
                for text in (token_text(merged.get(name)) for name in SPECIAL_TOKEN_NAMES)
                if text
            }
            extra = merged.get("extra_special_tokens")
            specials.update(t for t in (token_text(x) for x in extra or []) if t)
            decoder: dict[int, AddedToken] = {}
            for token, index in added.items():
                vocabulary_files.check_token_id(token, index, added_path)
                is_special = token in specials
                decoder[index] = AddedToken(token, normalized=not is_special, special=is_special)
            found["added_tokens_decoder"] = decoder
        return found
