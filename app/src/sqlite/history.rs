//! `datam sqlite history`: every version of every row found in a database,
//! its `-wal` and its `-journal`, in commit order, with what changed.
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
//! Statuses: `live`, `db-old` (in the database file, superseded by committed
//! WAL frames), `wal-old` (an older committed WAL frame, or an earlier WAL
//! generation), `wal-uncommitted`, `journal` (pre-transaction image in a
//! stale journal), `db-uncommitted` (a page an unfinished transaction spilled
//! into the database file, which a hot journal restores).
//!
//! **Architecture Invariant:** the evidence is read through `evidence` only;
//! rollback and checkpoint are computed in memory, never written.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rowcodec::sqlite::encode::{csv_field, json_value};
use rowcodec::sqlite::{OwnedValue, TextEncoding};
use serde_json::{Value as Json, json};
use sqlite_pages::journal::{Journal, JournalCtx, JournalKind, RecordStatus};
use sqlite_pages::wal::{FrameStatus, Wal};

mod btree;
mod sql;

use std::rc::Rc;

use btree::{LeafCache, PageSrc, Row, Table, View, WalIndex};

/// Output format of `datam sqlite history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Versions grouped by row, with the changed columns.
    Text,
    /// One JSON object per version.
    Jsonl,
}

/// Which `-wal` / `-journal` files to read with the database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SideFiles {
    /// WAL file to read (default: `<DB>-wal` if it exists).
    #[arg(long, value_name = "PATH", conflicts_with = "no_wal")]
    pub wal: Option<PathBuf>,
    /// Rollback journal to read (default: `<DB>-journal` if it exists).
    #[arg(long, value_name = "PATH", conflicts_with = "no_journal")]
    pub journal: Option<PathBuf>,
    /// Ignore any WAL.
    #[arg(long)]
    pub no_wal: bool,
    /// Ignore any rollback journal.
    #[arg(long)]
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
        p.is_file().then_some(p)
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

/// Arguments of `datam sqlite history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
    /// Only this table.
    #[arg(long)]
    pub table: Option<String>,
    /// Only the row with this rowid.
    #[arg(long, conflicts_with = "key")]
    pub rowid: Option<i64>,
    /// Only the row with this primary key (WITHOUT ROWID tables; several key
    /// columns joined with `|`), or this rowid written as text.
    #[arg(long)]
    pub key: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Side files.
    #[command(flatten)]
    pub side: SideFiles,
}

/// Status of one row version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    fn label(self) -> String {
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

/// One version of one row.
#[derive(Debug, Clone)]
pub struct Version {
    /// Table name.
    pub table: String,
    /// Rowid (rowid tables).
    pub rowid: Option<i64>,
    /// Row key: the rowid, or the primary-key values joined with `|`.
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
    /// `first-seen`, `updated`, `deleted`, `reinserted`.
    pub change: &'static str,
}

/// Every version found, grouped by row in first-seen order.
#[derive(Debug, Default)]
pub struct History {
    /// Tables of the live state (or of any state if the live one has none).
    pub tables: Vec<Table>,
    /// Versions: all of one row together, oldest first.
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

struct Ctx<'a> {
    wal: Option<Wal<'a>>,
    journal: Option<Journal<'a>>,
}

impl Ctx<'_> {
    fn frame_ref(&self, idx: u32) -> Option<FrameRef> {
        let f = self.wal.as_ref()?.frame(idx)?;
        Some(FrameRef {
            frame_no: f.frame_no(),
            offset: f.offset,
            commit_idx: match f.status {
                FrameStatus::Committed { commit_idx } => Some(commit_idx),
                _ => None,
            },
            salts: f.salts(),
            status: f.status,
        })
    }
    fn journal_ref(&self, idx: u32) -> Option<JournalRef> {
        let r = self
            .journal
            .as_ref()?
            .records()
            .get(usize::try_from(idx).ok()?)?;
        Some(JournalRef {
            pgno: r.pgno,
            offset: r.offset,
        })
    }
}

fn page_geometry(inp: &Inputs<'_>) -> anyhow::Result<(u32, u32, TextEncoding)> {
    if let Ok(h) = sqlite_pages::header::DbHeader::parse(inp.db) {
        let enc = h.text_encoding.map(|e| e.to_rowcodec()).unwrap_or_default();
        return Ok((h.page_size_bytes, h.usable_size_bytes(), enc));
    }
    // The database file may be empty while its first pages live in the WAL.
    let ps = inp
        .wal
        .and_then(|w| Wal::parse(w).ok())
        .and_then(|w| w.page_size_bytes())
        .context("the database header is unreadable and no WAL gives the page size")?;
    Ok((ps, ps, TextEncoding::Utf8))
}

