"""``generate`` of the decoder-only language models (``BlenderbotForCausalLM``,
``BlenderbotSmallForCausalLM``): the prompt is ``input_ids``, the returned rows start with it,
and float64 greedy and beam search give the ids transformers' ``*ForCausalLM.generate`` gives.

BlenderbotSmall's causal checkpoint is ``fixtures/tiny_blenderbot_small_causal`` (as transformers
saves a ``BlenderbotSmallForCausalLM``), with goldens written by
``fixtures/make_causal_lm_goldens.py``; Blenderbot's is the tiny encoder-decoder's decoder under
transformers' names (``causal_checkpoint``). Live comparisons run when torch and transformers
import.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_blenderbot_model import (
    CAUSAL_GOLDENS,
    TINY_BLENDERBOT,
    TINY_BLENDERBOT_SMALL_CAUSAL,
    causal_checkpoint,
)

from bbtok.modeling import BlenderbotForCausalLM, BlenderbotSmallForCausalLM
from bbtok.modeling.causal_lm import CausalLMBase

from conftest import live_torch_and_transformers

VOCAB_SIZE = 64  # both tiny checkpoints'

# A small grid over what the search does with a prompt: the checkpoint's defaults, lengths
# counted with or without it, minimum lengths, n-grams over the whole sequence, beams,
# penalties, early stopping, forced EOS. Written once, by the goldens' script.
SETTINGS: list[dict[str, Any]] = CAUSAL_GOLDENS["settings"]


def causal_directory(family: str, scratch: Path) -> Path:
    """The tiny causal checkpoint of ``family``: BlenderbotSmall's committed one, Blenderbot's
    renamed from its encoder-decoder into ``scratch``."""
    if family == "BlenderbotSmall":
        return TINY_BLENDERBOT_SMALL_CAUSAL
    return causal_checkpoint(TINY_BLENDERBOT, scratch)


FAMILIES = {"Blenderbot": BlenderbotForCausalLM, "BlenderbotSmall": BlenderbotSmallForCausalLM}


def their_generate(theirs: Any, torch: Any, ids: Any, mask: Any, **settings: Any) -> Any:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        arguments = {"input_ids": torch.tensor(ids)}
        if mask is not None:
            arguments["attention_mask"] = torch.tensor(mask)
        return theirs.generate(**arguments, **settings).tolist()


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def both_models(request: Any, tmp_path_factory: Any) -> tuple[CausalLMBase, Any, Any]:
    """Ours and transformers' causal LM of one family, in float64."""
    torch, transformers = live_torch_and_transformers()
    family = request.param
    directory = causal_directory(family, tmp_path_factory.mktemp(family))
    theirs = getattr(transformers, f"{family}ForCausalLM").from_pretrained(
        directory, attn_implementation="eager", dtype=torch.float64
    )
    ours = FAMILIES[family].from_pretrained(directory, dtype="float64")
    return ours, theirs.eval(), torch


@pytest.mark.live
def test_live_unpadded_batches_generate_transformers_ids(
    both_models: tuple[CausalLMBase, Any, Any],
) -> None:
    ours, theirs, torch = both_models
    rng = np.random.default_rng(11)
    for prompt_length in (1, 4):
        ids = rng.integers(3, VOCAB_SIZE, size=(2, prompt_length))
        for settings in SETTINGS:
            expected = their_generate(theirs, torch, ids, None, **settings)
            assert ours.generate(ids, **settings).tolist() == expected, settings


@pytest.mark.live
def test_live_left_padded_batches_generate_transformers_ids(
    both_models: tuple[CausalLMBase, Any, Any],
) -> None:
    ours, theirs, torch = both_models
    rng = np.random.default_rng(12)
    ids = rng.integers(3, VOCAB_SIZE, size=(3, 6))
    ids[1, :2] = 0
    ids[2, :4] = 0
    mask = (ids != 0).astype(np.int64)
    for settings in SETTINGS:
        expected = their_generate(theirs, torch, ids, mask, **settings)
        assert ours.generate(ids, mask, **settings).tolist() == expected, settings
        # Without a mask, the pad token tells the padding, as in transformers.
        assert ours.generate(ids, **settings).tolist() == expected, settings


