//! What a rescue plan says: the dry-run text, the undo script with its
//! header, and `report.json` with the evidence's SHA-256.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use pgrescue::plan::{RowKind, RowStatus, TablePlan};
use pgrescue::sql::{Timeouts, undo_script};
use pgrescue::time::format_timestamp;
use serde::Serialize;

use super::RescuePlan;
use crate::pg::{Error, Result};

/// Restorable / skipped / incomplete counts of one table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows re-inserted.
    pub reinsert: u64,
    /// Rows reverted to their old version.
    pub revert: u64,
    /// Rows deleted.
    pub delete: u64,
    /// Rows left alone because a later transaction changed them.
    pub skipped_later_work: u64,
    /// Rows whose old version could not be rebuilt.
    pub incomplete: u64,
}

/// The counts of one table plan.
pub fn counts(t: &TablePlan) -> Counts {
    let mut c = Counts::default();
    for r in &t.rows {
        let n = match (&r.status, r.kind) {
            (RowStatus::SkippedLaterWork { .. }, _) => &mut c.skipped_later_work,
            (RowStatus::Incomplete { .. }, _) => &mut c.incomplete,
            (RowStatus::Restorable, RowKind::Reinsert) => &mut c.reinsert,
            (RowStatus::Restorable, RowKind::Revert) => &mut c.revert,
            (RowStatus::Restorable, RowKind::Delete) => &mut c.delete,
        };
        *n = n.saturating_add(1);
    }
    c
}

/// `schema.table: re-insert N, revert N, ...`.
pub(super) fn counts_line(t: &TablePlan) -> String {
    let c = counts(t);
    format!(
        "{}.{}: re-insert {}, revert {}, delete {}, skipped by later work {}, incomplete {}",
        t.schema, t.name, c.reinsert, c.revert, c.delete, c.skipped_later_work, c.incomplete
    )
}

fn kind_name(k: RowKind) -> &'static str {
    match k {
        RowKind::Reinsert => "re-insert",
        RowKind::Revert => "revert",
        RowKind::Delete => "delete",
    }
}

fn status_text(s: &RowStatus) -> String {
    match s {
        RowStatus::Restorable => "restorable".into(),
        RowStatus::SkippedLaterWork { xid, lsn, what } => {
            format!("skipped: transaction {xid} {what} (at {lsn})")
        }
        RowStatus::Incomplete { reason } => format!("incomplete: {reason}"),
    }
}

