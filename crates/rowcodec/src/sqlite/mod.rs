//! SQLite records (fileformat2 §2.1): varints, serial types, record decoding,
//! values, and encoders to SQL literals, CSV fields and JSON.
//!
//! ```text
//! record := header-size varint | serial-type varint * n | body
//!           '------------ header-size bytes ------------'
//! ```
//!
//! - [`varint`]: SQLite's 1–9 byte big-endian varints.
//! - [`serial`]: [`SerialType`] and its content sizes.
//! - [`record`]: [`Record`] over borrowed bytes, [`Value`] per column.
//! - [`encode`]: values to SQL, CSV, JSON; a test-grade record encoder.

pub mod encode;
pub mod record;
pub mod serial;
pub mod varint;

pub use record::{OwnedValue, Record, RecordError, TextEncoding, Value, recycle};
pub use serial::SerialType;
