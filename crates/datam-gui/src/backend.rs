//! The one module of the GUI that calls DataM's lower crates.
//!
//! Everything the screens need from the evidence goes through the jobs
//! started here: [`start_inspect`] (datam-core's `inspect`: facts and
//! SHA-256), [`start_salvage`] (SQLite rows,
//! streamed in batches) and [`start_page_read`] (one page's bytes for the hex
//! view), plus [`cell_layout`], which labels a row's bytes in its page.
//! The inspect and salvage jobs are datam-core's; the page read for the hex
//! view and the cell layout still use `evidence` and `rowcodec` directly,
//! and the salvage sink names `sqlite_pages`' row types (`Db`, `RowRef`,
//! `RowMark`), which datam-core's `SalvageSink` exposes.
//!
//! **Architecture Invariant:** evidence is opened with
//! [`evidence::Evidence::open`] (read-only, private mapping) and never with
//! libsqlite; nothing here writes to a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datam_core::job::{JobCtx, Phase, Unit};
use datam_core::sqlite::SqliteError;
use datam_core::sqlite::history::SideFiles;
use datam_core::sqlite::salvage::{Format, Output, SalvageRequest, SalvageSink};
use rowcodec::sqlite::{OwnedValue, Record, varint};
use sqlite_pages::db::{Db, RowFormat, RowMark};
use sqlite_pages::scan::RowRef;

use crate::job::{Job, Outbox, Waker};
use crate::model::{Provenance, Row, Status, TableInfo, Value};
use crate::rows::{FileMap, RowChunk, RowHead, Stored, ValueRef};

/// What `inspect` says about a path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The recognised kind (`sqlite-database`, `pg-data-directory` ...).
    pub kind: Option<String>,
    /// Header facts in display order (including `sha256` for files).
    pub facts: Vec<(String, String)>,
    /// Damage met while reading the headers.
    pub errors: Vec<String>,
}

/// Starts identifying `path` (datam-core's `inspect`, the same facts
/// `datam inspect` prints).
pub fn start_inspect(path: PathBuf, wake: Waker) -> std::io::Result<Job<Result<Facts, String>>> {
    Job::spawn("inspect", wake, move |ctx, out| {
        ctx.progress(Phase::Open, Unit::Items, 0, Some(1));
        out.send(inspect(&path));
        ctx.progress(Phase::Open, Unit::Items, 1, Some(1));
    })
}

fn inspect(path: &Path) -> Result<Facts, String> {
    let r = datam_core::inspect::inspect_path(path).map_err(|e| e.to_string())?;
    let facts = r
        .facts
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    Ok(Facts {
        kind: r.kind.map(str::to_string),
        facts,
        errors: r.errors,
    })
}

/// Messages of a salvage job, in order: `Schema`, then `Rows` batches, then `Done`.
#[derive(Debug)]
pub enum SalvageMsg {
    /// The schema and page geometry, before any row.
    Schema {
        /// Tables in schema order.
        tables: Vec<TableInfo>,
        /// Page size in bytes.
        page_size_bytes: u32,
        /// Pages in the file.
        n_pages: u32,
        /// The file the rows' file places point into (see [`crate::rows`]),
        /// when the rows hold any.
        file: Option<FileMap>,
    },
    /// A batch of rows in page order, compactly encoded.
    Rows(RowChunk),
    /// The job ended (`cancelled` when stopped early).
    Done {
        /// Stopped by the cancel token.
        cancelled: bool,
    },
    /// The file could not be opened.
    Failed(String),
    /// The path is not a SQLite database (a directory, a WAL, another kind).
    NotSqlite,
}

/// Starts salvaging every row of the SQLite database at `path` through
/// datam-core's `sqlite salvage` job (live rows, then deleted, freelist and
/// orphan rows carved from free space, then the older versions in the
/// `-wal` / `-journal` beside it, as `datam sqlite salvage` finds them).
pub fn start_salvage(path: PathBuf, wake: Waker) -> std::io::Result<Job<SalvageMsg>> {
    Job::spawn("salvage", wake, move |ctx, out| salvage(&path, ctx, out))
}

