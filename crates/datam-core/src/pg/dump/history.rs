//! `pg history`: every committed change of a table's rows the WAL shows,
//! in commit order, with the row before and after and the columns that
//! changed.
//!
//! The versions are each committed transaction's own before/after images
//! (`pgrescue::plan::plan_versions`); a version whose image cannot be
//! rebuilt is marked incomplete, never filled in. Only the WAL in
//! `pg_wal` is read: changes older than it are not listed.

use std::collections::{BTreeMap, HashMap};

use pgrescue::plan::{Image, RowKind, RowStatus};
use pgrescue::time::format_timestamp;
use pgrescue::xacts::XactSummary;
use serde::Serialize;
use walparse::Lsn;

use super::{AsOf, DumpRequest, columns, open_table};
use crate::job::JobCtx;
use crate::pg::{Error, Result};

/// Which changes to list.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    /// The table (`dead` is ignored).
    pub table: DumpRequest,
    /// Only rows whose column `COL` printed `VAL` before or after the
    /// change (all pairs must match).
    pub keys: Vec<(String, String)>,
    /// Only transactions committed at or after this moment...
    pub since: Option<AsOf>,
    /// ... and at or before this one.
    pub until: Option<AsOf>,
}

/// Values by column name (`None` = NULL).
pub type Values = BTreeMap<String, Option<String>>;

/// One committed change of one row. Fields in JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowVersion {
    /// Columns whose value differs between `old` and `new` (updates).
    pub changed: Vec<String>,
    /// The transaction's commit record.
    pub commit_lsn: Lsn,
    /// Its commit time.
    pub commit_time: String,
    /// Why an image could not be rebuilt (`None`: complete).
    pub incomplete: Option<String>,
    /// The transaction's first record on the row.
    pub lsn: Lsn,
    /// The row after the change (insert, update).
    pub new: Option<Values>,
    /// The row before the change (update, delete).
    pub old: Option<Values>,
    /// `insert`, `update` or `delete`.
    pub op: &'static str,
    /// The transaction (top-level xid).
    pub xid: u32,
}

fn at_or_after(m: AsOf, x: &XactSummary) -> bool {
    match m {
        AsOf::Lsn(l) => x.commit_lsn >= l,
        AsOf::TimeUs(t) => x.time_us >= t,
    }
}

/// Pushes the changes of the request into `sink` in commit order (`false`
/// stops). Returns how many were pushed.
pub fn history(
    req: &HistoryRequest,
    job: &JobCtx,
    sink: &mut dyn FnMut(RowVersion) -> bool,
) -> Result<u64> {
    let (_dir, cat, class, (schema, name)) = open_table(&req.table, job)?;
    let scan = pgdata::table::TableScan::new(&cat, &class)?;
    let names: Vec<String> = columns(&scan, &cat.types)
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut keys = Vec::new();
    for (col, val) in &req.keys {
        let idx = names
            .iter()
            .position(|n| n == col)
            .ok_or_else(|| Error::UnknownColumn {
                table: format!("{schema}.{name}"),
                column: col.clone(),
            })?;
        keys.push((idx, val.as_str()));
    }
    let keep = |x: &XactSummary| {
        req.since.is_none_or(|m| at_or_after(m, x)) && req.until.is_none_or(|m| !m.is_after(x))
    };
    let (xacts, plan) = super::dead::wal_versions(&req.table.pgdata, (&cat, &class), job, &keep)?;
    let Some(plan) = plan else {
        return Ok(0);
    };
    let commit: HashMap<u32, &XactSummary> = xacts.iter().map(|x| (x.xid, x)).collect();
    let mut rows: Vec<_> = plan
        .rows
        .into_iter()
        .filter(|r| {
            keys.iter().all(|&(i, v)| {
                [&r.old, &r.new].iter().any(|img| {
                    img.as_ref()
                        .and_then(|m| m.get(i))
                        .is_some_and(|x| x.as_deref() == Some(v))
                })
            })
        })
        .collect();
    rows.sort_by_key(|r| (commit.get(&r.xid).map(|x| x.commit_lsn), r.lsn));
    let mut n = 0u64;
    for r in rows {
        job.check()?;
        let Some(x) = commit.get(&r.xid) else {
            continue;
        };
        let named = |img: &Option<Image>| -> Option<Values> {
            img.as_ref()
                .map(|v| names.iter().cloned().zip(v.iter().cloned()).collect())
        };
        let changed = match (&r.old, &r.new) {
            (Some(o), Some(nw)) => names
                .iter()
                .zip(o.iter().zip(nw.iter()))
                .filter(|(_, (a, b))| a != b)
                .map(|(c, _)| c.clone())
                .collect(),
            _ => Vec::new(),
        };
        let v = RowVersion {
            changed,
            commit_lsn: x.commit_lsn,
            commit_time: format_timestamp(x.time_us),
            incomplete: match &r.status {
                RowStatus::Incomplete { reason } => Some(reason.clone()),
                _ => None,
            },
            lsn: r.lsn,
            new: named(&r.new),
            old: named(&r.old),
            op: match r.kind {
                RowKind::Delete => "insert",
                RowKind::Revert => "update",
                RowKind::Reinsert => "delete",
            },
            xid: r.xid,
        };
        n = n.saturating_add(1);
        if !sink(v) {
            break;
        }
    }
    Ok(n)
}
