//! A bounded word cache: word -> ids, one per tokenizer, shared by every thread that encodes.
//!
//! A batch runs on rayon's threads while single texts and small batches run on the calling
//! thread; one cache for all of them makes a corpus warm for every core once any thread has
//! seen it (a cache per thread would have each thread learn every word again).
//!
//! The cache holds two generations, a young and an old table of at most `capacity / 2` words
//! each (and `GENERATION_BYTES_PER_WORD` bytes a word on average), so at most `capacity` words
//! in total for all threads, plus the tables still pinned by work in flight. New words go to
//! the young table. When it is full the cache turns over: a new, empty young table, the young
//! one becomes the old one, and the old one is dropped once no work in flight still holds it;
//! memory stays flat under a stream of unique words. A word in use survives: a hit in the old
//! table is copied into the young one once the young one is three quarters full (copying every
//! hit would fill the young table with copies and turn over sooner, so that text with a few
//! more distinct words than a table holds would lose words on every pass). So most words in
//! use are in the old table, and a lookup tries it first.
//!
//! A table is written by many threads and read without a lock: it only grows (an entry, once
//! published, never changes) and is dropped whole. Its entries lie one after another in an
//! arena of 32-bit units that a writer claims with one atomic add, writes, and then publishes
//! by setting an empty slot of an open-addressing index (linear probing, at most half full)
//! with a release store; a reader that sees the slot (acquire) sees the entry. Two threads that
//! insert the same word at once may both write an entry: one is published, the other is wasted
//! space. A lock guards only which tables are current: taken to pin them (once per text, or
//! once per rayon job in a batch) and to turn them over.
//!
//! Nothing is sized from the bound up front: the first young table holds `FIRST_TABLE_WORDS`;
//! while a young table below full size fills, it is replaced by a larger one holding its words,
//! until tables reach `capacity / 2`; the arena is allocated in chunks as entries fill it. When
//! memory runs out a word is simply not cached.
//!
//! Memory: a table's index takes 8 bytes a word of its bound (4-byte slots, at most half
//! full), an entry 4 bytes of head, the word's bytes rounded up to 4, and 4 bytes an id (25
//! bytes on average on varied text): about 33 bytes a cached word in all, at most 72 (the
//! entries' budget).

use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, TryLockError};

/// The default bound of a tokenizer's word cache, in words, for all threads together (the
/// bytes are bounded too, see above): at most about 75 MB, typically 35 MB when full. A few MB
/// of varied text hold well over 100,000 distinct words, and a corpus that repeats itself every
/// 5 MB about 270,000: a cache of a quarter of this bound forgot them between repeats, and
/// encoded such a corpus at half the speed.
pub const DEFAULT_CACHE_WORDS: usize = 1 << 20;

/// The largest bound a word cache takes, in words, for all threads together: 4 times the
/// default. A full cache holds at most 72 bytes a word (about 33 typically), so at most about
/// 300 MB a tokenizer at this bound.
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
/// A table is full at this many bytes of entries per word of its bound, on average.
const GENERATION_BYTES_PER_WORD: usize = 64;
/// The words of the first young table.
const FIRST_TABLE_WORDS: usize = 1 << 10;
/// A young table that fills below full size is replaced by one this many times larger, up to
/// the full size, with its words copied over: four times rather than twice copies a third as
/// many words on the way to full size (the copies cost a cold pass a few percent).
const GROWTH: usize = 4;
/// Arena units per chunk (64 KiB): a chunk is allocated when the first entry lands in it.
const CHUNK_UNITS: usize = 1 << 14;

#[inline]
fn hash(word: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(word);
    hasher.finish()
}

/// A word as the tables store it: its bytes packed four to a unit (the last one
/// zero-padded), and its hash.
struct Key<'w> {
    word: &'w [u8],
    hashed: u64,
}

impl<'w> Key<'w> {
    /// The key of `word`; `None` when the word is too long to cache.
    #[inline]
    fn new(word: &'w [u8]) -> Option<Self> {
        (word.len() <= MAX_CACHED_WORD_BYTES).then(|| Key {
            word,
            hashed: hash(word),
        })
    }

    /// The number of units the word packs into.
    #[inline]
    fn unit_count(&self) -> usize {
        self.word.len().div_ceil(4)
    }

