"""Greedy and beam-search decoding for BlenderbotSmall, giving the ids transformers 5.23.0 gives.

``generate`` drives any decoder that implements ``StepModel`` (one new token per row in, the next
token's logits out, and a cache that beam search can reorder) and returns what
``BlenderbotSmallForConditionalGeneration.generate`` returns for the same logits: the same ids,
the same output length and the same padding. ``GenerationSettings.resolve`` combines
``config.json``, ``generation_config.json`` and the caller's keyword arguments the way
``generate`` combines them.

What "the same" takes, in the order transformers does things:

* lengths count the decoder prompt, which for an encoder-decoder model is the single
  ``decoder_start_token_id``; ``max_new_tokens`` and ``min_new_tokens`` therefore mean
  ``max_length = max_new_tokens + 1`` and ``min_length = min_new_tokens + 1``;
* the logits are cast to float32 before anything else, whatever the model's dtype; greedy search
  processes those logits, beam search their float32 log-softmax, and every score of beam search
  (running sums, length-normalised scores, the -1e9 masks) is float32 arithmetic;
* the processors run in transformers' order: no-repeat n-grams, minimum length, forced BOS,
  forced EOS (so the forced tokens win over the others);
* beam search keeps ``max(2, 1 + len(eos)) * num_beams`` candidates a step, normalises a finished
  hypothesis by its generated length (the tokens after the start token, EOS included) to the
  power ``length_penalty``, and stops by transformers' rules for ``early_stopping``;
* beam search pads its outputs with ``pad_token_id or eos[0]`` (so with EOS when the pad id
  is 0, as BlenderbotSmall's is), greedy search with ``pad_token_id``;
* candidates are ranked as torch.topk ranks them on the CPU, including the order of exact
  ties, which its unstable sort decides (see ``_torch_top_k``).

One thing cannot be promised bit for bit: transformers' float32 log-softmax sums its
exponentials in SIMD lanes whose width depends on the CPU; here the sum is taken in float64 and
rounded, so the subtracted log-sum-exp can differ from torch's by an ulp. The ids differ only if
two candidates from different beams score within that ulp of each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["GenerationSettings", "StepModel", "generate"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Float32Array = npt.NDArray[np.float32]

# An encoder-decoder model's decoder prompt is its start token alone.
_PROMPT_LENGTH = 1
# transformers' global default: with no max_length anywhere, generate 20 tokens after the prompt.
_DEFAULT_NEW_TOKENS = 20
# BlenderbotSmallConfig's max_position_embeddings, for a config.json that leaves it out; the
# default max_length is capped by it.
_DEFAULT_MAX_POSITIONS = 512
# Every integer setting must fit in int64, as transformers' tensors hold them; a larger one would
# otherwise fail inside numpy with an OverflowError that names nothing.
_INT64_MAX = 2**63 - 1
# The "impossible" score transformers' beam search adds to masked candidates, in float32.
_MASKED = np.float32(-1.0e9)
_NEG_INF = np.float32(-np.inf)

# transformers' fallbacks for settings neither the model's files nor the caller give.
_GLOBAL_DEFAULTS: dict[str, Any] = {
    "max_length": 20,
    "min_length": 0,
    "do_sample": False,
    "early_stopping": False,
    "num_beams": 1,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "num_return_sequences": 1,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
}
# Used only when sampling; transformers ignores them (with a warning) when do_sample is False.
_SAMPLING_ONLY = frozenset(
    ["temperature", "top_k", "top_p", "min_p", "top_h", "typical_p", "epsilon_cutoff", "eta_cutoff"]
)
# transformers settings that never change the generated ids of greedy or beam search.
_NO_EFFECT = frozenset(
    [
        "use_cache",
        "cache_implementation",
        "cache_config",
        "max_cache_len",
        "compile_config",
        "disable_compile",
        "prefill_chunk_size",
        "output_attentions",
        "output_hidden_states",
        "output_scores",
        "output_logits",
        "num_assistant_tokens",
        "num_assistant_tokens_schedule",
        "assistant_confidence_threshold",
        "assistant_lookbehind",
        "target_lookbehind",
        "max_matching_ngram_size",
        "assistant_ensemble_weight",
        "speculation_type",
    ]
)
# transformers settings this module does not implement, with the values that switch them off.
# Any other value would change the ids, so it is refused rather than silently ignored.
_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "repetition_penalty": (1.0,),
    "encoder_repetition_penalty": (1.0,),
    "encoder_no_repeat_ngram_size": (0,),
    "bad_words_ids": (),
    "sequence_bias": (),
    "suppress_tokens": ([],),
    "begin_suppress_tokens": ([],),
    "exponential_decay_length_penalty": (),
    "renormalize_logits": (False,),
    "remove_invalid_values": (False,),
    "guidance_scale": (1.0,),
    "num_beam_groups": (1,),
    "diversity_penalty": (0.0,),
    "constraints": (),
    "force_words_ids": (),
    "penalty_alpha": (0.0,),
    "dola_layers": (),
    "watermarking_config": (),
    "stop_strings": (),
    "max_time": (),
    "low_memory": (False,),
    "prompt_lookup_num_tokens": (),
    "assistant_early_exit": (),
    "use_mtp": (False,),
    "token_healing": (False,),
    "is_assistant": (False,),
    "continuous_batching_config": (),
    "return_dict_in_generate": (False,),
}
# Where from_model_config looks for a decoder's own generation values in a composite config.
_DECODER_CONFIG_KEYS = ("decoder", "generator", "text_config")


def _is_int(value: object) -> bool:
    """An integer that is not a bool (True is an int to Python, not a length to transformers)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _check_count(name: str, value: object, minimum: int) -> int:
    if not _is_int(value):
        raise ValueError(f"`{name}` must be an integer, got {value!r}")
    number = int(value)  # type: ignore[call-overload]
    if number < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {number}")
    if number > _INT64_MAX:
        raise ValueError(f"`{name}` must be at most 2**63 - 1, got {number}")
    return number


