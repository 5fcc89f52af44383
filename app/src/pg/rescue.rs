//! `datam pg xacts` and `datam pg rescue`: find a mistaken transaction in the
//! WAL of a stopped data directory, plan the undo of its rows, print the
//! impact (`--dry-run`), write the undo as SQL with a `report.json` beside
//! it (`--out`), or run it on a server in one transaction (`--apply`).
//!
//! WAL is read twice, segments in parallel (as `datam pg wal`): pass 1 keeps
//! transaction ends and per-transaction row counts, pass 2 the records of
//! the tables being rescued (see `pgrescue::collect`). Planning is
//! `pgrescue::plan`; this module does the I/O, the output and the network.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pgdata::DataDir;
use pgdata::catalog::{self, Catalog, ClassRow};
use pgrescue::collect::{Change, ChangeSink, RelKey, XactSink};
use pgrescue::plan::{RowKind, RowStatus, TablePlan, plan_table, table_rels};
use pgrescue::sql::{Timeouts, row_statements, set_local_statements, undo_script};
use pgrescue::time::{format_timestamp, parse_timestamp};
use pgrescue::xacts::{Target, XactLog, XactSummary};
use walparse::Lsn;

/// Output format of `datam pg xacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XactsFormat {
    /// Tab-separated lines with a header, one per transaction and table.
    Text,
    /// One JSON object per transaction.
    Jsonl,
}

/// Arguments of `datam pg xacts`.
#[derive(Debug, clap::Args)]
pub struct XactsArgs {
    /// The data directory (evidence; read-only). Its `pg_wal` is read.
    pub pgdata: PathBuf,
    /// Only transactions that changed rows of this table (`SCHEMA.TABLE`,
    /// schema defaults to `public`); repeatable.
    #[arg(long)]
    pub table: Vec<String>,
    /// Database of `--table` (default: the one holding it).
    #[arg(long)]
    pub db: Option<String>,
    /// Only transactions committed at or after this time (`2024-05-01 10:00:00+00`; no zone = UTC).
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<i64>,
    /// Only transactions committed at or before this time.
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = XactsFormat::Text)]
    pub format: XactsFormat,
}

/// Arguments of `datam pg rescue`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).multiple(true).args(["dry_run", "out", "apply"])))]
pub struct RescueArgs {
    /// The data directory (evidence; read-only). Its `pg_wal` is read.
    pub pgdata: PathBuf,
    /// Table to rescue (`SCHEMA.TABLE`, schema defaults to `public`); repeatable.
    #[arg(long, required = true)]
    pub table: Vec<String>,
    /// Database of the tables (default: the one holding them).
    #[arg(long)]
    pub db: Option<String>,
    /// The mistaken transaction (a subtransaction id selects its top).
    #[arg(long, conflicts_with_all = ["lsn_from", "lsn_to", "since", "until"])]
    pub xid: Option<u32>,
    /// Every committed transaction whose commit record is at or after this LSN.
    #[arg(long)]
    pub lsn_from: Option<Lsn>,
    /// ... and at or before this LSN.
    #[arg(long)]
    pub lsn_to: Option<Lsn>,
    /// Every committed transaction committed at or after this time.
    #[arg(long, value_parser = parse_time_arg, conflicts_with_all = ["lsn_from", "lsn_to"])]
    pub since: Option<i64>,
    /// ... and at or before this time.
    #[arg(long, value_parser = parse_time_arg, conflicts_with_all = ["lsn_from", "lsn_to"])]
    pub until: Option<i64>,
    /// Print the impact and the source of every row; change nothing.
    #[arg(long, conflicts_with_all = ["out", "apply"])]
    pub dry_run: bool,
    /// Write the undo SQL here (and `report.json` in the same directory;
    /// with `--apply`, the report also holds the rows affected).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run the undo on this server (`postgres://...` or `host=... dbname=...`)
    /// in one transaction.
    #[arg(long)]
    pub apply: Option<String>,
    /// `lock_timeout` of the undo transaction.
    #[arg(long, default_value = "5s")]
    pub lock_timeout: String,
    /// `statement_timeout` of the undo transaction.
    #[arg(long, default_value = "5min")]
    pub statement_timeout: String,
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    parse_timestamp(s).ok_or_else(|| {
        format!("{s:?} is not a time (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH[:MM]])")
    })
}

