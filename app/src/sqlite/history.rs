//! `datam sqlite history`: every version of every row found in a database,
//! its `-wal` and its `-journal`, in commit order, with what changed.
//!
//! The job is `datam_core::sqlite::history::history` (over
//! `sqlite_pages::history`, where the statuses are documented); this module
//! maps the command line to its request and prints.

use std::io::Write;
use std::path::PathBuf;

use datam_core::sqlite::history::{self as job, HistoryItem, HistoryRequest};
use datam_core::sqlite::history_text::{write_jsonl, write_text};

use crate::report::{Bar, CliReporter, Options};

/// Output format of `datam sqlite history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Versions grouped by row, with the changed columns.
    Text,
    /// One JSON object per version.
    Jsonl,
}

/// Which `-wal` / `-journal` files to read with the database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SideFiles {
    /// WAL file to read (default: `<DB>-wal` if it exists).
    #[arg(long, value_name = "PATH", conflicts_with = "no_wal")]
    pub wal: Option<PathBuf>,
    /// Rollback journal to read (default: `<DB>-journal` if it exists).
    #[arg(long, value_name = "PATH", conflicts_with = "no_journal")]
    pub journal: Option<PathBuf>,
    /// Ignore any WAL.
    #[arg(long)]
    pub no_wal: bool,
    /// Ignore any rollback journal.
    #[arg(long)]
    pub no_journal: bool,
}

impl SideFiles {
    /// The job's side-file selection.
    pub fn to_request(&self) -> job::SideFiles {
        job::SideFiles {
            wal: self.wal.clone(),
            journal: self.journal.clone(),
            no_wal: self.no_wal,
            no_journal: self.no_journal,
        }
    }
}

/// Arguments of `datam sqlite history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
    /// Only this table.
    #[arg(long)]
    pub table: Option<String>,
    /// Only the row with this rowid.
    #[arg(long, conflicts_with = "key")]
    pub rowid: Option<i64>,
    /// Only the row with this primary key (WITHOUT ROWID tables; several key
    /// columns joined with `|`), or this rowid written as text.
    #[arg(long)]
    pub key: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Side files.
    #[command(flatten)]
    pub side: SideFiles,
}

/// Runs the history command.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let req = HistoryRequest {
        db: args.db.clone(),
        side: args.side.to_request(),
        table: args.table.clone(),
        rowid: args.rowid,
        key: args.key.clone(),
    };
    let (ctx, _) = CliReporter::job_with(Options {
        bar: Bar::PagesOver(2 * 2048),
        notes: false,
        db_limit: usize::MAX,
    });
    let mut versions: Vec<HistoryItem> = Vec::new();
    let outcome = job::history(&req, &ctx, &mut versions)?;
    for n in &outcome.notes {
        tracing::info!("{n}");
    }
    match args.format {
        Format::Jsonl => write_jsonl(&versions, out)?,
        Format::Text => write_text(&outcome.tables, &outcome.notes, &versions, out)?,
    }
    Ok(())
}
