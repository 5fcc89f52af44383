//! Record decoding over borrowed bytes.

use super::serial::SerialType;
use super::varint;

/// Text encoding of the database (header offset 56).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TextEncoding {
    /// UTF-8.
    #[default]
    Utf8,
    /// UTF-16 little-endian.
    Utf16le,
    /// UTF-16 big-endian.
    Utf16be,
}

impl TextEncoding {
    /// Maps the database header's value (offset 56); `None` for anything
    /// but 1, 2, 3.
    pub fn from_header(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::Utf8),
            2 => Some(Self::Utf16le),
            3 => Some(Self::Utf16be),
            _ => None,
        }
    }

    /// Name as `PRAGMA encoding` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16le => "UTF-16le",
            Self::Utf16be => "UTF-16be",
        }
    }

    /// Decodes text bytes to a `String`, replacing invalid sequences with U+FFFD.
    pub fn decode(self, b: &[u8]) -> String {
        match self {
            Self::Utf8 => String::from_utf8_lossy(b).into_owned(),
            Self::Utf16le | Self::Utf16be => {
                let units = b.chunks_exact(2).map(|c| match (self, c) {
                    (Self::Utf16le, [a, b]) => u16::from_le_bytes([*a, *b]),
                    (_, [a, b]) => u16::from_be_bytes([*a, *b]),
                    _ => 0xfffd,
                });
                char::decode_utf16(units)
                    .map(|r| r.unwrap_or('\u{fffd}'))
                    .collect()
            }
        }
    }

    /// Whether `b` is well-formed text in this encoding.
    pub fn is_valid(self, b: &[u8]) -> bool {
        match self {
            Self::Utf8 => std::str::from_utf8(b).is_ok(),
            Self::Utf16le | Self::Utf16be => {
                if !b.len().is_multiple_of(2) {
                    return false;
                }
                let units = b.chunks_exact(2).map(|c| match (self, c) {
                    (Self::Utf16le, [a, b]) => u16::from_le_bytes([*a, *b]),
                    (_, [a, b]) => u16::from_be_bytes([*a, *b]),
                    _ => 0xd800,
                });
                char::decode_utf16(units).all(|r| r.is_ok())
            }
        }
    }
}

/// Why a record could not be decoded. Offsets are from the record start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The header-size varint or a serial-type varint runs off the end.
    #[error("truncated varint at record offset {offset}")]
    TruncatedVarint {
        /// Offset of the varint.
        offset: usize,
    },
    /// Header size smaller than its own varint or larger than the record.
    #[error("bad header size {header_len} (record is {record_len} bytes)")]
    BadHeaderLen {
        /// Header size found.
        header_len: u64,
        /// Record length.
        record_len: usize,
    },
    /// Serial type 10 or 11.
    #[error("reserved serial type {code} for column {column}")]
    ReservedSerialType {
        /// The code.
        code: u64,
        /// Column index.
        column: usize,
    },
    /// The body is shorter than the serial types say.
    #[error("body needs {needed} bytes, record has {available}")]
    BodyTooShort {
        /// Bytes the serial types need.
        needed: u64,
        /// Bytes present after the header.
        available: u64,
    },
}

/// A record: serial types and the body they describe, borrowed from a page
/// (or from a reassembled overflow payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Header length in bytes (including its own varint).
    pub header_len: usize,
    /// One serial type per column.
    pub types: Vec<SerialType>,
    /// The body (content of all columns, in order).
    pub body: &'a [u8],
}

/// Most columns a record may claim before it is considered garbage.
pub const MAX_COLUMNS: usize = 32_767;

