//! Deleted rows on real sqlite3 files (`secure_delete=OFF`), checked against
//! the truth sqlite3 gives and against the bytes themselves, with the test's
//! own page walker (`sqlite_tampered/layout.rs`, independent of
//! `sqlite-pages`):
//! - `partly_overwritten_rows_come_back_partial_with_true_values`: deleted
//!   rows whose cells later inserts partly overwrote come back `-partial`
//!   with `lost` naming exactly the columns whose bytes no longer hold their
//!   value, every other value true;
//! - `quarter_deleted_rows_come_back_near_the_ceiling`: a database of
//!   three tables and an index (1 KiB pages) where a quarter of the rows
//!   were deleted (scattered rows and a range per table, so pages merge and
//!   go to the freelist); the test computes from the bytes how many deleted
//!   rows still have every value in the file (the record body SQLite wrote,
//!   found anywhere in the file: the ceiling) and requires 92 % of all
//!   deleted rows back exact, 99 % of the ceiling, and no carved row with a
//!   stored value it did not have, nor a wrong rowid inferred from the
//!   cells around a carved one (`rowid_inferred`, counted apart). Measured:
//!   888 deleted, ceiling 823 (92.7 %), 823 exact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod sqlite_util;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

#[path = "sqlite_tampered/layout.rs"]
#[allow(dead_code)]
mod layout;
use layout::Layout;

/// One table: its name, the columns to select, the index of its rowid
/// alias column (if any).
struct Tab {
    name: &'static str,
    cols: &'static str,
    alias: Option<usize>,
}

fn rows_of(db: &Path, t: &Tab) -> BTreeMap<i64, Vec<Value>> {
    let out = testkit::sqlite::sqlite3(
        db,
        &format!("SELECT json_array(rowid, {}) FROM \"{}\";", t.cols, t.name),
    )
    .unwrap();
    out.lines()
        .map(|l| {
            let mut v: Vec<Value> = serde_json::from_str(l).unwrap();
            (v.remove(0).as_i64().unwrap(), v)
        })
        .collect()
}

fn layout_of(db: &Path) -> (Vec<u8>, Layout) {
    let bytes = std::fs::read(db).unwrap();
    let roots = testkit::sqlite::sqlite3(
        db,
        "SELECT type, name, rootpage FROM sqlite_master WHERE rootpage > 0;",
    )
    .unwrap();
    let l = Layout::read(&bytes, &roots);
    (bytes, l)
}

fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => got == want,
    }
}

/// Where each row of the original file lived: (table, page, offset) → rowid.
fn cells_by_place(l: &Layout, tabs: &[Tab]) -> HashMap<(String, u32, usize), i64> {
    let mut m = HashMap::new();
    for t in tabs {
        for (id, c) in &l.tables[t.name].cells {
            m.insert((t.name.to_string(), c.page, c.off), *id);
        }
    }
    m
}

