//! Live databases: a running PostgreSQL server or a working SQLite file.
//!
//! The use cases behind `datam live …` and the desktop app's connection
//! page: list tables, page through rows with exact types (the same values
//! as the offline readers), collect edits into a [`ChangeSet`], turn it
//! into a [`Plan`] (before/after of every changed column and the exact SQL,
//! nothing written), commit it in one guarded transaction, undo it from the
//! journal, and export a table with parallel binary `COPY`.
//!
//! API structure:
//! - [`Target`]: what to connect to (`postgres://…`, `host=… dbname=…`,
//!   `sqlite:PATH`); [`Session::open`] connects.
//! - [`Session::tables`], [`Session::for_each_batch`] (rows in batches; a
//!   grid shows each as it arrives and returns `false` to stop).
//! - [`ChangeSet`] → [`Session::plan`] → [`Plan`] → [`Session::commit`]
//!   → [`CommitOutcome`]; [`Session::undo_plan`] builds the revert of a
//!   journaled plan. [`Journal`] is the local record of plans.
//! - [`pg::export`]: the parallel snapshot export (PostgreSQL).
//!
//! ```no_run
//! use datam_live::{ChangeSet, CommitOptions, Journal, PlanOptions, Session, Target};
//! let target = Target::parse("host=/var/run/postgresql dbname=shop")?;
//! let mut s = Session::open(&target, false)?;
//! let changes = ChangeSet::from_json(br#"{"updates":[{"key":{"id":3},"set":{"price":"9.90"}}]}"#)?;
//! let plan = s.plan("items", &changes, PlanOptions::default())?;
//! for step in &plan.steps { println!("{}", step.sql); }
//! s.commit(&plan, &Journal::open_default()?, &CommitOptions::default())?;
//! # Ok::<(), datam_live::Error>(())
//! ```
//!
//! **Invariant:** this crate writes only to the live database the caller
//! named, only in [`Session::commit`], inside one explicit transaction whose
//! every statement is guarded to touch exactly the row that was read.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod changes;
mod error;
pub mod journal;
pub mod keychain;
pub mod pg;
pub mod plan;
pub mod sqlite;
mod target;
mod value;

pub use changes::ChangeSet;
pub use error::{ChangeError, Error, Place, Result};
pub use journal::Journal;
pub use plan::{
    ColumnDiff, CommitOptions, CommitOutcome, Conflict, Plan, PlanOptions, Step, StepKind,
};
pub use target::{PgTarget, Target};
pub use value::{Batch, Column, Row, TableInfo, Value};

use datam_core::job::JobCtx;

/// Which rows to read.
#[derive(Debug, Clone, Default)]
pub struct RowQuery {
    /// The table (`name` or `schema.name`).
    pub table: String,
    /// An SQL expression rows must satisfy (run read-only).
    pub filter: Option<String>,
    /// A column to order by.
    pub order_by: Option<String>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

impl RowQuery {
    /// ` WHERE (…) ORDER BY "col" LIMIT n` for this query on `m`.
    pub(crate) fn sql_tail(&self, m: &plan::TableMeta) -> Result<String> {
        let mut tail = String::new();
        if let Some(f) = &self.filter {
            tail.push_str(&format!(" WHERE ({f})"));
        }
        if let Some(col) = &self.order_by {
            if !m.columns.iter().any(|c| &c.name == col) {
                return Err(Error::NoColumn {
                    table: m.display.clone(),
                    column: col.clone(),
                });
            }
            tail.push_str(&format!(" ORDER BY {}", value::ident(col)));
        }
        if let Some(n) = self.limit {
            tail.push_str(&format!(" LIMIT {n}"));
        }
        Ok(tail)
    }
}

/// An open connection to one live database.
#[derive(Debug)]
pub enum Session {
    /// A PostgreSQL server.
    Pg(Box<pg::PgSession>),
    /// A SQLite file.
    Sqlite(sqlite::SqliteSession),
}

impl Session {
    /// Connects to `target`; `read_only` makes the session read-only and
    /// refuses every edit.
    pub fn open(target: &Target, read_only: bool) -> Result<Self> {
        Ok(match target {
            Target::Postgres(p) => Self::Pg(Box::new(pg::PgSession::connect(p, read_only)?)),
            Target::Sqlite(path) => Self::Sqlite(sqlite::SqliteSession::open(path, read_only)?),
        })
    }

