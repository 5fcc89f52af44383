//! The undo plan of one table: every row the mistaken transaction(s)
//! deleted, updated or inserted, with its old and new images, where each
//! image came from, and whether it can be restored.
//!
//! The changes of the table and its TOAST relation are replayed in LSN order
//! over *slots* (block, line pointer) of the blocks the mistake touched:
//! a page image sets every slot of its block, an INSERT/UPDATE sets the
//! slot of its new tuple (prefix/suffix rebuilt from the old one), INIT
//! clears the block. The old image of a deleted/updated row is, in order of
//! preference: the dead tuple still on the heap page (its `xmax` is the
//! mistaken transaction, judged committed by the WAL's commit record and
//! pg_xact), the page image carried by the DELETE/UPDATE record itself, the
//! slot as replayed from an earlier image, the record that created that
//! version. TOAST chunks the mistake deleted are recovered the same way.

use std::collections::HashMap;

use pgdata::catalog::{Catalog, ClassRow, TOAST_LAYOUT};
use pgdata::datadir::Fork;
use pgdata::multixact::MultiXacts;
use pgdata::relation::RelationFile;
use pgdata::table::{TableScan, Value};
use pgdata::tuple::{HEAP_XMAX_IS_MULTI, HeapTuple};
use pgdata::varlena::{self, ToastPointer, Varlena};
use pgdata::xact::{Clog, XidStatus};
use pgdata::{BlockNo, RelLocator};
use rowcodec::pg::{Printer, TypeCatalog};
use walparse::Lsn;
use walparse::heap::HeapOp;

use crate::Error;
use crate::collect::{Change, RelKey};
use crate::page::{all_tuples, build_tuple, tuple_at};
use crate::xacts::{XactLog, XactSummary};

/// Where a row image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The tuple on the heap page of the data directory (dead for an old
    /// image, written by the mistake for a new one).
    HeapPage {
        /// Block.
        block: u32,
        /// Line pointer.
        lp: u16,
    },
    /// The full-page image carried by the mistaken DELETE/UPDATE record.
    RecordImage {
        /// The record.
        lsn: Lsn,
    },
    /// The page rebuilt from its last image before the change (and the
    /// records replayed after it).
    PageReplay {
        /// The record carrying the image.
        image_lsn: Lsn,
    },
    /// The INSERT/UPDATE record that created that tuple version.
    CreatingRecord {
        /// The record.
        lsn: Lsn,
    },
}

impl Source {
    /// A short name for reports: `heap`, `record-fpi`, `page-replay`, `creating-record`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::HeapPage { .. } => "heap",
            Source::RecordImage { .. } => "record-fpi",
            Source::PageReplay { .. } => "page-replay",
            Source::CreatingRecord { .. } => "creating-record",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::HeapPage { block, lp } => write!(f, "heap page {block} lp {lp}"),
            Source::RecordImage { lsn } => write!(f, "full-page image in the record at {lsn}"),
            Source::PageReplay { image_lsn } => {
                write!(f, "page image at {image_lsn} + replay")
            }
            Source::CreatingRecord { lsn } => write!(f, "record at {lsn} that wrote the tuple"),
        }
    }
}

/// What undoing a row means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// The mistake deleted it: insert the old image again.
    Reinsert,
    /// The mistake updated it: put the old values back.
    Revert,
    /// The mistake inserted it: delete it.
    Delete,
}

/// Whether a row can be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    /// Both images needed are complete.
    Restorable,
    /// A later committed transaction touched the same row or key; its work wins.
    SkippedLaterWork {
        /// That transaction.
        xid: u32,
        /// Its record.
        lsn: Lsn,
        /// What it did.
        what: &'static str,
    },
    /// An image needed is missing or has a value that cannot be rebuilt.
    Incomplete {
        /// Why.
        reason: String,
    },
}

/// Column values as the server prints them (`None` = NULL).
pub type Image = Vec<Option<String>>;

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// What to do.
    pub kind: RowKind,
    /// The mistaken transaction (top-level xid).
    pub xid: u32,
    /// Its first record on this row.
    pub lsn: Lsn,
    /// The key (values of the key columns) addressing the row: from the
    /// old image for a re-insert, else from the new image.
    pub key: Image,
    /// The row before the mistake (re-insert, revert).
    pub old: Option<Image>,
    /// The row as the mistake left it (revert, delete).
    pub new: Option<Image>,
    /// Where `old` came from.
    pub old_source: Option<Source>,
    /// Where `new` came from.
    pub new_source: Option<Source>,
    /// Restorable, skipped or incomplete.
    pub status: RowStatus,
}

