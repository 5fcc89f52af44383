//! The parallel WAL decode driver shared by `pg wal`, `pg xacts` and
//! `pg rescue`.
//!
//! Segments are decoded in parallel (rayon), each worker owning the records
//! that *start* in its segment (it may read into the next segments to finish
//! a spanning record); results are handed back in segment order. Work goes
//! in batches of mapped segments so memory stays flat; a record longer than
//! the mapped window is decoded again over a window wide enough for 1 GB.

use std::path::PathBuf;

use rayon::prelude::*;
use walparse::{Diag, Lsn, ReadOptions, Reader, SegNo, Segment, Sink, WalCtx, WalSource};

use super::inputs::{Chosen, Mapped, choose_segments, open_inputs, open_window};
use crate::job::{Diagnostic, JobCtx, Phase, Unit};
use crate::pg::Result;

/// Segments per parallel batch, segments mapped beyond a batch (records may
/// continue into the following segments: 64 MiB worth), and the window of
/// a redo for a record longer than that (up to 1 GB).
fn window_sizes(seg_bytes: u64) -> (usize, u64, u64) {
    let batch = rayon::current_num_threads().max(1);
    let lookahead = (64u64 << 20).div_ceil(seg_bytes).max(2);
    let max_record_segs = (1u64 << 30).div_ceil(seg_bytes).saturating_add(1);
    (batch, lookahead, max_record_segs)
}

/// The segments of `evs` as one WAL source, each read up to its end.
pub(crate) fn source<'a>(ctx: WalCtx, evs: &'a [Mapped]) -> WalSource<'a> {
    let src = WalSource::new(
        ctx,
        evs.iter()
            .map(|(s, ev, _)| Segment {
                segno: *s,
                bytes: ev.bytes(),
            })
            .collect(),
    );
    evs.iter().fold(src, |src, (s, _, end)| match end {
        Some(e) => src.with_end(*s, *e),
        None => src,
    })
}

/// Whether a worker's record ran past the mapped window.
pub(crate) fn ran_out_of_window(diags: &[Diag]) -> bool {
    diags.iter().any(|d| {
        matches!(
            d,
            Diag::Stopped {
                error: Some(walparse::Error::BadContinuation {
                    reason: walparse::error::ContProblem::PageUnavailable,
                    ..
                }),
                ..
            }
        )
    })
}

/// The diagnostic of damage the reader skipped over.
pub(crate) fn damage(lsn: Lsn, error: &walparse::Error, resumed_at: Lsn) -> Diagnostic {
    Diagnostic {
        severity: crate::job::Severity::Error,
        ..Diagnostic::warning(
            "wal-damage",
            format!("damage at {lsn}: {error}; resumed at {resumed_at}"),
        )
    }
}

