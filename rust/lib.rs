//! The BlenderBot-small tokenizer core, in pure Rust.
//!
//! This crate knows nothing of Python: the optional `python` feature adds a thin PyO3 layer
//! (`rust/python.rs`) that exposes the core as `bbtok._native`.

/// The version of this crate, which is also the version of the Python package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "python")]
mod python;

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_semver() {
        let parts: Vec<&str> = super::VERSION.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()));
    }
}
