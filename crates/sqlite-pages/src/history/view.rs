//! A database *state*: the file's pages with WAL frames or journal page
//! images laid over some of them, without copying.
//!
//! ```text
//!  lookup order for page n:  top (uncommitted frames)
//!                            └▶ committed WAL frames with index <= upto
//!                               └▶ over (journal images)
//!                                  └▶ the database file
//! ```
//!
//! A [`View`] is a [`PageSource`], so overflow chains of any state are read
//! by [`crate::cell::assemble_payload`] like those of the main file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::PageNo;
use crate::cell::PageSource;

/// Where a page image in a state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSrc {
    /// The database file.
    Db,
    /// A WAL frame (0-based index).
    Frame(u32),
    /// A journal record (index in `Journal::records`).
    Journal(u32),
}

/// Replaced pages, shared between states.
pub type PageMap<'a> = Arc<BTreeMap<u32, (PageSrc, &'a [u8])>>;

/// Committed WAL frames by page number, in frame order, so that the state
/// after any commit is a lookup (memory grows with the frames, not with
/// frames × commits).
#[derive(Debug, Default)]
pub struct WalIndex<'a> {
    /// `pgno -> [(frame_idx, page image)]`, ascending frame index.
    pub by_pgno: HashMap<u32, Vec<(u32, &'a [u8])>>,
    /// The highest page number any committed frame carries.
    pub max_pgno: u32,
}

impl<'a> WalIndex<'a> {
    /// The latest frame for `pgno` with index `<= upto`.
    fn latest(&self, pgno: u32, upto: u32) -> Option<(PageSrc, &'a [u8])> {
        let v = self.by_pgno.get(&pgno)?;
        let n = v.partition_point(|(idx, _)| *idx <= upto);
        let &(idx, page) = v.get(n.checked_sub(1)?)?;
        Some((PageSrc::Frame(idx), page))
    }
}

/// A database state: the file's pages, some replaced (see the module docs).
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// The database file.
    pub db: &'a [u8],
    /// Page size in bytes.
    pub page_size: u32,
    /// Usable bytes per page.
    pub usable: u32,
    /// Pages in this state.
    pub n_pages: u32,
    /// Journal images laid over the file.
    pub over: PageMap<'a>,
    /// Committed WAL frames up to a frame index.
    pub wal: Option<(Arc<WalIndex<'a>>, u32)>,
    /// Frames of an unfinished transaction.
    pub top: PageMap<'a>,
}

impl<'a> View<'a> {
    /// The bare file.
    pub fn file(db: &'a [u8], page_size: u32, usable: u32) -> Self {
        let n_pages = u32::try_from(db.len() / page_size.max(1) as usize).unwrap_or(u32::MAX);
        Self {
            db,
            page_size,
            usable,
            n_pages,
            over: Arc::default(),
            wal: None,
            top: Arc::default(),
        }
    }

    /// The highest page number that has bytes somewhere (file or overlay),
    /// capped at `n_pages` and at the file's pages plus the number of
    /// overlaid pages (a growing database writes every new page, so a page
    /// number beyond that is forged). O(log n): called per overflowing payload.
    pub fn last_existing_pgno(&self) -> u32 {
        let file =
            u32::try_from(self.db.len() / self.page_size.max(1) as usize).unwrap_or(u32::MAX);
        let over = self.over.keys().next_back().copied().unwrap_or(0);
        let top = self.top.keys().next_back().copied().unwrap_or(0);
        let (wal, wal_pages) = self
            .wal
            .as_ref()
            .map_or((0, 0), |(w, _)| (w.max_pgno, w.by_pgno.len()));
        let overlaid = self
            .over
            .len()
            .saturating_add(self.top.len())
            .saturating_add(wal_pages);
        let bound = file.saturating_add(u32::try_from(overlaid).unwrap_or(u32::MAX));
        file.max(over)
            .max(top)
            .max(wal)
            .min(self.n_pages)
            .min(bound)
    }

    /// Page numbers whose image in this state does not come from the file
    /// (journal images, committed frames up to this state, uncommitted frames).
    pub fn overlaid_pgnos(&self) -> BTreeSet<u32> {
        let mut out: BTreeSet<u32> = self.over.keys().copied().collect();
        out.extend(self.top.keys().copied());
        if let Some((w, upto)) = &self.wal {
            out.extend(
                w.by_pgno
                    .iter()
                    .filter(|(_, v)| v.first().is_some_and(|(i, _)| i <= upto))
                    .map(|(p, _)| *p),
            );
        }
        out
    }

    /// Page `pgno` (whole page image) and where it comes from.
    pub fn page(&self, pgno: u32) -> Option<(PageSrc, &'a [u8])> {
        if pgno == 0 || pgno > self.n_pages {
            return None;
        }
        if let Some(&p) = self.top.get(&pgno) {
            return Some(p);
        }
        if let Some(p) = self
            .wal
            .as_ref()
            .and_then(|(w, upto)| w.latest(pgno, *upto))
        {
            return Some(p);
        }
        if let Some(&p) = self.over.get(&pgno) {
            return Some(p);
        }
        let ps = u64::from(self.page_size);
        let start = usize::try_from(u64::from(pgno - 1).checked_mul(ps)?).ok()?;
        let end = start.checked_add(usize::try_from(ps).ok()?)?;
        self.db.get(start..end).map(|p| (PageSrc::Db, p))
    }
}

impl PageSource for View<'_> {
    fn page(&self, p: PageNo) -> Option<&[u8]> {
        let (_, bytes) = View::page(self, p.0)?;
        bytes.get(..(self.usable as usize).min(bytes.len()))
    }
    fn n_pages(&self) -> u32 {
        self.last_existing_pgno()
    }
}
