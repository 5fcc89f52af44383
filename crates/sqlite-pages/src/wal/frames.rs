//! Frames: their status (committed, uncommitted, in progress, earlier
//! generation, bad checksum), the classified [`Wal`] and its counts.

use super::{
    WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES, WalError, WalFrameHeaderRaw, WalHeader, WalProblem,
    WalState, wal_checksum,
};
use std::collections::BTreeMap;
use zerocopy::{FromBytes, IntoBytes};

/// What a frame is worth, in SQLite's eyes and as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// Valid and at or before the last valid commit frame.
    Committed {
        /// 0-based index of the transaction (commit) it belongs to.
        commit_idx: u32,
    },
    /// Valid, but after the last commit frame: an unfinished transaction.
    Uncommitted,
    /// Written by a transaction still open when the copy was taken, whose
    /// checksums SQLite computes only at commit: zero salts and checksums, or
    /// the frame it overwrote in place just before those. Uncommitted work.
    InProgress,
    /// Salts differ from the header's: left from an earlier WAL generation
    /// (before a restart). Not read by SQLite; an older page version.
    EarlierGeneration,
    /// The cumulative checksum does not match (checked against the chain, or
    /// against the previous frame when the chain was already broken).
    BadChecksum,
    /// Current salts but page number 0.
    ZeroPageNo,
    /// Current salts and a checksum consistent with the previous frame, but
    /// SQLite never reaches it: an earlier frame (or the header) is invalid.
    Unreachable,
}

impl FrameStatus {
    /// Short name: `committed`, `uncommitted`, `earlier-generation`,
    /// `in-progress`, `bad-checksum`, `zero-page-no`, `unreachable`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Committed { .. } => "committed",
            Self::Uncommitted => "uncommitted",
            Self::InProgress => "in-progress",
            Self::EarlierGeneration => "earlier-generation",
            Self::BadChecksum => "bad-checksum",
            Self::ZeroPageNo => "zero-page-no",
            Self::Unreachable => "unreachable",
        }
    }
    /// Valid frames: committed or uncommitted.
    pub fn is_valid(self) -> bool {
        matches!(self, Self::Committed { .. } | Self::Uncommitted)
    }
}

/// One frame: its header, its page image and its classification.
#[derive(Debug, Clone, Copy)]
pub struct WalFrame<'a> {
    /// 0-based index in the file (SQLite's frame number is `frame_idx + 1`).
    pub frame_idx: u32,
    /// File offset of the frame header.
    pub offset: u64,
    /// The frame header.
    pub header: &'a WalFrameHeaderRaw,
    /// The page image (page-size bytes).
    pub page: &'a [u8],
    /// Classification.
    pub status: FrameStatus,
    /// Whether the checksum matches when seeded with the previous frame's
    /// stored checksum (the header's for frame 0), or `None` when the
    /// previous frame has other salts. Lets earlier-generation frames be
    /// weighed as evidence.
    pub checksum_consistent: Option<bool>,
}

impl WalFrame<'_> {
    /// Page number (1-based).
    pub fn pgno(&self) -> u32 {
        self.header.pgno.get()
    }
    /// Database size in pages after commit, for a commit frame.
    pub fn commit_size_pages(&self) -> Option<u32> {
        let n = self.header.n_truncate.get();
        (n != 0).then_some(n)
    }
    /// `(salt-1, salt-2)` stored in the frame.
    pub fn salts(&self) -> (u32, u32) {
        (self.header.salt1.get(), self.header.salt2.get())
    }
    /// SQLite's 1-based frame number.
    pub fn frame_no(&self) -> u32 {
        self.frame_idx.saturating_add(1)
    }
}

/// Frame totals, cheap enough for `datam inspect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameCounts {
    /// Whole frames in the file.
    pub total: u32,
    /// Frames SQLite accepts (committed + uncommitted).
    pub valid: u32,
    /// Frames at or before the last valid commit frame.
    pub committed: u32,
    /// Valid frames after the last commit.
    pub uncommitted: u32,
    /// Frames of a transaction still open, not yet checksummed.
    pub in_progress: u32,
    /// Frames of an earlier WAL generation.
    pub earlier_generation: u32,
    /// Frames whose checksum does not match.
    pub bad_checksum: u32,
    /// Other invalid frames (page number 0, unreachable after a break).
    pub other_invalid: u32,
    /// Number of commit frames among the committed ones (transactions).
    pub commits: u32,
    /// Bytes after the last whole frame.
    pub trailing_bytes: u64,
}

