//! One WAL record: header, CRC-32C, block references, main data.
//!
//! ```text
//! XLogRecord (24) | block headers ... | [253 origin u16] | [252 toplevel xid u32, 14+]
//!                 | [255 len u8 | 254 len u32]  (main data header)
//!                 | block 0: image bytes, data bytes | block 1: ... | main data
//!
//! block header: id u8 | fork_flags u8 | data_length u16
//!   [if HAS_IMAGE: length u16 | hole_offset u16 | bimg_info u8
//!                  [if hole and compressed: hole_length u16]]
//!   [unless SAME_REL: RelFileLocator (spc, db, rel: 3 x u32)]
//!   block number u32
//! ```
//! Source: `src/include/access/xlogrecord.h`, `DecodeXLogRecord` in
//! `src/backend/access/transam/xlogreader.c`. Every length is checked against
//! the bytes the record has; nothing is copied.

use std::fmt;

use zerocopy::FromBytes;

use crate::ctx::{PgMajor, WalCtx};
use crate::error::{BodyProblem, Error, Result};
use crate::raw::{
    BKPBLOCK_FORK_MASK, BKPBLOCK_HAS_DATA, BKPBLOCK_HAS_IMAGE, BKPBLOCK_SAME_REL,
    BKPBLOCK_WILL_INIT, BKPIMAGE_HAS_HOLE, SIZE_OF_XLOG_RECORD, XL_CRC_OFFSET,
    XLR_BLOCK_ID_DATA_LONG, XLR_BLOCK_ID_DATA_SHORT, XLR_BLOCK_ID_ORIGIN,
    XLR_BLOCK_ID_TOPLEVEL_XID, XLR_MAX_BLOCK_ID, XLR_RMGR_INFO_MASK, XLogRecord,
};
use crate::types::Lsn;

/// `RelFileNode` (13–15) / `RelFileLocator` (16+): tablespace, database, relation file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RelFileLocator {
    /// `spcNode` / `spcOid`.
    pub spc_oid: u32,
    /// `dbNode` / `dbOid`.
    pub db_oid: u32,
    /// `relNode` / `relNumber` (the relfilenode).
    pub rel_number: u32,
}

impl fmt::Display for RelFileLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.spc_oid, self.db_oid, self.rel_number)
    }
}

/// How a full-page image is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is (minus the hole).
    None,
    /// PostgreSQL's pglz.
    Pglz,
    /// LZ4 raw block.
    Lz4,
    /// Zstandard frame.
    Zstd,
}

impl Compression {
    /// Lower-case name (`none`, `pglz`, `lz4`, `zstd`).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Pglz => "pglz",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// A full-page image carried by a block reference.
#[derive(Debug, Clone, Copy)]
pub struct BlockImage<'r> {
    /// The stored (possibly compressed) bytes.
    pub bytes: &'r [u8],
    /// `hole_offset`.
    pub hole_offset: u16,
    /// Hole length (from the compress header, or `BLCKSZ - length`).
    pub hole_length: u32,
    /// Raw `bimg_info`.
    pub bimg_info: u8,
    /// Compression method decoded from `bimg_info` for this major.
    pub compression: Compression,
    /// Whether redo applies the image (`BKPIMAGE_APPLY`).
    pub apply: bool,
}

/// One block reference of a record.
#[derive(Debug, Clone, Copy)]
pub struct BlockRef<'r> {
    /// Block id (0..=32).
    pub id: u8,
    /// Raw `fork_flags`.
    pub fork_flags: u8,
    /// Relation file.
    pub locator: RelFileLocator,
    /// Block number in the fork.
    pub block: u32,
    /// Full-page image, if any.
    pub image: Option<BlockImage<'r>>,
    /// Block data (empty when `BKPBLOCK_HAS_DATA` is not set).
    pub data: &'r [u8],
}

impl BlockRef<'_> {
    /// Fork number (0 main, 1 fsm, 2 vm, 3 init).
    pub fn fork(&self) -> u8 {
        self.fork_flags & BKPBLOCK_FORK_MASK
    }

    /// Fork name as pg_waldump prints it (`main`, `fsm`, `vm`, `init`).
    pub fn fork_name(&self) -> &'static str {
        match self.fork() {
            0 => "main",
            1 => "fsm",
            2 => "vm",
            3 => "init",
            _ => "?",
        }
    }

    /// `BKPBLOCK_WILL_INIT`.
    pub fn will_init(&self) -> bool {
        self.fork_flags & BKPBLOCK_WILL_INIT != 0
    }

    /// `BKPBLOCK_HAS_DATA`.
    pub fn has_data(&self) -> bool {
        self.fork_flags & BKPBLOCK_HAS_DATA != 0
    }
}

