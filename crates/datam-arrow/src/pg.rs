//! Rows of a PostgreSQL table as Arrow batches, typed from the column types.
//!
//! ```text
//! datam_file    utf8     relation segment file      datam_block  uint32   heap block
//! datam_lp      uint16   line pointer               datam_xmin   uint32
//! datam_xmax    uint32                              datam_status utf8     live / dead / carved
//! datam_source  utf8     only in `--dead`'s batches: heap / carve / wal (file empty for wal)
//! <column>      by base type (domains followed):
//!   bool → boolean         int2 → int16           int4 → int32         int8 → int64
//!   oid → uint32           float4 → float32       float8 → float64
//!   numeric(p,s), p ≤ 38 → decimal128(p, s)       numeric otherwise → utf8 (server text)
//!   date → date32          timestamp → timestamp[us]     timestamptz → timestamp[us, UTC]
//!   uuid → fixed_size_binary(16)                  bytea → binary
//!   one-dimensional arrays of the above → list<element type>
//!   everything else (text, varchar, json, jsonb, enums, ranges, ...) → utf8, the text
//!   the server's output function prints (rowcodec::pg)
//! ```
//! A value the Arrow type cannot hold — numeric `NaN`/`Infinity` in a
//! decimal column, `infinity` dates and timestamps, a multi-dimensional array,
//! a value pgdata could not rebuild — is null in the batch and reported as a
//! [`Lossy`] note with its server text, never guessed.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use pgdata::table::{ScanRow, Value};
use rowcodec::pg::{TypeCatalog, output};

use crate::{Error, Lossy};

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// How one column's datums become Arrow values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `bool`.
    Bool,
    /// `int2`.
    Int16,
    /// `int4`.
    Int32,
    /// `int8`.
    Int64,
    /// `oid` (and `xid`, `cid`, `regclass`-like 4-byte unsigned types).
    UInt32,
    /// `float4`.
    Float32,
    /// `float8`.
    Float64,
    /// `numeric(p, s)` with `p <= 38`.
    Decimal {
        /// Precision.
        precision: u8,
        /// Scale.
        scale: i8,
    },
    /// `date`.
    Date,
    /// `timestamp` (`utc`: `timestamptz`).
    Timestamp {
        /// With time zone (UTC).
        utc: bool,
    },
    /// `uuid`.
    Uuid,
    /// `bytea`.
    Bytes,
    /// Anything else: the server's text.
    Text {
        /// The type to print.
        type_oid: u32,
        /// Its typmod.
        typmod: i32,
    },
    /// A one-dimensional array.
    List {
        /// The element kind.
        elem: Box<Kind>,
        /// Element `typlen`.
        typlen: i16,
        /// Element `typalign` (`c`, `s`, `i`, `d`).
        typalign: u8,
    },
}

impl Kind {
    /// The Arrow type of this kind.
    pub fn data_type(&self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int16 => DataType::Int16,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::UInt32 => DataType::UInt32,
            Kind::Float32 => DataType::Float32,
            Kind::Float64 => DataType::Float64,
            Kind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            Kind::Date => DataType::Date32,
            Kind::Timestamp { utc } => {
                DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| "UTC".into()))
            }
            Kind::Uuid => DataType::FixedSizeBinary(16),
            Kind::Bytes => DataType::Binary,
            Kind::Text { .. } => DataType::Utf8,
            Kind::List { elem, .. } => {
                DataType::List(Arc::new(Field::new("item", elem.data_type(), true)))
            }
        }
    }
}

/// The [`Kind`] of a column of type `type_oid` with `typmod`.
pub fn arrow_type(cat: &dyn TypeCatalog, type_oid: u32, typmod: i32) -> Kind {
    kind_of(cat, type_oid, typmod, 0)
}

