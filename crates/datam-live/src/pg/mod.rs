//! The PostgreSQL side: one connection (tokio-postgres on a private
//! runtime), the catalog queries, rows in binary format, guarded edits and
//! the parallel export.

pub mod copy_binary;
mod decode;
mod edit;
pub mod export;
pub(crate) use edit::PgEngine;

mod rows;
pub mod tls;

use std::sync::Arc;

use rowcodec::pg::TypeMap;
use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::plan::TableMeta;
use crate::target::PgTarget;
use crate::value::{Column, TableInfo, ident};

pub use rows::PgRows;

/// The settings every session runs with, so values print as the offline
/// readers print them (see `rowcodec::pg`) and literals in the SQL shown
/// to the user mean what they say.
const SESSION_SETTINGS: &str = "SET DateStyle = ISO; SET TimeZone = 'UTC'; \
    SET extra_float_digits = 1; SET bytea_output = hex; SET IntervalStyle = postgres; \
    SET standard_conforming_strings = on; SET client_encoding = 'UTF8'";

/// A connection to a PostgreSQL server.
pub struct PgSession {
    rt: tokio::runtime::Runtime,
    client: Arc<Client>,
    target: PgTarget,
    read_only: bool,
    server_version_num: i32,
    cat: TypeMap,
}

impl std::fmt::Debug for PgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSession")
            .field("target", &self.target)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// Per-column facts the edit path needs besides [`Column`].
#[derive(Debug, Clone)]
pub(crate) struct PgColumn {
    pub typinput: String,
    pub input_nargs: i32,
    pub ioparam: i64,
    pub typmod: i32,
}

pub(crate) fn pg_err(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Error {
    let context = context.into();
    move |source| Error::Pg { context, source }
}

pub(crate) async fn connect_client(target: &PgTarget) -> Result<Client> {
    let config = target.config_for_connect();
    let connector = target.tls().connector()?;
    let (client, conn) = config.connect(connector).await.map_err(|source| {
        if tls::is_tls_failure(&source) {
            Error::Tls {
                target: target.identity(),
                mode: target.tls().mode.as_str(),
                source,
            }
        } else {
            if let Some(note) = target.keychain_note() {
                tracing::warn!("no password from the OS keychain: {note}");
            }
            Error::Connect {
                target: target.identity(),
                source,
            }
        }
    })?;
    // The config (and the driver's copy of the password) goes now.
    drop(config);
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    client
        .batch_execute(SESSION_SETTINGS)
        .await
        .map_err(pg_err("session settings"))?;
    Ok(client)
}

impl PgSession {
    /// Connects; with `read_only` the session's transactions are
    /// read-only (`default_transaction_read_only`) and edits are refused.
    pub fn connect(target: &PgTarget, read_only: bool) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("datam-live-pg")
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "tokio runtime".into(),
                source,
            })?;
        let (client, version) = rt.block_on(async {
            let c = connect_client(target).await?;
            if read_only {
                c.batch_execute("SET default_transaction_read_only = on")
                    .await
                    .map_err(pg_err("SET default_transaction_read_only"))?;
            }
            let v: i32 = c
                .query_one("SELECT current_setting('server_version_num')::int4", &[])
                .await
                .map_err(pg_err("server version"))?
                .get(0);
            Ok::<_, Error>((c, v))
        })?;
        Ok(Self {
            rt,
            client: Arc::new(client),
            target: target.clone(),
            read_only,
            server_version_num: version,
            cat: TypeMap::builtin(),
        })
    }

    /// `server_version_num` (e.g. 170002).
    pub fn server_version_num(&self) -> i32 {
        self.server_version_num
    }

    /// Tables, views and materialized views outside the system schemas.
    pub fn tables(&mut self) -> Result<Vec<TableInfo>> {
        let sql = "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.reltuples::int8, c.oid::int8 \
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE c.relkind IN ('r','p','v','m','f') \
                   AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%' \
                   ORDER BY 1, 2";
        let client = self.client.clone();
        self.rt.block_on(async move {
            let rows = client
                .query(sql, &[])
                .await
                .map_err(pg_err("list tables"))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let kind = match r.get::<_, String>(2).as_str() {
                    "r" => "table",
                    "p" => "partitioned table",
                    "v" => "view",
                    "m" => "materialized view",
                    _ => "foreign table",
                };
                let columns = columns(&client, r.get(4)).await?;
                let key = key_columns(&client, r.get(4), &columns).await?;
                let est: i64 = r.get(3);
                out.push(TableInfo {
                    schema: r.get(0),
                    name: r.get(1),
                    kind,
                    estimated_rows: (est >= 0).then_some(est),
                    key: key
                        .iter()
                        .filter_map(|&i| columns.get(i))
                        .map(|c| c.0.name.clone())
                        .collect(),
                });
            }
            Ok(out)
        })
    }

    /// The table's columns, key and SQL name.
    pub(crate) fn meta_full(&self, table: &str) -> Result<PgMeta> {
        let client = self.client.clone();
        let table = table.to_owned();
        self.rt.block_on(async move {
            let (schema, name) = match table.split_once('.') {
                Some((s, n)) => (Some(s.to_owned()), n.to_owned()),
                None => (None, table.clone()),
            };
            let row = client
                .query_opt(
                    "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind IN ('r','p','m') FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relname = $1 AND c.relkind IN ('r','p','v','m','f') \
                     AND CASE WHEN $2::text IS NULL THEN pg_table_is_visible(c.oid) ELSE n.nspname = $2 END",
                    &[&name, &schema],
                )
                .await
                .map_err(pg_err("find table"))?
                .ok_or_else(|| Error::NoTable { table: table.clone() })?;
            let oid: i64 = row.get(0);
            let (nsp, rel): (String, String) = (row.get(1), row.get(2));
            let cols = columns(&client, oid).await?;
            let key = key_columns(&client, oid, &cols).await?;
            let (columns, pg): (Vec<Column>, Vec<PgColumn>) = cols.into_iter().map(|(c, p, _)| (c, p)).unzip();
            let meta = TableMeta {
                sql_name: format!("{}.{}", ident(&nsp), ident(&rel)),
                display: format!("{nsp}.{rel}"),
                columns,
                key,
            };
            Ok(PgMeta { meta, pg, oid, has_xmin: row.get(3) })
        })
    }
}

