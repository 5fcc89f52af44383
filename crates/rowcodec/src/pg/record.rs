//! Composite values (`record_out`, `src/backend/utils/adt/rowtypes.c`).
//!
//! A composite datum is a heap tuple without a line pointer:
//!
//! ```text
//! payload (after the varlena header; offsets below are from the tuple start,
//! which includes the 4-byte header):
//!   4 datum_typmod i32 | 8 datum_typeid u32 | 12 t_ctid (6) | 18 t_infomask2 u16
//!   20 t_infomask u16 (0x0001 = has NULL bitmap) | 22 t_hoff u8 | 23 null bitmap
//!   t_hoff: attribute values, each aligned like in heap tuples (a varlena with a
//!   1-byte header is unaligned; a zero byte where a varlena starts is padding)
//! natts = t_infomask2 & 0x07FF; attributes past natts are NULL.
//! ```

use super::bytes::Cursor;
use super::{CompositeAttr, Error, TypeCatalog, check_text_len, write_datum};

const FUNC: &str = "record_out";
const VARHDRSZ: usize = 4;
const HEAP_HASNULL: u16 = 0x0001;
const HEAP_NATTS_MASK: u16 = 0x07FF;

fn corrupt(offset: usize, what: &'static str, found: i64) -> Error {
    Error::Corrupt {
        func: FUNC,
        offset,
        what,
        found,
    }
}

/// `record_out` of a composite payload of type `type_oid`.
pub(crate) fn write(
    cat: &dyn TypeCatalog,
    type_oid: u32,
    d: &[u8],
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    let attrs = cat
        .composite_attrs(type_oid)
        .ok_or(Error::UnknownType { oid: type_oid })?;
    let mut c = Cursor::new(d, FUNC);
    let _typmod = c.i32()?;
    let _typeid = c.u32()?;
    let _ctid = c.take(6)?;
    let infomask2 = c.u16()?;
    let infomask = c.u16()?;
    let hoff = usize::from(c.u8()?);
    let natts = usize::from(infomask2 & HEAP_NATTS_MASK);
    let bitmap = if infomask & HEAP_HASNULL != 0 {
        Some(c.take(natts.div_ceil(8))?)
    } else {
        None
    };
    let data_at = hoff
        .checked_sub(VARHDRSZ)
        .filter(|h| *h >= c.pos() && *h <= d.len())
        .ok_or_else(|| corrupt(18, "bad t_hoff", i64::try_from(hoff).unwrap_or(0)))?;
    let mut data = Cursor::new(d.get(data_at..).unwrap_or_default(), FUNC);
    let base = hoff; // data cursor position 0 is tuple offset t_hoff

    out.push('(');
    let mut need_comma = false;
    for (i, attr) in attrs.iter().enumerate() {
        let present = i < natts
            && bitmap.is_none_or(|bm| bm.get(i / 8).is_some_and(|byte| byte & (1 << (i % 8)) != 0));
        let value = if present {
            Some(read_attr(&mut data, attr, base)?)
        } else {
            None
        };
        if attr.dropped {
            continue;
        }
        if need_comma {
            out.push(',');
        }
        need_comma = true;
        if let Some(v) = value {
            let mut s = String::new();
            write_datum(cat, attr.type_oid, attr.typmod, v, &mut s, depth)?;
            push_quoted(&s, out);
            check_text_len(out, FUNC)?;
        }
    }
    out.push(')');
    Ok(())
}

fn read_attr<'a>(c: &mut Cursor<'a>, attr: &CompositeAttr, base: usize) -> Result<&'a [u8], Error> {
    let align = match attr.attalign {
        b's' => 2,
        b'i' => 4,
        b'd' => 8,
        _ => 1,
    };
    match attr.attlen {
        n if n > 0 => {
            c.align(align, base)?;
            c.take(usize::try_from(n).unwrap_or(0))
        }
        -1 => {
            if c.clone().u8()? == 0 {
                c.align(align, base)?;
            }
            let at = c.pos();
            let first = c.u8()?;
            if first & 0x01 == 0x01 {
                let len = usize::from(first >> 1);
                if len == 0 {
                    return Err(corrupt(at, "TOAST pointer inside a composite", 1));
                }
                c.take(len.saturating_sub(1))
            } else if first & 0x03 == 0 {
                let rest: [u8; 3] = c.array()?;
                let h = u32::from_le_bytes([first, rest[0], rest[1], rest[2]]);
                let len = usize::try_from(h >> 2).unwrap_or(0);
                if len < 4 {
                    return Err(corrupt(at, "bad varlena length", i64::from(h)));
                }
                c.take(len.saturating_sub(4))
            } else {
                Err(corrupt(
                    at,
                    "compressed value inside a composite",
                    i64::from(first),
                ))
            }
        }
        -2 => {
            let at = c.pos();
            let rest = c.clone().take(c.remaining())?;
            let n = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| corrupt(at, "unterminated cstring", 0))?;
            let v = c.take(n)?;
            c.take(1)?;
            Ok(v)
        }
        n => Err(corrupt(c.pos(), "bad attlen", i64::from(n))),
    }
}

/// `record_out` quoting: empty values and values containing `" \ ( ) ,` or
/// whitespace are double-quoted; `"` and `\` are doubled inside.
fn push_quoted(s: &str, out: &mut String) {
    let need = s.is_empty()
        || s.bytes().any(|b| {
            matches!(
                b,
                b'"' | b'\\' | b'(' | b')' | b',' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        });
    if need {
        out.push('"');
    }
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            out.push(ch);
        }
        out.push(ch);
    }
    if need {
        out.push('"');
    }
}