/// A carved row checked against the truth: `Ok(Some(rowid))` when it was
/// found at the place the original cell of `rowid` had and every value it
/// reports (all but `lost`, and the alias when its rowid is lost) equals
/// that row's; `Ok(None)` when it matches some original row elsewhere;
/// `Err` when a value is not true.
fn check_carved(
    r: &Value,
    t: &Tab,
    all: &BTreeMap<i64, Vec<Value>>,
    place: &HashMap<(String, u32, usize), i64>,
) -> Result<Option<i64>, String> {
    let vals = r["values"].as_array().unwrap();
    let cols: Vec<&str> = t.cols.split(", ").collect();
    let lost: Vec<usize> = r["lost"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| cols.iter().position(|c| c == &n.as_str().unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let rowid = r["rowid"].as_i64();
    let fits = |want: &[Value], id: i64| {
        rowid.is_none_or(|got| got == id)
            && vals.iter().zip(want).enumerate().all(|(i, (g, w))| {
                if lost.contains(&i) {
                    g.is_null()
                } else if Some(i) == t.alias && rowid.is_none() {
                    g.is_null() || same(g, w)
                } else {
                    same(g, w)
                }
            })
    };
    let key = (
        t.name.to_string(),
        r["page"].as_u64().unwrap() as u32,
        r["offset"].as_u64().unwrap() as usize,
    );
    if let Some(&id) = place.get(&key)
        && fits(&all[&id], id)
    {
        return Ok(Some(id));
    }
    if all.iter().any(|(id, w)| fits(w, *id)) {
        return Ok(None);
    }
    Err(format!("wrong value: {r}"))
}

/// The columns of the original cell of a deleted row whose bytes the final
/// file no longer holds: its value bytes (or, for a constant, its serial
/// type byte) changed or lie under a live cell or the cell pointer array.
fn lost_columns(a: (&[u8], &Layout), c: (&[u8], &Layout), page: u32, off: usize) -> Vec<usize> {
    let spans = a.1.record_spans(a.0, page, off).unwrap();
    let leaf_in_c = c.1.tables.values().any(|t| t.leaves.contains(&page))
        && c.0[c.1.page_off(page) + c.1.hdr_off(page)] == 0x0D;
    let (arr_end, live) = if leaf_in_c {
        c.1.live_spans(c.0, page)
    } else {
        (0, Vec::new())
    };
    let base = a.1.page_off(page);
    let intact = |(s, e): (usize, usize)| {
        s >= arr_end
            && a.0[base + s..base + e] == c.0[base + s..base + e]
            && !live.iter().any(|&(ls, le)| s < le && ls < e)
    };
    (0..spans.values.len())
        .filter(|&i| {
            let (s, e) = spans.values[i];
            let what = if s == e { spans.types[i] } else { (s, e) };
            !intact(what)
        })
        .collect()
}

/// For the original cell at `(page, off)` of a row of `t` whose record is
/// local and whose every serial type is still readable in the final file
/// (after the 4 bytes a freeblock header takes, unchanged; a lost first
/// type is only known for a rowid alias, always NULL): the columns lost
/// ([`lost_columns`], the alias left out) and the count of non-alias columns.
fn readable_cell(
    a: (&[u8], &Layout),
    c: (&[u8], &Layout),
    t: &Tab,
    (page, off): (u32, usize),
) -> Option<(Vec<usize>, usize)> {
    let sp = a.1.record_spans(a.0, page, off)?;
    let b = a.1.page_off(page);
    let hdr_ok = sp.types.iter().enumerate().all(|(i, &(s, e))| {
        (s >= off + 4 && a.0[b + s..b + e] == c.0[b + s..b + e]) || (i == 0 && t.alias == Some(0))
    });
    if !hdr_ok {
        return None;
    }
    let mut lost = lost_columns(a, c, page, off);
    lost.retain(|&i| Some(i) != t.alias);
    Some((lost, sp.values.len() - usize::from(t.alias.is_some())))
}

#[test]
fn partly_overwritten_rows_come_back_partial_with_true_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let tabs = [
        Tab {
            name: "items",
            cols: "id, name, qty, descr, price",
            alias: Some(0),
        },
        Tab {
            name: "logs",
            cols: "msg, level, src",
            alias: None,
        },
    ];
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA page_size=1024; PRAGMA auto_vacuum=0;
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, descr TEXT, price REAL);
CREATE TABLE logs(msg TEXT, level INTEGER, src TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<400)
INSERT INTO items SELECT i, 'item-' || i || '-' || substr('abcdefghijklmnopqrstuvwxyz', 1, 5 + i % 15),
  i * 7 % 1000, 'description of item ' || i || ' ' || substr('0123456789abcdefghijklmnopqrstuvwxyz', 1, 10 + i % 25),
  (i * 37 % 1000) / 8.0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300)
INSERT INTO logs SELECT 'log message number ' || i || ' ' || substr('qwertyuiopasdfghjklzxcvbnm', 1, 6 + i % 18),
  i % 5, 'source/' || (i * 13 % 97) FROM n;
