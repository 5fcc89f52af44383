//! Object names from the catalog: the `reg*` output functions
//! (`src/backend/utils/adt/regproc.c`), `format_type_be`
//! (`format_type.c`), `aclitemout` (`acl.c`) and `quote_identifier`
//! (`ruleutils.c`).
//!
//! Names are qualified with their schema exactly when the object is not
//! *visible* under the default `search_path` (`"$user", public`, with
//! `pg_catalog` searched first): its schema is not on the path, or an
//! object of the same name (and, for functions and operators, the same
//! argument types) comes earlier on it. No schema named like the session
//! user is assumed.

use super::catalog::{OidMap, TypeCatalog};
use super::{Error, bytes::fixed};

/// `PG_CATALOG_NAMESPACE`.
const PG_CATALOG: u32 = 11;

/// A function: `pg_proc` (name, namespace, argument types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcName {
    /// `proname`.
    pub name: String,
    /// `pronamespace`.
    pub namespace: u32,
    /// `proargtypes`.
    pub argtypes: Vec<u32>,
}

/// An operator: `pg_operator` (name, namespace, operand types; 0 = none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperName {
    /// `oprname`.
    pub name: String,
    /// `oprnamespace`.
    pub namespace: u32,
    /// `oprleft`.
    pub left: u32,
    /// `oprright`.
    pub right: u32,
}

/// Which catalog a `reg*` type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegKind {
    /// `regclass`: `pg_class`.
    Class,
    /// `regtype`: `pg_type`.
    Type,
    /// `regproc`: `pg_proc`, name only.
    Proc,
    /// `regprocedure`: `pg_proc` with argument types.
    Procedure,
    /// `regoper`: `pg_operator`, name only.
    Oper,
    /// `regoperator`: `pg_operator` with operand types.
    Operator,
    /// `regrole`: `pg_authid`.
    Role,
    /// `regnamespace`: `pg_namespace`.
    Namespace,
    /// `regconfig`: `pg_ts_config`.
    Config,
    /// `regdictionary`: `pg_ts_dict`.
    Dictionary,
    /// `regcollation`: `pg_collation`.
    Collation,
}

impl RegKind {
    /// The output function's C name.
    pub(crate) fn func(self) -> &'static str {
        match self {
            RegKind::Class => "regclassout",
            RegKind::Type => "regtypeout",
            RegKind::Proc => "regprocout",
            RegKind::Procedure => "regprocedureout",
            RegKind::Oper => "regoperout",
            RegKind::Operator => "regoperatorout",
            RegKind::Role => "regroleout",
            RegKind::Namespace => "regnamespaceout",
            RegKind::Config => "regconfigout",
            RegKind::Dictionary => "regdictionaryout",
            RegKind::Collation => "regcollationout",
        }
    }
}

/// The names a catalog holds, for the `reg*` types and `aclitem`. Filled
/// by the caller that reads the catalog (`pgdata`); empty tables make the
/// output functions print numeric OIDs, as the server does for OIDs it
/// cannot find.
#[derive(Debug, Clone, Default)]
pub struct ObjectNames {
    /// `pg_namespace`: oid → name.
    pub namespaces: OidMap<String>,
    /// `pg_class`: oid → (relname, relnamespace).
    pub classes: OidMap<(String, u32)>,
    /// `pg_type`: oid → typnamespace (names come from the type catalog).
    pub type_namespaces: OidMap<u32>,
    /// `pg_proc`.
    pub procs: OidMap<ProcName>,
    /// `pg_operator`.
    pub operators: OidMap<OperName>,
    /// `pg_authid`: oid → rolname.
    pub roles: OidMap<String>,
    /// `pg_ts_config`: oid → (cfgname, cfgnamespace).
    pub ts_configs: OidMap<(String, u32)>,
    /// `pg_ts_dict`: oid → (dictname, dictnamespace).
    pub ts_dicts: OidMap<(String, u32)>,
    /// `pg_collation`: oid → (collname, collnamespace, collencoding).
    pub collations: OidMap<(String, u32, i32)>,
    /// The database's encoding (`pg_database.encoding`), for collations.
    pub db_encoding: i32,
}

/// SQL keywords that `quote_identifier` quotes (every category except
/// unreserved), PostgreSQL 13–18.
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// `quote_identifier`: double-quoted unless all lower-case letters, digits
/// and `_` (not starting with a digit) and not a keyword that needs it.
pub fn quote_identifier(s: &str, out: &mut String) {
    let safe = s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && QUOTED_KEYWORDS.binary_search(&s).is_err();
    if safe {
        out.push_str(s);
    } else {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    }
}

