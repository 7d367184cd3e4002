//! Interned strings in one buffer: loading a 55k-entry vocabulary makes a handful of
//! allocations instead of two per token.

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use std::hash::Hasher;

#[inline]
fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// Distinct strings, each with an index (in insertion order).
#[derive(Clone, Debug, Default)]
pub struct StringTable {
    text: String,
    spans: Vec<(u32, u32)>,
    index: HashTable<u32>,
}

impl StringTable {
    /// Room for `count` strings of `bytes` bytes in all.
    pub fn with_capacity(count: usize, bytes: usize) -> Self {
        StringTable {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(count),
            index: HashTable::with_capacity(count),
        }
    }

    /// The string of an index.
    #[inline]
    pub fn get(&self, index: u32) -> &str {
        let (start, end) = self.spans[index as usize];
        &self.text[start as usize..end as usize]
    }

    /// The index of a string, if present.
    #[inline]
    pub fn find(&self, bytes: &[u8]) -> Option<u32> {
        let (text, spans) = (&self.text, &self.spans);
        self.index
            .find(hash(bytes), |&i| {
                let (start, end) = spans[i as usize];
                &text.as_bytes()[start as usize..end as usize] == bytes
            })
            .copied()
    }

    /// The index of a string, added if absent.
    pub fn intern(&mut self, text: &str) -> u32 {
        let hashed = hash(text.as_bytes());
        let (all, spans) = (&self.text, &self.spans);
        let found = self.index.find(hashed, |&i| {
            let (start, end) = spans[i as usize];
            &all[start as usize..end as usize] == text
        });
        if let Some(&index) = found {
            return index;
        }
        let index = self.spans.len() as u32;
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.spans.push((start, self.text.len() as u32));
        let (all, spans) = (&self.text, &self.spans);
        self.index.insert_unique(hashed, index, |&i| {
            let (start, end) = spans[i as usize];
            hash(&all.as_bytes()[start as usize..end as usize])
        });
        index
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// All strings with their indices, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        (0..self.spans.len() as u32).map(|i| (i, self.get(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_one_index_per_string() {
        let mut table = StringTable::default();
        assert_eq!(table.intern("a"), 0);
        assert_eq!(table.intern("bé"), 1);
        assert_eq!(table.intern("a"), 0);
        assert_eq!(table.find("bé".as_bytes()), Some(1));
        assert_eq!(table.find(b"c"), None);
        assert_eq!(table.get(1), "bé");
        assert_eq!(table.len(), 2);
    }
}