/// A table's facts on the PostgreSQL side.
#[derive(Debug, Clone)]
pub(crate) struct PgMeta {
    pub meta: TableMeta,
    pub pg: Vec<PgColumn>,
    pub oid: i64,
    /// Views and foreign tables have no `xmin`.
    pub has_xmin: bool,
}

type ColRow = (Column, PgColumn, i16);

async fn columns(client: &Client, oid: i64) -> Result<Vec<ColRow>> {
    let rows = client
        .query(
            "SELECT a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
             a.attgenerated <> '', t.typinput::regproc::text, p.pronargs::int4, \
             (CASE WHEN t.typelem <> 0 THEN t.typelem ELSE t.oid END)::int8, a.atttypmod \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_proc p ON p.oid = t.typinput \
             WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .map_err(pg_err("read columns"))?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                Column {
                    name: r.get(1),
                    type_name: r.get(2),
                    not_null: r.get(3),
                    generated: r.get(4),
                },
                PgColumn {
                    typinput: r.get(5),
                    input_nargs: r.get(6),
                    ioparam: r.get(7),
                    typmod: r.get(8),
                },
                r.get(0),
            )
        })
        .collect())
}

/// The primary key, else the first valid, non-partial NOT NULL unique
/// index on plain columns, as column indexes.
async fn key_columns(client: &Client, oid: i64, cols: &[ColRow]) -> Result<Vec<usize>> {
    let rows = client
        .query(
            "SELECT i.indkey::text FROM pg_index i WHERE i.indrelid = $1::int8::oid \
             AND (i.indisprimary OR i.indisunique) AND i.indpred IS NULL AND i.indexprs IS NULL \
             AND i.indisvalid ORDER BY i.indisprimary DESC, i.indexrelid",
            &[&oid],
        )
        .await
        .map_err(pg_err("read keys"))?;
    for r in rows {
        let indkey: String = r.get(0);
        let idx: Option<Vec<usize>> = indkey
            .split_whitespace()
            .map(|n| {
                let attnum: i16 = n.parse().ok()?;
                cols.iter().position(|c| c.2 == attnum && c.0.not_null)
            })
            .collect();
        if let Some(idx) = idx.filter(|v| !v.is_empty()) {
            return Ok(idx);
        }
    }
    Ok(Vec::new())
}
