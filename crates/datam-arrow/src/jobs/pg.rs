//! `pg tables` and `pg xacts` into one batch each (output names
//! [`TABLES`], [`XACTS`]); `pg dump` into typed batches, one per unit of
//! blocks a worker scanned.

use datam_core::job::{Diagnostic, JobCtx};
use datam_core::pg::dump::{
    DumpColumn, DumpRequest, DumpSummary, RowBatch, TablesRequest, dump_with, tables,
};
use datam_core::pg::rescue::{XactsRequest, xacts};
use pgdata::catalog::Types;
use pgdata::table::ScanRow;

use super::{BatchOut, JobError};
use crate::pg::{ColumnSpec, DumpBatcher};
use crate::pg_lists::{tables_batch, xacts_batch};

/// Output name of `pg tables`.
pub const TABLES: &str = "tables";
/// Output name of `pg xacts`.
pub const XACTS: &str = "xacts";

/// Runs `datam pg tables` into one batch.
pub fn tables_batches(
    req: &TablesRequest,
    job: &JobCtx,
    out: &mut BatchOut<'_>,
) -> Result<(), JobError> {
    let mut rows = Vec::new();
    tables(req, job, &mut rows)?;
    out(TABLES, tables_batch(&rows)?)?;
    Ok(())
}

/// Runs `datam pg xacts` into one batch.
pub fn xacts_batches(
    req: &XactsRequest,
    job: &JobCtx,
    out: &mut BatchOut<'_>,
) -> Result<(), JobError> {
    let mut rows = Vec::new();
    xacts(req, job, &mut rows)?;
    out(XACTS, xacts_batch(&rows)?)?;
    Ok(())
}

/// One worker's unit of rows: a [`DumpBatcher`] over the table's columns.
struct DumpUnit(DumpBatcher);

impl RowBatch for DumpUnit {
    fn push(&mut self, types: &Types, file: &str, row: &ScanRow<'_>) {
        self.0.push(types, file, row);
    }
    fn push_version(
        &mut self,
        types: &Types,
        file: &str,
        row: &ScanRow<'_>,
        status: &'static str,
        source: &'static str,
    ) {
        self.0.push_as(types, file, row, status, source);
    }
    fn n_rows(&self) -> u64 {
        self.0.len() as u64
    }
}

/// Runs `datam pg dump` (table, database and dead/live of `req`) into
/// batches with Arrow types from the column types (output name: the
/// `SCHEMA.TABLE` asked for). `--dead` gives the CLI's row versions (heap,
/// carved, WAL images; partial carved rows left out) with a
/// `datam_source` column. Values a column's Arrow type cannot hold are
/// null and a `value-not-representable` diagnostic. Like the CLI, damaged
/// blocks end the job with `DamagedRows` after every other row was handed
/// out. A table without rows gives one empty batch (its schema).
pub fn dump_batches(
    req: &DumpRequest,
    job: &JobCtx,
    out: &mut BatchOut<'_>,
) -> Result<DumpSummary, JobError> {
    let mut failed = None;
    let make = |types: &Types, cols: &[DumpColumn]| {
        let specs: Vec<ColumnSpec> = cols
            .iter()
            .map(|c| ColumnSpec {
                name: c.name.clone(),
                type_oid: c.type_oid,
                typmod: c.typmod,
            })
            .collect();
        DumpUnit(if req.dead {
            DumpBatcher::versions(types, &specs)
        } else {
            DumpBatcher::new(types, &specs)
        })
    };
    let r = dump_with(req, job, make, |mut unit| {
        for l in std::mem::take(&mut unit.0.lossy) {
            job.diagnostic(Diagnostic::warning(
                "value-not-representable",
                format!("column {}: {} (null in the batch)", l.column, l.reason),
            ));
        }
        match unit.0.finish().and_then(|b| out(&req.table, b)) {
            Ok(more) => Ok(more),
            Err(e) => {
                failed = Some(e);
                Ok(false)
            }
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(r?)
}
