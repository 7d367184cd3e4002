//! A bounded word cache: word -> ids, one per thread, no locks.
//!
//! Each thread keeps its own cache (a batch runs on rayon's threads, each warm with the words
//! it has seen). Memory stays flat under a stream of unique words: a cache holds two
//! generations of at most `capacity / 2` words; when the young one is full it becomes the old
//! one and the old one is dropped, so words in use survive (a hit in the old generation moves
//! the word back). Changing the tokenizer (added tokens, lowercasing) gives it a new identity,
//! and every thread's cache of the old identity is emptied on its next use.

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use std::cell::RefCell;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// One cached word in a single allocation: the word's length (4 bytes), the word, then its ids
/// (4 bytes each, little-endian).
type Entry = Box<[u8]>;

#[inline]
fn word_of(entry: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) as usize;
    &entry[4..4 + len]
}

#[inline]
fn hash(word: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(word);
    hasher.finish()
}

/// What one thread remembers, for one tokenizer at a time.
#[derive(Default)]
pub struct LocalCache {
    owner: u64,
    limit: usize,
    young: HashTable<Entry>,
    old: HashTable<Entry>,
}

thread_local! {
    static LOCAL: RefCell<LocalCache> = RefCell::new(LocalCache::default());
}

impl LocalCache {
    /// Append the cached ids of `word` to `ids`; false when it is not cached.
    #[inline]
    pub fn get_into(&mut self, word: &[u8], ids: &mut Vec<u32>) -> bool {
        let hashed = hash(word);
        let found = self.young.find(hashed, |entry| word_of(entry) == word);
        if let Some(entry) = found {
            Self::append_ids(entry, word.len(), ids);
            return true;
        }
        if self.old.is_empty() {
            return false;
        }
        match self.old.find_entry(hashed, |entry| word_of(entry) == word) {
            Ok(occupied) => {
                let (entry, _) = occupied.remove();
                Self::append_ids(&entry, word.len(), ids);
                self.insert_young(hashed, entry);
                true
            }
            Err(_) => false,
        }
    }

    #[inline]
    fn append_ids(entry: &[u8], word_len: usize, ids: &mut Vec<u32>) {
        ids.extend(
            entry[4 + word_len..]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }

    /// Remember the ids of `word`.
    pub fn insert(&mut self, word: &[u8], ids: &[u32]) {
        if self.limit == 0 {
            return;
        }
        let mut entry = Vec::with_capacity(4 + word.len() + 4 * ids.len());
        entry.extend_from_slice(&(word.len() as u32).to_le_bytes());
        entry.extend_from_slice(word);
        for id in ids {
            entry.extend_from_slice(&id.to_le_bytes());
        }
        self.insert_young(hash(word), entry.into_boxed_slice());
    }

    fn insert_young(&mut self, hashed: u64, entry: Entry) {
        if self.young.len() >= self.limit {
            self.old = std::mem::take(&mut self.young);
        }
        self.young
            .insert_unique(hashed, entry, |entry| hash(word_of(entry)));
    }

    /// Number of cached words (both generations).
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The identity and bound of a tokenizer's caches. A clone shares the caches until either
/// changes (and takes a new identity).
#[derive(Clone, Debug)]
pub struct WordCache {
    owner: u64,
    capacity: usize,
}

impl WordCache {
    /// Caches of at most about `capacity` words per thread (0 disables them).
    pub fn new(capacity: usize) -> Self {
        WordCache {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            capacity,
        }
    }

    /// The bound, in words.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forget everything (every thread's cache of this tokenizer).
    pub fn clear(&mut self) {
        self.owner = NEXT_OWNER.fetch_add(1, Ordering::Relaxed);
    }

    /// Run `work` with this thread's cache for this tokenizer.
    #[inline]
    pub fn with<R>(&self, work: impl FnOnce(&mut LocalCache) -> R) -> R {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if local.owner != self.owner {
                *local = LocalCache {
                    owner: self.owner,
                    limit: self.capacity.div_ceil(2),
                    ..LocalCache::default()
                };
            }
            work(&mut local)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stays_bounded_under_unique_words() {
        let cache = WordCache::new(1_000);
        cache.with(|local| {
            for i in 0..100_000u32 {
                local.insert(format!("word{i}").as_bytes(), &[i]);
            }
            assert!(local.len() <= 1_000, "{}", local.len());
            let mut ids = Vec::new();
            assert!(local.get_into(b"word99999", &mut ids));
            assert_eq!(ids, vec![99_999]);
            assert!(!local.get_into(b"word0", &mut ids));
        });
    }

    #[test]
    fn clearing_empties_the_threads_cache() {
        let mut cache = WordCache::new(10);
        cache.with(|local| local.insert(b"a", &[1]));
        cache.clear();
        cache.with(|local| assert!(local.is_empty()));
    }
}
