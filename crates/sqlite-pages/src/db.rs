//! The whole file: header (or inferred parameters), schema, freelist, tree
//! walks, page classification, and the salvage driver.
//!
//! [`Db::open`] never fails: what it cannot read becomes a [`Diag`].
//! [`Db::salvage`] pushes rows to a [`Sink`]: first every live row, then
//! carved rows that do not duplicate a live row's values.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use rowcodec::sqlite::{OwnedValue, Record, TextEncoding, Value};

use crate::carve::CarveCtx;
use crate::cell::{CellKind, PageSource, assemble_payload, parse_payload_cell};
use crate::header::{DbHeader, HEADER_SIZE};
use crate::page::{BtreeKind, BtreePage, PageClass, is_ptrmap_page, lock_byte_page};
use crate::scan::{Extract, PageRole, RecoveredRow, RowRef, RowStatus, ScanCtx, scan_page};
use crate::schema::{Affinity, Column, MasterRow, Table, parse_create_table};
use crate::{Error, PageNo};

/// A problem met while reading the file (recovery continued).
#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    /// The page concerned, if any.
    pub page_no: Option<PageNo>,
    /// What happened.
    pub kind: DiagKind,
}

/// Kinds of diagnostics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DiagKind {
    /// A structural error.
    Error(Error),
    /// The header was unreadable; the page size was inferred.
    PageSizeInferred {
        /// The inferred size.
        page_size: u32,
    },
    /// The text encoding was inferred from the schema's text.
    EncodingInferred {
        /// The inferred encoding.
        encoding: crate::header::TextEncoding,
    },
    /// A table's b-tree could not be fully walked.
    TreeBroken {
        /// Table name.
        table: String,
    },
    /// The schema was rebuilt from pages found by scanning.
    SchemaFromScan,
    /// The file ends inside a page.
    TruncatedFile {
        /// File length.
        len_bytes: u64,
    },
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.page_no {
            write!(f, "page {p}: ")?;
        }
        match &self.kind {
            DiagKind::Error(e) => write!(f, "{e}"),
            DiagKind::PageSizeInferred { page_size } => write!(
                f,
                "header unreadable; page size {page_size} inferred from page layout"
            ),
            DiagKind::EncodingInferred { encoding } => write!(
                f,
                "text encoding {} inferred from the schema",
                encoding.name()
            ),
            DiagKind::TreeBroken { table } => write!(
                f,
                "b-tree of table {table:?} is damaged; unreached leaves matching it are reported as live"
            ),
            DiagKind::SchemaFromScan => write!(
                f,
                "sqlite_master unreadable from page 1; schema rebuilt from scanned pages"
            ),
            DiagKind::TruncatedFile { len_bytes } => write!(
                f,
                "file is truncated ({len_bytes} bytes is not a whole number of pages)"
            ),
        }
    }
}

/// Receives rows from [`Db::salvage`].
pub trait Sink {
    /// The sink's error.
    type Error;
    /// Takes one row; `Ok(false)` stops the run.
    fn row(&mut self, db: &Db<'_>, row: &RecoveredRow) -> Result<bool, Self::Error>;
    /// Progress: pages done out of all pages (called between chunks).
    fn progress(&mut self, _done: u32, _total: u32) {}
}

/// The per-row half of [`Db::salvage_with`], run on worker threads: adds
/// rows to a batch (e.g. formats them into bytes).
pub trait RowFormat: Sync {
    /// What one group of pages produces.
    type Batch: Default + Send;
    /// Adds `row` to `batch`.
    fn add(&self, db: &Db<'_>, row: &RowRef<'_>, batch: &mut Self::Batch);
}

/// The ordered half of [`Db::salvage_with`], on the calling thread: takes
/// batches in page order.
pub trait BatchSink<B> {
    /// The sink's error.
    type Error;
    /// Takes one batch; `marks` has one entry per row added to it, in order,
    /// and only rows whose mark says `keep` belong to the output. `Ok(false)`
    /// stops the run.
    fn batch(&mut self, db: &Db<'_>, batch: B, marks: &[RowMark]) -> Result<bool, Self::Error>;
    /// Progress: pages done out of all pages (called between rounds);
    /// `false` stops the run there (cancellation).
    fn progress(&mut self, _done: u32, _total: u32) -> bool {
        true
    }
}

/// One row of a batch, as the ordered stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct RowMark {
    /// The row's table.
    pub table: Option<usize>,
    /// The row's status.
    pub status: RowStatus,
    /// `false` for a carved row that repeats an earlier carved row.
    pub keep: bool,
    /// De-duplication key of a carved row: (table, fingerprint).
    key: (Option<usize>, u64),
    /// An FTS projection of the previous row: kept with it.
    projection: bool,
    /// The row's overflow chain broke (see [`RowRef::chain_break`]).
    pub chain_break: Option<crate::cell::ChainBreak>,
}

impl RowMark {
    fn kept(r: &RowRef<'_>) -> Self {
        Self {
            table: r.table,
            status: r.status,
            keep: true,
            key: (r.table, 0),
            projection: false,
            chain_break: r.chain_break,
        }
    }
}

/// Options of a salvage run.
#[derive(Debug, Clone, Default)]
pub struct SalvageOptions {
    /// Skip carving.
    pub no_deleted: bool,
    /// Only these tables (names, case-insensitive); empty = all.
    pub tables: Vec<String>,
}

/// A database file opened for recovery.
pub struct Db<'a> {
    /// The whole file.
    pub bytes: &'a [u8],
    /// The header, if it parsed.
    pub header: Option<DbHeader>,
    /// Page size used.
    pub page_size: u32,
    /// Usable size used.
    pub usable: u32,
    /// Text encoding used.
    pub encoding: crate::header::TextEncoding,
    /// Pages in the file (a partial last page counts).
    pub n_pages: u32,
    /// sqlite_master rows read (live).
    pub master: Vec<MasterRow>,
    /// Tables: live ones first, then dropped ones carved from free space.
    pub tables: Vec<Table>,
    /// Per page (index = page number − 1): class.
    pub classes: Vec<PageClass>,
    /// Per page: role for row extraction.
    pub roles: Vec<PageRole>,
    /// Diagnostics.
    pub diags: Vec<Diag>,
    /// Per table: its b-tree walk met damage.
    pub broken: Vec<bool>,
    /// Called with byte ranges of `bytes` the scan has gone past (see
    /// [`Db::open_releasing`]).
    release: &'a (dyn Fn(usize, usize) + Sync),
    /// Per table: the FTS3/4 table whose `_content` it is, and the R*Tree
    /// whose `_node` it is (looked up once, not per row).
    shadows: Vec<(Option<usize>, Option<usize>)>,
}