/// A decoded record borrowing its bytes (from the segment, or from the
/// reassembly buffer when it spans pages).
#[derive(Debug, Clone)]
pub struct Record<'r> {
    /// Start LSN.
    pub lsn: Lsn,
    /// LSN just past the record's last byte (`EndRecPtr`).
    pub end: Lsn,
    /// The fixed header (copied; 24 bytes).
    pub hdr: XLogRecord,
    /// Block references in id order.
    pub blocks: Vec<BlockRef<'r>>,
    /// Replication origin (`XLR_BLOCK_ID_ORIGIN`).
    pub origin: Option<u16>,
    /// Top-level xid of a subtransaction (`XLR_BLOCK_ID_TOPLEVEL_XID`, 14+).
    pub toplevel_xid: Option<u32>,
    /// Main data.
    pub main_data: &'r [u8],
    /// All `xl_tot_len` bytes.
    pub bytes: &'r [u8],
}

impl<'r> Record<'r> {
    /// `xl_rmid`.
    pub fn rmid(&self) -> u8 {
        self.hdr.xl_rmid
    }
    /// `xl_info & XLR_RMGR_INFO_MASK`: the rmgr's record type.
    pub fn info(&self) -> u8 {
        self.hdr.xl_info & XLR_RMGR_INFO_MASK
    }
    /// `xl_xid`.
    pub fn xid(&self) -> u32 {
        self.hdr.xl_xid.get()
    }
    /// `xl_prev`.
    pub fn prev(&self) -> Lsn {
        Lsn(self.hdr.xl_prev.get())
    }
    /// `xl_tot_len`.
    pub fn total_len(&self) -> u32 {
        self.hdr.xl_tot_len.get()
    }
    /// Bytes of full-page images.
    pub fn fpi_len(&self) -> u32 {
        self.blocks
            .iter()
            .filter_map(|b| b.image.map(|i| i.bytes.len() as u64))
            .sum::<u64>()
            .try_into()
            .unwrap_or(u32::MAX)
    }
    /// Record length without images (pg_waldump's `rec` length).
    pub fn rec_len(&self) -> u32 {
        self.total_len().saturating_sub(self.fpi_len())
    }
    /// Block reference by id.
    pub fn block(&self, id: u8) -> Option<&BlockRef<'r>> {
        self.blocks.iter().find(|b| b.id == id)
    }
}

/// Computes the record CRC as PostgreSQL does: body, then header up to `xl_crc`.
pub fn record_crc(bytes: &[u8]) -> u32 {
    let body = bytes.get(SIZE_OF_XLOG_RECORD..).unwrap_or(&[]);
    let head = bytes.get(..XL_CRC_OFFSET).unwrap_or(bytes);
    crc32c::crc32c_append(crc32c::crc32c(body), head)
}

/// Reads the fixed header at the start of `bytes`.
pub(crate) fn read_header(bytes: &[u8]) -> Option<XLogRecord> {
    XLogRecord::read_from_prefix(bytes).ok().map(|(h, _)| h)
}

struct Cursor<'r> {
    bytes: &'r [u8],
    pos: usize,
    lsn: Lsn,
}

impl<'r> Cursor<'r> {
    fn body_err(&self, reason: BodyProblem) -> Error {
        Error::BadRecordBody {
            lsn: self.lsn,
            reason,
        }
    }
    fn err(&self) -> Error {
        Error::BadRecordBody {
            lsn: self.lsn,
            reason: BodyProblem::Truncated(self.pos),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'r [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.err())?;
        let s = self.bytes.get(self.pos..end).ok_or_else(|| self.err())?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes(s.try_into().unwrap_or([0; 2])))
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
    }
}

/// Image-compression meaning of `bimg_info` for `major`: (compression, apply).
fn bimg_bits(major: PgMajor, bimg_info: u8) -> std::result::Result<(Compression, bool), u8> {
    if major <= PgMajor::V14 {
        // 0x02 IS_COMPRESSED (pglz), 0x04 APPLY
        let c = if bimg_info & 0x02 != 0 {
            Compression::Pglz
        } else {
            Compression::None
        };
        Ok((c, bimg_info & 0x04 != 0))
    } else {
        // 0x02 APPLY, 0x04 PGLZ, 0x08 LZ4, 0x10 ZSTD
        let c = match bimg_info & 0x1C {
            0 => Compression::None,
            0x04 => Compression::Pglz,
            0x08 => Compression::Lz4,
            0x10 => Compression::Zstd,
            other => return Err(other),
        };
        Ok((c, bimg_info & 0x02 != 0))
    }
}

