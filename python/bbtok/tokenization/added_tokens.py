"""Special and added tokens: what a tokenizer has.

**The registry.** A tokenizer's named special tokens, extra special tokens and added tokens
live in one :class:`TokenRegistry`, which never changes once made. A change (``add_tokens``,
``add_special_tokens``, setting ``bos_token``, ...) builds a new registry beside the current
one and publishes it with a single assignment, under a lock that only changes take. So a reader
on another thread (encoding, ``len``, ``get_vocab``, saving) takes the registry once, without
locking, and sees one whole state: the one before a change or the one after, never half of one.

The registry cuts its tokens out of text (:meth:`TokenRegistry.split`) with the trie of
:mod:`bbtok.tokenization.added_token_trie`, then applies the tokens' strip rules.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, fields
from typing import Any

from bbtok.tokenization import vocabulary_files
from bbtok.tokenization.added_token_trie import AddedTokenTrie

SPECIAL_TOKEN_NAMES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)

# The vocabulary's id of a token as written, or None (the vocabulary itself never changes).
VocabId = Callable[[str], "int | None"]


@dataclass(init=False)
class AddedToken:
    """A token added to the vocabulary, cut out of text before the algorithm runs.

    Mirrors ``tokenizers.AddedToken`` (which is accepted wherever this is), its defaults
    included: unless ``normalized`` is given, a token is normalized when it is not special.
    """

    content: str
    single_word: bool
    lstrip: bool
    rstrip: bool
    normalized: bool
    special: bool

    def __init__(
        self,
        content: str,
        single_word: bool = False,
        lstrip: bool = False,
        rstrip: bool = False,
        normalized: bool | None = None,
        special: bool = False,
    ) -> None:
        self.content = content
        self.single_word = single_word
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.special = special
        self.normalized = not special if normalized is None else normalized
        # Not a field: whether ``normalized`` was chosen, or follows ``special`` (see
        # :meth:`made_special`).
        self.normalized_given = normalized is not None

    def __str__(self) -> str:
        return self.content

    def to_dict(self) -> dict[str, Any]:
        """The form transformers stores in ``tokenizer_config.json``."""
        return asdict(self)

    def made_special(self, normalized_follows: bool) -> AddedToken:
        """A copy marked special. ``normalized_follows``: as ``tokenizers`` makes a token
        special (transformers' tokenizers-backed classes), a ``normalized`` that was not given
        turns False with it; else it stays (transformers' Python classes)."""
        token = copy.copy(self)
        token.special = True
        if normalized_follows and not getattr(self, "normalized_given", True):
            token.normalized = False
        return token


def as_added_token(
    value: object, *, special: bool | None = None, normalized_follows: bool = False
) -> AddedToken:
    """Accept a ``str``, our ``AddedToken``, ``tokenizers.AddedToken`` or their dict form.
    ``special``: make it special (see :meth:`AddedToken.made_special` for
    ``normalized_follows``).

    The result is always a new object: a registry owns its tokens, nobody else changes them.
    """
    if isinstance(value, AddedToken):
        token = copy.copy(value)
    elif isinstance(value, str):
        is_special = bool(special)
        token = AddedToken(value, normalized=not is_special, special=is_special)
        return token
    elif isinstance(value, Mapping):
        fields = {k: v for k, v in value.items() if k != "__type"}
        if not isinstance(fields.get("content"), str):
            raise TypeError(f"an added token needs a string 'content', got {value!r}")
        unknown = sorted(map(str, fields.keys() - _ADDED_TOKEN_FIELDS))
        if unknown:
            raise TypeError(f"an added token has no field {', '.join(unknown)}: {value!r}")
        flags = {name: flag for name, flag in fields.items() if name != "content"}
        if not all(isinstance(flag, bool) for flag in flags.values()):
            raise TypeError(f"an added token's flags must be true or false, got {value!r}")
        token = AddedToken(**fields)
    elif isinstance(getattr(value, "content", None), str):
        token = AddedToken(
            content=value.content,  # type: ignore[attr-defined]
            single_word=bool(getattr(value, "single_word", False)),
            lstrip=bool(getattr(value, "lstrip", False)),
            rstrip=bool(getattr(value, "rstrip", False)),
            normalized=bool(getattr(value, "normalized", True)),
            special=bool(getattr(value, "special", False)),
        )
        token.normalized_given = _normalized_given(value)
    else:
        raise TypeError(f"Token {value!r} is not a string but a {type(value).__name__}.")
    if special and not token.special:
        token = token.made_special(normalized_follows)
    return token


def _normalized_given(value: Any) -> bool:
    """Whether a ``tokenizers.AddedToken`` was given ``normalized`` (the library does not say):
    if not, its ``normalized`` changes with ``special``. Told by flipping ``special`` and
    setting it back (a copy would fix ``normalized``)."""
    special = getattr(value, "special", None)
    if not isinstance(special, bool):
        return True
    before = value.normalized
    try:
        value.special = not special
        after = value.normalized
    except (AttributeError, TypeError):
        return True
    finally:
        value.special = special
    return bool(before == after)


_ADDED_TOKEN_FIELDS = frozenset(AddedToken.__dataclass_fields__)


def added_tokens_decoder_from(value: object) -> dict[int, AddedToken]:
    """``added_tokens_decoder`` as a constructor or ``tokenizer_config.json`` gives it (id, or
    its decimal string, -> token in any form :func:`as_added_token` takes; None for none) as
    id -> token; ``TypeError`` or ``ValueError`` saying which entry is wrong.

    >>> added_tokens_decoder_from({"5": {"content": "<x>", "special": True}})[5].special
    True
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"added_tokens_decoder must map ids to tokens, got a {type(value).__name__}"
        )
    decoder: dict[int, AddedToken] = {}
    for key, token in value.items():
        is_id = isinstance(key, int) and not isinstance(key, bool)
        if not (is_id or (isinstance(key, str) and key.isascii() and key.isdigit())):
            raise ValueError(f"added_tokens_decoder key {key!r} is not a token id")
        try:
            added = as_added_token(token)
        except TypeError as error:
            raise TypeError(f"added_tokens_decoder[{key!r}]: {error}") from None
        index = int(key)
        vocabulary_files.check_token_id(added.content, index, "added_tokens_decoder")
        decoder[index] = added
    return decoder


def extra_special_token_texts(value: object) -> list[str]:
    """The texts of ``extra_special_tokens`` (a list of tokens in any form
    :func:`as_added_token` takes, or None); ``TypeError`` for anything else.

    >>> extra_special_token_texts(["<a>", {"content": "<b>"}])
    ['<a>', '<b>']
    """
    if value is not None and not isinstance(value, (list, tuple)):
        raise TypeError("extra_special_tokens must be a list of tokens")
    return [text for text in (token_text(t) for t in value or []) if text is not None]


def token_text(value: object) -> str | None:
    """The string of a special-token setting (str, AddedToken or its dict form)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return as_added_token(value).content


# eq=False: a registry is one published state, told apart from the next by identity.
@dataclass(frozen=True, slots=True, eq=False)
class TokenRegistry:
    """The special and added tokens of a tokenizer, in one state that never changes.

    Make the first with :meth:`create`; every change is a method that returns a new registry
    and leaves this one as it is (other threads may be reading it). The mappings are never
    changed after the registry is made; the parts that only grow (the trie, the count of tokens
    beyond the vocabulary) are extended from the previous registry rather than made again, so
    adding tokens one at a time stays cheap.

    >>> tokens = TokenRegistry.create({"unk_token": "<unk>"}, [], {}, {}.get)
    >>> tokens, added = tokens.with_added_tokens(["<unk>", "<3"], False, {}.get, vocab_size=10)
    >>> added, dict(tokens.added_tokens_encoder), tokens.unknown_id
    (2, {'<unk>': 10, '<3': 11}, 10)
    """

    # Named special token -> its text (None when not set), for every SPECIAL_TOKEN_NAMES.
    special_tokens: Mapping[str, str | None]
    extra_special_tokens: tuple[str, ...]
    added_tokens_decoder: Mapping[int, AddedToken]
    # Kept apart from the decoder: the reference lets the two disagree (two tokens on one id).
    added_tokens_encoder: Mapping[str, int]
    # Added tokens that are not in the vocabulary: len(tokenizer) - vocab_size.
    beyond_vocab: int
    # Named special tokens in attribute order, then the extra ones, without repeats.
    all_special_tokens: tuple[str, ...]
    # The id an unknown token maps to; None, with the reason in unknown_error, when there is none.
    unknown_id: int | None
    unknown_error: str
    trie: AddedTokenTrie | None
    # Whether some added token has lstrip, rstrip or single_word set.
    strip_rules: bool
    # A whole segment equal to one of these is one token.
    unit_tokens: frozenset[str]

    def __getstate__(self) -> list[object]:
        # The unit tokens sorted: a set pickles in the order of its strings' hashes, which
        # change from process to process, and a tokenizer's pickle must not (datasets names the
        # cache files of a map after it, to find them again in the next run).
        return [
            tuple(sorted(self.unit_tokens))
            if field.name == "unit_tokens"
            else getattr(self, field.name)
            for field in fields(self)
        ]

    def __setstate__(self, state: list[object]) -> None:
        for field, value in zip(fields(self), state):
            if field.name == "unit_tokens" and isinstance(value, tuple):
                # Anything else is left for checked_registry, which makes the set anew.
                value = frozenset(token for token in value if isinstance(token, str))
            object.__setattr__(self, field.name, value)

    @classmethod
    def create(
        cls,
        special_tokens: Mapping[str, str | None],
        extra_special_tokens: Sequence[str],
        added_tokens_decoder: Mapping[int, AddedToken],
        vocab_id: VocabId,
    ) -> TokenRegistry:
        """A registry of these tokens; ``vocab_id`` looks tokens up in the vocabulary."""
        named = {name: special_tokens.get(name) for name in SPECIAL_TOKEN_NAMES}
        encoder = {token.content: index for index, token in added_tokens_decoder.items()}
        return _registry(
            named, tuple(extra_special_tokens), dict(added_tokens_decoder), encoder, vocab_id
        )

    def with_special_token(self, name: str, text: str | None, vocab_id: VocabId) -> TokenRegistry:
        """This registry with the named special token ``name`` set to ``text`` (not added:
        as in transformers, setting a special token does not add it to the vocabulary)."""
        special = dict(self.special_tokens)
        special[name] = text
        return self._replaced(vocab_id, special_tokens=special)

    def with_extra_special_tokens(self, texts: Sequence[str], vocab_id: VocabId) -> TokenRegistry:
        """This registry with ``extra_special_tokens`` replaced (not added)."""
        return self._replaced(vocab_id, extra_special_tokens=tuple(texts))

    def with_added_tokens(
        self,
        new_tokens: Sequence[str | AddedToken],
        special_tokens: bool,
        vocab_id: VocabId,
        vocab_size: int,
        as_tokenizers_library: bool = False,
    ) -> tuple[TokenRegistry, int]:
        """This registry with ``new_tokens`` added, and how many of them got a new id.

        As transformers' Python tokenizers add them: a ``str`` is special when
        ``special_tokens`` is set or it is a special token already, and one that is an added
        token already is left as it is; an ``AddedToken`` joins as it says (``special_tokens``
        makes it special), over an added token of its text; a special one that is not a
        special token yet joins ``extra_special_tokens``.

        ``as_tokenizers_library``: as the ``tokenizers`` library adds them (transformers'
        tokenizers-backed classes): a ``str`` is a token of its own, special only with
        ``special_tokens``; a token equal to the added token of its text (flags included) is
        left out, any other joins over it; making a token special turns a ``normalized`` it
        was not given False (:meth:`AddedToken.made_special`); ``extra_special_tokens`` stays
        as it is; and the count is of the tokens that joined, new ids or not.

        The registry keeps the ``AddedToken`` objects it is given: pass ones nobody else holds
        (from :func:`as_added_token`).
        """
        decoder = dict(self.added_tokens_decoder)
        encoder = dict(self.added_tokens_encoder)
        extra = list(self.extra_special_tokens)
        specials = set(self.all_special_tokens)
        joined: list[AddedToken] = []
        added = 0
        # Quirk: new ids start at the number of distinct tokens, so a vocabulary with holes
        # in its ids can hand out an id that is already taken, exactly as the reference does.
        next_id = vocab_size + self.beyond_vocab
        for value in new_tokens:
            if isinstance(value, str):
                if value == "" or (value in encoder and not as_tokenizers_library):
                    continue
                is_special = special_tokens or (value in specials and not as_tokenizers_library)
                token = AddedToken(value, normalized=not is_special, special=is_special)
            else:
                token = value
                if special_tokens and not token.special:
                    token = token.made_special(as_tokenizers_library)
                if token.content == "":
                    continue
            # An added token of that text wins over the vocabulary, as in get_vocab().
            existing = encoder.get(token.content)
            if existing is not None and as_tokenizers_library and decoder.get(existing) == token:
                continue
            if existing is None:
                existing = vocab_id(token.content)
            if existing is not None:
                index = existing
            else:
                index = next_id + added
                added += 1
            if token.special and token.content not in specials and not as_tokenizers_library:
                extra.append(token.content)
                specials.add(token.content)
            decoder[index] = token
            encoder[token.content] = index
            joined.append(token)
        changed = self._replaced(
            vocab_id,
            extra_special_tokens=tuple(extra),
            added_tokens_decoder=decoder,
            added_tokens_encoder=encoder,
            joined=joined,
        )
        return changed, len(joined) if as_tokenizers_library else added

    def with_special_tokens(
        self,
        assignments: Sequence[tuple[str, list[AddedToken]]],
        replace_extra_special_tokens: bool,
        vocab_id: VocabId,
        vocab_size: int,
        as_tokenizers_library: bool = False,
    ) -> tuple[TokenRegistry, int]:
        """``add_special_tokens``: each (name, [token]) sets a named special token, each
        ("extra_special_tokens", tokens) replaces or extends the extra ones, in order; then all
        of them are added as special tokens. Returns the registry and the count
        :meth:`with_added_tokens` gives."""
        special = dict(self.special_tokens)
        extra = list(self.extra_special_tokens)
        to_add: list[str | AddedToken] = []
        for key, tokens in assignments:
            if key == "extra_special_tokens":
                if not replace_extra_special_tokens:
                    tokens = [t for t in tokens if t.content not in extra]
                if replace_extra_special_tokens and tokens:
                    extra = [t.content for t in tokens]
                else:
                    extra.extend(t.content for t in tokens)
                to_add.extend(tokens)
            else:
                special[key] = tokens[0].content
                to_add.append(tokens[0])
        named = self._replaced(vocab_id, special_tokens=special, extra_special_tokens=tuple(extra))
        return named.with_added_tokens(to_add, True, vocab_id, vocab_size, as_tokenizers_library)

    def _replaced(
        self,
        vocab_id: VocabId,
        *,
        special_tokens: Mapping[str, str | None] | None = None,
        extra_special_tokens: tuple[str, ...] | None = None,
        added_tokens_decoder: Mapping[int, AddedToken] | None = None,
        added_tokens_encoder: Mapping[str, int] | None = None,
        joined: Sequence[AddedToken] = (),
    ) -> TokenRegistry:
        return _registry(
            self.special_tokens if special_tokens is None else special_tokens,
            self.extra_special_tokens if extra_special_tokens is None else extra_special_tokens,
            self.added_tokens_decoder if added_tokens_decoder is None else added_tokens_decoder,
            self.added_tokens_encoder if added_tokens_encoder is None else added_tokens_encoder,
            vocab_id,
            previous=self,
            joined=joined,
        )

    def split(self, text: str) -> list[tuple[str, bool]]:
        """Cut added tokens out of ``text``: (segment, is_added) pairs, empty ones dropped."""
        if self.trie is None:
            return [(text, False)] if text else []
        parts = self.trie.split(text)
        if self.strip_rules:
            parts = self._apply_strip_rules(parts)
        units = self.unit_tokens
        return [(part, part in units) for part in parts if part]

    def _apply_strip_rules(self, parts: list[str]) -> list[str]:
        # The reference's lstrip/rstrip/single_word handling, step for step: it edits the
        # neighbouring segments in place, and a single_word token glued to a word becomes
        # ordinary text of that word.
        encoder = self.added_tokens_encoder
        for i, part in enumerate(parts):
            if part not in encoder:
                continue
            token = self.added_tokens_decoder[encoder[part]]
            left = parts[i - 1] if i > 0 else None
            right = parts[i + 1] if i < len(parts) - 1 else None
            if token.rstrip and right:
                parts[i + 1] = right.lstrip()
            if token.lstrip and left:
                parts[i - 1] = left.rstrip()
            if token.single_word:
                if left and left[-1] != " ":
                    parts[i - 1] += part
                    parts[i] = ""
                elif right and right[0] != " ":
                    parts[i + 1] = part + parts[i + 1]
                    parts[i] = ""
        return parts


def checked_registry(tokens: object, vocab_id: VocabId, source: str) -> TokenRegistry:
    """A registry made again from the tokens of ``tokens`` (one unpickled, say), each checked
    as loading checks them: what follows from them (the trie, the unknown id, the count beyond
    the vocabulary) is worked out anew rather than taken on trust. A ValueError starting with
    ``source`` names what is wrong."""
    if not isinstance(tokens, TokenRegistry):
        raise ValueError(f"{source}: its tokens are a {type(tokens).__name__}, not a TokenRegistry")
    special = tokens.special_tokens
    if (
        not isinstance(special, Mapping)
        or set(special) != set(SPECIAL_TOKEN_NAMES)
        or not all(text is None or isinstance(text, str) for text in special.values())
    ):
        raise ValueError(
            f"{source}: its special tokens must be {list(SPECIAL_TOKEN_NAMES)}, each a str or None"
        )
    extra = tokens.extra_special_tokens
    if not isinstance(extra, tuple) or not all(isinstance(text, str) for text in extra):
        raise ValueError(f"{source}: its extra special tokens must be a tuple of str")
    decoder, encoder = tokens.added_tokens_decoder, tokens.added_tokens_encoder
    if not isinstance(decoder, Mapping) or not isinstance(encoder, Mapping):
        raise ValueError(f"{source}: its added tokens must be mappings")
    for index, token in decoder.items():
        if (
            not isinstance(token, AddedToken)
            or not isinstance(token.content, str)
            or not all(isinstance(flag, bool) for flag in astuple(token)[1:])
        ):
            raise ValueError(
                f"{source}: added token {token!r} is not an AddedToken of a str and flags"
            )
        vocabulary_files.check_token_id(token.content, index, source)
    for content, index in encoder.items():
        if not isinstance(content, str):
            raise ValueError(f"{source}: added token {content!r} is not a string")
        vocabulary_files.check_token_id(content, index, source)
    return _registry(dict(special), extra, dict(decoder), dict(encoder), vocab_id)


def _registry(
    special_tokens: Mapping[str, str | None],
    extra_special_tokens: tuple[str, ...],
    decoder: Mapping[int, AddedToken],
    encoder: Mapping[str, int],
    vocab_id: VocabId,
    previous: TokenRegistry | None = None,
    joined: Sequence[AddedToken] = (),
) -> TokenRegistry:
    """A registry of these tokens, with everything that follows from them worked out.

    With ``previous``, the decoder and encoder are ``previous``'s plus the ``joined`` tokens
    (written over the decoder's entries of their ids). Tokens only ever join, so what depends
    on them alone is extended from ``previous`` instead of being made again: the trie, the
    count beyond the vocabulary, whether any token has strip rules (unless ``previous`` had
    some: a joined token may have replaced the only one).
    """
    if previous is None:
        new_contents = list(encoder)
        beyond_vocab = 0
        trie = None
        strip_rules = any(map(_has_strip_rules, decoder.values()))
    else:
        known = previous.added_tokens_encoder
        new_contents = [t for t in dict.fromkeys(t.content for t in joined) if t not in known]
        beyond_vocab = previous.beyond_vocab
        trie = previous.trie
        if not joined or not previous.strip_rules:
            strip_rules = previous.strip_rules or any(map(_has_strip_rules, joined))
        else:
            strip_rules = any(map(_has_strip_rules, decoder.values()))
    beyond_vocab += sum(1 for content in new_contents if vocab_id(content) is None)
    if new_contents:
        trie = AddedTokenTrie(new_contents) if trie is None else trie.with_tokens(new_contents)
    named = [text for text in special_tokens.values() if text is not None]
    all_special = tuple(dict.fromkeys([*named, *extra_special_tokens]))
    unknown_id, unknown_error = _unknown(special_tokens.get("unk_token"), encoder, vocab_id)
    return TokenRegistry(
        special_tokens=special_tokens,
        extra_special_tokens=extra_special_tokens,
        added_tokens_decoder=decoder,
        added_tokens_encoder=encoder,
        beyond_vocab=beyond_vocab,
        all_special_tokens=all_special,
        unknown_id=unknown_id,
        unknown_error=unknown_error,
        trie=trie,
        strip_rules=strip_rules,
        unit_tokens=frozenset(encoder).union(all_special),
    )


def _has_strip_rules(token: AddedToken) -> bool:
    return token.lstrip or token.rstrip or token.single_word


def _unknown(
    unknown_token: str | None, encoder: Mapping[str, int], vocab_id: VocabId
) -> tuple[int | None, str]:
    """The id unknown tokens map to, or None and why there is none."""
    if unknown_token is None:
        return None, "this tokenizer has no unk_token to map unknown tokens to"
    index = vocab_id(unknown_token)
    if index is None:
        # The reference returns None here and fails later; the unknown token always has an
        # added id (appended after the vocabulary), so we use that.
        index = encoder.get(unknown_token)
    if index is None:
        return None, f"the unknown token {unknown_token!r} has no id"
    return index, ""
