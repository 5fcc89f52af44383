//! Row extraction from ONE page: the reusable, pure per-page function.
//!
//! [`table_rows_in_page`] takes a page image (from the main file, a WAL frame
//! or a journal record), its page number, what is known about it
//! ([`PageRole`]) and a [`ScanCtx`] (schema, encoding, usable size, a
//! [`PageSource`] for overflow chains), and pushes [`RecoveredRow`]s to a
//! callback. It never fails: damage just yields fewer rows.

use rowcodec::sqlite::{OwnedValue, Record, SerialType, TextEncoding, Value, recycle};

use crate::PageNo;
use crate::carve::{CarveCtx, schema_values_into, shape_score, to_schema_values};
use crate::cell::{
    CellKind, ChainBreak, PageSource, assemble_live_payload, assemble_payload, parse_payload_cell,
    sound_cells,
};
pub use crate::infer::infer_rowids;
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
    /// A cell of a leaf page no tree or freelist reaches, that is not
    /// shown to be live (its table's tree is whole, or its rowids collide
    /// with live ones).
    Orphan,
    /// A cell of a leaf page no tree reaches whose rowids another leaf of
    /// its table claims, and the evidence chose the other
    /// ([`crate::db::RowidConflict`]).
    Conflict,
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
            Self::Conflict => "conflict",
        }
    }

    /// [`RowStatus::name`], with the suffix `-partial` for a row some of
    /// whose columns were lost (`deleted-partial`, `unallocated-partial`,
    /// `freelist-partial`, `orphan-partial`, `conflict-partial`).
    pub fn label(self, partial: bool) -> &'static str {
        match (self, partial) {
            (s, false) => s.name(),
            (Self::Live, true) => "live-partial",
            (Self::Deleted, true) => "deleted-partial",
            (Self::Freelist, true) => "freelist-partial",
            (Self::Unallocated, true) => "unallocated-partial",
            (Self::Orphan, true) => "orphan-partial",
            (Self::Conflict, true) => "conflict-partial",
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
    /// The rowid was lost with the cell's first bytes and inferred from the
    /// rowids of the live cells stored physically around it (see
    /// [`infer_rowids`]).
    pub rowid_inferred: bool,
    /// The cell's overflow chain broke: `values` hold what was read before.
    pub chain_break: Option<ChainBreak>,
    /// `false` for a live row of a page no interior page of its table's
    /// tree reaches (a forged or broken pointer; see
    /// [`PageRole::Unreached`]).
    pub reachable: bool,
    /// Schema columns lost to later writes over a carved cell (bit `i` =
    /// column `i`, value `Null`): a partial row; 0 when complete.
    pub lost: u64,
}

/// A recovered row whose values borrow the page (or its reassembled
/// payload): what [`scan_page`] hands out, with no copy per row.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'r> {
    /// As [`RecoveredRow::table`].
    pub table: Option<usize>,
    /// The rowid, when known.
    pub rowid: Option<i64>,
    /// Values in schema order (or record order when `table` is `None`).
    pub values: &'r [Value<'r>],
    /// Encoding of the text values' bytes.
    pub enc: TextEncoding,
    /// Provenance.
    pub status: RowStatus,
    /// Page number.
    pub page_no: PageNo,
    /// Offset of the cell within the page.
    pub offset: usize,
    /// 1.0 for intact cells; lower for carved ones.
    pub confidence: f32,
    /// The raw record bytes, for rows that match no schema.
    pub raw: Option<&'r [u8]>,
    /// As [`RecoveredRow::rowid_inferred`].
    pub rowid_inferred: bool,
    /// As [`RecoveredRow::chain_break`].
    pub chain_break: Option<ChainBreak>,
    /// As [`RecoveredRow::reachable`].
    pub reachable: bool,
    /// As [`RecoveredRow::lost`].
    pub lost: u64,
}

