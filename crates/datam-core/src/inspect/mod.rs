//! The inspect job (`datam inspect PATH`): what is this, and what do its
//! headers say?
//!
//! The kind is decided from bytes, never from the file name:
//!
//! | kind | how it is recognised |
//! |---|---|
//! | SQLite database | `"SQLite format 3\0"` at offset 0 |
//! | SQLite WAL | big-endian magic `0x377f0682` / `0x377f0683` at offset 0 |
//! | SQLite rollback journal | magic `d9 d5 05 f9 20 a1 63 d7` at offset 0 |
//! | PostgreSQL WAL segment | a known `XLOG_PAGE_MAGIC` with a long page header |
//! | PostgreSQL control file | `pg_control_version` 1300/1700/1800 at offset 8 and a matching CRC |
//! | PostgreSQL relation file | whole 8 KiB pages whose headers are consistent |
//! | PostgreSQL data directory | a directory with `PG_VERSION` and `global/pg_control` |
//!
//! Whatever could be read is reported even when a later field is damaged;
//! the damage is listed under `errors`. Detection and header parsing are the
//! format crates' (`walparse`, `pgdata`, `sqlite-pages`); this module only
//! picks the detector and names the facts.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

mod pg;
mod sqlite;

/// Why a path could not be inspected at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path cannot be looked at (missing, no permission).
    #[error("cannot read {}: {error}", path.display())]
    Stat {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The file could not be opened or mapped.
    #[error(transparent)]
    Evidence(#[from] evidence::Error),
}

/// What `inspect` found: a kind, ordered facts and the errors met on the way.
#[derive(Debug, Default)]
pub struct Report {
    /// The recognised kind, e.g. `"sqlite-database"`; `None` if unknown.
    pub kind: Option<&'static str>,
    /// Header facts in display order.
    pub facts: Map<String, Value>,
    /// Damage or inconsistencies, in the order met.
    pub errors: Vec<String>,
}

impl Report {
    pub(crate) fn fact(&mut self, key: &str, v: impl Into<Value>) {
        self.facts.insert(key.to_string(), v.into());
    }

    pub(crate) fn error(&mut self, e: impl std::fmt::Display) {
        self.errors.push(e.to_string());
    }
}

impl Report {
    /// The JSON document of `datam inspect --format json`.
    pub fn to_json(&self, path: &Path) -> Value {
        json!({
            "path": path.display().to_string(),
            "kind": self.kind,
            "facts": Value::Object(self.facts.clone()),
            "errors": self.errors,
        })
    }

    /// Writes `key: value` lines (nested facts indented).
    pub fn write_text(&self, path: &Path, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "path: {}", path.display())?;
        writeln!(out, "kind: {}", self.kind.unwrap_or("unknown"))?;
        for (k, v) in &self.facts {
            write_text_value(out, k, v, 0)?;
        }
        for e in &self.errors {
            writeln!(out, "error: {e}")?;
        }
        Ok(())
    }
}

fn write_text_value(out: &mut dyn Write, k: &str, v: &Value, depth: usize) -> std::io::Result<()> {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(m) => {
            writeln!(out, "{pad}{k}:")?;
            for (k2, v2) in m {
                write_text_value(out, k2, v2, depth + 1)?;
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            writeln!(out, "{pad}{k}:")?;
            for (i, item) in items.iter().enumerate() {
                write_text_value(out, &format!("[{i}]"), item, depth + 1)?;
            }
        }
        Value::String(s) => writeln!(out, "{pad}{k}: {s}")?,
        other => writeln!(out, "{pad}{k}: {other}")?,
    }
    Ok(())
}

/// Identifies `path` and reads its header facts.
pub fn inspect_path(path: &Path) -> Result<Report, Error> {
    let _span = tracing::info_span!("inspect").entered();
    let kind = evidence::vfs::kind(path).map_err(|error| Error::Stat {
        path: path.to_path_buf(),
        error,
    })?;
    if kind == evidence::vfs::Kind::Dir {
        return Ok(pg::inspect_dir(path));
    }
    let ev = evidence::Evidence::open(path)?;
    let mut r = inspect_bytes(path, ev.bytes());
    r.fact("file_size_bytes", ev.len_bytes());
    r.fact("sha256", ev.sha256_hex());
    Ok(r)
}