@pytest.mark.live
def test_live_checkpoint_defaults_generate_transformers_ids(
    both_models: tuple[CausalLMBase, Any, Any],
) -> None:
    ours, theirs, torch = both_models
    ids = np.array([[5, 6, 7], [8, 9, 10]])
    assert ours.generate(ids).tolist() == their_generate(theirs, torch, ids, None)


# -- goldens: fixtures/tiny_blenderbot_small_causal --------------------------------------------


@pytest.fixture(scope="module")
def small_causal64() -> BlenderbotSmallForCausalLM:
    return BlenderbotSmallForCausalLM.from_pretrained(TINY_BLENDERBOT_SMALL_CAUSAL, dtype="float64")


@pytest.mark.parametrize(
    "golden",
    CAUSAL_GOLDENS["generations"],
    ids=[f"{g['prompt']}-{g['settings']}" for g in CAUSAL_GOLDENS["generations"]],
)
def test_small_causal_float64_generations_are_transformers_ids(
    golden: dict[str, Any], small_causal64: BlenderbotSmallForCausalLM
) -> None:
    prompt = CAUSAL_GOLDENS["prompts"][golden["prompt"]]
    ids = small_causal64.generate(
        prompt["input_ids"], prompt["attention_mask"], **golden["settings"]
    )
    assert ids.tolist() == golden["ids"]


# -- the search on a prompt -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: Any) -> BlenderbotForCausalLM:
    directory = causal_checkpoint(TINY_BLENDERBOT, tmp_path_factory.mktemp("causal"))
    return BlenderbotForCausalLM.from_pretrained(directory, dtype="float64")


def test_generated_rows_start_with_the_prompt(small_model: BlenderbotForCausalLM) -> None:
    ids = np.array([[5, 6, 7, 8], [9, 10, 11, 12]])
    for beams in (1, 3):
        output = small_model.generate(ids, num_beams=beams, max_new_tokens=5, min_new_tokens=5)
        assert output.shape == (2, 9)
        assert output[:, :4].tolist() == ids.tolist()


def test_max_length_counts_the_prompt(small_model: BlenderbotForCausalLM) -> None:
    ids = np.array([[5, 6, 7, 8]])
    output = small_model.generate(ids, max_length=7, min_length=7, num_beams=1)
    assert output.shape == (1, 7)


def test_greedy_is_the_argmax_of_the_forward_pass(small_model: BlenderbotForCausalLM) -> None:
    ids = np.array([[5, 6, 7, 8]])
    # The checkpoint forces EOS last and bans its prompt's 3-grams: switched off here.
    output = small_model.generate(
        ids,
        max_new_tokens=4,
        min_new_tokens=4,
        num_beams=1,
        forced_eos_token_id=None,
        encoder_no_repeat_ngram_size=0,
    )
    for length in range(4, 8):
        logits = small_model(output[:, :length]).logits[:, -1]
        assert int(np.argmax(logits)) == output[0, length]


def test_a_prompt_as_long_as_max_length_is_refused(small_model: BlenderbotForCausalLM) -> None:
    with pytest.raises(ValueError, match="Input length of input_ids is 4, but `max_length` is set"):
        small_model.generate(np.array([[5, 6, 7, 8]]), max_length=4)


def test_generation_past_the_positions_is_refused(small_model: BlenderbotForCausalLM) -> None:
    with pytest.raises(ValueError, match="cannot generate past 32 positions"):
        small_model.generate(
            np.array([[5, 6, 7, 8]]), max_new_tokens=40, min_new_tokens=40, num_beams=1
        )
