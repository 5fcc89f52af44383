//! Export of the grid's current view (its filter and sort) to CSV, JSON
//! lines or SQL `INSERT`s, on a background job with progress and Cancel.
//! The job gets the store's rows as a cheap clone of their shared chunks
//! ([`Rows`]) and the view's order, and decodes each row on its own thread:
//! the UI thread copies nothing but the index list. Values go
//! through rowcodec's SQLite encoders (`csv_field`, `json_value`,
//! `sql_literal`), the ones `datam sqlite salvage` writes with.
//!
//! **Architecture Invariant:** an export never writes over the evidence:
//! the target must not be the opened file or its `-wal` / `-journal`.

use std::io::Write;
use std::path::{Path, PathBuf};

use datam_core::job::{JobCtx, Phase, Unit};
use rowcodec::sqlite::OwnedValue;
use rowcodec::sqlite::encode::{csv_field, json_value, sql_ident, sql_literal, write_csv_str};

use crate::job::{Job, Waker};
use crate::model::Row;
use crate::rows::Rows;

/// Output format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// CSV: status, page, offset, rowid, then the columns (header line first).
    #[default]
    Csv,
    /// One JSON object per row (`table`, `status`, `page`, `offset`, `rowid`, `values`).
    Jsonl,
    /// `INSERT INTO "table" (...) VALUES (...);` per row.
    Sql,
}

/// What to export: the rows (the store's, shared) in the view's order, and their table.
pub struct ExportJob {
    /// Table name.
    pub table: String,
    /// Column names.
    pub columns: Vec<String>,
    /// The store's rows.
    pub rows: Rows,
    /// Indices into `rows`, in view order.
    pub order: Vec<u32>,
    /// The format.
    pub format: ExportFormat,
    /// Where to write.
    pub path: PathBuf,
    /// Files that must never be written (the evidence and its side files).
    pub evidence: Vec<PathBuf>,
}

/// The export panel's state.
#[derive(Default)]
pub struct Export {
    /// The target path as typed.
    pub path: String,
    /// The chosen format.
    pub format: ExportFormat,
    job: Option<Job<Result<Written, String>>>,
    /// Rows written, or why not.
    pub result: Option<Result<Written, String>>,
}

/// How an export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Rows written.
    pub rows: u64,
    /// Stopped by Cancel (the partial file was removed).
    pub cancelled: bool,
}

impl Export {
    /// Whether no export runs.
    pub fn is_idle(&self) -> bool {
        self.job.is_none()
    }

    /// Progress of the running export (0..1).
    pub fn fraction(&self) -> Option<f32> {
        let p = self.job.as_ref()?.progress()?;
        #[allow(clippy::cast_precision_loss)]
        p.total.filter(|t| *t > 0).map(|t| p.done as f32 / t as f32)
    }

    /// Starts `job`.
    pub fn start(&mut self, job: ExportJob, wake: &Waker) {
        self.result = None;
        match Job::spawn("export", wake.clone(), move |ctx, out| {
            out.send(run(&job, ctx));
        }) {
            Ok(j) => self.job = Some(j),
            Err(e) => self.result = Some(Err(e.to_string())),
        }
    }

    /// Asks the running export to stop.
    pub fn cancel(&self) {
        if let Some(j) = &self.job {
            j.cancel();
        }
    }

    /// Polls the job.
    pub fn poll(&mut self) {
        crate::pg::poll_into(&mut self.job, &mut self.result);
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Rows between two progress reports and cancel checks.
const CHECK_EVERY: u64 = 256;

fn run(job: &ExportJob, ctx: &JobCtx) -> Result<Written, String> {
    if job.evidence.iter().any(|e| same_file(e, &job.path)) {
        return Err(format!(
            "refusing to write {}: it is the evidence",
            job.path.display()
        ));
    }
    let file =
        std::fs::File::create(&job.path).map_err(|e| format!("{}: {e}", job.path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let total = job.order.len() as u64;
    let io = |e: std::io::Error| format!("{}: {e}", job.path.display());
    if job.format == ExportFormat::Csv {
        out.write_all(&csv_header(&job.columns)).map_err(io)?;
    }
    let mut line = Vec::new();
    let mut n = 0u64;
    for r in job.order.iter().filter_map(|&i| job.rows.get(i as usize)) {
        if n.is_multiple_of(CHECK_EVERY) {
            ctx.progress(Phase::Encode, Unit::Items, n, Some(total));
            if ctx.cancel.is_cancelled() {
                drop(out);
                // Our own partial output, never the evidence (checked above).
                let _ = std::fs::remove_file(&job.path);
                return Ok(Written {
                    rows: n,
                    cancelled: true,
                });
            }
        }
        line.clear();
        encode(job, &r, &mut line);
        out.write_all(&line).map_err(io)?;
        n += 1;
    }
    out.flush().map_err(io)?;
    ctx.progress(Phase::Encode, Unit::Items, n, Some(total));
    Ok(Written {
        rows: n,
        cancelled: false,
    })
}

fn csv_header(columns: &[String]) -> Vec<u8> {
    let mut h = b"status,page,offset,rowid".to_vec();
    for c in columns {
        h.push(b',');
        write_csv_str(c.as_bytes(), &mut h);
    }
    h.push(b'\n');
    h
}

/// One row in the job's format, with its line end.
fn encode(job: &ExportJob, r: &Row, out: &mut Vec<u8>) {
    let values: Vec<OwnedValue> = r
        .values
        .iter()
        .map(crate::backend::to_owned_value)
        .collect();
    let rowid = r.rowid.map_or_else(String::new, |v| v.to_string());
    match job.format {
        ExportFormat::Csv => {
            let head = format!(
                "{},{},{},{rowid}",
                r.status.name(),
                r.at.page_no,
                r.at.offset
            );
            out.extend_from_slice(head.as_bytes());
            for v in &values {
                out.push(b',');
                write_csv_str(csv_field(v).as_bytes(), out);
            }
        }
        ExportFormat::Jsonl => {
            let j = serde_json::json!({
                "table": job.table, "status": r.status.name(), "page": r.at.page_no,
                "offset": r.at.offset, "rowid": r.rowid,
                "values": values.iter().map(json_value).collect::<Vec<_>>(),
            });
            out.extend_from_slice(j.to_string().as_bytes());
        }
        ExportFormat::Sql => {
            let cols: Vec<String> = job.columns.iter().map(|c| sql_ident(c)).collect();
            let vals: Vec<String> = values.iter().map(sql_literal).collect();
            let s = format!(
                "INSERT INTO {} ({}) VALUES ({});",
                sql_ident(&job.table),
                cols.join(", "),
                vals.join(", ")
            );
            out.extend_from_slice(s.as_bytes());
        }
    }
    out.push(b'\n');
}
