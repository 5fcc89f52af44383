//! Differences between two snapshots: pages per file, and rows of SQLite
//! tables.
//!
//! The row diff reads each version's database as SQLite would read it (the
//! main file with the committed frames of its `-wal` laid over it) page by
//! page from the packs ([`crate::sqlite_version`]: only interior b-tree
//! pages are read to learn which table owns which leaf), and decodes rows
//! only from the leaf pages of a table that are not identical (by page hash,
//! or bytes for WAL pages), as the same table's leaf, in the other version
//! (for WITHOUT ROWID tables, whose index b-tree keeps rows in interior
//! cells too, interior pages count as leaves). Memory grows with the pages
//! read (interior pages, the changed leaves, the `-wal`), not with the
//! file. A row on a page identical in both versions is the
//! same in both, so the rows of the decoded pages alone decide what was
//! added, removed or changed (keyed by rowid, or by the primary key of a
//! WITHOUT ROWID table). When a page that differs belongs to no b-tree,
//! freelist or pointer map (an overflow page: its owner is not recorded),
//! every leaf of every table is decoded.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datam_core::job::{JobCtx, Phase, Unit};
use rowcodec::sqlite::record::OwnedValue;
use sqlite_pages::PageNo;
use sqlite_pages::cell::PageSource;

use crate::error::Error;
use crate::layout::PageKind;
use crate::manifest::Manifest;
use crate::read::Reader;
use crate::sqlite_version::{Version, live_rows};

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
    let va = Version::open(reader, a, name)?;
    let vb = Version::open(reader, b, name)?;
    ctx.check()?;
    let full = unowned_page_changed(&va, &vb);
    let live = |v: &Version<'_>| -> BTreeMap<String, usize> {
        v.tables
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.dropped && t.module.is_none())
            .map(|(i, t)| (t.name.clone(), i))
            .collect()
    };
    let (ta, tb) = (live(&va), live(&vb));
    let names: BTreeSet<&String> = ta.keys().chain(tb.keys()).collect();
    let mut out = Vec::new();
    for (done, t) in names.into_iter().enumerate() {
        if t == "sqlite_master" || !(tables.is_empty() || tables.contains(t)) {
            continue;
        }
        ctx.check()?;
        ctx.progress(Phase::Decode, Unit::Items, done as u64, None);
        let (ia, ib) = (ta.get(t).copied(), tb.get(t).copied());
        let (rows_a, na) = decode_side(&va, ia, &vb, ib, full);
        let (rows_b, nb) = decode_side(&vb, ib, &va, ia, full);
        va.take_error()?;
        vb.take_error()?;
        let Some(schema) = ib
            .and_then(|i| vb.tables.get(i))
            .or_else(|| ia.and_then(|i| va.tables.get(i)))
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

/// Whether a page that differs belongs to no b-tree, the freelist or the
/// pointer map in either version: an overflow page (whose owner is not
/// recorded), so every row page must be decoded.
fn unowned_page_changed(a: &Version<'_>, b: &Version<'_>) -> bool {
    let owned = |v: &Version<'_>, p: u32| v.row_pages.contains_key(&p) || v.known.contains(&p);
    (1..=a.n_pages.max(b.n_pages)).any(|p| !a.same_page(b, p) && !owned(a, p) && !owned(b, p))
}

/// Rows of table `ti` of `d` on its row pages that are not identical row
/// pages of table `oi` in `other` (all of them when `full`); and how many
/// pages were decoded.
fn decode_side(
    d: &Version<'_>,
    ti: Option<usize>,
    other: &Version<'_>,
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
    let mut pages: Vec<u32> = d
        .row_pages
        .iter()
        .filter(|&(_, &owner)| owner == ti)
        .map(|(&p, _)| p)
        .collect();
    pages.sort_unstable();
    let mut n = 0u64;
    for p in pages {
        let same =
            oi.is_some_and(|oi| other.row_pages.get(&p) == Some(&oi)) && d.same_page(other, p);
        if same && !full {
            continue;
        }
        let Some(bytes) = d.page(PageNo(p)) else {
            continue;
        };
        n += 1;
        live_rows(&ctx, p, bytes, ti, &mut |values, rowid| {
            let key = Key(if t.without_rowid {
                t.record_order
                    .iter()
                    .take(klen)
                    .filter_map(|&c| values.get(c).cloned())
                    .collect()
            } else {
                vec![OwnedValue::Int(rowid.unwrap_or_default())]
            });
            rows.insert(key, values);
        });
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