/// Builds the states in chronological order; returns them with the index of
/// the live one.
fn states<'a>(
    inp: &Inputs<'a>,
    cx: &Ctx<'a>,
    ps: u32,
    usable: u32,
    notes: &mut Vec<String>,
) -> (Vec<(Stage, View<'a>)>, usize) {
    let file = View::file(inp.db, ps, usable);
    let mut out = Vec::new();
    let mut base = file.clone();
    let mut hot = false;
    let rec_src = |i: usize| PageSrc::Journal(u32::try_from(i).unwrap_or(u32::MAX));
    if let Some(j) = &cx.journal {
        notes.push(format!(
            "journal: {}, {} records",
            j.kind().name(),
            j.records().len()
        ));
        for p in j.problems() {
            notes.push(format!("journal: {p}"));
        }
        if let Some(rb) = j.rollback() {
            hot = true;
            base.n_pages = rb.db_size_pages;
            let mut m = BTreeMap::new();
            for (i, r) in j.records().iter().enumerate() {
                if r.status == RecordStatus::Rollback {
                    m.insert(r.pgno, (rec_src(i), r.page));
                }
            }
            base.over = Rc::new(m);
        } else if j.kind() != JournalKind::Empty {
            let mut pre = file.clone();
            let mut m = BTreeMap::new();
            for (i, r) in j
                .records()
                .iter()
                .enumerate()
                .filter(|(_, r)| r.status.is_trusted())
            {
                m.entry(r.pgno).or_insert((rec_src(i), r.page));
                pre.n_pages = pre.n_pages.max(r.pgno);
            }
            if !m.is_empty() {
                pre.over = Rc::new(m);
                out.push((Stage::JournalPreImage, pre));
            }
        }
    }
    out.push((Stage::DbFile, base.clone()));
    let mut live = out.len() - 1;
    if let Some(w) = &cx.wal {
        let c = w.counts();
        notes.push(format!(
            "wal: {} frames: {} committed in {} commits, {} uncommitted, {} in progress, {} earlier generation, {} bad checksum, {} other invalid",
            c.total, c.committed, c.commits, c.uncommitted, c.in_progress, c.earlier_generation, c.bad_checksum, c.other_invalid
        ));
        for p in w.problems() {
            notes.push(format!("wal: {p}"));
        }
        let mut index = WalIndex::default();
        for f in w
            .frames()
            .filter(|f| matches!(f.status, FrameStatus::Committed { .. }))
        {
            index.max_pgno = index.max_pgno.max(f.pgno());
            index
                .by_pgno
                .entry(f.pgno())
                .or_default()
                .push((f.frame_idx, f.page));
        }
        let index = Rc::new(index);
        let mut cur = base;
        for f in w.frames() {
            if let (FrameStatus::Committed { commit_idx }, Some(n)) =
                (f.status, f.commit_size_pages())
            {
                cur.n_pages = n;
                cur.wal = Some((Rc::clone(&index), f.frame_idx));
                out.push((Stage::Commit(commit_idx), cur.clone()));
                live = out.len() - 1;
            }
        }
        let mut top = BTreeMap::new();
        let mut n = cur.n_pages;
        for f in w
            .frames()
            .filter(|f| matches!(f.status, FrameStatus::Uncommitted | FrameStatus::InProgress))
        {
            top.insert(f.pgno(), (PageSrc::Frame(f.frame_idx), f.page));
            n = n.max(f.pgno());
        }
        if !top.is_empty() {
            cur.top = Rc::new(top);
            cur.n_pages = n;
            out.push((Stage::WalUncommitted, cur));
        }
    }
    if hot {
        out.push((Stage::DbUncommitted, file));
    }
    (out, live)
}

type RowKey = (String, String);

/// Leaf page versions of a state: `(table, pgno, src) -> rows`.
type Leaves = HashMap<(String, u32, PageSrc), btree::LeafRows>;

fn mark_deleted(tl: &mut Timeline, key: &RowKey, stage: Stage) {
    if tl.versions.last().is_some_and(|v| v.values.is_some()) {
        tl.versions.push(Version {
            table: key.0.clone(),
            rowid: tl.rowid,
            key: key.1.clone(),
            values: None,
            status: stage.status(),
            stage,
            page: None,
            frame: None,
            journal: None,
            changed: Vec::new(),
            change: "deleted",
        });
    }
}

/// Adds to `cur` the rows of pages that differ from the live state, read on
/// their own and attributed to the table owning the page.
fn changed_pages<'a>(
    view: &View<'a>,
    live_view: &View<'a>,
    tables: &HashMap<String, Table>,
    stage_owners: &HashMap<u32, String>,
    live_owners: &HashMap<u32, String>,
    enc: TextEncoding,
    cur: &mut Leaves,
) {
    // Only pages laid over the file in either state can differ; iterating
    // those (not 1..=size) keeps a forged page number or size field cheap.
    let mut pgnos = view.overlaid_pgnos();
    pgnos.extend(live_view.overlaid_pgnos());
    let last = view.last_existing_pgno();
    for pgno in pgnos.into_iter().filter(|&p| p <= last) {
        let (Some((src, page)), old) = (view.page(pgno), live_view.page(pgno)) else {
            continue;
        };
        if old.is_some_and(|(s, _)| s == src) {
            continue;
        }
        let owner = stage_owners.get(&pgno).or_else(|| live_owners.get(&pgno));
        let Some(t) = owner.and_then(|n| tables.get(n)) else {
            continue;
        };
        cur.entry((t.name.clone(), pgno, src))
            .or_insert_with(|| Rc::new(btree::standalone_rows(view, t, pgno, src, page, enc)));
    }
}

