//! `datam snapshot diff` on a PostgreSQL data directory: the rows added,
//! removed and changed per table, as text, JSON lines, or SQL (for psql)
//! that turns A's table contents into B's.

use std::io::Write;

use pgrescue::sql::quote_ident;
use snapshot_cow::diff::Change;
use snapshot_cow::pg_diff::{PgRow, PgRowChange, PgTableDiff};

use super::diff::{DiffFormat, change_name, write_change_line};

/// Writes the diffs of one data directory (`root` in the snapshots).
pub fn write(
    out: &mut dyn Write,
    format: DiffFormat,
    root: &str,
    tables: &[PgTableDiff],
) -> anyhow::Result<()> {
    let mut db: Option<&str> = None;
    for t in tables {
        match format {
            DiffFormat::Text => text_table(out, root, t)?,
            DiffFormat::Jsonl => jsonl_table(out, t)?,
            DiffFormat::Sql => {
                if db != Some(t.db.as_str()) {
                    if db.is_some() {
                        writeln!(out, "COMMIT;")?;
                    }
                    sql_prologue(out, &t.db)?;
                    db = Some(&t.db);
                }
                sql_table(out, t)?;
            }
        }
    }
    if db.is_some() {
        writeln!(out, "COMMIT;")?;
    }
    Ok(())
}

/// The key's column names: the primary key's, else every column.
fn key_columns(t: &PgTableDiff) -> &[String] {
    if t.key_columns.is_empty() {
        &t.columns
    } else {
        &t.key_columns
    }
}

fn json_row(cols: &[String], vals: Option<&PgRow>) -> serde_json::Value {
    vals.map_or(serde_json::Value::Null, |v| {
        cols.iter()
            .zip(v)
            .map(|(c, v)| {
                (
                    c.clone(),
                    v.clone().map_or(serde_json::Value::Null, Into::into),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    })
}

fn jsonl_table(out: &mut dyn Write, t: &PgTableDiff) -> anyhow::Result<()> {
    let table = format!("{}.{}", t.schema, t.table);
    for r in &t.changes {
        let obj = serde_json::json!({
            "db": t.db,
            "table": table,
            "key": json_row(key_columns(t), Some(&r.key)),
            "change": change_name(r.change),
            "before": json_row(&t.columns, r.before.as_ref()),
            "after": json_row(&t.columns, r.after.as_ref()),
        });
        serde_json::to_writer(&mut *out, &obj)?;
        writeln!(out)?;
    }
    Ok(())
}

/// `'text'` (standard-conforming), or `NULL`.
fn literal(v: Option<&String>) -> String {
    v.map_or_else(
        || "NULL".to_string(),
        |s| format!("'{}'", s.replace('\'', "''")),
    )
}

fn text_table(out: &mut dyn Write, root: &str, t: &PgTableDiff) -> anyhow::Result<()> {
    let count = |c| t.changes.iter().filter(|r| r.change == c).count();
    writeln!(
        out,
        "{root} {}.{}.{}: {} added, {} removed, {} changed (blocks decoded: {} of {} in A, {} of {} in B; key: {})",
        t.db,
        t.schema,
        t.table,
        count(Change::Added),
        count(Change::Removed),
        count(Change::Changed),
        t.blocks_decoded.0,
        t.n_blocks.0,
        t.blocks_decoded.1,
        t.n_blocks.1,
        if t.key_columns.is_empty() {
            "all columns".to_string()
        } else {
            t.key_columns.join(", ")
        }
    )?;
    for r in &t.changes {
        let lits = |v: &[Option<String>]| v.iter().map(|x| literal(x.as_ref())).collect::<Vec<_>>();
        let row = |v: &Option<PgRow>| v.as_deref().map(|v| lits(v).into_iter());
        write_change_line(
            out,
            r.change,
            lits(&r.key).into_iter(),
            row(&r.before),
            row(&r.after),
        )?;
    }
    Ok(())
}

/// Connects to `db` and sets the session so values compare as the dump
/// printed them.
fn sql_prologue(out: &mut dyn Write, db: &str) -> anyhow::Result<()> {
    writeln!(out, "\\connect {}", quote_ident(db))?;
    writeln!(out, "BEGIN;")?;
    writeln!(
        out,
        "SET LOCAL DateStyle = ISO; SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 1; \
         SET LOCAL bytea_output = hex; SET LOCAL IntervalStyle = postgres;"
    )?;
    Ok(())
}

/// The condition selecting row `r`: the primary key's values (`=`), else
/// every column's text (one copy of a duplicate, by `ctid`).
fn row_cond(t: &PgTableDiff, table: &str, r: &PgRowChange) -> String {
    if !t.key_columns.is_empty() {
        let conds: Vec<String> = t
            .key_columns
            .iter()
            .zip(&r.key)
            .map(|(c, v)| format!("{} = {}", quote_ident(c), literal(v.as_ref())))
            .collect();
        return conds.join(" AND ");
    }
    let conds: Vec<String> = t
        .columns
        .iter()
        .zip(&r.key)
        .map(|(c, v)| {
            format!(
                "CAST({} AS text) IS NOT DISTINCT FROM {}",
                quote_ident(c),
                literal(v.as_ref())
            )
        })
        .collect();
    format!(
        "ctid = (SELECT ctid FROM {table} WHERE {} LIMIT 1)",
        conds.join(" AND ")
    )
}

fn sql_table(out: &mut dyn Write, t: &PgTableDiff) -> anyhow::Result<()> {
    let table = format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table));
    writeln!(out, "-- {}.{}", t.schema, t.table)?;
    // Deletes first, then updates, then inserts (so re-used keys do not clash).
    for r in t.changes.iter().filter(|r| r.change == Change::Removed) {
        writeln!(out, "DELETE FROM {table} WHERE {};", row_cond(t, &table, r))?;
    }
    for r in t.changes.iter().filter(|r| r.change == Change::Changed) {
        let (Some(before), Some(after)) = (&r.before, &r.after) else {
            continue;
        };
        let sets: Vec<String> = t
            .columns
            .iter()
            .zip(before.iter().zip(after))
            .filter(|(_, (b, a))| b != a)
            .map(|(c, (_, a))| format!("{} = {}", quote_ident(c), literal(a.as_ref())))
            .collect();
        writeln!(
            out,
            "UPDATE {table} SET {} WHERE {};",
            sets.join(", "),
            row_cond(t, &table, r)
        )?;
    }
    let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(c)).collect();
    for r in t.changes.iter().filter(|r| r.change == Change::Added) {
        let Some(after) = &r.after else { continue };
        let vals: Vec<String> = after.iter().map(|v| literal(v.as_ref())).collect();
        writeln!(
            out,
            "INSERT INTO {table}({}) OVERRIDING SYSTEM VALUE VALUES({});",
            cols.join(", "),
            vals.join(", ")
        )?;
    }
    Ok(())
}
