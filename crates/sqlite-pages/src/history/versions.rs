//! Row versions from the sequence of states: what appeared, changed or
//! disappeared between consecutive states, then the live statuses.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rowcodec::sqlite::encode::csv_field;
use rowcodec::sqlite::{OwnedValue, TextEncoding};

use super::Steps;
use super::states::Ctx;
use super::tree::{self, LeafCache, LeafRows, Row};
use super::view::{PageSrc, View};
use super::{History, Stage, Status, Version};
use crate::schema::Table;

/// `(table name, row key)`.
pub(crate) type RowKey = (String, String);

/// Leaf page versions of a state: `(table, pgno, src) -> rows`.
type Leaves = HashMap<(String, u32, PageSrc), LeafRows>;

/// The versions of one row.
pub(crate) struct Timeline {
    pub(crate) table: Option<Table>,
    pub(crate) rowid: Option<i64>,
    pub(crate) versions: Vec<Version>,
}

/// All timelines, and the order rows were first seen in.
#[derive(Default)]
pub(crate) struct Timelines {
    pub(crate) by_key: HashMap<RowKey, Timeline>,
    pub(crate) order: Vec<RowKey>,
}

impl Timelines {
    pub(crate) fn entry(
        &mut self,
        key: &RowKey,
        t: Option<&Table>,
        rowid: Option<i64>,
    ) -> &mut Timeline {
        self.by_key.entry(key.clone()).or_insert_with(|| {
            self.order.push(key.clone());
            Timeline {
                table: t.cloned(),
                rowid,
                versions: Vec::new(),
            }
        })
    }

    /// Whether row `key` already has a version with these values.
    pub(crate) fn knows(&self, key: &RowKey, values: &[OwnedValue]) -> bool {
        self.by_key.get(key).is_some_and(|tl| {
            tl.versions
                .iter()
                .any(|v| v.values.as_deref() == Some(values))
        })
    }
}

/// The tables of one state, by name.
pub(crate) struct StateTables {
    pub(crate) list: Vec<Table>,
    pub(crate) by_name: HashMap<String, usize>,
}

impl StateTables {
    fn read(view: &View<'_>, enc: TextEncoding) -> Self {
        let list = tree::schema(view, enc);
        let by_name = list
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Self { list, by_name }
    }
    pub(crate) fn get(&self, name: &str) -> Option<&Table> {
        self.list.get(*self.by_name.get(name)?)
    }
}

pub(crate) fn row_key(t: &Table, r: &Row) -> String {
    match r.rowid {
        Some(id) if !t.without_rowid => id.to_string(),
        _ if r.carved.is_some() && !t.without_rowid => format!("?{}@{}", r.pgno, r.offset),
        _ => {
            let cols: Vec<usize> = if t.primary_key.is_empty() {
                vec![0]
            } else {
                t.primary_key.clone()
            };
            cols.iter()
                .map(|&i| r.values.get(i).map(csv_field).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        }
    }
}

pub(crate) fn changed_columns(
    t: Option<&Table>,
    a: &[OwnedValue],
    b: &[OwnedValue],
) -> Vec<String> {
    let n = a.len().max(b.len());
    (0..n)
        .filter(|&i| a.get(i) != b.get(i))
        .map(|i| {
            t.and_then(|t| t.columns.get(i).map(|c| c.name.clone()))
                .unwrap_or_else(|| format!("column {i}"))
        })
        .collect()
}

pub(crate) fn version(
    cx: &Ctx<'_>,
    key: &RowKey,
    row: &Row,
    (stage, status): (Stage, Status),
    change: &'static str,
    changed: Vec<String>,
) -> Version {
    let (frame, journal) = cx.provenance(row.src);
    Version {
        table: key.0.clone(),
        rowid: row.rowid,
        key: key.1.clone(),
        values: Some(row.values.clone()),
        status,
        stage,
        page: Some((row.pgno, row.offset)),
        frame,
        journal,
        changed,
        change,
        carved: row
            .carved
            .map(|(from, confidence)| super::Carved { from, confidence }),
        chain_break: row.chain_break,
    }
}

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
            carved: None,
            chain_break: None,
        });
    }
}

/// Adds to `cur` the rows of pages that differ from the live state, read on
/// their own and attributed to the table owning the page.
fn changed_pages<'a>(
    (view, live_view): (&View<'a>, &View<'a>),
    tables: &StateTables,
    (stage_owners, live_owners): (&HashMap<u32, String>, &HashMap<u32, String>),
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
        let Some(ti) = owner.and_then(|n| tables.by_name.get(n)) else {
            continue;
        };
        let name = tables
            .list
            .get(*ti)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        cur.entry((name, pgno, src)).or_insert_with(|| {
            Arc::new(tree::standalone_rows(
                view,
                &tables.list,
                *ti,
                enc,
                (pgno, src, page),
            ))
        });
    }
}

