"""The rows of a call, made by the ``tokenizers`` core as transformers 5.23.0's
``BlenderbotTokenizer`` makes them: truncated, with the special tokens, padded, and, with
``return_overflowing_tokens=True``, cut into overflowing windows.

What transformers' ``return_overflowing_tokens``/``stride`` give here (a tokenizer on the
``tokenizers`` library): each input is truncated to ``max_length`` less the special tokens the
post-processor adds (a pair as the truncation strategy shares that room out), and what the
truncation cuts off becomes further rows, the *windows*: each at most as long as the first,
each starting ``stride`` tokens before the previous one ended, so that neighbouring windows
share ``stride`` tokens. Every window is a row of its own, with its special tokens and
padding; ``overflow_to_sample_mapping`` gives the index of the input each row came from, and
no row is unwrapped, even for a single text. The library cannot cut windows when ``stride``
is not below the length it cuts a sequence to (:func:`narrowest_window`): that is a
ValueError here (:meth:`OverflowWindows._check_stride`), where the library would panic.

A pure-Python reference (BlenderbotSmall's) answers the same options differently: one row per
input, the cut-off tokens (and the ``stride`` before them) in an ``overflowing_tokens`` field;
that is the shared layer's truncation (:func:`bbtok.tokenization.padding.truncate_sequences`).

Every text call of the byte-level tokenizer comes here, overflowing or not: a short text is one
row, made by the core in one ``encode``.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import TYPE_CHECKING, Any

from tokenizers import Encoding, Tokenizer

from bbtok.blenderbot.family import PAD_TYPE_ID
from bbtok.blenderbot.pipeline import core_batch, is_batched, split_input
from bbtok.tokenization.batch_encoding import BatchEncoding
from bbtok.tokenization.options import CallOptions

if TYPE_CHECKING:
    from bbtok.tokenization.base import TokenizerBase as _TokenizerBase
else:
    # A mixin at run time (the shared base comes after it in a tokenizer's bases), the base
    # itself for the type checker.
    _TokenizerBase = object


class WindowingCore(threading.local):
    """A thread's copy of the core, which calls with ``return_overflowing_tokens=True`` set
    truncation and padding on (other threads read the shared core meanwhile); made again when
    the shared core is replaced (``source``)."""

    source: Tokenizer | None = None
    core: Tokenizer | None = None


class OverflowWindows(_TokenizerBase):
    """The rows of a call made by the core, windows included; a tokenizer lists this class
    before the shared base and supplies ``_core`` (its ``tokenizers`` pipeline) and
    ``_windowing`` (a :class:`WindowingCore`)."""

    _core: Tokenizer
    _windowing: WindowingCore

    def _windowing_core(self) -> Tokenizer:
        windowing = self._windowing
        core = self._core
        if windowing.source is not core or windowing.core is None:
            windowing.core = copy.copy(core)
            windowing.source = core
        return windowing.core

    def _encode_windows(self, text: Any, text_pair: Any, options: CallOptions) -> BatchEncoding:
        """Encode as transformers 5.23.0 does: the core truncates, adds the special tokens and
        pads; a row per input, whose ``tokenizers.Encoding`` the result keeps. With
        ``return_overflowing_tokens=True``, one row per window the truncation cuts,
        ``overflow_to_sample_mapping`` naming the input of each, single texts included (no row
        is unwrapped)."""
        pretokenized = options.is_split_into_words
        inputs = core_batch(text, text_pair, pretokenized)
        core = self._windowing_core()
        core.encode_special_tokens = options.split_special
        core.no_padding()
        if options.truncation_strategy == "do_not_truncate":
            core.no_truncation()
        else:
            assert options.max_length is not None  # resolve_strategies gives one
            truncate = functools.partial(
                core.enable_truncation,
                options.max_length,
                stride=options.stride,
                strategy=options.truncation_strategy,
                direction=self.truncation_side,
            )
            # The library refuses a stride above max_length less the special tokens of a
            # single sequence here, with a ValueError, as in the reference.
            truncate()
            if options.stride:
                core.no_truncation()
                self._check_stride(core, inputs, options)
                truncate()
        if options.padding_strategy != "do_not_pad":
            core.enable_padding(
                direction=options.padding_side or self.padding_side,
                pad_id=self.pad_token_id,
                pad_type_id=PAD_TYPE_ID,
                pad_token=self.pad_token,
                length=options.max_length if options.padding_strategy == "max_length" else None,
                pad_to_multiple_of=options.pad_to_multiple_of,
            )
        batched = is_batched(text, pretokenized)
        try:
            if batched:
                encodings = core.encode_batch(
                    inputs,
                    add_special_tokens=options.add_special_tokens,
                    is_pretokenized=pretokenized,
                )
            else:
                # One input: the library's encode gives what encode_batch gives for it, without
                # the batch's hand-over to its thread pool (a fifth of a short text's call).
                sequence, pair = inputs[0] if isinstance(inputs[0], tuple) else (inputs[0], None)
                encodings = [
                    core.encode(
                        sequence,
                        pair,
                        add_special_tokens=options.add_special_tokens,
                        is_pretokenized=pretokenized,
                    )
                ]
        except Exception as error:
            if type(error) is not Exception:
                raise
            # The library's truncation errors (a sequence too short to cut, no second
            # sequence to cut with only_second) are bare Exceptions in the reference.
            raise ValueError(str(error)) from error
        return self._window_rows(encodings, options, batched)

    def _check_stride(self, core: Tokenizer, inputs: list[Any], options: CallOptions) -> None:
        """Raise a ValueError where the library would panic (a ``PanicException``, which is no
        ``Exception``) while cutting windows: when ``stride`` is not below the length it cuts
        a sequence to. Sequences are encoded untruncated to learn their lengths, only where
        the lengths that do not need it cannot rule that out."""
        pretokenized = options.is_split_into_words
        split = [split_input(item, pretokenized) for item in inputs]
        items = [item for item in split if item is not None]
        if len(items) < len(split):
            return  # encode_batch refuses the input, as in the reference
        stride = options.stride
        assert options.max_length is not None
        added_tokens = {
            is_pair: core.num_special_tokens_to_add(is_pair) if options.add_special_tokens else 0
            for is_pair in (False, True)
        }

        @functools.cache
        def lengths(side: int) -> dict[int, int]:
            """Untruncated length of each input's first (0) or second (1) sequence."""
            indices = [i for i, item in enumerate(items) if item[side] is not None]
            encoded = core.encode_batch(
                [items[i][side] for i in indices],
                add_special_tokens=False,
                is_pretokenized=pretokenized,
            )
            return {i: len(encoding.ids) for i, encoding in zip(indices, encoded, strict=True)}

        strategy = options.truncation_strategy
        for index, item in enumerate(items):
            is_pair = item[1] is not None
            added = added_tokens[is_pair]
            room = options.max_length - added
            # What can be told without the lengths: the window a single sequence is cut to is
            # the room; a pair cut longest_first keeps at least half of it per sequence.
            if not is_pair and room > stride:
                continue
            if is_pair and strategy == "longest_first" and room // 2 > stride:
                continue
            if is_pair and strategy in ("only_first", "only_second"):
                other = 1 if strategy == "only_first" else 0
                other_room = room - lengths(other)[index]
                if other_room <= 0 or other_room > stride:
                    continue
            window = narrowest_window(
                lengths(0)[index], lengths(1)[index] if is_pair else None, room, strategy
            )
            if window is not None and stride >= window:
                raise ValueError(
                    f"stride={stride} must be below {window}, the length the truncation cuts "
                    f"a sequence of input {index} to (max_length={options.max_length} less "
                    f"{added} special tokens{', shared by the pair' if is_pair else ''})"
                )

    def _window_rows(
        self, encodings: list[Encoding], options: CallOptions, batched: bool
    ) -> BatchEncoding:
        """The fields 5.23.0 builds of the core's encodings, a row per input (per window with
        ``return_overflowing_tokens``), in its order; the row of a single input is unwrapped
        unless tensors or windows are asked for."""
        return_token_type_ids = options.returns_token_type_ids(self.model_input_names)
        return_attention_mask = options.returns_attention_mask(self.model_input_names)
        rows: list[Encoding] = []
        sample_of_row: list[int] = []
        for index, encoding in enumerate(encodings):
            windows = (
                [encoding, *encoding.overflowing]
                if options.return_overflowing_tokens
                else [encoding]
            )
            rows.extend(windows)
            sample_of_row.extend([index] * len(windows))
        fields: dict[str, Any] = {"input_ids": [row.ids for row in rows]}
        if return_token_type_ids:
            fields["token_type_ids"] = [row.type_ids for row in rows]
        if return_attention_mask:
            fields["attention_mask"] = [row.attention_mask for row in rows]
        if options.return_special_tokens_mask:
            fields["special_tokens_mask"] = [row.special_tokens_mask for row in rows]
        if options.return_offsets_mapping:
            fields["offset_mapping"] = [row.offsets for row in rows]
        if options.return_length:
            fields["length"] = [len(row.ids) for row in rows]
        if options.return_overflowing_tokens:
            fields["overflow_to_sample_mapping"] = sample_of_row
        for ids in fields["input_ids"]:
            self._warn_if_too_long(ids, options.max_length)
        if not batched and not options.return_tensors and not options.return_overflowing_tokens:
            fields = {
                key: value[0] if value and isinstance(value[0], list) else value
                for key, value in fields.items()
            }
        return BatchEncoding(fields, tensor_type=options.return_tensors, encodings=rows)


