//! `rowcodec::pg::output` on arbitrary bytes for every built-in type and its
//! array type: never panics, and successful output has the shape the type's
//! output function guarantees (fixed-length types only accept their length;
//! bytea is `\x` + two hex digits per byte; the encoders never lose bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rowcodec::pg::{BuiltinCatalog, TypeCatalog, copy_text_escape, csv_quote, output};

fuzz_target!(|data: &[u8]| {
    let cat = BuiltinCatalog::new();
    let mut types: Vec<_> = cat.types_unsorted().collect();
    types.sort_by_key(|t| t.oid);
    // The first byte picks a type (so the fuzzer can focus), the rest is the datum;
    // every type also sees the whole input.
    let (pick, datum) = data.split_first().unwrap_or((&0, &[]));
    let chosen = types[usize::from(*pick) % types.len()];
    for (t, d) in std::iter::once((chosen, datum)).chain(types.iter().map(|t| (*t, data))) {
        let Ok(s) = output(&cat, t.oid, -1, d) else {
            continue;
        };
        if t.typlen > 0 && t.typoutput != "nameout" {
            assert_eq!(
                d.len(),
                t.typlen as usize,
                "{} accepted a wrong length",
                t.name
            );
        }
        if t.typoutput == "byteaout" {
            assert_eq!(s.len(), 2 + 2 * d.len());
        }
        let mut copy = String::new();
        copy_text_escape(&s, &mut copy);
        assert!(copy.len() >= s.len() && !copy.contains('\n'));
        let mut csv = String::new();
        csv_quote(&s, &mut csv);
        assert!(csv.len() >= s.len());
    }
    let _ = cat.type_info(0);
});
