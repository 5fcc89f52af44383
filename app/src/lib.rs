//! The `datam` application: command-line front end over DataM's library crates.
//!
//! The binary (`src/main.rs`) is a thin wrapper over [`main_entry`]; tests call
//! [`run`] with their own argument list and output buffer.
//!
//! Command modules:
//! - [`inspect`]: `datam inspect PATH` — identify a file and print its header facts.
//! - [`sqlite`]: `datam sqlite salvage|history` — SQLite recovery.
//! - [`pg`]: `datam pg wal|tables|dump|xacts|rescue` — PostgreSQL WAL and
//!   data-directory readers, and the undo of a mistaken transaction.
//! - [`live`]: `datam live tables|rows|edit|undo|export` — a running server
//!   or a working SQLite file (never evidence).
//! - [`snapshot`]: `datam snapshot add|list|show|verify|export|diff` — the
//!   evidence snapshot store.
//! - [`gui`]: `datam gui [PATH]` — the desktop app (crates/datam-gui).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod gui;
pub mod inspect;
pub mod live;
pub mod parquet;
pub mod pg;
pub mod report;
pub mod snapshot;
pub mod sqlite;

/// DataM: forensic recovery for PostgreSQL and SQLite. Evidence is only ever read.
#[derive(Debug, Parser)]
#[command(name = "datam", version, about, long_about = None)]
pub struct Cli {
    /// Format of log lines on stderr (`DATAM_LOG=info` shows each job's
    /// throughput; diagnostics are printed either way).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Format of the `tracing` log on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event (with the job and phase spans).
    Json,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Identify a file or directory from its bytes and print its header facts.
    Inspect(inspect::Args),
    /// SQLite recovery commands.
    #[command(subcommand)]
    Sqlite(sqlite::Cmd),
    /// PostgreSQL WAL and data-directory commands.
    #[command(subcommand)]
    Pg(pg::Cmd),
    /// Live databases: a running PostgreSQL server or a working SQLite file (never evidence).
    #[command(subcommand)]
    Live(live::Cmd),
    /// Evidence snapshots: add, list, show, verify, export, diff.
    #[command(subcommand)]
    Snapshot(snapshot::Cmd),
    /// The desktop app: browse evidence, recovered rows and their bytes.
    Gui(gui::Args),
}

/// Runs one command line (including the program name in `args[0]`), writing
/// its main output to `out`.
pub fn run<I, T>(args: I, out: &mut dyn Write) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = Cli::try_parse_from(&args)?;
    let _mounts = snapshot::reference::mount_all(args.get(1..).unwrap_or_default())?;
    dispatch(cli, out)
}

fn dispatch(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::run(&a, out),
        Command::Sqlite(c) => sqlite::run(c, out),
        Command::Pg(c) => pg::run(c, out),
        Command::Live(c) => live::run(c, out),
        Command::Snapshot(c) => snapshot::run(c, out),
        Command::Gui(a) => gui::run(&a),
    }
}

/// Entry point of the binary: parses `std::env::args_os`, runs the command
/// with a buffered stdout, prints errors with their causes (`{:#}`), and
/// treats a closed pipe (`datam ... | head`) as success.
pub fn main_entry() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.log_format);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    // Snapshot references (`STORE@ID:PATH`) stay mounted while the command runs.
    let result = snapshot::reference::mount_all(args.get(1..).unwrap_or_default())
        .map_err(anyhow::Error::from)
        .and_then(|_mounts| dispatch(cli, &mut out))
        .and_then(|()| out.flush().map_err(Into::into));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("datam: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DATAM_LOG")
        // Diagnostics reach the user through the job's reporter; their
        // tracing copy is for DATAM_LOG=... (e.g. with --log-format json).
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,datam_core::job=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
