//! The files a table had over time. `TRUNCATE`, `VACUUM FULL`, `CLUSTER`
//! and a rewriting `ALTER TABLE` give a table (and its TOAST table) new
//! files; the WAL names rows by file (relfilenode), so the mistake's records
//! may name a file the current catalog no longer shows.
//!
//! The link between a table and its earlier files is its `pg_class` row: each
//! rewrite updates it with the new `relfilenode` (and, for VACUUM FULL,
//! CLUSTER and ALTER TABLE, a new `reltoastrelid`). [`ClassHistory`] replays
//! the `pg_class` records the pass-1 sink kept
//! ([`crate::collect::XactSink::watching_catalog`]) over slots, as the table
//! replay does (page images set every slot of their block, an UPDATE's
//! prefix/suffix is rebuilt from the old version), and reads the `oid`,
//! `relfilenode` and `reltoastrelid` of every version it can rebuild, plus
//! every version (live or dead) still on the `pg_class` heap pages.
//! [`TableRels::with_history`] then adds every file a version named for the
//! table or its TOAST tables.

use std::collections::{BTreeSet, HashMap};

use pgdata::catalog::{Catalog, ClassRow, class_ids};

use crate::collect::{Change, RelKey};
use crate::page::{all_tuples, build_tuple};

/// The relations WAL names for one table: its current files and the
/// earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRels {
    /// The table's current file.
    pub main: RelKey,
    /// Its current TOAST table's file.
    pub toast: Option<RelKey>,
    /// Earlier files of the table (before a rewrite).
    pub old_main: Vec<RelKey>,
    /// Earlier files of its TOAST tables.
    pub old_toast: Vec<RelKey>,
}

fn rel_key(l: pgdata::RelLocator) -> RelKey {
    RelKey {
        db_oid: l.db_oid,
        rel_number: l.rel_number,
    }
}

impl TableRels {
    /// The files the current catalog names for `class`.
    pub fn current(cat: &Catalog, class: &ClassRow) -> Result<Self, crate::Error> {
        Ok(Self {
            main: rel_key(cat.locator(class)?),
            toast: match cat.class(class.reltoastrelid) {
                Some(t) => Some(rel_key(cat.locator(t)?)),
                None => None,
            },
            old_main: Vec::new(),
            old_toast: Vec::new(),
        })
    }

    /// These files plus the earlier ones `hist` shows for table `oid` and
    /// every TOAST table it had.
    pub fn with_history(mut self, hist: &ClassHistory, oid: u32) -> Self {
        let db_oid = self.main.db_oid;
        let key = |rel_number| RelKey { db_oid, rel_number };
        for &f in hist.files(oid) {
            let k = key(f);
            if k != self.main && !self.old_main.contains(&k) {
                self.old_main.push(k);
            }
        }
        for &t in hist.toast_tables(oid) {
            for &f in hist.files(t) {
                let k = key(f);
                if Some(k) != self.toast && !self.old_toast.contains(&k) {
                    self.old_toast.push(k);
                }
            }
        }
        self
    }

    /// Whether `rel` is one of the table's files (current or earlier).
    pub fn is_main(&self, rel: RelKey) -> bool {
        rel == self.main || self.old_main.contains(&rel)
    }

    /// Whether `rel` is one of its TOAST tables' files.
    pub fn is_toast(&self, rel: RelKey) -> bool {
        Some(rel) == self.toast || self.old_toast.contains(&rel)
    }

    /// Every file, current ones first.
    pub fn all(&self) -> Vec<RelKey> {
        let mut v = vec![self.main];
        v.extend(self.toast);
        v.extend(&self.old_main);
        v.extend(&self.old_toast);
        v
    }
}

/// Per `pg_class` oid, the files and TOAST tables its versions named.
#[derive(Debug, Clone, Default)]
pub struct ClassHistory {
    files: HashMap<u32, BTreeSet<u32>>,
    toasts: HashMap<u32, BTreeSet<u32>>,
    /// Per oid, every version's `(xmin, xmax, relfilenode)` (xmax 0 for a
    /// version rebuilt from WAL or never replaced).
    versions: HashMap<u32, Vec<(u32, u32, u32)>>,
    /// `pg_class` versions whose bytes could not be rebuilt (an UPDATE
    /// compressed against an old version no image showed).
    pub unreadable: u64,
}

