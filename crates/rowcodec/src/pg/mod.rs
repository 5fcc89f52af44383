//! PostgreSQL datums → the text the server's output functions print.
//!
//! The session settings assumed are those of a default `pg_dump`-like
//! session: `DateStyle=ISO`, `TimeZone=UTC`, `extra_float_digits=1`,
//! `bytea_output=hex`, `IntervalStyle=postgres`, `lc_monetary=C`.
//!
//! API structure:
//! - [`output`]: one datum's bytes → text. Dispatches on the type's output
//!   function name (`pg_type.typoutput`), so domains, enums and arrays of
//!   any catalog work.
//! - [`TypeCatalog`] / [`TypeInfo`]: where type facts come from;
//!   [`TypeMap`] holds the built-in types.
//! - [`copy_text_escape`], [`csv_quote`], [`sql_literal`]: encoders for
//!   `COPY` text, `COPY` CSV and SQL `INSERT` output.
//!
//! What [`output`] is handed (the caller has already parsed the tuple):
//!
//! ```text
//! fixed-length type (typlen > 0)   the typlen bytes as stored, little-endian
//! varlena (typlen -1)              payload after the 1- or 4-byte varlena
//!                                  header, already detoasted and decompressed
//! cstring (typlen -2)              the bytes without the terminating NUL
//! ```
//!
//! Output functions implemented (anything else is
//! [`Error::UnsupportedType`], so the caller can dump the bytes in hex):
//! `boolout int2out int4out int8out oidout xidout xid8out cidout tidout
//! float4out float8out numeric_out cash_out textout varcharout bpcharout
//! json_out xml_out nameout charout cstring_out byteaout uuid_out
//! macaddr_out macaddr8_out inet_out cidr_out date_out time_out timetz_out
//! timestamp_out timestamptz_out interval_out jsonb_out bit_out varbit_out
//! pg_lsn_out enum_out array_out range_out multirange_out record_out point_out lseg_out box_out
//! line_out circle_out path_out poly_out int2vectorout oidvectorout
//! hstore_out citextout regclassout regtypeout regprocout regprocedureout
//! regoperout regoperatorout regroleout regnamespaceout regconfigout
//! regdictionaryout regcollationout aclitemout tsvectorout tsqueryout
//! jsonpath_out pg_snapshot_out txid_snapshot_out`; the `reg*` types and
//! `aclitem` take names from [`TypeCatalog::object_names`];
//! domains resolve to their base type. `typmod` never changes the text of
//! these types (values are stored already rounded/padded).
//!
//! Varlena elements inside arrays carry 4-byte headers in practice
//! (`construct_md_array` detoasts every element, which expands short
//! headers), but a 1-byte header is read too. Range bounds follow tuple rules
//! (`range_serialize` packs short varlenas, unaligned).
//!
//! **Invariant:** no input bytes make this module panic; anything it cannot
//! print exactly is an [`Error`], never a guess.

mod array;
mod bytes;
mod catalog;
mod datetime;
mod encode;
mod error;
mod float;
mod geo;
mod hstore;
mod inet;
mod jsonb;
mod jsonpath;
mod names;
mod numeric;
mod range;
mod record;
mod scalar;
mod tsearch;

pub use catalog::{CompositeAttr, OidHasher, OidMap, TypeCatalog, TypeInfo, TypeMap};
pub use encode::{copy_text_escape, csv_quote, csv_quote_single_column, sql_literal};
pub use error::Error;
pub use names::{ObjectNames, OperName, ProcName, RegKind, quote_identifier};

/// How deep domains-of-domains, arrays and jsonb containers may nest.
pub(crate) const MAX_DEPTH: usize = 64;

/// The longest text one datum may print: the server's `MaxAllocSize`
/// (1 GB - 1), which its output functions cannot exceed either. Hostile
/// arrays of large-weight numerics would otherwise expand ~30000-fold.
pub(crate) const MAX_TEXT_BYTES: usize = 0x3fff_ffff;

