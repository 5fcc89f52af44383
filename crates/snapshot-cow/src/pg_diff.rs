//! Row diff of the tables of a PostgreSQL data directory between two
//! snapshots.
//!
//! Each version is read in place (the snapshot mounted as an
//! `evidence::vfs` source) by datam-core's dump: [`table_keys`] lists the
//! user tables with their primary keys (from `pg_index`) and heap segment
//! files, and [`dump_rows_in`] decodes the live rows of only the blocks
//! whose page hash differs from the same block of the same table in the
//! other version. Skipping an identical block is sound when both versions
//! were cleanly shut down: the same page bytes then give the same visible
//! rows, since every transaction id on the page ended before either
//! shutdown and its fate in `pg_xact` is final (a page that froze or got
//! hint bits changed its bytes and is decoded). When either version's
//! `pg_control` says anything but "shut down", every block is decoded.
//!
//! Rows are keyed by the primary key, else by all their columns (a
//! multiset: each copy of a duplicate keyless row counts once). Values are
//! the columns' text output, as `COPY` prints them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use datam_core::job::{JobCtx, Phase, Unit};
use datam_core::pg::dump::{DumpRequest, DumpRow, TableKey, dump_rows_in, table_keys};
use pgdata::control::DbState;

use crate::diff::Change;
use crate::error::Error;
use crate::manifest::Manifest;
use crate::store::Store;
use crate::{PageHash, SnapshotId};

/// A row: each column's text output (`None`: NULL).
pub type PgRow = Vec<Option<String>>;

/// One changed row of a PostgreSQL table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRowChange {
    /// The primary-key values (or every column's, for a table without one).
    pub key: PgRow,
    /// What happened.
    pub change: Change,
    /// The row in A.
    pub before: Option<PgRow>,
    /// The row in B.
    pub after: Option<PgRow>,
}

/// The changes of one PostgreSQL table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTableDiff {
    /// Database.
    pub db: String,
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Column names (B's, or A's when the table is not in B).
    pub columns: Vec<String>,
    /// The primary key's columns; empty when keyed by all columns.
    pub key_columns: Vec<String>,
    /// Blocks decoded in A and in B.
    pub blocks_decoded: (u64, u64),
    /// Blocks of the table in A and in B.
    pub n_blocks: (u32, u32),
    /// Changed rows, ordered by key.
    pub changes: Vec<PgRowChange>,
}

/// Names of the directories holding a PostgreSQL data directory
/// (`PG_VERSION` and `global/pg_control`) in both snapshots.
pub fn pg_roots(a: &Manifest, b: &Manifest) -> Vec<String> {
    let roots = |m: &Manifest| -> BTreeSet<String> {
        let names: BTreeSet<&str> = m.meta.files.iter().map(|f| f.name.as_str()).collect();
        names
            .iter()
            .filter_map(|n| n.strip_suffix("/PG_VERSION"))
            .filter(|r| names.contains(format!("{r}/global/pg_control").as_str()))
            .map(str::to_string)
            .collect()
    };
    roots(a).intersection(&roots(b)).cloned().collect()
}

/// One mounted version: its path prefix and page hashes by file name.
struct Side<'m> {
    _mount: evidence::vfs::Mount,
    prefix: String,
    pgdata: PathBuf,
    pages: HashMap<&'m str, &'m [PageHash]>,
    tables: BTreeMap<(String, String, String), TableKey>,
    clean: bool,
}

impl<'m> Side<'m> {
    fn open(store: &Store, m: &'m Manifest, root: &str, ctx: &JobCtx) -> Result<Self, Error> {
        let id: SnapshotId = m.meta.id;
        let prefix = format!("{}@{id}:", store.root().display());
        let mount = evidence::vfs::mount(prefix.clone(), Arc::new(store.source(id)?));
        let pgdata = PathBuf::from(format!("{prefix}{root}"));
        let dir = pgdata::DataDir::open(&pgdata).map_err(pg_err(id))?;
        let clean = dir.control().state == DbState::ShutDown;
        let tables = table_keys(&pgdata, ctx)
            .map_err(core_err(id))?
            .into_iter()
            .map(|t| ((t.db.clone(), t.schema.clone(), t.table.clone()), t))
            .collect();
        let pages = m
            .meta
            .files
            .iter()
            .zip(&m.pages)
            .map(|(f, p)| (f.name.as_str(), p.as_slice()))
            .collect();
        Ok(Side {
            _mount: mount,
            prefix,
            pgdata,
            pages,
            tables,
            clean,
        })
    }

