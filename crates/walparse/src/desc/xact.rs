//! `xactdesc.c` and `standbydesc.c`: commit, abort, prepare and assignment
//! records with their sub-parts, standby locks, running xacts and
//! invalidations.

use std::fmt::Write;

use super::{Cur, format_timestamptz, lsn_unpadded, relpath};
use crate::ctx::PgMajor;
use crate::read::record::Record;

const XINFO_DBINFO: u32 = 1 << 0;
const XINFO_SUBXACTS: u32 = 1 << 1;
const XINFO_RELS: u32 = 1 << 2;
const XINFO_INVALS: u32 = 1 << 3;
const XINFO_TWOPHASE: u32 = 1 << 4;
const XINFO_ORIGIN: u32 = 1 << 5;
const XINFO_GID: u32 = 1 << 7;
const XINFO_DROPPED_STATS: u32 = 1 << 8;

/// `standby_desc_invalidations`: `; relcache init file inval dbid D tsid T`
/// (when asked) and `; inval msgs: ...` for `n` 16-byte
/// `SharedInvalidationMessage`s at `md[at..]`; nothing when `n <= 0`.
pub fn inval_msgs_desc(
    s: &mut String,
    md: &[u8],
    at: usize,
    n: i32,
    db: u32,
    ts: u32,
    init_file: bool,
) -> Option<()> {
    let Ok(n) = usize::try_from(n) else {
        return Some(());
    };
    if n == 0 {
        return Some(());
    }
    if init_file {
        write!(s, "; relcache init file inval dbid {db} tsid {ts}").ok()?;
    }
    s.push_str("; inval msgs:");
    let mut c = Cur::at(md, at);
    for _ in 0..n {
        let start = c;
        let id = i8::from_le_bytes([c.u8()?]);
        let mut f = start;
        f.skip(4)?;
        let (w4, w8) = (f.u32()?, f.u32()?);
        let _ = match id {
            0.. => write!(s, " catcache {id}"),
            -1 => write!(s, " catalog {w8}"),
            -2 => write!(s, " relcache {w8}"),
            -3 => write!(s, " smgr"),
            -4 => write!(s, " relmap db {w4}"),
            -5 => write!(s, " snapshot {w8}"),
            -6 => write!(s, " relsync {w8}"),
            _ => write!(s, " unrecognized id {id}"),
        };
        c = start;
        c.skip(16)?;
    }
    Some(())
}

/// The sub-records of a commit or abort after `xact_time` (`ParseCommitRecord`).
#[derive(Default)]
struct Parsed {
    xinfo: u32,
    db: u32,
    ts: u32,
    subxacts: Vec<u32>,
    rels: Vec<(u32, u32, u32)>,
    stats: Vec<(i32, u32, u64)>,
    invals: Option<(usize, i32)>,
    twophase_xid: u32,
    origin: Option<(u64, i64)>,
}

fn rels(c: &mut Cur<'_>, n: usize) -> Option<Vec<(u32, u32, u32)>> {
    (0..n)
        .map(|_| Some((c.u32()?, c.u32()?, c.u32()?)))
        .collect()
}

fn stats(major: PgMajor, c: &mut Cur<'_>, n: usize) -> Option<Vec<(i32, u32, u64)>> {
    (0..n)
        .map(|_| {
            let (kind, db, lo) = (c.i32()?, c.u32()?, c.u32()?);
            let hi = if major >= PgMajor::V18 { c.u32()? } else { 0 };
            Some((kind, db, (u64::from(hi) << 32) | u64::from(lo)))
        })
        .collect()
}

fn count(c: &mut Cur<'_>) -> Option<usize> {
    usize::try_from(c.i32()?).ok()
}

