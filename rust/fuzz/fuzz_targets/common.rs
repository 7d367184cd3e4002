//! The laws every tokenizer keeps on any Python text, shared by the `encode` and `files`
//! targets. A broken law panics, which libFuzzer reports as a crash.

use bbtok::{PythonText, Tokenizer};
use rustc_hash::FxHashSet;

/// Code points of Python text: every byte that is not a continuation byte starts one.
fn char_count(text: &[u8]) -> usize {
    text.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

fn code_points(text: &[u8]) -> Vec<u32> {
    PythonText::new(text)
        .expect("the laws are checked on Python text")
        .code_points()
        .collect()
}

/// Python's `str.isspace()`: Unicode White_Space and the separators U+001C to U+001F (which
/// Python counts as space by their bidirectional class). Written apart from the tokenizer's
/// own table, so that the law checks it.
fn is_python_space(code: u32) -> bool {
    (0x1C..=0x1F).contains(&code) || char::from_u32(code).is_some_and(char::is_whitespace)
}

fn contains<T: PartialEq>(haystack: &[T], needle: &[T]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Check every law on `texts` (each Python text), one by one and as a batch. `added` are the
/// tokenizer's added tokens and units: a text that holds none of them must encode as plain
/// text.
/// `ids_name_tokens`: every id names one token (no added token shares an id with another
/// token), so the text a span points at can be checked against its token.
pub fn check_laws(
    tokenizer: &Tokenizer,
    texts: &[PythonText<'_>],
    added: &[&[u8]],
    ids_name_tokens: bool,
) {
    for &text in texts {
        check_text(tokenizer, text, added, ids_name_tokens);
    }
    check_batch(tokenizer, texts);
}

fn check_text(
    tokenizer: &Tokenizer,
    python_text: PythonText<'_>,
    added: &[&[u8]],
    ids_name_tokens: bool,
) {
    let text = python_text.as_bytes();
    let ids = tokenizer.encode(python_text);
    let spans = tokenizer.encode_with_offsets(python_text, true);
    match (&ids, &spans) {
        (Ok(ids), Ok(spans)) => {
            let span_ids: Vec<u32> = spans.iter().map(|span| span.id).collect();
            assert_eq!(
                ids, &span_ids,
                "encode and encode_with_offsets differ on {text:?}"
            );
            check_offsets(text, spans);
            if ids_name_tokens {
                check_span_text(tokenizer, text, spans);
            }
            check_decode(tokenizer, ids);
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "encode and encode_with_offsets fail apart"),
        _ => panic!("only one of encode and encode_with_offsets fails on {text:?}"),
    }

    let plain = tokenizer.encode_plain(python_text);
    // Offsets without cutting added tokens encode as encode_plain does.
    let plain_spans = tokenizer.encode_with_offsets(python_text, false);
    match (&plain, &plain_spans) {
        (Ok(plain), Ok(spans)) => {
            let span_ids: Vec<u32> = spans.iter().map(|span| span.id).collect();
            assert_eq!(
                plain, &span_ids,
                "encode_plain and uncut offsets differ on {text:?}"
            );
            check_offsets(text, spans);
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "encode_plain and uncut offsets fail apart"),
        _ => panic!("only one of encode_plain and uncut offsets fails on {text:?}"),
    }
    if let Ok(plain) = &plain {
        // tokenize_plain yields the tokens whose ids encode_plain yields.
        let tokens = tokenizer
            .tokenize_plain(python_text)
            .expect("tokenize_plain fails where encode_plain does not");
        for token in &tokens {
            assert!(
                PythonText::new(token).is_ok(),
                "token {token:?} is not text"
            );
        }
        let via_tokens: Result<Vec<u32>, _> = tokens
            .iter()
            .map(|token| tokenizer.token_to_id(PythonText::new(token).expect("checked above")))
            .collect();
        assert_eq!(
            via_tokens.as_ref(),
            Ok(plain),
            "tokenize_plain {tokens:?} does not map to encode_plain on {text:?}"
        );
    }
    let holds_added = added
        .iter()
        .any(|token| !token.is_empty() && contains(text, token));
    if !holds_added {
        assert_eq!(
            ids, plain,
            "encode != encode_plain on {text:?}, which holds no added token"
        );
    }
}

fn check_offsets(text: &[u8], spans: &[bbtok::TokenSpan]) {
    let chars = char_count(text);
    let (mut last_start, mut last_end, mut last_word) = (0, 0, None);
    for span in spans {
        assert!(
            span.start < span.end && span.end <= chars,
            "span {span:?} outside the {chars} characters of {text:?}: {spans:?}"
        );
        assert!(
            span.start >= last_start && span.end >= last_end,
            "span {span:?} goes backwards in {text:?}: {spans:?}"
        );
        if let Some(word) = span.word {
            assert!(
                last_word.is_none_or(|last| word >= last),
                "word index goes backwards in {text:?}: {spans:?}"
            );
            last_word = Some(word);
        }
        (last_start, last_end) = (span.start, span.end);
    }
}

/// `ς` as `σ`: whether a sigma is final depends on characters outside a token's span.
fn fold_sigma(codes: Vec<u32>) -> Vec<u32> {
    codes
        .into_iter()
        .map(|code| if code == 0x3C2 { 0x3C3 } else { code })
        .collect()
}

/// Each span points at the characters its token comes from: an added token's span is its text;
/// a word token (less its `@@`) lies in its span's characters lowercased, and the pieces of the
/// newline marker point at a newline. Unknown tokens are skipped: their text is gone.
fn check_span_text(tokenizer: &Tokenizer, text: &[u8], spans: &[bbtok::TokenSpan]) {
    let codes = code_points(text);
    for span in spans {
        let token = tokenizer.id_to_token(i64::from(span.id)).as_bytes();
        let pointed = &codes[span.start..span.end];
        if span.word.is_none() {
            assert_eq!(
                code_points(token),
                pointed,
                "added token {token:?} points elsewhere in {text:?}: {spans:?}"
            );
            continue;
        }
        if token == b"__unk__" {
            continue;
        }
        let body = fold_sigma(code_points(token.strip_suffix(b"@@").unwrap_or(token)));
        let found = if pointed == [0x0A] {
            contains(&code_points(b"__newln__"), &body)
        } else {
            let mut lowered = Vec::new();
            tokenizer
                .lowercaser()
                .lower(pointed, &mut lowered, None)
                .expect("memory for a few code points");
            contains(&fold_sigma(lowered), &body)
        };
        assert!(
            found,
            "token {token:?} is not in the text its span {span:?} points at in {text:?}: {spans:?}"
        );
    }
}

/// Decoding never panics and gives Python text with no Python white space at either end.
pub fn check_decode(tokenizer: &Tokenizer, ids: &[u32]) {
    let ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
    let every_other: FxHashSet<i64> = ids.iter().step_by(2).copied().collect();
    for skip in [FxHashSet::default(), every_other] {
        check_decoded(&decode(tokenizer, &ids, &skip));
    }
}

/// `decode_python`, which fails only when memory runs out.
pub fn decode(tokenizer: &Tokenizer, ids: &[i64], skip: &FxHashSet<i64>) -> Vec<u8> {
    tokenizer
        .decode_python(ids, |id| skip.contains(&id))
        .expect("memory for a decoded text")
        .as_bytes()
        .to_vec()
}

/// What `decode` gives is Python text with no Python white space at either end.
pub fn check_decoded(decoded: &[u8]) {
    assert!(
        PythonText::new(decoded).is_ok(),
        "decode gave {decoded:?}, not Python text"
    );
    let codes = code_points(decoded);
    if let (Some(&first), Some(&last)) = (codes.first(), codes.last()) {
        assert!(
            !is_python_space(first) && !is_python_space(last),
            "decode gave {decoded:?}, not stripped"
        );
    }
}

fn check_batch(tokenizer: &Tokenizer, texts: &[PythonText<'_>]) {
    let one_by_one: Result<Vec<Vec<u32>>, _> =
        texts.iter().map(|&text| tokenizer.encode(text)).collect();
    for parallel in [false, true] {
        let batch = tokenizer.encode_batch(texts, parallel);
        match (&one_by_one, &batch) {
            (Ok(rows), Ok(batch)) => {
                assert_eq!(rows, batch, "encode_batch(parallel={parallel}) != encode")
            }
            (Err(_), Err(_)) => {}
            _ => panic!("encode_batch(parallel={parallel}) and encode disagree on failing"),
        }
    }
}
