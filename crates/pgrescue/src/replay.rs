//! Replay of the blocks the mistake touched, in LSN order, over *slots*
//! (relation, block, line pointer → the tuple version last placed there):
//! a page image sets every slot of its block, an INSERT/UPDATE sets the slot
//! of its new tuple (an UPDATE's prefix/suffix rebuilt from the old one),
//! INIT clears the block. At each record of the mistake, the old and new
//! images of its rows are captured with their source, preferring the tuple
//! on the heap page of the data directory.

use std::collections::HashMap;

use pgdata::BlockNo;
use pgdata::catalog::TOAST_LAYOUT;
use pgdata::multixact::MultiXacts;
use pgdata::page::LpFlags;
use pgdata::relation::RelationFile;
use pgdata::tuple::{HEAP_XMAX_IS_MULTI, HeapTuple};
use pgdata::varlena::{self, Varlena};
use walparse::Lsn;
use walparse::heap::HeapOp;

use crate::collect::{Change, RelKey};
use crate::files::TableRels;
use crate::page::{all_tuples, build_tuple, tuple_at};
use crate::plan::{RowKind, Source};
use crate::xacts::XactLog;

/// A tuple version as known at some point of the replay.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// Whole tuple bytes; `None` when the record could not be rebuilt.
    pub(crate) bytes: Option<Vec<u8>>,
    source: Source,
}

/// Slots per (relation, block).
pub(crate) type Slots = HashMap<(RelKey, u32), HashMap<u16, Slot>>;

/// An image captured for the plan.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) bytes: Option<Vec<u8>>,
    pub(crate) source: Option<Source>,
    pub(crate) why_missing: String,
    /// The file the image belongs to (an earlier file of the table is
    /// decoded with the columns it had then).
    pub(crate) rel: Option<RelKey>,
}

/// A row of the mistake while replaying (chains within the mistake merged).
#[derive(Debug, Clone)]
pub(crate) struct PendingRow {
    pub(crate) kind: RowKind,
    pub(crate) xid: u32,
    pub(crate) lsn: Lsn,
    pub(crate) old: Option<Captured>,
    pub(crate) new: Option<Captured>,
    pub(crate) cancelled: bool,
}

/// A tuple's place: the file (a table may have had several), block, line
/// pointer.
pub(crate) type At = (RelKey, u32, u16);

/// The mistake's rows in the order it first touched them.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) list: Vec<PendingRow>,
    /// Where each row's current version (written by the mistake) lives.
    pub(crate) versions: HashMap<At, usize>,
    /// Chains are merged within one transaction only (every transaction's
    /// own before/after images), not across the targets.
    pub(crate) per_xact: bool,
}

impl Rows {
    /// The row whose current version is at `at`, if chains may join it
    /// (the version is forgotten either way: `xid` replaces it).
    fn take_version(&mut self, at: At, xid: u32) -> Option<usize> {
        let i = self.versions.remove(&at)?;
        let same = self.list.get(i).is_some_and(|r| r.xid == xid);
        (same || !self.per_xact).then_some(i)
    }

    /// Takes out the rows of the transactions `done` accepts (ended: no
    /// record of theirs follows), in order; the others stay, renumbered.
    pub(crate) fn drain_done(&mut self, done: impl Fn(u32) -> bool) -> Vec<PendingRow> {
        let all = std::mem::take(&mut self.list);
        let mut remap = vec![None; all.len()];
        let mut out = Vec::new();
        for (r, slot) in all.into_iter().zip(remap.iter_mut()) {
            if done(r.xid) {
                out.push(r);
            } else {
                *slot = Some(self.list.len());
                self.list.push(r);
            }
        }
        self.versions
            .retain(|_, i| match remap.get(*i).copied().flatten() {
                Some(j) => {
                    *i = j;
                    true
                }
                None => false,
            });
        out
    }

    fn deleted(&mut self, at: At, xid: u32, lsn: Lsn, old: Captured) {
        match self
            .take_version(at, xid)
            .and_then(|i| self.list.get_mut(i))
        {
            // Inserted, then deleted by the mistake: nothing to undo.
            Some(r) if r.kind == RowKind::Delete => r.cancelled = true,
            // Updated, then deleted: put the original back.
            Some(r) => {
                r.kind = RowKind::Reinsert;
                r.new = None;
            }
            None => self.list.push(PendingRow {
                kind: RowKind::Reinsert,
                xid,
                lsn,
                old: Some(old),
                new: None,
                cancelled: false,
            }),
        }
    }

