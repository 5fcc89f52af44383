//! Range types (`src/backend/utils/adt/rangetypes.c` `range_out`).
//!
//! ```text
//! payload (after the 4-byte varlena header, whose bytes count for alignment):
//!   [rangetypid u32][lower bound, if present][upper bound, if present] ... [flags u8]
//! bounds are stored like tuple attributes: fixed-length values aligned to the
//! subtype's typalign; varlena values with a 1-byte header unaligned, with a
//! 4-byte header aligned (a zero byte where a value starts is padding).
//! flags: 0x01 empty, 0x02 lower inclusive, 0x04 upper inclusive,
//!        0x08 lower infinite, 0x10 upper infinite, 0x20/0x40 lower/upper NULL
//! ```

use super::bytes::Cursor;
use super::{Error, TypeCatalog, check_text_len, write_datum};

const FUNC: &str = "range_out";
const RANGE_EMPTY: u8 = 0x01;
const RANGE_LB_INC: u8 = 0x02;
const RANGE_UB_INC: u8 = 0x04;
const RANGE_LB_INF: u8 = 0x08;
const RANGE_UB_INF: u8 = 0x10;
const RANGE_LB_NULL: u8 = 0x20;
const RANGE_UB_NULL: u8 = 0x40;
/// Bytes of the varlena header before the payload.
const VARHDRSZ: usize = 4;

/// The range type of the built-in multirange types (`pg_range.dat`).
pub(crate) fn builtin_multirange_range(multirange_oid: u32) -> Option<u32> {
    Some(match multirange_oid {
        4451 => 3904, // int4multirange
        4532 => 3906, // nummultirange
        4533 => 3908, // tsmultirange
        4534 => 3910, // tstzmultirange
        4535 => 3912, // datemultirange
        4536 => 3926, // int8multirange
        _ => return None,
    })
}

/// `multirange_out` (PostgreSQL 14+):
///
/// ```text
/// payload: [multirangetypid u32][rangeCount u32][items u32 × (rangeCount-1)]
///          [flags u8 × rangeCount] padding to the subtype's typalign
///          (from the multirange start) [bound values of each range]
/// item i-1 describes range i: every 4th holds 0x80000000 | offset of the
///          range's bounds, the others their length since the previous item.
/// ```
pub(crate) fn write_multi(
    cat: &dyn TypeCatalog,
    multirange_oid: u32,
    d: &[u8],
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    const FUNC_M: &str = "multirange_out";
    let range_oid = cat
        .multirange_range(multirange_oid)
        .or_else(|| builtin_multirange_range(multirange_oid))
        .ok_or(Error::UnknownType {
            oid: multirange_oid,
        })?;
    let subtype = cat
        .range_subtype(range_oid)
        .or_else(|| builtin_subtype(range_oid))
        .ok_or(Error::UnknownType { oid: range_oid })?;
    let sub = cat
        .type_info(subtype)
        .ok_or(Error::UnknownType { oid: subtype })?;
    let mut c = Cursor::new(d, FUNC_M);
    let _typid = c.u32()?;
    let n = usize::try_from(c.u32()?).unwrap_or(usize::MAX);
    // Every range needs an item (but the first) and a flags byte.
    if n > d.len() {
        return Err(Error::Corrupt {
            func: FUNC_M,
            offset: 4,
            what: "more ranges than bytes",
            found: i64::try_from(n).unwrap_or(i64::MAX),
        });
    }
    let items = c.take(n.saturating_sub(1).saturating_mul(4))?;
    let flags = c.take(n)?;
    c.align(align_of(sub.typalign), VARHDRSZ)?;
    let begin = c.pos();
    out.push('{');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        // multirange_get_bounds_offset: sum lengths back to an offset item.
        let mut offset: usize = 0;
        let mut j = i;
        while j > 0 {
            let item = items
                .get((j - 1) * 4..j * 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0);
            offset = offset.saturating_add(usize::try_from(item & 0x7FFF_FFFF).unwrap_or(0));
            if item & 0x8000_0000 != 0 {
                break;
            }
            j -= 1;
        }
        let start = begin.saturating_add(offset);
        let slice = d.get(start..).ok_or(Error::Truncated {
            func: FUNC_M,
            offset: start,
            needed: 1,
            available: 0,
        })?;
        let mut rc = Cursor::new(slice, FUNC_M);
        let f = flags.get(i).copied().unwrap_or(0);
        write_bounds(
            cat,
            subtype,
            f,
            &mut rc,
            start.saturating_add(VARHDRSZ),
            out,
            depth,
        )?;
        check_text_len(out, FUNC_M)?;
    }
    out.push('}');
    Ok(())
}

