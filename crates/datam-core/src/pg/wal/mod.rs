//! The PostgreSQL WAL scan job (`datam pg wal`): decode WAL (13–18) from a
//! data directory, a WAL directory or segment files, filter the records,
//! and push them into a sink as [`WalRecord`]s, or count them into
//! [`WalStats`].
//!
//! Segment choice by timeline is in `inputs`, the parallel decode in
//! [`driver`] (also used by `pg xacts` and `pg rescue` through
//! [`for_each_segment`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use walparse::{
    Diag, PgMajor, ReadOptions, Reader, Record, SegNo, Segment, WalCtx, WalSource, parse_page,
};

use crate::job::{Diagnostic, JobCtx, Sink, Throughput};
use crate::pg::{Error, Result};

pub mod driver;
mod filter;
mod inputs;
mod one;
mod record;
mod stats;

pub use driver::for_each_segment;
use filter::{Filter, Filtered, SegMeta};
pub(crate) use inputs::is_segment_name;
pub use one::{SegmentBytes, scan_one_segment};
pub use record::{WalBlock, WalRecord};
pub use stats::{StatsMode, StatsRow, WalStats};
/// The LSN type of a request's `start` / `end`.
pub use walparse::Lsn;

/// What to scan and which records to keep.
#[derive(Debug, Clone, Default)]
pub struct WalScanRequest {
    /// A data directory, a WAL directory, or WAL segment files (and timeline
    /// history files).
    pub inputs: Vec<PathBuf>,
    /// First record LSN to keep.
    pub start: Option<Lsn>,
    /// Keep records starting before this LSN.
    pub end: Option<Lsn>,
    /// Timeline to read (default: the highest present).
    pub timeline: Option<u32>,
    /// Only records of this transaction id.
    pub xid: Option<u32>,
    /// Only records of this resource manager (pg_waldump name).
    pub rmgr: Option<String>,
    /// Only records referencing a block of this relfilenode.
    pub relfilenode: Option<u32>,
    /// Only records referencing a block of this table (`SCHEMA.TABLE`),
    /// resolved through the catalog of the first input (a data directory).
    pub relation: Option<String>,
    /// Database of `relation` (default: the only database that has it).
    pub database: Option<String>,
    /// Also decode older records still held by recycled segments.
    pub include_recycled: bool,
    /// Count records instead of pushing them.
    pub stats: Option<StatsMode>,
}

/// What a scan found besides its records.
#[derive(Debug, Clone)]
pub struct WalScanSummary {
    /// The stream's format parameters.
    pub ctx: WalCtx,
    /// Records kept (pushed or counted).
    pub n_records: u64,
    /// The statistics, when the request asked for them.
    pub stats: Option<WalStats>,
}

/// Output format of [`WalWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFormat {
    /// One line per record, like pg_waldump.
    Text,
    /// One JSON object per record.
    Jsonl,
}

/// A sink writing records as text lines or JSON lines.
pub struct WalWriter<'w> {
    out: &'w mut dyn Write,
    format: WalFormat,
}

impl<'w> WalWriter<'w> {
    /// Writes records to `out` in `format`.
    pub fn new(out: &'w mut dyn Write, format: WalFormat) -> Self {
        Self { out, format }
    }
}

impl Sink<WalRecord> for WalWriter<'_> {
    type Error = std::io::Error;
    fn item(&mut self, r: WalRecord) -> std::io::Result<bool> {
        match self.format {
            WalFormat::Text => self.out.write_all(r.waldump_line().as_bytes())?,
            WalFormat::Jsonl => serde_json::to_writer(&mut *self.out, &r)?,
        }
        self.out.write_all(b"\n")?;
        Ok(true)
    }
}

/// The sink of one worker under [`Filtered`]: turns the kept records into
/// [`WalRecord`]s or counts them.
struct Collect {
    major: PgMajor,
    stats: Option<StatsMode>,
    recycled: bool,
    records: Vec<WalRecord>,
    counted: WalStats,
}

impl Collect {
    fn new(major: PgMajor, req: &WalScanRequest) -> Self {
        Self {
            major,
            stats: req.stats,
            recycled: false,
            records: Vec::new(),
            counted: WalStats::default(),
        }
    }
}

impl walparse::Sink for Collect {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> std::result::Result<bool, Self::Error> {
        match self.stats {
            Some(m) => self.counted.add(r, m),
            None => self
                .records
                .push(WalRecord::new(self.major, r, self.recycled)),
        }
        Ok(true)
    }
}

/// Decodes the records starting in `segno` (from `req.start` when it lies
/// there, up to `req.end`).
fn decode_segment<'f, S: walparse::Sink<Error = std::convert::Infallible>>(
    src: &WalSource<'_>,
    segno: SegNo,
    req: &WalScanRequest,
    mut sink: Filtered<'f, S>,
) -> Filtered<'f, S> {
    let seg_start = src.segment_start(segno);
    let next = Lsn(seg_start
        .0
        .saturating_add(u64::from(src.ctx().seg_size_bytes)));
    let (start, is_record) = match req.start {
        Some(s) if src.segno_of(s) == segno => (s, true),
        _ => (seg_start, false),
    };
    let stop = match req.end {
        Some(e) if e < next => e,
        _ => next,
    };
    let opts = ReadOptions {
        start: Some(start),
        start_is_record: is_record,
        stop: Some(stop),
        expect_prev: None,
    };
    let Ok(()) = Reader::new(src, opts).run(&mut sink);
    sink
}

