"""``BlenderbotTokenizer``: the byte-level BPE tokenizer of facebook/blenderbot-400M-distill,
-1B-distill and -3B, on the ``tokenizers`` library, behind the shared Hugging Face surface.
The family's rules are :mod:`bbtok.blenderbot.family`'s; this class runs them on the library.

The ``tokenizers`` pipeline (the *core*) is built by :mod:`bbtok.blenderbot.pipeline` as
transformers 5.23.0 builds it (``add_prefix_space``, True by default). The core cuts the added
tokens out of the text and encodes the rest, batches included (``encode_batch``, on all cores);
the shared layer (:mod:`bbtok.tokenization`) truncates, adds the special tokens where the
post-processor puts them (:class:`~bbtok.blenderbot.post_processor.SpecialTokenLayout`), pads and
builds tensors. The shared token registry is the source of the added tokens: each change is
handed to the core before it is published.

With ``return_overflowing_tokens=True`` the core does it all, as in transformers 5.23.0: it
truncates (``stride``, ``max_length``, the strategy), adds the special tokens, pads, and returns
each overflowing window as a row of its own (``overflow_to_sample_mapping`` says whose); a copy
of the core per thread is set up for each such call (:mod:`bbtok.blenderbot.overflow_windows`).

A directory holds either ``tokenizer.json`` (what transformers 5 saves: its vocabulary, merges
and post-processor are used, the rest of the pipeline is rebuilt as above, as 5.23.0 does) or
``vocab.json`` + ``merges.txt`` (the hub's form): then a sequence is ``X </s>`` and a pair
``A </s> B </s>``, as the family's documentation says (transformers 5.23.0 adds none there; see
README.md). Made from ``vocab`` and ``merges`` (or neither: five special tokens alone), it adds
none, as 5.23.0's constructor (:func:`~bbtok.blenderbot.pipeline.given_vocabulary`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

from tokenizers import Encoding, Tokenizer

from bbtok.blenderbot.family import (
    DIRECTORY_FILES,
    MERGES_FILE,
    TOKENIZER_FILE,
    VOCAB_FILE,
    BlenderbotFamily,
)
from bbtok.blenderbot.overflow_windows import OverflowWindows, WindowingCore
from bbtok.blenderbot.pipeline import (
    check_merges,
    check_merges_in_vocab,
    core_spec,
    core_token,
    eos_template,
    given_vocabulary,
    is_text_input,
    no_special_tokens_template,
    read_byte_level_merges,
    read_pipeline_file,
)
from bbtok.blenderbot.post_processor import SpecialTokenLayout
from bbtok.storage import files, hub
from bbtok.tokenization import chat_template, vocabulary_files
from bbtok.tokenization.added_tokens import TokenRegistry
from bbtok.tokenization.base import Spans, TokenizerBase
from bbtok.tokenization.batch_encoding import BatchEncoding, as_token_id, to_python
from bbtok.tokenization.options import CallOptions
from bbtok.tokenization.pretrained import read_tokenizer_config
from bbtok.tokenization.special_tokens import UNPICKLED, unpickled_attribute, unpickled_state

TokenizerT = TypeVar("TokenizerT", bound="BlenderbotTokenizer")


class BlenderbotTokenizer(BlenderbotFamily, OverflowWindows, TokenizerBase):
    """The Blenderbot byte-level BPE tokenizer: identical ids, tokens, offsets and decoded text
    to transformers 5.23.0's ``BlenderbotTokenizer`` loaded from the same directory.

    >>> tok = BlenderbotTokenizer.from_pretrained("fixtures/byte_level")  # doctest: +SKIP
    >>> tok("Hello world")["input_ids"]  # doctest: +SKIP
    [421, 1087, 1047, 2]
    """

    pads_empty_sequences: ClassVar[bool] = True
    reference_backend: ClassVar[str] = "tokenizers"
    saves_pipeline_file: ClassVar[bool] = True
    tokens_as_tokenizers_library: ClassVar[bool] = True

    def __init__(
        self,
        vocab_file: str | os.PathLike[str] | None = None,
        merges_file: str | os.PathLike[str] | None = None,
        *,
        tokenizer_file: str | os.PathLike[str] | None = None,
        add_prefix_space: bool = True,
        vocab: dict[str, int] | str | os.PathLike[str] | None = None,
        merges: Sequence[Sequence[str]] | str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._take_family_settings(add_prefix_space, kwargs)
        post_processor: dict[str, Any] | None = None
        # The hub's files get the family's documented layout, X </s> (see README.md).
        ends_with_eos = False
        if tokenizer_file is not None:
            source = os.fspath(tokenizer_file)
            vocab, merge_pairs, post_processor, added_tokens = read_pipeline_file(tokenizer_file)
            if added_tokens:
                kwargs.setdefault("added_tokens_decoder", added_tokens)
        elif (
            vocab is not None or merges is not None or (vocab_file is None and merges_file is None)
        ):
            source, vocab, merge_pairs = given_vocabulary(vocab, merges, kwargs)
        elif vocab_file is not None and merges_file is not None:
            source = os.fspath(merges_file)
            vocab = vocabulary_files.read_vocab(vocab_file)
            merge_pairs = read_byte_level_merges(merges_file)
            ends_with_eos = True
        else:
            raise TypeError("give vocab_file and merges_file, vocab and merges, or tokenizer_file")
        self._windowing = WindowingCore()
        self._vocab = vocab
        self._vocab_tokens = {index: token for token, index in vocab.items()}
        self._merges = merge_pairs
        check_merges_in_vocab(merge_pairs, vocab, source)
        self._core = _library_core(core_spec(vocab, merge_pairs, add_prefix_space), source)
        super().__init__(**kwargs)
        # A constructor argument like any other to transformers, which records it there.
        self.init_kwargs["add_prefix_space"] = self.add_prefix_space
        self._core.encode_special_tokens = self.split_special_tokens
        if ends_with_eos and self.eos_token is not None:
            post_processor = eos_template(self.eos_token, self._token_to_id(self.eos_token))
        self._set_post_processor(post_processor, f"{source}: post_processor")

    def _set_post_processor(self, spec: dict[str, Any] | None, source: str) -> None:
        """Use the post-processor ``spec`` (from ``source``, which errors name)."""
        if spec is None:
            # As 5.23.0: a pipeline with no post-processor gets one that adds no token (the
            # padding of an empty row then belongs to no sequence, in sequence_ids()).
            spec = no_special_tokens_template()
        self._layout = SpecialTokenLayout.from_post_processor(spec, source)
        pipeline = json.loads(self._core.to_str())
        pipeline["post_processor"] = spec
        core = _library_core(pipeline, source)
        core.encode_special_tokens = self.split_special_tokens
        self._core = core
        # Kept for pickling, which makes the core again from its parts.
        self._post_processor = spec

    @property
    def is_fast(self) -> bool:
        """True: this tokenizer runs on the ``tokenizers`` library (offsets, batches)."""
        return True

    # -- keeping the core in step with the shared registry ----------------------------------

    def _tokens_changing(self, previous: TokenRegistry | None, tokens: TokenRegistry) -> None:
        # Called with the change lock held, before the registry is published. The core is
        # changed on a copy that then replaces it whole: readers (encode_batch runs outside
        # the GIL) keep the core they took.
        known = self._core.get_added_tokens_decoder()
        # A token added again with other flags joins over the old one, as in the library.
        new_tokens = sorted(
            (index, token)
            for index, token in tokens.added_tokens_decoder.items()
            if index not in known or core_token(token) != known[index]
        )
        for _, token in new_tokens:
            if not _is_utf8(token.content):
                raise ValueError(
                    f"added token {token.content!r} holds a lone surrogate, which is not text: "
                    "the byte-level tokenizer encodes text as UTF-8"
                )
        core = Tokenizer.from_str(self._core.to_str())
        core.encode_special_tokens = self._core.encode_special_tokens
        for index, token in new_tokens:
            core.add_tokens([core_token(token)])
            given = core.token_to_id(token.content)
            if given != index:
                raise ValueError(
                    f"added token {token.content!r} has id {index}, but the next free id of "
                    f"the vocabulary is {given}: added tokens must follow the vocabulary "
                    "without gaps"
                )
        self._core = core

    # -- the algorithm -----------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Size of the vocabulary, without added tokens."""
        return len(self._vocab)

    def _tokenize_plain(self, text: str) -> list[str]:
        tokens: list[str] = self._plain_core().encode(text, add_special_tokens=False).tokens
        return tokens

    def _plain_core(self) -> Tokenizer:
        """A core that treats added tokens as text (``split_special_tokens=True``)."""
        core = copy.copy(self._core)
        core.encode_special_tokens = True
        return core

    def _encode_plain(self, text: str, tokens: TokenRegistry) -> list[int]:
        ids: list[int] = self._plain_core().encode(text, add_special_tokens=False).ids
        return ids

    def _core_for(self, split_special_tokens: bool | None) -> Tokenizer:
        if split_special_tokens is None or split_special_tokens == self.split_special_tokens:
            return self._core
        core = copy.copy(self._core)
        core.encode_special_tokens = split_special_tokens
        return core

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:
        """Split text into byte-level tokens (``Ġ`` stands for a space); added tokens are kept
        whole.

        >>> tok.tokenize("Hello world")  # doctest: +SKIP
        ['ĠHello', 'Ġworld']
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        core = self._core_for(kwargs.pop("split_special_tokens", None))
        with _LoneSurrogatesRefused(text=text):
            tokens: list[str] = core.encode(text, add_special_tokens=False).tokens
        return tokens

    def _encode_text(self, text: str, split_special_tokens: bool | None = None) -> list[int]:
        ids: list[int] = (
            self._core_for(split_special_tokens).encode(text, add_special_tokens=False).ids
        )
        return ids

    def _encode_with_offsets(self, text: str, split_special: bool) -> tuple[list[int], Spans]:
        encoding = self._core_for(split_special).encode(text, add_special_tokens=False)
        return _with_spans(encoding)

    def _encode_any(self, text: Any, text_pair: Any, options: CallOptions) -> BatchEncoding:
        with _LoneSurrogatesRefused(text=text, text_pair=text_pair):
            return self._encode_inputs(text, text_pair, options)

    def _encode_inputs(self, text: Any, text_pair: Any, options: CallOptions) -> BatchEncoding:
        # An empty batch goes on to the shared layer's ValueError (the reference fails on an
        # index); an empty list of words is one empty text. Ids (what apply_chat_template's
        # sanitize_control_tokens encodes) are the shared layer's too, but for windows.
        empty_batch = isinstance(text, (list, tuple)) and not text
        by_core = options.return_overflowing_tokens or is_text_input(text)
        if by_core and (options.is_split_into_words or not empty_batch):
            return self._encode_windows(text, text_pair, options)
        return super()._encode_any(text, text_pair, options)

    # -- calls: rows made by the core --------------------------------------------------------

    def _vocab_token_to_id(self, token: str) -> int | None:
        return self._vocab.get(token)

    def _vocab_id_to_token(self, index: int) -> str | None:
        return self._vocab_tokens.get(index)

    def _base_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def _merge_ranks(self) -> dict[tuple[str, ...], int]:
        return {merge: rank for rank, merge in enumerate(self._merges)}

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> Any:
        """Id(s) -> token(s); as in the reference, an id that is neither in the vocabulary nor
        an added token gives None."""
        core = self._core
        ids = to_python(ids)
        if not isinstance(ids, (list, tuple)):
            return core.id_to_token(as_token_id(ids))
        skipped = set(self.all_special_ids) if skip_special_tokens else set()
        return [core.id_to_token(i) for i in map(as_token_id, ids) if i not in skipped]

    # -- decoding ----------------------------------------------------------------------------

    def _decode_text(self, token_ids: Any, skip_special_tokens: bool) -> str:
        ids = (
            [as_token_id(i) for i in token_ids]
            if isinstance(token_ids, (list, tuple))
            else [as_token_id(token_ids)]
        )
        text: str = self._core.decode(ids, skip_special_tokens=skip_special_tokens)
        return text

    # -- files and pickling ------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls: type[TokenizerT], pretrained_model_name_or_path: str | os.PathLike[str], **kwargs: Any
    ) -> TokenizerT:
        """Load a directory holding ``tokenizer.json`` (preferred, as transformers does) or
        ``vocab.json`` + ``merges.txt``, with ``tokenizer_config.json`` when present; or a hub
        model id, through huggingface_hub's cache.

        >>> tok = BlenderbotTokenizer.from_pretrained("facebook/blenderbot-400M-distill")
        ... # doctest: +SKIP
        """
        directory = hub.pretrained_directory(
            pretrained_model_name_or_path, DIRECTORY_FILES, **hub.pop_options(kwargs)
        )
        kwargs.pop("trust_remote_code", None)
        config = read_tokenizer_config(directory)
        config.pop("backend", None)
        # Template files take priority over tokenizer_config.json's chat_template.
        config.update(chat_template.read_chat_templates(directory))
        if "added_tokens_decoder" not in config:
            config.update(cls._legacy_token_files(directory, config, kwargs))
        config.update(kwargs)
        config["name_or_path"] = os.fspath(pretrained_model_name_or_path)
        for key in ("vocab_file", "merges_file", "tokenizer_file"):
            config.pop(key, None)
        pipeline_path = os.path.join(directory, TOKENIZER_FILE)
        if os.path.lexists(pipeline_path):
            return cls(tokenizer_file=pipeline_path, **config)
        vocab_path = os.path.join(directory, VOCAB_FILE)
        merges_path = os.path.join(directory, MERGES_FILE)
        for path in (vocab_path, merges_path):
            if not os.path.lexists(path):
                raise FileNotFoundError(
                    2, f"no {TOKENIZER_FILE}, or {VOCAB_FILE} and {MERGES_FILE}, in", directory
                )
        return cls(vocab_path, merges_path, **config)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        # The vocabulary and merges as two JSON documents (a few bytes objects, not one object
        # per token: pickling and datasets' fingerprinting then take milliseconds). The core
        # and what follows from the parts are made again, from the parts checked as loading
        # checks them (a pickle may have been made by hand).
        state["_vocab"] = json.dumps(state["_vocab"], ensure_ascii=False).encode("utf-8")
        state["_merges"] = json.dumps(state["_merges"], ensure_ascii=False).encode("utf-8")
        for derived in ("_core", "_layout", "_vocab_tokens", "_windowing"):
            del state[derived]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = unpickled_state(state)
        for name in ("_vocab", "_merges"):
            state[name] = files.parse_json(
                unpickled_attribute(state, name, bytes), f"{UNPICKLED}: {name}"
            )
        unpickled_attribute(state, "_vocab", dict)
        state["_merges"] = check_merges(unpickled_attribute(state, "_merges", list), UNPICKLED)
        for flag in ("add_prefix_space", "force_clean_up", "_warned_clean_up"):
            unpickled_attribute(state, flag, bool)
        post_processor = unpickled_attribute(state, "_post_processor", dict)
        super().__setstate__(state)  # checks the vocabulary, the settings and the tokens
        self._vocab_tokens = {index: token for token, index in self._vocab.items()}
        self._windowing = WindowingCore()
        check_merges_in_vocab(self._merges, self._vocab, UNPICKLED)
        self._core = _library_core(
            core_spec(self._vocab, self._merges, self.add_prefix_space), UNPICKLED
        )
        self._tokens_changing(None, self._tokens)
        self._set_post_processor(post_processor, f"{UNPICKLED}: post_processor")


BlenderbotTokenizerFast = BlenderbotTokenizer


def _library_core(pipeline: dict[str, Any], source: str) -> Tokenizer:
    """The ``tokenizers`` pipeline ``pipeline``; what the library refuses (a merge of a symbol
    the vocabulary lacks) is a ValueError starting with ``source``."""
    try:
        return Tokenizer.from_str(json.dumps(pipeline))
    except Exception as error:  # the library's errors are bare Exceptions
        raise ValueError(f"{source}: {error}") from None


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate(value: Any) -> tuple[str, int] | None:
    """Where the first lone surrogate of a call's input (a text, a pair, words, a batch of
    them) is: the index path of its text (``"[2][0]"``, ``""`` for ``value`` itself) and its
    character; None when there is none."""
    if isinstance(value, str):
        if _is_utf8(value):
            return None
        position = next(i for i, char in enumerate(value) if "\ud800" <= char <= "\udfff")
        return "", position
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _lone_surrogate(item)
            if found is not None:
                return f"[{index}]{found[0]}", found[1]
    return None


class _LoneSurrogatesRefused:
    """The ``tokenizers`` library refuses a str holding a lone surrogate with a TypeError that
    says it must be a str (transformers 5.23.0 passes it on); here, that error becomes a
    ValueError naming the input and the index of the text in its batch. A class rather than a
    generator context manager: it wraps every call, and costs a tenth as much."""

    __slots__ = ("inputs",)

    def __init__(self, **inputs: Any) -> None:
        self.inputs = inputs

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: object, traceback: object) -> None:
        if kind is None or not issubclass(kind, TypeError):
            return
        for name, value in self.inputs.items():
            found = _lone_surrogate(value)
            if found is not None:
                path, position = found
                raise ValueError(
                    f"{name}{path} holds a lone surrogate at character {position}, which is "
                    "not text: the byte-level tokenizer encodes text as UTF-8"
                ) from None


def _with_spans(encoding: Encoding) -> tuple[list[int], Spans]:
    offsets: list[tuple[int, int]] = [tuple(pair) for pair in encoding.offsets]  # type: ignore[misc]
    return list(encoding.ids), (offsets, list(encoding.word_ids))
