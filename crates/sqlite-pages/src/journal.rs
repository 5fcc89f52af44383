//! SQLite rollback journal (`<db>-journal`): headers, page records with their
//! nonce checksums, hot vs stale journals, and a virtual rollback.
//!
//! Spec: <https://www.sqlite.org/fileformat2.html#the_rollback_journal> (§3);
//! behaviour follows `pager.c` (`readJournalHdr`, `pager_playback`).
//!
//! ```text
//! offset 0                                                 sector size
//! ┌──────────── journal header, padded to one sector ──────────────┐
//! │ magic d9d505f9 20a163d7 │ nRec │ nonce │ db size │ sector │ page │ (zero pad) │
//! └────────────────────────────────────────────────────────────────┘
//! then nRec page records of 4 + page_size + 4 bytes:
//! ┌─────────┬──────────────────────────┬──────────┐
//! │ page no │ page image before the txn │ checksum │
//! └─────────┴──────────────────────────┴──────────┘
//! then possibly another header at the next sector boundary, and so on.
//! ```
//!
//! * `nRec` = `0xffffffff` means "records up to the end of the file".
//! * checksum = nonce + Σ page\[k\] for k = page_size−200, page_size−400, … > 0
//!   (byte 0 is never sampled), wrapping 32-bit.
//! * Rollback (`pager_playback`): truncate the database to the first header's
//!   original size, then write back each record's image, stopping at the
//!   first record with page number 0, the lock-byte page or a bad checksum,
//!   and at the first header without the magic. Records for pages past the
//!   original size are skipped.
//! * Until the journal is synced, a header's magic and nRec are zero (the
//!   nonce and sizes are already there). Committing in `PERSIST` mode zeroes
//!   the first 28 bytes and keeps the records; `TRUNCATE` leaves an empty
//!   file; `DELETE` removes it.
//!
//! API structure:
//! - [`JournalHeader::parse`]: the header at offset 0, for `datam inspect`.
//! - [`Journal::parse`]: every segment and record, classified
//!   ([`RecordStatus`]), hot or stale ([`JournalKind`]).
//! - [`Journal::rollback`]: the committed state as page overrides ([`Rollback`]).
//!
//! **Architecture Invariant:** the rollback is computed in memory as a map of
//! borrowed page images; nothing is ever written.

use std::collections::{BTreeMap, HashMap};

use zerocopy::byteorder::big_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The 8-byte journal magic.
pub const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
/// Bytes of a journal header that carry fields (the rest of the sector is padding).
pub const JOURNAL_HEADER_BYTES: usize = 28;
/// `nRec` value meaning "every record to the end of the file".
pub const NREC_TO_END: u32 = 0xffff_ffff;
/// The page holding bytes 1073741824.. (the lock-byte page) for a page size.
fn lock_byte_pgno(page_size: u32) -> u32 {
    (0x4000_0000 / page_size.max(1)).saturating_add(1)
}

/// A journal header exactly as stored (all integers big-endian).
#[repr(C)]
#[derive(Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
pub struct JournalHeaderRaw {
    /// [`JOURNAL_MAGIC`], or zeros while unsynced / after a PERSIST commit.
    pub magic: [u8; 8],
    /// Number of page records in this segment (`0xffffffff`: to end of file).
    pub n_rec: U32,
    /// Random nonce added to every record checksum (`cksumInit`).
    pub cksum_init: U32,
    /// Database size in pages before the transaction.
    pub db_orig_size: U32,
    /// Sector size: headers are padded to it and start on its multiples.
    pub sector_size: U32,
    /// Page size (0: use the database's).
    pub page_size: U32,
}
const _: () = assert!(size_of::<JournalHeaderRaw>() == JOURNAL_HEADER_BYTES);

