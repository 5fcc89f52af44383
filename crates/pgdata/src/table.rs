//! Reading a user table's rows: visibility, deforming, missing attributes
//! (`ALTER TABLE ADD COLUMN ... DEFAULT`), inline compression and TOAST.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::carve::{CarveStatus, CarvedTuple, carve_page};
use crate::catalog::{AttrRow, Catalog, ClassRow, TOAST_LAYOUT, Warning};
use crate::datadir::Fork;
use crate::error::{BlockNo, Error, Result, ToastProblem};
use crate::multixact::MultiXacts;
use crate::page::LpFlags;
use crate::relation::RelationFile;
use crate::tuple::{AttrLayout, HeapTuple};
use crate::varlena::{self, ToastPointer, Varlena};
use crate::visibility::{TupleStatus, tuple_status, tuple_status_multi};
use crate::xact::Clog;

/// Which tuples a scan returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    /// What `SELECT` would return (live tuples, and multixact-updated ones).
    Live,
    /// Tuples deleted or replaced by a committed transaction, still on their page.
    Dead,
}

/// One column value of a recovered row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// The datum as `rowcodec::pg::output` wants it (borrowed from the page
    /// unless it had to be decompressed or detoasted).
    Datum(Cow<'a, [u8]>),
    /// The value could not be rebuilt (TOAST chunk missing, bad compression).
    Broken(String),
}

/// A tuple found by carving, decoded: its intact columns only.
#[derive(Debug, Clone)]
pub struct CarvedRow<'a> {
    /// Block, line pointer (0 when none led to it), xmin/xmax and the
    /// values of the intact columns (fewer than the table's columns when
    /// partial).
    pub row: ScanRow<'a>,
    /// Byte offset of the tuple in its page.
    pub offset: u16,
    /// `dead`, `carved` or `carved-partial`.
    pub status: CarveStatus,
}

/// A row with its provenance.
#[derive(Debug, Clone)]
pub struct ScanRow<'a> {
    /// Block number.
    pub block: BlockNo,
    /// Line pointer.
    pub lp: u16,
    /// `t_xmin`
    pub xmin: u32,
    /// `t_xmax`
    pub xmax: u32,
    /// Visibility verdict.
    pub status: TupleStatus,
    /// One value per non-dropped column, in attnum order.
    pub values: Vec<Value<'a>>,
}

struct ChunkRef {
    seq: i32,
    block: BlockNo,
    lp: u16,
    live: bool,
}

struct ToastIndex {
    rel: RelationFile,
    chunks: HashMap<u32, Vec<ChunkRef>>,
}

/// A scan over one table.
pub struct TableScan<'c> {
    cat: &'c Catalog,
    /// The table's pg_class row.
    pub class: ClassRow,
    /// All attributes (dropped ones included).
    pub attrs: Vec<AttrRow>,
    layouts: Vec<AttrLayout>,
    rel: RelationFile,
    loc: crate::datadir::RelLocator,
    toast: Option<ToastIndex>,
    clog: Clog,
    multis: MultiXacts,
    /// Problems met so far (damaged pages, bad tuples), reading went on.
    pub warnings: Vec<Warning>,
}

impl<'c> TableScan<'c> {
    /// Prepares a scan of `class`.
    pub fn new(cat: &'c Catalog, class: &ClassRow) -> Result<Self> {
        let (attrs, warnings) = cat.attributes(class.oid)?;
        if attrs.is_empty() && class.relnatts > 0 {
            return Err(Error::NoColumns {
                oid: class.oid,
                relname: class.relname.clone(),
            });
        }
        let loc = cat.locator(class)?;
        let rel = RelationFile::open(cat.data_dir(), loc, Fork::Main)?;
        let dir = cat.data_dir();
        Ok(Self {
            cat,
            class: class.clone(),
            layouts: attrs.iter().map(AttrRow::layout).collect(),
            attrs,
            rel,
            loc,
            toast: None,
            clog: Clog::new(dir.root(), dir.block_size_bytes()),
            multis: MultiXacts::new(dir.root(), dir.block_size_bytes()),
            warnings,
        })
    }

