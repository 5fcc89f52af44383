//! The SQLite side: a working database file through rusqlite (never
//! evidence: libsqlite may write a journal or WAL beside the file).
//!
//! Edits run in `BEGIN IMMEDIATE` (the write lock is taken at once, waiting
//! at most `lock_timeout` through the busy timeout). With no row version to
//! check, an UPDATE or DELETE is guarded by the key and every original value
//! of the row as read (`IS`, so NULLs compare); each must touch exactly one
//! row (`RETURNING`).
//! `statement_timeout` does not apply to SQLite.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::RowQuery;
use crate::changes::ChangeValue;
use crate::error::{ChangeError, Error, Result};
use crate::plan::{CommitOptions, Engine, Executed, Step, StepKind, TableMeta};
use crate::value::{Batch, Column, Row, TableInfo, Value, ident};

const BATCH_ROWS: usize = 1000;

/// An open SQLite database.
#[derive(Debug)]
pub struct SqliteSession {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

fn sq(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let context = context.into();
    move |source| Error::Sqlite { context, source }
}

/// SQLite's type affinity of a declared type (datatype3.html §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

fn affinity(decl: &str) -> Affinity {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        Affinity::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Affinity::Text
    } else if d.contains("BLOB") || d.is_empty() {
        Affinity::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn lit(v: &Value) -> String {
    rowcodec::sqlite::encode::sql_literal(&v.to_owned_value())
}

impl SqliteSession {
    /// Opens an existing database file; `read_only` opens it read-only
    /// with `PRAGMA query_only`.
    pub fn open(path: &Path, read_only: bool) -> Result<Self> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(sq(format!("open {}", path.display())))?;
        if read_only {
            conn.pragma_update(None, "query_only", 1)
                .map_err(sq("PRAGMA query_only"))?;
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
            read_only,
        })
    }

