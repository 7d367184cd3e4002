"""What makes a tokenizer BlenderBot-small, written once: its special tokens and their roles,
its file names, the class name transformers knows it by, how its tokens join back into text,
how it looks tokens up, and that it adds no special tokens to a sequence.

Read by the pure-Python tokenizer, the Rust-backed one (whose core sets up the same special
tokens itself, in Rust, and is handed only those a caller chose instead), the trainer and the
benchmarks. The shared layer (:mod:`bbtok.tokenization`) knows none
of it: it calls the hooks :class:`BlenderbotSmallFamily` implements.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from bbtok.tokenization.pretrained import tokenizer_file_set

# The files of a tokenizer directory that hold the vocabulary.
VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
# What a directory (or a hub model id) must hold to load this family's tokenizer.
TOKENIZER_FILES = tokenizer_file_set((VOCAB_FILE, MERGES_FILE))
# The class name transformers' AutoTokenizer knows this tokenizer by.
REFERENCE_CLASS_NAME = "BlenderbotSmallTokenizer"
# transformers' names for the family's tokenizer classes, as tokenizer_config.json's
# tokenizer_class holds them.
TOKENIZER_CLASS_NAMES = frozenset({REFERENCE_CLASS_NAME, REFERENCE_CLASS_NAME + "Fast"})
# Ends a token that the next token continues: "ap@@ te" is "apte".
CONTINUATION = "@@"
# The token a line break in the text becomes.
NEWLINE_MARKER = "__newln__"
# The turns of a conversation are joined with a line break (which becomes NEWLINE_MARKER): the
# way BlenderBot-small's training data separated them.
TURN_SEPARATOR = "\n"
# The special tokens by role, as the reference's constructor sets them.
DEFAULT_SPECIAL_TOKENS: Mapping[str, str] = MappingProxyType(
    {
        "bos_token": "__start__",
        "eos_token": "__end__",
        "unk_token": "__unk__",
        "pad_token": "__null__",
    }
)
# The first ids of the real facebook/blenderbot_small-90M vocabulary, in order: a trained
# vocabulary starts with them too.
VOCABULARY_HEAD = (
    DEFAULT_SPECIAL_TOKENS["pad_token"],
    DEFAULT_SPECIAL_TOKENS["bos_token"],
    DEFAULT_SPECIAL_TOKENS["eos_token"],
    DEFAULT_SPECIAL_TOKENS["unk_token"],
    NEWLINE_MARKER,
)

if TYPE_CHECKING:
    from bbtok.tokenization.base import TokenizerBase as _TokenizerBase
else:
    # A mixin at run time (the shared base comes after it in a tokenizer's bases), the base
    # itself for the type checker.
    _TokenizerBase = object


class BlenderbotSmallFamily(_TokenizerBase):
    """The BlenderBot-small hooks of :class:`~bbtok.tokenization.base.TokenizerBase`; a
    tokenizer of the family lists this class before the base and supplies
    ``_load_vocabulary``.
    """

    reference_class_name: ClassVar[str] = REFERENCE_CLASS_NAME
    vocabulary_file_names: ClassVar[tuple[str, str]] = (VOCAB_FILE, MERGES_FILE)

    def __init__(
        self,
        vocab_file: str | os.PathLike[str],
        merges_file: str | os.PathLike[str],
        bos_token: object = DEFAULT_SPECIAL_TOKENS["bos_token"],
        eos_token: object = DEFAULT_SPECIAL_TOKENS["eos_token"],
        unk_token: object = DEFAULT_SPECIAL_TOKENS["unk_token"],
        pad_token: object = DEFAULT_SPECIAL_TOKENS["pad_token"],
        **kwargs: Any,
    ) -> None:
        self._load_vocabulary(vocab_file, merges_file)
        super().__init__(
            bos_token=bos_token,
            eos_token=eos_token,
            unk_token=unk_token,
            pad_token=pad_token,
            **kwargs,
        )

    def _load_vocabulary(
        self, vocab_file: str | os.PathLike[str], merges_file: str | os.PathLike[str]
    ) -> None:
        """Read ``vocab.json`` and ``merges.txt``; called before the shared layer is set up."""
        raise NotImplementedError

    def _vocab_key(self, token: str) -> str:
        # Quirk: vocabulary look-ups lowercase the token first.
        return token.lower()

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join tokens with spaces and glue ``@@`` continuations: ``["ap@@", "te"]`` -> "apte"."""
        return " ".join(tokens).replace(CONTINUATION + " ", "").strip()

    # -- special-token layout: this model adds none -----------------------------------------

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """BlenderBot-small adds no special tokens: ``a``, or ``a + b`` for a pair."""
        if token_ids_1 is None:
            return list(token_ids_0)
        return list(token_ids_0) + list(token_ids_1)

    def _added_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None
    ) -> list[int]:
        return [0] * (len(token_ids_0) + (len(token_ids_1) if token_ids_1 else 0))

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Zeros for the first sequence, ones for the second."""
        if token_ids_1 is None:
            return [0] * len(token_ids_0)
        return [0] * len(token_ids_0) + [1] * len(token_ids_1)