def _check_token(name: str, value: object) -> int | None:
    if value is None:
        return None
    return _check_count(name, value, 0)


def _check_tokens(name: str, value: object) -> int | list[int] | None:
    """One token id or a non-empty list of them (transformers accepts both for EOS)."""
    if value is None or _is_int(value):
        return _check_token(name, value)
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
        ids = [_check_count(name, item, 0) for item in value]
        if not ids:
            # transformers would index the empty list for the pad token and crash.
            raise ValueError(f"`{name}` must not be an empty list")
        return ids
    raise ValueError(f"`{name}` must be a token id or a list of token ids, got {value!r}")


def _early_stopping_value(value: object) -> bool | str:
    """transformers' reading of ``early_stopping``: only ``True`` itself and ``"never"`` count.

    Its validation accepts anything equal to None, True, False or "never", but its beam search
    tests ``early_stopping is True`` and ``early_stopping == "never"``, so None, 0, 1 and
    numpy bools all behave as False; so they do here.
    """
    if isinstance(value, str):
        if value == "never":
            return "never"
    elif value is None or (
        isinstance(value, bool | int | float | np.bool_ | np.number) and value in (0, 1)
    ):
        return value is True
    raise ValueError(f"`early_stopping` must be True, False or 'never', got {value!r}")


def _is_neutral(value: object, neutral: tuple[Any, ...]) -> bool:
    if value is None:
        return True
    for allowed in neutral:
        if isinstance(allowed, list):
            if isinstance(value, list | tuple) and len(value) == 0:
                return True
        elif isinstance(value, bool | int | float) and value == allowed:
            return True
    return False


