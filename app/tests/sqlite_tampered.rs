//! Anti-forensics: real sqlite3 files (several tables, an index, overflow
//! rows, deleted rows under `secure_delete=OFF`, a UTF-16 database) whose
//! ground truth is read with sqlite3 from the unmanipulated original, then
//! edited byte by byte the way a suspect hiding rows would (forged root
//! pages, interior pointers, overflow chains, cell pointer arrays, serial
//! types, freeblock chains, freelist trunks, header fields, the magic, and
//! combinations). For every file `datam sqlite salvage` must:
//! - report every live row whose bytes are intact as `live`, exactly once,
//!   with its true values;
//! - report no deleted row as `live`;
//! - report no row with a value it did not have (a value may be `null` when
//!   it was lost, and a text cut by a manipulated overflow chain may be a
//!   prefix of the true one);
//! - leave the input's hash unchanged, and not fail.
//!
//! The test's own page walker (below) reads the original file's layout:
//! which page holds which rowid, the interior pages, overflow chains,
//! freeblocks and the freelist, so that each manipulation knows which rows
//! its bytes touched (those rows are not required to come back).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod sqlite_util;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

#[path = "sqlite_tampered/layout.rs"]
mod layout;
use layout::{Layout, put_u16, put_u32};

/// Truth per table: rowid → values (schema order), live and deleted.
#[derive(Default, Clone)]
struct TableTruth {
    live: BTreeMap<i64, Vec<Value>>,
    deleted: BTreeMap<i64, Vec<Value>>,
}

struct Base {
    _dir: tempfile::TempDir,
    bytes: Vec<u8>,
    truth: BTreeMap<String, TableTruth>,
    layout: Layout,
}

/// One manipulated file: rows whose bytes it touched (not required live),
/// rows whose overflow chain it cut (a text may come back as a prefix).
#[derive(Default)]
struct Damage {
    touched: HashSet<(String, i64)>,
    cut: HashSet<(String, i64)>,
}

fn rows_of(db: &Path, table: &str, cols: &str) -> BTreeMap<i64, Vec<Value>> {
    let out = testkit::sqlite::sqlite3(
        db,
        &format!("SELECT json_array(rowid, {cols}) FROM {table};"),
    )
    .unwrap();
    out.lines()
        .map(|l| {
            let mut v: Vec<Value> = serde_json::from_str(l).unwrap();
            let rowid = v.remove(0).as_i64().unwrap();
            (rowid, v)
        })
        .collect()
}

/// Builds a database with `schema` and `fill`, records every row, runs
/// `delete` (secure_delete off), records the live rows: deleted = before −
/// after.
fn base(encoding: &str, schema: &str, fill: &str, delete: &str, tables: &[(&str, &str)]) -> Base {
    let dir = tempfile::Builder::new()
        .prefix("datam-tampered")
        .tempdir()
        .unwrap();
    let db = dir.path().join("orig.db");
    testkit::sqlite::sqlite3(
        &db,
        &format!(
            "PRAGMA page_size=1024; PRAGMA encoding='{encoding}'; PRAGMA auto_vacuum=0;\n{schema}\nBEGIN;\n{fill}\nCOMMIT;"
        ),
    )
    .unwrap();
    let before: Vec<_> = tables.iter().map(|(t, c)| rows_of(&db, t, c)).collect();
    testkit::sqlite::sqlite3(
        &db,
        &format!("PRAGMA secure_delete=OFF; BEGIN; {delete} COMMIT;"),
    )
    .unwrap();
    let mut truth = BTreeMap::new();
    for ((t, c), all) in tables.iter().zip(before) {
        let live = rows_of(&db, t, c);
        let deleted = all
            .into_iter()
            .filter(|(r, _)| !live.contains_key(r))
            .collect();
        truth.insert(t.to_string(), TableTruth { live, deleted });
    }
    let bytes = std::fs::read(&db).unwrap();
    let roots = testkit::sqlite::sqlite3(
        &db,
        "SELECT type, name, rootpage FROM sqlite_master WHERE rootpage > 0;",
    )
    .unwrap();
    let layout = Layout::read(&bytes, &roots);
    Base {
        _dir: dir,
        bytes,
        truth,
        layout,
    }
}

