//! The I/O layer of SLRU directories (`pg_xact`, `pg_multixact/offsets`,
//! `pg_multixact/members`): segment files of 32 pages named by their
//! segment number in 4 (or, after wraparound-era renames, 15) hex digits,
//! opened lazily through `evidence` and kept mapped. `xact` and `multixact`
//! only compute byte positions and decode the bytes this hands them.

use std::collections::HashMap;
use std::path::PathBuf;

/// Pages per SLRU segment file (`SLRU_PAGES_PER_SEGMENT`).
pub const SLRU_PAGES_PER_SEGMENT: usize = 32;

/// One SLRU directory, read as one byte space (segment after segment).
pub struct SlruDir {
    dir: PathBuf,
    seg_bytes: usize,
    /// Opened segments; `None` when the file is missing or unreadable.
    files: HashMap<u64, Option<evidence::Evidence>>,
}

impl SlruDir {
    /// The directory `dir` with pages of `block_size` bytes.
    pub fn new(dir: PathBuf, block_size: usize) -> Self {
        Self {
            dir,
            seg_bytes: block_size.max(1).saturating_mul(SLRU_PAGES_PER_SEGMENT),
            files: HashMap::new(),
        }
    }

    /// The `len` bytes at position `pos` of the directory's byte space, when
    /// their segment file exists and holds them (a read never spans two
    /// segments: SLRU entries do not straddle pages).
    pub fn bytes(&mut self, pos: usize, len: usize) -> Option<&[u8]> {
        let seg = (pos / self.seg_bytes) as u64;
        let within = pos % self.seg_bytes;
        let dir = &self.dir;
        let ev = self.files.entry(seg).or_insert_with(|| {
            evidence::Evidence::open(dir.join(format!("{seg:04X}")))
                .or_else(|_| evidence::Evidence::open(dir.join(format!("{seg:015X}"))))
                .ok()
        });
        ev.as_ref()?.bytes().get(within..within.checked_add(len)?)
    }
}