def _model_generation_values(
    config: Mapping[str, Any], generation_config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The model's own generation values, as ``from_pretrained`` sets ``model.generation_config``.

    With a generation_config.json, its values as they are; without one, transformers builds the
    generation config from config.json: values that are None there do not count, and a
    composite config's decoder section fills what the top level leaves unset.
    """
    if generation_config is not None:
        return {key: value for key, value in generation_config.items() if key in _GENERATION_KEYS}
    values = {
        key: value for key, value in config.items() if key in _GENERATION_KEYS and value is not None
    }
    # A legacy config flag that transformers still honours when reading config.json.
    if config.get("force_bos_token_to_be_generated", False):
        values["forced_bos_token_id"] = values.get("bos_token_id")
    for section_name in _DECODER_CONFIG_KEYS:
        section = config.get(section_name)
        if isinstance(section, Mapping) and section:
            for key, value in section.items():
                if key in _GENERATION_KEYS and values.get(key) is None:
                    values[key] = value
            break
    return values


@dataclass(frozen=True)
class GenerationSettings:
    """The settings of transformers' ``generate`` that greedy and beam search use.

    The fields take transformers' meanings, with one difference: ``max_length`` here is always
    the final bound on the returned length (start token included). transformers turns an
    unset ``max_length`` into "20 new tokens" (21 for an encoder-decoder model); ``resolve``
    does that conversion, so build settings with ``resolve`` to get transformers' defaults.
    ``max_new_tokens`` / ``min_new_tokens``, when set, take precedence over ``max_length`` /
    ``min_length``, as in transformers. Bad values raise ``ValueError`` naming the field.
    """

    max_length: int = 20
    max_new_tokens: int | None = None
    min_length: int = 0
    min_new_tokens: int | None = None
    num_beams: int = 1
    num_return_sequences: int = 1
    length_penalty: float = 1.0
    early_stopping: bool | str = False  # True, False or "never", as transformers
    no_repeat_ngram_size: int = 0
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | list[int] | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    pad_token_id: int | None = None
    decoder_start_token_id: int | None = None

    def __post_init__(self) -> None:
        # Normalise numpy integers to int so that the settings compare and print plainly.
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if self.max_new_tokens is None:
            # transformers refuses a max_length that leaves no room after the start token.
            put("max_length", _check_count("max_length", self.max_length, _PROMPT_LENGTH + 1))
        else:
            # max_new_tokens is the bound then; transformers only asks it to be positive.
            put("max_new_tokens", _check_count("max_new_tokens", self.max_new_tokens, 1))
            put("max_length", _check_count("max_length", self.max_length, 0))
        put("min_length", _check_count("min_length", self.min_length, 0))
        if self.min_new_tokens is not None:
            put("min_new_tokens", _check_count("min_new_tokens", self.min_new_tokens, 0))
        put("num_beams", _check_count("num_beams", self.num_beams, 1))
        put(
            "num_return_sequences",
            _check_count("num_return_sequences", self.num_return_sequences, 1),
        )
        if self.num_return_sequences > self.num_beams:
            if self.num_beams == 1:
                raise ValueError(
                    "`num_return_sequences` must be 1 for greedy search (num_beams=1), got "
                    f"{self.num_return_sequences}"
                )
            raise ValueError(
                f"`num_return_sequences` ({self.num_return_sequences}) must not exceed "
                f"`num_beams` ({self.num_beams})"
            )
        penalty = self.length_penalty
        if (
            not isinstance(penalty, int | float | np.integer | np.floating)
            or isinstance(penalty, bool | np.bool_)
            or not math.isfinite(penalty)
        ):
            raise ValueError(f"`length_penalty` must be a finite number, got {penalty!r}")
        if not (self.early_stopping is True or self.early_stopping is False) and not (
            isinstance(self.early_stopping, str) and self.early_stopping == "never"
        ):
            raise ValueError(
                f"`early_stopping` must be True, False or 'never', got {self.early_stopping!r}"
            )
        put(
            "no_repeat_ngram_size",
            _check_count("no_repeat_ngram_size", self.no_repeat_ngram_size, 0),
        )
        for name in (
            "forced_bos_token_id",
            "bos_token_id",
            "pad_token_id",
            "decoder_start_token_id",
        ):
            put(name, _check_token(name, getattr(self, name)))
        for name in ("forced_eos_token_id", "eos_token_id"):
            put(name, _check_tokens(name, getattr(self, name)))
        if self.decoder_start_token_id is None and self.bos_token_id is None:
            raise ValueError(
                "`decoder_start_token_id` or `bos_token_id` has to be set for encoder-decoder "
                "generation"
            )

    def check_vocabulary(self, vocab_size: int) -> None:
        """Refuse what a model of ``vocab_size`` tokens cannot run, before anything is allocated.

        Token ids outside the vocabulary and more beams than tokens raise ``ValueError`` naming
        the setting and its value. transformers fails on most such ids with an IndexError deep
        in torch, and only once generation reaches them (a pad id when a row finishes first, a
        forced EOS at the last position); an EOS id it simply never meets. Such an id is a
        tokenizer's ids given to another model, so every one is refused here, up front. More
        beams than tokens would only add beams that start from the placeholder score, and the
        buffers of each step grow with the beams times the vocabulary.

        >>> GenerationSettings(decoder_start_token_id=1, pad_token_id=70).check_vocabulary(64)
        Traceback (most recent call last):
        ...
        ValueError: `pad_token_id` is 70, not a token of this model (its vocabulary has 64)
        """
        if self.decoder_start_token_id is not None:
            start: tuple[str, int | None] = ("decoder_start_token_id", self.decoder_start_token_id)
        else:
            start = ("bos_token_id", self.bos_token_id)
        for name, value in (
            start,
            ("forced_bos_token_id", self.forced_bos_token_id),
            ("pad_token_id", self.pad_token_id),
            ("eos_token_id", self.eos_token_id),
            ("forced_eos_token_id", self.forced_eos_token_id),
        ):
            ids = [] if value is None else value if isinstance(value, list) else [value]
            outside = [token for token in ids if token >= vocab_size]
            if outside:
                verb = "holds" if isinstance(value, list) else "is"
                raise ValueError(
                    f"`{name}` {verb} {outside[0]}, not a token of this model (its vocabulary "
                    f"has {vocab_size})"
                )
        if self.num_beams > vocab_size:
            raise ValueError(
                f"`num_beams` is {self.num_beams}, more than the {vocab_size} tokens of the "
                "model's vocabulary"
            )
        eos = self.eos_token_id
        eos_count = 0 if eos is None else len(eos) if isinstance(eos, list) else 1
        if self.num_beams > 1 and max(2, 1 + eos_count) > vocab_size:
            # Beam search ranks max(2, 1 + len(eos)) * num_beams candidates a step, out of
            # num_beams * vocab_size; torch.topk refuses to rank more than there are.
            raise ValueError(
                f"beam search keeps max(2, 1 + len(`eos_token_id`)) = {max(2, 1 + eos_count)} "
                f"candidates per beam, more than the {vocab_size} tokens of the model's vocabulary"
            )

    @classmethod
    def resolve(
        cls,
        config: Mapping[str, Any],
        generation_config: Mapping[str, Any] | None,
        overrides: Mapping[str, Any],
    ) -> GenerationSettings:
        """Settings as transformers resolves them for an encoder-decoder model.

        generation_config.json's values when that file exists (else the generation keys of
        config.json), then the caller's overrides. Unknown override names raise ``TypeError``
        naming them; bad values (negative lengths, num_beams < 1, num_return_sequences >
        num_beams, do_sample=True) raise ``ValueError`` naming the argument. Sampling-only
        options (temperature, top_k, ...) are ignored while do_sample is False, as transformers
        ignores them with a warning.

        A setting transformers knows but this module does not implement (repetition_penalty,
        bad_words_ids, ...) is accepted only at the value that switches it off; another value,
        from a file or an override, raises ``ValueError`` naming it, since ignoring it would give
        other ids than transformers. An override of None counts as given, as in transformers (so
        ``forced_eos_token_id=None`` switches forced EOS off).
        """
        unknown = sorted(name for name in overrides if name not in _GENERATION_KEYS)
        if unknown:
            raise TypeError(f"unknown generation setting(s): {', '.join(unknown)}")
        model_values = _model_generation_values(config, generation_config)
        # transformers' order of precedence: the caller, then the model's files (their None
        # values do not count), then the global defaults.
        values: dict[str, Any] = dict(_GLOBAL_DEFAULTS)
        values.update({key: value for key, value in model_values.items() if value is not None})
        values.update(overrides)

        for name, neutral in _UNSUPPORTED.items():
            if not _is_neutral(values.get(name), neutral):
                raise ValueError(
                    f"`{name}`={values[name]!r} is not supported by bbtok.generation; only "
                    f"{', '.join(repr(value) for value in (None, *neutral))} can be used"
                )
        if values.get("do_sample") not in (None, False, 0):
            raise ValueError("`do_sample`=True is not supported: only greedy and beam search are")
        values["early_stopping"] = _early_stopping_value(values.get("early_stopping"))

        max_new_tokens = values.get("max_new_tokens")
        min_new_tokens = values.get("min_new_tokens")
        # As transformers does, "new tokens" limits overrule the absolute ones, counted after
        # the decoder's one-token prompt; an unset max_length means 20 new tokens, capped by
        # the model's position embeddings.
        if max_new_tokens is not None and _is_int(max_new_tokens):
            values["max_length"] = int(max_new_tokens) + _PROMPT_LENGTH
        elif overrides.get("max_length") is None and model_values.get("max_length") is None:
            max_positions = config.get("max_position_embeddings", _DEFAULT_MAX_POSITIONS)
            values["max_length"] = _DEFAULT_NEW_TOKENS + _PROMPT_LENGTH
            if _is_int(max_positions):
                values["max_length"] = min(values["max_length"], int(max_positions))
        if min_new_tokens is not None and _is_int(min_new_tokens):
            values["min_length"] = int(min_new_tokens) + _PROMPT_LENGTH

        names = [field.name for field in fields(cls)]
        return cls(**{name: values[name] for name in names if name in values})


# Every name transformers' GenerationConfig knows and resolve therefore accepts (the sampling
# ones and the no-effect ones are read and ignored).
_GENERATION_KEYS = frozenset(
    [field.name for field in fields(GenerationSettings)]
    + ["do_sample"]
    + list(_SAMPLING_ONLY)
    + list(_NO_EFFECT)
    + list(_UNSUPPORTED)
)


class StepModel(Protocol):
    """A decoder with a cache, fed one token per row at a time."""

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Feed one new decoder token per row (int64, shape [rows]).

        Return the logits for the next token, shape [rows, vocab], in the model's dtype
        (float32 or float64).
        """
        ...

    def reorder(self, rows: np.ndarray) -> None:
        """Keep the cached state of `rows` only (int64 [rows]), in that order (beam search)."""
        ...


