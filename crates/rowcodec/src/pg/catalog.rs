//! Type descriptions (`pg_type` rows) and the built-in catalog.
//!
//! The decoder never trusts a type OID alone: it asks a [`TypeCatalog`] for
//! the type's [`TypeInfo`] and dispatches on the *output function name*
//! (`typoutput`), so user-defined domains, enums and arrays of anything work
//! for any catalog read from a data directory.

use std::collections::HashMap;

use super::names::ObjectNames;

/// One `pg_type` row, reduced to what decoding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// `pg_type.oid`.
    pub oid: u32,
    /// `typname` (e.g. `int4`, `_int4` for its array type).
    pub name: String,
    /// `typlen`: bytes for fixed-length types, -1 varlena, -2 C string.
    pub typlen: i16,
    /// `typbyval`.
    pub typbyval: bool,
    /// `typalign`: `b'c'`, `b's'`, `b'i'` or `b'd'`.
    pub typalign: u8,
    /// `typtype`: `b'b'` base, `b'd'` domain, `b'e'` enum, `b'c'` composite,
    /// `b'r'` range, `b'm'` multirange, `b'p'` pseudo.
    pub typtype: u8,
    /// `typelem`: element type of an array type (0 otherwise).
    pub typelem: u32,
    /// `typbasetype`: base type of a domain (0 otherwise).
    pub typbasetype: u32,
    /// `typoutput`: output function name, e.g. `int4out`, `array_out`.
    pub typoutput: String,
}

/// One attribute of a composite type (`pg_attribute` of its `typrelid`),
/// in `attnum` order; dropped attributes keep their slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompositeAttr {
    /// `atttypid` (0 for a dropped attribute).
    pub type_oid: u32,
    /// `atttypmod`.
    pub typmod: i32,
    /// `attlen`.
    pub attlen: i16,
    /// `attalign`: `b'c'`, `b's'`, `b'i'` or `b'd'`.
    pub attalign: u8,
    /// `attisdropped`.
    pub dropped: bool,
}

/// Where the decoder looks up types and enum labels.
pub trait TypeCatalog {
    /// The `pg_type` row of `oid`, if known.
    fn type_info(&self, oid: u32) -> Option<&TypeInfo>;
    /// The label of the `pg_enum` row whose OID is `enum_oid` (an enum datum
    /// stores that OID).
    fn enum_label(&self, enum_oid: u32) -> Option<&str>;
    /// The subtype (`pg_range.rngsubtype`) of a range type. The default
    /// knows no ranges; the built-in ones are known to the decoder anyway.
    fn range_subtype(&self, range_oid: u32) -> Option<u32> {
        let _ = range_oid;
        None
    }
    /// The range type (`pg_range.rngtypid`) of a multirange type
    /// (`rngmultitypid`). The default knows none but the built-in ones.
    fn multirange_range(&self, multirange_oid: u32) -> Option<u32> {
        let _ = multirange_oid;
        None
    }
    /// The attributes of a composite type (`typtype 'c'`). The default
    /// knows none, and composite values are then an error.
    fn composite_attrs(&self, type_oid: u32) -> Option<&[CompositeAttr]> {
        let _ = type_oid;
        None
    }
    /// The object names the `reg*` types and `aclitem` print. The default
    /// has none, and those values then print as OIDs.
    fn object_names(&self) -> Option<&ObjectNames> {
        None
    }
}

