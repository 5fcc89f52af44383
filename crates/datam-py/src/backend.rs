//! The one module that drives DataM's jobs for the binding.
//!
//! **Below datam-core (to be replaced by its entry points):** this file
//! calls `sqlite_pages::db::Db::salvage`, `walparse::{Reader, WalSource}`,
//! `pgdata::{DataDir, catalog, table::TableScan}`, `evidence::Evidence` and
//! `datam::inspect::inspect_path` directly, because datam-core does not yet
//! provide salvage / wal / tables / dump / inspect jobs. Every other module
//! of this crate sees only [`Out`], [`JobError`] and the functions here, so
//! switching to datam-core changes this file alone.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datam_arrow::pg::{ColumnSpec, DumpBatcher, TableRow};
use datam_arrow::sqlite::{Provenance, SqliteBatcher};
use datam_arrow::wal::WalBatcher;
use datam_core::job::{Cancelled, Diagnostic, JobCtx};
use rayon::prelude::*;
use walparse::{
    Diag, FileOffset, Lsn, ReadOptions, Reader, Record, SegNo, Segment, WalCtx, WalSource,
};

/// Rows per batch handed to pyarrow.
const BATCH_ROWS: usize = 65_536;

/// A job's output: a schema and its batches in order.
#[derive(Debug)]
pub struct Out {
    /// Schema of every batch.
    pub schema: SchemaRef,
    /// The batches.
    pub batches: Vec<RecordBatch>,
}