fn split_table(t: &str) -> (String, String) {
    match t.split_once('.') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None => ("public".to_string(), t.to_string()),
    }
}

/// The catalog of the database holding every table in `tables`.
fn catalog_for(dir: &DataDir, db: Option<&str>, tables: &[String]) -> anyhow::Result<Catalog> {
    let mut warnings = Vec::new();
    let dbs = catalog::databases(dir, &mut warnings)?;
    let wanted: Vec<(String, String)> = tables.iter().map(|t| split_table(t)).collect();
    for d in dbs.iter().filter(|d| d.name != "template0") {
        if db.is_some_and(|n| n != d.name) {
            continue;
        }
        let Ok(cat) = Catalog::open(dir, d.clone()) else {
            continue;
        };
        if wanted.iter().all(|(s, n)| cat.find_table(s, n).is_some()) {
            return Ok(cat);
        }
    }
    bail!(
        "no database{} holds every table of {}",
        db.map(|d| format!(" named {d}")).unwrap_or_default(),
        tables.join(", ")
    )
}

fn classes(cat: &Catalog, tables: &[String]) -> anyhow::Result<Vec<ClassRow>> {
    tables
        .iter()
        .map(|t| {
            let (s, n) = split_table(t);
            cat.find_table(&s, &n)
                .cloned()
                .with_context(|| format!("table {s}.{n} not found"))
        })
        .collect()
}

/// Pass 1 over the WAL of `pgdata`.
fn read_xacts(
    pgdata: &Path,
    interest: &HashSet<RelKey>,
) -> anyhow::Result<(walparse::WalCtx, XactLog)> {
    let mut segs = Vec::new();
    let ctx = super::wal::for_each_segment(
        &[pgdata.to_path_buf()],
        || XactSink::new(interest.clone()),
        |_, s| segs.push(s.out),
    )?;
    Ok((ctx, XactLog::from_segments(segs)))
}

/// Names of every relation of every database (for `pg xacts`).
fn relation_names(dir: &DataDir) -> HashMap<RelKey, String> {
    let mut out = HashMap::new();
    let mut warnings = Vec::new();
    let Ok(dbs) = catalog::databases(dir, &mut warnings) else {
        return out;
    };
    for d in dbs.into_iter().filter(|d| d.name != "template0") {
        let name = d.name.clone();
        let Ok(cat) = Catalog::open(dir, d) else {
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
                    format!("{name}:{schema}.{}", c.relname),
                );
            }
        }
    }
    out
}

/// Runs `datam pg xacts`.
pub fn run_xacts(args: &XactsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = DataDir::open(&args.pgdata)?;
    let mut only: Option<HashSet<RelKey>> = None;
    if !args.table.is_empty() {
        let cat = catalog_for(&dir, args.db.as_deref(), &args.table)?;
        let mut set = HashSet::new();
        for c in classes(&cat, &args.table)? {
            set.extend(table_rels(&cat, &c)?.into_iter().take(1));
        }
        only = Some(set);
    }
    let (_, log) = read_xacts(&args.pgdata, &HashSet::new())?;
    let names = relation_names(&dir);
    let name_of = |r: &RelKey| {
        names
            .get(r)
            .cloned()
            .unwrap_or_else(|| format!("db {} relfilenode {}", r.db_oid, r.rel_number))
    };
    let target = Target::TimeRange {
        since_us: args.since,
        until_us: args.until,
    };
    if args.format == XactsFormat::Text {
        writeln!(
            out,
            "xid\tcommit_time\tfirst_lsn\tcommit_lsn\ttable\tinserted\tupdated\tdeleted"
        )?;
    }
    for x in log.select(target) {
        if only
            .as_ref()
            .is_some_and(|o| !x.per_rel.keys().any(|r| o.contains(r)))
        {
            continue;
        }
        let first = x.first_lsn.map(|l| l.to_string()).unwrap_or_default();
        match args.format {
            XactsFormat::Text => {
                for (rel, c) in &x.per_rel {
                    writeln!(
                        out,
                        "{}\t{}\t{first}\t{}\t{}\t{}\t{}\t{}",
                        x.xid,
                        format_timestamp(x.time_us),
                        x.commit_lsn,
                        name_of(rel),
                        c.inserted,
                        c.updated,
                        c.deleted
                    )?;
                }
            }
            XactsFormat::Jsonl => {
                let tables: Vec<serde_json::Value> = x
                    .per_rel
                    .iter()
                    .map(|(rel, c)| {
                        serde_json::json!({
                            "table": name_of(rel), "db_oid": rel.db_oid, "relfilenode": rel.rel_number,
                            "inserted": c.inserted, "updated": c.updated, "deleted": c.deleted,
                        })
                    })
                    .collect();
                let obj = serde_json::json!({
                    "xid": x.xid, "subxacts": x.subxacts,
                    "commit_time": format_timestamp(x.time_us),
                    "first_lsn": first, "commit_lsn": x.commit_lsn.to_string(),
                    "commit_end": x.commit_end.to_string(), "tables": tables,
                });
                writeln!(out, "{obj}")?;
            }
        }
    }
    Ok(())
}

