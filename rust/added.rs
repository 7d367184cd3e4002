//! The added-token split: added tokens cut out of text, exactly where the reference cuts them,
//! and looked up before the vocabulary.
//!
//! The reference scans with a trie of the added tokens. It finds the leftmost match, longest
//! first, with one quirk we keep: when a token is found, matches that started further left are
//! extended as if they had consumed the current character too, even one that just failed on it
//! (after adding "abd" and "b", the text "abxd" is cut as one piece "abxd", which is then
//! ordinary text). See `python/bbtok/tokenization/added_token_trie.py` for the same algorithm in
//! Python.

use crate::text::{decode_at, PythonString};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::TryReserveError;

#[derive(Clone, Debug, Default)]
struct Node {
    children: FxHashMap<u32, usize>,
    end: bool,
}

/// A trie of added tokens' code points.
#[derive(Clone, Debug)]
pub struct AddedTokenTrie {
    nodes: Vec<Node>,
    /// Bytes that may start a token, when every token starts with an ASCII character.
    ascii_starts: Option<[bool; 128]>,
    /// The one byte every token starts with, if there is one (and it is ASCII).
    single_start: Option<u8>,
}

impl AddedTokenTrie {
    /// Build from the tokens (Python text); empty tokens are ignored.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut nodes = vec![Node::default()];
        for token in tokens {
            if token.is_empty() {
                continue;
            }
            let mut node = 0;
            let mut at = 0;
            while at < token.len() {
                let (code, width) = decode_at(token, at);
                at += width;
                node = match nodes[node].children.get(&code) {
                    Some(&child) => child,
                    None => {
                        nodes.push(Node::default());
                        let child = nodes.len() - 1;
                        nodes[node].children.insert(code, child);
                        child
                    }
                };
            }
            nodes[node].end = true;
        }
        let mut ascii_starts = Some([false; 128]);
        for &code in nodes[0].children.keys() {
            match ascii_starts.as_mut() {
                Some(starts) if code < 128 => starts[code as usize] = true,
                _ => ascii_starts = None,
            }
        }
        let single_start = match nodes[0].children.keys().collect::<Vec<_>>()[..] {
            [&code] if code < 128 => Some(code as u8),
            _ => None,
        };
        AddedTokenTrie {
            nodes,
            ascii_starts,
            single_start,
        }
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.nodes[0].children.is_empty()
    }

    /// The byte offset of the first position at or after `from` where a token may start.
    fn next_start(&self, text: &[u8], from: usize) -> usize {
        if from >= text.len() {
            return text.len();
        }
        let rest = &text[from..];
        let found = match (&self.ascii_starts, self.single_start) {
            // Every special token starts with "_": one memchr.
            (_, Some(byte)) => rest.iter().position(|&b| b == byte),
            (Some(starts), None) => rest.iter().position(|&b| b < 128 && starts[b as usize]),
            (None, None) => Some(0),
        };
        found.map_or(text.len(), |at| from + at)
    }

    /// The byte ranges of `text` between the reference's cuts, in order (a cut piece need not
    /// be a token: see the module comment). Fails only when memory runs out.
    pub fn split(
        &self,
        text: &[u8],
        pieces: &mut Vec<(usize, usize)>,
    ) -> Result<(), TryReserveError> {
        pieces.clear();
        let first = if self.is_empty() {
            text.len()
        } else {
            self.next_start(text, 0)
        };
        if first == text.len() {
            if !text.is_empty() {
                pieces.try_reserve(1)?;
                pieces.push((0, text.len()));
            }
            return Ok(());
        }
        let cuts = self.cut_points(text, first)?;
        let mut previous = 0;
        for cut in cuts.into_iter().chain(std::iter::once(text.len())) {
            // A cut behind the previous one is skipped, as the reference does.
            if cut > previous {
                pieces.try_reserve(1)?;
                pieces.push((previous, cut));
                previous = cut;
            }
        }
        Ok(())
    }

    /// The reference's cut offsets (as byte offsets), starting with 0; the scan starts at
    /// `first`, where the first token may start (nothing happens before it).
    fn cut_points(&self, text: &[u8], first: usize) -> Result<Vec<usize>, TryReserveError> {
        let root = &self.nodes[0];
        let mut cuts = vec![0];
        // (start, node reached), in start order.
        let mut live: Vec<(usize, usize)> = Vec::new();
        let mut skip = 0;
        let mut failed: Vec<usize> = Vec::new();
        let mut current = first;
        while current < text.len() {
            let (code, width) = decode_at(text, current);
            let mut matched = false;
            failed.clear();
            for i in 0..live.len() {
                let (start, node) = live[i];
                if self.nodes[node].end {
                    let (cut_start, cut_end, new_skip) =
                        self.longest_from(text, &live, start, current, width, skip);
                    skip = new_skip;
                    cuts.try_reserve(2)?;
                    cuts.push(cut_start);
                    cuts.push(cut_end);
                    matched = true;
                    break;
                }
                match self.nodes[node].children.get(&code) {
                    Some(&child) => live[i].1 = child,
                    None => failed.push(i),
                }
            }
            if matched {
                live.clear();
            } else {
                for &i in failed.iter().rev() {
                    live.remove(i);
                }
            }
            if current >= skip {
                if let Some(&child) = root.children.get(&code) {
                    live.push((current, child));
                }
            }
            current += width;
            if live.is_empty() {
                // Nothing is under way: jump to where a token may start (past any skip).
                current = self.next_start(text, current.max(skip));
            }
        }
        if let Some(&(start, _)) = live.iter().find(|&&(_, node)| self.nodes[node].end) {
            cuts.try_reserve(2)?;
            cuts.push(start);
            cuts.push(text.len());
        }
        Ok(cuts)
    }

    /// A token ended just before `current` (it started at `start`): the leftmost live start
    /// that reaches a token end, and its longest one. Returns (start, end, skip).
    fn longest_from(
        &self,
        text: &[u8],
        live: &[(usize, usize)],
        start: usize,
        current: usize,
        width: usize,
        mut skip: usize,
    ) -> (usize, usize, usize) {
        let (mut best_start, mut best_end) = (start, current);
        for &(other_start, mut node) in live {
            if other_start > best_start {
                break;
            }
            // Quirk: a start left of `start` is taken to have consumed `current` already.
            let mut index = if other_start < best_start {
                current + width
            } else {
                current
            };
            if self.nodes[node].end {
                (best_start, best_end, skip) = (other_start, index, index);
            }
            while index < text.len() {
                let (code, step) = decode_at(text, index);
                let Some(&child) = self.nodes[node].children.get(&code) else {
                    break;
                };
                node = child;
                index += step;
                if self.nodes[node].end {
                    (best_start, best_end, skip) = (other_start, index, index);
                }
            }
        }
        (best_start, best_end, skip)
    }
}