/// Decodes `bytes` (exactly `xl_tot_len` long) as the record at `lsn`,
/// verifying the CRC first.
pub fn decode_record<'r>(ctx: &WalCtx, lsn: Lsn, bytes: &'r [u8]) -> Result<Record<'r>> {
    let hdr = read_header(bytes).ok_or(Error::RecordTooShort {
        lsn,
        tot_len: bytes.len().try_into().unwrap_or(u32::MAX),
    })?;
    let stored = hdr.xl_crc.get();
    let computed = record_crc(bytes);
    if stored != computed {
        return Err(Error::BadCrc {
            lsn,
            stored,
            computed,
        });
    }
    decode_body(ctx, lsn, hdr, bytes)
}

/// Block lengths by block id: (data length, image length).
type BlockLens = [(u16, u16); XLR_MAX_BLOCK_ID as usize + 1];

/// What the header part of a record body declares.
struct BodyHeaders<'r> {
    /// Block references, payload slices still empty.
    blocks: Vec<BlockRef<'r>>,
    /// Their data and image lengths.
    lens: BlockLens,
    origin: Option<u16>,
    toplevel_xid: Option<u32>,
    main_len: u32,
    /// Bytes of payload (block data, images, main data) declared.
    datatotal: u64,
}

/// Decodes without checking the CRC (the caller did).
pub(crate) fn decode_body<'r>(
    ctx: &WalCtx,
    lsn: Lsn,
    hdr: XLogRecord,
    bytes: &'r [u8],
) -> Result<Record<'r>> {
    let mut c = Cursor {
        bytes,
        pos: SIZE_OF_XLOG_RECORD,
        lsn,
    };
    let remaining = bytes.len().saturating_sub(SIZE_OF_XLOG_RECORD) as u64;
    // Headers first (lengths kept on the stack), then the payload slices.
    let mut h = read_body_headers(&mut c, ctx, remaining)?;
    let header_bytes = (c.pos as u64).saturating_sub(SIZE_OF_XLOG_RECORD as u64);
    if header_bytes.saturating_add(h.datatotal) != remaining {
        return Err(c.body_err(BodyProblem::LengthMismatch {
            computed: header_bytes.saturating_add(h.datatotal),
            declared: remaining,
        }));
    }
    take_block_payloads(&mut c, &mut h.blocks, &h.lens)?;
    let main_data = c.take(h.main_len as usize)?;
    let end = lsn.checked_add(bytes.len() as u64).unwrap_or(lsn);
    Ok(Record {
        lsn,
        end,
        hdr,
        blocks: h.blocks,
        origin: h.origin,
        toplevel_xid: h.toplevel_xid,
        main_data,
        bytes,
    })
}

/// Reads the block, origin and top-level-xid headers up to the main-data
/// header (or until the declared payload would fill the rest).
fn read_body_headers<'r>(
    c: &mut Cursor<'r>,
    ctx: &WalCtx,
    remaining: u64,
) -> Result<BodyHeaders<'r>> {
    let mut h = BodyHeaders {
        blocks: Vec::new(),
        lens: [(0u16, 0u16); XLR_MAX_BLOCK_ID as usize + 1],
        origin: None,
        toplevel_xid: None,
        main_len: 0,
        datatotal: 0,
    };
    let mut last_loc: Option<RelFileLocator> = None;
    while (c.pos as u64).saturating_sub(SIZE_OF_XLOG_RECORD as u64)
        < remaining.saturating_sub(h.datatotal)
    {
        let id = c.u8()?;
        match id {
            XLR_BLOCK_ID_DATA_SHORT => {
                h.main_len = u32::from(c.u8()?);
                h.datatotal = h.datatotal.saturating_add(u64::from(h.main_len));
                break;
            }
            XLR_BLOCK_ID_DATA_LONG => {
                h.main_len = c.u32()?;
                h.datatotal = h.datatotal.saturating_add(u64::from(h.main_len));
                break;
            }
            XLR_BLOCK_ID_ORIGIN => h.origin = Some(c.u16()?),
            XLR_BLOCK_ID_TOPLEVEL_XID if ctx.major >= PgMajor::V14 => {
                h.toplevel_xid = Some(c.u32()?);
            }
            id if id <= XLR_MAX_BLOCK_ID => {
                if h.blocks.last().is_some_and(|p| p.id >= id) {
                    return Err(c.body_err(BodyProblem::OutOfOrderBlock(id)));
                }
                let (block, data_len, img_len) = read_block_header(c, ctx, id, &mut last_loc)?;
                h.datatotal = h
                    .datatotal
                    .saturating_add(u64::from(data_len))
                    .saturating_add(u64::from(img_len));
                if let Some(slot) = h.lens.get_mut(usize::from(id)) {
                    *slot = (data_len, img_len);
                }
                h.blocks.push(block);
            }
            other => return Err(c.body_err(BodyProblem::InvalidBlockId(other))),
        }
    }
    Ok(h)
}

