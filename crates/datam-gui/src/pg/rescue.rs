//! The rescue wizard's state: table → the transactions that touched it
//! (`pg xacts`) → one picked → its dry run (`pg rescue --dry-run`) → undo
//! files written to a chosen path, or the undo applied to a connection
//! after a confirmation. Each step is a [`super::backend`] job.

use std::path::PathBuf;

use datam_core::pg::rescue::XactInfo;
use pgrescue::sql::Timeouts;

use super::backend::{self, AppliedRows, Planned};
use super::poll_into;
use crate::job::{Job, Waker};

type Answer<T> = Option<Result<T, String>>;

/// The wizard's steps and inputs.
pub struct Wizard {
    /// `(database, schema.table)` being rescued.
    pub table: Option<(String, String)>,
    xacts_job: Option<Job<Result<Vec<XactInfo>, String>>>,
    /// The transactions that changed the table.
    pub xacts: Answer<Vec<XactInfo>>,
    /// The picked transaction.
    pub xid: Option<u32>,
    plan_job: Option<Job<Result<Planned, String>>>,
    /// The dry run.
    pub planned: Answer<Planned>,
    /// Only show skipped and incomplete rows.
    pub only_not_restorable: bool,
    /// Where `undo.sql` goes (`report.json` beside it).
    pub out_path: String,
    write_job: Option<Job<Result<Vec<PathBuf>, String>>>,
    /// The files written.
    pub written: Answer<Vec<PathBuf>>,
    /// The connection the undo is applied to.
    pub conninfo: String,
    /// `lock_timeout` of the undo transaction.
    pub lock_timeout: String,
    /// `statement_timeout` of the undo transaction.
    pub statement_timeout: String,
    /// The confirmation is showing.
    pub confirming: bool,
    apply_job: Option<Job<Result<AppliedRows, String>>>,
    /// Rows affected by the apply, per `schema.table kind`.
    pub applied: Answer<AppliedRows>,
}

impl Default for Wizard {
    fn default() -> Self {
        Self {
            table: None,
            xacts_job: None,
            xacts: None,
            xid: None,
            plan_job: None,
            planned: None,
            only_not_restorable: false,
            out_path: String::new(),
            write_job: None,
            written: None,
            conninfo: String::new(),
            lock_timeout: "5s".into(),
            statement_timeout: "5min".into(),
            confirming: false,
            apply_job: None,
            applied: None,
        }
    }
}

impl Wizard {
    /// Whether no step's job is running.
    pub fn is_idle(&self) -> bool {
        self.xacts_job.is_none()
            && self.plan_job.is_none()
            && self.write_job.is_none()
            && self.apply_job.is_none()
    }

    /// The timeouts in the fields.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            lock_timeout: self.lock_timeout.trim().to_string(),
            statement_timeout: self.statement_timeout.trim().to_string(),
        }
    }

    /// Back to step 1 (keeps the output path and the connection typed).
    pub fn reset(&mut self) {
        let keep = (
            std::mem::take(&mut self.out_path),
            std::mem::take(&mut self.conninfo),
        );
        *self = Self::default();
        (self.out_path, self.conninfo) = keep;
    }

    /// Step 1: rescue `table` of `db`; lists its transactions.
    pub fn pick_table(&mut self, pgdata: &std::path::Path, db: &str, table: &str, wake: &Waker) {
        self.reset();
        self.table = Some((db.to_string(), table.to_string()));
        match backend::start_xacts(pgdata.into(), db.into(), table.into(), wake.clone()) {
            Ok(j) => self.xacts_job = Some(j),
            Err(e) => self.xacts = Some(Err(e.to_string())),
        }
    }

    /// Step 2: plan the undo of `xid` (the dry run).
    pub fn pick_xid(&mut self, pgdata: &std::path::Path, xid: u32, wake: &Waker) {
        let Some((db, table)) = self.table.clone() else {
            return;
        };
        self.xid = Some(xid);
        self.planned = None;
        self.written = None;
        self.applied = None;
        self.confirming = false;
        match backend::start_plan(pgdata.into(), db, table, xid, wake.clone()) {
            Ok(j) => self.plan_job = Some(j),
            Err(e) => self.planned = Some(Err(e.to_string())),
        }
    }

    /// Step 3a: write `undo.sql` and `report.json`.
    pub fn write(&mut self, wake: &Waker) {
        let Some(Ok(p)) = &self.planned else {
            return;
        };
        self.written = None;
        let path = PathBuf::from(self.out_path.trim());
        match backend::start_write(p.plan.clone(), path, self.timeouts(), wake.clone()) {
            Ok(j) => self.write_job = Some(j),
            Err(e) => self.written = Some(Err(e.to_string())),
        }
    }

    /// Step 3b, after the confirmation: apply the undo on the connection.
    pub fn apply(&mut self, wake: &Waker) {
        self.confirming = false;
        let Some(Ok(p)) = &self.planned else {
            return;
        };
        self.applied = None;
        let conn = self.conninfo.trim().to_string();
        match backend::start_apply(p.plan.clone(), conn, self.timeouts(), wake.clone()) {
            Ok(j) => self.apply_job = Some(j),
            Err(e) => self.applied = Some(Err(e.to_string())),
        }
    }

    /// Polls the steps' jobs.
    pub fn poll(&mut self) {
        poll_into(&mut self.xacts_job, &mut self.xacts);
        poll_into(&mut self.plan_job, &mut self.planned);
        poll_into(&mut self.write_job, &mut self.written);
        poll_into(&mut self.apply_job, &mut self.applied);
    }

    /// The text of the confirmation: names the target, the timeouts and
    /// the rows the undo changes.
    pub fn confirmation_text(&self) -> String {
        let mut s = format!(
            "Apply the undo of transaction {} to {} in one transaction with lock_timeout {} and statement_timeout {}:",
            self.xid.map_or_else(|| "?".into(), |x| x.to_string()),
            self.conninfo.trim(),
            self.lock_timeout.trim(),
            self.statement_timeout.trim()
        );
        if let Some(Ok(p)) = &self.planned {
            for t in &p.tables {
                let c = t.counts;
                let name = t.line.split(':').next().unwrap_or_default();
                s.push_str(&format!(
                    "\n{name}: re-insert {} row(s), revert {}, delete {} ({} skipped, {} incomplete left alone)",
                    c.reinsert, c.revert, c.delete, c.skipped_later_work, c.incomplete
                ));
            }
        }
        s
    }
}