fn salvage(path: &Path, ctx: &JobCtx, out: &Outbox<SalvageMsg>) {
    // One read-only mapping: for the magic check, then for the grid's file
    // places (see [`crate::rows`]).
    let file = (!evidence::vfs::is_dir(path))
        .then(|| evidence::Evidence::open(path).ok())
        .flatten()
        .filter(|ev| ev.bytes().starts_with(b"SQLite format 3\0"));
    let Some(file) = file else {
        out.send(SalvageMsg::NotSqlite);
        return;
    };
    let req = SalvageRequest {
        db: path.to_path_buf(),
        side: SideFiles::default(),
        tables: Vec::new(),
        deleted: true,
        output: Output::Stream(Format::Jsonl),
    };
    let mut sink = UiSink {
        out,
        file: Some(FileMap(Arc::new(file))),
        tables: Vec::new(),
        batch: RowChunk::new(),
        last_send: Instant::now(),
    };
    let res = datam_core::sqlite::salvage::salvage(&req, ctx, &mut sink, false);
    sink.flush();
    match res {
        Ok(_) => {
            out.send(SalvageMsg::Done { cancelled: false });
        }
        Err(SqliteError::Cancelled(_)) => {
            out.send(SalvageMsg::Done { cancelled: true });
        }
        Err(e) => {
            out.send(SalvageMsg::Failed(e.to_string()));
        }
    }
}

/// Reads the 16-byte SQLite magic (on the job's thread).
/// The UI's salvage sink: rows are encoded into [`RowChunk`]s on the
/// worker threads and leave in batches when large or 30 ms old, so the first
/// rows show at once and later ones do not flood the channel.
struct UiSink<'a> {
    out: &'a Outbox<SalvageMsg>,
    /// The UI's own read-only mapping of the database file.
    file: Option<FileMap>,
    tables: Vec<String>,
    batch: RowChunk,
    last_send: Instant,
}

impl UiSink<'_> {
    fn flush(&mut self) -> bool {
        self.last_send = Instant::now();
        if self.batch.is_empty() {
            return true;
        }
        // The growable buffer stays here for the next batch; the UI gets an
        // exactly sized copy (no heap holes from grow-then-shrink).
        let out = self.batch.exact_copy();
        self.batch.clear();
        self.out.send(SalvageMsg::Rows(out))
    }

    /// Appends row `i` of `chunk`, sending the batch first when its arena is full.
    fn take_row(&mut self, chunk: &RowChunk, i: usize) -> bool {
        if self.batch.push_from(chunk, i) {
            return true;
        }
        if !self.flush() {
            return false;
        }
        // An empty batch takes any row under 4 GiB of values.
        let _ = self.batch.push_from(chunk, i);
        true
    }

    fn maybe_flush(&mut self) -> bool {
        if self.batch.len() >= 16_384 || self.last_send.elapsed() > Duration::from_millis(30) {
            return self.flush();
        }
        true
    }
}

/// Encodes rows on the salvage's worker threads (text decoded to UTF-8).
/// With `file_places`, a text or BLOB value whose bytes lie in the
/// database file (`db.bytes` is the file) is stored as its place there.
struct ToRows {
    file_places: bool,
}

/// The place of `v` in `file`, when it lies wholly inside.
fn place_in(file: &[u8], v: &[u8]) -> Option<(u64, u64)> {
    let base = file.as_ptr() as usize;
    let at = (v.as_ptr() as usize).checked_sub(base)?;
    (at.checked_add(v.len())? <= file.len()).then_some((at as u64, v.len() as u64))
}

