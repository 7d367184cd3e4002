"""What the two vocabulary trainers share: the corpus they learn from, given as ``texts`` and
``files`` apart so that a string is never guessed to be one or the other; their progress line;
and the warning when the corpus cannot fill the vocabulary asked for."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Union

from bbtok.corpus.progress import TrainingProgress, plural
from bbtok.storage.files import read_text

PathLike = Union[str, "os.PathLike[str]"]
# Missing corpus files named in one message, at most.
_NAMED_MISSING = 10


@dataclass(frozen=True)
class TrainingCorpus:
    """The texts to learn from, then the files (each file one text), checked to exist; ``paths``
    are the files' names (a trainer refuses to write over one of them)."""

    texts: Iterable[str]
    paths: tuple[str, ...]

    def records(self) -> Iterator[str]:
        """Every text, then every file's text, read one at a time."""
        for index, record in enumerate(self.texts):
            if not isinstance(record, str):
                hint = " (give file paths as files=...)" if isinstance(record, bytes) else ""
                raise TypeError(f"texts[{index}] is a {type(record).__name__}, not str{hint}")
            yield record
        for path in self.paths:
            yield read_text(path)  # names the file and the byte offset of invalid UTF-8

    def size(self) -> int | None:
        """The files' bytes, when the whole corpus is files (else unknown until read)."""
        if self.paths and isinstance(self.texts, tuple) and not self.texts:
            return sum(os.path.getsize(path) for path in self.paths)
        return None

    def progress(self, show: bool) -> TrainingProgress:
        """The trainer's progress line, on standard error when ``show``."""
        return TrainingProgress(sys.stderr if show else None, self.size())


def training_corpus(texts: Iterable[str], files: Iterable[PathLike]) -> TrainingCorpus:
    """``texts`` (any iterable of ``str``, each a text to learn from) and ``files`` (paths of
    UTF-8 text files) as one corpus; every missing file is named at once, before any work.

    >>> training_corpus(texts=["a text"], files=[]).paths
    ()
    >>> training_corpus(texts=[], files=["no-such-corpus.txt"])
    Traceback (most recent call last):
    FileNotFoundError: corpus file not found: 'no-such-corpus.txt'
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"texts must be an iterable of texts, not a single {type(texts).__name__}; wrap it "
            "in a list"
        )
    if isinstance(files, (str, bytes, os.PathLike)):
        raise TypeError(f"files must be a list of paths, not a single {type(files).__name__}")
    paths: list[str] = []
    for index, path in enumerate(files):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"files[{index}] is a {type(path).__name__}, not a path")
        paths.append(os.fspath(path))
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        shown = ", ".join(map(repr, missing[:_NAMED_MISSING]))
        more = ", ..." if len(missing) > _NAMED_MISSING else ""
        what = "corpus file" if len(missing) == 1 else f"{len(missing)} corpus files"
        raise FileNotFoundError(f"{what} not found: {shown}{more}")
    if isinstance(texts, (list, tuple)):
        texts = tuple(texts)
    return TrainingCorpus(texts, tuple(paths))


def warn_if_short(entries: int, vocab_size: int, min_frequency: int) -> None:
    """Warn when the vocabulary learnt has fewer than the ``vocab_size`` entries asked for: the
    corpus ran out of pairs seen ``min_frequency`` times (worded for the library and the
    command line alike)."""
    if entries < vocab_size:
        remedy = "a larger corpus"
        if min_frequency > 1:
            remedy += " or a smaller minimum frequency"
        warnings.warn(
            f"the vocabulary learnt has {entries:,} of the {vocab_size:,} entries asked for: no "
            f"other pair of symbols is seen at least {plural(min_frequency, 'time')} in the "
            f"corpus ({remedy} gives more)",
            stacklevel=3,
        )