/// Fails once `out` is longer than [`MAX_TEXT_BYTES`].
pub(crate) fn check_text_len(out: &str, func: &'static str) -> Result<(), Error> {
    if out.len() > MAX_TEXT_BYTES {
        return Err(Error::OutOfRange {
            func,
            what: "text longer than 1 GB",
            found: i64::try_from(out.len()).unwrap_or(i64::MAX),
        });
    }
    Ok(())
}

/// Prints one datum of type `type_oid` exactly as the server's output
/// function would (see the module docs for the settings and what `datum`
/// holds). `typmod` is `pg_attribute.atttypmod` (-1 when none).
///
/// ```
/// use rowcodec::pg::{output, TypeMap};
/// let cat = TypeMap::builtin();
/// assert_eq!(output(&cat, 16, -1, &[1]).unwrap(), "t");
/// assert_eq!(output(&cat, 701, -1, &0.1f64.to_le_bytes()).unwrap(), "0.1");
/// ```
pub fn output(
    cat: &dyn TypeCatalog,
    type_oid: u32,
    typmod: i32,
    datum: &[u8],
) -> Result<String, Error> {
    let mut out = String::new();
    write_datum(cat, type_oid, typmod, datum, &mut out, 0)?;
    Ok(out)
}

/// Like [`output`], but appends to `out` (no allocation per value when
/// `out` is reused). On error `out` is left as it was.
///
/// ```
/// use rowcodec::pg::{output_into, TypeMap};
/// let cat = TypeMap::builtin();
/// let mut line = String::from("id=");
/// output_into(&cat, 23, -1, &7i32.to_le_bytes(), &mut line).unwrap();
/// assert_eq!(line, "id=7");
/// ```
pub fn output_into(
    cat: &dyn TypeCatalog,
    type_oid: u32,
    typmod: i32,
    datum: &[u8],
    out: &mut String,
) -> Result<(), Error> {
    let len = out.len();
    let r = write_datum(cat, type_oid, typmod, datum, out, 0);
    if r.is_err() {
        out.truncate(len);
    }
    r
}

/// A column type resolved once (domains followed to their base type, the
/// output function looked up), for printing many values of that type
/// without a catalog lookup per value.
///
/// ```
/// use rowcodec::pg::{TypeMap, Printer};
/// let cat = TypeMap::builtin();
/// let p = Printer::new(&cat, 1700).unwrap(); // numeric
/// let mut out = String::new();
/// p.write(&cat, &[0x80, 0x80, 0x0f, 0x00], &mut out).unwrap(); // short header, dscale 1, digit 15
/// assert_eq!(out, "15.0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    /// The base type (after domains).
    base_oid: u32,
    f: OutFn,
}

impl Printer {
    /// Resolves `type_oid` in `cat`.
    pub fn new(cat: &dyn TypeCatalog, type_oid: u32) -> Result<Self, Error> {
        let (info, f) = resolve(cat, type_oid, 0)?;
        Ok(Self {
            base_oid: info.oid,
            f,
        })
    }

    /// Appends the text of one datum (as [`output_into`]; `cat` must be
    /// the catalog the printer was made from). On error `out` is left as
    /// it was.
    pub fn write(
        &self,
        cat: &dyn TypeCatalog,
        datum: &[u8],
        out: &mut String,
    ) -> Result<(), Error> {
        let len = out.len();
        let r = match self.f {
            OutFn::Array
            | OutFn::Enum
            | OutFn::Range
            | OutFn::Multirange
            | OutFn::Record
            | OutFn::Reg(_)
            | OutFn::Aclitem => write_datum(cat, self.base_oid, -1, datum, out, 0),
            f => write_scalar(f, -1, datum, out),
        };
        if r.is_err() {
            out.truncate(len);
        }
        r
    }
}

/// The output functions DataM implements, by `typoutput` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutFn {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Xid,
    Cid,
    Xid8,
    Tid,
    Float4,
    Float8,
    Numeric,
    Cash,
    Text,
    Name,
    Char,
    Cstring,
    Bytea,
    Uuid,
    Macaddr,
    Macaddr8,
    Inet,
    Cidr,
    Date,
    Time,
    Timetz,
    Timestamp,
    Timestamptz,
    Interval,
    Jsonb,
    Bit,
    PgLsn,
    Enum,
    Array,
    Range,
    Multirange,
    Record,
    Point,
    Lseg,
    Box,
    Line,
    Circle,
    Path,
    Polygon,
    Int2Vector,
    OidVector,
    Hstore,
    Reg(RegKind),
    Aclitem,
    Tsvector,
    Tsquery,
    Jsonpath,
    Snapshot,
}

