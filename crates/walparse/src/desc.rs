//! Human-readable record descriptions in the spirit of pg_waldump's `desc:`
//! (`src/backend/access/rmgrdesc/*.c`). Detailed for XLOG, Transaction,
//! Storage, Heap, Heap2, Btree and Standby; other rmgrs get their type name
//! and main-data length. Never fails: fields that are not present are left out.

use crate::bytes::{u16_at, u32_at, u64_at};
use std::fmt::Write;

use crate::ctx::PgMajor;
use crate::read::record::Record;

/// Formats a `TimestampTz` (µs since 2000-01-01 UTC) as `YYYY-MM-DD HH:MM:SS.ffffff UTC`.
pub fn format_timestamptz(us: i64) -> String {
    const PG_EPOCH_UNIX_S: i64 = 946_684_800;
    let secs = us.div_euclid(1_000_000).saturating_add(PG_EPOCH_UNIX_S);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe.saturating_add(era.saturating_mul(400)) + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06} UTC",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

/// Appends `; inval msgs: ...` for `n` `SharedInvalidationMessage`s (16
/// bytes each) at `md[at..]`, as pg_waldump's `standby_desc_invalidations`.
fn inval_msgs(s: &mut String, md: &[u8], at: usize, n: usize) -> Option<usize> {
    if n > 0 {
        s.push_str("; inval msgs:");
    }
    for i in 0..n.min(100_000) {
        let m = at.checked_add(i.checked_mul(16)?)?;
        let id = i8::from_le_bytes([*md.get(m)?]);
        let _ = match id {
            0.. => write!(s, " catcache {id}"),
            -1 => write!(s, " catalog {}", u32_at(md, m + 8)?),
            -2 => write!(s, " relcache {}", u32_at(md, m + 8)?),
            -3 => write!(s, " smgr"),
            -4 => write!(s, " relmap db {}", u32_at(md, m + 4)?),
            -5 => write!(s, " snapshot {}", u32_at(md, m + 8)?),
            _ => write!(s, " unrecognized id {id}"),
        };
    }
    at.checked_add(n.checked_mul(16)?)
}

/// PostgreSQL's `relpath()` for the default and global tablespaces.
fn relpath(spc: u32, db: u32, rel: u32, fork: u32) -> String {
    let suffix = match fork {
        1 => "_fsm",
        2 => "_vm",
        3 => "_init",
        _ => "",
    };
    match spc {
        1663 => format!("base/{db}/{rel}{suffix}"),
        1664 => format!("global/{rel}{suffix}"),
        _ => format!("pg_tblspc/{spc}/{db}/{rel}{suffix}"),
    }
}

/// The description of `rec` (without block references).
pub fn describe(major: PgMajor, rec: &Record<'_>) -> String {
    let md = rec.main_data;
    let info = rec.info();
    let mut s = String::new();
    let _ = match rec.rmid() {
        0 => xlog(major, info, md, &mut s),
        1 => xact(major, info, rec.hdr.xl_info, md, &mut s),
        2 => smgr(info, md, &mut s),
        8 => standby(info, md, &mut s),
        9 => heap2(major, info, md, &mut s),
        10 => heap(info, md, &mut s),
        11 => btree(major, info, md, &mut s),
        _ => write!(s, "main data {} bytes", md.len()).ok(),
    };
    s
}

