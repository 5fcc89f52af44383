//! What the planner keeps from WAL, gathered by [`walparse::Sink`]s that the
//! caller runs over segments (in parallel, one sink per segment) and then
//! concatenates in segment order.
//!
//! Two passes keep memory flat however much WAL there is:
//! 1. [`XactSink`] → [`XactSeg`]: transaction ends (commit/abort, time,
//!    subtransactions) and, per transaction id, the rows each relation saw
//!    inserted/updated/deleted and, for the relations being rescued, which
//!    blocks were touched.
//! 2. [`ChangeSink`] → [`Change`]s of the relations being rescued only: every
//!    record on a block the mistaken transaction touched (with its page
//!    images, restored), and, after the mistake, the new tuple of every
//!    insert/update (for "later work" checks).

use std::collections::{HashMap, HashSet};

use walparse::heap::{HeapChange, HeapOp, TupleRole, heap_change};
use walparse::xact::{XactEnd, xact_end};
use walparse::{Diag, Lsn, Record, Sink, WalCtx};

/// A relation as WAL names it: database OID and relfilenode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelKey {
    /// Database OID (`dbOid`).
    pub db_oid: u32,
    /// `relNumber` / relfilenode.
    pub rel_number: u32,
}

/// Rows one transaction changed in one relation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Tuples inserted (INSERT, each tuple of a MULTI_INSERT).
    pub inserted: u64,
    /// Tuples updated (UPDATE, HOT_UPDATE).
    pub updated: u64,
    /// Tuples deleted.
    pub deleted: u64,
}

impl RowCounts {
    fn add(&mut self, op: HeapOp, n: u64) {
        match op {
            HeapOp::Insert | HeapOp::MultiInsert => self.inserted = self.inserted.saturating_add(n),
            HeapOp::Update | HeapOp::HotUpdate => self.updated = self.updated.saturating_add(n),
            HeapOp::Delete => self.deleted = self.deleted.saturating_add(n),
        }
    }
    /// Adds `o` into `self`.
    pub fn merge(&mut self, o: RowCounts) {
        self.inserted = self.inserted.saturating_add(o.inserted);
        self.updated = self.updated.saturating_add(o.updated);
        self.deleted = self.deleted.saturating_add(o.deleted);
    }
}

/// What one (sub)transaction id did, as seen in one segment.
#[derive(Debug, Clone, Default)]
pub struct XidTouch {
    /// First and last heap record LSNs.
    pub first_lsn: Option<Lsn>,
    /// Last heap record LSN.
    pub last_lsn: Option<Lsn>,
    /// Rows per relation.
    pub per_rel: HashMap<RelKey, RowCounts>,
    /// Blocks touched in the relations of interest (unsorted).
    pub blocks_unsorted: Vec<(RelKey, u32)>,
}

/// Pass-1 output for one segment.
#[derive(Debug, Clone, Default)]
pub struct XactSeg {
    /// Commit and abort records, in LSN order.
    pub ends: Vec<XactEnd>,
    /// Per `xl_xid` (subtransactions not yet folded).
    pub touches: HashMap<u32, XidTouch>,
    /// Subtransaction → top-level transaction, from `toplevel_xid` block
    /// ids (wal_level=logical) or assignment records.
    pub parents: HashMap<u32, u32>,
    /// Reader diagnostics (damage, end of WAL).
    pub diags: Vec<Diag>,
    /// The heap records of `pg_class` (with every page image they or other
    /// records carry), when the sink watches the catalog: the files each
    /// relation had over time ([`crate::files`]).
    pub class_changes: Vec<Change>,
    /// The same for `pg_attribute`, when the sink also watches it
    /// ([`XactSink::watching_attributes`]): the columns each relation had
    /// over time ([`crate::oldcols`]).
    pub attr_changes: Vec<Change>,
    /// `(xl_xid, relation)` of the records other than heap changes that
    /// carry page images of recorded relations (`XLOG_FPI`: the pages
    /// VACUUM FULL and CLUSTER write into a table's new file).
    pub imaged: HashSet<(u32, RelKey)>,
}

