//! Job plumbing shared by every use case: cancellation, progress, diagnostics
//! and the push [`Sink`].
//!
//! A GUI runs a job on a background thread with a [`JobCtx`] whose reporter
//! forwards events over a channel and whose [`CancelToken`] the UI thread
//! sets; the CLI passes a reporter that drives a progress bar; tests pass
//! [`JobCtx::quiet`] and collect diagnostics with [`CollectReporter`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Shared flag that asks a running job to stop. Cloning shares the flag.
///
/// ```
/// let t = datam_core::job::CancelToken::default();
/// let seen_by_job = t.clone();
/// t.cancel();
/// assert!(seen_by_job.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Asks every holder of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The phase of a job a [`Progress`] event belongs to (also the name of the
/// job's `tracing` span for that phase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Opening and mapping inputs, reading headers and catalogs.
    Open,
    /// Scanning pages, frames or records.
    Scan,
    /// Carving free space for deleted rows.
    Carve,
    /// Decoding records or rows.
    Decode,
    /// Building a plan (rescue, diff).
    Plan,
    /// Encoding and writing the output.
    Encode,
}

/// What a [`Progress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unit {
    /// Bytes of input.
    Bytes,
    /// Pages (SQLite pages, PG blocks).
    Pages,
    /// WAL records or files.
    Items,
}

/// A progress event: `done` of `total` (when known) in one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// The phase this counts.
    pub phase: Phase,
    /// What is counted.
    pub unit: Unit,
    /// Done so far (monotonic within a phase).
    pub done: u64,
    /// The total, where known in advance.
    pub total: Option<u64>,
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something worth knowing that changes nothing in the output.
    Note,
    /// Damage or doubt: output is partial or a fallback was used.
    Warning,
    /// A part of the input could not be read at all.
    Error,
}

/// A diagnostic from a job: what happened, where (file and position when the
/// lower layer knows them), and how serious it is. Lower crates' typed errors
/// are carried as their `Display` text plus a stable `code` for matching.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// A stable machine-readable name for the condition (e.g. `bad-crc`).
    pub code: &'static str,
    /// The file it concerns, when there is one.
    pub file: Option<String>,
    /// The position in that file (byte offset, page or LSN), as text.
    pub position: Option<String>,
    /// The message a person reads.
    pub message: String,
}

impl Diagnostic {
    /// A warning with a code and a message and no position.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            file: None,
            position: None,
            message: message.into(),
        }
    }

    /// A note with a code and a message and no position.
    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Note,
            ..Self::warning(code, message)
        }
    }

    /// The same diagnostic naming a file.
    #[must_use]
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The same diagnostic naming a position.
    #[must_use]
    pub fn at(mut self, position: impl Into<String>) -> Self {
        self.position = Some(position.into());
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{sev}: ")?;
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(pos) = &self.position {
            write!(f, "{pos}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Receives a job's progress events and diagnostics. Called from the job's
/// threads, so it must be `Send + Sync`; it should return quickly.
pub trait Reporter: Send + Sync {
    /// A progress event.
    fn progress(&self, p: &Progress);
    /// A diagnostic.
    fn diagnostic(&self, d: &Diagnostic);
}

/// A reporter that drops everything.
#[derive(Debug, Default)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn progress(&self, _: &Progress) {}
    fn diagnostic(&self, _: &Diagnostic) {}
}

/// A reporter that keeps every diagnostic and the last progress event (tests,
/// the Python binding's diagnostics list, JSON reports).
#[derive(Debug, Default)]
pub struct CollectReporter {
    diagnostics: Mutex<Vec<Diagnostic>>,
    last: Mutex<Option<Progress>>,
}

impl CollectReporter {
    /// The diagnostics so far.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.diagnostics
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// The last progress event.
    pub fn last_progress(&self) -> Option<Progress> {
        self.last.lock().ok().and_then(|p| *p)
    }
}

impl Reporter for CollectReporter {
    fn progress(&self, p: &Progress) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(*p);
        }
    }
    fn diagnostic(&self, d: &Diagnostic) {
        if let Ok(mut v) = self.diagnostics.lock() {
            v.push(d.clone());
        }
    }
}

