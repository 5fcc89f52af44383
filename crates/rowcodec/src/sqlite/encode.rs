//! Encoders: values to SQL literals, CSV fields and JSON; and a record encoder
//! (the inverse of [`super::Record::parse`], used by tests and generators).

use std::borrow::Cow;

use super::record::{OwnedValue, TextEncoding, Value};
use super::serial::SerialType;
use super::varint;

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len().saturating_mul(2));
    write_hex(b, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the lower-case hex of `b` to `out`.
pub fn write_hex(b: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len().saturating_mul(2));
    let digit = |n: u8| DIGITS.get(usize::from(n)).copied().unwrap_or(b'0');
    for &x in b {
        out.extend_from_slice(&[digit(x >> 4), digit(x & 15)]);
    }
}

/// Formats a real so that SQLite reads back the same double.
pub fn real_literal(r: f64) -> String {
    let mut out = Vec::new();
    write_real_literal(r, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`real_literal`]`(r)` to `out`.
pub fn write_real_literal(r: f64, out: &mut Vec<u8>) {
    if r.is_nan() {
        out.extend_from_slice(b"NULL");
    } else if r.is_infinite() {
        out.extend_from_slice(if r > 0.0 { b"9e999" } else { b"-9e999" });
    } else {
        // Shortest digits that read back to the same double; always with a
        // '.' or an exponent ("2.0", "1e300"), so SQLite reads a REAL.
        out.extend_from_slice(ryu::Buffer::new().format_finite(r).as_bytes());
    }
}

/// Appends the decimal form of `i` to `out`.
pub fn write_int(i: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at = at.saturating_sub(1);
        if let Some(d) = buf.get_mut(at) {
            // `n % 10` < 10: the cast cannot truncate.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(buf.get(at..).unwrap_or_default());
}

/// The text of a value in the database encoding, as UTF-8 (borrowed when the
/// database is UTF-8 and the bytes are valid).
pub fn text_utf8(b: &[u8], enc: TextEncoding) -> Cow<'_, str> {
    match enc {
        TextEncoding::Utf8 => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(b),
        },
        _ => Cow::Owned(enc.decode(b)),
    }
}

