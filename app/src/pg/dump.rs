//! `datam pg tables` and `datam pg dump`: arguments of the
//! [`datam_core::pg::dump`] jobs and their output.

use std::io::Write;
use std::path::PathBuf;

use datam_core::job::Sink;
use datam_core::pg::dump::{self, DumpRequest, TableInfo, TablesRequest};

use crate::report::CliReporter;

/// Output format of `datam pg tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TablesFormat {
    /// Tab-separated lines with a header.
    Text,
    /// One JSON object per table.
    Jsonl,
}

/// Arguments of `datam pg tables`.
#[derive(Debug, clap::Args)]
pub struct TablesArgs {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// Only this database (default: every database except template0/1).
    #[arg(long)]
    pub db: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TablesFormat::Text)]
    pub format: TablesFormat,
}

/// Output format of `datam pg dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DumpFormat {
    /// `COPY ... TO STDOUT` text format.
    Copy,
    /// `COPY ... (FORMAT csv)`.
    Csv,
    /// JSON lines with provenance (file, block, lp, xmin, xmax, status).
    Jsonl,
    /// `INSERT` statements.
    Sql,
    /// `--out DIR/<SCHEMA.TABLE>.parquet` (the Python binding's schema:
    /// provenance columns, Arrow types from the column types).
    Parquet,
}

/// Arguments of `datam pg dump`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// `SCHEMA.TABLE` (schema defaults to `public`).
    #[arg(long, required_unless_present = "all")]
    pub table: Option<String>,
    /// Every table and materialized view of the user schemas, each to its
    /// own file `--out DIR/<SCHEMA.TABLE>.<copy|csv|jsonl|sql>` (with
    /// `--db`; without it `DIR/<DB>/…` for every database but the
    /// templates), each file the table's own rows as `COPY table` prints
    /// them (`--only`). The catalog is read once; tables are dumped in
    /// parallel.
    #[arg(long, conflicts_with_all = ["table", "as_of"], requires = "out")]
    pub all: bool,
    /// Database (default: the one holding the table, else `postgres`).
    #[arg(long)]
    pub db: Option<String>,
    /// Print every deleted or replaced row version found instead of live
    /// rows: dead tuples on the heap, tuples carved from the pages (dead and
    /// unused line pointers, free space) and old images rebuilt from the
    /// WAL in pg_wal, de-duplicated (`--format jsonl` gives each row's
    /// status and source, and the partial carved rows).
    #[arg(long)]
    pub dead: bool,
    /// Only the table's own rows, as `COPY TABLE TO STDOUT` prints them
    /// (SQL's `ONLY`); without it a partitioned or inheritance parent covers
    /// its partitions and children, as `SELECT * FROM parent`.
    #[arg(long)]
    pub only: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DumpFormat::Copy)]
    pub format: DumpFormat,
    /// The table as it was at this moment: an LSN (`0/16B3F28`: commits
    /// after it are undone) or a time (`2026-12-01 09:58:00+00`), computed
    /// from the heap and pg_wal. Rows whose state cannot be rebuilt are
    /// listed on stderr and the exit code is non-zero.
    #[arg(long, conflicts_with = "dead")]
    pub as_of: Option<String>,
    /// With `--as-of`: write the JSON report (transactions undone, rows
    /// that could not be rebuilt) to this file.
    #[arg(long, requires = "as_of")]
    pub report: Option<PathBuf>,
    /// Directory of `--format parquet`'s file.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Prints tables as text or JSON lines.
struct TablesOut<'w> {
    out: &'w mut dyn Write,
    format: TablesFormat,
}

impl Sink<TableInfo> for TablesOut<'_> {
    type Error = std::io::Error;
    fn item(&mut self, t: TableInfo) -> std::io::Result<bool> {
        match self.format {
            TablesFormat::Text => writeln!(
                self.out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                t.db,
                t.schema,
                t.table,
                t.relfilenode,
                t.pages,
                t.live_tuples,
                t.dead_tuples,
                t.toast_table.as_deref().unwrap_or_default(),
                t.kind,
                t.children.join(",")
            )?,
            TablesFormat::Jsonl => {
                serde_json::to_writer(&mut *self.out, &t)?;
                self.out.write_all(b"\n")?;
            }
        }
        Ok(true)
    }
}

