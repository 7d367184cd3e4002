//! Python-compatible word splitting: white space, punctuation, the newline marker and
//! lowercasing, with every piece aligned back to the characters it came from.
//!
//! Text is "Python text": UTF-8 in which lone surrogates (which a Python `str` may hold) are
//! encoded like any other code point (three bytes, as Python's `surrogatepass` does). A Rust
//! `&str` is Python text as it is. All positions here count code points, as Python indexes.

use crate::unicode_tables;
use rustc_hash::FxHashMap;
use std::collections::TryReserveError;

/// The reference's words are `\S+\n?` with the `regex` package's `\s`: Unicode White_Space.
/// (Python's `str.isspace` also counts U+001C..U+001F; `regex` does not.)
#[inline]
pub const fn is_regex_space(code: u32) -> bool {
    matches!(
        code,
        0x09..=0x0D
            | 0x20
            | 0x85
            | 0xA0
            | 0x1680
            | 0x2000..=0x200A
            | 0x2028
            | 0x2029
            | 0x202F
            | 0x205F
            | 0x3000
    )
}

/// Python's `str.isspace()` (used by `str.strip()` when decoding).
#[inline]
pub fn is_python_space(code: u32) -> bool {
    is_regex_space(code) || (0x1C..=0x1F).contains(&code)
}

/// Decode the code point at `bytes[at..]` (`at` must be inside `bytes`). On Python text this is
/// exact; on other bytes it still returns a code point and a width that stays inside `bytes`
/// (missing continuation bytes read as zero bits), so a scan never panics on bad input.
#[inline(always)]
pub fn decode_at(bytes: &[u8], at: usize) -> (u32, usize) {
    let first = bytes[at];
    if first < 0x80 {
        return (first as u32, 1);
    }
    let continuation = |i: usize| (bytes.get(at + i).copied().unwrap_or(0) & 0x3F) as u32;
    let (code, width) = if first < 0xE0 {
        (((first & 0x1F) as u32) << 6 | continuation(1), 2)
    } else if first < 0xF0 {
        (
            ((first & 0x0F) as u32) << 12 | continuation(1) << 6 | continuation(2),
            3,
        )
    } else {
        (
            ((first & 0x07) as u32) << 18
                | continuation(1) << 12
                | continuation(2) << 6
                | continuation(3),
            4,
        )
    };
    (code, width.min(bytes.len() - at))
}

/// Append the Python-text encoding of `code` to `out`.
#[inline]
pub fn encode_into(code: u32, out: &mut Vec<u8>) {
    if code < 0x80 {
        out.push(code as u8);
    } else if code < 0x800 {
        out.extend_from_slice(&[0xC0 | (code >> 6) as u8, 0x80 | (code & 0x3F) as u8]);
    } else if code < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (code >> 12) as u8,
            0x80 | ((code >> 6) & 0x3F) as u8,
            0x80 | (code & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (code >> 18) as u8,
            0x80 | ((code >> 12) & 0x3F) as u8,
            0x80 | ((code >> 6) & 0x3F) as u8,
            0x80 | (code & 0x3F) as u8,
        ]);
    }
}

/// Check that `bytes` is Python text; on failure, the byte offset of the first bad byte.
pub fn validate_python_text(bytes: &[u8]) -> Result<(), usize> {
    // Almost every text is UTF-8: the standard library checks that fastest.
    let mut at = match std::str::from_utf8(bytes) {
        Ok(_) => return Ok(()),
        Err(error) => error.valid_up_to(),
    };
    while at < bytes.len() {
        let first = bytes[at];
        let (len, min) = match first {
            0x00..=0x7F => (1, 0),
            0xC2..=0xDF => (2, 0x80),
            0xE0..=0xEF => (3, 0x800),
            0xF0..=0xF4 => (4, 0x10000),
            _ => return Err(at),
        };
        if at + len > bytes.len() || bytes[at + 1..at + len].iter().any(|b| b & 0xC0 != 0x80) {
            return Err(at);
        }
        let (code, _) = decode_at(bytes, at);
        if code < min || code > 0x10FFFF {
            return Err(at);
        }
        at += len;
    }
    Ok(())
}

