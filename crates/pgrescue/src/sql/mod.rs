//! The undo as SQL: one explicit transaction of idempotent statements.
//!
//! ```text
//! BEGIN;
//! SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '5min';
//! SET LOCAL DateStyle = 'ISO'; ... (the settings values are printed under)
//! DELETE FROM t WHERE <key of the new row> AND <every column as the mistake wrote it>;
//! UPDATE t SET <changed columns back> WHERE <key of the new row> AND <every column as the mistake wrote it>;
//! INSERT INTO t (...) SELECT <old values> WHERE NOT EXISTS (SELECT 1 FROM t WHERE <key>);
//! COMMIT;
//! ```
//! Keys compare typed literals (`id = '7'::int4`, so indexes serve them);
//! guards compare each column's text output (`format('%s', col)`, the type's
//! output function) with the text DataM printed, under the same settings,
//! so types without an equality operator (json, point) are guarded too.
//! Running the script a second time matches nothing and changes nothing.

use std::fmt::Write as _;

use rowcodec::pg::{TypeCatalog, sql_literal};

mod copies;

use crate::plan::{Column, Image, KeyKind, PlanRow, RowKind, RowStatus, TablePlan};

/// Session settings under which values are printed and compared: those of
/// `datam pg dump` (server-identical text output).
pub const VALUE_SETTINGS: [(&str, &str); 5] = [
    ("DateStyle", "ISO"),
    ("TimeZone", "UTC"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "1"),
    ("bytea_output", "hex"),
];

/// Timeouts of the undo transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// `lock_timeout` (e.g. `5s`).
    pub lock_timeout: String,
    /// `statement_timeout` (e.g. `5min`).
    pub statement_timeout: String,
}

/// `SET LOCAL` statements to run right after `BEGIN`.
pub fn set_local_statements(t: &Timeouts) -> Vec<String> {
    let mut v = vec![
        format!(
            "SET LOCAL lock_timeout = {}",
            quote_literal(&t.lock_timeout)
        ),
        format!(
            "SET LOCAL statement_timeout = {}",
            quote_literal(&t.statement_timeout)
        ),
    ];
    for (k, val) in VALUE_SETTINGS {
        v.push(format!("SET LOCAL {k} = {}", quote_literal(val)));
    }
    v
}

/// `quote_ident`: double-quoted unless a plain lower-case identifier.
///
/// ```
/// use pgrescue::sql::quote_ident;
/// assert_eq!(quote_ident("orders"), "orders");
/// assert_eq!(quote_ident("Order \"x\""), "\"Order \"\"x\"\"\"");
/// ```
pub fn quote_ident(s: &str) -> String {
    let plain = s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// A single-quoted string literal.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One statement of the undo, with the plan row it undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Index into [`TablePlan::rows`].
    pub row_idx: usize,
    /// What it does.
    pub kind: RowKind,
    /// The SQL (no trailing semicolon).
    pub sql: String,
}

/// The statements undoing the restorable rows of `t`: deletes of rows the
/// mistake inserted first, then reverts, then re-inserts (so a key a
/// mistaken insert took is free again when the old row comes back).
/// Rows whose old and new images are equal produce no statement.
pub fn row_statements(t: &TablePlan, types: &dyn TypeCatalog) -> Vec<Statement> {
    let table = format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name));
    if t.key_kind == KeyKind::AllColumns {
        return copies::statements(t, types, &table);
    }
    let mut out = Vec::new();
    for kind in [RowKind::Delete, RowKind::Revert, RowKind::Reinsert] {
        for (row_idx, r) in t.rows.iter().enumerate() {
            if r.kind != kind || r.status != RowStatus::Restorable {
                continue;
            }
            if let Some(sql) = statement(t, types, &table, r) {
                out.push(Statement { row_idx, kind, sql });
            }
        }
    }
    out
}

