//! SQLite on-disk format parser and carver, built for recovery: nothing in
//! the file is trusted, every length is checked, damage yields diagnostics
//! and partial results, never a panic.
//!
//! # API structure
//!
//! - [`header::DbHeader`]: the 100-byte database header.
//! - [`page::BtreePage`]: a b-tree page view (header, cell pointers,
//!   freeblocks, gap); [`page::PageClass`] for classification.
//! - [`cell`]: payload cells, local/overflow split, [`cell::assemble_payload`]
//!   over a [`cell::PageSource`].
//! - [`schema`]: `sqlite_master` rows and CREATE TABLE parsing.
//! - [`carve::CarveCtx`]: deleted-cell carving with header reconstruction.
//! - [`scan::table_rows_in_page`]: **the reusable per-page row extractor**
//!   (owned rows); [`scan::scan_page`] hands out [`scan::RowRef`]s that
//!   borrow the page, with no copy per live row.
//! - [`db::Db`]: a whole file; [`db::Db::salvage_with`] scans pages in
//!   parallel, formats rows on the workers ([`db::RowFormat`]) and hands
//!   batches in page order to a [`db::BatchSink`]; [`db::Db::salvage`] is
//!   the row-at-a-time form over a [`db::Sink`]. [`db::Db::open_releasing`]
//!   lets a caller drop mapped pages the work has gone past.
//! - `wal`, `journal`: `-wal` and `-journal` files.
//! - [`history::collect`]: every version of every row across the database,
//!   its WAL frames and journal page images (read with [`scan::scan_page`]
//!   over a [`history::view::View`]), with deleted rows carved from those
//!   page images.
//!
//! # Per-page extraction (for WAL frames and journal page images)
//!
//! ```text
//! let db = Db::open(main_file_bytes);          // schema, encoding, usable size
//! let ctx = db.scan_ctx();                      // ScanCtx { tables, enc, usable, src }
//! table_rows_in_page(&ctx, page_no, frame_page_bytes,
//!     PageRole::Tree { table }                  // or Orphan if unknown
//!     , Extract { intact: true, carved: true }, &mut |row| { ... });
//! ```
//! `page` is one page image (any source); `page_no` matters for page 1 (its
//! b-tree header starts at offset 100). `ctx.src` resolves overflow pages —
//! supply a [`cell::PageSource`] that overlays WAL/journal pages on the
//! main file when needed. Rows carry [`scan::RowStatus`], page number,
//! offset and confidence; `table` indexes `ctx.tables`.
#![forbid(unsafe_code)]

pub mod carve;
pub mod cell;
pub mod db;
pub mod error;
pub mod header;
pub mod history;
mod infer;
pub mod journal;
pub mod page;
pub mod scan;
pub mod schema;
pub mod wal;

pub use error::Error;

/// A 1-based page number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PageNo(pub u32);

impl std::fmt::Display for PageNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Big-endian u32 at `at`, if the bytes exist.
pub(crate) fn be_u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// Big-endian u16 at `at`, if the bytes exist.
pub(crate) fn be_u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

/// `usize` → `u32`, saturating (for counts and offsets in diagnostics).
pub(crate) fn sat_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
