//! `hstore` (contrib `hstore.h`, `hstore_io.c` `hstore_out`).
//!
//! ```text
//! payload: [size_ u32: count (28 bits) | 0x80000000 new-version flag]
//!          [HEntry u32 × 2·count: key, value, key, value ...]
//!          [strings]
//! HEntry:  0x80000000 first entry | 0x40000000 value is NULL | 30-bit END position
//!          (start = previous entry's end, 0 for the first)
//! text:    "key"=>"value", "k2"=>NULL   (`"` and `\` backslash-escaped)
//! ```

use super::Error;
use super::bytes::{Cursor, utf8};

const FUNC: &str = "hstore_out";
const HS_FLAG_NEWVERSION: u32 = 0x8000_0000;
const HS_COUNT_MASK: u32 = 0x0FFF_FFFF;
const HENTRY_ISFIRST: u32 = 0x8000_0000;
const HENTRY_ISNULL: u32 = 0x4000_0000;
const HENTRY_POSMASK: u32 = 0x3FFF_FFFF;

/// `hstore_out` of an hstore payload.
pub(crate) fn write(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, FUNC);
    let size = c.u32()?;
    let count = usize::try_from(size & HS_COUNT_MASK).unwrap_or(usize::MAX);
    if count == 0 {
        return Ok(());
    }
    if size & HS_FLAG_NEWVERSION == 0 {
        return Err(Error::Corrupt {
            func: FUNC,
            offset: 0,
            what: "pre-9.0 hstore layout",
            found: i64::from(size),
        });
    }
    let entries = c.take(count.saturating_mul(8))?;
    let strings_at = c.pos();
    let strings = d.get(strings_at..).unwrap_or_default();
    let entry = |i: usize| -> u32 {
        entries
            .get(i.saturating_mul(4)..i.saturating_mul(4).saturating_add(4))
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    };
    let span = |i: usize| -> Result<&[u8], Error> {
        let e = entry(i);
        let end = usize::try_from(e & HENTRY_POSMASK).unwrap_or(usize::MAX);
        let start = if e & HENTRY_ISFIRST != 0 || i == 0 {
            0
        } else {
            usize::try_from(entry(i - 1) & HENTRY_POSMASK).unwrap_or(usize::MAX)
        };
        strings.get(start..end).ok_or(Error::Corrupt {
            func: FUNC,
            offset: strings_at.saturating_add(start),
            what: "hstore entry out of bounds",
            found: i64::from(e),
        })
    };
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        let k = i.saturating_mul(2);
        push_quoted(utf8(span(k)?, FUNC)?, out);
        out.push_str("=>");
        if entry(k.saturating_add(1)) & HENTRY_ISNULL != 0 {
            out.push_str("NULL");
        } else {
            push_quoted(utf8(span(k.saturating_add(1))?, FUNC)?, out);
        }
        super::check_text_len(out, FUNC)?;
    }
    Ok(())
}

fn push_quoted(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}