COMMIT;",
    )
    .unwrap();
    let mut truth: Vec<BTreeMap<i64, Vec<Value>>> = tabs.iter().map(|t| rows_of(&db, t)).collect();
    let (a_bytes, a_layout) = layout_of(&db);
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA secure_delete=OFF;
BEGIN;
DELETE FROM items WHERE id % 3 = 0;
DELETE FROM logs WHERE rowid % 3 = 1;
COMMIT;
BEGIN;
INSERT INTO items SELECT id + 1, 'n' || id, id, 'd', 1.5 FROM (SELECT id FROM items) WHERE (id + 1) % 6 = 0;
INSERT INTO logs(rowid, msg, level, src) SELECT r + 1, 'm' || r, 9, 's' FROM (SELECT rowid AS r FROM logs) WHERE (r + 1) % 6 = 1;
COMMIT;",
    )
    .unwrap();
    let live_now: Vec<BTreeMap<i64, Vec<Value>>> = tabs.iter().map(|t| rows_of(&db, t)).collect();
    // Deleted = rows of the original whose cell is no longer live (a rowid
    // re-inserted with new values is deleted in its old version).
    let (c_bytes, c_layout) = layout_of(&db);
    let place = cells_by_place(&a_layout, &tabs);
    let rows = sqlite_util::salvage_db_only(&db);

    let mut wrong = Vec::new();
    let mut lost_mismatch = Vec::new();
    let (mut partial, mut complete) = (0usize, 0usize);
    let mut found: HashMap<(usize, i64), Vec<usize>> = HashMap::new();
    for r in &rows {
        let Some(ti) = tabs.iter().position(|t| r["table"] == t.name) else {
            continue;
        };
        let t = &tabs[ti];
        let status = r["status"].as_str().unwrap();
        if status == "live" {
            continue;
        }
        let is_partial = status.ends_with("-partial");
        assert_eq!(is_partial, r.get("lost").is_some(), "{r}");
        let cols: Vec<&str> = t.cols.split(", ").collect();
        let lost: Vec<usize> = r["lost"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| cols.iter().position(|c| c == &n.as_str().unwrap()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        match check_carved(r, t, &truth[ti], &place) {
            Err(e) => wrong.push(e),
            Ok(Some(id)) => {
                let c = &a_layout.tables[t.name].cells[&id];
                let mut want =
                    lost_columns((&a_bytes, &a_layout), (&c_bytes, &c_layout), c.page, c.off);
                want.retain(|&i| Some(i) != t.alias);
                if want != lost && (is_partial || !want.is_empty()) {
                    lost_mismatch.push(format!("lost {lost:?}, bytes say {want:?}: {r}"));
                }
                if is_partial {
                    partial += 1;
                } else {
                    complete += 1;
                }
                found.insert((ti, id), lost);
            }
            Ok(None) => {}
        }
    }
    // Deleted rows whose cell was partly overwritten, with some column
    // intact and every serial type readable: what a partial recovery can
    // bring back.
    let mut overwritten = 0usize;
    let mut overwritten_found = 0usize;
    for (ti, t) in tabs.iter().enumerate() {
        truth[ti].retain(|id, v| live_now[ti].get(id) != Some(v));
        for id in truth[ti].keys() {
            let c = &a_layout.tables[t.name].cells[id];
            let Some((lost, n_cols)) = readable_cell(
                (&a_bytes, &a_layout),
                (&c_bytes, &c_layout),
                t,
                (c.page, c.off),
            ) else {
                continue;
            };
            if !lost.is_empty() && lost.len() < n_cols {
                overwritten += 1;
                if found.contains_key(&(ti, *id)) {
                    overwritten_found += 1;
                }
            }
        }
    }
    eprintln!(
        "carved rows located: {complete} complete, {partial} partial; partly overwritten deleted rows with their header: {overwritten}, of which found {overwritten_found}; wrong {}, lost mismatches {}",
        wrong.len(),
        lost_mismatch.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(lost_mismatch.is_empty(), "{}", lost_mismatch.join("\n"));
    assert!(overwritten >= 20, "the inserts overwrote too few cells");
    assert!(
        overwritten_found * 10 >= overwritten * 8,
        "{overwritten_found} of {overwritten} partly overwritten rows found"
    );
}

#[test]
fn quarter_deleted_rows_come_back_near_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let tabs = [
        Tab {
            name: "customers",
            cols: "id, name, email, balance, born",
            alias: Some(0),
        },
        Tab {
            name: "events",
            cols: "kind, at, payload",
            alias: None,
        },
        Tab {
            name: "notes",
            cols: "nid, title, body",
            alias: Some(0),
        },
    ];
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA page_size=1024; PRAGMA auto_vacuum=0;
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT, balance REAL, born INTEGER);
CREATE INDEX customers_email ON customers(email);
CREATE TABLE events(kind TEXT, at INTEGER, payload TEXT);
CREATE TABLE notes(nid INTEGER PRIMARY KEY, title TEXT, body TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<1500)
INSERT INTO customers SELECT i, 'Customer ' || i || ' ' || substr('Smith Jones Brown Taylor Wilson', 1 + i % 20, 5 + i % 9),
  'c' || i || '@example.' || substr('orgcomnetde', 1 + i % 8, 3), (i * 7919 % 100000) / 100.0, 1940 + i % 60 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<1500)