@dataclass(frozen=True)
class _Plan:
    """The settings after transformers' derivations, as the decoding loops use them."""

    max_length: int
    min_length: int
    num_beams: int
    num_return_sequences: int
    length_penalty: float
    early_stopping: bool | str
    no_repeat_ngram_size: int
    start: int
    eos: IntArray | None
    pad: int | None
    forced_bos: int | None
    forced_eos: IntArray | None
    # What the plan was made from, to check against the vocabulary the first logits reveal.
    settings: GenerationSettings

    @classmethod
    def of(cls, settings: GenerationSettings) -> _Plan:
        def ids(value: int | list[int] | None) -> IntArray | None:
            return None if value is None else np.atleast_1d(np.asarray(value, dtype=np.int64))

        eos = ids(settings.eos_token_id)
        pad = settings.pad_token_id
        if pad is None and eos is not None:
            # As transformers does, an unset pad token becomes the first EOS token.
            pad = int(eos[0])
        start = settings.decoder_start_token_id
        if start is None:
            start = settings.bos_token_id
        assert start is not None  # GenerationSettings refuses settings without either
        max_length = settings.max_length
        if settings.max_new_tokens is not None:
            max_length = settings.max_new_tokens + _PROMPT_LENGTH
        min_length = settings.min_length
        if settings.min_new_tokens is not None:
            # transformers runs a min-length and a min-new-tokens processor; with a one-token
            # prompt they mask EOS below the same length, so one threshold does both.
            min_length = settings.min_new_tokens + _PROMPT_LENGTH
        return cls(
            max_length=max_length,
            min_length=min_length,
            num_beams=settings.num_beams,
            num_return_sequences=settings.num_return_sequences,
            length_penalty=settings.length_penalty,
            early_stopping=settings.early_stopping,
            no_repeat_ngram_size=settings.no_repeat_ngram_size,
            start=start,
            eos=eos,
            pad=pad,
            forced_bos=settings.forced_bos_token_id,
            forced_eos=ids(settings.forced_eos_token_id),
            settings=settings,
        )


