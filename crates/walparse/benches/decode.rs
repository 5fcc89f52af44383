//! Decoding speed over the checked-in PG15 segment (written by the server).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use walparse::{ReadOptions, Reader, Record, Segment, Sink, WalSource};

struct Count(u64, u64);

impl Sink for Count {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        self.0 += 1;
        self.1 += u64::from(r.total_len());
        Ok(true)
    }
}

fn bench(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpora/pg15/datadir/pg_wal/000000010000000000000008");
    let ev = evidence::Evidence::open(path).unwrap();
    let bytes = ev.bytes();
    let ctx = walparse::WalCtx::from_long_header(bytes, walparse::FileOffset(0)).unwrap();
    let src = WalSource::new(
        ctx,
        vec![Segment {
            segno: walparse::SegNo(8),
            bytes,
        }],
    );
    let mut probe = Count(0, 0);
    let Ok(()) = Reader::new(&src, ReadOptions::default()).run(&mut probe);
    let mut g = c.benchmark_group("wal");
    g.throughput(Throughput::Bytes(probe.1));
    g.bench_function("read_records_crc", |b| {
        b.iter(|| {
            let mut n = Count(0, 0);
            let Ok(()) = Reader::new(&src, ReadOptions::default()).run(&mut n);
            n.0
        });
    });
    g.bench_function("read_and_describe", |b| {
        struct Desc(usize);
        impl Sink for Desc {
            type Error = std::convert::Infallible;
            fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
                self.0 += walparse::desc::describe(walparse::PgMajor::V15, r).len();
                Ok(true)
            }
        }
        b.iter(|| {
            let mut d = Desc(0);
            let Ok(()) = Reader::new(&src, ReadOptions::default()).run(&mut d);
            d.0
        });
    });
    g.bench_function("summarize_segment", |b| {
        b.iter(|| walparse::summarize_segment(bytes).unwrap().n_records);
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
