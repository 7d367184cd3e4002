//! What reading `vocab.json` and `merges.txt` can report: errors and warnings as data, worded
//! exactly as the pure-Python readers (`python/bbtok/tokenization/vocabulary_files.py`) word
//! them; and the one way both files are read (UTF-8, text mode).
//!
//! A message quotes tokens and values as Python's `repr` does. The core has no Python to ask,
//! so [`Repr`] is a parameter: [`ApproximateRepr`] for Rust callers, the binding's own for
//! messages that must match the pure-Python readers word for word.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The largest id we accept: ids index embedding rows, and larger ones are a corrupt file.
pub const MAX_ID: u64 = i32::MAX as u64;

/// How a message quotes a text and a JSON value: Python's `repr` of the text, and of the value
/// `json.loads` makes of `raw` JSON.
pub trait Repr {
    /// `repr(text)`.
    fn text(&self, text: &str) -> String;
    /// `repr(json.loads(raw))`.
    fn json(&self, raw: &str) -> String;
}

/// Python's `repr` as near as Rust alone gets: exact for ASCII text and for the numbers,
/// strings and constants of a vocabulary; the binding asks Python instead.
pub struct ApproximateRepr;

impl Repr for ApproximateRepr {
    fn text(&self, text: &str) -> String {
        let quote = if text.contains('\'') && !text.contains('"') {
            '"'
        } else {
            '\''
        };
        let mut out = String::with_capacity(text.len() + 2);
        out.push(quote);
        for c in text.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c == quote => {
                    out.push('\\');
                    out.push(c);
                }
                c if (c as u32) < 0x20 || (0x7F..=0xA0).contains(&(c as u32)) => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        out.push(quote);
        out
    }

    fn json(&self, raw: &str) -> String {
        match raw {
            "true" => "True".into(),
            "false" => "False".into(),
            "null" => "None".into(),
            _ => match serde_json::from_str::<String>(raw) {
                Ok(text) => self.text(&text),
                Err(_) => raw.to_string(),
            },
        }
    }
}

/// Why `vocab.json` or `merges.txt` could not be read. `name` is the path as the caller named
/// the file (the binding reads through a descriptor's path, but names the file it was given).
#[derive(Debug, Clone)]
pub enum LoadError {
    /// The file could not be read; `source` is why (shared, so that the error stays `Clone`).
    Io {
        name: String,
        source: Arc<std::io::Error>,
    },
    /// Not UTF-8: the offset of the first bad byte, and Python's reason for it.
    NotUtf8 {
        name: String,
        offset: usize,
        reason: &'static str,
    },
    /// JSON that only Python's `json` module can report word for word: a syntax error (serde's
    /// words are not Python's), NaN, a lone surrogate escape, an object or a list where an id
    /// stands, a list where the object stands (Python may find it too deep), or a number too
    /// long for Python's `int`.
    JsonForPython { name: String, detail: String },
    /// Valid JSON that is not an object; `found` is the Python type's name.
    NotAnObject { name: String, found: &'static str },
    /// A token whose id is not an integer from 0 to `MAX_ID`; `value` is the raw JSON.
    BadId {
        name: String,
        token: String,
        value: String,
    },
    /// Two tokens with one id (after a repeated token kept its last id).
    SharedId {
        name: String,
        first: String,
        second: String,
        id: u32,
    },
}

impl LoadError {
    /// The message, quoting with `repr`; a `JsonForPython` has only serde's.
    pub fn message(&self, repr: &dyn Repr) -> String {
        match self {
            LoadError::Io { name, source } => format!("{name}: {source}"),
            LoadError::NotUtf8 {
                name,
                offset,
                reason,
            } => format!("{name}: invalid UTF-8 at byte offset {offset} ({reason})"),
            LoadError::JsonForPython { name, detail } => format!("{name}: invalid JSON: {detail}"),
            LoadError::NotAnObject { name, found } => {
                format!("{name}: a vocabulary must be a JSON object of token -> id, found {found}")
            }
            LoadError::BadId { name, token, value } => format!(
                "{name}: token {} has id {}; ids must be integers from 0 to {MAX_ID}",
                repr.text(token),
                repr.json(value)
            ),
            LoadError::SharedId {
                name,
                first,
                second,
                id,
            } => format!(
                "{name}: tokens {} and {} share the id {id}",
                repr.text(first),
                repr.text(second)
            ),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(&ApproximateRepr))
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// What reading a file noticed that the reference passes over in silence (Python's
/// `UserWarning`s of the pure-Python readers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadWarning {
    /// A token stands twice in `vocab.json`; the later id (raw JSON) wins.
    RepeatedToken {
        name: String,
        token: String,
        value: String,
    },
    /// The first line of `merges.txt` (its first 40 characters) is not a `#version` header.
    NoHeader { name: String, first_line: String },
    /// `merges.txt` does not end with a newline, so its last line (first 40 characters) is lost.
    NoFinalNewline { name: String, last_line: String },
    /// Lines of `merges.txt` that are not two symbols: how many, and the first five line numbers.
    OddLines {
        name: String,
        count: usize,
        first_lines: Vec<usize>,
    },
}

impl LoadWarning {
    /// The message, quoting with `repr`.
    pub fn message(&self, repr: &dyn Repr) -> String {
        match self {
            LoadWarning::RepeatedToken { name, token, value } => format!(
                "{name}: token {} appears twice; the later id {} wins, as in the reference",
                repr.text(token),
                repr.json(value)
            ),
            LoadWarning::NoHeader { name, first_line } => format!(
                "{name}: line 1 ({}) is not a '#version' header; it is ignored, as in the \
                 reference",
                repr.text(first_line)
            ),
            LoadWarning::NoFinalNewline { name, last_line } => format!(
                "{name}: the file does not end with a newline, so its last line ({}) is \
                 ignored, as in the reference",
                repr.text(last_line)
            ),
            LoadWarning::OddLines {
                name,
                count,
                first_lines,
            } => {
                let shown: Vec<String> = first_lines.iter().map(usize::to_string).collect();
                let more = if *count > first_lines.len() {
                    ", ..."
                } else {
                    ""
                };
                format!(
                    "{name}: {count} line(s) are not two symbols (line {}{more}); they take a \
                     rank but never match, as in the reference",
                    shown.join(", ")
                )
            }
        }
    }
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(&ApproximateRepr))
    }
}

