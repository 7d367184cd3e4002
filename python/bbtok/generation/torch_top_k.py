"""torch.topk's order on the CPU, tie for tie, in Python.

Beam search ranks candidates with torch.topk, and candidates can tie exactly: the two EOS tokens
of a forced_eos_token_id list, the identical beams of the first step, the -1e9 placeholders of
empty hypothesis slots. Which of two tied candidates comes first decides which ids transformers
returns, and numpy's sorts order ties otherwise, so this module reproduces torch's order.

On the CPU torch.topk copies a row into (value, index) pairs and runs libstdc++'s
std::partial_sort on them when k * 64 <= n, else std::nth_element then std::sort of the first
k - 1, ordering by "NaN first, then larger value first". Those algorithms are not stable, so the
order of tied candidates is whatever their swaps leave; the functions below perform the same
swaps (libstdc++'s heap, introselect and introsort, step for step), branch for branch as
libstdc++ writes them.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["top_k", "torch_top_k"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Float32Array = npt.NDArray[np.float32]
# A candidate as torch.topk pairs it: its value and its index in the row.
_Entry = tuple[float, int]


def _before(x: _Entry, y: _Entry) -> bool:
    """torch.topk's ordering for the largest values: NaN before numbers, then larger first."""
    a, b = x[0], y[0]
    return a > b or (a != a and b == b)


def _lg(n: int) -> int:
    """std::__lg: floor(log2(n)), for the depth limit of introsort and introselect."""
    return n.bit_length() - 1


def _push_heap(q: list[_Entry], first: int, hole: int, top: int, value: _Entry) -> None:
    """std::__push_heap: sift ``value`` up from ``hole`` towards ``top``."""
    parent = (hole - 1) // 2
    while hole > top and _before(q[first + parent], value):
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value


