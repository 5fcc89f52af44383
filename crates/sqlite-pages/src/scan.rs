//! Row extraction from ONE page: the reusable, pure per-page function.
//!
//! [`table_rows_in_page`] takes a page image (from the main file, a WAL frame
//! or a journal record), its page number, what is known about it
//! ([`PageRole`]) and a [`ScanCtx`] (schema, encoding, usable size, a
//! [`PageSource`] for overflow chains), and pushes [`RecoveredRow`]s to a
//! callback. It never fails: damage just yields fewer rows.

use rowcodec::sqlite::{OwnedValue, Record, SerialType, TextEncoding};

use crate::PageNo;
use crate::carve::{CarveCtx, shape_score, to_schema_values};
use crate::cell::{CellKind, PageSource, assemble_payload, parse_payload_cell};
use crate::page::{BtreeKind, BtreePage};
use crate::schema::Table;

/// Where a recovered row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowStatus {
    /// A cell of a b-tree leaf reached from its table's root.
    Live,
    /// Carved from a freeblock of a b-tree page.
    Deleted,
    /// From a page on the freelist (whole cells or carved).
    Freelist,
    /// Carved from the unallocated gap of a page.
    Unallocated,
    /// A cell of a leaf page no tree or freelist reaches.
    Orphan,
}

impl RowStatus {
    /// Lower-case name used in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Deleted => "deleted",
            Self::Freelist => "freelist",
            Self::Unallocated => "unallocated",
            Self::Orphan => "orphan",
        }
    }
}

/// One recovered row.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredRow {
    /// Index into the table list of the [`ScanCtx`], `None` if no schema matched.
    pub table: Option<usize>,
    /// The rowid, when known.
    pub rowid: Option<i64>,
    /// Values in schema order (or record order when `table` is `None`).
    pub values: Vec<OwnedValue>,
    /// Provenance.
    pub status: RowStatus,
    /// Page number.
    pub page_no: PageNo,
    /// Offset of the cell within the page.
    pub offset: usize,
    /// 1.0 for intact cells; lower for carved ones.
    pub confidence: f32,
    /// The raw record bytes, for rows that match no schema.
    pub raw: Option<Vec<u8>>,
}

/// What the caller knows about the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageRole {
    /// Reached from table `table`'s root: cells are live.
    Tree {
        /// Index into [`ScanCtx::tables`].
        table: usize,
    },
    /// A page of an index or of `sqlite_master`: no table rows.
    NoRows,
    /// A freelist leaf page.
    FreelistLeaf,
    /// A freelist trunk page with this many leaf entries.
    FreelistTrunk {
        /// Leaf count from the trunk header.
        n_leaves: u32,
    },
    /// Not reached by anything; `live_guess` when a table's tree is broken
    /// and its unreached leaves are probably live.
    Orphan {
        /// Report intact cells as live.
        live_guess: bool,
    },
}

/// Which rows to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extract {
    /// Intact cells (live, or freelist/orphan cells).
    pub intact: bool,
    /// Carved cells from free space.
    pub carved: bool,
}

/// Everything a page scan needs besides the page.
pub struct ScanCtx<'a> {
    /// Tables (live and dropped).
    pub tables: &'a [Table],
    /// Text encoding.
    pub enc: TextEncoding,
    /// Usable bytes per page.
    pub usable: usize,
    /// Page source for overflow chains.
    pub src: &'a dyn PageSource,
}

