//! Token -> id: added tokens first, then the vocabulary, then the unknown token. Tokens cut by
//! BPE are looked up through a table of every merge symbol's two tokens, made once, so that
//! encoding hashes no token strings.

use crate::added::AddedTokens;
use crate::bpe::{MergeRanks, Symbol, CONTINUATION, END_OF_WORD, NO_SYMBOL};
use crate::text::{decode_at, encode_into, PythonText};
use crate::tokenizer::{EncodeError, Tokenizer};
use crate::vocab::Vocab;

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
/// token). Added tokens come first, as in `token_id`.
#[derive(Debug, Default)]
pub(crate) struct SymbolIds {
    middle: Vec<u32>,
    last: Vec<u32>,
}

impl SymbolIds {
    /// From the vocabulary alone.
    pub(crate) fn of_vocab(vocab: &Vocab, merges: &MergeRanks) -> Self {
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
    pub(crate) fn with_added(base: &SymbolIds, merges: &MergeRanks, added: &AddedTokens) -> Self {
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

impl Tokenizer {
    /// Token -> id: added tokens first, then the vocabulary (BPE tokens are lowercase
    /// already: Python's `str.lower()` is idempotent), then the unknown token.
    #[inline]
    pub(crate) fn token_id(&self, token: &[u8]) -> Result<u32, EncodeError> {
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
            MISSING => self.unknown_id.ok_or(EncodeError::NoUnknownToken),
            id => Ok(id),
        }
    }

    /// Token -> id for any token (a `&str`, or [`PythonText`]): as the reference looks one up,
    /// added tokens first, then the vocabulary with the token lowercased, then the unknown id.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let mut warnings = Vec::new();
    /// # let tokenizer = bbtok::Tokenizer::from_files(
    /// #     &dir.join("vocab.json"), &dir.join("merges.txt"), &mut warnings).unwrap();
    /// assert_eq!(tokenizer.token_to_id("ADAPT"), tokenizer.token_to_id("adapt"));
    /// ```
    pub fn token_to_id<'a>(&self, token: impl Into<PythonText<'a>>) -> Result<u32, EncodeError> {
        self.any_token_id(token.into().as_bytes())
    }

    /// `token_to_id` of Python text.
    pub(crate) fn any_token_id(&self, token: &[u8]) -> Result<u32, EncodeError> {
        if let Some(&id) = self.added.ids.get(token) {
            return Ok(id);
        }
        let mut chars = Vec::new();
        chars.try_reserve_exact(crate::text::char_count(token))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AddedTokenTable;

    fn tokenizer() -> Tokenizer {
        let vocab = Vocab::from_entries([("ab", 0), ("a@@", 1), ("b", 2), ("x", 3)]).unwrap();
        let merges = MergeRanks::new([["a", "b</w>"]]);
        Tokenizer::new(vocab, merges)
    }

    #[test]
    fn symbol_ids_name_the_vocabulary_tokens() {
        let tokenizer = tokenizer();
        let ids = SymbolIds::of_vocab(&tokenizer.vocab, &tokenizer.merges);
        let symbols = tokenizer.merges.symbols();
        let symbol = |text: &str| symbols.find(text.as_bytes()).unwrap() as usize;
        assert_eq!(ids.middle[symbol("a")], 1);
        assert_eq!(ids.last[symbol("ab</w>")], 0);
        assert_eq!(ids.last[symbol("b</w>")], 2);
    }

    #[test]
    fn added_tokens_come_before_the_vocabulary() {
        let mut tokenizer = tokenizer();
        tokenizer.set_added_tokens(
            AddedTokenTable::from_pairs(vec![("a@@".into(), 9), ("ab".into(), 8)]),
            Vec::new(),
        );
        assert_eq!(tokenizer.encode("ab").unwrap(), vec![8]);
        assert_eq!(tokenizer.token_to_id("x"), Ok(3));
        assert_eq!(tokenizer.token_to_id("AB"), Ok(0));
        assert_eq!(tokenizer.token_to_id("y"), Err(EncodeError::NoUnknownToken));
    }
}
