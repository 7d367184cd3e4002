"""The pre-LayerNorm Blenderbot models, the bare models, the decoder-only language models and the
loader that picks a class from ``config.json``, against transformers.

Goldens recorded by ``fixtures/make_blenderbot_goldens.py`` on ``fixtures/tiny_blenderbot`` and by
``fixtures/make_causal_lm_goldens.py`` on ``fixtures/tiny_blenderbot_small_causal`` (a
``BlenderbotSmallForCausalLM`` as transformers saves it) are checked without torch; live
comparisons run when torch and transformers' model classes import. float32 outputs agree with
the goldens within 1e-4; live, float64 outputs agree with transformers' within 1e-9, float32 ones
are as accurate as transformers' (``assert_float32_as_accurate_as_transformers`` in conftest.py
says why), and float64 generations are identical.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from bbtok.data import SAMPLE_CHECKPOINT
from bbtok.modeling import (
    BlenderbotConfig,
    BlenderbotForCausalLM,
    BlenderbotForConditionalGeneration,
    BlenderbotModel,
    BlenderbotSmallConfig,
    BlenderbotSmallForCausalLM,
    BlenderbotSmallForConditionalGeneration,
    BlenderbotSmallModel,
    auto_model,
)
from bbtok.modeling.auto import model_class

from conftest import (
    FIXTURES,
    FLOAT64_TOLERANCE,
    assert_float32_as_accurate_as_transformers,
    live_torch_and_transformers,
)

TINY_BLENDERBOT = FIXTURES / "tiny_blenderbot"
GOLDENS = json.loads((FIXTURES / "tiny_blenderbot_goldens.json").read_text(encoding="utf-8"))
TINY_BLENDERBOT_SMALL_CAUSAL = FIXTURES / "tiny_blenderbot_small_causal"
CAUSAL_GOLDENS = json.loads(
    (FIXTURES / "tiny_blenderbot_small_causal_goldens.json").read_text(encoding="utf-8")
)
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model32() -> BlenderbotForConditionalGeneration:
    return BlenderbotForConditionalGeneration.from_pretrained(TINY_BLENDERBOT)


@pytest.fixture(scope="module")
def model64() -> BlenderbotForConditionalGeneration:
    return BlenderbotForConditionalGeneration.from_pretrained(TINY_BLENDERBOT, dtype="float64")


def causal_checkpoint(source: Path, target: Path) -> Path:
    """The decoder of the checkpoint in ``source`` under transformers' names for a
    ``...ForCausalLM``: ``model.decoder.…``, the embeddings at ``model.decoder.embed_tokens``."""
    target.mkdir(exist_ok=True)
    weights = load_file(source / "model.safetensors")
    decoder = {name: value for name, value in weights.items() if name.startswith("model.decoder.")}
    decoder["model.decoder.embed_tokens.weight"] = weights["model.shared.weight"]
    save_file(decoder, target / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    architecture = config["architectures"][0].replace("ForConditionalGeneration", "ForCausalLM")
    config.update(architectures=[architecture], is_decoder=True, is_encoder_decoder=False)
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


def bare_checkpoint(source: Path, target: Path) -> Path:
    """The checkpoint in ``source`` as transformers saves the bare model: no ``model.`` prefix,
    no output layer."""
    target.mkdir(exist_ok=True)
    weights = load_file(source / "model.safetensors")
    bare = {
        name.removeprefix("model."): value
        for name, value in weights.items()
        if name.startswith("model.")
    }
    save_file(bare, target / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config["architectures"] = [
        config["architectures"][0].replace("ForConditionalGeneration", "Model")
    ]
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


# -- goldens --------------------------------------------------------------------------------


def test_float32_logits_match_the_goldens(model32: BlenderbotForConditionalGeneration) -> None:
    case = GOLDENS["logits"]
    output = model32(
        case["input_ids"],
        case["attention_mask"],
        case["decoder_input_ids"],
        case["decoder_attention_mask"],
    )
    assert output.logits.dtype == np.float32
    np.testing.assert_allclose(output.logits, case["logits"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(
    "golden", GOLDENS["generations"], ids=[str(g["settings"]) for g in GOLDENS["generations"]]
)
def test_float64_generations_are_transformers_ids(
    golden: dict[str, Any], model64: BlenderbotForConditionalGeneration
) -> None:
    inputs = GOLDENS["generation_inputs"]
    ids = model64.generate(inputs["input_ids"], inputs["attention_mask"], **golden["settings"])
    assert ids.tolist() == golden["ids"]


def test_encoder_no_repeat_ngram_size_comes_from_the_generation_config(
    model64: BlenderbotForConditionalGeneration,
) -> None:
    # generation_config.json sets 3: leaving it out and passing 3 give the same ids; 0 differs.
    inputs = GOLDENS["generation_inputs"]
    args = (inputs["input_ids"], inputs["attention_mask"])
    default = model64.generate(*args, num_beams=1)
    assert (
        default.tolist()
        == model64.generate(*args, num_beams=1, encoder_no_repeat_ngram_size=3).tolist()
    )
    assert (
        default.tolist()
        != model64.generate(*args, num_beams=1, encoder_no_repeat_ngram_size=0).tolist()
    )


@pytest.mark.parametrize("source", ["whole", "bare"])
def test_bare_model_hidden_states_match_the_goldens(source: str, tmp_path: Path) -> None:
    directory = TINY_BLENDERBOT if source == "whole" else bare_checkpoint(TINY_BLENDERBOT, tmp_path)
    model = BlenderbotModel.from_pretrained(directory)
    case, golden = GOLDENS["logits"], GOLDENS["bare"]
    output = model(
        case["input_ids"],
        case["attention_mask"],
        case["decoder_input_ids"],
        case["decoder_attention_mask"],
    )
    np.testing.assert_allclose(
        output.last_hidden_state, golden["last_hidden_state"], rtol=0, atol=TOLERANCE
    )
    np.testing.assert_allclose(
        output.encoder_last_hidden_state,
        golden["encoder_last_hidden_state"],
        rtol=0,
        atol=TOLERANCE,
    )


def test_bare_model_needs_decoder_input_ids() -> None:
    model = BlenderbotModel.from_pretrained(TINY_BLENDERBOT)
    with pytest.raises(ValueError, match=r"decoder_input_ids is required.*Blenderbot does not"):
        model([[5, 6, 2]])


def test_lm_model_reads_a_bare_checkpoint_with_tied_head_and_zero_bias(tmp_path: Path) -> None:
    bare = BlenderbotForConditionalGeneration.from_pretrained(
        bare_checkpoint(TINY_BLENDERBOT, tmp_path)
    )
    assert not bare.final_logits_bias.any()
    assert bare.lm_head is bare.shared


def test_causal_lm_logits_match_the_goldens(tmp_path: Path) -> None:
    model = BlenderbotForCausalLM.from_pretrained(causal_checkpoint(TINY_BLENDERBOT, tmp_path))
    case = GOLDENS["causal"]
    logits = model(case["input_ids"], case["attention_mask"]).logits
    np.testing.assert_allclose(logits, case["logits"], rtol=0, atol=TOLERANCE)


def test_blenderbot_small_causal_lm_logits_match_the_goldens() -> None:
    model = BlenderbotSmallForCausalLM.from_pretrained(TINY_BLENDERBOT_SMALL_CAUSAL)
    case = CAUSAL_GOLDENS["logits"]
    logits = model(case["input_ids"], case["attention_mask"]).logits
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, case["logits"], rtol=0, atol=TOLERANCE)


# -- configuration --------------------------------------------------------------------------


def test_blenderbot_config_has_transformers_defaults() -> None:
    config = BlenderbotConfig()
    assert (config.vocab_size, config.d_model, config.encoder_layers, config.decoder_layers) == (
        8008,
        2560,
        2,
        24,
    )
    assert config.max_position_embeddings == 128
    assert config.encoder_no_repeat_ngram_size == 3
    assert config.to_diff_dict() == {"model_type": "blenderbot"}


@pytest.mark.parametrize(
    "knob",
    [
        {"normalize_before": True},
        {"add_final_layer_norm": True},
        {"do_blenderbot_90_layernorm": False},
        {"normalize_embedding": False},
        {"static_position_embeddings": False},
        {"add_bias_logits": False},
        {"extra_pos_embeddings": 0},
        {"scale_embedding": False},
        {"force_bos_token_to_be_generated": True},
    ],
)
def test_old_knobs_that_describe_what_transformers_runs_are_accepted(knob: dict[str, Any]) -> None:
    config = BlenderbotConfig(**knob)
    name, value = next(iter(knob.items()))
    assert getattr(config, name) == value


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("normalize_before", False),
        ("add_final_layer_norm", False),
        ("do_blenderbot_90_layernorm", True),
        ("normalize_embedding", True),
        ("static_position_embeddings", True),
        ("add_bias_logits", True),
        ("extra_pos_embeddings", 2),
        ("normalize_before", 1),
    ],
)
def test_old_knobs_asking_for_another_model_are_refused_naming_knob_and_file(
    knob: str, value: Any, tmp_path: Path
) -> None:
    directory = tmp_path / "checkpoint"
    shutil.copytree(TINY_BLENDERBOT, directory)
    config_file = directory / "config.json"
    values = json.loads(config_file.read_text(encoding="utf-8"))
    config_file.write_text(json.dumps({**values, knob: value}), encoding="utf-8")
    with pytest.raises(ValueError) as error:
        BlenderbotConfig.from_pretrained(directory)
    message = str(error.value)
    assert str(config_file) in message and f"{knob}={value!r} is not supported" in message
    with pytest.raises(ValueError, match=knob):
        BlenderbotForConditionalGeneration.from_pretrained(directory)


def test_force_bos_token_to_be_generated_forces_bos(
    model64: BlenderbotForConditionalGeneration, tmp_path: Path
) -> None:
    directory = tmp_path / "checkpoint"
    shutil.copytree(TINY_BLENDERBOT, directory)
    (directory / "generation_config.json").unlink()
    config_file = directory / "config.json"
    values = json.loads(config_file.read_text(encoding="utf-8"))
    config_file.write_text(
        json.dumps({**values, "force_bos_token_to_be_generated": True}), encoding="utf-8"
    )
    model = BlenderbotForConditionalGeneration.from_pretrained(directory, dtype="float64")
    ids = model.generate([[5, 6, 7, 2]], max_new_tokens=3)
    assert ids[0, 1] == values["bos_token_id"]


def test_each_config_reads_only_its_model_type() -> None:
    with pytest.raises(ValueError, match="model_type is 'blenderbot', not 'blenderbot-small'"):
        BlenderbotSmallConfig.from_pretrained(TINY_BLENDERBOT)
    with pytest.raises(ValueError, match="model_type is 'blenderbot-small', not 'blenderbot'"):
        BlenderbotConfig.from_pretrained(SAMPLE_CHECKPOINT)


# -- the loader -----------------------------------------------------------------------------


def test_auto_model_picks_the_class_config_json_names(tmp_path: Path) -> None:
    assert type(auto_model(TINY_BLENDERBOT)) is BlenderbotForConditionalGeneration
    assert type(auto_model(SAMPLE_CHECKPOINT)) is BlenderbotSmallForConditionalGeneration
    bare = auto_model(bare_checkpoint(TINY_BLENDERBOT, tmp_path / "bare"))
    assert type(bare) is BlenderbotModel
    causal = auto_model(causal_checkpoint(TINY_BLENDERBOT, tmp_path / "causal"), dtype="float64")
    assert type(causal) is BlenderbotForCausalLM
    assert causal.dtype is np.float64
    assert type(auto_model(TINY_BLENDERBOT_SMALL_CAUSAL)) is BlenderbotSmallForCausalLM


def test_model_class_without_architectures_is_the_lm_model() -> None:
    assert model_class("blenderbot", None) is BlenderbotForConditionalGeneration
    assert model_class("blenderbot-small", ["BlenderbotSmallModel"]) is BlenderbotSmallModel
    assert model_class("blenderbot-small", ["X", "BlenderbotSmallForCausalLM"]) is (
        BlenderbotSmallForCausalLM
    )


def test_model_class_refuses_what_it_does_not_run() -> None:
    with pytest.raises(ValueError, match="model_type 'bart' is not supported"):
        model_class("bart", None, "config.json")
    with pytest.raises(ValueError, match=r"none of architectures \['BlenderbotModel'\]"):
        model_class("blenderbot-small", ["BlenderbotModel"], "config.json")


# -- live: transformers itself --------------------------------------------------------------


@pytest.mark.live
def test_live_logits_and_generations_match_transformers(
    model32: BlenderbotForConditionalGeneration, model64: BlenderbotForConditionalGeneration
) -> None:
    torch, transformers = live_torch_and_transformers()
    reference = transformers.BlenderbotForConditionalGeneration
    theirs32 = reference.from_pretrained(TINY_BLENDERBOT, attn_implementation="eager").eval()
    theirs64 = reference.from_pretrained(
        TINY_BLENDERBOT, attn_implementation="eager", dtype=torch.float64
    ).eval()
    rng = np.random.default_rng(5)
    ours, theirs, exact = [], [], []
    for _ in range(4):
        ids = rng.integers(3, 64, size=(2, 9))
        ids[:, -1] = 2
        ids[1, 6:] = 0
        mask = (ids != 0).astype(np.int64)
        targets = np.concatenate([np.ones((2, 1), dtype=np.int64), ids[:, :5]], axis=1)
        tensors = {
            "input_ids": torch.tensor(ids),
            "attention_mask": torch.tensor(mask),
            "decoder_input_ids": torch.tensor(targets),
        }
        with torch.no_grad():
            theirs.append(theirs32(**tensors).logits.numpy())
            exact.append(theirs64(**tensors).logits.numpy())
        ours.append(model32(ids, mask, targets).logits)
        np.testing.assert_allclose(
            model64(ids, mask, targets).logits, exact[-1], rtol=0, atol=FLOAT64_TOLERANCE
        )
        for settings in ({"num_beams": 1}, {"num_beams": 3, "encoder_no_repeat_ngram_size": 2}):
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                their_ids = theirs64.generate(
                    input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), **settings
                )
            assert model64.generate(ids, mask, **settings).tolist() == their_ids.tolist()
    assert_float32_as_accurate_as_transformers(ours, theirs, exact)


@pytest.mark.live
@pytest.mark.parametrize("family", ["Blenderbot", "BlenderbotSmall"])
def test_live_bare_model_matches_transformers(family: str, tmp_path: Path) -> None:
    torch, transformers = live_torch_and_transformers()
    source = TINY_BLENDERBOT if family == "Blenderbot" else Path(SAMPLE_CHECKPOINT)
    ours = {"Blenderbot": BlenderbotModel, "BlenderbotSmall": BlenderbotSmallModel}[family]
    vocab = 64 if family == "Blenderbot" else 16388
    ids = np.array([[5, 6, 7, 8, 2], [9, vocab - 1, 2, 0, 0]])
    mask = (ids != 0).astype(np.int64)
    targets = np.array([[1, 4, 5], [1, 7, 0]])
    target_mask = np.array([[1, 1, 1], [1, 1, 0]])
    expected = {}
    for dtype in ("float32", "float64"):
        theirs = getattr(transformers, f"{family}Model").from_pretrained(
            source, attn_implementation="eager", dtype=getattr(torch, dtype)
        )
        with torch.no_grad():
            output = theirs.eval()(
                input_ids=torch.tensor(ids),
                attention_mask=torch.tensor(mask),
                decoder_input_ids=torch.tensor(targets),
                decoder_attention_mask=torch.tensor(target_mask),
            )
        expected[dtype] = [
            output.last_hidden_state.numpy(),
            output.encoder_last_hidden_state.numpy(),
        ]
    for directory in (source, bare_checkpoint(source, tmp_path)):
        states = {}
        for dtype in ("float32", "float64"):
            output = ours.from_pretrained(directory, dtype=dtype)(ids, mask, targets, target_mask)
            states[dtype] = [output.last_hidden_state, output.encoder_last_hidden_state]
        for state, exact in zip(states["float64"], expected["float64"], strict=True):
            np.testing.assert_allclose(state, exact, rtol=0, atol=FLOAT64_TOLERANCE)
        assert_float32_as_accurate_as_transformers(
            states["float32"], expected["float32"], expected["float64"]
        )


@pytest.mark.live
@pytest.mark.parametrize(
    "checkpoint", ["tiny_blenderbot renamed", "tiny_blenderbot_small_causal", "sample renamed"]
)
def test_live_causal_lm_matches_transformers(checkpoint: str, tmp_path: Path) -> None:
    torch, transformers = live_torch_and_transformers()
    if checkpoint == "tiny_blenderbot_small_causal":
        family, directory = "BlenderbotSmall", TINY_BLENDERBOT_SMALL_CAUSAL
    elif checkpoint == "sample renamed":
        # The one causal checkpoint stored in float16, with a vocabulary far wider than the model.
        family, directory = "BlenderbotSmall", causal_checkpoint(Path(SAMPLE_CHECKPOINT), tmp_path)
    else:
        family, directory = "Blenderbot", causal_checkpoint(TINY_BLENDERBOT, tmp_path)
    ours = {"Blenderbot": BlenderbotForCausalLM, "BlenderbotSmall": BlenderbotSmallForCausalLM}
    ids = np.array([[5, 6, 7, 8, 9, 2], [0, 0, 11, 12, 13, 2]])
    mask = (ids != 0).astype(np.int64)
    expected, logits = {}, {}
    for dtype in ("float32", "float64"):
        theirs = getattr(transformers, f"{family}ForCausalLM").from_pretrained(
            directory, attn_implementation="eager", dtype=getattr(torch, dtype)
        )
        with torch.no_grad():
            expected[dtype] = theirs.eval()(
                input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), use_cache=False
            ).logits.numpy()
        logits[dtype] = ours[family].from_pretrained(directory, dtype=dtype)(ids, mask).logits
    np.testing.assert_allclose(
        logits["float64"], expected["float64"], rtol=0, atol=FLOAT64_TOLERANCE
    )
    assert_float32_as_accurate_as_transformers(
        [logits["float32"]], [expected["float32"]], [expected["float64"]]
    )
