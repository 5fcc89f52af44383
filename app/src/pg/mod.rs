//! `datam pg ...`: PostgreSQL WAL and data-directory commands.

use std::io::Write;

use clap::Subcommand;

pub mod dump;
mod dump_all;
pub mod rescue;
pub mod wal;

/// PostgreSQL subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Decode WAL records (PG 13–18) from a data directory, a WAL directory or segment files.
    Wal(wal::Args),
    /// List the tables of a data directory from its catalog files.
    Tables(dump::TablesArgs),
    /// Dump a table's rows (or its dead tuples) from a stopped data directory.
    Dump(dump::DumpArgs),
    /// List committed transactions from the WAL's commit records, with the
    /// rows each inserted, updated and deleted per table.
    Xacts(rescue::XactsArgs),
    /// Undo one mistaken transaction's rows: dry run, undo SQL or apply.
    Rescue(rescue::RescueArgs),
    /// Every committed change of a table's rows the WAL shows, in commit order.
    History(dump::HistoryArgs),
}

/// Runs a PostgreSQL subcommand.
pub fn run(cmd: Cmd, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        Cmd::Wal(a) => wal::run(&a, out),
        Cmd::Tables(a) => dump::run_tables(&a, out),
        Cmd::Dump(a) => dump::run_dump(&a, out),
        Cmd::Xacts(a) => rescue::run_xacts(&a, out),
        Cmd::Rescue(a) => rescue::run_rescue(&a, out),
        Cmd::History(a) => dump::run_history(&a, out),
    }
}
