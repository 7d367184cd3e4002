"""Arrow in, Arrow out: what ``encode_arrow`` shares between the tokenizer classes.

Texts come as any Arrow string, large_string or string_view array (polars' strings) through
the Arrow PyCapsule interface (``__arrow_c_array__`` or ``__arrow_c_stream__``: pyarrow,
polars, arro3..., chunked arrays too). A null text is refused with its index
(``texts[3] is null``), as ``tok(texts)`` refuses None: fill nulls first to encode them as
empty texts. The ids come back as a pyarrow ``list<int32>`` array, ``large_list<int32>`` when
the ids of all rows together pass 2**31 - 1 (the most a ``list`` offset holds).

The fast BlenderbotSmall tokenizer reads the texts from Arrow's buffers in Rust and hands its
buffers over (``bbtok._native``); the other classes go through :func:`arrow_texts` and
:func:`ids_array` here (pyarrow needed: ``pip install pyarrow``).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

# The most ids a ``list`` array holds in all (its offsets are int32).
LIST_OFFSET_MAX = 2**31 - 1


def load_pyarrow() -> ModuleType:
    """pyarrow, or an ImportError that says how to install it."""
    try:
        # Imported by name: pyarrow is optional, and has no type information anyway.
        return importlib.import_module("pyarrow")
    except ImportError as error:
        raise ImportError("Arrow arrays need pyarrow: pip install pyarrow") from error


def arrow_texts(texts: Any) -> list[str]:
    """The texts of an Arrow string, large_string or string_view array (any object of the
    PyCapsule interface), as a list; a ValueError naming the first null row, a TypeError for
    anything else.

    >>> import pyarrow as pa
    >>> arrow_texts(pa.chunked_array([["a", "b"], ["c"]]))
    ['a', 'b', 'c']
    """
    pa = load_pyarrow()
    if hasattr(texts, "__arrow_c_array__"):
        array = pa.array(texts)
    elif hasattr(texts, "__arrow_c_stream__"):
        array = pa.chunked_array(texts)
    else:
        raise TypeError(
            "texts must be an Arrow string array (an object with __arrow_c_array__ or "
            f"__arrow_c_stream__: pyarrow, polars, arro3...), got {type(texts).__name__}"
        )
    if not is_text_type(pa, array.type):
        raise TypeError(
            "texts must be an Arrow string, large_string or string_view array, got one of type "
            f"{array.type} (cast it to string first: a table's column, not the table)"
        )
    if array.null_count:
        row = array.is_null().index(True).as_py()
        raise ValueError(
            f"texts[{row}] is null: every row must be a text (fill nulls first, e.g. with "
            'pyarrow.compute.fill_null(texts, ""))'
        )
    rows: list[str] = array.to_pylist()
    return rows


def is_text_type(pa: ModuleType, data_type: Any) -> bool:
    """Whether pyarrow's ``data_type`` is one whose rows are texts: string, large_string, or
    string_view (known to pyarrow 16 and later).

    >>> import pyarrow as pa
    >>> is_text_type(pa, pa.string_view()), is_text_type(pa, pa.binary())
    (True, False)
    """
    is_string_view = getattr(pa.types, "is_string_view", None)
    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or (is_string_view is not None and is_string_view(data_type))
    )


def ids_array(flat: bytes, counts: list[int]) -> Any:
    """A pyarrow ``list<int32>`` array of the rows of ``flat`` (ids one after another, native
    uint32, each below 2**31) holding ``counts[i]`` ids each, built on the buffer itself;
    ``large_list<int32>`` past :data:`LIST_OFFSET_MAX` ids in all.

    >>> from array import array
    >>> ids_array(array("I", [5, 6, 7]).tobytes(), [2, 0, 1]).to_pylist()
    [[5, 6], [], [7]]
    """
    pa = load_pyarrow()
    import numpy as np

    total = len(flat) // 4
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(np.asarray(counts, dtype=np.int64), out=offsets[1:])
    large = list_needs_large_offsets(total)
    if not large:
        offsets = offsets.astype(np.int32)
    values = pa.Array.from_buffers(pa.int32(), total, [None, pa.py_buffer(flat)])
    kind = pa.large_list(pa.int32()) if large else pa.list_(pa.int32())
    return pa.Array.from_buffers(
        kind, len(counts), [None, pa.py_buffer(offsets)], children=[values]
    )


def list_needs_large_offsets(total_ids: int) -> bool:
    """Whether ``total_ids`` ids in all need ``large_list`` offsets (int64).

    >>> list_needs_large_offsets(2**31 - 1), list_needs_large_offsets(2**31)
    (False, True)
    """
    return total_ids > LIST_OFFSET_MAX


def as_pyarrow(ids: Any) -> Any:
    """An array of the PyCapsule interface (``bbtok._native.ArrowIds``) as a pyarrow array,
    imported without a copy, when pyarrow is installed; else ``ids`` itself, which any
    Arrow library imports (``polars.Series(ids)``, ``arro3.core.Array(ids)``)."""
    try:
        pa = importlib.import_module("pyarrow")
    except ImportError:
        return ids
    return pa.array(ids)


def checked_max_length(max_length: object) -> int | None:
    """``max_length`` when it is None or a positive int, else a ValueError naming it."""
    if max_length is not None and (
        not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
    ):
        raise ValueError(f"max_length must be a positive int or None, got {max_length!r}")
    return max_length
