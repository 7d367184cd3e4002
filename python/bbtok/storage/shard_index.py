"""The index of a sharded checkpoint (``model.safetensors.index.json``,
``pytorch_model.bin.index.json``, and TensorFlow's and Flax's): which shard file holds each
tensor. Read when a hub model id's shards are fetched and when the model's loaders open them.
"""

from __future__ import annotations

import os
from pathlib import Path

from bbtok.storage import files
from bbtok.storage.files import quoted

# How an index's name ends: the weights file it stands for, then this.
INDEX_SUFFIX = ".index.json"


def _unique_names(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"tensor {quoted(key)} is listed twice")
        result[key] = value
    return result


def read_weight_map(index_path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``weight_map`` of a sharded checkpoint's index: tensor name -> shard file, each shard
    a relative path that stays inside the index's directory; anything else is a ValueError
    naming the file.

    >>> read_weight_map("path/to/model.safetensors.index.json")  # doctest: +SKIP
    {'model.shared.weight': 'model-00001-of-00002.safetensors', ...}
    """
    index = files.read_json(
        index_path,
        object_pairs_hook=_unique_names,
        parse_constant=files.refuse_json_constant,
        context="not a checkpoint index",
    )
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not (
        isinstance(weight_map, dict)
        and all(isinstance(shard, str) for shard in weight_map.values())
    ):
        raise ValueError(
            f'{os.fspath(index_path)}: not a checkpoint index (it needs a "weight_map" object of '
            "tensor name -> shard file name)"
        )
    for name, shard in weight_map.items():
        parts = shard.replace("\\", "/").split("/")
        # The shards are the index's neighbours: a name reaching elsewhere (a hostile index
        # pointing at /etc/passwd or ../../secret) is refused before anything is opened.
        if not shard or os.path.isabs(shard) or shard.startswith(("/", "\\")) or ".." in parts:
            raise ValueError(
                f"{os.fspath(index_path)}: tensor {quoted(name)} is in shard "
                f"{quoted(shard)}, which is not a file name inside the checkpoint's directory"
            )
    return weight_map


def shard_files(index_path: str | os.PathLike[str]) -> list[str]:
    """The shard files an index names, each once, in the order it first names them.

    >>> shard_files("path/to/model.safetensors.index.json")  # doctest: +SKIP
    ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
    """
    return list(dict.fromkeys(read_weight_map(Path(index_path)).values()))
