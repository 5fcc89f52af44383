//! [`dump_with`]: the dump with the caller's own per-worker row batches
//! (Arrow batches with typed columns for the Python binding and
//! `--format parquet`), fed the scanned rows themselves instead of their
//! text.

use pgdata::catalog::Types;
use pgdata::table::ScanRow;

use super::encode::{Encoder, RowCtx};
use super::{DumpRequest, DumpSummary, Worker, Workers, run};
use crate::job::JobCtx;
use crate::pg::Result;

/// One column of the dumped table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpColumn {
    /// `attname`.
    pub name: String,
    /// `atttypid`.
    pub type_oid: u32,
    /// `atttypmod`.
    pub typmod: i32,
}

/// The rows one worker scanned from one unit of blocks (256 blocks),
/// built on the worker thread.
pub trait RowBatch: Send {
    /// Adds one row read from the heap segment `file`; `types` resolves its
    /// column types.
    fn push(&mut self, types: &Types, file: &str, row: &ScanRow<'_>);
    /// Adds one row version `--dead` found (`file` empty for a WAL image):
    /// `status` `dead` or `carved`, `source` `heap`, `carve` or `wal`.
    /// Partial carved rows are not pushed (the text formats skip them too).
    fn push_version(
        &mut self,
        types: &Types,
        file: &str,
        row: &ScanRow<'_>,
        status: &'static str,
        source: &'static str,
    );
    /// Rows added.
    fn n_rows(&self) -> u64;
}

/// The caller's batch maker, the columns (resolved by the first worker)
/// and an empty batch for a table without blocks.
struct Customs<M, B> {
    make: M,
    cols: std::sync::OnceLock<Vec<DumpColumn>>,
    empty: std::sync::Mutex<Option<B>>,
}

impl<B, M> Workers for Customs<M, B>
where
    B: RowBatch,
    M: Fn(&Types, &[DumpColumn]) -> B + Sync,
{
    type Batch = B;
    type W<'a>
        = Custom<'a, M>
    where
        Self: 'a;
    fn worker<'a>(&'a self, types: &'a Types, ctx: &'a RowCtx<'a>) -> Custom<'a, M> {
        let mut first = false;
        let cols = self.cols.get_or_init(|| {
            first = true;
            ctx.cols()
                .iter()
                .map(|c| DumpColumn {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    typmod: c.typmod,
                })
                .collect()
        });
        if first && let Ok(mut e) = self.empty.lock() {
            *e = Some((self.make)(types, cols));
        }
        Custom {
            types,
            ctx,
            cols,
            make: &self.make,
        }
    }
}

/// A worker running the caller's batches.
struct Custom<'a, M> {
    types: &'a Types,
    ctx: &'a RowCtx<'a>,
    cols: &'a [DumpColumn],
    make: &'a M,
}

impl<B, M> Worker for Custom<'_, M>
where
    B: RowBatch,
    M: Fn(&Types, &[DumpColumn]) -> B,
{
    type Batch = B;
    fn empty_batch(&self) -> B {
        (self.make)(self.types, self.cols)
    }
    fn push_row(&mut self, row: &ScanRow<'_>, batch: &mut B) {
        batch.push(self.types, self.ctx.file_ref(row), row);
    }
    fn push_found(&mut self, f: &super::dead::Found, batch: &mut B) -> bool {
        if !f.complete {
            return false;
        }
        batch.push_version(
            self.types,
            &f.row.file,
            &f.datums,
            f.row.status,
            f.row.source,
        );
        true
    }
    fn n_rows(batch: &B) -> u64 {
        batch.n_rows()
    }
}

/// Scans the requested table as [`super::dump`] does (same table lookup,
/// live rows or `--dead`'s row versions from heap, carving and WAL through
/// [`RowBatch::push_version`], parallel workers, damaged blocks as diagnostics and
/// a final [`crate::pg::Error::DamagedRows`]), each unit of blocks into a
/// fresh `make(types, columns)` batch on a worker thread; `each` receives
/// the batches in block order on the calling thread (`Ok(false)`: no more
/// batches wanted). A table without blocks gives one empty batch, so the
/// caller still learns its columns.
pub fn dump_with<B, M, E>(
    req: &DumpRequest,
    job: &JobCtx,
    make: M,
    mut each: E,
) -> Result<DumpSummary>
where
    B: RowBatch,
    M: Fn(&Types, &[DumpColumn]) -> B + Sync,
    E: FnMut(B) -> Result<bool>,
{
    let mut more = true;
    let mut n_batches = 0u64;
    let customs = Customs {
        make,
        cols: std::sync::OnceLock::new(),
        empty: std::sync::Mutex::new(None),
    };
    let summary = run(req, Encoder::Rows, job, &customs, |batch| {
        n_batches = n_batches.saturating_add(1);
        if more {
            more = each(batch)?;
        }
        Ok(())
    })?;
    if n_batches == 0
        && let Some(b) = customs.empty.into_inner().ok().flatten()
    {
        each(b)?;
    }
    Ok(summary)
}
