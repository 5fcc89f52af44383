//! The `pg tables` and `pg dump` jobs: tables and rows of a stopped data
//! directory, read from its files alone (no server).
//!
//! [`dump`] writes `COPY ... TO STDOUT` text (as a session with
//! `DateStyle=ISO, TimeZone=UTC, extra_float_digits=1, bytea_output=hex,
//! IntervalStyle=postgres` prints it), `COPY ... (FORMAT csv)`, `INSERT`s
//! or JSON lines with provenance; [`dump_rows`] pushes typed [`DumpRow`]s
//! instead (GUI grid), [`dump_with`] the caller's own batches (Arrow for
//! Python and Parquet). Dead mode gives every deleted or replaced row
//! version found (heap, carving, WAL; `dead`), the same rows in every
//! output.
//! Damaged blocks are diagnostics naming the block; every other row still
//! comes out, and the job ends with [`Error::DamagedRows`].

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use pgdata::DataDir;
use pgdata::catalog::{Catalog, ClassRow, Types, Warning};
use pgdata::table::{ScanMode, TableScan};
use rowcodec::pg::Printer as ValuePrinter;
use serde::Serialize;

use super::catalogs::{databases, open_db, split_table, try_open_db};
use super::{Error, Result, report_warnings};
use crate::job::{JobCtx, Phase, Sink, Throughput, Unit};

mod all;
mod asof;
mod dead;
mod encode;
mod history;
mod keyed;
mod settings;
mod tables;
mod tree;
mod undo;
mod with;

pub use all::{DumpAllRequest, TableDump, TableRef, dump_all};
pub use asof::{AsOf, AsOfSummary, IncompleteRow, dump_as_of};
pub use encode::DumpRow;
use encode::{Col, Encoder, RowCtx};
pub use history::{HistoryRequest, Outcome, RowVersion, Values, history};
pub use keyed::{TableKey, dump_rows_in, table_keys};
pub use tables::{TableInfo, TablesRequest, tables};
pub use with::{DumpColumn, RowBatch, dump_with};

/// Output format of [`dump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// `COPY ... TO STDOUT` text format.
    Copy,
    /// `COPY ... (FORMAT csv)`.
    Csv,
    /// JSON lines with provenance (file, block, lp, xmin, xmax, status).
    Jsonl,
    /// `INSERT` statements.
    Sql,
}

/// What to dump.
#[derive(Debug, Clone)]
pub struct DumpRequest {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// `SCHEMA.TABLE` (schema defaults to `public`).
    pub table: String,
    /// Database (default: the one holding the table, `postgres` first).
    pub db: Option<String>,
    /// Deleted/replaced row versions instead of live rows: dead tuples on
    /// the heap, carved tuples, old images from WAL (see `dead`).
    pub dead: bool,
    /// Only the named table's own rows, as `COPY table` / `SELECT … FROM
    /// ONLY table` read it; otherwise a partitioned or inheritance parent
    /// covers its partitions and children, as `SELECT * FROM parent`.
    pub only: bool,
    /// Worker threads (default: the available parallelism, at most 8).
    pub threads: Option<usize>,
}

/// What a dump read.
#[derive(Debug, Clone, Serialize)]
pub struct DumpSummary {
    /// The database the table was found in.
    pub database: String,
    /// Column names, in attnum order (the order of [`DumpRow::values`]).
    pub columns: Vec<String>,
    /// Rows written or pushed.
    pub n_rows: u64,
    /// Blocks of the table.
    pub n_blocks: u32,
}

/// Blocks per unit of parallel work (2 MB of heap at 8 KB pages).
const BATCH_BLOCKS: u32 = 256;

/// Writes the rows of the requested table to `out` in `format`.
pub fn dump(
    req: &DumpRequest,
    format: DumpFormat,
    job: &JobCtx,
    out: &mut dyn Write,
) -> Result<DumpSummary> {
    tree::run_tree(
        (req, Encoder::Text(format)),
        job,
        &Encoders(job),
        |batch| match batch {
            encode::Batch::Text(s, _) => Ok(out.write_all(s.as_bytes())?),
            encode::Batch::Rows(_) => Ok(()),
        },
    )
}

