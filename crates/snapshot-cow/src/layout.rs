//! How a file is cut into pages: its natural page size.
//!
//! ```text
//! offset 0            first_bytes        first_bytes + page_bytes
//! | page 0 (header)   | page 1            | page 2 ...            | short last page
//! ```
//! With `first_bytes == 0` every page is `page_bytes` long (SQLite database,
//! PG relation, PG WAL, fixed); a SQLite `-wal` has a 32-byte header page
//! followed by frames of 24 + page-size bytes. The last page may be short.

use sqlite_pages::wal::{WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES, WAL_MAGIC_BE, WAL_MAGIC_LE};

/// What kind of file the pages were cut from (names pages in reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PageKind {
    /// A SQLite database: pages are numbered from 1.
    SqliteDb,
    /// A SQLite `-wal`: page 0 is the header, page k is frame k.
    SqliteWal,
    /// A PostgreSQL relation (or other data-directory) file: blocks from 0.
    PgRelation,
    /// A PostgreSQL WAL segment: XLOG pages from 0.
    PgWal,
    /// Anything else: fixed-size chunks from 0.
    Fixed,
}

/// The largest page DataM cuts (a manifest naming more is damaged).
pub const MAX_PAGE_BYTES: u32 = 1 << 20;
/// Chunk size for files without a natural page size.
pub const FIXED_PAGE_BYTES: u32 = 4096;

/// How one file is cut into pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    /// The kind of file.
    pub kind: PageKind,
    /// Length of the leading header page (0: none).
    pub first_bytes: u32,
    /// Length of every other page.
    pub page_bytes: u32,
}

impl Layout {
    /// Fixed-size pages of `page_bytes`.
    pub fn fixed(kind: PageKind, page_bytes: u32) -> Self {
        Self {
            kind,
            first_bytes: 0,
            page_bytes,
        }
    }

    /// Whether the sizes are usable (`page_bytes` in 1..=1 MiB, header ≤ 1 MiB).
    pub fn is_valid(&self) -> bool {
        (1..=MAX_PAGE_BYTES).contains(&self.page_bytes) && self.first_bytes <= MAX_PAGE_BYTES
    }

    /// Number of pages a file of `size_bytes` is cut into.
    pub fn n_pages(&self, size_bytes: u64) -> u64 {
        let first = u64::from(self.first_bytes);
        let page = u64::from(self.page_bytes.max(1));
        if size_bytes == 0 {
            return 0;
        }
        if first == 0 {
            return size_bytes.div_ceil(page);
        }
        if size_bytes <= first {
            return 1;
        }
        1 + (size_bytes - first).div_ceil(page)
    }

    /// Byte range `start..end` of page `page_idx` in a file of `size_bytes`
    /// (`None` past the end).
    pub fn page_range(&self, page_idx: u64, size_bytes: u64) -> Option<(u64, u64)> {
        let first = u64::from(self.first_bytes);
        let page = u64::from(self.page_bytes.max(1));
        let (start, len) = match (first, page_idx) {
            (0, i) => (i.checked_mul(page)?, page),
            (f, 0) => (0, f),
            (f, i) => ((i - 1).checked_mul(page)?.checked_add(f)?, page),
        };
        if start >= size_bytes {
            return None;
        }
        Some((start, start.saturating_add(len).min(size_bytes)))
    }

    /// Index of the page holding byte `offset`.
    pub fn page_of(&self, offset: u64) -> u64 {
        let first = u64::from(self.first_bytes);
        let page = u64::from(self.page_bytes.max(1));
        match first {
            0 => offset / page,
            f if offset < f => 0,
            f => 1 + (offset - f) / page,
        }
    }

