//! Walking a journal: page and sector size, segments, records and their
//! checksums, where the walk stops and why.

use super::{
    JOURNAL_MAGIC, JournalCtx, JournalHeader, JournalKind, JournalProblem, JournalRecord,
    JournalSegment, RecordCount, RecordStatus, StopReason, lock_byte_pgno, record_checksum,
};
use std::collections::HashMap;
use zerocopy::IntoBytes;

/// A parsed journal.
#[derive(Debug, Clone)]
pub struct Journal<'a> {
    pub(super) kind: JournalKind,
    pub(super) page_size: Option<u32>,
    sector_size: u32,
    segments: Vec<JournalSegment>,
    pub(super) records: Vec<JournalRecord<'a>>,
    problems: Vec<JournalProblem>,
    pub(super) db_orig_size_pages: Option<u32>,
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
}

fn nonce_unknown(segments: &[JournalSegment]) -> bool {
    segments.iter().any(|s| s.nonce.is_none())
}

fn record_at(bytes: &[u8], off: u64, page_size: u32) -> Option<(u32, &[u8], u32)> {
    let start = usize::try_from(off).ok()?;
    let ps = usize::try_from(page_size).ok()?;
    let pg_end = start.checked_add(4)?.checked_add(ps)?;
    let pgno = crate::be_u32_at(bytes, start)?;
    let page = bytes.get(start.checked_add(4)?..pg_end)?;
    let ck = crate::be_u32_at(bytes, pg_end)?;
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
