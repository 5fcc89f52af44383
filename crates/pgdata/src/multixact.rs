//! `pg_multixact/`: which transaction of a MultiXactId updated a tuple.
//!
//! ```text
//! offsets/XXXX   u32 per MultiXactId (BLCKSZ/4 per page, 32 pages per segment):
//!                first member's offset; member count = next multi's offset - this one
//! members/XXXX   groups of 20 bytes (BLCKSZ/20 groups per page, 32 pages per segment):
//!                4 status bytes, then 4 member xids (u32)
//! status: 0 for key share, 1 for share, 2 for no key update, 3 for update (locks),
//!         4 no key update, 5 update (the updater)
//! ```
//! (`src/backend/access/transam/multixact.c`, 32-bit offsets in 13–18.)

use std::path::Path;

use crate::bytes::u32_at;
use crate::slru::SlruDir;
const GROUP_BYTES: usize = 20;
const MEMBERS_PER_GROUP: usize = 4;
/// How far the members of the newest multixact are read (they end at the
/// first zero xid).
const MAX_OPEN_ENDED_MEMBERS: u32 = 256;

/// Reader over a data directory's `pg_multixact`.
pub struct MultiXacts {
    offsets: SlruDir,
    members: SlruDir,
    block_size: usize,
}

impl MultiXacts {
    /// A reader for `<pgdata>/pg_multixact`.
    pub fn new(pgdata: &Path, block_size: usize) -> Self {
        let block_size = block_size.max(GROUP_BYTES);
        let dir = pgdata.join("pg_multixact");
        Self {
            offsets: SlruDir::new(dir.join("offsets"), block_size),
            members: SlruDir::new(dir.join("members"), block_size),
            block_size,
        }
    }

    fn offset_of(&mut self, multi: u32) -> Option<u32> {
        let per_page = self.block_size / 4;
        let m = multi as usize;
        let pos = (m / per_page) * self.block_size + (m % per_page) * 4;
        u32_at(self.offsets.bytes(pos, 4)?, 0)
    }

    /// The xid of the member that updated or deleted (status 4 or 5), if
    /// the multixact's members can be read.
    pub fn updater(&mut self, multi: u32) -> Option<u32> {
        let first = self.offset_of(multi)?;
        let next_multi = multi.wrapping_add(1).max(1);
        // The newest multixact has no successor offset yet: its members run
        // until the first unused (zero) slot.
        let n = match self.offset_of(next_multi).filter(|&o| o != 0) {
            Some(end) => end.wrapping_sub(first),
            None => MAX_OPEN_ENDED_MEMBERS,
        };
        if n == 0 || n > 1 << 16 {
            return None;
        }
        let groups_per_page = self.block_size / GROUP_BYTES;
        let per_page = groups_per_page * MEMBERS_PER_GROUP;
        for k in 0..n {
            let o = first.wrapping_add(k) as usize;
            let page = o / per_page;
            let group = (o % per_page) / MEMBERS_PER_GROUP;
            let slot = o % MEMBERS_PER_GROUP;
            let group_pos = page * self.block_size + group * GROUP_BYTES;
            let g = self.members.bytes(group_pos, GROUP_BYTES)?;
            let status = *g.get(slot)?;
            let xid = u32_at(g, MEMBERS_PER_GROUP + slot * 4)?;
            if xid == 0 {
                break;
            }
            if status >= 4 {
                return Some(xid);
            }
        }
        None
    }
}
