"""Truncation and padding, written once: of lists (one sequence, a pair, a batch, with their
offsets and word indices), and of the flat id buffers the Rust core returns (as numpy arrays
for ``return_tensors="np"``, as bytes for the corpus engine).

Where transformers pads or truncates oddly we do the same and say so in a comment.
"""

from __future__ import annotations

import itertools
import warnings
from array import array
from collections.abc import Mapping
from typing import Any, TypeVar

from bbtok.tokenization.batch_encoding import BatchEncoding, to_python
from bbtok.tokenization.hooks import TokenizerHooks
from bbtok.tokenization.options import Padding, resolve_strategies, truncation_strategy

Item = TypeVar("Item")
# Bytes of one id in the core's flat buffers (native uint32).
ID_BYTES = 4


def truncate_sequences(
    ids: list[Item],
    pair_ids: list[Item] | None,
    num_tokens_to_remove: int,
    strategy: str,
    stride: int = 0,
    from_left: bool = False,
    warning_stacklevel: int = 2,
) -> tuple[list[Item], list[Item] | None, list[Item]]:
    """Remove ``num_tokens_to_remove`` tokens from a sequence or a pair as transformers does;
    returns (ids, pair_ids, overflowing). ``strategy`` is a truncation strategy, ``from_left``
    the tokenizer's ``truncation_side == "left"``.

    >>> truncate_sequences([1, 2, 3], None, 1, "longest_first")
    ([1, 2], None, [3])
    """
    if num_tokens_to_remove <= 0:
        return ids, pair_ids, []
    strategy = truncation_strategy(strategy)
    overflowing: list[Item] = []
    if strategy == "only_first" or (strategy == "longest_first" and pair_ids is None):
        ids, overflowing = _cut(ids, num_tokens_to_remove, stride, from_left)
    elif strategy == "longest_first":
        assert pair_ids is not None
        warnings.warn(
            "Be aware, overflowing tokens are not returned for the setting you have chosen, "
            "i.e. sequence pairs with the 'longest_first' truncation strategy. So the "
            "returned list will always be empty even if some tokens have been removed.",
            stacklevel=warning_stacklevel,
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
        pair_ids, overflowing = _cut(pair_ids, num_tokens_to_remove, stride, from_left)
    return ids, pair_ids, overflowing


def _cut(
    sequence: list[Item], count: int, stride: int, from_left: bool
) -> tuple[list[Item], list[Item]]:
    """``sequence`` without ``count`` items at one end, and the overflow: those items plus the
    ``stride`` before them."""
    window = min(len(sequence), stride + count)
    if from_left:
        return sequence[count:], sequence[:window]
    return sequence[:-count], sequence[-window:]


def flat_rows(rows: list[list[int]]) -> tuple[bytes, list[int]]:
    """Rows of ids as one flat buffer (native uint32, one row after another) and the length of
    each row: the layout the Rust core's batches come in.

    >>> flat_rows([[1, 2], [], [3]])[1]
    [2, 0, 1]
    """
    ids = array("I", itertools.chain.from_iterable(rows))
    return ids.tobytes(), [len(row) for row in rows]


def truncate_flat(
    ids: bytes, lengths: list[int], max_length: int, from_left: bool = False
) -> tuple[bytes, list[int]]:
    """Keep ``max_length`` ids of each record of a flat buffer (the core's uint32 ids, one
    record after another): the first ones (the last with ``from_left``), as
    ``truncation=True, max_length=max_length`` does.

    >>> truncate_flat(bytes(range(12)), [3], 2)
    (b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07', [2])
    """
    if max(lengths, default=0) <= max_length:
        return ids, lengths
    view = memoryview(ids)
    parts: list[memoryview] = []
    kept: list[int] = []
    start = 0
    for length in lengths:
        keep = min(length, max_length)
        first = start + length - keep if from_left else start
        parts.append(view[first * ID_BYTES : (first + keep) * ID_BYTES])
        kept.append(keep)
        start += length
    return b"".join(parts), kept


def padded_arrays(
    flat: bytes,
    counts: list[int],
    *,
    max_length: int | None,
    truncate: bool,
    from_left: bool,
    padding_strategy: str,
    pad_to_multiple_of: int | None,
    padding_side: str,
    pad_id: int,
    attention_mask: bool,
) -> dict[str, Any] | None:
    """A batch from the core's flat buffer as numpy arrays (no Python lists), truncated
    (``truncate``: to ``max_length``, the first ids or the last with ``from_left``) and padded
    as the list path does; None when the batch would not form one rectangular array (the list
    path then keeps it ragged).
    """
    import numpy as np

    ids = np.frombuffer(flat, dtype=np.uint32)
    lengths = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    if truncate and max_length:
        kept = np.minimum(lengths, max_length)
        if from_left:
            starts += lengths - kept
        lengths = kept
    longest = int(lengths.max())
    if padding_strategy == "longest":
        target = longest
    elif padding_strategy == "max_length" and max_length is not None:
        target = max_length
    elif padding_strategy == "do_not_pad" and int(lengths.min()) == longest:
        target = longest
    else:
        return None
    if pad_to_multiple_of and padding_strategy != "do_not_pad" and target % pad_to_multiple_of:
        target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
    if longest > target:
        return None  # a row longer than the padding: the list path keeps it ragged
    rows = np.repeat(np.arange(len(lengths)), lengths)
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    columns = within + np.repeat(target - lengths, lengths) if padding_side == "left" else within
    input_ids = np.full((len(lengths), target), pad_id, dtype=np.int64)
    input_ids[rows, columns] = ids[np.repeat(starts, lengths) + within]
    fields: dict[str, Any] = {"input_ids": input_ids}
    if attention_mask:
        mask = np.zeros((len(lengths), target), dtype=np.int64)
        mask[rows, columns] = 1
        fields["attention_mask"] = mask
    return fields


class PaddingMixin(TokenizerHooks):
    """``pad`` and ``truncate_sequences`` of :class:`~bbtok.tokenization.base.TokenizerBase`,
    and the padding of the sequences a call encodes."""

    def truncate_sequences(
        self,
        ids: list[Item],
        pair_ids: list[Item] | None = None,
        num_tokens_to_remove: int = 0,
        truncation_strategy: str = "longest_first",
        stride: int = 0,
    ) -> tuple[list[Item], list[Item] | None, list[Item]]:
        """Remove ``num_tokens_to_remove`` tokens; returns (ids, pair_ids, overflowing)."""
        return truncate_sequences(
            ids,
            pair_ids,
            num_tokens_to_remove,
            truncation_strategy,
            stride,
            self.truncation_side == "left",
            warning_stacklevel=3,
        )

    def _pad_one(
        self,
        fields: dict[str, Any],
        padding: Padding,
        word_ids: list[int | None] | None = None,
    ) -> tuple[dict[str, Any], list[int | None] | None]:
        """One sequence's fields (and word indices) padded."""
        padding_strategy, max_length, pad_to_multiple_of, padding_side, return_attention_mask = (
            padding
        )
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
            return fields, word_ids
        # Quirk kept from transformers: a sequence longer than max_length is left as it is.
        missing = max_length - len(sequence)
        if missing < 0:
            return fields, word_ids
        side = padding_side if padding_side is not None else self.padding_side
        pad_id = self.pad_token_id
        if pad_id is None:
            raise ValueError("Asking to pad but the tokenizer does not have a padding token")
        padded: dict[str, tuple[list[Any], Any]] = {main: (sequence, pad_id)}
        if return_attention_mask:
            padded["attention_mask"] = (fields["attention_mask"], 0)
        if "token_type_ids" in fields:
            padded["token_type_ids"] = (fields["token_type_ids"], self.pad_token_type_id)
        if "special_tokens_mask" in fields:
            padded["special_tokens_mask"] = (fields["special_tokens_mask"], 1)
        if "offset_mapping" in fields:
            padded["offset_mapping"] = (fields["offset_mapping"], (0, 0))
        for key, (values, filler) in padded.items():
            fields[key] = _padded(values, filler, missing, side)
        if word_ids is not None:
            word_ids = _padded(word_ids, None, missing, side)
        return fields, word_ids

    def _pad_batch(
        self,
        batch: dict[str, list[Any]],
        padding: Padding,
        word_ids: list[list[int | None]] | None = None,
    ) -> tuple[dict[str, list[Any]], list[list[int | None]] | None]:
        """A batch's fields (and word indices) padded together."""
        main = self.model_input_names[0]
        sequences = batch.get(main, [])
        if not sequences:
            if padding.return_attention_mask:
                batch["attention_mask"] = []
            return batch, word_ids
        sizes = {key: len(values) for key, values in batch.items()}
        if len(set(sizes.values())) > 1:
            # The reference fails here with an AssertionError (e.g. when only some texts of a
            # batch overflow with return_overflowing_tokens=True).
            raise ValueError(
                f"the fields of the batch have different sizes ({sizes}); with "
                "return_overflowing_tokens=True every text of a batch must overflow, or none"
            )
        if padding.strategy == "longest":
            padding = padding._replace(
                strategy="max_length", max_length=max(len(s) for s in sequences)
            )
        out: dict[str, list[Any]] = {}
        padded_words: list[list[int | None]] | None = None if word_ids is None else []
        for i in range(len(sequences)):
            fields, words = self._pad_one(
                {key: values[i] for key, values in batch.items()},
                padding,
                None if word_ids is None else word_ids[i],
            )
            for key, value in fields.items():
                out.setdefault(key, []).append(value)
            if padded_words is not None and words is not None:
                padded_words.append(words)
        return out, padded_words

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
        padding_strategy, _, max_length = resolve_strategies(
            padding,
            None,
            max_length,
            pad_to_multiple_of,
            verbose,
            self.model_max_length,
            has_pad_token=self.pad_token is not None,
        )
        how = Padding(
            strategy=padding_strategy,
            max_length=max_length,
            pad_to_multiple_of=pad_to_multiple_of,
            side=padding_side,
            return_attention_mask=return_attention_mask,
        )
        sequences = fields[main]
        if sequences and not isinstance(sequences[0], (list, tuple)):
            fields, _ = self._pad_one(fields, how)
            return BatchEncoding(fields, tensor_type=return_tensors)
        padded, _ = self._pad_batch(fields, how)
        return BatchEncoding(padded, tensor_type=return_tensors)


def _padded(values: list[Any], filler: Any, missing: int, side: str) -> list[Any]:
    fill = [filler] * missing
    return list(values) + fill if side == "right" else fill + list(values)


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
