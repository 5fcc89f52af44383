//! `datam pg dump --all --out DIR`: every table of a database, one file per
//! table (`DIR/<SCHEMA.TABLE>.<ext>`, `DIR/<DB>/…` without `--db`), from
//! one read of the catalog ([`datam_core::pg::dump::dump_all`]). Stdout
//! lists what was written: `db  schema  table  rows  file` per table.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use datam_core::pg::dump::{self, DumpAllRequest, TableRef};

use super::dump::{DumpArgs, DumpFormat, threads_override};
use crate::parquet::{check_outside_inputs, file_stem};
use crate::report::CliReporter;

/// The file names already given (two names that differ only in characters
/// [`file_stem`] replaces get `~2`, `~3`, …).
struct Names {
    used: Mutex<BTreeSet<PathBuf>>,
}

impl Names {
    fn path(&self, dir: &Path, t: &TableRef, per_db: bool, ext: &str) -> PathBuf {
        let dir = if per_db {
            dir.join(file_stem(&t.db))
        } else {
            dir.to_path_buf()
        };
        let stem = file_stem(&format!("{}.{}", t.schema, t.table));
        let Ok(mut used) = self.used.lock() else {
            return dir.join(format!("{stem}.{ext}"));
        };
        let mut p = dir.join(format!("{stem}.{ext}"));
        let mut n = 1u32;
        while used.contains(&p) {
            n = n.saturating_add(1);
            p = dir.join(format!("{stem}~{n}.{ext}"));
        }
        used.insert(p.clone());
        p
    }
}

/// Runs `datam pg dump --all`.
pub fn run(args: &DumpArgs, stdout: &mut dyn Write) -> anyhow::Result<()> {
    let (format, ext) = match args.format {
        DumpFormat::Copy => (dump::DumpFormat::Copy, "copy"),
        DumpFormat::Csv => (dump::DumpFormat::Csv, "csv"),
        DumpFormat::Jsonl => (dump::DumpFormat::Jsonl, "jsonl"),
        DumpFormat::Sql => (dump::DumpFormat::Sql, "sql"),
        DumpFormat::Parquet => anyhow::bail!(
            "--all writes COPY, CSV, JSON lines or SQL files; for Parquet dump each table with --table"
        ),
    };
    let dir = args
        .out
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("--all writes one file per table: give --out DIR"))?;
    check_outside_inputs(std::slice::from_ref(&args.pgdata), dir)?;
    let req = DumpAllRequest {
        pgdata: args.pgdata.clone(),
        db: args.db.clone(),
        dead: args.dead,
        threads: threads_override(),
    };
    let per_db = args.db.is_none();
    let names = Names {
        used: Mutex::new(BTreeSet::new()),
    };
    let paths = Mutex::new(Vec::new());
    let open = |t: &TableRef| -> std::io::Result<Box<dyn Write>> {
        let p = names.path(dir, t, per_db, ext);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let f = std::fs::File::create(&p)?;
        if let Ok(mut v) = paths.lock() {
            v.push((t.clone(), p));
        }
        Ok(Box::new(std::io::BufWriter::new(f)))
    };
    let (job, rep) = CliReporter::job(true);
    let r = dump::dump_all(&req, format, &job, &open);
    rep.finish();
    let done = r?;
    let paths = paths.into_inner().unwrap_or_default();
    let mut failed = Vec::new();
    let mut n_rows = 0u64;
    for d in &done {
        let file = paths
            .iter()
            .find(|(t, _)| *t == d.table)
            .map(|(_, p)| p.display().to_string())
            .unwrap_or_default();
        let t = &d.table;
        match &d.result {
            Ok(s) => {
                n_rows = n_rows.saturating_add(s.n_rows);
                writeln!(
                    stdout,
                    "{}\t{}\t{}\t{}\t{file}",
                    t.db, t.schema, t.table, s.n_rows
                )?;
            }
            Err(e) => {
                writeln!(stdout, "{}\t{}\t{}\t-\t{file}", t.db, t.schema, t.table)?;
                failed.push(format!("{}.{}: {e}", t.schema, t.table));
            }
        }
    }
    eprintln!(
        "datam: {} tables, {n_rows} rows written under {}",
        done.len(),
        dir.display()
    );
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} tables are incomplete or failed:\n  {}",
            failed.len(),
            done.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}
