//! The small resource managers: Storage, CLOG, Database, Tablespace,
//! MultiXact, RelMap, Sequence, CommitTs, ReplicationOrigin, Generic and
//! LogicalMessage (`smgrdesc.c`, `clogdesc.c`, `dbasedesc.c`, ...).

use std::fmt::Write;

use super::{Cur, format_timestamptz, lsn_unpadded, rel_triplet, relpath};
use crate::ctx::PgMajor;

/// An SLRU page number: `int` until 16, `int64` from 17.
fn pageno(major: PgMajor, c: &mut Cur<'_>) -> Option<i64> {
    if major >= PgMajor::V17 {
        c.i64()
    } else {
        c.i32().map(i64::from)
    }
}

/// Storage (rmgr 2).
pub(super) fn smgr(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x10 => {
            let (spc, db, rel, fork) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
            s.push_str(&relpath(major, spc, db, rel, fork));
            Some(())
        }
        0x20 => {
            let blk = c.u32()?;
            let (spc, db, rel) = (c.u32()?, c.u32()?, c.u32()?);
            let flags = c.i32()?;
            write!(
                s,
                "{} to {blk} blocks flags {flags}",
                relpath(major, spc, db, rel, 0)
            )
            .ok()
        }
        _ => Some(()),
    }
}

/// CLOG (rmgr 3).
pub(super) fn clog(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x00 => write!(s, "page {}", pageno(major, &mut c)?).ok(),
        0x10 => {
            let p = pageno(major, &mut c)?;
            write!(s, "page {p}; oldestXact {}", c.u32()?).ok()
        }
        _ => Some(()),
    }
}

/// CommitTs (rmgr 18).
pub(super) fn commit_ts(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x00 => write!(s, "{}", pageno(major, &mut c)?).ok(),
        0x10 => {
            let p = pageno(major, &mut c)?;
            write!(s, "pageno {p}, oldestXid {}", c.u32()?).ok()
        }
        0x20 if major == PgMajor::V13 => {
            let at = c.i64()?;
            let node = c.u16()?;
            c.skip(2)?;
            write!(s, "set {}/{node} for: {}", format_timestamptz(at), c.u32()?).ok()?;
            while let Some(x) = c.u32() {
                write!(s, ", {x}").ok()?;
            }
            Some(())
        }
        _ => Some(()),
    }
}

/// Database (rmgr 4).
pub(super) fn dbase(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    let v15 = major >= PgMajor::V15;
    match (info, v15) {
        (0x00, _) => {
            let (db, ts, src_db, src_ts) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
            write!(s, "copy dir {src_ts}/{src_db} to {ts}/{db}").ok()
        }
        (0x10, true) => {
            let (db, ts) = (c.u32()?, c.u32()?);
            write!(s, "create dir {ts}/{db}").ok()
        }
        (0x10, false) | (0x20, true) => {
            let (db, n) = (c.u32()?, c.i32()?);
            s.push_str("dir");
            for _ in 0..n.max(0) {
                write!(s, " {}/{db}", c.u32()?).ok()?;
            }
            Some(())
        }
        _ => Some(()),
    }
}

/// Tablespace (rmgr 5).
pub(super) fn tblspc(info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x00 => {
            let id = c.u32()?;
            write!(s, "{id} \"{}\"", c.cstr()?).ok()
        }
        0x10 => write!(s, "{}", c.u32()?).ok(),
        _ => Some(()),
    }
}

/// MultiXact (rmgr 6).
pub(super) fn mxact(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x00 | 0x10 => write!(s, "{}", pageno(major, &mut c)?).ok(),
        0x20 => {
            let (mid, moff, n) = (c.u32()?, c.u32()?, c.i32()?);
            write!(s, "{mid} offset {moff} nmembers {n}: ").ok()?;
            for _ in 0..n.max(0) {
                let (xid, status) = (c.u32()?, c.u32()?);
                let st = match status {
                    0 => "(keysh) ",
                    1 => "(sh) ",
                    2 => "(fornokeyupd) ",
                    3 => "(forupd) ",
                    4 => "(nokeyupd) ",
                    5 => "(upd) ",
                    _ => "(unk) ",
                };
                write!(s, "{xid} {st}").ok()?;
            }
            Some(())
        }
        0x30 => {
            c.skip(4)?;
            let (so, eo, sm, em) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
            write!(s, "offsets [{so}, {eo}), members [{sm}, {em})").ok()
        }
        _ => Some(()),
    }
}

/// RelMap (rmgr 7).
pub(super) fn relmap(info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    if info != 0 {
        return Some(());
    }
    let (db, ts, n) = (c.u32()?, c.u32()?, c.i32()?);
    write!(s, "database {db} tablespace {ts} size {n}").ok()
}

/// Sequence (rmgr 15).
pub(super) fn seq(_major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    if info != 0 {
        return Some(());
    }
    write!(s, "rel {}", rel_triplet(&mut Cur::at(md, 0))?).ok()
}

/// ReplicationOrigin (rmgr 19).
pub(super) fn replorigin(_major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x00 => {
            let (lsn, node, force) = (c.u64()?, c.u16()?, c.u8()?);
            write!(s, "set {node}; lsn {}; force: {force}", lsn_unpadded(lsn)).ok()
        }
        0x10 => write!(s, "drop {}", c.u16()?).ok(),
        _ => Some(()),
    }
}

/// Generic (rmgr 20): the delta fragments of the main data.
pub(super) fn generic(md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    while c.pos() < md.len() {
        let (off, len) = (c.u16()?, c.u16()?);
        c.skip(usize::from(len))?;
        if c.pos() < md.len() {
            write!(s, "offset {off}, length {len}; ").ok()?;
        } else {
            write!(s, "offset {off}, length {len}").ok()?;
        }
    }
    Some(())
}

/// LogicalMessage (rmgr 21).
pub(super) fn logicalmsg(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 4);
    if info != 0 {
        return Some(());
    }
    let transactional = c.u8()? != 0;
    c.skip(3)?;
    let (prefix_size, size) = (c.u64()?, c.u64()?);
    if major == PgMajor::V13 {
        let kind = if transactional {
            "transactional"
        } else {
            "nontransactional"
        };
        return write!(s, "{kind} message size {size} bytes").ok();
    }
    let prefix = c.cstr()?;
    let mut m = Cur::at(md, 24);
    m.skip(usize::try_from(prefix_size).ok()?)?;
    write!(
        s,
        "{}, prefix \"{prefix}\"; payload ({size} bytes): ",
        if transactional {
            "transactional"
        } else {
            "non-transactional"
        }
    )
    .ok()?;
    for i in 0..size {
        let b = m.u8()?;
        let sep = if i == 0 { "" } else { " " };
        write!(s, "{sep}{b:02X}").ok()?;
    }
    Some(())
}