/// The plan of a `pg rescue` run.
struct Rescue {
    cat: Catalog,
    targets: Vec<XactSummary>,
    plans: Vec<TablePlan>,
    wal_files: Vec<PathBuf>,
}

fn plan(args: &RescueArgs) -> anyhow::Result<Rescue> {
    let dir = DataDir::open(&args.pgdata)?;
    let cat = catalog_for(&dir, args.db.as_deref(), &args.table)?;
    let tables = classes(&cat, &args.table)?;
    let mut rels = HashSet::new();
    for c in &tables {
        rels.extend(table_rels(&cat, c)?);
    }
    let (ctx, log) = read_xacts(&args.pgdata, &rels)?;
    let target = match (args.xid, args.lsn_from, args.lsn_to) {
        (Some(x), _, _) => Target::Xid(x),
        (None, None, None) if args.since.is_none() && args.until.is_none() => {
            bail!("name the mistaken transaction: --xid, --lsn-from/--lsn-to or --since/--until")
        }
        (None, None, None) => Target::TimeRange {
            since_us: args.since,
            until_us: args.until,
        },
        (None, from, to) => Target::LsnRange { from, to },
    };
    let targets = log.select(target);
    if targets.is_empty() {
        if let Target::Xid(x) = target {
            match log.committed(x) {
                Some(false) => bail!("transaction {x} aborted: it changed nothing"),
                _ => bail!(
                    "no commit record of transaction {x} in the WAL of {} (see `datam pg xacts`)",
                    args.pgdata.display()
                ),
            }
        }
        bail!("no committed transaction matches (see `datam pg xacts`)");
    }
    let filter = log.change_filter(&targets, &rels);
    let mut changes: Vec<Change> = Vec::new();
    super::wal::for_each_segment(
        std::slice::from_ref(&args.pgdata),
        || ChangeSink::new(ctx, &filter),
        |_, s| changes.extend(s.out),
    )?;
    let mut plans = Vec::new();
    for c in &tables {
        plans.push(plan_table(&cat, c, &log, &targets, &changes)?);
    }
    let wal_files = list_wal_files(&args.pgdata);
    Ok(Rescue {
        cat,
        targets,
        plans,
        wal_files,
    })
}

fn list_wal_files(pgdata: &Path) -> Vec<PathBuf> {
    let dir = pgdata.join("pg_wal");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Restorable / skipped / incomplete counts of one table.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Counts {
    reinsert: u64,
    revert: u64,
    delete: u64,
    skipped_later_work: u64,
    incomplete: u64,
}

fn counts(t: &TablePlan) -> Counts {
    let mut c = Counts::default();
    for r in &t.rows {
        let n = match (&r.status, r.kind) {
            (RowStatus::SkippedLaterWork { .. }, _) => &mut c.skipped_later_work,
            (RowStatus::Incomplete { .. }, _) => &mut c.incomplete,
            (RowStatus::Restorable, RowKind::Reinsert) => &mut c.reinsert,
            (RowStatus::Restorable, RowKind::Revert) => &mut c.revert,
            (RowStatus::Restorable, RowKind::Delete) => &mut c.delete,
        };
        *n = n.saturating_add(1);
    }
    c
}

fn counts_line(t: &TablePlan) -> String {
    let c = counts(t);
    format!(
        "{}.{}: re-insert {}, revert {}, delete {}, skipped by later work {}, incomplete {}",
        t.schema, t.name, c.reinsert, c.revert, c.delete, c.skipped_later_work, c.incomplete
    )
}

fn kind_name(k: RowKind) -> &'static str {
    match k {
        RowKind::Reinsert => "re-insert",
        RowKind::Revert => "revert",
        RowKind::Delete => "delete",
    }
}

