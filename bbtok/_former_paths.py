"""Module paths of earlier releases, kept importable: ``import bbtok.model`` and
``from bbtok.fast import BlenderbotSmallTokenizerFast`` give the modules that now own those
names, and tokenizers pickled under the old paths still load. The modules are imported only
when a former path is asked for."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

# The public paths of 0.1 and the modules that own their names now.
FORMER_PATHS = {
    "bbtok.config": "bbtok.modeling.config",
    "bbtok.distributed": "bbtok.corpus.ray_data",
    "bbtok.encoding": "bbtok.tokenization.batch_encoding",
    "bbtok.fast": "bbtok.blenderbot_small.tokenizer_fast",
    "bbtok.model": "bbtok.modeling",
    "bbtok.tokenizer": "bbtok.blenderbot_small.tokenizer",
    "bbtok.train": "bbtok.blenderbot_small.train",
}


# The import system needs only these methods (no importlib.abc base classes: importing that
# module costs a command's start-up a sixth).
class _Alias:
    def __init__(self, current: str) -> None:
        self.current = current

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder, replaced below

    def exec_module(self, module: ModuleType) -> None:
        # Python's import returns whatever sys.modules holds under the name once this returns:
        # the current module itself, run once under its own name and left untouched (handing it
        # out from create_module would have its __spec__ overwritten with the former name).
        sys.modules[module.__name__] = importlib.import_module(self.current)


class FormerPathFinder:
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        current = FORMER_PATHS.get(fullname)
        if current is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, cast("Loader", _Alias(current)))


def install() -> None:
    if not any(isinstance(finder, FormerPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(FormerPathFinder())
