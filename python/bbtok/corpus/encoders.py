"""What the corpus tools need of a tokenizer: one method each, whichever class has it (bbtok's
three tokenizer classes have both).

>>> from bbtok import BlenderbotSmallTokenizer
>>> from bbtok.data import SAMPLE_CHECKPOINT
>>> isinstance(BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT), ArrowEncoder)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["ArrowEncoder", "FlatEncoder"]


@runtime_checkable
class ArrowEncoder(Protocol):
    """Encodes an Arrow string array to a pyarrow ``list<int32>`` array: what the
    ``tokenize_dataset`` of :mod:`bbtok.corpus.datasets` and :mod:`bbtok.corpus.ray_data` call
    (see :meth:`bbtok.tokenization.base.TokenizerBase.encode_arrow`)."""

    def encode_arrow(
        self, texts: Any, max_length: int | None = None, threads: int | None = None
    ) -> Any: ...


@runtime_checkable
class FlatEncoder(Protocol):
    """Encodes texts to their ids one after another (native uint32) and each text's count:
    what ``bbtok encode`` (:func:`bbtok.corpus.file_encoder.encode_files`) calls (see
    :meth:`bbtok.tokenization.base.TokenizerBase.encode_batch_flat`)."""

    def encode_batch_flat(
        self, texts: list[str], threads: int | None = None, max_length: int | None = None
    ) -> tuple[bytes, list[int]]: ...