fn kind_of(cat: &dyn TypeCatalog, type_oid: u32, typmod: i32, depth: u8) -> Kind {
    let text = Kind::Text { type_oid, typmod };
    let Some(info) = cat.type_info(type_oid) else {
        return text;
    };
    if depth > 16 {
        return text;
    }
    if info.typtype == b'd' && info.typbasetype != 0 {
        return match kind_of(cat, info.typbasetype, typmod, depth.saturating_add(1)) {
            Kind::Text { .. } => text,
            k => k,
        };
    }
    match info.typoutput.as_str() {
        "boolout" => Kind::Bool,
        "int2out" => Kind::Int16,
        "int4out" => Kind::Int32,
        "int8out" => Kind::Int64,
        "oidout" => Kind::UInt32,
        "float4out" => Kind::Float32,
        "float8out" => Kind::Float64,
        "numeric_out" => decimal_kind(typmod).unwrap_or(text),
        "date_out" => Kind::Date,
        "timestamp_out" => Kind::Timestamp { utc: false },
        "timestamptz_out" => Kind::Timestamp { utc: true },
        "uuid_out" => Kind::Uuid,
        "byteaout" => Kind::Bytes,
        "array_out" if info.typlen == -1 && info.typelem != 0 && depth == 0 => {
            let elem = kind_of(cat, info.typelem, -1, 1);
            match (&elem, cat.type_info(info.typelem)) {
                (Kind::List { .. }, _) | (_, None) => text,
                (_, Some(e)) => Kind::List {
                    elem: Box::new(elem),
                    typlen: e.typlen,
                    typalign: e.typalign,
                },
            }
        }
        _ => text,
    }
}

/// `numeric(p, s)` → decimal128 when `p <= 38` (typmod = (p << 16 | s) + 4).
fn decimal_kind(typmod: i32) -> Option<Kind> {
    let t = typmod.checked_sub(4).filter(|t| *t >= 0)?;
    let precision = u8::try_from((t >> 16) & 0xffff).ok()?;
    // The scale is an 11-bit signed field since PG 15.
    let raw = t & 0x7ff;
    let scale = if raw & 0x400 != 0 { raw - 0x800 } else { raw };
    let scale = i8::try_from(scale).ok()?;
    (1..=38)
        .contains(&precision)
        .then_some(Kind::Decimal { precision, scale })
        .filter(|_| scale >= 0 && i32::from(scale) <= i32::from(precision))
}

/// Server text of a numeric → the unscaled i128 at `scale`; `None` for
/// NaN/Infinity or text that does not fit.
fn decimal_value(text: &str, scale: i8) -> Option<i128> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let scale = usize::try_from(scale).ok()?;
    if frac.len() > scale || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    for _ in frac.len()..scale {
        v = v.checked_mul(10)?;
    }
    Some(if neg { -v } else { v })
}

/// One column's builder.
#[derive(Debug)]
enum Col {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U32(UInt32Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, i8),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Bytes(BinaryBuilder),
    Text(StringBuilder, u32, i32),
    List {
        child: Box<Col>,
        typlen: i16,
        typalign: u8,
        offsets: Vec<i32>,
        valid: Vec<bool>,
        field: Arc<Field>,
    },
}

fn le<const N: usize>(d: &[u8]) -> Option<[u8; N]> {
    d.get(..N)?.try_into().ok()
}

