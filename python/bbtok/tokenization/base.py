"""The Hugging Face-style surface shared by every tokenizer: one class, made of parts.

:class:`TokenizerBase` dispatches the calls (``tok(texts, ...)``, ``encode``, ``tokenize``,
batches, pairs, offsets) and puts an encoded sequence together; the rest is in a part each:
special and added tokens (:mod:`~bbtok.tokenization.special_tokens`), padding and truncation
(:mod:`~bbtok.tokenization.padding`), decoding (:mod:`~bbtok.tokenization.decoding`),
pretrained directories (:mod:`~bbtok.tokenization.pretrained`) and chat templates
(:mod:`~bbtok.tokenization.chat_template`). A tokenizer family supplies
the hooks of :class:`~bbtok.tokenization.hooks.TokenizerHooks`; its algorithm, how a text with
no added tokens in it becomes tokens or ids.

Where transformers' behaviour is odd we do the same and say so in a comment: its quirks are
our specification.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from bbtok.tokenization.added_tokens import (
    AddedToken as AddedToken,  # re-exported: bbtok imports it from here
)
from bbtok.tokenization.added_tokens import TokenRegistry
from bbtok.tokenization.arrow_ids import arrow_texts, checked_max_length, ids_array
from bbtok.tokenization.batch_encoding import BatchEncoding
from bbtok.tokenization.chat_template import ChatTemplateMixin
from bbtok.tokenization.decoding import DecodingMixin
from bbtok.tokenization.options import (
    MAX_LENGTH_ARGUMENT,
    VERY_LARGE_INTEGER,
    CallOptions,
    check_length,
    check_side,
    checked_input_names,
    resolve_strategies,
)
from bbtok.tokenization.padding import PaddingMixin, flat_rows, truncate_sequences
from bbtok.tokenization.pretrained import TRANSIENT_CONFIG_KEYS, PretrainedMixin
from bbtok.tokenization.special_tokens import (
    UNPICKLED,
    SpecialTokensMixin,
    unpickled_attribute,
    unpickled_state,
)

logger = logging.getLogger("bbtok")

# Options of other models' tokenizers (mBART's languages) that callers pass to any tokenizer,
# and that every tokenizer of transformers without such languages ignores; any other unknown
# keyword is refused, a likely misspelt option.
OTHER_MODELS_CALL_OPTIONS = ("src_lang", "tgt_lang")

# The key of the too-long-sequence warning in ``deprecation_warnings`` (transformers' own).
TOO_LONG_WARNING = "sequence-length-is-longer-than-the-specified-maximum"

# Offsets ((start, end) character positions) and word indices of a sequence's tokens.
Spans = tuple[list[tuple[int, int]], list[int | None]]
# Word indices of a sequence's tokens (None for a special token or padding).
WordIds = list[int | None]
# The settings every tokenizer holds, and their types (checked when one is unpickled).
SETTING_TYPES: dict[str, type] = {
    "name_or_path": str,
    "model_max_length": int,
    "padding_side": str,
    "truncation_side": str,
    "model_input_names": list,
    "clean_up_tokenization_spaces": bool,
    "split_special_tokens": bool,
    "verbose": bool,
    "deprecation_warnings": dict,
    "init_kwargs": dict,
}


def are_plain_texts(items: list[Any]) -> bool:
    """Whether every item is a ``str`` itself (not a subclass): what the plain-batch route takes.
    ``map(type)`` runs in C; a generator over the items costs a tenth of a large batch's
    encoding."""
    return set(map(type, items)) == {str}


def refuse_method_names(cls: type[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a constructor keyword named like a method (``add_special_tokens=``,
    ``get_vocab=``), as transformers does: it would be saved in tokenizer_config.json, which
    neither class could load again."""
    for key in kwargs:
        if callable(getattr(cls, key, None)):
            raise AttributeError(f"{key} conflicts with the method {key} in {cls.__name__}")


