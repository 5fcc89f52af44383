//! The one error type of `pgdata`.

use std::path::PathBuf;

/// A block number inside one relation fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockNo(pub u32);

impl std::fmt::Display for BlockNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Everything that can go wrong reading a data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read (through the `evidence` crate).
    #[error(transparent)]
    Evidence(#[from] evidence::Error),
    /// A directory could not be listed.
    #[error("cannot list {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A directory without `PG_VERSION`.
    #[error("{path}: not a PostgreSQL data directory: no PG_VERSION")]
    NotADataDir {
        /// The directory.
        path: PathBuf,
    },
    /// `PG_VERSION` does not hold a major version number.
    #[error("PG_VERSION holds {found:?}, not a major version number")]
    BadPgVersion {
        /// The file's text (trimmed, at most 32 bytes).
        found: String,
    },
    /// A major version DataM does not read.
    #[error("PostgreSQL major version {major} is not supported (13 to 18 are)")]
    UnsupportedVersion {
        /// The major version found.
        major: u32,
    },
    /// A structure is shorter than its fixed part.
    #[error("{what} truncated at byte {offset}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset where the read started.
        offset: u64,
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// `pg_control`'s version field is not one DataM knows.
    #[error("pg_control_version {found} is not known (1300, 1700, 1800 are)")]
    UnknownControlVersion {
        /// The value at byte 8.
        found: u32,
    },
    /// A magic number is wrong.
    #[error("{what}: bad magic {found:#x}, expected {expected:#x}")]
    BadMagic {
        /// The structure.
        what: &'static str,
        /// Found value.
        found: u32,
        /// Expected value.
        expected: u32,
    },
    /// A page header is inconsistent.
    #[error("block {block}: bad page header ({reason})")]
    BadPage {
        /// The block.
        block: BlockNo,
        /// Which check failed.
        reason: &'static str,
    },
    /// A page's stored checksum differs from the computed one.
    #[error("block {block}: checksum mismatch (stored {stored:#06x}, computed {computed:#06x})")]
    ChecksumMismatch {
        /// The block.
        block: BlockNo,
        /// `pd_checksum`.
        stored: u16,
        /// What `pg_checksum_page` gives.
        computed: u16,
    },
    /// A tuple does not fit its line pointer or its attributes overrun it.
    #[error("block {block} lp {lp}: bad tuple ({reason})")]
    BadTuple {
        /// The block.
        block: BlockNo,
        /// The line pointer (1-based offset number).
        lp: u16,
        /// Which check failed.
        reason: &'static str,
    },
    /// A varlena value could not be decoded.
    #[error("bad varlena ({reason})")]
    BadVarlena {
        /// Which check failed.
        reason: &'static str,
    },
    /// A compressed value could not be decompressed.
    #[error("{method} decompression failed: {problem}")]
    Decompress {
        /// `pglz` or `lz4`.
        method: &'static str,
        /// Why.
        problem: DecompressProblem,
    },
    /// A TOAST value's chunks are missing or inconsistent.
    #[error("TOAST value {value_id} in relation {toast_relid}: {problem}")]
    Toast {
        /// `va_valueid`.
        value_id: u32,
        /// `va_toastrelid`.
        toast_relid: u32,
        /// What is wrong.
        problem: ToastProblem,
    },
    /// A relation map (`pg_filenode.map`) lacks a mapped catalog.
    #[error("catalog: {} has no relation {oid}", map.display())]
    NotInRelMap {
        /// The map file.
        map: PathBuf,
        /// The relation's oid.
        oid: u32,
    },
    /// `pg_class` has no row for a relation another catalog names.
    #[error("catalog: pg_class has no relation {oid}")]
    NotInPgClass {
        /// The relation's oid.
        oid: u32,
    },
    /// `pg_attribute` has no columns for a relation that has some.
    #[error("catalog: pg_attribute has no columns for {relname} (oid {oid})")]
    NoColumns {
        /// The relation's oid.
        oid: u32,
        /// Its name.
        relname: String,
    },
    /// A name was not found (database, table).
    #[error("{what} {name:?} not found")]
    NotFound {
        /// What kind of object.
        what: &'static str,
        /// Its name.
        name: String,
    },
}

/// Why a compressed value could not be decompressed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecompressProblem {
    /// The raw size exceeds PostgreSQL's 1 GB limit.
    #[error("raw size {rawsize} too large")]
    TooLarge {
        /// The raw size claimed.
        rawsize: usize,
    },
    /// The compressed bytes do not decode to exactly the raw size.
    #[error("corrupt data (does not decode to exactly the raw size)")]
    Corrupt,
    /// lz4 gave fewer bytes than the raw size.
    #[error("got {got} bytes, expected {expected}")]
    Short {
        /// Bytes produced.
        got: usize,
        /// The raw size.
        expected: usize,
    },
    /// lz4 rejected the data.
    #[error(transparent)]
    Lz4(lz4_flex::block::DecompressError),
    /// A compression method id DataM does not know.
    #[error("compression method id {0}")]
    UnknownMethod(u32),
}

/// What is wrong with a TOAST value's chunks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToastProblem {
    /// The TOAST table has no chunk of the value.
    #[error("no chunks in the TOAST table")]
    NoChunks,
    /// A chunk in the sequence is missing.
    #[error("chunk {seq} missing")]
    ChunkMissing {
        /// `chunk_seq`.
        seq: i32,
    },
    /// A chunk's line pointer is gone from its page.
    #[error("chunk line pointer vanished (block {block} lp {lp})")]
    LinePointerVanished {
        /// The block.
        block: BlockNo,
        /// The line pointer.
        lp: u16,
    },
    /// A chunk row has a NULL `chunk_data`.
    #[error("chunk {seq} has no data")]
    NoData {
        /// `chunk_seq`.
        seq: i32,
    },
    /// A chunk's data is not a plain (inline, uncompressed) bytea.
    #[error("chunk {seq} is not a plain bytea")]
    NotPlain {
        /// `chunk_seq`.
        seq: i32,
    },
    /// The chunks hold more bytes than the pointer says.
    #[error("chunks hold more than {expected} bytes")]
    TooLong {
        /// The pointer's external size.
        expected: usize,
    },
    /// The chunks hold another number of bytes than the pointer says.
    #[error("chunks hold {got} bytes, pointer says {expected}")]
    WrongLength {
        /// Bytes in the chunks.
        got: usize,
        /// The pointer's external size.
        expected: usize,
    },
    /// The compressed value's raw size is negative.
    #[error("negative raw size")]
    NegativeRawSize,
    /// The compressed value is shorter than its 4-byte header.
    #[error("compressed value shorter than its header")]
    ShortHeader,
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