fn keep_resident(_offset: usize, _len: usize) {}

impl PageSource for Db<'_> {
    fn page(&self, p: PageNo) -> Option<&[u8]> {
        self.page_bytes(p)
    }
    fn n_pages(&self) -> u32 {
        self.n_pages
    }
}

impl<'a> Db<'a> {
    /// The usable bytes of page `p` (shorter for a truncated last page).
    pub fn page_bytes(&self, p: PageNo) -> Option<&'a [u8]> {
        let i = u64::from(p.0.checked_sub(1)?);
        let ps = u64::from(self.page_size);
        let start = usize::try_from(i.checked_mul(ps)?).ok()?;
        let end = start
            .saturating_add(self.usable as usize)
            .min(self.bytes.len());
        self.bytes.get(start..end)
    }
}

pub(crate) fn master_table() -> Table {
    let col = |n: &str, a| Column {
        name: n.into(),
        decl_type: String::new(),
        affinity: a,
        not_null: false,
    };
    Table {
        name: "sqlite_master".into(),
        root: PageNo(1),
        columns: vec![
            col("type", Affinity::Text),
            col("name", Affinity::Text),
            col("tbl_name", Affinity::Text),
            col("rootpage", Affinity::Integer),
            col("sql", Affinity::Text),
        ],
        rowid_alias: None,
        without_rowid: false,
        record_order: vec![0, 1, 2, 3, 4],
        sql: String::new(),
        dropped: false,
        primary_key: Vec::new(),
        module: None,
    }
}

