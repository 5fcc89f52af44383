//! Compact storage of recovered rows: a million-row salvage must not cost
//! the UI gigabytes. A [`RowChunk`] (one batch from the salvage job, built on
//! its worker threads) keeps each row's header (status, provenance, rowid,
//! confidence: 32 bytes) in one `Vec` and all values of all rows encoded
//! back to back in one byte arena; [`Rows`] is the store's list of shared,
//! immutable chunks. Values are decoded on demand as borrowed [`ValueRef`]s
//! (the grid decodes only the visible rows; sort and filter compare borrowed
//! values), and cloning [`Rows`] clones `Arc`s only, so an export job can
//! take the rows to its own thread without copying them.
//!
//! Arena encoding of one value (a tag byte, then its payload):
//!
//! ```text
//! 0 NULL
//! 1 integer   zigzag varint (SQLite varint of (i << 1) ^ (i >> 63))
//! 2 real      8 bytes, little-endian f64
//! 3 text      varint byte length, UTF-8 bytes
//! 4 blob      varint byte length, bytes
//! 5 text      varint file offset, varint byte length: UTF-8 bytes that lie
//!             in the opened database file itself
//! 6 blob      the same for a BLOB
//! ```
//!
//! Tags 5 and 6 keep a million wide rows from copying the file into the
//! heap: a value the salvage read straight from the mapped file (a cell
//! with no overflow, in a database read without a `-wal` image, UTF-8
//! text) is stored as its place in the file, and [`Rows`] reads it from
//! its own read-only mapping of that file ([`Rows::set_file`]) when it is
//! decoded. A place outside the mapping (no file set, or the file shrank)
//! reads as the text `\u{fffd}`, never as other bytes.
//!
//! A row's values end where the next row's start (or at the arena's end).

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

use rowcodec::sqlite::varint;

use crate::model::{Provenance, Row, Status, Value};

/// A value borrowed from a chunk's arena.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// NULL.
    Null,
    /// Integer.
    Int(i64),
    /// Real.
    Real(f64),
    /// Text (UTF-8).
    Text(&'a str),
    /// BLOB.
    Blob(&'a [u8]),
}

impl ValueRef<'_> {
    /// The owned value.
    pub fn to_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Int(i) => Value::Int(i),
            Self::Real(r) => Value::Real(r),
            Self::Text(t) => Value::Text(t.into()),
            Self::Blob(b) => Value::Blob(b.into()),
        }
    }

    /// Appends the value as the grid shows it (see [`Value::write_display`]).
    pub fn write_display(self, out: &mut String) {
        match self {
            Self::Null => out.push_str("NULL"),
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::Real(r) => {
                let _ = write!(out, "{r:?}");
            }
            Self::Text(t) => out.push_str(t),
            Self::Blob(b) => crate::model::write_blob_display(b, out),
        }
    }

    /// SQLite's ordering: NULL < numbers < text < BLOB.
    pub fn sql_cmp(&self, other: &Self) -> Ordering {
        fn rank(v: &ValueRef<'_>) -> u8 {
            match v {
                ValueRef::Null => 0,
                ValueRef::Int(_) | ValueRef::Real(_) => 1,
                ValueRef::Text(_) => 2,
                ValueRef::Blob(_) => 3,
            }
        }
        #[allow(clippy::cast_precision_loss)]
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a.cmp(b),
            (Self::Int(a), Self::Real(b)) => (*a as f64).total_cmp(b),
            (Self::Real(a), Self::Int(b)) => a.total_cmp(&(*b as f64)),
            (Self::Real(a), Self::Real(b)) => a.total_cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Blob(a), Self::Blob(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Int(i) => Self::Int(*i),
            Value::Real(r) => Self::Real(*r),
            Value::Text(t) => Self::Text(t),
            Value::Blob(b) => Self::Blob(b),
        }
    }
}