/// Errors that stop journal parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Fewer than 28 bytes.
    #[error("journal too short for a header: {len_bytes} bytes, need 28")]
    TooShort {
        /// Length of the input.
        len_bytes: usize,
    },
    /// The 28 header bytes at offset 0 are all zero (committed in PERSIST mode).
    #[error("journal header at offset 0 is zeroed (a PERSIST-mode commit); records may remain")]
    ZeroedHeader,
    /// Offset 0 holds neither the magic nor zeros.
    #[error("bad journal magic {found:02x?} at offset 0")]
    BadMagic {
        /// The 8 bytes found.
        found: [u8; 8],
    },
}

/// How many records a header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCount {
    /// An explicit count.
    Count(u32),
    /// `0xffffffff`: up to the end of the file.
    ToEndOfFile,
}

/// A view of one journal header.
#[derive(Debug, Clone, Copy)]
pub struct JournalHeader<'a> {
    raw: &'a JournalHeaderRaw,
    offset: u64,
}

impl<'a> JournalHeader<'a> {
    /// Parses the header at offset 0 of a journal.
    ///
    /// ```
    /// use sqlite_pages::journal::{JournalHeader, RecordCount, JOURNAL_MAGIC};
    /// let mut b = [0u8; 28];
    /// b[..8].copy_from_slice(&JOURNAL_MAGIC);
    /// b[8..12].copy_from_slice(&[0xff; 4]);
    /// b[24..28].copy_from_slice(&4096u32.to_be_bytes());
    /// let h = JournalHeader::parse(&b).unwrap();
    /// assert_eq!(h.record_count(), RecordCount::ToEndOfFile);
    /// assert_eq!(h.page_size_bytes(), 4096);
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Self, JournalError> {
        let Some(h) = Self::at(bytes, 0) else {
            return Err(JournalError::TooShort {
                len_bytes: bytes.len(),
            });
        };
        if h.has_magic() {
            Ok(h)
        } else if h.raw.as_bytes().iter().all(|&b| b == 0) {
            Err(JournalError::ZeroedHeader)
        } else {
            Err(JournalError::BadMagic { found: h.raw.magic })
        }
    }

    /// The 28 header bytes at `offset`, whatever they hold.
    pub fn at(bytes: &'a [u8], offset: u64) -> Option<Self> {
        let rest = bytes.get(usize::try_from(offset).ok()?..)?;
        let (raw, _) = JournalHeaderRaw::ref_from_prefix(rest).ok()?;
        Some(Self { raw, offset })
    }

    /// The raw header.
    pub fn raw(&self) -> &'a JournalHeaderRaw {
        self.raw
    }
    /// File offset of the header.
    pub fn offset(&self) -> u64 {
        self.offset
    }
    /// Whether the magic is present.
    pub fn has_magic(&self) -> bool {
        self.raw.magic == JOURNAL_MAGIC
    }
    /// Records announced.
    pub fn record_count(&self) -> RecordCount {
        match self.raw.n_rec.get() {
            NREC_TO_END => RecordCount::ToEndOfFile,
            n => RecordCount::Count(n),
        }
    }
    /// The checksum nonce.
    pub fn nonce(&self) -> u32 {
        self.raw.cksum_init.get()
    }
    /// Database size in pages before the transaction.
    pub fn db_orig_size_pages(&self) -> u32 {
        self.raw.db_orig_size.get()
    }
    /// Sector size as stored.
    pub fn sector_size_bytes(&self) -> u32 {
        self.raw.sector_size.get()
    }
    /// Page size as stored (0 means "the database's").
    pub fn page_size_bytes(&self) -> u32 {
        self.raw.page_size.get()
    }
}

/// Record checksum: `nonce` plus the page bytes at `len-200`, `len-400`, … (> 0).
///
/// ```
/// use sqlite_pages::journal::record_checksum;
/// let mut page = vec![0u8; 512];
/// page[312] = 5;
/// page[112] = 7;
/// page[0] = 100; // never sampled
/// assert_eq!(record_checksum(1, &page), 13);
/// ```
pub fn record_checksum(nonce: u32, page: &[u8]) -> u32 {
    let mut sum = nonce;
    let mut i = page.len().saturating_sub(200);
    while i > 0 {
        sum = sum.wrapping_add(u32::from(page.get(i).copied().unwrap_or(0)));
        i = i.saturating_sub(200);
    }
    sum
}

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

