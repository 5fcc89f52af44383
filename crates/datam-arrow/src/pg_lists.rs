//! The listings of `pg tables` and `pg xacts` as Arrow batches, column for
//! column the keys of their `--format jsonl` lines (LSNs as uint64).
//!
//! ```text
//! tables: db, schema, table utf8; oid, relfilenode, pages uint32;
//!         live_tuples, dead_tuples uint64; toast_table utf8 null;
//!         kind utf8; children list<utf8>
//! xacts:  xid uint32; commit_lsn, commit_end uint64; commit_time utf8 (as the CLI prints it);
//!         first_lsn utf8 ("" when no heap record); prepared bool; subxacts list<uint32>;
//!         tables list<struct<db_oid uint32, relfilenode uint32, table utf8,
//!                            inserted, updated, deleted uint64>>
//! ```

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::{
    ArrayRef, BooleanArray, ListArray, RecordBatch, StringArray, StructArray, UInt32Array,
    UInt64Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use datam_core::pg::dump::TableInfo;
use datam_core::pg::rescue::XactInfo;

use crate::Error;

fn strs<'r, T: 'r>(rows: &'r [T], f: impl Fn(&'r T) -> Option<&'r str>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

fn u32s<T>(rows: &[T], f: impl Fn(&T) -> u32) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(rows.iter().map(f)))
}

fn u64s<T>(rows: &[T], f: impl Fn(&T) -> u64) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(rows.iter().map(f)))
}

/// `pg tables` rows as one batch.
pub fn tables_batch(rows: &[TableInfo]) -> Result<RecordBatch, Error> {
    let s = |n: &str, null| Field::new(n, DataType::Utf8, null);
    let child_item = Arc::new(Field::new("item", DataType::Utf8, false));
    let schema = Arc::new(Schema::new(vec![
        s("db", false),
        s("schema", false),
        s("table", false),
        Field::new("oid", DataType::UInt32, false),
        Field::new("relfilenode", DataType::UInt32, false),
        Field::new("pages", DataType::UInt32, false),
        Field::new("live_tuples", DataType::UInt64, false),
        Field::new("dead_tuples", DataType::UInt64, false),
        s("toast_table", true),
        s("kind", false),
        Field::new("children", DataType::List(child_item.clone()), false),
    ]));
    let mut children = ListBuilder::new(StringBuilder::new()).with_field(child_item);
    for r in rows {
        for c in &r.children {
            children.values().append_value(c);
        }
        children.append(true);
    }
    let arrays: Vec<ArrayRef> = vec![
        strs(rows, |r| Some(&r.db)),
        strs(rows, |r| Some(&r.schema)),
        strs(rows, |r| Some(&r.table)),
        u32s(rows, |r| r.oid),
        u32s(rows, |r| r.relfilenode),
        u32s(rows, |r| r.pages),
        u64s(rows, |r| r.live_tuples),
        u64s(rows, |r| r.dead_tuples),
        strs(rows, |r| r.toast_table.as_deref()),
        strs(rows, |r| Some(&r.kind)),
        Arc::new(children.finish()),
    ];
    Ok(RecordBatch::try_new(schema, arrays)?)
}

fn xact_table_fields() -> Fields {
    Fields::from(vec![
        Field::new("db_oid", DataType::UInt32, false),
        Field::new("relfilenode", DataType::UInt32, false),
        Field::new("table", DataType::Utf8, false),
        Field::new("inserted", DataType::UInt64, false),
        Field::new("updated", DataType::UInt64, false),
        Field::new("deleted", DataType::UInt64, false),
    ])
}

/// `pg xacts` rows as one batch.
pub fn xacts_batch(rows: &[XactInfo]) -> Result<RecordBatch, Error> {
    let item = Arc::new(Field::new(
        "item",
        DataType::Struct(xact_table_fields()),
        false,
    ));
    let sub_item = Arc::new(Field::new("item", DataType::UInt32, false));
    let schema = Arc::new(Schema::new(vec![
        Field::new("xid", DataType::UInt32, false),
        Field::new("commit_lsn", DataType::UInt64, false),
        Field::new("commit_end", DataType::UInt64, false),
        Field::new("commit_time", DataType::Utf8, false),
        Field::new("first_lsn", DataType::Utf8, false),
        Field::new("prepared", DataType::Boolean, false),
        Field::new("subxacts", DataType::List(sub_item.clone()), false),
        Field::new("tables", DataType::List(item.clone()), false),
    ]));
    let mut subxacts = ListBuilder::new(UInt32Builder::new()).with_field(sub_item);
    for r in rows {
        subxacts.values().append_slice(&r.subxacts);
        subxacts.append(true);
    }
    let per: Vec<_> = rows.iter().flat_map(|r| &r.tables).collect();
    let children: Vec<ArrayRef> = vec![
        u32s(&per, |t| t.db_oid),
        u32s(&per, |t| t.relfilenode),
        strs(&per, |t| Some(&t.table)),
        u64s(&per, |t| t.inserted),
        u64s(&per, |t| t.updated),
        u64s(&per, |t| t.deleted),
    ];
    let tables = ListArray::try_new(
        item,
        OffsetBuffer::from_lengths(rows.iter().map(|r| r.tables.len())),
        Arc::new(StructArray::try_new(xact_table_fields(), children, None)?),
        None,
    )?;
    let arrays: Vec<ArrayRef> = vec![
        u32s(rows, |r| r.xid),
        u64s(rows, |r| r.commit_lsn.0),
        u64s(rows, |r| r.commit_end.0),
        strs(rows, |r| Some(&r.commit_time)),
        strs(rows, |r| Some(&r.first_lsn)),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.prepared))
                .collect::<BooleanArray>(),
        ),
        Arc::new(subxacts.finish()),
        Arc::new(tables),
    ];
    Ok(RecordBatch::try_new(schema, arrays)?)
}