fn row_key(t: &Table, r: &Row) -> String {
    match r.rowid {
        Some(id) if !t.without_rowid => id.to_string(),
        _ => {
            let cols: Vec<usize> = if t.pk.is_empty() {
                vec![0]
            } else {
                t.pk.clone()
            };
            cols.iter()
                .map(|&i| r.values.get(i).map(csv_field).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        }
    }
}

fn changed_columns(t: Option<&Table>, a: &[OwnedValue], b: &[OwnedValue]) -> Vec<String> {
    let n = a.len().max(b.len());
    (0..n)
        .filter(|&i| a.get(i) != b.get(i))
        .map(|i| {
            t.and_then(|t| t.columns.get(i).cloned())
                .unwrap_or_else(|| format!("column {i}"))
        })
        .collect()
}

struct Timeline {
    table: Option<Table>,
    rowid: Option<i64>,
    versions: Vec<Version>,
}

/// Collects every version of every row from the evidence bytes.
pub fn collect(inp: &Inputs<'_>) -> anyhow::Result<History> {
    let (ps, usable, enc) = page_geometry(inp)?;
    let cx = Ctx {
        wal: inp
            .wal
            .map(Wal::parse)
            .transpose()
            .context("reading the WAL")?,
        journal: inp.journal.map(|j| {
            Journal::parse(
                j,
                JournalCtx {
                    db_page_size: Some(ps),
                },
            )
        }),
    };
    let mut h = History::default();
    let (stages, live) = states(inp, &cx, ps, usable, &mut h.notes);
    let mut cache = LeafCache::new();
    let mut timelines: HashMap<RowKey, Timeline> = HashMap::new();
    let mut order: Vec<RowKey> = Vec::new();
    let mut owners: HashMap<u32, String> = HashMap::new();
    let mut live_owners: HashMap<u32, String> = HashMap::new();
    let mut live_rows: HashMap<RowKey, Row> = HashMap::new();
    let mut all_tables: BTreeMap<String, Table> = BTreeMap::new();
    // Only leaf versions that appear or disappear between consecutive
    // states are compared: cost grows with the pages each commit changed.
    let mut prev: Leaves = HashMap::new();
    let mut prev_tables: HashMap<String, Table> = HashMap::new();
    for (si, (stage, view)) in stages.iter().enumerate() {
        let tables: HashMap<String, Table> = btree::schema(view, enc)
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let mut cur: Leaves = HashMap::new();
        let mut stage_owners = HashMap::new();
        for t in tables.values() {
            for ((pgno, src), rows) in btree::walk_table(view, t, enc, &mut cache) {
                stage_owners.insert(pgno, t.name.clone());
                cur.insert((t.name.clone(), pgno, src), rows);
            }
        }
        // An unfinished transaction's state need not be a consistent tree:
        // read the pages it changed on their own too, and infer no deletions.
        let uncommitted = matches!(stage, Stage::WalUncommitted | Stage::DbUncommitted);
        if let (true, Some((_, live_view))) = (uncommitted, stages.get(live)) {
            changed_pages(
                view,
                live_view,
                &tables,
                &stage_owners,
                &live_owners,
                enc,
                &mut cur,
            );
        }
        if *stage == Stage::DbFile {
            owners.clone_from(&stage_owners);
        }
        if si == live {
            live_owners = stage_owners;
        }
        let mut added: HashMap<RowKey, (&Row, &Table)> = HashMap::new();
        for (k, rows) in cur.iter().filter(|(k, _)| !prev.contains_key(*k)) {
            let Some(t) = tables.get(&k.0) else { continue };
            for r in rows.iter() {
                added.insert((k.0.clone(), row_key(t, r)), (r, t));
            }
        }
        for (key, (row, t)) in &added {
            let tl = timelines.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                Timeline {
                    table: Some((*t).clone()),
                    rowid: row.rowid,
                    versions: Vec::new(),
                }
            });
            let last = tl.versions.last();
            let (change, changed) = match last.and_then(|p| p.values.as_ref()) {
                None if last.is_some() => ("reinserted", Vec::new()),
                None => ("first-seen", Vec::new()),
                Some(v) if *v == row.values => continue,
                Some(v) => ("updated", changed_columns(Some(t), v, &row.values)),
            };
            tl.versions
                .push(version(&cx, key, row, *stage, change, changed));
        }
        if !uncommitted {
            for (k, rows) in prev.iter().filter(|(k, _)| !cur.contains_key(*k)) {
                let Some(t) = prev_tables.get(&k.0) else {
                    continue;
                };
                for r in rows.iter() {
                    let key = (k.0.clone(), row_key(t, r));
                    if added.contains_key(&key) {
                        continue;
                    }
                    if let Some(tl) = timelines.get_mut(&key) {
                        mark_deleted(tl, &key, *stage);
                    }
                }
            }
        }
        if si == live {
            live_rows = cur
                .iter()
                .filter_map(|(k, rows)| Some((k, rows, tables.get(&k.0)?)))
                .flat_map(|(k, rows, t)| {
                    rows.iter()
                        .map(move |r| ((k.0.clone(), row_key(t, r)), r.clone()))
                })
                .collect();
            for t in tables.values() {
                all_tables.insert(t.name.clone(), t.clone());
            }
        } else {
            for t in tables.values() {
                all_tables
                    .entry(t.name.clone())
                    .or_insert_with(|| t.clone());
            }
        }
        // An uncommitted state is compared with the live one, never with another.
        if !uncommitted {
            prev = cur;
            prev_tables = tables;
        }
    }
    earlier_generations(
        &cx,
        &stages,
        &owners,
        &all_tables,
        enc,
        &mut timelines,
        &mut order,
    );
    order.sort_by(|a, b| {
        let rid = |k: &RowKey| timelines.get(k).and_then(|t| t.rowid);
        (&a.0, rid(a), &a.1).cmp(&(&b.0, rid(b), &b.1))
    });
    // Statuses: the version current at the live state is `live`; later ones
    // keep their uncommitted status; earlier ones their stage's.
    let live_stage = stages.get(live).map(|(s, _)| *s);
    for key in &order {
        let Some(tl) = timelines.get_mut(key) else {
            continue;
        };
        let live_row = live_rows.get(key);
        let live_pos = live_stage.and_then(|ls| {
            let upto = stages.iter().position(|(s, _)| *s == ls)?;
            tl.versions.iter().rposition(|v| {
                stages
                    .iter()
                    .position(|(s, _)| *s == v.stage)
                    .is_some_and(|p| p <= upto)
            })
        });
        for (i, v) in tl.versions.iter_mut().enumerate() {
            if Some(i) == live_pos && v.values.is_none() {
                // Deleted in the live state itself.
                v.status = Status::Live;
            }
            if Some(i) == live_pos
                && v.values.is_some()
                && let Some(r) = live_row
            {
                v.status = Status::Live;
                v.page = Some((r.pgno, r.offset));
                v.frame = match r.src {
                    PageSrc::Frame(f) => cx.frame_ref(f),
                    _ => None,
                };
                v.journal = match r.src {
                    PageSrc::Journal(j) => cx.journal_ref(j),
                    _ => None,
                };
            }
        }
        h.versions.append(&mut tl.versions);
    }
    h.tables = all_tables.into_values().collect();
    Ok(h)
}