/// A column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// `attname`.
    pub name: String,
    /// `atttypid`.
    pub type_oid: u32,
    /// `pg_type.typname`.
    pub type_name: String,
}

/// How rows are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// The primary key (index OID).
    PrimaryKey(u32),
    /// A unique index (OID).
    UniqueIndex(u32),
    /// No usable unique key: every column.
    AllColumns,
}

/// The plan of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Non-dropped columns in attnum order.
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the key.
    pub key_cols: Vec<usize>,
    /// Where the key comes from.
    pub key_kind: KeyKind,
    /// The rows, in the order the mistake first touched them.
    pub rows: Vec<PlanRow>,
    /// Later tuples whose key could not be read (so a re-insert of a key
    /// followed by its delete could go unnoticed); the undo SQL's guards
    /// still protect live rows.
    pub later_tuples_unread: u64,
    /// Problems met (damaged pages, images that would not restore).
    pub warnings: Vec<String>,
}

/// A tuple version as known at some point of the replay.
#[derive(Debug, Clone)]
struct Slot {
    /// Whole tuple bytes; `None` when the record could not be rebuilt.
    bytes: Option<Vec<u8>>,
    source: Source,
}

type Slots = HashMap<(RelKey, u32), HashMap<u16, Slot>>;

/// An image captured for the plan.
#[derive(Debug, Clone)]
struct Captured {
    bytes: Option<Vec<u8>>,
    source: Option<Source>,
    why_missing: String,
}

/// Everything the planner reads besides WAL.
struct Heap {
    rel: RelationFile,
    toast: Option<RelationFile>,
    multis: MultiXacts,
}

/// The relations of a table.
#[derive(Debug, Clone, Copy)]
struct Rels {
    main: RelKey,
    toast: Option<RelKey>,
}

fn rel_key(l: RelLocator) -> RelKey {
    RelKey {
        db_oid: l.db_oid,
        rel_number: l.rel_number,
    }
}

/// The relations (`main`, TOAST) WAL names for `class`.
pub fn table_rels(cat: &Catalog, class: &ClassRow) -> Result<Vec<RelKey>, Error> {
    let mut v = vec![rel_key(cat.locator(class)?)];
    if let Some(t) = cat.class(class.reltoastrelid) {
        v.push(rel_key(cat.locator(t)?));
    }
    Ok(v)
}