fn utf8_base() -> Base {
    let schema = "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INTEGER, note TEXT);
CREATE INDEX people_name ON people(name);
CREATE TABLE orders(oid INTEGER PRIMARY KEY, person INTEGER, amount REAL, item TEXT, qty INTEGER, code TEXT);
CREATE TABLE tags(tag TEXT, weight INTEGER);";
    let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<400)
INSERT INTO people SELECT i, 'person-' || i || '-' || substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 20), 18 + i % 60,
  CASE WHEN i % 25 = 0 THEN replace(hex(randomblob(1500)), '0', 'z') ELSE 'note ' || i END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500)
INSERT INTO orders SELECT i, 1 + i % 400, (i * 37 % 1000) / 8.0, 'item ' || (i * 7 % 113), i % 9, printf('C%06d', i * 13) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300)
INSERT INTO tags SELECT 'tag/' || (i * 11 % 97) || '/' || i, i * 3 FROM n;";
    let delete = "DELETE FROM people WHERE id % 4 = 1; DELETE FROM orders WHERE oid % 4 = 2 OR oid BETWEEN 300 AND 380; DELETE FROM tags WHERE rowid % 4 = 3;";
    base(
        "UTF-8",
        schema,
        fill,
        delete,
        &[
            ("people", "id, name, age, note"),
            ("orders", "oid, person, amount, item, qty, code"),
            ("tags", "tag, weight"),
        ],
    )
}

fn utf16_base() -> Base {
    let schema = "CREATE TABLE städte(id INTEGER PRIMARY KEY, name TEXT, land TEXT, info TEXT);
CREATE INDEX städte_name ON städte(name);
CREATE TABLE notes(body TEXT, n INTEGER, w REAL);";
    let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300)
INSERT INTO städte SELECT i, 'Zürich-' || i || '-ñø', 'Ελλάδα ' || (i % 7),
  CASE WHEN i % 30 = 0 THEN replace(hex(randomblob(900)), 'A', 'ä') ELSE 'info ' || i END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<250)
INSERT INTO notes SELECT 'Ноты ' || i || ' 日本', i * 5, i / 4.0 FROM n;";
    let delete = "DELETE FROM städte WHERE id % 4 = 0; DELETE FROM notes WHERE rowid % 4 = 1;";
    base(
        "UTF-16le",
        schema,
        fill,
        delete,
        &[("städte", "id, name, land, info"), ("notes", "body, n, w")],
    )
}

fn same_value(got: &Value, want: &Value, cut: bool) -> bool {
    match (got, want) {
        (Value::Null, _) => true,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) => a == b || (cut && b.starts_with(a.as_str())),
        _ => got == want,
    }
}

fn same_row(got: &[Value], want: &[Value], cut: bool) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same_value(g, w, cut))
}

/// The carving path a row came out of, for the breakdown of wrong
/// values: its status (freeblock `deleted`, gap `unallocated`, `freelist`,
/// `orphan`), with `-partial` for rows with lost columns and
/// `/rowid-inferred` when its rowid came from its neighbours.
fn carve_path(r: &Value) -> String {
    let status = r["status"].as_str().unwrap_or("?");
    let inferred = if r["rowid_inferred"] == true {
        "/rowid-inferred"
    } else if r["rowid"].is_null() {
        "/no-rowid"
    } else {
        "/own-rowid"
    };
    format!("{status}{inferred}")
}

