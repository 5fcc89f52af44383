//! Transaction end records (`RM_XACT_ID`): which transaction committed or
//! aborted, when, and with which subtransactions.
//!
//! ```text
//! main data: TimestampTz xact_time (i64, µs since 2000-01-01)
//!            [u32 xinfo]                  if xl_info & XLOG_XACT_HAS_INFO (0x80)
//!            [dbinfo: u32 dbid, u32 tsid] if xinfo & XACT_XINFO_HAS_DBINFO (0x01)
//!            [u32 nsubxacts, u32 subxacts[]] if xinfo & XACT_XINFO_HAS_SUBXACTS (0x02)
//!            ... relfilenodes, dropped stats, invalidations, two-phase xid, origin
//! ```
//! Source: `src/include/access/xact.h` (`xl_xact_commit`, `xl_xact_parsed_commit`)
//! and `ParseCommitRecord` in `xactdesc.c`; the layout up to the subxacts is
//! the same in 13–18. The transaction id is the record's `xl_xid`; for
//! `COMMIT PREPARED` / `ROLLBACK PREPARED` it is the prepared transaction's,
//! carried after the other parts (`XACT_XINFO_HAS_TWOPHASE`):
//!
//! ```text
//! ... [u32 nrels, RelFileLocator[nrels] (12 bytes)]   HAS_RELFILENODES (0x04)
//!     [u32 nitems, xl_xact_stats_item[nitems]]        HAS_DROPPED_STATS (0x100; 12 bytes, 16 in 18)
//!     [u32 nmsgs, SharedInvalidationMessage[] (16)]   HAS_INVALS (0x08; commit only)
//!     [u32 twophase xid]                              HAS_TWOPHASE (0x10)
//!     [gid, NUL-terminated]                           HAS_GID (0x80)
//!     [XLogRecPtr origin_lsn, TimestampTz origin_ts]  HAS_ORIGIN (0x20)
//! ```
//! (`ParseCommitRecord` / `ParseAbortRecord`; the size of a stats item is
//! found by which one makes the record end exactly where its data ends.)

use crate::bytes::u32_at;
use crate::read::record::Record;
use crate::rmgr::RM_XACT_ID;
use crate::types::Lsn;

/// A commit or abort record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XactEnd {
    /// Record LSN.
    pub lsn: Lsn,
    /// End of the record.
    pub end: Lsn,
    /// `xl_xid`: the top-level transaction.
    pub xid: u32,
    /// Commit (true) or abort (false).
    pub committed: bool,
    /// `xact_time` in µs since 2000-01-01 00:00 UTC.
    pub time_us: i64,
    /// Subtransaction ids that ended with it.
    pub subxacts: Vec<u32>,
    /// `COMMIT PREPARED` / `ROLLBACK PREPARED`: `xid` is then the prepared
    /// transaction's (from the two-phase part), not the finishing backend's.
    pub prepared: bool,
}

/// Decodes `rec` if it is a COMMIT, ABORT, COMMIT PREPARED or ABORT
/// PREPARED record whose main data is long enough; `None` otherwise.
pub fn xact_end(rec: &Record<'_>) -> Option<XactEnd> {
    if rec.rmid() != RM_XACT_ID {
        return None;
    }
    let (committed, prepared) = match rec.info() & 0x70 {
        0x00 => (true, false),
        0x20 => (false, false),
        0x30 => (true, true),
        0x40 => (false, true),
        _ => return None,
    };
    let md = rec.main_data;
    let time_us = i64::from_le_bytes(md.get(0..8)?.try_into().ok()?);
    let mut pos = 8usize;
    let xinfo = if rec.info() & 0x80 != 0 {
        let x = u32_at(md, pos)?;
        pos = pos.checked_add(4)?;
        x
    } else {
        0
    };
    if xinfo & 0x01 != 0 {
        pos = pos.checked_add(8)?;
    }
    let mut subxacts = Vec::new();
    if xinfo & 0x02 != 0 {
        let n = usize::try_from(u32_at(md, pos)?).ok()?;
        pos = pos.checked_add(4)?;
        // Bounded by the bytes present, not by the count read.
        let bytes = md.get(pos..pos.checked_add(n.checked_mul(4)?)?)?;
        subxacts = bytes.chunks_exact(4).filter_map(|c| u32_at(c, 0)).collect();
        pos = pos.checked_add(bytes.len())?;
    }
    let xid = if prepared {
        let commit = rec.info() & 0x70 == 0x30;
        [12usize, 16]
            .into_iter()
            .find_map(|item| twophase_xid(md, pos, xinfo, commit, item))?
    } else {
        rec.xid()
    };
    Some(XactEnd {
        lsn: rec.lsn,
        end: rec.end,
        xid,
        committed,
        time_us,
        subxacts,
        prepared,
    })
}

/// Skips a counted array (`u32 n`, then `n` items of `item` bytes) at `pos`.
fn skip_array(md: &[u8], pos: usize, item: usize) -> Option<usize> {
    let n = usize::try_from(u32_at(md, pos)?).ok()?;
    let end = pos.checked_add(4)?.checked_add(n.checked_mul(item)?)?;
    (end <= md.len()).then_some(end)
}

