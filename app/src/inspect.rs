//! `datam inspect PATH`: arguments of the [`datam_core::inspect`] job and
//! its output (`key: value` lines or one JSON object). Exits non-zero only
//! when nothing at all was recognised.

use std::io::Write;
use std::path::PathBuf;

use datam_core::inspect::inspect_path;

/// Output format of `datam inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `key: value` lines.
    Text,
    /// One JSON object.
    Json,
}

/// Arguments of `datam inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// File or directory to identify (evidence; opened read-only).
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `datam inspect`.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let report = inspect_path(&args.path)?;
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report.to_json(&args.path))?;
            writeln!(out)?;
        }
        Format::Text => report.write_text(&args.path, out)?,
    }
    if report.kind.is_none() {
        anyhow::bail!(
            "{}: not a recognised SQLite or PostgreSQL file{}",
            args.path.display(),
            report
                .errors
                .first()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
