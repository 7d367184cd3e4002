"""The pure-Python BlenderBot-small tokenizer: word splitting and BPE.

Everything that is not this algorithm lives in :mod:`bbtok.tokenization` (calling
conventions, padding, special tokens, files), shared with the Rust-backed tokenizer, and in
:mod:`bbtok.blenderbot_small.family` (the family's special tokens and rules).

The pipeline, as the reference runs it (quirks included, see ``docs`` in README):

1. Added and special tokens are cut out of the text first (done in :mod:`bbtok.tokenization`).
2. Words are the matches of ``\\S+\\n?`` with the ``regex`` package's white space (Unicode
   White_Space: ``\\xa0`` and ``\\u3000`` are white space, ``\\x1c``-``\\x1f`` are not).
3. Inside a word, each of ``. , ! ? ( )`` starts a new piece and ``'`` is a piece of its own.
   The word's trailing ``\\n`` becomes a ``__newln__`` piece, unless the word ends in ``'\\n``:
   the reference pads ``'`` with spaces and then folds ``" \\n"`` into one space, so that
   newline is lost.
4. Each piece is lowercased with ``str.lower()`` (so ``İ`` becomes two code points and a final
   ``Σ`` becomes ``ς``, decided inside the piece), then split by BPE.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import regex

from bbtok.blenderbot_small.family import CONTINUATION, NEWLINE_MARKER, BlenderbotSmallFamily
from bbtok.tokenization import vocabulary_files
from bbtok.tokenization.added_tokens import TokenRegistry
from bbtok.tokenization.base import TokenizerBase
from bbtok.tokenization.special_tokens import UNPICKLED, unpickled_attribute, unpickled_state

# \S with the regex package: Unicode White_Space, not str.isspace (they differ on \x1c-\x1f).
WORD_PATTERN = regex.compile(r"\S+\n?")
# The pieces of a word: a punctuation mark with what follows it, a lone apostrophe, or a run of
# ordinary characters.
PIECE_PATTERN = regex.compile(r"'|[.,!?()][^.,!?()']*|[^.,!?()']+")
END_OF_WORD = "</w>"

# Word-cache bound: memory stays flat on a stream of unique words.
WORD_CACHE_LIMIT = 100_000


def split_words(text: str) -> list[str]:
    """Split text (with no added tokens in it) into the reference's words.

    >>> split_words("Hi there!\\nBye")
    ['Hi', 'there!\\n', 'Bye']
    """
    words: list[str] = WORD_PATTERN.findall(text)
    return words


def word_pieces(word: str) -> list[str]:
    """Split one word into lowercased pieces, the units BPE works on.

    >>> word_pieces("Don't.\\n")
    ['don', "'", 't', '.', '__newln__']
    >>> word_pieces("can'\\n")
    ['can', "'"]
    """
    newline = word.endswith("\n")
    body = word[:-1] if newline else word
    pieces = [piece.lower() for piece in PIECE_PATTERN.findall(body)]
    # Quirk: "'\n" loses its newline (see the module docstring).
    if newline and not body.endswith("'"):
        pieces.append(NEWLINE_MARKER)
    return pieces


def pretokenize(text: str) -> list[str]:
    """All pieces of a text with no added tokens in it, in order.

    >>> pretokenize("Hello, World")
    ['hello', ',', 'world']
    """
    return [piece for word in split_words(text) for piece in word_pieces(word)]


def bpe(piece: str, merge_ranks: Mapping[tuple[str, ...], int]) -> list[str]:
    """Split one lowercased piece into BPE tokens (``@@`` marks a token that continues).

    Symbols start as code points, the last one suffixed ``</w>``. The adjacent pair with the
    lowest rank is merged wherever it occurs (left to right, without overlap) until no adjacent
    pair has a rank. A piece of one code point is returned as it is, without consulting the
    merges (as the reference does).

    >>> bpe("apte", {("a", "p"): 0, ("t", "e</w>"): 1})
    ['ap@@', 'te']
    """
    if len(piece) < 2:
        return [piece]
    symbols = list(piece)
    symbols[-1] += END_OF_WORD
    while len(symbols) > 1:
        best_rank = None
        best_pair: tuple[str, str] = ("", "")
        for pair in pairwise(symbols):
            rank = merge_ranks.get(pair)
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank, best_pair = rank, pair
        if best_rank is None:
            break
        first, second = best_pair
        merged: list[str] = []
        i = 0
        last = len(symbols) - 1
        while i <= last:
            if i < last and symbols[i] == first and symbols[i + 1] == second:
                merged.append(first + second)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    tokens = [symbol + CONTINUATION for symbol in symbols[:-1]]
    tokens.append(symbols[-1][: -len(END_OF_WORD)])
    return tokens


class BlenderbotSmallTokenizer(BlenderbotSmallFamily, TokenizerBase):
    """transformers' ``BlenderbotSmallTokenizer``, reimplemented in pure Python.

    Same tokens, ids, decoded text and saved files as the reference, through the same API.

    >>> tok = BlenderbotSmallTokenizer.from_pretrained("fixtures/tiny")  # doctest: +SKIP
    >>> tok.tokenize("adapt act apte")  # doctest: +SKIP
    ['adapt', 'act', 'ap@@', 'te']
    """

    def _load_vocabulary(
        self, vocab_file: str | os.PathLike[str], merges_file: str | os.PathLike[str]
    ) -> None:
        self.encoder: dict[str, int] = vocabulary_files.read_vocab(vocab_file)
        self.decoder: dict[int, str] = {index: token for token, index in self.encoder.items()}
        self.bpe_ranks: dict[tuple[str, ...], int] = vocabulary_files.read_merges(merges_file)
        self._word_tokens: dict[str, tuple[str, ...]] = {}
        # Word -> ids, and the token registry they were looked up in: token -> id consults the
        # added tokens first, so ids cached under one registry may be wrong under the next.
        self._word_ids: tuple[TokenRegistry | None, dict[str, tuple[int, ...]]] = (None, {})

    # -- the algorithm ----------------------------------------------------------------------

    def _word_to_tokens(self, word: str) -> tuple[str, ...]:
        tokens = self._word_tokens.get(word)
        if tokens is None:
            if len(self._word_tokens) >= WORD_CACHE_LIMIT:
                self._word_tokens.clear()
            tokens = tuple(
                token for piece in word_pieces(word) for token in bpe(piece, self.bpe_ranks)
            )
            self._word_tokens[word] = tokens
        return tokens

    def _tokenize_plain(self, text: str) -> list[str]:
        tokens: list[str] = []
        for word in WORD_PATTERN.findall(text):
            tokens.extend(self._word_to_tokens(word))
        return tokens

    def _encode_plain(self, text: str, tokens: TokenRegistry) -> list[int]:
        ids: list[int] = []
        registry, cache = self._word_ids
        if registry is not tokens:
            # Another thread may still fill the cache of an older registry: it keeps its own.
            cache = {}
            self._word_ids = (tokens, cache)
        for word in WORD_PATTERN.findall(text):
            word_ids = cache.get(word)
            if word_ids is None:
                if len(cache) >= WORD_CACHE_LIMIT:
                    cache.clear()
                word_ids = tuple(
                    self._token_id_in(tokens, token) for token in self._word_to_tokens(word)
                )
                cache[word] = word_ids
            ids.extend(word_ids)
        return ids

    def _offsets_not_supported(self) -> None:
        raise NotImplementedError(
            "return_offsets_mapping is available with bbtok.BlenderbotSmallTokenizerFast; the "
            "pure-Python tokenizer, like transformers' slow tokenizers, does not track offsets."
        )

    # -- the vocabulary ---------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Size of ``vocab.json`` (without added tokens)."""
        return len(self.encoder)

    def _vocab_token_to_id(self, token: str) -> int | None:
        return self.encoder.get(token)

    def _vocab_id_to_token(self, index: int) -> str | None:
        return self.decoder.get(index)

    def _base_vocab(self) -> dict[str, int]:
        return self.encoder

    def _merge_ranks(self) -> dict[tuple[str, ...], int]:
        return self.bpe_ranks

    # -- pickling ---------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # The vocabulary and merges as the bytes of two files (a few objects, not one per
        # token: pickling and datasets' fingerprinting then take milliseconds), read back by
        # the files' readers, with their checks. The vocabulary keeps its order.
        state = super().__getstate__()
        encoder = state.pop("encoder")
        ranks = state.pop("bpe_ranks")
        state["_vocabulary_files"] = (
            json.dumps(encoder, ensure_ascii=False).encode("utf-8"),
            vocabulary_files.merges_text(ranks).encode("utf-8"),
        )
        # Made again from the vocabulary (the decoder) or empty (the caches) when unpickled.
        for derived in ("decoder", "_word_tokens", "_word_ids"):
            del state[derived]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = unpickled_state(state)
        parts = unpickled_attribute(state, "_vocabulary_files", tuple)
        if len(parts) != 2 or not all(isinstance(part, bytes) for part in parts):
            raise ValueError(
                f"{UNPICKLED}: _vocabulary_files is not (vocab.json bytes, merges.txt bytes)"
            )
        vocab_name, merges_name = (f"{UNPICKLED}: {name}" for name in self.vocabulary_file_names)
        vocab_bytes, merges_bytes = state.pop("_vocabulary_files")
        # What the files warned of was said when they were loaded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state["encoder"] = vocabulary_files.parse_vocab(vocab_bytes, vocab_name)
            state["bpe_ranks"] = vocabulary_files.parse_merges(merges_bytes, merges_name)
        super().__setstate__(state)  # checks the vocabulary, the settings and the tokens
        self.decoder = {index: token for token, index in self.encoder.items()}
        self._word_tokens = {}
        self._word_ids = (None, {})
