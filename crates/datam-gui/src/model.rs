//! What the UI holds of an opened file: tables, recovered rows (compact:
//! see [`crate::rows`]), counts per status, and the grid's current view
//! (filter and sort as a list of row indices).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::rows::{RowChunk, RowHead, Rows, ValueRef};

/// Row statuses, in display order (SQLite salvage statuses first, then the
/// statuses of row versions from side files).
pub const STATUSES: [&str; 14] = [
    "live",
    "deleted",
    "freelist",
    "unallocated",
    "orphan",
    "conflict",
    "wal-old",
    "wal-uncommitted",
    "wal-deleted",
    "journal",
    "journal-deleted",
    "db-old",
    "db-uncommitted",
    "unknown",
];

/// Index into [`STATUSES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(pub u8);

impl Status {
    /// The status with this name (names not in [`STATUSES`] map to `unknown`).
    pub fn from_name(name: &str) -> Self {
        let unknown = STATUSES.len() - 1;
        let i = STATUSES.iter().position(|s| *s == name).unwrap_or(unknown);
        Self(u8::try_from(i).unwrap_or(u8::MAX))
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        STATUSES.get(usize::from(self.0)).copied().unwrap_or("?")
    }

    /// Whether the row is an older version from a `-wal` / `-journal` (its
    /// page and offset are those of the side file's page image).
    pub fn is_side_file(self) -> bool {
        (5..12).contains(&self.0)
    }

    /// Whether the row was recovered (anything but a live row).
    pub fn is_recovered(self) -> bool {
        self.0 != 0
    }
}

/// A typed value of a recovered row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// Integer.
    Int(i64),
    /// Real.
    Real(f64),
    /// Text (UTF-8).
    Text(Box<str>),
    /// BLOB.
    Blob(Box<[u8]>),
}

impl Value {
    /// The storage class name (`integer`, `text` ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Int(_) => "integer",
            Self::Real(_) => "real",
            Self::Text(_) => "text",
            Self::Blob(_) => "blob",
        }
    }

    /// Appends the value as the grid shows it (BLOBs as `X'..'`, at most 64 bytes).
    pub fn write_display(&self, out: &mut String) {
        ValueRef::from(self).write_display(out);
    }

    /// The display text.
    pub fn display(&self) -> String {
        let mut s = String::new();
        self.write_display(&mut s);
        s
    }
}

/// Appends a BLOB as the grid shows it: `X'..'`, at most 64 bytes.
pub fn write_blob_display(b: &[u8], out: &mut String) {
    out.push_str("X'");
    for x in b.iter().take(64) {
        let _ = write!(out, "{x:02X}");
    }
    if b.len() > 64 {
        out.push('…');
    }
    out.push('\'');
}

/// Where a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// 1-based page number in the database file.
    pub page_no: u32,
    /// Offset of the cell in the page.
    pub offset: u32,
}

/// One recovered row, decoded (the store keeps rows encoded in
/// [`Rows`]; a `Row` is made for a row on screen, selected or exported).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index into [`Store::tables`], `None` for rows no schema matched.
    pub table: Option<u32>,
    /// Live, deleted, freelist ...
    pub status: Status,
    /// File position.
    pub at: Provenance,
    /// The rowid, when known.
    pub rowid: Option<i64>,
    /// 1.0 for intact cells, lower for carved ones.
    pub confidence: f32,
    /// Values in schema order.
    pub values: Box<[Value]>,
}

/// A table of the opened database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Column names in schema order.
    pub columns: Vec<String>,
    /// Root page.
    pub root: u32,
    /// Carved from `sqlite_master`'s free space.
    pub dropped: bool,
}

/// Every row of the opened file, grouped by table, with counts per status.
#[derive(Debug, Default)]
pub struct Store {
    /// Tables in schema order.
    pub tables: Vec<TableInfo>,
    /// All rows, in arrival order.
    pub rows: Rows,
    /// Row indices per table (`tables.len()` = unattributed rows).
    pub by_table: Vec<Vec<u32>>,
    /// Rows per (table index, status).
    pub counts: BTreeMap<(u32, Status), u64>,
}

impl Store {
    /// Starts a store for these tables.
    pub fn new(tables: Vec<TableInfo>) -> Self {
        let n = tables.len();
        Self {
            tables,
            rows: Rows::default(),
            by_table: vec![Vec::new(); n + 1],
            counts: BTreeMap::new(),
        }
    }

    /// The table slot of a row (`tables.len()` for unattributed rows).
    pub fn slot(&self, row: &RowHead) -> u32 {
        let unattributed = u32::try_from(self.tables.len()).unwrap_or(u32::MAX);
        row.table.unwrap_or(unattributed)
    }

