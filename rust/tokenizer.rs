//! The pipeline: added tokens cut out ([`crate::added`]), words ([`crate::words`]), pieces
//! ([`crate::pieces`]), lowercasing ([`crate::lowercase`]), BPE ([`crate::bpe`]); single texts,
//! batches and offsets. The tokenizer owns the values of its stages: the merges, the
//! lowercasing tables, the ids of tokens ([`TokenIds`]) and the word cache. Decoding joins the
//! ids' tokens ([`crate::decode`]).
//!
//! Every entry point takes `&str` or [`PythonText`]: text checked once where it was made, so
//! no stage checks it again and none can be handed bytes that are not text.

use crate::added::AddedTokenTable;
use crate::bpe::{BpeScratch, MergeRanks, CONTINUATION};
use crate::cache::{CacheTooLarge, PinnedCache, WordCache};
use crate::decode::join_tokens;
use crate::error::EncodeError;
use crate::files::{LoadError, LoadWarning};
use crate::ids::{PieceToken, TokenIds};
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
use std::sync::Arc;

/// One token of an encoding with offsets: its id, its character span in the text, and the
/// index of the word it comes from (`None` for added and special tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSpan {
    pub id: u32,
    pub start: usize,
    pub end: usize,
    pub word: Option<usize>,
}

/// The special tokens by role. Each is added (cut out of text as one token) at its vocabulary
/// id, or when the vocabulary lacks it, at the next id after the vocabulary, in the order bos,
/// eos, unk, pad, as transformers' `BlenderbotSmallTokenizer` appends them; `unk_token` is
/// also what unknown tokens map to. `None` or an empty token is no token.
///
/// ```
/// let specials = bbtok::SpecialTokens::default();
/// assert_eq!(specials.unk_token.as_deref(), Some("__unk__"));
/// assert_eq!(bbtok::SpecialTokens::none().unk_token, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    pub unk_token: Option<String>,
    pub pad_token: Option<String>,
}

impl SpecialTokens {
    /// BlenderBot-small's: `__start__`, `__end__`, `__unk__`, `__null__`.
    pub fn blenderbot_small() -> Self {
        SpecialTokens {
            bos_token: Some("__start__".into()),
            eos_token: Some("__end__".into()),
            unk_token: Some("__unk__".into()),
            pad_token: Some("__null__".into()),
        }
    }

    /// No special tokens, and so no unknown token: an unknown token fails to encode.
    pub fn none() -> Self {
        SpecialTokens {
            bos_token: None,
            eos_token: None,
            unk_token: None,
            pad_token: None,
        }
    }

    /// The tokens in the order they are appended (bos, eos, unk, pad), without empty ones.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        [
            &self.bos_token,
            &self.eos_token,
            &self.unk_token,
            &self.pad_token,
        ]
        .into_iter()
        .filter_map(|token| token.as_deref().filter(|token| !token.is_empty()))
    }
}

impl Default for SpecialTokens {
    /// BlenderBot-small's.
    fn default() -> Self {
        SpecialTokens::blenderbot_small()
    }
}

/// Builds a [`Tokenizer`] from a vocabulary and merges: BlenderBot-small's special tokens
/// unless told otherwise.
///
/// ```
/// use bbtok::{MergeRanks, SpecialTokens, Tokenizer, Vocab};
/// let vocab = Vocab::from_entries([("hi", 0), ("<unk>", 1)]).unwrap();
/// let merges = MergeRanks::new([["h", "i</w>"]]);
/// let tokenizer = Tokenizer::builder(vocab, merges)
///     .special_tokens(SpecialTokens {
///         unk_token: Some("<unk>".into()),
///         ..SpecialTokens::none()
///     })
///     .build();
/// assert_eq!(tokenizer.encode("hi yo <unk>").unwrap(), vec![0, 1, 1, 1]);
/// ```
pub struct TokenizerBuilder {
    vocab: Vocab,
    merges: MergeRanks,
    special_tokens: SpecialTokens,
}

impl TokenizerBuilder {
    /// Use these special tokens (and unknown token) instead of BlenderBot-small's.
    pub fn special_tokens(mut self, special_tokens: SpecialTokens) -> Self {
        self.special_tokens = special_tokens;
        self
    }

