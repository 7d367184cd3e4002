//! The tokenizer: added tokens, encode (single and batch), decode.

use crate::added::AddedTokenTrie;
use crate::bpe::{BpeScratch, MergeRanks, SplitError, Symbol, END_OF_WORD, NO_SYMBOL};
use crate::cache::{CacheTooLarge, LocalCache, WordCache};
use crate::vocab::{self, LoadError, Vocab, Warnings};
use crate::words::{
    char_count, decode_at, encode_into, for_each_word, is_python_space, split_pieces,
    validate_python_text, Lowercaser, PieceSource, NEWLINE_MARKER,
};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::collections::TryReserveError;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub use crate::cache::{DEFAULT_CACHE_WORDS, MAX_CACHE_WORDS};
const CONTINUATION: &[u8] = b"@@";

/// Why a text could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A token is unknown and the tokenizer has no unknown token to map it to.
    NoUnknownToken,
    /// The input is not Python text (byte offset of the first bad byte).
    NotText(usize),
    /// A piece of a word has this many code points, `bpe::MAX_PIECE_CHARS` or more.
    PieceTooLong(usize),
    /// Memory for the work ran out (a long word needs about 25 bytes a byte).
    OutOfMemory,
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::NoUnknownToken => {
                f.write_str("this tokenizer has no unk_token to map unknown tokens to")
            }
            EncodeError::NotText(at) => write!(f, "invalid UTF-8 at byte offset {at}"),
            EncodeError::PieceTooLong(chars) => write!(
                f,
                "a word piece of {chars} characters is too long to tokenize (the limit is {})",
                crate::bpe::MAX_PIECE_CHARS - 1
            ),
            EncodeError::OutOfMemory => f.write_str("out of memory while tokenizing"),
        }
    }
}

impl std::error::Error for EncodeError {}

impl From<TryReserveError> for EncodeError {
    fn from(_: TryReserveError) -> Self {
        EncodeError::OutOfMemory
    }
}

impl From<SplitError> for EncodeError {
    fn from(error: SplitError) -> Self {
        match error {
            SplitError::TooLong(chars) => EncodeError::PieceTooLong(chars),
            SplitError::OutOfMemory => EncodeError::OutOfMemory,
        }
    }
}

/// Every public entry point checks its text first: the rest of the pipeline may assume it.
fn check_text(text: &[u8]) -> Result<(), EncodeError> {
    validate_python_text(text).map_err(EncodeError::NotText)
}

/// One token of an encoding with offsets: its id, its character span in the text, and the
/// index of the word it comes from (`None` for added and special tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSpan {
    pub id: u32,
    pub start: usize,
    pub end: usize,
    pub word: Option<usize>,
}

/// The added tokens as the Python layer keeps them: token -> id (looked up before the
/// vocabulary, and cut out of text), and id -> token (decoded before the vocabulary). The two
/// need not mirror each other: two tokens may share an id, and an id keeps the token it was
/// last given.
#[derive(Clone, Debug, Default)]
pub struct AddedTokenTable {
    pub encoder: Vec<(Vec<u8>, u32)>,
    pub decoder: Vec<(u32, Vec<u8>)>,
}

impl AddedTokenTable {
    /// A table where each token has its own id.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, u32)>) -> Self {
        let decoder = pairs.iter().map(|(t, id)| (*id, t.clone())).collect();
        AddedTokenTable {
            encoder: pairs,
            decoder,
        }
    }
}

/// Added tokens, compiled: cut out of text first, and looked up before the vocabulary.
#[derive(Clone, Debug)]
struct AddedTokens {
    trie: AddedTokenTrie,
    ids: FxHashMap<Box<[u8]>, u32>,
    tokens: FxHashMap<u32, Box<[u8]>>,
    /// Segments that stand as one token although not added (special tokens only set by name).
    units: FxHashSet<Box<[u8]>>,
}

impl AddedTokens {
    fn new(added: AddedTokenTable, units: Vec<Vec<u8>>) -> Self {
        let trie = AddedTokenTrie::new(added.encoder.iter().map(|(t, _)| t.as_slice()));
        let ids = added
            .encoder
            .into_iter()
            .map(|(t, id)| (t.into_boxed_slice(), id))
            .collect();
        let tokens = added
            .decoder
            .into_iter()
            .map(|(id, t)| (id, t.into_boxed_slice()))
            .collect();
        let units = units.into_iter().map(Vec::into_boxed_slice).collect();
        AddedTokens {
            trie,
            ids,
            tokens,
            units,
        }
    }
}