    /// Adds a chunk of rows; returns the index of its first row.
    pub fn push_chunk(&mut self, chunk: RowChunk) -> usize {
        let first = self.rows.len();
        let Ok(end) = u32::try_from(first.saturating_add(chunk.len())) else {
            return first; // more than 4 billion rows: keep what fits
        };
        for (idx, j) in (u32::try_from(first).unwrap_or(end)..end).zip(0..) {
            let Some(h) = chunk.head(j) else {
                break;
            };
            let slot = self.slot(&h);
            if let Some(list) = self.by_table.get_mut(slot as usize) {
                list.push(idx);
            }
            *self.counts.entry((slot, h.status)).or_insert(0) += 1;
        }
        self.rows.push_chunk(chunk);
        first
    }

    /// Adds owned rows (tests, small inputs); returns the index of the first one.
    pub fn push_rows(&mut self, rows: &[Row]) -> usize {
        let mut chunk = RowChunk::new();
        for r in rows {
            if !chunk.push_row(r) {
                let full = std::mem::take(&mut chunk);
                self.push_chunk(full);
                chunk.push_row(r);
            }
        }
        let first = self.rows.len();
        self.push_chunk(chunk);
        first
    }

    /// Heap bytes held by the rows and the per-table indices.
    pub fn heap_bytes(&self) -> usize {
        self.rows.heap_bytes()
            + self
                .by_table
                .iter()
                .map(|l| l.capacity() * std::mem::size_of::<u32>())
                .sum::<usize>()
    }

    /// Rows of table slot `t` with status `s`.
    pub fn count(&self, t: u32, s: Status) -> u64 {
        self.counts.get(&(t, s)).copied().unwrap_or(0)
    }

    /// The name of table slot `t`.
    pub fn table_name(&self, t: u32) -> &str {
        self.tables
            .get(t as usize)
            .map_or("(unattributed)", |t| t.name.as_str())
    }

    /// Column names of table slot `t` (record fields `c0..` for unattributed rows).
    pub fn columns(&self, t: u32) -> Vec<String> {
        match self.tables.get(t as usize) {
            Some(t) => t.columns.clone(),
            None => {
                let n = self
                    .by_table
                    .get(t as usize)
                    .and_then(|l| l.first())
                    .map_or(0, |&i| self.rows.values(i as usize).count());
                (0..n).map(|i| format!("c{i}")).collect()
            }
        }
    }
}

/// What the grid sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Arrival (page) order.
    Arrival,
    /// Status.
    Status,
    /// Page, then offset.
    Page,
    /// Rowid.
    Rowid,
    /// Value column `n`.
    Column(usize),
}

/// Filter of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Shown statuses (`true` = shown), indexed like [`STATUSES`].
    pub statuses: [bool; STATUSES.len()],
    /// Case-insensitive text every shown row contains in some value.
    pub text: String,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            statuses: [true; STATUSES.len()],
            text: String::new(),
        }
    }
}

impl Filter {
    /// Whether the row with header `head` and values `values` passes.
    pub fn accepts<'v>(
        &self,
        head: &RowHead,
        values: impl IntoIterator<Item = ValueRef<'v>>,
        scratch: &mut String,
    ) -> bool {
        if !self
            .statuses
            .get(usize::from(head.status.0))
            .copied()
            .unwrap_or(true)
        {
            return false;
        }
        if self.text.is_empty() {
            return true;
        }
        let needle = self.text.to_lowercase();
        values.into_iter().any(|v| {
            scratch.clear();
            v.write_display(scratch);
            scratch.to_lowercase().contains(&needle)
        })
    }

    /// Whether row `i` of `rows` passes.
    pub fn accepts_row(&self, rows: &Rows, i: u32, scratch: &mut String) -> bool {
        rows.head(i as usize)
            .is_some_and(|h| self.accepts(&h, rows.values(i as usize), scratch))
    }
}

/// The grid's rows: indices into [`Store::rows`] for one table, filtered and sorted.
#[derive(Debug)]
pub struct View {
    /// The table slot shown.
    pub table: u32,
    /// Row indices in display order.
    pub rows: Vec<u32>,
    /// How many of the table's rows were looked at (new ones are appended).
    pub seen: usize,
    /// The filter in force.
    pub filter: Filter,
    /// The sort in force, and whether it is descending.
    pub sort: (SortKey, bool),
    /// Rows arrived after the last sort (appended unsorted until re-sorted).
    pub unsorted_tail: bool,
}

