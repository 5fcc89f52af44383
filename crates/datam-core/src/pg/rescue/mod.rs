//! The `pg xacts` and `pg rescue` jobs: list committed transactions from the
//! WAL of a stopped data directory, and plan (dry run, undo SQL, report) or
//! apply the undo of a mistaken transaction's rows.
//!
//! WAL is read twice, segments in parallel ([`crate::pg::wal::for_each_segment`]):
//! pass 1 keeps transaction ends and per-transaction row counts, pass 2 the
//! records of the tables being rescued (`pgrescue::collect`). Planning is
//! `pgrescue::plan`; this module finds the inputs and shapes the results.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use pgdata::DataDir;
use pgdata::catalog::{AttrVersion, Catalog, ClassRow, attr_version};
use pgdata::datadir::Fork;
use pgdata::multixact::MultiXacts;
use pgdata::relation::RelationFile;
use pgdata::table::TableScan;
use pgdata::xact::Clog;
use pgrescue::collect::{Change, ChangeSink, RelKey, XactSink};
use pgrescue::files::{ClassHistory, TableRels, replay_versions};
use pgrescue::oldcols::{OldColumns, old_columns};
use pgrescue::plan::{TablePlan, TableSources, plan_table, table_rels};
use pgrescue::time::format_timestamp;
use pgrescue::xacts::{Target, XactLog, XactSummary};
use serde::Serialize;
use walparse::Lsn;

use super::catalogs::{databases, split_table, try_open_db, with_descendants};
use super::{Error, Result};
use crate::job::{JobCtx, Sink, Throughput};

mod apply;
mod report;

pub use apply::{Applied, apply};
pub use report::{Counts, check_outside, counts, write_dry_run};

/// Which transactions to list.
#[derive(Debug, Clone, Default)]
pub struct XactsRequest {
    /// The data directory (evidence; read-only). Its `pg_wal` is read.
    pub pgdata: PathBuf,
    /// Only transactions that changed rows of these tables (`SCHEMA.TABLE`).
    pub tables: Vec<String>,
    /// Database of `tables` (default: the one holding them).
    pub db: Option<String>,
    /// Only transactions committed at or after this time (µs since 2000-01-01 UTC).
    pub since_us: Option<i64>,
    /// Only transactions committed at or before this time.
    pub until_us: Option<i64>,
}

/// Rows one transaction changed in one table. Fields in JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XactTable {
    /// Database oid.
    pub db_oid: u32,
    /// Tuples deleted.
    pub deleted: u64,
    /// Tuples inserted.
    pub inserted: u64,
    /// The relfilenode.
    pub relfilenode: u32,
    /// `db:schema.table`, or `db OID relfilenode N` when not in the catalog.
    pub table: String,
    /// Tuples updated.
    pub updated: u64,
}

/// One committed transaction. Fields in JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XactInfo {
    /// End of the commit record.
    pub commit_end: Lsn,
    /// The commit record.
    pub commit_lsn: Lsn,
    /// Commit time (`YYYY-MM-DD HH:MM:SS.ffffff UTC`).
    pub commit_time: String,
    /// First heap record of the transaction (empty when none).
    pub first_lsn: String,
    /// Prepared (`PREPARE TRANSACTION`), then committed by `COMMIT PREPARED`.
    pub prepared: bool,
    /// Subtransactions that committed with it.
    pub subxacts: Vec<u32>,
    /// Rows per table.
    pub tables: Vec<XactTable>,
    /// Top-level transaction id.
    pub xid: u32,
}

/// The catalog of the database holding every table in `tables`.
fn catalog_for(
    dir: &DataDir,
    db: Option<&str>,
    tables: &[String],
    job: &JobCtx,
) -> Result<Catalog> {
    let wanted: Vec<(String, String)> = tables.iter().map(|t| split_table(t)).collect();
    for d in databases(dir, job, false)?
        .iter()
        .filter(|d| d.name != "template0")
    {
        if db.is_some_and(|n| n != d.name) {
            continue;
        }
        let Some(cat) = try_open_db(dir, d, job) else {
            continue;
        };
        if wanted.iter().all(|(s, n)| cat.find_table(s, n).is_some()) {
            return Ok(cat);
        }
    }
    Err(Error::NoDatabaseHolds {
        database: db.map(str::to_string),
        tables: tables.to_vec(),
    })
}