/// Pushes the rows of the requested table into `sink`, in block order.
pub fn dump_rows<S>(req: &DumpRequest, job: &JobCtx, sink: &mut S) -> Result<DumpSummary>
where
    S: Sink<DumpRow>,
    S::Error: Into<Error>,
{
    rows_into(req, job, &Encoders(job), sink)
}

/// [`dump_rows`] with the workers `make` (which may skip blocks).
fn rows_into<M, S>(req: &DumpRequest, job: &JobCtx, make: &M, sink: &mut S) -> Result<DumpSummary>
where
    M: Workers<Batch = encode::Batch>,
    S: Sink<DumpRow>,
    S::Error: Into<Error>,
{
    let mut more = true;
    tree::run_tree((req, Encoder::Rows), job, make, |batch| {
        if let encode::Batch::Rows(rows) = batch {
            for r in rows {
                if more {
                    more = sink.item(r).map_err(Into::into)?;
                }
            }
        }
        Ok(())
    })
}

/// Makes each worker thread's [`Worker`] over the table's types and row
/// context.
trait Workers: Sync {
    /// One unit's rows.
    type Batch: Send;
    /// The worker.
    type W<'a>: Worker<Batch = Self::Batch>
    where
        Self: 'a;
    /// A worker for one thread.
    fn worker<'a>(&'a self, types: &'a Types, ctx: &'a RowCtx<'a>) -> Self::W<'a>;
    /// Which blocks to scan (by block number in the table); `None`: all.
    fn keep(&self) -> Option<&(dyn Fn(u32) -> bool + Sync)> {
        None
    }
}

/// The workers of the text and typed-row dumps.
struct Encoders<'j>(&'j JobCtx);

impl Workers for Encoders<'_> {
    type Batch = encode::Batch;
    type W<'a>
        = encode::RowEncoder<'a>
    where
        Self: 'a;
    fn worker<'a>(&'a self, types: &'a Types, ctx: &'a RowCtx<'a>) -> encode::RowEncoder<'a> {
        encode::RowEncoder::new(types, ctx, self.0)
    }
}

/// What one worker thread does with the rows it scans (the text and
/// typed-row encoders, or a caller's [`RowBatch`]).
trait Worker {
    /// One unit's rows.
    type Batch: Send;
    /// A batch for the next unit of blocks.
    fn empty_batch(&self) -> Self::Batch;
    /// Adds one row.
    fn push_row(&mut self, row: &pgdata::table::ScanRow<'_>, batch: &mut Self::Batch);
    /// Adds one row version `--dead` found; `false` when this worker
    /// cannot show it (a partial carved row in a format without missing
    /// columns).
    fn push_found(&mut self, found: &dead::Found, batch: &mut Self::Batch) -> bool;
    /// Rows in a batch.
    fn n_rows(batch: &Self::Batch) -> u64;
}

impl Worker for encode::RowEncoder<'_> {
    type Batch = encode::Batch;
    fn empty_batch(&self) -> encode::Batch {
        encode::RowEncoder::empty_batch(self)
    }
    fn push_row(&mut self, row: &pgdata::table::ScanRow<'_>, batch: &mut encode::Batch) {
        encode::RowEncoder::push_row(self, row, batch);
    }
    fn push_found(&mut self, found: &dead::Found, batch: &mut encode::Batch) -> bool {
        encode::RowEncoder::push_found(self, found, batch)
    }
    fn n_rows(batch: &encode::Batch) -> u64 {
        batch.n_rows()
    }
}

