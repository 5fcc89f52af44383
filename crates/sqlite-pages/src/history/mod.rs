//! Every version of every row found in a database, its `-wal` and its
//! `-journal`, in commit order, with what changed. Pure: the caller hands
//! in the bytes ([`Inputs`]); rows are read by the same per-page scanner as
//! salvage ([`crate::scan::scan_page`]), over a [`view::View`] that overlays
//! page images on the file.
//!
//! How versions are found: the evidence defines a sequence of database
//! *states*, each read as a whole (schema, then every table tree):
//!
//! ```text
//!  stale journal      database file      WAL commit 0 … commit n     WAL frames after the last commit
//!  pre-images    ──▶  (or its hot-   ──▶ (file + frames up to    ──▶ (wal-uncommitted); database file
//!  (journal)          journal rollback)   each commit frame)          under a hot journal (db-uncommitted)
//! ```
//!
//! The last committed state is what SQLite would show (`live`). A row gets a
//! new version whenever its values differ from its previous state's (or it
//! disappears: a deletion). Frames of an earlier WAL generation (before a
//! restart) are older than the database file; their rows are added as
//! `wal-old` when they differ from every later version.
//!
//! Every WAL frame and journal page image is also **carved** (freeblocks and
//! the unallocated gap, [`crate::carve`]): a deleted row that survives only
//! inside an old page version comes back as `wal-deleted` / `journal-deleted`
//! (change `carved`), with the frame or record it was carved from, unless
//! one of its row's versions already holds the same values.
//!
//! Statuses: `live`, `db-old` (in the database file, superseded by committed
//! WAL frames), `wal-old` (an older committed WAL frame, or an earlier WAL
//! generation), `wal-uncommitted`, `journal` (pre-transaction image in a
//! stale journal), `db-uncommitted` (a page an unfinished transaction spilled
//! into the database file, which a hot journal restores), `wal-deleted` and
//! `journal-deleted` (carved from a frame's or a journal record's page image).
//!
//! **Architecture Invariant:** rollback and checkpoint are computed in
//! memory over borrowed bytes, never written.

use rowcodec::sqlite::OwnedValue;

use crate::scan::RowStatus;
use crate::schema::Table;
use crate::wal::{FrameStatus, WalError};

mod carved;
mod states;
pub mod tree;
mod versions;
pub mod view;

pub use states::{LiveImage, live_image};

/// Why no history could be built at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database header is unreadable and no WAL gives the page size.
    #[error("the database header is unreadable and no WAL gives the page size")]
    NoPageSize,
    /// The WAL file is not a WAL.
    #[error("reading the WAL: {0}")]
    Wal(#[source] WalError),
    /// The caller's progress callback asked to stop ([`collect_with`]).
    #[error("stopped by the caller")]
    Stopped,
}

/// Status of one row version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// What SQLite shows.
    Live,
    /// In the database file, superseded by committed WAL frames.
    DbOld,
    /// An older committed WAL frame or an earlier WAL generation.
    WalOld,
    /// A WAL frame after the last commit.
    WalUncommitted,
    /// A pre-transaction image in a (stale) rollback journal.
    Journal,
    /// A page an unfinished transaction spilled into the database file.
    DbUncommitted,
    /// Carved from free space of a WAL frame's page image.
    WalDeleted,
    /// Carved from free space of a journal record's page image.
    JournalDeleted,
}

impl Status {
    /// The name used in output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::DbOld => "db-old",
            Self::WalOld => "wal-old",
            Self::WalUncommitted => "wal-uncommitted",
            Self::Journal => "journal",
            Self::DbUncommitted => "db-uncommitted",
            Self::WalDeleted => "wal-deleted",
            Self::JournalDeleted => "journal-deleted",
        }
    }
}