    /// The word's units, packed as they are read (no buffer to fill first).
    #[inline]
    fn units(&self) -> impl Iterator<Item = u32> + 'w {
        let quads = self.word.chunks_exact(4);
        let rest = quads.remainder();
        let last = (!rest.is_empty()).then(|| {
            let mut last = [0u8; 4];
            last[..rest.len()].copy_from_slice(rest);
            u32::from_le_bytes(last)
        });
        quads
            .map(|quad| u32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]))
            .chain(last)
    }

    /// The upper bits of the hash (the index is taken from its lower bits), as many as a slot
    /// of a table whose offsets take `offset_bits` holds above them.
    #[inline]
    fn tag(&self, offset_bits: u32) -> u32 {
        (self.hashed >> 32) as u32 >> offset_bits
    }
}

/// A boxed slice of `len` values made by `make`; `None` when memory runs out.
fn filled<T>(len: usize, make: impl FnMut() -> T) -> Option<Box<[T]>> {
    let mut values = Vec::new();
    values.try_reserve_exact(len).ok()?;
    values.resize_with(len, make);
    Some(values.into_boxed_slice())
}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inserted {
    /// The word is in the table (this entry, or the same word's from another thread).
    Kept,
    /// The word was not cached (too large for a chunk, or out of memory).
    Skipped,
    /// The table takes no more words.
    Full,
}

/// What writers have claimed of a table, `words << CLAIMED_WORDS_SHIFT | arena units`: one
/// atomic add claims a word and its entry's room. The words count published entries and a few
/// that lost a race or found no room; the units may run past the arena's end by the entries
/// that did not fit. On a cache line of its own, so that the fields readers use (the index, the
/// chunks) are not invalidated by each insert.
#[repr(align(128))]
#[derive(Default)]
struct Claimed(AtomicU64);

/// Units (at most 2^25 and the overshoot of a few entries) below, words (at most 2^21 and a
/// few) above.
const CLAIMED_WORDS_SHIFT: u32 = 40;

impl Claimed {
    /// (words, units) claimed.
    #[inline]
    fn load(&self) -> (usize, usize) {
        Self::split(self.0.load(Ordering::Relaxed))
    }

    #[inline]
    fn split(claimed: u64) -> (usize, usize) {
        (
            (claimed >> CLAIMED_WORDS_SHIFT) as usize,
            (claimed & ((1 << CLAIMED_WORDS_SHIFT) - 1)) as usize,
        )
    }

    /// Claim `words` and `units`; (words, units) claimed before.
    #[inline]
    fn add(&self, words: usize, units: usize) -> (usize, usize) {
        let claim = ((words as u64) << CLAIMED_WORDS_SHIFT) | units as u64;
        Self::split(self.0.fetch_add(claim, Ordering::Relaxed))
    }
}

/// One generation: an insert-only table of entries `[head][word units][ids]`, the head holding
/// the word's length in bytes (8 bits) and its count of ids (16 bits: lowercasing and the
/// newline marker can give a word more tokens than bytes).
struct Table {
    /// 0 for an empty slot, else `tag << offset_bits | (entry offset + 1)`: the tag tells most
    /// other words apart without reading their entries. Its length is a power of two at least
    /// twice `word_limit`, so probing always ends at an empty slot. (Slots of 4 bytes rather
    /// than 8 with a 32-bit tag: the index's misses in the processor's caches are what a lookup
    /// waits for, and the smaller index makes a cold pass about 5% faster.)
    slots: Box<[AtomicU32]>,
    /// The low bits of a slot that hold an offset (+ 1); the tag takes the others.
    offset_bits: u32,
    chunks: Box<[OnceLock<Box<[AtomicU32]>>]>,
    /// Units per chunk: a power of two, `1 << chunk_shift`.
    chunk_shift: u32,
    /// The byte budget, in units.
    arena_units: usize,
    word_limit: usize,
    claimed: Claimed,
    /// Bytes held by every live table of its cache (this one's included while it lives).
    ledger: Arc<AtomicUsize>,
}

impl Table {
    /// An empty table for at most `word_limit` words (at least 1); `None` when memory ran out.
    fn new(word_limit: usize, ledger: Arc<AtomicUsize>) -> Option<Table> {
        let slots = filled((2 * word_limit).next_power_of_two(), || AtomicU32::new(0))?;
        let arena_units = word_limit * GENERATION_BYTES_PER_WORD / 4;
        // Offsets + 1 up to `arena_units`: at most 26 bits, leaving at least 6 to the tag.
        let offset_bits = usize::BITS - arena_units.leading_zeros();
        let chunk_units = CHUNK_UNITS.min(arena_units.next_power_of_two());
        let chunks = filled(arena_units.div_ceil(chunk_units), OnceLock::new)?;
        let table = Table {
            slots,
            offset_bits,
            chunks,
            chunk_shift: chunk_units.trailing_zeros(),
            arena_units,
            word_limit,
            claimed: Claimed::default(),
            ledger,
        };
        table
            .ledger
            .fetch_add(table.index_bytes(), Ordering::Relaxed);
        Some(table)
    }

