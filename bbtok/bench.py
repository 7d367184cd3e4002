"""Pure-Python bbtok vs transformers' BlenderbotSmallTokenizer: throughput, in one run.

Usage (from the repository root, after ``pip install ".[test]"``)::

    python -m bbtok.bench [--tokenizer fixtures/realistic] [--megabytes 2]

The text is real and installs with Python itself (``pydoc_data``, Python's documentation),
plus ``fixtures/multilingual.txt``; each line is one record. Both tokenizers are loaded fresh
(empty caches) and called the way users call them, ``tok(lines)["input_ids"]``. Outputs are
checked equal before any number is printed. Prints MB/s and the ratio bbtok / transformers.
"""

from __future__ import annotations

import argparse
import gc
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_TOKENIZER_DIR = Path("fixtures") / "realistic"
MULTILINGUAL_TEXT = Path("fixtures") / "multilingual.txt"


def corpus_lines(megabytes: float) -> list[str]:
    """About ``megabytes`` MB of real text, one record a line (repeated if needed)."""
    import pydoc_data.topics

    base = [line for text in pydoc_data.topics.topics.values() for line in text.splitlines()]
    if MULTILINGUAL_TEXT.is_file():
        base += MULTILINGUAL_TEXT.read_text(encoding="utf-8").splitlines()
    base = [line for line in base if line.strip()]
    lines: list[str] = []
    size = 0
    target = megabytes * 1e6
    while size < target:
        for line in base:
            lines.append(line)
            size += len(line.encode("utf-8")) + 1
            if size >= target:
                break
    return lines


def best_time(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` runs of ``run`` (each on a fresh tokenizer)."""
    best = float("inf")
    result = None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description="pure-Python bbtok vs transformers")
    parser.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER_DIR))
    parser.add_argument("--megabytes", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    import transformers
    from transformers import BlenderbotSmallTokenizer as Reference

    from bbtok import BlenderbotSmallTokenizer

    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    logging.getLogger("transformers").setLevel(logging.ERROR)

    lines = corpus_lines(args.megabytes)
    megabytes = sum(len(line.encode("utf-8")) + 1 for line in lines) / 1e6
    print(f"text: {len(lines):,} lines, {megabytes:.2f} MB; tokenizer: {args.tokenizer}")
    print(f"transformers {transformers.__version__}")

    def ours() -> Any:
        return BlenderbotSmallTokenizer.from_pretrained(args.tokenizer)(lines)["input_ids"]

    def reference() -> Any:
        return Reference.from_pretrained(args.tokenizer)(lines)["input_ids"]

    ours_time, ours_ids = best_time(ours, args.repeats)
    reference_time, reference_ids = best_time(reference, args.repeats)
    if ours_ids != reference_ids:
        raise SystemExit("bbtok and transformers disagree on this text: no timing is reported")
    print(f"transformers BlenderbotSmallTokenizer: {megabytes / reference_time:6.2f} MB/s")
    print(f"bbtok BlenderbotSmallTokenizer:        {megabytes / ours_time:6.2f} MB/s")
    print(f"ratio bbtok / transformers: {reference_time / ours_time:.2f}x (identical ids)")


if __name__ == "__main__":
    main()
