//! DataM's use cases as a library.
//!
//! Every front end — the `datam` CLI, the desktop app, the Python binding —
//! calls the jobs in this crate and nothing below it. A job takes a typed
//! request, pushes its results into a sink supplied by the caller, reports
//! progress and diagnostics through a [`job::Reporter`], and stops early when
//! its [`job::CancelToken`] is set. Jobs never print, never parse command
//! lines and never write to the evidence they read.
//!
//! API structure:
//! - [`job`] — the plumbing shared by every job: [`job::JobCtx`] (cancel
//!   token + reporter), [`job::Progress`] events (bytes/pages done of total,
//!   per [`job::Phase`]), [`job::Diagnostic`]s, and [`job::Sink`], the push
//!   interface for a job's items (`Ok(false)` stops the job, `Err` aborts it).
//! - [`inspect`] — identify a file or directory from its bytes and report
//!   its header facts ([`inspect::inspect_path`], [`inspect::Report`]).
//! - [`pg`] — the PostgreSQL jobs: [`pg::wal::scan`] (records or
//!   statistics, and [`pg::wal::for_each_segment`], the parallel WAL driver),
//!   [`pg::dump::tables`], [`pg::dump::dump`] / [`pg::dump::dump_rows`],
//!   [`pg::rescue::xacts`], [`pg::rescue::plan`] and [`pg::rescue::apply`].
//!   One error type, [`pg::Error`].
//! - [`sqlite`] — SQLite jobs: [`sqlite::history::history`] and the side
//!   files of a salvage ([`sqlite::history::salvage_side`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod inspect;
pub mod job;
pub mod pg;
pub mod sqlite;
