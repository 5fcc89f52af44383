//! `export`: a table to one file with parallel `COPY`, all connections on
//! one snapshot.
//!
//! ```text
//! session: BEGIN REPEATABLE READ READ ONLY; pg_export_snapshot() → id; blocks
//! worker k: BEGIN REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT id
//!           repeat: take the next block range [a, b)
//!                   COPY (SELECT * FROM t WHERE ctid >= '(a,0)' AND ctid < '(b,0)')
//!                        TO STDOUT (FORMAT binary)
//!                   → whole tuples (copy_binary::TupleSplitter) → writer
//! writer:  header once, tuple batches as they come, trailer; then rename
//! ```
//!
//! TID range scans exist from PostgreSQL 14; on 13, and for views and
//! partitioned tables, one stream copies everything. Bytes are never
//! decoded (binary) and memory stays flat: at most [`CHANNEL_BATCHES`]
//! batches of about [`BATCH_BYTES`] wait for the disk. CSV chunks are
//! stitched at CopyData messages, which the server sends one per row.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use datam_core::job::{Diagnostic, JobCtx, Phase, Unit};
use futures_util::StreamExt;

use super::copy_binary::{TRAILER, TupleSplitter, header};
use super::{PgSession, connect_client, pg_err};
use crate::error::{Error, Result};
use crate::target::PgTarget;

/// Bytes gathered before a batch goes to the writer.
pub const BATCH_BYTES: usize = 1 << 20;
/// Batches that may wait for the writer.
pub const CHANNEL_BATCHES: usize = 16;
/// Block ranges per connection (more ranges than connections balance
/// uneven pages).
const RANGES_PER_JOB: u64 = 8;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `COPY … (FORMAT binary)`: loads back with `COPY … FROM … (FORMAT binary)`.
    Binary,
    /// `COPY … (FORMAT csv)` with one header line.
    Csv,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The table (`name` or `schema.name`).
    pub table: String,
    /// The output file (written as `FILE.partial`, renamed at the end).
    pub out: PathBuf,
    /// The format.
    pub format: ExportFormat,
    /// Connections to use (1 = one stream).
    pub jobs: usize,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Connections used.
    pub jobs: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

struct Plan {
    snapshot: String,
    /// `COPY` statements, one per block range (or one for everything).
    statements: Vec<String>,
    jobs: usize,
    /// What the file starts with: the binary header, or the CSV header
    /// line.
    preamble: Vec<u8>,
}

