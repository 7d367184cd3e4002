//! Reading and writing `vocab.json` and `merges.txt` exactly as the reference does.

use crate::bpe::MergeRanks;
use crate::words::is_python_space;
use rustc_hash::FxHashMap;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest id we accept: ids index embedding rows, and larger ones are a corrupt file.
pub const MAX_ID: u64 = i32::MAX as u64;
/// The first line `save_vocabulary` writes to `merges.txt`.
pub const MERGES_HEADER: &str = "#version: 0.2";

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file does not exist (or is a directory, or cannot be read).
    Io { path: PathBuf, message: String },
    /// Not UTF-8: the byte offset of the first bad byte.
    Utf8 { path: PathBuf, offset: usize },
    /// Not JSON, or not a vocabulary: what is wrong.
    Format { path: PathBuf, message: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            LoadError::Utf8 { path, offset } => {
                write!(
                    f,
                    "{}: invalid UTF-8 at byte offset {offset}",
                    path.display()
                )
            }
            LoadError::Format { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for LoadError {}

fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|error| LoadError::Utf8 {
        path: path.to_path_buf(),
        offset: error.utf8_error().valid_up_to(),
    })?;
    // The reference reads in text mode: "\r\n" and a lone "\r" end lines as "\n" does.
    Ok(if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    })
}

/// Token <-> id, as `vocab.json` holds them.
#[derive(Clone, Debug, Default)]
pub struct Vocab {
    ids: FxHashMap<Box<[u8]>, u32>,
    tokens: FxHashMap<u32, Box<str>>,
}

/// What reading a file noticed that the reference passes over in silence.
pub type Warnings = Vec<String>;

struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of token -> id")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Entries, M::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

impl Vocab {
    /// Build from (token, id) pairs; two tokens on one id is an error naming both.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, u32)>) -> Result<Self, String> {
        let mut vocab = Vocab::default();
        for (token, id) in entries {
            if let Some(previous) = vocab.ids.remove(token.as_bytes()) {
                vocab.tokens.remove(&previous);
            }
            if let Some(other) = vocab.tokens.get(&id) {
                return Err(format!("tokens {other:?} and {token:?} share the id {id}"));
            }
            vocab.ids.insert(token.as_bytes().into(), id);
            vocab.tokens.insert(id, token.into_boxed_str());
        }
        Ok(vocab)
    }

    /// Parse the text of `vocab.json`.
    pub fn from_json(text: &str) -> Result<(Self, Warnings), String> {
        let Entries(entries) =
            serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))?;
        let mut warnings = Vec::new();
        let mut seen: FxHashMap<&str, ()> = FxHashMap::default();
        let mut checked = Vec::with_capacity(entries.len());
        for (token, value) in &entries {
            let id = value.as_u64().filter(|&id| id <= MAX_ID).ok_or_else(|| {
                format!("token {token:?} has id {value}; ids must be integers from 0 to {MAX_ID}")
            })?;
            if seen.insert(token, ()).is_some() {
                warnings.push(format!("token {token:?} appears twice; the later id wins"));
            }
            checked.push((token.clone(), id as u32));
        }
        Ok((Vocab::from_entries(checked)?, warnings))
    }

    /// Read `vocab.json`.
    pub fn from_file(path: &Path) -> Result<(Self, Warnings), LoadError> {
        let text = read_text(path)?;
        Vocab::from_json(&text).map_err(|message| LoadError::Format {
            path: path.to_path_buf(),
            message,
        })
    }

    /// The id of a token (exactly as written), if it is in the vocabulary.
    #[inline]
    pub fn id(&self, token: &[u8]) -> Option<u32> {
        self.ids.get(token).copied()
    }

    /// The token of an id, if any.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(&id).map(|t| &**t)
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// (token, id) pairs sorted by token, as `vocab.json` is saved.
    pub fn sorted(&self) -> Vec<(&str, u32)> {
        let mut entries: Vec<(&str, u32)> = self.tokens.iter().map(|(&id, t)| (&**t, id)).collect();
        entries.sort_unstable();
        entries
    }

    /// The bytes the reference's `save_vocabulary` writes: `json.dumps(vocab, indent=2,
    /// sort_keys=True, ensure_ascii=False) + "\n"`.
    pub fn to_json(&self) -> String {
        let entries = self.sorted();
        if entries.is_empty() {
            return "{}\n".to_string();
        }
        let mut out = String::from("{\n");
        for (i, (token, id)) in entries.iter().enumerate() {
            out.push_str("  ");
            push_json_string(&mut out, token);
            out.push_str(&format!(": {id}"));
            out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
        }
        out.push_str("}\n");
        out
    }
}

