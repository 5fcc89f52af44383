//! `pg_xact/` (CLOG): two status bits per transaction id.
//!
//! ```text
//! segment file = 32 pages of BLCKSZ bytes, named by 4+ hex digits (segment number)
//! xid -> page  = xid / (BLCKSZ * 4)      byte = (xid % (BLCKSZ*4)) / 4
//!        bits  = (xid % 4) * 2 .. +2      00 in progress, 01 committed, 10 aborted, 11 sub-committed
//! ```

use std::path::Path;

use crate::slru::SlruDir;

/// Commit status of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XidStatus {
    /// Still running when the cluster stopped (so, for a stopped cluster, never committed).
    InProgress,
    /// Committed.
    Committed,
    /// Aborted.
    Aborted,
    /// Sub-committed (parent's outcome unknown; treated as not committed).
    SubCommitted,
    /// The status page is missing (truncated pg_xact, missing file).
    Unknown,
}

/// Reader over a data directory's `pg_xact`.
pub struct Clog {
    slru: SlruDir,
    block_size: usize,
}

impl Clog {
    /// A reader for `<pgdata>/pg_xact`.
    pub fn new(pgdata: &Path, block_size: usize) -> Self {
        Self {
            slru: SlruDir::new(pgdata.join("pg_xact"), block_size),
            block_size,
        }
    }

    /// Status of `xid` from pg_xact alone. Special xids: 1 (bootstrap) and
    /// 2 (frozen) are committed, 0 (invalid) aborted.
    pub fn status(&mut self, xid: u32) -> XidStatus {
        match xid {
            0 => return XidStatus::Aborted,
            1 | 2 => return XidStatus::Committed,
            _ => {}
        }
        let per_page = self.block_size * 4;
        let xid = xid as usize;
        let page = xid / per_page;
        let pos = page * self.block_size + (xid % per_page) / 4;
        let shift = (xid % 4) * 2;
        let Some(byte) = self.slru.bytes(pos, 1).and_then(|b| b.first().copied()) else {
            return XidStatus::Unknown;
        };
        match (byte >> shift) & 3 {
            0 => XidStatus::InProgress,
            1 => XidStatus::Committed,
            2 => XidStatus::Aborted,
            _ => XidStatus::SubCommitted,
        }
    }
}
