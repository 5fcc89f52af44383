//! `pg history`: every version of a table's rows found, in commit order,
//! with the row before and after each change and the columns that changed.
//!
//! Two kinds of entries, de-duplicated:
//! - the committed changes the WAL in `pg_wal` shows (`op` `insert`,
//!   `update`, `delete`): each committed transaction's own before/after
//!   images (`pgrescue::plan::plan_versions`); a version whose image cannot
//!   be rebuilt is marked incomplete, never filled in;
//! - row versions still in the heap file whose change the WAL no longer
//!   shows (`op` `version`, `new` its values): live and dead tuples under
//!   their line pointers (`heap`) and whole tuples carved from the pages
//!   (`carve`, see `pgdata::carve`), with the transaction that wrote them
//!   (`xid`, from `t_xmin`) and the one that deleted or replaced them
//!   (`xmax`). A tuple equal to the new image of a WAL change by the same
//!   transaction is that change: its source is added to the change's
//!   `sources` instead.
//!
//! Order: WAL changes by commit LSN; a version whose commit record is gone
//! goes before the first change of a later transaction id (xid order is the
//! best order left without commit records). Those versions have no commit
//! time, so `--since`/`--until` leave them out.

use std::collections::{BTreeMap, HashMap, HashSet};

use pgdata::table::{ScanMode, TableScan};
use pgrescue::plan::{Image, PlanRow, RowKind, RowStatus};
use pgrescue::time::format_timestamp;
use pgrescue::xacts::XactSummary;
use serde::Serialize;
use walparse::Lsn;

use super::encode::{RowCtx, RowEncoder};
use super::{AsOf, DumpRequest, columns, open_table, segment_paths};
use crate::job::{Diagnostic, JobCtx};
use crate::pg::catalogs::{qualified_name, with_descendants};
use crate::pg::{Error, Result, report_warnings};

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

/// How the transaction of a version ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Committed (its commit record is in the WAL read, or `pg_xact` says so).
    Committed,
    /// Rolled back (its abort record, or `pg_xact`): the version never
    /// counted, though it was written.
    Aborted,
    /// Neither committed nor aborted where the WAL and `pg_xact` end: in
    /// progress when the cluster stopped, so never committed.
    InProgress,
    /// Neither the WAL read nor `pg_xact` (truncated, missing) tells.
    Unknown,
}

impl Outcome {
    /// The outcome `pg_xact` gives `xid`.
    fn from_clog(clog: &mut pgdata::xact::Clog, xid: u32) -> Self {
        use pgdata::xact::XidStatus;
        match clog.status(xid) {
            XidStatus::Committed => Outcome::Committed,
            XidStatus::Aborted => Outcome::Aborted,
            XidStatus::InProgress | XidStatus::SubCommitted => Outcome::InProgress,
            XidStatus::Unknown => Outcome::Unknown,
        }
    }
}

/// One version of one row: a committed change from the WAL, or a version
/// found in the heap file. Fields in JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowVersion {
    /// Columns whose value differs between `old` and `new` (updates).
    pub changed: Vec<String>,
    /// The transaction's commit record (`None`: not in the WAL read, or it
    /// did not commit).
    pub commit_lsn: Option<Lsn>,
    /// Its commit time.
    pub commit_time: Option<String>,
    /// How the transaction ended: a version of one that did not commit is
    /// listed too, marked.
    pub outcome: Outcome,
    /// Its abort record, when it was rolled back and the WAL read has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_lsn: Option<Lsn>,
    /// Its abort time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_time: Option<String>,
    /// Why an image could not be rebuilt (`None`: complete).
    pub incomplete: Option<String>,
    /// The transaction's first record on the row (WAL changes).
    pub lsn: Option<Lsn>,
    /// The row after the change (insert, update, version).
    pub new: Option<Values>,
    /// The row before the change (update, delete).
    pub old: Option<Values>,
    /// `insert`, `update`, `delete`, or `version` (a row version found in
    /// the heap file whose change the WAL does not show).
    pub op: &'static str,
    /// Where it was found: `wal`, `heap`, `carve` (one or more).
    pub sources: Vec<&'static str>,
    /// The transaction (top-level xid; `t_xmin` for a `version`).
    pub xid: u32,
    /// A `version`'s `t_xmax`: the transaction that deleted or replaced it
    /// (`None`: still live).
    pub xmax: Option<u32>,
    /// The partition or child (`schema.table`) the version is in, when
    /// the table named is a parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

/// A row version in the heap file.
struct HeapVersion {
    xmin: u32,
    xmax: u32,
    values: Image,
    source: &'static str,
    table: Option<String>,
}

