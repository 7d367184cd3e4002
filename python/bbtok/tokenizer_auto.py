"""``auto_tokenizer``: the tokenizer of either family a directory holds, loaded.

The family is the one ``tokenizer_config.json``'s ``tokenizer_class`` names, as transformers'
``AutoTokenizer`` reads it; without that name, a directory holding ``tokenizer.json`` is
byte-level (Blenderbot) and any other is BlenderbotSmall (``vocab.json`` + ``merges.txt``).
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Union

from bbtok.blenderbot import family as byte_level
from bbtok.blenderbot_small import family as small
from bbtok.storage import files, hub
from bbtok.tokenization import pretrained
from bbtok.tokenization.chat_template import CHAT_TEMPLATE_DIR
from bbtok.tokenization.pretrained import TOKENIZER_CONFIG_FILE

if TYPE_CHECKING:
    from bbtok.blenderbot.tokenizer import BlenderbotTokenizer
    from bbtok.blenderbot_small.tokenizer_fast import BlenderbotSmallTokenizerFast

__all__ = [
    "BYTE_LEVEL_CLASS_NAMES",
    "SMALL_CLASS_NAMES",
    "TOKENIZER_FILES",
    "auto_tokenizer",
    "is_byte_level",
    "is_tokenizer_file",
    "tokenizer_files_held",
]

# transformers' names for each family's tokenizer classes, as tokenizer_config.json holds them.
BYTE_LEVEL_CLASS_NAMES = byte_level.TOKENIZER_CLASS_NAMES
SMALL_CLASS_NAMES = small.TOKENIZER_CLASS_NAMES
# What a tokenizer directory of either family holds, as a hub model id is fetched: the
# vocabulary files both families' hub checkpoints have, and tokenizer.json when there is one.
TOKENIZER_FILES = hub.FileSet(
    small.TOKENIZER_FILES.holding,
    small.TOKENIZER_FILES.required,
    (*small.TOKENIZER_FILES.optional, byte_level.TOKENIZER_FILE),
)
_VOCABULARY_FILE_NAMES = frozenset(
    small.TOKENIZER_FILES.required + byte_level.TOKENIZER_FILES.required
)


def is_tokenizer_file(name: str) -> bool:
    """Whether a file named ``name`` (relative to the directory) belongs to a tokenizer
    directory of either family (:func:`bbtok.tokenization.pretrained.is_tokenizer_file`).

    >>> is_tokenizer_file("tokenizer.json"), is_tokenizer_file("notes.txt")
    (True, False)
    """
    return pretrained.is_tokenizer_file(name, _VOCABULARY_FILE_NAMES)


AnyTokenizer = Union["BlenderbotSmallTokenizerFast", "BlenderbotTokenizer"]


def is_byte_level(directory: str | os.PathLike[str]) -> bool:
    """Whether the tokenizer directory holds a byte-level (Blenderbot) tokenizer rather than a
    BlenderbotSmall one; ``ValueError`` naming the file when its ``tokenizer_class`` is
    neither.

    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> is_byte_level(SAMPLE_CHECKPOINT)
    False
    """
    config_path = os.path.join(directory, TOKENIZER_CONFIG_FILE)
    class_name = None
    if os.path.lexists(config_path):
        config = files.read_json(config_path)
        if not isinstance(config, dict):
            raise ValueError(f"{config_path}: expected a JSON object")
        class_name = config.get("tokenizer_class")
    if class_name is None:
        return os.path.lexists(os.path.join(directory, byte_level.TOKENIZER_FILE))
    if not isinstance(class_name, str):
        raise ValueError(f"{config_path}: tokenizer_class {class_name!r} is not a class name")
    if class_name in BYTE_LEVEL_CLASS_NAMES:
        return True
    if class_name in SMALL_CLASS_NAMES:
        return False
    known = ", ".join(sorted(BYTE_LEVEL_CLASS_NAMES | SMALL_CLASS_NAMES))
    raise ValueError(
        f"{config_path}: tokenizer_class {class_name!r} is not a tokenizer bbtok has "
        f"(it has {known})"
    )


def tokenizer_files_held(directory: str | os.PathLike[str]) -> list[str]:
    """The files of the tokenizer a directory holds, as names relative to it (``/``-separated):
    its vocabulary, transformers' files beside it (:func:`is_tokenizer_file`) and the templates
    of ``additional_chat_templates/``. ``FileNotFoundError`` naming the directory when it lacks
    its family's vocabulary (see :func:`is_byte_level`): the files ``from_pretrained`` needs.

    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> tokenizer_files_held(SAMPLE_CHECKPOINT)
    ['merges.txt', 'tokenizer_config.json', 'vocab.json']
    """
    wanted = byte_level.DIRECTORY_FILES if is_byte_level(directory) else small.TOKENIZER_FILES
    held = sorted(
        entry.name
        for entry in os.scandir(directory)
        if is_tokenizer_file(entry.name) and not entry.is_dir()
    )
    templates = os.path.join(directory, CHAT_TEMPLATE_DIR)
    if os.path.isdir(templates):
        named = (f"{CHAT_TEMPLATE_DIR}/{name}" for name in sorted(os.listdir(templates)))
        held += [
            name
            for name in named
            if is_tokenizer_file(name) and not os.path.isdir(os.path.join(directory, name))
        ]
    # A byte-level tokenizer's pipeline file holds its vocabulary too.
    if not set(wanted.required) <= set(held) and not (
        wanted is byte_level.DIRECTORY_FILES and byte_level.TOKENIZER_FILE in held
    ):
        raise FileNotFoundError(
            errno.ENOENT, f"No tokenizer: the directory holds no {wanted.holding}", directory
        )
    return held


def auto_tokenizer(directory: str | os.PathLike[str]) -> AnyTokenizer:
    """Load the tokenizer of a local directory with the class of its family (see
    :func:`is_byte_level`): ``BlenderbotTokenizer`` or ``BlenderbotSmallTokenizerFast``.

    >>> type(auto_tokenizer("fixtures/byte_level")).__name__  # doctest: +SKIP
    'BlenderbotTokenizer'
    """
    if is_byte_level(directory):
        from bbtok.blenderbot.tokenizer import BlenderbotTokenizer

        return BlenderbotTokenizer.from_pretrained(directory)
    from bbtok.blenderbot_small.tokenizer_fast import BlenderbotSmallTokenizerFast

    return BlenderbotSmallTokenizerFast.from_pretrained(directory)
