//! `datam snapshot diff STORE A B`: pages changed per file, then the rows
//! added, removed and changed in the SQLite tables and PostgreSQL data
//! directories ([`super::pg_diff`]), as text, JSON lines or SQL that turns
//! A's table contents into B's.

use std::io::Write;
use std::path::PathBuf;

use datam_core::job::JobCtx;
use rowcodec::sqlite::encode::{hex, sql_ident, sql_literal};
use rowcodec::sqlite::record::OwnedValue;
use snapshot_cow::diff::{self, Change, PageSummary, RowChange, TableDiff};
use snapshot_cow::{SnapshotId, Store};

/// Output format of `snapshot diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per page summary (with `file`) and per changed row (with `table`).
    Jsonl,
    /// SQL statements turning A's table contents into B's.
    Sql,
}

/// Arguments of `snapshot diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store directory.
    pub store: PathBuf,
    /// The older snapshot.
    pub a: u64,
    /// The newer snapshot.
    pub b: u64,
    /// Only these tables (repeatable).
    #[arg(long = "table")]
    pub tables: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// Runs `snapshot diff`.
pub fn run(a: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = Store::open(&a.store)?;
    let (ma, mb) = (
        store.manifest(SnapshotId(a.a))?,
        store.manifest(SnapshotId(a.b))?,
    );
    let reader = store.reader()?;
    let ctx = JobCtx::quiet();
    let pages = diff::page_summary(&ma, &mb);
    let same = |s: &&PageSummary| {
        s.changed == 0 && s.added == 0 && s.removed == 0 && s.pages_a == s.pages_b
    };
    for s in &pages {
        // Text and SQL name only the files that differ (a data directory has hundreds).
        if a.format == DiffFormat::Jsonl || !same(&s) {
            summary(out, a.format, s)?;
        }
    }
    if a.format != DiffFormat::Jsonl {
        let n = pages.iter().filter(same).count();
        let line = format!("{n} files with identical pages");
        match a.format {
            DiffFormat::Sql => writeln!(out, "-- {line}")?,
            _ => writeln!(out, "{line}")?,
        }
    }
    for name in diff::sqlite_files(&ma, &mb) {
        let tables = diff::sqlite_diff(&reader, &ma, &mb, &name, &a.tables, &ctx)?;
        for t in &tables {
            match a.format {
                DiffFormat::Text => text_table(out, &name, t)?,
                DiffFormat::Jsonl => jsonl_table(out, t)?,
                DiffFormat::Sql => sql_table(out, t)?,
            }
        }
    }
    for root in snapshot_cow::pg_diff::pg_roots(&ma, &mb) {
        let tables = snapshot_cow::pg_diff::pg_diff(&store, &ma, &mb, &root, &a.tables, &ctx)?;
        super::pg_diff::write(out, a.format, &root, &tables)?;
    }
    Ok(())
}

