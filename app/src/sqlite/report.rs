//! The CLI's [`Reporter`]: diagnostics to stderr as `datam: warning: …`,
//! progress events to an indicatif bar (shown on a terminal for scans of
//! more than 2048 pages).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use datam_core::job::{Diagnostic, JobCtx, Phase, Progress, Reporter, Severity, Unit};

/// Prints diagnostics to stderr and drives a progress bar.
pub struct Stderr {
    bar: OnceLock<Option<indicatif::ProgressBar>>,
    /// Database diagnostics (`db-…` codes) printed at most this many times.
    db_limit: usize,
    db_seen: AtomicUsize,
}

impl Stderr {
    fn new(db_limit: usize) -> Self {
        Self {
            bar: OnceLock::new(),
            db_limit,
            db_seen: AtomicUsize::new(0),
        }
    }

    /// Database diagnostics that were not printed (over the limit).
    pub fn db_hidden(&self) -> usize {
        self.db_seen
            .load(Ordering::Relaxed)
            .saturating_sub(self.db_limit)
    }

    /// Clears the bar, if one was shown.
    pub fn finish(&self) {
        if let Some(Some(b)) = self.bar.get() {
            b.finish_and_clear();
        }
    }

    fn bar(&self, p: &Progress) -> Option<&indicatif::ProgressBar> {
        use std::io::IsTerminal;
        // The bar counts the pages of a salvage only.
        if p.unit != Unit::Pages {
            return None;
        }
        self.bar
            .get_or_init(|| {
                let big = p.phase == Phase::Scan && p.total.is_some_and(|t| t > 2 * 2048);
                (big && std::io::stderr().is_terminal()).then(|| {
                    let pb = indicatif::ProgressBar::new(p.total.unwrap_or(0));
                    pb.set_style(
                        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} pages {eta}")
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    pb
                })
            })
            .as_ref()
    }
}

impl Reporter for Stderr {
    fn progress(&self, p: &Progress) {
        if let Some(b) = self.bar(p) {
            if let Some(t) = p.total {
                b.set_length(t);
            }
            b.set_position(p.done);
        }
    }
    fn diagnostic(&self, d: &Diagnostic) {
        let sev = match d.severity {
            Severity::Note => return,
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if d.code.starts_with("db-")
            && self.db_seen.fetch_add(1, Ordering::Relaxed) >= self.db_limit
        {
            return;
        }
        let print = || eprintln!("datam: {sev}: {}", d.message);
        match self.bar.get() {
            Some(Some(b)) => b.suspend(print),
            _ => print(),
        }
    }
}

/// A job context printing diagnostics to stderr (at most `db_limit` of the
/// database's own) and driving a bar; the reporter is returned to finish.
pub fn job_ctx(db_limit: usize) -> (JobCtx, Arc<Stderr>) {
    let rep = Arc::new(Stderr::new(db_limit));
    (JobCtx::new(rep.clone()), rep)
}
