"""Tokenize a text column of a Ray Data dataset on a cluster (or one machine), with the fast
tokenizer held once by each worker.

Ray is imported only when :func:`tokenize_dataset` is called, so this module imports without it
(``pip install "ray[data]"`` to use it)::

    import ray
    from bbtok.corpus.ray_data import tokenize_dataset
    from bbtok.data import SAMPLE_CHECKPOINT
    from bbtok.tokenizer_auto import auto_tokenizer

    ds = ray.data.read_text("corpus.txt")  # a "text" column, one record a line
    tok = auto_tokenizer(SAMPLE_CHECKPOINT)  # either family
    tokenize_dataset(ds, tok, max_length=512, concurrency=4).write_parquet("ids/")
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bbtok.corpus.encoders import ArrowEncoder
from bbtok.tokenization.arrow_ids import checked_max_length

if TYPE_CHECKING:
    import pyarrow
    import ray.data

__all__ = ["tokenize_dataset"]


def tokenize_dataset(
    dataset: ray.data.Dataset,
    tokenizer: ArrowEncoder,
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

    ``tokenizer`` is any tokenizer with ``encode_arrow`` (bbtok's three classes; a directory of
    either family loads with :func:`bbtok.tokenizer_auto.auto_tokenizer`, on the driver, so
    the workers need no copy of it): each batch goes through it as Arrow, with no Python
    object per record, and a null text raises a ValueError. It is put in Ray's object store
    once, and each worker of an actor pool fetches and unpickles it once, when the worker
    starts, then encodes batch after batch of ``batch_size`` records.

    ``concurrency`` bounds the pool of workers, which Ray grows while records wait, within
    the CPUs its read and write tasks leave free: an int ``n`` is at most ``n`` workers (so
    ``concurrency=4`` runs on a 2-CPU laptop, with one worker, and on a cluster with up to
    four), ``(min, max)`` is Ray's own range (``(n, n)`` a fixed pool), and None is from one
    worker to as many as fit. Ray starts the ``min`` workers before it reads anything, and
    they keep their CPUs, so on a cluster that cannot grow they must leave a CPU free for
    the read and write tasks; if they cannot, a ``ValueError`` says how many CPUs that asks
    for and how many the cluster has, before anything runs, where Ray would wait forever.
    Each worker reserves ``num_cpus`` CPUs and encodes with that many threads (at least
    one), unless ``BBTOK_NUM_THREADS`` is set in the workers' environment.

    The output's row order follows Ray Data's ``preserve_order`` execution option (off by
    default): keep an id column to match records with their ids, or turn it on.
    """
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(
            'bbtok.corpus.ray_data needs Ray Data: pip install "ray[data]"'
        ) from error
    checked_max_length(max_length)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not num_cpus > 0:
        raise ValueError(f"num_cpus must be positive, got {num_cpus!r}")
    if isinstance(tokenizer, (str, os.PathLike)):
        raise TypeError(
            f"tokenizer must be a loaded tokenizer, got the path {os.fspath(tokenizer)!r}: "
            "load it first with bbtok.tokenizer_auto.auto_tokenizer(path)"
        )
    if not isinstance(tokenizer, ArrowEncoder):
        raise TypeError(
            "tokenizer must be a tokenizer with encode_arrow (a bbtok tokenizer), got "
            f"{type(tokenizer).__name__}"
        )
    min_workers, max_workers = _pool_bounds(concurrency)
    # One copy in the object store, shared by every worker on a node, instead of one pickled
    # into each worker's constructor arguments. Like any first call to Ray, it starts a local
    # cluster or joins the one RAY_ADDRESS names, whose CPUs the check reads.
    shared = ray.put(tokenizer)
    _check_the_cluster_has_room(ray, concurrency, min_workers, num_cpus)
    return dataset.map_batches(
        _TokenizeBatches,
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(min_size=min_workers, max_size=max_workers),
        num_cpus=num_cpus,
        # A list keeps the reference from being resolved before the constructor runs, so the
        # worker fetches the tokenizer itself, once.
        fn_constructor_args=([shared], column, output_column, max_length, num_cpus),
    )


