//! `rowcodec::pg::output` on arbitrary bytes for every built-in type and its
//! array type: never panics, and successful output has the shape the type's
//! output function guarantees (fixed-length types only accept their length;
//! bytea is `\x` + two hex digits per byte; the encoders never lose bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rowcodec::pg::{
    CompositeAttr, TypeCatalog, TypeInfo, TypeMap, copy_text_escape, csv_quote, output,
};

fuzz_target!(|data: &[u8]| {
    let mut cat = TypeMap::builtin();
    // A composite with a dropped attribute, its array type, and an enum.
    let attr = |type_oid, attlen, attalign, dropped| CompositeAttr {
        type_oid,
        typmod: -1,
        attlen,
        attalign,
        dropped,
    };
    cat.add_composite(
        60_000,
        vec![
            attr(23, 4, b'i', false),
            attr(0, -1, b'i', true),
            attr(25, -1, b'i', false),
            attr(20, 8, b'd', false),
        ],
    );
    let base = TypeInfo {
        oid: 60_000,
        name: "comp".into(),
        typlen: -1,
        typbyval: false,
        typalign: b'd',
        typtype: b'c',
        typelem: 0,
        typbasetype: 0,
        typoutput: "record_out".into(),
    };
    cat.add_type(TypeInfo {
        oid: 60_001,
        name: "_comp".into(),
        typtype: b'b',
        typelem: 60_000,
        typoutput: "array_out".into(),
        ..base.clone()
    });
    cat.add_type(base);
    cat.add_type(TypeInfo {
        oid: 60_002,
        name: "mood".into(),
        typlen: 4,
        typbyval: true,
        typalign: b'i',
        typtype: b'e',
        typelem: 0,
        typbasetype: 0,
        typoutput: "enum_out".into(),
    });
    cat.add_enum_label(1, "one");
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
