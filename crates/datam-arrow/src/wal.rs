//! PostgreSQL WAL records as Arrow batches.
//!
//! ```text
//! lsn, prev, end       uint64         record start, xl_prev, end (LSN X/Y = hi 32 bits / lo 32 bits, hex)
//! rmgr                 utf8           resource manager (pg_waldump's name)
//! info                 utf8, null     record type name (null: unknown to this major)
//! xid                  uint32         xl_xid
//! len, total_len       uint32         record length without / with full-page images
//! fpi_len              uint32         bytes of full-page images
//! main_data_len        uint32
//! desc                 utf8           pg_waldump's description
//! blocks               list<struct<id uint8, spc uint32, db uint32, relfilenode uint32,
//!                           fork utf8, block uint32, fpi bool, fpi_len uint32 null,
//!                           compression utf8 null, data_len uint32>>
//! toplevel_xid         uint32, null   (subtransaction's top-level xid, when logged)
//! origin               uint16, null   replication origin
//! heap_op              utf8, null     insert / multi_insert / update / hot_update / delete
//! tuples               list<struct<role utf8, block uint32, offnum uint16, t_infomask2 uint16,
//!                           t_infomask uint16, t_hoff uint8, data binary,
//!                           prefix_len uint16, suffix_len uint16>>, null
//! ```
//! The columns up to `origin` are the fields of `datam pg wal --format
//! jsonl`, value for value (LSNs as integers instead of `X/Y` text). `tuples`
//! holds the heap tuples a heap record carries (`walparse::heap`): the
//! on-page tuple bytes from offset 23 (null bitmap, padding, attributes),
//! which a catalog turns into column values.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, StringBuilder, UInt8Builder, UInt16Builder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use walparse::heap::{HeapOp, TupleRole, heap_change};
use walparse::{PgMajor, Record};

use crate::Error;

fn block_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::UInt8, false),
        Field::new("spc", DataType::UInt32, false),
        Field::new("db", DataType::UInt32, false),
        Field::new("relfilenode", DataType::UInt32, false),
        Field::new("fork", DataType::Utf8, false),
        Field::new("block", DataType::UInt32, false),
        Field::new("fpi", DataType::Boolean, false),
        Field::new("fpi_len", DataType::UInt32, true),
        Field::new("compression", DataType::Utf8, true),
        Field::new("data_len", DataType::UInt32, false),
    ])
}

fn tuple_fields() -> Fields {
    Fields::from(vec![
        Field::new("role", DataType::Utf8, false),
        Field::new("block", DataType::UInt32, false),
        Field::new("offnum", DataType::UInt16, false),
        Field::new("t_infomask2", DataType::UInt16, false),
        Field::new("t_infomask", DataType::UInt16, false),
        Field::new("t_hoff", DataType::UInt8, false),
        Field::new("data", DataType::Binary, false),
        Field::new("prefix_len", DataType::UInt16, false),
        Field::new("suffix_len", DataType::UInt16, false),
    ])
}

fn list_of(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(fields),
        false,
    )))
}

/// The schema of every WAL batch.
pub fn schema() -> SchemaRef {
    let u32f = |n: &str| Field::new(n, DataType::UInt32, false);
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("prev", DataType::UInt64, false),
        Field::new("end", DataType::UInt64, false),
        Field::new("rmgr", DataType::Utf8, false),
        Field::new("info", DataType::Utf8, true),
        u32f("xid"),
        u32f("len"),
        u32f("total_len"),
        u32f("fpi_len"),
        u32f("main_data_len"),
        Field::new("desc", DataType::Utf8, false),
        Field::new("blocks", list_of(block_fields()), false),
        Field::new("toplevel_xid", DataType::UInt32, true),
        Field::new("origin", DataType::UInt16, true),
        Field::new("heap_op", DataType::Utf8, true),
        Field::new("tuples", list_of(tuple_fields()), true),
    ]))
}

#[derive(Debug, Default)]
struct Blocks {
    id: UInt8Builder,
    spc: UInt32Builder,
    db: UInt32Builder,
    relfilenode: UInt32Builder,
    fork: StringBuilder,
    block: UInt32Builder,
    fpi: BooleanBuilder,
    fpi_len: UInt32Builder,
    compression: StringBuilder,
    data_len: UInt32Builder,
    offsets: Vec<i32>,
}

