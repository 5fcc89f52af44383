//! Plans: a change set resolved against the rows as they were read, with
//! the exact SQL of every guarded statement; commit and undo through the
//! journal.
//!
//! ```text
//! ChangeSet ──plan()──▶ Plan { steps: [Step { before, diffs, sql }] }   (reads only)
//!    Plan ──commit()──▶ journal "pending" (before-images) ─▶ BEGIN; guarded
//!                       statements, each must touch exactly one row; COMMIT
//!                       ─▶ journal "committed" (after-images)
//!  PLAN_ID ──undo()──▶ a plan built from the journal, guarded the same way
//! ```

use std::time::Duration;

use crate::changes::{ChangeSet, ChangeValue, Values};
use crate::error::{ChangeError, Error, Place, Result};
use crate::journal::{Entry, Journal, State};
use crate::value::{Column, Row, Value};

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// UPDATE one row.
    Update,
    /// INSERT one row.
    Insert,
    /// DELETE one row.
    Delete,
}

/// One column's change in a step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnDiff {
    /// The column.
    pub column: String,
    /// Its value before (None for an insert).
    pub before: Option<Value>,
    /// Its value after (None for a delete).
    pub after: Option<Value>,
}

/// One guarded statement of a plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// Where it came from (`updates[0]`, `inserts[1]`, `undo of deletes[0]`).
    pub place: String,
    /// What it does.
    pub kind: StepKind,
    /// The row as read (None for an insert): every column and its xmin.
    pub before: Option<Row>,
    /// Column indexes it writes (update: the changed ones; insert: all
    /// given).
    pub set: Vec<(usize, Value)>,
    /// Before/after of every changed column.
    pub diffs: Vec<ColumnDiff>,
    /// The exact SQL run for it.
    pub sql: String,
}

/// A change set resolved into guarded statements; nothing written yet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    /// The plan's ID (from the change file's `id`, else derived from the
    /// target, the table and the changes).
    pub id: String,
    /// The database ([`crate::Target::identity`]).
    pub target: String,
    /// The table, qualified.
    pub table: String,
    /// The table's columns.
    pub columns: Vec<Column>,
    /// The columns rows are addressed by.
    pub key: Vec<String>,
    /// The statements, in the order they run.
    pub steps: Vec<Step>,
    /// The ID of the plan this one undoes, if it is an undo.
    pub undo_of: Option<String>,
}

/// Options of [`crate::Session::plan`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Address rows of a table without a key by all their values (refused
    /// when those match more than one row).
    pub all_columns_key: bool,
}

/// Timeouts of a commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitOptions {
    /// How long to wait for a lock before giving up (default 5 s).
    pub lock_timeout: Duration,
    /// How long one statement may run (default 60 s).
    pub statement_timeout: Duration,
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(60),
        }
    }
}

/// A planned row that changed or vanished between read and commit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conflict {
    /// The step's place.
    pub place: String,
    /// The key values of the row.
    pub key: Vec<(String, Value)>,
    /// The row now (None: gone, or an insert whose key is taken —
    /// then the message says so).
    pub current: Option<Vec<Value>>,
    /// What happened.
    pub reason: String,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The plan ran and committed.
    Committed {
        /// The plan ID.
        id: String,
        /// Rows written.
        rows: u64,
    },
    /// The journal says this plan was already committed: nothing done.
    AlreadyCommitted {
        /// The plan ID.
        id: String,
    },
}

/// The table facts planning needs, from either engine.
#[derive(Debug, Clone)]
pub(crate) struct TableMeta {
    /// Qualified and quoted, for SQL.
    pub sql_name: String,
    /// Qualified, for people.
    pub display: String,
    pub columns: Vec<Column>,
    /// Key column indexes (empty: no key).
    pub key: Vec<usize>,
}

impl TableMeta {
    pub fn column_idx(&self, name: &str, place: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::Change {
                place: Place(format!("{place}.{name}")),
                kind: ChangeError::NoColumn {
                    table: self.display.clone(),
                    column: name.to_owned(),
                },
            })
    }
}

/// How a transaction of [`Engine::execute`] ended.
#[derive(Debug)]
pub(crate) enum Executed {
    /// Committed; the after-image of each step (None for deletes).
    Committed(Vec<Option<Row>>),
    /// Rolled back: (step index, reason) of each conflicting step.
    RolledBack(Vec<(usize, String)>),
}

