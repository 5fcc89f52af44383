//! A relation fork's blocks across its 1 GB segment files.

use std::path::PathBuf;

use crate::datadir::{DataDir, Fork, RelLocator};
use crate::error::{BlockNo, Error, Result};
use crate::page::Page;

/// The opened segment files of one relation fork.
#[derive(Default)]
pub struct RelationFile {
    segments: Vec<(PathBuf, evidence::Evidence)>,
    block_size: usize,
    relseg_blocks: u32,
    verify_checksums: bool,
}

impl RelationFile {
    /// Opens every existing segment of `loc`'s `fork`. A relation with no
    /// files (e.g. empty, or unlogged after a crash) has zero blocks.
    pub fn open(dir: &DataDir, loc: RelLocator, fork: Fork) -> Result<Self> {
        let mut segments = Vec::new();
        for p in dir.segment_paths(loc, fork) {
            match evidence::Evidence::open(&p) {
                Ok(ev) => segments.push((p, ev)),
                // An empty segment file is a valid zero-block file.
                Err(evidence::Error::NotAFile { .. }) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Self {
            segments,
            block_size: dir.block_size_bytes(),
            relseg_blocks: dir.relseg_size_blocks(),
            verify_checksums: dir.control().has_data_checksums(),
        })
    }

    /// Total number of whole blocks.
    pub fn n_blocks(&self) -> u32 {
        let mut n: u64 = 0;
        for (_, ev) in &self.segments {
            n = n.saturating_add((ev.bytes().len() / self.block_size.max(1)) as u64);
        }
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The file and byte offset holding block `blk`.
    pub fn locate(&self, blk: BlockNo) -> Option<(&PathBuf, u64)> {
        let per_seg = self.relseg_blocks.max(1);
        let seg = (blk.0 / per_seg) as usize;
        let within = u64::from(blk.0 % per_seg) * self.block_size as u64;
        self.segments.get(seg).map(|(p, _)| (p, within))
    }

    /// Block `blk` as a checked page (checksum verified when the cluster has
    /// checksums).
    pub fn page(&self, blk: BlockNo) -> Result<Page<'_>> {
        let per_seg = self.relseg_blocks.max(1);
        let seg = (blk.0 / per_seg) as usize;
        let start = (blk.0 % per_seg) as usize * self.block_size;
        let bytes = self
            .segments
            .get(seg)
            .and_then(|(_, ev)| ev.bytes().get(start..start.checked_add(self.block_size)?))
            .ok_or(Error::BadPage {
                block: blk,
                reason: "block beyond the end of the relation",
            })?;
        let upper = crate::bytes::u16_at(bytes, 14).unwrap_or(0);
        if upper == 0 {
            // PageIsNew: must be all zeros (PageIsVerified).
            if bytes.iter().any(|&b| b != 0) {
                return Err(Error::BadPage {
                    block: blk,
                    reason: "pd_upper is 0 but the page is not all zeros",
                });
            }
        } else if self.verify_checksums {
            let computed = crate::page::pg_checksum_page(bytes, blk.0);
            let stored = crate::bytes::u16_at(bytes, 8).unwrap_or(0);
            if computed != stored {
                return Err(Error::ChecksumMismatch {
                    block: blk,
                    stored,
                    computed,
                });
            }
        }
        Page::parse(bytes, blk)
    }
}