/// The catalog holding `schema.name`: of `db` when named, else `postgres`
/// first, then the other databases.
fn find_catalog(
    dir: &DataDir,
    db: Option<&str>,
    schema: &str,
    name: &str,
    job: &JobCtx,
) -> Result<Catalog> {
    let dbs = databases(dir, job, true)?;
    if let Some(n) = db {
        let d = dbs
            .iter()
            .find(|d| d.name == n)
            .ok_or_else(|| Error::DatabaseNotFound(n.to_string()))?;
        return open_db(dir, d);
    }
    let mut order: Vec<_> = dbs.iter().filter(|d| d.name == "postgres").collect();
    order.extend(
        dbs.iter()
            .filter(|d| d.name != "postgres" && d.name != "template0"),
    );
    for d in order {
        if let Some(cat) = try_open_db(dir, d, job)
            && cat.find_table(schema, name).is_some()
        {
            return Ok(cat);
        }
    }
    Err(Error::TableNotFound {
        table: format!("{schema}.{name}"),
    })
}

/// Opens the table of `req`: its catalog and class.
fn open_table(
    req: &DumpRequest,
    job: &JobCtx,
) -> Result<(DataDir, Catalog, ClassRow, (String, String))> {
    let dir = DataDir::open(&req.pgdata)?;
    let (schema, name) = split_table(&req.table);
    let cat = find_catalog(&dir, req.db.as_deref(), &schema, &name, job)?;
    report_warnings(job, &cat.warnings);
    let class = cat
        .find_table(&schema, &name)
        .ok_or_else(|| Error::TableNotInDatabase {
            table: format!("{schema}.{name}"),
            database: cat.db.name.clone(),
        })?
        .clone();
    Ok((dir, cat, class, (schema, name)))
}

fn thread_count(req: &DumpRequest, n_batches: u32) -> usize {
    req.threads
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(std::num::NonZeroUsize::get)
        })
        .unwrap_or(1)
        .clamp(1, 8)
        .min(usize::try_from(n_batches).unwrap_or(1).max(1))
}

/// The dump: workers scan batches of blocks and encode them; `write`
/// receives the batches in block order.
fn run<M: Workers>(
    req: &DumpRequest,
    encoder: Encoder,
    job: &JobCtx,
    make: &M,
    write: impl FnMut(M::Batch) -> Result<()>,
) -> Result<DumpSummary> {
    run_projected(req, None, encoder, job, make, write)
}

/// [`run`] with the table's columns in the order `project` gives (indexes
/// of its non-dropped columns: a child dumped in its parent's columns).
fn run_projected<M: Workers>(
    req: &DumpRequest,
    project: Option<&[usize]>,
    encoder: Encoder,
    job: &JobCtx,
    make: &M,
    write: impl FnMut(M::Batch) -> Result<()>,
) -> Result<DumpSummary> {
    let _span = tracing::info_span!("pg_dump", table = %req.table).entered();
    let open = tracing::info_span!("open").entered();
    let (dir, cat, class, table) = open_table(req, job)?;
    drop(open);
    let opened = (&dir, &cat, &class, table);
    run_opened(req, (opened, project), encoder, job, make, write)
}

/// A table whose catalog is open: the data directory, its catalog, its
/// class and (schema, name).
type Opened<'a> = (&'a DataDir, &'a Catalog, &'a ClassRow, (String, String));

