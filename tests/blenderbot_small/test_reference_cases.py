"""The reference's own test cases and every checkable behaviour docs/reference-behaviour.md lists.

Each test states the expected value as a literal taken from the specification (transformers'
blenderbot-small tests, or docs/reference-behaviour.md), and checks it against both
bbtok and transformers' ``BlenderbotSmallTokenizer``: the literal proves the spec, the reference
proves that the spec describes the reference.

Literals for ``tokenize`` use the tiny fixture, whose merges are exactly::

    a p / t e</w> / ap t</w> / a d / ad apt</w> / a c / ac t</w>

so a piece with none of these pairs stays one token per code point (``unmerged``).
"""

from __future__ import annotations

from typing import Any

import pytest

from bbtok import BlenderbotSmallTokenizer

# Ids of the tiny fixture: vocab.json, then __null__ appended (it is not in vocab.json).
START, ADAPT, ACT, AP, TE, END, UNK, NULL = range(8)
NEWLINE_MARKER = "__newln__"


def unmerged(piece: str) -> list[str]:
    """BPE output for a piece none of whose adjacent pairs has a merge rank."""
    return [char + "@@" for char in piece[:-1]] + [piece[-1]]


def check(ours: Any, reference: Any, expected: Any) -> None:
    """The reference behaves as the spec says, and so do we."""
    assert reference == expected, "the spec literal does not describe the reference"
    assert ours == expected


# -- transformers' own blenderbot-small tests, written anew --------------------------------