/// `format_type_be`'s SQL-standard names of built-in types.
fn sql_type_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        1560 => "bit",
        16 => "boolean",
        1042 => "character",
        700 => "real",
        701 => "double precision",
        21 => "smallint",
        23 => "integer",
        20 => "bigint",
        1700 => "numeric",
        1186 => "interval",
        1083 => "time without time zone",
        1266 => "time with time zone",
        1114 => "timestamp without time zone",
        1184 => "timestamp with time zone",
        1562 => "bit varying",
        1043 => "character varying",
        _ => return None,
    })
}

impl ObjectNames {
    /// The namespaces of the default search path, in search order.
    fn path(&self) -> Vec<u32> {
        let mut p = vec![PG_CATALOG];
        if let Some((&oid, _)) = self.namespaces.iter().find(|(_, n)| n.as_str() == "public") {
            p.push(oid);
        }
        p
    }

    /// Whether the first object on the path that `same` accepts (among
    /// `candidates`, as (oid, namespace)) is `oid`.
    fn visible<'a>(
        &self,
        oid: u32,
        namespace: u32,
        candidates: impl Iterator<Item = (u32, u32)> + 'a,
    ) -> bool {
        let path = self.path();
        let Some(rank) = path.iter().position(|&n| n == namespace) else {
            return false;
        };
        !candidates
            .filter(|&(o, _)| o != oid)
            .any(|(_, ns)| path.iter().position(|&n| n == ns).is_some_and(|r| r < rank))
    }

    fn qualified(&self, namespace: u32, visible: bool, name: &str, out: &mut String) {
        if !visible {
            quote_identifier(
                self.namespaces
                    .get(&namespace)
                    .map_or("???", String::as_str),
                out,
            );
            out.push('.');
        }
        quote_identifier(name, out);
    }

    fn named(&self, map: &OidMap<(String, u32)>, oid: u32, out: &mut String) -> bool {
        let Some((name, ns)) = map.get(&oid) else {
            return false;
        };
        let same = map
            .iter()
            .filter(|(_, (n, _))| n == name)
            .map(|(&o, &(_, s))| (o, s));
        let vis = self.visible(oid, *ns, same);
        self.qualified(*ns, vis, name, out);
        true
    }

    /// `format_type_be(oid)`; false when the type is unknown.
    pub fn format_type(&self, cat: &dyn TypeCatalog, oid: u32, out: &mut String) -> bool {
        let Some(info) = cat.type_info(oid) else {
            return false;
        };
        // True arrays (not the plain-storage int2vector / oidvector).
        if info.typelem != 0 && info.typlen == -1 && !matches!(oid, 22 | 30) {
            if !self.format_type(cat, info.typelem, out) {
                out.push_str("???");
            }
            out.push_str("[]");
            return true;
        }
        if let Some(n) = sql_type_name(oid) {
            out.push_str(n);
            return true;
        }
        let ns = self
            .type_namespaces
            .get(&oid)
            .copied()
            .unwrap_or(PG_CATALOG);
        let same = self
            .type_namespaces
            .iter()
            .filter(|(o, _)| cat.type_info(**o).is_some_and(|t| t.name == info.name))
            .map(|(&o, &s)| (o, s));
        let vis = self.visible(oid, ns, same);
        self.qualified(ns, vis, &info.name, out);
        true
    }

    fn proc_visible(&self, oid: u32, p: &ProcName, by_args: bool) -> bool {
        let same = self
            .procs
            .iter()
            .filter(|(_, q)| q.name == p.name && (!by_args || q.argtypes == p.argtypes))
            .map(|(&o, q)| (o, q.namespace));
        self.visible(oid, p.namespace, same)
    }

    /// `regprocout`: the name, qualified unless it alone answers to that
    /// name on the path.
    fn regproc(&self, oid: u32, out: &mut String) -> bool {
        let Some(p) = self.procs.get(&oid) else {
            return false;
        };
        let path = self.path();
        let n_on_path = self
            .procs
            .iter()
            .filter(|(_, q)| q.name == p.name && path.contains(&q.namespace))
            .count();
        let unique = n_on_path == 1 && path.contains(&p.namespace);
        self.qualified(p.namespace, unique, &p.name, out);
        true
    }

    /// `format_procedure`: `name(type, type)`.
    fn regprocedure(&self, cat: &dyn TypeCatalog, oid: u32, out: &mut String) -> bool {
        let Some(p) = self.procs.get(&oid) else {
            return false;
        };
        let vis = self.proc_visible(oid, p, true);
        self.qualified(p.namespace, vis, &p.name, out);
        out.push('(');
        for (i, &t) in p.argtypes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if !self.format_type(cat, t, out) {
                out.push_str("???");
            }
        }
        out.push(')');
        true
    }

    fn oper_qualified(&self, o: &OperName, visible: bool, out: &mut String) {
        if !visible {
            quote_identifier(
                self.namespaces
                    .get(&o.namespace)
                    .map_or("???", String::as_str),
                out,
            );
            out.push('.');
        }
        out.push_str(&o.name);
    }

    /// `regoperout`.
    fn regoper(&self, oid: u32, out: &mut String) -> bool {
        let Some(o) = self.operators.get(&oid) else {
            return false;
        };
        let path = self.path();
        let n_on_path = self
            .operators
            .values()
            .filter(|q| q.name == o.name && path.contains(&q.namespace))
            .count();
        let unique = n_on_path == 1 && path.contains(&o.namespace);
        self.oper_qualified(o, unique, out);
        true
    }

    /// `format_operator`: `name(left,right)` with `NONE` for a missing side.
    fn regoperator(&self, cat: &dyn TypeCatalog, oid: u32, out: &mut String) -> bool {
        let Some(o) = self.operators.get(&oid) else {
            return false;
        };
        let same = self
            .operators
            .iter()
            .filter(|(_, q)| q.name == o.name && q.left == o.left && q.right == o.right)
            .map(|(&k, q)| (k, q.namespace));
        let vis = self.visible(oid, o.namespace, same);
        self.oper_qualified(o, vis, out);
        out.push('(');
        for (i, t) in [o.left, o.right].into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if t == 0 {
                out.push_str("NONE");
            } else if !self.format_type(cat, t, out) {
                out.push_str("???");
            }
        }
        out.push(')');
        true
    }

    fn collation(&self, oid: u32, out: &mut String) -> bool {
        let Some((name, ns, _)) = self.collations.get(&oid) else {
            return false;
        };
        let enc = self.db_encoding;
        let same = self
            .collations
            .iter()
            .filter(|(_, (n, _, e))| n == name && (*e == -1 || *e == enc))
            .map(|(&o, &(_, s, _))| (o, s));
        let vis = self.visible(oid, *ns, same);
        self.qualified(*ns, vis, name, out);
        true
    }

    /// Appends the name of `oid` of `kind`; false when it is not found.
    fn write_name(&self, cat: &dyn TypeCatalog, kind: RegKind, oid: u32, out: &mut String) -> bool {
        match kind {
            RegKind::Class => self.named(&self.classes, oid, out),
            RegKind::Type => self.format_type(cat, oid, out),
            RegKind::Proc => self.regproc(oid, out),
            RegKind::Procedure => self.regprocedure(cat, oid, out),
            RegKind::Oper => self.regoper(oid, out),
            RegKind::Operator => self.regoperator(cat, oid, out),
            RegKind::Role => self.roles.get(&oid).is_some_and(|n| {
                quote_identifier(n, out);
                true
            }),
            RegKind::Namespace => self.namespaces.get(&oid).is_some_and(|n| {
                quote_identifier(n, out);
                true
            }),
            RegKind::Config => self.named(&self.ts_configs, oid, out),
            RegKind::Dictionary => self.named(&self.ts_dicts, oid, out),
            RegKind::Collation => self.collation(oid, out),
        }
    }
}