/// What one file's salvage scored.
#[derive(Default, Debug, Clone)]
struct Score {
    /// Live rows with intact bytes.
    required: usize,
    /// Of those, reported `live` exactly once with their values.
    live_exact: usize,
    /// Live rows reported live more than once.
    duplicated: usize,
    /// Deleted rows reported live.
    deleted_as_live: usize,
    /// Rows reported live with a value they did not have.
    wrong_value: usize,
    /// Rows reported not live (carved, freelist, orphan) with a value they
    /// did not have.
    wrong_carved: usize,
    /// Deleted rows reported (not live) with every value exact.
    deleted_exact: usize,
    /// Deleted rows in the truth.
    deleted_total: usize,
    /// `wrong_carved` by carving path ([`carve_path`]).
    wrong_by: BTreeMap<String, usize>,
}

impl Score {
    fn add(&mut self, s: &Score) {
        self.required += s.required;
        self.live_exact += s.live_exact;
        self.duplicated += s.duplicated;
        self.deleted_as_live += s.deleted_as_live;
        self.wrong_value += s.wrong_value;
        self.wrong_carved += s.wrong_carved;
        self.deleted_exact += s.deleted_exact;
        self.deleted_total += s.deleted_total;
        for (k, n) in &s.wrong_by {
            *self.wrong_by.entry(k.clone()).or_default() += n;
        }
    }
}

fn score(
    truth: &BTreeMap<String, TableTruth>,
    damage: &Damage,
    rows: &[Value],
) -> (Score, Vec<String>) {
    let mut s = Score::default();
    let mut notes = Vec::new();
    let mut live_seen: HashMap<(String, i64), usize> = HashMap::new();
    let mut deleted_found: HashSet<(String, i64)> = HashSet::new();
    for r in rows {
        let Some(t) = r["table"].as_str() else {
            continue;
        };
        let Some(tt) = truth.get(t) else {
            continue;
        };
        let vals = r["values"].as_array().unwrap();
        let live = r["status"] == "live";
        let rowid = r["rowid"].as_i64();
        let key = |id: i64| (t.to_string(), id);
        let cut = rowid.is_some_and(|id| damage.cut.contains(&key(id)));
        let truth_of = |id: i64| tt.live.get(&id).or_else(|| tt.deleted.get(&id));
        let ok = match rowid.and_then(truth_of) {
            Some(want) => same_row(vals, want, cut),
            None if rowid.is_some() && r["rowid_inferred"] != true => false,
            None => tt
                .live
                .values()
                .chain(tt.deleted.values())
                .any(|w| same_row(vals, w, false)),
        };
        if !ok {
            if live {
                s.wrong_value += 1;
            } else {
                s.wrong_carved += 1;
            }
            if notes.len() < 8 {
                notes.push(format!("wrong value: {r}"));
            }
            if !live {
                *s.wrong_by.entry(carve_path(r)).or_default() += 1;
            }
            continue;
        }
        let Some(id) = rowid else { continue };
        if live {
            if tt.live.contains_key(&id) {
                *live_seen.entry(key(id)).or_default() += 1;
            } else {
                s.deleted_as_live += 1;
                if notes.len() < 8 {
                    notes.push(format!("deleted row reported live: {r}"));
                }
            }
        } else if let Some(want) = tt.deleted.get(&id)
            && vals
                .iter()
                .zip(want)
                .all(|(g, w)| g.is_null() == w.is_null())
        {
            deleted_found.insert(key(id));
        }
    }
    for (t, tt) in truth {
        s.deleted_total += tt.deleted.len();
        for id in tt.live.keys() {
            let k = (t.clone(), *id);
            if damage.touched.contains(&k) {
                continue;
            }
            s.required += 1;
            match live_seen.get(&k).copied().unwrap_or(0) {
                1 => s.live_exact += 1,
                0 => {
                    if notes.len() < 8 {
                        notes.push(format!("live row missing: {t} rowid {id}"));
                    }
                }
                _ => s.duplicated += 1,
            }
        }
    }
    s.deleted_exact = deleted_found.len();
    (s, notes)
}

type Manip = fn(&Base, &mut [u8], &mut Damage);

