//! The local journal of committed plans: one JSON file per plan under
//! `$DATAM_HOME/live-journal/` (default: the user's data directory, e.g.
//! `~/.local/share/datam`). A plan is written *pending* with the
//! before-image of every row before its transaction starts, and
//! *committed* with the after-images once the server has committed; the
//! undo of a plan marks it *undone*. Files are replaced atomically (write
//! to a temporary file, fsync, rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{Plan, StepKind};
use crate::value::Row;

/// The journal directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written before the transaction; the commit may or may not have
    /// happened (the guards make a retry safe).
    Pending,
    /// The server committed it.
    Committed,
    /// Its undo committed.
    Undone,
}

/// One journaled step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JournalStep {
    /// The step's place in the change file.
    pub place: String,
    /// What it did.
    pub kind: StepKind,
    /// The row before (None for an insert).
    pub before: Option<Row>,
    /// The row after, as the server returned it (None for a delete, and
    /// until committed).
    pub after: Option<Row>,
    /// The columns an update changed.
    pub changed: Vec<usize>,
    /// The exact SQL.
    pub sql: String,
}

/// One journaled plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The plan ID.
    pub id: String,
    /// The database.
    pub target: String,
    /// The table.
    pub table: String,
    /// Where it stands.
    pub state: State,
    /// The plan this one undoes.
    pub undo_of: Option<String>,
    /// Its steps.
    pub steps: Vec<JournalStep>,
}

impl Entry {
    pub(crate) fn pending(plan: &Plan) -> Self {
        Self {
            id: plan.id.clone(),
            target: plan.target.clone(),
            table: plan.table.clone(),
            state: State::Pending,
            undo_of: plan.undo_of.clone(),
            steps: plan
                .steps
                .iter()
                .map(|s| JournalStep {
                    place: s.place.clone(),
                    kind: s.kind,
                    before: s.before.clone(),
                    after: None,
                    changed: s.set.iter().map(|(i, _)| *i).collect(),
                    sql: s.sql.clone(),
                })
                .collect(),
        }
    }

    pub(crate) fn mark_committed(&mut self, after: Vec<Option<Row>>) {
        for (s, a) in self.steps.iter_mut().zip(after) {
            s.after = a;
        }
        self.state = State::Committed;
    }
}

impl Journal {
    /// The journal under `$DATAM_HOME`, else the user's data directory.
    pub fn open_default() -> Result<Self> {
        let home = std::env::var_os("DATAM_HOME")
            .map(PathBuf::from)
            .or_else(|| dirs::data_dir().map(|d| d.join("datam")))
            .unwrap_or_else(|| PathBuf::from(".datam"));
        Self::at(home.join("live-journal"))
    }

    /// A journal in `dir` (created if missing).
    pub fn at(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Journal {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> PathBuf {
        // IDs come from change files too: keep only safe characters.
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// The entry of plan `id`, if journaled.
    pub fn load(&self, id: &str) -> Result<Option<Entry>> {
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Journal { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::JournalFormat {
                path,
                message: e.to_string(),
            })
    }

    pub(crate) fn write(&self, entry: &Entry) -> Result<()> {
        let path = self.path(&entry.id);
        let tmp = path.with_extension("json.tmp");
        let io = |source| Error::Journal {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(entry).map_err(|e| io(std::io::Error::other(e)))?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}
