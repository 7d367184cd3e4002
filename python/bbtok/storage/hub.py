"""Hub model ids (``"facebook/blenderbot_small-90M"``) as every ``from_pretrained`` takes them.

A string that is not an existing path and reads as ``org/name`` is looked up with
``huggingface_hub``: its cache first, a download when online. Only the files the caller needs
are fetched, one by one (``hf_hub_download``), so a tokenizer never downloads the weights; the
first file found pins the commit, so every file comes from the same snapshot directory, which is
what the caller then reads as a local directory.

Offline (``HF_HUB_OFFLINE=1`` or ``local_files_only=True``) nothing is requested: a file that is
not in the cache is an immediate ``FileNotFoundError`` naming the model id, the revision and the
cache directory.

``huggingface_hub`` is imported only when a model id is resolved: loading a local directory
costs no import time and works without it.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from bbtok.storage import files
from bbtok.storage.shard_index import INDEX_SUFFIX, shard_files

if TYPE_CHECKING:
    from typing_extensions import Unpack


class HubOptions(TypedDict, total=False):
    """The keyword arguments of transformers' ``from_pretrained`` that say where a model id's
    files come from; passed on to ``huggingface_hub.hf_hub_download``."""

    revision: str | None
    cache_dir: str | os.PathLike[str] | None
    token: str | bool | None
    local_files_only: bool
    force_download: bool


HUB_OPTION_NAMES = ("revision", "cache_dir", "token", "local_files_only", "force_download")
# The weights as transformers saves them, in the order transformers 4.x's PyTorch classes
# preferred them (safetensors, then torch's .bin, then TensorFlow's and Flax's files, which they
# loaded with from_tf / from_flax); an index names shards.
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
    "tf_model.h5.index.json",
    "flax_model.msgpack",
    "flax_model.msgpack.index.json",
)
# What to give instead of a model id that is not in the cache, to go on without the hub.
LOCAL_DIRECTORY_INSTEAD = (
    "give a local directory instead (a checkpoint saved with save_pretrained, or the sample "
    'shipped with bbtok, whose path python -c "from bbtok.data import SAMPLE_CHECKPOINT; '
    'print(SAMPLE_CHECKPOINT)" prints)'
)


@dataclass(frozen=True)
class FileSet:
    """The files a loader reads from a directory: ``holding`` describes them in messages;
    ``weights`` asks for whichever of :data:`WEIGHT_FILES` exists (and an index's shards)."""

    holding: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    weights: bool = False

    def __or__(self, other: FileSet) -> FileSet:
        """Both sets: what a checkpoint directory with its tokenizer holds."""
        return FileSet(
            f"{self.holding}, {other.holding}",
            tuple(dict.fromkeys(self.required + other.required)),
            tuple(dict.fromkeys(self.optional + other.optional)),
            self.weights or other.weights,
        )


def pop_options(kwargs: dict[str, Any]) -> HubOptions:
    """Take the hub options out of a ``from_pretrained``'s keyword arguments.

    >>> kwargs = {"revision": "v1", "model_max_length": 512}
    >>> pop_options(kwargs), kwargs
    ({'revision': 'v1'}, {'model_max_length': 512})
    """
    return cast(HubOptions, {name: kwargs.pop(name) for name in HUB_OPTION_NAMES if name in kwargs})


def is_model_id(name: str) -> bool:
    """Whether ``name`` can be a hub model id ``org/name`` (huggingface_hub's own validation).

    A name without an organisation is taken for a mistyped local directory: bbtok's models all
    live under one, and a bare word (``my-tok``) is far more often a path.

    >>> is_model_id("facebook/blenderbot_small-90M"), is_model_id("./my-tok")
    (True, False)
    """
    if name.count("/") != 1:
        return False
    from huggingface_hub.errors import HFValidationError

    # Where it is defined: huggingface_hub.utils re-exports it lazily, which mypy cannot see.
    from huggingface_hub.utils._validators import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


# Characters git refuses anywhere in a ref name (git check-ref-format): white space and control
# characters, and those of its revision syntax (``~ ^ : ? * [ \\``).
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def check_revision(revision: object) -> None:
    """Refuse a ``revision`` that is no branch, tag or commit name as git allows them (git
    check-ref-format): huggingface_hub reads ``refs/<revision>`` in its cache, so a ``..`` in
    it would read a file outside the cache. None (the default branch) passes.

    >>> check_revision("refs/pr/1")
    >>> check_revision("../../etc/passwd")
    Traceback (most recent call last):
    ValueError: revision='../../etc/passwd' is not a branch, tag or commit name: it contains '..'
    """
    if revision is None:
        return
    if not isinstance(revision, str):
        raise TypeError(f"revision must be a string, got {type(revision).__name__}")
    problem = _ref_name_problem(revision)
    if problem is not None:
        raise ValueError(f"revision={revision!r} is not a branch, tag or commit name: {problem}")


def _ref_name_problem(name: str) -> str | None:
    """What makes ``name`` no git ref name (None: nothing); the empty name means the default
    branch, as huggingface_hub takes it."""
    if not name:
        return None
    forbidden = _REF_FORBIDDEN.search(name)
    if forbidden is not None:
        return f"it contains {forbidden.group()!r}"
    for sequence in ("..", "@{", "//"):
        if sequence in name:
            return f"it contains {sequence!r}"
    if name == "@":
        return "it is '@'"
    if name.startswith("/") or name.endswith("/"):
        return "it starts or ends with '/'"
    if name.endswith("."):
        return "it ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"its part {part!r} starts with '.'"
        if part.endswith(".lock"):
            return f"its part {part!r} ends with '.lock'"
    return None


def pretrained_directory(
    name_or_path: str | os.PathLike[str], wanted: FileSet, **options: Unpack[HubOptions]
) -> str:
    """The directory ``from_pretrained`` reads: ``name_or_path`` itself when it is a path, else
    the cache's snapshot directory of the model id, holding the files of ``wanted``.

    A path that does not exist, including any string that cannot be a model id (``./my-tok``,
    ``/data/tok``, ``~/tok``, ``a/b/c``), is ``FileNotFoundError`` naming it. ``options`` are
    :class:`HubOptions`; they are ignored for a local directory, as in transformers, except
    that a ``revision`` git would refuse is ``ValueError`` for any name (:func:`check_revision`).

    >>> pretrained_directory("facebook/blenderbot_small-90M", TOKENIZER_FILES)  # doctest: +SKIP
    '/home/me/.cache/huggingface/hub/models--facebook--blenderbot_small-90M/snapshots/...'
    """
    # Checked while running too: a misspelt option would otherwise be ignored silently.
    unknown = set(options) - set(HUB_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    check_revision(options.get("revision"))
    # A path object always means a path; so does a string that names something on disk.
    if (
        isinstance(name_or_path, str)
        and not os.path.lexists(name_or_path)
        and is_model_id(name_or_path)
    ):
        return _snapshot_directory(name_or_path, wanted, options)
    return files.local_directory(name_or_path, wanted.holding)


def _snapshot_directory(model_id: str, wanted: FileSet, options: HubOptions) -> str:
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    revision = options.get("revision") or constants.DEFAULT_REVISION
    given_cache = options.get("cache_dir")
    cache_dir = None if given_cache is None else os.fspath(given_cache)
    cache = str(Path(cache_dir or constants.HF_HUB_CACHE).expanduser())
    local_files_only = options.get("local_files_only", False)
    # HF_HUB_OFFLINE as huggingface_hub read it (when first imported). Offline it would still
    # try a request, refused, and retry it: local_files_only skips both.
    offline = local_files_only or constants.HF_HUB_OFFLINE
    why_offline = "local_files_only=True" if local_files_only else "HF_HUB_OFFLINE=1"
    # The first file found pins its commit: the rest come from the same snapshot even if the
    # branch moves meanwhile, and are found in the cache without asking the hub again.
    pinned = revision

    def missing(message: str) -> FileNotFoundError:
        return FileNotFoundError(
            errno.ENOENT, f"Not a local directory, and as a hub model id {message}", model_id
        )

    def fetch(filename: str, required: bool) -> str | None:
        nonlocal pinned
        try:
            path = hf_hub_download(
                model_id,
                filename,
                revision=pinned,
                cache_dir=cache_dir,
                token=options.get("token"),
                local_files_only=offline,
                force_download=options.get("force_download", False),
            )
        except LocalEntryNotFoundError as error:
            if not required:
                return None  # absent from the cache: an optional file is then absent
            if offline:
                raise missing(
                    f"its {filename} (revision {revision!r}) is not in the cache {cache!r}, and "
                    f"nothing is downloaded ({why_offline}); {LOCAL_DIRECTORY_INSTEAD}"
                ) from None
            raise missing(
                f"its {filename} (revision {revision!r}) is not in the cache {cache!r}, and the "
                f"hub could not be reached ({error}). To work offline, set HF_HUB_OFFLINE=1 (the "
                f"files already in the cache are then read without asking the hub) or "
                f"{LOCAL_DIRECTORY_INSTEAD}"
            ) from error
        except EntryNotFoundError:  # the hub says the repository has no such file
            if not required:
                return None
            raise missing(
                f"it has no {filename} at revision {revision!r}: it is not a directory holding "
                f"{wanted.holding}"
            ) from None
        except RevisionNotFoundError:
            raise missing(f"it has no revision {revision!r}") from None
        except RepositoryNotFoundError:
            raise missing(
                "it is not a repository on the hub (or one that needs a token: pass token=...)"
            ) from None
        snapshot = Path(path).parent
        if snapshot.parent.name == "snapshots":
            pinned = snapshot.name
        return path

    found = [fetch(name, required=True) for name in wanted.required]
    found += [fetch(name, required=False) for name in wanted.optional]
    if wanted.weights:
        found.append(_fetch_weights(fetch, missing, wanted))
    return str(Path(next(path for path in found if path is not None)).parent)


def _fetch_weights(
    fetch: Callable[[str, bool], str | None],
    missing: Callable[[str], FileNotFoundError],
    wanted: FileSet,
) -> str:
    """The first of :data:`WEIGHT_FILES` there is, with the shards an index names."""
    for name in WEIGHT_FILES:
        path = fetch(name, False)
        if path is None:
            continue
        if name.endswith(INDEX_SUFFIX):
            for shard in shard_files(path):
                fetch(shard, True)
        return path
    raise missing(
        f"it has no weights ({', '.join(WEIGHT_FILES)}) in the cache or on the hub: it is not a "
        f"directory holding {wanted.holding}"
    )
