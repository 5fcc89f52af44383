//! `datam live ...`: a running PostgreSQL server or a working SQLite file
//! (never evidence). Thin front end over the `datam-live` crate.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use datam_live::{CommitOptions, Session, Target};

mod edit;
mod export;
mod password;
mod rows;

/// `datam live` subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List tables and views with their keys.
    Tables(Conn),
    /// Print rows of a table, read in binary format with exact types.
    Rows(rows::Args),
    /// Change rows through a plan: --dry-run shows it, --commit runs it guarded.
    Edit(edit::Args),
    /// Revert a committed plan from the journal (refusing rows changed since).
    Undo(edit::UndoArgs),
    /// Export a table: parallel binary/CSV COPY over one shared snapshot (PostgreSQL), or JSON lines.
    Export(export::Args),
    /// Store or delete a server's password in the OS keychain.
    #[command(subcommand)]
    Password(password::Cmd),
}

/// The connection arguments every subcommand takes.
#[derive(Debug, ClapArgs)]
pub struct Conn {
    /// postgres://…, "host=… dbname=…", or sqlite:PATH (a working file, never evidence).
    pub url: String,
    /// Make the session read-only; edits are refused.
    #[arg(long)]
    pub read_only: bool,
}

impl Conn {
    fn open(&self) -> anyhow::Result<(Target, Session)> {
        let target = Target::parse(&self.url)?;
        let s = Session::open(&target, self.read_only).with_context(|| target.identity())?;
        Ok((target, s))
    }
}

/// Commit timeouts.
#[derive(Debug, ClapArgs)]
pub struct Timeouts {
    /// Give up waiting for a lock after this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub lock_timeout_ms: u64,
    /// Abort a statement running longer than this many milliseconds (PostgreSQL).
    #[arg(long, default_value_t = 60000)]
    pub statement_timeout_ms: u64,
}

impl Timeouts {
    fn options(&self) -> CommitOptions {
        CommitOptions {
            lock_timeout: Duration::from_millis(self.lock_timeout_ms),
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
        }
    }
}

/// Runs a `datam live` subcommand.
pub fn run(cmd: Cmd, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        Cmd::Tables(c) => rows::tables(&c, out),
        Cmd::Rows(a) => rows::run(&a, out),
        Cmd::Edit(a) => edit::run(&a, out),
        Cmd::Undo(a) => edit::undo(&a, out),
        Cmd::Export(a) => export::run(&a, out),
        Cmd::Password(c) => password::run(&c, out),
    }
}