/// Joins segment results in order: reports damage, the end of valid WAL
/// and broken prev-links between segments.
struct Stitch {
    prev_last: Option<(SegNo, Lsn)>,
    pending_stop: Option<(Lsn, walparse::Error)>,
    start: Option<Lsn>,
}

impl Stitch {
    fn segment(&mut self, segno: SegNo, o: &SegMeta, job: &JobCtx) {
        if let Some((first, prev)) = o.first {
            if let Some((stop_lsn, e)) = self.pending_stop.take() {
                job.diagnostic(driver::damage(stop_lsn, &e, first));
            } else if let Some((pseg, plast)) = self.prev_last
                && pseg.0.checked_add(1) == Some(segno.0)
                && prev != plast
                && self.start.is_none_or(|s| first > s)
            {
                job.diagnostic(Diagnostic::warning(
                    "broken-prev-link",
                    format!("record at {first} has prev-link {prev}, previous record is {plast}"),
                ));
            }
        }
        for d in &o.diags {
            match d {
                Diag::Damage {
                    lsn,
                    error,
                    resumed_at,
                } => job.diagnostic(driver::damage(*lsn, error, *resumed_at)),
                Diag::Stopped {
                    lsn,
                    error: Some(e),
                } => self.pending_stop = Some((*lsn, e.clone())),
                Diag::Stopped { .. } => {}
            }
        }
        if let Some(l) = o.last {
            self.prev_last = Some((segno, l));
        }
    }

    fn finish(self, job: &JobCtx) {
        if let Some((lsn, e)) = self.pending_stop {
            job.diagnostic(Diagnostic::note(
                "wal-end",
                format!("end of valid WAL at {lsn}: {e}"),
            ));
        }
    }
}

