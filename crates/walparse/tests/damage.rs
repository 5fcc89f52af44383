//! Damage handling on a real PG15 segment (corpora/pg15, written by the
//! server): the bytes are copied into memory and damaged there; the reader
//! must report the damage at the right LSN, resume at the next valid record,
//! and return every other record unchanged. Also: arbitrary bytes never panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::path::PathBuf;

use proptest::prelude::*;
use walparse::{Diag, Lsn, ReadOptions, Reader, Record, Segment, Sink, WalSource};

#[derive(Default)]
struct Col {
    recs: Vec<(Lsn, u32, u8)>,
    diags: Vec<Diag>,
}

impl Sink for Col {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        self.recs.push((r.lsn, r.total_len(), r.rmid()));
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        self.diags.push(d.clone());
        Ok(true)
    }
}

fn corpus_segment() -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpora/pg15/datadir/pg_wal/000000010000000000000008");
    evidence::Evidence::open(p).unwrap().bytes().to_vec()
}

fn read(bytes: &[u8]) -> Col {
    let ctx = walparse::WalCtx::from_long_header(bytes, walparse::FileOffset(0)).unwrap();
    let segno = walparse::SegNo(8);
    let src = WalSource::new(ctx, vec![Segment { segno, bytes }]);
    let mut c = Col::default();
    let Ok(()) = Reader::new(&src, ReadOptions::default()).run(&mut c);
    c
}

#[test]
fn flipped_byte_is_reported_and_reading_resumes() {
    let clean = corpus_segment();
    let good = read(&clean);
    assert!(good.recs.len() > 1000);
    assert!(!good.diags.iter().any(|d| matches!(d, Diag::Damage { .. })));
    // Damage the body of record 500 (within one page).
    let (lsn, len, _) = good.recs[500];
    let (next, _, _) = good.recs[501];
    let off = (lsn.0 - 8 * (1 << 20)) as usize + 30;
    assert!(len > 30);
    let mut bad = clean.clone();
    bad[off] ^= 0xFF;
    let got = read(&bad);
    let damage: Vec<_> = got
        .diags
        .iter()
        .filter_map(|d| match d {
            Diag::Damage {
                lsn,
                error,
                resumed_at,
            } => Some((*lsn, error.clone(), *resumed_at)),
            _ => None,
        })
        .collect();
    assert_eq!(damage.len(), 1, "{:?}", got.diags);
    assert_eq!(damage[0].0, lsn);
    assert!(matches!(damage[0].1, walparse::Error::BadCrc { .. }));
    assert_eq!(damage[0].2, next);
    let expected: Vec<_> = good.recs.iter().filter(|r| r.0 != lsn).cloned().collect();
    assert_eq!(got.recs, expected);
}

#[test]
fn zeroed_page_is_skipped_to_the_next_boundary() {
    let clean = corpus_segment();
    let good = read(&clean);
    let page = 20usize;
    let mut bad = clean.clone();
    bad[page * 8192..(page + 1) * 8192].fill(0);
    let got = read(&bad);
    let page_start = Lsn(8 * (1 << 20) + (page as u64) * 8192);
    let page_end = Lsn(page_start.0 + 8192);
    // Every record that does not touch the zeroed page is still returned.
    for r in &good.recs {
        let touches = r.0 < page_end && Lsn(r.0.0 + u64::from(r.1) + 200) > page_start;
        if !touches {
            assert!(got.recs.contains(r), "lost {:?}", r.0);
        }
    }
    let d = got
        .diags
        .iter()
        .find(|d| matches!(d, Diag::Damage { .. }))
        .expect("damage reported");
    let Diag::Damage {
        lsn, resumed_at, ..
    } = d
    else {
        unreachable!()
    };
    assert!(*lsn < page_end && *resumed_at > page_start, "{d:?}");
}

#[test]
fn truncated_segment_stops_cleanly() {
    let clean = corpus_segment();
    let got = read(&clean[..100_000]);
    assert!(got.recs.len() > 10);
    assert!(
        got.recs
            .iter()
            .all(|r| r.0.0 + u64::from(r.1) <= 8 * (1 << 20) + 100_000)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..40_000), magic in 0usize..6) {
        // Give half the inputs a plausible long header so the reader gets past it.
        if bytes.len() >= 40 && magic < 3 {
            let m = [0xD106u16, 0xD110, 0xD118][magic];
            bytes[0..2].copy_from_slice(&m.to_le_bytes());
            bytes[2..4].copy_from_slice(&2u16.to_le_bytes());
            bytes[8..16].copy_from_slice(&0u64.to_le_bytes());
            bytes[32..36].copy_from_slice(&(1u32 << 20).to_le_bytes());
            bytes[36..40].copy_from_slice(&1024u32.to_le_bytes());
        }
        let _ = walparse::summarize_segment(&bytes);
    }

    #[test]
    fn damaged_real_segment_never_panics(flips in proptest::collection::vec((0usize..(1 << 20), any::<u8>()), 1..50)) {
        let mut bytes = corpus_segment();
        for (at, v) in flips {
            bytes[at] = v;
        }
        let c = read(&bytes);
        // Every record returned passed its CRC; the list is in LSN order.
        prop_assert!(c.recs.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
