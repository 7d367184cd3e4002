//! Merge ranks and the merge loop.
//!
//! Symbols are interned strings: two symbols are the same exactly when their strings are, as in
//! the reference, which compares strings. A piece's initial symbols are its code points, the
//! last one suffixed `</w>`; a code point that appears in no merge gets no symbol id and can
//! never merge. The output is a partition of the piece into character ranges: a symbol's string
//! is always the concatenation of its characters (plus `</w>` for the last one), so the tokens
//! are cut from the piece itself and the strings of merged symbols are never needed.

use crate::strings::StringTable;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, TryReserveError};

/// The suffix the merges put on a piece's last symbol.
pub const END_OF_WORD: &str = "</w>";
/// What a token followed by another token of its piece ends with (`ap@@ te`).
pub const CONTINUATION: &str = "@@";
/// Below this many symbols a plain scan is faster than a heap.
const HEAP_FROM: usize = 48;
/// Positions in a piece are 32-bit (half the memory of `usize`), so a piece has fewer code
/// points than this. (A piece that long would need some 60 GB to split.)
pub const MAX_PIECE_CHARS: usize = u32::MAX as usize;

/// An interned symbol.
pub type Symbol = u32;

/// What an adjacent pair without a rank stores: it sorts after every ranked pair.
const NO_PAIR: (u32, Symbol) = (u32::MAX, 0);

/// Why a piece could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    /// The piece has `MAX_PIECE_CHARS` code points or more (it has this many).
    TooLong(usize),
    /// Memory for the merge loop could not be had.
    OutOfMemory,
}

impl From<TryReserveError> for SplitError {
    fn from(_: TryReserveError) -> Self {
        SplitError::OutOfMemory
    }
}

/// Buffers the merge loop reuses from piece to piece. After a split, `symbols()` holds the
/// symbol of each token (`NO_SYMBOL` for a code point that appears in no merge).
#[derive(Debug, Default)]
pub struct BpeScratch {
    symbols: Vec<Symbol>,
    pairs: Vec<(u32, Symbol)>,
    next_pairs: Vec<(u32, Symbol)>,
    fresh: Vec<bool>,
    source: Vec<usize>,
    heap: BinaryHeap<Reverse<u64>>,
    deferred: Vec<u64>,
}

impl BpeScratch {
    /// The symbols of the last split's tokens, in order.
    #[inline]
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// Bytes held for reuse.
    pub fn held_bytes(&self) -> usize {
        self.symbols.capacity() * 4
            + self.heap.capacity() * 8
            + self.deferred.capacity() * 8
            + (self.pairs.capacity() + self.next_pairs.capacity()) * 8
            + self.fresh.capacity()
            + self.source.capacity() * 8
    }
}

/// The symbol of a code point that appears in no merge: it never merges.
pub const NO_SYMBOL: Symbol = u32::MAX;

/// `merges.txt` compiled: ranks of symbol pairs and what they merge into.
#[derive(Clone, Debug, Default)]
pub struct MergeRanks {
    /// (left, right) -> (rank, merged symbol).
    pairs: FxHashMap<u64, (u32, Symbol)>,
    /// The symbol of each single code point, and of each code point + `</w>`.
    char_symbol: FxHashMap<u32, Symbol>,
    final_char_symbol: FxHashMap<u32, Symbol>,
    /// Symbol -> its text.
    symbols: StringTable,
    /// Lines that are not two symbols: they keep a rank and never match.
    odd_lines: FxHashMap<Vec<String>, u32>,
}

#[inline]
fn pair_key(left: Symbol, right: Symbol) -> u64 {
    (left as u64) << 32 | right as u64
}

/// Collects merge lines into `MergeRanks`.
#[derive(Default)]
struct Builder {
    ranks: MergeRanks,
    merged: String,
}

impl Builder {
    fn with_capacity(lines: usize) -> Self {
        let mut builder = Builder::default();
        builder.ranks.symbols = StringTable::with_capacity(lines * 2, lines * 12);
        builder.ranks.pairs.reserve(lines);
        builder
    }

    fn intern(&mut self, text: &str) -> Symbol {
        self.ranks.symbols.intern(text)
    }