/// Why a job failed (raised in Python as `datam.DatamError` with these
/// fields).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// An input could not be opened or read.
    #[error("cannot read {path}: {message}")]
    Open {
        /// The input.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The input is not what the job reads.
    #[error("{path}: {message}")]
    BadInput {
        /// The input.
        path: String,
        /// What is wrong, with its position when known.
        message: String,
        /// The position (byte offset, LSN), when known.
        position: Option<String>,
    },
    /// Something asked for does not exist (a table, a database).
    #[error("not found: {what}")]
    NotFound {
        /// What.
        what: String,
    },
    /// Building Arrow batches failed.
    #[error(transparent)]
    Arrow(#[from] datam_arrow::Error),
    /// The job was interrupted.
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

impl JobError {
    /// A stable code for matching in Python.
    pub fn code(&self) -> &'static str {
        match self {
            JobError::Open { .. } => "open",
            JobError::BadInput { .. } => "bad-input",
            JobError::NotFound { .. } => "not-found",
            JobError::Arrow(_) => "arrow",
            JobError::Cancelled(_) => "cancelled",
        }
    }
    /// The file concerned.
    pub fn file(&self) -> Option<&str> {
        match self {
            JobError::Open { path, .. } | JobError::BadInput { path, .. } => Some(path),
            _ => None,
        }
    }
    /// The position concerned.
    pub fn position(&self) -> Option<&str> {
        match self {
            JobError::BadInput { position, .. } => position.as_deref(),
            _ => None,
        }
    }
}

fn open(path: &Path) -> Result<evidence::Evidence, JobError> {
    evidence::Evidence::open(path).map_err(|e| JobError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn pg_err(path: &Path, e: impl std::fmt::Display) -> JobError {
    JobError::BadInput {
        path: path.display().to_string(),
        message: e.to_string(),
        position: None,
    }
}

/// `datam.inspect(path)`: the JSON object `datam inspect --format json` prints.
pub fn inspect_json(path: &Path) -> Result<String, JobError> {
    let r = datam_core::inspect::inspect_path(path).map_err(|e| JobError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let v = r.to_json(path);
    Ok(v.to_string())
}

/// Options of [`sqlite_salvage`].
#[derive(Debug, Clone, Default)]
pub struct SalvageReq {
    /// The database file.
    pub path: PathBuf,
    /// Only these tables (empty: all).
    pub tables: Vec<String>,
    /// Carve deleted rows.
    pub deleted: bool,
    /// Read `-wal` / `-journal` beside the database.
    pub wal: bool,
    /// As `wal`, for the rollback journal.
    pub journal: bool,
}

/// Name of the output for rows no schema matched.
pub const UNATTRIBUTED: &str = "datam_unattributed";

struct SalvageSink<'c> {
    ctx: &'c JobCtx,
    file: String,
    by_table: BTreeMap<Option<usize>, (SqliteBatcher, Vec<RecordBatch>)>,
    error: Option<datam_arrow::Error>,
}

impl sqlite_pages::db::Sink for SalvageSink<'_> {
    type Error = Cancelled;
    fn row(
        &mut self,
        db: &sqlite_pages::db::Db<'_>,
        row: &sqlite_pages::scan::RecoveredRow,
    ) -> Result<bool, Cancelled> {
        self.ctx.check()?;
        let table = row.table.and_then(|t| db.tables.get(t));
        let (b, done) = self.by_table.entry(row.table).or_insert_with(|| {
            let cols: Vec<String> = table
                .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            (SqliteBatcher::new(&cols), Vec::new())
        });
        let file = &self.file;
        row.with_ref(|r| {
            let p = Provenance::of_row(table.map(|t| t.name.as_str()), file, r);
            b.push(&p, r.values, r.enc);
        });
        if b.len() >= BATCH_ROWS {
            match b.finish() {
                Ok(batch) => done.push(batch),
                Err(e) => {
                    self.error = Some(e);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// `datam.sqlite.salvage`: one [`Out`] per table (name → rows), as
/// `datam sqlite salvage --format jsonl` lists them.
pub fn sqlite_salvage(ctx: &JobCtx, req: &SalvageReq) -> Result<Vec<(String, Out)>, JobError> {
    let ev = open(&req.path)?;
    let db = sqlite_pages::db::Db::open(ev.bytes());
    let label = req.path.display().to_string();
    for d in &db.diags {
        let mut diag = Diagnostic::warning("sqlite-damage", d.to_string()).in_file(&label);
        if let Some(p) = d.page_no {
            diag = diag.at(format!("page {p}"));
        }
        ctx.diagnostic(diag);
    }
    for (on, suffix) in [(req.wal, "-wal"), (req.journal, "-journal")] {
        let side = PathBuf::from(format!("{label}{suffix}"));
        if on && side.exists() {
            ctx.diagnostic(
                Diagnostic::warning(
                    "side-file-not-read",
                    format!(
                        "{} is not read by the Python binding yet (its rows need the history job of datam-core); `datam sqlite salvage` reads it",
                        side.display()
                    ),
                )
                .in_file(side.display().to_string()),
            );
        }
    }
    let opts = sqlite_pages::db::SalvageOptions {
        no_deleted: !req.deleted,
        tables: req.tables.clone(),
    };
    let mut sink = SalvageSink {
        ctx,
        file: label,
        by_table: BTreeMap::new(),
        error: None,
    };
    db.salvage(&opts, &mut sink)?;
    if let Some(e) = sink.error {
        return Err(e.into());
    }
    let mut out = Vec::new();
    for (t, (mut b, mut batches)) in sink.by_table {
        if !b.is_empty() {
            batches.push(b.finish()?);
        }
        let name = t
            .and_then(|t| db.tables.get(t))
            .map_or_else(|| UNATTRIBUTED.to_string(), |t| t.name.clone());
        out.push((
            name,
            Out {
                schema: b.schema(),
                batches,
            },
        ));
    }
    Ok(out)
}

/// Filters of [`pg_wal`] (as `datam pg wal`'s options).
#[derive(Debug, Clone, Default)]
pub struct WalFilter {
    /// Records at or after this LSN.
    pub start: Option<Lsn>,
    /// Records before this LSN.
    pub end: Option<Lsn>,
    /// Records of this transaction.
    pub xid: Option<u32>,
    /// Records touching this relfilenode (any database).
    pub relfilenode: Option<u32>,
}

impl WalFilter {
    fn keep(&self, r: &Record<'_>) -> bool {
        self.start.is_none_or(|s| r.lsn >= s)
            && self.end.is_none_or(|e| r.lsn < e)
            && self.xid.is_none_or(|x| r.xid() == x)
            && self
                .relfilenode
                .is_none_or(|n| r.blocks.iter().any(|b| b.locator.rel_number == n))
    }
}

/// Collects one segment's records (those that start in it) into batches.
struct SegSink<'f> {
    filter: &'f WalFilter,
    batcher: WalBatcher,
    batches: Vec<RecordBatch>,
    diags: Vec<Diagnostic>,
    error: Option<datam_arrow::Error>,
}

impl walparse::Sink for SegSink<'_> {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        if self.filter.keep(r) {
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
        }
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        if let Diag::Damage {
            lsn,
            error,
            resumed_at,
        } = d
        {
            self.diags.push(
                Diagnostic::warning(
                    "wal-damage",
                    format!("damage at {lsn}: {error}; resumed at {resumed_at}"),
                )
                .at(lsn.to_string()),
            );
        }
        Ok(true)
    }
}

/// Decodes the records that start in segment `segno` of `src` (reading
/// their continuations from the following segments it holds).
fn decode_segment(
    src: &WalSource<'_>,
    segno: SegNo,
    filter: &WalFilter,
) -> Result<(Vec<RecordBatch>, Vec<Diagnostic>), JobError> {
    let start = src.segment_start(segno);
    let stop = Lsn(start.0.saturating_add(u64::from(src.ctx().seg_size_bytes)));
    let opts = ReadOptions {
        start: Some(start),
        start_is_record: false,
        stop: Some(stop),
        expect_prev: None,
    };
    let mut sink = SegSink {
        filter,
        batcher: WalBatcher::new(src.ctx().major),
        batches: Vec::new(),
        diags: Vec::new(),
        error: None,
    };
    let Ok(()) = Reader::new(src, opts).run(&mut sink);
    if let Some(e) = sink.error {
        return Err(e.into());
    }
    if !sink.batcher.is_empty() {
        sink.batches.push(sink.batcher.finish()?);
    }
    Ok((sink.batches, sink.diags))
}

fn is_segment_name(name: &str) -> bool {
    name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The segment files of `inputs` (a data directory, a WAL directory or
/// segment files) by segment number, the highest timeline of each.
/// Segment files by segment number: (timeline, path).
type SegFiles = BTreeMap<u64, (u32, PathBuf)>;

fn list_segments(inputs: &[PathBuf]) -> Result<(WalCtx, SegFiles), JobError> {
    let mut files = Vec::new();
    for p in inputs {
        let dir = if p.join("PG_VERSION").is_file() {
            p.join("pg_wal")
        } else {
            p.clone()
        };
        if dir.is_dir() {
            let rd = std::fs::read_dir(&dir).map_err(|e| JobError::Open {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
            for e in rd.flatten() {
                let path = e.path();
                if path.is_file()
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(is_segment_name)
                {
                    files.push(path);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let Some(first) = files.first() else {
        return Err(JobError::NotFound {
            what: "no WAL segment among the inputs".into(),
        });
    };
    let ev = open(first)?;
    let ctx = WalCtx::from_long_header(ev.bytes(), FileOffset(0)).map_err(|e| pg_err(first, e))?;
    drop(ev);
    let mut by_seg = SegFiles::new();
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let (tli, seg) = match walparse::parse_segment_file_name(name, ctx.seg_size_bytes) {
            Some((tli, seg)) => (tli.0, seg.0),
            // Without a segment name, the first page says which segment it is.
            None => {
                let ev = open(&f)?;
                let page =
                    walparse::parse_page(&ctx, ev.bytes(), None).map_err(|e| pg_err(&f, e))?;
                (
                    page.tli().0,
                    page.lsn.0 / u64::from(ctx.seg_size_bytes).max(1),
                )
            }
        };
        if by_seg.get(&seg).is_none_or(|(t, _)| *t < tli) {
            by_seg.insert(seg, (tli, f));
        }
    }
    Ok((ctx, by_seg))
}

/// `datam.pg.wal`: every record of `inputs`, in LSN order, as
/// `datam pg wal --format jsonl` lists them.
pub fn pg_wal(ctx: &JobCtx, inputs: &[PathBuf], filter: &WalFilter) -> Result<Out, JobError> {
    let (wctx, segs) = list_segments(inputs)?;
    let mut evs = Vec::with_capacity(segs.len());
    for (seg, (_, path)) in &segs {
        evs.push((SegNo(*seg), open(path)?));
    }
    let src = WalSource::new(
        wctx,
        evs.iter()
            .map(|(s, ev)| Segment {
                segno: *s,
                bytes: ev.bytes(),
            })
            .collect(),
    );
    let order: Vec<SegNo> = evs.iter().map(|(s, _)| *s).collect();
    let mut batches = Vec::new();
    // Segments in parallel, a few at a time, so a cancel is seen quickly.
    for chunk in order.chunks(rayon::current_num_threads().max(1) * 2) {
        ctx.check()?;
        let outs: Vec<_> = chunk
            .par_iter()
            .map(|s| decode_segment(&src, *s, filter))
            .collect();
        for o in outs {
            let (b, d) = o?;
            batches.extend(b);
            for d in d {
                ctx.diagnostic(d);
            }
        }
    }
    Ok(Out {
        schema: datam_arrow::wal::schema(),
        batches,
    })
}

/// One segment handed to [`scan_segment`]: its bytes and, when known, its
/// file name (which gives its timeline and number).
#[derive(Debug)]
pub enum SegBytes {
    /// A file to map.
    Path(PathBuf),
    /// Bytes from Python (e.g. read from an object store), with the
    /// segment's file name when known.
    Bytes(Vec<u8>, Option<String>),
}

enum Held {
    Mapped(evidence::Evidence),
    Owned(Vec<u8>),
}

impl Held {
    fn bytes(&self) -> &[u8] {
        match self {
            Held::Mapped(e) => e.bytes(),
            Held::Owned(v) => v,
        }
    }
}

/// The bytes, a label for messages, and the file name when known.
fn hold(s: SegBytes) -> Result<(Held, String, Option<String>), JobError> {
    Ok(match s {
        SegBytes::Path(p) => {
            let name = p.file_name().and_then(|n| n.to_str()).map(str::to_string);
            (Held::Mapped(open(&p)?), p.display().to_string(), name)
        }
        SegBytes::Bytes(b, name) => (
            Held::Owned(b),
            name.clone().unwrap_or_else(|| "<bytes>".to_string()),
            name,
        ),
    })
}

/// The segment number: from the file name when it is a segment name (a
/// recycled segment's pages still carry their old addresses), else from the
/// first page.
fn segno_of(
    label: &str,
    name: Option<&str>,
    ctx: &WalCtx,
    bytes: &[u8],
) -> Result<SegNo, JobError> {
    if let Some((_, s)) =
        name.and_then(|n| walparse::parse_segment_file_name(n, ctx.seg_size_bytes))
    {
        return Ok(s);
    }
    let page = walparse::parse_page(ctx, bytes, None).map_err(|e| JobError::BadInput {
        path: label.to_string(),
        message: e.to_string(),
        position: Some("0".into()),
    })?;
    Ok(SegNo(page.lsn.0 / u64::from(ctx.seg_size_bytes).max(1)))
}

/// `datam.pg.scan_segment`: the records that **start** in `seg`, reading
/// continuations from `next` (the following segment). Over an archive, the
/// union of every segment's output is one sequential scan.
pub fn scan_segment(ctx: &JobCtx, seg: SegBytes, next: Option<SegBytes>) -> Result<Out, JobError> {
    let (held, label, name) = hold(seg)?;
    let wctx =
        WalCtx::from_long_header(held.bytes(), FileOffset(0)).map_err(|e| JobError::BadInput {
            path: label.clone(),
            message: e.to_string(),
            position: Some("0".into()),
        })?;
    let segno = segno_of(&label, name.as_deref(), &wctx, held.bytes())?;
    let mut segments = vec![Segment {
        segno,
        bytes: held.bytes(),
    }];
    let next = next.map(hold).transpose()?;
    if let Some((n, nlabel, nname)) = &next {
        match segno_of(nlabel, nname.as_deref(), &wctx, n.bytes()) {
            Ok(s) if s.0 == segno.0.saturating_add(1) => segments.push(Segment {
                segno: s,
                bytes: n.bytes(),
            }),
            Ok(s) => ctx.diagnostic(
                Diagnostic::warning(
                    "next-segment-mismatch",
                    format!(
                        "next segment is segment {} of the WAL, not {}; ignored",
                        s.0,
                        segno.0.saturating_add(1)
                    ),
                )
                .in_file(nlabel.clone()),
            ),
            // A damaged first page: continuations are read from what is there.
            Err(_) => segments.push(Segment {
                segno: SegNo(segno.0.saturating_add(1)),
                bytes: n.bytes(),
            }),
        }
    }
    let src = WalSource::new(wctx, segments);
    let (batches, diags) = decode_segment(&src, segno, &WalFilter::default())?;
    for d in diags {
        ctx.diagnostic(d.in_file(label.clone()));
    }
    Ok(Out {
        schema: datam_arrow::wal::schema(),
        batches,
    })
}

fn is_user_schema(name: &str) -> bool {
    !(name == "pg_catalog"
        || name == "information_schema"
        || name.starts_with("pg_toast")
        || name.starts_with("pg_temp"))
}

fn report_pg_warnings(ctx: &JobCtx, ws: &[pgdata::catalog::Warning]) {
    for w in ws {
        ctx.diagnostic(Diagnostic::warning("pg-damage", w.message()).in_file(w.what()));
    }
}

/// `datam.pg.tables`: the tables of a data directory, as `datam pg tables`.
pub fn pg_tables(ctx: &JobCtx, pgdata: &Path, db: Option<&str>) -> Result<Out, JobError> {
    let dir = pgdata::DataDir::open(pgdata).map_err(|e| pg_err(pgdata, e))?;
    let mut warnings = Vec::new();
    let dbs = pgdata::catalog::databases(&dir, &mut warnings).map_err(|e| pg_err(pgdata, e))?;
    report_pg_warnings(ctx, &warnings);
    let selected: Vec<_> = dbs
        .into_iter()
        .filter(|d| match db {
            Some(n) => d.name == n,
            None => d.name != "template0" && d.name != "template1",
        })
        .collect();
    let mut rows = Vec::new();
    for d in selected {
        ctx.check()?;
        let name = d.name.clone();
        let cat = pgdata::catalog::Catalog::open(&dir, d).map_err(|e| pg_err(pgdata, e))?;
        report_pg_warnings(ctx, &cat.warnings);
        let mut tables: Vec<_> = cat
            .classes
            .iter()
            .filter(|c| matches!(c.relkind, b'r' | b'm'))
            .filter_map(|c| Some((cat.namespaces.get(&c.relnamespace)?.clone(), c)))
            .filter(|(s, _)| is_user_schema(s))
            .collect();
        tables.sort_by(|a, b| (&a.0, &a.1.relname).cmp(&(&b.0, &b.1.relname)));
        for (schema, c) in tables {
            let mut scan = pgdata::table::TableScan::new(&cat, c).map_err(|e| pg_err(pgdata, e))?;
            let (mut live, mut dead) = (0u64, 0u64);
            scan.scan(pgdata::table::ScanMode::Live, |_| {
                live += 1;
                true
            });
            scan.scan(pgdata::table::ScanMode::Dead, |_| {
                dead += 1;
                true
            });
            report_pg_warnings(ctx, &scan.warnings);
            rows.push(TableRow {
                db: name.clone(),
                schema,
                table: c.relname.clone(),
                oid: c.oid,
                relfilenode: cat
                    .locator(c)
                    .map(|l| l.rel_number)
                    .unwrap_or(c.relfilenode),
                pages: scan.n_blocks(),
                live_tuples: live,
                dead_tuples: dead,
                toast_table: cat
                    .class(c.reltoastrelid)
                    .map(|t| format!("pg_toast.{}", t.relname)),
            });
        }
    }
    let batch = datam_arrow::pg::tables_batch(&rows)?;
    Ok(Out {
        schema: batch.schema(),
        batches: vec![batch],
    })
}

/// `datam.pg.dump`: the rows of `schema.table` (live, or `dead`), typed.
pub fn pg_dump(
    ctx: &JobCtx,
    pgdata: &Path,
    table: &str,
    dead: bool,
    db: Option<&str>,
) -> Result<Out, JobError> {
    let dir = pgdata::DataDir::open(pgdata).map_err(|e| pg_err(pgdata, e))?;
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let mut warnings = Vec::new();
    let dbs = pgdata::catalog::databases(&dir, &mut warnings).map_err(|e| pg_err(pgdata, e))?;
    report_pg_warnings(ctx, &warnings);
    // postgres first, then the others (as the CLI).
    let mut order: Vec<_> = dbs
        .into_iter()
        .filter(|d| db.is_none_or(|n| d.name == n) && d.name != "template0")
        .collect();
    order.sort_by_key(|d| d.name != "postgres");
    let cat = order
        .into_iter()
        .filter_map(|d| pgdata::catalog::Catalog::open(&dir, d).ok())
        .find(|c| c.find_table(schema, name).is_some())
        .ok_or_else(|| JobError::NotFound {
            what: format!("table {schema}.{name}"),
        })?;
    report_pg_warnings(ctx, &cat.warnings);
    let class = cat
        .find_table(schema, name)
        .ok_or_else(|| JobError::NotFound {
            what: format!("table {schema}.{name}"),
        })?
        .clone();
    let mut scan = pgdata::table::TableScan::new(&cat, &class).map_err(|e| pg_err(pgdata, e))?;
    let cols: Vec<ColumnSpec> = scan
        .columns()
        .map(|a| ColumnSpec {
            name: a.attname.clone(),
            type_oid: a.atttypid,
            typmod: a.atttypmod,
        })
        .collect();
    let mut b = DumpBatcher::new(&cat.types, &cols);
    let schema_ref = b.schema();
    let mode = if dead {
        pgdata::table::ScanMode::Dead
    } else {
        pgdata::table::ScanMode::Live
    };
    let seg_blocks = dir.relseg_size_blocks().max(1);
    let mut files: HashMap<u32, String> = HashMap::new();
    let mut batches = Vec::new();
    let mut failed = None;
    let n_blocks = scan.n_blocks();
    let step = 1024u32;
    let mut at = 0u32;
    while at < n_blocks {
        ctx.check()?;
        let end = at.saturating_add(step).min(n_blocks);
        let mut fork = scan.fork().map_err(|e| pg_err(pgdata, e))?;
        fork.scan_blocks(at..end, mode, |row| {
            let seg = row.block.0 / seg_blocks;
            let file = files
                .entry(seg)
                .or_insert_with(|| fork_file(&scan, seg.saturating_mul(seg_blocks)));
            b.push(&cat.types, file, row);
            if b.len() >= BATCH_ROWS {
                match b.finish() {
                    Ok(x) => batches.push(x),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            true
        });
        report_pg_warnings(ctx, &fork.warnings);
        if let Some(e) = failed.take() {
            return Err(e.into());
        }
        at = end;
    }
    scan.warnings.clear();
    if !b.is_empty() {
        batches.push(b.finish()?);
    }
    for l in std::mem::take(&mut b.lossy) {
        ctx.diagnostic(Diagnostic::warning(
            "value-not-representable",
            format!("column {}: {} (null in the batch)", l.column, l.reason),
        ));
    }
    Ok(Out {
        schema: schema_ref,
        batches,
    })
}

fn fork_file(scan: &pgdata::table::TableScan<'_>, block: u32) -> String {
    scan.file_of(pgdata::BlockNo(block))
}
