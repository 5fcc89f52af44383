//! A partitioned or inheritance parent dumped as `SELECT * FROM parent`
//! reads it: the parent's own rows (when it has storage), then each
//! partition / child's, from `pg_inherits` (depth first, `inhseqno` order).
//! A child whose columns are not the parent's (an inheritance child with
//! columns of its own, or a partition attached with its columns in another
//! order) would need a projection DataM does not do yet: it is refused with
//! its name before anything is written.

use super::encode::Encoder;
use super::{DumpRequest, DumpSummary, Workers, open_table, run};
use crate::job::JobCtx;
use crate::pg::catalogs::{qualified_name, with_descendants};
use crate::pg::{Error, Result, report_warnings};

/// The non-dropped column names of relation `oid`, in attnum order.
fn column_names(cat: &pgdata::catalog::Catalog, oid: u32, job: &JobCtx) -> Result<Vec<String>> {
    let (attrs, warnings) = cat.attributes(oid)?;
    report_warnings(job, &warnings);
    Ok(attrs
        .into_iter()
        .filter(|a| !a.attisdropped)
        .map(|a| a.attname)
        .collect())
}

/// The requests of the relations a dump of `req`'s table reads, when it is
/// a parent; `None` for a table without partitions or children.
fn members(req: &DumpRequest, job: &JobCtx) -> Result<Option<Vec<DumpRequest>>> {
    if req.only {
        return Ok(None);
    }
    let (_, cat, class, _) = open_table(req, job)?;
    let all = with_descendants(&cat, &class, job)?;
    if all.len() == 1 && all.first().is_some_and(|c| c.oid == class.oid) {
        return Ok(None);
    }
    let want = column_names(&cat, class.oid, job)?;
    let mut out = Vec::new();
    for c in &all {
        let table = qualified_name(&cat, c);
        if column_names(&cat, c.oid, job)? != want {
            return Err(Error::ChildColumns {
                parent: qualified_name(&cat, &class),
                child: table,
            });
        }
        out.push(DumpRequest {
            table,
            db: Some(cat.db.name.clone()),
            only: true,
            ..req.clone()
        });
    }
    Ok(Some(out))
}

/// [`run`] over the table, or over each relation of a parent in turn.
pub(super) fn run_tree<M: Workers>(
    (req, encoder): (&DumpRequest, Encoder),
    job: &JobCtx,
    make: &M,
    mut write: impl FnMut(M::Batch) -> Result<()>,
) -> Result<DumpSummary> {
    let Some(members) = members(req, job)? else {
        return run(req, encoder, job, make, write);
    };
    let mut total: Option<DumpSummary> = None;
    for m in &members {
        let s = run(m, encoder, job, make, &mut write)?;
        match &mut total {
            None => total = Some(s),
            Some(t) => {
                t.n_rows = t.n_rows.saturating_add(s.n_rows);
                t.n_blocks = t.n_blocks.saturating_add(s.n_blocks);
            }
        }
    }
    // A partitioned table without partitions has no rows.
    Ok(total.unwrap_or_else(|| DumpSummary {
        database: String::new(),
        columns: Vec::new(),
        n_rows: 0,
        n_blocks: 0,
    }))
}