impl View {
    /// An unfiltered view of table slot `table`.
    pub fn new(table: u32) -> Self {
        Self {
            table,
            rows: Vec::new(),
            seen: 0,
            filter: Filter::default(),
            sort: (SortKey::Arrival, false),
            unsorted_tail: false,
        }
    }

    /// Takes in the table's rows that arrived since the last call.
    pub fn extend(&mut self, store: &Store) {
        let Some(all) = store.by_table.get(self.table as usize) else {
            return;
        };
        let mut scratch = String::new();
        let new = all.get(self.seen..).unwrap_or_default();
        let before = self.rows.len();
        self.rows.extend(
            new.iter()
                .copied()
                .filter(|&i| self.filter.accepts_row(&store.rows, i, &mut scratch)),
        );
        self.seen = all.len();
        if self.rows.len() > before && self.sort.0 != SortKey::Arrival {
            self.unsorted_tail = true;
        }
    }

    /// Recomputes the rows from scratch (after a filter change) and sorts them.
    pub fn rebuild(&mut self, store: &Store) {
        self.rows.clear();
        self.seen = 0;
        self.extend(store);
        self.apply_sort(store);
    }

    /// Sorts the rows by the current key (ties keep arrival order). The
    /// keys are taken out of the compact rows once (borrowed values, no
    /// copies of text), then sorted.
    pub fn apply_sort(&mut self, store: &Store) {
        let (key, desc) = self.sort;
        let rows = &store.rows;
        let head = |i: u32| rows.head(i as usize);
        match key {
            SortKey::Arrival => sort_keyed(&mut self.rows, desc, |_| (), |_, _| Ordering::Equal),
            SortKey::Status => sort_keyed(
                &mut self.rows,
                desc,
                |i| head(i).map(|h| h.status),
                Ord::cmp,
            ),
            SortKey::Page => sort_keyed(
                &mut self.rows,
                desc,
                |i| head(i).map(|h| (h.at.page_no, h.at.offset)),
                Ord::cmp,
            ),
            SortKey::Rowid => sort_keyed(
                &mut self.rows,
                desc,
                |i| head(i).and_then(|h| h.rowid),
                Ord::cmp,
            ),
            SortKey::Column(c) => sort_keyed(
                &mut self.rows,
                desc,
                |i| rows.value(i as usize, c),
                |a, b| match (a, b) {
                    (Some(a), Some(b)) => a.sql_cmp(b),
                    (a, b) => a.is_some().cmp(&b.is_some()),
                },
            ),
        }
        self.unsorted_tail = false;
    }
}

/// Sorts `idx` by `key(i)` compared with `cmp`, ties by index; `desc` reverses.
fn sort_keyed<K>(
    idx: &mut Vec<u32>,
    desc: bool,
    key: impl Fn(u32) -> K,
    cmp: impl Fn(&K, &K) -> Ordering,
) {
    let mut keyed: Vec<(K, u32)> = idx.iter().map(|&i| (key(i), i)).collect();
    keyed.sort_unstable_by(|(ka, a), (kb, b)| {
        let o = cmp(ka, kb).then(a.cmp(b));
        if desc { o.reverse() } else { o }
    });
    idx.clear();
    idx.extend(keyed.into_iter().map(|(_, i)| i));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(table: u32, status: &str, page_no: u32, v: Value) -> Row {
        Row {
            table: Some(table),
            status: Status::from_name(status),
            at: Provenance { page_no, offset: 0 },
            rowid: None,
            confidence: 1.0,
            values: vec![v].into_boxed_slice(),
        }
    }

    #[test]
    fn view_filters_by_status_and_text_and_sorts() {
        let t = TableInfo {
            name: "t".into(),
            columns: vec!["a".into()],
            root: 2,
            dropped: false,
        };
        let mut s = Store::new(vec![t]);
        s.push_rows(&[
            row(0, "live", 2, Value::Text("pear".into())),
            row(0, "deleted", 3, Value::Text("Apple".into())),
            row(0, "live", 4, Value::Int(7)),
        ]);
        assert_eq!(s.count(0, Status::from_name("live")), 2);
        let mut v = View::new(0);
        v.extend(&s);
        assert_eq!(v.rows, vec![0, 1, 2]);
        v.sort = (SortKey::Column(0), false);
        v.apply_sort(&s);
        assert_eq!(v.rows, vec![2, 1, 0], "numbers before text, text by bytes");
        v.filter.text = "APP".into();
        v.rebuild(&s);
        assert_eq!(v.rows, vec![1]);
        v.filter = Filter::default();
        v.filter.statuses[0] = false;
        v.rebuild(&s);
        assert_eq!(v.rows, vec![1]);
    }
}
