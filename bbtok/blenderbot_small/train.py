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

import errno
import json
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Union

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

from bbtok.blenderbot_small.family import (
    CONTINUATION,
    MERGES_FILE,
    NEWLINE_MARKER,
    VOCAB_FILE,
    VOCABULARY_HEAD,
)
from bbtok.blenderbot_small.tokenizer import END_OF_WORD, pretokenize
from bbtok.storage.files import check_output_directory, read_text, write_directory
from bbtok.tokenization.vocabulary_files import Merge, save_vocab_files
from bbtok.tokenizer_auto import is_tokenizer_file

PathLike = Union[str, "os.PathLike[str]"]

# The special tokens and their ids in the real facebook/blenderbot_small-90M vocabulary.
SPECIAL_TOKENS = VOCABULARY_HEAD

# The files train writes, in the order they are put in place.
_OUTPUT_FILES = (VOCAB_FILE, MERGES_FILE)

# The trainer is fed strings of about this many characters (a piece repeated as often as it was
# counted): big enough that crossing into Rust is rare, small enough that none is large.
_FEED_CHUNK_CHARS = 1 << 20


def train(
    corpus: Iterable[str] | Sequence[PathLike] | os.PathLike[str],
    output_dir: PathLike,
    vocab_size: int = 16384,
    min_frequency: int = 2,
    show_progress: bool = False,
    *,
    files: bool | None = None,
    overwrite: bool = False,
) -> tuple[str, str]:
    """Learn BPE merges from ``corpus`` and write ``vocab.json`` and ``merges.txt``.

    ``corpus`` is either text records (any iterable of ``str``; a record may hold line breaks)
    or UTF-8 text files: a list of ``os.PathLike`` (``pathlib.Path``), one ``os.PathLike``, or
    a list of ``str`` paths with ``files=True``. Strings are never guessed to be paths.

    ``vocab_size`` is the number of BPE symbols the trainer learns, counting each character
    seen both as a continuing piece (``e@@``) and as a word-final one (``e``), then one symbol
    per merge. ``vocab.json`` holds the five special tokens (``__null__`` 0, ``__start__`` 1,
    ``__end__`` 2, ``__unk__`` 3, ``__newln__`` 4, as in facebook/blenderbot_small-90M) and
    then those symbols in the order learnt, less those equal to an entry already there
    (normally ``__newln__``, which is learnt from the line breaks). So it has at least
    ``vocab_size`` entries, and at most ``vocab_size + 5``, unless the corpus runs out of pairs
    seen ``min_frequency`` times first.

    The same corpus always gives the same bytes. ``output_dir`` is created if needed; one that
    is not empty is refused before training (``FileExistsError``) unless ``overwrite``, which
    replaces ``vocab.json`` and ``merges.txt`` there once both new ones are written, removes
    the old vocabulary's other tokenizer files (``tokenizer.json``, ``tokenizer_config.json``,
    ...: they would be loaded in its place), and keeps every other file (see
    :func:`bbtok.storage.files.write_directory`); a corpus file that would be replaced is
    refused. Returns the paths of the two files.

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> vocab_file, merges_file = train(["low lower lowest", "new newer newest"], out, 40)
    >>> open(merges_file, encoding="utf-8").read().split("\\n")[:3]
    ['#version: 0.2', 'w e', 'l o']
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 0:
        raise ValueError(f"min_frequency must be a non-negative integer, got {min_frequency!r}")

    paths, records = _records(corpus, files)
    check_output_directory(output_dir, overwrite, is_tokenizer_file, paths)
    piece_counts = count_pieces(records)
    if not piece_counts:
        raise ValueError("the corpus holds no words to learn from")

    target = vocab_size
    while True:
        symbols, merges = _run_trainer(piece_counts, target, min_frequency, show_progress)
        vocab = _blenderbot_vocab(symbols)
        # A learnt symbol that converts to an entry already present ("a@@</w>" and "a" both
        # become "a@@") is dropped, so rarely the file comes out short: learn more to make up.
        shortfall = vocab_size - len(vocab)
        if shortfall <= 0 or len(symbols) < target:
            break
        target += shortfall

    if piece_counts.get(NEWLINE_MARKER) and NEWLINE_MARKER + END_OF_WORD not in symbols:
        warnings.warn(
            f"the merges learnt do not build {NEWLINE_MARKER!r}, so a line break will be several "
            "tokens; give a larger vocab_size or a smaller min_frequency",
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

    vocab_path, merges_path = write_directory(output_dir, overwrite, is_tokenizer_file, write)
    return vocab_path, merges_path


def count_pieces(records: Iterable[str]) -> Counter[str]:
    """Count the BPE pieces of all records, as :func:`~.tokenizer.pretokenize` makes them.

    >>> sorted(count_pieces(["Hi, hi!", "bye\\n"]).items())
    [('!', 1), (',', 1), ('__newln__', 1), ('bye', 1), ('hi', 2)]
    """
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(pretokenize(record))
    return counts


def _records(
    corpus: Iterable[str] | Sequence[PathLike] | os.PathLike[str], as_files: bool | None
) -> tuple[list[str], Iterator[str]]:
    """The corpus as text records, reading files if it is a list of paths; and those paths
    (checked to exist)."""
    if isinstance(corpus, (str, bytes)):
        raise TypeError(
            "corpus must be an iterable of text records or a list of file paths, not a single "
            f"{type(corpus).__name__}; wrap it in a list"
        )
    if isinstance(corpus, os.PathLike):
        corpus = [corpus]
    if as_files is None:
        as_files = (
            isinstance(corpus, (list, tuple))
            and bool(corpus)
            and all(isinstance(item, os.PathLike) for item in corpus)
        )
    if as_files:
        paths = _checked_paths(list(corpus))
        return paths, _read_files(paths)
    return [], _text_records(corpus)


def _checked_paths(paths: list[object]) -> list[str]:
    names: list[str] = []
    for index, path in enumerate(paths):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"corpus item {index} is a {type(path).__name__}, not a file path")
        names.append(os.fspath(path))
    # Name every missing file at once, before any time is spent on the others.
    missing = [name for name in names if not os.path.exists(name)]
    if missing:
        shown = ", ".join(map(repr, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise FileNotFoundError(
            errno.ENOENT,
            f"{len(missing)} corpus file(s) not found: {shown} (pass files=False if these "
            "strings are the text to learn from)",
        )
    return names


def _read_files(names: list[str]) -> Iterator[str]:
    # read_text names the file and the byte offset of invalid UTF-8.
    return (read_text(name) for name in names)


def _text_records(corpus: Iterable[object]) -> Iterator[str]:
    for index, record in enumerate(corpus):
        if not isinstance(record, str):
            hint = " (pass files=True to read file paths)" if isinstance(record, bytes) else ""
            raise TypeError(f"corpus record {index} is a {type(record).__name__}, not str{hint}")
        yield record


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
    piece_counts: Counter[str], vocab_size: int, min_frequency: int, show_progress: bool
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
        show_progress=show_progress,
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