/// What an engine does for planning and committing.
pub(crate) trait Engine {
    fn meta(&mut self, table: &str) -> Result<TableMeta>;
    /// The value the column will hold for `v`, as the database's input
    /// rules make it (errors name no place; the caller adds it).
    fn check_value(
        &mut self,
        m: &TableMeta,
        col: usize,
        v: &ChangeValue,
    ) -> Result<Value, ChangeError>;
    /// The rows whose columns `cols` hold `values` (at most 2 are needed).
    fn find_rows(&mut self, m: &TableMeta, cols: &[usize], values: &[Value]) -> Result<Vec<Row>>;
    /// The guarded SQL of one step (also what [`Engine::execute`] runs).
    fn step_sql(
        &self,
        m: &TableMeta,
        kind: StepKind,
        before: Option<&Row>,
        set: &[(usize, Value)],
    ) -> String;
    /// Runs the steps in one transaction; each must touch exactly one row.
    /// Returns the after-image of each step (None for deletes), or, rolled
    /// back, the steps that did not touch exactly one row and why.
    fn execute(&mut self, m: &TableMeta, steps: &[Step], opts: &CommitOptions) -> Result<Executed>;
    fn read_only(&self) -> bool;
    fn identity(&self) -> String;
}

/// Resolves `changes` against the table as it is now.
pub(crate) fn plan(
    e: &mut dyn Engine,
    table: &str,
    changes: &ChangeSet,
    opts: PlanOptions,
) -> Result<Plan> {
    let m = e.meta(table)?;
    let all_cols = m.key.is_empty();
    if all_cols
        && !opts.all_columns_key
        && (!changes.updates.is_empty() || !changes.deletes.is_empty())
    {
        return Err(Error::NoKey {
            table: m.display.clone(),
        });
    }
    let mut steps = Vec::new();
    for (i, u) in changes.updates.iter().enumerate() {
        let place = format!("updates[{i}]");
        let before = resolve_row(e, &m, &u.key, &format!("{place}.key"))?;
        let set = resolve_values(e, &m, &u.set, &format!("{place}.set"))?;
        steps.push(make_step(e, &m, place, StepKind::Update, Some(before), set));
    }
    for (i, r) in changes.inserts.iter().enumerate() {
        let place = format!("inserts[{i}]");
        let set = resolve_values(e, &m, r, &place)?;
        steps.push(make_step(e, &m, place, StepKind::Insert, None, set));
    }
    for (i, d) in changes.deletes.iter().enumerate() {
        let place = format!("deletes[{i}]");
        let before = resolve_row(e, &m, &d.key, &format!("{place}.key"))?;
        steps.push(make_step(
            e,
            &m,
            place,
            StepKind::Delete,
            Some(before),
            Vec::new(),
        ));
    }
    let target = e.identity();
    let id = plan_id(&target, &m.display, changes);
    Ok(Plan {
        id,
        target,
        table: m.display.clone(),
        key: key_names(&m),
        columns: m.columns,
        steps,
        undo_of: None,
    })
}

fn key_names(m: &TableMeta) -> Vec<String> {
    let idx: Vec<usize> = if m.key.is_empty() {
        (0..m.columns.len()).collect()
    } else {
        m.key.clone()
    };
    idx.iter()
        .filter_map(|&i| m.columns.get(i))
        .map(|c| c.name.clone())
        .collect()
}

/// The change file's `id`, else a hash of the target, the qualified table
/// and the canonical changes: the same file on the same table is the same
/// plan, whatever the rows hold now.
pub(crate) fn plan_id(target: &str, table: &str, changes: &ChangeSet) -> String {
    match &changes.id {
        Some(id) => id.clone(),
        None => derive_id(target, table, &changes.canonical_json()),
    }
}

/// The journal entry of the plan `changes` would make on `table`, if one
/// is journaled (checked before any row is read, so a committed plan
/// stays a no-op even though its rows have changed).
pub(crate) fn journaled(
    e: &mut dyn Engine,
    journal: &Journal,
    table: &str,
    changes: &ChangeSet,
) -> Result<Option<Entry>> {
    let m = e.meta(table)?;
    journal.load(&plan_id(&e.identity(), &m.display, changes))
}

fn derive_id(target: &str, table: &str, content: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [target, "\n", table, "\n", content] {
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize().get(..8).unwrap_or_default())
}

