//! Differences between two snapshots: pages per file, and rows of SQLite
//! tables.
//!
//! The row diff opens each version's database as SQLite would read it (the
//! main file with the committed frames of its `-wal` laid over it), lets
//! `sqlite-pages` classify the pages, and decodes rows only from the leaf
//! pages of a table that are not byte-identical, as the same table's leaf,
//! in the other version (for WITHOUT ROWID tables, whose index b-tree keeps
//! rows in interior cells too, interior pages count as leaves). A row on a page identical in both versions is the
//! same in both, so the rows of the decoded pages alone decide what was
//! added, removed or changed (keyed by rowid, or by the primary key of a
//! WITHOUT ROWID table). When an overflow page differs, every leaf of every
//! table is decoded, since the owner of an overflow page is not recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datam_core::job::{JobCtx, Phase, Unit};
use rowcodec::sqlite::record::OwnedValue;
use sqlite_pages::PageNo;
use sqlite_pages::db::Db;
use sqlite_pages::page::PageClass;
use sqlite_pages::scan::{Extract, PageRole, RowStatus, table_rows_in_page};

use crate::error::Error;
use crate::layout::PageKind;
use crate::manifest::Manifest;
use crate::read::Reader;

/// Pages changed in one file between two snapshots (from the manifests).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PageSummary {
    /// The file's name.
    pub file: String,
    /// Pages in A (`None`: not in A).
    pub pages_a: Option<u64>,
    /// Pages in B (`None`: not in B).
    pub pages_b: Option<u64>,
    /// Pages at the same index with different contents.
    pub changed: u64,
    /// Pages only in B (B is longer).
    pub added: u64,
    /// Pages only in A (A is longer).
    pub removed: u64,
}

/// Per file of A ∪ B, the pages that differ.
pub fn page_summary(a: &Manifest, b: &Manifest) -> Vec<PageSummary> {
    let side = |m: &Manifest| -> BTreeMap<String, usize> {
        m.meta
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect()
    };
    let (fa, fb) = (side(a), side(b));
    let names: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let pa = fa.get(name).and_then(|&i| a.pages.get(i));
            let pb = fb.get(name).and_then(|&i| b.pages.get(i));
            let (la, lb) = (pa.map_or(0, Vec::len), pb.map_or(0, Vec::len));
            let changed = match (pa, pb) {
                (Some(x), Some(y)) => x.iter().zip(y).filter(|(p, q)| p != q).count(),
                _ => 0,
            };
            PageSummary {
                file: name.clone(),
                pages_a: pa.map(|p| p.len() as u64),
                pages_b: pb.map(|p| p.len() as u64),
                changed: changed as u64,
                added: lb.saturating_sub(la) as u64,
                removed: la.saturating_sub(lb) as u64,
            }
        })
        .collect()
}

/// How a row changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both, with different values.
    Changed,
}

/// One changed row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The key: the rowid, or the primary-key values of a WITHOUT ROWID table.
    pub key: Vec<OwnedValue>,
    /// What happened.
    pub change: Change,
    /// Values in A (schema order), when in A.
    pub before: Option<Vec<OwnedValue>>,
    /// Values in B, when in B.
    pub after: Option<Vec<OwnedValue>>,
}

/// The changes of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDiff {
    /// Table name.
    pub table: String,
    /// Column names (B's schema, or A's when dropped in B).
    pub columns: Vec<String>,
    /// Names of the key columns (`rowid` for rowid tables).
    pub key_columns: Vec<String>,
    /// Whether the table is WITHOUT ROWID.
    pub without_rowid: bool,
    /// The rowid-alias column (`INTEGER PRIMARY KEY`), if any.
    pub rowid_alias: Option<usize>,
    /// Leaf pages decoded in A and in B.
    pub pages_decoded: (u64, u64),
    /// Changed rows, ordered by key.
    pub changes: Vec<RowChange>,
}