pub(crate) fn statement(
    t: &TablePlan,
    types: &dyn TypeCatalog,
    table: &str,
    r: &PlanRow,
) -> Option<String> {
    let mut s = String::new();
    match r.kind {
        RowKind::Delete => {
            let new = r.new.as_ref()?;
            let _ = write!(
                s,
                "DELETE FROM {table} WHERE {}",
                written_by_mistake(t, types, new)
            );
        }
        RowKind::Revert => {
            let (old, new) = (r.old.as_ref()?, r.new.as_ref()?);
            let sets = revert_sets(t, types, old, new);
            if sets.is_empty() {
                return None;
            }
            let _ = write!(
                s,
                "UPDATE {table} SET {} WHERE {}",
                sets.join(", "),
                written_by_mistake(t, types, new)
            );
        }
        RowKind::Reinsert => {
            let old = r.old.as_ref()?;
            let stored = || t.columns.iter().zip(old).filter(|(c, _)| !c.generated);
            let cols: Vec<String> = stored().map(|(c, _)| quote_ident(&c.name)).collect();
            let vals: Vec<String> = stored()
                .map(|(c, v)| literal(types, c, v.as_deref()))
                .collect();
            // OVERRIDING SYSTEM VALUE: identity columns get their old values back.
            let _ = write!(
                s,
                "INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE SELECT {} WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {})",
                cols.join(", "),
                vals.join(", "),
                key_predicate(t, types, old)
            );
        }
    }
    Some(s)
}

/// `col = old value` for each stored column the mistake changed.
pub(crate) fn revert_sets(
    t: &TablePlan,
    types: &dyn TypeCatalog,
    old: &Image,
    new: &Image,
) -> Vec<String> {
    t.columns
        .iter()
        .zip(old.iter().zip(new))
        .filter(|(c, (o, n))| o != n && !c.generated)
        .map(|(c, (o, _))| {
            format!(
                "{} = {}",
                quote_ident(&c.name),
                literal(types, c, o.as_deref())
            )
        })
        .collect()
}

pub(crate) fn literal(types: &dyn TypeCatalog, c: &Column, v: Option<&str>) -> String {
    match v {
        Some(text) => typed_literal(types, c, text),
        None => "NULL".to_string(),
    }
}

/// `'text'::type`, the type schema-qualified when it lives outside
/// `pg_catalog` (so the script does not depend on `search_path`).
fn typed_literal(types: &dyn TypeCatalog, c: &Column, text: &str) -> String {
    match &c.type_schema {
        Some(schema) => format!(
            "{}::{}.{}",
            quote_literal(text),
            quote_ident(schema),
            quote_ident(&c.type_name)
        ),
        None => sql_literal(types, c.type_oid, text),
    }
}

/// `<key> AND <every column equals the image>`.
fn written_by_mistake(t: &TablePlan, types: &dyn TypeCatalog, img: &Image) -> String {
    let mut parts = vec![key_predicate(t, types, img)];
    if t.key_kind != KeyKind::AllColumns {
        parts.extend(
            t.columns
                .iter()
                .zip(img)
                .map(|(c, v)| guard(types, c, v.as_deref())),
        );
    }
    parts.join(" AND ")
}