/// Runs every case (the first is the pristine file): no file may have a
/// carved row with a value it did not have.
fn check_cases(label: &str, b: &Base, cases: &[(&str, Vec<Manip>)]) -> (Score, Vec<String>) {
    let dir = tempfile::Builder::new()
        .prefix("datam-tampered-case")
        .tempdir()
        .unwrap();
    let mut total = Score::default();
    let mut failures = Vec::new();
    for (name, manips) in cases {
        let mut bytes = b.bytes.clone();
        let mut damage = Damage::default();
        for m in manips {
            m(b, &mut bytes, &mut damage);
        }
        let path: PathBuf = dir.path().join(format!("{label}-{name}.db"));
        std::fs::write(&path, &bytes).unwrap();
        let rows = sqlite_util::salvage_db_only(&path);
        let (s, notes) = score(&b.truth, &damage, &rows);
        eprintln!(
            "{label}/{name:28} live exact {}/{} dup {} deleted-as-live {} wrong live {} wrong carved {} deleted exact {}/{}",
            s.live_exact,
            s.required,
            s.duplicated,
            s.deleted_as_live,
            s.wrong_value,
            s.wrong_carved,
            s.deleted_exact,
            s.deleted_total
        );
        if !s.wrong_by.is_empty() {
            eprintln!("  wrong carved values by path: {:?}", s.wrong_by);
        }
        if s.live_exact != s.required
            || s.deleted_as_live > 0
            || s.wrong_value > 0
            || s.wrong_carved > 0
        {
            failures.push(format!("{label}/{name}: {s:?}\n  {}", notes.join("\n  ")));
        }
        total.add(&s);
    }
    (total, failures)
}

// ---- manipulations -------------------------------------------------------

fn table<'b>(b: &'b Base, name: &str) -> &'b layout::TableLayout {
    &b.layout.tables[name]
}

/// The first table (by name) with an interior root, and another table.
fn two_tables(b: &Base) -> (&str, &str) {
    let with_interior = b
        .layout
        .tables
        .iter()
        .filter(|(_, t)| t.kind == "table" && !t.interior.is_empty())
        .map(|(n, _)| n.as_str())
        .next()
        .unwrap();
    let other = b
        .layout
        .tables
        .iter()
        .filter(|(n, t)| t.kind == "table" && n.as_str() != with_interior)
        .map(|(n, _)| n.as_str())
        .next()
        .unwrap();
    (with_interior, other)
}

fn root_to_other_root(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (a, o) = two_tables(b);
    b.layout
        .set_master_root(bytes, a, i64::from(table(b, o).root));
}
fn root_to_index(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (a, _) = two_tables(b);
    let idx = b
        .layout
        .tables
        .values()
        .find(|t| t.kind == "index")
        .unwrap()
        .root;
    b.layout.set_master_root(bytes, a, i64::from(idx));
}
fn root_out_of_file(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (a, _) = two_tables(b);
    b.layout.set_master_root(bytes, a, -1);
}

/// Sets the left child of cell `cell` (or the right-most pointer when
/// `None`) of table `a`'s root to `to(b)`.
fn forge_child(b: &Base, bytes: &mut [u8], cell: Option<usize>, to: u32) {
    let (a, _) = two_tables(b);
    let root = table(b, a).root;
    let at = match cell {
        Some(i) => b.layout.cell_offsets(&b.bytes, root)[i],
        None => b.layout.hdr_off(root) + 8,
    };
    put_u32(bytes, b.layout.page_off(root) + at, to);
}
fn other_leaf(b: &Base) -> u32 {
    let (_, o) = two_tables(b);
    *table(b, o).leaves.last().unwrap()
}
fn left_child_other_table(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    forge_child(b, bytes, Some(0), other_leaf(b));
}
fn left_child_loop(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (a, _) = two_tables(b);
    forge_child(b, bytes, Some(1), table(b, a).root);
}
fn left_child_out_of_file(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    forge_child(b, bytes, Some(2), 0xFFFF_FF00);
}
fn left_child_sibling(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (a, _) = two_tables(b);
    let sib = table(b, a).leaves[5];
    forge_child(b, bytes, Some(3), sib);
}
fn right_most_other_table(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    forge_child(b, bytes, None, other_leaf(b));
}
fn right_most_loop(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (a, _) = two_tables(b);
    forge_child(b, bytes, None, table(b, a).root);
}
fn right_most_out_of_file(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    forge_child(b, bytes, None, 0x7FFF_FFFF);
}