/// What a pass-1 sink watching the catalog keeps besides its interest.
#[derive(Debug, Clone)]
struct ClassWatch {
    /// Page size of the images (the data directory's `BLCKSZ`).
    block_size_bytes: u32,
    /// `pg_class` of the database.
    pg_class: RelKey,
    /// The relations the current catalog names: blocks of any other
    /// relation of the same database (an earlier file of a rewritten
    /// table, or a dropped one) are recorded too.
    known: HashSet<RelKey>,
    /// `pg_attribute` of the database, when watched too.
    pg_attribute: Option<RelKey>,
}

/// Pass 1: transaction ends and row counts.
#[derive(Debug)]
pub struct XactSink {
    /// Relations whose touched blocks are recorded (for pass 2).
    interest: HashSet<RelKey>,
    watch: Option<ClassWatch>,
    /// The result.
    pub out: XactSeg,
}

impl XactSink {
    /// A sink recording touched blocks of the relations in `interest`.
    ///
    /// ```
    /// use pgrescue::collect::{RelKey, XactSink};
    /// let rel = RelKey { db_oid: 5, rel_number: 16384 };
    /// let sink = XactSink::new([rel].into());
    /// assert!(sink.out.ends.is_empty());
    /// ```
    pub fn new(interest: HashSet<RelKey>) -> Self {
        Self {
            interest,
            watch: None,
            out: XactSeg::default(),
        }
    }

    /// Also keeps the records of `pg_class` (`pg_class`'s relation in the
    /// database) in [`XactSeg::class_changes`], and the touched blocks of
    /// every relation of that database that `known` (the relations the
    /// current catalog names) leaves out: the earlier files of a table
    /// rewritten by TRUNCATE, VACUUM FULL, CLUSTER or ALTER TABLE.
    ///
    /// ```
    /// use pgrescue::collect::{RelKey, XactSink};
    /// let class = RelKey { db_oid: 5, rel_number: 1259 };
    /// let sink = XactSink::new([].into()).watching_catalog(8192, class, [class].into());
    /// assert!(sink.out.class_changes.is_empty());
    /// ```
    pub fn watching_catalog(
        mut self,
        block_size_bytes: u32,
        pg_class: RelKey,
        known: HashSet<RelKey>,
    ) -> Self {
        self.watch = Some(ClassWatch {
            block_size_bytes,
            pg_class,
            known,
            pg_attribute: None,
        });
        self
    }

    /// Also keeps the records of `pg_attribute` (relation `pg_attribute`)
    /// in [`XactSeg::attr_changes`]; only after
    /// [`XactSink::watching_catalog`] (alone it does nothing).
    pub fn watching_attributes(mut self, pg_attribute: RelKey) -> Self {
        if let Some(w) = &mut self.watch {
            w.pg_attribute = Some(pg_attribute);
        }
        self
    }

    fn records_blocks_of(&self, rel: RelKey) -> bool {
        self.interest.contains(&rel)
            || self
                .watch
                .as_ref()
                .is_some_and(|w| w.pg_class.db_oid == rel.db_oid && !w.known.contains(&rel))
    }
}

fn rel_key(l: walparse::RelFileLocator) -> RelKey {
    RelKey {
        db_oid: l.db_oid,
        rel_number: l.rel_number,
    }
}

