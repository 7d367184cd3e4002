"""The special and added tokens of a tokenizer, as users see them: ``bos_token``,
``special_tokens_map``, ``add_tokens``, ``add_special_tokens``, ``get_vocab``, and the
token <-> id look-ups that consult the added tokens before the vocabulary.

One instance may be shared between threads, also while tokens are added: the special and added
tokens are one :class:`~bbtok.tokenization.added_tokens.TokenRegistry` in ``_tokens``, replaced
whole by each change (see :mod:`bbtok.tokenization.added_tokens`). A method that reads it more
than once takes it once and passes it on, so that the whole call sees one state.
"""

from __future__ import annotations

import copy
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from bbtok.tokenization import vocabulary_files
from bbtok.tokenization.added_tokens import (
    SPECIAL_TOKEN_NAMES,
    AddedToken,
    TokenRegistry,
    added_tokens_decoder_from,
    as_added_token,
    checked_registry,
    extra_special_token_texts,
    token_text,
)
from bbtok.tokenization.batch_encoding import as_token_id, to_python
from bbtok.tokenization.hooks import TokenizerHooks

Result = TypeVar("Result")
# Where the errors of an unpickled tokenizer say its vocabulary came from.
UNPICKLED = "unpickled tokenizer"


def unpickled_state(state: object) -> dict[str, Any]:
    """A copy of the state ``pickle`` gives ``__setstate__``, which must be a dict."""
    if not isinstance(state, dict):
        raise ValueError(f"{UNPICKLED}: its state is a {type(state).__name__}, not a dict")
    return dict(state)