/// A row whose overflow chain has at least two pages.
fn long_row(b: &Base) -> (String, i64, Vec<u32>) {
    for (n, t) in &b.layout.tables {
        if let Some((id, c)) = t.cells.iter().find(|(_, c)| c.overflow.len() >= 2) {
            return (n.clone(), *id, c.overflow.clone());
        }
    }
    panic!("no row with two overflow pages");
}
fn overflow_edit(b: &Base, bytes: &mut [u8], d: &mut Damage, next: impl Fn(&[u32]) -> u32) {
    let (t, id, chain) = long_row(b);
    put_u32(bytes, b.layout.page_off(chain[0]), next(&chain));
    d.touched.insert((t.clone(), id));
    d.cut.insert((t, id));
}
fn overflow_loop(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    overflow_edit(b, bytes, d, |c| c[0]);
}
fn overflow_ends_early(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    overflow_edit(b, bytes, d, |_| 0);
}
fn overflow_into_freelist(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    let free = *b.layout.free_leaves.first().unwrap();
    overflow_edit(b, bytes, d, |_| free);
}

/// A leaf of table `a` with at least 6 cells: (page, cells' offsets).
fn busy_leaf(b: &Base) -> (String, u32) {
    let (a, _) = two_tables(b);
    let t = table(b, a);
    let p = t.leaves[t.leaves.len() / 2];
    (a.to_string(), p)
}
fn touch_cell(b: &Base, d: &mut Damage, t: &str, page: u32, off: usize) {
    let id = table(b, t)
        .cells
        .iter()
        .find(|(_, c)| c.page == page && c.off == off)
        .map(|(id, _)| *id)
        .unwrap();
    d.touched.insert((t.to_string(), id));
}
fn cell_ptr_edit(
    b: &Base,
    bytes: &mut [u8],
    d: &mut Damage,
    slot: usize,
    v: impl Fn(&[usize]) -> u16,
) {
    let (t, p) = busy_leaf(b);
    let offs = b.layout.cell_offsets(&b.bytes, p);
    let at = b.layout.page_off(p) + b.layout.hdr_off(p) + 8 + 2 * slot;
    put_u16(bytes, at, v(&offs));
    touch_cell(b, d, &t, p, offs[slot]);
}
fn cell_ptr_duplicated(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    cell_ptr_edit(b, bytes, d, 1, |o| o[0] as u16);
}
fn cell_ptr_out_of_page(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    cell_ptr_edit(b, bytes, d, 1, |_| 0xFFF0);
}
fn cell_ptr_overlapping(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    cell_ptr_edit(b, bytes, d, 2, |o| (o[1] + 3) as u16);
}
fn cell_count_too_high(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (_, p) = busy_leaf(b);
    let at = b.layout.page_off(p) + b.layout.hdr_off(p) + 3;
    let n = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    put_u16(bytes, at, n + 40);
}
fn cell_count_too_low(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    let (t, p) = busy_leaf(b);
    let offs = b.layout.cell_offsets(&b.bytes, p);
    let at = b.layout.page_off(p) + b.layout.hdr_off(p) + 3;
    put_u16(bytes, at, (offs.len() - 2) as u16);
    for &o in &offs[offs.len() - 2..] {
        touch_cell(b, d, &t, p, o);
    }
}

