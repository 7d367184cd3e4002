//! The word split: the reference's words are `\S+\n?`, with every word aligned back to the
//! bytes and characters it came from. Text here is Python text (see [`crate::text`]).

use crate::text::{decode_at, is_regex_space};

/// One word of the text: `\S+\n?`, as byte and character positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    /// Byte range of the whole word (its trailing `\n` included).
    pub start: usize,
    pub end: usize,
    /// Character position of the word's first character.
    pub char_start: usize,
}

/// ASCII white space as `is_regex_space` sees it.
const ASCII_SPACE: [bool; 128] = {
    let mut table = [false; 128];
    let mut code = 0;
    while code < 128 {
        table[code] = is_regex_space(code as u32);
        code += 1;
    }
    table
};

/// Whether the character at `text[at..]` is white space, and its width in bytes.
#[inline(always)]
fn space_at(text: &[u8], at: usize) -> (bool, usize) {
    let first = text[at];
    if first < 0x80 {
        (ASCII_SPACE[first as usize], 1)
    } else {
        let (code, width) = decode_at(text, at);
        (is_regex_space(code), width)
    }
}

/// Visit the words of `text` (which holds no added tokens), left to right.
pub fn for_each_word(text: &[u8], mut visit: impl FnMut(Word)) {
    let mut at = 0;
    let mut chars = 0;
    let len = text.len();
    while at < len {
        let (space, width) = space_at(text, at);
        if space {
            at += width;
            chars += 1;
            continue;
        }
        let start = at;
        let char_start = chars;
        while at < len {
            let (space, width) = space_at(text, at);
            if space {
                break;
            }
            at += width;
            chars += 1;
        }
        // At most one trailing newline belongs to the word.
        if at < len && text[at] == b'\n' {
            at += 1;
            chars += 1;
        }
        visit(Word {
            start,
            end: at,
            char_start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for_each_word(text.as_bytes(), |w| found.push(&text[w.start..w.end]));
        found
    }

    #[test]
    fn words_keep_one_trailing_newline() {
        assert_eq!(words("a\n\nb"), vec!["a\n", "b"]);
        assert_eq!(words("hi\r\nthere"), vec!["hi", "there"]);
        assert_eq!(
            words(" x\u{a0}y\u{3000}z\u{1c}w "),
            vec!["x", "y", "z\u{1c}w"]
        );
    }

    #[test]
    fn character_positions_count_code_points() {
        let text = "é ab\u{10000} c";
        let mut starts = Vec::new();
        for_each_word(text.as_bytes(), |w| starts.push(w.char_start));
        assert_eq!(starts, vec![0, 2, 6]);
    }

    #[test]
    fn bytes_that_are_not_text_stay_inside_them() {
        for bytes in [
            &b"\xe2\x82"[..],
            b"\xf0",
            b"\xf0\x9f\x98",
            b"\xff\xff",
            b"\xc3 a",
        ] {
            for_each_word(bytes, |word| assert!(word.end <= bytes.len()));
        }
    }
}