impl PgSession {
    /// Exports a table (see the module docs). Progress: [`Unit::Bytes`]
    /// and [`Unit::Items`] (rows) in [`Phase::Encode`].
    pub fn export(&mut self, req: &ExportRequest, ctx: &JobCtx) -> Result<ExportSummary> {
        let started = Instant::now();
        let plan = self.export_plan(req, ctx)?;
        let partial = partial_path(&req.out);
        let file = std::fs::File::create(&partial).map_err(|source| Error::Io {
            path: partial.clone(),
            source,
        })?;
        let (tx, rx) = tokio::sync::mpsc::channel::<(Vec<u8>, u64)>(CHANNEL_BATCHES);
        let trailer: &'static [u8] = if req.format == ExportFormat::Binary {
            &TRAILER
        } else {
            &[]
        };
        let writer = spawn_writer(
            file,
            partial.clone(),
            (plan.preamble, trailer),
            rx,
            ctx.clone(),
        )?;
        let next = Arc::new(AtomicUsize::new(0));
        let statements = Arc::new(plan.statements);
        let workers: Vec<_> = (0..plan.jobs)
            .map(|_| {
                let (target, snapshot) = (self.target.clone(), plan.snapshot.clone());
                let (statements, next, tx, ctx) =
                    (statements.clone(), next.clone(), tx.clone(), ctx.clone());
                let binary = req.format == ExportFormat::Binary;
                self.rt
                    .spawn(worker(target, snapshot, statements, next, tx, ctx, binary))
            })
            .collect();
        drop(tx);
        let mut first_err = None;
        for w in workers {
            let r = match self.rt.block_on(w) {
                Ok(r) => r,
                Err(e) => Err(Error::Io {
                    path: "export task".into(),
                    source: std::io::Error::other(e),
                }),
            };
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        let written = writer.join().map_err(|_| Error::Io {
            path: partial.clone(),
            source: std::io::Error::other("writer thread panicked"),
        })?;
        let client = self.client.clone();
        let _ = self.rt.block_on(client.batch_execute("COMMIT"));
        if let Some(e) = first_err {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        let (rows, bytes) = written?;
        std::fs::rename(&partial, &req.out).map_err(|source| Error::Io {
            path: req.out.clone(),
            source,
        })?;
        Ok(ExportSummary {
            rows,
            bytes,
            jobs: plan.jobs,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn export_plan(&mut self, req: &ExportRequest, ctx: &JobCtx) -> Result<Plan> {
        let pm = self.meta_full(&req.table)?;
        let client = self.client.clone();
        let oid = &pm.oid;
        let row = self
            .rt
            .block_on(async {
                client
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                client
                    .query_one(
                        "SELECT pg_export_snapshot(), c.relkind = 'r', \
                         pg_relation_size(c.oid) / current_setting('block_size')::int8 \
                         FROM pg_class c WHERE c.oid = $1::int8::oid",
                        &[oid],
                    )
                    .await
            })
            .map_err(pg_err("export snapshot"))?;
        let (snapshot, plain, blocks): (String, bool, i64) = (row.get(0), row.get(1), row.get(2));
        let blocks = u64::try_from(blocks).unwrap_or(0);
        let opts = match req.format {
            ExportFormat::Binary => "(FORMAT binary)",
            ExportFormat::Csv => "(FORMAT csv)",
        };
        let t = &pm.meta.sql_name;
        let tid_ranges = self.server_version_num >= 140_000;
        let mut jobs = req.jobs.max(1);
        if jobs > 1 && !(tid_ranges && plain) {
            ctx.diagnostic(Diagnostic::note(
                "export-one-stream",
                if plain {
                    "PostgreSQL before 14 has no TID range scans: one stream"
                } else {
                    "not a plain table: one stream"
                },
            ));
            jobs = 1;
        }
        let whole = if plain {
            format!("COPY {t} TO STDOUT {opts}")
        } else {
            format!("COPY (SELECT * FROM {t}) TO STDOUT {opts}")
        };
        let preamble = match req.format {
            ExportFormat::Binary => header().to_vec(),
            ExportFormat::Csv => {
                let mut line = String::new();
                for (i, c) in pm.meta.columns.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    rowcodec::pg::csv_quote(&c.name, &mut line);
                }
                line.push('\n');
                line.into_bytes()
            }
        };
        let n_ranges = (jobs as u64).saturating_mul(RANGES_PER_JOB).min(blocks);
        if jobs == 1 || n_ranges < 2 {
            return Ok(Plan {
                snapshot,
                statements: vec![whole],
                jobs: 1,
                preamble,
            });
        }
        let bounds: Vec<u64> = (0..=n_ranges).map(|i| blocks * i / n_ranges).collect();
        let statements = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (a, b) = (
                    w.first().copied().unwrap_or(0),
                    w.get(1).copied().unwrap_or(0),
                );
                // The last range is open: the table may have grown since
                // its size was read (rows the snapshot cannot see, but
                // nothing is lost if it could).
                let upper = if i as u64 + 1 == n_ranges {
                    String::new()
                } else {
                    format!(" AND ctid < '({b},0)'")
                };
                format!("COPY (SELECT * FROM {t} WHERE ctid >= '({a},0)'{upper}) TO STDOUT {opts}")
            })
            .collect();
        Ok(Plan {
            snapshot,
            statements,
            jobs,
            preamble,
        })
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

type Written = std::thread::JoinHandle<Result<(u64, u64)>>;

/// The writer thread: the preamble, batches as they arrive, the trailer.
fn spawn_writer(
    file: std::fs::File,
    path: PathBuf,
    (preamble, trailer): (Vec<u8>, &'static [u8]),
    mut rx: tokio::sync::mpsc::Receiver<(Vec<u8>, u64)>,
    ctx: JobCtx,
) -> Result<Written> {
    let p2 = path.clone();
    std::thread::Builder::new()
        .name("datam-export-writer".into())
        .spawn(move || {
            let io = |source| Error::Io {
                path: p2.clone(),
                source,
            };
            let mut w = std::io::BufWriter::with_capacity(BATCH_BYTES, file);
            w.write_all(&preamble).map_err(io)?;
            let mut bytes = preamble.len() as u64;
            let mut rows = 0u64;
            while let Some((batch, n)) = rx.blocking_recv() {
                w.write_all(&batch).map_err(io)?;
                bytes += batch.len() as u64;
                rows += n;
                ctx.progress(Phase::Encode, Unit::Bytes, bytes, None);
                ctx.progress(Phase::Encode, Unit::Items, rows, None);
            }
            w.write_all(trailer).map_err(io)?;
            bytes += trailer.len() as u64;
            w.flush().map_err(io)?;
            Ok((rows, bytes))
        })
        .map_err(|source| Error::Io { path, source })
}

type BatchTx = tokio::sync::mpsc::Sender<(Vec<u8>, u64)>;

/// One connection: imports the snapshot and copies ranges until none is
/// left.
async fn worker(
    target: PgTarget,
    snapshot: String,
    statements: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    tx: BatchTx,
    ctx: JobCtx,
    binary: bool,
) -> Result<()> {
    let client = connect_client(&target).await?;
    let set = format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
        snapshot.replace('\'', "''")
    );
    client
        .batch_execute(&set)
        .await
        .map_err(pg_err("SET TRANSACTION SNAPSHOT"))?;
    while let Some(sql) = statements.get(next.fetch_add(1, Ordering::Relaxed)) {
        ctx.check()?;
        copy_one(&client, sql, &tx, &ctx, binary).await?;
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(pg_err("COMMIT"))?;
    Ok(())
}

fn new_batch() -> Vec<u8> {
    Vec::with_capacity(BATCH_BYTES + (BATCH_BYTES >> 3))
}

async fn send(tx: &BatchTx, batch: Vec<u8>, rows: u64) -> Result<()> {
    tx.send((batch, rows)).await.map_err(|_| Error::Io {
        path: "export writer".into(),
        source: std::io::Error::other("writer stopped"),
    })
}

/// Runs one `COPY … TO STDOUT` and sends its whole tuples (binary) or
/// rows (CSV: one CopyData message each) in batches.
async fn copy_one(
    client: &tokio_postgres::Client,
    sql: &str,
    tx: &BatchTx,
    ctx: &JobCtx,
    binary: bool,
) -> Result<()> {
    let stream = client.copy_out(sql).await.map_err(pg_err(sql))?;
    futures_util::pin_mut!(stream);
    let mut split = TupleSplitter::default();
    let mut batch = new_batch();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(pg_err(sql))?;
        if binary {
            n += split.push(&chunk, &mut batch)?;
        } else {
            batch.extend_from_slice(&chunk);
            n += 1;
        }
        if batch.len() >= BATCH_BYTES {
            send(
                tx,
                std::mem::replace(&mut batch, new_batch()),
                std::mem::take(&mut n),
            )
            .await?;
            ctx.check()?;
        }
    }
    if binary {
        split.finish()?;
    }
    if !batch.is_empty() {
        send(tx, batch, n).await?;
    }
    Ok(())
}
