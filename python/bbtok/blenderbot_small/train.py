"""Learning a BlenderBot-small vocabulary (``vocab.json`` + ``merges.txt``) from text.

The merges are learnt by the ``tokenizers`` package's BPE trainer, fed with this project's own
word splitting (:func:`~bbtok.blenderbot_small.tokenizer.pretokenize`), so the trainer sees
exactly the pieces the tokenizer will later split with BPE: lowercased,
punctuation apart, line breaks as ``__newln__``.

Two things make the result deterministic, which the trainer alone is not: it numbers the
word-final symbols (``e</w>``) in the order of a hash map, and it breaks ties between equally
frequent pairs by those numbers. We count the pieces ourselves and hand the trainer every
word-final symbol up front, sorted, so that every number and so every tie is fixed by the corpus.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

from bbtok.blenderbot_small.family import (
    CONTINUATION,
    MERGES_FILE,
    NEWLINE_MARKER,
    VOCAB_FILE,
    VOCABULARY_HEAD,
)
from bbtok.blenderbot_small.tokenizer import END_OF_WORD, pretokenize
from bbtok.corpus.training import PathLike, training_corpus, warn_if_short
from bbtok.storage.files import check_output_directory, write_directory
from bbtok.tokenization.pretrained import is_tokenizer_file
from bbtok.tokenization.vocabulary_files import Merge, save_vocab_files

# The special tokens and their ids in the real facebook/blenderbot_small-90M vocabulary.
SPECIAL_TOKENS = VOCABULARY_HEAD

# The files train writes, in the order they are put in place.
_OUTPUT_FILES = (VOCAB_FILE, MERGES_FILE)
# What writing over an old tokenizer directory replaces (both families' vocabulary files
# have the same names).
_is_tokenizer_file = functools.partial(
    is_tokenizer_file, vocabulary_file_names=(VOCAB_FILE, MERGES_FILE)
)

# The trainer is fed strings of about this many characters (a piece repeated as often as it was
# counted): big enough that crossing into Rust is rare, small enough that none is large.
_FEED_CHUNK_CHARS = 1 << 20


def train(
    output_dir: PathLike,
    *,
    texts: Iterable[str] = (),
    files: Iterable[PathLike] = (),
    vocab_size: int = 16384,
    min_frequency: int = 2,
    show_progress: bool = False,
    overwrite: bool = False,
) -> tuple[str, str]:
    """Learn BPE merges from ``texts`` and ``files`` and write ``vocab.json`` and
    ``merges.txt`` into ``output_dir``.

    ``texts`` is any iterable of ``str``, each a text to learn from (it may hold line breaks);
    ``files`` are paths of UTF-8 text files, each read as one text after the texts. Either may
    be left out; a string is never taken for the other kind.

    ``vocab.json`` gets exactly ``vocab_size`` entries: the five special tokens (``__null__``
    0, ``__start__`` 1, ``__end__`` 2, ``__unk__`` 3, ``__newln__`` 4, as in
    facebook/blenderbot_small-90M), each character of the corpus as a continuing piece
    (``e@@``) and each that ends a word as a word-final one (``e``), then one token per merge
    in the order learnt.
    When the corpus runs out of pairs seen ``min_frequency`` times first, it gets fewer and a
    warning says so; a ``vocab_size`` below what the corpus's characters take is a
    ``ValueError`` naming that number. ``show_progress`` draws a progress line on standard
    error.

    The same corpus always gives the same bytes. ``output_dir`` is created if needed; one that
    is not empty is refused before training (``FileExistsError``) unless ``overwrite``, which
    replaces ``vocab.json`` and ``merges.txt`` there once both new ones are written, removes
    the old vocabulary's other tokenizer files (``tokenizer.json``, ``tokenizer_config.json``,
    ...: they would be loaded in its place), and keeps every other file (see
    :func:`bbtok.storage.files.write_directory`); a corpus file that would be replaced is
    refused. Returns the paths of the two files.

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> texts = ["low lower lowest", "new newer newest"]
    >>> vocab_file, merges_file = train(out, texts=texts, vocab_size=20)
    >>> open(merges_file, encoding="utf-8").read().split("\\n")[:3]
    ['#version: 0.2', 'w e', 'l o']
    >>> with open(vocab_file, encoding="utf-8") as vocab:
    ...     len(json.load(vocab))
    20
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 0:
        raise ValueError(f"min_frequency must be a non-negative integer, got {min_frequency!r}")

    corpus = training_corpus(texts, files)
    check_output_directory(output_dir, overwrite, _is_tokenizer_file, corpus.paths)
    with corpus.progress(show_progress) as progress:
        piece_counts = count_pieces(progress.read(corpus.records()))
        if not piece_counts:
            raise ValueError("the corpus holds no words to learn from")
        symbols, merges, vocab = _learn(piece_counts, vocab_size, min_frequency)
    if len(vocab) > vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size} is too small for this corpus: the special tokens and its "
            f"characters alone take {len(vocab)} entries"
        )
    warn_if_short(len(vocab), vocab_size, min_frequency)

    if piece_counts.get(NEWLINE_MARKER) and NEWLINE_MARKER + END_OF_WORD not in symbols:
        warnings.warn(
            f"the merges learnt do not build {NEWLINE_MARKER!r}, so a line break will be several "
            "tokens; a larger vocabulary or a smaller minimum frequency would",
            stacklevel=2,
        )

    ranks: dict[Merge, int] = {}
    for merge in merges:
        # Should the trainer give a pair twice, keep the rank where it was learnt: merges.txt
        # must hold it once (the reference would keep the last).
        ranks.setdefault(merge, len(ranks))

    def write(building: str) -> list[str]:
        written = save_vocab_files(building, vocab, ranks, _OUTPUT_FILES)
        return [os.path.basename(path) for path in written]

    vocab_path, merges_path = write_directory(output_dir, overwrite, _is_tokenizer_file, write)
    return vocab_path, merges_path


