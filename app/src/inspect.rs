//! `datam inspect PATH`.

use std::io::Write;
use std::path::PathBuf;

/// Arguments of `datam inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// File or directory to identify.
    pub path: PathBuf,
}

/// Runs `datam inspect`.
pub fn run(_args: &Args, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!("`datam inspect` is not built yet")
}