fn make_step(
    e: &dyn Engine,
    m: &TableMeta,
    place: String,
    kind: StepKind,
    before: Option<Row>,
    set: Vec<(usize, Value)>,
) -> Step {
    let sql = e.step_sql(m, kind, before.as_ref(), &set);
    let diffs = diffs(m, kind, before.as_ref(), &set);
    Step {
        place,
        kind,
        before,
        set,
        diffs,
        sql,
    }
}

fn diffs(
    m: &TableMeta,
    kind: StepKind,
    before: Option<&Row>,
    set: &[(usize, Value)],
) -> Vec<ColumnDiff> {
    let old = |i: usize| before.and_then(|b| b.values.get(i).cloned());
    let name = |i: usize| m.columns.get(i).map(|c| c.name.clone()).unwrap_or_default();
    match kind {
        StepKind::Delete => (0..m.columns.len())
            .map(|i| ColumnDiff {
                column: name(i),
                before: old(i),
                after: None,
            })
            .collect(),
        StepKind::Insert => set
            .iter()
            .map(|(i, v)| ColumnDiff {
                column: name(*i),
                before: None,
                after: Some(v.clone()),
            })
            .collect(),
        StepKind::Update => set
            .iter()
            .map(|(i, v)| ColumnDiff {
                column: name(*i),
                before: old(*i),
                after: Some(v.clone()),
            })
            .collect(),
    }
}

fn resolve_values(
    e: &mut dyn Engine,
    m: &TableMeta,
    vals: &Values,
    place: &str,
) -> Result<Vec<(usize, Value)>> {
    let mut out = Vec::with_capacity(vals.len());
    for (name, v) in vals {
        let i = m.column_idx(name, place)?;
        if m.columns.get(i).is_some_and(|c| c.generated) {
            return Err(Error::Change {
                place: Place(format!("{place}.{name}")),
                kind: ChangeError::Unsupported {
                    what: "a generated column cannot be written",
                },
            });
        }
        let value = e.check_value(m, i, v).map_err(|kind| Error::Change {
            place: Place(format!("{place}.{name}")),
            kind,
        })?;
        out.push((i, value));
    }
    Ok(out)
}

/// The one row `key` names, as it is now.
fn resolve_row(e: &mut dyn Engine, m: &TableMeta, key: &Values, place: &str) -> Result<Row> {
    let want: Vec<usize> = if m.key.is_empty() {
        (0..m.columns.len()).collect()
    } else {
        m.key.clone()
    };
    let given = resolve_values_any(e, m, key, place)?;
    let mut given_idx: Vec<usize> = given.iter().map(|(i, _)| *i).collect();
    given_idx.sort_unstable();
    let mut want_sorted = want.clone();
    want_sorted.sort_unstable();
    if given_idx != want_sorted {
        let names = |ix: &[usize]| {
            ix.iter()
                .filter_map(|&i| m.columns.get(i))
                .map(|c| c.name.clone())
                .collect()
        };
        return Err(Error::Change {
            place: Place(place.to_owned()),
            kind: ChangeError::WrongKey {
                expected: names(&want),
                found: names(&given_idx),
            },
        });
    }
    let cols: Vec<usize> = given.iter().map(|(i, _)| *i).collect();
    let values: Vec<Value> = given.into_iter().map(|(_, v)| v).collect();
    let mut rows = e.find_rows(m, &cols, &values)?;
    let err = |kind| Error::Change {
        place: Place(place.to_owned()),
        kind,
    };
    match rows.len() {
        0 => Err(err(ChangeError::RowNotFound)),
        1 => rows.pop().ok_or_else(|| err(ChangeError::RowNotFound)),
        n => Err(err(ChangeError::Ambiguous { n_rows: n as u64 })),
    }
}

/// Like [`resolve_values`] but generated columns may be named (as key).
fn resolve_values_any(
    e: &mut dyn Engine,
    m: &TableMeta,
    vals: &Values,
    place: &str,
) -> Result<Vec<(usize, Value)>> {
    vals.iter()
        .map(|(name, v)| {
            let i = m.column_idx(name, place)?;
            let value = e.check_value(m, i, v).map_err(|kind| Error::Change {
                place: Place(format!("{place}.{name}")),
                kind,
            })?;
            Ok((i, value))
        })
        .collect()
}