/// Reads the header of `rec`, handing each serial type to `each`; returns
/// the header length. Fails (`BadHeaderLen`) when the header would hold more
/// than `max_types` serial types, overruns `rec` or ends inside a varint,
/// and on a reserved serial type.
fn walk_header(
    rec: &[u8],
    max_types: usize,
    mut each: impl FnMut(SerialType),
) -> Result<usize, RecordError> {
    let max_types = max_types.min(MAX_COLUMNS);
    let (hl, n) = varint::read(rec).ok_or(RecordError::TruncatedVarint { offset: 0 })?;
    let bad = || RecordError::BadHeaderLen {
        header_len: hl,
        record_len: rec.len(),
    };
    let header_len = usize::try_from(hl).map_err(|_| bad())?;
    // Each serial type takes 1 to 9 bytes.
    let longest = max_types.saturating_mul(9).saturating_add(n);
    if header_len < n || header_len > rec.len() || header_len > longest {
        return Err(bad());
    }
    let mut pos = n;
    let mut count = 0usize;
    while pos < header_len {
        let (code, k) = match rec.get(pos) {
            // Most serial types fit in one byte.
            Some(&b) if b < 0x80 => (u64::from(b), 1),
            _ => {
                let rest = rec.get(pos..header_len).unwrap_or_default();
                varint::read(rest).ok_or(RecordError::TruncatedVarint { offset: pos })?
            }
        };
        let st = SerialType::from_code(code);
        if st.is_reserved() {
            return Err(RecordError::ReservedSerialType {
                code,
                column: count,
            });
        }
        if count >= max_types {
            return Err(bad());
        }
        each(st);
        count += 1;
        pos = pos.saturating_add(k);
    }
    if pos != header_len {
        return Err(bad());
    }
    Ok(header_len)
}

impl<'a> Record<'a> {
    /// Parses a complete record. The body may be longer than needed (trailing
    /// bytes are ignored) but not shorter.
    pub fn parse(rec: &'a [u8]) -> Result<Self, RecordError> {
        let r = Self::parse_header(rec)?;
        let needed = r.body_len_needed();
        if needed > r.body.len() as u64 {
            return Err(RecordError::BodyTooShort {
                needed,
                available: r.body.len() as u64,
            });
        }
        Ok(r)
    }

    /// Parses only the header; the body is whatever follows it (possibly short).
    pub fn parse_header(rec: &'a [u8]) -> Result<Self, RecordError> {
        Self::parse_header_reusing(rec, Vec::new())
    }

    /// [`Record::parse_header`] that fills `types` (cleared first) instead
    /// of allocating: hot loops hand the same vector back in each time
    /// (`let r = Record::parse_header_reusing(b, mem::take(&mut buf))?; ... buf = r.types;`).
    pub fn parse_header_reusing(
        rec: &'a [u8],
        types: Vec<SerialType>,
    ) -> Result<Self, RecordError> {
        Self::parse_header_at_most(rec, types, MAX_COLUMNS)
    }

    /// [`Record::parse_header_reusing`] that gives up (`BadHeaderLen`) as
    /// soon as the header would hold more than `max_types` serial types: a
    /// carver testing offsets against a table of n columns needs no more,
    /// and garbage "headers" end early.
    pub fn parse_header_at_most(
        rec: &'a [u8],
        mut types: Vec<SerialType>,
        max_types: usize,
    ) -> Result<Self, RecordError> {
        types.clear();
        let header_len = walk_header(rec, max_types, |st| types.push(st))?;
        Ok(Self {
            header_len,
            types,
            body: rec.get(header_len..).unwrap_or_default(),
        })
    }

    /// The record length (header + body) the header of `rec` claims, with
    /// the checks of [`Record::parse_header`] but without collecting the
    /// serial types (no allocation): for a test per cell on a hot path.
    pub fn claimed_len(rec: &[u8]) -> Result<u64, RecordError> {
        let mut body = 0u64;
        let header_len = walk_header(rec, MAX_COLUMNS, |st| {
            body = body.saturating_add(st.content_len());
        })?;
        Ok((header_len as u64).saturating_add(body))
    }

    /// Sum of the content sizes of all serial types.
    pub fn body_len_needed(&self) -> u64 {
        self.types
            .iter()
            .fold(0u64, |a, t| a.saturating_add(t.content_len()))
    }

    /// Total record length (header + needed body).
    pub fn record_len(&self) -> u64 {
        (self.header_len as u64).saturating_add(self.body_len_needed())
    }