/// Something odd about a journal that did not stop parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalProblem {
    /// The first header's page size is not a power of two in 512..=65536 and
    /// no database page size was given.
    #[error("journal page size {found} at offset 24 is invalid and no database page size is known")]
    BadPageSize {
        /// The stored page size.
        found: u32,
    },
    /// The first header's sector size is not a power of two in 32..=65536.
    #[error("journal sector size {found} at offset 20 is invalid; guessed {used}")]
    BadSectorSize {
        /// The stored sector size.
        found: u32,
        /// The sector size used instead.
        used: u32,
    },
    /// The header's page size differs from the database's.
    #[error(
        "journal page size {journal} differs from the database page size {db}; using the journal's"
    )]
    PageSizeMismatch {
        /// The journal's.
        journal: u32,
        /// The database's.
        db: u32,
    },
    /// A record is cut off by the end of the file.
    #[error("journal record at offset {offset} is cut off by the end of the file")]
    PartialRecord {
        /// File offset of the record.
        offset: u64,
    },
    /// Rollback stopped here; later records are not applied.
    #[error("rollback stops at offset {offset}: {reason}")]
    RollbackStops {
        /// File offset of the record or header where it stops.
        offset: u64,
        /// Why.
        reason: StopReason,
    },
}

/// Why a rollback stops where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A later header without the magic (not yet synced): the normal end.
    HeaderWithoutMagic,
    /// A record with page number 0 or the lock-byte page.
    TerminalPageNo,
    /// A record whose checksum does not match.
    BadChecksum,
    /// The file ends inside a record.
    PartialRecord,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HeaderWithoutMagic => "next header has no magic (end of the synced journal)",
            Self::TerminalPageNo => "record for page 0 or the lock-byte page",
            Self::BadChecksum => "record checksum does not match",
            Self::PartialRecord => "record cut off by the end of the file",
        })
    }
}

/// Parameters a journal cannot always tell by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalCtx {
    /// The database's page size (needed when the header is zeroed).
    pub db_page_size: Option<u32>,
}

/// A parsed journal.
#[derive(Debug, Clone)]
pub struct Journal<'a> {
    kind: JournalKind,
    page_size: Option<u32>,
    sector_size: u32,
    segments: Vec<JournalSegment>,
    records: Vec<JournalRecord<'a>>,
    problems: Vec<JournalProblem>,
    db_orig_size_pages: Option<u32>,
}

fn valid_page_size(p: u32) -> bool {
    p.is_power_of_two() && (512..=65536).contains(&p)
}

fn valid_sector_size(s: u32) -> bool {
    s.is_power_of_two() && (32..=65536).contains(&s)
}

fn round_up(offset: u64, to: u64) -> Option<u64> {
    offset.checked_next_multiple_of(to.max(1))
}

impl<'a> Journal<'a> {
    /// Parses every segment and record of a journal.
    ///
    /// ```
    /// use sqlite_pages::journal::{Journal, JournalCtx, JournalKind};
    /// let j = Journal::parse(&[], JournalCtx::default());
    /// assert_eq!(j.kind(), JournalKind::Empty);
    /// ```
    pub fn parse(bytes: &'a [u8], ctx: JournalCtx) -> Self {
        let mut j = Self {
            kind: JournalKind::Empty,
            page_size: None,
            sector_size: 512,
            segments: Vec::new(),
            records: Vec::new(),
            problems: Vec::new(),
            db_orig_size_pages: None,
        };
        if bytes.is_empty() {
            return j;
        }
        let Some(first) = JournalHeader::at(bytes, 0) else {
            j.kind = JournalKind::Stale;
            return j;
        };
        let zeroed_magic = first.raw.magic == [0; 8] && first.raw.n_rec.get() == 0;
        let sane = valid_sector_size(first.sector_size_bytes())
            && (valid_page_size(first.page_size_bytes()) || first.page_size_bytes() == 0);
        j.kind = if first.has_magic() && sane {
            JournalKind::Hot
        } else if zeroed_magic && first.nonce() != 0 && sane {
            JournalKind::Unsynced
        } else {
            JournalKind::Stale
        };
        j.page_size = j.choose_page_size(first, ctx);
        let Some(page_size) = j.page_size else {
            return j;
        };
        j.sector_size = j.choose_sector_size(bytes, first, page_size);
        if j.kind == JournalKind::Hot {
            j.db_orig_size_pages = Some(first.db_orig_size_pages());
        }
        j.walk(bytes, page_size);
        j
    }

