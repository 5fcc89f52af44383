//! The CLI's one [`Reporter`]: diagnostics on stderr (`datam: warning: ...`)
//! and, on a terminal, an indicatif progress bar driven by the jobs'
//! `Progress` events (the same events a GUI receives). Commands differ only
//! in [`Options`]: whether a bar is shown and for what, whether notes are
//! printed, and how many of the database's own (`db-…`) diagnostics.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use datam_core::job::{Diagnostic, JobCtx, Progress, Reporter, Severity, Unit};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// When a progress bar is drawn (never when stderr is not a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// No bar.
    Off,
    /// A bar for any job's progress.
    Any,
    /// A bar only for page scans of more than this many pages.
    PagesOver(u64),
}

/// How a [`CliReporter`] reports.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The progress bar.
    pub bar: Bar,
    /// Print `note:` diagnostics too.
    pub notes: bool,
    /// Database diagnostics (`db-…` codes) printed at most this many times.
    pub db_limit: usize,
}

/// Prints diagnostics and drives a progress bar.
pub struct CliReporter {
    bar: Mutex<Option<ProgressBar>>,
    opts: Options,
    db_seen: AtomicUsize,
}

impl CliReporter {
    /// A reporter with these options.
    pub fn new(opts: Options) -> Self {
        Self {
            bar: Mutex::new(None),
            opts,
            db_seen: AtomicUsize::new(0),
        }
    }

    /// A job context reporting through a new reporter that prints every
    /// diagnostic; `with_bar` shows a bar for any progress.
    pub fn job(with_bar: bool) -> (JobCtx, Arc<CliReporter>) {
        Self::job_with(Options {
            bar: if with_bar { Bar::Any } else { Bar::Off },
            notes: true,
            db_limit: usize::MAX,
        })
    }

    /// A job context reporting through a new reporter with these options.
    pub fn job_with(opts: Options) -> (JobCtx, Arc<CliReporter>) {
        let rep = Arc::new(Self::new(opts));
        (JobCtx::new(rep.clone()), rep)
    }

    /// Database diagnostics that were not printed (over the limit).
    pub fn db_hidden(&self) -> usize {
        self.db_seen
            .load(Ordering::Relaxed)
            .saturating_sub(self.opts.db_limit)
    }

    /// Removes the bar (at the end of the job).
    pub fn finish(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(bar) = b.take()
        {
            bar.finish_and_clear();
        }
    }

    fn wants_bar(&self, p: &Progress) -> bool {
        match self.opts.bar {
            Bar::Off => false,
            Bar::Any => true,
            Bar::PagesOver(n) => p.unit == Unit::Pages && p.total.is_some_and(|t| t > n),
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

fn new_bar(p: &Progress) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(p.total, ProgressDrawTarget::stderr());
    let unit = match p.unit {
        Unit::Bytes => "{binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec})",
        Unit::Pages => "{pos}/{len} pages ({per_sec})",
        _ => "{pos}/{len} ({per_sec})",
    };
    if let Ok(style) = ProgressStyle::with_template(&format!("{{bar:40}} {unit} eta {{eta}}")) {
        bar.set_style(style);
    }
    bar
}

impl Reporter for CliReporter {
    fn progress(&self, p: &Progress) {
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        if slot.is_none() {
            if !self.wants_bar(p) || !std::io::stderr().is_terminal() {
                return;
            }
            *slot = Some(new_bar(p));
        }
        if let Some(bar) = slot.as_ref() {
            if let Some(t) = p.total {
                bar.set_length(t);
            }
            bar.set_position(p.done);
        }
    }

    fn diagnostic(&self, d: &Diagnostic) {
        if d.severity == Severity::Note && !self.opts.notes {
            return;
        }
        if d.code.starts_with("db-")
            && self.db_seen.fetch_add(1, Ordering::Relaxed) >= self.opts.db_limit
        {
            return;
        }
        let line = diagnostic_line(d);
        match self.bar.lock().ok().as_ref().and_then(|b| b.as_ref()) {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}
