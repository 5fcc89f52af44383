//! Tuple bytes carried by heap records (INSERT, MULTI_INSERT, UPDATE,
//! HOT_UPDATE, DELETE) and the page images that come with them, for the
//! data-directory decoder to turn into typed values.
//!
//! ```text
//! xl_heap_header (5):  t_infomask2 u16 | t_infomask u16 | t_hoff u8
//! tuple data:          the on-page tuple from offset 23 (SizeofHeapTupleHeader):
//!                      null bitmap, padding up to t_hoff, then the attributes
//! INSERT      main: offnum u16, flags u8            block 0 data: xl_heap_header + tuple
//! MULTI_INSERT main: flags u8, pad, ntuples u16, [offsets u16 x n unless +INIT]
//!             block 0 data: per tuple, 2-aligned: datalen u16, infomask2 u16,
//!                           infomask u16, t_hoff u8, then datalen bytes
//! DELETE      main: xmax u32, offnum u16, infobits u8, flags u8,
//!                   [xl_heap_header + old tuple/key]
//! UPDATE      main: old_xmax u32, old_offnum u16, old_infobits u8, flags u8,
//!                   new_xmax u32, new_offnum u16, [xl_heap_header + old tuple/key]
//!             block 0 (new page) data: [prefixlen u16] [suffixlen u16]
//!                   xl_heap_header + new tuple minus prefix/suffix
//!             block 1: old page when it differs from the new one
//! ```
//! Source: `src/include/access/heapam_xlog.h`, `heap_xlog_*` in `heapam.c`.
//! Tuple bytes are omitted from the record when the block carries an FPI
//! (unless wal_level=logical); the tuple is then in the page image.

use crate::bytes::u16_at;
use crate::ctx::WalCtx;
use crate::error::Result;
use crate::fpi::restore_page;
use crate::read::record::{BlockImage, BlockRef, Record, RelFileLocator};
use crate::rmgr::{RM_HEAP_ID, RM_HEAP2_ID};
use crate::types::Lsn;

/// Which heap operation a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapOp {
    /// `XLOG_HEAP_INSERT`.
    Insert,
    /// `XLOG_HEAP2_MULTI_INSERT` (COPY).
    MultiInsert,
    /// `XLOG_HEAP_UPDATE`.
    Update,
    /// `XLOG_HEAP_HOT_UPDATE`.
    HotUpdate,
    /// `XLOG_HEAP_DELETE`.
    Delete,
}

/// Which version of a row a tuple is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TupleRole {
    /// The inserted or new (updated) version.
    New,
    /// The whole old version (REPLICA IDENTITY FULL).
    Old,
    /// Only the old key columns (other columns null).
    OldKey,
}

/// One tuple carried in a heap record.
#[derive(Debug, Clone, Copy)]
pub struct WalTuple<'r> {
    /// New, old or old key.
    pub role: TupleRole,
    /// Relation of the page.
    pub locator: RelFileLocator,
    /// Heap block number.
    pub block: u32,
    /// Line pointer (1-based offset number) on that block.
    pub offnum: u16,
    /// `t_infomask2`.
    pub t_infomask2: u16,
    /// `t_infomask`.
    pub t_infomask: u16,
    /// `t_hoff`.
    pub t_hoff: u8,
    /// Tuple bytes from offset 23 of the on-page tuple (bitmap, padding,
    /// data); for an UPDATE with prefix/suffix compression, without them.
    pub data: &'r [u8],
    /// Bytes of the new tuple's data shared with the old one at the start
    /// (`XLH_UPDATE_PREFIX_FROM_OLD`), not carried.
    pub prefix_len: u16,
    /// Bytes shared at the end (`XLH_UPDATE_SUFFIX_FROM_OLD`), not carried.
    pub suffix_len: u16,
}

/// A page image carried by a heap record.
#[derive(Debug, Clone, Copy)]
pub struct WalPageImage<'r> {
    /// Block reference id.
    pub block_id: u8,
    /// Relation.
    pub locator: RelFileLocator,
    /// Fork number.
    pub fork: u8,
    /// Block number.
    pub block: u32,
    /// The stored image.
    pub image: BlockImage<'r>,
}

impl WalPageImage<'_> {
    /// The full page (decompressed, hole as zeros).
    pub fn restore(&self, ctx: &WalCtx, lsn: Lsn) -> Result<Vec<u8>> {
        restore_page(&self.image, ctx.block_size_bytes, lsn, self.block_id)
    }
}