/// Which state a version was first seen in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A frame of an earlier WAL generation (`salt1` of that generation).
    EarlierGeneration {
        /// The frame's salt-1.
        salt1: u32,
    },
    /// The database file with a stale journal's pre-images laid over it.
    JournalPreImage,
    /// The database file (rolled back in memory if the journal is hot).
    DbFile,
    /// After WAL commit `k` (0-based).
    Commit(u32),
    /// The WAL's frames after the last commit.
    WalUncommitted,
    /// The database file as found under a hot journal.
    DbUncommitted,
}

impl Stage {
    /// How the stage is named in output.
    pub fn label(self) -> String {
        match self {
            Self::EarlierGeneration { salt1 } => {
                format!("earlier WAL generation (salt-1 {salt1:#010x})")
            }
            Self::JournalPreImage => "journal pre-image".into(),
            Self::DbFile => "database file".into(),
            Self::Commit(k) => format!("WAL commit {k}"),
            Self::WalUncommitted => "WAL, uncommitted".into(),
            Self::DbUncommitted => "database file, uncommitted".into(),
        }
    }
    fn status(self) -> Status {
        match self {
            Self::EarlierGeneration { .. } | Self::Commit(_) => Status::WalOld,
            Self::JournalPreImage => Status::Journal,
            Self::DbFile => Status::DbOld,
            Self::WalUncommitted => Status::WalUncommitted,
            Self::DbUncommitted => Status::DbUncommitted,
        }
    }
}

/// Provenance of a version in the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef {
    /// SQLite's 1-based frame number.
    pub frame_no: u32,
    /// File offset of the frame.
    pub offset: u64,
    /// The transaction it belongs to, if committed.
    pub commit_idx: Option<u32>,
    /// The frame's salts.
    pub salts: (u32, u32),
    /// How the frame was classified.
    pub status: FrameStatus,
}

/// Provenance of a version in a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalRef {
    /// Page number of the record.
    pub pgno: u32,
    /// File offset of the record.
    pub offset: u64,
}

/// How a carved version was recovered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Carved {
    /// [`RowStatus::Deleted`] (a freeblock) or [`RowStatus::Unallocated`]
    /// (the gap between cell pointers and cell content).
    pub from: RowStatus,
    /// The carver's confidence (1.0 = every byte read as stored).
    pub confidence: f32,
}

/// One version of one row.
#[derive(Debug, Clone)]
pub struct Version {
    /// Table name.
    pub table: String,
    /// Rowid (rowid tables).
    pub rowid: Option<i64>,
    /// Row key: the rowid, or the primary-key values joined with `|`
    /// (`?<page>@<offset>` for a carved cell whose rowid was lost).
    pub key: String,
    /// Values in schema order; `None` for a deletion.
    pub values: Option<Vec<OwnedValue>>,
    /// Status.
    pub status: Status,
    /// Where it was first seen.
    pub stage: Stage,
    /// Page and cell offset it was read from.
    pub page: Option<(u32, usize)>,
    /// WAL provenance.
    pub frame: Option<FrameRef>,
    /// Journal provenance.
    pub journal: Option<JournalRef>,
    /// Columns that differ from the previous version.
    pub changed: Vec<String>,
    /// `first-seen`, `updated`, `deleted`, `reinserted`, `carved`.
    pub change: &'static str,
    /// Set for versions carved from free space.
    pub carved: Option<Carved>,
    /// The cell's overflow chain broke: `values` hold what was read before.
    pub chain_break: Option<crate::cell::ChainBreak>,
}

/// Every version found, grouped by row in first-seen order.
#[derive(Debug, Default)]
pub struct History {
    /// Tables of the live state (or of any state if the live one has none).
    pub tables: Vec<Table>,
    /// Versions: all of one row together, oldest first (carved versions
    /// after them).
    pub versions: Vec<Version>,
    /// Facts and damage met on the way.
    pub notes: Vec<String>,
}

/// The evidence bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    /// The database file.
    pub db: &'a [u8],
    /// The WAL, if read.
    pub wal: Option<&'a [u8]>,
    /// The rollback journal, if read.
    pub journal: Option<&'a [u8]>,
}

