//! The BlenderBot-small tokenizer core, in pure Rust.
//!
//! Exactly transformers' `BlenderbotSmallTokenizer`, one module per pipeline stage: Python text
//! checked once ([`text`]), added tokens cut out ([`added`]), words ([`words`]), pieces
//! ([`pieces`]), lowercasing ([`lowercase`]), BPE over merge ranks ([`bpe`]), token ids
//! ([`ids`]), the pipeline that runs them ([`tokenizer`]) and decoding ([`decode`]); the
//! reference's files ([`vocab`], [`merges`], with what reading them reports in [`files`]); and
//! the ids of a corpus as JSON lines ([`jsonl`]).
//! This crate knows nothing of Python: the optional `python` feature adds a thin PyO3 layer
//! (`rust/python/`) that exposes it as `bbtok._native`.
//!
//! ```
//! use bbtok::Tokenizer;
//! use std::path::Path;
//! let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
//! let mut warnings = Vec::new();
//! let tokenizer =
//!     Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt"), &mut warnings)
//!         .unwrap();
//! assert_eq!(tokenizer.encode("adapt act apte").unwrap(), vec![1, 2, 3, 4]);
//! ```

pub mod added;
pub mod arrow_layout;
pub mod bpe;
pub mod cache;
pub mod decode;
pub mod files;
pub mod ids;
pub mod jsonl;
pub mod lowercase;
pub mod merges;
pub mod pieces;
pub mod strings;
pub mod text;
pub mod tokenizer;
#[rustfmt::skip]
pub mod unicode_tables;
pub mod vocab;
pub mod words;

pub use added::AddedTokenTable;
pub use files::{LoadError, LoadWarning};
pub use text::{PythonString, PythonText};
pub use tokenizer::{EncodeError, TokenSpan, Tokenizer};
pub use vocab::Vocab;

/// The version of this crate, which is also the version of the Python package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "python")]
mod python;
