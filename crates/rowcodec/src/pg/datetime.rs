//! Dates and times (`src/backend/utils/adt/{date,timestamp,datetime}.c`)
//! with `DateStyle=ISO`, `TimeZone=UTC`, `IntervalStyle=postgres`.
//!
//! ```text
//! date         i32 days since 2000-01-01 (i32::MIN -infinity, i32::MAX infinity)
//! time         i64 microseconds since midnight
//! timetz       [i64 time][i32 zone, seconds WEST of UTC]          (12 bytes)
//! timestamp(tz) i64 microseconds since 2000-01-01 00:00 (UTC for tz);
//!              i64::MIN -infinity, i64::MAX infinity
//! interval     [i64 time µs][i32 day][i32 month]                  (16 bytes)
//! ```

use std::fmt::Write as _;

use super::Error;
use super::bytes::fixed;

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Julian day of 2000-01-01.
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
const POSTGRES_EPOCH_JDATE_I32: i32 = 2_451_545;

/// `j2date`: Julian day → (year, month, day), proleptic Gregorian; year 0
/// is 1 BC. Mirrors the server's unsigned arithmetic for any input.
fn j2date(jd: i32) -> (i32, u32, u32) {
    let mut julian = jd.cast_unsigned().wrapping_add(32044);
    let mut quad = julian / 146_097;
    let extra = julian
        .wrapping_sub(quad.wrapping_mul(146_097))
        .wrapping_mul(4)
        .wrapping_add(3);
    julian = julian
        .wrapping_add(60)
        .wrapping_add(quad.wrapping_mul(3))
        .wrapping_add(extra / 146_097);
    quad = julian / 1461;
    julian = julian.wrapping_sub(quad.wrapping_mul(1461));
    let mut y = julian.wrapping_mul(4) / 1461;
    julian = if y != 0 {
        julian.wrapping_add(305) % 365
    } else {
        julian.wrapping_add(306) % 366
    }
    .wrapping_add(123);
    y = y.wrapping_add(quad.wrapping_mul(4));
    let year = y.cast_signed().wrapping_sub(4800);
    quad = julian.wrapping_mul(2141) / 65536;
    let day = julian.wrapping_sub(7834u32.wrapping_mul(quad) / 256);
    let month = (quad.wrapping_add(10)) % 12 + 1;
    (year, month, day)
}

/// `YYYY-MM-DD` (year at least 4 digits, BC years as positive numbers).
fn push_date(year: i32, month: u32, day: u32, out: &mut String) {
    let shown = if year > 0 {
        i64::from(year)
    } else {
        1 - i64::from(year)
    };
    push_padded(shown.unsigned_abs(), 4, out);
    out.push('-');
    push_padded(u64::from(month), 2, out);
    out.push('-');
    push_padded(u64::from(day), 2, out);
}

/// `v` in decimal, zero-padded to at least `width` digits (the server's
/// `pg_ultostr_zeropad`), without going through `fmt`.
fn push_padded(v: u64, width: usize, out: &mut String) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0'.saturating_add(u8::try_from(v % 10).unwrap_or(0));
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    for &b in buf.get(start..).unwrap_or_default() {
        out.push(char::from(b));
    }
}

/// `AppendSeconds` with precision 6 and zero fill: `SS[.ffffff]`, trailing
/// fractional zeros removed.
fn push_seconds(sec: i64, fsec: i64, out: &mut String) {
    push_padded(sec.unsigned_abs(), 2, out);
    if fsec != 0 {
        // Six digits, trailing zeros dropped (fsec is below 1_000_000 here).
        let mut f = fsec.unsigned_abs();
        let mut width = 6;
        while f.is_multiple_of(10) && width > 1 {
            f /= 10;
            width -= 1;
        }
        out.push('.');
        push_padded(f, width, out);
    }
}

/// `hh:mm:ss[.ffffff]` of a time of day in microseconds.
fn push_time_of_day(t: i64, out: &mut String) {
    let hour = t / USECS_PER_HOUR;
    let rest = t - hour.wrapping_mul(USECS_PER_HOUR);
    let min = rest / USECS_PER_MINUTE;
    let rest = rest - min * USECS_PER_MINUTE;
    let sec = rest / USECS_PER_SEC;
    let fsec = rest - sec * USECS_PER_SEC;
    // The server prints these through unsigned zero-padding helpers.
    push_padded(hour.cast_unsigned() & 0xffff_ffff, 2, out);
    out.push(':');
    push_padded(min.unsigned_abs(), 2, out);
    out.push(':');
    push_seconds(sec, fsec, out);
}

/// `EncodeTimezone`: `+hh[:mm[:ss]]`, east of UTC positive (`tz` is
/// seconds west, as stored).
fn push_timezone(tz: i32, out: &mut String) {
    let mut sec = tz.unsigned_abs();
    let mut min = sec / 60;
    sec -= min * 60;
    let hour = min / 60;
    min -= hour * 60;
    out.push(if tz <= 0 { '+' } else { '-' });
    let _ = if sec != 0 {
        write!(out, "{hour:02}:{min:02}:{sec:02}")
    } else if min != 0 {
        write!(out, "{hour:02}:{min:02}")
    } else {
        write!(out, "{hour:02}")
    };
}

