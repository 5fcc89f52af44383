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

/// The current rows as a multiset of printed images.
#[derive(Default)]
struct Rows {
    list: Vec<Option<Image>>,
    at: HashMap<Image, Vec<usize>>,
}

impl Rows {
    fn add(&mut self, img: Image) {
        self.at
            .entry(img.clone())
            .or_default()
            .push(self.list.len());
        self.list.push(Some(img));
    }
    fn remove(&mut self, img: &Image) -> bool {
        let Some(i) = self.at.get_mut(img).and_then(Vec::pop) else {
            return false;
        };
        if let Some(slot) = self.list.get_mut(i) {
            *slot = None;
        }
        true
    }
}

/// Writes the table as of `as_of` to `out` in `format`. The summary lists
/// the rows that could not be rebuilt (the result is then incomplete).
pub fn dump_as_of(
    req: &DumpRequest,
    as_of: AsOf,
    format: DumpFormat,
    job: &JobCtx,
    out: &mut dyn Write,
) -> Result<AsOfSummary> {
    let _span = tracing::info_span!("pg_dump_as_of", table = %req.table).entered();
    let (dir, cat, class, (schema, name)) = open_table(req, job)?;
    let mut scan = TableScan::new(&cat, &class)?;
    report_warnings(job, &scan.warnings);
    let cols = columns(&scan, &cat.types);
    let paths = segment_paths(&scan, dir.relseg_size_blocks());
    let ctx = RowCtx::typed(&dir, (&schema, &name), &cols, &paths);
    let mut rows = Rows::default();
    {
        let mut enc = RowEncoder::new(&cat.types, &ctx, job);
        scan.scan(ScanMode::Live, |r| {
            rows.add(enc.typed_row(r, "heap").values);
            !job.cancel.is_cancelled()
        });
    }
    job.check()?;
    report_warnings(job, &scan.warnings);
    let table = format!("{schema}.{name}");
    if let Some(first) = scan.warnings.first() {
        return Err(Error::DamagedRows {
            n: scan.warnings.len(),
            table,
            first: first.message(),
        });
    }
    let (mut later, net, warnings) =
        super::undo::undo_later(&req.pgdata, (&cat, &class), job, &|x| as_of.is_after(x))?;
    later.sort_by_key(|x| std::cmp::Reverse(x.commit_lsn));
    for w in warnings {
        job.diagnostic(Diagnostic::warning("as-of-plan", w));
    }
    let incomplete = apply_net(&mut rows, net);
    let n_rows = write_rows(format, &ctx, &cat.types, &rows, out)?;
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
                "transaction {} at {}, key {:?}",
                r.xid, r.lsn, r.key
            )),
        );
    }
    Ok(summary)
}

/// Applies the net change of the undo to the current rows: the versions
/// the later transactions wrote out, the ones they replaced back. Returns
/// the rows whose state at the moment is unknown.
fn apply_net(rows: &mut Rows, mut net: super::undo::Net) -> Vec<IncompleteRow> {
    let mut incomplete = std::mem::take(&mut net.incomplete);
    let (out, back) = net.into_parts();
    for (img, n, who) in out {
        for _ in 0..n {
            if !rows.remove(&img) {
                incomplete.extend(who.clone());
                break;
            }
        }
    }
    for (img, n) in back {
        for _ in 1..n {
            rows.add(img.clone());
        }
        rows.add(img);
    }
    incomplete
}

fn write_rows(
    format: DumpFormat,
    ctx: &RowCtx<'_>,
    types: &pgdata::catalog::Types,
    rows: &Rows,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut n = 0u64;
    let mut line = String::new();
    for img in rows.list.iter().flatten() {
        line.clear();
        if format == DumpFormat::Jsonl {
            let values: std::collections::BTreeMap<&str, Option<&str>> =
                ctx.names().zip(img.iter().map(Option::as_deref)).collect();
            line.push_str(&serde_json::json!({ "values": values }).to_string());
        } else {
            super::dead::text_line(format, ctx, types, img, &mut line);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        n = n.saturating_add(1);
    }
    Ok(n)
}
