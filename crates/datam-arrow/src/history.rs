//! SQLite row versions (`sqlite history`) as Arrow batches.
//!
//! ```text
//! table          utf8
//! rowid          int64, null
//! key            utf8            the rowid, or the primary-key values joined with `|`
//! status         utf8            live, wal-old, wal-uncommitted, journal-old, ...
//! change         utf8            first-seen, updated, deleted, reinserted, carved
//! changed        list<utf8>      columns that differ from the previous version
//! values         list<struct<int, real, text, blob>>, null   null for a deletion
//! stage          utf8            where the version was first seen
//! page           uint32, null    page and cell offset it was read from
//! offset         uint64, null
//! file           utf8            the database, -wal or -journal file
//! frame, frame_offset, frame_status, commit, salt1, salt2   -wal provenance, null elsewhere
//! journal_page, journal_offset                             -journal provenance
//! carved_from    utf8, null      deleted / unallocated for carved versions
//! ```
//! The columns are the keys of `datam sqlite history --format jsonl`, value
//! for value; `values` keeps each value's storage class (see
//! [`crate::sqlite::value_type`]; reals keep infinities the JSON prints as
//! null).

use std::sync::Arc;

use arrow_array::builder::Int64Builder;
use arrow_array::builder::{ListBuilder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, ListArray, RecordBatch};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rowcodec::sqlite::TextEncoding;
use sqlite_pages::history::Version;

use crate::Error;
use crate::sqlite::{ValueColumn, extra_item};

/// The schema of every history batch.
pub fn schema() -> SchemaRef {
    let utf8 = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let u32f = |n: &str| Field::new(n, DataType::UInt32, true);
    let u64f = |n: &str| Field::new(n, DataType::UInt64, true);
    let changed = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    Arc::new(Schema::new(vec![
        utf8("table", false),
        Field::new("rowid", DataType::Int64, true),
        utf8("key", false),
        utf8("status", false),
        utf8("change", false),
        Field::new("changed", changed, false),
        Field::new("values", DataType::List(Arc::new(extra_item())), true),
        utf8("stage", false),
        u32f("page"),
        u64f("offset"),
        utf8("file", false),
        u32f("frame"),
        u64f("frame_offset"),
        utf8("frame_status", true),
        u32f("commit"),
        u32f("salt1"),
        u32f("salt2"),
        u32f("journal_page"),
        u64f("journal_offset"),
        utf8("carved_from", true),
    ]))
}

/// Accumulates row versions and hands them out as batches.
#[derive(Debug)]
pub struct HistoryBatcher {
    schema: SchemaRef,
    /// table, key, status, change, stage, file, frame_status, carved_from.
    text: [StringBuilder; 8],
    rowid: Int64Builder,
    changed: ListBuilder<StringBuilder>,
    values: ValueColumn,
    value_offsets: Vec<i32>,
    value_valid: Vec<bool>,
    /// page, frame, commit, salt1, salt2, journal_page.
    u32s: [UInt32Builder; 6],
    /// offset, frame_offset, journal_offset.
    u64s: [UInt64Builder; 3],
    rows: usize,
}

impl Default for HistoryBatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl HistoryBatcher {
    /// An empty batcher.
    pub fn new() -> Self {
        Self {
            schema: schema(),
            text: Default::default(),
            rowid: Int64Builder::new(),
            changed: ListBuilder::new(StringBuilder::new()),
            values: ValueColumn::default(),
            value_offsets: vec![0],
            value_valid: Vec::new(),
            u32s: Default::default(),
            u64s: Default::default(),
            rows: 0,
        }
    }

    /// Rows added since the last finish.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one version read from `file`.
    pub fn push(&mut self, v: &Version, file: &str) {
        let [
            table,
            key,
            status,
            change,
            stage,
            filec,
            frame_status,
            carved,
        ] = &mut self.text;
        table.append_value(&v.table);
        key.append_value(&v.key);
        status.append_value(v.status.name());
        change.append_value(v.change);
        stage.append_value(v.stage.label());
        filec.append_value(file);
        frame_status.append_option(v.frame.map(|f| f.status.name()));
        carved.append_option(v.carved.map(|c| c.from.name()));
        self.rowid.append_option(v.rowid);
        for c in &v.changed {
            self.changed.values().append_value(c);
        }
        self.changed.append(true);
        let n = v.values.as_ref().map_or(0, |vs| {
            for x in vs {
                self.values.push(Some(&x.as_value()), TextEncoding::Utf8);
            }
            vs.len()
        });
        let last = self.value_offsets.last().copied().unwrap_or(0);
        self.value_offsets
            .push(last.saturating_add(i32::try_from(n).unwrap_or(i32::MAX)));
        self.value_valid.push(v.values.is_some());
        let [page, frame, commit, salt1, salt2, jpage] = &mut self.u32s;
        page.append_option(v.page.map(|p| p.0));
        frame.append_option(v.frame.map(|f| f.frame_no));
        commit.append_option(v.frame.and_then(|f| f.commit_idx));
        salt1.append_option(v.frame.map(|f| f.salts.0));
        salt2.append_option(v.frame.map(|f| f.salts.1));
        jpage.append_option(v.journal.map(|j| j.pgno));
        let [offset, frame_offset, joff] = &mut self.u64s;
        offset.append_option(v.page.map(|p| p.1 as u64));
        frame_offset.append_option(v.frame.map(|f| f.offset));
        joff.append_option(v.journal.map(|j| j.offset));
        self.rows = self.rows.saturating_add(1);
    }

    /// The versions added so far as one batch; the batcher starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let [
            table,
            key,
            status,
            change,
            stage,
            file,
            frame_status,
            carved,
        ] = &mut self.text;
        let [page, frame, commit, salt1, salt2, jpage] = &mut self.u32s;
        let [offset, frame_offset, joff] = &mut self.u64s;
        let values = ListArray::try_new(
            Arc::new(extra_item()),
            OffsetBuffer::new(std::mem::replace(&mut self.value_offsets, vec![0]).into()),
            Arc::new(self.values.finish()?) as ArrayRef,
            Some(NullBuffer::from(std::mem::take(&mut self.value_valid))),
        )?;
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(table.finish()),
            Arc::new(self.rowid.finish()),
            Arc::new(key.finish()),
            Arc::new(status.finish()),
            Arc::new(change.finish()),
            Arc::new(self.changed.finish()),
            Arc::new(values),
            Arc::new(stage.finish()),
            Arc::new(page.finish()),
            Arc::new(offset.finish()),
            Arc::new(file.finish()),
            Arc::new(frame.finish()),
            Arc::new(frame_offset.finish()),
            Arc::new(frame_status.finish()),
            Arc::new(commit.finish()),
            Arc::new(salt1.finish()),
            Arc::new(salt2.finish()),
            Arc::new(jpage.finish()),
            Arc::new(joff.finish()),
            Arc::new(carved.finish()),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}
