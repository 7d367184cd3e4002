//! Arbitrary `vocab.json` and `merges.txt` text: parsing never panics, what is parsed saves and
//! re-reads to the same thing, and a tokenizer built from it keeps every encoding law.
//!
//! The input is cut at the first two 0xFF bytes: the vocabulary's text, the merges' text, and a
//! text to encode (each used when it is UTF-8, resp. Python text).

#![no_main]

mod common;

use bbtok::{MergeRanks, PythonText, SpecialTokens, Tokenizer, Vocab};
use libfuzzer_sys::fuzz_target;

const TEXTS: [&str; 6] = [
    "",
    "adapt act apte",
    "Hello, World!\nIt's __null__ time.",
    "ΣΑΣ İ x__unk__y don'\n",
    "a b c ab abc </w> a</w>",
    "(x) a..b __newln__ \u{1c}x\u{a0}y",
];

/// Parse `vocab.json` text; the warnings' number.
fn parse_vocab(json: &str) -> Option<(Vocab, usize)> {
    let (vocab, warnings) = Vocab::from_json(json, "vocab.json").ok()?;
    Some((vocab, warnings.len()))
}

/// Parse `merges.txt` text.
fn merges_of(text: &str) -> MergeRanks {
    MergeRanks::parse(text, "merges.txt").0
}

/// The lines in rank order, without their ranks (saving renumbers them).
fn merge_lines(merges: &MergeRanks) -> Vec<Vec<String>> {
    merges
        .lines()
        .iter()
        .map(|(parts, _)| parts.to_vec())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xFF);
    let vocab_text = std::str::from_utf8(parts.next().unwrap_or_default());
    let merges_text_in = std::str::from_utf8(parts.next().unwrap_or_default());
    let text = parts.next().unwrap_or_default();

    let vocab = vocab_text.ok().and_then(parse_vocab);
    if let Some((vocab, _)) = &vocab {
        let saved = vocab.to_json();
        let (again, warnings) = parse_vocab(&saved).expect("a saved vocab.json reads back");
        assert_eq!(warnings, 0, "a saved vocab.json warns");
        assert_eq!(
            vocab.sorted(),
            again.sorted(),
            "vocab.json does not round-trip"
        );
        assert_eq!(saved, again.to_json(), "saving is not a fixed point");
    }

    let merges = merges_text_in.ok().map(merges_of);
    if let Some(merges) = &merges {
        let saved = merges.to_text();
        let again = merges_of(&saved);
        assert_eq!(
            merge_lines(merges),
            merge_lines(&again),
            "merges.txt does not round-trip through {saved:?}"
        );
        assert_eq!(saved, again.to_text(), "saving is not a fixed point");
    }

    if let (Some((vocab, _)), Some(merges)) = (vocab, merges) {
        let tokenizer = Tokenizer::blenderbot_small(vocab.clone(), merges.clone());
        let mut texts: Vec<PythonText<'_>> = TEXTS.iter().map(|&text| text.into()).collect();
        if let Ok(text) = PythonText::new(text) {
            texts.push(text);
        }
        let special_tokens = SpecialTokens::default();
        let specials: Vec<&[u8]> = special_tokens.tokens().map(str::as_bytes).collect();
        // A special token appended after a vocabulary with gaps can share an id with a token.
        common::check_laws(&tokenizer, &texts, &specials, false);

        // Saved and re-read files make a tokenizer that encodes the same: only the ranks'
        // order matters, and saving keeps it.
        let (vocab_again, _) = parse_vocab(&vocab.to_json()).expect("checked above");
        let merges_again = merges_of(&merges.to_text());
        let reread = Tokenizer::blenderbot_small(vocab_again, merges_again);
        for text in &texts {
            assert_eq!(
                tokenizer.encode(*text),
                reread.encode(*text),
                "saved files encode {text:?} differently"
            );
        }
    }
});
