//! `pg dump --as-of`: a table as it was at an earlier moment, computed
//! offline from the current heap by undoing, newest first, every committed
//! transaction whose commit record lies after the moment.
//!
//! Each later transaction's own before/after images of its rows come from
//! `pgrescue::plan::plan_versions` (heap, record data, full-page images,
//! replay, TOAST chunks from WAL). Undoing it takes the rows it wrote out
//! of the multiset of current rows and puts back the rows it deleted or
//! replaced. A row whose image cannot be rebuilt, or whose written version
//! is not among the rows, is listed (never guessed) in
//! [`AsOfSummary::incomplete`] and as a diagnostic; every other row is
//! written.

use std::collections::HashMap;
use std::io::Write;

use pgdata::table::{ScanMode, TableScan};
use pgrescue::plan::Image;
use pgrescue::time::format_timestamp;
use pgrescue::xacts::XactSummary;
use serde::Serialize;
use walparse::Lsn;

use super::encode::{RowCtx, RowEncoder};
use super::{DumpFormat, DumpRequest, columns, open_table, segment_paths};
use crate::job::{Diagnostic, JobCtx};
use crate::pg::catalogs::{qualified_name, with_descendants};
use crate::pg::{Error, Result, report_warnings};

/// The moment of `--as-of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOf {
    /// Transactions whose commit record starts after this LSN are undone.
    Lsn(Lsn),
    /// Transactions committed after this time (µs since 2000-01-01 UTC) are undone.
    TimeUs(i64),
}

impl AsOf {
    pub(super) fn is_after(&self, x: &XactSummary) -> bool {
        match *self {
            AsOf::Lsn(l) => x.commit_lsn > l,
            AsOf::TimeUs(t) => x.time_us > t,
        }
    }
}

/// A row whose state at the moment could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncompleteRow {
    /// The later transaction being undone.
    pub xid: u32,
    /// Its first record on the row.
    pub lsn: Lsn,
    /// The row's key (printed values of the key columns), when known.
    pub key: Vec<Option<String>>,
    /// Why.
    pub reason: String,
}

/// What a `--as-of` dump did (the JSON report).
#[derive(Debug, Clone, Serialize)]
pub struct AsOfSummary {
    /// `SCHEMA.TABLE`.
    pub table: String,
    /// The moment.
    pub as_of: AsOf,
    /// Rows written.
    pub n_rows: u64,
    /// The later committed transactions undone, newest first: xid, commit
    /// LSN, commit time.
    pub undone: Vec<(u32, Lsn, String)>,
    /// Rows whose state could not be rebuilt.
    pub incomplete: Vec<IncompleteRow>,
    /// When the moment (an LSN) lies before the oldest WAL segment in
    /// `pg_wal`: that segment's start. Transactions committed in between
    /// are unknown, so the result is incomplete.
    pub wal_starts_after_moment: Option<Lsn>,
}

impl AsOfSummary {
    /// Whether the result is the table at the moment, whole.
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty() && self.wal_starts_after_moment.is_none()
    }
}

