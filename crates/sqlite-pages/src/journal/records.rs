//! What a parsed journal holds: its kind, segments, records and their status.

use super::RecordCount;

/// Whether the journal would be rolled back by SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalKind {
    /// Zero bytes (a TRUNCATE-mode commit).
    Empty,
    /// A valid header with the magic at offset 0: SQLite rolls it back when
    /// it opens the database.
    Hot,
    /// Header at offset 0 written but not yet synced (magic and nRec zero,
    /// nonce present): nothing reached the database yet; not rolled back.
    Unsynced,
    /// Header zeroed (PERSIST commit) or unrecognisable: not rolled back;
    /// its records are pre-images of an earlier transaction.
    Stale,
}

impl JournalKind {
    /// `empty`, `hot`, `unsynced`, `stale`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Hot => "hot",
            Self::Unsynced => "unsynced",
            Self::Stale => "stale",
        }
    }
}

/// What one page record is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// Checksum good; SQLite's rollback writes it back.
    Rollback,
    /// Checksum good, but the page is past the original database size, so
    /// rollback skips it (the truncation removes the page).
    BeyondOriginalSize,
    /// Checksum good (or consistent with its segment's other records when the
    /// nonce is lost), but not part of a rollback: the journal is not hot, or
    /// the record lies after the point where rollback stops.
    Stale,
    /// The checksum does not match the segment's nonce. Reported, not trusted.
    BadChecksum,
}

impl RecordStatus {
    /// `rollback`, `beyond-original-size`, `stale`, `bad-checksum`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rollback => "rollback",
            Self::BeyondOriginalSize => "beyond-original-size",
            Self::Stale => "stale",
            Self::BadChecksum => "bad-checksum",
        }
    }
    /// Whether the image can be trusted as a real earlier page version.
    pub fn is_trusted(self) -> bool {
        !matches!(self, Self::BadChecksum)
    }
}

/// One page record.
#[derive(Debug, Clone, Copy)]
pub struct JournalRecord<'a> {
    /// File offset of the record (its page number field).
    pub offset: u64,
    /// 0-based index of the segment (header) it follows.
    pub segment_idx: u32,
    /// Page number.
    pub pgno: u32,
    /// The page image from before the transaction.
    pub page: &'a [u8],
    /// The stored checksum.
    pub stored_checksum: u32,
    /// Classification.
    pub status: RecordStatus,
}

/// One header and the records that follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSegment {
    /// File offset of the header.
    pub header_offset: u64,
    /// Whether the header has the magic.
    pub has_magic: bool,
    /// The nonce, if known (the header is not zeroed).
    pub nonce: Option<u32>,
    /// Records announced by the header (`None` when zeroed / unsynced).
    pub announced: Option<RecordCount>,
    /// Original database size in pages, from the header.
    pub db_orig_size_pages: u32,
    /// Records found after it.
    pub n_records: u32,
}

/// Parameters a journal cannot always tell by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalCtx {
    /// The database's page size (needed when the header is zeroed).
    pub db_page_size: Option<u32>,
}
