//! SQLite on-disk format parser (work in progress).
#![forbid(unsafe_code)]

pub mod journal;
pub mod wal;