    fn updated(&mut self, from: At, to: At, xid: u32, lsn: Lsn, old: Captured, new: Captured) {
        let idx = match self.take_version(from, xid) {
            Some(i) => {
                if let Some(r) = self.list.get_mut(i) {
                    r.new = Some(new);
                }
                i
            }
            None => {
                self.list.push(PendingRow {
                    kind: RowKind::Revert,
                    xid,
                    lsn,
                    old: Some(old),
                    new: Some(new),
                    cancelled: false,
                });
                self.list.len().saturating_sub(1)
            }
        };
        self.versions.insert(to, idx);
    }

    fn inserted(&mut self, at: At, xid: u32, lsn: Lsn, new: Captured) {
        self.list.push(PendingRow {
            kind: RowKind::Delete,
            xid,
            lsn,
            old: None,
            new: Some(new),
            cancelled: false,
        });
        self.versions.insert(at, self.list.len().saturating_sub(1));
    }
}

/// The replay state of one table.
pub(crate) struct Replay<'a> {
    pub(crate) rels: TableRels,
    rel: RelationFile,
    toast: Option<RelationFile>,
    multis: MultiXacts,
    log: &'a XactLog,
    pub(crate) slots: Slots,
    pub(crate) rows: Rows,
    /// TOAST chunks the mistake deleted or wrote: (value id, seq) → bytes.
    pub(crate) chunks: HashMap<(u32, i32), Vec<u8>>,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(
        rels: TableRels,
        rel: RelationFile,
        toast: Option<RelationFile>,
        multis: MultiXacts,
        log: &'a XactLog,
    ) -> Self {
        Self {
            rels,
            rel,
            toast,
            multis,
            log,
            slots: HashMap::new(),
            rows: Rows::default(),
            chunks: HashMap::new(),
        }
    }

    /// The file of `rel` in the data directory: only the current ones
    /// (a rewrite removes the earlier files at its next checkpoint).
    fn file(&self, rel: RelKey) -> Option<&RelationFile> {
        if rel == self.rels.main {
            Some(&self.rel)
        } else if Some(rel) == self.rels.toast {
            self.toast.as_ref()
        } else {
            None
        }
    }

    /// The tuple at (`block`, `lp`) of `rel`'s heap file whose `xmax`
    /// (a multixact resolved to its updater) belongs to top-level `top`.
    fn heap_deleted_by(&mut self, rel: RelKey, block: u32, lp: u16, top: u32) -> Option<Vec<u8>> {
        let file = if rel == self.rels.main {
            Some(&self.rel)
        } else if Some(rel) == self.rels.toast {
            self.toast.as_ref()
        } else {
            None
        };
        let (multis, log) = (&mut self.multis, self.log);
        heap_tuple(file?, block, lp, &mut |t| {
            let xmax = if t.infomask() & HEAP_XMAX_IS_MULTI != 0 {
                multis.updater(t.xmax())
            } else {
                Some(t.xmax())
            };
            xmax.is_some_and(|x| log.top_of(x) == top)
        })
    }

    /// One record of the table or its TOAST relation; `top` is its
    /// top-level transaction, `mistake` whether that is a mistaken one.
    pub(crate) fn record(&mut self, c: &Change, top: u32, mistake: bool) {
        let op = match c.op {
            Some(op) if mistake => op,
            _ => {
                self.apply(c, top);
                if self.rels.old_toast.contains(&c.rel) {
                    self.keep_old_chunks(c);
                }
                return;
            }
        };
        let old_at = match op {
            HeapOp::Delete => c.offnums.first().map(|&o| (c.rel, c.block, o)),
            HeapOp::Update | HeapOp::HotUpdate => c.old_location.map(|(b, o)| (c.rel, b, o)),
            HeapOp::Insert | HeapOp::MultiInsert => None,
        };
        let old = old_at.map(|(_, b, o)| self.capture_old(c, top, b, o));
        self.apply(c, top);
        let news: Vec<(At, Captured)> = match op {
            HeapOp::Delete => Vec::new(),
            _ => c
                .offnums
                .iter()
                .map(|&o| {
                    (
                        (c.rel, c.block, o),
                        self.capture_new(c.rel, c.block, o, top),
                    )
                })
                .collect(),
        };
        if self.rels.is_toast(c.rel) {
            // TOAST chunks: keep what the mistake deleted and wrote.
            for cap in old.iter().chain(news.iter().map(|(_, n)| n)) {
                if let Some(b) = &cap.bytes {
                    add_chunk(b, &mut self.chunks);
                }
            }
            return;
        }
        match (op, old, old_at) {
            (HeapOp::Delete, Some(old), Some(at)) => self.rows.deleted(at, top, c.lsn, old),
            (HeapOp::Update | HeapOp::HotUpdate, Some(old), Some(from)) => {
                if let Some((to, new)) = news.into_iter().next() {
                    self.rows.updated(from, to, top, c.lsn, old, new);
                }
            }
            _ => {
                for (at, new) in news {
                    self.rows.inserted(at, top, c.lsn, new);
                }
            }
        }
    }

    /// The chunks an INSERT wrote into an earlier TOAST file of the table
    /// (gone after the rewrite): values the mistake left unchanged are read
    /// from them. Chunks the mistake itself deleted or wrote take precedence.
    fn keep_old_chunks(&mut self, c: &Change) {
        if !matches!(c.op, Some(HeapOp::Insert | HeapOp::MultiInsert)) {
            return;
        }
        for p in &c.tuples {
            if let Some(b) = build_tuple(p, c.xid, None) {
                let mut one = HashMap::new();
                add_chunk(&b, &mut one);
                for (k, v) in one {
                    self.chunks.entry(k).or_insert(v);
                }
            }
        }
    }

    /// The version a DELETE/UPDATE of the mistake replaced: the dead tuple on
    /// the heap page, else the record's own page image (taken after the
    /// change: the tuple is still there), else the replayed slot.
    fn capture_old(&mut self, c: &Change, top: u32, block: u32, lp: u16) -> Captured {
        Captured {
            rel: Some(c.rel),
            ..self.capture_old_in(c, top, block, lp)
        }
    }

    fn capture_old_in(&mut self, c: &Change, top: u32, block: u32, lp: u16) -> Captured {
        if let Some(b) = self.heap_deleted_by(c.rel, block, lp, top) {
            return found(b, Source::HeapPage { block, lp });
        }
        if let Some(img) = c.images.iter().find(|i| i.block == block)
            && let Some(t) = tuple_at(&img.page, lp)
        {
            return found(t.to_vec(), Source::RecordImage { lsn: c.lsn });
        }
        from_slot(&self.slots, c.rel, block, lp, c.lsn)
    }

    /// The version the mistake wrote: on the heap page (its `xmin`), else
    /// the replayed slot.
    fn capture_new(&self, rel: RelKey, block: u32, lp: u16, top: u32) -> Captured {
        Captured {
            rel: Some(rel),
            ..self.capture_new_in(rel, block, lp, top)
        }
    }

    fn capture_new_in(&self, rel: RelKey, block: u32, lp: u16, top: u32) -> Captured {
        let log = self.log;
        if let Some(file) = self.file(rel)
            && let Some(b) = heap_tuple(file, block, lp, &mut |t| log.top_of(t.xmin()) == top)
        {
            return found(b, Source::HeapPage { block, lp });
        }
        from_slot(&self.slots, rel, block, lp, Lsn(0))
    }

    /// Applies one record to the slots of its blocks (pass 2 keeps images of
    /// the blocks of interest only; elsewhere slots stay unknown).
    fn apply(&mut self, c: &Change, top: u32) {
        if c.init_page {
            self.slots.insert((c.rel, c.block), HashMap::new());
        }
        for p in &c.tuples {
            let needs_old = p.prefix_len > 0 || p.suffix_len > 0;
            let mut old = c
                .old_location
                .and_then(|(b, o)| self.slots.get(&(c.rel, b)).and_then(|s| s.get(&o)))
                .and_then(|s| s.bytes.clone());
            if needs_old && old.is_none() {
                // The old version may still be on the heap page.
                old = c
                    .old_location
                    .and_then(|(b, o)| self.heap_deleted_by(c.rel, b, o, top));
            }
            let bytes = build_tuple(p, c.xid, old.as_deref());
            self.slots.entry((c.rel, p.block)).or_default().insert(
                p.offnum,
                Slot {
                    bytes,
                    source: Source::CreatingRecord { lsn: c.lsn },
                },
            );
        }
        for img in &c.images {
            let m: HashMap<u16, Slot> = all_tuples(&img.page)
                .into_iter()
                .map(|(lp, t)| {
                    let source = Source::PageReplay { image_lsn: c.lsn };
                    (
                        lp,
                        Slot {
                            bytes: Some(t.to_vec()),
                            source,
                        },
                    )
                })
                .collect();
            self.slots.insert((c.rel, img.block), m);
        }
    }
}