/// `(oid, name, typlen, typbyval, typalign, typoutput, array oid)` of the
/// built-in base types, from PostgreSQL's `pg_type.dat` (stable 13–18).
const BUILTINS: &[(u32, &str, i16, bool, u8, &str, u32)] = &[
    (16, "bool", 1, true, b'c', "boolout", 1000),
    (17, "bytea", -1, false, b'i', "byteaout", 1001),
    (18, "char", 1, true, b'c', "charout", 1002),
    (19, "name", 64, false, b'c', "nameout", 1003),
    (20, "int8", 8, true, b'd', "int8out", 1016),
    (21, "int2", 2, true, b's', "int2out", 1005),
    (23, "int4", 4, true, b'i', "int4out", 1007),
    (25, "text", -1, false, b'i', "textout", 1009),
    (26, "oid", 4, true, b'i', "oidout", 1028),
    (27, "tid", 6, false, b's', "tidout", 1010),
    (28, "xid", 4, true, b'i', "xidout", 1011),
    (29, "cid", 4, true, b'i', "cidout", 1012),
    (114, "json", -1, false, b'i', "json_out", 199),
    (650, "cidr", -1, false, b'i', "cidr_out", 651),
    (700, "float4", 4, true, b'i', "float4out", 1021),
    (701, "float8", 8, true, b'd', "float8out", 1022),
    (774, "macaddr8", 8, false, b'i', "macaddr8_out", 775),
    (790, "money", 8, true, b'd', "cash_out", 791),
    (829, "macaddr", 6, false, b'i', "macaddr_out", 1040),
    (869, "inet", -1, false, b'i', "inet_out", 1041),
    (1042, "bpchar", -1, false, b'i', "bpcharout", 1014),
    (1043, "varchar", -1, false, b'i', "varcharout", 1015),
    (1082, "date", 4, true, b'i', "date_out", 1182),
    (1083, "time", 8, true, b'd', "time_out", 1183),
    (1114, "timestamp", 8, true, b'd', "timestamp_out", 1115),
    (1184, "timestamptz", 8, true, b'd', "timestamptz_out", 1185),
    (1186, "interval", 16, false, b'd', "interval_out", 1187),
    (1266, "timetz", 12, false, b'd', "timetz_out", 1270),
    (1560, "bit", -1, false, b'i', "bit_out", 1561),
    (1562, "varbit", -1, false, b'i', "varbit_out", 1563),
    (1700, "numeric", -1, false, b'i', "numeric_out", 1231),
    (2950, "uuid", 16, false, b'c', "uuid_out", 2951),
    (3220, "pg_lsn", 8, true, b'd', "pg_lsn_out", 3221),
    (3802, "jsonb", -1, false, b'i', "jsonb_out", 3807),
    (5069, "xid8", 8, true, b'd', "xid8out", 271),
    (142, "xml", -1, false, b'i', "xml_out", 143),
    (600, "point", 16, false, b'd', "point_out", 1017),
    (601, "lseg", 32, false, b'd', "lseg_out", 1018),
    (602, "path", -1, false, b'd', "path_out", 1019),
    (603, "box", 32, false, b'd', "box_out", 1020),
    (604, "polygon", -1, false, b'd', "poly_out", 1027),
    (628, "line", 24, false, b'd', "line_out", 629),
    (718, "circle", 24, false, b'd', "circle_out", 719),
    (22, "int2vector", -1, false, b'i', "int2vectorout", 1006),
    (30, "oidvector", -1, false, b'i', "oidvectorout", 1013),
    (24, "regproc", 4, true, b'i', "regprocout", 1008),
    (2202, "regprocedure", 4, true, b'i', "regprocedureout", 2207),
    (2203, "regoper", 4, true, b'i', "regoperout", 2208),
    (2204, "regoperator", 4, true, b'i', "regoperatorout", 2209),
    (2205, "regclass", 4, true, b'i', "regclassout", 2210),
    (2206, "regtype", 4, true, b'i', "regtypeout", 2211),
    (4096, "regrole", 4, true, b'i', "regroleout", 4097),
    (4089, "regnamespace", 4, true, b'i', "regnamespaceout", 4090),
    (3734, "regconfig", 4, true, b'i', "regconfigout", 3735),
    (
        3769,
        "regdictionary",
        4,
        true,
        b'i',
        "regdictionaryout",
        3770,
    ),
    (4191, "regcollation", 4, true, b'i', "regcollationout", 4192),
    (3614, "tsvector", -1, false, b'i', "tsvectorout", 3643),
    (3615, "tsquery", -1, false, b'i', "tsqueryout", 3645),
    (4072, "jsonpath", -1, false, b'i', "jsonpath_out", 4073),
    (
        2970,
        "txid_snapshot",
        -1,
        false,
        b'd',
        "txid_snapshot_out",
        2949,
    ),
    (
        5038,
        "pg_snapshot",
        -1,
        false,
        b'd',
        "pg_snapshot_out",
        5039,
    ),
];