    fn choose_page_size(&mut self, first: JournalHeader<'_>, ctx: JournalCtx) -> Option<u32> {
        let stored = first.page_size_bytes();
        let db = ctx.db_page_size.filter(|&p| valid_page_size(p));
        if self.kind != JournalKind::Stale && valid_page_size(stored) {
            if let Some(db) = db.filter(|&d| d != stored) {
                self.problems.push(JournalProblem::PageSizeMismatch {
                    journal: stored,
                    db,
                });
            }
            return Some(stored);
        }
        if db.is_none() && !valid_page_size(stored) {
            self.problems
                .push(JournalProblem::BadPageSize { found: stored });
        }
        db.or(valid_page_size(stored).then_some(stored))
    }

    /// The header's sector size if sane; otherwise (zeroed header) the
    /// candidate whose first record looks most like a record.
    fn choose_sector_size(
        &mut self,
        bytes: &[u8],
        first: JournalHeader<'_>,
        page_size: u32,
    ) -> u32 {
        let stored = first.sector_size_bytes();
        if self.kind != JournalKind::Stale && valid_sector_size(stored) {
            return stored;
        }
        let candidates = [512u32, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
        let score = |s: u32| -> u32 {
            let recs = carve_run(bytes, u64::from(s), page_size, 64);
            let mut nonces: HashMap<u32, u32> = HashMap::new();
            for (_, pgno, page, ck) in &recs {
                if *pgno != 0 {
                    let n = ck.wrapping_sub(record_checksum(0, page));
                    *nonces.entry(n).or_default() += 1;
                }
            }
            nonces.values().copied().max().unwrap_or(0)
        };
        let used = candidates
            .iter()
            .copied()
            .max_by_key(|&s| (score(s), std::cmp::Reverse(s)))
            .unwrap_or(512);
        if stored != 0 {
            self.problems.push(JournalProblem::BadSectorSize {
                found: stored,
                used,
            });
        }
        used
    }

    /// Walks segments from offset 0 as `pager_playback` does, recording every
    /// record found and where rollback would stop.
    fn walk(&mut self, bytes: &'a [u8], page_size: u32) {
        let len = bytes.len() as u64;
        let sector = u64::from(self.sector_size);
        let rec_bytes = u64::from(page_size) + 8;
        let mut rollback_alive = self.kind == JournalKind::Hot;
        let mut header_offset = 0u64;
        let mut segment_idx = 0u32;
        while header_offset.saturating_add(sector) <= len {
            let Some(h) = JournalHeader::at(bytes, header_offset) else {
                break;
            };
            let is_first = segment_idx == 0;
            if !h.has_magic() && !is_first {
                if rollback_alive {
                    self.stop(
                        header_offset,
                        StopReason::HeaderWithoutMagic,
                        &mut rollback_alive,
                    );
                }
                break;
            }
            let zeroed = h.raw.as_bytes().iter().all(|&b| b == 0);
            let nonce = (!zeroed).then(|| h.nonce());
            let announced = h.has_magic().then(|| h.record_count());
            let first_rec = header_offset.saturating_add(sector);
            let max_recs = len.saturating_sub(first_rec) / rec_bytes;
            let n = match announced {
                Some(RecordCount::ToEndOfFile) => max_recs,
                Some(RecordCount::Count(n)) if rollback_alive => u64::from(n),
                // Not part of a rollback: carve until the records stop looking like records.
                _ => carve_run(bytes, first_rec, page_size, u32::MAX).len() as u64,
            };
            let mut off = first_rec;
            let mut found = 0u32;
            for _ in 0..n {
                if off.saturating_add(rec_bytes) > len {
                    self.problems
                        .push(JournalProblem::PartialRecord { offset: off });
                    if rollback_alive {
                        self.stop(off, StopReason::PartialRecord, &mut rollback_alive);
                    }
                    break;
                }
                let Some((pgno, page, ck)) = record_at(bytes, off, page_size) else {
                    break;
                };
                let status =
                    self.classify(pgno, page, ck, nonce, page_size, off, &mut rollback_alive);
                self.records.push(JournalRecord {
                    offset: off,
                    segment_idx,
                    pgno,
                    page,
                    stored_checksum: ck,
                    status,
                });
                found = found.saturating_add(1);
                off = off.saturating_add(rec_bytes);
            }
            self.segments.push(JournalSegment {
                header_offset,
                has_magic: h.has_magic(),
                nonce,
                announced,
                db_orig_size_pages: h.db_orig_size_pages(),
                n_records: found,
            });
            segment_idx = segment_idx.saturating_add(1);
            let Some(next) = round_up(off, sector) else {
                break;
            };
            if next <= header_offset {
                break;
            }
            header_offset = next;
        }
        if nonce_unknown(&self.segments) {
            self.mark_by_common_nonce();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn classify(
        &mut self,
        pgno: u32,
        page: &[u8],
        ck: u32,
        nonce: Option<u32>,
        page_size: u32,
        off: u64,
        rollback_alive: &mut bool,
    ) -> RecordStatus {
        let terminal = pgno == 0 || pgno == lock_byte_pgno(page_size);
        let beyond = self.db_orig_size_pages.is_some_and(|n| pgno > n);
        let ck_ok = nonce.is_some_and(|n| record_checksum(n, page) == ck);
        if *rollback_alive {
            if terminal {
                self.stop(off, StopReason::TerminalPageNo, rollback_alive);
            } else if beyond {
                return RecordStatus::BeyondOriginalSize;
            } else if ck_ok {
                return RecordStatus::Rollback;
            } else {
                self.stop(off, StopReason::BadChecksum, rollback_alive);
                return RecordStatus::BadChecksum;
            }
        }
        if ck_ok || nonce.is_none() {
            RecordStatus::Stale
        } else {
            RecordStatus::BadChecksum
        }
    }

    fn stop(&mut self, offset: u64, reason: StopReason, rollback_alive: &mut bool) {
        *rollback_alive = false;
        self.problems
            .push(JournalProblem::RollbackStops { offset, reason });
    }

    /// When a segment's nonce was zeroed, a record is trusted when the nonce
    /// implied by its checksum matches the one most records of its segment imply.
    fn mark_by_common_nonce(&mut self) {
        let zeroed: Vec<u32> = self
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.nonce.is_none())
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        for seg in zeroed {
            let implied =
                |r: &JournalRecord<'_>| r.stored_checksum.wrapping_sub(record_checksum(0, r.page));
            let mut counts: HashMap<u32, u32> = HashMap::new();
            for r in self.records.iter().filter(|r| r.segment_idx == seg) {
                *counts.entry(implied(r)).or_default() += 1;
            }
            let Some((&common, &hits)) = counts.iter().max_by_key(|(_, c)| **c) else {
                continue;
            };
            for r in self.records.iter_mut().filter(|r| r.segment_idx == seg) {
                let consistent = implied(r) == common && (hits > 1 || counts.len() == 1);
                r.status = if consistent {
                    RecordStatus::Stale
                } else {
                    RecordStatus::BadChecksum
                };
            }
        }
    }

    /// Hot, unsynced, stale or empty.
    pub fn kind(&self) -> JournalKind {
        self.kind
    }
    /// The page size used for records.
    pub fn page_size_bytes(&self) -> Option<u32> {
        self.page_size
    }
    /// The sector size used to place headers.
    pub fn sector_size_bytes(&self) -> u32 {
        self.sector_size
    }
    /// Segments in file order.
    pub fn segments(&self) -> &[JournalSegment] {
        &self.segments
    }
    /// Records in file order.
    pub fn records(&self) -> &[JournalRecord<'a>] {
        &self.records
    }
    /// Problems met.
    pub fn problems(&self) -> &[JournalProblem] {
        &self.problems
    }

    /// The committed state a rollback restores: `None` unless the journal is
    /// hot. Later records for a page never override earlier ones' role as the
    /// pre-image; SQLite writes each page once per transaction, and replays in
    /// order, so the last applied image wins as in `pager_playback`.
    pub fn rollback(&self) -> Option<Rollback<'a>> {
        if self.kind != JournalKind::Hot {
            return None;
        }
        let mut pages = BTreeMap::new();
        for r in &self.records {
            if r.status == RecordStatus::Rollback {
                pages.insert(r.pgno, r.page);
            }
        }
        Some(Rollback {
            db_size_pages: self.db_orig_size_pages.unwrap_or(0),
            page_size: self.page_size.unwrap_or(0),
            pages,
        })
    }
}

fn nonce_unknown(segments: &[JournalSegment]) -> bool {
    segments.iter().any(|s| s.nonce.is_none())
}

fn record_at(bytes: &[u8], off: u64, page_size: u32) -> Option<(u32, &[u8], u32)> {
    let start = usize::try_from(off).ok()?;
    let ps = usize::try_from(page_size).ok()?;
    let pg_end = start.checked_add(4)?.checked_add(ps)?;
    let pgno = bytes.get(start..start.checked_add(4)?)?;
    let page = bytes.get(start.checked_add(4)?..pg_end)?;
    let ck = bytes.get(pg_end..pg_end.checked_add(4)?)?;
    let pgno = u32::from_be_bytes(pgno.try_into().ok()?);
    let ck = u32::from_be_bytes(ck.try_into().ok()?);
    Some((pgno, page, ck))
}

/// Records from `start` while their page numbers look plausible (non-zero,
/// below 2^31, and not a header), at most `limit` of them.
fn carve_run(bytes: &[u8], start: u64, page_size: u32, limit: u32) -> Vec<(u64, u32, &[u8], u32)> {
    let mut out = Vec::new();
    let rec_bytes = u64::from(page_size) + 8;
    let mut off = start;
    while out.len() < limit as usize {
        let Some((pgno, page, ck)) = record_at(bytes, off, page_size) else {
            break;
        };
        let is_header = usize::try_from(off)
            .ok()
            .and_then(|o| bytes.get(o..o.checked_add(8)?))
            .is_some_and(|m| m == JOURNAL_MAGIC);
        if pgno == 0 || pgno >= 0x8000_0000 || is_header {
            break;
        }
        out.push((off, pgno, page, ck));
        off = off.saturating_add(rec_bytes);
    }
    out
}

/// The committed database state a hot journal's rollback restores, as
/// overrides over the database file's pages. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback<'a> {
    /// Database size in pages before the transaction (the file is virtually
    /// truncated or zero-extended to it).
    pub db_size_pages: u32,
    /// Page size in bytes.
    pub page_size: u32,
    /// Pre-images to restore, by page number.
    pub pages: BTreeMap<u32, &'a [u8]>,
}

