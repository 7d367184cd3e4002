"""Learning a byte-level Blenderbot vocabulary (``vocab.json`` + ``merges.txt`` +
``tokenizer_config.json``, as the hub's Blenderbot checkpoints hold them) from text.

The ``tokenizers`` BPE trainer learns the merges under the GPT-2 byte-level pre-tokenizer with a
leading space added (what the tokenizer does to every text). The vocabulary starts with
``<s> <pad> </s> <unk>`` at ids 0-3, then the 256 byte symbols, then the merges; ``<mask>`` is
its last id, as in facebook/blenderbot-400M-distill.

The result is deterministic: the trainer ranks pairs by count and breaks ties by the pair's
symbol ids, which the sorted initial alphabet fixes, so the same text gives the same bytes.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from bbtok.blenderbot.family import (
    DISTILL_400M_VOCAB_SIZE,
    MASK_TOKEN,
    MERGES_FILE,
    REFERENCE_CLASS_NAME,
    VOCAB_FILE,
    VOCABULARY_HEAD,
)
from bbtok.corpus.training import PathLike, training_corpus, warn_if_short
from bbtok.storage.files import (
    check_output_directory,
    json_bytes,
    write_directory,
    write_file_set,
)
from bbtok.tokenization.pretrained import TOKENIZER_CONFIG_FILE, is_tokenizer_file

# The files train_byte_level writes, in the order they are put in place.
_OUTPUT_FILES = (VOCAB_FILE, MERGES_FILE, TOKENIZER_CONFIG_FILE)
# What writing over an old tokenizer directory replaces (both families' vocabulary files
# have the same names).
_is_tokenizer_file = functools.partial(
    is_tokenizer_file, vocabulary_file_names=(VOCAB_FILE, MERGES_FILE)
)
# The model length of facebook/blenderbot-400M-distill's configuration.
MODEL_MAX_LENGTH = 128


def train_byte_level(
    output_dir: PathLike,
    *,
    texts: Iterable[str] = (),
    files: Iterable[PathLike] = (),
    vocab_size: int = DISTILL_400M_VOCAB_SIZE,
    min_frequency: int = 2,
    show_progress: bool = False,
    overwrite: bool = False,
) -> tuple[str, str, str]:
    """Learn byte-level BPE merges from ``texts`` and ``files`` and write ``vocab.json``,
    ``merges.txt`` and ``tokenizer_config.json`` into ``output_dir``; return their paths.

    ``texts`` is any iterable of ``str``, each a text to learn from; ``files`` are paths of
    UTF-8 text files, each read as one text after the texts. Either may be left out; a string
    is never taken for the other kind. ``vocab.json`` gets exactly ``vocab_size`` entries, the
    specials and ``<mask>`` included, unless the corpus runs out of pairs seen
    ``min_frequency`` times first (a warning then says so). ``show_progress`` draws a progress
    line on standard error. The same corpus always gives the same bytes, and the files are
    written as one set (none half-written).

    ``output_dir`` is created if needed; one that is not empty is refused before training
    (``FileExistsError``) unless ``overwrite``, which replaces those three files there, once
    all are written, removes the old vocabulary's other tokenizer files (a ``tokenizer.json``
    would be loaded in its place), and keeps every other file (see
    :func:`bbtok.storage.files.write_directory`); a corpus file that would be replaced is
    refused.

    >>> train_byte_level("my-vocab", texts=["hello there", "hello again"], vocab_size=300)
    ... # doctest: +SKIP
    ('my-vocab/vocab.json', 'my-vocab/merges.txt', 'my-vocab/tokenizer_config.json')
    """
    minimum = len(VOCABULARY_HEAD) + len(pre_tokenizers.ByteLevel.alphabet()) + 1
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < minimum:
        raise ValueError(
            f"vocab_size must be at least {minimum} (the special tokens and the 256 bytes), got "
            f"{vocab_size!r}"
        )
    corpus = training_corpus(texts, files)
    check_output_directory(output_dir, overwrite, _is_tokenizer_file, corpus.paths)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,  # <mask> is appended after training
        min_frequency=min_frequency,
        show_progress=False,  # the caller's own progress line is shown instead
        special_tokens=list(VOCABULARY_HEAD),
        initial_alphabet=sorted(pre_tokenizers.ByteLevel.alphabet()),
    )
    with corpus.progress(show_progress) as progress:
        tokenizer.train_from_iterator(progress.read(corpus.records()), trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab: dict[str, int] = dict(model["vocab"])
    vocab[MASK_TOKEN] = len(vocab)
    warn_if_short(len(vocab), vocab_size, min_frequency)
    merges = [" ".join(pair) if isinstance(pair, list) else pair for pair in model["merges"]]
    # As the hub's files: compact JSON in id order, a "#version" header before the merges.
    vocab_text = json.dumps(vocab, ensure_ascii=False, separators=(",", ":"))
    merges_text = "#version: 0.2\n" + "".join(merge + "\n" for merge in merges)
    config = {"model_max_length": MODEL_MAX_LENGTH, "tokenizer_class": REFERENCE_CLASS_NAME}

    def write(building: str) -> list[str]:
        write_file_set(
            [
                (os.path.join(building, VOCAB_FILE), vocab_text.encode("utf-8")),
                (os.path.join(building, MERGES_FILE), merges_text.encode("utf-8")),
                (
                    os.path.join(building, TOKENIZER_CONFIG_FILE),
                    json_bytes(config, TOKENIZER_CONFIG_FILE),
                ),
            ]
        )
        return list(_OUTPUT_FILES)

    written = write_directory(output_dir, overwrite, _is_tokenizer_file, write)
    return written[0], written[1], written[2]
