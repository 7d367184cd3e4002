"""transformers' own machinery, handed bbtok's tokenizers, gives what it gives with its own.

Each test runs a client (the data collators, ``Trainer``, ``pipeline``) once with a bbtok
tokenizer and once with transformers' class loaded from the same directory, on a tiny random
model transformers builds from a config, and compares the outputs. Live: they skip when torch
or transformers is missing (CI installs both; ``Trainer`` also needs accelerate).

The clients call the tokenizer through its methods (``__call__``, ``pad``, ``decode``,
``save_pretrained``, ``apply_chat_template``…), which bbtok implements. Two calls in
``Trainer.__init__`` and ``Trainer.train`` instead ask ``isinstance(processing_class,
PreTrainedTokenizerBase)``, a plain class (no ``abc`` registration is possible) that bbtok does
not derive from; the last tests pin what follows from that.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bbtok
from bbtok.data import SAMPLE_CHECKPOINT

from conftest import FIXTURES, live_torch_and_transformers

BYTE_LEVEL = FIXTURES / "byte_level"
TINY_BLENDERBOT = FIXTURES / "tiny_blenderbot"

# (bbtok's class, transformers' class, tokenizer directory, config the tiny model is built from)
CASES = {
    "small-python": (
        "BlenderbotSmallTokenizer",
        "BlenderbotSmallTokenizer",
        SAMPLE_CHECKPOINT,
        SAMPLE_CHECKPOINT,
    ),
    "small-fast": (
        "BlenderbotSmallTokenizerFast",
        "BlenderbotSmallTokenizer",
        SAMPLE_CHECKPOINT,
        SAMPLE_CHECKPOINT,
    ),
    "byte-level": ("BlenderbotTokenizer", "BlenderbotTokenizer", BYTE_LEVEL, TINY_BLENDERBOT),
}
# Every test here runs transformers on torch.
pytestmark = pytest.mark.live

TEXTS = [
    "Hello there, how are you?",
    "A much longer sentence, to make the batch ragged: it goes on and on.",
    "Hi",
    "What's up?",
]
TARGETS = ["I am fine, thanks.", "Fine.", "Hello to you too, my friend!", "Not much."]


class Case:
    """One tokenizer class of bbtok beside transformers' own, both loaded from one directory."""

    def __init__(self, name: str, scratch: Path) -> None:
        self.torch, self.transformers = live_torch_and_transformers()
        ours_name, reference_name, self.directory, self.model_config = CASES[name]
        self.ours_class = getattr(bbtok, ours_name)
        self.reference_class = getattr(self.transformers, reference_name)
        if self.directory == BYTE_LEVEL:
            # The hub's vocab.json form is where bbtok adds an </s> that transformers does not
            # (a documented difference); what transformers saves is where they agree.
            self.reference_class.from_pretrained(str(BYTE_LEVEL)).save_pretrained(scratch)
            self.directory = scratch
        self.ours = self.ours_class.from_pretrained(self.directory)
        self.reference = self.reference_class.from_pretrained(str(self.directory))

    def tokenizers(self) -> tuple[Any, Any]:
        return self.ours, self.reference

    def config(self, causal: bool = False) -> Any:
        """The tiny model's config, its vocabulary as large as the tokenizer's."""
        config = self.transformers.AutoConfig.from_pretrained(str(self.model_config))
        config.vocab_size = len(self.reference)
        if causal:
            config.is_decoder = True
            config.is_encoder_decoder = False
        return config

    def seq2seq_model(self) -> Any:
        self.torch.manual_seed(0)
        return self.transformers.AutoModelForSeq2SeqLM.from_config(self.config()).eval()

    def causal_model(self) -> Any:
        self.torch.manual_seed(0)
        return self.transformers.AutoModelForCausalLM.from_config(self.config(causal=True)).eval()


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case(request.param, tmp_path_factory.mktemp("tokenizer"))


def as_arrays(batch: Any) -> dict[str, np.ndarray]:
    return {key: np.asarray(value) for key, value in batch.items()}


def assert_same_batches(ours: Any, reference: Any) -> None:
    assert type(ours) is type(reference) or set(ours) == set(reference)
    ours_arrays, reference_arrays = as_arrays(ours), as_arrays(reference)
    assert sorted(ours_arrays) == sorted(reference_arrays)
    for key, value in reference_arrays.items():
        assert type(ours[key]) is type(reference[key]), key
        assert ours_arrays[key].dtype == value.dtype, key
        np.testing.assert_array_equal(ours_arrays[key], value, err_msg=key)


@pytest.mark.parametrize("return_tensors", ["pt", "np"])
@pytest.mark.parametrize("pad_to_multiple_of", [None, 8])
def test_data_collator_with_padding_pads_bbtok_encodings_as_transformers_own(
    case: Case, pad_to_multiple_of: int | None, return_tensors: str
) -> None:
    collated = []
    for tok in case.tokenizers():
        collator = case.transformers.DataCollatorWithPadding(
            tok, pad_to_multiple_of=pad_to_multiple_of, return_tensors=return_tensors
        )
        collated.append(collator([tok(text) for text in TEXTS]))
    assert_same_batches(*collated)


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_data_collator_with_padding_follows_the_tokenizers_padding_side(
    case: Case, padding_side: str
) -> None:
    collated = []
    for tok in case.tokenizers():
        features = [tok(text) for text in TEXTS]
        tok.padding_side = padding_side
        try:
            collator = case.transformers.DataCollatorWithPadding(tok, return_tensors="np")
            collated.append(collator(features))
        finally:
            tok.padding_side = "right"
    assert_same_batches(*collated)