/// The database of snapshot `m`'s file `name` as SQLite would read it: the
/// main file with the committed frames of `name-wal` (if in the snapshot)
/// laid over it. One buffer of the database's size.
pub fn sqlite_image(reader: &Reader, m: &Manifest, name: &str) -> Result<Vec<u8>, Error> {
    let mut img = reader.file(m, name)?.to_vec()?;
    let wal_name = format!("{name}-wal");
    if !m.meta.files.iter().any(|f| f.name == wal_name) {
        return Ok(img);
    }
    let wal_bytes = reader.file(m, &wal_name)?.to_vec()?;
    let Ok(wal) = sqlite_pages::wal::Wal::parse(&wal_bytes) else {
        return Ok(img);
    };
    let Some(ps) = wal.page_size_bytes().map(|p| p as usize) else {
        return Ok(img);
    };
    let state = wal.committed_state();
    if let Some(n) = state.db_size_pages {
        img.resize((n as usize).saturating_mul(ps), 0);
    }
    for (&pgno, &frame_idx) in &state.latest_frame_by_pgno {
        let Some(frame) = wal.frame(frame_idx) else {
            continue;
        };
        let start = (pgno.saturating_sub(1) as usize).saturating_mul(ps);
        let end = start.saturating_add(ps);
        if let Some(dst) = img.get_mut(start..end)
            && let Some(src) = frame.page.get(..ps)
        {
            dst.copy_from_slice(src);
        }
    }
    Ok(img)
}

/// A row key ordered as SQLite orders values (NULL, numbers, text, blobs).
#[derive(Debug, Clone, PartialEq)]
struct Key(Vec<OwnedValue>);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        for (x, y) in self.0.iter().zip(&other.0) {
            let o = cmp_value(x, y);
            if o.is_ne() {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

fn cmp_value(x: &OwnedValue, y: &OwnedValue) -> std::cmp::Ordering {
    use OwnedValue as V;
    let rank = |v: &V| match v {
        V::Null => 0,
        V::Int(_) | V::Real(_) => 1,
        V::Text(_) => 2,
        V::Blob(_) => 3,
    };
    #[allow(clippy::cast_precision_loss)]
    let num = |v: &V| match v {
        V::Int(i) => *i as f64,
        V::Real(r) => *r,
        _ => 0.0,
    };
    match (x, y) {
        (V::Int(a), V::Int(b)) => a.cmp(b),
        (V::Text(a), V::Text(b)) => a.cmp(b),
        (V::Blob(a), V::Blob(b)) => a.cmp(b),
        _ if rank(x) == 1 && rank(y) == 1 => num(x).total_cmp(&num(y)),
        _ => rank(x).cmp(&rank(y)),
    }
}

type Rows = BTreeMap<Key, Vec<OwnedValue>>;

/// Row diff of the SQLite database `name` between snapshots `a` and `b`,
/// for `tables` (all when empty).
pub fn sqlite_diff(
    reader: &Reader,
    a: &Manifest,
    b: &Manifest,
    name: &str,
    tables: &[String],
    ctx: &JobCtx,
) -> Result<Vec<TableDiff>, Error> {
    let (img_a, img_b) = (
        sqlite_image(reader, a, name)?,
        sqlite_image(reader, b, name)?,
    );
    ctx.check()?;
    let (da, db) = (Db::open(&img_a), Db::open(&img_b));
    let full = overflow_changed(&da, &db);
    let live = |d: &Db<'_>| -> BTreeMap<String, usize> {
        d.tables
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.dropped && t.module.is_none())
            .map(|(i, t)| (t.name.clone(), i))
            .collect()
    };
    let (ta, tb) = (live(&da), live(&db));
    let names: BTreeSet<&String> = ta.keys().chain(tb.keys()).collect();
    let mut out = Vec::new();
    for (done, t) in names.into_iter().enumerate() {
        if t == "sqlite_master" || !(tables.is_empty() || tables.contains(t)) {
            continue;
        }
        ctx.check()?;
        ctx.progress(Phase::Decode, Unit::Items, done as u64, None);
        let (ia, ib) = (ta.get(t).copied(), tb.get(t).copied());
        let (rows_a, na) = decode_side(&da, ia, &db, ib, full);
        let (rows_b, nb) = decode_side(&db, ib, &da, ia, full);
        let Some(schema) = ib
            .and_then(|i| db.tables.get(i))
            .or_else(|| ia.and_then(|i| da.tables.get(i)))
        else {
            continue;
        };
        let key_columns = if schema.without_rowid {
            key_len(schema)
                .map(|n| schema.record_order.iter().take(n))
                .into_iter()
                .flatten()
                .filter_map(|&c| schema.columns.get(c).map(|c| c.name.clone()))
                .collect()
        } else {
            vec!["rowid".to_string()]
        };
        out.push(TableDiff {
            table: t.clone(),
            columns: schema.columns.iter().map(|c| c.name.clone()).collect(),
            key_columns,
            without_rowid: schema.without_rowid,
            rowid_alias: schema.rowid_alias,
            pages_decoded: (na, nb),
            changes: compare(rows_a, rows_b),
        });
    }
    Ok(out)
}