/// The subtype of the built-in range types (`pg_range.dat`).
pub(crate) fn builtin_subtype(range_oid: u32) -> Option<u32> {
    Some(match range_oid {
        3904 => 23,   // int4range
        3906 => 1700, // numrange
        3908 => 1114, // tsrange
        3910 => 1184, // tstzrange
        3912 => 1082, // daterange
        3926 => 20,   // int8range
        _ => return None,
    })
}

/// `range_out` of a range payload of type `range_oid`.
pub(crate) fn write(
    cat: &dyn TypeCatalog,
    range_oid: u32,
    d: &[u8],
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    let subtype = cat
        .range_subtype(range_oid)
        .or_else(|| builtin_subtype(range_oid))
        .ok_or(Error::UnknownType { oid: range_oid })?;
    let (&flags, body) = d.split_last().ok_or(Error::Truncated {
        func: FUNC,
        offset: 0,
        needed: 5,
        available: 0,
    })?;
    let mut c = Cursor::new(body, FUNC);
    let _rangetypid = c.u32()?;
    write_bounds(cat, subtype, flags, &mut c, VARHDRSZ, out, depth)
}

/// `range_deparse` of one range whose bound values start at the cursor;
/// `base` is the cursor's distance from an 8-aligned position.
fn write_bounds(
    cat: &dyn TypeCatalog,
    subtype: u32,
    flags: u8,
    c: &mut Cursor<'_>,
    base: usize,
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    let sub = cat
        .type_info(subtype)
        .ok_or(Error::UnknownType { oid: subtype })?;
    if flags & RANGE_EMPTY != 0 {
        out.push_str("empty");
        return Ok(());
    }
    let has_lower = flags & (RANGE_LB_INF | RANGE_LB_NULL) == 0;
    let has_upper = flags & (RANGE_UB_INF | RANGE_UB_NULL) == 0;
    out.push(if flags & RANGE_LB_INC != 0 { '[' } else { '(' });
    if has_lower {
        let v = read_bound(c, sub.typlen, sub.typalign, base)?;
        let mut s = String::new();
        write_datum(cat, subtype, -1, v, &mut s, depth)?;
        push_bound(&s, out);
    }
    out.push(',');
    if has_upper {
        let v = read_bound(c, sub.typlen, sub.typalign, base)?;
        let mut s = String::new();
        write_datum(cat, subtype, -1, v, &mut s, depth)?;
        push_bound(&s, out);
    }
    out.push(if flags & RANGE_UB_INC != 0 { ']' } else { ')' });
    Ok(())
}

fn align_of(typalign: u8) -> usize {
    match typalign {
        b's' => 2,
        b'i' => 4,
        b'd' => 8,
        _ => 1,
    }
}

fn read_bound<'a>(
    c: &mut Cursor<'a>,
    typlen: i16,
    typalign: u8,
    base: usize,
) -> Result<&'a [u8], Error> {
    let align = align_of(typalign);
    match typlen {
        n if n > 0 => {
            c.align(align, base)?;
            c.take(usize::try_from(n).unwrap_or(0))
        }
        -1 => {
            let at = c.pos();
            let peek = c.clone().u8()?;
            if peek == 0 {
                c.align(align, base)?;
            }
            let first = c.u8()?;
            if first & 0x01 == 0x01 {
                let len = usize::from(first >> 1);
                if len == 0 {
                    return Err(corrupt(at, "TOAST pointer inside a range", first));
                }
                c.take(len.saturating_sub(1))
            } else if first & 0x03 == 0 {
                let rest: [u8; 3] = c.array()?;
                let h = u32::from_le_bytes([first, rest[0], rest[1], rest[2]]);
                let len = usize::try_from(h >> 2).unwrap_or(0);
                if len < 4 {
                    return Err(corrupt(at, "bad varlena length", first));
                }
                c.take(len.saturating_sub(4))
            } else {
                Err(corrupt(at, "compressed value inside a range", first))
            }
        }
        -2 => {
            let at = c.pos();
            let rest = c.clone().take(c.remaining())?;
            let n = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| corrupt(at, "unterminated cstring bound", 0))?;
            let v = c.take(n)?;
            c.take(1)?;
            Ok(v)
        }
        n => Err(corrupt(
            c.pos(),
            "bad subtype typlen",
            u8::try_from(n).unwrap_or(0),
        )),
    }
}

fn corrupt(offset: usize, what: &'static str, found: u8) -> Error {
    Error::Corrupt {
        func: FUNC,
        offset,
        what,
        found: i64::from(found),
    }
}

/// `range_bound_escape`: quotes empty values and values containing
/// `" \ ( ) [ ] ,` or whitespace; doubles `"` and `\` inside.
fn push_bound(s: &str, out: &mut String) {
    let need = s.is_empty()
        || s.bytes().any(|b| {
            matches!(
                b,
                b'"' | b'\\'
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b','
                    | b' '
                    | b'\t'
                    | b'\n'
                    | b'\r'
                    | 0x0b
                    | 0x0c
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
