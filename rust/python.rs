//! The PyO3 binding: type conversion and the GIL, no tokenizer logic.
//!
//! Python `str` may hold lone surrogates, which a Rust `&str` cannot: such a text crosses as
//! bytes encoded with Python's `surrogatepass`, which the core reads as it reads UTF-8.
//!
//! Memory sized by the input is reserved fallibly, here and in the core, so that running out
//! raises `MemoryError` instead of aborting the process (Rust aborts when an infallible
//! allocation fails, and PyO3's plain constructors panic when Python's do).

use crate::bpe::MergeRanks;
use crate::cache::MAX_CACHE_WORDS;
use crate::tokenizer::{AddedTokenTable, EncodeError, Tokenizer};
use crate::vocab::{self, LoadError, Vocab};
use crate::words::Lowercaser;
use pyo3::exceptions::{PyFileNotFoundError, PyMemoryError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyMemoryView, PyString};
use rustc_hash::FxHashSet;
use std::borrow::Cow;
use std::collections::{HashMap, TryReserveError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

fn load_error(error: LoadError) -> PyErr {
    match &error {
        LoadError::Io { path, .. } if !path.exists() => {
            PyFileNotFoundError::new_err((2, "No such file", path.display().to_string()))
        }
        LoadError::Io { .. } => PyOSError::new_err(error.to_string()),
        _ => PyValueError::new_err(error.to_string()),
    }
}

fn out_of_memory(_: TryReserveError) -> PyErr {
    PyMemoryError::new_err("out of memory")
}

/// The text of a Python `str`: borrowed UTF-8, or `surrogatepass` bytes when it holds a lone
/// surrogate.
fn text_of<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    let string = value.cast::<PyString>()?;
    match string.to_str() {
        Ok(text) => Ok(Cow::Borrowed(text.as_bytes())),
        Err(_) => {
            let encoded = string.call_method1("encode", ("utf-8", "surrogatepass"))?;
            let encoded = encoded.cast::<PyBytes>()?.as_bytes();
            let mut owned = Vec::new();
            owned
                .try_reserve_exact(encoded.len())
                .map_err(out_of_memory)?;
            owned.extend_from_slice(encoded);
            Ok(Cow::Owned(owned))
        }
    }
}

fn to_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
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
const CHECKED_FROM: usize = 1 << 14;

/// A list of `items`.
fn list_of<'py>(
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
fn int_list<'py>(
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

