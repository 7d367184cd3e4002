"""What makes a tokenizer Blenderbot (byte-level), written once: its special tokens and their
ids, its file names, the class name transformers knows it by, and the ``X </s>`` layout of a
sequence (``A </s> B </s>`` for a pair).

Read by the tokenizer (:mod:`bbtok.blenderbot.tokenizer`) and the trainer
(:mod:`bbtok.blenderbot.train`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bbtok.storage import hub
from bbtok.tokenization.pretrained import tokenizer_file_set

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
# The single file transformers 5 writes, holding the whole pipeline.
TOKENIZER_FILE = "tokenizer.json"
# What a directory in the hub's form must hold.
TOKENIZER_FILES = tokenizer_file_set((VOCAB_FILE, MERGES_FILE))
# What from_pretrained reads: tokenizer.json, or vocab.json and merges.txt. The hub's Blenderbot
# checkpoints all hold the latter, so a model id needs them; a local directory may hold either.
DIRECTORY_FILES = hub.FileSet(
    f"{TOKENIZER_FILE}, or {VOCAB_FILE} and {MERGES_FILE}",
    TOKENIZER_FILES.required,
    (TOKENIZER_FILE, *TOKENIZER_FILES.optional),
)
REFERENCE_CLASS_NAME = "BlenderbotTokenizer"
# The special tokens by role, as the reference's constructor sets them.
DEFAULT_SPECIAL_TOKENS: Mapping[str, str] = MappingProxyType(
    {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
)
# The first ids of the hub's vocabularies, in order; the mask token is their last id.
VOCABULARY_HEAD = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = DEFAULT_SPECIAL_TOKENS["mask_token"]
# The vocabulary size of facebook/blenderbot-400M-distill.
DISTILL_400M_VOCAB_SIZE = 8008


class SpecialTokenLayout:
    """Where a post-processor puts special tokens: the templates of a single sequence and of a
    pair, each a tuple of parts, ``"A"``/``"B"`` (a sequence) or a special token's ids, each
    with its token type id.

    Read from the ``post_processor`` of a ``tokenizer.json`` (:meth:`from_post_processor`), as
    transformers' tokenizers run it, so that the shared layer's ``build_inputs_with_special_tokens``
    adds what ``tokenizers`` would.

    >>> layout = SpecialTokenLayout.end_of_sequence(2)
    >>> layout.build([10, 11], None), layout.build([10], [20])
    ([10, 11, 2], [10, 2, 20, 2])
    """

    def __init__(
        self,
        single: tuple[tuple[str | tuple[int, ...], int], ...],
        pair: tuple[tuple[str | tuple[int, ...], int], ...],
    ) -> None:
        self.single = single
        self.pair = pair

    @classmethod
    def end_of_sequence(cls, eos_id: int) -> SpecialTokenLayout:
        """The family's documented layout: ``X </s>``, and ``A </s> B </s>`` for a pair."""
        eos = (eos_id,)
        return cls((("A", 0), (eos, 0)), (("A", 0), (eos, 0), ("B", 1), (eos, 1)))

    @classmethod
    def from_post_processor(cls, spec: Mapping[str, Any] | None) -> SpecialTokenLayout:
        """The layout of a ``tokenizer.json`` ``post_processor`` (None: no special tokens)."""
        if spec is None or spec.get("type") == "ByteLevel":
            return cls((("A", 0),), (("A", 0), ("B", 1)))
        kind = spec.get("type")
        if kind == "Sequence":
            layouts = [p for p in spec.get("processors", []) if p.get("type") != "ByteLevel"]
            if len(layouts) > 1:
                raise ValueError("a post-processor sequence may hold one template only")
            return cls.from_post_processor(layouts[0] if layouts else None)
        if kind == "TemplateProcessing":
            specials = {
                name: tuple(int(i) for i in token["ids"])
                for name, token in spec.get("special_tokens", {}).items()
            }
            return cls(_template(spec["single"], specials), _template(spec["pair"], specials))
        if kind in ("RobertaProcessing", "BertProcessing"):
            cls_id: tuple[int, ...] = (int(spec["cls"][1]),)
            sep_id: tuple[int, ...] = (int(spec["sep"][1]),)
            single: tuple[tuple[str | tuple[int, ...], int], ...] = (
                (cls_id, 0),
                ("A", 0),
                (sep_id, 0),
            )
            if kind == "RobertaProcessing":
                pair = (*single, (sep_id, 0), ("B", 0), (sep_id, 0))
            else:
                pair = (*single, ("B", 1), (sep_id, 1))
            return cls(single, pair)
        raise ValueError(f"post-processor {kind!r} is not supported by the Blenderbot tokenizer")

    def _parts(self, pair: bool) -> tuple[tuple[str | tuple[int, ...], int], ...]:
        return self.pair if pair else self.single

    def build(self, first: list[int], second: list[int] | None) -> list[int]:
        """The ids with the special tokens added."""
        sequences = {"A": first, "B": second or []}
        ids: list[int] = []
        for part, _ in self._parts(second is not None):
            ids.extend(sequences[part] if isinstance(part, str) else part)
        return ids

    def special_mask(self, first: list[int], second: list[int] | None) -> list[int]:
        """1 for each id :meth:`build` adds, 0 for the sequences' own."""
        sequences = {"A": first, "B": second or []}
        mask: list[int] = []
        for part, _ in self._parts(second is not None):
            mask.extend([0] * len(sequences[part]) if isinstance(part, str) else [1] * len(part))
        return mask

    def type_ids(self, first: list[int], second: list[int] | None) -> list[int]:
        """The token type id of each id :meth:`build` gives."""
        sequences = {"A": first, "B": second or []}
        types: list[int] = []
        for part, type_id in self._parts(second is not None):
            types.extend([type_id] * len(sequences[part] if isinstance(part, str) else part))
        return types


def _template(
    pieces: list[dict[str, Any]], specials: Mapping[str, tuple[int, ...]]
) -> tuple[tuple[str | tuple[int, ...], int], ...]:
    parts: list[tuple[str | tuple[int, ...], int]] = []
    for piece in pieces:
        if "Sequence" in piece:
            parts.append((str(piece["Sequence"]["id"]), int(piece["Sequence"]["type_id"])))
        else:
            token = piece["SpecialToken"]
            parts.append((specials[token["id"]], int(token["type_id"])))
    return tuple(parts)
