//! Guarded edits on PostgreSQL.
//!
//! Every UPDATE and DELETE names its row by key (typed comparison, so the
//! key's index is used) **and** the `xmin` of the version that was read
//! **and** (updates) the output text of every changed column as it was
//! read; it must report exactly one row through `RETURNING`. Literals are
//! untyped string constants, so the column's input function applies with
//! its typmod exactly as for a typed-in statement.

use tokio_postgres::error::SqlState;

use super::rows::text_expr;
use super::{PgMeta, PgSession, pg_err};
use crate::changes::ChangeValue;
use crate::error::{ChangeError, Error, Result, pg_message};
use crate::plan::{CommitOptions, Engine, Executed, Step, StepKind, TableMeta};
use crate::value::{Row, Value, ident};

/// [`Engine`] over a session, caching the last table's catalog facts.
pub(crate) struct PgEngine<'s> {
    pub s: &'s mut PgSession,
    pub cache: Option<PgMeta>,
}

fn quote(t: &str) -> String {
    format!("'{}'", t.replace('\'', "''"))
}

fn lit(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(t) => quote(t),
        other => quote(&other.display()),
    }
}

/// `format('%s', c) = '…'` (or `c IS NULL`): the column prints as read.
fn same_text(m: &TableMeta, i: usize, v: &Value) -> String {
    let name = m.columns.get(i).map(|c| ident(&c.name)).unwrap_or_default();
    match v {
        Value::Null => format!("{name} IS NULL"),
        v => format!("format('%s', {name}) = {}", lit(v)),
    }
}

/// Conditions naming the row `values` (indexed like `cols`).
fn row_conds(m: &TableMeta, cols: &[usize], values: &[Value]) -> Vec<String> {
    let by_key = !m.key.is_empty() && {
        let mut a = cols.to_vec();
        a.sort_unstable();
        let mut b = m.key.clone();
        b.sort_unstable();
        a == b
    };
    cols.iter()
        .zip(values)
        .map(|(&i, v)| match (by_key, v) {
            (true, Value::Text(_)) => {
                format!(
                    "{} = {}",
                    m.columns.get(i).map(|c| ident(&c.name)).unwrap_or_default(),
                    lit(v)
                )
            }
            _ => same_text(m, i, v),
        })
        .collect()
}

fn key_of(m: &TableMeta, row: &Row) -> (Vec<usize>, Vec<Value>) {
    let cols: Vec<usize> = if m.key.is_empty() {
        (0..m.columns.len()).collect()
    } else {
        m.key.clone()
    };
    let vals = cols
        .iter()
        .map(|&i| row.values.get(i).cloned().unwrap_or(Value::Null))
        .collect();
    (cols, vals)
}

fn returning(m: &TableMeta) -> String {
    let list: Vec<String> = m
        .columns
        .iter()
        .map(|c| text_expr(&ident(&c.name)))
        .collect();
    format!(" RETURNING xmin::text, {}", list.join(", "))
}

fn text_row(r: &tokio_postgres::Row, n_cols: usize) -> Result<Row> {
    let xmin: Option<String> = r.try_get(0).map_err(pg_err("read xmin"))?;
    let mut values = Vec::with_capacity(n_cols);
    for i in 1..=n_cols {
        let v: Option<String> = r.try_get(i).map_err(pg_err("read value"))?;
        values.push(v.map_or(Value::Null, Value::Text));
    }
    Ok(Row { values, xmin })
}

impl PgEngine<'_> {
    fn pg_meta(&mut self, table: &str) -> Result<&PgMeta> {
        let hit = self.cache.as_ref().is_some_and(|c| c.meta.display == table);
        if !hit {
            self.cache = Some(self.s.meta_full(table)?);
        }
        self.cache.as_ref().ok_or_else(|| Error::NoTable {
            table: table.to_owned(),
        })
    }

    fn find_rows_sql(m: &TableMeta, cols: &[usize], values: &[Value]) -> String {
        let list: Vec<String> = m
            .columns
            .iter()
            .map(|c| text_expr(&ident(&c.name)))
            .collect();
        format!(
            "SELECT xmin::text, {} FROM {} WHERE {} LIMIT 3",
            list.join(", "),
            m.sql_name,
            row_conds(m, cols, values).join(" AND ")
        )
    }
}