/// Runs `datam pg tables`.
pub fn run_tables(args: &TablesArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let req = TablesRequest {
        pgdata: args.pgdata.clone(),
        db: args.db.clone(),
    };
    let (job, _) = CliReporter::job(false);
    if args.format == TablesFormat::Text {
        writeln!(
            out,
            "db\tschema\ttable\trelfilenode\tpages\tlive_tuples\tdead_tuples\ttoast_table\tkind\tchildren"
        )?;
    }
    let mut sink = TablesOut {
        out,
        format: args.format,
    };
    dump::tables(&req, &job, &mut sink)?;
    Ok(())
}

/// Runs `datam pg dump`.
pub fn run_dump(args: &DumpArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let Some(table) = &args.table else {
        return super::dump_all::run(args, out);
    };
    let req = DumpRequest {
        pgdata: args.pgdata.clone(),
        table: table.clone(),
        db: args.db.clone(),
        dead: args.dead,
        only: args.only,
        threads: threads_override(),
    };
    let format = match args.format {
        DumpFormat::Copy => dump::DumpFormat::Copy,
        DumpFormat::Csv => dump::DumpFormat::Csv,
        DumpFormat::Jsonl => dump::DumpFormat::Jsonl,
        DumpFormat::Sql => dump::DumpFormat::Sql,
        DumpFormat::Parquet => return run_dump_parquet(args, &req),
    };
    let (job, rep) = CliReporter::job(true);
    if let Some(m) = &args.as_of {
        let as_of = parse_moment(m)?;
        let r = dump::dump_as_of(&req, as_of, format, &job, out);
        rep.finish();
        let summary = r?;
        if let Some(p) = &args.report {
            let f = std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
            serde_json::to_writer_pretty(f, &summary)?;
        }
        if let Some(start) = summary.wal_starts_after_moment {
            anyhow::bail!(
                "the WAL in pg_wal starts at {start}, after {m}: the result is incomplete"
            );
        }
        if !summary.is_complete() {
            anyhow::bail!(
                "{} row(s) of {} could not be rebuilt as of {m} (listed above); the result is incomplete",
                summary.incomplete.len(),
                summary.table
            );
        }
        return Ok(());
    }
    let r = dump::dump(&req, format, &job, out);
    rep.finish();
    r?;
    Ok(())
}

/// DATAM_DUMP_THREADS overrides the worker count (for measurements).
pub(super) fn threads_override() -> Option<usize> {
    std::env::var("DATAM_DUMP_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
}

/// `--as-of`: an LSN (`X/Y`) or a timestamp.
fn parse_moment(s: &str) -> anyhow::Result<dump::AsOf> {
    if s.contains('/') {
        let lsn: walparse::Lsn = s
            .parse()
            .map_err(|_| anyhow::anyhow!("--as-of: {s:?} is not an LSN (X/Y)"))?;
        return Ok(dump::AsOf::Lsn(lsn));
    }
    pgrescue::time::parse_timestamp(s)
        .map(dump::AsOf::TimeUs)
        .ok_or_else(|| anyhow::anyhow!("--as-of: {s:?} is neither an LSN (X/Y) nor a timestamp"))
}

/// Output format of `datam pg history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// One line per version: commit time, xid, commit LSN, operation,
    /// sources, changed columns, row.
    Text,
    /// One JSON object per change (old and new rows, changed columns).
    Jsonl,
}

/// Arguments of `datam pg history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The data directory (evidence; read-only). Its heap file and
    /// `pg_wal` are read.
    pub pgdata: PathBuf,
    /// `SCHEMA.TABLE` (schema defaults to `public`).
    #[arg(long)]
    pub table: String,
    /// Database (default: the one holding the table, else `postgres`).
    #[arg(long)]
    pub db: Option<String>,
    /// Only rows whose column COL was VAL before or after the change (repeatable).
    #[arg(long, value_name = "COL=VAL")]
    pub key: Vec<String>,
    /// Only transactions committed at or after this time or LSN (versions
    /// whose commit record is gone are then left out).
    #[arg(long)]
    pub since: Option<String>,
    /// Only transactions committed at or before this time or LSN.
    #[arg(long)]
    pub until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

