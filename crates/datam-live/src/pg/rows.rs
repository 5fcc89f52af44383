//! Rows of one table in binary format through a cursor: batches sized to
//! about 1 MiB of wire data (fewer rows when they are wide or the round
//! trip is slow), the next batch fetched while the caller handles this one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_postgres::types::{FromSql, Type};

use super::decode::{Decoder, decoder_for};
use super::{PgSession, pg_err};
use crate::RowQuery;
use crate::error::{Error, Result};
use crate::value::{Batch, Column, Row, Value, ident};

/// Target wire bytes per batch.
const BATCH_BYTES: u64 = 1 << 20;
const MIN_BATCH_ROWS: u64 = 64;
const MAX_BATCH_ROWS: u64 = 50_000;
const FIRST_BATCH_ROWS: u64 = 500;
/// A round trip slower than this halves the batch (a grid wants its first
/// screen soon).
const SLOW_FETCH: Duration = Duration::from_millis(500);

/// A column's raw binary value, any type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

type Fetch =
    JoinHandle<std::result::Result<(Vec<tokio_postgres::Row>, Duration), tokio_postgres::Error>>;

/// Rows being read from a server (see [`PgSession::rows`]).
pub struct PgRows<'s> {
    session: &'s PgSession,
    columns: Vec<Column>,
    decoders: Vec<Decoder>,
    pending: Option<(Fetch, u64)>,
    open: bool,
}

impl std::fmt::Debug for PgRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRows")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

impl PgSession {
    /// Starts reading rows in a read-only repeatable-read transaction (so a
    /// `--where` expression cannot write, and every batch sees one
    /// snapshot). `filter` is an SQL expression the user wrote; `order_by`
    /// must name a column.
    pub fn rows(&mut self, q: &RowQuery) -> Result<PgRows<'_>> {
        let pm = self.meta_full(&q.table)?;
        let m = &pm.meta;
        let tail = q.sql_tail(m)?;
        let xmin = if pm.has_xmin {
            "xmin::text"
        } else {
            "NULL::text"
        };
        let names: Vec<String> = m.columns.iter().map(|c| ident(&c.name)).collect();
        let probe = format!(
            "SELECT {xmin}, {} FROM {}{tail}",
            names.join(", "),
            m.sql_name
        );
        let client = self.client.clone();
        let stmt = self
            .rt
            .block_on(client.prepare(&probe))
            .map_err(pg_err("prepare SELECT"))?;
        let mut decoders = vec![Decoder::Text];
        let mut list = vec![xmin.to_owned()];
        for (c, name) in stmt.columns().iter().skip(1).zip(&names) {
            match decoder_for(&self.cat, c.type_().oid()) {
                Some(d) => {
                    decoders.push(d);
                    list.push(name.clone());
                }
                None => {
                    decoders.push(Decoder::Text);
                    list.push(text_expr(name));
                }
            }
        }
        let sql = format!("SELECT {} FROM {}{tail}", list.join(", "), m.sql_name);
        let declare = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; DECLARE datam_rows NO SCROLL CURSOR FOR {sql}"
        );
        self.rt
            .block_on(client.batch_execute(&declare))
            .map_err(pg_err("DECLARE CURSOR"))?;
        let mut rows = PgRows {
            session: self,
            columns: pm.meta.columns,
            decoders,
            pending: None,
            open: true,
        };
        rows.fetch(FIRST_BATCH_ROWS);
        Ok(rows)
    }
}

/// The output text of a column whatever its type (NULL stays NULL).
pub(crate) fn text_expr(quoted: &str) -> String {
    format!("CASE WHEN {quoted} IS NULL THEN NULL ELSE format('%s', {quoted}) END")
}

