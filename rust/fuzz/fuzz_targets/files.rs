//! Arbitrary `vocab.json` and `merges.txt` text: parsing never panics, what is parsed saves and
//! re-reads to the same thing, and a tokenizer built from it keeps every encoding law.
//!
//! The input is cut at the first two 0xFF bytes: the vocabulary's text, the merges' text, and a
//! text to encode (each used when it is UTF-8, resp. Python text).

#![no_main]

mod common;

use bbtok::bpe::MergeRanks;
use bbtok::vocab::{merges_text, parse_merges};
use bbtok::words::validate_python_text;
use bbtok::{AddedTokenTable, Tokenizer, Vocab};
use libfuzzer_sys::fuzz_target;

const SPECIALS: [&str; 4] = ["__start__", "__end__", "__unk__", "__null__"];
const TEXTS: [&str; 6] = [
    "",
    "adapt act apte",
    "Hello, World!\nIt's __null__ time.",
    "ΣΑΣ İ x__unk__y don'\n",
    "a b c ab abc </w> a</w>",
    "(x) a..b __newln__ \u{1c}x\u{a0}y",
];

/// A tokenizer as `Tokenizer::from_files` builds one from these files.
fn build_tokenizer(vocab: Vocab, merges: MergeRanks) -> Tokenizer {
    let mut tokenizer = Tokenizer::new(vocab, merges);
    let mut next_id = tokenizer.vocab().len() as u32;
    let added: Vec<(Vec<u8>, u32)> = SPECIALS
        .iter()
        .map(|special| {
            let id = tokenizer.vocab().id(special.as_bytes()).unwrap_or_else(|| {
                next_id += 1;
                next_id - 1
            });
            (special.as_bytes().to_vec(), id)
        })
        .collect();
    let unknown_id = added[2].1;
    tokenizer.set_added_tokens(AddedTokenTable::from_pairs(added), Vec::new());
    tokenizer.set_unknown(Some(b"__unk__".to_vec()), Some(unknown_id));
    tokenizer
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

    let vocab = vocab_text.ok().and_then(|json| Vocab::from_json(json).ok());
    if let Some((vocab, _)) = &vocab {
        let saved = vocab.to_json();
        let (again, warnings) = Vocab::from_json(&saved).expect("a saved vocab.json reads back");
        assert!(
            warnings.is_empty(),
            "a saved vocab.json warns: {warnings:?}"
        );
        assert_eq!(
            vocab.sorted(),
            again.sorted(),
            "vocab.json does not round-trip"
        );
        assert_eq!(saved, again.to_json(), "saving is not a fixed point");
    }

    let merges = merges_text_in.ok().map(|text| parse_merges(text).0);
    if let Some(merges) = &merges {
        let saved = merges_text(merges);
        let (again, _) = parse_merges(&saved);
        assert_eq!(
            merge_lines(merges),
            merge_lines(&again),
            "merges.txt does not round-trip through {saved:?}"
        );
        assert_eq!(saved, merges_text(&again), "saving is not a fixed point");
    }

    if let (Some((vocab, _)), Some(merges)) = (vocab, merges) {
        let tokenizer = build_tokenizer(vocab.clone(), merges.clone());
        let mut texts: Vec<&[u8]> = TEXTS.iter().map(|text| text.as_bytes()).collect();
        if validate_python_text(text).is_ok() {
            texts.push(text);
        }
        let specials: Vec<&[u8]> = SPECIALS.iter().map(|s| s.as_bytes()).collect();
        // A special token appended after a vocabulary with gaps can share an id with a token.
        common::check_laws(&tokenizer, &texts, &specials, false);

        // Saved and re-read files make a tokenizer that encodes the same: only the ranks'
        // order matters, and saving keeps it.
        let (vocab_again, _) = Vocab::from_json(&vocab.to_json()).expect("checked above");
        let (merges_again, _) = parse_merges(&merges_text(&merges));
        let reread = build_tokenizer(vocab_again, merges_again);
        for text in &texts {
            assert_eq!(
                tokenizer.encode(text),
                reread.encode(text),
                "saved files encode {text:?} differently"
            );
        }
    }
});