/// A JSON string as Python's `json.dumps(..., ensure_ascii=False)` writes it.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parse the text of `merges.txt` with the reference's quirks: the first line is dropped
/// whatever it says, and so is the last element of the split on `"\n"` (the last merge, when
/// the file does not end with a newline); each line is split on Python white space.
pub fn parse_merges(text: &str) -> (MergeRanks, Warnings) {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut warnings = Vec::new();
    if let Some(first) = lines.first() {
        if !first.is_empty() && !first.starts_with("#version") {
            warnings.push(format!(
                "line 1 ({first:?}) is not a '#version' header; it is ignored"
            ));
        }
    }
    if lines.len() > 1 && !lines[lines.len() - 1].is_empty() {
        warnings.push("the file does not end with a newline, so its last line is ignored".into());
    }
    let body = if lines.len() > 2 {
        &lines[1..lines.len() - 1]
    } else {
        &[][..]
    };
    let mut odd = 0;
    let parsed: Vec<Vec<String>> = body
        .iter()
        .map(|line| {
            let parts: Vec<String> = line
                .split(|c: char| is_python_space(c as u32))
                .filter(|part| !part.is_empty())
                .map(String::from)
                .collect();
            if parts.len() != 2 {
                odd += 1;
            }
            parts
        })
        .collect();
    if odd > 0 {
        warnings.push(format!(
            "{odd} line(s) are not two symbols; they never match"
        ));
    }
    (MergeRanks::new(parsed), warnings)
}

/// Read `merges.txt`.
pub fn read_merges(path: &Path) -> Result<(MergeRanks, Warnings), LoadError> {
    Ok(parse_merges(&read_text(path)?))
}

/// The bytes the reference's `save_vocabulary` writes to `merges.txt`.
pub fn merges_text(merges: &MergeRanks) -> String {
    let mut out = String::from(MERGES_HEADER);
    out.push('\n');
    for (parts, _) in merges.lines() {
        out.push_str(&parts.join(" "));
        out.push('\n');
    }
    out
}

/// Write `data` to `path` through a temporary file in the same directory and a rename, so the
/// file is never half-written.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty());
    let directory = directory.unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_json_is_written_like_python() {
        let (vocab, warnings) = Vocab::from_json(r#"{"b": 1, "a\"\n\u0001é": 0}"#).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            vocab.to_json(),
            "{\n  \"a\\\"\\n\\u0001é\": 0,\n  \"b\": 1\n}\n"
        );
        assert_eq!(Vocab::default().to_json(), "{}\n");
    }

    #[test]
    fn bad_vocabularies_are_refused() {
        assert!(Vocab::from_json("[1]").is_err());
        assert!(Vocab::from_json(r#"{"a": -1}"#)
            .unwrap_err()
            .contains("\"a\""));
        assert!(Vocab::from_json(r#"{"a": 1.5}"#).is_err());
        assert!(Vocab::from_json(r#"{"a": true}"#).is_err());
        assert!(Vocab::from_json(r#"{"a": 0, "b": 0}"#)
            .unwrap_err()
            .contains("\"b\""));
        let (vocab, warnings) = Vocab::from_json(r#"{"a": 0, "a": 1}"#).unwrap();
        assert_eq!((vocab.id(b"a"), warnings.len()), (Some(1), 1));
    }

    #[test]
    fn merges_keep_the_reference_quirks() {
        let (merges, warnings) = parse_merges("#version: 0.2\na b\nc\n\nd e f\na  b\nx y");
        assert_eq!(warnings.len(), 2);
        let lines: Vec<(String, u32)> = merges
            .lines()
            .iter()
            .map(|(p, r)| (p.join(" "), *r))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("c".into(), 1),
                ("".into(), 2),
                ("d e f".into(), 3),
                ("a b".into(), 4)
            ]
        );
        assert_eq!(merges_text(&merges), "#version: 0.2\nc\n\nd e f\na b\n");
    }
}
