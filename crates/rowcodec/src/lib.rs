//! Typed row values, decoders and encoders.
//!
//! - [`sqlite`]: SQLite record decoding (serial types) and values.
//! - [`pg`]: PostgreSQL datum decoding, printed exactly as the server's
//!   output functions print them.
#![forbid(unsafe_code)]

pub mod pg;
pub mod sqlite;