impl Col {
    fn new(k: &Kind) -> Self {
        match k {
            Kind::Bool => Col::Bool(BooleanBuilder::new()),
            Kind::Int16 => Col::I16(Int16Builder::new()),
            Kind::Int32 => Col::I32(Int32Builder::new()),
            Kind::Int64 => Col::I64(Int64Builder::new()),
            Kind::UInt32 => Col::U32(UInt32Builder::new()),
            Kind::Float32 => Col::F32(Float32Builder::new()),
            Kind::Float64 => Col::F64(Float64Builder::new()),
            Kind::Decimal { precision, scale } => Col::Dec(
                Decimal128Builder::new()
                    .with_precision_and_scale(*precision, *scale)
                    .unwrap_or_default(),
                *scale,
            ),
            Kind::Date => Col::Date(Date32Builder::new()),
            Kind::Timestamp { utc } => {
                Col::Ts(TimestampMicrosecondBuilder::new().with_timezone_opt(utc.then_some("UTC")))
            }
            Kind::Uuid => Col::Uuid(FixedSizeBinaryBuilder::new(16)),
            Kind::Bytes => Col::Bytes(BinaryBuilder::new()),
            Kind::Text { type_oid, typmod } => Col::Text(StringBuilder::new(), *type_oid, *typmod),
            Kind::List {
                elem,
                typlen,
                typalign,
            } => Col::List {
                child: Box::new(Col::new(elem)),
                typlen: *typlen,
                typalign: *typalign,
                offsets: vec![0],
                valid: Vec::new(),
                field: Arc::new(Field::new("item", elem.data_type(), true)),
            },
        }
    }