impl RowRef<'_> {
    /// The status as outputs name it ([`RowStatus::label`]).
    pub fn status_label(&self) -> &'static str {
        self.status.label(self.lost != 0)
    }
}

impl RowRef<'_> {
    /// Copies the row out.
    pub fn to_owned_row(&self) -> RecoveredRow {
        RecoveredRow {
            table: self.table,
            rowid: self.rowid,
            values: self
                .values
                .iter()
                .map(|v| v.to_owned_value(self.enc))
                .collect(),
            status: self.status,
            page_no: self.page_no,
            offset: self.offset,
            confidence: self.confidence,
            raw: self.raw.map(<[u8]>::to_vec),
            rowid_inferred: self.rowid_inferred,
            chain_break: self.chain_break,
            reachable: self.reachable,
            lost: self.lost,
        }
    }
}

impl RecoveredRow {
    /// Calls `f` with a borrowed view of this row (text as UTF-8).
    pub fn with_ref<R>(&self, f: impl FnOnce(&RowRef<'_>) -> R) -> R {
        let values: Vec<Value<'_>> = self.values.iter().map(OwnedValue::as_value).collect();
        f(&RowRef {
            table: self.table,
            rowid: self.rowid,
            values: &values,
            enc: TextEncoding::Utf8,
            status: self.status,
            page_no: self.page_no,
            offset: self.offset,
            confidence: self.confidence,
            raw: self.raw.as_deref(),
            rowid_inferred: self.rowid_inferred,
            chain_break: self.chain_break,
            reachable: self.reachable,
            lost: self.lost,
        })
    }
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
    /// A well-formed leaf of table `table` that its tree does not reach
    /// because a pointer is broken or forged, lying in the rowid range the
    /// broken pointer should have covered: its cells are live, reported
    /// with `reachable: false`.
    Unreached {
        /// Index into [`ScanCtx::tables`].
        table: usize,
    },
    /// A leaf of table `table` no tree reaches whose rowids another leaf
    /// of the table claims, where the evidence chose the other: its cells
    /// are reported with status `conflict`.
    Conflict {
        /// Index into [`ScanCtx::tables`].
        table: usize,
    },
    /// Not reached by anything and not shown to be live.
    Orphan,
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

/// Extracts rows from one page as owned rows. See the module docs.
pub fn table_rows_in_page(
    ctx: &ScanCtx<'_>,
    page_no: PageNo,
    page: &[u8],
    role: PageRole,
    what: Extract,
    out: &mut dyn FnMut(RecoveredRow),
) {
    scan_page(ctx, page_no, page, role, what, &mut |r| {
        out(r.to_owned_row())
    });
}

/// Extracts rows from one page as borrowed views (no copy per live row);
/// the rows of [`table_rows_in_page`], in the same order.
pub fn scan_page(
    ctx: &ScanCtx<'_>,
    page_no: PageNo,
    page: &[u8],
    role: PageRole,
    what: Extract,
    emit: &mut dyn FnMut(&RowRef<'_>),
) {
    let page = page.get(..ctx.usable.min(page.len())).unwrap_or(page);
    // The hot path (every live leaf of an intact tree): stream the cells.
    if what.intact
        && !what.carved
        && let PageRole::Tree { table } | PageRole::Unreached { table } = role
        && let Ok(bp) = BtreePage::parse_lenient(page_no, page, ctx.usable)
        && bp.kind == BtreeKind::LeafTable
    {
        live_cells(ctx, &bp, table, role == PageRole::Tree { table }, emit);
        return;
    }
    let out = &mut |r: RecoveredRow| r.with_ref(|r| emit(r));
    if let PageRole::FreelistTrunk { n_leaves } = role {
        if what.carved {
            let mut carved = Vec::new();
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
                (&[], &[]),
                &mut carved,
            );
            for (r, _) in carved {
                out(r);
            }
        }
        return;
    }
    if role == PageRole::NoRows {
        return;
    }
    let Ok(bp) = BtreePage::parse_lenient(page_no, page, ctx.usable) else {
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
    // A live page with no freeblock and an all-zero gap has nothing to carve
    // (most pages of a database): skip decoding its cells.
    if !what.intact && is_owned(role) && bp.first_freeblock == 0 && {
        let (gs, ge) = bp.gap();
        bp.bytes
            .get(gs..ge)
            .is_none_or(|g| g.iter().all(|&b| b == 0))
    } {
        return;
    }
    table_leaf_rows(ctx, &bp, role, what, out);
}

/// The intact cells of a table leaf, decoded once: per cell (offset, rowid,
/// payload, serial types, cell length), where its overflow chain broke, and
/// the first serial-type codes (a prior for carving).
struct Intact {
    cells: Vec<IntactCell>,
    breaks: Vec<Option<ChainBreak>>,
    col0: Vec<u64>,
}

/// Decodes the intact cells of a table leaf; with `spans_only` (carving a
/// page whose owner is known) only their spans, rowids and first codes.
/// The cells of a live table leaf that rows come from: its sound cells, less
/// a cell whose record does not fill its payload (not
/// `record_consistent`) and whose rowid lies outside the rowids of the
/// page's consistent cells. A leaf holds one contiguous rowid range, so such
/// a cell is forged or misread (a cell header overwritten, a pointer into
/// another cell): its row would be made up, and its rowid another leaf's.
fn row_cells<'p>(bp: &BtreePage<'p>) -> Vec<crate::cell::PayloadCell<'p>> {
    let cells = sound_cells(bp, CellKind::TableLeaf);
    let ok: Vec<bool> = cells.iter().map(crate::cell::record_consistent).collect();
    let ids = || {
        cells
            .iter()
            .zip(&ok)
            .filter(|(_, ok)| **ok)
            .filter_map(|(c, _)| c.rowid)
    };
    let (Some(min), Some(max)) = (ids().min(), ids().max()) else {
        return cells;
    };
    cells
        .into_iter()
        .zip(ok)
        .filter(|(c, ok)| *ok || c.rowid.is_none_or(|id| (min..=max).contains(&id)))
        .map(|(c, _)| c)
        .collect()
}

fn intact_cells(ctx: &ScanCtx<'_>, bp: &BtreePage<'_>, spans_only: bool, live: bool) -> Intact {
    let page_no = bp.page_no;
    let mut intact = Vec::new();
    // Per intact cell (when decoded): where its overflow chain broke.
    let mut breaks: Vec<Option<ChainBreak>> = Vec::new();
    // First serial-type codes of intact records (a prior for carving).
    let mut col0: Vec<u64> = Vec::new();
    let cells = if live {
        row_cells(bp)
    } else {
        sound_cells(bp, CellKind::TableLeaf)
    };
    for cell in cells {
        if spans_only {
            if let Some(code) = first_serial_code(cell.local) {
                col0.push(code);
            }
            intact.push((
                cell.offset,
                cell.rowid,
                Vec::new(),
                Vec::new(),
                cell.cell_len,
            ));
            continue;
        }
        let (payload, err) = if live {
            assemble_live_payload(ctx.src, page_no, &cell)
        } else {
            assemble_payload(ctx.src, page_no, &cell)
        };
        let chain_break = ChainBreak::of(&cell, payload.len(), err);
        let Ok(rec) = Record::parse_header(&payload) else {
            continue;
        };
        if rec.record_len() > cell.payload_len {
            continue;
        }
        let types = rec.types.clone();
        if let Some(t) = types.first() {
            col0.push(t.code());
        }
        breaks.push(chain_break);
        intact.push((
            cell.offset,
            cell.rowid,
            payload.into_owned(),
            types,
            cell.cell_len,
        ));
    }
    Intact {
        cells: intact,
        breaks,
        col0,
    }
}

/// Rows of a table leaf: its intact cells (when asked) and the cells carved
/// from its freeblocks and gap (when asked).
fn table_leaf_rows(
    ctx: &ScanCtx<'_>,
    bp: &BtreePage<'_>,
    role: PageRole,
    what: Extract,
    out: &mut dyn FnMut(RecoveredRow),
) {
    let page_no = bp.page_no;
    // Carving a page whose owner is known needs only the cells' spans and rowids.
    let spans_only = !what.intact && is_owned(role);
    let Intact {
        cells: intact,
        breaks,
        col0,
    } = intact_cells(ctx, bp, spans_only, is_owned(role));
    let owner = match role {
        PageRole::Tree { table } | PageRole::Unreached { table } | PageRole::Conflict { table } => {
            Some(table)
        }
        _ => attribute(ctx, &intact),
    };
    let (intact_status, carve_status_fb) = match role {
        PageRole::Tree { .. } | PageRole::Unreached { .. } => (RowStatus::Live, RowStatus::Deleted),
        PageRole::FreelistLeaf => (RowStatus::Freelist, RowStatus::Freelist),
        PageRole::Conflict { .. } => (RowStatus::Conflict, RowStatus::Orphan),
        _ => (RowStatus::Orphan, RowStatus::Orphan),
    };
    let reachable = !matches!(role, PageRole::Unreached { .. });
    if what.intact {
        for (i, (off, rowid, payload, _, _)) in intact.iter().enumerate() {
            let Ok(rec) = Record::parse_header(payload) else {
                continue;
            };
            let chain_break = breaks.get(i).copied().flatten();
            let vals = values_of(&rec, chain_break.is_some());
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
                rowid_inferred: false,
                chain_break,
                reachable,
                lost: 0,
            });
        }
    }
    if what.carved {
        carve_leaf(ctx, bp, owner, carve_status_fb, &intact, &col0, out);
    }
}

