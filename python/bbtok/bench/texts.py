"""The text every tokenizer benchmark runs on: real multilingual records, one a line.

The records come from Python's own documentation (``pydoc_data.topics``, one line a record),
``fixtures/multilingual.txt`` when the benchmark runs from the repository root, and, when they
are installed, the Debian fortune files under ``/usr/share/games/fortunes*`` (one fortune a
record, its lines joined by a space), put in a fixed shuffled order and repeated if needed to
reach the size asked for.
"""

from __future__ import annotations

import itertools
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MULTILINGUAL_TEXT = Path("fixtures") / "multilingual.txt"
FORTUNE_ROOT = Path("/usr/share/games")
FORTUNE_GLOB = "fortunes*"
# Pictures drawn with characters, not text; and the offensive sections, as fixtures/ leaves out.
FORTUNE_SKIPPED_FILES = {"art", "ascii-art", "asciiart", "banner"}
FORTUNE_SKIPPED_DIRS = {"off"}
# Old terminal overstrike: a character, a backspace, and the character printed over it.
OVERSTRIKE = re.compile(".\x08")
SHUFFLE_SEED = 20240601


@dataclass
class Text:
    """Records (one line each) and where each came from."""

    lines: list[str]
    sources: list[str]

    @property
    def megabytes(self) -> float:
        return sum(len(line.encode("utf-8")) + 1 for line in self.lines) / 1e6

    def head(self, megabytes: float) -> Text:
        """The first records, about ``megabytes`` MB of them."""
        size, count, target = 0, 0, megabytes * 1e6
        while count < len(self.lines) and size < target:
            size += len(self.lines[count].encode("utf-8")) + 1
            count += 1
        return Text(self.lines[:count], self.sources[:count])

    def describe(self) -> str:
        by_source: Counter[str] = Counter()
        for line, source in zip(self.lines, self.sources):
            by_source[source] += len(line.encode("utf-8")) + 1
        parts = [f"{source} {size / 1e6:.2f}" for source, size in by_source.most_common()]
        return ", ".join(parts) + " (MB)"


def fortune_records() -> Iterator[tuple[str, str]]:
    """(source, record) for every fortune installed, one record a line, in a fixed order."""
    roots = sorted(FORTUNE_ROOT.glob(FORTUNE_GLOB))
    seen: set[Path] = set()
    for root in roots:
        for directory, subdirs, names in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d not in FORTUNE_SKIPPED_DIRS)
            relative = os.path.relpath(directory, root.parent)
            if directory == str(root):
                relative += "/* (en, some it, pt)"
            for name in sorted(names):
                path = Path(directory) / name
                real = path.resolve()
                if (
                    path.is_symlink()
                    or name.endswith((".dat", ".u8"))
                    or name in FORTUNE_SKIPPED_FILES
                    or real in seen
                ):
                    continue
                seen.add(real)
                try:
                    text = OVERSTRIKE.sub("", path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    continue
                for record in re.split(r"^%\n", text, flags=re.MULTILINE):
                    line = " ".join(part.strip() for part in record.split("\n") if part.strip())
                    if line:
                        yield relative, line


def corpus(megabytes: float) -> Text:
    """About ``megabytes`` MB of real text, one record a line, shuffled the same way each time
    (so that any head of it is a fair sample of the whole), repeated if needed."""
    import pydoc_data.topics

    pool: list[tuple[str, str]] = []
    docs = pydoc_data.topics.topics
    for topic in sorted(docs):
        pool += [("Python docs", line) for line in docs[topic].splitlines() if line.strip()]
    if MULTILINGUAL_TEXT.is_file():
        sample = MULTILINGUAL_TEXT.read_text(encoding="utf-8").splitlines()
        pool += [(str(MULTILINGUAL_TEXT), line) for line in sample if line.strip()]
    pool += list(fortune_records())
    random.Random(SHUFFLE_SEED).shuffle(pool)

    lines: list[str] = []
    sources: list[str] = []
    size, target = 0, megabytes * 1e6
    while size < target:
        for source, line in pool:
            lines.append(line)
            sources.append(source)
            size += len(line.encode("utf-8")) + 1
            if size >= target:
                break
    return Text(lines, sources)


def repeated_lines(text: Text, megabytes: float) -> list[str]:
    """The records of ``text`` over and over, until about ``megabytes`` MB.

    >>> repeated_lines(Text(["abc", "de"], ["x", "x"]), 10e-6)
    ['abc', 'de', 'abc']
    """
    sizes = [len(line.encode("utf-8")) + 1 for line in text.lines]
    lines: list[str] = []
    size, target = 0, megabytes * 1e6
    for line, line_size in itertools.cycle(zip(text.lines, sizes)):
        if size >= target:
            break
        lines.append(line)
        size += line_size
    return lines


def write_records(lines: list[str], path: Path) -> float:
    """``lines`` into ``path``, one record a line; the size in MB."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(line + "\n" for line in lines)
    return path.stat().st_size / 1e6