INSERT INTO events SELECT substr('login logout purchase refund view', 1 + (i % 5) * 6, 6 + i % 3), 1700000000 + i * 61,
  '{\"n\":' || i || ',\"tag\":\"' || hex(i * 31) || '\"}' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<800)
INSERT INTO notes SELECT i, 'Note ' || i, 'Body of note ' || i || ': ' || substr('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor', 1, 20 + i % 50) FROM n;
COMMIT;",
    )
    .unwrap();
    let truth: Vec<BTreeMap<i64, Vec<Value>>> = tabs.iter().map(|t| rows_of(&db, t)).collect();
    let (a_bytes, a_layout) = layout_of(&db);
    testkit::sqlite::sqlite3(
        &db,
        "PRAGMA secure_delete=OFF; BEGIN;
DELETE FROM customers WHERE (id * 2654435761 % 1009) % 8 = 0 OR id BETWEEN 400 AND 580;
DELETE FROM events WHERE (rowid * 2654435761 % 1013) % 8 = 1 OR rowid BETWEEN 900 AND 1080;
COMMIT;
BEGIN;
DELETE FROM notes WHERE (nid * 2654435761 % 1019) % 6 = 2 OR nid BETWEEN 100 AND 170;
COMMIT;",
    )
    .unwrap();
    let b_bytes = std::fs::read(&db).unwrap();
    let place = cells_by_place(&a_layout, &tabs);
    let rows = sqlite_util::salvage_db_only(&db);

    let windows = windows8(&b_bytes);
    let mut deleted = 0usize;
    let mut ceiling = 0usize;
    let mut deleted_ids: Vec<Vec<i64>> = Vec::new();
    for (ti, t) in tabs.iter().enumerate() {
        let live = rows_of(&db, t);
        let ids: Vec<i64> = truth[ti]
            .keys()
            .filter(|id| !live.contains_key(id))
            .copied()
            .collect();
        for id in &ids {
            let c = &a_layout.tables[t.name].cells[id];
            let sp = a_layout.record_spans(&a_bytes, c.page, c.off).unwrap();
            let base = a_layout.page_off(c.page);
            let body = &a_bytes[base + sp.values[0].0..base + sp.cell.1];
            if contains(&b_bytes, &windows, body) {
                ceiling += 1;
            }
        }
        deleted += ids.len();
        deleted_ids.push(ids);
    }
    let mut exact: std::collections::HashSet<(usize, i64)> = Default::default();
    let mut wrong = Vec::new();
    let mut wrong_inferred = 0usize;
    let mut partial = 0usize;
    for r in &rows {
        let Some(ti) = tabs.iter().position(|t| r["table"] == tabs_name(t)) else {
            continue;
        };
        if r["status"] == "live" {
            continue;
        }
        match check_carved(r, &tabs[ti], &truth[ti], &place) {
            Err(e) => {
                // A rowid inferred from the physical order of the cells
                // around it (flagged `rowid_inferred`) can be wrong where a
                // rebalance put a cell into another's freed place: counted
                // apart, the stored values must still be true.
                let mut bare = r.clone();
                bare["rowid"] = Value::Null;
                if let Some(a) = tabs[ti].alias {
                    bare["values"][a] = Value::Null;
                }
                if r["rowid_inferred"] == true
                    && check_carved(&bare, &tabs[ti], &truth[ti], &place).is_ok()
                {
                    wrong_inferred += 1;
                } else {
                    wrong.push(e);
                }
            }
            Ok(found) => {
                if r.get("lost").is_some() {
                    partial += 1;
                    continue;
                }
                let id = found.or_else(|| {
                    // Not at its original place: the deleted row whose
                    // values these are.
                    deleted_ids[ti]
                        .iter()
                        .find(|id| {
                            let want = &truth[ti][id];
                            r["values"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .zip(want)
                                .enumerate()
                                .all(|(i, (g, w))| {
                                    same(g, w) || (Some(i) == tabs[ti].alias && g.is_null())
                                })
                        })
                        .copied()
                });
                if let Some(id) = id
                    && deleted_ids[ti].contains(&id)
                {
                    exact.insert((ti, id));
                }
            }
        }
    }
    // The deleted rows not back exact: how many still have a column's
    // bytes at their place, with every serial type readable (what a partial
    // row could hold), and how many of those came back partial.
    let (_, b_layout) = layout_of(&db);
    let mut survivors = 0usize;
    for (ti, t) in tabs.iter().enumerate() {
        for id in &deleted_ids[ti] {
            if exact.contains(&(ti, *id)) {
                continue;
            }
            let c = &a_layout.tables[t.name].cells[id];
            if let Some((lost, n_cols)) = readable_cell(
                (&a_bytes, &a_layout),
                (&b_bytes, &b_layout),
                t,
                (c.page, c.off),
            ) && lost.len() < n_cols
            {
                survivors += 1;
            }
        }
    }
    eprintln!(
        "not exact: {} deleted rows, {survivors} with a column's bytes in place and a readable header",
        deleted - exact.len()
    );
    assert!(
        partial >= survivors,
        "{partial} partial rows for {survivors} candidates"
    );
    eprintln!(
        "deleted {deleted}; ceiling (every value's bytes still in the file) {ceiling}; exact {} ({:.1} %); partial rows {partial}; wrong {}; wrong inferred rowid {wrong_inferred}",
        exact.len(),
        100.0 * exact.len() as f64 / deleted as f64,
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(wrong_inferred, 0, "wrong inferred rowids");
    assert!(
        exact.len() <= ceiling,
        "more exact rows than the bytes hold"
    );
    assert!(
        exact.len() * 100 >= ceiling * 99,
        "{} of the {ceiling} deleted rows whose bytes are all in the file exact",
        exact.len()
    );
    assert!(
        exact.len() * 100 >= deleted * 92,
        "{} of {deleted} deleted rows exact (ceiling {ceiling})",
        exact.len()
    );
}

fn tabs_name(t: &Tab) -> &'static str {
    t.name
}

/// Positions of every 8-byte window of `b`.
fn windows8(b: &[u8]) -> HashMap<[u8; 8], Vec<usize>> {
    let mut m: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    for (i, w) in b.windows(8).enumerate() {
        m.entry(w.try_into().unwrap()).or_default().push(i);
    }
    m
}

/// Is `needle` (at least 8 bytes) somewhere in `hay`?
fn contains(hay: &[u8], w: &HashMap<[u8; 8], Vec<usize>>, needle: &[u8]) -> bool {
    let key: [u8; 8] = needle[..8].try_into().unwrap();
    w.get(&key).is_some_and(|ps| {
        ps.iter()
            .any(|&p| hay.get(p..p + needle.len()) == Some(needle))
    })
}