/// The number of code points of Python text (every byte that is not a continuation byte
/// starts one).
pub fn char_count(text: &[u8]) -> usize {
    text.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// One word of the text: `\S+\n?`, as byte and character positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    /// Byte range of the whole word (its trailing `\n` included).
    pub start: usize,
    pub end: usize,
    /// Character position of the word's first character.
    pub char_start: usize,
}

/// ASCII white space as `is_regex_space` sees it.
const ASCII_SPACE: [bool; 128] = {
    let mut table = [false; 128];
    let mut code = 0;
    while code < 128 {
        table[code] = is_regex_space(code as u32);
        code += 1;
    }
    table
};

/// Whether the character at `text[at..]` is white space, and its width in bytes.
#[inline(always)]
fn space_at(text: &[u8], at: usize) -> (bool, usize) {
    let first = text[at];
    if first < 0x80 {
        (ASCII_SPACE[first as usize], 1)
    } else {
        let (code, width) = decode_at(text, at);
        (is_regex_space(code), width)
    }
}

/// Visit the words of `text` (which holds no added tokens), left to right.
pub fn for_each_word(text: &[u8], mut visit: impl FnMut(Word)) {
    let mut at = 0;
    let mut chars = 0;
    let len = text.len();
    while at < len {
        let (space, width) = space_at(text, at);
        if space {
            at += width;
            chars += 1;
            continue;
        }
        let start = at;
        let char_start = chars;
        while at < len {
            let (space, width) = space_at(text, at);
            if space {
                break;
            }
            at += width;
            chars += 1;
        }
        // At most one trailing newline belongs to the word.
        if at < len && text[at] == b'\n' {
            at += 1;
            chars += 1;
        }
        visit(Word {
            start,
            end: at,
            char_start,
        });
    }
}

#[inline]
fn starts_piece(code: u32) -> bool {
    matches!(code, 0x2E | 0x2C | 0x21 | 0x3F | 0x28 | 0x29) // . , ! ? ( )
}

const APOSTROPHE: u32 = 0x27;
const NEWLINE: u32 = 0x0A;
/// The token the reference puts where a word's trailing newline was.
pub const NEWLINE_MARKER: &str = "__newln__";

/// Where a piece comes from in its word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceSource {
    /// Characters `start..end` of the word (character positions within the word).
    Text { start: usize, end: usize },
    /// The word's trailing newline, at this character position within the word.
    Newline { at: usize },
}

/// Split a word (code points) into the reference's pieces, before lowercasing: a punctuation
/// mark `. , ! ? ( )` starts a piece, `'` is a piece of its own, and a trailing newline becomes
/// the newline marker unless the word ends in `'\n` (the reference pads `'` with spaces and
/// then folds `" \n"` into one space, losing that newline).
pub fn split_pieces(word: &[u32], mut visit: impl FnMut(PieceSource)) {
    let newline = word.last() == Some(&NEWLINE);
    let body = if newline {
        &word[..word.len() - 1]
    } else {
        word
    };
    let mut start = 0;
    for (i, &code) in body.iter().enumerate() {
        if code == APOSTROPHE {
            if start < i {
                visit(PieceSource::Text { start, end: i });
            }
            visit(PieceSource::Text {
                start: i,
                end: i + 1,
            });
            start = i + 1;
        } else if starts_piece(code) && start < i {
            visit(PieceSource::Text { start, end: i });
            start = i;
        }
    }
    if start < body.len() {
        visit(PieceSource::Text {
            start,
            end: body.len(),
        });
    }
    if newline && body.last() != Some(&APOSTROPHE) {
        visit(PieceSource::Newline { at: body.len() });
    }
}

/// Python's `str.lower()` for one Unicode version: full mappings plus the final-sigma rule.
#[derive(Clone, Debug)]
pub struct Lowercaser {
    unicode_version: String,
    ascii: [u8; 128],
    mapping: FxHashMap<u32, [u32; 3]>,
    cased: Vec<(u32, u32)>,
    case_ignorable: Vec<(u32, u32)>,
}

