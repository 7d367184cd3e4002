//! A bounded word cache: word -> ids, safe to share between threads.
//!
//! Memory stays flat under a stream of unique words: each shard holds two generations of at
//! most `capacity / SHARDS` words; when the young one is full it becomes the old one and the old
//! one is dropped, so words in use survive (a hit in the old generation moves the word back).

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    young: FxHashMap<Box<[u8]>, Box<[u32]>>,
    old: FxHashMap<Box<[u8]>, Box<[u32]>>,
}

/// The cache.
pub struct WordCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl WordCache {
    /// A cache of at most about `capacity` words (0 disables it).
    pub fn new(capacity: usize) -> Self {
        WordCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, word: &[u8]) -> &Mutex<Shard> {
        let mut hasher = FxHasher::default();
        word.hash(&mut hasher);
        &self.shards[(hasher.finish() >> 56) as usize % SHARDS]
    }

    /// Append the cached ids of `word` to `ids`; false when it is not cached.
    #[inline]
    pub fn get_into(&self, word: &[u8], ids: &mut Vec<u32>) -> bool {
        if self.per_shard == 0 {
            return false;
        }
        let mut shard = self.shard(word).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = shard.young.get(word) {
            ids.extend_from_slice(found);
            return true;
        }
        if let Some((key, found)) = shard.old.remove_entry(word) {
            ids.extend_from_slice(&found);
            Self::insert_young(&mut shard, self.per_shard, key, found);
            return true;
        }
        false
    }

    /// Remember the ids of `word`.
    pub fn insert(&self, word: &[u8], ids: &[u32]) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(word).lock().unwrap_or_else(|e| e.into_inner());
        Self::insert_young(&mut shard, self.per_shard, word.into(), ids.into());
    }

    fn insert_young(shard: &mut Shard, limit: usize, word: Box<[u8]>, ids: Box<[u32]>) {
        if shard.young.len() >= limit {
            shard.old = std::mem::take(&mut shard.young);
        }
        shard.young.insert(word, ids);
    }

    /// Forget everything.
    pub fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            shard.young.clear();
            shard.old.clear();
        }
    }

    /// Number of cached words (both generations).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.young.len() + s.old.len()
            })
            .sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stays_bounded_under_unique_words() {
        let cache = WordCache::new(1_000);
        for i in 0..100_000u32 {
            cache.insert(format!("word{i}").as_bytes(), &[i]);
        }
        assert!(cache.len() <= 2 * 1_000 + SHARDS, "{}", cache.len());
        let mut ids = Vec::new();
        assert!(cache.get_into(b"word99999", &mut ids));
        assert_eq!(ids, vec![99_999]);
        assert!(!cache.get_into(b"word0", &mut ids));
    }
}
