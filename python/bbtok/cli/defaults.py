"""What the commands use when not told: the checkpoint shipped in the package, so that they work
from any directory out of the box. Apart from the commands, so that the parser names them without
importing any tokenizer or model code."""

from __future__ import annotations

from bbtok.data import SAMPLE_CHECKPOINT

DEFAULT_TOKENIZER_DIR = str(SAMPLE_CHECKPOINT)
DEFAULT_MODEL_DIR = str(SAMPLE_CHECKPOINT)
