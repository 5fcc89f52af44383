//! `datam pg xacts` and `datam pg rescue`: arguments of the
//! [`datam_core::pg::rescue`] jobs and their output (transaction list, dry
//! run, `--out` undo SQL with `report.json`, `--apply` on a server).

use std::io::Write;
use std::path::PathBuf;

use datam_core::job::Sink;
use datam_core::pg::rescue::{self, RescueRequest, XactInfo, XactsRequest};
use pgrescue::sql::Timeouts;
use pgrescue::time::parse_timestamp;
use walparse::Lsn;

use crate::report::CliReporter;

/// Output format of `datam pg xacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XactsFormat {
    /// Tab-separated lines with a header, one per transaction and table.
    Text,
    /// One JSON object per transaction.
    Jsonl,
}

/// Arguments of `datam pg xacts`.
#[derive(Debug, clap::Args)]
pub struct XactsArgs {
    /// The data directory (evidence; read-only). Its `pg_wal` is read.
    pub pgdata: PathBuf,
    /// Only transactions that changed rows of this table (`SCHEMA.TABLE`,
    /// schema defaults to `public`); repeatable.
    #[arg(long)]
    pub table: Vec<String>,
    /// Database of `--table` (default: the one holding it).
    #[arg(long)]
    pub db: Option<String>,
    /// Only transactions committed at or after this time (`2024-05-01 10:00:00+00`; no zone = UTC).
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<i64>,
    /// Only transactions committed at or before this time.
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = XactsFormat::Text)]
    pub format: XactsFormat,
}

/// Arguments of `datam pg rescue`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).multiple(true).args(["dry_run", "out", "apply"])))]
pub struct RescueArgs {
    /// The data directory (evidence; read-only). Its `pg_wal` is read.
    pub pgdata: PathBuf,
    /// Table to rescue (`SCHEMA.TABLE`, schema defaults to `public`); repeatable.
    #[arg(long, required = true)]
    pub table: Vec<String>,
    /// Database of the tables (default: the one holding them).
    #[arg(long)]
    pub db: Option<String>,
    /// The mistaken transaction (a subtransaction id selects its top).
    #[arg(long, conflicts_with_all = ["lsn_from", "lsn_to", "since", "until"])]
    pub xid: Option<u32>,
    /// Every committed transaction whose commit record is at or after this LSN.
    #[arg(long)]
    pub lsn_from: Option<Lsn>,
    /// ... and at or before this LSN.
    #[arg(long)]
    pub lsn_to: Option<Lsn>,
    /// Every committed transaction committed at or after this time.
    #[arg(long, value_parser = parse_time_arg, conflicts_with_all = ["lsn_from", "lsn_to"])]
    pub since: Option<i64>,
    /// ... and at or before this time.
    #[arg(long, value_parser = parse_time_arg, conflicts_with_all = ["lsn_from", "lsn_to"])]
    pub until: Option<i64>,
    /// Print the impact and the source of every row; change nothing.
    #[arg(long, conflicts_with_all = ["out", "apply"])]
    pub dry_run: bool,
    /// Write the undo SQL here (and `report.json` in the same directory;
    /// with `--apply`, the report also holds the rows affected).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run the undo on this server (`postgres://...` or `host=... dbname=...`)
    /// in one transaction.
    #[arg(long)]
    pub apply: Option<String>,
    /// `lock_timeout` of the undo transaction.
    #[arg(long, default_value = "5s")]
    pub lock_timeout: String,
    /// `statement_timeout` of the undo transaction.
    #[arg(long, default_value = "5min")]
    pub statement_timeout: String,
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    parse_timestamp(s).ok_or_else(|| {
        format!("{s:?} is not a time (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH[:MM]])")
    })
}

/// Prints transactions as text (a line per table) or JSON lines.
struct XactsOut<'w> {
    out: &'w mut dyn Write,
    format: XactsFormat,
}

impl Sink<XactInfo> for XactsOut<'_> {
    type Error = std::io::Error;
    fn item(&mut self, x: XactInfo) -> std::io::Result<bool> {
        match self.format {
            XactsFormat::Text => {
                let prepared = if x.prepared { " (prepared)" } else { "" };
                for t in &x.tables {
                    writeln!(
                        self.out,
                        "{}\t{}{prepared}\t{}\t{}\t{}\t{}\t{}\t{}",
                        x.xid,
                        x.commit_time,
                        x.first_lsn,
                        x.commit_lsn,
                        t.table,
                        t.inserted,
                        t.updated,
                        t.deleted
                    )?;
                }
            }
            XactsFormat::Jsonl => {
                serde_json::to_writer(&mut *self.out, &x)?;
                self.out.write_all(b"\n")?;
            }
        }
        Ok(true)
    }
}

/// Runs `datam pg xacts`.
pub fn run_xacts(args: &XactsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let req = XactsRequest {
        pgdata: args.pgdata.clone(),
        tables: args.table.clone(),
        db: args.db.clone(),
        since_us: args.since,
        until_us: args.until,
    };
    let (job, rep) = CliReporter::job(true);
    if args.format == XactsFormat::Text {
        writeln!(
            out,
            "xid\tcommit_time\tfirst_lsn\tcommit_lsn\ttable\tinserted\tupdated\tdeleted"
        )?;
    }
    let mut sink = XactsOut {
        out,
        format: args.format,
    };
    let r = rescue::xacts(&req, &job, &mut sink);
    rep.finish();
    Ok(r?)
}

/// Runs `datam pg rescue`.
pub fn run_rescue(args: &RescueArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(p) = &args.out {
        rescue::check_outside(&args.pgdata, p)?;
    }
    let req = RescueRequest {
        pgdata: args.pgdata.clone(),
        tables: args.table.clone(),
        db: args.db.clone(),
        xid: args.xid,
        lsn_from: args.lsn_from,
        lsn_to: args.lsn_to,
        since_us: args.since,
        until_us: args.until,
    };
    let (job, rep) = CliReporter::job(true);
    let plan = rescue::plan(&req, &job);
    rep.finish();
    let plan = plan?;
    let timeouts = Timeouts {
        lock_timeout: args.lock_timeout.clone(),
        statement_timeout: args.statement_timeout.clone(),
    };
    if args.dry_run {
        return Ok(rescue::write_dry_run(&plan, out)?);
    }
    if let Some(path) = &args.out {
        plan.write_undo(path, &timeouts)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    let mut affected = None;
    if let Some(url) = &args.apply {
        let a = rescue::apply(&plan, url, &timeouts, &job)?;
        for (what, n) in &a {
            writeln!(out, "{what}: {n} row(s)")?;
        }
        affected = Some(a);
    }
    if let Some(path) = &args.out {
        let report = plan.write_report(path, affected.as_ref())?;
        writeln!(out, "wrote {}", report.display())?;
        for line in plan.counts_lines() {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
