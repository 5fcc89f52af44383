//! `datam pg tables` and `datam pg dump` (being built: issue 6).

use std::io::Write;
use std::path::PathBuf;

/// Arguments of `datam pg tables`.
#[derive(Debug, clap::Args)]
pub struct TablesArgs {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
}

/// Arguments of `datam pg dump`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
}

/// Runs `datam pg tables`.
pub fn run_tables(_args: &TablesArgs, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!("`datam pg tables` is not built yet")
}

/// Runs `datam pg dump`.
pub fn run_dump(_args: &DumpArgs, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!("`datam pg dump` is not built yet")
}
