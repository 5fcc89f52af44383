//! `hashdesc.c`, `gindesc.c`, `gistdesc.c`, `spgdesc.c`, `brindesc.c`: the
//! other index access methods.

use std::fmt::Write;

use super::{Cur, block_data, block_image, full_xid, rel_triplet, tf};
use crate::ctx::PgMajor;
use crate::read::record::Record;

/// C's `printf("%g")` (precision 6) of `v`.
pub(crate) fn c_g(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let e = format!("{v:.5e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (-4..6).contains(&x) {
        let prec = usize::try_from(5 - x).unwrap_or(0);
        trim(format!("{v:.prec$}"))
    } else {
        let sign = if x < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant.to_string()), x.unsigned_abs())
    }
}

/// Hash (rmgr 12).
pub(super) fn hash(major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let mut c = Cur::at(rec.main_data, 0);
    match rec.info() {
        0x00 => {
            let n = c.f64()?;
            c.skip(4)?;
            write!(s, "num_tuples {}, fillfactor {}", c_g(n), c.u16()?).ok()
        }
        0x10 => write!(s, "bmsize {}", c.u16()?).ok(),
        0x20 => write!(s, "off {}", c.u16()?).ok(),
        0x30 => write!(s, "bmsize {}, bmpage_found {}", c.u16()?, tf(c.u8()? != 0)).ok(),
        0x40 => {
            let bucket = c.u32()?;
            c.skip(4)?;
            let flags = c.u8()?;
            write!(
                s,
                "new_bucket {bucket}, meta_page_masks_updated {}, issplitpoint_changed {}",
                tf(flags & 1 != 0),
                tf(flags & 2 != 0)
            )
            .ok()
        }
        0x60 => write!(
            s,
            "old_bucket_flag {}, new_bucket_flag {}",
            c.u16()?,
            c.u16()?
        )
        .ok(),
        0x70 => write!(s, "ntups {}, is_primary {}", c.u16()?, tf(c.u8()? != 0)).ok(),
        0x80 => {
            let (prev, next, ntups, prim) = (c.u32()?, c.u32()?, c.u16()?, c.u8()?);
            write!(
                s,
                "prevblkno {prev}, nextblkno {next}, ntups {ntups}, is_primary {}",
                tf(prim != 0)
            )
            .ok()
        }
        0x90 => write!(
            s,
            "clear_dead_marking {}, is_primary {}",
            tf(c.u8()? != 0),
            tf(c.u8()? != 0)
        )
        .ok(),
        0xB0 => write!(s, "ntuples {}", c_g(c.f64()?)).ok(),
        0xC0 => {
            let xid = c.u32()?;
            if major <= PgMajor::V15 {
                let n = c.i32()?;
                let key = if major == PgMajor::V13 {
                    "latest removed xid"
                } else {
                    "latestRemovedXid"
                };
                return write!(s, "ntuples {n}, {key} {xid}").ok();
            }
            let n = c.u16()?;
            write!(s, "ntuples {n}, snapshotConflictHorizon {xid}").ok()?;
            if major >= PgMajor::V17 {
                write!(s, ", isCatalogRel {}", tf(c.u8()? != 0)).ok()?;
            }
            Some(())
        }
        _ => Some(()),
    }
}

fn block_id(c: &mut Cur<'_>) -> Option<u32> {
    Some((u32::from(c.u16()?) << 16) | u32::from(c.u16()?))
}

/// `" (full page image)"` when block 0 has an image; `None` when it has not.
fn gin_image(rec: &Record<'_>, s: &mut String) -> Option<()> {
    let apply = block_image(rec, 0)?;
    s.push_str(if apply {
        " (full page image)"
    } else {
        " (full page image, for WAL verification)"
    });
    Some(())
}

/// Gin (rmgr 13).
pub(super) fn gin(_major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let md = rec.main_data;
    let mut c = Cur::at(md, 0);
    let flag_desc = |flags: u16| {
        format!(
            "isdata: {} isleaf: {}",
            tf(flags & 0x01 != 0),
            tf(flags & 0x02 != 0)
        )
    };
    match rec.info() {
        0x20 => {
            let flags = c.u16()?;
            s.push_str(&flag_desc(flags));
            if flags & 0x02 == 0 {
                let (l, r) = (block_id(&mut c)?, block_id(&mut c)?);
                write!(s, " children: {l}/{r}").ok()?;
            }
            if gin_image(rec, s).is_some() {
                return Some(());
            }
            let mut p = Cur::at(block_data(rec, 0).unwrap_or_default(), 0);
            if flags & 0x01 == 0 {
                p.skip(2)?;
                write!(s, " isdelete: {}", tf(p.u8()? != 0)).ok()
            } else if flags & 0x02 != 0 {
                recompress_leaf(&mut p, s)
            } else {
                p.skip(2)?;
                let child = block_id(&mut p)?;
                let (blk, off) = (block_id(&mut p)?, p.u16()?);
                write!(s, " pitem: {child}-{blk}/{off}").ok()
            }
        }
        0x30 => {
            c.skip(24)?;
            let flags = c.u16()?;
            write!(
                s,
                "isrootsplit: {} {}",
                tf(flags & 0x04 != 0),
                flag_desc(flags)
            )
            .ok()
        }
        0x90 => {
            if gin_image(rec, s).is_some() {
                return Some(());
            }
            recompress_leaf(&mut Cur::at(block_data(rec, 0).unwrap_or_default(), 0), s)
        }
        0x80 => {
            c.skip(56)?;
            write!(s, "ndeleted: {}", c.i32()?).ok()
        }
        _ => Some(()),
    }
}