fn version(
    cx: &Ctx<'_>,
    key: &RowKey,
    row: &Row,
    stage: Stage,
    change: &'static str,
    changed: Vec<String>,
) -> Version {
    Version {
        table: key.0.clone(),
        rowid: row.rowid,
        key: key.1.clone(),
        values: Some(row.values.clone()),
        status: stage.status(),
        stage,
        page: Some((row.pgno, row.offset)),
        frame: match row.src {
            PageSrc::Frame(f) => cx.frame_ref(f),
            _ => None,
        },
        journal: match row.src {
            PageSrc::Journal(j) => cx.journal_ref(j),
            _ => None,
        },
        changed,
        change,
    }
}

/// Rows in frames of earlier WAL generations, attributed by page number to
/// the table owning that page in the database file, kept when they differ
/// from every version already known for their row.
fn earlier_generations(
    cx: &Ctx<'_>,
    stages: &[(Stage, View<'_>)],
    owners: &HashMap<u32, String>,
    tables: &BTreeMap<String, Table>,
    enc: TextEncoding,
    timelines: &mut HashMap<RowKey, Timeline>,
    order: &mut Vec<RowKey>,
) {
    let (Some(w), Some((_, base))) = (&cx.wal, stages.iter().find(|(s, _)| *s == Stage::DbFile))
    else {
        return;
    };
    let mut old: Vec<(RowKey, Version)> = Vec::new();
    for f in w
        .frames()
        .filter(|f| f.status == FrameStatus::EarlierGeneration)
    {
        let Some(t) = owners.get(&f.pgno()).and_then(|n| tables.get(n)) else {
            continue;
        };
        let stage = Stage::EarlierGeneration { salt1: f.salts().0 };
        for r in btree::standalone_rows(base, t, f.pgno(), PageSrc::Frame(f.frame_idx), f.page, enc)
        {
            let key = (t.name.clone(), row_key(t, &r));
            let known = timelines.get(&key).is_some_and(|tl| {
                tl.versions
                    .iter()
                    .any(|v| v.values.as_ref() == Some(&r.values))
            }) || old
                .iter()
                .any(|(k, v)| *k == key && v.values.as_ref() == Some(&r.values));
            if !known {
                old.push((
                    key.clone(),
                    version(cx, &key, &r, stage, "first-seen", Vec::new()),
                ));
            }
        }
    }
    for (key, v) in old.into_iter().rev() {
        let tl = timelines.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Timeline {
                table: tables.get(&key.0).cloned(),
                rowid: v.rowid,
                versions: Vec::new(),
            }
        });
        if let Some(first) = tl.versions.first_mut()
            && let (Some(a), Some(b)) = (&v.values, &first.values)
        {
            first.changed = changed_columns(tl.table.as_ref(), a, b);
            first.change = "updated";
        }
        tl.versions.insert(0, v);
    }
}