/// The start LSN of the oldest WAL segment file in `pgdata/pg_wal`
/// (`TTTTTTTTXXXXXXXXYYYYYYYY`: LSN = X * 2^32 + Y * segment size).
fn oldest_wal_lsn(pgdata: &std::path::Path, seg_size_bytes: u32) -> Option<Lsn> {
    std::fs::read_dir(pgdata.join("pg_wal"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .filter_map(|n| {
            let hi = u64::from_str_radix(n.get(8..16)?, 16).ok()?;
            let lo = u64::from_str_radix(n.get(16..24)?, 16).ok()?;
            hi.checked_mul(1 << 32)?
                .checked_add(lo.checked_mul(u64::from(seg_size_bytes))?)
        })
        .min()
        .map(Lsn)
}

/// Writes the table as of `as_of` to `out` in `format`. The summary lists
/// the rows that could not be rebuilt (the result is then incomplete).
///
/// A partitioned or inheritance parent (without `only`) covers its
/// partitions and children as `SELECT * FROM parent` does: each one as of
/// the moment, in the parent's columns (matched by name).
pub fn dump_as_of(
    req: &DumpRequest,
    as_of: AsOf,
    format: DumpFormat,
    job: &JobCtx,
    out: &mut dyn Write,
) -> Result<AsOfSummary> {
    let _span = tracing::info_span!("pg_dump_as_of", table = %req.table).entered();
    let (dir, cat, class, (schema, name)) = open_table(req, job)?;
    let members = if req.only {
        vec![class.clone()]
    } else {
        with_descendants(&cat, &class, job)?
    };
    let parent = (members.len() != 1 || members.first().is_some_and(|m| m.oid != class.oid))
        .then(|| super::tree::column_names(&cat, class.oid, job))
        .transpose()?;
    let mut summary = AsOfSummary {
        table: format!("{schema}.{name}"),
        as_of,
        n_rows: 0,
        undone: Vec::new(),
        incomplete: Vec::new(),
        wal_starts_after_moment: None,
    };
    for m in &members {
        job.check()?;
        let part = relation_as_of(
            (req, &dir, &cat, m),
            (
                as_of,
                format,
                parent.as_deref(),
                &qualified_name(&cat, &class),
            ),
            job,
            out,
        )?;
        summary.n_rows = summary.n_rows.saturating_add(part.n_rows);
        for u in part.undone {
            if !summary.undone.contains(&u) {
                summary.undone.push(u);
            }
        }
        summary.incomplete.extend(part.incomplete);
        summary.wal_starts_after_moment = summary
            .wal_starts_after_moment
            .or(part.wal_starts_after_moment);
    }
    summary.undone.sort_by_key(|u| std::cmp::Reverse(u.1));
    Ok(summary)
}

/// [`dump_as_of`] of one relation `m`, its rows in the columns `parent`
/// (by name) when it is a member of the parent named `parent_name`.
fn relation_as_of(
    (req, dir, cat, m): (
        &DumpRequest,
        &pgdata::DataDir,
        &pgdata::catalog::Catalog,
        &pgdata::catalog::ClassRow,
    ),
    (as_of, format, parent, parent_name): (AsOf, DumpFormat, Option<&[String]>, &str),
    job: &JobCtx,
    out: &mut dyn Write,
) -> Result<AsOfSummary> {
    let schema = cat
        .namespaces
        .get(&m.relnamespace)
        .cloned()
        .unwrap_or_default();
    let name = m.relname.clone();
    let mut scan = TableScan::new(cat, m)?;
    report_warnings(job, &scan.warnings);
    let cols = columns(&scan, &cat.types);
    let have: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let project = match parent {
        Some(want) => super::tree::projection(want, &have).map_err(|()| Error::ChildColumns {
            parent: parent_name.to_string(),
            child: format!("{schema}.{name}"),
        })?,
        None => None,
    };
    let out_cols = match &project {
        Some(at) => at.iter().filter_map(|&i| cols.get(i).cloned()).collect(),
        None => cols.clone(),
    };
    let paths = segment_paths(&scan, dir.relseg_size_blocks());
    let ctx = RowCtx::typed(dir, (&schema, &name), &cols, &paths);
    let out_ctx = RowCtx::typed(dir, (&schema, &name), &out_cols, &paths);
    let table = format!("{schema}.{name}");
    let (mut later, net, warnings) =
        super::undo::undo_later(&req.pgdata, (cat, m), job, &|x| as_of.is_after(x))?;
    later.sort_by_key(|x| std::cmp::Reverse(x.commit_lsn));
    for w in warnings {
        job.diagnostic(Diagnostic::warning("as-of-plan", w));
    }
    let (n_rows, incomplete) = write_as_of(
        &mut scan,
        (&ctx, &cat.types, format),
        (&out_ctx, project.as_deref()),
        net,
        job,
        out,
    )?;
    report_warnings(job, &scan.warnings);
    if let Some(first) = scan.warnings.first() {
        return Err(Error::DamagedRows {
            n: scan.warnings.len(),
            table,
            first: first.message(),
        });
    }
    let wal_starts_after_moment = match as_of {
        AsOf::Lsn(l) => oldest_wal_lsn(&req.pgdata, dir.control().wal_segment_size_bytes)
            .filter(|start| *start > l),
        AsOf::TimeUs(_) => None,
    };
    if let Some(start) = wal_starts_after_moment {
        job.diagnostic(Diagnostic::warning(
            "as-of-before-wal",
            format!(
                "the oldest WAL in pg_wal starts at {start}, after the moment: transactions \
                 committed in between are not undone"
            ),
        ));
    }
    let summary = AsOfSummary {
        table: table.clone(),
        as_of,
        n_rows,
        undone: later
            .iter()
            .map(|x| (x.xid, x.commit_lsn, format_timestamp(x.time_us)))
            .collect(),
        incomplete,
        wal_starts_after_moment,
    };
    for r in &summary.incomplete {
        job.diagnostic(
            Diagnostic::warning("as-of-incomplete", r.reason.clone()).at(format!(
                "{table}: transaction {} at {}, key {:?}",
                r.xid, r.lsn, r.key
            )),
        );
    }
    Ok(summary)
}

/// Writes the live rows of the heap but the versions the net change takes
/// out, then the versions it puts back. Returns the rows written and the
/// rows whose state at the moment is unknown: those of the plan, and the
/// written versions that are not among the live rows.
///
/// Rows are matched in the relation's own columns (`ctx`) and written in
/// `out_ctx`'s: those of `project` (indexes into the relation's columns),
/// when it is a member of a parent with another column order.
fn write_as_of(
    scan: &mut TableScan<'_>,
    (ctx, types, format): (&RowCtx<'_>, &pgdata::catalog::Types, DumpFormat),
    (out_ctx, project): (&RowCtx<'_>, Option<&[usize]>),
    mut net: super::undo::Net,
    job: &JobCtx,
    out: &mut dyn Write,
) -> Result<(u64, Vec<IncompleteRow>)> {
    let shaped = |img: &Image| -> Option<Image> {
        project.map(|at| at.iter().map(|&i| img.get(i).cloned().flatten()).collect())
    };
    let mut incomplete = std::mem::take(&mut net.incomplete);
    let (take_out, back) = net.into_parts();
    let mut take: HashMap<Image, (u64, Option<IncompleteRow>)> = take_out
        .into_iter()
        .map(|(img, n, who)| (img, (n, who)))
        .collect();
    let mut n_rows = 0u64;
    let mut line = String::new();
    let mut failed = None;
    {
        let mut enc = RowEncoder::new(types, ctx, job);
        scan.scan(ScanMode::Live, |r| {
            let img = enc.typed_row(r, "heap").values;
            if let Some((n, _)) = take.get_mut(&img)
                && *n > 0
            {
                *n -= 1;
            } else if let Err(e) = write_image(
                (format, out_ctx, types),
                shaped(&img).as_ref().unwrap_or(&img),
                &mut line,
                out,
            ) {
                failed = Some(e);
                return false;
            } else {
                n_rows = n_rows.saturating_add(1);
            }
            !job.cancel.is_cancelled()
        });
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    job.check()?;
    for (img, n) in back {
        let img = shaped(&img).unwrap_or(img);
        for _ in 0..n {
            write_image((format, out_ctx, types), &img, &mut line, out)?;
            n_rows = n_rows.saturating_add(1);
        }
    }
    incomplete.extend(
        take.into_values()
            .filter(|(n, _)| *n > 0)
            .filter_map(|(_, w)| w),
    );
    incomplete.sort_by_key(|r| std::cmp::Reverse(r.lsn));
    Ok((n_rows, incomplete))
}

/// Writes one row in `format`.
fn write_image(
    (format, ctx, types): (DumpFormat, &RowCtx<'_>, &pgdata::catalog::Types),
    img: &Image,
    line: &mut String,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    line.clear();
    if format == DumpFormat::Jsonl {
        let values: std::collections::BTreeMap<&str, Option<&str>> =
            ctx.names().zip(img.iter().map(Option::as_deref)).collect();
        line.push_str(&serde_json::json!({ "values": values }).to_string());
    } else {
        super::dead::text_line(format, ctx, types, img, line);
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}