    /// A line's parts and rank; a repeated line takes the new rank, as in a Python dict.
    fn add<S: AsRef<str>>(&mut self, parts: &[S], rank: u32) {
        if let [left, right] = parts {
            let (left, right) = (left.as_ref(), right.as_ref());
            let l = self.intern(left);
            let r = self.intern(right);
            let mut merged = std::mem::take(&mut self.merged);
            merged.clear();
            merged.push_str(left);
            merged.push_str(right);
            let m = self.intern(&merged);
            self.merged = merged;
            self.ranks.pairs.insert(pair_key(l, r), (rank, m));
        } else {
            let line = parts.iter().map(|p| p.as_ref().to_string()).collect();
            self.ranks.odd_lines.insert(line, rank);
        }
    }

    fn finish(mut self) -> MergeRanks {
        for (symbol, text) in self.ranks.symbols.iter() {
            let mut chars = text.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                self.ranks.char_symbol.insert(c as u32, symbol);
            } else if let Some(stem) = text.strip_suffix(END_OF_WORD) {
                let mut chars = stem.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    self.ranks.final_char_symbol.insert(c as u32, symbol);
                }
            }
        }
        self.ranks
    }
}

impl MergeRanks {
    /// Build from merge lines in file order (each split on white space). As in the
    /// reference's dict, a repeated line keeps the rank of its last occurrence, and a line that
    /// is not two symbols takes a rank but never matches.
    pub fn new<L: AsRef<[S]>, S: AsRef<str>>(lines: impl IntoIterator<Item = L>) -> Self {
        let lines = lines.into_iter();
        let mut builder = Builder::with_capacity(lines.size_hint().0);
        for (rank, line) in lines.into_iter().enumerate() {
            builder.add(line.as_ref(), rank as u32);
        }
        builder.finish()
    }

    /// Build from lines with their ranks (distinct lines, any order).
    pub fn from_ranked(mut kept: Vec<(Vec<String>, u32)>) -> Self {
        kept.sort_by_key(|&(_, rank)| rank);
        let mut builder = Builder::with_capacity(kept.len());
        for (line, rank) in &kept {
            builder.add(line, *rank);
        }
        builder.finish()
    }

    /// Every symbol's text (code points, a last one suffixed `</w>`), by symbol.
    pub(crate) fn symbols(&self) -> &StringTable {
        &self.symbols
    }

    /// The distinct lines with their ranks, in rank order (what `save_vocabulary` writes).
    pub fn lines(&self) -> Vec<(Vec<String>, u32)> {
        let mut lines: Vec<(Vec<String>, u32)> = self
            .pairs
            .iter()
            .map(|(&key, &(rank, _))| {
                let left = self.symbols.get((key >> 32) as Symbol);
                let right = self.symbols.get((key & 0xFFFF_FFFF) as Symbol);
                (vec![left.to_string(), right.to_string()], rank)
            })
            .chain(
                self.odd_lines
                    .iter()
                    .map(|(line, &rank)| (line.clone(), rank)),
            )
            .collect();
        lines.sort_unstable_by_key(|&(_, rank)| rank);
        lines
    }

    /// Number of ranked lines.
    pub fn len(&self) -> usize {
        self.pairs.len() + self.odd_lines.len()
    }

