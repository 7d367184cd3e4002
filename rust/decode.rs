//! Decode: ids -> tokens, joined as the reference joins them.

use crate::text::{decode_at, is_python_space};
use crate::tokenizer::Tokenizer;
use rustc_hash::FxHashSet;
use std::collections::TryReserveError;

impl Tokenizer {
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
    /// removed, Python white space stripped; Python text. Fails only when memory runs out.
    ///
    /// ```
    /// # let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
    /// # let mut warnings = Vec::new();
    /// # let tokenizer = bbtok::Tokenizer::from_files(
    /// #     &dir.join("vocab.json"), &dir.join("merges.txt"), &mut warnings).unwrap();
    /// let ids: Vec<i64> = tokenizer.encode("adapt apte").unwrap().into_iter().map(i64::from).collect();
    /// assert_eq!(tokenizer.decode(&ids, &Default::default()).unwrap(), b"adapt apte");
    /// ```
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

    #[test]
    fn strip_removes_python_space_at_both_ends_only() {
        let text = "\u{1c} a b\u{3000}".as_bytes();
        let (start, end) = strip_python_space(text);
        assert_eq!(&text[start..end], b"a b");
        assert_eq!(strip_python_space(b"  "), (2, 2));
        assert_eq!(strip_python_space("\u{200b}".as_bytes()), (0, 3));
    }
}