/// A `reg*` datum: `-` for OID 0, the object's name, or the OID when the
/// catalog does not have it (as the server prints it).
pub(crate) fn write_reg(
    cat: &dyn TypeCatalog,
    kind: RegKind,
    d: &[u8],
    out: &mut String,
) -> Result<(), Error> {
    let oid = u32::from_le_bytes(fixed(d, kind.func())?);
    if oid == 0 {
        out.push('-');
        return Ok(());
    }
    let len = out.len();
    let found = cat
        .object_names()
        .is_some_and(|n| n.write_name(cat, kind, oid, out));
    if !found {
        out.truncate(len);
        out.push_str(&oid.to_string());
    }
    Ok(())
}

/// `ACL_ALL_RIGHTS_STR`: one letter per privilege bit (PostgreSQL 17's;
/// older majors never set the later bits).
const ACL_RIGHTS: &[u8] = b"arwdDxtXUCTcsAm";

/// `putid`: a role name, double-quoted unless alphanumeric or `_`.
fn putid(name: &str, out: &mut String) {
    let safe = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !safe {
        out.push('"');
    }
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if !safe {
        out.push('"');
    }
}

/// `aclitemout`: `grantee=privs/grantor` (an empty grantee is PUBLIC).
/// The item is 12 bytes up to PostgreSQL 15 (32-bit `AclMode`, grant
/// options in its high 16 bits) and 16 bytes from 16 on (64-bit, high 32).
pub(crate) fn write_aclitem(
    cat: &dyn TypeCatalog,
    d: &[u8],
    out: &mut String,
) -> Result<(), Error> {
    const F: &str = "aclitemout";
    let (grantee, grantor, privs, goptions) = match d.len() {
        12 => {
            let a: [u8; 12] = fixed(d, F)?;
            let [g0, g1, g2, g3, r0, r1, r2, r3, p0, p1, p2, p3] = a;
            let mode = u32::from_le_bytes([p0, p1, p2, p3]);
            (
                u32::from_le_bytes([g0, g1, g2, g3]),
                u32::from_le_bytes([r0, r1, r2, r3]),
                u64::from(mode & 0xffff),
                u64::from(mode >> 16),
            )
        }
        _ => {
            let a: [u8; 16] = fixed(d, F)?;
            let [
                g0,
                g1,
                g2,
                g3,
                r0,
                r1,
                r2,
                r3,
                p0,
                p1,
                p2,
                p3,
                p4,
                p5,
                p6,
                p7,
            ] = a;
            let mode = u64::from_le_bytes([p0, p1, p2, p3, p4, p5, p6, p7]);
            (
                u32::from_le_bytes([g0, g1, g2, g3]),
                u32::from_le_bytes([r0, r1, r2, r3]),
                mode & 0xffff_ffff,
                mode >> 32,
            )
        }
    };
    let roles = cat.object_names().map(|n| &n.roles);
    let role = |oid: u32, out: &mut String| match roles.and_then(|r| r.get(&oid)) {
        Some(n) => putid(n, out),
        None => out.push_str(&oid.to_string()),
    };
    if grantee != 0 {
        role(grantee, out);
    }
    out.push('=');
    for (i, &ch) in ACL_RIGHTS.iter().enumerate() {
        if privs & (1u64 << i) != 0 {
            out.push(char::from(ch));
        }
        if goptions & (1u64 << i) != 0 {
            out.push('*');
        }
    }
    out.push('/');
    role(grantor, out);
    Ok(())
}

