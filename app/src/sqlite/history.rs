//! `datam sqlite history` (being built: issue 4).

use std::io::Write;
use std::path::PathBuf;

/// Arguments of `datam sqlite history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
}

/// Runs the history command.
pub fn run(_args: &Args, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!("`datam sqlite history` is not built yet")
}
