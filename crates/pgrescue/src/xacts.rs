//! The transactions of a WAL stream: pass-1 segments merged, subtransactions
//! folded into their top-level transaction, and the choice of the mistaken
//! transaction(s) by xid, commit LSN range or commit time range.

use std::collections::{BTreeMap, HashMap, HashSet};

use walparse::Lsn;
use walparse::xact::XactEnd;

use crate::collect::{ChangeFilter, RelKey, RowCounts, XactSeg};

/// One committed transaction, as `datam pg xacts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XactSummary {
    /// Top-level transaction id.
    pub xid: u32,
    /// Subtransactions that committed with it.
    pub subxacts: Vec<u32>,
    /// First heap record of the transaction (any of its subtransactions).
    pub first_lsn: Option<Lsn>,
    /// The commit record.
    pub commit_lsn: Lsn,
    /// End of the commit record.
    pub commit_end: Lsn,
    /// Commit time, µs since 2000-01-01 UTC.
    pub time_us: i64,
    /// Rows per relation.
    pub per_rel: BTreeMap<RelKey, RowCounts>,
    /// Committed by `COMMIT PREPARED` (its time is that record's).
    pub prepared: bool,
}

/// How the user names the mistaken transaction(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One top-level transaction id (a subtransaction id selects its top).
    Xid(u32),
    /// Every committed transaction whose commit record lies in `[from, to]`.
    LsnRange {
        /// Lower bound (inclusive).
        from: Option<Lsn>,
        /// Upper bound (inclusive).
        to: Option<Lsn>,
    },
    /// Every committed transaction whose commit time lies in `[since, until]`
    /// (µs since 2000-01-01 UTC).
    TimeRange {
        /// Lower bound (inclusive).
        since_us: Option<i64>,
        /// Upper bound (inclusive).
        until_us: Option<i64>,
    },
}

/// Pass-1 segments merged.
#[derive(Debug, Clone, Default)]
pub struct XactLog {
    ends: HashMap<u32, XactEnd>,
    parent: HashMap<u32, u32>,
    touches: HashMap<u32, crate::collect::XidTouch>,
    class_changes: Vec<crate::collect::Change>,
    attr_changes: Vec<crate::collect::Change>,
    imaged: HashSet<(u32, RelKey)>,
}

impl XactLog {
    /// Merges the pass-1 outputs of consecutive segments (in any order).
    ///
    /// ```
    /// use pgrescue::collect::XactSeg;
    /// use pgrescue::xacts::{Target, XactLog};
    /// let log = XactLog::from_segments(vec![XactSeg::default()]);
    /// assert!(log.select(Target::Xid(42)).is_empty());
    /// assert_eq!(log.top_of(42), 42);
    /// ```
    pub fn from_segments(segs: Vec<XactSeg>) -> Self {
        let mut log = XactLog::default();
        for seg in segs {
            for end in seg.ends {
                for &s in &end.subxacts {
                    log.parent.insert(s, end.xid);
                }
                log.ends.insert(end.xid, end);
            }
            log.parent.extend(seg.parents);
            log.class_changes.extend(seg.class_changes);
            log.attr_changes.extend(seg.attr_changes);
            log.imaged.extend(seg.imaged);
            for (xid, t) in seg.touches {
                let e = log.touches.entry(xid).or_default();
                if e.first_lsn
                    .is_none_or(|f| t.first_lsn.is_some_and(|n| n < f))
                {
                    e.first_lsn = t.first_lsn;
                }
                if e.last_lsn.is_none_or(|l| t.last_lsn.is_some_and(|n| n > l)) {
                    e.last_lsn = t.last_lsn;
                }
                for (rel, c) in t.per_rel {
                    e.per_rel.entry(rel).or_default().merge(c);
                }
                e.blocks_unsorted.extend(t.blocks_unsorted);
            }
        }
        log.class_changes.sort_by_key(|c| c.lsn);
        log.attr_changes.sort_by_key(|c| c.lsn);
        log
    }

    /// Whether top-level transaction `top` (or one of its
    /// subtransactions) wrote a page image of `rel` in a record other than
    /// a heap change ([`crate::collect::XactSeg::imaged`]).
    pub fn imaged(&self, top: u32, rel: RelKey) -> bool {
        self.imaged
            .iter()
            .any(|&(x, r)| r == rel && self.top_of(x) == top)
    }

    /// The `pg_class` records kept by a sink watching the catalog
    /// ([`crate::collect::XactSink::watching_catalog`]), in LSN order.
    pub fn class_changes(&self) -> &[crate::collect::Change] {
        &self.class_changes
    }