pub(crate) fn master_row(vals: &[OwnedValue]) -> Option<MasterRow> {
    let text = |i: usize| match vals.get(i) {
        Some(OwnedValue::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let kind = text(0)?;
    if !["table", "index", "view", "trigger"].contains(&kind.as_str()) {
        return None;
    }
    let root = match vals.get(3) {
        Some(OwnedValue::Int(i)) => u32::try_from(*i).ok()?,
        _ => 0,
    };
    Some(MasterRow {
        kind,
        name: text(1)?,
        tbl_name: text(2).unwrap_or_default(),
        root: PageNo(root),
        sql: text(4).unwrap_or_default(),
    })
}

impl<'a> Db<'a> {
    /// Opens `bytes` (the whole database file). Never fails.
    pub fn open(bytes: &'a [u8]) -> Self {
        Self::open_releasing(bytes, &keep_resident)
    }

    /// [`Db::open`] for bytes that are a memory map: `release(offset, len)`
    /// is called for byte ranges the work has gone past (tree walks,
    /// classification, each round of the salvage), so the caller can drop
    /// them from memory (`evidence::Evidence::release`) and resident memory
    /// stays bounded whatever the file size. Released bytes must stay
    /// readable (they are read again when a later step needs them).
    pub fn open_releasing(bytes: &'a [u8], release: &'a (dyn Fn(usize, usize) + Sync)) -> Self {
        let mut diags = Vec::new();
        let header = match DbHeader::parse(bytes) {
            Ok(h) => Some(h),
            Err(e) => {
                diags.push(Diag {
                    page_no: Some(PageNo(1)),
                    kind: DiagKind::Error(e),
                });
                None
            }
        };
        let (page_size, usable) = match &header {
            Some(h) => (h.page_size_bytes, h.usable_size_bytes()),
            None => {
                let ps = infer_page_size(bytes);
                diags.push(Diag {
                    page_no: None,
                    kind: DiagKind::PageSizeInferred { page_size: ps },
                });
                (ps, ps)
            }
        };
        let len = bytes.len() as u64;
        let n_pages = u32::try_from(len.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX);
        if !len.is_multiple_of(u64::from(page_size)) {
            diags.push(Diag {
                page_no: Some(PageNo(n_pages)),
                kind: DiagKind::TruncatedFile { len_bytes: len },
            });
        }
        let encoding = header
            .as_ref()
            .and_then(|h| h.text_encoding)
            .unwrap_or_default();
        let mut db = Db {
            bytes,
            header,
            page_size,
            usable,
            encoding,
            n_pages,
            master: Vec::new(),
            tables: Vec::new(),
            classes: vec![PageClass::Unknown; n_pages as usize],
            roles: vec![PageRole::Orphan { live_guess: false }; n_pages as usize],
            diags,
            broken: Vec::new(),
            release,
            shadows: Vec::new(),
        };
        db.load_schema();
        db.classify();
        db.release_all();
        db.shadows = db
            .tables
            .iter()
            .map(|t| {
                (
                    db.virtual_for(&t.name, "_content", "fts"),
                    db.virtual_for(&t.name, "_node", "rtree"),
                )
            })
            .collect();
        db
    }

    /// Releases every page (see [`Db::open_releasing`]).
    fn release_all(&self) {
        (self.release)(0, self.bytes.len());
    }

    fn page_no_ok(&self, p: PageNo) -> bool {
        p.0 >= 1 && p.0 <= self.n_pages
    }

    /// Walks a b-tree from `root`, returning (pages reached, broken?).
    fn walk_tree(
        &self,
        root: PageNo,
        table: bool,
        claimed: &mut [bool],
    ) -> (Vec<PageNo>, Vec<Error>) {
        let mut pages = Vec::new();
        let mut errs = Vec::new();
        let mut stack = vec![root];
        let mut visited = 0u32;
        while let Some(p) = stack.pop() {
            visited = visited.wrapping_add(1);
            if visited.is_multiple_of(4096) {
                self.release_all();
            }
            if !self.page_no_ok(p) {
                errs.push(Error::PageOutOfRange {
                    page_no: p,
                    n_pages: self.n_pages,
                });
                continue;
            }
            let Some(slot) = claimed.get_mut((p.0 - 1) as usize) else {
                continue;
            };
            if *slot {
                continue;
            }
            let Some(bytes) = self.page(p) else { continue };
            match BtreePage::parse_lenient(p, bytes, self.usable as usize) {
                Ok(bp) if bp.kind.is_table() == table => {
                    *slot = true;
                    pages.push(p);
                    if !bp.kind.is_leaf() {
                        if bp.bad_cell_ptrs() > 0 {
                            errs.push(Error::BadPageHeader {
                                page_no: p,
                                field: "cell_pointer",
                                value: crate::sat_u32(bp.bad_cell_ptrs()),
                            });
                        }
                        stack.extend(bp.children());
                    }
                }
                Ok(bp) => errs.push(Error::BadPageType {
                    page_no: p,
                    offset: bp.hdr_off,
                    found: 0,
                }),
                Err(e) => errs.push(e),
            }
        }
        (pages, errs)
    }

    fn master_rows_from_pages(&self, pages: &[PageNo], enc: TextEncoding) -> Vec<MasterRow> {
        let mt = master_table();
        let mut rows = Vec::new();
        for &p in pages {
            let Some(bytes) = self.page(p) else { continue };
            let Ok(bp) = BtreePage::parse(p, bytes, self.usable as usize) else {
                continue;
            };
            if bp.kind != BtreeKind::LeafTable {
                continue;
            }
            for off in bp.cell_ptrs() {
                let Ok(cell) = parse_payload_cell(p, bp.bytes, off, CellKind::TableLeaf) else {
                    continue;
                };
                let (pl, _) = assemble_payload(self, p, &cell);
                let Ok(rec) = Record::parse_header(&pl) else {
                    continue;
                };
                if rec.types.len() != 5 {
                    continue;
                }
                let vals = crate::carve::to_schema_values(&mt, &rec.values(), None, enc);
                if let Some(r) = master_row(&vals) {
                    rows.push(r);
                }
            }
        }
        rows
    }

    fn load_schema(&mut self) {
        let mut claimed = vec![false; self.n_pages as usize];
        let (mpages, errs) = self.walk_tree(PageNo(1), true, &mut claimed);
        for e in errs {
            self.diags.push(Diag {
                page_no: None,
                kind: DiagKind::Error(e),
            });
        }
        let header_enc = self.header.as_ref().and_then(|h| h.text_encoding);
        let pick = |db: &Self, pages: &[PageNo]| -> (Vec<MasterRow>, crate::header::TextEncoding) {
            if let Some(e) = header_enc {
                return (db.master_rows_from_pages(pages, e), e);
            }
            let mut best = (Vec::new(), crate::header::TextEncoding::Utf8);
            for e in [
                crate::header::TextEncoding::Utf8,
                crate::header::TextEncoding::Utf16le,
                crate::header::TextEncoding::Utf16be,
            ] {
                let r = db.master_rows_from_pages(pages, e);
                if r.len() > best.0.len() {
                    best = (r, e);
                }
            }
            best
        };
        let (mut rows, mut enc) = pick(self, &mpages);
        let mut master_pages = mpages;
        if rows.is_empty() {
            // Scan every table leaf for sqlite_master-shaped rows.
            let all: Vec<PageNo> = (2..=self.n_pages).map(PageNo).collect();
            let (r, e) = pick(self, &all);
            if !r.is_empty() {
                self.diags.push(Diag {
                    page_no: None,
                    kind: DiagKind::SchemaFromScan,
                });
                let roots: HashSet<u32> = r.iter().map(|m| m.root.0).collect();
                master_pages.extend(all.into_iter().filter(|p| {
                    !roots.contains(&p.0)
                        && self.master_rows_from_pages(&[*p], e).len() == self.page_rows(*p)
                }));
                rows = r;
                enc = e;
            }
        }
        if header_enc.is_none() {
            self.diags.push(Diag {
                page_no: None,
                kind: DiagKind::EncodingInferred { encoding: enc },
            });
        }
        self.encoding = enc;
        for m in &rows {
            if m.kind == "table"
                && let Some(t) = parse_create_table(&m.name, m.root, &m.sql)
                && !self.tables.iter().any(|x| x.name == t.name)
            {
                self.tables.push(t);
            }
        }
        for m in &rows {
            if m.kind == "table"
                && let Some(t) = crate::schema::parse_virtual_table(&m.name, &m.sql)
                && !self.tables.iter().any(|x| x.name == t.name)
            {
                self.tables.push(t);
            }
        }
        self.master = rows;
        self.carve_dropped_tables(&master_pages);
        for p in master_pages {
            if let Some(r) = self.roles.get_mut((p.0 - 1) as usize) {
                *r = PageRole::NoRows;
            }
        }
    }

    fn page_rows(&self, p: PageNo) -> usize {
        self.page(p)
            .and_then(|b| BtreePage::parse(p, b, self.usable as usize).ok())
            .map_or(usize::MAX, |bp| bp.cell_ptrs().count())
    }

    fn carve_dropped_tables(&mut self, master_pages: &[PageNo]) {
        let mt = master_table();
        let tabs = [&mt];
        let mut found = Vec::new();
        for &p in master_pages {
            let Some(bytes) = self.page(p) else { continue };
            let Ok(bp) = BtreePage::parse(p, bytes, self.usable as usize) else {
                continue;
            };
            let cc = CarveCtx {
                page: bp.bytes,
                page_no: p,
                tables: &tabs,
                enc: self.encoding,
                src: self,
                col0_codes: &[],
            };
            let mut carved = Vec::new();
            for (off, size) in bp.freeblocks() {
                carved.extend(cc.carve_region(off, off + size, true));
            }
            let (gs, ge) = bp.gap();
            carved.extend(cc.carve_region(gs, ge, false));
            for c in carved {
                if let Some(m) = master_row(&c.values) {
                    found.push(m);
                }
            }
        }
        for m in found {
            if m.kind != "table" || self.tables.iter().any(|t| t.name == m.name) {
                continue;
            }
            if let Some(mut t) = parse_create_table(&m.name, m.root, &m.sql) {
                t.dropped = true;
                self.tables.push(t);
            }
        }
    }

    fn classify(&mut self) {
        let ps = self.page_size;
        let usable = self.usable;
        let auto_vacuum = self.header.as_ref().is_some_and(DbHeader::auto_vacuum);
        let lb = lock_byte_page(ps);
        // Freelist.
        let mut trunk = self
            .header
            .as_ref()
            .map_or(PageNo(0), |h| h.first_freelist_trunk);
        let mut seen = HashSet::new();
        while trunk.0 != 0 && self.page_no_ok(trunk) && seen.insert(trunk) {
            let Some(b) = self.page_bytes(trunk) else {
                break;
            };
            let next = crate::be_u32_at(b, 0).unwrap_or(0);
            let n = crate::be_u32_at(b, 4).unwrap_or(0);
            let max = crate::sat_u32((b.len() / 4).saturating_sub(2));
            if n > max {
                self.diags.push(Diag {
                    page_no: Some(trunk),
                    kind: DiagKind::Error(Error::BadFreelist {
                        page_no: trunk,
                        reason: "leaf count exceeds page",
                    }),
                });
            }
            let n = n.min(max);
            if let Some(c) = self.classes.get_mut((trunk.0 - 1) as usize) {
                *c = PageClass::FreelistTrunk;
            }
            if let Some(r) = self.roles.get_mut((trunk.0 - 1) as usize) {
                *r = PageRole::FreelistTrunk { n_leaves: n };
            }
            for i in 0..n as usize {
                let leaf = PageNo(crate::be_u32_at(b, 8 + 4 * i).unwrap_or(0));
                if self.page_no_ok(leaf) && leaf != trunk {
                    if let Some(c) = self.classes.get_mut((leaf.0 - 1) as usize) {
                        *c = PageClass::FreelistLeaf;
                    }
                    if let Some(r) = self.roles.get_mut((leaf.0 - 1) as usize) {
                        *r = PageRole::FreelistLeaf;
                    }
                }
            }
            trunk = PageNo(next);
        }
        // Trees.
        let mut claimed = vec![false; self.n_pages as usize];
        for (i, r) in self.roles.iter().enumerate() {
            if !matches!(r, PageRole::Orphan { .. })
                && let Some(c) = claimed.get_mut(i)
            {
                *c = true;
            }
        }
        let mut broken = vec![false; self.tables.len()];
        for (ti, t) in self.tables.iter().enumerate() {
            if t.dropped || t.module.is_some() {
                continue;
            }
            let (pages, errs) = self.walk_tree(t.root, !t.without_rowid, &mut claimed);
            if !errs.is_empty() {
                if let Some(b) = broken.get_mut(ti) {
                    *b = true;
                }
                self.diags.push(Diag {
                    page_no: Some(t.root),
                    kind: DiagKind::TreeBroken {
                        table: t.name.clone(),
                    },
                });
                for e in errs {
                    self.diags.push(Diag {
                        page_no: None,
                        kind: DiagKind::Error(e),
                    });
                }
            }
            for p in pages {
                if let Some(r) = self.roles.get_mut((p.0 - 1) as usize) {
                    *r = PageRole::Tree { table: ti };
                }
            }
        }
        let idx_roots: Vec<PageNo> = self
            .master
            .iter()
            .filter(|m| m.kind == "index")
            .map(|m| m.root)
            .collect();
        for root in idx_roots {
            let (pages, _) = self.walk_tree(root, false, &mut claimed);
            for p in pages {
                if let Some(r) = self.roles.get_mut((p.0 - 1) as usize) {
                    *r = PageRole::NoRows;
                }
            }
        }
        let any_broken = broken.iter().any(|&b| b);
        // Classes by content.
        let classify_one = |p: u32| {
            let pn = PageNo(p);
            let i = (p - 1) as usize;
            let known = self.classes.get(i).copied().unwrap_or(PageClass::Unknown);
            if known != PageClass::Unknown {
                return known;
            }
            if pn == lb {
                return PageClass::LockByte;
            }
            if auto_vacuum && is_ptrmap_page(pn, usable, ps) {
                return PageClass::PointerMap;
            }
            let Some(b) = self.page(pn) else {
                return PageClass::Truncated;
            };
            if (b.len() as u64) < u64::from(usable) && p == self.n_pages {
                return PageClass::Truncated;
            }
            if b.iter().all(|&x| x == 0) {
                return PageClass::Zeroed;
            }
            match BtreePage::parse(pn, b, usable as usize) {
                Ok(bp) => PageClass::from_kind(bp.kind),
                Err(_) => PageClass::Unknown,
            }
        };
        let mut classes: Vec<PageClass> = Vec::with_capacity(self.n_pages as usize);
        let mut start = 1u32;
        while start <= self.n_pages {
            let end = start.saturating_add(4095).min(self.n_pages);
            classes.par_extend((start..=end).into_par_iter().map(classify_one));
            self.release_all();
            start = end.saturating_add(1);
        }
        self.classes = classes;
        for (i, c) in self.classes.iter().enumerate() {
            let Some(r) = self.roles.get_mut(i) else {
                continue;
            };
            if matches!(c, PageClass::PointerMap | PageClass::LockByte) {
                *r = PageRole::NoRows;
            }
            if let PageRole::Orphan { live_guess } = r {
                *live_guess = any_broken;
            }
        }
        // Orphan pages of a broken tree are only "live" if they fit that tree's table:
        // refined per row in `salvage` (attribution decides the table).
        let _ = HEADER_SIZE;
        self.broken = broken;
    }
}

/// Guesses the page size of a file whose header is unreadable: the candidate
/// at whose multiples the most pages parse as plausible b-tree pages (ties go
/// to the larger size, since multiples of a smaller size include the real
/// page starts).
pub fn infer_page_size(bytes: &[u8]) -> u32 {
    let mut best = (0usize, 4096u32);
    for shift in 9..=16u32 {
        let ps = 1u32 << shift;
        let mut n = 0usize;
        let mut k = 1usize;
        while let Some(start) = k.checked_mul(ps as usize) {
            let Some(b) = bytes.get(start..start.saturating_add(ps as usize).min(bytes.len()))
            else {
                break;
            };
            if b.is_empty() {
                break;
            }
            if plausible_btree(PageNo(crate::sat_u32(k).saturating_add(1)), b) {
                n += 1;
            }
            k += 1;
            if k > 20_000 {
                break;
            }
        }
        if plausible_btree(PageNo(1), bytes.get(..ps as usize).unwrap_or(bytes)) {
            n += 1;
        }
        if n >= best.0 {
            best = (n, ps);
        }
    }
    best.1
}

fn plausible_btree(p: PageNo, b: &[u8]) -> bool {
    let Ok(bp) = BtreePage::parse(p, b, b.len()) else {
        return false;
    };
    if bp.n_cells == 0 || bp.bad_cell_ptrs() > 0 || bp.content_start < bp.gap_start() {
        return false;
    }
    let kind = match bp.kind {
        BtreeKind::LeafTable => CellKind::TableLeaf,
        BtreeKind::LeafIndex => CellKind::IndexLeaf,
        BtreeKind::InteriorIndex => CellKind::IndexInterior,
        BtreeKind::InteriorTable => return bp.cell_ptrs().all(|o| o + 4 <= b.len()),
    };
    bp.cell_ptrs()
        .all(|o| parse_payload_cell(p, bp.bytes, o, kind).is_ok())
}

impl Db<'_> {
    /// The scan context over this file.
    pub fn scan_ctx(&self) -> ScanCtx<'_> {
        ScanCtx {
            tables: &self.tables,
            enc: self.encoding,
            usable: self.usable as usize,
            src: self,
        }
    }

    fn table_wanted(&self, opts: &SalvageOptions, t: Option<usize>) -> bool {
        if opts.tables.is_empty() {
            return true;
        }
        t.and_then(|i| self.tables.get(i))
            .is_some_and(|t| opts.tables.iter().any(|n| n.eq_ignore_ascii_case(&t.name)))
    }

    /// Rows of page `p` for one pass (`live_pass`: live rows; otherwise
    /// carved, freelist and orphan rows), as borrowed views.
    fn scan_rows(
        &self,
        p: PageNo,
        live_pass: bool,
        no_deleted: bool,
        emit: &mut dyn FnMut(&RowRef<'_>),
    ) {
        let Some(bytes) = self.page(p) else {
            return;
        };
        let role = self
            .roles
            .get((p.0 - 1) as usize)
            .copied()
            .unwrap_or(PageRole::NoRows);
        let ctx = self.scan_ctx();
        let what = if live_pass {
            match role {
                PageRole::Tree { .. } | PageRole::Orphan { live_guess: true } => Extract {
                    intact: true,
                    carved: false,
                },
                _ => return,
            }
        } else {
            if no_deleted {
                return;
            }
            let intact = matches!(role, PageRole::FreelistLeaf | PageRole::Orphan { .. });
            Extract {
                intact,
                carved: true,
            }
        };
        let is_orphan = matches!(role, PageRole::Orphan { .. });
        scan_page(&ctx, p, bytes, role, what, &mut |r| {
            let mut r = *r;
            if is_orphan && r.status == RowStatus::Live {
                let broken = r
                    .table
                    .and_then(|t| self.broken.get(t))
                    .copied()
                    .unwrap_or(false);
                if !broken {
                    r.status = RowStatus::Orphan;
                }
            }
            if (r.status == RowStatus::Live) == live_pass {
                emit(&r);
            }
        });
    }

    /// Runs the salvage into a row-at-a-time [`Sink`] (rows copied out); see
    /// [`Db::salvage_with`] for the order and the de-duplication.
    pub fn salvage<S: Sink>(&self, opts: &SalvageOptions, sink: &mut S) -> Result<(), S::Error> {
        struct Adapter<'s, S>(&'s mut S);
        impl<S: Sink> BatchSink<Vec<RecoveredRow>> for Adapter<'_, S> {
            type Error = S::Error;
            fn batch(
                &mut self,
                db: &Db<'_>,
                rows: Vec<RecoveredRow>,
                marks: &[RowMark],
            ) -> Result<bool, S::Error> {
                for (r, m) in rows.iter().zip(marks) {
                    if m.keep && !self.0.row(db, r)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            fn progress(&mut self, done: u32, total: u32) -> bool {
                self.0.progress(done, total);
                true
            }
        }
        self.salvage_with(opts, &CopyRows, &mut Adapter(sink))
    }

    /// Runs the salvage: all live rows, then (unless `no_deleted`) carved,
    /// freelist and orphan rows whose values differ from every live row
    /// (64-bit fingerprints of the live rows, 8 bytes per row) and from every
    /// earlier carved row of the same table.
    ///
    /// Pages are scanned in parallel (rayon) on a producer thread, in rounds
    /// of a few hundred pages; `fmt` turns rows into batches on the workers
    /// and `sink` receives the batches on the calling thread in page order,
    /// through a bounded channel, so memory stays bounded by a few rounds.
    pub fn salvage_with<F: RowFormat, S: BatchSink<F::Batch>>(
        &self,
        opts: &SalvageOptions,
        fmt: &F,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg<F::Batch>>(4);
        std::thread::scope(|scope| {
            let producer = std::thread::Builder::new()
                .name("datam-salvage".into())
                .spawn_scoped(scope, move || {
                    self.produce(opts, fmt, &mut |m| tx.send(m).is_ok());
                });
            match producer {
                // Dropping `rx` on an early stop makes the producer's sends fail.
                Ok(_) => drain(self, rx, sink),
                Err(_) => {
                    // No thread: produce everything here, then drain.
                    let mut msgs = Vec::new();
                    self.produce(opts, fmt, &mut |m| {
                        msgs.push(m);
                        true
                    });
                    drain(self, msgs, sink)
                }
            }
        })
    }

    /// Producer side of [`Db::salvage_with`].
    fn produce<F: RowFormat>(
        &self,
        opts: &SalvageOptions,
        fmt: &F,
        send: &mut dyn FnMut(Msg<F::Batch>) -> bool,
    ) {
        const ROUND: u32 = 512;
        const GROUP: usize = 16;
        let total = self.n_pages.saturating_mul(2);
        let mut done = 0u32;
        let mut live: Vec<u64> = Vec::new();
        let mut carved_seen: HashSet<(Option<usize>, u64), FingerprintHasher> = HashSet::default();
        let mut rtree_nodes: HashMap<(usize, i64), Vec<u8>> = HashMap::new();
        for live_pass in [true, false] {
            if !live_pass {
                let rtree = self.rtree_rows(&rtree_nodes);
                let mut w = Work::<F::Batch>::default();
                for r in &rtree {
                    r.with_ref(|r| {
                        live.push(fingerprint(r.values));
                        if self.table_wanted(opts, r.table) {
                            fmt.add(self, r, &mut w.batch);
                            w.marks.push(RowMark::kept(r));
                        }
                    });
                }
                live.par_sort_unstable();
                live.dedup();
                if !w.marks.is_empty() && !send(Msg::Batch(w.batch, w.marks)) {
                    return;
                }
            }
            let mut start = 1u32;
            while start <= self.n_pages {
                let end = start.saturating_add(ROUND - 1).min(self.n_pages);
                let pages: Vec<u32> = (start..=end).collect();
                let works: Vec<Work<F::Batch>> = pages
                    .par_chunks(GROUP)
                    .map(|group| {
                        let mut w = Work::default();
                        for &p in group {
                            self.scan_rows(PageNo(p), live_pass, opts.no_deleted, &mut |r| {
                                self.take_row(opts, fmt, r, live_pass, &live, &mut w);
                            });
                        }
                        w
                    })
                    .collect();
                for mut w in works {
                    if live_pass {
                        live.append(&mut w.fingerprints);
                        for (k, blob) in w.rtree.drain(..) {
                            rtree_nodes.insert(k, blob);
                        }
                    } else {
                        let mut parent_kept = true;
                        for m in &mut w.marks {
                            m.keep = if m.projection {
                                parent_kept
                            } else {
                                carved_seen.insert(m.key)
                            };
                            if !m.projection {
                                parent_kept = m.keep;
                            }
                        }
                    }
                    if !w.marks.is_empty() && !send(Msg::Batch(w.batch, w.marks)) {
                        return;
                    }
                }
                let behind = (end as usize).saturating_mul(self.page_size as usize);
                (self.release)(0, behind.min(self.bytes.len()));
                done = done.saturating_add(end - start + 1);
                if !send(Msg::Progress(done, total)) {
                    return;
                }
                start = end.saturating_add(1);
            }
        }
    }

    /// Worker side: one row of a pass into the work item.
    fn take_row<F: RowFormat>(
        &self,
        opts: &SalvageOptions,
        fmt: &F,
        r: &RowRef<'_>,
        live_pass: bool,
        live: &[u64],
        w: &mut Work<F::Batch>,
    ) {
        let fp = fingerprint(r.values);
        if live_pass {
            w.fingerprints.push(fp);
            self.stash_rtree_node(r, &mut w.rtree);
        } else if live.binary_search(&fp).is_ok() {
            return;
        }
        let fts = self.fts_projection(r);
        let mut add = |row: &RowRef<'_>, projection: bool| {
            if self.table_wanted(opts, row.table) {
                fmt.add(self, row, &mut w.batch);
                w.marks.push(RowMark {
                    projection,
                    key: (r.table, fp),
                    ..RowMark::kept(row)
                });
            }
        };
        add(r, false);
        if let Some((v, n)) = fts {
            let values = r.values.get(1..1 + n).unwrap_or_default();
            add(
                &RowRef {
                    table: Some(v),
                    values,
                    raw: None,
                    // Reported once, with the content row.
                    chain_break: None,
                    ..*r
                },
                true,
            );
        }
    }
}

