//! The type facts of a catalog: `pg_type` with output function names from
//! `pg_proc`, `pg_enum` labels, `pg_range` and the attributes of user
//! composite types from `pg_attribute`.

use std::collections::HashMap;
use std::sync::Arc;

use rowcodec::pg::{CompositeAttr, OidMap, TypeCatalog, TypeInfo, TypeMap};

use super::layout::{PG_ENUM, PG_PROC, PG_RANGE_13, PG_RANGE_14, Schema, pick};
use super::{
    ATTRIBUTE_RELATION_ID, Catalog, ENUM_RELATION_ID, FIRST_NORMAL_OBJECT_ID,
    PROCEDURE_RELATION_ID, RANGE_RELATION_ID, Row, TYPE_RELATION_ID, Warning, scan_catalog,
};
use crate::error::Result;
use crate::xact::Clog;

impl Catalog {
    /// Reads the database's types with `type_schema` (the `pg_type` layout).
    pub(super) fn read_types(
        &self,
        clog: &mut Clog,
        type_schema: &Schema,
        warnings: &mut Vec<Warning>,
    ) -> Result<TypeMap> {
        let procs = self.read_proc_names(clog, warnings)?;
        let mut types = TypeMap::empty();
        let composite_rels = self.scan_types(clog, type_schema, &procs, &mut types, warnings)?;
        self.add_enum_labels(clog, &mut types, warnings)?;
        self.add_ranges(clog, &mut types, warnings)?;
        if !composite_rels.is_empty() {
            for (oid, attrs) in self.composite_attrs(&composite_rels, warnings)? {
                types.add_composite(oid, attrs);
            }
        }
        Ok(types)
    }

    /// `pg_proc`: oid → name. An unreadable `pg_proc` is a warning (output
    /// functions are then inferred); the rows read before it stay.
    fn read_proc_names(
        &self,
        clog: &mut Clog,
        warnings: &mut Vec<Warning>,
    ) -> Result<HashMap<u32, String>> {
        let mut procs = HashMap::new();
        let proc_loc = self.mapped_locator(PROCEDURE_RELATION_ID)?;
        let proc_schema = Schema::parse(PG_PROC);
        if let Err(e) = scan_catalog(&self.dir, clog, proc_loc, &proc_schema, warnings, |r| {
            procs.insert(r.u32("oid"), r.name("proname"));
        }) {
            warnings.push(Warning::OutputFunctionsInferred { error: Arc::new(e) });
        }
        Ok(procs)
    }

    /// Adds every `pg_type` row to `types`; returns the user composite types
    /// as `typrelid` → type OID.
    fn scan_types(
        &self,
        clog: &mut Clog,
        type_schema: &Schema,
        procs: &HashMap<u32, String>,
        types: &mut TypeMap,
        warnings: &mut Vec<Warning>,
    ) -> Result<OidMap<u32>> {
        let mut composite_rels: OidMap<u32> = OidMap::default();
        let type_loc = self.mapped_locator(TYPE_RELATION_ID)?;
        scan_catalog(&self.dir, clog, type_loc, type_schema, warnings, |r| {
            let oid = r.u32("oid");
            if r.u8("typtype") == b'c' && oid >= FIRST_NORMAL_OBJECT_ID {
                composite_rels.insert(r.u32("typrelid"), oid);
            }
            types.add_type(TypeInfo {
                oid,
                name: r.name("typname"),
                typlen: r.i16("typlen"),
                typbyval: r.u8("typbyval") != 0,
                typalign: r.u8("typalign"),
                typtype: r.u8("typtype"),
                typelem: r.u32("typelem"),
                typbasetype: r.u32("typbasetype"),
                typoutput: procs
                    .get(&r.u32("typoutput"))
                    .cloned()
                    .unwrap_or_else(|| infer_typoutput(oid, r)),
            });
        })?;
        Ok(composite_rels)
    }

    /// Adds the `pg_enum` labels, if `pg_class` lists `pg_enum`.
    fn add_enum_labels(
        &self,
        clog: &mut Clog,
        types: &mut TypeMap,
        warnings: &mut Vec<Warning>,
    ) -> Result<()> {
        if let Ok(enum_loc) = self.locator_of(ENUM_RELATION_ID) {
            let enum_schema = Schema::parse(PG_ENUM);
            scan_catalog(&self.dir, clog, enum_loc, &enum_schema, warnings, |r| {
                types.add_enum_label(r.u32("oid"), r.name("enumlabel"));
            })?;
        }
        Ok(())
    }

    /// Adds the `pg_range` ranges and multiranges, if `pg_class` lists
    /// `pg_range`.
    fn add_ranges(
        &self,
        clog: &mut Clog,
        types: &mut TypeMap,
        warnings: &mut Vec<Warning>,
    ) -> Result<()> {
        if let Ok(range_loc) = self.locator_of(RANGE_RELATION_ID) {
            let range_schema = pick(self.dir.major(), &[(13, PG_RANGE_13), (14, PG_RANGE_14)])?;
            scan_catalog(&self.dir, clog, range_loc, &range_schema, warnings, |r| {
                types.add_range(r.u32("rngtypid"), r.u32("rngsubtype"));
                if r.u32("rngmultitypid") != 0 {
                    types.add_multirange(r.u32("rngmultitypid"), r.u32("rngtypid"));
                }
            })?;
        }
        Ok(())
    }

    /// Attributes of user composite types, keyed by type OID (`rels` maps
    /// each type's `typrelid` to the type).
    fn composite_attrs(
        &self,
        rels: &OidMap<u32>,
        warnings: &mut Vec<Warning>,
    ) -> Result<OidMap<Vec<CompositeAttr>>> {
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let loc = self.mapped_locator(ATTRIBUTE_RELATION_ID)?;
        let mut rows: OidMap<Vec<(i16, CompositeAttr)>> = OidMap::default();
        scan_catalog(
            &self.dir,
            &mut clog,
            loc,
            &self.attr_schema,
            warnings,
            |r| {
                let Some(&type_oid) = rels.get(&r.u32("attrelid")) else {
                    return;
                };
                let attnum = r.i16("attnum");
                if attnum <= 0 {
                    return;
                }
                let dropped = r.u8("attisdropped") != 0;
                rows.entry(type_oid).or_default().push((
                    attnum,
                    CompositeAttr {
                        type_oid: if dropped { 0 } else { r.u32("atttypid") },
                        typmod: r.i32("atttypmod"),
                        attlen: r.i16("attlen"),
                        attalign: r.u8("attalign"),
                        dropped,
                    },
                ));
            },
        )?;
        Ok(rows
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by_key(|a| a.0);
                (k, v.into_iter().map(|a| a.1).collect())
            })
            .collect())
    }
}

/// When `pg_proc` cannot be read: the built-in type's output function, or
/// the generic one its `typtype` implies.
fn infer_typoutput(oid: u32, r: &Row<'_, '_>) -> String {
    let builtin = TypeMap::builtin();
    if let Some(t) = builtin.type_info(oid) {
        return t.typoutput.clone();
    }
    match r.u8("typtype") {
        b'e' => "enum_out".into(),
        b'd' => "domain_out".into(),
        b'c' => "record_out".into(),
        b'r' => "range_out".into(),
        b'm' => "multirange_out".into(),
        _ if r.u32("typelem") != 0 && r.i16("typlen") == -1 => "array_out".into(),
        _ => String::new(),
    }
}