    /// The hash of `block` of table `t`.
    fn block_hash(&self, t: &TableKey, block: u32) -> Option<&PageHash> {
        let bps = t.blocks_per_segment.max(1);
        let seg = usize::try_from(block / bps).ok()?;
        let file = t.segments.get(seg)?.strip_prefix(self.prefix.as_str())?;
        self.pages
            .get(file)?
            .get(usize::try_from(block % bps).ok()?)
    }
}

fn pg_err(id: SnapshotId) -> impl Fn(pgdata::Error) -> Error {
    move |e| core_err(id)(e.into())
}

fn core_err(id: SnapshotId) -> impl Fn(datam_core::pg::Error) -> Error {
    move |e| Error::PgVersion {
        id,
        source: Box::new(e),
    }
}

/// Whether `--table` values select `t` (`TABLE`, `SCHEMA.TABLE` or
/// `DB.SCHEMA.TABLE`; all when empty).
fn selected(tables: &[String], (db, schema, table): &(String, String, String)) -> bool {
    tables.is_empty()
        || tables.iter().any(|t| {
            t == table
                || *t == format!("{schema}.{table}")
                || *t == format!("{db}.{schema}.{table}")
        })
}

/// Row diff of the data directory `root` between snapshots `a` and `b`,
/// for `tables` (all when empty).
pub fn pg_diff(
    store: &Store,
    a: &Manifest,
    b: &Manifest,
    root: &str,
    tables: &[String],
    ctx: &JobCtx,
) -> Result<Vec<PgTableDiff>, Error> {
    let sa = Side::open(store, a, root, ctx)?;
    let sb = Side::open(store, b, root, ctx)?;
    let full = !(sa.clean && sb.clean);
    let names: BTreeSet<&(String, String, String)> =
        sa.tables.keys().chain(sb.tables.keys()).collect();
    let n = names.len() as u64;
    let mut out = Vec::new();
    for (done, name) in names.into_iter().enumerate() {
        ctx.check()?;
        ctx.progress(Phase::Decode, Unit::Items, done as u64, Some(n));
        if !selected(tables, name) {
            continue;
        }
        let (ta, tb) = (sa.tables.get(name), sb.tables.get(name));
        let Some(shape) = tb.or(ta) else { continue };
        let (rows_a, na) = decode(&sa, ta, &sb, tb, full, a.meta.id, ctx)?;
        let (rows_b, nb) = decode(&sb, tb, &sa, ta, full, b.meta.id, ctx)?;
        // A's rows in B's column order (by name), for a column added or dropped.
        let rows_a = match ta {
            Some(ta) if ta.columns != shape.columns => reorder(rows_a, &ta.columns, &shape.columns),
            _ => rows_a,
        };
        let key_columns: Vec<String> = shape
            .key
            .iter()
            .filter_map(|&i| shape.columns.get(i).cloned())
            .collect();
        out.push(PgTableDiff {
            db: name.0.clone(),
            schema: name.1.clone(),
            table: name.2.clone(),
            columns: shape.columns.clone(),
            key_columns,
            blocks_decoded: (na, nb),
            n_blocks: (ta.map_or(0, |t| t.n_blocks), tb.map_or(0, |t| t.n_blocks)),
            changes: compare(rows_a, rows_b, &shape.key),
        });
    }
    Ok(out)
}