/// A token as BPE cut it from a piece: its text (with `@@` unless it ends the piece), its
/// merge symbol, and whether it ends the piece.
struct PieceToken<'a> {
    text: &'a [u8],
    symbol: Symbol,
    last: bool,
}

/// What `SymbolIds` stores for a token in neither the added tokens nor the vocabulary.
const MISSING: u32 = u32::MAX;

/// The id of every merge symbol's two tokens, so that encoding hashes no token strings: `middle`
/// is the id of the symbol's text + `@@` (a token followed by another), `last` the id of its
/// text without `</w>` (a piece's last token). Added tokens come first, as in `token_id`.
#[derive(Debug, Default)]
struct SymbolIds {
    middle: Vec<u32>,
    last: Vec<u32>,
}

impl SymbolIds {
    /// From the vocabulary alone.
    fn of_vocab(vocab: &Vocab, merges: &MergeRanks) -> Self {
        let symbols = merges.symbols();
        let mut ids = SymbolIds {
            middle: Vec::with_capacity(symbols.len()),
            last: Vec::with_capacity(symbols.len()),
        };
        let mut token = Vec::new();
        for (_, text) in symbols.iter() {
            token.clear();
            token.extend_from_slice(text.as_bytes());
            token.extend_from_slice(CONTINUATION);
            ids.middle.push(vocab.id(&token).unwrap_or(MISSING));
            let stem = text.strip_suffix(END_OF_WORD);
            ids.last
                .push(stem.and_then(|t| vocab.id(t.as_bytes())).unwrap_or(MISSING));
        }
        ids
    }

    /// `base` with the added tokens put before the vocabulary.
    fn with_added(base: &SymbolIds, merges: &MergeRanks, added: &AddedTokens) -> Self {
        let mut ids = SymbolIds {
            middle: base.middle.clone(),
            last: base.last.clone(),
        };
        let symbols = merges.symbols();
        let mut text = Vec::new();
        for (token, &id) in &added.ids {
            if let Some(stem) = token.strip_suffix(CONTINUATION) {
                if let Some(symbol) = symbols.find(stem) {
                    ids.middle[symbol as usize] = id;
                }
            }
            text.clear();
            text.extend_from_slice(token);
            text.extend_from_slice(END_OF_WORD.as_bytes());
            if let Some(symbol) = symbols.find(&text) {
                ids.last[symbol as usize] = id;
            }
        }
        ids
    }
}

/// The BlenderBot-small tokenizer. Cloning is cheap (the vocabulary, merges and tables are
/// shared), which lets a binding swap in a changed copy instead of locking readers out.
#[derive(Clone)]
pub struct Tokenizer {
    vocab: Arc<Vocab>,
    merges: Arc<MergeRanks>,
    lowercaser: Arc<Lowercaser>,
    added: AddedTokens,
    unknown_id: Option<u32>,
    unknown_token: Option<Box<[u8]>>,
    cache: WordCache,
    /// Symbol ids from the vocabulary (made on first use, shared by clones), and with the
    /// added tokens over them (made again when they change).
    vocab_symbol_ids: Arc<OnceLock<SymbolIds>>,
    symbol_ids: Arc<OnceLock<SymbolIds>>,
}

/// Scratch buffers reused across words.
#[derive(Default)]
struct Scratch {
    chars: Vec<u32>,
    lowered: Vec<u32>,
    origin: Vec<usize>,
    ends: Vec<u32>,
    token: Vec<u8>,
    segments: Vec<(usize, usize)>,
    bpe: BpeScratch,
}

impl Scratch {
    /// Buffers holding more than this are let go after use instead of kept for the next text.
    const KEPT_BYTES: usize = 1 << 20;

    fn held_bytes(&self) -> usize {
        (self.chars.capacity() + self.lowered.capacity() + self.ends.capacity()) * 4
            + self.origin.capacity() * 8
            + self.token.capacity()
            + self.segments.capacity() * 16
            + self.bpe.held_bytes()
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Run `work` with this thread's scratch buffers (one text's worth of allocations saved per
/// call, which matters for short texts).
fn with_scratch<R>(work: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let result = work(&mut scratch);
            if scratch.held_bytes() > Scratch::KEPT_BYTES {
                *scratch = Scratch::default(); // after a huge word
            }
            result
        }
        Err(_) => work(&mut Scratch::default()),
    })
}