/// Plans the undo of `targets` (committed top-level transactions) in table
/// `class`, from `changes` (pass 2, LSN order) and the data directory.
pub fn plan_table(
    cat: &Catalog,
    class: &ClassRow,
    log: &XactLog,
    targets: &[XactSummary],
    changes: &[Change],
) -> Result<TablePlan, Error> {
    let dir = cat.data_dir();
    let loc = cat.locator(class)?;
    let toast_class = cat.class(class.reltoastrelid);
    let rels = Rels {
        main: rel_key(loc),
        toast: match toast_class {
            Some(t) => Some(rel_key(cat.locator(t)?)),
            None => None,
        },
    };
    let mut heap = Heap {
        rel: RelationFile::open(dir, loc, Fork::Main)?,
        toast: match toast_class {
            Some(t) => Some(RelationFile::open(dir, cat.locator(t)?, Fork::Main)?),
            None => None,
        },
        multis: MultiXacts::new(dir.root(), dir.block_size_bytes()),
    };
    let mut scan = TableScan::new(cat, class)?;
    let mut warnings: Vec<String> = scan
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.what, w.message))
        .collect();
    let mut clog = Clog::new(dir.root(), dir.block_size_bytes());
    let commit_of: HashMap<u32, Lsn> = targets.iter().map(|t| (t.xid, t.commit_lsn)).collect();
    for t in targets {
        let st = clog.status(t.xid);
        if !matches!(st, XidStatus::Committed) {
            warnings.push(format!(
                "pg_xact says {st:?} for transaction {}, whose commit record is at {}",
                t.xid, t.commit_lsn
            ));
        }
    }
    let columns: Vec<Column> = scan
        .columns()
        .map(|a| Column {
            name: a.attname.clone(),
            type_oid: a.atttypid,
            type_name: cat
                .types
                .type_info(a.atttypid)
                .map_or_else(|| "?".to_string(), |t| t.name.clone()),
        })
        .collect();
    let (key_cols, key_kind) = choose_key(cat, class, &scan)?;
    let printers: Vec<Option<Printer>> = scan
        .columns()
        .map(|a| Printer::new(&cat.types, a.atttypid).ok())
        .collect();
    let typmods: Vec<i32> = scan.columns().map(|a| a.atttypmod).collect();
    let type_oids: Vec<u32> = scan.columns().map(|a| a.atttypid).collect();

    // Replay the blocks of interest; capture images of the mistake's rows.
    let mut slots: Slots = HashMap::new();
    let mut rows = Rows::default();
    let mut chunks: HashMap<(u32, i32), Vec<u8>> = HashMap::new();
    for c in changes
        .iter()
        .filter(|c| c.rel == rels.main || Some(c.rel) == rels.toast)
    {
        let top = log.top_of(c.xid);
        let target = commit_of.contains_key(&top);
        if target {
            capture_and_apply(
                c,
                top,
                &rels,
                &mut heap,
                &mut slots,
                &mut rows,
                &mut chunks,
                log,
            );
        } else {
            apply(c, &mut slots, &heap);
        }
        for (b, e) in &c.bad_images {
            warnings.push(format!("image of block {b} in record {}: {e}", c.lsn));
        }
    }
    let ctx = DecodeCtx {
        cat,
        printers: &printers,
        typmods: &typmods,
        type_oids: &type_oids,
        chunks: &chunks,
    };
    let mut plan_rows = Vec::with_capacity(rows.list.len());
    for r in rows.list.iter().filter(|r| !r.cancelled) {
        plan_rows.push(finish_row(r, &ctx, &mut scan, &key_cols));
    }
    let later_tuples_unread = later_work(
        &mut plan_rows,
        &rows,
        changes,
        rels.main,
        log,
        &commit_of,
        &slots,
        &ctx,
        &mut scan,
        &key_cols,
        &mut clog,
    );
    let schema = cat
        .namespaces
        .get(&class.relnamespace)
        .cloned()
        .unwrap_or_default();
    Ok(TablePlan {
        schema,
        name: class.relname.clone(),
        columns,
        key_cols,
        key_kind,
        rows: plan_rows,
        later_tuples_unread,
        warnings,
    })
}

fn choose_key(
    cat: &Catalog,
    class: &ClassRow,
    scan: &TableScan<'_>,
) -> Result<(Vec<usize>, KeyKind), Error> {
    let attnums: Vec<i16> = scan.columns().map(|a| a.attnum).collect();
    let (indexes, _) = cat.indexes(class.oid)?;
    for ix in indexes.iter().filter(|i| i.is_row_key()) {
        let cols: Option<Vec<usize>> = ix
            .key_attnums
            .iter()
            .map(|a| attnums.iter().position(|x| x == a))
            .collect();
        if let Some(cols) = cols {
            let kind = if ix.indisprimary {
                KeyKind::PrimaryKey(ix.indexrelid)
            } else {
                KeyKind::UniqueIndex(ix.indexrelid)
            };
            return Ok((cols, kind));
        }
    }
    Ok(((0..attnums.len()).collect(), KeyKind::AllColumns))
}

/// A row of the mistake while replaying (chains within the mistake merged).
#[derive(Debug, Clone)]
struct PendingRow {
    kind: RowKind,
    xid: u32,
    lsn: Lsn,
    old: Option<Captured>,
    new: Option<Captured>,
    cancelled: bool,
}

#[derive(Debug, Default)]
struct Rows {
    list: Vec<PendingRow>,
    /// Where each row's current version (written by the mistake) lives.
    versions: HashMap<(u32, u16), usize>,
}

