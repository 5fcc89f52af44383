//! Background jobs as the UI sees them.
//!
//! A job runs on a named thread (`std::thread::Builder`) with a
//! [`JobCtx`] whose reporter stores the last [`Progress`] where the UI can
//! read it and whose [`CancelToken`] the UI sets. Results travel over an
//! unbounded channel that the UI drains once per frame ([`Job::poll`]); the
//! job asks for a repaint after each message so the UI wakes up. The UI
//! thread never waits for a job.

use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};

use datam_core::job::{CancelToken, Diagnostic, JobCtx, Progress, Reporter};

/// Wakes the UI when a job has something new (an `egui::Context` in the app,
/// nothing in tests that poll).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Keeps the last progress event and the diagnostics of a job for the UI.
struct UiReporter {
    last: Mutex<Option<Progress>>,
    diags: Mutex<Vec<Diagnostic>>,
    wake: Waker,
}

impl Reporter for UiReporter {
    fn progress(&self, p: &Progress) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(*p);
        }
        (self.wake)();
    }
    fn diagnostic(&self, d: &Diagnostic) {
        if let Ok(mut v) = self.diags.lock() {
            v.push(d.clone());
        }
        (self.wake)();
    }
}

/// The sending half a job's thread gets: sends a message and wakes the UI.
pub struct Outbox<T> {
    tx: Sender<T>,
    wake: Waker,
}

impl<T> Outbox<T> {
    /// Sends one message; `false` once the UI has dropped the job.
    pub fn send(&self, msg: T) -> bool {
        let ok = self.tx.send(msg).is_ok();
        (self.wake)();
        ok
    }
}

/// A running (or finished) background job producing messages of type `T`.
pub struct Job<T> {
    /// The job's name (also its thread's name).
    pub name: String,
    rx: Receiver<T>,
    cancel: CancelToken,
    reporter: Arc<UiReporter>,
    finished: bool,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a thread named `datam-gui-{name}`.
    pub fn spawn(
        name: &str,
        wake: Waker,
        work: impl FnOnce(&JobCtx, &Outbox<T>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let reporter = Arc::new(UiReporter {
            last: Mutex::new(None),
            diags: Mutex::new(Vec::new()),
            wake: wake.clone(),
        });
        let ctx = JobCtx::new(reporter.clone());
        let cancel = ctx.cancel.clone();
        let outbox = Outbox { tx, wake };
        std::thread::Builder::new()
            .name(format!("datam-gui-{name}"))
            .spawn(move || work(&ctx, &outbox))?;
        Ok(Self {
            name: name.to_string(),
            rx,
            cancel,
            reporter,
            finished: false,
        })
    }

    /// The messages that arrived since the last call (never blocks).
    pub fn poll(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(m) => out.push(m),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.finished = true;
                    break;
                }
            }
        }
        out
    }

    /// Whether the job's thread has ended and every message was polled.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The last progress event.
    pub fn progress(&self) -> Option<Progress> {
        self.reporter.last.lock().ok().and_then(|p| *p)
    }

    /// The job's diagnostics so far.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.reporter
            .diags
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        // A job nobody listens to should stop working.
        self.cancel.cancel();
    }
}

/// A `datam_core` sink that sends items to the UI in batches: when 8192
/// are waiting or the oldest is 30 ms old, so the first items show at once
/// and later ones do not flood the channel. `wrap` makes the message.
pub struct Batcher<'a, T, M> {
    out: &'a Outbox<M>,
    wrap: fn(Vec<T>) -> M,
    batch: Vec<T>,
    last: std::time::Instant,
}

impl<'a, T, M> Batcher<'a, T, M> {
    /// A batcher sending `wrap(batch)` to `out`.
    pub fn new(out: &'a Outbox<M>, wrap: fn(Vec<T>) -> M) -> Self {
        Self {
            out,
            wrap,
            batch: Vec::new(),
            last: std::time::Instant::now(),
        }
    }

    /// Sends what is waiting; `false` once the UI dropped the job.
    pub fn flush(&mut self) -> bool {
        self.last = std::time::Instant::now();
        self.batch.is_empty() || self.out.send((self.wrap)(std::mem::take(&mut self.batch)))
    }
}

impl<T, M> datam_core::job::Sink<T> for Batcher<'_, T, M> {
    type Error = std::convert::Infallible;
    fn item(&mut self, item: T) -> Result<bool, Self::Error> {
        self.batch.push(item);
        if self.batch.len() >= 8192 || self.last.elapsed() > std::time::Duration::from_millis(30) {
            return Ok(self.flush());
        }
        Ok(true)
    }
}