/// A value as a chunk stores it: inline, or as its place in the database file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stored<'a> {
    /// A value copied into the arena.
    Value(ValueRef<'a>),
    /// UTF-8 text at bytes `at..at + len` of the database file.
    FileText {
        /// Offset in the file.
        at: u64,
        /// Byte length.
        len: u64,
    },
    /// A BLOB at bytes `at..at + len` of the database file.
    FileBlob {
        /// Offset in the file.
        at: u64,
        /// Byte length.
        len: u64,
    },
}

/// Everything about a row but its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowHead {
    /// Index into the store's tables, `None` for rows no schema matched.
    pub table: Option<u32>,
    /// Live, deleted, freelist ...
    pub status: Status,
    /// File position.
    pub at: Provenance,
    /// The rowid, when known.
    pub rowid: Option<i64>,
    /// 1.0 for intact cells, lower for carved ones.
    pub confidence: f32,
}

impl Row {
    /// The row's header.
    pub fn head(&self) -> RowHead {
        RowHead {
            table: self.table,
            status: self.status,
            at: self.at,
            rowid: self.rowid,
            confidence: self.confidence,
        }
    }
}

/// A row header as stored: 32 bytes.
#[derive(Debug, Clone, Copy)]
struct Meta {
    rowid: i64,
    /// Start of the row's values in the arena.
    start: u32,
    /// `u32::MAX` = unattributed.
    table: u32,
    page_no: u32,
    offset: u32,
    confidence: f32,
    status: Status,
    has_rowid: bool,
}

const _: () = assert!(std::mem::size_of::<Meta>() == 32);

/// A batch of rows: headers plus one arena of encoded values.
#[derive(Debug, Default, Clone)]
pub struct RowChunk {
    metas: Vec<Meta>,
    arena: Vec<u8>,
}

