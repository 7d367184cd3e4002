"""bbtok.blenderbot_small.train: learning vocab.json + merges.txt, and the shipped sample
vocabulary."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import bbtok.blenderbot_small.train
from bbtok import BlenderbotSmallTokenizer
from bbtok.blenderbot_small.tokenizer import bpe, pretokenize
from bbtok.blenderbot_small.train import SPECIAL_TOKENS, train
from bbtok.corpus.progress import TrainingProgress
from bbtok.tokenization.vocabulary_files import read_merges, read_vocab

from conftest import MULTILINGUAL_TEXT, SAMPLE_DIR, reference_class

SPECIALS = {"__null__": 0, "__start__": 1, "__end__": 2, "__unk__": 3, "__newln__": 4}

# Small but varied: many word endings seen equally often, so ties between pairs are common and
# any dependence on the trainer's hash map order would show.
CORPUS = [
    "The quick brown fox jumps over the lazy dog.\nThe dog sleeps; the fox runs away!",
    "Pack my box with five dozen liquor jugs (please).\nDon't forget the jugs, Bob.",
    "How vexingly quick daft zebras jump!\nSphinx of black quartz, judge my vow?",
    "Lower, lowest, newer, newest, wider, widest... all of them end alike.",
    "Je suis là, tu es où ? Ça va très bien, merci.\nDas Mädchen läuft schnell über die Straße.",
    "Сегодня хорошая погода, завтра тоже.\nEl niño comió una manzana (roja).",
] * 3


def train_to(directory: Path, **options: Any) -> tuple[Path, Path]:
    options.setdefault("texts", CORPUS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vocab_path, merges_path = train(directory, **options)
    return Path(vocab_path), Path(merges_path)


def trained_vocab(directory: Path, **options: Any) -> dict[str, int]:
    vocab_path, _ = train_to(directory, **options)
    return read_vocab(vocab_path)


# -- the output format ----------------------------------------------------------------------


def test_two_runs_give_identical_bytes(tmp_path: Path) -> None:
    first = train_to(tmp_path / "first", vocab_size=300)
    second = train_to(tmp_path / "second", vocab_size=300)
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]


def test_files_are_named_and_formatted_like_the_reference(tmp_path: Path) -> None:
    vocab_path, merges_path = train_to(tmp_path, vocab_size=300)
    assert (vocab_path.name, merges_path.name) == ("vocab.json", "merges.txt")
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    expected = json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert vocab_path.read_text(encoding="utf-8") == expected
    merges_text = merges_path.read_text(encoding="utf-8")
    assert merges_text.startswith("#version: 0.2\n")
    assert merges_text.endswith("\n")
    assert all(len(line.split(" ")) == 2 for line in merges_text.split("\n")[1:-1])


def test_special_tokens_take_ids_0_to_4(tmp_path: Path) -> None:
    vocab = trained_vocab(tmp_path, vocab_size=300)
    assert {token: vocab[token] for token in SPECIALS} == SPECIALS
    assert dict(zip(SPECIAL_TOKENS, range(5))) == SPECIALS


def test_ids_are_distinct_and_contiguous(tmp_path: Path) -> None:
    vocab = trained_vocab(tmp_path, vocab_size=300)
    assert sorted(vocab.values()) == list(range(len(vocab)))


def test_word_final_symbols_drop_the_end_of_word_marker(tmp_path: Path) -> None:
    _, merges_path = train_to(tmp_path, vocab_size=300)
    vocab = read_vocab(tmp_path / "vocab.json")
    for first, second in read_merges(merges_path):
        product = first + second
        if product.endswith("</w>"):
            assert product[: -len("</w>")] in vocab
        else:
            assert product + "@@" in vocab


def test_every_character_is_in_the_vocabulary_in_both_forms(tmp_path: Path) -> None:
    vocab = trained_vocab(tmp_path, vocab_size=300)
    pieces = {piece for record in CORPUS for piece in pretokenize(record)}
    for character in {character for piece in pieces for character in piece}:
        assert character + "@@" in vocab
    for piece in pieces:
        assert piece[-1] in vocab


def test_the_trained_merges_give_only_known_tokens_on_the_corpus(tmp_path: Path) -> None:
    vocab_path, merges_path = train_to(tmp_path, vocab_size=300)
    vocab, ranks = read_vocab(vocab_path), read_merges(merges_path)
    for record in CORPUS:
        for piece in pretokenize(record):
            assert all(token in vocab for token in bpe(piece, ranks)), piece


def test_frequent_words_become_single_tokens(tmp_path: Path) -> None:
    _, merges_path = train_to(tmp_path, vocab_size=400)
    ranks = read_merges(merges_path)
    assert bpe("the", ranks) == ["the"]
    assert bpe("quick", ranks) == ["quick"]


def test_a_piece_ending_in_the_continuation_mark_does_not_duplicate_an_id(tmp_path: Path) -> None:
    # "ab@@" as a word-final piece and "ab" as a continuing one are both "ab@@" in this format.
    corpus = ["ab@@ ab@@ ab@@ abc abc abc"] * 5
    vocab = trained_vocab(tmp_path, texts=corpus, vocab_size=150)
    assert "ab@@" in vocab
    assert sorted(vocab.values()) == list(range(len(vocab)))


# -- line breaks ------------------------------------------------------------------------------


def test_line_breaks_are_learnt_as_one_token_with_id_4(tmp_path: Path) -> None:
    _, merges_path = train_to(tmp_path, vocab_size=300)
    assert bpe("__newln__", read_merges(merges_path)) == ["__newln__"]
    tokenizer = BlenderbotSmallTokenizer.from_pretrained(tmp_path)
    assert tokenizer.tokenize("a\nb") == ["a", "__newln__", "b"]
    assert tokenizer.convert_tokens_to_ids(["__newln__"]) == [4]


def test_warns_when_the_merges_do_not_build_the_newline_marker(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="__newln__"):
        train(tmp_path, texts=CORPUS, vocab_size=300, min_frequency=1000)


# -- vocab_size and min_frequency --------------------------------------------------------------


@pytest.mark.parametrize("vocab_size", [120, 200, 260, 2000])
def test_vocab_size_counts_every_entry_the_special_tokens_included(
    tmp_path: Path, vocab_size: int
) -> None:
    # 2000: the line breaks' __newln__ is learnt too, and is no second entry.
    corpus = [MULTILINGUAL_TEXT.read_text(encoding="utf-8")] if vocab_size > 300 else CORPUS
    vocab = trained_vocab(tmp_path, texts=corpus, vocab_size=vocab_size)
    assert len(vocab) == vocab_size


def test_a_small_corpus_stops_when_no_pair_is_frequent_enough(tmp_path: Path) -> None:
    vocab = trained_vocab(tmp_path, texts=["hello world", "hello there"], vocab_size=1000)
    assert len(vocab) < 1000
    assert "hello" in vocab  # seen twice: min_frequency=2 lets it merge
    assert "world" not in vocab  # seen once


def test_a_corpus_that_cannot_fill_the_vocabulary_is_warned_of(tmp_path: Path) -> None:
    # The 16 entries below, and the merges of the one word seen twice: "h e", "l o</w>",
    # "l lo</w>", "he llo</w>".
    with pytest.warns(UserWarning, match=r"has 20 of the 1,000 entries asked for.* 2 times"):
        train(tmp_path, texts=["hello world", "hello there"], vocab_size=1000)


def test_a_vocabulary_filled_to_its_size_is_not_warned_of(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(tmp_path, texts=CORPUS, vocab_size=200)


def test_a_size_below_what_the_characters_take_is_refused(tmp_path: Path) -> None:
    # 5 special tokens, h e l o w r d t as continuing pieces ("h@@") and the word ends o d e.
    with pytest.raises(ValueError, match=r"vocab_size=10 is too small .* take 16 entries"):
        train(tmp_path, texts=["hello world", "hello there"], vocab_size=10)
    assert not any(tmp_path.iterdir())


def test_min_frequency_zero_merges_everything(tmp_path: Path) -> None:
    vocab = trained_vocab(
        tmp_path, texts=["hello world", "hello there"], vocab_size=1000, min_frequency=0
    )
    assert {"hello", "world", "there"} <= vocab.keys()


# -- the corpus -----------------------------------------------------------------------------


def test_a_corpus_given_without_saying_texts_or_files_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("zzzz qqqq " * 10, encoding="utf-8")
    with pytest.raises(TypeError, match="positional argument"):
        train([str(corpus)], tmp_path / "out")  # type: ignore[call-arg]
    assert not (tmp_path / "out").exists()


def test_files_are_read_and_texts_are_learnt_as_they_are(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("zzzz qqqq " * 10, encoding="utf-8")
    from_file = trained_vocab(tmp_path / "file", texts=(), files=[str(corpus)], vocab_size=150)
    from_text = trained_vocab(tmp_path / "text", texts=[str(corpus)], vocab_size=150)
    assert "zzzz" in from_file
    assert "zzzz" not in from_text  # the path's own characters were learnt from


def test_texts_and_files_together_learn_from_both(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS[3:6]), encoding="utf-8")
    both = train_to(tmp_path / "both", texts=CORPUS[:3], files=[corpus], vocab_size=200)
    joined = [*CORPUS[:3], "\n".join(CORPUS[3:6])]
    texts = train_to(tmp_path / "texts", texts=joined, vocab_size=200)
    assert [p.read_bytes() for p in both] == [p.read_bytes() for p in texts]


def test_files_give_the_same_result_as_their_texts(tmp_path: Path) -> None:
    paths = []
    for index, record in enumerate(CORPUS[:6]):
        path = tmp_path / f"part {index}.txt"
        path.write_text(record, encoding="utf-8")
        paths.append(str(path))
    from_files = train_to(tmp_path / "files", texts=(), files=paths, vocab_size=200)
    from_paths = train_to(tmp_path / "paths", texts=(), files=map(Path, paths), vocab_size=200)
    from_texts = train_to(tmp_path / "texts", texts=CORPUS[:6], vocab_size=200)
    assert [p.read_bytes() for p in from_files] == [p.read_bytes() for p in from_texts]
    assert [p.read_bytes() for p in from_paths] == [p.read_bytes() for p in from_texts]


def test_a_generator_of_texts_is_a_corpus(tmp_path: Path) -> None:
    from_list = train_to(tmp_path / "list", vocab_size=200)
    from_generator = train_to(tmp_path / "gen", texts=(text for text in CORPUS), vocab_size=200)
    assert [p.read_bytes() for p in from_list] == [p.read_bytes() for p in from_generator]


def test_crlf_files_train_like_lf_text(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes("\n".join(CORPUS).replace("\n", "\r\n").encode("utf-8"))
    from_file = train_to(tmp_path / "file", texts=(), files=[path], vocab_size=200)
    from_text = train_to(tmp_path / "text", texts=["\n".join(CORPUS)], vocab_size=200)
    assert [p.read_bytes() for p in from_file] == [p.read_bytes() for p in from_text]


def test_files_reads_strings_that_look_like_text_as_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="hello world"):
        train(tmp_path, files=["hello world"])


def test_output_directory_is_created(tmp_path: Path) -> None:
    vocab_path, merges_path = train_to(tmp_path / "a" / "b", vocab_size=150)
    assert vocab_path.parent == merges_path.parent == tmp_path / "a" / "b"


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    train_to(tmp_path, vocab_size=150)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["merges.txt", "vocab.json"]


# -- progress ---------------------------------------------------------------------------------


def test_show_progress_turns_the_trainers_own_bars_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[bool] = []
    real_trainer = bbtok.blenderbot_small.train.trainers.BpeTrainer

    def recording(**options: Any) -> Any:
        shown.append(options["show_progress"])
        return real_trainer(**options)

    monkeypatch.setattr(bbtok.blenderbot_small.train.trainers, "BpeTrainer", recording)
    train_to(tmp_path, vocab_size=150, show_progress=True)
    assert shown and not any(shown)


def test_the_progress_line_tells_reading_then_learning_merges() -> None:
    progress = TrainingProgress(None, total_bytes=20)
    records = progress.read(["0123456789", "abcdefghij"])
    next(records)
    assert progress.text(2.0) == "reading:  50%  1 record  0 records/s  0.0 MB/s  ETA 0:02"
    list(records)
    assert progress.text(3.0).startswith("learning merges: 0:00 (read 2 records)")


# -- the output directory ---------------------------------------------------------------------


def test_a_directory_that_is_not_empty_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vocab.json").write_text("mine")

    def no_training(*arguments: object) -> None:
        raise AssertionError("the trainer ran")

    monkeypatch.setattr(bbtok.blenderbot_small.train, "_run_trainer", no_training)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        train(tmp_path, texts=CORPUS, vocab_size=150)
    assert (tmp_path / "vocab.json").read_text() == "mine"


def test_overwrite_replaces_the_vocabulary_and_keeps_other_files(tmp_path: Path) -> None:
    expected = [path.read_bytes() for path in train_to(tmp_path / "fresh", vocab_size=150)]
    output = tmp_path / "out"
    output.mkdir()
    (output / "vocab.json").write_text("old")
    (output / "notes.txt").write_text("mine")
    written = train_to(output, vocab_size=150, overwrite=True)
    assert [path.read_bytes() for path in written] == expected
    assert (output / "notes.txt").read_text() == "mine"
    assert sorted(path.name for path in output.iterdir()) == [
        "merges.txt",
        "notes.txt",
        "vocab.json",
    ]


def test_overwriting_a_byte_level_vocabulary_removes_its_other_tokenizer_files(
    tmp_path: Path,
) -> None:
    # A tokenizer.json or a tokenizer_config.json naming the byte-level class, left beside the
    # new files, would be loaded in their place.
    output = tmp_path / "out"
    output.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "notes.txt"):
        (output / name).write_text("old")
    train_to(output, vocab_size=150, overwrite=True)
    assert sorted(path.name for path in output.iterdir()) == [
        "merges.txt",
        "notes.txt",
        "vocab.json",
    ]
    assert BlenderbotSmallTokenizer.from_pretrained(output)("hello")["input_ids"]


def test_a_corpus_file_the_output_would_replace_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "merges.txt"
    corpus.write_text("\n".join(CORPUS), encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges\.txt is a file this run reads"):
        train(tmp_path, files=[corpus], vocab_size=150, overwrite=True)
    assert corpus.read_text(encoding="utf-8") == "\n".join(CORPUS)


def test_a_failed_write_leaves_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*arguments: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bbtok.blenderbot_small.train, "save_vocab_files", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train_to(tmp_path / "new" / "vocab", vocab_size=150)
    assert list(tmp_path.iterdir()) == []


# -- bad input ------------------------------------------------------------------------------


def test_missing_files_are_all_named(tmp_path: Path) -> None:
    present = tmp_path / "present.txt"
    present.write_text("some text", encoding="utf-8")
    missing = [str(tmp_path / "gone.txt"), str(tmp_path / "lost.txt")]
    with pytest.raises(FileNotFoundError) as error:
        train(tmp_path / "out", files=[str(present), *missing])
    assert str(error.value) == f"2 corpus files not found: {missing[0]!r}, {missing[1]!r}"
    assert not (tmp_path / "out").exists()


def test_invalid_utf8_names_the_file_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(ValueError, match=r"latin1\.txt.*byte offset 3"):
        train(tmp_path / "out", files=[path])


def test_a_bare_string_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="wrap it in a list"):
        train(tmp_path, texts="some text")


def test_a_record_that_is_not_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is a bytes"):
        records: list[Any] = ["text", b"bytes"]
        train(tmp_path, texts=iter(records))


def test_an_empty_corpus_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no words"):
        train(tmp_path, texts=["", " \n "])


def test_a_lone_surrogate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="surrogate"):
        train(tmp_path, texts=["bad \ud800 text"])


@pytest.mark.parametrize("options", [{"vocab_size": 0}, {"vocab_size": 2.5}, {"min_frequency": -1}])
def test_bad_sizes_are_refused(tmp_path: Path, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        train(tmp_path, texts=CORPUS, **options)


# -- the shipped sample vocabulary -------------------------------------------------------


def test_sample_vocabulary_has_16k_entries_and_the_specials_at_0_to_4() -> None:
    vocab = read_vocab(SAMPLE_DIR / "vocab.json")
    assert len(vocab) >= 16000
    assert {token: vocab[token] for token in SPECIALS} == SPECIALS
    assert sorted(vocab.values()) == list(range(len(vocab)))


def test_sample_vocabulary_merges_all_parse_as_pairs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read_merges warns on any line the reference would lose
        ranks = read_merges(SAMPLE_DIR / "merges.txt")
    assert len(ranks) > 10000


def test_sample_vocabulary_loads_in_transformers() -> None:
    reference = reference_class().from_pretrained(str(SAMPLE_DIR))
    assert len(reference) >= 16000
    assert reference.convert_tokens_to_ids(list(SPECIALS)) == list(SPECIALS.values())
    assert reference.tokenize("a\nb") == ["a", "__newln__", "b"]
    assert reference.unk_token_id == 3


def test_sample_vocabulary_knows_every_token_of_the_multilingual_sample() -> None:
    # The sample is drawn from the training corpus, so BPE never leaves an unknown token.
    reference = reference_class().from_pretrained(str(SAMPLE_DIR))
    lines = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1]
    assert 300 <= len(lines) <= 600
    ids = [token_id for line in lines for token_id in reference(line)["input_ids"]]
    assert reference.unk_token_id not in ids


def test_sample_vocabulary_loads_in_bbtok_and_agrees_with_transformers() -> None:
    ours = BlenderbotSmallTokenizer.from_pretrained(SAMPLE_DIR)
    reference = reference_class().from_pretrained(str(SAMPLE_DIR))
    assert ours.vocab_size == len(read_vocab(SAMPLE_DIR / "vocab.json"))
    lines = MULTILINGUAL_TEXT.read_text(encoding="utf-8").split("\n")[:-1][::25]
    for line in lines:
        assert ours(line)["input_ids"] == reference(line)["input_ids"], line