/// The newline marker's code points.
const NEWLINE_CODES: [u32; 9] = {
    let bytes = NEWLINE_MARKER.as_bytes();
    let mut codes = [0u32; 9];
    let mut i = 0;
    while i < 9 {
        codes[i] = bytes[i] as u32;
        i += 1;
    }
    codes
};

impl Tokenizer {
    /// A tokenizer from its vocabulary and merges, with no added tokens and no unknown token.
    pub fn new(vocab: Vocab, merges: MergeRanks) -> Self {
        Tokenizer {
            vocab: Arc::new(vocab),
            merges: Arc::new(merges),
            lowercaser: Arc::new(Lowercaser::default()),
            added: AddedTokens::new(AddedTokenTable::default(), Vec::new()),
            unknown_id: None,
            unknown_token: None,
            cache: WordCache::default(),
            vocab_symbol_ids: Arc::default(),
            symbol_ids: Arc::default(),
        }
    }

    /// Read `vocab.json` and `merges.txt`, with the reference's special tokens added as the
    /// reference adds them (appended after the vocabulary when missing: bos, eos, unk, pad).
    pub fn from_files(
        vocab_path: &Path,
        merges_path: &Path,
    ) -> Result<(Self, Warnings), LoadError> {
        let (vocab, mut warnings) = Vocab::from_file(vocab_path)?;
        let (merges, merge_warnings) = vocab::read_merges(merges_path)?;
        warnings.extend(merge_warnings);
        let mut tokenizer = Tokenizer::new(vocab, merges);
        let mut added = Vec::new();
        let mut next_id = tokenizer.vocab.len() as u32;
        for special in ["__start__", "__end__", "__unk__", "__null__"] {
            let id = tokenizer.vocab.id(special.as_bytes()).unwrap_or_else(|| {
                next_id += 1;
                next_id - 1
            });
            added.push((special.as_bytes().to_vec(), id));
        }
        let unknown_id = added[2].1;
        tokenizer.set_added_tokens(AddedTokenTable::from_pairs(added), Vec::new());
        tokenizer.set_unknown(Some(b"__unk__".to_vec()), Some(unknown_id));
        Ok((tokenizer, warnings))
    }

    /// Replace the lowercasing tables (to follow another Python's Unicode version).
    pub fn set_lowercaser(&mut self, lowercaser: Lowercaser) {
        self.lowercaser = Arc::new(lowercaser);
        self.cache.clear();
    }

    /// The lowercasing tables in use.
    pub fn lowercaser(&self) -> &Lowercaser {
        &self.lowercaser
    }

    /// Set the added tokens (cut out of text, looked up first) and the unit tokens (a whole
    /// segment equal to one is one token).
    pub fn set_added_tokens(&mut self, added: AddedTokenTable, units: Vec<Vec<u8>>) {
        self.added = AddedTokens::new(added, units);
        self.symbol_ids = Arc::default();
        self.cache.clear();
    }

    /// Set the unknown token and its id.
    pub fn set_unknown(&mut self, token: Option<Vec<u8>>, id: Option<u32>) {
        self.unknown_token = token.map(Vec::into_boxed_slice);
        self.unknown_id = id;
        self.cache.clear();
    }

    /// Bound the word cache to `words` entries (0 disables it; at most
    /// `cache::MAX_CACHE_WORDS`).
    pub fn set_cache_capacity(&mut self, words: usize) -> Result<(), CacheTooLarge> {
        self.cache = WordCache::new(words)?;
        Ok(())
    }

