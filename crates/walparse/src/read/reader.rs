//! The record reader: an explicit state machine over a [`WalSource`] that
//! reassembles records spanning pages and segments, validates each one, and
//! on damage reports what failed and resumes at the next record boundary.
//!
//! ```text
//!            record fits in page          record crosses page end
//!  AtRecord ───────────────► emit ──┐   AtRecord ──► Reassembling{buf} ──► emit
//!     ▲                             │                    │ bad continuation
//!     └─────────────────────────────┘                    ▼
//!     └───────── candidate boundary found ◄──────── Resync{from} ──► Finished
//! ```
//!
//! Records are pushed into a [`Sink`]. A record that lies within one page is
//! handed over as a view of the mapped segment; only spanning records are
//! copied (into one reusable buffer).

use crate::ctx::{PgMajor, WalCtx};
use crate::error::{ContProblem, Error};
use crate::raw::{
    SIZE_OF_XLOG_LONG_PHD, SIZE_OF_XLOG_RECORD, SIZE_OF_XLOG_SHORT_PHD, XLP_FIRST_IS_CONTRECORD,
    XLP_FIRST_IS_OVERWRITE_CONTRECORD,
};
use crate::read::page::WalSource;
use crate::read::record::{Record, decode_body, read_header, record_crc};
use crate::types::Lsn;

/// Largest record any major writes (`XLogRecordMaxSize` is 1020 MiB in 16+;
/// older majors are bounded by `MaxAllocSize`, 1 GiB - 1).
pub const MAX_RECORD_BYTES: u32 = 0x3FFF_FFFF;

/// Something the reader noticed besides records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diag {
    /// The record at `lsn` is invalid; a valid record was found later at
    /// `resumed_at`, where reading continues.
    Damage {
        /// Where the invalid record (or page) starts.
        lsn: Lsn,
        /// What is wrong.
        error: Error,
        /// First valid record after the damage.
        resumed_at: Lsn,
    },
    /// Reading stopped at `lsn`: what follows is invalid and no valid record
    /// was found before the end of the input (or the reader's `stop` bound).
    /// At the true end of the WAL this is the normal end (zeroed or recycled
    /// pages); `error` says what was found there.
    Stopped {
        /// Where valid WAL ends.
        lsn: Lsn,
        /// What was found there, `None` if the input simply ran out.
        error: Option<Error>,
    },
}

/// Receives records and diagnostics. Return `Ok(false)` to stop reading.
pub trait Sink {
    /// The sink's own error (I/O, ...); aborts the run.
    type Error;
    /// One valid record.
    fn record(&mut self, rec: &Record<'_>) -> Result<bool, Self::Error>;
    /// A diagnostic. The default ignores it.
    fn diag(&mut self, diag: &Diag) -> Result<bool, Self::Error> {
        let _ = diag;
        Ok(true)
    }
}

/// Where to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// First LSN: a record start, or any position to look for the first
    /// record boundary at or after it (`None`: the first segment's start).
    pub start: Option<Lsn>,
    /// `start` is a known record start (pg_waldump `--start` semantics);
    /// otherwise the reader searches for the first boundary from `start`.
    pub start_is_record: bool,
    /// Records starting at or after this LSN are not read.
    pub stop: Option<Lsn>,
    /// `xl_prev` the first record must have, if known.
    pub expect_prev: Option<Lsn>,
}

enum State {
    /// The next record starts at this LSN.
    AtRecord(Lsn),
    /// A record crossing pages: bytes so far, next page to read.
    Reassembling {
        start: Lsn,
        tot_len: u32,
        next_page: Lsn,
    },
    /// Looking for a record boundary from this LSN on.
    Resync(Lsn),
    /// Nothing more to read.
    Finished,
}

/// Reads records from a [`WalSource`] into a [`Sink`].
pub struct Reader<'s, 'a> {
    src: &'s WalSource<'a>,
    state: State,
    stop: Option<Lsn>,
    expect_prev: Option<Lsn>,
    /// First failure not yet reported, kept until we know whether reading
    /// resumes (damage) or not (end of WAL).
    pending: Option<(Lsn, Error)>,
    /// Whether the current position came from a resync (failures there are
    /// silent: they only mean "not a boundary").
    probing: bool,
    buf: Vec<u8>,
    /// Statistics of this run.
    pub n_records: u64,
    /// LSN of the last record emitted.
    pub last_lsn: Option<Lsn>,
    /// End of the last record emitted.
    pub last_end: Option<Lsn>,
}

