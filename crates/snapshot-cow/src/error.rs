//! The crate's one error type, and the problems found in manifests and packs.

use std::path::PathBuf;

use crate::{PageHash, SnapshotId};

/// What is wrong with a manifest's bytes (see [`crate::manifest`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestProblem {
    /// Shorter than magic, metadata length and trailer.
    #[error("too short ({len_bytes} bytes)")]
    TooShort {
        /// The manifest's length.
        len_bytes: u64,
    },
    /// The first 8 bytes are not the manifest magic.
    #[error("bad magic")]
    BadMagic,
    /// The trailing BLAKE3 does not match the bytes before it.
    #[error("checksum mismatch (stored {stored}, computed {computed})")]
    Checksum {
        /// The trailer as stored.
        stored: PageHash,
        /// BLAKE3 of the bytes before the trailer.
        computed: PageHash,
    },
    /// The metadata length runs past the end.
    #[error("metadata length {meta_len} runs past the end")]
    MetaLength {
        /// The stored length.
        meta_len: u64,
    },
    /// The JSON metadata does not parse.
    #[error("metadata: {message}")]
    MetaJson {
        /// serde_json's message (line/column inside the metadata).
        message: String,
    },
    /// The page-hash lists are not as long as the metadata says.
    #[error("page lists hold {found} bytes, metadata needs {expected}")]
    PageListLength {
        /// Bytes present.
        found: u64,
        /// Bytes the file entries need.
        expected: u64,
    },
    /// A file entry is inconsistent (page count vs size and layout, bad layout).
    #[error("file entry {file_idx} ({name}): {what}")]
    BadFileEntry {
        /// Index of the entry in the manifest.
        file_idx: usize,
        /// The entry's name.
        name: String,
        /// What is inconsistent.
        what: &'static str,
    },
}

/// A problem at a position of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {problem}")]
pub struct ManifestError {
    /// Byte offset in the manifest where the problem was found.
    pub offset: u64,
    /// What is wrong.
    pub problem: ManifestProblem,
}

/// What is wrong with a page record in a pack (see [`crate::pack`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackProblem {
    /// The record (header or data) runs past the end of the pack.
    #[error("record runs past the end of the pack (torn tail)")]
    Truncated,
    /// The record does not start with the record magic.
    #[error("bad record magic")]
    BadMagic,
    /// The stored length is not the one the index expects.
    #[error("record length {found}, index expects {expected}")]
    Length {
        /// Stored in the record.
        found: u32,
        /// Expected.
        expected: u32,
    },
    /// The record's hash field is not the page's hash.
    #[error("record names hash {found}, expected {expected}")]
    HashField {
        /// Stored in the record.
        found: PageHash,
        /// Expected.
        expected: PageHash,
    },
    /// The page bytes do not hash to the page's hash.
    #[error("page bytes hash to {computed}, expected {expected}")]
    Content {
        /// BLAKE3 of the bytes read.
        computed: PageHash,
        /// Expected.
        expected: PageHash,
    },
    /// No pack holds this page.
    #[error("no pack holds this page")]
    Missing,
}

/// Errors of the snapshot store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a store or source path.
    #[error("I/O error on {path}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Reading a source or store file through `evidence` failed.
    #[error(transparent)]
    Evidence(#[from] evidence::Error),
    /// The directory exists but is not a snapshot store.
    #[error("{path} is not a DataM snapshot store (no FORMAT file, or an unknown format)")]
    NotAStore {
        /// The directory.
        path: PathBuf,
    },
    /// Another writer holds the store's lock.
    #[error("{path} is locked by another `snapshot add` (try again when it has finished)")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A manifest is damaged.
    #[error("manifest {path}: {error}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong, and where.
        error: Box<ManifestError>,
    },
    /// No snapshot has this ID.
    #[error("no snapshot {id} in the store")]
    UnknownSnapshot {
        /// The ID asked for.
        id: SnapshotId,
    },
    /// The snapshot has no file of this name.
    #[error("snapshot {id} has no file {name}")]
    UnknownFile {
        /// The snapshot.
        id: SnapshotId,
        /// The name asked for.
        name: String,
    },
    /// A page of a snapshot file cannot be read intact.
    #[error("{name} page index {page_idx} ({hash}): {problem}")]
    BadPage {
        /// The file's name in the snapshot.
        name: String,
        /// 0-based index of the page in the file.
        page_idx: u64,
        /// The page's hash.
        hash: Box<PageHash>,
        /// What is wrong.
        problem: Box<PackProblem>,
    },
    /// The bytes written by an export do not have the recorded SHA-256.
    #[error("exported {name} has SHA-256 {found}, the snapshot recorded {expected}")]
    ExportMismatch {
        /// The file's name.
        name: String,
        /// Recorded.
        expected: String,
        /// Computed while writing.
        found: String,
    },
    /// Two sources would get the same name in the snapshot.
    #[error("two sources are both named {name} in the snapshot")]
    NameClash {
        /// The clashing name.
        name: String,
    },
    /// A source path has no usable file name.
    #[error("source {path} has no file name")]
    BadSource {
        /// The source.
        path: PathBuf,
    },
    /// A name in a manifest would escape the export directory.
    #[error("unsafe name {name} in snapshot (absolute or with `..`)")]
    UnsafeName {
        /// The name.
        name: String,
    },
    /// A PostgreSQL data directory in a snapshot cannot be read (row diff).
    #[error("snapshot {id}: {source}")]
    PgVersion {
        /// The snapshot.
        id: SnapshotId,
        /// The dump's error (it names the file and block).
        source: Box<datam_core::pg::Error>,
    },
    /// The job was cancelled; nothing was committed.
    #[error("cancelled")]
    Cancelled,
}

impl From<datam_core::job::Cancelled> for Error {
    fn from(_: datam_core::job::Cancelled) -> Self {
        Error::Cancelled
    }
}

/// `map_err` helper: an I/O error on `path`.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