    /// The bound of the word cache.
    pub fn cache_capacity(&self) -> usize {
        self.cache.capacity()
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The merges.
    pub fn merges(&self) -> &MergeRanks {
        &self.merges
    }

    /// Token -> id: added tokens first, then the vocabulary (BPE tokens are lowercase
    /// already: Python's `str.lower()` is idempotent), then the unknown token.
    #[inline]
    fn token_id(&self, token: &[u8]) -> Result<u32, EncodeError> {
        if let Some(&id) = self.added.ids.get(token) {
            return Ok(id);
        }
        self.vocab
            .id(token)
            .or(self.unknown_id)
            .ok_or(EncodeError::NoUnknownToken)
    }

    /// The id of a token BPE cut from a piece: as `token_id`, through the symbol tables.
    #[inline]
    fn piece_token_id(&self, token: &PieceToken<'_>) -> Result<u32, EncodeError> {
        if token.symbol == NO_SYMBOL {
            return self.token_id(token.text);
        }
        let ids = self.symbol_ids.get_or_init(|| {
            let base = self
                .vocab_symbol_ids
                .get_or_init(|| SymbolIds::of_vocab(&self.vocab, &self.merges));
            SymbolIds::with_added(base, &self.merges, &self.added)
        });
        let table = if token.last { &ids.last } else { &ids.middle };
        match table[token.symbol as usize] {
            MISSING => self.unknown_id.ok_or(EncodeError::NoUnknownToken),
            id => Ok(id),
        }
    }

    /// Token -> id for any token: as `token_id`, but the vocabulary is looked up with the token
    /// lowercased, as the reference does.
    pub fn token_to_id(&self, token: &[u8]) -> Result<u32, EncodeError> {
        check_text(token)?;
        if let Some(&id) = self.added.ids.get(token) {
            return Ok(id);
        }
        let mut chars = Vec::new();
        chars.try_reserve_exact(char_count(token))?;
        let mut at = 0;
        while at < token.len() {
            let (code, width) = decode_at(token, at);
            chars.push(code);
            at += width;
        }
        let (mut lowered, mut bytes) = (Vec::new(), Vec::new());
        self.lowercaser.lower(&chars, &mut lowered, None)?;
        bytes.try_reserve_exact(token.len() * 3)?;
        for code in lowered {
            encode_into(code, &mut bytes);
        }
        self.vocab
            .id(&bytes)
            .or(self.unknown_id)
            .ok_or(EncodeError::NoUnknownToken)
    }

    /// The tokens of one word, fed to `emit` with their character ranges in the word when
    /// `offsets` is set (else with `0..0`: the ranges cost a `usize` a character to keep).
    fn word_tokens(
        &self,
        word: &[u8],
        scratch: &mut Scratch,
        offsets: bool,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut chars = std::mem::take(&mut scratch.chars);
        chars.clear();
        let mut result = chars
            .try_reserve(char_count(word))
            .map_err(EncodeError::from);
        if result.is_ok() {
            let mut at = 0;
            while at < word.len() {
                let (code, width) = decode_at(word, at);
                chars.push(code);
                at += width;
            }
            split_pieces(&chars, |piece| {
                if result.is_ok() {
                    result = self.piece_of_word(&chars, piece, scratch, offsets, &mut emit);
                }
            });
        }
        scratch.chars = chars;
        result
    }

    /// The tokens of one piece of a word (`chars`), as `word_tokens`.
    fn piece_of_word(
        &self,
        chars: &[u32],
        piece: PieceSource,
        scratch: &mut Scratch,
        offsets: bool,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let (start, end) = match piece {
            PieceSource::Newline { at } => {
                return self.piece_tokens(&NEWLINE_CODES, scratch, |token, _, _| {
                    emit(token, at, at + 1)
                })
            }
            PieceSource::Text { start, end } => (start, end),
        };
        let mut lowered = std::mem::take(&mut scratch.lowered);
        let mut origin = std::mem::take(&mut scratch.origin);
        lowered.clear();
        origin.clear();
        let result = self
            .lowercaser
            .lower(
                &chars[start..end],
                &mut lowered,
                offsets.then_some(&mut origin),
            )
            .map_err(EncodeError::from)
            .and_then(|()| {
                self.piece_tokens(&lowered, scratch, |token, s, e| {
                    if offsets {
                        emit(token, start + origin[s], start + origin[e - 1] + 1)
                    } else {
                        emit(token, 0, 0)
                    }
                })
            });
        scratch.lowered = lowered;
        scratch.origin = origin;
        result
    }

    /// BPE tokens of one lowercased piece, with their ranges in the piece.
    fn piece_tokens(
        &self,
        piece: &[u32],
        scratch: &mut Scratch,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut ends = std::mem::take(&mut scratch.ends);
        let mut token = std::mem::take(&mut scratch.token);
        let bpe = &mut scratch.bpe;
        let result = self
            .merges
            .split_with(piece, &mut ends, bpe)
            .map_err(EncodeError::from)
            .and_then(|()| {
                let last = ends.len().saturating_sub(1);
                let mut start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    let end = end as usize;
                    token.clear();
                    token.try_reserve(4 * (end - start) + CONTINUATION.len())?;
                    for &code in &piece[start..end] {
                        encode_into(code, &mut token);
                    }
                    if i != last {
                        token.extend_from_slice(CONTINUATION);
                    }
                    let piece_token = PieceToken {
                        text: &token,
                        symbol: bpe.symbols()[i],
                        last: i == last,
                    };
                    emit(&piece_token, start, end)?;
                    start = end;
                }
                Ok(())
            });
        scratch.token = token;
        scratch.ends = ends;
        result
    }

