"""Files shipped inside the package, so that bbtok works out of the box from any directory.

``SAMPLE_CHECKPOINT`` is a directory laid out as transformers saves a BlenderbotSmall
checkpoint: a 16,388-token vocabulary trained by this project on open text (``vocab.json``,
``merges.txt``, ``tokenizer_config.json``) and a tiny model with **random weights**
(``config.json``, ``generation_config.json``, ``model.safetensors``: 2+2 layers, d_model 16).
The vocabulary is real enough to tokenize any text sensibly; the model's replies are nonsense.
It is the command line's default ``--tokenizer`` and ``--model``.

``TINY_BLENDERBOT`` is the same for the byte-level family: a 1,000-entry byte-level
``BlenderbotTokenizer`` vocabulary (``vocab.json``, ``merges.txt``, ``tokenizer_config.json``,
trained on Python's help topics and English fortunes) and a tiny Blenderbot (pre-LayerNorm)
model with random weights (2+2 layers, d_model 16, 128 positions). Recipes:
``fixtures/make_realistic.py``, ``fixtures/make_tiny_model.py`` and
``fixtures/make_tiny_blenderbot.py`` in the source repository.

>>> from bbtok import BlenderbotSmallTokenizerFast
>>> from bbtok.data import SAMPLE_CHECKPOINT
>>> BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT).tokenize("Hello there!")
['hello', 'there', '!']
>>> from bbtok import BlenderbotTokenizer
>>> from bbtok.data import TINY_BLENDERBOT
>>> BlenderbotTokenizer.from_pretrained(TINY_BLENDERBOT)("Hello there!")["input_ids"][-1]
2
"""

from pathlib import Path

__all__ = ["SAMPLE_CHECKPOINT", "TINY_BLENDERBOT"]

SAMPLE_CHECKPOINT = Path(__file__).resolve().parent / "sample_checkpoint"
TINY_BLENDERBOT = Path(__file__).resolve().parent / "tiny_blenderbot"
