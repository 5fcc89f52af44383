//! Byte-exact on-disk structures of PostgreSQL's WAL (little-endian hosts).
//!
//! Field names are PostgreSQL's. Every struct is `Unaligned`, so a view can be
//! taken at any offset of a mapped segment; sizes are asserted at compile time.
//!
//! ```text
//! XLogPageHeaderData (SizeOfXLogShortPHD = 24)
//!  0      2      4        8               16       20     24
//!  +------+------+--------+---------------+--------+------+
//!  |magic | info |  tli   |  pageaddr     |rem_len | pad  |
//!  +------+------+--------+---------------+--------+------+
//! XLogLongPageHeaderData (SizeOfXLogLongPHD = 40): the above, then
//!  24              32         36          40
//!  +---------------+----------+-----------+
//!  |  xlp_sysid    | seg_size | xlog_blcksz|
//!  +---------------+----------+-----------+
//! XLogRecord (SizeOfXLogRecord = 24)
//!  0          4        8               16    17    18   20     24
//!  +----------+--------+---------------+-----+-----+----+------+
//!  |xl_tot_len| xl_xid |   xl_prev     |info |rmid |pad |xl_crc|
//!  +----------+--------+---------------+-----+-----+----+------+
//! ```
//! Source: `src/include/access/xlog_internal.h`, `src/include/access/xlogrecord.h`.

use zerocopy::byteorder::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `XLogPageHeaderData`: the header of every WAL page.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
pub struct XLogPageHeaderData {
    /// `XLOG_PAGE_MAGIC` of the major that wrote the page.
    pub xlp_magic: U16,
    /// `XLP_*` flags.
    pub xlp_info: U16,
    /// Timeline of the first record on the page.
    pub xlp_tli: U32,
    /// LSN of this page.
    pub xlp_pageaddr: U64,
    /// Bytes of a record continued from the previous page.
    pub xlp_rem_len: U32,
    /// MAXALIGN padding.
    pub _pad: [u8; 4],
}
const _: () = assert!(size_of::<XLogPageHeaderData>() == 24);

/// `XLogLongPageHeaderData`: the header of the first page of a segment.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
pub struct XLogLongPageHeaderData {
    /// The standard header.
    pub std: XLogPageHeaderData,
    /// System identifier from pg_control.
    pub xlp_sysid: U64,
    /// Segment size in bytes.
    pub xlp_seg_size: U32,
    /// WAL block (page) size in bytes.
    pub xlp_xlog_blcksz: U32,
}
const _: () = assert!(size_of::<XLogLongPageHeaderData>() == 40);

/// `XLogRecord`: the fixed header of every WAL record.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
pub struct XLogRecord {
    /// Total record length, header included.
    pub xl_tot_len: U32,
    /// Transaction id (0 if none).
    pub xl_xid: U32,
    /// LSN of the previous record.
    pub xl_prev: U64,
    /// Record type (high nibble) and `XLR_*` flags (low nibble).
    pub xl_info: u8,
    /// Resource manager id.
    pub xl_rmid: u8,
    /// Padding.
    pub _pad: [u8; 2],
    /// CRC-32C of the record body, then of the header up to this field.
    pub xl_crc: U32,
}
const _: () = assert!(size_of::<XLogRecord>() == 24);

/// `SizeOfXLogShortPHD`.
pub const SIZE_OF_XLOG_SHORT_PHD: usize = 24;
/// `SizeOfXLogLongPHD`.
pub const SIZE_OF_XLOG_LONG_PHD: usize = 40;
/// `SizeOfXLogRecord`.
pub const SIZE_OF_XLOG_RECORD: usize = 24;
/// Offset of `xl_crc` in [`XLogRecord`].
pub const XL_CRC_OFFSET: usize = 20;

/// `XLP_FIRST_IS_CONTRECORD`.
pub const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
/// `XLP_LONG_HEADER`.
pub const XLP_LONG_HEADER: u16 = 0x0002;
/// `XLP_BKP_REMOVABLE`.
pub const XLP_BKP_REMOVABLE: u16 = 0x0004;
/// `XLP_FIRST_IS_OVERWRITE_CONTRECORD` (14+, back-patched to 13).
pub const XLP_FIRST_IS_OVERWRITE_CONTRECORD: u16 = 0x0008;
/// `XLP_ALL_FLAGS` (14+; accepted for 13 too).
pub const XLP_ALL_FLAGS: u16 = 0x000F;

/// `XLR_BLOCK_ID_DATA_SHORT`.
pub const XLR_BLOCK_ID_DATA_SHORT: u8 = 255;
/// `XLR_BLOCK_ID_DATA_LONG`.
pub const XLR_BLOCK_ID_DATA_LONG: u8 = 254;
/// `XLR_BLOCK_ID_ORIGIN`.
pub const XLR_BLOCK_ID_ORIGIN: u8 = 253;
/// `XLR_BLOCK_ID_TOPLEVEL_XID` (14+).
pub const XLR_BLOCK_ID_TOPLEVEL_XID: u8 = 252;
/// `XLR_MAX_BLOCK_ID`.
pub const XLR_MAX_BLOCK_ID: u8 = 32;

/// `BKPBLOCK_FORK_MASK`.
pub const BKPBLOCK_FORK_MASK: u8 = 0x0F;
/// `BKPBLOCK_HAS_IMAGE`.
pub const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
/// `BKPBLOCK_HAS_DATA`.
pub const BKPBLOCK_HAS_DATA: u8 = 0x20;
/// `BKPBLOCK_WILL_INIT`.
pub const BKPBLOCK_WILL_INIT: u8 = 0x40;
/// `BKPBLOCK_SAME_REL`.
pub const BKPBLOCK_SAME_REL: u8 = 0x80;

/// `BKPIMAGE_HAS_HOLE` (all majors).
pub const BKPIMAGE_HAS_HOLE: u8 = 0x01;

/// `XLR_INFO_MASK`: the low nibble of `xl_info` reserved for xlog.c.
pub const XLR_INFO_MASK: u8 = 0x0F;
/// `XLR_RMGR_INFO_MASK`: the rmgr's record type bits.
pub const XLR_RMGR_INFO_MASK: u8 = 0xF0;
