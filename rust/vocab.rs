//! `vocab.json`: read exactly as the pure-Python reader reads it (every error and warning in
//! its words, see [`crate::files`]), and written as the reference's `save_vocabulary` writes it.

use crate::files::{read_text, LoadError, LoadWarning, MAX_ID};
use crate::strings::StringTable;
use rustc_hash::FxHashMap;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::path::Path;

/// Python's `int()` refuses to read a number of more digits (its default
/// `sys.get_int_max_str_digits()`); such a file is left to Python's `json` module.
const PYTHON_INT_DIGITS: usize = 4300;

/// Token <-> id, as `vocab.json` holds them.
#[derive(Clone, Debug, Default)]
pub struct Vocab {
    /// The tokens; `ids[i]` is the id of token `i`.
    tokens: StringTable,
    ids: Vec<u32>,
    /// Id -> token index.
    by_id: FxHashMap<u32, u32>,
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

/// The whole of `vocab.json`: the object's entries in file order, ids as raw JSON (read as
/// Python reads them afterwards), or the Python type of what stands instead of an object.
enum Document<'a> {
    Object(Vec<(Key<'a>, &'a RawValue)>),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Document<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Document<'de>, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(1024));
                while let Some(entry) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Document::Object(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Document::Other("list"))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Document<'de>, E> {
                Ok(Document::Other("str"))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Document<'de>, E> {
                Ok(Document::Other("bool"))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Document<'de>, E> {
                Ok(Document::Other("NoneType"))
            }
            // Numbers: the caller tells int from float by the text (serde reads an integer
            // beyond 64 bits as a float).
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Document<'de>, E> {
                Ok(Document::Other("number"))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Document<'de>, E> {
                Ok(Document::Other("number"))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Document<'de>, E> {
                Ok(Document::Other("number"))
            }
        }
        deserializer.deserialize_any(DocumentVisitor)
    }
}

/// A `vocab.json` whose every id is a plain non-negative integer (nearly all of them): read in
/// one pass with the ids as numbers. Anything else fails this reading, and the file is read
/// again as a [`Document`], whose raw ids let every message quote the file.
struct PlainDocument<'a>(Vec<(Key<'a>, u32)>);

/// An id as a plain JSON integer from 0 to `MAX_ID`, or an error (no message: it only sends
/// the file to the general reading).
struct PlainId(u32);

impl<'de> serde::Deserialize<'de> for PlainId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PlainIdVisitor;
        impl Visitor<'_> for PlainIdVisitor {
            type Value = PlainId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer id")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PlainId, E> {
                match u32::try_from(v) {
                    Ok(id) if v <= MAX_ID => Ok(PlainId(id)),
                    _ => Err(E::custom("not a plain id")),
                }
            }
        }
        deserializer.deserialize_u64(PlainIdVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for PlainDocument<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PlainVisitor;
        impl<'de> Visitor<'de> for PlainVisitor {
            type Value = PlainDocument<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of plain ids")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<PlainDocument<'de>, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(1024));
                while let Some((key, PlainId(id))) = map.next_entry::<Key<'de>, PlainId>()? {
                    entries.push((key, id));
                }
                Ok(PlainDocument(entries))
            }
        }
        deserializer.deserialize_map(PlainVisitor)
    }
}

/// An id as the file gives it: what Python makes of it, and its text for messages.
trait FileId: Copy {
    fn id(self) -> RawId;
    fn text(self) -> String;
}

impl FileId for &RawValue {
    fn id(self) -> RawId {
        raw_id(self.get())
    }
    fn text(self) -> String {
        self.get().to_string()
    }
}

impl FileId for u32 {
    fn id(self) -> RawId {
        RawId::Id(self)
    }
    fn text(self) -> String {
        // JSON writes a plain integer one way only (no sign, no leading zero).
        self.to_string()
    }
}

