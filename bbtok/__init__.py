"""bbtok: the BlenderBot-small tokenizer, exactly as transformers runs it.

>>> from bbtok import BlenderbotSmallTokenizer
>>> from bbtok.data import SAMPLE_CHECKPOINT
>>> BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)("Hello there!")["input_ids"]
[10770, 1742, 10]
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from bbtok import _former_paths
from bbtok.blenderbot_small.tokenizer import BlenderbotSmallTokenizer
from bbtok.modeling.config import BlenderbotConfig, BlenderbotSmallConfig
from bbtok.tokenization.added_tokens import AddedToken
from bbtok.tokenization.batch_encoding import BatchEncoding

if TYPE_CHECKING:
    from bbtok.blenderbot.tokenizer import BlenderbotTokenizer, BlenderbotTokenizerFast
    from bbtok.blenderbot_small.tokenizer_fast import BlenderbotSmallTokenizerFast

try:
    __version__ = version("bbtok")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "AddedToken",
    "BatchEncoding",
    "BlenderbotConfig",
    "BlenderbotSmallConfig",
    "BlenderbotSmallTokenizer",
    "BlenderbotSmallTokenizerFast",
    "BlenderbotTokenizer",
    "BlenderbotTokenizerFast",
    "__version__",
]


def _has_extension(directory: str) -> bool:
    return any(
        os.path.isfile(os.path.join(directory, "_native" + suffix)) for suffix in EXTENSION_SUFFIXES
    )


def _borrow_an_installed_extension() -> None:
    """Python started in a source checkout imports its ``bbtok/`` folder, which has no built
    Rust extension unless it was installed in place (``pip install -e .``). When ``pip install .``
    put a built copy of bbtok elsewhere on the path, let this package find its ``_native`` there:
    every other module still comes from the folder imported first, as Python's package
    ``__path__`` lookup goes in order."""
    here = os.path.realpath(os.path.dirname(__file__))
    if _has_extension(here):
        return
    for entry in sys.path:
        candidate = os.path.realpath(os.path.join(entry or os.curdir, "bbtok"))
        if candidate != here and _has_extension(candidate):
            __path__.append(candidate)
            return


_borrow_an_installed_extension()
_former_paths.install()


def __getattr__(name: str) -> Any:
    # The fast tokenizer loads the Rust extension: imported on first use, so that the pure-Python
    # tokenizer works where the extension is not built.
    if name == "BlenderbotSmallTokenizerFast":
        from bbtok.blenderbot_small.tokenizer_fast import BlenderbotSmallTokenizerFast

        return BlenderbotSmallTokenizerFast
    # The byte-level tokenizer loads the tokenizers library: imported on first use as well.
    if name in ("BlenderbotTokenizer", "BlenderbotTokenizerFast"):
        from bbtok.blenderbot import tokenizer

        return getattr(tokenizer, name)
    raise AttributeError(f"module 'bbtok' has no attribute {name!r}")
