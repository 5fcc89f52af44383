//! `sqlite history` as a job: every version of every row found in a
//! database, its `-wal` and its `-journal` ([`sqlite_pages::history`]),
//! pushed into a [`Sink`] with the file each was read from; plus what
//! `salvage` adds from the side files ([`salvage_side`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rowcodec::sqlite::encode::json_value;
use serde_json::{Value as Json, json};
use sqlite_pages::history::{self, History, HistoryError, Inputs, Status, Version};

use super::SqliteError;
use crate::job::{Diagnostic, JobCtx, Phase, Sink, Throughput, Unit};

/// Which `-wal` / `-journal` files to read with the database.
#[derive(Debug, Clone, Default)]
pub struct SideFiles {
    /// WAL file to read (default: `<DB>-wal` if it exists).
    pub wal: Option<PathBuf>,
    /// Rollback journal to read (default: `<DB>-journal` if it exists).
    pub journal: Option<PathBuf>,
    /// Ignore any WAL.
    pub no_wal: bool,
    /// Ignore any rollback journal.
    pub no_journal: bool,
}

impl SideFiles {
    fn pick(explicit: &Option<PathBuf>, off: bool, db: &Path, suffix: &str) -> Option<PathBuf> {
        if off {
            return None;
        }
        if let Some(p) = explicit {
            return Some(p.clone());
        }
        let mut s = db.as_os_str().to_os_string();
        s.push(suffix);
        let p = PathBuf::from(s);
        evidence::vfs::is_file(&p).then_some(p)
    }
    /// The WAL path to read, if any.
    pub fn wal_path(&self, db: &Path) -> Option<PathBuf> {
        Self::pick(&self.wal, self.no_wal, db, "-wal")
    }
    /// The journal path to read, if any.
    pub fn journal_path(&self, db: &Path) -> Option<PathBuf> {
        Self::pick(&self.journal, self.no_journal, db, "-journal")
    }
}

/// What `sqlite history` is asked for.
#[derive(Debug, Clone, Default)]
pub struct HistoryRequest {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
    /// Side files.
    pub side: SideFiles,
    /// Only this table.
    pub table: Option<String>,
    /// Only the row with this rowid.
    pub rowid: Option<i64>,
    /// Only the row with this key.
    pub key: Option<String>,
}

/// One version and the file it was read from.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    /// The version.
    pub version: Version,
    /// The path of the file holding it (database, WAL or journal).
    pub file: String,
}

/// What the job reports besides the versions.
#[derive(Debug, Default)]
pub struct HistoryOutcome {
    /// Tables known in any state (for column names).
    pub tables: Vec<sqlite_pages::schema::Table>,
    /// Facts and damage met on the way.
    pub notes: Vec<String>,
}

/// The bytes of the database and its side files, opened as evidence.
pub struct Loaded {
    db: evidence::Evidence,
    wal: Option<(PathBuf, evidence::Evidence)>,
    journal: Option<(PathBuf, evidence::Evidence)>,
}

/// Opens one evidence file read-only.
pub(crate) fn open_evidence<E>(p: &Path) -> Result<evidence::Evidence, SqliteError<E>> {
    evidence::Evidence::open(p).map_err(|source| SqliteError::Open {
        path: p.to_path_buf(),
        source,
    })
}

impl Loaded {
    /// Opens `db` and the side files `side` selects (read-only).
    pub fn open<E>(db: &Path, side: &SideFiles) -> Result<Self, SqliteError<E>> {
        let open = |p: PathBuf| open_evidence(&p).map(|e| (p, e));
        Ok(Self {
            db: open_evidence(db)?,
            wal: side.wal_path(db).map(open).transpose()?,
            journal: side.journal_path(db).map(open).transpose()?,
        })
    }
    /// Whether any side file was opened.
    pub fn has_side_files(&self) -> bool {
        self.wal.is_some() || self.journal.is_some()
    }
    /// The bytes.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            db: self.db.bytes(),
            wal: self.wal.as_ref().map(|(_, e)| e.bytes()),
            journal: self.journal.as_ref().map(|(_, e)| e.bytes()),
        }
    }
    /// The path of the file `v` was read from.
    pub fn file_of(&self, v: &Version) -> String {
        let p = if v.frame.is_some() {
            self.wal.as_ref().map(|(p, _)| p.as_path())
        } else if v.journal.is_some() {
            self.journal.as_ref().map(|(p, _)| p.as_path())
        } else {
            None
        };
        p.unwrap_or_else(|| self.db.path()).display().to_string()
    }
    fn total_bytes(&self) -> u64 {
        let n = |e: &evidence::Evidence| e.bytes().len() as u64;
        n(&self.db)
            .saturating_add(self.wal.as_ref().map_or(0, |(_, e)| n(e)))
            .saturating_add(self.journal.as_ref().map_or(0, |(_, e)| n(e)))
    }
}

