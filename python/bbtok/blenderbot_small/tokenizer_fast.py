"""``BlenderbotSmallTokenizerFast``: the same tokenizer, with its algorithm in Rust.

Everything users call comes from :mod:`bbtok.tokenization`, shared with the pure-Python
tokenizer; the Rust core (``bbtok._native``) encodes and decodes, batches run on all cores
with the GIL released, and ``return_offsets_mapping=True`` gives each token's character span.

The core reads ``vocab.json`` and ``merges.txt`` itself and raises (or warns) with the
pure-Python readers' messages; only JSON whose errors Python's ``json`` module alone words
(a syntax error, ``NaN``, an object as an id) is read again by
:mod:`bbtok.tokenization.vocabulary_files`. A Python whose Unicode version differs from the
core's tables hands the core its own ``str.lower()`` tables
(:mod:`bbtok.blenderbot_small.unicode_tables`).
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import unicodedata
import warnings
from collections.abc import Iterator
from typing import Any

from bbtok.blenderbot_small.family import BlenderbotSmallFamily
from bbtok.blenderbot_small.unicode_tables import case_tables, code_ranges
from bbtok.native import _native
from bbtok.storage import files
from bbtok.tokenization import vocabulary_files
from bbtok.tokenization.added_tokens import TokenRegistry
from bbtok.tokenization.arrow_ids import as_pyarrow, checked_max_length
from bbtok.tokenization.base import TOO_LONG_WARNING, Spans, TokenizerBase
from bbtok.tokenization.batch_encoding import BatchEncoding, as_token_id
from bbtok.tokenization.options import LARGE_INTEGER, CallOptions
from bbtok.tokenization.padding import padded_arrays, truncate_flat
from bbtok.tokenization.special_tokens import UNPICKLED, unpickled_attribute, unpickled_state
from bbtok.tokenization.threads import checked_thread_count, thread_count

# Batches smaller than this are not worth waking the thread pool for.
PARALLEL_FROM = 64
# The fields the core fills, in the model's order (the default model_input_names): as a list, as
# the constructor stores model_input_names, and as a tuple, as a caller may assign it. Comparing
# with both is cheaper than making a tuple of it on every short call.
CORE_INPUT_NAMES = ["input_ids", "attention_mask"]
CORE_INPUT_NAMES_FORMS = (CORE_INPUT_NAMES, tuple(CORE_INPUT_NAMES))


# The most words ``cache_words`` takes (4,194,304: 4 times the default).
MAX_CACHE_WORDS: int = _native.MAX_CACHE_WORDS


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while building many lists: lists of ints hold no
    cycles, and a big batch would otherwise trigger collection after collection (a third of
    the time of a large batch call)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _load_core(vocab_file: str | os.PathLike[str], merges_file: str | os.PathLike[str]) -> Any:
    # files.open_regular checks the files as the pure-Python readers do (a FIFO would block the
    # core, /dev/zero fill memory), and the core reads the very files it opened. The core
    # raises and warns with the pure-Python readers' messages, naming the files as given.
    with (
        files.open_regular(vocab_file, files.MAX_VOCAB_BYTES) as vocab_handle,
        files.open_regular(merges_file, files.MAX_VOCAB_BYTES) as merges_handle,
    ):
        try:
            core = _native.NativeTokenizer.from_files(
                files.descriptor_path(vocab_handle, vocab_file),
                files.descriptor_path(merges_handle, merges_file),
                os.fspath(vocab_file),
                os.fspath(merges_file),
            )
        except _native.JsonForPythonError:
            # JSON whose errors only Python's json module words: a syntax error (worded anew
            # by some Python versions), NaN, a lone surrogate escape, an object as an id. It
            # raises them; what it accepts after all (an object id that a repeated token
            # replaced) is read by the pure-Python readers.
            vocab = vocabulary_files.read_vocab(vocab_file)
            ranks = vocabulary_files.read_merges(merges_file)
            core = _native.NativeTokenizer.from_parts(
                vocab, [(list(merge), rank) for merge, rank in ranks.items()]
            )
    if unicodedata.unidata_version != _native.UNICODE_VERSION:
        _use_running_pythons_lowercase(core)
    return core


def _use_running_pythons_lowercase(core: Any) -> None:
    tables = case_tables()
    core.set_lowercase_tables(
        tables.unicode_version,
        [(code, [ord(c) for c in lowered]) for code, lowered in tables.lowercase.items()],
        code_ranges(tables.cased),
        code_ranges(tables.case_ignorable),
    )


class BlenderbotSmallTokenizerFast(BlenderbotSmallFamily, TokenizerBase):
    """The BlenderBot-small tokenizer in Rust: identical output to
    :class:`bbtok.BlenderbotSmallTokenizer` (and so to transformers), much faster.

    >>> tok = BlenderbotSmallTokenizerFast.from_pretrained("path/to/tokenizer")  # doctest: +SKIP
    >>> tok(["Hello there!", "How are you?"], padding=True)["input_ids"]  # doctest: +SKIP
    """

    def _load_vocabulary(
        self, vocab_file: str | os.PathLike[str], merges_file: str | os.PathLike[str]
    ) -> None:
        self._core = _load_core(vocab_file, merges_file)

    @property
    def is_fast(self) -> bool:
        """True: this tokenizer runs in Rust."""
        return True

    # -- keeping the core in step with the shared layer -------------------------------------

    def _tokens_changing(self, previous: TokenRegistry | None, tokens: TokenRegistry) -> None:
        # The core is changed before the Python registry is published: a token that a reader
        # finds in the registry (get_vocab, len) is then already one the core encodes and
        # decodes. Only what changed is sent: each change empties the core's word cache. The
        # first registry is compared with what the core holds: a core just read holds the
        # family's special tokens and unknown token already, so only tokens a caller chose
        # (another unk_token, added tokens) are sent.
        units = _core_units(tokens)
        if previous is None:
            sent_added = _compared(_core_added(tokens, units)) != _compared(
                self._core.added_tokens()
            )
            sent_unknown = _core_unknown(tokens)[:2] != self._core.unknown() or (
                tokens.unknown_id is None
            )
        else:
            sent_added = (
                tokens.added_tokens_encoder is not previous.added_tokens_encoder
                or tokens.added_tokens_decoder is not previous.added_tokens_decoder
                or units != _core_units(previous)
            )
            sent_unknown = _core_unknown(tokens) != _core_unknown(previous)
        if sent_added:
            self._core.set_added_tokens(*_core_added(tokens, units))
        if sent_unknown:
            self._core.set_unknown(*_core_unknown(tokens))

    # -- the algorithm, in Rust ------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Size of ``vocab.json`` (without added tokens)."""
        size: int = self._core.vocab_size
        return size

    @property
    def cache_words(self) -> int:
        """The bound of the word cache: at most this many words are remembered, by all threads
        together (in at most 72 bytes a word: about 33 typically); 0 turns the cache off, and
        the most is :data:`MAX_CACHE_WORDS` (4,194,304 words, 4 times the default of 1,048,576:
        at most about 300 MB). Memory is taken as words are cached, not up front. Words
        longer than 255 bytes are not kept. Setting it empties the cache.

        >>> tok.cache_words = 100_000  # doctest: +SKIP
        """
        words: int = self._core.cache_capacity
        return words

    @cache_words.setter
    def cache_words(self, words: int) -> None:
        if not isinstance(words, int) or isinstance(words, bool):
            raise ValueError(
                f"cache_words must be an int >= 0 and at most {MAX_CACHE_WORDS}, got {words!r}"
            )
        # Under the tokens' lock: the core's changes copy its state and swap the copy in, so
        # two unserialized changes (this and an add_tokens) could each drop the other's.
        with self._tokens_lock:
            self._core.set_cache_capacity(words)  # ValueError out of range

    def _tokenize_plain(self, text: str) -> list[str]:
        tokens: list[str] = self._core.tokenize_plain(text)
        return tokens

    def _encode_plain(self, text: str, tokens: TokenRegistry) -> list[int]:
        # The core keeps its own copy of the added tokens (see _tokens_changing).
        ids: list[int] = self._core.encode_plain(text)
        return ids

    def _encode_text(self, text: str, split_special_tokens: bool | None = None) -> list[int]:
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        if split_special_tokens:
            ids: list[int] = self._core.encode_plain(text)
            return ids
        if self._tokens.strip_rules:
            # lstrip/rstrip/single_word tokens: the shared layer cuts, the core encodes.
            return super()._encode_text(text, split_special_tokens)
        ids = self._core.encode(text)
        return ids

    def _encode_with_offsets(self, text: str, split_special: bool) -> tuple[list[int], Spans]:
        if self._tokens.strip_rules and not split_special:
            raise NotImplementedError(
                "return_offsets_mapping is not available with added tokens that have lstrip, "
                "rstrip or single_word set"
            )
        ids, offsets, words = self._core.encode_with_offsets(text, not split_special)
        return ids, (offsets, words)

    def _vocab_token_to_id(self, token: str) -> int | None:
        index: int | None = self._core.vocab_id(token)
        return index

    def _vocab_id_to_token(self, index: int) -> str | None:
        if not 0 <= index <= vocabulary_files.MAX_TOKEN_ID:
            return None
        token: str | None = self._core.vocab_token(index)
        return token

    def _base_vocab(self) -> dict[str, int]:
        vocab: dict[str, int] = self._core.get_vocab()
        return vocab

    def _merge_ranks(self) -> dict[tuple[str, ...], int]:
        return {tuple(merge): rank for merge, rank in self._core.merge_ranks()}

    # -- calls the core answers whole ---------------------------------------------------------

    def _core_encodes_calls(self, split_special_tokens: bool) -> bool:
        """Whether the core alone encodes a call's texts: it cuts out the added tokens itself
        unless one has lstrip/rstrip/single_word rules (the shared layer applies those), and
        it fills :data:`CORE_INPUT_NAMES` only."""
        return (
            not split_special_tokens
            and not self._tokens.strip_rules
            and self.model_input_names in CORE_INPUT_NAMES_FORMS
        )

    def __call__(self, text: Any = None, text_pair: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Encode a text, a batch of texts, or pairs, for the model (see the shared API)."""
        if (
            type(text) is str
            and text_pair is None
            and not args
            and not kwargs
            and self._core_encodes_calls(self.split_special_tokens)
        ):
            # tok("a text"): the call people make most, before any option is parsed (the
            # family adds no special token, so the core's ids are the answer).
            ids: list[int] = self._core.encode(text)
            if len(ids) <= self.model_max_length:
                return BatchEncoding.of_lists({"input_ids": ids, "attention_mask": [1] * len(ids)})
        return super().__call__(text, text_pair, *args, **kwargs)

    def _encodes_plain_batches(self, options: CallOptions) -> bool:
        return self._core_encodes_calls(options.split_special)

    def _encode_plain_batch(self, texts: list[str], options: CallOptions) -> BatchEncoding:
        threads = thread_count() if len(texts) >= PARALLEL_FROM else 1
        arrays = self._padded_arrays(texts, threads, options)
        if arrays is not None:
            return BatchEncoding(arrays)
        with _gc_paused():
            if options.asks_only_ids:
                # The common call, tok(texts): ids and an all-ones attention mask, both made by
                # the core.
                with_mask = options.returns_attention_mask(self.model_input_names)
                ids, masks = self._core.encode_batch_lists(texts, threads, with_mask)
                self._warn_if_any_too_long(map(len, ids))
                fields: dict[str, Any] = {"input_ids": ids}
                if masks is not None:
                    fields["attention_mask"] = masks
                return BatchEncoding.of_lists(fields)
            # Truncated or padded lists: the shared layer truncates and pads the core's ids.
            firsts: list[list[int]] = self._core.encode_batch(texts, threads)
            return self._batch_prepare(firsts, [None] * len(firsts), options)

    def _padded_arrays(
        self, texts: list[str], threads: int, options: CallOptions
    ) -> dict[str, Any] | None:
        """A numpy batch (ids truncated and padded, the attention mask) straight from the
        core's flat buffer, with no Python list per row; None when the options ask for more
        than that or the rows would not form one rectangular array."""
        if not (
            options.return_tensors == "np"
            and options.truncation_strategy in ("do_not_truncate", "longest_first", "only_first")
            and options.asks_no_extra_fields
        ):
            return None
        flat, counts = self._core.encode_batch_flat(texts, threads)
        if options.max_length is None:
            self._warn_if_any_too_long(counts)
        return padded_arrays(
            flat,
            counts,
            max_length=options.max_length,
            truncate=options.truncation_strategy != "do_not_truncate",
            from_left=self.truncation_side == "left",
            padding_strategy=options.padding_strategy,
            pad_to_multiple_of=options.pad_to_multiple_of,
            padding_side=options.padding_side or self.padding_side,
            pad_id=self.pad_token_id or 0,
            attention_mask=options.return_attention_mask is not False,
        )

    def encode_batch_flat(
        self, texts: list[str], threads: int | None = None, max_length: int | None = None
    ) -> tuple[bytes, list[int]]:
        """See :meth:`TokenizerBase.encode_batch_flat`; here the core's flat buffer itself, on
        ``threads`` threads (default: :func:`thread_count` for a large batch, else one)."""
        if not texts or self._tokens.strip_rules or self.split_special_tokens:
            # Added tokens with lstrip/rstrip rules, or split_special_tokens: the shared path.
            return super().encode_batch_flat(texts, threads, max_length)
        if threads is None:
            threads = thread_count() if len(texts) >= PARALLEL_FROM else 1
        ids, counts = self._core.encode_batch_flat(texts, threads)
        if max_length is None:
            return ids, counts
        # No special tokens are added: truncating the ids is truncating the text's.
        return truncate_flat(ids, counts, max_length, from_left=self.truncation_side == "left")

    def encode_arrow(
        self, texts: Any, max_length: int | None = None, threads: int | None = None
    ) -> Any:
        """See :meth:`TokenizerBase.encode_arrow`; here the core reads the texts from the
        Arrow buffers and its ids become the array's buffers (no Python object per row), on
        ``threads`` threads (default: :func:`thread_count`)."""
        checked_max_length(max_length)
        if self._tokens.strip_rules or self.split_special_tokens:
            return super().encode_arrow(texts, max_length, threads)
        threads = thread_count() if threads is None else checked_thread_count(threads)
        ids = self._core.encode_arrow(texts, threads, max_length, self.truncation_side == "left")
        return as_pyarrow(ids)

    def _warn_if_any_too_long(self, lengths: Any) -> None:
        if self.model_max_length <= LARGE_INTEGER and not self.deprecation_warnings.get(
            TOO_LONG_WARNING
        ):
            longest = max(lengths, default=0)
            if longest > self.model_max_length:
                self._warn_if_too_long([0] * longest, None)

    def _decode_text(self, token_ids: Any, skip_special_tokens: bool) -> str:
        single = not isinstance(token_ids, (list, tuple))
        ids = [as_token_id(token_ids)] if single else [as_token_id(i) for i in token_ids]
        if not all(-(2**63) <= i < 2**63 for i in ids):
            return super()._decode_text(token_ids, skip_special_tokens)
        # As the reference: a single id is decoded even when it is a special token.
        skipped = self.all_special_ids if skip_special_tokens and not single else []
        text: str = self._core.decode(ids, skipped)
        return text

    # -- files and pickling -----------------------------------------------------------------

    def _vocabulary_texts(self) -> tuple[str, str]:
        texts: tuple[str, str] = (self._core.vocab_json(), self._core.merges_text())
        return texts

    def __getstate__(self) -> dict[str, Any]:
        # The vocabulary and merges as the two files' bytes (a few objects, not one per token:
        # pickling and datasets' fingerprinting then take milliseconds), read back by the
        # loader of the files, with its checks.
        state = super().__getstate__()
        core = state.pop("_core")
        state["_core_files"] = (
            core.vocab_json().encode("utf-8"),
            core.merges_text().encode("utf-8"),
            core.cache_capacity,
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = unpickled_state(state)
        parts = unpickled_attribute(state, "_core_files", tuple)
        if len(parts) != 3 or not all(isinstance(part, bytes) for part in parts[:2]):
            raise ValueError(
                f"{UNPICKLED}: _core_files is not (vocab.json bytes, merges.txt bytes, cache_words)"
            )
        vocab_bytes, merges_bytes, cache_words = state.pop("_core_files")
        self._core = _core_from_bytes(vocab_bytes, merges_bytes, UNPICKLED)
        super().__setstate__(state)  # checks the vocabulary (the core's) and the added tokens
        try:
            self._core.set_cache_capacity(cache_words)
        except ValueError as error:
            raise ValueError(f"{UNPICKLED}: {error}") from None
        if unicodedata.unidata_version != _native.UNICODE_VERSION:
            _use_running_pythons_lowercase(self._core)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._tokens_changing(None, self._tokens)


def _core_from_bytes(vocab_bytes: bytes, merges_bytes: bytes, source: str) -> Any:
    """A core read from the bytes of ``vocab.json`` and ``merges.txt`` (named ``source``'s in
    errors) as :func:`_load_core` reads the files; what the files warned of was said when they
    were loaded."""
    vocab_name, merges_name = (
        f"{source}: {name}" for name in BlenderbotSmallFamily.vocabulary_file_names
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vocab_text = files.decode_text(vocab_bytes, vocab_name)
        merges_text = files.decode_text(merges_bytes, merges_name)
        try:
            return _native.NativeTokenizer.from_texts(
                vocab_text, merges_text, vocab_name, merges_name
            )
        except _native.JsonForPythonError:
            vocab = vocabulary_files.parse_vocab(vocab_bytes, vocab_name)
            ranks = vocabulary_files.parse_merges(merges_bytes, merges_name)
            return _native.NativeTokenizer.from_parts(
                vocab, [(list(merge), rank) for merge, rank in ranks.items()]
            )


_content = operator.attrgetter("content")


def _core_units(tokens: TokenRegistry) -> list[str]:
    """Special tokens that are not added tokens: the core takes a whole segment equal to one
    as one token."""
    return [t for t in tokens.all_special_tokens if t not in tokens.added_tokens_encoder]


AddedForCore = tuple[list[tuple[str, int]], list[tuple[int, str]], list[str]]


def _core_added(tokens: TokenRegistry, units: list[str]) -> AddedForCore:
    """The added tokens (token, id), (id, token) and the unit tokens, as the core's
    ``set_added_tokens`` takes them and its ``added_tokens`` gives them back."""
    decoder = tokens.added_tokens_decoder
    return (
        list(tokens.added_tokens_encoder.items()),
        list(zip(decoder, map(_content, decoder.values()))),
        units,
    )


def _compared(added: AddedForCore) -> tuple[dict[str, int], dict[int, str], set[str]]:
    """Added tokens as compared: in no particular order."""
    encoder, decoder, units = added
    return dict(encoder), dict(decoder), set(units)


def _core_unknown(tokens: TokenRegistry) -> tuple[str | None, int | None, str]:
    """What the core's set_unknown takes: the unknown token, its id, why it has none."""
    return tokens.special_tokens["unk_token"], tokens.unknown_id, tokens.unknown_error