/// Reads one `XLogRecordBlockHeader` (after its id) with its image header and
/// relation; returns the block and its (data, image) lengths.
fn read_block_header<'r>(
    c: &mut Cursor<'r>,
    ctx: &WalCtx,
    id: u8,
    last_loc: &mut Option<RelFileLocator>,
) -> Result<(BlockRef<'r>, u16, u16)> {
    let fork_flags = c.u8()?;
    let data_len = c.u16()?;
    let has_data = fork_flags & BKPBLOCK_HAS_DATA != 0;
    if has_data != (data_len != 0) {
        return Err(c.body_err(BodyProblem::DataFlag(id)));
    }
    let image = if fork_flags & BKPBLOCK_HAS_IMAGE != 0 {
        Some(read_image_header(c, ctx, id)?)
    } else {
        None
    };
    let locator = if fork_flags & BKPBLOCK_SAME_REL == 0 {
        let l = RelFileLocator {
            spc_oid: c.u32()?,
            db_oid: c.u32()?,
            rel_number: c.u32()?,
        };
        *last_loc = Some(l);
        l
    } else {
        last_loc.ok_or(c.body_err(BodyProblem::SameRelWithoutPrevious(id)))?
    };
    let block = c.u32()?;
    let block_ref = BlockRef {
        id,
        fork_flags,
        locator,
        block,
        image: image.map(|(_, i)| i),
        data: &[],
    };
    Ok((block_ref, data_len, image.map_or(0, |(l, _)| l)))
}

/// Reads an `XLogRecordBlockImageHeader` (and its compress header) and checks
/// its hole against the block size; returns the stored length and the image
/// with its bytes still empty.
fn read_image_header<'r>(
    c: &mut Cursor<'_>,
    ctx: &WalCtx,
    id: u8,
) -> Result<(u16, BlockImage<'r>)> {
    let blcksz = ctx.block_size_bytes;
    let len = c.u16()?;
    let hole_offset = c.u16()?;
    let bimg_info = c.u8()?;
    let (comp, apply) =
        bimg_bits(ctx.major, bimg_info).map_err(|_| c.body_err(BodyProblem::ImageHeader(id)))?;
    let has_hole = bimg_info & BKPIMAGE_HAS_HOLE != 0;
    let hole_length = if comp != Compression::None {
        if has_hole { u32::from(c.u16()?) } else { 0 }
    } else {
        blcksz.saturating_sub(u32::from(len))
    };
    let l = u32::from(len);
    let bad = (has_hole && (hole_offset == 0 || hole_length == 0 || l == blcksz))
        || (!has_hole && (hole_offset != 0 || hole_length != 0))
        || (comp != Compression::None && l == blcksz)
        || (!has_hole && comp == Compression::None && l != blcksz)
        || u32::from(hole_offset).saturating_add(hole_length) > blcksz;
    if bad {
        return Err(c.body_err(BodyProblem::ImageHeader(id)));
    }
    let image = BlockImage {
        bytes: &[],
        hole_offset,
        hole_length,
        bimg_info,
        compression: comp,
        apply,
    };
    Ok((len, image))
}

/// Slices each block's image and data, in block order, from the payload.
fn take_block_payloads<'r>(
    c: &mut Cursor<'r>,
    blocks: &mut [BlockRef<'r>],
    lens: &BlockLens,
) -> Result<()> {
    for b in blocks {
        let (data_len, img_len) = lens.get(usize::from(b.id)).copied().unwrap_or((0, 0));
        if let Some(img) = b.image.as_mut() {
            img.bytes = c.take(usize::from(img_len))?;
        }
        b.data = c.take(usize::from(data_len))?;
    }
    Ok(())
}
