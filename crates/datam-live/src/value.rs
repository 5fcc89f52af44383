//! The row model shared by both engines: the same as the offline readers'.
//!
//! A PostgreSQL value is the server's output text (what `COPY` and
//! `rowcodec::pg` print, with `DateStyle=ISO`, `TimeZone=UTC`,
//! `extra_float_digits=1`, `bytea_output=hex`, `IntervalStyle=postgres`), so
//! it is [`Value::Text`] or [`Value::Null`]; a SQLite value keeps its
//! storage class, as `rowcodec::sqlite::OwnedValue` does.

use rowcodec::sqlite::OwnedValue;

/// One value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A SQLite integer.
    Int(i64),
    /// A SQLite real, stored by its bits so the journal round-trips NaN
    /// and infinities exactly.
    Real(#[serde(with = "real_bits")] f64),
    /// Text (for PostgreSQL: the server's output text of any type).
    Text(String),
    /// A SQLite BLOB.
    Blob(Vec<u8>),
}

mod real_bits {
    pub(super) fn serialize<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(f64::from_bits)
    }
}

impl Value {
    /// The value as rowcodec's SQLite value (for its SQL/CSV/JSON encoders).
    pub fn to_owned_value(&self) -> OwnedValue {
        match self {
            Self::Null => OwnedValue::Null,
            Self::Int(i) => OwnedValue::Int(*i),
            Self::Real(r) => OwnedValue::Real(*r),
            Self::Text(t) => OwnedValue::Text(t.clone()),
            Self::Blob(b) => OwnedValue::Blob(b.clone()),
        }
    }

    /// The text a grid cell or a diff shows: `NULL` for null, hex with
    /// `X'…'` for blobs.
    pub fn display(&self) -> String {
        match self {
            Self::Null => "NULL".into(),
            Self::Text(t) => t.clone(),
            Self::Blob(b) => format!("X'{}'", hex::encode(b)),
            Self::Int(_) | Self::Real(_) => {
                rowcodec::sqlite::encode::csv_field(&self.to_owned_value())
            }
        }
    }

    /// The JSON of the value: strings, numbers, null, and
    /// `{"blob_hex": "…"}` for BLOBs (as the offline exports).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Text(t) => serde_json::Value::String(t.clone()),
            v => rowcodec::sqlite::encode::json_value(&v.to_owned_value()),
        }
    }
}

impl From<OwnedValue> for Value {
    fn from(v: OwnedValue) -> Self {
        match v {
            OwnedValue::Null => Self::Null,
            OwnedValue::Int(i) => Self::Int(i),
            OwnedValue::Real(r) => Self::Real(r),
            OwnedValue::Text(t) => Self::Text(t),
            OwnedValue::Blob(b) => Self::Blob(b),
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its type as the database names it (`format_type` for PostgreSQL,
    /// the declared type for SQLite).
    pub type_name: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// A generated column (never written).
    pub generated: bool,
}

/// One table (or view) of the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableInfo {
    /// The schema (`main` for SQLite).
    pub schema: String,
    /// The table's name.
    pub name: String,
    /// `table`, `view`, `materialized view`, `partitioned table`,
    /// `foreign table`.
    pub kind: &'static str,
    /// The planner's row estimate (PostgreSQL `reltuples`; SQLite: none).
    pub estimated_rows: Option<i64>,
    /// The key rows are addressed by (primary key, else a NOT NULL unique
    /// key); empty if none.
    pub key: Vec<String>,
}

/// A row as read: its values in column order, plus the PostgreSQL row
/// version (`xmin`) the edit guards check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// The values, one per column.
    pub values: Vec<Value>,
    /// PostgreSQL `xmin` of the row version read (None for SQLite).
    pub xmin: Option<String>,
}

/// A batch of rows and what it cost, as a grid pages through a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The rows.
    pub rows: Vec<Row>,
    /// Bytes received for them (binary wire size).
    pub wire_bytes: u64,
}

/// Quotes an SQL identifier (both engines).
pub(crate) fn ident(name: &str) -> String {
    rowcodec::sqlite::encode::sql_ident(name)
}
