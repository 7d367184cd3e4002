"""Files shipped inside the package, so that bbtok works out of the box from any directory.

``SAMPLE_CHECKPOINT`` is a directory laid out as transformers saves a BlenderbotSmall
checkpoint: a 16,388-token vocabulary trained by this project on open text (``vocab.json``,
``merges.txt``, ``tokenizer_config.json``) and a tiny model with **random weights**
(``config.json``, ``generation_config.json``, ``model.safetensors``: 2+2 layers, d_model 16).
The vocabulary is real enough to tokenize any text sensibly; the model's replies are nonsense.
It is the command line's default ``--tokenizer`` and ``--model``.

>>> from bbtok import BlenderbotSmallTokenizerFast
>>> from bbtok.data import SAMPLE_CHECKPOINT
>>> BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT).tokenize("Hello there!")
['hello', 'there', '!']
"""

from pathlib import Path

__all__ = ["SAMPLE_CHECKPOINT"]

SAMPLE_CHECKPOINT = Path(__file__).resolve().parent / "sample_checkpoint"
