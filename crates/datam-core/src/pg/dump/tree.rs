//! A partitioned or inheritance parent dumped as `SELECT * FROM parent`
//! reads it: the parent's own rows (when it has storage), then each
//! partition / child's, from `pg_inherits` (depth first, `inhseqno` order),
//! each in the parent's columns: a child's columns are matched to the
//! parent's by name, so its extra columns are left out and columns in
//! another order (a partition attached with its own column order, dropped
//! columns) come out in the parent's order, as the server projects them.
//! `--dead` of such a parent is refused (its row versions are printed in
//! each relation's own columns): dump the child by its own name.

use super::encode::Encoder;
use super::{DumpRequest, DumpSummary, Workers, open_table, run, run_projected};
use crate::job::JobCtx;
use crate::pg::catalogs::{qualified_name, with_descendants};
use crate::pg::{Error, Result, report_warnings};

/// The non-dropped column names of relation `oid`, in attnum order.
pub(super) fn column_names(
    cat: &pgdata::catalog::Catalog,
    oid: u32,
    job: &JobCtx,
) -> Result<Vec<String>> {
    let (attrs, warnings) = cat.attributes(oid)?;
    report_warnings(job, &warnings);
    Ok(attrs
        .into_iter()
        .filter(|a| !a.attisdropped)
        .map(|a| a.attname)
        .collect())
}

/// Where each of `want`'s columns is among `have` (by name); `None` when
/// they are the same list, `Err(())` when one is missing.
pub(super) fn projection(
    want: &[String],
    have: &[String],
) -> std::result::Result<Option<Vec<usize>>, ()> {
    if want == have {
        return Ok(None);
    }
    want.iter()
        .map(|w| have.iter().position(|h| h == w).ok_or(()))
        .collect::<std::result::Result<Vec<_>, ()>>()
        .map(Some)
}

/// One relation a dump of a parent reads, and its columns' projection onto
/// the parent's.
type Member = (DumpRequest, Option<Vec<usize>>);

/// The requests of the relations a dump of `req`'s table reads, when it is
/// a parent; `None` for a table without partitions or children.
fn members(req: &DumpRequest, job: &JobCtx) -> Result<Option<Vec<Member>>> {
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
        let refused = || Error::ChildColumns {
            parent: qualified_name(&cat, &class),
            child: table.clone(),
        };
        let project =
            projection(&want, &column_names(&cat, c.oid, job)?).map_err(|()| refused())?;
        if project.is_some() && req.dead {
            return Err(refused());
        }
        let m = DumpRequest {
            table: table.clone(),
            db: Some(cat.db.name.clone()),
            only: true,
            ..req.clone()
        };
        out.push((m, project));
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
    for (m, project) in &members {
        let s = run_projected(m, project.as_deref(), encoder, job, make, &mut write)?;
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

#[cfg(test)]
mod tests {
    use super::projection;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_child_is_projected_onto_its_parents_columns_by_name() {
        let parent = names(&["a", "b"]);
        assert_eq!(projection(&parent, &names(&["a", "b"])), Ok(None));
        assert_eq!(
            projection(&parent, &names(&["b", "x", "a"])),
            Ok(Some(vec![2, 0]))
        );
        assert_eq!(projection(&parent, &names(&["a"])), Err(()));
    }
}
