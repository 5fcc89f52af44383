//! The PostgreSQL jobs of the GUI, each one datam-core use case on a
//! background thread: `pg tables` ([`start_tables`]), `pg dump` live then
//! dead rows ([`start_rows`]), `pg xacts` of one table ([`start_xacts`]),
//! the rescue plan with its dry-run text ([`start_plan`]), writing
//! `undo.sql` + `report.json` ([`start_write`]) and applying the undo to a
//! server ([`start_apply`]).
//!
//! **Architecture Invariant:** the data directory is only read; the undo
//! files are written only outside it (`rescue::check_outside`, the same
//! check `datam pg rescue --out` makes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datam_core::job::JobCtx;
use datam_core::pg::dump::{DumpRequest, DumpRow, TableInfo, TablesRequest};
use datam_core::pg::rescue::{self, Counts, RescuePlan, RescueRequest, XactInfo, XactsRequest};
use pgrescue::sql::Timeouts;

use crate::job::{Batcher, Job, Waker};

/// Whether `path` looks like a PostgreSQL data directory (on a job thread;
/// through `evidence::vfs`, so a snapshot reference works too).
pub fn is_pg_data_dir(path: &Path) -> bool {
    evidence::vfs::is_file(&path.join("PG_VERSION")) && evidence::vfs::is_dir(&path.join("global"))
}

/// Whether `path` is a directory holding WAL segment files (a `pg_wal`
/// copied without its data directory), on a job thread. Segment names are
/// 24 hex digits whatever the segment size (1 MiB is the smallest).
pub fn is_wal_dir(path: &Path) -> bool {
    evidence::vfs::read_dir(path).is_ok_and(|entries| {
        entries.iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| walparse::parse_segment_file_name(n, 1 << 20))
                .is_some()
                && evidence::vfs::is_file(p)
        })
    })
}

/// Messages of the tables job.
#[derive(Debug)]
pub enum TablesMsg {
    /// The path is no data directory.
    NotPg,
    /// The path is no data directory but a directory of WAL segments.
    WalDir,
    /// The tables, as `datam pg tables` lists them.
    Tables(Vec<TableInfo>),
    /// The job failed.
    Failed(String),
}

/// Starts `pg tables` on `path` (every database).
pub fn start_tables(path: PathBuf, wake: Waker) -> std::io::Result<Job<TablesMsg>> {
    Job::spawn("pg-tables", wake, move |ctx, out| {
        if !is_pg_data_dir(&path) {
            out.send(if is_wal_dir(&path) {
                TablesMsg::WalDir
            } else {
                TablesMsg::NotPg
            });
            return;
        }
        let req = TablesRequest {
            pgdata: path,
            db: None,
        };
        let mut v: Vec<TableInfo> = Vec::new();
        out.send(match datam_core::pg::dump::tables(&req, ctx, &mut v) {
            Ok(()) => TablesMsg::Tables(v),
            Err(e) => TablesMsg::Failed(e.to_string()),
        });
    })
}

/// Messages of the rows job.
#[derive(Debug)]
pub enum RowsMsg {
    /// Column names, before any row.
    Columns(Vec<String>),
    /// A batch of rows (live rows first, then dead ones).
    Rows(Vec<DumpRow>),
    /// One of the two dumps failed (the other's rows still come).
    Failed(String),
}

/// Starts `pg dump` of `table` (`db`, `schema.table`): its live rows, then
/// its dead ones (`pg dump --dead`), with their provenance.
pub fn start_rows(
    path: PathBuf,
    db: String,
    table: String,
    wake: Waker,
) -> std::io::Result<Job<RowsMsg>> {
    Job::spawn("pg-dump", wake, move |ctx, out| {
        let mut sink = Batcher::new(out, RowsMsg::Rows);
        for dead in [false, true] {
            let req = DumpRequest {
                pgdata: path.clone(),
                table: table.clone(),
                db: Some(db.clone()),
                dead,
                only: false,
                threads: None,
            };
            match datam_core::pg::dump::dump_rows(&req, ctx, &mut sink) {
                Ok(s) if !dead => {
                    sink.flush();
                    out.send(RowsMsg::Columns(s.columns));
                }
                Ok(_) => {}
                Err(e) => {
                    out.send(RowsMsg::Failed(e.to_string()));
                }
            }
            if !sink.flush() || ctx.check().is_err() {
                return;
            }
        }
    })
}

/// Starts `pg xacts --table TABLE` (in database `db`).
pub fn start_xacts(
    path: PathBuf,
    db: String,
    table: String,
    wake: Waker,
) -> std::io::Result<Job<Result<Vec<XactInfo>, String>>> {
    Job::spawn("pg-xacts", wake, move |ctx, out| {
        let req = XactsRequest {
            pgdata: path,
            tables: vec![table],
            db: Some(db),
            since_us: None,
            until_us: None,
        };
        let mut v: Vec<XactInfo> = Vec::new();
        out.send(
            rescue::xacts(&req, ctx, &mut v)
                .map(|()| v)
                .map_err(|e| e.to_string()),
        );
    })
}

/// One row of the dry run: the tab-separated fields `datam pg rescue
/// --dry-run` prints (kind, key, lsn, old source, new source, status).
pub type DryRow = [String; 6];