impl Rows {
    fn deleted(&mut self, at: (u32, u16), xid: u32, lsn: Lsn, old: Captured) {
        match self.versions.remove(&at).and_then(|i| self.list.get_mut(i)) {
            Some(r) if r.kind == RowKind::Delete => r.cancelled = true,
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
    fn updated(
        &mut self,
        from: (u32, u16),
        to: (u32, u16),
        xid: u32,
        lsn: Lsn,
        old: Captured,
        new: Captured,
    ) {
        let idx = match self.versions.remove(&from) {
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
    fn inserted(&mut self, at: (u32, u16), xid: u32, lsn: Lsn, new: Captured) {
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

fn heap_rel<'h>(heap: &'h Heap, rels: &Rels, rel: RelKey) -> Option<&'h RelationFile> {
    if rel == rels.main {
        Some(&heap.rel)
    } else {
        heap.toast.as_ref()
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
    let id = page
        .item_id(lp)
        .filter(|id| id.flags == pgdata::page::LpFlags::Normal)?;
    let bytes = page.item_bytes(id).ok()?;
    let t = HeapTuple::parse(bytes, BlockNo(block), lp).ok()?;
    pred(&t).then(|| bytes.to_vec())
}

#[allow(clippy::too_many_arguments)]
fn capture_and_apply(
    c: &Change,
    top: u32,
    rels: &Rels,
    heap: &mut Heap,
    slots: &mut Slots,
    rows: &mut Rows,
    chunks: &mut HashMap<(u32, i32), Vec<u8>>,
    log: &XactLog,
) {
    let Some(op) = c.op else {
        apply(c, slots, heap);
        return;
    };
    let old_at = match op {
        HeapOp::Delete => c.offnums.first().map(|&o| (c.block, o)),
        HeapOp::Update | HeapOp::HotUpdate => c.old_location,
        HeapOp::Insert | HeapOp::MultiInsert => None,
    };
    let old = old_at.map(|(b, o)| capture_old(c, top, rels, heap, slots, b, o, log));
    apply(c, slots, heap);
    let news: Vec<((u32, u16), Captured)> = match op {
        HeapOp::Delete => Vec::new(),
        _ => c
            .offnums
            .iter()
            .map(|&o| {
                (
                    (c.block, o),
                    capture_new(c.rel, rels, heap, slots, c.block, o, top, log),
                )
            })
            .collect(),
    };
    if Some(c.rel) == rels.toast {
        // TOAST chunks: keep what the mistake deleted and wrote.
        for cap in old.iter().chain(news.iter().map(|(_, n)| n)) {
            if let Some(b) = &cap.bytes {
                add_chunk(b, chunks);
            }
        }
        return;
    }
    match (op, old, old_at) {
        (HeapOp::Delete, Some(old), Some(at)) => rows.deleted(at, top, c.lsn, old),
        (HeapOp::Update | HeapOp::HotUpdate, Some(old), Some(from)) => {
            if let Some((to, new)) = news.into_iter().next() {
                rows.updated(from, to, top, c.lsn, old, new);
            }
        }
        _ => {
            for (at, new) in news {
                rows.inserted(at, top, c.lsn, new);
            }
        }
    }
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
            .map(u32::from_le_bytes)
    };
    let (Some(id), Some(seq)) = (word(id), word(seq)) else {
        return;
    };
    if let Ok(Varlena::Plain(p)) = varlena::classify(data) {
        chunks.insert((id, seq as i32), p.to_vec());
    }
}

#[allow(clippy::too_many_arguments)]
fn capture_old(
    c: &Change,
    top: u32,
    rels: &Rels,
    heap: &mut Heap,
    slots: &Slots,
    block: u32,
    lp: u16,
    log: &XactLog,
) -> Captured {
    let Heap { rel, toast, multis } = heap;
    let file = if c.rel == rels.main {
        Some(&*rel)
    } else {
        toast.as_ref()
    };
    if let Some(rel) = file {
        let mut by_target = |t: &HeapTuple<'_>| {
            let xmax = if t.infomask() & HEAP_XMAX_IS_MULTI != 0 {
                multis.updater(t.xmax())
            } else {
                Some(t.xmax())
            };
            xmax.is_some_and(|x| log.top_of(x) == top)
        };
        if let Some(b) = heap_tuple(rel, block, lp, &mut by_target) {
            return found(b, Source::HeapPage { block, lp });
        }
    }
    if let Some(img) = c.images.iter().find(|i| i.block == block)
        && let Some(t) = tuple_at(&img.page, lp)
    {
        return found(t.to_vec(), Source::RecordImage { lsn: c.lsn });
    }
    from_slot(slots, c.rel, block, lp, c.lsn)
}

#[allow(clippy::too_many_arguments)]
fn capture_new(
    rel: RelKey,
    rels: &Rels,
    heap: &Heap,
    slots: &Slots,
    block: u32,
    lp: u16,
    top: u32,
    log: &XactLog,
) -> Captured {
    if let Some(file) = heap_rel(heap, rels, rel)
        && let Some(b) = heap_tuple(file, block, lp, &mut |t| log.top_of(t.xmin()) == top)
    {
        return found(b, Source::HeapPage { block, lp });
    }
    from_slot(slots, rel, block, lp, Lsn(0))
}

fn found(bytes: Vec<u8>, source: Source) -> Captured {
    Captured {
        bytes: Some(bytes),
        source: Some(source),
        why_missing: String::new(),
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
        },
    }
}

/// Applies one record to the slots of its blocks (blocks of interest only:
/// pass 2 keeps images only for them, and records elsewhere are later work).
fn apply(c: &Change, slots: &mut Slots, heap: &Heap) {
    let _ = heap;
    if c.init_page {
        slots.insert((c.rel, c.block), HashMap::new());
    }
    for p in &c.tuples {
        let old = c
            .old_location
            .and_then(|(b, o)| slots.get(&(c.rel, b)).and_then(|s| s.get(&o)))
            .and_then(|s| s.bytes.clone());
        let bytes = build_tuple(p, c.xid, old.as_deref());
        slots.entry((c.rel, p.block)).or_default().insert(
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
                (
                    lp,
                    Slot {
                        bytes: Some(t.to_vec()),
                        source: Source::PageReplay { image_lsn: c.lsn },
                    },
                )
            })
            .collect();
        slots.insert((c.rel, img.block), m);
    }
}

/// What decoding tuples into printed values needs.
struct DecodeCtx<'a> {
    cat: &'a Catalog,
    printers: &'a [Option<Printer>],
    typmods: &'a [i32],
    type_oids: &'a [u32],
    chunks: &'a HashMap<(u32, i32), Vec<u8>>,
}