/// The tables named, each partitioned or inheritance parent replaced by the
/// relations `SELECT * FROM parent` reads (itself when it has rows, and its
/// partitions / children), without repeats.
fn classes(cat: &Catalog, tables: &[String], job: &JobCtx) -> Result<Vec<ClassRow>> {
    let mut out: Vec<ClassRow> = Vec::new();
    for t in tables {
        let (s, n) = split_table(t);
        let class = cat.find_table(&s, &n).ok_or_else(|| Error::TableNotFound {
            table: format!("{s}.{n}"),
        })?;
        for c in with_descendants(cat, class, job)? {
            if !out.iter().any(|o| o.oid == c.oid) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Pass 1 over the WAL of `pgdata`.
pub(crate) fn read_xacts(
    pgdata: &Path,
    interest: &HashSet<RelKey>,
    job: &JobCtx,
) -> Result<(walparse::WalCtx, XactLog)> {
    read_xacts_watching(pgdata, interest, None, job)
}

/// Pass 1, also keeping `pg_class`'s records and the blocks of relations
/// the current catalog does not name when `watch` is given (see
/// [`table_files`]).
fn read_xacts_watching(
    pgdata: &Path,
    interest: &HashSet<RelKey>,
    watch: Option<&CatalogWatch>,
    job: &JobCtx,
) -> Result<(walparse::WalCtx, XactLog)> {
    let _pass = tracing::info_span!("xacts_pass").entered();
    let mut segs = Vec::new();
    let ctx = super::wal::for_each_segment(
        &[pgdata.to_path_buf()],
        job,
        || {
            let sink = XactSink::new(interest.clone());
            match watch {
                Some(w) => sink
                    .watching_catalog(w.block_size_bytes, w.pg_class, w.known.clone())
                    .watching_attributes(w.pg_attribute),
                None => sink,
            }
        },
        |_, s| segs.push(s.out),
    )?;
    Ok((ctx, XactLog::from_segments(segs)))
}

/// What pass 1 watches to follow tables across rewrites.
struct CatalogWatch {
    block_size_bytes: u32,
    pg_class: RelKey,
    pg_attribute: RelKey,
    known: HashSet<RelKey>,
}

fn rel_key(l: pgdata::RelLocator) -> RelKey {
    RelKey {
        db_oid: l.db_oid,
        rel_number: l.rel_number,
    }
}

impl CatalogWatch {
    fn new(dir: &DataDir, cat: &Catalog) -> Result<Self> {
        Ok(Self {
            block_size_bytes: u32::try_from(dir.block_size_bytes()).unwrap_or(8192),
            pg_class: rel_key(cat.locator_of(pgdata::catalog::RELATION_RELATION_ID)?),
            pg_attribute: rel_key(cat.locator_of(pgdata::catalog::ATTRIBUTE_RELATION_ID)?),
            known: cat
                .classes
                .iter()
                .filter_map(|c| cat.locator(c).ok().map(rel_key))
                .collect(),
        })
    }
}

/// Every tuple (live or dead) on the heap pages of catalog `relid`
/// (`pg_class`, `pg_attribute`).
fn catalog_heap_tuples(dir: &DataDir, cat: &Catalog, relid: u32) -> Vec<Vec<u8>> {
    let Ok(loc) = cat.locator_of(relid) else {
        return Vec::new();
    };
    let Ok(rel) = RelationFile::open(dir, loc, Fork::Main) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in 0..rel.n_blocks() {
        let Ok(page) = rel.page(pgdata::BlockNo(b)) else {
            continue;
        };
        for id in page
            .item_ids()
            .filter(|id| id.flags == pgdata::page::LpFlags::Normal)
        {
            if let Ok(t) = page.item_bytes(id) {
                out.push(t.to_vec());
            }
        }
    }
    out
}

/// The files of each of `tables`, current and earlier: pass 1 watching the
/// catalog, then `pg_class`'s history (`pgrescue::files`); and the columns
/// of each earlier file written before `ALTER TABLE … TYPE`
/// (`pgrescue::oldcols`, from `pg_attribute`'s dead tuples).
type TableFiles = Vec<(TableRels, HashMap<RelKey, OldColumns>)>;

fn table_files(
    dir: &DataDir,
    cat: &Catalog,
    tables: &[ClassRow],
    pgdata: &Path,
    job: &JobCtx,
) -> Result<(walparse::WalCtx, XactLog, TableFiles)> {
    let (ctx, log, files, _) = table_files_and_history(dir, cat, tables, pgdata, job)?;
    Ok((ctx, log, files))
}

/// [`table_files`], and the `pg_class` history they come from.
fn table_files_and_history(
    dir: &DataDir,
    cat: &Catalog,
    tables: &[ClassRow],
    pgdata: &Path,
    job: &JobCtx,
) -> Result<(walparse::WalCtx, XactLog, TableFiles, ClassHistory)> {
    let mut interest = HashSet::new();
    for c in tables {
        interest.extend(table_rels(cat, c)?);
    }
    let watch = CatalogWatch::new(dir, cat)?;
    let (ctx, log) = read_xacts_watching(pgdata, &interest, Some(&watch), job)?;
    let heap = catalog_heap_tuples(dir, cat, pgdata::catalog::RELATION_RELATION_ID);
    let hist = ClassHistory::from_changes(
        log.class_changes(),
        heap.iter().map(Vec::as_slice),
        dir.major(),
    );
    let mut attr_versions: Vec<AttrVersion> = Vec::new();
    replay_versions(log.attr_changes(), |t| {
        attr_versions.extend(attr_version(dir.major(), t));
    });
    attr_versions.extend(
        catalog_heap_tuples(dir, cat, pgdata::catalog::ATTRIBUTE_RELATION_ID)
            .iter()
            .filter_map(|t| attr_version(dir.major(), t)),
    );
    let rels = tables
        .iter()
        .map(|c| {
            let rels = TableRels::current(cat, c)?.with_history(&hist, c.oid);
            let (current, _) = cat.attributes(c.oid)?;
            let old = old_columns(&rels, &hist, c.oid, &current, &attr_versions);
            Ok((rels, old))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((ctx, log, rels, hist))
}

/// Names of every relation of every database (for `pg xacts`).
fn relation_names(dir: &DataDir, job: &JobCtx) -> HashMap<RelKey, String> {
    let mut out = HashMap::new();
    let Ok(dbs) = databases(dir, job, false) else {
        return out;
    };
    for d in dbs.into_iter().filter(|d| d.name != "template0") {
        let Some(cat) = try_open_db(dir, &d, job) else {
            continue;
        };
        for c in cat
            .classes
            .iter()
            .filter(|c| matches!(c.relkind, b'r' | b'm' | b't'))
        {
            if let Ok(l) = cat.locator(c) {
                let schema = cat
                    .namespaces
                    .get(&c.relnamespace)
                    .cloned()
                    .unwrap_or_default();
                out.insert(
                    RelKey {
                        db_oid: l.db_oid,
                        rel_number: l.rel_number,
                    },
                    format!("{}:{schema}.{}", d.name, c.relname),
                );
            }
        }
    }
    out
}

/// Lists the committed transactions of the request into `sink`, in commit
/// order, each with the rows it changed per table.
pub fn xacts<S>(req: &XactsRequest, job: &JobCtx, sink: &mut S) -> Result<()>
where
    S: Sink<XactInfo>,
    S::Error: Into<Error>,
{
    let _span = tracing::info_span!("pg_xacts").entered();
    let timer = Throughput::start("pg xacts");
    let dir = DataDir::open(&req.pgdata)?;
    let mut only: Option<HashSet<RelKey>> = None;
    let mut names = relation_names(&dir, job);
    let log = if req.tables.is_empty() {
        read_xacts(&req.pgdata, &HashSet::new(), job)?.1
    } else {
        // The tables' earlier files too (before TRUNCATE, VACUUM FULL, ...).
        let cat = catalog_for(&dir, req.db.as_deref(), &req.tables, job)?;
        let tables = classes(&cat, &req.tables, job)?;
        let (_, log, files) = table_files(&dir, &cat, &tables, &req.pgdata, job)?;
        let mut set = HashSet::new();
        for (f, _) in &files {
            set.insert(f.main);
            for old in &f.old_main {
                set.insert(*old);
                if let Some(now) = names.get(&f.main).cloned() {
                    names
                        .entry(*old)
                        .or_insert_with(|| format!("{now} (an earlier file)"));
                }
            }
        }
        only = Some(set);
        log
    };
    let name_of = |r: &RelKey| {
        names
            .get(r)
            .cloned()
            .unwrap_or_else(|| format!("db {} relfilenode {}", r.db_oid, r.rel_number))
    };
    let target = Target::TimeRange {
        since_us: req.since_us,
        until_us: req.until_us,
    };
    let mut n = 0u64;
    for x in log.select(target) {
        if only
            .as_ref()
            .is_some_and(|o| !x.per_rel.keys().any(|r| o.contains(r)))
        {
            continue;
        }
        let info = XactInfo {
            commit_end: x.commit_end,
            commit_lsn: x.commit_lsn,
            commit_time: format_timestamp(x.time_us),
            first_lsn: x.first_lsn.map(|l| l.to_string()).unwrap_or_default(),
            prepared: x.prepared,
            subxacts: x.subxacts.clone(),
            tables: x
                .per_rel
                .iter()
                .map(|(rel, c)| XactTable {
                    db_oid: rel.db_oid,
                    deleted: c.deleted,
                    inserted: c.inserted,
                    relfilenode: rel.rel_number,
                    table: name_of(rel),
                    updated: c.updated,
                })
                .collect(),
            xid: x.xid,
        };
        n = n.saturating_add(1);
        if !sink.item(info).map_err(Into::into)? {
            break;
        }
    }
    timer.finish(n, 0);
    Ok(())
}

/// Which transaction(s) to undo, in which tables.
#[derive(Debug, Clone, Default)]
pub struct RescueRequest {
    /// The data directory (evidence; read-only). Its `pg_wal` is read.
    pub pgdata: PathBuf,
    /// Tables to rescue (`SCHEMA.TABLE`).
    pub tables: Vec<String>,
    /// Database of the tables (default: the one holding them).
    pub db: Option<String>,
    /// The mistaken transaction (a subtransaction id selects its top).
    pub xid: Option<u32>,
    /// Committed transactions whose commit record is at or after this LSN...
    pub lsn_from: Option<Lsn>,
    /// ... and at or before this LSN.
    pub lsn_to: Option<Lsn>,
    /// Committed transactions committed at or after this time (µs since 2000)...
    pub since_us: Option<i64>,
    /// ... and at or before this time.
    pub until_us: Option<i64>,
}

/// The plan of a rescue: what to undo in each table, and from which rows.
pub struct RescuePlan {
    /// The catalog of the tables' database.
    pub cat: Catalog,
    /// The transactions undone.
    pub targets: Vec<XactSummary>,
    /// One plan per table.
    pub plans: Vec<TablePlan>,
    /// The WAL segment files read.
    pub wal_files: Vec<PathBuf>,
    /// The data directory.
    pub pgdata: PathBuf,
}

impl RescueRequest {
    fn target(&self) -> Result<Target> {
        Ok(match (self.xid, self.lsn_from, self.lsn_to) {
            (Some(x), _, _) => Target::Xid(x),
            (None, None, None) if self.since_us.is_none() && self.until_us.is_none() => {
                return Err(Error::NoTarget);
            }
            (None, None, None) => Target::TimeRange {
                since_us: self.since_us,
                until_us: self.until_us,
            },
            (None, from, to) => Target::LsnRange { from, to },
        })
    }
}

/// Plans the undo: reads the WAL twice and plans each table. Writes nothing.
pub fn plan(req: &RescueRequest, job: &JobCtx) -> Result<RescuePlan> {
    let _span = tracing::info_span!("pg_rescue_plan").entered();
    let timer = Throughput::start("pg rescue plan");
    let dir = DataDir::open(&req.pgdata)?;
    let cat = catalog_for(&dir, req.db.as_deref(), &req.tables, job)?;
    let tables = classes(&cat, &req.tables, job)?;
    let target = req.target()?;
    let (ctx, log, files) = table_files(&dir, &cat, &tables, &req.pgdata, job)?;
    let rels: HashSet<RelKey> = files.iter().flat_map(|(f, _)| f.all()).collect();
    let targets = log.select(target);
    if targets.is_empty() {
        return Err(match target {
            Target::Xid(x) => match log.end_of(x) {
                Some(e) if !e.committed && e.prepared => Error::RolledBackPrepared(x),
                Some(e) if !e.committed => Error::Aborted(x),
                _ => Error::NoCommit {
                    xid: x,
                    pgdata: req.pgdata.clone(),
                },
            },
            _ => Error::NoMatch,
        });
    }
    let mut filter = log.change_filter(&targets, &rels);
    filter.whole = files
        .iter()
        .flat_map(|(f, _)| f.old_toast.clone())
        .collect();
    let mut changes: Vec<Change> = Vec::new();
    {
        let _pass = tracing::info_span!("changes_pass").entered();
        super::wal::for_each_segment(
            std::slice::from_ref(&req.pgdata),
            job,
            || ChangeSink::new(ctx, &filter),
            |_, s| changes.extend(s.out),
        )?;
    }
    let _plan = tracing::info_span!("plan").entered();
    let mut plans = Vec::new();
    for (c, files) in tables.iter().zip(files.clone()) {
        job.check()?;
        let mut src = open_sources(&dir, &cat, c)?;
        (src.rels, src.old_columns) = files;
        plans.push(plan_table(&cat, c, src, &log, &targets, &changes)?);
    }
    timer.finish(plans.iter().map(|p| p.rows.len() as u64).sum(), 0);
    Ok(RescuePlan {
        cat,
        targets,
        plans,
        wal_files: list_wal_files(&req.pgdata),
        pgdata: req.pgdata.clone(),
    })
}

fn list_wal_files(pgdata: &Path) -> Vec<PathBuf> {
    let dir = pgdata.join("pg_wal");
    let mut v: Vec<PathBuf> = evidence::vfs::read_dir(&dir)
        .map(|rd| {
            rd.into_iter()
                .filter(|p| evidence::vfs::is_file(p))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(super::wal::is_segment_name)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// One table followed across its rewrites for the readers of every row
/// version (`pg history`, `pg dump --dead`, `pg dump --as-of`): pass 1 over
/// the WAL watching the catalog as rescue does, the table's files current
/// and earlier ([`TableRels`], with the columns of each earlier file
/// written before `ALTER TABLE … TYPE`), and its sources opened with them.
pub(crate) struct Followed<'c> {
    pub(crate) ctx: walparse::WalCtx,
    pub(crate) log: XactLog,
    /// Every file of the table, current and earlier, main and TOAST.
    pub(crate) rels: HashSet<RelKey>,
    /// The earlier TOAST files, whose chunks pass 2 keeps whole.
    pub(crate) old_toast: HashSet<RelKey>,
    pub(crate) src: TableSources<'c>,
    /// The rewrites that ended each earlier file.
    pub(crate) rewrites: Vec<Rewrite>,
}

/// A rewrite of a followed table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rewrite {
    /// The earlier main file it ended.
    pub(crate) old: RelKey,
    /// The transaction that did it, when `pg_class`'s versions tell.
    pub(crate) by: Option<u32>,
    /// `ALTER TABLE … TYPE` changed columns then: the new file holds the
    /// rows converted, written by the rewrite as inserts.
    pub(crate) typed: bool,
}

impl Followed<'_> {
    /// What rewrite `r` was when it did not carry every row over unchanged
    /// (`None`: it did, as VACUUM FULL and CLUSTER do: no column changed,
    /// and the rewriting transaction wrote the table's new file as page
    /// images and no row of it). TRUNCATE writes no page of the new file;
    /// rows it inserts with it, and the copies ALTER TABLE … TYPE makes, are
    /// row inserts.
    pub(crate) fn rewrite_loses_rows(&self, r: &Rewrite) -> Option<&'static str> {
        if r.typed {
            return Some("ALTER TABLE ... TYPE, which converted the rows");
        }
        let Some(x) = r.by else {
            return Some("a rewrite whose transaction pg_class's versions do not show");
        };
        let rels = &self.src.rels;
        let mains: Vec<RelKey> = std::iter::once(rels.main)
            .chain(rels.old_main.iter().copied())
            .filter(|m| *m != r.old)
            .collect();
        let wrote_rows = self
            .log
            .select(Target::Xid(x))
            .first()
            .is_some_and(|s| mains.iter().any(|m| s.per_rel.contains_key(m)));
        if wrote_rows {
            Some("TRUNCATE, then rows inserted in the same transaction")
        } else if mains.iter().any(|m| self.log.imaged(x, *m)) {
            None
        } else {
            Some("TRUNCATE: no page of the new file was written")
        }
    }

    /// The transactions of rewrites that changed columns (`ALTER TABLE …
    /// TYPE`): their inserts into the new file are copies of the rows, not
    /// row changes.
    pub(crate) fn typed_rewrites(&self) -> HashSet<u32> {
        self.rewrites
            .iter()
            .filter(|r| r.typed)
            .filter_map(|r| r.by)
            .collect()
    }
}

/// Follows `class` of `cat` across its rewrites (see [`Followed`]).
pub(crate) fn follow_table<'c>(
    pgdata: &Path,
    (cat, class): (&'c Catalog, &ClassRow),
    job: &JobCtx,
) -> Result<Followed<'c>> {
    let dir = DataDir::open(pgdata)?;
    let (ctx, log, files, hist) =
        table_files_and_history(&dir, cat, std::slice::from_ref(class), pgdata, job)?;
    let mut src = open_sources(&dir, cat, class)?;
    if let Some((rels, old)) = files.into_iter().next() {
        (src.rels, src.old_columns) = (rels, old);
    }
    let rewrites = rewrites_of(&src, &hist, class.oid);
    Ok(Followed {
        ctx,
        log,
        rels: src.rels.all().into_iter().collect(),
        old_toast: src.rels.old_toast.iter().copied().collect(),
        src,
        rewrites,
    })
}

/// The rewrites that ended each earlier file of `src`'s table (`oid`),
/// and whether each changed columns: the columns before it (its file's
/// [`OldColumns`], or the current ones) differ from those before the next
/// rewrite (or the current ones after the last).
fn rewrites_of(src: &TableSources<'_>, hist: &ClassHistory, oid: u32) -> Vec<Rewrite> {
    let mut by: Vec<(RelKey, Option<u32>)> = src
        .rels
        .old_main
        .iter()
        .map(|&old| (old, hist.replaced_by(oid, old.rel_number)))
        .collect();
    // In transaction order (xids do not wrap between a table's rewrites in
    // any WAL one reads); unknown ones last.
    by.sort_by_key(|&(_, x)| (x.is_none(), x));
    let cols = |f: Option<&RelKey>| f.and_then(|f| src.old_columns.get(f)).map(|c| &c.attrs);
    by.iter()
        .enumerate()
        .map(|(i, &(old, x))| {
            let next = by.get(i.saturating_add(1)).map(|n| &n.0);
            Rewrite {
                old,
                by: x,
                typed: cols(Some(&old)) != cols(next),
            }
        })
        .collect()
}

/// Opens what planning `class` reads: its heap and TOAST files, its row
/// decoder, `pg_xact` and `pg_multixact` (pgrescue opens no file).
pub(crate) fn open_sources<'c>(
    dir: &DataDir,
    cat: &'c Catalog,
    class: &ClassRow,
) -> Result<TableSources<'c>> {
    let toast = match cat.class(class.reltoastrelid) {
        Some(t) => Some(RelationFile::open(dir, cat.locator(t)?, Fork::Main)?),
        None => None,
    };
    Ok(TableSources {
        rels: TableRels::current(cat, class)?,
        heap: RelationFile::open(dir, cat.locator(class)?, Fork::Main)?,
        toast,
        scan: TableScan::new(cat, class)?,
        clog: Clog::new(dir.root(), dir.block_size_bytes()),
        multis: MultiXacts::new(dir.root(), dir.block_size_bytes()),
        old_columns: HashMap::new(),
    })
}
