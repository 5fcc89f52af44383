//! Small fixed-layout types: bool, integers, OIDs, `"char"`, `name`,
//! bytea, uuid, MAC addresses, bit strings, money, tid, pg_lsn.
//!
//! ```text
//! bool 1 | int2 2 | int4/oid/xid/cid 4 | int8/xid8/money/pg_lsn 8   (LE)
//! tid     [bi_hi u16][bi_lo u16][ip_posid u16]
//! name    64 bytes, NUL-padded
//! uuid    16 bytes, network order;  macaddr 6 / macaddr8 8 bytes
//! bit     varlena: [bit_len i32][ceil(bit_len/8) bytes, MSB first]
//! ```

use std::fmt::Write as _;

use super::bytes::{Cursor, fixed, utf8};
use super::{Error, OutFn};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(b: u8, out: &mut String) {
    out.push(char::from(
        HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
    ));
    out.push(char::from(
        HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
    ));
}

/// bool, integers, OIDs, `"char"`, tid, pg_lsn.
pub(crate) fn write_simple(f: OutFn, d: &[u8], out: &mut String) -> Result<(), Error> {
    let func = f.func();
    // Writing to a String cannot fail.
    let _ = match f {
        OutFn::Bool => {
            out.push(if fixed::<1>(d, func)? == [0] {
                'f'
            } else {
                't'
            });
            Ok(())
        }
        OutFn::Int2 => write!(out, "{}", i16::from_le_bytes(fixed(d, func)?)),
        OutFn::Int4 => write!(out, "{}", i32::from_le_bytes(fixed(d, func)?)),
        OutFn::Int8 => write!(out, "{}", i64::from_le_bytes(fixed(d, func)?)),
        OutFn::Oid | OutFn::Xid | OutFn::Cid => {
            write!(out, "{}", u32::from_le_bytes(fixed(d, func)?))
        }
        OutFn::Xid8 => write!(out, "{}", u64::from_le_bytes(fixed(d, func)?)),
        OutFn::Tid => {
            let b: [u8; 6] = fixed(d, func)?;
            let hi = u32::from(u16::from_le_bytes([b[0], b[1]]));
            let lo = u32::from(u16::from_le_bytes([b[2], b[3]]));
            let pos = u16::from_le_bytes([b[4], b[5]]);
            write!(out, "({},{})", (hi << 16) | lo, pos)
        }
        OutFn::PgLsn => {
            let v = u64::from_le_bytes(fixed(d, func)?);
            write!(out, "{:X}/{:X}", v >> 32, v & 0xffff_ffff)
        }
        OutFn::Char => {
            let [c] = fixed::<1>(d, func)?;
            if c >= 0x80 {
                // charout prints high-bit bytes as a backslash and 3 octal digits.
                write!(out, "\\{:03o}", c)
            } else {
                if c != 0 {
                    out.push(char::from(c));
                }
                Ok(())
            }
        }
        _ => {
            return Err(Error::UnsupportedType {
                oid: 0,
                name: String::new(),
                typoutput: func.to_owned(),
            });
        }
    };
    Ok(())
}

/// `name`: up to the first NUL of its 64 bytes (any length accepted, for
/// builds with another NAMEDATALEN).
pub(crate) fn write_name(d: &[u8], out: &mut String) -> Result<(), Error> {
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    out.push_str(utf8(d.get(..end).unwrap_or_default(), "nameout")?);
    Ok(())
}

/// `bytea` with `bytea_output=hex`.
pub(crate) fn write_bytea(d: &[u8], out: &mut String) {
    out.reserve(d.len().saturating_mul(2).saturating_add(2));
    out.push_str("\\x");
    for &b in d {
        push_hex(b, out);
    }
}

/// `uuid`: 8-4-4-4-12 lowercase hex.
pub(crate) fn write_uuid(d: &[u8], out: &mut String) -> Result<(), Error> {
    let b: [u8; 16] = fixed(d, "uuid_out")?;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        push_hex(*byte, out);
    }
    Ok(())
}

/// `macaddr` / `macaddr8`: colon-separated lowercase hex.
pub(crate) fn write_macaddr<const N: usize>(
    d: &[u8],
    out: &mut String,
    func: &'static str,
) -> Result<(), Error> {
    let b: [u8; N] = fixed(d, func)?;
    for (i, byte) in b.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        push_hex(*byte, out);
    }
    Ok(())
}

/// `bit` / `varbit`.
pub(crate) fn write_bit(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, "bit_out");
    let n_bits = c.i32()?;
    let n_bits = usize::try_from(n_bits).map_err(|_| Error::Corrupt {
        func: "bit_out",
        offset: 0,
        what: "negative bit length",
        found: i64::from(n_bits),
    })?;
    let data = c.take(n_bits.div_ceil(8))?;
    out.reserve(n_bits);
    for i in 0..n_bits {
        let byte = data.get(i / 8).copied().unwrap_or(0);
        out.push(if byte & (0x80 >> (i % 8)) != 0 {
            '1'
        } else {
            '0'
        });
    }
    Ok(())
}

/// `money` as `cash_out` prints it with `lc_monetary=C`: `$`, thousands
/// separated by `,`, two decimals, a leading `-` for negative amounts.
pub(crate) fn write_cash(d: &[u8], out: &mut String) -> Result<(), Error> {
    let v = i64::from_le_bytes(fixed(d, "cash_out")?);
    let digits = v.unsigned_abs().to_string();
    // At least three digits so there is one left of the decimal point.
    let digits = format!("{digits:0>3}");
    let (int, frac) = digits.split_at(digits.len().saturating_sub(2));
    if v < 0 {
        out.push('-');
    }
    out.push('$');
    let n = int.len();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (n.saturating_sub(i)) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out.push('.');
    out.push_str(frac);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cash(v: i64) -> String {
        let mut s = String::new();
        write_cash(&v.to_le_bytes(), &mut s).unwrap();
        s
    }

    #[test]
    fn cash_matches_server() {
        // Expected strings from PostgreSQL 15 (`SELECT x::money`, lc_monetary=C).
        assert_eq!(cash(0), "$0.00");
        assert_eq!(cash(5), "$0.05");
        assert_eq!(cash(123456), "$1,234.56");
        assert_eq!(cash(-100), "-$1.00");
        assert_eq!(cash(i64::MIN), "-$92,233,720,368,547,758.08");
        assert_eq!(cash(i64::MAX), "$92,233,720,368,547,758.07");
    }
}