def _ban_repeated_ngrams(scores: Float32Array, sequences: IntArray, size: int) -> None:
    """Give -inf to every token that would complete an n-gram already in its row.

    The sequences include the start token, as transformers' input_ids do.
    """
    length = sequences.shape[1]
    if length < size:
        return
    vocab_size = scores.shape[1]
    windows = np.lib.stride_tricks.sliding_window_view(sequences, size, axis=1)
    prefix = sequences[:, length - size + 1 :]
    matches = np.all(windows[:, :, :-1] == prefix[:, None, :], axis=2)
    rows, positions = np.nonzero(matches)
    banned = windows[rows, positions, -1]
    keep = (banned >= 0) & (banned < vocab_size)
    scores[rows[keep], banned[keep]] = _NEG_INF


def _process(scores: Float32Array, sequences: IntArray, plan: _Plan) -> None:
    """Apply transformers' logits processors for these settings, in its order, in place.

    ``sequences`` holds every row's tokens so far (start token first).
    """
    length = sequences.shape[1]
    if plan.no_repeat_ngram_size > 0:
        _ban_repeated_ngrams(scores, sequences, plan.no_repeat_ngram_size)
    if plan.min_length > 0 and plan.eos is not None and length < plan.min_length:
        scores[:, plan.eos] = _NEG_INF
    if plan.forced_bos is not None and length == 1:
        scores[:] = _NEG_INF
        scores[:, plan.forced_bos] = 0.0
    if plan.forced_eos is not None and length == plan.max_length - 1:
        scores[:] = _NEG_INF
        scores[:, plan.forced_eos] = 0.0


def _float32_logits(
    model: StepModel, tokens: IntArray, plan: _Plan, vocab_size: int | None
) -> Float32Array:
    """The next token's logits, as a float32 copy. ``vocab_size`` is None at the first step:
    the logits then tell the vocabulary, which the settings are checked against before any of
    their ids is used."""
    rows = tokens.shape[0]
    logits = np.asarray(model.step(tokens))
    if logits.ndim != 2 or logits.shape[0] != rows or vocab_size not in (None, logits.shape[1]):
        expected = "vocab" if vocab_size is None else vocab_size
        raise ValueError(
            f"StepModel.step returned shape {logits.shape}, expected ({rows}, {expected})"
        )
    if vocab_size is None:
        plan.settings.check_vocabulary(logits.shape[1])
    # As transformers does, work on a float32 copy of the logits whatever the model's dtype.
    return np.array(logits, dtype=np.float32, copy=True)


def _log_softmax(logits: Float32Array) -> Float32Array:
    """torch's float32 log_softmax: (x - max) - log(sum(exp(x - max))), each step in float32.

    The log-sum-exp is taken in float64 and rounded once; torch sums float32 exponentials in
    CPU-dependent SIMD lanes, so it can differ from this by an ulp (see the module docstring).
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    total = np.exp(shifted.astype(np.float64)).sum(axis=1, keepdims=True)
    return shifted - np.log(total).astype(np.float32)


# --- torch.topk, tie for tie ---------------------------------------------------------------------
#
# Beam search ranks candidates with torch.topk, and candidates can tie exactly: the two EOS tokens
# of a forced_eos_token_id list, the identical beams of the first step, the -1e9 placeholders of
# empty hypothesis slots. On the CPU torch.topk copies a row into (value, index) pairs and runs
# libstdc++'s std::partial_sort on them when k * 64 <= n, else std::nth_element then std::sort
# of the first k - 1, ordering by "NaN first, then larger value first". Those algorithms are not
# stable, so the order of tied candidates is whatever their swaps leave; the functions below
# perform the same swaps (libstdc++'s heap, introselect and introsort, step for step), which is
# what gives the same ids as transformers when scores tie.

_Entry = tuple[float, int]


def _before(x: _Entry, y: _Entry) -> bool:
    """torch.topk's ordering for the largest values: NaN before numbers, then larger first."""
    a, b = x[0], y[0]
    return a > b or (a != a and b == b)


def _lg(n: int) -> int:
    """std::__lg: floor(log2(n)), for the depth limit of introsort and introselect."""
    return n.bit_length() - 1


def _push_heap(q: list[_Entry], first: int, hole: int, top: int, value: _Entry) -> None:
    """std::__push_heap: sift ``value`` up from ``hole`` towards ``top``."""
    parent = (hole - 1) // 2
    while hole > top and _before(q[first + parent], value):
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value


