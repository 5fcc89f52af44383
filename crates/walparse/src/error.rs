//! The crate's one error type.

use crate::types::{FileOffset, Lsn, SegNo};

/// Everything that can be wrong with WAL bytes. Each variant says where.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Fewer bytes than a page header needs.
    #[error("truncated page header at {at}: need {need} bytes, have {have}")]
    TruncatedPageHeader {
        /// Where the header starts.
        at: FileOffset,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// `xlp_magic` is not the magic of a released major 13–18.
    #[error("unknown xlp_magic {found:#06x} at {at} (known: 13-18)")]
    UnknownMagic {
        /// Where the header starts.
        at: FileOffset,
        /// The magic found.
        found: u16,
    },
    /// The first page of a segment lacks `XLP_LONG_HEADER`.
    #[error("page at {at} has no long header (xlp_info {info:#06x})")]
    NotLongHeader {
        /// Where the header starts.
        at: FileOffset,
        /// `xlp_info` found.
        info: u16,
    },
    /// `xlp_seg_size` is not a power of two between 1 MiB and 1 GiB.
    #[error("invalid WAL segment size {found} bytes in long page header")]
    BadSegmentSize {
        /// The size found.
        found: u32,
    },
    /// `xlp_xlog_blcksz` is not a power of two between 1 KiB and 64 KiB.
    #[error("invalid WAL block size {found} bytes in long page header")]
    BadBlockSize {
        /// The size found.
        found: u32,
    },
    /// A page's header does not belong at this position.
    #[error("invalid page at {page}: {reason}")]
    BadPage {
        /// LSN the page should have.
        page: Lsn,
        /// What was wrong.
        reason: PageProblem,
    },
    /// No segment holding this LSN was given.
    #[error("WAL segment {} holding {lsn} is not available", segno.0)]
    MissingSegment {
        /// LSN looked for.
        lsn: Lsn,
        /// Segment that would hold it.
        segno: SegNo,
    },
    /// `xl_tot_len` is zero or smaller than a record header: usually the end of WAL.
    #[error("invalid record length at {lsn}: expected at least 24, got {tot_len}")]
    RecordTooShort {
        /// Record LSN.
        lsn: Lsn,
        /// `xl_tot_len`.
        tot_len: u32,
    },
    /// `xl_tot_len` is beyond any record PostgreSQL can write.
    #[error("record length {tot_len} at {lsn} too long")]
    RecordTooLong {
        /// Record LSN.
        lsn: Lsn,
        /// `xl_tot_len`.
        tot_len: u32,
    },
    /// `xl_rmid` names no resource manager.
    #[error("invalid resource manager ID {rmid} at {lsn}")]
    BadRmgr {
        /// Record LSN.
        lsn: Lsn,
        /// `xl_rmid`.
        rmid: u8,
    },
    /// `xl_prev` does not point at the previous record.
    #[error("record with incorrect prev-link {found} at {lsn} (expected {expected})")]
    BadPrevLink {
        /// Record LSN.
        lsn: Lsn,
        /// Previous record's LSN.
        expected: Lsn,
        /// `xl_prev`.
        found: Lsn,
    },
    /// The CRC-32C does not match.
    #[error(
        "incorrect resource manager data checksum in record at {lsn} (stored {stored:#010x}, computed {computed:#010x})"
    )]
    BadCrc {
        /// Record LSN.
        lsn: Lsn,
        /// `xl_crc`.
        stored: u32,
        /// What the bytes give.
        computed: u32,
    },
    /// A continuation page does not continue the record.
    #[error("record at {lsn} is not continued correctly on page {page}: {reason}")]
    BadContinuation {
        /// Record LSN.
        lsn: Lsn,
        /// The continuation page.
        page: Lsn,
        /// What was wrong.
        reason: ContProblem,
    },
    /// The record body's block headers do not fit its declared length.
    #[error("malformed record at {lsn}: {reason}")]
    BadRecordBody {
        /// Record LSN.
        lsn: Lsn,
        /// What was wrong.
        reason: BodyProblem,
    },
    /// A full-page image could not be restored.
    #[error("cannot restore image of block {block_id} in record at {lsn}: {reason}")]
    BadImage {
        /// Record LSN.
        lsn: Lsn,
        /// Block reference id.
        block_id: u8,
        /// What was wrong.
        reason: ImageProblem,
    },
}

