//! A bounded word cache: word -> ids, one per thread, no locks.
//!
//! Each thread keeps its own cache (a batch runs on rayon's threads, each warm with the words
//! it has seen). Memory stays flat under a stream of unique words: a cache holds two
//! generations of at most `capacity / 2` words (and `GENERATION_BYTES_PER_WORD` bytes a word
//! on average); when the young one is full it becomes the old one and the old one is dropped,
//! so words in use survive (a hit in the old generation copies the word back). Changing the
//! tokenizer (added tokens, lowercasing) gives it a new identity, and every thread's cache of
//! the old identity is emptied on its next use.
//!
//! A generation stores its entries one after another in one buffer and indexes them by
//! offset: no allocation per word, and words cached together sit together in memory. Nothing
//! is sized from the bound up front: a generation grows as it fills (and the two generations
//! trade buffers when they turn over), so a large bound costs memory only once that many words
//! were seen; when memory runs out a word is simply not cached.

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use std::cell::RefCell;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// The default bound of the word cache (words; the bytes are bounded too, see above): at most
/// about 18 MB a thread, typically 7 MB when full. A few MB of varied text hold well over
/// 100,000 distinct words; a smaller cache would forget words it meets again a little later.
pub const DEFAULT_CACHE_WORDS: usize = 1 << 18;

/// The largest bound a word cache takes, in words: 16 times the default. A full cache holds
/// at most about 72 bytes a word (25 typically) in each thread that encodes, so at most about
/// 300 MB a thread at this bound.
pub const MAX_CACHE_WORDS: usize = 1 << 22;

/// A bound over `MAX_CACHE_WORDS` (the bound asked for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheTooLarge(pub usize);

impl std::fmt::Display for CacheTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a word cache holds at most {MAX_CACHE_WORDS} words, not {}",
            self.0
        )
    }
}

impl std::error::Error for CacheTooLarge {}

/// Longer words are not cached: they are rare, and each would take much of the byte budget.
const MAX_CACHED_WORD_BYTES: usize = 255;
/// A generation is full at this many bytes of entries per word of its bound, on average.
const GENERATION_BYTES_PER_WORD: usize = 64;
/// An entry's head: the word's length (one byte) and its number of ids (two: lowercasing and
/// the newline marker can give a word more tokens than bytes).
const HEAD: usize = 3;

#[inline]
fn hash(word: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(word);
    hasher.finish()
}

/// Words and their ids, one entry after another: `[word length: u8][id count: u16 LE][word]
/// [ids: u32 LE each]`.
#[derive(Default)]
struct Generation {
    index: HashTable<u32>,
    entries: Vec<u8>,
}

impl Generation {
    #[inline]
    fn word_at(entries: &[u8], at: u32) -> &[u8] {
        let at = at as usize;
        &entries[at + HEAD..at + HEAD + entries[at] as usize]
    }

    /// The ids bytes of the entry at `at`.
    #[inline]
    fn ids_at(&self, at: u32) -> &[u8] {
        let at = at as usize;
        let e = &self.entries;
        let count = u16::from_le_bytes([e[at + 1], e[at + 2]]) as usize;
        let start = at + HEAD + e[at] as usize;
        &e[start..start + 4 * count]
    }

    #[inline]
    fn find(&self, hashed: u64, word: &[u8]) -> Option<u32> {
        let entries = &self.entries;
        self.index
            .find(hashed, |&at| Self::word_at(entries, at) == word)
            .copied()
    }

