//! Undo statements for a table without a key, where identical rows are
//! copies the undo must count: each statement aims at the number of copies
//! of one image the table should hold after it, computed from the copies
//! live in the data directory ([`TablePlan::live_copies`]) and the rows the
//! mistake changed, and changes only the difference:
//!
//! ```text
//! DELETE FROM t WHERE ctid IN (SELECT ctid FROM t WHERE <image> LIMIT GREATEST(0, (SELECT count(*) FROM t WHERE <image>) - <target>))
//! UPDATE t SET ... WHERE ctid IN (... the same, for the image the mistake wrote ...)
//! INSERT INTO t (...) SELECT <old values> FROM generate_series(1, <target> - (SELECT count(*) FROM t WHERE <image>))
//! ```
//! A second run finds every image at its target and changes nothing.

use std::collections::HashMap;
use std::fmt::Write as _;

use rowcodec::pg::TypeCatalog;

use super::{Statement, key_predicate, literal, quote_ident, revert_sets};
use crate::plan::{Image, PlanRow, RowKind, RowStatus, TablePlan};

/// One statement per group of identical changes (same kind and images).
pub(super) fn statements(t: &TablePlan, types: &dyn TypeCatalog, table: &str) -> Vec<Statement> {
    let mut count: HashMap<&Image, i64> = t
        .live_copies
        .iter()
        .map(|(img, &n)| (img, i64::try_from(n).unwrap_or(i64::MAX)))
        .collect();
    let mut out = Vec::new();
    for kind in [RowKind::Delete, RowKind::Revert, RowKind::Reinsert] {
        // Groups in the order of their first row.
        let mut groups: Vec<(usize, &PlanRow, i64)> = Vec::new();
        for (row_idx, r) in t.rows.iter().enumerate() {
            if r.kind != kind || r.status != RowStatus::Restorable {
                continue;
            }
            match groups
                .iter_mut()
                .find(|(_, g, _)| g.old == r.old && g.new == r.new)
            {
                Some(g) => g.2 = g.2.saturating_add(1),
                None => groups.push((row_idx, r, 1)),
            }
        }
        for (row_idx, r, n) in groups {
            let sql = match kind {
                RowKind::Delete | RowKind::Revert => {
                    let Some(new) = r.new.as_ref() else { continue };
                    let c = count.entry(new).or_insert(0);
                    *c = c.saturating_sub(n).max(0);
                    let target = *c;
                    if let Some(old) = r.old.as_ref() {
                        let c = count.entry(old).or_insert(0);
                        *c = c.saturating_add(n);
                    }
                    fewer(t, types, table, r, new, target)
                }
                RowKind::Reinsert => {
                    let Some(old) = r.old.as_ref() else { continue };
                    let c = count.entry(old).or_insert(0);
                    *c = c.saturating_add(n);
                    more(t, types, table, old, *c)
                }
            };
            if let Some(sql) = sql {
                out.push(Statement { row_idx, kind, sql });
            }
        }
    }
    out
}

/// Deletes or reverts copies of `new` until `target` are left.
fn fewer(
    t: &TablePlan,
    types: &dyn TypeCatalog,
    table: &str,
    r: &PlanRow,
    new: &Image,
    target: i64,
) -> Option<String> {
    let guard = key_predicate(t, types, new);
    let which = format!(
        "ctid IN (SELECT ctid FROM {table} WHERE {guard} LIMIT GREATEST(0, (SELECT count(*) FROM {table} WHERE {guard}) - {target}))"
    );
    let mut s = String::new();
    if r.kind == RowKind::Delete {
        let _ = write!(s, "DELETE FROM {table} WHERE {which}");
        return Some(s);
    }
    let old = r.old.as_ref()?;
    let sets = revert_sets(t, types, old, new);
    if sets.is_empty() {
        return None;
    }
    let _ = write!(s, "UPDATE {table} SET {} WHERE {which}", sets.join(", "));
    Some(s)
}

/// Inserts copies of `old` until there are `target`.
fn more(
    t: &TablePlan,
    types: &dyn TypeCatalog,
    table: &str,
    old: &Image,
    target: i64,
) -> Option<String> {
    let stored = || t.columns.iter().zip(old).filter(|(c, _)| !c.generated);
    let cols: Vec<String> = stored().map(|(c, _)| quote_ident(&c.name)).collect();
    let vals: Vec<String> = stored()
        .map(|(c, v)| literal(types, c, v.as_deref()))
        .collect();
    let guard = key_predicate(t, types, old);
    Some(format!(
        "INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM generate_series(1, {target} - (SELECT count(*) FROM {table} WHERE {guard}))",
        cols.join(", "),
        vals.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Column, KeyKind};
    use rowcodec::pg::TypeMap;
    use walparse::Lsn;

    fn row(kind: RowKind, old: Option<&str>, new: Option<&str>) -> PlanRow {
        let img = |v: &str| vec![Some(v.to_string())];
        PlanRow {
            kind,
            xid: 9,
            lsn: Lsn(1),
            key: vec![],
            old: old.map(img),
            new: new.map(img),
            old_source: None,
            new_source: None,
            old_values: None,
            status: RowStatus::Restorable,
        }
    }

    #[test]
    fn identical_rows_aim_at_their_number_of_copies() {
        // Two copies of 'a' deleted while one stayed; one of 'b' inserted
        // where another 'b' existed before the mistake.
        let t = TablePlan {
            schema: "public".into(),
            name: "k".into(),
            columns: vec![Column {
                name: "v".into(),
                type_oid: 25,
                type_name: "text".into(),
                generated: false,
                retyped: false,
                type_schema: None,
            }],
            key_cols: vec![0],
            key_kind: KeyKind::AllColumns,
            rows: vec![
                row(RowKind::Reinsert, Some("a"), None),
                row(RowKind::Delete, None, Some("b")),
                row(RowKind::Reinsert, Some("a"), None),
            ],
            later_tuples_unread: 0,
            warnings: Vec::new(),
            live_copies: [(vec![Some("a".into())], 1), (vec![Some("b".into())], 2)].into(),
        };
        let st = statements(&t, &TypeMap::builtin(), "public.k");
        let sql: Vec<&str> = st.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            vec![
                "DELETE FROM public.k WHERE ctid IN (SELECT ctid FROM public.k WHERE format('%s', v) = 'b' LIMIT GREATEST(0, (SELECT count(*) FROM public.k WHERE format('%s', v) = 'b') - 1))",
                "INSERT INTO public.k (v) OVERRIDING SYSTEM VALUE SELECT 'a'::text FROM generate_series(1, 3 - (SELECT count(*) FROM public.k WHERE format('%s', v) = 'a'))",
            ]
        );
        assert_eq!(st.iter().map(|s| s.row_idx).collect::<Vec<_>>(), vec![1, 0]);
    }
}