/// The bytes of the database and its side files, opened as evidence.
pub struct Loaded {
    db: evidence::Evidence,
    wal: Option<(PathBuf, evidence::Evidence)>,
    journal: Option<(PathBuf, evidence::Evidence)>,
}

impl Loaded {
    /// Opens `db` and the side files `side` selects (read-only).
    pub fn open(db: &Path, side: &SideFiles) -> anyhow::Result<Self> {
        let open = |p: PathBuf| -> anyhow::Result<(PathBuf, evidence::Evidence)> {
            let e =
                evidence::Evidence::open(&p).with_context(|| format!("opening {}", p.display()))?;
            Ok((p, e))
        };
        Ok(Self {
            db: evidence::Evidence::open(db)
                .with_context(|| format!("opening {}", db.display()))?,
            wal: side.wal_path(db).map(open).transpose()?,
            journal: side.journal_path(db).map(open).transpose()?,
        })
    }
    /// The bytes.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            db: self.db.bytes(),
            wal: self.wal.as_ref().map(|(_, e)| e.bytes()),
            journal: self.journal.as_ref().map(|(_, e)| e.bytes()),
        }
    }
    fn file_of(&self, v: &Version) -> String {
        let p = if v.frame.is_some() {
            self.wal.as_ref().map(|(p, _)| p.as_path())
        } else if v.journal.is_some() {
            self.journal.as_ref().map(|(p, _)| p.as_path())
        } else {
            None
        };
        p.unwrap_or_else(|| self.db.path()).display().to_string()
    }
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
    if let (Some(f), Some(m)) = (v.frame, o.as_object_mut()) {
        m.insert("frame".into(), json!(f.frame_no));
        m.insert("frame_offset".into(), json!(f.offset));
        m.insert("frame_status".into(), json!(f.status.name()));
        m.insert("commit".into(), json!(f.commit_idx));
        m.insert("salt1".into(), json!(f.salts.0));
        m.insert("salt2".into(), json!(f.salts.1));
    }
    if let (Some(j), Some(m)) = (v.journal, o.as_object_mut()) {
        m.insert("journal_page".into(), json!(j.pgno));
        m.insert("journal_offset".into(), json!(j.offset));
    }
    o
}

