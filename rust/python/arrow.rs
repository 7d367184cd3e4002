//! Arrow through its C data interface: string arrays in (`string`, `large_string` and
//! `string_view`, polars' strings; from any producer of the PyCapsule interface,
//! `__arrow_c_array__` or `__arrow_c_stream__`: pyarrow, polars, arro3...), a
//! `list<int32>` (or `large_list<int32>`) array of ids out, as an object with
//! `__arrow_c_array__` that any consumer imports without a copy.
//!
//! Written by hand rather than through arrow-rs and the `pyo3-arrow` crate: `pyo3-arrow` 0.20
//! does build on our PyO3 0.30, but it brings arrow-rs 59 (arrow-cast, chrono, chrono-tz...)
//! to move two layouts, string arrays in and a list of int32 out, which are four structs of the
//! C interface and their release callbacks. The layouts themselves (reading rows, laying out
//! offsets) are safe code in the core, [`crate::arrow_layout`]; the `unsafe` here only turns
//! the producer's pointers into slices and hands our buffers to the consumer, each block with
//! the part of the interface's contract it relies on.

use super::convert::out_of_memory;
use crate::arrow_layout::{ListOffsets, Offset, RowError, StringColumn, StringViewColumn};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

/// `struct ArrowSchema` of the C data interface.
#[repr(C)]
struct ArrowSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut ArrowSchema,
    dictionary: *mut ArrowSchema,
    release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    private_data: *mut c_void,
}

/// `struct ArrowArray` of the C data interface.
#[repr(C)]
struct ArrowArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut ArrowArray,
    dictionary: *mut ArrowArray,
    release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    private_data: *mut c_void,
}

/// `struct ArrowArrayStream` of the C stream interface.
#[repr(C)]
struct ArrowArrayStream {
    get_schema: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowSchema) -> c_int>,
    get_next: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowArray) -> c_int>,
    get_last_error: Option<unsafe extern "C" fn(*mut ArrowArrayStream) -> *const c_char>,
    release: Option<unsafe extern "C" fn(*mut ArrowArrayStream)>,
    private_data: *mut c_void,
}

const NULLABLE: i64 = 2;

impl ArrowSchema {
    fn empty() -> Self {
        ArrowSchema {
            format: std::ptr::null(),
            name: std::ptr::null(),
            metadata: std::ptr::null(),
            flags: 0,
            n_children: 0,
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }
}

impl ArrowArray {
    fn empty() -> Self {
        ArrowArray {
            length: 0,
            null_count: 0,
            offset: 0,
            n_buffers: 0,
            n_children: 0,
            buffers: std::ptr::null_mut(),
            children: std::ptr::null_mut(),
            dictionary: std::ptr::null_mut(),
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }
}

// Each owner releases what it holds when dropped (the interface's rule: whoever holds a
// struct with a release callback calls it once; a moved-out struct has none).
impl Drop for ArrowSchema {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: the struct is live and not yet released (release is still set); the
            // callback frees what the producer allocated and sets release to null.
            unsafe { release(self) }
        }
    }
}

impl Drop for ArrowArray {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: as for ArrowSchema.
            unsafe { release(self) }
        }
    }
}

impl Drop for ArrowArrayStream {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: as for ArrowSchema.
            unsafe { release(self) }
        }
    }
}

// SAFETY: the structs own what their pointers point to (the producer's private data, or ours
// below), which the interface lets any thread read and release: nothing in them is tied to
// the thread that made them. They are Send so that a capsule (whose destructor may run on any
// thread) can hold them.
unsafe impl Send for ArrowSchema {}
unsafe impl Send for ArrowArray {}
unsafe impl Send for ArrowArrayStream {}

