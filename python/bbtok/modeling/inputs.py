"""A forward pass's inputs, checked once: token ids of a model's vocabulary and 0/1 attention
masks, refused with errors naming the argument and the first bad value."""

from __future__ import annotations

from typing import Any

import numpy as np

from bbtok.generation.settings import GenerationSettings, is_int
from bbtok.modeling.config import Seq2SeqConfig
from bbtok.modeling.layers import Array


def as_array(values: Any, argument: str, what: str) -> Array:
    """``np.asarray(values)``, a ragged list refused naming ``argument`` and ``what`` it must be."""
    try:
        return np.asarray(values)
    except ValueError as error:  # numpy's refusal of ragged nested lists, which names nothing
        raise ValueError(f"{argument} must be {what}: {error}") from None


def first_true(found: Array) -> tuple[int, int]:
    """The [row, column] of the first True of a 2-D boolean array."""
    row, column = np.argwhere(found)[0]
    return int(row), int(column)


def token_ids(values: Any, argument: str, config: Seq2SeqConfig) -> Array:
    """``values`` as int64 ids [batch, length] (a 1-D list is one row), refused naming
    ``argument`` unless they are integer ids of ``config``'s vocabulary that fit its
    positions."""
    array = as_array(values, argument, "a [batch, length] array of integer ids")
    if array.ndim == 1:
        array = array[None, :]
    python_ints = False
    if array.dtype == object or (array.dtype.kind == "f" and not isinstance(values, Array)):
        # An id beyond int64 makes numpy hold a list as float64 or objects: look at the
        # list's own integers, so that the error below can name the id.
        exact = np.asarray(values, dtype=object).reshape(array.shape)
        python_ints = all(is_int(value) for value in exact.flat)
        if python_ints:
            array = exact
    integer = python_ints or np.issubdtype(array.dtype, np.integer)
    if array.ndim != 2 or array.shape[1] == 0 or not integer:
        raise ValueError(
            f"{argument} must be integer ids of shape [batch, length] with length >= 1, got "
            f"{array.dtype} of shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{argument} must hold at least one row, got shape {array.shape}")
    outside = (array < 0) | (array >= config.vocab_size)
    if outside.any():
        row, column = first_true(outside)
        raise ValueError(
            f"{argument} holds ids outside [0, {config.vocab_size}): "
            f"{int(array[row, column])} at [{row}, {column}]"
        )
    if array.shape[1] > config.max_position_embeddings:
        raise ValueError(
            f"{argument} has {array.shape[1]} positions; this model has "
            f"{config.max_position_embeddings} (max_position_embeddings)"
        )
    return array.astype(np.int64)


def attention_mask(values: Any, ids: Array, argument: str) -> Array:
    """``values`` as a boolean mask of ``ids``' shape (all True when None), refused naming
    ``argument`` unless it holds only 0 and 1."""
    if values is None:
        return np.ones(ids.shape, dtype=bool)
    mask = as_array(values, argument, f"a 0/1 mask of the ids' shape {ids.shape}")
    if mask.ndim == 1:
        mask = mask[None, :]
    if mask.shape != ids.shape:
        raise ValueError(
            f"{argument} must be a 0/1 mask of the ids' shape {ids.shape}, got shape {mask.shape}"
        )
    outside = ~np.isin(mask, (0, 1))
    if outside.any():
        row, column = first_true(outside)
        value = mask[row, column]
        shown = value.item() if isinstance(value, np.generic) else value
        raise ValueError(f"{argument} must be a 0/1 mask, got {shown!r} at [{row}, {column}]")
    return mask.astype(bool)


def default_attention_mask(ids: np.ndarray, settings: GenerationSettings) -> np.ndarray:
    """transformers' mask when ``generate`` is given none: padding is where the pad id is,
    unless the pad id is also an end-of-sequence id (then nothing is padding)."""
    pad = settings.pad_token_id
    eos = settings.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
    if pad is None or pad in eos_ids or not np.any(ids == pad):
        return np.ones(ids.shape, dtype=bool)
    return np.asarray(ids != pad)