/// The added tokens as the Python layer keeps them: token -> id (looked up before the
/// vocabulary, and cut out of text), and id -> token (decoded before the vocabulary). The two
/// need not mirror each other: two tokens may share an id, and an id keeps the token it was
/// last given.
#[derive(Clone, Debug, Default)]
pub struct AddedTokenTable {
    pub encoder: Vec<(PythonString, u32)>,
    pub decoder: Vec<(u32, PythonString)>,
}

impl AddedTokenTable {
    /// A table where each token has its own id.
    ///
    /// ```
    /// use bbtok::AddedTokenTable;
    /// let table = AddedTokenTable::from_pairs(vec![("__start__".into(), 0)]);
    /// assert_eq!(table.decoder[0].0, 0);
    /// ```
    pub fn from_pairs(pairs: Vec<(PythonString, u32)>) -> Self {
        let decoder = pairs.iter().map(|(t, id)| (*id, t.clone())).collect();
        AddedTokenTable {
            encoder: pairs,
            decoder,
        }
    }
}

/// Added tokens, compiled: cut out of text first, and looked up before the vocabulary.
#[derive(Clone, Debug)]
pub(crate) struct AddedTokens {
    pub(crate) trie: AddedTokenTrie,
    pub(crate) ids: FxHashMap<Box<[u8]>, u32>,
    pub(crate) tokens: FxHashMap<u32, Box<[u8]>>,
    /// Segments that stand as one token although not added (special tokens only set by name).
    pub(crate) units: FxHashSet<Box<[u8]>>,
}

impl AddedTokens {
    pub(crate) fn new(added: AddedTokenTable, units: Vec<PythonString>) -> Self {
        let trie = AddedTokenTrie::new(added.encoder.iter().map(|(t, _)| t.as_bytes()));
        let ids = added
            .encoder
            .into_iter()
            .map(|(t, id)| (t.into_bytes(), id))
            .collect();
        let tokens = added
            .decoder
            .into_iter()
            .map(|(id, t)| (id, t.into_bytes()))
            .collect();
        let units = units.into_iter().map(PythonString::into_bytes).collect();
        AddedTokens {
            trie,
            ids,
            tokens,
            units,
        }
    }

    /// The table these were made from (in no particular order), and the unit tokens.
    pub(crate) fn table(&self) -> (AddedTokenTable, Vec<PythonString>) {
        let string = |token: &[u8]| PythonString::from_checked(token.to_vec());
        let table = AddedTokenTable {
            encoder: self.ids.iter().map(|(t, &id)| (string(t), id)).collect(),
            decoder: self.tokens.iter().map(|(&id, t)| (id, string(t))).collect(),
        };
        (table, self.units.iter().map(|t| string(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(tokens: &[&str], text: &str) -> Vec<String> {
        let trie = AddedTokenTrie::new(tokens.iter().map(|t| t.as_bytes()));
        let mut pieces = Vec::new();
        trie.split(text.as_bytes(), &mut pieces).unwrap();
        pieces
            .iter()
            .map(|&(s, e)| text[s..e].to_string())
            .collect()
    }

    #[test]
    fn special_tokens_are_cut_out_even_inside_words() {
        let specials = ["__start__", "__end__", "__unk__", "__null__"];
        assert_eq!(split(&specials, "x__null__y"), vec!["x", "__null__", "y"]);
        assert_eq!(split(&specials, "___null__"), vec!["_", "__null__"]);
        assert_eq!(split(&specials, "X__NULL__Y"), vec!["X__NULL__Y"]);
        assert_eq!(
            split(&specials, "__start__end__"),
            vec!["__start__", "end__"]
        );
    }

    #[test]
    fn the_longest_token_at_the_leftmost_start_wins() {
        assert_eq!(split(&["ab", "abcd", "bc"], "abcde"), vec!["abcd", "e"]);
        assert_eq!(split(&["ab", "abcd", "bc"], "abce"), vec!["ab", "ce"]);
    }

    #[test]
    fn a_failed_partial_match_is_extended_like_the_reference() {
        assert_eq!(split(&["abd", "b"], "abxd"), vec!["abxd"]);
        assert_eq!(split(&["b c", " "], "xb bc"), vec!["x", "b bc"]);
        assert_eq!(split(&["_", ".__"], "._.__"), vec!["._._", "_"]);
    }
}