impl RowChunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows in the chunk.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// Whether the chunk has no rows.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Bytes of values in the arena.
    pub fn arena_bytes(&self) -> usize {
        self.arena.len()
    }

    /// Appends a row; `false` (and nothing added) when the arena would pass
    /// 4 GiB: start a new chunk then.
    pub fn push<'v>(
        &mut self,
        head: RowHead,
        values: impl IntoIterator<Item = ValueRef<'v>>,
    ) -> bool {
        self.push_stored(head, values.into_iter().map(Stored::Value))
    }

    /// Appends a row whose values may be places in the database file (see
    /// [`RowChunk::push`]).
    pub fn push_stored<'v>(
        &mut self,
        head: RowHead,
        values: impl IntoIterator<Item = Stored<'v>>,
    ) -> bool {
        let start = self.arena.len();
        for v in values {
            encode_stored(v, &mut self.arena);
        }
        self.finish_row(head, start)
    }

    /// Records the header of a row whose values were appended from `start`.
    fn finish_row(&mut self, head: RowHead, start: usize) -> bool {
        let Ok(start) = u32::try_from(start) else {
            self.arena.truncate(start);
            return false;
        };
        if u32::try_from(self.arena.len()).is_err() {
            self.arena.truncate(start as usize);
            return false;
        }
        self.metas.push(Meta {
            rowid: head.rowid.unwrap_or(0),
            start,
            table: head.table.unwrap_or(u32::MAX),
            page_no: head.at.page_no,
            offset: head.at.offset,
            confidence: head.confidence,
            status: head.status,
            has_rowid: head.rowid.is_some(),
        });
        true
    }

    /// Appends an owned row (see [`RowChunk::push`]).
    pub fn push_row(&mut self, r: &Row) -> bool {
        self.push(r.head(), r.values.iter().map(ValueRef::from))
    }

    /// Appends row `i` of `other` (its encoded values copied as they are,
    /// file places included).
    pub fn push_from(&mut self, other: &Self, i: usize) -> bool {
        let Some(h) = other.head(i) else {
            return false;
        };
        let start = self.arena.len();
        self.arena.extend_from_slice(other.encoded(i));
        self.finish_row(h, start)
    }

    /// Row `i`'s encoded values (empty past the end).
    fn encoded(&self, i: usize) -> &[u8] {
        let start = self
            .metas
            .get(i)
            .map_or(self.arena.len(), |m| m.start as usize);
        let end = self
            .metas
            .get(i.saturating_add(1))
            .map_or(self.arena.len(), |m| m.start as usize);
        self.arena.get(start..end).unwrap_or_default()
    }

    /// Row `i`'s header.
    pub fn head(&self, i: usize) -> Option<RowHead> {
        let m = self.metas.get(i)?;
        Some(RowHead {
            table: (m.table != u32::MAX).then_some(m.table),
            status: m.status,
            at: Provenance {
                page_no: m.page_no,
                offset: m.offset,
            },
            rowid: m.has_rowid.then_some(m.rowid),
            confidence: m.confidence,
        })
    }

    /// Row `i`'s values (empty past the end), file places read from `file`.
    pub fn values_in<'s>(&'s self, i: usize, file: &'s [u8]) -> Values<'s> {
        Values {
            rest: self.encoded(i),
            file,
        }
    }

    /// Row `i`'s values with no file (file places read as `\u{fffd}`).
    pub fn values(&self, i: usize) -> Values<'_> {
        self.values_in(i, &[])
    }

    /// Row `i`, decoded, file places read from `file`.
    pub fn row_in(&self, i: usize, file: &[u8]) -> Option<Row> {
        let h = self.head(i)?;
        Some(Row {
            table: h.table,
            status: h.status,
            at: h.at,
            rowid: h.rowid,
            confidence: h.confidence,
            values: self.values_in(i, file).map(ValueRef::to_value).collect(),
        })
    }

    /// Row `i`, decoded, with no file.
    pub fn row(&self, i: usize) -> Option<Row> {
        self.row_in(i, &[])
    }

    /// Heap bytes held (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.metas.capacity() * std::mem::size_of::<Meta>() + self.arena.capacity()
    }

    /// An exactly sized copy (capacity = length), for a batch that is
    /// about to be shared while its growable buffer is reused: growing a
    /// buffer and shrinking it after would leave its freed tail as a hole
    /// in the heap per batch.
    pub fn exact_copy(&self) -> Self {
        Self {
            metas: self.metas.clone(),
            arena: self.arena.clone(),
        }
    }

    /// Empties the chunk, keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.metas.clear();
        self.arena.clear();
    }

    /// Gives back spare capacity (before the chunk is shared).
    pub fn shrink_to_fit(&mut self) {
        self.metas.shrink_to_fit();
        self.arena.shrink_to_fit();
    }
}

fn encode_stored(v: Stored<'_>, out: &mut Vec<u8>) {
    match v {
        Stored::Value(v) => encode(v, out),
        Stored::FileText { at, len } | Stored::FileBlob { at, len } => {
            out.push(if matches!(v, Stored::FileText { .. }) {
                5
            } else {
                6
            });
            varint::write(at, out);
            varint::write(len, out);
        }
    }
}

fn encode(v: ValueRef<'_>, out: &mut Vec<u8>) {
    match v {
        ValueRef::Null => out.push(0),
        ValueRef::Int(i) => {
            out.push(1);
            #[allow(clippy::cast_sign_loss)]
            let z = (i.wrapping_shl(1) ^ (i >> 63)) as u64;
            varint::write(z, out);
        }
        ValueRef::Real(r) => {
            out.push(2);
            out.extend_from_slice(&r.to_le_bytes());
        }
        ValueRef::Text(t) => {
            out.push(3);
            varint::write(t.len() as u64, out);
            out.extend_from_slice(t.as_bytes());
        }
        ValueRef::Blob(b) => {
            out.push(4);
            varint::write(b.len() as u64, out);
            out.extend_from_slice(b);
        }
    }
}

/// The values of one row, decoded from the arena as they are read.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    rest: &'a [u8],
    /// The database file, for file places.
    file: &'a [u8],
}

