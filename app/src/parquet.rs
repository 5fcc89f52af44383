//! `--format parquet --out DIR` of `sqlite salvage`, `pg dump` and `pg wal`:
//! the batches of `datam_arrow::jobs` (the schemas the Python binding
//! returns) written to `DIR/<output>.parquet`, one file per output (a
//! SQLite table, the dumped table, `wal`), each opened when its first batch
//! arrives. The directory must not lie inside the evidence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use datam_arrow::RecordBatch;
use datam_arrow::parquet_out::ParquetFile;

/// The Parquet files of one run.
pub struct ParquetDir {
    dir: PathBuf,
    files: BTreeMap<String, ParquetFile>,
}

/// `name` as a file name: characters other than letters, digits, `_`, `-`
/// and `.` become `_` (a leading `.` too).
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if s.is_empty() => "_".to_string(),
        None => s,
    }
}

impl ParquetDir {
    /// Creates `dir` (and its parents) for the outputs.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
        })
    }

    /// Appends `batch` to the file of `name`.
    pub fn write(&mut self, name: &str, batch: RecordBatch) -> Result<bool, datam_arrow::Error> {
        let f = match self.files.entry(name.to_string()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let path = self.dir.join(format!("{}.parquet", file_stem(name)));
                e.insert(ParquetFile::create(&path, batch.schema())?)
            }
        };
        f.write(&batch)?;
        Ok(true)
    }

    /// Closes every file (writes the footers); returns (output, rows) per file.
    pub fn close(self) -> anyhow::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for (name, f) in self.files {
            let n = f
                .close()
                .with_context(|| format!("closing the Parquet file of {name}"))?;
            out.push((name, n));
        }
        Ok(out)
    }
}

/// Refuses an output directory inside any directory input (evidence).
pub fn check_outside_inputs(inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let out = resolved(out);
    for i in inputs.iter().filter(|i| i.is_dir()) {
        datam_core::pg::rescue::check_outside(i, &out.join("x.parquet"))?;
    }
    Ok(())
}

/// `p` with its longest existing ancestor canonicalized (so `..` and
/// symlinks of a directory not made yet still resolve).
fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    for a in abs.ancestors() {
        if let Ok(c) = a.canonicalize() {
            return match abs.strip_prefix(a) {
                Ok(rest) => c.join(rest),
                Err(_) => c,
            };
        }
    }
    abs
}

/// The `--out` directory `--format parquet` needs.
pub fn out_dir(out: Option<&PathBuf>) -> anyhow::Result<&PathBuf> {
    out.ok_or_else(|| anyhow::anyhow!("--format parquet writes files: give --out DIR"))
}

/// Prints what was written (stderr).
pub fn print_written(dir: &Path, written: &[(String, u64)]) {
    for (name, n) in written {
        eprintln!(
            "datam: wrote {n} rows to {}",
            dir.join(format!("{}.parquet", file_stem(name))).display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_become_safe_file_stems() {
        assert_eq!(file_stem("public.t"), "public.t");
        assert_eq!(file_stem("a/b c"), "a_b_c");
        assert_eq!(file_stem(".."), "_.");
        assert_eq!(file_stem(""), "_");
    }
}
