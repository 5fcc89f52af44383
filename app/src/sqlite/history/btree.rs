//! Just enough b-tree reading to list every row of every table in one
//! database *state* (a database file with WAL frames or journal pre-images laid
//! over some of its pages): the schema from page 1, then each table's tree.
//!
//! A state is consistent (SQLite wrote it as a whole), so the tree is trusted
//! here; damaged files are salvage's business. Every read is bounds-checked
//! and loops are cut, so a bad page costs its rows, never a panic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use rowcodec::sqlite::{OwnedValue, Record, TextEncoding, varint};

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
pub type PageMap<'a> = Rc<BTreeMap<u32, (PageSrc, &'a [u8])>>;

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

/// A database state: the file's pages, some replaced. Lookup order: `top`
/// (uncommitted frames), committed WAL frames up to `wal.1`, `over`
/// (journal images), the file.
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
    pub wal: Option<(Rc<WalIndex<'a>>, u32)>,
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
            over: Rc::default(),
            wal: None,
            top: Rc::default(),
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

    /// Page `pgno` and where it comes from.
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

/// A table from `sqlite_master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Root page.
    pub root: u32,
    /// Column names in schema order (empty if the SQL could not be read).
    pub columns: Vec<String>,
    /// Index of the INTEGER PRIMARY KEY column (stored as NULL; holds the rowid).
    pub ipk: Option<usize>,
    /// WITHOUT ROWID (an index b-tree keyed by the primary key).
    pub without_rowid: bool,
    /// Schema indexes of the primary-key columns (WITHOUT ROWID tables).
    pub pk: Vec<usize>,
}

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
}

/// Rows decoded from one page image, kept across states (a page image that
/// reappears in a later state decodes to the same rows).
pub type LeafCache = HashMap<(u32, PageSrc, String), Rc<Vec<Row>>>;

const MAX_DEPTH: u32 = 64;

struct Hdr {
    kind: u8,
    n_cells: usize,
    ptrs_at: usize,
    right: u32,
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes(s.try_into().ok()?)))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

fn header(pgno: u32, page: &[u8]) -> Option<Hdr> {
    let h = if pgno == 1 { 100 } else { 0 };
    let kind = *page.get(h)?;
    let interior = matches!(kind, 0x02 | 0x05);
    if !matches!(kind, 0x02 | 0x05 | 0x0a | 0x0d) {
        return None;
    }
    Some(Hdr {
        kind,
        n_cells: be16(page, h.checked_add(3)?)?,
        ptrs_at: h.checked_add(if interior { 12 } else { 8 })?,
        right: if interior {
            be32(page, h.checked_add(8)?)?
        } else {
            0
        },
    })
}

fn cell_offsets(page: &[u8], h: &Hdr) -> Vec<usize> {
    (0..h.n_cells)
        .filter_map(|i| be16(page, h.ptrs_at.checked_add(i.checked_mul(2)?)?))
        .filter(|&o| o >= h.ptrs_at && o < page.len())
        .collect()
}

/// Local payload bytes (fileformat2 §1.6).
fn local_len(p: u64, usable: u64, table_leaf: bool) -> u64 {
    let x = if table_leaf {
        usable.saturating_sub(35)
    } else {
        (usable.saturating_sub(12) * 64 / 255).saturating_sub(23)
    };
    if p <= x {
        return p;
    }
    let m = (usable.saturating_sub(12) * 32 / 255).saturating_sub(23);
    let k = m.saturating_add(p.saturating_sub(m) % usable.saturating_sub(4).max(1));
    if k <= x { k } else { m }
}

