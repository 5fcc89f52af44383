//! A cheap summary of one segment file, for `datam inspect`.

use crate::ctx::WalCtx;
use crate::error::Result;
use crate::read::page::{Segment, WalSource, parse_page};
use crate::read::reader::{Diag, ReadOptions, Reader, Sink};
use crate::read::record::Record;
use crate::types::{FileOffset, Lsn, SegNo, TimeLineId};

/// `xlp_magic`, the first two bytes of a WAL page (little-endian), when
/// there are two bytes.
///
/// ```
/// assert_eq!(walparse::read::segment::page_magic(&[0x10, 0xD1]), Some(0xD110));
/// assert_eq!(walparse::read::segment::page_magic(&[0x10]), None);
/// ```
pub fn page_magic(bytes: &[u8]) -> Option<u16> {
    bytes.first_chunk::<2>().map(|b| u16::from_le_bytes(*b))
}

/// Whether `bytes` start like a WAL segment: a known `XLOG_PAGE_MAGIC` and
/// `XLP_LONG_HEADER` in `xlp_info`, with room for the long header. Cheap;
/// [`summarize_segment`] validates the rest.
pub fn looks_like_segment(bytes: &[u8]) -> bool {
    let info = bytes
        .get(2..4)
        .and_then(|b| b.first_chunk::<2>())
        .map(|b| u16::from_le_bytes(*b));
    let (Some(magic), Some(info)) = (page_magic(bytes), info) else {
        return false;
    };
    bytes.len() >= crate::raw::SIZE_OF_XLOG_LONG_PHD
        && crate::ctx::PgMajor::from_magic(magic).is_some()
        && info & crate::raw::XLP_LONG_HEADER != 0
}

/// What the headers and records of one segment file say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    /// Format parameters from the long header (major, sysid, sizes).
    pub ctx: WalCtx,
    /// `xlp_tli` of the first page.
    pub tli: TimeLineId,
    /// Segment number from the first page's `xlp_pageaddr`.
    pub segno: SegNo,
    /// `xlp_pageaddr` of the first page.
    pub start_lsn: Lsn,
    /// Consecutive valid pages from the start (addresses as expected).
    pub n_valid_pages: u32,
    /// Pages after those that carry an older `xlp_pageaddr` (recycled content).
    pub n_recycled_pages: u32,
    /// End of the last valid page of the run from the start.
    pub valid_end_lsn: Lsn,
    /// `xlp_rem_len` of the first page: bytes of a record begun in the previous segment.
    pub first_page_rem_len: u32,
    /// First record that starts in this segment and validates (CRC and all).
    pub first_record_lsn: Option<Lsn>,
    /// Last record that starts in this segment and validates without needing
    /// the next segment.
    pub last_record_lsn: Option<Lsn>,
    /// Records counted between them.
    pub n_records: u64,
    /// Problems met while walking the records (damage, not the normal end).
    pub n_damaged: u64,
}

struct Count {
    first: Option<Lsn>,
    last: Option<Lsn>,
    n: u64,
    damaged: u64,
}

impl Sink for Count {
    type Error = std::convert::Infallible;
    fn record(&mut self, rec: &Record<'_>) -> Result<bool, Self::Error> {
        self.first.get_or_insert(rec.lsn);
        self.last = Some(rec.lsn);
        self.n = self.n.saturating_add(1);
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        if matches!(d, Diag::Damage { .. }) {
            self.damaged = self.damaged.saturating_add(1);
        }
        Ok(true)
    }
}

/// Summarises a segment file from its bytes: long header facts, the run of
/// valid pages and the first and last valid records that start in it.
/// Costs one pass over the file (CRC of every record).
///
/// ```no_run
/// let bytes = std::fs::read("pg_wal/000000010000000000000001")?;
/// let s = walparse::summarize_segment(&bytes)?;
/// println!("PG{} tli {} seg {} first record {:?}", s.ctx.major.number(), s.tli.0, s.segno.0, s.first_record_lsn);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn summarize_segment(bytes: &[u8]) -> Result<SegmentSummary> {
    let ctx = WalCtx::from_long_header(bytes, FileOffset(0))?;
    let first = parse_page(&ctx, bytes, None)?;
    let start_lsn = first.lsn;
    let segno = SegNo(start_lsn.0 / u64::from(ctx.seg_size_bytes));
    let blk = ctx.block_size_bytes as usize;
    let mut n_valid_pages: u32 = 0;
    let mut n_recycled_pages: u32 = 0;
    for (i, chunk) in bytes.chunks(blk).enumerate() {
        let expect = Lsn(start_lsn
            .0
            .saturating_add((i as u64).saturating_mul(blk as u64)));
        if n_valid_pages as usize == i && parse_page(&ctx, chunk, Some(expect)).is_ok() {
            n_valid_pages = n_valid_pages.saturating_add(1);
        } else if let Ok(p) = parse_page(&ctx, chunk, None)
            && p.lsn < expect
        {
            n_recycled_pages = n_recycled_pages.saturating_add(1);
        }
    }
    let valid_end_lsn = Lsn(start_lsn
        .0
        .saturating_add(u64::from(n_valid_pages).saturating_mul(blk as u64)));
    let src = WalSource::new(ctx, vec![Segment { segno, bytes }]);
    let mut count = Count {
        first: None,
        last: None,
        n: 0,
        damaged: 0,
    };
    let mut reader = Reader::new(&src, ReadOptions::default());
    let Ok(()) = reader.run(&mut count);
    Ok(SegmentSummary {
        ctx,
        tli: first.tli(),
        segno,
        start_lsn,
        n_valid_pages,
        n_recycled_pages,
        valid_end_lsn,
        first_page_rem_len: first.rem_len(),
        first_record_lsn: count.first,
        last_record_lsn: count.last,
        n_records: count.n,
        n_damaged: count.damaged,
    })
}
