//! The one error type of `sqlite-pages`.

use crate::PageNo;

/// Everything that can be wrong with the bytes handed to this crate.
///
/// Each variant says where (page number and/or byte offset within the page or
/// file) and what was found, so callers can report damage precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the structure needs.
    #[error("truncated: need {needed} bytes at offset {offset}, have {available}")]
    Truncated {
        /// Offset (in the page, or in the file for the header) where the structure starts.
        offset: u64,
        /// Bytes the structure needs.
        needed: u64,
        /// Bytes that exist from `offset`.
        available: u64,
    },
    /// The 16-byte magic string is not `"SQLite format 3\0"`.
    #[error("bad header magic {found:02x?}")]
    BadMagic {
        /// The first 16 bytes found.
        found: [u8; 16],
    },
    /// The page-size field is not a power of two in 512..=65536.
    #[error("bad page size field {found} at file offset 16")]
    BadPageSize {
        /// Raw big-endian u16 at offset 16.
        found: u16,
    },
    /// Reserved bytes leave a usable size below 480.
    #[error("reserved bytes {reserved} leave usable size {usable} < 480 (page size {page_size})")]
    BadReservedBytes {
        /// Reserved bytes per page (offset 20).
        reserved: u8,
        /// Page size in bytes.
        page_size: u32,
        /// Resulting usable size.
        usable: u32,
    },
    /// A b-tree page type byte that is none of 2, 5, 10, 13.
    #[error("page {page_no}: bad b-tree page type {found:#04x} at page offset {offset}")]
    BadPageType {
        /// The page.
        page_no: PageNo,
        /// Offset of the type byte in the page.
        offset: usize,
        /// The byte found.
        found: u8,
    },
    /// A b-tree page header field out of range.
    #[error("page {page_no}: bad b-tree header field {field} = {value}")]
    BadPageHeader {
        /// The page.
        page_no: PageNo,
        /// The field name (`cell_count`, `cell_content_start`, ...).
        field: &'static str,
        /// The value found.
        value: u32,
    },
    /// A cell pointer or cell extends past the usable page.
    #[error("page {page_no}: cell at page offset {offset} out of page ({reason})")]
    BadCell {
        /// The page.
        page_no: PageNo,
        /// Page offset of the cell.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A varint runs past the end of the bytes.
    #[error("page {page_no}: truncated varint at page offset {offset}")]
    BadVarint {
        /// The page.
        page_no: PageNo,
        /// Page offset of the varint.
        offset: usize,
    },
    /// An overflow chain is broken (out-of-range page, loop, or too long).
    #[error("overflow chain from page {page_no}: {reason} at overflow page {at}")]
    BadOverflow {
        /// The page holding the cell.
        page_no: PageNo,
        /// The overflow page where the chain broke.
        at: PageNo,
        /// What is wrong.
        reason: &'static str,
    },
    /// A freelist trunk page is inconsistent.
    #[error("freelist trunk page {page_no}: {reason}")]
    BadFreelist {
        /// The trunk page.
        page_no: PageNo,
        /// What is wrong.
        reason: &'static str,
    },
    /// The record (row payload) is malformed.
    #[error("page {page_no}: bad record at page offset {offset}: {source}")]
    BadRecord {
        /// The page.
        page_no: PageNo,
        /// Page offset of the payload.
        offset: usize,
        /// The decoder's error.
        source: rowcodec::sqlite::RecordError,
    },
    /// A page number beyond the end of the file.
    #[error("page {page_no} is beyond the end of the file ({n_pages} pages)")]
    PageOutOfRange {
        /// The page asked for.
        page_no: PageNo,
        /// Pages in the file.
        n_pages: u32,
    },
}