/// Runs a plan: no-op if the journal has it committed; else journal
/// (pending, before-images), one guarded transaction, journal (committed,
/// after-images).
pub(crate) fn commit(
    e: &mut dyn Engine,
    plan: &Plan,
    journal: &Journal,
    opts: &CommitOptions,
) -> Result<CommitOutcome> {
    if e.read_only() {
        return Err(Error::ReadOnly);
    }
    if let Some(entry) = journal.load(&plan.id)?
        && entry.state != State::Pending
    {
        return Ok(CommitOutcome::AlreadyCommitted {
            id: plan.id.clone(),
        });
    }
    let m = e.meta(&plan.table)?;
    let mut entry = Entry::pending(plan);
    journal.write(&entry)?;
    let after = match e.execute(&m, &plan.steps, opts)? {
        Executed::Committed(after) => after,
        Executed::RolledBack(c) => {
            return Err(Error::Conflict {
                conflicts: describe_conflicts(e, &m, &plan.steps, &c)?,
            });
        }
    };
    entry.mark_committed(after);
    journal.write(&entry)?;
    if let Some(orig) = &plan.undo_of
        && let Some(mut o) = journal.load(orig)?
    {
        o.state = State::Undone;
        journal.write(&o)?;
    }
    Ok(CommitOutcome::Committed {
        id: plan.id.clone(),
        rows: plan.steps.len() as u64,
    })
}

/// The plan that reverts committed plan `id`, guarded by the after-images
/// the journal holds (so rows changed since are refused).
pub(crate) fn undo_plan(e: &mut dyn Engine, journal: &Journal, id: &str) -> Result<Plan> {
    let entry = journal
        .load(id)?
        .filter(|en| en.state != State::Pending)
        .ok_or_else(|| Error::NoPlan {
            id: id.to_owned(),
            dir: journal.dir().to_owned(),
        })?;
    let target = e.identity();
    if entry.target != target {
        return Err(Error::PlanTarget {
            id: id.to_owned(),
            planned: entry.target.clone(),
            given: target,
        });
    }
    let m = e.meta(&entry.table)?;
    let mut steps = Vec::new();
    for s in entry.steps.iter().rev() {
        let place = format!("undo of {}", s.place);
        let (kind, before, set) = match s.kind {
            StepKind::Update => {
                let (Some(b), Some(a)) = (&s.before, &s.after) else {
                    continue;
                };
                let set = s
                    .changed
                    .iter()
                    .filter_map(|&i| b.values.get(i).map(|v| (i, v.clone())))
                    .collect();
                (StepKind::Update, Some(a.clone()), set)
            }
            StepKind::Insert => (StepKind::Delete, s.after.clone(), Vec::new()),
            StepKind::Delete => {
                let Some(b) = &s.before else { continue };
                let set = b
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| m.columns.get(*i).is_some_and(|c| !c.generated))
                    .map(|(i, v)| (i, v.clone()))
                    .collect();
                (StepKind::Insert, None, set)
            }
        };
        steps.push(make_step(e, &m, place, kind, before, set));
    }
    Ok(Plan {
        id: format!("undo-{id}"),
        target,
        table: entry.table.clone(),
        key: key_names(&m),
        columns: m.columns,
        steps,
        undo_of: Some(id.to_owned()),
    })
}

/// The conflicting rows as they are now (read after the rollback), found
/// by the key the step addressed (an insert: the key it tried to take).
fn describe_conflicts(
    e: &mut dyn Engine,
    m: &TableMeta,
    steps: &[Step],
    conflicts: &[(usize, String)],
) -> Result<Vec<Conflict>> {
    let mut out = Vec::new();
    for (idx, reason) in conflicts {
        let Some(s) = steps.get(*idx) else { continue };
        let cols: Vec<usize> = match (&s.before, m.key.is_empty()) {
            (_, false) => m.key.clone(),
            (Some(_), true) => (0..m.columns.len()).collect(),
            (None, true) => s.set.iter().map(|(i, _)| *i).collect(),
        };
        let vals: Vec<Value> = cols
            .iter()
            .map(|&i| match &s.before {
                Some(b) => b.values.get(i).cloned().unwrap_or(Value::Null),
                None => s
                    .set
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map_or(Value::Null, |(_, v)| v.clone()),
            })
            .collect();
        let current = e
            .find_rows(m, &cols, &vals)?
            .into_iter()
            .next()
            .map(|r| r.values);
        let key = cols
            .iter()
            .zip(vals)
            .map(|(&i, v)| {
                (
                    m.columns.get(i).map(|c| c.name.clone()).unwrap_or_default(),
                    v,
                )
            })
            .collect();
        out.push(Conflict {
            place: s.place.clone(),
            key,
            current,
            reason: reason.clone(),
        });
    }
    Ok(out)
}
