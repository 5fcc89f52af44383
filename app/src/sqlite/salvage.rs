//! `datam sqlite salvage <DB>`: every live row, plus deleted rows and dropped
//! tables carved from free space, to SQL / CSV / JSONL (issue 3).
//!
//! Flow: open the evidence read-only (mmap) →
//! [`sqlite_pages::db::Db::open_releasing`] (header or inferred parameters,
//! schema, freelist, tree walks; pages it has gone past are released from
//! memory) → [`Db::salvage_with`]: workers format rows straight into byte
//! buffers (`format::RowBytes`) and [`Outputs`] writes the batches in page
//! order, so memory stays bounded and output streams.
//!
//! Page sources are pluggable: [`run`] calls [`salvage_main_file`] for the
//! database itself; further sources (WAL frames, journal page images) can
//! push rows into the same [`Outputs`] with their own `file` label, using
//! `sqlite_pages::scan::table_rows_in_page` over each page image.
//!
//! Exit status: 0 when the file was read (even with damage; diagnostics go to
//! stderr and `report.json`); non-zero only when the evidence cannot be
//! opened or nothing at all (no schema, no row) could be recovered from it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rowcodec::sqlite::encode::{sql_ident, write_csv_str};
use serde_json::{Value, json};
use sqlite_pages::db::{BatchSink, Db, RowMark, SalvageOptions};
use sqlite_pages::scan::RowStatus;

mod format;
use format::{Formatted, RowBytes, Streams, companion};

/// Output format for stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A script `sqlite3 new.db < recovered.sql` loads.
    Sql,
    /// CSV: table, status, page, offset, rowid, confidence, then the values.
    Csv,
    /// One JSON object per row.
    Jsonl,
}

/// Arguments of `datam sqlite salvage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (evidence; opened read-only).
    pub db: PathBuf,
    /// Format written to stdout when `--out` is not given.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write recovered.sql, one CSV per table and status, rows.jsonl and report.json here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Live rows only: no carving.
    #[arg(long)]
    pub no_deleted: bool,
    /// Only these tables (repeatable).
    #[arg(long = "table")]
    pub tables: Vec<String>,
    /// `-wal` / `-journal` beside the database (history issue 4).
    #[command(flatten)]
    pub side: crate::sqlite::history::SideFiles,
}

/// Where rows go: any combination of SQL, JSONL, a stdout CSV, and per-table CSV files.
pub struct Outputs<'w> {
    sql: Option<Box<dyn Write + 'w>>,
    jsonl: Option<Box<dyn Write + 'w>>,
    csv_stream: Option<Box<dyn Write + 'w>>,
    csv_dir: Option<PathBuf>,
    csv_files: HashMap<(Option<usize>, RowStatus), BufWriter<File>>,
    /// Rows per (table, status).
    pub counts: BTreeMap<(String, &'static str), u64>,
    /// Rows of the main file per (table index, status), folded into `counts` by `finish`.
    row_counts: HashMap<(Option<usize>, RowStatus), u64>,
    file_label: String,
    /// The bar the job context's reporter drives (kept to clear it at the end).
    progress: Option<indicatif::ProgressBar>,
    /// Progress goes out as `datam_core::job::Progress` events.
    ctx: datam_core::job::JobCtx,
    sql_in_tx: bool,
}

impl<'w> Outputs<'w> {
    fn streams(&self) -> Streams {
        Streams {
            sql: self.sql.is_some(),
            jsonl: self.jsonl.is_some(),
            csv: self.csv_stream.is_some() || self.csv_dir.is_some(),
            csv_table_column: self.csv_stream.is_some(),
        }
    }

