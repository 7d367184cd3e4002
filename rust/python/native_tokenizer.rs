//! The `NativeTokenizer` class: type conversion and the GIL around the core, no tokenizer
//! logic.

use super::arrow::{import_texts, ArrowIds};
use super::convert::{int_list, list_of, out_of_memory, text_of, to_str, TextArg, CHECKED_FROM};
use super::errors::{encode_error, load_error, warn_all};
use super::pool::pool;
use crate::arrow_layout::flatten_rows;
use crate::merges::parse_merges;
use crate::tokenizer::read_files;
use crate::{
    AddedTokenTable, EncodeError, LoadError, LoadWarning, Lowercaser, MergeRanks, PythonText,
    Tokenizer, Vocab, MAX_CACHE_WORDS,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString};
use rustc_hash::FxHashSet;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

/// The Rust tokenizer: BlenderBot-small's, its special tokens included, as the core's
/// [`Tokenizer::blenderbot_small`] builds it. The Python class
/// `bbtok.BlenderbotSmallTokenizerFast` wraps it and replaces the added tokens and the unknown
/// token where its caller chose others.
#[pyclass(frozen, module = "bbtok._native")]
pub(super) struct NativeTokenizer {
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
        let slices: Vec<PythonText<'_>> = texts.iter().map(TextArg::text).collect();
        let tokenizer = self.read();
        if threads > 1 {
            let pool = pool(threads)?;
            py.detach(|| pool.install(|| tokenizer.encode_batch(&slices, true)))
        } else {
            py.detach(|| tokenizer.encode_batch(&slices, false))
        }
        .map_err(|e| self.error(e))
    }

    /// One text's ids by `encode` (the GIL released for long texts), as a Python list.
    fn encode_one<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        encode: impl Send + FnOnce(&Tokenizer, PythonText<'_>) -> Result<Vec<u32>, EncodeError>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text_of(text)?;
        let tokenizer = self.read();
        let ids = detach_for(py, text.len(), || encode(&tokenizer, text.text()))
            .map_err(|e| self.error(e))?;
        self.id_list(py, &ids)
    }

    /// A Python list of ids.
    fn id_list<'py>(&self, py: Python<'py>, ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
        let ints = self.int_table(py);
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

    /// The shared Python ints of the ids below `INT_TABLE_SIZE`, made on first use.
    fn int_table(&self, py: Python<'_>) -> &[Py<PyInt>] {
        self.ints.get_or_init(|| {
            let size = (self.read().vocab().len() as u32 + 1024).min(INT_TABLE_SIZE);
            (0..size).map(|id| PyInt::new(py, id).unbind()).collect()
        })
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

/// A loaded core, its readers' warnings issued first; or the load's error, raised after them,
/// as the pure-Python readers warn and raise.
fn loaded_or_raised(
    py: Python<'_>,
    loaded: Result<Tokenizer, LoadError>,
    warnings: &[LoadWarning],
) -> PyResult<NativeTokenizer> {
    match loaded {
        Ok(tokenizer) => {
            warn_all(py, warnings)?;
            Ok(wrap(tokenizer))
        }
        // Python's json module reports these (and warns) itself.
        Err(error @ LoadError::JsonForPython { .. }) => Err(load_error(py, &error)),
        Err(error) => {
            warn_all(py, warnings)?;
            Err(load_error(py, &error))
        }
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
    /// Read `vocab.json` and `merges.txt` at the given paths, naming them `vocab_name` and
    /// `merges_name` in errors and warnings (the paths may be a descriptor's); warns and raises
    /// as the pure-Python readers do, except `JsonForPythonError` (see there).
    #[staticmethod]
    fn from_files(
        py: Python<'_>,
        vocab_path: PathBuf,
        merges_path: PathBuf,
        vocab_name: String,
        merges_name: String,
    ) -> PyResult<NativeTokenizer> {
        let mut warnings = Vec::new();
        let loaded = py.detach(|| {
            read_files(
                (&vocab_path, &vocab_name),
                (&merges_path, &merges_name),
                &mut warnings,
            )
            .map(|(vocab, merges)| Tokenizer::blenderbot_small(vocab, merges))
        });
        loaded_or_raised(py, loaded, &warnings)
    }

    /// Read the texts of `vocab.json` and `merges.txt` (as `from_files` reads the files, named
    /// `vocab_name` and `merges_name`): how a pickled tokenizer comes back.
    #[staticmethod]
    fn from_texts(
        py: Python<'_>,
        vocab_text: &str,
        merges_text: &str,
        vocab_name: String,
        merges_name: String,
    ) -> PyResult<NativeTokenizer> {
        let mut warnings = Vec::new();
        let loaded = py.detach(|| {
            let vocab = Vocab::read_json(vocab_text, &vocab_name, &mut warnings)?;
            let merges = parse_merges(merges_text, &merges_name, &mut warnings);
            Ok::<_, LoadError>(Tokenizer::blenderbot_small(vocab, merges))
        });
        loaded_or_raised(py, loaded, &warnings)
    }

    /// Build from a parsed vocabulary and ranked merge lines ((symbols, rank) pairs).
    #[staticmethod]
    fn from_parts(vocab: HashMap<String, u32>, merges: Vec<(Vec<String>, u32)>) -> PyResult<Self> {
        let vocab = Vocab::from_entries(vocab).map_err(PyValueError::new_err)?;
        Ok(wrap(Tokenizer::blenderbot_small(
            vocab,
            MergeRanks::from_ranked(merges),
        )))
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
                .map(|(token, id)| Ok((text_of(token)?.into_string(), *id)))
                .collect::<PyResult<Vec<_>>>()?,
            decoder: decoder
                .iter()
                .map(|(id, token)| Ok((*id, text_of(token)?.into_string())))
                .collect::<PyResult<Vec<_>>>()?,
        };
        let units = units
            .iter()
            .map(|token| Ok(text_of(token)?.into_string()))
            .collect::<PyResult<Vec<_>>>()?;
        self.change(|t| t.set_added_tokens(table, units));
        Ok(())
    }

    /// The added tokens (token -> id and id -> token pairs, in no particular order) and the
    /// unit tokens: a core just read holds BlenderBot-small's special tokens.
    #[allow(clippy::type_complexity)]
    fn added_tokens<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Vec<(Bound<'py, PyString>, u32)>,
        Vec<(u32, Bound<'py, PyString>)>,
        Vec<Bound<'py, PyString>>,
    )> {
        let (table, units) = self.read().added_tokens();
        let encoder = table
            .encoder
            .iter()
            .map(|(token, id)| Ok((to_str(py, token.as_bytes())?, *id)))
            .collect::<PyResult<_>>()?;
        let decoder = table
            .decoder
            .iter()
            .map(|(id, token)| Ok((*id, to_str(py, token.as_bytes())?)))
            .collect::<PyResult<_>>()?;
        let units = units
            .iter()
            .map(|token| to_str(py, token.as_bytes()))
            .collect::<PyResult<_>>()?;
        Ok((encoder, decoder, units))
    }

    /// The unknown token and its id (None for none).
    fn unknown<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Option<Bound<'py, PyString>>, Option<u32>)> {
        let tokenizer = self.read();
        let (token, id) = tokenizer.unknown();
        Ok((token.map(|t| to_str(py, t)).transpose()?, id))
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
            .map(|t| text_of(&t).map(TextArg::into_string))
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
        self.encode_one(py, &text, |tokenizer, text| tokenizer.encode(text))
    }

    /// Text without added tokens -> ids.
    fn encode_plain<'py>(
        &self,
        py: Python<'py>,
        text: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.encode_one(py, &text, |tokenizer, text| tokenizer.encode_plain(text))
    }

    /// Many texts -> lists of ids, on `threads` threads (1: this thread only).
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: Bound<'py, PyList>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        Ok(self.encode_batch_lists(py, texts, threads, false)?.0)
    }

    /// Many texts -> (lists of ids, and when `attention_mask`, a list of ones as long as each),
    /// on `threads` threads (1: this thread only). The lists are made after the pool is done:
    /// making them while it encodes is no faster on 2 cores, where both take turns on the same
    /// cores.
    fn encode_batch_lists<'py>(
        &self,
        py: Python<'py>,
        texts: Bound<'py, PyList>,
        threads: usize,
        attention_mask: bool,
    ) -> PyResult<(Bound<'py, PyList>, Option<Bound<'py, PyList>>)> {
        let encoded = self.encode_texts(py, &texts, threads)?;
        let rows = encoded
            .iter()
            .map(|row| Ok(self.id_list(py, row)?.into_any()))
            .collect::<PyResult<Vec<_>>>()?;
        let ids = list_of(py, rows.into_iter())?;
        let masks = if attention_mask {
            // Each mask is `[1] * count`: Python's list repetition fills it in one call.
            let one = PyList::new(py, [1])?;
            let rows = encoded
                .iter()
                .map(|row| Ok(one.as_sequence().repeat(row.len())?.into_any()))
                .collect::<PyResult<Vec<_>>>()?;
            Some(list_of(py, rows.into_iter())?)
        } else {
            None
        };
        Ok((ids, masks))
    }

    /// An Arrow array of texts -> an Arrow `list<int32>` array of their ids (see
    /// [`super::arrow`]), each row truncated to `max_length` ids (its end kept when
    /// `from_left`), on `threads` threads. The texts are read from the array's own buffers.
    #[pyo3(signature = (texts, threads, max_length=None, from_left=false))]
    fn encode_arrow(
        &self,
        py: Python<'_>,
        texts: Bound<'_, PyAny>,
        threads: usize,
        max_length: Option<usize>,
        from_left: bool,
    ) -> PyResult<ArrowIds> {
        let imported = import_texts(&texts)?;
        let rows = imported.rows()?;
        let tokenizer = self.read();
        let pool = if threads > 1 {
            Some(pool(threads)?)
        } else {
            None
        };
        let encoded = py.detach(|| {
            let encoded = match &pool {
                Some(pool) => pool.install(|| tokenizer.encode_batch(&rows, true)),
                None => tokenizer.encode_batch(&rows, false),
            };
            encoded.map(|rows| flatten_rows(rows, max_length, from_left))
        });
        let (values, offsets) = encoded.map_err(|e| self.error(e))?.map_err(out_of_memory)?;
        Ok(ArrowIds::new(values, offsets))
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
            .detach(|| tokenizer.encode_with_offsets(text.text(), cut_added))
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
        let tokens = detach_for(py, text.len(), || tokenizer.tokenize_plain(text.text()))
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
        self.read()
            .token_to_id(token.text())
            .map_err(|e| self.error(e))
    }

    /// The vocabulary's id of a token as written, or None.
    fn vocab_id(&self, token: Bound<'_, PyAny>) -> PyResult<Option<u32>> {
        let token = text_of(&token)?;
        Ok(self.read().vocab().id(token.text().as_bytes()))
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
        let text = detach_for(py, ids.len() * 8, || {
            tokenizer.decode_python(&ids, |id| skip.contains(&id))
        })
        .map_err(out_of_memory)?;
        to_str(py, text.as_bytes())
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
        self.read().merges().to_text()
    }

    /// Merge lines with their ranks, in rank order.
    fn merge_ranks(&self) -> Vec<(Vec<String>, u32)> {
        self.read().merges().lines()
    }
}
