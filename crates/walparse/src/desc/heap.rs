//! `heapdesc.c`: Heap and Heap2. 13–15 print `off 2 flags 0x00`; 16+
//! `off: 2, flags: 0x00` with bracketed flag lists and offset arrays read
//! from block 0's data; 17 merged pruning and freezing into `PRUNE_*`.

use std::fmt::Write;

use super::{Cur, array_desc, block_data, offset_elem, rel_triplet, tf};
use crate::ctx::PgMajor;
use crate::read::record::Record;

const INFOBITS: [(u8, &str); 5] = [
    (0x01, "IS_MULTI"),
    (0x02, "LOCK_ONLY"),
    (0x04, "EXCL_LOCK"),
    (0x08, "KEYSHR_LOCK"),
    (0x10, "KEYS_UPDATED"),
];

/// 13–15 `out_infobits`: each set bit's name and a space.
fn out_infobits(s: &mut String, bits: u8) {
    for (bit, name) in INFOBITS {
        if bits & bit != 0 {
            s.push_str(name);
            s.push(' ');
        }
    }
}

/// A flag list `key: [A, B]` (16+ `infobits_desc`, `truncate_flags_desc`).
fn flag_list(s: &mut String, key: &str, bits: u8, names: &[(u8, &str)]) {
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    let _ = write!(s, "{key}: [{}]", set.join(", "));
}

/// DELETE, LOCK and LOCK_UPDATED: `xmax, offnum, infobits_set, flags`. 16+
/// prints `xmax: X, off: O, infobits: [..], flags: 0xF`; 13–15 print
/// `old(xmax, off)` then `flags 0xF ` and the infobit names.
fn xmax_off_flags(
    new: bool,
    c: &mut Cur<'_>,
    s: &mut String,
    old: impl Fn(u32, u16) -> String,
) -> Option<()> {
    let (xmax, off, bits, flags) = (c.u32()?, c.u16()?, c.u8()?, c.u8()?);
    if new {
        write!(s, "xmax: {xmax}, off: {off}, ").ok()?;
        flag_list(s, "infobits", bits, &INFOBITS);
        write!(s, ", flags: 0x{flags:02X}").ok()
    } else {
        write!(s, "{} flags 0x{flags:02X} ", old(xmax, off)).ok()?;
        out_infobits(s, bits);
        Some(())
    }
}

/// Heap (rmgr 10).
pub(super) fn heap(major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let md = rec.main_data;
    let mut c = Cur::at(md, 0);
    let new = major >= PgMajor::V16;
    match rec.info() & 0x70 {
        0x00 => {
            let (off, flags) = (c.u16()?, c.u8()?);
            if new {
                write!(s, "off: {off}, flags: 0x{flags:02X}").ok()
            } else {
                write!(s, "off {off} flags 0x{flags:02X}").ok()
            }
        }
        0x10 => xmax_off_flags(new, &mut c, s, |_, off| format!("off {off}")),
        0x20 | 0x40 => {
            let (xmax, off, bits, flags) = (c.u32()?, c.u16()?, c.u8()?, c.u8()?);
            let (new_xmax, new_off) = (c.u32()?, c.u16()?);
            if new {
                write!(s, "old_xmax: {xmax}, old_off: {off}, ").ok()?;
                flag_list(s, "old_infobits", bits, &INFOBITS);
                write!(
                    s,
                    ", flags: 0x{flags:02X}, new_xmax: {new_xmax}, new_off: {new_off}"
                )
                .ok()
            } else {
                write!(s, "off {off} xmax {xmax} flags 0x{flags:02X} ").ok()?;
                out_infobits(s, bits);
                write!(s, "; new off {new_off} xmax {new_xmax}").ok()
            }
        }
        0x30 => truncate(new, &mut c, s),
        0x50 => {
            let off = c.u16()?;
            let sep = if new { ":" } else { "" };
            write!(s, "off{sep} {off}").ok()
        }
        0x60 => xmax_off_flags(new, &mut c, s, |xid, off| format!("off {off}: xid {xid}:")),
        _ => {
            let off = c.u16()?;
            if !new {
                return write!(s, "off {off}").ok();
            }
            write!(s, "off: {off}").ok()?;
            if major >= PgMajor::V18 {
                // xl_heap_inplace: offnum, dbId, tsId, relcacheInitFileInval, nmsgs, msgs.
                c.align(4)?;
                let (db, ts, init) = (c.u32()?, c.u32()?, c.u8()?);
                c.align(4)?;
                let n = c.i32()?;
                super::xact::inval_msgs_desc(s, md, c.pos(), n, db, ts, init != 0)?;
            }
            Some(())
        }
    }
}

