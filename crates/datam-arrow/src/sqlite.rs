//! Recovered SQLite rows as Arrow batches, one schema per table.
//!
//! ```text
//! datam_table           utf8, null   table the row belongs to (null: no schema matched)
//! datam_status          utf8         live, deleted, freelist, unallocated, orphan, conflict, wal-old, journal, ...
//! datam_file            utf8         the file the cell was read from (db, -wal, -journal)
//! datam_page            uint32       page number
//! datam_offset          int64        cell offset in the page
//! datam_rowid           int64, null  rowid (null: lost with the cell's first bytes)
//! datam_rowid_inferred  bool         rowid rebuilt from the live neighbours
//! datam_confidence      float64      1.0 intact, lower for carved (2 decimals, as the CLI)
//! datam_frame           uint32, null -wal frame number (rows from the WAL)
//! datam_journal_record  uint32, null rollback-journal record number (rows from the journal)
//! datam_raw             binary, null raw record bytes of a row no schema matched
//! <column> ...          struct<int: int64, real: float64, text: utf8, blob: binary>, null
//! datam_extra_values    list<same struct>, null   values beyond the schema's columns
//! ```
//!
//! **Why a struct of typed children, not a dense union:** SQLite stores each
//! value with its own type whatever the column's declared affinity (an
//! integer in a TEXT column stays an integer). A struct with one nullable
//! child per storage class keeps that exactly — at most one child is set,
//! and the struct itself is null for SQL NULL — and unlike a union it is
//! written by Parquet and read by DuckDB and Polars as-is
//! (`SELECT name.text, name.int FROM t`). Text is converted to UTF-8 from
//! the database encoding; reals keep every bit (including infinities).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use rowcodec::sqlite::encode::text_utf8;
use rowcodec::sqlite::{TextEncoding, Value};
use sqlite_pages::scan::RowRef;

use crate::Error;

/// The children of a SQLite value struct, in order.
pub fn value_fields() -> Fields {
    Fields::from(vec![
        Field::new("int", DataType::Int64, true),
        Field::new("real", DataType::Float64, true),
        Field::new("text", DataType::Utf8, true),
        Field::new("blob", DataType::Binary, true),
    ])
}

/// The Arrow type of one SQLite value (see the module docs).
pub fn value_type() -> DataType {
    DataType::Struct(value_fields())
}

/// The provenance columns every SQLite batch starts with.
pub const PROVENANCE_COLUMNS: [&str; 11] = [
    "datam_table",
    "datam_status",
    "datam_file",
    "datam_page",
    "datam_offset",
    "datam_rowid",
    "datam_rowid_inferred",
    "datam_confidence",
    "datam_frame",
    "datam_journal_record",
    "datam_raw",
];

/// Name of the list column holding values beyond the table's columns.
pub const EXTRA_COLUMN: &str = "datam_extra_values";

/// Where one recovered row came from.
#[derive(Debug, Clone, Copy)]
pub struct Provenance<'a> {
    /// Table name (`None`: no schema matched).
    pub table: Option<&'a str>,
    /// Status name (`live`, `deleted`, `wal-old`, ...).
    pub status: &'a str,
    /// File label.
    pub file: &'a str,
    /// Page number.
    pub page: u32,
    /// Cell offset in the page.
    pub offset: i64,
    /// Rowid, when known.
    pub rowid: Option<i64>,
    /// Rowid inferred from neighbours.
    pub rowid_inferred: bool,
    /// Confidence 0..=1.
    pub confidence: f32,
    /// `-wal` frame number.
    pub frame: Option<u32>,
    /// Journal record number.
    pub journal_record: Option<u32>,
    /// Raw record of an unattributed row.
    pub raw: Option<&'a [u8]>,
}

impl<'a> Provenance<'a> {
    /// The provenance of a row of the main database file (no frame, no
    /// journal record) as `sqlite_pages` hands it out.
    pub fn of_row(table: Option<&'a str>, file: &'a str, r: &RowRef<'a>) -> Self {
        Provenance {
            table,
            status: r.status_label(),
            file,
            page: r.page_no.0,
            offset: i64::try_from(r.offset).unwrap_or(-1),
            rowid: r.rowid,
            rowid_inferred: r.rowid_inferred,
            confidence: r.confidence,
            frame: None,
            journal_record: None,
            raw: r.raw,
        }
    }
}

/// Builders of one value column.
#[derive(Debug, Default)]
pub(crate) struct ValueColumn {
    int: Int64Builder,
    real: Float64Builder,
    text: StringBuilder,
    blob: BinaryBuilder,
    valid: Vec<bool>,
}