impl OwnedValue {
    /// A borrowed view; text is UTF-8, so decode it with [`TextEncoding::Utf8`].
    pub fn as_value(&self) -> Value<'_> {
        match self {
            Self::Null => Value::Null,
            Self::Int(i) => Value::Int(*i),
            Self::Real(r) => Value::Real(*r),
            Self::Text(t) => Value::Text(t.as_bytes()),
            Self::Blob(b) => Value::Blob(b),
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
    let mut out = Vec::new();
    write_sql_literal(&v.as_value(), TextEncoding::Utf8, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the SQL literal of `v` (text in encoding `enc`) to `out`, with no
/// allocation for UTF-8 text.
pub fn write_sql_literal(v: &Value<'_>, enc: TextEncoding, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"NULL"),
        Value::Int(i) => write_int(*i, out),
        Value::Real(r) => write_real_literal(*r, out),
        Value::Text(b) => {
            let t = text_utf8(b, enc);
            // One pass for both special bytes (texts are short; no memchr).
            let (nul, quote) = t
                .bytes()
                .fold((false, false), |(n, q), c| (n | (c == 0), q | (c == b'\'')));
            if nul {
                out.extend_from_slice(b"CAST(X'");
                write_hex(t.as_bytes(), out);
                out.extend_from_slice(b"' AS TEXT)");
            } else {
                out.push(b'\'');
                let b = t.as_bytes();
                if quote {
                    for part in b.split_inclusive(|&c| c == b'\'') {
                        out.extend_from_slice(part);
                        if part.last() == Some(&b'\'') {
                            out.push(b'\'');
                        }
                    }
                } else {
                    out.extend_from_slice(b);
                }
                out.push(b'\'');
            }
        }
        Value::Blob(b) => {
            out.extend_from_slice(b"X'");
            write_hex(b, out);
            out.push(b'\'');
        }
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

/// Appends `field` to `out` as one CSV field, quoted (RFC 4180) when it
/// holds a comma, a quote or a line break.
pub fn write_csv_str(field: &[u8], out: &mut Vec<u8>) {
    if field
        .iter()
        .any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for part in field.split_inclusive(|&c| c == b'"') {
            out.extend_from_slice(part);
            if part.last() == Some(&b'"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// Appends [`csv_field`] of `v` (quoted as needed) to `out`.
pub fn write_csv_value(v: &Value<'_>, enc: TextEncoding, out: &mut Vec<u8>) {
    match v {
        Value::Null => {}
        Value::Int(i) => write_int(*i, out),
        Value::Real(r) => write_real_literal(*r, out),
        Value::Text(b) => write_csv_str(text_utf8(b, enc).as_bytes(), out),
        Value::Blob(b) => write_hex(b, out),
    }
}

/// A JSON value: numbers, strings, null, and `{"blob_hex": "..."}` for BLOBs.
/// Non-finite reals become `null`.
pub fn json_value(v: &OwnedValue) -> serde_json::Value {
    let mut out = Vec::new();
    write_json_value(&v.as_value(), TextEncoding::Utf8, &mut out);
    serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
}

/// Appends the JSON of `v` (as [`json_value`]) to `out`.
pub fn write_json_value(v: &Value<'_>, enc: TextEncoding, out: &mut Vec<u8>) {
    let r = match v {
        Value::Null => serde_json::to_writer(&mut *out, &()),
        Value::Int(i) => serde_json::to_writer(&mut *out, i),
        Value::Real(r) if r.is_finite() => serde_json::to_writer(&mut *out, r),
        Value::Real(_) => serde_json::to_writer(&mut *out, &()),
        Value::Text(b) => serde_json::to_writer(&mut *out, text_utf8(b, enc).as_ref()),
        Value::Blob(b) => {
            out.extend_from_slice(br#"{"blob_hex":""#);
            write_hex(b, out);
            out.extend_from_slice(b"\"}");
            Ok(())
        }
    };
    // Writing to a Vec cannot fail.
    let _ = r;
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
    use super::super::{Record, TextEncoding, Value};
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
        fn real_literals_read_back_exactly(r in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let s = real_literal(r);
            prop_assert!(s.contains(['.', 'e']), "{s} would read as an integer");
            prop_assert_eq!(s.parse::<f64>().unwrap().to_bits(), r.to_bits());
        }

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

    #[test]
    fn byte_writers() {
        let csv = |b: &[u8]| {
            let mut o = Vec::new();
            write_csv_str(b, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(csv(b"plain"), "plain");
        assert_eq!(csv(b"a,b"), "\"a,b\"");
        assert_eq!(csv(b"say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv(b"two\nlines"), "\"two\nlines\"");
        let json = |v: Value<'_>, enc| {
            let mut o = Vec::new();
            write_json_value(&v, enc, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(json(Value::Real(f64::NAN), TextEncoding::Utf8), "null");
        assert_eq!(json(Value::Real(0.5), TextEncoding::Utf8), "0.5");
        assert_eq!(
            json(Value::Text(b"q\"\n"), TextEncoding::Utf8),
            r#""q\"\n""#
        );
        assert_eq!(
            json(Value::Text(&[0, b'h', 0, b'i']), TextEncoding::Utf16be),
            r#""hi""#
        );
        assert_eq!(
            json(Value::Blob(&[0xde, 0xad]), TextEncoding::Utf8),
            r#"{"blob_hex":"dead"}"#
        );
        let sql = |v: Value<'_>, enc| {
            let mut o = Vec::new();
            write_sql_literal(&v, enc, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(sql(Value::Text(b"it's"), TextEncoding::Utf8), "'it''s'");
        assert_eq!(
            sql(Value::Text(&[b'x', 0, b'\'', 0]), TextEncoding::Utf16le),
            "'x'''"
        );
        assert_eq!(sql(Value::Real(2.0), TextEncoding::Utf8), "2.0");
        for i in [0, 7, -7, 10, 1234567890, i64::MIN, i64::MAX] {
            assert_eq!(sql(Value::Int(i), TextEncoding::Utf8), i.to_string());
        }
        // Invalid UTF-8 is replaced, as the owned path did.
        assert_eq!(
            sql(Value::Text(&[b'a', 0xff]), TextEncoding::Utf8),
            "'a\u{fffd}'"
        );
    }
}
