//! SQLite write-ahead log (`<db>-wal`): header, frames, checksums and the
//! committed state SQLite would show.
//!
//! Spec: <https://www.sqlite.org/fileformat2.html#the_write_ahead_log> (§4).
//!
//! ```text
//! offset 0                                   32
//! ┌───────────────── WAL header (32 bytes, big-endian) ──────────────────┐
//! │ magic │ version │ page size │ ckpt seq │ salt-1 │ salt-2 │ ck-1 │ ck-2 │
//! └──────────────────────────────────────────────────────────────────────┘
//! then frames, each 24 + page_size bytes:
//! ┌──────────────── frame header (24 bytes) ─────────────────┬──────────────┐
//! │ page no │ db size after commit (0 = not a commit) │ salt-1 │ salt-2 │ ck-1 │ ck-2 │ page image │
//! └──────────────────────────────────────────────────────────┴──────────────┘
//! ```
//!
//! * magic `0x377f0682`: checksums read the data as little-endian 32-bit
//!   words; `0x377f0683`: big-endian words. Stored values are always
//!   big-endian.
//! * The header checksum covers header bytes 0..24. Each frame's checksum is
//!   cumulative: it continues from the previous frame's (the header's for the
//!   first frame) over the frame header's first 8 bytes and the page image.
//! * SQLite reads frames from the start and stops at the first frame whose
//!   salts differ from the header's, whose page number is 0, or whose checksum
//!   does not match. Of the frames before that point, those up to the last
//!   commit frame (non-zero "db size") are committed; the rest are an
//!   unfinished transaction and are ignored.
//! * A transaction that spills pages before it commits may overwrite one of
//!   its own frames in place; SQLite then writes the following frames with
//!   zero salts and checksums and fixes them at commit (`iReCksum` in
//!   `wal.c`). Until then they, and the overwritten frame whose checksum is
//!   now stale, are [`FrameStatus::InProgress`]: uncommitted work SQLite ignores.
//! * After a checkpoint the WAL is restarted from offset 0 with salt-1 + 1 and
//!   a new random salt-2. Frames past the new write position keep the old
//!   salts: they are older page versions ([`FrameStatus::EarlierGeneration`]).
//!
//! API structure:
//! - [`WalHeader::parse`]: the 32-byte header and its validity.
//! - [`count_frames`]: totals for `datam inspect`.
//! - [`Wal::parse`]: every frame classified ([`FrameStatus`]), plus
//!   [`Wal::committed_state`], the pages SQLite would read from the WAL.
//!
//! **Architecture Invariant:** nothing here performs I/O or copies a page; every
//! view borrows the caller's bytes.

use std::collections::BTreeMap;

use zerocopy::byteorder::big_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// WAL magic whose checksums use little-endian words.
pub const WAL_MAGIC_LE: u32 = 0x377f_0682;
/// WAL magic whose checksums use big-endian words.
pub const WAL_MAGIC_BE: u32 = 0x377f_0683;
/// The only WAL format version SQLite writes and accepts.
pub const WAL_FORMAT_VERSION: u32 = 3_007_000;
/// Size of the WAL header.
pub const WAL_HEADER_BYTES: usize = 32;
/// Size of a frame header.
pub const WAL_FRAME_HEADER_BYTES: usize = 24;

/// The WAL header exactly as stored (`WAL_HDRSIZE`, all fields big-endian).
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
pub struct WalHeaderRaw {
    /// `WAL_MAGIC | byte order bit`.
    pub magic: U32,
    /// File format version, 3007000.
    pub file_format: U32,
    /// Database page size in bytes.
    pub page_size: U32,
    /// Checkpoint sequence number.
    pub checkpoint_seqno: U32,
    /// Salt-1: incremented at each WAL restart.
    pub salt1: U32,
    /// Salt-2: random at each WAL restart.
    pub salt2: U32,
    /// Checksum-1 over bytes 0..24.
    pub checksum1: U32,
    /// Checksum-2 over bytes 0..24.
    pub checksum2: U32,
}
const _: () = assert!(size_of::<WalHeaderRaw>() == WAL_HEADER_BYTES);