/// The cells carved from a table leaf's freeblocks (`carve_status_fb`) and gap,
/// with rowids inferred from the intact cells around them.
fn carve_leaf(
    ctx: &ScanCtx<'_>,
    bp: &BtreePage<'_>,
    owner: Option<usize>,
    carve_status_fb: RowStatus,
    intact: &[IntactCell],
    col0: &[u64],
    out: &mut dyn FnMut(RecoveredRow),
) {
    let page_no = bp.page_no;
    let mut carved = Vec::new();
    let spans: Vec<(usize, usize, Option<i64>)> = intact
        .iter()
        .map(|(o, r, _, _, len)| (*o, o.saturating_add(*len), *r))
        .collect();
    let late = late_starts(&spans);
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
            (col0, &late),
            &mut carved,
        );
    }
    // Free space the freeblock chain does not account for (a chain that
    // loops, ends early or lies about sizes): carved all the same.
    for (start, end) in unaccounted(bp, intact) {
        carve_into(
            ctx,
            page_no,
            bp.bytes,
            owner,
            start,
            end,
            true,
            carve_status_fb,
            (col0, &late),
            &mut carved,
        );
    }
    let (gs, ge) = bp.gap();
    let gap_status = if carve_status_fb == RowStatus::Deleted {
        RowStatus::Unallocated
    } else {
        carve_status_fb
    };
    carve_into(
        ctx,
        page_no,
        bp.bytes,
        owner,
        gs,
        ge,
        false,
        gap_status,
        (col0, &late),
        &mut carved,
    );
    infer_rowids(ctx, &spans, &mut carved);
    for (r, _) in carved {
        out(r);
    }
}

