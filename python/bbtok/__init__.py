"""bbtok: the BlenderBot-small tokenizer, exactly as transformers runs it.

>>> from bbtok import BlenderbotSmallTokenizer
>>> from bbtok.data import SAMPLE_CHECKPOINT
>>> BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)("Hello there!")["input_ids"]
[10770, 1742, 10]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bbtok.blenderbot.tokenizer import BlenderbotTokenizer, BlenderbotTokenizerFast
    from bbtok.blenderbot_small.tokenizer import BlenderbotSmallTokenizer
    from bbtok.blenderbot_small.tokenizer_fast import BlenderbotSmallTokenizerFast
    from bbtok.modeling.config import BlenderbotConfig, BlenderbotSmallConfig
    from bbtok.tokenization.added_tokens import AddedToken
    from bbtok.tokenization.batch_encoding import BatchEncoding

    __version__: str

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


# Each public name and the module that owns it, imported on first use: `bbtok` itself imports
# nothing heavy, so that a command (`bbtok encode`) starts in a tenth of a second; the fast
# tokenizer loads the Rust extension only then (the pure-Python one works without it), the
# byte-level one the tokenizers library.
_OWNERS = {
    "AddedToken": "bbtok.tokenization.added_tokens",
    "BatchEncoding": "bbtok.tokenization.batch_encoding",
    "BlenderbotConfig": "bbtok.modeling.config",
    "BlenderbotSmallConfig": "bbtok.modeling.config",
    "BlenderbotSmallTokenizer": "bbtok.blenderbot_small.tokenizer",
    "BlenderbotSmallTokenizerFast": "bbtok.blenderbot_small.tokenizer_fast",
    "BlenderbotTokenizer": "bbtok.blenderbot.tokenizer",
    "BlenderbotTokenizerFast": "bbtok.blenderbot.tokenizer",
}


def _installed_version() -> str:
    # importlib.metadata alone takes longer to import than the rest of a command's start.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bbtok")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _installed_version()
    elif name in _OWNERS:
        value = getattr(importlib.import_module(_OWNERS[name]), name)
    else:
        raise AttributeError(f"module 'bbtok' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