    /// The non-dropped columns, in order.
    pub fn columns(&self) -> impl Iterator<Item = &AttrRow> {
        self.attrs.iter().filter(|a| !a.attisdropped)
    }

    /// Number of blocks in the main fork.
    pub fn n_blocks(&self) -> u32 {
        self.rel.n_blocks()
    }

    /// Path of the file holding `block`.
    pub fn file_of(&self, block: BlockNo) -> String {
        self.rel
            .locate(block)
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default()
    }

    /// Reads every block; calls `f` for each row matching `mode`. `f`
    /// returns `false` to stop. Damaged blocks and tuples go to
    /// [`TableScan::warnings`] and the scan goes on.
    pub fn scan(&mut self, mode: ScanMode, f: impl FnMut(&ScanRow<'_>) -> bool) {
        let n = self.rel.n_blocks();
        self.scan_blocks(0..n, mode, f);
    }

    /// A second, independent scan of the same table (own file mappings,
    /// pg_xact and TOAST state) for reading block ranges in parallel.
    pub fn fork(&self) -> Result<TableScan<'c>> {
        let dir = self.cat.data_dir();
        Ok(Self {
            cat: self.cat,
            class: self.class.clone(),
            attrs: self.attrs.clone(),
            layouts: self.layouts.clone(),
            rel: RelationFile::open(dir, self.loc, Fork::Main)?,
            loc: self.loc,
            toast: None,
            clog: Clog::new(dir.root(), dir.block_size_bytes()),
            multis: MultiXacts::new(dir.root(), dir.block_size_bytes()),
            warnings: Vec::new(),
        })
    }

