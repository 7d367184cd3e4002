//! The pipeline: added tokens cut out ([`crate::added`]), words ([`crate::words`]), pieces
//! ([`crate::pieces`]), lowercasing ([`crate::lowercase`]), BPE ([`crate::bpe`]), ids
//! ([`crate::ids`]); single texts, batches and offsets. Decoding is in [`crate::decode`].
//!
//! Every entry point takes `&str` or [`PythonText`]: text checked once where it was made, so
//! no stage checks it again and none can be handed bytes that are not text.

use crate::added::{AddedTokenTable, AddedTokens};
use crate::bpe::{BpeScratch, MergeRanks, SplitError, CONTINUATION};
use crate::cache::{CacheTooLarge, PinnedCache, WordCache};
use crate::files::{LoadError, LoadWarning};
use crate::ids::{PieceToken, SymbolIds};
use crate::lowercase::Lowercaser;
use crate::merges::read_merges;
use crate::pieces::{split_pieces, PieceSource, NEWLINE_CODES};
use crate::text::{char_count, decode_at, encode_into, PythonString, PythonText};
use crate::vocab::Vocab;
use crate::words::for_each_word;
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::TryReserveError;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub use crate::cache::{DEFAULT_CACHE_WORDS, MAX_CACHE_WORDS};

/// Why a text could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A token is unknown and the tokenizer has no unknown token to map it to.
    NoUnknownToken,
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

/// One token of an encoding with offsets: its id, its character span in the text, and the
/// index of the word it comes from (`None` for added and special tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSpan {
    pub id: u32,
    pub start: usize,
    pub end: usize,
    pub word: Option<usize>,
}

/// The BlenderBot-small tokenizer. Cloning is cheap (the vocabulary, merges and tables are
/// shared), which lets a binding swap in a changed copy instead of locking readers out.
///
/// It knows no special tokens of its own: whoever builds it sets the added tokens and the
/// unknown token (the Python layer from the family's description).
#[derive(Clone)]
pub struct Tokenizer {
    pub(crate) vocab: Arc<Vocab>,
    pub(crate) merges: Arc<MergeRanks>,
    pub(crate) lowercaser: Arc<Lowercaser>,
    pub(crate) added: AddedTokens,
    pub(crate) unknown_id: Option<u32>,
    pub(crate) unknown_token: Option<Box<[u8]>>,
    cache: WordCache,
    /// Symbol ids from the vocabulary (made on first use, shared by clones), and with the
    /// added tokens over them (made again when they change).
    pub(crate) vocab_symbol_ids: Arc<OnceLock<SymbolIds>>,
    pub(crate) symbol_ids: Arc<OnceLock<SymbolIds>>,
}