/// Base types that are subscriptable without being arrays: `(oid, typelem)`.
const FIXED_ELEM: &[(u32, u32)] = &[
    (19, 18),   // name: "char"
    (22, 21),   // int2vector: int2
    (30, 26),   // oidvector: oid
    (600, 701), // point: float8
    (601, 600), // lseg: point
    (603, 600), // box: point
    (628, 701), // line: float8
];

/// `(oid, name, typalign, array oid)` of the built-in range types
/// (subtypes in `range.rs`).
const BUILTIN_RANGES: &[(u32, &str, u8, u32)] = &[
    (3904, "int4range", b'i', 3905),
    (3906, "numrange", b'i', 3907),
    (3908, "tsrange", b'd', 3909),
    (3910, "tstzrange", b'd', 3911),
    (3912, "daterange", b'i', 3913),
    (3926, "int8range", b'd', 3927),
];

/// `(oid, name, typalign, array oid)` of the built-in multirange types.
const BUILTIN_MULTIRANGES: &[(u32, &str, u8, u32)] = &[
    (4451, "int4multirange", b'i', 6150),
    (4532, "nummultirange", b'i', 6151),
    (4533, "tsmultirange", b'd', 6152),
    (4534, "tstzmultirange", b'd', 6153),
    (4535, "datemultirange", b'i', 6155),
    (4536, "int8multirange", b'd', 6157),
];

/// A hasher for OID keys: one multiply instead of SipHash (the type map is
/// consulted for every value printed; OIDs are not attacker-chosen keys
/// that could degrade a hash table in a way that matters here).
#[derive(Debug, Default, Clone, Copy)]
pub struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by OID, hashed with [`OidHasher`].
pub type OidMap<V> = HashMap<u32, V, std::hash::BuildHasherDefault<OidHasher>>;

/// The one [`TypeCatalog`]: `pg_type` rows, enum labels, ranges,
/// multiranges and composite attributes. [`TypeMap::builtin`] holds every
/// built-in type this module can print and their one-dimensional array
/// types (for tests, and as a fallback when a data directory's `pg_type`
/// cannot be read); [`TypeMap::empty`] is filled from a catalog.
///
/// ```
/// use rowcodec::pg::{output, TypeMap, TypeCatalog};
/// let cat = TypeMap::builtin();
/// assert_eq!(cat.type_info(23).map(|t| t.name.as_str()), Some("int4"));
/// assert_eq!(output(&cat, 23, -1, &42i32.to_le_bytes()).unwrap(), "42");
/// ```
#[derive(Debug, Clone, Default)]
pub struct TypeMap {
    types: OidMap<TypeInfo>,
    enum_labels: OidMap<String>,
    range_subtypes: OidMap<u32>,
    multirange_ranges: OidMap<u32>,
    composites: OidMap<Vec<CompositeAttr>>,
    names: ObjectNames,
}

