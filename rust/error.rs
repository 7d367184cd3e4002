//! Why a text could not be encoded.

use crate::bpe::{SplitError, MAX_PIECE_CHARS};
use std::collections::TryReserveError;

/// Why a text could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A token is unknown and the tokenizer has no unknown token to map it to.
    NoUnknownToken,
    /// A piece of a word has this many code points, `u32::MAX` or more.
    PieceTooLong(usize),
    /// Memory for the work ran out (a long word needs about 25 bytes a byte).
    OutOfMemory,
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::NoUnknownToken => {
                f.write_str("this tokenizer has no unk_token to map unknown tokens to")
            }
            EncodeError::PieceTooLong(chars) => write!(
                f,
                "a word piece of {chars} characters is too long to tokenize (the limit is {})",
                MAX_PIECE_CHARS - 1
            ),
            EncodeError::OutOfMemory => f.write_str("out of memory while tokenizing"),
        }
    }
}

impl std::error::Error for EncodeError {}

impl From<TryReserveError> for EncodeError {
    fn from(_: TryReserveError) -> Self {
        EncodeError::OutOfMemory
    }
}

impl From<SplitError> for EncodeError {
    fn from(error: SplitError) -> Self {
        match error {
            SplitError::TooLong(chars) => EncodeError::PieceTooLong(chars),
            SplitError::OutOfMemory => EncodeError::OutOfMemory,
        }
    }
}
