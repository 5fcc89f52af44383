//! Encoders: values to SQL literals, CSV fields and JSON; and a record encoder
//! (the inverse of [`super::Record::parse`], used by tests and generators).

use std::fmt::Write as _;

use super::record::OwnedValue;
use super::serial::SerialType;
use super::varint;

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().saturating_mul(2));
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Formats a real so that SQLite reads back the same double.
pub fn real_literal(r: f64) -> String {
    if r.is_nan() {
        "NULL".to_string()
    } else if r.is_infinite() {
        if r > 0.0 {
            "9e999".into()
        } else {
            "-9e999".into()
        }
    } else {
        let s = format!("{r:?}");
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}

/// A SQL literal for `v` that `sqlite3` parses back to the same value.
///
/// ```
/// use rowcodec::sqlite::{OwnedValue, encode::sql_literal};
/// assert_eq!(sql_literal(&OwnedValue::Text("it's".into())), "'it''s'");
/// assert_eq!(sql_literal(&OwnedValue::Blob(vec![1, 0xab])), "X'01ab'");
/// ```
pub fn sql_literal(v: &OwnedValue) -> String {
    match v {
        OwnedValue::Null => "NULL".into(),
        OwnedValue::Int(i) => i.to_string(),
        OwnedValue::Real(r) => real_literal(*r),
        OwnedValue::Text(t) if t.contains('\0') => {
            format!("CAST(X'{}' AS TEXT)", hex(t.as_bytes()))
        }
        OwnedValue::Text(t) => format!("'{}'", t.replace('\'', "''")),
        OwnedValue::Blob(b) => format!("X'{}'", hex(b)),
    }
}

/// Quotes an SQL identifier with double quotes.
pub fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A CSV field (unquoted; the CSV writer quotes): NULL is empty, blobs are hex.
pub fn csv_field(v: &OwnedValue) -> String {
    match v {
        OwnedValue::Null => String::new(),
        OwnedValue::Int(i) => i.to_string(),
        OwnedValue::Real(r) => real_literal(*r),
        OwnedValue::Text(t) => t.clone(),
        OwnedValue::Blob(b) => hex(b),
    }
}

/// A JSON value: numbers, strings, null, and `{"blob_hex": "..."}` for BLOBs.
/// Non-finite reals become `null`.
pub fn json_value(v: &OwnedValue) -> serde_json::Value {
    match v {
        OwnedValue::Null => serde_json::Value::Null,
        OwnedValue::Int(i) => serde_json::Value::from(*i),
        OwnedValue::Real(r) => serde_json::Number::from_f64(*r)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        OwnedValue::Text(t) => serde_json::Value::String(t.clone()),
        OwnedValue::Blob(b) => {
            let mut m = serde_json::Map::new();
            m.insert("blob_hex".into(), serde_json::Value::String(hex(b)));
            serde_json::Value::Object(m)
        }
    }
}

/// The serial type SQLite would choose for `v` (schema format 4).
pub fn serial_type_for(v: &OwnedValue, text_len: usize) -> SerialType {
    match v {
        OwnedValue::Null => SerialType::Null,
        OwnedValue::Int(0) => SerialType::Zero,
        OwnedValue::Int(1) => SerialType::One,
        OwnedValue::Int(i) => {
            let i = *i;
            let n = if (-128..=127).contains(&i) {
                1
            } else if (-32768..=32767).contains(&i) {
                2
            } else if (-8_388_608..=8_388_607).contains(&i) {
                3
            } else if (-2_147_483_648..=2_147_483_647).contains(&i) {
                4
            } else if (-(1i64 << 47)..(1i64 << 47)).contains(&i) {
                6
            } else {
                8
            };
            SerialType::Int(n)
        }
        OwnedValue::Real(_) => SerialType::Real,
        OwnedValue::Text(_) => SerialType::Text(text_len as u64),
        OwnedValue::Blob(b) => SerialType::Blob(b.len() as u64),
    }
}

/// Encodes values as a UTF-8 record, choosing serial types as SQLite does.
pub fn encode_record(values: &[OwnedValue]) -> Vec<u8> {
    let types: Vec<SerialType> = values
        .iter()
        .map(|v| match v {
            OwnedValue::Text(t) => serial_type_for(v, t.len()),
            _ => serial_type_for(v, 0),
        })
        .collect();
    let mut hdr = Vec::new();
    for t in &types {
        varint::write(t.code(), &mut hdr);
    }
    // The header length counts its own varint.
    let mut hl = hdr.len().saturating_add(1);
    if varint::len(hl as u64) > 1 {
        hl = hdr
            .len()
            .saturating_add(varint::len(hdr.len().saturating_add(2) as u64));
    }
    let mut out = Vec::new();
    varint::write(hl as u64, &mut out);
    out.extend_from_slice(&hdr);
    for (v, t) in values.iter().zip(&types) {
        match (v, t) {
            (OwnedValue::Int(i), SerialType::Int(n)) => {
                let b = i.to_be_bytes();
                out.extend_from_slice(
                    b.get(8usize.saturating_sub(usize::from(*n))..)
                        .unwrap_or_default(),
                );
            }
            (OwnedValue::Real(r), _) => out.extend_from_slice(&r.to_be_bytes()),
            (OwnedValue::Text(t), _) => out.extend_from_slice(t.as_bytes()),
            (OwnedValue::Blob(b), _) => out.extend_from_slice(b),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Record, TextEncoding};
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = OwnedValue> {
        prop_oneof![
            Just(OwnedValue::Null),
            any::<i64>().prop_map(OwnedValue::Int),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(OwnedValue::Real),
            ".{0,40}".prop_map(OwnedValue::Text),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(OwnedValue::Blob),
        ]
    }

    proptest! {
        #[test]
        fn encode_decode_roundtrip(vals in proptest::collection::vec(value(), 0..80)) {
            let rec = encode_record(&vals);
            let r = Record::parse(&rec).unwrap();
            let back: Vec<OwnedValue> = r.values().into_iter()
                .map(|v| v.unwrap().to_owned_value(TextEncoding::Utf8)).collect();
            prop_assert_eq!(back, vals);
        }
    }

    #[test]
    fn literals() {
        assert_eq!(sql_literal(&OwnedValue::Real(1.0)), "1.0");
        assert_eq!(sql_literal(&OwnedValue::Real(1e300)), "1e300");
        assert_eq!(
            sql_literal(&OwnedValue::Int(i64::MIN)),
            "-9223372036854775808"
        );
        assert_eq!(sql_literal(&OwnedValue::Null), "NULL");
        assert_eq!(
            sql_literal(&OwnedValue::Text("a\0b".into())),
            "CAST(X'610062' AS TEXT)"
        );
        assert_eq!(sql_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(
            json_value(&OwnedValue::Blob(vec![0xde, 0xad])).to_string(),
            r#"{"blob_hex":"dead"}"#
        );
        assert_eq!(csv_field(&OwnedValue::Null), "");
    }
}