/// The most threads a batch may run on: four times the cores this process may use (as Rust's
/// `available_parallelism` counts them: CPU affinity and cgroup quota). Threads beyond the
/// cores only take turns on them, while each holds a stack and may get a malloc arena of its
/// own: `BBTOK_NUM_THREADS=3000` used to start 3,000 threads and tens of GB of address space.
/// Four times leaves room to oversubscribe a little (a core shared with other work).
#[pyfunction]
fn max_threads() -> usize {
    4 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The thread pool for `threads` threads (at most `max_threads()`). Only the pool of the most
/// recent count is kept: asking for another count lets the previous pool go, and its threads
/// end once the batches still running on it finish. A pool is made on first use in each
/// process: a child made by `fork()` (Python's multiprocessing, `datasets.map(num_proc=...)`)
/// inherits the parent's pool but none of its threads, and work sent to it would wait forever.
/// The lock is held only to find or make the pool, never while waiting for the GIL or for a
/// batch, so it cannot take part in a deadlock.
fn pool(threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    type Latest = Option<(usize, Arc<rayon::ThreadPool>)>;
    /// The process that made the pool, and the pool.
    static POOL: Mutex<(u32, Latest)> = Mutex::new((0, None));
    let limit = max_threads();
    if threads > limit {
        return Err(PyValueError::new_err(format!(
            "threads={threads} is more than the {limit} threads allowed (4 times the cores this \
             process may use)"
        )));
    }
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let (owner, latest) = &mut *guard;
    if *owner != std::process::id() {
        // The parent's pool: dropping it would signal threads that do not exist here.
        std::mem::forget(latest.take());
        *owner = std::process::id();
    }
    if let Some((count, pool)) = latest {
        if *count == threads {
            return Ok(pool.clone());
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("bbtok-{i}"))
        .build()
        .map_err(|e| PyOSError::new_err(format!("cannot start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    let previous = latest.replace((threads, pool.clone()));
    drop(guard);
    // Dropping a pool only tells its threads to end (it does not wait for them).
    drop(previous);
    Ok(pool)
}

/// The Rust tokenizer. The Python class `bbtok.BlenderbotSmallTokenizerFast` wraps it.
#[pyclass(frozen, module = "bbtok._native")]
struct NativeTokenizer {
    /// The current tokenizer. Readers take a reference and let go of the lock at once; a change
    /// builds a new tokenizer (cheap: the big tables are shared) and swaps it in. So no lock is
    /// ever held while waiting for the GIL, and no thread can hold the GIL while waiting for a
    /// lock that such a thread holds (a deadlock otherwise).
    inner: RwLock<Arc<Tokenizer>>,
    /// The message for a token that has no id because the unknown token has none (the same
    /// as the Python layer's).
    unknown_message: RwLock<String>,
    /// A Python int for every id below `INT_TABLE_SIZE`, made once: filling result lists then
    /// costs a reference count instead of an allocation per id.
    ints: OnceLock<Vec<Py<PyInt>>>,
}

/// A text shorter than this (in bytes) is encoded without letting go of the GIL: releasing and
/// taking it back costs more than encoding such a text.
const DETACH_FROM_BYTES: usize = 4096;

/// Run `work` with the GIL released when `bytes` of text make it worth it.
fn detach_for<T: Send>(py: Python<'_>, bytes: usize, work: impl Send + FnOnce() -> T) -> T {
    if bytes >= DETACH_FROM_BYTES {
        py.detach(work)
    } else {
        work()
    }
}

/// Ids below this get a shared Python int (the vocabulary's ids are well below it).
const INT_TABLE_SIZE: u32 = 1 << 17;

fn encode_error(error: EncodeError, message: &RwLock<String>) -> PyErr {
    match error {
        EncodeError::NoUnknownToken => {
            PyValueError::new_err(message.read().unwrap_or_else(|e| e.into_inner()).clone())
        }
        EncodeError::OutOfMemory => PyMemoryError::new_err(error.to_string()),
        EncodeError::NotText(_) | EncodeError::PieceTooLong(_) => {
            PyValueError::new_err(error.to_string())
        }
    }
}

impl NativeTokenizer {
    /// Encode a list of texts with the GIL released, on `threads` threads (1: this one).
    fn encode_texts(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyList>,
        threads: usize,
    ) -> PyResult<Vec<Vec<u32>>> {
        let items: Vec<Bound<'_, PyAny>> = texts.iter().collect();
        let texts = items.iter().map(text_of).collect::<PyResult<Vec<_>>>()?;
        let slices: Vec<&[u8]> = texts.iter().map(|t| &**t).collect();
        let tokenizer = self.read();
        if threads > 1 {
            let pool = pool(threads)?;
            py.detach(|| pool.install(|| tokenizer.encode_batch(&slices, true)))
        } else {
            py.detach(|| tokenizer.encode_batch(&slices, false))
        }
        .map_err(|e| self.error(e))
    }

    /// A Python list of ids.
    fn id_list<'py>(&self, py: Python<'py>, ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
        let ints = self.ints.get_or_init(|| {
            let size = (self.read().vocab().len() as u32 + 1024).min(INT_TABLE_SIZE);
            (0..size).map(|id| PyInt::new(py, id).unbind()).collect()
        });
        if ids.len() < CHECKED_FROM {
            return PyList::new(
                py,
                ids.iter().map(|&id| match ints.get(id as usize) {
                    Some(int) => int.bind(py).clone().into_any(),
                    None => PyInt::new(py, id).into_any(),
                }),
            );
        }
        let list = list_of(py, ids.iter().map(|_| py.None().into_bound(py)))?;
        // Ids past the table (added tokens far from the vocabulary) are made all at once.
        let mut beyond = Vec::new();
        for (index, &id) in ids.iter().enumerate() {
            match ints.get(id as usize) {
                Some(int) => list.set_item(index, int.bind(py))?,
                None => {
                    beyond.try_reserve(1).map_err(out_of_memory)?;
                    beyond.push((index, id));
                }
            }
        }
        if !beyond.is_empty() {
            let made = int_list(py, beyond.iter().map(|&(_, id)| u64::from(id)))?;
            for (&(index, _), int) in beyond.iter().zip(made.iter()) {
                list.set_item(index, int)?;
            }
        }
        Ok(list)
    }

    fn read(&self) -> Arc<Tokenizer> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Apply a change to a copy of the tokenizer and swap it in.
    fn change(&self, edit: impl FnOnce(&mut Tokenizer)) {
        let mut changed = (*self.read()).clone();
        edit(&mut changed);
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(changed);
    }

    fn error(&self, error: EncodeError) -> PyErr {
        encode_error(error, &self.unknown_message)
    }
}

fn wrap(tokenizer: Tokenizer) -> NativeTokenizer {
    NativeTokenizer {
        inner: RwLock::new(Arc::new(tokenizer)),
        unknown_message: RwLock::new(EncodeError::NoUnknownToken.to_string()),
        ints: OnceLock::new(),
    }
}

#[pymethods]
impl NativeTokenizer {
    /// Read `vocab.json` and `merges.txt`; returns (tokenizer, warnings).
    #[staticmethod]
    fn from_files(
        py: Python<'_>,
        vocab_path: PathBuf,
        merges_path: PathBuf,
    ) -> PyResult<(NativeTokenizer, Vec<String>)> {
        let loaded = py.detach(|| {
            let (vocab, mut warnings) = Vocab::from_file(&vocab_path)?;
            let (merges, more) = vocab::read_merges(&merges_path)?;
            warnings.extend(more);
            Ok::<_, LoadError>((Tokenizer::new(vocab, merges), warnings))
        });
        let (tokenizer, warnings) = loaded.map_err(load_error)?;
        Ok((wrap(tokenizer), warnings))
    }

    /// Build from a parsed vocabulary and ranked merge lines ((symbols, rank) pairs).
    #[staticmethod]
    fn from_parts(vocab: HashMap<String, u32>, merges: Vec<(Vec<String>, u32)>) -> PyResult<Self> {
        let vocab = Vocab::from_entries(vocab).map_err(PyValueError::new_err)?;
        Ok(wrap(Tokenizer::new(vocab, MergeRanks::from_ranked(merges))))
    }

    /// Use lowercasing tables of another Unicode version (see `bbtok.blenderbot_small.unicode_tables`).
    fn set_lowercase_tables(
        &self,
        version: &str,
        mapping: Vec<(u32, Vec<u32>)>,
        cased: Vec<(u32, u32)>,
        case_ignorable: Vec<(u32, u32)>,
    ) -> PyResult<()> {
        let mut table = Vec::with_capacity(mapping.len());
        for (code, lowered) in mapping {
            if lowered.is_empty() || lowered.len() > 3 {
                return Err(PyValueError::new_err(format!(
                    "U+{code:04X} lowercases to {} code points",
                    lowered.len()
                )));
            }
            let mut padded = [0u32; 3];
            padded[..lowered.len()].copy_from_slice(&lowered);
            table.push((code, padded));
        }
        let lowercaser = Lowercaser::new(version, table, cased, case_ignorable);
        self.change(|t| t.set_lowercaser(lowercaser));
        Ok(())
    }

    /// The Unicode version of the lowercasing tables.
    #[getter]
    fn unicode_version(&self) -> String {
        self.read().lowercaser().unicode_version().to_string()
    }

    /// Set the added tokens (token -> id and id -> token pairs) and the unit tokens.
    fn set_added_tokens(
        &self,
        encoder: Vec<(Bound<'_, PyAny>, u32)>,
        decoder: Vec<(u32, Bound<'_, PyAny>)>,
        units: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let table = AddedTokenTable {
            encoder: encoder
                .iter()
                .map(|(token, id)| Ok((text_of(token)?.into_owned(), *id)))
                .collect::<PyResult<Vec<_>>>()?,
            decoder: decoder
                .iter()
                .map(|(id, token)| Ok((*id, text_of(token)?.into_owned())))
                .collect::<PyResult<Vec<_>>>()?,
        };
        let units = units
            .iter()
            .map(|token| Ok(text_of(token)?.into_owned()))
            .collect::<PyResult<Vec<_>>>()?;
        self.change(|t| t.set_added_tokens(table, units));
        Ok(())
    }

    /// Set the unknown token and its id (None for none), and the message for a token that
    /// cannot be mapped when the id is None.
    #[pyo3(signature = (token, id, message))]
    fn set_unknown(
        &self,
        token: Option<Bound<'_, PyAny>>,
        id: Option<u32>,
        message: String,
    ) -> PyResult<()> {
        let token = token
            .map(|t| text_of(&t).map(Cow::into_owned))
            .transpose()?;
        self.change(|t| t.set_unknown(token, id));
        *self
            .unknown_message
            .write()
            .unwrap_or_else(|e| e.into_inner()) = message;
        Ok(())
    }

    /// Bound the word cache (0 disables it; at most `MAX_CACHE_WORDS`). Anything else raises
    /// ValueError, as `cache_words` does: this is also how a pickled bound comes back.
    fn set_cache_capacity(&self, words: &Bound<'_, PyAny>) -> PyResult<()> {
        let refused = || {
            PyValueError::new_err(format!(
                "cache_words must be an int >= 0 and at most {MAX_CACHE_WORDS}, got {}",
                words.repr().map_or_else(|_| "?".into(), |r| r.to_string())
            ))
        };
        let count: usize = match words.cast::<PyInt>() {
            Ok(int) => int.extract().map_err(|_| refused())?,
            Err(_) => return Err(refused()),
        };
        let mut result = Ok(());
        self.change(|t| result = t.set_cache_capacity(count));
        result.map_err(|_| refused())
    }

    /// The bound of the word cache, in words.
    #[getter]
    fn cache_capacity(&self) -> usize {
        self.read().cache_capacity()
    }

    /// Text -> ids (added tokens cut out first).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        text: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        let ids =
            detach_for(py, text.len(), || tokenizer.encode(&text)).map_err(|e| self.error(e))?;
        self.id_list(py, &ids)
    }

    /// Text without added tokens -> ids.
    fn encode_plain<'py>(
        &self,
        py: Python<'py>,
        text: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        let ids = detach_for(py, text.len(), || tokenizer.encode_plain(&text))
            .map_err(|e| self.error(e))?;
        self.id_list(py, &ids)
    }

    /// Many texts -> lists of ids, on `threads` threads (1: this thread only).
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: Bound<'py, PyList>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let encoded = self.encode_texts(py, &texts, threads)?;
        let rows = encoded
            .iter()
            .map(|ids| self.id_list(py, ids))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }

    /// Many texts -> (ids of all texts as native-endian uint32 bytes, the length of each).
    fn encode_batch_flat<'py>(
        &self,
        py: Python<'py>,
        texts: Bound<'py, PyList>,
        threads: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<usize>)> {
        let encoded = self.encode_texts(py, &texts, threads)?;
        let lengths: Vec<usize> = encoded.iter().map(Vec::len).collect();
        let size = lengths.iter().sum::<usize>() * 4;
        let flat = PyBytes::new_with(py, size, |buffer| {
            for (slot, id) in buffer.chunks_exact_mut(4).zip(encoded.iter().flatten()) {
                slot.copy_from_slice(&id.to_ne_bytes());
            }
            Ok(())
        })?;
        Ok((flat, lengths))
    }

    /// Text -> (ids, (start, end) character offsets, word indices or None); with `cut_added`
    /// false, added tokens are not cut out.
    #[allow(clippy::type_complexity)]
    fn encode_with_offsets<'py>(
        &self,
        py: Python<'py>,
        text: Bound<'py, PyAny>,
        cut_added: bool,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, Bound<'py, PyList>)> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        let spans = py
            .detach(|| tokenizer.encode_with_offsets(&text, cut_added))
            .map_err(|e| self.error(e))?;
        let mut ids = Vec::new();
        ids.try_reserve_exact(spans.len()).map_err(out_of_memory)?;
        ids.extend(spans.iter().map(|s| s.id));
        let ids = self.id_list(py, &ids)?;
        if spans.len() < CHECKED_FROM {
            let offsets = PyList::new(py, spans.iter().map(|s| (s.start, s.end)))?;
            let words = PyList::new(py, spans.iter().map(|s| s.word))?;
            return Ok((ids, offsets, words));
        }
        let starts = int_list(py, spans.iter().map(|s| s.start as u64))?;
        let ends = int_list(py, spans.iter().map(|s| s.end as u64))?;
        let builtins = py.import("builtins")?;
        let offsets = builtins
            .getattr("list")?
            .call1((builtins.getattr("zip")?.call1((starts, ends))?,))?
            .cast_into::<PyList>()?;
        let words = int_list(py, spans.iter().map(|s| s.word.unwrap_or(0) as u64))?;
        for (index, span) in spans.iter().enumerate() {
            if span.word.is_none() {
                words.set_item(index, py.None())?;
            }
        }
        Ok((ids, offsets, words))
    }

    /// Text without added tokens -> tokens.
    fn tokenize_plain<'py>(
        &self,
        py: Python<'py>,
        text: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        let tokens = detach_for(py, text.len(), || tokenizer.tokenize_plain(&text))
            .map_err(|e| self.error(e))?;
        let mut strings = Vec::new();
        strings
            .try_reserve_exact(tokens.len())
            .map_err(out_of_memory)?;
        for token in &tokens {
            strings.push(to_str(py, token)?.into_any());
        }
        list_of(py, strings.into_iter())
    }

    /// Token -> id: added tokens, then the vocabulary (lowercased), then the unknown id.
    fn token_to_id(&self, token: Bound<'_, PyAny>) -> PyResult<u32> {
        let token = text_of(&token)?;
        self.read().token_to_id(&token).map_err(|e| self.error(e))
    }

    /// The vocabulary's id of a token as written, or None.
    fn vocab_id(&self, token: Bound<'_, PyAny>) -> PyResult<Option<u32>> {
        let token = text_of(&token)?;
        Ok(self.read().vocab().id(&token))
    }

    /// The vocabulary's token of an id, or None.
    fn vocab_token(&self, id: i64) -> Option<String> {
        let id = u32::try_from(id).ok()?;
        self.read().vocab().token(id).map(String::from)
    }

    /// Ids -> text, as the reference decodes (before the optional clean-up).
    fn decode<'py>(
        &self,
        py: Python<'py>,
        ids: Vec<i64>,
        skip: Vec<i64>,
    ) -> PyResult<Bound<'py, PyString>> {
        let skip: FxHashSet<i64> = skip.into_iter().collect();
        let tokenizer = self.read();
        let text = detach_for(py, ids.len() * 8, || tokenizer.decode(&ids, &skip))
            .map_err(out_of_memory)?;
        to_str(py, &text)
    }

    /// The vocabulary as a dict, in the order of the file.
    fn get_vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (token, id) in self.read().vocab().entries() {
            dict.set_item(token, id)?;
        }
        Ok(dict)
    }

    /// Number of entries of `vocab.json`.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.read().vocab().len()
    }

    /// What `save_vocabulary` writes to `vocab.json`.
    fn vocab_json(&self) -> String {
        self.read().vocab().to_json()
    }

    /// What `save_vocabulary` writes to `merges.txt`.
    fn merges_text(&self) -> String {
        vocab::merges_text(self.read().merges())
    }

    /// Merge lines with their ranks, in rank order.
    fn merge_ranks(&self) -> Vec<(Vec<String>, u32)> {
        self.read().merges().lines()
    }
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    m.add("UNICODE_VERSION", crate::unicode_tables::UNICODE_VERSION)?;
    m.add("MAX_CACHE_WORDS", MAX_CACHE_WORDS)?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_class::<NativeTokenizer>()?;
    Ok(())
}
