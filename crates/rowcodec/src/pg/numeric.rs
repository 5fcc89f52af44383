//! `numeric` (`src/backend/utils/adt/numeric.c`).
//!
//! ```text
//! short (header & 0xC000 == 0x8000):
//!   [u16 header: 1 0 sign(1) dscale(6) weight_sign(1) weight(6)][digits i16...]
//! special (header & 0xC000 == 0xC000): 0xC000 NaN, 0xD000 +Inf, 0xF000 -Inf
//! long (header & 0x8000 == 0):
//!   [u16 sign(2)|dscale(14)][i16 weight][digits i16...]
//! digits are base 10000, most significant first; value =
//!   sum(digit[i] * 10000^(weight - i)); dscale = digits shown after the point.
//! ```

use super::Error;
use super::bytes::Cursor;

const NUMERIC_SIGN_MASK: u16 = 0xC000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_SHORT: u16 = 0x8000;
const NUMERIC_SPECIAL: u16 = 0xC000;
const NUMERIC_EXT_SIGN_MASK: u16 = 0xF000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
const SHORT_SIGN_MASK: u16 = 0x2000;
const SHORT_DSCALE_MASK: u16 = 0x1F80;
const SHORT_DSCALE_SHIFT: u16 = 7;
const SHORT_WEIGHT_SIGN_MASK: u16 = 0x0040;
const SHORT_WEIGHT_MASK: u16 = 0x003F;
const DSCALE_MASK: u16 = 0x3FFF;

/// Appends `numeric_out` of a numeric payload (after the varlena header).
pub(crate) fn write(d: &[u8], out: &mut String, func: &'static str) -> Result<(), Error> {
    let mut c = Cursor::new(d, func);
    let header = c.u16()?;
    let (neg, dscale, weight) = if header & NUMERIC_SIGN_MASK == NUMERIC_SPECIAL {
        out.push_str(match header & NUMERIC_EXT_SIGN_MASK {
            NUMERIC_NAN => "NaN",
            NUMERIC_PINF => "Infinity",
            NUMERIC_NINF => "-Infinity",
            _ => {
                return Err(Error::Corrupt {
                    func,
                    offset: 0,
                    what: "unknown special numeric",
                    found: i64::from(header),
                });
            }
        });
        return Ok(());
    } else if header & NUMERIC_SHORT != 0 {
        let dscale = (header & SHORT_DSCALE_MASK) >> SHORT_DSCALE_SHIFT;
        let w = header & SHORT_WEIGHT_MASK;
        let weight = if header & SHORT_WEIGHT_SIGN_MASK != 0 {
            // Sign-extend the 7-bit weight.
            i32::from(w) - 64
        } else {
            i32::from(w)
        };
        (header & SHORT_SIGN_MASK != 0, dscale, weight)
    } else {
        let sign = header & NUMERIC_SIGN_MASK;
        if sign != 0 && sign != NUMERIC_NEG {
            return Err(Error::Corrupt {
                func,
                offset: 0,
                what: "bad numeric sign",
                found: i64::from(header),
            });
        }
        (
            sign == NUMERIC_NEG,
            header & DSCALE_MASK,
            i32::from(c.i16()?),
        )
    };
    if !c.remaining().is_multiple_of(2) {
        return Err(Error::Corrupt {
            func,
            offset: c.pos(),
            what: "odd numeric digit bytes",
            found: i64::try_from(c.remaining()).unwrap_or(i64::MAX),
        });
    }
    let mut digits = Vec::with_capacity(c.remaining() / 2);
    while c.remaining() > 0 {
        let at = c.pos();
        let dig = c.i16()?;
        if !(0..10000).contains(&dig) {
            return Err(Error::Corrupt {
                func,
                offset: at,
                what: "numeric digit out of range",
                found: i64::from(dig),
            });
        }
        digits.push(dig);
    }
    format_digits(neg, weight, dscale, &digits, out);
    Ok(())
}

/// `get_str_from_var`: integer part without leading zeros (at least "0"),
/// then exactly `dscale` fractional digits.
fn format_digits(neg: bool, weight: i32, dscale: u16, digits: &[i16], out: &mut String) {
    let digit_at = |i: i32| -> i16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    if neg {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for d in 0..=weight {
            let g = group(digit_at(d));
            if d == 0 {
                // Leading zeros of the first group are not printed.
                let skip = g.iter().take(3).take_while(|&&c| c == b'0').count();
                push_digits(g.get(skip..).unwrap_or_default(), out);
            } else {
                push_digits(&g, out);
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut left = usize::from(dscale);
        let mut d = weight.saturating_add(1);
        while left > 0 {
            let n = left.min(4);
            push_digits(group(digit_at(d)).get(..n).unwrap_or_default(), out);
            left = left.saturating_sub(n);
            d = d.saturating_add(1);
        }
    }
}

/// The four decimal digits of a base-10000 digit (0..=9999).
fn group(dig: i16) -> [u8; 4] {
    let d = dig.unsigned_abs();
    let digit = |v: u16| b'0'.saturating_add(u8::try_from(v % 10).unwrap_or(0));
    [digit(d / 1000), digit(d / 100), digit(d / 10), digit(d)]
}

fn push_digits(ds: &[u8], out: &mut String) {
    for &b in ds {
        out.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(sign: u16, dscale: u16, weight: i16, digits: &[i16]) -> Vec<u8> {
        let mut v = (sign | dscale).to_le_bytes().to_vec();
        v.extend_from_slice(&weight.to_le_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_le_bytes());
        }
        v
    }

    fn show(d: &[u8]) -> String {
        let mut s = String::new();
        write(d, &mut s, "numeric_out").unwrap();
        s
    }

    #[test]
    fn long_format() {
        assert_eq!(show(&long(0, 2, 0, &[1234, 5600])), "1234.56");
        assert_eq!(show(&long(NUMERIC_NEG, 0, 1, &[12, 3456])), "-123456");
        assert_eq!(show(&long(0, 5, -1, &[12])), "0.00120");
        assert_eq!(show(&long(0, 0, 2, &[1])), "100000000");
        assert_eq!(show(&long(0, 3, 0, &[])), "0.000");
    }

    #[test]
    fn short_and_special() {
        // 0x8000 | dscale 2 << 7 | weight 0, digits [1, 5000] = 1.50
        let mut v = (0x8000u16 | (2 << 7)).to_le_bytes().to_vec();
        v.extend_from_slice(&1i16.to_le_bytes());
        v.extend_from_slice(&5000i16.to_le_bytes());
        assert_eq!(show(&v), "1.50");
        // weight -1 (0x40 | 0x3F), negative, dscale 4: -0.0005
        let mut v = (0x8000u16 | 0x2000 | (4 << 7) | 0x7F)
            .to_le_bytes()
            .to_vec();
        v.extend_from_slice(&5i16.to_le_bytes());
        assert_eq!(show(&v), "-0.0005");
        assert_eq!(show(&0xC000u16.to_le_bytes()), "NaN");
        assert_eq!(show(&0xD000u16.to_le_bytes()), "Infinity");
        assert_eq!(show(&0xF000u16.to_le_bytes()), "-Infinity");
    }
}
