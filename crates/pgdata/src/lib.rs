//! PostgreSQL data directory reader: everything DataM reads straight from the
//! files of a stopped (or crashed) cluster, without a server.
//!
//! API structure:
//! - [`DataDir`]: `PG_VERSION` + [`ControlFile`] (`global/pg_control`) and
//!   the paths of relation files ([`RelLocator`], [`Fork`], 1 GB segments).
//! - [`relation::RelationFile`] → [`page::Page`] (header, line pointers,
//!   checksum) → [`tuple::HeapTuple`] (header, null bitmap, deforming).
//! - [`xact::Clog`] (`pg_xact`) and [`visibility::tuple_status`].
//! - [`relmap::RelMap`] (`pg_filenode.map`), [`catalog::databases`] and
//!   [`catalog::Catalog`] (pg_class, pg_attribute, pg_type, pg_enum, ...).
//! - [`table::TableScan`]: rows of a table, live or dead, detoasted.
//!
//! **Architecture Invariant:** every file is opened through the `evidence`
//! crate (read-only, private mapping); nothing here writes to a data
//! directory.
#![forbid(unsafe_code)]

mod bytes;
pub mod carve;
pub mod catalog;
pub mod control;
pub mod datadir;
pub mod error;
pub mod multixact;
pub mod page;
pub mod relation;
pub mod relmap;
pub mod slru;
pub mod table;
pub mod tuple;
pub mod varlena;
pub mod visibility;
pub mod xact;

pub use control::{ControlFile, DbState, parse_pg_version};
pub use datadir::{DataDir, Fork, RelLocator};
pub use error::{BlockNo, DecompressProblem, Error, Result, ToastProblem};