/// Texts of a batch encoded on one pin of the word cache, on the calling thread.
const PIN_TEXTS: usize = 256;

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

    /// Read `vocab.json` and `merges.txt` (named by their paths in messages), with no added
    /// tokens and no unknown token; what the files hold that the reference passes over in
    /// silence is pushed to `warnings`.
    pub fn from_files(
        vocab_path: &Path,
        merges_path: &Path,
        warnings: &mut Vec<LoadWarning>,
    ) -> Result<Self, LoadError> {
        let vocab_name = vocab_path.display().to_string();
        let merges_name = merges_path.display().to_string();
        let vocab = Vocab::from_file(vocab_path, &vocab_name, warnings)?;
        let merges = read_merges(merges_path, &merges_name, warnings)?;
        Ok(Tokenizer::new(vocab, merges))
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
    pub fn set_added_tokens(&mut self, added: AddedTokenTable, units: Vec<PythonString>) {
        self.added = AddedTokens::new(added, units);
        self.symbol_ids = Arc::default();
        self.cache.clear();
    }

    /// Set the unknown token and its id.
    pub fn set_unknown(&mut self, token: Option<PythonString>, id: Option<u32>) {
        self.unknown_token = token.map(PythonString::into_bytes);
        self.unknown_id = id;
        self.cache.clear();
    }

    /// Bound the word cache to `words` entries, all threads together (0 disables it; at most
    /// `cache::MAX_CACHE_WORDS`). The cache starts empty.
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
                        token.extend_from_slice(CONTINUATION.as_bytes());
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
        cache: &mut PinnedCache<'_>,
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
        cache: &mut PinnedCache<'_>,
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
        self.encode_segments(text, scratch, &mut self.cache.pin(), ids)
    }

    fn encode_segments(
        &self,
        text: &[u8],
        scratch: &mut Scratch,
        cache: &mut PinnedCache<'_>,
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
                    self.any_token_id(segment).and_then(|id| push_id(ids, id))
                }
                None => self.encode_plain_into(segment, scratch, cache, ids),
            };
        }
        scratch.segments = segments;
        result
    }

    /// Encode a text (a `&str`, or [`PythonText`] that may hold lone surrogates), added tokens
    /// cut out first.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let mut warnings = Vec::new();
    /// # let tokenizer = bbtok::Tokenizer::from_files(
    /// #     &dir.join("vocab.json"), &dir.join("merges.txt"), &mut warnings).unwrap();
    /// assert_eq!(tokenizer.encode("adapt act apte").unwrap(), vec![1, 2, 3, 4]);
    /// ```
    pub fn encode<'a>(&self, text: impl Into<PythonText<'a>>) -> Result<Vec<u32>, EncodeError> {
        let text = text.into().as_bytes();
        let mut ids = Vec::new();
        with_scratch(|scratch| self.encode_into(text, scratch, &mut ids))?;
        Ok(ids)
    }

    /// Encode text that holds no added tokens (they are not cut out).
    pub fn encode_plain<'a>(
        &self,
        text: impl Into<PythonText<'a>>,
    ) -> Result<Vec<u32>, EncodeError> {
        let text = text.into().as_bytes();
        let mut ids = Vec::new();
        with_scratch(|scratch| {
            self.encode_plain_into(text, scratch, &mut self.cache.pin(), &mut ids)
        })?;
        Ok(ids)
    }

    /// Encode many texts: in parallel on rayon's pool unless `parallel` is false.
    pub fn encode_batch<'a, T>(
        &self,
        texts: &[T],
        parallel: bool,
    ) -> Result<Vec<Vec<u32>>, EncodeError>
    where
        T: Into<PythonText<'a>> + Copy + Sync,
    {
        let encode_one = |cache: &mut PinnedCache<'_>, text: &T| {
            let text = (*text).into().as_bytes();
            let mut ids = Vec::new();
            with_scratch(|scratch| self.encode_segments(text, scratch, cache, &mut ids))
                .map(|()| ids)
        };
        // The cache is pinned once per rayon job, not per text (pinning takes a lock); on this
        // thread again every `PIN_TEXTS` texts, so that a long batch lets go of the tables
        // other threads turned over. A pin whose young table fills turns over by itself.
        if parallel && texts.len() > 1 {
            texts
                .par_iter()
                .map_init(|| self.cache.pin(), encode_one)
                .collect()
        } else {
            let mut cache = self.cache.pin();
            texts
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    if i % PIN_TEXTS == PIN_TEXTS - 1 {
                        cache = self.cache.pin();
                    }
                    encode_one(&mut cache, text)
                })
                .collect()
        }
    }

    /// The tokens (as Python text) of a text that holds no added tokens.
    pub fn tokenize_plain<'a>(
        &self,
        text: impl Into<PythonText<'a>>,
    ) -> Result<Vec<Vec<u8>>, EncodeError> {
        let text = text.into().as_bytes();
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
    pub fn encode_with_offsets<'a>(
        &self,
        text: impl Into<PythonText<'a>>,
        cut_added: bool,
    ) -> Result<Vec<TokenSpan>, EncodeError> {
        let text = text.into().as_bytes();
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
                None if self.added.units.contains(segment) => Some(self.any_token_id(segment)?),
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
}

