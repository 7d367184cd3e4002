"""The formats the corpus tools read and write, and the sizes they take when not told. Apart from
their code, so that the command line's parser shows them (choices, defaults) without importing
it: ``bbtok --help`` and ``--version`` load none of the encoder's modules."""

from __future__ import annotations

INPUT_FORMATS = ("txt", "jsonl")
# An output path's extension and the format it names.
OUTPUT_FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}
# Records per batch: enough for the core's threads to share the work evenly and for the
# per-batch costs (thread hand-offs, one write) to vanish, small enough to keep memory low.
DEFAULT_BATCH_SIZE = 5000
# The longest line kept as a record: far beyond any real text record, and a bound on the memory
# a run needs (a few times this) when an input has no line ends at all (/dev/zero, a binary).
DEFAULT_MAX_RECORD_BYTES = 64 << 20
