"""Cutting added tokens out of text: the trie of the added tokens' strings.

The reference scans text with a trie of the added tokens' strings. Mostly this finds the
leftmost match, longest first, but it has one quirk we reproduce: when a token is found, the
scan tries to extend every match that started further left as if that match had consumed the
current character too, even one that has just failed on it. So after adding
``"abd"`` and ``"b"``, the text ``"abxd"`` is cut as one piece ``"abxd"`` (the scan "extends"
``"ab"`` by ``"d"``). That piece is not an added token, so it is tokenized as ordinary text and
the ``"b"`` inside it is not cut out. With only the default special tokens (none contains
another) the quirk cannot happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import regex

_END = ""  # marks a node where a token ends; no character is the empty string

Node = dict[str, Any]


class AddedTokenTrie:
    """Splits text around added tokens. A trie never changes once made: :meth:`with_tokens`
    makes a new one (readers on other threads may be scanning this one).

    >>> AddedTokenTrie(["__null__"]).split("x__null__y")
    ['x', '__null__', 'y']
    >>> AddedTokenTrie(["abd", "b"]).split("abxd")
    ['abxd']
    >>> AddedTokenTrie(["abd"]).with_tokens(["b"]).split("abxd")
    ['abxd']
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        self._root: Node = {}
        _add_paths(self._root, tokens, {id(self._root)})
        self._next_start = _start_pattern(self._root)

    def with_tokens(self, tokens: Iterable[str]) -> AddedTokenTrie:
        """A trie of this one's tokens and ``tokens``. Only the nodes on the new tokens' paths
        are copied; the rest are shared with this trie, which is left as it is."""
        trie = AddedTokenTrie(())
        trie._root = dict(self._root)
        _add_paths(trie._root, tokens, {id(trie._root)})
        same_starts = trie._root.keys() == self._root.keys()
        trie._next_start = self._next_start if same_starts else _start_pattern(trie._root)
        return trie

    def cut_points(self, text: str) -> list[int]:
        """Start and end of every match, in order (the reference's cut offsets)."""
        cuts = [0]
        if self._next_start is None:
            return cuts
        root = self._root
        length = len(text)
        live: dict[int, Node] = {}  # start of a partial match -> trie node reached so far
        skip = 0
        first = self._next_start.search(text)
        current = first.start() if first else length
        while current < length:
            char = text[current]
            matched = False
            failed: list[int] = []
            for start, node in live.items():
                if _END in node:
                    cut_start, cut_end, skip = self._longest_from(text, live, start, current, skip)
                    cuts += [cut_start, cut_end]
                    matched = True
                    break
                if char in node:
                    live[start] = node[char]
                else:
                    failed.append(start)
            if matched:
                live = {}
            else:
                for start in failed:
                    del live[start]
            if current >= skip and char in root:
                live[current] = root[char]
            current += 1
            if not live:
                found = self._next_start.search(text, max(current, skip))
                current = found.start() if found else length
        for start, node in live.items():
            if _END in node:
                cuts += [start, length]
                break
        return cuts

    @staticmethod
    def _longest_from(
        text: str, live: dict[int, Node], start: int, current: int, skip: int
    ) -> tuple[int, int, int]:
        """A token ended just before ``current`` (it started at ``start``). Take the leftmost
        live start that reaches a token end, and its longest one."""
        best_start, best_end = start, current
        for other_start, node in live.items():
            if other_start > best_start:
                break
            # Quirk: a start left of ``start`` is assumed to have consumed ``current`` already.
            index = current + 1 if other_start < best_start else current
            if _END in node:
                best_start, best_end, skip = other_start, index, index
            while index < len(text) and text[index] in node:
                node = node[text[index]]
                index += 1
                if _END in node:
                    best_start, best_end, skip = other_start, index, index
        return best_start, best_end, skip

    def split(self, text: str) -> list[str]:
        """``text`` cut at the match boundaries, empty pieces dropped."""
        pieces = []
        previous = 0
        for cut in [*self.cut_points(text), len(text)]:
            # A cut behind the previous one is skipped, as the reference does.
            if cut > previous:
                pieces.append(text[previous:cut])
                previous = cut
        return pieces


def _add_paths(root: Node, tokens: Iterable[str], own: set[int]) -> None:
    """Add ``tokens`` to the trie at ``root``. A node whose id is not in ``own`` may belong to
    another trie too, so it is copied before it is changed (``root`` itself must be own)."""
    for token in tokens:
        if not token:
            continue
        node = root
        for char in token:
            child = node.get(char)
            if child is None or id(child) not in own:
                child = {} if child is None else dict(child)
                own.add(id(child))
                node[char] = child
            node = child
        node[_END] = True


def _start_pattern(root: Node) -> regex.Pattern[str] | None:
    """Scanning can jump straight to the next character that starts some token."""
    starts = "".join(sorted(root))
    return regex.compile("[" + regex.escape(starts) + "]") if starts else None