fn xlog(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    match info {
        0x00 | 0x10 => {
            let wl = major >= PgMajor::V17;
            write!(
                s,
                "redo {:X}/{:X}; tli {}; prev tli {}; fpw {}; ",
                u64_at(md, 0)? >> 32,
                u64_at(md, 0)? & 0xFFFF_FFFF,
                u32_at(md, 8)?,
                u32_at(md, 12)?,
                *md.get(16)? != 0
            )
            .ok()?;
            if wl {
                write!(s, "wal_level {}; ", u32_at(md, 20)?).ok()?;
            }
            let nxid = u64_at(md, 24)?;
            write!(
                s,
                "xid {}:{}; oid {}; multi {}; offset {}; oldest xid {} in DB {}; oldest multi {} in DB {}; oldest/newest commit timestamp xid: {}/{}; oldest running xid {}; {}",
                nxid >> 32,
                nxid & 0xFFFF_FFFF,
                u32_at(md, 32)?,
                u32_at(md, 36)?,
                u32_at(md, 40)?,
                u32_at(md, 44)?,
                u32_at(md, 48)?,
                u32_at(md, 52)?,
                u32_at(md, 56)?,
                u32_at(md, 72)?,
                u32_at(md, 76)?,
                u32_at(md, 80)?,
                if info == 0 { "shutdown" } else { "online" }
            )
            .ok()
        }
        0x30 => write!(s, "{}", u32_at(md, 0)?).ok(),
        0x70 => {
            let name = md.get(8..)?.split(|&b| b == 0).next()?;
            write!(s, "{}", String::from_utf8_lossy(name)).ok()
        }
        0x90 => write!(
            s,
            "tli {}; prev tli {}; time {}",
            u32_at(md, 8)?,
            u32_at(md, 12)?,
            format_timestamptz(i64::from_le_bytes(md.get(0..8)?.try_into().ok()?))
        )
        .ok(),
        0x50 | 0xD0 => write!(s, "{}", crate::Lsn(u64_at(md, 0)?)).ok(),
        _ => Some(()),
    }
}

fn xact(major: PgMajor, info: u8, xl_info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let op = info & 0x70;
    match op {
        0x00 | 0x20 | 0x30 | 0x40 => {
            let ts = i64::from_le_bytes(md.get(0..8)?.try_into().ok()?);
            s.push_str(&format_timestamptz(ts));
            let mut pos = 8usize;
            let xinfo = if xl_info & 0x80 != 0 {
                let x = u32_at(md, pos)?;
                pos += 4;
                x
            } else {
                0
            };
            if xinfo & 0x01 != 0 {
                pos += 8; // dbinfo
            }
            // pg_waldump prints rels before subxacts.
            let mut subx = String::new();
            if xinfo & 0x02 != 0 {
                let n = u32_at(md, pos)? as usize;
                pos += 4;
                subx.push_str("; subxacts:");
                for i in 0..n.min(10_000) {
                    write!(
                        subx,
                        " {}",
                        u32_at(md, pos.checked_add(i.checked_mul(4)?)?)?
                    )
                    .ok()?;
                }
                pos = pos.checked_add(n.checked_mul(4)?)?;
            }
            if xinfo & 0x04 != 0 {
                let n = u32_at(md, pos)? as usize;
                pos += 4;
                s.push_str("; rels:");
                for i in 0..n.min(10_000) {
                    let at = pos.checked_add(i.checked_mul(12)?)?;
                    write!(
                        s,
                        " {}/{}/{}",
                        u32_at(md, at)?,
                        u32_at(md, at + 4)?,
                        u32_at(md, at + 8)?
                    )
                    .ok()?;
                }
                pos = pos.checked_add(n.checked_mul(12)?)?;
            }
            s.push_str(&subx);
            if major >= PgMajor::V15 && xinfo & 0x100 != 0 {
                let n = u32_at(md, pos)? as usize;
                pos += 4;
                let item = if major >= PgMajor::V18 { 16 } else { 12 };
                write!(s, "; dropped stats: {n}").ok()?;
                pos = pos.checked_add(n.checked_mul(item)?)?;
            }
            if xinfo & 0x08 != 0 && op == 0x00 {
                let n = u32_at(md, pos)? as usize;
                inval_msgs(s, md, pos.checked_add(4)?, n)?;
            }
            if xinfo & (1 << 29) != 0 {
                s.push_str("; apply_feedback");
            }
            if xinfo & (1 << 31) != 0 {
                s.push_str("; sync");
            }
            Some(())
        }
        0x50 => {
            let n = u32_at(md, 4)? as usize;
            write!(s, "subxacts of top {}:", u32_at(md, 0)?).ok()?;
            for i in 0..n.min(10_000) {
                write!(
                    s,
                    " {}",
                    u32_at(md, 8usize.checked_add(i.checked_mul(4)?)?)?
                )
                .ok()?;
            }
            Some(())
        }
        _ => write!(s, "main data {} bytes", md.len()).ok(),
    }
}

