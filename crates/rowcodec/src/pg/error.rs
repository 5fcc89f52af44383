//! The one error type of [`crate::pg`].

/// Why a datum could not be printed. Offsets are byte positions inside the
/// datum handed to [`crate::pg::output`] (for varlena: inside the payload
/// after the varlena header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The catalog has no `pg_type` row for this OID.
    #[error("type oid {oid} is not in the type catalog")]
    UnknownType {
        /// The type OID asked for.
        oid: u32,
    },
    /// The type's output function is not one DataM implements.
    #[error("type {name} (oid {oid}) uses output function {typoutput}, which DataM cannot print")]
    UnsupportedType {
        /// The type OID.
        oid: u32,
        /// `typname`.
        name: String,
        /// `typoutput`.
        typoutput: String,
    },
    /// A fixed-length datum has the wrong number of bytes.
    #[error("{func}: datum is {found} bytes, expected {expected}")]
    BadLength {
        /// Output function name.
        func: &'static str,
        /// Bytes the type needs.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// A length or count inside the datum points past its end.
    #[error("{func}: datum truncated: need {needed} bytes at offset {offset}, have {available}")]
    Truncated {
        /// Output function name.
        func: &'static str,
        /// Where the read started.
        offset: usize,
        /// Bytes needed from there.
        needed: usize,
        /// Bytes available from there.
        available: usize,
    },
    /// A field holds a value the server never writes.
    #[error("{func}: corrupt datum at offset {offset}: {what} (found {found})")]
    Corrupt {
        /// Output function name.
        func: &'static str,
        /// Where the bad field is.
        offset: usize,
        /// What is wrong.
        what: &'static str,
        /// The bad value.
        found: i64,
    },
    /// Text that is not valid UTF-8 (DataM prints UTF-8 only).
    #[error("{func}: invalid UTF-8 at offset {offset}")]
    InvalidUtf8 {
        /// Output function name.
        func: &'static str,
        /// First invalid byte.
        offset: usize,
    },
    /// The value is outside what the output function accepts (the server
    /// would raise "out of range" too).
    #[error("{func}: value out of range ({what}: {found})")]
    OutOfRange {
        /// Output function name.
        func: &'static str,
        /// What is out of range.
        what: &'static str,
        /// The value.
        found: i64,
    },
    /// An enum datum whose `pg_enum` OID has no label in the catalog.
    #[error("enum value oid {enum_oid} has no label in the catalog")]
    UnknownEnumLabel {
        /// The stored `pg_enum` OID.
        enum_oid: u32,
    },
    /// Domains of domains, arrays of arrays or jsonb containers nested
    /// deeper than the limit (a cycle in a damaged catalog, or hostile bytes).
    #[error("type or value nesting deeper than {limit}")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
}