/// What Python's `json` makes of a raw JSON id: an id, a value that is not one, or a value only
/// Python's `json` can word (an object or a list, which may hold repeated keys it warns about;
/// a number too long for Python's `int`).
#[derive(Clone, Copy)]
enum RawId {
    Id(u32),
    Bad,
    ForPython,
}

fn raw_id(raw: &str) -> RawId {
    // Nearly every id: a plain integer of at most 10 digits (JSON allows no leading zeros).
    let bytes = raw.as_bytes();
    if !bytes.is_empty() && bytes.len() <= 10 && bytes.iter().all(u8::is_ascii_digit) {
        let id = bytes
            .iter()
            .fold(0u64, |id, &digit| id * 10 + u64::from(digit - b'0'));
        return if id <= MAX_ID {
            RawId::Id(id as u32)
        } else {
            RawId::Bad
        };
    }
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if raw.starts_with(['{', '[']) {
        return RawId::ForPython;
    }
    let integral = digits.bytes().all(|b| b.is_ascii_digit());
    let mantissa = digits.split(['.', 'e', 'E']).next().unwrap_or("");
    if mantissa.len() > PYTHON_INT_DIGITS && integral {
        return RawId::ForPython;
    }
    if digits.is_empty() || !integral {
        return RawId::Bad;
    }
    if raw.starts_with('-') {
        // JSON has no leading zeros: "-0" is the one negative integer that is an id.
        return if digits == "0" {
            RawId::Id(0)
        } else {
            RawId::Bad
        };
    }
    match digits.parse::<u64>() {
        Ok(id) if id <= MAX_ID => RawId::Id(id as u32),
        _ => RawId::Bad,
    }
}

impl Vocab {
    /// Build from (token, id) pairs of distinct tokens (a parsed vocabulary: a Python dict);
    /// two tokens on one id is an error naming both.
    pub fn from_entries<S: AsRef<str>>(
        entries: impl IntoIterator<Item = (S, u32)>,
    ) -> Result<Self, String> {
        let entries = entries.into_iter();
        let count = entries.size_hint().0;
        let mut vocab = Vocab {
            tokens: StringTable::with_capacity(count, count * 8),
            ids: Vec::with_capacity(count),
            by_id: FxHashMap::default(),
        };
        vocab.by_id.reserve(count);
        for (token, id) in entries {
            let token = token.as_ref();
            let index = vocab.tokens.intern(token);
            if (index as usize) < vocab.ids.len() {
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
        Ok(vocab)
    }

    /// Parse the text of `vocab.json` (named `name` in messages) as the pure-Python reader
    /// does: a repeated token keeps its last id (with a warning), then every token in file
    /// order must have an id from 0 to `MAX_ID` that no earlier token has.
    ///
    /// ```
    /// use bbtok::Vocab;
    /// let (vocab, warnings) = Vocab::from_json(r#"{"a": "x", "b": 1, "a": 0}"#, "v").unwrap();
    /// assert_eq!((vocab.id(b"a"), warnings.len()), (Some(0), 1));
    /// let error = Vocab::from_json(r#"{"a": 0, "b": 0}"#, "v").unwrap_err();
    /// assert_eq!(error.to_string(), "v: tokens 'a' and 'b' share the id 0");
    /// ```
    pub fn from_json(text: &str, name: &str) -> Result<(Self, Vec<LoadWarning>), LoadError> {
        let mut warnings = Vec::new();
        let vocab = Vocab::read_json(text, name, &mut warnings)?;
        Ok((vocab, warnings))
    }

    /// `from_json`, adding its warnings to `warnings`, which keeps those that come before an
    /// error (the binding warns with them before it raises, as the pure-Python reader does).
    pub(crate) fn read_json(
        text: &str,
        name: &str,
        warnings: &mut Vec<LoadWarning>,
    ) -> Result<Self, LoadError> {
        if let Ok(PlainDocument(entries)) = serde_json::from_str::<PlainDocument<'_>>(text) {
            return Vocab::from_file_entries(&entries, name, warnings);
        }
        let for_python = |detail: String| LoadError::JsonForPython {
            name: name.to_string(),
            detail,
        };
        let entries = match serde_json::from_str::<Document<'_>>(text) {
            Ok(Document::Object(entries)) => entries,
            Ok(Document::Other(found)) => {
                let found = match found {
                    // Python's json may give up on a deep list (RecursionError) before it is one.
                    "list" => return Err(for_python("a list".into())),
                    "number" if text.trim().contains(['.', 'e', 'E']) => "float",
                    "number" if text.trim().len() > PYTHON_INT_DIGITS => {
                        return Err(for_python("a number too long for Python's int".into()))
                    }
                    "number" => "int",
                    found => found,
                };
                return Err(LoadError::NotAnObject {
                    name: name.to_string(),
                    found,
                });
            }
            Err(error) => return Err(for_python(error.to_string())),
        };
        // Python's json would have refused these while parsing, before any other check.
        for (_, raw) in &entries {
            if let RawId::ForPython = raw_id(raw.get()) {
                return Err(for_python(format!("an id Python reads: {}", raw.get())));
            }
        }
        Vocab::from_file_entries(&entries, name, warnings)
    }