impl RowFormat for ToRows {
    type Batch = RowChunk;
    fn add(&self, db: &Db<'_>, r: &RowRef<'_>, batch: &mut RowChunk) {
        let head = RowHead {
            table: r.table.and_then(|t| u32::try_from(t).ok()),
            status: Status::from_name(r.status.name()),
            at: Provenance {
                page_no: r.page_no.0,
                offset: u32::try_from(r.offset).unwrap_or(u32::MAX),
            },
            rowid: r.rowid,
            confidence: r.confidence,
        };
        let texts: Vec<std::borrow::Cow<'_, str>> = r
            .values
            .iter()
            .map(|v| match v {
                rowcodec::sqlite::Value::Text(b) => rowcodec::sqlite::encode::text_utf8(b, r.enc),
                _ => std::borrow::Cow::Borrowed(""),
            })
            .collect();
        let place = |v: &[u8]| {
            if self.file_places {
                place_in(db.bytes, v)
            } else {
                None
            }
        };
        let values = r.values.iter().zip(&texts).map(|(v, t)| match *v {
            rowcodec::sqlite::Value::Null => Stored::Value(ValueRef::Null),
            rowcodec::sqlite::Value::Int(i) => Stored::Value(ValueRef::Int(i)),
            rowcodec::sqlite::Value::Real(f) => Stored::Value(ValueRef::Real(f)),
            // Text transcoded or repaired (an owned `Cow`) lies outside
            // the file, so only text read as it is gets a place.
            rowcodec::sqlite::Value::Text(_) => match place(t.as_bytes()) {
                Some((at, len)) => Stored::FileText { at, len },
                None => Stored::Value(ValueRef::Text(t)),
            },
            rowcodec::sqlite::Value::Blob(b) => match place(b) {
                Some((at, len)) => Stored::FileBlob { at, len },
                None => Stored::Value(ValueRef::Blob(b)),
            },
        });
        // A batch past 4 GiB of values drops the row; the sink's batches
        // are far smaller (the salvage's worker batches are 1,024-row-ish).
        let _ = batch.push_stored(head, values);
    }
}

