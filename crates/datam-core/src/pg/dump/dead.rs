//! `pg dump --dead`: every deleted or replaced row version found, from
//! three sources, de-duplicated:
//! - `heap`: tuples a committed transaction deleted or replaced that are
//!   still whole under their line pointers (status `dead`);
//! - `carve`: tuple bytes pruning or VACUUM left behind (dead/unused line
//!   pointers with storage, free space; status `dead`, `carved` or
//!   `carved-partial`, see `pgdata::carve`);
//! - `wal`: the old image of every committed DELETE/UPDATE of the table in
//!   `pg_wal` (`pgrescue::plan::plan_versions`: record data, full-page
//!   images, replay, TOAST chunks from WAL; status `dead`).
//!
//! The same version found twice (on the heap and in WAL, or carved and in
//! WAL) is printed once: for equal values, as many rows as the source that
//! saw the most of them; heap rows first (they carry a place), then the
//! WAL's surplus in LSN order. A partial carved row whose columns start a
//! complete row is dropped; the others are printed by `--format jsonl`
//! and given as typed rows only (the text formats and Arrow batches have
//! no way to say "this column is missing"), and a diagnostic counts them.
//! Every output gets the same rows: each found row keeps its printed
//! values (text, typed rows) and its datums (Arrow batches through
//! `RowBatch::push_version`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use pgdata::catalog::{Catalog, ClassRow, Types, Warning};
use pgdata::table::{ScanMode, ScanRow, TableScan, Value};
use pgdata::visibility::TupleStatus;
use pgrescue::collect::{Change, ChangeSink, RelKey};
use pgrescue::plan::{RowKind, RowStatus, TablePlan, plan_versions};
use pgrescue::xacts::{Target, XactSummary};
use rowcodec::pg::{copy_text_escape, csv_quote, sql_literal};
use serde::Serialize;

use super::encode::{DumpRow, RowCtx, RowEncoder};
use super::{DumpFormat, DumpRequest, Worker, Workers};
use crate::job::{Diagnostic, JobCtx};
use crate::pg::{Result, rescue};

/// A dead row version and where it was found.
pub(super) struct Found {
    /// Its printed values and provenance.
    pub(super) row: DumpRow,
    /// Its datums (for workers that type values themselves, Arrow).
    pub(super) datums: ScanRow<'static>,
    /// Byte offset in the page (carved rows).
    offset: Option<u16>,
    /// WAL: the record and the transaction that deleted/replaced it.
    wal: Option<(walparse::Lsn, &'static str)>,
    /// Whether every column is there (not a partial carved row).
    pub(super) complete: bool,
}

/// How many rows each source gave.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct DeadCounts {
    heap: u64,
    carved: u64,
    carved_partial: u64,
    wal: u64,
    wal_incomplete: u64,
}

/// Rows per batch of `--dead`'s rows.
const DEAD_BATCH_ROWS: usize = 8192;

/// `--dead` for any kind of worker: finds, de-duplicates and hands the
/// dead row versions to one worker, in batches, so the text formats,
/// typed rows and the callers' batches (Arrow) get the same rows. Partial
/// carved rows only go to workers that can show missing columns (JSON
/// lines, typed rows); a diagnostic counts the others. Returns the rows
/// written and the scan's warnings.
pub(super) fn dead_batches<M: Workers>(
    req: &DumpRequest,
    table: (&Catalog, &ClassRow),
    scan: &TableScan<'_>,
    ctx: &RowCtx<'_>,
    job: &JobCtx,
    make: &M,
    write: &mut impl FnMut(M::Batch) -> Result<()>,
) -> Result<(u64, Vec<Warning>)> {
    let (rows, warnings) = find(req, table, scan, ctx, job)?;
    let mut w = make.worker(&table.0.types, ctx);
    let (mut n, mut skipped) = (0u64, 0u64);
    for chunk in rows.chunks(DEAD_BATCH_ROWS) {
        job.check()?;
        let mut batch = w.empty_batch();
        for f in chunk {
            if !w.push_found(f, &mut batch) {
                skipped += 1;
            }
        }
        n = n.saturating_add(M::W::n_rows(&batch));
        write(batch)?;
    }
    if skipped > 0 {
        job.diagnostic(Diagnostic::warning(
            "dead-partial-rows",
            format!(
                "{skipped} partial carved rows of {} are printed by --format jsonl only",
                req.table
            ),
        ));
    }
    Ok((n, warnings))
}

