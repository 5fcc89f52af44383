//! `sqlite salvage` as a job: every live row, plus deleted rows and dropped
//! tables carved from free space, and (with side files) the older row
//! versions of the `-wal` / `-journal`, pushed into a [`SalvageSink`].
//!
//! Flow: open the evidence read-only (mmap) → the side files
//! ([`super::history::salvage_side`]: the state SQLite would show, WAL
//! applied or hot journal rolled back, in memory) →
//! [`sqlite_pages::db::Db::open_releasing`] (pages the scan has gone past
//! leave memory) → [`Db::salvage_with`]: workers format rows straight into
//! batches ([`SalvageSink::Format`]) and the sink takes them in page order on
//! the calling thread, so memory stays bounded and output streams.
//!
//! [`Outputs`] is the standard sink (SQL / CSV / JSONL, an output directory
//! with `report.json`); [`salvage_to`] runs the job into the outputs the
//! request names. Progress (pages done of total, both passes) and
//! diagnostics go through the [`JobCtx`]; cancellation is checked between
//! rounds of pages.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::Value as Json;
use sqlite_pages::cell::ChainBreak;
use sqlite_pages::db::{BatchSink, Db, Diag, DiagKind, RowFormat, RowMark, SalvageOptions};
use sqlite_pages::schema::Table;
use tracing::span::EnteredSpan;

use super::SqliteError;
use super::history::{SideFiles, SideRow, open_evidence, salvage_side};
use crate::job::{Cancelled, Diagnostic, JobCtx, Phase, Throughput, Unit};

mod format;
mod outputs;

pub use format::{Formatted, RowBytes, Streams, companion};
pub use outputs::{OutputError, Outputs, report_json};

/// Output format of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A script `sqlite3 new.db < recovered.sql` loads.
    Sql,
    /// CSV: table, status, page, offset, rowid, confidence, partial (0/1), lost
    /// (names of the lost columns), then the values.
    Csv,
    /// One JSON object per row.
    Jsonl,
}

/// Where [`salvage_to`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// One format to the caller's writer.
    Stream(Format),
    /// `recovered.sql`, one CSV per table and status, `rows.jsonl` and
    /// `report.json` in this directory.
    Dir(PathBuf),
}

/// What `sqlite salvage` is asked for.
#[derive(Debug, Clone)]
pub struct SalvageRequest {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
    /// `-wal` / `-journal` to read with it.
    pub side: SideFiles,
    /// Only these tables (names, case-insensitive); empty = all.
    pub tables: Vec<String>,
    /// Carve deleted rows and dropped tables (and add the side files' older
    /// versions); `false` = live rows only.
    pub deleted: bool,
    /// Where [`salvage_to`] writes (ignored by [`salvage`], whose sink decides).
    pub output: Output,
}