impl Sink for XactSink {
    type Error = std::convert::Infallible;
    fn record(&mut self, rec: &Record<'_>) -> Result<bool, Self::Error> {
        if let Some(end) = xact_end(rec) {
            self.out.ends.push(end);
            return Ok(true);
        }
        if let Some(top) = rec.toplevel_xid {
            self.out.parents.insert(rec.xid(), top);
        }
        if rec.rmid() == walparse::rmgr::RM_XACT_ID && rec.info() & 0x70 == 0x50 {
            assignment(rec.main_data, &mut self.out.parents);
            return Ok(true);
        }
        let Some(ch) = heap_change(rec) else {
            for b in rec.blocks.iter().filter(|b| b.image.is_some()) {
                let rel = rel_key(b.locator);
                if self.records_blocks_of(rel) {
                    self.out.imaged.insert((rec.xid(), rel));
                }
            }
            if let Some(w) = &self.watch {
                let class = w.pg_class;
                let imgs = image_changes(w.block_size_bytes, rec, |r, _| r == class, Lsn(u64::MAX));
                self.out.class_changes.extend(imgs);
                if let Some(attr) = w.pg_attribute {
                    let imgs =
                        image_changes(w.block_size_bytes, rec, |r, _| r == attr, Lsn(u64::MAX));
                    self.out.attr_changes.extend(imgs);
                }
            }
            return Ok(true);
        };
        if let Some(w) = &self.watch
            && rel_key(ch.locator) == w.pg_class
        {
            let c = owned_change(w.block_size_bytes, &ch, |_| true);
            self.out.class_changes.push(c);
        }
        if let Some(w) = &self.watch
            && Some(rel_key(ch.locator)) == w.pg_attribute
        {
            let c = owned_change(w.block_size_bytes, &ch, |_| true);
            self.out.attr_changes.push(c);
        }
        let record_blocks = self.records_blocks_of(rel_key(ch.locator));
        let t = self.out.touches.entry(ch.xid).or_default();
        t.first_lsn.get_or_insert(ch.lsn);
        t.last_lsn = Some(ch.lsn);
        let rel = rel_key(ch.locator);
        let n = u64::try_from(ch.offnums.len()).unwrap_or(u64::MAX).max(1);
        t.per_rel.entry(rel).or_default().add(ch.op, n);
        if record_blocks {
            t.blocks_unsorted.push((rel, ch.block));
            if let Some((b, _)) = ch.old_location
                && b != ch.block
            {
                t.blocks_unsorted.push((rel, b));
            }
        }
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        self.out.diags.push(d.clone());
        Ok(true)
    }
}

/// `xl_xact_assignment`: u32 xtop, i32 nsubxacts, u32 xsub[].
fn assignment(md: &[u8], parents: &mut HashMap<u32, u32>) {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            md.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let (Some(top), Some(n)) = (word(0), word(4)) else {
        return;
    };
    for k in 0..usize::try_from(n).unwrap_or(0) {
        let Some(sub) = k
            .checked_mul(4)
            .and_then(|o| o.checked_add(8))
            .and_then(word)
        else {
            break;
        };
        parents.insert(sub, top);
    }
}

/// A tuple placed by a record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedTuple {
    /// Block and line pointer where the record put it.
    pub block: u32,
    /// Line pointer.
    pub offnum: u16,
    /// `t_infomask2`, `t_infomask`, `t_hoff` from `xl_heap_header`.
    pub t_infomask2: u16,
    /// `t_infomask`.
    pub t_infomask: u16,
    /// `t_hoff`.
    pub t_hoff: u8,
    /// Bytes from offset 23 of the tuple (minus prefix/suffix), or the whole
    /// tuple from offset 23 when taken from the record's own page image.
    pub carried: Vec<u8>,
    /// `XLH_UPDATE_PREFIX_FROM_OLD` length (0 when none).
    pub prefix_len: u16,
    /// `XLH_UPDATE_SUFFIX_FROM_OLD` length (0 when none).
    pub suffix_len: u16,
}

/// A restored page image carried by a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageImage {
    /// Block number.
    pub block: u32,
    /// The page (decompressed, hole zeroed).
    pub page: Vec<u8>,
}