/// The tuple at (`block`, `lp`) of the heap file, if `pred` accepts it.
fn heap_tuple(
    rel: &RelationFile,
    block: u32,
    lp: u16,
    pred: &mut dyn FnMut(&HeapTuple<'_>) -> bool,
) -> Option<Vec<u8>> {
    let page = rel.page(BlockNo(block)).ok()?;
    let id = page.item_id(lp).filter(|id| id.flags == LpFlags::Normal)?;
    let bytes = page.item_bytes(id).ok()?;
    let t = HeapTuple::parse(bytes, BlockNo(block), lp).ok()?;
    pred(&t).then(|| bytes.to_vec())
}

fn add_chunk(tuple: &[u8], chunks: &mut HashMap<(u32, i32), Vec<u8>>) {
    let Ok(t) = HeapTuple::parse(tuple, BlockNo(0), 0) else {
        return;
    };
    let Ok(v) = t.deform(&TOAST_LAYOUT) else {
        return;
    };
    let (Some(Some(id)), Some(Some(seq)), Some(Some(data))) = (v.first(), v.get(1), v.get(2))
    else {
        return;
    };
    let word = |b: &[u8]| {
        b.get(..4)
            .and_then(|x| x.try_into().ok())
            .map(i32::from_le_bytes)
    };
    let (Some(id), Some(seq)) = (word(id), word(seq)) else {
        return;
    };
    if let Ok(Varlena::Plain(p)) = varlena::classify(data) {
        chunks.insert((id.cast_unsigned(), seq), p.to_vec());
    }
}

fn found(bytes: Vec<u8>, source: Source) -> Captured {
    Captured {
        bytes: Some(bytes),
        source: Some(source),
        why_missing: String::new(),
        rel: None,
    }
}

fn from_slot(slots: &Slots, rel: RelKey, block: u32, lp: u16, lsn: Lsn) -> Captured {
    match slots.get(&(rel, block)).and_then(|s| s.get(&lp)) {
        Some(Slot {
            bytes: Some(b),
            source,
        }) => found(b.clone(), *source),
        Some(Slot {
            bytes: None,
            source,
        }) => Captured {
            bytes: None,
            source: Some(*source),
            why_missing: format!(
                "block {block} lp {lp}: the UPDATE that wrote it ({source}) is prefix/suffix-compressed and the old tuple is unknown"
            ),
            rel: Some(rel),
        },
        None => Captured {
            bytes: None,
            source: None,
            why_missing: if lsn.0 == 0 {
                format!("block {block} lp {lp}: no image of the tuple")
            } else {
                format!(
                    "block {block} lp {lp}: no dead tuple on the heap page, no page image and no record of it before {lsn}"
                )
            },
            rel: Some(rel),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REL: RelKey = RelKey {
        db_oid: 5,
        rel_number: 16384,
    };

    fn cap(tag: u8) -> Captured {
        found(
            vec![tag],
            Source::CreatingRecord {
                lsn: Lsn(u64::from(tag)),
            },
        )
    }

    #[test]
    fn insert_then_delete_in_the_mistake_cancels_out() {
        let mut r = Rows::default();
        r.inserted((REL, 0, 1), 7, Lsn(1), cap(1));
        r.deleted((REL, 0, 1), 7, Lsn(2), cap(2));
        assert!(r.list[0].cancelled);
        assert!(r.versions.is_empty());
    }

    #[test]
    fn two_updates_are_one_revert_from_the_first_old_to_the_last_new() {
        let mut r = Rows::default();
        r.updated((REL, 0, 1), (REL, 0, 5), 7, Lsn(1), cap(1), cap(2));
        r.updated((REL, 0, 5), (REL, 3, 2), 7, Lsn(2), cap(3), cap(4));
        assert_eq!(r.list.len(), 1);
        let row = &r.list[0];
        assert_eq!(row.kind, RowKind::Revert);
        assert_eq!(row.old.as_ref().unwrap().bytes, Some(vec![1]));
        assert_eq!(row.new.as_ref().unwrap().bytes, Some(vec![4]));
        assert_eq!(r.versions.get(&(REL, 3, 2)), Some(&0));
    }

    #[test]
    fn update_then_delete_re_inserts_the_original() {
        let mut r = Rows::default();
        r.updated((REL, 0, 1), (REL, 0, 5), 7, Lsn(1), cap(1), cap(2));
        r.deleted((REL, 0, 5), 7, Lsn(2), cap(2));
        let row = &r.list[0];
        assert_eq!((row.kind, row.new.is_none()), (RowKind::Reinsert, true));
        assert_eq!(row.old.as_ref().unwrap().bytes, Some(vec![1]));
    }
}
