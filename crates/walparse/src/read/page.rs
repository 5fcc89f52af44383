//! WAL pages: header validation and the LSN → page lookup of a [`WalSource`].
//!
//! ```text
//! segment (xlp_seg_size bytes, e.g. 16 MiB)
//! +-----------------+-----------------+-----+-----------------+
//! | page 0          | page 1          | ... | page n-1        |   each xlp_xlog_blcksz
//! | long hdr (40 B) | short hdr (24 B)|     | short hdr       |
//! | [rest of a      | [rest of a      |     |                 |
//! |  record, if     |  record, if     |     |                 |
//! |  CONTRECORD]    |  CONTRECORD]    |     |                 |
//! | records...      | records...      |     |                 |
//! +-----------------+-----------------+-----+-----------------+
//! ```
//! A page belongs at LSN `L` when its `xlp_pageaddr == L`; an older address
//! means a recycled segment whose bytes still hold older records.

use zerocopy::FromBytes;

use crate::ctx::WalCtx;
use crate::error::{Error, PageProblem, Result};
use crate::raw::{
    SIZE_OF_XLOG_LONG_PHD, SIZE_OF_XLOG_SHORT_PHD, XLP_ALL_FLAGS, XLP_LONG_HEADER,
    XLogLongPageHeaderData, XLogPageHeaderData,
};
use crate::types::{Lsn, SegNo, TimeLineId};

/// A validated WAL page.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The page's LSN (`xlp_pageaddr`).
    pub lsn: Lsn,
    /// The header.
    pub hdr: &'a XLogPageHeaderData,
    /// Header length: 40 (long) or 24 (short).
    pub hdr_len: usize,
    /// The whole page, header included.
    pub bytes: &'a [u8],
}

impl<'a> Page<'a> {
    /// `xlp_info`.
    pub fn info(&self) -> u16 {
        self.hdr.xlp_info.get()
    }

    /// `xlp_rem_len`.
    pub fn rem_len(&self) -> u32 {
        self.hdr.xlp_rem_len.get()
    }

    /// `xlp_tli`.
    pub fn tli(&self) -> TimeLineId {
        TimeLineId(self.hdr.xlp_tli.get())
    }

    /// Bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.hdr_len..).unwrap_or(&[])
    }
}

/// Validates the page `bytes` (at least one block) as the page at `expect`.
/// Pass `expect = None` to accept any `xlp_pageaddr` that is a multiple of the
/// block size (used when scanning recycled pages).
pub fn parse_page<'a>(ctx: &WalCtx, bytes: &'a [u8], expect: Option<Lsn>) -> Result<Page<'a>> {
    let blk = ctx.block_size_bytes as usize;
    let guess = expect.unwrap_or(Lsn::INVALID);
    let bad = |reason| Error::BadPage {
        page: guess,
        reason,
    };
    let page = bytes.get(..blk).ok_or(bad(PageProblem::Truncated))?;
    let (hdr, _) =
        XLogPageHeaderData::ref_from_prefix(page).map_err(|_| bad(PageProblem::Truncated))?;
    let magic = hdr.xlp_magic.get();
    if magic != ctx.major.magic() {
        return Err(bad(PageProblem::Magic {
            found: magic,
            expected: ctx.major.magic(),
        }));
    }
    let info = hdr.xlp_info.get();
    if info & !XLP_ALL_FLAGS != 0 {
        return Err(bad(PageProblem::InfoBits(info)));
    }
    let addr = Lsn(hdr.xlp_pageaddr.get());
    match expect {
        Some(e) if e != addr => return Err(bad(PageProblem::PageAddr(addr))),
        None if !addr.0.is_multiple_of(u64::from(ctx.block_size_bytes)) => {
            return Err(bad(PageProblem::PageAddr(addr)));
        }
        _ => {}
    }
    let seg_start = addr.0.is_multiple_of(u64::from(ctx.seg_size_bytes));
    let long = info & XLP_LONG_HEADER != 0;
    if long != seg_start {
        return Err(bad(PageProblem::LongHeader));
    }
    let hdr_len = if long {
        let (l, _) = XLogLongPageHeaderData::ref_from_prefix(page)
            .map_err(|_| bad(PageProblem::Truncated))?;
        if l.xlp_sysid.get() != ctx.sysid
            || l.xlp_seg_size.get() != ctx.seg_size_bytes
            || l.xlp_xlog_blcksz.get() != ctx.block_size_bytes
        {
            return Err(bad(PageProblem::LongHeaderMismatch));
        }
        SIZE_OF_XLOG_LONG_PHD
    } else {
        SIZE_OF_XLOG_SHORT_PHD
    };
    Ok(Page {
        lsn: addr,
        hdr,
        hdr_len,
        bytes: page,
    })
}

