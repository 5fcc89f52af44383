//! The rows of one database state, read through the same per-page scanner
//! as salvage ([`crate::scan::scan_page`]): the schema from page 1, then
//! each table's tree, and the deleted cells carved from a page image.
//!
//! A state is consistent (SQLite wrote it as a whole), so the tree is
//! trusted here; damaged files are salvage's business. Every read is
//! bounds-checked and loops are cut, so a bad page costs its rows, never a
//! panic.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rowcodec::sqlite::{OwnedValue, TextEncoding};

use super::view::{PageSrc, View};
use crate::PageNo;
use crate::page::{BtreeKind, BtreePage};
use crate::scan::{Extract, PageRole, RowStatus, ScanCtx, scan_page};
use crate::schema::{Table, parse_create_table};

/// One row as found in one page image.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Rowid (rowid tables).
    pub rowid: Option<i64>,
    /// Values in schema order (the rowid in the INTEGER PRIMARY KEY column).
    pub values: Vec<OwnedValue>,
    /// Page holding the cell.
    pub pgno: u32,
    /// Offset of the cell in the page.
    pub offset: usize,
    /// Where the page image came from.
    pub src: PageSrc,
    /// For a carved cell: where it was carved from (`Deleted` for a
    /// freeblock, `Unallocated` for the gap) and the carver's confidence.
    pub carved: Option<(RowStatus, f32)>,
    /// The cell's overflow chain broke: `values` hold what was read before.
    pub chain_break: Option<crate::cell::ChainBreak>,
}

/// The rows of one leaf page version.
pub type LeafRows = Arc<Vec<Row>>;

/// Rows decoded from one page image, kept across states (a page image that
/// reappears in a later state decodes to the same rows).
pub type LeafCache = HashMap<(u32, PageSrc, String), LeafRows>;

const MAX_DEPTH: u32 = 64;

fn scan_ctx<'v>(view: &'v View<'_>, tables: &'v [Table], enc: TextEncoding) -> ScanCtx<'v> {
    ScanCtx {
        tables,
        enc,
        usable: view.usable as usize,
        src: view,
    }
}

/// Rows of table `tables[table]` in one page image: intact cells, or (with
/// `carved`) the deleted cells carved from its freeblocks and gap.
pub fn page_rows(
    view: &View<'_>,
    tables: &[Table],
    table: usize,
    enc: TextEncoding,
    (pgno, src, page): (u32, PageSrc, &[u8]),
    carved: bool,
) -> Vec<Row> {
    let ctx = scan_ctx(view, tables, enc);
    let what = Extract {
        intact: !carved,
        carved,
    };
    let mut rows = Vec::new();
    scan_page(
        &ctx,
        PageNo(pgno),
        page,
        PageRole::Tree { table },
        what,
        &mut |r| {
            let r = r.to_owned_row();
            rows.push(Row {
                rowid: r.rowid,
                values: r.values,
                pgno,
                offset: r.offset,
                src,
                carved: carved.then_some((r.status, r.confidence)),
                chain_break: r.chain_break,
            });
        },
    );
    rows
}

/// Walks the tree rooted at `tables[table].root` and returns its leaf page
/// versions `(pgno, src)` with their rows (decoded once per version, via
/// `cache`).
pub fn walk_table(
    view: &View<'_>,
    tables: &[Table],
    table: usize,
    enc: TextEncoding,
    cache: &mut LeafCache,
) -> Vec<((u32, PageSrc), LeafRows)> {
    let Some(t) = tables.get(table) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(t.root.0, 0u32)];
    while let Some((pgno, depth)) = stack.pop() {
        if depth > MAX_DEPTH || !seen.insert(pgno) {
            continue;
        }
        let Some((src, page)) = view.page(pgno) else {
            continue;
        };
        let Ok(bp) = BtreePage::parse_lenient(PageNo(pgno), page, view.usable as usize) else {
            continue;
        };
        if !bp.kind.is_leaf() {
            // Push in reverse so the leftmost child is visited first.
            let kids = bp.children();
            stack.extend(kids.iter().rev().map(|k| (k.0, depth.saturating_add(1))));
        }
        // WITHOUT ROWID rows live in index interior cells too.
        if bp.kind.is_leaf() || (t.without_rowid && bp.kind == BtreeKind::InteriorIndex) {
            let rows = cache
                .entry((pgno, src, t.name.clone()))
                .or_insert_with(|| {
                    Arc::new(page_rows(
                        view,
                        tables,
                        table,
                        enc,
                        (pgno, src, page),
                        false,
                    ))
                })
                .clone();
            out.push(((pgno, src), rows));
        }
    }
    out
}

/// Rows of one page image read on its own (a frame or record that belongs to
/// no reconstructible state), attributed to `tables[table]`.
pub fn standalone_rows(
    view: &View<'_>,
    tables: &[Table],
    table: usize,
    enc: TextEncoding,
    page: (u32, PageSrc, &[u8]),
) -> Vec<Row> {
    let without_rowid = tables.get(table).is_some_and(|t| t.without_rowid);
    match BtreePage::parse_lenient(PageNo(page.0), page.2, view.usable as usize) {
        Ok(bp)
            if bp.kind == BtreeKind::LeafTable
                || (without_rowid
                    && matches!(bp.kind, BtreeKind::LeafIndex | BtreeKind::InteriorIndex)) =>
        {
            page_rows(view, tables, table, enc, page, false)
        }
        _ => Vec::new(),
    }
}

/// Reads `sqlite_master` (the table tree rooted at page 1) of a state: its
/// tables with a b-tree (no virtual tables), parsed by
/// [`crate::schema::parse_create_table`].
pub fn schema(view: &View<'_>, enc: TextEncoding) -> Vec<Table> {
    let master = [crate::db::master_table()];
    let leaves = walk_table(view, &master, 0, enc, &mut LeafCache::new());
    let mut tables = Vec::new();
    for r in leaves.iter().flat_map(|(_, rows)| rows.iter()) {
        let Some(m) = crate::db::master_row(&r.values) else {
            continue;
        };
        if m.kind != "table" || m.root.0 == 0 {
            continue;
        }
        if let Some(t) = parse_create_table(&m.name, m.root, &m.sql) {
            tables.push(t);
        }
    }
    tables
}