impl OutFn {
    /// Maps a `typoutput` name to the implementation.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        use OutFn::*;
        Some(match name {
            "boolout" => Bool,
            "int2out" => Int2,
            "int4out" => Int4,
            "int8out" => Int8,
            "oidout" => Oid,
            "xidout" => Xid,
            "cidout" => Cid,
            "xid8out" => Xid8,
            "tidout" => Tid,
            "float4out" => Float4,
            "float8out" => Float8,
            "numeric_out" => Numeric,
            "cash_out" => Cash,
            "textout" | "varcharout" | "bpcharout" | "json_out" | "xml_out" | "unknownout"
            | "citextout" => Text,
            "nameout" => Name,
            "charout" => Char,
            "cstring_out" => Cstring,
            "byteaout" => Bytea,
            "uuid_out" => Uuid,
            "macaddr_out" => Macaddr,
            "macaddr8_out" => Macaddr8,
            "inet_out" => Inet,
            "cidr_out" => Cidr,
            "date_out" => Date,
            "time_out" => Time,
            "timetz_out" => Timetz,
            "timestamp_out" => Timestamp,
            "timestamptz_out" => Timestamptz,
            "interval_out" => Interval,
            "jsonb_out" => Jsonb,
            "bit_out" | "varbit_out" => Bit,
            "pg_lsn_out" => PgLsn,
            "enum_out" => Enum,
            "array_out" => Array,
            "range_out" => Range,
            "multirange_out" => Multirange,
            "record_out" => Record,
            "point_out" => Point,
            "lseg_out" => Lseg,
            "box_out" => Box,
            "line_out" => Line,
            "circle_out" => Circle,
            "path_out" => Path,
            "poly_out" => Polygon,
            "int2vectorout" => Int2Vector,
            "oidvectorout" => OidVector,
            "hstore_out" => Hstore,
            "regclassout" => Reg(RegKind::Class),
            "regtypeout" => Reg(RegKind::Type),
            "regprocout" => Reg(RegKind::Proc),
            "regprocedureout" => Reg(RegKind::Procedure),
            "regoperout" => Reg(RegKind::Oper),
            "regoperatorout" => Reg(RegKind::Operator),
            "regroleout" => Reg(RegKind::Role),
            "regnamespaceout" => Reg(RegKind::Namespace),
            "regconfigout" => Reg(RegKind::Config),
            "regdictionaryout" => Reg(RegKind::Dictionary),
            "regcollationout" => Reg(RegKind::Collation),
            "aclitemout" => Aclitem,
            "tsvectorout" => Tsvector,
            "tsqueryout" => Tsquery,
            "jsonpath_out" => Jsonpath,
            "pg_snapshot_out" | "txid_snapshot_out" => Snapshot,
            _ => return None,
        })
    }

    /// The C name of the output function, for error messages.
    pub(crate) fn func(self) -> &'static str {
        use OutFn::*;
        match self {
            Bool => "boolout",
            Int2 => "int2out",
            Int4 => "int4out",
            Int8 => "int8out",
            Oid => "oidout",
            Xid => "xidout",
            Cid => "cidout",
            Xid8 => "xid8out",
            Tid => "tidout",
            Float4 => "float4out",
            Float8 => "float8out",
            Numeric => "numeric_out",
            Cash => "cash_out",
            Text => "textout",
            Name => "nameout",
            Char => "charout",
            Cstring => "cstring_out",
            Bytea => "byteaout",
            Uuid => "uuid_out",
            Macaddr => "macaddr_out",
            Macaddr8 => "macaddr8_out",
            Inet => "inet_out",
            Cidr => "cidr_out",
            Date => "date_out",
            Time => "time_out",
            Timetz => "timetz_out",
            Timestamp => "timestamp_out",
            Timestamptz => "timestamptz_out",
            Interval => "interval_out",
            Jsonb => "jsonb_out",
            Bit => "bit_out",
            PgLsn => "pg_lsn_out",
            Enum => "enum_out",
            Array => "array_out",
            Range => "range_out",
            Multirange => "multirange_out",
            Record => "record_out",
            Point => "point_out",
            Lseg => "lseg_out",
            Box => "box_out",
            Line => "line_out",
            Circle => "circle_out",
            Path => "path_out",
            Polygon => "poly_out",
            Int2Vector => "int2vectorout",
            OidVector => "oidvectorout",
            Hstore => "hstore_out",
            Reg(k) => k.func(),
            Aclitem => "aclitemout",
            Tsvector => "tsvectorout",
            Tsquery => "tsqueryout",
            Jsonpath => "jsonpath_out",
            Snapshot => "pg_snapshot_out",
        }
    }
}