const CAPITAL_SIGMA: u32 = 0x3A3;
const SMALL_SIGMA: u32 = 0x3C3;
const FINAL_SIGMA: u32 = 0x3C2;

fn in_ranges(ranges: &[(u32, u32)], code: u32) -> bool {
    match ranges.binary_search_by(|&(start, _)| start.cmp(&code)) {
        Ok(_) => true,
        Err(0) => false,
        Err(i) => code <= ranges[i - 1].1,
    }
}

impl Default for Lowercaser {
    /// The tables generated into this crate (see `UNICODE_VERSION` there).
    fn default() -> Self {
        Self::new(
            unicode_tables::UNICODE_VERSION,
            unicode_tables::LOWERCASE.iter().copied(),
            unicode_tables::CASED.to_vec(),
            unicode_tables::CASE_IGNORABLE.to_vec(),
        )
    }
}

impl Lowercaser {
    /// Tables as `bbtok.blenderbot_small.unicode_tables.case_tables()` derives them from a running Python:
    /// `mapping` holds every code point whose lowercase is not itself (0 pads a mapping to
    /// three code points); `cased` and `case_ignorable` are sorted inclusive ranges.
    pub fn new(
        unicode_version: &str,
        mapping: impl IntoIterator<Item = (u32, [u32; 3])>,
        mut cased: Vec<(u32, u32)>,
        mut case_ignorable: Vec<(u32, u32)>,
    ) -> Self {
        let mapping: FxHashMap<u32, [u32; 3]> = mapping.into_iter().collect();
        let mut ascii = [0u8; 128];
        for (code, slot) in ascii.iter_mut().enumerate() {
            *slot = match mapping.get(&(code as u32)) {
                Some(&[lower, 0, 0]) if lower < 128 => lower as u8,
                _ => code as u8,
            };
        }
        cased.sort_unstable();
        case_ignorable.sort_unstable();
        Lowercaser {
            unicode_version: unicode_version.to_string(),
            ascii,
            mapping,
            cased,
            case_ignorable,
        }
    }

    /// The Unicode version of the tables.
    pub fn unicode_version(&self) -> &str {
        &self.unicode_version
    }

    fn is_cased(&self, code: u32) -> bool {
        in_ranges(&self.cased, code)
    }

    fn is_case_ignorable(&self, code: u32) -> bool {
        in_ranges(&self.case_ignorable, code)
    }

    /// Python's choice between `σ` and `ς` for the capital sigma at `chars[at]`.
    fn sigma(&self, chars: &[u32], at: usize) -> u32 {
        let before = chars[..at]
            .iter()
            .rev()
            .find(|&&c| !self.is_case_ignorable(c));
        let mut is_final = before.is_some_and(|&c| self.is_cased(c));
        if is_final {
            let after = chars[at + 1..]
                .iter()
                .find(|&&c| !self.is_case_ignorable(c));
            is_final = after.is_none_or(|&c| !self.is_cased(c));
        }
        if is_final {
            FINAL_SIGMA
        } else {
            SMALL_SIGMA
        }
    }