/// The prepared transaction's xid in the parts after the subtransactions
/// (at `pos`), if the record ends exactly after them with stats items of
/// `stats_item` bytes.
fn twophase_xid(
    md: &[u8],
    mut pos: usize,
    xinfo: u32,
    commit: bool,
    stats_item: usize,
) -> Option<u32> {
    if xinfo & 0x04 != 0 {
        pos = skip_array(md, pos, 12)?;
    }
    if xinfo & 0x100 != 0 {
        pos = skip_array(md, pos, stats_item)?;
    }
    if commit && xinfo & 0x08 != 0 {
        pos = skip_array(md, pos, 16)?;
    }
    if xinfo & 0x10 == 0 {
        return None;
    }
    let xid = u32_at(md, pos)?;
    pos = pos.checked_add(4)?;
    if xinfo & 0x80 != 0 {
        let nul = md.get(pos..)?.iter().position(|&b| b == 0)?;
        pos = pos.checked_add(nul)?.checked_add(1)?;
    }
    if xinfo & 0x20 != 0 {
        pos = pos.checked_add(16)?;
    }
    (pos == md.len()).then_some(xid)
}

#[cfg(test)]
mod tests {
    use zerocopy::FromBytes;

    use super::*;
    use crate::raw::XLogRecord;

    fn record(xl_info: u8, xid: u32, main_data: &[u8]) -> Record<'_> {
        let mut h = [0u8; 24];
        h[4..8].copy_from_slice(&xid.to_le_bytes());
        h[16] = xl_info;
        h[17] = RM_XACT_ID;
        Record {
            lsn: Lsn(0x100),
            end: Lsn(0x180),
            hdr: XLogRecord::read_from_bytes(&h).unwrap(),
            blocks: Vec::new(),
            origin: None,
            toplevel_xid: None,
            main_data,
            bytes: &[],
        }
    }

    #[rustfmt::skip]
    const COMMIT_WITH_SUBXACTS: [u8; 32] = [
        0x40, 0x42, 0x0f, 0, 0, 0, 0, 0, // xact_time: 1_000_000 µs
        0x03, 0, 0, 0,                   // xinfo: HAS_DBINFO | HAS_SUBXACTS
        5, 0, 0, 0, 0x7f, 0x06, 0, 0,    // dbinfo: dbid 5, tsid 1663
        2, 0, 0, 0,                      // nsubxacts
        8, 2, 0, 0, 9, 2, 0, 0,          // subxacts 520, 521
    ];

    #[test]
    fn commit_with_dbinfo_and_subxacts() {
        let r = record(0x80, 519, &COMMIT_WITH_SUBXACTS);
        let x = xact_end(&r).unwrap();
        assert_eq!((x.xid, x.committed, x.time_us), (519, true, 1_000_000));
        assert_eq!(x.subxacts, vec![520, 521]);
    }

    #[rustfmt::skip]
    const COMMIT_PREPARED: [u8; 44] = [
        0x40, 0x42, 0x0f, 0, 0, 0, 0, 0, // xact_time
        0x19, 0, 0, 0,                   // xinfo: DBINFO | INVALS | TWOPHASE
        5, 0, 0, 0, 0x7f, 0x06, 0, 0,    // dbinfo
        1, 0, 0, 0,                      // nmsgs
        0xfe, 0, 0, 0, 5, 0, 0, 0,       // one invalidation message (16 bytes)
        0x57, 0x04, 0, 0, 1, 0, 0, 0,
        0xe4, 0x02, 0, 0,                // twophase xid 740
    ];

    #[test]
    fn commit_prepared_names_the_prepared_transaction() {
        // xl_xid 0: COMMIT PREPARED ran in a session without an xid.
        let x = xact_end(&record(0xb0, 0, &COMMIT_PREPARED)).unwrap();
        assert_eq!((x.xid, x.committed, x.prepared), (740, true, true));
        // ROLLBACK PREPARED has no invalidations: the same bytes do not parse.
        assert!(xact_end(&record(0xc0, 0, &COMMIT_PREPARED)).is_none());
    }

    #[test]
    fn abort_without_info_and_short_or_foreign_records() {
        let r = record(0x20, 7, &COMMIT_WITH_SUBXACTS[..8]);
        let x = xact_end(&r).unwrap();
        assert!(!x.committed && x.subxacts.is_empty());
        // A subxact count larger than the bytes present is refused.
        let mut lying = COMMIT_WITH_SUBXACTS;
        lying[20] = 200;
        assert!(xact_end(&record(0x80, 519, &lying)).is_none());
        assert!(xact_end(&record(0x80, 519, &COMMIT_WITH_SUBXACTS[..6])).is_none());
        assert!(xact_end(&record(0x50, 519, &COMMIT_WITH_SUBXACTS)).is_none()); // ASSIGNMENT
    }
}
