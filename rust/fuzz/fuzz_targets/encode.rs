//! Arbitrary text through the realistic tokenizer: encode, offsets, batches, decode.
//!
//! The input is cut at each 0xFF byte (never part of Python text) into several texts; those
//! that are Python text are encoded one by one and as a batch, by tokenizers with the
//! reference's special tokens and with overlapping added tokens; a tokenizer whose word cache is
//! off must encode exactly as the same one with a warm cache. The input read as 16-bit ids,
//! negative and unknown ones included, is decoded too. Bytes that are not Python text never reach
//! the tokenizer: they are refused where they would become text, at their first bad byte.

#![no_main]

mod common;

use bbtok::{AddedTokenTable, NotText, PythonString, PythonText, SpecialTokens, Tokenizer};
use libfuzzer_sys::fuzz_target;
use rustc_hash::FxHashSet;
use std::path::Path;
use std::sync::OnceLock;

/// Overlapping added tokens: prefixes of each other, one inside another, one with a space, one
/// not ASCII (which turns off the trie's ASCII fast path), and one that is a special token.
const ADDED: [&str; 7] = ["ab", "abc", "b", "__null__", "a b", "é", "_"];
/// Segments that stand as one token when a whole segment equals them.
const UNITS: [&str; 3] = ["xyz", "__start__", "Hello"];

struct Tokenizers {
    /// As `from_files` loads it: the reference's special tokens, an unknown token.
    specials: Tokenizer,
    specials_uncached: Tokenizer,
    /// Overlapping added tokens and units, with an unknown token.
    added: Tokenizer,
    added_uncached: Tokenizer,
    /// The same with no unknown token, so unknown tokens fail.
    strict: Tokenizer,
}

/// The sample checkpoint's files, with BlenderBot-small's special tokens.
fn realistic() -> Tokenizer {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/bbtok/data/sample_checkpoint");
    Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt"))
        .expect("the sample vocabulary loads")
        .0
}

/// The sample's tokenizer built with `special_tokens`, its added tokens then replaced by the
/// overlapping ones and units: the unknown token stays the builder's (none for
/// `SpecialTokens::none()`).
fn with_added(special_tokens: SpecialTokens) -> Tokenizer {
    let sample = realistic();
    let mut tokenizer = Tokenizer::builder(sample.vocab().clone(), sample.merges().clone())
        .special_tokens(special_tokens)
        .build();
    let size = tokenizer.vocab().len() as u32;
    let ids = [5, size + 10, size + 11, size + 3, 7, size + 12, size + 13];
    let added = ADDED
        .iter()
        .zip(ids)
        .map(|(token, id)| ((*token).into(), id))
        .collect();
    tokenizer.set_added_tokens(
        AddedTokenTable::from_pairs(added),
        UNITS.iter().map(|&unit| unit.into()).collect(),
    );
    tokenizer
}

fn tokenizers() -> &'static Tokenizers {
    static TOKENIZERS: OnceLock<Tokenizers> = OnceLock::new();
    TOKENIZERS.get_or_init(|| {
        let mut specials_uncached = realistic();
        specials_uncached
            .set_cache_capacity(0)
            .expect("0 turns the cache off");
        let mut added_uncached = with_added(SpecialTokens::default());
        added_uncached
            .set_cache_capacity(0)
            .expect("0 turns the cache off");
        let strict = with_added(SpecialTokens::none());
        Tokenizers {
            specials: realistic(),
            specials_uncached,
            added: with_added(SpecialTokens::default()),
            added_uncached,
            strict,
        }
    })
}

/// Bytes that are not Python text are refused where they would become text, at the first bad
/// byte: everything before it is text.
fn check_refused(bytes: &[u8], offset: usize) {
    assert!(offset < bytes.len(), "offset {offset} beyond {bytes:?}");
    assert!(
        PythonText::new(&bytes[..offset]).is_ok(),
        "{bytes:?} is refused at {offset}, yet not text before it"
    );
    assert_eq!(
        PythonString::new(bytes.to_vec()),
        Err(NotText { offset }),
        "owned and borrowed text are checked apart"
    );
}

fuzz_target!(|data: &[u8]| {
    let tokenizers = tokenizers();
    let texts: Vec<PythonText<'_>> = data
        .split(|&b| b == 0xFF)
        .filter_map(|text| PythonText::new(text).ok())
        .collect();
    // The input itself, whole: 0xFF (or any other bad byte) makes it not text.
    if let Err(NotText { offset }) = PythonText::new(data) {
        check_refused(data, offset);
    }

    // Each thread caches words for one tokenizer at a time, so the uncached encodings come
    // first: the laws then run on a cache that stays warm across the input's texts, and the
    // cached tokenizer encodes once more from that warm cache.
    // A text holding a unit need not encode as plain text either. Only the special tokens
    // keep one id per token ("ab" shares id 5 with a vocabulary token).
    let added_or_units: Vec<&[u8]> = ADDED.iter().chain(&UNITS).map(|t| t.as_bytes()).collect();
    let special_tokens = SpecialTokens::default();
    let specials: Vec<&[u8]> = special_tokens.tokens().map(str::as_bytes).collect();
    let pairs = [
        (
            &tokenizers.specials,
            &tokenizers.specials_uncached,
            &specials[..],
            true,
        ),
        (
            &tokenizers.added,
            &tokenizers.added_uncached,
            &added_or_units[..],
            false,
        ),
    ];
    for (cached, uncached, added, ids_name_tokens) in pairs {
        let expected: Vec<_> = texts.iter().map(|&text| uncached.encode(text)).collect();
        common::check_laws(cached, &texts, added, ids_name_tokens);
        for (text, expected) in texts.iter().zip(&expected) {
            assert_eq!(
                &cached.encode(*text),
                expected,
                "the word cache changed the encoding of {text:?}"
            );
        }
    }
    common::check_laws(&tokenizers.strict, &texts, &added_or_units, false);

    let ids: Vec<i64> = data
        .chunks_exact(2)
        .map(|pair| i64::from(i16::from_le_bytes([pair[0], pair[1]])))
        .collect();
    for tokenizer in [&tokenizers.specials, &tokenizers.added, &tokenizers.strict] {
        common::check_decoded(&common::decode(tokenizer, &ids, &FxHashSet::default()));
    }
});