/// Parses `bytes` as a WAL and counts its frames by status.
///
/// ```
/// use sqlite_pages::wal::count_frames;
/// assert!(count_frames(b"not a wal").is_err());
/// ```
pub fn count_frames(bytes: &[u8]) -> Result<FrameCounts, WalError> {
    Ok(Wal::parse(bytes)?.counts())
}

/// A parsed WAL: the header and every whole frame, classified.
#[derive(Debug, Clone)]
pub struct Wal<'a> {
    header: WalHeader<'a>,
    bytes: &'a [u8],
    page_size: Option<u32>,
    statuses: Vec<(FrameStatus, Option<bool>)>,
    problems: Vec<WalProblem>,
    trailing_bytes: u64,
}

impl<'a> Wal<'a> {
    /// Parses and classifies a whole WAL file.
    ///
    /// ```
    /// use sqlite_pages::wal::Wal;
    /// assert!(Wal::parse(&[0u8; 10]).is_err());
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WalError> {
        let header = WalHeader::parse(bytes)?;
        let mut problems = header.problems();
        let page_size = header.valid_page_size_bytes();
        let mut wal = Self {
            header,
            bytes,
            page_size,
            statuses: Vec::new(),
            problems: Vec::new(),
            trailing_bytes: 0,
        };
        if let Some(ps) = page_size {
            wal.classify(ps, problems.is_empty());
            let frame_bytes = u64::from(ps) + WAL_FRAME_HEADER_BYTES as u64;
            let body = (bytes.len() as u64).saturating_sub(WAL_HEADER_BYTES as u64);
            wal.trailing_bytes = body % frame_bytes;
            if wal.trailing_bytes != 0 {
                problems.push(WalProblem::PartialFrame {
                    frame_idx: u32::try_from(body / frame_bytes).unwrap_or(u32::MAX),
                    offset: WAL_HEADER_BYTES as u64 + body - wal.trailing_bytes,
                    len_bytes: wal.trailing_bytes,
                });
            }
        }
        wal.problems = problems;
        Ok(wal)
    }

    fn frame_count(&self, page_size: u32) -> u32 {
        let frame_bytes = u64::from(page_size) + WAL_FRAME_HEADER_BYTES as u64;
        let body = (self.bytes.len() as u64).saturating_sub(WAL_HEADER_BYTES as u64);
        u32::try_from(body / frame_bytes).unwrap_or(u32::MAX)
    }

    fn raw_frame(
        &self,
        page_size: u32,
        frame_idx: u32,
    ) -> Option<(u64, &'a WalFrameHeaderRaw, &'a [u8])> {
        let frame_bytes = u64::from(page_size) + WAL_FRAME_HEADER_BYTES as u64;
        let offset = u64::from(frame_idx)
            .checked_mul(frame_bytes)?
            .checked_add(WAL_HEADER_BYTES as u64)?;
        let start = usize::try_from(offset).ok()?;
        let rest = self.bytes.get(start..)?;
        let (hdr, rest) = WalFrameHeaderRaw::ref_from_prefix(rest).ok()?;
        let page = rest.get(..usize::try_from(page_size).ok()?)?;
        Some((offset, hdr, page))
    }