/// Payload starting at `at` in `page`, with its overflow chain read from `view`.
fn payload(
    view: &View<'_>,
    page: &[u8],
    at: usize,
    plen: u64,
    table_leaf: bool,
) -> Option<Vec<u8>> {
    let usable = u64::from(view.usable);
    let local = usize::try_from(local_len(plen, usable, table_leaf)).ok()?;
    let local_end = at.checked_add(local)?;
    let local_bytes = page.get(at..local_end)?;
    let want = usize::try_from(plen).ok()?;
    // A chain visits each existing page at most once, so a payload longer
    // than all of them is corrupt: refuse it before allocating.
    let max_pages = view.last_existing_pgno();
    let room = u64::from(max_pages).saturating_mul(usable.saturating_sub(4));
    if plen > room.saturating_add(local as u64) {
        return None;
    }
    let mut out = Vec::with_capacity(want);
    out.extend_from_slice(local_bytes);
    let mut next = if out.len() < want {
        be32(page, local_end)?
    } else {
        0
    };
    let mut visited = HashSet::new();
    while out.len() < want {
        if next > max_pages || !visited.insert(next) {
            return None;
        }
        let (_, ov) = view.page(next)?;
        let ov = ov.get(..usize::try_from(usable).ok()?)?;
        let take = (want - out.len()).min(ov.len().saturating_sub(4));
        out.extend_from_slice(ov.get(4..4usize.checked_add(take)?)?);
        next = be32(ov, 0)?;
    }
    Some(out)
}

fn decode(rec: &[u8], enc: TextEncoding) -> Option<Vec<OwnedValue>> {
    let r = Record::parse(rec).ok()?;
    r.values()
        .into_iter()
        .map(|v| v.map(|v| v.to_owned_value(enc)))
        .collect()
}

/// Rows in one leaf (or, for WITHOUT ROWID, index interior) page image.
fn page_rows(
    view: &View<'_>,
    t: &Table,
    pgno: u32,
    src: PageSrc,
    page: &[u8],
    enc: TextEncoding,
) -> Vec<Row> {
    let Some(h) = header(pgno, page) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for off in cell_offsets(page, &h) {
        let row = match h.kind {
            0x0d => table_leaf_cell(view, t, page, off, enc),
            0x0a | 0x02 if t.without_rowid => {
                let at = if h.kind == 0x02 {
                    off.saturating_add(4)
                } else {
                    off
                };
                let Some((plen, n)) = page.get(at..).and_then(varint::read) else {
                    continue;
                };
                payload(view, page, at.saturating_add(n), plen, false)
                    .and_then(|p| decode(&p, enc))
                    .map(|v| (None, reorder_without_rowid(t, v)))
            }
            _ => None,
        };
        if let Some((rowid, values)) = row {
            rows.push(Row {
                rowid,
                values,
                pgno,
                offset: off,
                src,
            });
        }
    }
    rows
}

fn table_leaf_cell(
    view: &View<'_>,
    t: &Table,
    page: &[u8],
    off: usize,
    enc: TextEncoding,
) -> Option<(Option<i64>, Vec<OwnedValue>)> {
    let (plen, n1) = varint::read(page.get(off..)?)?;
    let at = off.checked_add(n1)?;
    let (rowid, n2) = varint::read(page.get(at..)?)?;
    let rowid = rowid as i64; // varints are two's complement 64-bit
    let mut values = decode(&payload(view, page, at.checked_add(n2)?, plen, true)?, enc)?;
    if let Some(v) = t.ipk.and_then(|i| values.get_mut(i))
        && *v == OwnedValue::Null
    {
        *v = OwnedValue::Int(rowid);
    }
    // ALTER TABLE ADD COLUMN: older records have fewer fields.
    if values.len() < t.columns.len() {
        values.resize(t.columns.len(), OwnedValue::Null);
    }
    Some((Some(rowid), values))
}

/// WITHOUT ROWID records hold the primary-key columns first, then the others
/// in schema order; put them back in schema order.
fn reorder_without_rowid(t: &Table, rec: Vec<OwnedValue>) -> Vec<OwnedValue> {
    if t.pk.is_empty() || t.columns.len() != rec.len() {
        return rec;
    }
    let mut order: Vec<usize> = t.pk.clone();
    order.extend((0..t.columns.len()).filter(|i| !t.pk.contains(i)));
    let mut out = vec![OwnedValue::Null; rec.len()];
    for (v, &dst) in rec.into_iter().zip(&order) {
        if let Some(slot) = out.get_mut(dst) {
            *slot = v;
        }
    }
    out
}

/// The rows of one leaf page version.
pub type LeafRows = Rc<Vec<Row>>;

