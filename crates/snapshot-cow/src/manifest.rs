//! Manifest format: one file per snapshot.
//!
//! ```text
//! 0        8          12                12+meta_len
//! | magic  | meta_len | meta (JSON)      | page hashes (32 B each, file by file) | BLAKE3 of all before (32 B) |
//! ```
//! `magic` is `DMSNAP\0\x01`, `meta_len` little-endian u32. The metadata is
//! a [`Meta`]; the page-hash lists follow in the order of `Meta::files`,
//! `n_pages` hashes each. The chain hash of a manifest is BLAKE3 of the whole
//! file ([`chain_hash`]); the next manifest stores it in `Meta::prev`.

use crate::error::{ManifestError, ManifestProblem};
use crate::layout::Layout;
use crate::{PageHash, SnapshotId};

/// The manifest magic.
pub const MAGIC: &[u8; 8] = b"DMSNAP\0\x01";
const TRAILER: usize = 32;
const HEAD: usize = 12;

/// One directory of a snapshot (recreated by export).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirEntry {
    /// Name inside the snapshot (`/`-separated, relative).
    pub name: String,
    /// Unix permission bits.
    pub mode: u32,
}

/// One file of a snapshot, without its page list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Name inside the snapshot (`/`-separated, relative).
    pub name: String,
    /// Length in bytes.
    pub size_bytes: u64,
    /// SHA-256 of the contents, lower-case hex.
    pub sha256: String,
    /// Unix permission bits.
    pub mode: u32,
    /// How the file is cut into pages.
    pub layout: Layout,
    /// Number of pages (`layout.n_pages(size_bytes)`).
    pub n_pages: u64,
}

/// A snapshot's metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// Monotonic ID.
    pub id: SnapshotId,
    /// Creation time, milliseconds since the Unix epoch (UTC).
    pub time_unix_ms: u64,
    /// The user's note.
    pub note: String,
    /// The source paths as given (made absolute).
    pub sources: Vec<String>,
    /// Chain hash of the previous manifest (all zero for the first).
    pub prev: PageHash,
    /// Directories (for data directories).
    pub dirs: Vec<DirEntry>,
    /// Files, in page-list order.
    pub files: Vec<FileEntry>,
}

/// A parsed manifest: metadata and the page hashes of every file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The metadata.
    pub meta: Meta,
    /// `pages[file_idx][page_idx]`.
    pub pages: Vec<Vec<PageHash>>,
    /// BLAKE3 of the manifest file's bytes.
    pub chain_hash: PageHash,
}

/// BLAKE3 of a manifest file's bytes (what the next manifest's `prev` holds).
pub fn chain_hash(bytes: &[u8]) -> PageHash {
    PageHash::of(bytes)
}

fn err(offset: usize, problem: ManifestProblem) -> ManifestError {
    ManifestError {
        offset: offset as u64,
        problem,
    }
}