def _adjust_heap(q: list[_Entry], first: int, hole: int, length: int, value: _Entry) -> None:
    """std::__adjust_heap: move the hole down to a leaf, then push ``value`` back up."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if _before(q[first + child], q[first + child - 1]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    _push_heap(q, first, hole, top, value)


def _pop_heap(q: list[_Entry], first: int, last: int, result: int) -> None:
    """std::__pop_heap: the heap top goes to ``result``, ``q[result]`` into the heap."""
    value = q[result]
    q[result] = q[first]
    _adjust_heap(q, first, 0, last - first, value)


def _make_heap(q: list[_Entry], first: int, last: int) -> None:
    """std::__make_heap: heapify from the last parent down to the root."""
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(q, first, parent, length, q[first + parent])
        if parent == 0:
            return
        parent -= 1


def _heap_select(q: list[_Entry], first: int, middle: int, last: int) -> None:
    """std::__heap_select: keep the best ``middle - first`` entries in a heap at the front."""
    _make_heap(q, first, middle)
    for i in range(middle, last):
        if _before(q[i], q[first]):
            _pop_heap(q, first, middle, i)


def _sort_heap(q: list[_Entry], first: int, last: int) -> None:
    """std::__sort_heap: pop the heap into order."""
    while last - first > 1:
        last -= 1
        _pop_heap(q, first, last, last)


def _swap(q: list[_Entry], i: int, j: int) -> None:
    """std::iter_swap."""
    q[i], q[j] = q[j], q[i]


def _move_median_to_first(q: list[_Entry], result: int, a: int, b: int, c: int) -> None:
    """std::__move_median_to_first: the pivot of introsort and introselect."""
    if _before(q[a], q[b]):
        if _before(q[b], q[c]):
            _swap(q, result, b)
        elif _before(q[a], q[c]):
            _swap(q, result, c)
        else:
            _swap(q, result, a)
    elif _before(q[a], q[c]):
        _swap(q, result, a)
    elif _before(q[b], q[c]):
        _swap(q, result, c)
    else:
        _swap(q, result, b)


def _partition_around_median(q: list[_Entry], first: int, last: int) -> int:
    """std::__unguarded_partition_pivot: median-of-three pivot, then Hoare partition."""
    mid = first + (last - first) // 2
    _move_median_to_first(q, first, first + 1, mid, last - 1)
    pivot = first
    first += 1
    while True:
        while _before(q[first], q[pivot]):
            first += 1
        last -= 1
        while _before(q[pivot], q[last]):
            last -= 1
        if not first < last:
            return first
        _swap(q, first, last)
        first += 1


def _linear_insert(q: list[_Entry], last: int) -> None:
    """std::__unguarded_linear_insert: shift ``q[last]`` left to its place."""
    value = q[last]
    previous = last - 1
    while _before(value, q[previous]):
        q[last] = q[previous]
        last = previous
        previous -= 1
    q[last] = value


def _insertion_sort(q: list[_Entry], first: int, last: int) -> None:
    """std::__insertion_sort."""
    for i in range(first + 1, last):
        if _before(q[i], q[first]):
            value = q[i]
            q[first + 1 : i + 1] = q[first:i]
            q[first] = value
        else:
            _linear_insert(q, i)


def _introsort_loop(q: list[_Entry], first: int, last: int, depth: int) -> None:
    """std::__introsort_loop: quicksort down to runs of 16, heapsort past the depth limit."""
    while last - first > 16:
        if depth == 0:
            _heap_select(q, first, last, last)
            _sort_heap(q, first, last)
            return
        depth -= 1
        cut = _partition_around_median(q, first, last)
        _introsort_loop(q, cut, last, depth)
        last = cut


def _sort(q: list[_Entry], first: int, last: int) -> None:
    """std::sort: introsort, then one insertion sort over the whole range."""
    if first == last:
        return
    _introsort_loop(q, first, last, _lg(last - first) * 2)
    if last - first > 16:
        _insertion_sort(q, first, first + 16)
        for i in range(first + 16, last):
            _linear_insert(q, i)
    else:
        _insertion_sort(q, first, last)


def _nth_element(q: list[_Entry], nth: int) -> None:
    """std::nth_element over the whole list: introselect."""
    first, last = 0, len(q)
    depth = _lg(last) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last)
            _swap(q, first, nth)
            return
        depth -= 1
        cut = _partition_around_median(q, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last)


def _beats(values: Float32Array, top: float) -> BoolArray:
    """Which values come before ``top`` in torch.topk's order."""
    if math.isnan(top):
        return np.zeros(values.shape, dtype=np.bool_)
    return (values > top) | np.isnan(values)


def _partial_sort_top(values: Float32Array, k: int) -> list[_Entry]:
    """std::partial_sort's first k entries, without building pairs for the whole row.

    The heap-select pass only acts on entries that beat the heap's top, and that top only
    rises, so numpy can skip the rest of a row of num_beams * vocab values in bulk.
    """
    heap = list(zip(values[:k].tolist(), range(k), strict=True))
    _make_heap(heap, 0, k)
    candidates = k + np.flatnonzero(_beats(values[k:], heap[0][0]))
    while candidates.size:
        chunk, candidates = candidates[:256], candidates[256:]
        for index, value in zip(chunk.tolist(), values[chunk].tolist(), strict=True):
            entry = (value, index)
            if _before(entry, heap[0]):
                # pop_heap(first, middle, i) whose write to position i nobody reads again.
                _adjust_heap(heap, 0, 0, k, entry)
        if candidates.size:
            candidates = candidates[_beats(values[candidates], heap[0][0])]
    _sort_heap(heap, 0, k)
    return heap