/// What a heap record says about rows.
#[derive(Debug, Clone)]
pub struct HeapChange<'r> {
    /// The operation.
    pub op: HeapOp,
    /// Record LSN.
    pub lsn: Lsn,
    /// `xl_xid`.
    pub xid: u32,
    /// Record flags byte (`XLH_*` of the operation).
    pub flags: u8,
    /// Target relation and block (block 0).
    pub locator: RelFileLocator,
    /// Target block.
    pub block: u32,
    /// Offsets touched: the inserted/new tuple(s), or the deleted one.
    pub offnums: Vec<u16>,
    /// For UPDATE: the old tuple's block and offset.
    pub old_location: Option<(u32, u16)>,
    /// Tuples carried by the record (possibly none).
    pub tuples: Vec<WalTuple<'r>>,
    /// Page images carried by the record.
    pub images: Vec<WalPageImage<'r>>,
    /// Whether the record initialises the page (`XLOG_HEAP_INIT_PAGE`).
    pub init_page: bool,
}

fn header_and_data(b: &[u8]) -> Option<(u16, u16, u8, &[u8])> {
    Some((u16_at(b, 0)?, u16_at(b, 2)?, *b.get(4)?, b.get(5..)?))
}

/// Where a tuple lives: relation, block and line pointer.
#[derive(Clone, Copy)]
struct TupleAt {
    locator: RelFileLocator,
    block: u32,
    offnum: u16,
}

/// A tuple whose bytes start with a 5-byte `xl_heap_header`.
fn header_tuple(
    role: TupleRole,
    at: TupleAt,
    bytes: &[u8],
    prefix_len: u16,
    suffix_len: u16,
) -> Option<WalTuple<'_>> {
    header_and_data(bytes).map(|(m2, m, h, data)| WalTuple {
        role,
        locator: at.locator,
        block: at.block,
        offnum: at.offnum,
        t_infomask2: m2,
        t_infomask: m,
        t_hoff: h,
        data,
        prefix_len,
        suffix_len,
    })
}

/// The row operation of `rec`, or `None` if it is not one of the five.
fn heap_op(rec: &Record<'_>) -> Option<HeapOp> {
    match (rec.rmid(), rec.info() & 0x70) {
        (RM_HEAP_ID, 0x00) => Some(HeapOp::Insert),
        (RM_HEAP_ID, 0x10) => Some(HeapOp::Delete),
        (RM_HEAP_ID, 0x20) => Some(HeapOp::Update),
        (RM_HEAP_ID, 0x40) => Some(HeapOp::HotUpdate),
        (RM_HEAP2_ID, 0x50) => Some(HeapOp::MultiInsert),
        _ => None,
    }
}

/// The page images carried by `rec`'s block references.
fn page_images<'r>(rec: &Record<'r>) -> Vec<WalPageImage<'r>> {
    rec.blocks
        .iter()
        .filter_map(|b| {
            b.image.map(|image| WalPageImage {
                block_id: b.id,
                locator: b.locator,
                fork: b.fork(),
                block: b.block,
                image,
            })
        })
        .collect()
}

/// Which old version a DELETE/UPDATE carries: the whole row if `full_bit` is
/// set in `flags`, only the key if `key_bit` is, else none.
fn old_tuple_role(flags: u8, full_bit: u8, key_bit: u8) -> Option<TupleRole> {
    if flags & full_bit != 0 {
        Some(TupleRole::Old)
    } else if flags & key_bit != 0 {
        Some(TupleRole::OldKey)
    } else {
        None
    }
}

/// Decodes the heap change of `rec`, or `None` if the record is not one of the
/// five row operations or its data is too short for its declared layout.
pub fn heap_change<'r>(rec: &Record<'r>) -> Option<HeapChange<'r>> {
    let op = heap_op(rec)?;
    let b0 = rec.block(0)?;
    let mut ch = HeapChange {
        op,
        lsn: rec.lsn,
        xid: rec.xid(),
        flags: 0,
        locator: b0.locator,
        block: b0.block,
        offnums: Vec::new(),
        old_location: None,
        tuples: Vec::new(),
        images: page_images(rec),
        init_page: rec.info() & 0x80 != 0,
    };
    match op {
        HeapOp::Insert => decode_insert(&mut ch, rec.main_data, b0)?,
        HeapOp::MultiInsert => decode_multi_insert(&mut ch, rec.main_data, b0)?,
        HeapOp::Delete => decode_delete(&mut ch, rec.main_data, b0)?,
        HeapOp::Update | HeapOp::HotUpdate => decode_update(&mut ch, rec, b0)?,
    }
    Some(ch)
}

/// `xl_heap_insert`: offnum, flags; the tuple in block 0's data.
fn decode_insert<'r>(ch: &mut HeapChange<'r>, md: &'r [u8], b0: &BlockRef<'r>) -> Option<()> {
    let offnum = u16_at(md, 0)?;
    ch.flags = *md.get(2)?;
    ch.offnums.push(offnum);
    if b0.has_data() {
        let at = TupleAt {
            locator: b0.locator,
            block: b0.block,
            offnum,
        };
        ch.tuples
            .push(header_tuple(TupleRole::New, at, b0.data, 0, 0)?);
    }
    Some(())
}

