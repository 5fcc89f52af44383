//! [`Outputs`]: the salvage's standard [`SalvageSink`], writing any
//! combination of SQL, JSONL, a CSV stream and per-table CSV files; and the
//! `report.json` of an output directory ([`report_json`]).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rowcodec::sqlite::encode::{sql_ident, write_csv_str};
use serde_json::{Value as Json, json};
use sqlite_pages::db::{Db, RowMark};
use sqlite_pages::scan::RowStatus;

use super::format::{Formatted, RowBytes, Streams, companion};
use super::{Format, SalvageSink, SalvageSummary};

/// Why writing the salvage's output failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// An output file or directory could not be created.
    #[error("creating {}", path.display())]
    Create {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Writing to an output failed (a broken pipe, a full disk).
    #[error(transparent)]
    Write(#[from] io::Error),
}

fn create(path: &Path) -> Result<BufWriter<File>, OutputError> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|source| OutputError::Create {
            path: path.to_path_buf(),
            source,
        })
}

/// Rows are counted per (table index, status, partial).
type CountKey = (Option<usize>, RowStatus, bool);

/// Where rows go: any combination of SQL, JSONL, a CSV stream, and
/// per-table CSV files (`<table>.<status>.csv`).
pub struct Outputs<'w> {
    sql: Option<Box<dyn Write + 'w>>,
    jsonl: Option<Box<dyn Write + 'w>>,
    csv_stream: Option<Box<dyn Write + 'w>>,
    csv_dir: Option<PathBuf>,
    csv_files: HashMap<(Option<usize>, RowStatus), BufWriter<File>>,
    /// Rows per (table, status); partial rows under their own status
    /// (`deleted-partial`, ...).
    pub counts: BTreeMap<(String, &'static str), u64>,
    /// Rows of the main file per (table index, status, partial), folded into `counts` by `finish`.
    row_counts: HashMap<CountKey, u64>,
    file_label: String,
    sql_in_tx: bool,
}

impl<'w> Outputs<'w> {
    fn empty(file_label: &str) -> Self {
        Self {
            sql: None,
            jsonl: None,
            csv_stream: None,
            csv_dir: None,
            csv_files: HashMap::new(),
            counts: BTreeMap::new(),
            row_counts: HashMap::new(),
            file_label: file_label.to_string(),
            sql_in_tx: false,
        }
    }

    /// One format to `w`. `file_label` is the `file` of each JSONL row.
    pub fn stream(format: Format, w: Box<dyn Write + 'w>, file_label: &str) -> Self {
        let mut o = Self::empty(file_label);
        match format {
            Format::Sql => o.sql = Some(w),
            Format::Jsonl => o.jsonl = Some(w),
            Format::Csv => o.csv_stream = Some(w),
        }
        o
    }

    /// `recovered.sql`, `rows.jsonl` and one CSV per table and status in
    /// `dir`, created (with `dir` if missing) when the job starts, once the
    /// evidence is open.
    pub fn dir(dir: &Path, file_label: &str) -> Self {
        let mut o = Self::empty(file_label);
        o.csv_dir = Some(dir.to_path_buf());
        o
    }

