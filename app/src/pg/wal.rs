//! `datam pg wal`: arguments of the WAL scan ([`datam_core::pg::wal::scan`])
//! and its output as text (pg_waldump-like), JSON lines or statistics.

use std::io::Write;
use std::path::PathBuf;

use datam_core::pg::wal::{self, WalFormat, WalScanRequest, WalWriter};
use walparse::Lsn;

use crate::report::CliReporter;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per record, like pg_waldump.
    Text,
    /// One JSON object per record.
    Jsonl,
    /// `--out DIR/wal.parquet` (the Python binding's schema: the JSON
    /// lines' fields, LSNs as integers, plus the heap tuples).
    Parquet,
}

/// Statistics granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsMode {
    /// Per resource manager.
    Rmgr,
    /// Per resource manager and record type.
    Record,
}

/// Arguments of `datam pg wal`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A data directory, a WAL directory, or WAL segment files (and
    /// timeline history files, `0000000N.history`).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// First record LSN to show (e.g. 0/16B3740).
    #[arg(long)]
    pub start: Option<Lsn>,
    /// Stop before records starting at or after this LSN.
    #[arg(long)]
    pub end: Option<Lsn>,
    /// Timeline to read (default: the highest present). Its history file
    /// decides which timeline each segment is read from.
    #[arg(long)]
    pub timeline: Option<u32>,
    /// Only records of this transaction id.
    #[arg(long)]
    pub xid: Option<u32>,
    /// Only records of this resource manager (pg_waldump name, e.g. Heap).
    #[arg(long)]
    pub rmgr: Option<String>,
    /// Only records referencing a block of this relfilenode.
    #[arg(long, conflicts_with = "relation")]
    pub relfilenode: Option<u32>,
    /// Only records referencing a block of this table (`SCHEMA.TABLE`),
    /// resolved through the data directory's current catalog (first input
    /// must be a PGDATA). Older relfilenodes (before TRUNCATE, VACUUM FULL,
    /// CLUSTER) are not followed.
    #[arg(long)]
    pub relation: Option<String>,
    /// Database of `--relation` (default: the only database that has it).
    #[arg(long, requires = "relation")]
    pub database: Option<String>,
    /// Also decode older records still held by recycled segments (pages whose
    /// `xlp_pageaddr` is older than the file's position).
    #[arg(long)]
    pub include_recycled: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Directory of `--format parquet`'s `wal.parquet`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print statistics instead of records (`--stats=record` per record type).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "rmgr", require_equals = true)]
    pub stats: Option<StatsMode>,
}

impl Args {
    /// The request of the job.
    pub fn request(&self) -> WalScanRequest {
        WalScanRequest {
            inputs: self.inputs.clone(),
            start: self.start,
            end: self.end,
            timeline: self.timeline,
            xid: self.xid,
            rmgr: self.rmgr.clone(),
            relfilenode: self.relfilenode,
            relation: self.relation.clone(),
            database: self.database.clone(),
            include_recycled: self.include_recycled,
            stats: self.stats.map(|m| match m {
                StatsMode::Rmgr => wal::StatsMode::Rmgr,
                StatsMode::Record => wal::StatsMode::Record,
            }),
        }
    }
}

/// Runs `datam pg wal`.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let req = args.request();
    if args.format == Format::Parquet {
        return run_parquet(args, &req);
    }
    let (job, rep) = CliReporter::job(true);
    let format = match args.format {
        Format::Text | Format::Parquet => WalFormat::Text,
        Format::Jsonl => WalFormat::Jsonl,
    };
    let summary = wal::scan(&req, &job, &mut WalWriter::new(out, format));
    rep.finish();
    let summary = summary?;
    if let (Some(stats), Some(mode)) = (&summary.stats, req.stats) {
        stats.write_table(summary.ctx.major, mode, out)?;
    }
    Ok(())
}

/// `--format parquet --out DIR`: the records to `DIR/wal.parquet`.
fn run_parquet(args: &Args, req: &WalScanRequest) -> anyhow::Result<()> {
    let dir = crate::parquet::out_dir(args.out.as_ref())?;
    if req.stats.is_some() || req.include_recycled {
        anyhow::bail!("--format parquet writes records: without --stats or --include-recycled");
    }
    crate::parquet::check_outside_inputs(&req.inputs, dir)?;
    let mut files = crate::parquet::ParquetDir::create(dir)?;
    let (job, rep) = CliReporter::job(true);
    let r = datam_arrow::jobs::wal::wal(req, &job, &mut |name, batch| files.write(name, batch));
    rep.finish();
    r?;
    crate::parquet::print_written(dir, &files.close()?);
    Ok(())
}