/// `xl_heap_multi_insert`: flags, ntuples, offsets (absent on an init page);
/// the `xl_multi_insert_tuple`s in block 0's data.
fn decode_multi_insert<'r>(ch: &mut HeapChange<'r>, md: &'r [u8], b0: &BlockRef<'r>) -> Option<()> {
    ch.flags = *md.first()?;
    ch.offnums = multi_insert_offnums(md, ch.init_page)?;
    if b0.has_data() {
        ch.tuples = multi_insert_tuples(b0, &ch.offnums)?;
    }
    Some(())
}

/// The offsets of a multi-insert: listed in the main data, or 1..=n on an
/// init page.
fn multi_insert_offnums(md: &[u8], init_page: bool) -> Option<Vec<u16>> {
    let n = u16_at(md, 2)?;
    let mut offnums = Vec::new();
    for i in 0..n {
        let off = if init_page {
            i.checked_add(1)?
        } else {
            u16_at(md, 4usize.checked_add(usize::from(i).checked_mul(2)?)?)?
        };
        offnums.push(off);
    }
    Some(offnums)
}

/// The short-aligned `xl_multi_insert_tuple`s of block 0, one per offset.
fn multi_insert_tuples<'r>(b0: &BlockRef<'r>, offnums: &[u16]) -> Option<Vec<WalTuple<'r>>> {
    let d = b0.data;
    let mut tuples = Vec::new();
    let mut pos = 0usize;
    for &offnum in offnums {
        pos = pos.checked_add(pos & 1)?; // SHORTALIGN
        let datalen = usize::from(u16_at(d, pos)?);
        let t = WalTuple {
            role: TupleRole::New,
            locator: b0.locator,
            block: b0.block,
            offnum,
            t_infomask2: u16_at(d, pos.checked_add(2)?)?,
            t_infomask: u16_at(d, pos.checked_add(4)?)?,
            t_hoff: *d.get(pos.checked_add(6)?)?,
            data: d.get(pos.checked_add(7)?..pos.checked_add(7)?.checked_add(datalen)?)?,
            prefix_len: 0,
            suffix_len: 0,
        };
        tuples.push(t);
        pos = pos.checked_add(7)?.checked_add(datalen)?;
    }
    Some(tuples)
}

/// `xl_heap_delete`: offnum, flags; the old tuple (if any) after them.
fn decode_delete<'r>(ch: &mut HeapChange<'r>, md: &'r [u8], b0: &BlockRef<'r>) -> Option<()> {
    let offnum = u16_at(md, 4)?;
    ch.flags = *md.get(7)?;
    ch.offnums.push(offnum);
    if let Some(role) = old_tuple_role(ch.flags, 0x02, 0x04) {
        let at = TupleAt {
            locator: b0.locator,
            block: b0.block,
            offnum,
        };
        ch.tuples.push(header_tuple(role, at, md.get(8..)?, 0, 0)?);
    }
    Some(())
}

/// `xl_heap_update`: old offnum, flags, new offnum; the new tuple in block
/// 0's data, the old one (if any) after the main data.
fn decode_update<'r>(ch: &mut HeapChange<'r>, rec: &Record<'r>, b0: &BlockRef<'r>) -> Option<()> {
    let md = rec.main_data;
    let old_offnum = u16_at(md, 4)?;
    ch.flags = *md.get(7)?;
    let new_offnum = u16_at(md, 12)?;
    ch.offnums.push(new_offnum);
    let old_block = rec.block(1).map_or(b0.block, |b| b.block);
    ch.old_location = Some((old_block, old_offnum));
    if b0.has_data() {
        ch.tuples.push(update_new_tuple(ch.flags, b0, new_offnum)?);
    }
    if let Some(role) = old_tuple_role(ch.flags, 0x04, 0x08) {
        let at = TupleAt {
            locator: b0.locator,
            block: old_block,
            offnum: old_offnum,
        };
        ch.tuples.push(header_tuple(role, at, md.get(14..)?, 0, 0)?);
    }
    Some(())
}

/// The new tuple of an UPDATE, after its optional prefix and suffix lengths.
fn update_new_tuple<'r>(flags: u8, b0: &BlockRef<'r>, offnum: u16) -> Option<WalTuple<'r>> {
    let d = b0.data;
    let mut pos = 0usize;
    let mut prefix = 0;
    let mut suffix = 0;
    if flags & 0x20 != 0 {
        prefix = u16_at(d, pos)?;
        pos = 2;
    }
    if flags & 0x40 != 0 {
        suffix = u16_at(d, pos)?;
        pos = pos.checked_add(2)?;
    }
    let at = TupleAt {
        locator: b0.locator,
        block: b0.block,
        offnum,
    };
    header_tuple(TupleRole::New, at, d.get(pos..)?, prefix, suffix)
}
