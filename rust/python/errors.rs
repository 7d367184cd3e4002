//! The core's errors and warnings as Python exceptions and warnings, worded as the pure-Python
//! tokenizer words them (tokens and values quoted by Python's own `repr`).

use crate::{ApproximateRepr, EncodeError, LoadError, LoadWarning, Repr};
use pyo3::exceptions::{
    PyFileNotFoundError, PyMemoryError, PyOSError, PyUserWarning, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::ffi::CString;
use std::sync::RwLock;

pyo3::create_exception!(
    _native,
    JsonForPythonError,
    PyValueError,
    "vocab.json is JSON that only Python's json module reports in its own words (a syntax \
     error, NaN, a lone surrogate escape, an object or a list as an id, a number too long for \
     int): read it with bbtok.tokenization.vocabulary_files.read_vocab for the exact error."
);

/// Python's `repr`, asked of Python (the core's approximation if Python fails).
struct PythonRepr<'py>(Python<'py>);

impl Repr for PythonRepr<'_> {
    fn text(&self, text: &str) -> String {
        PyString::new(self.0, text)
            .repr()
            .map_or_else(|_| ApproximateRepr.text(text), |r| r.to_string())
    }

    fn json(&self, raw: &str) -> String {
        self.0
            .import("json")
            .and_then(|json| json.call_method1("loads", (raw,)))
            .and_then(|value| value.repr())
            .map_or_else(|_| ApproximateRepr.json(raw), |r| r.to_string())
    }
}

/// The exception for a file the core could not load.
pub(super) fn load_error(py: Python<'_>, error: &LoadError) -> PyErr {
    let message = error.message(&PythonRepr(py));
    match error {
        LoadError::Io { name, source } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err((2, "No such file", name.clone()))
        }
        LoadError::Io { .. } => PyOSError::new_err(message),
        LoadError::JsonForPython { .. } => JsonForPythonError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// Warn, as the pure-Python readers do (`UserWarning`, attributed to the caller).
pub(super) fn warn_all(py: Python<'_>, warnings: &[LoadWarning]) -> PyResult<()> {
    let repr = PythonRepr(py);
    let category = py.get_type::<PyUserWarning>();
    for warning in warnings {
        let message = CString::new(warning.message(&repr))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        PyErr::warn(py, &category, &message, 1)?;
    }
    Ok(())
}

/// The exception for a text that could not be encoded; `message` is the Python layer's for a
/// token without an id.
pub(super) fn encode_error(error: EncodeError, message: &RwLock<String>) -> PyErr {
    match error {
        EncodeError::NoUnknownToken => {
            PyValueError::new_err(message.read().unwrap_or_else(|e| e.into_inner()).clone())
        }
        EncodeError::OutOfMemory => PyMemoryError::new_err(error.to_string()),
        EncodeError::PieceTooLong(_) => PyValueError::new_err(error.to_string()),
    }
}