    /// A scan of the same table that decodes tuples with `attrs` (all
    /// attributes, dropped ones included, attnum order) instead of the
    /// current ones: for rows of an earlier file, written before `ALTER
    /// TABLE … TYPE` changed a column (see [`crate::catalog::attr_version`]).
    pub fn with_attrs(&self, attrs: Vec<AttrRow>) -> Result<TableScan<'c>> {
        let mut s = self.fork()?;
        s.layouts = attrs.iter().map(AttrRow::layout).collect();
        s.attrs = attrs;
        Ok(s)
    }

    /// Like [`TableScan::scan`], over the blocks in `blocks` only.
    pub fn scan_blocks(
        &mut self,
        blocks: std::ops::Range<u32>,
        mode: ScanMode,
        mut f: impl FnMut(&ScanRow<'_>) -> bool,
    ) {
        // The relation is moved out while scanning so rows can borrow its
        // pages while the decoder state (pg_xact, TOAST index) is updated.
        let rel = std::mem::take(&mut self.rel);
        let end = blocks.end.min(rel.n_blocks());
        'blocks: for b in blocks.start..end {
            let block = BlockNo(b);
            let page = match rel.page(block) {
                Ok(page) => page,
                Err(e) => {
                    self.warnings.push(Warning::UnreadableBlock {
                        file: locate(&rel, block),
                        block,
                        error: Arc::new(e),
                    });
                    continue;
                }
            };
            for id in page.item_ids().filter(|id| id.flags == LpFlags::Normal) {
                let res = page
                    .item_bytes(id)
                    .and_then(|bytes| self.row(bytes, block, id.lp, mode));
                match res {
                    Ok(Some(row)) => {
                        if !f(&row) {
                            break 'blocks;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.warnings.push(Warning::DamagedItem {
                            file: locate(&rel, block),
                            block,
                            lp: id.lp,
                            error: Arc::new(e),
                        });
                    }
                }
            }
        }
        self.rel = rel;
    }

    /// Carves the pages of `blocks` ([`crate::carve::carve_page`]) and calls
    /// `f` with each carved tuple whose inserting transaction did not abort
    /// (`false` stops). A value that cannot be rebuilt (TOAST gone, bad
    /// compression) ends the row there: it becomes
    /// [`CarveStatus::CarvedPartial`] with the values before it.
    pub fn carve_blocks(
        &mut self,
        blocks: std::ops::Range<u32>,
        mut f: impl FnMut(&CarvedRow<'_>) -> bool,
    ) {
        let rel = std::mem::take(&mut self.rel);
        let end = blocks.end.min(rel.n_blocks());
        'blocks: for b in blocks.start..end {
            let Ok(page) = rel.page(BlockNo(b)) else {
                continue; // the live scan reports unreadable blocks
            };
            for t in carve_page(&page, &self.layouts) {
                let intact = t.intact_tuple();
                if let Some(row) = self.carved_row(&t, &intact)
                    && !f(&row)
                {
                    break 'blocks;
                }
            }
        }
        self.rel = rel;
    }

    fn carved_row<'p>(&mut self, t: &CarvedTuple<'_>, intact: &'p [u8]) -> Option<CarvedRow<'p>> {
        let lp = t.lp.unwrap_or(0);
        let h = HeapTuple::parse(intact, t.block, lp).ok()?;
        if tuple_status(&h, &mut self.clog) == TupleStatus::Aborted {
            return None;
        }
        let mut values = self.values_of(&h, TupleStatus::Dead, &mut |_| None).ok()?;
        let n_cols = self
            .attrs
            .iter()
            .take(usize::from(t.n_intact))
            .filter(|a| !a.attisdropped)
            .count();
        let mut status = t.status;
        if let Some(cut) = values.iter().position(|v| matches!(v, Value::Broken(_))) {
            values.truncate(cut);
            status = CarveStatus::CarvedPartial;
        }
        if values.len() > n_cols {
            values.truncate(n_cols);
        }
        if values.is_empty() {
            return None;
        }
        Some(CarvedRow {
            row: ScanRow {
                block: t.block,
                lp,
                xmin: t.xmin,
                xmax: t.xmax,
                status: TupleStatus::Dead,
                values,
            },
            offset: t.offset,
            status,
        })
    }

    fn row<'p>(
        &mut self,
        bytes: &'p [u8],
        block: BlockNo,
        lp: u16,
        mode: ScanMode,
    ) -> Result<Option<ScanRow<'p>>> {
        let t = HeapTuple::parse(bytes, block, lp)?;
        let status = tuple_status_multi(&t, &mut self.clog, &mut self.multis);
        let wanted = match mode {
            ScanMode::Live => matches!(status, TupleStatus::Live | TupleStatus::MultiXact),
            ScanMode::Dead => status == TupleStatus::Dead,
        };
        if !wanted {
            return Ok(None);
        }
        let values = self.values_of(&t, status, &mut |_| None)?;
        Ok(Some(ScanRow {
            block,
            lp,
            xmin: t.xmin(),
            xmax: t.xmax(),
            status,
            values,
        }))
    }

    /// The values of any tuple of this table (one per non-dropped column,
    /// as in [`ScanRow::values`]), whatever its visibility: bytes from a
    /// page, or rebuilt from WAL. TOAST pointers are resolved from the TOAST
    /// relation's tuples (live or dead), else by `toast_fallback` (e.g.
    /// chunks found in WAL); a value neither can rebuild is
    /// [`Value::Broken`].
    pub fn tuple_values<'p>(
        &mut self,
        t: &HeapTuple<'p>,
        toast_fallback: &mut dyn FnMut(ToastPointer) -> Option<Vec<u8>>,
    ) -> Result<Vec<Value<'p>>> {
        self.values_of(t, TupleStatus::Dead, toast_fallback)
    }

    fn values_of<'p>(
        &mut self,
        t: &HeapTuple<'p>,
        status: TupleStatus,
        toast_fallback: &mut dyn FnMut(ToastPointer) -> Option<Vec<u8>>,
    ) -> Result<Vec<Value<'p>>> {
        let raw = t.deform(&self.layouts)?;
        let mut values = Vec::with_capacity(self.attrs.len());
        for idx in 0..self.attrs.len() {
            let Some(attr) = self.attrs.get(idx) else {
                break;
            };
            if attr.attisdropped {
                continue;
            }
            let v = if idx < raw.len() {
                match raw.get(idx).copied().flatten() {
                    None => Value::Null,
                    Some(stored) => self.datum(attr.attlen, stored, t, status, toast_fallback),
                }
            } else {
                // Tuple written before ADD COLUMN: the missing value, or NULL.
                match &attr.missing_value {
                    Some(m) => missing_datum(attr.attlen, m),
                    None => Value::Null,
                }
            };
            values.push(v);
        }
        Ok(values)
    }

    fn datum<'p>(
        &mut self,
        attlen: i16,
        stored: &'p [u8],
        t: &HeapTuple<'_>,
        status: TupleStatus,
        toast_fallback: &mut dyn FnMut(ToastPointer) -> Option<Vec<u8>>,
    ) -> Value<'p> {
        match attlen {
            -1 => match self.varlena_payload(stored, status, toast_fallback) {
                Ok(v) => Value::Datum(v),
                Err(e) => Value::Broken(e.in_item(t.block, t.lp).to_string()),
            },
            -2 => Value::Datum(Cow::Borrowed(stored.strip_suffix(&[0]).unwrap_or(stored))),
            _ => Value::Datum(Cow::Borrowed(stored)),
        }
    }

    fn varlena_payload<'p>(
        &mut self,
        stored: &'p [u8],
        status: TupleStatus,
        toast_fallback: &mut dyn FnMut(ToastPointer) -> Option<Vec<u8>>,
    ) -> Result<Cow<'p, [u8]>> {
        match varlena::classify(stored)? {
            Varlena::Plain(p) => Ok(Cow::Borrowed(p)),
            Varlena::Compressed {
                method,
                rawsize,
                data,
            } => varlena::decompress(method, data, rawsize).map(Cow::Owned),
            Varlena::External(ptr) => match self.detoast(ptr, status == TupleStatus::Live) {
                Ok(v) => Ok(Cow::Owned(v)),
                Err(e) => match toast_fallback(ptr) {
                    Some(stored) => decompress_external(ptr, stored).map(Cow::Owned),
                    None => Err(e),
                },
            },
        }
    }

    fn toast_index(&mut self) -> Result<&mut ToastIndex> {
        let index = match self.toast.take() {
            Some(t) => t,
            None => {
                let toast_oid = self.class.reltoastrelid;
                let tclass = self
                    .cat
                    .class(toast_oid)
                    .ok_or(Error::NotInPgClass { oid: toast_oid })?;
                let loc = self.cat.locator(tclass)?;
                let rel = RelationFile::open(self.cat.data_dir(), loc, Fork::Main)?;
                let mut chunks: HashMap<u32, Vec<ChunkRef>> = HashMap::new();
                for b in 0..rel.n_blocks() {
                    let Ok(page) = rel.page(BlockNo(b)) else {
                        continue;
                    };
                    for id in page.item_ids() {
                        let Ok(bytes) = page.item_bytes(id) else {
                            continue;
                        };
                        let Ok(t) = HeapTuple::parse(bytes, BlockNo(b), id.lp) else {
                            continue;
                        };
                        let st = tuple_status(&t, &mut self.clog);
                        if st == TupleStatus::Aborted {
                            continue;
                        }
                        let Ok(v) = t.deform(&TOAST_LAYOUT) else {
                            continue;
                        };
                        let (Some(Some(cid)), Some(Some(seq))) = (v.first(), v.get(1)) else {
                            continue;
                        };
                        let (Some(cid), Some(seq)) =
                            (crate::bytes::u32_at(cid, 0), crate::bytes::i32_at(seq, 0))
                        else {
                            continue;
                        };
                        chunks.entry(cid).or_default().push(ChunkRef {
                            seq,
                            block: BlockNo(b),
                            lp: id.lp,
                            live: st == TupleStatus::Live,
                        });
                    }
                }
                for v in chunks.values_mut() {
                    v.sort_by_key(|c| (c.seq, !c.live));
                }
                ToastIndex { rel, chunks }
            }
        };
        Ok(self.toast.insert(index))
    }

    fn detoast(&mut self, ptr: ToastPointer, prefer_live: bool) -> Result<Vec<u8>> {
        let terr = |problem: ToastProblem| Error::Toast {
            value_id: ptr.value_id,
            toast_relid: ptr.toast_relid,
            problem,
        };
        let ext = ptr.ext_size();
        let idx = self.toast_index()?;
        let refs = idx
            .chunks
            .get(&ptr.value_id)
            .ok_or_else(|| terr(ToastProblem::NoChunks))?;
        let mut data = Vec::with_capacity(ext.min(varlena::MAX_RAW_SIZE));
        let mut next_seq = 0i32;
        for c in refs {
            if c.seq < next_seq {
                continue; // duplicate sequence number: the first (live if any) won
            }
            if c.seq != next_seq {
                return Err(terr(ToastProblem::ChunkMissing { seq: next_seq }));
            }
            let _ = prefer_live;
            let page = idx.rel.page(c.block)?;
            let id = page.item_id(c.lp).ok_or_else(|| {
                terr(ToastProblem::LinePointerVanished {
                    block: c.block,
                    lp: c.lp,
                })
            })?;
            let t = HeapTuple::parse(page.item_bytes(id)?, c.block, c.lp)?;
            let v = t.deform(&TOAST_LAYOUT)?;
            let chunk = v
                .get(2)
                .copied()
                .flatten()
                .ok_or_else(|| terr(ToastProblem::NoData { seq: c.seq }))?;
            match varlena::classify(chunk).map_err(|e| e.in_item(c.block, c.lp))? {
                Varlena::Plain(p) => data.extend_from_slice(p),
                _ => return Err(terr(ToastProblem::NotPlain { seq: c.seq })),
            }
            next_seq = next_seq.saturating_add(1);
            if data.len() > ext {
                return Err(terr(ToastProblem::TooLong { expected: ext }));
            }
        }
        decompress_external(ptr, data)
    }
}

