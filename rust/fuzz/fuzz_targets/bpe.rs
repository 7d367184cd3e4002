//! `MergeRanks::split` against a plain re-statement of the reference's merge loop, on short
//! pieces (the scan) and on long ones (the heap, from 48 code points, up to some 400).
//!
//! Input: one byte for the number of merge lines, four bytes per line (two 16-bit symbols),
//! then one byte per code point of the piece. Symbols and pieces use a small alphabet that
//! holds the characters of `</w>`, so merged symbols can collide with a final symbol's string.

#![no_main]

use bbtok::{MergeRanks, END_OF_WORD};
use libfuzzer_sys::fuzz_target;
use rustc_hash::FxHashMap;

const ALPHABET: [char; 8] = ['a', 'b', 'c', 'é', '<', '/', 'w', '>'];
const MAX_LINES: usize = 32;
const MAX_PIECE: usize = 64;
/// Where `MergeRanks::split` switches from the scan to the heap.
const HEAP_FROM: usize = 48;
/// About the length of the longest pieces checked.
const LONGER_PIECE: usize = 400;

/// A symbol from 16 bits: bits 0-1 its length less one, bit 2 whether `</w>` ends it, then
/// three bits per character.
fn symbol(bits: u16) -> String {
    let len = 1 + usize::from(bits & 3);
    let mut text: String = (0..len)
        .map(|k| ALPHABET[usize::from(bits >> (3 + 3 * k)) & 7])
        .collect();
    if bits & 4 != 0 {
        text.push_str(END_OF_WORD);
    }
    text
}

/// A merge line; bit 15 of either symbol makes it a line that is not two symbols (one or
/// three), which takes a rank but never matches.
fn line(left: u16, right: u16) -> Vec<String> {
    match (left >> 15, right >> 15) {
        (1, _) => vec![symbol(left)],
        (0, 1) => vec![symbol(left), symbol(right), "c".to_string()],
        _ => vec![symbol(left), symbol(right)],
    }
}

/// The reference's loop on strings: symbols start as the code points, `</w>` appended to the
/// last; the adjacent pair of lowest rank merges at every occurrence, left to right without
/// overlap, until no adjacent pair has a rank. Returns the ends of the symbols' character
/// ranges.
fn reference_split(
    ranks: &FxHashMap<String, FxHashMap<String, usize>>,
    piece: &[char],
) -> Vec<usize> {
    // (string, number of the piece's characters it covers)
    let mut symbols: Vec<(String, usize)> = piece
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut text = c.to_string();
            if i + 1 == piece.len() {
                text.push_str(END_OF_WORD);
            }
            (text, 1)
        })
        .collect();
    let rank = |left: &str, right: &str| ranks.get(left).and_then(|rights| rights.get(right));
    while let Some((_, left, right)) = symbols
        .windows(2)
        .filter_map(|pair| {
            rank(&pair[0].0, &pair[1].0).map(|&r| (r, pair[0].0.clone(), pair[1].0.clone()))
        })
        .min_by_key(|&(r, ..)| r)
    {
        let mut merged = Vec::with_capacity(symbols.len());
        let mut i = 0;
        while i < symbols.len() {
            if i + 1 < symbols.len() && symbols[i].0 == left && symbols[i + 1].0 == right {
                merged.push((format!("{left}{right}"), symbols[i].1 + symbols[i + 1].1));
                i += 2;
            } else {
                merged.push(symbols[i].clone());
                i += 1;
            }
        }
        symbols = merged;
    }
    symbols
        .iter()
        .scan(0, |end, (_, chars)| {
            *end += chars;
            Some(*end)
        })
        .collect()
}

fn check(merges: &MergeRanks, ranks: &FxHashMap<String, FxHashMap<String, usize>>, piece: &[char]) {
    let codes: Vec<u32> = piece.iter().map(|&c| c as u32).collect();
    let mut ends = Vec::new();
    merges
        .split(&codes, &mut ends)
        .expect("a short piece splits");
    let ends: Vec<usize> = ends.iter().map(|&end| end as usize).collect();
    assert!(
        ends.windows(2).all(|pair| pair[0] < pair[1]) && ends.first().is_none_or(|&e| e > 0),
        "ends {ends:?} do not increase strictly"
    );
    assert_eq!(
        ends.last().copied().unwrap_or(0),
        piece.len(),
        "ends {ends:?} miss the end"
    );
    let piece: String = piece.iter().collect();
    assert_eq!(
        ends,
        reference_split(ranks, &piece.chars().collect::<Vec<_>>()),
        "split differs from the reference on {piece:?} ({} code points)",
        piece.chars().count()
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = (usize::from(count) % (MAX_LINES + 1)).min(rest.len() / 4);
    let (line_bytes, piece_bytes) = rest.split_at(count * 4);
    let lines: Vec<Vec<String>> = line_bytes
        .chunks_exact(4)
        .map(|b| {
            line(
                u16::from_le_bytes([b[0], b[1]]),
                u16::from_le_bytes([b[2], b[3]]),
            )
        })
        .collect();
    let piece: Vec<char> = piece_bytes
        .iter()
        .take(MAX_PIECE)
        .map(|&b| ALPHABET[usize::from(b) % ALPHABET.len()])
        .collect();

    // A repeated line keeps the rank (file position) of its last occurrence.
    let mut ranks: FxHashMap<String, FxHashMap<String, usize>> = FxHashMap::default();
    for (rank, line) in lines.iter().enumerate() {
        if let [left, right] = line.as_slice() {
            ranks
                .entry(left.clone())
                .or_default()
                .insert(right.clone(), rank);
        }
    }
    let merges = MergeRanks::new(lines);

    check(&merges, &ranks, &piece);
    if !piece.is_empty() && piece.len() < HEAP_FROM {
        let long: Vec<char> = piece
            .iter()
            .copied()
            .cycle()
            .take(HEAP_FROM.max(2 * piece.len()) + piece.len() / 2)
            .collect();
        check(&merges, &ranks, &long);
    }
    if !piece.is_empty() {
        // Hundreds of code points: the heap fills with stale entries and is compacted.
        let longer: Vec<char> = piece
            .iter()
            .copied()
            .cycle()
            .take(LONGER_PIECE + piece.len() / 3)
            .collect();
        check(&merges, &ranks, &longer);
    }
});
