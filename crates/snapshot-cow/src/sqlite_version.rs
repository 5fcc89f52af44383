//! One version of a SQLite database in a snapshot, read page by page from
//! the mapped packs (never assembled): the main file's pages are borrowed
//! from the packs, the committed frames of its `-wal` (the change since the
//! last checkpoint; read into one buffer of the WAL's size) are laid over
//! them. The b-trees are mapped by reading their interior pages only (a
//! b-tree is balanced, so the children of the last interior level are
//! leaves without reading them), so which table a changed page belongs to
//! is known without touching the unchanged leaves.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rowcodec::sqlite::record::OwnedValue;
use sqlite_pages::PageNo;
use sqlite_pages::cell::PageSource;
use sqlite_pages::header::{DbHeader, TextEncoding};
use sqlite_pages::page::{BtreePage, is_ptrmap_page, lock_byte_page};
use sqlite_pages::scan::{Extract, PageRole, RowStatus, ScanCtx, table_rows_in_page};
use sqlite_pages::schema::{Table, parse_create_table};

use crate::PageHash;
use crate::error::Error;
use crate::manifest::Manifest;
use crate::read::{Reader, SnapFile};

/// Deepest b-tree walked (SQLite's own limit is 20 levels).
const MAX_DEPTH: usize = 64;

/// What identifies a page's contents without reading it, when possible.
#[derive(PartialEq, Eq)]
enum PageId<'a> {
    Main(PageHash),
    Wal(&'a [u8]),
    Missing,
}

/// A SQLite database version read on demand (see the module docs).
pub(crate) struct Version<'r> {
    main: SnapFile<'r>,
    wal: Vec<u8>,
    /// pgno -> offset in `wal` of the latest committed frame's page image.
    overlay: HashMap<u32, usize>,
    pub n_pages: u32,
    page_size: usize,
    usable: usize,
    pub enc: TextEncoding,
    pub tables: Vec<Table>,
    /// Pages holding rows of `tables[i]`: table leaves, and every page of
    /// a WITHOUT ROWID table's index b-tree.
    pub row_pages: HashMap<u32, usize>,
    /// Every other b-tree, freelist, pointer-map and lock-byte page.
    pub known: HashSet<u32>,
    /// First page that could not be read (damaged in the store).
    error: Mutex<Option<Error>>,
}

impl PageSource for Version<'_> {
    fn page(&self, p: PageNo) -> Option<&[u8]> {
        let full = self.full_page(p)?;
        full.get(..self.usable.min(full.len()))
    }
    fn n_pages(&self) -> u32 {
        self.n_pages
    }
}

impl<'r> Version<'r> {
    /// Opens `name` (and `name-wal`, if the snapshot holds it) of `m`.
    pub fn open(reader: &'r Reader, m: &'r Manifest, name: &str) -> Result<Self, Error> {
        let main = reader.file(m, name)?;
        let head = main.page(0)?;
        let header = DbHeader::parse(head).ok();
        let page_size = header
            .as_ref()
            .map_or(main.entry().layout.page_bytes, |h| h.page_size_bytes);
        let page_size = usize::try_from(page_size).unwrap_or(4096).max(512);
        let usable = header
            .as_ref()
            .map_or(page_size, |h| h.usable_size_bytes() as usize);
        let enc = header
            .as_ref()
            .and_then(|h| h.text_encoding)
            .unwrap_or_default();
        let mut v = Version {
            n_pages: u32::try_from(main.page_hashes().len()).unwrap_or(u32::MAX),
            main,
            wal: Vec::new(),
            overlay: HashMap::new(),
            page_size,
            usable,
            enc,
            tables: Vec::new(),
            row_pages: HashMap::new(),
            known: HashSet::new(),
            error: Mutex::new(None),
        };
        let wal_name = format!("{name}-wal");
        if m.meta.files.iter().any(|f| f.name == wal_name) {
            v.wal = reader.file(m, &wal_name)?.to_vec()?;
            v.lay_wal();
        }
        v.map_trees();
        v.take_error()?;
        Ok(v)
    }