impl TypeMap {
    /// No types at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in types.
    pub fn builtin() -> Self {
        let mut types = OidMap::default();
        for &(oid, name, typlen, byval, align, out, array_oid) in BUILTINS {
            types.insert(
                oid,
                TypeInfo {
                    oid,
                    name: name.to_owned(),
                    typlen,
                    typbyval: byval,
                    typalign: align,
                    typtype: b'b',
                    typelem: FIXED_ELEM
                        .iter()
                        .find(|(o, _)| *o == oid)
                        .map_or(0, |(_, e)| *e),
                    typbasetype: 0,
                    typoutput: out.to_owned(),
                },
            );
            types.insert(
                array_oid,
                TypeInfo {
                    oid: array_oid,
                    name: format!("_{name}"),
                    typlen: -1,
                    typbyval: false,
                    typalign: if align == b'd' { b'd' } else { b'i' },
                    typtype: b'b',
                    typelem: oid,
                    typbasetype: 0,
                    typoutput: "array_out".to_owned(),
                },
            );
        }
        let ranges = BUILTIN_RANGES.iter().map(|r| (r, b'r', "range_out")).chain(
            BUILTIN_MULTIRANGES
                .iter()
                .map(|r| (r, b'm', "multirange_out")),
        );
        for (&(oid, name, align, array_oid), typtype, out_fn) in ranges {
            let info = TypeInfo {
                oid,
                name: name.to_owned(),
                typlen: -1,
                typbyval: false,
                typalign: align,
                typtype,
                typelem: 0,
                typbasetype: 0,
                typoutput: out_fn.to_owned(),
            };
            types.insert(
                array_oid,
                TypeInfo {
                    oid: array_oid,
                    name: format!("_{name}"),
                    typtype: b'b',
                    typelem: oid,
                    typoutput: "array_out".to_owned(),
                    ..info.clone()
                },
            );
            types.insert(oid, info);
        }
        Self {
            types,
            ..Self::default()
        }
    }

    /// Adds (or replaces) a type, e.g. a domain or enum read from a catalog.
    pub fn add_type(&mut self, info: TypeInfo) {
        self.types.insert(info.oid, info);
    }

    /// Adds an enum label: `enum_oid` is the `pg_enum` row's OID.
    pub fn add_enum_label(&mut self, enum_oid: u32, label: impl Into<String>) {
        self.enum_labels.insert(enum_oid, label.into());
    }

    /// Adds a range type's subtype (`pg_range.rngsubtype`).
    pub fn add_range(&mut self, range_oid: u32, subtype: u32) {
        self.range_subtypes.insert(range_oid, subtype);
    }

    /// Adds a multirange type's range type (`pg_range.rngmultitypid` →
    /// `rngtypid`).
    pub fn add_multirange(&mut self, multirange_oid: u32, range_oid: u32) {
        self.multirange_ranges.insert(multirange_oid, range_oid);
    }

    /// Sets the attributes of a composite type.
    pub fn add_composite(&mut self, type_oid: u32, attrs: Vec<CompositeAttr>) {
        self.composites.insert(type_oid, attrs);
    }

    /// Sets the object names the `reg*` types and `aclitem` print.
    pub fn set_object_names(&mut self, names: ObjectNames) {
        self.names = names;
    }

    /// The output function name (`typoutput`) of type `oid`.
    pub fn type_info_name(&self, oid: u32) -> Option<&str> {
        self.types.get(&oid).map(|t| t.typoutput.as_str())
    }

    /// All known types, unsorted.
    pub fn types_unsorted(&self) -> impl Iterator<Item = &TypeInfo> {
        self.types.values()
    }
}

impl TypeCatalog for TypeMap {
    fn type_info(&self, oid: u32) -> Option<&TypeInfo> {
        self.types.get(&oid)
    }

    fn enum_label(&self, enum_oid: u32) -> Option<&str> {
        self.enum_labels.get(&enum_oid).map(String::as_str)
    }

    fn range_subtype(&self, range_oid: u32) -> Option<u32> {
        self.range_subtypes.get(&range_oid).copied()
    }

    fn multirange_range(&self, multirange_oid: u32) -> Option<u32> {
        self.multirange_ranges.get(&multirange_oid).copied()
    }

    fn composite_attrs(&self, type_oid: u32) -> Option<&[CompositeAttr]> {
        self.composites.get(&type_oid).map(Vec::as_slice)
    }

    fn object_names(&self) -> Option<&ObjectNames> {
        Some(&self.names)
    }
}