/// Receives a salvage's output. [`Outputs`] is the standard one.
pub trait SalvageSink {
    /// The sink's error.
    type Error;
    /// Turns rows into batches on the worker threads.
    type Format: RowFormat;
    /// The database is open: the formatter for its rows (and any preamble).
    fn start(&mut self, db: &Db<'_>) -> Result<Self::Format, Self::Error>;
    /// One batch of rows in page order; only rows whose mark says `keep`
    /// belong to the output. `Ok(false)` stops the job.
    fn batch(
        &mut self,
        db: &Db<'_>,
        batch: <Self::Format as RowFormat>::Batch,
        marks: &[RowMark],
    ) -> Result<bool, Self::Error>;
    /// One older row version from the side files, as a JSON row.
    fn side_row(&mut self, row: &Json) -> Result<bool, Self::Error>;
    /// One older row version from the side files, with its version (exact
    /// values) beside the JSON row. The default hands the JSON row to
    /// [`SalvageSink::side_row`].
    fn side_version(&mut self, row: &SideRow) -> Result<bool, Self::Error> {
        self.side_row(&row.json)
    }
    /// All rows were given.
    fn finish(&mut self, db: &Db<'_>) -> Result<(), Self::Error>;
}

/// What a salvage found besides its rows (the facts of `report.json`).
#[derive(Debug, Clone)]
pub struct SalvageSummary {
    /// The database file.
    pub file: PathBuf,
    /// SHA-256 of the evidence (when the request's output is a directory).
    pub sha256: Option<String>,
    /// Page size used.
    pub page_size: u32,
    /// Usable size used.
    pub usable_size: u32,
    /// Text encoding used.
    pub encoding: &'static str,
    /// Pages in the file.
    pub n_pages: u32,
    /// Whether the header parsed.
    pub header_ok: bool,
    /// Pages per kind.
    pub pages_by_kind: BTreeMap<&'static str, u64>,
    /// Tables: live ones first, then dropped ones carved from free space.
    pub tables: Vec<Table>,
    /// Damage met in the file: (page, message).
    pub diagnostics: Vec<(Option<u32>, String)>,
    /// Rows given to the sink.
    pub n_rows: u64,
    /// Rowids two leaf pages of a table both claimed (one per conflicting
    /// pair of pages and rowid; `db-rowid-conflict` diagnostics).
    pub n_rowid_conflicts: u64,
}

impl SalvageSummary {
    /// Nothing at all came out: no header, no schema, no row.
    pub fn nothing_recovered(&self) -> bool {
        self.n_rows == 0 && self.tables.is_empty() && !self.header_ok
    }
}

/// The stable code of a database diagnostic (all start with `db-`).
pub fn diag_code(d: &Diag) -> &'static str {
    match d.kind {
        DiagKind::Error(_) => "db-damage",
        DiagKind::PageSizeInferred { .. } => "db-page-size-inferred",
        DiagKind::EncodingInferred { .. } => "db-encoding-inferred",
        DiagKind::TreeBroken { .. } => "db-tree-broken",
        DiagKind::SchemaFromScan => "db-schema-from-scan",
        DiagKind::TruncatedFile { .. } => "db-truncated",
        DiagKind::OverflowBroken(_) => "db-overflow-broken",
        DiagKind::RowidConflict(_) => "db-rowid-conflict",
        _ => "db-other",
    }
}

/// The ordered stage: forwards batches to the sink, counts kept rows,
/// reports progress, switches the phase span (scan → carve) and stops on
/// cancellation between rounds.
struct Ordered<'s, S> {
    sink: &'s mut S,
    ctx: &'s JobCtx,
    n_pages: u32,
    n_rows: u64,
    cancelled: bool,
    span: Option<EnteredSpan>,
    /// Rows whose overflow chain broke, in page order.
    breaks: Vec<ChainBreak>,
    file: String,
}

impl<S: SalvageSink> BatchSink<<S::Format as RowFormat>::Batch> for Ordered<'_, S> {
    type Error = S::Error;
    fn batch(
        &mut self,
        db: &Db<'_>,
        batch: <S::Format as RowFormat>::Batch,
        marks: &[RowMark],
    ) -> Result<bool, S::Error> {
        let kept = marks.iter().filter(|m| m.keep).count() as u64;
        self.n_rows = self.n_rows.saturating_add(kept);
        self.sink.batch(db, batch, marks)
    }
    fn chain_breaks(&mut self, _db: &Db<'_>, breaks: &[ChainBreak]) {
        for b in breaks {
            self.ctx.diagnostic(chain_break_diagnostic(b, &self.file));
        }
        self.breaks.extend_from_slice(breaks);
    }
    fn progress(&mut self, done: u32, total: u32) -> bool {
        self.ctx.progress(
            Phase::Scan,
            Unit::Pages,
            u64::from(done),
            Some(u64::from(total)),
        );
        if done >= self.n_pages && done < total && self.span.is_some() {
            // The live pass is over: the carve pass follows.
            self.span = None;
            self.span = Some(tracing::info_span!("carve").entered());
        }
        self.cancelled = self.ctx.check().is_err();
        !self.cancelled
    }
}

/// The diagnostic of a broken overflow chain (code `db-overflow-broken`):
/// page, cell offset, the overflow page where it broke, bytes read.
pub fn chain_break_diagnostic(b: &ChainBreak, file: &str) -> Diagnostic {
    Diagnostic::warning("db-overflow-broken", b.to_string())
        .in_file(file)
        .at(format!("page {} cell offset {}", b.page_no, b.cell_offset))
}

fn summary(
    req: &SalvageRequest,
    db: &Db<'_>,
    n_rows: u64,
    breaks: &[ChainBreak],
) -> SalvageSummary {
    let mut pages_by_kind = BTreeMap::new();
    for c in &db.classes {
        *pages_by_kind.entry(c.name()).or_insert(0) += 1;
    }
    SalvageSummary {
        file: req.db.clone(),
        sha256: None,
        page_size: db.page_size,
        usable_size: db.usable,
        encoding: db.encoding.name(),
        n_pages: db.n_pages,
        header_ok: db.header.is_some(),
        pages_by_kind,
        tables: db.tables.clone(),
        diagnostics: db
            .diags
            .iter()
            .map(|d| (d.page_no.map(|p| p.0), d.to_string()))
            .chain(breaks.iter().map(|b| (Some(b.page_no.0), b.to_string())))
            .collect(),
        n_rows,
        n_rowid_conflicts: db
            .diags
            .iter()
            .map(|d| match &d.kind {
                DiagKind::RowidConflict(c) => c.rowids.len() as u64,
                _ => 0,
            })
            .sum(),
    }
}

