"""``encode``, ``init_cache`` and ``decode``, as transformers 4.x's Flax classes had them: the
encoder run once, the decoder over its output any number of times, with or without a cache; they
compute what one forward pass (``__call__``) does."""

from __future__ import annotations

import numpy as np
import pytest

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling import (
    BlenderbotForConditionalGeneration,
    BlenderbotSmallForConditionalGeneration,
    BlenderbotSmallModel,
)

from conftest import FIXTURES

INPUT_IDS = np.array([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]])
ATTENTION_MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
DECODER_INPUT_IDS = np.array([[1, 11, 12, 13], [1, 14, 15, 16]])


@pytest.fixture(scope="module")
def model() -> BlenderbotSmallForConditionalGeneration:
    return BlenderbotSmallForConditionalGeneration.from_pretrained(SAMPLE_CHECKPOINT)


def test_encode_gives_the_forward_pass_encoder_state(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    forward = model(INPUT_IDS, ATTENTION_MASK, DECODER_INPUT_IDS)
    np.testing.assert_array_equal(encoded.last_hidden_state, forward.encoder_last_hidden_state)
    assert encoded[0] is encoded.last_hidden_state


def test_decode_gives_the_forward_pass_logits(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    logits = model.decode(DECODER_INPUT_IDS, encoded, ATTENTION_MASK).logits
    expected = model(INPUT_IDS, ATTENTION_MASK, DECODER_INPUT_IDS).logits
    np.testing.assert_array_equal(logits, expected)


def test_decode_without_a_cache_returns_none_for_past_key_values(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    assert model.decode(DECODER_INPUT_IDS, encoded, ATTENTION_MASK).past_key_values is None


def test_decoding_one_position_at_a_time_with_the_cache_gives_the_same_logits(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    expected = model(INPUT_IDS, ATTENTION_MASK, DECODER_INPUT_IDS).logits
    past = model.init_cache(2, 8, encoded)
    for position in range(DECODER_INPUT_IDS.shape[1]):
        step = model.decode(
            DECODER_INPUT_IDS[:, position : position + 1],
            encoded,
            ATTENTION_MASK,
            past_key_values=past,
        )
        np.testing.assert_allclose(step.logits[:, 0], expected[:, position], rtol=0, atol=1e-5)
        past = step.past_key_values
    assert past.length == DECODER_INPUT_IDS.shape[1]


def test_a_cache_given_to_decode_is_left_as_it_was(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    past = model.init_cache(2, 8, encoded)
    first = model.decode(DECODER_INPUT_IDS[:, :1], encoded, past_key_values=past)
    again = model.decode(DECODER_INPUT_IDS[:, :1], encoded, past_key_values=past)
    assert past.length == 0
    np.testing.assert_array_equal(first.logits, again.logits)


def test_a_flax_style_decoder_mask_as_wide_as_the_cache_is_taken(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    past = model.init_cache(2, 8, encoded)
    wide = np.ones((2, 8), dtype=np.int64)
    with_mask = model.decode(DECODER_INPUT_IDS[:, :2], encoded, None, wide, past_key_values=past)
    without = model.decode(DECODER_INPUT_IDS[:, :2], encoded, past_key_values=past)
    np.testing.assert_array_equal(with_mask.logits, without.logits)


def test_decoding_past_the_cache_length_is_refused(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    past = model.init_cache(2, 3, encoded)
    with pytest.raises(ValueError, match=r"init_cache's max_length\): 4 more do not fit"):
        model.decode(DECODER_INPUT_IDS, encoded, past_key_values=past)


def test_a_cache_made_for_other_encoder_outputs_is_refused(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    encoded = model.encode(INPUT_IDS, ATTENTION_MASK)
    other = model.encode(INPUT_IDS[:, ::-1], ATTENTION_MASK)
    past = model.init_cache(2, 8, encoded)
    with pytest.raises(ValueError, match="made for other encoder_outputs"):
        model.decode(DECODER_INPUT_IDS[:, :1], other, past_key_values=past)


def test_decode_refuses_what_is_no_encoder_output(
    model: BlenderbotSmallForConditionalGeneration,
) -> None:
    with pytest.raises(ValueError, match=r"encoder_outputs must be encode\(\)'s output"):
        model.decode(DECODER_INPUT_IDS, np.zeros((2, 5, 3), dtype=np.float32))


def test_the_bare_model_decodes_to_its_forward_pass_hidden_state() -> None:
    bare = BlenderbotSmallModel.from_pretrained(SAMPLE_CHECKPOINT)
    encoded = bare.encode(INPUT_IDS, ATTENTION_MASK)
    hidden = bare.decode(DECODER_INPUT_IDS, encoded, ATTENTION_MASK).last_hidden_state
    expected = bare(INPUT_IDS, ATTENTION_MASK, DECODER_INPUT_IDS).last_hidden_state
    np.testing.assert_array_equal(hidden, expected)


def test_blenderbot_decodes_one_position_at_a_time_as_its_forward_pass() -> None:
    blenderbot = BlenderbotForConditionalGeneration.from_pretrained(FIXTURES / "tiny_blenderbot")
    encoded = blenderbot.encode(INPUT_IDS, ATTENTION_MASK)
    expected = blenderbot(INPUT_IDS, ATTENTION_MASK, DECODER_INPUT_IDS).logits
    past = blenderbot.init_cache(2, 4, encoded)
    steps = []
    for position in range(4):
        step = blenderbot.decode(
            DECODER_INPUT_IDS[:, position : position + 1], encoded, ATTENTION_MASK, None, past
        )
        steps.append(step.logits[:, 0])
        past = step.past_key_values
    np.testing.assert_allclose(np.stack(steps, axis=1), expected, rtol=0, atol=1e-5)