    /// Walks the frames as SQLite's recovery does, then splits valid frames
    /// into committed and uncommitted.
    fn classify(&mut self, page_size: u32, header_usable: bool) {
        let order = self.header.checksum_order();
        let salts = (self.header.salt1(), self.header.salt2());
        let mut chain_alive = header_usable;
        let mut running = self.header.computed_checksum();
        // (salts, stored checksum) of the previous frame, the header first.
        let mut prev = (salts, self.header.stored_checksum());
        let mut last_commit: Option<usize> = None;
        let mut is_commit = Vec::new();
        for frame_idx in 0..self.frame_count(page_size) {
            let Some((_, hdr, page)) = self.raw_frame(page_size, frame_idx) else {
                break;
            };
            let frame_salts = (hdr.salt1.get(), hdr.salt2.get());
            let stored = (hdr.checksum1.get(), hdr.checksum2.get());
            let head8 = IntoBytes::as_bytes(hdr).get(..8).unwrap_or(&[]);
            let sum_from = |seed| wal_checksum(order, page, wal_checksum(order, head8, seed));
            let consistent = (prev.0 == frame_salts).then(|| sum_from(prev.1) == stored);
            let status = if frame_salts == (0, 0) && stored == (0, 0) && salts != (0, 0) {
                chain_alive = false;
                FrameStatus::InProgress
            } else if frame_salts != salts {
                chain_alive = false;
                FrameStatus::EarlierGeneration
            } else if chain_alive {
                let computed = sum_from(running);
                if hdr.pgno.get() == 0 {
                    chain_alive = false;
                    FrameStatus::ZeroPageNo
                } else if computed != stored {
                    chain_alive = false;
                    FrameStatus::BadChecksum
                } else {
                    running = computed;
                    if hdr.n_truncate.get() != 0 {
                        last_commit = Some(self.statuses.len());
                    }
                    FrameStatus::Uncommitted
                }
            } else if hdr.pgno.get() == 0 {
                FrameStatus::ZeroPageNo
            } else if consistent == Some(false) {
                FrameStatus::BadChecksum
            } else {
                FrameStatus::Unreachable
            };
            self.statuses.push((status, consistent));
            is_commit.push(hdr.n_truncate.get() != 0);
            prev = (frame_salts, stored);
        }
        // A frame overwritten in place by the open transaction keeps its old,
        // now stale, checksum and is followed by zero-salt frames.
        let mut next_in_progress = false;
        for (status, _) in self.statuses.iter_mut().rev() {
            if next_in_progress && *status == FrameStatus::BadChecksum {
                *status = FrameStatus::InProgress;
            }
            next_in_progress = *status == FrameStatus::InProgress;
        }
        let mut commit_idx = 0u32;
        for (i, ((status, _), is_commit)) in self.statuses.iter_mut().zip(is_commit).enumerate() {
            if last_commit.is_none_or(|last| i > last) {
                break;
            }
            *status = FrameStatus::Committed { commit_idx };
            if is_commit {
                commit_idx = commit_idx.saturating_add(1);
            }
        }
    }

    /// The header.
    pub fn header(&self) -> WalHeader<'a> {
        self.header
    }
    /// The validated page size, if the header's is plausible.
    pub fn page_size_bytes(&self) -> Option<u32> {
        self.page_size
    }
    /// Problems found: header defects and a partial trailing frame.
    pub fn problems(&self) -> &[WalProblem] {
        &self.problems
    }
    /// Number of whole frames.
    pub fn n_frames(&self) -> u32 {
        u32::try_from(self.statuses.len()).unwrap_or(u32::MAX)
    }
    /// The frame at `frame_idx` (0-based).
    pub fn frame(&self, frame_idx: u32) -> Option<WalFrame<'a>> {
        let &(status, checksum_consistent) = self.statuses.get(usize::try_from(frame_idx).ok()?)?;
        let (offset, header, page) = self.raw_frame(self.page_size?, frame_idx)?;
        Some(WalFrame {
            frame_idx,
            offset,
            header,
            page,
            status,
            checksum_consistent,
        })
    }
    /// Every whole frame in file order.
    pub fn frames(&self) -> impl Iterator<Item = WalFrame<'a>> + '_ {
        (0..self.n_frames()).filter_map(|i| self.frame(i))
    }

    /// Totals by status.
    pub fn counts(&self) -> FrameCounts {
        let mut c = FrameCounts {
            total: self.n_frames(),
            trailing_bytes: self.trailing_bytes,
            ..FrameCounts::default()
        };
        for f in self.frames() {
            let slot = match f.status {
                FrameStatus::Committed { .. } => {
                    if f.commit_size_pages().is_some() {
                        c.commits = c.commits.saturating_add(1);
                    }
                    &mut c.committed
                }
                FrameStatus::Uncommitted => &mut c.uncommitted,
                FrameStatus::InProgress => &mut c.in_progress,
                FrameStatus::EarlierGeneration => &mut c.earlier_generation,
                FrameStatus::BadChecksum => &mut c.bad_checksum,
                FrameStatus::ZeroPageNo | FrameStatus::Unreachable => &mut c.other_invalid,
            };
            *slot = slot.saturating_add(1);
        }
        c.valid = c.committed.saturating_add(c.uncommitted);
        c
    }
}

impl<'a> Wal<'a> {
    /// The pages SQLite would read from this WAL: for every page, the latest
    /// committed frame, and the database size set by the last commit.
    pub fn committed_state(&self) -> WalState {
        let mut latest = BTreeMap::new();
        let mut db_size_pages = None;
        for f in self.frames() {
            if let FrameStatus::Committed { .. } = f.status {
                latest.insert(f.pgno(), f.frame_idx);
                if let Some(n) = f.commit_size_pages() {
                    db_size_pages = Some(n);
                }
            }
        }
        WalState {
            latest_frame_by_pgno: latest,
            db_size_pages,
        }
    }
}
