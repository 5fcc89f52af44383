//! Record descriptions exactly as each major's `pg_waldump` prints them after
//! `desc: TYPE ` (the `rm_desc` functions of
//! `src/backend/access/rmgrdesc/*.c`, the same text `pg_walinspect` shows in
//! its `description` column on 16+).
//!
//! One module per group of resource managers; every function reads the main
//! data (and, where the C code does, block data or the image flags) with a
//! checked [`Cur`]sor and appends to the output string. A record too short
//! for what its type promises ends the description where the bytes end
//! (never a panic). The layout differs per major: 16 rewrote most texts to
//! `key: value` form, 17 changed pruning records, 18 added invalidations to
//! `INPLACE`.

mod heap;
mod index;
mod misc;
mod nbt;
mod xact;
mod xlog;

use std::fmt::Write;

use crate::bytes::{u16_at, u32_at, u64_at};
use crate::ctx::PgMajor;
use crate::read::record::Record;

pub use xact::inval_msgs_desc;

/// A checked little-endian reader over a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    /// A cursor at `pos` of `b`.
    pub(crate) fn at(b: &'a [u8], pos: usize) -> Self {
        Self { b, pos }
    }
    /// The current position.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self.pos.checked_add(n)?;
        Some(())
    }
    /// Moves to the next multiple of `n` (a power of two).
    pub(crate) fn align(&mut self, n: usize) -> Option<()> {
        let m = n.checked_sub(1)?;
        self.pos = self.pos.checked_add(m)? & !m;
        Some(())
    }
    /// Reads a byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.skip(1)?;
        Some(v)
    }
    /// Reads a `u16`.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let v = u16_at(self.b, self.pos)?;
        self.skip(2)?;
        Some(v)
    }
    /// Reads a `u32`.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let v = u32_at(self.b, self.pos)?;
        self.skip(4)?;
        Some(v)
    }
    /// Reads an `i32`.
    pub(crate) fn i32(&mut self) -> Option<i32> {
        self.u32().map(|v| i32::from_le_bytes(v.to_le_bytes()))
    }
    /// Reads a `u64`.
    pub(crate) fn u64(&mut self) -> Option<u64> {
        let v = u64_at(self.b, self.pos)?;
        self.skip(8)?;
        Some(v)
    }
    /// Reads an `i64`.
    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.u64().map(|v| i64::from_le_bytes(v.to_le_bytes()))
    }
    /// Reads an `f64`.
    pub(crate) fn f64(&mut self) -> Option<f64> {
        self.u64().map(f64::from_bits)
    }
    /// Reads a NUL-terminated string (lossy UTF-8), consuming the NUL.
    pub(crate) fn cstr(&mut self) -> Option<String> {
        let rest = self.b.get(self.pos..)?;
        let n = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        let s = String::from_utf8_lossy(rest.get(..n)?).into_owned();
        self.skip(n.checked_add(1)?)?;
        Some(s)
    }
    /// Bytes from the current position to the end.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }
}

/// `'T'` or `'F'`, as the C code's `%c` of a boolean.
pub(crate) fn tf(b: bool) -> char {
    if b { 'T' } else { 'F' }
}

/// rmgrdesc_utils.c's `array_desc` (16+): ` [a, b, c]`, ` []` when empty;
/// `elem` writes one element read from the cursor.
pub(crate) fn array_desc(
    s: &mut String,
    c: &mut Cur<'_>,
    n: usize,
    mut elem: impl FnMut(&mut String, &mut Cur<'_>) -> Option<()>,
) -> Option<()> {
    if n == 0 {
        s.push_str(" []");
        return Some(());
    }
    s.push_str(" [");
    for i in 0..n {
        elem(s, c)?;
        if i + 1 < n {
            s.push_str(", ");
        }
    }
    s.push(']');
    Some(())
}

/// One `OffsetNumber` element (`offset_elem_desc`).
pub(crate) fn offset_elem(s: &mut String, c: &mut Cur<'_>) -> Option<()> {
    write!(s, "{}", c.u16()?).ok()
}

/// `relpathperm()`: `base/DB/REL`, `global/REL` or
/// `pg_tblspc/SPC/PG_<major>_<catversion>/DB/REL`, with `_fsm`/`_vm`/`_init`.
pub fn relpath(major: PgMajor, spc: u32, db: u32, rel: u32, fork: u32) -> String {
    let suffix = match fork {
        0 => "",
        1 => "_fsm",
        2 => "_vm",
        3 => "_init",
        _ => "_?",
    };
    match spc {
        1664 => format!("global/{rel}{suffix}"),
        1663 => format!("base/{db}/{rel}{suffix}"),
        _ => format!(
            "pg_tblspc/{spc}/{}/{db}/{rel}{suffix}",
            tablespace_version_directory(major)
        ),
    }
}

/// `TABLESPACE_VERSION_DIRECTORY`: `PG_<major>_<CATALOG_VERSION_NO>` of the
/// released major.
pub fn tablespace_version_directory(major: PgMajor) -> &'static str {
    match major {
        PgMajor::V13 => "PG_13_202007201",
        PgMajor::V14 => "PG_14_202107181",
        PgMajor::V15 => "PG_15_202209061",
        PgMajor::V16 => "PG_16_202307071",
        PgMajor::V17 => "PG_17_202406281",
        PgMajor::V18 => "PG_18_202506291",
    }
}

