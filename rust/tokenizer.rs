//! The tokenizer: added tokens, encode (single and batch), decode.

use crate::added::AddedTokenTrie;
use crate::bpe::{BpeScratch, MergeRanks, Symbol, END_OF_WORD, NO_SYMBOL};
use crate::cache::{LocalCache, WordCache};
use crate::vocab::{self, LoadError, Vocab, Warnings};
use crate::words::{
    decode_at, encode_into, for_each_word, is_python_space, split_pieces, Lowercaser, PieceSource,
    NEWLINE_MARKER,
};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The default bound of the word cache (words; the bytes are bounded too, see `cache`): at most
/// about 18 MB a thread, typically 7 MB when full. A few MB of varied text hold well over
/// 100,000 distinct words; a smaller cache would forget words it meets again a little later.
pub const DEFAULT_CACHE_WORDS: usize = 1 << 18;
const CONTINUATION: &[u8] = b"@@";

/// Why a text could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A token is unknown and the tokenizer has no unknown token to map it to.
    NoUnknownToken,
    /// The input is not Python text (byte offset of the first bad byte).
    NotText(usize),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::NoUnknownToken => {
                f.write_str("this tokenizer has no unk_token to map unknown tokens to")
            }
            EncodeError::NotText(at) => write!(f, "invalid UTF-8 at byte offset {at}"),
        }
    }
}

impl std::error::Error for EncodeError {}

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
    ends: Vec<usize>,
    bytes: Vec<u8>,
    byte_ends: Vec<usize>,
    token: Vec<u8>,
    segments: Vec<(usize, usize)>,
    pieces: Vec<PieceSource>,
    bpe: BpeScratch,
}