    /// Decodes every column. Columns whose content is missing (short body)
    /// are returned as `None`.
    pub fn values(&self) -> Vec<Option<Value<'a>>> {
        let mut out = Vec::with_capacity(self.types.len());
        self.values_into(&mut out);
        out
    }

    /// [`Record::values`] appended to `out`, without allocating when `out`
    /// has room.
    pub fn values_into(&self, out: &mut Vec<Option<Value<'a>>>) {
        let mut off: usize = 0;
        for &t in &self.types {
            let len = usize::try_from(t.content_len()).unwrap_or(usize::MAX);
            let v = off
                .checked_add(len)
                .and_then(|end| self.body.get(off..end))
                .map(|b| Value::from_serial(t, b));
            off = off.saturating_add(len);
            out.push(v);
        }
    }

    /// [`Record::values_into`], except that a text or blob cut short by the
    /// end of the body (a payload whose overflow chain broke) comes back
    /// with the bytes present instead of `None`.
    pub fn values_partial_into(&self, out: &mut Vec<Option<Value<'a>>>) {
        let start = out.len();
        self.values_into(out);
        let mut off: usize = 0;
        for (&t, v) in self.types.iter().zip(out.iter_mut().skip(start)) {
            if v.is_none() {
                let rest = self.body.get(off..).filter(|b| !b.is_empty());
                *v = match (t, rest) {
                    (SerialType::Text(_), Some(b)) => Some(Value::Text(b)),
                    (SerialType::Blob(_), Some(b)) => Some(Value::Blob(b)),
                    _ => None,
                };
            }
            off = off.saturating_add(usize::try_from(t.content_len()).unwrap_or(usize::MAX));
        }
    }
}