/// A `RelFileLocator` read from `c` as `spc/db/rel`.
pub(crate) fn rel_triplet(c: &mut Cur<'_>) -> Option<String> {
    Some(format!("{}/{}/{}", c.u32()?, c.u32()?, c.u32()?))
}

/// A `FullTransactionId` read from `c` as `epoch:xid`.
pub(crate) fn full_xid(c: &mut Cur<'_>) -> Option<String> {
    let v = c.u64()?;
    Some(format!("{}:{}", v >> 32, v & 0xFFFF_FFFF))
}

/// An LSN as `LSN_FORMAT_ARGS` with `%X/%X` (no zero padding).
pub(crate) fn lsn_unpadded(v: u64) -> String {
    format!("{:X}/{:X}", v >> 32, v & 0xFFFF_FFFF)
}

/// Formats a `TimestampTz` (µs since 2000-01-01 UTC) as pg_waldump's
/// `timestamptz_to_str` does in a UTC session: `YYYY-MM-DD HH:MM:SS.ffffff UTC`.
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

/// The description of `rec` (what pg_waldump prints after `desc: TYPE `,
/// without block references), as `major`'s rmgrdesc code writes it.
pub fn describe(major: PgMajor, rec: &Record<'_>) -> String {
    let mut s = String::new();
    let md = rec.main_data;
    let info = rec.info();
    let _ = match rec.rmid() {
        0 => xlog::xlog(major, rec, &mut s),
        1 => xact::xact(major, rec, &mut s),
        2 => misc::smgr(major, info, md, &mut s),
        3 => misc::clog(major, info, md, &mut s),
        4 => misc::dbase(major, info, md, &mut s),
        5 => misc::tblspc(info, md, &mut s),
        6 => misc::mxact(major, info, md, &mut s),
        7 => misc::relmap(info, md, &mut s),
        8 => xact::standby(major, info, md, &mut s),
        9 => heap::heap2(major, rec, &mut s),
        10 => heap::heap(major, rec, &mut s),
        11 => nbt::btree(major, rec, &mut s),
        12 => index::hash(major, rec, &mut s),
        13 => index::gin(major, rec, &mut s),
        14 => index::gist(major, info, md, &mut s),
        15 => misc::seq(major, info, md, &mut s),
        16 => index::spgist(major, info, md, &mut s),
        17 => index::brin(major, info, md, &mut s),
        18 => misc::commit_ts(major, info, md, &mut s),
        19 => misc::replorigin(major, info, md, &mut s),
        20 => misc::generic(md, &mut s),
        21 => misc::logicalmsg(major, info, md, &mut s),
        _ => None,
    };
    s
}

/// The data of block reference `id` of `rec` when it has any
/// (`XLogRecHasBlockData`).
pub(crate) fn block_data<'r>(rec: &Record<'r>, id: u8) -> Option<&'r [u8]> {
    rec.blocks
        .iter()
        .find(|b| b.id == id)
        .map(|b| b.data)
        .filter(|d| !d.is_empty())
}

/// Whether block `id` of `rec` carries an image, and whether redo applies it.
pub(crate) fn block_image(rec: &Record<'_>, id: u8) -> Option<bool> {
    rec.blocks
        .iter()
        .find(|b| b.id == id)
        .and_then(|b| b.image)
        .map(|i| i.apply)
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

    #[test]
    fn relpaths() {
        assert_eq!(relpath(PgMajor::V15, 1663, 5, 16384, 0), "base/5/16384");
        assert_eq!(relpath(PgMajor::V15, 1664, 0, 1262, 1), "global/1262_fsm");
        assert_eq!(
            relpath(PgMajor::V15, 16390, 5, 16391, 2),
            "pg_tblspc/16390/PG_15_202209061/5/16391_vm"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Any main data and block data, for any rmgr, type and major:
        /// a description, never a panic.
        #[test]
        fn any_bytes_never_panic(
            rmid in 0u8..24,
            xl_info in proptest::prelude::any::<u8>(),
            major in 0usize..6,
            main in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            use zerocopy::FromBytes;
            let mut hdr_bytes = [0u8; 24];
            hdr_bytes[16] = xl_info;
            hdr_bytes[17] = rmid;
            let hdr = crate::raw::XLogRecord::read_from_bytes(&hdr_bytes).unwrap();
            let majors = [PgMajor::V13, PgMajor::V14, PgMajor::V15, PgMajor::V16, PgMajor::V17, PgMajor::V18];
            let block = crate::read::record::BlockRef {
                id: 0,
                fork_flags: 0,
                locator: crate::read::record::RelFileLocator { spc_oid: 1663, db_oid: 5, rel_number: 1 },
                block: 0,
                image: None,
                data: &data,
            };
            let rec = Record {
                lsn: crate::Lsn(0),
                end: crate::Lsn(0),
                hdr,
                blocks: vec![block],
                origin: None,
                toplevel_xid: None,
                main_data: &main,
                bytes: &[],
            };
            let _ = describe(majors[major], &rec);
        }
    }

    #[test]
    fn arrays() {
        let b = [1u8, 0, 2, 0];
        let mut s = String::new();
        array_desc(&mut s, &mut Cur::at(&b, 0), 2, offset_elem).unwrap();
        assert_eq!(s, " [1, 2]");
        s.clear();
        array_desc(&mut s, &mut Cur::at(&b, 0), 0, offset_elem).unwrap();
        assert_eq!(s, " []");
    }
}