/// [`run`] over a table whose catalog is open, its columns projected.
fn run_opened<M: Workers>(
    req: &DumpRequest,
    ((dir, cat, class, (schema, name)), project): (Opened<'_>, Option<&[usize]>),
    encoder: Encoder,
    job: &JobCtx,
    make: &M,
    mut write: impl FnMut(M::Batch) -> Result<()>,
) -> Result<DumpSummary> {
    let timer = Throughput::start("pg dump");
    let open = tracing::info_span!("open").entered();
    let scan = TableScan::new(cat, class)?;
    report_warnings(job, &scan.warnings);
    let mut cols = columns(&scan, &cat.types);
    if let Some(p) = project {
        cols = p.iter().filter_map(|&i| cols.get(i).cloned()).collect();
    }
    settings::check_money(&req.pgdata, &cols, &cat.types, job);
    let seg_blocks = dir.relseg_size_blocks();
    let n_blocks = scan.n_blocks();
    let paths = segment_paths(&scan, seg_blocks);
    let ctx = RowCtx::new(encoder, (&schema, &name), &cols, seg_blocks, &paths);
    drop(open);
    let _scan_span = tracing::info_span!("scan").entered();
    let (n_rows, warnings) = if req.dead {
        dead::dead_batches(req, (cat, class), &scan, &ctx, job, make, &mut write)?
    } else {
        let scanning = (&scan, project);
        scan_batches(req, scanning, &ctx, &cat.types, job, make, &mut write)?
    };
    job.check()?;
    report_warnings(job, &warnings);
    let bytes = u64::from(n_blocks).saturating_mul(dir.block_size_bytes() as u64);
    timer.finish(n_rows, bytes);
    if let Some(first) = warnings.first() {
        return Err(Error::DamagedRows {
            n: warnings.len(),
            table: format!("{schema}.{name}"),
            first: first.message(),
        });
    }
    Ok(DumpSummary {
        database: cat.db.name.clone(),
        columns: cols.into_iter().map(|c| c.name).collect(),
        n_rows,
        n_blocks,
    })
}

/// The dumped columns, each with a resolved printer when its typmod does
/// not matter.
fn columns(scan: &TableScan<'_>, types: &Types) -> Vec<Col> {
    scan.columns()
        .map(|a| Col {
            name: a.attname.clone(),
            type_oid: a.atttypid,
            typmod: a.atttypmod,
            // The resolved printer ignores the typmod; use it only when there is none.
            printer: (a.atttypmod < 0)
                .then(|| ValuePrinter::new(types, a.atttypid).ok())
                .flatten(),
            generated: a.attgenerated == b's',
        })
        .collect()
}

/// The file of each segment of the table (for row provenance).
fn segment_paths(scan: &TableScan<'_>, seg_blocks: u32) -> Vec<String> {
    (0..scan.n_blocks().div_ceil(seg_blocks.max(1)))
        .map(|s| scan.file_of(pgdata::BlockNo(s.saturating_mul(seg_blocks))))
        .collect()
}

/// One scanned batch: its number, its encoded rows and the scan's warnings.
type Scanned<B> = (u32, B, Vec<Warning>);

/// The batches of [`BATCH_BLOCKS`] blocks the workers take in turn.
struct BatchQueue {
    next: AtomicU32,
    n_batches: u32,
    n_blocks: u32,
}

impl BatchQueue {
    /// Takes the next batch: its number and blocks, or `None` when all are
    /// taken.
    fn claim(&self) -> Option<(u32, Range<u32>)> {
        let b = self.next.fetch_add(1, Ordering::Relaxed);
        if b >= self.n_batches {
            return None;
        }
        let start = b.saturating_mul(BATCH_BLOCKS);
        let end = start.saturating_add(BATCH_BLOCKS).min(self.n_blocks);
        Some((b, start..end))
    }
}

/// Scans the table's batches on worker threads; `write` receives them in
/// block order. Returns the rows written and the scan's warnings.
fn scan_batches<M: Workers>(
    req: &DumpRequest,
    (scan, project): (&TableScan<'_>, Option<&[usize]>),
    ctx: &RowCtx<'_>,
    types: &Types,
    job: &JobCtx,
    make: &M,
    write: &mut impl FnMut(M::Batch) -> Result<()>,
) -> Result<(u64, Vec<Warning>)> {
    let mode = if req.dead {
        ScanMode::Dead
    } else {
        ScanMode::Live
    };
    let n_blocks = scan.n_blocks();
    let n_batches = n_blocks.div_ceil(BATCH_BLOCKS);
    let threads = thread_count(req, n_batches);
    let queue = BatchQueue {
        next: AtomicU32::new(0),
        n_batches,
        n_blocks,
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Scanned<M::Batch>>(threads * 2);
    let keep = make.keep();
    std::thread::scope(|s| -> Result<(u64, Vec<Warning>)> {
        for t in 0..threads {
            let fork = scan.fork()?;
            let tx = tx.clone();
            let queue = &queue;
            let w = Scanning {
                queue,
                mode,
                keep,
                project,
            };
            std::thread::Builder::new()
                .name(format!("datam-dump-{t}"))
                .spawn_scoped(s, move || {
                    scan_worker(fork, make.worker(types, ctx), &w, job, &tx);
                })
                .map_err(Error::Thread)?;
        }
        drop(tx);
        write_in_order::<M::W<'_>>(rx, n_blocks, job, write)
    })
}

/// What the workers share: the batches, the scan mode and the block filter.
struct Scanning<'a> {
    queue: &'a BatchQueue,
    mode: ScanMode,
    keep: Option<&'a (dyn Fn(u32) -> bool + Sync)>,
    /// The columns each row gives, by index (a child in its parent's
    /// columns); `None`: all, in attnum order.
    project: Option<&'a [usize]>,
}

/// `row` with only the columns of `project`, in its order.
fn projected<'r>(
    row: &pgdata::table::ScanRow<'r>,
    project: &[usize],
) -> pgdata::table::ScanRow<'r> {
    let values = project
        .iter()
        .map(|&i| {
            row.values
                .get(i)
                .cloned()
                .unwrap_or(pgdata::table::Value::Null)
        })
        .collect();
    pgdata::table::ScanRow {
        block: row.block,
        lp: row.lp,
        xmin: row.xmin,
        xmax: row.xmax,
        status: row.status,
        values,
    }
}

