//! Python text: UTF-8 in which lone surrogates (which a Python `str` may hold) are encoded like
//! any other code point (three bytes, as Python's `surrogatepass` does). A Rust `&str` is Python
//! text as it is; other bytes become [`PythonText`] only through [`PythonText::new`], which
//! checks them once, so every later stage may decode without checking again. All positions
//! count code points, as Python indexes. The two white-space classes the reference relies on
//! (the `regex` package's `\s` for words, Python's `str.isspace` for strip and split) are here.

use std::fmt;

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

/// Python's `str.isspace()` (used by `str.strip()` and `str.split()`).
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

/// The number of code points of Python text (every byte that is not a continuation byte
/// starts one).
pub fn char_count(text: &[u8]) -> usize {
    text.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// Bytes that are not Python text, and the offset of the first bad byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotText {
    pub offset: usize,
}

impl fmt::Display for NotText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid UTF-8 at byte offset {}", self.offset)
    }
}

impl std::error::Error for NotText {}

/// Check that `bytes` is Python text.
fn validate(bytes: &[u8]) -> Result<(), NotText> {
    // Almost every text is UTF-8: the standard library checks that fastest.
    let mut at = match std::str::from_utf8(bytes) {
        Ok(_) => return Ok(()),
        Err(error) => error.valid_up_to(),
    };
    while at < bytes.len() {
        let refused = Err(NotText { offset: at });
        let (len, min) = match bytes[at] {
            0x00..=0x7F => (1, 0),
            0xC2..=0xDF => (2, 0x80),
            0xE0..=0xEF => (3, 0x800),
            0xF0..=0xF4 => (4, 0x10000),
            _ => return refused,
        };
        if at + len > bytes.len() || bytes[at + 1..at + len].iter().any(|b| b & 0xC0 != 0x80) {
            return refused;
        }
        let (code, _) = decode_at(bytes, at);
        if code < min || code > 0x10FFFF {
            return refused;
        }
        at += len;
    }
    Ok(())
}

/// Borrowed Python text, checked once: a `&str`, or bytes that [`PythonText::new`] accepted.
///
/// ```
/// use bbtok::PythonText;
/// assert!(PythonText::new(b"a\xed\xa0\x80").is_ok()); // "a\ud800", as surrogatepass writes it
/// assert_eq!(PythonText::new(b"ab\xff").unwrap_err().offset, 2);
/// assert_eq!(PythonText::from("été").char_count(), 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PythonText<'a> {
    bytes: &'a [u8],
}

impl<'a> PythonText<'a> {
    /// `bytes` if they are Python text, else the offset of the first bad byte.
    pub fn new(bytes: &'a [u8]) -> Result<Self, NotText> {
        validate(bytes)?;
        Ok(PythonText { bytes })
    }

    /// Bytes known to be Python text (made from Python text).
    #[inline]
    pub(crate) fn from_checked(bytes: &'a [u8]) -> Self {
        debug_assert!(validate(bytes).is_ok());
        PythonText { bytes }
    }

    /// The bytes of the text.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The number of code points, as Python's `len()` counts them.
    pub fn char_count(&self) -> usize {
        char_count(self.bytes)
    }

    /// The code points, lone surrogates included.
    ///
    /// ```
    /// let text = bbtok::PythonText::new(b"a\xed\xa0\x80").unwrap();
    /// assert_eq!(text.code_points().collect::<Vec<_>>(), [0x61, 0xD800]);
    /// ```
    pub fn code_points(&self) -> impl Iterator<Item = u32> + 'a {
        let bytes = self.bytes;
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < bytes.len()).then(|| {
                let (code, width) = decode_at(bytes, at);
                at += width;
                code
            })
        })
    }
}

impl<'a> From<&'a str> for PythonText<'a> {
    #[inline]
    fn from(text: &'a str) -> Self {
        PythonText {
            bytes: text.as_bytes(),
        }
    }
}

impl<'a> From<&'a PythonString> for PythonText<'a> {
    #[inline]
    fn from(text: &'a PythonString) -> Self {
        text.as_text()
    }
}

/// Owned Python text (a token), checked once like [`PythonText`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PythonString {
    bytes: Vec<u8>,
}

impl PythonString {
    /// `bytes` if they are Python text, else the offset of the first bad byte.
    pub fn new(bytes: Vec<u8>) -> Result<Self, NotText> {
        validate(&bytes)?;
        Ok(PythonString { bytes })
    }

    /// Bytes known to be Python text (made from Python text).
    pub(crate) fn from_checked(bytes: Vec<u8>) -> Self {
        debug_assert!(validate(&bytes).is_ok());
        PythonString { bytes }
    }

    /// The text, borrowed.
    #[inline]
    pub fn as_text(&self) -> PythonText<'_> {
        PythonText { bytes: &self.bytes }
    }

    /// The bytes of the text.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Box<[u8]> {
        self.bytes.into_boxed_slice()
    }
}

impl From<&str> for PythonString {
    fn from(text: &str) -> Self {
        PythonString {
            bytes: text.as_bytes().into(),
        }
    }
}

impl From<String> for PythonString {
    fn from(text: String) -> Self {
        PythonString {
            bytes: text.into_bytes(),
        }
    }
}

impl From<PythonText<'_>> for PythonString {
    fn from(text: PythonText<'_>) -> Self {
        PythonString {
            bytes: text.bytes.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_text_round_trips_surrogates() {
        let mut bytes = Vec::new();
        for code in [0x61, 0xD800, 0xDFFF, 0x10FFFF, 0x7FF] {
            encode_into(code, &mut bytes);
        }
        assert!(PythonText::new(&bytes).is_ok());
        assert_eq!(decode_at(&bytes, 1), (0xD800, 3));
        let offset = |bytes: &[u8]| PythonText::new(bytes).err().map(|e| e.offset);
        assert_eq!(offset(b"a\xffb"), Some(1));
        assert_eq!(offset(b"\xe2\x82"), Some(0));
        assert_eq!(offset("a\u{e9}".as_bytes()), None);
        assert_eq!(offset(b"\xc3\xa9\xed\xa0\x80\xc3"), Some(5));
        assert_eq!(offset(b"\xc0\xaf"), Some(0)); // overlong
        assert_eq!(offset(b"\xf4\x90\x80\x80"), Some(0)); // beyond U+10FFFF
    }

    #[test]
    fn owned_text_is_checked_like_borrowed_text() {
        assert_eq!(
            PythonString::new(b"ok\xc3".to_vec()),
            Err(NotText { offset: 2 })
        );
        let token = PythonString::new(b"\xed\xb0\x80x".to_vec()).unwrap();
        assert_eq!(token.as_text().char_count(), 2);
        assert_eq!(PythonString::from("é").as_bytes(), "é".as_bytes());
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
        }
    }

    #[test]
    fn python_space_adds_the_separators_to_regex_space() {
        assert!(is_python_space(0x1C) && is_python_space(0x85) && is_python_space(0x3000));
        assert!(!is_python_space(0x200B) && !is_python_space(0xFEFF));
    }
}