def test_full_tokenizer_tokens(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "adapt act apte"
    check(
        tiny_tokenizer.tokenize(text),
        reference_tiny_tokenizer.tokenize(text),
        ["adapt", "act", "ap@@", "te"],
    )


def test_full_tokenizer_ids_with_bos_and_eos(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    def ids(tok: Any) -> list[int]:
        tokens = [tok.bos_token, *tok.tokenize("adapt act apte"), tok.eos_token]
        return tok.convert_tokens_to_ids(tokens)

    check(ids(tiny_tokenizer), ids(reference_tiny_tokenizer), [0, 1, 2, 3, 4, 5])


def test_missing_pad_token_is_appended_after_vocab(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(tiny_tokenizer.pad_token_id, reference_tiny_tokenizer.pad_token_id, 7)
    check(
        tiny_tokenizer.convert_tokens_to_ids("__null__"),
        reference_tiny_tokenizer.convert_tokens_to_ids("__null__"),
        7,
    )
    check(len(tiny_tokenizer), len(reference_tiny_tokenizer), 8)
    check(tiny_tokenizer.vocab_size, reference_tiny_tokenizer.vocab_size, 7)


def test_batch_decode_lowercases_and_spaces_punctuation(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    def round_trip(tok: Any) -> str:
        encoded = tok(["I am a small frog."], padding=False, truncation=False)["input_ids"]
        decoded = tok.batch_decode(
            encoded, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        return decoded[0]

    check(
        round_trip(sample_tokenizer), round_trip(reference_sample_tokenizer), "i am a small frog ."
    )


def test_spaced_full_stop_ends_with_id_of_lone_full_stop(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    for tok in (sample_tokenizer, reference_sample_tokenizer):
        sentence = tok("I am a small frog .")["input_ids"]
        dot = tok(".")["input_ids"]
        assert len(dot) == 1
        assert sentence[-1] == dot[0]
    assert (
        sample_tokenizer("I am a small frog .")["input_ids"]
        == reference_sample_tokenizer("I am a small frog .")["input_ids"]
    )


# -- docs, the reference: text -> tokens -----------------------------------------------------------


def test_special_token_glued_to_words_is_cut_out(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "x__null__y"
    check(
        tiny_tokenizer.tokenize(text),
        reference_tiny_tokenizer.tokenize(text),
        ["x", "__null__", "y"],
    )
    check(
        tiny_tokenizer(text)["input_ids"],
        reference_tiny_tokenizer(text)["input_ids"],
        [UNK, NULL, UNK],
    )


def test_special_tokens_glued_to_each_other(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "__start____end____unk__"
    expected = ["__start__", "__end__", "__unk__"]
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)
    check(
        tiny_tokenizer(text)["input_ids"],
        reference_tiny_tokenizer(text)["input_ids"],
        [START, END, UNK],
    )


def test_special_tokens_are_case_sensitive(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "X__NULL__Y"
    expected = unmerged("x__null__y")
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)
    check(
        tiny_tokenizer(text)["input_ids"],
        reference_tiny_tokenizer(text)["input_ids"],
        [UNK] * len(expected),
    )


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_information_separators_are_not_white_space(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any, separator: str
) -> None:
    text = f"x{separator}y"
    expected = unmerged(f"x{separator}y")
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)


@pytest.mark.parametrize("space", ["\xa0", "\u3000", "\x85", "\u2028", "\t", "\r", "\x0b"])
def test_unicode_white_space_separates_words(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any, space: str
) -> None:
    text = f"x{space}y"
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), ["x", "y"])


def test_newline_becomes_marker(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "x\ny"
    expected = ["x", *unmerged(NEWLINE_MARKER), "y"]
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)


def test_one_newline_marker_per_word(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "x\n\ny"
    expected = ["x", *unmerged(NEWLINE_MARKER), "y"]
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)


def test_newline_alone_gives_no_marker(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(tiny_tokenizer.tokenize("\n\n"), reference_tiny_tokenizer.tokenize("\n\n"), [])


def test_carriage_return_keeps_newline_out_of_the_word(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "hi\r\nthere"
    expected = [*unmerged("hi"), *unmerged("there")]
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)


def test_apostrophe_before_newline_swallows_the_marker(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "can'\nt"
    expected = [*unmerged("can"), "'", "t"]
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)


def test_punctuation_starts_a_piece(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "(x)"
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), ["(@@", "x", ")"])


def test_punctuation_run_splits_into_single_marks(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "x.,!?()y"
    expected = ["x", ".", ",", "!", "?", "(", ")@@", "y"]
    check(tiny_tokenizer.tokenize(text), reference_tiny_tokenizer.tokenize(text), expected)


def test_apostrophe_is_a_piece_of_its_own(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "x'y''"
    check(
        tiny_tokenizer.tokenize(text),
        reference_tiny_tokenizer.tokenize(text),
        ["x", "'", "y", "'", "'"],
    )


def test_pieces_are_lowercased(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "ADAPT Act APTE"
    check(
        tiny_tokenizer.tokenize(text),
        reference_tiny_tokenizer.tokenize(text),
        ["adapt", "act", "ap@@", "te"],
    )
    check(
        tiny_tokenizer(text)["input_ids"],
        reference_tiny_tokenizer(text)["input_ids"],
        [ADAPT, ACT, AP, TE],
    )


def test_dotted_capital_i_lowercases_to_two_code_points(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(tiny_tokenizer.tokenize("İ"), reference_tiny_tokenizer.tokenize("İ"), ["i@@", "\u0307"])


def test_dotless_i_is_kept(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(tiny_tokenizer.tokenize("ıI"), reference_tiny_tokenizer.tokenize("ıI"), ["ı@@", "i"])


def test_final_sigma(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(
        tiny_tokenizer.tokenize("ΟΔΟΣ"), reference_tiny_tokenizer.tokenize("ΟΔΟΣ"), unmerged("οδος")
    )
    check(tiny_tokenizer.tokenize("Σ"), reference_tiny_tokenizer.tokenize("Σ"), ["σ"])
    check(
        tiny_tokenizer.tokenize("ΣΑΣ."),
        reference_tiny_tokenizer.tokenize("ΣΑΣ."),
        [*unmerged("σας"), "."],
    )


def test_final_sigma_is_decided_inside_the_piece(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    # Lowercasing the whole word would give "ασ'β" (a letter follows); each piece is lowercased
    # on its own, so "ΑΣ" ends its piece and its sigma is final.
    text = "ΑΣ'Β"
    check(
        tiny_tokenizer.tokenize(text),
        reference_tiny_tokenizer.tokenize(text),
        ["α@@", "ς", "'", "β"],
    )


def test_german_sharp_s(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(
        tiny_tokenizer.tokenize("STRAẞE"),
        reference_tiny_tokenizer.tokenize("STRAẞE"),
        unmerged("straße"),
    )


def test_one_code_point_piece_skips_bpe(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(tiny_tokenizer.tokenize("A"), reference_tiny_tokenizer.tokenize("A"), ["a"])
    check(
        tiny_tokenizer.tokenize("A.P"), reference_tiny_tokenizer.tokenize("A.P"), ["a", ".@@", "p"]
    )


def test_bpe_merges_lowest_rank_first(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    # "a p" (rank 0) beats "a d"/"a c"; "ap t</w>" needs "t</w>" alone, so "apte" stays split.
    check(
        tiny_tokenizer.tokenize("apte"), reference_tiny_tokenizer.tokenize("apte"), ["ap@@", "te"]
    )
    check(tiny_tokenizer.tokenize("apt"), reference_tiny_tokenizer.tokenize("apt"), ["apt"])
    check(tiny_tokenizer.tokenize("adapt"), reference_tiny_tokenizer.tokenize("adapt"), ["adapt"])


# -- docs, the reference: tokens <-> ids -----------------------------------------------------------


def test_token_lookup_lowercases(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    tokens = ["ADAPT", "Ap@@", "TE"]
    check(
        tiny_tokenizer.convert_tokens_to_ids(tokens),
        reference_tiny_tokenizer.convert_tokens_to_ids(tokens),
        [1, 3, 4],
    )


def test_piece_missing_from_vocab_gets_unknown_id(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "!apte"
    check(
        tiny_tokenizer.tokenize(text),
        reference_tiny_tokenizer.tokenize(text),
        ["!@@", "ap@@", "te"],
    )
    check(
        tiny_tokenizer(text)["input_ids"],
        reference_tiny_tokenizer(text)["input_ids"],
        [UNK, AP, TE],
    )
    check(
        tiny_tokenizer.convert_tokens_to_ids("!@@"),
        reference_tiny_tokenizer.convert_tokens_to_ids("!@@"),
        UNK,
    )


def test_encoding_adds_no_special_tokens(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(
        tiny_tokenizer("adapt")["input_ids"],
        reference_tiny_tokenizer("adapt")["input_ids"],
        [ADAPT],
    )
    check(
        tiny_tokenizer.encode("adapt act"),
        reference_tiny_tokenizer.encode("adapt act"),
        [ADAPT, ACT],
    )
    check(
        tiny_tokenizer.build_inputs_with_special_tokens([1, 2], [3]),
        reference_tiny_tokenizer.build_inputs_with_special_tokens([1, 2], [3]),
        [1, 2, 3],
    )
    check(
        tiny_tokenizer.num_special_tokens_to_add(),
        reference_tiny_tokenizer.num_special_tokens_to_add(),
        0,
    )
    check(
        tiny_tokenizer.num_special_tokens_to_add(pair=True),
        reference_tiny_tokenizer.num_special_tokens_to_add(pair=True),
        0,
    )


def test_special_tokens_mask_is_all_zeros(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    def mask(tok: Any) -> list[int]:
        return tok("adapt __null__ act", return_special_tokens_mask=True)["special_tokens_mask"]

    check(mask(tiny_tokenizer), mask(reference_tiny_tokenizer), [0, 0, 0])
    check(
        tiny_tokenizer.get_special_tokens_mask([1, 7], [2]),
        reference_tiny_tokenizer.get_special_tokens_mask([1, 7], [2]),
        [0, 0, 0],
    )


def test_pair_token_type_ids(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    def encode(tok: Any) -> dict[str, list[int]]:
        return dict(tok("adapt act", "apte", return_token_type_ids=True))

    check(
        encode(tiny_tokenizer),
        encode(reference_tiny_tokenizer),
        {
            "input_ids": [ADAPT, ACT, AP, TE],
            "token_type_ids": [0, 0, 1, 1],
            "attention_mask": [1, 1, 1, 1],
        },
    )


# -- docs, the reference: decode -------------------------------------------------------------------

DECODE_IDS = [ADAPT, AP, TE, START, END, UNK, NULL, 99, -1]


def test_decode_keeps_special_tokens_by_default(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(
        tiny_tokenizer.decode(DECODE_IDS),
        reference_tiny_tokenizer.decode(DECODE_IDS),
        "adapt apte __start__ __end__ __unk__ __null__ __unk__ __unk__",
    )


def test_decode_skipping_special_tokens_keeps_out_of_range_unknowns(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    check(
        tiny_tokenizer.decode(DECODE_IDS, skip_special_tokens=True),
        reference_tiny_tokenizer.decode(DECODE_IDS, skip_special_tokens=True),
        "adapt apte __unk__ __unk__",
    )


def test_decode_glues_continuations_and_strips(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    tokens = ["ap@@", "te", "ap@@"]
    check(
        tiny_tokenizer.convert_tokens_to_string(tokens),
        reference_tiny_tokenizer.convert_tokens_to_string(tokens),
        "apte ap@@",
    )


CLEAN_UP_TEXT = "i ' m here . it ' s ok ? we ' ve ! they ' re , done"
CLEAN_UP_TOKENS = CLEAN_UP_TEXT.split(" ")


def test_decode_does_not_clean_up_by_default(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    ids = sample_tokenizer.convert_tokens_to_ids(CLEAN_UP_TOKENS)
    assert sample_tokenizer.unk_token_id not in ids
    check(sample_tokenizer.decode(ids), reference_sample_tokenizer.decode(ids), CLEAN_UP_TEXT)
    check(
        sample_tokenizer.clean_up_tokenization_spaces,
        reference_sample_tokenizer.clean_up_tokenization_spaces,
        False,
    )


def test_decode_with_clean_up(
    sample_tokenizer: BlenderbotSmallTokenizer, reference_sample_tokenizer: Any
) -> None:
    ids = sample_tokenizer.convert_tokens_to_ids(CLEAN_UP_TOKENS)
    check(
        sample_tokenizer.decode(ids, clean_up_tokenization_spaces=True),
        reference_sample_tokenizer.decode(ids, clean_up_tokenization_spaces=True),
        "i'm here. it's ok? we've! they're, done",
    )


def test_clean_up_replacements(
    tiny_tokenizer: BlenderbotSmallTokenizer, reference_tiny_tokenizer: Any
) -> None:
    text = "do n't . i 'm ? he 's ! we 've , they 're ' x"
    check(
        tiny_tokenizer.clean_up_tokenization(text),
        reference_tiny_tokenizer.clean_up_tokenization(text),
        "don't. i'm? he's! we've, they're'x",
    )


# -- every input above, on every fixture, against the reference only -------------------------

BULLET_TEXTS = [
    "adapt act apte",
    "I am a small frog.",
    "I am a small frog .",
    "x__null__y",
    "__start____end____unk____null__",
    "X__NULL__Y",
    "a\x1cb\x1dc\x1ed\x1fe",
    "a\xa0b\u3000c\x85d\u2028e\tf",
    "a\n\nb",
    "\n",
    "hi\r\nthere",
    "can'\nt",
    "(x)",
    "Hello there!\nI can't do it (really).",
    "İstanbul ıi",
    "ΟΔΟΣ Σ ΣΑΣ. ΑΣ'Β",
    "STRAẞE straße",
    "!apte",
    "A",
    "x'\n",
]


@pytest.mark.parametrize("text", BULLET_TEXTS)
def test_bullet_inputs_match_reference(ours_and_reference: tuple[Any, Any], text: str) -> None:
    ours, reference = ours_and_reference
    assert ours.tokenize(text) == reference.tokenize(text)
    ids = ours(text)["input_ids"]
    assert ids == reference(text)["input_ids"]
    for skip in (False, True):
        for clean_up in (None, True, False):
            assert ours.decode(
                ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean_up
            ) == reference.decode(
                ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean_up
            )