impl Engine for PgEngine<'_> {
    fn meta(&mut self, table: &str) -> Result<TableMeta> {
        self.pg_meta(table).map(|p| p.meta.clone())
    }

    fn check_value(
        &mut self,
        m: &TableMeta,
        col: usize,
        v: &ChangeValue,
    ) -> Result<Value, ChangeError> {
        let c = m
            .columns
            .get(col)
            .cloned()
            .unwrap_or_else(|| crate::value::Column {
                name: String::new(),
                type_name: String::new(),
                not_null: false,
                generated: false,
            });
        let Some(text) = v.pg_input() else {
            return if c.not_null {
                Err(ChangeError::NotNull { column: c.name })
            } else {
                Ok(Value::Null)
            };
        };
        let Some(pc) = self.cache.as_ref().and_then(|p| p.pg.get(col)).cloned() else {
            return Err(ChangeError::Unsupported {
                what: "column facts missing",
            });
        };
        // The input function with the column's typmod: what an INSERT of
        // the literal does (varchar(3) refuses 'abcd', a domain checks
        // its constraints), without writing anything.
        let sql = if pc.input_nargs >= 3 {
            format!(
                "SELECT format('%s', {}($1::text::cstring, $2::int8::oid, $3::int4))",
                pc.typinput
            )
        } else {
            format!("SELECT format('%s', {}($1::text::cstring))", pc.typinput)
        };
        let client = self.s.client.clone();
        let r = self.s.rt.block_on(async move {
            if pc.input_nargs >= 3 {
                client
                    .query_one(&sql, &[&text, &pc.ioparam, &pc.typmod])
                    .await
            } else {
                client.query_one(&sql, &[&text]).await
            }
        });
        match r {
            Ok(row) => {
                row.try_get::<_, String>(0)
                    .map(Value::Text)
                    .map_err(|e| ChangeError::DoesNotFit {
                        column: c.name.clone(),
                        type_name: c.type_name.clone(),
                        value: v.shown(),
                        reason: e.to_string(),
                    })
            }
            Err(e) => Err(ChangeError::DoesNotFit {
                column: c.name,
                type_name: c.type_name,
                value: v.shown(),
                reason: pg_message(&e),
            }),
        }
    }

    fn find_rows(&mut self, m: &TableMeta, cols: &[usize], values: &[Value]) -> Result<Vec<Row>> {
        let sql = Self::find_rows_sql(m, cols, values);
        let client = self.s.client.clone();
        let rows = self
            .s
            .rt
            .block_on(client.query(&sql, &[]))
            .map_err(pg_err(format!("read rows of {}", m.display)))?;
        rows.iter().map(|r| text_row(r, m.columns.len())).collect()
    }

    fn step_sql(
        &self,
        m: &TableMeta,
        kind: StepKind,
        before: Option<&Row>,
        set: &[(usize, Value)],
    ) -> String {
        let name = |i: usize| m.columns.get(i).map(|c| ident(&c.name)).unwrap_or_default();
        let mut conds = Vec::new();
        if let Some(b) = before {
            let (cols, vals) = key_of(m, b);
            conds = row_conds(m, &cols, &vals);
            if let Some(x) = &b.xmin {
                conds.push(format!("xmin = {}::xid", quote(x)));
            }
        }
        match kind {
            StepKind::Update => {
                let assigns: Vec<String> = set
                    .iter()
                    .map(|(i, v)| format!("{} = {}", name(*i), lit(v)))
                    .collect();
                if let Some(b) = before {
                    for (i, _) in set {
                        let old = b.values.get(*i).cloned().unwrap_or(Value::Null);
                        let c = same_text(m, *i, &old);
                        if !conds.contains(&c) {
                            conds.push(c);
                        }
                    }
                }
                format!(
                    "UPDATE {} SET {} WHERE {}{}",
                    m.sql_name,
                    assigns.join(", "),
                    conds.join(" AND "),
                    returning(m)
                )
            }
            StepKind::Insert => {
                let cols: Vec<String> = set.iter().map(|(i, _)| name(*i)).collect();
                let vals: Vec<String> = set.iter().map(|(_, v)| lit(v)).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({}){}",
                    m.sql_name,
                    cols.join(", "),
                    vals.join(", "),
                    returning(m)
                )
            }
            StepKind::Delete => format!(
                "DELETE FROM {} WHERE {}{}",
                m.sql_name,
                conds.join(" AND "),
                returning(m)
            ),
        }
    }

    fn execute(&mut self, m: &TableMeta, steps: &[Step], opts: &CommitOptions) -> Result<Executed> {
        let client = self.s.client.clone();
        let begin = format!(
            "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'",
            opts.lock_timeout.as_millis(),
            opts.statement_timeout.as_millis()
        );
        let n_cols = m.columns.len();
        let outcome = self.s.rt.block_on(async {
            client
                .batch_execute(&begin)
                .await
                .map_err(|e| map_err(e, "BEGIN"))?;
            let mut after = Vec::with_capacity(steps.len());
            let mut conflicts = Vec::new();
            for (idx, s) in steps.iter().enumerate() {
                let rows = match client.query(s.sql.as_str(), &[]).await {
                    Ok(r) => r,
                    Err(e)
                        if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                            && s.kind == StepKind::Insert =>
                    {
                        conflicts.push((idx, format!("the key is taken: {}", pg_message(&e))));
                        break;
                    }
                    Err(e) => return Err(map_err(e, &s.place)),
                };
                match rows.as_slice() {
                    [r] => after.push(if s.kind == StepKind::Delete {
                        None
                    } else {
                        Some(text_row(r, n_cols)?)
                    }),
                    [] => conflicts.push((
                        idx,
                        "the row changed or vanished since it was read".to_owned(),
                    )),
                    more => conflicts.push((
                        idx,
                        format!("the statement would touch {} rows", more.len()),
                    )),
                }
            }
            if conflicts.is_empty() {
                client
                    .batch_execute("COMMIT")
                    .await
                    .map_err(|e| map_err(e, "COMMIT"))?;
                return Ok(Executed::Committed(after));
            }
            client
                .batch_execute("ROLLBACK")
                .await
                .map_err(|e| map_err(e, "ROLLBACK"))?;
            Ok(Executed::RolledBack(conflicts))
        });
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                let _ = self.s.rt.block_on(client.batch_execute("ROLLBACK"));
                return Err(e);
            }
        };
        Ok(outcome)
    }

    fn read_only(&self) -> bool {
        self.s.read_only
    }

    fn identity(&self) -> String {
        self.s.target.identity()
    }
}

fn map_err(e: tokio_postgres::Error, context: &str) -> Error {
    match e.code() {
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => Error::LockTimeout { source: e },
        Some(c) if *c == SqlState::QUERY_CANCELED => Error::StatementTimeout { source: e },
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => Error::ReadOnly,
        _ => Error::Pg {
            context: context.to_owned(),
            source: e,
        },
    }
}
