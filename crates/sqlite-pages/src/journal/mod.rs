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

mod header;
pub use header::{JournalHeader, JournalHeaderRaw, RecordCount, record_checksum};
mod records;
pub use records::{JournalCtx, JournalKind, JournalRecord, JournalSegment, RecordStatus};
mod walk;
pub use walk::Journal;
mod rollback;
pub use rollback::Rollback;

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