/// The parts of a leaf's content area (past the gap) that neither an
/// intact cell nor the freeblock chain covers, of at least 5 bytes (less
/// is a fragment): empty on a page whose chain is whole.
fn unaccounted(bp: &BtreePage<'_>, intact: &[IntactCell]) -> Vec<(usize, usize)> {
    let mut used: Vec<(usize, usize)> = intact
        .iter()
        .map(|(o, _, _, _, len)| (*o, o.saturating_add(*len)))
        .chain(
            bp.freeblocks()
                .into_iter()
                .map(|(o, n)| (o, o.saturating_add(n))),
        )
        .collect();
    used.sort_unstable();
    let mut out = Vec::new();
    let mut at = bp.gap().1;
    for (start, end) in used.into_iter().chain([(bp.bytes.len(), bp.bytes.len())]) {
        if start > at && start - at >= 5 {
            out.push((at, start));
        }
        at = at.max(end);
    }
    out
}

/// The values of an intact cell's record; with a broken overflow chain,
/// the bytes read of a cut text or blob too.
fn values_of<'r>(rec: &Record<'r>, chain_broken: bool) -> Vec<Option<Value<'r>>> {
    if !chain_broken {
        return rec.values();
    }
    let mut v = Vec::with_capacity(rec.types.len());
    rec.values_partial_into(&mut v);
    v
}