impl ClassHistory {
    /// Replays `changes` (the `pg_class` records, LSN order) and reads the
    /// whole tuples in `heap_tuples` (every tuple on `pg_class`'s heap pages,
    /// dead ones included), for a cluster of major `major`.
    ///
    /// ```
    /// use pgrescue::files::ClassHistory;
    /// let h = ClassHistory::from_changes(&[], std::iter::empty(), 15);
    /// assert!(h.files(1259).next().is_none());
    /// ```
    pub fn from_changes<'t>(
        changes: &[Change],
        heap_tuples: impl Iterator<Item = &'t [u8]>,
        major: u32,
    ) -> Self {
        let mut h = Self::default();
        h.unreadable = replay_versions(changes, |t| h.note(t, major));
        for t in heap_tuples {
            h.note(t, major);
        }
        h
    }

    fn note(&mut self, tuple: &[u8], major: u32) {
        let Some(ids) = class_ids(major, tuple) else {
            return;
        };
        if let Ok(t) = pgdata::tuple::HeapTuple::parse(tuple, pgdata::BlockNo(0), 0) {
            self.versions
                .entry(ids.oid)
                .or_default()
                .push((t.xmin(), t.xmax(), ids.relfilenode));
        }
        if ids.relfilenode != 0 {
            self.files
                .entry(ids.oid)
                .or_default()
                .insert(ids.relfilenode);
        }
        if ids.reltoastrelid != 0 {
            self.toasts
                .entry(ids.oid)
                .or_default()
                .insert(ids.reltoastrelid);
        }
    }

    /// Every `relfilenode` a version of relation `oid` named, ascending.
    pub fn files(&self, oid: u32) -> impl Iterator<Item = &u32> {
        self.files.get(&oid).into_iter().flatten()
    }

    /// The transaction that gave relation `oid` a file other than `file`
    /// (the rewrite that ended `file`): the `xmax` of a dead version naming
    /// `file` whose successor names another, else the earliest `xmin` of a
    /// version naming another file written after every version naming
    /// `file`. `None` when the versions do not tell.
    pub fn replaced_by(&self, oid: u32, file: u32) -> Option<u32> {
        let vs = self.versions.get(&oid)?;
        let named = || vs.iter().filter(|v| v.2 == file);
        let last_xmin = named()
            .map(|v| v.0)
            .reduce(|a, b| if precedes(a, b) { b } else { a })?;
        let later = vs
            .iter()
            .filter(|v| v.2 != file && precedes(last_xmin, v.0))
            .map(|v| v.0)
            .reduce(|a, b| if precedes(a, b) { a } else { b });
        let by_xmax = named()
            .map(|v| v.1)
            .filter(|&x| x != 0 && vs.iter().any(|w| w.2 != file && w.0 == x))
            .reduce(|a, b| if precedes(a, b) { a } else { b });
        by_xmax.or(later)
    }

    /// Every `reltoastrelid` a version of relation `oid` named, ascending.
    pub fn toast_tables(&self, oid: u32) -> impl Iterator<Item = &u32> {
        self.toasts.get(&oid).into_iter().flatten()
    }
}

/// `TransactionIdPrecedes`: `a` is older than `b` (modulo 2^32 for normal
/// xids; the special ones, below 3, precede every normal xid).
pub fn precedes(a: u32, b: u32) -> bool {
    if a < 3 || b < 3 {
        return a < b;
    }
    b.wrapping_sub(a).cast_signed() > 0
}

/// Replays catalog records `changes` (LSN order) over slots and calls `f`
/// with every whole tuple version it can rebuild (and every tuple of the
/// page images); returns how many versions could not be rebuilt (an UPDATE
/// compressed against an old version no image showed). Rebuilt versions
/// carry the record's xid as `xmin` and no `xmax`; those of page images
/// carry their headers.
pub fn replay_versions(changes: &[Change], mut f: impl FnMut(&[u8])) -> u64 {
    let mut unreadable = 0u64;
    let mut slots: HashMap<u32, HashMap<u16, Vec<u8>>> = HashMap::new();
    for c in changes {
        if c.init_page {
            slots.insert(c.block, HashMap::new());
        }
        for p in &c.tuples {
            let old = c
                .old_location
                .and_then(|(b, o)| slots.get(&b).and_then(|s| s.get(&o)));
            match build_tuple(p, c.xid, old.map(Vec::as_slice)) {
                Some(t) => {
                    f(&t);
                    slots.entry(p.block).or_default().insert(p.offnum, t);
                }
                None => {
                    unreadable = unreadable.saturating_add(1);
                    if let Some(s) = slots.get_mut(&p.block) {
                        s.remove(&p.offnum);
                    }
                }
            }
        }
        for img in &c.images {
            let m: HashMap<u16, Vec<u8>> = all_tuples(&img.page)
                .into_iter()
                .map(|(lp, t)| (lp, t.to_vec()))
                .collect();
            for t in m.values() {
                f(t);
            }
            slots.insert(img.block, m);
        }
    }
    unreadable
}
