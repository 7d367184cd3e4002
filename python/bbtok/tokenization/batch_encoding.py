"""``BatchEncoding``: what calling a tokenizer returns, and its conversion to tensors."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tokenizers import Encoding

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


class CharSpan(NamedTuple):
    """A span of characters of the original text: ``start`` up to ``end`` (excluded)."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """A span of tokens of an encoding: ``start`` up to ``end`` (excluded)."""

    start: int
    end: int


class BatchEncoding(dict[str, Any]):
    """The output of calling a tokenizer: a dict (``input_ids``, ``attention_mask``, ...) whose
    keys are also attributes, as in transformers.

    The byte-level tokenizer also gives the ``tokenizers.Encoding`` of each row
    (:attr:`encodings`), and with them transformers' alignment methods (:meth:`tokens`,
    :meth:`word_ids`, :meth:`char_to_token`, ...), which answer as transformers 5.23.0's.
    Without encodings, :meth:`word_ids` answers from the word indices the fast BlenderbotSmall
    tokenizer gives with offsets; everything else raises transformers' ValueError.

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
        encodings: list[Encoding] | None = None,
    ) -> None:
        super().__init__(data or {})
        self._word_ids = word_ids
        self._encodings = encodings
        self.convert_to_tensors(tensor_type, prepend_batch_axis=prepend_batch_axis)

    @classmethod
    def of_lists(cls, fields: dict[str, Any]) -> BatchEncoding:
        """``BatchEncoding(fields)`` for fields that stay Python lists, made without the
        general constructor's steps (a third of the time of ``tok("a short text")``)."""
        encoding = cls.__new__(cls)
        dict.update(encoding, fields)
        encoding._word_ids = None
        encoding._encodings = None
        return encoding

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, item: Any) -> Any:
        """A field by name; with encodings, the ``tokenizers.Encoding`` of a row by index; else
        a slice of every field, as in transformers."""
        if isinstance(item, str):
            return dict.__getitem__(self, item)
        if self._encodings is not None:
            return self._encodings[item]
        if isinstance(item, slice):
            return {key: value[item] for key, value in self.items()}
        raise KeyError(
            "Invalid key. Only three types of key are available: (1) string, (2) integers for "
            "backend Encoding, and (3) slices for data subsetting."
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"data": dict(self), "word_ids": self._word_ids, "encodings": self._encodings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.update(state["data"])
        self._word_ids = state["word_ids"]
        self._encodings = state.get("encodings")

    def __reduce__(self) -> Any:
        return (BatchEncoding, (), self.__getstate__())

    @property
    def data(self) -> dict[str, Any]:
        """The plain dict of the fields."""
        return dict(self)

    @property
    def is_fast(self) -> bool:
        """Whether the rows' ``tokenizers.Encoding`` objects are here (:attr:`encodings`)."""
        return self._encodings is not None

    @property
    def encodings(self) -> list[Encoding] | None:
        """The ``tokenizers.Encoding`` of each row (byte-level tokenizer), else None."""
        return self._encodings

    @property
    def n_sequences(self) -> int | None:
        """How many sequences each row was made of (1, or 2 for a pair); None when unknown."""
        if not self._encodings:
            return None
        count: int = self._encodings[0].n_sequences
        return count

    def _rows(self, method: str) -> list[Encoding]:
        if not self._encodings:
            raise ValueError(f"{method}() is not available when using Python based tokenizers")
        return self._encodings

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The tokens of a row."""
        tokens: list[str] = self._rows("tokens")[batch_index].tokens
        return tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The index of the word each token comes from (``None`` for added/special tokens)."""
        if not self._encodings and self._word_ids is not None:
            return self._word_ids[batch_index]
        if not self._encodings:
            raise ValueError(
                "word_ids() is not available when using Python based tokenizers (the fast "
                "BlenderbotSmall tokenizer gives them with return_offsets_mapping=True)"
            )
        words: list[int | None] = self._encodings[batch_index].word_ids
        return words

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """Which sequence of a pair each token comes from (0 or 1; ``None`` for special tokens
        and padding)."""
        sequences: list[int | None] = self._rows("sequence_ids")[batch_index].sequence_ids
        return sequences

    def _row_and_index(
        self, method: str, batch_or_index: int, index: int | None, checks_negative: bool
    ) -> tuple[Encoding, int]:
        rows = self._rows(method)
        batch_index, row_index = (0, batch_or_index) if index is None else (batch_or_index, index)
        if checks_negative and (batch_index < 0 or row_index < 0):
            # transformers 5.23.0 turns a negative index with _batch_size and _seq_len, which its
            # BatchEncoding never sets: an AttributeError.
            raise AttributeError(f"{method}() takes no negative index in transformers 5.23.0")
        return rows[batch_index], row_index

    def token_to_sequence(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> int | None:
        """The sequence (0, or 1 for the second of a pair) a token comes from; None for a
        special token."""
        row, index = self._row_and_index(
            "token_to_sequence", batch_or_token_index, token_index, True
        )
        sequence: int | None = row.token_to_sequence(index)
        return sequence

    def token_to_word(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> int | None:
        """The word a token comes from; None for a special token."""
        row, index = self._row_and_index("token_to_word", batch_or_token_index, token_index, True)
        word: int | None = row.token_to_word(index)
        return word

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        """The tokens of a word; None when it has none."""
        row, index = self._row_and_index("word_to_tokens", batch_or_word_index, word_index, True)
        span = row.word_to_tokens(index, sequence_index)
        return TokenSpan(*span) if span is not None else None

    def token_to_chars(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> CharSpan | None:
        """The characters a token comes from; None for a special token."""
        row, index = self._row_and_index("token_to_chars", batch_or_token_index, token_index, False)
        span = row.token_to_chars(index)
        return CharSpan(*span) if span is not None else None

    def char_to_token(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        """The token holding a character; None when no token does."""
        row, index = self._row_and_index("char_to_token", batch_or_char_index, char_index, False)
        token: int | None = row.char_to_token(index, sequence_index)
        return token

    def word_to_chars(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> CharSpan:
        """The characters of a word (a TypeError, as in the reference, when it has none)."""
        row, index = self._row_and_index("word_to_chars", batch_or_word_index, word_index, False)
        span: Any = row.word_to_chars(index, sequence_index)
        return CharSpan(*span)

    def char_to_word(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        """The word holding a character; None when no word does."""
        row, index = self._row_and_index("char_to_word", batch_or_char_index, char_index, False)
        word: int | None = row.char_to_word(index, sequence_index)
        return word

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