/// What was wrong with a page header.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageProblem {
    /// Magic differs from the segment's.
    #[error("magic {found:#06x}, expected {expected:#06x}")]
    Magic {
        /// Found.
        found: u16,
        /// Expected.
        expected: u16,
    },
    /// Unknown `xlp_info` bits.
    #[error("invalid info bits {0:#06x}")]
    InfoBits(u16),
    /// `xlp_pageaddr` differs (a recycled or zeroed page).
    #[error("unexpected pageaddr {0}")]
    PageAddr(crate::types::Lsn),
    /// Long header missing on a segment's first page or present elsewhere.
    #[error("long-header flag wrong for this position")]
    LongHeader,
    /// The long header's sysid/sizes differ from the first segment's.
    #[error("long header does not match the WAL's sysid/segment size/block size")]
    LongHeaderMismatch,
    /// The page extends past the end of its file.
    #[error("page truncated by end of file")]
    Truncated,
}

/// How a continuation failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContProblem {
    /// `XLP_FIRST_IS_CONTRECORD` not set.
    #[error("there is no contrecord flag")]
    NoContrecordFlag,
    /// The record was abandoned and overwritten (`XLP_FIRST_IS_OVERWRITE_CONTRECORD`).
    #[error("the record was overwritten (missing contrecord)")]
    Overwritten,
    /// `xlp_rem_len` disagrees with the bytes still missing.
    #[error("xlp_rem_len {found}, expected {expected}")]
    RemLen {
        /// Found.
        found: u32,
        /// Expected.
        expected: u32,
    },
    /// The page could not be read.
    #[error("continuation page unavailable or invalid")]
    PageUnavailable,
}

/// What was wrong inside a record body.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyProblem {
    /// Ran out of bytes at this offset inside the record.
    #[error("truncated at record offset {0}")]
    Truncated(usize),
    /// Block ids must ascend.
    #[error("out-of-order block_id {0}")]
    OutOfOrderBlock(u8),
    /// Not a block id nor a special id.
    #[error("invalid block_id {0}")]
    InvalidBlockId(u8),
    /// HAS_DATA and data_length disagree.
    #[error("block {0}: BKPBLOCK_HAS_DATA and data_length disagree")]
    DataFlag(u8),
    /// Image header inconsistent (lengths, hole).
    #[error("block {0}: inconsistent block image header")]
    ImageHeader(u8),
    /// SAME_REL without a previous relation.
    #[error("block {0}: BKPBLOCK_SAME_REL but no previous rel")]
    SameRelWithoutPrevious(u8),
    /// Sum of block data, images and main data differs from the record length.
    #[error("lengths add up to {computed}, record holds {declared}")]
    LengthMismatch {
        /// Bytes declared by the headers.
        computed: u64,
        /// Bytes in the record after the headers.
        declared: u64,
    },
}

/// Why an image could not be restored.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageProblem {
    /// pglz data is corrupt.
    #[error("pglz data corrupt")]
    Pglz,
    /// lz4 data is corrupt.
    #[error("lz4 data corrupt")]
    Lz4,
    /// zstd data is corrupt.
    #[error("zstd data corrupt")]
    Zstd,
    /// Decompressed size or hole does not add up to the block size.
    #[error("image size does not add up to the block size")]
    Size,
    /// The compression bits name no known method.
    #[error("unknown compression bits {0:#04x}")]
    UnknownCompression(u8),
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;
