//! `datam sqlite ...`: SQLite recovery commands.

use std::io::Write;

use clap::Subcommand;

pub mod history;
pub mod salvage;

/// SQLite subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Recover every live row, and carve deleted rows and dropped tables, from a (damaged) database.
    Salvage(salvage::Args),
    /// Show every version of matching rows found in the database, its -wal and its -journal.
    History(history::Args),
}

/// Runs a SQLite subcommand.
pub fn run(cmd: Cmd, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        Cmd::Salvage(a) => salvage::run(&a, out),
        Cmd::History(a) => history::run(&a, out),
    }
}