fn status_text(s: &RowStatus) -> String {
    match s {
        RowStatus::Restorable => "restorable".into(),
        RowStatus::SkippedLaterWork { xid, lsn, what } => {
            format!("skipped: transaction {xid} {what} (at {lsn})")
        }
        RowStatus::Incomplete { reason } => format!("incomplete: {reason}"),
    }
}

fn key_text(t: &TablePlan, key: &[Option<String>]) -> String {
    t.key_cols
        .iter()
        .zip(key)
        .map(|(&k, v)| {
            let name = t.columns.get(k).map_or("?", |c| c.name.as_str());
            format!("{name}={}", v.as_deref().unwrap_or("NULL"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn write_dry_run(r: &Rescue, out: &mut dyn Write) -> anyhow::Result<()> {
    for x in &r.targets {
        writeln!(
            out,
            "transaction {} committed {} at {} (subtransactions: {})",
            x.xid,
            format_timestamp(x.time_us),
            x.commit_lsn,
            x.subxacts.len()
        )?;
    }
    for t in &r.plans {
        writeln!(out, "table {} (key: {:?})", counts_line(t), t.key_kind)?;
        if t.later_tuples_unread > 0 {
            writeln!(
                out,
                "  note: {} later tuple(s) whose key could not be read (a key re-inserted and deleted again by them would not be noticed)",
                t.later_tuples_unread
            )?;
        }
        for w in &t.warnings {
            writeln!(out, "  warning: {w}")?;
        }
        writeln!(out, "kind\tkey\tlsn\told_source\tnew_source\tstatus")?;
        for row in &t.rows {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                kind_name(row.kind),
                key_text(t, &row.key),
                row.lsn,
                row.old_source
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                row.new_source
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                status_text(&row.status)
            )?;
        }
    }
    Ok(())
}

fn header(r: &Rescue) -> String {
    let mut h = String::from("datam pg rescue: undo of transaction(s)");
    for x in &r.targets {
        let _ = write!(
            h,
            " {} (commit {} at {})",
            x.xid,
            format_timestamp(x.time_us),
            x.commit_lsn
        );
    }
    for t in &r.plans {
        let _ = write!(
            h,
            "\n{} (not undone: skipped and incomplete rows; see report.json)",
            counts_line(t)
        );
    }
    h.push_str("\nRun with psql; running it again changes nothing.");
    h
}

/// Files the plan was read from, with their SHA-256.
fn evidence_hashes(r: &Rescue, pgdata: &Path) -> Vec<serde_json::Value> {
    let dir = r.cat.data_dir();
    let mut files: Vec<PathBuf> = vec![pgdata.join("global").join("pg_control")];
    files.extend(r.wal_files.iter().cloned());
    for t in &r.plans {
        if let Some(c) = r.cat.find_table(&t.schema, &t.name) {
            for rel in [Some(c), r.cat.class(c.reltoastrelid)]
                .into_iter()
                .flatten()
            {
                if let Ok(l) = r.cat.locator(rel) {
                    files.extend(dir.segment_paths(l, pgdata::Fork::Main));
                }
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(pgdata.join("pg_xact")) {
        let mut x: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        x.sort();
        files.extend(x);
    }
    files
        .iter()
        .map(|p| {
            let h = evidence::sha256_file(p).map_err(|e| e.to_string());
            serde_json::json!({
                "path": p.display().to_string(),
                "sha256": h.as_ref().ok(),
                "error": h.as_ref().err(),
            })
        })
        .collect()
}

fn report_json(
    r: &Rescue,
    pgdata: &Path,
    applied: Option<&BTreeMap<String, u64>>,
) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = r
        .plans
        .iter()
        .map(|t| {
            let mut sources: BTreeMap<&str, u64> = BTreeMap::new();
            for row in &t.rows {
                for s in [row.old_source, row.new_source].into_iter().flatten() {
                    let e = sources.entry(s.kind()).or_default();
                    *e = e.saturating_add(1);
                }
            }
            let rows: Vec<serde_json::Value> = t
                .rows
                .iter()
                .map(|row| {
                    serde_json::json!({
                        "kind": kind_name(row.kind), "xid": row.xid, "lsn": row.lsn.to_string(),
                        "key": row.key, "status": status_text(&row.status),
                        "old_source": row.old_source.map(|s| s.to_string()),
                        "new_source": row.new_source.map(|s| s.to_string()),
                    })
                })
                .collect();
            serde_json::json!({
                "table": format!("{}.{}", t.schema, t.name),
                "key": format!("{:?}", t.key_kind),
                "key_columns": t.key_cols.iter().filter_map(|&k| t.columns.get(k).map(|c| c.name.clone())).collect::<Vec<_>>(),
                "counts": counts(t), "sources": sources,
                "later_tuples_unread": t.later_tuples_unread, "warnings": t.warnings, "rows": rows,
            })
        })
        .collect();
    let xacts: Vec<serde_json::Value> = r
        .targets
        .iter()
        .map(|x| {
            serde_json::json!({
                "xid": x.xid, "subxacts": x.subxacts, "commit_time": format_timestamp(x.time_us),
                "first_lsn": x.first_lsn.map(|l| l.to_string()), "commit_lsn": x.commit_lsn.to_string(),
            })
        })
        .collect();
    serde_json::json!({
        "tool": "datam pg rescue", "pgdata": pgdata.display().to_string(),
        "transactions": xacts, "tables": tables, "applied_rows": applied,
        "evidence": evidence_hashes(r, pgdata),
    })
}

/// Refuses to write anything inside the evidence directory.
fn check_outside(pgdata: &Path, out: &Path) -> anyhow::Result<()> {
    let root = pgdata
        .canonicalize()
        .unwrap_or_else(|_| pgdata.to_path_buf());
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf());
    if dir.starts_with(&root) {
        bail!(
            "refusing to write {} inside the evidence directory {}",
            out.display(),
            root.display()
        );
    }
    Ok(())
}

/// Runs `datam pg rescue`.
pub fn run_rescue(args: &RescueArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(p) = &args.out {
        check_outside(&args.pgdata, p)?;
    }
    let r = plan(args)?;
    let timeouts = Timeouts {
        lock_timeout: args.lock_timeout.clone(),
        statement_timeout: args.statement_timeout.clone(),
    };
    if args.dry_run {
        return write_dry_run(&r, out);
    }
    if let Some(path) = &args.out {
        let sql = undo_script(&header(&r), &r.plans, &r.cat.types, &timeouts);
        std::fs::write(path, sql).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "wrote {}", path.display())?;
    }
    let mut affected = None;
    if let Some(url) = &args.apply {
        let a = super::apply::apply(url, &r.plans, &r.cat.types, &timeouts)?;
        for (what, n) in &a {
            writeln!(out, "{what}: {n} row(s)")?;
        }
        affected = Some(a);
    }
    if let Some(path) = &args.out {
        let report = path.with_file_name("report.json");
        let json = serde_json::to_string_pretty(&report_json(&r, &args.pgdata, affected.as_ref()))?;
        std::fs::write(&report, json)
            .with_context(|| format!("cannot write {}", report.display()))?;
        writeln!(out, "wrote {}", report.display())?;
        for t in &r.plans {
            writeln!(out, "{}", counts_line(t))?;
        }
    }
    Ok(())
}

/// The statements of every table (for `--apply`), with their table.
pub(crate) fn all_statements<'p>(
    plans: &'p [TablePlan],
    types: &dyn rowcodec::pg::TypeCatalog,
) -> Vec<(&'p TablePlan, pgrescue::sql::Statement)> {
    plans
        .iter()
        .flat_map(|t| row_statements(t, types).into_iter().map(move |s| (t, s)))
        .collect()
}

/// `SET LOCAL` lines of the undo transaction.
pub(crate) fn settings(t: &Timeouts) -> Vec<String> {
    set_local_statements(t)
}