    fn chunk_units(&self) -> usize {
        1 << self.chunk_shift
    }

    fn index_bytes(&self) -> usize {
        self.slots.len() * size_of::<AtomicU32>()
            + self.chunks.len() * size_of::<OnceLock<Box<[AtomicU32]>>>()
    }

    /// Bytes allocated for this table: its index and the chunks of its arena in use.
    fn held_bytes(&self) -> usize {
        let chunks = self.chunks.iter().filter(|c| c.get().is_some()).count();
        self.index_bytes() + chunks * self.chunk_units() * size_of::<AtomicU32>()
    }

    /// Words in the table (those claimed, at most its limit).
    fn len(&self) -> usize {
        self.claimed.load().0.min(self.word_limit)
    }

    /// Whether three quarters of the table are taken: from then on, a hit in the old table is
    /// copied into this one (see `PinnedCache::get_into`).
    fn is_nearly_full(&self) -> bool {
        let (words, units) = self.claimed.load();
        4 * words >= 3 * self.word_limit || 4 * units >= 3 * self.arena_units
    }

    fn is_full(&self) -> bool {
        let (words, units) = self.claimed.load();
        words >= self.word_limit || units >= self.arena_units
    }

    /// The offset of the entry a (full) slot points at.
    #[inline]
    fn offset(&self, slot: u32) -> usize {
        ((slot & ((1 << self.offset_bits) - 1)) - 1) as usize
    }

    /// The arena from the entry at `offset` to its chunk's end (an entry never crosses one).
    #[inline]
    fn entry(&self, offset: usize) -> Option<&[AtomicU32]> {
        let chunk = self.chunks.get(offset >> self.chunk_shift)?.get()?;
        chunk.get(offset & (self.chunk_units() - 1)..)
    }

