//! The `pg tables` job: the user tables of each database with their page
//! and tuple counts.

use std::path::PathBuf;

use pgdata::DataDir;
use pgdata::catalog::DatabaseRow;
use pgdata::table::{ScanMode, TableScan};
use serde::Serialize;

use crate::job::{JobCtx, Phase, Sink, Throughput, Unit};
use crate::pg::catalogs::{databases, open_db};
use crate::pg::{Error, Result, report_warnings};

/// Which tables to list.
#[derive(Debug, Clone)]
pub struct TablesRequest {
    /// The data directory (evidence; read-only).
    pub pgdata: PathBuf,
    /// Only this database (default: every database except template0/1).
    pub db: Option<String>,
}

/// One table. Fields are in the JSON lines order (sorted by name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableInfo {
    /// Its partitions / inheritance children (`schema.table`, `pg_inherits`
    /// order); a dump or rescue of this table covers them.
    pub children: Vec<String>,
    /// Database name.
    pub db: String,
    /// Dead tuples (deleted or replaced by a committed transaction).
    pub dead_tuples: u64,
    /// `table`, `partitioned table` or `materialized view`.
    pub kind: String,
    /// Live tuples.
    pub live_tuples: u64,
    /// `pg_class.oid`.
    pub oid: u32,
    /// Blocks of the main fork.
    pub pages: u32,
    /// The relfilenode (from the relation map for mapped catalogs).
    pub relfilenode: u32,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// `pg_toast.NAME` of its TOAST table.
    pub toast_table: Option<String>,
}

pub(super) fn is_user_schema(name: &str) -> bool {
    !(name == "pg_catalog"
        || name == "information_schema"
        || name.starts_with("pg_toast")
        || name.starts_with("pg_temp"))
}

/// The database named, or every database but the templates.
pub(super) fn selected_databases<'d>(
    dbs: &'d [DatabaseRow],
    db: Option<&String>,
) -> Result<Vec<&'d DatabaseRow>> {
    Ok(match db {
        Some(n) => vec![
            dbs.iter()
                .find(|d| &d.name == n)
                .ok_or_else(|| Error::DatabaseNotFound(n.clone()))?,
        ],
        None => dbs
            .iter()
            .filter(|d| d.name != "template0" && d.name != "template1")
            .collect(),
    })
}

/// Lists the tables and materialized views of user schemas into `sink`,
/// sorted by database, schema and name. Each table is scanned once for its
/// live and dead tuple counts.
pub fn tables<S>(req: &TablesRequest, job: &JobCtx, sink: &mut S) -> Result<()>
where
    S: Sink<TableInfo>,
    S::Error: Into<Error>,
{
    let _span = tracing::info_span!("pg_tables").entered();
    let timer = Throughput::start("pg tables");
    let dir = DataDir::open(&req.pgdata)?;
    let dbs = databases(&dir, job, true)?;
    let selected = selected_databases(&dbs, req.db.as_ref())?;
    let mut n_tables = 0u64;
    for (db_idx, db) in selected.iter().enumerate() {
        job.progress(
            Phase::Scan,
            Unit::Items,
            db_idx as u64,
            Some(selected.len() as u64),
        );
        let cat = open_db(&dir, db)?;
        report_warnings(job, &cat.warnings);
        let (tree, inh_warnings) = cat.inherits()?;
        report_warnings(job, &inh_warnings);
        let mut found: Vec<_> = cat
            .classes
            .iter()
            .filter(|c| matches!(c.relkind, b'r' | b'm' | b'p'))
            .filter_map(|c| Some((cat.namespaces.get(&c.relnamespace)?.clone(), c)))
            .filter(|(s, _)| is_user_schema(s))
            .collect();
        found.sort_by(|a, b| (&a.0, &a.1.relname).cmp(&(&b.0, &b.1.relname)));
        for (schema, c) in found {
            job.check()?;
            let children = tree
                .get(&c.oid)
                .into_iter()
                .flatten()
                .filter_map(|&k| cat.class(k))
                .map(|k| crate::pg::catalogs::qualified_name(&cat, k))
                .collect();
            let info = table_info(&cat, c, job, (schema, children))?;
            n_tables = n_tables.saturating_add(1);
            if !sink.item(info).map_err(Into::into)? {
                return Ok(());
            }
        }
    }
    timer.finish(n_tables, 0);
    Ok(())
}

/// One table's line: a partitioned table has no storage (no pages, no
/// tuples of its own).
fn table_info(
    cat: &pgdata::catalog::Catalog,
    c: &pgdata::catalog::ClassRow,
    job: &JobCtx,
    (schema, children): (String, Vec<String>),
) -> Result<TableInfo> {
    let (mut live, mut dead, mut pages) = (0u64, 0u64, 0u32);
    if c.relkind != b'p' {
        let mut scan = TableScan::new(cat, c)?;
        scan.scan(ScanMode::Live, |_| {
            live += 1;
            !job.cancel.is_cancelled()
        });
        scan.scan(ScanMode::Dead, |_| {
            dead += 1;
            !job.cancel.is_cancelled()
        });
        job.check()?;
        report_warnings(job, &scan.warnings);
        pages = scan.n_blocks();
    }
    Ok(TableInfo {
        children,
        db: cat.db.name.clone(),
        dead_tuples: dead,
        live_tuples: live,
        oid: c.oid,
        pages,
        relfilenode: cat
            .locator(c)
            .map(|l| l.rel_number)
            .unwrap_or(c.relfilenode),
        schema,
        kind: match c.relkind {
            b'p' => "partitioned table",
            b'm' => "materialized view",
            _ => "table",
        }
        .to_string(),
        table: c.relname.clone(),
        toast_table: cat
            .class(c.reltoastrelid)
            .map(|t| format!("pg_toast.{}", t.relname)),
    })
}