/// `desc_recompress_leaf`: the segment actions of a data leaf.
fn recompress_leaf(c: &mut Cur<'_>, s: &mut String) -> Option<()> {
    let n = c.u16()?;
    write!(s, " {n} segments:").ok()?;
    for _ in 0..n {
        let (segno, action) = (c.u8()?, c.u8()?);
        let mut nitems = 0u16;
        if action == 2 || action == 3 {
            let mut l = *c;
            l.skip(6)?;
            let nbytes = usize::from(l.u16()?);
            let size = 8usize.checked_add(nbytes.checked_add(1)? & !1)?;
            c.skip(size.checked_add(1)? & !1)?;
        }
        if action == 4 {
            nitems = c.u16()?;
            c.skip(usize::from(nitems).checked_mul(6)?)?;
        }
        let _ = match action {
            4 => write!(s, " {segno} (add {nitems} items)"),
            1 => write!(s, " {segno} (delete)"),
            2 => write!(s, " {segno} (insert)"),
            3 => write!(s, " {segno} (replace)"),
            _ => {
                let _ = write!(s, " {segno} unknown action {action} ???");
                return Some(());
            }
        };
    }
    Some(())
}

/// Gist (rmgr 14).
pub(super) fn gist(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    let horizon = if major >= PgMajor::V16 {
        "snapshotConflictHorizon"
    } else {
        "latestRemovedXid"
    };
    let v17 = major >= PgMajor::V17;
    match info {
        0x20 => {
            let rel = rel_triplet(&mut c)?;
            let blk = c.u32()?;
            let xid = full_xid(&mut c)?;
            write!(s, "rel {rel}; blk {blk}; {horizon} {xid}").ok()?;
            if v17 {
                write!(s, ", isCatalogRel {}", tf(c.u8()? != 0)).ok()?;
            }
            Some(())
        }
        0x10 => {
            let (xid, n) = (c.u32()?, c.u16()?);
            write!(s, "delete: {horizon} {xid}, nitems: {n}").ok()?;
            if v17 {
                write!(s, ", isCatalogRel {}", tf(c.u8()? != 0)).ok()?;
            }
            Some(())
        }
        0x30 => {
            c.skip(18)?;
            write!(s, "page_split: splits to {} pages", c.u16()?).ok()
        }
        0x60 => {
            let xid = full_xid(&mut c)?;
            write!(s, "deleteXid {xid}; downlink {}", c.u16()?).ok()
        }
        _ => Some(()),
    }
}

/// SPGist (rmgr 16).
pub(super) fn spgist(major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    if major == PgMajor::V13 {
        return spgist13(info, md, s);
    }
    let mut c = Cur::at(md, 0);
    let flag = |s: &mut String, on: u8, what: &str| {
        if on != 0 {
            s.push_str(what);
        }
    };
    match info {
        0x10 => {
            let (newp, nulls) = (c.u8()?, c.u8()?);
            let (leaf, head, parent, node) = (c.u16()?, c.u16()?, c.u16()?, c.u16()?);
            write!(
                s,
                "off: {leaf}, headoff: {head}, parentoff: {parent}, nodeI: {node}"
            )
            .ok()?;
            flag(s, newp, " (newpage)");
            flag(s, nulls, " (nulls)");
        }
        0x20 => {
            let (n, newp, dead, nulls) = (c.u16()?, c.u8()?, c.u8()?, c.u8()?);
            c.skip(1)?;
            let (parent, node) = (c.u16()?, c.u16()?);
            write!(s, "nmoves: {n}, parentoff: {parent}, nodeI: {node}").ok()?;
            flag(s, newp, " (newpage)");
            flag(s, dead, " (replacedead)");
            flag(s, nulls, " (nulls)");
        }
        0x30 => {
            let (off, new_off, newp) = (c.u16()?, c.u16()?, c.u8()?);
            let pblk = i8::from_le_bytes([c.u8()?]);
            let (parent, node) = (c.u16()?, c.u16()?);
            write!(
                s,
                "off: {off}, newoff: {new_off}, parentBlk: {pblk}, parentoff: {parent}, nodeI: {node}"
            )
            .ok()?;
            flag(s, newp, " (newpage)");
        }
        0x40 => {
            let (pre, post, newp, same) = (c.u16()?, c.u16()?, c.u8()?, c.u8()?);
            write!(s, "prefixoff: {pre}, postfixoff: {post}").ok()?;
            flag(s, newp, " (newpage)");
            flag(s, same, " (same)");
        }
        0x50 => {
            let root = c.u8()?;
            c.skip(1)?;
            let (ndel, nins) = (c.u16()?, c.u16()?);
            c.skip(2)?;
            let inner = c.u16()?;
            let (_init_inner, nulls, inner_parent) = (c.u8()?, c.u8()?, c.u8()?);
            c.skip(1)?;
            let (parent, node) = (c.u16()?, c.u16()?);
            write!(
                s,
                "ndelete: {ndel}, ninsert: {nins}, inneroff: {inner}, parentoff: {parent}, nodeI: {node}"
            )
            .ok()?;
            flag(s, inner_parent, " (innerIsParent)");
            flag(s, nulls, " (nulls)");
            flag(s, root, " (isRootSplit)");
        }
        0x60 => write!(
            s,
            "ndead: {}, nplaceholder: {}, nmove: {}, nchain: {}",
            c.u16()?,
            c.u16()?,
            c.u16()?,
            c.u16()?
        )
        .ok()?,
        0x70 => write!(s, "ndelete: {}", c.u16()?).ok()?,
        0x80 => {
            let (n, first, xid) = (c.u16()?, c.u16()?, c.u32()?);
            let key = if major >= PgMajor::V16 {
                "snapshotConflictHorizon"
            } else {
                "newestredirectxid"
            };
            write!(
                s,
                "ntoplaceholder: {n}, firstplaceholder: {first}, {key}: {xid}"
            )
            .ok()?;
            if major >= PgMajor::V17 {
                write!(s, ", isCatalogRel: {}", tf(c.u8()? != 0)).ok()?;
            }
        }
        _ => {}
    }
    Some(())
}

