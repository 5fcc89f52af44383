//! Which records a WAL scan keeps ([`Filter`], from the request's
//! options), and the walparse sink adapter every worker runs under
//! ([`Filtered`]): it applies the filter, checks for cancellation and
//! remembers what the segments are stitched with (first and last record,
//! the reader's diagnostics).

use walparse::{Diag, Lsn, Record};

use super::WalScanRequest;
use crate::job::{CancelToken, JobCtx};
use crate::pg::{Error, Result};

/// Which records a scan keeps.
pub(super) struct Filter {
    start: Option<Lsn>,
    end: Option<Lsn>,
    xid: Option<u32>,
    rmid: Option<u8>,
    relfilenode: Option<u32>,
    /// (database oid, relfilenode) from `relation`.
    relation: Option<(u32, u32)>,
}

impl Filter {
    pub(super) fn new(req: &WalScanRequest, job: &JobCtx) -> Result<Self> {
        let rmid = match &req.rmgr {
            Some(n) => {
                Some(walparse::rmgr::rmgr_by_name(n).ok_or_else(|| Error::UnknownRmgr(n.clone()))?)
            }
            None => None,
        };
        let relation = match &req.relation {
            Some(r) => Some(crate::pg::catalogs::resolve_relation(
                &req.inputs,
                r,
                req.database.as_deref(),
                job,
            )?),
            None => None,
        };
        Ok(Self {
            start: req.start,
            end: req.end,
            xid: req.xid,
            rmid,
            relfilenode: req.relfilenode,
            relation,
        })
    }

    fn keep(&self, r: &Record<'_>) -> bool {
        self.start.is_none_or(|s| r.lsn >= s)
            && self.end.is_none_or(|e| r.lsn < e)
            && self.xid.is_none_or(|x| r.xid() == x)
            && self.rmid.is_none_or(|m| r.rmid() == m)
            && self
                .relfilenode
                .is_none_or(|n| r.blocks.iter().any(|b| b.locator.rel_number == n))
            && self.relation.is_none_or(|(db, n)| {
                r.blocks
                    .iter()
                    .any(|b| b.locator.rel_number == n && b.locator.db_oid == db)
            })
    }
}

/// What the stitching of segments needs from one worker.
#[derive(Debug, Default)]
pub(super) struct SegMeta {
    /// The reader's diagnostics.
    pub(super) diags: Vec<Diag>,
    /// LSN and prev-link of the first record seen (kept or not).
    pub(super) first: Option<(Lsn, Lsn)>,
    /// LSN of the last record seen.
    pub(super) last: Option<Lsn>,
}

/// The walparse sink of one worker: records the filter keeps go to
/// `inner`; every record and diagnostic is noted in `meta`.
pub(super) struct Filtered<'f, S> {
    filter: &'f Filter,
    cancel: &'f CancelToken,
    seen: u32,
    pub(super) inner: S,
    pub(super) meta: SegMeta,
}

impl<'f, S> Filtered<'f, S> {
    pub(super) fn new(filter: &'f Filter, job: &'f JobCtx, inner: S) -> Self {
        Self {
            filter,
            cancel: &job.cancel,
            seen: 0,
            inner,
            meta: SegMeta::default(),
        }
    }
}

impl<S: walparse::Sink<Error = std::convert::Infallible>> walparse::Sink for Filtered<'_, S> {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> std::result::Result<bool, Self::Error> {
        self.seen = self.seen.wrapping_add(1);
        if self.seen.is_multiple_of(4096) && self.cancel.is_cancelled() {
            return Ok(false);
        }
        if self.meta.first.is_none() {
            self.meta.first = Some((r.lsn, r.prev()));
        }
        self.meta.last = Some(r.lsn);
        if !self.filter.keep(r) {
            return Ok(true);
        }
        self.inner.record(r)
    }
    fn diag(&mut self, d: &Diag) -> std::result::Result<bool, Self::Error> {
        self.meta.diags.push(d.clone());
        self.inner.diag(d)
    }
}