/// One entry before printing.
struct Entry<'x> {
    commit: Option<&'x XactSummary>,
    lsn: Option<Lsn>,
    op: &'static str,
    old: Option<Image>,
    new: Option<Image>,
    incomplete: Option<String>,
    sources: Vec<&'static str>,
    xid: u32,
    xmax: Option<u32>,
    table: Option<String>,
    outcome: Outcome,
}

/// Whether `x` is the summary of an end record (commit or abort), not a
/// transaction without one.
fn has_end(x: &XactSummary) -> bool {
    x.commit_lsn != Lsn(u64::MAX)
}

fn at_or_after(m: AsOf, x: &XactSummary) -> bool {
    match m {
        AsOf::Lsn(l) => x.commit_lsn >= l,
        AsOf::TimeUs(t) => x.time_us >= t,
    }
}

/// Pushes the versions of the request into `sink` in commit order
/// (`false` stops). Returns how many were pushed.
///
/// A partitioned or inheritance parent (without `only`) covers its
/// partitions and children as `SELECT * FROM parent` does: each one's
/// versions in the parent's columns (matched by name), labelled with the
/// relation (`table`), merged into one commit order.
pub fn history(
    req: &HistoryRequest,
    job: &JobCtx,
    sink: &mut dyn FnMut(RowVersion) -> bool,
) -> Result<u64> {
    let (dir, cat, class, (schema, name)) = open_table(&req.table, job)?;
    let members = if req.table.only {
        vec![class.clone()]
    } else {
        with_descendants(&cat, &class, job)?
    };
    let labelled = members.len() != 1 || members.first().is_some_and(|m| m.oid != class.oid);
    let names = if labelled {
        super::tree::column_names(&cat, class.oid, job)?
    } else {
        let scan = TableScan::new(&cat, &class)?;
        columns(&scan, &cat.types)
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
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
    let named = qualified_name(&cat, &class);
    let want = Wanted {
        names: &names,
        keys: &keys,
        named: &named,
    };
    let mut found = Found::default();
    for m in &members {
        job.check()?;
        let label = labelled.then(|| qualified_name(&cat, m));
        relation_versions(
            (&req.table.pgdata, &dir, &cat, m),
            (&want, label),
            job,
            &mut found,
        )?;
    }
    let mut clog = pgdata::xact::Clog::new(dir.root(), dir.block_size_bytes());
    let mut entries = merge(&found.xacts, found.rows, found.heap);
    for e in &mut entries {
        e.outcome = match found.outcomes.get(&e.xid) {
            Some(&o) => o,
            None => Outcome::from_clog(&mut clog, e.xid),
        };
    }
    let in_window = |e: &Entry<'_>| match e.commit.filter(|x| has_end(x)) {
        Some(x) => {
            req.since.is_none_or(|m| at_or_after(m, x)) && req.until.is_none_or(|m| !m.is_after(x))
        }
        None => req.since.is_none() && req.until.is_none(),
    };
    let mut n = 0u64;
    for e in entries.into_iter().filter(in_window) {
        job.check()?;
        n = n.saturating_add(1);
        if !sink(version(e, &names)) {
            break;
        }
    }
    Ok(n)
}

/// What the relations of a history found, before merging.
#[derive(Default)]
struct Found {
    xacts: Vec<XactSummary>,
    /// How the transactions the WAL shows ended.
    outcomes: HashMap<u32, Outcome>,
    /// WAL changes, each with the relation it is labelled with.
    rows: Vec<(PlanRow, Option<String>)>,
    heap: Vec<HeapVersion>,
}

/// What a history keeps of each relation it reads.
struct Wanted<'a> {
    /// The columns, by name (the table's, or a parent's).
    names: &'a [String],
    /// `(column index, printed value)` pairs an image must have.
    keys: &'a [(usize, &'a str)],
    /// The table named (`schema.table`), for errors.
    named: &'a str,
}

