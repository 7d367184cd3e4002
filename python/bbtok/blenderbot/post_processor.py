"""The post-processor of a ``tokenizer.json`` as data: where it puts the special tokens of a
sequence and of a pair (:class:`SpecialTokenLayout`), so that the shared layer adds what
``tokenizers`` would.

Read by the family's hooks (:class:`~bbtok.blenderbot.family.BlenderbotFamily`) and by the
tokenizer, which reads it off each post-processor it sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bbtok.tokenization import vocabulary_files


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
    def from_post_processor(
        cls, spec: Mapping[str, Any] | None, source: str = "post_processor"
    ) -> SpecialTokenLayout:
        """The layout of a ``tokenizer.json`` ``post_processor`` (None: no special tokens).
        What ``tokenizers`` would not read, or an id outside 0 to 2**31 - 1, is a ValueError
        starting with ``source`` (the file and key).

        >>> SpecialTokenLayout.from_post_processor({"type": "BertProcessing", "cls": ["<s>", 0],
        ...     "sep": ["</s>", 2]}).build([7], None)
        [0, 7, 2]
        """
        if spec is None:
            return cls((("A", 0),), (("A", 0), ("B", 1)))
        if not isinstance(spec, Mapping):
            raise ValueError(f"{source}: must be a JSON object, found {type(spec).__name__}")
        kind = spec.get("type")
        if kind == "ByteLevel":
            return cls.from_post_processor(None)
        if kind == "Sequence":
            processors = _field(spec, "processors", list, source)
            for number, processor in enumerate(processors):
                if not isinstance(processor, Mapping):
                    raise ValueError(f"{source}.processors[{number}]: must be a JSON object")
            layouts = [
                (number, p) for number, p in enumerate(processors) if p.get("type") != "ByteLevel"
            ]
            if len(layouts) > 1:
                raise ValueError(f"{source}: a post-processor sequence may hold one template only")
            if not layouts:
                return cls.from_post_processor(None)
            number, layout = layouts[0]
            return cls.from_post_processor(layout, f"{source}.processors[{number}]")
        if kind == "TemplateProcessing":
            special_tokens = _field(spec, "special_tokens", Mapping, source)
            specials = {
                name: _special_token_ids(name, token, f"{source}.special_tokens[{name!r}]")
                for name, token in special_tokens.items()
            }
            return cls(
                _template(_field(spec, "single", list, source), specials, f"{source}.single"),
                _template(_field(spec, "pair", list, source), specials, f"{source}.pair"),
            )
        if kind in ("RobertaProcessing", "BertProcessing"):
            cls_id = (_token_and_id(spec, "cls", source),)
            sep_id = (_token_and_id(spec, "sep", source),)
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
        raise ValueError(
            f"{source}: post-processor {kind!r} is not supported by the Blenderbot tokenizer"
        )

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


def _field(spec: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    """``spec[key]``, which must be a ``kind``; else a ValueError naming ``source.key``."""
    value = spec.get(key)
    if not isinstance(value, kind):
        raise ValueError(
            f"{source}.{key}: must be a JSON {'array' if kind is list else 'object'}, found "
            f"{type(value).__name__}"
        )
    return value


def _id(value: object, where: str) -> int:
    """A token id or token type id, checked: an integer from 0 to MAX_TOKEN_ID."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 0 <= value <= vocabulary_files.MAX_TOKEN_ID
    ):
        raise ValueError(
            f"{where}: {value!r} is not an id; ids are integers from 0 to "
            f"{vocabulary_files.MAX_TOKEN_ID}"
        )
    return value


def _special_token_ids(name: object, token: object, where: str) -> tuple[int, ...]:
    if not isinstance(token, Mapping):
        raise ValueError(f"{where}: must be a JSON object, found {type(token).__name__}")
    ids, tokens = token.get("ids"), token.get("tokens")
    if not isinstance(ids, list) or not isinstance(tokens, list) or len(ids) != len(tokens):
        raise ValueError(f"{where}: must hold 'ids' and 'tokens', two arrays of one length")
    if token.get("id") != name or not all(isinstance(text, str) for text in tokens):
        raise ValueError(f"{where}: its 'id' must be its name and its 'tokens' strings")
    return tuple(_id(index, f"{where}.ids[{number}]") for number, index in enumerate(ids))


def _token_and_id(spec: Mapping[str, Any], key: str, source: str) -> int:
    """The id of RobertaProcessing's or BertProcessing's ``[token, id]`` at ``key``."""
    value = spec.get(key)
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str):
        raise ValueError(f"{source}.{key}: must be [token, id], found {value!r}")
    return _id(value[1], f"{source}.{key}[1]")


def _template(
    pieces: list[Any], specials: Mapping[str, tuple[int, ...]], where: str
) -> tuple[tuple[str | tuple[int, ...], int], ...]:
    parts: list[tuple[str | tuple[int, ...], int]] = []
    for number, piece in enumerate(pieces):
        here = f"{where}[{number}]"
        if not isinstance(piece, Mapping) or len(piece) != 1:
            raise ValueError(f'{here}: must be {{"Sequence": ...}} or {{"SpecialToken": ...}}')
        ((kind, fields),) = piece.items()
        if kind not in ("Sequence", "SpecialToken") or not isinstance(fields, Mapping):
            raise ValueError(f'{here}: must be {{"Sequence": ...}} or {{"SpecialToken": ...}}')
        name = fields.get("id")
        type_id = _id(fields.get("type_id"), f"{here}.{kind}.type_id")
        if kind == "Sequence":
            if name not in ("A", "B"):
                raise ValueError(f'{here}.Sequence.id: must be "A" or "B", found {name!r}')
            parts.append((name, type_id))
        else:
            if not isinstance(name, str) or name not in specials:
                raise ValueError(
                    f"{here}.SpecialToken.id: {name!r} is not one of the special_tokens"
                )
            parts.append((specials[name], type_id))
    return tuple(parts)
