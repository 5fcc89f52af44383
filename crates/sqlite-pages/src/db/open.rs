//! Opening a file: header or inferred parameters, tree walks, the schema
//! (`sqlite_master`, rebuilt from scanned pages when page 1 is damaged) and
//! dropped tables carved from its free space.

use std::collections::HashSet;

use rowcodec::sqlite::{OwnedValue, Record, TextEncoding};

use super::classify::{infer_page_size, plausible_pages};
use super::{Db, Diag, DiagKind, keep_resident};
use crate::carve::CarveCtx;
use crate::cell::{CellKind, ChainBreak, PageSource, assemble_payload, parse_payload_cell};
use crate::header::DbHeader;
use crate::page::{BtreeKind, BtreePage, PageClass};
use crate::scan::PageRole;
use crate::schema::{Affinity, Column, MasterRow, Table, parse_create_table};
use crate::{Error, PageNo};

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
    // A root that is no page number (forged) keeps the row: the table's
    // leaves are then found by content.
    let root = match vals.get(3) {
        Some(OwnedValue::Int(i)) => u32::try_from(*i).unwrap_or(0),
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

/// The header's page size (and usable size), unless the file's size
/// disagrees with the header and the pages show another size more clearly
/// (a forged or damaged page-size field).
fn checked_page_size(bytes: &[u8], h: &DbHeader, diags: &mut Vec<Diag>) -> (u32, u32) {
    let ps = h.page_size_bytes;
    let len = bytes.len() as u64;
    let fits = len.is_multiple_of(u64::from(ps))
        && (!h.db_size_valid || u64::from(h.db_size_pages).saturating_mul(u64::from(ps)) == len);
    if fits {
        return (ps, h.usable_size_bytes());
    }
    let inferred = infer_page_size(bytes);
    if inferred == ps || plausible_pages(bytes, inferred) <= plausible_pages(bytes, ps) {
        return (ps, h.usable_size_bytes());
    }
    diags.push(Diag {
        page_no: Some(PageNo(1)),
        kind: DiagKind::HeaderPageSizeWrong {
            header: ps,
            used: inferred,
        },
    });
    let reserved = u32::from(h.reserved_bytes);
    let usable = inferred.saturating_sub(reserved);
    (inferred, if usable >= 480 { usable } else { inferred })
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
        Self::open_inner(bytes, release, &[])
    }

    /// [`Db::open`] for an image SQLite would read
    /// ([`crate::history::live_image`]): `write_order` gives, per page
    /// (index = page number − 1), the 1-based WAL frame its bytes come
    /// from, 0 for the database file. Of two unreached leaves claiming the
    /// same rowids, the one written later is then kept (see
    /// [`super::conflict`]).
    pub fn open_image(bytes: &'a [u8], write_order: &'a [u32]) -> Self {
        Self::open_inner(bytes, &keep_resident, write_order)
    }

    fn open_inner(
        bytes: &'a [u8],
        release: &'a (dyn Fn(usize, usize) + Sync),
        write_order: &'a [u32],
    ) -> Self {
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
            Some(h) => checked_page_size(bytes, h, &mut diags),
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
            roles: vec![PageRole::Orphan; n_pages as usize],
            diags,
            broken: Vec::new(),
            release,
            freelist_credible: false,
            shadows: Vec::new(),
            write_order,
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
    pub(super) fn release_all(&self) {
        (self.release)(0, self.bytes.len());
    }

    pub(super) fn page_no_ok(&self, p: PageNo) -> bool {
        p.0 >= 1 && p.0 <= self.n_pages
    }

    /// Walks a b-tree from `root`, returning (pages reached, broken?).
    pub(super) fn walk_tree(
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

    /// Every cell of the table leaves among `pages`, with its reassembled
    /// payload and where its overflow chain broke, if it did.
    fn leaf_payloads(&self, pages: &[PageNo], f: &mut dyn FnMut(&[u8], Option<ChainBreak>)) {
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
                let (pl, err) = assemble_payload(self, p, &cell);
                f(&pl, ChainBreak::of(&cell, pl.len(), err));
            }
        }
    }

    fn master_rows_from_pages(&self, pages: &[PageNo], enc: TextEncoding) -> Vec<MasterRow> {
        let mt = master_table();
        let mut rows = Vec::new();
        self.leaf_payloads(pages, &mut |pl, _| {
            let Ok(rec) = Record::parse_header(pl) else {
                return;
            };
            if rec.types.len() != 5 {
                return;
            }
            let vals = crate::carve::to_schema_values(&mt, &rec.values(), None, enc);
            if let Some(r) = master_row(&vals) {
                rows.push(r);
            }
        });
        rows
    }

    /// The `sqlite_master` cells of `pages` whose overflow chain broke (their
    /// rows keep the bytes read; a statement cut short may not parse).
    fn master_chain_breaks(&self, pages: &[PageNo]) -> Vec<ChainBreak> {
        let mut out = Vec::new();
        self.leaf_payloads(pages, &mut |_, b| out.extend(b));
        out
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
        for b in self.master_chain_breaks(&mpages) {
            self.diags.push(Diag {
                page_no: Some(b.page_no),
                kind: DiagKind::OverflowBroken(b),
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
                late_starts: &[],
                full_records: false,
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
}