/// A frame header exactly as stored.
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
pub struct WalFrameHeaderRaw {
    /// Page number this frame holds.
    pub pgno: U32,
    /// For commit frames, the database size in pages after the commit; else 0.
    pub n_truncate: U32,
    /// Salt-1 copied from the header when the frame was written.
    pub salt1: U32,
    /// Salt-2 copied from the header when the frame was written.
    pub salt2: U32,
    /// Cumulative checksum-1.
    pub checksum1: U32,
    /// Cumulative checksum-2.
    pub checksum2: U32,
}
const _: () = assert!(size_of::<WalFrameHeaderRaw>() == WAL_FRAME_HEADER_BYTES);

/// Errors that stop WAL parsing altogether. Damage inside a WAL that parses
/// is reported through [`WalProblem`] and [`FrameStatus`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// Fewer than 32 bytes.
    #[error("WAL too short for its header: {len_bytes} bytes, need 32")]
    TooShort {
        /// Length of the input.
        len_bytes: usize,
    },
    /// Offset 0 holds neither WAL magic value.
    #[error("bad WAL magic {found:#010x} at offset 0 (expected 0x377f0682 or 0x377f0683)")]
    BadMagic {
        /// The value found.
        found: u32,
    },
}

/// Something in a parsed WAL that SQLite would refuse or ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalProblem {
    /// The header's version is not 3007000 (SQLite refuses to open the WAL).
    #[error("WAL format version {found} at offset 4, expected 3007000")]
    BadVersion {
        /// The version found.
        found: u32,
    },
    /// The header's page size is not a power of two in 512..=65536; frames
    /// cannot be located.
    #[error("WAL page size {found} at offset 8 is not a power of two in 512..=65536")]
    BadPageSize {
        /// The page size found.
        found: u32,
    },
    /// The header checksum does not match (SQLite ignores the whole WAL).
    #[error(
        "WAL header checksum {stored:08x?} at offset 24 does not match computed {computed:08x?}"
    )]
    BadHeaderChecksum {
        /// Stored (checksum-1, checksum-2).
        stored: (u32, u32),
        /// Computed (checksum-1, checksum-2).
        computed: (u32, u32),
    },
    /// The file ends inside a frame.
    #[error(
        "WAL ends inside frame {frame_idx} at offset {offset}: {len_bytes} trailing bytes ignored"
    )]
    PartialFrame {
        /// 0-based index of the partial frame.
        frame_idx: u32,
        /// File offset of its start.
        offset: u64,
        /// How many bytes of it exist.
        len_bytes: u64,
    },
}

/// Byte order of the 32-bit words the WAL checksums are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumOrder {
    /// Magic `0x377f0682`.
    LittleEndian,
    /// Magic `0x377f0683`.
    BigEndian,
}

impl ChecksumOrder {
    /// `"little-endian"` / `"big-endian"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LittleEndian => "little-endian",
            Self::BigEndian => "big-endian",
        }
    }
}

/// A cumulative WAL checksum pair `(s0, s1)`.
pub type WalChecksum = (u32, u32);

/// Continues the WAL checksum `seed` over `data` (§4.2). Trailing bytes that
/// do not fill an 8-byte group are ignored; SQLite only checksums multiples
/// of 8.
///
/// ```
/// use sqlite_pages::wal::{wal_checksum, ChecksumOrder};
/// assert_eq!(wal_checksum(ChecksumOrder::BigEndian, &[0, 0, 0, 1, 0, 0, 0, 2], (0, 0)), (1, 3));
/// ```
pub fn wal_checksum(order: ChecksumOrder, data: &[u8], seed: WalChecksum) -> WalChecksum {
    let (groups, _rest) = data.as_chunks::<8>();
    let (mut s0, mut s1) = seed;
    for &[a0, a1, a2, a3, b0, b1, b2, b3] in groups {
        let (x0, x1) = match order {
            ChecksumOrder::LittleEndian => (
                u32::from_le_bytes([a0, a1, a2, a3]),
                u32::from_le_bytes([b0, b1, b2, b3]),
            ),
            ChecksumOrder::BigEndian => (
                u32::from_be_bytes([a0, a1, a2, a3]),
                u32::from_be_bytes([b0, b1, b2, b3]),
            ),
        };
        s0 = s0.wrapping_add(x0).wrapping_add(s1);
        s1 = s1.wrapping_add(x1).wrapping_add(s0);
    }
    (s0, s1)
}