def _learn(
    piece_counts: Counter[str], vocab_size: int, min_frequency: int
) -> tuple[list[str], list[tuple[str, str]], dict[str, int]]:
    """The trainer's symbols and merges, and the vocabulary they make: ``vocab_size`` entries
    unless the corpus runs out of pairs first (or its characters alone take more)."""
    target = max(1, vocab_size - len(SPECIAL_TOKENS))
    while True:
        symbols, merges = _run_trainer(piece_counts, target, min_frequency)
        vocab = _blenderbot_vocab(symbols)
        # A learnt symbol that converts to an entry already present ("__newln__</w>" is the
        # special token; "a@@</w>" and "a" both become "a@@") is dropped: learn more to make up.
        # A longer run learns the same merges first, so this never overshoots.
        shortfall = vocab_size - len(vocab)
        if shortfall <= 0 or len(symbols) < target:
            return symbols, merges, vocab
        target += shortfall


def count_pieces(records: Iterable[str]) -> Counter[str]:
    """Count the BPE pieces of all records, as :func:`~.tokenizer.pretokenize` makes them.

    >>> sorted(count_pieces(["Hi, hi!", "bye\\n"]).items())
    [('!', 1), (',', 1), ('__newln__', 1), ('bye', 1), ('hi', 2)]
    """
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(pretokenize(record))
    return counts


def _trainer_input(piece_counts: Counter[str]) -> Iterator[str]:
    """Every piece as often as it was counted, as space-separated strings for the trainer."""
    batch: list[str] = []
    size = 0
    for piece, count in sorted(piece_counts.items()):
        per_chunk = max(1, _FEED_CHUNK_CHARS // (len(piece) + 1))
        while count > 0:
            repeat = min(count, per_chunk)
            batch.append(" ".join([piece] * repeat))
            size += repeat * (len(piece) + 1)
            count -= repeat
            if size >= _FEED_CHUNK_CHARS:
                yield " ".join(batch)
                batch, size = [], 0
    if batch:
        yield " ".join(batch)


def _run_trainer(
    piece_counts: Counter[str], vocab_size: int, min_frequency: int
) -> tuple[list[str], list[tuple[str, str]]]:
    """Train; return the symbols in id order and the merges in rank order."""
    for piece in piece_counts:
        try:
            piece.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"the corpus piece {piece!r} holds a lone surrogate, which is not text"
            ) from None
    # Registered first, in code point order, every word-final symbol gets an id that does not
    # depend on the trainer's hash map order (see the module docstring).
    final_symbols = sorted({piece[-1] + END_OF_WORD for piece in piece_counts})
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=False,  # the caller's own progress line is shown instead
        special_tokens=[AddedToken(symbol, normalized=False) for symbol in final_symbols],
        end_of_word_suffix=END_OF_WORD,
    )
    tokenizer = Tokenizer(models.BPE(end_of_word_suffix=END_OF_WORD))
    # Pieces never hold a space, and nothing else may split or change them.
    tokenizer.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
    tokenizer.train_from_iterator(_trainer_input(piece_counts), trainer)

    model = json.loads(tokenizer.to_str())["model"]
    vocab: dict[str, int] = model["vocab"]
    symbols = sorted(vocab, key=vocab.__getitem__)
    merges: list[tuple[str, str]] = []
    for merge in model["merges"]:
        # tokenizers < 0.20 wrote a merge as "a b"; later ones as ["a", "b"].
        first, second = merge.split(" ") if isinstance(merge, str) else merge
        merges.append((first, second))
    return symbols, merges


def _blenderbot_vocab(symbols: Iterable[str]) -> dict[str, int]:
    """Special tokens, then the trainer's symbols in BlenderBot form, first id kept.

    >>> _blenderbot_vocab(["e</w>", "e", "__newln__</w>"])
    {'__null__': 0, '__start__': 1, '__end__': 2, '__unk__': 3, '__newln__': 4, 'e': 5, 'e@@': 6}
    """
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for symbol in symbols:
        if symbol.endswith(END_OF_WORD):
            token = symbol[: -len(END_OF_WORD)]
        else:
            token = symbol + CONTINUATION
        vocab.setdefault(token, len(vocab))
    return vocab
