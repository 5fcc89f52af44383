//! `pg wal` into [`WalBatcher`] batches (output name [`OUTPUT`]): the whole
//! scan ([`wal`], as `datam pg wal`) or one segment on its own
//! ([`wal_segment`], a task of a distributed scan).

use arrow_array::RecordBatch;
use datam_core::job::JobCtx;
use datam_core::pg::wal::{SegmentBytes, WalScanRequest, scan_one_segment, scan_segments};
use walparse::{PgMajor, Record, WalCtx};

use super::{BATCH_ROWS, BatchOut, JobError, hand_out};
use crate::Error;
use crate::wal::WalBatcher;

/// The output name of WAL batches.
pub const OUTPUT: &str = "wal";

/// A walparse sink filling a [`WalBatcher`], one batch per [`BATCH_ROWS`]
/// records.
#[derive(Debug)]
pub struct WalSink {
    batcher: WalBatcher,
    batches: Vec<RecordBatch>,
    error: Option<Error>,
}

impl WalSink {
    /// A sink for records of `major`.
    pub fn new(major: PgMajor) -> Self {
        Self {
            batcher: WalBatcher::new(major),
            batches: Vec::new(),
            error: None,
        }
    }

    /// The batches of the records pushed.
    pub fn into_batches(mut self) -> Result<Vec<RecordBatch>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.batcher.is_empty() {
            self.batches.push(self.batcher.finish()?);
        }
        Ok(self.batches)
    }
}

impl walparse::Sink for WalSink {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        self.batcher.push(r);
        if self.batcher.len() >= BATCH_ROWS {
            match self.batcher.finish() {
                Ok(b) => self.batches.push(b),
                Err(e) => {
                    self.error = Some(e);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// Runs `datam pg wal` (inputs, timeline, filters of `req`; recycled
/// segments and statistics aside) into batches, in LSN order. Returns the
/// stream's format parameters.
pub fn wal(req: &WalScanRequest, job: &JobCtx, out: &mut BatchOut<'_>) -> Result<WalCtx, JobError> {
    let mut failed = None;
    let ctx = scan_segments(
        req,
        job,
        |c| WalSink::new(c.major),
        |_, sink| match sink.into_batches().and_then(|b| hand_out(out, OUTPUT, b)) {
            Ok(more) => Ok(more),
            Err(e) => {
                failed = Some(e);
                Ok(false)
            }
        },
    )?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(ctx),
    }
}

/// The records that start in `seg` (continuations read from `next`) into
/// batches.
pub fn wal_segment(
    seg: SegmentBytes<'_>,
    next: Option<SegmentBytes<'_>>,
    job: &JobCtx,
    out: &mut BatchOut<'_>,
) -> Result<(), JobError> {
    let sink = scan_one_segment(seg, next, job, |c| WalSink::new(c.major))?;
    hand_out(out, OUTPUT, sink.into_batches()?)?;
    Ok(())
}
