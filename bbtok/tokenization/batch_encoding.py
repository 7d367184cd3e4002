"""``BatchEncoding``: what calling a tokenizer returns, and its conversion to tensors."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

TENSOR_TYPES = ("np", "pt")


def _flat_len(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        return sum(_flat_len(item) for item in value)
    return 1


def _as_numpy(value: Any) -> Any:
    import numpy as np

    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            # Rows of different lengths (no padding): an object array of rows, as transformers.
            ragged = np.empty(len(value), dtype=object)
            for i, row in enumerate(value):
                ragged[i] = np.asarray(row)
            return ragged
    if _flat_len(value) == 0:
        return np.asarray(value, dtype=np.int64)
    return np.asarray(value)


def _as_torch(value: Any) -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            "return_tensors='pt' needs PyTorch, which is not installed; use return_tensors='np'"
        ) from None
    if _flat_len(value) == 0:
        return torch.tensor(value, dtype=torch.int64)
    return torch.tensor(value)


class BatchEncoding(dict[str, Any]):
    """The output of calling a tokenizer: a dict (``input_ids``, ``attention_mask``, ...) whose
    keys are also attributes, as in transformers.

    >>> enc = BatchEncoding({"input_ids": [[1, 2]], "attention_mask": [[1, 1]]})
    >>> enc.input_ids
    [[1, 2]]
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        tensor_type: str | None = None,
        prepend_batch_axis: bool = False,
        word_ids: list[list[int | None]] | None = None,
        sequence_ids: list[list[int | None]] | None = None,
    ) -> None:
        super().__init__(data or {})
        self._word_ids = word_ids
        self._sequence_ids = sequence_ids
        self.convert_to_tensors(tensor_type, prepend_batch_axis=prepend_batch_axis)

    @classmethod
    def of_lists(cls, fields: dict[str, Any]) -> BatchEncoding:
        """``BatchEncoding(fields)`` for fields that stay Python lists, made without the
        general constructor's steps (a third of the time of ``tok("a short text")``)."""
        encoding = cls.__new__(cls)
        dict.update(encoding, fields)
        encoding._word_ids = None
        encoding._sequence_ids = None
        return encoding

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getstate__(self) -> dict[str, Any]:
        return {"data": dict(self), "word_ids": self._word_ids, "sequence_ids": self._sequence_ids}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.update(state["data"])
        self._word_ids = state["word_ids"]
        self._sequence_ids = state.get("sequence_ids")

    def __reduce__(self) -> Any:
        return (BatchEncoding, (), self.__getstate__())

    @property
    def data(self) -> dict[str, Any]:
        """The plain dict of the fields."""
        return dict(self)

    @property
    def is_fast(self) -> bool:
        """True when the encoding carries word alignment (from the fast tokenizer)."""
        return self._word_ids is not None

    @property
    def encodings(self) -> None:
        """transformers' per-sequence ``tokenizers.Encoding`` objects: bbtok has none."""
        return None

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The index of the word each token comes from (``None`` for added/special tokens)."""
        if self._word_ids is None:
            raise ValueError(
                "word_ids() needs an encoding made by the fast tokenizer with "
                "return_offsets_mapping=True, which computes the words with the offsets"
            )
        return self._word_ids[batch_index]

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """Which sequence of a pair each token comes from (0 or 1; ``None`` for special tokens
        and padding)."""
        if self._sequence_ids is None:
            raise ValueError(
                "sequence_ids() needs an encoding made by the byte-level tokenizer with "
                "return_overflowing_tokens=True, which takes them from the tokenizers library"
            )
        return self._sequence_ids[batch_index]

    def convert_to_tensors(
        self, tensor_type: str | None = None, prepend_batch_axis: bool = False
    ) -> BatchEncoding:
        """Turn every field into a ``"np"`` array or a ``"pt"`` tensor (in place)."""
        if tensor_type is None:
            return self
        tensor_type = getattr(tensor_type, "value", tensor_type)
        if tensor_type not in TENSOR_TYPES:
            raise ValueError(
                f"return_tensors={tensor_type!r} is not supported; use one of {TENSOR_TYPES}"
            )
        convert = _as_numpy if tensor_type == "np" else _as_torch
        for key, value in list(self.items()):
            if prepend_batch_axis:
                value = [value]
            try:
                self[key] = convert(value)
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"Unable to create a tensor from `{key}`: sequences of different lengths need "
                    "padding=True (and truncation=True) to form one tensor"
                ) from error
        return self


def to_python(value: Any) -> Any:
    """numpy arrays, torch tensors and their scalars -> Python lists and ints."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_python(item) for item in value] if _needs_conversion(value) else value
    return value


def as_token_id(value: Any) -> int:
    """An id as an int. ints, numpy integers and 0-d integer arrays are ids; anything else is a
    TypeError naming it (``int()`` would silently truncate a float to an id)."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"token ids must be integers, got {value!r} ({type(value).__name__})"
        ) from None


def _needs_conversion(values: Iterable[Any]) -> bool:
    return any(hasattr(item, "tolist") or isinstance(item, (list, tuple)) for item in values)
