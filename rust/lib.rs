//! The BlenderBot-small tokenizer core, in pure Rust: exactly transformers'
//! `BlenderbotSmallTokenizer`, its special tokens included, from `vocab.json` and `merges.txt`.
//!
//! One module per pipeline stage: Python text checked once, added tokens cut out, words,
//! pieces, lowercasing, BPE over merge ranks, token ids, the pipeline that runs them, and
//! decoding; the reference's files, with what reading them reports. The modules are private;
//! what is public is re-exported here.
//! This crate knows nothing of Python: the optional `python` feature adds a thin PyO3 layer
//! (`rust/python/`) that exposes it as `bbtok._native`.
//!
//! ```
//! use bbtok::Tokenizer;
//! use std::path::Path;
//! let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
//! let (tokenizer, warnings) =
//!     Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
//! assert!(warnings.is_empty());
//! let ids = tokenizer.encode("__start__ adapt act apte").unwrap();
//! assert_eq!(ids, vec![0, 1, 2, 3, 4]);
//! assert_eq!(tokenizer.decode(&ids), "__start__ adapt act apte");
//! ```

mod added;
// Arrow's layouts (string columns in, list<int32> offsets out), public for the binding and
// for Rust users building Arrow arrays of ids.
pub mod arrow_layout;
mod bpe;
mod cache;
mod decode;
mod error;
mod files;
mod ids;
#[cfg(any(feature = "python", test))]
mod jsonl;
mod lowercase;
mod merges;
mod pieces;
mod strings;
mod text;
mod tokenizer;
#[rustfmt::skip]
mod unicode_tables;
mod vocab;
mod words;

pub use added::AddedTokenTable;
pub use bpe::{MergeRanks, SplitError, CONTINUATION, END_OF_WORD};
pub use cache::{CacheTooLarge, DEFAULT_CACHE_WORDS, MAX_CACHE_WORDS};
pub use error::EncodeError;
pub use files::{ApproximateRepr, LoadError, LoadWarning, Repr};
pub use lowercase::Lowercaser;
pub use text::{NotText, PythonString, PythonText};
pub use tokenizer::{SpecialTokens, TokenSpan, Tokenizer, TokenizerBuilder};
pub use vocab::Vocab;

/// The version of this crate, which is also the version of the Python package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "python")]
mod python;
