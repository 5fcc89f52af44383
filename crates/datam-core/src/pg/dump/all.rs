//! Every table of a database at once ([`dump_all`]): the catalog is read
//! once per database, and each table's own rows (`--only`, as `COPY table`
//! prints them) go to the writer the caller opens for it. Tables larger
//! than one batch are dumped one after another with the usual block-level
//! parallelism; the small ones, most of a typical database, one per worker
//! thread at a time.
//!
//! **Invariant:** one table's failure (damaged blocks, an unwritable
//! output) is that table's result; the others are still dumped.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pgdata::DataDir;
use pgdata::catalog::{Catalog, ClassRow};
use pgdata::table::TableScan;
use serde::Serialize;

use super::encode::{Batch, Encoder};
use super::tables::{is_user_schema, selected_databases};
use super::{BATCH_BLOCKS, DumpFormat, DumpRequest, DumpSummary, Encoders, run_opened};
use crate::job::{Diagnostic, JobCtx, Phase, Progress, Reporter, Unit};
use crate::pg::catalogs::{databases, open_db};
use crate::pg::{Error, Result, report_warnings};

/// What [`dump_all`] dumps.
#[derive(Debug, Clone)]
pub struct DumpAllRequest {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// Only this database (default: every database except template0/1).
    pub db: Option<String>,
    /// Deleted/replaced row versions instead of live rows (as
    /// [`DumpRequest::dead`]).
    pub dead: bool,
    /// Worker threads (default: the available parallelism, at most 8).
    pub threads: Option<usize>,
}

/// One table of a whole-database dump.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TableRef {
    /// Database name.
    pub db: String,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
}

/// What the dump of one table gave.
#[derive(Debug)]
pub struct TableDump {
    /// The table.
    pub table: TableRef,
    /// Its summary, or why it failed (its output may hold the rows written
    /// before).
    pub result: Result<DumpSummary>,
}

/// Opens the output of one table.
pub type OpenOutput<'a> = dyn Fn(&TableRef) -> std::io::Result<Box<dyn Write>> + Sync + 'a;

/// Dumps every table and materialized view of the user schemas of
/// `req.db` (or of every database but the templates) in `format`, each to
/// the writer `open` gives for it. Returns one result per table, sorted by
/// database, schema and name; `Err` only when the data directory or a
/// database's catalog cannot be read.
pub fn dump_all(
    req: &DumpAllRequest,
    format: DumpFormat,
    job: &JobCtx,
    open: &OpenOutput<'_>,
) -> Result<Vec<TableDump>> {
    let _span = tracing::info_span!("pg_dump_all").entered();
    let dir = DataDir::open(&req.pgdata)?;
    let dbs = databases(&dir, job, true)?;
    let selected = selected_databases(&dbs, req.db.as_ref())?;
    let mut out = Vec::new();
    for db in selected {
        let cat = open_db(&dir, db)?;
        report_warnings(job, &cat.warnings);
        let all = AllTables {
            req,
            dir: &dir,
            cat: &cat,
            encoder: Encoder::Text(format),
            job,
            open,
        };
        out.extend(all.run()?);
        job.check()?;
    }
    out.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(out)
}

/// A table and its schema's name.
type Named<'c> = (String, &'c ClassRow);

/// The dump of one database's tables.
struct AllTables<'a> {
    req: &'a DumpAllRequest,
    dir: &'a DataDir,
    cat: &'a Catalog,
    encoder: Encoder,
    job: &'a JobCtx,
    open: &'a OpenOutput<'a>,
}

impl AllTables<'_> {
    /// The tables and materialized views of the user schemas, the large
    /// ones (more than one batch of blocks) first.
    fn tables(&self) -> (Vec<Named<'_>>, Vec<Named<'_>>) {
        let found = self
            .cat
            .classes
            .iter()
            .filter(|c| matches!(c.relkind, b'r' | b'm'))
            .filter_map(|c| Some((self.cat.namespaces.get(&c.relnamespace)?.clone(), c)))
            .filter(|(s, _)| is_user_schema(s));
        found.partition(|(_, c)| {
            TableScan::new(self.cat, c).is_ok_and(|s| s.n_blocks() > BATCH_BLOCKS)
        })
    }

    fn run(&self) -> Result<Vec<TableDump>> {
        let (large, small) = self.tables();
        let total = (large.len() + small.len()) as u64;
        let done = AtomicU64::new(0);
        let finished = |d: TableDump| {
            let n = done.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            self.job.progress(Phase::Scan, Unit::Items, n, Some(total));
            d
        };
        let mut out: Vec<TableDump> = Vec::new();
        for (schema, class) in &large {
            self.job.check()?;
            out.push(finished(self.one(schema, class, self.req.threads)));
        }
        let workers = self
            .req
            .threads
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1)
            .clamp(1, 8)
            .min(small.len().max(1));
        let next = AtomicUsize::new(0);
        let results = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..workers {
                let (next, results, small, finished) = (&next, &results, &small, &finished);
                let spawned = std::thread::Builder::new()
                    .name(format!("datam-dump-all-{t}"))
                    .spawn_scoped(s, move || {
                        while let Some((schema, class)) =
                            small.get(next.fetch_add(1, Ordering::Relaxed))
                        {
                            if self.job.cancel.is_cancelled() {
                                break;
                            }
                            let d = finished(self.one(schema, class, Some(1)));
                            if let Ok(mut r) = results.lock() {
                                r.push(d);
                            }
                        }
                    });
                if let Err(e) = spawned {
                    return Err(Error::Thread(e));
                }
            }
            Ok(())
        })?;
        self.job.check()?;
        out.extend(results.into_inner().unwrap_or_default());
        Ok(out)
    }

    /// Dumps one table (its own rows) to its output, with `threads` workers.
    fn one(&self, schema: &str, class: &ClassRow, threads: Option<usize>) -> TableDump {
        let table = TableRef {
            db: self.cat.db.name.clone(),
            schema: schema.to_string(),
            table: class.relname.clone(),
        };
        let job = JobCtx {
            cancel: self.job.cancel.clone(),
            reporter: Arc::new(TableReporter {
                inner: self.job.reporter.clone(),
                table: format!("{schema}.{}", class.relname),
            }),
        };
        let req = DumpRequest {
            pgdata: self.req.pgdata.clone(),
            table: format!("{schema}.{}", class.relname),
            db: Some(self.cat.db.name.clone()),
            dead: self.req.dead,
            only: true,
            threads,
        };
        let result = (self.open)(&table).map_err(Error::from).and_then(|mut w| {
            let names = (schema.to_string(), class.relname.clone());
            let s = run_opened(
                &req,
                ((self.dir, self.cat, class, names), None),
                self.encoder,
                &job,
                &Encoders(&job),
                |batch| match batch {
                    Batch::Text(s, _) => Ok(w.write_all(s.as_bytes())?),
                    Batch::Rows(_) => Ok(()),
                },
            );
            let flushed = w.flush();
            let s = s?;
            flushed?;
            Ok(s)
        });
        TableDump { table, result }
    }
}

/// Passes one table's diagnostics on with the table named, and drops its
/// block progress (the whole dump counts tables).
struct TableReporter {
    inner: Arc<dyn Reporter>,
    table: String,
}

impl Reporter for TableReporter {
    fn progress(&self, _: &Progress) {}
    fn diagnostic(&self, d: &Diagnostic) {
        let mut d = d.clone();
        d.message = format!("{}: {}", self.table, d.message);
        self.inner.diagnostic(&d);
    }
}