    /// The `pg_attribute` records kept by a sink watching it
    /// ([`crate::collect::XactSink::watching_attributes`]), in LSN order.
    pub fn attr_changes(&self) -> &[crate::collect::Change] {
        &self.attr_changes
    }

    /// The top-level transaction of `xid` (itself when it has no parent).
    pub fn top_of(&self, xid: u32) -> u32 {
        let mut x = xid;
        // Parent chains are short; the bound guards against a cycle in damaged WAL.
        for _ in 0..64 {
            match self.parent.get(&x) {
                Some(&p) if p != x => x = p,
                _ => break,
            }
        }
        x
    }

    /// The commit or abort record of top-level `xid`, if the WAL has it.
    pub fn end_of(&self, xid: u32) -> Option<&XactEnd> {
        self.ends.get(&self.top_of(xid))
    }

    /// Whether `xid` (or its top-level transaction) committed according to
    /// the WAL's commit records; `None` when the WAL holds no end record.
    pub fn committed(&self, xid: u32) -> Option<bool> {
        self.end_of(xid).map(|e| e.committed)
    }

    /// Every committed transaction that changed heap rows, in commit order.
    pub fn committed_summaries(&self) -> Vec<XactSummary> {
        self.summaries(|e| e.is_some_and(|e| e.committed))
    }

    /// Every top-level transaction that changed heap rows and did not
    /// commit in the WAL read, by the LSN of its end: the aborted ones (the
    /// abort record as `commit_lsn`, `commit_end` and `time_us`; `true`),
    /// then those without an end record (still in progress where the WAL
    /// ends, or whose end record is not among the WAL read: `commit_lsn`
    /// and `commit_end` `Lsn(u64::MAX)`, `time_us` 0; `false`).
    pub fn uncommitted_summaries(&self) -> Vec<(XactSummary, bool)> {
        self.summaries(|e| e.is_none_or(|e| !e.committed))
            .into_iter()
            .map(|s| {
                let aborted = self.ends.contains_key(&s.xid);
                (s, aborted)
            })
            .collect()
    }

    /// The summaries of the top-level transactions whose end record (or
    /// its absence) `want` accepts, by end LSN.
    fn summaries(&self, want: impl Fn(Option<&XactEnd>) -> bool) -> Vec<XactSummary> {
        let mut by_top: HashMap<u32, XactSummary> = HashMap::new();
        for (&xid, t) in &self.touches {
            let top = self.top_of(xid);
            let end = self.ends.get(&top);
            if !want(end) {
                continue;
            }
            let s = by_top.entry(top).or_insert_with(|| XactSummary {
                xid: top,
                subxacts: end.map(|e| e.subxacts.clone()).unwrap_or_default(),
                first_lsn: None,
                commit_lsn: end.map_or(Lsn(u64::MAX), |e| e.lsn),
                commit_end: end.map_or(Lsn(u64::MAX), |e| e.end),
                time_us: end.map_or(0, |e| e.time_us),
                per_rel: BTreeMap::new(),
                prepared: end.is_some_and(|e| e.prepared),
            });
            if s.first_lsn
                .is_none_or(|f| t.first_lsn.is_some_and(|n| n < f))
            {
                s.first_lsn = t.first_lsn;
            }
            for (rel, c) in &t.per_rel {
                s.per_rel.entry(*rel).or_default().merge(*c);
            }
        }
        let mut v: Vec<XactSummary> = by_top.into_values().collect();
        v.sort_by_key(|s| (s.commit_lsn, s.xid));
        v
    }

    /// The committed top-level transactions `target` names, in commit order.
    pub fn select(&self, target: Target) -> Vec<XactSummary> {
        let all = self.committed_summaries();
        all.into_iter()
            .filter(|s| match target {
                Target::Xid(x) => s.xid == self.top_of(x),
                Target::LsnRange { from, to } => {
                    from.is_none_or(|f| s.commit_lsn >= f) && to.is_none_or(|t| s.commit_lsn <= t)
                }
                Target::TimeRange { since_us, until_us } => {
                    since_us.is_none_or(|f| s.time_us >= f)
                        && until_us.is_none_or(|t| s.time_us <= t)
                }
            })
            .collect()
    }

