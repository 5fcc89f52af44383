//! The CLI's [`Reporter`]: diagnostics to stderr as `datam: warning: …`,
//! progress events to an indicatif bar (when one is shown).

use std::sync::Arc;

use datam_core::job::{Diagnostic, JobCtx, Progress, Reporter, Severity};

struct Stderr {
    bar: Option<indicatif::ProgressBar>,
}

impl Reporter for Stderr {
    fn progress(&self, p: &Progress) {
        if let Some(b) = &self.bar {
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
        eprintln!("datam: {sev}: {}", d.message);
    }
}

/// A job context printing diagnostics to stderr and driving `bar`.
pub fn job_ctx(bar: Option<indicatif::ProgressBar>) -> JobCtx {
    JobCtx::new(Arc::new(Stderr { bar }))
}
