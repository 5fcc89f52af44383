//! The one module that drives DataM's jobs for the binding.
//!
//! Every job is a use case of `datam_core` run through
//! `datam_arrow::jobs` (the same batchers the CLI's `--format parquet`
//! writes): this file only turns requests into datam-core requests, batches
//! into [`Out`]s and errors into [`JobError`]s with a stable code.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datam_arrow::jobs::{self, BatchOut};
use datam_core::job::{Cancelled, JobCtx};
pub use datam_core::pg::wal::Lsn;
use datam_core::pg::wal::{SegmentBytes, WalScanRequest};
use datam_core::sqlite::history::{HistoryRequest, SideFiles};
use datam_core::sqlite::salvage::{Output, SalvageRequest};

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

    /// The error of a datam-core job whose main input is `input`.
    fn of_job(e: jobs::JobError, input: &Path) -> Self {
        use datam_core::pg::Error as Pg;
        use datam_core::sqlite::SqliteError as Sq;
        let open = |e: &evidence::Error| {
            let path = match e {
                evidence::Error::Io { path, .. } | evidence::Error::NotAFile { path } => {
                    path.display().to_string()
                }
                _ => input.display().to_string(),
            };
            JobError::Open {
                path,
                message: e.to_string(),
            }
        };
        match e {
            jobs::JobError::Pg(Pg::Evidence(e)) => open(&e),
            jobs::JobError::Sqlite(Sq::Open { source, .. }) => open(&source),
            jobs::JobError::Pg(Pg::Cancelled(c)) | jobs::JobError::Sqlite(Sq::Cancelled(c)) => {
                JobError::Cancelled(c)
            }
            jobs::JobError::Arrow(a) | jobs::JobError::Sqlite(Sq::Sink(a)) => JobError::Arrow(a),
            jobs::JobError::Pg(Pg::BadSegment {
                label,
                offset,
                source,
            }) => JobError::BadInput {
                path: label,
                message: source.to_string(),
                position: Some(offset.to_string()),
            },
            jobs::JobError::Pg(
                e @ (Pg::TableNotFound { .. }
                | Pg::TableNotInDatabase { .. }
                | Pg::DatabaseNotFound(_)
                | Pg::NoTableIn { .. }
                | Pg::NoWalStream
                | Pg::NoSegmentOfTimeline { .. }),
            ) => JobError::NotFound {
                what: e.to_string(),
            },
            e => JobError::BadInput {
                path: input.display().to_string(),
                message: error_chain(&e),
                position: None,
            },
        }
    }
}

/// `e` and its sources, `: `-joined (as the CLI prints `{:#}`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// Collects a job's batches by output name (in first-seen order).
#[derive(Default)]
struct Collected {
    outs: Vec<(String, Out)>,
}

impl Collected {
    fn out(&mut self) -> impl FnMut(&str, RecordBatch) -> Result<bool, datam_arrow::Error> + '_ {
        |name, batch| {
            match self.outs.iter_mut().find(|(n, _)| n == name) {
                Some((_, o)) => o.batches.push(batch),
                None => self.outs.push((
                    name.to_string(),
                    Out {
                        schema: batch.schema(),
                        batches: vec![batch],
                    },
                )),
            }
            Ok(true)
        }
    }

    /// The one output of a single-output job (`schema` when it gave none).
    fn single(self, schema: SchemaRef) -> Out {
        self.outs.into_iter().next().map_or(
            Out {
                schema,
                batches: Vec::new(),
            },
            |(_, o)| o,
        )
    }
}