    /// What pass 2 must keep to plan the undo of `targets` in `rels`.
    pub fn change_filter(&self, targets: &[XactSummary], rels: &HashSet<RelKey>) -> ChangeFilter {
        let tops: HashSet<u32> = targets.iter().map(|t| t.xid).collect();
        let mut blocks = HashSet::new();
        for (&xid, t) in &self.touches {
            if tops.contains(&self.top_of(xid)) {
                blocks.extend(
                    t.blocks_unsorted
                        .iter()
                        .filter(|(r, _)| rels.contains(r))
                        .copied(),
                );
            }
        }
        ChangeFilter {
            rels: rels.clone(),
            blocks,
            later_from: targets
                .iter()
                .map(|t| t.commit_lsn)
                .min()
                .unwrap_or(Lsn(u64::MAX)),
            images_until: targets.iter().map(|t| t.commit_lsn).max().unwrap_or(Lsn(0)),
            whole: HashSet::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{RowCounts, XidTouch};

    fn end(xid: u32, committed: bool, time_us: i64, lsn: u64, subxacts: Vec<u32>) -> XactEnd {
        XactEnd {
            lsn: Lsn(lsn),
            end: Lsn(lsn + 32),
            xid,
            committed,
            time_us,
            subxacts,
            prepared: false,
        }
    }

    fn touch(deleted: u64) -> XidTouch {
        let mut t = XidTouch {
            first_lsn: Some(Lsn(100)),
            last_lsn: Some(Lsn(200)),
            ..XidTouch::default()
        };
        let rel = RelKey {
            db_oid: 5,
            rel_number: 16384,
        };
        t.per_rel.insert(
            rel,
            RowCounts {
                deleted,
                ..RowCounts::default()
            },
        );
        t.blocks_unsorted.push((rel, 3));
        t
    }

    /// Two segments: xid 10 (subxact 11 did half its work) commits, 12 aborts.
    fn log() -> XactLog {
        XactLog::from_segments(segments())
    }

    fn segments() -> Vec<XactSeg> {
        let mut a = XactSeg::default();
        a.touches.insert(10, touch(2));
        a.touches.insert(12, touch(9));
        let mut b = XactSeg::default();
        b.touches.insert(11, touch(3));
        b.ends.push(end(10, true, 1_000, 1000, vec![11]));
        b.ends.push(end(12, false, 2_000, 2000, vec![]));
        vec![a, b]
    }

    #[test]
    fn uncommitted_transactions_are_listed_apart() {
        // 10 commits (with 11), 12 aborts, 13 has no end record.
        let mut segs = segments();
        let mut c = XactSeg::default();
        c.touches.insert(13, touch(1));
        segs.push(c);
        let log = XactLog::from_segments(segs);
        let u = log.uncommitted_summaries();
        let ids: Vec<(u32, bool)> = u.iter().map(|(s, a)| (s.xid, *a)).collect();
        assert_eq!(ids, vec![(12, true), (13, false)]);
        assert_eq!(u[0].0.commit_lsn, Lsn(2000));
        assert_eq!(u[1].0.commit_lsn, Lsn(u64::MAX));
    }

    #[test]
    fn subtransactions_fold_into_their_top_and_aborts_are_left_out() {
        let log = log();
        let all = log.committed_summaries();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].xid, 10);
        assert_eq!(all[0].per_rel.values().map(|c| c.deleted).sum::<u64>(), 5);
        assert_eq!(log.select(Target::Xid(11))[0].xid, 10);
        assert!(log.select(Target::Xid(12)).is_empty());
        assert_eq!(log.committed(12), Some(false));
        assert_eq!(log.committed(99), None);
    }

    #[test]
    fn ranges_select_by_commit_lsn_and_time() {
        let log = log();
        let by_lsn = |from, to| {
            log.select(Target::LsnRange {
                from: Some(Lsn(from)),
                to: Some(Lsn(to)),
            })
            .len()
        };
        assert_eq!((by_lsn(1000, 1000), by_lsn(1001, 5000)), (1, 0));
        let by_time = |s, u| {
            log.select(Target::TimeRange {
                since_us: s,
                until_us: u,
            })
            .len()
        };
        assert_eq!(
            (by_time(Some(1_000), Some(1_000)), by_time(None, Some(999))),
            (1, 0)
        );
    }

    #[test]
    fn the_filter_keeps_the_mistakes_blocks_and_bounds() {
        let log = log();
        let t = log.select(Target::Xid(10));
        let rels: HashSet<RelKey> = [RelKey {
            db_oid: 5,
            rel_number: 16384,
        }]
        .into();
        let f = log.change_filter(&t, &rels);
        assert_eq!(f.blocks.len(), 1);
        assert_eq!((f.later_from, f.images_until), (Lsn(1000), Lsn(1000)));
    }
}
