//! Tokens <-> ids: added tokens first, then the vocabulary, then the unknown token. Tokens cut
//! by BPE are looked up through a table of every merge symbol's two tokens, made once, so that
//! encoding hashes no token strings.

use crate::added::{AddedTokenTable, AddedTokens};
use crate::bpe::{MergeRanks, Symbol, CONTINUATION, END_OF_WORD, NO_SYMBOL};
use crate::error::EncodeError;
use crate::lowercase::Lowercaser;
use crate::text::{char_count, decode_at, encode_into, PythonString};
use crate::vocab::Vocab;
use std::sync::{Arc, OnceLock};

/// A token as BPE cut it from a piece: its text (with `@@` unless it ends the piece), its
/// merge symbol, and whether it ends the piece.
pub(crate) struct PieceToken<'a> {
    pub(crate) text: &'a [u8],
    pub(crate) symbol: Symbol,
    pub(crate) last: bool,
}

/// What `SymbolIds` stores for a token in neither the added tokens nor the vocabulary.
const MISSING: u32 = u32::MAX;

/// The id of every merge symbol's two tokens: `middle` is the id of the symbol's text + `@@`
/// (a token followed by another), `last` the id of its text without `</w>` (a piece's last
/// token). Added tokens come first, as in `TokenIds::token_id`.
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
            token.extend_from_slice(CONTINUATION.as_bytes());
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
            if let Some(stem) = token.strip_suffix(CONTINUATION.as_bytes()) {
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

/// Every way the tokenizer names a token by an id and back: the vocabulary, the added tokens
/// (and the unit tokens, a whole segment equal to one being one token), the unknown token.
/// Cloning is cheap: the vocabulary and the symbol tables are shared.
#[derive(Clone)]
pub(crate) struct TokenIds {
    vocab: Arc<Vocab>,
    merges: Arc<MergeRanks>,
    added: AddedTokens,
    unknown_id: Option<u32>,
    unknown_token: Option<Box<[u8]>>,
    /// Symbol ids from the vocabulary (made on first use, shared by clones), and with the
    /// added tokens over them (made again when they change).
    vocab_symbol_ids: Arc<OnceLock<SymbolIds>>,
    symbol_ids: Arc<OnceLock<SymbolIds>>,
}

impl TokenIds {
    /// The ids of `vocab`'s tokens and of the tokens BPE cuts with `merges`; no added tokens,
    /// no unknown token.
    pub(crate) fn new(vocab: Arc<Vocab>, merges: Arc<MergeRanks>) -> Self {
        TokenIds {
            vocab,
            merges,
            added: AddedTokens::new(AddedTokenTable::default(), Vec::new()),
            unknown_id: None,
            unknown_token: None,
            vocab_symbol_ids: Arc::default(),
            symbol_ids: Arc::default(),
        }
    }

    pub(crate) fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The added tokens, which the pipeline cuts out of text first.
    pub(crate) fn added(&self) -> &AddedTokens {
        &self.added
    }

    pub(crate) fn set_added_tokens(&mut self, added: AddedTokenTable, units: Vec<PythonString>) {
        self.added = AddedTokens::new(added, units);
        self.symbol_ids = Arc::default();
    }

    pub(crate) fn set_unknown(&mut self, token: Option<PythonString>, id: Option<u32>) {
        self.unknown_token = token.map(PythonString::into_bytes);
        self.unknown_id = id;
    }

    /// The unknown token and its id.
    pub(crate) fn unknown(&self) -> (Option<&[u8]>, Option<u32>) {
        (self.unknown_token.as_deref(), self.unknown_id)
    }

    fn unknown_id(&self) -> Result<u32, EncodeError> {
        self.unknown_id.ok_or(EncodeError::NoUnknownToken)
    }

    /// The one id a segment that the added tokens cut out stands for as a whole: its added id,
    /// else (for a unit token) its id as `any_token_id` finds it; `None` for plain text.
    #[inline]
    pub(crate) fn whole_segment_id(
        &self,
        segment: &[u8],
        lowercaser: &Lowercaser,
    ) -> Result<Option<u32>, EncodeError> {
        if let Some(&id) = self.added.ids.get(segment) {
            return Ok(Some(id));
        }
        if self.added.units.contains(segment) {
            return self.any_token_id(segment, lowercaser).map(Some);
        }
        Ok(None)
    }

    /// Token -> id: added tokens first, then the vocabulary (BPE tokens are lowercase
    /// already: Python's `str.lower()` is idempotent), then the unknown token.
    #[inline]
    fn token_id(&self, token: &[u8]) -> Result<u32, EncodeError> {
        if let Some(&id) = self.added.ids.get(token) {
            return Ok(id);
        }
        self.vocab.id(token).map_or_else(|| self.unknown_id(), Ok)
    }

    /// The id of a token BPE cut from a piece: as `token_id`, through the symbol tables.
    #[inline]
    pub(crate) fn piece_token_id(&self, token: &PieceToken<'_>) -> Result<u32, EncodeError> {
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
            MISSING => self.unknown_id(),
            id => Ok(id),
        }
    }

    /// Token -> id for any token (Python text), as the reference looks one up: added tokens
    /// first, then the vocabulary with the token lowercased, then the unknown id.
    pub(crate) fn any_token_id(
        &self,
        token: &[u8],
        lowercaser: &Lowercaser,
    ) -> Result<u32, EncodeError> {
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
        lowercaser.lower(&chars, &mut lowered, None)?;
        bytes.try_reserve_exact(token.len() * 3)?;
        for code in lowered {
            encode_into(code, &mut bytes);
        }
        self.vocab.id(&bytes).map_or_else(|| self.unknown_id(), Ok)
    }

    /// Id -> token (Python text): added tokens first, then the vocabulary, else the unknown
    /// token (empty when there is none).
    pub(crate) fn id_to_token(&self, id: i64) -> &[u8] {
        let id = u32::try_from(id).ok();
        if let Some(token) = id.and_then(|id| self.added.tokens.get(&id)) {
            return token;
        }
        if let Some(token) = id.and_then(|id| self.vocab.token(id)) {
            return token.as_bytes();
        }
        self.unknown_token.as_deref().unwrap_or(b"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_ids() -> TokenIds {
        let vocab = Vocab::from_entries([("ab", 0), ("a@@", 1), ("b", 2), ("x", 3)]).unwrap();
        let merges = MergeRanks::new([["a", "b</w>"]]);
        TokenIds::new(Arc::new(vocab), Arc::new(merges))
    }

    #[test]
    fn symbol_ids_name_the_vocabulary_tokens() {
        let ids = token_ids();
        let table = SymbolIds::of_vocab(&ids.vocab, &ids.merges);
        let symbols = ids.merges.symbols();
        let symbol = |text: &str| symbols.find(text.as_bytes()).unwrap() as usize;
        assert_eq!(table.middle[symbol("a")], 1);
        assert_eq!(table.last[symbol("ab</w>")], 0);
        assert_eq!(table.last[symbol("b</w>")], 2);
    }

    #[test]
    fn added_tokens_come_before_the_vocabulary() {
        let mut ids = token_ids();
        let lowercaser = Lowercaser::default();
        ids.set_added_tokens(
            AddedTokenTable::from_pairs(vec![("a@@".into(), 9), ("ab".into(), 8)]),
            Vec::new(),
        );
        assert_eq!(ids.whole_segment_id(b"ab", &lowercaser), Ok(Some(8)));
        assert_eq!(ids.any_token_id(b"x", &lowercaser), Ok(3));
        assert_eq!(ids.any_token_id(b"AB", &lowercaser), Ok(0));
        assert_eq!(ids.any_token_id(b"B", &lowercaser), Ok(2));
        assert_eq!(
            ids.any_token_id(b"y", &lowercaser),
            Err(EncodeError::NoUnknownToken)
        );
        assert_eq!(ids.id_to_token(9), b"a@@");
    }
}