/// Versions that are not live (older, uncommitted, pre-transaction), once per
/// distinct row content, as JSON rows with `frame` / `journal_page`
/// provenance: what `datam sqlite salvage` adds for a database's side files.
pub fn salvage_extra_rows(db: &Path, side: &SideFiles) -> anyhow::Result<Vec<Json>> {
    let loaded = Loaded::open(db, side)?;
    if loaded.wal.is_none() && loaded.journal.is_none() {
        return Ok(Vec::new());
    }
    let h = collect(&loaded.inputs())?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for v in h
        .versions
        .iter()
        .filter(|v| v.status != Status::Live && v.values.is_some())
    {
        let mut j = version_json(v, &loaded.file_of(v));
        // Checksummed page versions are exact; pages of an unfinished
        // transaction are what was written, but SQLite never vouched for them.
        let confidence = match v.status {
            Status::WalUncommitted | Status::DbUncommitted => 0.8,
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
            out.push(j);
        }
    }
    Ok(out)
}

fn render(v: &OwnedValue) -> String {
    match v {
        OwnedValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
        OwnedValue::Null => "NULL".into(),
        other => rowcodec::sqlite::encode::sql_literal(other),
    }
}

fn where_text(v: &Version) -> String {
    let page = v
        .page
        .map(|(p, o)| format!(" page {p} @{o}"))
        .unwrap_or_default();
    if let Some(f) = v.frame {
        let commit = f
            .commit_idx
            .map(|c| format!(", commit {c}"))
            .unwrap_or_default();
        return format!("frame {}{commit}{page}", f.frame_no);
    }
    if let Some(j) = v.journal {
        return format!("journal record @{}{page}", j.offset);
    }
    format!("{}{page}", v.stage.label())
}

fn write_text(h: &History, sel: &[&Version], out: &mut dyn Write) -> anyhow::Result<()> {
    let mut last: Option<(&str, &str)> = None;
    let cols = |t: &str| {
        h.tables
            .iter()
            .find(|x| x.name == t)
            .map(|x| x.columns.clone())
            .unwrap_or_default()
    };
    let mut prev: Option<&Vec<OwnedValue>> = None;
    for v in sel {
        if last != Some((v.table.as_str(), v.key.as_str())) {
            let what = if v.rowid.is_some() { "rowid" } else { "key" };
            writeln!(out, "{} {what} {}", v.table, v.key)?;
            last = Some((v.table.as_str(), v.key.as_str()));
            prev = None;
        }
        let names = cols(&v.table);
        let body = match (&v.values, prev) {
            (None, _) => "deleted".to_string(),
            (Some(vals), Some(p)) if v.change == "updated" => vals
                .iter()
                .enumerate()
                .filter(|(i, x)| p.get(*i) != Some(*x))
                .map(|(i, x)| {
                    let n = names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("column {i}"));
                    let old = p.get(i).map(render).unwrap_or_else(|| "-".into());
                    format!("{n}: {old} -> {}", render(x))
                })
                .collect::<Vec<_>>()
                .join(", "),
            (Some(vals), _) => vals
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    format!(
                        "{}={}",
                        names.get(i).cloned().unwrap_or_else(|| format!("c{i}")),
                        render(x)
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        };
        writeln!(
            out,
            "  {:<16} {:<40} {body}",
            v.status.name(),
            where_text(v)
        )?;
        if let Some(vals) = &v.values {
            prev = Some(vals);
        }
    }
    Ok(())
}

