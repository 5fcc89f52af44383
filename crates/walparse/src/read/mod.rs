//! Typed views and readers over WAL bytes.

pub mod page;
pub mod reader;
pub mod record;
pub mod segment;