impl Manifest {
    /// Encodes `meta` and `pages` into manifest bytes.
    pub fn encode(meta: &Meta, pages: &[Vec<PageHash>]) -> Result<Vec<u8>, serde_json::Error> {
        let json = serde_json::to_vec(meta)?;
        let n_hashes: usize = pages.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(HEAD + json.len() + 32 * n_hashes + TRAILER);
        out.extend_from_slice(MAGIC);
        let len = u32::try_from(json.len()).map_err(serde::ser::Error::custom)?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&json);
        for h in pages.iter().flatten() {
            out.extend_from_slice(&h.0);
        }
        let trailer = PageHash::of(&out);
        out.extend_from_slice(&trailer.0);
        Ok(out)
    }

    /// Parses and checks manifest bytes: magic, trailer checksum, metadata,
    /// and that every file's page count fits its size, layout and the lists.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let len = bytes.len();
        if len < HEAD + TRAILER {
            return Err(err(
                0,
                ManifestProblem::TooShort {
                    len_bytes: len as u64,
                },
            ));
        }
        if bytes.get(..8) != Some(MAGIC.as_slice()) {
            return Err(err(0, ManifestProblem::BadMagic));
        }
        let body_end = len - TRAILER;
        let (body, trailer) = bytes.split_at(body_end);
        let stored = PageHash::from_slice(trailer).unwrap_or_default();
        let computed = PageHash::of(body);
        if stored != computed {
            return Err(err(
                body_end,
                ManifestProblem::Checksum { stored, computed },
            ));
        }
        let meta_len = body
            .get(8..HEAD)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0);
        let meta_end = HEAD.saturating_add(meta_len as usize);
        let Some(json) = body.get(HEAD..meta_end) else {
            return Err(err(
                8,
                ManifestProblem::MetaLength {
                    meta_len: u64::from(meta_len),
                },
            ));
        };
        let meta: Meta = serde_json::from_slice(json).map_err(|e| {
            err(
                HEAD,
                ManifestProblem::MetaJson {
                    message: e.to_string(),
                },
            )
        })?;
        let lists = body.get(meta_end..).unwrap_or_default();
        let pages = split_lists(&meta, lists, meta_end)?;
        Ok(Self {
            meta,
            pages,
            chain_hash: chain_hash(bytes),
        })
    }
}

fn split_lists(meta: &Meta, lists: &[u8], at: usize) -> Result<Vec<Vec<PageHash>>, ManifestError> {
    let mut expected: u64 = 0;
    for (file_idx, f) in meta.files.iter().enumerate() {
        let bad = |what| {
            err(
                at,
                ManifestProblem::BadFileEntry {
                    file_idx,
                    name: f.name.clone(),
                    what,
                },
            )
        };
        if !f.layout.is_valid() {
            return Err(bad("invalid page layout"));
        }
        if f.layout.n_pages(f.size_bytes) != f.n_pages {
            return Err(bad("page count does not match size and layout"));
        }
        expected = f
            .n_pages
            .checked_mul(32)
            .and_then(|b| expected.checked_add(b))
            .ok_or_else(|| bad("page count overflows"))?;
    }
    if expected != lists.len() as u64 {
        return Err(err(
            at,
            ManifestProblem::PageListLength {
                found: lists.len() as u64,
                expected,
            },
        ));
    }
    let mut chunks = lists.chunks_exact(32).filter_map(PageHash::from_slice);
    Ok(meta
        .files
        .iter()
        .map(|f| {
            chunks
                .by_ref()
                .take(usize::try_from(f.n_pages).unwrap_or(usize::MAX))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::PageKind;

    fn sample() -> (Meta, Vec<Vec<PageHash>>) {
        let meta = Meta {
            id: SnapshotId(3),
            time_unix_ms: 1,
            note: "n".into(),
            sources: vec!["/x".into()],
            prev: PageHash::of(b"prev"),
            dirs: vec![],
            files: vec![FileEntry {
                name: "a.db".into(),
                size_bytes: 5000,
                sha256: "00".into(),
                mode: 0o644,
                layout: Layout::fixed(PageKind::SqliteDb, 4096),
                n_pages: 2,
            }],
        };
        (meta, vec![vec![PageHash::of(b"1"), PageHash::of(b"2")]])
    }

    #[test]
    fn round_trip() {
        let (meta, pages) = sample();
        let b = Manifest::encode(&meta, &pages).unwrap();
        let m = Manifest::parse(&b).unwrap();
        assert_eq!(m.meta, meta);
        assert_eq!(m.pages, pages);
        assert_eq!(m.chain_hash, PageHash::of(&b));
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let (meta, pages) = sample();
        let b = Manifest::encode(&meta, &pages).unwrap();
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x20;
            assert!(Manifest::parse(&c).is_err(), "flip at {i} accepted");
        }
        assert!(Manifest::parse(&b[..b.len() - 1]).is_err());
    }
}
