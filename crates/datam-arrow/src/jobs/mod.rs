//! datam-core's jobs with Arrow batches as their output: the one place the
//! Python binding and the CLI's `--format parquet` get their batches from.
//!
//! Each function runs a use case of `datam_core` (same request, same
//! `JobCtx`: progress, diagnostics, cancellation) with a sink that fills
//! this crate's batchers, and hands every finished batch to the caller's
//! [`BatchOut`] with the name of the output it belongs to (a SQLite table,
//! `wal`, a PostgreSQL table, ...). Batches hold at most [`BATCH_ROWS`] rows.

pub mod pg;
pub mod sqlite;
pub mod wal;

use arrow_array::RecordBatch;

use crate::Error;

/// Rows per batch handed out.
pub const BATCH_ROWS: usize = 65_536;

/// Receives the batches of a job: `(output name, batch)`; `Ok(false)` stops
/// the job. Errors are the writer's (a Parquet file that cannot be written).
pub type BatchOut<'a> = dyn FnMut(&str, RecordBatch) -> Result<bool, Error> + 'a;

/// Why a job with Arrow output stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// A PostgreSQL job failed.
    #[error(transparent)]
    Pg(#[from] datam_core::pg::Error),
    /// A SQLite job failed (its sink error is this crate's).
    #[error(transparent)]
    Sqlite(#[from] datam_core::sqlite::SqliteError<Error>),
    /// Building or writing batches failed.
    #[error(transparent)]
    Arrow(#[from] Error),
}

/// Hands `batches` to `out` in order; `false` once it wants no more.
fn hand_out(out: &mut BatchOut<'_>, name: &str, batches: Vec<RecordBatch>) -> Result<bool, Error> {
    for b in batches {
        if !out(name, b)? {
            return Ok(false);
        }
    }
    Ok(true)
}
