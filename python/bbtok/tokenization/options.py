"""The options of a call (``tok(texts, padding=True, truncation=True, max_length=...)``): parsed
and checked once, into one immutable :class:`CallOptions` that the rest of the call reads.

Where transformers resolves an option oddly (``max_length`` alone turns truncation on, padding
to ``max_length`` without one pads to ``model_max_length``) we do the same.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import NamedTuple

# transformers' "no limit" model_max_length, and the bound above which it means "no limit".
VERY_LARGE_INTEGER = int(1e30)
LARGE_INTEGER = int(1e20)
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("only_first", "only_second", "longest_first", "do_not_truncate")
SIDES = ("left", "right")
# The largest max_length, stride or pad_to_multiple_of a call takes: what an index holds. Any
# length up to it means what it says (max_length=sys.maxsize: no truncation in effect); a
# larger one would overflow where a list, an array or the tokenizers library is sized by it.
MAX_LENGTH_ARGUMENT = sys.maxsize


class Padding(NamedTuple):
    """How to pad: a padding strategy (``"longest"``, ``"max_length"``, ``"do_not_pad"``), the
    length to pad to, the multiple to round it up to, the side (None: the tokenizer's), and
    whether to add an attention mask (None: if the model takes one)."""

    strategy: str
    max_length: int | None
    pad_to_multiple_of: int | None
    side: str | None
    return_attention_mask: bool | None


class CallOptions(NamedTuple):
    """What a call asks for, with its strategies resolved (``padding=True`` is ``"longest"``,
    ``max_length=None`` is the model's length where a strategy needs one).

    A tuple: cheap to make on every call, and never changed once made (a stage that needs
    other options makes a copy with ``_replace``). Always made by keyword: sixteen fields, many
    of one type, are too easily given in the wrong order (a tuple cannot refuse positions)."""

    add_special_tokens: bool
    padding_strategy: str
    truncation_strategy: str
    max_length: int | None
    stride: int
    is_split_into_words: bool
    pad_to_multiple_of: int | None
    padding_side: str | None
    return_tensors: str | None
    return_token_type_ids: bool | None
    return_attention_mask: bool | None
    return_overflowing_tokens: bool
    return_special_tokens_mask: bool
    return_length: bool
    return_offsets_mapping: bool
    split_special: bool

    def per_item(self) -> CallOptions:
        """The options each sequence of a batch is prepared with: a batch is padded together,
        after all of them."""
        return self._replace(
            padding_strategy="do_not_pad", pad_to_multiple_of=None, return_attention_mask=False
        )

    def padding(self, return_attention_mask: bool | None) -> Padding:
        """How the call pads, adding an attention mask as ``return_attention_mask`` says (the
        call's own, or one resolved for the model): a sequence's padding is made on every
        call, so in one construction rather than a copy with ``_replace``."""
        return Padding(
            strategy=self.padding_strategy,
            max_length=self.max_length,
            pad_to_multiple_of=self.pad_to_multiple_of,
            side=self.padding_side,
            return_attention_mask=return_attention_mask,
        )

    def returns_token_type_ids(self, model_input_names: Sequence[str]) -> bool:
        """Whether the result holds token type ids: as asked, else when the model takes them."""
        if self.return_token_type_ids is None:
            return "token_type_ids" in model_input_names
        return self.return_token_type_ids

    def returns_attention_mask(self, model_input_names: Sequence[str]) -> bool:
        """Whether the result holds an attention mask: as asked, else when the model takes one."""
        if self.return_attention_mask is None:
            return "attention_mask" in model_input_names
        return self.return_attention_mask

    @property
    def asks_only_ids(self) -> bool:
        """Whether the result holds only the ids and (maybe) the attention mask, untruncated,
        unpadded, as lists."""
        return (
            self.padding_strategy == "do_not_pad"
            and self.truncation_strategy == "do_not_truncate"
            and self.return_tensors is None
            and self.asks_no_extra_fields
        )

    @property
    def asks_no_extra_fields(self) -> bool:
        """Whether the result holds no field beyond the ids and the attention mask."""
        return (
            not self.return_token_type_ids
            and not self.return_special_tokens_mask
            and not self.return_overflowing_tokens
            and not self.return_length
        )


def _strategy(
    name: str,
    value: object,
    when_true: str,
    when_false: str,
    allowed: tuple[str, ...],
    none_is_false: bool,
) -> str:
    value = getattr(value, "value", value)  # an enum of transformers' strategies
    if value is True:
        return when_true
    if value is False or (value is None and none_is_false):
        return when_false
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not valid; use True, False or one of {allowed}")
    return str(value)


def padding_strategy(padding: object) -> str:
    """``padding`` (True, False, a strategy or its enum) as one of :data:`PADDING_STRATEGIES`.
    None is refused, as transformers refuses it (``truncation=None`` is the default, and taken).

    >>> padding_strategy(True)
    'longest'
    """
    return _strategy(
        "padding", padding, "longest", "do_not_pad", PADDING_STRATEGIES, none_is_false=False
    )


def truncation_strategy(truncation: object) -> str:
    """``truncation`` (True, False, None, a strategy or its enum) as one of
    :data:`TRUNCATION_STRATEGIES`.

    >>> truncation_strategy(True)
    'longest_first'
    """
    return _strategy(
        "truncation",
        truncation,
        "longest_first",
        "do_not_truncate",
        TRUNCATION_STRATEGIES,
        none_is_false=True,
    )


def check_side(name: str, value: object) -> str:
    """``value`` if it is ``"left"`` or ``"right"``, else a ValueError naming ``name``."""
    if value not in SIDES:
        raise ValueError(f"{name}={value!r} is not valid; use 'left' or 'right'")
    return str(value)


def checked_input_names(value: object) -> list[str]:
    """``model_input_names`` as a list, if it is a list or tuple of strings; else a
    ``ValueError`` naming it.

    >>> checked_input_names(("input_ids", "attention_mask"))
    ['input_ids', 'attention_mask']
    """
    if not (isinstance(value, (list, tuple)) and all(isinstance(name, str) for name in value)):
        raise ValueError(f"model_input_names={value!r} is not valid; use a list of strings")
    return list(value)


def check_length(name: str, value: object, most: int | None = None) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is None or a non-negative int (at
    most ``most``, when given).

    >>> check_length("stride", 2**64, most=10)
    Traceback (most recent call last):
    ValueError: stride=18446744073709551616 is not valid; use an integer from 0 to 10 or None
    """
    if value is None:
        return
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < 0
        or (most is not None and value > most)
    ):
        if most is None:
            raise ValueError(f"{name}={value!r} is not valid; use a non-negative integer or None")
        raise ValueError(f"{name}={value!r} is not valid; use an integer from 0 to {most} or None")


def resolve_strategies(
    padding: object,
    truncation: object,
    max_length: int | None,
    pad_to_multiple_of: int | None,
    verbose: bool,
    model_max_length: int,
    has_pad_token: bool,
) -> tuple[str, str, int | None]:
    """(padding strategy, truncation strategy, max_length) as transformers resolves them, or
    the ValueError it raises. Its warning points at the caller's caller (``tok(...)``'s).

    >>> resolve_strategies(True, None, None, None, True, 512, has_pad_token=True)
    ('longest', 'do_not_truncate', None)
    """
    if (
        padding is False
        and truncation is None
        and max_length is None
        and pad_to_multiple_of is None
    ):
        # The defaults, which most calls pass: what the checks below come to for them.
        return "do_not_pad", "do_not_truncate", None
    check_length("max_length", max_length, MAX_LENGTH_ARGUMENT)
    check_length("pad_to_multiple_of", pad_to_multiple_of, MAX_LENGTH_ARGUMENT)
    if pad_to_multiple_of == 0:
        raise ValueError("pad_to_multiple_of=0 is not valid; use a positive integer or None")
    # As in transformers: max_length alone turns truncation on.
    if max_length is not None and padding is False and truncation is None:
        truncation = "longest_first"
    if (
        padding is True
        and verbose
        and max_length is not None
        and truncation in (None, False, "do_not_truncate")
    ):
        warnings.warn(
            "`max_length` is ignored when `padding`=`True` and there is no truncation "
            "strategy. To pad to max length, use `padding='max_length'`.",
            stacklevel=3,
        )
    padding_resolved = padding_strategy(padding)
    truncation_resolved = truncation_strategy(truncation)
    if max_length is None:
        unbounded = model_max_length > LARGE_INTEGER
        if padding_resolved == "max_length":
            if unbounded:
                padding_resolved = "do_not_pad"
            else:
                max_length = model_max_length
        if truncation_resolved != "do_not_truncate":
            if unbounded:
                truncation_resolved = "do_not_truncate"
            else:
                max_length = model_max_length
        # A model_max_length too large for a length, but not so large that it means "no limit".
        check_length("model_max_length", max_length, MAX_LENGTH_ARGUMENT)
    if padding_resolved != "do_not_pad" and not has_pad_token:
        raise ValueError(
            "Asking to pad but the tokenizer does not have a padding token: set "
            "`tokenizer.pad_token` (e.g. to the eos token) or add one with "
            "`tokenizer.add_special_tokens({'pad_token': ...})`."
        )
    if (
        truncation_resolved != "do_not_truncate"
        and padding_resolved != "do_not_pad"
        and pad_to_multiple_of is not None
        and max_length is not None
        and max_length % pad_to_multiple_of != 0
    ):
        raise ValueError(
            f"Truncation and padding are both activated but truncation length ({max_length}) "
            f"is not a multiple of pad_to_multiple_of ({pad_to_multiple_of})."
        )
    return padding_resolved, truncation_resolved, max_length