    /// Whether there are no merges.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn lookup(&self, left: Symbol, right: Symbol) -> Option<(u32, Symbol)> {
        if left == NO_SYMBOL || right == NO_SYMBOL {
            return None;
        }
        self.pairs.get(&pair_key(left, right)).copied()
    }

    fn initial_symbols(&self, piece: &[u32], symbols: &mut Vec<Symbol>) -> Result<(), SplitError> {
        let last = piece.len().wrapping_sub(1);
        symbols.clear();
        symbols.try_reserve(piece.len())?;
        symbols.extend(piece.iter().enumerate().map(|(i, c)| {
            let table = if i == last {
                &self.final_char_symbol
            } else {
                &self.char_symbol
            };
            table.get(c).copied().unwrap_or(NO_SYMBOL)
        }));
        Ok(())
    }

    /// Split a lowercased piece into tokens: the end of each token's character range, in order.
    ///
    /// Repeatedly the adjacent pair with the lowest rank is merged wherever it occurs, left to
    /// right without overlap, until no adjacent pair has a rank; a piece of one code point is
    /// left as it is. Fails only on a piece of `MAX_PIECE_CHARS` code points or more, or when
    /// memory runs out (about 20 bytes a code point are needed for a long piece).
    pub fn split(&self, piece: &[u32], ends: &mut Vec<u32>) -> Result<(), SplitError> {
        self.split_with(piece, ends, &mut BpeScratch::default())
    }

    /// `split`, with buffers to reuse; the tokens' symbols are left in `work.symbols()`.
    pub(crate) fn split_with(
        &self,
        piece: &[u32],
        ends: &mut Vec<u32>,
        work: &mut BpeScratch,
    ) -> Result<(), SplitError> {
        ends.clear();
        let n = piece.len();
        if n >= MAX_PIECE_CHARS {
            return Err(SplitError::TooLong(n));
        }
        if n < 2 || self.pairs.is_empty() {
            self.initial_symbols(piece, &mut work.symbols)?;
            ends.try_reserve(n)?;
            ends.extend(1..=n as u32);
            Ok(())
        } else if n < HEAP_FROM {
            self.initial_symbols(piece, &mut work.symbols)?;
            self.split_by_scanning(ends, work);
            Ok(())
        } else {
            self.split_with_heap(piece, ends, work)
        }
    }

    /// The reference's loop: each round finds the lowest-ranked adjacent pair and merges it
    /// everywhere, left to right. Quadratic in the worst case, and fastest on short pieces: the
    /// ranks of adjacent pairs are kept between rounds, so only pairs next to a merge are
    /// looked up again.
    fn split_by_scanning(&self, ends: &mut Vec<u32>, work: &mut BpeScratch) {
        let symbols = &mut work.symbols;
        ends.extend(1..=symbols.len() as u32);
        let pairs = &mut work.pairs;
        pairs.clear();
        pairs.extend(
            symbols
                .windows(2)
                .map(|w| self.lookup(w[0], w[1]).unwrap_or(NO_PAIR)),
        );
        while let Some((best, &(rank, merged))) =
            pairs.iter().enumerate().min_by_key(|(_, &(rank, _))| rank)
        {
            if rank == NO_PAIR.0 {
                break;
            }
            let (left, right) = (symbols[best], symbols[best + 1]);
            // Merge every occurrence, remembering where each new symbol came from.
            work.fresh.clear();
            work.source.clear();
            let (mut read, mut write) = (0, 0);
            while read < symbols.len() {
                let merges =
                    read + 1 < symbols.len() && symbols[read] == left && symbols[read + 1] == right;
                work.fresh.push(merges);
                work.source.push(read);
                if merges {
                    symbols[write] = merged;
                    ends[write] = ends[read + 1];
                    read += 2;
                } else {
                    symbols[write] = symbols[read];
                    ends[write] = ends[read];
                    read += 1;
                }
                write += 1;
            }
            symbols.truncate(write);
            ends.truncate(write);
            // A pair of two untouched symbols keeps its rank; others are looked up.
            work.next_pairs.clear();
            for w in 0..write.saturating_sub(1) {
                work.next_pairs.push(if work.fresh[w] || work.fresh[w + 1] {
                    self.lookup(symbols[w], symbols[w + 1]).unwrap_or(NO_PAIR)
                } else {
                    pairs[work.source[w]]
                });
            }
            std::mem::swap(pairs, &mut work.next_pairs);
        }
    }

    /// The same result in O(n log n), for long pieces (a word of a million characters), in
    /// about 16 bytes a code point.
    ///
    /// The piece is a linked list of symbols over its positions: a live node is the first
    /// position of its symbol and `next` gives the first position of the following one, so
    /// `next` is also the end of the symbol and the list is two `u32` per position. A node
    /// merged into its left neighbour is dead: its `next` then holds a position before it
    /// (`next > node` exactly for live nodes), and the last position of every symbol holds the
    /// symbol's node, which is how a node finds the one before it.
    ///
    /// A heap holds `(rank, node)` of ranked adjacent pairs, one `u64` each, and pops them in
    /// that order: the pairs of one rank, left to right. An entry is stale once its node died
    /// or its pair changed, which is checked when it pops (the pair now at the node must still
    /// have the entry's rank: a rank names one pair) and when a full heap is compacted instead
    /// of grown. The reference merges every occurrence of a pair before it looks at the pairs
    /// those merges create, so a new pair of a lower rank than the one being merged waits in
    /// `deferred` until the round ends. (A merge never creates another occurrence of the pair
    /// being merged: its string would have to equal one of its own halves. In a trained
    /// merges file a pair with a merged symbol always ranks after the merge that made it, so
    /// nothing waits.)
    fn split_with_heap(
        &self,
        piece: &[u32],
        next: &mut Vec<u32>,
        work: &mut BpeScratch,
    ) -> Result<(), SplitError> {
        let n = piece.len();
        self.initial_symbols(piece, &mut work.symbols)?;
        next.try_reserve_exact(n)?;
        next.extend(1..=n as u32);
        let mut entries = std::mem::take(&mut work.heap).into_vec();
        entries.clear();
        entries.try_reserve_exact(n - 1)?;
        let symbols = &mut work.symbols;
        for i in 0..n - 1 {
            if let Some((rank, _)) = self.lookup(symbols[i], symbols[i + 1]) {
                entries.push(Reverse(heap_key(rank, i)));
            }
        }
        let mut merge = HeapMerge {
            ranks: self,
            symbols,
            next,
            heap: BinaryHeap::from(entries),
            deferred: &mut work.deferred,
        };
        merge.deferred.clear();
        let result = merge.run();
        work.heap = std::mem::take(&mut merge.heap);
        result?;
        // The live nodes, in order, become the tokens (written over the front of the buffers:
        // the i-th live node is at position i or later).
        let (symbols, next) = (&mut work.symbols, next);
        let (mut count, mut node) = (0, 0);
        while node < n {
            let after = next[node];
            next[count] = after;
            symbols[count] = symbols[node];
            count += 1;
            node = after as usize;
        }
        next.truncate(count);
        symbols.truncate(count);
        Ok(())
    }
}

