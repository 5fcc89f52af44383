//! The CLI's [`Reporter`]: diagnostics on stderr (`datam: warning: ...`) and,
//! on a terminal, an indicatif progress bar driven by the jobs' `Progress`
//! events (the same events a GUI receives).

use std::sync::{Arc, Mutex};

use datam_core::job::{Diagnostic, JobCtx, Progress, Reporter, Unit};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints diagnostics and drives a progress bar.
pub struct CliReporter {
    bar: Mutex<Option<ProgressBar>>,
    with_bar: bool,
}

impl CliReporter {
    /// A reporter; `with_bar` shows a progress bar (hidden anyway when
    /// stderr is not a terminal).
    pub fn new(with_bar: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            with_bar,
        }
    }

    /// A job context reporting through a new reporter.
    pub fn job(with_bar: bool) -> (JobCtx, Arc<CliReporter>) {
        let rep = Arc::new(Self::new(with_bar));
        (JobCtx::new(rep.clone()), rep)
    }

    /// Removes the bar (at the end of the job).
    pub fn finish(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// The stderr line of a diagnostic. Damage and the end of valid WAL read as
/// facts about the stream (`datam: damage at ...`), everything else with its
/// severity (`datam: warning: FILE: ...`).
pub fn diagnostic_line(d: &Diagnostic) -> String {
    match d.code {
        "wal-damage" | "wal-end" => format!("datam: {}", d.message),
        _ => format!("datam: {d}"),
    }
}

impl Reporter for CliReporter {
    fn progress(&self, p: &Progress) {
        if !self.with_bar {
            return;
        }
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(p.total, ProgressDrawTarget::stderr());
            let unit = match p.unit {
                Unit::Bytes => "{binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec})",
                _ => "{pos}/{len} ({per_sec})",
            };
            if let Ok(style) =
                ProgressStyle::with_template(&format!("{{bar:40}} {unit} eta {{eta}}"))
            {
                bar.set_style(style);
            }
            bar
        });
        if let Some(t) = p.total {
            bar.set_length(t);
        }
        bar.set_position(p.done);
    }

    fn diagnostic(&self, d: &Diagnostic) {
        let line = diagnostic_line(d);
        match self.bar.lock().ok().as_ref().and_then(|b| b.as_ref()) {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}
