//! `sqlite salvage` into one [`SqliteBatcher`] per table (output name: the
//! table's, [`UNATTRIBUTED`] for rows no schema matched), side-file rows
//! included; `sqlite history` into [`HistoryBatcher`] batches (output
//! [`HISTORY`]).

use std::collections::BTreeMap;

use datam_core::job::{JobCtx, Sink};
use datam_core::sqlite::history::{HistoryItem, HistoryOutcome, HistoryRequest, SideRow, history};
use datam_core::sqlite::salvage::{SalvageRequest, SalvageSink, SalvageSummary, salvage};
use rowcodec::sqlite::{TextEncoding, Value};
use serde_json::Value as Json;
use sqlite_pages::db::{Db, RowFormat, RowMark};
use sqlite_pages::scan::{RecoveredRow, RowRef};

use super::{BATCH_ROWS, BatchOut, JobError};
use crate::Error;
use crate::history::HistoryBatcher;
use crate::sqlite::{Provenance, SqliteBatcher};

/// Output name of the rows no schema matched.
pub const UNATTRIBUTED: &str = "datam_unattributed";

/// Output name of `sqlite history` batches.
pub const HISTORY: &str = "history";

/// The worker half: rows copied out of the page buffers.
#[derive(Debug, Clone, Copy)]
pub struct OwnedRows;

impl RowFormat for OwnedRows {
    type Batch = Vec<RecoveredRow>;
    fn add(&self, _db: &Db<'_>, row: &RowRef<'_>, batch: &mut Vec<RecoveredRow>) {
        batch.push(row.to_owned_row());
    }
}

/// The salvage sink: per output name a batcher (columns of the first table
/// of that name), full batches handed to `out`.
pub struct SalvageBatches<'o, 'a> {
    out: &'o mut BatchOut<'a>,
    file: String,
    /// Output name and columns per table index of the database.
    tables: Vec<(String, Vec<String>)>,
    by_name: BTreeMap<String, SqliteBatcher>,
}

impl<'o, 'a> SalvageBatches<'o, 'a> {
    /// A sink for rows of the database labelled `file`.
    pub fn new(file: &str, out: &'o mut BatchOut<'a>) -> Self {
        Self {
            out,
            file: file.to_string(),
            tables: Vec::new(),
            by_name: BTreeMap::new(),
        }
    }

    /// The batcher of `name` (created with these columns).
    fn batcher(&mut self, name: &str) -> &mut SqliteBatcher {
        let cols = self
            .tables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        self.by_name
            .entry(name.to_string())
            .or_insert_with(|| SqliteBatcher::new(&cols))
    }

    /// Hands the batch of `name` out when full.
    fn flush_full(&mut self, name: &str) -> Result<bool, Error> {
        match self.by_name.get_mut(name) {
            Some(b) if b.len() >= BATCH_ROWS => {
                let batch = b.finish()?;
                (self.out)(name, batch)
            }
            _ => Ok(true),
        }
    }

    fn name_of(&self, table: Option<usize>) -> String {
        table
            .and_then(|t| self.tables.get(t))
            .map_or_else(|| UNATTRIBUTED.to_string(), |(n, _)| n.clone())
    }
}

impl SalvageSink for SalvageBatches<'_, '_> {
    type Error = Error;
    type Format = OwnedRows;

    fn start(&mut self, db: &Db<'_>) -> Result<OwnedRows, Error> {
        self.tables = db
            .tables
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.columns.iter().map(|c| c.name.clone()).collect(),
                )
            })
            .collect();
        Ok(OwnedRows)
    }

    fn batch(
        &mut self,
        _db: &Db<'_>,
        rows: Vec<RecoveredRow>,
        marks: &[RowMark],
    ) -> Result<bool, Error> {
        for (row, mark) in rows.iter().zip(marks) {
            if !mark.keep {
                continue;
            }
            let name = self.name_of(row.table);
            let table = row.table.map(|_| name.as_str());
            let file = self.file.clone();
            let b = self.batcher(&name);
            row.with_ref(|r| b.push(&Provenance::of_row(table, &file, r), r.values, r.enc));
            if !self.flush_full(&name)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn side_row(&mut self, _row: &Json) -> Result<bool, Error> {
        // Every side row comes through `side_version`, which has its values exact.
        Ok(true)
    }

    fn side_version(&mut self, row: &SideRow) -> Result<bool, Error> {
        let v = &row.version;
        let Some(values) = &v.values else {
            return Ok(true);
        };
        let values: Vec<Value<'_>> = values.iter().map(|x| x.as_value()).collect();
        let p = Provenance {
            table: Some(&v.table),
            status: v.status.name(),
            file: &row.file,
            page: v.page.map_or(0, |p| p.0),
            offset: v.page.and_then(|p| i64::try_from(p.1).ok()).unwrap_or(-1),
            rowid: v.rowid,
            rowid_inferred: false,
            // f32 holds every confidence the job gives (1.0, 0.8 or the carver's f32).
            #[allow(clippy::cast_possible_truncation)]
            confidence: row.confidence as f32,
            frame: v.frame.map(|f| f.frame_no),
            journal_record: v.journal.map(|j| j.pgno),
            raw: None,
        };
        self.batcher(&v.table).push(&p, &values, TextEncoding::Utf8);
        self.flush_full(&v.table)
    }

    fn finish(&mut self, _db: &Db<'_>) -> Result<(), Error> {
        for (name, b) in &mut self.by_name {
            if !b.is_empty() {
                let batch = b.finish()?;
                if !(self.out)(name, batch)? {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Runs `datam sqlite salvage` (side files as `req.side` says) into one
/// output per table.
pub fn salvage_batches(
    req: &SalvageRequest,
    job: &JobCtx,
    out: &mut BatchOut<'_>,
) -> Result<SalvageSummary, JobError> {
    let label = req.db.display().to_string();
    let mut sink = SalvageBatches::new(&label, out);
    Ok(salvage(req, job, &mut sink, false)?)
}

/// The history sink: one batcher, full batches handed to `out`.
struct HistorySink<'o, 'a> {
    out: &'o mut BatchOut<'a>,
    batcher: HistoryBatcher,
}

impl Sink<HistoryItem> for HistorySink<'_, '_> {
    type Error = Error;
    fn item(&mut self, it: HistoryItem) -> Result<bool, Error> {
        self.batcher.push(&it.version, &it.file);
        if self.batcher.len() >= BATCH_ROWS {
            let b = self.batcher.finish()?;
            return (self.out)(HISTORY, b);
        }
        Ok(true)
    }
}

/// Runs `datam sqlite history` into batches (output [`HISTORY`]).
pub fn history_batches(
    req: &HistoryRequest,
    job: &JobCtx,
    out: &mut BatchOut<'_>,
) -> Result<HistoryOutcome, JobError> {
    let mut sink = HistorySink {
        out,
        batcher: HistoryBatcher::new(),
    };
    let outcome = history(req, job, &mut sink)?;
    if !sink.batcher.is_empty() {
        let b = sink.batcher.finish()?;
        (sink.out)(HISTORY, b)?;
    }
    Ok(outcome)
}
