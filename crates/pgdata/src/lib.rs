//! PostgreSQL data directory reader: everything DataM reads straight from the
//! files of a stopped (or crashed) cluster, without a server.
//!
//! API structure:
//! - [`DataDir`]: `PG_VERSION` + [`ControlFile`] (`global/pg_control`) and
//!   the paths of relation files ([`RelLocator`], [`Fork`], 1 GB segments).
//!
//! **Architecture Invariant:** every file is opened through the `evidence`
//! crate (read-only, private mapping); nothing here writes to a data
//! directory.
#![forbid(unsafe_code)]

#[allow(dead_code)] // helpers used by the page and catalog readers as they land
mod bytes;
pub mod control;
pub mod datadir;
pub mod error;

pub use control::{ControlFile, DbState, Lsn, parse_pg_version};
pub use datadir::{DataDir, Fork, RelLocator};
pub use error::{BlockNo, Error, Result};
