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
use std::collections::BinaryHeap;

/// The suffix the merges put on a piece's last symbol.
pub const END_OF_WORD: &str = "</w>";
/// Below this many symbols a plain scan is faster than a heap.
const HEAP_FROM: usize = 48;

/// An interned symbol.
pub type Symbol = u32;

/// What an adjacent pair without a rank stores: it sorts after every ranked pair.
const NO_PAIR: (u32, Symbol) = (u32::MAX, 0);

/// Buffers the merge loop reuses from piece to piece. After a split, `symbols()` holds the
/// symbol of each token (`NO_SYMBOL` for a code point that appears in no merge).
#[derive(Debug, Default)]
pub struct BpeScratch {
    symbols: Vec<Symbol>,
    pairs: Vec<(u32, Symbol)>,
    next_pairs: Vec<(u32, Symbol)>,
    fresh: Vec<bool>,
    source: Vec<usize>,
}

impl BpeScratch {
    /// The symbols of the last split's tokens, in order.
    #[inline]
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
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
    pub fn symbols(&self) -> &StringTable {
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

    fn initial_symbols(&self, piece: &[u32], symbols: &mut Vec<Symbol>) {
        let last = piece.len().wrapping_sub(1);
        symbols.clear();
        symbols.extend(piece.iter().enumerate().map(|(i, c)| {
            let table = if i == last {
                &self.final_char_symbol
            } else {
                &self.char_symbol
            };
            table.get(c).copied().unwrap_or(NO_SYMBOL)
        }));
    }

    /// Split a lowercased piece into tokens: the end of each token's character range, in order.
    ///
    /// Repeatedly the adjacent pair with the lowest rank is merged wherever it occurs, left to
    /// right without overlap, until no adjacent pair has a rank; a piece of one code point is
    /// left as it is.
    pub fn split(&self, piece: &[u32], ends: &mut Vec<usize>) {
        self.split_with(piece, ends, &mut BpeScratch::default());
    }

    /// `split`, with buffers to reuse; the tokens' symbols are left in `work.symbols()`.
    pub fn split_with(&self, piece: &[u32], ends: &mut Vec<usize>, work: &mut BpeScratch) {
        ends.clear();
        match piece.len() {
            n if n < 2 || self.pairs.is_empty() => {
                self.initial_symbols(piece, &mut work.symbols);
                ends.extend(1..=n);
            }
            n if n < HEAP_FROM => self.split_by_scanning(piece, ends, work),
            _ => self.split_with_heap(piece, ends, &mut work.symbols),
        }
    }

    /// The reference's loop: each round finds the lowest-ranked adjacent pair and merges it
    /// everywhere, left to right. Quadratic in the worst case, and fastest on short pieces: the
    /// ranks of adjacent pairs are kept between rounds, so only pairs next to a merge are
    /// looked up again.
    fn split_by_scanning(&self, piece: &[u32], ends: &mut Vec<usize>, work: &mut BpeScratch) {
        let symbols = &mut work.symbols;
        self.initial_symbols(piece, symbols);
        ends.extend(1..=piece.len());
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

    /// The same result in O(n log n), for long pieces (a word of a million characters).
    ///
    /// A heap holds every ranked adjacent pair. Each round takes all entries of the lowest rank
    /// (one pair, since ranks are unique) and merges them left to right, skipping entries made
    /// stale by an earlier merge: the reference merges every occurrence of a pair before it
    /// looks at the pairs those merges create. A merge can never create another occurrence of
    /// the pair being merged (its string would have to equal one of its own halves).
    fn split_with_heap(&self, piece: &[u32], ends: &mut Vec<usize>, kept: &mut Vec<Symbol>) {
        let n = piece.len();
        let mut symbols = Vec::with_capacity(n);
        self.initial_symbols(piece, &mut symbols);
        let mut next: Vec<usize> = (1..=n).collect(); // n = none
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        let mut end: Vec<usize> = (1..=n).collect();
        let mut alive = vec![true; n];
        // (rank, left node, left symbol, right symbol)
        let mut heap: BinaryHeap<Reverse<(u32, usize, Symbol, Symbol)>> = BinaryHeap::new();
        for i in 0..n - 1 {
            if let Some((rank, _)) = self.lookup(symbols[i], symbols[i + 1]) {
                heap.push(Reverse((rank, i, symbols[i], symbols[i + 1])));
            }
        }
        let mut round: Vec<(usize, Symbol, Symbol)> = Vec::new();
        while let Some(&Reverse((rank, ..))) = heap.peek() {
            round.clear();
            while let Some(&Reverse((r, node, left, right))) = heap.peek() {
                if r != rank {
                    break;
                }
                heap.pop();
                round.push((node, left, right));
            }
            // Entries of one rank pop in node order already (node is the second key).
            for &(node, left, right) in &round {
                let right_node = next[node];
                if !alive[node] || right_node >= n || symbols[node] != left {
                    continue;
                }
                if symbols[right_node] != right {
                    continue;
                }
                let Some((_, merged)) = self.lookup(left, right) else {
                    continue;
                };
                symbols[node] = merged;
                end[node] = end[right_node];
                alive[right_node] = false;
                next[node] = next[right_node];
                if next[node] < n {
                    prev[next[node]] = node;
                }
                let before = prev[node];
                if before < n {
                    if let Some((r, _)) = self.lookup(symbols[before], merged) {
                        heap.push(Reverse((r, before, symbols[before], merged)));
                    }
                }
                if next[node] < n {
                    let after = next[node];
                    if let Some((r, _)) = self.lookup(merged, symbols[after]) {
                        heap.push(Reverse((r, node, merged, symbols[after])));
                    }
                }
            }
        }
        kept.clear();
        let mut node = 0;
        while node < n {
            ends.push(end[node]);
            kept.push(symbols[node]);
            node = next[node];
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
        if heap {
            merges.split_with_heap(&chars, &mut ends, &mut work.symbols);
        } else {
            merges.split_with(&chars, &mut ends, &mut work);
        }
        let mut start = 0;
        let tokens: Vec<String> = ends
            .iter()
            .map(|&e| {
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
