//! PostgreSQL write-ahead log parser for majors 13–18.
//!
//! Pure and zero-copy: every function takes bytes (usually a memory-mapped
//! segment handed over by the `evidence` crate) and returns views that borrow
//! them. Nothing here does I/O. Format parameters (major, segment size, WAL
//! block size) are read from the long page header into a [`WalCtx`]; no size
//! is hard-coded.
//!
//! # API structure
//! - [`summarize_segment`] → [`SegmentSummary`]: the cheap one-call summary of
//!   a segment file for `datam inspect`: major (from `XLOG_PAGE_MAGIC`),
//!   timeline, `xlp_sysid`, segment and block sizes, segment number (from
//!   `xlp_pageaddr`), the run of valid pages, recycled pages, and the first and
//!   last valid records that start in the segment.
//! - [`WalCtx`] / [`PgMajor`]: format parameters; [`raw`]: byte-exact
//!   `#[repr(C)]` structs (`XLogPageHeaderData`, `XLogLongPageHeaderData`,
//!   `XLogRecord`).
//! - [`WalSource`] (segments by number) + [`Reader`] (state machine) +
//!   [`Sink`]: read records across pages and segments, with CRC-32C checks,
//!   damage reports ([`Diag`]) and resynchronisation.
//! - [`Record`] / [`BlockRef`] / [`BlockImage`]: a decoded record, its block
//!   references and full-page images; [`fpi::restore_page`] rebuilds the page
//!   image (decompressing pglz/lz4/zstd and re-inserting the hole).
//! - [`rmgr`]: rmgr and record-type names per major; [`desc`]: pg_waldump-like
//!   descriptions; [`heap`]: tuple bytes carried by heap records;
//!   [`xact`]: commit/abort records (time, subtransactions).
//! - [`timeline::TimelineHistory`]: a timeline history file (`N.history`)
//!   parsed into per-timeline LSN ranges; `tli_of(lsn)` says which timeline's
//!   segment files hold an LSN.
//! - [`Lsn`], [`SegNo`], [`TimeLineId`], [`FileOffset`]: position newtypes.
//!
//! **Architecture Invariant:** walparse never performs I/O and never panics on
//! input; every length read from WAL is checked against the bytes present.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bytes;
pub mod ctx;
pub mod desc;
pub mod error;
pub mod fpi;
pub mod heap;
pub mod raw;
pub mod read;
pub mod rmgr;
pub mod timeline;
pub mod types;
pub mod xact;

pub use ctx::{PgMajor, WalCtx};
pub use error::{Error, Result};
pub use read::page::{Page, Segment, WalSource, parse_page};
pub use read::reader::{Diag, ReadOptions, Reader, Sink};
pub use read::record::{BlockImage, BlockRef, Compression, Record, RelFileLocator, decode_record};
pub use read::segment::{SegmentSummary, looks_like_segment, page_magic, summarize_segment};
pub use types::{FileOffset, Lsn, SegNo, TimeLineId, parse_segment_file_name, segment_file_name};