/// Walks the tree rooted at `t.root` and returns its leaf page versions
/// `(pgno, src)` with their rows (decoded once per version, via `cache`).
pub fn walk_table(
    view: &View<'_>,
    t: &Table,
    enc: TextEncoding,
    cache: &mut LeafCache,
) -> Vec<((u32, PageSrc), LeafRows)> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(t.root, 0u32)];
    while let Some((pgno, depth)) = stack.pop() {
        if depth > MAX_DEPTH || !seen.insert(pgno) {
            continue;
        }
        let Some((src, page)) = view.page(pgno) else {
            continue;
        };
        let Some(h) = header(pgno, page) else {
            continue;
        };
        let interior = matches!(h.kind, 0x02 | 0x05);
        if interior {
            let mut kids: Vec<u32> = cell_offsets(page, &h)
                .into_iter()
                .filter_map(|o| be32(page, o))
                .collect();
            kids.push(h.right);
            // Push in reverse so the leftmost child is visited first.
            stack.extend(kids.into_iter().rev().map(|k| (k, depth.saturating_add(1))));
        }
        if !interior || (t.without_rowid && h.kind == 0x02) {
            let rows = cache
                .entry((pgno, src, t.name.clone()))
                .or_insert_with(|| Rc::new(page_rows(view, t, pgno, src, page, enc)))
                .clone();
            out.push(((pgno, src), rows));
        }
    }
    out
}

/// Rows of one page image read on its own (a frame or record that belongs to
/// no reconstructible state), attributed to `t`.
pub fn standalone_rows(
    view: &View<'_>,
    t: &Table,
    pgno: u32,
    src: PageSrc,
    page: &[u8],
    enc: TextEncoding,
) -> Vec<Row> {
    match header(pgno, page) {
        Some(h) if h.kind == 0x0d || (t.without_rowid && matches!(h.kind, 0x0a | 0x02)) => {
            page_rows(view, t, pgno, src, page, enc)
        }
        _ => Vec::new(),
    }
}

/// Reads `sqlite_master` (the table tree rooted at page 1) of a state.
pub fn schema(view: &View<'_>, enc: TextEncoding) -> Vec<Table> {
    let master = Table {
        name: "sqlite_master".into(),
        root: 1,
        columns: ["type", "name", "tbl_name", "rootpage", "sql"]
            .map(String::from)
            .to_vec(),
        ipk: None,
        without_rowid: false,
        pk: Vec::new(),
    };
    let leaves = walk_table(view, &master, enc, &mut LeafCache::new());
    let mut tables = Vec::new();
    for r in leaves.iter().flat_map(|(_, rows)| rows.iter()) {
        let text = |i: usize| match r.values.get(i) {
            Some(OwnedValue::Text(s)) => Some(s.clone()),
            _ => None,
        };
        let root = match r.values.get(3) {
            Some(OwnedValue::Int(n)) => u32::try_from(*n).ok(),
            _ => None,
        };
        let (Some(kind), Some(name), Some(root), Some(sql)) = (text(0), text(1), root, text(4))
        else {
            continue;
        };
        if kind != "table" || root == 0 {
            continue;
        }
        let cols = crate::sqlite::history::sql::columns(&sql);
        tables.push(Table {
            name,
            root,
            columns: cols.names,
            ipk: cols.ipk,
            without_rowid: cols.without_rowid,
            pk: cols.pk,
        });
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_payload_thresholds() {
        // U = 4096: X = 4061 for table leaves.
        assert_eq!(local_len(4061, 4096, true), 4061);
        // M = (4084*32/255)-23 = 489; K = 489 + (5000-489) % 4092 = 908.
        assert_eq!(local_len(5000, 4096, true), 908);
    }

    #[test]
    fn reorder_puts_pk_back() {
        let t = Table {
            name: "kv".into(),
            root: 2,
            columns: vec!["v".into(), "k".into()],
            ipk: None,
            without_rowid: true,
            pk: vec![1],
        };
        let rec = vec![OwnedValue::Text("key".into()), OwnedValue::Int(5)];
        assert_eq!(
            reorder_without_rowid(&t, rec),
            vec![OwnedValue::Int(5), OwnedValue::Text("key".into())]
        );
    }
}