def unpickled_attribute(state: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``state[name]``, which must be a ``kind``; else a ValueError (a pickle may have been
    made by hand, or by another version)."""
    if name not in state:
        raise ValueError(f"{UNPICKLED}: its state has no {name!r}")
    value = state[name]
    if not isinstance(value, kind):
        raise ValueError(f"{UNPICKLED}: {name} is a {type(value).__name__}")
    return value


# Every tokenizer of this process, so that a forked child can give each a lock of its own: a
# fork taken while another thread was changing a tokenizer would leave its lock held forever in
# the child (fork copies the lock, not the thread that would release it).
_TOKENIZERS: weakref.WeakSet[SpecialTokensMixin] = weakref.WeakSet()


def _new_locks_after_fork() -> None:
    for tokenizer in list(_TOKENIZERS):
        tokenizer._tokens_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_locks_after_fork)


class SpecialTokensMixin(TokenizerHooks):
    """The special and added tokens of :class:`~bbtok.tokenization.base.TokenizerBase`, their
    registry, its lock, and pickling (which leaves the lock out)."""

    # Whether transformers 5.23.0 runs this class's reference on the tokenizers library: then
    # special tokens given to the constructor as AddedToken join with their flags, and making a
    # token special turns a normalized it was not given False (see AddedToken.made_special).
    tokens_as_tokenizers_library: ClassVar[bool] = False

    def _pop_special_token_settings(
        self, kwargs: dict[str, Any]
    ) -> tuple[dict[str, str | None], list[str], list[str | AddedToken]]:
        """Take the named and extra special tokens out of the constructor's ``kwargs``: their
        texts, and (when they join with their flags) each as given, named ones first."""
        given = {name: kwargs.pop(name) for name in SPECIAL_TOKEN_NAMES if name in kwargs}
        special_tokens = {name: token_text(value) for name, value in given.items()}
        extra = kwargs.pop("extra_special_tokens", None)
        legacy_extra = kwargs.pop("additional_special_tokens", None)
        if extra is None:
            extra = legacy_extra
        texts = extra_special_token_texts(extra)
        as_given: list[str | AddedToken] = []
        if self.tokens_as_tokenizers_library:
            values = [given[name] for name in SPECIAL_TOKEN_NAMES if name in given]
            as_given = [
                value if isinstance(value, str) else as_added_token(value)
                for value in [*values, *(extra or [])]
                if value is not None
            ]
        return special_tokens, texts, as_given

    @staticmethod
    def _pop_added_tokens_decoder(kwargs: dict[str, Any]) -> dict[int, AddedToken]:
        """Take ``added_tokens_decoder`` (id -> token) out of the constructor's ``kwargs``."""
        return added_tokens_decoder_from(kwargs.pop("added_tokens_decoder", None))

    def _init_tokens(
        self,
        special_tokens: dict[str, str | None],
        extra_special_tokens: list[str],
        added_tokens_decoder: dict[int, AddedToken],
        special_tokens_as_given: Sequence[str | AddedToken] = (),
    ) -> None:
        """Make the first registry (and the lock that changes to it take). Special tokens
        that are not added tokens yet join: as ``special_tokens_as_given`` says (see
        :func:`_joining_as_given`) when there are any, else as special ``str`` tokens."""
        # Held by changes to the registry only, never by readers (see
        # bbtok.tokenization.added_tokens).
        self._tokens_lock = threading.Lock()
        _TOKENIZERS.add(self)
        if self.tokens_as_tokenizers_library:
            # As transformers' tokenizers-backed constructor: an added token whose text is a
            # named special token is special, whatever its entry says.
            named = {text for text in special_tokens.values() if text is not None}
            added_tokens_decoder = {
                index: token.made_special(normalized_follows=True)
                if token.content in named and not token.special
                else token
                for index, token in added_tokens_decoder.items()
            }
        tokens = TokenRegistry.create(
            special_tokens, extra_special_tokens, added_tokens_decoder, self._vocab_token_to_id
        )
        # Special tokens missing from the vocabulary are appended after it, in attribute order.
        if special_tokens_as_given:
            joining: list[str | AddedToken] = _joining_as_given(
                special_tokens_as_given, tokens.added_tokens_encoder, special_tokens
            )
        else:
            joining = [t for t in tokens.all_special_tokens if t not in tokens.added_tokens_encoder]
        tokens, _ = tokens.with_added_tokens(
            joining,
            not special_tokens_as_given,
            self._vocab_token_to_id,
            self.vocab_size,
            self.tokens_as_tokenizers_library,
        )
        self._tokens_changing(None, tokens)
        self._tokens = tokens

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
        self.__dict__.update(unpickled_state(state))
        self._tokens_lock = threading.Lock()
        _TOKENIZERS.add(self)
        self._check_unpickled()

    def _check_unpickled(self) -> None:
        """Check what ``from_pretrained`` checks, with its messages: a pickle (made by another
        version, or of a tokenizer changed by hand) could otherwise give a tokenizer that saves
        files it cannot load again. The token registry is made again from its tokens."""
        vocabulary_files.check_vocab(self._base_vocab(), UNPICKLED)
        self._tokens = checked_registry(
            self.__dict__.get("_tokens"), self._vocab_token_to_id, UNPICKLED
        )

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

    @extra_special_tokens_ids.setter
    def extra_special_tokens_ids(self, value: Sequence[int]) -> None:
        indices = [as_token_id(to_python(index)) for index in value]

        def set_by_ids(tokens: TokenRegistry) -> tuple[TokenRegistry, None]:
            # The tokens of the ids in the same state that is changed.
            texts = [self._id_to_token_in(tokens, index) for index in indices]
            return tokens.with_extra_special_tokens(texts, self._vocab_token_to_id), None

        self._change_tokens(set_by_ids)

    @property
    def pad_token_type_id(self) -> int:
        """The token type id of padding (0, as for every tokenizer of transformers)."""
        return 0

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
            else as_added_token(
                value,
                special=special_tokens or None,
                normalized_follows=self.tokens_as_tokenizers_library,
            )
            for value in new_tokens
        ]
        return self._change_tokens(
            lambda tokens: tokens.with_added_tokens(
                converted,
                special_tokens,
                self._vocab_token_to_id,
                self.vocab_size,
                self.tokens_as_tokenizers_library,
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
        follows = self.tokens_as_tokenizers_library
        for key, value in special_tokens_dict.items():
            if key == "extra_special_tokens":
                if not isinstance(value, (list, tuple)):
                    raise ValueError(f"Tokens {value!r} for key {key} should be a list")
                tokens = [
                    as_added_token(t, special=True, normalized_follows=follows) for t in value
                ]
                assignments.append((key, tokens))
            elif key in SPECIAL_TOKEN_NAMES:
                assignments.append(
                    (key, [as_added_token(value, special=True, normalized_follows=follows)])
                )
            else:
                raise ValueError(
                    f"Key {key} is not a valid special token. Valid keys are: "
                    f"{[*SPECIAL_TOKEN_NAMES, 'extra_special_tokens']}"
                )
        return self._change_tokens(
            lambda tokens: tokens.with_special_tokens(
                assignments,
                replace_extra_special_tokens,
                self._vocab_token_to_id,
                self.vocab_size,
                follows,
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
            index = self._vocab_token_to_id(self._vocab_key(token))
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

    # -- the special tokens of an encoded sequence (where the family puts them) --------------

    def get_special_tokens_mask(
        self,
        token_ids_0: list[int],
        token_ids_1: list[int] | None = None,
        already_has_special_tokens: bool = False,
    ) -> list[int]:
        """1 for a special token, 0 otherwise: of ids that hold them already with
        ``already_has_special_tokens``, else of the ids :meth:`build_inputs_with_special_tokens`
        would give."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "You should not supply a second sequence if the provided sequence of ids is "
                    "already formatted with special tokens for the model."
                )
            special = set(self.all_special_ids)
            return [1 if int(i) in special else 0 for i in token_ids_0]
        return self._added_special_tokens_mask(token_ids_0, token_ids_1)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many special tokens encoding adds to a sequence (or a pair)."""
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))


def _joining_as_given(
    given: Sequence[str | AddedToken],
    added: Mapping[str, int],
    named: Mapping[str, str | None],
) -> list[str | AddedToken]:
    """The special tokens that join a new tokenizer as transformers 5.23.0's tokenizers-backed
    classes add them: each given value (named tokens in attribute order, then extra ones) that
    is not an added token yet, repeats of an equal value left out, a ``str`` as a special token,
    a named one made special; of tokens with one text, the last wins (as the ``tokenizers``
    library adds them), so ``eos_token=AddedToken("</s>", lstrip=True)`` loses its flags to the
    default ``sep_token="</s>"``."""
    chosen: list[str | AddedToken] = []
    for value in given:
        # Equality as the reference's list test: a str equals a str, a token an equal token.
        if str(value) not in added and not any(
            type(value) is type(other) and value == other for other in chosen
        ):
            chosen.append(value)
    named_texts = {text for text in named.values() if text is not None}
    last: dict[str, AddedToken] = {}
    for value in chosen:
        if isinstance(value, str):
            token = AddedToken(value, special=True)
        elif not value.special and value.content in named_texts:
            token = value.made_special(normalized_follows=True)
        else:
            token = value
        last.pop(token.content, None)
        last[token.content] = token
    # In the order the texts first joined (the ids they get), each with the last token's flags.
    first_order = list(dict.fromkeys(str(value) for value in chosen))
    return [last[text] for text in first_order]


def _special_property(name: str) -> property:
    def getter(self: SpecialTokensMixin) -> str | None:
        return self._get_special(name)

    def setter(self: SpecialTokensMixin, value: object) -> None:
        self._set_special(name, value)

    return property(getter, setter, doc=f"The {name.replace('_', ' ')} (a string), or None.")


def _special_id_property(name: str) -> property:
    def getter(self: SpecialTokensMixin) -> int | None:
        return self._get_special_id(name)

    def setter(self: SpecialTokensMixin, value: int | None) -> None:
        self._set_special_id(name, value)

    return property(getter, setter, doc=f"The id of the {name.replace('_', ' ')}, or None.")


for _name in SPECIAL_TOKEN_NAMES:
    setattr(SpecialTokensMixin, _name, _special_property(_name))
    setattr(SpecialTokensMixin, _name + "_id", _special_id_property(_name))