    /// Add an entry, with the entries' buffer grown to at most `budget` bytes (or by the
    /// entry, if it does not fit); `None` when memory ran out.
    fn push(&mut self, hashed: u64, word: &[u8], ids: &[u32], budget: usize) -> Option<()> {
        let size = HEAD + word.len() + 4 * ids.len();
        let (len, capacity) = (self.entries.len(), self.entries.capacity());
        if capacity - len < size {
            let target = (2 * capacity).min(budget).max(len + size);
            self.entries.try_reserve_exact(target - len).ok()?;
        }
        let entries = &self.entries;
        self.index
            .try_reserve(1, |&at| hash(Self::word_at(entries, at)))
            .ok()?;
        let at = self.entries.len() as u32;
        self.entries.push(word.len() as u8);
        self.entries
            .extend_from_slice(&(ids.len() as u16).to_le_bytes());
        self.entries.extend_from_slice(word);
        for id in ids {
            self.entries.extend_from_slice(&id.to_le_bytes());
        }
        let entries = &self.entries;
        self.index
            .insert_unique(hashed, at, |&at| hash(Self::word_at(entries, at)));
        Some(())
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn clear(&mut self) {
        self.index.clear();
        self.entries.clear();
    }

    fn held_bytes(&self) -> usize {
        self.entries.capacity() + self.index.capacity() * (4 + 1)
    }
}

#[inline]
fn append_ids(bytes: &[u8], ids: &mut Vec<u32>) {
    ids.extend(
        bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
}

/// A young and an old generation.
#[derive(Default)]
struct Generations {
    /// Words per generation.
    limit: usize,
    young: Generation,
    old: Generation,
}

impl Generations {
    fn new(limit: usize) -> Self {
        Generations {
            limit,
            ..Generations::default()
        }
    }

    #[inline]
    fn get_into(&mut self, hashed: u64, word: &[u8], ids: &mut Vec<u32>) -> bool {
        if let Some(at) = self.young.find(hashed, word) {
            append_ids(self.young.ids_at(at), ids);
            return true;
        }
        if self.old.len() == 0 {
            return false;
        }
        match self.old.find(hashed, word) {
            Some(at) => {
                let before = ids.len();
                append_ids(self.old.ids_at(at), ids);
                // Still in use: copy it to the young generation (the old one goes next).
                self.insert(hashed, word, &ids[before..]);
                true
            }
            None => false,
        }
    }

    fn insert(&mut self, hashed: u64, word: &[u8], ids: &[u32]) {
        if self.limit == 0 {
            return;
        }
        let budget = self.limit.saturating_mul(GENERATION_BYTES_PER_WORD);
        let young = &self.young;
        if young.len() >= self.limit || young.entries.len() >= budget {
            // The old generation goes; its buffers, already grown, serve the new young one.
            std::mem::swap(&mut self.old, &mut self.young);
            self.young.clear();
        }
        // Out of memory: the word is not cached, and the young generation is left as it was.
        let _ = self.young.push(hashed, word, ids, budget);
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

/// Whether a word is worth keeping.
#[inline]
fn cacheable(word: &[u8], ids: &[u32]) -> bool {
    word.len() <= MAX_CACHED_WORD_BYTES && ids.len() <= u16::MAX as usize
}

/// What one thread remembers, for one tokenizer at a time.
#[derive(Default)]
pub struct LocalCache {
    owner: u64,
    words: Generations,
}

thread_local! {
    static LOCAL: RefCell<LocalCache> = RefCell::new(LocalCache::default());
}

impl LocalCache {
    /// Append the cached ids of `word` to `ids`; false when it is not cached.
    #[inline]
    pub fn get_into(&mut self, word: &[u8], ids: &mut Vec<u32>) -> bool {
        self.words.get_into(hash(word), word, ids)
    }

    /// Remember the ids of `word` (unless the cache is off or the word too long to keep).
    pub fn insert(&mut self, word: &[u8], ids: &[u32]) {
        if !cacheable(word, ids) {
            return;
        }
        self.words.insert(hash(word), word, ids);
    }

    /// Number of cached words (both generations).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the entries of both generations.
    pub fn entry_bytes(&self) -> usize {
        self.words.young.entries.len() + self.words.old.entries.len()
    }

    /// Bytes allocated for both generations (entries and index).
    pub fn held_bytes(&self) -> usize {
        self.words.young.held_bytes() + self.words.old.held_bytes()
    }
}

/// The identity and bound of a tokenizer's caches. A clone shares the caches until either
/// changes (and takes a new identity).
#[derive(Clone, Debug)]
pub struct WordCache {
    owner: u64,
    capacity: usize,
}

impl Default for WordCache {
    /// Caches of `DEFAULT_CACHE_WORDS`.
    fn default() -> Self {
        WordCache {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            capacity: DEFAULT_CACHE_WORDS,
        }
    }
}

impl WordCache {
    /// Caches of at most about `capacity` words per thread (0 disables them), up to
    /// `MAX_CACHE_WORDS`.
    pub fn new(capacity: usize) -> Result<Self, CacheTooLarge> {
        if capacity > MAX_CACHE_WORDS {
            return Err(CacheTooLarge(capacity));
        }
        Ok(WordCache {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            capacity,
        })
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
                    words: Generations::new(self.capacity.div_ceil(2)),
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
        let cache = WordCache::new(1_000).unwrap();
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
    fn memory_stays_bounded_under_long_unique_words() {
        let cache = WordCache::new(1_000).unwrap();
        cache.with(|local| {
            for i in 0..20_000u32 {
                let word = format!("{i:0>200}");
                let ids: Vec<u32> = (0..200).collect();
                local.insert(word.as_bytes(), &ids);
            }
            // Two generations of at most 500 words and 500 * 64 bytes (plus the last entry).
            assert!(local.entry_bytes() <= 2 * (500 * 64 + 3 + 200 + 800));
        });
    }

    #[test]
    fn entries_keep_their_ids_and_words_too_long_are_not_kept() {
        let cache = WordCache::new(100).unwrap();
        cache.with(|local| {
            let many: Vec<u32> = (0..3_000).map(|i| i * 65_537).collect();
            local.insert(b"many", &many);
            local.insert(b"", &[]);
            local.insert(&[b'x'; 255], &[7]);
            local.insert(&[b'x'; 256], &[8]);
            let mut ids = Vec::new();
            assert!(local.get_into(b"many", &mut ids));
            assert_eq!(ids, many);
            ids.clear();
            assert!(local.get_into(b"", &mut ids) && ids.is_empty());
            assert!(local.get_into(&[b'x'; 255], &mut ids));
            assert_eq!(ids, vec![7]);
            assert!(!local.get_into(&[b'x'; 256], &mut ids));
        });
    }

    #[test]
    fn a_word_in_use_survives_generations() {
        let cache = WordCache::new(10).unwrap();
        cache.with(|local| {
            local.insert(b"kept", &[1, 2]);
            for i in 0..1_000u32 {
                local.insert(format!("w{i}").as_bytes(), &[i]);
                let mut ids = Vec::new();
                assert!(local.get_into(b"kept", &mut ids), "lost after {i} words");
                assert_eq!(ids, vec![1, 2]);
            }
        });
    }

    #[test]
    fn the_largest_bound_allocates_only_what_is_cached() {
        let cache = WordCache::new(MAX_CACHE_WORDS).unwrap();
        cache.with(|local| {
            local.insert(b"word", &[1, 2]);
            assert!(local.held_bytes() < 1_024, "{}", local.held_bytes());
            for i in 0..10_000u32 {
                local.insert(format!("w{i}").as_bytes(), &[i]);
            }
            assert!(local.held_bytes() < 10_000 * 72, "{}", local.held_bytes());
        });
    }

    #[test]
    fn a_bound_over_the_largest_is_refused() {
        assert_eq!(
            WordCache::new(MAX_CACHE_WORDS + 1).err(),
            Some(CacheTooLarge(MAX_CACHE_WORDS + 1))
        );
        assert!(WordCache::new(usize::MAX).is_err());
    }

    #[test]
    fn turning_over_keeps_memory_within_two_generations() {
        let cache = WordCache::new(1_000).unwrap();
        cache.with(|local| {
            for i in 0..50_000u32 {
                local.insert(format!("{i:0>20}").as_bytes(), &[i, i]);
            }
            // Two generations of 500 words of 31 bytes, their buffers and their indexes.
            assert!(
                local.held_bytes() <= 2 * (500 * 64 + 1_024 * 5),
                "{}",
                local.held_bytes()
            );
        });
    }

    #[test]
    fn clearing_empties_the_threads_cache() {
        let mut cache = WordCache::new(10).unwrap();
        cache.with(|local| local.insert(b"a", &[1]));
        cache.clear();
        cache.with(|local| assert!(local.is_empty()));
    }
}
