//! The PyO3 binding (`bbtok._native`): type conversion and the GIL, no tokenizer logic.
//!
//! A Python `str` may hold lone surrogates, which a Rust `&str` cannot: such a text crosses as
//! the bytes Python's `surrogatepass` writes, checked once into [`crate::text::PythonText`].
//!
//! Memory sized by the input is reserved fallibly, here and in the core, so that running out
//! raises `MemoryError` instead of aborting the process (Rust aborts when an infallible
//! allocation fails, and PyO3's plain constructors panic when Python's do).

mod arrow;
mod convert;
mod errors;
mod jsonl;
mod native_tokenizer;
mod pool;

use crate::cache::MAX_CACHE_WORDS;
use pyo3::prelude::*;

/// The most threads a batch may run on: 4 times the cores this process may use.
#[pyfunction]
fn max_threads() -> usize {
    pool::max_threads()
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    m.add("UNICODE_VERSION", crate::unicode_tables::UNICODE_VERSION)?;
    m.add("MAX_CACHE_WORDS", MAX_CACHE_WORDS)?;
    m.add(
        "JsonForPythonError",
        m.py().get_type::<errors::JsonForPythonError>(),
    )?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(jsonl::jsonl_lines, m)?)?;
    m.add_class::<native_tokenizer::NativeTokenizer>()?;
    m.add_class::<arrow::ArrowIds>()?;
    Ok(())
}
