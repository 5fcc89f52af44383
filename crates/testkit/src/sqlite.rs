//! The real `sqlite3` shell.

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Path of the sqlite3 shell used by tests (`$DATAM_SQLITE3` or `sqlite3`).
pub fn sqlite3_bin() -> String {
    std::env::var("DATAM_SQLITE3").unwrap_or_else(|_| "sqlite3".to_string())
}

/// Runs `sqlite3 -batch -bail DB` with `script` on standard input and returns
/// what it printed. Fails if sqlite3 exits non-zero.
///
/// Debian's sqlite3 is built with `SQLITE_SECURE_DELETE`: scripts that want
/// deleted rows to survive must say `PRAGMA secure_delete=OFF;`.
pub fn sqlite3(db: &Path, script: &str) -> io::Result<String> {
    let mut child = Command::new(sqlite3_bin())
        .arg("-batch")
        .arg("-bail")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(crate::command_error(
            &format!("sqlite3 {}", db.display()),
            &out,
        ));
    }
    String::from_utf8(out.stdout).map_err(io::Error::other)
}

/// Builds a database with `script` in a new temporary directory and returns
/// the directory (kept alive by the caller) and the file's bytes.
pub fn db_bytes(script: &str) -> io::Result<(tempfile::TempDir, Vec<u8>)> {
    let dir = tempfile::Builder::new().prefix("datam-sqlite").tempdir()?;
    let db = dir.path().join("t.db");
    sqlite3(&db, script)?;
    let bytes = std::fs::read(&db)?;
    Ok((dir, bytes))
}

/// Runs `corpora/sqlite-history/gen.py CASE` (the real SQLite library through
/// Python's `sqlite3` module) into a new temporary directory, which then holds
/// `evidence.db`, its `-wal`/`-journal` and `truth.json`.
pub fn gen_history_case(case: &str) -> io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("datam-sqlite").tempdir()?;
    let script = crate::workspace_root().join("corpora/sqlite-history/gen.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(case)
        .arg(dir.path())
        .output()?;
    if !out.status.success() {
        return Err(crate::command_error(&format!("gen.py {case}"), &out));
    }
    Ok(dir)
}
