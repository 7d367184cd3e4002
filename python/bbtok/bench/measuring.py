"""How the benchmarks take their figures: timed calls, the best of several, microseconds per
call, a thread count for the fast tokenizer; and where two runs' ids first differ."""

from __future__ import annotations

import contextlib
import gc
import os
import time
import timeit
from collections.abc import Callable, Iterator
from typing import Any


def timed(run: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds taken by ``run(*args)``, and what it returned."""
    gc.collect()
    start = time.perf_counter()
    result = run(*args)
    return time.perf_counter() - start, result


def best_seconds(run: Callable[[], Any], repeats: int) -> float:
    """The fewest seconds ``run()`` took in ``repeats`` calls."""
    return min(timed(run)[0] for _ in range(repeats))


def per_call_us(run: Callable[[], Any], repeat: int = 25, batch_seconds: float = 0.02) -> float:
    """Microseconds per call of ``run``: the best of ``repeat`` batches of calls (caches warm)."""
    timer = timeit.Timer(run)
    once = min(timer.repeat(repeat=3, number=1))  # the first call also fills the caches
    number = max(1, int(batch_seconds / max(once, 1e-7)))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


@contextlib.contextmanager
def bbtok_threads(count: int) -> Iterator[None]:
    """``BBTOK_NUM_THREADS=count`` for the calls made inside (the fast tokenizer reads it at
    each call)."""
    before = os.environ.get("BBTOK_NUM_THREADS")
    os.environ["BBTOK_NUM_THREADS"] = str(count)
    try:
        yield
    finally:
        if before is None:
            del os.environ["BBTOK_NUM_THREADS"]
        else:
            os.environ["BBTOK_NUM_THREADS"] = before


def first_difference(a: list[list[int]], b: list[list[int]]) -> int:
    """The index of the first record whose ids differ (the shorter length if one list is a
    head of the other).

    >>> first_difference([[1], [2], [3]], [[1], [4], [3]])
    1
    """
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