    fn lay_wal(&mut self) {
        let Ok(wal) = sqlite_pages::wal::Wal::parse(&self.wal) else {
            return;
        };
        if wal.page_size_bytes().map(|p| p as usize) != Some(self.page_size) {
            return;
        }
        let state = wal.committed_state();
        if let Some(n) = state.db_size_pages {
            self.n_pages = n;
        }
        for (&pgno, &frame_idx) in &state.latest_frame_by_pgno {
            if let Some(f) = wal.frame(frame_idx)
                && let Ok(off) = usize::try_from(f.offset)
            {
                self.overlay.insert(pgno, off.saturating_add(24));
            }
        }
    }

    /// The whole page `p` as SQLite would read it.
    fn full_page(&self, p: PageNo) -> Option<&[u8]> {
        if p.0 == 0 || p.0 > self.n_pages {
            return None;
        }
        if let Some(&off) = self.overlay.get(&p.0) {
            return self.wal.get(off..off.checked_add(self.page_size)?);
        }
        match self.main.page(u64::from(p.0 - 1)) {
            Ok(b) => Some(b),
            Err(e) => {
                let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    *slot = Some(e);
                }
                None
            }
        }
    }

    fn id(&self, p: u32) -> PageId<'_> {
        if p == 0 || p > self.n_pages {
            return PageId::Missing;
        }
        if let Some(b) = self.full_page_if_overlaid(p) {
            return PageId::Wal(b);
        }
        match self.main.page_hashes().get((p - 1) as usize) {
            Some(h) => PageId::Main(*h),
            None => PageId::Missing,
        }
    }

    fn full_page_if_overlaid(&self, p: u32) -> Option<&[u8]> {
        let off = *self.overlay.get(&p)?;
        self.wal.get(off..off.checked_add(self.page_size)?)
    }

    /// The first page read that failed, as an error.
    pub fn take_error(&self) -> Result<(), Error> {
        match self.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Reads `sqlite_master`, then maps every b-tree and the freelist.
    fn map_trees(&mut self) {
        let master = master_table();
        let mut rows = Vec::new();
        let (master_leaves, master_interior) = self.tree_pages(PageNo(1));
        for &p in &master_leaves {
            let Some(bytes) = PageSource::page(self, PageNo(p)) else {
                continue;
            };
            let ctx = ScanCtx {
                tables: std::slice::from_ref(&master),
                enc: self.enc,
                usable: self.usable,
                src: self,
            };
            live_rows(&ctx, p, bytes, 0, &mut |values, _| rows.push(values));
        }
        let mut known: HashSet<u32> = HashSet::new();
        known.extend(master_leaves.into_iter().chain(master_interior));
        for vals in rows {
            let Some((kind, name, root, sql)) = master_row(&vals) else {
                continue;
            };
            if root == 0 {
                continue;
            }
            let table = (kind == "table")
                .then(|| parse_create_table(name, PageNo(root), sql))
                .flatten();
            match table {
                Some(t) => {
                    let idx = self.tables.len();
                    let (leaves, interior) = self.tree_pages(PageNo(root));
                    let interior_rows = t.without_rowid;
                    for p in leaves {
                        self.row_pages.insert(p, idx);
                    }
                    for p in interior {
                        if interior_rows {
                            self.row_pages.insert(p, idx);
                        } else {
                            known.insert(p);
                        }
                    }
                    self.tables.push(t);
                }
                None => {
                    let (leaves, interior) = self.tree_pages(PageNo(root));
                    known.extend(leaves.into_iter().chain(interior));
                }
            }
        }
        self.freelist(&mut known);
        self.known = known;
    }

    /// The leaves and interior pages of the b-tree at `root`, reading the
    /// interior pages and one leaf.
    fn tree_pages(&self, root: PageNo) -> (Vec<u32>, Vec<u32>) {
        let mut interior = Vec::new();
        let mut seen = HashSet::new();
        let mut level = vec![root];
        for _ in 0..MAX_DEPTH {
            let Some(&first) = level.first() else { break };
            let Some(bytes) = PageSource::page(self, first) else {
                break;
            };
            let Ok(bp) = BtreePage::parse_lenient(first, bytes, self.usable) else {
                break;
            };
            if bp.kind.is_leaf() {
                return (level.iter().map(|p| p.0).collect(), interior);
            }
            let mut next = Vec::new();
            for &p in &level {
                if !seen.insert(p.0) {
                    continue;
                }
                interior.push(p.0);
                let Some(bytes) = PageSource::page(self, p) else {
                    continue;
                };
                if let Ok(bp) = BtreePage::parse_lenient(p, bytes, self.usable) {
                    next.extend(bp.children().into_iter().filter(|c| c.0 <= self.n_pages));
                }
            }
            level = next;
        }
        (Vec::new(), interior)
    }

    /// Freelist trunk and leaf pages, pointer-map pages, the lock-byte page.
    fn freelist(&self, known: &mut HashSet<u32>) {
        let Some(head) = self.full_page(PageNo(1)) else {
            return;
        };
        let Ok(h) = DbHeader::parse(head) else { return };
        let mut trunk = h.first_freelist_trunk.0;
        let mut hops = 0u32;
        while trunk != 0 && hops < self.n_pages && known.insert(trunk) {
            hops = hops.saturating_add(1);
            let Some(b) = self.full_page(PageNo(trunk)) else {
                break;
            };
            let n = be32(b, 4).unwrap_or(0) as usize;
            for i in 0..n.min(self.usable / 4) {
                if let Some(leaf) = be32(b, 8usize.saturating_add(i.saturating_mul(4))) {
                    known.insert(leaf);
                }
            }
            trunk = be32(b, 0).unwrap_or(0);
        }
        let ps = u32::try_from(self.page_size).unwrap_or(u32::MAX);
        known.insert(lock_byte_page(ps).0);
        if h.largest_root_page.0 != 0 {
            let u = u32::try_from(self.usable).unwrap_or(u32::MAX);
            known.extend((2..=self.n_pages).filter(|&p| is_ptrmap_page(PageNo(p), u, ps)));
        }
    }

    /// Whether page `p` has the same contents in `self` and `other` (by
    /// hash where both come from the main file, else by bytes).
    pub fn same_page(&self, other: &Version<'_>, p: u32) -> bool {
        match (self.id(p), other.id(p)) {
            (PageId::Main(a), PageId::Main(b)) => a == b,
            (PageId::Missing, PageId::Missing) => true,
            (PageId::Missing, _) | (_, PageId::Missing) => false,
            _ => self.full_page(PageNo(p)) == other.full_page(PageNo(p)),
        }
    }

    /// The scan context for row decoding.
    pub fn scan_ctx(&self) -> ScanCtx<'_> {
        ScanCtx {
            tables: &self.tables,
            enc: self.enc,
            usable: self.usable,
            src: self,
        }
    }
}