impl ValueColumn {
    pub(crate) fn push(&mut self, v: Option<&Value<'_>>, enc: TextEncoding) {
        let (mut i, mut r, mut t, mut b) = (None, None, None, None);
        match v {
            None | Some(Value::Null) => {}
            Some(Value::Int(x)) => i = Some(*x),
            Some(Value::Real(x)) => r = Some(*x),
            Some(Value::Text(x)) => t = Some(text_utf8(x, enc)),
            Some(Value::Blob(x)) => b = Some(*x),
        }
        let set = i.is_some() || r.is_some() || t.is_some() || b.is_some();
        self.int.append_option(i);
        self.real.append_option(r);
        self.text.append_option(t);
        self.blob.append_option(b);
        self.valid.push(set);
    }

    pub(crate) fn finish(&mut self) -> Result<StructArray, Error> {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(self.int.finish()),
            Arc::new(self.real.finish()),
            Arc::new(self.text.finish()),
            Arc::new(self.blob.finish()),
        ];
        let nulls = NullBuffer::from(std::mem::take(&mut self.valid));
        Ok(StructArray::try_new(value_fields(), arrays, Some(nulls))?)
    }
}

/// Accumulates the rows of one table and hands them out as batches.
///
/// ```
/// use datam_arrow::sqlite::{Provenance, SqliteBatcher};
/// use rowcodec::sqlite::{TextEncoding, Value};
/// let mut b = SqliteBatcher::new(&["id".into(), "name".into()]);
/// let p = Provenance { table: Some("t"), status: "live", file: "a.db", page: 2,
///     offset: 4000, rowid: Some(1), rowid_inferred: false, confidence: 1.0,
///     frame: None, journal_record: None, raw: None };
/// // An integer in the TEXT column `name` stays an integer.
/// b.push(&p, &[Value::Int(1), Value::Int(42)], TextEncoding::Utf8);
/// let batch = b.finish().unwrap();
/// assert_eq!(batch.num_rows(), 1);
/// assert_eq!(batch.schema().field(11).name(), "id");
/// ```
#[derive(Debug)]
pub struct SqliteBatcher {
    schema: SchemaRef,
    table: StringBuilder,
    status: StringBuilder,
    file: StringBuilder,
    page: UInt32Builder,
    offset: Int64Builder,
    rowid: Int64Builder,
    rowid_inferred: BooleanBuilder,
    confidence: Float64Builder,
    frame: UInt32Builder,
    journal_record: UInt32Builder,
    raw: BinaryBuilder,
    cols: Vec<ValueColumn>,
    extra: ValueColumn,
    extra_offsets: Vec<i32>,
    extra_valid: Vec<bool>,
    rows: usize,
}

/// `name`, or `name_` (repeated) while it clashes with a provenance column.
fn column_name(name: &str) -> String {
    let mut n = name.to_string();
    while PROVENANCE_COLUMNS.contains(&n.as_str()) || n == EXTRA_COLUMN {
        n.push('_');
    }
    n
}

