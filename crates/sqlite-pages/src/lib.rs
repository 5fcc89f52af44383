//! SQLite on-disk format parser and carver.
#![forbid(unsafe_code)]

pub mod error;
pub mod header;
pub mod journal;
pub mod wal;

pub use error::Error;

/// A 1-based page number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PageNo(pub u32);

impl std::fmt::Display for PageNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
