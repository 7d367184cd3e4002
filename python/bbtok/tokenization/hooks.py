"""What the parts of a tokenizer share: its settings, its token registry, and the hooks a
tokenizer family and its algorithm supply.

:class:`~bbtok.tokenization.base.TokenizerBase` is made of parts, one concern each (special
tokens, padding, decoding, pretrained I/O), that all derive from :class:`TokenizerHooks`: what
one part reads of another is declared here, so that each can be read (and type-checked) on its
own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bbtok.tokenization.added_tokens import TokenRegistry


class TokenizerHooks:
    """The settings and hooks every part of a tokenizer may use.

    A family supplies (see :class:`bbtok.blenderbot_small.family.BlenderbotSmallFamily` and
    :class:`bbtok.blenderbot.family.BlenderbotFamily`): ``reference_class_name``,
    ``vocabulary_file_names``, ``_vocab_key``, ``convert_tokens_to_string``, the special-token
    layout (``build_inputs_with_special_tokens``, ``_added_special_tokens_mask``,
    ``create_token_type_ids_from_sequences``, ``_spans_with_special_tokens``), and may add to
    what is saved (``_config_for_saving``, ``_more_files_to_save``). Its algorithm supplies
    ``vocab_size``, ``_tokenize_plain``, the vocabulary look-ups, ``_base_vocab`` and
    ``_merge_ranks``.
    """

    default_model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
    # The class name transformers' AutoTokenizer knows the tokenizer by.
    reference_class_name: ClassVar[str]
    # The names of the vocabulary file and the merges file in a pretrained directory.
    vocabulary_file_names: ClassVar[tuple[str, str]]
    # Whether an empty sequence is padded like any other (a tokenizers-backed reference pads
    # it; a pure-Python one returns it unpadded).
    pads_empty_sequences: ClassVar[bool] = False
    # What transformers' class reports as its ``backend``: "custom" for a pure-Python one,
    # "tokenizers" for one built on the tokenizers library.
    reference_backend: ClassVar[str] = "custom"

    name_or_path: str
    model_max_length: int
    padding_side: str = "right"
    truncation_side: str = "right"
    model_input_names: list[str]
    clean_up_tokenization_spaces: bool
    split_special_tokens: bool
    verbose: bool
    init_kwargs: dict[str, Any]
    # The settings of the constructor that no part read: save_pretrained writes them back.
    unread_settings: dict[str, Any]
    deprecation_warnings: dict[str, bool]
    # The special and added tokens (see bbtok.tokenization.special_tokens), and the lock that
    # changes to them take.
    _tokens: TokenRegistry
    _tokens_lock: threading.Lock

    if TYPE_CHECKING:  # defined by the parts, or generated (the special-token properties)
        bos_token: str | None
        eos_token: str | None
        unk_token: str | None
        sep_token: str | None
        pad_token: str | None
        cls_token: str | None
        mask_token: str | None
        bos_token_id: int | None
        eos_token_id: int | None
        unk_token_id: int | None
        sep_token_id: int | None
        pad_token_id: int | None
        cls_token_id: int | None
        mask_token_id: int | None

        @property
        def all_special_ids(self) -> list[int]: ...

        @property
        def pad_token_type_id(self) -> int: ...

        def _token_id_in(self, tokens: TokenRegistry, token: str) -> int: ...

        def _id_to_token_in(self, tokens: TokenRegistry, index: int) -> str: ...

        def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> Any: ...

    @property
    def is_fast(self) -> bool:
        """Whether this tokenizer runs in Rust (the pure-Python one does not)."""
        return False

    # -- what the algorithm supplies ---------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary, without added tokens."""
        raise NotImplementedError

    def _tokenize_plain(self, text: str) -> list[str]:
        """Tokens of a text with no added tokens in it."""
        raise NotImplementedError

    def _vocab_token_to_id(self, token: str) -> int | None:
        raise NotImplementedError

    def _vocab_id_to_token(self, index: int) -> str | None:
        raise NotImplementedError

    def _base_vocab(self) -> dict[str, int]:
        raise NotImplementedError

    def _merge_ranks(self) -> dict[tuple[str, ...], int]:
        raise NotImplementedError

    def _tokens_changing(self, previous: TokenRegistry | None, tokens: TokenRegistry) -> None:
        """Called just before ``tokens`` replaces ``previous`` (None: the first registry), with
        the change lock held: to bring other state (the Rust core) in step first."""

    # -- what the family supplies ------------------------------------------------------------

    def _vocab_key(self, token: str) -> str:
        """The form of ``token`` looked up in the base vocabulary."""
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Tokens joined back into text."""
        raise NotImplementedError

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """A sequence (or pair) with the special tokens the model expects added."""
        raise NotImplementedError

    def _added_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None
    ) -> list[int]:
        """For each id :meth:`build_inputs_with_special_tokens` gives: 1 where it added one."""
        raise NotImplementedError

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """The token type ids of a sequence (or pair) with its special tokens."""
        raise NotImplementedError

    def _spans_with_special_tokens(
        self, offsets: list[tuple[int, int]], word_ids: list[int | None]
    ) -> tuple[list[tuple[int, int]], list[int | None]]:
        """The offsets and word indices of one sequence, placed as
        :meth:`build_inputs_with_special_tokens` places its ids: a special token it adds gets
        ``(0, 0)`` and no word. By default the family adds none, so they are unchanged."""
        return offsets, word_ids