fn key_text(t: &TablePlan, key: &[Option<String>]) -> String {
    t.key_cols
        .iter()
        .zip(key)
        .map(|(&k, v)| {
            let name = t.columns.get(k).map_or("?", |c| c.name.as_str());
            format!("{name}={}", v.as_deref().unwrap_or("NULL"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn source_text(s: Option<pgrescue::plan::Source>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
}

/// Writes the impact of the plan and the source of every row.
pub fn write_dry_run(r: &RescuePlan, out: &mut dyn Write) -> std::io::Result<()> {
    for x in &r.targets {
        writeln!(
            out,
            "transaction {} committed {} at {} (subtransactions: {})",
            x.xid,
            format_timestamp(x.time_us),
            x.commit_lsn,
            x.subxacts.len()
        )?;
    }
    for t in &r.plans {
        writeln!(out, "table {} (key: {:?})", counts_line(t), t.key_kind)?;
        if t.later_tuples_unread > 0 {
            writeln!(
                out,
                "  note: {} later tuple(s) whose key could not be read (a key re-inserted and deleted again by them would not be noticed)",
                t.later_tuples_unread
            )?;
        }
        for w in &t.warnings {
            writeln!(out, "  warning: {w}")?;
        }
        writeln!(out, "kind\tkey\tlsn\told_source\tnew_source\tstatus")?;
        for row in &t.rows {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                kind_name(row.kind),
                key_text(t, &row.key),
                row.lsn,
                source_text(row.old_source),
                source_text(row.new_source),
                status_text(&row.status)
            )?;
        }
    }
    Ok(())
}

fn header(r: &RescuePlan) -> String {
    let mut h = String::from("datam pg rescue: undo of transaction(s)");
    for x in &r.targets {
        let _ = write!(
            h,
            " {} (commit {} at {})",
            x.xid,
            format_timestamp(x.time_us),
            x.commit_lsn
        );
    }
    for t in &r.plans {
        let _ = write!(
            h,
            "\n{} (not undone: skipped and incomplete rows; see report.json)",
            counts_line(t)
        );
    }
    h.push_str("\nRun with psql; running it again changes nothing.");
    h
}

impl RescuePlan {
    /// The undo script (one transaction, idempotent).
    pub fn undo_sql(&self, timeouts: &Timeouts) -> String {
        undo_script(&header(self), &self.plans, &self.cat.types, timeouts)
    }

    /// One `schema.table: re-insert N, ...` line per table.
    pub fn counts_lines(&self) -> Vec<String> {
        self.plans.iter().map(counts_line).collect()
    }

    /// Writes the undo script to `path` (outside the evidence).
    pub fn write_undo(&self, path: &Path, timeouts: &Timeouts) -> Result<()> {
        check_outside(&self.pgdata, path)?;
        std::fs::write(path, self.undo_sql(timeouts)).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes `report.json` beside `undo_path`; returns its path.
    pub fn write_report(
        &self,
        undo_path: &Path,
        applied: Option<&BTreeMap<String, u64>>,
    ) -> Result<PathBuf> {
        let report = undo_path.with_file_name("report.json");
        check_outside(&self.pgdata, &report)?;
        let json = serde_json::to_string_pretty(&report_json(self, applied))
            .map_err(std::io::Error::other)?;
        std::fs::write(&report, json).map_err(|source| Error::Write {
            path: report.clone(),
            source,
        })?;
        Ok(report)
    }
}

/// Files the plan was read from, with their SHA-256.
fn evidence_hashes(r: &RescuePlan) -> Vec<serde_json::Value> {
    let pgdata = &r.pgdata;
    let dir = r.cat.data_dir();
    let mut files: Vec<PathBuf> = vec![pgdata.join("global").join("pg_control")];
    files.extend(r.wal_files.iter().cloned());
    for t in &r.plans {
        if let Some(c) = r.cat.find_table(&t.schema, &t.name) {
            for rel in [Some(c), r.cat.class(c.reltoastrelid)]
                .into_iter()
                .flatten()
            {
                if let Ok(l) = r.cat.locator(rel) {
                    files.extend(dir.segment_paths(l, pgdata::Fork::Main));
                }
            }
        }
    }
    if let Ok(rd) = evidence::vfs::read_dir(&pgdata.join("pg_xact")) {
        files.extend(rd);
    }
    files
        .iter()
        .map(|p| {
            let h = evidence::sha256_file(p).map_err(|e| e.to_string());
            serde_json::json!({
                "path": p.display().to_string(),
                "sha256": h.as_ref().ok(),
                "error": h.as_ref().err(),
            })
        })
        .collect()
}

fn table_json(t: &TablePlan) -> serde_json::Value {
    let mut sources: BTreeMap<&str, u64> = BTreeMap::new();
    for row in &t.rows {
        for s in [row.old_source, row.new_source].into_iter().flatten() {
            let e = sources.entry(s.kind()).or_default();
            *e = e.saturating_add(1);
        }
    }
    let rows: Vec<serde_json::Value> = t
        .rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "kind": kind_name(row.kind), "xid": row.xid, "lsn": row.lsn.to_string(),
                "key": row.key, "status": status_text(&row.status),
                "old_source": row.old_source.map(|s| s.to_string()),
                "new_source": row.new_source.map(|s| s.to_string()),
            })
        })
        .collect();
    serde_json::json!({
        "table": format!("{}.{}", t.schema, t.name),
        "key": format!("{:?}", t.key_kind),
        "key_columns": t.key_cols.iter().filter_map(|&k| t.columns.get(k).map(|c| c.name.clone())).collect::<Vec<_>>(),
        "counts": counts(t), "sources": sources,
        "later_tuples_unread": t.later_tuples_unread, "warnings": t.warnings, "rows": rows,
    })
}

fn report_json(r: &RescuePlan, applied: Option<&BTreeMap<String, u64>>) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = r.plans.iter().map(table_json).collect();
    let xacts: Vec<serde_json::Value> = r
        .targets
        .iter()
        .map(|x| {
            serde_json::json!({
                "xid": x.xid, "subxacts": x.subxacts, "commit_time": format_timestamp(x.time_us),
                "first_lsn": x.first_lsn.map(|l| l.to_string()), "commit_lsn": x.commit_lsn.to_string(),
            })
        })
        .collect();
    serde_json::json!({
        "tool": "datam pg rescue", "pgdata": r.pgdata.display().to_string(),
        "transactions": xacts, "tables": tables, "applied_rows": applied,
        "evidence": evidence_hashes(r),
    })
}

/// Refuses to write anything inside the evidence directory.
pub fn check_outside(pgdata: &Path, out: &Path) -> Result<()> {
    let root = pgdata
        .canonicalize()
        .unwrap_or_else(|_| pgdata.to_path_buf());
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf());
    if dir.starts_with(&root) {
        return Err(Error::InsideEvidence {
            out: out.to_path_buf(),
            root,
        });
    }
    Ok(())
}
