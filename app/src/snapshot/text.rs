//! Text rendering of the snapshot commands' results.

use std::io::Write;

use snapshot_cow::verify::VerifyReport;
use snapshot_cow::{Manifest, SnapshotSummary};

/// A snapshot time (Unix milliseconds) as walparse formats timestamps (UTC).
pub(crate) fn utc(ms: u64) -> String {
    const PG_EPOCH_UNIX_MS: i64 = 946_684_800_000;
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    walparse::desc::format_timestamptz(ms.saturating_sub(PG_EPOCH_UNIX_MS).saturating_mul(1000))
}

pub(crate) fn summary_json(m: &Manifest) -> serde_json::Value {
    serde_json::json!({
        "id": m.meta.id,
        "time": utc(m.meta.time_unix_ms),
        "time_unix_ms": m.meta.time_unix_ms,
        "note": m.meta.note,
        "files": m.meta.files.len(),
        "bytes": m.meta.files.iter().map(|f| f.size_bytes).sum::<u64>(),
        "sources": m.meta.sources,
        "chain_hash": m.chain_hash,
    })
}

pub(crate) fn list(out: &mut dyn Write, list: &[SnapshotSummary]) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:>6}  {:30}  {:>6}  {:>14}  note",
        "id", "time", "files", "bytes"
    )?;
    for s in list {
        match &s.manifest {
            Ok(m) => writeln!(
                out,
                "{:>6}  {:30}  {:>6}  {:>14}  {}",
                m.meta.id,
                utc(m.meta.time_unix_ms),
                m.meta.files.len(),
                m.meta.files.iter().map(|f| f.size_bytes).sum::<u64>(),
                m.meta.note
            )?,
            Err(e) => writeln!(out, "{:>6}  DAMAGED: {e:#}", s.id)?,
        }
    }
    Ok(())
}

pub(crate) fn show(out: &mut dyn Write, m: &Manifest) -> anyhow::Result<()> {
    let meta = &m.meta;
    writeln!(out, "snapshot {}", meta.id)?;
    writeln!(out, "time     {}", utc(meta.time_unix_ms))?;
    writeln!(out, "note     {}", meta.note)?;
    for s in &meta.sources {
        writeln!(out, "source   {s}")?;
    }
    writeln!(out, "prev     {}", meta.prev)?;
    writeln!(out, "hash     {}", m.chain_hash)?;
    writeln!(out, "dirs     {}", meta.dirs.len())?;
    writeln!(out, "files    {}", meta.files.len())?;
    for f in &meta.files {
        writeln!(
            out,
            "  {}  {} bytes  {} pages of {} ({:?})  sha256 {}",
            f.name, f.size_bytes, f.n_pages, f.layout.page_bytes, f.layout.kind, f.sha256
        )?;
    }
    Ok(())
}

pub(crate) fn verify(out: &mut dyn Write, r: &VerifyReport) -> anyhow::Result<()> {
    let ids: Vec<String> = r.checked.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "checked snapshots [{}]: {} distinct pages",
        ids.join(", "),
        r.n_pages_checked
    )?;
    for m in &r.bad_manifests {
        writeln!(out, "BAD MANIFEST snapshot {}: {}", m.id, m.problem)?;
    }
    for l in &r.broken_links {
        writeln!(out, "BROKEN CHAIN at snapshot {}: {}", l.id, l.problem)?;
    }
    for p in &r.pack_damage {
        writeln!(out, "DAMAGED PACK of snapshot {}: {}", p.id, p.problem)?;
    }
    for b in &r.bad_pages {
        let used: Vec<String> = b.used_by.iter().map(ToString::to_string).collect();
        let stored = b
            .stored_by
            .map_or("no pack".to_string(), |s| format!("pack {s}"));
        writeln!(
            out,
            "BAD PAGE {} {} (used by snapshots {}; {stored}; hash {}): {}",
            b.file,
            b.page_label,
            used.join(", "),
            b.hash,
            b.problem
        )?;
    }
    for f in &r.bad_files {
        writeln!(out, "BAD FILE snapshot {} {}: {}", f.id, f.file, f.problem)?;
    }
    writeln!(out, "{}", if r.is_intact() { "intact" } else { "DAMAGED" })?;
    Ok(())
}
