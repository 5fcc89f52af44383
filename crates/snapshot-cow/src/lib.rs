//! Evidence snapshot store: page-level copy-on-write snapshots of evidence
//! files (SQLite databases and their `-wal`, PostgreSQL data directories, any
//! other file), deduplicated by page, hash-chained, verifiable, exportable
//! byte for byte, and readable in place for time travel.
//!
//! # Layout of a store
//!
//! ```text
//! STORE/
//!   FORMAT                      "datam snapshot store 1"
//!   lock                        flock(2)ed by the one writer (`add`)
//!   packs/0000000001.pack       page records of snapshot 1 (append-only)
//!   packs/0000000001.idx        their index (hash -> offset, length), checksummed
//!   manifests/0000000001.snap   snapshot 1: metadata + page-hash lists + BLAKE3 trailer
//! ```
//!
//! Each source file is cut into its natural pages ([`layout`]): SQLite pages
//! (page size from the header, inferred when damaged), `-wal` header and
//! frames, PostgreSQL relation blocks (BLCKSZ from `pg_control`), WAL pages
//! (XLOG_BLCKSZ), fixed 4 KiB chunks otherwise. A page is stored once, keyed
//! by its BLAKE3 hash ([`pack`]); a later snapshot only adds the pages that
//! changed. A [`manifest::Manifest`] lists, per file, size, SHA-256, mode
//! and page hashes, and the BLAKE3 of the previous manifest (the chain).
//!
//! # API structure
//! - [`Store`]: open or create; [`Store::add`] (with a `JobCtx`: progress and
//!   cancellation), [`Store::list`], [`Store::manifest`], [`Store::verify`],
//!   [`Store::reader`].
//! - [`Reader`]: every pack mapped read-only; [`Reader::file`] opens one file
//!   of a snapshot as a [`SnapFile`] (zero-copy pages from the maps, checked
//!   against their hash on read, `Read + Seek`, [`SnapFile::to_vec`]);
//!   [`Reader::export`] writes a snapshot out byte-identical.
//! - [`SnapshotSource`] ([`Store::source`]): one snapshot as an
//!   `evidence::vfs::Source`, so every reading command can read its files
//!   and data directories in place (time travel, `STORE@ID:path`);
//!   [`reference`] parses such references and mounts them.
//! - [`diff`]: pages changed per file ([`diff::page_summary`]) and the row
//!   diff of SQLite tables ([`diff::sqlite_diff`]), reading pages from the
//!   packs on demand and decoding only the leaf pages that differ; the row
//!   diff of PostgreSQL tables ([`pg_diff::pg_diff`]), decoding only the
//!   heap blocks that differ.
//! - [`verify::VerifyReport`]: bad pages (file, page, the snapshots using
//!   them), damaged manifests, broken chain links.
//!
//! **Architecture Invariant:** a snapshot exists exactly when its manifest is
//! durable: packs and index are written to temporary names, fsynced and
//! renamed before the manifest is, and the manifest itself is written to a
//! temporary name, fsynced, renamed and its directory fsynced. Anything a
//! killed writer leaves behind has an ID above the last manifest and is
//! ignored by readers and removed by the next writer.
//!
//! **Architecture Invariant:** sources are read only through
//! `evidence::Evidence` (read-only private maps); the store never writes to,
//! locks or renames them.

pub mod diff;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod pack;
pub mod pg_diff;
mod read;
pub mod reference;
mod source;
mod sqlite_version;
mod store;
pub mod verify;
mod walk;

pub use error::{Error, ManifestError, ManifestProblem, PackProblem};
pub use layout::{Layout, PageKind};
pub use manifest::{FileEntry, Manifest, Meta};
pub use read::{Reader, SnapFile};
pub use source::SnapshotSource;
pub use store::{AddReport, SnapshotSummary, Store};

/// A snapshot's monotonic ID (1, 2, 3, ...).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct SnapshotId(pub u64);

impl std::fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A BLAKE3 digest: the key of a stored page, and a manifest's chain hash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PageHash(pub [u8; 32]);

impl PageHash {
    /// BLAKE3 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// The first 32 bytes of `b` as a hash, if there are 32.
    pub(crate) fn from_slice(b: &[u8]) -> Option<Self> {
        Some(Self(b.get(..32)?.try_into().ok()?))
    }
}

impl std::fmt::Display for PageHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for PageHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageHash({})", self.to_hex())
    }
}

impl serde::Serialize for PageHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for PageHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}
