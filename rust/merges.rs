//! `merges.txt`: read with every quirk of the reference (warnings in the pure-Python reader's
//! words, see [`crate::files`]), and written as `save_vocabulary` writes it.

use crate::bpe::MergeRanks;
use crate::files::{first_chars, read_text, LoadError, LoadWarning};
use crate::text::is_python_space;
use std::path::Path;

/// The first line `save_vocabulary` writes to `merges.txt`.
pub const MERGES_HEADER: &str = "#version: 0.2";

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

/// Parse the text of `merges.txt` (named `name` in warnings) with the reference's quirks: the
/// first line is dropped whatever it says, and so is the last element of the split on `"\n"`
/// (the last merge, when the file does not end with a newline); each line is split on Python
/// white space.
pub(crate) fn parse_merges(text: &str, name: &str, warnings: &mut Vec<LoadWarning>) -> MergeRanks {
    let lines: Vec<&str> = text.split('\n').collect();
    if let Some(first) = lines.first() {
        if !first.is_empty() && !first.starts_with("#version") {
            warnings.push(LoadWarning::NoHeader {
                name: name.to_string(),
                first_line: first_chars(first, 40),
            });
        }
    }
    if lines.len() > 1 && !lines[lines.len() - 1].is_empty() {
        warnings.push(LoadWarning::NoFinalNewline {
            name: name.to_string(),
            last_line: first_chars(lines[lines.len() - 1], 40),
        });
    }
    let body = if lines.len() > 2 {
        &lines[1..lines.len() - 1]
    } else {
        &[][..]
    };
    let mut odd_lines = Vec::new();
    let mut odd = 0;
    let parsed = body.iter().enumerate().map(|(rank, line)| {
        let mut parts = line
            .split(|c: char| is_python_space(c as u32))
            .filter(|part| !part.is_empty());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(left), Some(right), None) => LineParts::Two([left, right]),
            (first, second, third) => {
                odd += 1;
                if odd_lines.len() < 5 {
                    odd_lines.push(rank + 2);
                }
                let mut all: Vec<&str> = [first, second, third].into_iter().flatten().collect();
                all.extend(parts);
                LineParts::Other(all)
            }
        }
    });
    let merges = MergeRanks::new(parsed);
    if odd > 0 {
        warnings.push(LoadWarning::OddLines {
            name: name.to_string(),
            count: odd,
            first_lines: odd_lines,
        });
    }
    merges
}

/// Read `merges.txt` at `path` (named `name` in messages).
pub(crate) fn read_merges(
    path: &Path,
    name: &str,
    warnings: &mut Vec<LoadWarning>,
) -> Result<MergeRanks, LoadError> {
    Ok(parse_merges(&read_text(path, name)?, name, warnings))
}

/// The bytes the reference's `save_vocabulary` writes to `merges.txt`.
pub(crate) fn merges_text(merges: &MergeRanks) -> String {
    let mut out = String::from(MERGES_HEADER);
    out.push('\n');
    for (parts, _) in &merges.lines() {
        out.push_str(&parts.join(" "));
        out.push('\n');
    }
    out
}

impl MergeRanks {
    /// Parse the text of `merges.txt` (named `name` in warnings) with the reference's quirks
    /// (the first line is dropped whatever it says, and so is a last line without a newline;
    /// each line is split on Python white space), and what it holds that the reference passes
    /// over in silence.
    ///
    /// ```
    /// let (merges, warnings) = bbtok::MergeRanks::parse("#version: 0.2\na b\n", "m");
    /// assert_eq!((merges.len(), warnings.len()), (1, 0));
    /// assert_eq!(merges.to_text(), "#version: 0.2\na b\n");
    /// ```
    pub fn parse(text: &str, name: &str) -> (Self, Vec<LoadWarning>) {
        let mut warnings = Vec::new();
        let merges = parse_merges(text, name, &mut warnings);
        (merges, warnings)
    }

    /// The text the reference's `save_vocabulary` writes to `merges.txt`.
    pub fn to_text(&self) -> String {
        merges_text(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_keep_the_reference_quirks() {
        let mut warnings = Vec::new();
        let merges = parse_merges(
            "#version: 0.2\na b\nc\n\nd e f\na  b\nx y",
            "m",
            &mut warnings,
        );
        let warned: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warned,
            vec![
                "m: the file does not end with a newline, so its last line ('x y') is ignored, \
                 as in the reference",
                "m: 3 line(s) are not two symbols (line 3, 4, 5); they take a rank but never \
                 match, as in the reference",
            ]
        );
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

    #[test]
    fn a_first_line_that_is_not_a_header_is_named() {
        let mut warnings = Vec::new();
        parse_merges(&format!("{}\na b\n", "x".repeat(100)), "m", &mut warnings);
        assert_eq!(
            warnings,
            vec![LoadWarning::NoHeader {
                name: "m".into(),
                first_line: "x".repeat(40)
            }]
        );
    }
}