/// Rewrites serial type `col` of the cell at `slot` of the busy leaf.
fn serial_edit(
    b: &Base,
    bytes: &mut [u8],
    d: &mut Damage,
    slot: usize,
    col: usize,
    f: impl Fn(u8) -> u8,
) {
    let (t, p) = busy_leaf(b);
    let off = b.layout.cell_offsets(&b.bytes, p)[slot];
    let at = b.layout.page_off(p) + b.layout.serial_type_at(&b.bytes, p, off, col);
    bytes[at] = f(bytes[at]);
    touch_cell(b, d, &t, p, off);
}
fn serial_text_too_long(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    serial_edit(b, bytes, d, 3, 3, |c| if c < 125 { 125 } else { 127 });
}
fn serial_int_widened(b: &Base, bytes: &mut [u8], d: &mut Damage) {
    serial_edit(b, bytes, d, 4, 1, |c| match c {
        1 => 2,
        2 => 3,
        _ => 4,
    });
}

/// A page with freeblocks: (page, first freeblock offset).
fn freeblock_page(b: &Base) -> (u32, usize) {
    let (a, _) = two_tables(b);
    table(b, a)
        .leaves
        .iter()
        .filter_map(|&p| {
            let fb = b.layout.first_freeblock(&b.bytes, p);
            (fb != 0).then_some((p, fb))
        })
        .nth(2)
        .unwrap()
}
fn freeblock_loop(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (p, fb) = freeblock_page(b);
    put_u16(bytes, b.layout.page_off(p) + fb, fb as u16);
}
fn freeblock_past_page(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (p, fb) = freeblock_page(b);
    put_u16(bytes, b.layout.page_off(p) + fb, 0xFFF8);
}
fn freeblock_wrong_size(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (p, fb) = freeblock_page(b);
    put_u16(bytes, b.layout.page_off(p) + fb + 2, 0xFFFF);
}
fn freeblock_over_live_cell(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let (p, _) = freeblock_page(b);
    let live = b.layout.cell_offsets(&b.bytes, p)[0];
    put_u16(
        bytes,
        b.layout.page_off(p) + b.layout.hdr_off(p) + 1,
        live as u16,
    );
}

fn trunk(b: &Base) -> u32 {
    *b.layout.free_trunks.first().unwrap()
}
fn freelist_trunk_loop(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let t = trunk(b);
    put_u32(bytes, b.layout.page_off(t), t);
}
fn freelist_leaf_count_wrong(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let t = trunk(b);
    let at = b.layout.page_off(t) + 4;
    let n = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    put_u32(bytes, at, n + 60);
}
fn freelist_points_at_live(b: &Base, bytes: &mut [u8], _: &mut Damage) {
    let t = trunk(b);
    let (a, o) = two_tables(b);
    put_u32(bytes, b.layout.page_off(t) + 8, table(b, a).leaves[1]);
    put_u32(bytes, b.layout.page_off(t) + 12, table(b, o).leaves[0]);
}
fn freelist_hidden(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    put_u32(bytes, 32, 0);
    put_u32(bytes, 36, 0);
}

fn header_page_count_small(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    put_u32(bytes, 28, 3);
}
fn header_page_count_big(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    put_u32(bytes, 28, 99_999);
}
fn header_freelist_count(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    put_u32(bytes, 36, 9_999);
}
fn header_page_size_wrong(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    put_u16(bytes, 16, 4096);
}
fn header_page_size_invalid(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    put_u16(bytes, 16, 3000);
}
fn magic_damaged(_: &Base, bytes: &mut [u8], _: &mut Damage) {
    bytes[13] = b'u';
}

