//! SQLite use cases: [`salvage`] (live rows, carved deleted rows and dropped
//! tables, to SQL / CSV / JSONL) and [`history`] (every row version across a
//! database, its `-wal` and its `-journal`).
//!
//! The format knowledge lives in `sqlite-pages`; this module opens the
//! evidence read-only, runs the pure code over the bytes, reports through a
//! [`crate::job::JobCtx`] and pushes results into a [`crate::job::Sink`].

use std::path::PathBuf;

pub mod history;
pub mod history_text;
pub mod salvage;

/// Why a SQLite job stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError<E> {
    /// An evidence file could not be opened.
    #[error("opening {}", path.display())]
    Open {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: evidence::Error,
    },
    /// No history could be built from the bytes.
    #[error(transparent)]
    History(#[from] sqlite_pages::history::HistoryError),
    /// The caller cancelled the job.
    #[error(transparent)]
    Cancelled(#[from] crate::job::Cancelled),
    /// The sink failed.
    #[error("{0}")]
    Sink(#[source] E),
}
