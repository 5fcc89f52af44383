//! Later work wins: rows of the plan that a transaction committed after the
//! mistake touched are marked skipped, with that transaction and what it
//! did — it updated or deleted the version the mistake wrote (its DELETE or
//! UPDATE names that tuple's place), or it inserted the key the mistake
//! deleted (its new tuple's key, read from the record or its page image).

use std::collections::HashMap;

use pgdata::xact::{Clog, XidStatus};
use walparse::Lsn;
use walparse::heap::HeapOp;

use crate::collect::Change;
use crate::files::TableRels;
use crate::page::build_tuple;
use crate::plan::{Decoder, Image, PlanRow, RowKind, RowStatus};
use crate::replay::{At, Rows, Slots};
use crate::xacts::XactLog;

/// What the later-work check reads.
pub(crate) struct Later<'a> {
    pub(crate) changes: &'a [Change],
    pub(crate) rels: &'a TableRels,
    pub(crate) log: &'a XactLog,
    /// Mistaken transaction → its commit LSN.
    pub(crate) commit_of: &'a HashMap<u32, Lsn>,
    pub(crate) slots: &'a Slots,
    pub(crate) rows: &'a Rows,
    pub(crate) key_cols: &'a [usize],
    /// The key is a unique index: a HOT update (no indexed column changed)
    /// cannot bring a key back.
    pub(crate) key_is_indexed: bool,
}

impl Later<'_> {
    /// Marks the rows of `plan_rows` (the non-cancelled pending rows, in
    /// order); returns how many later tuples' keys could not be read.
    pub(crate) fn mark(
        &self,
        plan_rows: &mut [PlanRow],
        dec: &mut Decoder<'_, '_>,
        clog: &mut Clog,
    ) -> u64 {
        let to_plan: HashMap<usize, usize> = self
            .rows
            .list
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.cancelled)
            .enumerate()
            .map(|(p, (i, _))| (i, p))
            .collect();
        let mut versions: HashMap<At, usize> = self
            .rows
            .versions
            .iter()
            .filter_map(|(at, i)| Some((*at, *to_plan.get(i)?)))
            .collect();
        let mut deleted_keys: HashMap<Image, Vec<usize>> = HashMap::new();
        for (p, r) in plan_rows.iter().enumerate() {
            if r.kind == RowKind::Reinsert && !r.key.is_empty() {
                deleted_keys.entry(r.key.clone()).or_default().push(p);
            }
        }
        let first_commit = self
            .commit_of
            .values()
            .min()
            .copied()
            .unwrap_or(Lsn(u64::MAX));
        let mut unread = 0u64;
        let mut committed: HashMap<u32, bool> = HashMap::new();
        for c in self
            .changes
            .iter()
            .filter(|c| self.rels.is_main(c.rel) && c.lsn > first_commit)
        {
            let top = self.log.top_of(c.xid);
            if self.commit_of.contains_key(&top) {
                continue;
            }
            let ok = *committed.entry(top).or_insert_with(|| {
                self.log
                    .committed(top)
                    .unwrap_or_else(|| clog.status(top) == XidStatus::Committed)
            });
            if !ok {
                continue;
            }
            let mut mark = |p: usize, what: &'static str| {
                if let Some(r) = plan_rows.get_mut(p)
                    && self.commit_of.get(&r.xid).is_some_and(|&cl| c.lsn > cl)
                    && !matches!(r.status, RowStatus::SkippedLaterWork { .. })
                {
                    r.status = RowStatus::SkippedLaterWork {
                        xid: top,
                        lsn: c.lsn,
                        what,
                    };
                }
            };
            let (touched, what) = match c.op {
                Some(HeapOp::Delete) => (
                    c.offnums.first().map(|&o| (c.rel, c.block, o)),
                    "deleted the row this transaction wrote",
                ),
                Some(HeapOp::Update | HeapOp::HotUpdate) => (
                    c.old_location.map(|(b, o)| (c.rel, b, o)),
                    "updated the row this transaction wrote",
                ),
                _ => (None, ""),
            };
            if let Some(p) = touched.and_then(|at| versions.remove(&at)) {
                mark(p, what);
            }
            let hot = c.op == Some(HeapOp::HotUpdate);
            if deleted_keys.is_empty() || (hot && self.key_is_indexed) {
                continue;
            }
            for p in &c.tuples {
                let old = c
                    .old_location
                    .and_then(|(b, o)| self.slots.get(&(c.rel, b)).and_then(|s| s.get(&o)))
                    .and_then(|s| s.bytes.clone());
                let key = build_tuple(p, c.xid, old.as_deref()).map(|b| dec.key(&b, self.key_cols));
                match key {
                    Some(Ok(k)) => {
                        for &q in deleted_keys.get(&k).map(Vec::as_slice).unwrap_or_default() {
                            mark(q, "inserted a row with the same key");
                        }
                    }
                    _ => unread = unread.saturating_add(1),
                }
            }
        }
        unread
    }
}