/// Decodes the segments `order` of `chosen` in parallel batches: `work`
/// decodes one segment over a mapped window, `needs_wide` says whether its
/// result ran out of the window (it is then decoded again over a 1 GB
/// window), and `each` receives the results in segment order. The next
/// batch is decoded while `each` consumes the current one (two batches in
/// flight at most). Checks for cancellation between batches and reports
/// bytes done of total.
pub(crate) fn drive<T, W, N, E>(
    ctx: WalCtx,
    chosen: &Chosen<'_>,
    order: &[SegNo],
    job: &JobCtx,
    work: W,
    needs_wide: N,
    mut each: E,
) -> Result<()>
where
    T: Send,
    W: Fn(&WalSource<'_>, SegNo) -> T + Sync,
    N: Fn(&T) -> bool,
    E: FnMut(SegNo, T) -> Result<bool>,
{
    let seg_bytes = u64::from(ctx.seg_size_bytes);
    let total = seg_bytes.saturating_mul(order.len() as u64);
    let (batch, lookahead, max_record_segs) = window_sizes(seg_bytes);
    let decode = |chunk: &[SegNo]| -> Result<Vec<(SegNo, T)>> {
        let (Some(lo), Some(hi)) = (chunk.first(), chunk.last()) else {
            return Ok(Vec::new());
        };
        let evs = open_window(chosen, (lo.0..=hi.0.saturating_add(lookahead)).map(SegNo))?;
        let src = source(ctx, &evs);
        Ok(chunk
            .par_iter()
            .map(|&segno| (segno, work(&src, segno)))
            .collect())
    };
    let mut done = 0u64;
    job.progress(Phase::Decode, Unit::Bytes, 0, Some(total));
    let chunks: Vec<&[SegNo]> = order.chunks(batch).collect();
    std::thread::scope(|scope| {
        let mut current = chunks.first().map(|c| decode(c));
        for i in 0..chunks.len() {
            job.check()?;
            let outs = current.take().unwrap_or_else(|| Ok(Vec::new()))?;
            let decode = &decode;
            let next = chunks
                .get(i.saturating_add(1))
                .map(|&c| scope.spawn(move || decode(c)));
            for (segno, mut out) in outs {
                if needs_wide(&out) {
                    let wide = open_window(
                        chosen,
                        (segno.0..=segno.0.saturating_add(max_record_segs)).map(SegNo),
                    )?;
                    out = work(&source(ctx, &wide), segno);
                }
                if !each(segno, out)? {
                    return Ok(());
                }
                done = done.saturating_add(seg_bytes);
                job.progress(Phase::Decode, Unit::Bytes, done, Some(total));
            }
            current = next.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        Ok(())
    })
}

/// A sink that also keeps the reader's diagnostics.
pub(super) struct Tap<S> {
    pub(super) inner: S,
    pub(super) diags: Vec<Diag>,
}

impl<S: Sink<Error = std::convert::Infallible>> Sink for Tap<S> {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &walparse::Record<'_>) -> std::result::Result<bool, Self::Error> {
        self.inner.record(r)
    }
    fn diag(&mut self, d: &Diag) -> std::result::Result<bool, Self::Error> {
        self.diags.push(d.clone());
        self.inner.diag(d)
    }
}

/// Runs `sink` over the records starting in segment `segno`.
pub(super) fn run_tap<S: Sink<Error = std::convert::Infallible>>(
    src: &WalSource<'_>,
    segno: SegNo,
    sink: S,
) -> Tap<S> {
    let start = src.segment_start(segno);
    let stop = Lsn(start.0.saturating_add(u64::from(src.ctx().seg_size_bytes)));
    let opts = ReadOptions {
        start: Some(start),
        start_is_record: false,
        stop: Some(stop),
        expect_prev: None,
    };
    let mut tap = Tap {
        inner: sink,
        diags: Vec::new(),
    };
    let Ok(()) = Reader::new(src, opts).run(&mut tap);
    tap
}

/// Runs one walparse sink per WAL segment of `inputs` (a data directory, a
/// WAL directory or segment files; highest timeline, following its history
/// file), decoding segments in parallel batches as the WAL scan does, and
/// hands each sink to `each` in segment order. Damage goes to the job's
/// diagnostics. Returns the stream's format parameters.
///
/// This is the WAL pass of `pg xacts` and `pg rescue` (pgrescue's
/// `XactSink` and `ChangeSink`).
pub fn for_each_segment<S, M, F>(
    inputs: &[PathBuf],
    job: &JobCtx,
    make: M,
    mut each: F,
) -> Result<WalCtx>
where
    S: Sink<Error = std::convert::Infallible> + Send,
    M: Fn() -> S + Sync,
    F: FnMut(SegNo, S),
{
    let opened = open_inputs(inputs, job)?;
    let ctx = opened.ctx;
    let chosen = choose_segments(&opened, None, job)?;
    let order: Vec<SegNo> = chosen.keys().copied().collect();
    drive(
        ctx,
        &chosen,
        &order,
        job,
        |src, segno| run_tap(src, segno, make()),
        |tap| ran_out_of_window(&tap.diags),
        |segno, tap| {
            for d in &tap.diags {
                if let Diag::Damage {
                    lsn,
                    error,
                    resumed_at,
                } = d
                {
                    job.diagnostic(damage(*lsn, error, *resumed_at));
                }
            }
            each(segno, tap.inner);
            Ok(true)
        },
    )?;
    Ok(ctx)
}