/// Runs `sqlite history`: every selected version, oldest first per row,
/// into `sink`.
pub fn history<S: Sink<HistoryItem>>(
    req: &HistoryRequest,
    ctx: &JobCtx,
    sink: &mut S,
) -> Result<HistoryOutcome, SqliteError<S::Error>> {
    let span = tracing::info_span!("sqlite_history", db = %req.db.display());
    let _job = span.enter();
    let timer = Throughput::start("sqlite history");
    let loaded = {
        let _open = tracing::info_span!("open").entered();
        Loaded::open(&req.db, &req.side)?
    };
    ctx.check()?;
    let total = loaded.total_bytes();
    let h = {
        let _scan = tracing::info_span!("scan").entered();
        collect(&loaded, ctx)?
    };
    report_chain_breaks(&loaded, &h, ctx);
    let _encode = tracing::info_span!("encode").entered();
    let mut n = 0u64;
    for v in h.versions.into_iter().filter(|v| selected(req, v)) {
        ctx.check()?;
        let file = loaded.file_of(&v);
        n = n.saturating_add(1);
        if !sink
            .item(HistoryItem { version: v, file })
            .map_err(SqliteError::Sink)?
        {
            break;
        }
    }
    timer.finish(n, total);
    Ok(HistoryOutcome {
        tables: h.tables,
        notes: h.notes,
    })
}

/// [`history::collect_with`] with the job's progress (states read, then
/// WAL frames / journal records carved, of their total) and cancellation.
fn collect<E>(loaded: &Loaded, ctx: &JobCtx) -> Result<History, SqliteError<E>> {
    let mut step = |done: u64, total: u64| {
        ctx.progress(Phase::Scan, Unit::Items, done, Some(total));
        !ctx.cancel.is_cancelled()
    };
    history::collect_with(&loaded.inputs(), &mut step).map_err(|e| match e {
        HistoryError::Stopped => SqliteError::Cancelled(crate::job::Cancelled),
        e => SqliteError::History(e),
    })
}

/// A diagnostic per cell (of any file) whose overflow chain broke; its
/// versions hold the bytes read before the break.
fn report_chain_breaks(loaded: &Loaded, h: &History, ctx: &JobCtx) {
    let mut seen = HashSet::new();
    for v in &h.versions {
        if let Some(b) = v.chain_break {
            let file = loaded.file_of(v);
            if seen.insert((file.clone(), b)) {
                ctx.diagnostic(super::salvage::chain_break_diagnostic(&b, &file));
            }
        }
    }
}

fn selected(req: &HistoryRequest, v: &Version) -> bool {
    req.table.as_ref().is_none_or(|t| *t == v.table)
        && req.rowid.is_none_or(|r| v.rowid == Some(r))
        && req.key.as_ref().is_none_or(|k| *k == v.key)
}

/// A version as a JSON object (the `jsonl` line of `history`, and the extra
/// rows `salvage` emits).
pub fn version_json(v: &Version, file: &str) -> Json {
    let mut o = json!({
        "table": v.table,
        "rowid": v.rowid,
        "key": v.key,
        "status": v.status.name(),
        "change": v.change,
        "changed": v.changed,
        "values": v.values.as_ref().map(|vs| vs.iter().map(json_value).collect::<Vec<_>>()),
        "stage": v.stage.label(),
        "page": v.page.map(|p| p.0),
        "offset": v.page.map(|p| p.1),
        "file": file,
    });
    let Some(m) = o.as_object_mut() else {
        return o;
    };
    if let Some(f) = v.frame {
        m.insert("frame".into(), json!(f.frame_no));
        m.insert("frame_offset".into(), json!(f.offset));
        m.insert("frame_status".into(), json!(f.status.name()));
        m.insert("commit".into(), json!(f.commit_idx));
        m.insert("salt1".into(), json!(f.salts.0));
        m.insert("salt2".into(), json!(f.salts.1));
    }
    if let Some(j) = v.journal {
        m.insert("journal_page".into(), json!(j.pgno));
        m.insert("journal_offset".into(), json!(j.offset));
    }
    if let Some(c) = v.carved {
        m.insert("carved_from".into(), json!(c.from.name()));
    }
    o
}

