//! `datam sqlite salvage` (being built: issue 3).

use std::io::Write;
use std::path::PathBuf;

/// Arguments of `datam sqlite salvage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
}

/// Runs the salvage.
pub fn run(_args: &Args, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!("`datam sqlite salvage` is not built yet")
}
