//! Any bytes as a WAL segment: no panic, hang or unbounded allocation, and
//! every record handed out passed its CRC, lies after the previous one, and
//! its block images restore to a full page or fail with an error; commit
//! records never claim more subtransactions than their bytes hold, and the
//! rescue planner's pass-1 sink takes every record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use walparse::{Diag, Lsn, ReadOptions, Reader, Record, Segment, Sink, WalSource};

struct Check {
    last: Option<Lsn>,
    block_size: u32,
}

impl Sink for Check {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        assert_eq!(walparse::read::record::record_crc(r.bytes), r.hdr.xl_crc.get());
        assert!(self.last.is_none_or(|l| l < r.lsn));
        assert!(r.rec_len() <= r.total_len());
        self.last = Some(r.lsn);
        for b in &r.blocks {
            if let Some(img) = b.image
                && let Ok(p) = walparse::fpi::restore_page(&img, self.block_size, r.lsn, b.id)
            {
                assert_eq!(p.len(), self.block_size as usize);
            }
        }
        let _ = walparse::heap::heap_change(r);
        if let Some(x) = walparse::xact::xact_end(r) {
            assert!(x.subxacts.len().saturating_mul(4) <= r.main_data.len());
        }
        let _ = pgrescue_sink(r);
        for major in [
            walparse::PgMajor::V13,
            walparse::PgMajor::V14,
            walparse::PgMajor::V15,
            walparse::PgMajor::V16,
            walparse::PgMajor::V17,
            walparse::PgMajor::V18,
        ] {
            let _ = walparse::desc::describe(major, r);
        }
        Ok(true)
    }
    fn diag(&mut self, _d: &Diag) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

fn pgrescue_sink(r: &Record<'_>) -> bool {
    let mut s = pgrescue::collect::XactSink::new(std::collections::HashSet::new());
    let Ok(more) = s.record(r);
    more
}

fuzz_target!(|data: &[u8]| {
    let _ = walparse::summarize_segment(data);
    let Ok(ctx) = walparse::WalCtx::from_long_header(data, walparse::FileOffset(0)) else {
        return;
    };
    let Ok(first) = walparse::parse_page(&ctx, data, None) else {
        return;
    };
    let segno = walparse::SegNo(first.lsn.0 / u64::from(ctx.seg_size_bytes));
    let src = WalSource::new(ctx, vec![Segment { segno, bytes: data }]);
    let mut c = Check {
        last: None,
        block_size: ctx.block_size_bytes,
    };
    let Ok(()) = Reader::new(&src, ReadOptions::default()).run(&mut c);
});