impl<'s, 'a> Reader<'s, 'a> {
    /// A reader over `src`.
    pub fn new(src: &'s WalSource<'a>, opts: ReadOptions) -> Reader<'s, 'a> {
        let first = src
            .segments()
            .first()
            .map(|s| src.segment_start(s.segno))
            .unwrap_or(Lsn::INVALID);
        let start = opts.start.unwrap_or(first);
        let (state, probing) = if opts.start_is_record {
            (State::AtRecord(start), false)
        } else {
            (State::Resync(start), true)
        };
        // A segment's end (an older timeline's copy read up to its switch
        // point) bounds record starts like `stop`.
        let stop = match (opts.stop, src.end_from(start)) {
            (Some(s), Some(e)) => Some(s.min(e)),
            (s, e) => s.or(e),
        };
        Reader {
            src,
            state,
            stop,
            expect_prev: opts.expect_prev,
            pending: None,
            probing,
            buf: Vec::new(),
            n_records: 0,
            last_lsn: None,
            last_end: None,
        }
    }

    fn ctx(&self) -> &WalCtx {
        self.src.ctx()
    }

    fn hdr_len_at(&self, page: Lsn) -> u64 {
        if page.0.is_multiple_of(u64::from(self.ctx().seg_size_bytes)) {
            SIZE_OF_XLOG_LONG_PHD as u64
        } else {
            SIZE_OF_XLOG_SHORT_PHD as u64
        }
    }

    /// A record position at a page start really means "after the header".
    fn skip_page_header(&self, lsn: Lsn) -> Lsn {
        if lsn.0.is_multiple_of(u64::from(self.ctx().block_size_bytes)) {
            Lsn(lsn.0.saturating_add(self.hdr_len_at(lsn)))
        } else {
            lsn
        }
    }

    fn past_stop(&self, lsn: Lsn) -> bool {
        self.stop.is_some_and(|s| lsn >= s)
    }