    fn encode_word(
        &self,
        word: &[u8],
        scratch: &mut Scratch,
        cache: &mut LocalCache,
        ids: &mut Vec<u32>,
    ) -> Result<(), EncodeError> {
        if cache.get_into(word, ids) {
            return Ok(());
        }
        let before = ids.len();
        self.word_tokens(word, scratch, false, |token, _, _| {
            push_id(ids, self.piece_token_id(token)?)
        })?;
        cache.insert(word, &ids[before..]);
        Ok(())
    }

    fn encode_plain_into(
        &self,
        text: &[u8],
        scratch: &mut Scratch,
        cache: &mut LocalCache,
        ids: &mut Vec<u32>,
    ) -> Result<(), EncodeError> {
        let mut result = Ok(());
        for_each_word(text, |word| {
            if result.is_ok() {
                result = self.encode_word(&text[word.start..word.end], scratch, cache, ids);
            }
        });
        result
    }

    fn encode_into(
        &self,
        text: &[u8],
        scratch: &mut Scratch,
        ids: &mut Vec<u32>,
    ) -> Result<(), EncodeError> {
        self.cache
            .with(|cache| self.encode_segments(text, scratch, cache, ids))
    }

    fn encode_segments(
        &self,
        text: &[u8],
        scratch: &mut Scratch,
        cache: &mut LocalCache,
        ids: &mut Vec<u32>,
    ) -> Result<(), EncodeError> {
        let mut segments = std::mem::take(&mut scratch.segments);
        let mut result = self
            .added
            .trie
            .split(text, &mut segments)
            .map_err(EncodeError::from);
        for &(start, end) in &segments {
            if result.is_err() {
                break;
            }
            let segment = &text[start..end];
            result = match self.added.ids.get(segment) {
                Some(&id) => push_id(ids, id),
                None if self.added.units.contains(segment) => {
                    self.token_to_id(segment).and_then(|id| push_id(ids, id))
                }
                None => self.encode_plain_into(segment, scratch, cache, ids),
            };
        }
        scratch.segments = segments;
        result
    }

    /// Encode Python text (a `&str`, or UTF-8 with lone surrogates encoded as Python's
    /// `surrogatepass` does).
    pub fn encode(&self, text: &[u8]) -> Result<Vec<u32>, EncodeError> {
        check_text(text)?;
        let mut ids = Vec::new();
        with_scratch(|scratch| self.encode_into(text, scratch, &mut ids))?;
        Ok(ids)
    }

    /// Encode text that holds no added tokens (they are not cut out).
    pub fn encode_plain(&self, text: &[u8]) -> Result<Vec<u32>, EncodeError> {
        check_text(text)?;
        let mut ids = Vec::new();
        with_scratch(|scratch| {
            self.cache
                .with(|cache| self.encode_plain_into(text, scratch, cache, &mut ids))
        })?;
        Ok(ids)
    }

    /// Encode many texts: in parallel on rayon's pool unless `parallel` is false.
    pub fn encode_batch(
        &self,
        texts: &[&[u8]],
        parallel: bool,
    ) -> Result<Vec<Vec<u32>>, EncodeError> {
        let encode_one = |text: &&[u8]| {
            check_text(text)?;
            let mut ids = Vec::new();
            with_scratch(|scratch| self.encode_into(text, scratch, &mut ids)).map(|_| ids)
        };
        if parallel && texts.len() > 1 {
            texts.par_iter().map(encode_one).collect()
        } else {
            texts.iter().map(encode_one).collect()
        }
    }

    /// The tokens (as Python text) of a text that holds no added tokens.
    pub fn tokenize_plain(&self, text: &[u8]) -> Result<Vec<Vec<u8>>, EncodeError> {
        check_text(text)?;
        let mut tokens = Vec::new();
        let mut result = Ok(());
        with_scratch(|scratch| {
            for_each_word(text, |word| {
                if result.is_err() {
                    return;
                }
                let word = &text[word.start..word.end];
                result = self.word_tokens(word, scratch, false, |token, _, _| {
                    let mut owned = Vec::new();
                    owned.try_reserve_exact(token.text.len())?;
                    owned.extend_from_slice(token.text);
                    tokens.try_reserve(1)?;
                    tokens.push(owned);
                    Ok(())
                });
            })
        });
        result.map(|()| tokens)
    }