/// Extracts rows from one page. See the module docs.
pub fn table_rows_in_page(
    ctx: &ScanCtx<'_>,
    page_no: PageNo,
    page: &[u8],
    role: PageRole,
    what: Extract,
    out: &mut dyn FnMut(RecoveredRow),
) {
    let page = page.get(..ctx.usable.min(page.len())).unwrap_or(page);
    if let PageRole::FreelistTrunk { n_leaves } = role {
        if what.carved {
            let start = 8usize
                .saturating_add((n_leaves as usize).saturating_mul(4))
                .min(page.len());
            carve_into(
                ctx,
                page_no,
                page,
                None,
                start,
                page.len(),
                false,
                RowStatus::Freelist,
                out,
            );
        }
        return;
    }
    if role == PageRole::NoRows {
        return;
    }
    let Ok(bp) = BtreePage::parse(page_no, page, ctx.usable) else {
        return;
    };
    match bp.kind {
        BtreeKind::LeafTable => {}
        BtreeKind::LeafIndex | BtreeKind::InteriorIndex => {
            if let PageRole::Tree { table } = role
                && what.intact
            {
                without_rowid_rows(ctx, &bp, table, out);
            }
            return;
        }
        _ => return,
    }
    // Intact cells: decode records once.
    let mut intact = Vec::new();
    for off in bp.cell_ptrs() {
        let Ok(cell) = parse_payload_cell(page_no, bp.bytes, off, CellKind::TableLeaf) else {
            continue;
        };
        let (payload, _err) = assemble_payload(ctx.src, page_no, &cell);
        let Ok(rec) = Record::parse_header(&payload) else {
            continue;
        };
        let types = rec.types.clone();
        intact.push((cell.offset, cell.rowid, payload.into_owned(), types));
    }
    let owner = match role {
        PageRole::Tree { table } => Some(table),
        _ => attribute(ctx, &intact),
    };
    let (intact_status, carve_status_fb) = match role {
        PageRole::Tree { .. } => (RowStatus::Live, RowStatus::Deleted),
        PageRole::FreelistLeaf => (RowStatus::Freelist, RowStatus::Freelist),
        PageRole::Orphan { live_guess: true } => (RowStatus::Live, RowStatus::Deleted),
        _ => (RowStatus::Orphan, RowStatus::Orphan),
    };
    if what.intact {
        for (off, rowid, payload, _) in &intact {
            let Ok(rec) = Record::parse_header(payload) else {
                continue;
            };
            let vals = rec.values();
            let (table, values, raw) = match owner.and_then(|i| ctx.tables.get(i).map(|t| (i, t))) {
                Some((i, t)) if rec.types.len() <= t.columns.len() => {
                    (Some(i), to_schema_values(t, &vals, *rowid, ctx.enc), None)
                }
                _ => (
                    None,
                    vals.iter()
                        .map(|v| v.map_or(OwnedValue::Null, |v| v.to_owned_value(ctx.enc)))
                        .collect(),
                    Some(payload.clone()),
                ),
            };
            out(RecoveredRow {
                table,
                rowid: *rowid,
                values,
                status: intact_status,
                page_no,
                offset: *off,
                confidence: 1.0,
                raw,
            });
        }
    }
    if what.carved {
        for (off, size) in bp.freeblocks() {
            carve_into(
                ctx,
                page_no,
                bp.bytes,
                owner,
                off,
                off.saturating_add(size),
                true,
                carve_status_fb,
                out,
            );
        }
        let (gs, ge) = bp.gap();
        let gap_status = if carve_status_fb == RowStatus::Deleted {
            RowStatus::Unallocated
        } else {
            carve_status_fb
        };
        carve_into(
            ctx, page_no, bp.bytes, owner, gs, ge, false, gap_status, out,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn carve_into(
    ctx: &ScanCtx<'_>,
    page_no: PageNo,
    page: &[u8],
    owner: Option<usize>,
    start: usize,
    end: usize,
    clobbered: bool,
    status: RowStatus,
    out: &mut dyn FnMut(RecoveredRow),
) {
    if end <= start.saturating_add(4) {
        return;
    }
    let idx: Vec<usize> = match owner {
        Some(i) => vec![i],
        None => (0..ctx.tables.len())
            .filter(|&i| ctx.tables.get(i).is_some_and(|t| !t.without_rowid))
            .collect(),
    };
    let tabs: Vec<&Table> = idx.iter().filter_map(|&i| ctx.tables.get(i)).collect();
    if tabs.is_empty() {
        return;
    }
    let cc = CarveCtx {
        page,
        page_no,
        tables: &tabs,
        enc: ctx.enc,
        src: ctx.src,
    };
    for c in cc.carve_region(start, end, clobbered) {
        out(RecoveredRow {
            table: idx.get(c.table).copied(),
            rowid: c.rowid,
            values: c.values,
            status,
            page_no,
            offset: c.offset,
            confidence: c.confidence,
            raw: None,
        });
    }
}

/// An intact cell: offset, rowid, payload, serial types.
type IntactCell = (usize, Option<i64>, Vec<u8>, Vec<SerialType>);

/// Picks the table whose shape fits the page's records best (rowid tables only).
fn attribute(ctx: &ScanCtx<'_>, intact: &[IntactCell]) -> Option<usize> {
    let recs: Vec<Vec<SerialType>> = intact.iter().map(|(_, _, _, t)| t.clone()).collect();
    let mut best: Option<(f32, usize)> = None;
    for (i, t) in ctx.tables.iter().enumerate() {
        if t.without_rowid {
            continue;
        }
        let s = shape_score(t, &recs);
        if s >= 0.5 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, i));
        }
    }
    best.map(|(_, i)| i)
}

fn without_rowid_rows(
    ctx: &ScanCtx<'_>,
    bp: &BtreePage<'_>,
    table: usize,
    out: &mut dyn FnMut(RecoveredRow),
) {
    let Some(t) = ctx.tables.get(table) else {
        return;
    };
    let kind = if bp.kind.is_leaf() {
        CellKind::IndexLeaf
    } else {
        CellKind::IndexInterior
    };
    for off in bp.cell_ptrs() {
        let Ok(cell) = parse_payload_cell(bp.page_no, bp.bytes, off, kind) else {
            continue;
        };
        let (payload, _) = assemble_payload(ctx.src, bp.page_no, &cell);
        let Ok(rec) = Record::parse_header(&payload) else {
            continue;
        };
        let vals = rec.values();
        out(RecoveredRow {
            table: Some(table),
            rowid: None,
            values: to_schema_values(t, &vals, None, ctx.enc),
            status: RowStatus::Live,
            page_no: bp.page_no,
            offset: off,
            confidence: 1.0,
            raw: None,
        });
    }
}