    fn null(&mut self) {
        match self {
            Col::Bool(b) => b.append_null(),
            Col::I16(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::I64(b) => b.append_null(),
            Col::U32(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Dec(b, _) => b.append_null(),
            Col::Date(b) => b.append_null(),
            Col::Ts(b) => b.append_null(),
            Col::Uuid(b) => b.append_null(),
            Col::Bytes(b) => b.append_null(),
            Col::Text(b, ..) => b.append_null(),
            Col::List { offsets, valid, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                valid.push(false);
            }
        }
    }

    /// Appends one datum; `Err(reason)` when it was appended as null.
    fn datum(&mut self, cat: &dyn TypeCatalog, d: &[u8]) -> Result<(), &'static str> {
        let short = "datum shorter than its type";
        match self {
            Col::Bool(b) => b.append_value(d.first().ok_or(short)? != &0),
            Col::I16(b) => b.append_value(i16::from_le_bytes(le(d).ok_or(short)?)),
            Col::I32(b) => b.append_value(i32::from_le_bytes(le(d).ok_or(short)?)),
            Col::I64(b) => b.append_value(i64::from_le_bytes(le(d).ok_or(short)?)),
            Col::U32(b) => b.append_value(u32::from_le_bytes(le(d).ok_or(short)?)),
            Col::F32(b) => b.append_value(f32::from_le_bytes(le(d).ok_or(short)?)),
            Col::F64(b) => b.append_value(f64::from_le_bytes(le(d).ok_or(short)?)),
            Col::Dec(b, scale) => {
                let t = output(cat, 1700, -1, d).map_err(|_| "undecodable numeric")?;
                let v = decimal_value(&t, *scale).ok_or("numeric NaN or Infinity in decimal128")?;
                b.append_value(v);
            }
            Col::Date(b) => {
                let v = i32::from_le_bytes(le(d).ok_or(short)?);
                let v = (v != i32::MAX && v != i32::MIN)
                    .then(|| v.checked_add(PG_EPOCH_DAYS))
                    .flatten()
                    .ok_or("infinite or out-of-range date")?;
                b.append_value(v);
            }
            Col::Ts(b) => {
                let v = i64::from_le_bytes(le(d).ok_or(short)?);
                let v = (v != i64::MAX && v != i64::MIN)
                    .then(|| v.checked_add(PG_EPOCH_MICROS))
                    .flatten()
                    .ok_or("infinite or out-of-range timestamp")?;
                b.append_value(v);
            }
            Col::Uuid(b) => b
                .append_value(d.get(..16).ok_or(short)?)
                .map_err(|_| "bad uuid length")?,
            Col::Bytes(b) => b.append_value(d),
            Col::Text(b, oid, typmod) => match output(cat, *oid, *typmod, d) {
                Ok(t) => b.append_value(t),
                Err(_) => {
                    // As the CLI: the raw bytes in hex.
                    let mut s = String::from("\\x");
                    for x in d {
                        s.push_str(&format!("{x:02x}"));
                    }
                    b.append_value(s);
                    return Err("no output function; raw bytes printed as hex");
                }
            },
            Col::List {
                child,
                typlen,
                typalign,
                offsets,
                valid,
                ..
            } => {
                let items = array_items(d, *typlen, *typalign)?;
                let n = items.len();
                for it in items {
                    match it {
                        Some(e) => {
                            if child.datum(cat, e).is_err() {
                                return Err("array element not representable");
                            }
                        }
                        None => child.null(),
                    }
                }
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last.saturating_add(i32::try_from(n).unwrap_or(i32::MAX)));
                valid.push(true);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<ArrayRef, Error> {
        Ok(match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Dec(b, _) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
            Col::Uuid(b) => Arc::new(b.finish()),
            Col::Bytes(b) => Arc::new(b.finish()),
            Col::Text(b, ..) => Arc::new(b.finish()),
            Col::List {
                child,
                offsets,
                valid,
                field,
                ..
            } => {
                let values = child.finish()?;
                let offs = std::mem::replace(offsets, vec![0]);
                let nulls = NullBuffer::from(std::mem::take(valid));
                Arc::new(ListArray::try_new(
                    field.clone(),
                    OffsetBuffer::new(offs.into()),
                    values,
                    Some(nulls),
                )?)
            }
        })
    }
}

fn i32_at(d: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn align(pos: usize, typalign: u8) -> usize {
    let a = match typalign {
        b'd' => 8,
        b'i' => 4,
        b's' => 2,
        _ => 1,
    };
    pos.div_ceil(a).saturating_mul(a)
}

/// The elements of a one-dimensional array payload (after its 4-byte
/// varlena header; offsets in the format count that header), `None` for
/// NULL elements. See `rowcodec::pg`'s array module for the layout.
fn array_items(d: &[u8], typlen: i16, typalign: u8) -> Result<Vec<Option<&[u8]>>, &'static str> {
    const HDR: usize = 4;
    let bad = "malformed array";
    let ndim = i32_at(d, 0).ok_or(bad)?;
    if ndim == 0 {
        return Ok(Vec::new());
    }
    if ndim != 1 {
        return Err("multi-dimensional array (only one dimension maps to a list)");
    }
    let dataoffset = i32_at(d, 4).ok_or(bad)?;
    let n = usize::try_from(i32_at(d, 12).ok_or(bad)?).map_err(|_| bad)?;
    // Every element takes at least one bit of the input, so `n` is bounded by it.
    if n > d.len().saturating_mul(8) {
        return Err(bad);
    }
    let bitmap = (dataoffset != 0)
        .then(|| d.get(20..20 + n.div_ceil(8)))
        .flatten();
    if dataoffset != 0 && bitmap.is_none() {
        return Err(bad);
    }
    let start = if dataoffset != 0 {
        usize::try_from(dataoffset).map_err(|_| bad)?
    } else {
        align(HDR + 20, b'd')
    };
    // Positions are counted from the varlena start.
    let mut pos = start;
    let mut out = Vec::with_capacity(n.min(1 << 16));
    for i in 0..n {
        let present = bitmap
            .map(|b| b.get(i / 8).is_some_and(|x| x & (1 << (i % 8)) != 0))
            .unwrap_or(true);
        if !present {
            out.push(None);
            continue;
        }
        let at = |p: usize| p.checked_sub(HDR).and_then(|q| d.get(q..));
        let (elem, len) = if typlen > 0 {
            pos = align(pos, typalign);
            let len = usize::try_from(typlen).map_err(|_| bad)?;
            (at(pos).and_then(|r| r.get(..len)).ok_or(bad)?, len)
        } else if typlen == -1 {
            let first = *at(pos).and_then(|r| r.first()).ok_or(bad)?;
            if first & 1 == 1 && first != 1 {
                let len = usize::from(first >> 1);
                (at(pos).and_then(|r| r.get(1..len)).ok_or(bad)?, len)
            } else {
                pos = align(pos, typalign);
                let h = at(pos).and_then(|r| r.get(..4)).ok_or(bad)?;
                let len = usize::try_from(u32::from_le_bytes(h.try_into().map_err(|_| bad)?) >> 2)
                    .map_err(|_| bad)?;
                (at(pos).and_then(|r| r.get(4..len)).ok_or(bad)?, len)
            }
        } else {
            return Err("cstring array elements");
        };
        out.push(Some(elem));
        pos = pos.checked_add(len).ok_or(bad)?;
    }
    Ok(out)
}

/// One column of a dump: its name, type and typmod.
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// `atttypid`.
    pub type_oid: u32,
    /// `atttypmod`.
    pub typmod: i32,
}

/// Accumulates rows of one table and hands them out as batches.
#[derive(Debug)]
pub struct DumpBatcher {
    schema: SchemaRef,
    names: Vec<String>,
    file: StringBuilder,
    block: UInt32Builder,
    lp: UInt16Builder,
    xmin: UInt32Builder,
    xmax: UInt32Builder,
    status: StringBuilder,
    /// `datam_source` (the batches of `--dead`'s row versions).
    source: Option<StringBuilder>,
    cols: Vec<Col>,
    rows: usize,
    /// Values written as null because their Arrow type cannot hold them.
    pub lossy: Vec<Lossy>,
}

impl DumpBatcher {
    /// A batcher for `columns` typed through `cat`.
    pub fn new(cat: &dyn TypeCatalog, columns: &[ColumnSpec]) -> Self {
        Self::build(cat, columns, false)
    }

