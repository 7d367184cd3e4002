//! Reading and writing `vocab.json` and `merges.txt` exactly as the reference does.

use crate::bpe::MergeRanks;
use crate::strings::StringTable;
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
    /// The tokens; `ids[i]` is the id of token `i`.
    tokens: StringTable,
    ids: Vec<u32>,
    /// Id -> token index.
    by_id: FxHashMap<u32, u32>,
}

/// What reading a file noticed that the reference passes over in silence.
pub type Warnings = Vec<String>;

/// An id as `vocab.json` gives it: an integer from 0 to `MAX_ID`, or what stood there instead.
enum IdValue {
    Id(u32),
    Bad(String),
}

impl<'de> serde::Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token id")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IdValue, E> {
                Ok(match u32::try_from(v) {
                    Ok(id) if u64::from(id) <= MAX_ID => IdValue::Id(id),
                    _ => IdValue::Bad(v.to_string()),
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IdValue, E> {
                Ok(match u64::try_from(v) {
                    Ok(v) => return self.visit_u64(v),
                    Err(_) => IdValue::Bad(v.to_string()),
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<IdValue, E> {
                Ok(IdValue::Bad(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<IdValue, E> {
                Ok(IdValue::Bad(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IdValue, E> {
                Ok(IdValue::Bad(format!("{v:?}")))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<IdValue, E> {
                Ok(IdValue::Bad("null".into()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<IdValue, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(IdValue::Bad("a list".into()))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<IdValue, M::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(IdValue::Bad("an object".into()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// A token as `vocab.json` writes it: borrowed from the text unless it has escapes.
enum Key<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl AsRef<str> for Key<'_> {
    fn as_ref(&self) -> &str {
        match self {
            Key::Borrowed(text) => text,
            Key::Owned(text) => text,
        }
    }
}

impl std::fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The entries of `vocab.json` in file order, or the first bad id.
struct Entries<'a>(Result<Vec<(Key<'a>, u32)>, String>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of token -> id")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Entries<'de>, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(1024));
                let mut bad = None;
                while let Some((token, id)) = map.next_entry::<Key<'de>, IdValue>()? {
                    match id {
                        IdValue::Id(id) => entries.push((token, id)),
                        IdValue::Bad(value) if bad.is_none() => {
                            bad = Some(format!(
                                "token {token:?} has id {value}; ids must be integers from 0 to {MAX_ID}"
                            ))
                        }
                        IdValue::Bad(_) => {}
                    }
                }
                Ok(Entries(bad.map_or(Ok(entries), Err)))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

impl Vocab {
    /// Build from (token, id) pairs; a repeated token keeps its last id, as a JSON object
    /// read by Python does; two tokens on one id is an error naming both.
    pub fn from_entries<S: AsRef<str>>(
        entries: impl IntoIterator<Item = (S, u32)>,
    ) -> Result<Self, String> {
        Ok(Vocab::from_entries_noting_repeats(entries)?.0)
    }

    fn from_entries_noting_repeats<S: AsRef<str>>(
        entries: impl IntoIterator<Item = (S, u32)>,
    ) -> Result<(Self, Warnings), String> {
        let entries = entries.into_iter();
        let count = entries.size_hint().0;
        let mut vocab = Vocab {
            tokens: StringTable::with_capacity(count, count * 8),
            ids: Vec::with_capacity(count),
            by_id: FxHashMap::default(),
        };
        vocab.by_id.reserve(count);
        let mut warnings = Vec::new();
        for (token, id) in entries {
            let token = token.as_ref();
            let index = vocab.tokens.intern(token);
            if (index as usize) < vocab.ids.len() {
                warnings.push(format!("token {token:?} appears twice; the later id wins"));
                vocab.by_id.remove(&vocab.ids[index as usize]);
                vocab.ids[index as usize] = id;
            } else {
                vocab.ids.push(id);
            }
            if let Some(&other) = vocab.by_id.get(&id) {
                let other = vocab.tokens.get(other);
                return Err(format!("tokens {other:?} and {token:?} share the id {id}"));
            }
            vocab.by_id.insert(id, index);
        }
        Ok((vocab, warnings))
    }

    /// Parse the text of `vocab.json`.
    pub fn from_json(text: &str) -> Result<(Self, Warnings), String> {
        let Entries(entries) =
            serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))?;
        Vocab::from_entries_noting_repeats(entries?)
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
        self.tokens
            .find(token)
            .map(|index| self.ids[index as usize])
    }

    /// The token of an id, if any.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.by_id.get(&id).map(|&index| self.tokens.get(index))
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// (token, id) pairs in the order of the file (a repeated token where it first stood, as a
    /// Python dict keeps it).
    pub fn entries(&self) -> impl Iterator<Item = (&str, u32)> {
        self.tokens
            .iter()
            .map(|(index, token)| (token, self.ids[index as usize]))
    }

    /// (token, id) pairs sorted by token, as `vocab.json` is saved.
    pub fn sorted(&self) -> Vec<(&str, u32)> {
        let mut entries: Vec<(&str, u32)> = self
            .tokens
            .iter()
            .map(|(index, token)| (token, self.ids[index as usize]))
            .collect();
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

/// The symbols of one merges line; two, nearly always.
enum LineParts<'a> {
    Two([&'a str; 2]),
    Other(Vec<&'a str>),
}

impl<'a> AsRef<[&'a str]> for LineParts<'a> {
    fn as_ref(&self) -> &[&'a str] {
        match self {
            LineParts::Two(parts) => parts,
            LineParts::Other(parts) => parts,
        }
    }
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
    let parsed = body.iter().map(|line| {
        let mut parts = line
            .split(|c: char| is_python_space(c as u32))
            .filter(|part| !part.is_empty());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(left), Some(right), None) => LineParts::Two([left, right]),
            (first, second, third) => {
                odd += 1;
                let mut all: Vec<&str> = [first, second, third].into_iter().flatten().collect();
                all.extend(parts);
                LineParts::Other(all)
            }
        }
    });
    let merges = MergeRanks::new(parsed);
    if odd > 0 {
        warnings.push(format!(
            "{odd} line(s) are not two symbols; they never match"
        ));
    }
    (merges, warnings)
}

/// Read `merges.txt`.
pub fn read_merges(path: &Path) -> Result<(MergeRanks, Warnings), LoadError> {
    Ok(parse_merges(&read_text(path)?))
}

/// The bytes the reference's `save_vocabulary` writes to `merges.txt`.
pub fn merges_text(merges: &MergeRanks) -> String {
    let mut out = String::from(MERGES_HEADER);
    out.push('\n');
    for (parts, _) in &merges.lines() {
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