impl Scratch {
    /// Buffers longer than this are let go after use instead of kept for the next text.
    const KEPT_CHARS: usize = 1 << 16;
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
            if scratch.chars.capacity() > Scratch::KEPT_CHARS {
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
            cache: WordCache::new(DEFAULT_CACHE_WORDS),
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

    /// Bound the word cache to `words` entries (0 disables it).
    pub fn set_cache_capacity(&mut self, words: usize) {
        self.cache = WordCache::new(words);
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
        if let Some(&id) = self.added.ids.get(token) {
            return Ok(id);
        }
        let mut chars = Vec::new();
        let mut at = 0;
        while at < token.len() {
            let (code, width) = decode_at(token, at);
            chars.push(code);
            at += width;
        }
        let (mut lowered, mut origin, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
        self.lowercaser.lower(&chars, &mut lowered, &mut origin);
        for code in lowered {
            encode_into(code, &mut bytes);
        }
        self.vocab
            .id(&bytes)
            .or(self.unknown_id)
            .ok_or(EncodeError::NoUnknownToken)
    }

    /// The tokens (with their character ranges in `word`) of one word, fed to `emit`.
    fn word_tokens(
        &self,
        word: &[u8],
        scratch: &mut Scratch,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        scratch.chars.clear();
        let mut at = 0;
        while at < word.len() {
            let (code, width) = decode_at(word, at);
            scratch.chars.push(code);
            at += width;
        }
        let mut pieces = std::mem::take(&mut scratch.pieces);
        pieces.clear();
        split_pieces(&scratch.chars, |piece| pieces.push(piece));
        let mut result = Ok(());
        for &piece in &pieces {
            result = match piece {
                PieceSource::Newline { at } => {
                    self.piece_tokens(&NEWLINE_CODES, scratch, |token, _, _| {
                        emit(token, at, at + 1)
                    })
                }
                PieceSource::Text { start, end } => {
                    let mut lowered = std::mem::take(&mut scratch.lowered);
                    let mut origin = std::mem::take(&mut scratch.origin);
                    lowered.clear();
                    origin.clear();
                    self.lowercaser
                        .lower(&scratch.chars[start..end], &mut lowered, &mut origin);
                    let result = self.piece_tokens(&lowered, scratch, |token, s, e| {
                        emit(token, start + origin[s], start + origin[e - 1] + 1)
                    });
                    scratch.lowered = lowered;
                    scratch.origin = origin;
                    result
                }
            };
            if result.is_err() {
                break;
            }
        }
        scratch.pieces = pieces;
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
        self.merges.split_with(piece, &mut ends, &mut scratch.bpe);
        scratch.bytes.clear();
        scratch.byte_ends.clear();
        for &code in piece {
            encode_into(code, &mut scratch.bytes);
            scratch.byte_ends.push(scratch.bytes.len());
        }
        let mut token = std::mem::take(&mut scratch.token);
        let mut start = 0;
        let last = ends.len().saturating_sub(1);
        let mut result = Ok(());
        for (i, &end) in ends.iter().enumerate() {
            let byte_start = if start == 0 {
                0
            } else {
                scratch.byte_ends[start - 1]
            };
            token.clear();
            token.extend_from_slice(&scratch.bytes[byte_start..scratch.byte_ends[end - 1]]);
            if i != last {
                token.extend_from_slice(CONTINUATION);
            }
            let piece_token = PieceToken {
                text: &token,
                symbol: scratch.bpe.symbols()[i],
                last: i == last,
            };
            result = emit(&piece_token, start, end);
            if result.is_err() {
                break;
            }
            start = end;
        }
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
        self.word_tokens(word, scratch, |token, _, _| {
            ids.push(self.piece_token_id(token)?);
            Ok(())
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
        self.added.trie.split(text, &mut segments);
        let mut result = Ok(());
        for &(start, end) in &segments {
            let segment = &text[start..end];
            result = match self.added.ids.get(segment) {
                Some(&id) => {
                    ids.push(id);
                    Ok(())
                }
                None if self.added.units.contains(segment) => {
                    self.token_to_id(segment).map(|id| ids.push(id))
                }
                None => self.encode_plain_into(segment, scratch, cache, ids),
            };
            if result.is_err() {
                break;
            }
        }
        scratch.segments = segments;
        result
    }

    /// Encode Python text (a `&str`, or UTF-8 with lone surrogates encoded as Python's
    /// `surrogatepass` does).
    pub fn encode(&self, text: &[u8]) -> Result<Vec<u32>, EncodeError> {
        let mut ids = Vec::new();
        with_scratch(|scratch| self.encode_into(text, scratch, &mut ids))?;
        Ok(ids)
    }

    /// Encode text that holds no added tokens (they are not cut out).
    pub fn encode_plain(&self, text: &[u8]) -> Result<Vec<u32>, EncodeError> {
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
    pub fn tokenize_plain(&self, text: &[u8]) -> Vec<Vec<u8>> {
        let mut tokens = Vec::new();
        let mut scratch = Scratch::default();
        for_each_word(text, |word| {
            let _ = self.word_tokens(&text[word.start..word.end], &mut scratch, |token, _, _| {
                tokens.push(token.text.to_vec());
                Ok(())
            });
        });
        tokens
    }

    /// Encode with each token's character span and word index.
    /// With `cut_added` false, added tokens are not cut out (as `encode_plain`).
    pub fn encode_with_offsets(
        &self,
        text: &[u8],
        cut_added: bool,
    ) -> Result<Vec<TokenSpan>, EncodeError> {
        let mut spans = Vec::new();
        let mut scratch = Scratch::default();
        let mut segments = Vec::new();
        if cut_added {
            self.added.trie.split(text, &mut segments);
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
                        |token, s, e| {
                            spans.push(TokenSpan {
                                id: self.piece_token_id(token)?,
                                start: base + s,
                                end: base + e,
                                word: Some(words),
                            });
                            Ok(())
                        },
                    );
                    words += 1;
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
    /// removed, Python white space stripped.
    pub fn decode(&self, ids: &[i64], skip: &FxHashSet<i64>) -> Vec<u8> {
        let mut joined: Vec<u8> = Vec::new();
        let mut first = true;
        for &id in ids {
            if skip.contains(&id) {
                continue;
            }
            if !first {
                joined.push(b' ');
            }
            first = false;
            joined.extend_from_slice(self.id_to_token(id));
        }
        let mut out = Vec::with_capacity(joined.len());
        let mut i = 0;
        while i < joined.len() {
            if joined[i..].starts_with(b"@@ ") {
                i += 3;
            } else {
                out.push(joined[i]);
                i += 1;
            }
        }
        strip_python_space(&out).to_vec()
    }
}

/// `str.strip()` on Python text.
fn strip_python_space(text: &[u8]) -> &[u8] {
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
    &text[start..end]
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
            tokenizer.decode(&[0, 1, 3, 4, 99, 5], &FxHashSet::default()),
            b"__start__ adapt apte __unk__ __end__"
        );
        assert_eq!(
            tokenizer.decode(&[0, 1, 3, 4, 99, 5], &skip),
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
