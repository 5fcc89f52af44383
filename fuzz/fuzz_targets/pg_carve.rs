//! Heap carver: arbitrary bytes as a page. Properties: never panics; every
//! carved tuple lies inside the page and outside every LP_NORMAL item;
//! its intact columns deform with the descriptor it was carved with; a
//! complete tuple deforms whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdata::BlockNo;
use pgdata::carve::{CarveStatus, carve_page};
use pgdata::page::{LpFlags, Page};
use pgdata::tuple::{AttrLayout, HeapTuple};

const LAYOUTS: [AttrLayout; 6] = [
    AttrLayout::new(4, b'i'),
    AttrLayout::new(-1, b'i'),
    AttrLayout::new(8, b'd'),
    AttrLayout::new(-2, b'c'),
    AttrLayout::new(2, b's'),
    AttrLayout::new(-1, b'd'),
];

fuzz_target!(|data: &[u8]| {
    let Ok(page) = Page::parse(data, BlockNo(3)) else { return };
    let normal: Vec<(usize, usize)> = page
        .item_ids()
        .filter(|id| id.flags == LpFlags::Normal)
        .map(|id| (usize::from(id.off), usize::from(id.off) + usize::from(id.len)))
        .collect();
    for t in carve_page(&page, &LAYOUTS) {
        let start = usize::from(t.offset);
        let end = start + t.bytes.len();
        assert!(end <= data.len());
        assert_eq!(&data[start..end], t.bytes);
        assert!(normal.iter().all(|&(s, e)| end <= s || start >= e || s == e));
        assert!(t.n_intact >= 1 && t.n_intact <= t.natts);
        let intact = t.intact_tuple();
        let h = HeapTuple::parse(&intact, BlockNo(3), 0).expect("carved header parses");
        let cols = h.deform(&LAYOUTS).expect("intact columns deform");
        assert_eq!(cols.len(), usize::from(t.n_intact));
        if t.status != CarveStatus::CarvedPartial {
            assert_eq!(t.n_intact, t.natts);
            let whole = HeapTuple::parse(t.bytes, BlockNo(3), 0).expect("whole header");
            assert!(whole.deform(&LAYOUTS).is_ok());
        }
    }
});