/// Push one id, failing instead of aborting when memory runs out.
#[inline]
fn push_id(ids: &mut Vec<u32>, id: u32) -> Result<(), EncodeError> {
    ids.try_reserve(1)?;
    ids.push(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::NotText;
    use rustc_hash::FxHashSet;

    /// The tiny fixture with BlenderBot-small's special tokens, set as the Python layer sets
    /// them: each added at its vocabulary id, or appended after the vocabulary.
    fn tiny() -> Tokenizer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
        let mut warnings = Vec::new();
        let mut tokenizer = Tokenizer::from_files(
            &dir.join("vocab.json"),
            &dir.join("merges.txt"),
            &mut warnings,
        )
        .unwrap();
        assert!(warnings.is_empty());
        let mut next_id = tokenizer.vocab().len() as u32;
        let specials: Vec<(PythonString, u32)> = ["__start__", "__end__", "__unk__", "__null__"]
            .into_iter()
            .map(|special| {
                let id = tokenizer.vocab().id(special.as_bytes()).unwrap_or_else(|| {
                    next_id += 1;
                    next_id - 1
                });
                (special.into(), id)
            })
            .collect();
        let unknown_id = specials[2].1;
        tokenizer.set_added_tokens(AddedTokenTable::from_pairs(specials), Vec::new());
        tokenizer.set_unknown(Some("__unk__".into()), Some(unknown_id));
        tokenizer
    }

    fn tokens(tokenizer: &Tokenizer, text: &str) -> Vec<String> {
        tokenizer
            .tokenize_plain(text)
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
            tokenizer.encode("adapt act apte").unwrap(),
            vec![1, 2, 3, 4]
        );
        // __null__ is appended after the 7-token vocabulary.
        assert_eq!(tokenizer.encode("x__null__y").unwrap(), vec![6, 7, 6]);
    }

    #[test]
    fn the_core_adds_no_special_tokens_of_its_own() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
        let tokenizer = Tokenizer::from_files(
            &dir.join("vocab.json"),
            &dir.join("merges.txt"),
            &mut Vec::new(),
        )
        .unwrap();
        // "__unk__" is not cut out as a token, and no unknown id stands in for "_".
        assert_eq!(
            tokenizer.encode("__unk__"),
            Err(EncodeError::NoUnknownToken)
        );
        assert_eq!(tokenizer.encode("adapt").unwrap(), vec![1]);
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
        let spans = tokenizer
            .encode_with_offsets("İ apte __null__", true)
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
        let texts = ["adapt act", "apte __end__ x", "", "act\nact"];
        let one_by_one: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| tokenizer.encode(*t).unwrap())
            .collect();
        assert_eq!(tokenizer.encode_batch(&texts, true).unwrap(), one_by_one);
        assert_eq!(tokenizer.encode_batch(&texts, false).unwrap(), one_by_one);
    }

    #[test]
    fn text_with_lone_surrogates_encodes_like_any_other() {
        let tokenizer = tiny();
        // "a\ud800 act", as Python's surrogatepass writes it.
        let text = PythonText::new(b"a\xed\xa0\x80 act").unwrap();
        assert_eq!(tokenizer.encode(text).unwrap(), vec![6, 6, 2]);
        let spans = tokenizer.encode_with_offsets(text, true).unwrap();
        assert_eq!((spans[1].start, spans[1].end), (1, 2));
        assert_eq!(
            tokenizer.encode_batch(&[text, text], true).unwrap().len(),
            2
        );
    }

    /// Bytes from a seeded generator, biased towards what trips decoders: lead bytes without
    /// their continuations, lone continuations, 0xFF, surrogates, spaces and punctuation.
    fn hostile_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        const PARTS: [&[u8]; 16] = [
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
            b"ap",
            "\u{e9}".as_bytes(),
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

    /// The first byte that is not Python text, found the slow way: code point by code point.
    fn first_bad_byte(bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < bytes.len() {
            let width = match bytes[at] {
                0x00..=0x7F => 1,
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF4 => 4,
                _ => return Some(at),
            };
            let Some(sequence) = bytes.get(at..at + width) else {
                return Some(at);
            };
            if sequence[1..].iter().any(|b| b & 0xC0 != 0x80) {
                return Some(at);
            }
            let (code, _) = decode_at(bytes, at);
            let shortest = [0, 0, 0x80, 0x800, 0x10000][width];
            if code < shortest || code > 0x10FFFF {
                return Some(at);
            }
            at += width;
        }
        None
    }

    #[test]
    fn no_input_makes_the_public_api_panic() {
        // Bytes are refused where they are made into text, at the first bad byte; whatever
        // text they make runs through every entry point without a panic.
        let mut tokenizer = tiny();
        let odd_tokens: [&[u8]; 4] = [b"ap", "\u{e9}".as_bytes(), b"\xed\xa0\x80", b" @@"];
        let pairs = odd_tokens
            .iter()
            .zip(8..)
            .map(|(t, id)| (PythonString::new(t.to_vec()).unwrap(), id))
            .collect();
        tokenizer.set_added_tokens(
            AddedTokenTable::from_pairs(pairs),
            vec![
                "act".into(),
                PythonString::new(b"\xed\xb0\x80".to_vec()).unwrap(),
            ],
        );
        let strict = {
            let mut strict = tokenizer.clone();
            strict.set_unknown(None, None);
            strict
        };
        let mut seed = 3u64;
        for round in 0..3_000 {
            let bytes = hostile_bytes(&mut seed, round % 40);
            let text = match PythonText::new(&bytes) {
                Err(NotText { offset }) => {
                    assert_eq!(Some(offset), first_bad_byte(&bytes), "{bytes:?}");
                    continue;
                }
                Ok(text) => text,
            };
            assert_eq!(first_bad_byte(&bytes), None, "{bytes:?}");
            for tokenizer in [&tokenizer, &strict] {
                let ids = tokenizer.encode(text);
                let spans = tokenizer.encode_with_offsets(text, true);
                assert_eq!(ids, spans.map(|s| s.iter().map(|s| s.id).collect()));
                let _ = tokenizer.encode_plain(text);
                let _ = tokenizer.encode_with_offsets(text, false);
                let _ = tokenizer.tokenize_plain(text);
                let _ = tokenizer.token_to_id(text);
                for parallel in [false, true] {
                    let texts = [PythonText::from("adapt"), text];
                    let _ = tokenizer.encode_batch(&texts, parallel);
                }
                if let Ok(ids) = ids {
                    let ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
                    let decoded = tokenizer.decode(&ids, &FxHashSet::default()).unwrap();
                    assert!(PythonText::new(&decoded).is_ok(), "{decoded:?}");
                }
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                assert_eq!(
                    tokenizer.encode(text),
                    tokenizer.encode(PythonText::new(&bytes).unwrap())
                );
            }
        }
        for ids in [vec![8, 9, 10, 11], vec![11, 10, 9, 8, 999], vec![-1, 9]] {
            tokenizer.decode(&ids, &FxHashSet::default()).unwrap();
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
            let mut ids = tokenizer.encode(word.as_str()).unwrap();
            let apostrophes = tokenizer.encode("'").unwrap();
            // A piece before "'" ends there, as it ends before a space.
            ids.retain(|id| !apostrophes.contains(id));
            let mut expected = tokenizer.encode(spaced.as_str()).unwrap();
            expected.retain(|id| !apostrophes.contains(id));
            assert_eq!(ids, expected, "{word}");
        }
    }

    #[test]
    fn a_million_character_word_merges_like_a_short_one() {
        // Long pieces take the heap path; it must agree with the scan on the same pattern.
        let tokenizer = tiny();
        let long = "ap".repeat(500_000);
        let ids = tokenizer.encode(long.as_str()).unwrap();
        let short = tokenizer.encode("apap").unwrap(); // "ap@@", "a@@", "p"
        assert_eq!(ids.len(), 500_001);
        assert!(ids[..499_999].iter().all(|&id| id == short[0]));
        assert_eq!(&ids[499_999..], &short[1..]);
    }
}