/// Versions that are not live (older, uncommitted, pre-transaction, carved),
/// once per distinct row content, as JSON rows with `frame` /
/// `journal_page` provenance and a `confidence`.
fn salvage_extra_rows(loaded: &Loaded, h: &History) -> Vec<SideRow> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for v in h
        .versions
        .iter()
        .filter(|v| v.status != Status::Live && v.values.is_some())
    {
        let file = loaded.file_of(v);
        let mut j = version_json(v, &file);
        // Checksummed page versions are exact; pages of an unfinished
        // transaction are what was written, but SQLite never vouched for
        // them; carved cells carry the carver's confidence.
        let confidence = match (v.carved, v.status) {
            (Some(c), _) => f64::from(c.confidence),
            (None, Status::WalUncommitted | Status::DbUncommitted) => 0.8,
            _ => 1.0,
        };
        if let Some(m) = j.as_object_mut() {
            m.insert("confidence".into(), json!(confidence));
        }
        let sig = (
            v.table.clone(),
            v.key.clone(),
            j.get("values").map(|x| x.to_string()),
        );
        if seen.insert(sig) {
            out.push(SideRow {
                json: j,
                version: v.clone(),
                file,
                confidence,
            });
        }
    }
    out
}

/// One older row version `salvage` adds from the side files.
#[derive(Debug, Clone)]
pub struct SideRow {
    /// The JSON row (`version_json` plus `confidence`).
    pub json: Json,
    /// The version itself (values exact, for typed outputs such as Arrow).
    pub version: Version,
    /// The file it was read from.
    pub file: String,
    /// 1.0 for checksummed page versions, 0.8 for an unfinished
    /// transaction's pages, the carver's confidence for carved cells.
    pub confidence: f64,
}

/// What `salvage` adds from the side files: the live image to salvage
/// instead of the bare file, and the older / uncommitted / pre-transaction /
/// carved row versions as JSON rows.
#[derive(Debug, Default)]
pub struct SalvageSide {
    /// The image to salvage, if the side files change the state.
    pub image: Option<history::LiveImage>,
    /// Extra rows (not live), once per distinct content.
    pub extra_rows: Vec<SideRow>,
}

/// Reads the side files of `db` for `salvage`; `tables` (if not empty)
/// limits the extra rows. Damaged or unreadable side files cost their extra
/// rows (a warning diagnostic), never the salvage of the database itself.
pub fn salvage_side(db: &Path, side: &SideFiles, tables: &[String], ctx: &JobCtx) -> SalvageSide {
    let _span = tracing::info_span!("side_files").entered();
    let warn = |e: &dyn std::fmt::Display| {
        ctx.diagnostic(Diagnostic::warning(
            "side-files-unused",
            format!("-wal/-journal not used: {e}"),
        ));
    };
    let loaded = match Loaded::open::<std::convert::Infallible>(db, side) {
        Ok(l) => l,
        Err(e) => {
            warn(&e);
            return SalvageSide::default();
        }
    };
    if !loaded.has_side_files() {
        return SalvageSide::default();
    }
    let mut extra_rows = match collect::<std::convert::Infallible>(&loaded, ctx) {
        Ok(h) => salvage_extra_rows(&loaded, &h),
        // The salvage itself stops at its next check.
        Err(SqliteError::Cancelled(_)) => return SalvageSide::default(),
        Err(e) => {
            warn(&e);
            Vec::new()
        }
    };
    if !tables.is_empty() {
        extra_rows.retain(|r| tables.contains(&r.version.table));
    }
    SalvageSide {
        image: history::live_image(&loaded.inputs()),
        extra_rows,
    }
}