    /// Creates the files of an output directory.
    fn create_dir_files(&mut self) -> Result<(), OutputError> {
        let Some(dir) = &self.csv_dir else {
            return Ok(());
        };
        std::fs::create_dir_all(dir).map_err(|source| OutputError::Create {
            path: dir.clone(),
            source,
        })?;
        let sql: Box<dyn Write + 'w> = Box::new(create(&dir.join("recovered.sql"))?);
        let jsonl: Box<dyn Write + 'w> = Box::new(create(&dir.join("rows.jsonl"))?);
        self.sql = Some(sql);
        self.jsonl = Some(jsonl);
        Ok(())
    }

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
    ) -> Result<Option<&mut BufWriter<File>>, OutputError> {
        let Some(dir) = &self.csv_dir else {
            return Ok(None);
        };
        let e = match self.csv_files.entry((table, status)) {
            Entry::Occupied(e) => return Ok(Some(e.into_mut())),
            Entry::Vacant(e) => e,
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
        let mut w = create(&dir.join(format!("{safe}.{}.csv", status.name())))?;
        let mut hdr = b"status,page,offset,rowid,confidence,partial,lost".to_vec();
        for c in t.map(|t| t.columns.as_slice()).unwrap_or_default() {
            hdr.push(b',');
            write_csv_str(c.name.as_bytes(), &mut hdr);
        }
        hdr.push(b'\n');
        w.write_all(&hdr)?;
        Ok(Some(e.insert(w)))
    }

    fn sql_preamble(&mut self, db: &Db<'_>) -> io::Result<()> {
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
                    "datam_partial",
                    "datam_lost",
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

    /// Writes the bytes of rows `[from, to)` of each shared stream.
    fn write_run(&mut self, b: &Formatted, from: [usize; 3], to: [usize; 3]) -> io::Result<()> {
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

    fn flush_all(&mut self) -> io::Result<()> {
        for w in [&mut self.sql, &mut self.jsonl, &mut self.csv_stream]
            .into_iter()
            .flatten()
        {
            w.flush()?;
        }
        for w in self.csv_files.values_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

impl SalvageSink for Outputs<'_> {
    type Error = OutputError;
    type Format = RowBytes;

    fn start(&mut self, db: &Db<'_>) -> Result<RowBytes, OutputError> {
        self.create_dir_files()?;
        self.sql_preamble(db)?;
        Ok(RowBytes::new(db, self.streams(), &self.file_label))
    }

    fn batch(&mut self, db: &Db<'_>, b: Formatted, marks: &[RowMark]) -> Result<bool, OutputError> {
        let mut start = [0usize; 3];
        // Runs of kept rows are written with one call per stream.
        let mut run_start = [0usize; 3];
        let per_table_csv = self.csv_dir.is_some();
        // Rows of a batch mostly share (table, status): count runs, not rows.
        let mut run: Option<(CountKey, u64)> = None;
        for (m, end) in marks.iter().zip(&b.ends) {
            if m.keep {
                let key = (m.table, m.status, m.partial);
                match run.as_mut() {
                    Some((k, n)) if *k == key => *n += 1,
                    _ => {
                        if let Some((k, n)) = run.replace((key, 1)) {
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

    /// Row versions from the `-wal` / `-journal`: to the JSONL output,
    /// counted per table and status.
    fn side_row(&mut self, r: &Json) -> Result<bool, OutputError> {
        let table = r.get("table").and_then(Json::as_str).unwrap_or_default();
        let status = match r.get("status").and_then(Json::as_str) {
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
            serde_json::to_writer(&mut *w, r).map_err(io::Error::from)?;
            w.write_all(b"\n")?;
        }
        Ok(true)
    }

    fn finish(&mut self, db: &Db<'_>) -> Result<(), OutputError> {
        for ((t, status, partial), n) in self.row_counts.drain() {
            let name = t
                .and_then(|t| db.tables.get(t))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            *self
                .counts
                .entry((name, status.label(partial)))
                .or_insert(0) += n;
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
        }
        self.flush_all()?;
        Ok(())
    }
}

/// The `report.json` of an output directory: the file's parameters, pages
/// by kind, rows per table and status (`counts`, from [`Outputs::counts`]),
/// tables, diagnostics and the run time.
pub fn report_json(
    s: &SalvageSummary,
    counts: &BTreeMap<(String, &'static str), u64>,
    secs: f64,
) -> Json {
    let mut per_table: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for ((t, st), n) in counts {
        per_table
            .entry(if t.is_empty() {
                "(unattributed)".into()
            } else {
                t.clone()
            })
            .or_default()
            .insert(st, *n);
    }
    let partial_rows: u64 = counts
        .iter()
        .filter(|((_, st), _)| st.ends_with("-partial"))
        .map(|(_, n)| n)
        .sum();
    let damaged: Vec<Json> = s
        .diagnostics
        .iter()
        .map(|(page, message)| json!({"page": page, "message": message}))
        .collect();
    json!({
        "file": s.file.display().to_string(),
        "evidence_sha256": s.sha256,
        "page_size": s.page_size,
        "usable_size": s.usable_size,
        "encoding": s.encoding,
        "pages": s.n_pages,
        "header_ok": s.header_ok,
        "pages_by_kind": s.pages_by_kind,
        "rows": per_table,
        "partial_rows": partial_rows,
        "rowid_conflicts": s.n_rowid_conflicts,
        "tables": s.tables.iter().map(|t| json!({"name": t.name, "root": t.root.0, "dropped": t.dropped, "without_rowid": t.without_rowid, "columns": t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "diagnostics": damaged,
        "seconds": secs,
    })
}