/// `pg_snapshot_out` (and `txid_snapshot_out`): `xmin:xmax:xip,xip`.
///
/// ```text
/// payload: u32 nxip | u64 xmin | u64 xmax | u64 xip[nxip]   (xmin is 8-aligned
///          counting the 4-byte varlena header)
/// ```
pub(crate) fn write_snapshot(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = super::bytes::Cursor::new(d, "pg_snapshot_out");
    let nxip = c.u32()?;
    let xmin = u64::from_le_bytes(c.array()?);
    let xmax = u64::from_le_bytes(c.array()?);
    out.push_str(&format!("{xmin}:{xmax}:"));
    for i in 0..nxip {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&u64::from_le_bytes(c.array()?).to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut out = String::new();
        quote_identifier(s, &mut out);
        out
    }

    #[test]
    fn quote_identifier_as_the_server() {
        // SELECT quote_ident(x) on PostgreSQL 15.
        assert!(QUOTED_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(q("pg_class"), "pg_class");
        assert_eq!(q("Mixed"), "\"Mixed\"");
        assert_eq!(q("user"), "\"user\"");
        assert_eq!(q("char"), "\"char\"");
        assert_eq!(q("text"), "text"); // unreserved
        assert_eq!(q("1a"), "\"1a\"");
        assert_eq!(q("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn visibility_on_the_default_search_path() {
        let mut n = ObjectNames::default();
        n.namespaces.insert(PG_CATALOG, "pg_catalog".into());
        n.namespaces.insert(2200, "public".into());
        n.namespaces.insert(50_000, "other".into());
        n.classes.insert(1259, ("pg_class".into(), PG_CATALOG));
        n.classes.insert(60_000, ("t".into(), 2200));
        n.classes.insert(60_001, ("t".into(), 50_000));
        n.classes.insert(60_002, ("pg_class".into(), 2200)); // shadowed by pg_catalog's
        let cat = super::super::TypeMap::builtin();
        let name = |kind, oid: u32| {
            let mut cat = cat.clone();
            cat.set_object_names(n.clone());
            let mut out = String::new();
            write_reg(&cat, kind, &oid.to_le_bytes(), &mut out).unwrap();
            out
        };
        assert_eq!(name(RegKind::Class, 1259), "pg_class");
        assert_eq!(name(RegKind::Class, 60_000), "t");
        assert_eq!(name(RegKind::Class, 60_001), "other.t");
        assert_eq!(name(RegKind::Class, 60_002), "public.pg_class");
        assert_eq!(name(RegKind::Class, 0), "-");
        assert_eq!(name(RegKind::Class, 123_456), "123456");
        assert_eq!(name(RegKind::Type, 1043), "character varying");
        assert_eq!(name(RegKind::Type, 1007), "integer[]");
    }
}