/// One heap record of a relation being rescued, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The operation; `None` for another record (FPI for hint bits, prune,
    /// vacuum, lock) kept for the page images it carries.
    pub op: Option<HeapOp>,
    /// Record LSN.
    pub lsn: Lsn,
    /// `xl_xid`.
    pub xid: u32,
    /// Relation.
    pub rel: RelKey,
    /// Target block (block 0: the new tuple's, or the deleted one's).
    pub block: u32,
    /// Offsets inserted / new tuple / deleted.
    pub offnums: Vec<u16>,
    /// UPDATE: the old tuple's block and offset.
    pub old_location: Option<(u32, u16)>,
    /// `XLOG_HEAP_INIT_PAGE`.
    pub init_page: bool,
    /// New tuples placed by the record (data carried, or cut from its image).
    pub tuples: Vec<PlacedTuple>,
    /// Page images of blocks of interest (restored).
    pub images: Vec<PageImage>,
    /// Images that could not be restored (block, reason).
    pub bad_images: Vec<(u32, String)>,
}

/// Which changes pass 2 keeps.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Relations being rescued (tables and their TOAST relations).
    pub rels: HashSet<RelKey>,
    /// Blocks the mistaken transactions touched: every record on them is kept.
    pub blocks: HashSet<(RelKey, u32)>,
    /// Records after this LSN (the earliest commit of a mistaken
    /// transaction) are kept with their new tuples, for later-work checks.
    pub later_from: Lsn,
    /// Page images after this LSN (the last commit of a mistaken
    /// transaction) are not kept: the replay needs none after the mistake.
    pub images_until: Lsn,
    /// Relations every row change of which is kept, whatever the block: the
    /// earlier TOAST files of a rewritten table (gone from the data
    /// directory, so the chunks of values the mistake left unchanged can
    /// only come from the records that wrote them).
    pub whole: HashSet<RelKey>,
}

/// Pass 2: the changes of the relations being rescued.
#[derive(Debug)]
pub struct ChangeSink<'f> {
    ctx: WalCtx,
    filter: &'f ChangeFilter,
    /// The result, in LSN order.
    pub out: Vec<Change>,
    /// Reader diagnostics.
    pub diags: Vec<Diag>,
}

impl<'f> ChangeSink<'f> {
    /// A sink keeping what `filter` asks for.
    pub fn new(ctx: WalCtx, filter: &'f ChangeFilter) -> Self {
        Self {
            ctx,
            filter,
            out: Vec::new(),
            diags: Vec::new(),
        }
    }
}

/// One [`Change`] (`op` `None`) per page image of a block `keep` accepts
/// carried by `rec` at or before `until`, for a record that is not a row
/// change (hint-bit FPI, prune, vacuum, lock).
fn image_changes(
    block_size_bytes: u32,
    rec: &Record<'_>,
    keep: impl Fn(RelKey, u32) -> bool,
    until: Lsn,
) -> Vec<Change> {
    let mut v = Vec::new();
    for b in &rec.blocks {
        let Some(image) = b.image else {
            continue;
        };
        let rel = rel_key(b.locator);
        if b.fork() != 0 || rec.lsn > until || !keep(rel, b.block) {
            continue;
        }
        let mut out = Change {
            op: None,
            lsn: rec.lsn,
            xid: rec.xid(),
            rel,
            block: b.block,
            offnums: Vec::new(),
            old_location: None,
            init_page: false,
            tuples: Vec::new(),
            images: Vec::new(),
            bad_images: Vec::new(),
        };
        match walparse::fpi::restore_page(&image, block_size_bytes, rec.lsn, b.id) {
            Ok(page) => out.images.push(PageImage {
                block: b.block,
                page,
            }),
            Err(e) => out.bad_images.push((b.block, e.to_string())),
        }
        v.push(out);
    }
    v
}