/// Adds to `found` relation `m`'s WAL changes and heap versions whose
/// image, in the columns `want.names` (matched by name), has every key;
/// labelled `label`.
fn relation_versions(
    (pgdata, dir, cat, m): (
        &std::path::Path,
        &pgdata::DataDir,
        &pgdata::catalog::Catalog,
        &pgdata::catalog::ClassRow,
    ),
    (want, label): (&Wanted<'_>, Option<String>),
    job: &JobCtx,
    found: &mut Found,
) -> Result<()> {
    let (names, keys, parent) = (want.names, want.keys, want.named);
    let mut scan = TableScan::new(cat, m)?;
    report_warnings(job, &scan.warnings);
    let cols = columns(&scan, &cat.types);
    let have: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let project = super::tree::projection(names, &have).map_err(|()| Error::ChildColumns {
        parent: parent.to_string(),
        child: qualified_name(cat, m),
    })?;
    let shape = |img: Image| -> Image {
        match &project {
            None => img,
            Some(at) => at.iter().map(|&i| img.get(i).cloned().flatten()).collect(),
        }
    };
    let matches = |img: Option<&Image>| {
        keys.iter().all(|&(i, v)| {
            img.and_then(|m| m.get(i))
                .is_some_and(|x| x.as_deref() == Some(v))
        })
    };
    let schema = cat
        .namespaces
        .get(&m.relnamespace)
        .cloned()
        .unwrap_or_default();
    let paths = segment_paths(&scan, dir.relseg_size_blocks());
    let ctx = RowCtx::typed(dir, (&schema, &m.relname), &cols, &paths);
    // Only a member with another column order needs its image reshaped.
    let heap = heap_versions(&mut scan, (&cat.types, &ctx), job, &|v| match project {
        None => matches(Some(v)),
        Some(_) => matches(Some(&shape(v.clone()))),
    })?;
    let all = |_: &XactSummary| true;
    let super::dead::WalVersions {
        committed,
        uncommitted,
        plan,
        copies,
    } = match super::dead::wal_versions(pgdata, (cat, m), job, (&all, false, true)) {
        Ok(r) => r,
        Err(e) => {
            job.diagnostic(Diagnostic::warning(
                "history-wal-unread",
                format!(
                    "the WAL was not read for {}: {e}; versions from the heap file only",
                    qualified_name(cat, m)
                ),
            ));
            super::dead::WalVersions {
                committed: Vec::new(),
                uncommitted: Vec::new(),
                plan: None,
                copies: HashSet::new(),
            }
        }
    };
    let mut clog = pgdata::xact::Clog::new(dir.root(), dir.block_size_bytes());
    for x in &committed {
        found.outcomes.insert(x.xid, Outcome::Committed);
    }
    for (x, aborted) in &uncommitted {
        let o = if *aborted {
            Outcome::Aborted
        } else {
            // No end record in the WAL read: pg_xact tells.
            Outcome::from_clog(&mut clog, x.xid)
        };
        found.outcomes.insert(x.xid, o);
    }
    let xacts = committed
        .into_iter()
        .chain(uncommitted.into_iter().map(|(x, _)| x));
    // A tuple ALTER TABLE … TYPE wrote is its copy of a row, not a version.
    found.heap.extend(
        heap.into_iter()
            .filter(|h| !copies.contains(&h.xmin))
            .map(|mut h| {
                h.values = shape(h.values);
                h.table = label.clone();
                h
            }),
    );
    found.xacts.extend(xacts);
    for mut r in plan.map(|p| p.rows).unwrap_or_default() {
        r.old = r.old.map(shape);
        r.new = r.new.map(shape);
        if matches(r.old.as_ref()) || matches(r.new.as_ref()) {
            found.rows.push((r, label.clone()));
        }
    }
    Ok(())
}

/// The row versions in the heap file that `keep` accepts: live and dead
/// tuples, and whole carved tuples, each version once.
fn heap_versions(
    scan: &mut TableScan<'_>,
    (types, ctx): (&pgdata::catalog::Types, &RowCtx<'_>),
    job: &JobCtx,
    keep: &dyn Fn(&Image) -> bool,
) -> Result<Vec<HeapVersion>> {
    let mut enc = RowEncoder::new(types, ctx, job);
    let mut out = Vec::new();
    let mut seen: HashSet<(u32, Image)> = HashSet::new();
    let mut add = |xmin: u32, xmax: u32, values: Image, source: &'static str| {
        if keep(&values) && seen.insert((xmin, values.clone())) {
            out.push(HeapVersion {
                xmin,
                xmax,
                values,
                source,
                table: None,
            });
        }
    };
    for mode in [ScanMode::Live, ScanMode::Dead] {
        scan.scan(mode, |r| {
            let row = enc.typed_row(r, "heap");
            add(r.xmin, r.xmax, row.values, "heap");
            !job.cancel.is_cancelled()
        });
    }
    let mut partial = 0u64;
    scan.carve_blocks(0..scan.n_blocks(), |c| {
        let row = enc.typed_row(&c.row, "carve");
        if c.status == pgdata::carve::CarveStatus::CarvedPartial || row.values.len() != ctx.n_cols()
        {
            partial += 1;
        } else {
            add(c.row.xmin, c.row.xmax, row.values, "carve");
        }
        !job.cancel.is_cancelled()
    });
    job.check()?;
    report_warnings(job, &scan.warnings);
    if partial > 0 {
        job.diagnostic(Diagnostic::note(
            "history-partial-carved",
            format!("{partial} partial carved tuples are not listed (pg dump --dead --format jsonl shows them)"),
        ));
    }
    Ok(out)
}

/// The WAL's changes and the heap versions they do not already show, in
/// commit order (see the module doc).
fn merge(
    xacts: &[XactSummary],
    rows: Vec<(PlanRow, Option<String>)>,
    heap: Vec<HeapVersion>,
) -> Vec<Entry<'_>> {
    let commit: HashMap<u32, &XactSummary> = xacts.iter().map(|x| (x.xid, x)).collect();
    let top: HashMap<u32, u32> = xacts
        .iter()
        .flat_map(|x| x.subxacts.iter().map(move |s| (*s, x.xid)))
        .collect();
    let mut wal: Vec<Entry<'_>> = rows
        .into_iter()
        .filter_map(|(r, table)| {
            let x = commit.get(&r.xid).copied()?;
            Some(Entry {
                commit: Some(x),
                lsn: Some(r.lsn),
                op: match r.kind {
                    RowKind::Delete => "insert",
                    RowKind::Revert => "update",
                    RowKind::Reinsert => "delete",
                },
                incomplete: match r.status {
                    RowStatus::Incomplete { reason } => Some(reason),
                    _ => None,
                },
                old: r.old,
                new: r.new,
                sources: vec!["wal"],
                xid: r.xid,
                xmax: None,
                table,
                outcome: Outcome::Unknown,
            })
        })
        .collect();
    wal.sort_by_key(|e| (e.commit.map(|x| x.commit_lsn), e.lsn));
    let mut by_new: HashMap<(u32, &Image, Option<&str>), usize> = HashMap::new();
    for (i, e) in wal.iter().enumerate() {
        if let Some(n) = &e.new {
            by_new.entry((e.xid, n, e.table.as_deref())).or_insert(i);
        }
    }
    let mut found: Vec<(usize, &'static str)> = Vec::new();
    let mut heap_only: Vec<Entry<'_>> = Vec::new();
    for v in heap {
        let xid = top.get(&v.xmin).copied().unwrap_or(v.xmin);
        if let Some(&i) = by_new.get(&(xid, &v.values, v.table.as_deref())) {
            found.push((i, v.source));
            continue;
        }
        heap_only.push(Entry {
            commit: commit.get(&xid).copied(),
            lsn: None,
            op: "version",
            old: None,
            new: Some(v.values),
            incomplete: None,
            sources: vec![v.source],
            xid,
            xmax: (v.xmax != 0).then_some(v.xmax),
            table: v.table,
            outcome: Outcome::Unknown,
        });
    }
    for (i, source) in found {
        if let Some(e) = wal.get_mut(i)
            && !e.sources.contains(&source)
        {
            e.sources.push(source);
        }
    }
    heap_only.sort_by_key(|e| e.xid);
    let mut out = Vec::with_capacity(wal.len().saturating_add(heap_only.len()));
    let mut rest = heap_only.into_iter().peekable();
    for e in wal {
        while let Some(h) = rest.next_if(|h| h.xid < e.xid) {
            out.push(h);
        }
        out.push(e);
    }
    out.extend(rest);
    out
}

/// The printed version of an entry.
fn version(e: Entry<'_>, names: &[String]) -> RowVersion {
    let named = |img: &Option<Image>| -> Option<Values> {
        img.as_ref()
            .map(|v| names.iter().cloned().zip(v.iter().cloned()).collect())
    };
    let changed = match (&e.old, &e.new) {
        (Some(o), Some(nw)) => names
            .iter()
            .zip(o.iter().zip(nw.iter()))
            .filter(|(_, (a, b))| a != b)
            .map(|(c, _)| c.clone())
            .collect(),
        _ => Vec::new(),
    };
    let end = e.commit.filter(|x| has_end(x));
    let (commit, abort) = match e.outcome {
        Outcome::Committed => (end, None),
        Outcome::Aborted => (None, end),
        Outcome::InProgress | Outcome::Unknown => (None, None),
    };
    RowVersion {
        changed,
        commit_lsn: commit.map(|x| x.commit_lsn),
        commit_time: commit.map(|x| format_timestamp(x.time_us)),
        outcome: e.outcome,
        abort_lsn: abort.map(|x| x.commit_lsn),
        abort_time: abort.map(|x| format_timestamp(x.time_us)),
        incomplete: e.incomplete,
        lsn: e.lsn,
        new: named(&e.new),
        old: named(&e.old),
        op: e.op,
        sources: e.sources,
        xid: e.xid,
        xmax: e.xmax,
        table: e.table,
    }
}