fn parse(major: PgMajor, md: &[u8], xl_info: u8) -> Option<Parsed> {
    let mut p = Parsed::default();
    let mut c = Cur::at(md, 8);
    if xl_info & 0x80 != 0 {
        p.xinfo = c.u32()?;
    }
    if p.xinfo & XINFO_DBINFO != 0 {
        (p.db, p.ts) = (c.u32()?, c.u32()?);
    }
    if p.xinfo & XINFO_SUBXACTS != 0 {
        let n = count(&mut c)?;
        p.subxacts = (0..n).map(|_| c.u32()).collect::<Option<_>>()?;
    }
    if p.xinfo & XINFO_RELS != 0 {
        let n = count(&mut c)?;
        p.rels = rels(&mut c, n)?;
    }
    if major >= PgMajor::V15 && p.xinfo & XINFO_DROPPED_STATS != 0 {
        let n = count(&mut c)?;
        p.stats = stats(major, &mut c, n)?;
    }
    if p.xinfo & XINFO_INVALS != 0 {
        let n = c.i32()?;
        p.invals = Some((c.pos(), n));
        c.skip(usize::try_from(n).ok()?.checked_mul(16)?)?;
    }
    if p.xinfo & XINFO_TWOPHASE != 0 {
        p.twophase_xid = c.u32()?;
        if p.xinfo & XINFO_GID != 0 {
            c.cstr()?;
        }
    }
    if p.xinfo & XINFO_ORIGIN != 0 {
        p.origin = Some((c.u64()?, c.i64()?));
    }
    Some(p)
}

fn desc_rels(major: PgMajor, s: &mut String, label: &str, rels: &[(u32, u32, u32)]) {
    if !rels.is_empty() {
        let _ = write!(s, "; {label}:");
        for &(spc, db, rel) in rels {
            let _ = write!(s, " {}", relpath(major, spc, db, rel, 0));
        }
    }
}

fn desc_subxacts(s: &mut String, subxacts: &[u32]) {
    if !subxacts.is_empty() {
        s.push_str("; subxacts:");
        for x in subxacts {
            let _ = write!(s, " {x}");
        }
    }
}

fn desc_stats(s: &mut String, label: &str, stats: &[(i32, u32, u64)]) {
    if !stats.is_empty() {
        let _ = write!(s, "; {label}dropped stats:");
        for (kind, db, obj) in stats {
            let _ = write!(s, " {kind}/{db}/{obj}");
        }
    }
}

fn desc_origin(s: &mut String, node: u16, lsn: u64, at: i64) {
    let _ = write!(
        s,
        "; origin: node {node}, lsn {}, at {}",
        lsn_unpadded(lsn),
        format_timestamptz(at)
    );
}

/// Transaction (rmgr 1).
pub(super) fn xact(major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let md = rec.main_data;
    let origin_id = rec.origin.unwrap_or(0);
    match rec.info() & 0x70 {
        op @ (0x00 | 0x30 | 0x20 | 0x40) => {
            let p = parse(major, md, rec.hdr.xl_info)?;
            let commit = op == 0x00 || op == 0x30;
            if p.twophase_xid != 0 {
                write!(s, "{}: ", p.twophase_xid).ok()?;
            }
            s.push_str(&format_timestamptz(Cur::at(md, 0).i64()?));
            desc_rels(major, s, "rels", &p.rels);
            desc_subxacts(s, &p.subxacts);
            if commit {
                desc_stats(s, "", &p.stats);
                if let Some((at, n)) = p.invals {
                    let init = p.xinfo & (1 << 30) != 0;
                    inval_msgs_desc(s, md, at, n, p.db, p.ts, init)?;
                }
                if p.xinfo & (1 << 29) != 0 {
                    s.push_str("; apply_feedback");
                }
                if p.xinfo & (1 << 31) != 0 {
                    s.push_str("; sync");
                }
            }
            if let Some((lsn, at)) = p.origin.filter(|_| commit || major >= PgMajor::V15) {
                desc_origin(s, origin_id, lsn, at);
            }
            if !commit {
                desc_stats(s, "", &p.stats);
            }
            Some(())
        }
        0x10 => prepare(major, md, origin_id, s),
        0x50 => {
            let mut c = Cur::at(md, 0);
            let (top, n) = (c.u32()?, count(&mut c)?);
            write!(s, "xtop {top}: subxacts:").ok()?;
            for _ in 0..n {
                write!(s, " {}", c.u32()?).ok()?;
            }
            Some(())
        }
        0x60 if major >= PgMajor::V14 => {
            let n = Cur::at(md, 0).i32()?;
            inval_msgs_desc(s, md, 4, n, 0, 0, false)
        }
        _ => Some(()),
    }
}

