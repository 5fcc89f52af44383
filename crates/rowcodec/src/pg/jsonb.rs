//! Binary `jsonb` (`src/include/utils/jsonb.h`, `jsonb.c`, `jsonb_util.c`)
//! printed as `jsonb_out` prints it: `{"a": 1, "b": [1, 2]}`.
//!
//! ```text
//! container: [u32 header: count(28) | 0x10000000 scalar | 0x20000000 object | 0x40000000 array]
//!            [JEntry u32 × n]   n = count (array) or 2·count (object: all keys, then all values)
//!            [data...]
//! JEntry:    bit 31 HAS_OFF | bits 28-30 type | bits 0-27 length, or end offset if HAS_OFF
//!            type 0 string, 1 numeric, 2 false, 3 true, 4 null, 5 container
//! numeric and container data start at the next 4-byte boundary (relative to
//! the data area); a numeric is a complete varlena (with its header).
//! ```

use super::bytes::{Cursor, align_up};
use super::{Error, MAX_DEPTH, check_text_len, numeric};

const FUNC: &str = "jsonb_out";
const JB_CMASK: u32 = 0x0FFF_FFFF;
const JB_FSCALAR: u32 = 0x1000_0000;
const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;
const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_TYPEMASK: u32 = 0x7000_0000;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
const JENTRY_ISSTRING: u32 = 0x0000_0000;
const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
const JENTRY_ISNULL: u32 = 0x4000_0000;
const JENTRY_ISCONTAINER: u32 = 0x5000_0000;

/// `jsonb_out` of a jsonb payload (after the varlena header).
pub(crate) fn write(d: &[u8], out: &mut String) -> Result<(), Error> {
    write_container(d, 0, out, 0)
}

/// One container starting at `base` (its offset in the whole datum, for
/// error positions).
fn write_container(d: &[u8], base: usize, out: &mut String, depth: usize) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep { limit: MAX_DEPTH });
    }
    let mut c = Cursor::new(d, FUNC);
    let header = c.u32()?;
    let count = usize::try_from(header & JB_CMASK).unwrap_or(usize::MAX);
    let is_object = header & JB_FOBJECT != 0;
    let is_array = header & JB_FARRAY != 0;
    if is_object == is_array {
        return Err(corrupt(
            base,
            "container is neither array nor object",
            header,
        ));
    }
    let n_entries = if is_object {
        count.saturating_mul(2)
    } else {
        count
    };
    let entries_bytes = c.take(n_entries.saturating_mul(4))?;
    let entries: Vec<u32> = entries_bytes
        .chunks_exact(4)
        .map(|e| u32::from_le_bytes(e.try_into().unwrap_or_default()))
        .collect();
    let data_start = c.pos();
    let data = d.get(data_start..).unwrap_or_default();
    let data_base = base.saturating_add(data_start);

    // (offset, length) of every child, resolved from lengths and strides.
    let mut spans = Vec::with_capacity(entries.len());
    let mut end = 0usize;
    for &e in &entries {
        let field = usize::try_from(e & JENTRY_OFFLENMASK).unwrap_or(usize::MAX);
        let start = end;
        end = if e & JENTRY_HAS_OFF != 0 {
            field
        } else {
            start.saturating_add(field)
        };
        if end < start || end > data.len() {
            return Err(corrupt(
                data_base.saturating_add(start),
                "jsonb entry past container end",
                e,
            ));
        }
        spans.push((start, end));
    }
    let child = |i: usize, out: &mut String| -> Result<(), Error> {
        let (Some(&e), Some(&(s, t))) = (entries.get(i), spans.get(i)) else {
            return Err(corrupt(data_base, "missing jsonb entry", 0));
        };
        write_value(e, data, s, t, data_base, out, depth)
    };

    if header & JB_FSCALAR != 0 {
        if !is_array || count != 1 {
            return Err(corrupt(base, "bad raw scalar container", header));
        }
        return child(0, out);
    }
    if is_array {
        out.push('[');
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            child(i, out)?;
            check_text_len(out, FUNC)?;
        }
        out.push(']');
    } else {
        out.push('{');
        for i in 0..count {
            if i > 0 {
                out.push_str(", ");
            }
            let key_entry = entries.get(i).copied().unwrap_or(0);
            if key_entry & JENTRY_TYPEMASK != JENTRY_ISSTRING {
                return Err(corrupt(
                    data_base,
                    "jsonb object key is not a string",
                    key_entry,
                ));
            }
            child(i, out)?;
            out.push_str(": ");
            child(i.saturating_add(count), out)?;
            check_text_len(out, FUNC)?;
        }
        out.push('}');
    }
    Ok(())
}

fn corrupt(offset: usize, what: &'static str, found: u32) -> Error {
    Error::Corrupt {
        func: FUNC,
        offset,
        what,
        found: i64::from(found),
    }
}

fn write_value(
    e: u32,
    data: &[u8],
    start: usize,
    end: usize,
    data_base: usize,
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    let at = data_base.saturating_add(start);
    let bytes = data
        .get(start..end)
        .ok_or_else(|| corrupt(at, "jsonb value out of bounds", e))?;
    match e & JENTRY_TYPEMASK {
        JENTRY_ISSTRING => {
            let s = std::str::from_utf8(bytes).map_err(|err| Error::InvalidUtf8 {
                func: FUNC,
                offset: at.saturating_add(err.valid_up_to()),
            })?;
            escape_json(s, out);
        }
        JENTRY_ISNUMERIC | JENTRY_ISCONTAINER => {
            // Padding up to a 4-byte boundary precedes the value.
            let aligned = align_up(start, 4).min(end);
            let v = data.get(aligned..end).unwrap_or_default();
            let v_at = data_base.saturating_add(aligned);
            if e & JENTRY_TYPEMASK == JENTRY_ISCONTAINER {
                write_container(v, v_at, out, depth.saturating_add(1))?;
            } else {
                let payload = varlena_payload(v)
                    .ok_or_else(|| corrupt(v_at, "bad numeric varlena header", e))?;
                numeric::write(payload, out, FUNC)?;
            }
        }
        JENTRY_ISBOOL_FALSE => out.push_str("false"),
        JENTRY_ISBOOL_TRUE => out.push_str("true"),
        JENTRY_ISNULL => out.push_str("null"),
        _ => return Err(corrupt(at, "unknown jsonb entry type", e)),
    }
    Ok(())
}

/// The payload of an in-line, uncompressed varlena (1- or 4-byte header,
/// little-endian).
pub(crate) fn varlena_payload(v: &[u8]) -> Option<&[u8]> {
    let first = *v.first()?;
    if first & 0x01 == 0x01 {
        // 1-byte header; 0x01 alone is an external TOAST pointer.
        let len = usize::from(first >> 1);
        if first == 0x01 || len < 1 {
            return None;
        }
        v.get(1..len)
    } else if first & 0x03 == 0x00 {
        let h = u32::from_le_bytes(v.get(..4)?.try_into().ok()?);
        let len = usize::try_from(h >> 2).ok()?;
        if len < 4 {
            return None;
        }
        v.get(4..len)
    } else {
        None // compressed in-line: never inside a value
    }
}

/// `escape_json`: quotes and escapes a string as JSON.
pub(crate) fn escape_json(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
