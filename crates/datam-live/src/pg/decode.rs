//! Binary wire values → the server's output text, through rowcodec's
//! datum printers so live rows print exactly as offline ones.
//!
//! The binary send format differs from the on-disk datum only in byte
//! order and, for `numeric`, in its header:
//!
//! ```text
//! fixed-width (int2/4/8, oid, float4/8, date, time, timestamp[tz])
//!     wire: big-endian          disk: little-endian      → reverse the bytes
//! interval   wire: i64 µs, i32 days, i32 months (BE)     → each field reversed
//! numeric    wire: i16 ndigits, i16 weight, u16 sign, u16 dscale, i16 digits[] (BE)
//!            disk (long form): u16 sign|dscale, i16 weight, i16 digits[] (LE)
//! jsonb      wire: u8 version (1), then the jsonb_out text
//! text, varchar, bpchar, name, json, bytea, uuid: the same bytes
//! ```
//!
//! Any other type is selected as `format('%s', col)` (its output function
//! on the server) and arrives as text.

use rowcodec::pg::{Printer, TypeMap};

/// How one result column is decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Decoder {
    /// Reverse the bytes, then print.
    Reversed(Printer),
    /// Interval: reverse each field.
    Interval(Printer),
    /// Numeric: rebuild the long on-disk form.
    Numeric(Printer),
    /// jsonb: skip the version byte.
    Jsonb,
    /// The bytes are the datum (bytea, uuid print through rowcodec).
    Same(Printer),
    /// The bytes are the text (text types, and columns selected as text).
    Text,
}

/// The decoder for binary values of `oid`, or None when the column must be
/// selected as text.
pub(crate) fn decoder_for(cat: &TypeMap, oid: u32) -> Option<Decoder> {
    let p = || Printer::new(cat, oid).ok();
    Some(match oid {
        // bool int8 int2 int4 oid float4 float8 date time timestamp timestamptz
        16 | 20 | 21 | 23 | 26 | 700 | 701 | 1082 | 1083 | 1114 | 1184 => Decoder::Reversed(p()?),
        1186 => Decoder::Interval(p()?),
        1700 => Decoder::Numeric(p()?),
        3802 => Decoder::Jsonb,
        17 | 2950 => Decoder::Same(p()?),
        // text name json bpchar varchar
        25 | 19 | 114 | 1042 | 1043 => Decoder::Text,
        _ => return None,
    })
}

impl Decoder {
    /// Appends the text of one non-null binary value.
    pub(crate) fn write(
        &self,
        cat: &TypeMap,
        wire: &[u8],
        scratch: &mut Vec<u8>,
        out: &mut String,
    ) -> Result<(), rowcodec::pg::Error> {
        match self {
            Self::Reversed(p) => {
                scratch.clear();
                scratch.extend(wire.iter().rev());
                p.write(cat, scratch, out)
            }
            Self::Interval(p) => {
                scratch.clear();
                for field in [wire.get(..8), wire.get(8..12), wire.get(12..16)] {
                    scratch.extend(field.unwrap_or_default().iter().rev());
                }
                p.write(cat, scratch, out)
            }
            Self::Numeric(p) => {
                numeric_to_disk(wire, scratch);
                p.write(cat, scratch, out)
            }
            Self::Jsonb => text(wire.get(1..).unwrap_or_default(), out),
            Self::Same(p) => p.write(cat, wire, out),
            Self::Text => text(wire, out),
        }
    }
}

fn text(b: &[u8], out: &mut String) -> Result<(), rowcodec::pg::Error> {
    match std::str::from_utf8(b) {
        Ok(s) => {
            out.push_str(s);
            Ok(())
        }
        Err(_) => Err(rowcodec::pg::Error::Corrupt {
            func: "textout",
            offset: 0,
            what: "text is not UTF-8",
            found: 0,
        }),
    }
}

/// numeric_send's form → the long on-disk form numeric_out reads. Specials
/// (sign 0xC000 NaN, 0xD000 +Inf, 0xF000 -Inf) become the 2-byte special
/// header. A short or malformed input leaves `out` short, which the printer
/// reports as an error.
fn numeric_to_disk(wire: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let u16_at = |i: usize| {
        wire.get(i..i + 2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_be_bytes)
    };
    let (Some(ndigits), Some(weight), Some(sign), Some(dscale)) =
        (u16_at(0), u16_at(2), u16_at(4), u16_at(6))
    else {
        return;
    };
    if sign & 0xC000 == 0xC000 {
        out.extend_from_slice(&sign.to_le_bytes());
        return;
    }
    out.extend_from_slice(&((sign & 0xC000) | (dscale & 0x3FFF)).to_le_bytes());
    out.extend_from_slice(&weight.to_le_bytes());
    for i in 0..usize::from(ndigits) {
        match u16_at(8 + 2 * i) {
            Some(d) => out.extend_from_slice(&d.to_le_bytes()),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(oid: u32, wire: &[u8]) -> String {
        let cat = TypeMap::builtin();
        let d = decoder_for(&cat, oid).unwrap();
        let mut out = String::new();
        d.write(&cat, wire, &mut Vec::new(), &mut out).unwrap();
        out
    }

    #[test]
    fn numeric_send_form_prints_like_numeric_out() {
        // 12.50: ndigits 2, weight 0, sign +, dscale 2, digits 12, 5000
        #[rustfmt::skip]
        let w = [0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88];
        assert_eq!(show(1700, &w), "12.50");
        // -0.001: ndigits 1, weight -1, sign -, dscale 3, digit 10
        #[rustfmt::skip]
        let w = [0, 1, 0xff, 0xff, 0x40, 0, 0, 3, 0, 10];
        assert_eq!(show(1700, &w), "-0.001");
        assert_eq!(show(1700, &[0, 0, 0, 0, 0xC0, 0, 0, 0]), "NaN");
    }

    #[test]
    fn fixed_width_and_interval() {
        assert_eq!(show(23, &(-7i32).to_be_bytes()), "-7");
        assert_eq!(show(16, &[1]), "t");
        let mut iv = Vec::new();
        iv.extend_from_slice(&3_600_000_000i64.to_be_bytes());
        iv.extend_from_slice(&2i32.to_be_bytes());
        iv.extend_from_slice(&1i32.to_be_bytes());
        assert_eq!(show(1186, &iv), "1 mon 2 days 01:00:00");
    }
}