impl SalvageSink for UiSink<'_> {
    type Error = std::convert::Infallible;
    type Format = ToRows;
    fn start(&mut self, db: &Db<'_>) -> Result<ToRows, Self::Error> {
        let tables = db
            .tables
            .iter()
            .map(|t| TableInfo {
                name: t.name.clone(),
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                root: t.root.0,
                dropped: t.dropped,
            })
            .collect();
        self.tables = db.tables.iter().map(|t| t.name.clone()).collect();
        // File places only when the salvage reads the file itself (not an
        // image built from a `-wal`) and the UI's mapping holds the same
        // bytes at its start and has the same length.
        let same_file = |f: &FileMap| {
            let b = f.0.bytes();
            b.len() == db.bytes.len() && b.get(..100) == db.bytes.get(..100)
        };
        let file = self.file.take().filter(|f| !db.is_image() && same_file(f));
        let file_places = file.is_some();
        self.out.send(SalvageMsg::Schema {
            tables,
            page_size_bytes: db.page_size,
            n_pages: db.n_pages,
            file,
        });
        Ok(ToRows { file_places })
    }
    fn batch(
        &mut self,
        _db: &Db<'_>,
        rows: RowChunk,
        marks: &[RowMark],
    ) -> Result<bool, Self::Error> {
        for (i, _) in marks.iter().enumerate().filter(|(_, m)| m.keep) {
            if !self.take_row(&rows, i) {
                return Ok(false);
            }
        }
        Ok(self.maybe_flush())
    }
    fn side_row(&mut self, row: &serde_json::Value) -> Result<bool, Self::Error> {
        let mut one = RowChunk::new();
        one.push_row(&side_row(row, &self.tables));
        Ok(self.take_row(&one, 0) && self.maybe_flush())
    }
    fn finish(&mut self, _db: &Db<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// An older row version from the side files (a JSON row of the job).
fn side_row(r: &serde_json::Value, tables: &[String]) -> Row {
    use serde_json::Value as J;
    let name = r.get("table").and_then(J::as_str).unwrap_or_default();
    let num = |k: &str| {
        r.get(k)
            .and_then(J::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    let value = |v: &J| match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Int(i64::from(*b)),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Real(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        J::String(s) => Value::Text(s.as_str().into()),
        J::Object(o) => match o.get("blob_hex").and_then(J::as_str) {
            Some(h) => Value::Blob(hex_bytes(h).into()),
            None => Value::Text(v.to_string().into()),
        },
        J::Array(_) => Value::Text(v.to_string().into()),
    };
    Row {
        table: tables
            .iter()
            .position(|t| t == name)
            .and_then(|t| u32::try_from(t).ok()),
        status: Status::from_name(r.get("status").and_then(J::as_str).unwrap_or_default()),
        at: Provenance {
            page_no: num("page").unwrap_or(0),
            offset: num("offset").unwrap_or(0),
        },
        rowid: r.get("rowid").and_then(J::as_i64),
        confidence: 1.0,
        values: r
            .get("values")
            .and_then(J::as_array)
            .map(|vs| vs.iter().map(value).collect())
            .unwrap_or_default(),
    }
}

fn hex_bytes(h: &str) -> Vec<u8> {
    h.as_bytes()
        .chunks(2)
        .filter_map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// One page's bytes, read off the UI thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBytes {
    /// The page number.
    pub page_no: u32,
    /// Offset of the page in the file.
    pub file_offset: u64,
    /// The bytes (shorter than a page for a truncated last page).
    pub bytes: Vec<u8>,
}

/// Starts reading page `page_no` (1-based) of `path`.
pub fn start_page_read(
    path: PathBuf,
    page_no: u32,
    page_size_bytes: u32,
    wake: Waker,
) -> std::io::Result<Job<Result<PageBytes, String>>> {
    Job::spawn("page", wake, move |_ctx, out| {
        let res = evidence::Evidence::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|ev| {
                let start =
                    u64::from(page_no.saturating_sub(1)).saturating_mul(u64::from(page_size_bytes));
                let from = usize::try_from(start).map_err(|e| e.to_string())?;
                let to = from.saturating_add(page_size_bytes as usize);
                let bytes = ev.bytes();
                let page = bytes
                    .get(from..to.min(bytes.len()))
                    .ok_or_else(|| format!("page {page_no} is past the end of the file"))?;
                Ok(PageBytes {
                    page_no,
                    file_offset: start,
                    bytes: page.to_vec(),
                })
            });
        out.send(res);
    })
}

/// A labelled byte range of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// First byte (page offset).
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// What the bytes are (`cell header`, `record header`, `name (text)` ...).
    pub label: String,
    /// Colour slot: 0 = header parts, 1.. = columns.
    pub slot: usize,
}

/// Labels the bytes of `row`'s cell in `page`: the cell header (payload
/// length and rowid varints), the record header and each column's bytes.
/// The record is looked for at the cell's offset as a table-leaf cell, then
/// (carved cells lose their first bytes to the freeblock header) at each of
/// the next 24 bytes, and accepted where its values equal the row's. When
/// no start matches, one span marks the carved region from the offset.
pub fn cell_layout(page: &[u8], row: &Row, columns: &[String]) -> Vec<Span> {
    let off = row.at.offset as usize;
    if let Some(spans) = leaf_cell_at(page, off, row, columns) {
        return spans;
    }
    for start in off..off.saturating_add(24) {
        if let Some(spans) = record_at(page, start, row, columns) {
            let mut out = Vec::new();
            if start > off {
                out.push(Span {
                    start: off,
                    len: start - off,
                    label: "carved cell start (overwritten header)".into(),
                    slot: 0,
                });
            }
            out.extend(spans);
            return out;
        }
    }
    if let Some(spans) = carved_body_at(page, off, row, columns) {
        return spans;
    }
    vec![Span {
        start: off,
        len: 16.min(page.len().saturating_sub(off)),
        label: "cell (layout not re-derived)".into(),
        slot: 0,
    }]
}

/// A carved cell whose record header was overwritten (a freeblock's 4-byte
/// header sits on a deleted cell's first bytes): re-encodes the row's values
/// (with and without the rowid-alias column stored as NULL) and finds their
/// bytes after the offset.
fn carved_body_at(page: &[u8], off: usize, row: &Row, columns: &[String]) -> Option<Vec<Span>> {
    let owned: Vec<OwnedValue> = row.values.iter().map(to_owned_value).collect();
    let mut alias_null = owned.clone();
    if let Some(first) = alias_null.first_mut() {
        *first = OwnedValue::Null;
    }
    for values in [alias_null, owned] {
        let enc = rowcodec::sqlite::encode::encode_record(&values);
        let rec = Record::parse_header(&enc).ok()?;
        let body = enc.get(rec.header_len..)?;
        let window = page.get(off..off.saturating_add(64 + enc.len()).min(page.len()))?;
        let Some(at) = window.windows(body.len().max(1)).position(|w| w == body) else {
            continue;
        };
        let body_start = off + at;
        let mut spans = vec![Span {
            start: off,
            len: at,
            label: format!(
                "carved: cell and record header ({} serial types), first bytes overwritten by the freeblock header",
                rec.types.len()
            ),
            slot: 0,
        }];
        let mut pos = body_start;
        for (i, (t, v)) in rec.types.iter().zip(row.values.iter()).enumerate() {
            let len = usize::try_from(t.content_len()).ok()?;
            let name = columns.get(i).map_or_else(|| format!("c{i}"), Clone::clone);
            spans.push(Span {
                start: pos,
                len,
                label: format!("{name} ({})", v.type_name()),
                slot: i + 1,
            });
            pos = pos.saturating_add(len);
        }
        return Some(spans);
    }
    None
}

/// The rowcodec value of a grid value (for encoders).
pub(crate) fn to_owned_value(v: &Value) -> OwnedValue {
    match v {
        Value::Null => OwnedValue::Null,
        Value::Int(i) => OwnedValue::Int(*i),
        Value::Real(f) => OwnedValue::Real(*f),
        Value::Text(t) => OwnedValue::Text(t.to_string()),
        Value::Blob(b) => OwnedValue::Blob(b.to_vec()),
    }
}

fn leaf_cell_at(page: &[u8], off: usize, row: &Row, columns: &[String]) -> Option<Vec<Span>> {
    let rest = page.get(off..)?;
    let (_, n1) = varint::read(rest)?;
    let (_, n2) = varint::read(rest.get(n1..)?)?;
    let mut spans = vec![
        Span {
            start: off,
            len: n1,
            label: "payload length".into(),
            slot: 0,
        },
        Span {
            start: off + n1,
            len: n2,
            label: "rowid".into(),
            slot: 0,
        },
    ];
    spans.extend(record_at(page, off + n1 + n2, row, columns)?);
    Some(spans)
}

fn record_at(page: &[u8], start: usize, row: &Row, columns: &[String]) -> Option<Vec<Span>> {
    let rec = Record::parse_header(page.get(start..)?).ok()?;
    if rec.types.len() != row.values.len() || rec.types.is_empty() {
        return None;
    }
    let mut spans = vec![Span {
        start,
        len: rec.header_len,
        label: format!("record header ({} serial types)", rec.types.len()),
        slot: 0,
    }];
    let mut pos = start + rec.header_len;
    let mut matches = 0usize;
    for (i, (t, v)) in rec.types.iter().zip(row.values.iter()).enumerate() {
        let len = usize::try_from(t.content_len()).ok()?;
        let bytes = page.get(pos..pos.saturating_add(len));
        let decoded = bytes.map(|b| rowcodec::sqlite::Value::from_serial(*t, b));
        if decoded.is_some_and(|d| same(&d, v)) {
            matches += 1;
        }
        let name = columns.get(i).map_or_else(|| format!("c{i}"), Clone::clone);
        spans.push(Span {
            start: pos,
            len: len.min(page.len().saturating_sub(pos)),
            label: format!("{name} ({})", v.type_name()),
            slot: i + 1,
        });
        pos = pos.saturating_add(len);
    }
    // An INTEGER PRIMARY KEY column is stored as NULL and shown as the rowid.
    (matches + 1 >= row.values.len()).then_some(spans)
}

fn same(d: &rowcodec::sqlite::Value<'_>, v: &Value) -> bool {
    use rowcodec::sqlite::Value as V;
    match (d, v) {
        (V::Null, Value::Null) => true,
        (V::Int(a), Value::Int(b)) => a == b,
        (V::Real(a), Value::Real(b)) => a.to_bits() == b.to_bits(),
        (V::Text(a), Value::Text(b)) => *a == b.as_bytes(),
        (V::Blob(a), Value::Blob(b)) => *a == &**b,
        _ => false,
    }
}