impl<'a> Rollback<'a> {
    /// Page `pgno` (1-based) of the rolled-back database: the journal's
    /// pre-image, else `db`'s page. `None` past the original size, or when
    /// `db` lacks the page (SQLite would read zeros).
    pub fn page(&self, db: &'a [u8], pgno: u32) -> Option<&'a [u8]> {
        if pgno == 0 || pgno > self.db_size_pages {
            return None;
        }
        if let Some(p) = self.pages.get(&pgno) {
            return Some(p);
        }
        let ps = u64::from(self.page_size);
        let start = usize::try_from(u64::from(pgno - 1).checked_mul(ps)?).ok()?;
        db.get(start..start.checked_add(usize::try_from(ps).ok()?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-only journal writer following pager.c (kind b).
    struct JournalBuilder {
        bytes: Vec<u8>,
        sector: usize,
        page_size: usize,
        nonce: u32,
    }

    impl JournalBuilder {
        fn new(sector: usize, page_size: usize, nonce: u32) -> Self {
            Self {
                bytes: Vec::new(),
                sector,
                page_size,
                nonce,
            }
        }
        fn header(&mut self, n_rec: u32, db_size: u32) -> &mut Self {
            let pad = self.bytes.len().next_multiple_of(self.sector);
            self.bytes.resize(pad, 0);
            self.bytes.extend_from_slice(&JOURNAL_MAGIC);
            for v in [
                n_rec,
                self.nonce,
                db_size,
                u32::try_from(self.sector).unwrap(),
                u32::try_from(self.page_size).unwrap(),
            ] {
                self.bytes.extend_from_slice(&v.to_be_bytes());
            }
            self.bytes.resize(pad + self.sector, 0);
            self
        }
        fn record(&mut self, pgno: u32, fill: u8) -> &mut Self {
            let page = vec![fill; self.page_size];
            self.bytes.extend_from_slice(&pgno.to_be_bytes());
            self.bytes.extend_from_slice(&page);
            self.bytes
                .extend_from_slice(&record_checksum(self.nonce, &page).to_be_bytes());
            self
        }
    }

    #[rustfmt::skip]
    const HEADER: [u8; 28] = [
        0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7, // magic
        0x00, 0x00, 0x00, 0x03, // nRec 3
        0xde, 0xad, 0xbe, 0xef, // nonce
        0x00, 0x00, 0x00, 0x0a, // original size 10 pages
        0x00, 0x00, 0x02, 0x00, // sector 512
        0x00, 0x00, 0x10, 0x00, // page 4096
    ];

    #[test]
    fn header_fields_and_errors() {
        let h = JournalHeader::parse(&HEADER).unwrap();
        assert_eq!(h.record_count(), RecordCount::Count(3));
        assert_eq!(h.nonce(), 0xdead_beef);
        assert_eq!(h.db_orig_size_pages(), 10);
        assert_eq!(h.sector_size_bytes(), 512);
        assert_eq!(h.page_size_bytes(), 4096);
        assert_eq!(
            JournalHeader::parse(&HEADER[..27]).unwrap_err(),
            JournalError::TooShort { len_bytes: 27 }
        );
        assert_eq!(
            JournalHeader::parse(&[0; 28]).unwrap_err(),
            JournalError::ZeroedHeader
        );
        let mut b = HEADER;
        b[0] = 1;
        assert!(
            matches!(JournalHeader::parse(&b), Err(JournalError::BadMagic { found }) if found[0] == 1)
        );
    }

    #[test]
    fn checksum_skips_byte_zero() {
        let mut page = vec![1u8; 1024];
        // sampled: 824, 624, 424, 224, 24
        assert_eq!(record_checksum(0, &page), 5);
        page[0] = 9;
        assert_eq!(record_checksum(0, &page), 5);
        assert_eq!(record_checksum(u32::MAX, &page), 4);
    }

    #[test]
    fn hot_rollback_with_two_segments() {
        let mut b = JournalBuilder::new(512, 512, 77);
        b.header(2, 3).record(2, 0xa2).record(3, 0xa3);
        b.header(2, 3).record(1, 0xa1).record(4, 0xa4);
        let j = Journal::parse(&b.bytes, JournalCtx::default());
        assert_eq!(j.kind(), JournalKind::Hot);
        assert_eq!(j.segments().len(), 2);
        let st: Vec<_> = j.records().iter().map(|r| (r.pgno, r.status)).collect();
        assert_eq!(
            st,
            [
                (2, RecordStatus::Rollback),
                (3, RecordStatus::Rollback),
                (1, RecordStatus::Rollback),
                (4, RecordStatus::BeyondOriginalSize)
            ]
        );
        let rb = j.rollback().unwrap();
        let db = vec![0x11u8; 512 * 5];
        assert_eq!(rb.page(&db, 1).unwrap()[0], 0xa1);
        assert_eq!(rb.page(&db, 3).unwrap()[0], 0xa3);
        assert!(rb.page(&db, 4).is_none(), "truncated to the original size");
    }

    #[test]
    fn bad_checksum_stops_rollback() {
        let mut b = JournalBuilder::new(512, 512, 77);
        b.header(NREC_TO_END, 9)
            .record(2, 1)
            .record(3, 2)
            .record(4, 3);
        // Record 2's page byte 312 is sampled by the checksum (512 - 200).
        let sampled = 512 + 520 + 4 + 312;
        b.bytes[sampled] ^= 0x01;
        let j = Journal::parse(&b.bytes, JournalCtx::default());
        let st: Vec<_> = j.records().iter().map(|r| r.status).collect();
        assert_eq!(
            st,
            [
                RecordStatus::Rollback,
                RecordStatus::BadChecksum,
                RecordStatus::Stale
            ]
        );
        assert_eq!(j.rollback().unwrap().pages.len(), 1);
        assert!(j.problems().contains(&JournalProblem::RollbackStops {
            offset: 512 + 520,
            reason: StopReason::BadChecksum
        }));
    }

    #[test]
    fn persist_zeroed_header_keeps_records() {
        let mut b = JournalBuilder::new(4096, 1024, 99);
        b.header(3, 9).record(5, 1).record(6, 2).record(7, 3);
        b.bytes[..28].fill(0);
        let j = Journal::parse(
            &b.bytes,
            JournalCtx {
                db_page_size: Some(1024),
            },
        );
        assert_eq!(j.kind(), JournalKind::Stale);
        assert_eq!(j.sector_size_bytes(), 4096);
        assert!(j.rollback().is_none());
        let st: Vec<_> = j.records().iter().map(|r| (r.pgno, r.status)).collect();
        assert_eq!(
            st,
            [
                (5, RecordStatus::Stale),
                (6, RecordStatus::Stale),
                (7, RecordStatus::Stale)
            ]
        );
        // Without the database's page size nothing can be located.
        let j = Journal::parse(&b.bytes, JournalCtx::default());
        assert!(j.records().is_empty());
        assert!(matches!(
            j.problems(),
            [JournalProblem::BadPageSize { found: 0 }]
        ));
    }

    #[test]
    fn unsynced_header_is_not_hot() {
        let mut b = JournalBuilder::new(512, 512, 5);
        b.header(0, 4).record(2, 1);
        b.bytes[..12].fill(0);
        let j = Journal::parse(&b.bytes, JournalCtx::default());
        assert_eq!(j.kind(), JournalKind::Unsynced);
        assert_eq!(j.records().len(), 1);
        assert_eq!(j.records()[0].status, RecordStatus::Stale);
        assert!(j.rollback().is_none());
    }

    #[test]
    fn partial_record_reported() {
        let mut b = JournalBuilder::new(512, 512, 5);
        b.header(2, 4).record(2, 1).record(3, 1);
        b.bytes.truncate(b.bytes.len() - 10);
        let j = Journal::parse(&b.bytes, JournalCtx::default());
        assert_eq!(j.records().len(), 1);
        assert!(
            j.problems()
                .iter()
                .any(|p| matches!(p, JournalProblem::PartialRecord { .. }))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(mut data in proptest::collection::vec(proptest::num::u8::ANY, 0..5000), magic in proptest::bool::ANY) {
            if magic && data.len() >= 28 {
                data[..8].copy_from_slice(&JOURNAL_MAGIC);
                data[20..28].copy_from_slice(&[0, 0, 2, 0, 0, 0, 2, 0]);
            }
            let _ = JournalHeader::parse(&data);
            let j = Journal::parse(&data, JournalCtx { db_page_size: Some(512) });
            if let Some(rb) = j.rollback() {
                for p in 0..4 {
                    let _ = rb.page(&data, p);
                }
            }
        }
    }
}
