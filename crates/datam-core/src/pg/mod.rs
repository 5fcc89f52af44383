//! The PostgreSQL jobs: WAL scan ([`wal`]), tables and dump ([`dump`]),
//! transactions and rescue ([`rescue`]).
//!
//! Each job takes a typed request and a [`crate::job::JobCtx`], pushes its
//! items into a [`crate::job::Sink`] (or an encoder writing to a
//! `dyn Write`), and reports damage as diagnostics. Nothing here prints.

mod catalogs;
pub mod dump;
mod error;
pub mod rescue;
pub mod wal;

pub use catalogs::split_table;
pub use error::{Error, Result};

use crate::job::{Diagnostic, JobCtx};

/// Reports pgdata's catalog warnings as diagnostics.
pub(crate) fn report_warnings(job: &JobCtx, ws: &[pgdata::catalog::Warning]) {
    for w in ws {
        job.diagnostic(
            Diagnostic::warning("damaged-catalog-item", w.message.clone()).in_file(&w.what),
        );
    }
}