def _torch_top_k(values: Float32Array, k: int) -> IntArray:
    """The indices torch.topk(values, k) returns on the CPU for a 1-D row, ties included."""
    n = values.shape[0]
    if k * 64 <= n:
        entries = _partial_sort_top(values, k)
    else:
        entries = list(zip(values.tolist(), range(n), strict=True))
        _nth_element(entries, k - 1)
        _sort(entries, 0, k - 1)
    return np.fromiter((index for _, index in entries[:k]), dtype=np.int64, count=k)


def _top_k(values: Float32Array, k: int) -> IntArray:
    """torch.topk(values, k).indices along the last axis of a 2-D array."""
    return np.stack([_torch_top_k(row, k) for row in values])


def _length_divisor(length: int, penalty: float) -> np.float32:
    # transformers divides float32 scores by a Python number, which torch rounds to float32
    # first (a number beyond float32 becomes inf, silently); the power itself is computed by
    # Python (int ** int stays exact), which fails on a power beyond float64 in transformers too.
    try:
        with np.errstate(over="ignore"):
            return np.float32(length**penalty)
    except OverflowError:
        raise ValueError(
            f"`length_penalty`={penalty!r} is too large: {length} ** {penalty!r} overflows"
        ) from None


def _greedy(model: StepModel, batch_size: int, plan: _Plan) -> IntArray:
    """transformers' greedy search: argmax of the processed float32 logits, finished rows padded."""
    sequences = np.full((batch_size, 1), plan.start, dtype=np.int64)
    unfinished = np.ones(batch_size, dtype=np.bool_)
    tokens = sequences[:, 0].copy()
    vocab_size: int | None = None
    while True:
        scores = _float32_logits(model, tokens, plan, vocab_size)
        vocab_size = scores.shape[1]
        _process(scores, sequences, plan)
        tokens = np.argmax(scores, axis=1).astype(np.int64)
        if plan.eos is not None:
            # As transformers does when there is an EOS token: a finished row gets the pad
            # token and keeps being fed to the model.
            assert plan.pad is not None
            tokens = np.where(unfinished, tokens, np.int64(plan.pad))
        sequences = np.concatenate([sequences, tokens[:, None]], axis=1)
        done = np.full(batch_size, sequences.shape[1] >= plan.max_length)
        if plan.eos is not None:
            done |= np.isin(tokens, plan.eos)
        unfinished &= ~done
        if not unfinished.any():
            return sequences