    /// The ids of a published entry when it holds `key`'s word.
    #[inline]
    fn ids_if_holds<'t>(&'t self, slot: u32, key: &Key) -> Option<&'t [AtomicU32]> {
        let entry = self.entry(self.offset(slot))?;
        let head = entry.first()?.load(Ordering::Relaxed);
        if (head & 0xFF) as usize != key.word.len() {
            return None;
        }
        let units = key.unit_count();
        let stored = entry.get(1..1 + units)?;
        if !stored
            .iter()
            .zip(key.units())
            .all(|(stored, unit)| stored.load(Ordering::Relaxed) == unit)
        {
            return None;
        }
        let count = (head >> 8) as usize;
        entry.get(1 + units..1 + units + count)
    }

    /// Append the ids of `key`'s word to `ids`; false when it is not in the table.
    #[inline]
    fn find_into(&self, key: &Key, ids: &mut Vec<u32>) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = key.hashed as usize & mask;
        loop {
            let slot = self.slots[at].load(Ordering::Acquire);
            if slot == 0 {
                return false;
            }
            if slot >> self.offset_bits == key.tag(self.offset_bits) {
                if let Some(found) = self.ids_if_holds(slot, key) {
                    ids.extend(found.iter().map(|id| id.load(Ordering::Relaxed)));
                    return true;
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// The chunk `index` of the arena, allocated on first use; `None` when memory ran out.
    fn chunk(&self, index: usize) -> Option<&[AtomicU32]> {
        let cell = self.chunks.get(index)?;
        if cell.get().is_none() {
            let fresh = filled(self.chunk_units(), || AtomicU32::new(0))?;
            if cell.set(fresh).is_ok() {
                let bytes = self.chunk_units() * size_of::<AtomicU32>();
                self.ledger.fetch_add(bytes, Ordering::Relaxed);
            }
        }
        cell.get().map(|chunk| &chunk[..])
    }

    fn insert(&self, key: &Key, ids: &[u32]) -> Inserted {
        if self.is_full() {
            return Inserted::Full;
        }
        let units = key.unit_count();
        let size = 1 + units + ids.len();
        if size > self.chunk_units() || ids.len() > usize::from(u16::MAX) {
            return Inserted::Skipped;
        }
        // A full table takes no claim (checked first): so the claims never run far past it.
        let (words, mut start) = self.claimed.add(1, size);
        if words >= self.word_limit {
            return Inserted::Full;
        }
        loop {
            if start + size > self.arena_units {
                return Inserted::Full;
            }
            if start >> self.chunk_shift == (start + size - 1) >> self.chunk_shift {
                break;
            }
            // The rest of this chunk is left unused, and the claims now reach into the next
            // one (an entry is never larger than a chunk): claim the room again.
            start = self.claimed.add(0, size).1;
        }
        let Some(chunk) = self.chunk(start >> self.chunk_shift) else {
            return Inserted::Skipped;
        };
        let entry = &chunk[start & (self.chunk_units() - 1)..][..size];
        entry[0].store(
            key.word.len() as u32 | ((ids.len() as u32) << 8),
            Ordering::Relaxed,
        );
        for (cell, unit) in entry[1..].iter().zip(key.units()) {
            cell.store(unit, Ordering::Relaxed);
        }
        for (cell, &id) in entry[1 + units..].iter().zip(ids) {
            cell.store(id, Ordering::Relaxed);
        }
        // At most `word_limit` entries are published, so an empty slot is always found.
        let published = (key.tag(self.offset_bits) << self.offset_bits) | (start as u32 + 1);
        let mask = self.slots.len() - 1;
        let mut at = key.hashed as usize & mask;
        loop {
            let mut slot = self.slots[at].load(Ordering::Acquire);
            if slot == 0 {
                match self.slots[at].compare_exchange(
                    0,
                    published,
                    Ordering::Release,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Inserted::Kept,
                    Err(taken) => slot = taken,
                }
            }
            if slot >> self.offset_bits == key.tag(self.offset_bits)
                && self.ids_if_holds(slot, key).is_some()
            {
                return Inserted::Kept; // by another thread, just now
            }
            at = (at + 1) & mask;
        }
    }

    /// Insert every entry of this table into `bigger` (entries still being published when it
    /// runs may be left out: they are only not cached).
    fn copy_into(&self, bigger: &Table) {
        let mut word = [0u8; 4 * MAX_CACHED_WORD_BYTES.div_ceil(4)];
        let mut ids = Vec::new();
        for slot in &self.slots {
            let slot = slot.load(Ordering::Acquire);
            let Some(entry) = (slot != 0).then(|| self.entry(self.offset(slot))).flatten() else {
                continue;
            };
            let head = entry[0].load(Ordering::Relaxed);
            let (len, count) = ((head & 0xFF) as usize, (head >> 8) as usize);
            let units = len.div_ceil(4);
            let Some(stored) = entry.get(1..1 + units + count) else {
                continue;
            };
            for (bytes, unit) in word.chunks_exact_mut(4).zip(&stored[..units]) {
                bytes.copy_from_slice(&unit.load(Ordering::Relaxed).to_le_bytes());
            }
            ids.clear();
            if ids.try_reserve(count).is_err() {
                return;
            }
            ids.extend(stored[units..].iter().map(|id| id.load(Ordering::Relaxed)));
            if let Some(key) = Key::new(&word[..len]) {
                bigger.insert(&key, &ids);
            }
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        self.ledger.fetch_sub(self.held_bytes(), Ordering::Relaxed);
    }
}

/// The tables current at one moment: never changed, replaced whole when they turn over.
struct Generations {
    young: Arc<Table>,
    old: Option<Arc<Table>>,
}

/// What a tokenizer and its clones share: the current generations.
struct CacheCell {
    /// Words per table at full size; 0 when caching is off.
    table_limit: usize,
    current: RwLock<Option<Arc<Generations>>>,
    /// Held by the one thread that makes the next generations.
    turning_over: Mutex<()>,
    /// The process that made the cache.
    process: u32,
    ledger: Arc<AtomicUsize>,
}

impl CacheCell {
    fn new(capacity: usize) -> Self {
        CacheCell {
            table_limit: capacity.div_ceil(2),
            current: RwLock::new(None),
            turning_over: Mutex::new(()),
            process: std::process::id(),
            ledger: Arc::default(),
        }
    }

    fn read(&self) -> Option<Arc<Generations>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The current generations, turned over first if the young table is full; `None` when
    /// caching is off (or memory for a first table ran out).
    fn pin(&self) -> Option<Arc<Generations>> {
        if self.table_limit == 0 {
            return None;
        }
        match self.read() {
            Some(current) if !current.young.is_full() => Some(current),
            seen => self.turn_over(seen),
        }
    }

    /// The generations after `seen`: while the young table is below full size, a table
    /// `GROWTH` times its size with its words (the old table stays); at full size, a new young
    /// table, the young one becoming the old one. The generations another thread made meanwhile
    /// if any; `seen` when memory ran out (or, in a forked child, while another thread is
    /// making them).
    #[cold]
    fn turn_over(&self, seen: Option<Arc<Generations>>) -> Option<Arc<Generations>> {
        // One thread turns over; the others wait for it (a few milliseconds at most, a few
        // times while the tables grow): words they met meanwhile would else go uncached, and be
        // encoded again on the next pass. Not in a child process made by `fork()`: a thread of
        // the parent may have held the lock then, and no thread of the child will free it; there
        // the others go on with the tables they have.
        let _turning = if std::process::id() == self.process {
            self.turning_over
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        } else {
            match self.turning_over.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return seen,
            }
        };
        let current = self.read();
        let unchanged = match (&current, &seen) {
            (Some(current), Some(seen)) => Arc::ptr_eq(current, seen),
            (None, None) => true,
            _ => false,
        };
        if !unchanged {
            return current; // turned over by another thread since `seen` was read
        }
        let ledger = || self.ledger.clone();
        let next = match current {
            None => Generations {
                young: Arc::new(Table::new(
                    FIRST_TABLE_WORDS.min(self.table_limit),
                    ledger(),
                )?),
                old: None,
            },
            Some(current) if current.young.word_limit < self.table_limit => {
                // Growing, not turning over: the words of a small table are not dropped.
                let words = (GROWTH * current.young.word_limit).min(self.table_limit);
                let Some(young) = Table::new(words, ledger()) else {
                    return Some(current);
                };
                current.young.copy_into(&young);
                Generations {
                    young: Arc::new(young),
                    old: current.old.clone(),
                }
            }
            Some(current) => match Table::new(self.table_limit, ledger()) {
                Some(young) => Generations {
                    young: Arc::new(young),
                    old: Some(current.young.clone()),
                },
                None => return Some(current),
            },
        };
        // Made before taking the lock that pinning takes: it waits for no allocation nor copy.
        let next = Arc::new(next);
        let replaced = self
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(next.clone());
        // The previous old table goes here unless work in flight still holds it.
        drop(replaced);
        Some(next)
    }
}

/// A tokenizer's word cache: its bound, and the tables that its clones share until either
/// changes (and takes a new, empty cache).
#[derive(Clone)]
pub struct WordCache {
    capacity: usize,
    cell: Arc<CacheCell>,
}

impl std::fmt::Debug for WordCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for WordCache {
    /// A cache of `DEFAULT_CACHE_WORDS`.
    fn default() -> Self {
        WordCache {
            capacity: DEFAULT_CACHE_WORDS,
            cell: Arc::new(CacheCell::new(DEFAULT_CACHE_WORDS)),
        }
    }
}

impl WordCache {
    /// A cache of at most about `capacity` words, all threads together (0 disables it), up to
    /// `MAX_CACHE_WORDS`.
    pub fn new(capacity: usize) -> Result<Self, CacheTooLarge> {
        if capacity > MAX_CACHE_WORDS {
            return Err(CacheTooLarge(capacity));
        }
        Ok(WordCache {
            capacity,
            cell: Arc::new(CacheCell::new(capacity)),
        })
    }

    /// The bound, in words.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forget everything: this cache becomes a new, empty one (a clone keeps the old one).
    pub fn clear(&mut self) {
        self.cell = Arc::new(CacheCell::new(self.capacity));
    }

    /// The current tables, held for a run of lookups and inserts (a text, or a rayon job's
    /// texts): pinning takes a lock, a lookup none.
    #[inline]
    pub fn pin(&self) -> PinnedCache<'_> {
        PinnedCache {
            cell: &self.cell,
            generations: self.cell.pin(),
        }
    }

    /// Words in the current tables (young and old).
    pub fn len(&self) -> usize {
        self.cell.read().map_or(0, |current| {
            current.young.len() + current.old.as_ref().map_or(0, |old| old.len())
        })
    }

    /// Bytes allocated for every table of this cache still alive: the current ones and those
    /// that work in flight still holds.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.cell.ledger.load(Ordering::Relaxed)
    }
}

