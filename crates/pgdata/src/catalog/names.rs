//! The object names of a catalog, for the `reg*` types and `aclitem`
//! (`rowcodec::pg::ObjectNames`): `pg_class`, `pg_namespace`, `pg_type`
//! namespaces, `pg_proc`, `pg_operator`, `pg_authid`, `pg_ts_config`,
//! `pg_ts_dict` and `pg_collation`. A catalog that cannot be read leaves
//! its table empty (those values then print as OIDs) with a warning.

use std::sync::Arc;

use rowcodec::pg::{ObjectNames, OperName, ProcName};

use super::layout::{
    PG_AUTHID, PG_COLLATION, PG_OPERATOR, PG_PROC_ARGS, PG_TS_CONFIG, PG_TS_DICT, Schema,
};
use super::{Catalog, PROCEDURE_RELATION_ID, Row, TYPE_RELATION_ID, Warning, scan_catalog};
use crate::bytes::{i32_at, u32_at};
use crate::varlena;
use crate::xact::Clog;

/// `pg_authid` (shared).
const AUTHID_RELATION_ID: u32 = 1260;
/// `pg_operator`.
const OPERATOR_RELATION_ID: u32 = 2617;
/// `pg_ts_config`.
const TS_CONFIG_RELATION_ID: u32 = 3602;
/// `pg_ts_dict`.
const TS_DICT_RELATION_ID: u32 = 3600;
/// `pg_collation`.
const COLLATION_RELATION_ID: u32 = 3456;

/// The elements of an `oidvector` datum (a one-dimension array).
///
/// ```text
/// payload: i32 ndim | i32 dataoffset | u32 elemtype | i32 dim | i32 lbound | u32 values[dim]
/// ```
fn oidvector(stored: &[u8]) -> Option<Vec<u32>> {
    let varlena::Varlena::Plain(p) = varlena::classify(stored).ok()? else {
        return None;
    };
    if p.len() < 12 {
        return Some(Vec::new()); // a zero-dimension vector: no arguments
    }
    let n = usize::try_from(i32_at(p, 12)?).ok()?;
    (0..n)
        .map(|k| u32_at(p, k.checked_mul(4)?.checked_add(20)?))
        .collect()
}

impl Catalog {
    /// Scans catalog `oid` (found through `pg_class`, or mapped) with `spec`.
    fn scan_named(
        &self,
        clog: &mut Clog,
        oid: u32,
        spec: &'static str,
        warnings: &mut Vec<Warning>,
        f: impl FnMut(&Row<'_, '_>),
    ) {
        let loc = match self.locator_of(oid).or_else(|_| self.mapped_locator(oid)) {
            Ok(l) => l,
            Err(e) => {
                warnings.push(Warning::ObjectNamesUnreadable {
                    catalog: oid,
                    error: Arc::new(e),
                });
                return;
            }
        };
        let schema = Schema::parse(spec);
        if let Err(e) = scan_catalog(&self.dir, clog, loc, &schema, warnings, f) {
            warnings.push(Warning::ObjectNamesUnreadable {
                catalog: oid,
                error: Arc::new(e),
            });
        }
    }

    /// Reads the names of every object a `reg*` value or `aclitem` can name.
    pub(super) fn read_object_names(
        &self,
        clog: &mut Clog,
        type_schema: &Schema,
        warnings: &mut Vec<Warning>,
    ) -> ObjectNames {
        let mut n = ObjectNames {
            namespaces: self
                .namespaces
                .iter()
                .map(|(&k, v)| (k, v.clone()))
                .collect(),
            classes: self
                .classes
                .iter()
                .map(|c| (c.oid, (c.relname.clone(), c.relnamespace)))
                .collect(),
            db_encoding: self.db.encoding,
            ..ObjectNames::default()
        };
        if let Ok(loc) = self.mapped_locator(TYPE_RELATION_ID) {
            let _ = scan_catalog(&self.dir, clog, loc, type_schema, warnings, |r| {
                n.type_namespaces
                    .insert(r.u32("oid"), r.u32("typnamespace"));
            });
        }
        self.scan_named(clog, PROCEDURE_RELATION_ID, PG_PROC_ARGS, warnings, |r| {
            n.procs.insert(
                r.u32("oid"),
                ProcName {
                    name: r.name("proname"),
                    namespace: r.u32("pronamespace"),
                    argtypes: r.raw("proargtypes").and_then(oidvector).unwrap_or_default(),
                },
            );
        });
        self.scan_named(clog, OPERATOR_RELATION_ID, PG_OPERATOR, warnings, |r| {
            n.operators.insert(
                r.u32("oid"),
                OperName {
                    name: r.name("oprname"),
                    namespace: r.u32("oprnamespace"),
                    left: r.u32("oprleft"),
                    right: r.u32("oprright"),
                },
            );
        });
        self.scan_named(clog, AUTHID_RELATION_ID, PG_AUTHID, warnings, |r| {
            n.roles.insert(r.u32("oid"), r.name("rolname"));
        });
        self.scan_named(clog, TS_CONFIG_RELATION_ID, PG_TS_CONFIG, warnings, |r| {
            n.ts_configs
                .insert(r.u32("oid"), (r.name("cfgname"), r.u32("cfgnamespace")));
        });
        self.scan_named(clog, TS_DICT_RELATION_ID, PG_TS_DICT, warnings, |r| {
            n.ts_dicts
                .insert(r.u32("oid"), (r.name("dictname"), r.u32("dictnamespace")));
        });
        self.scan_named(clog, COLLATION_RELATION_ID, PG_COLLATION, warnings, |r| {
            n.collations.insert(
                r.u32("oid"),
                (
                    r.name("collname"),
                    r.u32("collnamespace"),
                    r.i32("collencoding"),
                ),
            );
        });
        n
    }
}
