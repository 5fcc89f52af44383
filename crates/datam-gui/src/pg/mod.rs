//! What the GUI holds of an opened PostgreSQL data directory: its tables
//! (`pg tables`), the rows of the table being browsed (`pg dump`, live and
//! dead, with block, line pointer, xmin and xmax) and the rescue wizard's
//! steps. All of it arrives from [`backend`] jobs; nothing here reads a file.

pub mod backend;
pub mod grid;
pub mod history;
pub mod rescue;
pub mod wal;

use std::path::PathBuf;

use datam_core::pg::dump::TableInfo;

use crate::job::{Job, Waker};
use backend::TablesMsg;
pub use grid::PgGrid;
pub use rescue::Wizard;

/// Drains `job` into `slot` (the last message wins); drops it when done.
pub(crate) fn poll_into<T: Send + 'static>(job: &mut Option<Job<T>>, slot: &mut Option<T>) {
    if let Some(j) = job {
        for r in j.poll() {
            *slot = Some(r);
        }
        if j.is_finished() {
            *job = None;
        }
    }
}

/// `db:schema.table`, the name the Tables screen and the wizard show.
pub fn qualified(t: &TableInfo) -> String {
    format!("{}:{}.{}", t.db, t.schema, t.table)
}

/// A PostgreSQL data directory being browsed.
pub struct PgOpened {
    /// The data directory.
    pub path: PathBuf,
    tables_job: Option<Job<TablesMsg>>,
    /// The tables job's answer.
    pub tables: Option<Result<Vec<TableInfo>, String>>,
    /// The path is no data directory (the tables job said so).
    pub not_pg: bool,
    /// The path is a bare WAL directory (segments without a data directory):
    /// only the WAL browser applies.
    pub wal_dir: bool,
    /// The table in the grid.
    pub grid: Option<PgGrid>,
    /// The rescue wizard.
    pub wizard: Wizard,
    /// The WAL browser.
    pub wal: wal::WalBrowser,
    /// The versions of the grid's selected row.
    pub history: history::PgRowHistory,
}

impl PgOpened {
    /// Starts listing the tables of `path` (the job decides whether it is
    /// a data directory).
    pub fn start(path: PathBuf, wake: &Waker) -> Self {
        let mut o = Self {
            path: path.clone(),
            tables_job: None,
            tables: None,
            not_pg: false,
            wal_dir: false,
            grid: None,
            wizard: Wizard::default(),
            wal: wal::WalBrowser::default(),
            history: history::PgRowHistory::default(),
        };
        match backend::start_tables(path, wake.clone()) {
            Ok(j) => o.tables_job = Some(j),
            Err(e) => o.tables = Some(Err(e.to_string())),
        }
        o
    }

    /// Whether the path was recognised as a data directory (tables listed or failed).
    pub fn is_pg(&self) -> bool {
        !self.not_pg && self.tables.is_some()
    }

    /// Whether the WAL browser applies (a data directory or a WAL directory).
    pub fn has_wal(&self) -> bool {
        self.is_pg() || self.wal_dir
    }

    /// Whether no job is running.
    pub fn is_idle(&self) -> bool {
        self.tables_job.is_none()
            && self.grid.as_ref().is_none_or(PgGrid::is_idle)
            && self.wizard.is_idle()
            && self.wal.is_idle()
            && self.history.is_idle()
    }

    /// The table `db:schema.table` of the list.
    pub fn table(&self, qualified_name: &str) -> Option<&TableInfo> {
        self.tables
            .as_ref()?
            .as_ref()
            .ok()?
            .iter()
            .find(|t| qualified(t) == qualified_name)
    }

    /// Starts browsing the rows of `t`.
    pub fn browse(&mut self, t: &TableInfo, wake: &Waker) {
        self.grid = Some(PgGrid::start(&self.path, t, wake));
    }

    /// Cancels the running jobs.
    pub fn cancel(&self) {
        if let Some(g) = &self.grid {
            g.cancel();
        }
        self.wal.cancel();
    }

    /// Polls every job (never blocks).
    pub fn poll(&mut self) {
        if let Some(j) = &mut self.tables_job {
            for m in j.poll() {
                match m {
                    TablesMsg::NotPg => self.not_pg = true,
                    TablesMsg::WalDir => {
                        self.not_pg = true;
                        self.wal_dir = true;
                    }
                    TablesMsg::Tables(t) => self.tables = Some(Ok(t)),
                    TablesMsg::Failed(e) => self.tables = Some(Err(e)),
                }
            }
            if j.is_finished() {
                self.tables_job = None;
            }
        }
        if let Some(g) = &mut self.grid {
            g.poll();
        }
        self.wizard.poll();
        self.wal.poll();
        self.history.poll();
    }
}
