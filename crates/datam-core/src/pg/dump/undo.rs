//! The undo of `--as-of` in one streaming WAL pass, in memory that follows
//! the number of distinct changed rows, not the size of the WAL.
//!
//! Undoing every later committed transaction newest first (its written
//! versions out of the current rows, the versions it replaced back in) is,
//! as a multiset, the sum of each transaction's `old − new`: a version one
//! later transaction wrote and the next one replaced cancels out. So pass 2
//! replays the table's changes segment by segment
//! ([`pgrescue::stream::VersionStream`]), each finished row adds `+1` to its
//! old image and `−1` to its new one in [`Net`], and entries back at 0 are
//! dropped: what stays is, per changed row, its version at the moment
//! (`+1`) and its current version (`−1`). Neither the changes, nor their
//! page images, nor the intermediate versions are kept.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use pgdata::catalog::{Catalog, ClassRow};
use pgrescue::collect::ChangeSink;
use pgrescue::plan::{Image, PlanRow, RowStatus};
use pgrescue::stream::VersionStream;
use pgrescue::xacts::{Target, XactSummary};
use walparse::Lsn;

use super::asof::IncompleteRow;
use crate::job::JobCtx;
use crate::pg::{Error, Result, rescue};

/// A row whose written version is still to be taken out of the rows.
#[derive(Debug, Clone)]
struct Writer {
    xid: u32,
    lsn: Lsn,
    key: Image,
}

/// One image's net count over the undone transactions.
#[derive(Debug, Default)]
struct Count {
    n: i64,
    /// The latest row that wrote it (named when it is not among the rows).
    writer: Option<Writer>,
}

/// An image to take out of the rows, how many copies, and the row to name
/// when it is not there.
pub(super) type TakeOut = (Image, u64, Option<IncompleteRow>);

/// The net change the undo makes to the current rows (see the module doc),
/// and the rows whose earlier state is unknown.
#[derive(Debug, Default)]
pub(super) struct Net {
    counts: HashMap<Image, Count>,
    /// Rows of the plan that could not be rebuilt.
    pub(super) incomplete: Vec<IncompleteRow>,
}

impl Net {
    /// Adds one transaction's row: its old version back, its new one out.
    fn add(&mut self, r: PlanRow) {
        if let RowStatus::Incomplete { reason } = &r.status {
            self.incomplete.push(IncompleteRow {
                xid: r.xid,
                lsn: r.lsn,
                key: r.key.clone(),
                reason: reason.clone(),
            });
        }
        if let Some(new) = r.new {
            let w = Writer {
                xid: r.xid,
                lsn: r.lsn,
                key: r.key,
            };
            self.settle(new, -1, Some(w));
        }
        if let Some(old) = r.old {
            self.settle(old, 1, None);
        }
    }

    fn settle(&mut self, img: Image, by: i64, writer: Option<Writer>) {
        match self.counts.entry(img) {
            Entry::Occupied(mut e) => {
                let c = e.get_mut();
                c.n = c.n.saturating_add(by);
                if writer.is_some() {
                    c.writer = writer;
                }
                if c.n == 0 {
                    e.remove();
                }
            }
            Entry::Vacant(e) => {
                e.insert(Count { n: by, writer });
            }
        }
    }

    /// The images to take out (with how many copies and who wrote them)
    /// and to put back (how many copies), the latter sorted so the output
    /// does not depend on hashing.
    pub(super) fn into_parts(self) -> (Vec<TakeOut>, Vec<(Image, u64)>) {
        let mut out = Vec::new();
        let mut back = Vec::new();
        for (img, c) in self.counts {
            let n = c.n.unsigned_abs();
            if c.n < 0 {
                let who = c.writer.map(|w| IncompleteRow {
                    xid: w.xid,
                    lsn: w.lsn,
                    key: w.key,
                    reason: NOT_AMONG_ROWS.to_string(),
                });
                out.push((img, n, who));
            } else {
                back.push((img, n));
            }
        }
        back.sort();
        (out, back)
    }
}

/// Why a written version could not be taken out.
pub(super) const NOT_AMONG_ROWS: &str =
    "the version it wrote is not among the rows after it (changed outside the WAL read?)";

/// Reads the WAL of `pgdata` twice (transactions, then the table's
/// changes, streamed) and returns the committed transactions `keep`
/// accepts with the net change undoing them makes, and the plan's
/// warnings.
pub(super) fn undo_later(
    pgdata: &std::path::Path,
    (cat, class): (&Catalog, &ClassRow),
    job: &JobCtx,
    keep: &dyn Fn(&XactSummary) -> bool,
) -> Result<(Vec<XactSummary>, Net, Vec<String>)> {
    let f = {
        let _s = tracing::info_span!("as_of_xacts").entered();
        rescue::follow_table(pgdata, (cat, class), job)?
    };
    let (ctx, log) = (f.ctx, &f.log);
    for r in &f.rewrites {
        let Some(x) = r.by else { continue };
        let after = log.select(Target::Xid(x)).first().is_some_and(keep);
        if let (true, Some(kind)) = (after, f.rewrite_loses_rows(r)) {
            return Err(Error::AsOfAcrossRewrite { xid: x, kind });
        }
    }
    let targets = super::dead::touching(log, &f.rels, keep);
    let mut net = Net::default();
    if targets.is_empty() {
        return Ok((targets, net, Vec::new()));
    }
    let mut filter = log.change_filter(&targets, &f.rels);
    filter.whole = f.old_toast;
    let mut stream = VersionStream::new(cat, class, f.src, log, &targets)?;
    let seg = u64::from(ctx.seg_size_bytes);
    let _s = tracing::info_span!("as_of_changes").entered();
    super::super::wal::for_each_segment(
        &[pgdata.to_path_buf()],
        job,
        || ChangeSink::new(ctx, &filter),
        |segno, s| {
            stream.feed(&s.out);
            let next = Lsn(segno.0.saturating_add(1).saturating_mul(seg));
            stream.take_committed(next, &mut |r| net.add(r));
        },
    )?;
    let warnings = stream.end(&mut |r| net.add(r));
    Ok((targets, net, warnings))
}
