//! The sequence of database states the evidence defines (see the
//! [`super`] docs), and the image SQLite itself would read.

use std::collections::BTreeMap;
use std::sync::Arc;

use rowcodec::sqlite::TextEncoding;

use super::view::{PageSrc, View, WalIndex};
use super::{FrameRef, HistoryError, Inputs, JournalRef, Stage};
use crate::header::DbHeader;
use crate::journal::{Journal, JournalCtx, JournalKind, RecordStatus};
use crate::wal::{FrameStatus, Wal};

/// The parsed side files.
pub(crate) struct Ctx<'a> {
    pub(crate) wal: Option<Wal<'a>>,
    pub(crate) journal: Option<Journal<'a>>,
}

impl<'a> Ctx<'a> {
    /// Parses the side files; a WAL that is not one is an error, a damaged
    /// journal is read as far as it goes.
    pub(crate) fn parse(inp: &Inputs<'a>, page_size: u32) -> Result<Self, HistoryError> {
        Ok(Self {
            wal: inp
                .wal
                .map(Wal::parse)
                .transpose()
                .map_err(HistoryError::Wal)?,
            journal: inp.journal.map(|j| {
                Journal::parse(
                    j,
                    JournalCtx {
                        db_page_size: Some(page_size),
                    },
                )
            }),
        })
    }

    pub(crate) fn frame_ref(&self, idx: u32) -> Option<FrameRef> {
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

    pub(crate) fn journal_ref(&self, idx: u32) -> Option<JournalRef> {
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

    pub(crate) fn provenance(&self, src: PageSrc) -> (Option<FrameRef>, Option<JournalRef>) {
        match src {
            PageSrc::Frame(f) => (self.frame_ref(f), None),
            PageSrc::Journal(j) => (None, self.journal_ref(j)),
            PageSrc::Db => (None, None),
        }
    }
}

/// Page size, usable size and text encoding: from the database header, or
/// (an empty database file whose first pages live in the WAL) from the WAL.
pub(crate) fn page_geometry(inp: &Inputs<'_>) -> Result<(u32, u32, TextEncoding), HistoryError> {
    if let Ok(h) = DbHeader::parse(inp.db) {
        let enc = h.text_encoding.unwrap_or_default();
        return Ok((h.page_size_bytes, h.usable_size_bytes(), enc));
    }
    let ps = inp
        .wal
        .and_then(|w| Wal::parse(w).ok())
        .and_then(|w| w.page_size_bytes())
        .ok_or(HistoryError::NoPageSize)?;
    Ok((ps, ps, TextEncoding::Utf8))
}

fn rec_src(i: usize) -> PageSrc {
    PageSrc::Journal(u32::try_from(i).unwrap_or(u32::MAX))
}

/// The journal's states: returns the base view (the file, rolled back in
/// memory under a hot journal) and whether the journal was hot; pushes the
/// pre-image state of a stale journal.
fn journal_states<'a>(
    j: &Journal<'a>,
    file: &View<'a>,
    out: &mut Vec<(Stage, View<'a>)>,
    notes: &mut Vec<String>,
) -> (View<'a>, bool) {
    let mut base = file.clone();
    notes.push(format!(
        "journal: {}, {} records",
        j.kind().name(),
        j.records().len()
    ));
    for p in j.problems() {
        notes.push(format!("journal: {p}"));
    }
    if let Some(rb) = j.rollback() {
        base.n_pages = rb.db_size_pages;
        let mut m = BTreeMap::new();
        for (i, r) in j.records().iter().enumerate() {
            if r.status == RecordStatus::Rollback {
                m.insert(r.pgno, (rec_src(i), r.page));
            }
        }
        base.over = Arc::new(m);
        return (base, true);
    }
    if j.kind() != JournalKind::Empty {
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
            pre.over = Arc::new(m);
            out.push((Stage::JournalPreImage, pre));
        }
    }
    (base, false)
}

/// The WAL's states on top of `base`: one per commit, then the frames after
/// the last commit. Returns the index of the last committed state, if any.
fn wal_states<'a>(
    w: &Wal<'a>,
    base: View<'a>,
    out: &mut Vec<(Stage, View<'a>)>,
    notes: &mut Vec<String>,
) -> Option<usize> {
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
    let index = Arc::new(index);
    let mut live = None;
    let mut cur = base;
    for f in w.frames() {
        if let (FrameStatus::Committed { commit_idx }, Some(n)) = (f.status, f.commit_size_pages())
        {
            cur.n_pages = n;
            cur.wal = Some((Arc::clone(&index), f.frame_idx));
            out.push((Stage::Commit(commit_idx), cur.clone()));
            live = Some(out.len() - 1);
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
        cur.top = Arc::new(top);
        cur.n_pages = n;
        out.push((Stage::WalUncommitted, cur));
    }
    live
}

/// Builds the states in chronological order; returns them with the index of
/// the live one.
pub(crate) fn states<'a>(
    inp: &Inputs<'a>,
    cx: &Ctx<'a>,
    (ps, usable): (u32, u32),
    notes: &mut Vec<String>,
) -> (Vec<(Stage, View<'a>)>, usize) {
    let file = View::file(inp.db, ps, usable);
    let mut out = Vec::new();
    let (base, hot) = match &cx.journal {
        Some(j) => journal_states(j, &file, &mut out, notes),
        None => (file.clone(), false),
    };
    out.push((Stage::DbFile, base.clone()));
    let mut live = out.len() - 1;
    if let Some(w) = &cx.wal
        && let Some(l) = wal_states(w, base, &mut out, notes)
    {
        live = l;
    }
    if hot {
        out.push((Stage::DbUncommitted, file));
    }
    (out, live)
}

/// The database image SQLite would read (see [`live_image`]).
#[derive(Debug, Clone, Default)]
pub struct LiveImage {
    /// The pages, one after another.
    pub bytes: Vec<u8>,
    /// Per page (index = page number − 1): the 1-based WAL frame its bytes
    /// come from, 0 for the database file or a journal image; the order in
    /// which the pages were written, for [`crate::db::Db::open_image`].
    pub write_order: Vec<u32>,
}

/// The database image SQLite would read: the file with its committed WAL
/// frames applied, or a hot journal rolled back, built in memory. `None`
/// when the side files change nothing (read the file itself) or the page
/// size cannot be known.
pub fn live_image(inp: &Inputs<'_>) -> Option<LiveImage> {
    let (ps, usable, _) = page_geometry(inp).ok()?;
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
    let (stages, live) = states(inp, &cx, (ps, usable), &mut Vec::new());
    let (_, view) = stages.get(live)?;
    let n_file = inp.db.len() / ps.max(1) as usize;
    if view.over.is_empty() && view.wal.is_none() && view.n_pages as usize == n_file {
        return None;
    }
    let ps_usize = ps as usize;
    // Pages past the last one that exists anywhere are left out (SQLite
    // would read zeros); a forged size field cannot make this allocate.
    let n = view.last_existing_pgno();
    let mut out = Vec::with_capacity((n as usize).saturating_mul(ps_usize));
    let mut write_order = Vec::with_capacity(n as usize);
    for pgno in 1..=n {
        match view.page(pgno) {
            Some((src, p)) => {
                out.extend_from_slice(p);
                write_order.push(match src {
                    PageSrc::Frame(idx) => idx.saturating_add(1),
                    PageSrc::Db | PageSrc::Journal(_) => 0,
                });
            }
            None => {
                out.resize(out.len().saturating_add(ps_usize), 0);
                write_order.push(0);
            }
        }
    }
    Some(LiveImage {
        bytes: out,
        write_order,
    })
}
