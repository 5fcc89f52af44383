//! Which schema each type lives in (`pg_type.typnamespace`), for SQL that
//! must name a type whatever the session's `search_path` is.

use std::collections::HashMap;

use super::layout::Schema;
use super::{Catalog, TYPE_RELATION_ID, Warning, scan_catalog};
use crate::error::Result;
use crate::xact::Clog;

const PG_TYPE_NS: &str = "oid:4:i typname:64:c typnamespace:4:i";

impl Catalog {
    /// Type oid → the name of its schema (`pg_catalog` for built-in types),
    /// from the live `pg_type` rows; damaged rows are left out and listed
    /// in the warnings returned.
    pub fn type_schemas(&self) -> Result<(HashMap<u32, String>, Vec<Warning>)> {
        let loc = self.mapped_locator(TYPE_RELATION_ID)?;
        let schema = Schema::parse(PG_TYPE_NS);
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let mut warnings = Vec::new();
        let mut out = HashMap::new();
        scan_catalog(&self.dir, &mut clog, loc, &schema, &mut warnings, |r| {
            if let Some(ns) = self.namespaces.get(&r.u32("typnamespace")) {
                out.insert(r.u32("oid"), ns.clone());
            }
        })?;
        Ok((out, warnings))
    }
}