/// Every cell of a table leaf reached from `table`'s root, as live rows,
/// decoded into buffers reused from cell to cell.
fn live_cells(
    ctx: &ScanCtx<'_>,
    bp: &BtreePage<'_>,
    table: usize,
    reachable: bool,
    emit: &mut dyn FnMut(&RowRef<'_>),
) {
    let t = ctx.tables.get(table);
    let mut types: Vec<SerialType> = Vec::new();
    let mut vals_buf: Vec<Option<Value<'static>>> = Vec::new();
    let mut row_buf: Vec<Value<'static>> = Vec::new();
    // Rowids emitted from this page: a forged cell repeating one is skipped
    // (each rowid is live once; rowids ascend, so the check is rare).
    let mut seen: Vec<i64> = Vec::new();
    let mut max_seen: Option<i64> = None;
    for cell in row_cells(bp) {
        if let Some(id) = cell.rowid {
            if max_seen.is_some_and(|m| id <= m) && seen.contains(&id) {
                continue;
            }
            seen.push(id);
            max_seen = max_seen.max(Some(id));
        }
        let off = cell.offset;
        let (payload, err) = assemble_live_payload(ctx.src, bp.page_no, &cell);
        let chain_break = ChainBreak::of(&cell, payload.len(), err);
        let rec = match Record::parse_header_reusing(&payload, std::mem::take(&mut types)) {
            Ok(r) if r.record_len() <= cell.payload_len => r,
            Ok(r) => {
                // Serial types that claim more bytes than the cell holds:
                // its values cannot be placed.
                types = r.types;
                continue;
            }
            Err(_) => continue,
        };
        let mut vals = recycle(std::mem::take(&mut vals_buf));
        if chain_break.is_some() {
            rec.values_partial_into(&mut vals);
        } else {
            rec.values_into(&mut vals);
        }
        let mut row = recycle(std::mem::take(&mut row_buf));
        let fits = t.filter(|t| rec.types.len() <= t.columns.len());
        match fits {
            Some(t) => schema_values_into(t, &vals, cell.rowid, &mut row),
            None => row.extend(vals.iter().map(|v| v.unwrap_or(Value::Null))),
        }
        emit(&RowRef {
            table: fits.map(|_| table),
            rowid: cell.rowid,
            values: &row,
            enc: ctx.enc,
            status: RowStatus::Live,
            page_no: bp.page_no,
            offset: off,
            confidence: 1.0,
            raw: fits.is_none().then_some(payload.as_ref()),
            rowid_inferred: false,
            chain_break,
            reachable,
            lost: 0,
        });
        types = rec.types;
        vals_buf = recycle(vals);
        row_buf = recycle(row);
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
    (col0, late): (&[u64], &[usize]),
    out: &mut Vec<(RecoveredRow, usize)>,
) {
    if end <= start.saturating_add(4) {
        return;
    }
    let idx: Vec<usize> = match owner {
        Some(i) => vec![i],
        None => (0..ctx.tables.len())
            .filter(|&i| {
                ctx.tables
                    .get(i)
                    .is_some_and(|t| !t.without_rowid && t.module.is_none())
            })
            .collect(),
    };
    let tabs: Vec<&Table> = idx.iter().filter_map(|&i| ctx.tables.get(i)).collect();
    if tabs.is_empty() {
        return;
    }
    // Intact cells only say something about the page's owner (index 0 here).
    let mut codes: Vec<(usize, u64)> = match owner {
        Some(_) => col0.iter().map(|&c| (0, c)).collect(),
        None => Vec::new(),
    };
    codes.sort_unstable();
    codes.dedup();
    let cc = CarveCtx {
        page,
        page_no,
        tables: &tabs,
        enc: ctx.enc,
        src: ctx.src,
        col0_codes: &codes,
        late_starts: late,
        full_records: owner.is_none(),
    };
    for c in cc.carve_region(start, end, clobbered) {
        out.push((
            RecoveredRow {
                table: idx.get(c.table).copied(),
                rowid: c.rowid,
                values: c.values,
                status,
                page_no,
                offset: c.offset,
                confidence: c.confidence,
                raw: None,
                rowid_inferred: false,
                chain_break: None,
                reachable: true,
                lost: c.lost,
            },
            c.end,
        ));
    }
}

/// Offsets of intact cells whose rowid exceeds that of the intact cell
/// physically just below them: written after it (cells are laid out from
/// the page end down in the order they are written), so into space freed
/// before.
fn late_starts(intact: &[(usize, usize, Option<i64>)]) -> Vec<usize> {
    let mut by_off: Vec<(usize, i64)> = intact
        .iter()
        .filter_map(|&(o, _, r)| Some((o, r?)))
        .collect();
    by_off.sort_unstable();
    by_off
        .windows(2)
        .filter_map(|w| match w {
            [(_, below), (o, r)] if r > below => Some(*o),
            _ => None,
        })
        .collect()
}

/// The first serial-type code of the record at the start of `local` (a
/// cell's local payload), read without decoding the rest.
fn first_serial_code(local: &[u8]) -> Option<u64> {
    let (hdr_len, n) = rowcodec::sqlite::varint::read(local)?;
    if hdr_len <= n as u64 {
        return None;
    }
    rowcodec::sqlite::varint::read(local.get(n..)?).map(|(c, _)| c)
}

/// An intact cell: offset, rowid, payload, serial types, cell length.
type IntactCell = (usize, Option<i64>, Vec<u8>, Vec<SerialType>, usize);

/// Picks the table whose shape fits the page's records best (rowid tables only).
fn attribute(ctx: &ScanCtx<'_>, intact: &[IntactCell]) -> Option<usize> {
    let recs: Vec<Vec<SerialType>> = intact.iter().map(|(_, _, _, t, _)| t.clone()).collect();
    let mut best: Option<(f32, usize)> = None;
    for (i, t) in ctx.tables.iter().enumerate() {
        if t.without_rowid || t.module.is_some() {
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
        let (payload, err) = assemble_payload(ctx.src, bp.page_no, &cell);
        let chain_break = ChainBreak::of(&cell, payload.len(), err);
        let Ok(rec) = Record::parse_header(&payload) else {
            continue;
        };
        let vals = values_of(&rec, chain_break.is_some());
        out(RecoveredRow {
            table: Some(table),
            rowid: None,
            values: to_schema_values(t, &vals, None, ctx.enc),
            status: RowStatus::Live,
            page_no: bp.page_no,
            offset: off,
            confidence: 1.0,
            raw: None,
            rowid_inferred: false,
            chain_break,
            reachable: true,
            lost: 0,
        });
    }
}

/// A page whose owner table is known (reached or shown to be its).
fn is_owned(role: PageRole) -> bool {
    matches!(role, PageRole::Tree { .. } | PageRole::Unreached { .. })
}
