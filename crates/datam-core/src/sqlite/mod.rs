//! SQLite use cases: [`history`] (every row version across a database, its
//! `-wal` and its `-journal`) and the side files `salvage` adds.
//!
//! The format knowledge lives in `sqlite-pages`; this module opens the
//! evidence read-only, runs the pure code over the bytes, reports through a
//! [`crate::job::JobCtx`] and pushes results into a [`crate::job::Sink`].

use std::path::PathBuf;

pub mod history;
pub mod history_text;

/// Why a SQLite job stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError<E> {
    /// An evidence file could not be opened.
    #[error("opening {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// Why.
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