/// The value of a TOAST pointer from its chunks' bytes concatenated in
/// sequence order (`data`): checked against the pointer's stored size,
/// then decompressed if the pointer says so.
pub fn decompress_external(ptr: ToastPointer, data: Vec<u8>) -> Result<Vec<u8>> {
    let terr = |problem: ToastProblem| Error::Toast {
        value_id: ptr.value_id,
        toast_relid: ptr.toast_relid,
        problem,
    };
    let ext = ptr.ext_size();
    if data.len() != ext {
        return Err(terr(ToastProblem::WrongLength {
            got: data.len(),
            expected: ext,
        }));
    }
    if !ptr.is_compressed() {
        return Ok(data);
    }
    let raw = usize::try_from(i64::from(ptr.rawsize) - 4)
        .map_err(|_| terr(ToastProblem::NegativeRawSize))?;
    let body = data
        .get(4..)
        .ok_or_else(|| terr(ToastProblem::ShortHeader))?;
    varlena::decompress(ptr.method(), body, raw)
}

fn missing_datum(attlen: i16, elem: &[u8]) -> Value<'static> {
    match attlen {
        n if n > 0 => match elem.get(..n as usize) {
            Some(b) => Value::Datum(Cow::Owned(b.to_vec())),
            None => Value::Broken("attmissingval shorter than the type".into()),
        },
        -2 => {
            let end = elem.iter().position(|&b| b == 0).unwrap_or(elem.len());
            Value::Datum(Cow::Owned(elem.get(..end).unwrap_or_default().to_vec()))
        }
        _ => match varlena::classify(elem) {
            Ok(Varlena::Plain(p)) => Value::Datum(Cow::Owned(p.to_vec())),
            Ok(Varlena::Compressed {
                method,
                rawsize,
                data,
            }) => match varlena::decompress(method, data, rawsize) {
                Ok(v) => Value::Datum(Cow::Owned(v)),
                Err(e) => Value::Broken(e.to_string()),
            },
            Ok(Varlena::External(_)) => Value::Broken("attmissingval is a TOAST pointer".into()),
            Err(e) => Value::Broken(e.to_string()),
        },
    }
}

fn locate(rel: &RelationFile, block: BlockNo) -> PathBuf {
    rel.locate(block)
        .map(|(p, _)| p.clone())
        .unwrap_or_default()
}