/// `date_out`.
pub(crate) fn write_date(d: &[u8], out: &mut String) -> Result<(), Error> {
    let v = i32::from_le_bytes(fixed(d, "date_out")?);
    match v {
        i32::MIN => out.push_str("-infinity"),
        i32::MAX => out.push_str("infinity"),
        _ => {
            let (y, m, dd) = j2date(v.wrapping_add(POSTGRES_EPOCH_JDATE_I32));
            push_date(y, m, dd, out);
            if y <= 0 {
                out.push_str(" BC");
            }
        }
    }
    Ok(())
}

/// `time_out`.
pub(crate) fn write_time(d: &[u8], out: &mut String) -> Result<(), Error> {
    push_time_of_day(i64::from_le_bytes(fixed(d, "time_out")?), out);
    Ok(())
}

/// `timetz_out`.
pub(crate) fn write_timetz(d: &[u8], out: &mut String) -> Result<(), Error> {
    let b: [u8; 12] = fixed(d, "timetz_out")?;
    let (t, z) = b.split_at(8);
    let t = i64::from_le_bytes(t.try_into().unwrap_or_default());
    let z = i32::from_le_bytes(z.try_into().unwrap_or_default());
    push_time_of_day(t, out);
    push_timezone(z, out);
    Ok(())
}

/// `timestamp_out` / `timestamptz_out` (the latter in UTC: `+00`).
pub(crate) fn write_timestamp(d: &[u8], out: &mut String, tz: bool) -> Result<(), Error> {
    let func = if tz {
        "timestamptz_out"
    } else {
        "timestamp_out"
    };
    let v = i64::from_le_bytes(fixed(d, func)?);
    match v {
        i64::MIN => out.push_str("-infinity"),
        i64::MAX => out.push_str("infinity"),
        _ => {
            let mut date = v / USECS_PER_DAY;
            let mut time = v % USECS_PER_DAY;
            if time < 0 {
                time += USECS_PER_DAY;
                date -= 1;
            }
            let jd = date + POSTGRES_EPOCH_JDATE;
            let jd = i32::try_from(jd)
                .ok()
                .filter(|j| *j >= 0)
                .ok_or(Error::OutOfRange {
                    func,
                    what: "timestamp",
                    found: v,
                })?;
            let (y, m, dd) = j2date(jd);
            push_date(y, m, dd, out);
            out.push(' ');
            push_time_of_day(time, out);
            if tz {
                push_timezone(0, out);
            }
            if y <= 0 {
                out.push_str(" BC");
            }
        }
    }
    Ok(())
}

/// `AddPostgresIntPart`.
fn push_int_part(v: i64, unit: &str, is_zero: &mut bool, is_before: &mut bool, out: &mut String) {
    if v == 0 {
        return;
    }
    let _ = write!(
        out,
        "{}{}{} {}{}",
        if *is_zero { "" } else { " " },
        if *is_before && v > 0 { "+" } else { "" },
        v,
        unit,
        if v != 1 { "s" } else { "" }
    );
    *is_before = v < 0;
    *is_zero = false;
}

/// `interval_out` with `IntervalStyle=postgres`.
pub(crate) fn write_interval(d: &[u8], out: &mut String) -> Result<(), Error> {
    let b: [u8; 16] = fixed(d, "interval_out")?;
    let mut t8 = [0u8; 8];
    t8.copy_from_slice(b.get(..8).unwrap_or(&[0; 8]));
    let mut d4 = [0u8; 4];
    d4.copy_from_slice(b.get(8..12).unwrap_or(&[0; 4]));
    let mut m4 = [0u8; 4];
    m4.copy_from_slice(b.get(12..16).unwrap_or(&[0; 4]));
    let time = i64::from_le_bytes(t8);
    let day = i32::from_le_bytes(d4);
    let month = i32::from_le_bytes(m4);
    // PostgreSQL 17+ infinite intervals.
    if time == i64::MIN && day == i32::MIN && month == i32::MIN {
        out.push_str("-infinity");
        return Ok(());
    }
    if time == i64::MAX && day == i32::MAX && month == i32::MAX {
        out.push_str("infinity");
        return Ok(());
    }
    let year = month / 12;
    let mon = month % 12;
    let hour = time / USECS_PER_HOUR;
    let rest = time - hour.wrapping_mul(USECS_PER_HOUR);
    let min = rest / USECS_PER_MINUTE;
    let rest = rest - min * USECS_PER_MINUTE;
    let sec = rest / USECS_PER_SEC;
    let fsec = rest - sec * USECS_PER_SEC;

    let mut is_zero = true;
    let mut is_before = false;
    push_int_part(i64::from(year), "year", &mut is_zero, &mut is_before, out);
    push_int_part(i64::from(mon), "mon", &mut is_zero, &mut is_before, out);
    push_int_part(i64::from(day), "day", &mut is_zero, &mut is_before, out);
    if is_zero || hour != 0 || min != 0 || sec != 0 || fsec != 0 {
        let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
        let _ = write!(
            out,
            "{}{}{:02}:{:02}:",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            hour.unsigned_abs(),
            min.unsigned_abs()
        );
        push_seconds(sec, fsec, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j2date_known_days() {
        assert_eq!(j2date(2_451_545), (2000, 1, 1));
        assert_eq!(j2date(2_440_588), (1970, 1, 1));
        assert_eq!(j2date(0), (-4713, 11, 24));
    }
}
