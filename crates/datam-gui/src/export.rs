//! Export of the grid's current view (its filter and sort) to CSV, JSON
//! lines or SQL `INSERT`s, on a background job with progress and Cancel;
//! the SQLite grid's rows and the PostgreSQL grid's ([`ExportRows`]).
//! The job gets the store's rows as a cheap clone of their shared chunks
//! ([`Rows`]) and the view's order, and decodes each row on its own thread:
//! the UI thread copies nothing but the index list. Values go
//! through rowcodec's SQLite encoders (`csv_field`, `json_value`,
//! `sql_literal`), the ones `datam sqlite salvage` writes with.
//!
//! PostgreSQL rows are the text the server's output functions print, kept
//! as such (CSV, JSON strings, SQL string literals).
//!
//! **Architecture Invariant:** an export never writes over the evidence:
//! the target must not be the opened file or its `-wal` / `-journal`, nor
//! lie inside an opened PostgreSQL data directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use datam_core::job::{JobCtx, Phase, Unit};
use rowcodec::sqlite::OwnedValue;
use rowcodec::sqlite::encode::{csv_field, json_value, sql_ident, sql_literal, write_csv_str};

use crate::job::{Job, Waker};
use crate::model::Row;
use crate::pg::grid::PgRow;
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

/// The rows an export writes.
pub enum ExportRows {
    /// A SQLite grid: the store's rows (shared) and the view's order
    /// (indices into them).
    Sqlite {
        /// The store's rows.
        rows: Rows,
        /// Indices into `rows`, in view order.
        order: Vec<u32>,
    },
    /// A PostgreSQL grid: the view's rows, in order (copied when the
    /// export starts), and the heap segment files they name.
    Pg {
        /// The rows.
        rows: Vec<PgRow>,
        /// `PgRow::file` indexes these.
        files: Vec<String>,
    },
}

impl ExportRows {
    fn len(&self) -> usize {
        match self {
            ExportRows::Sqlite { order, .. } => order.len(),
            ExportRows::Pg { rows, .. } => rows.len(),
        }
    }
}

/// What to export: the rows of the view, and their table.
pub struct ExportJob {
    /// Table name (`schema.table` for PostgreSQL).
    pub table: String,
    /// Column names.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: ExportRows,
    /// The format.
    pub format: ExportFormat,
    /// Where to write.
    pub path: PathBuf,
    /// Files that must never be written (the evidence and its side files).
    pub evidence: Vec<PathBuf>,
    /// Directories nothing may be written into (a PostgreSQL data directory).
    pub evidence_dirs: Vec<PathBuf>,
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

/// Whether `target` would land inside directory `dir` (its parent, made
/// absolute, lies under it).
fn inside(dir: &Path, target: &Path) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.canonicalize().is_ok_and(|p| p.starts_with(&dir))
}

fn run(job: &ExportJob, ctx: &JobCtx) -> Result<Written, String> {
    if job.evidence.iter().any(|e| same_file(e, &job.path)) {
        return Err(format!(
            "refusing to write {}: it is the evidence",
            job.path.display()
        ));
    }
    if let Some(d) = job.evidence_dirs.iter().find(|d| inside(d, &job.path)) {
        return Err(format!(
            "refusing to write {}: it lies inside the evidence {}",
            job.path.display(),
            d.display()
        ));
    }
    let file =
        std::fs::File::create(&job.path).map_err(|e| format!("{}: {e}", job.path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let total = job.rows.len() as u64;
    let io = |e: std::io::Error| format!("{}: {e}", job.path.display());
    if job.format == ExportFormat::Csv {
        let head = match &job.rows {
            ExportRows::Sqlite { .. } => "status,page,offset,rowid",
            ExportRows::Pg { .. } => "status,file,block,lp,xmin,xmax",
        };
        out.write_all(&csv_header(head, &job.columns)).map_err(io)?;
    }
    let mut line = Vec::new();
    let mut n = 0u64;
    for i in 0..job.rows.len() {
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
        match &job.rows {
            ExportRows::Sqlite { rows, order } => {
                let Some(r) = order.get(i).and_then(|&k| rows.get(k as usize)) else {
                    continue;
                };
                encode(job, &r, &mut line);
            }
            ExportRows::Pg { rows, files } => {
                let Some(r) = rows.get(i) else { continue };
                encode_pg(job, r, files, &mut line);
            }
        }
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

fn csv_header(head: &str, columns: &[String]) -> Vec<u8> {
    let mut h = head.as_bytes().to_vec();
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

/// A PostgreSQL identifier, double-quoted (`"` doubled).
fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A value as PostgreSQL printed it, as a string literal (`'` doubled;
/// the server casts it to the column's type on insert), or `NULL`.
fn pg_literal(v: Option<&str>) -> String {
    v.map_or_else(
        || "NULL".to_string(),
        |t| format!("'{}'", t.replace('\'', "''")),
    )
}

/// One PostgreSQL row in the job's format, with its line end: CSV as
/// `COPY … CSV` reads it (NULL an empty field, an empty string `""`), JSON
/// with `pg dump --format jsonl`'s field names, SQL `INSERT`s into
/// `"schema"."table"`.
fn encode_pg(job: &ExportJob, r: &PgRow, files: &[String], out: &mut Vec<u8>) {
    let file = files.get(r.file as usize).map_or("", String::as_str);
    match job.format {
        ExportFormat::Csv => {
            out.extend_from_slice(r.status.as_bytes());
            out.push(b',');
            write_csv_str(file.as_bytes(), out);
            let meta = format!(",{},{},{},{}", r.block, r.lp, r.xmin, r.xmax);
            out.extend_from_slice(meta.as_bytes());
            for v in r.values.iter() {
                out.push(b',');
                match v.as_deref() {
                    None => {}
                    Some("") => out.extend_from_slice(b"\"\""),
                    Some(t) => write_csv_str(t.as_bytes(), out),
                }
            }
        }
        ExportFormat::Jsonl => {
            let values: serde_json::Map<String, serde_json::Value> = job
                .columns
                .iter()
                .zip(r.values.iter())
                .map(|(c, v)| {
                    let v = v.as_deref().map_or(serde_json::Value::Null, |t| t.into());
                    (c.clone(), v)
                })
                .collect();
            let j = serde_json::json!({
                "table": job.table, "status": r.status, "file": file, "block": r.block,
                "lp": r.lp, "xmin": r.xmin, "xmax": r.xmax, "values": values,
            });
            out.extend_from_slice(j.to_string().as_bytes());
        }
        ExportFormat::Sql => {
            let table = match job.table.split_once('.') {
                Some((schema, name)) => format!("{}.{}", pg_ident(schema), pg_ident(name)),
                None => pg_ident(&job.table),
            };
            let cols: Vec<String> = job.columns.iter().map(|c| pg_ident(c)).collect();
            let vals: Vec<String> = r.values.iter().map(|v| pg_literal(v.as_deref())).collect();
            let s = format!(
                "INSERT INTO {table} ({}) VALUES ({});",
                cols.join(", "),
                vals.join(", ")
            );
            out.extend_from_slice(s.as_bytes());
        }
    }
    out.push(b'\n');
}