/// The key columns of `img`: typed equality for a primary/unique key, the
/// text guard of every column when there is none.
pub(crate) fn key_predicate(t: &TablePlan, types: &dyn TypeCatalog, img: &Image) -> String {
    if t.key_kind == KeyKind::AllColumns {
        return t
            .columns
            .iter()
            .zip(img)
            .map(|(c, v)| guard(types, c, v.as_deref()))
            .collect::<Vec<_>>()
            .join(" AND ");
    }
    t.key_cols
        .iter()
        .filter_map(|&k| Some((t.columns.get(k)?, img.get(k)?)))
        .map(|(c, v)| match v {
            Some(text) => format!(
                "{} = {}",
                quote_ident(&c.name),
                typed_literal(types, c, text)
            ),
            None => format!("{} IS NULL", quote_ident(&c.name)),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Column `c` holds the value printed as `v`: its text equals `v`, or, for
/// a value printed by the type the column had before `ALTER TABLE … TYPE`
/// ([`Column::retyped`]), it equals `v` converted by the server to the
/// current type (typed `=`: a cast without the column's typmod would print
/// `7` where the column prints `7.00`).
fn guard(types: &dyn TypeCatalog, c: &Column, v: Option<&str>) -> String {
    let col = quote_ident(&c.name);
    match v {
        Some(text) if c.retyped => format!("{col} = {}", typed_literal(types, c, text)),
        _ => text_equals(&col, v),
    }
}

/// The column's text output equals `v` (NULL-aware; `format('%s', NULL)` is
/// the empty string, hence the `IS NOT NULL` for an empty value).
fn text_equals(col: &str, v: Option<&str>) -> String {
    match v {
        None => format!("{col} IS NULL"),
        Some("") => format!("({col} IS NOT NULL AND format('%s', {col}) = '')"),
        Some(text) => format!("format('%s', {col}) = {}", quote_literal(text)),
    }
}

/// The whole psql script: header comments, `BEGIN`, settings, the
/// statements of every table, `COMMIT`.
pub fn undo_script(
    header: &str,
    plans: &[TablePlan],
    types: &dyn TypeCatalog,
    timeouts: &Timeouts,
) -> String {
    let mut s = String::new();
    for line in header.lines() {
        let _ = writeln!(s, "-- {line}");
    }
    s.push_str("\\set ON_ERROR_STOP on\nBEGIN;\n");
    for st in set_local_statements(timeouts) {
        let _ = writeln!(s, "{st};");
    }
    for t in plans {
        let stmts = row_statements(t, types);
        let _ = writeln!(
            s,
            "-- {}.{}: {} statement(s)",
            t.schema,
            t.name,
            stmts.len()
        );
        for st in stmts {
            let _ = writeln!(s, "{};", st.sql);
        }
    }
    s.push_str("COMMIT;\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::RowStatus;
    use rowcodec::pg::TypeMap;
    use walparse::Lsn;

    fn table(rows: Vec<PlanRow>) -> TablePlan {
        TablePlan {
            schema: "public".into(),
            name: "T".into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    type_oid: 23,
                    type_name: "int4".into(),
                    generated: false,
                    retyped: false,
                    type_schema: None,
                },
                Column {
                    name: "v".into(),
                    type_oid: 25,
                    type_name: "text".into(),
                    generated: false,
                    retyped: false,
                    type_schema: None,
                },
                Column {
                    name: "g".into(),
                    type_oid: 23,
                    type_name: "int4".into(),
                    generated: true,
                    retyped: false,
                    type_schema: None,
                },
            ],
            key_cols: vec![0],
            key_kind: KeyKind::PrimaryKey(1),
            rows,
            later_tuples_unread: 0,
            warnings: Vec::new(),
            live_copies: std::collections::HashMap::new(),
        }
    }

    fn row(kind: RowKind, old: Option<Image>, new: Option<Image>) -> PlanRow {
        PlanRow {
            kind,
            xid: 9,
            lsn: Lsn(1),
            key: vec![],
            old,
            new,
            old_values: None,
            old_source: None,
            new_source: None,
            status: RowStatus::Restorable,
        }
    }

    #[test]
    fn statements_are_ordered_and_guarded() {
        // (id, v, g): g is a stored generated column.
        let img = |id: &str, v: Option<&str>, g: &str| {
            vec![
                Some(id.to_string()),
                v.map(str::to_string),
                Some(g.to_string()),
            ]
        };
        let t = table(vec![
            row(RowKind::Reinsert, Some(img("1", Some("it's"), "2")), None),
            row(
                RowKind::Revert,
                Some(img("2", Some("a"), "1")),
                Some(img("2", None, "9")),
            ),
            row(RowKind::Delete, None, Some(img("3", Some(""), "0"))),
            row(
                RowKind::Revert,
                Some(img("4", Some("same"), "1")),
                Some(img("4", Some("same"), "2")),
            ),
        ]);
        let cat = TypeMap::builtin();
        let st = row_statements(&t, &cat);
        let sql: Vec<&str> = st.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            vec![
                "DELETE FROM public.\"T\" WHERE id = '3'::int4 AND format('%s', id) = '3' AND (v IS NOT NULL AND format('%s', v) = '') AND format('%s', g) = '0'",
                "UPDATE public.\"T\" SET v = 'a'::text WHERE id = '2'::int4 AND format('%s', id) = '2' AND v IS NULL AND format('%s', g) = '9'",
                "INSERT INTO public.\"T\" (id, v) OVERRIDING SYSTEM VALUE SELECT '1'::int4, 'it''s'::text WHERE NOT EXISTS (SELECT 1 FROM public.\"T\" WHERE id = '1'::int4)",
            ]
        );
        // The last revert differs only in the generated column: no statement.
        assert_eq!(
            st.iter().map(|s| s.row_idx).collect::<Vec<_>>(),
            vec![2, 1, 0]
        );
    }

    #[test]
    fn script_is_one_transaction_with_timeouts() {
        let cat = TypeMap::builtin();
        let s = undo_script(
            "x",
            &[table(vec![])],
            &cat,
            &Timeouts {
                lock_timeout: "5s".into(),
                statement_timeout: "1min".into(),
            },
        );
        assert!(s.starts_with("-- x\n\\set ON_ERROR_STOP on\nBEGIN;\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '1min';\n"));
        assert!(s.ends_with("COMMIT;\n"));
    }
}
