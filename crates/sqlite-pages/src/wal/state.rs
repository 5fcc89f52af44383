//! The committed state: the pages SQLite would read from the WAL.

use super::Wal;
use std::collections::BTreeMap;

/// The committed content a WAL adds over its database file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalState {
    /// For each page in the WAL, the 0-based index of its latest committed frame.
    pub latest_frame_by_pgno: BTreeMap<u32, u32>,
    /// Database size in pages set by the last commit (`None`: no commit, the
    /// database file's own size applies).
    pub db_size_pages: Option<u32>,
}

impl WalState {
    /// Page `pgno` (1-based) as SQLite would read it: from the WAL if a
    /// committed frame holds it, else from `db` (pages of `page_size` bytes).
    /// `None` when the page is past the committed database size or absent.
    pub fn page<'a>(&self, wal: &Wal<'a>, db: &'a [u8], pgno: u32) -> Option<&'a [u8]> {
        if pgno == 0 || self.db_size_pages.is_some_and(|n| pgno > n) {
            return None;
        }
        if let Some(&idx) = self.latest_frame_by_pgno.get(&pgno) {
            return wal.frame(idx).map(|f| f.page);
        }
        let ps = u64::from(wal.page_size_bytes()?);
        let start = usize::try_from(u64::from(pgno - 1).checked_mul(ps)?).ok()?;
        let end = start.checked_add(usize::try_from(ps).ok()?)?;
        db.get(start..end)
    }
}