/// A view of the 32-byte WAL header.
#[derive(Debug, Clone, Copy)]
pub struct WalHeader<'a> {
    raw: &'a WalHeaderRaw,
}

impl<'a> WalHeader<'a> {
    /// Parses the header at the start of `bytes`. Fails only when the bytes
    /// are too short or the magic is wrong; everything else SQLite would
    /// object to is listed by [`WalHeader::problems`].
    ///
    /// ```
    /// use sqlite_pages::wal::WalHeader;
    /// let mut b = [0u8; 32];
    /// b[..4].copy_from_slice(&0x377f0682u32.to_be_bytes());
    /// b[4..8].copy_from_slice(&3007000u32.to_be_bytes());
    /// b[8..12].copy_from_slice(&4096u32.to_be_bytes());
    /// let h = WalHeader::parse(&b).unwrap();
    /// assert_eq!(h.page_size_bytes(), 4096);
    /// assert!(!h.checksum_ok()); // checksum fields left zero
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WalError> {
        let Ok((raw, _)) = WalHeaderRaw::ref_from_prefix(bytes) else {
            return Err(WalError::TooShort {
                len_bytes: bytes.len(),
            });
        };
        let magic = raw.magic.get();
        if magic != WAL_MAGIC_LE && magic != WAL_MAGIC_BE {
            return Err(WalError::BadMagic { found: magic });
        }
        Ok(Self { raw })
    }

    /// The raw header.
    pub fn raw(&self) -> &'a WalHeaderRaw {
        self.raw
    }
    /// The magic number.
    pub fn magic(&self) -> u32 {
        self.raw.magic.get()
    }
    /// Word order of the checksums, from the magic's low bit.
    pub fn checksum_order(&self) -> ChecksumOrder {
        if self.magic() & 1 == 1 {
            ChecksumOrder::BigEndian
        } else {
            ChecksumOrder::LittleEndian
        }
    }
    /// File format version (3007000 in every valid WAL).
    pub fn format_version(&self) -> u32 {
        self.raw.file_format.get()
    }
    /// Page size in bytes as stored (not validated).
    pub fn page_size_bytes(&self) -> u32 {
        self.raw.page_size.get()
    }
    /// The page size if it is a power of two in 512..=65536.
    pub fn valid_page_size_bytes(&self) -> Option<u32> {
        let p = self.page_size_bytes();
        (p.is_power_of_two() && (512..=65536).contains(&p)).then_some(p)
    }
    /// Checkpoint sequence number.
    pub fn checkpoint_seqno(&self) -> u32 {
        self.raw.checkpoint_seqno.get()
    }
    /// Salt-1.
    pub fn salt1(&self) -> u32 {
        self.raw.salt1.get()
    }
    /// Salt-2.
    pub fn salt2(&self) -> u32 {
        self.raw.salt2.get()
    }
    /// The stored header checksum.
    pub fn stored_checksum(&self) -> WalChecksum {
        (self.raw.checksum1.get(), self.raw.checksum2.get())
    }
    /// The checksum computed over header bytes 0..24.
    pub fn computed_checksum(&self) -> WalChecksum {
        let bytes = IntoBytes::as_bytes(self.raw);
        let covered = bytes.get(..24).unwrap_or(&[]);
        wal_checksum(self.checksum_order(), covered, (0, 0))
    }
    /// Whether the stored header checksum matches.
    pub fn checksum_ok(&self) -> bool {
        self.stored_checksum() == self.computed_checksum()
    }
    /// Reasons SQLite would ignore or refuse this WAL (empty when usable).
    pub fn problems(&self) -> Vec<WalProblem> {
        let mut v = Vec::new();
        if self.format_version() != WAL_FORMAT_VERSION {
            v.push(WalProblem::BadVersion {
                found: self.format_version(),
            });
        }
        if self.valid_page_size_bytes().is_none() {
            v.push(WalProblem::BadPageSize {
                found: self.page_size_bytes(),
            });
        }
        if !self.checksum_ok() {
            v.push(WalProblem::BadHeaderChecksum {
                stored: self.stored_checksum(),
                computed: self.computed_checksum(),
            });
        }
        v
    }
    /// Whether SQLite would read frames from this WAL at all.
    pub fn is_usable(&self) -> bool {
        self.problems().is_empty()
    }
}

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