/// Runs `datam pg history`.
pub fn run_history(args: &HistoryArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let keys = args
        .key
        .iter()
        .map(|k| {
            k.split_once('=')
                .map(|(c, v)| (c.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("--key wants COL=VAL, got {k:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let req = dump::HistoryRequest {
        table: DumpRequest {
            pgdata: args.pgdata.clone(),
            table: args.table.clone(),
            db: args.db.clone(),
            dead: false,
            only: false,
            threads: None,
        },
        keys,
        since: args.since.as_deref().map(parse_moment).transpose()?,
        until: args.until.as_deref().map(parse_moment).transpose()?,
    };
    let (job, rep) = CliReporter::job(false);
    let mut err: Option<std::io::Error> = None;
    let r = dump::history(&req, &job, &mut |v| {
        let res = match args.format {
            HistoryFormat::Jsonl => serde_json::to_writer(&mut *out, &v)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n")),
            HistoryFormat::Text => writeln!(out, "{}", history_line(&v)),
        };
        match res {
            Ok(()) => true,
            Err(e) => {
                err = Some(e);
                false
            }
        }
    });
    rep.finish();
    r?;
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(())
}

/// `TIME  xid X  LSN  OP  SOURCES  [in PARTITION]  [xmax X]  [changed: a,
/// b]  {row}` for the text format; TIME is `(rolled back)`, `(never
/// committed)` or `(outcome unknown)` for a transaction that did not commit.
fn history_line(v: &dump::RowVersion) -> String {
    let row = v.new.as_ref().or(v.old.as_ref());
    let row_text = row.map_or_else(String::new, |r| {
        r.iter()
            .map(|(k, x)| format!("{k}={}", x.as_deref().unwrap_or("NULL")))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let when = match v.outcome {
        dump::Outcome::Committed => v.commit_time.as_deref().unwrap_or("(no commit record)"),
        dump::Outcome::Aborted => "(rolled back)",
        dump::Outcome::InProgress => "(never committed)",
        dump::Outcome::Unknown => "(outcome unknown)",
    };
    let mut s = format!(
        "{}\txid {}\t{}\t{}\t{}",
        when,
        v.xid,
        v.commit_lsn
            .map_or_else(|| "-".to_string(), |l| l.to_string()),
        v.op,
        v.sources.join("+")
    );
    if let Some(t) = &v.table {
        s.push_str(&format!("\tin {t}"));
    }
    if let Some(x) = v.xmax {
        s.push_str(&format!("\txmax {x}"));
    }
    if !v.changed.is_empty() {
        s.push_str(&format!("\tchanged: {}", v.changed.join(", ")));
    }
    if let Some(why) = &v.incomplete {
        s.push_str(&format!("\tINCOMPLETE: {why}"));
    }
    s.push('\t');
    s.push_str(&row_text);
    s
}
/// `--format parquet --out DIR`: the rows to `DIR/<SCHEMA.TABLE>.parquet`
/// (written even when damaged blocks end the job with an error).
fn run_dump_parquet(args: &DumpArgs, req: &DumpRequest) -> anyhow::Result<()> {
    if args.as_of.is_some() {
        anyhow::bail!(
            "--as-of writes COPY, CSV, JSON lines or SQL; --format parquet is not supported with it"
        );
    }
    let dir = crate::parquet::out_dir(args.out.as_ref())?;
    crate::parquet::check_outside_inputs(std::slice::from_ref(&req.pgdata), dir)?;
    let mut files = crate::parquet::ParquetDir::create(dir)?;
    let (job, rep) = CliReporter::job(true);
    let r =
        datam_arrow::jobs::pg::dump_batches(req, &job, &mut |name, batch| files.write(name, batch));
    rep.finish();
    let written = files.close()?;
    crate::parquet::print_written(dir, &written);
    r?;
    Ok(())
}