def _pool_bounds(concurrency: int | tuple[int, int] | None) -> tuple[int, int | None]:
    """The fewest and the most workers (None: no limit) that ``concurrency`` asks for.

    Ray reads an int as a fixed pool, but its pool starts every worker before it reads a
    record, and a fixed pool never gives a CPU back: more workers than the cluster has CPUs
    to spare, and Ray waits forever for the read tasks (ray-project/ray#44687). An int here
    is a bound instead, so the README's ``concurrency=4`` runs on any machine, with as many
    workers as fit; a pool that must not shrink is still one ``(n, n)`` away.
    """
    if concurrency is None:
        return 1, None
    bounds = (1, concurrency) if isinstance(concurrency, int) else concurrency
    if (
        isinstance(bounds, tuple)
        and len(bounds) == 2
        and all(map(_is_positive_int, bounds))
        and bounds[0] <= bounds[1]
    ):
        return bounds[0], bounds[1]
    raise ValueError(
        "concurrency must be None, a positive int (the most workers) or (min, max) with "
        f"1 <= min <= max, got {concurrency!r}"
    )


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_the_cluster_has_room(
    ray: Any, concurrency: object, min_workers: int, num_cpus: float
) -> None:
    """Raise a ValueError if the cluster cannot hold ``min_workers`` workers of ``num_cpus``
    CPUs and still run a read task (1 CPU) beside them, as Ray Data must to make progress."""
    if _cluster_may_grow():
        # An autoscaler adds nodes for workers that wait (a head node with no CPUs, as Ray
        # recommends for large clusters, is the usual start): today's CPUs are not a limit.
        return
    node_cpus = [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node["Alive"]]
    room = _workers_leaving_a_cpu_free(node_cpus, num_cpus)
    if min_workers <= room:
        return
    nodes = (
        f" (nodes of {', '.join(f'{cpus:g}' for cpus in node_cpus)})" if len(node_cpus) > 1 else ""
    )
    advice = (
        f"it holds at most {room}: ask for a smaller min, or an int (the most workers)"
        if room
        else "not one such worker fits: ask for a smaller num_cpus, or give Ray more CPUs"
    )
    raise ValueError(
        f"concurrency={concurrency!r} asks for {_cpus(min_workers * num_cpus + 1)} and the "
        f"cluster has {_cpus(sum(node_cpus))}{nodes}: Ray starts the pool's {min_workers} "
        f"worker(s) of num_cpus={num_cpus:g} before it reads anything, and Ray Data's read "
        f"and write tasks need 1 CPU beside them, or they wait forever; {advice}"
    )


def _cpus(count: float) -> str:
    return "1 CPU" if count == 1 else f"{count:g} CPUs"


def _cluster_may_grow() -> bool:
    """Whether an autoscaler may add nodes to the cluster Ray is connected to."""
    try:
        # Ray Data asks the same before it caps its own resource requests; Ray has no public
        # API for it.
        from ray.data._internal.cluster_autoscaler.util import is_autoscaling_enabled

        return bool(is_autoscaling_enabled())
    except Exception:
        # No answer (another Ray version, a Ray Client connection): never refuse a pool that
        # might run.
        return True


def _workers_leaving_a_cpu_free(node_cpus: Sequence[float], cpus_per_worker: float) -> int:
    """The most workers of ``cpus_per_worker`` CPUs that nodes with ``node_cpus`` CPUs hold
    while one node keeps a whole CPU free. Counted node by node: two nodes of 2 CPUs hold
    only one 1.5-CPU worker that way, not the two their 4 CPUs would suggest.

    >>> _workers_leaving_a_cpu_free([2, 2], 1.5)
    1
    """

    def fit(cpus: float) -> int:
        # Ray counts resources in units of 1/10,000, so 0.3 CPUs hold three 0.1-CPU workers.
        return max(0, math.floor(round(cpus / cpus_per_worker, 4)))

    held = sum(map(fit, node_cpus))
    # The node that gives up the fewest workers to keep a CPU free is the one to keep it.
    given_up = [fit(cpus) - fit(cpus - 1) for cpus in node_cpus if cpus >= 1]
    return held - min(given_up) if given_up else 0


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
        self.tokenizer: ArrowEncoder = ray.get(shared[0])
        self.column = column
        self.output_column = output_column
        self.max_length = max_length

    def __call__(self, batch: pyarrow.Table) -> pyarrow.Table:
        ids = self.tokenizer.encode_arrow(batch.column(self.column), self.max_length)
        if self.output_column in batch.column_names:
            index = batch.column_names.index(self.output_column)
            return batch.set_column(index, self.output_column, ids)
        return batch.append_column(self.output_column, ids)
