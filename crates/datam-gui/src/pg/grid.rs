//! The rows of one PostgreSQL table as the grid holds them: compact owned
//! rows (`pg dump`'s values and provenance), the filter (status, text), the
//! sort, and the display order as row indices.

use std::cmp::Ordering;
use std::path::Path;

use datam_core::pg::dump::{DumpRow, TableInfo};

use super::backend::{self, RowsMsg};
use crate::job::{Job, Waker};

/// One heap tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRow {
    /// Index into [`PgGrid::files`].
    pub file: u32,
    /// Block in the relation.
    pub block: u32,
    /// Line pointer.
    pub lp: u16,
    /// `t_xmin`.
    pub xmin: u32,
    /// `t_xmax`.
    pub xmax: u32,
    /// `live`, `dead` ...
    pub status: &'static str,
    /// Column values as PostgreSQL prints them (`None` = NULL).
    pub values: Box<[Option<Box<str>>]>,
}

/// What the PG grid sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgSort {
    /// Live rows in block order, then dead ones.
    Arrival,
    /// Status.
    Status,
    /// Block, then line pointer.
    Ctid,
    /// `xmin`.
    Xmin,
    /// `xmax`.
    Xmax,
    /// Value column `n` (numbers numerically, else text).
    Column(usize),
}

/// The grid of one table.
pub struct PgGrid {
    /// Database of the table.
    pub db: String,
    /// `schema.table`.
    pub table: String,
    /// Column names (attnum order).
    pub columns: Vec<String>,
    /// Heap segment files the rows are in.
    pub files: Vec<String>,
    /// Every row, live rows first.
    pub rows: Vec<PgRow>,
    /// Display order (indices into `rows`).
    pub view: Vec<u32>,
    /// Case-insensitive text some value of each shown row contains.
    pub filter_text: String,
    /// Show live rows.
    pub show_live: bool,
    /// Show dead (and other non-live) rows.
    pub show_dead: bool,
    /// Sort key and whether descending.
    pub sort: (PgSort, bool),
    /// The selected row.
    pub selected: Option<u32>,
    /// Errors of the dump jobs.
    pub errors: Vec<String>,
    job: Option<Job<RowsMsg>>,
}

impl PgGrid {
    /// Starts dumping `t` (live rows, then dead ones).
    pub fn start(path: &Path, t: &TableInfo, wake: &Waker) -> Self {
        let table = format!("{}.{}", t.schema, t.table);
        let mut g = Self {
            db: t.db.clone(),
            table: table.clone(),
            columns: Vec::new(),
            files: Vec::new(),
            rows: Vec::new(),
            view: Vec::new(),
            filter_text: String::new(),
            show_live: true,
            show_dead: true,
            sort: (PgSort::Arrival, false),
            selected: None,
            errors: Vec::new(),
            job: None,
        };
        match backend::start_rows(path.to_path_buf(), t.db.clone(), table, wake.clone()) {
            Ok(j) => g.job = Some(j),
            Err(e) => g.errors.push(e.to_string()),
        }
        g
    }

    /// Whether the dump finished.
    pub fn is_idle(&self) -> bool {
        self.job.is_none()
    }

    /// Stops the dump.
    pub fn cancel(&self) {
        if let Some(j) = &self.job {
            j.cancel();
        }
    }

    /// Rows with status `s`.
    pub fn count(&self, s: &str) -> usize {
        self.rows.iter().filter(|r| r.status == s).count()
    }

    /// Takes in the rows that arrived.
    pub fn poll(&mut self) {
        let Some(j) = &mut self.job else {
            return;
        };
        let msgs = j.poll();
        let finished = j.is_finished();
        let first_new = self.rows.len();
        for m in msgs {
            match m {
                RowsMsg::Columns(c) => self.columns = c,
                RowsMsg::Rows(rows) => {
                    for r in rows {
                        self.push(r);
                    }
                }
                RowsMsg::Failed(e) => self.errors.push(e),
            }
        }
        if finished {
            self.job = None;
        }
        // New rows go at the end; a sort in force is applied again when the
        // dump ends (no re-sort of everything per batch).
        let needle = self.filter_text.to_lowercase();
        let new: Vec<u32> = (first_new..self.rows.len())
            .filter(|&i| self.rows.get(i).is_some_and(|r| self.accepts(r, &needle)))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        self.view.extend(new);
        if finished && self.sort != (PgSort::Arrival, false) {
            self.rebuild();
        }
    }

    fn push(&mut self, r: DumpRow) {
        let file = match self.files.iter().position(|f| *f == r.file) {
            Some(i) => i,
            None => {
                self.files.push(r.file);
                self.files.len() - 1
            }
        };
        self.rows.push(PgRow {
            file: u32::try_from(file).unwrap_or(u32::MAX),
            block: r.block,
            lp: r.lp,
            xmin: r.xmin,
            xmax: r.xmax,
            status: r.status,
            values: r
                .values
                .into_iter()
                .map(|v| v.map(String::into_boxed_str))
                .collect(),
        });
    }

    /// Whether `r` passes the filter.
    fn accepts(&self, r: &PgRow, needle: &str) -> bool {
        let status_ok = if r.status == "live" {
            self.show_live
        } else {
            self.show_dead
        };
        status_ok
            && (needle.is_empty()
                || r.values
                    .iter()
                    .flatten()
                    .any(|v| v.to_lowercase().contains(needle)))
    }

    /// Recomputes the display order (filter, then sort).
    pub fn rebuild(&mut self) {
        let needle = self.filter_text.to_lowercase();
        let view: Vec<u32> = (0..self.rows.len())
            .filter(|&i| self.rows.get(i).is_some_and(|r| self.accepts(r, &needle)))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        self.view = view;
        let (key, desc) = self.sort;
        let rows = &self.rows;
        self.view.sort_by(|a, b| {
            let o = match (rows.get(*a as usize), rows.get(*b as usize)) {
                (Some(x), Some(y)) => compare(x, y, key),
                _ => Ordering::Equal,
            }
            .then(a.cmp(b));
            if desc { o.reverse() } else { o }
        });
    }

    /// Sorts by `key` (again: reverses).
    pub fn sort_by(&mut self, key: PgSort) {
        self.sort = match self.sort {
            (k, desc) if k == key => (key, !desc),
            _ => (key, false),
        };
        self.rebuild();
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&PgRow> {
        self.rows.get(self.selected? as usize)
    }
}

fn compare(x: &PgRow, y: &PgRow, key: PgSort) -> Ordering {
    match key {
        PgSort::Arrival => Ordering::Equal,
        PgSort::Status => x.status.cmp(y.status),
        PgSort::Ctid => (x.file, x.block, x.lp).cmp(&(y.file, y.block, y.lp)),
        PgSort::Xmin => x.xmin.cmp(&y.xmin),
        PgSort::Xmax => x.xmax.cmp(&y.xmax),
        PgSort::Column(c) => {
            fn get(r: &PgRow, c: usize) -> Option<&str> {
                r.values.get(c).and_then(|v| v.as_deref())
            }
            match (get(x, c), get(y, c)) {
                (Some(a), Some(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(p), Ok(q)) => p.total_cmp(&q),
                    _ => a.cmp(b),
                },
                (a, b) => a.is_some().cmp(&b.is_some()),
            }
        }
    }
}