fn truncate(new: bool, c: &mut Cur<'_>, s: &mut String) -> Option<()> {
    let (_db, n, flags) = (c.u32()?, c.u32()?, c.u8()?);
    c.align(4)?;
    let n = usize::try_from(n).ok()?;
    if new {
        flag_list(
            s,
            "flags",
            flags,
            &[(0x01, "CASCADE"), (0x02, "RESTART_SEQS")],
        );
        write!(s, ", nrelids: {n}, relids:").ok()?;
        return array_desc(s, c, n, |s, c| write!(s, "{}", c.u32()?).ok());
    }
    if flags & 0x01 != 0 {
        s.push_str("cascade ");
    }
    if flags & 0x02 != 0 {
        s.push_str("restart_seqs ");
    }
    write!(s, "nrelids {n} relids").ok()?;
    for _ in 0..n {
        write!(s, " {}", c.u32()?).ok()?;
    }
    Some(())
}

/// Heap2 (rmgr 9).
pub(super) fn heap2(major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let md = rec.main_data;
    let mut c = Cur::at(md, 0);
    let new = major >= PgMajor::V16;
    let op = rec.info() & 0x70;
    match (op, major) {
        (0x10..=0x30, PgMajor::V17 | PgMajor::V18) => prune17(rec, s),
        (0x10..=0x30, PgMajor::V16) => heap2_16(op, rec, s),
        (0x10 | 0x30, PgMajor::V13) => {
            if op == 0x30 {
                c.skip(12)?; // xl_heap_cleanup_info.node
            }
            write!(s, "remxid {}", c.u32()?).ok()
        }
        (0x10, _) => write!(
            s,
            "latestRemovedXid {} nredirected {} ndead {}",
            c.u32()?,
            c.u16()?,
            c.u16()?
        )
        .ok(),
        (0x20, PgMajor::V13) | (0x30, _) => {
            write!(s, "cutoff xid {} ntuples {}", c.u32()?, c.u16()?).ok()
        }
        (0x20, _) => write!(s, "nunused {}", c.u16()?).ok(),
        (0x40, _) => {
            let (xid, flags) = (c.u32()?, c.u8()?);
            if new {
                write!(s, "snapshotConflictHorizon: {xid}, flags: 0x{flags:02X}").ok()
            } else {
                write!(s, "cutoff xid {xid} flags 0x{flags:02X}").ok()
            }
        }
        (0x50, _) => {
            let flags = c.u8()?;
            c.skip(1)?;
            let n = c.u16()?;
            if !new {
                return write!(s, "{n} tuples flags 0x{flags:02X}").ok();
            }
            write!(s, "ntuples: {n}, flags: 0x{flags:02X}").ok()?;
            let isinit = rec.hdr.xl_info & 0x80 != 0;
            if block_data(rec, 0).is_some() && !isinit {
                s.push_str(", offsets:");
                array_desc(s, &mut c, usize::from(n), offset_elem)?;
            }
            Some(())
        }
        (0x60, _) => xmax_off_flags(new, &mut c, s, |x, off| format!("off {off}: xmax {x}:")),
        (0x70, _) => {
            let (_top, cmin, cmax, combo) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
            let rel = rel_triplet(&mut c)?;
            let blk = (u32::from(c.u16()?) << 16) | u32::from(c.u16()?);
            let off = c.u16()?;
            if new {
                write!(
                    s,
                    "rel: {rel}, tid: {blk}/{off}, cmin: {cmin}, cmax: {cmax}, combo: {combo}"
                )
                .ok()
            } else {
                write!(
                    s,
                    "rel {rel}; tid {blk}/{off}; cmin: {cmin}, cmax: {cmax}, combo: {combo}"
                )
                .ok()
            }
        }
        _ => Some(()),
    }
}