/// Collects every version of every row from the evidence bytes.
pub fn collect(inp: &Inputs<'_>) -> Result<History, HistoryError> {
    collect_with(inp, &mut |_, _| true)
}

/// [`collect`], reporting progress to `step(done, total)`: one step per
/// database state read (the file, each WAL commit, a journal image, an
/// unfinished transaction), then one per WAL frame and journal record whose
/// page image is carved. `step` returning `false` stops the collection
/// there with [`HistoryError::Stopped`] (cancellation).
pub fn collect_with(
    inp: &Inputs<'_>,
    step: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<History, HistoryError> {
    let (ps, usable, enc) = states::page_geometry(inp)?;
    let cx = states::Ctx::parse(inp, ps)?;
    let mut notes = Vec::new();
    let (stages, live) = states::states(inp, &cx, (ps, usable), &mut notes);
    let total = (stages.len() as u64).saturating_add(carved::n_side_pages(&cx));
    let mut steps = Steps {
        done: 0,
        total,
        step,
    };
    if !(steps.step)(0, total) {
        return Err(HistoryError::Stopped);
    }
    let mut h = versions::collect_versions(&cx, &stages, live, enc, &mut steps)
        .ok_or(HistoryError::Stopped)?;
    h.notes = notes;
    Ok(h)
}

/// Counts the steps of [`collect_with`] and passes them on.
pub(crate) struct Steps<'s> {
    done: u64,
    total: u64,
    step: &'s mut dyn FnMut(u64, u64) -> bool,
}

impl Steps<'_> {
    /// One step done; `false` when the caller asks to stop.
    pub(crate) fn tick(&mut self) -> bool {
        self.done = self.done.saturating_add(1).min(self.total);
        (self.step)(self.done, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DB: &[u8] = include_bytes!("../../../../corpora/sqlite-history/samples/wal/evidence.db");
    const WAL: &[u8] =
        include_bytes!("../../../../corpora/sqlite-history/samples/wal/evidence.db-wal");
    const HOT_DB: &[u8] =
        include_bytes!("../../../../corpora/sqlite-history/samples/hot-journal/evidence.db");
    const HOT_J: &[u8] = include_bytes!(
        "../../../../corpora/sqlite-history/samples/hot-journal/evidence.db-journal"
    );

    fn mutate(base: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
        let mut b = base.to_vec();
        for &(at, v) in edits {
            if let Some(x) = b.get_mut(at % base.len().max(1)) {
                *x = v;
            }
        }
        b.truncate(b.len().saturating_sub(cut));
        b
    }

    #[test]
    fn samples_have_history() {
        let h = collect(&Inputs {
            db: DB,
            wal: Some(WAL),
            journal: None,
        })
        .unwrap();
        assert!(h.versions.iter().any(|v| v.status == Status::WalOld));
        let h = collect(&Inputs {
            db: HOT_DB,
            wal: None,
            journal: Some(HOT_J),
        })
        .unwrap();
        assert!(h.versions.iter().any(|v| v.status == Status::DbUncommitted));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Damaged databases, WALs and journals never make the history panic.
        #[test]
        fn damaged_inputs_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..40),
            cut in 0usize..5000,
            which in 0u8..4,
        ) {
            let (db, wal, journal) = match which {
                0 => (mutate(DB, &edits, 0), Some(WAL.to_vec()), None),
                1 => (DB.to_vec(), Some(mutate(WAL, &edits, cut)), None),
                2 => (mutate(HOT_DB, &edits, cut), None, Some(HOT_J.to_vec())),
                _ => (HOT_DB.to_vec(), None, Some(mutate(HOT_J, &edits, cut))),
            };
            let _ = collect(&Inputs { db: &db, wal: wal.as_deref(), journal: journal.as_deref() });
        }
    }
}