    /// How reports name page `page_idx` (SQLite pages 1-based, the rest 0-based).
    pub fn page_label(&self, page_idx: u64) -> String {
        match self.kind {
            PageKind::SqliteDb => format!("page {}", page_idx.saturating_add(1)),
            PageKind::SqliteWal if page_idx == 0 => "WAL header".to_string(),
            PageKind::SqliteWal => format!("frame {page_idx}"),
            PageKind::PgRelation => format!("block {page_idx}"),
            PageKind::PgWal => format!("WAL page {page_idx}"),
            PageKind::Fixed => format!("chunk {page_idx}"),
        }
    }
}

/// Page sizes of a PostgreSQL data directory, from its `pg_control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgSizes {
    /// BLCKSZ.
    pub block_bytes: u32,
    /// XLOG_BLCKSZ.
    pub wal_block_bytes: u32,
}

impl PgSizes {
    /// Reads the sizes from `pg_control` bytes (`None` if they are unusable).
    pub fn from_control(bytes: &[u8]) -> Option<Self> {
        let c = pgdata::ControlFile::parse(bytes).ok()?;
        let s = Self {
            block_bytes: c.block_size_bytes,
            wal_block_bytes: c.wal_block_size_bytes,
        };
        let ok = |v: u32| v.is_power_of_two() && (512..=MAX_PAGE_BYTES).contains(&v);
        (ok(s.block_bytes) && ok(s.wal_block_bytes)).then_some(s)
    }
}

/// The layout of a file from its leading bytes and, inside a PostgreSQL data
/// directory, its path relative to it (`rel_in_pgdata`).
pub fn detect(bytes: &[u8], pg: Option<(PgSizes, &str)>) -> Layout {
    if let Some((sizes, rel)) = pg {
        if rel.starts_with("pg_wal/") || rel.starts_with("pg_xlog/") {
            return Layout::fixed(PageKind::PgWal, sizes.wal_block_bytes);
        }
        return Layout::fixed(PageKind::PgRelation, sizes.block_bytes);
    }
    if bytes.starts_with(sqlite_pages::header::MAGIC) {
        let ps = bytes
            .get(16..18)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
            .and_then(sqlite_pages::header::page_size_from_field)
            .unwrap_or_else(|| sqlite_pages::db::infer_page_size(bytes));
        return Layout::fixed(PageKind::SqliteDb, ps);
    }
    if let Some(l) = wal_layout(bytes) {
        return l;
    }
    Layout::fixed(PageKind::Fixed, FIXED_PAGE_BYTES)
}

fn wal_layout(bytes: &[u8]) -> Option<Layout> {
    let be = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let magic = be(0)?;
    if magic != WAL_MAGIC_LE && magic != WAL_MAGIC_BE {
        return None;
    }
    let ps = be(8)?;
    let ps = if ps == 1 { 65_536 } else { ps };
    if !ps.is_power_of_two() || !(512..=65_536).contains(&ps) {
        return None;
    }
    Some(Layout {
        kind: PageKind::SqliteWal,
        first_bytes: u32::try_from(WAL_HEADER_BYTES).ok()?,
        page_bytes: ps.checked_add(u32::try_from(WAL_FRAME_HEADER_BYTES).ok()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_file_exactly() {
        for l in [
            Layout::fixed(PageKind::Fixed, 4096),
            Layout {
                kind: PageKind::SqliteWal,
                first_bytes: 32,
                page_bytes: 4120,
            },
        ] {
            for size in [0u64, 1, 31, 32, 33, 4095, 4096, 4097, 4152, 4153, 100_000] {
                let n = l.n_pages(size);
                let mut at = 0;
                for i in 0..n {
                    let (s, e) = l.page_range(i, size).unwrap();
                    assert_eq!(s, at);
                    assert!(e > s);
                    at = e;
                }
                assert_eq!(at, size, "{l:?} {size}");
                for off in (0..size).step_by(7) {
                    let (s, e) = l.page_range(l.page_of(off), size).unwrap();
                    assert!(s <= off && off < e);
                }
                assert_eq!(l.page_range(n, size), None);
            }
        }
    }
}
