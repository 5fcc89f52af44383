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
    #[arg(long)]
    pub table: String,
    /// Database (default: the one holding the table, else `postgres`).
    #[arg(long)]
    pub db: Option<String>,
    /// Print deleted/replaced tuples (committed) instead of live rows.
    #[arg(long)]
    pub dead: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DumpFormat::Copy)]
    pub format: DumpFormat,
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
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                t.db,
                t.schema,
                t.table,
                t.relfilenode,
                t.pages,
                t.live_tuples,
                t.dead_tuples,
                t.toast_table.as_deref().unwrap_or_default()
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
            "db\tschema\ttable\trelfilenode\tpages\tlive_tuples\tdead_tuples\ttoast_table"
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
    let req = DumpRequest {
        pgdata: args.pgdata.clone(),
        table: args.table.clone(),
        db: args.db.clone(),
        dead: args.dead,
        // DATAM_DUMP_THREADS overrides the worker count (for measurements).
        threads: std::env::var("DATAM_DUMP_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok()),
    };
    let format = match args.format {
        DumpFormat::Copy => dump::DumpFormat::Copy,
        DumpFormat::Csv => dump::DumpFormat::Csv,
        DumpFormat::Jsonl => dump::DumpFormat::Jsonl,
        DumpFormat::Sql => dump::DumpFormat::Sql,
        DumpFormat::Parquet => return run_dump_parquet(args, &req),
    };
    let (job, rep) = CliReporter::job(true);
    let r = dump::dump(&req, format, &job, out);
    rep.finish();
    r?;
    Ok(())
}

/// `--format parquet --out DIR`: the rows to `DIR/<SCHEMA.TABLE>.parquet`
/// (written even when damaged blocks end the job with an error).
fn run_dump_parquet(args: &DumpArgs, req: &DumpRequest) -> anyhow::Result<()> {
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
