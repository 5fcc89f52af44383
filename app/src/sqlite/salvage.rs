//! `datam sqlite salvage <DB>`: every live row, plus deleted rows and dropped
//! tables carved from free space, to SQL / CSV / JSONL (issue 3).
//!
//! The job is `datam_core::sqlite::salvage` (flow, sinks and encoders are
//! documented there); this module maps the command line to its request and
//! prints what a person reads.
//!
//! Exit status: 0 when the file was read (even with damage; diagnostics go to
//! stderr and `report.json`); non-zero only when the evidence cannot be
//! opened or nothing at all (no schema, no row) could be recovered from it.

use std::io::Write;
use std::path::PathBuf;

use datam_core::sqlite::salvage::{self as job, Output, SalvageRequest};

use crate::report::{Bar, CliReporter, Options};

/// Database diagnostics printed to stderr; the rest are counted (all are in
/// `report.json` with `--out`).
const SHOWN_DIAGNOSTICS: usize = 20;

/// Output format for stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A script `sqlite3 new.db < recovered.sql` loads.
    Sql,
    /// CSV: table, status, page, offset, rowid, confidence, partial (0|1), lost (the names of the lost columns), then the values.
    Csv,
    /// One JSON object per row.
    Jsonl,
    /// One Parquet file per table in `--out DIR` (the Python binding's
    /// schema: provenance columns, one `{int, real, text, blob}` struct per
    /// column).
    Parquet,
}

/// Arguments of `datam sqlite salvage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
    /// Format written to stdout when `--out` is not given.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write recovered.sql, one CSV per table and status, rows.jsonl and
    /// report.json here (with `--format parquet`: `<table>.parquet` files).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Live rows only: no carving.
    #[arg(long)]
    pub no_deleted: bool,
    /// Only these tables (repeatable).
    #[arg(long = "table")]
    pub tables: Vec<String>,
    /// `-wal` / `-journal` beside the database (history issue 4).
    #[command(flatten)]
    pub side: crate::sqlite::history::SideFiles,
}

impl Args {
    /// The job's request.
    pub fn to_request(&self) -> SalvageRequest {
        let output = match &self.out {
            Some(dir) if self.format != Format::Parquet => Output::Dir(dir.clone()),
            _ => Output::Stream(match self.format {
                Format::Sql => job::Format::Sql,
                Format::Csv => job::Format::Csv,
                Format::Jsonl | Format::Parquet => job::Format::Jsonl,
            }),
        };
        SalvageRequest {
            db: self.db.clone(),
            side: self.side.to_request(),
            tables: self.tables.clone(),
            deleted: !self.no_deleted,
            output,
        }
    }
}

/// Runs the salvage.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let (ctx, reporter) = CliReporter::job_with(Options {
        bar: Bar::PagesOver(2 * 2048),
        notes: false,
        db_limit: SHOWN_DIAGNOSTICS,
    });
    let summary = if args.format == Format::Parquet {
        let dir = crate::parquet::out_dir(args.out.as_ref())?;
        let mut files = crate::parquet::ParquetDir::create(dir)?;
        let result = datam_arrow::jobs::sqlite::salvage_batches(
            &args.to_request(),
            &ctx,
            &mut |name, batch| files.write(name, batch),
        );
        reporter.finish();
        let summary = result?;
        crate::parquet::print_written(dir, &files.close()?);
        summary
    } else {
        let result = job::salvage_to(&args.to_request(), &ctx, out);
        reporter.finish();
        result?
    };
    let hidden = reporter.db_hidden();
    if hidden > 0 {
        eprintln!("datam: warning: ... {hidden} more diagnostics (see report.json with --out)");
    }
    if summary.nothing_recovered() {
        anyhow::bail!(
            "nothing recovered: no SQLite header, schema or rows found in {}",
            args.db.display()
        );
    }
    Ok(())
}
