//! What a row diff between two versions of a data directory (evidence
//! snapshots) needs from the dump: the user tables with their primary keys
//! and heap segment files ([`table_keys`]), and the live rows of only the
//! blocks the caller asks for ([`dump_rows_in`]: the blocks whose pages
//! differ between the versions).

use std::path::Path;

use pgdata::DataDir;
use pgdata::catalog::{Catalog, Types};
use pgdata::table::TableScan;
use serde::Serialize;

use super::encode::{self, RowCtx};
use super::tables::is_user_schema;
use super::{DumpRequest, DumpRow, DumpSummary, Workers, rows_into, segment_paths};
use crate::job::{JobCtx, Sink};
use crate::pg::catalogs::{databases, open_db};
use crate::pg::{Error, Result, report_warnings};

/// One user table of a data directory, as a row diff keys it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableKey {
    /// Database name.
    pub db: String,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Column names in attnum order (the order of [`DumpRow::values`]).
    pub columns: Vec<String>,
    /// Positions in `columns` of the primary key's columns, in key order;
    /// empty when the table has no primary key (or it is unreadable).
    pub key: Vec<usize>,
    /// The heap segment files, in order (each holds
    /// `blocks_per_segment` blocks), as the data directory path joined with
    /// the relation's path.
    pub segments: Vec<String>,
    /// `RELSEG_SIZE` in blocks.
    pub blocks_per_segment: u32,
    /// Blocks of the main fork.
    pub n_blocks: u32,
}

/// The tables and materialized views of user schemas in every database
/// but template0/1, sorted by database, schema and name.
pub fn table_keys(pgdata: &Path, job: &JobCtx) -> Result<Vec<TableKey>> {
    let dir = DataDir::open(pgdata)?;
    let mut out = Vec::new();
    for db in databases(&dir, job, true)? {
        if db.name == "template0" || db.name == "template1" {
            continue;
        }
        job.check()?;
        let cat = open_db(&dir, &db)?;
        report_warnings(job, &cat.warnings);
        out.extend(keys_of(&dir, &cat, job)?);
    }
    out.sort_by(|a, b| (&a.db, &a.schema, &a.table).cmp(&(&b.db, &b.schema, &b.table)));
    Ok(out)
}

fn keys_of(dir: &DataDir, cat: &Catalog, job: &JobCtx) -> Result<Vec<TableKey>> {
    let mut out = Vec::new();
    for c in cat
        .classes
        .iter()
        .filter(|c| matches!(c.relkind, b'r' | b'm'))
    {
        let Some(schema) = cat.namespaces.get(&c.relnamespace) else {
            continue;
        };
        if !is_user_schema(schema) {
            continue;
        }
        let scan = TableScan::new(cat, c)?;
        report_warnings(job, &scan.warnings);
        let attnums: Vec<i16> = scan.columns().map(|a| a.attnum).collect();
        let (indexes, warnings) = cat.indexes(c.oid)?;
        report_warnings(job, &warnings);
        let key = indexes
            .iter()
            .find(|i| i.indisprimary)
            .and_then(|i| {
                i.key_attnums
                    .iter()
                    .map(|k| attnums.iter().position(|a| a == k))
                    .collect::<Option<Vec<usize>>>()
            })
            .unwrap_or_default();
        let seg = dir.relseg_size_blocks();
        out.push(TableKey {
            db: cat.db.name.clone(),
            schema: schema.clone(),
            table: c.relname.clone(),
            columns: scan.columns().map(|a| a.attname.clone()).collect(),
            key,
            segments: segment_paths(&scan, seg),
            blocks_per_segment: seg,
            n_blocks: scan.n_blocks(),
        });
    }
    Ok(out)
}

/// The text and typed-row workers, scanning only the blocks `keep` accepts.
struct Filtered<'j> {
    job: &'j JobCtx,
    keep: &'j (dyn Fn(u32) -> bool + Sync),
}

impl Workers for Filtered<'_> {
    type Batch = encode::Batch;
    type W<'a>
        = encode::RowEncoder<'a>
    where
        Self: 'a;
    fn worker<'a>(&'a self, types: &'a Types, ctx: &'a RowCtx<'a>) -> encode::RowEncoder<'a> {
        encode::RowEncoder::new(types, ctx, self.job)
    }
    fn keep(&self) -> Option<&(dyn Fn(u32) -> bool + Sync)> {
        Some(self.keep)
    }
}

/// [`super::dump_rows`] of the live rows on the blocks (numbered in the
/// table) that `keep` accepts; the other blocks are not read.
pub fn dump_rows_in<S>(
    req: &DumpRequest,
    keep: &(dyn Fn(u32) -> bool + Sync),
    job: &JobCtx,
    sink: &mut S,
) -> Result<DumpSummary>
where
    S: Sink<DumpRow>,
    S::Error: Into<Error>,
{
    rows_into(req, job, &Filtered { job, keep }, sink)
}

#[cfg(test)]
mod tests {
    #[test]
    fn kept_runs_are_the_maximal_runs_of_kept_blocks() {
        let keep = |b: u32| matches!(b, 0 | 3..=5 | 9);
        assert_eq!(
            super::super::kept_runs(0..10, &keep),
            vec![0..1, 3..6, 9..10]
        );
        assert_eq!(super::super::kept_runs(6..9, &keep), vec![]);
    }
}
