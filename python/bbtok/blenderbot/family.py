"""What makes a tokenizer Blenderbot (byte-level), written once: its special tokens and their
ids, its file names, the class name transformers knows it by, its settings, how its tokens join
back into text, where its post-processor puts the special tokens (``X </s>``, ``A </s> B </s>``
for a pair, by default), and what it saves.

Read by the tokenizer (:mod:`bbtok.blenderbot.tokenizer`, which runs the family on the
``tokenizers`` library), the trainer (:mod:`bbtok.blenderbot.train`), the either-family loader
and the command line. The shared layer (:mod:`bbtok.tokenization`) knows none of it: it calls
the hooks :class:`BlenderbotFamily` implements.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from bbtok.blenderbot.post_processor import SpecialTokenLayout
from bbtok.storage import files, hub
from bbtok.tokenization.added_tokens import AddedToken, TokenRegistry
from bbtok.tokenization.pretrained import PIPELINE_FILE, tokenizer_file_set

# The files of a directory in the hub's form, which hold the vocabulary.
VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
# The single file transformers 5 writes, holding the whole pipeline.
TOKENIZER_FILE = PIPELINE_FILE
# What a directory in the hub's form must hold.
TOKENIZER_FILES = tokenizer_file_set((VOCAB_FILE, MERGES_FILE))
# What from_pretrained reads: tokenizer.json, or vocab.json and merges.txt. The hub's Blenderbot
# checkpoints all hold the latter, so a model id needs them; a local directory may hold either.
DIRECTORY_FILES = hub.FileSet(
    f"{TOKENIZER_FILE}, or {VOCAB_FILE} and {MERGES_FILE}",
    TOKENIZER_FILES.required,
    (TOKENIZER_FILE, *TOKENIZER_FILES.optional),
)
# The class name transformers' AutoTokenizer knows this tokenizer by.
REFERENCE_CLASS_NAME = "BlenderbotTokenizer"
# transformers' names for the family's tokenizer classes, as tokenizer_config.json's
# tokenizer_class holds them.
TOKENIZER_CLASS_NAMES = frozenset({REFERENCE_CLASS_NAME, REFERENCE_CLASS_NAME + "Fast"})
# The special tokens by role, as the reference's constructor sets them.
DEFAULT_SPECIAL_TOKENS: Mapping[str, str] = MappingProxyType(
    {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
)
# The first ids of the hub's vocabularies, in order; the mask token is their last id.
VOCABULARY_HEAD = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = DEFAULT_SPECIAL_TOKENS["mask_token"]
# The vocabulary size of facebook/blenderbot-400M-distill.
DISTILL_400M_VOCAB_SIZE = 8008
# The turns of a conversation are joined with two spaces, and each of the person's turns has a
# space in front: the conversation format of transformers 4's BlenderbotTokenizer (its default
# chat template; transformers 5.23.0's blenderbot code defines none).
TURN_SEPARATOR = "  "
USER_TURN_PREFIX = " "
# The setting that makes decode clean up spaces even though this is a BPE tokenizer.
FORCE_CLEAN_UP = "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"
# The token type id of padding (transformers' pad_token_type_id, which Blenderbot leaves at 0).
PAD_TYPE_ID = 0

logger = logging.getLogger("bbtok")

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from bbtok.tokenization.base import TokenizerBase as _TokenizerBase
else:
    # A mixin at run time (the shared base comes after it in a tokenizer's bases), the base
    # itself for the type checker.
    _TokenizerBase = object


class BlenderbotFamily(_TokenizerBase):
    """The Blenderbot (byte-level) hooks of :class:`~bbtok.tokenization.base.TokenizerBase`; a
    tokenizer of the family lists this class before the base, calls
    :meth:`_take_family_settings` before setting the base up, and supplies ``_core`` (its
    ``tokenizers`` pipeline, whose decoder is the byte-level one and whose text is what
    ``tokenizer.json`` holds) and ``_layout`` (where its post-processor puts special tokens).
    """

    reference_class_name: ClassVar[str] = REFERENCE_CLASS_NAME
    vocabulary_file_names: ClassVar[tuple[str, str]] = (VOCAB_FILE, MERGES_FILE)

    _core: Tokenizer
    _layout: SpecialTokenLayout
    # Whether a text gets a space in front, so that its first word is encoded as any other.
    add_prefix_space: bool
    # Whether decode cleans up spaces when asked to (the setting named FORCE_CLEAN_UP).
    force_clean_up: bool
    _warned_clean_up: bool

    def _take_family_settings(self, add_prefix_space: bool, settings: dict[str, Any]) -> None:
        """Fill in the constructor's ``settings`` with the family's special tokens, and take
        out the family's own settings."""
        for name, default in DEFAULT_SPECIAL_TOKENS.items():
            settings.setdefault(name, default)
        if isinstance(settings["mask_token"], str):
            # As the reference: the mask token swallows the white space before it.
            settings["mask_token"] = AddedToken(
                settings["mask_token"], lstrip=True, normalized=False
            )
        self.add_prefix_space = bool(add_prefix_space)
        self.force_clean_up = bool(settings.pop(FORCE_CLEAN_UP, False))
        self._warned_clean_up = False

    def _vocab_key(self, token: str) -> str:
        return token

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Byte-level tokens back into text: ``["ĠHello", "Ġworld"]`` -> " Hello world"."""
        decoder = self._core.decoder
        assert decoder is not None  # set by pipeline.core_spec
        text: str = decoder.decode(list(tokens))
        return text

    # -- special-token layout: the post-processor's ------------------------------------------

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """The ids with the special tokens the post-processor adds (``X </s>`` by default)."""
        return self._layout.build(list(token_ids_0), token_ids_1)

    def _added_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None
    ) -> list[int]:
        return self._layout.special_mask(list(token_ids_0), token_ids_1)

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """The token type ids the post-processor gives."""
        return self._layout.type_ids(list(token_ids_0), token_ids_1)

    def _spans_with_special_tokens(
        self, offsets: list[tuple[int, int]], word_ids: list[int | None]
    ) -> tuple[list[tuple[int, int]], list[int | None]]:
        mask = self._layout.special_mask([0] * len(offsets), None)
        own_offsets = iter(offsets)
        own_words = iter(word_ids)
        placed_offsets = [(0, 0) if special else next(own_offsets) for special in mask]
        placed_words = [None if special else next(own_words) for special in mask]
        return placed_offsets, placed_words

    # -- decoding ----------------------------------------------------------------------------

    def _decode_one(
        self,
        token_ids: Any,
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: bool | None,
    ) -> str:
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        if clean_up_tokenization_spaces and not self.force_clean_up:
            # Quirk: the reference skips the clean-up for BPE tokenizers, where it would remove
            # spaces the text had, unless forced to by the setting named FORCE_CLEAN_UP.
            if not self._warned_clean_up:
                logger.warning(
                    "%s does not clean up tokenization spaces (it would remove spaces of the "
                    "text); pass %s=True to force it",
                    type(self).__name__,
                    FORCE_CLEAN_UP,
                )
                self._warned_clean_up = True
            clean_up_tokenization_spaces = False
        return super()._decode_one(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    # -- files -------------------------------------------------------------------------------

    def _config_for_saving(self, tokens: TokenRegistry) -> dict[str, Any]:
        config = super()._config_for_saving(tokens)
        config["add_prefix_space"] = self.add_prefix_space
        if self.force_clean_up:
            config[FORCE_CLEAN_UP] = True
        return config

    def _more_files_to_save(
        self, save_directory: str, prefix: str, tokens: TokenRegistry
    ) -> list[tuple[str, bytes]]:
        # tokenizer.json holds the whole pipeline, post-processor and added tokens included:
        # with it, this class and transformers' from_pretrained load the same tokenizer.
        pipeline_path = os.path.join(save_directory, prefix + TOKENIZER_FILE)
        return [(pipeline_path, files.encode_utf8(self._core.to_str(pretty=True), pipeline_path))]