    /// Encode with each token's character span and word index.
    /// With `cut_added` false, added tokens are not cut out (as `encode_plain`).
    pub fn encode_with_offsets(
        &self,
        text: &[u8],
        cut_added: bool,
    ) -> Result<Vec<TokenSpan>, EncodeError> {
        check_text(text)?;
        let mut spans = Vec::new();
        let mut scratch = Scratch::default();
        let mut segments = Vec::new();
        if cut_added {
            self.added.trie.split(text, &mut segments)?;
        } else if !text.is_empty() {
            segments.push((0, text.len()));
        }
        let mut char_at = 0;
        let mut byte_at = 0;
        let mut words = 0;
        for (start, end) in segments {
            // Advance the character position to the segment's start.
            while byte_at < start {
                byte_at += decode_at(text, byte_at).1;
                char_at += 1;
            }
            let segment = &text[start..end];
            let segment_chars = {
                let (mut n, mut at) = (0, 0);
                while at < segment.len() {
                    at += decode_at(segment, at).1;
                    n += 1;
                }
                n
            };
            let whole = match self.added.ids.get(segment) {
                _ if !cut_added => None,
                Some(&id) => Some(id),
                None if self.added.units.contains(segment) => Some(self.token_to_id(segment)?),
                None => None,
            };
            if let Some(id) = whole {
                spans.try_reserve(1)?;
                spans.push(TokenSpan {
                    id,
                    start: char_at,
                    end: char_at + segment_chars,
                    word: None,
                });
            } else {
                let mut result = Ok(());
                for_each_word(segment, |word| {
                    if result.is_err() {
                        return;
                    }
                    let base = char_at + word.char_start;
                    result = self.word_tokens(
                        &segment[word.start..word.end],
                        &mut scratch,
                        true,
                        |token, s, e| {
                            let id = self.piece_token_id(token)?;
                            spans.try_reserve(1)?;
                            spans.push(TokenSpan {
                                id,
                                start: base + s,
                                end: base + e,
                                word: Some(words),
                            });
                            // A word, as Hugging Face fast tokenizers count them, is one unit
                            // of the pre-tokenizer's output: here a piece, the text BPE runs on.
                            if token.last {
                                words += 1;
                            }
                            Ok(())
                        },
                    );
                });
                result?;
            }
            byte_at = end;
            char_at += segment_chars;
        }
        Ok(spans)
    }

    /// Id -> token (Python text): added tokens first, then the vocabulary, else the unknown
    /// token (empty when there is none).
    pub fn id_to_token(&self, id: i64) -> &[u8] {
        let id = u32::try_from(id).ok();
        if let Some(token) = id.and_then(|id| self.added.tokens.get(&id)) {
            return token;
        }
        if let Some(token) = id.and_then(|id| self.vocab.token(id)) {
            return token.as_bytes();
        }
        self.unknown_token.as_deref().unwrap_or(b"")
    }

    /// The reference's decode: ids -> tokens (skipping `skip`), joined with spaces, `"@@ "`
    /// removed, Python white space stripped. Fails only when memory runs out.
    pub fn decode(&self, ids: &[i64], skip: &FxHashSet<i64>) -> Result<Vec<u8>, TryReserveError> {
        let mut text: Vec<u8> = Vec::new();
        let mut first = true;
        for &id in ids {
            if skip.contains(&id) {
                continue;
            }
            let token = self.id_to_token(id);
            text.try_reserve(token.len() + 1)?;
            if !first {
                text.push(b' ');
            }
            first = false;
            text.extend_from_slice(token);
        }
        // Remove each "@@ ", left to right, in place.
        let (mut read, mut write) = (0, 0);
        while read < text.len() {
            if text[read..].starts_with(b"@@ ") {
                read += 3;
            } else {
                text[write] = text[read];
                write += 1;
                read += 1;
            }
        }
        text.truncate(write);
        let (start, end) = strip_python_space(&text);
        text.truncate(end);
        text.drain(..start);
        Ok(text)
    }
}

/// Push one id, failing instead of aborting when memory runs out.
#[inline]
fn push_id(ids: &mut Vec<u32>, id: u32) -> Result<(), EncodeError> {
    ids.try_reserve(1)?;
    ids.push(id);
    Ok(())
}

