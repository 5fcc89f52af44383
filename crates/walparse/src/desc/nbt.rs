//! `nbtdesc.c`: Btree. 13 still has `btpo_xact`; 14 switched to 64-bit
//! safe XIDs; 16 prints `key: value` and the deleted/updated offsets from
//! block 0's data; 17 adds `isCatalogRel`.

use std::fmt::Write;

use super::{Cur, array_desc, block_data, full_xid, offset_elem, rel_triplet, tf};
use crate::ctx::PgMajor;
use crate::read::record::Record;

/// Btree (rmgr 11).
pub(super) fn btree(major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let mut c = Cur::at(rec.main_data, 0);
    let new = major >= PgMajor::V16;
    let v17 = major >= PgMajor::V17;
    // `key: value, ` (16+) or `key value; ` (13-15) between fields.
    let (colon, sep) = if new { (":", ", ") } else { ("", "; ") };
    match rec.info() {
        0x00 | 0x10 | 0x20 | 0x50 => write!(s, "off{colon} {}", c.u16()?).ok(),
        0x30 | 0x40 => {
            let (level, first, newitem, posting) = (c.u32()?, c.u16()?, c.u16()?, c.u16()?);
            write!(
                s,
                "level{colon} {level}, firstrightoff{colon} {first}, \
                 newitemoff{colon} {newitem}, postingoff{colon} {posting}"
            )
            .ok()
        }
        0x60 => write!(s, "nintervals{colon} {}", c.u16()?).ok(),
        0xC0 => {
            let (ndel, nupd) = (c.u16()?, c.u16()?);
            write!(s, "ndeleted{colon} {ndel}{sep}nupdated{colon} {nupd}").ok()?;
            delvacuum(new, rec, ndel, nupd, s)
        }
        0x70 => {
            let xid = c.u32()?;
            if major == PgMajor::V13 {
                return write!(s, "latestRemovedXid {xid}; ndeleted {}", c.u32()?).ok();
            }
            let (ndel, nupd) = (c.u16()?, c.u16()?);
            if !new {
                return write!(
                    s,
                    "latestRemovedXid {xid}; ndeleted {ndel}; nupdated {nupd}"
                )
                .ok();
            }
            write!(
                s,
                "snapshotConflictHorizon: {xid}, ndeleted: {ndel}, nupdated: {nupd}"
            )
            .ok()?;
            if v17 {
                write!(s, ", isCatalogRel: {}", tf(c.u8()? != 0)).ok()?;
            }
            delvacuum(new, rec, ndel, nupd, s)
        }
        0xB0 => {
            c.skip(4)?;
            let (leaf, left, right, top) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
            write!(
                s,
                "topparent{colon} {top}{sep}leaf{colon} {leaf}{sep}left{colon} {left}{sep}right{colon} {right}"
            )
            .ok()
        }
        0x80 | 0x90 => unlink(major, &mut c, s),
        0xA0 => {
            c.skip(4)?;
            let level = c.u32()?;
            if new {
                write!(s, "level: {level}").ok()
            } else {
                write!(s, "lev {level}").ok()
            }
        }
        0xD0 => {
            let rel = rel_triplet(&mut c)?;
            c.skip(4)?;
            if major == PgMajor::V13 {
                return write!(s, "rel {rel}; latestRemovedXid {}", c.u32()?).ok();
            }
            let xid = full_xid(&mut c)?;
            if !new {
                return write!(s, "rel {rel}; latestRemovedXid {xid}").ok();
            }
            write!(s, "rel: {rel}, snapshotConflictHorizon: {xid}").ok()?;
            if v17 {
                write!(s, ", isCatalogRel: {}", tf(c.u8()? != 0)).ok()?;
            }
            Some(())
        }
        0xE0 => {
            let mut b = Cur::at(block_data(rec, 0)?, 20);
            if major == PgMajor::V13 {
                let oldest = b.u32()?;
                let tuples = b.f64()?;
                return write!(
                    s,
                    "oldest_btpo_xact {oldest}; last_cleanup_num_heap_tuples: {tuples:.6}"
                )
                .ok();
            }
            write!(s, "last_cleanup_num_delpages{colon} {}", b.u32()?).ok()
        }
        _ => Some(()),
    }
}

fn unlink(major: PgMajor, c: &mut Cur<'_>, s: &mut String) -> Option<()> {
    let (left, right) = (c.u32()?, c.u32()?);
    if major == PgMajor::V13 {
        let (ll, lr, top, xact) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
        return write!(
            s,
            "left {left}; right {right}; btpo_xact {xact}; leafleft {ll}; leafright {lr}; topparent {top}"
        )
        .ok();
    }
    let level = c.u32()?;
    c.skip(4)?;
    let safexid = full_xid(c)?;
    let (ll, lr, top) = (c.u32()?, c.u32()?, c.u32()?);
    if major >= PgMajor::V16 {
        write!(
            s,
            "left: {left}, right: {right}, level: {level}, safexid: {safexid}, \
             leafleft: {ll}, leafright: {lr}, leaftopparent: {top}"
        )
        .ok()
    } else {
        write!(
            s,
            "left {left}; right {right}; level {level}; safexid {safexid}; \
             leafleft {ll}; leafright {lr}; leaftopparent {top}"
        )
        .ok()
    }
}

/// 16+ `delvacuum_desc`: deleted offsets and updated posting lists.
fn delvacuum(new: bool, rec: &Record<'_>, ndel: u16, nupd: u16, s: &mut String) -> Option<()> {
    if !new {
        return Some(());
    }
    let Some(d) = block_data(rec, 0) else {
        return Some(());
    };
    let mut c = Cur::at(d, 0);
    s.push_str(", deleted:");
    array_desc(s, &mut c, usize::from(ndel), offset_elem)?;
    s.push_str(", updated: [");
    let mut upd = c;
    upd.skip(usize::from(nupd).checked_mul(2)?)?;
    for i in 0..nupd {
        let (off, n) = (c.u16()?, upd.u16()?);
        write!(s, "{{ off: {off}, nptids: {n}, ptids: [").ok()?;
        for p in 0..n {
            write!(s, "{}", upd.u16()?).ok()?;
            if p + 1 < n {
                s.push_str(", ");
            }
        }
        s.push_str("] }");
        if i + 1 < nupd {
            s.push_str(", ");
        }
    }
    s.push(']');
    Some(())
}