    /// Runs until the input ends, `stop` is reached, or the sink says stop.
    pub fn run<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        loop {
            let state = std::mem::replace(&mut self.state, State::Finished);
            self.state = match state {
                State::Finished => return Ok(()),
                State::AtRecord(lsn) => match self.at_record(lsn, sink)? {
                    Some(s) => s,
                    None => return Ok(()),
                },
                State::Reassembling {
                    start,
                    tot_len,
                    next_page,
                } => match self.reassemble(start, tot_len, next_page, sink)? {
                    Some(s) => s,
                    None => return Ok(()),
                },
                State::Resync(from) => {
                    let s = self.resync(from);
                    if matches!(s, State::Finished) {
                        self.finish(sink)?;
                    }
                    s
                }
            };
        }
    }

    fn finish<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let diag = match self.pending.take() {
            Some((lsn, error)) => Diag::Stopped {
                lsn,
                error: Some(error),
            },
            None => match self.last_end {
                Some(end) => Diag::Stopped {
                    lsn: end,
                    error: None,
                },
                None => return Ok(()),
            },
        };
        sink.diag(&diag)?;
        Ok(())
    }

    fn fail(&mut self, lsn: Lsn, error: Error) -> State {
        if !self.probing && self.pending.is_none() {
            self.pending = Some((lsn, error));
        }
        self.probing = true;
        self.expect_prev = None;
        // Resume the search after this position.
        State::Resync(Lsn(lsn.0.saturating_add(1)))
    }

    fn valid_rmid(&self, rmid: u8) -> bool {
        rmid <= crate::rmgr::RM_MAX_BUILTIN_ID || (self.ctx().major >= PgMajor::V15 && rmid >= 128)
    }

    /// Checks the header fields that can be checked before the body is read.
    fn check_header(&self, lsn: Lsn, hdr: &crate::raw::XLogRecord) -> Result<(), Error> {
        let tot_len = hdr.xl_tot_len.get();
        if (tot_len as usize) < SIZE_OF_XLOG_RECORD {
            return Err(Error::RecordTooShort { lsn, tot_len });
        }
        if tot_len > MAX_RECORD_BYTES {
            return Err(Error::RecordTooLong { lsn, tot_len });
        }
        if !self.valid_rmid(hdr.xl_rmid) {
            return Err(Error::BadRmgr {
                lsn,
                rmid: hdr.xl_rmid,
            });
        }
        if let Some(expected) = self.expect_prev {
            let found = Lsn(hdr.xl_prev.get());
            if found != expected {
                return Err(Error::BadPrevLink {
                    lsn,
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }

    fn at_record<S: Sink>(&mut self, lsn: Lsn, sink: &mut S) -> Result<Option<State>, S::Error> {
        let lsn = self.skip_page_header(lsn);
        if self.past_stop(lsn) {
            return Ok(Some(State::Finished));
        }
        let page_lsn = self.src.page_of(lsn);
        let page = match self.src.page(page_lsn) {
            Ok(p) => p,
            Err(e) => return Ok(Some(self.fail(lsn, e))),
        };
        let off = usize::try_from(lsn.0.saturating_sub(page_lsn.0)).unwrap_or(usize::MAX);
        let rest = page.bytes.get(off..).unwrap_or(&[]);
        let tot_len = rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0);
        if (tot_len as usize) < SIZE_OF_XLOG_RECORD {
            return Ok(Some(self.fail(lsn, Error::RecordTooShort { lsn, tot_len })));
        }
        if let Some(hdr) = read_header(rest)
            && let Err(e) = self.check_header(lsn, &hdr)
        {
            return Ok(Some(self.fail(lsn, e)));
        }
        if let Some(bytes) = rest.get(..tot_len as usize) {
            let end = Lsn(lsn.0.saturating_add(u64::from(tot_len)));
            return self.emit(lsn, end, bytes, sink, true);
        }
        if tot_len > MAX_RECORD_BYTES {
            return Ok(Some(self.fail(lsn, Error::RecordTooLong { lsn, tot_len })));
        }
        self.buf.clear();
        self.buf.reserve((tot_len as usize).min(1 << 20));
        self.buf.extend_from_slice(rest);
        Ok(Some(State::Reassembling {
            start: lsn,
            tot_len,
            next_page: Lsn(page_lsn
                .0
                .saturating_add(u64::from(self.ctx().block_size_bytes))),
        }))
    }

    fn reassemble<S: Sink>(
        &mut self,
        start: Lsn,
        tot_len: u32,
        next_page: Lsn,
        sink: &mut S,
    ) -> Result<Option<State>, S::Error> {
        let cont_err = |reason| Error::BadContinuation {
            lsn: start,
            page: next_page,
            reason,
        };
        let page = match self.src.page(next_page) {
            Ok(p) => p,
            Err(_) => {
                return Ok(Some(
                    self.fail(start, cont_err(ContProblem::PageUnavailable)),
                ));
            }
        };
        let missing = (tot_len as usize).saturating_sub(self.buf.len());
        let info = page.info();
        if info & XLP_FIRST_IS_CONTRECORD == 0 {
            let reason = if info & XLP_FIRST_IS_OVERWRITE_CONTRECORD != 0 {
                ContProblem::Overwritten
            } else {
                ContProblem::NoContrecordFlag
            };
            return Ok(Some(self.fail(start, cont_err(reason))));
        }
        if page.rem_len() as usize != missing {
            let e = cont_err(ContProblem::RemLen {
                found: page.rem_len(),
                expected: missing.try_into().unwrap_or(u32::MAX),
            });
            return Ok(Some(self.fail(start, e)));
        }
        // Header checks once the header is complete.
        if self.buf.len() < SIZE_OF_XLOG_RECORD {
            let mut head = self.buf.clone();
            head.extend(page.payload().iter().take(SIZE_OF_XLOG_RECORD));
            if let Some(hdr) = read_header(&head)
                && let Err(e) = self.check_header(start, &hdr)
            {
                return Ok(Some(self.fail(start, e)));
            }
        }
        let payload = page.payload();
        let chunk = payload.get(..missing.min(payload.len())).unwrap_or(&[]);
        self.buf.extend_from_slice(chunk);
        let next = Lsn(next_page
            .0
            .saturating_add(u64::from(self.ctx().block_size_bytes)));
        if self.buf.len() < tot_len as usize {
            return Ok(Some(State::Reassembling {
                start,
                tot_len,
                next_page: next,
            }));
        }
        let end = Lsn(next_page
            .0
            .saturating_add(page.hdr_len as u64)
            .saturating_add(chunk.len() as u64));
        let buf = std::mem::take(&mut self.buf);
        let r = self.emit(start, end, &buf, sink, false);
        self.buf = buf;
        r
    }

    fn emit<S: Sink>(
        &mut self,
        lsn: Lsn,
        end: Lsn,
        bytes: &[u8],
        sink: &mut S,
        _in_page: bool,
    ) -> Result<Option<State>, S::Error> {
        let Some(hdr) = read_header(bytes) else {
            return Ok(Some(
                self.fail(lsn, Error::RecordTooShort { lsn, tot_len: 0 }),
            ));
        };
        let stored = hdr.xl_crc.get();
        let computed = record_crc(bytes);
        if stored != computed {
            return Ok(Some(self.fail(
                lsn,
                Error::BadCrc {
                    lsn,
                    stored,
                    computed,
                },
            )));
        }
        let mut rec = match decode_body(self.ctx(), lsn, hdr, bytes) {
            Ok(r) => r,
            Err(e) => return Ok(Some(self.fail(lsn, e))),
        };
        rec.end = end;
        if let Some((bad, error)) = self.pending.take() {
            let d = Diag::Damage {
                lsn: bad,
                error,
                resumed_at: lsn,
            };
            if !sink.diag(&d)? {
                return Ok(None);
            }
        }
        self.probing = false;
        self.n_records = self.n_records.saturating_add(1);
        self.last_lsn = Some(lsn);
        self.last_end = Some(end);
        self.expect_prev = Some(lsn);
        if !sink.record(&rec)? {
            return Ok(None);
        }
        Ok(Some(match end.maxalign() {
            Some(n) => State::AtRecord(n),
            None => State::Finished,
        }))
    }

    /// Finds the next plausible record start at or after `from`: the first
    /// record of a later page (after its continuation data), or, inside the
    /// page of `from`, the next 8-byte boundary whose header passes the cheap
    /// checks. Candidates are confirmed by the CRC in `emit`.
    fn resync(&mut self, from: Lsn) -> State {
        let blk = u64::from(self.ctx().block_size_bytes);
        let Some(mut lsn) = from.maxalign() else {
            return State::Finished;
        };
        loop {
            if self.past_stop(lsn) {
                return State::Finished;
            }
            let page_lsn = self.src.page_of(lsn);
            let page = match self.src.page(page_lsn) {
                Ok(p) => p,
                Err(Error::MissingSegment { .. }) => match self.next_present_segment(lsn) {
                    Some(l) => {
                        lsn = l;
                        continue;
                    }
                    None => return State::Finished,
                },
                Err(_) => {
                    lsn = Lsn(page_lsn.0.saturating_add(blk));
                    continue;
                }
            };
            let first = if page.info() & XLP_FIRST_IS_CONTRECORD != 0 {
                let skip = u64::from(page.rem_len()).saturating_add(7) & !7;
                page_lsn
                    .0
                    .saturating_add(page.hdr_len as u64)
                    .saturating_add(skip)
            } else {
                page_lsn.0.saturating_add(page.hdr_len as u64)
            };
            if lsn.0 <= first {
                if first < page_lsn.0.saturating_add(blk) {
                    return State::AtRecord(Lsn(first));
                }
                lsn = Lsn(page_lsn.0.saturating_add(blk));
                continue;
            }
            // Inside a page after its first record: probe 8-byte boundaries.
            let page_end = page_lsn.0.saturating_add(blk);
            let mut at = lsn.0;
            while at.saturating_add(SIZE_OF_XLOG_RECORD as u64) <= page_end {
                let off = usize::try_from(at.saturating_sub(page_lsn.0)).unwrap_or(usize::MAX);
                if let Some(h) = page.bytes.get(off..).and_then(read_header) {
                    let saved = self.expect_prev.take();
                    let ok = self.check_header(Lsn(at), &h).is_ok();
                    self.expect_prev = saved;
                    if ok {
                        return State::AtRecord(Lsn(at));
                    }
                }
                at = at.saturating_add(8);
            }
            lsn = Lsn(page_end);
        }
    }

    fn next_present_segment(&self, lsn: Lsn) -> Option<Lsn> {
        let segno = self.src.segno_of(lsn);
        self.src
            .segments()
            .iter()
            .find(|s| s.segno > segno)
            .map(|s| self.src.segment_start(s.segno))
    }
}
