//! Finding databases and tables in a data directory's catalog.

use std::path::PathBuf;

use pgdata::DataDir;
use pgdata::catalog::{self, Catalog, DatabaseRow};

use super::{Error, Result, report_warnings};
use crate::job::{Diagnostic, JobCtx};

/// `SCHEMA.TABLE` → (schema, table); the schema defaults to `public`.
///
/// ```
/// assert_eq!(datam_core::pg::split_table("people"), ("public".into(), "people".into()));
/// ```
pub fn split_table(t: &str) -> (String, String) {
    match t.split_once('.') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None => ("public".to_string(), t.to_string()),
    }
}

/// The catalog of `db`, with the database named in the error.
pub(crate) fn open_db(dir: &DataDir, db: &DatabaseRow) -> Result<Catalog> {
    Catalog::open(dir, db.clone()).map_err(|source| Error::CatalogOf {
        database: db.name.clone(),
        source,
    })
}

/// The catalog of `db`, or `None` with a note when it cannot be read (a
/// search over databases goes on with the others).
pub(crate) fn try_open_db(dir: &DataDir, db: &DatabaseRow, job: &JobCtx) -> Option<Catalog> {
    match Catalog::open(dir, db.clone()) {
        Ok(c) => Some(c),
        Err(e) => {
            job.diagnostic(Diagnostic::note(
                "unreadable-catalog",
                format!("database {}: catalog not read: {e}", db.name),
            ));
            None
        }
    }
}

/// The databases of `dir`; damaged `pg_database` rows are reported when
/// `report` is set.
pub(crate) fn databases(dir: &DataDir, job: &JobCtx, report: bool) -> Result<Vec<DatabaseRow>> {
    let mut warnings = Vec::new();
    let dbs = catalog::databases(dir, &mut warnings)?;
    if report {
        report_warnings(job, &warnings);
    }
    Ok(dbs)
}

/// Resolves `SCHEMA.TABLE` to (database oid, relfilenode) through the
/// catalog of the first input, which must be a data directory.
pub(crate) fn resolve_relation(
    inputs: &[PathBuf],
    rel: &str,
    database: Option<&str>,
    job: &JobCtx,
) -> Result<(u32, u32)> {
    let (schema, table) = rel
        .split_once('.')
        .ok_or_else(|| Error::BadRelationName(rel.to_string()))?;
    let root = inputs
        .first()
        .filter(|p| evidence::vfs::is_file(&p.join("PG_VERSION")))
        .ok_or(Error::RelationNeedsDataDir)?;
    let dir = DataDir::open(root)?;
    let mut found = Vec::new();
    for db in databases(&dir, job, false)? {
        if database.is_some_and(|d| d != db.name) || db.name == "template0" {
            continue;
        }
        let Some(cat) = try_open_db(&dir, &db, job) else {
            continue;
        };
        if let Some(c) = cat.find_table(schema, table) {
            let loc = cat.locator(c)?;
            found.push((db.name.clone(), loc.db_oid, loc.rel_number));
        }
    }
    match found.as_slice() {
        [(_, db, rel)] => Ok((*db, *rel)),
        [] => Err(Error::NoTableIn {
            table: rel.to_string(),
            pgdata: root.clone(),
        }),
        many => Err(Error::AmbiguousTable {
            table: rel.to_string(),
            databases: many.iter().map(|m| m.0.clone()).collect(),
        }),
    }
}

/// The relations `SELECT * FROM class` reads: `class` itself when it has
/// storage (a table or materialized view, not a partitioned table), then
/// every partition / inheritance child with storage, from `pg_inherits`.
pub(crate) fn with_descendants(
    cat: &Catalog,
    class: &catalog::ClassRow,
    job: &JobCtx,
) -> Result<Vec<catalog::ClassRow>> {
    let has_storage = |c: &catalog::ClassRow| matches!(c.relkind, b'r' | b'm');
    let mut out: Vec<catalog::ClassRow> = Vec::new();
    if has_storage(class) {
        out.push(class.clone());
    }
    let (kids, warnings) = cat.descendants(class.oid)?;
    report_warnings(job, &warnings);
    out.extend(
        kids.iter()
            .filter_map(|&k| cat.class(k))
            .filter(|c| has_storage(c))
            .cloned(),
    );
    Ok(out)
}

/// `schema.name` of a relation.
pub(crate) fn qualified_name(cat: &Catalog, class: &catalog::ClassRow) -> String {
    let schema = cat
        .namespaces
        .get(&class.relnamespace)
        .map_or("?", String::as_str);
    format!("{schema}.{}", class.relname)
}
