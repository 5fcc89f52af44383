//! The rollback a hot journal describes: the pre-images SQLite would
//! restore.

use super::{Journal, JournalKind, RecordStatus};
use std::collections::BTreeMap;

impl<'a> Journal<'a> {
    /// The committed state a rollback restores: `None` unless the journal is
    /// hot. Later records for a page never override earlier ones' role as the
    /// pre-image; SQLite writes each page once per transaction, and replays in
    /// order, so the last applied image wins as in `pager_playback`.
    pub fn rollback(&self) -> Option<Rollback<'a>> {
        if self.kind != JournalKind::Hot {
            return None;
        }
        let mut pages = BTreeMap::new();
        for r in &self.records {
            if r.status == RecordStatus::Rollback {
                pages.insert(r.pgno, r.page);
            }
        }
        Some(Rollback {
            db_size_pages: self.db_orig_size_pages.unwrap_or(0),
            page_size: self.page_size.unwrap_or(0),
            pages,
        })
    }
}

/// The committed database state a hot journal's rollback restores, as
/// overrides over the database file's pages. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback<'a> {
    /// Database size in pages before the transaction (the file is virtually
    /// truncated or zero-extended to it).
    pub db_size_pages: u32,
    /// Page size in bytes.
    pub page_size: u32,
    /// Pre-images to restore, by page number.
    pub pages: BTreeMap<u32, &'a [u8]>,
}

impl<'a> Rollback<'a> {
    /// Page `pgno` (1-based) of the rolled-back database: the journal's
    /// pre-image, else `db`'s page. `None` past the original size, or when
    /// `db` lacks the page (SQLite would read zeros).
    pub fn page(&self, db: &'a [u8], pgno: u32) -> Option<&'a [u8]> {
        if pgno == 0 || pgno > self.db_size_pages {
            return None;
        }
        if let Some(p) = self.pages.get(&pgno) {
            return Some(p);
        }
        let ps = u64::from(self.page_size);
        let start = usize::try_from(u64::from(pgno - 1).checked_mul(ps)?).ok()?;
        db.get(start..start.checked_add(usize::try_from(ps).ok()?)?)
    }
}