impl Blocks {
    fn push(&mut self, r: &Record<'_>) {
        for b in &r.blocks {
            self.id.append_value(b.id);
            self.spc.append_value(b.locator.spc_oid);
            self.db.append_value(b.locator.db_oid);
            self.relfilenode.append_value(b.locator.rel_number);
            self.fork.append_value(b.fork_name());
            self.block.append_value(b.block);
            self.fpi.append_value(b.image.is_some());
            self.fpi_len
                .append_option(b.image.map(|i| len_u32(i.bytes.len())));
            self.compression
                .append_option(b.image.map(|i| i.compression.name()));
            self.data_len.append_value(len_u32(b.data.len()));
        }
        push_offset(&mut self.offsets, r.blocks.len());
    }

    fn finish(&mut self) -> Result<ListArray, Error> {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.spc.finish()),
            Arc::new(self.db.finish()),
            Arc::new(self.relfilenode.finish()),
            Arc::new(self.fork.finish()),
            Arc::new(self.block.finish()),
            Arc::new(self.fpi.finish()),
            Arc::new(self.fpi_len.finish()),
            Arc::new(self.compression.finish()),
            Arc::new(self.data_len.finish()),
        ];
        list_array(block_fields(), arrays, &mut self.offsets, None)
    }
}

#[derive(Debug, Default)]
struct Tuples {
    role: StringBuilder,
    block: UInt32Builder,
    offnum: UInt16Builder,
    t_infomask2: UInt16Builder,
    t_infomask: UInt16Builder,
    t_hoff: UInt8Builder,
    data: BinaryBuilder,
    prefix_len: UInt16Builder,
    suffix_len: UInt16Builder,
    offsets: Vec<i32>,
    valid: Vec<bool>,
    op: StringBuilder,
}

fn op_name(op: HeapOp) -> &'static str {
    match op {
        HeapOp::Insert => "insert",
        HeapOp::MultiInsert => "multi_insert",
        HeapOp::Update => "update",
        HeapOp::HotUpdate => "hot_update",
        HeapOp::Delete => "delete",
    }
}

fn role_name(r: TupleRole) -> &'static str {
    match r {
        TupleRole::New => "new",
        TupleRole::Old => "old",
        TupleRole::OldKey => "old_key",
    }
}

impl Tuples {
    fn push(&mut self, r: &Record<'_>) {
        let Some(ch) = heap_change(r) else {
            self.op.append_null();
            push_offset(&mut self.offsets, 0);
            self.valid.push(false);
            return;
        };
        self.op.append_value(op_name(ch.op));
        for t in &ch.tuples {
            self.role.append_value(role_name(t.role));
            self.block.append_value(t.block);
            self.offnum.append_value(t.offnum);
            self.t_infomask2.append_value(t.t_infomask2);
            self.t_infomask.append_value(t.t_infomask);
            self.t_hoff.append_value(t.t_hoff);
            self.data.append_value(t.data);
            self.prefix_len.append_value(t.prefix_len);
            self.suffix_len.append_value(t.suffix_len);
        }
        push_offset(&mut self.offsets, ch.tuples.len());
        self.valid.push(true);
    }

