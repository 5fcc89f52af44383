//! Heap page decoder: arbitrary bytes as a page. Properties: never panics;
//! every tuple handed out lies inside the page between pd_upper and
//! pd_special; a page that verifies its checksum still verifies when
//! re-checked (the check is pure).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdata::BlockNo;
use pgdata::page::Page;
use pgdata::tuple::{AttrLayout, HeapTuple};

const LAYOUTS: [AttrLayout; 5] = [
    AttrLayout::new(4, b'i'),
    AttrLayout::new(-1, b'i'),
    AttrLayout::new(8, b'd'),
    AttrLayout::new(-2, b'c'),
    AttrLayout::new(-1, b'd'),
];

fuzz_target!(|data: &[u8]| {
    let Ok(page) = Page::parse(data, BlockNo(7)) else { return };
    let ok = page.verify_checksum().is_ok();
    assert_eq!(ok, page.verify_checksum().is_ok());
    for id in page.item_ids() {
        let Ok(t) = page.item_bytes(id) else { continue };
        let start = usize::from(id.off);
        assert!(start >= usize::from(page.pd_upper()));
        assert!(start + t.len() <= usize::from(page.pd_special()));
        let Ok(h) = HeapTuple::parse(t, BlockNo(7), id.lp) else { continue };
        if let Ok(vals) = h.deform(&LAYOUTS) {
            let total: usize = vals.iter().flatten().map(|v| v.len()).sum();
            assert!(total <= t.len());
        }
    }
});