impl PgRows<'_> {
    /// The columns, in the order of each row's values.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn fetch(&mut self, n: u64) {
        let client: Arc<tokio_postgres::Client> = self.session.client.clone();
        let sql = format!("FETCH {n} FROM datam_rows");
        let h = self.session.rt.spawn(async move {
            let t = Instant::now();
            let rows = client.query(&sql, &[]).await?;
            Ok((rows, t.elapsed()))
        });
        self.pending = Some((h, n));
    }

    /// The next batch, or None at the end. The following batch is already
    /// being fetched when this returns.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        let Some((h, asked)) = self.pending.take() else {
            self.close()?;
            return Ok(None);
        };
        let (rows, rtt) = match self.session.rt.block_on(h) {
            Ok(r) => r.map_err(pg_err("FETCH"))?,
            Err(e) => {
                return Err(Error::Io {
                    path: "fetch task".into(),
                    source: std::io::Error::other(e),
                });
            }
        };
        let wire_bytes: u64 = rows.iter().map(|r| wire_size(r, self.decoders.len())).sum();
        let n_rows = rows.len() as u64;
        if n_rows == asked {
            self.fetch(next_batch_rows(wire_bytes, n_rows, rtt));
        }
        if n_rows == 0 {
            self.close()?;
            return Ok(None);
        }
        let decoded = rows
            .iter()
            .map(|r| self.decode(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Batch {
            rows: decoded,
            wire_bytes,
        }))
    }

    fn decode(&self, r: &tokio_postgres::Row) -> Result<Row> {
        let cat = &self.session.cat;
        let mut scratch = Vec::new();
        let mut values = Vec::with_capacity(self.columns.len());
        let mut xmin = None;
        for (i, d) in self.decoders.iter().enumerate() {
            let raw: Option<Raw<'_>> = r.try_get(i).map_err(pg_err("read value"))?;
            let Some(Raw(bytes)) = raw else {
                if i > 0 {
                    values.push(Value::Null);
                }
                continue;
            };
            let mut s = String::new();
            d.write(cat, bytes, &mut scratch, &mut s)
                .map_err(|source| Error::Decode {
                    column: i
                        .checked_sub(1)
                        .and_then(|c| self.columns.get(c))
                        .map(|c| c.name.clone())
                        .unwrap_or_else(|| "xmin".into()),
                    source,
                })?;
            if i == 0 {
                xmin = Some(s);
            } else {
                values.push(Value::Text(s));
            }
        }
        Ok(Row { values, xmin })
    }

    fn close(&mut self) -> Result<()> {
        if self.open {
            self.open = false;
            if let Some((h, _)) = self.pending.take() {
                let _ = self.session.rt.block_on(h);
            }
            let client = self.session.client.clone();
            self.session
                .rt
                .block_on(client.batch_execute("CLOSE datam_rows; COMMIT"))
                .map_err(pg_err("CLOSE cursor"))?;
        }
        Ok(())
    }
}

impl Drop for PgRows<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.close();
        }
    }
}

fn wire_size(r: &tokio_postgres::Row, n: usize) -> u64 {
    (0..n)
        .map(|i| match r.try_get::<_, Option<Raw<'_>>>(i) {
            Ok(Some(Raw(b))) => b.len() as u64 + 4,
            _ => 4,
        })
        .sum()
}

/// Rows for the next batch: about [`BATCH_BYTES`] of wire data, halved
/// after a slow round trip.
pub(crate) fn next_batch_rows(wire_bytes: u64, n_rows: u64, rtt: Duration) -> u64 {
    let per_row = (wire_bytes / n_rows.max(1)).max(1);
    let mut n = (BATCH_BYTES / per_row).clamp(MIN_BATCH_ROWS, MAX_BATCH_ROWS);
    if rtt > SLOW_FETCH {
        n = (n / 2).max(MIN_BATCH_ROWS);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_adapt_to_row_width_and_latency() {
        let fast = Duration::from_millis(5);
        assert_eq!(next_batch_rows(500 * 100, 500, fast), 10_485);
        assert_eq!(next_batch_rows(10 * 1_000_000, 10, fast), MIN_BATCH_ROWS);
        assert_eq!(next_batch_rows(500 * 8, 500, fast), MAX_BATCH_ROWS);
        assert_eq!(
            next_batch_rows(500 * 100, 500, Duration::from_secs(1)),
            5_242
        );
    }
}