#[inline]
fn heap_key(rank: u32, node: usize) -> u64 {
    (rank as u64) << 32 | node as u64
}

/// The state of `split_with_heap`'s merge loop.
struct HeapMerge<'a> {
    ranks: &'a MergeRanks,
    symbols: &'a mut [Symbol],
    next: &'a mut [u32],
    heap: BinaryHeap<Reverse<u64>>,
    deferred: &'a mut Vec<u64>,
}

impl HeapMerge<'_> {
    /// The pair at `node` and its rank and merged symbol, if `node` is live, has a right
    /// neighbour, and the pair is ranked.
    #[inline]
    fn pair_at(
        ranks: &MergeRanks,
        symbols: &[Symbol],
        next: &[u32],
        node: usize,
    ) -> Option<(usize, u32, Symbol)> {
        let right = next[node] as usize;
        if right <= node || right >= next.len() {
            return None; // dead, or the last symbol
        }
        let (rank, merged) = ranks.lookup(symbols[node], symbols[right])?;
        Some((right, rank, merged))
    }

    /// Whether a heap entry still names the pair at its node.
    #[inline]
    fn is_current(ranks: &MergeRanks, symbols: &[Symbol], next: &[u32], key: u64) -> bool {
        Self::pair_at(ranks, symbols, next, key as u32 as usize)
            .is_some_and(|(_, rank, _)| rank == (key >> 32) as u32)
    }

    /// The live node before live node `node` (> 0): the one written at the last position of
    /// the symbol that ends where `node` starts.
    #[inline]
    fn before(&self, node: usize) -> usize {
        let last = node - 1;
        let mark = self.next[last] as usize;
        if mark > last {
            last // live: a symbol of one code point
        } else {
            mark
        }
    }

    /// Put an entry on the heap; a full heap is first cleared of stale entries, and grows only
    /// when that frees less than a quarter of it.
    fn push(&mut self, key: u64) -> Result<(), SplitError> {
        if self.heap.len() == self.heap.capacity() {
            let (ranks, symbols, next) = (self.ranks, &*self.symbols, &*self.next);
            self.heap
                .retain(|&Reverse(key)| Self::is_current(ranks, symbols, next, key));
            let capacity = self.heap.capacity();
            if self.heap.len() >= capacity / 4 * 3 {
                self.heap.try_reserve_exact(capacity / 2 + 16)?;
            }
        }
        self.heap.push(Reverse(key));
        Ok(())
    }

    /// Record the pair at `node` (if ranked): on the heap, or deferred to the round's end when
    /// it ranks before the round's pair.
    fn add_pair(&mut self, node: usize, round: u32) -> Result<(), SplitError> {
        let Some((_, rank, _)) = Self::pair_at(self.ranks, self.symbols, self.next, node) else {
            return Ok(());
        };
        let key = heap_key(rank, node);
        if rank < round {
            self.deferred.try_reserve(1)?;
            self.deferred.push(key);
            Ok(())
        } else {
            self.push(key)
        }
    }

    fn run(&mut self) -> Result<(), SplitError> {
        let mut round = None;
        loop {
            let top = self.heap.peek().map(|&Reverse(key)| key);
            let rank = top.map(|key| (key >> 32) as u32);
            if rank != round && !self.deferred.is_empty() {
                // The round is over: what it deferred joins the heap.
                while let Some(key) = self.deferred.pop() {
                    self.push(key)?;
                }
                round = None;
                continue;
            }
            let (Some(key), Some(rank)) = (top, rank) else {
                return Ok(());
            };
            round = Some(rank);
            self.heap.pop();
            let node = key as u32 as usize;
            let Some((right, pair_rank, merged)) =
                Self::pair_at(self.ranks, self.symbols, self.next, node)
            else {
                continue;
            };
            if pair_rank != rank {
                continue; // stale: the pair at this node changed
            }
            // Merge `right` into `node`; the last position of the merged symbol names `node`.
            let after = self.next[right];
            self.symbols[node] = merged;
            self.next[node] = after;
            self.next[right] = node as u32;
            self.next[after as usize - 1] = node as u32;
            if node > 0 {
                let before = self.before(node);
                self.add_pair(before, rank)?;
            }
            self.add_pair(node, rank)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(lines: &[&str]) -> MergeRanks {
        MergeRanks::new(
            lines
                .iter()
                .map(|l| l.split_whitespace().collect::<Vec<&str>>()),
        )
    }

    fn tokens(merges: &MergeRanks, piece: &str, heap: bool) -> Vec<String> {
        let chars: Vec<u32> = piece.chars().map(|c| c as u32).collect();
        let (mut ends, mut work) = (Vec::new(), BpeScratch::default());
        if heap && chars.len() >= 2 {
            merges
                .split_with_heap(&chars, &mut ends, &mut work)
                .unwrap();
        } else if chars.len() >= 2 {
            // The scan, whatever the length.
            merges.initial_symbols(&chars, &mut work.symbols).unwrap();
            merges.split_by_scanning(&mut ends, &mut work);
        } else {
            merges.split_with(&chars, &mut ends, &mut work).unwrap();
        }
        let mut start = 0;
        let tokens: Vec<String> = ends
            .iter()
            .map(|&e| {
                let e = e as usize;
                let t: String = piece.chars().skip(start).take(e - start).collect();
                start = e;
                t
            })
            .collect();
        // Each token's symbol is the token's text (the last one's with `</w>`).
        assert_eq!(work.symbols().len(), tokens.len());
        for (i, (&symbol, token)) in work.symbols().iter().zip(&tokens).enumerate() {
            if symbol != NO_SYMBOL {
                let suffix = if i + 1 == tokens.len() {
                    END_OF_WORD
                } else {
                    ""
                };
                assert_eq!(merges.symbols().get(symbol), format!("{token}{suffix}"));
            }
        }
        tokens
    }

    #[test]
    fn tiny_merges_split_like_the_reference() {
        let merges = ranks(&[
            "a p",
            "t e</w>",
            "ap t</w>",
            "a d",
            "ad apt</w>",
            "a c",
            "ac t</w>",
        ]);
        for heap in [false, true] {
            assert_eq!(tokens(&merges, "adapt", heap), vec!["adapt"]);
            assert_eq!(tokens(&merges, "apte", heap), vec!["ap", "te"]);
            assert_eq!(tokens(&merges, "x", heap), vec!["x"]);
        }
    }

    #[test]
    fn every_occurrence_of_a_pair_merges_before_the_pairs_it_creates() {
        // (ab, a) ranks better than (a, b), but only appears after the (a, b) round.
        let merges = ranks(&["ab a", "a b", "x y"]);
        for heap in [false, true] {
            assert_eq!(tokens(&merges, "ababc", heap), vec!["ab", "ab", "c"]);
        }
        let merges = ranks(&["a a", "a a</w>"]);
        for heap in [false, true] {
            assert_eq!(tokens(&merges, "aaaaa", heap), vec!["aa", "aa", "a"]);
        }
    }

    #[test]
    fn repeated_lines_keep_their_last_rank() {
        let merges = ranks(&["b c</w>", "a b", "b c</w>"]);
        assert_eq!(tokens(&merges, "abc", false), vec!["ab", "c"]);
    }

    fn random_piece(seed: &mut u64, alphabet: &[char], len: usize) -> String {
        (0..len)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(*seed >> 33) as usize % alphabet.len()]
            })
            .collect()
    }

    #[test]
    fn heap_and_scan_agree_when_merges_make_pairs_that_rank_earlier() {
        // Pairs made by a merge that rank before it wait for the round's end; stale entries
        // pile up and are compacted away on pieces of thousands of code points.
        let merges = ranks(&[
            "ab a",
            "ab ab",
            "a b",
            "b a",
            "ba b",
            "aba b</w>",
            "abab a",
            "c c",
            "cc c",
            "a c",
            "c ab",
            "ccc ab",
            "b b",
            "bb b",
            "a a",
            "aa a</w>",
            "ca b</w>",
            "b a</w>",
        ]);
        let mut seed = 11u64;
        for round in 0..300 {
            let len = if round % 10 == 0 {
                3_000
            } else {
                2 + round % 120
            };
            let alphabet: &[char] = if round % 3 == 0 {
                &['a', 'b']
            } else {
                &['a', 'b', 'c']
            };
            let piece = random_piece(&mut seed, alphabet, len);
            assert_eq!(
                tokens(&merges, &piece, false),
                tokens(&merges, &piece, true),
                "{piece}"
            );
        }
    }

    #[test]
    fn a_long_run_of_one_letter_merges_left_to_right() {
        let merges = ranks(&["a a", "aa aa", "aaaa aaaa", "a a</w>", "aa a</w>"]);
        for len in [48, 49, 1_001, 4_096, 10_007] {
            let piece = "a".repeat(len);
            assert_eq!(
                tokens(&merges, &piece, false),
                tokens(&merges, &piece, true),
                "{len}"
            );
        }
    }

    #[test]
    fn split_reports_ends_and_symbols_on_every_path() {
        let merges = ranks(&["a b", "ab c</w>"]);
        let mut ends = Vec::new();
        for (piece, expected) in [("", vec![]), ("x", vec![1]), ("abc", vec![3])] {
            let codes: Vec<u32> = piece.chars().map(|c| c as u32).collect();
            merges.split(&codes, &mut ends).unwrap();
            assert_eq!(ends, expected, "{piece:?}");
        }
        let long: Vec<u32> = "ab".repeat(40).chars().map(|c| c as u32).collect();
        merges.split(&long, &mut ends).unwrap();
        // The last "b" is "b</w>", which "a" does not merge with.
        let mut expected: Vec<u32> = (1..=39).map(|i| 2 * i).collect();
        expected.extend([79, 80]);
        assert_eq!(ends, expected);
    }

    #[test]
    fn heap_and_scan_agree_on_long_pieces() {
        let merges = ranks(&[
            "a b", "b a", "ab ab", "a a", "b b</w>", "abab a", "ba b</w>",
        ]);
        let mut seed = 7u64;
        for _ in 0..500 {
            let mut piece = String::new();
            for _ in 0..(seed % 90 + 2) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                piece.push(if seed >> 40 & 1 == 0 { 'a' } else { 'b' });
            }
            assert_eq!(
                tokens(&merges, &piece, false),
                tokens(&merges, &piece, true),
                "{piece}"
            );
        }
    }
}