/// The committed content a WAL adds over its database file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalState {
    /// For each page in the WAL, the 0-based index of its latest committed frame.
    pub latest_frame_by_pgno: BTreeMap<u32, u32>,
    /// Database size in pages set by the last commit (`None`: no commit, the
    /// database file's own size applies).
    pub db_size_pages: Option<u32>,
}

impl WalState {
    /// Page `pgno` (1-based) as SQLite would read it: from the WAL if a
    /// committed frame holds it, else from `db` (pages of `page_size` bytes).
    /// `None` when the page is past the committed database size or absent.
    pub fn page<'a>(&self, wal: &Wal<'a>, db: &'a [u8], pgno: u32) -> Option<&'a [u8]> {
        if pgno == 0 || self.db_size_pages.is_some_and(|n| pgno > n) {
            return None;
        }
        if let Some(&idx) = self.latest_frame_by_pgno.get(&pgno) {
            return wal.frame(idx).map(|f| f.page);
        }
        let ps = u64::from(wal.page_size_bytes()?);
        let start = usize::try_from(u64::from(pgno - 1).checked_mul(ps)?).ok()?;
        let end = start.checked_add(usize::try_from(ps).ok()?)?;
        db.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-only WAL writer, following §4 (kind b of the test plan).
    pub(crate) struct WalBuilder {
        pub bytes: Vec<u8>,
        order: ChecksumOrder,
        running: WalChecksum,
        salts: (u32, u32),
        page_size: u32,
    }

    impl WalBuilder {
        pub fn new(magic: u32, page_size: u32, salts: (u32, u32)) -> Self {
            let mut bytes = Vec::new();
            for v in [magic, WAL_FORMAT_VERSION, page_size, 7, salts.0, salts.1] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            let order = if magic & 1 == 1 {
                ChecksumOrder::BigEndian
            } else {
                ChecksumOrder::LittleEndian
            };
            let running = wal_checksum(order, &bytes, (0, 0));
            bytes.extend_from_slice(&running.0.to_be_bytes());
            bytes.extend_from_slice(&running.1.to_be_bytes());
            Self {
                bytes,
                order,
                running,
                salts,
                page_size,
            }
        }
        pub fn frame(&mut self, pgno: u32, commit: u32, fill: u8) -> &mut Self {
            let salts = self.salts;
            self.frame_with_salts(pgno, commit, fill, salts)
        }
        pub fn frame_with_salts(
            &mut self,
            pgno: u32,
            commit: u32,
            fill: u8,
            salts: (u32, u32),
        ) -> &mut Self {
            let mut head = Vec::new();
            head.extend_from_slice(&pgno.to_be_bytes());
            head.extend_from_slice(&commit.to_be_bytes());
            let page = vec![fill; self.page_size as usize];
            let sum = wal_checksum(
                self.order,
                &page,
                wal_checksum(self.order, &head, self.running),
            );
            self.running = sum;
            for v in [salts.0, salts.1, sum.0, sum.1] {
                head.extend_from_slice(&v.to_be_bytes());
            }
            self.bytes.extend_from_slice(&head);
            self.bytes.extend_from_slice(&page);
            self
        }
    }

    fn statuses(w: &Wal<'_>) -> Vec<FrameStatus> {
        w.frames().map(|f| f.status).collect()
    }

    #[test]
    fn checksum_known_values() {
        // s0 = 1 + 0 = 1; s1 = 2 + 1 = 3; next group: s0 = 1 + 3 + 3 = 7; s1 = 3 + 4 + 7 = 14
        let data = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        assert_eq!(
            wal_checksum(ChecksumOrder::BigEndian, &data, (0, 0)),
            (7, 14)
        );
        let le = [1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(
            wal_checksum(ChecksumOrder::LittleEndian, &le, (0, 0)),
            (1, 3)
        );
        assert_eq!(
            wal_checksum(ChecksumOrder::LittleEndian, &le, (10, 20)),
            (31, 53)
        );
    }

    #[rustfmt::skip]
    const HEADER_BAD_CKSUM: [u8; 32] = [
        0x37, 0x7f, 0x06, 0x83, // magic: big-endian checksums
        0x00, 0x2d, 0xe2, 0x18, // version 3007000
        0x00, 0x00, 0x10, 0x00, // page size 4096
        0x00, 0x00, 0x00, 0x02, // checkpoint seq 2
        0x11, 0x22, 0x33, 0x44, // salt-1
        0x55, 0x66, 0x77, 0x88, // salt-2
        0x00, 0x00, 0x00, 0x01, // checksum-1 (wrong)
        0x00, 0x00, 0x00, 0x02, // checksum-2 (wrong)
    ];

    #[test]
    fn header_fields() {
        let h = WalHeader::parse(&HEADER_BAD_CKSUM).unwrap();
        assert_eq!(h.checksum_order(), ChecksumOrder::BigEndian);
        assert_eq!(h.format_version(), 3_007_000);
        assert_eq!(h.page_size_bytes(), 4096);
        assert_eq!(h.checkpoint_seqno(), 2);
        assert_eq!((h.salt1(), h.salt2()), (0x1122_3344, 0x5566_7788));
        assert_eq!(h.stored_checksum(), (1, 2));
        assert!(!h.checksum_ok());
        assert!(matches!(
            h.problems().as_slice(),
            [WalProblem::BadHeaderChecksum { stored: (1, 2), .. }]
        ));
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            WalHeader::parse(&HEADER_BAD_CKSUM[..31]).unwrap_err(),
            WalError::TooShort { len_bytes: 31 }
        );
        let mut b = HEADER_BAD_CKSUM;
        b[3] = 0x84;
        assert_eq!(
            WalHeader::parse(&b).unwrap_err(),
            WalError::BadMagic { found: 0x377f_0684 }
        );
        b[3] = 0x82;
        b[5] = 0;
        b[10] = 0x11; // page size 0x1100: not a power of two
        let h = WalHeader::parse(&b).unwrap();
        let p = h.problems();
        assert!(p.contains(&WalProblem::BadVersion { found: 0x0000_e218 }));
        assert!(p.contains(&WalProblem::BadPageSize { found: 0x1100 }));
        let w = Wal::parse(&b).unwrap();
        assert_eq!(w.n_frames(), 0);
    }

    #[test]
    fn commit_uncommitted_and_state() {
        for magic in [WAL_MAGIC_LE, WAL_MAGIC_BE] {
            let mut b = WalBuilder::new(magic, 512, (5, 9));
            b.frame(2, 0, 0xa0)
                .frame(3, 3, 0xa1)
                .frame(2, 3, 0xa2)
                .frame(3, 0, 0xa3);
            let w = Wal::parse(&b.bytes).unwrap();
            assert!(w.header().checksum_ok());
            assert_eq!(
                statuses(&w),
                [
                    FrameStatus::Committed { commit_idx: 0 },
                    FrameStatus::Committed { commit_idx: 0 },
                    FrameStatus::Committed { commit_idx: 1 },
                    FrameStatus::Uncommitted
                ]
            );
            let c = w.counts();
            assert_eq!(
                (c.total, c.valid, c.committed, c.uncommitted, c.commits),
                (4, 4, 3, 1, 2)
            );
            let s = w.committed_state();
            assert_eq!(s.db_size_pages, Some(3));
            assert_eq!(s.latest_frame_by_pgno.get(&2), Some(&2));
            assert_eq!(s.latest_frame_by_pgno.get(&3), Some(&1));
            let db = vec![0x11u8; 512 * 4];
            assert_eq!(s.page(&w, &db, 2).unwrap()[0], 0xa2);
            assert_eq!(s.page(&w, &db, 3).unwrap()[0], 0xa1);
            assert_eq!(s.page(&w, &db, 1).unwrap()[0], 0x11);
            assert!(s.page(&w, &db, 4).is_none(), "past the committed size");
        }
    }

    #[test]
    fn bad_checksum_breaks_chain() {
        let mut b = WalBuilder::new(WAL_MAGIC_LE, 512, (5, 9));
        b.frame(2, 2, 1).frame(2, 2, 2).frame(2, 2, 3);
        // Corrupt a byte of frame 1's page.
        let off = 32 + (24 + 512) + 24 + 100;
        b.bytes[off] ^= 0xff;
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(
            statuses(&w),
            [
                FrameStatus::Committed { commit_idx: 0 },
                FrameStatus::BadChecksum,
                FrameStatus::Unreachable
            ]
        );
        assert_eq!(w.frame(2).unwrap().checksum_consistent, Some(true));
        assert_eq!(w.frame(1).unwrap().checksum_consistent, Some(false));
        assert_eq!(w.committed_state().latest_frame_by_pgno.get(&2), Some(&0));
    }

    #[test]
    fn earlier_generation_and_partial_frame() {
        // Generation 1 wrote three frames; generation 2 restarted and wrote one.
        let mut old = WalBuilder::new(WAL_MAGIC_LE, 512, (5, 9));
        old.frame(2, 0, 1).frame(3, 3, 2).frame(2, 3, 3);
        let mut new = WalBuilder::new(WAL_MAGIC_LE, 512, (6, 77));
        new.frame(3, 3, 4);
        let mut bytes = new.bytes.clone();
        bytes.extend_from_slice(&old.bytes[32 + 536..]);
        bytes.extend_from_slice(&[0u8; 100]);
        let w = Wal::parse(&bytes).unwrap();
        assert_eq!(
            statuses(&w),
            [
                FrameStatus::Committed { commit_idx: 0 },
                FrameStatus::EarlierGeneration,
                FrameStatus::EarlierGeneration
            ]
        );
        // Frame 2 is consistent with frame 1 (same old generation).
        assert_eq!(w.frame(2).unwrap().checksum_consistent, Some(true));
        assert_eq!(w.frame(1).unwrap().checksum_consistent, None);
        assert_eq!(w.frame(1).unwrap().salts(), (5, 9));
        assert!(matches!(
            w.problems(),
            [WalProblem::PartialFrame {
                frame_idx: 3,
                len_bytes: 100,
                ..
            }]
        ));
        assert_eq!(w.counts().trailing_bytes, 100);
    }

    #[test]
    fn header_checksum_bad_means_nothing_committed() {
        let mut b = WalBuilder::new(WAL_MAGIC_BE, 512, (5, 9));
        b.frame(2, 2, 1);
        b.bytes[27] ^= 1;
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(statuses(&w), [FrameStatus::BadChecksum]);
        assert!(w.committed_state().latest_frame_by_pgno.is_empty());
    }

    #[test]
    fn open_transaction_frames_are_in_progress() {
        let mut b = WalBuilder::new(WAL_MAGIC_LE, 512, (5, 9));
        b.frame(2, 2, 1)
            .frame(3, 0, 2)
            .frame(4, 0, 3)
            .frame_with_salts(5, 0, 4, (0, 0));
        // Frame 1 rewritten in place (stale checksum); frames 2.. zero salts and checksums.
        b.bytes[32 + 536 + 24 + 7] ^= 1;
        let f2 = 32 + 2 * 536;
        b.bytes[f2 + 8..f2 + 24].fill(0);
        let f3 = 32 + 3 * 536;
        b.bytes[f3 + 16..f3 + 24].fill(0);
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(
            statuses(&w),
            [
                FrameStatus::Committed { commit_idx: 0 },
                FrameStatus::InProgress,
                FrameStatus::InProgress,
                FrameStatus::InProgress
            ]
        );
        assert_eq!(w.counts().in_progress, 3);
    }

    #[test]
    fn zero_page_number_is_invalid() {
        let mut b = WalBuilder::new(WAL_MAGIC_BE, 512, (5, 9));
        b.frame(0, 2, 1);
        let w = Wal::parse(&b.bytes).unwrap();
        assert_eq!(statuses(&w), [FrameStatus::ZeroPageNo]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(mut data in proptest::collection::vec(proptest::num::u8::ANY, 0..3000), le in proptest::bool::ANY) {
            if data.len() >= 12 {
                let magic = if le { WAL_MAGIC_LE } else { WAL_MAGIC_BE };
                data[..4].copy_from_slice(&magic.to_be_bytes());
                data[8..12].copy_from_slice(&512u32.to_be_bytes());
            }
            if let Ok(w) = Wal::parse(&data) {
                let c = w.counts();
                proptest::prop_assert!(c.valid <= c.total);
                let s = w.committed_state();
                for p in 0..5 {
                    let _ = s.page(&w, &data, p);
                }
            }
        }
    }
}
