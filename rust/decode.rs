//! Decoding: tokens joined as the reference joins them.

use crate::text::{decode_at, is_python_space};
use std::collections::TryReserveError;

/// The reference's `convert_tokens_to_string`: `tokens` (Python text) joined with spaces,
/// each `"@@ "` removed, Python white space stripped. Fails only when memory runs out.
pub(crate) fn join_tokens<'a>(
    tokens: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TryReserveError> {
    let mut text: Vec<u8> = Vec::new();
    let mut first = true;
    for token in tokens {
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
    fn continuations_join_and_the_ends_are_stripped() {
        let tokens: [&[u8]; 5] = [b" ", b"ap@@", b"te", b"x@@", b"\xe3\x80\x80"];
        assert_eq!(join_tokens(tokens.into_iter()).unwrap(), b"apte x");
    }

    #[test]
    fn strip_removes_python_space_at_both_ends_only() {
        let text = "\u{1c} a b\u{3000}".as_bytes();
        let (start, end) = strip_python_space(text);
        assert_eq!(&text[start..end], b"a b");
        assert_eq!(strip_python_space(b"  "), (2, 2));
        assert_eq!(strip_python_space("\u{200b}".as_bytes()), (0, 3));
    }
}
