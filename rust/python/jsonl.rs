//! `jsonl_lines`: a batch's ids as the JSON lines `bbtok encode` writes, formatted with the GIL
//! released.

use super::convert::out_of_memory;
use crate::jsonl::{lines_size, write_lines};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The JSON lines (`{"input_ids":[...]}` and a line break, ASCII) of the records whose ids are
/// `ids` (native-endian uint32, one record after another) and whose counts are `counts`.
#[pyfunction]
pub(super) fn jsonl_lines<'py>(
    py: Python<'py>,
    ids: &Bound<'py, PyBytes>,
    counts: Vec<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = ids.as_bytes();
    if bytes.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!(
            "ids: {} bytes is not a whole number of uint32 ids",
            bytes.len()
        )));
    }
    let values = py.detach(|| {
        let mut values = Vec::new();
        values.try_reserve_exact(bytes.len() / 4)?;
        values.extend(
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        );
        Ok(values)
    });
    let values: Vec<u32> = values.map_err(out_of_memory)?;
    let size = lines_size(&values, &counts).map_err(|e| PyValueError::new_err(e.to_string()))?;
    PyBytes::new_with(py, size, |out| {
        py.detach(|| write_lines(&values, &counts, out));
        Ok(())
    })
}