def test_text_target_and_text_pair_target_become_labels_as_in_transformers(case: Case) -> None:
    ours, reference = (
        tok(
            TEXTS[:2],
            text_pair=TEXTS[2:],
            text_target=TARGETS[:2],
            text_pair_target=TARGETS[2:],
            padding=True,
        )
        for tok in case.tokenizers()
    )
    assert dict(ours) == dict(reference)
    assert "labels" in ours


def test_text_target_alone_encodes_the_targets_as_in_transformers(case: Case) -> None:
    ours, reference = (tok(text_target=TARGETS) for tok in case.tokenizers())
    assert dict(ours) == dict(reference)


@pytest.mark.parametrize("return_tensors", ["pt", "np"])
@pytest.mark.parametrize("pad_to_multiple_of", [None, 8])
def test_seq2seq_collator_pads_bbtok_inputs_and_labels_as_transformers_own(
    case: Case, pad_to_multiple_of: int | None, return_tensors: str
) -> None:
    model = case.seq2seq_model()
    collated = []
    for tok in case.tokenizers():
        collator = case.transformers.DataCollatorForSeq2Seq(
            tok, model=model, pad_to_multiple_of=pad_to_multiple_of, return_tensors=return_tensors
        )
        features = [
            dict(tok(text, text_target=target)) for text, target in zip(TEXTS, TARGETS, strict=True)
        ]
        collated.append(collator(features))
    assert "labels" in collated[1]
    assert_same_batches(*collated)


def train_two_steps(case: Case, tok: Any, output_dir: Path) -> Any:
    """Two steps of ``Trainer`` on CPU with ``tok`` as its processing class, a checkpoint saved
    after each; returns the trainer."""
    transformers = case.transformers
    pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate")
    model = case.seq2seq_model().train()
    arguments = transformers.TrainingArguments(
        output_dir=str(output_dir),
        max_steps=2,
        save_steps=1,
        per_device_train_batch_size=2,
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
        seed=0,
        data_seed=0,
    )
    dataset = [
        dict(tok(text, text_target=target)) for text, target in zip(TEXTS, TARGETS, strict=True)
    ]
    trainer = transformers.Trainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        processing_class=tok,
        data_collator=transformers.DataCollatorForSeq2Seq(tok, model=model),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return trainer


def test_trainer_saves_a_bbtok_tokenizer_with_each_checkpoint_loadable_by_both_libraries(
    case: Case, tmp_path: Path
) -> None:
    train_two_steps(case, case.ours, tmp_path)
    texts = [*TEXTS, "<s> special </s> tokens <pad> inside"]
    expected = case.reference(texts)["input_ids"]
    for step in (1, 2):
        checkpoint = tmp_path / f"checkpoint-{step}"
        assert (checkpoint / "tokenizer_config.json").is_file()
        reloaded_ours = case.ours_class.from_pretrained(checkpoint)
        reloaded_reference = case.transformers.AutoTokenizer.from_pretrained(str(checkpoint))
        assert type(reloaded_reference).__name__ == case.reference_class.__name__
        assert reloaded_ours(texts)["input_ids"] == expected
        assert reloaded_reference(texts)["input_ids"] == expected
        assert reloaded_reference.special_tokens_map == case.reference.special_tokens_map


def test_trainer_trains_with_a_bbtok_tokenizer_as_with_transformers_own(
    case: Case, tmp_path: Path
) -> None:
    losses = []
    for name, tok in zip(("ours", "reference"), case.tokenizers(), strict=True):
        trainer = train_two_steps(case, tok, tmp_path / name)
        losses.append([entry["loss"] for entry in trainer.state.log_history if "loss" in entry])
    assert losses[0] == losses[1]


def test_text_generation_pipeline_generates_with_a_bbtok_tokenizer_as_with_transformers_own(
    case: Case,
) -> None:
    generated = []
    for tok in case.tokenizers():
        generate = case.transformers.pipeline(
            "text-generation", model=case.causal_model(), tokenizer=tok, device="cpu"
        )
        generated.append(generate(TEXTS[:2], max_new_tokens=6, do_sample=False))
    assert generated[0] == generated[1]


def test_feature_extraction_pipeline_takes_a_bbtok_tokenizer_as_transformers_own(
    case: Case,
) -> None:
    features = []
    for tok in case.tokenizers():
        extract = case.transformers.pipeline(
            "feature-extraction", model=case.causal_model(), tokenizer=tok, device="cpu"
        )
        features.append([np.asarray(row) for row in extract(TEXTS)])
    for ours, reference in zip(*features, strict=True):
        np.testing.assert_array_equal(ours, reference)


def test_trainer_without_a_collator_does_not_pad_for_a_bbtok_tokenizer(
    case: Case, tmp_path: Path
) -> None:
    """``Trainer`` picks ``DataCollatorWithPadding`` only for a ``PreTrainedTokenizerBase``; for
    bbtok's tokenizer it falls back to ``default_data_collator``: pass ``data_collator=``."""
    pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate")
    transformers = case.transformers
    arguments = transformers.TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    model = case.seq2seq_model()
    ours, reference = (
        transformers.Trainer(model=model, args=arguments, processing_class=tok)
        for tok in case.tokenizers()
    )
    assert isinstance(reference.data_collator, transformers.DataCollatorWithPadding)
    assert ours.data_collator is transformers.default_data_collator