/// Move the struct a capsule named `name` points to out of it: the interface's way to take
/// ownership (copy the struct, then mark the capsule's copy released, so that its destructor
/// leaves the data alone).
fn take_from_capsule<T: Released>(capsule: &Bound<'_, PyAny>, name: &CStr) -> PyResult<T> {
    let capsule = capsule.cast::<PyCapsule>()?;
    let pointer = capsule.pointer_checked(Some(name))?.cast::<T>();
    // SAFETY: a capsule of this name holds a valid, aligned `T` (the PyCapsule interface's
    // contract); we read it and mark the original released, so exactly one owner remains.
    unsafe {
        let taken = std::ptr::read(pointer.as_ptr());
        (*pointer.as_ptr()).mark_released();
        if !taken.is_live() {
            return Err(PyValueError::new_err(format!(
                "the {} capsule was already consumed",
                name.to_string_lossy()
            )));
        }
        Ok(taken)
    }
}

trait Released {
    fn mark_released(&mut self);
    fn is_live(&self) -> bool;
}

impl Released for ArrowSchema {
    fn mark_released(&mut self) {
        self.release = None;
    }
    fn is_live(&self) -> bool {
        self.release.is_some()
    }
}

impl Released for ArrowArray {
    fn mark_released(&mut self) {
        self.release = None;
    }
    fn is_live(&self) -> bool {
        self.release.is_some()
    }
}

impl Released for ArrowArrayStream {
    fn mark_released(&mut self) {
        self.release = None;
    }
    fn is_live(&self) -> bool {
        self.release.is_some()
    }
}

/// The layout of a string array: 32- or 64-bit offsets into one data buffer, or views.
#[derive(Clone, Copy)]
enum StringKind {
    Small,
    Large,
    View,
}