/// What one state holds, read once.
struct StateRead {
    tables: StateTables,
    leaves: Leaves,
    owners: HashMap<u32, String>,
}

fn read_state(view: &View<'_>, enc: TextEncoding, cache: &mut LeafCache) -> StateRead {
    let tables = StateTables::read(view, enc);
    let mut leaves: Leaves = HashMap::new();
    let mut owners = HashMap::new();
    for (ti, t) in tables.list.iter().enumerate() {
        for ((pgno, src), rows) in tree::walk_table(view, &tables.list, ti, enc, cache) {
            owners.insert(pgno, t.name.clone());
            leaves.insert((t.name.clone(), pgno, src), rows);
        }
    }
    StateRead {
        tables,
        leaves,
        owners,
    }
}

/// Records the rows that appeared or changed in `cur` (not in `prev`);
/// returns their keys.
fn add_appeared<'r>(
    cx: &Ctx<'_>,
    stage: Stage,
    cur: &'r StateRead,
    prev: &Leaves,
    tl: &mut Timelines,
) -> HashMap<RowKey, &'r Row> {
    let mut added: HashMap<RowKey, (&Row, &Table)> = HashMap::new();
    for (k, rows) in cur.leaves.iter().filter(|(k, _)| !prev.contains_key(*k)) {
        let Some(t) = cur.tables.get(&k.0) else {
            continue;
        };
        for r in rows.iter() {
            added.insert((k.0.clone(), row_key(t, r)), (r, t));
        }
    }
    for (key, (row, t)) in &added {
        let line = tl.entry(key, Some(t), row.rowid);
        let last = line.versions.last();
        let (change, changed) = match last.and_then(|p| p.values.as_ref()) {
            None if last.is_some() => ("reinserted", Vec::new()),
            None => ("first-seen", Vec::new()),
            Some(v) if *v == row.values => continue,
            Some(v) => ("updated", changed_columns(Some(t), v, &row.values)),
        };
        let v = version(cx, key, row, (stage, stage.status()), change, changed);
        line.versions.push(v);
    }
    added.into_iter().map(|(k, (r, _))| (k, r)).collect()
}

/// Marks deleted the rows of leaf versions of `prev` gone from `cur`.
fn mark_gone(
    stage: Stage,
    cur: &Leaves,
    prev: &Leaves,
    prev_tables: Option<&StateTables>,
    added: &HashMap<RowKey, &Row>,
    tl: &mut Timelines,
) {
    for (k, rows) in prev.iter().filter(|(k, _)| !cur.contains_key(*k)) {
        let Some(t) = prev_tables.and_then(|p| p.get(&k.0)) else {
            continue;
        };
        for r in rows.iter() {
            let key = (k.0.clone(), row_key(t, r));
            if added.contains_key(&key) {
                continue;
            }
            if let Some(line) = tl.by_key.get_mut(&key) {
                mark_deleted(line, &key, stage);
            }
        }
    }
}

/// What the walk over the states leaves for the final steps.
pub(crate) struct Walked {
    pub(crate) tl: Timelines,
    /// Page owners in the database-file state.
    pub(crate) owners: HashMap<u32, String>,
    /// Page owners in any state (first state that reached the page).
    pub(crate) any_owners: HashMap<u32, String>,
    pub(crate) live_rows: HashMap<RowKey, Row>,
    pub(crate) all_tables: BTreeMap<String, Table>,
}