/// The dry run of one table.
#[derive(Debug, Clone)]
pub struct DryTable {
    /// The `table schema.t: re-insert N, ...` line as the CLI prints it.
    pub line: String,
    /// The counts.
    pub counts: Counts,
    /// Notes and warnings under the line.
    pub notes: Vec<String>,
    /// The rows with their sources.
    pub rows: Vec<DryRow>,
}

/// A planned rescue, ready to write or apply.
pub struct Planned {
    /// The plan (shared with the write and apply jobs).
    pub plan: Arc<RescuePlan>,
    /// `transaction X committed ...` lines.
    pub targets: Vec<String>,
    /// One entry per table.
    pub tables: Vec<DryTable>,
}

/// Starts planning the undo of `xid` in `table` (`db`) and renders its dry
/// run with datam-core's `write_dry_run`, the text `datam pg rescue
/// --dry-run` prints.
pub fn start_plan(
    path: PathBuf,
    db: String,
    table: String,
    xid: u32,
    wake: Waker,
) -> std::io::Result<Job<Result<Planned, String>>> {
    Job::spawn("pg-rescue-plan", wake, move |ctx, out| {
        let req = RescueRequest {
            pgdata: path,
            tables: vec![table],
            db: Some(db),
            xid: Some(xid),
            ..RescueRequest::default()
        };
        out.send(plan(&req, ctx));
    })
}

fn plan(req: &RescueRequest, ctx: &JobCtx) -> Result<Planned, String> {
    let plan = rescue::plan(req, ctx).map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    rescue::write_dry_run(&plan, &mut text).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&text);
    let counts: Vec<Counts> = plan.plans.iter().map(rescue::counts).collect();
    let (targets, tables) = parse_dry_run(&text, &counts);
    Ok(Planned {
        plan: Arc::new(plan),
        targets,
        tables,
    })
}

/// Splits the dry-run text into its transaction lines and, per table, the
/// counts line, the notes and the rows.
fn parse_dry_run(text: &str, counts: &[Counts]) -> (Vec<String>, Vec<DryTable>) {
    let mut targets = Vec::new();
    let mut tables: Vec<DryTable> = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("table ") {
            let c = counts.get(tables.len()).copied().unwrap_or_default();
            tables.push(DryTable {
                line: t.to_string(),
                counts: c,
                notes: Vec::new(),
                rows: Vec::new(),
            });
        } else if line.starts_with("transaction ") && tables.is_empty() {
            targets.push(line.to_string());
        } else if let Some(t) = tables.last_mut() {
            if line.starts_with("kind\t") {
                continue;
            }
            let f: Vec<&str> = line.splitn(6, '\t').collect();
            if let [a, b, c, d, e, g] = f.as_slice() {
                t.rows.push([a, b, c, d, e, g].map(|s| (*s).to_string()));
            } else {
                t.notes.push(line.trim().to_string());
            }
        }
    }
    (targets, tables)
}

/// Starts writing `undo.sql` at `undo` and `report.json` beside it (both
/// refused inside the data directory). Returns the paths written.
pub fn start_write(
    plan: Arc<RescuePlan>,
    undo: PathBuf,
    timeouts: Timeouts,
    wake: Waker,
) -> std::io::Result<Job<Result<Vec<PathBuf>, String>>> {
    Job::spawn("pg-rescue-write", wake, move |_ctx, out| {
        let p = &*plan;
        let res = rescue::check_outside(&p.pgdata, &undo)
            .and_then(|()| p.write_undo(&undo, &timeouts))
            .and_then(|()| p.write_report(&undo, None))
            .map(|report| vec![undo.clone(), report])
            .map_err(|e| e.to_string());
        out.send(res);
    })
}

/// Rows affected by an apply, per `schema.table kind`.
pub type AppliedRows = Vec<(String, u64)>;

/// Starts applying the undo on `conninfo` in one transaction
/// (datam-core's `rescue::apply`, the path of `datam pg rescue --apply`).
/// Returns the rows affected per `schema.table kind`.
pub fn start_apply(
    plan: Arc<RescuePlan>,
    conninfo: String,
    timeouts: Timeouts,
    wake: Waker,
) -> std::io::Result<Job<Result<AppliedRows, String>>> {
    Job::spawn("pg-rescue-apply", wake, move |ctx, out| {
        let res = rescue::apply(&plan, &conninfo, &timeouts, ctx)
            .map(|a| a.into_iter().collect())
            .map_err(|e| e.to_string());
        out.send(res);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_text_splits_into_targets_tables_and_rows() {
        let text = "transaction 7 committed 2024 at 0/1 (subtransactions: 0)\n\
            table public.t: re-insert 1, revert 0, delete 0, skipped by later work 0, incomplete 0 (key: Columns)\n\
            \x20 warning: w\n\
            kind\tkey\tlsn\told_source\tnew_source\tstatus\n\
            re-insert\tid=3\t0/2\theap 0/3\t-\trestorable\n";
        let (t, tables) = parse_dry_run(text, &[Counts::default()]);
        assert_eq!(t.len(), 1);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].notes, vec!["warning: w".to_string()]);
        assert_eq!(tables[0].rows[0][1], "id=3");
        assert!(tables[0].line.starts_with("public.t: re-insert 1"));
    }
}