fn string_kind(schema: &ArrowSchema) -> PyResult<StringKind> {
    if schema.format.is_null() {
        return Err(PyValueError::new_err("the Arrow schema has no format"));
    }
    // SAFETY: a live schema's format is a NUL-terminated string (the interface's contract).
    let format = unsafe { CStr::from_ptr(schema.format) };
    match format.to_bytes() {
        b"u" => Ok(StringKind::Small),
        b"U" => Ok(StringKind::Large),
        b"vu" => Ok(StringKind::View),
        other => Err(PyTypeError::new_err(format!(
            "texts must be an Arrow string, large_string or string_view array, got one of \
             format {:?} (cast it to string first: a table's column, not the table)",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// Arrays of texts, kept alive while their rows are borrowed.
pub(super) struct ImportedTexts {
    kind: StringKind,
    chunks: Vec<ArrowArray>,
}

/// Import `texts`: an object with `__arrow_c_array__` (preferred) or `__arrow_c_stream__`.
pub(super) fn import_texts(texts: &Bound<'_, PyAny>) -> PyResult<ImportedTexts> {
    let py = texts.py();
    if texts.hasattr("__arrow_c_array__")? {
        let pair = texts.call_method1("__arrow_c_array__", (py.None(),))?;
        let pair = pair.cast::<PyTuple>()?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err(
                "__arrow_c_array__ must return (schema capsule, array capsule)",
            ));
        }
        let schema: ArrowSchema = take_from_capsule(&pair.get_item(0)?, c"arrow_schema")?;
        let array: ArrowArray = take_from_capsule(&pair.get_item(1)?, c"arrow_array")?;
        return Ok(ImportedTexts {
            kind: string_kind(&schema)?,
            chunks: vec![array],
        });
    }
    if texts.hasattr("__arrow_c_stream__")? {
        let capsule = texts.call_method1("__arrow_c_stream__", (py.None(),))?;
        let mut stream: ArrowArrayStream = take_from_capsule(&capsule, c"arrow_array_stream")?;
        let mut schema = ArrowSchema::empty();
        let get_schema = stream
            .get_schema
            .ok_or_else(|| stream_error(&mut stream, 0))?;
        // SAFETY: a live stream's callbacks take the stream and a struct to fill.
        let status = unsafe { get_schema(&mut stream, &mut schema) };
        if status != 0 {
            return Err(stream_error(&mut stream, status));
        }
        let kind = string_kind(&schema)?;
        let get_next = stream
            .get_next
            .ok_or_else(|| stream_error(&mut stream, 0))?;
        let mut chunks = Vec::new();
        loop {
            let mut array = ArrowArray::empty();
            // SAFETY: as above; a released array (no release callback) ends the stream.
            let status = unsafe { get_next(&mut stream, &mut array) };
            if status != 0 {
                return Err(stream_error(&mut stream, status));
            }
            if array.release.is_none() {
                break;
            }
            chunks.try_reserve(1).map_err(out_of_memory)?;
            chunks.push(array);
        }
        return Ok(ImportedTexts { kind, chunks });
    }
    Err(PyTypeError::new_err(format!(
        "texts must be an Arrow string array (an object with __arrow_c_array__ or \
         __arrow_c_stream__: pyarrow, polars, arro3...), got {}",
        texts.get_type().name()?
    )))
}

fn stream_error(stream: &mut ArrowArrayStream, status: c_int) -> PyErr {
    let detail = match stream.get_last_error {
        // SAFETY: get_last_error returns null or a NUL-terminated string that lives until the
        // next call on the stream; it is copied at once.
        Some(last_error) => unsafe {
            let message = last_error(stream);
            (!message.is_null()).then(|| CStr::from_ptr(message).to_string_lossy().into_owned())
        },
        None => None,
    };
    PyValueError::new_err(format!(
        "the Arrow stream of texts failed (error {status}): {}",
        detail.unwrap_or_else(|| "no message".into())
    ))
}

impl ImportedTexts {
    /// Every row's text, checked (see [`StringColumn::append_rows`]); errors say which row.
    pub(super) fn rows(&self) -> PyResult<Vec<&str>> {
        let total = self
            .chunks
            .iter()
            .map(|chunk| usize::try_from(chunk.length).unwrap_or(0))
            .sum();
        let mut rows = Vec::new();
        rows.try_reserve_exact(total).map_err(out_of_memory)?;
        for chunk in &self.chunks {
            let first_row = rows.len();
            let appended = match self.kind {
                StringKind::Small => column::<i32>(chunk)?.append_rows(&mut rows, first_row),
                StringKind::Large => column::<i64>(chunk)?.append_rows(&mut rows, first_row),
                StringKind::View => {
                    let parts = view_parts(chunk)?;
                    let column = StringViewColumn {
                        views: parts.views,
                        buffers: &parts.buffers,
                        validity: parts.validity,
                    };
                    column.append_rows(&mut rows, first_row)
                }
            };
            appended.map_err(|error| match error {
                RowError::Null { row } => PyValueError::new_err(format!(
                    "texts[{row}] is null: every row must be a text (fill nulls first, e.g. \
                     with pyarrow.compute.fill_null(texts, \"\"))"
                )),
                other => PyValueError::new_err(format!("texts: {other}")),
            })?;
        }
        Ok(rows)
    }
}

fn malformed(what: &str) -> PyErr {
    PyValueError::new_err(format!("texts: malformed Arrow array: {what}"))
}

/// The array's length and offset, checked not negative.
fn length_and_offset(array: &ArrowArray) -> PyResult<(usize, usize)> {
    match (usize::try_from(array.length), usize::try_from(array.offset)) {
        (Ok(length), Ok(offset)) => Ok((length, offset)),
        _ => Err(malformed("negative length or offset")),
    }
}

/// The validity bitmap of an array of `offset + length` slots at `pointer`, and the bit
/// offset of its first row; None when the array says it has no null or has no bitmap.
fn validity(
    array: &ArrowArray,
    pointer: *const c_void,
    offset: usize,
    length: usize,
) -> PyResult<Option<(&[u8], usize)>> {
    let pointer = pointer.cast::<u8>();
    if array.null_count == 0 || pointer.is_null() {
        return Ok(None);
    }
    let slots = offset
        .checked_add(length)
        .ok_or_else(|| malformed("offset + length overflows"))?;
    // SAFETY: the validity bitmap holds a bit for each of offset + length slots (the
    // interface's contract); it lives as long as the array.
    let bitmap = unsafe { std::slice::from_raw_parts(pointer, slots.div_ceil(8)) };
    Ok(Some((bitmap, offset)))
}

/// The string column an array of texts holds, its slices made from the producer's buffers.
fn column<O: Offset>(array: &ArrowArray) -> PyResult<StringColumn<'_, O>> {
    let (length, offset) = length_and_offset(array)?;
    if array.n_buffers != 3 || array.buffers.is_null() {
        return Err(malformed("a string array has 3 buffers"));
    }
    // SAFETY: a live array of a string type has `n_buffers` (3) buffer pointers.
    let buffers = unsafe { std::slice::from_raw_parts(array.buffers, 3) };
    let count = offset
        .checked_add(length)
        .and_then(|end| end.checked_add(1))
        .ok_or_else(|| malformed("offset + length overflows"))?;
    let offsets_pointer = buffers[1].cast::<O>();
    if length == 0 && offsets_pointer.is_null() {
        return Ok(StringColumn {
            offsets: &[],
            data: &[],
            validity: None,
        });
    }
    if offsets_pointer.is_null() || !offsets_pointer.is_aligned() {
        return Err(malformed("its offsets are missing or misaligned"));
    }
    // SAFETY: the offsets buffer of a string array holds offset + length + 1 offsets (the
    // interface's contract; the pointer is checked non-null and aligned above).
    let offsets = unsafe { std::slice::from_raw_parts(offsets_pointer, count) };
    let offsets = &offsets[offset..];
    // The data holds at least the bytes up to the last offset (the contract again); offsets
    // that go backwards or past it are refused row by row by the core.
    let data_length = offsets[length].index().unwrap_or(0);
    let data_pointer = buffers[2].cast::<u8>();
    let data: &[u8] = if data_pointer.is_null() || data_length == 0 {
        &[]
    } else {
        // SAFETY: see above: the data buffer holds at least `data_length` bytes.
        unsafe { std::slice::from_raw_parts(data_pointer, data_length) }
    };
    Ok(StringColumn {
        offsets,
        data,
        validity: validity(array, buffers[0], offset, length)?,
    })
}

/// The slices of a string_view array: its views (from its offset on), its data buffers, its
/// validity bitmap. The views themselves are checked by the core, row by row.
struct ViewParts<'a> {
    views: &'a [[u8; 16]],
    buffers: Vec<&'a [u8]>,
    validity: Option<(&'a [u8], usize)>,
}

/// The string-view column an array of texts holds, its slices made from the producer's
/// buffers: validity, views, the data buffers, then the data buffers' sizes (`int64`).
fn view_parts(array: &ArrowArray) -> PyResult<ViewParts<'_>> {
    let (length, offset) = length_and_offset(array)?;
    // At most as many buffer pointers as a slice of them can hold.
    let most_buffers = isize::MAX as usize / std::mem::size_of::<*const c_void>();
    let n_buffers = usize::try_from(array.n_buffers)
        .ok()
        .filter(|&n| (3..=most_buffers).contains(&n))
        .ok_or_else(|| malformed("a string_view array has at least 3 buffers"))?;
    if array.buffers.is_null() {
        return Err(malformed("a string_view array has at least 3 buffers"));
    }
    // SAFETY: a live array has `n_buffers` buffer pointers.
    let pointers = unsafe { std::slice::from_raw_parts(array.buffers, n_buffers) };
    let views: &[[u8; 16]] = if length == 0 {
        &[]
    } else {
        let slots = offset
            .checked_add(length)
            .filter(|slots| {
                slots
                    .checked_mul(16)
                    .is_some_and(|bytes| bytes <= isize::MAX as usize)
            })
            .ok_or_else(|| malformed("offset + length overflows"))?;
        let views_pointer = pointers[1].cast::<[u8; 16]>();
        if views_pointer.is_null() {
            return Err(malformed("its views are missing"));
        }
        // SAFETY: the views buffer holds offset + length views of 16 bytes (the interface's
        // contract); `[u8; 16]` needs no alignment. What a view says is checked by the core.
        let views = unsafe { std::slice::from_raw_parts(views_pointer, slots) };
        &views[offset..]
    };
    let data_count = n_buffers - 3;
    let sizes: &[i64] = if data_count == 0 {
        &[]
    } else {
        let sizes_pointer = pointers[n_buffers - 1].cast::<i64>();
        if sizes_pointer.is_null() || !sizes_pointer.is_aligned() {
            return Err(malformed("its data buffer sizes are missing or misaligned"));
        }
        // SAFETY: the last buffer of a string_view array holds the size of each data buffer
        // (the interface's contract; the pointer is checked non-null and aligned above).
        unsafe { std::slice::from_raw_parts(sizes_pointer, data_count) }
    };
    let mut buffers = Vec::new();
    buffers
        .try_reserve_exact(data_count)
        .map_err(out_of_memory)?;
    for (&size, &pointer) in sizes.iter().zip(&pointers[2..]) {
        let size = isize::try_from(size)
            .ok()
            .and_then(|size| usize::try_from(size).ok())
            .ok_or_else(|| malformed("a data buffer has a negative size"))?;
        let pointer = pointer.cast::<u8>();
        buffers.push(if size == 0 {
            &[][..]
        } else if pointer.is_null() {
            return Err(malformed("a data buffer is missing"));
        } else {
            // SAFETY: a data buffer holds as many bytes as its size says (the contract).
            unsafe { std::slice::from_raw_parts(pointer, size) }
        });
    }
    Ok(ViewParts {
        views,
        buffers,
        validity: validity(array, pointers[0], offset, length)?,
    })
}

/// The buffers of an exported list array (shared by every export of one result).
struct IdBuffers {
    values: Vec<u32>,
    offsets: ListOffsets,
}

/// Ids as an Arrow `list<int32>` array (`large_list<int32>` past 2**31 - 1 ids in all), for
/// any consumer of the PyCapsule interface: `pyarrow.array(ids)`.
#[pyclass(frozen, module = "bbtok._native")]
pub(super) struct ArrowIds {
    buffers: Arc<IdBuffers>,
}

impl ArrowIds {
    pub(super) fn new(values: Vec<u32>, offsets: ListOffsets) -> Self {
        ArrowIds {
            buffers: Arc::new(IdBuffers { values, offsets }),
        }
    }
}

/// What an exported schema owns: its strings and its child.
struct SchemaData {
    child: Option<Box<ArrowSchema>>,
    children: [*mut ArrowSchema; 1],
}

unsafe extern "C" fn release_schema(schema: *mut ArrowSchema) {
    // SAFETY: called once by the owner on a schema made by `list_schema` or `item_schema`,
    // whose private data (if any) is a boxed `SchemaData`.
    unsafe {
        let schema = &mut *schema;
        if !schema.private_data.is_null() {
            let mut data = Box::from_raw(schema.private_data.cast::<SchemaData>());
            if let Some(mut child) = data.child.take() {
                if let Some(release) = child.release {
                    release(&mut *child);
                }
                child.release = None;
            }
        }
        schema.private_data = std::ptr::null_mut();
        schema.release = None;
    }
}

fn item_schema() -> ArrowSchema {
    ArrowSchema {
        format: c"i".as_ptr(),
        name: c"item".as_ptr(),
        flags: NULLABLE,
        release: Some(release_schema),
        ..ArrowSchema::empty()
    }
}

fn list_schema(large: bool) -> ArrowSchema {
    let mut data = Box::new(SchemaData {
        child: Some(Box::new(item_schema())),
        children: [std::ptr::null_mut()],
    });
    data.children[0] = data
        .child
        .as_deref_mut()
        .map_or(std::ptr::null_mut(), |c| c as *mut _);
    let children = data.children.as_mut_ptr();
    ArrowSchema {
        format: if large { c"+L" } else { c"+l" }.as_ptr(),
        name: c"".as_ptr(),
        flags: NULLABLE,
        n_children: 1,
        children,
        release: Some(release_schema),
        private_data: Box::into_raw(data).cast(),
        ..ArrowSchema::empty()
    }
}

/// What an exported array owns: a reference to the buffers, the buffer pointers, its child.
struct ArrayData {
    _buffers: Arc<IdBuffers>,
    pointers: [*const c_void; 2],
    child: Option<Box<ArrowArray>>,
    children: [*mut ArrowArray; 1],
}

unsafe extern "C" fn release_array(array: *mut ArrowArray) {
    // SAFETY: called once by the owner on an array made by `list_array` or `values_array`,
    // whose private data is a boxed `ArrayData`.
    unsafe {
        let array = &mut *array;
        if !array.private_data.is_null() {
            let mut data = Box::from_raw(array.private_data.cast::<ArrayData>());
            if let Some(mut child) = data.child.take() {
                if let Some(release) = child.release {
                    release(&mut *child);
                }
                child.release = None;
            }
        }
        array.private_data = std::ptr::null_mut();
        array.release = None;
    }
}

fn array_with(
    buffers: &Arc<IdBuffers>,
    length: usize,
    data_pointer: *const c_void,
    child: Option<ArrowArray>,
) -> ArrowArray {
    let mut data = Box::new(ArrayData {
        _buffers: buffers.clone(),
        // No validity bitmap: no row is null.
        pointers: [std::ptr::null(), data_pointer],
        child: child.map(Box::new),
        children: [std::ptr::null_mut()],
    });
    data.children[0] = data
        .child
        .as_deref_mut()
        .map_or(std::ptr::null_mut(), |c| c as *mut _);
    let has_child = data.child.is_some();
    let pointers = data.pointers.as_mut_ptr();
    let children = data.children.as_mut_ptr();
    ArrowArray {
        length: length as i64,
        null_count: 0,
        offset: 0,
        n_buffers: 2,
        n_children: i64::from(has_child),
        buffers: pointers,
        children: if has_child {
            children
        } else {
            std::ptr::null_mut()
        },
        dictionary: std::ptr::null_mut(),
        release: Some(release_array),
        private_data: Box::into_raw(data).cast(),
    }
}

#[pymethods]
impl ArrowIds {
    /// The PyCapsule interface: (schema capsule, array capsule). The requested schema is not
    /// followed (the list type is what the ids need).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let _ = requested_schema;
        let buffers = &self.buffers;
        let (large, offsets_pointer) = match &buffers.offsets {
            ListOffsets::Small(offsets) => (false, offsets.as_ptr().cast::<c_void>()),
            ListOffsets::Large(offsets) => (true, offsets.as_ptr().cast::<c_void>()),
        };
        // int32 values: ids are at most 2**31 - 1 (the vocabulary's and added tokens' bound),
        // so their u32 bytes are the same int32.
        let values = array_with(
            buffers,
            buffers.values.len(),
            buffers.values.as_ptr().cast(),
            None,
        );
        let list = array_with(
            buffers,
            buffers.offsets.len(),
            offsets_pointer,
            Some(values),
        );
        let schema = PyCapsule::new_with_value(py, list_schema(large), c"arrow_schema")?;
        let array = PyCapsule::new_with_value(py, list, c"arrow_array")?;
        Ok((schema, array))
    }

    fn __len__(&self) -> usize {
        self.buffers.offsets.len()
    }
}
