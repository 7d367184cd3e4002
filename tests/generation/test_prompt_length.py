"""Lengths of a decoder-only model's generation count its prompt (``input_ids``), as
transformers counts them: ``GenerationSettings.resolve(..., prompt_length)`` and ``generate``'s
``prompt``."""

from __future__ import annotations

import numpy as np
import pytest

from bbtok.generation import GenerationSettings, generate

CONFIG = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "max_position_embeddings": 64}


def test_new_token_limits_count_after_the_whole_prompt() -> None:
    settings = GenerationSettings.resolve(
        CONFIG, None, {"max_new_tokens": 5, "min_new_tokens": 2}, prompt_length=7
    )
    assert (settings.max_total_length, settings.min_total_length) == (12, 9)


def test_absolute_limits_include_the_prompt() -> None:
    settings = GenerationSettings.resolve(CONFIG, None, {"max_length": 10}, prompt_length=7)
    assert settings.max_total_length == 10


def test_the_default_is_twenty_new_tokens_capped_by_the_positions() -> None:
    assert GenerationSettings.resolve(CONFIG, None, {}, prompt_length=7).max_total_length == 27
    assert GenerationSettings.resolve(CONFIG, None, {}, prompt_length=50).max_total_length == 64


def test_prompt_length_is_not_a_generation_setting() -> None:
    with pytest.raises(TypeError, match="unknown generation setting"):
        GenerationSettings.resolve(CONFIG, None, {"prompt_length": 3})


def test_a_prompt_of_another_shape_is_refused() -> None:
    settings = GenerationSettings.resolve(CONFIG, None, {}, prompt_length=3)
    with pytest.raises(ValueError, match="the prompt must have shape"):
        generate(object(), 2, settings, prompt=np.zeros((2, 4), dtype=np.int64))  # type: ignore[arg-type]
