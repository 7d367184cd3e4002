//! Values between Python and the core: texts (lone surrogates included), and lists made so
//! that running out of memory raises `MemoryError`.

use crate::text::{PythonString, PythonText};
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyMemoryView, PyString};
use std::collections::TryReserveError;

/// Memory running out, as Python says it.
pub(super) fn out_of_memory(_: TryReserveError) -> PyErr {
    PyMemoryError::new_err("out of memory")
}

/// The text of a Python `str`: borrowed UTF-8, or, when it holds a lone surrogate (which UTF-8
/// cannot), the bytes Python's `surrogatepass` writes, checked once into Python text.
pub(super) enum TextArg<'a> {
    Utf8(&'a str),
    Surrogates(PythonString),
}

impl TextArg<'_> {
    /// The text, for the core.
    pub(super) fn text(&self) -> PythonText<'_> {
        match self {
            TextArg::Utf8(text) => PythonText::from(*text),
            TextArg::Surrogates(text) => text.as_text(),
        }
    }

    /// Its length in bytes.
    pub(super) fn len(&self) -> usize {
        self.text().as_bytes().len()
    }

    /// The text, owned (a token to keep).
    pub(super) fn into_string(self) -> PythonString {
        match self {
            TextArg::Utf8(text) => PythonString::from(text),
            TextArg::Surrogates(text) => text,
        }
    }
}

/// The text of `value`, a Python `str`.
pub(super) fn text_of<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<TextArg<'a>> {
    let string = value.cast::<PyString>()?;
    match string.to_str() {
        Ok(text) => Ok(TextArg::Utf8(text)),
        Err(_) => {
            let encoded = string.call_method1("encode", ("utf-8", "surrogatepass"))?;
            let encoded = encoded.cast::<PyBytes>()?.as_bytes();
            let mut owned = Vec::new();
            owned
                .try_reserve_exact(encoded.len())
                .map_err(out_of_memory)?;
            owned.extend_from_slice(encoded);
            let text =
                PythonString::new(owned).map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(TextArg::Surrogates(text))
        }
    }
}

pub(super) fn to_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    match std::str::from_utf8(bytes) {
        Ok(_) => PyString::from_bytes(py, bytes),
        Err(_) => Ok(PyBytes::new_with(py, bytes.len(), |buffer| {
            buffer.copy_from_slice(bytes);
            Ok(())
        })?
        .call_method1("decode", ("utf-8", "surrogatepass"))?
        .cast_into::<PyString>()?),
    }
}

/// Outputs at least this long are made so that running out of memory raises `MemoryError`.
/// PyO3's plain constructors of lists, ints and tuples panic instead, and a panic while memory
/// is exhausted can abort, or hang while it prints a backtrace. Shorter ones the quicker way.
pub(super) const CHECKED_FROM: usize = 1 << 14;

/// A list of `items`.
pub(super) fn list_of<'py>(
    py: Python<'py>,
    items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let len = items.len();
    if len < CHECKED_FROM {
        return PyList::new(py, items);
    }
    // `[None] * len`, then filled: both raise MemoryError.
    let list = PyList::new(py, [py.None()])?
        .as_sequence()
        .repeat(len)?
        .cast_into::<PyList>()?;
    for (index, item) in items.enumerate() {
        list.set_item(index, item)?;
    }
    Ok(list)
}

/// A list of Python ints, made by Python from a buffer of the values
/// (`memoryview(buffer).cast("Q").tolist()`), so that running out of memory raises MemoryError.
pub(super) fn int_list<'py>(
    py: Python<'py>,
    values: impl ExactSizeIterator<Item = u64>,
) -> PyResult<Bound<'py, PyList>> {
    let bytes = PyBytes::new_with(py, values.len() * 8, |buffer| {
        for (slot, value) in buffer.chunks_exact_mut(8).zip(values) {
            slot.copy_from_slice(&value.to_ne_bytes());
        }
        Ok(())
    })?;
    Ok(PyMemoryView::from(&bytes)?
        .call_method1("cast", ("Q",))?
        .call_method0("tolist")?
        .cast_into::<PyList>()?)
}