impl<'a> Values<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let (v, n) = varint::read(self.rest)?;
        self.take(n)?;
        Some(v)
    }

    fn decode(&mut self) -> Option<ValueRef<'a>> {
        let tag = *self.take(1)?.first()?;
        Some(match tag {
            0 => ValueRef::Null,
            1 => {
                let z = self.varint()?;
                #[allow(clippy::cast_possible_wrap)]
                ValueRef::Int(((z >> 1) as i64) ^ 0i64.wrapping_sub((z & 1) as i64))
            }
            2 => {
                let b: [u8; 8] = self.take(8)?.try_into().ok()?;
                ValueRef::Real(f64::from_le_bytes(b))
            }
            3 => {
                let n = usize::try_from(self.varint()?).ok()?;
                ValueRef::Text(std::str::from_utf8(self.take(n)?).unwrap_or("\u{fffd}"))
            }
            4 => {
                let n = usize::try_from(self.varint()?).ok()?;
                ValueRef::Blob(self.take(n)?)
            }
            5 | 6 => {
                let at = usize::try_from(self.varint()?).ok()?;
                let len = usize::try_from(self.varint()?).ok()?;
                let bytes = at.checked_add(len).and_then(|end| self.file.get(at..end));
                match (tag, bytes) {
                    (6, Some(b)) => ValueRef::Blob(b),
                    (_, Some(b)) => ValueRef::Text(std::str::from_utf8(b).unwrap_or("\u{fffd}")),
                    (_, None) => ValueRef::Text("\u{fffd}"),
                }
            }
            _ => return None,
        })
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = ValueRef<'a>;
    fn next(&mut self) -> Option<ValueRef<'a>> {
        let v = self.decode();
        if v.is_none() {
            // Only the arena's own writer fills it; stop on anything else.
            self.rest = &[];
        }
        v
    }
}

/// Every row of the store: shared, immutable chunks in arrival order.
/// Cloning is cheap (`Arc`s).
#[derive(Debug, Default, Clone)]
pub struct Rows {
    /// The database file the chunks' file places point into.
    file: Option<FileMap>,
    chunks: Vec<Arc<RowChunk>>,
    /// Index of each chunk's first row.
    starts: Vec<usize>,
    len: usize,
}

/// A read-only mapping of the opened database file, shared.
#[derive(Clone)]
pub struct FileMap(pub Arc<evidence::Evidence>);

impl std::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FileMap").field(&self.0.path()).finish()
    }
}

impl Rows {
    /// Sets the database file the rows' file places are read from.
    pub fn set_file(&mut self, file: Option<FileMap>) {
        self.file = file;
    }

    fn file_bytes(&self) -> &[u8] {
        self.file.as_ref().map_or(&[], |f| f.0.bytes())
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a chunk at the end (its spare capacity given back first).
    pub fn push_chunk(&mut self, mut chunk: RowChunk) {
        if chunk.is_empty() {
            return;
        }
        chunk.shrink_to_fit();
        self.starts.push(self.len);
        self.len = self.len.saturating_add(chunk.len());
        self.chunks.push(Arc::new(chunk));
    }

    fn locate(&self, i: usize) -> Option<(&RowChunk, usize)> {
        if i >= self.len {
            return None;
        }
        let c = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        let chunk = self.chunks.get(c)?;
        Some((chunk, i.checked_sub(*self.starts.get(c)?)?))
    }

    /// Row `i`'s header.
    pub fn head(&self, i: usize) -> Option<RowHead> {
        let (c, j) = self.locate(i)?;
        c.head(j)
    }

    /// Row `i`'s values (empty past the end).
    pub fn values(&self, i: usize) -> Values<'_> {
        match self.locate(i) {
            Some((c, j)) => c.values_in(j, self.file_bytes()),
            None => Values {
                rest: &[],
                file: &[],
            },
        }
    }