/// The tables of a [`WordCache`] as they were when pinned (turned over when the young one
/// fills); lookups and inserts take no lock.
pub struct PinnedCache<'a> {
    cell: &'a CacheCell,
    generations: Option<Arc<Generations>>,
}

impl PinnedCache<'_> {
    /// Append the cached ids of `word` to `ids`; false when it is not cached.
    #[inline]
    pub fn get_into(&mut self, word: &[u8], ids: &mut Vec<u32>) -> bool {
        let Some(generations) = &self.generations else {
            return false;
        };
        let Some(key) = Key::new(word) else {
            return false;
        };
        // The old table first: it holds most words in use (they are copied into the young one
        // only near its end), the young one those met since the last turnover.
        let Some(old) = &generations.old else {
            return generations.young.find_into(&key, ids);
        };
        let before = ids.len();
        if !old.find_into(&key, ids) {
            return generations.young.find_into(&key, ids);
        }
        // Still in use as the old table's end nears: kept (see the module's notes on why not
        // sooner).
        if generations.young.is_nearly_full() {
            self.insert_key(&key, &ids[before..]);
        }
        true
    }

    /// Remember the ids of `word` (unless the cache is off or the word too long to keep).
    #[inline]
    pub fn insert(&mut self, word: &[u8], ids: &[u32]) {
        if self.generations.is_none() || ids.len() > usize::from(u16::MAX) {
            return;
        }
        if let Some(key) = Key::new(word) {
            self.insert_key(&key, ids);
        }
    }

    fn insert_key(&mut self, key: &Key, ids: &[u32]) {
        let Some(generations) = &self.generations else {
            return;
        };
        if generations.young.insert(key, ids) != Inserted::Full {
            return;
        }
        // Turn over (or take the tables another thread turned over to) and try once more.
        let fresh = self.cell.pin();
        let same = match (&fresh, &self.generations) {
            (Some(fresh), Some(pinned)) => Arc::ptr_eq(fresh, pinned),
            _ => false,
        };
        self.generations = fresh;
        if let (false, Some(generations)) = (same, &self.generations) {
            generations.young.insert(key, ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_word_gives_back_its_ids() {
        let cache = WordCache::new(1_000).unwrap();
        let mut pinned = cache.pin();
        pinned.insert(b"hello", &[7, 8]);
        let mut ids = Vec::new();
        assert!(pinned.get_into(b"hello", &mut ids));
        assert_eq!(ids, [7, 8]);
    }

    fn get(cache: &WordCache, word: &[u8]) -> Option<Vec<u32>> {
        let mut ids = Vec::new();
        cache.pin().get_into(word, &mut ids).then_some(ids)
    }

    /// The bytes of a table of `words` at most, with its arena full.
    fn full_table_bytes(words: usize) -> usize {
        let arena_units = words * GENERATION_BYTES_PER_WORD / 4;
        let chunk_units = CHUNK_UNITS.min(arena_units.next_power_of_two());
        let chunks = arena_units.div_ceil(chunk_units);
        (2 * words).next_power_of_two() * 4
            + chunks * (chunk_units * 4 + size_of::<OnceLock<Box<[AtomicU32]>>>())
    }

    #[test]
    fn memory_stays_bounded_under_unique_words() {
        let cache = WordCache::new(1_000).unwrap();
        let mut pinned = cache.pin();
        for i in 0..100_000u32 {
            pinned.insert(format!("word{i}").as_bytes(), &[i]);
        }
        drop(pinned);
        assert!(cache.len() <= 1_000, "{}", cache.len());
        assert!(cache.held_bytes() <= 2 * full_table_bytes(500));
        assert_eq!(get(&cache, b"word99999"), Some(vec![99_999]));
        assert_eq!(get(&cache, b"word0"), None);
    }

    #[test]
    fn memory_stays_bounded_under_long_unique_words() {
        let cache = WordCache::new(1_000).unwrap();
        let mut pinned = cache.pin();
        let ids: Vec<u32> = (0..200).collect();
        for i in 0..20_000u32 {
            pinned.insert(format!("{i:0>200}").as_bytes(), &ids);
        }
        drop(pinned);
        // Two tables of at most 500 words and 500 * 64 bytes of entries (about 31 of these).
        assert!(cache.len() <= 2 * 32, "{}", cache.len());
        assert!(cache.held_bytes() <= 2 * full_table_bytes(500));
        assert_eq!(
            get(&cache, format!("{:0>200}", 19_999).as_bytes()),
            Some(ids)
        );
    }

    #[test]
    fn entries_keep_their_ids_and_words_too_long_are_not_kept() {
        let cache = WordCache::new(10_000).unwrap();
        let mut pinned = cache.pin();
        let many: Vec<u32> = (0..3_000).map(|i| i * 65_537).collect();
        pinned.insert(b"many", &many);
        pinned.insert(b"", &[]);
        pinned.insert(&[b'x'; 255], &[7]);
        pinned.insert(&[b'x'; 256], &[8]);
        // Words that share their first units, or differ only in their padding.
        pinned.insert(b"abcd", &[1]);
        pinned.insert(b"abcde", &[2]);
        pinned.insert(b"abc", &[3]);
        pinned.insert(b"abc\0", &[4]);
        drop(pinned);
        assert_eq!(get(&cache, b"many"), Some(many));
        assert_eq!(get(&cache, b""), Some(vec![]));
        assert_eq!(get(&cache, &[b'x'; 255]), Some(vec![7]));
        assert_eq!(get(&cache, &[b'x'; 256]), None);
        assert_eq!(get(&cache, b"abcd"), Some(vec![1]));
        assert_eq!(get(&cache, b"abcde"), Some(vec![2]));
        assert_eq!(get(&cache, b"abc"), Some(vec![3]));
        assert_eq!(get(&cache, b"abc\0"), Some(vec![4]));
        assert_eq!(get(&cache, b"ab"), None);
    }

    #[test]
    fn a_word_in_use_survives_turnovers() {
        let cache = WordCache::new(10).unwrap();
        let mut pinned = cache.pin();
        pinned.insert(b"kept", &[1, 2]);
        for i in 0..1_000u32 {
            pinned.insert(format!("w{i}").as_bytes(), &[i]);
            let mut ids = Vec::new();
            assert!(pinned.get_into(b"kept", &mut ids), "lost after {i} words");
            assert_eq!(ids, vec![1, 2]);
        }
        assert!(cache.len() <= 10);
    }

    #[test]
    fn the_largest_bound_allocates_only_what_is_cached() {
        let cache = WordCache::new(MAX_CACHE_WORDS).unwrap();
        let mut pinned = cache.pin();
        pinned.insert(b"word", &[1, 2]);
        // The first table: 2,048 slots and one chunk of its arena.
        assert!(cache.held_bytes() < 96 * 1_024, "{}", cache.held_bytes());
        for i in 0..10_000u32 {
            pinned.insert(format!("w{i}").as_bytes(), &[i]);
        }
        // A table grown to 16,384 words (so far), not one of 2,097,152.
        assert!(cache.held_bytes() < 10_000 * 72, "{}", cache.held_bytes());
    }

    #[test]
    fn a_growing_table_keeps_its_words() {
        let cache = WordCache::new(100_000).unwrap();
        let mut pinned = cache.pin();
        for i in 0..10_000u32 {
            pinned.insert(format!("w{i}").as_bytes(), &[i, 1]);
        }
        drop(pinned);
        for i in 0..10_000u32 {
            assert_eq!(get(&cache, format!("w{i}").as_bytes()), Some(vec![i, 1]));
        }
    }

    #[test]
    fn text_with_a_few_more_words_than_a_table_stays_warm() {
        // 700 words, tables of 500: once seen, every word stays cached pass after pass (a hit
        // in the old table is copied only near the young table's end).
        let cache = WordCache::new(1_000).unwrap();
        let words: Vec<String> = (0..700).map(|i| format!("w{i}")).collect();
        let mut pinned = cache.pin();
        for (i, word) in words.iter().enumerate() {
            pinned.insert(word.as_bytes(), &[i as u32]);
        }
        for _pass in 0..5 {
            for (i, word) in words.iter().enumerate() {
                let mut ids = Vec::new();
                assert!(pinned.get_into(word.as_bytes(), &mut ids), "{word}");
                assert_eq!(ids, vec![i as u32]);
            }
        }
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
    fn turning_over_keeps_memory_within_two_tables() {
        let cache = WordCache::new(1_000).unwrap();
        let mut pinned = cache.pin();
        for i in 0..50_000u32 {
            pinned.insert(format!("{i:0>20}").as_bytes(), &[i, i]);
        }
        drop(pinned);
        // Two tables of 500 words of 8 units: 1,024 slots and one chunk of 8,192 units each.
        assert!(
            cache.held_bytes() <= 2 * (1_024 * 4 + 8_192 * 4 + 64),
            "{}",
            cache.held_bytes()
        );
    }

    #[test]
    fn threads_share_one_cache_and_read_the_ids_written() {
        // Every thread inserts and reads the same words at once; a word's ids name it. The
        // words (of 5 to 7 bytes) fit in the first table even with a few inserted twice.
        let cache = WordCache::new(100_000).unwrap();
        let words = 1_000u32;
        let ids_of = |i: u32| vec![i, i ^ 0xFFFF, i.wrapping_mul(7)];
        std::thread::scope(|scope| {
            for thread in 0..4u32 {
                let cache = &cache;
                scope.spawn(move || {
                    let mut pinned = cache.pin();
                    for round in 0..50_000u32 {
                        let i = (round * 7 + thread * 101) % words;
                        let word = format!("word{i}");
                        let mut ids = Vec::new();
                        if pinned.get_into(word.as_bytes(), &mut ids) {
                            assert_eq!(ids, ids_of(i), "{word}");
                        } else {
                            pinned.insert(word.as_bytes(), &ids_of(i));
                        }
                    }
                });
            }
        });
        // Learnt once, by whichever thread came first: warm for every thread.
        for i in 0..words {
            assert_eq!(get(&cache, format!("word{i}").as_bytes()), Some(ids_of(i)));
        }
    }

    #[test]
    fn threads_streaming_unique_words_keep_memory_bounded_in_total() {
        let cache = WordCache::new(2_000).unwrap();
        let threads = 4;
        let peak = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for thread in 0..threads {
                let (cache, peak) = (&cache, &peak);
                scope.spawn(move || {
                    for batch in 0..100u32 {
                        let mut pinned = cache.pin();
                        for i in 0..1_000u32 {
                            let word = format!("{thread}-{batch}-{i}");
                            pinned.insert(word.as_bytes(), &[i]);
                        }
                        peak.fetch_max(cache.held_bytes(), Ordering::Relaxed);
                    }
                });
            }
        });
        // The current two tables; each thread's pin holds at most two more, and a turnover it is
        // making one more (a new table, dropped if another thread turned over first).
        let table = full_table_bytes(1_000);
        let peak = peak.into_inner();
        assert!(peak <= (2 + 3 * threads) * table, "{peak}");
        assert!(cache.held_bytes() <= 2 * table, "{}", cache.held_bytes());
        assert!(cache.len() <= 2_000, "{}", cache.len());
    }

    #[test]
    fn a_pin_keeps_its_tables_until_dropped() {
        let cache = WordCache::new(100).unwrap();
        let mut early = cache.pin();
        early.insert(b"early", &[1]);
        let mut writer = cache.pin();
        for i in 0..1_000u32 {
            writer.insert(format!("w{i}").as_bytes(), &[i]);
        }
        // Turned over many times since: the early pin still reads what it pinned.
        let mut ids = Vec::new();
        assert!(early.get_into(b"early", &mut ids));
        assert_eq!(ids, vec![1]);
        assert_eq!(get(&cache, b"early"), None);
        let with_early = cache.held_bytes();
        drop(early);
        assert!(cache.held_bytes() < with_early);
    }

    #[test]
    fn clearing_gives_a_new_cache_and_leaves_a_clones_alone() {
        let mut cache = WordCache::new(10).unwrap();
        cache.pin().insert(b"a", &[1]);
        let clone = cache.clone();
        assert_eq!(get(&clone, b"a"), Some(vec![1]));
        cache.clear();
        assert_eq!(cache.len(), 0);
        assert_eq!(get(&cache, b"a"), None);
        assert_eq!(get(&clone, b"a"), Some(vec![1]));
        cache.pin().insert(b"b", &[2]);
        assert_eq!(get(&clone, b"b"), None);
        assert_eq!(cache.capacity(), 10);
    }

    #[test]
    fn a_capacity_of_zero_caches_nothing() {
        let cache = WordCache::new(0).unwrap();
        let mut pinned = cache.pin();
        pinned.insert(b"a", &[1]);
        let mut ids = Vec::new();
        assert!(!pinned.get_into(b"a", &mut ids));
        assert!(ids.is_empty());
        assert_eq!(cache.held_bytes(), 0);
        assert_eq!(cache.len(), 0);
    }
}
