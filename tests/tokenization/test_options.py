"""How a call's padding, truncation and lengths resolve into strategies: every combination of
the arguments' kinds, against transformers' own resolution on the same tokenizer settings (the
strategies and length it gives, whether it warns, or that it refuses)."""

from __future__ import annotations

import itertools
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer, BlenderbotSmallTokenizerFast, BlenderbotTokenizer
from bbtok.tokenization.options import VERY_LARGE_INTEGER, resolve_strategies

from conftest import FIXTURES, SAMPLE_DIR, reference_class

PADDINGS: list[Any] = [False, True, None, "longest", "max_length", "do_not_pad"]
TRUNCATIONS: list[Any] = [None, False, True, "longest_first", "only_second", "do_not_truncate"]
MAX_LENGTHS: list[int | None] = [None, 0, 6, 8]
MULTIPLES: list[int | None] = [None, 4]
MODEL_MAX_LENGTHS = [512, VERY_LARGE_INTEGER]


def outcome(resolve: Any, *arguments: Any) -> tuple[Any, ...]:
    """What ``resolve(*arguments)`` gives: its strategies and length, or the type of its error;
    and whether it warned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: tuple[Any, ...] = tuple(resolve(*arguments))
        except ValueError as error:
            result = (type(error).__name__,)
    return result, len(caught)


def transformers_resolution(
    reference: Any,
    padding: Any,
    truncation: Any,
    max_length: int | None,
    pad_to_multiple_of: int | None,
    verbose: bool,
) -> tuple[Any, ...]:
    padding_strategy, truncation_strategy, length, _ = reference._get_padding_truncation_strategies(
        padding=padding,
        truncation=truncation,
        max_length=max_length,
        pad_to_multiple_of=pad_to_multiple_of,
        verbose=verbose,
    )
    return padding_strategy.value, truncation_strategy.value, length


@pytest.mark.parametrize("has_pad_token", [True, False])
@pytest.mark.parametrize("model_max_length", MODEL_MAX_LENGTHS)
def test_strategies_resolve_as_transformers_resolves_them(
    model_max_length: int, has_pad_token: bool
) -> None:
    reference = reference_class().from_pretrained(SAMPLE_DIR)
    reference.model_max_length = model_max_length
    if not has_pad_token:
        reference.pad_token = None
    assert (reference.pad_token is not None) == has_pad_token
    resolve = partial(resolve_strategies, has_pad_token=has_pad_token)
    combinations = itertools.product(PADDINGS, TRUNCATIONS, MAX_LENGTHS, MULTIPLES, [True, False])
    for case in combinations:
        ours = outcome(resolve, *case, model_max_length)
        assert ours == outcome(transformers_resolution, reference, *case), case


@pytest.mark.parametrize(
    ("ours", "theirs", "directory"),
    [
        (BlenderbotSmallTokenizer, "BlenderbotSmallTokenizer", SAMPLE_DIR),
        (BlenderbotSmallTokenizerFast, "BlenderbotSmallTokenizerFast", SAMPLE_DIR),
        (BlenderbotTokenizer, "BlenderbotTokenizer", FIXTURES / "byte_level"),
    ],
)
@pytest.mark.parametrize("method", ["__call__", "pad"])
def test_padding_none_is_refused_as_transformers_refuses_it(
    ours: Any, theirs: str, directory: Path, method: str
) -> None:
    for tokenizer in (
        ours.from_pretrained(directory),
        reference_class(theirs).from_pretrained(directory),
    ):
        if method == "pad":
            call = partial(tokenizer.pad, {"input_ids": [[5, 6], [7]]}, padding=None)
        else:
            call = partial(tokenizer, ["hi", "hello there"], padding=None)
        with pytest.raises(ValueError, match="None"):
            call()
