//! `datam pg wal` (being built: issue 5).

use std::io::Write;
use std::path::PathBuf;

/// Arguments of `datam pg wal`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A data directory, a WAL directory, or WAL segment files.
    pub inputs: Vec<PathBuf>,
}

/// Runs the WAL decoder.
pub fn run(_args: &Args, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!("`datam pg wal` is not built yet")
}