/// What every job receives besides its request: a cancel token and a
/// reporter.
#[derive(Clone)]
pub struct JobCtx {
    /// Set by the caller to stop the job; jobs check it between pages,
    /// batches or records and return [`Cancelled`].
    pub cancel: CancelToken,
    /// Where progress and diagnostics go.
    pub reporter: Arc<dyn Reporter>,
}

impl std::fmt::Debug for JobCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobCtx")
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl JobCtx {
    /// A context with a fresh token and the given reporter.
    pub fn new(reporter: Arc<dyn Reporter>) -> Self {
        Self {
            cancel: CancelToken::default(),
            reporter,
        }
    }

    /// A context that reports nothing and is never cancelled by anyone else.
    pub fn quiet() -> Self {
        Self::new(Arc::new(NullReporter))
    }

    /// `Err(Cancelled)` once the token is set; jobs call it in their loops.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.cancel.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reports progress.
    pub fn progress(&self, phase: Phase, unit: Unit, done: u64, total: Option<u64>) {
        self.reporter.progress(&Progress {
            phase,
            unit,
            done,
            total,
        });
    }

    /// Reports a diagnostic (and logs it at the matching `tracing` level).
    pub fn diagnostic(&self, d: Diagnostic) {
        match d.severity {
            Severity::Note => tracing::debug!(code = d.code, "{d}"),
            Severity::Warning => tracing::warn!(code = d.code, "{d}"),
            Severity::Error => tracing::error!(code = d.code, "{d}"),
        }
        self.reporter.diagnostic(&d);
    }
}

/// The job stopped because its [`CancelToken`] was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// Receives a job's items one at a time (rows, records, versions...).
/// `Ok(true)` asks for more, `Ok(false)` stops the job cleanly, `Err` aborts
/// it and the job returns the error.
pub trait Sink<T> {
    /// The sink's own error (an I/O error for a writer, a closed channel for
    /// a UI).
    type Error;
    /// One item.
    fn item(&mut self, item: T) -> Result<bool, Self::Error>;
}

/// A sink that collects items into a `Vec` (tests, small results).
impl<T> Sink<T> for Vec<T> {
    type Error = std::convert::Infallible;
    fn item(&mut self, item: T) -> Result<bool, Self::Error> {
        self.push(item);
        Ok(true)
    }
}

/// Throughput of one job or phase, logged at its end (`tracing` info, with
/// rows/s and bytes/s) so every front end gets the same figures.
#[derive(Debug)]
pub struct Throughput {
    job: &'static str,
    started: Instant,
}

impl Throughput {
    /// Starts timing `job`.
    pub fn start(job: &'static str) -> Self {
        Self {
            job,
            started: Instant::now(),
        }
    }

    /// Logs the end of the job with its counts and rates.
    pub fn finish(self, items: u64, bytes: u64) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        #[allow(clippy::cast_precision_loss)]
        let (ips, bps) = (items as f64 / secs, bytes as f64 / secs);
        tracing::info!(
            job = self.job,
            items,
            bytes,
            seconds = secs,
            items_per_s = ips,
            bytes_per_s = bps,
            "job finished"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_shared_and_checked() {
        let ctx = JobCtx::quiet();
        let other = ctx.clone();
        assert_eq!(ctx.check(), Ok(()));
        other.cancel.cancel();
        assert_eq!(ctx.check(), Err(Cancelled));
    }

    #[test]
    fn collect_reporter_keeps_diagnostics_and_last_progress() {
        let rep = Arc::new(CollectReporter::default());
        let ctx = JobCtx::new(rep.clone());
        ctx.progress(Phase::Scan, Unit::Pages, 3, Some(10));
        ctx.progress(Phase::Scan, Unit::Pages, 7, Some(10));
        ctx.diagnostic(
            Diagnostic::warning("bad-crc", "page 4")
                .in_file("a.db")
                .at("page 4"),
        );
        assert_eq!(rep.last_progress().map(|p| p.done), Some(7));
        let d = rep.diagnostics();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].to_string(), "warning: a.db: page 4: page 4");
    }

    #[test]
    fn vec_sink_collects() {
        let mut v: Vec<u32> = Vec::new();
        assert_eq!(Sink::item(&mut v, 5), Ok(true));
        assert_eq!(v, vec![5]);
    }
}
