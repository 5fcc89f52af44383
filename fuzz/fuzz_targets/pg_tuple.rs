//! Heap tuple + varlena decoders: arbitrary bytes as a tuple, its attributes
//! classified as varlenas and decompressed. Properties: never panics;
//! attributes never exceed the tuple; a successful pglz/lz4 decompression
//! yields exactly the announced raw size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdata::BlockNo;
use pgdata::tuple::{AttrLayout, HeapTuple};
use pgdata::varlena::{self, Varlena};

const LAYOUTS: [AttrLayout; 4] = [
    AttrLayout::new(-1, b'i'),
    AttrLayout::new(2, b's'),
    AttrLayout::new(-1, b'd'),
    AttrLayout::new(16, b'c'),
];

fuzz_target!(|data: &[u8]| {
    let Ok(h) = HeapTuple::parse(data, BlockNo(0), 1) else { return };
    let Ok(vals) = h.deform(&LAYOUTS) else { return };
    for v in vals.into_iter().flatten() {
        assert!(v.len() <= data.len());
        if let Ok(Varlena::Compressed { method, rawsize, data: c }) = varlena::classify(v) {
            if rawsize <= 1 << 20 {
                if let Ok(out) = varlena::decompress(method, c, rawsize) {
                    assert_eq!(out.len(), rawsize);
                }
            }
        }
    }
});