    /// A batcher for `--dead`'s row versions: with a `datam_source` column
    /// after `datam_status` (`heap`, `carve`, `wal`).
    pub fn versions(cat: &dyn TypeCatalog, columns: &[ColumnSpec]) -> Self {
        Self::build(cat, columns, true)
    }

    fn build(cat: &dyn TypeCatalog, columns: &[ColumnSpec], with_source: bool) -> Self {
        let kinds: Vec<Kind> = columns
            .iter()
            .map(|c| arrow_type(cat, c.type_oid, c.typmod))
            .collect();
        let mut fields = vec![
            Field::new("datam_file", DataType::Utf8, false),
            Field::new("datam_block", DataType::UInt32, false),
            Field::new("datam_lp", DataType::UInt16, false),
            Field::new("datam_xmin", DataType::UInt32, false),
            Field::new("datam_xmax", DataType::UInt32, false),
            Field::new("datam_status", DataType::Utf8, false),
        ];
        if with_source {
            fields.push(Field::new("datam_source", DataType::Utf8, false));
        }
        fields.extend(
            columns
                .iter()
                .zip(&kinds)
                .map(|(c, k)| Field::new(c.name.clone(), k.data_type(), true)),
        );
        Self {
            schema: Arc::new(Schema::new(fields)),
            names: columns.iter().map(|c| c.name.clone()).collect(),
            file: StringBuilder::new(),
            block: UInt32Builder::new(),
            lp: UInt16Builder::new(),
            xmin: UInt32Builder::new(),
            xmax: UInt32Builder::new(),
            status: StringBuilder::new(),
            source: with_source.then(StringBuilder::new),
            cols: kinds.iter().map(Col::new).collect(),
            rows: 0,
            lossy: Vec::new(),
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows added since the last finish.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one row read from `file`.
    pub fn push(&mut self, cat: &dyn TypeCatalog, file: &str, row: &ScanRow<'_>) {
        self.push_as(cat, file, row, row.status.as_str(), "heap");
    }

    /// Adds one row with its `status` and (batches of [`Self::versions`])
    /// `source`.
    pub fn push_as(
        &mut self,
        cat: &dyn TypeCatalog,
        file: &str,
        row: &ScanRow<'_>,
        status: &str,
        source: &str,
    ) {
        self.file.append_value(file);
        self.block.append_value(row.block.0);
        self.lp.append_value(row.lp);
        self.xmin.append_value(row.xmin);
        self.xmax.append_value(row.xmax);
        self.status.append_value(status);
        if let Some(s) = &mut self.source {
            s.append_value(source);
        }
        for (i, c) in self.cols.iter_mut().enumerate() {
            let name = || self.names.get(i).cloned().unwrap_or_default();
            match row.values.get(i) {
                None | Some(Value::Null) => c.null(),
                Some(Value::Broken(msg)) => {
                    c.null();
                    self.lossy.push(Lossy {
                        column: name(),
                        reason: msg.clone(),
                        text: String::new(),
                    });
                }
                Some(Value::Datum(d)) => {
                    if let Err(reason) = c.datum(cat, d) {
                        if !matches!(c, Col::Text(..)) {
                            // Text columns appended the hex already.
                            c.null();
                        }
                        self.lossy.push(Lossy {
                            column: name(),
                            reason: reason.to_string(),
                            text: String::new(),
                        });
                    }
                }
            }
        }
        self.rows = self.rows.saturating_add(1);
    }

    /// The rows added so far as one batch; the batcher starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, Error> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.file.finish()),
            Arc::new(self.block.finish()),
            Arc::new(self.lp.finish()),
            Arc::new(self.xmin.finish()),
            Arc::new(self.xmax.finish()),
            Arc::new(self.status.finish()),
        ];
        if let Some(s) = &mut self.source {
            arrays.push(Arc::new(s.finish()));
        }
        for c in &mut self.cols {
            arrays.push(c.finish()?);
        }
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmods_and_values() {
        // numeric(10,2): typmod (10 << 16 | 2) + 4.
        assert_eq!(
            decimal_kind((10 << 16 | 2) + 4),
            Some(Kind::Decimal {
                precision: 10,
                scale: 2
            })
        );
        assert_eq!(decimal_kind(-1), None);
        assert_eq!(decimal_kind((40 << 16) + 4), None);
        assert_eq!(decimal_value("-12.5", 2), Some(-1250));
        assert_eq!(decimal_value("NaN", 2), None);
        assert_eq!(decimal_value("1.234", 2), None);
    }

    #[test]
    fn builtin_types_map_as_documented() {
        let cat = rowcodec::pg::TypeMap::builtin();
        assert_eq!(arrow_type(&cat, 23, -1).data_type(), DataType::Int32);
        assert_eq!(
            arrow_type(&cat, 1184, -1).data_type(),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(arrow_type(&cat, 2950, -1), Kind::Uuid);
        assert_eq!(arrow_type(&cat, 3802, -1).data_type(), DataType::Utf8); // jsonb
        assert_eq!(
            arrow_type(&cat, 1007, -1).data_type(), // int4[]
            DataType::List(Arc::new(Field::new("item", DataType::Int32, true)))
        );
    }

    #[test]
    fn array_items_with_nulls() {
        // int4[] {1,NULL,3}: ndim 1, dataoffset 28 (with bitmap), elemtype 23, dim 3, lbound 1,
        // bitmap 0b101, pad to 8 from the varlena start, then 1 and 3.
        #[rustfmt::skip]
        let d: Vec<u8> = [
            1i32.to_le_bytes(), 32i32.to_le_bytes(), 23i32.to_le_bytes(),
            3i32.to_le_bytes(), 1i32.to_le_bytes(),
        ].concat().into_iter()
            .chain([0b101u8, 0, 0, 0, 0, 0, 0, 0])
            .chain(1i32.to_le_bytes()).chain(3i32.to_le_bytes()).collect();
        let items = array_items(&d, 4, b'i').unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], Some(&1i32.to_le_bytes()[..]));
        assert_eq!(items[1], None);
        assert_eq!(items[2], Some(&3i32.to_le_bytes()[..]));
    }
}
