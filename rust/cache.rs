//! A bounded word cache: word -> ids, one per thread, no locks.
//!
//! Each thread keeps its own cache (a batch runs on rayon's threads, each warm with the words
//! it has seen). Memory stays flat under a stream of unique words: a cache holds two
//! generations of at most `capacity / 2` words; when the young one is full it becomes the old
//! one and the old one is dropped, so words in use survive (a hit in the old generation moves
//! the word back). Changing the tokenizer (added tokens, lowercasing) gives it a new identity,
//! and every thread's cache of the old identity is emptied on its next use.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// What one thread remembers, for one tokenizer at a time.
#[derive(Default)]
pub struct LocalCache {
    owner: u64,
    limit: usize,
    young: FxHashMap<Box<[u8]>, Box<[u32]>>,
    old: FxHashMap<Box<[u8]>, Box<[u32]>>,
}

thread_local! {
    static LOCAL: RefCell<LocalCache> = RefCell::new(LocalCache::default());
}

impl LocalCache {
    /// Append the cached ids of `word` to `ids`; false when it is not cached.
    #[inline]
    pub fn get_into(&mut self, word: &[u8], ids: &mut Vec<u32>) -> bool {
        if let Some(found) = self.young.get(word) {
            ids.extend_from_slice(found);
            return true;
        }
        if self.old.is_empty() {
            return false;
        }
        if let Some((key, found)) = self.old.remove_entry(word) {
            ids.extend_from_slice(&found);
            self.insert_young(key, found);
            return true;
        }
        false
    }

    /// Remember the ids of `word`.
    pub fn insert(&mut self, word: &[u8], ids: &[u32]) {
        if self.limit > 0 {
            self.insert_young(word.into(), ids.into());
        }
    }

    fn insert_young(&mut self, word: Box<[u8]>, ids: Box<[u32]>) {
        if self.young.len() >= self.limit {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(word, ids);
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

/// The identity and bound of a tokenizer's caches.
#[derive(Debug)]
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