    /// Tables and views.
    pub fn tables(&mut self) -> Result<Vec<TableInfo>> {
        let names: Vec<(String, String)> = {
            let mut st = self
                .conn
                .prepare("SELECT name, type FROM sqlite_schema WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .map_err(sq("list tables"))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(sq("list tables"))?
        };
        names
            .into_iter()
            .map(|(name, kind)| {
                let m = self.meta_of(&name)?;
                Ok(TableInfo {
                    schema: "main".into(),
                    key: m
                        .key
                        .iter()
                        .filter_map(|&i| m.columns.get(i))
                        .map(|c| c.name.clone())
                        .collect(),
                    name,
                    kind: if kind == "view" { "view" } else { "table" },
                    estimated_rows: None,
                })
            })
            .collect()
    }

    fn meta_of(&self, table: &str) -> Result<TableMeta> {
        let name = table.strip_prefix("main.").unwrap_or(table);
        let cols: Vec<(Column, i64)> = {
            let mut st = self
                .conn
                .prepare("SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1)")
                .map_err(sq("table_xinfo"))?;
            st.query_map([name], |r| {
                let hidden: i64 = r.get(4)?;
                Ok((
                    Column {
                        name: r.get(0)?,
                        type_name: r.get(1)?,
                        not_null: r.get::<_, i64>(2)? != 0,
                        generated: hidden >= 2,
                    },
                    r.get::<_, i64>(3)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(sq(format!("columns of {name}")))?
        };
        if cols.is_empty() {
            return Err(Error::NoTable {
                table: table.to_owned(),
            });
        }
        let mut pk: Vec<(i64, usize)> = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.1 > 0)
            .map(|(i, c)| (c.1, i))
            .collect();
        pk.sort_unstable();
        let mut key: Vec<usize> = pk.into_iter().map(|(_, i)| i).collect();
        let columns: Vec<Column> = cols.into_iter().map(|(c, _)| c).collect();
        if key.is_empty() {
            key = self.unique_key(name, &columns)?;
        }
        Ok(TableMeta {
            sql_name: ident(name),
            display: name.to_owned(),
            columns,
            key,
        })
    }

    /// The first non-partial unique index on NOT NULL plain columns.
    fn unique_key(&self, table: &str, columns: &[Column]) -> Result<Vec<usize>> {
        let idx: Vec<String> = {
            let mut st = self
                .conn
                .prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1 AND partial = 0 ORDER BY seq DESC")
                .map_err(sq("index_list"))?;
            st.query_map([table], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(sq("index_list"))?
        };
        for i in idx {
            let names: Vec<Option<String>> = {
                let mut st = self
                    .conn
                    .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                    .map_err(sq("index_info"))?;
                st.query_map([&i], |r| r.get(0))
                    .and_then(|rows| rows.collect())
                    .map_err(sq("index_info"))?
            };
            let key: Option<Vec<usize>> = names
                .iter()
                .map(|n| {
                    columns
                        .iter()
                        .position(|c| Some(&c.name) == n.as_ref() && c.not_null)
                })
                .collect();
            if let Some(k) = key.filter(|k| !k.is_empty()) {
                return Ok(k);
            }
        }
        Ok(Vec::new())
    }

    /// Reads rows and hands them to `f` in batches until it returns false.
    pub fn for_each_batch(
        &mut self,
        q: &RowQuery,
        f: &mut dyn FnMut(&[Column], Batch) -> Result<bool>,
    ) -> Result<()> {
        let m = self.meta_of(&q.table)?;
        let sql = format!(
            "SELECT {} FROM {}{}",
            select_list(&m),
            m.sql_name,
            q.sql_tail(&m)?
        );
        // A user's WHERE cannot write: the statement must be read-only.
        let mut st = self.conn.prepare(&sql).map_err(sq("SELECT"))?;
        if !st.readonly() {
            return Err(Error::ReadOnly);
        }
        let n = m.columns.len();
        let mut rows = st.query([]).map_err(sq("SELECT"))?;
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut bytes = 0u64;
        loop {
            let r = rows.next().map_err(sq("read row"))?;
            if let Some(r) = r {
                let values: Vec<Value> = (0..n)
                    .map(|i| r.get_ref(i).map(value_of))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(sq("read value"))?;
                bytes += values.iter().map(|v| v.display().len() as u64).sum::<u64>();
                batch.push(Row { values, xmin: None });
            }
            if batch.len() >= BATCH_ROWS || (r.is_none() && !batch.is_empty()) {
                let b = Batch {
                    rows: std::mem::take(&mut batch),
                    wire_bytes: std::mem::take(&mut bytes),
                };
                if !f(&m.columns, b)? {
                    return Ok(());
                }
            }
            if r.is_none() {
                return Ok(());
            }
        }
    }

    fn query_rows(&self, sql: &str, n_cols: usize) -> rusqlite::Result<Vec<Row>> {
        let mut st = self.conn.prepare(sql)?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let values = (0..n_cols)
                .map(|i| r.get_ref(i).map(value_of))
                .collect::<rusqlite::Result<_>>()?;
            out.push(Row { values, xmin: None });
        }
        Ok(out)
    }
}

fn conds(m: &TableMeta, cols: &[usize], values: &[Value]) -> Vec<String> {
    cols.iter()
        .zip(values)
        .map(|(&i, v)| {
            format!(
                "{} IS {}",
                m.columns.get(i).map(|c| ident(&c.name)).unwrap_or_default(),
                lit(v)
            )
        })
        .collect()
}

fn select_list(m: &TableMeta) -> String {
    m.columns
        .iter()
        .map(|c| ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Engine for SqliteSession {
    fn meta(&mut self, table: &str) -> Result<TableMeta> {
        self.meta_of(table)
    }

    fn check_value(
        &mut self,
        m: &TableMeta,
        col: usize,
        v: &ChangeValue,
    ) -> Result<Value, ChangeError> {
        let Some(c) = m.columns.get(col) else {
            return Err(ChangeError::Unsupported {
                what: "column index out of range",
            });
        };
        let aff = affinity(&c.type_name);
        let no_fit = |reason: &str| ChangeError::DoesNotFit {
            column: c.name.clone(),
            type_name: c.type_name.clone(),
            value: v.shown(),
            reason: reason.to_owned(),
        };
        let number = |s: &str| -> Option<Value> {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                return Some(if aff == Affinity::Real {
                    Value::Real(i as f64)
                } else {
                    Value::Int(i)
                });
            }
            s.parse::<f64>()
                .ok()
                .filter(|r| r.is_finite())
                .map(Value::Real)
        };
        let numeric = matches!(aff, Affinity::Integer | Affinity::Real | Affinity::Numeric);
        match v {
            ChangeValue::Null if c.not_null => Err(ChangeError::NotNull {
                column: c.name.clone(),
            }),
            ChangeValue::Null => Ok(Value::Null),
            ChangeValue::Bool(b) if numeric => Ok(Value::Int(i64::from(*b))),
            ChangeValue::Bool(_) => Err(no_fit("a boolean fits only a numeric column")),
            ChangeValue::Number(s) if aff == Affinity::Text => Ok(Value::Text(s.clone())),
            ChangeValue::Number(s) => {
                number(s).ok_or_else(|| no_fit("not a number SQLite can store"))
            }
            ChangeValue::String(s) if numeric => number(s)
                .ok_or_else(|| no_fit("not a number; the column's declared type is numeric")),
            ChangeValue::String(s) | ChangeValue::Json(s) if !numeric => Ok(Value::Text(s.clone())),
            ChangeValue::Json(_) => Err(no_fit("JSON text does not fit a numeric column")),
            ChangeValue::Blob(b) if aff == Affinity::Blob => Ok(Value::Blob(b.clone())),
            ChangeValue::Blob(_) => Err(no_fit("bytes fit only a BLOB column")),
            ChangeValue::String(_) => Err(no_fit("unexpected")),
        }
    }

    fn find_rows(&mut self, m: &TableMeta, cols: &[usize], values: &[Value]) -> Result<Vec<Row>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {} LIMIT 3",
            select_list(m),
            m.sql_name,
            conds(m, cols, values).join(" AND ")
        );
        self.query_rows(&sql, m.columns.len())
            .map_err(sq(format!("read rows of {}", m.display)))
    }

    fn step_sql(
        &self,
        m: &TableMeta,
        kind: StepKind,
        before: Option<&Row>,
        set: &[(usize, Value)],
    ) -> String {
        let name = |i: usize| m.columns.get(i).map(|c| ident(&c.name)).unwrap_or_default();
        let old = |i: usize| {
            before
                .and_then(|b| b.values.get(i).cloned())
                .unwrap_or(Value::Null)
        };
        let ret = format!(" RETURNING {}", select_list(m));
        match kind {
            StepKind::Update => {
                // No row version in SQLite: the whole row as read is the
                // guard, so a change to any column since is a conflict.
                let guard: Vec<usize> = (0..m.columns.len())
                    .filter(|&i| m.columns.get(i).is_some_and(|c| !c.generated))
                    .collect();
                let vals: Vec<Value> = guard.iter().map(|&i| old(i)).collect();
                let assigns: Vec<String> = set
                    .iter()
                    .map(|(i, v)| format!("{} = {}", name(*i), lit(v)))
                    .collect();
                format!(
                    "UPDATE {} SET {} WHERE {}{ret}",
                    m.sql_name,
                    assigns.join(", "),
                    conds(m, &guard, &vals).join(" AND ")
                )
            }
            StepKind::Insert => {
                let cols: Vec<String> = set.iter().map(|(i, _)| name(*i)).collect();
                let vals: Vec<String> = set.iter().map(|(_, v)| lit(v)).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({}){ret}",
                    m.sql_name,
                    cols.join(", "),
                    vals.join(", ")
                )
            }
            StepKind::Delete => {
                let all: Vec<usize> = (0..m.columns.len())
                    .filter(|&i| m.columns.get(i).is_some_and(|c| !c.generated))
                    .collect();
                let vals: Vec<Value> = all.iter().map(|&i| old(i)).collect();
                format!(
                    "DELETE FROM {} WHERE {}{ret}",
                    m.sql_name,
                    conds(m, &all, &vals).join(" AND ")
                )
            }
        }
    }

    fn execute(&mut self, m: &TableMeta, steps: &[Step], opts: &CommitOptions) -> Result<Executed> {
        self.conn
            .busy_timeout(opts.lock_timeout)
            .map_err(sq("busy_timeout"))?;
        if let Err(e) = self.conn.execute_batch("BEGIN IMMEDIATE") {
            return Err(busy_or(e, "BEGIN IMMEDIATE"));
        }
        let n = m.columns.len();
        let mut after = Vec::with_capacity(steps.len());
        let mut conflicts = Vec::new();
        for (idx, s) in steps.iter().enumerate() {
            match self.query_rows(&s.sql, n) {
                Ok(rows) if rows.len() == 1 => after.push(if s.kind == StepKind::Delete {
                    None
                } else {
                    rows.into_iter().next()
                }),
                Ok(rows) if rows.is_empty() => conflicts.push((
                    idx,
                    "the row changed or vanished since it was read".to_owned(),
                )),
                Ok(rows) => conflicts.push((
                    idx,
                    format!("the statement would touch {} rows", rows.len()),
                )),
                Err(rusqlite::Error::SqliteFailure(f, msg))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation
                        && s.kind == StepKind::Insert =>
                {
                    conflicts.push((
                        idx,
                        format!("the key is taken: {}", msg.unwrap_or_default()),
                    ));
                    break;
                }
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(busy_or(e, &s.place));
                }
            }
        }
        if conflicts.is_empty() {
            if let Err(e) = self.conn.execute_batch("COMMIT") {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(busy_or(e, "COMMIT"));
            }
            return Ok(Executed::Committed(after));
        }
        self.conn
            .execute_batch("ROLLBACK")
            .map_err(sq("ROLLBACK"))?;
        Ok(Executed::RolledBack(conflicts))
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn identity(&self) -> String {
        crate::Target::Sqlite(self.path.clone()).identity()
    }
}

fn busy_or(e: rusqlite::Error, context: &str) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::SqliteBusy
        }
        Some(rusqlite::ErrorCode::ReadOnly) => Error::ReadOnly,
        _ => Error::Sqlite {
            context: context.to_owned(),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_rules() {
        assert_eq!(affinity("INTEGER"), Affinity::Integer);
        assert_eq!(affinity("varchar(10)"), Affinity::Text);
        assert_eq!(affinity(""), Affinity::Blob);
        assert_eq!(affinity("DOUBLE PRECISION"), Affinity::Real);
        assert_eq!(affinity("DECIMAL(10,2)"), Affinity::Numeric);
    }
}
