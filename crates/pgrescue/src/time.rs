//! Commit times: PostgreSQL's `TimestampTz` (µs since 2000-01-01 00:00 UTC)
//! parsed from and printed as ISO 8601 text.

/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH[:MM]| UTC]` (no zone
/// means UTC) into µs since 2000-01-01 UTC.
///
/// ```
/// use pgrescue::time::parse_timestamp;
/// assert_eq!(parse_timestamp("2000-01-01"), Some(0));
/// assert_eq!(parse_timestamp("2000-01-01 00:00:01.5+00"), Some(1_500_000));
/// assert_eq!(parse_timestamp("2000-01-01T02:00:00+02:00"), Some(0));
/// assert_eq!(parse_timestamp("yesterday"), None);
/// ```
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix(" UTC").unwrap_or(s);
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (s.get(..i)?, s.get(i.checked_add(1)?..)?),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Split off the zone.
    let (clock, zone) = match rest.find(['Z', '+', '-']) {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, ""),
    };
    let mut us: i64 = 0;
    if !clock.is_empty() {
        let mut cp = clock.split(':');
        let h = num(cp.next()?)?;
        let mi = num(cp.next()?)?;
        let (sec, frac) = match cp.next() {
            Some(x) => match x.split_once('.') {
                Some((a, f)) => (num(a)?, f),
                None => (num(x)?, ""),
            },
            None => (0, ""),
        };
        if h > 24 || mi > 59 || sec > 60 || frac.len() > 6 {
            return None;
        }
        let frac_us = if frac.is_empty() {
            0
        } else {
            num(frac)? * 10i64.pow(6 - u32::try_from(frac.len()).ok()?)
        };
        us = ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac_us;
    }
    let offset_s = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let body = z.get(1..)?;
            let (hh, mm) = match body.split_once(':') {
                Some((a, b)) => (num(a)?, num(b)?),
                None if body.len() == 4 => (num(body.get(..2)?)?, num(body.get(2..)?)?),
                None => (num(body)?, 0),
            };
            sign * (hh * 3600 + mm * 60)
        }
    };
    let days = days_from_civil(y, m, d) - PG_EPOCH_DAYS;
    days.checked_mul(86_400_000_000)?
        .checked_add(us)?
        .checked_sub(offset_s.checked_mul(1_000_000)?)
}

/// Prints µs since 2000-01-01 UTC as `2024-05-01 10:00:00.123456 UTC` (as
/// pg_waldump prints commit times).
pub fn format_timestamp(us: i64) -> String {
    walparse::desc::format_timestamptz(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_the_server_format() {
        for us in [0i64, 1, 86_399_999_999, 788_918_400_123_456, -1_000_000] {
            let text = format_timestamp(us);
            assert_eq!(parse_timestamp(&text), Some(us), "{text}");
        }
    }

    #[test]
    fn bad_text_is_none() {
        for s in [
            "",
            "2024-13-01",
            "2024-01-01 25:00",
            "2024-01-01 10:00:00.1234567",
            "x-y-z",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }
}
