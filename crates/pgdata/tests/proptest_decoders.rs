//! Random bytes into the page, tuple, varlena, relmap and pg_control decoders
//! never panic, and what they accept stays inside its input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use pgdata::BlockNo;
use pgdata::page::Page;
use pgdata::tuple::{AttrLayout, HeapTuple};
use proptest::prelude::*;

const LAYOUTS: [AttrLayout; 6] = [
    AttrLayout::new(4, b'i'),
    AttrLayout::new(-1, b'i'),
    AttrLayout::new(8, b'd'),
    AttrLayout::new(-2, b'c'),
    AttrLayout::new(2, b's'),
    AttrLayout::new(-1, b'd'),
];

/// A page whose header is plausible, so the fuzzer gets past the header checks.
fn plausible_page(mut body: Vec<u8>, lower: u16, upper: u16) -> Vec<u8> {
    body.resize(8192, 0);
    let lower = 24 + (lower % 400) * 4;
    let upper = lower.max(upper % 8192);
    body[12..14].copy_from_slice(&lower.to_le_bytes());
    body[14..16].copy_from_slice(&upper.max(1).to_le_bytes());
    body[16..18].copy_from_slice(&8192u16.to_le_bytes());
    body[18..20].copy_from_slice(&(8192u16 | 4).to_le_bytes());
    body
}

fn walk_page(bytes: &[u8]) {
    let Ok(p) = Page::parse(bytes, BlockNo(1)) else {
        return;
    };
    let _ = p.verify_checksum();
    for id in p.item_ids() {
        if let Ok(t) = p.item_bytes(id) {
            assert!(t.len() <= bytes.len());
            if let Ok(h) = HeapTuple::parse(t, BlockNo(1), id.lp)
                && let Ok(vals) = h.deform(&LAYOUTS)
            {
                for v in vals.into_iter().flatten() {
                    let _ = pgdata::varlena::classify(v);
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn random_pages_never_panic(body in proptest::collection::vec(any::<u8>(), 0..9000)) {
        walk_page(&body);
    }

    #[test]
    fn plausible_pages_never_panic(body in proptest::collection::vec(any::<u8>(), 0..8192),
                                   lower in any::<u16>(), upper in any::<u16>()) {
        walk_page(&plausible_page(body, lower, upper));
    }

    #[test]
    fn random_tuples_never_panic(t in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(h) = HeapTuple::parse(&t, BlockNo(0), 1)
            && let Ok(vals) = h.deform(&LAYOUTS)
        {
            for v in vals.into_iter().flatten() {
                prop_assert!(v.len() <= t.len());
            }
        }
    }

    #[test]
    fn random_varlena_and_compression_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400),
                                                  raw in 0usize..5000) {
        let _ = pgdata::varlena::classify(&b);
        if let Ok(out) = pgdata::varlena::pglz_decompress(&b, raw) {
            prop_assert_eq!(out.len(), raw);
        }
        let _ = pgdata::varlena::lz4_decompress(&b, raw);
    }

    #[test]
    fn random_control_and_relmap_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = pgdata::ControlFile::parse(&b);
        let _ = pgdata::relmap::RelMap::parse(&b, 15);
        let _ = pgdata::relmap::RelMap::parse(&b, 16);
    }
}

/// Every page of the real corpus relation files parses, and truncations of
/// one of them never panic.
#[test]
fn corpus_pages_parse_and_truncations_do_not_panic() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/pg15/datadir/base/5");
    let people = std::fs::read(root.join("16391")).unwrap();
    for (i, page) in people.chunks(8192).enumerate() {
        let p = Page::parse(page, BlockNo(u32::try_from(i).unwrap())).unwrap();
        p.verify_checksum().unwrap();
    }
    let first = &people[..8192];
    for cut in (0..8192).step_by(97) {
        walk_page(&first[..cut]);
    }
}
