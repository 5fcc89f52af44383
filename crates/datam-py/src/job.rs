//! Runs a job off the Python thread: the GIL is released while it runs, and
//! Python's signals are checked every 100 ms (Ctrl-C cancels the job through
//! its `CancelToken` and raises `KeyboardInterrupt`).

use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datam_core::job::{CollectReporter, Diagnostic, JobCtx};
use pyo3::prelude::*;

use crate::backend::JobError;

/// `datam.DatamError(message, code, file, position)`, defined in Python.
fn raise(py: Python<'_>, e: &JobError) -> PyErr {
    let made = py
        .import("datam.errors")
        .and_then(|m| m.getattr("DatamError"))
        .and_then(|cls| cls.call1((e.to_string(), e.code(), e.file(), e.position())));
    match made {
        Ok(v) => PyErr::from_value(v),
        Err(err) => err,
    }
}

/// Runs `f` on a background thread; returns its value and diagnostics.
pub fn run<T, F>(py: Python<'_>, f: F) -> PyResult<(T, Vec<Diagnostic>)>
where
    T: Send + 'static,
    F: FnOnce(&JobCtx) -> Result<T, JobError> + Send + 'static,
{
    let rep = Arc::new(CollectReporter::default());
    let ctx = JobCtx::new(rep.clone());
    let job_ctx = ctx.clone();
    let (tx, rx) = channel();
    // `detach` wants a `Sync` closure; the receiver is only used here.
    let rx = Mutex::new(rx);
    let recv = |timeout: Option<Duration>| match rx.lock() {
        Ok(r) => match timeout {
            Some(t) => r.recv_timeout(t),
            None => r.recv().map_err(|_| RecvTimeoutError::Disconnected),
        },
        Err(_) => Err(RecvTimeoutError::Disconnected),
    };
    std::thread::Builder::new()
        .name("datam-job".into())
        .spawn(move || {
            let _ = tx.send(f(&job_ctx));
        })
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    loop {
        match py.detach(|| recv(Some(Duration::from_millis(100)))) {
            Ok(Ok(v)) => return Ok((v, rep.diagnostics())),
            Ok(Err(e)) => return Err(raise(py, &e)),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    ctx.cancel.cancel();
                    // Wait for the job to see the token (it checks between batches).
                    let _ = py.detach(|| recv(None));
                    return Err(e);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the job thread ended without a result",
                ));
            }
        }
    }
}