/// Runs the history command.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let loaded = Loaded::open(&args.db, &args.side)?;
    let h = collect(&loaded.inputs())?;
    for n in &h.notes {
        tracing::info!("{n}");
    }
    let sel: Vec<&Version> = h
        .versions
        .iter()
        .filter(|v| args.table.as_ref().is_none_or(|t| *t == v.table))
        .filter(|v| args.rowid.is_none_or(|r| v.rowid == Some(r)))
        .filter(|v| args.key.as_ref().is_none_or(|k| *k == v.key))
        .collect();
    match args.format {
        Format::Jsonl => {
            for v in &sel {
                serde_json::to_writer(&mut *out, &version_json(v, &loaded.file_of(v)))?;
                writeln!(out)?;
            }
        }
        Format::Text => {
            for n in &h.notes {
                writeln!(out, "# {n}")?;
            }
            write_text(&h, &sel, out)?;
        }
    }
    Ok(())
}

/// The database image SQLite would read: the file with its committed WAL
/// frames applied, or a hot journal rolled back, built in memory. `None`
/// when the side files change nothing (read the file itself).
pub fn live_image(db: &Path, side: &SideFiles) -> anyhow::Result<Option<Vec<u8>>> {
    let loaded = Loaded::open(db, side)?;
    if loaded.wal.is_none() && loaded.journal.is_none() {
        return Ok(None);
    }
    let inp = loaded.inputs();
    let Ok((ps, usable, _)) = page_geometry(&inp) else {
        return Ok(None);
    };
    let cx = Ctx {
        wal: inp.wal.and_then(|w| Wal::parse(w).ok()),
        journal: inp.journal.map(|j| {
            Journal::parse(
                j,
                JournalCtx {
                    db_page_size: Some(ps),
                },
            )
        }),
    };
    let (stages, live) = states(&inp, &cx, ps, usable, &mut Vec::new());
    let Some((_, view)) = stages.get(live) else {
        return Ok(None);
    };
    let n_file = inp.db.len() / ps.max(1) as usize;
    if view.over.is_empty() && view.wal.is_none() && view.n_pages as usize == n_file {
        return Ok(None);
    }
    let ps_usize = ps as usize;
    // Pages past the last one that exists anywhere are left out (SQLite
    // would read zeros); a forged size field cannot make this allocate.
    let n = view.last_existing_pgno();
    let mut out = Vec::with_capacity((n as usize).saturating_mul(ps_usize));
    for pgno in 1..=n {
        match view.page(pgno) {
            Some((_, p)) => out.extend_from_slice(p),
            None => out.resize(out.len().saturating_add(ps_usize), 0),
        }
    }
    Ok(Some(out))
}

/// What `salvage` adds from the side files: the live image to salvage
/// instead of the bare file, and the older / uncommitted / pre-transaction
/// row versions as JSON rows with `frame` / `journal_page` provenance.
pub struct SalvageSide {
    /// The image to salvage, if the side files change the state.
    pub image: Option<Vec<u8>>,
    /// Extra JSON rows (not live), once per distinct content.
    pub extra_rows: Vec<Json>,
}

/// Reads the side files of `db` for `datam sqlite salvage`; `tables` (if not
/// empty) limits the extra rows.
///
/// Damaged or unreadable side files cost their extra rows (a warning on
/// stderr), never the salvage of the database itself.
pub fn salvage_side(db: &Path, side: &SideFiles, tables: &[String]) -> anyhow::Result<SalvageSide> {
    let warn = |e: anyhow::Error| eprintln!("datam: warning: -wal/-journal not used: {e:#}");
    let mut extra_rows = salvage_extra_rows(db, side).unwrap_or_else(|e| {
        warn(e);
        Vec::new()
    });
    if !tables.is_empty() {
        extra_rows.retain(|r| {
            r.get("table")
                .and_then(Json::as_str)
                .is_some_and(|t| tables.iter().any(|x| x == t))
        });
    }
    let image = live_image(db, side).unwrap_or_else(|e| {
        warn(e);
        None
    });
    Ok(SalvageSide { image, extra_rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DB: &[u8] = include_bytes!("../../../corpora/sqlite-history/samples/wal/evidence.db");
    const WAL: &[u8] =
        include_bytes!("../../../corpora/sqlite-history/samples/wal/evidence.db-wal");
    const HOT_DB: &[u8] =
        include_bytes!("../../../corpora/sqlite-history/samples/hot-journal/evidence.db");
    const HOT_J: &[u8] =
        include_bytes!("../../../corpora/sqlite-history/samples/hot-journal/evidence.db-journal");

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