/// The live rows (values in schema order, rowid) of row page `p` of table
/// `table` of `ctx.tables`.
pub(crate) fn live_rows(
    ctx: &ScanCtx<'_>,
    p: u32,
    bytes: &[u8],
    table: usize,
    f: &mut dyn FnMut(Vec<OwnedValue>, Option<i64>),
) {
    let what = Extract {
        intact: true,
        carved: false,
    };
    let role = PageRole::Tree { table };
    table_rows_in_page(ctx, PageNo(p), bytes, role, what, &mut |r| {
        if r.status == RowStatus::Live {
            f(r.values, r.rowid);
        }
    });
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// `sqlite_master` as a table (its fixed schema).
fn master_table() -> Table {
    let sql = "CREATE TABLE sqlite_master(type text, name text, tbl_name text, rootpage integer, sql text)";
    parse_create_table("sqlite_master", PageNo(1), sql).unwrap_or_else(|| Table {
        name: "sqlite_master".into(),
        root: PageNo(1),
        columns: Vec::new(),
        rowid_alias: None,
        without_rowid: false,
        record_order: Vec::new(),
        sql: String::new(),
        dropped: false,
        primary_key: Vec::new(),
        module: None,
    })
}

/// `(type, name, rootpage, sql)` of a `sqlite_master` row.
fn master_row(v: &[OwnedValue]) -> Option<(&str, &str, u32, &str)> {
    let text = |i: usize| match v.get(i) {
        Some(OwnedValue::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    let root = match v.get(3) {
        Some(OwnedValue::Int(i)) => u32::try_from(*i).ok()?,
        _ => 0,
    };
    Some((text(0)?, text(1)?, root, text(4).unwrap_or_default()))
}