fn smgr(info: u8, md: &[u8], s: &mut String) -> Option<()> {
    match info {
        0x10 => {
            let p = relpath(
                u32_at(md, 0)?,
                u32_at(md, 4)?,
                u32_at(md, 8)?,
                u32_at(md, 12)?,
            );
            s.push_str(&p);
            Some(())
        }
        0x20 => {
            let p = relpath(u32_at(md, 4)?, u32_at(md, 8)?, u32_at(md, 12)?, 0);
            write!(
                s,
                "{p} to {} blocks flags {}",
                u32_at(md, 0)?,
                u32_at(md, 16)?
            )
            .ok()
        }
        _ => Some(()),
    }
}

fn standby(info: u8, md: &[u8], s: &mut String) -> Option<()> {
    match info {
        0x00 => {
            let n = u32_at(md, 0)? as usize;
            for i in 0..n.min(10_000) {
                let at = 4usize.checked_add(i.checked_mul(12)?)?;
                write!(
                    s,
                    "xid {} db {} rel {} ",
                    u32_at(md, at)?,
                    u32_at(md, at + 4)?,
                    u32_at(md, at + 8)?
                )
                .ok()?;
            }
            Some(())
        }
        0x10 => {
            let xcnt = u32_at(md, 0)? as usize;
            let subxcnt = u32_at(md, 4)? as usize;
            write!(
                s,
                "nextXid {} latestCompletedXid {} oldestRunningXid {}",
                u32_at(md, 12)?,
                u32_at(md, 20)?,
                u32_at(md, 16)?
            )
            .ok()?;
            let xid = |i: usize| u32_at(md, 24usize.checked_add(i.checked_mul(4)?)?);
            if xcnt > 0 {
                write!(s, "; {xcnt} xacts:").ok()?;
                for i in 0..xcnt.min(100_000) {
                    write!(s, " {}", xid(i)?).ok()?;
                }
            }
            if subxcnt > 0 {
                write!(s, "; {subxcnt} subxacts:").ok()?;
                for i in 0..subxcnt.min(100_000) {
                    write!(s, " {}", xid(xcnt.checked_add(i)?)?).ok()?;
                }
            }
            if *md.get(8)? != 0 {
                s.push_str("; subxid overflowed");
            }
            Some(())
        }
        0x20 => {
            if *md.get(8)? != 0 {
                write!(
                    s,
                    "; relcache init file inval dbid {} tsid {}",
                    u32_at(md, 0)?,
                    u32_at(md, 4)?
                )
                .ok()?;
            }
            inval_msgs(s, md, 16, u32_at(md, 12)? as usize).map(|_| ())
        }
        _ => Some(()),
    }
}

