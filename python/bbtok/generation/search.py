"""Greedy and beam-search decoding for BlenderbotSmall, giving the ids transformers 5.23.0 gives.

``generate`` drives any decoder that implements ``StepModel`` (one new token per row in, the next
token's logits out, and a cache that beam search can reorder) and returns what
``BlenderbotSmallForConditionalGeneration.generate`` returns for the same logits: the same ids,
the same output length and the same padding. The settings are ``GenerationSettings``
(``bbtok.generation.settings``), resolved as transformers resolves them.

What "the same" takes, in the order transformers does things:

* lengths count the decoder prompt, which for an encoder-decoder model is the single
  ``decoder_start_token_id``; ``max_new_tokens`` and ``min_new_tokens`` therefore mean
  ``max_length = max_new_tokens + 1`` and ``min_length = min_new_tokens + 1``. A decoder-only
  model's prompt is its ``input_ids`` (``prompt``), counted the same way, and every processor
  sees it as part of the sequence (no-repeat n-grams span it);
* the logits are cast to float32 before anything else, whatever the model's dtype; greedy search
  processes those logits, beam search their float32 log-softmax, and every score of beam search
  (running sums, length-normalised scores, the -1e9 masks) is float32 arithmetic;
* the processors run in transformers' order: no-repeat n-grams, no-repeat n-grams of the
  encoder's input, minimum length, forced BOS, forced EOS (so the forced tokens win over the
  others);
* beam search keeps ``max(2, 1 + len(eos)) * num_beams`` candidates a step, normalises a finished
  hypothesis by its generated length (the tokens after the start token, EOS included) to the
  power ``length_penalty``, and stops by transformers' rules for ``early_stopping``;
* beam search pads its outputs with ``pad_token_id or eos[0]`` (so with EOS when the pad id
  is 0, as BlenderbotSmall's is), greedy search with ``pad_token_id``;
* candidates are ranked as torch.topk ranks them on the CPU, including the order of exact
  ties, which its unstable sort decides (see ``bbtok.generation.torch_top_k``).

One thing cannot be promised bit for bit: torch's float32 log-softmax on the CPU sums its
exponentials in SIMD lanes whose width and order depend on the CPU, and rounds each partial sum
to float32; here the sum is taken in float64 and rounded once. The two log-sum-exps can differ
by a few float32 ulps (up to 8 have been seen), and with them every beam score. That changes
the ids only where two hypotheses score within those ulps of each other, which in practice is an
exact tie that float32 rounding decides: two hypotheses whose scores are equal in exact
arithmetic, as when a model's logits barely depend on the context and two beams hold
the same tokens in another order (a random checkpoint at transformers' default initialisation
does this; the tests' live comparisons use weights whose logits depend on the context). Which
of the tied hypotheses transformers keeps then depends on the CPU it runs on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bbtok.generation.settings import GenerationSettings, is_int
from bbtok.generation.torch_top_k import top_k

__all__ = ["GenerationSettings", "StepModel", "generate"]

IntArray = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]

# The "impossible" score transformers' beam search adds to masked candidates, in float32.
_MASKED = np.float32(-1.0e9)
_NEG_INF = np.float32(-np.inf)


class StepModel(Protocol):
    """A decoder with a cache, fed one token per row at a time. When the search starts it has
    seen every prompt token but the last, which the first ``step`` feeds (with a one-token
    prompt, the decoder start token, it has seen nothing)."""

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
    # Every n-gram of each input's encoder ids, [batch, windows, n]; None when the setting is
    # off (or no encoder ids were given).
    encoder_ngrams: IntArray | None
    start: int
    prompt_length: int
    eos: IntArray | None
    pad: int | None
    forced_bos: int | None
    forced_eos: IntArray | None
    # What the plan was made from, to check against the vocabulary the first logits reveal.
    settings: GenerationSettings

    @classmethod
    def of(cls, settings: GenerationSettings, encoder_input_ids: IntArray | None = None) -> _Plan:
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
        encoder_ngrams = _encoder_ngrams(settings.encoder_no_repeat_ngram_size, encoder_input_ids)
        return cls(
            max_length=settings.max_total_length,
            # transformers runs a min-length and a min-new-tokens processor; with a one-token
            # prompt they mask EOS below the same length, so one threshold does both.
            min_length=settings.min_total_length,
            num_beams=settings.num_beams,
            num_return_sequences=settings.num_return_sequences,
            length_penalty=settings.length_penalty,
            early_stopping=settings.early_stopping,
            no_repeat_ngram_size=settings.no_repeat_ngram_size,
            encoder_ngrams=encoder_ngrams,
            start=start,
            prompt_length=settings.prompt_length,
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


def _encoder_ngrams(size: int, encoder_input_ids: IntArray | None) -> IntArray | None:
    """The n-grams ``encoder_no_repeat_ngram_size`` bans, [batch, windows, size] (padding
    included, as transformers takes them from the whole input_ids)."""
    if size == 0:
        return None
    if encoder_input_ids is None:
        warnings.warn(
            "Passing `encoder_no_repeat_ngram_size` requires some form of `input_ids` to be "
            "passed to `generate`, ignoring the argument.",
            UserWarning,
            stacklevel=3,
        )
        return None
    ids = np.asarray(encoder_input_ids, dtype=np.int64)
    if ids.shape[1] < size:
        return np.zeros((ids.shape[0], 0, size), dtype=np.int64)
    return np.lib.stride_tricks.sliding_window_view(ids, size, axis=1)


def _ban_encoder_ngrams(scores: Float32Array, sequences: IntArray, ngrams: IntArray) -> None:
    """Give -inf to every token that would complete an n-gram of the row's encoder input.

    Row ``r`` is a hypothesis of input ``r // beams``. As transformers does, nothing is banned
    before the row holds ``n - 1`` tokens (start token included).
    """
    rows, length = sequences.shape
    size = ngrams.shape[2]
    if length < size - 1 or ngrams.shape[1] == 0:
        return
    beams = rows // ngrams.shape[0]
    row_ngrams = np.repeat(ngrams, beams, axis=0)
    prefix = sequences[:, length - size + 1 :]
    matches = np.all(row_ngrams[:, :, :-1] == prefix[:, None, :], axis=2)
    banned_rows, positions = np.nonzero(matches)
    scores[banned_rows, row_ngrams[banned_rows, positions, -1]] = _NEG_INF


def _process(scores: Float32Array, sequences: IntArray, plan: _Plan) -> None:
    """Apply transformers' logits processors for these settings, in its order, in place.

    ``sequences`` holds every row's tokens so far (start token first).
    """
    length = sequences.shape[1]
    if plan.no_repeat_ngram_size > 0:
        _ban_repeated_ngrams(scores, sequences, plan.no_repeat_ngram_size)
    if plan.encoder_ngrams is not None:
        _ban_encoder_ngrams(scores, sequences, plan.encoder_ngrams)
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
    CPU-dependent SIMD lanes, so its result can differ from this by a few float32 ulps, which
    decides only exact ties between hypotheses (see the module docstring).
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    total = np.exp(shifted.astype(np.float64)).sum(axis=1, keepdims=True)
    return shifted - np.log(total).astype(np.float32)


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


def _start(batch_size: int, plan: _Plan, prompt: IntArray | None) -> IntArray:
    """The prompt [batch_size, prompt length]: the decoder start token when none is given."""
    if prompt is None:
        return np.full((batch_size, 1), plan.start, dtype=np.int64)
    return prompt


def _greedy(
    model: StepModel, batch_size: int, plan: _Plan, prompt: IntArray | None = None
) -> IntArray:
    """transformers' greedy search: argmax of the processed float32 logits, finished rows padded."""
    sequences = _start(batch_size, plan, prompt)
    unfinished = np.ones(batch_size, dtype=np.bool_)
    tokens = sequences[:, -1].copy()
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