/// `str.strip()` on Python text: the byte range that is kept.
fn strip_python_space(text: &[u8]) -> (usize, usize) {
    let mut start = 0;
    while start < text.len() {
        let (code, width) = decode_at(text, start);
        if !is_python_space(code) {
            break;
        }
        start += width;
    }
    let mut end = text.len();
    while end > start {
        // Step back to the start of the last character.
        let mut at = end - 1;
        while at > start && text[at] & 0xC0 == 0x80 {
            at -= 1;
        }
        if !is_python_space(decode_at(text, at).0) {
            break;
        }
        end = at;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
        Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt"))
            .unwrap()
            .0
    }

    fn tokens(tokenizer: &Tokenizer, text: &str) -> Vec<String> {
        tokenizer
            .tokenize_plain(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|t| String::from_utf8(t).unwrap())
            .collect()
    }

    #[test]
    fn tiny_fixture_encodes_like_transformers_tests() {
        let tokenizer = tiny();
        assert_eq!(
            tokens(&tokenizer, "adapt act apte"),
            vec!["adapt", "act", "ap@@", "te"]
        );
        assert_eq!(
            tokenizer.encode(b"adapt act apte").unwrap(),
            vec![1, 2, 3, 4]
        );
        // __null__ is appended after the 7-token vocabulary.
        assert_eq!(tokenizer.encode(b"x__null__y").unwrap(), vec![6, 7, 6]);
    }

    #[test]
    fn decode_joins_continuations_and_strips() {
        let tokenizer = tiny();
        let skip: FxHashSet<i64> = [0, 5, 6, 7].into_iter().collect();
        assert_eq!(
            tokenizer
                .decode(&[0, 1, 3, 4, 99, 5], &FxHashSet::default())
                .unwrap(),
            b"__start__ adapt apte __unk__ __end__"
        );
        assert_eq!(
            tokenizer.decode(&[0, 1, 3, 4, 99, 5], &skip).unwrap(),
            b"adapt apte __unk__"
        );
    }

    #[test]
    fn offsets_point_into_the_text() {
        let tokenizer = tiny();
        // "İ" lowercases to two code points, split into two tokens that both point at it.
        let text = "İ apte __null__";
        let spans = tokenizer
            .encode_with_offsets(text.as_bytes(), true)
            .unwrap();
        let ranges: Vec<(usize, usize, Option<usize>)> =
            spans.iter().map(|s| (s.start, s.end, s.word)).collect();
        assert_eq!(
            ranges,
            vec![
                (0, 1, Some(0)),
                (0, 1, Some(0)),
                (2, 4, Some(1)),
                (4, 6, Some(1)),
                (7, 15, None)
            ]
        );
    }

    #[test]
    fn batch_equals_one_by_one() {
        let tokenizer = tiny();
        let texts: Vec<&[u8]> = vec![b"adapt act", b"apte __end__ x", b"", b"act\nact"];
        let one_by_one: Vec<Vec<u32>> =
            texts.iter().map(|t| tokenizer.encode(t).unwrap()).collect();
        assert_eq!(tokenizer.encode_batch(&texts, true).unwrap(), one_by_one);
        assert_eq!(tokenizer.encode_batch(&texts, false).unwrap(), one_by_one);
    }

    /// Bytes from a seeded generator, biased towards what trips decoders: lead bytes without
    /// their continuations, lone continuations, 0xFF, surrogates, spaces and punctuation.
    fn hostile_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        const PARTS: [&[u8]; 14] = [
            b"a",
            b"A",
            b" ",
            b"\n",
            b"'",
            b".",
            b"\xc3",
            b"\xa9",
            b"\xe2\x82",
            b"\xf0\x9f\x98",
            b"\xff",
            b"\xed\xa0\x80",
            "\u{130}".as_bytes(),
            "\u{3a3}".as_bytes(),
        ];
        let mut bytes = Vec::new();
        while bytes.len() < len {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            bytes.extend_from_slice(PARTS[(*seed >> 33) as usize % PARTS.len()]);
        }
        bytes
    }

    #[test]
    fn bytes_that_are_not_text_are_refused_not_a_panic() {
        let mut tokenizer = tiny();
        tokenizer.set_added_tokens(
            AddedTokenTable::from_pairs(vec![
                (b"ap".to_vec(), 8),
                ("\u{e9}".as_bytes().to_vec(), 9),
            ]),
            vec![b"act".to_vec()],
        );
        assert_eq!(tokenizer.encode(b"ab\xff"), Err(EncodeError::NotText(2)));
        let mut seed = 3u64;
        for round in 0..2_000 {
            let bytes = hostile_bytes(&mut seed, round % 40);
            let expected = match validate_python_text(&bytes) {
                Ok(()) => None,
                Err(at) => Some(EncodeError::NotText(at)),
            };
            let refused = |result: Result<(), EncodeError>| match (&expected, result) {
                (Some(expected), Err(error)) => assert_eq!(&error, expected, "{bytes:?}"),
                (Some(_), Ok(())) => panic!("{bytes:?} is not text, yet encoded"),
                (None, _) => {}
            };
            refused(tokenizer.encode(&bytes).map(drop));
            refused(tokenizer.encode_plain(&bytes).map(drop));
            refused(tokenizer.encode_with_offsets(&bytes, true).map(drop));
            refused(tokenizer.encode_with_offsets(&bytes, false).map(drop));
            refused(tokenizer.tokenize_plain(&bytes).map(drop));
            refused(tokenizer.token_to_id(&bytes).map(drop));
            for parallel in [false, true] {
                let texts: [&[u8]; 2] = [b"adapt", &bytes];
                refused(tokenizer.encode_batch(&texts, parallel).map(drop));
            }
        }
    }

    #[test]
    fn added_tokens_that_are_not_text_do_not_panic() {
        let mut tokenizer = tiny();
        let broken: [&[u8]; 4] = [b"\xe2\x82", b"\xf0", b"  \xc3", b"\xa9 @@"];
        let pairs = broken
            .iter()
            .zip(20..)
            .map(|(t, id)| (t.to_vec(), id))
            .collect();
        tokenizer.set_added_tokens(AddedTokenTable::from_pairs(pairs), vec![b"\xff".to_vec()]);
        tokenizer.set_unknown(Some(b"\xe2".to_vec()), None);
        for ids in [
            vec![20, 21, 22, 23],
            vec![23, 22, 21, 20, 999],
            vec![-1, 21],
        ] {
            tokenizer.decode(&ids, &FxHashSet::default()).unwrap();
        }
        let mut seed = 9u64;
        for round in 0..500 {
            let bytes = hostile_bytes(&mut seed, round % 30);
            if validate_python_text(&bytes).is_ok() {
                let _ = tokenizer.encode(&bytes);
                let _ = tokenizer.encode_with_offsets(&bytes, true);
            }
        }
    }

    #[test]
    fn long_words_take_the_heap_and_agree_with_the_scan_piece_by_piece() {
        // Words of thousands of characters, cut into pieces by punctuation and newlines, encode
        // as the same text with every piece its own word.
        let tokenizer = tiny();
        let mut seed = 5u64;
        for _ in 0..20 {
            let mut word = String::new();
            let mut spaced = String::new();
            for _ in 0..40 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let piece = ["ap", "ad", "act", "te", "x"][(seed >> 33) as usize % 5]
                    .repeat(1 + (seed >> 40) as usize % 60);
                let mark = [".", ",", "'", "!"][(seed >> 50) as usize % 4];
                word.push_str(&piece);
                word.push_str(mark);
                spaced.push_str(&format!("{piece} {mark} "));
            }
            let mut ids = tokenizer.encode(word.as_bytes()).unwrap();
            let apostrophes = tokenizer.encode(b"'").unwrap();
            // A piece before "'" ends there, as it ends before a space.
            ids.retain(|id| !apostrophes.contains(id));
            let mut expected = tokenizer.encode(spaced.as_bytes()).unwrap();
            expected.retain(|id| !apostrophes.contains(id));
            assert_eq!(ids, expected, "{word}");
        }
    }

    #[test]
    fn a_million_character_word_merges_like_a_short_one() {
        // Long pieces take the heap path; it must agree with the scan on the same pattern.
        let tokenizer = tiny();
        let long = "ap".repeat(500_000);
        let ids = tokenizer.encode(long.as_bytes()).unwrap();
        let short = tokenizer.encode(b"apap").unwrap(); // "ap@@", "a@@", "p"
        assert_eq!(ids.len(), 500_001);
        assert!(ids[..499_999].iter().all(|&id| id == short[0]));
        assert_eq!(&ids[499_999..], &short[1..]);
    }
}
