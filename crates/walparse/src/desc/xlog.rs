//! `xlogdesc.c`: checkpoints, NEXTOID, restore points, parameter changes,
//! end of recovery, overwritten contrecords and (17+) CHECKPOINT_REDO.

use std::fmt::Write;

use super::{Cur, format_timestamptz, lsn_unpadded};
use crate::ctx::PgMajor;
use crate::read::record::Record;

/// `get_wal_level_string`: the first `wal_level_options` name of the value.
fn wal_level(v: i32) -> &'static str {
    match v {
        0 => "minimal",
        1 => "replica",
        2 => "logical",
        _ => "?",
    }
}

fn on_off(b: u8) -> &'static str {
    if b != 0 { "on" } else { "off" }
}

fn true_false(b: u8) -> &'static str {
    if b != 0 { "true" } else { "false" }
}

/// XLOG (rmgr 0).
pub(super) fn xlog(major: PgMajor, rec: &Record<'_>, s: &mut String) -> Option<()> {
    let md = rec.main_data;
    let mut c = Cur::at(md, 0);
    let v17 = major >= PgMajor::V17;
    match rec.info() {
        info @ (0x00 | 0x10) => checkpoint(v17, info, md, s),
        0x30 => write!(s, "{}", c.u32()?).ok(),
        0x70 => {
            c.skip(8)?;
            let name = c.rest().get(..64).unwrap_or(c.rest());
            let n = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            s.push_str(&String::from_utf8_lossy(name.get(..n)?));
            Some(())
        }
        0x50 => write!(s, "{}", lsn_unpadded(c.u64()?)).ok(),
        0x60 => {
            let (conns, workers, senders, prepared, locks) =
                (c.i32()?, c.i32()?, c.i32()?, c.i32()?, c.i32()?);
            let (level, hints, ts) = (c.i32()?, c.u8()?, c.u8()?);
            write!(
                s,
                "max_connections={conns} max_worker_processes={workers} \
                 max_wal_senders={senders} max_prepared_xacts={prepared} \
                 max_locks_per_xact={locks} wal_level={} wal_log_hints={} \
                 track_commit_timestamp={}",
                wal_level(level),
                on_off(hints),
                on_off(ts)
            )
            .ok()
        }
        0x80 => {
            s.push_str(true_false(c.u8()?));
            Some(())
        }
        0x90 => {
            let (at, tli, prev) = (c.i64()?, c.u32()?, c.u32()?);
            write!(
                s,
                "tli {tli}; prev tli {prev}; time {}",
                format_timestamptz(at)
            )
            .ok()?;
            if v17 {
                write!(s, "; wal_level {}", wal_level(c.i32()?)).ok()?;
            }
            Some(())
        }
        0xD0 if major >= PgMajor::V14 => {
            let (lsn, at) = (c.u64()?, c.i64()?);
            write!(
                s,
                "lsn {}; time {}",
                lsn_unpadded(lsn),
                format_timestamptz(at)
            )
            .ok()
        }
        0xE0 if v17 => write!(s, "wal_level {}", wal_level(c.i32()?)).ok(),
        _ => Some(()),
    }
}

fn checkpoint(v17: bool, info: u8, md: &[u8], s: &mut String) -> Option<()> {
    let mut c = Cur::at(md, 0);
    let (redo, tli, prev, fpw) = (c.u64()?, c.u32()?, c.u32()?, c.u8()?);
    c.skip(3)?;
    let level = c.i32()?;
    write!(
        s,
        "redo {}; tli {tli}; prev tli {prev}; fpw {}; ",
        lsn_unpadded(redo),
        true_false(fpw)
    )
    .ok()?;
    if v17 {
        write!(s, "wal_level {}; ", wal_level(level)).ok()?;
    }
    let next_xid = c.u64()?;
    let (oid, multi, moff) = (c.u32()?, c.u32()?, c.u32()?);
    let (oxid, oxid_db, omulti, omulti_db) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
    c.skip(4 + 8)?; // padding, time
    let (ots, nts, oactive) = (c.u32()?, c.u32()?, c.u32()?);
    write!(
        s,
        "xid {}:{}; oid {oid}; multi {multi}; offset {moff}; \
         oldest xid {oxid} in DB {oxid_db}; oldest multi {omulti} in DB {omulti_db}; \
         oldest/newest commit timestamp xid: {ots}/{nts}; oldest running xid {oactive}; {}",
        next_xid >> 32,
        next_xid & 0xFFFF_FFFF,
        if info == 0 { "shutdown" } else { "online" }
    )
    .ok()
}