/// The owned [`Change`] of a heap record: its new tuples (carried, or cut
/// from its own page image when it carries none) and the restored page
/// images of the blocks `keep` accepts.
fn owned_change(block_size_bytes: u32, ch: &HeapChange<'_>, keep: impl Fn(u32) -> bool) -> Change {
    let rel = rel_key(ch.locator);
    let mut out = Change {
        op: Some(ch.op),
        lsn: ch.lsn,
        xid: ch.xid,
        rel,
        block: ch.block,
        offnums: ch.offnums.clone(),
        old_location: ch.old_location,
        init_page: ch.init_page,
        tuples: Vec::new(),
        images: Vec::new(),
        bad_images: Vec::new(),
    };
    for t in ch.tuples.iter().filter(|t| t.role == TupleRole::New) {
        out.tuples.push(PlacedTuple {
            block: t.block,
            offnum: t.offnum,
            t_infomask2: t.t_infomask2,
            t_infomask: t.t_infomask,
            t_hoff: t.t_hoff,
            carried: t.data.to_vec(),
            prefix_len: t.prefix_len,
            suffix_len: t.suffix_len,
        });
    }
    let carried_new = !out.tuples.is_empty();
    for img in &ch.images {
        if img.fork != 0 || rel_key(img.locator) != rel {
            continue;
        }
        // Keep images of blocks of interest; elsewhere only cut the new
        // tuples out of an image when the record did not carry them.
        let keep = keep(img.block);
        let cut = !carried_new
            && img.block == ch.block
            && matches!(
                ch.op,
                HeapOp::Insert | HeapOp::MultiInsert | HeapOp::Update | HeapOp::HotUpdate
            );
        if !keep && !cut {
            continue;
        }
        match walparse::fpi::restore_page(&img.image, block_size_bytes, ch.lsn, img.block_id) {
            Ok(page) => {
                if cut {
                    for &off in &ch.offnums {
                        if let Some(t) = crate::page::tuple_at(&page, off) {
                            out.tuples.push(placed_from_page(img.block, off, t));
                        }
                    }
                }
                if keep {
                    out.images.push(PageImage {
                        block: img.block,
                        page,
                    });
                }
            }
            Err(e) => out.bad_images.push((img.block, e.to_string())),
        }
    }
    out
}

impl Sink for ChangeSink<'_> {
    type Error = std::convert::Infallible;
    fn record(&mut self, rec: &Record<'_>) -> Result<bool, Self::Error> {
        let f = self.filter;
        let Some(ch) = heap_change(rec) else {
            let keep = |rel, b| f.blocks.contains(&(rel, b));
            let imgs = image_changes(self.ctx.block_size_bytes, rec, keep, f.images_until);
            self.out.extend(imgs);
            return Ok(true);
        };
        let rel = rel_key(ch.locator);
        if !f.rels.contains(&rel) {
            return Ok(true);
        }
        let on_interest = |b: u32| f.blocks.contains(&(rel, b));
        let interest = on_interest(ch.block)
            || ch.old_location.is_some_and(|(b, _)| on_interest(b))
            || f.whole.contains(&rel);
        let later = ch.lsn > f.later_from;
        if !interest && !later {
            return Ok(true);
        }
        let until = f.images_until;
        let c = owned_change(self.ctx.block_size_bytes, &ch, |b| {
            on_interest(b) && ch.lsn <= until
        });
        self.out.push(c);
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        self.diags.push(d.clone());
        Ok(true)
    }
}

/// A [`PlacedTuple`] for whole tuple bytes read from a page.
pub(crate) fn placed_from_page(block: u32, offnum: u16, t: &[u8]) -> PlacedTuple {
    let u16_at = |at: usize| {
        t.get(at..at.saturating_add(2))
            .and_then(|b| b.try_into().ok())
            .map_or(0, u16::from_le_bytes)
    };
    PlacedTuple {
        block,
        offnum,
        t_infomask2: u16_at(18),
        t_infomask: u16_at(20),
        t_hoff: t.get(22).copied().unwrap_or(0),
        carried: t.get(23..).unwrap_or_default().to_vec(),
        prefix_len: 0,
        suffix_len: 0,
    }
}
