//! The PyO3 binding: type conversion and the GIL, no tokenizer logic.
//!
//! Python `str` may hold lone surrogates, which a Rust `&str` cannot: such a text crosses as
//! bytes encoded with Python's `surrogatepass`, which the core reads as it reads UTF-8.

use crate::bpe::MergeRanks;
use crate::tokenizer::{EncodeError, Tokenizer};
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

fn encode_error(error: EncodeError) -> PyErr {
    PyValueError::new_err(error.to_string())
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

/// Thread pools by size, made on first use.
fn pool(threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
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
    inner: RwLock<Tokenizer>,
    /// A Python int for every id below `INT_TABLE_SIZE`, made once: filling result lists then
    /// costs a reference count instead of an allocation per id.
    ints: OnceLock<Vec<Py<PyInt>>>,
}

/// Ids below this get a shared Python int (the vocabulary's ids are well below it).
const INT_TABLE_SIZE: u32 = 1 << 17;

impl NativeTokenizer {
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tokenizer> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tokenizer> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn wrap(tokenizer: Tokenizer) -> NativeTokenizer {
    NativeTokenizer {
        inner: RwLock::new(tokenizer),
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
        self.write()
            .set_lowercaser(Lowercaser::new(version, table, cased, case_ignorable));
        Ok(())
    }

    /// The Unicode version of the lowercasing tables.
    #[getter]
    fn unicode_version(&self) -> String {
        self.read().lowercaser().unicode_version().to_string()
    }

    /// Set the added tokens ((text, id) pairs) and the unit tokens.
    fn set_added_tokens(
        &self,
        added: Vec<(Bound<'_, PyAny>, u32)>,
        units: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let added = added
            .iter()
            .map(|(token, id)| Ok((text_of(token)?.into_owned(), *id)))
            .collect::<PyResult<Vec<_>>>()?;
        let units = units
            .iter()
            .map(|token| Ok(text_of(token)?.into_owned()))
            .collect::<PyResult<Vec<_>>>()?;
        self.write().set_added_tokens(added, units);
        Ok(())
    }

    /// Set the unknown token and its id (None for none).
    #[pyo3(signature = (token, id))]
    fn set_unknown(&self, token: Option<Bound<'_, PyAny>>, id: Option<u32>) -> PyResult<()> {
        let token = token
            .map(|t| text_of(&t).map(Cow::into_owned))
            .transpose()?;
        self.write().set_unknown(token, id);
        Ok(())
    }

    /// Bound the word cache (0 disables it).
    fn set_cache_capacity(&self, words: usize) {
        self.write().set_cache_capacity(words);
    }

    /// Text -> ids (added tokens cut out first).
    fn encode(&self, py: Python<'_>, text: Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        py.detach(|| tokenizer.encode(&text)).map_err(encode_error)
    }

    /// Text without added tokens -> ids.
    fn encode_plain(&self, py: Python<'_>, text: Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        py.detach(|| tokenizer.encode_plain(&text))
            .map_err(encode_error)
    }

    /// Many texts -> lists of ids, on `threads` threads (1: this thread only).
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: Bound<'py, PyList>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let items: Vec<Bound<'py, PyAny>> = texts.iter().collect();
        let texts = items.iter().map(text_of).collect::<PyResult<Vec<_>>>()?;
        let slices: Vec<&[u8]> = texts.iter().map(|t| &**t).collect();
        let tokenizer = self.read();
        let encoded = if threads > 1 {
            let pool = pool(threads)?;
            py.detach(|| pool.install(|| tokenizer.encode_batch(&slices, true)))
        } else {
            py.detach(|| tokenizer.encode_batch(&slices, false))
        }
        .map_err(encode_error)?;
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
        let items: Vec<Bound<'py, PyAny>> = texts.iter().collect();
        let texts = items.iter().map(text_of).collect::<PyResult<Vec<_>>>()?;
        let slices: Vec<&[u8]> = texts.iter().map(|t| &**t).collect();
        let tokenizer = self.read();
        let encoded = if threads > 1 {
            let pool = pool(threads)?;
            py.detach(|| pool.install(|| tokenizer.encode_batch(&slices, true)))
        } else {
            py.detach(|| tokenizer.encode_batch(&slices, false))
        }
        .map_err(encode_error)?;
        let lengths: Vec<usize> = encoded.iter().map(Vec::len).collect();
        let flat: Vec<u8> = encoded
            .iter()
            .flat_map(|ids| ids.iter().flat_map(|id| id.to_ne_bytes()))
            .collect();
        Ok((PyBytes::new(py, &flat), lengths))
    }

    /// Text -> (ids, (start, end) character offsets, word indices or None).
    #[allow(clippy::type_complexity)]
    fn encode_with_offsets(
        &self,
        py: Python<'_>,
        text: Bound<'_, PyAny>,
    ) -> PyResult<(Vec<u32>, Vec<(usize, usize)>, Vec<Option<usize>>)> {
        let text = text_of(&text)?;
        let tokenizer = self.read();
        let spans = py
            .detach(|| tokenizer.encode_with_offsets(&text))
            .map_err(encode_error)?;
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
        self.read().token_to_id(&token).map_err(encode_error)
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

    /// The vocabulary as a dict.
    fn get_vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (token, id) in self.read().vocab().sorted() {
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