/// What the producer of [`Db::salvage_with`] sends.
enum Msg<B> {
    Batch(B, Vec<RowMark>),
    Progress(u32, u32),
}

fn drain<B, S: BatchSink<B>>(
    db: &Db<'_>,
    msgs: impl IntoIterator<Item = Msg<B>>,
    sink: &mut S,
) -> Result<(), S::Error> {
    for m in msgs {
        match m {
            Msg::Batch(b, marks) => {
                if !sink.batch(db, b, &marks)? {
                    return Ok(());
                }
            }
            Msg::Progress(done, total) => {
                if !sink.progress(done, total) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// One group of pages' output in [`Db::salvage_with`].
struct Work<B> {
    batch: B,
    marks: Vec<RowMark>,
    fingerprints: Vec<u64>,
    rtree: Vec<((usize, i64), Vec<u8>)>,
}

impl<B: Default> Default for Work<B> {
    fn default() -> Self {
        Self {
            batch: B::default(),
            marks: Vec::new(),
            fingerprints: Vec::new(),
            rtree: Vec::new(),
        }
    }
}

/// The row-at-a-time [`Sink`]'s formatter: copies rows out.
struct CopyRows;

impl RowFormat for CopyRows {
    type Batch = Vec<RecoveredRow>;
    fn add(&self, _db: &Db<'_>, row: &RowRef<'_>, batch: &mut Vec<RecoveredRow>) {
        batch.push(row.to_owned_row());
    }
}

/// Hashes keys that already hold a [`fingerprint`]: no need for SipHash.
#[derive(Default, Clone, Copy)]
struct FingerprintHasher(u64);

impl std::hash::BuildHasher for FingerprintHasher {
    type Hasher = Self;
    fn build_hasher(&self) -> Self {
        Self(0)
    }
}

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A 64-bit fingerprint of a row's values (type tags, lengths and bytes,
/// mixed by folded 128-bit multiplication), for telling carved rows that
/// repeat a live row.
pub fn fingerprint(values: &[Value<'_>]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    fn mix(h: u64, w: u64) -> u64 {
        let m = u128::from(h ^ w).wrapping_mul(u128::from(K ^ 0x2d35_8dcc_aa6c_78a5));
        let [lo, hi] = [m, m >> 64].map(|x| u64::try_from(x & u128::from(u64::MAX)).unwrap_or(0));
        lo ^ hi
    }
    let mut h = mix(K, values.len() as u64);
    for v in values {
        h = match v {
            Value::Null => mix(h, 1),
            Value::Int(i) => mix(mix(h, 2), *i as u64),
            Value::Real(r) => mix(mix(h, 3), r.to_bits()),
            Value::Text(b) | Value::Blob(b) => {
                let tag = if matches!(v, Value::Text(_)) { 4 } else { 5 };
                let mut h = mix(mix(h, tag), b.len() as u64);
                let mut chunks = b.chunks_exact(8);
                for c in &mut chunks {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(c);
                    h = mix(h, u64::from_le_bytes(w));
                }
                let mut w = [0u8; 8];
                for (d, s) in w.iter_mut().zip(chunks.remainder()) {
                    *d = *s;
                }
                mix(h, u64::from_le_bytes(w))
            }
        };
    }
    h
}

impl Db<'_> {
    /// The virtual table `v` whose shadow table is `name` = `v` + `suffix`.
    fn virtual_for(&self, name: &str, suffix: &str, module_prefix: &str) -> Option<usize> {
        let base = name.strip_suffix(suffix)?;
        self.tables.iter().position(|t| {
            t.name == base
                && t.module
                    .as_deref()
                    .is_some_and(|m| m.starts_with(module_prefix))
        })
    }

    /// A row of an FTS3/4 `<v>_content` table is also a row of `v` (the
    /// `n` content columns after the docid): `Some((v, n))`.
    fn fts_projection(&self, r: &RowRef<'_>) -> Option<(usize, usize)> {
        let v = self.shadows.get(r.table?)?.0?;
        let n = self.tables.get(v)?.columns.len();
        (r.values.len() > n).then_some((v, n))
    }

    fn stash_rtree_node(&self, r: &RowRef<'_>, nodes: &mut Vec<((usize, i64), Vec<u8>)>) {
        let Some(v) = r.table.and_then(|t| self.shadows.get(t)?.1) else {
            return;
        };
        if let (Some(Value::Int(n)), Some(Value::Blob(b))) = (r.values.first(), r.values.get(1)) {
            nodes.push(((v, *n), b.to_vec()));
        }
    }

    /// Rows of R*Tree virtual tables, decoded from their `_node` blobs:
    /// node = depth u16 (root only) | n_cells u16 | cells; cell = rowid i64 |
    /// 2·dims coordinates (f32, or i32 for `rtree_i32`), all big-endian.
    /// Leaves are found by descending from node 1 `depth` levels.
    fn rtree_rows(&self, nodes: &HashMap<(usize, i64), Vec<u8>>) -> Vec<RecoveredRow> {
        let mut out = Vec::new();
        for (v, t) in self.tables.iter().enumerate() {
            let Some(module) = t.module.as_deref().filter(|m| m.starts_with("rtree")) else {
                continue;
            };
            let dims = t.columns.len().saturating_sub(1) / 2;
            let cell = 8 + 8 * dims;
            let Some(root) = nodes.get(&(v, 1)) else {
                continue;
            };
            let depth = crate::be_u16_at(root, 0).unwrap_or(0);
            let mut level = vec![1i64];
            for _ in 0..depth {
                let mut next = Vec::new();
                for n in &level {
                    let Some(b) = nodes.get(&(v, *n)) else {
                        continue;
                    };
                    let cnt = usize::from(crate::be_u16_at(b, 2).unwrap_or(0));
                    for i in 0..cnt {
                        if let Some(c) = b.get(4 + i * cell..4 + i * cell + 8) {
                            next.push(i64::from_be_bytes(c.try_into().unwrap_or([0; 8])));
                        }
                    }
                }
                level = next;
                if level.len() > nodes.len() * 64 {
                    break;
                }
            }
            for n in level {
                let Some(b) = nodes.get(&(v, n)) else {
                    continue;
                };
                let cnt = usize::from(crate::be_u16_at(b, 2).unwrap_or(0));
                for i in 0..cnt {
                    let at = 4 + i * cell;
                    let Some(c) = b.get(at..at + cell) else { break };
                    let id = i64::from_be_bytes(
                        c.get(..8).and_then(|x| x.try_into().ok()).unwrap_or([0; 8]),
                    );
                    let mut vals = vec![OwnedValue::Int(id)];
                    for k in 0..2 * dims {
                        let w = crate::be_u32_at(c, 8 + 4 * k).unwrap_or(0);
                        vals.push(if module == "rtree_i32" {
                            OwnedValue::Int(i64::from(w as i32))
                        } else {
                            OwnedValue::Real(f64::from(f32::from_bits(w)))
                        });
                    }
                    out.push(RecoveredRow {
                        table: Some(v),
                        rowid: Some(id),
                        values: vals,
                        status: RowStatus::Live,
                        page_no: PageNo(0),
                        offset: at,
                        confidence: 1.0,
                        raw: None,
                        rowid_inferred: false,
                        chain_break: None,
                    });
                }
            }
        }
        out
    }
}
