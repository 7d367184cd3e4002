"""The settings of transformers' ``generate`` that greedy and beam search use, checked and
resolved as transformers resolves them.

``GenerationSettings.resolve`` combines ``config.json``, ``generation_config.json`` and the
caller's keyword arguments the way ``generate`` combines them: the caller first, then the
model's files, then transformers' global defaults. Lengths count the decoder prompt, which for an
encoder-decoder model is the single ``decoder_start_token_id``: ``max_new_tokens`` and
``min_new_tokens`` therefore mean ``max_length = max_new_tokens + 1`` and
``min_length = min_new_tokens + 1`` (``total_length`` owns that rule; ``max_total_length`` and
``min_total_length`` apply it). A decoder-only model's prompt is its ``input_ids``: ``resolve``
takes its length as ``prompt_length``, and the same rule counts it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeGuard, TypeVar

import numpy as np

__all__ = ["PROMPT_LENGTH", "GenerationSettings", "is_int", "total_length"]

# An encoder-decoder model's decoder prompt is its start token alone.
PROMPT_LENGTH = 1
_Bound = TypeVar("_Bound")
# transformers' global default: with no max_length anywhere, generate 20 tokens after the prompt.
_DEFAULT_NEW_TOKENS = 20
# BlenderbotSmallConfig's max_position_embeddings, for a config.json that leaves it out; the
# default max_length is capped by it.
_DEFAULT_MAX_POSITIONS = 512
# Every integer setting must fit in int64, as transformers' tensors hold them; a larger one would
# otherwise fail inside numpy with an OverflowError that names nothing.
_INT64_MAX = 2**63 - 1

# transformers' fallbacks for settings neither the model's files nor the caller give.
_GLOBAL_DEFAULTS: dict[str, Any] = {
    "max_length": 20,
    "min_length": 0,
    "do_sample": False,
    "early_stopping": False,
    "num_beams": 1,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
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
# transformers settings bbtok.generation does not implement, with the values that switch them
# off.
# Any other value would change the ids, so it is refused rather than silently ignored.
_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "repetition_penalty": (1.0,),
    "encoder_repetition_penalty": (1.0,),
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


def is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    """An integer that is not a bool (True is an int to Python, not a length to transformers)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def total_length(
    absolute: _Bound, new_tokens: object, prompt_length: int = PROMPT_LENGTH
) -> _Bound | int:
    """A length bound that counts the decoder prompt (``prompt_length`` tokens): ``new_tokens``
    after the prompt when it is set (an integer), as transformers lets "new tokens" limits
    overrule the absolute ones; else ``absolute``, unchanged (whatever it is:
    ``GenerationSettings`` checks it).

    >>> total_length(20, 5), total_length(20, None), total_length(20, 5, prompt_length=7)
    (6, 20, 12)
    """
    if new_tokens is not None and is_int(new_tokens):
        return int(new_tokens) + prompt_length
    return absolute


def _check_count(name: str, value: object, minimum: int) -> int:
    if not is_int(value):
        raise ValueError(f"`{name}` must be an integer, got {value!r}")
    number = int(value)
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
    if value is None or is_int(value):
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
    # A legacy config flag that transformers honours when reading config.json.
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
    ``min_length``, as in transformers; ``max_total_length`` / ``min_total_length`` are the
    bounds that result. Bad values raise ``ValueError`` naming the field.
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
    encoder_no_repeat_ngram_size: int = 0
    forced_bos_token_id: int | None = None
    forced_eos_token_id: int | list[int] | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    pad_token_id: int | None = None
    decoder_start_token_id: int | None = None
    # The tokens the bounds count before the generated ones: the decoder start token of an
    # encoder-decoder model, a decoder-only model's whole prompt. Not a transformers setting.
    prompt_length: int = PROMPT_LENGTH

    def __post_init__(self) -> None:
        # Normalise numpy integers to int so that the settings compare and print plainly.
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if self.max_new_tokens is None:
            # transformers refuses a max_length that leaves no room after the start token.
            put("max_length", _check_count("max_length", self.max_length, PROMPT_LENGTH + 1))
        else:
            # max_new_tokens is the bound then; transformers only asks it to be positive.
            put("max_new_tokens", _check_count("max_new_tokens", self.max_new_tokens, 1))
            put("max_length", _check_count("max_length", self.max_length, 0))
        put("min_length", _check_count("min_length", self.min_length, 0))
        put("prompt_length", _check_count("prompt_length", self.prompt_length, 1))
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
        put(
            "encoder_no_repeat_ngram_size",
            _check_count("encoder_no_repeat_ngram_size", self.encoder_no_repeat_ngram_size, 0),
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

    @property
    def max_total_length(self) -> int:
        """The bound on a returned row's length, start token included: ``max_new_tokens`` after
        the start token when set, else ``max_length``."""
        return total_length(self.max_length, self.max_new_tokens, self.prompt_length)

    @property
    def min_total_length(self) -> int:
        """The length, start token included, below which EOS is not generated:
        ``min_new_tokens`` after the start token when set, else ``min_length``."""
        return total_length(self.min_length, self.min_new_tokens, self.prompt_length)

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
        prompt_length: int = PROMPT_LENGTH,
    ) -> GenerationSettings:
        """Settings as transformers resolves them for an encoder-decoder model, or for a
        decoder-only one whose prompt (``input_ids``) has ``prompt_length`` tokens.

        generation_config.json's values when that file exists (else the generation keys of
        config.json), then the caller's overrides. Unknown override names raise ``TypeError``
        naming them; bad values (negative lengths, num_beams < 1, num_return_sequences >
        num_beams, do_sample=True) raise ``ValueError`` naming the argument. Sampling-only
        options (temperature, top_k, ...) are ignored while do_sample is False, as transformers
        ignores them with a warning.

        A setting transformers knows but bbtok.generation does not implement (repetition_penalty,
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

        # As transformers does, "new tokens" limits overrule the absolute ones, counted after
        # the prompt (the decoder's start token, or a decoder-only model's input_ids); an unset
        # max_length means 20 new tokens, capped by the model's position embeddings.
        if overrides.get("max_length") is None and model_values.get("max_length") is None:
            max_positions = config.get("max_position_embeddings", _DEFAULT_MAX_POSITIONS)
            values["max_length"] = total_length(None, _DEFAULT_NEW_TOKENS, prompt_length)
            if is_int(max_positions):
                values["max_length"] = min(values["max_length"], int(max_positions))
        values["max_length"] = total_length(
            values["max_length"], values.get("max_new_tokens"), prompt_length
        )
        values["min_length"] = total_length(
            values["min_length"], values.get("min_new_tokens"), prompt_length
        )

        names = [field.name for field in fields(cls)]
        known = {name: values[name] for name in names if name in values}
        return cls(**known, prompt_length=prompt_length)


# Every name transformers' GenerationConfig knows and resolve therefore accepts (the sampling
# ones and the no-effect ones are read and ignored).
_GENERATION_KEYS = frozenset(
    [field.name for field in fields(GenerationSettings) if field.name != "prompt_length"]
    + ["do_sample"]
    + list(_SAMPLING_ONLY)
    + list(_NO_EFFECT)
    + list(_UNSUPPORTED)
)