/// Resolves domains to their base type and finds the output function.
pub(crate) fn resolve(
    cat: &dyn TypeCatalog,
    type_oid: u32,
    depth: usize,
) -> Result<(&TypeInfo, OutFn), Error> {
    let mut oid = type_oid;
    for _ in depth..MAX_DEPTH {
        let info = cat.type_info(oid).ok_or(Error::UnknownType { oid })?;
        if let Some(f) = OutFn::from_name(&info.typoutput) {
            return Ok((info, f));
        }
        if info.typtype == b'd' && info.typbasetype != 0 {
            oid = info.typbasetype;
            continue;
        }
        return Err(Error::UnsupportedType {
            oid: info.oid,
            name: info.name.clone(),
            typoutput: info.typoutput.clone(),
        });
    }
    Err(Error::TooDeep { limit: MAX_DEPTH })
}

/// Appends the text of one datum to `out`.
pub(crate) fn write_datum(
    cat: &dyn TypeCatalog,
    type_oid: u32,
    typmod: i32,
    datum: &[u8],
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    let (info, f) = resolve(cat, type_oid, depth)?;
    match f {
        OutFn::Array => array::write(cat, info, datum, out, depth.saturating_add(1)),
        OutFn::Range => range::write(cat, info.oid, datum, out, depth.saturating_add(1)),
        OutFn::Record => record::write(cat, info.oid, datum, out, depth.saturating_add(1)),
        OutFn::Multirange => range::write_multi(cat, info.oid, datum, out, depth.saturating_add(1)),
        OutFn::Reg(kind) => names::write_reg(cat, kind, datum, out),
        OutFn::Aclitem => names::write_aclitem(cat, datum, out),
        OutFn::Enum => {
            let enum_oid = u32::from_le_bytes(bytes::fixed::<4>(datum, f.func())?);
            let label = cat
                .enum_label(enum_oid)
                .ok_or(Error::UnknownEnumLabel { enum_oid })?;
            out.push_str(label);
            Ok(())
        }
        _ => write_scalar(f, typmod, datum, out),
    }
}