    fn finish(&mut self) -> Result<ListArray, Error> {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(self.role.finish()),
            Arc::new(self.block.finish()),
            Arc::new(self.offnum.finish()),
            Arc::new(self.t_infomask2.finish()),
            Arc::new(self.t_infomask.finish()),
            Arc::new(self.t_hoff.finish()),
            Arc::new(self.data.finish()),
            Arc::new(self.prefix_len.finish()),
            Arc::new(self.suffix_len.finish()),
        ];
        let valid = NullBuffer::from(std::mem::take(&mut self.valid));
        list_array(tuple_fields(), arrays, &mut self.offsets, Some(valid))
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn push_offset(offsets: &mut Vec<i32>, n: usize) {
    if offsets.is_empty() {
        offsets.push(0);
    }
    let last = offsets.last().copied().unwrap_or(0);
    offsets.push(last.saturating_add(i32::try_from(n).unwrap_or(i32::MAX)));
}

fn list_array(
    fields: Fields,
    arrays: Vec<ArrayRef>,
    offsets: &mut Vec<i32>,
    valid: Option<NullBuffer>,
) -> Result<ListArray, Error> {
    let values = StructArray::try_new(fields.clone(), arrays, None)?;
    let mut offs = std::mem::take(offsets);
    if offs.is_empty() {
        offs.push(0);
    }
    let item = Field::new("item", DataType::Struct(fields), false);
    Ok(ListArray::try_new(
        Arc::new(item),
        OffsetBuffer::new(offs.into()),
        Arc::new(values),
        valid,
    )?)
}

/// Accumulates WAL records and hands them out as batches.
#[derive(Debug)]
pub struct WalBatcher {
    major: PgMajor,
    schema: SchemaRef,
    lsn: UInt64Builder,
    prev: UInt64Builder,
    end: UInt64Builder,
    rmgr: StringBuilder,
    info: StringBuilder,
    xid: UInt32Builder,
    len: UInt32Builder,
    total_len: UInt32Builder,
    fpi_len: UInt32Builder,
    main_data_len: UInt32Builder,
    desc: StringBuilder,
    blocks: Blocks,
    toplevel_xid: UInt32Builder,
    origin: UInt16Builder,
    tuples: Tuples,
    rows: usize,
}

impl WalBatcher {
    /// A batcher for records of `major` (names and descriptions depend on it).
    pub fn new(major: PgMajor) -> Self {
        Self {
            major,
            schema: schema(),
            lsn: UInt64Builder::new(),
            prev: UInt64Builder::new(),
            end: UInt64Builder::new(),
            rmgr: StringBuilder::new(),
            info: StringBuilder::new(),
            xid: UInt32Builder::new(),
            len: UInt32Builder::new(),
            total_len: UInt32Builder::new(),
            fpi_len: UInt32Builder::new(),
            main_data_len: UInt32Builder::new(),
            desc: StringBuilder::new(),
            blocks: Blocks::default(),
            toplevel_xid: UInt32Builder::new(),
            origin: UInt16Builder::new(),
            tuples: Tuples::default(),
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

    /// Adds one record.
    pub fn push(&mut self, r: &Record<'_>) {
        self.lsn.append_value(r.lsn.0);
        self.prev.append_value(r.prev().0);
        self.end.append_value(r.end.0);
        self.rmgr
            .append_value(walparse::rmgr::rmgr_name(r.rmid()).as_ref());
        self.info.append_option(walparse::rmgr::record_type_name(
            self.major,
            r.rmid(),
            r.hdr.xl_info,
        ));
        self.xid.append_value(r.xid());
        self.len.append_value(r.rec_len());
        self.total_len.append_value(r.total_len());
        self.fpi_len.append_value(r.fpi_len());
        self.main_data_len.append_value(len_u32(r.main_data.len()));
        self.desc
            .append_value(walparse::desc::describe(self.major, r));
        self.blocks.push(r);
        self.toplevel_xid.append_option(r.toplevel_xid);
        self.origin.append_option(r.origin);
        self.tuples.push(r);
        self.rows = self.rows.saturating_add(1);
    }

    /// The records added so far as one batch; the batcher starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(self.lsn.finish()),
            Arc::new(self.prev.finish()),
            Arc::new(self.end.finish()),
            Arc::new(self.rmgr.finish()),
            Arc::new(self.info.finish()),
            Arc::new(self.xid.finish()),
            Arc::new(self.len.finish()),
            Arc::new(self.total_len.finish()),
            Arc::new(self.fpi_len.finish()),
            Arc::new(self.main_data_len.finish()),
            Arc::new(self.desc.finish()),
            Arc::new(self.blocks.finish()?),
            Arc::new(self.toplevel_xid.finish()),
            Arc::new(self.origin.finish()),
            Arc::new(self.tuples.op.finish()),
            Arc::new(self.tuples.finish()?),
        ];
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}