/// Number of primary-key columns of a WITHOUT ROWID table, from its SQL
/// (`sqlite-pages` puts them first in `record_order`): the list of a
/// `PRIMARY KEY(...)` table constraint, else one column constraint.
fn key_len(t: &sqlite_pages::schema::Table) -> Option<usize> {
    let sql = t.sql.to_ascii_uppercase();
    let rest = sql.get(sql.find("PRIMARY KEY")? + "PRIMARY KEY".len()..)?;
    if rest.trim_start().starts_with('(') {
        let list = rest.get(rest.find('(')? + 1..rest.find(')')?)?;
        return Some(list.split(',').count());
    }
    Some(1)
}

fn overflow_changed(a: &Db<'_>, b: &Db<'_>) -> bool {
    let n = a.n_pages.max(b.n_pages);
    (1..=n).any(|p| {
        let i = (p - 1) as usize;
        let ov = |d: &Db<'_>| d.classes.get(i) == Some(&PageClass::Overflow);
        (ov(a) || ov(b)) && a.page_bytes(PageNo(p)) != b.page_bytes(PageNo(p))
    })
}

/// Rows of table `ti` of `d` on its leaves that are not identical leaves of
/// table `oi` in `other` (all leaves when `full`); and how many were decoded.
fn decode_side(
    d: &Db<'_>,
    ti: Option<usize>,
    other: &Db<'_>,
    oi: Option<usize>,
    full: bool,
) -> (Rows, u64) {
    let mut rows = Rows::new();
    let Some(ti) = ti else { return (rows, 0) };
    let Some(t) = d.tables.get(ti) else {
        return (rows, 0);
    };
    let klen = if t.without_rowid {
        key_len(t).unwrap_or(t.columns.len())
    } else {
        0
    };
    let ctx = d.scan_ctx();
    let mut n = 0u64;
    for (i, role) in d.roles.iter().enumerate() {
        if *role != (PageRole::Tree { table: ti }) {
            continue;
        }
        if !matches!(
            d.classes.get(i),
            Some(PageClass::TableLeaf | PageClass::IndexLeaf | PageClass::IndexInterior)
        ) {
            continue;
        }
        let p = PageNo(u32::try_from(i + 1).unwrap_or(u32::MAX));
        let same = oi.is_some_and(|oi| other.roles.get(i) == Some(&PageRole::Tree { table: oi }))
            && d.page_bytes(p) == other.page_bytes(p);
        if same && !full {
            continue;
        }
        let Some(bytes) = d.page_bytes(p) else {
            continue;
        };
        n += 1;
        let what = Extract {
            intact: true,
            carved: false,
        };
        table_rows_in_page(
            &ctx,
            p,
            bytes,
            PageRole::Tree { table: ti },
            what,
            &mut |r| {
                if r.status != RowStatus::Live {
                    return;
                }
                let key = Key(if t.without_rowid {
                    t.record_order
                        .iter()
                        .take(klen)
                        .filter_map(|&c| r.values.get(c).cloned())
                        .collect()
                } else {
                    vec![OwnedValue::Int(r.rowid.unwrap_or_default())]
                });
                rows.insert(key, r.values);
            },
        );
    }
    (rows, n)
}

fn compare(a: Rows, mut b: Rows) -> Vec<RowChange> {
    let mut out = Vec::new();
    for (k, va) in a {
        match b.remove(&k) {
            Some(vb) if vb == va => {}
            Some(vb) => out.push((k, Change::Changed, Some(va), Some(vb))),
            None => out.push((k, Change::Removed, Some(va), None)),
        }
    }
    out.extend(
        b.into_iter()
            .map(|(k, vb)| (k, Change::Added, None, Some(vb))),
    );
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out.into_iter()
        .map(|(key, change, before, after)| RowChange {
            key: key.0,
            change,
            before,
            after,
        })
        .collect()
}

/// Names of the SQLite database files present in both snapshots.
pub fn sqlite_files(a: &Manifest, b: &Manifest) -> Vec<String> {
    let in_b: HashMap<&str, PageKind> = b
        .meta
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.layout.kind))
        .collect();
    a.meta
        .files
        .iter()
        .filter(|f| {
            f.layout.kind == PageKind::SqliteDb
                && in_b.get(f.name.as_str()) == Some(&PageKind::SqliteDb)
        })
        .map(|f| f.name.clone())
        .collect()
}