def narrowest_window(first: int, second: int | None, room: int, strategy: str) -> int | None:
    """The smallest length, above 0, that the core's truncation cuts a sequence of ``first``
    tokens (and a second one of ``second``) to, when ``room`` tokens are left for them
    (``max_length`` less the special tokens added); None when none is cut to such a length.
    Its stride must be below that length: the library panics otherwise.

    The arithmetic is that of ``tokenizers``' truncation: a pair cut with ``longest_first``
    keeps the shorter sequence whole if it fits in half the room, else half the room each.

    >>> narrowest_window(10, None, 4, "longest_first"), narrowest_window(10, 3, 5, "only_first")
    (4, 2)
    """
    if room <= 0:
        # 0: every token goes to the overflow (no window). Below 0 (fewer than the special
        # tokens): the library's unsigned subtraction wraps around, and nothing is cut.
        return None
    total = first + (second or 0)
    if total <= room:
        return None
    if second is None and strategy == "longest_first":
        return room
    if strategy == "longest_first":
        assert second is not None
        shorter, longer = sorted((first, second))
        shorter_kept, longer_kept = shorter, max(shorter, room - shorter)
        if shorter_kept + longer_kept > room:
            shorter_kept, longer_kept = room // 2, room // 2 + room % 2
        kept_and_lengths = ((shorter_kept, shorter), (longer_kept, longer))
        return min((kept for kept, length in kept_and_lengths if 0 < kept < length), default=None)
    target = first if strategy == "only_first" else second
    if target is None or target <= total - room:
        return None  # the library raises its own error: no second sequence, or too short
    return target - (total - room)
