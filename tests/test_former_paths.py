"""The module paths of earlier releases still import, and give the modules that own the names."""

from __future__ import annotations

import importlib
import pickle

import pytest

import bbtok
from bbtok._former_paths import FORMER_PATHS
from bbtok.data import SAMPLE_CHECKPOINT


@pytest.mark.parametrize("former", sorted(FORMER_PATHS))
def test_a_former_path_imports_the_module_that_owns_its_names_now(former: str) -> None:
    assert importlib.import_module(former) is importlib.import_module(FORMER_PATHS[former])


def test_the_current_module_keeps_its_own_name_when_imported_under_a_former_one() -> None:
    import bbtok.model

    import bbtok.modeling

    assert bbtok.model is bbtok.modeling
    assert bbtok.modeling.__name__ == "bbtok.modeling"
    assert bbtok.modeling.__spec__ is not None and bbtok.modeling.__spec__.name == "bbtok.modeling"


def test_the_documented_imports_of_earlier_releases_work() -> None:
    from bbtok.distributed import tokenize_dataset
    from bbtok.fast import BlenderbotSmallTokenizerFast
    from bbtok.model import BlenderbotSmallForConditionalGeneration
    from bbtok.train import train

    assert BlenderbotSmallTokenizerFast is bbtok.BlenderbotSmallTokenizerFast
    assert BlenderbotSmallForConditionalGeneration.__module__ == "bbtok.modeling.seq2seq"
    assert callable(tokenize_dataset) and callable(train)


def test_a_tokenizer_pickled_under_a_former_class_path_loads() -> None:
    tokenizer = bbtok.BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)
    # Protocol 2 names a class as "c<module>\n<name>\n", so the module path can be swapped.
    pickled = pickle.dumps(tokenizer, protocol=2)
    current = b"cbbtok.blenderbot_small.tokenizer_fast\nBlenderbotSmallTokenizerFast\n"
    assert pickled.count(current) == 1
    former = pickled.replace(current, b"cbbtok.fast\nBlenderbotSmallTokenizerFast\n")
    assert former != pickled
    assert pickle.loads(former)("Hello!").input_ids == tokenizer("Hello!").input_ids