fn utf8_cases() -> Vec<(&'static str, Vec<Manip>)> {
    vec![
        ("pristine", vec![]),
        ("root-other-table", vec![root_to_other_root]),
        ("root-index", vec![root_to_index]),
        ("root-out-of-file", vec![root_out_of_file]),
        ("left-child-other-table", vec![left_child_other_table]),
        ("left-child-loop", vec![left_child_loop]),
        ("left-child-out-of-file", vec![left_child_out_of_file]),
        ("left-child-sibling", vec![left_child_sibling]),
        ("right-most-other-table", vec![right_most_other_table]),
        ("right-most-loop", vec![right_most_loop]),
        ("right-most-out-of-file", vec![right_most_out_of_file]),
        ("overflow-loop", vec![overflow_loop]),
        ("overflow-ends-early", vec![overflow_ends_early]),
        ("overflow-into-freelist", vec![overflow_into_freelist]),
        ("cell-ptr-duplicated", vec![cell_ptr_duplicated]),
        ("cell-ptr-out-of-page", vec![cell_ptr_out_of_page]),
        ("cell-ptr-overlapping", vec![cell_ptr_overlapping]),
        ("cell-count-too-high", vec![cell_count_too_high]),
        ("cell-count-too-low", vec![cell_count_too_low]),
        ("serial-text-too-long", vec![serial_text_too_long]),
        ("serial-int-widened", vec![serial_int_widened]),
        ("freeblock-loop", vec![freeblock_loop]),
        ("freeblock-past-page", vec![freeblock_past_page]),
        ("freeblock-wrong-size", vec![freeblock_wrong_size]),
        ("freeblock-over-live-cell", vec![freeblock_over_live_cell]),
        ("freelist-trunk-loop", vec![freelist_trunk_loop]),
        ("freelist-leaf-count", vec![freelist_leaf_count_wrong]),
        ("freelist-points-at-live", vec![freelist_points_at_live]),
        ("freelist-hidden", vec![freelist_hidden]),
        ("header-page-count-small", vec![header_page_count_small]),
        ("header-page-count-big", vec![header_page_count_big]),
        ("header-freelist-count", vec![header_freelist_count]),
        ("header-page-size-wrong", vec![header_page_size_wrong]),
        ("header-page-size-invalid", vec![header_page_size_invalid]),
        ("magic-formau", vec![magic_damaged]),
        (
            "combo-magic-interior-freeblock",
            vec![magic_damaged, left_child_out_of_file, freeblock_loop],
        ),
        (
            "combo-root-freelist-overflow",
            vec![root_out_of_file, freelist_points_at_live, overflow_loop],
        ),
        (
            "combo-cellptr-serial-rightmost",
            vec![
                cell_ptr_duplicated,
                serial_int_widened,
                right_most_other_table,
                header_page_count_big,
            ],
        ),
    ]
}

fn utf16_cases() -> Vec<(&'static str, Vec<Manip>)> {
    vec![
        ("pristine", vec![]),
        ("root-out-of-file", vec![root_out_of_file]),
        ("left-child-other-table", vec![left_child_other_table]),
        ("right-most-loop", vec![right_most_loop]),
        ("overflow-ends-early", vec![overflow_ends_early]),
        ("cell-ptr-overlapping", vec![cell_ptr_overlapping]),
        ("freeblock-wrong-size", vec![freeblock_wrong_size]),
        ("magic-formau", vec![magic_damaged]),
        (
            "combo-magic-leftchild-cellcount",
            vec![magic_damaged, left_child_other_table, cell_count_too_high],
        ),
    ]
}

#[test]
fn tampered_files_keep_live_rows_live_and_values_true() {
    let mut failures = Vec::new();
    let mut total = Score::default();
    for (label, b, cases) in [
        ("utf8", utf8_base(), utf8_cases()),
        ("utf16", utf16_base(), utf16_cases()),
    ] {
        let (s, f) = check_cases(label, &b, &cases);
        failures.extend(f);
        total.add(&s);
    }
    eprintln!(
        "TOTAL live exact {}/{} duplicated {} deleted-as-live {} wrong-value live {} carved {} deleted exact {}/{}",
        total.live_exact,
        total.required,
        total.duplicated,
        total.deleted_as_live,
        total.wrong_value,
        total.wrong_carved,
        total.deleted_exact,
        total.deleted_total
    );
    eprintln!("TOTAL wrong carved values by path: {:?}", total.wrong_by);
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