/// The live rows of table `t` of side `d` on the blocks that are not the
/// same page as the same block of `o` in `other` (all when `full`), and
/// how many blocks that was.
fn decode(
    d: &Side<'_>,
    t: Option<&TableKey>,
    other: &Side<'_>,
    o: Option<&TableKey>,
    full: bool,
    id: SnapshotId,
    ctx: &JobCtx,
) -> Result<(Vec<PgRow>, u64), Error> {
    let Some(t) = t else {
        return Ok((Vec::new(), 0));
    };
    let keep = |b: u32| {
        full || match (d.block_hash(t, b), o.and_then(|o| other.block_hash(o, b))) {
            (Some(x), Some(y)) => x != y,
            _ => true,
        }
    };
    let n = (0..t.n_blocks).filter(|&b| keep(b)).count() as u64;
    if n == 0 {
        return Ok((Vec::new(), 0));
    }
    let req = DumpRequest {
        pgdata: d.pgdata.clone(),
        table: format!("{}.{}", t.schema, t.table),
        db: Some(t.db.clone()),
        dead: false,
        only: true,
        threads: None,
    };
    let mut rows: Vec<DumpRow> = Vec::new();
    dump_rows_in(&req, &keep, ctx, &mut rows).map_err(core_err(id))?;
    Ok((rows.into_iter().map(|r| r.values).collect(), n))
}

/// Rows with columns `from` laid out as `to` (by name; a missing column is NULL).
fn reorder(rows: Vec<PgRow>, from: &[String], to: &[String]) -> Vec<PgRow> {
    let idx: Vec<Option<usize>> = to
        .iter()
        .map(|c| from.iter().position(|f| f == c))
        .collect();
    rows.into_iter()
        .map(|r| {
            idx.iter()
                .map(|i| i.and_then(|i| r.get(i).cloned().flatten()))
                .collect()
        })
        .collect()
}

/// The multiset difference of `a` and `b`, grouped by `key` (column
/// positions; all columns when empty): in a group, rows equal on both
/// sides cancel, the rest pair up as changed (keyed tables) or are
/// removed and added.
fn compare(a: Vec<PgRow>, b: Vec<PgRow>, key: &[usize]) -> Vec<PgRowChange> {
    let key_of = |r: &PgRow| -> PgRow {
        if key.is_empty() {
            r.clone()
        } else {
            key.iter().map(|&i| r.get(i).cloned().flatten()).collect()
        }
    };
    let mut groups: BTreeMap<PgRow, (Vec<PgRow>, Vec<PgRow>)> = BTreeMap::new();
    for r in a {
        groups.entry(key_of(&r)).or_default().0.push(r);
    }
    for r in b {
        groups.entry(key_of(&r)).or_default().1.push(r);
    }
    let mut out = Vec::new();
    for (k, (mut ra, mut rb)) in groups {
        ra.retain(|r| match rb.iter().position(|x| x == r) {
            Some(i) => {
                rb.swap_remove(i);
                false
            }
            None => true,
        });
        let paired = if key.is_empty() {
            0
        } else {
            ra.len().min(rb.len())
        };
        let mut ra = ra.into_iter();
        let mut rb = rb.into_iter();
        for (x, y) in ra.by_ref().zip(rb.by_ref()).take(paired) {
            out.push(change(&k, Change::Changed, Some(x), Some(y)));
        }
        out.extend(ra.map(|x| change(&k, Change::Removed, Some(x), None)));
        out.extend(rb.map(|y| change(&k, Change::Added, None, Some(y))));
    }
    out
}

fn change(k: &PgRow, change: Change, before: Option<PgRow>, after: Option<PgRow>) -> PgRowChange {
    PgRowChange {
        key: k.clone(),
        change,
        before,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: &[Option<&str>]) -> PgRow {
        v.iter().map(|x| x.map(str::to_string)).collect()
    }

    #[test]
    fn keyless_duplicates_count_as_a_multiset() {
        let r = row(&[Some("1"), None]);
        let got = compare(vec![r.clone(), r.clone(), r.clone()], vec![r.clone()], &[]);
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .all(|c| c.change == Change::Removed && c.key == r)
        );
    }

    #[test]
    fn keyed_rows_pair_up_as_changed() {
        let (a, b) = (row(&[Some("1"), Some("x")]), row(&[Some("1"), Some("y")]));
        let got = compare(vec![a.clone()], vec![b.clone()], &[0]);
        assert_eq!(
            got,
            vec![change(
                &row(&[Some("1")]),
                Change::Changed,
                Some(a),
                Some(b)
            )]
        );
    }
}