/// The first `count` characters of `text` (Python's `text[:count]`).
pub(crate) fn first_chars(text: &str, count: usize) -> String {
    text.chars().take(count).collect()
}

/// Python's reason for the UTF-8 error at `offset` (`error_len` as Rust's `Utf8Error` has it).
fn utf8_reason(bytes: &[u8], offset: usize, error_len: Option<usize>) -> &'static str {
    match (bytes[offset], error_len) {
        (0x80..=0xC1 | 0xF5..=0xFF, _) => "invalid start byte",
        (_, None) => "unexpected end of data",
        _ => "invalid continuation byte",
    }
}

/// Decode a file's bytes as the pure-Python readers do: UTF-8 (a BOM is kept, as Python's
/// `utf-8` codec keeps it), then text mode's newlines ("\r\n" and a lone "\r" end lines as
/// "\n" does).
pub fn decode_text(bytes: Vec<u8>, name: &str) -> Result<String, LoadError> {
    let text = String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let error_len = error.utf8_error().error_len();
        LoadError::NotUtf8 {
            name: name.to_string(),
            offset,
            reason: utf8_reason(error.as_bytes(), offset, error_len),
        }
    })?;
    Ok(if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    })
}

/// Read the file at `path` (named `name` in messages) as [`decode_text`] decodes it.
pub fn read_text(path: &Path, name: &str) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
        name: name.to_string(),
        source: Arc::new(error),
    })?;
    decode_text(bytes, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(bytes: &[u8]) -> String {
        decode_text(bytes.to_vec(), "f").unwrap_err().to_string()
    }

    #[test]
    fn utf8_errors_give_pythons_reason() {
        assert_eq!(
            reason(b"ab\xffc"),
            "f: invalid UTF-8 at byte offset 2 (invalid start byte)"
        );
        assert_eq!(
            reason(b"a\xc3"),
            "f: invalid UTF-8 at byte offset 1 (unexpected end of data)"
        );
        assert_eq!(
            reason(b"\xed\xa0\x80"),
            "f: invalid UTF-8 at byte offset 0 (invalid continuation byte)"
        );
        assert_eq!(
            reason(b"\xc0\xaf"),
            "f: invalid UTF-8 at byte offset 0 (invalid start byte)"
        );
    }

    #[test]
    fn text_mode_ends_lines_at_cr() {
        assert_eq!(decode_text(b"a\r\nb\rc".to_vec(), "f").unwrap(), "a\nb\nc");
        assert_eq!(
            decode_text(b"\xef\xbb\xbfa".to_vec(), "f").unwrap(),
            "\u{feff}a"
        );
    }

    #[test]
    fn approximate_repr_quotes_like_python() {
        let repr = ApproximateRepr;
        assert_eq!(repr.text("it's"), "\"it's\"");
        assert_eq!(repr.text("a\nb\\"), "'a\\nb\\\\'");
        assert_eq!(repr.json("\"1\""), "'1'");
        assert_eq!(repr.json("true"), "True");
        assert_eq!(repr.json("-1"), "-1");
    }

    #[test]
    fn odd_lines_show_five_line_numbers() {
        let warning = LoadWarning::OddLines {
            name: "m".into(),
            count: 7,
            first_lines: vec![2, 3, 4, 5, 6],
        };
        assert_eq!(
            warning.to_string(),
            "m: 7 line(s) are not two symbols (line 2, 3, 4, 5, 6, ...); they take a rank but \
             never match, as in the reference"
        );
    }
}