    /// Row `i`'s value `col`.
    pub fn value(&self, i: usize, col: usize) -> Option<ValueRef<'_>> {
        self.values(i).nth(col)
    }

    /// Row `i`, decoded (only the rows on screen or being exported are).
    pub fn get(&self, i: usize) -> Option<Row> {
        let (c, j) = self.locate(i)?;
        c.row_in(j, self.file_bytes())
    }

    /// Heap bytes held by the rows (headers, arenas, the chunk list).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.heap_bytes()).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Arc<RowChunk>>()
            + self.starts.capacity() * std::mem::size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(page_no: u32, rowid: Option<i64>) -> RowHead {
        RowHead {
            table: Some(1),
            status: Status::from_name("deleted"),
            at: Provenance {
                page_no,
                offset: 77,
            },
            rowid,
            confidence: 0.5,
        }
    }

    #[test]
    fn values_round_trip_through_the_arena() {
        let vals = [
            Value::Null,
            Value::Int(0),
            Value::Int(-1),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Real(-2.5),
            Value::Real(f64::NAN),
            Value::Text("".into()),
            Value::Text("日本語 ไทย 😀".into()),
            Value::Blob(vec![0, 255, 3].into()),
            Value::Blob(Vec::new().into()),
        ];
        let mut c = RowChunk::new();
        assert!(c.push(head(3, Some(-9)), vals.iter().map(ValueRef::from)));
        assert!(c.push(head(4, None), std::iter::empty()));
        assert!(c.push(head(5, Some(1)), [ValueRef::Text("x")]));
        let mut rows = Rows::default();
        rows.push_chunk(c.clone());
        rows.push_chunk(c);
        assert_eq!(rows.len(), 6);
        let r = rows.get(3).unwrap();
        assert_eq!(r.head(), head(3, Some(-9)));
        assert_eq!(r.values.len(), vals.len());
        for (a, b) in r.values.iter().zip(&vals) {
            match (a, b) {
                (Value::Real(x), Value::Real(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => assert_eq!(a, b),
            }
        }
        assert_eq!(rows.get(4).unwrap().values.len(), 0);
        assert_eq!(rows.head(4), Some(head(4, None)));
        assert_eq!(rows.value(5, 0), Some(ValueRef::Text("x")));
        assert_eq!(rows.get(6), None);
        assert_eq!(rows.values(6).count(), 0);
    }

    #[test]
    fn file_places_read_from_the_mapped_file_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.db");
        std::fs::write(&p, "héllo\x00\x01\x02world").unwrap();
        let text = Stored::FileText { at: 0, len: 6 };
        let blob = Stored::FileBlob { at: 6, len: 3 };
        let past = Stored::FileText { at: 10, len: 5 };
        let mut c = RowChunk::new();
        assert!(c.push_stored(
            head(1, Some(1)),
            [text, Stored::Value(ValueRef::Int(7)), blob, past]
        ));
        // A copied row keeps its places.
        let mut copy = RowChunk::new();
        assert!(copy.push_from(&c, 0));
        assert!(copy.arena_bytes() < 16);
        let mut rows = Rows::default();
        rows.push_chunk(copy);
        // No file set: every place reads as U+FFFD.
        let none: Vec<_> = rows.values(0).collect();
        assert_eq!(none[0], ValueRef::Text("\u{fffd}"));
        assert_eq!(none[1], ValueRef::Int(7));
        let ev = evidence::Evidence::open(&p).unwrap();
        rows.set_file(Some(FileMap(Arc::new(ev))));
        let got: Vec<_> = rows.values(0).collect();
        assert_eq!(
            got,
            [
                ValueRef::Text("héllo"),
                ValueRef::Int(7),
                ValueRef::Blob(&[0, 1, 2]),
                // bytes 10..15 run past the 14-byte file
                ValueRef::Text("\u{fffd}"),
            ]
        );
        assert_eq!(rows.get(0).unwrap().values[0], Value::Text("héllo".into()));
    }
}