impl SqliteBatcher {
    /// A batcher for a table with these columns (empty for rows that match
    /// no schema: their values all go to `datam_extra_values`).
    pub fn new(columns: &[String]) -> Self {
        let mut fields = vec![
            Field::new("datam_table", DataType::Utf8, true),
            Field::new("datam_status", DataType::Utf8, false),
            Field::new("datam_file", DataType::Utf8, false),
            Field::new("datam_page", DataType::UInt32, false),
            Field::new("datam_offset", DataType::Int64, false),
            Field::new("datam_rowid", DataType::Int64, true),
            Field::new("datam_rowid_inferred", DataType::Boolean, false),
            Field::new("datam_confidence", DataType::Float64, false),
            Field::new("datam_frame", DataType::UInt32, true),
            Field::new("datam_journal_record", DataType::UInt32, true),
            Field::new("datam_raw", DataType::Binary, true),
        ];
        fields.extend(
            columns
                .iter()
                .map(|c| Field::new(column_name(c), value_type(), true)),
        );
        fields.push(Field::new(EXTRA_COLUMN, extra_type(), true));
        Self {
            schema: Arc::new(Schema::new(fields)),
            table: StringBuilder::new(),
            status: StringBuilder::new(),
            file: StringBuilder::new(),
            page: UInt32Builder::new(),
            offset: Int64Builder::new(),
            rowid: Int64Builder::new(),
            rowid_inferred: BooleanBuilder::new(),
            confidence: Float64Builder::new(),
            frame: UInt32Builder::new(),
            journal_record: UInt32Builder::new(),
            raw: BinaryBuilder::new(),
            cols: columns.iter().map(|_| ValueColumn::default()).collect(),
            extra: ValueColumn::default(),
            extra_offsets: vec![0],
            extra_valid: Vec::new(),
            rows: 0,
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows added since the last [`SqliteBatcher::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one row: `values` in schema order (missing trailing values are
    /// NULL, values beyond the columns go to `datam_extra_values`).
    pub fn push(&mut self, p: &Provenance<'_>, values: &[Value<'_>], enc: TextEncoding) {
        self.table.append_option(p.table);
        self.status.append_value(p.status);
        self.file.append_value(p.file);
        self.page.append_value(p.page);
        self.offset.append_value(p.offset);
        self.rowid.append_option(p.rowid);
        self.rowid_inferred.append_value(p.rowid_inferred);
        self.confidence
            .append_value((f64::from(p.confidence) * 100.0).round() / 100.0);
        self.frame.append_option(p.frame);
        self.journal_record.append_option(p.journal_record);
        self.raw.append_option(p.raw);
        for (i, c) in self.cols.iter_mut().enumerate() {
            c.push(values.get(i), enc);
        }
        let extra = values.get(self.cols.len()..).unwrap_or_default();
        for v in extra {
            self.extra.push(Some(v), enc);
        }
        let last = self.extra_offsets.last().copied().unwrap_or(0);
        let n = i32::try_from(extra.len()).unwrap_or(i32::MAX);
        self.extra_offsets.push(last.saturating_add(n));
        self.extra_valid.push(!extra.is_empty());
        self.rows = self.rows.saturating_add(1);
    }

    /// The rows added so far as one batch; the batcher starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.table.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.file.finish()),
            Arc::new(self.page.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.rowid.finish()),
            Arc::new(self.rowid_inferred.finish()),
            Arc::new(self.confidence.finish()),
            Arc::new(self.frame.finish()),
            Arc::new(self.journal_record.finish()),
            Arc::new(self.raw.finish()),
        ];
        for c in &mut self.cols {
            arrays.push(Arc::new(c.finish()?));
        }
        let values = self.extra.finish()?;
        let offsets = std::mem::replace(&mut self.extra_offsets, vec![0]);
        let valid = NullBuffer::from(std::mem::take(&mut self.extra_valid));
        let list = ListArray::try_new(
            Arc::new(extra_item()),
            OffsetBuffer::new(offsets.into()),
            Arc::new(values) as ArrayRef,
            Some(valid),
        )?;
        arrays.push(Arc::new(list));
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

pub(crate) fn extra_item() -> Field {
    Field::new("item", value_type(), true)
}

fn extra_type() -> DataType {
    DataType::List(Arc::new(extra_item()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;

    fn prov() -> Provenance<'static> {
        Provenance {
            table: Some("t"),
            status: "deleted",
            file: "a.db",
            page: 3,
            offset: 100,
            rowid: None,
            rowid_inferred: false,
            confidence: 0.666,
            frame: None,
            journal_record: Some(2),
            raw: None,
        }
    }

    #[test]
    fn storage_classes_kept_per_value_and_extra_values_listed() {
        let mut b = SqliteBatcher::new(&["a".into(), "datam_status".into()]);
        b.push(
            &prov(),
            &[Value::Text(b"7"), Value::Int(7)],
            TextEncoding::Utf8,
        );
        b.push(&prov(), &[Value::Null], TextEncoding::Utf8);
        b.push(
            &prov(),
            &[Value::Real(1.5), Value::Blob(b"\x00\x01"), Value::Int(9)],
            TextEncoding::Utf8,
        );
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 3);
        let s = batch.schema();
        // A user column named like a provenance column gets a suffix.
        assert_eq!(s.field(12).name(), "datam_status_");
        let a = batch.column(11).as_struct();
        assert_eq!(a.column(2).as_string::<i32>().value(0), "7");
        assert!(a.column(0).is_null(0));
        assert!(a.is_null(1), "SQL NULL is a null struct");
        assert_eq!(
            a.column(1)
                .as_primitive::<arrow_array::types::Float64Type>()
                .value(2),
            1.5
        );
        let st = batch.column(12).as_struct();
        assert_eq!(st.column(0).as_primitive::<Int64Type>().value(0), 7);
        assert!(st.is_null(1), "a missing trailing value is NULL");
        assert_eq!(st.column(3).as_binary::<i32>().value(2), b"\x00\x01");
        let extra = batch.column(13).as_list::<i32>();
        assert!(extra.is_null(0));
        let third = extra.value(2);
        let third = third.as_struct();
        assert_eq!(third.column(0).as_primitive::<Int64Type>().value(0), 9);
        let conf = batch
            .column(7)
            .as_primitive::<arrow_array::types::Float64Type>();
        assert_eq!(conf.value(0), 0.67);
        // Builders are reset.
        assert_eq!(b.finish().unwrap().num_rows(), 0);
    }
}