/// The runs of consecutive blocks of `blocks` that `keep` accepts.
fn kept_runs(blocks: Range<u32>, keep: &dyn Fn(u32) -> bool) -> Vec<Range<u32>> {
    let mut runs: Vec<Range<u32>> = Vec::new();
    for b in blocks.filter(|&b| keep(b)) {
        match runs.last_mut() {
            Some(r) if r.end == b => r.end = b.saturating_add(1),
            _ => runs.push(b..b.saturating_add(1)),
        }
    }
    runs
}

/// One worker: scans and encodes batches until none are left, the job is
/// cancelled or the writer stopped.
fn scan_worker<W: Worker>(
    mut fork: TableScan<'_>,
    mut enc: W,
    w: &Scanning<'_>,
    job: &JobCtx,
    tx: &SyncSender<Scanned<W::Batch>>,
) {
    while let Some((b, blocks)) = w.queue.claim() {
        if job.cancel.is_cancelled() {
            break;
        }
        let mut batch = enc.empty_batch();
        let runs = match w.keep {
            Some(keep) => kept_runs(blocks, keep),
            None => vec![blocks],
        };
        for run in runs {
            fork.scan_blocks(run, w.mode, |row| {
                match w.project {
                    Some(p) => enc.push_row(&projected(row, p), &mut batch),
                    None => enc.push_row(row, &mut batch),
                }
                true
            });
        }
        let w = std::mem::take(&mut fork.warnings);
        if tx.send((b, batch, w)).is_err() {
            break; // the writer stopped
        }
    }
}

/// Writes batches in block order as they complete, reporting progress.
/// Returns the rows written and the scan's warnings.
fn write_in_order<W: Worker>(
    rx: Receiver<Scanned<W::Batch>>,
    n_blocks: u32,
    job: &JobCtx,
    write: &mut impl FnMut(W::Batch) -> Result<()>,
) -> Result<(u64, Vec<Warning>)> {
    let mut pending = BTreeMap::new();
    let mut want = 0u32;
    let mut n_rows = 0u64;
    let mut warnings: Vec<Warning> = Vec::new();
    for (b, batch, w) in rx {
        job.check()?;
        pending.insert(b, (batch, w));
        while let Some((batch, w)) = pending.remove(&want) {
            n_rows = n_rows.saturating_add(W::n_rows(&batch));
            write(batch)?;
            warnings.extend(w);
            want = want.saturating_add(1);
            let done = want.saturating_mul(BATCH_BLOCKS).min(n_blocks);
            job.progress(Phase::Scan, Unit::Pages, done.into(), Some(n_blocks.into()));
        }
    }
    Ok((n_rows, warnings))
}
