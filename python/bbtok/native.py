"""The Rust extension (``bbtok._native``), or an ImportError that says how to get it.

Imported by what runs on it: the fast tokenizer and ``bbtok encode``'s JSON-lines output.
"""

from __future__ import annotations

import os

try:
    from bbtok import _native
except ImportError as error:
    raise ImportError(
        f"bbtok's Rust extension (bbtok._native) is not built in {os.path.dirname(__file__)!r}: "
        "install bbtok with `pip install .` from the repository root (`pip install -e .` to work "
        "on its code). The pure-Python BlenderbotSmallTokenizer works without it."
    ) from error

__all__ = ["_native"]