def _adjust_heap(q: list[_Entry], first: int, hole: int, length: int, value: _Entry) -> None:
    """std::__adjust_heap: move the hole down to a leaf, then push ``value`` back up."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if _before(q[first + child], q[first + child - 1]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    _push_heap(q, first, hole, top, value)


def _pop_heap(q: list[_Entry], first: int, last: int, result: int) -> None:
    """std::__pop_heap: the heap top goes to ``result``, ``q[result]`` into the heap."""
    value = q[result]
    q[result] = q[first]
    _adjust_heap(q, first, 0, last - first, value)


def _make_heap(q: list[_Entry], first: int, last: int) -> None:
    """std::__make_heap: heapify from the last parent down to the root."""
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(q, first, parent, length, q[first + parent])
        if parent == 0:
            return
        parent -= 1


def _heap_select(q: list[_Entry], first: int, middle: int, last: int) -> None:
    """std::__heap_select: keep the best ``middle - first`` entries in a heap at the front."""
    _make_heap(q, first, middle)
    for i in range(middle, last):
        if _before(q[i], q[first]):
            _pop_heap(q, first, middle, i)


def _sort_heap(q: list[_Entry], first: int, last: int) -> None:
    """std::__sort_heap: pop the heap into order."""
    while last - first > 1:
        last -= 1
        _pop_heap(q, first, last, last)


def _swap(q: list[_Entry], i: int, j: int) -> None:
    """std::iter_swap."""
    q[i], q[j] = q[j], q[i]


def _move_median_to_first(q: list[_Entry], result: int, a: int, b: int, c: int) -> None:
    """std::__move_median_to_first: the pivot of introsort and introselect."""
    if _before(q[a], q[b]):
        if _before(q[b], q[c]):
            _swap(q, result, b)
        elif _before(q[a], q[c]):
            _swap(q, result, c)
        else:
            _swap(q, result, a)
    elif _before(q[a], q[c]):
        _swap(q, result, a)
    elif _before(q[b], q[c]):
        _swap(q, result, c)
    else:
        _swap(q, result, b)


def _partition_around_median(q: list[_Entry], first: int, last: int) -> int:
    """std::__unguarded_partition_pivot: median-of-three pivot, then Hoare partition."""
    mid = first + (last - first) // 2
    _move_median_to_first(q, first, first + 1, mid, last - 1)
    pivot = first
    first += 1
    while True:
        while _before(q[first], q[pivot]):
            first += 1
        last -= 1
        while _before(q[pivot], q[last]):
            last -= 1
        if not first < last:
            return first
        _swap(q, first, last)
        first += 1


def _linear_insert(q: list[_Entry], last: int) -> None:
    """std::__unguarded_linear_insert: shift ``q[last]`` left to its place."""
    value = q[last]
    previous = last - 1
    while _before(value, q[previous]):
        q[last] = q[previous]
        last = previous
        previous -= 1
    q[last] = value


def _insertion_sort(q: list[_Entry], first: int, last: int) -> None:
    """std::__insertion_sort."""
    for i in range(first + 1, last):
        if _before(q[i], q[first]):
            value = q[i]
            q[first + 1 : i + 1] = q[first:i]
            q[first] = value
        else:
            _linear_insert(q, i)


def _introsort_loop(q: list[_Entry], first: int, last: int, depth: int) -> None:
    """std::__introsort_loop: quicksort down to runs of 16, heapsort past the depth limit."""
    while last - first > 16:
        if depth == 0:
            _heap_select(q, first, last, last)
            _sort_heap(q, first, last)
            return
        depth -= 1
        cut = _partition_around_median(q, first, last)
        _introsort_loop(q, cut, last, depth)
        last = cut


def _sort(q: list[_Entry], first: int, last: int) -> None:
    """std::sort: introsort, then one insertion sort over the whole range."""
    if first == last:
        return
    _introsort_loop(q, first, last, _lg(last - first) * 2)
    if last - first > 16:
        _insertion_sort(q, first, first + 16)
        for i in range(first + 16, last):
            _linear_insert(q, i)
    else:
        _insertion_sort(q, first, last)


def _nth_element(q: list[_Entry], nth: int) -> None:
    """std::nth_element over the whole list: introselect."""
    first, last = 0, len(q)
    depth = _lg(last) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last)
            _swap(q, first, nth)
            return
        depth -= 1
        cut = _partition_around_median(q, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last)


def _beats(values: Float32Array, top: float) -> BoolArray:
    """Which values come before ``top`` in torch.topk's order."""
    if math.isnan(top):
        return np.zeros(values.shape, dtype=np.bool_)
    return (values > top) | np.isnan(values)


def _partial_sort_top(values: Float32Array, k: int) -> list[_Entry]:
    """std::partial_sort's first k entries, without building pairs for the whole row.

    The heap-select pass only acts on entries that beat the heap's top, and that top only
    rises, so numpy can skip the rest of a row of num_beams * vocab values in bulk.
    """
    heap = list(zip(values[:k].tolist(), range(k), strict=True))
    _make_heap(heap, 0, k)
    candidates = k + np.flatnonzero(_beats(values[k:], heap[0][0]))
    while candidates.size:
        chunk, candidates = candidates[:256], candidates[256:]
        for index, value in zip(chunk.tolist(), values[chunk].tolist(), strict=True):
            entry = (value, index)
            if _before(entry, heap[0]):
                # pop_heap(first, middle, i) whose write to position i nobody reads again.
                _adjust_heap(heap, 0, 0, k, entry)
        if candidates.size:
            candidates = candidates[_beats(values[candidates], heap[0][0])]
    _sort_heap(heap, 0, k)
    return heap


def torch_top_k(values: Float32Array, k: int) -> IntArray:
    """The indices torch.topk(values, k) returns on the CPU for a 1-D row, ties included."""
    n = values.shape[0]
    if k * 64 <= n:
        entries = _partial_sort_top(values, k)
    else:
        entries = list(zip(values.tolist(), range(n), strict=True))
        _nth_element(entries, k - 1)
        _sort(entries, 0, k - 1)
    return np.fromiter((index for _, index in entries[:k]), dtype=np.int64, count=k)


def top_k(values: Float32Array, k: int) -> IntArray:
    """torch.topk(values, k).indices along the last axis of a 2-D array."""
    return np.stack([torch_top_k(row, k) for row in values])