def _beam_search(
    model: StepModel, batch_size: int, plan: _Plan, prompt: IntArray | None = None
) -> IntArray:
    """transformers' beam search (the vectorised one of 4.50+), step for step in float32."""
    prompt = _start(batch_size, plan, prompt)
    prompt_length = prompt.shape[1]
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
    running = np.repeat(prompt[:, None, :], beams, axis=1)
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

    tokens = np.repeat(prompt[:, -1], beams)
    length = prompt_length
    vocab_size: int | None = None
    while True:
        logits = _float32_logits(model, tokens, plan, vocab_size)
        vocab_size = logits.shape[1]
        log_probs = _log_softmax(logits)
        _process(log_probs, running.reshape(batch_size * beams, length), plan)
        totals = log_probs.reshape(batch_size, beams, vocab_size) + running_scores[:, :, None]
        totals = totals.reshape(batch_size, beams * vocab_size)

        # The best `keep` continuations over all beams of each input.
        chosen = top_k(totals, keep)
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
        going_on = top_k(open_scores, beams)
        running = candidates[batch, going_on]
        running_scores = np.take_along_axis(open_scores, going_on, axis=1)
        next_rows = np.take_along_axis(source_rows, going_on, axis=1)

        # Candidates that stopped among the best num_beams join the kept hypotheses, scored by
        # their length-normalised log-probability; the masks are added one by one, in
        # transformers' order, as float32 rounding depends on it.
        just_finished = hits & is_top[None, :]
        normalised = chosen_scores / _length_divisor(length + 1 - prompt_length, penalty)
        full = is_finished.all(axis=1, keepdims=True) & (early_stopping is True)
        normalised = normalised + full.astype(np.float32) * _MASKED
        normalised = normalised + (~improvable).astype(np.float32) * _MASKED
        normalised = normalised + (~just_finished).astype(np.float32) * _MASKED
        merged_scores = np.concatenate([finished_scores, normalised], axis=1)
        best = top_k(merged_scores, beams)
        # Kept hypotheses are one position shorter than the candidates: fill it, as
        # transformers' buffers hold the fill token wherever nothing was written.
        padding = np.full((batch_size, beams, 1), fill, dtype=np.int64)
        kept = np.concatenate([finished, padding], axis=2)
        finished = np.concatenate([kept, candidates], axis=1)[batch, best]
        finished_scores = np.take_along_axis(merged_scores, best, axis=1)
        finished_lengths = np.take_along_axis(
            np.concatenate(
                [finished_lengths, np.full((batch_size, keep), length + 1 - prompt_length)],
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
            hypothetical = max_length - prompt_length
        else:
            hypothetical = length - prompt_length
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
    output_length = prompt_length + int(finished_lengths[:, :returned].max())
    return output[:, :output_length].copy()


def generate(
    model: StepModel,
    batch_size: int,
    settings: GenerationSettings,
    encoder_input_ids: np.ndarray | None = None,
    prompt: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy (num_beams == 1) or beam search, as transformers' generate.

    `model` has batch_size * num_beams rows (each input repeated num_beams times, consecutively,
    like transformers' repeat_interleave expansion). Returns int64
    [batch_size * num_return_sequences, length]: each row starts with its prompt, finished rows
    padded with pad_token_id, exactly as transformers' generate returns.

    ``prompt`` [batch_size, settings.prompt_length] is a decoder-only model's ``input_ids``, of
    which `model` has seen every token but the last. Without it the prompt is an encoder-decoder
    model's decoder_start_token_id, and `model` has seen no decoder token yet.

    Beam search pads with EOS instead when the pad id is 0 (transformers' ``pad or eos``), and
    with -1 when there is no EOS token; see ``_beam_search``.

    Memory follows the tokens generated, never ``max_length``: a ``max_length`` beyond what the
    model can reach changes nothing until the model refuses a position it does not have, which
    is where transformers fails too. The settings are checked against the vocabulary of the
    first logits before any id is used (``GenerationSettings.check_vocabulary``).

    ``encoder_input_ids`` [batch_size, source] are the encoder's ids, whose n-grams
    ``encoder_no_repeat_ngram_size`` bans; without them that setting is ignored with a warning,
    as transformers ignores it.
    """
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    if encoder_input_ids is not None:
        encoder_input_ids = np.asarray(encoder_input_ids)
        if encoder_input_ids.ndim != 2 or encoder_input_ids.shape[0] != batch_size:
            raise ValueError(
                f"`encoder_input_ids` must have shape [batch_size={batch_size}, length], got "
                f"{encoder_input_ids.shape}"
            )
    plan = _Plan.of(settings, encoder_input_ids)
    prompt_ids = _start(int(batch_size), plan, None if prompt is None else np.asarray(prompt))
    prompt_ids = prompt_ids.astype(np.int64)
    if prompt_ids.shape != (batch_size, plan.prompt_length):
        raise ValueError(
            f"the prompt must have shape [batch_size={batch_size}, "
            f"prompt_length={plan.prompt_length}], got {prompt_ids.shape}"
        )
    if plan.num_beams == 1:
        return _greedy(model, int(batch_size), plan, prompt_ids)
    return _beam_search(model, int(batch_size), plan, prompt_ids)
