//! The versions of one PostgreSQL row: datam-core's `pg::dump::history`
//! (the use case behind `datam pg history`) for the table of the grid,
//! keyed by one column's value of the selected row (`--key COL=VAL`): every
//! committed insert, update and delete of the rows that had that value,
//! in commit order, with the columns each update changed.

use std::path::PathBuf;

use datam_core::pg::dump::{DumpRequest, HistoryRequest, RowVersion, history};

use crate::job::{Job, Waker};

/// Which row: database, `schema.table`, key column and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRowKey {
    /// The database.
    pub db: String,
    /// `schema.table`.
    pub table: String,
    /// The key column.
    pub column: String,
    /// Its value as PostgreSQL prints it.
    pub value: String,
}

/// The versions of the row being looked at.
#[derive(Default)]
pub struct PgRowHistory {
    /// The row.
    pub key: Option<PgRowKey>,
    /// Index of the key column in the grid's columns.
    pub key_column: usize,
    /// Its versions in commit order.
    pub versions: Option<Result<Vec<RowVersion>, String>>,
    job: Option<Job<Result<Vec<RowVersion>, String>>>,
}

impl PgRowHistory {
    /// Whether no job is running.
    pub fn is_idle(&self) -> bool {
        self.job.is_none()
    }

    /// Starts reading the versions of `key` in `pgdata` unless they are loaded.
    pub fn load(&mut self, pgdata: PathBuf, key: PgRowKey, wake: &Waker) {
        if self.key.as_ref() == Some(&key) {
            return;
        }
        self.versions = None;
        let req = HistoryRequest {
            table: DumpRequest {
                pgdata,
                table: key.table.clone(),
                db: Some(key.db.clone()),
                dead: false,
                only: false,
                threads: None,
            },
            keys: vec![(key.column.clone(), key.value.clone())],
            since: None,
            until: None,
        };
        self.key = Some(key);
        let job = Job::spawn("pg-history", wake.clone(), move |ctx, out| {
            let mut versions = Vec::new();
            let res = history(&req, ctx, &mut |v| {
                versions.push(v);
                true
            });
            out.send(res.map(|_| versions).map_err(|e| e.to_string()));
        });
        match job {
            Ok(j) => self.job = Some(j),
            Err(e) => self.versions = Some(Err(e.to_string())),
        }
    }

    /// Polls the job.
    pub fn poll(&mut self) {
        super::poll_into(&mut self.job, &mut self.versions);
    }
}