fn heap(info: u8, md: &[u8], s: &mut String) -> Option<()> {
    match info & 0x70 {
        0x00 => write!(s, "off: {}, flags: 0x{:02X}", u16_at(md, 0)?, *md.get(2)?).ok(),
        0x10 => write!(
            s,
            "xmax: {}, off: {}, infobits: 0x{:02X}, flags: 0x{:02X}",
            u32_at(md, 0)?,
            u16_at(md, 4)?,
            *md.get(6)?,
            *md.get(7)?
        )
        .ok(),
        0x20 | 0x40 => write!(
            s,
            "old_xmax: {}, old_off: {}, old_infobits: 0x{:02X}, flags: 0x{:02X}, new_xmax: {}, new_off: {}",
            u32_at(md, 0)?,
            u16_at(md, 4)?,
            *md.get(6)?,
            *md.get(7)?,
            u32_at(md, 8)?,
            u16_at(md, 12)?
        )
        .ok(),
        0x30 => write!(s, "nrelids: {}, flags: 0x{:02X}", u32_at(md, 8)?, *md.first()?).ok(),
        0x50 => write!(s, "off: {}", u16_at(md, 0)?).ok(),
        0x60 => write!(
            s,
            "xmax: {}, off: {}, infobits: 0x{:02X}, flags: 0x{:02X}",
            u32_at(md, 0)?,
            u16_at(md, 4)?,
            *md.get(6)?,
            *md.get(7)?
        )
        .ok(),
        _ => write!(s, "off: {}", u16_at(md, 0)?).ok(),
    }
}

fn heap2(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    match (info & 0x70, major) {
        (0x50, _) => write!(
            s,
            "ntuples: {}, flags: 0x{:02X}",
            u16_at(md, 2)?,
            *md.first()?
        )
        .ok(),
        (0x40, _) => write!(
            s,
            "cutoff xid {} flags 0x{:02X}",
            u32_at(md, 0)?,
            *md.get(4)?
        )
        .ok(),
        (0x10, PgMajor::V13 | PgMajor::V14 | PgMajor::V15 | PgMajor::V16) => write!(
            s,
            "latestRemovedXid/snapshotConflictHorizon {}, nredirected: {}, ndead: {}",
            u32_at(md, 0)?,
            u16_at(md, 4)?,
            u16_at(md, 6)?
        )
        .ok(),
        (0x10 | 0x20 | 0x30, _) if major >= PgMajor::V17 => {
            write!(s, "reason: {}, flags: 0x{:02X}", *md.first()?, *md.get(1)?).ok()
        }
        (0x20, PgMajor::V14 | PgMajor::V15 | PgMajor::V16) => {
            write!(s, "nunused: {}", u16_at(md, 0)?).ok()
        }
        (0x70, _) => write!(
            s,
            "rel: {}/{}/{}",
            u32_at(md, 4)?,
            u32_at(md, 8)?,
            u32_at(md, 12)?
        )
        .ok(),
        _ => write!(s, "main data {} bytes", md.len()).ok(),
    }
}

fn btree(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    match info {
        0x00 | 0x10 | 0x20 | 0x50 => write!(s, "off: {}", u16_at(md, 0)?).ok(),
        0x30 | 0x40 => write!(
            s,
            "level: {}, firstrightoff: {}, newitemoff: {}, postingoff: {}",
            u32_at(md, 0)?,
            u16_at(md, 4)?,
            u16_at(md, 6)?,
            u16_at(md, 8)?
        )
        .ok(),
        0x60 => write!(s, "nintervals: {}", u16_at(md, 0)?).ok(),
        0x70 => write!(
            s,
            "snapshotConflictHorizon: {}, ndeleted: {}, nupdated: {}",
            u32_at(md, 0)?,
            u16_at(md, 4)?,
            u16_at(md, 6)?
        )
        .ok(),
        0xC0 => write!(
            s,
            "ndeleted: {}, nupdated: {}",
            u16_at(md, 0)?,
            u16_at(md, 2)?
        )
        .ok(),
        0xA0 => write!(s, "level: {}", u32_at(md, 4)?).ok(),
        _ => {
            let _ = major;
            write!(s, "main data {} bytes", md.len()).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamptz(0), "2000-01-01 00:00:00.000000 UTC");
        // 2024-02-29 12:34:56.789 UTC
        let us = (1_709_210_096i64 - 946_684_800) * 1_000_000 + 789_000;
        assert_eq!(format_timestamptz(us), "2024-02-29 12:34:56.789000 UTC");
        assert_eq!(format_timestamptz(-1), "1999-12-31 23:59:59.999999 UTC");
    }
}
