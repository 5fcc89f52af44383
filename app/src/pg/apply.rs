//! `datam pg rescue --apply`: runs the undo plan on a server through
//! tokio-postgres, in one transaction with the plan's timeouts, after
//! checking that each target table has the columns and types of the plan.
//! Any error rolls everything back (the transaction is dropped unfinished).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use pgrescue::plan::{RowKind, TablePlan};
use pgrescue::sql::{Timeouts, quote_ident};
use rowcodec::pg::TypeCatalog;

/// Connects to `url`, runs the undo of `plans` in one transaction and
/// returns the rows affected per kind of statement.
pub fn apply(
    url: &str,
    plans: &[TablePlan],
    types: &dyn TypeCatalog,
    timeouts: &Timeouts,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .with_context(|| format!("bad connection string {url:?}"))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let statements = super::rescue::all_statements(plans, types);
    let settings = super::rescue::settings(timeouts);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let (mut client, conn) = config
            .connect(tokio_postgres::NoTls)
            .await
            .context("cannot connect")?;
        let conn_task = tokio::spawn(conn);
        let tx = client.transaction().await?;
        for s in &settings {
            tx.batch_execute(s).await.with_context(|| s.clone())?;
        }
        for t in plans {
            check_columns(&tx, t).await?;
        }
        let mut affected: BTreeMap<String, u64> = BTreeMap::new();
        for (t, st) in &statements {
            let n = tx.execute(st.sql.as_str(), &[]).await.with_context(|| {
                format!(
                    "{}.{}: {}",
                    t.schema,
                    t.name,
                    st.sql.chars().take(200).collect::<String>()
                )
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
        tx.commit().await.context("COMMIT failed")?;
        drop(client);
        let _ = conn_task.await;
        Ok(affected)
    })
}

/// The target table must have the plan's columns, in order, with the same
/// type names.
async fn check_columns(tx: &tokio_postgres::Transaction<'_>, t: &TablePlan) -> anyhow::Result<()> {
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
        .with_context(|| format!("table {qualified} on the target server"))?;
    let found: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let want: Vec<(String, String)> = t
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.type_name.clone()))
        .collect();
    if found != want {
        bail!(
            "table {qualified} on the target server has columns {found:?}, the plan has {want:?}; nothing was changed"
        );
    }
    Ok(())
}
