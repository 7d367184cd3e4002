//! Threads: one pool per process (made again in a child after `fork()`), bounded in size.

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// The most threads a batch may run on: four times the cores this process may use (as Rust's
/// `available_parallelism` counts them: CPU affinity and cgroup quota). Threads beyond the
/// cores only take turns on them, while each holds a stack and may get a malloc arena of its
/// own: 3,000 threads would take tens of GB of address space. Four times leaves room to
/// oversubscribe a little (a core shared with other work). Counted once per process: the count
/// reads several cgroup files, and every batch call asks for it.
pub(super) fn max_threads() -> usize {
    static COUNTED: Mutex<Option<(u32, usize)>> = Mutex::new(None);
    let mut counted = COUNTED.lock().unwrap_or_else(|e| e.into_inner());
    match *counted {
        // A child made by fork() may run in another cgroup: it counts again.
        Some((process, count)) if process == std::process::id() => count,
        _ => {
            let count = 4 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            *counted = Some((std::process::id(), count));
            count
        }
    }
}

/// The thread pool for `threads` threads (at most `max_threads()`). Only the pool of the most
/// recent count is kept: asking for another count lets the previous pool go, and its threads
/// end once the batches still running on it finish. A pool is made on first use in each
/// process: a child made by `fork()` (Python's multiprocessing, `datasets.map(num_proc=...)`)
/// inherits the parent's pool but none of its threads, and work sent to it would wait forever.
/// The lock is held only to find or make the pool, never while waiting for the GIL or for a
/// batch, so it cannot take part in a deadlock.
pub(super) fn pool(threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
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
