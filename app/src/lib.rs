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
//! - [`gui`]: `datam gui [PATH]` — the desktop app (crates/datam-gui).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod gui;
pub mod inspect;
pub mod pg;
pub mod sqlite;

/// DataM: forensic recovery for PostgreSQL and SQLite. Evidence is only ever read.
#[derive(Debug, Parser)]
#[command(name = "datam", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
    let cli = Cli::try_parse_from(args)?;
    dispatch(cli, out)
}

fn dispatch(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::run(&a, out),
        Command::Sqlite(c) => sqlite::run(c, out),
        Command::Pg(c) => pg::run(c, out),
        Command::Gui(a) => gui::run(&a),
    }
}

/// Entry point of the binary: parses `std::env::args_os`, runs the command
/// with a buffered stdout, prints errors with their causes (`{:#}`), and
/// treats a closed pipe (`datam ... | head`) as success.
pub fn main_entry() -> ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = dispatch(cli, &mut out).and_then(|()| out.flush().map_err(Into::into));
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DATAM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