    /// The tokenizer.
    pub fn build(self) -> Tokenizer {
        let mut tokenizer = Tokenizer::bare(self.vocab, self.merges);
        // Quirk: an appended token's id counts the vocabulary's entries, not its largest id,
        // so a vocabulary with holes in its ids hands out an id that may be taken already.
        let mut next_id = tokenizer.vocab().len() as u32;
        let mut added: Vec<(PythonString, u32)> = Vec::new();
        for token in self.special_tokens.tokens() {
            if added
                .iter()
                .any(|(known, _)| known.as_bytes() == token.as_bytes())
            {
                continue;
            }
            let id = tokenizer.vocab().id(token.as_bytes()).unwrap_or_else(|| {
                next_id += 1;
                next_id - 1
            });
            added.push((token.into(), id));
        }
        let unknown = self.special_tokens.unk_token.as_deref().and_then(|unk| {
            let (token, id) = added
                .iter()
                .find(|(token, _)| token.as_bytes() == unk.as_bytes())?;
            Some((token.clone(), *id))
        });
        if !added.is_empty() {
            tokenizer.set_added_tokens(AddedTokenTable::from_pairs(added), Vec::new());
        }
        if let Some((token, id)) = unknown {
            tokenizer.set_unknown(Some(token), Some(id));
        }
        tokenizer
    }
}

/// The BlenderBot-small tokenizer: exactly transformers' `BlenderbotSmallTokenizer`. Cloning
/// is cheap (the vocabulary, merges and tables are shared), which lets a binding swap in a
/// changed copy instead of locking readers out.
#[derive(Clone)]
pub struct Tokenizer {
    merges: Arc<MergeRanks>,
    lowercaser: Arc<Lowercaser>,
    ids: TokenIds,
    cache: WordCache,
}

/// Read `vocab.json` and `merges.txt`, each given as (path, the name messages give it), adding
/// to `warnings` what they hold that the reference passes over in silence. The warnings of the
/// vocabulary stay in `warnings` when the merges then fail to load, so that a caller can warn
/// before it raises, as the pure-Python readers do.
pub(crate) fn read_files(
    (vocab_path, vocab_name): (&Path, &str),
    (merges_path, merges_name): (&Path, &str),
    warnings: &mut Vec<LoadWarning>,
) -> Result<(Vocab, MergeRanks), LoadError> {
    let vocab = Vocab::read_file(vocab_path, vocab_name, warnings)?;
    let merges = read_merges(merges_path, merges_name, warnings)?;
    Ok((vocab, merges))
}

/// Texts of a batch encoded on one pin of the word cache, on the calling thread.
const PIN_TEXTS: usize = 256;

/// Buffers reused from text to text, one struct per stage, so that each stage borrows its own
/// and lends the rest to the stage it calls.
#[derive(Default)]
struct Scratch {
    segments: Vec<(usize, usize)>,
    word: WordScratch,
}

#[derive(Default)]
struct WordScratch {
    chars: Vec<u32>,
    piece: PieceScratch,
}

#[derive(Default)]
struct PieceScratch {
    lowered: Vec<u32>,
    origin: Vec<usize>,
    split: SplitScratch,
}

#[derive(Default)]
struct SplitScratch {
    ends: Vec<u32>,
    token: Vec<u8>,
    bpe: BpeScratch,
}

impl Scratch {
    /// Buffers holding more than this are let go after use instead of kept for the next text.
    const KEPT_BYTES: usize = 1 << 20;