/// The concatenated chunks of `ptr` recovered from WAL, if all are there.
fn wal_chunks(chunks: &HashMap<(u32, i32), Vec<u8>>, ptr: ToastPointer) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut seq = 0i32;
    while out.len() < ptr.ext_size() {
        out.extend_from_slice(chunks.get(&(ptr.value_id, seq))?);
        seq = seq.checked_add(1)?;
    }
    Some(out)
}

/// The printed values of a whole tuple, or why it cannot be printed.
fn decode(ctx: &DecodeCtx<'_>, scan: &mut TableScan<'_>, bytes: &[u8]) -> Result<Image, String> {
    let t = HeapTuple::parse(bytes, BlockNo(0), 0).map_err(|e| e.to_string())?;
    let chunks = ctx.chunks;
    let values = scan
        .tuple_values(&t, &mut |ptr| wal_chunks(chunks, ptr))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        out.push(print_value(ctx, i, v)?);
    }
    Ok(out)
}

fn print_value(ctx: &DecodeCtx<'_>, i: usize, v: &Value<'_>) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Broken(why) => Err(format!("column {}: {why}", i.saturating_add(1))),
        Value::Datum(d) => {
            let mut s = String::new();
            let typmod = ctx.typmods.get(i).copied().unwrap_or(-1);
            let oid = ctx.type_oids.get(i).copied().unwrap_or(0);
            // The resolved printer ignores the typmod; use it only when there is none.
            let r = match ctx.printers.get(i).copied().flatten() {
                Some(p) if typmod < 0 => p.write(&ctx.cat.types, d, &mut s),
                _ => rowcodec::pg::output_into(&ctx.cat.types, oid, typmod, d, &mut s),
            };
            r.map(|()| Some(s))
                .map_err(|e| format!("column {}: {e}", i.saturating_add(1)))
        }
    }
}

fn finish_row(
    r: &PendingRow,
    ctx: &DecodeCtx<'_>,
    scan: &mut TableScan<'_>,
    key_cols: &[usize],
) -> PlanRow {
    let mut problems = Vec::new();
    let mut image = |cap: &Option<Captured>, what: &str| -> (Option<Image>, Option<Source>) {
        let Some(cap) = cap else {
            return (None, None);
        };
        match &cap.bytes {
            Some(b) => match decode(ctx, scan, b) {
                Ok(v) => (Some(v), cap.source),
                Err(e) => {
                    problems.push(format!("{what} image: {e}"));
                    (None, cap.source)
                }
            },
            None => {
                problems.push(format!("{what} image: {}", cap.why_missing));
                (None, cap.source)
            }
        }
    };
    let (old, old_source) = image(&r.old, "old");
    let (new, new_source) = image(&r.new, "new");
    let key_from = if r.kind == RowKind::Reinsert {
        &old
    } else {
        &new
    };
    let key = key_from
        .as_ref()
        .map(|img| {
            key_cols
                .iter()
                .map(|&k| img.get(k).cloned().flatten())
                .collect()
        })
        .unwrap_or_default();
    let status = if problems.is_empty() {
        RowStatus::Restorable
    } else {
        RowStatus::Incomplete {
            reason: problems.join("; "),
        }
    };
    PlanRow {
        kind: r.kind,
        xid: r.xid,
        lsn: r.lsn,
        key,
        old,
        new,
        old_source,
        new_source,
        status,
    }
}

