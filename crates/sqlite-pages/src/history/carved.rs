//! Versions found outside the sequence of states: rows of earlier WAL
//! generations, and deleted rows carved from the free space of every WAL
//! frame's and journal record's page image.

use std::collections::{BTreeMap, HashMap, HashSet};

use rowcodec::sqlite::encode::csv_field;
use rowcodec::sqlite::{OwnedValue, TextEncoding};

use super::states::Ctx;
use super::tree::{self, Row};
use super::versions::{RowKey, Timelines, Walked, changed_columns, row_key, version};
use super::view::{PageSrc, View};
use super::{Stage, Status, Steps, Version};
use crate::schema::Table;
use crate::wal::FrameStatus;

/// Rows in frames of earlier WAL generations, attributed by page number to
/// the table owning that page in the database file, kept when they differ
/// from every version already known for their row.
pub(crate) fn earlier_generations(
    cx: &Ctx<'_>,
    stages: &[(Stage, View<'_>)],
    owners: &HashMap<u32, String>,
    tables: &BTreeMap<String, Table>,
    enc: TextEncoding,
    tl: &mut Timelines,
) {
    let (Some(w), Some((_, base))) = (&cx.wal, stages.iter().find(|(s, _)| *s == Stage::DbFile))
    else {
        return;
    };
    let list: Vec<Table> = tables.values().cloned().collect();
    let mut old: Vec<(RowKey, Version)> = Vec::new();
    for f in w
        .frames()
        .filter(|f| f.status == FrameStatus::EarlierGeneration)
    {
        let Some(ti) = owners
            .get(&f.pgno())
            .and_then(|n| list.iter().position(|t| t.name == *n))
        else {
            continue;
        };
        let Some(t) = list.get(ti) else { continue };
        let stage = Stage::EarlierGeneration { salt1: f.salts().0 };
        let page = (f.pgno(), PageSrc::Frame(f.frame_idx), f.page);
        for r in tree::standalone_rows(base, &list, ti, enc, page) {
            let key = (t.name.clone(), row_key(t, &r));
            let known = tl.knows(&key, &r.values)
                || old
                    .iter()
                    .any(|(k, v)| *k == key && v.values.as_ref() == Some(&r.values));
            if !known {
                let v = version(
                    cx,
                    &key,
                    &r,
                    (stage, Status::WalOld),
                    "first-seen",
                    Vec::new(),
                );
                old.push((key, v));
            }
        }
    }
    for (key, v) in old.into_iter().rev() {
        let line = tl.entry(&key, tables.get(&key.0), v.rowid);
        if let Some(first) = line.versions.first_mut()
            && let (Some(a), Some(b)) = (&v.values, &first.values)
        {
            first.changed = changed_columns(line.table.as_ref(), a, b);
            first.change = "updated";
        }
        line.versions.insert(0, v);
    }
}

/// A row's values as text, the rowid-alias column left out (a carved cell
/// whose rowid was lost has NULL there).
fn signature(t: &Table, values: &[OwnedValue]) -> String {
    values
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != t.rowid_alias)
        .map(|(_, v)| csv_field(v))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// The page images of the side files, in file order, with the stage their
/// carved rows are reported under.
fn side_pages<'a>(cx: &Ctx<'a>) -> Vec<(u32, PageSrc, &'a [u8], Stage, Status)> {
    let mut out = Vec::new();
    if let Some(w) = &cx.wal {
        for f in w.frames() {
            let stage = match f.status {
                FrameStatus::Committed { commit_idx } => Stage::Commit(commit_idx),
                FrameStatus::EarlierGeneration => Stage::EarlierGeneration { salt1: f.salts().0 },
                _ => Stage::WalUncommitted,
            };
            let src = PageSrc::Frame(f.frame_idx);
            out.push((f.pgno(), src, f.page, stage, Status::WalDeleted));
        }
    }
    if let Some(j) = &cx.journal {
        for (i, r) in j.records().iter().enumerate() {
            let src = PageSrc::Journal(u32::try_from(i).unwrap_or(u32::MAX));
            out.push((
                r.pgno,
                src,
                r.page,
                Stage::JournalPreImage,
                Status::JournalDeleted,
            ));
        }
    }
    out
}

/// Deleted rows carved from every WAL frame and journal record, attributed
/// to the table that owns the page number in some state; kept when no live
/// version of a row of that table has the same values, once per content.
/// Keyed by row; `None` when `steps` says stop (one step per page image).
pub(crate) fn carve_side_pages(
    cx: &Ctx<'_>,
    stages: &[(Stage, View<'_>)],
    live: usize,
    w: &Walked,
    enc: TextEncoding,
    steps: &mut Steps<'_>,
) -> Option<HashMap<RowKey, Vec<Version>>> {
    let mut out: HashMap<RowKey, Vec<Version>> = HashMap::new();
    let Some((_, view)) = stages.get(live) else {
        return Some(out);
    };
    let list: Vec<Table> = w.all_tables.values().cloned().collect();
    // Only what SQLite shows hides a carved copy: older versions stay (their
    // bytes surviving in a later page image is itself evidence).
    let mut known: HashSet<(String, String)> = HashSet::new();
    for ((name, _), r) in &w.live_rows {
        if let Some(t) = w.all_tables.get(name) {
            known.insert((name.clone(), signature(t, &r.values)));
        }
    }
    for (pgno, src, page, stage, status) in side_pages(cx) {
        if !steps.tick() {
            return None;
        }
        let Some(ti) = w
            .any_owners
            .get(&pgno)
            .and_then(|n| list.iter().position(|t| t.name == *n))
        else {
            continue;
        };
        let Some(t) = list.get(ti) else { continue };
        let rows: Vec<Row> = tree::page_rows(view, &list, ti, enc, (pgno, src, page), true);
        for r in rows {
            if !known.insert((t.name.clone(), signature(t, &r.values))) {
                continue;
            }
            let key = (t.name.clone(), row_key(t, &r));
            let v = version(cx, &key, &r, (stage, status), "carved", Vec::new());
            out.entry(key).or_default().push(v);
        }
    }
    Some(out)
}

/// The number of page images [`carve_side_pages`] goes through.
pub(crate) fn n_side_pages(cx: &Ctx<'_>) -> u64 {
    let frames = cx.wal.as_ref().map_or(0, |w| u64::from(w.n_frames()));
    let records = cx.journal.as_ref().map_or(0, |j| j.records().len() as u64);
    frames.saturating_add(records)
}