/// One decoded column value, borrowing text and blobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// NULL.
    Null,
    /// Any integer serial type (1–6, 8, 9).
    Int(i64),
    /// Serial type 7.
    Real(f64),
    /// Text bytes in the database encoding.
    Text(&'a [u8]),
    /// BLOB bytes.
    Blob(&'a [u8]),
}

impl<'a> Value<'a> {
    /// Decodes `b` (exactly `t.content_len()` bytes) as serial type `t`.
    pub fn from_serial(t: SerialType, b: &'a [u8]) -> Self {
        match t {
            SerialType::Null | SerialType::Reserved(_) => Self::Null,
            SerialType::Zero => Self::Int(0),
            SerialType::One => Self::Int(1),
            SerialType::Int(_) => Self::Int(be_signed(b)),
            SerialType::Real => {
                let mut a = [0u8; 8];
                for (d, s) in a.iter_mut().zip(b) {
                    *d = *s;
                }
                Self::Real(f64::from_be_bytes(a))
            }
            SerialType::Text(_) => Self::Text(b),
            SerialType::Blob(_) => Self::Blob(b),
        }
    }

    /// Copies the value out, decoding text with `enc`.
    pub fn to_owned_value(&self, enc: TextEncoding) -> OwnedValue {
        match *self {
            Self::Null => OwnedValue::Null,
            Self::Int(i) => OwnedValue::Int(i),
            Self::Real(r) => OwnedValue::Real(r),
            Self::Text(b) => OwnedValue::Text(enc.decode(b)),
            Self::Blob(b) => OwnedValue::Blob(b.to_vec()),
        }
    }
}

/// Sign-extends a big-endian integer of 1..=8 bytes.
fn be_signed(b: &[u8]) -> i64 {
    let mut v: i64 = match b.first() {
        Some(&x) if x & 0x80 != 0 => -1,
        _ => 0,
    };
    for &x in b {
        v = (v << 8) | i64::from(x);
    }
    v
}

/// Empties `v` and hands its allocation back for items of another type of
/// the same layout (`Value<'a>` → `Value<'b>`), so a per-row buffer of
/// borrowed values can live across rows whose bytes have different lifetimes
/// (the in-place `collect` reuses the allocation).
pub fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// An owned value, ready for export.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    /// NULL.
    Null,
    /// Integer.
    Int(i64),
    /// Real.
    Real(f64),
    /// Text (decoded to UTF-8).
    Text(String),
    /// BLOB.
    Blob(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn partial_values_keep_the_bytes_present() {
        let rec = [
            4,          // header length
            1,          // int8
            23,         // text of 5 bytes
            0x1a,       // blob of 7 bytes
            7,          // 8, then "abc" of the text: the body is cut there
            b'a', b'b', b'c',
        ];
        let r = Record::parse_header(&rec).unwrap();
        assert_eq!(r.values(), vec![Some(Value::Int(7)), None, None]);
        let mut v = Vec::new();
        r.values_partial_into(&mut v);
        assert_eq!(v, vec![Some(Value::Int(7)), Some(Value::Text(b"abc")), None]);
    }

    #[rustfmt::skip]
    #[test]
    fn decodes_every_fixed_type() {
        let rec = [
            11,                     // header length
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, // serial types
            0x80,                   // int8 -128
            0x01, 0x00,             // int16 256
            0xff, 0xff, 0xfe,       // int24 -2
            0x7f, 0xff, 0xff, 0xff, // int32 max
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // int48 2^40
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // int64 -1
            0x3f, 0xf8, 0, 0, 0, 0, 0, 0, // 1.5
        ];
        let r = Record::parse(&rec).unwrap();
        let v: Vec<_> = r.values().into_iter().map(Option::unwrap).collect();
        assert_eq!(v, vec![
            Value::Null, Value::Int(-128), Value::Int(256), Value::Int(-2),
            Value::Int(i64::from(i32::MAX)), Value::Int(1 << 40), Value::Int(-1),
            Value::Real(1.5), Value::Int(0), Value::Int(1),
        ]);
    }

    #[test]
    fn text_and_blob() {
        let rec = [3, 17, 16, b'a', b'b', 1, 2];
        let r = Record::parse(&rec).unwrap();
        let v: Vec<_> = r.values().into_iter().map(Option::unwrap).collect();
        assert_eq!(v, vec![Value::Text(b"ab"), Value::Blob(&[1, 2])]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            Record::parse(&[]),
            Err(RecordError::TruncatedVarint { offset: 0 })
        );
        assert!(matches!(
            Record::parse(&[0]),
            Err(RecordError::BadHeaderLen { .. })
        ));
        assert!(matches!(
            Record::parse(&[5, 1]),
            Err(RecordError::BadHeaderLen { .. })
        ));
        assert!(matches!(
            Record::parse(&[2, 10]),
            Err(RecordError::ReservedSerialType {
                code: 10,
                column: 0
            })
        ));
        assert!(matches!(
            Record::parse(&[2, 0x81]),
            Err(RecordError::TruncatedVarint { offset: 1 })
        ));
        assert!(matches!(
            Record::parse(&[2, 6, 1]),
            Err(RecordError::BodyTooShort {
                needed: 8,
                available: 1
            })
        ));
    }

    #[test]
    fn header_limit() {
        let rec = [4, 1, 1, 1, 7, 8, 9];
        assert_eq!(
            Record::parse_header_at_most(&rec, Vec::new(), 3).map(|r| r.types.len()),
            Ok(3)
        );
        assert!(matches!(
            Record::parse_header_at_most(&rec, Vec::new(), 2),
            Err(RecordError::BadHeaderLen { .. })
        ));
        // A header longer than 9 bytes per allowed type is rejected unread.
        let long = [30u8; 40];
        assert!(matches!(
            Record::parse_header_at_most(&long, Vec::new(), 2),
            Err(RecordError::BadHeaderLen { header_len: 30, .. })
        ));
        // The reused vector is cleared first.
        let r = Record::parse_header_reusing(&rec, vec![SerialType::Real; 5]).unwrap();
        assert_eq!(r.types, vec![SerialType::Int(1); 3]);
    }

    #[test]
    fn utf16() {
        assert_eq!(TextEncoding::Utf16le.decode(&[b'h', 0, b'i', 0]), "hi");
        assert_eq!(TextEncoding::Utf16be.decode(&[0, b'h', 0, b'i']), "hi");
        assert!(!TextEncoding::Utf16le.is_valid(&[0, 0xd8]));
        assert!(!TextEncoding::Utf8.is_valid(&[0xff]));
    }

    proptest::proptest! {
        #[test]
        fn no_panic_on_random_bytes(b: Vec<u8>) {
            if let Ok(r) = Record::parse_header(&b) {
                let _ = r.values();
            }
        }

        /// `claimed_len` accepts exactly what `parse_header` accepts and
        /// gives its `record_len`; the inputs are mostly well-formed
        /// headers (a small header length, then serial-type bytes) so that
        /// both outcomes are common.
        #[test]
        fn claimed_len_agrees_with_parse_header(
            hl in 0u8..12,
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
        ) {
            let mut b = vec![hl];
            b.extend_from_slice(&rest);
            let want = Record::parse_header(&b).map(|r| r.record_len());
            proptest::prop_assert_eq!(Record::claimed_len(&b), want);
        }
    }
}