/// Pushes `records` into `sink`; `false` once the sink wants no more.
fn push_all<S>(sink: &mut S, records: Vec<WalRecord>) -> Result<bool>
where
    S: Sink<WalRecord>,
    S::Error: Into<Error>,
{
    for r in records {
        if !sink.item(r).map_err(Into::into)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Opened inputs, the segments chosen (by timeline) and their order within
/// the request's LSN range.
struct Plan<'i> {
    ctx: WalCtx,
    chosen: inputs::Chosen<'i>,
    order: Vec<SegNo>,
}

impl<'i> Plan<'i> {
    fn new(opened: &'i inputs::Inputs, req: &WalScanRequest, job: &JobCtx) -> Result<Self> {
        let ctx = opened.ctx;
        let chosen = inputs::choose_segments(opened, req.timeline, job)?;
        let seg_bytes = u64::from(ctx.seg_size_bytes);
        let mut order: Vec<SegNo> = chosen.keys().copied().collect();
        if let Some(s) = req.start {
            order.retain(|n| n.0 >= s.0 / seg_bytes);
        }
        if let Some(e) = req.end {
            order.retain(|n| n.0 <= e.0 / seg_bytes);
        }
        Ok(Self { ctx, chosen, order })
    }

    /// Decodes the planned segments in parallel, each into a fresh `make()`
    /// under the filter; `each` gets the sinks in segment order (`false`:
    /// stop). Damage, broken prev-links and the end of valid WAL go to the
    /// job's diagnostics.
    fn drive<S, M, F>(
        &self,
        req: &WalScanRequest,
        filter: &Filter,
        job: &JobCtx,
        make: M,
        mut each: F,
    ) -> Result<()>
    where
        S: walparse::Sink<Error = std::convert::Infallible> + Send,
        M: Fn() -> S + Sync,
        F: FnMut(SegNo, S) -> Result<bool>,
    {
        let mut stitch = Stitch {
            prev_last: None,
            pending_stop: None,
            start: req.start,
        };
        driver::drive(
            self.ctx,
            &self.chosen,
            &self.order,
            job,
            |src, segno| decode_segment(src, segno, req, Filtered::new(filter, job, make())),
            |o| driver::ran_out_of_window(&o.meta.diags),
            |segno, o| {
                stitch.segment(segno, &o.meta, job);
                each(segno, o.inner)
            },
        )?;
        stitch.finish(job);
        Ok(())
    }
}

/// Runs the WAL scan: records kept by the request's filters go into `sink`
/// in LSN order (recycled ones after the others), or are counted into the
/// summary's statistics when `req.stats` is set.
pub fn scan<S>(req: &WalScanRequest, job: &JobCtx, sink: &mut S) -> Result<WalScanSummary>
where
    S: Sink<WalRecord>,
    S::Error: Into<Error>,
{
    let _span = tracing::info_span!("pg_wal").entered();
    let timer = Throughput::start("pg wal");
    let open = tracing::info_span!("open").entered();
    let opened = inputs::open_inputs(&req.inputs, job)?;
    let filter = Filter::new(req, job)?;
    let plan = Plan::new(&opened, req, job)?;
    let ctx = plan.ctx;
    drop(open);
    let decode = tracing::info_span!("decode").entered();
    let mut stats = WalStats::default();
    let mut n_records = 0u64;
    let mut more = true;
    plan.drive(
        req,
        &filter,
        job,
        || Collect::new(ctx.major, req),
        |segno, mut o| {
            if plan.chosen.get(&segno).is_some_and(|p| p.file.partial) {
                for r in &mut o.records {
                    r.partial_segment = true;
                }
            }
            n_records = n_records.saturating_add(o.records.len() as u64);
            stats.merge(o.counted);
            more = push_all(sink, o.records)?;
            Ok(more)
        },
    )?;
    drop(decode);
    job.check()?;
    if req.include_recycled && more {
        let _recycled = tracing::info_span!("recycled").entered();
        n_records = n_records.saturating_add(decode_recycled(
            &ctx,
            &plan.chosen,
            req,
            &filter,
            job,
            sink,
            &mut stats,
        )?);
    }
    if req.stats.is_some() {
        n_records = stats.by_key.values().map(|v| v.n_records).sum();
    }
    let seg_bytes = u64::from(ctx.seg_size_bytes);
    timer.finish(n_records, seg_bytes.saturating_mul(plan.order.len() as u64));
    Ok(WalScanSummary {
        ctx,
        n_records,
        stats: req.stats.map(|_| stats),
    })
}

/// The WAL scan with the caller's own walparse sink: the request's inputs,
/// timeline choice and filters as [`scan`] (recycled segments and
/// statistics aside), decoding segments in parallel; each segment's
/// records that the filters keep go to a fresh `make(ctx)` sink, handed to
/// `each` in segment order (`Ok(false)` stops the scan). This is how the
/// Arrow batchers (Python binding, `--format parquet`) read WAL without a
/// [`WalRecord`] in between. Returns the stream's format parameters.
pub fn scan_segments<S, M, F>(
    req: &WalScanRequest,
    job: &JobCtx,
    make: M,
    each: F,
) -> Result<WalCtx>
where
    S: walparse::Sink<Error = std::convert::Infallible> + Send,
    M: Fn(&WalCtx) -> S + Sync,
    F: FnMut(SegNo, S) -> Result<bool>,
{
    let _span = tracing::info_span!("pg_wal_segments").entered();
    let opened = inputs::open_inputs(&req.inputs, job)?;
    let filter = Filter::new(req, job)?;
    let plan = Plan::new(&opened, req, job)?;
    let ctx = plan.ctx;
    plan.drive(req, &filter, job, || make(&ctx), each)?;
    job.check()?;
    Ok(ctx)
}

/// Decodes pages of recycled segments: runs of pages whose address is older
/// than the file's own position, read at their old LSNs.
fn decode_recycled<S>(
    ctx: &WalCtx,
    chosen: &inputs::Chosen<'_>,
    req: &WalScanRequest,
    filter: &Filter,
    job: &JobCtx,
    sink: &mut S,
    stats: &mut WalStats,
) -> Result<u64>
where
    S: Sink<WalRecord>,
    S::Error: Into<Error>,
{
    let mut n = 0u64;
    for (segno, pick) in chosen {
        job.check()?;
        let ev = evidence::Evidence::open(&pick.file.path)?;
        let bytes = ev.bytes();
        for (old, first_page) in recycled_runs(ctx, *segno, bytes) {
            let src = WalSource::new(
                *ctx,
                vec![Segment {
                    segno: SegNo(old),
                    bytes,
                }],
            );
            let opts = ReadOptions {
                start: Some(first_page),
                start_is_record: false,
                stop: None,
                expect_prev: None,
            };
            let mut collect = Collect::new(ctx.major, req);
            collect.recycled = true;
            let mut c = Filtered::new(filter, job, collect);
            let Ok(()) = Reader::new(&src, opts).run(&mut c);
            let c = c.inner;
            n = n.saturating_add(c.records.len() as u64);
            stats.merge(c.counted);
            if !push_all(sink, c.records)? {
                return Ok(n);
            }
        }
    }
    Ok(n)
}

/// Old segment number → first page (LSN) of it in the file of `segno`.
fn recycled_runs(ctx: &WalCtx, segno: SegNo, bytes: &[u8]) -> BTreeMap<u64, Lsn> {
    let blk = ctx.block_size_bytes as usize;
    let seg = u64::from(ctx.seg_size_bytes);
    let base = segno.0.saturating_mul(seg);
    let mut runs: BTreeMap<u64, Lsn> = BTreeMap::new();
    for (k, page) in bytes.chunks(blk).enumerate() {
        let at = (k * blk) as u64;
        let expect = base.saturating_add(at);
        if let Ok(p) = parse_page(ctx, page, None)
            && p.lsn.0 < expect
            && p.lsn.0 % seg == at
        {
            runs.entry(p.lsn.0 / seg).or_insert(p.lsn);
        }
    }
    runs
}
