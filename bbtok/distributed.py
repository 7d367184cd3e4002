"""Tokenize a text column of a Ray Data dataset on a cluster (or one machine), with the fast
tokenizer held once by each worker.

Ray is imported only when :func:`tokenize_dataset` is called, so this module imports without it
(``pip install "ray[data]"`` to use it)::

    import ray
    from bbtok.data import SAMPLE_CHECKPOINT
    from bbtok.distributed import tokenize_dataset

    ds = ray.data.read_text("corpus.txt")  # a "text" column, one record a line
    tokenize_dataset(ds, SAMPLE_CHECKPOINT, max_length=512).write_parquet("ids/")
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .fast import BlenderbotSmallTokenizerFast

if TYPE_CHECKING:
    import pyarrow
    import ray.data

__all__ = ["tokenize_dataset"]


def tokenize_dataset(
    dataset: ray.data.Dataset,
    tokenizer: str | os.PathLike[str] | BlenderbotSmallTokenizerFast,
    *,
    column: str = "text",
    output_column: str = "input_ids",
    max_length: int | None = None,
    batch_size: int = 1024,
    concurrency: int | tuple[int, int] | None = None,
    num_cpus: float = 1,
) -> ray.data.Dataset:
    """``dataset`` with ``output_column`` added (or replaced): the ids of each record's
    ``column`` as a list of int32, exactly ``tokenizer(texts)["input_ids"]``, truncated to
    ``max_length`` ids when it is given. Nothing runs until the result is consumed (Ray Data
    is lazy).

    ``tokenizer`` is a directory as ``from_pretrained`` takes it (read here, on the driver, so
    the workers need no copy of it) or a :class:`~bbtok.BlenderbotSmallTokenizerFast`. It is
    put in Ray's object store once, and each worker of an actor pool fetches and unpickles it
    once, when the worker starts, then encodes batch after batch of ``batch_size`` records.

    ``concurrency`` is the pool's size: a number of workers, ``(min, max)`` to let Ray scale
    it, or None for Ray's default (from one worker up to as many as the cluster has room for).
    Each worker reserves ``num_cpus`` CPUs and encodes with that many threads (at least one),
    unless ``BBTOK_NUM_THREADS`` is set in the workers' environment.

    The output's row order follows Ray Data's ``preserve_order`` execution option (off by
    default): keep an id column to match records with their ids, or turn it on.
    """
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError('bbtok.distributed needs Ray Data: pip install "ray[data]"') from error
    if max_length is not None and (
        not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
    ):
        raise ValueError(f"max_length must be a positive int or None, got {max_length!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not num_cpus > 0:
        raise ValueError(f"num_cpus must be positive, got {num_cpus!r}")
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = BlenderbotSmallTokenizerFast.from_pretrained(tokenizer)
    elif not isinstance(tokenizer, BlenderbotSmallTokenizerFast):
        raise TypeError(
            "tokenizer must be a directory or a BlenderbotSmallTokenizerFast, "
            f"got {type(tokenizer).__name__}"
        )
    if isinstance(concurrency, int):
        compute = ray.data.ActorPoolStrategy(size=concurrency)
    elif isinstance(concurrency, tuple):
        low, high = concurrency
        compute = ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    else:
        # Ray's own default for a callable class: an autoscaling pool of actors.
        compute = ray.data.ActorPoolStrategy(min_size=1, max_size=None)
    # One copy in the object store, shared by every worker on a node, instead of one pickled
    # into each worker's constructor arguments.
    shared = ray.put(tokenizer)
    return dataset.map_batches(
        _TokenizeBatches,
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=compute,
        num_cpus=num_cpus,
        # A list keeps the reference from being resolved before the constructor runs, so the
        # worker fetches the tokenizer itself, once.
        fn_constructor_args=([shared], column, output_column, max_length, num_cpus),
    )


class _TokenizeBatches:
    """The work of one actor: made once per worker (so the tokenizer is fetched and unpickled
    once), then called on each batch."""

    def __init__(
        self,
        shared: list[Any],
        column: str,
        output_column: str,
        max_length: int | None,
        num_cpus: float,
    ) -> None:
        import ray

        # Threads beyond the CPUs Ray reserved for this worker would compete with the other
        # workers on the node; an explicit setting wins.
        os.environ.setdefault("BBTOK_NUM_THREADS", str(max(1, int(num_cpus))))
        self.tokenizer: BlenderbotSmallTokenizerFast = ray.get(shared[0])
        self.column = column
        self.output_column = output_column
        self.options: dict[str, Any] = (
            {} if max_length is None else {"truncation": True, "max_length": max_length}
        )

    def __call__(self, batch: pyarrow.Table) -> pyarrow.Table:
        import pyarrow as pa

        texts = batch.column(self.column)
        if texts.null_count:
            raise ValueError(f"column {self.column!r} has {texts.null_count} missing texts")
        # The tokenizer refuses an empty batch (as transformers' does); Ray may send one.
        ids = self.tokenizer(texts.to_pylist(), **self.options)["input_ids"] if len(texts) else []
        # Ids are below 2**31 (vocab.json's ids must be), so int32 holds them at half the size.
        values = pa.array(ids, type=pa.list_(pa.int32()))
        if self.output_column in batch.column_names:
            index = batch.column_names.index(self.output_column)
            return batch.set_column(index, self.output_column, values)
        return batch.append_column(self.output_column, values)
