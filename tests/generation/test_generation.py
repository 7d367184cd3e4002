"""bbtok.generation.search: greedy and beam search give the ids transformers' ``generate`` gives.

Two kinds of tests:

* torch-free ones, on a small deterministic ``TableModel`` (logits looked up in a fixed random
  table by input, position and last token), check properties that must hold whatever the
  scores: greedy equals one-beam beam search with early stopping, no n-gram repeats, minimum and
  maximum lengths, forced EOS at the last position, padding after EOS, float32 casting,
  ``torch.topk``'s tie order, how settings are resolved and which bad settings are refused;
* live ones, when torch and transformers import, build a small random float64
  ``BlenderbotSmallForConditionalGeneration`` and check that ``generate`` here and
  ``model.generate`` there give the same ids for many settings and padded batches, and that
  settings resolved from the fixture checkpoint's ``config.json`` / ``generation_config.json``
  give what ``from_pretrained(...).generate`` gives.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.generation import GenerationSettings, generate
from bbtok.generation.torch_top_k import _heap_select, _sort_heap, torch_top_k

from conftest import live_torch_and_transformers

TINY_MODEL = SAMPLE_CHECKPOINT

IntArray = npt.NDArray[np.int64]

START, EOS, PAD = 1, 2, 0
# BlenderbotSmall's special tokens, as a model's config.json gives them.
CONFIG: dict[str, Any] = {
    "bos_token_id": START,
    "decoder_start_token_id": START,
    "eos_token_id": EOS,
    "forced_eos_token_id": EOS,
    "pad_token_id": PAD,
    "max_position_embeddings": 64,
}


class TableModel:
    """A fake decoder: logits[input, position, last token] from a fixed random table.

    Each row belongs to one input (rows of an input are consecutive, as after transformers'
    repeat_interleave); every token fed is recorded per row, and ``reorder`` permutes those
    records as a real cache would be permuted, so tests can check what the search fed.
    """

    def __init__(
        self,
        inputs: int,
        beams: int,
        *,
        vocab: int = 12,
        positions: int = 40,
        seed: int = 0,
        eos_bias: float = 0.0,
        dtype: type[np.floating[Any]] = np.float64,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.table = rng.standard_normal((inputs, positions, vocab, vocab)) * 2.0
        self.table[..., EOS] += eos_bias
        self.dtype = dtype
        self.input_of_row = np.repeat(np.arange(inputs), beams)
        self.fed: list[list[int]] = [[] for _ in range(inputs * beams)]
        self.reorders: list[IntArray] = []

    def step(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        assert tokens.dtype == np.int64 and tokens.shape == (len(self.fed),)
        position = len(self.fed[0])
        for history, token in zip(self.fed, tokens.tolist(), strict=True):
            history.append(token)
        logits: np.ndarray = self.table[self.input_of_row, position, tokens].astype(self.dtype)
        return logits

    def reorder(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows)
        assert rows.dtype == np.int64 and rows.shape == (len(self.fed),)
        # Beam search only ever reorders the beams of one input among themselves.
        assert (self.input_of_row[rows] == self.input_of_row).all()
        self.reorders.append(rows.copy())
        self.fed = [list(self.fed[row]) for row in rows.tolist()]


def run(
    inputs: int = 3,
    *,
    seed: int = 0,
    eos_bias: float = 0.0,
    vocab: int = 12,
    dtype: type[np.floating[Any]] = np.float64,
    **overrides: Any,
) -> tuple[IntArray, TableModel]:
    settings = GenerationSettings.resolve(CONFIG, None, overrides)
    model = TableModel(
        inputs, settings.num_beams, vocab=vocab, seed=seed, eos_bias=eos_bias, dtype=dtype
    )
    output = generate(model, inputs, settings)
    assert output.dtype == np.int64 and output.ndim == 2
    assert output.shape[0] == inputs * settings.num_return_sequences
    assert (output[:, 0] == START).all()
    return output, model


def generated_part(row: IntArray, eos: tuple[int, ...] = (EOS,)) -> list[int]:
    """The row up to and including its first EOS (the start token included)."""
    tokens: list[int] = row.tolist()
    for index, token in enumerate(tokens):
        if index > 0 and token in eos:
            return tokens[: index + 1]
    return tokens


# -- greedy and beam search on a fake model -----------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_greedy_is_one_beam_search_stopping_early(seed: int) -> None:
    # With one beam and early_stopping=True, beam search keeps the best non-EOS continuation
    # and stops at the first EOS in the top candidate: greedy search. A pad id other than 0 is
    # used because beam search pads with EOS when the pad id is 0 (transformers' `pad or eos`).
    from bbtok.generation.search import _beam_search, _greedy, _Plan

    overrides = {"pad_token_id": 7, "max_length": 15, "early_stopping": True}
    plan = _Plan.of(GenerationSettings.resolve(CONFIG, None, overrides))
    for inputs in (1, 3):
        greedy = _greedy(TableModel(inputs, 1, seed=seed, eos_bias=1.5), inputs, plan)
        beam = _beam_search(TableModel(inputs, 1, seed=seed, eos_bias=1.5), inputs, plan)
        assert greedy.tolist() == beam.tolist()


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("beams", [1, 3])
def test_no_repeated_ngrams(size: int, beams: int) -> None:
    output, _ = run(seed=size, num_beams=beams, no_repeat_ngram_size=size, max_length=12)
    for row in output:
        tokens = generated_part(row)
        grams = [tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]
        assert len(grams) == len(set(grams)), tokens


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("beams", [1, 3])
def test_no_ngram_of_the_encoder_input_is_generated(size: int, beams: int) -> None:
    inputs = 3
    unrestricted = GenerationSettings.resolve(CONFIG, None, {"num_beams": beams, "max_length": 12})
    baseline = generate(TableModel(inputs, beams, seed=size), inputs, unrestricted)
    # The encoder input repeats what the model generates unrestricted: its n-grams must go.
    encoder_ids = baseline[:, 1:6]
    settings = GenerationSettings.resolve(
        CONFIG, None, {"num_beams": beams, "encoder_no_repeat_ngram_size": size, "max_length": 12}
    )
    output = generate(TableModel(inputs, beams, seed=size), inputs, settings, encoder_ids)
    assert output.tolist() != baseline.tolist()
    for row, encoder_row in zip(output, encoder_ids.tolist(), strict=True):
        tokens = generated_part(row)
        banned = {tuple(encoder_row[i : i + size]) for i in range(len(encoder_row) - size + 1)}
        # Each n-gram ending in a generated token (the start token may begin one).
        grams = [tuple(tokens[i - size + 1 : i + 1]) for i in range(max(1, size - 1), len(tokens))]
        assert not banned & set(grams), tokens


def test_encoder_no_repeat_ngram_size_without_encoder_ids_is_ignored_with_a_warning() -> None:
    settings = GenerationSettings.resolve(CONFIG, None, {"encoder_no_repeat_ngram_size": 2})
    plain = GenerationSettings.resolve(CONFIG, None, {})
    with pytest.warns(UserWarning, match="encoder_no_repeat_ngram_size"):
        output = generate(TableModel(2, 1), 2, settings)
    assert output.tolist() == generate(TableModel(2, 1), 2, plain).tolist()


def test_encoder_ids_must_have_a_row_per_input() -> None:
    settings = GenerationSettings.resolve(CONFIG, None, {"encoder_no_repeat_ngram_size": 2})
    with pytest.raises(ValueError, match="encoder_input_ids"):
        generate(TableModel(2, 1), 2, settings, np.zeros((3, 4), dtype=np.int64))


def test_encoder_no_repeat_ngram_size_is_read_from_the_generation_config() -> None:
    settings = GenerationSettings.resolve(CONFIG, {**CONFIG, "encoder_no_repeat_ngram_size": 3}, {})
    assert settings.encoder_no_repeat_ngram_size == 3
    assert GenerationSettings.resolve(CONFIG, None, {}).encoder_no_repeat_ngram_size == 0
    with pytest.raises(ValueError, match="encoder_no_repeat_ngram_size"):
        GenerationSettings.resolve(CONFIG, None, {"encoder_no_repeat_ngram_size": -1})


@pytest.mark.parametrize("beams", [1, 2, 4])
def test_min_length_and_min_new_tokens_hold_back_eos(beams: int) -> None:
    minimums: list[dict[str, Any]] = [
        {"min_length": 6},
        {"min_new_tokens": 5},
        {"min_length": 2, "min_new_tokens": 5},
    ]
    for settings in minimums:
        output, _ = run(seed=beams, eos_bias=4.0, num_beams=beams, max_length=12, **settings)
        for row in output:
            # min_new_tokens wins over min_length: EOS comes after at least 5 new tokens.
            assert EOS not in row.tolist()[1:6], (settings, row)
    # Without a minimum, this EOS-loving table ends sooner.
    output, _ = run(seed=beams, eos_bias=4.0, num_beams=beams, max_length=12)
    assert any(EOS in row.tolist()[1:6] for row in output)


@pytest.mark.parametrize("beams", [1, 3])
def test_max_length_and_max_new_tokens_bound_the_output(beams: int) -> None:
    no_eos: dict[str, Any] = {"eos_token_id": None, "forced_eos_token_id": None, "num_beams": beams}
    assert run(max_length=9, **no_eos)[0].shape[1] == 9
    assert run(max_new_tokens=4, **no_eos)[0].shape[1] == 5
    # max_new_tokens wins over max_length, as in transformers.
    assert run(max_new_tokens=4, max_length=30, **no_eos)[0].shape[1] == 5
    # Nothing given: 20 new tokens after the start token.
    assert run(**no_eos)[0].shape[1] == 21
    for seed in range(4):
        assert run(seed=seed, eos_bias=1.0, max_length=7, num_beams=beams)[0].shape[1] <= 7


@pytest.mark.parametrize("beams", [1, 2, 5])
def test_forced_eos_at_the_last_position(beams: int) -> None:
    output, _ = run(seed=beams, eos_bias=-50.0, num_beams=beams, max_length=8)
    assert output.shape[1] == 8
    assert (output[:, -1] == EOS).all()
    assert EOS not in output[:, 1:-1]
    output, _ = run(
        seed=beams, eos_bias=-50.0, num_beams=beams, max_length=8, forced_eos_token_id=None
    )
    assert EOS not in output


def test_forced_bos_comes_first() -> None:
    for beams in (1, 3):
        output, _ = run(num_beams=beams, forced_bos_token_id=9, max_length=6)
        assert (output[:, 1] == 9).all()


def test_greedy_pads_after_eos_and_feeds_the_pad() -> None:
    found = False
    for seed in range(10):
        output, model = run(seed=seed, eos_bias=1.0, max_length=14)
        for row, fed in zip(output.tolist(), model.fed, strict=True):
            if EOS in row[1:]:
                end = row.index(EOS, 1)
                assert all(token == PAD for token in row[end + 1 :])
                # transformers keeps feeding finished rows their pad token.
                assert fed == row[: len(fed)]
                found = found or end + 1 < len(row)
    assert found, "no row finished before the others"


def test_eos_list_and_its_padding() -> None:
    for beams in (1, 3):
        output, _ = run(seed=3, eos_bias=1.0, num_beams=beams, eos_token_id=[5, EOS], max_length=14)
        for row in output:
            tokens = generated_part(row, (5, EOS))
            rest = row.tolist()[len(tokens) :]
            # Greedy pads with pad_token_id; beam search with EOS when the pad id is 0.
            assert all(token == (PAD if beams == 1 else 5) for token in rest), row


def test_beam_outputs_are_ordered_and_the_cache_follows_the_beams() -> None:
    output, model = run(
        inputs=2,
        seed=4,
        num_beams=4,
        num_return_sequences=4,
        eos_token_id=None,
        forced_eos_token_id=None,
        max_length=9,
        length_penalty=1.0,
    )
    assert model.reorders, "beam search never reordered the cache"
    # The returned hypotheses are the last running beams: the cache must hold their tokens.
    for row in output.tolist():
        assert row[:-1] in model.fed
    # Best first: the sum of log-probabilities of each input's hypotheses decreases.
    table = model.table
    for i in range(2):
        scores = []
        for row in output[i * 4 : (i + 1) * 4].tolist():
            logits = table[i, np.arange(len(row) - 1), row[:-1]].astype(np.float32)
            log_probs = logits - np.log(np.exp(logits.astype(np.float64)).sum(1, keepdims=True))
            scores.append(float(log_probs[np.arange(len(row) - 1), row[1:]].sum()))
        assert scores == sorted(scores, reverse=True)


def test_logits_are_cast_to_float32_first() -> None:
    # Tokens 3 and 7 differ by less than float32 can tell: transformers casts the logits to
    # float32 first, so argmax sees a tie and takes the lower id.
    class Tie:
        def step(self, tokens: np.ndarray) -> np.ndarray:
            logits = np.zeros((len(tokens), 10))
            logits[:, 3] = 5.0
            logits[:, 7] = 5.0 + 1e-12
            return logits

        def reorder(self, rows: np.ndarray) -> None:
            raise AssertionError("greedy search never reorders")

    settings = GenerationSettings.resolve(
        CONFIG, None, {"max_length": 3, "forced_eos_token_id": None}
    )
    assert generate(Tie(), 2, settings).tolist() == [[START, 3, 3], [START, 3, 3]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64_models_agree_when_float32_logits_agree(
    dtype: type[np.floating[Any]],
) -> None:
    first, _ = run(seed=9, dtype=dtype, num_beams=3, length_penalty=0.65, max_length=12)
    second, _ = run(seed=9, dtype=np.float32, num_beams=3, length_penalty=0.65, max_length=12)
    assert first.tolist() == second.tolist()


def test_early_stopping_true_stops_sooner() -> None:
    calls: dict[object, int] = {}
    for stopping in (True, False, "never"):
        _, model = run(seed=2, eos_bias=1.0, num_beams=3, early_stopping=stopping, max_length=30)
        calls[stopping] = len(model.fed[0])
    assert calls[True] <= calls[False] <= calls["never"]


# -- torch.topk's order ----------------------------------------------------------------------------


def test_top_k_of_distinct_values_is_a_descending_sort() -> None:
    rng = np.random.default_rng(0)
    for n, k in [(5, 5), (12, 4), (640, 10), (5000, 20), (70000, 40)]:
        values = rng.standard_normal(n).astype(np.float32)
        assert torch_top_k(values, k).tolist() == np.argsort(-values)[:k].tolist()


def test_top_k_fast_path_is_std_partial_sort() -> None:
    rng = random.Random(1)
    for _ in range(200):
        n = rng.choice([640, 1000, 3000])
        k = rng.randint(1, n // 64)
        values = np.array(
            [rng.choice([0.0, 1.0, 2.0, -1e9, -np.inf]) for _ in range(n)], np.float32
        )
        entries = list(zip(values.tolist(), range(n), strict=True))
        _heap_select(entries, 0, k, n)
        _sort_heap(entries, 0, k)
        assert torch_top_k(values, k).tolist() == [index for _, index in entries[:k]]


# -- settings --------------------------------------------------------------------------------------


def test_resolve_takes_generation_config_json_over_config_json() -> None:
    generation_config = {
        "bos_token_id": 1,
        "decoder_start_token_id": 1,
        "eos_token_id": 2,
        "forced_eos_token_id": 2,
        "length_penalty": 0.65,
        "max_length": 24,
        "min_length": 3,
        "no_repeat_ngram_size": 3,
        "num_beams": 2,
        "pad_token_id": 0,
        "transformers_version": "5.23.0",
        "temperature": 0.7,
    }
    config = {**CONFIG, "num_beams": 9, "max_length": 99, "vocab_size": 64}
    settings = GenerationSettings.resolve(config, generation_config, {})
    assert settings == GenerationSettings(
        max_length=24,
        min_length=3,
        num_beams=2,
        length_penalty=0.65,
        no_repeat_ngram_size=3,
        forced_eos_token_id=2,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        decoder_start_token_id=1,
    )
    # Without generation_config.json, config.json's generation keys count (None ones do not).
    settings = GenerationSettings.resolve({**config, "forced_bos_token_id": None}, None, {})
    assert (settings.num_beams, settings.max_length, settings.forced_bos_token_id) == (9, 99, None)
    # The caller's overrides come last, None included.
    settings = GenerationSettings.resolve(
        config, generation_config, {"num_beams": 4, "forced_eos_token_id": None}
    )
    assert (settings.num_beams, settings.forced_eos_token_id) == (4, None)


def test_resolve_lengths_as_transformers() -> None:
    def resolved(config: dict[str, Any], **overrides: Any) -> GenerationSettings:
        return GenerationSettings.resolve(config, None, overrides)

    # No max_length anywhere: 20 new tokens, capped by the position embeddings.
    assert resolved(CONFIG).max_length == 21
    assert resolved({**CONFIG, "max_position_embeddings": 16}).max_length == 16
    assert (
        resolved({k: v for k, v in CONFIG.items() if k != "max_position_embeddings"}).max_length
        == 21
    )
    # An explicit max_length is the total length and is not capped.
    assert resolved({**CONFIG, "max_position_embeddings": 16}, max_length=30).max_length == 30
    assert resolved({**CONFIG, "max_length": 30}).max_length == 30
    # max_new_tokens / min_new_tokens count after the start token and win.
    assert resolved(CONFIG, max_new_tokens=5, max_length=50).max_length == 6
    assert resolved(CONFIG, min_new_tokens=4, min_length=50).min_length == 5
    # early_stopping as transformers reads it: only True itself and "never" count.
    assert resolved(CONFIG, early_stopping=None).early_stopping is False
    assert resolved(CONFIG, early_stopping=1).early_stopping is False
    assert resolved(CONFIG, early_stopping="never").early_stopping == "never"


def test_settings_built_directly_take_new_tokens_over_absolute_lengths() -> None:
    # Without resolve, max_length keeps its value; the bound generation uses is the same as if
    # resolve had converted max_new_tokens.
    settings = GenerationSettings(
        decoder_start_token_id=START, max_length=50, max_new_tokens=5, min_new_tokens=2
    )
    assert (settings.max_length, settings.max_total_length) == (50, 6)
    assert (settings.min_length, settings.min_total_length) == (0, 3)
    plain = GenerationSettings(decoder_start_token_id=START, max_length=9, min_length=4)
    assert (plain.max_total_length, plain.min_total_length) == (9, 4)
    resolved = GenerationSettings.resolve(CONFIG, None, {"max_new_tokens": 5, "max_length": 50})
    assert resolved.max_total_length == resolved.max_length == 6


def test_resolve_ignores_sampling_only_and_no_effect_options() -> None:
    settings = GenerationSettings.resolve(
        CONFIG,
        None,
        {"do_sample": False, "temperature": 0.3, "top_k": 5, "top_p": 0.5, "use_cache": False},
    )
    assert settings == GenerationSettings.resolve(CONFIG, None, {})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_length": -1}, "max_length"),
        ({"max_length": 1}, "max_length"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"min_length": -3}, "min_length"),
        ({"min_new_tokens": -1}, "min_new_tokens"),
        ({"num_beams": 0}, "num_beams"),
        ({"num_beams": 2, "num_return_sequences": 3}, "num_return_sequences"),
        ({"num_return_sequences": 2}, "num_return_sequences"),
        ({"num_return_sequences": 0}, "num_return_sequences"),
        ({"length_penalty": float("nan")}, "length_penalty"),
        ({"length_penalty": "long"}, "length_penalty"),
        ({"early_stopping": "sometimes"}, "early_stopping"),
        ({"no_repeat_ngram_size": -2}, "no_repeat_ngram_size"),
        ({"no_repeat_ngram_size": 2.5}, "no_repeat_ngram_size"),
        ({"num_beams": True}, "num_beams"),
        ({"eos_token_id": []}, "eos_token_id"),
        ({"eos_token_id": [2, -1]}, "eos_token_id"),
        ({"forced_eos_token_id": "2"}, "forced_eos_token_id"),
        ({"pad_token_id": -1}, "pad_token_id"),
        ({"decoder_start_token_id": None, "bos_token_id": None}, "decoder_start_token_id"),
        ({"do_sample": True}, "do_sample"),
        ({"repetition_penalty": 1.2}, "repetition_penalty"),
        ({"bad_words_ids": [[3]]}, "bad_words_ids"),
        ({"return_dict_in_generate": True}, "return_dict_in_generate"),
    ],
)
def test_bad_settings_raise_value_error_naming_them(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        GenerationSettings.resolve(CONFIG, None, overrides)


def test_neutral_unsupported_options_are_accepted() -> None:
    settings = GenerationSettings.resolve(
        CONFIG, None, {"repetition_penalty": 1.0, "bad_words_ids": None, "suppress_tokens": []}
    )
    assert settings == GenerationSettings.resolve(CONFIG, None, {})
    with pytest.raises(ValueError, match="encoder_repetition_penalty"):
        GenerationSettings.resolve({**CONFIG, "encoder_repetition_penalty": 1.5}, None, {})


def test_unknown_settings_raise_type_error_naming_them() -> None:
    with pytest.raises(TypeError, match="max_lenght, num_beam"):
        GenerationSettings.resolve(CONFIG, None, {"num_beam": 2, "max_lenght": 5, "num_beams": 2})


def test_settings_built_directly_are_checked() -> None:
    with pytest.raises(ValueError, match="num_beams"):
        GenerationSettings(num_beams=0, decoder_start_token_id=1)
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        GenerationSettings()
    with pytest.raises(ValueError, match="batch_size"):
        generate(TableModel(1, 1), 0, GenerationSettings(decoder_start_token_id=1))
    # A numpy integer is an integer (and is stored as an int).
    settings = GenerationSettings(num_beams=np.int64(2), bos_token_id=1)  # type: ignore[arg-type]
    assert type(settings.num_beams) is int and settings.num_beams == 2


# -- live: the same ids as transformers' generate ------------------------------------------------


class TorchStepModel:
    """transformers' decoder as a StepModel: the encoder runs once, each step uses the cache."""

    def __init__(self, model: Any, input_ids: Any, attention_mask: Any, expand: int) -> None:
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        self.model = model
        with torch.no_grad():
            encoded = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
        # As transformers expands its inputs for beam search: each row num_beams times in a row.
        self.encoder_outputs = BaseModelOutput(
            last_hidden_state=encoded.last_hidden_state.repeat_interleave(expand, dim=0)
        )
        self.attention_mask = attention_mask.repeat_interleave(expand, dim=0)
        self.cache: Any = None

    def step(self, tokens: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.model(
                encoder_outputs=self.encoder_outputs,
                attention_mask=self.attention_mask,
                decoder_input_ids=torch.from_numpy(np.asarray(tokens)).view(-1, 1),
                past_key_values=self.cache,
                use_cache=True,
            )
        self.cache = out.past_key_values
        return out.logits[:, -1].numpy()  # type: ignore[no-any-return]

    def reorder(self, rows: np.ndarray) -> None:
        import torch

        self.cache.reorder_cache(torch.from_numpy(np.asarray(rows)))


def random_batch(rng: random.Random, torch: Any, vocab: int) -> tuple[Any, Any]:
    """1 to 3 inputs of 2 to 9 tokens ending with EOS, right-padded, with their mask."""
    rows = rng.randint(1, 3)
    lengths = [rng.randint(2, 9) for _ in range(rows)]
    ids = torch.full((rows, max(lengths)), PAD, dtype=torch.long)
    mask = torch.zeros((rows, max(lengths)), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.tensor(
            [rng.randint(3, vocab - 1) for _ in range(length - 1)] + [EOS]
        )
        mask[row, :length] = 1
    return ids, mask


@pytest.fixture(scope="module")
def random_model() -> Any:
    """A small random float64 BlenderbotSmall whose generations vary and sometimes end early.

    transformers' own initialisation gives a model that repeats one token; larger, untied
    weights (scaled like fixtures/make_tiny_model.py's) and a raised EOS bias give varied
    outputs of varied lengths.
    """
    torch, transformers = live_torch_and_transformers()
    torch.manual_seed(20250611)
    config = transformers.BlenderbotSmallConfig(
        vocab_size=64,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        init_std=0.5,
        scale_embedding=True,
        tie_word_embeddings=False,
        attn_implementation="eager",
    )
    model = transformers.BlenderbotSmallForConditionalGeneration(config).to(torch.float64).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "layer_norm" in name or "layernorm" in name:
                parameter.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
            elif name.endswith("bias"):
                parameter.normal_(0.0, 0.1)
            elif "embed_positions" in name:
                parameter.normal_(0.0, 0.6)
            elif "shared" in name or "lm_head" in name:
                parameter.normal_(0.0, 1.0)
                parameter.mul_(1.6 / parameter.norm(dim=1, keepdim=True))
            elif "encoder_attn" in name:
                parameter.normal_(0.0, 0.12)
            elif "attn" in name:
                parameter.normal_(0.0, 0.9)
            elif "fc" in name:
                parameter.normal_(0.0, 0.1)
        model.final_logits_bias.normal_(0.0, 0.2)
        model.final_logits_bias[0, EOS] += 1.5
    return model


def live_cases() -> list[dict[str, Any]]:
    """Settings for the live comparison: a grid of the beam options, each with a few random
    length / special-token / return options, then the corner cases."""
    rng = random.Random(5)
    cases: list[dict[str, Any]] = []
    grid: list[dict[str, Any]] = [{"no_repeat_ngram_size": size} for size in (0, 2, 3)]
    for beams in (2, 3, 4, 5):
        for penalty in (0.65, 1.0, 2.0):
            for stopping in (True, False, "never"):
                size = rng.choice((0, 2, 3))
                grid.append(
                    {
                        "num_beams": beams,
                        "length_penalty": penalty,
                        "early_stopping": stopping,
                        "no_repeat_ngram_size": size,
                    }
                )
    # Twice over, with different extras each time.
    for base in grid + grid:
        case = dict(base)
        draw = rng.random()
        if draw < 0.2:
            case["min_length"] = rng.randint(2, 14)
        elif draw < 0.4:
            case["min_new_tokens"] = rng.randint(1, 12)
        elif draw < 0.5:
            case["min_new_tokens"] = rng.randint(1, 6)
            case["min_length"] = rng.randint(7, 14)
        draw = rng.random()
        if draw < 0.3:
            case["max_length"] = rng.randint(2, 30)
        elif draw < 0.6:
            case["max_new_tokens"] = rng.randint(1, 30)
        if rng.random() < 0.3:
            case["forced_eos_token_id"] = None
        if rng.random() < 0.25:
            case["eos_token_id"] = [EOS, rng.randint(3, 63)]
        beams = case.get("num_beams", 1)
        if beams > 1 and rng.random() < 0.5:
            case["num_return_sequences"] = rng.randint(2, beams)
        cases.append(case)
    cases += [
        {"num_beams": 3, "max_length": 2},
        {"num_beams": 3, "max_length": 2, "num_return_sequences": 3},
        {"num_beams": 3, "max_length": 2, "num_return_sequences": 3, "pad_token_id": 7},
        {
            "num_beams": 3,
            "max_new_tokens": 1,
            "forced_eos_token_id": None,
            "num_return_sequences": 2,
        },
        {"num_beams": 4, "forced_bos_token_id": 9, "num_return_sequences": 4},
        {"num_beams": 4, "forced_bos_token_id": 9, "max_length": 2, "num_return_sequences": 4},
        {"forced_bos_token_id": 9},
        {"eos_token_id": None, "forced_eos_token_id": None},
        {"num_beams": 3, "eos_token_id": None, "forced_eos_token_id": None, "pad_token_id": None},
        {"pad_token_id": None, "max_length": 30},
        {"num_beams": 2, "pad_token_id": 5, "num_return_sequences": 2, "max_length": 30},
        {"pad_token_id": 5, "max_length": 30},
        {"no_repeat_ngram_size": 1, "max_length": 30},
        {"num_beams": 3, "no_repeat_ngram_size": 1, "max_length": 30},
        {"num_beams": 2, "eos_token_id": [EOS, EOS], "num_return_sequences": 2},
        {"num_beams": 5, "length_penalty": -1.0, "early_stopping": "never"},
        {"num_beams": 5, "length_penalty": 0.0, "early_stopping": "never"},
        {"num_beams": 5, "length_penalty": 2, "early_stopping": True},
        {"num_beams": 2, "min_length": 30, "max_length": 25},
        {"num_beams": 2, "early_stopping": None},
        {"decoder_start_token_id": 5, "num_beams": 2},
        {"num_beams": 3, "forced_eos_token_id": [EOS, 9], "max_length": 6},
        {
            "num_beams": 3,
            "forced_eos_token_id": [9, EOS],
            "max_length": 6,
            "num_return_sequences": 3,
        },
        {"forced_eos_token_id": [9, EOS], "max_length": 6},
        {"eos_token_id": [7, EOS], "num_beams": 3, "num_return_sequences": 3},
        {"num_beams": 2, "max_new_tokens": 60, "length_penalty": 2.0, "early_stopping": "never"},
        {"num_beams": 5, "min_new_tokens": 20, "max_new_tokens": 25, "no_repeat_ngram_size": 2},
        # Most tokens end a sequence: more than num_beams of the best candidates are EOS, so
        # the number of candidates kept, (1 + len(eos)) * num_beams, matters.
        {"num_beams": 3, "eos_token_id": list(range(2, 34)), "num_return_sequences": 3},
        {"num_beams": 2, "eos_token_id": list(range(2, 60)), "min_new_tokens": 2},
        {"eos_token_id": list(range(2, 34)), "max_length": 9},
    ]
    return cases


LIVE_CASES = live_cases()


def compare(model: Any, ids: Any, mask: Any, settings: GenerationSettings, **kwargs: Any) -> None:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        # transformers warns about its default max_length and unfeasible minimum lengths.
        warnings.simplefilter("ignore")
        expected = model.generate(ids, attention_mask=mask, **kwargs).numpy()
    ours = generate(TorchStepModel(model, ids, mask, settings.num_beams), ids.shape[0], settings)
    assert ours.shape == expected.shape, (ours, expected)
    assert ours.tolist() == expected.tolist()


@pytest.mark.live
@pytest.mark.parametrize("case", range(len(LIVE_CASES)))
def test_live_same_ids_as_transformers(random_model: Any, case: int) -> None:
    torch, _ = live_torch_and_transformers()
    overrides = LIVE_CASES[case]
    ids, mask = random_batch(random.Random(case), torch, 64)
    settings = GenerationSettings.resolve(random_model.config.to_dict(), None, overrides)
    compare(random_model, ids, mask, settings, **overrides)


@pytest.fixture(scope="module")
def twin_model(random_model: Any) -> Any:
    """random_model with tokens 35-63 made twins of tokens 6-34, their logits 1e-13 apart.

    In float32 (what transformers decides on) twins tie exactly; in float64 they do not. So
    greedy search must take the lower id as transformers' float32 argmax does, and beam search
    must order the tied candidates as torch.topk does.
    """
    torch, _ = live_torch_and_transformers()
    model = copy.deepcopy(random_model)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        twins, originals = torch.arange(35, 64), torch.arange(6, 35)
        noise = torch.randn((29, 16), generator=generator, dtype=torch.float64) * 1e-13
        model.lm_head.weight[twins] = model.lm_head.weight[originals] + noise
        model.final_logits_bias[0, twins] = model.final_logits_bias[0, originals]
    return model


TWIN_CASES: list[dict[str, Any]] = [
    {},
    {"no_repeat_ngram_size": 2, "max_length": 25},
    {"num_beams": 2},
    {"num_beams": 3, "num_return_sequences": 3, "length_penalty": 0.65},
    {"num_beams": 4, "early_stopping": True, "no_repeat_ngram_size": 3},
    {"num_beams": 5, "early_stopping": "never", "num_return_sequences": 5, "min_new_tokens": 4},
    {"num_beams": 3, "eos_token_id": [EOS, 40], "pad_token_id": 9, "num_return_sequences": 2},
    {"num_beams": 2, "forced_eos_token_id": [EOS, 50, 12], "max_new_tokens": 7},
]


@pytest.mark.live
@pytest.mark.parametrize("case", range(len(TWIN_CASES)))
def test_live_exact_ties_as_transformers(twin_model: Any, case: int) -> None:
    torch, _ = live_torch_and_transformers()
    overrides = TWIN_CASES[case]
    for batch in range(3):
        ids, mask = random_batch(random.Random(1000 + 10 * case + batch), torch, 64)
        settings = GenerationSettings.resolve(twin_model.config.to_dict(), None, overrides)
        compare(twin_model, ids, mask, settings, **overrides)


@pytest.mark.live
def test_live_outputs_are_not_degenerate(random_model: Any) -> None:
    # The comparison means something only if generations vary and end at varied lengths.
    torch, _ = live_torch_and_transformers()
    ids = torch.randint(3, 64, (16, 8), generator=torch.Generator().manual_seed(0))
    ids[:, -1] = EOS
    with torch.no_grad():
        greedy = random_model.generate(ids, attention_mask=torch.ones_like(ids), max_length=30)
    lengths = {int((row != PAD).sum()) for row in greedy}
    assert len(lengths) >= 4
    assert np.mean([len(set(row.tolist())) for row in greedy]) >= 5


@pytest.mark.live
def test_live_top_k_matches_torch() -> None:
    torch, _ = live_torch_and_transformers()
    rng = random.Random(2)
    for trial in range(600):
        n = rng.choice([3, 8, 17, 64, 320, 1000, 5000])
        k = rng.randint(1, min(n, 40))
        pool = rng.choice([(0.0, 1.0), (0.0, 1.0, 2.0, -1e9, -np.inf), (0.5, np.nan, -1.0)])
        values = np.array([rng.choice(pool) for _ in range(n)], dtype=np.float32)
        expected = torch.topk(torch.from_numpy(values), k).indices.tolist()
        assert torch_top_k(values, k).tolist() == expected, (n, k, trial)


FIXTURE_CASES: list[dict[str, Any]] = [
    {},
    {"num_beams": 1},
    {"num_beams": 4, "num_return_sequences": 2},
    {"num_beams": 3, "early_stopping": True, "length_penalty": 1.0, "max_new_tokens": 12},
    {"min_new_tokens": 6, "forced_eos_token_id": None},
]


@pytest.mark.live
@pytest.mark.parametrize("with_generation_config", [True, False])
def test_live_settings_from_the_fixture_files(with_generation_config: bool, tmp_path: Path) -> None:
    # from_pretrained reads generation_config.json when there is one, else config.json's
    # generation keys; resolve must read the same files the same way.
    torch, transformers = live_torch_and_transformers()
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(TINY_MODEL / name, folder / name)
    generation_config = None
    if with_generation_config:
        shutil.copy(TINY_MODEL / "generation_config.json", folder / "generation_config.json")
        generation_config = json.loads((folder / "generation_config.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    model = transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(
        folder, dtype=torch.float64, attn_implementation="eager"
    ).eval()
    rng = random.Random(11)
    for overrides in FIXTURE_CASES:
        settings = GenerationSettings.resolve(config, generation_config, overrides)
        ids, mask = random_batch(rng, torch, config["vocab_size"])
        compare(model, ids, mask, settings, **overrides)


# -- live: no repeated n-grams on a checkpoint whose logits depend on the context ---------------
#
# Beam search over float32 scores meets exact ties when a model's logits barely depend on the
# context (a random checkpoint at transformers' default initialisation): hypotheses holding the
# same tokens in another order then score the same, and the float32 rounding of torch's
# log_softmax, which depends on the CPU, decides which one is kept. The sample checkpoint's
# weights are scaled so that its logits depend on the context; there the ids must be identical.


@pytest.fixture(scope="module")
def sample_model() -> Any:
    """The sample checkpoint in transformers, float64 (the dtype both sides generate in)."""
    torch, transformers = live_torch_and_transformers()
    return transformers.BlenderbotSmallForConditionalGeneration.from_pretrained(
        SAMPLE_CHECKPOINT, dtype=torch.float64, attn_implementation="eager"
    ).eval()


def sample_settings(overrides: dict[str, Any]) -> GenerationSettings:
    config = json.loads((SAMPLE_CHECKPOINT / "config.json").read_text(encoding="utf-8"))
    generation_config = json.loads(
        (SAMPLE_CHECKPOINT / "generation_config.json").read_text(encoding="utf-8")
    )
    return GenerationSettings.resolve(config, generation_config, overrides)


@pytest.mark.live
def test_live_sample_checkpoint_scores_reordered_tokens_differently(sample_model: Any) -> None:
    torch, _ = live_torch_and_transformers()
    encoder_ids = torch.tensor([[40, 50, 60, 70, EOS]])
    with torch.no_grad():
        log_probs = [
            torch.log_softmax(
                sample_model(
                    input_ids=encoder_ids,
                    attention_mask=torch.ones_like(encoder_ids),
                    decoder_input_ids=torch.tensor([[START, *prefix, 300]]),
                ).logits[0, -1],
                dim=-1,
            )
            for prefix in ((100, 200), (200, 100))
        ]
    # Far beyond float32 rounding (about 1e-6 at these magnitudes).
    assert (log_probs[0] - log_probs[1]).abs().max().item() > 1.0


NO_REPEAT_TRIGRAM_CASES: list[dict[str, Any]] = [
    {"num_beams": 2, "no_repeat_ngram_size": 3, "max_new_tokens": 30},
    {"num_beams": 3, "no_repeat_ngram_size": 3, "max_new_tokens": 30, "min_new_tokens": 10},
    {"num_beams": 4, "no_repeat_ngram_size": 3, "max_new_tokens": 30, "length_penalty": 1.0},
    {"num_beams": 5, "no_repeat_ngram_size": 3, "max_new_tokens": 30, "early_stopping": True},
]


@pytest.mark.live
def test_live_no_repeat_ngram_size_3_changes_the_sample_checkpoint_beams(
    sample_model: Any,
) -> None:
    # Otherwise the comparison below would not exercise the n-gram ban.
    torch, _ = live_torch_and_transformers()
    changed = 0
    for case, overrides in enumerate(NO_REPEAT_TRIGRAM_CASES):
        ids, mask = random_batch(random.Random(2000 + case), torch, 16388)
        with torch.no_grad():
            outputs = [
                sample_model.generate(ids, attention_mask=mask, **{**overrides, **ban}).tolist()
                for ban in ({}, {"no_repeat_ngram_size": 0})
            ]
        changed += outputs[0] != outputs[1]
    assert changed >= len(NO_REPEAT_TRIGRAM_CASES) // 2


@pytest.mark.live
@pytest.mark.parametrize("case", range(len(NO_REPEAT_TRIGRAM_CASES)))
def test_live_beam_search_banning_repeated_trigrams_gives_transformers_ids_on_the_sample(
    sample_model: Any, case: int
) -> None:
    torch, _ = live_torch_and_transformers()
    overrides = NO_REPEAT_TRIGRAM_CASES[case]
    ids, mask = random_batch(random.Random(2000 + case), torch, 16388)
    compare(sample_model, ids, mask, sample_settings(overrides), **overrides)
