//! `float4out` / `float8out` with `extra_float_digits > 0`: the shortest
//! decimal that round-trips (PostgreSQL 12+ uses Ryu, `src/common/d2s.c`
//! and `f2s.c`), printed in fixed notation when the decimal exponent is in
//! `[-4, 15)` (float8) or `[-4, 6)` (float4), else as `d.ddde±XX`.

use super::Error;
use super::bytes::fixed;

/// A fixed stack buffer for `{:e}` output (at most ~25 bytes for f64).
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(std::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Shortest round-trip digits and decimal exponent of a finite value, from
/// Rust's own shortest formatting (`{:e}`), which picks the same digits as
/// Ryu: the shortest string that round-trips, closest to the exact value.
/// Digits go to `digits`; returns (negative, digit count, exponent).
fn shortest(v: impl std::fmt::LowerExp, digits: &mut [u8; 48]) -> (bool, usize, i32) {
    use std::fmt::Write as _;
    let mut sb = StackBuf {
        buf: [0; 48],
        len: 0,
    };
    let _ = write!(sb, "{v:e}");
    let sci = sb.buf.get(..sb.len).unwrap_or_default();
    let (neg, rest) = match sci.split_first() {
        Some((b'-', r)) => (true, r),
        _ => (false, sci),
    };
    let e_at = rest.iter().position(|&b| b == b'e').unwrap_or(rest.len());
    let (mant, exp) = rest.split_at(e_at);
    let mut n = 0;
    for &b in mant.iter().filter(|b| b.is_ascii_digit()) {
        if let Some(d) = digits.get_mut(n) {
            *d = b;
            n += 1;
        }
    }
    let exp = std::str::from_utf8(exp.get(1..).unwrap_or_default())
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    (neg, n, exp)
}

fn push_ascii(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        out.push(char::from(b));
    }
}

fn format_pg(v: impl std::fmt::LowerExp, fixed_max_exp: i32, out: &mut String) {
    let mut buf = [0u8; 48];
    let (neg, len, exp) = shortest(v, &mut buf);
    let digits = buf.get(..len).unwrap_or_default();
    if neg {
        out.push('-');
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if (-4..fixed_max_exp).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-1 - exp) {
                out.push('0');
            }
            push_ascii(digits, out);
        } else if exp.saturating_add(1) >= n {
            push_ascii(digits, out);
            for _ in 0..(exp.saturating_add(1).saturating_sub(n)) {
                out.push('0');
            }
        } else {
            let split = usize::try_from(exp.saturating_add(1)).unwrap_or(0);
            let (a, b) = digits.split_at(split.min(digits.len()));
            push_ascii(a, out);
            out.push('.');
            push_ascii(b, out);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        push_ascii(first, out);
        if !rest.is_empty() {
            out.push('.');
            push_ascii(rest, out);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        let _ = std::fmt::Write::write_fmt(out, format_args!("{e}"));
    }
}

fn special(is_nan: bool, is_inf: bool, neg: bool, out: &mut String) -> bool {
    if is_nan {
        out.push_str("NaN");
    } else if is_inf {
        out.push_str(if neg { "-Infinity" } else { "Infinity" });
    } else {
        return false;
    }
    true
}

/// `float8out`.
pub(crate) fn write_float8(d: &[u8], out: &mut String) -> Result<(), Error> {
    let v = f64::from_le_bytes(fixed(d, "float8out")?);
    if !special(v.is_nan(), v.is_infinite(), v < 0.0, out) {
        format_pg(v, 15, out);
    }
    Ok(())
}

/// `float4out`.
pub(crate) fn write_float4(d: &[u8], out: &mut String) -> Result<(), Error> {
    let v = f32::from_le_bytes(fixed(d, "float4out")?);
    if !special(v.is_nan(), v.is_infinite(), v < 0.0, out) {
        format_pg(v, 6, out);
    }
    Ok(())
}

/// Formats a float8 value (test helper).
#[cfg(test)]
pub(crate) fn float8_text(v: f64) -> String {
    let mut s = String::new();
    let _ = write_float8(&v.to_le_bytes(), &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f4(v: f32) -> String {
        let mut s = String::new();
        write_float4(&v.to_le_bytes(), &mut s).unwrap();
        s
    }

    #[test]
    fn float8_matches_server() {
        // Expected strings from PostgreSQL 15 with extra_float_digits=1.
        assert_eq!(float8_text(0.0), "0");
        assert_eq!(float8_text(-0.0), "-0");
        assert_eq!(float8_text(1.0), "1");
        assert_eq!(float8_text(0.1), "0.1");
        assert_eq!(float8_text(1e15), "1e+15");
        assert_eq!(float8_text(123456789012345.0), "123456789012345");
        assert_eq!(float8_text(0.0001), "0.0001");
        assert_eq!(float8_text(0.00001), "1e-05");
        assert_eq!(float8_text(1.5e-7), "1.5e-07");
        assert_eq!(float8_text(1e100), "1e+100");
        assert_eq!(float8_text(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(float8_text(5e-324), "5e-324");
        assert_eq!(float8_text(f64::NAN), "NaN");
        assert_eq!(float8_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4(123456.0), "123456");
        assert_eq!(f4(0.1), "0.1");
        assert_eq!(f4(f32::INFINITY), "Infinity");
    }
}