/// One segment file's bytes and the segment number it is read as.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Segment number the pages are expected to carry.
    pub segno: SegNo,
    /// The file's bytes.
    pub bytes: &'a [u8],
}

/// An ordered set of segments of one WAL stream, addressed by LSN.
#[derive(Debug, Clone)]
pub struct WalSource<'a> {
    ctx: WalCtx,
    segs: Vec<Segment<'a>>,
    /// Segments whose bytes are part of the stream only before an LSN, by
    /// segment number (see [`WalSource::with_end`]).
    ends: Vec<(SegNo, Lsn)>,
}

impl<'a> WalSource<'a> {
    /// A source over `segs` (any order; duplicates keep the first).
    pub fn new(ctx: WalCtx, mut segs: Vec<Segment<'a>>) -> WalSource<'a> {
        segs.sort_by_key(|s| s.segno);
        segs.dedup_by_key(|s| s.segno);
        WalSource {
            ctx,
            segs,
            ends: Vec::new(),
        }
    }

    /// The bytes of segment `segno` from `end` on are not part of this
    /// stream: an older timeline's copy of the segment holding its switch
    /// point, read in place of the newer timeline's missing copy. Pages
    /// wholly at or after `end` read as missing, and a [`crate::Reader`]
    /// stops before a record that would start there.
    pub fn with_end(mut self, segno: SegNo, end: Lsn) -> WalSource<'a> {
        match self.ends.binary_search_by_key(&segno, |e| e.0) {
            Ok(i) => {
                if let Some(e) = self.ends.get_mut(i) {
                    e.1 = e.1.min(end);
                }
            }
            Err(i) => self.ends.insert(i, (segno, end)),
        }
        self
    }

    /// The first [`WalSource::with_end`] bound a reader starting at `lsn`
    /// meets (that of its own segment or a later one).
    pub fn end_from(&self, lsn: Lsn) -> Option<Lsn> {
        let segno = self.segno_of(lsn);
        self.ends
            .iter()
            .find(|(s, _)| *s >= segno)
            .map(|&(_, end)| end)
    }

    /// The format parameters.
    pub fn ctx(&self) -> &WalCtx {
        &self.ctx
    }

    /// The segments, by segment number.
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segs
    }

    /// First LSN of segment `segno`.
    pub fn segment_start(&self, segno: SegNo) -> Lsn {
        Lsn(segno.0.saturating_mul(u64::from(self.ctx.seg_size_bytes)))
    }

    /// The segment number holding `lsn`.
    pub fn segno_of(&self, lsn: Lsn) -> SegNo {
        SegNo(lsn.0 / u64::from(self.ctx.seg_size_bytes))
    }

    /// The start of the page holding `lsn`.
    pub fn page_of(&self, lsn: Lsn) -> Lsn {
        Lsn(lsn.0 - lsn.0 % u64::from(self.ctx.block_size_bytes))
    }

    /// The validated page at `page_lsn` (a multiple of the block size).
    pub fn page(&self, page_lsn: Lsn) -> Result<Page<'a>> {
        let segno = self.segno_of(page_lsn);
        let seg = self
            .segs
            .binary_search_by_key(&segno, |s| s.segno)
            .ok()
            .and_then(|i| self.segs.get(i))
            .ok_or(Error::MissingSegment {
                lsn: page_lsn,
                segno,
            })?;
        if let Ok(i) = self.ends.binary_search_by_key(&segno, |e| e.0)
            && self.ends.get(i).is_some_and(|&(_, end)| page_lsn >= end)
        {
            return Err(Error::MissingSegment {
                lsn: page_lsn,
                segno,
            });
        }
        let off = page_lsn.0 % u64::from(self.ctx.seg_size_bytes);
        let bytes = usize::try_from(off)
            .ok()
            .and_then(|o| seg.bytes.get(o..))
            .ok_or(Error::BadPage {
                page: page_lsn,
                reason: PageProblem::Truncated,
            })?;
        parse_page(&self.ctx, bytes, Some(page_lsn)).map_err(|e| match e {
            Error::BadPage { reason, .. } => Error::BadPage {
                page: page_lsn,
                reason,
            },
            other => other,
        })
    }

    /// Whether a segment holding `lsn` is present.
    pub fn has(&self, lsn: Lsn) -> bool {
        let segno = self.segno_of(lsn);
        self.segs.binary_search_by_key(&segno, |s| s.segno).is_ok()
    }
}