/// 16's PRUNE, VACUUM and FREEZE_PAGE.
fn heap2_16(op: u8, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let mut c = Cur::at(rec.main_data, 0);
    let data = block_data(rec, 0);
    match op {
        0x10 => {
            let (xid, nredir, ndead) = (c.u32()?, c.u16()?, c.u16()?);
            write!(
                s,
                "snapshotConflictHorizon: {xid}, nredirected: {nredir}, ndead: {ndead}"
            )
            .ok()?;
            let Some(d) = data else { return Some(()) };
            let items = d.len() / 2;
            let used = usize::from(nredir) * 2 + usize::from(ndead);
            let nunused = items.checked_sub(used)?;
            write!(s, ", nunused: {nunused}").ok()?;
            let mut b = Cur::at(d, 0);
            s.push_str(", redirected:");
            array_desc(s, &mut b, usize::from(nredir), redirect_elem)?;
            s.push_str(", dead:");
            array_desc(s, &mut b, usize::from(ndead), offset_elem)?;
            s.push_str(", unused:");
            array_desc(s, &mut b, nunused, offset_elem)
        }
        0x20 => {
            let n = c.u16()?;
            write!(s, "nunused: {n}").ok()?;
            let Some(d) = data else { return Some(()) };
            s.push_str(", unused:");
            array_desc(s, &mut Cur::at(d, 0), usize::from(n), offset_elem)
        }
        _ => {
            let (xid, nplans) = (c.u32()?, c.u16()?);
            write!(s, "snapshotConflictHorizon: {xid}, nplans: {nplans}").ok()?;
            let Some(d) = data else { return Some(()) };
            s.push_str(", plans:");
            freeze_plans(s, d, 0, usize::from(nplans), usize::from(nplans) * 12)
        }
    }
}

fn redirect_elem(s: &mut String, c: &mut Cur<'_>) -> Option<()> {
    write!(s, "{}->{}", c.u16()?, c.u16()?).ok()
}

/// `n` freeze plans (12 bytes each) at `plans_at` of `d`, their offsets at
/// `offsets_at` (16+ `plan_elem_desc`).
fn freeze_plans(
    s: &mut String,
    d: &[u8],
    plans_at: usize,
    n: usize,
    offsets_at: usize,
) -> Option<()> {
    let mut offs = Cur::at(d, offsets_at);
    array_desc(s, &mut Cur::at(d, plans_at), n, |s, c| {
        let (xmax, im2, im) = (c.u32()?, c.u16()?, c.u16()?);
        let _frz = c.u8()?;
        c.skip(1)?;
        let nt = c.u16()?;
        write!(
            s,
            "{{ xmax: {xmax}, infomask: {im}, infomask2: {im2}, ntuples: {nt}, offsets:"
        )
        .ok()?;
        array_desc(s, &mut offs, usize::from(nt), offset_elem)?;
        s.push_str(" }");
        Some(())
    })
}

/// 17+ `PRUNE_ON_ACCESS` / `PRUNE_VACUUM_SCAN` / `PRUNE_VACUUM_CLEANUP`.
fn prune17(rec: &Record<'_>, s: &mut String) -> Option<()> {
    let mut c = Cur::at(rec.main_data, 0);
    let (_reason, flags) = (c.u8()?, c.u8()?);
    if flags & (1 << 3) != 0 {
        write!(s, "snapshotConflictHorizon: {}", c.u32()?).ok()?;
    }
    write!(s, ", isCatalogRel: {}", tf(flags & (1 << 1) != 0)).ok()?;
    let Some(d) = block_data(rec, 0) else {
        return Some(());
    };
    let mut b = Cur::at(d, 0);
    let mut nplans = 0usize;
    let mut plans_at = 0usize;
    if flags & (1 << 4) != 0 {
        nplans = usize::from(b.u16()?);
        b.skip(2)?;
        plans_at = b.pos();
        b.skip(nplans.checked_mul(12)?)?;
    }
    let mut group = |bit: u8, width: usize| -> Option<(usize, usize)> {
        if flags & bit == 0 {
            return Some((0, 0));
        }
        let n = usize::from(b.u16()?);
        let at = b.pos();
        b.skip(n.checked_mul(width)?)?;
        Some((n, at))
    };
    let (nredir, redir_at) = group(1 << 5, 4)?;
    let (ndead, dead_at) = group(1 << 6, 2)?;
    let (nunused, unused_at) = group(1 << 7, 2)?;
    let frz_at = b.pos();
    write!(
        s,
        ", nplans: {nplans}, nredirected: {nredir}, ndead: {ndead}, nunused: {nunused}"
    )
    .ok()?;
    if nplans > 0 {
        s.push_str(", plans:");
        freeze_plans(s, d, plans_at, nplans, frz_at)?;
    }
    if nredir > 0 {
        s.push_str(", redirected:");
        array_desc(s, &mut Cur::at(d, redir_at), nredir, redirect_elem)?;
    }
    if ndead > 0 {
        s.push_str(", dead:");
        array_desc(s, &mut Cur::at(d, dead_at), ndead, offset_elem)?;
    }
    if nunused > 0 {
        s.push_str(", unused:");
        array_desc(s, &mut Cur::at(d, unused_at), nunused, offset_elem)?;
    }
    Some(())
}