/// Identifies one file's bytes and reads its header facts (`path` is only a
/// hint for cross-checks: a WAL segment's name, a relation segment's number).
pub fn inspect_bytes(path: &Path, bytes: &[u8]) -> Report {
    let mut r = Report::default();
    if sqlite::looks_like_database(bytes) {
        sqlite::inspect_database(bytes, &mut r);
    } else if sqlite::looks_like_wal(bytes) {
        sqlite::inspect_wal(bytes, &mut r);
    } else if sqlite::looks_like_journal(bytes) {
        sqlite::inspect_journal(bytes, &mut r);
    } else if pg::looks_like_wal_segment(bytes) {
        pg::inspect_wal_segment(path, bytes, &mut r);
    } else if pg::looks_like_control_file(bytes) {
        pg::inspect_control_file(bytes, &mut r);
    } else if pg::looks_like_relation_file(bytes) {
        pg::inspect_relation_file(path, bytes, &mut r);
    } else if walparse::timeline::looks_like_history(bytes) {
        pg::inspect_timeline_history(path, bytes, &mut r);
    } else if sqlite::looks_like_headerless_database(bytes) {
        sqlite::inspect_database(bytes, &mut r);
    } else if bytes.is_empty() {
        r.error("the file is empty");
    } else {
        r.error(format!(
            "no known magic in the first bytes {}",
            hex_prefix(bytes, 16)
        ));
        if bytes.iter().take(28).all(|&b| b == 0) {
            r.error(
                "the file starts with zeros: it may be a SQLite rollback journal whose \
                 header was zeroed at commit (PERSIST mode); `datam sqlite salvage DB \
                 --journal PATH` reads its page records",
            );
        }
    }
    r
}

fn hex_prefix(bytes: &[u8], n: usize) -> String {
    bytes
        .iter()
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Real files made by the engines (see corpora/), used as mutation bases.
    const BASES: &[&[u8]] = &[
        include_bytes!("../../../../corpora/sqlite/samples/autovacuum.db"),
        include_bytes!("../../../../corpora/sqlite-history/samples/wal/evidence.db-wal"),
        include_bytes!(
            "../../../../corpora/sqlite-history/samples/hot-journal/evidence.db-journal"
        ),
        include_bytes!("../../../../corpora/pg15/datadir/global/pg_control"),
        include_bytes!("../../../../corpora/pg15/datadir/base/5/16391"),
        include_bytes!("../../../../corpora/pg15/datadir/pg_wal/000000010000000000000008"),
    ];

    fn all_kinds_recognised() -> Vec<Option<&'static str>> {
        BASES
            .iter()
            .map(|b| inspect_bytes(Path::new("x"), b).kind)
            .collect()
    }

    #[test]
    fn timeline_history_is_recognised() {
        let r = inspect_bytes(
            Path::new("00000003.history"),
            b"1\t0/3000060\tno recovery target specified\n2\t0/5000000\tx\n",
        );
        assert_eq!(r.kind, Some("pg-timeline-history"));
        assert_eq!(r.facts["timeline"], 3);
        assert_eq!(r.facts["ancestors"][1]["begin"], "0/03000060");
        assert_eq!(r.facts["ancestors"][1]["switch_point"], "0/05000000");
        assert!(r.errors.is_empty());
    }

    #[test]
    fn bases_are_recognised() {
        assert_eq!(
            all_kinds_recognised(),
            vec![
                Some("sqlite-database"),
                Some("sqlite-wal"),
                Some("sqlite-journal"),
                Some("pg-control-file"),
                Some("pg-relation-file"),
                Some("pg-wal-segment"),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Random bytes never panic any detector or header parser.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..9000)) {
            let _ = inspect_bytes(Path::new("000000010000000000000001"), &bytes);
        }

        /// Real headers with random bytes overwritten, and cut short.
        #[test]
        fn mutated_headers_never_panic(
            which in 0..BASES.len(),
            edits in proptest::collection::vec((0usize..512, any::<u8>()), 1..24),
            keep in 0usize..40_000,
        ) {
            let mut b = BASES[which].to_vec();
            for (at, v) in edits {
                if let Some(x) = b.get_mut(at) {
                    *x = v;
                }
            }
            b.truncate(keep.max(1));
            let _ = inspect_bytes(Path::new("16391.2"), &b);
        }
    }
}