/// The datums of a scanned row, owned.
fn owned(r: &ScanRow<'_>) -> ScanRow<'static> {
    ScanRow {
        block: r.block,
        lp: r.lp,
        xmin: r.xmin,
        xmax: r.xmax,
        status: r.status,
        values: r.values.iter().map(owned_value).collect(),
    }
}

fn owned_value(v: &Value<'_>) -> Value<'static> {
    match v {
        Value::Null => Value::Null,
        Value::Datum(d) => Value::Datum(Cow::Owned(d.to_vec())),
        Value::Broken(why) => Value::Broken(why.clone()),
    }
}

/// Collects and de-duplicates the dead row versions of the table.
/// Returns them and the scan's warnings.
fn find(
    req: &DumpRequest,
    (cat, class): (&Catalog, &ClassRow),
    scan: &TableScan<'_>,
    ctx: &RowCtx<'_>,
    job: &JobCtx,
) -> Result<(Vec<Found>, Vec<Warning>)> {
    let mut counts = DeadCounts::default();
    let mut enc = RowEncoder::new(&cat.types, ctx, job);
    let mut fork = scan.fork()?;
    let mut heap: Vec<Found> = Vec::new();
    fork.scan(ScanMode::Dead, |r| {
        heap.push(Found {
            row: enc.typed_row(r, "heap"),
            datums: owned(r),
            offset: None,
            wal: None,
            complete: true,
        });
        !job.cancel.is_cancelled()
    });
    counts.heap = heap.len() as u64;
    fork.carve_blocks(0..fork.n_blocks(), |c| {
        let mut row = enc.typed_row(&c.row, "carve");
        row.status = c.status.as_str();
        let complete = c.status != pgdata::carve::CarveStatus::CarvedPartial
            && row.values.len() == ctx.n_cols();
        if complete {
            counts.carved += 1;
        } else {
            counts.carved_partial += 1;
            row.status = pgdata::carve::CarveStatus::CarvedPartial.as_str();
        }
        heap.push(Found {
            row,
            datums: owned(&c.row),
            offset: Some(c.offset),
            wal: None,
            complete,
        });
        !job.cancel.is_cancelled()
    });
    job.check()?;
    let wal = match wal_versions(&req.pgdata, (cat, class), job, (&|_| true, true, false)) {
        Ok(w) => wal_rows(w.plan, ctx.n_cols(), &mut counts),
        Err(e) => {
            job.diagnostic(Diagnostic::warning(
                "dead-wal-unread",
                format!("the WAL was not read for --dead: {e}; rows from the heap only"),
            ));
            Vec::new()
        }
    };
    let rows = dedup(heap, wal);
    report_counts(job, &counts, &rows);
    Ok((rows, std::mem::take(&mut fork.warnings)))
}

fn report_counts(job: &JobCtx, c: &DeadCounts, rows: &[Found]) {
    let partial_out = rows.iter().filter(|f| !f.complete).count();
    job.diagnostic(Diagnostic::note(
        "dead-sources",
        format!(
            "dead row versions found: {} on the heap, {} carved whole, {} carved partial, {} in WAL \
             ({} WAL images incomplete); {} printed after de-duplication ({partial_out} partial)",
            c.heap,
            c.carved,
            c.carved_partial,
            c.wal,
            c.wal_incomplete,
            rows.len()
        ),
    ));
    if c.wal_incomplete > 0 {
        job.diagnostic(Diagnostic::warning(
            "dead-wal-incomplete",
            format!(
                "{} deleted/replaced versions in WAL could not be rebuilt completely (not printed)",
                c.wal_incomplete
            ),
        ));
    }
}

/// What [`wal_versions`] found.
pub(super) struct WalVersions {
    /// The committed transactions that changed the table and that `keep`
    /// accepted, in commit order.
    pub(super) committed: Vec<XactSummary>,
    /// When asked for: those that changed it and did not commit (`true`:
    /// aborted; see `XactLog::uncommitted_summaries`).
    pub(super) uncommitted: Vec<(XactSummary, bool)>,
    /// Their rows' before/after images (`None` when there is none).
    pub(super) plan: Option<TablePlan>,
    /// The transactions of the table's `ALTER TABLE … TYPE` rewrites, whose
    /// inserts are copies of the rows (left out of the plan).
    pub(super) copies: HashSet<u32>,
}

/// Which committed transactions a reader of row versions wants.
pub(super) type Keep<'k> = &'k dyn Fn(&XactSummary) -> bool;

/// Reads the WAL of `pgdata` for the row versions of table `class`: those
/// of the committed transactions `keep` accepts and, with `uncommitted`,
/// of every transaction that did not commit; `values`: with the old
/// images' datums.
pub(super) fn wal_versions(
    pgdata: &std::path::Path,
    (cat, class): (&Catalog, &ClassRow),
    job: &JobCtx,
    (keep, values, uncommitted): (Keep<'_>, bool, bool),
) -> Result<WalVersions> {
    let f = rescue::follow_table(pgdata, (cat, class), job)?;
    let copies = f.typed_rewrites();
    let committed = touching(&f.log, &f.rels, keep);
    let uncommitted: Vec<(XactSummary, bool)> = if uncommitted {
        f.log
            .uncommitted_summaries()
            .into_iter()
            .filter(|(x, _)| x.per_rel.keys().any(|r| f.rels.contains(r)))
            .collect()
    } else {
        Vec::new()
    };
    let mut targets = committed.clone();
    targets.extend(uncommitted.iter().map(|(x, _)| x.clone()));
    if targets.is_empty() {
        return Ok(WalVersions {
            committed,
            uncommitted,
            plan: None,
            copies,
        });
    }
    let mut filter = f.log.change_filter(&targets, &f.rels);
    filter.whole = f.old_toast;
    let mut changes: Vec<Change> = Vec::new();
    super::super::wal::for_each_segment(
        &[pgdata.to_path_buf()],
        job,
        || ChangeSink::new(f.ctx, &filter),
        |_, s| changes.extend(s.out),
    )?;
    let mut plan = plan_versions(cat, class, f.src, (&f.log, &targets, &changes), values)?;
    // ALTER TABLE … TYPE's rewrite inserts the rows, converted, into the
    // new file: copies, not row changes.
    let before = plan.rows.len();
    plan.rows
        .retain(|r| !(r.kind == RowKind::Delete && copies.contains(&r.xid)));
    if plan.rows.len() < before {
        job.diagnostic(Diagnostic::note(
            "rewrite-copies",
            format!(
                "{} rows written by ALTER TABLE ... TYPE rewriting the table (transaction {}) are its copies of the rows, not changes, and are left out",
                before - plan.rows.len(),
                copies.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(WalVersions {
        committed,
        uncommitted,
        plan: Some(plan),
        copies,
    })
}

/// The old images of a plan's deleted and updated rows.
fn wal_rows(plan: Option<TablePlan>, n_cols: usize, counts: &mut DeadCounts) -> Vec<Found> {
    let Some(plan) = plan else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in plan.rows {
        if r.kind == RowKind::Delete {
            continue; // an insert: no old version
        }
        let (Some(old), false) = (r.old, matches!(r.status, RowStatus::Incomplete { .. })) else {
            counts.wal_incomplete += 1;
            continue;
        };
        counts.wal += 1;
        let (block, lp) = match r.old_source {
            Some(pgrescue::plan::Source::HeapPage { block, lp }) => (block, lp),
            _ => (0, 0),
        };
        let values = r.old_values.unwrap_or_else(|| {
            let why = "the datums of the WAL image were not kept";
            vec![Value::Broken(why.to_string()); n_cols]
        });
        out.push(Found {
            row: DumpRow {
                file: String::new(),
                block,
                lp,
                xmin: 0,
                xmax: r.xid,
                status: "dead",
                source: "wal",
                values: old,
            },
            datums: ScanRow {
                block: pgdata::BlockNo(block),
                lp,
                xmin: 0,
                xmax: r.xid,
                status: TupleStatus::Dead,
                values,
            },
            offset: None,
            wal: Some((r.lsn, r.old_source.map_or("?", |s| s.kind()))),
            complete: true,
        });
    }
    out
}

/// Heap and carved rows first, then the WAL rows not already seen (see
/// the module doc).
fn dedup(heap: Vec<Found>, wal: Vec<Found>) -> Vec<Found> {
    let mut seen: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    let mut out = Vec::with_capacity(heap.len().saturating_add(wal.len()));
    let mut partial = Vec::new();
    for f in heap {
        if f.complete {
            *seen.entry(f.row.values.clone()).or_default() += 1;
            out.push(f);
        } else {
            partial.push(f);
        }
    }
    let mut from_wal: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    for f in wal {
        let n = from_wal.entry(f.row.values.clone()).or_default();
        *n += 1;
        if *n > seen.get(&f.row.values).copied().unwrap_or(0) {
            out.push(f);
        }
    }
    let complete: Vec<&Vec<Option<String>>> = out.iter().map(|f| &f.row.values).collect();
    let partial: Vec<Found> = partial
        .into_iter()
        .filter(|p| !complete.iter().any(|c| c.starts_with(&p.row.values)))
        .collect();
    out.extend(partial);
    out
}

/// The JSON line of a dead row: keys sorted, values by column name (the
/// intact columns only for a partial row).
#[derive(Serialize)]
struct JsonDead<'a> {
    block: u32,
    file: &'a str,
    lp: u16,
    lsn: Option<String>,
    offset: Option<u16>,
    source: &'static str,
    status: &'static str,
    values: std::collections::BTreeMap<&'a str, Option<&'a str>>,
    wal_source: Option<&'static str>,
    xmax: u32,
    xmin: u32,
}

/// The text line of a dead row (no newline).
pub(super) fn line(
    format: DumpFormat,
    ctx: &RowCtx<'_>,
    types: &Types,
    f: &Found,
    out: &mut String,
) {
    let values = &f.row.values;
    match format {
        DumpFormat::Copy | DumpFormat::Csv | DumpFormat::Sql => {
            text_line(format, ctx, types, values, out);
        }
        DumpFormat::Jsonl => {
            let obj = JsonDead {
                block: f.row.block,
                file: &f.row.file,
                lp: f.row.lp,
                lsn: f.wal.map(|(l, _)| l.to_string()),
                offset: f.offset,
                source: f.row.source,
                status: f.row.status,
                values: ctx
                    .names()
                    .zip(values.iter().map(Option::as_deref))
                    .collect(),
                wal_source: f.wal.map(|(_, s)| s),
                xmax: f.row.xmax,
                xmin: f.row.xmin,
            };
            if let Ok(s) = serde_json::to_string(&obj) {
                out.push_str(&s);
            }
        }
    }
}

/// One row of printed values as a COPY text, CSV or INSERT line (no
/// newline); nothing for JSON lines.
pub(super) fn text_line(
    format: DumpFormat,
    ctx: &RowCtx<'_>,
    types: &Types,
    values: &[Option<String>],
    out: &mut String,
) {
    match format {
        DumpFormat::Copy => {
            let printed = values.iter().enumerate().filter(|(i, _)| ctx.printed(*i));
            for (k, (_, v)) in printed.enumerate() {
                if k > 0 {
                    out.push('\t');
                }
                match v {
                    Some(s) => copy_text_escape(s, out),
                    None => out.push_str("\\N"),
                }
            }
        }
        DumpFormat::Csv => {
            let printed = values.iter().enumerate().filter(|(i, _)| ctx.printed(*i));
            for (k, (_, v)) in printed.enumerate() {
                if k > 0 {
                    out.push(',');
                }
                if let Some(s) = v {
                    csv_quote(s, out);
                }
            }
        }
        DumpFormat::Sql => {
            let lits: Vec<String> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| ctx.printed(*i))
                .map(|(i, v)| match v {
                    Some(s) => sql_literal(types, ctx.type_oid(i), s),
                    None => "NULL".to_string(),
                })
                .collect();
            let _ = write!(
                out,
                "INSERT INTO {} ({}) VALUES ({});",
                ctx.qualified(),
                ctx.col_list(),
                lits.join(", ")
            );
        }
        DumpFormat::Jsonl => {}
    }
}

/// The committed transactions of `log` that touched one of `rels` and pass
/// `keep`, in the log's order.
pub(super) fn touching(
    log: &pgrescue::xacts::XactLog,
    rels: &HashSet<RelKey>,
    keep: impl Fn(&XactSummary) -> bool,
) -> Vec<XactSummary> {
    log.select(Target::TimeRange {
        since_us: None,
        until_us: None,
    })
    .into_iter()
    .filter(|x| x.per_rel.keys().any(|r| rels.contains(r)) && keep(x))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(source: &'static str, vals: &[&str], complete: bool) -> Found {
        Found {
            row: DumpRow {
                file: String::new(),
                block: 0,
                lp: 0,
                xmin: 0,
                xmax: 0,
                status: "dead",
                source,
                values: vals.iter().map(|v| Some((*v).to_string())).collect(),
            },
            datums: ScanRow {
                block: pgdata::BlockNo(0),
                lp: 0,
                xmin: 0,
                xmax: 0,
                status: TupleStatus::Dead,
                values: Vec::new(),
            },
            offset: None,
            wal: None,
            complete,
        }
    }

    #[test]
    fn equal_values_print_as_often_as_the_richest_source() {
        let heap = vec![
            found("carve", &["1", "a"], true),
            found("carve", &["1"], false), // starts row 1: dropped
            found("carve", &["9"], false), // starts no row: kept
        ];
        let wal = vec![
            found("wal", &["1", "a"], true),
            found("wal", &["2", "b"], true),
            found("wal", &["2", "b"], true),
        ];
        let out = dedup(heap, wal);
        let got: Vec<(&str, Vec<Option<String>>)> = out
            .iter()
            .map(|f| (f.row.source, f.row.values.clone()))
            .collect();
        let v = |x: &[&str]| x.iter().map(|s| Some((*s).to_string())).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                ("carve", v(&["1", "a"])),
                ("wal", v(&["2", "b"])),
                ("wal", v(&["2", "b"])),
                ("carve", v(&["9"])),
            ]
        );
    }
}