fn spgist13(info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info {
        0x10 => {
            let (newp, nulls) = (c.u8()?, c.u8()?);
            let (leaf, head, parent) = (c.u16()?, c.u16()?, c.u16()?);
            write!(
                s,
                "add leaf to page; off {leaf}; headoff {head}; parentoff {parent}"
            )
            .ok()?;
            if newp != 0 {
                s.push_str(" (newpage)");
            }
            if nulls != 0 {
                s.push_str(" (nulls)");
            }
            Some(())
        }
        0x20 => write!(s, "{} leafs", c.u16()?).ok(),
        0x30 => write!(s, "off {}", c.u16()?).ok(),
        0x40 => {
            let (pre, post, newp, same) = (c.u16()?, c.u16()?, c.u8()?, c.u8()?);
            write!(
                s,
                "prefix off: {pre}, postfix off: {post} (same {same}, new {newp})"
            )
            .ok()
        }
        0x50 => {
            let root = c.u8()?;
            c.skip(1)?;
            let (ndel, nins) = (c.u16()?, c.u16()?);
            c.skip(6)?;
            let inner_parent = c.u8()?;
            write!(s, "ndel {ndel}; nins {nins}").ok()?;
            if inner_parent != 0 {
                s.push_str(" (innerIsParent)");
            }
            if root != 0 {
                s.push_str(" (isRootSplit)");
            }
            Some(())
        }
        0x80 => {
            c.skip(4)?;
            write!(s, "newest XID {}", c.u32()?).ok()
        }
        _ => Some(()),
    }
}

/// BRIN (rmgr 17).
pub(super) fn brin(_major: PgMajor, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    match info & 0x70 {
        0x00 => {
            let ppr = c.u32()?;
            write!(s, "v{} pagesPerRange {ppr}", c.u16()?).ok()
        }
        0x10 => write!(
            s,
            "heapBlk {} pagesPerRange {} offnum {}",
            c.u32()?,
            c.u32()?,
            c.u16()?
        )
        .ok(),
        0x20 => {
            let old = c.u16()?;
            c.skip(2)?;
            let (blk, ppr, off) = (c.u32()?, c.u32()?, c.u16()?);
            write!(
                s,
                "heapBlk {blk} pagesPerRange {ppr} old offnum {old}, new offnum {off}"
            )
            .ok()
        }
        0x30 => write!(s, "offnum {}", c.u16()?).ok(),
        0x40 => write!(s, "targetBlk {}", c.u32()?).ok(),
        0x50 => write!(
            s,
            "pagesPerRange {}, heapBlk {}, page offset {}",
            c.u32()?,
            c.u32()?,
            c.u16()?
        )
        .ok(),
        _ => Some(()),
    }
}

#[cfg(test)]
mod tests {
    use super::c_g;

    #[test]
    fn printf_g() {
        assert_eq!(c_g(0.0), "0");
        assert_eq!(c_g(1000.0), "1000");
        assert_eq!(c_g(123456.0), "123456");
        assert_eq!(c_g(1234567.0), "1.23457e+06");
        assert_eq!(c_g(1e6), "1e+06");
        assert_eq!(c_g(0.5), "0.5");
        assert_eq!(c_g(0.0001), "0.0001");
        assert_eq!(c_g(0.00001), "1e-05");
    }
}