fn summary(out: &mut dyn Write, f: DiffFormat, s: &PageSummary) -> anyhow::Result<()> {
    let n = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let line = format!(
        "{}: {} pages changed, {} added, {} removed (pages {} -> {})",
        s.file,
        s.changed,
        s.added,
        s.removed,
        n(s.pages_a),
        n(s.pages_b)
    );
    match f {
        DiffFormat::Text => writeln!(out, "{line}")?,
        DiffFormat::Sql => writeln!(out, "-- {line}")?,
        DiffFormat::Jsonl => {
            serde_json::to_writer(&mut *out, s)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn json_value(v: &OwnedValue) -> serde_json::Value {
    match v {
        OwnedValue::Null => serde_json::Value::Null,
        OwnedValue::Int(i) => (*i).into(),
        OwnedValue::Real(r) => serde_json::Number::from_f64(*r).map_or_else(
            || serde_json::Value::String(r.to_string()),
            serde_json::Value::Number,
        ),
        OwnedValue::Text(s) => s.clone().into(),
        OwnedValue::Blob(b) => serde_json::json!({ "blob_hex": hex(b) }),
    }
}

fn json_row(cols: &[String], vals: Option<&Vec<OwnedValue>>) -> serde_json::Value {
    vals.map_or(serde_json::Value::Null, |v| {
        cols.iter()
            .zip(v)
            .map(|(c, v)| (c.clone(), json_value(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    })
}

pub(super) fn change_name(c: Change) -> &'static str {
    match c {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Changed => "changed",
    }
}

fn jsonl_table(out: &mut dyn Write, t: &TableDiff) -> anyhow::Result<()> {
    for r in &t.changes {
        let key: serde_json::Map<_, _> = t
            .key_columns
            .iter()
            .zip(&r.key)
            .map(|(c, v)| (c.clone(), json_value(v)))
            .collect();
        let obj = serde_json::json!({
            "table": t.table,
            "key": key,
            "change": change_name(r.change),
            "before": json_row(&t.columns, r.before.as_ref()),
            "after": json_row(&t.columns, r.after.as_ref()),
        });
        serde_json::to_writer(&mut *out, &obj)?;
        writeln!(out)?;
    }
    Ok(())
}

fn text_table(out: &mut dyn Write, file: &str, t: &TableDiff) -> anyhow::Result<()> {
    let count = |c| t.changes.iter().filter(|r| r.change == c).count();
    writeln!(
        out,
        "{file} table {}: {} added, {} removed, {} changed (leaf pages decoded: {} in A, {} in B)",
        t.table,
        count(Change::Added),
        count(Change::Removed),
        count(Change::Changed),
        t.pages_decoded.0,
        t.pages_decoded.1
    )?;
    for r in &t.changes {
        let row = |v: &Option<Vec<OwnedValue>>| {
            v.as_ref()
                .map(|v| v.iter().map(sql_literal).collect::<Vec<_>>().into_iter())
        };
        write_change_line(
            out,
            r.change,
            r.key.iter().map(sql_literal),
            row(&r.before),
            row(&r.after),
        )?;
    }
    Ok(())
}

/// One row change of a text diff: `  + [KEY] (AFTER)`, `  - [KEY] (BEFORE)`
/// or `  ~ [KEY] (BEFORE) -> (AFTER)`, values as SQL literals (the SQLite
/// and the PostgreSQL diff).
pub(super) fn write_change_line<I: Iterator<Item = String>>(
    out: &mut dyn Write,
    change: Change,
    key: impl Iterator<Item = String>,
    before: Option<I>,
    after: Option<I>,
) -> std::io::Result<()> {
    let vals = |v: Option<I>| v.map_or(String::new(), |v| v.collect::<Vec<_>>().join(", "));
    let (mark, body) = match change {
        Change::Added => ("+", format!("({})", vals(after))),
        Change::Removed => ("-", format!("({})", vals(before))),
        Change::Changed => ("~", format!("({}) -> ({})", vals(before), vals(after))),
    };
    let key = key.collect::<Vec<_>>().join(", ");
    writeln!(out, "  {mark} [{key}] {body}")
}

/// `WHERE` clause selecting row `r` by its key.
fn where_key(t: &TableDiff, r: &RowChange) -> String {
    let conds: Vec<String> = t
        .key_columns
        .iter()
        .zip(&r.key)
        .map(|(c, v)| {
            let col = if t.without_rowid {
                sql_ident(c)
            } else {
                "rowid".to_string()
            };
            format!("{col} IS {}", sql_literal(v))
        })
        .collect();
    conds.join(" AND ")
}

fn sql_table(out: &mut dyn Write, t: &TableDiff) -> anyhow::Result<()> {
    let table = sql_ident(&t.table);
    // Deletes first, then updates, then inserts (so re-used keys do not clash).
    for r in t.changes.iter().filter(|r| r.change == Change::Removed) {
        writeln!(out, "DELETE FROM {table} WHERE {};", where_key(t, r))?;
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
            .map(|(c, (_, a))| format!("{}={}", sql_ident(c), sql_literal(a)))
            .collect();
        writeln!(
            out,
            "UPDATE {table} SET {} WHERE {};",
            sets.join(", "),
            where_key(t, r)
        )?;
    }
    for r in t.changes.iter().filter(|r| r.change == Change::Added) {
        let Some(after) = &r.after else { continue };
        let mut cols: Vec<String> = t.columns.iter().map(|c| sql_ident(c)).collect();
        let mut vals: Vec<String> = after.iter().map(sql_literal).collect();
        if !t.without_rowid && t.rowid_alias.is_none() {
            cols.insert(0, "rowid".to_string());
            vals.insert(0, r.key.first().map(sql_literal).unwrap_or_default());
        }
        writeln!(
            out,
            "INSERT INTO {table}({}) VALUES({});",
            cols.join(","),
            vals.join(",")
        )?;
    }
    Ok(())
}
