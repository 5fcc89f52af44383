//! Undo one mistaken PostgreSQL transaction's row changes without
//! point-in-time recovery: find it among the WAL's commit records, plan what
//! to put back from WAL and the data directory, and write the undo as SQL.
//!
//! Pure planning over [`walparse`] (records), [`pgdata`] (catalog, heap
//! pages, pg_xact, TOAST) and [`rowcodec`] (values printed exactly as the
//! server prints them). No CLI, no network: the caller reads the WAL (pass
//! 1 and 2 sinks, one per segment, possibly in parallel) and runs the SQL.
//!
//! # API structure
//! - [`collect::XactSink`] → [`collect::XactSeg`] per segment →
//!   [`xacts::XactLog::from_segments`]: committed transactions
//!   ([`xacts::XactSummary`]: xid, subtransactions, commit LSN and time, rows
//!   per relation), [`xacts::XactLog::select`] by [`xacts::Target`].
//! - [`xacts::XactLog::change_filter`] → [`collect::ChangeSink`] per segment
//!   → [`collect::Change`]s of the tables being rescued.
//! - [`plan::plan_table`] over the [`plan::TableSources`] the caller opened
//!   (pgrescue opens no file) → [`plan::TablePlan`]: per row [`plan::RowKind`],
//!   key, old/new images with their [`plan::Source`], [`plan::RowStatus`]
//!   (restorable, skipped because of later work, incomplete with the reason).
//! - [`stream::VersionStream`]: the same per-transaction versions as
//!   [`plan::plan_versions`], fed segment by segment and handed out as
//!   each transaction's commit passes (memory bounded by the replay state,
//!   not the WAL).
//! - [`files::ClassHistory`] from [`xacts::XactLog::class_changes`] →
//!   [`files::TableRels::with_history`]: the files a table had before a
//!   rewrite (TRUNCATE, VACUUM FULL, CLUSTER, ALTER TABLE … TYPE), so the
//!   mistake is found in the old file's records; [`oldcols::OldColumns`]:
//!   the columns an earlier file was written with (before `ALTER TABLE …
//!   TYPE`), from `pg_attribute`'s dead tuples.
//! - [`sql::undo_script`] / [`sql::row_statements`]: idempotent undo SQL.
//!
//! **Architecture Invariant:** an image that cannot be rebuilt completely is
//! reported as incomplete, never guessed; rows a later committed transaction
//! touched are skipped and say why.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod collect;
pub mod files;
mod later;
pub mod oldcols;
mod page;
pub mod plan;
mod replay;
pub mod sql;
pub mod stream;
pub mod time;
pub mod xacts;

/// Everything that can go wrong while planning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the data directory (catalog, heap, pg_xact) failed.
    #[error(transparent)]
    Data(#[from] pgdata::Error),
}