    /// The vocabulary of a file's entries, in file order, as the pure-Python reader makes it: a
    /// repeated token keeps its first place and its last id (with a warning), then every token
    /// must have an id from 0 to `MAX_ID` that no earlier token has.
    fn from_file_entries<I: FileId>(
        entries: &[(Key<'_>, I)],
        name: &str,
        warnings: &mut Vec<LoadWarning>,
    ) -> Result<Self, LoadError> {
        if let Some(vocab) = Vocab::from_distinct_entries(entries) {
            return Ok(vocab);
        }
        let count = entries.len();
        let mut tokens = StringTable::with_capacity(count, count * 8);
        let mut file_ids: Vec<I> = Vec::with_capacity(count);
        for &(ref token, file_id) in entries {
            let token = token.as_ref();
            let index = tokens.intern(token) as usize;
            if index < file_ids.len() {
                warnings.push(LoadWarning::RepeatedToken {
                    name: name.to_string(),
                    token: token.to_string(),
                    value: file_id.text(),
                });
                file_ids[index] = file_id;
            } else {
                file_ids.push(file_id);
            }
        }
        let mut vocab = Vocab {
            tokens,
            ids: Vec::with_capacity(count),
            by_id: FxHashMap::default(),
        };
        vocab.by_id.reserve(file_ids.len());
        for (index, &file_id) in file_ids.iter().enumerate() {
            let token = || vocab.tokens.get(index as u32).to_string();
            let RawId::Id(id) = file_id.id() else {
                return Err(LoadError::BadId {
                    name: name.to_string(),
                    token: token(),
                    value: file_id.text(),
                });
            };
            if let Some(&other) = vocab.by_id.get(&id) {
                return Err(LoadError::SharedId {
                    name: name.to_string(),
                    first: vocab.tokens.get(other).to_string(),
                    second: token(),
                    id,
                });
            }
            vocab.by_id.insert(id, index as u32);
            vocab.ids.push(id);
        }
        Ok(vocab)
    }

    /// One pass for the usual file, whose tokens and ids are all distinct and whose ids are all
    /// valid; None when a token repeats or an id is bad or taken (the two-pass reading of
    /// [`Vocab::from_file_entries`] then gives Python's outcome and words it).
    fn from_distinct_entries<I: FileId>(entries: &[(Key<'_>, I)]) -> Option<Self> {
        let count = entries.len();
        let mut vocab = Vocab {
            tokens: StringTable::with_capacity(count, count * 8),
            ids: Vec::with_capacity(count),
            by_id: FxHashMap::default(),
        };
        vocab.by_id.reserve(count);
        for &(ref token, file_id) in entries {
            let RawId::Id(id) = file_id.id() else {
                return None;
            };
            let index = vocab.tokens.intern(token.as_ref());
            if index as usize != vocab.ids.len() || vocab.by_id.insert(id, index).is_some() {
                return None;
            }
            vocab.ids.push(id);
        }
        Some(vocab)
    }

    /// Read `vocab.json` at `path` (named `name` in messages), as `read_json`.
    pub(crate) fn read_file(
        path: &Path,
        name: &str,
        warnings: &mut Vec<LoadWarning>,
    ) -> Result<Self, LoadError> {
        Vocab::read_json(&read_text(path, name)?, name, warnings)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(Vocab, Vec<String>), String> {
        let mut warnings = Vec::new();
        let vocab = Vocab::read_json(text, "v", &mut warnings).map_err(|e| e.to_string())?;
        Ok((vocab, warnings.iter().map(ToString::to_string).collect()))
    }

    #[test]
    fn vocab_json_is_written_like_python() {
        let (vocab, warnings) = parse(r#"{"b": 1, "a\"\n\u0001é": 0}"#).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            vocab.to_json(),
            "{\n  \"a\\\"\\n\\u0001é\": 0,\n  \"b\": 1\n}\n"
        );
        assert_eq!(Vocab::default().to_json(), "{}\n");
    }

    #[test]
    fn bad_vocabularies_are_refused_in_pythons_words() {
        let error = |text: &str| parse(text).unwrap_err();
        assert_eq!(
            error("\"x\""),
            "v: a vocabulary must be a JSON object of token -> id, found str"
        );
        assert!(error("1.5").ends_with("found float"));
        assert!(error("18446744073709551616").ends_with("found int"));
        assert!(error("null").ends_with("found NoneType"));
        assert_eq!(
            error(r#"{"a": -1}"#),
            "v: token 'a' has id -1; ids must be integers from 0 to 2147483647"
        );
        assert!(error(r#"{"a": 1.0}"#).contains("has id 1.0;"));
        assert!(error(r#"{"a": true}"#).contains("has id True;"));
        assert!(error(r#"{"a": "1"}"#).contains("has id '1';"));
        assert!(error(r#"{"a": 2147483648}"#).contains("has id 2147483648;"));
        assert_eq!(
            error(r#"{"a": 0, "b": 0}"#),
            "v: tokens 'a' and 'b' share the id 0"
        );
    }

    #[test]
    fn what_only_python_can_word_is_left_to_it() {
        let mut warnings = Vec::new();
        for text in [
            "{",
            "[1]",
            r#"{"a": NaN}"#,
            r#"{"\ud800": 0}"#,
            r#"{"a": {"x": 1, "x": 2}}"#,
            r#"{"a": [], "a": 0}"#,
        ] {
            let error = Vocab::read_json(text, "v", &mut warnings).unwrap_err();
            assert!(matches!(error, LoadError::JsonForPython { .. }), "{text}");
        }
        let long = format!(r#"{{"a": {}}}"#, "9".repeat(5000));
        let error = Vocab::read_json(&long, "v", &mut warnings).unwrap_err();
        assert!(matches!(error, LoadError::JsonForPython { .. }));
    }

    #[test]
    fn a_repeated_token_keeps_its_place_and_its_last_id() {
        let (vocab, warnings) = parse(r#"{"a": "x", "b": 1, "a": 0}"#).unwrap();
        assert_eq!(
            vocab.entries().collect::<Vec<_>>(),
            vec![("a", 0), ("b", 1)]
        );
        assert_eq!(
            warnings,
            vec!["v: token 'a' appears twice; the later id 0 wins, as in the reference"]
        );
        // The last id is checked, in the first place: "a" comes before "b".
        assert_eq!(
            parse(r#"{"a": 0, "b": 1, "a": 1}"#).unwrap_err(),
            "v: tokens 'a' and 'b' share the id 1"
        );
        assert!(parse(r#"{"a": -0, "b": 1}"#).is_ok());
    }
}
