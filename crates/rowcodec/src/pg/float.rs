//! `float4out` / `float8out` with `extra_float_digits > 0`: the shortest
//! decimal that round-trips (PostgreSQL 12+ uses Ryu, `src/common/d2s.c`
//! and `f2s.c`), printed in fixed notation when the decimal exponent is in
//! `[-4, 15)` (float8) or `[-4, 6)` (float4), else as `d.ddde±XX`.

use super::Error;
use super::bytes::fixed;

/// Shortest round-trip digits and decimal exponent of a finite value, from
/// Rust's own shortest formatting (`{:e}`), which picks the same digits as
/// Ryu: the shortest string that round-trips, closest to the exact value.
fn shortest(sci: &str) -> (bool, String, i32) {
    let (neg, rest) = match sci.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, sci),
    };
    let (mant, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (neg, digits, exp.parse().unwrap_or(0))
}

fn format_pg(sci: &str, fixed_max_exp: i32, out: &mut String) {
    let (neg, digits, exp) = shortest(sci);
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
            out.push_str(&digits);
        } else if exp.saturating_add(1) >= n {
            out.push_str(&digits);
            for _ in 0..(exp.saturating_add(1).saturating_sub(n)) {
                out.push('0');
            }
        } else {
            let split = usize::try_from(exp.saturating_add(1)).unwrap_or(0);
            let (a, b) = digits.split_at(split.min(digits.len()));
            out.push_str(a);
            out.push('.');
            out.push_str(b);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
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
        format_pg(&format!("{v:e}"), 15, out);
    }
    Ok(())
}

/// `float4out`.
pub(crate) fn write_float4(d: &[u8], out: &mut String) -> Result<(), Error> {
    let v = f32::from_le_bytes(fixed(d, "float4out")?);
    if !special(v.is_nan(), v.is_infinite(), v < 0.0, out) {
        format_pg(&format!("{v:e}"), 6, out);
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
