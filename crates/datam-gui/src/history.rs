//! The History screen's state: every version of one SQLite row (database
//! file, `-wal` frames, `-journal` pages), read by datam-core's
//! `sqlite::history` job (the one behind `datam sqlite history`) and kept as
//! the JSON objects that command prints with `--format jsonl`.

use std::path::PathBuf;

use datam_core::sqlite::history::{HistoryItem, HistoryRequest, SideFiles, history, version_json};
use serde_json::Value as Json;

use crate::job::{Job, Waker};

/// Which row: table name and rowid.
pub type RowKey = (String, i64);

/// The versions of the row being looked at.
#[derive(Default)]
pub struct RowHistory {
    /// The row.
    pub key: Option<RowKey>,
    /// Its versions, oldest first (the `history --format jsonl` objects).
    pub versions: Option<Result<Vec<Json>, String>>,
    job: Option<Job<Result<Vec<Json>, String>>>,
}

impl RowHistory {
    /// Whether no job is running.
    pub fn is_idle(&self) -> bool {
        self.job.is_none()
    }

    /// Starts reading the versions of `key` in `db` unless they are loaded.
    pub fn load(&mut self, db: PathBuf, key: RowKey, wake: &Waker) {
        if self.key.as_ref() == Some(&key) {
            return;
        }
        self.versions = None;
        let req = HistoryRequest {
            db,
            side: SideFiles::default(),
            table: Some(key.0.clone()),
            rowid: Some(key.1),
            key: None,
        };
        self.key = Some(key);
        let job = Job::spawn("history", wake.clone(), move |ctx, out| {
            let mut items: Vec<HistoryItem> = Vec::new();
            let res = history(&req, ctx, &mut items)
                .map(|_| {
                    items
                        .iter()
                        .map(|i| version_json(&i.version, &i.file))
                        .collect()
                })
                .map_err(|e| e.to_string());
            out.send(res);
        });
        match job {
            Ok(j) => self.job = Some(j),
            Err(e) => self.versions = Some(Err(e.to_string())),
        }
    }

    /// Polls the job.
    pub fn poll(&mut self) {
        crate::pg::poll_into(&mut self.job, &mut self.versions);
    }
}
