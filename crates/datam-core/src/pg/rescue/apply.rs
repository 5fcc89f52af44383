//! Applying a rescue plan: runs the undo on a server through tokio-postgres,
//! in one transaction with the plan's timeouts, after checking that each
//! target table has the columns and types of the plan. Any error rolls
//! everything back (the transaction is dropped unfinished).

use std::collections::BTreeMap;
use std::time::Duration;

use pgrescue::plan::{RowKind, TablePlan};
use pgrescue::sql::{Timeouts, quote_ident, row_statements, set_local_statements};

use super::RescuePlan;
use crate::job::JobCtx;
use crate::pg::{Error, Result};

/// Rows affected per `schema.table kind` (`re-inserted`, `reverted`, `deleted`).
pub type Applied = BTreeMap<String, u64>;

/// Connects to `conninfo` (`postgres://...` or `host=... dbname=...`), runs
/// the undo of `plan` in one transaction and returns the rows affected.
pub fn apply(
    plan: &RescuePlan,
    conninfo: &str,
    timeouts: &Timeouts,
    job: &JobCtx,
) -> Result<Applied> {
    let _span = tracing::info_span!("pg_rescue_apply").entered();
    job.check()?;
    let mut config: tokio_postgres::Config =
        conninfo.parse().map_err(|source| Error::BadConnInfo {
            conninfo: conninfo.to_string(),
            source,
        })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    rt.block_on(run(config, plan, timeouts))
}

async fn run(
    config: tokio_postgres::Config,
    plan: &RescuePlan,
    timeouts: &Timeouts,
) -> Result<Applied> {
    let plans = &plan.plans;
    let types = &plan.cat.types;
    let (mut client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(Error::Connect)?;
    let conn_task = tokio::spawn(conn);
    let tx = client.transaction().await?;
    for s in set_local_statements(timeouts) {
        tx.batch_execute(&s)
            .await
            .map_err(|source| Error::Statement {
                what: s.clone(),
                source,
            })?;
    }
    for t in plans {
        check_columns(&tx, t).await?;
    }
    let mut affected = Applied::new();
    for t in plans {
        for st in row_statements(t, types) {
            let n = tx
                .execute(st.sql.as_str(), &[])
                .await
                .map_err(|source| Error::Statement {
                    what: format!(
                        "{}.{}: {}",
                        t.schema,
                        t.name,
                        st.sql.chars().take(200).collect::<String>()
                    ),
                    source,
                })?;
            let what = match st.kind {
                RowKind::Reinsert => "re-inserted",
                RowKind::Revert => "reverted",
                RowKind::Delete => "deleted",
            };
            let e = affected
                .entry(format!("{}.{} {what}", t.schema, t.name))
                .or_default();
            *e = e.saturating_add(n);
        }
    }
    tx.commit().await.map_err(|source| Error::Statement {
        what: "COMMIT failed".into(),
        source,
    })?;
    drop(client);
    let _ = conn_task.await;
    Ok(affected)
}

/// The target table must have the plan's columns, in order, with the same
/// type names.
async fn check_columns(tx: &tokio_postgres::Transaction<'_>, t: &TablePlan) -> Result<()> {
    let qualified = format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name));
    let rows = tx
        .query(
            "SELECT a.attname::text, ty.typname::text FROM pg_attribute a \
             JOIN pg_type ty ON ty.oid = a.atttypid \
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&qualified],
        )
        .await
        .map_err(|source| Error::Statement {
            what: format!("table {qualified} on the target server"),
            source,
        })?;
    let found: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let want: Vec<(String, String)> = t
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.type_name.clone()))
        .collect();
    if found != want {
        return Err(Error::ColumnsDiffer {
            table: qualified,
            found,
            want,
        });
    }
    Ok(())
}