/// Appends the text of a datum whose output function needs no catalog.
pub(crate) fn write_scalar(
    f: OutFn,
    _typmod: i32,
    datum: &[u8],
    out: &mut String,
) -> Result<(), Error> {
    use OutFn::*;
    let func = f.func();
    match f {
        Bool | Int2 | Int4 | Int8 | Oid | Xid | Cid | Xid8 | Tid | Char | PgLsn => {
            scalar::write_simple(f, datum, out)
        }
        Text | Cstring => {
            out.push_str(bytes::utf8(datum, func)?);
            Ok(())
        }
        Name => scalar::write_name(datum, out),
        Bytea => {
            scalar::write_bytea(datum, out);
            Ok(())
        }
        Uuid => scalar::write_uuid(datum, out),
        Macaddr => scalar::write_macaddr::<6>(datum, out, func),
        Macaddr8 => scalar::write_macaddr::<8>(datum, out, func),
        Bit => scalar::write_bit(datum, out),
        Cash => scalar::write_cash(datum, out),
        Float4 => float::write_float4(datum, out),
        Float8 => float::write_float8(datum, out),
        Numeric => numeric::write(datum, out, func),
        Inet => inet::write(datum, out, false),
        Cidr => inet::write(datum, out, true),
        Date => datetime::write_date(datum, out),
        Time => datetime::write_time(datum, out),
        Timetz => datetime::write_timetz(datum, out),
        Timestamp => datetime::write_timestamp(datum, out, false),
        Timestamptz => datetime::write_timestamp(datum, out, true),
        Interval => datetime::write_interval(datum, out),
        Jsonb => jsonb::write(datum, out),
        Point => geo::write_point(datum, out),
        Lseg => geo::write_lseg(datum, out),
        Box => geo::write_box(datum, out),
        Line => geo::write_line(datum, out),
        Circle => geo::write_circle(datum, out),
        Path => geo::write_path(datum, out),
        Polygon => geo::write_polygon(datum, out),
        Int2Vector => geo::write_vector(datum, out, false),
        OidVector => geo::write_vector(datum, out, true),
        Hstore => hstore::write(datum, out),
        Tsvector => tsearch::write_tsvector(datum, out),
        Tsquery => tsearch::write_tsquery(datum, out),
        Jsonpath => jsonpath::write(datum, out),
        Snapshot => names::write_snapshot(datum, out),
        Enum | Array | Range | Multirange | Record | Reg(_) | Aclitem => {
            Err(Error::UnsupportedType {
                oid: 0,
                name: String::new(),
                typoutput: func.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cat() -> TypeMap {
        TypeMap::builtin()
    }

    #[rustfmt::skip]
    fn int4_array(lbound: i32, with_null: bool) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&1i32.to_le_bytes());                              // ndim
        v.extend_from_slice(&(if with_null { 32i32 } else { 0 }).to_le_bytes()); // dataoffset (from varlena start)
        v.extend_from_slice(&23u32.to_le_bytes());                             // elemtype int4
        v.extend_from_slice(&3i32.to_le_bytes());                              // dims[0]
        v.extend_from_slice(&lbound.to_le_bytes());                            // lbound[0]
        // 4 (varlena header) + 20 = 24 is already MAXALIGNed: data follows.
        if with_null {
            v.push(0b101);                                                     // bitmap: item 1 NULL
            v.extend_from_slice(&[0; 7]);                                      // 4 + 21 = 25 -> pad to 32
        }
        v.extend_from_slice(&1i32.to_le_bytes());
        if !with_null {
            v.extend_from_slice(&2i32.to_le_bytes());
        }
        v.extend_from_slice(&3i32.to_le_bytes());
        v
    }

    #[test]
    fn arrays_from_fixtures() {
        // Texts as the server prints '{1,2,3}', '[0:2]={1,2,3}', '{1,NULL,3}'.
        assert_eq!(
            output(&cat(), 1007, -1, &int4_array(1, false)).unwrap(),
            "{1,2,3}"
        );
        assert_eq!(
            output(&cat(), 1007, -1, &int4_array(0, false)).unwrap(),
            "[0:2]={1,2,3}"
        );
        assert_eq!(
            output(&cat(), 1007, -1, &int4_array(1, true)).unwrap(),
            "{1,NULL,3}"
        );
    }

    #[test]
    fn error_variants() {
        let c = cat();
        assert_eq!(
            output(&c, 999_999, -1, &[]),
            Err(Error::UnknownType { oid: 999_999 })
        );
        assert!(matches!(
            output(&c, 23, -1, &[1, 2, 3]),
            Err(Error::BadLength {
                func: "int4out",
                expected: 4,
                found: 3
            })
        ));
        // Array claiming 3 items but only 2 ints of data.
        let mut a = int4_array(1, false);
        a.truncate(a.len() - 4);
        assert!(matches!(
            output(&c, 1007, -1, &a),
            Err(Error::Truncated {
                func: "array_out",
                ..
            })
        ));
        // ndim 7 > MAXDIM.
        let mut a = int4_array(1, false);
        a[0] = 7;
        assert!(matches!(
            output(&c, 1007, -1, &a),
            Err(Error::Corrupt {
                func: "array_out",
                offset: 0,
                ..
            })
        ));
        // Numeric digit 10000 is out of range.
        let mut n = 0u16.to_le_bytes().to_vec();
        n.extend_from_slice(&0i16.to_le_bytes());
        n.extend_from_slice(&10000i16.to_le_bytes());
        assert!(matches!(
            output(&c, 1700, -1, &n),
            Err(Error::Corrupt { offset: 4, .. })
        ));
        // Text that is not UTF-8.
        assert_eq!(
            output(&c, 25, -1, b"ab\xff"),
            Err(Error::InvalidUtf8 {
                func: "textout",
                offset: 2
            })
        );
        // Timestamp before 4713 BC.
        assert!(matches!(
            output(&c, 1114, -1, &(i64::MIN + 1).to_le_bytes()),
            Err(Error::OutOfRange {
                func: "timestamp_out",
                ..
            })
        ));
        // inet with family 9.
        assert!(matches!(
            output(&c, 869, -1, &[9, 32, 1, 2, 3, 4]),
            Err(Error::Corrupt {
                func: "inet_out",
                ..
            })
        ));
        // jsonb header that is neither array nor object.
        assert!(matches!(
            output(&c, 3802, -1, &0u32.to_le_bytes()),
            Err(Error::Corrupt {
                func: "jsonb_out",
                ..
            })
        ));
        // Enum label missing from the catalog.
        let mut c2 = cat();
        c2.add_type(TypeInfo {
            oid: 50_000,
            name: "mood".into(),
            typlen: 4,
            typbyval: true,
            typalign: b'i',
            typtype: b'e',
            typelem: 0,
            typbasetype: 0,
            typoutput: "enum_out".into(),
        });
        assert_eq!(
            output(&c2, 50_000, -1, &7u32.to_le_bytes()),
            Err(Error::UnknownEnumLabel { enum_oid: 7 })
        );
        c2.add_enum_label(7, "happy");
        assert_eq!(
            output(&c2, 50_000, -1, &7u32.to_le_bytes()).unwrap(),
            "happy"
        );
        // A type whose output function is unknown names itself.
        c2.add_type(TypeInfo {
            oid: 50_001,
            name: "city_budget".into(),
            typoutput: "int44out".into(),
            ..c2.type_info(50_000).unwrap().clone()
        });
        assert!(matches!(
            output(&c2, 50_001, -1, &[0; 4]),
            Err(Error::UnsupportedType { oid: 50_001, .. })
        ));
        // A domain cycle in a damaged catalog ends with TooDeep.
        c2.add_type(TypeInfo {
            oid: 50_002,
            name: "d".into(),
            typtype: b'd',
            typbasetype: 50_002,
            typoutput: "domain_in_loop".into(),
            ..c2.type_info(50_000).unwrap().clone()
        });
        assert_eq!(
            output(&c2, 50_002, -1, &[0; 4]),
            Err(Error::TooDeep { limit: MAX_DEPTH })
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut c = cat();
            // A composite (with a dropped attribute) and its array type.
            let attr = |type_oid, attlen, attalign, dropped| CompositeAttr {
                type_oid,
                typmod: -1,
                attlen,
                attalign,
                dropped,
            };
            c.add_composite(
                60_000,
                vec![attr(23, 4, b'i', false), attr(0, -1, b'i', true), attr(25, -1, b'i', false), attr(20, 8, b'd', false)],
            );
            let base = c.type_info(23).unwrap().clone();
            c.add_type(TypeInfo { oid: 60_000, name: "comp".into(), typlen: -1, typbyval: false, typalign: b'd', typtype: b'c', typoutput: "record_out".into(), ..base.clone() });
            c.add_type(TypeInfo { oid: 60_001, name: "_comp".into(), typlen: -1, typbyval: false, typalign: b'd', typelem: 60_000, typoutput: "array_out".into(), ..base });
            c.add_type(TypeInfo {
                oid: 60_003,
                name: "hstore".into(),
                typtype: b'b',
                typoutput: "hstore_out".into(),
                ..c.type_info(25).unwrap().clone()
            });
            let mut oids: Vec<u32> = c.types_unsorted().map(|t| t.oid).collect();
            oids.sort_unstable();
            for oid in oids {
                let _ = output(&c, oid, -1, &data);
            }
        }
    }
}
