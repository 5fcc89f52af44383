//! The Snapshots screen's state: the timeline of a snapshot store
//! (`snapshot_cow::Store::list`, what `datam snapshot list` prints) and the
//! row diff of its SQLite databases between two picked snapshots
//! (`snapshot_cow::diff`, what `datam snapshot diff` computes).

use std::path::PathBuf;

use datam_core::job::JobCtx;
use snapshot_cow::diff::{self, TableDiff};
use snapshot_cow::{SnapshotId, Store};

use crate::job::{Job, Waker};

/// One snapshot of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapRow {
    /// Its id.
    pub id: u64,
    /// When it was taken (`YYYY-MM-DD HH:MM:SS.ffffff UTC`).
    pub time: String,
    /// Files in it.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The note given at `add`.
    pub note: String,
    /// Why its manifest could not be read.
    pub damaged: Option<String>,
}

/// Messages of the list job.
#[derive(Debug)]
pub enum ListMsg {
    /// The path is no store.
    NotStore,
    /// The timeline, oldest first.
    List(Result<Vec<SnapRow>, String>),
}

/// The diff of two snapshots.
#[derive(Debug)]
pub struct DiffOut {
    /// Page summaries per file: (file, changed, added, removed).
    pub pages: Vec<(String, u64, u64, u64)>,
    /// Table diffs per SQLite file.
    pub tables: Vec<(String, TableDiff)>,
}

/// The screen's state.
#[derive(Default)]
pub struct Snapshots {
    list_job: Option<Job<ListMsg>>,
    /// The timeline.
    pub list: Option<Result<Vec<SnapRow>, String>>,
    /// The path is no snapshot store.
    pub not_store: bool,
    /// The older pick.
    pub a: Option<u64>,
    /// The newer pick.
    pub b: Option<u64>,
    diff_job: Option<Job<Result<DiffOut, String>>>,
    /// The diff of `a` and `b`.
    pub diff: Option<Result<DiffOut, String>>,
}

fn time_text(unix_ms: u64) -> String {
    // pgrescue formats µs since 2000-01-01 UTC.
    let us = i64::try_from(unix_ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000)
        .saturating_sub(946_684_800_000_000);
    pgrescue::time::format_timestamp(us)
}

fn list(path: &std::path::Path) -> ListMsg {
    let Ok(store) = Store::open(path) else {
        return ListMsg::NotStore;
    };
    let rows = store.list().map_err(|e| e.to_string()).map(|l| {
        l.into_iter()
            .map(|s| match s.manifest {
                Ok(m) => SnapRow {
                    id: m.meta.id.0,
                    time: time_text(m.meta.time_unix_ms),
                    files: m.meta.files.len(),
                    bytes: m.meta.files.iter().map(|f| f.size_bytes).sum(),
                    note: m.meta.note,
                    damaged: None,
                },
                Err(e) => SnapRow {
                    id: s.id.0,
                    time: String::new(),
                    files: 0,
                    bytes: 0,
                    note: String::new(),
                    damaged: Some(e.to_string()),
                },
            })
            .collect()
    });
    ListMsg::List(rows)
}

fn diff_of(path: &std::path::Path, a: u64, b: u64, ctx: &JobCtx) -> Result<DiffOut, String> {
    let e = |e: snapshot_cow::Error| e.to_string();
    let store = Store::open(path).map_err(e)?;
    let (ma, mb) = (
        store.manifest(SnapshotId(a)).map_err(e)?,
        store.manifest(SnapshotId(b)).map_err(e)?,
    );
    let reader = store.reader().map_err(e)?;
    let pages = diff::page_summary(&ma, &mb)
        .into_iter()
        .map(|s| (s.file, s.changed, s.added, s.removed))
        .collect();
    let mut tables = Vec::new();
    for name in diff::sqlite_files(&ma, &mb) {
        for t in diff::sqlite_diff(&reader, &ma, &mb, &name, &[], ctx).map_err(e)? {
            tables.push((name.clone(), t));
        }
    }
    Ok(DiffOut { pages, tables })
}

impl Snapshots {
    /// Starts listing `path` as a store (the job decides whether it is one).
    pub fn start(path: PathBuf, wake: &Waker) -> Self {
        let mut s = Self::default();
        match Job::spawn("snapshots", wake.clone(), move |_ctx, out| {
            out.send(list(&path));
        }) {
            Ok(j) => s.list_job = Some(j),
            Err(e) => s.list = Some(Err(e.to_string())),
        }
        s
    }

    /// Whether the path is a store (its list arrived).
    pub fn is_store(&self) -> bool {
        !self.not_store && self.list.is_some()
    }

    /// Whether no job runs.
    pub fn is_idle(&self) -> bool {
        self.list_job.is_none() && self.diff_job.is_none()
    }

    /// Starts the diff of the picked snapshots.
    pub fn start_diff(&mut self, path: PathBuf, wake: &Waker) {
        let (Some(a), Some(b)) = (self.a, self.b) else {
            return;
        };
        self.diff = None;
        match Job::spawn("snapshot-diff", wake.clone(), move |ctx, out| {
            out.send(diff_of(&path, a, b, ctx));
        }) {
            Ok(j) => self.diff_job = Some(j),
            Err(e) => self.diff = Some(Err(e.to_string())),
        }
    }

    /// Polls the jobs.
    pub fn poll(&mut self) {
        if let Some(j) = &mut self.list_job {
            for m in j.poll() {
                match m {
                    ListMsg::NotStore => self.not_store = true,
                    ListMsg::List(l) => self.list = Some(l),
                }
            }
            if j.is_finished() {
                self.list_job = None;
            }
        }
        crate::pg::poll_into(&mut self.diff_job, &mut self.diff);
    }
}
