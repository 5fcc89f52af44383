//! The whole file: header (or inferred parameters), schema, freelist, tree
//! walks, page classification, and the salvage driver.
//!
//! [`Db::open`] never fails: what it cannot read becomes a [`Diag`].
//! [`Db::salvage`] pushes rows to a [`Sink`]: first every live row, then
//! carved rows that do not duplicate a live row's values.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use rayon::prelude::*;
use rowcodec::sqlite::{OwnedValue, Record, TextEncoding};

use crate::carve::CarveCtx;
use crate::cell::{CellKind, PageSource, assemble_payload, parse_payload_cell};
use crate::header::{DbHeader, HEADER_SIZE};
use crate::page::{BtreeKind, BtreePage, PageClass, is_ptrmap_page, lock_byte_page};
use crate::scan::{Extract, PageRole, RecoveredRow, RowStatus, ScanCtx, table_rows_in_page};
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
}

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

/// Hash of a row's values (for de-duplicating carved rows against live ones).
pub fn values_hash(values: &[OwnedValue]) -> u64 {
    let mut h = DefaultHasher::new();
    values.len().hash(&mut h);
    for v in values {
        match v {
            OwnedValue::Null => 0u8.hash(&mut h),
            OwnedValue::Int(i) => (1u8, i).hash(&mut h),
            OwnedValue::Real(r) => (2u8, r.to_bits()).hash(&mut h),
            OwnedValue::Text(t) => (3u8, t).hash(&mut h),
            OwnedValue::Blob(b) => (4u8, b).hash(&mut h),
        }
    }
    h.finish()
}

fn master_table() -> Table {
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
        module: None,
    }
}

fn master_row(vals: &[OwnedValue]) -> Option<MasterRow> {
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
        };
        db.load_schema();
        db.classify();
        db
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
        while let Some(p) = stack.pop() {
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
                return (db.master_rows_from_pages(pages, e.to_rowcodec()), e);
            }
            let mut best = (Vec::new(), crate::header::TextEncoding::Utf8);
            for e in [
                crate::header::TextEncoding::Utf8,
                crate::header::TextEncoding::Utf16le,
                crate::header::TextEncoding::Utf16be,
            ] {
                let r = db.master_rows_from_pages(pages, e.to_rowcodec());
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
                        && self.master_rows_from_pages(&[*p], e.to_rowcodec()).len()
                            == self.page_rows(*p)
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
                enc: self.encoding.to_rowcodec(),
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
        let classes: Vec<PageClass> = (1..=self.n_pages)
            .into_par_iter()
            .map(|p| {
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
            })
            .collect();
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
            enc: self.encoding.to_rowcodec(),
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

    fn rows_of_page(&self, p: PageNo, live_pass: bool, no_deleted: bool) -> Vec<RecoveredRow> {
        let mut rows = Vec::new();
        let Some(bytes) = self.page(p) else {
            return rows;
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
                _ => return rows,
            }
        } else {
            if no_deleted {
                return rows;
            }
            let intact = matches!(role, PageRole::FreelistLeaf | PageRole::Orphan { .. });
            Extract {
                intact,
                carved: true,
            }
        };
        let is_orphan = matches!(role, PageRole::Orphan { .. });
        table_rows_in_page(&ctx, p, bytes, role, what, &mut |mut r| {
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
                rows.push(r);
            }
        });
        rows
    }

    /// Runs the salvage: all live rows, then (unless `no_deleted`) carved and
    /// freelist rows whose values differ from every live row. Pages are
    /// processed in parallel in chunks; rows reach the sink in page order.
    pub fn salvage<S: Sink>(&self, opts: &SalvageOptions, sink: &mut S) -> Result<(), S::Error> {
        const CHUNK: u32 = 256;
        let mut live_hashes: HashSet<u64> = HashSet::new();
        let mut carved_hashes: HashSet<(Option<usize>, u64)> = HashSet::new();
        let total = self.n_pages.saturating_mul(2);
        let mut done = 0u32;
        let mut rtree_nodes: HashMap<(usize, i64), Vec<u8>> = HashMap::new();
        for live_pass in [true, false] {
            if !live_pass {
                for r in self.rtree_rows(&rtree_nodes) {
                    live_hashes.insert(values_hash(&r.values));
                    if self.table_wanted(opts, r.table) && !sink.row(self, &r)? {
                        return Ok(());
                    }
                }
            }
            let mut start = 1u32;
            while start <= self.n_pages {
                let end = start.saturating_add(CHUNK - 1).min(self.n_pages);
                let chunk: Vec<Vec<RecoveredRow>> = (start..=end)
                    .into_par_iter()
                    .map(|p| self.rows_of_page(PageNo(p), live_pass, opts.no_deleted))
                    .collect();
                for rows in chunk {
                    for r in rows {
                        let h = values_hash(&r.values);
                        if live_pass {
                            live_hashes.insert(h);
                        } else if live_hashes.contains(&h) || !carved_hashes.insert((r.table, h)) {
                            continue;
                        }
                        if live_pass {
                            self.stash_rtree_node(&r, &mut rtree_nodes);
                        }
                        let fts = self.fts_projection(&r);
                        for row in std::iter::once(r).chain(fts) {
                            if !self.table_wanted(opts, row.table) {
                                continue;
                            }
                            if !sink.row(self, &row)? {
                                return Ok(());
                            }
                        }
                    }
                }
                done = done.saturating_add(end - start + 1);
                sink.progress(done, total);
                start = end.saturating_add(1);
            }
        }
        Ok(())
    }
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

    /// A row of an FTS3/4 `<v>_content` table is also a row of `v`
    /// (the content columns after the docid).
    fn fts_projection(&self, r: &RecoveredRow) -> Option<RecoveredRow> {
        let t = self.tables.get(r.table?)?;
        let v = self.virtual_for(&t.name, "_content", "fts")?;
        let n = self.tables.get(v)?.columns.len();
        let vals: Vec<OwnedValue> = r.values.iter().skip(1).take(n).cloned().collect();
        if vals.len() != n {
            return None;
        }
        Some(RecoveredRow {
            table: Some(v),
            values: vals,
            raw: None,
            ..r.clone()
        })
    }

    fn stash_rtree_node(&self, r: &RecoveredRow, nodes: &mut HashMap<(usize, i64), Vec<u8>>) {
        let Some(t) = r.table.and_then(|t| self.tables.get(t)) else {
            return;
        };
        let Some(v) = self.virtual_for(&t.name, "_node", "rtree") else {
            return;
        };
        if let (Some(OwnedValue::Int(n)), Some(OwnedValue::Blob(b))) =
            (r.values.first(), r.values.get(1))
        {
            nodes.insert((v, *n), b.clone());
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
                    });
                }
            }
        }
        out
    }
}
