//! The BlenderBot-small tokenizer core, in pure Rust.
//!
//! Exactly transformers' `BlenderbotSmallTokenizer`: Python-compatible word splitting
//! ([`words`]), BPE over merge ranks ([`bpe`]), the reference's file formats ([`vocab`]),
//! added tokens cut out as the reference cuts them ([`added`]), and encode/decode
//! ([`tokenizer`]). This crate knows nothing of Python: the optional `python` feature adds a
//! thin PyO3 layer (`rust/python.rs`) that exposes it as `bbtok._native`.
//!
//! ```
//! use bbtok::Tokenizer;
//! use std::path::Path;
//! let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny");
//! let (tokenizer, _warnings) =
//!     Tokenizer::from_files(&dir.join("vocab.json"), &dir.join("merges.txt")).unwrap();
//! assert_eq!(tokenizer.encode("adapt act apte".as_bytes()).unwrap(), vec![1, 2, 3, 4]);
//! ```

pub mod added;
pub mod bpe;
pub mod cache;
pub mod strings;
pub mod tokenizer;
#[rustfmt::skip]
pub mod unicode_tables;
pub mod vocab;
pub mod words;

pub use tokenizer::{AddedTokenTable, EncodeError, TokenSpan, Tokenizer};
pub use vocab::{LoadError, Vocab};

/// The version of this crate, which is also the version of the Python package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "python")]
mod python;
