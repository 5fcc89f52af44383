//! DataM's rows and records as Apache Arrow [`RecordBatch`]es, and a Parquet
//! writer for them. The Python binding (`crates/datam-py`) hands these
//! batches to pyarrow; the CLI's `--format parquet` writes the same schemas.
//!
//! API structure:
//! - [`sqlite`]: [`sqlite::SqliteBatcher`] — recovered SQLite rows of one
//!   table with provenance columns (`datam_status`, `datam_page`, ...) and one
//!   column per table column holding the value *exactly* (SQLite's dynamic
//!   typing kept: see [`sqlite::value_type`]).
//! - [`wal`]: [`wal::WalBatcher`] — PostgreSQL WAL records with their block
//!   references (a list of structs) and, for heap records, the tuples they
//!   carry.
//! - [`pg`]: [`pg::DumpBatcher`] — rows of a PostgreSQL table with Arrow
//!   types chosen from the PostgreSQL column types ([`pg::arrow_type`]).
//! - [`history`]: [`history::HistoryBatcher`] — SQLite row versions
//!   (`sqlite history`); [`pg_lists`]: the `pg tables` and `pg xacts`
//!   listings.
//! - [`parquet_out`]: [`parquet_out::write_parquet`] — batches to a Parquet
//!   file (zstd), schema unchanged.
//! - [`jobs`]: datam-core's jobs run with these batchers as their sinks
//!   (salvage, history, WAL scan and single segment, tables, xacts, dump):
//!   what the Python binding and the CLI's `--format parquet` call.
//!
//! **Invariant:** conversion never loses a value silently: a value the
//! chosen Arrow type cannot hold becomes null *and* a [`Lossy`] note the
//! caller reports.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod history;
pub mod jobs;
pub mod parquet_out;
pub mod pg;
pub mod pg_lists;
pub mod sqlite;
pub mod wal;

pub use arrow_array::RecordBatch;
pub use arrow_schema::SchemaRef;
pub use error::Error;

/// A value that could not be represented in its column's Arrow type and was
/// written as null (the caller turns it into a diagnostic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lossy {
    /// Column name.
    pub column: String,
    /// Why (e.g. `numeric NaN in decimal128 column`).
    pub reason: String,
    /// The value's text, as the server or SQLite would print it.
    pub text: String,
}