class TokenizerBase(
    ChatTemplateMixin, PretrainedMixin, DecodingMixin, PaddingMixin, SpecialTokensMixin
):
    """Everything a tokenizer does besides its algorithm and its family's rules.

    A tokenizer lists its family's hooks class first (e.g.
    :class:`~bbtok.blenderbot_small.family.BlenderbotSmallFamily`) and implements
    ``_tokenize_plain`` (text without added tokens -> tokens), maybe ``_encode_plain``
    (-> ids), the vocabulary look-ups, ``vocab_size``, ``_base_vocab`` and ``_merge_ranks``.
    One that encodes a whole batch natively says which batches with ``_encodes_plain_batches``
    and encodes them in ``_encode_plain_batch``: the plain-batch route.

    One instance may be shared between threads, also while tokens are added (see
    :mod:`bbtok.tokenization.special_tokens`).
    """

    def __init__(self, **kwargs: Any) -> None:
        refuse_method_names(type(self), kwargs)
        kwargs.setdefault("backend", self.reference_backend)
        # As transformers records them: every keyword the shared constructor was given (the
        # family's defaults included), and no positional inputs.
        self.init_kwargs = copy.deepcopy(kwargs)
        self.init_inputs: tuple[Any, ...] = ()
        kwargs = dict(kwargs)
        # What transformers' class this one stands in for reports (not saved: it describes the
        # class that loads a directory, not the directory).
        self.backend = str(kwargs.pop("backend"))
        # The warnings given once per tokenizer, by name; emptying it gives them again.
        self.deprecation_warnings: dict[str, bool] = {}
        self.name_or_path = str(kwargs.pop("name_or_path", ""))
        special_tokens, extra_special_tokens, flagged = self._pop_special_token_settings(kwargs)
        model_max_length = kwargs.pop("model_max_length", kwargs.pop("max_len", None))
        check_length("model_max_length", model_max_length)
        self.model_max_length = VERY_LARGE_INTEGER if model_max_length is None else model_max_length
        self.padding_side = check_side("padding_side", kwargs.pop("padding_side", "right"))
        self.truncation_side = check_side("truncation_side", kwargs.pop("truncation_side", "right"))
        self.model_input_names = checked_input_names(
            kwargs.pop("model_input_names", self.default_model_input_names)
        )
        # The reference never cleans up unless asked.
        self.clean_up_tokenization_spaces = bool(kwargs.pop("clean_up_tokenization_spaces", False))
        self.split_special_tokens = bool(kwargs.pop("split_special_tokens", False))
        self.verbose = bool(kwargs.pop("verbose", False))
        added_tokens_decoder = self._pop_added_tokens_decoder(kwargs)
        self._pop_chat_settings(kwargs)
        # What else the configuration said, kept so that save_pretrained loses nothing.
        self.unread_settings = {
            key: value for key, value in kwargs.items() if key not in TRANSIENT_CONFIG_KEYS
        }
        self._init_tokens(special_tokens, extra_special_tokens, added_tokens_decoder, flagged)

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = unpickled_state(state)
        for name, kind in SETTING_TYPES.items():
            unpickled_attribute(state, name, kind)
        try:
            check_length("model_max_length", state["model_max_length"])
            check_side("padding_side", state["padding_side"])
            check_side("truncation_side", state["truncation_side"])
        except ValueError as error:
            raise ValueError(f"{UNPICKLED}: {error}") from None
        if not all(isinstance(name, str) for name in state["model_input_names"]):
            raise ValueError(f"{UNPICKLED}: model_input_names must be a list of str")
        super().__setstate__(state)

    def _encode_plain(self, text: str, tokens: TokenRegistry) -> list[int]:
        """Ids of a text with no added tokens in it, looked up in ``tokens``."""
        return [self._token_id_in(tokens, token) for token in self._tokenize_plain(text)]

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
        """Text -> ids, with the special tokens the family adds unless ``add_special_tokens``
        is False.

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

    # -- calling ----------------------------------------------------------------------------

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
        split_special = self.split_special_tokens
        max_target_length = None
        if kwargs:  # most calls pass none: the short text's call stays short
            split_special = kwargs.pop("split_special_tokens", split_special)
            max_target_length = kwargs.pop("max_target_length", None)
            for name in OTHER_MODELS_CALL_OPTIONS:
                kwargs.pop(name, None)
            if kwargs:
                raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if return_offsets_mapping and not self.is_fast:
            self._offsets_not_supported()
        if text is None and text_target is None:
            raise ValueError("You need to specify either `text` or `text_target`.")
        if padding_side is not None:
            check_side("padding_side", padding_side)
        if stride is None:
            raise ValueError("stride=None is not valid; use a non-negative integer")
        if type(stride) is not int or stride != 0:
            check_length("stride", stride, MAX_LENGTH_ARGUMENT)
        padding_strategy, truncation_strategy, max_length = resolve_strategies(
            padding,
            truncation,
            max_length,
            pad_to_multiple_of,
            verbose,
            self.model_max_length,
            has_pad_token=self.pad_token is not None,
        )
        options = CallOptions(
            add_special_tokens=add_special_tokens,
            padding_strategy=padding_strategy,
            truncation_strategy=truncation_strategy,
            max_length=max_length,
            stride=stride,
            is_split_into_words=is_split_into_words,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_length=return_length,
            return_offsets_mapping=return_offsets_mapping,
            split_special=split_special,
        )
        encodings = None
        if text is not None:
            encodings = self._encode_any(text, text_pair, options)
        if text_target is None:
            assert encodings is not None
            return encodings
        if max_target_length is not None:
            options = options._replace(max_length=max_target_length)
        targets = self._encode_any(text_target, text_pair_target, options)
        if encodings is None:
            return targets
        encodings["labels"] = targets["input_ids"]
        return encodings

    def encode_batch_flat(
        self, texts: list[str], threads: int | None = None, max_length: int | None = None
    ) -> tuple[bytes, list[int]]:
        """The ids of ``texts`` as ``tok(texts, truncation=True, max_length=max_length)
        ["input_ids"]`` gives them (no truncation when ``max_length`` is None), without a
        list per text: all of them one after another (native uint32), and the count of each
        text; the layout ``bbtok encode`` streams. ``threads``: how many threads a tokenizer
        that runs batches on bbtok's thread pool uses (the fast BlenderbotSmall one; the
        byte-level one runs on the ``tokenizers`` library's pool, of its own size).

        >>> ids, counts = tok.encode_batch_flat(["Hello there!", "Hi"])  # doctest: +SKIP
        >>> counts  # doctest: +SKIP
        [3, 1]
        """
        if not texts:
            return b"", []
        encoded = self(texts, truncation=max_length is not None, max_length=max_length)
        return flat_rows(encoded["input_ids"])

    def encode_arrow(
        self, texts: Any, max_length: int | None = None, threads: int | None = None
    ) -> Any:
        """The ids of an Arrow string array ``texts`` (pyarrow, polars, arro3..., chunked too:
        anything with ``__arrow_c_array__`` or ``__arrow_c_stream__``) as a pyarrow
        ``list<int32>`` array (``large_list<int32>`` past 2**31 - 1 ids in all), row for row
        ``tok(texts, truncation=True, max_length=max_length)["input_ids"]`` (no truncation
        when ``max_length`` is None). A null text raises a ValueError naming its row: fill
        nulls first (``pyarrow.compute.fill_null(texts, "")``) to encode them as empty
        texts. ``threads`` as for :meth:`encode_batch_flat`. See
        :mod:`bbtok.tokenization.arrow_ids`.

        >>> import pyarrow as pa
        >>> tok.encode_arrow(pa.array(["Hello there!", "Hi"])).to_pylist()  # doctest: +SKIP
        [[792, 403, 5], [4130]]
        """
        checked_max_length(max_length)
        rows = arrow_texts(texts)
        if not rows:
            return ids_array(b"", [])
        return ids_array(*self.encode_batch_flat(rows, threads, max_length))

    def _offsets_not_supported(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not track offsets")

    # -- the plain-batch route: a batch the tokenizer encodes in one call of its own ---------

    def _encodes_plain_batches(self, options: CallOptions) -> bool:
        """Whether :meth:`_encode_plain_batch` takes a plain batch (a non-empty list of
        ``str``, no pairs, no pre-split words, no offsets) called with ``options``, given the
        tokenizer's settings now. Here never: the shared path encodes every batch."""
        return False

    def _encode_plain_batch(self, texts: list[str], options: CallOptions) -> BatchEncoding:
        """``texts`` encoded as the shared path would, in one call of the tokenizer's own;
        called only when :meth:`_encodes_plain_batches` says so."""
        raise NotImplementedError(f"{type(self).__name__} has no plain-batch route")

    def _is_plain_batch(self, text: Any, text_pair: Any, options: CallOptions) -> bool:
        """Whether the call goes to :meth:`_encode_plain_batch`: the one place that says so.
        The tokenizer is asked before the texts' types are looked at, which costs a pass over
        the batch."""
        return (
            text_pair is None
            and isinstance(text, list)
            and len(text) > 0
            and not options.is_split_into_words
            and not options.return_offsets_mapping
            and self._encodes_plain_batches(options)
            and are_plain_texts(text)
        )

    # -- the shared path ----------------------------------------------------------------------

    @staticmethod
    def _is_batch(text: Any, is_split_into_words: bool) -> bool:
        if not isinstance(text, (list, tuple)):
            return False
        if not text:
            return not is_split_into_words
        if is_split_into_words:
            return isinstance(text[0], (list, tuple))
        return isinstance(text[0], (str, list, tuple))

    def _encode_any(self, text: Any, text_pair: Any, options: CallOptions) -> BatchEncoding:
        if self._is_plain_batch(text, text_pair, options):
            return self._encode_plain_batch(text, options)
        split_words = options.is_split_into_words
        if not self._is_batch(text, split_words):
            if text_pair is not None and self._is_batch(text_pair, split_words):
                raise ValueError(
                    "If `text_pair` is a batch, `text` must also be a batch of the same length."
                )
            return self._encode_single(text, text_pair, options)
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
        if options.return_offsets_mapping:
            self._check_offsets_options(text_pair, split_words)
            encoded = [
                self._encode_with_offsets(self._text_only(item), options.split_special)
                for item in text
            ]
            return self._batch_prepare(
                [ids for ids, _ in encoded],
                [None] * len(encoded),
                options,
                spans=[spans for _, spans in encoded],
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
            firsts.append(self._input_ids(item, split_words, options.split_special))
            seconds.append(
                None if pair is None else self._input_ids(pair, split_words, options.split_special)
            )
        return self._batch_prepare(firsts, seconds, options)

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

    def _encode_single(self, text: Any, text_pair: Any, options: CallOptions) -> BatchEncoding:
        split_words = options.is_split_into_words
        if options.return_offsets_mapping:
            self._check_offsets_options(text_pair, split_words)
            ids, spans = self._encode_with_offsets(self._text_only(text), options.split_special)
            fields, words = self._prepare_fields(ids, None, options, spans)
            assert words is not None  # prepared with spans, so with word indices
            return BatchEncoding(
                fields,
                tensor_type=options.return_tensors,
                prepend_batch_axis=True,
                word_ids=[words],
            )
        first = self._input_ids(text, split_words, options.split_special)
        second = (
            None
            if text_pair is None
            else self._input_ids(text_pair, split_words, options.split_special)
        )
        fields, _ = self._prepare_fields(first, second, options)
        return BatchEncoding(fields, tensor_type=options.return_tensors, prepend_batch_axis=True)

    def _batch_prepare(
        self,
        firsts: list[list[int]],
        seconds: list[list[int] | None],
        options: CallOptions,
        spans: list[Spans] | None = None,
    ) -> BatchEncoding:
        """Truncate each sequence, then pad the batch together (as transformers does)."""
        per_item = options.per_item()
        batch: dict[str, list[Any]] = {}
        batch_words: list[WordIds] | None = None if spans is None else []
        for i, (first, second) in enumerate(zip(firsts, seconds, strict=True)):
            item_spans = spans[i] if spans is not None else None
            fields, words = self._prepare_fields(first, second, per_item, item_spans)
            for key, value in fields.items():
                batch.setdefault(key, []).append(value)
            if batch_words is not None and words is not None:
                batch_words.append(words)
        if options.return_tensors and options.return_overflowing_tokens:
            batch.pop("overflowing_tokens", None)
            batch.pop("num_truncated_tokens", None)
        padded, padded_words = self._pad_batch(
            batch, options.padding(options.return_attention_mask), batch_words
        )
        return BatchEncoding(padded, tensor_type=options.return_tensors, word_ids=padded_words)

    def _prepare_fields(
        self,
        ids: list[int],
        pair_ids: list[int] | None,
        options: CallOptions,
        spans: Spans | None = None,
    ) -> tuple[dict[str, Any], WordIds | None]:
        """One sequence (or pair): truncate, add special tokens, build masks, pad.

        ``spans`` (offsets and word indices of a single sequence) are truncated and padded
        along with the ids; the word indices are returned beside the fields."""
        truncation_strategy = options.truncation_strategy
        max_length = options.max_length
        if (
            options.return_overflowing_tokens
            and truncation_strategy == "longest_first"
            and pair_ids is not None
        ):
            raise ValueError(
                "Not possible to return overflowing tokens for pair of sequences with the "
                "`longest_first`. Please select another truncation strategy than "
                "`longest_first`, for instance `only_second` or `only_first`."
            )
        return_token_type_ids = options.returns_token_type_ids(self.model_input_names)
        return_attention_mask = options.returns_attention_mask(self.model_input_names)
        add_special_tokens = options.add_special_tokens
        num_special = (
            self.num_special_tokens_to_add(pair_ids is not None) if add_special_tokens else 0
        )
        total = len(ids) + len(pair_ids or []) + num_special
        overflowing: list[int] = []
        if truncation_strategy != "do_not_truncate" and max_length and total > max_length:
            removed = total - max_length
            from_left = self.truncation_side == "left"
            if spans is not None:
                offsets, words = spans
                offsets = truncate_sequences(
                    offsets, None, removed, truncation_strategy, 0, from_left
                )[0]
                words = truncate_sequences(words, None, removed, truncation_strategy, 0, from_left)[
                    0
                ]
                spans = (offsets, words)
            ids, pair_ids, overflowing = truncate_sequences(
                ids, pair_ids, removed, truncation_strategy, options.stride, from_left
            )
        if add_special_tokens:
            sequence = self.build_inputs_with_special_tokens(ids, pair_ids)
            type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids)
        else:
            sequence = ids + (pair_ids or [])
            type_ids = [0] * len(sequence)
        fields: dict[str, Any] = {"input_ids": sequence}
        word_ids: WordIds | None = None
        if spans is not None:
            fields["offset_mapping"], word_ids = spans
            if add_special_tokens:
                fields["offset_mapping"], word_ids = self._spans_with_special_tokens(*spans)
        if return_token_type_ids:
            fields["token_type_ids"] = type_ids
        if options.return_special_tokens_mask:
            fields["special_tokens_mask"] = (
                self.get_special_tokens_mask(ids, pair_ids)
                if add_special_tokens
                else [0] * len(sequence)
            )
        if options.return_overflowing_tokens and not options.return_tensors and overflowing:
            fields["overflowing_tokens"] = overflowing
            fields["num_truncated_tokens"] = total - max_length if max_length else 0
        self._warn_if_too_long(sequence, max_length)
        padding_strategy = options.padding_strategy
        if (
            not sequence
            and not self.pads_empty_sequences
            and (padding_strategy != "do_not_pad" or return_attention_mask)
        ):
            # As the reference (whose pad() returns early on an empty sequence): not padded.
            if return_attention_mask:
                fields["attention_mask"] = []
        elif padding_strategy != "do_not_pad" or return_attention_mask:
            padding = options.padding(return_attention_mask)
            fields, word_ids = self._pad_one(fields, padding, word_ids)
        if options.return_length:
            fields["length"] = len(fields["input_ids"])
        return fields, word_ids

    def _warn_if_too_long(self, ids: list[int], max_length: int | None) -> None:
        if (
            max_length is None
            and len(ids) > self.model_max_length
            and not self.deprecation_warnings.get(TOO_LONG_WARNING)
        ):
            logger.warning(
                "Token indices sequence length is longer than the specified maximum sequence "
                "length for this model (%d > %d). Running this sequence through the model will "
                "result in indexing errors",
                len(ids),
                self.model_max_length,
            )
            self.deprecation_warnings[TOO_LONG_WARNING] = True

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