    fn held_bytes(&self) -> usize {
        let word = &self.word;
        let piece = &word.piece;
        let split = &piece.split;
        (word.chars.capacity() + piece.lowered.capacity() + split.ends.capacity()) * 4
            + piece.origin.capacity() * 8
            + split.token.capacity()
            + self.segments.capacity() * 16
            + split.bpe.held_bytes()
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
    /// A builder: BlenderBot-small's special tokens unless told otherwise.
    pub fn builder(vocab: Vocab, merges: MergeRanks) -> TokenizerBuilder {
        TokenizerBuilder {
            vocab,
            merges,
            special_tokens: SpecialTokens::default(),
        }
    }

    /// BlenderBot-small's tokenizer over a vocabulary and merges: its special tokens added,
    /// `__unk__` for unknown tokens.
    pub fn blenderbot_small(vocab: Vocab, merges: MergeRanks) -> Self {
        Tokenizer::builder(vocab, merges).build()
    }

    /// No added tokens, no unknown token.
    pub(crate) fn bare(vocab: Vocab, merges: MergeRanks) -> Self {
        let merges = Arc::new(merges);
        Tokenizer {
            ids: TokenIds::new(Arc::new(vocab), Arc::clone(&merges)),
            merges,
            lowercaser: Arc::new(Lowercaser::default()),
            cache: WordCache::default(),
        }
    }

    /// BlenderBot-small's tokenizer ([`Tokenizer::blenderbot_small`]) from `vocab.json` and
    /// `merges.txt`, and what the files hold that the reference passes over in silence.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// let (tokenizer, warnings) =
    ///     bbtok::Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
    /// assert!(warnings.is_empty());
    /// assert_eq!(tokenizer.encode("adapt act apte").unwrap(), vec![1, 2, 3, 4]);
    /// ```
    pub fn from_files(
        vocab_path: &Path,
        merges_path: &Path,
    ) -> Result<(Self, Vec<LoadWarning>), LoadError> {
        let mut warnings = Vec::new();
        let (vocab, merges) = read_files(
            (vocab_path, &vocab_path.display().to_string()),
            (merges_path, &merges_path.display().to_string()),
            &mut warnings,
        )?;
        Ok((Tokenizer::blenderbot_small(vocab, merges), warnings))
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

    /// Replace the added tokens (cut out of text, looked up first), special tokens included,
    /// and set the unit tokens (a whole segment equal to one is one token).
    pub fn set_added_tokens(&mut self, added: AddedTokenTable, units: Vec<PythonString>) {
        self.ids.set_added_tokens(added, units);
        self.cache.clear();
    }

    /// The added tokens (in no particular order) and the unit tokens: for a tokenizer from
    /// [`Tokenizer::blenderbot_small`], its special tokens and no units.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let (tokenizer, _) =
    /// #     bbtok::Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
    /// let (added, units) = tokenizer.added_tokens();
    /// let mut ids: Vec<u32> = added.encoder.iter().map(|(_, id)| *id).collect();
    /// ids.sort();
    /// assert_eq!((ids, units.len()), (vec![0, 5, 6, 7], 0));
    /// ```
    pub fn added_tokens(&self) -> (AddedTokenTable, Vec<PythonString>) {
        self.ids.added().table()
    }

    /// The unknown token and its id (`None`: unknown tokens fail to encode).
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let (tokenizer, _) =
    /// #     bbtok::Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
    /// assert_eq!(tokenizer.unknown(), (Some(&b"__unk__"[..]), Some(6)));
    /// ```
    pub fn unknown(&self) -> (Option<&[u8]>, Option<u32>) {
        self.ids.unknown()
    }

    /// Replace the unknown token and its id (`None`: unknown tokens fail to encode).
    pub fn set_unknown(&mut self, token: Option<PythonString>, id: Option<u32>) {
        self.ids.set_unknown(token, id);
        self.cache.clear();
    }

    /// Bound the word cache to `words` entries, all threads together (0 disables it; at most
    /// [`MAX_CACHE_WORDS`](crate::MAX_CACHE_WORDS)). The cache starts empty.
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
        self.ids.vocab()
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
        scratch: &mut WordScratch,
        offsets: bool,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let WordScratch { chars, piece } = scratch;
        chars.clear();
        chars.try_reserve(char_count(word))?;
        let mut at = 0;
        while at < word.len() {
            let (code, width) = decode_at(word, at);
            chars.push(code);
            at += width;
        }
        let mut result = Ok(());
        split_pieces(chars, |source| {
            if result.is_ok() {
                result = self.piece_of_word(chars, source, piece, offsets, &mut emit);
            }
        });
        result
    }

    /// The tokens of one piece of a word (`chars`), as `word_tokens`.
    fn piece_of_word(
        &self,
        chars: &[u32],
        piece: PieceSource,
        scratch: &mut PieceScratch,
        offsets: bool,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let PieceScratch {
            lowered,
            origin,
            split,
        } = scratch;
        let (start, end) = match piece {
            PieceSource::Newline { at } => {
                return self
                    .piece_tokens(&NEWLINE_CODES, split, |token, _, _| emit(token, at, at + 1))
            }
            PieceSource::Text { start, end } => (start, end),
        };
        lowered.clear();
        origin.clear();
        self.lowercaser
            .lower(&chars[start..end], lowered, offsets.then_some(&mut *origin))?;
        self.piece_tokens(lowered, split, |token, s, e| {
            if offsets {
                emit(token, start + origin[s], start + origin[e - 1] + 1)
            } else {
                emit(token, 0, 0)
            }
        })
    }

    /// BPE tokens of one lowercased piece, with their ranges in the piece.
    fn piece_tokens(
        &self,
        piece: &[u32],
        scratch: &mut SplitScratch,
        mut emit: impl FnMut(&PieceToken<'_>, usize, usize) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let SplitScratch { ends, token, bpe } = scratch;
        self.merges.split_with(piece, ends, bpe)?;
        let last = ends.len().saturating_sub(1);
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let end = end as usize;
            token.clear();
            token.try_reserve(4 * (end - start) + CONTINUATION.len())?;
            for &code in &piece[start..end] {
                encode_into(code, token);
            }
            if i != last {
                token.extend_from_slice(CONTINUATION.as_bytes());
            }
            let piece_token = PieceToken {
                text: token,
                symbol: bpe.symbols()[i],
                last: i == last,
            };
            emit(&piece_token, start, end)?;
            start = end;
        }
        Ok(())
    }

    fn encode_word(
        &self,
        word: &[u8],
        scratch: &mut WordScratch,
        cache: &mut PinnedCache<'_>,
        ids: &mut Vec<u32>,
    ) -> Result<(), EncodeError> {
        if cache.get_into(word, ids) {
            return Ok(());
        }
        let before = ids.len();
        self.word_tokens(word, scratch, false, |token, _, _| {
            push_id(ids, self.ids.piece_token_id(token)?)
        })?;
        cache.insert(word, &ids[before..]);
        Ok(())
    }

    fn encode_plain_into(
        &self,
        text: &[u8],
        scratch: &mut WordScratch,
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

    fn encode_segments(
        &self,
        text: &[u8],
        scratch: &mut Scratch,
        cache: &mut PinnedCache<'_>,
        ids: &mut Vec<u32>,
    ) -> Result<(), EncodeError> {
        let Scratch { segments, word } = scratch;
        self.ids.added().trie.split(text, segments)?;
        for &(start, end) in segments.iter() {
            let segment = &text[start..end];
            match self.ids.whole_segment_id(segment, &self.lowercaser)? {
                Some(id) => push_id(ids, id)?,
                None => self.encode_plain_into(segment, word, cache, ids)?,
            }
        }
        Ok(())
    }

    /// Encode a text (a `&str`, or [`PythonText`] that may hold lone surrogates), added tokens
    /// cut out first.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let (tokenizer, _) =
    /// #     bbtok::Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
    /// assert_eq!(tokenizer.encode("adapt act apte").unwrap(), vec![1, 2, 3, 4]);
    /// ```
    pub fn encode<'a>(&self, text: impl Into<PythonText<'a>>) -> Result<Vec<u32>, EncodeError> {
        let text = text.into().as_bytes();
        let mut ids = Vec::new();
        with_scratch(|scratch| {
            self.encode_segments(text, scratch, &mut self.cache.pin(), &mut ids)
        })?;
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
            self.encode_plain_into(text, &mut scratch.word, &mut self.cache.pin(), &mut ids)
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
                result = self.word_tokens(word, &mut scratch.word, false, |token, _, _| {
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
        let mut scratch = WordScratch::default();
        let mut segments = Vec::new();
        if cut_added {
            self.ids.added().trie.split(text, &mut segments)?;
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
            let whole = if cut_added {
                self.ids.whole_segment_id(segment, &self.lowercaser)?
            } else {
                None
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
                            let id = self.ids.piece_token_id(token)?;
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

    /// Token -> id for any token (a `&str`, or [`PythonText`]): as the reference looks one up,
    /// added tokens first, then the vocabulary with the token lowercased, then the unknown id.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let (tokenizer, _) =
    /// #     bbtok::Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
    /// assert_eq!(tokenizer.token_to_id("ADAPT"), tokenizer.token_to_id("adapt"));
    /// ```
    pub fn token_to_id<'a>(&self, token: impl Into<PythonText<'a>>) -> Result<u32, EncodeError> {
        self.ids
            .any_token_id(token.into().as_bytes(), &self.lowercaser)
    }

    /// Id -> token: the added token of that id, else the vocabulary's, else the unknown token
    /// (empty when there is none).
    pub fn id_to_token(&self, id: i64) -> PythonText<'_> {
        PythonText::from_checked(self.ids.id_to_token(id))
    }

    /// The reference's decode: the ids' tokens joined with spaces, `"@@ "` removed, white
    /// space stripped. A lone surrogate an added token holds comes out as U+FFFD (see
    /// [`Tokenizer::decode_python`] for the exact text).
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let (tokenizer, _) =
    /// #     bbtok::Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
    /// let ids = tokenizer.encode("adapt apte").unwrap();
    /// assert_eq!(tokenizer.decode(&ids), "adapt apte");
    /// ```
    pub fn decode(&self, ids: &[u32]) -> String {
        let tokens = ids.iter().map(|&id| self.ids.id_to_token(i64::from(id)));
        let text = join_tokens(tokens).unwrap_or_else(|_| panic!("out of memory while decoding"));
        match String::from_utf8(text) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }
    }

    /// `decode` as Python text, exact (lone surrogates kept): the ids for which `skip` is true
    /// are left out, and ids that name no token decode as the unknown token. Fails only when
    /// memory runs out.
    pub fn decode_python(
        &self,
        ids: &[i64],
        skip: impl Fn(i64) -> bool,
    ) -> Result<PythonString, TryReserveError> {
        let tokens = ids
            .iter()
            .filter(|&&id| !skip(id))
            .map(|&id| self.ids.id_to_token(id));
        join_tokens(tokens).map(PythonString::from_checked)
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

    fn tiny() -> Tokenizer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
        let (tokenizer, warnings) =
            Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
        assert!(warnings.is_empty());
        tokenizer
    }

    fn sample_checkpoint() -> Tokenizer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/bbtok/data/sample_checkpoint");
        Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt"))
            .unwrap()
            .0
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
    fn unknown_characters_map_to_the_unknown_token() {
        // transformers' BlenderbotSmallTokenizer on the sample checkpoint.
        let tokenizer = sample_checkpoint();
        assert_eq!(
            tokenizer.encode("Hello \u{2603} \u{1d518}").unwrap(),
            vec![10770, 3, 3]
        );
    }

    #[test]
    fn special_tokens_in_the_vocabulary_keep_their_ids() {
        let tokenizer = sample_checkpoint();
        assert_eq!(
            tokenizer.encode("__start__ hi __end__").unwrap(),
            vec![1, 4882, 2]
        );
        assert_eq!(tokenizer.encode("x__null__y").unwrap(), vec![71, 0, 72]);
    }

    #[test]
    fn missing_special_tokens_are_appended_as_bos_eos_unk_pad() {
        // As transformers gives them: ids count the vocabulary's 3 entries (id 5 is taken
        // already), and __end__ keeps its vocabulary id.
        let vocab = Vocab::from_entries([("hi", 0), ("__end__", 1), ("yo", 5)]).unwrap();
        let merges = MergeRanks::new([["h", "i</w>"]]);
        let tokenizer = Tokenizer::blenderbot_small(vocab, merges);
        assert_eq!(
            tokenizer
                .encode("__start__ __unk__ __null__ __end__")
                .unwrap(),
            vec![3, 4, 5, 1]
        );
        assert_eq!(tokenizer.encode("hi zz").unwrap(), vec![0, 4, 4]);
    }

    #[test]
    fn without_special_tokens_an_unknown_token_fails() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
        let (tokenizer, _) =
            Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
        let bare = Tokenizer::builder(tokenizer.vocab().clone(), tokenizer.merges().clone())
            .special_tokens(SpecialTokens::none())
            .build();
        // "__unk__" is not cut out as a token, and no unknown id stands in for "_".
        assert_eq!(bare.encode("__unk__"), Err(EncodeError::NoUnknownToken));
        assert_eq!(bare.encode("adapt").unwrap(), vec![1]);
    }

    #[test]
    fn a_load_error_keeps_the_io_error_as_its_source() {
        use std::error::Error;
        let missing = Path::new("/nonexistent/vocab.json");
        let error = Tokenizer::from_files(missing, missing).err().unwrap();
        let source = error.source().unwrap().downcast_ref::<std::io::Error>();
        assert_eq!(source.unwrap().kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn decode_joins_continuations_and_strips() {
        let tokenizer = tiny();
        assert_eq!(
            tokenizer.decode(&[0, 1, 3, 4, 99, 5]),
            "__start__ adapt apte __unk__ __end__"
        );
        let skip: FxHashSet<i64> = [0, 5, 6, 7].into_iter().collect();
        let text = tokenizer
            .decode_python(&[0, 1, 3, 4, 99, 5], |id| skip.contains(&id))
            .unwrap();
        assert_eq!(text.as_bytes(), b"adapt apte __unk__");
    }

    #[test]
    fn decode_python_keeps_lone_surrogates_that_decode_replaces() {
        let mut tokenizer = tiny();
        let surrogate = PythonString::new(b"\xed\xa0\x80".to_vec()).unwrap();
        tokenizer.set_added_tokens(
            AddedTokenTable::from_pairs(vec![(surrogate, 9)]),
            Vec::new(),
        );
        let exact = tokenizer.decode_python(&[1, 9], |_| false).unwrap();
        assert_eq!(exact.as_bytes(), b"adapt \xed\xa0\x80");
        assert_eq!(tokenizer.decode(&[1, 9]), "adapt \u{fffd}\u{fffd}\u{fffd}");
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
                    let decoded = tokenizer.decode_python(&ids, |_| false).unwrap();
                    assert!(PythonText::new(decoded.as_bytes()).is_ok(), "{decoded:?}");
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
            tokenizer.decode_python(&ids, |_| false).unwrap();
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