    /// The per-table CSV file of (table, status), created with its header on first use.
    fn csv_file(
        &mut self,
        db: &Db<'_>,
        table: Option<usize>,
        status: RowStatus,
    ) -> anyhow::Result<Option<&mut BufWriter<File>>> {
        let Some(dir) = &self.csv_dir else {
            return Ok(None);
        };
        let e = match self.csv_files.entry((table, status)) {
            std::collections::hash_map::Entry::Occupied(e) => return Ok(Some(e.into_mut())),
            std::collections::hash_map::Entry::Vacant(e) => e,
        };
        let t = table.and_then(|t| db.tables.get(t));
        let safe: String = t
            .map_or("unattributed", |t| t.name.as_str())
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.{}.csv", status.name()));
        let mut w = BufWriter::new(
            File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        let mut hdr = b"status,page,offset,rowid,confidence".to_vec();
        for c in t.map(|t| t.columns.as_slice()).unwrap_or_default() {
            hdr.push(b',');
            write_csv_str(c.name.as_bytes(), &mut hdr);
        }
        hdr.push(b'\n');
        w.write_all(&hdr)?;
        Ok(Some(e.insert(w)))
    }

    /// Row versions from the `-wal` / `-journal` (see `history::salvage_side`):
    /// to the JSONL output, counted per table and status.
    fn write_history_rows(&mut self, rows: &[Value]) -> anyhow::Result<()> {
        for r in rows {
            let table = r.get("table").and_then(Value::as_str).unwrap_or_default();
            let status = match r.get("status").and_then(Value::as_str) {
                Some("wal-old") => "wal-old",
                Some("wal-uncommitted") => "wal-uncommitted",
                Some("journal") => "journal",
                Some("db-old") => "db-old",
                Some("wal-deleted") => "wal-deleted",
                Some("journal-deleted") => "journal-deleted",
                _ => "db-uncommitted",
            };
            *self.counts.entry((table.to_string(), status)).or_insert(0) += 1;
            if let Some(w) = self.jsonl.as_mut() {
                serde_json::to_writer(&mut *w, r)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn sql_preamble(&mut self, db: &Db<'_>) -> anyhow::Result<()> {
        let Some(w) = self.sql.as_mut() else {
            return Ok(());
        };
        writeln!(
            w,
            "-- datam sqlite salvage: live rows into their tables; carved rows into <table>__recovered"
        )?;
        writeln!(w, "PRAGMA foreign_keys=OFF;")?;
        writeln!(w, "BEGIN;")?;
        self.sql_in_tx = true;
        for t in &db.tables {
            if !t.dropped && !t.name.starts_with("sqlite_") {
                writeln!(w, "{};", t.sql.trim_end_matches(';'))?;
            }
            let mut cols: Vec<String> = t.columns.iter().map(|c| sql_ident(&c.name)).collect();
            cols.extend(
                [
                    "datam_status",
                    "datam_page",
                    "datam_offset",
                    "datam_rowid",
                    "datam_confidence",
                ]
                .map(String::from),
            );
            writeln!(
                w,
                "CREATE TABLE {}({});",
                sql_ident(&companion(&t.name)),
                cols.join(", ")
            )?;
        }
        writeln!(
            w,
            "CREATE TABLE datam_unattributed(datam_status, datam_page, datam_offset, datam_rowid, raw_record);"
        )?;
        Ok(())
    }

    fn finish(&mut self, db: &Db<'_>) -> anyhow::Result<()> {
        for ((t, status), n) in self.row_counts.drain() {
            let name = t
                .and_then(|t| db.tables.get(t))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            *self.counts.entry((name, status.name())).or_insert(0) += n;
        }
        if let Some(w) = self.sql.as_mut() {
            for m in &db.master {
                if m.kind == "index" && !m.sql.is_empty() && !m.name.starts_with("sqlite_") {
                    writeln!(w, "{};", m.sql.trim_end_matches(';'))?;
                }
            }
            if self.sql_in_tx {
                writeln!(w, "COMMIT;")?;
            }
            w.flush()?;
        }
        if let Some(w) = self.jsonl.as_mut() {
            w.flush()?;
        }
        if let Some(w) = self.csv_stream.as_mut() {
            w.flush()?;
        }
        for w in self.csv_files.values_mut() {
            w.flush()?;
        }
        if let Some(p) = &self.progress {
            p.finish_and_clear();
        }
        Ok(())
    }
}

impl BatchSink<Formatted> for Outputs<'_> {
    type Error = anyhow::Error;
    fn batch(&mut self, db: &Db<'_>, b: Formatted, marks: &[RowMark]) -> anyhow::Result<bool> {
        let mut start = [0usize; 3];
        // Runs of kept rows are written with one call per stream.
        let mut run_start = [0usize; 3];
        let per_table_csv = self.csv_dir.is_some();
        // Rows of a batch mostly share (table, status): count runs, not rows.
        let mut run: Option<((Option<usize>, RowStatus), u64)> = None;
        for (m, end) in marks.iter().zip(&b.ends) {
            if m.keep {
                match run.as_mut() {
                    Some((k, n)) if *k == (m.table, m.status) => *n += 1,
                    _ => {
                        if let Some((k, n)) = run.replace(((m.table, m.status), 1)) {
                            *self.row_counts.entry(k).or_insert(0) += n;
                        }
                    }
                }
                if per_table_csv && let Some(w) = self.csv_file(db, m.table, m.status)? {
                    w.write_all(b.csv.get(start[2]..end[2]).unwrap_or_default())?;
                }
            } else {
                self.write_run(&b, run_start, start)?;
                run_start = *end;
            }
            start = *end;
        }
        self.write_run(&b, run_start, start)?;
        if let Some((k, n)) = run {
            *self.row_counts.entry(k).or_insert(0) += n;
        }
        Ok(true)
    }
    fn progress(&mut self, done: u32, total: u32) {
        self.ctx.progress(
            datam_core::job::Phase::Scan,
            datam_core::job::Unit::Pages,
            u64::from(done),
            Some(u64::from(total)),
        );
    }
}

impl Outputs<'_> {
    /// Writes the bytes of rows `[from, to)` of each shared stream.
    fn write_run(&mut self, b: &Formatted, from: [usize; 3], to: [usize; 3]) -> anyhow::Result<()> {
        if let Some(w) = self.sql.as_mut() {
            w.write_all(b.sql.get(from[0]..to[0]).unwrap_or_default())?;
        }
        if let Some(w) = self.jsonl.as_mut() {
            w.write_all(b.jsonl.get(from[1]..to[1]).unwrap_or_default())?;
        }
        if let Some(w) = self.csv_stream.as_mut() {
            w.write_all(b.csv.get(from[2]..to[2]).unwrap_or_default())?;
        }
        Ok(())
    }
}

/// Salvages the main database file into `outs`.
pub fn salvage_main_file(
    db: &Db<'_>,
    opts: &SalvageOptions,
    outs: &mut Outputs<'_>,
) -> anyhow::Result<()> {
    let fmt = RowBytes::new(db, outs.streams(), &outs.file_label);
    db.salvage_with(opts, &fmt, outs)
}

fn report_json(db: &Db<'_>, outs: &Outputs<'_>, sha: &str, path: &Path, secs: f64) -> Value {
    let mut per_table: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for ((t, s), n) in &outs.counts {
        per_table
            .entry(if t.is_empty() {
                "(unattributed)".into()
            } else {
                t.clone()
            })
            .or_default()
            .insert(s, *n);
    }
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &db.classes {
        *kinds.entry(c.name()).or_insert(0) += 1;
    }
    let damaged: Vec<Value> = db
        .diags
        .iter()
        .map(|d| json!({"page": d.page_no.map(|p| p.0), "message": d.to_string()}))
        .collect();
    json!({
        "file": path.display().to_string(),
        "evidence_sha256": sha,
        "page_size": db.page_size,
        "usable_size": db.usable,
        "encoding": db.encoding.name(),
        "pages": db.n_pages,
        "header_ok": db.header.is_some(),
        "pages_by_kind": kinds,
        "rows": per_table,
        "tables": db.tables.iter().map(|t| json!({"name": t.name, "root": t.root.0, "dropped": t.dropped, "without_rowid": t.without_rowid, "columns": t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "diagnostics": damaged,
        "seconds": secs,
    })
}

/// Runs the salvage.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let ev = evidence::Evidence::open(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))?;
    // Side files: salvage the state SQLite would show (WAL applied, hot
    // journal rolled back, in memory) and add older row versions.
    let side = datam_core::sqlite::history::salvage_side(
        &args.db,
        &args.side.to_request(),
        &args.tables,
        &crate::sqlite::report::job_ctx(None),
    );
    // Pages the scan has gone past leave memory (they are read again if needed).
    let release = |offset: usize, len: usize| ev.release(offset, len);
    let db = match side.image.as_deref() {
        Some(image) => Db::open(image),
        None => Db::open_releasing(ev.bytes(), &release),
    };
    let opts = SalvageOptions {
        no_deleted: args.no_deleted,
        tables: args.tables.clone(),
    };
    let progress = if std::io::stderr().is_terminal() && db.n_pages > 2048 {
        let pb = indicatif::ProgressBar::new(u64::from(db.n_pages) * 2);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} pages {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let label = args.db.display().to_string();
    let mut outs = Outputs {
        sql: None,
        jsonl: None,
        csv_stream: None,
        csv_dir: None,
        csv_files: HashMap::new(),
        counts: BTreeMap::new(),
        row_counts: HashMap::new(),
        file_label: label,
        ctx: crate::sqlite::report::job_ctx(progress.clone()),
        progress,
        sql_in_tx: false,
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let f = |n: &str| -> anyhow::Result<Box<dyn Write>> {
            Ok(Box::new(BufWriter::new(
                File::create(dir.join(n)).with_context(|| format!("creating {n}"))?,
            )))
        };
        outs.sql = Some(f("recovered.sql")?);
        outs.jsonl = Some(f("rows.jsonl")?);
        outs.csv_dir = Some(dir.clone());
    } else {
        let w: Box<dyn Write + '_> = Box::new(&mut *out);
        match args.format {
            Format::Sql => outs.sql = Some(w),
            Format::Jsonl => outs.jsonl = Some(w),
            Format::Csv => outs.csv_stream = Some(w),
        }
    }
    outs.sql_preamble(&db)?;
    salvage_main_file(&db, &opts, &mut outs)?;
    if !args.no_deleted {
        outs.write_history_rows(&side.extra_rows)?;
    }
    outs.finish(&db)?;
    let n_rows: u64 = outs.counts.values().sum();
    for d in db.diags.iter().take(20) {
        eprintln!("datam: warning: {d}");
    }
    if db.diags.len() > 20 {
        eprintln!(
            "datam: warning: ... {} more diagnostics (see report.json with --out)",
            db.diags.len() - 20
        );
    }
    if let Some(dir) = &args.out {
        let rep = report_json(
            &db,
            &outs,
            &ev.sha256_hex(),
            &args.db,
            t0.elapsed().as_secs_f64(),
        );
        std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(&rep)?)?;
    }
    drop(outs);
    if n_rows == 0 && db.tables.is_empty() && db.header.is_none() {
        anyhow::bail!(
            "nothing recovered: no SQLite header, schema or rows found in {}",
            args.db.display()
        );
    }
    Ok(())
}