/// Reads every state in order; `None` when `steps` says stop.
fn walk_states(
    cx: &Ctx<'_>,
    stages: &[(Stage, View<'_>)],
    live: usize,
    enc: TextEncoding,
    steps: &mut Steps<'_>,
) -> Option<Walked> {
    let mut cache = LeafCache::new();
    let mut w = Walked {
        tl: Timelines::default(),
        owners: HashMap::new(),
        any_owners: HashMap::new(),
        live_rows: HashMap::new(),
        all_tables: BTreeMap::new(),
    };
    let mut live_owners: HashMap<u32, String> = HashMap::new();
    // Only leaf versions that appear or disappear between consecutive
    // states are compared: cost grows with the pages each commit changed.
    let mut prev: Leaves = HashMap::new();
    let mut prev_tables: Option<StateTables> = None;
    for (si, (stage, view)) in stages.iter().enumerate() {
        let mut cur = read_state(view, enc, &mut cache);
        // An unfinished transaction's state need not be a consistent tree:
        // read the pages it changed on their own too, and infer no deletions.
        let uncommitted = matches!(stage, Stage::WalUncommitted | Stage::DbUncommitted);
        if let (true, Some((_, live_view))) = (uncommitted, stages.get(live)) {
            let owners = (&cur.owners, &live_owners);
            changed_pages((view, live_view), &cur.tables, owners, enc, &mut cur.leaves);
        }
        for (p, n) in &cur.owners {
            w.any_owners.entry(*p).or_insert_with(|| n.clone());
        }
        if *stage == Stage::DbFile {
            w.owners.clone_from(&cur.owners);
        }
        if si == live {
            live_owners.clone_from(&cur.owners);
        }
        let added = add_appeared(cx, *stage, &cur, &prev, &mut w.tl);
        if !uncommitted {
            mark_gone(
                *stage,
                &cur.leaves,
                &prev,
                prev_tables.as_ref(),
                &added,
                &mut w.tl,
            );
        }
        drop(added);
        if si == live {
            w.live_rows = live_rows_of(&cur);
        }
        for t in &cur.tables.list {
            if si == live {
                w.all_tables.insert(t.name.clone(), t.clone());
            } else {
                w.all_tables
                    .entry(t.name.clone())
                    .or_insert_with(|| t.clone());
            }
        }
        // An uncommitted state is compared with the live one, never with another.
        if !uncommitted {
            prev = cur.leaves;
            prev_tables = Some(cur.tables);
        }
        if !steps.tick() {
            return None;
        }
    }
    Some(w)
}

fn live_rows_of(cur: &StateRead) -> HashMap<RowKey, Row> {
    cur.leaves
        .iter()
        .filter_map(|(k, rows)| Some((k, rows, cur.tables.get(&k.0)?)))
        .flat_map(|(k, rows, t)| {
            rows.iter()
                .map(move |r| ((k.0.clone(), row_key(t, r)), r.clone()))
        })
        .collect()
}

/// Statuses: the version current at the live state is `live`; later ones
/// keep their uncommitted status; earlier ones their stage's.
fn set_live(
    cx: &Ctx<'_>,
    stages: &[(Stage, View<'_>)],
    live: usize,
    line: &mut Timeline,
    live_row: Option<&Row>,
) {
    let live_stage = stages.get(live).map(|(s, _)| *s);
    let live_pos = live_stage.and_then(|ls| {
        let upto = stages.iter().position(|(s, _)| *s == ls)?;
        line.versions.iter().rposition(|v| {
            stages
                .iter()
                .position(|(s, _)| *s == v.stage)
                .is_some_and(|p| p <= upto)
        })
    });
    let Some(v) = live_pos.and_then(|i| line.versions.get_mut(i)) else {
        return;
    };
    if v.values.is_none() {
        // Deleted in the live state itself.
        v.status = Status::Live;
    } else if let Some(r) = live_row {
        v.status = Status::Live;
        v.page = Some((r.pgno, r.offset));
        (v.frame, v.journal) = cx.provenance(r.src);
    }
}

/// Every version, from the states (chronological) and the live index;
/// `None` when `steps` says stop.
pub(crate) fn collect_versions(
    cx: &Ctx<'_>,
    stages: &[(Stage, View<'_>)],
    live: usize,
    enc: TextEncoding,
    steps: &mut Steps<'_>,
) -> Option<History> {
    let mut w = walk_states(cx, stages, live, enc, steps)?;
    super::carved::earlier_generations(cx, stages, &w.owners, &w.all_tables, enc, &mut w.tl);
    let mut carved = super::carved::carve_side_pages(cx, stages, live, &w, enc, steps)?;
    let Walked {
        mut tl,
        live_rows,
        all_tables,
        ..
    } = w;
    for key in carved.keys() {
        if !tl.by_key.contains_key(key) {
            tl.order.push(key.clone());
        }
    }
    let rid = |k: &RowKey| {
        tl.by_key
            .get(k)
            .and_then(|t| t.rowid)
            .or_else(|| carved.get(k).and_then(|v| v.first()).and_then(|v| v.rowid))
    };
    let mut order = std::mem::take(&mut tl.order);
    order.sort_by(|a, b| (&a.0, rid(a), &a.1).cmp(&(&b.0, rid(b), &b.1)));
    let mut h = History::default();
    for key in &order {
        if let Some(line) = tl.by_key.get_mut(key) {
            set_live(cx, stages, live, line, live_rows.get(key));
            h.versions.append(&mut line.versions);
        }
        if let Some(mut c) = carved.remove(key) {
            h.versions.append(&mut c);
        }
    }
    h.tables = all_tables.into_values().collect();
    Some(h)
}