def _beam_search(model: StepModel, batch_size: int, plan: _Plan) -> IntArray:
    """transformers' beam search (the vectorised one of 4.50+), step for step in float32."""
    beams = plan.num_beams
    max_length = plan.max_length
    penalty = plan.length_penalty
    early_stopping = plan.early_stopping
    eos_count = 0 if plan.eos is None else plan.eos.size
    # Enough candidates that num_beams of them are not EOS even if every beam's best are.
    keep = max(2, 1 + eos_count) * beams
    # transformers fills unwritten positions with this; its `pad or eos[0]` treats a pad id of
    # 0 as unset, so with BlenderbotSmall's pad 0 beam outputs are padded with EOS.
    fill = -1 if plan.eos is None else plan.pad if plan.pad else int(plan.eos[0])
    batch = np.arange(batch_size)[:, None]

    # The token buffers hold what has been generated so far and grow by one position a step,
    # rather than being sized by max_length as transformers sizes them: max_length may be far
    # beyond what the model can reach (its position embeddings end generation first), and a
    # step's copies then cost the current length, not max_length.
    running = np.full((batch_size, beams, _PROMPT_LENGTH), plan.start, dtype=np.int64)
    running_scores = np.zeros((batch_size, beams), dtype=np.float32)
    # Only the first beam's candidates count at the first step: the beams are identical.
    running_scores[:, 1:] = _MASKED
    finished = running.copy()
    finished_scores = np.full((batch_size, beams), _MASKED, dtype=np.float32)
    # Generated tokens of each kept hypothesis; transformers reads this off its beam indices.
    finished_lengths = np.zeros((batch_size, beams), dtype=np.int64)
    is_finished = np.zeros((batch_size, beams), dtype=np.bool_)
    # Per input: can a running beam still beat the worst kept hypothesis?
    improvable = np.ones((batch_size, 1), dtype=np.bool_)
    is_top = np.arange(keep) < beams

    tokens = np.full(batch_size * beams, plan.start, dtype=np.int64)
    length = _PROMPT_LENGTH
    vocab_size: int | None = None
    while True:
        logits = _float32_logits(model, tokens, plan, vocab_size)
        vocab_size = logits.shape[1]
        log_probs = _log_softmax(logits)
        _process(log_probs, running.reshape(batch_size * beams, length), plan)
        totals = log_probs.reshape(batch_size, beams, vocab_size) + running_scores[:, :, None]
        totals = totals.reshape(batch_size, beams * vocab_size)

        # The best `keep` continuations over all beams of each input.
        chosen = _top_k(totals, keep)
        chosen_scores = np.take_along_axis(totals, chosen, axis=1)
        source_beam = chosen // vocab_size
        chosen_tokens = chosen % vocab_size
        candidates = np.concatenate(
            [running[batch, source_beam], chosen_tokens[:, :, None]], axis=2
        )
        source_rows = source_beam + batch * beams
        hits = np.full((batch_size, keep), length + 1 >= max_length)
        if plan.eos is not None:
            hits |= np.isin(chosen_tokens, plan.eos)

        # The beams that go on: the best candidates that did not just stop.
        open_scores = chosen_scores + hits.astype(np.float32) * _MASKED
        going_on = _top_k(open_scores, beams)
        running = candidates[batch, going_on]
        running_scores = np.take_along_axis(open_scores, going_on, axis=1)
        next_rows = np.take_along_axis(source_rows, going_on, axis=1)

        # Candidates that stopped among the best num_beams join the kept hypotheses, scored by
        # their length-normalised log-probability; the masks are added one by one, in
        # transformers' order, as float32 rounding depends on it.
        just_finished = hits & is_top[None, :]
        normalised = chosen_scores / _length_divisor(length + 1 - _PROMPT_LENGTH, penalty)
        full = is_finished.all(axis=1, keepdims=True) & (early_stopping is True)
        normalised = normalised + full.astype(np.float32) * _MASKED
        normalised = normalised + (~improvable).astype(np.float32) * _MASKED
        normalised = normalised + (~just_finished).astype(np.float32) * _MASKED
        merged_scores = np.concatenate([finished_scores, normalised], axis=1)
        best = _top_k(merged_scores, beams)
        # Kept hypotheses are one position shorter than the candidates: fill it, as
        # transformers' buffers hold the fill token wherever nothing was written.
        padding = np.full((batch_size, beams, 1), fill, dtype=np.int64)
        kept = np.concatenate([finished, padding], axis=2)
        finished = np.concatenate([kept, candidates], axis=1)[batch, best]
        finished_scores = np.take_along_axis(merged_scores, best, axis=1)
        finished_lengths = np.take_along_axis(
            np.concatenate(
                [finished_lengths, np.full((batch_size, keep), length + 1 - _PROMPT_LENGTH)],
                axis=1,
            ),
            best,
            axis=1,
        )
        is_finished = np.take_along_axis(
            np.concatenate([is_finished, just_finished], axis=1), best, axis=1
        )

        length += 1
        # transformers' early-stop test: the best running beam, at the most favourable length
        # the rule allows (the current one, or max_length for "never" with a positive
        # penalty), against the worst kept hypothesis (-1e9 while a slot is still empty).
        if early_stopping == "never" and penalty > 0.0:
            hypothetical = max_length - _PROMPT_LENGTH
        else:
            hypothetical = length - _PROMPT_LENGTH
        best_running = running_scores[:, :1] / _length_divisor(hypothetical, penalty)
        worst_kept = np.where(
            is_finished, finished_scores.min(axis=1, keepdims=True), _MASKED
        ).astype(np.float32)
        improvable &= np.any(best_running > worst_kept, axis=1, keepdims=True)
        if (
            not improvable.any()
            or (bool(is_finished.all()) and early_stopping is True)
            or bool(hits.all())
        ):
            break
        model.reorder(next_rows.reshape(-1).astype(np.int64))
        tokens = running[:, :, length - 1].reshape(-1).copy()

    returned = plan.num_return_sequences
    output = finished[:, :returned].reshape(batch_size * returned, -1)
    # Cropped to the longest returned hypothesis, as transformers crops its static buffers.
    output_length = _PROMPT_LENGTH + int(finished_lengths[:, :returned].max())
    return output[:, :output_length].copy()


def generate(model: StepModel, batch_size: int, settings: GenerationSettings) -> np.ndarray:
    """Greedy (num_beams == 1) or beam search, as transformers' generate for encoder-decoders.

    `model` has batch_size * num_beams rows (each input repeated num_beams times, consecutively,
    like transformers' repeat_interleave expansion) and has seen no decoder token yet. Returns
    int64 [batch_size * num_return_sequences, length]: each row starts with
    decoder_start_token_id, finished rows padded with pad_token_id, exactly as transformers'
    generate returns for an encoder-decoder model.

    Beam search pads with EOS instead when the pad id is 0 (transformers' ``pad or eos``), and
    with -1 when there is no EOS token; see ``_beam_search``.

    Memory follows the tokens generated, never ``max_length``: a ``max_length`` beyond what the
    model can reach changes nothing until the model refuses a position it does not have, which
    is where transformers fails too. The settings are checked against the vocabulary of the
    first logits before any id is used (``GenerationSettings.check_vocabulary``).
    """
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    plan = _Plan.of(settings)
    if plan.num_beams == 1:
        return _greedy(model, int(batch_size), plan)
    return _beam_search(model, int(batch_size), plan)