    /// The tables and views, with their keys.
    pub fn tables(&mut self) -> Result<Vec<TableInfo>> {
        match self {
            Self::Pg(s) => s.tables(),
            Self::Sqlite(s) => s.tables(),
        }
    }

    /// Reads rows and hands them to `f` batch by batch (PostgreSQL: the
    /// next batch is fetched while `f` runs); `f` returns `false` to stop.
    /// The job's cancel token is checked between batches.
    pub fn for_each_batch(
        &mut self,
        q: &RowQuery,
        ctx: &JobCtx,
        f: &mut dyn FnMut(&[Column], Batch) -> Result<bool>,
    ) -> Result<()> {
        match self {
            Self::Pg(s) => {
                let mut rows = s.rows(q)?;
                while let Some(b) = rows.next_batch()? {
                    ctx.check()?;
                    if !f(rows.columns(), b)? {
                        break;
                    }
                }
                Ok(())
            }
            Self::Sqlite(s) => s.for_each_batch(q, &mut |c, b| {
                ctx.check()?;
                f(c, b)
            }),
        }
    }

    fn with_engine<T>(&mut self, f: impl FnOnce(&mut dyn plan::Engine) -> Result<T>) -> Result<T> {
        match self {
            Self::Pg(s) => f(&mut pg::PgEngine { s, cache: None }),
            Self::Sqlite(s) => f(s),
        }
    }

    /// Resolves `changes` against `table` as it is now: reads each named
    /// row, checks each value with the database's input rules, and builds
    /// the guarded statements. Writes nothing.
    pub fn plan(&mut self, table: &str, changes: &ChangeSet, opts: PlanOptions) -> Result<Plan> {
        self.with_engine(|e| plan::plan(e, table, changes, opts))
    }

    /// The journal entry of the plan `changes` would make on `table`, if
    /// journaled: a committed one makes [`Session::commit`] a no-op, and a
    /// front end says so before reading any row.
    pub fn journaled(
        &mut self,
        journal: &Journal,
        table: &str,
        changes: &ChangeSet,
    ) -> Result<Option<journal::Entry>> {
        self.with_engine(|e| plan::journaled(e, journal, table, changes))
    }

    /// Commits `plan` (a no-op if the journal has it committed): journal
    /// first, then one transaction with the timeouts, every statement
    /// touching exactly one row, else everything is rolled back and
    /// [`Error::Conflict`] lists the rows as they are now.
    pub fn commit(
        &mut self,
        plan: &Plan,
        journal: &Journal,
        opts: &CommitOptions,
    ) -> Result<CommitOutcome> {
        self.with_engine(|e| plan::commit(e, plan, journal, opts))
    }

    /// Exports a table with parallel `COPY` on one snapshot
    /// (PostgreSQL; see [`pg::export`]).
    pub fn export(
        &mut self,
        req: &pg::export::ExportRequest,
        ctx: &JobCtx,
    ) -> Result<pg::export::ExportSummary> {
        match self {
            Self::Pg(s) => s.export(req, ctx),
            Self::Sqlite(_) => Err(Error::PostgresOnly {
                what: "binary/CSV COPY export",
            }),
        }
    }

    /// The plan that reverts journaled plan `id` (commit it with
    /// [`Session::commit`]).
    pub fn undo_plan(&mut self, journal: &Journal, id: &str) -> Result<Plan> {
        self.with_engine(|e| plan::undo_plan(e, journal, id))
    }
}