fn prepare(major: PgMajor, md: &[u8], origin_id: u16, s: &mut String) -> Option<()> {
    let with_stats = major >= PgMajor::V15;
    let mut c = Cur::at(md, 12);
    let db = c.u32()?;
    let at = c.i64()?;
    c.skip(4)?; // owner
    let (nsub, ncommit, nabort) = (count(&mut c)?, count(&mut c)?, count(&mut c)?);
    let (ncstats, nastats) = if with_stats {
        (count(&mut c)?, count(&mut c)?)
    } else {
        (0, 0)
    };
    let nmsgs = c.i32()?;
    let init = c.u8()? != 0;
    c.skip(1)?;
    let gidlen = usize::from(c.u16()?);
    let (origin_lsn, origin_at) = (c.u64()?, c.i64()?);
    let mut b = Cur::at(md, c.pos());
    b.align(8)?;
    let gid_bytes = b.rest().get(..gidlen)?;
    let gid_end = gid_bytes.iter().position(|&x| x == 0).unwrap_or(gidlen);
    let gid = String::from_utf8_lossy(gid_bytes.get(..gid_end)?).into_owned();
    b.skip(gidlen)?;
    b.align(8)?;
    let subxacts: Vec<u32> = (0..nsub).map(|_| b.u32()).collect::<Option<_>>()?;
    b.align(8)?;
    let crels = rels(&mut b, ncommit)?;
    b.align(8)?;
    let arels = rels(&mut b, nabort)?;
    b.align(8)?;
    let cstats = stats(major, &mut b, ncstats)?;
    b.align(8)?;
    let astats = stats(major, &mut b, nastats)?;
    b.align(8)?;
    write!(s, "gid {gid}: {}", format_timestamptz(at)).ok()?;
    desc_rels(major, s, "rels(commit)", &crels);
    desc_rels(major, s, "rels(abort)", &arels);
    desc_stats(s, "commit ", &cstats);
    desc_stats(s, "abort ", &astats);
    desc_subxacts(s, &subxacts);
    inval_msgs_desc(s, md, b.pos(), nmsgs, db, 0, init)?;
    if major >= PgMajor::V15 && origin_id != 0 {
        desc_origin(s, origin_id, origin_lsn, origin_at);
    }
    Some(())
}

/// Standby (rmgr 8).
pub(super) fn standby(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x00 => {
            let n = count(&mut c)?;
            for _ in 0..n {
                let (xid, db, rel) = (c.u32()?, c.u32()?, c.u32()?);
                write!(s, "xid {xid} db {db} rel {rel} ").ok()?;
            }
            Some(())
        }
        0x10 => {
            let (xcnt, subxcnt) = (count(&mut c)?, count(&mut c)?);
            let ovf = c.u8()? != 0;
            c.skip(3)?;
            let (next, oldest, latest) = (c.u32()?, c.u32()?, c.u32()?);
            write!(
                s,
                "nextXid {next} latestCompletedXid {latest} oldestRunningXid {oldest}"
            )
            .ok()?;
            if xcnt > 0 {
                write!(s, "; {xcnt} xacts:").ok()?;
                for _ in 0..xcnt {
                    write!(s, " {}", c.u32()?).ok()?;
                }
            }
            if ovf {
                let word = if major >= PgMajor::V16 {
                    "overflowed"
                } else {
                    "ovf"
                };
                write!(s, "; subxid {word}").ok()?;
            }
            if major >= PgMajor::V16 && subxcnt > 0 {
                write!(s, "; {subxcnt} subxacts:").ok()?;
                for _ in 0..subxcnt {
                    write!(s, " {}", c.u32()?).ok()?;
                }
            }
            Some(())
        }
        0x20 => {
            let (db, ts, init) = (c.u32()?, c.u32()?, c.u8()? != 0);
            c.skip(3)?;
            let n = c.i32()?;
            inval_msgs_desc(s, md, c.pos(), n, db, ts, init)
        }
        _ => Some(()),
    }
}
