"""Tokenize a text column of a Hugging Face ``datasets`` dataset through Arrow: each batch of
the column goes to the tokenizer's ``encode_arrow`` as Arrow and comes back as a
``list<int32>`` column, with no Python object per row.

``datasets`` is imported only when :func:`tokenize_dataset` is called (``pip install
datasets`` to use it)::

    import datasets
    from bbtok import BlenderbotSmallTokenizerFast
    from bbtok.data import SAMPLE_CHECKPOINT
    from bbtok.corpus.datasets import tokenize_dataset

    tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)
    ds = datasets.Dataset.from_dict({"text": ["Hello there!", "How are you?"]})
    print(tokenize_dataset(ds, tok)["input_ids"])
"""

from __future__ import annotations

import importlib
from typing import Any

from bbtok.corpus.encoders import ArrowEncoder
from bbtok.tokenization.arrow_ids import checked_max_length

__all__ = ["tokenize_dataset"]


def tokenize_dataset(
    dataset: Any,
    tokenizer: ArrowEncoder,
    column: str = "text",
    max_length: int | None = None,
    batch_size: int = 10_000,
    *,
    output_column: str = "input_ids",
) -> Any:
    """``dataset`` (a ``Dataset``, ``DatasetDict``, ``IterableDataset`` or
    ``IterableDatasetDict``) with ``output_column`` added (or replaced), other columns kept:
    the ids of each record's ``column`` as a list of int32, exactly
    ``tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]`` (no
    truncation when ``max_length`` is None). A null text raises a ValueError.

    ``tokenizer`` is anything with ``encode_arrow`` (bbtok's three tokenizer classes). The
    result of a ``Dataset`` is cached by ``datasets`` under a fingerprint made of the
    dataset's, the tokenizer's pickled state (its vocabulary files' bytes and tokens: a few
    objects, hashed in milliseconds) and the arguments: the same call on the same data and
    tokenizer files reads the cache, and ``add_tokens`` makes a new one.

    >>> import datasets
    >>> from bbtok import BlenderbotSmallTokenizerFast
    >>> from bbtok.data import SAMPLE_CHECKPOINT
    >>> tok = BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)
    >>> ds = datasets.Dataset.from_dict({"text": ["Hello there!"], "id": [7]})
    >>> out = tokenize_dataset(ds, tok)
    >>> out.column_names, out[0]["input_ids"] == tok("Hello there!")["input_ids"]
    (['text', 'id', 'input_ids'], True)
    """
    try:
        datasets = importlib.import_module("datasets")
    except ImportError as error:
        raise ImportError("bbtok.corpus.datasets needs datasets: pip install datasets") from error
    if not callable(getattr(tokenizer, "encode_arrow", None)):
        raise TypeError(
            f"tokenizer must have encode_arrow (a bbtok tokenizer), got {type(tokenizer).__name__}"
        )
    checked_max_length(max_length)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return type(dataset)(
            {
                name: tokenize_dataset(
                    split, tokenizer, column, max_length, batch_size, output_column=output_column
                )
                for name, split in dataset.items()
            }
        )
    encode = _EncodeColumn(tokenizer, column, output_column, max_length)
    if isinstance(dataset, datasets.IterableDataset):
        formatting = dataset._formatting
        return (
            dataset.with_format("arrow")
            .map(encode, batched=True, batch_size=batch_size)
            .with_format(formatting.format_type if formatting else None)
        )
    if not isinstance(dataset, datasets.Dataset):
        raise TypeError(
            f"dataset must be a datasets Dataset, DatasetDict or IterableDataset, got "
            f"{type(dataset).__name__}"
        )
    if column not in dataset.column_names:
        raise ValueError(f"the dataset has no column {column!r} (it has {dataset.column_names})")
    hasher = importlib.import_module("datasets.fingerprint").Hasher
    fingerprint = hasher.hash(
        (
            dataset._fingerprint,
            "bbtok.tokenize_dataset",
            tokenizer,
            column,
            output_column,
            max_length,
            batch_size,
        )
    )
    shown = dataset.format
    result = dataset.with_format("arrow").map(
        encode, batched=True, batch_size=batch_size, new_fingerprint=fingerprint
    )
    # Formatted columns that were all the columns are all of them again, ids included.
    columns = shown["columns"]
    if columns is not None and set(columns) == set(dataset.column_names):
        columns = None
    return result.with_format(
        shown["type"],
        columns=columns,
        output_all_columns=shown["output_all_columns"],
        **shown["format_kwargs"],
    )


class _EncodeColumn:
    """A batch (a pyarrow Table) -> the same with the ids of ``column`` in ``output_column``."""

    def __init__(
        self, tokenizer: ArrowEncoder, column: str, output_column: str, max_length: int | None
    ) -> None:
        self.tokenizer = tokenizer
        self.column = column
        self.output_column = output_column
        self.max_length = max_length

    def __call__(self, batch: Any) -> Any:
        ids = self.tokenizer.encode_arrow(batch.column(self.column), self.max_length)
        if self.output_column in batch.column_names:
            index = batch.column_names.index(self.output_column)
            return batch.set_column(index, self.output_column, ids)
        return batch.append_column(self.output_column, ids)