    /// Lowercase `chars` into `out`; `origin`, when given, gets for each code point written the
    /// index in `chars` it comes from (a code point can lowercase to several: `İ` -> `i`
    /// U+0307). Fails, leaving `out` partly written, only when memory runs out.
    pub fn lower(
        &self,
        chars: &[u32],
        out: &mut Vec<u32>,
        mut origin: Option<&mut Vec<usize>>,
    ) -> Result<(), TryReserveError> {
        out.try_reserve(chars.len())?;
        if let Some(origin) = origin.as_deref_mut() {
            origin.try_reserve(chars.len())?;
        }
        for (i, &code) in chars.iter().enumerate() {
            let (lowered, count) = if code < 128 {
                ([self.ascii[code as usize] as u32, 0, 0], 1)
            } else if code == CAPITAL_SIGMA {
                ([self.sigma(chars, i), 0, 0], 1)
            } else if let Some(&mapped) = self.mapping.get(&code) {
                // One to three code points, padded with 0 (`İ` -> `i` U+0307).
                (mapped, mapped.iter().take_while(|&&c| c != 0).count())
            } else {
                ([code, 0, 0], 1)
            };
            if count > 1 {
                out.try_reserve(count)?;
            }
            out.extend_from_slice(&lowered[..count]);
            if let Some(origin) = origin.as_deref_mut() {
                if count > 1 {
                    origin.try_reserve(count)?;
                }
                origin.extend(std::iter::repeat_n(i, count));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(text: &str) -> Vec<u32> {
        text.chars().map(|c| c as u32).collect()
    }

    fn words(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for_each_word(text.as_bytes(), |w| found.push(&text[w.start..w.end]));
        found
    }

    fn pieces(word: &str) -> Vec<String> {
        let codes = chars(word);
        let mut found = Vec::new();
        split_pieces(&codes, |piece| {
            found.push(match piece {
                PieceSource::Text { start, end } => {
                    word.chars().skip(start).take(end - start).collect()
                }
                PieceSource::Newline { .. } => NEWLINE_MARKER.to_string(),
            })
        });
        found
    }

    fn lower(text: &str) -> String {
        let (mut out, mut origin) = (Vec::new(), Vec::new());
        Lowercaser::default()
            .lower(&chars(text), &mut out, Some(&mut origin))
            .unwrap();
        assert_eq!(origin.len(), out.len());
        out.iter().map(|&c| char::from_u32(c).unwrap()).collect()
    }

    #[test]
    fn words_keep_one_trailing_newline() {
        assert_eq!(words("a\n\nb"), vec!["a\n", "b"]);
        assert_eq!(words("hi\r\nthere"), vec!["hi", "there"]);
        assert_eq!(
            words(" x\u{a0}y\u{3000}z\u{1c}w "),
            vec!["x", "y", "z\u{1c}w"]
        );
    }

    #[test]
    fn punctuation_and_apostrophes_make_pieces() {
        assert_eq!(pieces("(x)"), vec!["(x", ")"]);
        assert_eq!(pieces("don't."), vec!["don", "'", "t", "."]);
        assert_eq!(pieces("a..b"), vec!["a", ".", ".b"]);
        assert_eq!(pieces("x\n"), vec!["x", NEWLINE_MARKER]);
        assert_eq!(pieces("can'\n"), vec!["can", "'"]);
    }

    #[test]
    fn lowercasing_is_pythons() {
        assert_eq!(lower("HeLLo"), "hello");
        assert_eq!(lower("İ"), "i\u{307}");
        assert_eq!(lower("ΟΔΟΣ"), "οδος");
        assert_eq!(lower("Σ"), "σ");
        assert_eq!(lower("ΣΑΣ"), "σας");
        assert_eq!(lower("ΑΣ.Β"), "ασ.β");
    }

    #[test]
    fn python_text_round_trips_surrogates() {
        let mut bytes = Vec::new();
        for code in [0x61, 0xD800, 0xDFFF, 0x10FFFF, 0x7FF] {
            encode_into(code, &mut bytes);
        }
        assert!(validate_python_text(&bytes).is_ok());
        assert_eq!(decode_at(&bytes, 1), (0xD800, 3));
        assert_eq!(validate_python_text(b"a\xffb"), Err(1));
        assert_eq!(validate_python_text(b"\xe2\x82"), Err(0));
        assert_eq!(validate_python_text("a\u{e9}".as_bytes()), Ok(()));
        assert_eq!(validate_python_text(b"\xc3\xa9\xed\xa0\x80\xc3"), Err(5));
    }

    #[test]
    fn decoding_bytes_that_are_not_text_stays_inside_them() {
        for bytes in [
            &b"\xe2\x82"[..],
            b"\xf0",
            b"\xf0\x9f\x98",
            b"\xff\xff",
            b"\xc3 a",
        ] {
            let mut at = 0;
            while at < bytes.len() {
                let (_, width) = decode_at(bytes, at);
                assert!(width >= 1 && at + width <= bytes.len(), "{bytes:?} at {at}");
                at += width;
            }
            for_each_word(bytes, |word| assert!(word.end <= bytes.len()));
        }
    }
}
