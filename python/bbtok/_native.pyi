"""Type stubs of the Rust extension (rust/python/). Imported through bbtok.native (which says how
to build it when it is missing) by the fast tokenizer and by ``bbtok encode``'s JSON-lines
output (bbtok.corpus.sinks)."""

__version__: str
UNICODE_VERSION: str
MAX_CACHE_WORDS: int

def max_threads() -> int:
    """The most threads a batch may run on: 4 times the cores this process may use."""

def jsonl_lines(ids: bytes, counts: list[int]) -> bytes:
    """One {"input_ids":[...]} line per record of ids (native uint32, one record after another)
    holding counts[i] ids each; ValueError when the counts do not add up to the ids."""

class JsonForPythonError(ValueError):
    """vocab.json is JSON whose errors only Python's json module words exactly: read it with
    bbtok.tokenization.vocabulary_files.read_vocab for the exact error."""

class NativeTokenizer:
    """The Rust tokenizer core: BlenderBot-small's tokenizer on its own (its special tokens
    added, __unk__ for unknown tokens) until set_added_tokens and set_unknown replace them.
    Texts may hold lone surrogates."""

    @staticmethod
    def from_files(
        vocab_path: str, merges_path: str, vocab_name: str, merges_name: str
    ) -> NativeTokenizer:
        """Raises and warns as bbtok.tokenization.vocabulary_files.read_vocab and read_merges,
        naming the files vocab_name and merges_name; JsonForPythonError for JSON only Python
        words."""
    @staticmethod
    def from_texts(
        vocab_text: str, merges_text: str, vocab_name: str, merges_name: str
    ) -> NativeTokenizer:
        """from_files on the files' texts."""
    @staticmethod
    def from_parts(
        vocab: dict[str, int], merges: list[tuple[list[str], int]]
    ) -> NativeTokenizer: ...
    def set_lowercase_tables(
        self,
        version: str,
        mapping: list[tuple[int, list[int]]],
        cased: list[tuple[int, int]],
        case_ignorable: list[tuple[int, int]],
    ) -> None: ...
    @property
    def unicode_version(self) -> str: ...
    def set_added_tokens(
        self, encoder: list[tuple[str, int]], decoder: list[tuple[int, str]], units: list[str]
    ) -> None: ...
    def added_tokens(self) -> tuple[list[tuple[str, int]], list[tuple[int, str]], list[str]]:
        """The added tokens (token -> id and id -> token pairs, in no particular order) and the
        unit tokens."""
    def unknown(self) -> tuple[str | None, int | None]:
        """The unknown token and its id."""
    def set_unknown(self, token: str | None, id: int | None, message: str) -> None: ...
    def set_cache_capacity(self, words: int) -> None:
        """ValueError unless 0 <= words <= MAX_CACHE_WORDS."""
    @property
    def cache_capacity(self) -> int: ...
    def encode(self, text: str) -> list[int]: ...
    def encode_plain(self, text: str) -> list[int]: ...
    def encode_batch(self, texts: list[str], threads: int) -> list[list[int]]:
        """ValueError when threads > max_threads()."""
    def encode_batch_lists(
        self, texts: list[str], threads: int, attention_mask: bool
    ) -> tuple[list[list[int]], list[list[int]] | None]:
        """The lists of ids, and with attention_mask a list of ones as long as each; ValueError
        when threads > max_threads()."""
    def encode_arrow(
        self, texts: object, threads: int, max_length: int | None = None, from_left: bool = False
    ) -> ArrowIds:
        """An Arrow string array (PyCapsule interface) -> its ids as a list<int32> array;
        ValueError naming a null row."""
    def encode_batch_flat(self, texts: list[str], threads: int) -> tuple[bytes, list[int]]:
        """ValueError when threads > max_threads()."""
    def encode_with_offsets(
        self, text: str, cut_added: bool
    ) -> tuple[list[int], list[tuple[int, int]], list[int | None]]: ...
    def tokenize_plain(self, text: str) -> list[str]: ...
    def token_to_id(self, token: str) -> int: ...
    def vocab_id(self, token: str) -> int | None: ...
    def vocab_token(self, id: int) -> str | None: ...
    def decode(self, ids: list[int], skip: list[int]) -> str: ...
    def get_vocab(self) -> dict[str, int]: ...
    @property
    def vocab_size(self) -> int: ...
    def vocab_json(self) -> str: ...
    def merges_text(self) -> str: ...
    def merge_ranks(self) -> list[tuple[list[str], int]]: ...

class ArrowIds:
    """Ids as an Arrow list<int32> (or large_list<int32>) array, for the PyCapsule interface."""

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]: ...
    def __len__(self) -> int: ...