/// Runs `job` into collected outputs; errors name `input`.
fn collect(
    input: &Path,
    job: impl FnOnce(&mut BatchOut<'_>) -> Result<(), jobs::JobError>,
) -> Result<Collected, JobError> {
    let mut c = Collected::default();
    job(&mut c.out()).map_err(|e| JobError::of_job(e, input))?;
    Ok(c)
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
    /// Carve deleted rows (and add the side files' older versions).
    pub deleted: bool,
    /// Read the `-wal` beside the database.
    pub wal: bool,
    /// Read the `-journal` beside the database.
    pub journal: bool,
}

fn side_files(wal: bool, journal: bool) -> SideFiles {
    SideFiles {
        no_wal: !wal,
        no_journal: !journal,
        ..SideFiles::default()
    }
}

/// `datam.sqlite.salvage`: one [`Out`] per table (name → rows), as
/// `datam sqlite salvage --format jsonl` lists them.
pub fn sqlite_salvage(ctx: &JobCtx, req: &SalvageReq) -> Result<Vec<(String, Out)>, JobError> {
    let r = SalvageRequest {
        db: req.path.clone(),
        side: side_files(req.wal, req.journal),
        tables: req.tables.clone(),
        deleted: req.deleted,
        output: Output::Stream(datam_core::sqlite::salvage::Format::Jsonl),
    };
    let c = collect(&req.path, |out| {
        jobs::sqlite::salvage_batches(&r, ctx, out).map(|_| ())
    })?;
    Ok(c.outs)
}

/// Which versions [`sqlite_history`] returns (as the CLI's options).
#[derive(Debug, Clone, Default)]
pub struct HistorySel {
    /// Only this table.
    pub table: Option<String>,
    /// Only the row with this rowid.
    pub rowid: Option<i64>,
    /// Only the row with this key.
    pub key: Option<String>,
}

/// `datam.sqlite.history`: every row version, as `datam sqlite history
/// --format jsonl`.
pub fn sqlite_history(
    ctx: &JobCtx,
    path: &Path,
    sel: HistorySel,
    wal: bool,
    journal: bool,
) -> Result<Out, JobError> {
    let r = HistoryRequest {
        db: path.to_path_buf(),
        side: side_files(wal, journal),
        table: sel.table,
        rowid: sel.rowid,
        key: sel.key,
    };
    let c = collect(path, |out| {
        jobs::sqlite::history_batches(&r, ctx, out).map(|_| ())
    })?;
    Ok(c.single(datam_arrow::history::schema()))
}

/// `datam.pg.wal`: every record of the request, in LSN order, as
/// `datam pg wal --format jsonl` lists them.
pub fn pg_wal(ctx: &JobCtx, req: &WalScanRequest) -> Result<Out, JobError> {
    let input = req.inputs.first().cloned().unwrap_or_default();
    let c = collect(&input, |out| jobs::wal::wal(req, ctx, out).map(|_| ()))?;
    Ok(c.single(datam_arrow::wal::schema()))
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

/// The bytes, a label for messages, and the file name when known.
struct HeldSeg {
    held: Held,
    label: String,
    name: Option<String>,
}

impl HeldSeg {
    fn new(s: SegBytes) -> Result<Self, JobError> {
        Ok(match s {
            SegBytes::Path(p) => HeldSeg {
                name: p.file_name().and_then(|n| n.to_str()).map(str::to_string),
                held: Held::Mapped(evidence::Evidence::open(&p).map_err(|e| JobError::Open {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?),
                label: p.display().to_string(),
            },
            SegBytes::Bytes(b, name) => HeldSeg {
                held: Held::Owned(b),
                label: name.clone().unwrap_or_else(|| "<bytes>".to_string()),
                name,
            },
        })
    }

    fn view(&self) -> SegmentBytes<'_> {
        SegmentBytes {
            bytes: match &self.held {
                Held::Mapped(e) => e.bytes(),
                Held::Owned(v) => v,
            },
            name: self.name.as_deref(),
            label: &self.label,
        }
    }
}

/// `datam.pg.scan_segment`: the records that **start** in `seg`, reading
/// continuations from `next` (the following segment). Over an archive, the
/// union of every segment's output is one sequential scan.
pub fn scan_segment(ctx: &JobCtx, seg: SegBytes, next: Option<SegBytes>) -> Result<Out, JobError> {
    let seg = HeldSeg::new(seg)?;
    let next = next.map(HeldSeg::new).transpose()?;
    let label = PathBuf::from(&seg.label);
    let c = collect(&label, |out| {
        jobs::wal::wal_segment(seg.view(), next.as_ref().map(HeldSeg::view), ctx, out)
    })?;
    Ok(c.single(datam_arrow::wal::schema()))
}

/// `datam.pg.tables`: the tables of a data directory, as `datam pg tables`.
pub fn pg_tables(ctx: &JobCtx, pgdata: &Path, db: Option<&str>) -> Result<Out, JobError> {
    let req = datam_core::pg::dump::TablesRequest {
        pgdata: pgdata.to_path_buf(),
        db: db.map(str::to_string),
    };
    let c = collect(pgdata, |out| jobs::pg::tables_batches(&req, ctx, out))?;
    let mut outs = c.outs.into_iter();
    outs.next()
        .map(|(_, o)| o)
        .ok_or_else(|| JobError::NotFound {
            what: "tables".into(),
        })
}

/// `datam.pg.xacts`: the committed transactions of a data directory's WAL,
/// as `datam pg xacts --format jsonl`.
pub fn pg_xacts(ctx: &JobCtx, req: &datam_core::pg::rescue::XactsRequest) -> Result<Out, JobError> {
    let c = collect(&req.pgdata, |out| jobs::pg::xacts_batches(req, ctx, out))?;
    let mut outs = c.outs.into_iter();
    outs.next()
        .map(|(_, o)| o)
        .ok_or_else(|| JobError::NotFound {
            what: "xacts".into(),
        })
}

/// `datam.pg.dump`: the rows of `schema.table` (live, or `dead`), typed.
/// Damaged blocks are diagnostics (as the CLI prints them); every other row
/// is returned.
pub fn pg_dump(
    ctx: &JobCtx,
    pgdata: &Path,
    table: &str,
    dead: bool,
    db: Option<&str>,
) -> Result<Out, JobError> {
    let req = datam_core::pg::dump::DumpRequest {
        pgdata: pgdata.to_path_buf(),
        table: table.to_string(),
        db: db.map(str::to_string),
        dead,
        only: false,
        threads: None,
    };
    let mut c = Collected::default();
    match jobs::pg::dump_batches(&req, ctx, &mut c.out()) {
        Ok(_) => {}
        // The damaged blocks were reported as diagnostics; the rows stand.
        Err(jobs::JobError::Pg(datam_core::pg::Error::DamagedRows { .. })) => {}
        Err(e) => return Err(JobError::of_job(e, pgdata)),
    }
    c.outs
        .into_iter()
        .next()
        .map(|(_, o)| o)
        .ok_or_else(|| JobError::NotFound {
            what: format!("table {table}"),
        })
}