/// Runs `sqlite salvage` into `sink`. The summary's `sha256` is filled when
/// `hash` is set (it reads the whole file once more).
pub fn salvage<S: SalvageSink>(
    req: &SalvageRequest,
    ctx: &JobCtx,
    sink: &mut S,
    hash: bool,
) -> Result<SalvageSummary, SqliteError<S::Error>> {
    let span = tracing::info_span!("sqlite_salvage", db = %req.db.display());
    let _job = span.enter();
    let timer = Throughput::start("sqlite salvage");
    let open = tracing::info_span!("open").entered();
    let ev = open_evidence(&req.db)?;
    let side = salvage_side(&req.db, &req.side, &req.tables, ctx);
    // Pages the scan has gone past leave memory (they are read again if needed).
    let release = |offset: usize, len: usize| ev.release(offset, len);
    let db = match &side.image {
        Some(image) => Db::open_image(&image.bytes, &image.write_order),
        None => Db::open_releasing(ev.bytes(), &release),
    };
    drop(open);
    ctx.check()?;
    let opts = SalvageOptions {
        no_deleted: !req.deleted,
        tables: req.tables.clone(),
    };
    let fmt = sink.start(&db).map_err(SqliteError::Sink)?;
    let mut ordered = Ordered {
        sink,
        ctx,
        n_pages: db.n_pages,
        n_rows: 0,
        cancelled: false,
        span: Some(tracing::info_span!("scan").entered()),
        breaks: Vec::new(),
        file: req.db.display().to_string(),
    };
    db.salvage_with(&opts, &fmt, &mut ordered)
        .map_err(SqliteError::Sink)?;
    if ordered.cancelled {
        return Err(Cancelled.into());
    }
    let Ordered {
        sink,
        n_rows,
        span,
        breaks,
        ..
    } = ordered;
    drop(span);
    let _encode = tracing::info_span!("encode").entered();
    let mut n_rows = n_rows;
    if req.deleted {
        for r in &side.extra_rows {
            n_rows = n_rows.saturating_add(1);
            if !sink.side_version(r).map_err(SqliteError::Sink)? {
                break;
            }
        }
    }
    sink.finish(&db).map_err(SqliteError::Sink)?;
    for d in &db.diags {
        let mut diag =
            Diagnostic::warning(diag_code(d), d.to_string()).in_file(req.db.display().to_string());
        if let Some(p) = d.page_no {
            diag = diag.at(format!("page {p}"));
        }
        ctx.diagnostic(diag);
    }
    let mut s = summary(req, &db, n_rows, &breaks);
    if hash {
        s.sha256 = Some(ev.sha256_hex());
    }
    timer.finish(n_rows, ev.len_bytes());
    Ok(s)
}

/// Why [`salvage_to`] stopped.
pub type SalvageError = SqliteError<OutputError>;

/// Runs `sqlite salvage` into the outputs `req.output` names: a stream
/// format to `stream`, or an output directory (with `report.json`, whose
/// `seconds` is the job's wall time).
pub fn salvage_to(
    req: &SalvageRequest,
    ctx: &JobCtx,
    stream: &mut dyn Write,
) -> Result<SalvageSummary, SalvageError> {
    let t0 = std::time::Instant::now();
    let label = req.db.display().to_string();
    match &req.output {
        Output::Stream(f) => salvage(
            req,
            ctx,
            &mut Outputs::stream(*f, Box::new(stream), &label),
            false,
        ),
        Output::Dir(dir) => {
            let mut outs = Outputs::dir(dir, &label);
            let s = salvage(req, ctx, &mut outs, true)?;
            let rep = report_json(&s, &outs.counts, t0.elapsed().as_secs_f64());
            let path = dir.join("report.json");
            let bytes = serde_json::to_vec_pretty(&rep)
                .map_err(|e| SqliteError::Sink(OutputError::Write(e.into())))?;
            std::fs::write(&path, bytes).map_err(|e| SqliteError::Sink(OutputError::Write(e)))?;
            Ok(s)
        }
    }
}
