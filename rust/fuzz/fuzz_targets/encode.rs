//! Arbitrary text through the realistic tokenizer: encode, offsets, batches, decode.
//!
//! The input is cut at each 0xFF byte (never part of Python text) into several texts; those
//! that are Python text are encoded one by one and as a batch, by tokenizers with the
//! reference's special tokens and with overlapping added tokens, each with and without its
//! word cache (which lives across inputs, so stale or mixed-up entries show). The input read as
//! 16-bit ids, negative and unknown ones included, is decoded too.

#![no_main]

mod common;

use bbtok::words::validate_python_text;
use bbtok::Tokenizer;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

const SPECIALS: [&[u8]; 4] = [b"__start__", b"__end__", b"__unk__", b"__null__"];
/// Overlapping added tokens: prefixes of each other, one inside another, one with a space, one
/// not ASCII (which turns off the trie's ASCII fast path), and one that is a special token.
const ADDED: [&[u8]; 7] = [b"ab", b"abc", b"b", b"__null__", b"a b", "é".as_bytes(), b"_"];
/// Segments that stand as one token when a whole segment equals them.
const UNITS: [&[u8]; 3] = [b"xyz", b"__start__", b"Hello"];

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

fn realistic() -> Tokenizer {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/realistic");
    Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt"))
        .expect("fixtures/realistic loads")
        .0
}

fn with_added(unknown: bool) -> Tokenizer {
    let mut tokenizer = realistic();
    let size = tokenizer.vocab().len() as u32;
    let ids = [5, size + 10, size + 11, size + 3, 7, size + 12, size + 13];
    let added = ADDED
        .iter()
        .zip(ids)
        .map(|(token, id)| (token.to_vec(), id))
        .collect();
    tokenizer.set_added_tokens(added, UNITS.iter().map(|unit| unit.to_vec()).collect());
    if unknown {
        tokenizer.set_unknown(Some(b"__unk__".to_vec()), Some(size + 2));
    } else {
        tokenizer.set_unknown(None, None);
    }
    tokenizer
}

fn tokenizers() -> &'static Tokenizers {
    static TOKENIZERS: OnceLock<Tokenizers> = OnceLock::new();
    TOKENIZERS.get_or_init(|| {
        let mut specials_uncached = realistic();
        specials_uncached.set_cache_capacity(0);
        let mut added_uncached = with_added(true);
        added_uncached.set_cache_capacity(0);
        let mut strict = with_added(false);
        strict.set_cache_capacity(0);
        Tokenizers {
            specials: realistic(),
            specials_uncached,
            added: with_added(true),
            added_uncached,
            strict,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let tokenizers = tokenizers();
    let texts: Vec<&[u8]> = data
        .split(|&b| b == 0xFF)
        .filter(|text| validate_python_text(text).is_ok())
        .collect();

    common::check_laws(&tokenizers.specials, &texts, &SPECIALS);
    common::check_laws(&tokenizers.added, &texts, &ADDED);
    common::check_laws(&tokenizers.strict, &texts, &ADDED);
    for text in &texts {
        assert_eq!(
            tokenizers.specials.encode(text),
            tokenizers.specials_uncached.encode(text),
            "the word cache changed the encoding of {text:?}"
        );
        assert_eq!(
            tokenizers.added.encode(text),
            tokenizers.added_uncached.encode(text),
            "the word cache changed the encoding of {text:?}"
        );
    }

    let ids: Vec<i64> = data
        .chunks_exact(2)
        .map(|pair| i64::from(i16::from_le_bytes([pair[0], pair[1]])))
        .collect();
    common::check_decode_any(&tokenizers.specials, &ids);
    common::check_decode_any(&tokenizers.added, &ids);
    common::check_decode_any(&tokenizers.strict, &ids);
});
