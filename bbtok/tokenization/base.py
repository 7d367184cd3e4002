"""The Hugging Face-style surface shared by both tokenizers.

Calling conventions (``tok(texts, padding=True, ...)``), padding, truncation, tensors,
special-token bookkeeping, added tokens, decoding and its clean-up, and pretrained
directories all live here, once. A tokenizer supplies only its algorithm: how a text with no
added tokens in it becomes tokens or ids, and how to look tokens up in its vocabulary.

Where transformers' behaviour is odd we do the same and say so in a comment: its quirks are
our specification.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from bbtok.storage import files, hub
from bbtok.tokenization.added_tokens import (
    SPECIAL_TOKEN_NAMES,
    TokenRegistry,
    as_added_token,
    token_text,
)
from bbtok.tokenization.added_tokens import (
    AddedToken as AddedToken,  # re-exported: bbtok imports it from here
)
from bbtok.tokenization.batch_encoding import BatchEncoding, as_token_id, to_python

logger = logging.getLogger("bbtok")

# transformers' "no limit" model_max_length, and the bound above which it means "no limit".
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("only_first", "only_second", "longest_first", "do_not_truncate")
SIDES = ("left", "right")
# Where the errors of an unpickled tokenizer say its vocabulary came from.
UNPICKLED = "unpickled tokenizer"
# Keys of tokenizer_config.json that describe where or how a directory was loaded, not the
# tokenizer itself (transformers writes some of them back; we do not).
_TRANSIENT_CONFIG_KEYS = frozenset(
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
# Reference's decode clean-up, applied in this order.
_CLEAN_UP_REPLACEMENTS = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def _padding_strategy(padding: object) -> str:
    padding = getattr(padding, "value", padding)
    if padding is True:
        return "longest"
    if padding is False or padding is None:
        return "do_not_pad"
    if padding not in PADDING_STRATEGIES:
        raise ValueError(
            f"padding={padding!r} is not valid; use True, False or one of {PADDING_STRATEGIES}"
        )
    return str(padding)


def _truncation_strategy(truncation: object) -> str:
    truncation = getattr(truncation, "value", truncation)
    if truncation is True:
        return "longest_first"
    if truncation is False or truncation is None:
        return "do_not_truncate"
    if truncation not in TRUNCATION_STRATEGIES:
        raise ValueError(
            f"truncation={truncation!r} is not valid; use True, False or one of "
            f"{TRUNCATION_STRATEGIES}"
        )
    return str(truncation)


def _check_side(name: str, value: object) -> str:
    if value not in SIDES:
        raise ValueError(f"{name}={value!r} is not valid; use 'left' or 'right'")
    return str(value)


def _check_length(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"{name}={value!r} is not valid; use a non-negative integer or None")


TokenizerT = TypeVar("TokenizerT", bound="TokenizerBase")
Item = TypeVar("Item")
Result = TypeVar("Result")
# Offsets ((start, end) character positions) and word indices of a sequence's tokens.
Spans = tuple[list[tuple[int, int]], list[int | None]]
# Where word indices travel through truncation and padding; never returned as a field.
WORD_IDS_FIELD = "__word_ids__"


# Every tokenizer of this process, so that a forked child can give each a lock of its own: a
# fork taken while another thread was changing a tokenizer would leave its lock held forever in
# the child (fork copies the lock, not the thread that would release it).
_TOKENIZERS: weakref.WeakSet[TokenizerBase] = weakref.WeakSet()


def _new_locks_after_fork() -> None:
    for tokenizer in list(_TOKENIZERS):
        tokenizer._tokens_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_locks_after_fork)


class TokenizerBase:
    """Everything a BlenderBot-small tokenizer does besides its algorithm.

    Subclasses implement ``_tokenize_plain`` (text without added tokens -> tokens),
    ``_encode_plain`` (-> ids), the vocabulary look-ups, ``vocab_size``, ``_base_vocab`` and
    ``_merge_ranks``.

    One instance may be shared between threads, also while tokens are added: the special and
    added tokens are one :class:`~bbtok.tokenization.added_tokens.TokenRegistry` in
    ``_tokens``, replaced whole by each change (see :mod:`bbtok.tokenization.added_tokens`).
    A method that reads it more than once takes it once and passes it on, so that the whole call
    sees one state.
    """

    default_model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
    padding_side: str = "right"
    truncation_side: str = "right"
    # The class name transformers' AutoTokenizer knows this tokenizer by.
    reference_class_name: ClassVar[str] = "BlenderbotSmallTokenizer"

    if TYPE_CHECKING:  # the special-token properties are generated below the class
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

    def __init__(self, **kwargs: Any) -> None:
        kwargs = dict(kwargs)
        self.name_or_path: str = str(kwargs.pop("name_or_path", ""))
        special_tokens = {
            name: token_text(kwargs.pop(name)) for name in SPECIAL_TOKEN_NAMES if name in kwargs
        }
        extra = kwargs.pop("extra_special_tokens", None)
        legacy_extra = kwargs.pop("additional_special_tokens", None)
        if extra is None:
            extra = legacy_extra
        if extra is not None and not isinstance(extra, (list, tuple)):
            raise TypeError("extra_special_tokens must be a list of tokens")
        extra_special_tokens = [
            text for text in (token_text(t) for t in extra or []) if text is not None
        ]
        model_max_length = kwargs.pop("model_max_length", kwargs.pop("max_len", None))
        _check_length("model_max_length", model_max_length)
        self.model_max_length: int = (
            VERY_LARGE_INTEGER if model_max_length is None else model_max_length
        )
        self.padding_side = _check_side("padding_side", kwargs.pop("padding_side", "right"))
        self.truncation_side = _check_side(
            "truncation_side", kwargs.pop("truncation_side", "right")
        )
        self.model_input_names: list[str] = list(
            kwargs.pop("model_input_names", self.default_model_input_names)
        )
        # The reference never cleans up unless asked.
        self.clean_up_tokenization_spaces: bool = bool(
            kwargs.pop("clean_up_tokenization_spaces", False)
        )
        self.split_special_tokens: bool = bool(kwargs.pop("split_special_tokens", False))
        self.verbose: bool = bool(kwargs.pop("verbose", False))
        self._warned_too_long = False

        added_tokens_decoder: dict[int, AddedToken] = {}
        for index, token in dict(kwargs.pop("added_tokens_decoder", None) or {}).items():
            added = as_added_token(token)
            if not 0 <= int(index) <= files.MAX_TOKEN_ID:
                raise ValueError(
                    f"added token {added.content!r} has id {index!r}; ids must be integers from "
                    f"0 to {files.MAX_TOKEN_ID}"
                )
            added_tokens_decoder[int(index)] = added
        # What else the configuration said, kept so that save_pretrained loses nothing.
        self.init_kwargs: dict[str, Any] = {
            key: value for key, value in kwargs.items() if key not in _TRANSIENT_CONFIG_KEYS
        }
        # Held by changes to the registry only, never by readers (see
        # bbtok.tokenization.added_tokens).
        self._tokens_lock = threading.Lock()
        _TOKENIZERS.add(self)
        tokens = TokenRegistry.create(
            special_tokens, extra_special_tokens, added_tokens_decoder, self._vocab_token_to_id
        )
        # Special tokens missing from the vocabulary are appended after it, in attribute order.
        tokens, _ = tokens.with_added_tokens(
            [t for t in tokens.all_special_tokens if t not in tokens.added_tokens_encoder],
            True,
            self._vocab_token_to_id,
            self.vocab_size,
        )
        self._tokens_changing(None, tokens)
        self._tokens: TokenRegistry = tokens

    @property
    def is_fast(self) -> bool:
        """Whether this tokenizer runs in Rust (the pure-Python one does not)."""
        return False

    # -- what a tokenizer supplies ------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary, without added tokens."""
        raise NotImplementedError

    def _tokenize_plain(self, text: str) -> list[str]:
        raise NotImplementedError

    def _encode_plain(self, text: str, tokens: TokenRegistry) -> list[int]:
        return [self._token_id_in(tokens, token) for token in self._tokenize_plain(text)]

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

    # -- changing the special and added tokens ------------------------------------------------

    def _change_tokens(
        self, change: Callable[[TokenRegistry], tuple[TokenRegistry, Result]]
    ) -> Result:
        """Apply ``change`` (current registry -> (new registry, result)) and publish the new
        registry, one change at a time. Readers do not wait: they go on with the registry they
        took. Whatever may run user code (converting the caller's tokens) is done before."""
        with self._tokens_lock:
            current = self._tokens
            changed, result = change(current)
            if changed is not current:
                self._tokens_changing(current, changed)
                self._tokens = changed
        return result

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # A lock is not pickled: the copy gets its own.
        del state["_tokens_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._tokens_lock = threading.Lock()
        _TOKENIZERS.add(self)
        self._check_unpickled()

    def _check_unpickled(self) -> None:
        """Check what ``from_pretrained`` checks, with its messages: a pickle (made by another
        version, or of a tokenizer changed by hand) could otherwise give a tokenizer that saves
        files it cannot load again."""
        files.check_vocab(self._base_vocab(), UNPICKLED)
        tokens = self._tokens
        for index, token in tokens.added_tokens_decoder.items():
            files.check_token_id(token.content, index, UNPICKLED)
        for content, index in tokens.added_tokens_encoder.items():
            files.check_token_id(content, index, UNPICKLED)

    @property
    def _strip_rules(self) -> bool:
        """Whether some added token has lstrip, rstrip or single_word set."""
        return self._tokens.strip_rules

    # -- special tokens ---------------------------------------------------------------------

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """The named special tokens that are set, e.g. ``{"bos_token": "__start__", ...}``."""
        named = self._tokens.special_tokens
        return {name: value for name, value in named.items() if value is not None}

    @property
    def extra_special_tokens(self) -> list[str]:
        """Special tokens without a name of their own."""
        return list(self._tokens.extra_special_tokens)

    @extra_special_tokens.setter
    def extra_special_tokens(self, value: Sequence[object] | None) -> None:
        texts = [text for text in (token_text(t) for t in value or []) if text is not None]
        self._change_tokens(
            lambda tokens: (tokens.with_extra_special_tokens(texts, self._vocab_token_to_id), None)
        )

    @property
    def extra_special_tokens_ids(self) -> list[int]:
        """Ids of :attr:`extra_special_tokens`."""
        tokens = self._tokens
        return [self._token_id_in(tokens, token) for token in tokens.extra_special_tokens]

    @property
    def all_special_tokens(self) -> list[str]:
        """Named special tokens in attribute order, then extra ones, without repeats."""
        return list(self._tokens.all_special_tokens)

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of :attr:`all_special_tokens`."""
        tokens = self._tokens
        return [self._token_id_in(tokens, token) for token in tokens.all_special_tokens]

    def _get_special(self, name: str) -> str | None:
        return self._tokens.special_tokens[name]

    def _set_special(self, name: str, value: object) -> None:
        # As in transformers, setting a special token does not add it to the vocabulary.
        text = token_text(value)
        self._change_tokens(
            lambda tokens: (tokens.with_special_token(name, text, self._vocab_token_to_id), None)
        )

    def _get_special_id(self, name: str) -> int | None:
        tokens = self._tokens
        token = tokens.special_tokens[name]
        return None if token is None else self._token_id_in(tokens, token)

    def _set_special_id(self, name: str, value: int | None) -> None:
        index = None if value is None else as_token_id(to_python(value))

        def set_by_id(tokens: TokenRegistry) -> tuple[TokenRegistry, None]:
            # The token of the id in the same state that is changed.
            text = None if index is None else self._id_to_token_in(tokens, index)
            return tokens.with_special_token(name, text, self._vocab_token_to_id), None

        self._change_tokens(set_by_id)

    # -- added tokens -----------------------------------------------------------------------

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """Added token -> id, by id."""
        decoder = self._tokens.added_tokens_decoder
        return {token.content: index for index, token in sorted(decoder.items())}

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """Id -> added token, by id (copies: changing one does not change the tokenizer)."""
        decoder = self._tokens.added_tokens_decoder
        return {index: copy.copy(token) for index, token in sorted(decoder.items())}

    def get_added_vocab(self) -> dict[str, int]:
        """Added token -> id (special tokens included)."""
        return dict(self._tokens.added_tokens_encoder)

    def get_vocab(self) -> dict[str, int]:
        """The whole vocabulary: ``vocab.json`` plus added tokens."""
        return dict(self._base_vocab(), **self._tokens.added_tokens_encoder)

    def __len__(self) -> int:
        """Number of distinct tokens in :meth:`get_vocab`."""
        return self.vocab_size + self._tokens.beyond_vocab

    def add_tokens(
        self, new_tokens: object | Sequence[object], special_tokens: bool = False
    ) -> int:
        """Add tokens that are cut out of text before BPE; returns how many got a new id.
        Safe to call from several threads: each call is applied whole, one after another.

        >>> tok.add_tokens(["<3"])  # doctest: +SKIP
        1
        """
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        # A str's flags depend on the registry it joins; anything else is converted now.
        converted = [
            value
            if isinstance(value, str)
            else as_added_token(value, special=special_tokens or None)
            for value in new_tokens
        ]
        return self._change_tokens(
            lambda tokens: tokens.with_added_tokens(
                converted, special_tokens, self._vocab_token_to_id, self.vocab_size
            )
        )

    def add_special_tokens(
        self,
        special_tokens_dict: Mapping[str, object],
        replace_extra_special_tokens: bool = True,
    ) -> int:
        """Set named special tokens (and ``extra_special_tokens``) and add them as tokens.

        All of it is one change: other threads see all of it or none, and a key or token that
        is not valid raises before anything changes.

        >>> tok.add_special_tokens({"cls_token": "__cls__"})  # doctest: +SKIP
        1
        """
        if not special_tokens_dict:
            return 0
        special_tokens_dict = dict(special_tokens_dict)
        if "additional_special_tokens" in special_tokens_dict and not special_tokens_dict.get(
            "extra_special_tokens"
        ):
            special_tokens_dict["extra_special_tokens"] = special_tokens_dict.pop(
                "additional_special_tokens"
            )
        assignments: list[tuple[str, list[AddedToken]]] = []
        for key, value in special_tokens_dict.items():
            if key == "extra_special_tokens":
                if not isinstance(value, (list, tuple)):
                    raise ValueError(f"Tokens {value!r} for key {key} should be a list")
                assignments.append((key, [as_added_token(t, special=True) for t in value]))
            elif key in SPECIAL_TOKEN_NAMES:
                assignments.append((key, [as_added_token(value, special=True)]))
            else:
                raise ValueError(
                    f"Key {key} is not a valid special token. Valid keys are: "
                    f"{[*SPECIAL_TOKEN_NAMES, 'extra_special_tokens']}"
                )
        return self._change_tokens(
            lambda tokens: tokens.with_special_tokens(
                assignments, replace_extra_special_tokens, self._vocab_token_to_id, self.vocab_size
            )
        )

    def _split_added(self, text: str) -> list[tuple[str, bool]]:
        """Cut added tokens out of ``text``: (segment, is_added) pairs, empty ones dropped."""
        return self._tokens.split(text)

    # -- tokens <-> ids ---------------------------------------------------------------------

    def _token_to_id(self, token: str) -> int:
        return self._token_id_in(self._tokens, token)

    def _token_id_in(self, tokens: TokenRegistry, token: str) -> int:
        index = tokens.added_tokens_encoder.get(token)
        if index is None:
            # Quirk: vocabulary look-ups lowercase the token first.
            index = self._vocab_token_to_id(token.lower())
            if index is None:
                index = tokens.unknown_id
                if index is None:
                    raise ValueError(tokens.unknown_error)
        return index

    def _id_to_token(self, index: int) -> str:
        return self._id_to_token_in(self._tokens, index)

    def _id_to_token_in(self, tokens: TokenRegistry, index: int) -> str:
        added = tokens.added_tokens_decoder.get(index)
        if added is not None:
            return added.content
        token = self._vocab_id_to_token(index)
        if token is None:
            return tokens.special_tokens["unk_token"] or ""
        return token

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> Any:
        """Token(s) -> id(s); an unknown token gets the unknown token's id."""
        registry = self._tokens
        if isinstance(tokens, str):
            return self._token_id_in(registry, tokens)
        return [self._token_id_in(registry, token) for token in tokens]

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> Any:
        """Id(s) -> token(s); an id outside the vocabulary becomes the unknown token."""
        tokens = self._tokens
        ids = to_python(ids)
        if not isinstance(ids, (list, tuple)):
            return self._id_to_token_in(tokens, as_token_id(ids))
        skipped = (
            {self._token_id_in(tokens, t) for t in tokens.all_special_tokens}
            if skip_special_tokens
            else set()
        )
        return [self._id_to_token_in(tokens, i) for i in map(as_token_id, ids) if i not in skipped]

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join tokens with spaces and glue ``@@`` continuations: ``["ap@@", "te"]`` -> "apte"."""
        return " ".join(tokens).replace("@@ ", "").strip()

    # -- text -> tokens / ids ---------------------------------------------------------------

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:
        """Split text into tokens; added and special tokens are kept whole.

        >>> tok.tokenize("Hello there!")  # doctest: +SKIP
        ['hello', 'there', '!']
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if kwargs.pop("split_special_tokens", self.split_special_tokens):
            return self._tokenize_plain(text)
        tokens: list[str] = []
        for segment, is_added in self._split_added(text):
            if is_added:
                tokens.append(segment)
            else:
                tokens.extend(self._tokenize_plain(segment))
        return tokens

    def _encode_text(self, text: str, split_special_tokens: bool | None = None) -> list[int]:
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        tokens = self._tokens
        if split_special_tokens:
            return self._encode_plain(text, tokens)
        ids: list[int] = []
        for segment, is_added in tokens.split(text):
            if is_added:
                ids.append(self._token_id_in(tokens, segment))
            else:
                ids.extend(self._encode_plain(segment, tokens))
        return ids

    def _input_ids(self, value: Any, is_split_into_words: bool, split_special: bool) -> list[int]:
        if isinstance(value, str):
            return self._encode_text(value, split_special)
        if isinstance(value, (list, tuple)) and value:
            if isinstance(value[0], int):
                return list(value)
            if isinstance(value[0], str):
                if is_split_into_words:
                    return [i for word in value for i in self._encode_text(word, split_special)]
                tokens = self._tokens
                return [self._token_id_in(tokens, token) for token in value]
        raise ValueError(
            f"Input must be a string, list of strings, or list of ints, got: {type(value).__name__}"
        )

    def encode(
        self,
        text: Any,
        text_pair: Any = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Text -> ids (no special tokens are added by this tokenizer).

        >>> tok.encode("adapt act")  # doctest: +SKIP
        [1, 2]
        """
        encoded = self(
            text,
            text_pair=text_pair,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_attention_mask=False,
            **kwargs,
        )
        return encoded["input_ids"]

    # -- special-token layout (this model adds none) ---------------------------------------

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """BlenderBot-small adds no special tokens: ``a``, or ``a + b`` for a pair."""
        if token_ids_1 is None:
            return list(token_ids_0)
        return list(token_ids_0) + list(token_ids_1)

    def get_special_tokens_mask(
        self,
        token_ids_0: list[int],
        token_ids_1: list[int] | None = None,
        already_has_special_tokens: bool = False,
    ) -> list[int]:
        """1 for a special token, 0 otherwise; all zeros unless ``already_has_special_tokens``."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "You should not supply a second sequence if the provided sequence of ids is "
                    "already formatted with special tokens for the model."
                )
            special = set(self.all_special_ids)
            return [1 if int(i) in special else 0 for i in token_ids_0]
        return [0] * (len(token_ids_0) + (len(token_ids_1) if token_ids_1 else 0))

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Zeros for the first sequence, ones for the second."""
        if token_ids_1 is None:
            return [0] * len(token_ids_0)
        return [0] * len(token_ids_0) + [1] * len(token_ids_1)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many special tokens encoding adds (none, for this model)."""
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    # -- calling ----------------------------------------------------------------------------

    def _strategies(
        self,
        padding: object,
        truncation: object,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        verbose: bool,
    ) -> tuple[str, str, int | None]:
        _check_length("max_length", max_length)
        _check_length("pad_to_multiple_of", pad_to_multiple_of)
        if pad_to_multiple_of == 0:
            raise ValueError("pad_to_multiple_of=0 is not valid; use a positive integer or None")
        # As in transformers: max_length alone turns truncation on.
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"
        if (
            padding is True
            and verbose
            and max_length is not None
            and truncation
            in (
                None,
                False,
                "do_not_truncate",
            )
        ):
            warnings.warn(
                "`max_length` is ignored when `padding`=`True` and there is no truncation "
                "strategy. To pad to max length, use `padding='max_length'`.",
                stacklevel=3,
            )
        padding_strategy = _padding_strategy(padding)
        truncation_strategy = _truncation_strategy(truncation)
        if max_length is None:
            unbounded = self.model_max_length > LARGE_INTEGER
            if padding_strategy == "max_length":
                if unbounded:
                    padding_strategy = "do_not_pad"
                else:
                    max_length = self.model_max_length
            if truncation_strategy != "do_not_truncate":
                if unbounded:
                    truncation_strategy = "do_not_truncate"
                else:
                    max_length = self.model_max_length
        if padding_strategy != "do_not_pad" and self.pad_token is None:
            raise ValueError(
                "Asking to pad but the tokenizer does not have a padding token: set "
                "`tokenizer.pad_token` (e.g. to the eos token) or add one with "
                "`tokenizer.add_special_tokens({'pad_token': ...})`."
            )
        if (
            truncation_strategy != "do_not_truncate"
            and padding_strategy != "do_not_pad"
            and pad_to_multiple_of is not None
            and max_length is not None
            and max_length % pad_to_multiple_of != 0
        ):
            raise ValueError(
                f"Truncation and padding are both activated but truncation length ({max_length}) "
                f"is not a multiple of pad_to_multiple_of ({pad_to_multiple_of})."
            )
        return padding_strategy, truncation_strategy, max_length

    def __call__(
        self,
        text: Any = None,
        text_pair: Any = None,
        text_target: Any = None,
        text_pair_target: Any = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs: Any,
    ) -> BatchEncoding:
        """Encode a text, a batch of texts, or pairs, for the model.

        >>> tok(["hi there", "hello"], padding=True, return_tensors="np")  # doctest: +SKIP
        {'input_ids': array([[..]]), 'attention_mask': array([[..]])}
        """
        split_special = kwargs.pop("split_special_tokens", self.split_special_tokens)
        max_target_length = kwargs.pop("max_target_length", None)
        if kwargs:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if return_offsets_mapping and not self.is_fast:
            self._offsets_not_supported()
        if text is None and text_target is None:
            raise ValueError("You need to specify either `text` or `text_target`.")
        if padding_side is not None:
            _check_side("padding_side", padding_side)
        if stride < 0:
            raise ValueError(f"stride={stride!r} is not valid; use a non-negative integer")
        padding_strategy, truncation_strategy, max_length = self._strategies(
            padding, truncation, max_length, pad_to_multiple_of, verbose
        )
        options: dict[str, Any] = {
            "add_special_tokens": add_special_tokens,
            "padding_strategy": padding_strategy,
            "truncation_strategy": truncation_strategy,
            "stride": stride,
            "is_split_into_words": is_split_into_words,
            "pad_to_multiple_of": pad_to_multiple_of,
            "padding_side": padding_side,
            "return_tensors": return_tensors,
            "return_token_type_ids": return_token_type_ids,
            "return_attention_mask": return_attention_mask,
            "return_overflowing_tokens": return_overflowing_tokens,
            "return_special_tokens_mask": return_special_tokens_mask,
            "return_length": return_length,
            "return_offsets_mapping": return_offsets_mapping,
            "split_special": split_special,
        }
        encodings = None
        if text is not None:
            encodings = self._encode_any(text, text_pair, max_length=max_length, **options)
        if text_target is None:
            assert encodings is not None
            return encodings
        target_length = max_target_length if max_target_length is not None else max_length
        targets = self._encode_any(
            text_target, text_pair_target, max_length=target_length, **options
        )
        if encodings is None:
            return targets
        encodings["labels"] = targets["input_ids"]
        return encodings

    def _offsets_not_supported(self) -> None:
        raise NotImplementedError(
            "return_offsets_mapping is available with bbtok.BlenderbotSmallTokenizerFast; the "
            "pure-Python tokenizer, like transformers' slow tokenizers, does not track offsets."
        )

    @staticmethod
    def _is_batch(text: Any, is_split_into_words: bool) -> bool:
        if not isinstance(text, (list, tuple)):
            return False
        if not text:
            return not is_split_into_words
        if is_split_into_words:
            return isinstance(text[0], (list, tuple))
        return isinstance(text[0], (str, list, tuple))

    def _encode_any(self, text: Any, text_pair: Any, **options: Any) -> BatchEncoding:
        split_words = options["is_split_into_words"]
        if not self._is_batch(text, split_words):
            if text_pair is not None and self._is_batch(text_pair, split_words):
                raise ValueError(
                    "If `text_pair` is a batch, `text` must also be a batch of the same length."
                )
            return self._encode_single(text, text_pair, **options)
        if text_pair is not None and (
            not isinstance(text_pair, (list, tuple)) or len(text_pair) != len(text)
        ):
            raise ValueError(
                "If `text` is a batch, `text_pair` must also be a batch of the same length."
            )
        if not text:
            # As the reference: an empty batch has nothing to pad.
            raise ValueError(
                "You should supply an encoding or a list of encodings to this method that "
                f"includes {self.model_input_names[0]}, but you provided []"
            )
        if options["return_offsets_mapping"]:
            self._check_offsets_options(text_pair, split_words)
            encoded = [
                self._encode_with_offsets(self._text_only(item), options["split_special"])
                for item in text
            ]
            return self._batch_prepare(
                [ids for ids, _ in encoded],
                [None] * len(encoded),
                spans=[spans for _, spans in encoded],
                **options,
            )
        pairs = text_pair if text_pair is not None else [None] * len(text)
        firsts: list[list[int]] = []
        seconds: list[list[int] | None] = []
        for item, pair in zip(text, pairs, strict=True):
            if (
                isinstance(item, (list, tuple))
                and item
                and not isinstance(item[0], int)
                and pair is None
            ):
                if (
                    len(item) == 2
                    and (not split_words or isinstance(item, tuple))
                    and isinstance(item[0], (str, list, tuple))
                    and isinstance(item[1], (str, list, tuple))
                ):
                    item, pair = item
                elif len(item) == 1:
                    item = item[0]
                elif not split_words:
                    raise ValueError(f"Expected a pair of sequences, got {len(item)} sequences.")
            firsts.append(self._input_ids(item, split_words, options["split_special"]))
            seconds.append(
                None
                if pair is None
                else self._input_ids(pair, split_words, options["split_special"])
            )
        return self._batch_prepare(firsts, seconds, **options)

    def _check_offsets_options(self, text_pair: Any, split_words: bool) -> None:
        if text_pair is not None or split_words:
            raise NotImplementedError(
                "return_offsets_mapping works on texts (a str or a list of str), not on pairs or "
                "pre-split words"
            )

    @staticmethod
    def _text_only(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(
                f"return_offsets_mapping needs texts (str), got: {type(value).__name__}"
            )
        return value

    def _encode_with_offsets(self, text: str, split_special: bool) -> tuple[list[int], Spans]:
        """Ids, plus each token's (start, end) character offsets and word index."""
        self._offsets_not_supported()
        raise AssertionError("unreachable")

    def _encode_single(self, text: Any, text_pair: Any, **options: Any) -> BatchEncoding:
        split_words = options["is_split_into_words"]
        if options["return_offsets_mapping"]:
            self._check_offsets_options(text_pair, split_words)
            ids, spans = self._encode_with_offsets(self._text_only(text), options["split_special"])
            fields = self._prepare_fields(ids, None, spans=spans, **options)
            words = fields.pop(WORD_IDS_FIELD)
            return BatchEncoding(
                fields,
                tensor_type=options["return_tensors"],
                prepend_batch_axis=True,
                word_ids=[words],
            )
        first = self._input_ids(text, split_words, options["split_special"])
        second = (
            None
            if text_pair is None
            else self._input_ids(text_pair, split_words, options["split_special"])
        )
        fields = self._prepare_fields(first, second, **options)
        return BatchEncoding(fields, tensor_type=options["return_tensors"], prepend_batch_axis=True)

    def _batch_prepare(
        self,
        firsts: list[list[int]],
        seconds: list[list[int] | None],
        spans: list[Spans] | None = None,
        **options: Any,
    ) -> BatchEncoding:
        """Truncate each sequence, then pad the batch together (as transformers does)."""
        per_item = dict(
            options,
            padding_strategy="do_not_pad",
            pad_to_multiple_of=None,
            return_attention_mask=False,
        )
        batch: dict[str, list[Any]] = {}
        for i, (first, second) in enumerate(zip(firsts, seconds, strict=True)):
            item_spans = spans[i] if spans is not None else None
            fields = self._prepare_fields(first, second, spans=item_spans, **per_item)
            for key, value in fields.items():
                batch.setdefault(key, []).append(value)
        if options["return_tensors"] and options["return_overflowing_tokens"]:
            batch.pop("overflowing_tokens", None)
            batch.pop("num_truncated_tokens", None)
        padded = self._pad_batch(
            batch,
            padding_strategy=options["padding_strategy"],
            max_length=options["max_length"],
            pad_to_multiple_of=options["pad_to_multiple_of"],
            padding_side=options["padding_side"],
            return_attention_mask=options["return_attention_mask"],
        )
        words = padded.pop(WORD_IDS_FIELD, None)
        return BatchEncoding(padded, tensor_type=options["return_tensors"], word_ids=words)

    def _prepare_fields(
        self,
        ids: list[int],
        pair_ids: list[int] | None,
        *,
        add_special_tokens: bool,
        padding_strategy: str,
        truncation_strategy: str,
        max_length: int | None,
        stride: int,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_token_type_ids: bool | None,
        return_attention_mask: bool | None,
        return_overflowing_tokens: bool,
        return_special_tokens_mask: bool,
        return_length: bool,
        return_tensors: str | None = None,
        spans: Spans | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        """One sequence (or pair): truncate, add special tokens, build masks, pad.

        ``spans`` (offsets and word indices of a single sequence) are truncated and padded
        along with the ids."""
        if (
            return_overflowing_tokens
            and truncation_strategy == "longest_first"
            and pair_ids is not None
        ):
            raise ValueError(
                "Not possible to return overflowing tokens for pair of sequences with the "
                "`longest_first`. Please select another truncation strategy than "
                "`longest_first`, for instance `only_second` or `only_first`."
            )
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        num_special = (
            self.num_special_tokens_to_add(pair_ids is not None) if add_special_tokens else 0
        )
        total = len(ids) + len(pair_ids or []) + num_special
        overflowing: list[int] = []
        if truncation_strategy != "do_not_truncate" and max_length and total > max_length:
            removed = total - max_length
            if spans is not None:
                offsets, words = spans
                offsets = self.truncate_sequences(offsets, None, removed, truncation_strategy)[0]
                words = self.truncate_sequences(words, None, removed, truncation_strategy)[0]
                spans = (offsets, words)
            ids, pair_ids, overflowing = self.truncate_sequences(
                ids, pair_ids, removed, truncation_strategy, stride
            )
        if add_special_tokens:
            sequence = self.build_inputs_with_special_tokens(ids, pair_ids)
            type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids)
        else:
            sequence = ids + (pair_ids or [])
            type_ids = [0] * len(sequence)
        fields: dict[str, Any] = {"input_ids": sequence}
        if spans is not None:
            fields["offset_mapping"], fields[WORD_IDS_FIELD] = spans
        if return_token_type_ids:
            fields["token_type_ids"] = type_ids
        if return_special_tokens_mask:
            fields["special_tokens_mask"] = (
                self.get_special_tokens_mask(ids, pair_ids)
                if add_special_tokens
                else [0] * len(sequence)
            )
        if return_overflowing_tokens and not return_tensors and overflowing:
            fields["overflowing_tokens"] = overflowing
            fields["num_truncated_tokens"] = total - max_length if max_length else 0
        self._warn_if_too_long(sequence, max_length)
        if not sequence and (padding_strategy != "do_not_pad" or return_attention_mask):
            # As the reference (whose pad() returns early on an empty sequence): not padded.
            if return_attention_mask:
                fields["attention_mask"] = []
        elif padding_strategy != "do_not_pad" or return_attention_mask:
            fields = self._pad_one(
                fields,
                max_length=max_length,
                padding_strategy=padding_strategy,
                pad_to_multiple_of=pad_to_multiple_of,
                padding_side=padding_side,
                return_attention_mask=return_attention_mask,
            )
        if return_length:
            fields["length"] = len(fields["input_ids"])
        return fields

    def _warn_if_too_long(self, ids: list[int], max_length: int | None) -> None:
        if max_length is None and len(ids) > self.model_max_length and not self._warned_too_long:
            logger.warning(
                "Token indices sequence length is longer than the specified maximum sequence "
                "length for this model (%d > %d). Running this sequence through the model will "
                "result in indexing errors",
                len(ids),
                self.model_max_length,
            )
            self._warned_too_long = True

    def truncate_sequences(
        self,
        ids: list[Item],
        pair_ids: list[Item] | None = None,
        num_tokens_to_remove: int = 0,
        truncation_strategy: str = "longest_first",
        stride: int = 0,
    ) -> tuple[list[Item], list[Item] | None, list[Item]]:
        """Remove ``num_tokens_to_remove`` tokens; returns (ids, pair_ids, overflowing)."""
        if num_tokens_to_remove <= 0:
            return ids, pair_ids, []
        strategy = _truncation_strategy(truncation_strategy)
        from_left = self.truncation_side == "left"
        overflowing: list[Item] = []
        if strategy == "only_first" or (strategy == "longest_first" and pair_ids is None):
            window = min(len(ids), stride + num_tokens_to_remove)
            if from_left:
                overflowing = ids[:window]
                ids = ids[num_tokens_to_remove:]
            else:
                overflowing = ids[-window:]
                ids = ids[:-num_tokens_to_remove]
        elif strategy == "longest_first":
            assert pair_ids is not None
            warnings.warn(
                "Be aware, overflowing tokens are not returned for the setting you have chosen, "
                "i.e. sequence pairs with the 'longest_first' truncation strategy. So the "
                "returned list will always be empty even if some tokens have been removed.",
                stacklevel=2,
            )
            # Remove from the longer sequence until both are equal, then alternately.
            first_remove = min(abs(len(pair_ids) - len(ids)), num_tokens_to_remove)
            rest = num_tokens_to_remove - first_remove
            if len(ids) > len(pair_ids):
                ids_remove, pair_remove = first_remove + rest // 2, rest - rest // 2
            else:
                ids_remove, pair_remove = rest // 2, first_remove + rest - rest // 2
            if from_left:
                ids, pair_ids = ids[ids_remove:], pair_ids[pair_remove:]
            else:
                ids = ids[:-ids_remove] if ids_remove > 0 else ids
                pair_ids = pair_ids[:-pair_remove] if pair_ids and pair_remove > 0 else pair_ids
        elif strategy == "only_second" and pair_ids:
            window = min(len(pair_ids), stride + num_tokens_to_remove)
            if from_left:
                overflowing = pair_ids[:window]
                pair_ids = pair_ids[num_tokens_to_remove:]
            else:
                overflowing = pair_ids[-window:]
                pair_ids = pair_ids[:-num_tokens_to_remove]
        return ids, pair_ids, overflowing

    # -- padding ----------------------------------------------------------------------------

    def _pad_one(
        self,
        fields: dict[str, Any],
        *,
        max_length: int | None,
        padding_strategy: str,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_attention_mask: bool | None,
    ) -> dict[str, Any]:
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        main = self.model_input_names[0]
        sequence = fields[main]
        if padding_strategy == "longest":
            max_length = len(sequence)
        if max_length is not None and pad_to_multiple_of is not None:
            max_length = -(-max_length // pad_to_multiple_of) * pad_to_multiple_of
        if return_attention_mask and "attention_mask" not in fields:
            fields["attention_mask"] = [1] * len(sequence)
        if padding_strategy == "do_not_pad" or max_length is None or len(sequence) == max_length:
            return fields
        # Quirk kept from transformers: a sequence longer than max_length is left as it is.
        missing = max_length - len(sequence)
        if missing < 0:
            return fields
        side = padding_side if padding_side is not None else self.padding_side
        pad_id = self.pad_token_id
        if pad_id is None:
            raise ValueError("Asking to pad but the tokenizer does not have a padding token")
        padded: dict[str, tuple[list[Any], Any]] = {main: (sequence, pad_id)}
        if return_attention_mask:
            padded["attention_mask"] = (fields["attention_mask"], 0)
        if "token_type_ids" in fields:
            padded["token_type_ids"] = (fields["token_type_ids"], 0)
        if "special_tokens_mask" in fields:
            padded["special_tokens_mask"] = (fields["special_tokens_mask"], 1)
        if "offset_mapping" in fields:
            padded["offset_mapping"] = (fields["offset_mapping"], (0, 0))
        if WORD_IDS_FIELD in fields:
            padded[WORD_IDS_FIELD] = (fields[WORD_IDS_FIELD], None)
        for key, (values, filler) in padded.items():
            fill = [filler] * missing
            fields[key] = list(values) + fill if side == "right" else fill + list(values)
        return fields

    def _pad_batch(
        self,
        batch: dict[str, list[Any]],
        *,
        padding_strategy: str,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_attention_mask: bool | None,
    ) -> dict[str, list[Any]]:
        main = self.model_input_names[0]
        sequences = batch.get(main, [])
        if not sequences:
            if return_attention_mask:
                batch["attention_mask"] = []
            return batch
        sizes = {key: len(values) for key, values in batch.items()}
        if len(set(sizes.values())) > 1:
            # The reference fails here with an AssertionError (e.g. when only some texts of a
            # batch overflow with return_overflowing_tokens=True).
            raise ValueError(
                f"the fields of the batch have different sizes ({sizes}); with "
                "return_overflowing_tokens=True every text of a batch must overflow, or none"
            )
        if padding_strategy == "longest":
            max_length = max(len(s) for s in sequences)
            padding_strategy = "max_length"
        out: dict[str, list[Any]] = {}
        for i in range(len(sequences)):
            fields = self._pad_one(
                {key: values[i] for key, values in batch.items()},
                max_length=max_length,
                padding_strategy=padding_strategy,
                pad_to_multiple_of=pad_to_multiple_of,
                padding_side=padding_side,
                return_attention_mask=return_attention_mask,
            )
            for key, value in fields.items():
                out.setdefault(key, []).append(value)
        return out

    def pad(
        self,
        encoded_inputs: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad one encoding or a batch (a dict of lists, or a list of dicts, e.g. in a collator).

        >>> tok.pad([{"input_ids": [5]}, {"input_ids": [5, 6]}])  # doctest: +SKIP
        {'input_ids': [[5, 7], [5, 6]], 'attention_mask': [[1, 0], [1, 1]]}
        """
        if (
            isinstance(encoded_inputs, (list, tuple))
            and encoded_inputs
            and isinstance(encoded_inputs[0], Mapping)
        ):
            keys = list(encoded_inputs[0].keys())
            encoded_inputs = {key: [item[key] for item in encoded_inputs] for key in keys}
        if not isinstance(encoded_inputs, Mapping):
            raise ValueError(
                "pad() takes an encoding, a dict of lists, or a list of encodings/dicts; got "
                f"{type(encoded_inputs).__name__}"
            )
        main = self.model_input_names[0]
        if main not in encoded_inputs:
            raise ValueError(
                "You should supply an encoding or a list of encodings to this method that "
                f"includes {main}, but you provided {list(encoded_inputs.keys())}"
            )
        fields = dict(encoded_inputs)
        first = fields[main]
        if first is None or (hasattr(first, "__len__") and len(first) == 0):
            if return_attention_mask:
                fields["attention_mask"] = []
            return BatchEncoding(fields)
        if return_tensors is None:
            kind = _tensor_kind(first)
            if kind is not None:
                return_tensors = kind
        fields = {key: to_python(value) for key, value in fields.items()}
        padding_strategy, _, max_length = self._strategies(
            padding, None, max_length, pad_to_multiple_of=None, verbose=verbose
        )
        sequences = fields[main]
        if sequences and not isinstance(sequences[0], (list, tuple)):
            fields = self._pad_one(
                fields,
                max_length=max_length,
                padding_strategy=padding_strategy,
                pad_to_multiple_of=pad_to_multiple_of,
                padding_side=padding_side,
                return_attention_mask=return_attention_mask,
            )
            return BatchEncoding(fields, tensor_type=return_tensors)
        padded = self._pad_batch(
            fields,
            padding_strategy=padding_strategy,
            max_length=max_length,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_attention_mask=return_attention_mask,
        )
        return BatchEncoding(padded, tensor_type=return_tensors)

    # -- decoding ---------------------------------------------------------------------------

    def clean_up_tokenization(self, text: str) -> str:
        """transformers' standard clean-up: ``" ."`` -> ``"."``, ``" 've"`` -> ``"'ve"``, ..."""
        for before, after in _CLEAN_UP_REPLACEMENTS:
            text = text.replace(before, after)
        return text

    def _decode_one(
        self,
        token_ids: Any,
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: bool | None,
    ) -> str:
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        return self._cleaned(self.convert_tokens_to_string(tokens), clean_up_tokenization_spaces)

    def _cleaned(self, text: str, clean_up_tokenization_spaces: bool | None) -> str:
        """Decoded text after the optional clean-up (the tokenizer's default when None)."""
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        if clean_up_tokenization_spaces:
            text = self.clean_up_tokenization(text)
        return text

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Ids -> text; a batch (list of lists, 2-D array) gives a list of texts.

        >>> tok.decode(tok.encode("Hello, world!"))  # doctest: +SKIP
        'hello , world !'
        """
        token_ids = to_python(token_ids)
        if (
            isinstance(token_ids, (list, tuple))
            and token_ids
            and isinstance(token_ids[0], (list, tuple))
        ):
            return [
                self._decode_one(seq, skip_special_tokens, clean_up_tokenization_spaces)
                for seq in token_ids
            ]
        return self._decode_one(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """A list of id sequences -> a list of texts."""
        result = self.decode(
            sequences,
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
        )
        return [result] if isinstance(result, str) else result

    # -- files ------------------------------------------------------------------------------

    def _vocabulary_texts(self) -> tuple[str, str]:
        """The texts of ``vocab.json`` and ``merges.txt``, as the reference writes them."""
        return files.vocab_json(self._base_vocab()), files.merges_text(self._merge_ranks())

    def save_vocabulary(
        self, save_directory: str | os.PathLike[str], filename_prefix: str | None = None
    ) -> tuple[str, str]:
        """Write ``vocab.json`` and ``merges.txt`` byte-for-byte as the reference does, as one
        set (see :func:`bbtok.storage.files.write_file_set`)."""
        return files.save_vocab_texts(save_directory, *self._vocabulary_texts(), filename_prefix)

    def _config_for_saving(self, tokens: TokenRegistry) -> dict[str, Any]:
        config: dict[str, Any] = dict(self.init_kwargs)
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

        Writes ``tokenizer_config.json``, ``vocab.json``, ``merges.txt`` and, when tokens were
        added beyond the vocabulary, ``added_tokens.json``; returns the paths written. The files
        are written as one set (:func:`~bbtok.storage.files.write_file_set`): all are written and
        fsynced
        beside their targets before any is renamed, ``tokenizer_config.json`` last, so a full
        disk leaves the previous files as they were. Only a crash between two renames can leave
        some files new and the others old.
        """
        if push_to_hub:
            raise ValueError("push_to_hub is not supported: bbtok works with local directories")
        if legacy_format is False:
            raise ValueError("this tokenizer only saves the vocab.json/merges.txt format")
        save_directory = os.fspath(save_directory)
        if os.path.isfile(save_directory):
            raise NotADirectoryError(
                20, "Provided path should be a directory, not a file", save_directory
            )
        os.makedirs(save_directory, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        config_path = os.path.join(save_directory, prefix + files.TOKENIZER_CONFIG_FILE)
        # One registry for both files, so they agree however other threads add tokens.
        tokens = self._tokens
        # Every file is encoded before any is written: an unencodable token writes nothing.
        contents = files.vocab_file_contents(
            save_directory, *self._vocabulary_texts(), filename_prefix
        )
        beyond_vocab = {
            token.content: index
            for index, token in sorted(tokens.added_tokens_decoder.items())
            if index >= self.vocab_size
        }
        if beyond_vocab:
            added_path = os.path.join(save_directory, prefix + files.ADDED_TOKENS_FILE)
            contents.append((added_path, files.json_bytes(beyond_vocab, added_path)))
        # The file that says what the others are is renamed last.
        config = self._config_for_saving(tokens)
        contents.append((config_path, files.json_bytes(config, config_path)))
        vocab_path, merges_path, *added = files.write_file_set(contents)[:-1]
        return (config_path, vocab_path, merges_path, *added)

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
            pretrained_model_name_or_path, hub.TOKENIZER_FILES, **hub.pop_options(kwargs)
        )
        kwargs.pop("trust_remote_code", None)
        prefix_path = os.path.join
        config_path = prefix_path(directory, files.TOKENIZER_CONFIG_FILE)
        config: dict[str, Any] = {}
        # Whatever is at the path is read: a FIFO or a dangling link is an error, not "absent".
        if os.path.lexists(config_path):
            loaded = files.read_json(config_path)
            if not isinstance(loaded, dict):
                raise ValueError(f"{config_path}: expected a JSON object")
            config = loaded
        config.pop("tokenizer_class", None)
        if "added_tokens_decoder" not in config:
            config.update(cls._legacy_token_files(directory, config, kwargs))
        # The files of the directory are used unless the caller names others; paths written in
        # a configuration file are never followed.
        vocab_file = kwargs.pop("vocab_file", None) or prefix_path(directory, files.VOCAB_FILE)
        merges_file = kwargs.pop("merges_file", None) or prefix_path(directory, files.MERGES_FILE)
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
        special_map_path = os.path.join(directory, files.SPECIAL_TOKENS_MAP_FILE)
        if os.path.lexists(special_map_path):
            special_map = files.read_json(special_map_path)
            if not isinstance(special_map, dict):
                raise ValueError(f"{special_map_path}: expected a JSON object")
            for key, value in special_map.items():
                if kwargs.get(key):
                    continue
                if key == "extra_special_tokens" and isinstance(value, list):
                    value = [*(merged.get(key) or []), *value]
                merged[key] = found[key] = value
        added_path = os.path.join(directory, files.ADDED_TOKENS_FILE)
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
                files.check_token_id(token, index, added_path)
                is_special = token in specials
                decoder[index] = AddedToken(token, normalized=not is_special, special=is_special)
            found["added_tokens_decoder"] = decoder
        return found

    def __repr__(self) -> str:
        tokens = self._tokens
        added = "".join(
            f"\n\t{index}: {token!r},"
            for index, token in sorted(tokens.added_tokens_decoder.items())
        )
        if added:
            added += "\n"
        special = {name: text for name, text in tokens.special_tokens.items() if text is not None}
        return (
            f"{type(self).__name__}(name_or_path='{self.name_or_path}',"
            f" vocab_size={self.vocab_size}, model_max_length={self.model_max_length},"
            f" padding_side='{self.padding_side}', truncation_side='{self.truncation_side}',"
            f" special_tokens={special}, added_tokens_decoder={{{added}}})"
        )


def _tensor_kind(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if not isinstance(v, (list, tuple)) or len(v)), None)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
    module = type(value).__module__
    if module.startswith("torch"):
        return "pt"
    if module.startswith("numpy"):
        return "np"
    return None


def _special_property(name: str) -> property:
    def getter(self: TokenizerBase) -> str | None:
        return self._get_special(name)

    def setter(self: TokenizerBase, value: object) -> None:
        self._set_special(name, value)

    return property(getter, setter, doc=f"The {name.replace('_', ' ')} (a string), or None.")


def _special_id_property(name: str) -> property:
    def getter(self: TokenizerBase) -> int | None:
        return self._get_special_id(name)

    def setter(self: TokenizerBase, value: int | None) -> None:
        self._set_special_id(name, value)

    return property(getter, setter, doc=f"The id of the {name.replace('_', ' ')}, or None.")


for _name in SPECIAL_TOKEN_NAMES:
    setattr(TokenizerBase, _name, _special_property(_name))
    setattr(TokenizerBase, _name + "_id", _special_id_property(_name))
