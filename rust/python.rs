//! The PyO3 binding: type conversion and the GIL, no tokenizer logic.
//!
//! Python `str` may hold lone surrogates, which a Rust `&str` cannot: such a text crosses as
//! bytes encoded with Python's `surrogatepass`, which the core reads as it reads UTF-8.

use crate::bpe::MergeRanks;
use crate::tokenizer::{AddedTokenTable, EncodeError, Tokenizer};
use crate::vocab::{self, LoadError, Vocab};
use crate::words::Lowercaser;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString};
use rustc_hash::FxHashSet;
use std::borrow::Cow;
use std::collections::HashMap;
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

/// The text of a Python `str`: borrowed UTF-8, or `surrogatepass` bytes when it holds a lone
/// surrogate.
fn text_of<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    let string = value.cast::<PyString>()?;
    match string.to_str() {
        Ok(text) => Ok(Cow::Borrowed(text.as_bytes())),
        Err(_) => {
            let encoded = string.call_method1("encode", ("utf-8", "surrogatepass"))?;
            Ok(Cow::Owned(encoded.cast::<PyBytes>()?.as_bytes().to_vec()))
        }
    }
}

fn to_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(PyString::new(py, text)),
        Err(_) => Ok(PyBytes::new(py, bytes)
            .call_method1("decode", ("utf-8", "surrogatepass"))?
            .cast_into::<PyString>()?),
    }
}

/// Thread pools by size, made on first use in each process. A child made by `fork()` (Python's
/// multiprocessing, `datasets.map(num_proc=...)`) inherits the parent's pools but none of their
/// threads: work sent to one would wait forever, so a new process makes its own pools.
fn pool(threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    type Pools = (u32, HashMap<usize, Arc<rayon::ThreadPool>>);
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new((std::process::id(), HashMap::new())));
    let mut guard = pools.lock().unwrap_or_else(|e| e.into_inner());
    let (owner, pools) = &mut *guard;
    if *owner != std::process::id() {
        // The parent's pools: dropping one would signal threads that do not exist here.
        std::mem::forget(std::mem::take(pools));
        *owner = std::process::id();
    }
    if let Some(pool) = pools.get(&threads) {
        return Ok(pool.clone());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("bbtok-{i}"))
        .build()
        .map_err(|e| PyOSError::new_err(format!("cannot start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.insert(threads, pool.clone());
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
        other => PyValueError::new_err(other.to_string()),
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
        PyList::new(
            py,
            ids.iter().map(|&id| match ints.get(id as usize) {
                Some(int) => int.bind(py).clone().into_any(),
                None => PyInt::new(py, id).into_any(),
            }),
        )
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

    /// Build from the texts of `vocab.json` and `merges.txt` (already read).
    #[staticmethod]
    fn from_texts(vocab_json: &str, merges_text: &str) -> PyResult<NativeTokenizer> {
        let (vocab, _) = Vocab::from_json(vocab_json).map_err(PyValueError::new_err)?;
        let (merges, _) = vocab::parse_merges(merges_text);
        Ok(wrap(Tokenizer::new(vocab, merges)))
    }

    /// Build from a parsed vocabulary and ranked merge lines ((symbols, rank) pairs).
    #[staticmethod]
    fn from_parts(vocab: HashMap<String, u32>, merges: Vec<(Vec<String>, u32)>) -> PyResult<Self> {
        let vocab = Vocab::from_entries(vocab).map_err(PyValueError::new_err)?;
        Ok(wrap(Tokenizer::new(vocab, MergeRanks::from_ranked(merges))))
    }

    /// Use lowercasing tables of another Unicode version (see `bbtok._unicode`).
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

    /// Bound the word cache (0 disables it).
    fn set_cache_capacity(&self, words: usize) {
        self.change(|t| t.set_cache_capacity(words));
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
        let flat: Vec<u8> = encoded
            .iter()
            .flat_map(|ids| ids.iter().flat_map(|id| id.to_ne_bytes()))
            .collect();
        Ok((PyBytes::new(py, &flat), lengths))
    }

    /// Text -> (ids, (start, end) character offsets, word indices or None); with `cut_added`
    /// false, added tokens are not cut out.
    #[allow(clippy::type_complexity)]
    fn encode_with_offsets(
        &self,
        py: Python<'_>,
        text: Bound<'_, PyAny>,
        cut_added: bool,
    ) -> PyResult<(Vec<u32>, Vec<(usize, usize)>, Vec<Option<usize>>)> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        let spans = py
            .detach(|| tokenizer.encode_with_offsets(&text, cut_added))
            .map_err(|e| self.error(e))?;
        Ok((
            spans.iter().map(|s| s.id).collect(),
            spans.iter().map(|s| (s.start, s.end)).collect(),
            spans.iter().map(|s| s.word).collect(),
        ))
    }

    /// Text without added tokens -> tokens.
    fn tokenize_plain<'py>(
        &self,
        py: Python<'py>,
        text: Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyString>>> {
        let text = text_of(&text)?;
        let tokens = self.read().tokenize_plain(&text);
        tokens.iter().map(|t| to_str(py, t)).collect()
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
        let text = self.read().decode(&ids, &skip);
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
    m.add_class::<NativeTokenizer>()?;
    Ok(())
}
