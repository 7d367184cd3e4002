"""bbtok: the BlenderBot-small tokenizer, exactly as transformers runs it.

>>> from bbtok import BlenderbotSmallTokenizer
>>> tok = BlenderbotSmallTokenizer.from_pretrained("fixtures/realistic")  # doctest: +SKIP
>>> tok("Hello there!")["input_ids"]  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from .api import AddedToken
from .config import BlenderbotSmallConfig
from .encoding import BatchEncoding
from .fast import BlenderbotSmallTokenizerFast
from .tokenizer import BlenderbotSmallTokenizer

try:
    __version__ = version("bbtok")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "AddedToken",
    "BatchEncoding",
    "BlenderbotSmallConfig",
    "BlenderbotSmallTokenizer",
    "BlenderbotSmallTokenizerFast",
    "__version__",
]
