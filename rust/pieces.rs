//! The piece split: a word cut where the reference pads punctuation and apostrophes with
//! spaces, and its trailing newline turned into the newline marker.

#[inline]
fn starts_piece(code: u32) -> bool {
    matches!(code, 0x2E | 0x2C | 0x21 | 0x3F | 0x28 | 0x29) // . , ! ? ( )
}

const APOSTROPHE: u32 = 0x27;
const NEWLINE: u32 = 0x0A;
/// The token the reference puts where a word's trailing newline was.
pub const NEWLINE_MARKER: &str = "__newln__";

/// Where a piece comes from in its word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceSource {
    /// Characters `start..end` of the word (character positions within the word).
    Text { start: usize, end: usize },
    /// The word's trailing newline, at this character position within the word.
    Newline { at: usize },
}

/// Split a word (code points) into the reference's pieces, before lowercasing: a punctuation
/// mark `. , ! ? ( )` starts a piece, `'` is a piece of its own, and a trailing newline becomes
/// the newline marker unless the word ends in `'\n` (the reference pads `'` with spaces and
/// then folds `" \n"` into one space, losing that newline).
pub fn split_pieces(word: &[u32], mut visit: impl FnMut(PieceSource)) {
    let newline = word.last() == Some(&NEWLINE);
    let body = if newline {
        &word[..word.len() - 1]
    } else {
        word
    };
    let mut start = 0;
    for (i, &code) in body.iter().enumerate() {
        if code == APOSTROPHE {
            if start < i {
                visit(PieceSource::Text { start, end: i });
            }
            visit(PieceSource::Text {
                start: i,
                end: i + 1,
            });
            start = i + 1;
        } else if starts_piece(code) && start < i {
            visit(PieceSource::Text { start, end: i });
            start = i;
        }
    }
    if start < body.len() {
        visit(PieceSource::Text {
            start,
            end: body.len(),
        });
    }
    if newline && body.last() != Some(&APOSTROPHE) {
        visit(PieceSource::Newline { at: body.len() });
    }
}

/// The newline marker's code points.
pub(crate) const NEWLINE_CODES: [u32; 9] = {
    let bytes = NEWLINE_MARKER.as_bytes();
    let mut codes = [0u32; 9];
    let mut i = 0;
    while i < 9 {
        codes[i] = bytes[i] as u32;
        i += 1;
    }
    codes
};

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(word: &str) -> Vec<String> {
        let codes: Vec<u32> = word.chars().map(|c| c as u32).collect();
        let mut found = Vec::new();
        split_pieces(&codes, |piece| {
            found.push(match piece {
                PieceSource::Text { start, end } => {
                    word.chars().skip(start).take(end - start).collect()
                }
                PieceSource::Newline { .. } => NEWLINE_MARKER.to_string(),
            })
        });
        found
    }

    #[test]
    fn punctuation_and_apostrophes_make_pieces() {
        assert_eq!(pieces("(x)"), vec!["(x", ")"]);
        assert_eq!(pieces("don't."), vec!["don", "'", "t", "."]);
        assert_eq!(pieces("a..b"), vec!["a", ".", ".b"]);
        assert_eq!(pieces("x\n"), vec!["x", NEWLINE_MARKER]);
        assert_eq!(pieces("can'\n"), vec!["can", "'"]);
    }

    #[test]
    fn the_newline_marker_codes_spell_it() {
        let spelled: String = NEWLINE_CODES.iter().map(|&c| c as u8 as char).collect();
        assert_eq!(spelled, NEWLINE_MARKER);
    }
}
