//! `datam snapshot ...`: the evidence snapshot store (`snapshot-cow`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use datam_core::job::JobCtx;
use snapshot_cow::verify::VerifyReport;
use snapshot_cow::{Manifest, SnapshotId, Store};

pub mod diff;
mod pg_diff;
/// `STORE@ID:PATH` references (`snapshot_cow::reference`), mounted for the
/// command's run by `crate::run`.
pub use snapshot_cow::reference;
mod text;

/// Output format of the snapshot commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
}

/// Options every snapshot command takes.
#[derive(Debug, ClapArgs)]
pub struct Common {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Snapshot subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Add a snapshot of files and/or directories (a PG data directory) to STORE (created if missing); prints the new ID.
    Add {
        /// The store directory.
        store: PathBuf,
        /// Files and directories to snapshot.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A note kept with the snapshot.
        #[arg(long, default_value = "")]
        note: String,
        /// Output options.
        #[command(flatten)]
        common: Common,
    },
    /// List the snapshots of STORE.
    List {
        /// The store directory.
        store: PathBuf,
        /// Output options.
        #[command(flatten)]
        common: Common,
    },
    /// Show one snapshot: metadata and files.
    Show {
        /// The store directory.
        store: PathBuf,
        /// The snapshot ID.
        id: u64,
        /// Output options.
        #[command(flatten)]
        common: Common,
    },
    /// Check every page, manifest and chain link (exit 0 only when intact).
    Verify {
        /// The store directory.
        store: PathBuf,
        /// Check only this snapshot's files (the chain is always checked).
        id: Option<u64>,
        /// Output options.
        #[command(flatten)]
        common: Common,
    },
    /// Rows added, removed and changed between snapshots A and B (SQLite), after a page summary per file.
    Diff(diff::Args),
    /// Write a snapshot's files, byte-identical to what was added, under DIR.
    Export {
        /// The store directory.
        store: PathBuf,
        /// The snapshot ID.
        id: u64,
        /// The directory to write into (its files must not exist yet).
        dir: PathBuf,
        /// Output options.
        #[command(flatten)]
        common: Common,
    },
}

/// Runs a snapshot subcommand.
pub fn run(cmd: Cmd, out: &mut dyn Write) -> anyhow::Result<()> {
    let ctx = JobCtx::quiet();
    match cmd {
        Cmd::Diff(a) => diff::run(&a, out)?,
        Cmd::Add {
            store,
            paths,
            note,
            common,
        } => {
            let s = Store::open_or_create(&store)
                .with_context(|| format!("opening store {}", store.display()))?;
            let rep = s.add(&paths, &note, &ctx)?;
            match common.format {
                Format::Text => writeln!(out, "{}", rep.id)?,
                Format::Json => json_line(out, &rep)?,
            }
        }
        Cmd::List { store, common } => {
            let list = Store::open(&store)?.list()?;
            match common.format {
                Format::Text => text::list(out, &list)?,
                Format::Json => {
                    let v: Vec<_> = list
                        .iter()
                        .map(|s| match &s.manifest {
                            Ok(m) => text::summary_json(m),
                            Err(e) => serde_json::json!({"id": s.id, "error": format!("{e:#}")}),
                        })
                        .collect();
                    json_line(out, &v)?;
                }
            }
        }
        Cmd::Show { store, id, common } => {
            let m = Store::open(&store)?.manifest(SnapshotId(id))?;
            match common.format {
                Format::Text => text::show(out, &m)?,
                Format::Json => json_line(out, &m.meta)?,
            }
        }
        Cmd::Verify { store, id, common } => {
            let rep = Store::open(&store)?.verify(id.map(SnapshotId), &ctx)?;
            match common.format {
                Format::Text => text::verify(out, &rep)?,
                Format::Json => json_line(out, &rep)?,
            }
            return verdict(&rep);
        }
        Cmd::Export {
            store,
            id,
            dir,
            common,
        } => {
            let s = Store::open(&store)?;
            let m: Manifest = s.manifest(SnapshotId(id))?;
            let bytes = s.reader()?.export(&m, &dir, &ctx)?;
            match common.format {
                Format::Text => writeln!(
                    out,
                    "exported snapshot {id}: {} files, {bytes} bytes to {}",
                    m.meta.files.len(),
                    dir.display()
                )?,
                Format::Json => json_line(
                    out,
                    &serde_json::json!({"id": id, "files": m.meta.files.len(), "bytes": bytes, "dir": dir}),
                )?,
            }
        }
    }
    Ok(())
}

fn verdict(rep: &VerifyReport) -> anyhow::Result<()> {
    if rep.is_intact() {
        return Ok(());
    }
    anyhow::bail!(
        "store damaged: {} bad page(s), {} bad manifest(s), {} broken chain link(s), {} bad file(s), {} damaged pack(s)",
        rep.bad_pages.len(),
        rep.bad_manifests.len(),
        rep.broken_links.len(),
        rep.bad_files.len(),
        rep.pack_damage.len()
    )
}

fn json_line(out: &mut dyn Write, v: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}