/// Marks rows whose row or key a later committed transaction touched;
/// returns how many later tuples' keys could not be read.
#[allow(clippy::too_many_arguments)]
fn later_work(
    plan_rows: &mut [PlanRow],
    rows: &Rows,
    changes: &[Change],
    main: RelKey,
    log: &XactLog,
    commit_of: &HashMap<u32, Lsn>,
    slots: &Slots,
    ctx: &DecodeCtx<'_>,
    scan: &mut TableScan<'_>,
    key_cols: &[usize],
    clog: &mut Clog,
) -> u64 {
    // Plan rows are the non-cancelled pending rows, in order.
    let live_idx: Vec<usize> = rows
        .list
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.cancelled)
        .map(|(i, _)| i)
        .collect();
    let to_plan: HashMap<usize, usize> =
        live_idx.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let mut versions: HashMap<(u32, u16), usize> = rows
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
    let first_commit = commit_of.values().min().copied().unwrap_or(Lsn(u64::MAX));
    let mut unread = 0u64;
    let mut committed_cache: HashMap<u32, bool> = HashMap::new();
    for c in changes
        .iter()
        .filter(|c| c.rel == main && c.lsn > first_commit)
    {
        let top = log.top_of(c.xid);
        if commit_of.contains_key(&top) {
            continue;
        }
        let ok = *committed_cache.entry(top).or_insert_with(|| {
            log.committed(top)
                .unwrap_or_else(|| clog.status(top) == XidStatus::Committed)
        });
        if !ok {
            continue;
        }
        let mut mark = |p: usize, what: &'static str| {
            if let Some(r) = plan_rows.get_mut(p)
                && commit_of.get(&r.xid).is_some_and(|&cl| c.lsn > cl)
                && !matches!(r.status, RowStatus::SkippedLaterWork { .. })
            {
                r.status = RowStatus::SkippedLaterWork {
                    xid: top,
                    lsn: c.lsn,
                    what,
                };
            }
        };
        let target = match c.op {
            Some(HeapOp::Delete) => c.offnums.first().map(|&o| (c.block, o)),
            Some(HeapOp::Update | HeapOp::HotUpdate) => c.old_location,
            _ => None,
        };
        if let Some(at) = target
            && let Some(p) = versions.remove(&at)
        {
            mark(
                p,
                if c.op == Some(HeapOp::Delete) {
                    "deleted the row this transaction wrote"
                } else {
                    "updated the row this transaction wrote"
                },
            );
        }
        if deleted_keys.is_empty() {
            continue;
        }
        for p in &c.tuples {
            let old = c
                .old_location
                .and_then(|(b, o)| slots.get(&(c.rel, b)).and_then(|s| s.get(&o)))
                .and_then(|s| s.bytes.clone());
            let Some(bytes) = build_tuple(p, c.xid, old.as_deref()) else {
                unread = unread.saturating_add(1);
                continue;
            };
            let Ok(img) = decode_key(ctx, scan, &bytes, key_cols) else {
                unread = unread.saturating_add(1);
                continue;
            };
            if let Some(ps) = deleted_keys.get(&img) {
                for &q in ps {
                    mark(q, "inserted a row with the same key");
                }
            }
        }
    }
    unread
}

/// The printed key of a tuple (only the columns up to the last key column
/// are deformed; TOAST resolved as for whole images).
fn decode_key(
    ctx: &DecodeCtx<'_>,
    scan: &mut TableScan<'_>,
    bytes: &[u8],
    key_cols: &[usize],
) -> Result<Image, String> {
    let all = decode(ctx, scan, bytes)?;
    Ok(key_cols
        .iter()
        .map(|&k| all.get(k).cloned().flatten())
        .collect())
}
